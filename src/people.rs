//! `onboard` and `offboard`: edit the clients files (see [`crate::config::edit`]),
//! check the result, then show or apply the plan exactly as `plan` and
//! `apply` would for the edited files.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::aws::ConnectOptions;
use crate::cli::{AfterEdit, ApplyArgs, Format, OffboardArgs, OnboardArgs, PlanArgs};
use crate::commands;
use crate::config;
use crate::config::edit::{self, Declaration};
use crate::exit::ExitStatus;
use crate::safe_write;
use crate::terminal;

/// Where `onboard` looks for the client's file without `--file`: the one
/// default configuration of every command.
const DEFAULT_DIR: &str = crate::cli::DEFAULT_CONFIG;

/// `provision onboard`.
pub async fn onboard(
    args: &OnboardArgs,
    connect: &ConnectOptions,
    stats: bool,
) -> Result<ExitStatus> {
    // The whole directory is checked, before and after the edit: with
    // `--file`, a clash with another file of its directory (a developer
    // named like another client's app user, say) must not slip through.
    let scope = match &args.file {
        Some(file) => vec![file.clone(), dir_of(file)],
        None => vec![PathBuf::from(DEFAULT_DIR)],
    };
    let Some(desired) = commands::load(&scope) else {
        eprintln!("error: fix the files above before onboarding; nothing was changed");
        return Ok(ExitStatus::Failure);
    };
    let dev = args.developer.as_str();
    let file = client_file(args, &desired, &scope)?;
    let text = read(&file)?;
    let declare = declaration(args, &desired, &file, &text)?;
    let edited = edit::onboard(&text, dev, &args.client, declare.as_ref())
        .with_context(|| format!("cannot edit {}", show(&file)))?;
    let edits = vec![FileEdit {
        path: file.clone(),
        after: Some(edited),
    }];
    if !write_checked(&edits, &scope)? {
        return Ok(ExitStatus::Failure);
    }
    eprintln!(
        "Edited {}: added `{dev}` to client `{}`{}.",
        show(&file),
        args.client,
        if declare.is_some() {
            " and declared the developer"
        } else {
            ""
        }
    );
    // Only the edited file: its client is all this onboarding changes.
    after_edit(vec![file], &args.after, connect, stats).await
}

