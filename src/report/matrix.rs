//! `provision verify`: the access matrix, every managed principal x every
//! client bucket and distribution, computed by evaluating the account's live
//! policies with [`crate::policy::evaluate`].
//!
//! Pure: the command reads the account and the managed policy documents,
//! then [`matrix`] decides and `render::matrix` prints.
//!
//! Two answers per principal and resource. The table shows what a few
//! representative actions may do on the resource (a bucket prefix through a
//! sample bucket `<prefix>example`), evaluated as IAM would. Whether
//! isolation holds is decided on the patterns themselves ([`crate::policy::reach`]):
//! a principal leaks when any statement it holds allows an action on
//! anything another client owns (any bucket a prefix covers, not only the
//! sample), and the leak names that statement.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::model::{CLIENT_TAG_KEY, Desired, GROUP_PREFIX, Observed};
use crate::policy::arn::{bucket_arn, distribution_arn, objects_arn};
use crate::policy::evaluate::{Decision, evaluate};
use crate::policy::isolation::{OwnedScope, policy_scopes};
use crate::policy::reach::{self, Owned, Reach, Rule};

/// Suffix that turns a bucket prefix into a representative bucket name.
pub const PREFIX_EXAMPLE: &str = "example";

/// What is probed on a resource: a short name for the table, the IAM action,
/// and whether it targets the bucket or its objects.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub name: &'static str,
    pub action: &'static str,
    target: Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Bucket,
    Objects,
    Distribution,
}

/// One representative action per access level, plus what `full` adds.
pub const BUCKET_PROBES: &[Probe] = &[
    Probe {
        name: "list",
        action: "s3:ListBucket",
        target: Target::Bucket,
    },
    Probe {
        name: "get",
        action: "s3:GetObject",
        target: Target::Objects,
    },
    Probe {
        name: "put",
        action: "s3:PutObject",
        target: Target::Objects,
    },
    Probe {
        name: "delete",
        action: "s3:DeleteObject",
        target: Target::Objects,
    },
    Probe {
        name: "bucket-policy",
        action: "s3:PutBucketPolicy",
        target: Target::Bucket,
    },
    Probe {
        name: "bucket-acl",
        action: "s3:PutBucketAcl",
        target: Target::Bucket,
    },
];

/// What is probed on a distribution.
pub const DISTRIBUTION_PROBES: &[Probe] = &[Probe {
    name: "invalidate",
    action: "cloudfront:CreateInvalidation",
    target: Target::Distribution,
}];

/// The kind of a resource in the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    Bucket,
    Distribution,
}

/// A bucket or distribution and the client that owns it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Resource {
    pub kind: ResourceKind,
    /// Bucket name (for a prefix, `<prefix>example`) or distribution id.
    pub name: String,
    pub client: String,
    /// True for a representative bucket standing for a prefix.
    pub from_prefix: bool,
    /// The prefix a representative bucket stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(skip)]
    account_id: String,
}

impl Resource {
    /// What the client owns, as patterns: the bucket and its objects, every
    /// bucket of the prefix, or the distribution.
    fn owned(&self) -> Owned {
        match (self.kind, &self.prefix) {
            (ResourceKind::Distribution, _) => Owned::distribution(&self.account_id, &self.name),
            (ResourceKind::Bucket, Some(prefix)) => Owned::prefix(prefix),
            (ResourceKind::Bucket, None) => Owned::bucket(&self.name),
        }
    }

    /// How messages name it: "bucket `x`", "bucket prefix `p`" or
    /// "distribution `E...`".
    pub fn describe(&self) -> String {
        match (self.kind, &self.prefix) {
            (ResourceKind::Distribution, _) => format!("distribution `{}`", self.name),
            (ResourceKind::Bucket, Some(prefix)) => format!("bucket prefix `{prefix}`"),
            (ResourceKind::Bucket, None) => format!("bucket `{}`", self.name),
        }
    }

    fn arn(&self, target: Target) -> String {
        match target {
            Target::Bucket => bucket_arn(&self.name),
            Target::Objects => objects_arn(&self.name),
            Target::Distribution => distribution_arn(&self.account_id, &self.name),
        }
    }

    fn probes(&self) -> &'static [Probe] {
        match self.kind {
            ResourceKind::Bucket => BUCKET_PROBES,
            ResourceKind::Distribution => DISTRIBUTION_PROBES,
        }
    }
}

/// A managed user and the clients it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub name: String,
    /// `developer` or `app`.
    pub kind: &'static str,
    pub clients: BTreeSet<String>,
}

