//! Key rotation's writes and its one decision: a second key created for
//! the overlap, and, to finish, which key is kept.
//!
//! A rotation is two commands because the new key has to reach whoever uses
//! the old one before the old one stops working. IAM allows two keys per
//! user, so a user who already has two is refused: the previous rotation is
//! unfinished, or one key is unused.

use aws_sdk_iam::types::{AccessKeyMetadata, Tag};
use thiserror::Error;

use super::keys::{AccessKey, Secret, discard_key, record_key};
use crate::aws::{self, Aws};
use crate::model::ACCESS_KEY_TAG_KEY;

/// Why the new key could not be created.
#[derive(Debug, Error)]
pub enum RotateError {
    #[error("could not create a key (iam:CreateAccessKey): {0}")]
    Create(String),
    #[error("could not create a key: the answer held no access key")]
    NoKey,
    #[error(
        "the new key `{id}` was created and delivered, but recording it failed (iam:TagUser): {message}; run `aws iam tag-user --user-name {user} --tags Key={tag},Value={id}`",
        tag = ACCESS_KEY_TAG_KEY
    )]
    Record {
        user: String,
        id: String,
        message: String,
    },
    #[error("could not deactivate `{id}` (iam:UpdateAccessKey): {message}")]
    Deactivate { id: String, message: String },
    #[error(
        "`{id}` is deactivated but could not be deleted (iam:DeleteAccessKey): {message}; run the command again"
    )]
    Delete { id: String, message: String },
}

/// Records `id` as the key of `user` (an application user), so that
/// `--finish` and later plans keep it.
pub async fn record_new_key(aws: &Aws, user: &str, id: &str) -> Result<(), RotateError> {
    record_key(aws, user, id)
        .await
        .map_err(|e| RotateError::Record {
            user: user.to_owned(),
            id: id.to_owned(),
            message: e.message,
        })
}

/// Deactivates, then deletes, the older key `id` of `user`; a key already
/// gone counts as done.
pub async fn retire_key(aws: &Aws, user: &str, id: &str) -> Result<(), RotateError> {
    discard_key(aws, user, id).await.map_err(|e| {
        let id = id.to_owned();
        match e.operation.as_str() {
            "UpdateAccessKey" => RotateError::Deactivate {
                id,
                message: e.message,
            },
            _ => RotateError::Delete {
                id,
                message: e.message,
            },
        }
    })
}

/// Creates a new access key for `user`, with its secret.
pub async fn create_key(aws: &Aws, user: &str) -> Result<AccessKey, RotateError> {
    let out = aws
        .iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .map_err(|e| RotateError::Create(aws::describe(&e)))?;
    let created = out.access_key().ok_or(RotateError::NoKey)?;
    Ok(AccessKey {
        user: user.to_owned(),
        access_key_id: created.access_key_id().to_owned(),
        secret_access_key: Secret::new(created.secret_access_key()),
        create_date: created.create_date().map(|d| d.to_string()),
    })
}

/// The key to keep: the one on record (application users), else the newest.
pub fn keep_key(tags: &[Tag], keys: &[AccessKeyMetadata]) -> Option<String> {
    let recorded = tags
        .iter()
        .find(|t| t.key() == ACCESS_KEY_TAG_KEY)
        .map(|t| t.value().to_owned());
    if let Some(id) = recorded
        && keys.iter().any(|k| k.access_key_id() == Some(id.as_str()))
    {
        return Some(id);
    }
    keys.iter()
        .max_by_key(|k| k.create_date().map(|d| (d.secs(), d.subsec_nanos())))
        .and_then(|k| k.access_key_id().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::DateTime;

    use super::*;

    fn key(id: &str, created: i64) -> AccessKeyMetadata {
        AccessKeyMetadata::builder()
            .access_key_id(id)
            .create_date(DateTime::from_secs(created))
            .build()
    }

    fn record(id: &str) -> Tag {
        Tag::builder()
            .key(ACCESS_KEY_TAG_KEY)
            .value(id)
            .build()
            .unwrap()
    }

    #[test]
    fn the_key_on_record_is_kept_even_when_older() {
        let keys = [key("AKIAOLD", 100), key("AKIANEW", 200)];
        assert_eq!(
            keep_key(&[record("AKIAOLD")], &keys).as_deref(),
            Some("AKIAOLD")
        );
    }

    #[test]
    fn without_a_usable_record_the_newest_key_is_kept() {
        let keys = [key("AKIANEW", 200), key("AKIAOLD", 100)];
        assert_eq!(keep_key(&[], &keys).as_deref(), Some("AKIANEW"));
        // A record naming a key that is gone does not protect the old one.
        assert_eq!(
            keep_key(&[record("AKIAGONE")], &keys).as_deref(),
            Some("AKIANEW")
        );
    }
}
