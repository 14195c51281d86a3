//! Carrying out the changes to roles and GitHub's OIDC provider, each safe
//! to run again after an interruption: a delete treats "already gone" as
//! done, and a provider that appeared since the plan is used as it is.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use super::{ApplyError, gone_ok, sdk_tags, settle, tag_changes};
use crate::plan::Change;

/// Carries out one change of a role or the provider; `Ok(false)` when
/// `change` is not one, so the caller handles it.
pub(super) async fn execute(iam: &Client, change: &Change) -> Result<bool, ApplyError> {
    match change {
        Change::CreateOidcProvider {
            url,
            client_ids,
            tags,
        } => create_provider(iam, url, client_ids, tags).await?,
        Change::CreateRole {
            role,
            path,
            tags,
            boundary,
            trust,
            max_session_seconds,
        } => {
            check!(
                "CreateRole",
                iam.create_role()
                    .role_name(role)
                    .path(path)
                    .assume_role_policy_document(trust.to_string())
                    .max_session_duration(*max_session_seconds)
                    .set_tags(Some(sdk_tags("CreateRole", tags)?))
                    .set_permissions_boundary(boundary.clone())
                    .description("GitHub Actions (OIDC), managed by provision")
                    .send()
                    .await
            );
        }
        Change::UpdateRoleTags {
            role,
            before,
            after,
        } => update_tags(iam, role, before, after).await?,
        Change::UpdateRoleTrust { role, after, .. } => {
            check!(
                "UpdateAssumeRolePolicy",
                iam.update_assume_role_policy()
                    .role_name(role)
                    .policy_document(after.to_string())
                    .send()
                    .await
            );
        }
        Change::PutRolePolicy {
            role,
            policy_name,
            after,
            ..
        } => put_policy(iam, role, policy_name, after).await?,
        Change::NarrowRolePolicy {
            role,
            policy_name,
            after,
            ..
        } => match after {
            Some(after) => put_policy(iam, role, policy_name, after).await?,
            None => delete_policy(iam, role, policy_name).await?,
        },
        Change::DeleteRolePolicy {
            role, policy_name, ..
        } => delete_policy(iam, role, policy_name).await?,
        Change::DetachRolePolicy { role, policy_arn } => detach(iam, role, policy_arn).await?,
        Change::SetRoleBoundary { role, after, .. } => {
            check!(
                "PutRolePermissionsBoundary",
                iam.put_role_permissions_boundary()
                    .role_name(role)
                    .permissions_boundary(after)
                    .send()
                    .await
            );
        }
        Change::DeleteRole {
            role,
            inline_policies,
            attached_policies,
        } => delete_role(iam, role, inline_policies, attached_policies).await?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// `CreateOpenIDConnectProvider` without thumbprints: IAM no longer needs
/// them for GitHub's issuer, whose certificate it trusts through its own
/// CA list, and the API makes them optional. A provider made since the
/// plan (`EntityAlreadyExists`) is used as it is.
async fn create_provider(
    iam: &Client,
    url: &str,
    client_ids: &[String],
    tags: &BTreeMap<String, String>,
) -> Result<(), ApplyError> {
    let result = iam
        .create_open_id_connect_provider()
        .url(url)
        .set_client_id_list(Some(client_ids.to_vec()))
        .set_tags(Some(sdk_tags("CreateOpenIDConnectProvider", tags)?))
        .send()
        .await;
    match result {
        Err(e) if e.code() == Some("EntityAlreadyExists") => {}
        other => {
            check!("CreateOpenIDConnectProvider", other);
        }
    }
    Ok(())
}

async fn put_policy(
    iam: &Client,
    role: &str,
    policy_name: &str,
    document: &Value,
) -> Result<(), ApplyError> {
    check!(
        "PutRolePolicy",
        settle(|| iam
            .put_role_policy()
            .role_name(role)
            .policy_name(policy_name)
            .policy_document(document.to_string())
            .send())
        .await
    );
    Ok(())
}

async fn delete_policy(iam: &Client, role: &str, policy_name: &str) -> Result<(), ApplyError> {
    check!(
        "DeleteRolePolicy",
        gone_ok(
            iam.delete_role_policy()
                .role_name(role)
                .policy_name(policy_name)
                .send()
                .await
        )
    );
    Ok(())
}

async fn detach(iam: &Client, role: &str, policy_arn: &str) -> Result<(), ApplyError> {
    check!(
        "DetachRolePolicy",
        gone_ok(
            iam.detach_role_policy()
                .role_name(role)
                .policy_arn(policy_arn)
                .send()
                .await
        )
    );
    Ok(())
}

/// Sets the managed tags that differ, then removes the ones no longer
/// wanted, as for users.
async fn update_tags(
    iam: &Client,
    role: &str,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Result<(), ApplyError> {
    let (set, unset) = tag_changes(before, after);
    if !set.is_empty() {
        check!(
            "TagRole",
            iam.tag_role()
                .role_name(role)
                .set_tags(Some(sdk_tags("TagRole", &set)?))
                .send()
                .await
        );
    }
    if !unset.is_empty() {
        check!(
            "UntagRole",
            iam.untag_role()
                .role_name(role)
                .set_tag_keys(Some(unset))
                .send()
                .await
        );
    }
    Ok(())
}

/// Removes the role's policies (those the plan saw, then any found now),
/// then the role.
async fn delete_role(
    iam: &Client,
    role: &str,
    inline_policies: &[String],
    attached_policies: &[String],
) -> Result<(), ApplyError> {
    let mut inline = inline_policies.to_vec();
    let mut attached = attached_policies.to_vec();
    // Read again: a policy added since the plan would make DeleteRole fail.
    if let Ok(listed) = iam.list_role_policies().role_name(role).send().await {
        inline.extend(listed.policy_names().iter().cloned());
    }
    if let Ok(listed) = iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
    {
        attached.extend(
            listed
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned)),
        );
    }
    inline.sort();
    inline.dedup();
    attached.sort();
    attached.dedup();
    for name in &inline {
        delete_policy(iam, role, name).await?;
    }
    for arn in &attached {
        detach(iam, role, arn).await?;
    }
    check!(
        "DeleteRole",
        gone_ok(iam.delete_role().role_name(role).send().await)
    );
    Ok(())
}
