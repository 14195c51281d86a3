//! New access keys and their secrets: where a secret goes the moment it
//! exists ([`KeySink`]), the key files of `--credentials-dir`, and the
//! writes that create, record and delete keys.
//!
//! An application user's key is recorded on the user (the
//! `provision:access-key` tag) only once its secret was delivered, so a key
//! on record is never one nobody holds.

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;

use aws_sdk_iam::types::{StatusType, Tag};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;

use super::store::{Store, StoreError};
use super::{ApplyError, gone_ok, settle};
use crate::aws::{self, Aws};
use crate::model::ACCESS_KEY_TAG_KEY;
use crate::observe::keys;
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
    /// `--deliver` or the `deliver` setting: one parameter or secret per
    /// user in SSM Parameter Store or Secrets Manager (see [`Store`]).
    Store(Store),
}

/// Why a secret could not be delivered. Never holds the secret.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("could not write the credentials file ({0})")]
    File(#[from] safe_write::WriteError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where new secrets go: each is delivered at once to the [`Target`] when
/// there is one, else held to be printed once at the end.
#[derive(Debug, Default)]
pub struct KeySink {
    target: Option<Target>,
    held: Mutex<Vec<AccessKey>>,
    written: Mutex<Vec<PathBuf>>,
    /// Parameter or secret names stored so far.
    stored: Mutex<Vec<String>>,
}

impl KeySink {
    pub fn new(target: Option<Target>) -> Self {
        KeySink {
            target,
            ..KeySink::default()
        }
    }

    /// Deliver one key. With a target, the secret is stored (a file is
    /// complete on disk and synced, a store acknowledged the write) before
    /// this returns, so the key can be recorded as delivered.
    ///
    /// The file is written on a blocking thread: the task that runs the
    /// apply must stay free to notice Ctrl-C and SIGTERM (and release the
    /// apply lock) whatever the file system does.
    pub async fn deliver(&self, key: AccessKey) -> Result<(), DeliverError> {
        match &self.target {
            Some(Target::Dir(dir)) => {
                let dir = dir.clone();
                let name = dir.path().join(key_file_name(&key.user));
                let written = tokio::task::spawn_blocking(move || write_key_file(&dir, &key))
                    .await
                    .unwrap_or_else(|e| {
                        Err(safe_write::WriteError::Io {
                            action: "write",
                            path: name,
                            source: std::io::Error::other(e),
                        })
                    })?;
                lock(&self.written).push(written);
            }
            Some(Target::Store(store)) => {
                let name = store.put(&key).await?;
                lock(&self.stored).push(name);
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
    /// directory was given and that file (a regular file, not a link, a
    /// FIFO or a directory) holds one. Read on a blocking thread, as
    /// [`KeySink::deliver`] writes.
    ///
    /// A secret store is not read back: that would take read and decrypt
    /// permissions on every stored secret. A key stored by an apply cut off
    /// before it recorded the key is replaced instead, and its entry
    /// overwritten.
    pub async fn delivered_key_id(&self, user: &str) -> Option<String> {
        let Some(Target::Dir(dir)) = &self.target else {
            return None;
        };
        let dir = dir.clone();
        let name = key_file_name(user);
        let bytes = tokio::task::spawn_blocking(move || dir.read(&name))
            .await
            .ok()?
            .ok()?;
        let file: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        file.get("AccessKeyId")?.as_str().map(str::to_owned)
    }

    /// Files written so far.
    pub fn written(&self) -> Vec<PathBuf> {
        lock(&self.written).clone()
    }

    /// Parameter or secret names stored so far, and the store's spec.
    pub fn stored(&self) -> Option<(String, Vec<String>)> {
        match &self.target {
            Some(Target::Store(store)) => Some((store.spec(), lock(&self.stored).clone())),
            _ => None,
        }
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a Vec half-written, so a
    // poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn key_file_name(user: &str) -> String {
    format!("{user}.json")
}

/// The JSON object a credentials file or a secret store holds for `key`.
pub(super) fn key_json(key: &AccessKey) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&AccessKeyFile {
        user_name: &key.user,
        access_key_id: &key.access_key_id,
        status: "Active",
        secret_access_key: key.secret_access_key.expose(),
        create_date: key.create_date.as_deref(),
    })
}

/// Writes `key` to `DIR/<user>.json` with mode 0600, atomically and
/// durably, through a temporary file nobody else can have planted (see
/// [`safe_write`]).
fn write_key_file(
    dir: &safe_write::Dir,
    key: &AccessKey,
) -> Result<PathBuf, safe_write::WriteError> {
    let name = key_file_name(&key.user);
    let mut body = key_json(key).map_err(|e| safe_write::WriteError::Io {
        action: "write",
        path: dir.path().join(&name),
        source: std::io::Error::other(e),
    })?;
    body.push('\n');
    dir.write(&name, body.as_bytes(), safe_write::PRIVATE_FILE_MODE, None)?;
    Ok(dir.path().join(name))
}

/// Gives `user` its one access key ([`Change::CreateAccessKey`]): deletes
/// the `orphans` (keys with no record that their secret was delivered),
/// creates the key and delivers its secret, then records it.
///
/// [`Change::CreateAccessKey`]: crate::plan::Change::CreateAccessKey
pub(super) async fn create_access_key(
    aws: &Aws,
    user: &str,
    orphans: &[String],
    keys: &KeySink,
) -> Result<(), ApplyError> {
    let iam = &aws.iam;
    // An orphan whose secret is already in the credentials file was
    // delivered by an apply cut off before it recorded the key: adopt it
    // rather than replace it, so that a kill after the file was written
    // never costs a second key. The file is read only when there is an
    // orphan to adopt: whatever sits at that name otherwise is replaced by
    // the new file, never read.
    let adopted = if orphans.is_empty() {
        None
    } else {
        keys.delivered_key_id(user)
            .await
            .filter(|id| orphans.contains(id))
    };
    for key in orphans.iter().filter(|k| Some(*k) != adopted.as_ref()) {
        delete_access_key(iam, user, key).await?;
    }
    let id = match adopted {
        Some(id) => id,
        None => create_and_deliver_key(aws, user, keys).await?,
    };
    // Recorded last: a key on record has had its secret delivered. A secret
    // held for printing is not delivered yet; `record_key` runs once it has
    // been printed.
    if !keys.holds_secrets() {
        record_key(aws, user, &id).await?;
    }
    Ok(())
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
    if let Err(err) = keys.deliver(key).await {
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

/// Deactivate, then delete, one access key. Deactivating first means a key
/// whose deletion fails is at least no longer usable.
pub(super) async fn delete_access_key(
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
    use std::fs;

    use super::*;

    fn dir_sink(dir: &std::path::Path) -> KeySink {
        KeySink::new(Some(Target::Dir(
            safe_write::Dir::open_private(dir).unwrap(),
        )))
    }

    /// Runs `future` to completion on a runtime of its own.
    fn block<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
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
        assert_eq!(block(sink.delivered_key_id("acme-app")), None);
        block(sink.deliver(AccessKey {
            user: "acme-app".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: Secret::new("s3cr3t"),
            create_date: None,
        }))
        .unwrap();
        assert_eq!(
            block(sink.delivered_key_id("acme-app")).as_deref(),
            Some("AKIAEXAMPLE")
        );
        assert_eq!(block(sink.delivered_key_id("globex-app")), None);
        // Without a directory nothing is delivered before the end.
        let held = KeySink::new(None);
        assert!(held.holds_secrets());
        assert_eq!(block(held.delivered_key_id("acme-app")), None);
    }

    #[test]
    fn key_file_is_private_and_has_the_cli_shape() {
        let dir = tempfile::tempdir().unwrap();
        let sink = dir_sink(&dir.path().join("creds"));
        block(sink.deliver(AccessKey {
            user: "acme-app".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: Secret::new("s3cr3t"),
            create_date: Some("2026-01-01T00:00:00Z".into()),
        }))
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
        block(dir_sink(dir.path()).deliver(sample_key())).unwrap();
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
        block(dir_sink(dir.path()).deliver(sample_key())).unwrap();
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

    /// A FIFO at the credentials file is neither waited on (no writer
    /// ever comes) nor taken for a delivered key, and the delivery
    /// replaces it.
    #[cfg(unix)]
    #[test]
    fn a_fifo_at_the_credentials_file_is_not_read_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("acme-app.json");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let sink = dir_sink(dir.path());
        assert_eq!(block(sink.delivered_key_id("acme-app")), None);
        block(sink.deliver(sample_key())).unwrap();
        assert!(std::fs::symlink_metadata(&fifo).unwrap().is_file());
        assert_eq!(
            block(sink.delivered_key_id("acme-app")).as_deref(),
            Some("AKIAEXAMPLE")
        );
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
        assert_eq!(block(sink.delivered_key_id("acme-app")), None);
        block(sink.deliver(sample_key())).unwrap();
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
