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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use crate::model::{CLIENT_TAG_KEY, Client, Desired, Observed, ObservedUser};
use crate::plan::expiry::apply_lifecycle;
use crate::policy::arn::{bucket_arn, distribution_arn, objects_arn};
use crate::policy::document::{statements, strings};
use crate::policy::evaluate::{Decision, evaluate};
use crate::policy::isolation::{LiveClient, OwnedScope, live_clients};
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

impl Probe {
    /// True when it acts on the bucket's objects, not the bucket.
    pub fn on_objects(&self) -> bool {
        self.target == Target::Objects
    }
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

    /// The literal start of every ARN and pattern that stands for it
    /// ([`Resource::arn`], [`Resource::owned`]): the bucket's or the
    /// prefix's ARN, or the distribution's.
    fn key(&self) -> String {
        match (self.kind, &self.prefix) {
            (ResourceKind::Distribution, _) => distribution_arn(&self.account_id, &self.name),
            (ResourceKind::Bucket, Some(prefix)) => bucket_arn(prefix),
            (ResourceKind::Bucket, None) => bucket_arn(&self.name),
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

/// A managed user or role and the clients it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub name: String,
    /// `developer`, `app` or `role`.
    pub kind: &'static str,
    pub clients: BTreeSet<String>,
}

/// What one principal may do on one resource: a view into the matrix,
/// which keeps one answer per set of policies, not per principal (see
/// [`Matrix::cells`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cell<'m> {
    pub principal: &'m str,
    pub resource: &'m str,
    pub kind: ResourceKind,
    pub client: &'m str,
    /// The principal belongs to the resource's client.
    pub own: bool,
    /// Probed actions allowed (IAM action names).
    pub allowed: &'m [&'static str],
    /// Probed actions explicitly denied.
    pub explicitly_denied: &'m [&'static str],
    /// A statement with a `Condition` took part (counted as applying for
    /// allows and not applying for denies).
    pub conditional: bool,
    /// For a resource of another client: every statement whose patterns
    /// reach any part of it (see [`crate::policy::reach`]).
    pub reached_by: &'m [Reach],
    /// The resource itself, for messages.
    #[serde(skip)]
    pub of: &'m Resource,
}

impl Cell<'_> {
    /// True when the principal reaches a resource of a client it does not
    /// belong to: a statement's patterns reach it, or (belt and braces) a
    /// probed action is allowed on it.
    pub fn is_leak(&self) -> bool {
        !self.own && (!self.allowed.is_empty() || !self.reached_by.is_empty())
    }

    /// How messages name the resource ("bucket prefix `p`", ...).
    pub fn described(&self) -> String {
        self.of.describe()
    }
}

/// What one set of policies allows on one resource: the probes' answers,
/// and the statements that reach it (shown only to principals of another
/// client).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Outcome {
    allowed: Vec<&'static str>,
    explicitly_denied: Vec<&'static str>,
    conditional: bool,
    reached_by: Vec<Reach>,
}

/// The answers shared by every principal with the same policies.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    /// The resources its identity statements may name (by index in
    /// [`Matrix::resources`], ascending), with what it may do there.
    named: Vec<(usize, Outcome)>,
    /// Index in [`Matrix::unnamed`]: the answers on every other resource,
    /// which only its permissions boundary can decide.
    boundary: usize,
}

/// The whole matrix: principals x resources, kept as one row per distinct
/// set of policies (at 4,800 principals and 600 resources, a few
/// thousand rows of a few answers each instead of 2.9 million cells).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub principals: Vec<Principal>,
    pub resources: Vec<Resource>,
    /// Each principal's row, in [`Matrix::principals`]' order.
    row_of: Vec<usize>,
    rows: Vec<Row>,
    /// Per distinct permissions boundary (or none), the answer on each
    /// resource for a principal none of whose identity statements name it.
    unnamed: Vec<Vec<Outcome>>,
    /// Things the reader should know about how the answer was reached.
    pub notes: Vec<String>,
    /// ARNs of managed policies (attached or boundaries) that apply to a
    /// principal but whose documents could not be read. A policy that
    /// cannot be read may grant anything, so isolation cannot be proven
    /// while any is left.
    pub unreadable: BTreeSet<String>,
    /// (principal, resource) indices whose leak the resource's bucket
    /// policy holds: it denies the principal everything there (the
    /// bucket-policy layer), see [`Matrix::hold_by_bucket_policies`].
    held: BTreeSet<(usize, usize)>,
}

