//! Printing `verify`'s access matrix: a table with its leaks for people
//! (the verdict follows the buckets, in `render::verify`), JSON for
//! programs.
//!
//! Both stream: the matrix keeps one row per set of policies, and the
//! cells (principals x resources, millions at a few thousand users) are
//! expanded as they are written, never held together. Give these a
//! buffered writer.

use std::io::{self, Write};

use serde::{Serialize, Serializer};

use crate::report::matrix::{BUCKET_PROBES, Cell, DISTRIBUTION_PROBES, Matrix, ResourceKind};

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

/// The leaking cells, serialized as they are found.
struct Leaks<'a>(&'a Matrix);

impl Serialize for Leaks<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.leaks())
    }
}

/// A JSON object written a field at a time, laid out exactly as
/// `serde_json::to_writer_pretty` lays out a struct (two-space indent):
/// each value is serde's, except where a caller writes one itself.
pub struct JsonObject<'w> {
    out: &'w mut dyn Write,
    empty: bool,
}

impl<'w> JsonObject<'w> {
    pub fn begin(out: &'w mut dyn Write) -> io::Result<Self> {
        out.write_all(b"{")?;
        Ok(JsonObject { out, empty: true })
    }

    /// Writes the key of the next field; its value must follow.
    fn key(&mut self, key: &str) -> io::Result<()> {
        self.out
            .write_all(if self.empty { b"\n  " } else { b",\n  " })?;
        self.empty = false;
        serde_json::to_writer(&mut *self.out, key).map_err(io::Error::other)?;
        self.out.write_all(b": ")
    }

    pub fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> io::Result<()> {
        self.key(key)?;
        pretty_at(&mut *self.out, value, 1)
    }

    /// Closes the object and ends the line, as `json` always has.
    pub fn end(self) -> io::Result<()> {
        self.out
            .write_all(if self.empty { b"}\n" } else { b"\n}\n" })
    }
}

/// `value` as pretty JSON nested `depth` levels deep: its inner lines are
/// indented as they would be there.
fn pretty_at<T: Serialize + ?Sized>(
    out: &mut dyn Write,
    value: &T,
    depth: usize,
) -> io::Result<()> {
    let mut formatter = serde_json::ser::PrettyFormatter::new();
    // Opening an object (into nothing) is how the formatter goes a level in.
    for _ in 0..depth {
        serde_json::ser::Formatter::begin_object(&mut formatter, &mut io::sink())?;
    }
    let mut serializer = serde_json::Serializer::with_formatter(out, formatter);
    value.serialize(&mut serializer).map_err(io::Error::other)
}

/// The matrix's fields of a JSON document: `format_version`, `isolated`
/// (as the caller decided it), `principals`, `resources`, `access` (one
/// entry per pair), `leaks`, `unreadable_policies` and `notes`. Policies
/// that apply but could not be read are in `unreadable_policies`, and
/// `isolated` is false while any is listed.
pub fn json_fields(m: &Matrix, isolated: bool, doc: &mut JsonObject<'_>) -> io::Result<()> {
    doc.field("format_version", JSON_FORMAT_VERSION)?;
    doc.field("isolated", &isolated)?;
    doc.field("principals", &m.principals)?;
    doc.field("resources", &m.resources)?;
    doc.key("access")?;
    access(m, &mut *doc.out)?;
    doc.field("leaks", &Leaks(m))?;
    doc.field("unreadable_policies", &m.unreadable)?;
    doc.field("notes", &m.notes)
}

/// Writes the matrix as JSON: the fields of [`json_fields`].
pub fn json(m: &Matrix, out: &mut dyn Write) -> io::Result<()> {
    let mut doc = JsonObject::begin(out)?;
    json_fields(m, m.isolated(), &mut doc)?;
    doc.end()
}

