//! Where the secrets of new access keys go, for `apply` and `rotate-key`:
//! the delivery is settled before any write (a credentials directory opened
//! and checked, or refused without a terminal), and secrets held for the
//! end are printed once, then their keys recorded.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context as _, Result, bail};

use crate::apply::store::Store;
use crate::apply::{AccessKey, KeySink, Target, discard_key, record_key};
use crate::aws::Aws;
use crate::config::delivery;
use crate::model::{SecretStore, Settings, StoreKind};
use crate::plan::{Change, Plan};
use crate::safe_write;
use crate::terminal::Printer;

/// How new secrets are delivered, decided from the flags, the settings
/// and where standard output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// `--credentials-dir`: written to files as each key is created.
    Dir,
    /// `--deliver` or `settings.deliver`: stored in a secret store as each
    /// key is created.
    Store,
    /// Printed once at the end: asked for with `--print-secrets`, or
    /// standard output is a terminal, where a person reads it.
    Print,
    /// None of these: standard output is a pipe or a file (a CI job's log),
    /// and nobody asked for secrets there.
    Refuse,
}

/// The delivery rule, pure so that every case is tested without a
/// terminal. A delivery named on the command line wins over the
/// `deliver` setting; a store counts as a named delivery.
fn choose_delivery(
    credentials_dir: bool,
    print_secrets: bool,
    store: bool,
    stdout_is_terminal: bool,
) -> Delivery {
    match (credentials_dir, print_secrets, store, stdout_is_terminal) {
        (true, _, _, _) => Delivery::Dir,
        (false, true, _, _) => Delivery::Print,
        (false, false, true, _) => Delivery::Store,
        (false, false, false, true) => Delivery::Print,
        (false, false, false, false) => Delivery::Refuse,
    }
}

/// The deliveries a command was asked for on its command line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Asked<'a> {
    pub credentials_dir: Option<&'a Path>,
    pub print_secrets: bool,
    /// `--deliver`.
    pub deliver: Option<&'a SecretStore>,
}

/// The application users a plan creates a key for.
pub(super) fn new_key_users(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter_map(|change| match change {
            Change::CreateAccessKey { user, .. } => Some(user.clone()),
            _ => None,
        })
        .collect()
}

/// Where the secrets of the new keys (of `users`) go, settled before any
/// write: the credentials directory is opened and checked here, a store's
/// names are checked against the users', and without a delivery (see
/// [`choose_delivery`]) the command is refused when any key would be
/// created. `action` names the command in the refusal.
pub(super) fn key_sink(
    action: &str,
    aws: &Aws,
    settings: &Settings,
    asked: Asked<'_>,
    users: &[String],
) -> Result<KeySink> {
    let store = asked.deliver.or(settings.deliver.as_ref());
    let delivery = choose_delivery(
        asked.credentials_dir.is_some(),
        asked.print_secrets,
        store.is_some(),
        io::stdout().is_terminal(),
    );
    match (delivery, asked.credentials_dir, store) {
        (Delivery::Dir, Some(dir), _) => {
            let dir = safe_write::Dir::open_private(dir)
                .context("the credentials directory (`--credentials-dir`) cannot be used; nothing was changed")?;
            Ok(KeySink::new(Some(Target::Dir(dir))))
        }
        (Delivery::Store, _, Some(store)) => {
            for user in users {
                if let Some(c) = delivery::unstorable_character(store, user) {
                    bail!(
                        "cannot deliver the key of `{user}` to `{}`: the name `{}` would contain `{c}`, which {} names cannot hold; nothing was changed. Rename the app user, or choose another delivery (`--credentials-dir DIR`)",
                        store.spec(),
                        store.name_for(user),
                        match store.kind {
                            StoreKind::Ssm => "SSM parameter",
                            StoreKind::SecretsManager => "Secrets Manager secret",
                        }
                    );
                }
            }
            Ok(KeySink::new(Some(Target::Store(Store::new(
                aws,
                store.clone(),
                settings.deliver_kms_key.clone(),
            )))))
        }
        (Delivery::Refuse, _, _) if !users.is_empty() => bail!(
            "refusing to {action}: it would create new access keys for {}, and standard output is not a terminal, so their secrets would be printed where logs keep them; nothing was changed. Choose where they go: `--deliver ssm:/PREFIX/` or `--deliver secretsmanager:PREFIX` (or `deliver` in `[settings]`) stores each in a secret store, `--credentials-dir DIR` writes each to `DIR/<user>.json` (mode 0600), `--print-secrets` prints them here anyway",
            names(users)
        ),
        _ => Ok(KeySink::new(None)),
    }
}

