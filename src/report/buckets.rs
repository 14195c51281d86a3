//! The resource side of isolation, for `verify`: what each client bucket
//! says about itself (its policy, its ACL, Block Public Access, Object
//! Ownership), apart from the identity side the access matrix evaluates.
//!
//! A bucket policy statement or an ACL grant that lets in another client's
//! principal, another account, or everyone is a leak, named by its
//! statement; a bucket without all four Block Public Access settings is a
//! warning; a bucket whose settings cannot be read leaves isolation
//! unproven, like an unreadable identity policy. Within the account, S3
//! allows what the identity policies OR the bucket policy allow (AWS's
//! same-account rule), so a grant in the bucket policy works without any
//! identity policy: see [`crate::policy::evaluate::evaluate_with_bucket_policy`].
//!
//! Pure: the command reads the buckets (`observe::buckets::bucket_facts`),
//! [`resource_side`] decides, `render::buckets` prints.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::model::{Observed, ObservedBucket};
use crate::policy::arn::{bucket_arn, objects_arn};
use crate::policy::document::statements;
use crate::policy::evaluate::{Decision, evaluate_with_bucket_policy};
use crate::policy::principal::{Grantee, grantees};
use crate::policy::reach::{self, Owned};
use crate::report::matrix::{BUCKET_PROBES, Matrix, ResourceKind, identity_documents};

/// The ACL groups that stand for everyone (`AllUsers`) and for every AWS
/// account (`AuthenticatedUsers`).
const PUBLIC_GROUPS: &[&str] = &[
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

/// One client bucket and what it says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketReport {
    pub client: String,
    #[serde(flatten)]
    pub facts: ObservedBucket,
}

/// A grant on a bucket that crosses clients or leaves the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketLeak {
    pub bucket: String,
    /// The client owning the bucket.
    pub client: String,
    /// Who is let in, as messages name it.
    pub grantee: String,
    /// The managed user let in, when the grantee is one (another client's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// `bucket policy` or `ACL`.
    pub source: &'static str,
    /// The statement's position in the bucket policy, from 1 (or the
    /// grant's, in the ACL).
    pub statement: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The statement's actions or the grant's permission, as written.
    pub grants: String,
    /// For a managed user: the probed actions it may do on the bucket now,
    /// evaluated with its identity policies and the bucket policy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<&'static str>,
}

/// Everything `verify` found on the resource side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResourceSide {
    pub buckets: Vec<BucketReport>,
    pub leaks: Vec<BucketLeak>,
    pub warnings: Vec<String>,
    /// Buckets, and what of them, that could not be read: isolation is not
    /// proven while any is listed.
    pub unreadable: Vec<String>,
}

impl ResourceSide {
    /// No grant crosses clients and every bucket was read.
    pub fn isolated(&self) -> bool {
        self.leaks.is_empty() && self.unreadable.is_empty()
    }

    /// The part of this side that concerns `client`'s buckets, for the
    /// access report: its grants that cross, its Block Public Access
    /// warnings and its buckets that could not be read.
    pub fn of_client(&self, client: &str) -> ClientBuckets {
        let mine: Vec<&BucketReport> = self.buckets.iter().filter(|b| b.client == client).collect();
        let heads: Vec<String> = mine
            .iter()
            .map(|b| format!("bucket `{}` of client `{client}`:", b.facts.name))
            .collect();
        ClientBuckets {
            read: mine.iter().filter(|b| !b.facts.missing).count(),
            leaks: self
                .leaks
                .iter()
                .filter(|l| l.client == client)
                .cloned()
                .collect(),
            warnings: mine
                .iter()
                .filter(|b| !b.facts.missing)
                .filter_map(|b| public_access_warning(&b.facts, client))
                .collect(),
            unreadable: self
                .unreadable
                .iter()
                .filter(|u| heads.iter().any(|h| u.starts_with(h.as_str())))
                .cloned()
                .collect(),
        }
    }
}

/// What one client's buckets say about themselves (see
/// [`ResourceSide::of_client`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientBuckets {
    /// Its buckets whose settings were read (a bucket that does not exist
    /// has none).
    pub read: usize,
    pub leaks: Vec<BucketLeak>,
    pub warnings: Vec<String>,
    pub unreadable: Vec<String>,
}

