//! `onboard` and `offboard`: edit the clients files (see [`crate::edit`]),
//! check the result, then show or apply the plan exactly as `plan` and
//! `apply` would for the edited files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::aws::ConnectOptions;
use crate::cli::{AfterEdit, ApplyArgs, Format, OffboardArgs, OnboardArgs, PlanArgs};
use crate::commands;
use crate::config;
use crate::edit::{self, Declaration};
use crate::exit::ExitStatus;

/// Where `onboard` looks for the client's file without `--file`.
const DEFAULT_DIR: &str = "clients";

/// `provision onboard`.
pub async fn onboard(
    args: &OnboardArgs,
    connect: &ConnectOptions,
    stats: bool,
) -> Result<ExitStatus> {
    let scope = vec![
        args.file
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR)),
    ];
    let Some(desired) = commands::load(&scope) else {
        eprintln!("error: fix the files above before onboarding; nothing was changed");
        return Ok(ExitStatus::Failure);
    };
    let dev = args.developer.as_str();
    let Some(client) = desired.clients.get(&args.client) else {
        let known: Vec<String> = desired.clients.keys().map(|c| format!("`{c}`")).collect();
        bail!(
            "client `{}` is not declared in {}; the clients declared there are {}. Check the name, or pass `--file` to the file that declares it",
            args.client,
            show(&scope[0]),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    };
    let file = client.source.clone();
    let text = read(&file)?;
    // With `--file`, the developer may be declared next to it: a copy must
    // agree with that declaration, so read the directory too when it loads.
    let siblings = match (&args.file, file.parent()) {
        (Some(_), Some(dir)) if !dir.as_os_str().is_empty() => {
            config::load(&[dir.to_path_buf()]).ok()
        }
        _ => None,
    };
    let known = siblings
        .as_ref()
        .and_then(|d| d.developers.get(dev))
        .or_else(|| desired.developers.get(dev));
    if known.is_some_and(|d| d.disabled) {
        bail!(
            "developer `{dev}` is disabled (`disabled = true`); remove that line from its declaration first, then onboard again"
        );
    }
    let declare = if edit::declares(&text, dev) {
        if let (Some(wanted), Some(existing)) = (&args.email, desired.developers.get(dev))
            && existing.email.as_deref() != Some(wanted.as_str())
        {
            bail!(
                "developer `{dev}` is already declared in {} with another e-mail ({}); edit the declaration instead of passing `--email`",
                show(&file),
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
    let edited = edit::onboard(&text, dev, &args.client, declare.as_ref())
        .with_context(|| format!("cannot edit {}", show(&file)))?;
    if !write_checked(vec![(file.clone(), text, edited)], &scope)? {
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

/// `provision offboard`.
pub async fn offboard(
    args: &OffboardArgs,
    connect: &ConnectOptions,
    stats: bool,
) -> Result<ExitStatus> {
    let dev = args.developer.as_str();
    if commands::load(&args.paths).is_none() {
        eprintln!("error: fix the files above before offboarding; nothing was changed");
        return Ok(ExitStatus::Failure);
    }
    let mut edits = Vec::new();
    for file in config::files(&args.paths) {
        let text = read(&file)?;
        if let Some(edited) = edit::offboard(&text, dev, args.keep_user)
            .with_context(|| format!("cannot edit {}", show(&file)))?
        {
            edits.push((file, text, edited));
        }
    }
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
    let names: Vec<String> = edits.iter().map(|(f, _, _)| show(f)).collect();
    if !write_checked(edits, &args.paths)? {
        return Ok(ExitStatus::Failure);
    }
    if !names.is_empty() {
        eprintln!(
            "Edited {}: {} `{dev}`.",
            names.join(", "),
            if args.keep_user {
                "disabled"
            } else {
                "removed"
            }
        );
    }
    after_edit(args.paths.clone(), &args.after, connect, stats).await
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
        commands::apply(&args, connect, stats).await
    } else {
        let args = PlanArgs {
            paths,
            format: Format::Text,
            detailed_exitcode: false,
            out: None,
            remove_boundaries: false,
        };
        let status = commands::plan(&args, connect, stats).await?;
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "The files are edited; nothing was changed in AWS. Review the plan, then run `provision apply {}`.",
            paths.join(" ")
        );
        Ok(status)
    }
}

/// Write every edit atomically, then load `scope` again. If the edited files
/// do not validate (say, the developer's name clashes with an app user),
/// the originals are put back and the problems printed: an edit never
/// leaves a broken configuration behind. Returns false in that case.
fn write_checked(edits: Vec<(PathBuf, String, String)>, scope: &[PathBuf]) -> Result<bool> {
    for (file, _, edited) in &edits {
        write_atomic(file, edited)?;
    }
    if config::load(scope).is_ok() {
        return Ok(true);
    }
    let _ = commands::load(scope);
    for (file, original, _) in &edits {
        write_atomic(file, original)?;
    }
    eprintln!("error: the edit would make the files invalid (see above); they were left unchanged");
    Ok(false)
}

fn read(file: &Path) -> Result<String> {
    fs::read_to_string(file).with_context(|| format!("cannot read {}", show(file)))
}

/// Write to a temporary file next to `file`, then rename over it, so a
/// crash leaves either the old or the new file, never half of one.
fn write_atomic(file: &Path, text: &str) -> Result<()> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.provision-tmp"));
    let write = || -> std::io::Result<()> {
        let mut out = fs::File::create(&tmp)?;
        // Keep the file's permissions.
        if let Ok(meta) = fs::metadata(file) {
            out.set_permissions(meta.permissions())?;
        }
        out.write_all(text.as_bytes())?;
        out.sync_all()?;
        fs::rename(&tmp, file)
    };
    write().with_context(|| format!("cannot write {}", show(file)))
}

fn show(path: &Path) -> String {
    format!("`{}`", path.display())
}