/// The file that declares the client to onboard to: found in `scope`,
/// and with `--file`, that very file.
fn client_file(
    args: &OnboardArgs,
    desired: &crate::model::Desired,
    scope: &[PathBuf],
) -> Result<PathBuf> {
    let Some(client) = desired.clients.get(&args.client) else {
        let known: Vec<String> = desired.clients.keys().map(|c| format!("`{c}`")).collect();
        bail!(
            "client `{}` is not declared in {}; the clients declared there are {}. Check the name, or pass `--file` to the file that declares it",
            args.client,
            match &args.file {
                Some(file) => format!("{} or the files next to it", show(file)),
                None => show(&scope[0]),
            },
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    };
    let file = client.source.clone();
    if let Some(given) = &args.file
        && !same_file(given, &file)
    {
        bail!(
            "client `{}` is declared in {}, not in {}; pass `--file {}`, or leave `--file` out",
            args.client,
            show(&file),
            show(given),
            file.display()
        );
    }
    Ok(file)
}

/// The declaration to add to `file` (whose text is `text`), if it does not
/// declare the developer yet: copied from another file's when there is
/// one, so the two agree, else made from `--email`.
fn declaration(
    args: &OnboardArgs,
    desired: &crate::model::Desired,
    file: &Path,
    text: &str,
) -> Result<Option<Declaration>> {
    let dev = args.developer.as_str();
    let known = desired.developers.get(dev);
    if known.is_some_and(|d| d.disabled) {
        bail!(
            "developer `{dev}` is disabled (`disabled = true`); remove that line from its declaration first, then onboard again"
        );
    }
    let declare = if edit::declares(text, dev) {
        if let (Some(wanted), Some(existing)) = (&args.email, known)
            && existing.email.as_deref() != Some(wanted.as_str())
        {
            bail!(
                "developer `{dev}` is already declared in {} with another e-mail ({}); edit the declaration instead of passing `--email`",
                show(file),
                existing
                    .email
                    .as_deref()
                    .map_or("none".to_owned(), |e| format!("`{e}`"))
            );
        }
        None
    } else {
        match known {
            // Declared in another file: copy the declaration, so this file
            // still stands alone and the two agree.
            Some(existing) => {
                if let Some(wanted) = &args.email
                    && existing.email.as_deref() != Some(wanted.as_str())
                {
                    bail!(
                        "developer `{dev}` is already declared with another e-mail ({}); drop `--email` or fix the declaration",
                        existing
                            .email
                            .as_deref()
                            .map_or("none".to_owned(), |e| format!("`{e}`"))
                    );
                }
                Some(Declaration {
                    email: existing.email.clone(),
                    expires: existing.expires,
                })
            }
            None => Some(Declaration {
                email: args.email.clone(),
                expires: None,
            }),
        }
    };
    Ok(declare)
}

/// `provision offboard`.
pub async fn offboard(
    args: &OffboardArgs,
    connect: &ConnectOptions,
    stats: bool,
) -> Result<ExitStatus> {
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
    if commands::load(&scope).is_none() {
        eprintln!("error: fix the files above before offboarding; nothing was changed");
        return Ok(ExitStatus::Failure);
    }
    let edits = offboard_edits(files, dev, args.keep_user)?;
    if edits.is_empty() {
        if args.keep_user {
            eprintln!("`{dev}` is already disabled and in no client; the files are unchanged.");
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
    if !write_checked(&edits, &scope)? {
        return Ok(ExitStatus::Failure);
    }
    let deleted = report_offboard(&edits, dev, args.keep_user);
    // A deleted file given by name can no longer be planned.
    let remaining: Vec<PathBuf> = args
        .paths
        .iter()
        .filter(|p| !deleted.contains(p))
        .cloned()
        .collect();
    if remaining.is_empty() {
        eprintln!(
            "Every file given is deleted, so there is nothing left to plan; see the effect with `provision plan {}`.",
            deleted
                .iter()
                .map(|p| dir_of(p).display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        return Ok(ExitStatus::Success);
    }
    after_edit(remaining, &args.after, connect, stats).await
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
    edits: &'a [FileEdit],
    developer: &str,
    keep_user: bool,
) -> Vec<&'a PathBuf> {
    let (edited, deleted): (Vec<&FileEdit>, Vec<&FileEdit>) =
        edits.iter().partition(|e| e.after.is_some());
    if !edited.is_empty() {
        eprintln!(
            "Edited {}: {} `{developer}`.",
            edited
                .iter()
                .map(|e| show(&e.path))
                .collect::<Vec<_>>()
                .join(", "),
            if keep_user { "disabled" } else { "removed" }
        );
    }
    for e in &deleted {
        eprintln!(
            "Deleted {}: it declared only `{developer}`, and a file that declares nothing is refused.",
            show(&e.path)
        );
    }
    deleted.into_iter().map(|e| &e.path).collect()
}

/// Show (or apply) the plan of `paths`, reusing the commands themselves.
async fn after_edit(
    paths: Vec<PathBuf>,
    after: &AfterEdit,
    connect: &ConnectOptions,
    stats: bool,
) -> Result<ExitStatus> {
    if after.apply {
        let args = ApplyArgs {
            paths,
            yes: after.yes,
            credentials_dir: after.credentials_dir.clone(),
            print_secrets: after.print_secrets,
            concurrency: 8,
            remove_boundaries: false,
        };
        let status = match commands::apply(&args, connect, stats).await {
            Ok(status) => status,
            Err(err) => {
                // Said here, so that the note below comes after it.
                terminal::error(&format_args!("{err:#}"));
                ExitStatus::Failure
            }
        };
        if status != ExitStatus::Success {
            eprintln!(
                "The files stay edited; once the problem is solved, apply them with `provision apply {}`.",
                shown_paths(&args.paths)
            );
        }
        Ok(status)
    } else {
        let args = PlanArgs {
            paths,
            format: Format::Text,
            detailed_exitcode: false,
            out: None,
            remove_boundaries: false,
        };
        let status = commands::plan(&args, connect, stats).await?;
        eprintln!(
            "The files are edited; nothing was changed in AWS. Review the plan, then run `provision apply {}`.",
            shown_paths(&args.paths)
        );
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
struct FileEdit {
    path: PathBuf,
    after: Option<String>,
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
fn dir_of(file: &Path) -> PathBuf {
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

fn same_file(a: &Path, b: &Path) -> bool {
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
fn write_checked(edits: &[FileEdit], scope: &[PathBuf]) -> Result<bool> {
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
            restore(&edits[..done], &originals, &dirs);
            return Err(anyhow::Error::new(err)
                .context("the edit could not be written; every file was put back as it was"));
        }
    }
    if config::load(scope).is_ok() {
        return Ok(true);
    }
    let _ = commands::load(scope);
    restore(edits, &originals, &dirs);
    eprintln!("error: the edit would make the files invalid (see above); they were left unchanged");
    Ok(false)
}

/// Puts `edits`' files back as they were (see [`write_checked`]), saying
/// which could not be.
fn restore(edits: &[FileEdit], originals: &[Original], dirs: &[(safe_write::Dir, String)]) {
    for ((edit, original), (dir, name)) in edits.iter().zip(originals).zip(dirs).rev() {
        if let Err(err) = dir.write(name, &original.bytes, original.mode, original.owner) {
            eprintln!(
                "error: could not put {} back as it was ({err}); restore it from version control",
                show(&edit.path)
            );
        }
    }
}

fn read(file: &Path) -> Result<String> {
    fs::read_to_string(file).with_context(|| format!("cannot read {}", show(file)))
}

fn show(path: &Path) -> String {
    format!("`{}`", path.display())
}