impl BucketLeak {
    /// Who is let in, as messages name it: the managed user, or the
    /// grantee.
    pub fn who(&self) -> String {
        match &self.principal {
            Some(p) => format!("`{p}`"),
            None => self.grantee.clone(),
        }
    }

    /// Where the grant is and what it grants: "bucket policy of `b`,
    /// statement `#2` (`Sid`), grants `s3:GetObject` to ..." or "ACL of
    /// `b`, grant `#2`, grants READ to ...".
    pub fn why(&self) -> String {
        let mut s = match self.source {
            "ACL" => format!("ACL of `{}`, grant `#{}`", self.bucket, self.statement),
            _ => format!(
                "bucket policy of `{}`, statement `#{}`",
                self.bucket, self.statement
            ),
        };
        if let Some(sid) = &self.sid {
            s.push_str(&format!(" (`{sid}`)"));
        }
        s.push_str(&format!(", grants {} to {}", self.grants, self.grantee));
        s
    }
}

/// The client buckets `verify` reads: every named bucket of the matrix
/// (prefixes name buckets made elsewhere, which `verify` does not list).
pub fn buckets_to_read(m: &Matrix) -> BTreeSet<String> {
    m.resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Bucket && !r.from_prefix)
        .map(|r| r.name.clone())
        .collect()
}

/// Decides the resource side from the buckets' `facts`, for the managed
/// principals of `m` (whose users, policies and `docs` are in `observed`).
pub fn resource_side(
    m: &Matrix,
    observed: &Observed,
    docs: &BTreeMap<String, Value>,
    facts: &BTreeMap<String, ObservedBucket>,
    account: &str,
) -> ResourceSide {
    let mut side = ResourceSide::default();
    let owners = m
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Bucket && !r.from_prefix)
        .map(|r| (r.name.as_str(), r.client.as_str()));
    for (name, client) in owners {
        let Some(f) = facts.get(name) else { continue };
        side.buckets.push(BucketReport {
            client: client.to_owned(),
            facts: f.clone(),
        });
        if f.missing {
            continue;
        }
        let mut unread = Vec::new();
        match &f.policy {
            Ok(Some(text)) => match serde_json::from_str::<Value>(text) {
                Ok(doc) => policy_leaks(&mut side, m, observed, docs, name, client, &doc, account),
                Err(_) => unread.push("its policy is not valid JSON".to_owned()),
            },
            Ok(None) => {}
            Err(e) => unread.push(format!("policy ({e})")),
        }
        match &f.acl {
            Ok(grants) => acl_leaks(&mut side, name, client, grants),
            Err(e) => unread.push(format!("ACL ({e})")),
        }
        side.warnings.extend(public_access_warning(f, client));
        if !unread.is_empty() {
            side.unreadable.push(format!(
                "bucket `{name}` of client `{client}`: {}; it may belong to another account, or the credentials may not read it (s3:GetBucketPolicy, s3:GetBucketAcl)",
                unread.join(", ")
            ));
        }
    }
    side
}

/// The warning for bucket `f` of `client` when it lacks any of the four
/// Block Public Access settings, or they could not be read.
fn public_access_warning(f: &ObservedBucket, client: &str) -> Option<String> {
    let name = &f.name;
    match &f.public_access_block {
        Ok(Some(b)) if b.all() => None,
        Ok(Some(_)) => Some(format!(
            "bucket `{name}` of client `{client}` has Block Public Access only in part: turn on all four settings (s3:PutBucketPublicAccessBlock)"
        )),
        Ok(None) => Some(format!(
            "bucket `{name}` of client `{client}` has no Block Public Access: a public policy or ACL could be added to it; turn on all four settings (s3:PutBucketPublicAccessBlock)"
        )),
        Err(e) => Some(format!(
            "the Block Public Access settings of bucket `{name}` could not be read ({e})"
        )),
    }
}

