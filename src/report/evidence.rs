//! `provision report`: the access matrix and the audit's key facts turned
//! into evidence a client can be handed: for one client, who reaches its
//! buckets and distributions, with what, why, under which boundary and
//! with which keys, and the proof that nobody of another client does; for
//! the whole account, one line per client and a client x client picture.
//!
//! Pure: built from what the command read ([`Matrix`], the credential
//! report rows, the listed keys, the observed state); `render` prints it as
//! HTML or markdown. Everything is sorted, and dates are printed as dates
//! rather than as ages, so that two reads of the same account differ only
//! in the time they were made (a report committed every month then shows
//! what changed, and nothing else).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::model::{Desired, Observed};
use crate::policy::reach::Reach;
use crate::report::audit::{Check, Finding, ReportRow};
use crate::report::buckets::{BucketLeak, ClientBuckets, ResourceSide};
use crate::report::matrix::{self, Cell, Matrix, Principal, Resource, ResourceKind};

/// The rule by which isolation is decided, as the report states it.
pub const RULE: &str = "a principal reaches a resource when one of its identity policies has an `Allow` statement whose actions meet the resource's (`s3:*` for a bucket, `cloudfront:*` for a distribution) and whose resources meet what the client owns, that its permissions boundary also lets through, and that no unconditional `Deny` covers; a statement with a `Condition` counts as applying";

/// What the report reads of the buckets, as it states it.
pub const BUCKETS_READ: &str = "Each bucket named in the files is read too (its policy, ACL and Block Public Access settings, as `provision verify` reads them): within one account S3 allows what the identity policies or the bucket policy allow, so a bucket policy statement naming another client's principal lets it in by itself, and one naming another account or everyone is a leak too; a bucket whose settings cannot be read leaves isolation unproven";

/// The row of the overview's matrix for principals of no client.
pub const NO_CLIENT: &str = "(no client)";

/// When and where the account was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub account_id: String,
    /// The managed path (`settings.path`).
    pub path: String,
    /// RFC 3339, in seconds, UTC.
    pub read_at: String,
}

impl Source {
    pub fn new(account_id: &str, path: &str, read_at: DateTime<Utc>) -> Source {
        Source {
            account_id: account_id.to_owned(),
            path: path.to_owned(),
            read_at: read_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

/// An access key as `iam:ListAccessKeys` lists it. The id is kept here,
/// whole, only to be shortened by [`key_facts`]; no secret is ever read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedKey {
    pub id: String,
    pub active: bool,
    pub created: Option<DateTime<Utc>>,
}

/// One access key as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFact {
    /// The id's first and last four characters (`AKIA…WXYZ`): enough to
    /// tell keys apart, not enough to name one to AWS.
    pub id_hint: String,
    pub active: bool,
    /// `YYYY-MM-DD`, when known.
    pub created: Option<String>,
    /// `YYYY-MM-DD`; `None` when never used or unknown (see `used_known`).
    pub last_used: Option<String>,
    /// False when the credential report had no row for the key.
    pub used_known: bool,
    /// Active and older than `settings.max_key_age_days` at the read.
    pub over_limit: bool,
}

/// `AKIAIOSFODNN7EXAMPLE` -> `AKIA…MPLE`; a short id is hidden whole.
pub fn key_hint(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 12 {
        return "…".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// What the report says about `listed` keys of one user: the credential
/// report `row` gives each key's last use. The report numbers keys by slot
/// rather than by id, and a slot's `last_rotated` is the key's creation
/// time, so a key is matched to the slot created at the same second;
/// a key no slot matches says its last use is unknown rather than guess.
pub fn key_facts(
    listed: &[ListedKey],
    row: Option<&ReportRow>,
    now: DateTime<Utc>,
    max_age_days: u32,
) -> Vec<KeyFact> {
    let mut facts: Vec<KeyFact> = listed
        .iter()
        .map(|key| {
            let slot = row.and_then(|r| {
                r.keys.iter().find(|s| {
                    s.last_rotated.is_some()
                        && s.last_rotated.map(|t| t.timestamp())
                            == key.created.map(|t| t.timestamp())
                })
            });
            KeyFact {
                id_hint: key_hint(&key.id),
                active: key.active,
                created: key.created.map(day),
                last_used: slot.and_then(|s| s.last_used).map(day),
                used_known: slot.is_some(),
                over_limit: key.active
                    && key
                        .created
                        .is_some_and(|c| (now - c).num_days() > i64::from(max_age_days)),
            }
        })
        .collect();
    facts.sort_by(|a, b| (&a.created, &a.id_hint).cmp(&(&b.created, &b.id_hint)));
    facts
}

/// The short names (`list`, `get`, ...) of the probed actions `allowed`,
/// in the matrix's order.
pub fn short_names(allowed: &[&str]) -> Vec<&'static str> {
    matrix::BUCKET_PROBES
        .iter()
        .chain(matrix::DISTRIBUTION_PROBES)
        .filter(|p| allowed.contains(&p.action))
        .map(|p| p.name)
        .collect()
}

/// What one principal may do on one resource of the client, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// "bucket `x`", "bucket prefix `p`", "distribution `E…`".
    pub resource: String,
    /// The probed actions allowed (IAM action names).
    pub allowed: Vec<&'static str>,
    /// Every statement that reaches the resource.
    pub because: Vec<Reach>,
    /// The bucket policy statements that let the principal in by
    /// themselves (AWS's same-account rule), described.
    pub let_in_by: Vec<String>,
    /// A statement with a `Condition` took part.
    pub conditional: bool,
}

/// One principal that reaches the client, or belongs to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalEvidence {
    pub name: String,
    /// `developer` or `app`.
    pub kind: &'static str,
    /// Every client it belongs to.
    pub clients: Vec<String>,
    /// It belongs to the client reported on.
    pub member: bool,
    /// It does not belong to the client but reaches one of its resources.
    pub leak: bool,
    /// The client's groups it is in, as IAM says.
    pub groups: Vec<String>,
    pub boundary: Option<String>,
    pub keys: Vec<KeyFact>,
    /// One entry per resource of the client it reaches (or, for a member,
    /// every resource of the client).
    pub grants: Vec<Grant>,
}

