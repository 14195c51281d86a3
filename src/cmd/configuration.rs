//! Reading the configuration for a command, and saying what was read:
//! which files a command given no PATH reads, which files were read as
//! context, and every problem, rendered with carets.

use std::path::{Path, PathBuf};

use crate::config;
use crate::model::Desired;
use crate::terminal::Printer;

/// Says, on stderr, which files a command given no PATH reads: those of
/// `dir`, the default configuration.
pub fn note_default_configuration(printer: Printer, dir: &Path) {
    if printer.quiet() {
        return;
    }
    let files = config::files(&[dir.to_path_buf()]);
    if files.is_empty() {
        // Loading reports the missing or empty directory.
        printer.note(format_args!(
            "no PATH given; reading the default `{}/`",
            dir.display()
        ));
    } else {
        printer.note(format_args!(
            "no PATH given; reading the default `{}/`: {}",
            dir.display(),
            backticked(&files)
        ));
    }
}

/// `a`, `b`, `c`: paths in backticks, for notes.
fn backticked(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Load and validate the files, printing every problem; `None` when the
/// files are invalid (the caller exits 1 without any AWS call).
///
/// A file given alone is read with the other `*.toml` files of its
/// directory (its configuration's settings may live there); a note names
/// them.
pub(super) fn load(printer: Printer, paths: &[PathBuf]) -> Option<Desired> {
    let (context, result) = config::load_with_context(paths);
    if !context.is_empty() {
        printer.note(format_args!(
            "also read the rest of the configuration of the files given, in their directory: {}; its settings and developers apply, and its clients are checked against those given but left alone",
            backticked(&context)
        ));
    }
    match result {
        Ok((desired, warnings)) => {
            tracing::info!(
                clients = desired.clients.len(),
                developers = desired.developers.len(),
                authoritative = desired.authoritative,
                "configuration loaded"
            );
            printer.diagnostics(&warnings);
            Some(desired)
        }
        Err(diagnostics) => {
            printer.diagnostics(&diagnostics);
            None
        }
    }
}