impl Matrix {
    /// What principal `p` (its index in [`Matrix::principals`]) may do on
    /// each resource, in [`Matrix::resources`]' order.
    pub fn row(&self, p: usize) -> impl Iterator<Item = Cell<'_>> {
        (0..self.resources.len()).map(move |r| self.cell(p, r))
    }

    /// Every cell, principal by principal, each in resource order: the
    /// rows expanded as they are read, never held all at once.
    pub fn cells(&self) -> impl Iterator<Item = Cell<'_>> {
        (0..self.principals.len()).flat_map(move |p| self.row(p))
    }

    /// How many cells [`Matrix::cells`] yields.
    pub fn cell_count(&self) -> usize {
        self.principals.len() * self.resources.len()
    }

    /// What principal `p` may do on resource `r` (indices).
    fn cell(&self, p: usize, r: usize) -> Cell<'_> {
        let principal = &self.principals[p];
        let resource = &self.resources[r];
        let row = &self.rows[self.row_of[p]];
        let outcome = match row.named.binary_search_by_key(&r, |(i, _)| *i) {
            Ok(at) => &row.named[at].1,
            Err(_) => &self.unnamed[row.boundary][r],
        };
        let own = principal.clients.contains(&resource.client);
        Cell {
            principal: &principal.name,
            resource: &resource.name,
            kind: resource.kind,
            client: &resource.client,
            own,
            allowed: &outcome.allowed,
            explicitly_denied: &outcome.explicitly_denied,
            conditional: outcome.conditional,
            // A client's own access is what it is granted; only another
            // client's resources can leak.
            reached_by: if own { &[] } else { &outcome.reached_by },
            of: resource,
        }
    }

    /// The cells where isolation is broken, in [`Matrix::cells`]' order.
    /// Only a resource a principal's identity statements name can leak
    /// (nothing else allows or reaches it), so only those are looked at.
    pub fn leaks(&self) -> impl Iterator<Item = Cell<'_>> {
        self.row_of.iter().enumerate().flat_map(move |(p, row)| {
            self.rows[*row]
                .named
                .iter()
                .filter(move |(r, _)| self.held.is_empty() || !self.held.contains(&(p, *r)))
                .map(move |(r, _)| self.cell(p, *r))
                .filter(Cell::is_leak)
        })
    }

    /// Takes out of [`Matrix::leaks`] each leak on an exact bucket whose
    /// policy (`policies`, by bucket, as read) denies the principal every S3
    /// action there ([`crate::policy::bucket_policy::denies_everything`]:
    /// the bucket-policy layer), with a note naming it: IAM lets the
    /// principal in, the bucket does not. `arn_of` gives a principal's ARN.
    pub fn hold_by_bucket_policies(
        &mut self,
        policies: &BTreeMap<String, Value>,
        arn_of: impl Fn(&str) -> Option<String>,
        account: &str,
    ) {
        let mut held = Vec::new();
        for (p, row) in self.row_of.iter().enumerate() {
            for (r, _) in &self.rows[*row].named {
                let cell = self.cell(p, *r);
                if !cell.is_leak() || cell.kind != ResourceKind::Bucket || cell.of.from_prefix {
                    continue;
                }
                let (Some(policy), Some(arn)) =
                    (policies.get(cell.resource), arn_of(cell.principal))
                else {
                    continue;
                };
                if crate::policy::bucket_policy::denies_everything(
                    policy,
                    cell.resource,
                    &arn,
                    account,
                ) {
                    held.push((p, *r, cell.principal.to_owned(), cell.resource.to_owned()));
                }
            }
        }
        for (p, r, principal, bucket) in held {
            self.held.insert((p, r));
            self.notes.push(format!(
                "`{principal}` is let into bucket `{bucket}` by IAM policies, but the bucket's policy denies it every S3 action (the bucket-policy layer): held"
            ));
        }
    }

    /// True when isolation is proven: no principal reaches another
    /// client's resources, and every policy that applies was read.
    pub fn isolated(&self) -> bool {
        self.leaks().next().is_none() && self.unreadable.is_empty()
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
    for role in observed.roles.values().filter(|r| r.is_managed(path)) {
        arns.extend(role.attached_policies.iter().cloned());
        arns.extend(role.permissions_boundary.iter().cloned());
    }
    arns
}

