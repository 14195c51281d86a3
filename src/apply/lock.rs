//! One apply at a time per account and managed path (SPEC, guarantee 11).
//!
//! Two applies that overlap can interleave: both plan from the same state,
//! then both create a key for the same application user, or one adds a
//! membership the other removes. Every command that changes the account
//! (`apply`, a saved plan's apply, `onboard`/`offboard --apply`,
//! `rotate-key`) therefore holds a lock kept in the account itself, so it
//! holds across machines and CI jobs.
//!
//! The lock is a customer managed policy, `provision-lock-<hash of the
//! path>`, under the managed path. `iam:CreatePolicy` is the atomic step:
//! IAM refuses a second policy of the same name in an account with
//! `EntityAlreadyExists`, so exactly one run creates it. Its description
//! says who holds it and since when; its `PolicyId` is the lock's id,
//! which `provision unlock` must be given to break a stale lock. The policy
//! grants nothing and is never attached: its only statement denies
//! `sts:GetCallerIdentity`, which IAM documents as impossible to deny.
//! provision plans only the managed policies it attaches to client groups
//! (`provision-s3-<client>`), so the lock is never planned as a stray.
//!
//! A policy name is unique in the whole account, whatever its path, so the
//! name carries a hash of the managed path: two installations under
//! different paths lock independently.
//!
//! IAM has no compare-and-delete: `iam:DeletePolicy` takes the ARN alone,
//! which is the same for every run's lock. So releasing (and `unlock`)
//! reads the lock's id and deletes only when it is the one meant, one
//! call after the other; and that delete is sent once, never retried by
//! the SDK: a retry after a lost answer could land after the lock was
//! broken and taken by another run, and delete that run's lock. When an
//! answer is lost, the lock is read again first (see [`delete_if_held`]).
//! What remains is the time between one read and one delete, a single
//! round trip, in which someone would have to break a lock that is still
//! held and another run take it.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::aws::{self, Aws};
use crate::policy::arn::{lock_arn, lock_name};

/// How every lock's description starts.
const DESCRIPTION_PREFIX: &str = "provision apply lock: ";

/// IAM's limit on a managed policy's description.
const DESCRIPTION_LIMIT: usize = 1000;

/// How often acquiring tries again when the lock vanished between the
/// refused create and the read of its holder (the holder just released it).
const ACQUIRE_ATTEMPTS: usize = 3;

/// The lock policy's document: one statement that denies the one action
/// IAM never denies, so the policy grants and denies nothing even if
/// someone attached it.
const LOCK_DOCUMENT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ApplyLockGrantsNothing","Effect":"Deny","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#;

/// Why the lock could not be taken, released or broken.
#[derive(Debug, Error)]
pub enum LockError {
    /// Another run holds the lock.
    #[error(
        "another provision run holds the apply lock of account `{account}`, path `{path}`: {holder} (lock id `{id}`). Nothing was changed. Wait for that run to finish, then run this command again; if that run is gone (killed, crashed), break the lock with `provision unlock {id}` and the same PATH arguments"
    )]
    Held {
        account: String,
        path: String,
        id: String,
        /// Who holds it and since when, from the lock's description.
        holder: String,
    },
    /// `provision unlock ID` found no lock.
    #[error(
        "there is no apply lock for account `{account}`, path `{path}` (no policy `{arn}`); nothing was removed"
    )]
    NotHeld {
        account: String,
        path: String,
        arn: String,
    },
    /// `provision unlock ID` found a lock with another id.
    #[error(
        "the apply lock of account `{account}`, path `{path}` has id `{found}`, not `{given}`: {holder}. Nothing was removed. The lock you meant is gone and this one may belong to a run in progress; break it only if you are sure, with `provision unlock {found}`"
    )]
    OtherLock {
        account: String,
        path: String,
        given: String,
        found: String,
        holder: String,
    },
    /// The credentials may not create the lock policy.
    #[error(
        "could not take the apply lock: iam:CreatePolicy on `{arn}` was denied ({message}); nothing was changed. The operator policy allows it since the apply lock exists: update it from `provision policy operator` (statement `ApplyLock`)"
    )]
    Denied { arn: String, message: String },
    /// An AWS call failed.
    #[error("could not {operation}: {message}")]
    Call {
        operation: &'static str,
        message: String,
    },
}

/// How a lock's holder names its command: `apply clients/`.
pub fn command_line(command: &str, paths: &[std::path::PathBuf]) -> String {
    let mut line = command.to_owned();
    for p in paths {
        line.push(' ');
        line.push_str(&p.display().to_string());
    }
    line
}

