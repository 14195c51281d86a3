//! Reading the live state of the account into the model's types.
//!
//! One paginated `GetAccountAuthorizationDetails` returns every user and
//! group with their tags, memberships, inline policies and attached policies:
//! about one call per thousand entities, however many clients there are. It
//! leaves out access keys; provision records the id of the key it delivered
//! as a tag on the application user, so keys are listed only for application
//! users that lack that record (normally none).
//!
//! Every read of AWS lives here, one file per kind of read: the bulk read
//! (this file), [`quotas`], managed policy [`documents`], a user's [`keys`],
//! the [`account`] guard, the [`credential_report`], the [`simulate`]d
//! answers of IAM, the one [`user`] a rotation reads, the account's
//! [`buckets`] and [`distributions`] that `import` reads, and the client
//! buckets' policies the [`bucket_policy`] layer reads. The settings of
//! managed buckets, read only when some are, are in [`bucket_settings`].

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use aws_sdk_iam::types::{EntityType, GroupDetail, UserDetail};
use serde_json::Value;
use thiserror::Error;

use crate::aws::{self, Aws};
use crate::model::{ACCESS_KEY_TAG_KEY, CLIENT_TAG_KEY, Observed, ObservedGroup, ObservedUser};
use crate::policy::{arn, document};

pub mod account;
pub mod bucket_policy;
pub mod bucket_settings;
pub mod buckets;
pub mod credential_report;
pub mod credentials;
pub mod distributions;
pub mod documents;
pub mod keys;
pub mod quotas;
pub mod roles;
pub mod simulate;
pub mod user;

use documents::policy_documents;
use keys::list_access_keys;
use quotas::account_quotas;

/// Page size for `GetAccountAuthorizationDetails`; 1000 is IAM's maximum.
const PAGE_SIZE: i32 = 1000;

/// Why the account could not be read.
#[derive(Debug, Error)]
pub enum ObserveError {
    /// An AWS call failed after the SDK's retries.
    #[error("could not {operation}: {message}")]
    Call {
        operation: &'static str,
        message: String,
    },
    /// A policy document returned by IAM could not be decoded.
    #[error("the inline policy `{policy}` of {entity} could not be read")]
    Policy {
        entity: String,
        policy: String,
        #[source]
        source: document::PolicyError,
    },
}

/// Reads the account. A trait so the planner's callers can run against AWS,
/// an emulator, or a recorded state alike.
pub trait Observe {
    /// The account id of the credentials in use.
    fn account_id(&self) -> impl Future<Output = Result<String, ObserveError>>;
    /// Every user and group, with the access keys of application users that
    /// lack provision's record of their key.
    fn observe(&self, managed_path: &str) -> impl Future<Output = Result<Observed, ObserveError>>;
}

impl Observe for Aws {
    async fn account_id(&self) -> Result<String, ObserveError> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| ObserveError::Call {
                operation: "find the account of the credentials (sts:GetCallerIdentity)",
                message: aws::describe(&e),
            })?;
        if let Some(arn) = out.arn() {
            // The first answer is kept; the credentials do not change
            // during a command.
            let _ = self.caller_arn.set(arn.to_owned());
        }
        Ok(out.account().unwrap_or_default().to_owned())
    }

    /// One bulk read of users and groups, then the quotas, provision's own
    /// managed policies when a group has one, and the keys of application
    /// users without a record of theirs.
    async fn observe(&self, managed_path: &str) -> Result<Observed, ObserveError> {
        let mut observed = users_and_groups(&self.iam).await?;
        observed.quotas = account_quotas(&self.iam).await?;
        observed.managed_policies = own_policies(&self.iam, &observed, managed_path).await?;
        unrecorded_keys(&self.iam, &mut observed, managed_path).await?;
        Ok(observed)
    }
}

