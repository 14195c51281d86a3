//! What a plan is made of: one [`Change`] per IAM write, with what it does
//! ([`Action`]), what it touches ([`Kind`]) and when it may run
//! ([`Change::phase`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::GROUP_POLICY_NAME;

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
    OidcProvider,
    Role,
    RoleTrust,
    RolePolicy,
    RoleBoundary,
    /// A managed bucket (`manage_buckets`).
    Bucket,
    BucketPolicy,
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
            Kind::OidcProvider => "oidc-provider",
            Kind::Role => "role",
            Kind::RoleTrust => "role-trust",
            Kind::RolePolicy => "role-policy",
            Kind::RoleBoundary => "role-boundary",
            Kind::Bucket => "bucket",
            Kind::BucketPolicy => "bucket-policy",
        }
    }
}

/// One change, with everything the executor needs to carry it out.
///
/// Serializable so a reviewed plan can be saved and applied later
/// ([`super::saved`]); it holds names, paths, tags and policies, never a secret.
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
        /// The credentials the user holds, read per user after planning so
        /// the plan lists what the deletion revokes; `None` when they were
        /// not read (the planner itself does no IO). The deletion removes
        /// whatever the user holds when it runs, listed again then.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        holds: Option<crate::model::Credentials>,
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
    /// `PutUserPolicy`: write the grant of an application of
    /// `[[clients.apps]]`, provision's inline policy on its user (`before`
    /// is `None` when the policy is new). It grants only what `before` had
    /// or what a [`Change::NarrowUserPolicy`] left: anything the app loses
    /// was taken away in the first phase.
    PutUserPolicy {
        user: String,
        policy_name: String,
        before: Option<Value>,
        after: Value,
    },
    /// Take away, in the first phase, what an app's grant loses, as
    /// [`Change::NarrowGrant`] does for a client group: write `after`,
    /// what both the live grant and the new one allow, or delete the
    /// policy when nothing stays (`None`).
    NarrowUserPolicy {
        user: String,
        policy_name: String,
        before: Value,
        after: Option<Value>,
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
    /// Take over a user made by hand, named with `--adopt`: `UpdateUser`
    /// moves it to the managed path, then `TagUser` gives it provision's
    /// tags (`before` are provision's tag keys it had, which are set or
    /// removed to match `after`). It grants nothing: its other groups and
    /// own policies are removed by changes of their own in the same plan.
    AdoptUser {
        user: String,
        before_path: String,
        path: String,
        before: BTreeMap<String, String>,
        after: BTreeMap<String, String>,
    },
    /// Take over a hand-made group that already has a client group's name
    /// (`client-<client>`), named with `--adopt`: `UpdateGroup` moves it to
    /// the managed path. Its policies are then made exactly provision's by
    /// the usual changes of a managed group.
    AdoptGroup {
        group: String,
        before_path: String,
        path: String,
    },
    /// Keep a developer's user but take away its console password and
    /// deactivate its access keys, then record that with the
    /// [`DISABLED_TAG_KEY`](crate::model::DISABLED_TAG_KEY) tag (`disabled = true` in the file).
    DisableUser {
        user: String,
        /// As for [`Change::DeleteUser`]: the credentials the user holds,
        /// read after planning to list what disabling takes away.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        holds: Option<crate::model::Credentials>,
    },
    /// `CreateOpenIDConnectProvider` for GitHub Actions, tagged as
    /// provision's. Never deleted by provision (see the README).
    CreateOidcProvider {
        url: String,
        client_ids: Vec<String>,
        tags: BTreeMap<String, String>,
    },
    /// `CreateRole` for an app GitHub Actions assumes, with its trust
    /// policy, path, tags, boundary and maximum session.
    CreateRole {
        role: String,
        path: String,
        tags: BTreeMap<String, String>,
        boundary: Option<String>,
        trust: Value,
        max_session_seconds: i32,
    },
    /// `TagRole`/`UntagRole` for the tags provision manages on a role.
    UpdateRoleTags {
        role: String,
        before: BTreeMap<String, String>,
        after: BTreeMap<String, String>,
    },
    /// `UpdateAssumeRolePolicy`: the trust policy becomes the file's.
    UpdateRoleTrust {
        role: String,
        before: Value,
        after: Value,
    },
    /// `PutRolePolicy`; `before` is `None` when the policy is new.
    PutRolePolicy {
        role: String,
        policy_name: String,
        before: Option<Value>,
        after: Value,
    },
    /// As [`Change::NarrowGrant`] for a role's own policy: in the first
    /// phase, write what both the live and the new policy allow (`None`:
    /// delete it), before any role or group is granted more.
    NarrowRolePolicy {
        role: String,
        policy_name: String,
        before: Value,
        after: Option<Value>,
    },
    /// Remove an inline policy provision did not write from a managed role.
    DeleteRolePolicy {
        role: String,
        policy_name: String,
        before: Value,
    },
    /// Detach a managed policy attached by hand to a managed role.
    DetachRolePolicy {
        role: String,
        policy_arn: String,
    },
    /// `PutRolePermissionsBoundary`.
    SetRoleBoundary {
        role: String,
        before: Option<String>,
        after: String,
    },
    /// Remove a role's policies, then delete it: its app was removed from
    /// the file.
    DeleteRole {
        role: String,
        inline_policies: Vec<String>,
        attached_policies: Vec<String>,
    },
    /// Create a managed bucket in `region`, then give it `settings`: Block
    /// Public Access and Object Ownership first, then encryption,
    /// versioning and tags. Every call after the create carries
    /// `ExpectedBucketOwner` = `owner`, the plan's account.
    CreateBucket {
        bucket: String,
        client: String,
        region: String,
        owner: String,
        settings: crate::model::BucketSettings,
    },
    /// Bring a managed bucket's settings from `before` to `after`; only
    /// the ones that differ are written, in the order of
    /// [`Change::CreateBucket`], each with `ExpectedBucketOwner` = `owner`.
    ConfigureBucket {
        bucket: String,
        client: String,
        owner: String,
        before: crate::model::BucketSettings,
        after: crate::model::BucketSettings,
    },
    /// `s3:PutBucketPolicy`: write the bucket-policy layer's statements
    /// (`Sid` starting with `Provision`) into a client bucket's policy, or
    /// take them out, keeping every other statement as written. `before` is
    /// the policy as read (`None`: the bucket had none), `after` the whole
    /// new text.
    PutBucketPolicy {
        bucket: String,
        client: String,
        before: Option<String>,
        after: String,
        /// The same plan creates the bucket: the policy is written in the
        /// phase after it, so one apply converges.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        new_bucket: bool,
    },
    /// `s3:DeleteBucketPolicy`: the layer is turned off and the policy held
    /// only provision's statements (S3 refuses a policy without any).
    DeleteBucketPolicy {
        bucket: String,
        client: String,
        before: String,
    },
}

