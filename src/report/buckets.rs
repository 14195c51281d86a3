//! The resource side of isolation, for `verify`: what each client bucket
//! says about itself (its policy, its ACL, Block Public Access, Object
//! Ownership), apart from the identity side the access matrix evaluates.
//!
//! A bucket policy statement or an ACL grant that lets in another client's
//! principal, another account, or everyone is a leak, named by its
//! statement; a bucket without all four Block Public Access settings is a
//! warning unless the account's own settings make up for it (AWS applies
//! the account's OR the bucket's); a bucket whose settings cannot be read
//! leaves isolation
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

use crate::model::{Observed, ObservedBucket, Part, PublicAccessBlock};
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
    /// The client's bucket prefix that covers it, for a bucket found by
    /// listing the account's buckets rather than named in the files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
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
    /// The account's own Block Public Access settings, which hold for
    /// every bucket along with the bucket's own.
    pub account_public_access_block: Part<Option<PublicAccessBlock>>,
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
        let account = (!mine.is_empty())
            .then(|| account_warning(&self.account_public_access_block))
            .flatten();
        ClientBuckets {
            read: mine.iter().filter(|b| !b.facts.missing).count(),
            leaks: self
                .leaks
                .iter()
                .filter(|l| l.client == client)
                .cloned()
                .collect(),
            warnings: account
                .into_iter()
                .chain(mine.iter().filter(|b| !b.facts.missing).filter_map(|b| {
                    public_access_warning(&b.facts, client, &self.account_public_access_block)
                }))
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

/// Whether some client owns a bucket prefix: then `verify` lists the
/// account's buckets to read those the prefix covers.
pub fn covers_prefixes(m: &Matrix) -> bool {
    m.resources
        .iter()
        .any(|r| r.kind == ResourceKind::Bucket && r.from_prefix)
}

/// The client buckets `verify` reads: every bucket the files or the
/// groups name, and every bucket of the account's, `listed`, that a
/// client's prefix covers.
pub fn buckets_to_read(m: &Matrix, listed: &BTreeSet<String>) -> BTreeSet<String> {
    let exact = m
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Bucket && !r.from_prefix)
        .map(|r| r.name.clone());
    let covered = listed
        .iter()
        .filter(|name| prefix_owner(m, name).is_some())
        .cloned();
    exact.chain(covered).collect()
}

/// The client whose prefix covers bucket `name`, with that prefix: the
/// longest one that covers it (configurations whose prefixes overlap are
/// refused, so at most one normally does).
fn prefix_owner<'m>(m: &'m Matrix, name: &str) -> Option<(&'m str, &'m str)> {
    m.resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Bucket && r.from_prefix)
        .filter_map(|r| Some((r.client.as_str(), r.prefix.as_deref()?)))
        .filter(|(_, p)| name.starts_with(p))
        .max_by_key(|(_, p)| p.len())
}

/// Each bucket of `facts` with its owning client and, for a bucket no
/// client names, the prefix through which it is owned; by name. A bucket
/// two clients name is listed once for each, as the matrix does.
fn owners<'a>(
    m: &'a Matrix,
    facts: &'a BTreeMap<String, ObservedBucket>,
) -> Vec<(&'a str, &'a str, Option<&'a str>)> {
    let exact: BTreeSet<&str> = m
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Bucket && !r.from_prefix)
        .map(|r| r.name.as_str())
        .collect();
    let mut owners: Vec<(&str, &str, Option<&str>)> = m
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Bucket && !r.from_prefix)
        .map(|r| (r.name.as_str(), r.client.as_str(), None))
        .collect();
    owners.extend(
        facts
            .keys()
            .filter(|name| !exact.contains(name.as_str()))
            .filter_map(|name| {
                let (client, prefix) = prefix_owner(m, name)?;
                Some((name.as_str(), client, Some(prefix)))
            }),
    );
    // Stable: the clients naming one bucket stay in the matrix's order.
    owners.sort_by_key(|(name, _, _)| *name);
    owners
}

/// Decides the resource side from the buckets' `facts` and the account's
/// Block Public Access `account_block`, for the managed principals of `m`
/// (whose users, policies and `docs` are in `observed`).
pub fn resource_side(
    m: &Matrix,
    observed: &Observed,
    docs: &BTreeMap<String, Value>,
    facts: &BTreeMap<String, ObservedBucket>,
    account: &str,
    account_block: Part<Option<PublicAccessBlock>>,
) -> ResourceSide {
    let mut side = ResourceSide::default();
    side.warnings.extend(account_warning(&account_block));
    side.account_public_access_block = account_block;
    for (name, client, prefix) in owners(m, facts) {
        let Some(f) = facts.get(name) else { continue };
        side.buckets.push(BucketReport {
            client: client.to_owned(),
            prefix: prefix.map(str::to_owned),
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
            Part::Read(grants) => acl_leaks(&mut side, name, client, grants),
            // ACLs are off: AWS evaluates the policies alone.
            Part::NotRead(_) => {}
            Part::Unreadable(e) => unread.push(format!("ACL ({e})")),
        }
        let warning = public_access_warning(f, client, &side.account_public_access_block);
        side.warnings.extend(warning);
        if !unread.is_empty() {
            side.unreadable.push(format!(
                "bucket `{name}` of client `{client}`: {}; it may belong to another account, or the credentials may not read it (s3:GetBucketPolicy, s3:GetBucketAcl)",
                unread.join(", ")
            ));
        }
    }
    side
}

/// The warning when the account's Block Public Access could not be read.
fn account_warning(account: &Part<Option<PublicAccessBlock>>) -> Option<String> {
    account.error().map(|e| {
        format!(
            "the account's Block Public Access settings could not be read ({e}): each bucket is judged by its own (s3:GetAccountPublicAccessBlock)"
        )
    })
}

/// The warning for bucket `f` of `client` when the Block Public Access in
/// force for it, the account's `account` OR its own, lacks any of the four
/// settings, or when its own could not be read and the account's do not
/// make up for it.
fn public_access_warning(
    f: &ObservedBucket,
    client: &str,
    account: &Part<Option<PublicAccessBlock>>,
) -> Option<String> {
    let name = &f.name;
    let account = match account {
        Part::Read(a) => *a,
        Part::NotRead(_) | Part::Unreadable(_) => None,
    };
    if account.is_some_and(|a| a.all()) {
        return None;
    }
    let own = match &f.public_access_block {
        Part::Read(own) => *own,
        Part::NotRead(_) => return None,
        Part::Unreadable(e) => {
            return Some(format!(
                "the Block Public Access settings of bucket `{name}` could not be read ({e})"
            ));
        }
    };
    match own.map(|b| b.or(account)).or(account) {
        Some(b) if b.all() => None,
        Some(_) => Some(format!(
            "bucket `{name}` of client `{client}` has Block Public Access only in part{}: turn on all four settings (s3:PutBucketPublicAccessBlock)",
            if account.is_some() {
                ", with the account's settings"
            } else {
                ""
            }
        )),
        None => Some(format!(
            "bucket `{name}` of client `{client}` has no Block Public Access: a public policy or ACL could be added to it; turn on all four settings (s3:PutBucketPublicAccessBlock)"
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
