//! Reading the live state of the account into the model's types.
//!
//! One paginated `GetAccountAuthorizationDetails` returns every user and
//! group with their tags, memberships, inline policies and attached policies:
//! about one call per thousand entities, however many clients there are. It
//! leaves out access keys; provision records the id of the key it delivered
//! as a tag on the application user, so keys are listed only for application
//! users that lack that record (normally none).

use std::future::Future;

use aws_sdk_iam::types::{EntityType, SummaryKeyType};
use thiserror::Error;

use crate::aws::{self, Aws};
use crate::model::{
    ACCESS_KEY_TAG_KEY, AccountQuotas, CLIENT_TAG_KEY, Observed, ObservedGroup, ObservedUser,
};
use crate::policy::{arn, document};

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
        Ok(out.account().unwrap_or_default().to_owned())
    }

    async fn observe(&self, managed_path: &str) -> Result<Observed, ObserveError> {
        let mut observed = Observed::default();
        let mut pages = self
            .iam
            .get_account_authorization_details()
            .filter(EntityType::User)
            .filter(EntityType::Group)
            .max_items(PAGE_SIZE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| ObserveError::Call {
                operation: "read users and groups (iam:GetAccountAuthorizationDetails)",
                message: aws::describe(&e),
            })?;
            for u in page.user_detail_list() {
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
                    let doc = document::decode_document(p.policy_document().unwrap_or_default())
                        .map_err(|source| ObserveError::Policy {
                            entity: format!("user `{name}`"),
                            policy: policy_name.clone(),
                            source,
                        })?;
                    user.inline_policies.insert(policy_name, doc);
                }
                observed.users.insert(name, user);
            }
            for g in page.group_detail_list() {
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
                    let doc = document::decode_document(p.policy_document().unwrap_or_default())
                        .map_err(|source| ObserveError::Policy {
                            entity: format!("group `{name}`"),
                            policy: policy_name.clone(),
                            source,
                        })?;
                    group.inline_policies.insert(policy_name, doc);
                }
                observed.groups.insert(name, group);
            }
        }

        observed.quotas = account_quotas(&self.iam).await?;

        // provision's own managed policies (clients whose policy does not
        // fit inline): read only when a managed group has one attached, so
        // the usual plan makes no extra call.
        let own: std::collections::BTreeSet<String> = observed
            .groups
            .values()
            .filter(|g| g.is_managed(managed_path))
            .flat_map(|g| g.attached_policies.iter())
            .filter(|arn| arn::is_own_policy_arn(arn, managed_path))
            .cloned()
            .collect();
        if !own.is_empty() {
            observed.managed_policies = policy_documents(&self.iam, &own).await?;
        }

        // Application users without a record of their key: an apply was cut
        // off between creating the key and recording it, or the user was
        // just created. List their keys so the plan can replace orphans.
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
            let keys = list_access_keys(&self.iam, &name).await?;
            if let Some(user) = observed.users.get_mut(&name) {
                user.access_keys = Some(keys);
            }
        }
        Ok(observed)
    }
}

/// The ids of a user's access keys (a user has at most two).
pub async fn list_access_keys(
    iam: &aws_sdk_iam::Client,
    user: &str,
) -> Result<Vec<String>, ObserveError> {
    let out = iam
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .map_err(|e| ObserveError::Call {
            operation: "list access keys (iam:ListAccessKeys)",
            message: aws::describe(&e),
        })?;
    Ok(out
        .access_key_metadata()
        .iter()
        .filter_map(|k| k.access_key_id().map(str::to_owned))
        .collect())
}

/// What reading a managed policy's document (the configured permissions
/// boundary, or a policy attached to a user) found.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyDocument {
    /// The default version's document, normalized.
    Found(serde_json::Value),
    /// IAM says the policy does not exist.
    Missing,
    /// It could not be read (no permission to read it, say); the reason.
    Unreadable(String),
}

/// Read the default version of managed policy `arn`: `GetPolicy` for the
/// version id, then `GetPolicyVersion`; two calls, made only when a boundary
/// is configured.
pub async fn managed_policy_document(iam: &aws_sdk_iam::Client, arn: &str) -> PolicyDocument {
    let policy = match iam.get_policy().policy_arn(arn).send().await {
        Ok(out) => out,
        Err(e) if aws::error_code(&e) == Some("NoSuchEntity") => return PolicyDocument::Missing,
        Err(e) => return PolicyDocument::Unreadable(aws::describe(&e)),
    };
    let Some(version) = policy.policy().and_then(|p| p.default_version_id()) else {
        return PolicyDocument::Unreadable("IAM returned no default version".into());
    };
    let out = match iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if aws::error_code(&e) == Some("NoSuchEntity") => return PolicyDocument::Missing,
        Err(e) => return PolicyDocument::Unreadable(aws::describe(&e)),
    };
    let raw = out
        .policy_version()
        .and_then(|v| v.document())
        .unwrap_or_default();
    match document::decode_document(raw) {
        Ok(doc) => PolicyDocument::Found(doc),
        Err(e) => PolicyDocument::Unreadable(e.to_string()),
    }
}