/// A lock this run holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub account: String,
    pub path: String,
    pub arn: String,
    /// The lock policy's `PolicyId`.
    pub id: String,
}

/// The description written into the lock: who, where, what and since
/// when, plus `token`, which lets this run recognize its own lock when the
/// answer to its create was lost and the retry was refused.
fn description(caller: &str, command: &str, started: &str, token: &str) -> String {
    let host = hostname();
    let text = format!(
        "{DESCRIPTION_PREFIX}held by `{caller}` on host `{host}` (pid {}), running `provision {command}`, since {started}. Token {token}.",
        std::process::id()
    );
    // IAM accepts tab, line breaks and U+0020..U+00FF in a description.
    let clean: String = text
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' | ' '..='\u{ff}' => c,
            _ => '?',
        })
        .collect();
    if clean.chars().count() <= DESCRIPTION_LIMIT {
        return clean;
    }
    // Keep the token, which recognition needs, and cut the middle.
    let tail = format!(" ... Token {token}.");
    let head: String = clean
        .chars()
        .take(DESCRIPTION_LIMIT - tail.chars().count())
        .collect();
    head + &tail
}

/// The machine's name, best effort: it only helps a person find the run
/// that holds a lock.
fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A value no other run will pick: a hash of this process, the time and
/// the host.
fn token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{}/{nanos}/{}", std::process::id(), hostname());
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Who holds a lock, for messages: "held by ... since ...", from its
/// description, or IAM's creation time for a lock without one.
fn holder(policy: &aws_sdk_iam::types::Policy) -> String {
    // The token only tells a run its own lock; people need the rest.
    let said = policy
        .description()
        .and_then(|d| d.split(" Token ").next())
        .map(|d| d.strip_prefix(DESCRIPTION_PREFIX).unwrap_or(d))
        .map(|d| d.trim_end_matches('.'))
        .filter(|d| !d.is_empty());
    match (said, policy.create_date()) {
        (Some(d), _) => d.to_owned(),
        (None, Some(created)) => format!("a lock without a description, created {created}"),
        (None, None) => "a lock without a description".to_owned(),
    }
}

/// The account and ARN of the credentials in use.
async fn caller(aws: &Aws) -> Result<(String, String), LockError> {
    let out = aws
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| LockError::Call {
            operation: "find who is taking the apply lock (sts:GetCallerIdentity)",
            message: aws::describe(&e),
        })?;
    Ok((
        out.account().unwrap_or_default().to_owned(),
        out.arn().unwrap_or("an unknown caller").to_owned(),
    ))
}

/// Reads the lock policy at `arn`; `None` when there is none.
async fn read(aws: &Aws, arn: &str) -> Result<Option<aws_sdk_iam::types::Policy>, LockError> {
    match aws.iam.get_policy().policy_arn(arn).send().await {
        Ok(out) => Ok(out.policy().cloned()),
        Err(e) if aws::error_code(&e) == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(LockError::Call {
            operation: "read the apply lock (iam:GetPolicy)",
            message: aws::describe(&e),
        }),
    }
}

/// Takes the lock of managed path `path` in the credentials' account for
/// `command` (how the holder is described), or says who holds it.
pub async fn acquire(aws: &Aws, path: &str, command: &str) -> Result<Lock, LockError> {
    let (account, caller) = caller(aws).await?;
    let arn = lock_arn(&account, path);
    let token = token();
    let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let description = description(&caller, command, &started, &token);
    for _ in 0..ACQUIRE_ATTEMPTS {
        let created = aws
            .iam
            .create_policy()
            .policy_name(lock_name(path))
            .path(path)
            .policy_document(LOCK_DOCUMENT)
            .description(&description)
            .send()
            .await;
        let refused = match created {
            Ok(out) => {
                let id = out.policy().and_then(|p| p.policy_id()).unwrap_or_default();
                tracing::info!(lock = %arn, id = %id, "apply lock taken");
                return Ok(Lock {
                    account,
                    path: path.to_owned(),
                    arn,
                    id: id.to_owned(),
                });
            }
            Err(e) if aws::error_code(&e) == Some("EntityAlreadyExists") => e,
            Err(e) if aws::error_code(&e).is_some_and(|c| c.contains("AccessDenied")) => {
                return Err(LockError::Denied {
                    arn,
                    message: aws::describe(&e),
                });
            }
            Err(e) => {
                return Err(LockError::Call {
                    operation: "take the apply lock (iam:CreatePolicy)",
                    message: aws::describe(&e),
                });
            }
        };
        tracing::debug!(error = %aws::describe(&refused), "apply lock exists");
        let Some(policy) = read(aws, &arn).await? else {
            // Released between the two calls: try again.
            continue;
        };
        let id = policy.policy_id().unwrap_or_default().to_owned();
        // A create whose answer was lost, retried by the SDK and refused:
        // the lock is this run's own.
        if policy.description().is_some_and(|d| d.contains(&token)) {
            return Ok(Lock {
                account,
                path: path.to_owned(),
                arn,
                id,
            });
        }
        return Err(LockError::Held {
            account,
            path: path.to_owned(),
            id,
            holder: holder(&policy),
        });
    }
    Err(LockError::Call {
        operation: "take the apply lock (iam:CreatePolicy)",
        message: format!(
            "it was taken and released by other runs {ACQUIRE_ATTEMPTS} times in a row; run the command again"
        ),
    })
}

