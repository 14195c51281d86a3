//! The executor: carries out a plan's changes in phase order with bounded
//! concurrency, and reports exactly what was done and what was not.
//!
//! Every change is written so that running it again after an interruption
//! is safe: deletions treat "already gone" as success, and an application
//! user's key is recorded on the user only after its secret was delivered.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_iam::error::SdkError;
use aws_sdk_iam::types::{StatusType, Tag};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures_util::StreamExt;
use serde::Serialize;

use crate::aws::{self, Aws};
use crate::model::{ACCESS_KEY_TAG_KEY, DISABLED_TAG_KEY};
use crate::observe::keys;
use crate::plan::{Change, Plan};
use crate::safe_write;

/// A secret access key. Its `Debug` is redacted and it has no `Display` or
/// `Serialize`, so it cannot reach a log, a plan or JSON output by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place it is delivered.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A newly created access key.
#[derive(Debug, Clone)]
pub struct AccessKey {
    pub user: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub create_date: Option<String>,
}

/// The file written for a key: the shape of the `AccessKey` object that
/// `aws iam create-access-key` prints, so existing tooling can read it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccessKeyFile<'a> {
    user_name: &'a str,
    access_key_id: &'a str,
    status: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_date: Option<&'a str>,
}

/// Where a new secret is delivered the moment it exists, before its key is
/// recorded. Without a target, secrets are held and printed once at the end
/// of the command.
#[derive(Debug)]
pub enum Target {
    /// `--credentials-dir`: `DIR/<user>.json`, mode 0600, in a directory
    /// checked to be the user's own (see [`safe_write::DirPolicy::Private`]).
    Dir(safe_write::Dir),
    // A secret store (SSM Parameter Store, Secrets Manager) belongs here: like
    // a directory, it stores each secret at once, and a key is recorded
    // only once its secret is stored.
}

/// Where new secrets go: each is delivered at once to the [`Target`] when
/// there is one, else held to be printed once at the end.
#[derive(Debug, Default)]
pub struct KeySink {
    target: Option<Target>,
    held: Mutex<Vec<AccessKey>>,
    written: Mutex<Vec<PathBuf>>,
}

impl KeySink {
    pub fn new(target: Option<Target>) -> Self {
        KeySink {
            target,
            ..KeySink::default()
        }
    }

    /// Deliver one key. With a target, the secret is stored (a file is
    /// complete on disk and synced) before this returns, so the key can be
    /// recorded as delivered.
    pub fn deliver(&self, key: AccessKey) -> Result<(), safe_write::WriteError> {
        match &self.target {
            Some(Target::Dir(dir)) => {
                let path = write_key_file(dir, &key)?;
                lock(&self.written).push(path);
            }
            None => lock(&self.held).push(key),
        }
        Ok(())
    }

    /// True when secrets are held to be printed at the end rather than
    /// delivered at once: they are then delivered only after the apply.
    pub fn holds_secrets(&self) -> bool {
        self.target.is_none()
    }

    /// Keys held for printing (none when there is a target).
    pub fn take_held(&self) -> Vec<AccessKey> {
        std::mem::take(&mut *lock(&self.held))
    }

    /// The id of the key whose secret is in `DIR/<user>.json`, if a
    /// directory was given and that file (not a link) holds one.
    pub fn delivered_key_id(&self, user: &str) -> Option<String> {
        let Some(Target::Dir(dir)) = &self.target else {
            return None;
        };
        let bytes = dir.read(&key_file_name(user)).ok()?;
        let file: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        file.get("AccessKeyId")?.as_str().map(str::to_owned)
    }

