//! `provision onboard`: add a developer to a client by editing the file
//! that declares the client (see [`crate::config::edit`]), check the
//! result, then show or apply the plan exactly as `plan` and `apply` would.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use super::configuration::load;
use super::edits::{FileEdit, after_edit, dir_of, read, same_file, show, write_checked};
use super::{Context, ExitStatus};
use crate::cli::{DEFAULT_CONFIG, OnboardArgs};
use crate::config::edit::{self, Declaration};
use crate::model::Desired;

/// Where `onboard` looks for the client's file without `--file`: the one
/// default configuration of every command.
const DEFAULT_DIR: &str = DEFAULT_CONFIG;

/// `provision onboard`.
pub async fn run(args: &OnboardArgs, ctx: &Context) -> Result<ExitStatus> {
    let printer = ctx.printer;
    // The whole configuration is checked, before and after the edit: the
    // PATHs given (default `clients/`), and the directory of each file
    // among them, so that a clash with another file of its directory (a
    // developer named like another client's app user, say) cannot slip
    // through, and a developer declared in a shared file is known.
    let scope = scope(args);
    let Some(desired) = load(printer, &scope) else {
        printer.error("fix the files above before onboarding; nothing was changed");
        return Ok(ExitStatus::Failure);
    };
    let dev = args.developer.as_str();
    let file = client_file(args, &desired, &scope)?;
    let text = read(&file)?;
    let declare = declaration(args, &desired, &file, &text)?;
    // A new developer is declared where the configuration keeps its
    // developers: a file that declares developers and no client (a shared
    // `team.toml`), else the client's own file.
    let developers_file = declare
        .as_ref()
        .and_then(|_| developers_file(&desired))
        .filter(|other| !same_file(other, &file));
    let mut edits = Vec::new();
    match (&declare, &developers_file) {
        (Some(decl), Some(other)) => {
            let edited = edit::onboard(&text, dev, &args.client, None)
                .with_context(|| format!("cannot edit {}", show(&file)))?;
            edits.push(FileEdit {
                path: file.clone(),
                after: Some(edited),
            });
            let other_text = read(other)?;
            let declared = edit::declare(&other_text, dev, decl)
                .with_context(|| format!("cannot edit {}", show(other)))?;
            edits.push(FileEdit {
                path: other.clone(),
                after: Some(declared),
            });
        }
        _ => {
            let edited = edit::onboard(&text, dev, &args.client, declare.as_ref())
                .with_context(|| format!("cannot edit {}", show(&file)))?;
            edits.push(FileEdit {
                path: file.clone(),
                after: Some(edited),
            });
        }
    }
    if !write_checked(printer, &edits, &scope)? {
        return Ok(ExitStatus::Failure);
    }
    match (&declare, &developers_file) {
        (Some(_), Some(other)) => printer.status(format_args!(
            "Edited {}: added `{dev}` to client `{}`; declared the developer in {}.",
            show(&file),
            args.client,
            show(other)
        )),
        (Some(_), None) => printer.status(format_args!(
            "Edited {}: added `{dev}` to client `{}` and declared the developer.",
            show(&file),
            args.client
        )),
        (None, _) => printer.status(format_args!(
            "Edited {}: added `{dev}` to client `{}`.",
            show(&file),
            args.client
        )),
    }
    // Only the edited client's file: its client is all this onboarding
    // changes (a developers file edited with it is read as its context).
    after_edit(vec![file], &args.after, ctx).await
}

/// What onboard reads: `--file` and the PATHs (default `clients/`), each
/// file with its directory.
fn scope(args: &OnboardArgs) -> Vec<PathBuf> {
    let mut scope: Vec<PathBuf> = args.file.iter().cloned().collect();
    scope.extend(args.paths.iter().cloned());
    if scope.is_empty() {
        scope.push(PathBuf::from(DEFAULT_DIR));
    }
    let dirs: Vec<PathBuf> = scope
        .iter()
        .filter(|path| !path.is_dir())
        .map(|file| dir_of(file))
        .collect();
    for dir in dirs {
        if !scope.iter().any(|p| same_file(p, &dir)) {
            scope.push(dir);
        }
    }
    scope
}

/// The file that holds the configuration's developers, if one does: the
/// file declaring the most developers among those that declare no client.
fn developers_file(desired: &Desired) -> Option<PathBuf> {
    let mut counts: Vec<(PathBuf, usize)> = Vec::new();
    for location in desired.developer_locations.values() {
        if desired
            .clients
            .values()
            .any(|c| same_file(&c.source, &location.path))
        {
            continue;
        }
        match counts.iter_mut().find(|(p, _)| *p == location.path) {
            Some((_, n)) => *n += 1,
            None => counts.push((location.path.clone(), 1)),
        }
    }
    // The first of the largest, in load order of the locations' paths.
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.into_iter().next().map(|(path, _)| path)
}

/// The file that declares the client to onboard to: found in `scope`,
/// and with `--file`, that very file.
fn client_file(args: &OnboardArgs, desired: &Desired, scope: &[PathBuf]) -> Result<PathBuf> {
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
    desired: &Desired,
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
            // Declared in another file of the configuration, which every
            // file of it reads as context: a second declaration would only
            // be one more to keep in step.
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
                None
            }
            None => Some(Declaration {
                email: args.email.clone(),
                expires: None,
            }),
        }
    };
    Ok(declare)
}
