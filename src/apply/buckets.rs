//! Carrying out the changes of managed buckets: create one with safe
//! defaults, or bring its settings back.
//!
//! The order is fixed: the bucket, then Block Public Access and Object
//! Ownership (so it is private before anything else happens to it), then
//! default encryption, versioning and tags. Every call after the create
//! carries `ExpectedBucketOwner`, so a bucket that changed hands between
//! plan and apply is refused by S3, never written to. A call that fails
//! stops the change there; the next plan reads the bucket again and shows
//! what is still to do.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::ApplyError;
use crate::model::{BUCKET_OWNER_ENFORCED, BucketSettings, DEFAULT_BUCKET_REGION, SSE_KMS};

/// `CreateBucket` in `region` with ACLs off, then the rest of `settings`.
///
/// A bucket this account already owns (`BucketAlreadyOwnedByYou`: an
/// earlier apply created it and stopped) is configured as if just made.
/// One another account took since the plan (`BucketAlreadyExists`) fails
/// the change, and nothing is written to it.
pub(super) async fn create_bucket(
    s3: &Client,
    bucket: &str,
    region: &str,
    owner: &str,
    settings: &BucketSettings,
) -> Result<(), ApplyError> {
    let mut request = s3
        .create_bucket()
        .bucket(bucket)
        .object_ownership(ObjectOwnership::BucketOwnerEnforced);
    // us-east-1 is the one region S3 wants no constraint for.
    if region != DEFAULT_BUCKET_REGION {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    // The request is signed for the bucket's region, whatever the client's.
    let result = request
        .customize()
        .config_override(
            aws_sdk_s3::config::Builder::default()
                .region(aws_sdk_s3::config::Region::new(region.to_owned())),
        )
        .send()
        .await;
    match result {
        Ok(_) => {}
        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => {}
        Err(e) if e.code() == Some("BucketAlreadyExists") => {
            return Err(ApplyError {
                operation: "CreateBucket".into(),
                message: format!(
                    "the name `{bucket}` was taken by another account since the plan was made; choose another bucket name"
                ),
            });
        }
        Err(e) => return Err(ApplyError::call("CreateBucket", &e)),
    }
    // What a bucket is right after the create: ACLs off (asked for above)
    // and SSE-S3 (S3's default); the rest is written.
    let fresh = BucketSettings {
        object_ownership: Some(BUCKET_OWNER_ENFORCED.to_owned()),
        ..BucketSettings::default()
    };
    configure_bucket(s3, bucket, owner, &fresh, settings).await
}

/// Write each setting of `after` that differs from `before`, in order.
pub(super) async fn configure_bucket(
    s3: &Client,
    bucket: &str,
    owner: &str,
    before: &BucketSettings,
    after: &BucketSettings,
) -> Result<(), ApplyError> {
    if before.public_access_block != after.public_access_block
        && let Some(block) = &after.public_access_block
    {
        check!(
            "PutPublicAccessBlock",
            s3.put_public_access_block()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(block.block_public_acls)
                        .ignore_public_acls(block.ignore_public_acls)
                        .block_public_policy(block.block_public_policy)
                        .restrict_public_buckets(block.restrict_public_buckets)
                        .build(),
                )
                .send()
                .await
        );
    }
    if before.object_ownership != after.object_ownership
        && let Some(ownership) = &after.object_ownership
    {
        let controls = OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::from(ownership.as_str()))
            .build()
            .and_then(|rule| OwnershipControls::builder().rules(rule).build())
            .map_err(|e| invalid("PutBucketOwnershipControls", &e))?;
        check!(
            "PutBucketOwnershipControls",
            s3.put_bucket_ownership_controls()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .ownership_controls(controls)
                .send()
                .await
        );
    }
    if before.encryption != after.encryption {
        let kms = after.encryption.algorithm == SSE_KMS;
        let configuration = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(
                after.encryption.algorithm.as_str(),
            ))
            .set_kms_master_key_id(after.encryption.kms_key.clone())
            .build()
            .and_then(|default| {
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(default)
                            // An S3 Bucket Key cuts the calls to KMS.
                            .set_bucket_key_enabled(kms.then_some(true))
                            .build(),
                    )
                    .build()
            })
            .map_err(|e| invalid("PutBucketEncryption", &e))?;
        check!(
            "PutBucketEncryption",
            s3.put_bucket_encryption()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .server_side_encryption_configuration(configuration)
                .send()
                .await
        );
    }
    if before.versioning != after.versioning
        && let Some(status) = &after.versioning
    {
        check!(
            "PutBucketVersioning",
            s3.put_bucket_versioning()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::from(status.as_str()))
                        .build(),
                )
                .send()
                .await
        );
    }
    if before.tags != after.tags {
        let tags = after
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .and_then(|tags| Tagging::builder().set_tag_set(Some(tags)).build())
            .map_err(|e| invalid("PutBucketTagging", &e))?;
        check!(
            "PutBucketTagging",
            s3.put_bucket_tagging()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .tagging(tags)
                .send()
                .await
        );
    }
    Ok(())
}

/// A request the SDK would not build (a required field missing), which
/// the plan's values never cause.
fn invalid(operation: &str, error: &dyn std::error::Error) -> ApplyError {
    ApplyError {
        operation: operation.to_owned(),
        message: error.to_string(),
    }
}
