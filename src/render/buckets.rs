//! `verify`'s resource side (see [`crate::report::buckets`]): the grants in
//! bucket policies and ACLs that cross clients, as text after the access
//! matrix, and as extra keys of the matrix's JSON document.

use std::io::{self, Write};

use serde_json::Value;

use crate::report::buckets::{BucketLeak, ResourceSide};
use crate::report::matrix::Matrix;

/// How a leak's grant is named: "bucket policy of `b`, statement `#2`
/// (`Sid`)" or "ACL of `b`, grant `#2`".
fn source(l: &BucketLeak) -> String {
    match l.source {
        "ACL" => format!("ACL of `{}`, grant `#{}`", l.bucket, l.statement),
        _ => {
            let mut s = format!(
                "bucket policy of `{}`, statement `#{}`",
                l.bucket, l.statement
            );
            if let Some(sid) = &l.sid {
                s.push_str(&format!(" (`{sid}`)"));
            }
            s
        }
    }
}

/// The resource side as text: one `LEAK` per grant with where it is, the
/// buckets that could not be read, and a closing line. Warnings are the
/// command's to print.
pub fn text(side: &ResourceSide, out: &mut dyn Write) -> io::Result<()> {
    let read = side.buckets.iter().filter(|b| !b.facts.missing).count();
    for l in &side.leaks {
        let who = match &l.principal {
            Some(p) => format!("`{p}`"),
            None => l.grantee.clone(),
        };
        write!(
            out,
            "LEAK: {who} is let into bucket `{}` of client `{}` by its {}",
            l.bucket, l.client, l.source
        )?;
        if l.allowed.is_empty() {
            writeln!(out)?;
        } else {
            writeln!(out, ": {}", l.allowed.join(", "))?;
        }
        writeln!(
            out,
            "  - {}, grants {} to {}",
            source(l),
            l.grants,
            l.grantee
        )?;
    }
    for u in &side.unreadable {
        writeln!(out, "note: the settings of {u} could not be read")?;
    }
    if !side.leaks.is_empty() {
        writeln!(
            out,
            "Isolation is broken on the buckets: {} grant(s) in bucket policies or ACLs let in another client, another account or everyone.",
            side.leaks.len()
        )
    } else if !side.unreadable.is_empty() {
        writeln!(
            out,
            "Isolation cannot be proven on the buckets: {} bucket(s) could not be read (see the notes above).",
            side.unreadable.len()
        )
    } else if read > 0 {
        writeln!(
            out,
            "Bucket settings: no bucket policy or ACL of the {read} bucket(s) read lets in another client, another account or everyone."
        )
    } else {
        Ok(())
    }
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
