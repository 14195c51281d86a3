//! Managed buckets (`manage_buckets`): the plan's step for the buckets a
//! client declares by exact name.
//!
//! A missing bucket is created with safe defaults: Block Public Access (all
//! four settings), Object Ownership `BucketOwnerEnforced` (ACLs off),
//! default encryption (SSE-S3, or SSE-KMS with `bucket_encryption_kms_key`),
//! versioning when `bucket_versioning` asks for it, and the tags
//! `managed-by=provision` and `provision:client=<client>`. An existing one
//! whose settings drifted from those is brought back, one change per
//! bucket listing what differs. A name S3 will not answer for as this
//! account's stops the plan: provision never writes to a bucket it does
//! not own. Buckets are never deleted: one that leaves the files is named
//! in a warning and left as it is.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Change, Inputs, Plan, PlanError};
use crate::model::{
    BUCKET_OWNER_ENFORCED, BucketEncryption, BucketSettings, BucketState, CLIENT_TAG_KEY,
    GROUP_POLICY_NAME, MANAGED_TAG_KEY, MANAGED_TAG_VALUE, PublicAccessBlock, SSE_KMS, SSE_S3,
};
use crate::policy::document;

/// Versioning on.
const ENABLED: &str = "Enabled";
/// Versioning off, once it was ever on (S3 cannot go back to never-on).
const SUSPENDED: &str = "Suspended";

/// Every managed bucket S3 will not answer for as this account's: another
/// account holds the name, or the credentials may not read it.
pub(super) fn check(inputs: &Inputs<'_>) -> Vec<PlanError> {
    let mut errors = Vec::new();
    for (bucket, client) in inputs.desired.managed_buckets() {
        if let Some(BucketState::NotOwned { reason }) = inputs.observed.buckets.get(&bucket) {
            let file = inputs
                .desired
                .clients
                .get(&client)
                .map(|c| c.source.display().to_string())
                .unwrap_or_default();
            errors.push(PlanError::BucketNotOwned {
                bucket,
                client,
                account: inputs.account_id.to_owned(),
                reason: reason.clone(),
                file,
            });
        }
    }
    errors
}

/// The settings a managed bucket of `client` must have, given what it has
/// now (`None` for a bucket to create): versioning and tags provision does
/// not manage are kept as they are.
pub fn wanted(
    defaults: &crate::model::BucketDefaults,
    client: &str,
    now: Option<&BucketSettings>,
) -> BucketSettings {
    let current_versioning = now.and_then(|s| s.versioning.clone());
    let versioning = match defaults.versioning {
        Some(true) => Some(ENABLED.to_owned()),
        // Off: a bucket that never had versioning stays so; one that had
        // it is suspended, the only way back S3 offers.
        Some(false) => current_versioning.map(|_| SUSPENDED.to_owned()),
        None => current_versioning,
    };
    let mut tags = now.map(|s| s.tags.clone()).unwrap_or_default();
    tags.insert(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned());
    tags.insert(CLIENT_TAG_KEY.to_owned(), client.to_owned());
    BucketSettings {
        public_access_block: Some(PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        }),
        object_ownership: Some(BUCKET_OWNER_ENFORCED.to_owned()),
        encryption: match &defaults.kms_key {
            Some(key) => BucketEncryption {
                algorithm: SSE_KMS.to_owned(),
                kms_key: Some(key.clone()),
            },
            None => BucketEncryption {
                algorithm: SSE_S3.to_owned(),
                kms_key: None,
            },
        },
        versioning,
        tags,
    }
}

/// True when this plan creates `bucket` of `client`: provision manages
/// the client's buckets and this one is missing.
pub(super) fn creates(inputs: &Inputs<'_>, client: &str, bucket: &str) -> bool {
    inputs.desired.manages_buckets(client)
        && matches!(
            inputs.observed.buckets.get(bucket),
            Some(BucketState::Missing)
        )
}

/// Create the missing managed buckets and bring the others' settings back.
pub(super) fn plan_buckets(inputs: &Inputs<'_>, plan: &mut Plan) {
    let defaults = &inputs.desired.settings.buckets;
    let region = inputs
        .observed
        .bucket_region
        .clone()
        .unwrap_or_else(|| crate::model::DEFAULT_BUCKET_REGION.to_owned());
    for (bucket, client) in inputs.desired.managed_buckets() {
        match inputs.observed.buckets.get(&bucket) {
            Some(BucketState::Missing) => plan.changes.push(Change::CreateBucket {
                settings: wanted(defaults, &client, None),
                bucket,
                client,
                region: region.clone(),
                owner: inputs.account_id.to_owned(),
            }),
            Some(BucketState::Owned(now)) => {
                let after = wanted(defaults, &client, Some(now));
                if &after != now {
                    plan.changes.push(Change::ConfigureBucket {
                        bucket,
                        client,
                        owner: inputs.account_id.to_owned(),
                        before: now.clone(),
                        after,
                    });
                }
            }
            // Refused by `check` before anything is planned.
            Some(BucketState::NotOwned { .. }) => {}
            None => plan.warnings.push(format!(
                "the settings of bucket `{bucket}` (client `{client}`) were not read, so the plan leaves them as they are"
            )),
        }
    }
}