/// The proof that no principal of another client reaches the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// Managed principals that do not belong to the client.
    pub others_checked: usize,
    /// The client's buckets, prefixes and distributions.
    pub resources: usize,
    /// Principal x resource pairs decided.
    pub pairs: usize,
    /// Names of the principals of other clients that reach the client,
    /// by their identity policies or by a bucket policy.
    pub leaks: Vec<String>,
    /// Grants in the client's bucket policies and ACLs that let in another
    /// client, another account or everyone.
    pub bucket_leaks: usize,
    /// The client's buckets whose settings could not be read.
    pub unreadable_buckets: usize,
    /// Policies attached to principals of the account whose documents
    /// could not be read: they may grant anything, anywhere.
    pub unreadable_policies: usize,
}

impl Proof {
    /// Nothing reaches the client, and everything was read.
    pub fn holds(&self) -> bool {
        !self.broken() && self.unreadable_buckets == 0 && self.unreadable_policies == 0
    }

    /// Something of another client, another account or everyone reaches
    /// the client.
    pub fn broken(&self) -> bool {
        !self.leaks.is_empty() || self.bucket_leaks > 0
    }
}

/// The evidence for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEvidence {
    pub client: String,
    pub source: Source,
    /// From the files (`read-only`, ...), when the client is in them.
    pub access: Option<String>,
    /// Every resource of the client, described.
    pub resources: Vec<String>,
    pub principals: Vec<PrincipalEvidence>,
    pub proof: Proof,
    /// What its buckets say about themselves, as `verify` decides it.
    pub buckets: ClientBuckets,
    /// The audit's findings about the client's principals.
    pub findings: Vec<Finding>,
    pub max_key_age_days: u32,
    /// How the answer was reached (from the matrix).
    pub notes: Vec<String>,
}

/// One client's line of the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLine {
    pub client: String,
    /// Managed principals that belong to it.
    pub principals: usize,
    /// Active keys of its principals older than the limit.
    pub old_keys: usize,
    /// Audit findings about its principals.
    pub findings: usize,
    /// Principals of other clients that reach it.
    pub reached_by_others: usize,
    /// Grants in its bucket policies and ACLs to another account or
    /// everyone (those to another client's principal are counted in
    /// `reached_by_others`).
    pub open_to_outside: usize,
}