/// Builds the matrix: principals are the managed users; resources are every
/// bucket, prefix (as `<prefix>example`) and distribution of the clients of
/// the configuration (the files given and their context files), plus the
/// buckets, prefixes and distributions that managed groups of clients not
/// in the configuration grant in the account. `docs` holds the managed
/// policy documents by ARN (see [`needed_policy_arns`]).
///
/// With `today`, memberships are taken as the planner takes them (see
/// [`apply_lifecycle`]): an ended membership, an expired or a disabled
/// developer belongs to no client, so what it still reaches is a leak
/// until the next apply takes it away.
pub fn matrix(
    desired: &Desired,
    observed: &Observed,
    docs: &BTreeMap<String, Value>,
    account_id: &str,
    today: Option<NaiveDate>,
) -> Matrix {
    let mut notes = Vec::new();
    let belonging = Belonging::new(desired, observed, today);
    let resources = resources(&belonging, account_id, &mut notes);
    let mut principals = Vec::new();
    // Principals with the same policies (the same groups, no policies of
    // their own, the same boundary) have the same row but for who they are
    // and which clients they belong to: their policies are gathered and
    // evaluated once per distinct set, not once per principal.
    let mut policy_sets: Vec<Policies<'_>> = Vec::new();
    let mut set_of_key: HashMap<(&BTreeSet<String>, Option<&String>), usize> = HashMap::new();
    let mut set_of: Vec<usize> = Vec::new();
    let mut unreadable: BTreeSet<String> = BTreeSet::new();
    let mut unread_boundaries: BTreeSet<String> = BTreeSet::new();
    let mut from_account: Vec<String> = Vec::new();
    let path = desired.settings.path.as_str();
    for user in observed.users.values().filter(|u| u.is_managed(path)) {
        let principal = belonging.principal(user);
        from_account.extend(
            belonging
                .live_memberships(user)
                .map(|client| format!("`{}` in `{}`", user.name, client.group.name)),
        );
        principals.push(principal);
        let shared = user.inline_policies.is_empty() && user.attached_policies.is_empty();
        let key = (&user.groups, user.permissions_boundary.as_ref());
        let set = match set_of_key.get(&key) {
            Some(set) if shared => *set,
            _ => {
                policy_sets.push(policies(
                    observed,
                    user,
                    docs,
                    account_id,
                    &mut unreadable,
                    &mut unread_boundaries,
                ));
                if shared {
                    set_of_key.insert(key, policy_sets.len() - 1);
                }
                policy_sets.len() - 1
            }
        };
        set_of.push(set);
    }
    // Roles (keyless CI) are principals too, each with its own policies.
    for role in observed.roles.values().filter(|r| r.is_managed(path)) {
        principals.push(roles::principal(desired, role));
        policy_sets.push(roles::policies(
            role,
            docs,
            account_id,
            &mut unreadable,
            &mut unread_boundaries,
        ));
        set_of.push(policy_sets.len() - 1);
    }
    if !from_account.is_empty() {
        notes.push(format!(
            "memberships in groups of clients not in the configuration were read from the account: {}",
            from_account.join(", ")
        ));
    }
    if !unread_boundaries.is_empty() {
        notes.push(format!(
            "these permissions boundaries could not be read and were left out, which can only show more access than there is: {}",
            backticked(&unread_boundaries)
        ));
    }
    if !unreadable.is_empty() {
        notes.push(format!(
            "these policies apply to managed users but could not be read, so isolation cannot be proven: {}; check that they exist and that the credentials may read them (iam:GetPolicy, iam:GetPolicyVersion)",
            backticked(&unreadable)
        ));
    }
    let resources: Vec<Resource> = resources.into_iter().collect();
    let (rows, unnamed) = rows(&policy_sets, &resources);
    // The note is about what is shown: a row's answers on the resources
    // it names, and its boundary's on all the others.
    let conditional = rows.iter().any(|row| {
        row.named.iter().any(|(_, o)| o.conditional)
            || unnamed[row.boundary].iter().enumerate().any(|(r, o)| {
                o.conditional && row.named.binary_search_by_key(&r, |(i, _)| *i).is_err()
            })
    });
    if conditional {
        notes.push(
            "statements with a `Condition` were not evaluated: a conditional Allow is counted as allowing and a conditional Deny as not denying (marked `*`)"
                .to_owned(),
        );
    }
    Matrix {
        principals,
        resources,
        row_of: set_of,
        rows,
        unnamed,
        notes,
        unreadable,
        held: BTreeSet::new(),
    }
}

