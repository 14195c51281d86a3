//! Printing `verify`'s access matrix: a table with the verdict for people,
//! JSON for programs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde::Serialize;

use crate::report::matrix::{
    BUCKET_PROBES, Cell, DISTRIBUTION_PROBES, Matrix, Principal, Resource, ResourceKind,
};

/// Version of the JSON format; bumped on incompatible changes.
pub const JSON_FORMAT_VERSION: &str = "1";

/// The short names of the allowed probes, for the table.
fn short(cell: &Cell) -> String {
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

/// Writes the matrix as a table, then the verdict.
// Long because it lays out the table (widths, header, one row per
// principal) and then the verdict, which share the computed widths.
pub fn text(m: &Matrix, out: &mut dyn Write) -> io::Result<()> {
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
    let leaks: Vec<&Cell> = m.leaks().collect();
    if leaks.is_empty() && !m.unreadable.is_empty() {
        writeln!(
            out,
            "Isolation cannot be proven: {} policy(ies) that apply to managed users could not be read (see the note above).",
            m.unreadable.len()
        )?;
    } else if leaks.is_empty() {
        writeln!(
            out,
            "Isolation holds: no principal reaches a bucket or distribution of a client it does not belong to."
        )?;
    } else {
        for c in &leaks {
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
        writeln!(
            out,
            "Isolation is broken: {} principal/resource pair(s) cross clients.",
            leaks.len()
        )?;
        if !m.unreadable.is_empty() {
            writeln!(
                out,
                "{} policy(ies) that apply to managed users could not be read (see the note above): there may be more.",
                m.unreadable.len()
            )?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonMatrix<'a> {
    format_version: &'static str,
    isolated: bool,
    principals: &'a [Principal],
    resources: &'a [Resource],
    access: &'a [Cell],
    leaks: Vec<&'a Cell>,
    /// Policies that apply but could not be read: `isolated` is false
    /// while any is listed.
    unreadable_policies: &'a BTreeSet<String>,
    notes: &'a [String],
}

/// Writes the matrix as JSON: `format_version`, `isolated`, `principals`,
/// `resources`, `access` (one entry per pair), `leaks`,
/// `unreadable_policies` and `notes`.
pub fn json(m: &Matrix, out: &mut dyn Write) -> io::Result<()> {
    let doc = JsonMatrix {
        format_version: JSON_FORMAT_VERSION,
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
