//! The bucket-policy layer's step: for each client whose layer is set,
//! write provision's statements into the policy of each of its exact
//! buckets (or take them out when the layer is turned off), keeping every
//! other statement as written (see [`crate::policy::bucket_policy`]).
//!
//! The step refuses, rather than plans, a policy that would deny the
//! identity running provision (it would lock provision out of the next
//! change to it), one over S3's size limit, and one it cannot take apart.

use crate::model::{BucketPolicyRead, client_principals};
use crate::plan::{Change, PlanError};
use crate::policy::bucket_policy::{self, Caller, MAX_POLICY_BYTES};

use super::Inputs;

/// The bucket-policy changes, with warnings, or every reason they cannot
/// be planned.
pub(super) fn plan_bucket_policies(
    inputs: &Inputs<'_>,
) -> Result<(Vec<Change>, Vec<String>), Vec<PlanError>> {
    let desired = inputs.desired;
    let account = inputs.account_id;
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    let any_on = desired
        .clients
        .keys()
        .any(|c| desired.bucket_policy_layer(c) == Some(true));
    if any_on {
        for arn in &desired.settings.bucket_policy_exempt {
            if arn.split(':').nth(4) != Some(account) {
                errors.push(PlanError::BucketPolicyExemptElsewhere {
                    arn: arn.clone(),
                    account: account.to_owned(),
                });
            }
        }
    }
    let caller = inputs
        .observed
        .caller_arn
        .as_ref()
        .map(|arn| (arn.clone(), Caller::from_identity_arn(arn)));
    for client in desired.clients.values() {
        let Some(on) = desired.bucket_policy_layer(&client.name) else {
            continue;
        };
        // Who the deny lets through: the client's principals and the
        // exempt administrators.
        let mut allowed: Vec<String> = client_principals(desired, &client.name)
            .iter()
            .map(|p| p.arn(account))
            .collect();
        allowed.extend(desired.settings.bucket_policy_exempt.iter().cloned());
        let owned_for = |bucket: &str| {
            if on {
                bucket_policy::owned_statements(bucket, account, &allowed)
            } else {
                Vec::new()
            }
        };
        if on {
            match &caller {
                Some((arn, caller)) if !caller.is_let_in(&allowed) => {
                    errors.push(PlanError::BucketPolicyLocksOutCaller {
                        client: client.name.clone(),
                        caller: arn.clone(),
                        hint: caller.exemption_hint(),
                    });
                }
                Some(_) => {}
                None => errors.push(PlanError::BucketPolicyCallerUnknown {
                    client: client.name.clone(),
                }),
            }
        }
        for bucket in &client.buckets {
            let unreadable = |reason: String| PlanError::BucketPolicyUnreadable {
                bucket: bucket.clone(),
                client: client.name.clone(),
                reason,
            };
            let owned = owned_for(bucket);
            let created = super::buckets::creates(inputs, &client.name, bucket);
            let (before, after) = match inputs.observed.bucket_policies.get(bucket) {
                None => {
                    errors.push(unreadable("it was not read".to_owned()));
                    continue;
                }
                // A managed bucket this plan creates gets its policy right
                // after, in the same apply.
                Some(BucketPolicyRead::NoBucket) if created && !owned.is_empty() => {
                    (None, Some(bucket_policy::fresh(&owned)))
                }
                Some(BucketPolicyRead::NoBucket) => {
                    if on {
                        warnings.push(format!(
                            "bucket `{bucket}` of client `{}` does not exist, so its policy is not written; plan again once it exists",
                            client.name
                        ));
                    }
                    continue;
                }
                Some(BucketPolicyRead::NoPolicy) if owned.is_empty() => continue,
                Some(BucketPolicyRead::NoPolicy) => (None, Some(bucket_policy::fresh(&owned))),
                Some(BucketPolicyRead::Policy(text)) => match bucket_policy::parse(text) {
                    Err(e) => {
                        errors.push(unreadable(e.to_string()));
                        continue;
                    }
                    Ok(existing) if existing.owned == owned => continue,
                    Ok(existing) => (Some(text.clone()), existing.with_owned(&owned)),
                },
            };
            match (before, after) {
                (_, Some(after)) if after.len() > MAX_POLICY_BYTES => {
                    errors.push(PlanError::BucketPolicyTooLarge {
                        bucket: bucket.clone(),
                        client: client.name.clone(),
                        size: after.len(),
                        limit: MAX_POLICY_BYTES,
                    });
                }
                (before, Some(after)) => changes.push(Change::PutBucketPolicy {
                    bucket: bucket.clone(),
                    client: client.name.clone(),
                    before,
                    after,
                    new_bucket: created,
                }),
                (Some(before), None) => changes.push(Change::DeleteBucketPolicy {
                    bucket: bucket.clone(),
                    client: client.name.clone(),
                    before,
                }),
                // Nothing to write where nothing is: handled above.
                (None, None) => {}
            }
        }
    }
    if errors.is_empty() {
        Ok((changes, warnings))
    } else {
        Err(errors)
    }
}
