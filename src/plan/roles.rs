//! Roles GitHub Actions assumes (keyless CI), and GitHub's OIDC provider.
//!
//! A role is managed like a user: `managed-by=provision` at exactly the
//! managed path. Its trust policy, its own policy (`provision-s3`, the
//! client's S3 grant for the app's buckets and access), its boundary and
//! its tags are brought to the file's; a trust policy that lets in more
//! than the file says, and policies provision did not write, are drift,
//! shown and reverted. The provider is created when missing; one made by
//! hand is used as it is, and provision never deletes it, since roles of
//! other tools may trust it too.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Change, Inputs, Plan, PlanError};
use crate::model::{
    CLIENT_TAG_KEY, Client, Desired, GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST, GROUP_POLICY_NAME,
    MANAGED_TAG_KEY, MANAGED_TAG_VALUE, ROLE_MAX_SESSION_SECONDS, RoleApp,
};
use crate::policy::lint::Drift;
use crate::policy::{document, trust};

/// Every role the files in scope declare, with its client.
pub(super) fn desired_roles(desired: &Desired) -> impl Iterator<Item = (&Client, &RoleApp)> {
    desired
        .clients
        .values()
        .flat_map(|c| c.roles.iter().map(move |r| (c, r)))
}

/// The policy provision writes on `role` of `client`: the client's group
/// policy, for the app's buckets, prefixes and access only.
pub fn role_policy(client: &Client, role: &RoleApp, account_id: &str) -> Value {
    let scoped = Client {
        buckets: role.buckets.clone(),
        bucket_prefixes: role.bucket_prefixes.clone(),
        access: role.access,
        developers: Vec::new(),
        membership_expires: BTreeMap::new(),
        app_user: None,
        roles: Vec::new(),
        ..client.clone()
    };
    document::group_policy(&scoped, account_id)
}

/// The tags provision sets on a role of `client`.
fn role_tags(client: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned()),
        (CLIENT_TAG_KEY.to_owned(), client.to_owned()),
    ])
}

/// Desired roles whose name is held by a role provision does not manage
/// here.
pub(super) fn role_ownership(inputs: &Inputs<'_>) -> Vec<PlanError> {
    desired_roles(inputs.desired)
        .filter_map(|(_, role)| inputs.observed.roles.get(&role.name))
        .filter(|live| !live.is_managed(inputs.path))
        .map(|live| PlanError::UnmanagedRole {
            name: live.name.clone(),
            path: live.path.clone(),
            managed_path: inputs.path.to_owned(),
        })
        .collect()
}

/// Plans the provider, every declared role, and the managed roles the
/// files no longer declare.
pub(super) fn plan_roles(inputs: &Inputs<'_>, plan: &mut Plan) {
    let desired = inputs.desired;
    let any = desired_roles(desired).next().is_some();
    if any {
        provider(inputs, plan);
    }
    for (client, role) in desired_roles(desired) {
        plan_role(inputs, client, role, plan);
    }
    strays(inputs, plan);
}

/// Creates GitHub's provider when it is missing; says so when the one
/// found was made by hand, or lacks the audience the roles require.
fn provider(inputs: &Inputs<'_>, plan: &mut Plan) {
    match &inputs.observed.oidc_provider {
        None => plan.changes.push(Change::CreateOidcProvider {
            url: format!("https://{GITHUB_OIDC_HOST}"),
            client_ids: vec![GITHUB_OIDC_AUDIENCE.to_owned()],
            tags: BTreeMap::from([(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned())]),
        }),
        Some(found) => {
            if !found.managed {
                plan.warnings.push(format!(
                    "the OIDC provider `{}` was not made by provision: the roles use it, and provision does not change it",
                    found.arn
                ));
            }
            if !found.client_ids.iter().any(|c| c == GITHUB_OIDC_AUDIENCE) {
                plan.warnings.push(format!(
                    "the OIDC provider `{}` does not list the audience `{GITHUB_OIDC_AUDIENCE}`: GitHub Actions cannot assume the roles until it does (`aws iam add-client-id-to-open-id-connect-provider`)",
                    found.arn
                ));
            }
        }
    }
}

