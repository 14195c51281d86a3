//! Permissions boundaries: the boundary policy `provision policy boundary`
//! prints, and the check that a configured boundary allows what the client
//! groups grant.
//!
//! Everything here is pure. A boundary caps what every user provision
//! creates may ever do; a group grant outside the boundary is silently
//! useless, so the plan warns about it (see [`coverage_warnings`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::model::{Access, Desired};
use crate::policy::document::{self, MANAGED_POLICY_LIMIT, statements, strings};

/// The `Sid` of the boundary's deny of the writes that keep managed
/// buckets' settings (`manage_buckets`): no client principal may undo Block
/// Public Access, Object Ownership, encryption, versioning or tags on
/// them, whatever its access level grants.
pub const SID_MANAGED_BUCKETS: &str = "NeverChangeManagedBuckets";

/// How many uncovered grants a warning names before it says "and N more".
const SHOWN_GAPS: usize = 3;

/// Why the boundary policy cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundaryError {
    /// No client was loaded, so there is nothing the boundary could permit.
    #[error(
        "no client is declared in the given files, so the boundary would permit nothing; give the clients files or directories the boundary must cover, e.g. `provision policy boundary clients/`"
    )]
    NoClients,
    /// The policy does not fit IAM's managed policy quota.
    #[error(
        "the boundary policy has {size} non-whitespace characters, over IAM's limit of {limit} for a managed policy; replace exact buckets by `bucket_prefixes` entries to shorten it"
    )]
    TooLarge {
        /// The generated policy's size.
        size: usize,
        /// [`MANAGED_POLICY_LIMIT`].
        limit: usize,
    },
}

/// The `Sid` suffix naming an access level in the boundary policy.
fn level_suffix(access: Access) -> &'static str {
    match access {
        Access::ReadOnly => "ReadOnly",
        Access::ReadWrite => "ReadWrite",
        Access::Full => "Full",
    }
}

/// The boundary policy permitting exactly what provision grants: the union
/// of every client group's policy (see [`document::group_policy`]), with the
/// resources of clients that share an access level merged into one
/// statement per kind of grant and level.
pub fn boundary_policy(desired: &Desired, account_id: &str) -> Result<Value, BoundaryError> {
    if desired.clients.is_empty() {
        return Err(BoundaryError::NoClients);
    }
    // Keyed by (position of the group policy's statement, level), so the
    // statements come out in the group policy's order, then by level.
    let order = [
        document::SID_BUCKETS,
        document::SID_OBJECTS,
        document::SID_PREFIXES,
        document::SID_CLOUDFRONT,
    ];
    let mut merged: BTreeMap<(usize, Access), (String, Value, BTreeSet<String>)> = BTreeMap::new();
    for client in desired.clients.values() {
        let doc = document::group_policy(client, account_id);
        for statement in doc["Statement"].as_array().into_iter().flatten() {
            let sid = statement["Sid"].as_str().unwrap_or_default();
            let position = order.iter().position(|s| *s == sid).unwrap_or(order.len());
            // CloudFront rights do not depend on the access level.
            let (level, name) = if sid == document::SID_CLOUDFRONT {
                (Access::ReadOnly, sid.to_owned())
            } else {
                (
                    client.access,
                    format!("{sid}{}", level_suffix(client.access)),
                )
            };
            let entry = merged
                .entry((position, level))
                .or_insert_with(|| (name, statement["Action"].clone(), BTreeSet::new()));
            entry.2.extend(
                strings(Some(&statement["Resource"]))
                    .into_iter()
                    .map(str::to_owned),
            );
        }
    }
    let mut statements: Vec<Value> = merged
        .into_values()
        .map(|(sid, actions, resources)| {
            json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
        })
        .collect();
    let managed = crate::policy::operator::managed_bucket_arns(desired);
    if !managed.is_empty() {
        let actions: BTreeSet<&str> = crate::policy::actions::OPERATIONS
            .iter()
            .filter(|o| o.target == crate::policy::actions::Target::Bucket)
            .map(|o| o.action)
            .collect();
        statements.push(json!({
            "Sid": SID_MANAGED_BUCKETS,
            "Effect": "Deny",
            "Action": actions,
            "Resource": managed,
        }));
    }
    let doc = json!({"Version": document::POLICY_VERSION, "Statement": statements});
    let size = document::size(&doc);
    if size > MANAGED_POLICY_LIMIT {
        return Err(BoundaryError::TooLarge {
            size,
            limit: MANAGED_POLICY_LIMIT,
        });
    }
    Ok(doc)
}

