//! `verify`'s resource side (see [`crate::report::buckets`]): the grants in
//! bucket policies and ACLs that cross clients, as text after the access
//! matrix's leaks (before `render::verify`'s verdict), and as extra keys of
//! the matrix's JSON document.

use std::io::{self, Write};

use crate::render::matrix::{JsonObject, json_fields};
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
/// resource side added: `account_public_access_block` (the account's own
/// settings, which hold for every bucket), `buckets` (what each client
/// bucket says about itself), `bucket_leaks`, `bucket_warnings` and
/// `unreadable_buckets`;
/// `isolated` is true only when both sides hold.
pub fn json(m: &Matrix, side: &ResourceSide, out: &mut dyn Write) -> io::Result<()> {
    // Streamed like the matrix's own JSON: at 300 clients the access list
    // is hundreds of megabytes, which must never be held as one value.
    let mut doc = JsonObject::begin(out)?;
    json_fields(m, m.isolated() && side.isolated(), &mut doc)?;
    doc.field(
        "account_public_access_block",
        &side.account_public_access_block,
    )?;
    doc.field("buckets", &side.buckets)?;
    doc.field("bucket_leaks", &side.leaks)?;
    doc.field("bucket_warnings", &side.warnings)?;
    doc.field("unreadable_buckets", &side.unreadable)?;
    doc.end()
}