/// The client x client picture: `cells[row][column]` counts the principals
/// of the row's client that reach the column's client's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossMatrix {
    /// The columns: every client that owns something.
    pub clients: Vec<String>,
    /// The rows: the same clients, plus [`NO_CLIENT`] when a managed
    /// principal belongs to none.
    pub rows: Vec<String>,
    pub cells: Vec<Vec<CrossCell>>,
}

/// One cell of the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CrossCell {
    /// Principals of the row that reach the column.
    pub principals: usize,
    /// Those principals do not belong to the column's client.
    pub leak: bool,
}

/// The overview of every client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    pub source: Source,
    pub clients: Vec<ClientLine>,
    pub matrix: CrossMatrix,
    pub principals_checked: usize,
    pub resources_checked: usize,
    pub max_key_age_days: u32,
    pub notes: Vec<String>,
    /// Grants in client bucket policies and ACLs to another account or
    /// everyone: no client's row, so listed apart.
    pub outside: Vec<BucketLeak>,
    /// Client buckets whose settings could not be read.
    pub unreadable_buckets: Vec<String>,
    /// Policies attached to principals of the account whose documents
    /// could not be read: they may grant anything, anywhere.
    pub unreadable_policies: usize,
}

impl Overview {
    /// Nothing crosses, and everything was read.
    pub fn isolated(&self) -> bool {
        !self.broken() && self.unreadable_buckets.is_empty() && self.unreadable_policies == 0
    }

    /// A principal reaches a client it does not belong to, or a bucket
    /// lets in another account or everyone.
    pub fn broken(&self) -> bool {
        self.matrix.cells.iter().flatten().any(|c| c.leak) || !self.outside.is_empty()
    }
}

/// Everything the builders read, gathered by the command.
pub struct Inputs<'a> {
    pub desired: &'a Desired,
    pub observed: &'a Observed,
    /// The managed policy documents, by ARN (as `verify` reads them).
    pub docs: &'a BTreeMap<String, Value>,
    pub matrix: &'a Matrix,
    /// What the client buckets say about themselves, as `verify` reads
    /// and decides it.
    pub side: &'a ResourceSide,
    /// The credential report's rows.
    pub report: &'a [ReportRow],
    /// The audit's findings, for every user.
    pub findings: &'a [Finding],
    pub source: Source,
    pub now: DateTime<Utc>,
}

/// True when `cell` shows the principal reaching the resource at all.
fn reaches(cell: &Cell<'_>) -> bool {
    !cell.allowed.is_empty() || !cell.reached_by.is_empty()
}

/// The evidence for `client`; `keys` holds the listed access keys of
/// every principal [`principals_of`] names.
pub fn client_evidence(
    inputs: &Inputs<'_>,
    client: &str,
    keys: &BTreeMap<String, Vec<ListedKey>>,
) -> ClientEvidence {
    let m = inputs.matrix;
    let settings = &inputs.desired.settings;
    let resources: Vec<&Resource> = m.resources.iter().filter(|r| r.client == client).collect();
    let buckets = inputs.side.of_client(client);
    let mut principals = Vec::new();
    for p in principals_of(m, inputs.side, client) {
        principals.push(principal_evidence(
            inputs, p, client, &resources, &buckets, keys,
        ));
    }
    principals.sort_by(|a, b| (!a.member, &a.name).cmp(&(!b.member, &b.name)));
    let others = m
        .principals
        .iter()
        .filter(|p| !p.clients.contains(client))
        .count();
    let named: BTreeSet<&str> = principals.iter().map(|p| p.name.as_str()).collect();
    let findings = inputs
        .findings
        .iter()
        .filter(|f| named.contains(f.user.as_str()))
        .cloned()
        .collect();
    ClientEvidence {
        client: client.to_owned(),
        source: inputs.source.clone(),
        access: inputs
            .desired
            .clients
            .get(client)
            .map(|c| c.access.as_str().to_owned()),
        resources: resources.iter().map(|r| r.describe()).collect(),
        proof: Proof {
            others_checked: others,
            resources: resources.len(),
            pairs: others * resources.len(),
            leaks: principals
                .iter()
                .filter(|p| p.leak)
                .map(|p| p.name.clone())
                .collect(),
            bucket_leaks: buckets.leaks.len(),
            unreadable_buckets: buckets.unreadable.len(),
            unreadable_policies: m.unreadable.len(),
        },
        principals,
        buckets,
        findings,
        max_key_age_days: settings.max_key_age_days,
        notes: m.notes.clone(),
    }
}

