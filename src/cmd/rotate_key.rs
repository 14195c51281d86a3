//! `provision rotate-key`: give a managed user a second access key for the
//! overlap, then (`--finish`) retire the older one. The writes and the
//! choice of the key to keep are in [`crate::apply::rotate`].

use anyhow::{Result, bail};
use aws_sdk_iam::types::{AccessKeyMetadata, StatusType, Tag, User};

use super::configuration::load;
use super::secrets::{Asked, key_sink, print_secrets, print_written};
use super::{Context, ExitStatus, locked};
use crate::apply::{self, KeySink, rotate};
use crate::aws::Aws;
use crate::cli::RotateKeyArgs;
use crate::model::{
    ACCESS_KEY_TAG_KEY, DISABLED_TAG_KEY, Desired, MANAGED_TAG_KEY, MANAGED_TAG_VALUE, Settings,
};
use crate::observe::account::guarded_account;
use crate::observe::keys::key_metadata;
use crate::observe::user::{UserError, read_user};
use crate::terminal::Printer;

/// `provision rotate-key`.
pub async fn run(args: &RotateKeyArgs, ctx: &Context) -> Result<ExitStatus> {
    let printer = ctx.printer;
    let Some(desired) = load(printer, &args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let managed_path = desired.settings.path.clone();
    let aws = ctx.aws().await;
    // The account guard, as for plan and apply: never create a key in the
    // same-named user of another account.
    guarded_account(&aws, &desired.settings).await?;
    let result = if args.due {
        due(printer, &aws, args, &desired).await
    } else {
        let user = args.user.as_deref().unwrap_or_default();
        // Under the apply lock: an apply running at the same time could
        // otherwise replace the key being rotated (SPEC, guarantee 11).
        let work = async {
            if args.finish {
                finish(printer, &aws, user, &managed_path).await
            } else {
                start(printer, &aws, args, user, &desired.settings).await
            }
        };
        let command = apply::lock::command_line(&format!("rotate-key {user}"), &args.paths);
        locked::run(printer, &aws, &managed_path, &command, work).await
    };
    ctx.print_stats(&aws);
    result
}

/// How old a key is, in whole days, at `now` (seconds since the epoch);
/// `None` when IAM gave no creation date.
fn age_days(key: &AccessKeyMetadata, now: i64) -> Option<i64> {
    key.create_date()
        .map(|d| (now - d.secs()).div_euclid(86_400))
}

/// `provision rotate-key --due`: every application user of the
/// configuration whose key is older than `max_key_age_days` gets a new one,
/// delivered as `apply` delivers; with `--finish`, every application
/// user's rotation under way is finished instead.
///
/// What is due is decided from reads alone, outside the apply lock, so that
/// a scheduled run with nothing due makes no write at all; each rotation
/// then checks the user's keys again under the lock.
async fn due(
    printer: Printer,
    aws: &Aws,
    args: &RotateKeyArgs,
    desired: &Desired,
) -> Result<ExitStatus> {
    let settings = &desired.settings;
    let max = settings.max_key_age_days;
    let chosen = due_users(printer, aws, desired, args.finish).await?;
    if chosen.is_empty() {
        printer.status(format_args!(
            "{}; nothing was changed.",
            if args.finish {
                "No application user has a rotation under way".to_owned()
            } else {
                format!("No application key is older than {max} days (`max_key_age_days`)")
            }
        ));
        return Ok(ExitStatus::Success);
    }
    // Where the secrets go is settled before the first key exists.
    let sink = if args.finish {
        None
    } else {
        Some(key_sink(
            "rotate the keys",
            aws,
            settings,
            Asked {
                credentials_dir: args.credentials_dir.as_deref(),
                print_secrets: args.print_secrets,
                deliver: args.deliver.as_ref(),
            },
            &chosen,
        )?)
    };
    let work = async {
        for user in &chosen {
            match &sink {
                None => finish(printer, aws, user, &settings.path).await?,
                Some(sink) => {
                    let (tags, keys) = rotatable(aws, user, &settings.path).await?;
                    start_with(printer, aws, user, (&tags, &keys), sink).await?
                }
            };
        }
        Ok(ExitStatus::Success)
    };
    let command = apply::lock::command_line(
        if args.finish {
            "rotate-key --due --finish"
        } else {
            "rotate-key --due"
        },
        &args.paths,
    );
    locked::run(printer, aws, &settings.path, &command, work).await
}

/// The application users of `desired` that `rotate-key --due` acts on,
/// decided from reads alone: with `finish`, those whose rotation is under
/// way (two keys); else those whose one key is older than
/// `max_key_age_days`. Users not created yet, and users mid-rotation, are
/// named and left alone.
async fn due_users(
    printer: Printer,
    aws: &Aws,
    desired: &Desired,
    finish: bool,
) -> Result<Vec<String>> {
    let settings = &desired.settings;
    let max = settings.max_key_age_days;
    let now = chrono::Utc::now().timestamp();
    let mut chosen = Vec::new();
    for user in desired.clients.values().flat_map(|c| c.app_users()) {
        let found = match read_user(aws, user).await {
            Ok(found) => found,
            Err(UserError::NoSuchUser { .. }) => {
                printer.status(format_args!(
                    "`{user}` does not exist yet; `provision apply` creates it with a new key."
                ));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        check_managed(&found, user, &settings.path)?;
        let keys = key_metadata(aws, user).await?;
        if finish {
            if keys.len() >= 2 {
                chosen.push(user.to_owned());
            }
            continue;
        }
        if keys.len() >= 2 {
            printer.status(format_args!(
                "`{user}` has a rotation under way (two keys); finish it with `provision rotate-key --due --finish` (or `provision rotate-key {user} --finish`)."
            ));
            continue;
        }
        if let Some(age) = keys.first().and_then(|k| age_days(k, now))
            && age > i64::from(max)
        {
            chosen.push(user.to_owned());
        }
    }
    Ok(chosen)
}

/// The user's tags, after checking provision manages it.
async fn managed_user(aws: &Aws, user: &str, managed_path: &str) -> Result<Vec<Tag>> {
    let found = read_user(aws, user).await?;
    check_managed(&found, user, managed_path)
}

/// The tags of `found`, the user `user`, after checking provision manages
/// it at `managed_path` and it is not disabled.
fn check_managed(found: &User, user: &str, managed_path: &str) -> Result<Vec<Tag>> {
    let tags = found.tags().to_vec();
    if tags.iter().any(|t| t.key() == DISABLED_TAG_KEY) {
        bail!(
            "user `{user}` is disabled (`disabled = true`, written by `provision offboard --keep-user`); a disabled user gets no new key: enable it in the file and apply first"
        );
    }
    let tagged = tags
        .iter()
        .any(|t| t.key() == MANAGED_TAG_KEY && t.value() == MANAGED_TAG_VALUE);
    let path = found.path();
    if !tagged {
        bail!(
            "user `{user}` is not managed by provision (path `{path}`, no `managed-by=provision` tag); rotate its keys with the AWS CLI (`aws iam create-access-key --user-name {user}`)"
        );
    }
    // Exactly the managed path: a nested path belongs to another
    // configuration, which rotates its own users' keys.
    if path != managed_path {
        bail!(
            "user `{user}` is at path `{path}`, not at the managed path `{managed_path}`: it carries the `managed-by=provision` tag, so another configuration of provision (whose `settings.path` is `{path}`) manages it; run `provision rotate-key {user}` with that configuration's files"
        );
    }
    Ok(tags)
}

fn describe_key(key: &AccessKeyMetadata) -> String {
    format!(
        "`{}` ({}, created {})",
        key.access_key_id().unwrap_or("?"),
        key.status().map_or("?", StatusType::as_str),
        key.create_date()
            .map_or_else(|| "at an unknown date".to_owned(), |d| d.to_string())
    )
}

async fn start(
    printer: Printer,
    aws: &Aws,
    args: &RotateKeyArgs,
    user: &str,
    settings: &Settings,
) -> Result<ExitStatus> {
    let (tags, keys) = rotatable(aws, user, &settings.path).await?;
    // Where the secret goes is settled before the key exists: a directory
    // others could write to, or no delivery without a terminal, is refused
    // here, with nothing created.
    let sink = key_sink(
        "rotate the key",
        aws,
        settings,
        Asked {
            credentials_dir: args.credentials_dir.as_deref(),
            print_secrets: args.print_secrets,
            deliver: args.deliver.as_ref(),
        },
        &[user.to_owned()],
    )?;
    start_with(printer, aws, user, (&tags, &keys), &sink).await
}

/// The tags and keys of `user`, after checking provision manages it and
/// it has room for a second key.
async fn rotatable(
    aws: &Aws,
    user: &str,
    managed_path: &str,
) -> Result<(Vec<Tag>, Vec<AccessKeyMetadata>)> {
    let tags = managed_user(aws, user, managed_path).await?;
    let keys = key_metadata(aws, user).await?;
    if keys.len() >= 2 {
        bail!(
            "user `{user}` already has two access keys, IAM's limit: {}. If a rotation is under way, finish it with `provision rotate-key {user} --finish` (deletes the older key); otherwise delete the unused key with `aws iam delete-access-key --user-name {user} --access-key-id ID`",
            keys.iter()
                .map(describe_key)
                .collect::<Vec<_>>()
                .join(" and ")
        );
    }
    Ok((tags, keys))
}

/// Starts the rotation of `user`, whose `(tags, keys)` were just read
/// (see [`rotatable`]), delivering the new secret through `sink`.
async fn start_with(
    printer: Printer,
    aws: &Aws,
    user: &str,
    (tags, keys): (&[Tag], &[AccessKeyMetadata]),
    sink: &KeySink,
) -> Result<ExitStatus> {
    let id = create_and_deliver(aws, user, sink).await?;
    // An application user's record names the key apply delivered; it now
    // names the new one, so `--finish` and later plans know which to keep.
    if tags.iter().any(|t| t.key() == ACCESS_KEY_TAG_KEY) {
        rotate::record_new_key(aws, user, &id).await?;
    }
    printer.status(format_args!(
        "Created access key `{id}` for `{user}`; {} stays active for the overlap. Once every consumer uses the new key, run `provision rotate-key {user} --finish`.",
        keys.first().map_or("no older key".to_owned(), |k| format!(
            "the older key {}",
            describe_key(k)
        ))
    ));
    Ok(ExitStatus::Success)
}

/// Creates `user`'s new key and delivers its secret through `sink`; returns
/// the key id. A key whose secret could not be delivered is deleted again.
async fn create_and_deliver(aws: &Aws, user: &str, sink: &KeySink) -> Result<String> {
    let key = rotate::create_key(aws, user).await?;
    let id = key.access_key_id.clone();
    let delivered = sink.deliver(key).await;
    if let Err(err) = delivered {
        // Nobody holds the secret: remove the key rather than leave it.
        bail!("{err}; {}", discard(aws, user, &id).await);
    }
    // A printed secret is delivered only once it is printed: print before
    // recording, so that a kill in between leaves the old key on record
    // (and `--finish` keeps it) rather than a recorded key nobody holds.
    let held = sink.take_held();
    if !held.is_empty()
        && let Err(err) = print_secrets(&held)
    {
        // A closed pipe or a full disk: nobody saw the secret, and a
        // developer's key would otherwise be the newest, the one
        // `--finish` keeps.
        bail!(
            "the secret of the new key could not be printed ({err}), so nobody holds it; {}. Give `--credentials-dir DIR` to have it written to a file instead",
            discard(aws, user, &id).await
        );
    }
    print_written(sink);
    Ok(id)
}

/// Deletes the new key `id` whose secret was not delivered; says what
/// became of it.
async fn discard(aws: &Aws, user: &str, id: &str) -> String {
    match apply::discard_key(aws, user, id).await {
        Ok(()) => format!("the new key `{id}` was deleted again and the older key stays as it was"),
        Err(e) => format!(
            "the new key `{id}` could not be deleted ({e}): delete it with `aws iam delete-access-key --user-name {user} --access-key-id {id}`"
        ),
    }
}

async fn finish(printer: Printer, aws: &Aws, user: &str, managed_path: &str) -> Result<ExitStatus> {
    let tags = managed_user(aws, user, managed_path).await?;
    let keys = key_metadata(aws, user).await?;
    if keys.len() < 2 {
        printer.status(format_args!(
            "`{user}` has {} access key(s); there is no rotation to finish.",
            keys.len()
        ));
        return Ok(ExitStatus::Success);
    }
    let keep = rotate::keep_key(&tags, &keys);
    for key in &keys {
        let Some(id) = key.access_key_id() else {
            continue;
        };
        if Some(id) == keep.as_deref() {
            continue;
        }
        rotate::retire_key(aws, user, id).await?;
        printer.status(format_args!(
            "Deactivated and deleted the older key `{id}`{}.",
            key.create_date()
                .map_or_else(String::new, |d| format!(" (created {d})"))
        ));
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::DateTime;

    use super::*;

    /// Ages are whole days, as `audit` counts them: a key is due only once
    /// more than `max_key_age_days` full days have passed.
    #[test]
    fn key_ages_are_whole_days() {
        let now = 1_000 * 86_400;
        let key = |secs: i64| {
            AccessKeyMetadata::builder()
                .create_date(DateTime::from_secs(secs))
                .build()
        };
        assert_eq!(age_days(&key(now), now), Some(0));
        assert_eq!(age_days(&key(now - 90 * 86_400 - 1), now), Some(90));
        assert_eq!(age_days(&key(now - 91 * 86_400), now), Some(91));
        assert_eq!(age_days(&AccessKeyMetadata::builder().build(), now), None);
    }
}