    /// Files written so far.
    pub fn written(&self) -> Vec<PathBuf> {
        lock(&self.written).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a Vec half-written, so a
    // poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn key_file_name(user: &str) -> String {
    format!("{user}.json")
}

/// Writes `key` to `DIR/<user>.json` with mode 0600, atomically and
/// durably, through a temporary file nobody else can have planted (see
/// [`safe_write`]).
fn write_key_file(
    dir: &safe_write::Dir,
    key: &AccessKey,
) -> Result<PathBuf, safe_write::WriteError> {
    let name = key_file_name(&key.user);
    let mut body = serde_json::to_string_pretty(&AccessKeyFile {
        user_name: &key.user,
        access_key_id: &key.access_key_id,
        status: "Active",
        secret_access_key: key.secret_access_key.expose(),
        create_date: key.create_date.as_deref(),
    })
    .map_err(|e| safe_write::WriteError::Io {
        action: "write",
        path: dir.path().join(&name),
        source: std::io::Error::other(e),
    })?;
    body.push('\n');
    dir.write(&name, body.as_bytes(), safe_write::PRIVATE_FILE_MODE, None)?;
    Ok(dir.path().join(name))
}

/// Why one change failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct ApplyError {
    /// The IAM operation that failed.
    pub operation: String,
    /// What AWS (or the local system) said.
    pub message: String,
}

impl ApplyError {
    fn call<E>(operation: &str, err: &SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        ApplyError {
            operation: operation.to_owned(),
            message: aws::describe(err),
        }
    }
}

/// Carries out single changes. A trait so the executor's ordering and
/// failure reporting can be tested without an account.
pub trait Backend {
    fn execute(
        &self,
        change: &Change,
        keys: &KeySink,
    ) -> impl Future<Output = Result<(), ApplyError>>;
}

/// What happened to each change of a plan.
#[derive(Debug, Default)]
pub struct Report {
    pub done: Vec<Change>,
    pub failed: Vec<(Change, ApplyError)>,
    /// Changes not attempted because an earlier phase failed.
    pub skipped: Vec<Change>,
}