/// The principals the report on `client` describes: its members, and
/// anyone else who reaches one of its resources, by its identity policies
/// or by a bucket policy of `side`.
pub fn principals_of<'m>(m: &'m Matrix, side: &ResourceSide, client: &str) -> Vec<&'m Principal> {
    m.principals
        .iter()
        .filter(|p| {
            p.clients.contains(client)
                || side
                    .leaks
                    .iter()
                    .any(|l| l.client == client && l.principal.as_deref() == Some(p.name.as_str()))
                || m.cells()
                    .any(|c| c.principal == p.name && c.client == client && reaches(&c))
        })
        .collect()
}

fn principal_evidence(
    inputs: &Inputs<'_>,
    p: &Principal,
    client: &str,
    resources: &[&Resource],
    buckets: &ClientBuckets,
    keys: &BTreeMap<String, Vec<ListedKey>>,
) -> PrincipalEvidence {
    let m = inputs.matrix;
    let member = p.clients.contains(client);
    let user = inputs.observed.users.get(&p.name);
    let mut grants = Vec::new();
    for r in resources {
        let Some(cell) = m
            .cells()
            .find(|c| c.principal == p.name && c.resource == r.name && c.kind == r.kind)
        else {
            continue;
        };
        // The bucket policy statements that let this principal into this
        // bucket, and what it may do with them and its own policies.
        let let_in: Vec<&BucketLeak> = buckets
            .leaks
            .iter()
            .filter(|l| {
                r.kind == ResourceKind::Bucket
                    && !r.from_prefix
                    && l.bucket == r.name
                    && l.principal.as_deref() == Some(p.name.as_str())
            })
            .collect();
        if !member && !reaches(&cell) && let_in.is_empty() {
            continue;
        }
        let mut allowed = cell.allowed.to_vec();
        for l in &let_in {
            for a in &l.allowed {
                if !allowed.contains(a) {
                    allowed.push(a);
                }
            }
        }
        let because = match (member, user) {
            // The matrix keeps reaches for other clients only: ask for the
            // statements that give a member its own access.
            (true, Some(user)) => matrix::grants(inputs.observed, user, inputs.docs, r),
            _ => cell.reached_by.to_vec(),
        };
        grants.push(Grant {
            resource: r.describe(),
            allowed,
            because,
            let_in_by: let_in.iter().map(|l| l.why()).collect(),
            conditional: cell.conditional,
        });
    }
    let row = inputs.report.iter().find(|r| r.user == p.name);
    PrincipalEvidence {
        name: p.name.clone(),
        kind: p.kind,
        clients: p.clients.iter().cloned().collect(),
        member,
        leak: !member && !grants.is_empty(),
        groups: user
            .map(|u| u.groups.iter().cloned().collect())
            .unwrap_or_default(),
        boundary: user.and_then(|u| u.permissions_boundary.clone()),
        keys: key_facts(
            keys.get(&p.name).map(Vec::as_slice).unwrap_or_default(),
            row,
            inputs.now,
            inputs.desired.settings.max_key_age_days,
        ),
        grants,
    }
}