/// What releasing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// The lock was this run's and is gone.
    Done,
    /// The lock was already gone: someone broke it with `provision unlock`.
    AlreadyGone,
    /// Someone broke the lock and another run took it; it was left alone.
    TakenByOther { id: String, holder: String },
}

/// Releases `lock`, after checking it is still this run's: a lock broken
/// with `provision unlock` and taken by another run is left to that run.
pub async fn release(aws: &Aws, lock: &Lock) -> Result<Released, LockError> {
    let released = match delete_if_held(aws, &lock.arn, &lock.id).await? {
        Deleted::Done => Released::Done,
        Deleted::Absent => Released::AlreadyGone,
        Deleted::Other(policy) => Released::TakenByOther {
            id: policy.policy_id().unwrap_or_default().to_owned(),
            holder: holder(&policy),
        },
    };
    if released == Released::Done {
        tracing::info!(lock = %lock.arn, "apply lock released");
    }
    Ok(released)
}

/// How many times [`delete_if_held`] reads and deletes when answers are
/// lost or IAM is struggling.
const DELETE_ATTEMPTS: u32 = 6;

/// What [`delete_if_held`] found.
enum Deleted {
    /// The lock with the id meant was deleted.
    Done,
    /// There was no lock at all.
    Absent,
    /// The lock has another id, and was left alone.
    Other(Box<aws_sdk_iam::types::Policy>),
}

/// Deletes the lock at `arn` if, when read, its id is `id`; a lock with
/// another id is left alone. Each delete is sent once, with the SDK's
/// retries off, and is preceded by a read: a lost answer or a transient
/// error leads to reading again, never to a blind second delete (see the
/// module documentation).
async fn delete_if_held(aws: &Aws, arn: &str, id: &str) -> Result<Deleted, LockError> {
    let mut last = String::new();
    for attempt in 0..DELETE_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 << attempt.min(4))).await;
        }
        let Some(policy) = read(aws, arn).await? else {
            // Gone after a delete of ours whose answer was lost: done.
            return Ok(if attempt == 0 {
                Deleted::Absent
            } else {
                Deleted::Done
            });
        };
        if policy.policy_id() != Some(id) {
            // After a delete of ours whose answer was lost, another run
            // took the lock: ours is gone, theirs stays.
            return Ok(if attempt == 0 {
                Deleted::Other(Box::new(policy))
            } else {
                Deleted::Done
            });
        }
        let deleted = aws
            .iam
            .delete_policy()
            .policy_arn(arn)
            .customize()
            .config_override(
                aws_sdk_iam::config::Builder::default()
                    .retry_config(aws_config::retry::RetryConfig::disabled()),
            )
            .send()
            .await;
        match deleted {
            Ok(_) => return Ok(Deleted::Done),
            // Deleted in between, by `unlock`: read again to tell.
            Err(e) if aws::error_code(&e) == Some("NoSuchEntity") => {}
            // Throttling, a 5xx, a lost answer: read again, then retry.
            Err(e) if is_transient(&e) => last = aws::describe(&e),
            Err(e) => {
                return Err(LockError::Call {
                    operation: "delete the apply lock (iam:DeletePolicy)",
                    message: aws::describe(&e),
                });
            }
        }
    }
    Err(LockError::Call {
        operation: "delete the apply lock (iam:DeletePolicy)",
        message: format!("{DELETE_ATTEMPTS} attempts failed; the last: {last}"),
    })
}

