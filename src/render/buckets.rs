//! `verify`'s resource side (see [`crate::report::buckets`]): the grants in
//! bucket policies and ACLs that cross clients, as text after the access
//! matrix's leaks (before `render::verify`'s verdict), and as extra keys of
//! the matrix's JSON document.

use std::io::{self, Write};

use serde_json::Value;

use crate::report::buckets::ResourceSide;
use crate::report::matrix::Matrix;

/// The resource side as text: one `LEAK` per grant with where it is, and
/// the buckets that could not be read. The verdict, which covers the
/// identity side too, is `render::verify::text`'s; warnings are the
/// command's to print.
pub fn text(side: &ResourceSide, out: &mut dyn Write) -> io::Result<()> {
    for l in &side.leaks {
        write!(
            out,
            "LEAK: {} is let into bucket `{}` of client `{}` by its {}",
            l.who(),
            l.bucket,
            l.client,
            l.source
        )?;
        if l.allowed.is_empty() {
            writeln!(out)?;
        } else {
            writeln!(out, ": {}", l.allowed.join(", "))?;
        }
        writeln!(out, "  - {}", l.why())?;
    }
    for u in &side.unreadable {
        writeln!(out, "note: the settings of {u} could not be read")?;
    }
    Ok(())
}

/// The matrix's JSON document (see `render::matrix::json`) with the
/// resource side added: `buckets` (what each client bucket says about
/// itself), `bucket_leaks`, `bucket_warnings` and `unreadable_buckets`;
/// `isolated` is true only when both sides hold.
pub fn json(m: &Matrix, side: &ResourceSide, out: &mut dyn Write) -> io::Result<()> {
    let mut buffer = Vec::new();
    crate::render::matrix::json(m, &mut buffer)?;
    let mut doc: Value = serde_json::from_slice(&buffer).map_err(io::Error::other)?;
    if let Some(map) = doc.as_object_mut() {
        let isolated = m.isolated() && side.isolated();
        map.insert("isolated".into(), Value::Bool(isolated));
        map.insert("buckets".into(), serde_json::to_value(&side.buckets)?);
        map.insert("bucket_leaks".into(), serde_json::to_value(&side.leaks)?);
        map.insert(
            "bucket_warnings".into(),
            serde_json::to_value(&side.warnings)?,
        );
        map.insert(
            "unreadable_buckets".into(),
            serde_json::to_value(&side.unreadable)?,
        );
    }
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}
