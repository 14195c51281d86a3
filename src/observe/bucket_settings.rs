//! What plan reads of the managed buckets (`manage_buckets`): whether each
//! exists and is the account's own, and the settings provision keeps on it.
//!
//! S3 has no bulk read like IAM's `GetAccountAuthorizationDetails`, so each
//! bucket costs its own calls: Block Public Access, Object Ownership,
//! default encryption and tags, plus versioning when `bucket_versioning` is
//! set. They run at once for one bucket, and several buckets at once. Every
//! call carries `ExpectedBucketOwner`: a bucket of that name in another
//! account answers `AccessDenied` and is never read, let alone written.
//! Nothing is read when no client's buckets are managed.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;

use super::ObserveError;
use crate::aws::{self, Aws};
use crate::model::{BucketEncryption, BucketSettings, BucketState};

/// How many buckets are read at once; each read is four or five calls.
const BUCKETS_AT_ONCE: usize = 8;

/// The error code of a bucket that does not exist.
const NO_SUCH_BUCKET: &str = "NoSuchBucket";

/// What one call found.
enum Part<T> {
    /// The setting's value (`None`: not configured).
    Read(Option<T>),
    /// The bucket does not exist.
    Missing,
    /// S3 refused: another account's bucket, or a read the credentials
    /// may not make.
    Refused(String),
}

/// The state of every bucket of `names`, read as account `account`, with
/// the versioning status only when `versioning` (the setting is used).
///
/// A call that fails otherwise (after the SDK's retries) fails the read: a
/// plan must not be made from settings it could not see.
pub async fn bucket_settings(
    aws: &Aws,
    account: &str,
    names: &BTreeSet<String>,
    versioning: bool,
) -> Result<BTreeMap<String, BucketState>, ObserveError> {
    let results: Vec<(String, Result<BucketState, ObserveError>)> =
        futures_util::stream::iter(names)
            .map(|name| async move {
                (
                    name.clone(),
                    one_bucket(&aws.s3, account, name, versioning).await,
                )
            })
            .buffer_unordered(BUCKETS_AT_ONCE)
            .collect()
            .await;
    let mut states = BTreeMap::new();
    for (name, state) in results {
        states.insert(name, state?);
    }
    Ok(states)
}

/// The region buckets are created in: the S3 client's.
pub fn bucket_region(aws: &Aws) -> String {
    aws.s3
        .config()
        .region()
        .map_or(crate::aws::DEFAULT_REGION, |r| r.as_ref())
        .to_owned()
}

