//! The groups step: each client's group, created or brought up to date:
//! its grant (narrowed first where it loses anything, see [`super::grants`]),
//! the policies someone added by hand, and its members.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::grants::{GrantSite, grant_changes};
use super::{Change, Inputs, Plan};
use crate::model::{Client, GROUP_POLICY_NAME, ObservedGroup};
use crate::policy::{arn, document, lint};

/// What one client's group is to be.
struct Wanted<'a> {
    client: &'a Client,
    group: String,
    /// The client's grant ([`document::group_policy`]).
    policy: Value,
    /// The ARN of provision's managed policy for the client.
    own_arn: String,
    /// True when the grant does not fit the group's inline quota, so it
    /// goes into the managed policy instead (SPEC, Guarantee 7: such a
    /// client still works).
    as_managed: bool,
    members: BTreeSet<String>,
}

/// Client groups in the configuration: created when missing, brought up to
/// date otherwise. Returns the members every declared group has once the
/// plan is applied.
pub(super) fn plan_groups(
    inputs: &Inputs<'_>,
    plan: &mut Plan,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut members_after: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for client in inputs.desired.clients.values() {
        let policy = document::group_policy(client, inputs.account_id);
        let mut members: BTreeSet<String> = client.developers.iter().cloned().collect();
        if let Some(app) = &client.app_user {
            members.insert(app.clone());
        }
        let wanted = Wanted {
            client,
            group: client.group_name(),
            own_arn: arn::managed_policy_arn(inputs.account_id, inputs.path, &client.name),
            as_managed: document::size(&policy) > inputs.observed.quotas.group_policy_size,
            policy,
            members,
        };
        match inputs.observed.groups.get(&wanted.group) {
            None => new_group(inputs, &wanted, plan),
            Some(live) => update_group(inputs, &wanted, live, plan),
        }
        members_after.insert(wanted.group, wanted.members);
    }
    members_after
}

/// A group that does not exist yet: created, granted, filled.
fn new_group(inputs: &Inputs<'_>, wanted: &Wanted<'_>, plan: &mut Plan) {
    let group = &wanted.group;
    plan.changes.push(Change::CreateGroup {
        group: group.clone(),
        path: inputs.path.to_owned(),
    });
    plan.changes.extend(grant_changes(
        &GrantSite {
            group,
            client: &wanted.client.name,
            path: inputs.path,
            own_arn: &wanted.own_arn,
            inline: None,
            managed: None,
            as_managed: wanted.as_managed,
            quotas: &inputs.observed.quotas,
        },
        &wanted.policy,
    ));
    for user in &wanted.members {
        plan.changes.push(Change::AddMember {
            group: group.clone(),
            user: user.clone(),
        });
    }
}

/// A managed group brought to exactly what provision writes: its drift
/// shown, its grant moved to the wanted one, policies added by hand
/// removed, members added and removed.
fn update_group(inputs: &Inputs<'_>, wanted: &Wanted<'_>, live: &ObservedGroup, plan: &mut Plan) {
    let group = &wanted.group;
    let own_doc = live
        .attached_policies
        .contains(&wanted.own_arn)
        .then(|| inputs.observed.managed_policies.get(&wanted.own_arn))
        .flatten();
    plan.drift.extend(lint::group_drift(
        live,
        &wanted.policy,
        wanted.client.access,
        (&wanted.own_arn, own_doc),
        inputs.account_id,
    ));
    // An own managed policy attached but not read (it vanished between the
    // two reads) is taken to grant anything.
    let unread = Value::Null;
    let managed = live
        .attached_policies
        .contains(&wanted.own_arn)
        .then(|| own_doc.unwrap_or(&unread));
    plan.changes.extend(grant_changes(
        &GrantSite {
            group,
            client: &wanted.client.name,
            path: inputs.path,
            own_arn: &wanted.own_arn,
            inline: live.inline_policies.get(GROUP_POLICY_NAME),
            managed,
            as_managed: wanted.as_managed,
            quotas: &inputs.observed.quotas,
        },
        &wanted.policy,
    ));
    hand_added_policies(wanted, live, plan);
    let have = inputs.members_of(group);
    for user in wanted.members.difference(&have) {
        plan.changes.push(Change::AddMember {
            group: group.clone(),
            user: user.clone(),
        });
    }
    for user in have.difference(&wanted.members) {
        // Users that are deleted by this plan leave their groups as part of
        // that change (see `strays::undeclared_users`).
        plan.changes.push(Change::RemoveMember {
            group: group.clone(),
            user: user.clone(),
        });
    }
}

/// A managed group grants exactly what provision wrote: any other policy on
/// it was added by hand and could widen access, so it goes, with a warning.
fn hand_added_policies(wanted: &Wanted<'_>, live: &ObservedGroup, plan: &mut Plan) {
    let group = &wanted.group;
    for (name, doc) in &live.inline_policies {
        if name != GROUP_POLICY_NAME {
            plan.changes.push(Change::DeleteGroupPolicy {
                group: group.clone(),
                policy_name: name.clone(),
                before: doc.clone(),
            });
            plan.warnings.push(format!(
                "group `{group}` has an inline policy `{name}` that provision did not write; it will be deleted"
            ));
        }
    }
    for arn in live
        .attached_policies
        .iter()
        .filter(|a| **a != wanted.own_arn)
    {
        plan.changes.push(Change::DetachGroupPolicy {
            group: group.clone(),
            policy_arn: arn.clone(),
        });
        plan.warnings.push(format!(
            "group `{group}` has the managed policy `{arn}` attached by hand; it will be detached"
        ));
    }
}