impl Report {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

/// Progress events, for the command line to show.
#[derive(Debug)]
pub enum Event<'a> {
    /// The change was handed to the backend (at most `concurrency` are in
    /// flight).
    Started(&'a Change),
    Done(&'a Change),
    Failed(&'a Change, &'a ApplyError),
}

/// Run `plan` phase by phase, at most `concurrency` changes at a time. A
/// failure lets the other changes of its phase finish, then stops: later
/// phases depend on earlier ones.
pub async fn execute<B: Backend>(
    backend: &B,
    plan: &Plan,
    concurrency: usize,
    keys: &KeySink,
    on_event: impl FnMut(Event<'_>),
) -> Report {
    // Shared by the stream, which reports each change as it starts, and the
    // loop below, which reports results; both run on this one task and
    // never hold the borrow across an await.
    let on_event = std::cell::RefCell::new(on_event);
    let mut report = Report::default();
    let mut phases: Vec<u8> = plan.changes.iter().map(Change::phase).collect();
    phases.sort_unstable();
    phases.dedup();
    let mut failed = false;
    for phase in phases {
        let batch: Vec<&Change> = plan.changes.iter().filter(|c| c.phase() == phase).collect();
        if failed {
            report.skipped.extend(batch.into_iter().cloned());
            continue;
        }
        let mut results = futures_util::stream::iter(batch)
            .inspect(|change| (on_event.borrow_mut())(Event::Started(change)))
            .map(|change| async move { (change, backend.execute(change, keys).await) })
            .buffer_unordered(concurrency.max(1));
        while let Some((change, result)) = results.next().await {
            match result {
                Ok(()) => {
                    (on_event.borrow_mut())(Event::Done(change));
                    report.done.push(change.clone());
                }
                Err(err) => {
                    (on_event.borrow_mut())(Event::Failed(change, &err));
                    report.failed.push((change.clone(), err));
                    failed = true;
                }
            }
        }
    }
    report
}

/// True when the error says the entity does not exist.
fn is_no_such_entity<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    err.code() == Some("NoSuchEntity")
}

/// Treat "already gone" as success: a delete that an interrupted apply
/// already did must not fail the next one.
// The error is the SDK's own, passed through unchanged to `check!`.
#[allow(clippy::result_large_err)]
fn gone_ok<T, E: ProvideErrorMetadata>(result: Result<T, SdkError<E>>) -> Result<(), SdkError<E>> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_no_such_entity(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Retry a call that depends on an entity created moments ago: IAM is
/// eventually consistent, and a fresh user or group can be unknown to the
/// next call for a few seconds. Other errors return at once (the SDK has
/// already retried throttling and 5xx).
async fn settle<T, E, F, Fut>(mut call: F) -> Result<T, SdkError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E>>>,
    E: ProvideErrorMetadata,
{
    let mut delay = Duration::from_millis(200);
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if is_no_such_entity(&e) && attempt < 6 => {
                attempt += 1;
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
}

macro_rules! check {
    ($op:literal, $result:expr) => {
        $result.map_err(|e| ApplyError::call($op, &e))?
    };
}

// Declared after `check!` so the macro is in scope there.
mod revoke;

impl Backend for Aws {
    async fn execute(&self, change: &Change, keys: &KeySink) -> Result<(), ApplyError> {
        let iam = &self.iam;
        match change {
            Change::CreateUser {
                user,
                path,
                tags,
                boundary,
            } => {
                let tags = tags
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ApplyError {
                        operation: "CreateUser".into(),
                        message: e.to_string(),
                    })?;
                check!(
                    "CreateUser",
                    iam.create_user()
                        .user_name(user)
                        .path(path)
                        .set_tags(Some(tags))
                        .set_permissions_boundary(boundary.clone())
                        .send()
                        .await
                );
            }
            Change::UpdateUserTags {
                user,
                before,
                after,
            } => {
                let set: Vec<Tag> = after
                    .iter()
                    .filter(|(k, v)| before.get(*k) != Some(*v))
                    .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                    .collect();
                if !set.is_empty() {
                    check!(
                        "TagUser",
                        settle(|| iam
                            .tag_user()
                            .user_name(user)
                            .set_tags(Some(set.clone()))
                            .send())
                        .await
                    );
                }
                let unset: Vec<String> = before
                    .keys()
                    .filter(|k| !after.contains_key(*k))
                    .cloned()
                    .collect();
                if !unset.is_empty() {
                    check!(
                        "UntagUser",
                        iam.untag_user()
                            .user_name(user)
                            .set_tag_keys(Some(unset))
                            .send()
                            .await
                    );
                }
            }
            Change::DeleteUser {
                user,
                groups,
                inline_policies,
                attached_policies,
            } => {
                let holdings = revoke::Holdings {
                    groups,
                    inline_policies,
                    attached_policies,
                };
                revoke::revoke_all(iam, user, holdings).await?;
                check!(
                    "DeleteUser",
                    gone_ok(iam.delete_user().user_name(user).send().await)
                );
            }
            Change::DisableUser { user } => {
                revoke::disable(iam, user).await?;
                // Recorded last: a user tagged disabled has had its access
                // taken away.
                let tag = Tag::builder()
                    .key(DISABLED_TAG_KEY)
                    .value("true")
                    .build()
                    .map_err(|e| ApplyError {
                        operation: "TagUser".into(),
                        message: e.to_string(),
                    })?;
                check!(
                    "TagUser",
                    iam.tag_user().user_name(user).tags(tag).send().await
                );
            }
            Change::CreateGroup { group, path } => {
                check!(
                    "CreateGroup",
                    iam.create_group().group_name(group).path(path).send().await
                );
            }
            Change::PutGroupPolicy {
                group,
                policy_name,
                after,
                ..
            } => {
                let document = after.to_string();
                check!(
                    "PutGroupPolicy",
                    settle(|| iam
                        .put_group_policy()
                        .group_name(group)
                        .policy_name(policy_name)
                        .policy_document(&document)
                        .send())
                    .await
                );
            }
            Change::DeleteGroupPolicy {
                group, policy_name, ..
            } => {
                check!(
                    "DeleteGroupPolicy",
                    gone_ok(
                        iam.delete_group_policy()
                            .group_name(group)
                            .policy_name(policy_name)
                            .send()
                            .await
                    )
                );
            }
            Change::PutManagedPolicy {
                group,
                policy_name,
                path,
                arn,
                after,
                ..
            } => {
                let document = after.to_string();
                // Create it; when it exists (an earlier apply was cut off, or
                // it is an update), make the new document its default
                // version, dropping old versions first (IAM keeps five).
                let created = iam
                    .create_policy()
                    .policy_name(policy_name)
                    .path(path)
                    .policy_document(&document)
                    .send()
                    .await;
                match created {
                    Ok(_) => {}
                    Err(e) if e.code() == Some("EntityAlreadyExists") => {
                        set_policy_document(iam, arn, &document).await?;
                    }
                    Err(e) => return Err(ApplyError::call("CreatePolicy", &e)),
                }
                check!(
                    "AttachGroupPolicy",
                    settle(|| iam
                        .attach_group_policy()
                        .group_name(group)
                        .policy_arn(arn)
                        .send())
                    .await
                );
            }
            Change::DeleteManagedPolicy { group, arn, .. } => {
                delete_own_policy(iam, group, arn).await?;
            }
            Change::NarrowGrant {
                group,
                policy_name,
                arn,
                after,
                ..
            } => match (arn, after) {
                (None, Some(after)) => {
                    let document = after.to_string();
                    check!(
                        "PutGroupPolicy",
                        iam.put_group_policy()
                            .group_name(group)
                            .policy_name(policy_name)
                            .policy_document(&document)
                            .send()
                            .await
                    );
                }
                (None, None) => {
                    check!(
                        "DeleteGroupPolicy",
                        gone_ok(
                            iam.delete_group_policy()
                                .group_name(group)
                                .policy_name(policy_name)
                                .send()
                                .await
                        )
                    );
                }
                (Some(arn), Some(after)) => {
                    set_policy_document(iam, arn, &after.to_string()).await?
                }
                (Some(arn), None) => delete_own_policy(iam, group, arn).await?,
            },
            Change::DeleteUserPolicy {
                user, policy_name, ..
            } => {
                check!(
                    "DeleteUserPolicy",
                    gone_ok(
                        iam.delete_user_policy()
                            .user_name(user)
                            .policy_name(policy_name)
                            .send()
                            .await
                    )
                );
            }
            Change::DetachUserPolicy { user, policy_arn } => {
                check!(
                    "DetachUserPolicy",
                    gone_ok(
                        iam.detach_user_policy()
                            .user_name(user)
                            .policy_arn(policy_arn)
                            .send()
                            .await
                    )
                );
            }
            Change::DetachGroupPolicy { group, policy_arn } => {
                check!(
                    "DetachGroupPolicy",
                    gone_ok(
                        iam.detach_group_policy()
                            .group_name(group)
                            .policy_arn(policy_arn)
                            .send()
                            .await
                    )
                );
            }
            Change::DeleteGroup {
                group,
                members,
                inline_policies,
                attached_policies,
            } => {
                for user in members {
                    check!(
                        "RemoveUserFromGroup",
                        gone_ok(
                            iam.remove_user_from_group()
                                .group_name(group)
                                .user_name(user)
                                .send()
                                .await
                        )
                    );
                }
                for name in inline_policies {
                    check!(
                        "DeleteGroupPolicy",
                        gone_ok(
                            iam.delete_group_policy()
                                .group_name(group)
                                .policy_name(name)
                                .send()
                                .await
                        )
                    );
                }
                for arn in attached_policies {
                    check!(
                        "DetachGroupPolicy",
                        gone_ok(
                            iam.detach_group_policy()
                                .group_name(group)
                                .policy_arn(arn)
                                .send()
                                .await
                        )
                    );
                }
                check!(
                    "DeleteGroup",
                    gone_ok(iam.delete_group().group_name(group).send().await)
                );
            }
            Change::AddMember { group, user } => {
                check!(
                    "AddUserToGroup",
                    settle(|| iam
                        .add_user_to_group()
                        .group_name(group)
                        .user_name(user)
                        .send())
                    .await
                );
            }
            Change::RemoveMember { group, user } => {
                check!(
                    "RemoveUserFromGroup",
                    gone_ok(
                        iam.remove_user_from_group()
                            .group_name(group)
                            .user_name(user)
                            .send()
                            .await
                    )
                );
            }
            Change::CreateAccessKey { user, orphans } => {
                // An orphan whose secret is already in the credentials file
                // was delivered by an apply cut off before it recorded the
                // key: adopt it rather than replace it, so that a kill after
                // the file was written never costs a second key.
                let adopted = keys
                    .delivered_key_id(user)
                    .filter(|id| orphans.contains(id));
                for key in orphans.iter().filter(|k| Some(*k) != adopted.as_ref()) {
                    delete_access_key(iam, user, key).await?;
                }
                let id = match adopted {
                    Some(id) => id,
                    None => create_and_deliver_key(self, user, keys).await?,
                };
                // Recorded last: a key on record has had its secret
                // delivered. A secret held for printing is not delivered
                // yet; `record_key` runs once it has been printed.
                if !keys.holds_secrets() {
                    record_key(self, user, &id).await?;
                }
            }
            Change::SetUserBoundary { user, after, .. } => {
                check!(
                    "PutUserPermissionsBoundary",
                    settle(|| iam
                        .put_user_permissions_boundary()
                        .user_name(user)
                        .permissions_boundary(after)
                        .send())
                    .await
                );
            }
            Change::RemoveUserBoundary { user, .. } => {
                check!(
                    "DeleteUserPermissionsBoundary",
                    iam.delete_user_permissions_boundary()
                        .user_name(user)
                        .send()
                        .await
                );
            }
        }
        Ok(())
    }
}

/// Records `id` as `user`'s delivered key (the `provision:access-key` tag).
/// Call it only once the secret has reached its owner: a recorded key is
/// never replaced.
pub async fn record_key(aws: &Aws, user: &str, id: &str) -> Result<(), ApplyError> {
    let tag = Tag::builder()
        .key(ACCESS_KEY_TAG_KEY)
        .value(id)
        .build()
        .map_err(|e| ApplyError {
            operation: "TagUser".into(),
            message: e.to_string(),
        })?;
    check!(
        "TagUser",
        aws.iam.tag_user().user_name(user).tags(tag).send().await
    );
    Ok(())
}

/// Deactivates, then deletes, key `id` of `user`: for a key whose secret
/// could not be delivered, which nobody must be able to use.
pub async fn discard_key(aws: &Aws, user: &str, id: &str) -> Result<(), ApplyError> {
    delete_access_key(&aws.iam, user, id).await
}

/// Creates `user`'s access key and delivers its secret; returns the key id.
async fn create_and_deliver_key(
    aws: &Aws,
    user: &str,
    keys: &KeySink,
) -> Result<String, ApplyError> {
    let iam = &aws.iam;
    // Counts this call's attempts: when the SDK had to retry, an earlier
    // attempt may have created a key whose answer (and secret) was lost.
    let attempts = aws::CallCounter::default();
    let create = || {
        settle(|| {
            iam.create_access_key()
                .user_name(user)
                .customize()
                .interceptor(attempts.clone())
                .send()
        })
    };
    let out = match create().await {
        // IAM allows two keys per user. Any key found here was created by
        // this very call (orphans were deleted first), on attempts whose
        // answers, and so secrets, were lost: remove them and try again.
        Err(e) if e.code() == Some("LimitExceeded") => {
            delete_keys_except(iam, user, None).await?;
            create().await
        }
        other => other,
    };
    let out = check!("CreateAccessKey", out);
    let Some(created) = out.access_key() else {
        return Err(ApplyError {
            operation: "CreateAccessKey".into(),
            message: "the response held no access key".into(),
        });
    };
    let key = AccessKey {
        user: user.to_owned(),
        access_key_id: created.access_key_id().to_owned(),
        secret_access_key: Secret::new(created.secret_access_key()),
        create_date: created.create_date().map(|d| d.to_string()),
    };
    let id = key.access_key_id.clone();
    if let Err(err) = keys.deliver(key) {
        // The secret could not be stored: remove the key rather than leave
        // one nobody holds, and say why. Should the removal fail too, the
        // key is not recorded, so the next apply deletes it before it
        // creates another.
        let removed = match delete_access_key(iam, user, &id).await {
            Ok(()) => "the key was deleted again".to_owned(),
            Err(e) => format!(
                "the key `{id}` could not be deleted ({e}); it is not recorded, so the next apply deletes it"
            ),
        };
        return Err(ApplyError {
            operation: "deliver the secret".into(),
            message: format!("{err}; {removed}"),
        });
    }
    if attempts.total() > 1 {
        // Before the key is recorded, so that if this is cut off the next
        // apply still lists the user's keys and finds any stray.
        delete_keys_except(iam, user, Some(&id)).await?;
    }
    Ok(id)
}

/// Deletes every access key of `user` but `keep`.
async fn delete_keys_except(
    iam: &aws_sdk_iam::Client,
    user: &str,
    keep: Option<&str>,
) -> Result<(), ApplyError> {
    let all = keys::list_access_keys(iam, user)
        .await
        .map_err(|e| ApplyError {
            operation: "ListAccessKeys".into(),
            message: e.to_string(),
        })?;
    for stray in all.iter().filter(|k| Some(k.as_str()) != keep) {
        delete_access_key(iam, user, stray).await?;
    }
    Ok(())
}

/// Make `document` the default version of provision's managed policy
/// `arn`, dropping old versions first (IAM keeps five).
async fn set_policy_document(
    iam: &aws_sdk_iam::Client,
    arn: &str,
    document: &str,
) -> Result<(), ApplyError> {
    delete_old_versions(iam, arn).await?;
    check!(
        "CreatePolicyVersion",
        iam.create_policy_version()
            .policy_arn(arn)
            .policy_document(document)
            .set_as_default(true)
            .send()
            .await
    );
    Ok(())
}

/// Detach provision's managed policy `arn` from `group` and delete it; a
/// policy already gone counts as done.
async fn delete_own_policy(
    iam: &aws_sdk_iam::Client,
    group: &str,
    arn: &str,
) -> Result<(), ApplyError> {
    check!(
        "DetachGroupPolicy",
        gone_ok(
            iam.detach_group_policy()
                .group_name(group)
                .policy_arn(arn)
                .send()
                .await
        )
    );
    delete_old_versions(iam, arn).await?;
    check!(
        "DeletePolicy",
        gone_ok(iam.delete_policy().policy_arn(arn).send().await)
    );
    Ok(())
}

/// Delete every version of managed policy `arn` but the default one: IAM
/// keeps at most five versions, and refuses to delete a policy that has
/// others. A policy already gone counts as done.
async fn delete_old_versions(iam: &aws_sdk_iam::Client, arn: &str) -> Result<(), ApplyError> {
    let versions = match iam.list_policy_versions().policy_arn(arn).send().await {
        Ok(v) => v,
        Err(e) if is_no_such_entity(&e) => return Ok(()),
        Err(e) => return Err(ApplyError::call("ListPolicyVersions", &e)),
    };
    for v in versions.versions() {
        if let (false, Some(id)) = (v.is_default_version(), v.version_id()) {
            check!(
                "DeletePolicyVersion",
                gone_ok(
                    iam.delete_policy_version()
                        .policy_arn(arn)
                        .version_id(id)
                        .send()
                        .await
                )
            );
        }
    }
    Ok(())
}

/// Deactivate, then delete, one access key. Deactivating first means a key
/// whose deletion fails is at least no longer usable.
async fn delete_access_key(
    iam: &aws_sdk_iam::Client,
    user: &str,
    key: &str,
) -> Result<(), ApplyError> {
    check!(
        "UpdateAccessKey",
        gone_ok(
            iam.update_access_key()
                .user_name(user)
                .access_key_id(key)
                .status(StatusType::Inactive)
                .send()
                .await
        )
    );
    check!(
        "DeleteAccessKey",
        gone_ok(
            iam.delete_access_key()
                .user_name(user)
                .access_key_id(key)
                .send()
                .await
        )
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::sync::Mutex;

    /// Records the order of changes and fails the ones named.
    struct Recorder {
        seen: Mutex<Vec<String>>,
        fail: Vec<String>,
    }

    impl Backend for Recorder {
        async fn execute(&self, change: &Change, _keys: &KeySink) -> Result<(), ApplyError> {
            lock(&self.seen).push(format!("{}:{}", change.phase(), change.name()));
            if self.fail.contains(&change.name()) {
                return Err(ApplyError {
                    operation: "Test".into(),
                    message: "refused".into(),
                });
            }
            Ok(())
        }
    }

    fn sample_plan() -> Plan {
        Plan {
            changes: vec![
                Change::CreateGroup {
                    group: "client-a".into(),
                    path: "/p/".into(),
                },
                Change::CreateUser {
                    user: "alice".into(),
                    path: "/p/".into(),
                    tags: Default::default(),
                    boundary: None,
                },
                Change::AddMember {
                    group: "client-a".into(),
                    user: "alice".into(),
                },
                Change::PutGroupPolicy {
                    group: "client-a".into(),
                    policy_name: "provision-s3".into(),
                    before: None,
                    after: serde_json::json!({"Version": "2012-10-17", "Statement": []}),
                },
            ],
            ..Plan::default()
        }
    }

    #[tokio::test]
    async fn phases_run_in_order() {
        let backend = Recorder {
            seen: Mutex::new(vec![]),
            fail: vec![],
        };
        let report = execute(&backend, &sample_plan(), 8, &KeySink::new(None), |_| {}).await;
        assert!(report.succeeded());
        let seen = lock(&backend.seen).clone();
        let phases: Vec<char> = seen.iter().map(|s| s.chars().next().unwrap()).collect();
        let mut sorted = phases.clone();
        sorted.sort();
        assert_eq!(phases, sorted, "changes ran out of phase order: {seen:?}");
        assert_eq!(report.done.len(), 4);
    }

    #[tokio::test]
    async fn failure_stops_later_phases_and_reports_them() {
        let backend = Recorder {
            seen: Mutex::new(vec![]),
            fail: vec!["alice".into()],
        };
        let report = execute(&backend, &sample_plan(), 8, &KeySink::new(None), |_| {}).await;
        assert!(!report.succeeded());
        // The other change of the failing phase still ran.
        assert_eq!(report.done.len(), 1);
        assert_eq!(report.done[0].name(), "client-a");
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].0.name(), "alice");
        let skipped: Vec<String> = report.skipped.iter().map(Change::name).collect();
        assert_eq!(skipped, vec!["client-a/provision-s3", "client-a/alice"]);
        assert!(
            !lock(&backend.seen)
                .iter()
                .any(|s| s.ends_with("provision-s3"))
        );
    }

    /// Revoking access depends on nothing, so it runs in the first phase: a
    /// create that fails never leaves a departed developer's access behind.
    #[tokio::test]
    async fn a_failed_create_does_not_block_revocations() {
        let backend = Recorder {
            seen: Mutex::new(vec![]),
            fail: vec!["carol".into()],
        };
        let plan = Plan {
            changes: vec![
                Change::CreateUser {
                    user: "carol".into(),
                    path: "/p/".into(),
                    tags: Default::default(),
                    boundary: None,
                },
                Change::DeleteUser {
                    user: "mallory".into(),
                    groups: vec!["client-a".into()],
                    inline_policies: vec![],
                    attached_policies: vec![],
                },
                Change::RemoveMember {
                    group: "client-a".into(),
                    user: "bob".into(),
                },
                Change::DisableUser {
                    user: "dave".into(),
                },
            ],
            ..Plan::default()
        };
        let report = execute(&backend, &plan, 8, &KeySink::new(None), |_| {}).await;
        let done: Vec<String> = report.done.iter().map(Change::name).collect();
        assert_eq!(report.failed.len(), 1);
        assert_eq!(done.len(), 3, "{done:?}");
        assert!(report.skipped.is_empty());
    }

    fn dir_sink(dir: &std::path::Path) -> KeySink {
        KeySink::new(Some(Target::Dir(
            safe_write::Dir::open_private(dir).unwrap(),
        )))
    }

    fn sample_key() -> AccessKey {
        AccessKey {
            user: "acme-app".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: Secret::new("s3cr3t-planted-test"),
            create_date: None,
        }
    }

    #[test]
    fn secret_debug_is_redacted() {
        let key = AccessKey {
            user: "acme-app".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG"),
            create_date: None,
        };
        let shown = format!("{key:?}");
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(shown.contains("AKIAEXAMPLE"));
    }

    #[test]
    fn the_delivered_key_id_is_read_back_from_the_credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let sink = dir_sink(dir.path());
        assert_eq!(sink.delivered_key_id("acme-app"), None);
        sink.deliver(AccessKey {
            user: "acme-app".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: Secret::new("s3cr3t"),
            create_date: None,
        })
        .unwrap();
        assert_eq!(
            sink.delivered_key_id("acme-app").as_deref(),
            Some("AKIAEXAMPLE")
        );
        assert_eq!(sink.delivered_key_id("globex-app"), None);
        // Without a directory nothing is delivered before the end.
        let held = KeySink::new(None);
        assert!(held.holds_secrets());
        assert_eq!(held.delivered_key_id("acme-app"), None);
    }

    #[test]
    fn key_file_is_private_and_has_the_cli_shape() {
        let dir = tempfile::tempdir().unwrap();
        let sink = dir_sink(&dir.path().join("creds"));
        sink.deliver(AccessKey {
            user: "acme-app".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: Secret::new("s3cr3t"),
            create_date: Some("2026-01-01T00:00:00Z".into()),
        })
        .unwrap();
        let path = dir.path().join("creds/acme-app.json");
        let body: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(body["UserName"], "acme-app");
        assert_eq!(body["AccessKeyId"], "AKIAEXAMPLE");
        assert_eq!(body["SecretAccessKey"], "s3cr3t");
        assert_eq!(body["Status"], "Active");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(sink.take_held().is_empty());
    }

    /// The name earlier versions used for the temporary file, which an
    /// attacker could prepare in advance.
    #[cfg(unix)]
    const OLD_TEMP_NAME: &str = ".acme-app.json.tmp";

    #[cfg(unix)]
    #[test]
    fn a_symlink_planted_at_a_temporary_name_never_receives_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let loot = outside.path().join("loot");
        std::fs::write(&loot, "").unwrap();
        std::os::unix::fs::symlink(&loot, dir.path().join(OLD_TEMP_NAME)).unwrap();
        dir_sink(dir.path()).deliver(sample_key()).unwrap();
        assert_eq!(std::fs::read_to_string(&loot).unwrap(), "");
        let written = std::fs::read_to_string(dir.path().join("acme-app.json")).unwrap();
        assert!(written.contains("s3cr3t-planted-test"));
    }

