//! The users step: every user the configuration asks for, created or
//! brought up to date (managed tags, permissions boundary, disabled), and
//! every application user's one key.

use std::collections::{BTreeMap, BTreeSet};

use super::{Change, Inputs, Plan, PlanOptions};
use crate::model::{
    ACCESS_KEY_TAG_KEY, CLIENT_TAG_KEY, DISABLED_TAG_KEY, Desired, EMAIL_TAG_KEY, MANAGED_TAG_KEY,
    MANAGED_TAG_VALUE, Observed, ObservedUser,
};
use crate::policy::boundary;

/// The role a desired user plays; decides its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Role {
    Developer { email: Option<String> },
    App { client: String },
}

impl Role {
    pub(super) fn describe(&self) -> String {
        match self {
            Role::Developer { .. } => "a developer".to_owned(),
            Role::App { client } => format!("the application user of client `{client}`"),
        }
    }
}

/// The tags provision manages on a user: it sets these and removes the ones
/// of this set that should not be there, and leaves every other tag alone.
/// The disabled tag is among them so that re-enabling a developer removes
/// it; it is only ever *set* by [`Change::DisableUser`], after the user's
/// access was actually taken away.
const MANAGED_TAG_KEYS: [&str; 4] = [
    MANAGED_TAG_KEY,
    EMAIL_TAG_KEY,
    CLIENT_TAG_KEY,
    DISABLED_TAG_KEY,
];

/// Every tag key provision sets or reads on its users: the managed ones
/// and the record of a delivered key. A user taken over by adoption loses
/// any of them it carried, since provision wrote none of them.
pub(super) const PROVISION_TAG_KEYS: [&str; 5] = [
    MANAGED_TAG_KEY,
    EMAIL_TAG_KEY,
    CLIENT_TAG_KEY,
    DISABLED_TAG_KEY,
    ACCESS_KEY_TAG_KEY,
];

/// The tags an adopted user gets: those of a user provision creates.
pub(super) fn adopted_tags(role: &Role) -> BTreeMap<String, String> {
    desired_tags(role)
}