/// One [`Row`] per set of policies, and the answers of each distinct
/// boundary on the resources a row does not name.
///
/// Most statements name a few buckets: each is looked up in an index of
/// the resources ([`ResourceIndex`]), and a set of policies is evaluated
/// only on what its identity statements may name. Elsewhere no identity
/// statement matches, so nothing is allowed or reached, and only the
/// boundary can deny or be conditional: that answer is worked out once per
/// boundary.
fn rows(policy_sets: &[Policies<'_>], resources: &[Resource]) -> (Vec<Row>, Vec<Vec<Outcome>>) {
    let index = ResourceIndex::new(resources);
    let mut named_by: HashMap<*const Value, Vec<usize>> = HashMap::new();
    let mut boundaries: Vec<Option<*const Value>> = Vec::new();
    let mut unnamed: Vec<Vec<Outcome>> = Vec::new();
    let mut rows = Vec::with_capacity(policy_sets.len());
    for set in policy_sets {
        let key = set.boundary.map(std::ptr::from_ref);
        let boundary = match boundaries.iter().position(|b| *b == key) {
            Some(b) => b,
            None => {
                let alone = Policies {
                    documents: Vec::new(),
                    boundary: set.boundary,
                    rules: Vec::new(),
                    boundary_rules: None,
                };
                unnamed.push(
                    resources
                        .iter()
                        .map(|r| {
                            let (allowed, explicitly_denied, conditional) = probe(&alone, r);
                            Outcome {
                                allowed,
                                explicitly_denied,
                                conditional,
                                reached_by: Vec::new(),
                            }
                        })
                        .collect(),
                );
                boundaries.push(key);
                boundaries.len() - 1
            }
        };
        let mut named: BTreeSet<usize> = BTreeSet::new();
        for doc in &set.documents {
            named.extend(
                named_by
                    .entry(std::ptr::from_ref(*doc))
                    .or_insert_with(|| index.named_by(doc))
                    .iter(),
            );
        }
        let named = named
            .into_iter()
            .map(|r| (r, outcome(set, &resources[r])))
            .collect();
        rows.push(Row { named, boundary });
    }
    (rows, unnamed)
}

/// What `policies` allow on `r`, and every statement that reaches it.
fn outcome(policies: &Policies<'_>, r: &Resource) -> Outcome {
    let (allowed, explicitly_denied, conditional) = probe(policies, r);
    Outcome {
        allowed,
        explicitly_denied,
        conditional,
        reached_by: reach::reach(
            &policies.rules,
            policies.boundary_rules.as_deref(),
            &r.owned(),
        ),
    }
}

/// The resources by the literal start of their ARNs, to find the ones a
/// statement's resource pattern may name without matching it against
/// every one.
struct ResourceIndex {
    /// Each resource's key ([`Resource::key`]) and index, sorted by key.
    sorted: Vec<(String, usize)>,
    /// The same, by key.
    by_key: HashMap<String, Vec<usize>>,
    count: usize,
}

impl ResourceIndex {
    fn new(resources: &[Resource]) -> Self {
        let mut sorted: Vec<(String, usize)> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key(), i))
            .collect();
        sorted.sort();
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        for (key, i) in &sorted {
            by_key.entry(key.clone()).or_default().push(*i);
        }
        ResourceIndex {
            sorted,
            by_key,
            count: resources.len(),
        }
    }

    /// Every resource a statement of `doc` may name, whatever its effect,
    /// action or condition: a superset, never fewer.
    ///
    /// A pattern matches only strings that start with its literal start
    /// (up to its first `*`, `?` or policy variable `$`), and a resource's
    /// ARNs and patterns all start with its key: they can meet only when
    /// one of the two starts with the other. A `NotResource` may name
    /// anything.
    fn named_by(&self, doc: &Value) -> Vec<usize> {
        let mut named = BTreeSet::new();
        for statement in statements(doc) {
            let patterns = if let Some(list) = statement.get("Resource") {
                strings(Some(list))
            } else if statement.contains_key("NotResource") {
                return (0..self.count).collect();
            } else {
                continue;
            };
            for pattern in patterns {
                let literal = pattern
                    .find(['*', '?', '$'])
                    .map_or(pattern, |end| &pattern[..end]);
                // Keys that start with the literal start...
                let from = self.sorted.partition_point(|(k, _)| k.as_str() < literal);
                named.extend(
                    self.sorted[from..]
                        .iter()
                        .take_while(|(k, _)| k.starts_with(literal))
                        .map(|(_, i)| *i),
                );
                // ...and keys it starts with.
                for (end, _) in literal.char_indices() {
                    named.extend(self.by_key.get(&literal[..end]).into_iter().flatten());
                }
            }
        }
        named.into_iter().collect()
    }
}