/// `a`, `a` and `b`, `a`, `b` and `c`, each in backticks.
fn names(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Prints the secrets held for the end, then records their keys as
/// delivered. When they cannot be printed (a closed pipe, a full disk),
/// nobody holds them: their keys are deleted instead, and never recorded.
/// Returns false when a secret was not delivered or a key not recorded.
pub(super) async fn deliver_held(printer: Printer, aws: &Aws, mut held: Vec<AccessKey>) -> bool {
    if held.is_empty() {
        return true;
    }
    // By user, not in the order the concurrent calls happened to finish.
    held.sort_by(|a, b| a.user.cmp(&b.user));
    if let Err(err) = print_secrets(&held) {
        discard_undelivered(printer, aws, &held, &err).await;
        return false;
    }
    // Printed secrets are delivered: only now record their keys, so that a
    // kill before the printing leaves them unrecorded and the next apply
    // replaces them, instead of keeping keys whose secret nobody saw.
    let mut recorded = true;
    for key in &held {
        if let Err(err) = record_key(aws, &key.user, &key.access_key_id).await {
            printer.error(format_args!(
                "could not record the key of `{}` ({err}); the next apply will replace it with a new one",
                key.user
            ));
            recorded = false;
        }
    }
    recorded
}

/// Prints `held`'s secrets on stdout (shown this once), in one write, so
/// that a failure means none of them can be counted on.
pub(super) fn print_secrets(held: &[AccessKey]) -> io::Result<()> {
    let mut text =
        String::from("\nNew access keys. The secrets are shown this once; store them now:\n");
    for key in held {
        text.push_str(&format!(
            "  {}  AccessKeyId={}  SecretAccessKey={}\n",
            key.user,
            key.access_key_id,
            key.secret_access_key.expose()
        ));
    }
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Deletes the keys whose secrets could not be printed, and says which.
async fn discard_undelivered(printer: Printer, aws: &Aws, held: &[AccessKey], err: &io::Error) {
    let users: Vec<String> = held.iter().map(|k| k.user.clone()).collect();
    let mut kept = Vec::new();
    for key in held {
        if let Err(e) = discard_key(aws, &key.user, &key.access_key_id).await {
            kept.push((key, e));
        }
    }
    printer.error(format_args!(
        "the secrets of the new access keys of {} could not be printed ({err}), so nobody holds them: {}. Give `--credentials-dir DIR` to have secrets written to files instead",
        names(&users),
        if kept.is_empty() {
            "the keys were deleted again, and the next apply creates new ones"
        } else {
            "the keys were deleted again where possible (see below), and the next apply creates new ones"
        }
    ));
    for (key, e) in kept {
        printer.error(format_args!(
            "key `{}` of `{}` could not be deleted ({e}); it is not recorded, so the next apply deletes it and creates a new one",
            key.access_key_id, key.user
        ));
    }
}

/// Says which credentials files were written and which store entries
/// stored. Best effort: the files and entries are the delivery, and a
/// closed stdout does not undo them.
pub(super) fn print_written(keys: &KeySink) {
    let mut out = io::stdout().lock();
    for path in keys.written() {
        if writeln!(out, "Wrote credentials to {}", path.display()).is_err() {
            return;
        }
    }
    if let Some((spec, names)) = keys.stored() {
        let scheme = spec.split(':').next().unwrap_or_default();
        for name in names {
            if writeln!(out, "Stored credentials in {scheme}:{name}").is_err() {
                return;
            }
        }
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Secrets never go to a pipe or a file (a CI log) unless asked for by
    /// name; on a terminal printing stays the default.
    #[test]
    fn secrets_are_printed_without_a_terminal_only_when_asked_for_by_name() {
        use Delivery::*;
        let cases = [
            // (credentials dir, --print-secrets, a store, stdout is a terminal)
            ((false, false, false, false), Refuse),
            ((false, false, false, true), Print),
            ((false, true, false, false), Print),
            ((false, true, false, true), Print),
            ((true, false, false, false), Dir),
            ((true, false, false, true), Dir),
            // A store, from `--deliver` or the settings, is a named
            // delivery; one named on the command line wins over it.
            ((false, false, true, false), Store),
            ((false, false, true, true), Store),
            ((true, false, true, false), Dir),
            ((false, true, true, false), Print),
        ];
        for ((dir, print, store, terminal), want) in cases {
            assert_eq!(
                choose_delivery(dir, print, store, terminal),
                want,
                "dir={dir} print={print} store={store} terminal={terminal}"
            );
        }
    }

    #[test]
    fn names_are_listed_in_backticks() {
        let list = |items: &[&str]| names(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b"]), "`a` and `b`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
