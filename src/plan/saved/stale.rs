//! What changed in one entity between the facts a saved plan recorded and
//! the account now: the lines a stale plan's refusal shows under the entity,
//! so that "group `client-acme` was changed" also says "members added:
//! `mallory`" or which policy was edited.
//!
//! The facts are the JSON forms of [`ObservedUser`](crate::model::ObservedUser)
//! and, for a group, `{"group": ObservedGroup, "members": [...]}`. They are
//! read as JSON rather than as those types so that a field added to them
//! later is still reported (as "`field` changed") instead of ignored.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::policy::document;

/// Removed, and added, lines of a policy diff shown under a stale plan's
/// entity (each); the rest is counted. The point is to show what the edit
/// was about, not to replace `provision plan`: capping each sign on its
/// own keeps what was added by hand visible after a long removal.
const POLICY_DIFF_LINES: usize = 5;

/// One line per difference between `before` and `after`, in a fixed order.
pub(super) fn what_changed(before: &Value, after: &Value) -> Vec<String> {
    let before = flatten(before);
    let after = flatten(after);
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut lines = Vec::new();
    for key in keys {
        let (was, now) = (
            before.get(key).unwrap_or(&Value::Null),
            after.get(key).unwrap_or(&Value::Null),
        );
        if was == now {
            continue;
        }
        match key.as_str() {
            // The ARN follows the path and the name, which are reported.
            "arn" | "name" => {}
            "members" => set_lines(&mut lines, was, now, "members added", "members removed"),
            "groups" => set_lines(
                &mut lines,
                was,
                now,
                "added to groups",
                "removed from groups",
            ),
            "attached_policies" => set_lines(
                &mut lines,
                was,
                now,
                "managed policies attached",
                "managed policies detached",
            ),
            "access_keys" => key_lines(&mut lines, was, now),
            "tags" => tag_lines(&mut lines, was, now),
            "inline_policies" => policy_lines(&mut lines, was, now),
            "path" => lines.push(format!("path changed from {} to {}", text(was), text(now))),
            "permissions_boundary" => lines.push(match (was, now) {
                (Value::Null, now) => format!("permissions boundary {} set", text(now)),
                (was, Value::Null) => format!("permissions boundary {} removed", text(was)),
                (was, now) => format!(
                    "permissions boundary changed from {} to {}",
                    text(was),
                    text(now)
                ),
            }),
            other => lines.push(format!("`{other}` changed")),
        }
    }
    lines
}

/// The facts' fields in one map: a group's own fields are nested under
/// `group`, next to its `members`.
fn flatten(facts: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(fields) = facts {
        for (key, value) in fields {
            match (key.as_str(), value) {
                ("group", Value::Object(inner)) => {
                    out.extend(inner.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
    }
    out
}

/// A value in backticks (strings without their quotes).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

fn strings(value: &Value) -> BTreeSet<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn names(items: impl IntoIterator<Item = String>) -> String {
    items
        .into_iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn set_lines(lines: &mut Vec<String>, was: &Value, now: &Value, added: &str, removed: &str) {
    let (was, now) = (strings(was), strings(now));
    let plus: Vec<String> = now.difference(&was).cloned().collect();
    let minus: Vec<String> = was.difference(&now).cloned().collect();
    if !plus.is_empty() {
        lines.push(format!("{added}: {}", names(plus)));
    }
    if !minus.is_empty() {
        lines.push(format!("{removed}: {}", names(minus)));
    }
}

/// Access keys by their shortened id: enough to tell them apart.
fn key_lines(lines: &mut Vec<String>, was: &Value, now: &Value) {
    let (was, now) = (strings(was), strings(now));
    let plus: Vec<String> = now
        .difference(&was)
        .map(|k| crate::model::key_id_hint(k))
        .collect();
    let minus: Vec<String> = was
        .difference(&now)
        .map(|k| crate::model::key_id_hint(k))
        .collect();
    if !plus.is_empty() {
        lines.push(format!("access keys created: {}", names(plus)));
    }
    if !minus.is_empty() {
        lines.push(format!("access keys deleted: {}", names(minus)));
    }
}

fn object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn tag_lines(lines: &mut Vec<String>, was: &Value, now: &Value) {
    let (was, now) = (object(was), object(now));
    let keys: BTreeSet<&String> = was.keys().chain(now.keys()).collect();
    for key in keys {
        match (was.get(key), now.get(key)) {
            (None, Some(v)) => lines.push(format!("tag `{key}` added: {}", text(v))),
            (Some(v), None) => lines.push(format!("tag `{key}` removed (was {})", text(v))),
            (Some(a), Some(b)) if a != b => lines.push(format!(
                "tag `{key}` changed from {} to {}",
                text(a),
                text(b)
            )),
            _ => {}
        }
    }
}

/// Inline policies added, removed, or edited; an edit shows the changed
/// lines of the document, at most [`POLICY_DIFF_LINES`] removed and as
/// many added, in the diff's order.
fn policy_lines(lines: &mut Vec<String>, was: &Value, now: &Value) {
    let (was, now) = (object(was), object(now));
    let names: BTreeSet<&String> = was.keys().chain(now.keys()).collect();
    for name in names {
        match (was.get(name), now.get(name)) {
            (None, Some(_)) => lines.push(format!("inline policy `{name}` added")),
            (Some(_), None) => lines.push(format!("inline policy `{name}` deleted")),
            (Some(a), Some(b)) if a != b => {
                lines.push(format!("inline policy `{name}`: document changed"));
                let diff = document::diff(a, b);
                let (mut removed, mut added, mut hidden) = (0, 0, 0);
                for line in diff.lines() {
                    let count = if line.starts_with("- ") {
                        &mut removed
                    } else if line.starts_with("+ ") {
                        &mut added
                    } else {
                        continue;
                    };
                    *count += 1;
                    if *count <= POLICY_DIFF_LINES {
                        lines.push(format!("  {line}"));
                    } else {
                        hidden += 1;
                    }
                }
                if hidden > 0 {
                    lines.push(format!(
                        "  ... and {hidden} more changed line(s); `provision plan` shows the whole document"
                    ));
                }
            }
            _ => {}
        }
    }
}
