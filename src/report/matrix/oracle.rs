//! The matrix as it was built and printed before principals with the same
//! policies shared a row: one cell per principal and resource, each
//! evaluated on its own, and the table and JSON made from those cells.
//! Kept as a test oracle: the shared rows must print the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde::Serialize;

use super::*;

/// What one principal may do on one resource, held.
#[derive(Debug, Clone, Serialize)]
pub struct OldCell {
    principal: String,
    resource: String,
    kind: ResourceKind,
    client: String,
    own: bool,
    allowed: Vec<&'static str>,
    explicitly_denied: Vec<&'static str>,
    conditional: bool,
    reached_by: Vec<Reach>,
    #[serde(skip)]
    described: String,
}

impl OldCell {
    fn is_leak(&self) -> bool {
        !self.own && (!self.allowed.is_empty() || !self.reached_by.is_empty())
    }
}

/// Every cell, held.
pub struct OldMatrix {
    principals: Vec<Principal>,
    resources: Vec<Resource>,
    cells: Vec<OldCell>,
    notes: Vec<String>,
    unreadable: BTreeSet<String>,
}

impl OldMatrix {
    fn leaks(&self) -> impl Iterator<Item = &OldCell> {
        self.cells.iter().filter(|c| c.is_leak())
    }

    pub fn isolated(&self) -> bool {
        self.leaks().next().is_none() && self.unreadable.is_empty()
    }
}

/// [`matrix`], each principal's policies gathered and evaluated on every
/// resource for it alone.
pub fn old_matrix(
    desired: &Desired,
    observed: &Observed,
    docs: &BTreeMap<String, Value>,
    account_id: &str,
    today: Option<NaiveDate>,
) -> OldMatrix {
    let mut notes = Vec::new();
    let belonging = Belonging::new(desired, observed, today);
    let resources = resources(&belonging, account_id, &mut notes);
    let mut unreadable = BTreeSet::new();
    let mut unread_boundaries = BTreeSet::new();
    let mut from_account: Vec<String> = Vec::new();
    let mut principals = Vec::new();
    let mut cells = Vec::new();
    let path = desired.settings.path.as_str();
    for user in observed.users.values().filter(|u| u.is_managed(path)) {
        let principal = belonging.principal(user);
        from_account.extend(
            belonging
                .live_memberships(user)
                .map(|client| format!("`{}` in `{}`", user.name, client.group.name)),
        );
        let policies = policies(
            observed,
            user,
            docs,
            account_id,
            &mut unreadable,
            &mut unread_boundaries,
        );
        for r in &resources {
            let own = principal.clients.contains(&r.client);
            let reached_by = if own {
                Vec::new()
            } else {
                reach::reach(
                    &policies.rules,
                    policies.boundary_rules.as_deref(),
                    &r.owned(),
                )
            };
            let (allowed, explicitly_denied, conditional) = probe(&policies, r);
            cells.push(OldCell {
                principal: principal.name.clone(),
                resource: r.name.clone(),
                kind: r.kind,
                client: r.client.clone(),
                own,
                allowed,
                explicitly_denied,
                conditional,
                reached_by,
                described: r.describe(),
            });
        }
        principals.push(principal);
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
    if cells.iter().any(|c| c.conditional) {
        notes.push(
            "statements with a `Condition` were not evaluated: a conditional Allow is counted as allowing and a conditional Deny as not denying (marked `*`)"
                .to_owned(),
        );
    }
    OldMatrix {
        principals,
        resources: resources.into_iter().collect(),
        cells,
        notes,
        unreadable,
    }
}

fn short(cell: &OldCell) -> String {
    let probes = match cell.kind {
        ResourceKind::Bucket => BUCKET_PROBES,
        ResourceKind::Distribution => DISTRIBUTION_PROBES,
    };
    let names: Vec<&str> = probes
        .iter()
        .filter(|p| cell.allowed.contains(&p.action))
        .map(|p| p.name)
        .collect();
    let mut text = if names.is_empty() {
        "-".to_owned()
    } else {
        names.join(" ")
    };
    if cell.conditional {
        text.push_str(" *");
    }
    text
}

/// The table and verdict as `verify` printed them from held cells.
pub fn old_text(m: &OldMatrix, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Access matrix: {} principal(s) x {} resource(s), evaluated from the account's live policies.",
        m.principals.len(),
        m.resources.len()
    )?;
    writeln!(out)?;
    let clients_of: BTreeMap<&str, String> = m
        .principals
        .iter()
        .map(|p| {
            let c: Vec<&str> = p.clients.iter().map(String::as_str).collect();
            (
                p.name.as_str(),
                if c.is_empty() {
                    "-".to_owned()
                } else {
                    c.join(",")
                },
            )
        })
        .collect();
    let rows: Vec<[String; 5]> = m
        .cells
        .iter()
        .map(|c| {
            let kind = match c.kind {
                ResourceKind::Bucket => "bucket",
                ResourceKind::Distribution => "distribution",
            };
            [
                c.principal.clone(),
                clients_of
                    .get(c.principal.as_str())
                    .cloned()
                    .unwrap_or_default(),
                format!("{kind} {}", c.resource),
                c.client.clone(),
                if c.is_leak() && c.allowed.is_empty() {
                    format!("{}  <- LEAK (by pattern, see below)", short(c))
                } else if c.is_leak() {
                    format!("{}  <- LEAK", short(c))
                } else {
                    short(c)
                },
            ]
        })
        .collect();
    let header = ["PRINCIPAL", "MEMBER OF", "RESOURCE", "OWNER", "ALLOWED"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        s
    };
    writeln!(out, "{}", line(header))?;
    for row in &rows {
        writeln!(out, "{}", line(row.each_ref().map(String::as_str)))?;
    }
    writeln!(out)?;
    for note in &m.notes {
        writeln!(out, "note: {note}")?;
    }
    // The verdict is no longer the matrix's (it covers the buckets too):
    // the oracle checks the table, the notes and the leaks.
    for c in m.leaks() {
        write!(
            out,
            "LEAK: `{}` reaches {} of client `{}`",
            c.principal, c.described, c.client,
        )?;
        if c.allowed.is_empty() {
            writeln!(out)?;
        } else {
            writeln!(out, ": {}", c.allowed.join(", "))?;
        }
        for reach in &c.reached_by {
            writeln!(out, "  - {reach}")?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct OldJson<'a> {
    format_version: &'static str,
    isolated: bool,
    principals: &'a [Principal],
    resources: &'a [Resource],
    access: &'a [OldCell],
    leaks: Vec<&'a OldCell>,
    unreadable_policies: &'a BTreeSet<String>,
    notes: &'a [String],
}

/// The JSON as `verify` printed it from held cells.
pub fn old_json(m: &OldMatrix, out: &mut dyn Write) -> io::Result<()> {
    let doc = OldJson {
        format_version: "1",
        isolated: m.isolated(),
        principals: &m.principals,
        resources: &m.resources,
        access: &m.cells,
        leaks: m.leaks().collect(),
        unreadable_policies: &m.unreadable,
        notes: &m.notes,
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

/// [`allows`] as it read held cells.
pub fn old_allows(m: &OldMatrix, principal: &str, action: &str, arn: &str) -> bool {
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

/// The principals' names, in order.
pub fn old_principals(m: &OldMatrix) -> Vec<&str> {
    m.principals.iter().map(|p| p.name.as_str()).collect()
}
