//! Roles as principals of the matrix: each managed role (an app GitHub
//! Actions assumes) is a row, with its own policies and boundary.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Policies, Principal};
use crate::model::{CLIENT_TAG_KEY, Desired, ObservedRole};

/// `role` and the client it belongs to: the one whose file declares it,
/// whatever its tags say; a role the configuration does not declare
/// belongs to the client its `provision:client` tag names when the
/// configuration does not declare that client, and otherwise to none, so
/// that whatever it reaches is a leak.
pub(super) fn principal(desired: &Desired, role: &ObservedRole) -> Principal {
    let configured = || {
        desired
            .clients
            .values()
            .chain(desired.context_clients.values())
    };
    let declared = configured().find(|c| c.roles.iter().any(|r| r.name == role.name));
    let clients = match declared {
        Some(client) => BTreeSet::from([client.name.clone()]),
        None => match role.tags.get(CLIENT_TAG_KEY) {
            Some(client) if !configured().any(|c| &c.name == client) => {
                BTreeSet::from([client.clone()])
            }
            _ => BTreeSet::new(),
        },
    };
    Principal {
        name: role.name.clone(),
        kind: "role",
        clients,
    }
}

/// Every policy of `role`, as [`super::policies`] gathers a user's.
pub(super) fn policies<'a>(
    role: &'a ObservedRole,
    docs: &'a BTreeMap<String, Value>,
    account_id: &str,
    unreadable: &mut BTreeSet<String>,
    unread_boundaries: &mut BTreeSet<String>,
) -> Policies<'a> {
    let mut identity: Vec<(String, &Value)> = role
        .inline_policies
        .iter()
        .map(|(name, doc)| {
            (
                format!("inline policy `{name}` of role `{}`", role.name),
                doc,
            )
        })
        .collect();
    for arn in &role.attached_policies {
        match docs.get(arn) {
            Some(doc) => identity.push((
                format!("managed policy `{arn}` attached to role `{}`", role.name),
                doc,
            )),
            None => {
                unreadable.insert(arn.clone());
            }
        }
    }
    let boundary = role.permissions_boundary.as_ref().and_then(|arn| {
        let doc = docs.get(arn);
        if doc.is_none() {
            unread_boundaries.insert(arn.clone());
        }
        doc.map(|d| (arn, d))
    });
    Policies::new(identity, boundary, account_id)
}
