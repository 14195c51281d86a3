//! How the changes to roles and GitHub's OIDC provider read in a plan:
//! the lines under each (text and markdown) and its before/after (JSON).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::plan::Change;
use crate::policy::document;

/// `k=v, k=v`.
fn tags_line(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A document's lines, each prefixed with `- `.
fn removed(doc: &Value) -> impl Iterator<Item = String> + '_ {
    document::to_pretty(doc)
        .lines()
        .map(|l| format!("- {l}"))
        .collect::<Vec<_>>()
        .into_iter()
}

/// The indented lines under a change of a role or the provider; empty for
/// any other change.
pub(super) fn details(change: &Change) -> Vec<String> {
    let mut lines = Vec::new();
    let pretty = |doc: &Value| -> Vec<String> {
        document::to_pretty(doc)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    match change {
        Change::CreateOidcProvider {
            client_ids, tags, ..
        } => {
            lines.push(format!("audiences: {}", client_ids.join(", ")));
            lines.push(format!("tags: {}", tags_line(tags)));
            lines.push("kept while any role may trust it; provision never deletes it".into());
        }
        Change::CreateRole {
            path,
            tags,
            boundary,
            trust,
            max_session_seconds,
            ..
        } => {
            lines.push(format!("path: {path}"));
            lines.push(format!("tags: {}", tags_line(tags)));
            if let Some(b) = boundary {
                lines.push(format!("permissions boundary: {b}"));
            }
            lines.push(format!("max session: {max_session_seconds} s"));
            lines.push("trust policy:".into());
            lines.extend(pretty(trust));
        }
        Change::UpdateRoleTags { before, after, .. } => {
            for (k, v) in before {
                if after.get(k) != Some(v) {
                    lines.push(format!("- tag {k}={v}"));
                }
            }
            for (k, v) in after {
                if before.get(k) != Some(v) {
                    lines.push(format!("+ tag {k}={v}"));
                }
            }
        }
        Change::UpdateRoleTrust { before, after, .. } => {
            lines.push("trust policy back to the file's subjects; runs first".into());
            lines.extend(document::diff(before, after).lines().map(str::to_owned));
        }
        Change::PutRolePolicy { before, after, .. } => match before {
            None => lines.extend(pretty(after)),
            Some(before) => lines.extend(document::diff(before, after).lines().map(str::to_owned)),
        },
        Change::NarrowRolePolicy { before, after, .. } => {
            lines.push(
                "keeps only what both the live and the new policy allow; runs before anything is granted more"
                    .into(),
            );
            match after {
                Some(after) => {
                    lines.extend(document::diff(before, after).lines().map(str::to_owned))
                }
                None => {
                    lines.push("nothing of it stays: deletes the policy".into());
                    lines.extend(removed(before));
                }
            }
        }
        Change::DeleteRolePolicy { before, .. } => {
            lines.push("not written by provision; a role holds only `provision-s3`".into());
            lines.extend(removed(before));
        }
        Change::DetachRolePolicy { .. } => {
            lines.push("attached by hand; a role holds only `provision-s3`".into());
        }
        Change::SetRoleBoundary { before, after, .. } => match before {
            Some(before) => lines.push(format!("{before} → {after}")),
            None => lines.push(after.clone()),
        },
        Change::DeleteRole {
            inline_policies,
            attached_policies,
            ..
        } => {
            lines.push(
                "its app was removed from the file; GitHub Actions can no longer assume it".into(),
            );
            if !inline_policies.is_empty() {
                lines.push(format!(
                    "deletes inline policies: {}",
                    inline_policies.join(", ")
                ));
            }
            if !attached_policies.is_empty() {
                lines.push(format!(
                    "detaches policies: {}",
                    attached_policies.join(", ")
                ));
            }
        }
        _ => {}
    }
    lines
}

/// The before/after of a change of a role or the provider, for JSON.
pub(super) fn states(change: &Change) -> (Option<Value>, Option<Value>) {
    match change {
        Change::CreateOidcProvider {
            url,
            client_ids,
            tags,
        } => (
            None,
            Some(json!({"url": url, "client_ids": client_ids, "tags": tags})),
        ),
        Change::CreateRole {
            path,
            tags,
            boundary,
            trust,
            max_session_seconds,
            ..
        } => (
            None,
            Some(json!({
                "path": path,
                "tags": tags,
                "permissions_boundary": boundary,
                "trust_policy": trust,
                "max_session_seconds": max_session_seconds,
            })),
        ),
        Change::UpdateRoleTags { before, after, .. } => {
            (Some(json!({"tags": before})), Some(json!({"tags": after})))
        }
        Change::UpdateRoleTrust { before, after, .. } => (
            Some(json!({"trust_policy": before})),
            Some(json!({"trust_policy": after})),
        ),
        Change::PutRolePolicy { before, after, .. } => (before.clone(), Some(after.clone())),
        Change::NarrowRolePolicy { before, after, .. } => (Some(before.clone()), after.clone()),
        Change::DeleteRolePolicy { before, .. } => (Some(before.clone()), None),
        Change::DetachRolePolicy { policy_arn, .. } => {
            (Some(json!({"policy_arn": policy_arn})), None)
        }
        Change::SetRoleBoundary { before, after, .. } => (
            Some(json!({"permissions_boundary": before})),
            Some(json!({"permissions_boundary": after})),
        ),
        Change::DeleteRole {
            inline_policies,
            attached_policies,
            ..
        } => (
            Some(
                json!({"inline_policies": inline_policies, "attached_policies": attached_policies}),
            ),
            None,
        ),
        _ => (None, None),
    }
}
