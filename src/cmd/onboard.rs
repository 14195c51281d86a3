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
    // The whole directory is checked, before and after the edit: with
    // `--file`, a clash with another file of its directory (a developer
    // named like another client's app user, say) must not slip through.
    let scope = match &args.file {
        Some(file) => vec![file.clone(), dir_of(file)],
        None => vec![PathBuf::from(DEFAULT_DIR)],
    };
    let Some(desired) = load(printer, &scope) else {
        printer.error("fix the files above before onboarding; nothing was changed");
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
    if !write_checked(printer, &edits, &scope)? {
        return Ok(ExitStatus::Failure);
    }
    printer.status(format_args!(
        "Edited {}: added `{dev}` to client `{}`{}.",
        show(&file),
        args.client,
        if declare.is_some() {
            " and declared the developer"
        } else {
            ""
        }
    ));
    // Only the edited file: its client is all this onboarding changes.
    after_edit(vec![file], &args.after, ctx).await
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