/// Every cell, as serde would write the list of them one level deep, but
/// from parts laid out once per principal and per resource: the list is
/// millions of cells (hundreds of megabytes at 300 clients), and serde
/// alone took five times as long as the table. A cell that names the
/// statements reaching it (a leak, rare) is serde's own.
fn access(m: &Matrix, out: &mut dyn Write) -> io::Result<()> {
    if m.cell_count() == 0 {
        return out.write_all(b"[]");
    }
    let resources: Vec<String> = m
        .resources
        .iter()
        .map(|r| {
            Ok(format!(
                ",\n      \"resource\": {},\n      \"kind\": {},\n      \"client\": {},\n      \"own\": ",
                compact(&r.name)?,
                compact(&r.kind)?,
                compact(&r.client)?
            ))
        })
        .collect::<io::Result<_>>()?;
    out.write_all(b"[")?;
    let mut first = true;
    for (p, principal) in m.principals.iter().enumerate() {
        let head = format!("    {{\n      \"principal\": {}", compact(&principal.name)?);
        for (cell, resource) in m.row(p).zip(&resources) {
            out.write_all(if first { b"\n" } else { b",\n" })?;
            first = false;
            if !cell.reached_by.is_empty() {
                out.write_all(b"    ")?;
                pretty_at(out, &cell, 2)?;
                continue;
            }
            out.write_all(head.as_bytes())?;
            out.write_all(resource.as_bytes())?;
            out.write_all(if cell.own { b"true" } else { b"false" })?;
            out.write_all(b",\n      \"allowed\": ")?;
            actions(cell.allowed, out)?;
            out.write_all(b",\n      \"explicitly_denied\": ")?;
            actions(cell.explicitly_denied, out)?;
            out.write_all(if cell.conditional {
                b",\n      \"conditional\": true,\n      \"reached_by\": []\n    }"
            } else {
                b",\n      \"conditional\": false,\n      \"reached_by\": []\n    }"
            })?;
        }
    }
    out.write_all(b"\n  ]")
}

/// A cell's list of actions, three levels deep.
fn actions(names: &[&str], out: &mut dyn Write) -> io::Result<()> {
    if names.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    for (i, name) in names.iter().enumerate() {
        out.write_all(if i == 0 {
            b"\n        "
        } else {
            b",\n        "
        })?;
        serde_json::to_writer(&mut *out, name).map_err(io::Error::other)?;
    }
    out.write_all(b"\n      ]")
}

/// Compact JSON of one value, for the parts laid out once.
fn compact<T: Serialize + ?Sized>(value: &T) -> io::Result<String> {
    serde_json::to_string(value).map_err(io::Error::other)
}

/// The JSON as serde alone wrote it, whole, before the access list was
/// laid out by hand: kept as a test oracle, the hand-written list must
/// print the same bytes.
#[cfg(test)]
pub(crate) mod serde_oracle {
    use std::collections::BTreeSet;
    use std::io::{self, Write};

    use serde::{Serialize, Serializer};

    use super::{JSON_FORMAT_VERSION, Leaks};
    use crate::report::buckets::ResourceSide;
    use crate::report::matrix::{Matrix, Principal, Resource};

    /// Every cell, serialized as they are expanded.
    struct Access<'a>(&'a Matrix);

    impl Serialize for Access<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.cells())
        }
    }

    /// The matrix's JSON fields, streamed: a caller that adds fields of its own
    /// flattens this into its document (see `render::buckets::json`).
    #[derive(Serialize)]
    struct JsonMatrix<'a> {
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
        fn new(m: &'a Matrix, isolated: bool) -> Self {
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

    /// `verify`'s JSON, the matrix's with the resource side's fields.
    pub fn verify_json(m: &Matrix, side: &ResourceSide, out: &mut dyn Write) -> io::Result<()> {
        #[derive(Serialize)]
        struct Verify<'a> {
            #[serde(flatten)]
            matrix: JsonMatrix<'a>,
            account_public_access_block:
                &'a crate::model::Part<Option<crate::model::PublicAccessBlock>>,
            buckets: &'a [crate::report::buckets::BucketReport],
            bucket_leaks: &'a [crate::report::buckets::BucketLeak],
            bucket_warnings: &'a [String],
            unreadable_buckets: &'a [String],
        }
        let doc = Verify {
            matrix: JsonMatrix::new(m, m.isolated() && side.isolated()),
            account_public_access_block: &side.account_public_access_block,
            buckets: &side.buckets,
            bucket_leaks: &side.leaks,
            bucket_warnings: &side.warnings,
            unreadable_buckets: &side.unreadable,
        };
        serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
        writeln!(out)
    }
}