/// What one principal may do on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub principal: String,
    pub resource: String,
    pub kind: ResourceKind,
    pub client: String,
    /// The principal belongs to the resource's client.
    pub own: bool,
    /// Probed actions allowed (IAM action names).
    pub allowed: Vec<&'static str>,
    /// Probed actions explicitly denied.
    pub explicitly_denied: Vec<&'static str>,
    /// A statement with a `Condition` took part (counted as applying for
    /// allows and not applying for denies).
    pub conditional: bool,
    /// For a resource of another client: every statement whose patterns
    /// reach any part of it (see [`crate::policy::reach`]).
    pub reached_by: Vec<Reach>,
    /// How messages name the resource ("bucket prefix `p`", ...).
    #[serde(skip)]
    pub described: String,
}

impl Cell {
    /// True when the principal reaches a resource of a client it does not
    /// belong to: a statement's patterns reach it, or (belt and braces) a
    /// probed action is allowed on it.
    pub fn is_leak(&self) -> bool {
        !self.own && (!self.allowed.is_empty() || !self.reached_by.is_empty())
    }
}

/// The whole matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matrix {
    pub principals: Vec<Principal>,
    pub resources: Vec<Resource>,
    pub cells: Vec<Cell>,
    /// Things the reader should know about how the answer was reached.
    pub notes: Vec<String>,
}

impl Matrix {
    /// The cells where isolation is broken.
    pub fn leaks(&self) -> impl Iterator<Item = &Cell> {
        self.cells.iter().filter(|c| c.is_leak())
    }

    /// True when no principal reaches another client's resources.
    pub fn isolated(&self) -> bool {
        self.leaks().next().is_none()
    }
}

/// Every ARN whose document [`matrix`] needs: policies attached to managed
/// users and to their groups, and their permissions boundaries.
pub fn needed_policy_arns(desired: &Desired, observed: &Observed) -> BTreeSet<String> {
    let path = desired.settings.path.as_str();
    let mut arns = BTreeSet::new();
    for user in observed.users.values().filter(|u| u.is_managed(path)) {
        arns.extend(user.attached_policies.iter().cloned());
        arns.extend(user.permissions_boundary.iter().cloned());
        for group in user.groups.iter().filter_map(|g| observed.groups.get(g)) {
            arns.extend(group.attached_policies.iter().cloned());
        }
    }
    arns
}