/// One warning per client whose group policy grants something the
/// boundary document `doc` (of policy `arn`) does not allow.
pub fn coverage_warnings(
    desired: &Desired,
    arn: &str,
    doc: &Value,
    account_id: &str,
) -> Vec<String> {
    // The deny of managed buckets' settings is provision's own, and meant:
    // a `full` client's `s3:*` is expected to lose exactly those writes.
    let mut doc = doc.clone();
    if let Some(list) = doc.get_mut("Statement").and_then(Value::as_array_mut) {
        list.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(SID_MANAGED_BUCKETS));
    }
    let doc = &doc;
    let mut warnings = Vec::new();
    for client in desired.clients.values() {
        let grants = document::group_policy(client, account_id);
        let mut gaps = Vec::new();
        for statement in grants["Statement"].as_array().into_iter().flatten() {
            for action in strings(Some(&statement["Action"])) {
                for resource in strings(Some(&statement["Resource"])) {
                    if !boundary_allows(doc, action, resource) {
                        gaps.push(format!("`{action}` on `{resource}`"));
                    }
                }
            }
        }
        if gaps.is_empty() {
            continue;
        }
        let more = gaps.len().saturating_sub(SHOWN_GAPS);
        gaps.truncate(SHOWN_GAPS);
        let mut listed = gaps.join(", ");
        if more > 0 {
            listed.push_str(&format!(" and {more} more"));
        }
        warnings.push(format!(
            "the permissions boundary `{arn}` does not allow everything client `{}` is granted ({listed}), so its users' keys cannot use those grants; update the boundary from `provision policy boundary`",
            client.name
        ));
    }
    warnings
}

/// True when the policy document `doc` surely allows every request for
/// `action` on `resource`, where either may hold IAM wildcards (`*`, `?`),
/// as the actions and resources of a group policy do.
///
/// A small, conservative check, not a full evaluator: an `Allow` counts only
/// without a `Condition`, and any `Deny` that could apply to some such
/// request (conditions ignored) counts as denying. Actions compare without
/// regard to case, resources with. So `false` may mean "not sure", which
/// for a warning errs on the side of saying something.
pub fn boundary_allows(doc: &Value, action: &str, resource: &str) -> bool {
    let statements = statements(doc);
    let effect = |s: &Statement, want: &str| s.get("Effect").and_then(Value::as_str) == Some(want);
    let action = action.to_ascii_lowercase();
    let allowed = statements.iter().any(|s| {
        effect(s, "Allow")
            && s.get("Condition")
                .is_none_or(|c| c.as_object().is_some_and(|c| c.is_empty()))
            && element_covers(s, "Action", "NotAction", &action, true)
            && element_covers(s, "Resource", "NotResource", resource, false)
    });
    let denied = statements.iter().any(|s| {
        effect(s, "Deny")
            && element_overlaps(s, "Action", "NotAction", &action, true)
            && element_overlaps(s, "Resource", "NotResource", resource, false)
    });
    allowed && !denied
}

/// One statement of a policy document.
type Statement = Map<String, Value>;

fn patterns(statement: &Statement, key: &str, lower: bool) -> Option<Vec<String>> {
    let value = statement.get(key)?;
    Some(
        strings(Some(value))
            .into_iter()
            .map(|p| {
                if lower {
                    p.to_ascii_lowercase()
                } else {
                    p.to_owned()
                }
            })
            .collect(),
    )
}

/// Does the statement's `key` (or `not_key`) element match everything `item`
/// matches?
fn element_covers(
    statement: &Statement,
    key: &str,
    not_key: &str,
    item: &str,
    lower: bool,
) -> bool {
    if let Some(list) = patterns(statement, key, lower) {
        list.iter().any(|p| glob_covers(p, item))
    } else if let Some(list) = patterns(statement, not_key, lower) {
        !list.iter().any(|p| glob_overlaps(p, item))
    } else {
        false
    }
}

/// Could the statement's `key` (or `not_key`) element match something
/// `item` matches?
fn element_overlaps(
    statement: &Statement,
    key: &str,
    not_key: &str,
    item: &str,
    lower: bool,
) -> bool {
    if let Some(list) = patterns(statement, key, lower) {
        list.iter().any(|p| glob_overlaps(p, item))
    } else if let Some(list) = patterns(statement, not_key, lower) {
        !list.iter().any(|p| glob_covers(p, item))
    } else {
        false
    }
}

