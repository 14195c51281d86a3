//! The adoption step: users and groups made by hand that the operator named
//! with `--adopt` are taken over by this plan, and nothing else is.
//!
//! Adopting grants nothing. A user is moved to the managed path and tagged
//! ([`Change::AdoptUser`]); in the same plan it leaves every group provision
//! does not manage and loses its own policies (the rule for managed users,
//! applied because the rest of the plan sees the user as adopted), and it
//! gets exactly what the files grant, in later phases. A hand-made group
//! named `client-<client>` is moved to the managed path
//! ([`Change::AdoptGroup`]) and then made exactly provision's; one named
//! like the client (`new-client` for client `new-client`) is emptied and
//! deleted ([`Change::DeleteGroup`]) while `client-<client>` is created:
//! a delete and a create, shown as such. A group is deleted only when it is
//! named.

use std::collections::BTreeSet;

use super::users::{PROVISION_TAG_KEYS, Role, adopted_tags, desired_users, provision_tags};
use super::{Change, PlanError};
use crate::model::{Desired, GROUP_PREFIX, Observed, ObservedUser};

/// What adoption adds to a plan.
#[derive(Debug, Default)]
pub(super) struct Adoption {
    /// The account as the rest of the plan sees it: adopted users and
    /// groups at the managed path with provision's tags, adopted users out
    /// of the hand-made groups they leave. `None` when nothing is adopted.
    pub observed: Option<Observed>,
    pub changes: Vec<Change>,
    pub warnings: Vec<String>,
}

