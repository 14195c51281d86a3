//! The account's buckets: for `import`, to resolve a hand-made policy's
//! wildcard (`arn:aws:s3:::acme*`); for `verify`, what each client bucket
//! says about itself (policy, ACL, Block Public Access, Object Ownership).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;

use super::ObserveError;
use crate::aws::{self, Aws};
use crate::model::{AclGrant, ObservedBucket, PublicAccessBlock};

/// Every bucket the account owns, by name (`s3:ListAllMyBuckets`).
///
/// Paginated by continuation token; a page without one is the last.
pub async fn list_buckets(aws: &Aws) -> Result<BTreeSet<String>, ObserveError> {
    let mut names = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .s3
            .list_buckets()
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| ObserveError::Call {
                operation: "list the account's buckets (s3:ListAllMyBuckets)",
                message: aws::describe(&e),
            })?;
        names.extend(
            out.buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_owned)),
        );
        match out.continuation_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(names),
        }
    }
}

/// How many buckets `verify` reads at once; each read is four calls.
const BUCKET_READS_AT_ONCE: usize = 8;

/// What the buckets `names` say about themselves, for `verify`: policy,
/// ACL, Block Public Access and Object Ownership, four calls per bucket,
/// every call with `ExpectedBucketOwner` = `account`, so a bucket of that
/// name in another account is never read (AWS answers `AccessDenied`, and
/// the part is unreadable). Buckets are read concurrently.
pub async fn bucket_facts(
    aws: &Aws,
    account: &str,
    names: &BTreeSet<String>,
) -> BTreeMap<String, ObservedBucket> {
    futures_util::stream::iter(names)
        .map(|name| async move { (name.clone(), one_bucket(&aws.s3, account, name).await) })
        .buffer_unordered(BUCKET_READS_AT_ONCE)
        .collect()
        .await
}

/// The four reads of one bucket, at once.
async fn one_bucket(s3: &aws_sdk_s3::Client, account: &str, name: &str) -> ObservedBucket {
    let policy = async {
        let out = s3
            .get_bucket_policy()
            .bucket(name)
            .expected_bucket_owner(account)
            .send()
            .await;
        absent_as_none(out, "NoSuchBucketPolicy", |o| o.policy().map(str::to_owned))
    };
    let acl = async {
        let out = s3
            .get_bucket_acl()
            .bucket(name)
            .expected_bucket_owner(account)
            .send()
            .await;
        absent_as_none(out, "", |o| {
            let owner = o.owner().and_then(|w| w.id()).unwrap_or_default();
            Some(
                o.grants()
                    .iter()
                    .filter_map(|g| acl_grant(g, owner))
                    .collect(),
            )
        })
        .map(Option::unwrap_or_default)
    };
    let public_access_block = async {
        let out = s3
            .get_public_access_block()
            .bucket(name)
            .expected_bucket_owner(account)
            .send()
            .await;
        absent_as_none(out, "NoSuchPublicAccessBlockConfiguration", |o| {
            o.public_access_block_configuration()
                .map(|c| PublicAccessBlock {
                    block_public_acls: c.block_public_acls().unwrap_or(false),
                    ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                    block_public_policy: c.block_public_policy().unwrap_or(false),
                    restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
                })
        })
    };
    let object_ownership = async {
        let out = s3
            .get_bucket_ownership_controls()
            .bucket(name)
            .expected_bucket_owner(account)
            .send()
            .await;
        absent_as_none(out, "OwnershipControlsNotFoundError", |o| {
            o.ownership_controls()
                .and_then(|c| c.rules().first())
                .map(|r| r.object_ownership().as_str().to_owned())
        })
    };
    let (policy, acl, public_access_block, object_ownership) =
        futures_util::join!(policy, acl, public_access_block, object_ownership);
    let missing = [
        policy.as_ref().err(),
        acl.as_ref().err(),
        public_access_block.as_ref().err(),
        object_ownership.as_ref().err(),
    ]
    .iter()
    .any(|e| e.is_some_and(|e| e == NO_SUCH_BUCKET));
    ObservedBucket {
        name: name.to_owned(),
        missing,
        policy,
        acl,
        public_access_block,
        object_ownership,
    }
}

/// The error text of a bucket that does not exist.
const NO_SUCH_BUCKET: &str = "NoSuchBucket";

/// One call's answer: `Ok(Some)` from its output, `Ok(None)` when S3 says
/// the part is not configured (`absent`, an error code), and otherwise the
/// error (just `NoSuchBucket` for a bucket that does not exist).
fn absent_as_none<O, E, T>(
    out: Result<O, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    absent: &str,
    read: impl FnOnce(&O) -> Option<T>,
) -> Result<Option<T>, String>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match out {
        Ok(o) => Ok(read(&o)),
        Err(e) => match aws::error_code(&e) {
            Some(code) if !absent.is_empty() && code == absent => Ok(None),
            Some(NO_SUCH_BUCKET) => Err(NO_SUCH_BUCKET.to_owned()),
            _ => Err(aws::describe(&e)),
        },
    }
}

/// A grant as plain values; `None` for a grant without a grantee.
fn acl_grant(g: &aws_sdk_s3::types::Grant, owner: &str) -> Option<AclGrant> {
    let grantee = g.grantee()?;
    let who = grantee
        .id()
        .or(grantee.uri())
        .or(grantee.email_address())
        .unwrap_or_default();
    Some(AclGrant {
        grantee_type: grantee.r#type().as_str().to_owned(),
        grantee: who.to_owned(),
        permission: g
            .permission()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        owner: !owner.is_empty() && grantee.id() == Some(owner),
    })
}