/// The overview: one line per client and the client x client picture.
// Long because it draws the picture from both sides in turn (the bucket
// policies that let another client's principal in, then the matrix's
// cells), then gathers the lines; each step needs the same indices.
pub fn overview(inputs: &Inputs<'_>) -> Overview {
    let m = inputs.matrix;
    let clients: Vec<String> = m
        .resources
        .iter()
        .map(|r| r.client.clone())
        .chain(inputs.desired.clients.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut rows = clients.clone();
    if m.principals.iter().any(|p| p.clients.is_empty()) {
        rows.push(NO_CLIENT.to_owned());
    }
    let col = |c: &str| clients.iter().position(|x| x == c);
    // Distinct principals per cell: a principal reaching two buckets of a
    // client counts once.
    let mut reached: BTreeMap<(usize, usize), BTreeSet<&str>> = BTreeMap::new();
    let mut leak_in: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    // A bucket policy that lets another client's principal in draws that
    // principal's row into the bucket's client's column, as a reach by its
    // own policies would.
    for l in &inputs.side.leaks {
        let Some(name) = &l.principal else { continue };
        let Some(p) = m.principals.iter().find(|p| &p.name == name) else {
            continue;
        };
        let Some(j) = col(&l.client) else { continue };
        leak_in
            .entry(l.client.as_str())
            .or_default()
            .insert(&p.name);
        let own_rows: Vec<usize> = if p.clients.is_empty() {
            vec![rows.len() - 1]
        } else {
            p.clients.iter().filter_map(|c| col(c)).collect()
        };
        for i in own_rows {
            reached.entry((i, j)).or_default().insert(&p.name);
        }
    }
    for cell in m.cells().filter(reaches) {
        let Some(p) = m.principals.iter().find(|p| p.name == cell.principal) else {
            continue;
        };
        let Some(j) = col(cell.client) else { continue };
        if cell.is_leak() {
            leak_in.entry(cell.client).or_default().insert(&p.name);
        }
        let own_rows: Vec<usize> = if p.clients.is_empty() {
            vec![rows.len() - 1]
        } else {
            p.clients.iter().filter_map(|c| col(c)).collect()
        };
        for i in own_rows {
            // A principal of two clients reaches each legitimately; it is
            // drawn on the diagonal of each, never across them.
            if cell.own && i != j {
                continue;
            }
            reached.entry((i, j)).or_default().insert(&p.name);
        }
    }
    let cells = (0..rows.len())
        .map(|i| {
            (0..clients.len())
                .map(|j| {
                    let n = reached.get(&(i, j)).map_or(0, BTreeSet::len);
                    CrossCell {
                        principals: n,
                        leak: n > 0 && rows[i] != clients[j],
                    }
                })
                .collect()
        })
        .collect();
    let outside: Vec<BucketLeak> = inputs
        .side
        .leaks
        .iter()
        .filter(|l| l.principal.is_none())
        .cloned()
        .collect();
    let lines = client_lines(inputs, &clients, &leak_in, &outside);
    Overview {
        source: inputs.source.clone(),
        clients: lines,
        matrix: CrossMatrix {
            clients,
            rows,
            cells,
        },
        principals_checked: m.principals.len(),
        resources_checked: m.resources.len(),
        max_key_age_days: inputs.desired.settings.max_key_age_days,
        notes: m.notes.clone(),
        outside,
        unreadable_buckets: inputs.side.unreadable.clone(),
        unreadable_policies: m.unreadable.len(),
    }
}

/// One line per client: its principals, their old keys and findings, how
/// many principals of other clients reach it (`leak_in`), and how many of
/// its bucket grants let in another account or everyone (`outside`).
fn client_lines(
    inputs: &Inputs<'_>,
    clients: &[String],
    leak_in: &BTreeMap<&str, BTreeSet<&str>>,
    outside: &[BucketLeak],
) -> Vec<ClientLine> {
    let m = inputs.matrix;
    clients
        .iter()
        .map(|c| {
            let members: BTreeSet<&str> = m
                .principals
                .iter()
                .filter(|p| p.clients.contains(c))
                .map(|p| p.name.as_str())
                .collect();
            let found: Vec<&Finding> = inputs
                .findings
                .iter()
                .filter(|f| members.contains(f.user.as_str()))
                .collect();
            ClientLine {
                client: c.clone(),
                principals: members.len(),
                old_keys: found.iter().filter(|f| f.check == Check::OldKey).count(),
                findings: found.len(),
                reached_by_others: leak_in.get(c.as_str()).map_or(0, BTreeSet::len),
                open_to_outside: outside.iter().filter(|l| &l.client == c).count(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;

/// Why isolation cannot be proven, for a verdict: the parts that could not
/// be read, each with what it may hide. `buckets` names them as the printer
/// marks them up ("bucket(s) of `acme`", "client bucket(s)").
pub fn unproven_reason(
    unreadable_buckets: usize,
    unreadable_policies: usize,
    buckets: &str,
) -> String {
    let mut parts = Vec::new();
    if unreadable_buckets > 0 {
        parts.push(format!(
            "the settings of {unreadable_buckets} {buckets} could not be read: a bucket policy or ACL there may let anyone in"
        ));
    }
    if unreadable_policies > 0 {
        parts.push(format!(
            "{unreadable_policies} attached policy(ies) could not be read: they may grant anything"
        ));
    }
    let mut text = parts.join("; ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text + " (see below)."
}
