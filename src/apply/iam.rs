//! Carrying out one change against IAM: [`Backend`] for [`Aws`], one
//! function per change kind, each safe to run again after an interruption
//! (a delete treats "already gone" as done, a create of something that
//! exists updates it).

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use super::keys::{self, KeySink};
use super::revoke;
use super::{ApplyError, Backend, gone_ok, is_no_such_entity, sdk_tags, settle, tag_changes};
use crate::aws::Aws;
use crate::model::DISABLED_TAG_KEY;
use crate::plan::Change;

impl Backend for Aws {
    // Long because it is one arm per change kind, each handing its fields
    // to the function below that carries it out.
    async fn execute(&self, change: &Change, keys: &KeySink) -> Result<(), ApplyError> {
        let iam = &self.iam;
        match change {
            Change::CreateUser {
                user,
                path,
                tags,
                boundary,
            } => create_user(iam, user, path, tags, boundary.as_deref()).await,
            Change::UpdateUserTags {
                user,
                before,
                after,
            } => update_user_tags(iam, user, before, after).await,
            Change::DeleteUser {
                user,
                groups,
                inline_policies,
                attached_policies,
                ..
            } => {
                let holdings = revoke::Holdings {
                    groups,
                    inline_policies,
                    attached_policies,
                };
                delete_user(iam, user, holdings).await
            }
            Change::DisableUser { user, .. } => disable_user(iam, user).await,
            Change::PutBucketPolicy { bucket, after, .. } => {
                super::bucket_policy::put(self, bucket, after).await
            }
            Change::DeleteBucketPolicy { bucket, .. } => {
                super::bucket_policy::delete(self, bucket).await
            }
            Change::CreateGroup { group, path } => create_group(iam, group, path).await,
            Change::PutGroupPolicy {
                group,
                policy_name,
                after,
                ..
            } => put_group_policy(iam, group, policy_name, after).await,
            Change::DeleteGroupPolicy {
                group, policy_name, ..
            } => delete_group_policy(iam, group, policy_name).await,
            Change::PutManagedPolicy {
                group,
                policy_name,
                path,
                arn,
                before,
                after,
            } => {
                let attached = before.is_some();
                put_managed_policy(iam, group, policy_name, path, arn, after, attached).await
            }
            Change::DeleteManagedPolicy { group, arn, .. } => {
                delete_own_policy(iam, group, arn).await
            }
            Change::NarrowGrant {
                group,
                policy_name,
                arn,
                after,
                ..
            } => narrow_grant(iam, group, policy_name, arn.as_deref(), after.as_ref()).await,
            Change::DeleteUserPolicy {
                user, policy_name, ..
            }
            | Change::NarrowUserPolicy {
                user,
                policy_name,
                after: None,
                ..
            } => delete_user_policy(iam, user, policy_name).await,
            Change::PutUserPolicy {
                user,
                policy_name,
                after,
                ..
            }
            | Change::NarrowUserPolicy {
                user,
                policy_name,
                after: Some(after),
                ..
            } => put_user_policy(iam, user, policy_name, after).await,
            Change::DetachUserPolicy { user, policy_arn } => {
                detach_user_policy(iam, user, policy_arn).await
            }
            Change::DetachGroupPolicy { group, policy_arn } => {
                detach_group_policy(iam, group, policy_arn).await
            }
            Change::DeleteGroup {
                group,
                members,
                inline_policies,
                attached_policies,
            } => delete_group(iam, group, members, inline_policies, attached_policies).await,
            Change::AddMember { group, user } => add_member(iam, group, user).await,
            Change::RemoveMember { group, user } => remove_member(iam, group, user).await,
            Change::CreateAccessKey { user, orphans } => {
                keys::create_access_key(self, user, orphans, keys).await
            }
            Change::SetUserBoundary { user, after, .. } => {
                set_user_boundary(iam, user, after).await
            }
            Change::RemoveUserBoundary { user, .. } => remove_user_boundary(iam, user).await,
            Change::AdoptUser {
                user,
                path,
                before,
                after,
                ..
            } => adopt_user(iam, user, path, before, after).await,
            Change::AdoptGroup { group, path, .. } => adopt_group(iam, group, path).await,
            Change::CreateOidcProvider { .. }
            | Change::CreateRole { .. }
            | Change::UpdateRoleTags { .. }
            | Change::UpdateRoleTrust { .. }
            | Change::PutRolePolicy { .. }
            | Change::NarrowRolePolicy { .. }
            | Change::DeleteRolePolicy { .. }
            | Change::DetachRolePolicy { .. }
            | Change::SetRoleBoundary { .. }
            | Change::DeleteRole { .. } => super::roles::execute(iam, change).await.map(|_| ()),
            Change::CreateBucket {
                bucket,
                region,
                owner,
                settings,
                ..
            } => super::buckets::create_bucket(&self.s3, bucket, region, owner, settings).await,
            Change::ConfigureBucket {
                bucket,
                owner,
                before,
                after,
                ..
            } => super::buckets::configure_bucket(&self.s3, bucket, owner, before, after).await,
        }
    }
}

