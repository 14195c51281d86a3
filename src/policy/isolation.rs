//! Which S3 names and CloudFront distributions a client reaches, and
//! whether two clients' reaches meet.
//!
//! One place for the collision rule (SPEC, Guarantee 1), used by config
//! validation (clients in the loaded files) and by the planner (loaded
//! clients against the live policies of managed groups the files do not
//! declare, in `plan::collisions`). A distribution belongs to one client, as a bucket does: that is
//! what `verify` checks, so plan refuses what verify would call a leak
//! (SPEC, Guarantee 10). Pure: no IO, no spans.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{Client, GROUP_PREFIX, Observed, ObservedGroup};
use crate::policy::arn;
use crate::policy::document::{statements, strings};

/// What a client's policy reaches in S3: one exact bucket, or every bucket
/// whose name starts with a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope<'a> {
    /// An exact bucket name.
    Bucket(&'a str),
    /// A bucket name prefix; the policy grants `arn:aws:s3:::<prefix>*`.
    Prefix(&'a str),
}

impl<'a> Scope<'a> {
    /// The bucket name or prefix.
    pub fn name(self) -> &'a str {
        match self {
            Scope::Bucket(name) | Scope::Prefix(name) => name,
        }
    }

    /// How messages name it: "bucket `x`" or "bucket prefix `x`".
    pub fn describe(self) -> String {
        match self {
            Scope::Bucket(name) => format!("bucket `{name}`"),
            // What a hand-written `*` resource reads back as.
            Scope::Prefix("") => "every bucket (`*`)".to_owned(),
            Scope::Prefix(name) => format!("bucket prefix `{name}`"),
        }
    }

    /// True when some bucket is reached by both `self` and `other`.
    ///
    /// Two buckets meet when they are the same name; a prefix meets every
    /// bucket that starts with it; two prefixes meet when one starts with
    /// the other (`acme-` and `acme-corp-` both reach `acme-corp-x`). The
    /// rule is symmetric.
    pub fn reaches(self, other: Scope<'_>) -> bool {
        match (self, other) {
            (Scope::Bucket(a), Scope::Bucket(b)) => a == b,
            (Scope::Prefix(p), Scope::Bucket(b)) | (Scope::Bucket(b), Scope::Prefix(p)) => {
                b.starts_with(p)
            }
            (Scope::Prefix(a), Scope::Prefix(b)) => a.starts_with(b) || b.starts_with(a),
        }
    }
}

/// Every bucket and prefix of a loaded client.
pub fn client_scopes(client: &Client) -> Vec<Scope<'_>> {
    client
        .buckets
        .iter()
        .map(|b| Scope::Bucket(b))
        .chain(client.bucket_prefixes.iter().map(|p| Scope::Prefix(p)))
        .collect()
}

/// An owned [`Scope`], for scopes read from the account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwnedScope {
    /// An exact bucket name.
    Bucket(String),
    /// A bucket name prefix.
    Prefix(String),
}

impl OwnedScope {
    /// Borrows it as a [`Scope`].
    pub fn as_scope(&self) -> Scope<'_> {
        match self {
            OwnedScope::Bucket(name) => Scope::Bucket(name),
            OwnedScope::Prefix(name) => Scope::Prefix(name),
        }
    }
}

/// The S3 scope an `arn:aws:s3:::...` resource reaches, or `None` for a
/// resource that is not an S3 ARN.
///
/// `bucket` and `bucket/...` reach the bucket; anything with a wildcard
/// (`*` or `?`) in the bucket part reaches every bucket that starts with the
/// text before the wildcard, so `*` alone and `arn:aws:s3:::*` reach every
/// bucket (the empty prefix). A bare `*` resource counts as S3 too: it
/// reaches everything.
pub fn scope_of_arn(arn: &str) -> Option<OwnedScope> {
    let rest = if arn == "*" {
        "*"
    } else {
        // Any partition (`aws`, `aws-cn`, ...); a wildcard partition or
        // service reaches S3 as well.
        let parts = arn::split(arn).filter(|p| p.prefix == "arn")?;
        if !(parts.service == "s3" || parts.service.contains(['*', '?'])) {
            return None;
        }
        parts.resource
    };
    let bucket = rest.split('/').next().unwrap_or_default();
    Some(match bucket.find(['*', '?']) {
        Some(at) => OwnedScope::Prefix(bucket[..at].to_owned()),
        None => OwnedScope::Bucket(bucket.to_owned()),
    })
}

