//! IAM's quotas, checked before anything is planned: the size of every
//! client's policy (also offline, by `validate`), groups per user, and users
//! and groups per account.

use std::collections::{BTreeMap, BTreeSet};

use super::PlanError;
use super::users::Role;
use crate::model::{Desired, Observed};
use crate::policy::{document, trust};

/// Checks that need no account: every client's policy fits a managed
/// policy (a policy over the group's inline quota is written as a managed
/// policy instead). Run by `validate` and before every plan.
pub fn check_quotas(desired: &Desired, account_id: &str) -> Vec<PlanError> {
    desired
        .clients
        .values()
        .filter_map(|client| {
            let size = document::size(&document::group_policy(client, account_id));
            (size > document::MANAGED_POLICY_LIMIT).then(|| PlanError::PolicyTooLarge {
                client: client.name.clone(),
                file: client.source.display().to_string(),
                size,
                limit: document::MANAGED_POLICY_LIMIT,
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .chain(app_policy_sizes(desired, account_id))
        .chain(role_trust_sizes(desired, account_id))
        .collect()
}

/// Every role's trust policy fits IAM's quota: a role with many `github`
/// subjects would otherwise fail at `CreateRole`, half-way through an
/// apply. Its grant needs no check of its own: it is the client's policy
/// for fewer buckets, and a role's inline quota (10,240) is larger than
/// the managed policy's the client's is held to.
fn role_trust_sizes<'a>(
    desired: &'a Desired,
    account_id: &'a str,
) -> impl Iterator<Item = PlanError> + 'a {
    desired.clients.values().flat_map(move |client| {
        client.roles.iter().filter_map(move |role| {
            let size = document::size(&trust::trust_policy(account_id, &role.subjects));
            (size > document::ROLE_TRUST_POLICY_LIMIT).then(|| PlanError::RoleTrustTooLarge {
                role: role.name.clone(),
                client: client.name.clone(),
                file: client.source.display().to_string(),
                size,
                limit: document::ROLE_TRUST_POLICY_LIMIT,
            })
        })
    })
}

/// Every app's grant fits its user's inline quota: unlike a group's, it has
/// no managed policy to move to (see `apps`).
fn app_policy_sizes<'a>(
    desired: &'a Desired,
    account_id: &'a str,
) -> impl Iterator<Item = PlanError> + 'a {
    desired.clients.values().flat_map(move |client| {
        client.apps.iter().filter_map(move |app| {
            let size = document::size(&document::app_policy(app, client, account_id));
            (size > document::USER_INLINE_POLICY_LIMIT).then(|| PlanError::AppPolicyTooLarge {
                app: app.name.clone(),
                client: client.name.clone(),
                file: client.source.display().to_string(),
                size,
                limit: document::USER_INLINE_POLICY_LIMIT,
            })
        })
    })
}

/// Quotas that depend on the account: the size of a managed policy,
/// groups per user (counting groups provision does not manage), users and
/// groups per account.
pub(super) fn check_account_quotas(
    desired: &Desired,
    observed: &Observed,
    users: &BTreeMap<String, Role>,
    account_id: &str,
) -> Vec<PlanError> {
    let mut errors = policy_sizes(desired, observed, account_id);
    errors.extend(groups_per_user(desired, observed));
    errors.extend(account_totals(desired, observed, users));
    errors
}

/// The account's own managed policy size quota; the offline check
/// ([`check_quotas`]) already used AWS's default, so this only fires when
/// the account's is lower.
fn policy_sizes(desired: &Desired, observed: &Observed, account_id: &str) -> Vec<PlanError> {
    let limits = observed.quotas;
    let mut errors = Vec::new();
    for client in desired.clients.values() {
        let size = document::size(&document::group_policy(client, account_id));
        if size > limits.managed_policy_size && size <= document::MANAGED_POLICY_LIMIT {
            errors.push(PlanError::PolicyTooLarge {
                client: client.name.clone(),
                file: client.source.display().to_string(),
                size,
                limit: limits.managed_policy_size,
            });
        }
    }
    errors
}

/// Developers that would be in more groups than the account allows a user.
fn groups_per_user(desired: &Desired, observed: &Observed) -> Vec<PlanError> {
    let path = desired.settings.path.as_str();
    let limits = observed.quotas;
    let mut errors = Vec::new();
    let mut managed_count: BTreeMap<&str, usize> = BTreeMap::new();
    for client in desired.clients.values() {
        for dev in &client.developers {
            *managed_count.entry(dev.as_str()).or_default() += 1;
        }
    }
    // Every group the user stays in besides the loaded clients' groups
    // counts: unmanaged groups and other files' client groups alike. Only
    // managed groups this plan deletes (a directory was given) do not.
    let loaded: BTreeSet<String> = desired.clients.values().map(|c| c.group_name()).collect();
    for (user, managed) in managed_count {
        let unmanaged = observed.users.get(user).map_or(0, |u| {
            u.groups
                .iter()
                .filter(|g| !loaded.contains(*g))
                .filter(|g| {
                    !(desired.authoritative
                        && observed.groups.get(*g).is_some_and(|g| g.is_managed(path)))
                })
                .count()
        });
        if managed + unmanaged > limits.groups_per_user {
            errors.push(PlanError::TooManyGroupsForUser {
                user: user.to_owned(),
                count: managed + unmanaged,
                managed,
                unmanaged,
                limit: limits.groups_per_user,
            });
        }
    }
    errors
}

/// Users and groups the account would hold, against its quotas, when the
/// plan creates any.
fn account_totals(
    desired: &Desired,
    observed: &Observed,
    users: &BTreeMap<String, Role>,
) -> Vec<PlanError> {
    let limits = observed.quotas;
    let mut errors = Vec::new();
    let new_user_names: Vec<&String> = users
        .keys()
        .filter(|u| !observed.users.contains_key(*u))
        .collect();
    let new_users = new_user_names.len();
    let user_total = observed.users.len() + new_users;
    if new_users > 0 && user_total > limits.users {
        errors.push(PlanError::AccountQuota {
            what: "users",
            count: user_total,
            limit: limits.users,
            new: quoted(new_user_names),
        });
    }
    let new_group_names: Vec<String> = desired
        .clients
        .values()
        .map(|c| c.group_name())
        .filter(|g| !observed.groups.contains_key(g))
        .collect();
    let new_groups = new_group_names.len();
    let group_total = observed.groups.len() + new_groups;
    if new_groups > 0 && group_total > limits.groups {
        errors.push(PlanError::AccountQuota {
            what: "groups",
            count: group_total,
            limit: limits.groups,
            new: quoted(&new_group_names),
        });
    }
    errors
}

/// Names in backticks, comma-separated, at most ten then a count.
fn quoted<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> String {
    let names: Vec<String> = names
        .into_iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect();
    if names.len() > 10 {
        format!("{} and {} more", names[..10].join(", "), names.len() - 10)
    } else {
        names.join(", ")
    }
}