/// One warning per bucket that leaves the files while provision manages
/// buckets: a client removed, or a bucket taken off a client's list. The
/// buckets a client had are read from its group's live grant, so this
/// costs no call. Buckets are never deleted, and the warning says so.
pub(super) fn removed_buckets(inputs: &Inputs<'_>, plan: &mut Plan) {
    if !inputs.desired.any_managed_buckets() {
        return;
    }
    let deleted_groups: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::DeleteGroup { group, .. } => Some(group.as_str()),
            _ => None,
        })
        .collect();
    let mut warnings = Vec::new();
    for group in inputs.observed.groups.values() {
        if !group.is_managed(inputs.path) {
            continue;
        }
        let Some(client) = group.name.strip_prefix(crate::model::GROUP_PREFIX) else {
            continue;
        };
        let live = granted_buckets(inputs, group);
        if deleted_groups.contains(group.name.as_str()) {
            for bucket in live {
                warnings.push(format!(
                    "client `{client}` is removed, but its bucket `{bucket}` is kept as it is, with its data: provision never deletes buckets; delete it by hand if it is no longer needed"
                ));
            }
        } else if let Some(declared) = inputs.desired.clients.get(client) {
            let now: BTreeSet<&String> = declared.buckets.iter().collect();
            for bucket in live.iter().filter(|b| !now.contains(b)) {
                warnings.push(format!(
                    "bucket `{bucket}` is no longer listed by client `{client}`, but it is kept as it is, with its data: provision never deletes buckets; delete it by hand if it is no longer needed"
                ));
            }
        }
    }
    plan.warnings.extend(warnings);
}

/// The exact buckets a managed group's live grant names (`arn:aws:s3:::NAME`
/// without a wildcard or key), inline or in provision's managed policy.
fn granted_buckets(inputs: &Inputs<'_>, group: &crate::model::ObservedGroup) -> BTreeSet<String> {
    let mut docs: Vec<&Value> = group
        .inline_policies
        .get(GROUP_POLICY_NAME)
        .into_iter()
        .collect();
    docs.extend(
        group
            .attached_policies
            .iter()
            .filter_map(|arn| inputs.observed.managed_policies.get(arn)),
    );
    docs.into_iter()
        .flat_map(document::statements)
        .flat_map(|s| {
            document::strings(s.get("Resource"))
                .into_iter()
                .filter_map(|r| r.strip_prefix("arn:aws:s3:::"))
                .filter(|name| !name.contains(['*', '?', '/']))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What differs between a bucket's settings `before` and `after`, one
/// phrase each, in the order apply writes them:
/// `versioning Suspended → Enabled`.
pub fn differences(before: &BucketSettings, after: &BucketSettings) -> Vec<String> {
    let mut out = Vec::new();
    if before.public_access_block != after.public_access_block {
        out.push(format!(
            "public access block {} → {}",
            describe_block(before.public_access_block.as_ref()),
            describe_block(after.public_access_block.as_ref())
        ));
    }
    if before.object_ownership != after.object_ownership {
        out.push(format!(
            "object ownership {} → {}",
            before.object_ownership.as_deref().unwrap_or("none"),
            after.object_ownership.as_deref().unwrap_or("none")
        ));
    }
    if before.encryption != after.encryption {
        out.push(format!(
            "encryption {} → {}",
            before.encryption, after.encryption
        ));
    }
    if before.versioning != after.versioning {
        out.push(format!(
            "versioning {} → {}",
            before.versioning.as_deref().unwrap_or("never enabled"),
            after.versioning.as_deref().unwrap_or("never enabled")
        ));
    }
    let changed: BTreeMap<&String, &String> = after
        .tags
        .iter()
        .filter(|(k, v)| before.tags.get(*k) != Some(*v))
        .collect();
    if !changed.is_empty() {
        let list: Vec<String> = changed.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push(format!("tags + {}", list.join(", ")));
    }
    out
}

/// `all blocked`, `none`, or the settings that are on.
pub fn describe_block(block: Option<&PublicAccessBlock>) -> String {
    let Some(b) = block else {
        return "none".to_owned();
    };
    if b.all() {
        return "all blocked".to_owned();
    }
    let on: Vec<&str> = [
        (b.block_public_acls, "BlockPublicAcls"),
        (b.ignore_public_acls, "IgnorePublicAcls"),
        (b.block_public_policy, "BlockPublicPolicy"),
        (b.restrict_public_buckets, "RestrictPublicBuckets"),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .map(|(_, name)| *name)
    .collect();
    if on.is_empty() {
        "none".to_owned()
    } else {
        on.join(", ")
    }
}

#[cfg(test)]
mod tests;
