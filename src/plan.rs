//! The planner: a pure function of (desired, observed) to an ordered list of
//! changes. No IO happens here, so every decision about ownership, scope and
//! ordering is tested with plain values.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{
    ACCESS_KEY_TAG_KEY, CLIENT_TAG_KEY, DISABLED_TAG_KEY, Desired, EMAIL_TAG_KEY,
    GROUP_POLICY_NAME, MANAGED_TAG_KEY, MANAGED_TAG_VALUE, Observed, ObservedUser, group_name,
};
use crate::policy::{arn, document};

mod collisions;

/// What a change does, as shown to people and in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    /// The one-character marker used in text plans, as `terraform plan` does.
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
        }
    }
}

/// The kind of IAM entity a change touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    User,
    Group,
    GroupPolicy,
    Membership,
    AccessKey,
    PermissionsBoundary,
    UserPolicy,
}

impl Kind {
    /// The spelling used in text and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::GroupPolicy => "group-policy",
            Kind::Membership => "membership",
            Kind::AccessKey => "access-key",
            Kind::PermissionsBoundary => "permissions-boundary",
            Kind::UserPolicy => "user-policy",
        }
    }
}

/// One change, with everything the executor needs to carry it out.
///
/// Serializable so a reviewed plan can be saved and applied later
/// (`saved`); it holds names, paths, tags and policies, never a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    /// `CreateUser` with path, tags and permissions boundary.
    CreateUser {
        user: String,
        path: String,
        tags: BTreeMap<String, String>,
        boundary: Option<String>,
    },
    /// Bring the tags provision manages on a user to their desired values.
    /// Tags provision does not manage are left alone.
    UpdateUserTags {
        user: String,
        before: BTreeMap<String, String>,
        after: BTreeMap<String, String>,
    },
    /// Revoke everything a user holds, then delete it.
    DeleteUser {
        user: String,
        /// Every group the user is in, managed or not: deleting a user
        /// requires leaving them all.
        groups: Vec<String>,
        inline_policies: Vec<String>,
        attached_policies: Vec<String>,
    },
    CreateGroup {
        group: String,
        path: String,
    },
    /// `PutGroupPolicy`; `before` is `None` when the policy is new.
    PutGroupPolicy {
        group: String,
        policy_name: String,
        before: Option<Value>,
        after: Value,
    },
    /// Remove an inline policy provision did not write from a managed group.
    DeleteGroupPolicy {
        group: String,
        policy_name: String,
        before: Value,
    },
    /// Create or update provision's managed policy `provision-s3-<client>`
    /// (for a client whose policy does not fit the group's inline quota)
    /// and attach it to the client's group. `before` is `None` when the
    /// policy is not attached yet.
    PutManagedPolicy {
        group: String,
        policy_name: String,
        path: String,
        arn: String,
        before: Option<Value>,
        after: Value,
    },
    /// Detach and delete provision's managed policy of a client: its policy
    /// fits inline again, or the client is deleted.
    DeleteManagedPolicy {
        group: String,
        arn: String,
        before: Option<Value>,
    },
    /// Take away, in the first phase, what a client's group loses, before
    /// any group is granted more: write `after`, what both the live grant
    /// (`before`) and the new one allow ([`document::intersection`]), where
    /// the grant lives now: inline (`arn` is `None`) or in provision's
    /// managed policy `arn`. `after` is `None` when nothing stays: the
    /// inline policy is deleted, or the managed policy detached and
    /// deleted. The new grant is written in a later phase, which the
    /// executor never starts once this failed.
    NarrowGrant {
        group: String,
        policy_name: String,
        arn: Option<String>,
        before: Value,
        after: Option<Value>,
    },
    /// Delete an inline policy someone put on a managed user: provision
    /// grants access only through client groups.
    DeleteUserPolicy {
        user: String,
        policy_name: String,
        before: Value,
    },
    /// Detach a managed policy someone attached to a managed user.
    DetachUserPolicy {
        user: String,
        policy_arn: String,
    },
    /// Detach a managed policy attached by hand to a managed group.
    DetachGroupPolicy {
        group: String,
        policy_arn: String,
    },
    /// Empty a group of members and policies, then delete it.
    DeleteGroup {
        group: String,
        members: Vec<String>,
        inline_policies: Vec<String>,
        attached_policies: Vec<String>,
    },
    AddMember {
        group: String,
        user: String,
    },
    RemoveMember {
        group: String,
        user: String,
    },
    /// Create the application user's one access key and record its id on the
    /// user. `orphans` are keys found on the user with no record that their
    /// secret was ever delivered (an apply cut off between creating a key and
    /// recording it); they are deleted first so the user never holds two.
    CreateAccessKey {
        user: String,
        orphans: Vec<String>,
    },
    /// `PutUserPermissionsBoundary`: give a user the configured boundary it
    /// lacks (`before` is `None`) or has a different one of, changed out of
    /// band or by a settings change.
    SetUserBoundary {
        user: String,
        before: Option<String>,
        after: String,
    },
    /// `DeleteUserPermissionsBoundary`, planned only when the boundary
    /// setting is gone and removal was asked for explicitly
    /// ([`PlanOptions::remove_boundaries`]).
    RemoveUserBoundary {
        user: String,
        before: String,
    },
    /// Keep a developer's user but take away its console password and
    /// deactivate its access keys, then record that with the
    /// [`DISABLED_TAG_KEY`] tag (`disabled = true` in the file).
    DisableUser {
        user: String,
    },
}

