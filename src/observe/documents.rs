//! Managed policy documents: the configured permissions boundary, and every
//! policy `verify` must evaluate.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::types::EntityType;

use super::{ObserveError, PAGE_SIZE};
use crate::aws;
use crate::policy::document;

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
    arns: &BTreeSet<String>,
) -> Result<BTreeMap<String, serde_json::Value>, ObserveError> {
    let mut docs = BTreeMap::new();
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

/// The ARNs of the account's customer managed policies named one of
/// `names`, at any path: IAM keeps such names unique per account, whatever
/// the path, so provision must know of a policy elsewhere before it
/// creates one of its own under that name (see `plan::policy_name_collisions`).
/// Paginated `GetAccountAuthorizationDetails` with the `LocalManagedPolicy`
/// filter; called only when a plan creates a managed policy.
pub async fn local_policies_named(
    iam: &aws_sdk_iam::Client,
    names: &BTreeSet<String>,
) -> Result<Vec<String>, ObserveError> {
    let mut found = Vec::new();
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
            // The name is the ARN's last segment (a name holds no `/`),
            // which every answer carries.
            let Some(arn) = p.arn() else { continue };
            let name = p
                .policy_name()
                .or_else(|| arn.rsplit('/').next())
                .unwrap_or_default();
            if names.contains(name) {
                found.push(arn.to_owned());
            }
        }
    }
    Ok(found)
}
