//! The bucket-policy layer's writes: `s3:PutBucketPolicy` and
//! `s3:DeleteBucketPolicy` on a client bucket, each with
//! `ExpectedBucketOwner`, so a bucket of that name in another account is
//! never written. Both are safe to run again: a put writes the same text,
//! and S3 answers a delete of an absent policy with success.

use super::ApplyError;
use crate::aws::Aws;

/// The account the credentials belong to, as the account guard read it:
/// the fifth part of the caller's ARN.
fn owner(aws: &Aws) -> Result<String, ApplyError> {
    aws.caller_arn
        .get()
        .and_then(|arn| arn.split(':').nth(4))
        .map(str::to_owned)
        .ok_or_else(|| ApplyError {
            operation: "s3:PutBucketPolicy".to_owned(),
            message: "the account of the credentials is not known; nothing was written".to_owned(),
        })
}

/// Writes `policy`, the whole new text, as the policy of `bucket`.
pub(super) async fn put(aws: &Aws, bucket: &str, policy: &str) -> Result<(), ApplyError> {
    let account = owner(aws)?;
    aws.s3
        .put_bucket_policy()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .policy(policy)
        .send()
        .await
        .map_err(|e| ApplyError::call(&format!("s3:PutBucketPolicy `{bucket}`"), &e))?;
    Ok(())
}

/// Deletes the policy of `bucket`.
pub(super) async fn delete(aws: &Aws, bucket: &str) -> Result<(), ApplyError> {
    let account = owner(aws)?;
    aws.s3
        .delete_bucket_policy()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await
        .map_err(|e| ApplyError::call(&format!("s3:DeleteBucketPolicy `{bucket}`"), &e))?;
    Ok(())
}
