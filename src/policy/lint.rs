//! Policy lint: what a client group's policy must never grant, and whether a
//! hand-edited policy grants more than provision's.
//!
//! Pure. Run on generated documents (tests keep them clean) and on the
//! policies observed on managed groups, where findings and widening drift
//! become plan warnings (SPEC, Guarantee 1; issue: policy lint).

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{Access, GROUP_POLICY_NAME, ObservedGroup, ObservedUser};
use crate::policy::arn::{Parts, split};
use crate::policy::document::{statements, strings};
use crate::policy::evaluate::{is_allowed, wildcard_match};

/// Actions that only work with `"Resource": "*"`, so granting them on `*`
/// is not a scoping mistake.
pub const UNSCOPABLE_ACTIONS: &[&str] = &[
    "cloudfront:ListDistributions",
    "s3:GetAccountPublicAccessBlock",
    "s3:ListAccessPoints",
    "s3:ListAllMyBuckets",
    "sts:GetCallerIdentity",
];

/// Representative IAM actions: a pattern that matches any of them grants
/// power over identities, which no client group may have.
const IAM_PROBES: &[&str] = &[
    "iam:AttachUserPolicy",
    "iam:CreateAccessKey",
    "iam:CreateUser",
    "iam:PassRole",
    "iam:PutGroupPolicy",
    "iam:UpdateAssumeRolePolicy",
];

/// Actions that change who can reach a bucket (bucket policy, ACLs, public
/// access blocks, ownership); the SPEC reserves them for `access = "full"`.
pub const BUCKET_CONTROL_ACTIONS: &[&str] = &[
    "s3:DeleteBucketPolicy",
    "s3:PutAccountPublicAccessBlock",
    "s3:PutBucketAcl",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
];

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// An `Allow` reaches IAM actions.
    IamAction,
    /// An `Allow` on every resource for actions that can be scoped.
    UnscopedResource,
    /// `NotAction` or `NotResource`: grants everything but a list.
    NotElement,
    /// Bucket policy, ACL or public-access changes below `full`.
    BucketControl,
}

/// One problem in one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: Rule,
    /// The statement's `Sid`, or `#n` (1-based) when it has none.
    pub statement: String,
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "statement `{}` {}", self.statement, self.message)
    }
}

fn quote_all(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// True when `resource` names every resource of its kind: `*`, a wildcard
/// service or account, or a wildcard right at the start of the resource
/// part (`arn:aws:s3:::*`, `arn:aws:cloudfront::1:distribution/*`).
fn unscoped(resource: &str) -> bool {
    if resource == "*" {
        return true;
    }
    let Some(Parts {
        partition,
        service,
        resource: rest,
        ..
    }) = split(resource)
    else {
        return resource.starts_with('*');
    };
    if partition.contains('*') || service.contains(['*', '?']) {
        return true;
    }
    let rest = match rest.split_once('/') {
        // `distribution/*`: the part after the type names the resource.
        Some((kind, id)) if service != "s3" && !kind.contains(['*', '?']) => id,
        _ => rest,
    };
    rest.starts_with(['*', '?'])
}

/// Checks one policy document. `access` is the client's level when known;
/// without it the bucket-control rule is skipped (a group whose client is
/// not loaded).
pub fn lint(doc: &Value, access: Option<Access>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, statement) in statements(doc).into_iter().enumerate() {
        let id = statement
            .get("Sid")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map_or_else(|| format!("#{}", index + 1), str::to_owned);
        let mut push = |rule, message: String| {
            findings.push(Finding {
                rule,
                statement: id.clone(),
                message,
            });
        };
        for key in ["NotAction", "NotResource"] {
            if statement.contains_key(key) {
                push(
                    Rule::NotElement,
                    format!("uses `{key}`, which grants everything it does not list"),
                );
            }
        }
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let actions = strings(statement.get("Action"));
        let iam_actions: Vec<&str> = actions
            .iter()
            .copied()
            .filter(|a| IAM_PROBES.iter().any(|p| wildcard_match(a, p, true)))
            .collect();
        if !iam_actions.is_empty() {
            push(
                Rule::IamAction,
                format!("allows IAM actions ({})", quote_all(&iam_actions)),
            );
        }
        let wide: Vec<&str> = strings(statement.get("Resource"))
            .into_iter()
            .filter(|r| unscoped(r))
            .collect();
        let scopable: Vec<&str> = actions
            .iter()
            .copied()
            .filter(|a| !UNSCOPABLE_ACTIONS.iter().any(|u| u.eq_ignore_ascii_case(a)))
            .collect();
        if !wide.is_empty() && !scopable.is_empty() {
            push(
                Rule::UnscopedResource,
                format!(
                    "allows {} on every resource ({})",
                    quote_all(&scopable),
                    quote_all(&wide)
                ),
            );
        }
        if access.is_some_and(|a| a != Access::Full) {
            let control: Vec<&str> = BUCKET_CONTROL_ACTIONS
                .iter()
                .copied()
                .filter(|c| actions.iter().any(|a| wildcard_match(a, c, true)))
                .collect();
            if !control.is_empty() {
                push(
                    Rule::BucketControl,
                    format!("allows {} below `access = \"full\"`", quote_all(&control)),
                );
            }
        }
    }
    findings
}