/// Whether a failed call may succeed when sent again: no answer at all (a
/// timeout, a lost connection), throttling, or a server error.
fn is_transient<E, R>(err: &aws_sdk_iam::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_iam::error::ProvideErrorMetadata,
{
    use aws_sdk_iam::error::SdkError;
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or_default();
            code.contains("Throttl")
                || code == "RequestLimitExceeded"
                || code == "ServiceFailure"
                || code == "ServiceUnavailable"
                || code == "InternalFailure"
        }
        _ => false,
    }
}

/// Breaks the lock of managed path `path` in `account`, if its id is `id`.
/// Returns who held it.
///
/// The id is checked first so that a lock released and taken again by a
/// live run since its id was read is not broken by mistake. The check and
/// the delete are two calls (IAM has no compare-and-delete), and the
/// delete is never retried blindly (see [`delete_if_held`]): a lock
/// released and retaken in the one round trip between them is the one
/// case this cannot see.
pub async fn break_lock(
    aws: &Aws,
    account: &str,
    path: &str,
    id: &str,
) -> Result<String, LockError> {
    let account = account.to_owned();
    let arn = lock_arn(&account, path);
    let Some(policy) = read(aws, &arn).await? else {
        return Err(LockError::NotHeld {
            account,
            path: path.to_owned(),
            arn,
        });
    };
    let found = policy.policy_id().unwrap_or_default();
    let other = |policy: &aws_sdk_iam::types::Policy| LockError::OtherLock {
        account: account.clone(),
        path: path.to_owned(),
        given: id.to_owned(),
        found: policy.policy_id().unwrap_or_default().to_owned(),
        holder: holder(policy),
    };
    if found != id {
        return Err(other(&policy));
    }
    match delete_if_held(aws, &arn, id).await? {
        // Released by its holder since it was read: broken all the same.
        Deleted::Done | Deleted::Absent => Ok(holder(&policy)),
        Deleted::Other(taken) => Err(other(&taken)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_names_the_holder_fits_and_keeps_the_token() {
        let d = description(
            "arn:aws:iam::123456789012:user/ci",
            "apply",
            "2030-01-01T00:00:00Z",
            "abc123",
        );
        assert!(
            d.starts_with("provision apply lock: held by `arn:aws:iam::123456789012:user/ci`"),
            "{d}"
        );
        assert!(
            d.contains("running `provision apply`, since 2030-01-01T00:00:00Z"),
            "{d}"
        );
        assert!(d.ends_with("Token abc123."), "{d}");
        // Characters IAM refuses are replaced; a long caller is cut in the
        // middle, the token kept.
        let long = description(&"é€".repeat(600), "apply", "now", "tok");
        assert!(long.chars().count() <= DESCRIPTION_LIMIT, "{}", long.len());
        assert!(long.ends_with(" ... Token tok."), "{long}");
        assert!(long.contains("é?"), "{long}");
        assert!(!long.contains('€'));
    }

    #[test]
    fn the_holder_is_read_back_without_the_token() {
        let policy = |description: Option<&str>| {
            let mut p = aws_sdk_iam::types::Policy::builder()
                .create_date(aws_smithy_types::DateTime::from_secs(0));
            if let Some(d) = description {
                p = p.description(d);
            }
            p.build()
        };
        let d = description("arn:x", "apply clients/", "2030-01-01T00:00:00Z", "tok");
        let read = holder(&policy(Some(&d)));
        assert!(read.starts_with("held by `arn:x` on host `"), "{read}");
        assert!(
            read.ends_with("running `provision apply clients/`, since 2030-01-01T00:00:00Z"),
            "{read}"
        );
        assert_eq!(
            holder(&policy(None)),
            "a lock without a description, created 1970-01-01T00:00:00Z"
        );
        assert_eq!(holder(&policy(Some("by hand"))), "by hand");
    }

    #[test]
    fn tokens_differ_between_calls() {
        let (a, b) = (token(), token());
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
    }

    /// The lock's document must parse as a policy that allows nothing.
    #[test]
    fn the_lock_document_grants_nothing() {
        let doc: serde_json::Value = serde_json::from_str(LOCK_DOCUMENT).unwrap();
        let rules = crate::policy::reach::rules(&doc, "lock", "123456789012");
        assert!(
            rules
                .iter()
                .all(|r| r.effect == crate::policy::reach::Effect::Deny)
        );
        assert!(!crate::policy::evaluate::is_allowed(
            &[&doc],
            "sts:GetCallerIdentity",
            "*"
        ));
    }
}