/// `a`, `b` as "`a`, `b`".
fn backticked(names: &BTreeSet<String>) -> String {
    names
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who belongs to which client, decided from the configuration wherever it
/// speaks, never from what anyone allowed to edit IAM can change (a tag, a
/// membership), and from the account only for clients the configuration
/// does not declare at all.
struct Belonging<'a> {
    /// Every client of the configuration (the files given and their context
    /// files), with ended memberships taken out.
    clients: BTreeMap<String, Client>,
    /// Application user name -> its client, from the configuration.
    app_users: BTreeMap<&'a str, &'a str>,
    /// Every developer the configuration declares or lists, ended or not.
    developers: BTreeSet<&'a str>,
    /// Managed client groups of clients the configuration does not declare.
    live: Vec<LiveClient<'a>>,
}

impl<'a> Belonging<'a> {
    fn new(desired: &'a Desired, observed: &'a Observed, today: Option<NaiveDate>) -> Self {
        let configured: BTreeMap<&str, &Client> = desired
            .clients
            .values()
            .chain(desired.context_clients.values())
            .map(|c| (c.name.as_str(), c))
            .collect();
        let app_users = configured
            .values()
            .flat_map(|c| c.app_users().map(|app| (app, c.name.as_str())))
            .collect();
        let developers = desired
            .developers
            .keys()
            .chain(desired.context_developer_declarations.keys())
            .map(String::as_str)
            .chain(
                configured
                    .values()
                    .flat_map(|c| c.developers.iter().map(String::as_str)),
            )
            .collect();
        // The planner's lifecycle pass, run on the whole configuration.
        let mut whole = Desired {
            developers: desired.developers.clone(),
            clients: configured
                .values()
                .map(|c| (c.name.clone(), (*c).clone()))
                .collect(),
            ..Desired::default()
        };
        whole.developers.extend(
            desired
                .context_developer_declarations
                .iter()
                .map(|(name, d)| (name.clone(), d.clone())),
        );
        let clients = match today {
            Some(today) => apply_lifecycle(&whole, today).0.clients,
            None => whole.clients,
        };
        let live = live_clients(observed, &desired.settings.path, |c| {
            configured.contains_key(c)
        });
        Belonging {
            clients,
            app_users,
            developers,
            live,
        }
    }

    /// `user` and the clients it belongs to:
    ///
    /// - an application user of the configuration belongs to exactly its
    ///   client, whatever its tags or groups say;
    /// - a developer of the configuration belongs to the clients whose
    ///   memberships of it have not ended, and to clients the
    ///   configuration does not declare whose group it is in;
    /// - an application user the configuration does not declare belongs to
    ///   the client its `provision:client` tag names, when the
    ///   configuration does not declare that client (provision wrote the
    ///   tag), and otherwise to none;
    /// - any other managed user belongs to the clients the configuration
    ///   does not declare whose group it is in.
    fn principal(&self, user: &ObservedUser) -> Principal {
        let name = user.name.as_str();
        let (kind, clients) = if let Some(client) = self.app_users.get(name) {
            ("app", BTreeSet::from([(*client).to_owned()]))
        } else if !self.developers.contains(name)
            && let Some(client) = user.tags.get(CLIENT_TAG_KEY)
        {
            let clients = if self.clients.contains_key(client) {
                BTreeSet::new()
            } else {
                BTreeSet::from([client.clone()])
            };
            ("app", clients)
        } else {
            let mut clients: BTreeSet<String> = self
                .clients
                .values()
                .filter(|c| c.developers.iter().any(|d| d == name))
                .map(|c| c.name.clone())
                .collect();
            clients.extend(self.live_memberships(user).map(|c| c.name.to_owned()));
            ("developer", clients)
        };
        Principal {
            name: user.name.clone(),
            kind,
            clients,
        }
    }

    /// The clients the configuration does not declare whose groups `user`
    /// is in, when those memberships count (see [`Belonging::principal`]):
    /// never for an application user.
    fn live_memberships<'s>(
        &'s self,
        user: &'s ObservedUser,
    ) -> impl Iterator<Item = &'s LiveClient<'a>> {
        let app = self.app_users.contains_key(user.name.as_str())
            || (!self.developers.contains(user.name.as_str())
                && user.tags.contains_key(CLIENT_TAG_KEY));
        self.live
            .iter()
            .filter(move |c| !app && user.groups.contains(&c.group.name))
    }
}

