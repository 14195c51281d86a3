//! Printing plans for people (text, in the style of `terraform plan`) and
//! programs (JSON).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Value, json};

use crate::plan::{Action, Change, Plan, Summary};
use crate::policy::document;

/// Version of the JSON plan format; bumped on incompatible changes.
pub const JSON_FORMAT_VERSION: &str = "1";

/// Write `plan` in the style of `terraform plan`: `+` create, `~` update
/// with a readable diff, `-` delete, then a summary line.
pub fn text(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    text_styled(plan, out, false)
}

/// Like [`text`], with ANSI colours when `color` is true: `+` green, `~`
/// yellow, `-` red, warnings yellow. Callers pass true when writing to a
/// stream that strips colours where they do not belong (`anstream`).
pub fn text_styled(plan: &Plan, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let paint = Paint(color);
    // Widening drift first: someone granted a client's group more than
    // provision wrote, and the reviewer must see it before anything else.
    for drift in &plan.drift {
        for reason in &drift.widens {
            writeln!(
                out,
                "{}: DRIFT widens access: {}, policy `{}`: {reason} (apply reverts it)",
                paint.warning("warning"),
                drift.holder(),
                drift.policy
            )?;
        }
    }
    for warning in &plan.warnings {
        writeln!(out, "{}: {warning}", paint.warning("warning"))?;
    }
    if !plan.out_of_scope.is_empty() {
        writeln!(
            out,
            "note: {} managed client(s) not in the given files are left alone: {} (give the whole directory to manage them)",
            plan.out_of_scope.len(),
            plan.out_of_scope
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    if !plan.warnings.is_empty() || !plan.out_of_scope.is_empty() || !plan.drift.is_empty() {
        writeln!(out)?;
    }
    if plan.is_empty() {
        writeln!(out, "No changes. The account matches the configuration.")?;
        return Ok(());
    }
    writeln!(out, "provision will make these changes:")?;
    writeln!(out)?;
    for change in &plan.changes {
        let head = change.label();
        writeln!(out, "  {}", paint.action(change.action(), &head))?;
        for line in details(change) {
            writeln!(out, "      {}", paint.detail(&line))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{} {}.", paint.bold("Plan:"), plan.summary())?;
    Ok(())
}

/// Colours for the text plan; paints nothing when off.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn with(self, style: anstyle::Style, text: &str) -> String {
        if self.0 {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    fn action(self, action: Action, text: &str) -> String {
        let color = match action {
            Action::Create => anstyle::AnsiColor::Green,
            Action::Update => anstyle::AnsiColor::Yellow,
            Action::Delete => anstyle::AnsiColor::Red,
        };
        self.with(color.on_default().bold(), text)
    }

    /// Diff lines inside details keep the colour of what they do.
    fn detail(self, line: &str) -> String {
        if line.starts_with("+ ") {
            self.with(anstyle::AnsiColor::Green.on_default(), line)
        } else if line.starts_with("- ") {
            self.with(anstyle::AnsiColor::Red.on_default(), line)
        } else {
            line.to_owned()
        }
    }

    fn warning(self, text: &str) -> String {
        self.with(anstyle::AnsiColor::Yellow.on_default().bold(), text)
    }

    fn bold(self, text: &str) -> String {
        self.with(anstyle::Style::new().bold(), text)
    }
}

fn tags_line(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

/// One line per credential a user being deleted holds, in the order the
/// deletion revokes them; none for a user that holds nothing.
fn credential_lines(holds: &crate::model::Credentials) -> Vec<String> {
    let mut lines = Vec::new();
    if holds.console_password {
        lines.push("revokes console password".to_owned());
    }
    for id in &holds.access_keys {
        lines.push(format!(
            "revokes access key {}",
            crate::model::key_id_hint(id)
        ));
    }
    for id in &holds.signing_certificates {
        lines.push(format!("revokes signing certificate {id}"));
    }
    for id in &holds.ssh_keys {
        lines.push(format!("revokes SSH public key {id}"));
    }
    for id in &holds.service_credentials {
        lines.push(format!("revokes service-specific credential {id}"));
    }
    for serial in &holds.mfa_devices {
        lines.push(format!("revokes MFA device {serial}"));
    }
    lines
}

/// The indented lines shown under a change.
// Long because it is one arm per change kind, each printing that kind's
// fields; splitting it would scatter one table across functions.
pub(super) fn details(change: &Change) -> Vec<String> {
    let mut lines = Vec::new();
    match change {
        Change::CreateOidcProvider { .. }
        | Change::CreateRole { .. }
        | Change::UpdateRoleTags { .. }
        | Change::UpdateRoleTrust { .. }
        | Change::PutRolePolicy { .. }
        | Change::NarrowRolePolicy { .. }
        | Change::DeleteRolePolicy { .. }
        | Change::DetachRolePolicy { .. }
        | Change::SetRoleBoundary { .. }
        | Change::DeleteRole { .. } => lines.extend(super::roles::details(change)),
        Change::CreateUser {
            path,
            tags,
            boundary,
            ..
        } => {
            lines.push(format!("path: {path}"));
            lines.push(format!("tags: {}", tags_line(tags)));
            if let Some(b) = boundary {
                lines.push(format!("permissions boundary: {b}"));
            }
        }
        Change::UpdateUserTags { before, after, .. } => {
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
        Change::DeleteUser {
            groups,
            inline_policies,
            attached_policies,
            holds,
            ..
        } => {
            match holds {
                Some(holds) => lines.extend(credential_lines(holds)),
                // Not read (a plan made without the account, as in tests):
                // say what the deletion would look for.
                None => lines.push(
                    "revokes: console password, access keys, signing certificates, SSH keys, \
                     service-specific credentials, MFA devices; then deletes the user"
                        .into(),
                ),
            }
            if !groups.is_empty() {
                lines.push(format!("leaves groups: {}", list(groups)));
            }
            if !inline_policies.is_empty() {
                lines.push(format!(
                    "deletes inline policies: {}",
                    list(inline_policies)
                ));
            }
            if !attached_policies.is_empty() {
                lines.push(format!("detaches policies: {}", list(attached_policies)));
            }
        }
        Change::CreateGroup { path, .. } => lines.push(format!("path: {path}")),
        Change::PutBucketPolicy { before, after, .. } => {
            lines.push(
                "provision's statements (`Sid` starting with `Provision`); every other statement is kept as written"
                    .into(),
            );
            let after = policy_value(after);
            match before {
                None => lines.extend(document::to_pretty(&after).lines().map(str::to_owned)),
                Some(before) => lines.extend(
                    document::diff(&policy_value(before), &after)
                        .lines()
                        .map(str::to_owned),
                ),
            }
        }
        Change::DeleteBucketPolicy { before, .. } => {
            lines.push(
                "the bucket-policy layer is off and the policy holds only provision's statements: deletes the policy"
                    .into(),
            );
            lines.extend(
                document::to_pretty(&policy_value(before))
                    .lines()
                    .map(|l| format!("- {l}")),
            );
        }
        Change::PutGroupPolicy { before, after, .. } => match before {
            None => lines.extend(document::to_pretty(after).lines().map(str::to_owned)),
            Some(before) => {
                lines.extend(document::diff(before, after).lines().map(str::to_owned));
            }
        },
        Change::DeleteGroupPolicy {
            policy_name,
            before,
            ..
        } => {
            if policy_name == crate::model::GROUP_POLICY_NAME {
                lines.push(
                    "provision's inline policy: the grant moves to the managed policy, written in the same phase"
                        .into(),
                );
            } else {
                lines.push(
                    "not written by provision; removed so the group grants only its client's access"
                        .into(),
                );
            }
            lines.extend(document::to_pretty(before).lines().map(|l| format!("- {l}")));
        }
        Change::NarrowGrant {
            arn, before, after, ..
        } => {
            lines.push(
                "keeps only what both the live and the new grant allow; runs before any group is granted more"
                    .into(),
            );
            match (arn, after) {
                (Some(arn), Some(_)) => lines.push(format!("managed policy {arn}")),
                (Some(arn), None) => lines.push(format!(
                    "nothing of it stays: detaches and deletes the managed policy {arn}"
                )),
                (None, None) => lines.push("nothing of it stays: deletes the policy".into()),
                (None, Some(_)) => {}
            }
            match after {
                Some(after) => lines.extend(document::diff(before, after).lines().map(str::to_owned)),
                None => lines.extend(document::to_pretty(before).lines().map(|l| format!("- {l}"))),
            }
        }
        Change::PutUserPolicy { before, after, .. } => {
            lines.push("the grant of an app of `[[clients.apps]]`, on its own user".into());
            match before {
                None => lines.extend(document::to_pretty(after).lines().map(str::to_owned)),
                Some(before) => {
                    lines.extend(document::diff(before, after).lines().map(str::to_owned));
                }
            }
        }
        Change::NarrowUserPolicy { before, after, .. } => {
            lines.push(
                "keeps only what both the live and the new grant allow; runs before anyone is granted more"
                    .into(),
            );
            match after {
                Some(after) => lines.extend(document::diff(before, after).lines().map(str::to_owned)),
                None => {
                    lines.push("nothing of it stays: deletes the policy".into());
                    lines.extend(document::to_pretty(before).lines().map(|l| format!("- {l}")));
                }
            }
        }
        Change::DeleteUserPolicy { before, .. } => {
            lines.push(
                "not written by provision; managed users hold no policies of their own, their access comes from client groups"
                    .into(),
            );
            lines.extend(document::to_pretty(before).lines().map(|l| format!("- {l}")));
        }
        Change::DetachUserPolicy { .. } => lines.push(
            "attached by hand; detached: managed users hold no policies of their own, their access comes from client groups"
                .into(),
        ),
        Change::PutManagedPolicy {
            arn, before, after, ..
        } => {
            lines.push(format!(
                "managed policy {arn}, attached to the group: the policy does not fit the group's inline quota"
            ));
            match before {
                None => lines.extend(document::to_pretty(after).lines().map(str::to_owned)),
                Some(before) => {
                    lines.extend(document::diff(before, after).lines().map(str::to_owned));
                }
            }
        }
        Change::DeleteManagedPolicy { arn, .. } => lines.push(format!(
            "detaches and deletes provision's managed policy {arn}; the policy fits inline again, or the client goes"
        )),
        Change::DetachGroupPolicy { .. } => lines
            .push("attached by hand; detached so the group grants only its client's access".into()),
        Change::DeleteGroup {
            members,
            inline_policies,
            ..
        } => {
            if !members.is_empty() {
                lines.push(format!("removes members: {}", list(members)));
            }
            if !inline_policies.is_empty() {
                lines.push(format!(
                    "deletes inline policies: {}",
                    list(inline_policies)
                ));
            }
        }
        Change::AddMember { .. } | Change::RemoveMember { .. } => {}
        Change::AdoptUser { before, after, .. } => {
            lines.push(
                "made by hand; taken over (`--adopt`): from now on provision manages it, and it keeps only what the files grant"
                    .into(),
            );
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
        Change::AdoptGroup { .. } => lines.push(
            "made by hand; taken over (`--adopt`): its policies become exactly provision's".into(),
        ),
        Change::DisableUser { holds: None, .. } => lines.push(
            "disables: deletes the console password, deactivates access keys; keeps the user"
                .into(),
        ),
        // Disabling touches only the password and the access keys.
        Change::DisableUser {
            holds: Some(holds), ..
        } => {
            if holds.console_password {
                lines.push("deletes console password".to_owned());
            }
            for id in &holds.access_keys {
                lines.push(format!(
                    "deactivates access key {}",
                    crate::model::key_id_hint(id)
                ));
            }
            lines.push("keeps the user".to_owned());
        }
        Change::CreateAccessKey { orphans, .. } => {
            if !orphans.is_empty() {
                lines.push(format!(
                    "replaces keys whose secret was never delivered: {}",
                    list(orphans)
                ));
            }
            lines.push("the secret is delivered once, when apply creates it".into());
        }
        Change::SetUserBoundary { before, after, .. } => {
            if let Some(before) = before {
                lines.push(format!("- {before}"));
            }
            lines.push(format!("+ {after}"));
        }
        Change::RemoveUserBoundary { before, .. } => {
            lines.push(format!("- {before}"));
            lines.push(
                "`settings.permissions_boundary` is not set and `--remove-boundaries` was given"
                    .into(),
            );
        }
        Change::CreateBucket {
            region, settings, ..
        } => lines.extend(bucket_lines(region, settings)),
        // The label lists what changes.
        Change::ConfigureBucket { .. } => {}
    }
    lines
}

/// What a bucket about to be created will be.
fn bucket_lines(region: &str, settings: &crate::model::BucketSettings) -> Vec<String> {
    let mut lines = vec![
        format!("region: {region}"),
        format!(
            "public access block: {}",
            crate::plan::buckets::describe_block(settings.public_access_block.as_ref())
        ),
        format!(
            "object ownership: {}",
            settings.object_ownership.as_deref().unwrap_or("none")
        ),
        format!("encryption: {}", settings.encryption),
    ];
    if let Some(status) = &settings.versioning {
        lines.push(format!("versioning: {status}"));
    }
    lines.push(format!("tags: {}", tags_line(&settings.tags)));
    lines.push("never deleted by provision".to_owned());
    lines
}

#[derive(Serialize)]
struct JsonChange {
    action: crate::plan::Action,
    kind: crate::plan::Kind,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<Value>,
    /// True for a first-phase narrowing of a client's grant
    /// ([`Change::NarrowGrant`]); the new grant follows as its own change.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    narrows_first: bool,
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    format_version: &'static str,
    changes: Vec<JsonChange>,
    summary: Summary,
    warnings: &'a [String],
    /// Hand edits on managed groups that widen access.
    drift: &'a [crate::policy::lint::Drift],
    out_of_scope: &'a [String],
}

/// The before/after values shown for a change in JSON. Never includes a
/// secret: access-key changes carry only key ids.
fn states(change: &Change) -> (Option<Value>, Option<Value>) {
    match change {
        Change::CreateOidcProvider { .. }
        | Change::CreateRole { .. }
        | Change::UpdateRoleTags { .. }
        | Change::UpdateRoleTrust { .. }
        | Change::PutRolePolicy { .. }
        | Change::NarrowRolePolicy { .. }
        | Change::DeleteRolePolicy { .. }
        | Change::DetachRolePolicy { .. }
        | Change::SetRoleBoundary { .. }
        | Change::DeleteRole { .. } => super::roles::states(change),
        Change::CreateUser {
            path,
            tags,
            boundary,
            ..
        } => (
            None,
            Some(json!({"path": path, "tags": tags, "permissions_boundary": boundary})),
        ),
        Change::UpdateUserTags { before, after, .. } => {
            (Some(json!({"tags": before})), Some(json!({"tags": after})))
        }
        Change::DeleteUser {
            groups,
            inline_policies,
            attached_policies,
            ..
        } => (
            Some(
                json!({"groups": groups, "inline_policies": inline_policies, "attached_policies": attached_policies}),
            ),
            None,
        ),
        Change::CreateGroup { path, .. } => (None, Some(json!({"path": path}))),
        Change::PutBucketPolicy { before, after, .. } => (
            before.as_deref().map(policy_value),
            Some(policy_value(after)),
        ),
        Change::DeleteBucketPolicy { before, .. } => (Some(policy_value(before)), None),
        Change::PutGroupPolicy { before, after, .. } => (before.clone(), Some(after.clone())),
        Change::DeleteGroupPolicy { before, .. } | Change::DeleteUserPolicy { before, .. } => {
            (Some(before.clone()), None)
        }
        Change::NarrowGrant { before, after, .. }
        | Change::NarrowUserPolicy { before, after, .. } => (Some(before.clone()), after.clone()),
        Change::PutUserPolicy { before, after, .. } => (before.clone(), Some(after.clone())),
        Change::DetachUserPolicy { policy_arn, .. } => {
            (Some(json!({"policy_arn": policy_arn})), None)
        }
        Change::PutManagedPolicy { before, after, .. } => (before.clone(), Some(after.clone())),
        Change::DeleteManagedPolicy { arn, before, .. } => {
            (Some(json!({"policy_arn": arn, "document": before})), None)
        }
        Change::DetachGroupPolicy { policy_arn, .. } => {
            (Some(json!({"policy_arn": policy_arn})), None)
        }
        Change::DeleteGroup {
            members,
            inline_policies,
            attached_policies,
            ..
        } => (
            Some(
                json!({"members": members, "inline_policies": inline_policies, "attached_policies": attached_policies}),
            ),
            None,
        ),
        Change::AddMember { .. } | Change::RemoveMember { .. } => (None, None),
        Change::AdoptUser {
            before_path,
            path,
            before,
            after,
            ..
        } => (
            Some(json!({"path": before_path, "tags": before})),
            Some(json!({"path": path, "tags": after, "adopted": true})),
        ),
        Change::AdoptGroup {
            before_path, path, ..
        } => (
            Some(json!({"path": before_path})),
            Some(json!({"path": path, "adopted": true})),
        ),
        Change::DisableUser { .. } => (
            Some(json!({"disabled": false})),
            Some(json!({"disabled": true})),
        ),
        Change::CreateAccessKey { orphans, .. } => {
            if orphans.is_empty() {
                (None, None)
            } else {
                (Some(json!({"access_key_ids": orphans})), None)
            }
        }
        Change::SetUserBoundary { before, after, .. } => (
            Some(json!({"permissions_boundary": before})),
            Some(json!({"permissions_boundary": after})),
        ),
        Change::RemoveUserBoundary { before, .. } => (
            Some(json!({"permissions_boundary": before})),
            Some(json!({"permissions_boundary": null})),
        ),
        Change::CreateBucket {
            region, settings, ..
        } => {
            let mut after = serde_json::to_value(settings).unwrap_or(Value::Null);
            after["region"] = json!(region);
            (None, Some(after))
        }
        Change::ConfigureBucket { before, after, .. } => (
            serde_json::to_value(before).ok(),
            serde_json::to_value(after).ok(),
        ),
    }
}

/// A bucket policy's text as a document to show, or as the string itself
/// when it is not JSON (the planner refuses to merge into such a policy,
/// so only a policy read back from a saved plan could be one).
fn policy_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Write `plan` as the JSON object SPEC describes.
pub fn json(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let doc = JsonPlan {
        format_version: JSON_FORMAT_VERSION,
        changes: plan
            .changes
            .iter()
            .map(|c| {
                let (before, after) = states(c);
                JsonChange {
                    action: c.action(),
                    kind: c.kind(),
                    name: c.name(),
                    client: c.client().map(str::to_owned),
                    before,
                    after,
                    narrows_first: matches!(
                        c,
                        Change::NarrowGrant { .. } | Change::NarrowUserPolicy { .. }
                    ),
                }
            })
            .collect(),
        summary: plan.summary(),
        warnings: &plan.warnings,
        drift: &plan.drift,
        out_of_scope: &plan.out_of_scope,
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}