/// `CreateUser` with its path, tags and permissions boundary.
async fn create_user(
    iam: &Client,
    user: &str,
    path: &str,
    tags: &BTreeMap<String, String>,
    boundary: Option<&str>,
) -> Result<(), ApplyError> {
    let tags = sdk_tags("CreateUser", tags)?;
    check!(
        "CreateUser",
        iam.create_user()
            .user_name(user)
            .path(path)
            .set_tags(Some(tags))
            .set_permissions_boundary(boundary.map(str::to_owned))
            .send()
            .await
    );
    Ok(())
}

/// Sets the managed tags that differ, then removes the ones no longer
/// wanted; tags provision does not manage are in neither map.
async fn update_user_tags(
    iam: &Client,
    user: &str,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Result<(), ApplyError> {
    let (set, unset) = tag_changes(before, after);
    let set = sdk_tags("TagUser", &set)?;
    if !set.is_empty() {
        check!(
            "TagUser",
            settle(|| iam
                .tag_user()
                .user_name(user)
                .set_tags(Some(set.clone()))
                .send())
            .await
        );
    }
    if !unset.is_empty() {
        check!(
            "UntagUser",
            iam.untag_user()
                .user_name(user)
                .set_tag_keys(Some(unset))
                .send()
                .await
        );
    }
    Ok(())
}

/// Takes over a user made by hand: moves it to the managed path, then
/// gives it provision's tags. Moved first: a user at the managed path
/// without the tag is still refused as not provision's (or adopted again
/// when named), whereas one tagged at another path would read as another
/// configuration's.
async fn adopt_user(
    iam: &Client,
    user: &str,
    path: &str,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Result<(), ApplyError> {
    check!(
        "UpdateUser",
        iam.update_user()
            .user_name(user)
            .new_path(path)
            .send()
            .await
    );
    update_user_tags(iam, user, before, after).await
}

/// Takes over a hand-made `client-<client>` group: moves it to the managed
/// path, where the rest of the plan makes its policies provision's.
async fn adopt_group(iam: &Client, group: &str, path: &str) -> Result<(), ApplyError> {
    check!(
        "UpdateGroup",
        iam.update_group()
            .group_name(group)
            .new_path(path)
            .send()
            .await
    );
    Ok(())
}

/// Revokes everything the user holds, then deletes it.
async fn delete_user(
    iam: &Client,
    user: &str,
    holdings: revoke::Holdings<'_>,
) -> Result<(), ApplyError> {
    revoke::revoke_all(iam, user, holdings).await?;
    check!(
        "DeleteUser",
        gone_ok(iam.delete_user().user_name(user).send().await)
    );
    Ok(())
}

/// Takes the user's sign-in and keys away, then records it with the
/// disabled tag.
async fn disable_user(iam: &Client, user: &str) -> Result<(), ApplyError> {
    revoke::disable(iam, user).await?;
    // Recorded last: a user tagged disabled has had its access taken away.
    let tag = Tag::builder()
        .key(DISABLED_TAG_KEY)
        .value("true")
        .build()
        .map_err(|e| ApplyError {
            operation: "TagUser".into(),
            message: e.to_string(),
        })?;
    check!(
        "TagUser",
        iam.tag_user().user_name(user).tags(tag).send().await
    );
    Ok(())
}

async fn create_group(iam: &Client, group: &str, path: &str) -> Result<(), ApplyError> {
    check!(
        "CreateGroup",
        iam.create_group().group_name(group).path(path).send().await
    );
    Ok(())
}

/// Writes provision's inline policy (or another of that name) on a group.
async fn put_group_policy(
    iam: &Client,
    group: &str,
    policy_name: &str,
    after: &Value,
) -> Result<(), ApplyError> {
    let document = after.to_string();
    check!(
        "PutGroupPolicy",
        settle(|| iam
            .put_group_policy()
            .group_name(group)
            .policy_name(policy_name)
            .policy_document(&document)
            .send())
        .await
    );
    Ok(())
}

async fn delete_group_policy(
    iam: &Client,
    group: &str,
    policy_name: &str,
) -> Result<(), ApplyError> {
    check!(
        "DeleteGroupPolicy",
        gone_ok(
            iam.delete_group_policy()
                .group_name(group)
                .policy_name(policy_name)
                .send()
                .await
        )
    );
    Ok(())
}

/// Creates provision's managed policy for a client, or, when it exists (an
/// earlier apply was cut off, or it is an update), makes the new document
/// its default version; then attaches it to the client's group unless the
/// plan read it `attached` there already (an update writes one version and
/// nothing else).
async fn put_managed_policy(
    iam: &Client,
    group: &str,
    policy_name: &str,
    path: &str,
    arn: &str,
    after: &Value,
    attached: bool,
) -> Result<(), ApplyError> {
    let document = after.to_string();
    if attached {
        return set_policy_document(iam, arn, &document).await;
    }
    let created = iam
        .create_policy()
        .policy_name(policy_name)
        .path(path)
        .policy_document(&document)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.code() == Some("EntityAlreadyExists") => {
            set_policy_document(iam, arn, &document).await?;
        }
        Err(e) => return Err(ApplyError::call("CreatePolicy", &e)),
    }
    check!(
        "AttachGroupPolicy",
        settle(|| iam
            .attach_group_policy()
            .group_name(group)
            .policy_arn(arn)
            .send())
        .await
    );
    Ok(())
}

/// Leaves `after` where the grant lives now (inline, or provision's managed
/// policy `arn`); with nothing left, removes the policy there.
async fn narrow_grant(
    iam: &Client,
    group: &str,
    policy_name: &str,
    arn: Option<&str>,
    after: Option<&Value>,
) -> Result<(), ApplyError> {
    match (arn, after) {
        (None, Some(after)) => {
            let document = after.to_string();
            check!(
                "PutGroupPolicy",
                iam.put_group_policy()
                    .group_name(group)
                    .policy_name(policy_name)
                    .policy_document(&document)
                    .send()
                    .await
            );
        }
        (None, None) => delete_group_policy(iam, group, policy_name).await?,
        (Some(arn), Some(after)) => set_policy_document(iam, arn, &after.to_string()).await?,
        (Some(arn), None) => delete_own_policy(iam, group, arn).await?,
    }
    Ok(())
}

/// `PutUserPolicy`: an app's grant (see [`Change::PutUserPolicy`]),
/// riding out IAM's eventual consistency right after the user's creation
/// as [`put_group_policy`] does.
async fn put_user_policy(
    iam: &Client,
    user: &str,
    policy_name: &str,
    after: &Value,
) -> Result<(), ApplyError> {
    let document = after.to_string();
    check!(
        "PutUserPolicy",
        settle(|| iam
            .put_user_policy()
            .user_name(user)
            .policy_name(policy_name)
            .policy_document(&document)
            .send())
        .await
    );
    Ok(())
}

async fn delete_user_policy(iam: &Client, user: &str, policy_name: &str) -> Result<(), ApplyError> {
    check!(
        "DeleteUserPolicy",
        gone_ok(
            iam.delete_user_policy()
                .user_name(user)
                .policy_name(policy_name)
                .send()
                .await
        )
    );
    Ok(())
}

async fn detach_user_policy(iam: &Client, user: &str, policy_arn: &str) -> Result<(), ApplyError> {
    check!(
        "DetachUserPolicy",
        gone_ok(
            iam.detach_user_policy()
                .user_name(user)
                .policy_arn(policy_arn)
                .send()
                .await
        )
    );
    Ok(())
}

async fn detach_group_policy(
    iam: &Client,
    group: &str,
    policy_arn: &str,
) -> Result<(), ApplyError> {
    check!(
        "DetachGroupPolicy",
        gone_ok(
            iam.detach_group_policy()
                .group_name(group)
                .policy_arn(policy_arn)
                .send()
                .await
        )
    );
    Ok(())
}

/// Empties a group of members and policies, then deletes it.
async fn delete_group(
    iam: &Client,
    group: &str,
    members: &[String],
    inline_policies: &[String],
    attached_policies: &[String],
) -> Result<(), ApplyError> {
    for user in members {
        remove_member(iam, group, user).await?;
    }
    for name in inline_policies {
        delete_group_policy(iam, group, name).await?;
    }
    for arn in attached_policies {
        detach_group_policy(iam, group, arn).await?;
    }
    check!(
        "DeleteGroup",
        gone_ok(iam.delete_group().group_name(group).send().await)
    );
    Ok(())
}

async fn add_member(iam: &Client, group: &str, user: &str) -> Result<(), ApplyError> {
    check!(
        "AddUserToGroup",
        settle(|| iam
            .add_user_to_group()
            .group_name(group)
            .user_name(user)
            .send())
        .await
    );
    Ok(())
}

async fn remove_member(iam: &Client, group: &str, user: &str) -> Result<(), ApplyError> {
    check!(
        "RemoveUserFromGroup",
        gone_ok(
            iam.remove_user_from_group()
                .group_name(group)
                .user_name(user)
                .send()
                .await
        )
    );
    Ok(())
}

async fn set_user_boundary(iam: &Client, user: &str, boundary: &str) -> Result<(), ApplyError> {
    check!(
        "PutUserPermissionsBoundary",
        settle(|| iam
            .put_user_permissions_boundary()
            .user_name(user)
            .permissions_boundary(boundary)
            .send())
        .await
    );
    Ok(())
}

async fn remove_user_boundary(iam: &Client, user: &str) -> Result<(), ApplyError> {
    check!(
        "DeleteUserPermissionsBoundary",
        iam.delete_user_permissions_boundary()
            .user_name(user)
            .send()
            .await
    );
    Ok(())
}

/// Make `document` the default version of provision's managed policy
/// `arn`, first dropping the oldest version when IAM's limit of five is
/// reached (a version that is not the default grants nothing, so the
/// others can stay: deleting them all each time cost a write per update).
async fn set_policy_document(iam: &Client, arn: &str, document: &str) -> Result<(), ApplyError> {
    make_room_for_a_version(iam, arn).await?;
    check!(
        "CreatePolicyVersion",
        iam.create_policy_version()
            .policy_arn(arn)
            .policy_document(document)
            .set_as_default(true)
            .send()
            .await
    );
    Ok(())
}

/// Detach provision's managed policy `arn` from `group` and delete it; a
/// policy already gone counts as done.
async fn delete_own_policy(iam: &Client, group: &str, arn: &str) -> Result<(), ApplyError> {
    check!(
        "DetachGroupPolicy",
        gone_ok(
            iam.detach_group_policy()
                .group_name(group)
                .policy_arn(arn)
                .send()
                .await
        )
    );
    delete_old_versions(iam, arn).await?;
    check!(
        "DeletePolicy",
        gone_ok(iam.delete_policy().policy_arn(arn).send().await)
    );
    Ok(())
}

/// IAM keeps at most this many versions of a managed policy.
const POLICY_VERSIONS: usize = 5;

/// Delete the oldest version of managed policy `arn` that is not the
/// default, when it has as many as IAM keeps.
async fn make_room_for_a_version(iam: &Client, arn: &str) -> Result<(), ApplyError> {
    let listed = check!(
        "ListPolicyVersions",
        iam.list_policy_versions().policy_arn(arn).send().await
    );
    let versions = listed.versions();
    if versions.len() < POLICY_VERSIONS {
        return Ok(());
    }
    let oldest = versions
        .iter()
        .filter(|v| !v.is_default_version())
        .min_by_key(|v| v.create_date().map(|d| (d.secs(), d.subsec_nanos())));
    if let Some(id) = oldest.and_then(|v| v.version_id()) {
        check!(
            "DeletePolicyVersion",
            gone_ok(
                iam.delete_policy_version()
                    .policy_arn(arn)
                    .version_id(id)
                    .send()
                    .await
            )
        );
    }
    Ok(())
}

/// Delete every version of managed policy `arn` but the default one: IAM
/// keeps at most five versions, and refuses to delete a policy that has
/// others. A policy already gone counts as done.
async fn delete_old_versions(iam: &Client, arn: &str) -> Result<(), ApplyError> {
    let versions = match iam.list_policy_versions().policy_arn(arn).send().await {
        Ok(v) => v,
        Err(e) if is_no_such_entity(&e) => return Ok(()),
        Err(e) => return Err(ApplyError::call("ListPolicyVersions", &e)),
    };
    for v in versions.versions() {
        if let (false, Some(id)) = (v.is_default_version(), v.version_id()) {
            check!(
                "DeletePolicyVersion",
                gone_ok(
                    iam.delete_policy_version()
                        .policy_arn(arn)
                        .version_id(id)
                        .send()
                        .await
                )
            );
        }
    }
    Ok(())
}