impl Change {
    pub fn action(&self) -> Action {
        match self {
            Change::CreateUser { .. }
            | Change::CreateGroup { .. }
            | Change::AddMember { .. }
            | Change::CreateAccessKey { .. } => Action::Create,
            Change::PutGroupPolicy { before: None, .. }
            | Change::PutManagedPolicy { before: None, .. } => Action::Create,
            Change::NarrowGrant { after: None, .. } => Action::Delete,
            Change::NarrowGrant { .. }
            | Change::PutGroupPolicy { .. }
            | Change::PutManagedPolicy { .. }
            | Change::UpdateUserTags { .. }
            | Change::SetUserBoundary { .. }
            | Change::DisableUser { .. } => Action::Update,
            Change::DeleteUser { .. }
            | Change::DeleteGroup { .. }
            | Change::DeleteGroupPolicy { .. }
            | Change::DetachGroupPolicy { .. }
            | Change::DeleteManagedPolicy { .. }
            | Change::RemoveMember { .. }
            | Change::RemoveUserBoundary { .. }
            | Change::DeleteUserPolicy { .. }
            | Change::DetachUserPolicy { .. } => Action::Delete,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Change::CreateUser { .. }
            | Change::UpdateUserTags { .. }
            | Change::DeleteUser { .. }
            | Change::DisableUser { .. } => Kind::User,
            Change::CreateGroup { .. } | Change::DeleteGroup { .. } => Kind::Group,
            Change::PutGroupPolicy { .. }
            | Change::NarrowGrant { .. }
            | Change::DeleteGroupPolicy { .. }
            | Change::PutManagedPolicy { .. }
            | Change::DeleteManagedPolicy { .. }
            | Change::DetachGroupPolicy { .. } => Kind::GroupPolicy,
            Change::AddMember { .. } | Change::RemoveMember { .. } => Kind::Membership,
            Change::CreateAccessKey { .. } => Kind::AccessKey,
            Change::SetUserBoundary { .. } | Change::RemoveUserBoundary { .. } => {
                Kind::PermissionsBoundary
            }
            Change::DeleteUserPolicy { .. } | Change::DetachUserPolicy { .. } => Kind::UserPolicy,
        }
    }

    /// The address of the entity, unique within a plan for its kind:
    /// `alice`, `client-acme`, `client-acme/provision-s3`, `client-acme/alice`.
    pub fn name(&self) -> String {
        match self {
            Change::CreateUser { user, .. }
            | Change::UpdateUserTags { user, .. }
            | Change::DeleteUser { user, .. }
            | Change::CreateAccessKey { user, .. }
            | Change::SetUserBoundary { user, .. }
            | Change::RemoveUserBoundary { user, .. }
            | Change::DisableUser { user } => user.clone(),
            Change::CreateGroup { group, .. } | Change::DeleteGroup { group, .. } => group.clone(),
            Change::PutGroupPolicy {
                group, policy_name, ..
            }
            | Change::DeleteGroupPolicy {
                group, policy_name, ..
            }
            | Change::PutManagedPolicy {
                group, policy_name, ..
            }
            | Change::NarrowGrant {
                group, policy_name, ..
            } => format!("{group}/{policy_name}"),
            Change::DeleteUserPolicy {
                user, policy_name, ..
            } => format!("{user}/{policy_name}"),
            Change::DetachUserPolicy { user, policy_arn } => format!("{user}/{policy_arn}"),
            Change::DeleteManagedPolicy { group, arn, .. } => {
                format!("{group}/{}", arn.rsplit('/').next().unwrap_or(arn))
            }
            Change::DetachGroupPolicy { group, policy_arn } => format!("{group}/{policy_arn}"),
            Change::AddMember { group, user } | Change::RemoveMember { group, user } => {
                format!("{group}/{user}")
            }
        }
    }

    /// The change as one line: `+ user alice`, and for a first-phase
    /// narrowing `~ group-policy client-zed/provision-s3 (narrows first)`,
    /// which tells it from the later write of the same policy.
    pub fn label(&self) -> String {
        let suffix = match self {
            Change::NarrowGrant { .. } => " (narrows first)",
            _ => "",
        };
        format!(
            "{} {} {}{suffix}",
            self.action().symbol(),
            self.kind().as_str(),
            self.name()
        )
    }