/// One declared role: created, or brought to the file's.
// Long because it compares each part of a role in turn, in the order the
// changes run.
fn plan_role(inputs: &Inputs<'_>, client: &Client, role: &RoleApp, plan: &mut Plan) {
    let account = inputs.account_id;
    let trust_doc = trust::trust_policy(account, &role.subjects);
    let wanted = role_policy(client, role, account);
    let boundary = role
        .permissions_boundary
        .clone()
        .or_else(|| inputs.desired.settings.permissions_boundary.clone());
    let tags = role_tags(&client.name);
    let Some(live) = inputs.observed.roles.get(&role.name) else {
        plan.changes.push(Change::CreateRole {
            role: role.name.clone(),
            path: inputs.path.to_owned(),
            tags,
            boundary,
            trust: trust_doc,
            max_session_seconds: ROLE_MAX_SESSION_SECONDS,
        });
        plan.changes.push(Change::PutRolePolicy {
            role: role.name.clone(),
            policy_name: GROUP_POLICY_NAME.to_owned(),
            before: None,
            after: wanted,
        });
        return;
    };
    let drift = |policy: &str, widens: Vec<String>| Drift {
        group: None,
        user: None,
        role: Some(role.name.clone()),
        policy: policy.to_owned(),
        widens,
    };
    if live.trust != trust_doc {
        let widens = trust::widening(&live.trust, account, &role.subjects);
        if !widens.is_empty() {
            plan.drift.push(drift("trust policy", widens));
        }
        plan.changes.push(Change::UpdateRoleTrust {
            role: role.name.clone(),
            before: live.trust.clone(),
            after: trust_doc,
        });
    }
    let before = live.inline_policies.get(GROUP_POLICY_NAME);
    if before != Some(&wanted) {
        if let Some(before) = before.filter(|b| !document::covers(&wanted, b)) {
            let widens = crate::policy::lint::widening(before, Some(&wanted), Some(role.access));
            if !widens.is_empty() {
                plan.drift.push(drift(GROUP_POLICY_NAME, widens));
            }
            plan.changes.push(Change::NarrowRolePolicy {
                role: role.name.clone(),
                policy_name: GROUP_POLICY_NAME.to_owned(),
                before: before.clone(),
                after: document::intersection(before, &wanted),
            });
        }
        plan.changes.push(Change::PutRolePolicy {
            role: role.name.clone(),
            policy_name: GROUP_POLICY_NAME.to_owned(),
            before: before.cloned(),
            after: wanted,
        });
    }
    for (name, doc) in live
        .inline_policies
        .iter()
        .filter(|(n, _)| *n != GROUP_POLICY_NAME)
    {
        plan.drift.push(drift(
            name,
            vec![
                "an inline policy added by hand; provision grants a role only `provision-s3`"
                    .to_owned(),
            ],
        ));
        plan.changes.push(Change::DeleteRolePolicy {
            role: role.name.clone(),
            policy_name: name.clone(),
            before: doc.clone(),
        });
    }
    for arn in &live.attached_policies {
        plan.drift.push(drift(
            arn,
            vec![
                "a managed policy attached by hand; provision grants a role only `provision-s3`"
                    .to_owned(),
            ],
        ));
        plan.changes.push(Change::DetachRolePolicy {
            role: role.name.clone(),
            policy_arn: arn.clone(),
        });
    }
    if let Some(after) = boundary.filter(|b| live.permissions_boundary.as_ref() != Some(b)) {
        plan.changes.push(Change::SetRoleBoundary {
            role: role.name.clone(),
            before: live.permissions_boundary.clone(),
            after,
        });
    }
    let live_tags: BTreeMap<String, String> = live
        .tags
        .iter()
        .filter(|(k, _)| tags.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if live_tags != tags {
        plan.changes.push(Change::UpdateRoleTags {
            role: role.name.clone(),
            before: live_tags,
            after: tags,
        });
    }
}

/// Managed roles no declared app asks for: deleted when the files are the
/// whole configuration, or when the role's client is in scope (its app was
/// removed); a role of a client out of scope is left alone.
fn strays(inputs: &Inputs<'_>, plan: &mut Plan) {
    let desired = inputs.desired;
    let declared: Vec<&str> = desired_roles(desired)
        .map(|(_, r)| r.name.as_str())
        .collect();
    for live in inputs.observed.roles.values() {
        if !live.is_managed(inputs.path) || declared.contains(&live.name.as_str()) {
            continue;
        }
        let client = live.tags.get(CLIENT_TAG_KEY);
        let in_scope = client.is_some_and(|c| desired.clients.contains_key(c));
        let context = client.is_some_and(|c| desired.context_clients.contains_key(c));
        if (desired.authoritative && !context) || in_scope {
            plan.changes.push(Change::DeleteRole {
                role: live.name.clone(),
                inline_policies: live.inline_policies.keys().cloned().collect(),
                attached_policies: live.attached_policies.clone(),
            });
        }
    }
}

#[cfg(test)]
pub(super) mod tests;