/// Every bucket, prefix and distribution with its owner: the configured
/// clients' from the files, the others' from their groups' policies.
fn resources(
    belonging: &Belonging<'_>,
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
    for client in belonging.clients.values() {
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
    let live = &belonging.live;
    for client in live {
        for scope in &client.buckets {
            match scope {
                OwnedScope::Bucket(b) => {
                    resources.insert(resource(ResourceKind::Bucket, b, client.name, None));
                }
                // The empty prefix is every bucket: not a bucket of its own.
                OwnedScope::Prefix(p) if p.is_empty() => {}
                OwnedScope::Prefix(p) => {
                    resources.insert(resource(ResourceKind::Bucket, p, client.name, Some(p)));
                }
            }
        }
        // provision grants distributions by id; a wildcard on one is a
        // hand edit of that group, not something the client owns.
        for scope in &client.distributions {
            if let OwnedScope::Bucket(id) = scope {
                resources.insert(resource(ResourceKind::Distribution, id, client.name, None));
            }
        }
    }
    if !live.is_empty() {
        notes.push(format!(
            "buckets and distributions of {} client(s) not in the configuration were read from their groups' policies: {}",
            live.len(),
            live.iter()
                .map(|c| format!("`{}`", c.name))
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

/// Every policy that applies to `user`, each with the name a leak message
/// gives it. The ARNs of attached policies whose documents are not in
/// `docs` go to `unreadable`: they may grant anything. A boundary whose
/// document is not there goes to `unread_boundaries` and is left out: a
/// boundary only ever takes access away, so evaluating without it can only
/// find more, never fewer, leaks.
fn policies<'a>(
    observed: &'a Observed,
    user: &'a crate::model::ObservedUser,
    docs: &'a BTreeMap<String, Value>,
    account_id: &str,
    unreadable: &mut BTreeSet<String>,
    unread_boundaries: &mut BTreeSet<String>,
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
                unreadable.insert(arn.clone());
            }
        }
    }
    let boundary = user.permissions_boundary.as_ref().and_then(|arn| {
        let doc = docs.get(arn);
        if doc.is_none() {
            unread_boundaries.insert(arn.clone());
        }
        doc.map(|d| (arn, d))
    });
    Policies::new(identity, boundary, account_id)
}

/// The probed actions `policies` allow and deny on `r`, and whether a
/// conditional statement took part.
fn probe(policies: &Policies<'_>, r: &Resource) -> (Vec<&'static str>, Vec<&'static str>, bool) {
    let (mut allowed, mut denied, mut conditional) = (Vec::new(), Vec::new(), false);
    for probe in r.probes() {
        let e = evaluate(
            &policies.documents,
            policies.boundary,
            probe.action,
            &r.arn(probe.target),
            &r.account_id,
        );
        conditional |= e.conditional;
        match e.decision {
            Decision::Allowed => allowed.push(probe.action),
            Decision::ExplicitDeny => denied.push(probe.action),
            Decision::ImplicitDeny => {}
        }
    }
    (allowed, denied, conditional)
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
    let Some(p) = m.principals.iter().position(|p| p.name == principal) else {
        return false;
    };
    m.row(p).any(|c| {
        c.of.probes()
            .iter()
            .any(|probe| probe.action == action && c.of.arn(probe.target) == arn)
            && c.allowed.contains(&action)
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
    let p = policies(
        observed,
        user,
        docs,
        &r.account_id,
        &mut BTreeSet::new(),
        &mut BTreeSet::new(),
    );
    reach::reach(&p.rules, p.boundary_rules.as_deref(), &r.owned())
}

/// The identity policy documents and the boundary that apply to `user`,
/// read as the matrix reads them (for the resource side, which adds the
/// bucket's policy).
pub fn identity_documents<'a>(
    observed: &'a Observed,
    user: &'a crate::model::ObservedUser,
    docs: &'a BTreeMap<String, Value>,
    account_id: &str,
) -> (Vec<&'a Value>, Option<&'a Value>) {
    let p = policies(
        observed,
        user,
        docs,
        account_id,
        &mut BTreeSet::new(),
        &mut BTreeSet::new(),
    );
    (p.documents, p.boundary)
}

#[cfg(test)]
mod tests;

mod roles;

#[cfg(test)]
mod oracle;