/// Takes over what `names` names (see the module documentation); every name
/// that cannot be taken over is an error, all reported at once.
pub(super) fn adopt(
    desired: &Desired,
    observed: &Observed,
    names: &BTreeSet<String>,
) -> Result<Adoption, Vec<PlanError>> {
    let mut adoption = Adoption::default();
    if names.is_empty() {
        return Ok(adoption);
    }
    let path = desired.settings.path.as_str();
    let users = desired_users(desired);
    let mut errors = Vec::new();
    let mut adopted_users = Vec::new();
    let mut adopted_groups = Vec::new();
    let mut deleted_groups = BTreeSet::new();
    for name in names {
        let user = observed.users.get(name);
        let group = observed.groups.get(name);
        if user.is_none() && group.is_none() {
            adoption.warnings.push(format!(
                "`--adopt {name}`: no user or group of that name is in the account; nothing to adopt (it may have been adopted or deleted by an earlier apply)"
            ));
        }
        if let Some(user) = user.filter(|u| !u.is_managed(path)) {
            match adoptable_user(user, users.get(name), path) {
                Ok(role) => adopted_users.push((user, role)),
                Err(reason) => errors.push(PlanError::CannotAdopt {
                    name: name.clone(),
                    reason,
                }),
            }
        }
        if let Some(group) = group.filter(|g| !g.is_managed(path)) {
            let nested = group.path.starts_with(path);
            let client = name.strip_prefix(GROUP_PREFIX);
            if nested {
                errors.push(PlanError::CannotAdopt {
                    name: name.clone(),
                    reason: format!(
                        "group `{name}` is at path `{}`, nested under the managed path `{path}`: it belongs to another configuration of provision, and is never taken over",
                        group.path
                    ),
                });
            } else if client.is_some_and(|c| desired.clients.contains_key(c)) {
                adopted_groups.push(group);
            } else if desired.clients.contains_key(name) {
                deleted_groups.insert(name.clone());
            } else {
                errors.push(PlanError::CannotAdopt {
                    name: name.clone(),
                    reason: format!(
                        "group `{name}` is not the group of a client in the files given: provision takes over a hand-made group only when it is named `client-<client>` (moved under `{path}`) or like the client itself (deleted, replaced by `client-<client>`); check the name"
                    ),
                });
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if adopted_users.is_empty() && adopted_groups.is_empty() && deleted_groups.is_empty() {
        return Ok(adoption);
    }
    let mut after = observed.clone();
    for group in adopted_groups {
        adoption.changes.push(Change::AdoptGroup {
            group: group.name.clone(),
            before_path: group.path.clone(),
            path: path.to_owned(),
        });
        if let Some(g) = after.groups.get_mut(&group.name) {
            g.path = path.to_owned();
        }
    }
    for name in &deleted_groups {
        let group = &observed.groups[name];
        adoption.changes.push(Change::DeleteGroup {
            group: name.clone(),
            members: observed.members(name).into_iter().collect(),
            inline_policies: group.inline_policies.keys().cloned().collect(),
            attached_policies: group.attached_policies.clone(),
        });
        adoption.warnings.push(format!(
            "group `{name}` (path `{}`) was made by hand and is replaced by `{GROUP_PREFIX}{name}`: adoption empties and deletes it, and every grant it gives its members ends",
            group.path
        ));
    }
    for (user, role) in adopted_users {
        adopt_user(
            user,
            &role,
            path,
            &deleted_groups,
            &mut after,
            &mut adoption,
        );
    }
    adoption.observed = Some(after);
    Ok(adoption)
}

/// The role a hand-made user is adopted in, or why it cannot be.
fn adoptable_user(user: &ObservedUser, role: Option<&Role>, path: &str) -> Result<Role, String> {
    let name = &user.name;
    if user.has_managed_tag() {
        return Err(format!(
            "user `{name}` carries the `managed-by=provision` tag at path `{}`: another configuration of provision (whose `settings.path` is that path) manages it, and it is never taken over",
            user.path
        ));
    }
    if user.path != path && user.path.starts_with(path) {
        return Err(format!(
            "user `{name}` is at path `{}`, nested under the managed path `{path}`, which belongs to another configuration of provision; it is never taken over",
            user.path
        ));
    }
    role.cloned().ok_or_else(|| {
        format!(
            "user `{name}` is not declared in the files given (as a developer, a client's `app_user` or an app of `[[clients.apps]]`); provision takes over only users the files declare: declare it, or check the name"
        )
    })
}

/// Plans the adoption of `user` as `role`: moved and tagged, out of every
/// group provision does not manage (those `deleted` are emptied by their
/// own deletion), and recorded in `after` as it will then be.
fn adopt_user(
    user: &ObservedUser,
    role: &Role,
    path: &str,
    deleted: &BTreeSet<String>,
    after: &mut Observed,
    adoption: &mut Adoption,
) {
    let name = &user.name;
    let tags = adopted_tags(role);
    adoption.changes.push(Change::AdoptUser {
        user: name.clone(),
        before_path: user.path.clone(),
        path: path.to_owned(),
        before: provision_tags(user),
        after: tags.clone(),
    });
    let mut left = Vec::new();
    for group in &user.groups {
        let managed_after = after.groups.get(group).is_some_and(|g| g.is_managed(path));
        if managed_after {
            continue;
        }
        left.push(format!("`{group}`"));
        if !deleted.contains(group) {
            adoption.changes.push(Change::RemoveMember {
                group: group.clone(),
                user: name.clone(),
            });
        }
    }
    if !left.is_empty() {
        adoption.warnings.push(format!(
            "adopting user `{name}` takes it out of groups provision does not manage, and so takes away what they grant it: {}; it keeps only what the files grant",
            left.join(", ")
        ));
    }
    let Some(adopted) = after.users.get_mut(name) else {
        return;
    };
    adopted.path = path.to_owned();
    // A key on record is one provision delivered; a hand-made user has
    // none, whatever its tags say, so its keys are replaced.
    adopted
        .tags
        .retain(|k, _| !PROVISION_TAG_KEYS.contains(&k.as_str()));
    adopted.tags.extend(tags);
    let keep: BTreeSet<String> = adopted
        .groups
        .iter()
        .filter(|g| after.groups.get(*g).is_some_and(|g| g.is_managed(path)))
        .cloned()
        .collect();
    adopted.groups = keep;
}

#[cfg(test)]
mod tests;