/// The account's own IAM quotas, with one `GetAccountSummary` call. When the
/// credentials may not make that call, AWS's defaults are used (and
/// [`AccountQuotas::from_account`] says so); any other failure is an error.
pub async fn account_quotas(iam: &aws_sdk_iam::Client) -> Result<AccountQuotas, ObserveError> {
    let out = match iam.get_account_summary().send().await {
        Ok(out) => out,
        Err(e) if aws::error_code(&e).is_some_and(|c| c.contains("AccessDenied")) => {
            return Ok(AccountQuotas::default());
        }
        Err(e) => {
            return Err(ObserveError::Call {
                operation: "read the account's quotas (iam:GetAccountSummary)",
                message: aws::describe(&e),
            });
        }
    };
    let mut quotas = AccountQuotas {
        from_account: true,
        ..AccountQuotas::default()
    };
    let Some(map) = out.summary_map() else {
        return Ok(quotas);
    };
    let read = |key: SummaryKeyType, into: &mut usize| {
        if let Some(value) = map.get(&key).and_then(|v| usize::try_from(*v).ok()) {
            *into = value;
        }
    };
    read(
        SummaryKeyType::GroupsPerUserQuota,
        &mut quotas.groups_per_user,
    );
    read(SummaryKeyType::GroupsQuota, &mut quotas.groups);
    read(SummaryKeyType::UsersQuota, &mut quotas.users);
    read(
        SummaryKeyType::GroupPolicySizeQuota,
        &mut quotas.group_policy_size,
    );
    Ok(quotas)
}

/// The default-version documents of the managed policies `arns` (attached
/// policies and permissions boundaries), normalized, by ARN; for `verify`,
/// which must evaluate everything a user is granted.
///
/// Customer-managed policies come from `GetAccountAuthorizationDetails`
/// with the `LocalManagedPolicy` filter (one call per page, documents
/// included); AWS-managed ones (`arn:aws:iam::aws:policy/...`), which that
/// filter leaves out, with `GetPolicy` and `GetPolicyVersion` each. A policy
/// that cannot be found is left out of the map; the caller says so.
pub async fn policy_documents(
    iam: &aws_sdk_iam::Client,
    arns: &std::collections::BTreeSet<String>,
) -> Result<std::collections::BTreeMap<String, serde_json::Value>, ObserveError> {
    let mut docs = std::collections::BTreeMap::new();
    let is_aws_managed = |arn: &str| arn.contains(":iam::aws:policy/");
    if arns.iter().any(|a| !is_aws_managed(a)) {
        let mut pages = iam
            .get_account_authorization_details()
            .filter(EntityType::LocalManagedPolicy)
            .max_items(PAGE_SIZE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| ObserveError::Call {
                operation: "read managed policies (iam:GetAccountAuthorizationDetails)",
                message: aws::describe(&e),
            })?;
            for p in page.policies() {
                let Some(arn) = p.arn().filter(|a| arns.contains(*a)) else {
                    continue;
                };
                let Some(version) = p
                    .policy_version_list()
                    .iter()
                    .find(|v| v.is_default_version())
                else {
                    continue;
                };
                let doc = document::decode_document(version.document().unwrap_or_default())
                    .map_err(|source| ObserveError::Policy {
                        entity: format!("managed policy `{arn}`"),
                        policy: arn.to_owned(),
                        source,
                    })?;
                docs.insert(arn.to_owned(), doc);
            }
        }
    }
    for arn in arns.iter().filter(|a| is_aws_managed(a)) {
        match managed_policy_document(iam, arn).await {
            PolicyDocument::Found(doc) => {
                docs.insert(arn.clone(), doc);
            }
            PolicyDocument::Missing => {}
            PolicyDocument::Unreadable(message) => {
                return Err(ObserveError::Call {
                    operation: "read a managed policy (iam:GetPolicy, iam:GetPolicyVersion)",
                    message,
                });
            }
        }
    }
    Ok(docs)
}
