//! `provision offboard`: remove (or, with `--keep-user`, disable) a
//! developer in every file given, check the result, then show or apply the
//! plan exactly as `plan` and `apply` would.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};

use super::configuration::load;
use super::edits::{FileEdit, after_edit, dir_of, read, show, write_checked};
use super::{Context, ExitStatus};
use crate::cli::OffboardArgs;
use crate::config::{self, edit};
use crate::terminal::Printer;

/// `provision offboard`.
pub async fn run(args: &OffboardArgs, ctx: &Context) -> Result<ExitStatus> {
    let printer = ctx.printer;
    let dev = args.developer.as_str();
    let files = config::files(&args.paths);
    // Checked as a whole with the directories of the files given: taking a
    // declaration out of one file must not break a file next to it that
    // still lists the developer.
    let mut scope = args.paths.clone();
    for file in &files {
        let dir = dir_of(file);
        if !scope.contains(&dir) {
            scope.push(dir);
        }
    }
    if load(printer, &scope).is_none() {
        printer.error("fix the files above before offboarding; nothing was changed");
        return Ok(ExitStatus::Failure);
    }
    let edits = offboard_edits(files, dev, args.keep_user)?;
    if edits.is_empty() {
        if args.keep_user {
            printer.status(format_args!(
                "`{dev}` is already disabled and in no client; the files are unchanged."
            ));
        } else {
            bail!(
                "developer `{dev}` is neither declared nor listed in {}; check the name and the paths",
                args.paths
                    .iter()
                    .map(|p| show(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    if !write_checked(printer, &edits, &scope)? {
        return Ok(ExitStatus::Failure);
    }
    let deleted = report_offboard(printer, &edits, dev, args.keep_user);
    // A deleted file given by name can no longer be planned.
    let remaining: Vec<PathBuf> = args
        .paths
        .iter()
        .filter(|p| !deleted.contains(p))
        .cloned()
        .collect();
    if remaining.is_empty() {
        printer.status(format_args!(
            "Every file given is deleted, so there is nothing left to plan; see the effect with `provision plan {}`.",
            deleted
                .iter()
                .map(|p| dir_of(p).display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ));
        return Ok(ExitStatus::Success);
    }
    after_edit(remaining, &args.after, ctx).await
}

/// The edit of each file in `files` that mentions `developer`.
fn offboard_edits(files: Vec<PathBuf>, developer: &str, keep_user: bool) -> Result<Vec<FileEdit>> {
    let mut edits = Vec::new();
    for file in files {
        let text = read(&file)?;
        if let Some(edited) = edit::offboard(&text, developer, keep_user)
            .with_context(|| format!("cannot edit {}", show(&file)))?
        {
            // A file that declared only this developer would declare
            // nothing, which the configuration refuses: it goes.
            let after = (!edit::declares_nothing(&edited)).then_some(edited);
            edits.push(FileEdit { path: file, after });
        }
    }
    Ok(edits)
}

/// Says which files were edited and which deleted; returns the deleted.
fn report_offboard<'a>(
    printer: Printer,
    edits: &'a [FileEdit],
    developer: &str,
    keep_user: bool,
) -> Vec<&'a PathBuf> {
    let (edited, deleted): (Vec<&FileEdit>, Vec<&FileEdit>) =
        edits.iter().partition(|e| e.after.is_some());
    if !edited.is_empty() {
        printer.status(format_args!(
            "Edited {}: {} `{developer}`.",
            edited
                .iter()
                .map(|e| show(&e.path))
                .collect::<Vec<_>>()
                .join(", "),
            if keep_user { "disabled" } else { "removed" }
        ));
    }
    for e in &deleted {
        printer.status(format_args!(
            "Deleted {}: it declared only `{developer}`, and a file that declares nothing is refused.",
            show(&e.path)
        ));
    }
    deleted.into_iter().map(|e| &e.path).collect()
}