/// The `Allow` statements of bucket `name`'s policy that let in anyone
/// but its own client's principals and its own account.
#[allow(clippy::too_many_arguments)]
fn policy_leaks(
    side: &mut ResourceSide,
    m: &Matrix,
    observed: &Observed,
    docs: &BTreeMap<String, Value>,
    name: &str,
    client: &str,
    doc: &Value,
    account: &str,
) {
    let owned = Owned::bucket(name);
    // The managed users by ARN, with the clients they belong to.
    let members: BTreeMap<&str, (&str, &BTreeSet<String>)> = m
        .principals
        .iter()
        .filter_map(|p| {
            let user = observed.users.get(&p.name)?;
            Some((user.arn.as_str(), (p.name.as_str(), &p.clients)))
        })
        .collect();
    for (n, statement) in statements(doc).into_iter().enumerate() {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        // Only statements whose actions and resources meet the bucket.
        let single = serde_json::json!({ "Statement": [statement] });
        if reach::reach(&reach::rules(&single, "", account), None, &owned).is_empty() {
            continue;
        }
        let sid = statement
            .get("Sid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let grants = match (statement.get("Action"), statement.get("NotAction")) {
            (Some(actions), _) => written(Some(actions)),
            (None, Some(not)) => format!("every action except {}", written(Some(not))),
            (None, None) => String::new(),
        };
        for grantee in grantees(statement) {
            let mut principal = None;
            let crosses = match &grantee {
                Grantee::Everyone | Grantee::CanonicalUser(_) => true,
                Grantee::Account(a) => a != account,
                Grantee::Arn { account: a, .. } if a != account => true,
                Grantee::Arn { arn, .. } => match members.get(arn.as_str()) {
                    Some((user, clients)) if !clients.contains(client) => {
                        principal = Some(*user);
                        true
                    }
                    _ => false,
                },
                Grantee::Service(_) => false,
            };
            if !crosses {
                continue;
            }
            let allowed = principal
                .map(|user| allowed_now(observed, docs, user, name, doc, account))
                .unwrap_or_default();
            side.leaks.push(BucketLeak {
                bucket: name.to_owned(),
                client: client.to_owned(),
                grantee: grantee.describe(),
                principal: principal.map(str::to_owned),
                source: "bucket policy",
                statement: n + 1,
                sid: sid.clone(),
                grants: grants.clone(),
                allowed,
            });
        }
    }
}

/// The probed actions managed user `user` may do on bucket `name` with its
/// identity policies and the bucket's policy together.
fn allowed_now(
    observed: &Observed,
    docs: &BTreeMap<String, Value>,
    user: &str,
    name: &str,
    bucket_policy: &Value,
    account: &str,
) -> Vec<&'static str> {
    let Some(u) = observed.users.get(user) else {
        return Vec::new();
    };
    let (identity, boundary) = identity_documents(observed, u, docs, account);
    BUCKET_PROBES
        .iter()
        .filter(|p| {
            let arn = if p.on_objects() {
                objects_arn(name)
            } else {
                bucket_arn(name)
            };
            evaluate_with_bucket_policy(
                &identity,
                boundary,
                Some(bucket_policy),
                &u.arn,
                p.action,
                &arn,
                account,
            )
            .decision
                == Decision::Allowed
        })
        .map(|p| p.action)
        .collect()
}

/// The ACL grants of bucket `name` to anyone but its owner, except the
/// S3 log delivery group (a service).
fn acl_leaks(side: &mut ResourceSide, name: &str, client: &str, grants: &[crate::model::AclGrant]) {
    for (n, g) in grants.iter().enumerate() {
        if g.owner {
            continue;
        }
        let grantee = match g.grantee_type.as_str() {
            "Group" if PUBLIC_GROUPS.contains(&g.grantee.as_str()) => {
                format!("everyone (`{}`)", g.grantee)
            }
            "Group" => continue,
            "CanonicalUser" => format!("another account (canonical user `{}`)", g.grantee),
            _ => format!("another account (`{}`)", g.grantee),
        };
        side.leaks.push(BucketLeak {
            bucket: name.to_owned(),
            client: client.to_owned(),
            grantee,
            principal: None,
            source: "ACL",
            statement: n + 1,
            sid: None,
            grants: g.permission.clone(),
            allowed: Vec::new(),
        });
    }
}

/// A string-or-list element as written: "`a`, `b`".
fn written(value: Option<&Value>) -> String {
    crate::policy::document::strings(value)
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