/// How `observed` grants more than `wanted` (`None`: the policy should not
/// exist at all), as one line per reason; empty when it does not widen.
///
/// Every `Allow` (action, resource) pair of `observed` is checked against
/// `wanted` with the evaluator, wildcards taken literally: `wanted` covers
/// `s3:Get*` on `arn:aws:s3:::acme-*` only if its own patterns match that
/// text, which holds when they are at least as wide. `NotAction` and
/// `NotResource` always widen. Lint findings are included.
pub fn widening(observed: &Value, wanted: Option<&Value>, access: Option<Access>) -> Vec<String> {
    let findings = lint(observed, access);
    // A statement already reported as unscoped needs no pair-by-pair list.
    let unscoped_ids: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule == Rule::UnscopedResource)
        .map(|f| f.statement.as_str())
        .collect();
    let mut reasons: Vec<String> = findings.iter().map(ToString::to_string).collect();
    let empty = Value::Object(Map::new());
    let wanted = wanted.unwrap_or(&empty);
    for (index, statement) in statements(observed).into_iter().enumerate() {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow")
            || statement.contains_key("NotAction")
            || statement.contains_key("NotResource")
        {
            continue;
        }
        let id = statement
            .get("Sid")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map_or_else(|| format!("#{}", index + 1), str::to_owned);
        if unscoped_ids.contains(&id.as_str()) {
            continue;
        }
        let mut extra: Vec<String> = Vec::new();
        for action in strings(statement.get("Action")) {
            for resource in strings(statement.get("Resource")) {
                if !is_allowed(&[wanted], action, resource) {
                    extra.push(format!("`{action}` on `{resource}`"));
                }
            }
        }
        if !extra.is_empty() {
            reasons.push(format!("statement `{id}` allows {}", extra.join(", ")));
        }
    }
    reasons.dedup();
    reasons
}

/// A policy on a managed group or user that grants more than provision
/// wrote; the plan shows it at the top and apply reverts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// The group, e.g. `client-acme`, for a policy on a group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The managed user, for a policy on a user (which should hold none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The managed role, for its trust policy or a policy on it that
    /// provision did not write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The inline policy's name, or the attached policy's ARN.
    pub policy: String,
    /// How it widens access, one reason a line.
    pub widens: Vec<String>,
}

impl Drift {
    /// What holds the policy, for people: ``group `client-acme` `` or
    /// ``user `acme-app` ``.
    pub fn holder(&self) -> String {
        match (&self.group, &self.user) {
            (Some(group), _) => format!("group `{group}`"),
            (None, Some(user)) => format!("user `{user}`"),
            (None, None) => match &self.role {
                Some(role) => format!("role `{role}`"),
                None => "an unnamed holder".to_owned(),
            },
        }
    }
}

/// The widening drift on the managed group of a loaded client: its
/// `provision-s3` compared with `wanted`, any other inline policy (which
/// should not exist), and any attached policy (whose document the plan does
/// not read, so it is assumed to widen).
///
/// `own` is provision's managed policy for the client: its ARN, and its
/// document when attached. Both of provision's own policies are compared
/// with the client's whole grant, wherever it is to live.
///
/// Drift is a hand edit, not a change of the configuration: provision's own
/// policies (inline `provision-s3`, the managed one) holding exactly what
/// provision writes for some configuration
/// ([`crate::policy::document::written_by_provision`]) were written by provision, from
/// this configuration or an earlier one; the plan's update is then an
/// ordinary change (a bucket moved to another client, a lower access
/// level), not drift. Anything else is a hand edit, and drift is what it
/// grants beyond `wanted`. A hand edit that exactly mimics provision's
/// form for another configuration is not told apart (groups carry no tags
/// to record what was written); the plan still shows and reverts it.
pub fn group_drift(
    group: &ObservedGroup,
    wanted: &Value,
    access: Access,
    own: (&str, Option<&Value>),
    account_id: &str,
) -> Vec<Drift> {
    let (own_arn, own_doc) = own;
    let by_provision = |doc: &Value| crate::policy::document::written_by_provision(doc, account_id);
    let drift_of = |policy: &str, widens: Vec<String>| Drift {
        group: Some(group.name.clone()),
        user: None,
        role: None,
        policy: policy.to_owned(),
        widens,
    };
    let mut drift = Vec::new();
    // A document equal to what provision writes cannot widen anything;
    // skipping it keeps a no-op plan of many clients cheap.
    if let Some(doc) = own_doc.filter(|doc| *doc != wanted && !by_provision(doc)) {
        let widens = widening(doc, Some(wanted), Some(access));
        if !widens.is_empty() {
            drift.push(drift_of(own_arn, widens));
        }
    }
    for (name, doc) in &group.inline_policies {
        let own = name == GROUP_POLICY_NAME;
        if own && (doc == wanted || by_provision(doc)) {
            continue;
        }
        let widens = widening(doc, own.then_some(wanted), Some(access));
        if !widens.is_empty() {
            drift.push(drift_of(name, widens));
        }
    }
    for arn in group.attached_policies.iter().filter(|a| *a != own_arn) {
        drift.push(Drift {
            group: Some(group.name.clone()),
            user: None,
            role: None,
            policy: arn.clone(),
            widens: vec![
                "a managed policy attached by hand; provision grants only through `provision-s3`, so anything it allows is extra".to_owned(),
            ],
        });
    }
    drift
}

