//! The strays step: what the account holds that the configuration no
//! longer asks for. Managed groups of undeclared clients, managed users
//! nobody declares, policies put on managed users by hand, and managed
//! users put by hand in groups provision does not manage.

use std::collections::{BTreeMap, BTreeSet};

use super::users::observed_role;
use super::{Change, Inputs, Plan, Role};
use crate::model::{DISABLED_TAG_KEY, GROUP_POLICY_NAME, GROUP_PREFIX, ObservedUser, group_name};
use crate::policy::{arn, lint};

/// Managed groups the configuration does not declare. Given the whole
/// configuration (a directory), their clients are deleted; otherwise they
/// are out of scope: left alone, with their lint findings as warnings.
/// Records their members after the plan in `members_after`; returns the
/// deleted clients.
pub(super) fn undeclared_groups(
    inputs: &Inputs<'_>,
    members_after: &mut BTreeMap<String, BTreeSet<String>>,
    plan: &mut Plan,
) -> BTreeSet<String> {
    let mut deleted_clients = BTreeSet::new();
    for g in inputs.observed.groups.values() {
        if !g.is_managed(inputs.path) || members_after.contains_key(&g.name) {
            continue;
        }
        let client = g.name.strip_prefix(GROUP_PREFIX).unwrap_or(&g.name);
        if inputs.desired.authoritative {
            deleted_clients.insert(client.to_owned());
            members_after.insert(g.name.clone(), BTreeSet::new());
        } else {
            plan.warnings.extend(lint::out_of_scope_warnings(g));
            plan.out_of_scope.push(client.to_owned());
            members_after.insert(g.name.clone(), inputs.members_of(&g.name));
        }
    }
    deleted_clients
}

/// Managed users the configuration does not ask for: deleted when nothing
/// keeps them (see [`is_undeclared`]), with a warning where one is kept
/// that a reviewer should know of. Their removals from groups go: deleting
/// a user takes it out of every group. Returns the deleted users.
pub(super) fn undeclared_users(
    inputs: &Inputs<'_>,
    members_after: &BTreeMap<String, BTreeSet<String>>,
    deleted_clients: &BTreeSet<String>,
    plan: &mut Plan,
) -> BTreeSet<String> {
    let mut deleted_users = BTreeSet::new();
    for user in inputs.observed.users.values() {
        // A developer declared in a context file (the rest of the
        // directory of a file given alone) is part of the configuration:
        // not in scope here, and not undeclared either.
        if inputs.users.contains_key(&user.name)
            || !user.is_managed(inputs.path)
            || inputs.desired.context_developers.contains(&user.name)
        {
            continue;
        }
        let role = observed_role(user);
        let delete = is_undeclared(inputs, user, &role, members_after, deleted_clients);
        if let (false, Role::App { client }) = (delete, &role)
            && !inputs.observed.groups.contains_key(&group_name(client))
        {
            plan.warnings.push(format!(
                "user `{}` is the application user of client `{client}`, which has no group in the account and is not in the files given; its access keys stay usable: give the whole clients directory to delete it",
                user.name
            ));
        }
        if delete {
            deleted_users.insert(user.name.clone());
            delete_user(inputs, user, plan);
        }
    }
    plan.changes.retain(|c| match c {
        Change::RemoveMember { user, .. } => !deleted_users.contains(user),
        _ => true,
    });
    deleted_users
}

/// Whether managed user `user`, which no file given declares, is to be
/// deleted.
fn is_undeclared(
    inputs: &Inputs<'_>,
    user: &ObservedUser,
    role: &Role,
    members_after: &BTreeMap<String, BTreeSet<String>>,
    deleted_clients: &BTreeSet<String>,
) -> bool {
    let desired = inputs.desired;
    match role {
        // An application user goes with its client, or when its client now
        // names another application user (or none). Given the whole
        // configuration, every managed user must be accounted for, so an
        // application user of an undeclared client goes even when its group
        // is already gone (deleted by an apply cut off halfway, or by hand):
        // otherwise its key would outlive its client.
        Role::App { client } => {
            desired.authoritative
                || deleted_clients.contains(client)
                || desired.clients.contains_key(client)
        }
        // A developer's user is deleted only when no file given declares it
        // and no managed group keeps it after this plan. A disabled user
        // (`offboard --keep-user`) is in no group on purpose: it is kept
        // unless the whole configuration was given.
        Role::Developer { .. } => {
            !members_after.values().any(|m| m.contains(&user.name))
                && (desired.authoritative || !user.tags.contains_key(DISABLED_TAG_KEY))
        }
    }
}