/// Builds the matrix: principals are the managed users; resources are every
/// bucket, prefix (as `<prefix>example`) and distribution of the loaded
/// clients, plus the buckets and prefixes that managed groups of clients not
/// loaded grant in the account. `docs` holds the managed policy documents
/// by ARN (see [`needed_policy_arns`]).
pub fn matrix(
    desired: &Desired,
    observed: &Observed,
    docs: &BTreeMap<String, Value>,
    account_id: &str,
) -> Matrix {
    let mut notes = Vec::new();
    let live = live_clients(desired, observed);
    let resources = resources(desired, &live, account_id, &mut notes);
    let mut principals = Vec::new();
    let mut policies_of: BTreeMap<String, Policies<'_>> = BTreeMap::new();
    let mut missing: BTreeSet<String> = BTreeSet::new();
    let path = desired.settings.path.as_str();
    for user in observed.users.values().filter(|u| u.is_managed(path)) {
        principals.push(principal(desired, &live, user));
        policies_of.insert(
            user.name.clone(),
            policies(observed, user, docs, account_id, &mut missing),
        );
    }
    if !missing.is_empty() {
        notes.push(format!(
            "these managed policies could not be read and were left out: {}",
            missing
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // Each resource's patterns are parsed once, not once per principal.
    let owned: Vec<(&Resource, Owned)> = resources.iter().map(|r| (r, r.owned())).collect();
    let mut cells = Vec::new();
    for principal in &principals {
        for (r, owned) in &owned {
            cells.push(cell(principal, &policies_of[&principal.name], r, owned));
        }
    }
    if cells.iter().any(|c| c.conditional) {
        notes.push(
            "statements with a `Condition` were not evaluated: a conditional Allow is counted as allowing and a conditional Deny as not denying (marked `*`)"
                .to_owned(),
        );
    }
    Matrix {
        principals,
        resources: resources.into_iter().collect(),
        cells,
        notes,
    }
}

/// Managed client groups of clients the files do not declare, by client
/// name: what those clients own is read from their policies.
fn live_clients<'o>(
    desired: &Desired,
    observed: &'o Observed,
) -> Vec<(&'o str, &'o crate::model::ObservedGroup)> {
    let path = desired.settings.path.as_str();
    let loaded_groups: BTreeSet<String> =
        desired.clients.values().map(|c| c.group_name()).collect();
    observed
        .groups
        .values()
        .filter(|g| g.is_managed(path) && !loaded_groups.contains(&g.name))
        .map(|g| (g.name.strip_prefix(GROUP_PREFIX).unwrap_or(&g.name), g))
        .collect()
}

/// Every bucket, prefix and distribution with its owner: the loaded
/// clients' from the files, the others' from their groups' policies.
fn resources(
    desired: &Desired,
    live: &[(&str, &crate::model::ObservedGroup)],
    account_id: &str,
    notes: &mut Vec<String>,
) -> BTreeSet<Resource> {
    let mut resources: BTreeSet<Resource> = BTreeSet::new();
    let resource = |kind, name: &str, client: &str, prefix: Option<&str>| Resource {
        kind,
        name: match prefix {
            Some(p) => format!("{p}{PREFIX_EXAMPLE}"),
            None => name.to_owned(),
        },
        client: client.to_owned(),
        from_prefix: prefix.is_some(),
        prefix: prefix.map(str::to_owned),
        account_id: account_id.to_owned(),
    };
    for client in desired.clients.values() {
        for b in &client.buckets {
            resources.insert(resource(ResourceKind::Bucket, b, &client.name, None));
        }
        for p in &client.bucket_prefixes {
            resources.insert(resource(ResourceKind::Bucket, p, &client.name, Some(p)));
        }
        for d in &client.distributions {
            resources.insert(resource(ResourceKind::Distribution, d, &client.name, None));
        }
    }
    for (client, group) in live {
        for scope in group.inline_policies.values().flat_map(policy_scopes) {
            match scope {
                OwnedScope::Bucket(b) => {
                    resources.insert(resource(ResourceKind::Bucket, &b, client, None));
                }
                // The empty prefix is every bucket: not a bucket of its own.
                OwnedScope::Prefix(p) if p.is_empty() => {}
                OwnedScope::Prefix(p) => {
                    resources.insert(resource(ResourceKind::Bucket, &p, client, Some(&p)));
                }
            }
        }
    }
    if !live.is_empty() {
        notes.push(format!(
            "buckets of {} client(s) not in the files given were read from their groups' policies: {}",
            live.len(),
            live.iter()
                .map(|(c, _)| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if resources.iter().any(|r| r.from_prefix) {
        notes.push(format!(
            "the table probes a bucket prefix through a representative bucket `<prefix>{PREFIX_EXAMPLE}`; leaks are decided on the policies' patterns, for every bucket the prefix covers"
        ));
    }
    resources
}

/// A managed user and the clients it belongs to: as the files say for
/// loaded clients, as the account says for the others.
fn principal(
    desired: &Desired,
    live: &[(&str, &crate::model::ObservedGroup)],
    user: &crate::model::ObservedUser,
) -> Principal {
    let mut clients = BTreeSet::new();
    for client in desired.clients.values() {
        if client.developers.contains(&user.name)
            || client.app_user.as_deref() == Some(user.name.as_str())
        {
            clients.insert(client.name.clone());
        }
    }
    for (client, group) in live {
        if user.groups.contains(&group.name) {
            clients.insert((*client).to_owned());
        }
    }
    if let Some(client) = user.tags.get(CLIENT_TAG_KEY) {
        clients.insert(client.clone());
    }
    Principal {
        name: user.name.clone(),
        kind: if user.tags.contains_key(CLIENT_TAG_KEY) {
            "app"
        } else {
            "developer"
        },
        clients,
    }
}

/// Every policy that applies to `user`, each with the name a leak message
/// gives it; the ARNs of managed policies whose documents are not in
/// `docs` go to `missing`.
fn policies<'a>(
    observed: &'a Observed,
    user: &'a crate::model::ObservedUser,
    docs: &'a BTreeMap<String, Value>,
    account_id: &str,
    missing: &mut BTreeSet<String>,
) -> Policies<'a> {
    let mut identity: Vec<(String, &Value)> = user
        .inline_policies
        .iter()
        .map(|(name, doc)| {
            (
                format!("inline policy `{name}` of user `{}`", user.name),
                doc,
            )
        })
        .collect();
    let mut attached: Vec<(String, &String)> = user
        .attached_policies
        .iter()
        .map(|arn| (format!("user `{}`", user.name), arn))
        .collect();
    for group in user.groups.iter().filter_map(|g| observed.groups.get(g)) {
        identity.extend(group.inline_policies.iter().map(|(name, doc)| {
            (
                format!("inline policy `{name}` of group `{}`", group.name),
                doc,
            )
        }));
        attached.extend(
            group
                .attached_policies
                .iter()
                .map(|arn| (format!("group `{}`", group.name), arn)),
        );
    }
    for (holder, arn) in attached {
        match docs.get(arn) {
            Some(doc) => {
                identity.push((format!("managed policy `{arn}` attached to {holder}"), doc))
            }
            None => {
                missing.insert(arn.clone());
            }
        }
    }
    let boundary = user.permissions_boundary.as_ref().and_then(|arn| {
        let doc = docs.get(arn);
        if doc.is_none() {
            missing.insert(arn.clone());
        }
        doc.map(|d| (arn, d))
    });
    Policies::new(identity, boundary, account_id)
}

/// What `principal` may do on `r`: the probes, and for another client's
/// resource every statement that reaches it.
fn cell(principal: &Principal, policies: &Policies<'_>, r: &Resource, owned: &Owned) -> Cell {
    let own = principal.clients.contains(&r.client);
    let mut cell = Cell {
        principal: principal.name.clone(),
        resource: r.name.clone(),
        kind: r.kind,
        client: r.client.clone(),
        own,
        allowed: Vec::new(),
        explicitly_denied: Vec::new(),
        conditional: false,
        // A client's own access is what it is granted; only another
        // client's resources can leak.
        reached_by: if own {
            Vec::new()
        } else {
            reach::reach(&policies.rules, policies.boundary_rules.as_deref(), owned)
        },
        described: r.describe(),
    };
    for probe in r.probes() {
        let e = evaluate(
            &policies.documents,
            policies.boundary,
            probe.action,
            &r.arn(probe.target),
            &r.account_id,
        );
        cell.conditional |= e.conditional;
        match e.decision {
            Decision::Allowed => cell.allowed.push(probe.action),
            Decision::ExplicitDeny => cell.explicitly_denied.push(probe.action),
            Decision::ImplicitDeny => {}
        }
    }
    cell
}

/// One principal's policies: the documents, for the probes, and their
/// statements with names, for the reach.
struct Policies<'a> {
    documents: Vec<&'a Value>,
    boundary: Option<&'a Value>,
    rules: Vec<Rule>,
    boundary_rules: Option<Vec<Rule>>,
}

impl<'a> Policies<'a> {
    fn new(
        identity: Vec<(String, &'a Value)>,
        boundary: Option<(&String, &'a Value)>,
        account_id: &str,
    ) -> Self {
        Policies {
            rules: identity
                .iter()
                .flat_map(|(name, doc)| reach::rules(doc, name, account_id))
                .collect(),
            documents: identity.into_iter().map(|(_, doc)| doc).collect(),
            boundary_rules: boundary.map(|(arn, doc)| {
                reach::rules(doc, &format!("permissions boundary `{arn}`"), account_id)
            }),
            boundary: boundary.map(|(_, doc)| doc),
        }
    }
}

/// A disagreement between the evaluator and `iam:SimulatePrincipalPolicy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub principal: String,
    pub action: String,
    pub resource_arn: String,
    pub ours: bool,
    pub simulated: bool,
}

/// The (action, resource ARN) pairs probed for every principal, for a
/// cross-check with the simulator.
pub fn probe_requests(m: &Matrix) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    for r in &m.resources {
        for probe in r.probes() {
            pairs.push((probe.action, r.arn(probe.target)));
        }
    }
    pairs
}

/// Whether the matrix says `principal` may do `action` on `arn`.
pub fn allows(m: &Matrix, principal: &str, action: &str, arn: &str) -> bool {
    m.resources.iter().any(|r| {
        r.probes()
            .iter()
            .any(|p| p.action == action && r.arn(p.target) == arn)
            && m.cells.iter().any(|c| {
                c.principal == principal
                    && c.resource == r.name
                    && c.kind == r.kind
                    && c.allowed.contains(&action)
            })
    })
}

/// Where the simulator's answers for `principal` (`simulated`: the
/// allowed `(action, resource ARN)` pairs) disagree with the matrix, over
/// the probed `requests`.
pub fn disagreements(
    m: &Matrix,
    principal: &str,
    requests: &[(&'static str, String)],
    simulated: &BTreeSet<(String, String)>,
) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    for (action, arn) in requests {
        let ours = allows(m, principal, action, arn);
        let theirs = simulated.contains(&((*action).to_owned(), arn.clone()));
        if ours != theirs {
            mismatches.push(Mismatch {
                principal: principal.to_owned(),
                action: (*action).to_owned(),
                resource_arn: arn.clone(),
                ours,
                simulated: theirs,
            });
        }
    }
    mismatches
}

/// Every statement of `user`'s policies that reaches `r`, whichever client
/// owns it. The matrix keeps reaches for other clients' resources only;
/// the access report also says why a client's own principals reach its
/// resources.
pub fn grants(
    observed: &Observed,
    user: &crate::model::ObservedUser,
    docs: &BTreeMap<String, Value>,
    r: &Resource,
) -> Vec<Reach> {
    let p = policies(observed, user, docs, &r.account_id, &mut BTreeSet::new());
    reach::reach(&p.rules, p.boundary_rules.as_deref(), &r.owned())
}

#[cfg(test)]
mod tests;