/// Every S3 scope an `Allow` statement of `doc` grants, from its `Resource`
/// lists. Statements with `NotResource` reach everything except what they
/// name, so they count as the empty prefix (every bucket).
pub fn policy_scopes(doc: &Value) -> Vec<OwnedScope> {
    let mut scopes = Vec::new();
    for statement in statements(doc) {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        if statement.get("NotResource").is_some() {
            scopes.push(OwnedScope::Prefix(String::new()));
            continue;
        }
        for resource in strings(statement.get("Resource")) {
            if let Some(scope) = scope_of_arn(resource) {
                scopes.push(scope);
            }
        }
    }
    scopes.sort();
    scopes.dedup();
    scopes
}

/// The CloudFront distributions an ARN reaches: one id
/// ([`OwnedScope::Bucket`], the exact form), every id that starts with the
/// text before a wildcard ([`OwnedScope::Prefix`]), or `None` for an ARN
/// that names no distribution. As for S3, a bare `*` reaches every
/// distribution, and so does a wildcard before or inside `distribution/`.
pub fn distribution_scope_of_arn(arn: &str) -> Option<OwnedScope> {
    const KIND: &str = "distribution/";
    let resource = if arn == "*" {
        "*"
    } else {
        let parts = arn::split(arn).filter(|p| p.prefix == "arn")?;
        if !(parts.service == "cloudfront" || parts.service.contains(['*', '?'])) {
            return None;
        }
        parts.resource
    };
    if let Some(id) = resource.strip_prefix(KIND) {
        return Some(match id.find(['*', '?']) {
            Some(at) => OwnedScope::Prefix(id[..at].to_owned()),
            None => OwnedScope::Bucket(id.to_owned()),
        });
    }
    // `*`, `dist*`, `?istribution/E1`: the literal text before the first
    // wildcard could still begin `distribution/`, so it may reach any id.
    let at = resource.find(['*', '?'])?;
    KIND.starts_with(&resource[..at])
        .then(|| OwnedScope::Prefix(String::new()))
}

/// Every CloudFront distribution an `Allow` statement of `doc` lets its
/// principals invalidate: statements whose actions could grant one of the
/// actions provision grants on distributions, read from their `Resource`
/// (a `NotResource` or `NotAction` counts as reaching every distribution).
pub fn policy_distribution_scopes(doc: &Value) -> Vec<OwnedScope> {
    let mut scopes = Vec::new();
    for statement in statements(doc) {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let grants_invalidations = statement.contains_key("NotAction")
            || strings(statement.get("Action")).iter().any(|pattern| {
                crate::policy::document::CLOUDFRONT_ACTIONS
                    .iter()
                    .any(|action| crate::policy::evaluate::wildcard_match(pattern, action, true))
            });
        if !grants_invalidations {
            continue;
        }
        if statement.contains_key("NotResource") {
            scopes.push(OwnedScope::Prefix(String::new()));
            continue;
        }
        scopes.extend(
            strings(statement.get("Resource"))
                .into_iter()
                .filter_map(distribution_scope_of_arn),
        );
    }
    scopes.sort();
    scopes.dedup();
    scopes
}

/// A client that lives in the account but not in the configuration being
/// checked, and what it owns there: the one answer to "what does a live
/// client own", shared by the planner's live collision check and `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveClient<'o> {
    /// The client's name: its group's without `client-`.
    pub name: &'o str,
    /// Its managed group.
    pub group: &'o ObservedGroup,
    /// Every bucket and prefix its group's policies grant, sorted, once each.
    pub buckets: Vec<OwnedScope>,
    /// Every distribution its group's policies let it invalidate, sorted,
    /// once each.
    pub distributions: Vec<OwnedScope>,
}

/// Every managed client group at exactly `managed_path` whose client
/// `configured` does not claim, with what that client owns.
///
/// What it owns is read from every inline policy of its group (normally
/// just `provision-s3`) and from the client's own managed policy
/// `provision-s3-<client>` (written when its grant does not fit inline),
/// whose document `managed_policies` holds by ARN. Other managed policies
/// attached to the group are not the client's grant: provision never
/// attaches them, so they say nothing about what the client owns.
pub fn live_clients<'o>(
    observed: &'o Observed,
    managed_path: &str,
    configured: impl Fn(&str) -> bool,
) -> Vec<LiveClient<'o>> {
    observed
        .groups
        .values()
        .filter(|g| g.is_managed(managed_path))
        .filter_map(|group| {
            let name = group.name.strip_prefix(GROUP_PREFIX)?;
            (!configured(name))
                .then(|| live_client(name, group, managed_path, &observed.managed_policies))
        })
        .collect()
}