    /// Execution phase: every change of phase `n` may start only after all
    /// changes of phases below `n` succeeded. Within a phase changes are
    /// independent and run concurrently.
    ///
    /// 0 revokes (deletes and disables users, deletes removed clients'
    /// groups, removes memberships and policies added by hand, narrows
    /// client grants to what they keep) and creates users and groups:
    /// revocations depend on nothing, so a failure elsewhere never leaves a
    /// departed developer's access in place, and access taken from one
    /// client is gone before another is given it; 1 writes attributes and
    /// policies, every grant of more access among them, and moves a grant
    /// between inline and managed policy (its old place was narrowed
    /// first); 2 adds memberships and creates keys (both need the user and
    /// group to exist).
    ///
    /// The planner decides what narrows ([`Change::NarrowGrant`]), so the
    /// phase of a change follows from its variant alone, the same for a
    /// plan made now and one read back from a file.
    pub fn phase(&self) -> u8 {
        match self {
            // provision's own inline policy is deleted only when the grant
            // moves to the managed policy, written in the same phase.
            Change::DeleteGroupPolicy { policy_name, .. } if policy_name == GROUP_POLICY_NAME => 1,
            Change::CreateUser { .. }
            | Change::CreateGroup { .. }
            | Change::DeleteUser { .. }
            | Change::DisableUser { .. }
            | Change::RemoveMember { .. }
            | Change::NarrowGrant { .. }
            | Change::DeleteGroupPolicy { .. }
            | Change::DetachGroupPolicy { .. }
            | Change::DeleteUserPolicy { .. }
            | Change::DetachUserPolicy { .. }
            | Change::DeleteGroup { .. } => 0,
            Change::UpdateUserTags { .. }
            | Change::PutGroupPolicy { .. }
            | Change::PutManagedPolicy { .. }
            | Change::DeleteManagedPolicy { .. }
            | Change::SetUserBoundary { .. }
            | Change::RemoveUserBoundary { .. } => 1,
            Change::AddMember { .. } | Change::CreateAccessKey { .. } => 2,
        }
    }

    /// The client this change belongs to, when there is one; used to group
    /// changes in summaries.
    pub fn client(&self) -> Option<&str> {
        let group = match self {
            Change::CreateGroup { group, .. }
            | Change::DeleteGroup { group, .. }
            | Change::PutGroupPolicy { group, .. }
            | Change::NarrowGrant { group, .. }
            | Change::DeleteGroupPolicy { group, .. }
            | Change::DetachGroupPolicy { group, .. }
            | Change::PutManagedPolicy { group, .. }
            | Change::DeleteManagedPolicy { group, .. }
            | Change::AddMember { group, .. }
            | Change::RemoveMember { group, .. } => group,
            _ => return None,
        };
        group.strip_prefix(crate::model::GROUP_PREFIX)
    }
}