impl Change {
    /// True when `self` and `other` make the same calls: equal but for what
    /// was read only to be shown (the credentials of a user being deleted,
    /// which the deletion lists again when it runs). A key created by hand
    /// between plan and apply does not make a reviewed deletion stale.
    pub fn same_effect(&self, other: &Change) -> bool {
        fn shown_only(change: &Change) -> Change {
            let mut change = change.clone();
            if let Change::DeleteUser { holds, .. } | Change::DisableUser { holds, .. } =
                &mut change
            {
                *holds = None;
            }
            change
        }
        shown_only(self) == shown_only(other)
    }

    /// [`Change::same_effect`] for two lists of changes, in order.
    pub fn all_same_effect(a: &[Change], b: &[Change]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_effect(y))
    }

    pub fn action(&self) -> Action {
        match self {
            Change::CreateUser { .. }
            | Change::CreateGroup { .. }
            | Change::AddMember { .. }
            | Change::CreateAccessKey { .. }
            | Change::CreateOidcProvider { .. }
            | Change::CreateRole { .. }
            | Change::PutRolePolicy { before: None, .. } => Action::Create,
            Change::NarrowRolePolicy { after: None, .. } => Action::Delete,
            Change::UpdateRoleTags { .. }
            | Change::UpdateRoleTrust { .. }
            | Change::PutRolePolicy { .. }
            | Change::NarrowRolePolicy { .. }
            | Change::SetRoleBoundary { .. } => Action::Update,
            Change::DeleteRolePolicy { .. }
            | Change::DetachRolePolicy { .. }
            | Change::DeleteRole { .. } => Action::Delete,
            Change::CreateBucket { .. } => Action::Create,
            Change::PutGroupPolicy { before: None, .. }
            | Change::PutUserPolicy { before: None, .. }
            | Change::PutManagedPolicy { before: None, .. }
            | Change::PutBucketPolicy { before: None, .. } => Action::Create,
            Change::NarrowGrant { after: None, .. }
            | Change::NarrowUserPolicy { after: None, .. } => Action::Delete,
            Change::NarrowGrant { .. }
            | Change::NarrowUserPolicy { .. }
            | Change::PutUserPolicy { .. }
            | Change::PutGroupPolicy { .. }
            | Change::PutManagedPolicy { .. }
            | Change::UpdateUserTags { .. }
            | Change::SetUserBoundary { .. }
            | Change::DisableUser { .. }
            | Change::AdoptUser { .. }
            | Change::AdoptGroup { .. }
            | Change::ConfigureBucket { .. }
            | Change::PutBucketPolicy { .. } => Action::Update,
            Change::DeleteUser { .. }
            | Change::DeleteGroup { .. }
            | Change::DeleteGroupPolicy { .. }
            | Change::DetachGroupPolicy { .. }
            | Change::DeleteManagedPolicy { .. }
            | Change::RemoveMember { .. }
            | Change::RemoveUserBoundary { .. }
            | Change::DeleteUserPolicy { .. }
            | Change::DetachUserPolicy { .. }
            | Change::DeleteBucketPolicy { .. } => Action::Delete,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Change::CreateUser { .. }
            | Change::UpdateUserTags { .. }
            | Change::DeleteUser { .. }
            | Change::DisableUser { .. }
            | Change::AdoptUser { .. } => Kind::User,
            Change::CreateGroup { .. } | Change::DeleteGroup { .. } | Change::AdoptGroup { .. } => {
                Kind::Group
            }
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
            Change::DeleteUserPolicy { .. }
            | Change::DetachUserPolicy { .. }
            | Change::PutUserPolicy { .. }
            | Change::NarrowUserPolicy { .. } => Kind::UserPolicy,
            Change::CreateOidcProvider { .. } => Kind::OidcProvider,
            Change::CreateRole { .. }
            | Change::UpdateRoleTags { .. }
            | Change::DeleteRole { .. } => Kind::Role,
            Change::UpdateRoleTrust { .. } => Kind::RoleTrust,
            Change::PutRolePolicy { .. }
            | Change::NarrowRolePolicy { .. }
            | Change::DeleteRolePolicy { .. }
            | Change::DetachRolePolicy { .. } => Kind::RolePolicy,
            Change::SetRoleBoundary { .. } => Kind::RoleBoundary,
            Change::CreateBucket { .. } | Change::ConfigureBucket { .. } => Kind::Bucket,
            Change::PutBucketPolicy { .. } | Change::DeleteBucketPolicy { .. } => {
                Kind::BucketPolicy
            }
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
            | Change::AdoptUser { user, .. }
            | Change::DisableUser { user, .. } => user.clone(),
            Change::CreateGroup { group, .. }
            | Change::DeleteGroup { group, .. }
            | Change::AdoptGroup { group, .. } => group.clone(),
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
            }
            | Change::PutUserPolicy {
                user, policy_name, ..
            }
            | Change::NarrowUserPolicy {
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
            Change::CreateOidcProvider { url, .. } => url.clone(),
            Change::CreateRole { role, .. }
            | Change::UpdateRoleTags { role, .. }
            | Change::DeleteRole { role, .. }
            | Change::UpdateRoleTrust { role, .. }
            | Change::SetRoleBoundary { role, .. } => role.clone(),
            Change::PutRolePolicy {
                role, policy_name, ..
            }
            | Change::NarrowRolePolicy {
                role, policy_name, ..
            }
            | Change::DeleteRolePolicy {
                role, policy_name, ..
            } => format!("{role}/{policy_name}"),
            Change::DetachRolePolicy { role, policy_arn } => format!("{role}/{policy_arn}"),
            Change::CreateBucket { bucket, .. } | Change::ConfigureBucket { bucket, .. } => {
                bucket.clone()
            }
            Change::PutBucketPolicy { bucket, .. } | Change::DeleteBucketPolicy { bucket, .. } => {
                bucket.clone()
            }
        }
    }

    /// The change as one line: `+ user alice`, and for a first-phase
    /// narrowing `~ group-policy client-zed/provision-s3 (narrows first)`,
    /// which tells it from the later write of the same policy. An adoption
    /// says what it changes, so that it is never read as a routine update:
    /// `~ user alice: adopt (path / → /provision/, tag managed-by=provision)`.
    pub fn label(&self) -> String {
        let suffix = match self {
            Change::NarrowGrant { .. }
            | Change::NarrowUserPolicy { .. }
            | Change::NarrowRolePolicy { .. } => " (narrows first)".to_owned(),
            Change::AdoptUser {
                before_path, path, ..
            } => format!(
                ": adopt (path {before_path} → {path}, tag {}={})",
                crate::model::MANAGED_TAG_KEY,
                crate::model::MANAGED_TAG_VALUE
            ),
            Change::AdoptGroup {
                before_path, path, ..
            } => format!(": adopt (path {before_path} → {path})"),
            Change::ConfigureBucket { before, after, .. } => {
                format!(
                    ": {}",
                    super::buckets::differences(before, after).join("; ")
                )
            }
            _ => String::new(),
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
    /// Adoptions run in phase 0: they grant nothing, and every grant of the
    /// new files (memberships, policies, keys) comes in a later phase, after
    /// the adopted user's hand-made memberships and own policies are gone.
    ///
    /// Bucket policies run in phase 0 too: the layer's deny narrows (a
    /// principal that leaves a client is denied before anything else
    /// happens), and one that lets a new principal in gives nothing by
    /// itself, its grant comes from the client's group in a later phase.
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
            | Change::NarrowUserPolicy { .. }
            | Change::DeleteGroupPolicy { .. }
            | Change::DetachGroupPolicy { .. }
            | Change::DeleteUserPolicy { .. }
            | Change::DetachUserPolicy { .. }
            | Change::DeleteGroup { .. }
            | Change::AdoptUser { .. }
            | Change::AdoptGroup { .. } => 0,
            // A role's revocations (a trust policy back to the file's, its
            // own policy narrowed, policies added by hand, the role itself)
            // come first, like a user's; the provider is created then so
            // that the role that trusts it can be created in phase 1, and
            // its policy written in phase 2, once it exists.
            Change::CreateOidcProvider { .. }
            | Change::UpdateRoleTrust { .. }
            | Change::NarrowRolePolicy { .. }
            | Change::DeleteRolePolicy { .. }
            | Change::DetachRolePolicy { .. }
            | Change::DeleteRole { .. } => 0,
            Change::CreateRole { .. }
            | Change::UpdateRoleTags { .. }
            | Change::SetRoleBoundary { .. } => 1,
            Change::PutRolePolicy { .. } => 2,
            // Buckets grant nothing and depend on no IAM change; made (and
            // locked down) first, they are private before any group is
            // granted them.
            Change::CreateBucket { .. } | Change::ConfigureBucket { .. } => 0,
            // A new bucket's policy follows its creation; on a bucket that
            // exists, the layer's denies come first, like any narrowing.
            Change::PutBucketPolicy {
                new_bucket: true, ..
            } => 1,
            Change::PutBucketPolicy { .. } | Change::DeleteBucketPolicy { .. } => 0,
            Change::UpdateUserTags { .. }
            | Change::PutGroupPolicy { .. }
            | Change::PutUserPolicy { .. }
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
        if let Change::CreateBucket { client, .. }
        | Change::ConfigureBucket { client, .. }
        | Change::PutBucketPolicy { client, .. }
        | Change::DeleteBucketPolicy { client, .. } = self
        {
            return Some(client);
        }
        let group = match self {
            Change::CreateGroup { group, .. }
            | Change::DeleteGroup { group, .. }
            | Change::AdoptGroup { group, .. }
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