/// What client `name` owns, from its `group` (see [`live_clients`]).
fn live_client<'o>(
    name: &'o str,
    group: &'o ObservedGroup,
    managed_path: &str,
    managed_policies: &BTreeMap<String, Value>,
) -> LiveClient<'o> {
    let documents: Vec<&Value> = group
        .inline_policies
        .values()
        .chain(
            group
                .attached_policies
                .iter()
                .filter(|arn| arn::is_client_policy_arn(arn, managed_path, name))
                .filter_map(|arn| managed_policies.get(arn)),
        )
        .collect();
    let mut buckets: Vec<OwnedScope> = documents.iter().flat_map(|d| policy_scopes(d)).collect();
    buckets.sort();
    buckets.dedup();
    let mut distributions: Vec<OwnedScope> = documents
        .iter()
        .flat_map(|d| policy_distribution_scopes(d))
        .collect();
    distributions.sort();
    distributions.dedup();
    LiveClient {
        name,
        group,
        buckets,
        distributions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A live client's grant is read from its inline policies and from its
    /// own managed policy, never from another managed policy attached to
    /// its group; loaded clients and groups outside the managed path are
    /// not live clients.
    #[test]
    fn a_live_client_owns_what_its_inline_and_own_managed_policies_grant() {
        let allow = |resource: &str| json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "cloudfront:CreateInvalidation"], "Resource": resource}]});
        let own = "arn:aws:iam::123456789012:policy/provision/provision-s3-globex";
        let other = "arn:aws:iam::123456789012:policy/provision/provision-s3-acme";
        let nested = "arn:aws:iam::123456789012:policy/provision/team/provision-s3-globex";
        let mut observed = Observed {
            managed_policies: [
                (own.to_owned(), allow("arn:aws:s3:::globex-big/*")),
                (other.to_owned(), allow("arn:aws:s3:::acme-assets/*")),
                (nested.to_owned(), allow("arn:aws:s3:::nested/*")),
            ]
            .into(),
            ..Observed::default()
        };
        for (name, path) in [
            ("client-globex", "/provision/"),
            ("client-acme", "/provision/"),
            ("client-other", "/provision/team/"),
        ] {
            observed.groups.insert(
                name.into(),
                ObservedGroup {
                    name: name.into(),
                    path: path.into(),
                    inline_policies: [(
                        "provision-s3".to_owned(),
                        allow(&format!(
                            "arn:aws:cloudfront::123456789012:distribution/E{}",
                            name.len()
                        )),
                    )]
                    .into(),
                    attached_policies: vec![own.into(), other.into(), nested.into()],
                    ..ObservedGroup::default()
                },
            );
        }
        let live = live_clients(&observed, "/provision/", |c| c == "acme");
        assert_eq!(live.len(), 1, "{live:?}");
        assert_eq!(live[0].name, "globex");
        assert_eq!(live[0].buckets, [OwnedScope::Bucket("globex-big".into())]);
        assert_eq!(live[0].distributions, [OwnedScope::Bucket("E13".into())]);
        let all = live_clients(&observed, "/provision/", |_| false);
        assert_eq!(
            all.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["acme", "globex"]
        );
        assert_eq!(all[0].buckets, [OwnedScope::Bucket("acme-assets".into())]);
    }

    #[test]
    fn distributions_are_read_back_from_generated_and_hand_written_arns() {
        let exact = |s: &str| Some(OwnedScope::Bucket(s.into()));
        let p = |s: &str| Some(OwnedScope::Prefix(s.into()));
        let arn = |r: &str| format!("arn:aws:cloudfront::123456789012:{r}");
        assert_eq!(
            distribution_scope_of_arn(&arn("distribution/E1")),
            exact("E1")
        );
        assert_eq!(distribution_scope_of_arn(&arn("distribution/E1*")), p("E1"));
        assert_eq!(distribution_scope_of_arn(&arn("distribution/*")), p(""));
        assert_eq!(distribution_scope_of_arn(&arn("*")), p(""));
        assert_eq!(distribution_scope_of_arn(&arn("dist*")), p(""));
        assert_eq!(distribution_scope_of_arn("*"), p(""));
        assert_eq!(
            distribution_scope_of_arn("arn:aws:*::1:distribution/E9"),
            exact("E9")
        );
        assert_eq!(
            distribution_scope_of_arn(&arn("streaming-distribution/E1")),
            None
        );
        assert_eq!(distribution_scope_of_arn(&arn("function/*")), None);
        assert_eq!(distribution_scope_of_arn("arn:aws:s3:::acme-x"), None);
    }

    #[test]
    fn distribution_scopes_come_from_allows_that_grant_invalidations() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Action": "cloudfront:CreateInvalidation", "Resource": "arn:aws:cloudfront::1:distribution/E1"},
            {"Effect": "Allow", "Action": "CloudFront:*", "Resource": "arn:aws:cloudfront::1:distribution/E2*"},
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "cloudfront:GetDistribution", "Resource": "arn:aws:cloudfront::1:distribution/E3"},
            {"Effect": "Deny", "Action": "cloudfront:*", "Resource": "arn:aws:cloudfront::1:distribution/E4"},
        ]});
        assert_eq!(
            policy_distribution_scopes(&doc),
            vec![
                OwnedScope::Bucket("E1".into()),
                OwnedScope::Prefix("E2".into())
            ]
        );
        let not = json!({"Statement": {"Effect": "Allow", "NotAction": "s3:*", "Resource": "arn:aws:cloudfront::1:distribution/E5"}});
        assert_eq!(
            policy_distribution_scopes(&not),
            vec![OwnedScope::Bucket("E5".into())]
        );
        let not = json!({"Statement": {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::x"}});
        assert_eq!(
            policy_distribution_scopes(&not),
            vec![OwnedScope::Prefix(String::new())]
        );
    }

    #[test]
    fn the_collision_rule() {
        use Scope::{Bucket, Prefix};
        let cases = [
            (Bucket("acme-x"), Bucket("acme-x"), true),
            (Bucket("acme-x"), Bucket("acme-y"), false),
            (Prefix("acme"), Bucket("acmecorp-data"), true),
            (Prefix("acme-"), Bucket("acmecorp-data"), false),
            (Prefix("acme-x"), Bucket("acme-x"), true),
            (Prefix("acme-"), Prefix("acme-corp-"), true),
            (Prefix("acme-"), Prefix("acmecorp-"), false),
            (Prefix(""), Bucket("anything"), true),
        ];
        for (a, b, want) in cases {
            assert_eq!(a.reaches(b), want, "{a:?} vs {b:?}");
            assert_eq!(b.reaches(a), want, "{b:?} vs {a:?} (symmetry)");
        }
    }

    #[test]
    fn scopes_are_read_back_from_generated_and_hand_written_arns() {
        let b = |s: &str| Some(OwnedScope::Bucket(s.into()));
        let p = |s: &str| Some(OwnedScope::Prefix(s.into()));
        assert_eq!(scope_of_arn("arn:aws:s3:::acme-assets"), b("acme-assets"));
        assert_eq!(scope_of_arn("arn:aws:s3:::acme-assets/*"), b("acme-assets"));
        assert_eq!(scope_of_arn("arn:aws:s3:::acme-*"), p("acme-"));
        assert_eq!(scope_of_arn("arn:aws:s3:::acme-?x/*"), p("acme-"));
        assert_eq!(scope_of_arn("arn:aws:s3:::*"), p(""));
        assert_eq!(scope_of_arn("*"), p(""));
        assert_eq!(scope_of_arn("arn:aws:*:::x*"), p("x"));
        assert_eq!(
            scope_of_arn("arn:aws:cloudfront::123456789012:distribution/E1"),
            None
        );
    }

    #[test]
    fn policy_scopes_read_allow_statements_only() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::a-1", "arn:aws:s3:::a-1/*", "arn:aws:s3:::p-*"]},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::z"},
            {"Effect": "Allow", "Action": "cloudfront:CreateInvalidation", "Resource": "arn:aws:cloudfront::1:distribution/E"},
        ]});
        assert_eq!(
            policy_scopes(&doc),
            vec![
                OwnedScope::Bucket("a-1".into()),
                OwnedScope::Prefix("p-".into())
            ]
        );
        let not = json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::x"}});
        assert_eq!(policy_scopes(&not), vec![OwnedScope::Prefix(String::new())]);
    }
}