    #[cfg(unix)]
    #[test]
    fn a_leftover_readable_temporary_file_never_makes_the_credentials_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let leftover = dir.path().join(OLD_TEMP_NAME);
        std::fs::write(&leftover, "old").unwrap();
        std::fs::set_permissions(&leftover, std::fs::Permissions::from_mode(0o644)).unwrap();
        dir_sink(dir.path()).deliver(sample_key()).unwrap();
        let mode = std::fs::metadata(dir.path().join("acme-app.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // No temporary file of this write is left behind.
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".provision-tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_credentials_file_is_replaced_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let loot = outside.path().join("loot");
        std::fs::write(&loot, "").unwrap();
        let link = dir.path().join("acme-app.json");
        std::os::unix::fs::symlink(&loot, &link).unwrap();
        let sink = dir_sink(dir.path());
        // A planted file is not taken for a delivered key either.
        assert_eq!(sink.delivered_key_id("acme-app"), None);
        sink.deliver(sample_key()).unwrap();
        assert_eq!(std::fs::read_to_string(&loot).unwrap(), "");
        assert!(
            !std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_credentials_dir_others_can_write_to_or_reach_through_a_link_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        let shared = base.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        for mode in [0o770, 0o777, 0o1777] {
            std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = safe_write::Dir::open_private(&shared).unwrap_err();
            assert!(
                matches!(err, safe_write::WriteError::Writable { .. }),
                "{err}"
            );
        }
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&shared, &link).unwrap();
        let err = safe_write::Dir::open_private(&link).unwrap_err();
        assert!(
            matches!(err, safe_write::WriteError::SymlinkDir { .. }),
            "{err}"
        );
        // A missing directory is created, closed to others.
        let fresh = base.path().join("a/b/creds");
        safe_write::Dir::open_private(&fresh).unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
    }

    /// Needs root to give the directory away; elsewhere the pure check is
    /// covered in `safe_write`.
    #[cfg(unix)]
    #[test]
    fn a_credentials_dir_owned_by_another_user_is_refused() {
        if rustix::process::geteuid().as_raw() != 0 {
            return;
        }
        let base = tempfile::tempdir().unwrap();
        let theirs = base.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let err = safe_write::Dir::open_private(&theirs).unwrap_err();
        assert!(matches!(err, safe_write::WriteError::Owner { .. }), "{err}");
    }
}