/// A reason the plan cannot be made; nothing is applied while any exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A desired user's name is taken by a user provision does not manage.
    #[error(
        "user `{name}` already exists but is not managed by provision (path `{path}`, no `managed-by=provision` tag); rename it in the file, or adopt the existing user by moving it under `{managed_path}` and tagging it `managed-by=provision`"
    )]
    UnmanagedUser {
        name: String,
        path: String,
        managed_path: String,
    },
    /// A desired user's name is taken by a user that carries provision's
    /// tag at another path: another configuration's (a nested path included),
    /// or one moved by hand. It is not this configuration's to change.
    #[error(
        "user `{name}` already exists at path `{path}`, not at the managed path `{managed_path}`: it carries the `managed-by=provision` tag, so another configuration of provision (whose `settings.path` is `{path}`) manages it, or it was moved by hand; provision manages only users at exactly its own path. Rename the user in this file, or, if it belongs here, move it with `aws iam update-user --user-name {name} --new-path {managed_path}`"
    )]
    ManagedElsewhere {
        name: String,
        path: String,
        managed_path: String,
    },
    /// A desired group's name is taken by a group outside the managed path.
    #[error(
        "group `{name}` already exists outside the managed path `{managed_path}` (its path is `{path}`); provision never takes over a group it did not create: rename the client, or move the group with `aws iam update-group --group-name {name} --new-path {managed_path}` to adopt it"
    )]
    UnmanagedGroup {
        name: String,
        path: String,
        managed_path: String,
    },
    /// A desired name differs only in case from an existing entity's.
    #[error(
        "{kind} `{name}` cannot be created: IAM names ignore case and `{existing}` already exists; use the existing spelling or another name"
    )]
    CaseClash {
        kind: &'static str,
        name: String,
        existing: String,
    },
    /// A client's generated policy does not fit IAM's inline policy quota.
    #[error(
        "the policy of client `{client}` ({file}) has {size} non-whitespace characters, over IAM's limit of {limit} for a managed policy (a policy over the group's inline quota is written as a managed policy); use fewer buckets or replace several buckets by a `bucket_prefixes` entry"
    )]
    PolicyTooLarge {
        client: String,
        /// The file the client is declared in.
        file: String,
        size: usize,
        limit: usize,
    },
    /// A user would be in more groups than IAM allows.
    #[error(
        "user `{user}` would be in {count} groups ({managed} client groups and {unmanaged} other groups), over IAM's limit of {limit} groups per user; remove it from some clients"
    )]
    TooManyGroupsForUser {
        user: String,
        count: usize,
        managed: usize,
        unmanaged: usize,
        limit: usize,
    },
    /// The account would hold more users or groups than its quota.
    #[error(
        "the account would have {count} {what}, over its quota of {limit}, with the new {what} {new}; remove clients or developers, or ask AWS for a higher quota"
    )]
    AccountQuota {
        what: &'static str,
        count: usize,
        limit: usize,
        /// The new users or groups that would exceed it, in backticks.
        new: String,
    },
    /// A loaded client's bucket or prefix reaches what the managed group of
    /// a client outside the loaded files grants in the account.
    #[error(
        "{scope} of client `{client}` ({location}) reaches {other_scope} of client `{other_client}` (group `client-{other_client}` in the account, not in the files given); a client must never reach another client's buckets: choose names or prefixes that do not overlap, or, if `{other_client}` is gone, give the whole clients directory so its group is deleted"
    )]
    LiveCollision {
        client: String,
        scope: String,
        location: String,
        other_client: String,
        other_scope: String,
    },
    /// A loaded client's CloudFront distribution is one the managed group of
    /// a client outside the loaded files may invalidate in the account: a
    /// distribution belongs to one client, as a bucket does.
    #[error(
        "CloudFront distribution `{distribution}` of client `{client}` ({location}) is also granted to client `{other_client}`, whose group `client-{other_client}` in the account (not in the files given) may invalidate {other_scope}; a distribution belongs to one client, as a bucket does: list it in one client only, or, if `{other_client}` is gone, give the whole clients directory so its group is deleted"
    )]
    LiveDistributionCollision {
        client: String,
        distribution: String,
        location: String,
        other_client: String,
        other_scope: String,
    },
    /// A desired user name is already a managed user of another role.
    #[error(
        "user `{name}` is managed by provision as {existing}, but the configuration wants it as {wanted}; use another name"
    )]
    RoleConflict {
        name: String,
        existing: String,
        wanted: String,
    },
}

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
        .collect()
}

/// The result of planning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Changes in execution order (by phase, then by kind and name).
    pub changes: Vec<Change>,
    /// Things a reviewer should know that do not block the plan.
    pub warnings: Vec<String>,
    /// Hand edits on managed groups that widen access; apply reverts them.
    pub drift: Vec<crate::policy::lint::Drift>,
    /// Managed clients that live in the account but not in the given files,
    /// left alone because the files given are not the whole configuration.
    pub out_of_scope: Vec<String>,
}

/// Counts of changes by action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action() {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to create, {} to update, {} to delete",
            self.create, self.update, self.delete
        )
    }
}

/// The role a desired user plays; decides its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    Developer { email: Option<String> },
    App { client: String },
}

impl Role {
    fn describe(&self) -> String {
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

fn observed_role(user: &ObservedUser) -> Role {
    match user.tags.get(CLIENT_TAG_KEY) {
        Some(client) => Role::App {
            client: client.clone(),
        },
        None => Role::Developer {
            email: user.tags.get(EMAIL_TAG_KEY).cloned(),
        },
    }
}

/// Choices that shape a plan beyond the files and the account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanOptions {
    /// Remove the permissions boundary of managed users when
    /// `settings.permissions_boundary` is not set (`--remove-boundaries`).
    /// Without it such users keep their boundary and the plan warns: taking
    /// a boundary off widens what a user may do, so it is never implied by a
    /// setting that is merely absent.
    pub remove_boundaries: bool,
    /// The configured boundary's policy document, normalized, when it could
    /// be read; the plan then warns about clients whose grants it does not
    /// allow (see [`crate::policy::boundary::coverage_warnings`]).
    pub boundary_document: Option<Value>,
}

/// Compute the changes that take `observed` to `desired`, with the default
/// [`PlanOptions`].
///
/// `account_id` is the account the CloudFront ARNs in group policies name.
pub fn plan(
    desired: &Desired,
    observed: &Observed,
    account_id: &str,
) -> Result<Plan, Vec<PlanError>> {
    plan_with(desired, observed, account_id, &PlanOptions::default())
}

/// Compute the changes that take `observed` to `desired` (see [`plan`]).
pub fn plan_with(
    desired: &Desired,
    observed: &Observed,
    account_id: &str,
    options: &PlanOptions,
) -> Result<Plan, Vec<PlanError>> {
    let path = desired.settings.path.as_str();
    let mut errors = Vec::new();
    let mut changes = Vec::new();
    let mut plan = Plan::default();

    // Desired users and the role each plays.
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
        if let Some(app) = &client.app_user {
            users.insert(
                app.clone(),
                Role::App {
                    client: client.name.clone(),
                },
            );
        }
    }

