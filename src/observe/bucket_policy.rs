//! The reads of the bucket-policy layer: the policy of each exact bucket of
//! the clients the layer is set for (on or off), and who runs provision.
//! Nothing is read when no client has the layer set, so the usual plan
//! makes no S3 call.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use super::{Observe, ObserveError};
use crate::aws::{self, Aws};
use crate::model::{BucketPolicyRead, Desired, Observed};

/// How many bucket policies are read at once.
const READS_AT_ONCE: usize = 8;

/// The buckets whose policies the layer concerns: every exact bucket of
/// each client in scope whose layer is set. Bucket prefixes are not
/// covered: the layer writes the policy of named buckets only.
pub fn layer_buckets(desired: &Desired) -> Vec<String> {
    let mut buckets: Vec<String> = desired
        .clients
        .values()
        .filter(|c| desired.bucket_policy_layer(&c.name).is_some())
        .flat_map(|c| c.buckets.iter().cloned())
        .collect();
    buckets.sort();
    buckets.dedup();
    buckets
}

/// What the layer read: each layer bucket's policy and the caller's ARN.
#[derive(Debug, Default)]
pub struct LayerRead {
    pub policies: BTreeMap<String, BucketPolicyRead>,
    pub caller_arn: Option<String>,
}

impl LayerRead {
    /// Puts what was read into `observed`, where the planner looks.
    pub fn fill(self, observed: &mut Observed) {
        observed.bucket_policies = self.policies;
        observed.caller_arn = self.caller_arn;
    }
}

/// Reads what the layer needs: each layer bucket's policy, concurrently
/// and with `ExpectedBucketOwner` (a bucket of that name in another
/// account is never read), and the caller's ARN. Reads nothing and
/// returns `None` when no client has the layer set.
pub async fn read(aws: &Aws, desired: &Desired) -> Result<Option<LayerRead>, ObserveError> {
    let buckets = layer_buckets(desired);
    if buckets.is_empty() {
        return Ok(None);
    }
    // The account guard's call normally left the caller's ARN behind; the
    // account is the ARN's fifth part.
    let asked = match aws.caller_arn.get() {
        Some(_) => None,
        None => Some(aws.account_id().await?),
    };
    let caller_arn = aws.caller_arn.get().cloned();
    let account = asked
        .as_deref()
        .or_else(|| caller_arn.as_deref().and_then(|arn| arn.split(':').nth(4)))
        .unwrap_or_default();
    let reads: Vec<(String, Result<BucketPolicyRead, ObserveError>)> =
        futures_util::stream::iter(&buckets)
            .map(|bucket| async move { (bucket.clone(), one(aws, account, bucket).await) })
            .buffer_unordered(READS_AT_ONCE)
            .collect()
            .await;
    let mut policies = BTreeMap::new();
    for (bucket, read) in reads {
        policies.insert(bucket, read?);
    }
    Ok(Some(LayerRead {
        policies,
        caller_arn,
    }))
}

/// One bucket's policy.
async fn one(aws: &Aws, account: &str, bucket: &str) -> Result<BucketPolicyRead, ObserveError> {
    let out = aws
        .s3
        .get_bucket_policy()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await;
    match out {
        Ok(o) => Ok(match o.policy() {
            Some(text) => BucketPolicyRead::Policy(text.to_owned()),
            None => BucketPolicyRead::NoPolicy,
        }),
        Err(e) => match aws::error_code(&e) {
            Some("NoSuchBucketPolicy") => Ok(BucketPolicyRead::NoPolicy),
            Some("NoSuchBucket") => Ok(BucketPolicyRead::NoBucket),
            _ => Err(ObserveError::Call {
                operation: "read a client bucket's policy (s3:GetBucketPolicy)",
                message: format!("bucket `{bucket}`: {}", aws::describe(&e)),
            }),
        },
    }
}
