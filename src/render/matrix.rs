//! Printing `verify`'s access matrix: a table with its leaks for people
//! (the verdict follows the buckets, in `render::verify`), JSON for
//! programs.
//!
//! Both stream: the matrix keeps one row per set of policies, and the
//! cells (principals x resources, millions at a few thousand users) are
//! expanded as they are written, never held together. Give these a
//! buffered writer.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde::{Serialize, Serializer};

use crate::report::matrix::{
    BUCKET_PROBES, Cell, DISTRIBUTION_PROBES, Matrix, Principal, Resource, ResourceKind,
};

/// Version of the JSON format; bumped on incompatible changes.
pub const JSON_FORMAT_VERSION: &str = "1";

/// Writes the short names of the allowed probes, for the table: `-` for
/// none, then ` *` when a conditional statement took part.
fn write_short(cell: &Cell<'_>, out: &mut dyn Write) -> io::Result<()> {
    let probes = match cell.kind {
        ResourceKind::Bucket => BUCKET_PROBES,
        ResourceKind::Distribution => DISTRIBUTION_PROBES,
    };
    let mut names = probes
        .iter()
        .filter(|p| cell.allowed.contains(&p.action))
        .map(|p| p.name);
    match names.next() {
        None => out.write_all(b"-")?,
        Some(first) => {
            out.write_all(first.as_bytes())?;
            for name in names {
                write!(out, " {name}")?;
            }
        }
    }
    if cell.conditional {
        out.write_all(b" *")?;
    }
    Ok(())
}

/// Writes the matrix as a table, its notes and its leaks, and returns how
/// many leaks it wrote. There is no verdict here: the matrix is the
/// identity side alone, and `verify`'s one verdict, which covers the
/// buckets too, is `render::verify::text`'s.
// Long because it lays out the table (widths, header, one row per
// principal and resource) and then the leaks.
pub fn text(m: &Matrix, out: &mut dyn Write) -> io::Result<usize> {
    writeln!(
        out,
        "Access matrix: {} principal(s) x {} resource(s), evaluated from the account's live policies.",
        m.principals.len(),
        m.resources.len()
    )?;
    writeln!(out)?;
    let clients_of: Vec<String> = m
        .principals
        .iter()
        .map(|p| {
            let c: Vec<&str> = p.clients.iter().map(String::as_str).collect();
            if c.is_empty() {
                "-".to_owned()
            } else {
                c.join(",")
            }
        })
        .collect();
    let named: Vec<String> = m
        .resources
        .iter()
        .map(|r| {
            let kind = match r.kind {
                ResourceKind::Bucket => "bucket",
                ResourceKind::Distribution => "distribution",
            };
            format!("{kind} {}", r.name)
        })
        .collect();
    // Every principal has a row per resource: a column is as wide as its
    // widest value when there is any row at all. The last column is not
    // padded.
    let header = ["PRINCIPAL", "MEMBER OF", "RESOURCE", "OWNER", "ALLOWED"];
    let mut widths = header.map(str::len);
    if m.cell_count() > 0 {
        let widest = |values: &mut dyn Iterator<Item = &str>| {
            values.map(|v| v.chars().count()).max().unwrap_or(0)
        };
        widths[0] = widths[0].max(widest(&mut m.principals.iter().map(|p| p.name.as_str())));
        widths[1] = widths[1].max(widest(&mut clients_of.iter().map(String::as_str)));
        widths[2] = widths[2].max(widest(&mut named.iter().map(String::as_str)));
        widths[3] = widths[3].max(widest(&mut m.resources.iter().map(|r| r.client.as_str())));
    }
    let [w0, w1, w2, w3, _] = widths;
    writeln!(
        out,
        "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
        header[0], header[1], header[2], header[3], header[4]
    )?;
    // Millions of lines: each principal's and each resource's padded
    // columns are laid out once, and a line is those two and its answer.
    let resource_columns: Vec<String> = named
        .iter()
        .zip(&m.resources)
        .map(|(named, r)| format!("{named:<w2$}  {:<w3$}  ", r.client))
        .collect();
    for (p, clients) in clients_of.iter().enumerate() {
        let principal_columns = format!("{:<w0$}  {clients:<w1$}  ", m.principals[p].name);
        for (c, columns) in m.row(p).zip(&resource_columns) {
            out.write_all(principal_columns.as_bytes())?;
            out.write_all(columns.as_bytes())?;
            write_short(&c, out)?;
            if c.is_leak() && c.allowed.is_empty() {
                out.write_all(b"  <- LEAK (by pattern, see below)\n")?;
            } else if c.is_leak() {
                out.write_all(b"  <- LEAK\n")?;
            } else {
                out.write_all(b"\n")?;
            }
        }
    }
    writeln!(out)?;
    for note in &m.notes {
        writeln!(out, "note: {note}")?;
    }
    let mut count = 0;
    for c in m.leaks() {
        count += 1;
        write!(
            out,
            "LEAK: `{}` reaches {} of client `{}`",
            c.principal,
            c.described(),
            c.client,
        )?;
        if c.allowed.is_empty() {
            writeln!(out)?;
        } else {
            writeln!(out, ": {}", c.allowed.join(", "))?;
        }
        for reach in c.reached_by {
            writeln!(out, "  - {reach}")?;
        }
    }
    Ok(count)
}

/// Every cell, serialized as they are expanded.
struct Access<'a>(&'a Matrix);

impl Serialize for Access<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.cells())
    }
}

/// The leaking cells, serialized as they are found.
struct Leaks<'a>(&'a Matrix);

impl Serialize for Leaks<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.leaks())
    }
}

/// The matrix's JSON fields, streamed: a caller that adds fields of its own
/// flattens this into its document (see `render::buckets::json`).
#[derive(Serialize)]
pub struct JsonMatrix<'a> {
    format_version: &'static str,
    isolated: bool,
    principals: &'a [Principal],
    resources: &'a [Resource],
    access: Access<'a>,
    leaks: Leaks<'a>,
    /// Policies that apply but could not be read: `isolated` is false
    /// while any is listed.
    unreadable_policies: &'a BTreeSet<String>,
    notes: &'a [String],
}

impl<'a> JsonMatrix<'a> {
    /// The fields of `m`, with `isolated` as the caller decided it.
    pub fn new(m: &'a Matrix, isolated: bool) -> Self {
        JsonMatrix {
            format_version: JSON_FORMAT_VERSION,
            isolated,
            principals: &m.principals,
            resources: &m.resources,
            access: Access(m),
            leaks: Leaks(m),
            unreadable_policies: &m.unreadable,
            notes: &m.notes,
        }
    }
}

/// Writes the matrix as JSON: `format_version`, `isolated`, `principals`,
/// `resources`, `access` (one entry per pair), `leaks`,
/// `unreadable_policies` and `notes`.
pub fn json(m: &Matrix, out: &mut dyn Write) -> io::Result<()> {
    let doc = JsonMatrix::new(m, m.isolated());
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}
