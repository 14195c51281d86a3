//! The inputs check: every reason the plan cannot be made, found before
//! any change is planned and reported all at once. Never touch a name held
//! by something provision did not make.

use std::collections::BTreeMap;

use super::users::observed_role;
use super::{Inputs, PlanError, Role, collisions, quotas};

/// Every reason the configuration cannot be planned against the account;
/// nothing is planned while any exists.
pub(super) fn check(inputs: &Inputs<'_>) -> Result<(), Vec<PlanError>> {
    let mut errors = user_ownership(inputs);
    errors.extend(group_ownership(inputs));
    errors.extend(case_clashes(
        "user",
        inputs.users.keys().cloned(),
        inputs.observed.users.keys(),
    ));
    errors.extend(case_clashes(
        "group",
        inputs.desired.clients.values().map(|c| c.group_name()),
        inputs.observed.groups.keys(),
    ));
    errors.extend(super::roles::role_ownership(inputs));
    errors.extend(case_clashes(
        "role",
        super::roles::desired_roles(inputs.desired).map(|(_, r)| r.name.clone()),
        inputs.observed.roles.keys(),
    ));
    errors.extend(collisions::live_collisions(inputs.desired, inputs.observed));
    errors.extend(quotas::check_account_quotas(
        inputs.desired,
        inputs.observed,
        &inputs.users,
        inputs.account_id,
    ));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Desired users whose name is taken by a user provision does not manage
/// here: another configuration's, someone else's, or a managed user of
/// another role.
fn user_ownership(inputs: &Inputs<'_>) -> Vec<PlanError> {
    let path = inputs.path;
    let mut errors = Vec::new();
    for (name, role) in &inputs.users {
        let Some(user) = inputs.observed.users.get(name) else {
            continue;
        };
        if user.has_managed_tag() && user.path != path {
            errors.push(PlanError::ManagedElsewhere {
                name: name.clone(),
                path: user.path.clone(),
                managed_path: path.to_owned(),
            });
        } else if !user.is_managed(path) {
            errors.push(PlanError::UnmanagedUser {
                name: name.clone(),
                path: user.path.clone(),
                managed_path: path.to_owned(),
            });
        } else {
            let existing = observed_role(user);
            let same_role = matches!(
                (&existing, role),
                (Role::Developer { .. }, Role::Developer { .. })
            ) || existing == *role;
            if !same_role {
                errors.push(PlanError::RoleConflict {
                    name: name.clone(),
                    existing: existing.describe(),
                    wanted: role.describe(),
                });
            }
        }
    }
    errors
}

/// Client groups whose name is taken by a group outside the managed path:
/// another configuration's when its path is nested under the managed one,
/// else a group provision did not create.
fn group_ownership(inputs: &Inputs<'_>) -> Vec<PlanError> {
    let mut errors = Vec::new();
    for client in inputs.desired.clients.values() {
        let group = client.group_name();
        let Some(g) = inputs.observed.groups.get(&group) else {
            continue;
        };
        if g.is_managed(inputs.path) {
            continue;
        }
        // Not managed, with a client group's name: its path is not the
        // managed path, so starting with it means nested under it.
        if g.path.starts_with(inputs.path) {
            errors.push(PlanError::GroupOfAnotherConfiguration {
                name: group,
                path: g.path.clone(),
                managed_path: inputs.path.to_owned(),
            });
        } else {
            errors.push(PlanError::UnmanagedGroup {
                name: group,
                path: g.path.clone(),
                managed_path: inputs.path.to_owned(),
            });
        }
    }
    errors
}

/// IAM names are unique regardless of case, so an existing `Alice` blocks
/// creating `alice`: catch that at plan time instead of halfway through apply.
fn case_clashes<'a, D, E>(kind: &'static str, wanted: D, existing: E) -> Vec<PlanError>
where
    D: IntoIterator<Item = String>,
    E: IntoIterator<Item = &'a String>,
{
    let existing: BTreeMap<String, &String> = existing
        .into_iter()
        .map(|e| (e.to_lowercase(), e))
        .collect();
    wanted
        .into_iter()
        .filter_map(|name| match existing.get(&name.to_lowercase()) {
            Some(other) if **other != name => Some(PlanError::CaseClash {
                kind,
                name,
                existing: (*other).clone(),
            }),
            _ => None,
        })
        .collect()
}