/// True when every string IAM pattern `g` matches is matched by pattern
/// `p` (`*` any run of characters, `?` one character).
fn glob_covers(p: &str, g: &str) -> bool {
    let (p, g): (Vec<char>, Vec<char>) = (p.chars().collect(), g.chars().collect());
    let (n, m) = (p.len(), g.len());
    // covers[i][j]: p[i..] covers g[j..].
    let mut covers = vec![vec![false; m + 1]; n + 1];
    covers[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            covers[i][j] = match p[i] {
                // p's `*` absorbs nothing, or g's next element whatever it is.
                '*' => covers[i + 1][j] || (j < m && covers[i][j + 1]),
                _ if j == m => false,
                // Exactly one character: g's `*` may stand for none or many.
                '?' => g[j] != '*' && covers[i + 1][j + 1],
                c => g[j] == c && covers[i + 1][j + 1],
            };
        }
    }
    covers[0][0]
}

/// True when some string is matched by both IAM patterns.
fn glob_overlaps(p: &str, q: &str) -> bool {
    let (p, q): (Vec<char>, Vec<char>) = (p.chars().collect(), q.chars().collect());
    let (n, m) = (p.len(), q.len());
    // both[i][j]: p[i..] and q[j..] match a common string.
    let mut both = vec![vec![false; m + 1]; n + 1];
    for i in (0..=n).rev() {
        for j in (0..=m).rev() {
            both[i][j] = if i == n && j == m {
                true
            } else if i < n && p[i] == '*' {
                both[i + 1][j] || (j < m && both[i][j + 1])
            } else if j < m && q[j] == '*' {
                both[i][j + 1] || (i < n && both[i + 1][j])
            } else if i == n || j == m {
                false
            } else {
                (p[i] == '?' || q[j] == '?' || p[i] == q[j]) && both[i + 1][j + 1]
            };
        }
    }
    both[0][0]
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use insta::assert_snapshot;

    use super::*;
    use crate::model::Client;

    const ACCOUNT: &str = "123456789012";
    const ARN: &str = "arn:aws:iam::123456789012:policy/ClientBoundary";

    fn client(
        name: &str,
        access: Access,
        buckets: &[&str],
        prefixes: &[&str],
        cf: &[&str],
    ) -> Client {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Client {
            name: name.to_owned(),
            buckets: strings(buckets),
            bucket_prefixes: strings(prefixes),
            access,
            developers: vec![],
            membership_expires: Default::default(),
            bucket_access: Default::default(),
            apps: Vec::new(),
            app_user: Some(format!("{name}-app")),
            roles: Vec::new(),
            distributions: strings(cf),
            source: PathBuf::from("clients/x.toml"),
        }
    }

    fn desired(clients: Vec<Client>) -> Desired {
        Desired {
            clients: clients.into_iter().map(|c| (c.name.clone(), c)).collect(),
            ..Desired::default()
        }
    }

    fn sample() -> Desired {
        desired(vec![
            client(
                "acme",
                Access::ReadWrite,
                &["acme-assets", "acme-assets-staging"],
                &[],
                &["E2QWRUHAPOMQZL"],
            ),
            client("globex", Access::ReadOnly, &[], &["globex-"], &[]),
            client(
                "initech",
                Access::ReadWrite,
                &["initech-data"],
                &["initech-logs-"],
                &[],
            ),
        ])
    }

    #[test]
    fn boundary_policy_merges_clients_by_level() {
        let doc = boundary_policy(&sample(), ACCOUNT).unwrap();
        assert_eq!(document::normalize(&doc), doc, "already normalized");
        assert_snapshot!(document::to_pretty(&doc));
    }

    #[test]
    fn boundary_policy_allows_every_grant_and_nothing_else() {
        let desired = sample();
        let doc = boundary_policy(&desired, ACCOUNT).unwrap();
        assert!(coverage_warnings(&desired, ARN, &doc, ACCOUNT).is_empty());
        // Another client's buckets, IAM, and listing every bucket stay out.
        for (action, resource) in [
            ("s3:GetObject", "arn:aws:s3:::hooli-data/*"),
            ("s3:PutObject", "arn:aws:s3:::globex-x/*"),
            ("s3:ListAllMyBuckets", "*"),
            ("iam:CreateUser", "*"),
            ("s3:PutBucketPolicy", "arn:aws:s3:::acme-assets"),
        ] {
            assert!(
                !boundary_allows(&doc, action, resource),
                "{action} {resource}"
            );
        }
    }

    /// With managed buckets, no client principal may change the settings
    /// provision keeps on them, even a `full` client whose group grants
    /// `s3:*`; and the plan's coverage check does not call that deny a gap.
    #[test]
    fn boundary_denies_managed_bucket_settings_to_every_client() {
        let mut desired = sample();
        desired.clients.insert(
            "hooli".into(),
            client("hooli", Access::Full, &["hooli-data"], &[], &[]),
        );
        let unmanaged = boundary_policy(&desired, ACCOUNT).unwrap();
        assert!(boundary_allows(
            &unmanaged,
            "s3:PutBucketPublicAccessBlock",
            "arn:aws:s3:::hooli-data"
        ));
        desired.settings.buckets.manage = true;
        let doc = boundary_policy(&desired, ACCOUNT).unwrap();
        for action in [
            "s3:CreateBucket",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketOwnershipControls",
            "s3:PutEncryptionConfiguration",
            "s3:PutBucketVersioning",
            "s3:PutBucketTagging",
        ] {
            for bucket in ["hooli-data", "acme-assets", "initech-data"] {
                let arn = format!("arn:aws:s3:::{bucket}");
                assert!(!boundary_allows(&doc, action, &arn), "{action} {arn}");
            }
        }
        // What the groups grant otherwise stays allowed.
        assert!(boundary_allows(
            &doc,
            "s3:GetObject",
            "arn:aws:s3:::hooli-data/x"
        ));
        assert!(boundary_allows(
            &doc,
            "s3:PutObject",
            "arn:aws:s3:::acme-assets/x"
        ));
        assert_eq!(
            coverage_warnings(&desired, ARN, &doc, ACCOUNT),
            Vec::<String>::new()
        );
    }

    #[test]
    fn boundary_policy_needs_clients_and_fits_the_quota() {
        assert_eq!(
            boundary_policy(&Desired::default(), ACCOUNT),
            Err(BoundaryError::NoClients)
        );
        let many: Vec<String> = (0..200).map(|i| format!("bucket-number-{i:04}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let err = boundary_policy(
            &desired(vec![client("big", Access::ReadOnly, &many, &[], &[])]),
            ACCOUNT,
        )
        .unwrap_err();
        assert!(
            matches!(err, BoundaryError::TooLarge { limit: 6144, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn coverage_names_the_client_and_the_missing_grants() {
        let desired = sample();
        // A boundary written before initech was added, and read-only for acme.
        let narrow = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": ["arn:aws:s3:::acme-*", "arn:aws:s3:::globex-*"]},
            {"Effect": "Allow", "Action": "cloudfront:*", "Resource": "*"},
        ]});
        let warnings = coverage_warnings(&desired, ARN, &narrow, ACCOUNT);
        assert_snapshot!(warnings.join("\n"));
    }

    #[test]
    fn a_deny_or_a_condition_makes_a_grant_uncovered() {
        let allow_all = json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
        let doc = json!({"Statement": [allow_all]});
        assert!(boundary_allows(&doc, "s3:PutObject", "arn:aws:s3:::acme-*"));
        let doc = json!({"Statement": [allow_all, {"Effect": "Deny", "Action": "s3:Put*", "Resource": "arn:aws:s3:::acme-assets/*"}]});
        assert!(!boundary_allows(
            &doc,
            "s3:PutObject",
            "arn:aws:s3:::acme-*"
        ));
        assert!(boundary_allows(&doc, "s3:GetObject", "arn:aws:s3:::acme-*"));
        let doc = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}});
        assert!(!boundary_allows(
            &doc,
            "s3:GetObject",
            "arn:aws:s3:::acme-assets/*"
        ));
        let doc = json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret*"}]});
        assert!(boundary_allows(
            &doc,
            "S3:GetObject",
            "arn:aws:s3:::acme-assets/*"
        ));
        assert!(!boundary_allows(&doc, "s3:GetObject", "arn:aws:s3:::sec*"));
        assert!(!boundary_allows(&doc, "iam:PassRole", "*"));
    }

    #[test]
    fn glob_containment_and_overlap() {
        for (p, g, covers) in [
            ("acme-*", "acme-*", true),
            ("acme-*", "acme-x/*", true),
            ("acme-x", "acme-*", false),
            ("a?c", "a*c", false),
            ("a?c", "a?c", true),
            ("*", "anything*?", true),
            ("s3:get*", "s3:*", false),
            ("s3:*", "s3:get*", true),
        ] {
            assert_eq!(glob_covers(p, g), covers, "{p} covers {g}");
        }
        for (p, q, overlap) in [
            ("acme-x", "acme-*", true),
            ("acme-*", "globex-*", false),
            ("*-x", "a-*", true),
            ("a?", "ab", true),
            ("a?", "abc", false),
            ("", "*", true),
        ] {
            assert_eq!(glob_overlaps(p, q), overlap, "{p} overlaps {q}");
            assert_eq!(glob_overlaps(q, p), overlap, "{q} overlaps {p}");
        }
    }
}