/// The tags of `user` whose keys are provision's ([`PROVISION_TAG_KEYS`]).
pub(super) fn provision_tags(user: &ObservedUser) -> BTreeMap<String, String> {
    user.tags
        .iter()
        .filter(|(k, _)| PROVISION_TAG_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn desired_tags(role: &Role) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    tags.insert(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned());
    match role {
        Role::Developer { email } => {
            if let Some(email) = email {
                tags.insert(EMAIL_TAG_KEY.to_owned(), email.clone());
            }
        }
        Role::App { client } => {
            tags.insert(CLIENT_TAG_KEY.to_owned(), client.clone());
        }
    }
    tags
}

fn managed_tags(user: &ObservedUser) -> BTreeMap<String, String> {
    user.tags
        .iter()
        .filter(|(k, _)| MANAGED_TAG_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(super) fn observed_role(user: &ObservedUser) -> Role {
    match user.tags.get(CLIENT_TAG_KEY) {
        Some(client) => Role::App {
            client: client.clone(),
        },
        None => Role::Developer {
            email: user.tags.get(EMAIL_TAG_KEY).cloned(),
        },
    }
}

/// A warning when the declaration of developer `user` differs from the
/// live user (`before` against the declaration's `after` tags) while the
/// user is also in managed groups of clients not in the files given: those
/// clients' files may declare it as the account has it, and applying this
/// file rewrites the developer for every client. Names both sources.
fn shared_developer_warning(
    desired: &Desired,
    observed: &Observed,
    user: &ObservedUser,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Option<String> {
    let path = desired.settings.path.as_str();
    let loaded: BTreeSet<String> = desired.clients.values().map(|c| c.group_name()).collect();
    let others: Vec<String> = user
        .groups
        .iter()
        .filter(|g| !loaded.contains(*g))
        .filter(|g| observed.groups.get(*g).is_some_and(|g| g.is_managed(path)))
        .map(|g| format!("`{g}`"))
        .collect();
    if others.is_empty() || !desired.developers.contains_key(&user.name) {
        return None;
    }
    let differing = |tags: &BTreeMap<String, String>, other: &BTreeMap<String, String>| {
        let keys: BTreeSet<&String> = tags.keys().chain(other.keys()).collect();
        keys.into_iter()
            .filter(|k| tags.get(*k) != other.get(*k))
            .map(|k| match tags.get(k) {
                Some(v) => format!("`{k}={v}`"),
                None => format!("no `{k}`"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let place = desired
        .developer_locations
        .get(&user.name)
        .map_or_else(|| "in the files given".to_owned(), |l| format!("at {l}"));
    Some(format!(
        "developer `{}` is declared {place} with {}, but the user in the account has {} and is also in {} (clients not in the files given, whose files may declare it otherwise); applying this changes `{}` for every client: make the declarations agree, or give the whole clients directory",
        user.name,
        differing(after, before),
        differing(before, after),
        others.join(", "),
        user.name
    ))
}

/// Every user the configuration asks for: its developers and its clients'
/// application users, with the role each plays.
pub(super) fn desired_users(desired: &Desired) -> BTreeMap<String, Role> {
    let mut users: BTreeMap<String, Role> = BTreeMap::new();
    for dev in desired.developers.values() {
        users.insert(
            dev.name.clone(),
            Role::Developer {
                email: dev.email.clone(),
            },
        );
    }
    for client in desired.clients.values() {
        for app in client.app_users() {
            users.insert(
                app.to_owned(),
                Role::App {
                    client: client.name.clone(),
                },
            );
        }
    }
    users
}

/// Users: create missing ones, bring managed tags and boundaries up to
/// date, and give every application user its one key.
pub(super) fn plan_users(inputs: &Inputs<'_>, options: &PlanOptions, plan: &mut Plan) {
    let mut kept_boundaries = Vec::new();
    for (name, role) in &inputs.users {
        let disabled = inputs
            .desired
            .developers
            .get(name)
            .is_some_and(|d| d.disabled);
        match inputs.observed.users.get(name) {
            // A disabled developer who has no user yet needs none.
            None if disabled => {}
            None => create_user(inputs, name, role, plan),
            Some(user) => {
                kept_boundaries.extend(update_user(
                    inputs, options, name, role, user, disabled, plan,
                ));
            }
        }
    }
    boundary_warnings(inputs, options, &kept_boundaries, plan);
}

/// A user that does not exist yet, with its key when it is an application
/// user.
fn create_user(inputs: &Inputs<'_>, name: &str, role: &Role, plan: &mut Plan) {
    plan.changes.push(Change::CreateUser {
        user: name.to_owned(),
        path: inputs.path.to_owned(),
        tags: desired_tags(role),
        boundary: inputs.boundary_of(name).cloned(),
    });
    if matches!(role, Role::App { .. }) {
        plan.changes.push(Change::CreateAccessKey {
            user: name.to_owned(),
            orphans: Vec::new(),
        });
    }
}

/// An existing managed user brought up to date: disabled, tags, boundary,
/// key. Returns the user's boundary, for a warning, when it is kept though
/// no boundary is configured.
fn update_user(
    inputs: &Inputs<'_>,
    options: &PlanOptions,
    name: &str,
    role: &Role,
    user: &ObservedUser,
    disabled: bool,
    plan: &mut Plan,
) -> Option<String> {
    let mut tags = desired_tags(role);
    if disabled {
        match user.tags.get(DISABLED_TAG_KEY) {
            Some(value) => {
                tags.insert(DISABLED_TAG_KEY.to_owned(), value.clone());
            }
            None => plan.changes.push(Change::DisableUser {
                user: name.to_owned(),
                holds: None,
            }),
        }
    }
    let before = managed_tags(user);
    if before != tags {
        plan.warnings.extend(shared_developer_warning(
            inputs.desired,
            inputs.observed,
            user,
            &before,
            &tags,
        ));
        plan.changes.push(Change::UpdateUserTags {
            user: name.to_owned(),
            before,
            after: tags,
        });
    }
    let mut kept = None;
    match (inputs.boundary_of(name), &user.permissions_boundary) {
        (Some(want), have) if have.as_ref() != Some(want) => {
            plan.changes.push(Change::SetUserBoundary {
                user: name.to_owned(),
                before: have.clone(),
                after: want.clone(),
            });
        }
        (None, Some(have)) if options.remove_boundaries => {
            plan.changes.push(Change::RemoveUserBoundary {
                user: name.to_owned(),
                before: have.clone(),
            });
        }
        (None, Some(have)) => kept = Some(format!("`{name}` (`{have}`)")),
        _ => {}
    }
    if matches!(role, Role::App { .. }) && !user.tags.contains_key(ACCESS_KEY_TAG_KEY) {
        plan.changes.push(Change::CreateAccessKey {
            user: name.to_owned(),
            orphans: user.access_keys.clone().unwrap_or_default(),
        });
    }
    kept
}

/// What a reviewer should know about boundaries: the ones kept though the
/// setting is gone (`kept`), and clients whose grants the configured
/// boundary does not allow.
fn boundary_warnings(inputs: &Inputs<'_>, options: &PlanOptions, kept: &[String], plan: &mut Plan) {
    if !kept.is_empty() {
        plan.warnings.push(format!(
            "`settings.permissions_boundary` is not set, but these managed users have a permissions boundary, which is left in place: {}; set the boundary again, or pass `--remove-boundaries` to remove them",
            kept.join(", ")
        ));
    }
    let boundary = inputs.desired.settings.permissions_boundary.as_ref();
    if let (Some(arn), Some(doc)) = (boundary, &options.boundary_document) {
        plan.warnings.extend(boundary::coverage_warnings(
            inputs.desired,
            arn,
            doc,
            inputs.account_id,
        ));
    }
}