/// Deletes `user`, saying which groups provision does not manage it leaves.
fn delete_user(inputs: &Inputs<'_>, user: &ObservedUser, plan: &mut Plan) {
    plan.changes.push(Change::DeleteUser {
        user: user.name.clone(),
        groups: user.groups.iter().cloned().collect(),
        inline_policies: user.inline_policies.keys().cloned().collect(),
        attached_policies: user.attached_policies.clone(),
        holds: None,
    });
    let unmanaged: Vec<&str> = user
        .groups
        .iter()
        .filter(|g| {
            inputs
                .observed
                .groups
                .get(*g)
                .is_none_or(|g| !g.is_managed(inputs.path))
        })
        .map(String::as_str)
        .collect();
    if !unmanaged.is_empty() {
        plan.warnings.push(format!(
            "deleting user `{}` also removes it from groups provision does not manage: {}",
            user.name,
            unmanaged
                .iter()
                .map(|g| format!("`{g}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

/// Managed users hold no policies of their own: their access comes from
/// client groups alone, so any policy on one was added by hand and may
/// reach another client's buckets. Users in scope (declared in the files
/// given, or any when the whole directory is given) lose them, shown as
/// drift first; users of other files' clients are left alone with a
/// warning. Users deleted by this plan lose them as part of that.
pub(super) fn user_policies(
    inputs: &Inputs<'_>,
    deleted_users: &BTreeSet<String>,
    plan: &mut Plan,
) {
    let (desired, path) = (inputs.desired, inputs.path);
    for user in inputs.observed.users.values() {
        // An app of `[[clients.apps]]` holds its grant as its own
        // `provision-s3`, which the apps step writes; anything else on it
        // is a hand edit like on any managed user.
        let own = |name: &String| {
            name == GROUP_POLICY_NAME && inputs.apps.contains_key(user.name.as_str())
        };
        let mut user = std::borrow::Cow::Borrowed(user);
        if user.inline_policies.keys().any(own) {
            user.to_mut().inline_policies.retain(|name, _| !own(name));
        }
        if !user.is_managed(path)
            || deleted_users.contains(&user.name)
            || (user.inline_policies.is_empty() && user.attached_policies.is_empty())
        {
            continue;
        }
        let names: Vec<String> = user
            .inline_policies
            .keys()
            .chain(&user.attached_policies)
            .map(|p| format!("`{p}`"))
            .collect();
        if !desired.authoritative && !inputs.users.contains_key(&user.name) {
            plan.warnings.push(format!(
                "managed user `{}` (not in the files given) has policies provision did not write: {}; give the whole clients directory to remove them",
                user.name,
                names.join(", ")
            ));
            continue;
        }
        plan.warnings.push(format!(
            "managed user `{}` has policies provision did not write: {}; they will be removed, as its access comes from client groups only",
            user.name,
            names.join(", ")
        ));
        plan.drift.extend(lint::user_drift(&user));
        for (name, doc) in &user.inline_policies {
            plan.changes.push(Change::DeleteUserPolicy {
                user: user.name.clone(),
                policy_name: name.clone(),
                before: doc.clone(),
            });
        }
        for arn in &user.attached_policies {
            plan.changes.push(Change::DetachUserPolicy {
                user: user.name.clone(),
                policy_arn: arn.clone(),
            });
        }
    }
}

/// Managed users that are members of groups provision does not manage: a
/// hand-made group, or a client group of another configuration (at a
/// nested path). Their access must come from client groups only, so each
/// such membership is a warning the reviewer sees before the changes.
///
/// They are not removed. IAM authorizes `RemoveUserFromGroup` on the
/// group, which is not provision's: removing members would need the
/// operator policy to allow it on every group of the account, and a group
/// made by hand may be a guardrail whose `Deny` statements taking the user
/// out would lift. `provision audit` reports them too (`unmanaged-group`).
/// Users this plan deletes leave every group anyway.
pub(super) fn unmanaged_groups(
    inputs: &Inputs<'_>,
    deleted_users: &BTreeSet<String>,
    plan: &mut Plan,
) {
    let path = inputs.path;
    for user in inputs.observed.users.values() {
        if !user.is_managed(path) || deleted_users.contains(&user.name) {
            continue;
        }
        for group in &user.groups {
            let Some(g) = inputs.observed.groups.get(group) else {
                continue;
            };
            if g.is_managed(path) {
                continue;
            }
            plan.warnings
                .push(unmanaged_group_warning(&user.name, g, path));
        }
    }
}

/// What a managed user's membership of `group` (not managed) means, and
/// what to do about it.
pub fn unmanaged_group_warning(
    user: &str,
    group: &crate::model::ObservedGroup,
    path: &str,
) -> String {
    let name = &group.name;
    let whose = if group.name.starts_with(GROUP_PREFIX) && group.path.starts_with(path) {
        format!(
            "a client group of another configuration of provision (path `{}`)",
            group.path
        )
    } else {
        "a group provision does not manage".to_owned()
    };
    format!(
        "managed user `{user}` is in group `{name}`, {whose}: provision grants access through client groups only, and that group's policies may reach another client's buckets; provision never changes a group it did not create: take the user out with `aws iam remove-user-from-group --group-name {name} --user-name {user}`"
    )
}

/// The groups of deleted clients: provision's managed policy detached and
/// deleted, then the group emptied and deleted.
pub(super) fn delete_groups(
    inputs: &Inputs<'_>,
    deleted_clients: &BTreeSet<String>,
    plan: &mut Plan,
) {
    for client in deleted_clients {
        let group = group_name(client);
        let g = &inputs.observed.groups[&group];
        let own_arn = arn::managed_policy_arn(inputs.account_id, inputs.path, client);
        if g.attached_policies.contains(&own_arn) {
            plan.changes.push(Change::DeleteManagedPolicy {
                group: group.clone(),
                arn: own_arn.clone(),
                before: inputs.observed.managed_policies.get(&own_arn).cloned(),
            });
        }
        // Every member, users deleted in this plan too: the group goes in the
        // first phase, beside those deletions, and removing a member that
        // is already gone counts as done.
        plan.changes.push(Change::DeleteGroup {
            group: group.clone(),
            members: inputs.members_of(&group).into_iter().collect(),
            inline_policies: g.inline_policies.keys().cloned().collect(),
            attached_policies: g.attached_policies.clone(),
        });
    }
}