    // Ownership: never touch a name held by something provision did not make.
    for (name, role) in &users {
        if let Some(user) = observed.users.get(name) {
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
    }
    for client in desired.clients.values() {
        let group = client.group_name();
        if let Some(g) = observed.groups.get(&group)
            && !g.is_managed(path)
        {
            errors.push(PlanError::UnmanagedGroup {
                name: group,
                path: g.path.clone(),
                managed_path: path.to_owned(),
            });
        }
    }
    errors.extend(case_clashes(
        "user",
        users.keys().cloned(),
        observed.users.keys(),
    ));
    errors.extend(case_clashes(
        "group",
        desired.clients.values().map(|c| c.group_name()),
        observed.groups.keys(),
    ));
    errors.extend(collisions::live_collisions(desired, observed));
    errors.extend(check_account_quotas(desired, observed, &users, account_id));
    if !errors.is_empty() {
        return Err(errors);
    }

    // Users: create missing ones, bring managed tags and boundaries up to
    // date, and give every application user its one key.
    let boundary = desired.settings.permissions_boundary.as_ref();
    let mut kept_boundaries = Vec::new();
    for (name, role) in &users {
        let mut tags = desired_tags(role);
        let disabled = desired.developers.get(name).is_some_and(|d| d.disabled);
        match observed.users.get(name) {
            // A disabled developer who has no user yet needs none.
            None if disabled => {}
            None => {
                changes.push(Change::CreateUser {
                    user: name.clone(),
                    path: path.to_owned(),
                    tags,
                    boundary: desired.settings.permissions_boundary.clone(),
                });
                if matches!(role, Role::App { .. }) {
                    changes.push(Change::CreateAccessKey {
                        user: name.clone(),
                        orphans: Vec::new(),
                    });
                }
            }
            Some(user) => {
                if disabled {
                    match user.tags.get(DISABLED_TAG_KEY) {
                        Some(value) => {
                            tags.insert(DISABLED_TAG_KEY.to_owned(), value.clone());
                        }
                        None => changes.push(Change::DisableUser { user: name.clone() }),
                    }
                }
                let before = managed_tags(user);
                if before != tags {
                    plan.warnings.extend(shared_developer_warning(
                        desired, observed, user, &before, &tags,
                    ));
                    changes.push(Change::UpdateUserTags {
                        user: name.clone(),
                        before,
                        after: tags,
                    });
                }
                match (boundary, &user.permissions_boundary) {
                    (Some(want), have) if have.as_ref() != Some(want) => {
                        changes.push(Change::SetUserBoundary {
                            user: name.clone(),
                            before: have.clone(),
                            after: want.clone(),
                        });
                    }
                    (None, Some(have)) if options.remove_boundaries => {
                        changes.push(Change::RemoveUserBoundary {
                            user: name.clone(),
                            before: have.clone(),
                        });
                    }
                    (None, Some(have)) => kept_boundaries.push(format!("`{name}` (`{have}`)")),
                    _ => {}
                }
                if matches!(role, Role::App { .. }) && !user.tags.contains_key(ACCESS_KEY_TAG_KEY) {
                    changes.push(Change::CreateAccessKey {
                        user: name.clone(),
                        orphans: user.access_keys.clone().unwrap_or_default(),
                    });
                }
            }
        }
    }

    if !kept_boundaries.is_empty() {
        plan.warnings.push(format!(
            "`settings.permissions_boundary` is not set, but these managed users have a permissions boundary, which is left in place: {}; set the boundary again, or pass `--remove-boundaries` to remove them",
            kept_boundaries.join(", ")
        ));
    }
    if let (Some(arn), Some(doc)) = (boundary, &options.boundary_document) {
        plan.warnings
            .extend(crate::policy::boundary::coverage_warnings(
                desired, arn, doc, account_id,
            ));
    }

    // Members of every group, from the users' group lists, built once:
    // asking `Observed::members` per group would walk every user per group.
    let mut observed_members: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for user in observed.users.values() {
        for group in &user.groups {
            observed_members
                .entry(group.as_str())
                .or_default()
                .insert(user.name.clone());
        }
    }
    let members_of = |group: &str| observed_members.get(group).cloned().unwrap_or_default();

    // Client groups in the configuration.
    let mut members_after: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for client in desired.clients.values() {
        let group = client.group_name();
        let want_policy = document::group_policy(client, account_id);
        // A policy over the group's inline quota goes into a managed policy
        // attached to the group instead (SPEC, Guarantee 7: such a client
        // still works).
        let own_arn = arn::managed_policy_arn(account_id, path, &client.name);
        let as_managed = document::size(&want_policy) > observed.quotas.group_policy_size;
        let mut want_members: BTreeSet<String> = client.developers.iter().cloned().collect();
        if let Some(app) = &client.app_user {
            want_members.insert(app.clone());
        }
        match observed.groups.get(&group) {
            None => {
                changes.push(Change::CreateGroup {
                    group: group.clone(),
                    path: path.to_owned(),
                });
                changes.extend(grant_changes(
                    &GrantSite {
                        group: &group,
                        client: &client.name,
                        path,
                        own_arn: &own_arn,
                        inline: None,
                        managed: None,
                        as_managed,
                        quotas: &observed.quotas,
                    },
                    &want_policy,
                ));
                for user in &want_members {
                    changes.push(Change::AddMember {
                        group: group.clone(),
                        user: user.clone(),
                    });
                }
            }
            Some(g) => {
                let own_doc = g
                    .attached_policies
                    .contains(&own_arn)
                    .then(|| observed.managed_policies.get(&own_arn))
                    .flatten();
                plan.drift.extend(crate::policy::lint::group_drift(
                    g,
                    &want_policy,
                    client.access,
                    (&own_arn, own_doc),
                    account_id,
                ));
                // An own managed policy attached but not read (it vanished
                // between the two reads) is taken to grant anything.
                let unread = Value::Null;
                let managed = g
                    .attached_policies
                    .contains(&own_arn)
                    .then(|| own_doc.unwrap_or(&unread));
                changes.extend(grant_changes(
                    &GrantSite {
                        group: &group,
                        client: &client.name,
                        path,
                        own_arn: &own_arn,
                        inline: g.inline_policies.get(GROUP_POLICY_NAME),
                        managed,
                        as_managed,
                        quotas: &observed.quotas,
                    },
                    &want_policy,
                ));
                // A managed group grants exactly what provision wrote: any
                // other policy on it was added by hand and could widen access.
                for (name, doc) in &g.inline_policies {
                    if name != GROUP_POLICY_NAME {
                        changes.push(Change::DeleteGroupPolicy {
                            group: group.clone(),
                            policy_name: name.clone(),
                            before: doc.clone(),
                        });
                        plan.warnings.push(format!(
                            "group `{group}` has an inline policy `{name}` that provision did not write; it will be deleted"
                        ));
                    }
                }
                for arn in g.attached_policies.iter().filter(|a| **a != own_arn) {
                    changes.push(Change::DetachGroupPolicy {
                        group: group.clone(),
                        policy_arn: arn.clone(),
                    });
                    plan.warnings.push(format!(
                        "group `{group}` has the managed policy `{arn}` attached by hand; it will be detached"
                    ));
                }
                let have = members_of(&group);
                for user in want_members.difference(&have) {
                    changes.push(Change::AddMember {
                        group: group.clone(),
                        user: user.clone(),
                    });
                }
                for user in have.difference(&want_members) {
                    // Users that are deleted below leave their groups as
                    // part of that change.
                    changes.push(Change::RemoveMember {
                        group: group.clone(),
                        user: user.clone(),
                    });
                }
            }
        }
        members_after.insert(group, want_members);
    }

    // Managed groups the configuration does not declare.
    let mut deleted_clients = BTreeSet::new();
    for g in observed.groups.values() {
        if !g.is_managed(path) || members_after.contains_key(&g.name) {
            continue;
        }
        let client = g
            .name
            .strip_prefix(crate::model::GROUP_PREFIX)
            .unwrap_or(&g.name);
        if desired.authoritative {
            deleted_clients.insert(client.to_owned());
            members_after.insert(g.name.clone(), BTreeSet::new());
        } else {
            plan.warnings
                .extend(crate::policy::lint::out_of_scope_warnings(g));
            plan.out_of_scope.push(client.to_owned());
            members_after.insert(g.name.clone(), members_of(&g.name));
        }
    }

    // Managed users the configuration does not ask for.
    let mut deleted_users = BTreeSet::new();
    for user in observed.users.values() {
        // A developer declared in a context file (the rest of the
        // directory of a file given alone) is part of the configuration:
        // not in scope here, and not undeclared either.
        if users.contains_key(&user.name)
            || !user.is_managed(path)
            || desired.context_developers.contains(&user.name)
        {
            continue;
        }
        let role = observed_role(user);
        let delete = match role.clone() {
            // An application user goes with its client, or when its client
            // now names another application user (or none). Given the whole
            // configuration, every managed user must be accounted for, so an
            // application user of an undeclared client goes even when its
            // group is already gone (deleted by an apply cut off halfway, or
            // by hand): otherwise its key would outlive its client.
            Role::App { client } => {
                desired.authoritative
                    || deleted_clients.contains(&client)
                    || desired.clients.contains_key(&client)
            }
            // A developer's user is deleted only when no file given declares
            // it and no managed group keeps it after this plan. A disabled
            // user (`offboard --keep-user`) is in no group on purpose: it is
            // kept unless the whole configuration was given.
            Role::Developer { .. } => {
                !members_after.values().any(|m| m.contains(&user.name))
                    && (desired.authoritative
                        || !user.tags.contains_key(crate::model::DISABLED_TAG_KEY))
            }
        };
        if let (false, Role::App { client }) = (delete, &role)
            && !observed.groups.contains_key(&group_name(client))
        {
            plan.warnings.push(format!(
                "user `{}` is the application user of client `{client}`, which has no group in the account and is not in the files given; its access keys stay usable: give the whole clients directory to delete it",
                user.name
            ));
        }
        if delete {
            deleted_users.insert(user.name.clone());
            changes.push(Change::DeleteUser {
                user: user.name.clone(),
                groups: user.groups.iter().cloned().collect(),
                inline_policies: user.inline_policies.keys().cloned().collect(),
                attached_policies: user.attached_policies.clone(),
            });
            let unmanaged: Vec<&str> = user
                .groups
                .iter()
                .filter(|g| observed.groups.get(*g).is_none_or(|g| !g.is_managed(path)))
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
    }
    changes.retain(|c| match c {
        Change::RemoveMember { user, .. } => !deleted_users.contains(user),
        _ => true,
    });
    user_policy_changes(
        desired,
        observed,
        &users,
        &deleted_users,
        &mut changes,
        &mut plan,
    );

    for client in &deleted_clients {
        let group = group_name(client);
        let g = &observed.groups[&group];
        let own_arn = arn::managed_policy_arn(account_id, path, client);
        if g.attached_policies.contains(&own_arn) {
            changes.push(Change::DeleteManagedPolicy {
                group: group.clone(),
                arn: own_arn.clone(),
                before: observed.managed_policies.get(&own_arn).cloned(),
            });
        }
        // Every member, users deleted in this plan too: the group goes in the
        // first phase, beside those deletions, and removing a member that
        // is already gone counts as done.
        changes.push(Change::DeleteGroup {
            group: group.clone(),
            members: members_of(&group).into_iter().collect(),
            inline_policies: g.inline_policies.keys().cloned().collect(),
            attached_policies: g.attached_policies.clone(),
        });
    }

    // Cached: `name()` allocates, and a large plan has tens of thousands of
    // changes. Stable, like `sort_by_key`.
    changes.sort_by_cached_key(|a| (a.phase(), a.kind(), a.name()));
    plan.changes = changes;
    Ok(plan)
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

/// Managed users hold no policies of their own: their access comes from
/// client groups alone, so any policy on one was added by hand and may
/// reach another client's buckets. Users in scope (declared in the files
/// given, or any when the whole directory is given) lose them, shown as
/// drift first; users of other files' clients are left alone with a
/// warning. Users deleted by this plan lose them as part of that.
fn user_policy_changes(
    desired: &Desired,
    observed: &Observed,
    users: &BTreeMap<String, Role>,
    deleted_users: &BTreeSet<String>,
    changes: &mut Vec<Change>,
    plan: &mut Plan,
) {
    let path = desired.settings.path.as_str();
    for user in observed.users.values() {
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
        if !desired.authoritative && !users.contains_key(&user.name) {
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
        plan.drift.extend(crate::policy::lint::user_drift(user));
        for (name, doc) in &user.inline_policies {
            changes.push(Change::DeleteUserPolicy {
                user: user.name.clone(),
                policy_name: name.clone(),
                before: doc.clone(),
            });
        }
        for arn in &user.attached_policies {
            changes.push(Change::DetachUserPolicy {
                user: user.name.clone(),
                policy_arn: arn.clone(),
            });
        }
    }
}

/// Where a client group's grant lives now, and where it is to live.
struct GrantSite<'a> {
    group: &'a str,
    client: &'a str,
    /// The managed path, where provision's managed policy lives.
    path: &'a str,
    /// The ARN of provision's managed policy for this client.
    own_arn: &'a str,
    /// The live inline `provision-s3`, if any.
    inline: Option<&'a Value>,
    /// The live document of provision's managed policy when it is attached
    /// to the group (`Null` when it could not be read).
    managed: Option<&'a Value>,
    /// True when the new grant is to live in the managed policy (it does
    /// not fit the group's inline quota).
    as_managed: bool,
    quotas: &'a crate::model::AccountQuotas,
}

/// Where a grant is written: provision's inline policy or its managed one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Inline,
    Managed,
}

impl GrantSite<'_> {
    fn live(&self, place: Place) -> Option<&Value> {
        match place {
            Place::Inline => self.inline,
            Place::Managed => self.managed,
        }
    }

    /// Write `after` at `place` in the second phase (`before` is the state
    /// the first phase leaves there).
    fn write(&self, place: Place, before: Option<Value>, after: &Value) -> Change {
        match place {
            Place::Inline => Change::PutGroupPolicy {
                group: self.group.to_owned(),
                policy_name: GROUP_POLICY_NAME.to_owned(),
                before,
                after: after.clone(),
            },
            Place::Managed => Change::PutManagedPolicy {
                group: self.group.to_owned(),
                policy_name: arn::managed_policy_name(self.client),
                path: self.path.to_owned(),
                arn: self.own_arn.to_owned(),
                before,
                after: after.clone(),
            },
        }
    }

    /// Remove the grant at `place` in the second phase, once it moved to
    /// the other place (it was narrowed first when needed).
    fn remove(&self, place: Place, before: &Value) -> Change {
        match place {
            Place::Inline => Change::DeleteGroupPolicy {
                group: self.group.to_owned(),
                policy_name: GROUP_POLICY_NAME.to_owned(),
                before: before.clone(),
            },
            Place::Managed => Change::DeleteManagedPolicy {
                group: self.group.to_owned(),
                arn: self.own_arn.to_owned(),
                before: (!before.is_null()).then(|| before.clone()),
            },
        }
    }

    /// The first-phase write that leaves `after` at `place`, where `old`
    /// is now (`None`: nothing stays, the policy is removed).
    fn narrowing(&self, place: Place, old: &Value, after: Option<Value>) -> Change {
        let (policy_name, arn) = match place {
            Place::Inline => (GROUP_POLICY_NAME.to_owned(), None),
            Place::Managed => (
                arn::managed_policy_name(self.client),
                Some(self.own_arn.to_owned()),
            ),
        };
        Change::NarrowGrant {
            group: self.group.to_owned(),
            policy_name,
            arn,
            before: old.clone(),
            after,
        }
    }

    /// The first-phase write that leaves at `place` only what `old` and
    /// `want` both allow, and what it leaves. A narrowed document over the
    /// place's size quota is removed instead, which takes away more, never
    /// less.
    fn narrow(&self, place: Place, old: &Value, want: &Value) -> (Change, Option<Value>) {
        let quota = match place {
            Place::Inline => self.quotas.group_policy_size,
            Place::Managed => self.quotas.managed_policy_size,
        };
        let kept = document::intersection(old, want).filter(|doc| document::size(doc) <= quota);
        (self.narrowing(place, old, kept.clone()), kept)
    }
}

/// The changes that bring a client group's grant to `want`, safe by
/// construction against a bucket moving between clients (SPEC, Guarantee
/// 1): wherever a live policy allows something `want` does not, it is first
/// narrowed in place to what both allow, in the first phase; the grant of
/// anything new, and a move between inline and managed policy, come in the
/// second, which the executor never starts once the first failed. So every
/// resource a client loses is gone before any client is granted it, and a
/// grant whose revocation failed is not attempted.
///
/// A new grant that takes away only is written in the first phase
/// directly; one that only adds, in the second.
fn grant_changes(site: &GrantSite<'_>, want: &Value) -> Vec<Change> {
    let (target, other) = if site.as_managed {
        (Place::Managed, Place::Inline)
    } else {
        (Place::Inline, Place::Managed)
    };
    // An unreadable document may grant anything: it narrows to nothing.
    let only_adds = |old: &Value| !old.is_null() && document::covers(want, old);
    let mut changes = Vec::new();
    match site.live(target) {
        None => changes.push(site.write(target, None, want)),
        Some(old) if old == want => {}
        Some(old) if only_adds(old) => changes.push(site.write(target, Some(old.clone()), want)),
        Some(old) if !old.is_null() && document::covers(old, want) => {
            changes.push(site.narrowing(target, old, Some(want.clone())));
        }
        Some(old) => {
            let (narrowing, kept) = site.narrow(target, old, want);
            changes.push(narrowing);
            changes.push(site.write(target, kept, want));
        }
    }
    if let Some(old) = site.live(other) {
        if only_adds(old) {
            changes.push(site.remove(other, old));
        } else {
            let (narrowing, kept) = site.narrow(other, old, want);
            changes.push(narrowing);
            if let Some(kept) = kept {
                changes.push(site.remove(other, &kept));
            }
        }
    }
    changes
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

/// Quotas that depend on the account: groups per user (counting groups
/// provision does not manage), users and groups per account.
fn check_account_quotas(
    desired: &Desired,
    observed: &Observed,
    users: &BTreeMap<String, Role>,
    account_id: &str,
) -> Vec<PlanError> {
    let path = desired.settings.path.as_str();
    let limits = observed.quotas;
    let mut errors = Vec::new();
    // The account's own managed policy size quota; the offline check
    // (`check_quotas`) already used AWS's default, so this only fires when
    // the account's is lower.
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

#[cfg(test)]
mod tests;