/// The reads of one bucket, at once.
// Long because it is one block per setting read, each with its own
// request and answer shape; they are joined at the end.
async fn one_bucket(
    s3: &aws_sdk_s3::Client,
    account: &str,
    name: &str,
    versioning: bool,
) -> Result<BucketState, ObserveError> {
    let public_access_block = async {
        let out = s3
            .get_public_access_block()
            .bucket(name)
            .expected_bucket_owner(account)
            .send()
            .await;
        part(
            out,
            "NoSuchPublicAccessBlockConfiguration",
            "read the Block Public Access settings of a bucket (s3:GetBucketPublicAccessBlock)",
            |o| {
                o.public_access_block_configuration()
                    .map(super::buckets::public_access_block)
            },
        )
    };
    let ownership = async {
        let out = s3
            .get_bucket_ownership_controls()
            .bucket(name)
            .expected_bucket_owner(account)
            .send()
            .await;
        part(
            out,
            "OwnershipControlsNotFoundError",
            "read the Object Ownership of a bucket (s3:GetBucketOwnershipControls)",
            super::buckets::object_ownership,
        )
    };
    let encryption = async {
        let out = s3
            .get_bucket_encryption()
            .bucket(name)
            .expected_bucket_owner(account)
            .send()
            .await;
        part(
            out,
            // S3 encrypts every bucket with SSE-S3 by default; an older
            // answer, or an emulator's, says there is no configuration.
            "ServerSideEncryptionConfigurationNotFoundError",
            "read the default encryption of a bucket (s3:GetEncryptionConfiguration)",
            |o| {
                let rule = o
                    .server_side_encryption_configuration()?
                    .rules()
                    .first()?
                    .apply_server_side_encryption_by_default()?;
                Some(BucketEncryption {
                    algorithm: rule.sse_algorithm().as_str().to_owned(),
                    kms_key: rule.kms_master_key_id().map(str::to_owned),
                })
            },
        )
    };
    let tags = async {
        let out = s3
            .get_bucket_tagging()
            .bucket(name)
            .expected_bucket_owner(account)
            .send()
            .await;
        part(
            out,
            "NoSuchTagSet",
            "read the tags of a bucket (s3:GetBucketTagging)",
            |o| {
                Some(
                    o.tag_set()
                        .iter()
                        .map(|t| (t.key().to_owned(), t.value().to_owned()))
                        .collect::<BTreeMap<String, String>>(),
                )
            },
        )
    };
    let status = async {
        if !versioning {
            return Ok(Part::Read(None));
        }
        let out = s3
            .get_bucket_versioning()
            .bucket(name)
            .expected_bucket_owner(account)
            .send()
            .await;
        part(
            out,
            "",
            "read the versioning of a bucket (s3:GetBucketVersioning)",
            |o| o.status().map(|s| s.as_str().to_owned()),
        )
    };
    let (public_access_block, ownership, encryption, tags, status) =
        futures_util::join!(public_access_block, ownership, encryption, tags, status);
    let (public_access_block, ownership, encryption, tags, status) = (
        public_access_block?,
        ownership?,
        encryption?,
        tags?,
        status?,
    );
    // A refusal says the most: the name may belong to another account, and
    // then nothing else matters. A missing bucket answers the same to all.
    let refused = [
        refusal(&public_access_block),
        refusal(&ownership),
        refusal(&encryption),
        refusal(&tags),
        refusal(&status),
    ]
    .into_iter()
    .flatten()
    .next();
    if let Some(reason) = refused {
        return Ok(BucketState::NotOwned { reason });
    }
    if [
        missing(&public_access_block),
        missing(&ownership),
        missing(&encryption),
        missing(&tags),
        missing(&status),
    ]
    .contains(&true)
    {
        return Ok(BucketState::Missing);
    }
    Ok(BucketState::Owned(BucketSettings {
        public_access_block: value(public_access_block),
        object_ownership: value(ownership),
        encryption: value(encryption).unwrap_or_default(),
        versioning: value(status),
        tags: value(tags).unwrap_or_default(),
    }))
}

fn refusal<T>(part: &Part<T>) -> Option<String> {
    match part {
        Part::Refused(reason) => Some(reason.clone()),
        _ => None,
    }
}

fn missing<T>(part: &Part<T>) -> bool {
    matches!(part, Part::Missing)
}

fn value<T>(part: Part<T>) -> Option<T> {
    match part {
        Part::Read(value) => value,
        _ => None,
    }
}

/// One call's answer as a [`Part`]: `absent` is the error code S3 gives
/// when the setting is not configured. `AccessDenied` (or any 403, which
/// S3 sends without a body to some requests) is a refusal; any other error
/// fails the read, naming `operation`.
fn part<O, E, T>(
    out: Result<O, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    absent: &str,
    operation: &'static str,
    read: impl FnOnce(&O) -> Option<T>,
) -> Result<Part<T>, ObserveError>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match out {
        Ok(o) => Ok(Part::Read(read(&o))),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            match aws::error_code(&e) {
                Some(code) if !absent.is_empty() && code == absent => Ok(Part::Read(None)),
                Some(NO_SUCH_BUCKET) => Ok(Part::Missing),
                Some("AccessDenied") => Ok(Part::Refused(aws::describe(&e))),
                _ if status == Some(403) => Ok(Part::Refused("AccessDenied".to_owned())),
                _ => Err(ObserveError::Call {
                    operation,
                    message: aws::describe(&e),
                }),
            }
        }
    }
}