/// The policies on a managed user, all drift: provision grants access only
/// through client groups, so whatever a user's own policy allows is extra
/// (an attached policy's document is not read, so it is assumed to widen).
pub fn user_drift(user: &ObservedUser) -> Vec<Drift> {
    let drift_of = |policy: &str, widens: Vec<String>| Drift {
        group: None,
        user: Some(user.name.clone()),
        role: None,
        policy: policy.to_owned(),
        widens,
    };
    let mut drift: Vec<Drift> = user
        .inline_policies
        .iter()
        .map(|(name, doc)| drift_of(name, widening(doc, None, None)))
        .filter(|d| !d.widens.is_empty())
        .collect();
    drift.extend(user.attached_policies.iter().map(|arn| {
        drift_of(
            arn,
            vec![
                "a managed policy attached by hand; provision grants only through client groups, so anything it allows is extra".to_owned(),
            ],
        )
    }));
    drift
}

/// Lint findings on the managed group of a client that is not loaded, as
/// plan warnings: the plan does not change that group, but a reviewer
/// should know.
pub fn out_of_scope_warnings(group: &ObservedGroup) -> Vec<String> {
    let mut warnings = Vec::new();
    for (name, doc) in &group.inline_policies {
        for finding in lint(doc, None) {
            warnings.push(format!(
                "group `{}` (not in the files given), policy `{name}`: {finding}",
                group.name
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;
    use crate::model::Client;
    use crate::policy::document::group_policy;

    fn client(access: Access) -> Client {
        Client {
            name: "acme".into(),
            buckets: vec!["acme-assets".into(), "assets.acme.com".into()],
            bucket_prefixes: vec!["acme-logs-".into()],
            access,
            developers: vec![],
            membership_expires: Default::default(),
            bucket_access: Default::default(),
            apps: Vec::new(),
            app_user: None,
            roles: Vec::new(),
            distributions: vec!["E2QWRUHAPOMQZL".into()],
            source: PathBuf::from("acme.toml"),
        }
    }

    #[test]
    fn generated_policies_are_clean_at_every_level() {
        for access in [Access::ReadOnly, Access::ReadWrite, Access::Full] {
            let doc = group_policy(&client(access), "123456789012");
            assert_eq!(lint(&doc, Some(access)), vec![], "{access:?}");
            assert_eq!(
                widening(&doc, Some(&doc), Some(access)),
                Vec::<String>::new()
            );
        }
    }

    #[test]
    fn each_rule_is_found_with_its_message() {
        let doc = json!({"Statement": [
            {"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Allow", "Action": ["iam:Create*", "s3:GetObject"], "Resource": "arn:aws:s3:::acme-assets/*"},
            {"Sid": "Everything", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"},
            {"Sid": "ListOnly", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
            {"Sid": "Not", "Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::acme-assets"},
            {"Sid": "Acl", "Effect": "Allow", "Action": ["s3:PutBucketAcl", "s3:PutObject*"], "Resource": "arn:aws:s3:::acme-assets/*"},
            {"Sid": "AllDistributions", "Effect": "Allow", "Action": "cloudfront:CreateInvalidation", "Resource": "arn:aws:cloudfront::123456789012:distribution/*"},
        ]});
        let lines: Vec<String> = lint(&doc, Some(Access::ReadWrite))
            .iter()
            .map(ToString::to_string)
            .collect();
        insta::assert_snapshot!(lines.join("\n"));
        // At `full`, bucket control is allowed; the other rules still hold.
        let full = lint(&doc, Some(Access::Full));
        assert!(full.iter().all(|f| f.rule != Rule::BucketControl));
        assert!(full.iter().any(|f| f.rule == Rule::IamAction));
    }

    #[test]
    fn widening_drift_is_told_apart_from_narrowing() {
        let wanted = group_policy(&client(Access::ReadWrite), "123456789012");
        // Narrower by hand: fewer actions on the same buckets.
        let narrower = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-assets/*"}]});
        assert_eq!(
            widening(&narrower, Some(&wanted), Some(Access::ReadWrite)),
            Vec::<String>::new()
        );
        // Wider by hand: another bucket, and a wider prefix.
        let wider = json!({"Statement": [
            {"Sid": "S3Objects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::acme-assets/*", "arn:aws:s3:::globex-media/*"]},
            {"Sid": "S3Prefixes", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-*"},
        ]});
        insta::assert_snapshot!(
            widening(&wider, Some(&wanted), Some(Access::ReadWrite)).join("\n")
        );
        // A policy that should not exist widens by whatever it allows.
        assert_eq!(widening(&narrower, None, None).len(), 1);
    }
}
