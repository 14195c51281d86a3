//! The edits `onboard` and `offboard` make to the clients files: written
//! atomically, checked by loading the whole configuration again, and put
//! back byte for byte when they would break it; then the plan or apply of
//! the edited files.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use super::configuration::load;
use super::{Context, ExitStatus};
use crate::cli::{AfterEdit, ApplyArgs, Format, PlanArgs};
use crate::config;
use crate::safe_write;
use crate::terminal::Printer;

/// Show (or apply) the plan of `paths`, reusing the commands themselves.
pub(super) async fn after_edit(
    paths: Vec<PathBuf>,
    after: &AfterEdit,
    ctx: &Context,
) -> Result<ExitStatus> {
    let printer = ctx.printer;
    if after.apply {
        let args = ApplyArgs {
            paths,
            yes: after.yes,
            credentials_dir: after.credentials_dir.clone(),
            print_secrets: after.print_secrets,
            deliver: after.deliver.clone(),
            concurrency: 8,
            remove_boundaries: false,
            // The connection is already in `ctx`.
            aws: Default::default(),
            adopt: Vec::new(),
        };
        let status = match super::apply::run(&args, ctx).await {
            Ok(status) => status,
            Err(err) => {
                // Said here, so that the note below comes after it.
                printer.error(format_args!("{err:#}"));
                ExitStatus::Failure
            }
        };
        if status != ExitStatus::Success {
            printer.line(format_args!(
                "The files stay edited; once the problem is solved, apply them with `provision apply {}`.",
                shown_paths(&args.paths)
            ));
        }
        Ok(status)
    } else {
        let args = PlanArgs {
            paths,
            format: Format::Text,
            detailed_exitcode: false,
            out: None,
            remove_boundaries: false,
            aws: Default::default(),
            adopt: Vec::new(),
        };
        let status = match super::plan::run(&args, ctx).await {
            Ok(status) => status,
            Err(err) => {
                // Said here, so that the note below comes after it.
                printer.error(format_args!("{err:#}"));
                ExitStatus::Failure
            }
        };
        if status == ExitStatus::Failure {
            // The edit is valid and stays: only the plan, which reads the
            // account, could not be made.
            printer.line(format_args!(
                "The files stay edited (they are valid); nothing was changed in AWS. Once the problem is solved, see the plan with `provision plan {}`.",
                shown_paths(&args.paths)
            ));
        } else {
            printer.status(format_args!(
                "The files are edited; nothing was changed in AWS. Review the plan, then run `provision apply {}`.",
                shown_paths(&args.paths)
            ));
        }
        Ok(status)
    }
}

fn shown_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One file's new text; `None` deletes the file.
pub(super) struct FileEdit {
    pub(super) path: PathBuf,
    pub(super) after: Option<String>,
}

/// A file as it was before the edit, to put it back exactly.
struct Original {
    bytes: Vec<u8>,
    mode: u32,
    owner: Option<(u32, u32)>,
}

impl Original {
    /// Reads `file`, which must be a regular file: a symbolic link would
    /// be replaced by a copy, so it is refused before anything is written.
    fn read(file: &Path) -> Result<Original> {
        let meta =
            fs::symlink_metadata(file).with_context(|| format!("cannot read {}", show(file)))?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(file)
                .map(|t| format!(" (to `{}`)", t.display()))
                .unwrap_or_default();
            bail!(
                "{} is a symbolic link{target}; provision replaces the files it edits, which would turn the link into a copy: edit the file it points to instead; nothing was changed",
                show(file)
            );
        }
        let bytes = fs::read(file).with_context(|| format!("cannot read {}", show(file)))?;
        #[cfg(unix)]
        let (mode, owner) = {
            use std::os::unix::fs::MetadataExt;
            (meta.mode() & 0o7777, Some((meta.uid(), meta.gid())))
        };
        #[cfg(not(unix))]
        let (mode, owner) = (0o644, None);
        Ok(Original { bytes, mode, owner })
    }
}

/// The directory a file lives in (`.` for a bare name).
pub(super) fn dir_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(file: &Path) -> Result<String> {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("{} is not a file name", show(file)))
}

pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Carry out every edit, then load `scope` again. If a file cannot be
/// written, or the edited files do not validate (say, the developer's name
/// clashes with an app user), every file already changed is put back byte
/// for byte, with its mode, and the problem printed: an edit never leaves a
/// broken configuration behind. Returns false when the files did not
/// validate.
///
/// Each file is replaced atomically through [`safe_write`], in a directory
/// opened and checked (not writable by everyone) before the first write.
pub(super) fn write_checked(
    printer: Printer,
    edits: &[FileEdit],
    scope: &[PathBuf],
) -> Result<bool> {
    let mut originals = Vec::new();
    let mut dirs = Vec::new();
    for edit in edits {
        originals.push(Original::read(&edit.path)?);
        let dir = safe_write::Dir::open(&dir_of(&edit.path), safe_write::DirPolicy::Shared)
            .context("the clients files cannot be edited there; nothing was changed")?;
        dirs.push((dir, file_name(&edit.path)?));
    }
    let steps = edits.iter().zip(&originals).zip(&dirs);
    for (done, ((edit, original), (dir, name))) in steps.enumerate() {
        let result = match &edit.after {
            Some(text) => dir.write(name, text.as_bytes(), original.mode, original.owner),
            None => dir.remove(name),
        };
        if let Err(err) = result {
            restore(printer, &edits[..done], &originals, &dirs);
            return Err(anyhow::Error::new(err)
                .context("the edit could not be written; every file was put back as it was"));
        }
    }
    if config::load(scope).is_ok() {
        return Ok(true);
    }
    let _ = load(printer, scope);
    restore(printer, edits, &originals, &dirs);
    printer.error("the edit would make the files invalid (see above); they were left unchanged");
    Ok(false)
}

/// Puts `edits`' files back as they were (see [`write_checked`]), saying
/// which could not be.
fn restore(
    printer: Printer,
    edits: &[FileEdit],
    originals: &[Original],
    dirs: &[(safe_write::Dir, String)],
) {
    for ((edit, original), (dir, name)) in edits.iter().zip(originals).zip(dirs).rev() {
        if let Err(err) = dir.write(name, &original.bytes, original.mode, original.owner) {
            printer.error(format_args!(
                "could not put {} back as it was ({err}); restore it from version control",
                show(&edit.path)
            ));
        }
    }
}

pub(super) fn read(file: &Path) -> Result<String> {
    fs::read_to_string(file).with_context(|| format!("cannot read {}", show(file)))
}

pub(super) fn show(path: &Path) -> String {
    format!("`{}`", path.display())
}