/// Every user and group, with tags, memberships and policies, from the
/// paginated `GetAccountAuthorizationDetails`.
async fn users_and_groups(iam: &aws_sdk_iam::Client) -> Result<Observed, ObserveError> {
    let mut observed = Observed::default();
    let mut pages = iam
        .get_account_authorization_details()
        .filter(EntityType::User)
        .filter(EntityType::Group)
        .filter(EntityType::Role)
        .max_items(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| ObserveError::Call {
            operation: "read users, groups and roles (iam:GetAccountAuthorizationDetails)",
            message: aws::describe(&e),
        })?;
        for u in page.user_detail_list() {
            let user = observed_user(u)?;
            observed.users.insert(user.name.clone(), user);
        }
        for g in page.group_detail_list() {
            let group = observed_group(g)?;
            observed.groups.insert(group.name.clone(), group);
        }
        for r in page.role_detail_list() {
            let role = roles::observed_role(r)?;
            observed.roles.insert(role.name.clone(), role);
        }
    }
    Ok(observed)
}

/// One user of the bulk read, in the model's terms.
fn observed_user(u: &UserDetail) -> Result<ObservedUser, ObserveError> {
    let name = u.user_name().unwrap_or_default().to_owned();
    let mut user = ObservedUser {
        name: name.clone(),
        path: u.path().unwrap_or("/").to_owned(),
        arn: u.arn().unwrap_or_default().to_owned(),
        tags: u
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
        groups: u.group_list().iter().cloned().collect(),
        attached_policies: u
            .attached_managed_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_owned))
            .collect(),
        permissions_boundary: u
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_owned),
        ..ObservedUser::default()
    };
    for p in u.user_policy_list() {
        let policy_name = p.policy_name().unwrap_or_default().to_owned();
        let doc = document::decode_document(p.policy_document().unwrap_or_default()).map_err(
            |source| ObserveError::Policy {
                entity: format!("user `{name}`"),
                policy: policy_name.clone(),
                source,
            },
        )?;
        user.inline_policies.insert(policy_name, doc);
    }
    Ok(user)
}

/// One group of the bulk read, in the model's terms.
fn observed_group(g: &GroupDetail) -> Result<ObservedGroup, ObserveError> {
    let name = g.group_name().unwrap_or_default().to_owned();
    let mut group = ObservedGroup {
        name: name.clone(),
        path: g.path().unwrap_or("/").to_owned(),
        arn: g.arn().unwrap_or_default().to_owned(),
        attached_policies: g
            .attached_managed_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_owned))
            .collect(),
        ..ObservedGroup::default()
    };
    for p in g.group_policy_list() {
        let policy_name = p.policy_name().unwrap_or_default().to_owned();
        let doc = document::decode_document(p.policy_document().unwrap_or_default()).map_err(
            |source| ObserveError::Policy {
                entity: format!("group `{name}`"),
                policy: policy_name.clone(),
                source,
            },
        )?;
        group.inline_policies.insert(policy_name, doc);
    }
    Ok(group)
}

/// provision's own managed policies (clients whose policy does not fit
/// inline), by ARN: read only when a managed group has one attached, so the
/// usual plan makes no extra call.
async fn own_policies(
    iam: &aws_sdk_iam::Client,
    observed: &Observed,
    managed_path: &str,
) -> Result<BTreeMap<String, Value>, ObserveError> {
    let own: BTreeSet<String> = observed
        .groups
        .values()
        .filter(|g| g.is_managed(managed_path))
        .flat_map(|g| g.attached_policies.iter())
        .filter(|arn| arn::is_own_policy_arn(arn, managed_path))
        .cloned()
        .collect();
    if own.is_empty() {
        return Ok(BTreeMap::new());
    }
    policy_documents(iam, &own).await
}

/// Application users without a record of their key: an apply was cut off
/// between creating the key and recording it, or the user was just
/// created. Their keys are listed so the plan can replace orphans.
async fn unrecorded_keys(
    iam: &aws_sdk_iam::Client,
    observed: &mut Observed,
    managed_path: &str,
) -> Result<(), ObserveError> {
    let unrecorded: Vec<String> = observed
        .users
        .values()
        .filter(|u| {
            u.is_managed(managed_path)
                && u.tags.contains_key(CLIENT_TAG_KEY)
                && !u.tags.contains_key(ACCESS_KEY_TAG_KEY)
        })
        .map(|u| u.name.clone())
        .collect();
    for name in unrecorded {
        let keys = list_access_keys(iam, &name).await?;
        if let Some(user) = observed.users.get_mut(&name) {
            user.access_keys = Some(keys);
        }
    }
    Ok(())
}
