//! The account's buckets: for `import`, to resolve a hand-made policy's
//! wildcard (`arn:aws:s3:::acme*`); for `verify`, what each client bucket
//! says about itself (policy, ACL, Block Public Access, Object Ownership),
//! and the account's own Block Public Access.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;

use super::ObserveError;
use crate::aws::{self, Aws};
use crate::model::{AclGrant, ObservedBucket, Part, PublicAccessBlock};

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

/// How many buckets `verify` reads at once; each read is two to four calls.
const BUCKET_READS_AT_ONCE: usize = 8;

/// The Object Ownership setting that turns a bucket's ACLs off.
pub const OWNER_ENFORCED: &str = "BucketOwnerEnforced";

/// Why the ACL of a bucket whose ACLs are off is not read.
pub const ACL_NOT_READ: &str =
    "ACLs are disabled (Object Ownership `BucketOwnerEnforced`): they grant nothing";

/// Why a bucket's Block Public Access is not read when the account's is
/// fully on.
pub const BLOCK_NOT_READ: &str =
    "the account's Block Public Access has all four settings on, for every bucket";

/// The account's own Block Public Access settings (S3 Control
/// `GetPublicAccessBlock`, `s3:GetAccountPublicAccessBlock`): `Ok(None)`
/// when the account has none, the error's description when the read fails.
/// They hold for every bucket along with each bucket's own.
pub async fn account_public_access_block(
    aws: &Aws,
    account: &str,
) -> Result<Option<PublicAccessBlock>, String> {
    let out = aws
        .s3control
        .get_public_access_block()
        .account_id(account)
        .send()
        .await;
    match out {
        Ok(o) => Ok(o
            .public_access_block_configuration()
            .map(|c| PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            })),
        Err(e) if aws::error_code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => Ok(None),
        Err(e) => Err(aws::describe(&e)),
    }
}

/// What the buckets `names` say about themselves, for `verify`: policy,
/// ACL, Block Public Access and Object Ownership, every call with
/// `ExpectedBucketOwner` = `account`, so a bucket of that name in another
/// account is never read (AWS answers `AccessDenied`, and the part is
/// unreadable). Buckets are read concurrently.
///
/// Two reads are left out when another setting makes what they would say
/// of no effect: the ACL of a bucket whose Object Ownership is
/// `BucketOwnerEnforced` (ACLs are then off: AWS evaluates only policies),
/// and every bucket's Block Public Access when `account_blocks_all` (the
/// account's four settings are on, and the effective setting is the
/// account's OR the bucket's). A bucket as AWS creates it since 2023 costs
/// two calls in an account with Block Public Access on, four otherwise.
pub async fn bucket_facts(
    aws: &Aws,
    account: &str,
    names: &BTreeSet<String>,
    account_blocks_all: bool,
) -> BTreeMap<String, ObservedBucket> {
    futures_util::stream::iter(names)
        .map(|name| async move {
            let facts = one_bucket(&aws.s3, account, name, account_blocks_all).await;
            (name.clone(), facts)
        })
        .buffer_unordered(BUCKET_READS_AT_ONCE)
        .collect()
        .await
}

/// The reads of one bucket: its policy, its Object Ownership then (when
/// ACLs are on) its ACL, and its Block Public Access, at once.
async fn one_bucket(
    s3: &aws_sdk_s3::Client,
    account: &str,
    name: &str,
    account_blocks_all: bool,
) -> ObservedBucket {
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
        if account_blocks_all {
            return Part::NotRead(BLOCK_NOT_READ);
        }
        let out = s3
            .get_public_access_block()
            .bucket(name)
            .expected_bucket_owner(account)
            .send()
            .await;
        absent_as_none(out, "NoSuchPublicAccessBlockConfiguration", |o| {
            o.public_access_block_configuration()
                .map(public_access_block)
        })
        .into()
    };
    // Ownership first: when it turns ACLs off, the ACL is not read. When
    // it cannot be read, the ACL is, as if ACLs were on.
    let ownership_and_acl = async {
        let out = s3
            .get_bucket_ownership_controls()
            .bucket(name)
            .expected_bucket_owner(account)
            .send()
            .await;
        let ownership = absent_as_none(out, "OwnershipControlsNotFoundError", |o| {
            object_ownership(o)
        });
        let acl = match &ownership {
            Ok(Some(o)) if o == OWNER_ENFORCED => Part::NotRead(ACL_NOT_READ),
            Err(e) if e == NO_SUCH_BUCKET => Part::Unreadable(NO_SUCH_BUCKET.to_owned()),
            _ => acl.await.into(),
        };
        (ownership, acl)
    };
    let (policy, (object_ownership, acl), public_access_block) =
        futures_util::join!(policy, ownership_and_acl, public_access_block);
    let missing = [
        policy.as_ref().err().map(String::as_str),
        acl.error(),
        public_access_block.error(),
        object_ownership.as_ref().err().map(String::as_str),
    ]
    .contains(&Some(NO_SUCH_BUCKET));
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

/// A bucket's Block Public Access settings as S3 answers them; a setting
/// left out is off.
pub(super) fn public_access_block(
    c: &aws_sdk_s3::types::PublicAccessBlockConfiguration,
) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: c.block_public_acls().unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
        block_public_policy: c.block_public_policy().unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
    }
}

/// A bucket's Object Ownership (`BucketOwnerEnforced`, ...), from its
/// first rule; `None` when it has none.
pub(super) fn object_ownership(
    o: &aws_sdk_s3::operation::get_bucket_ownership_controls::GetBucketOwnershipControlsOutput,
) -> Option<String> {
    o.ownership_controls()
        .and_then(|c| c.rules().first())
        .map(|r| r.object_ownership().as_str().to_owned())
}
