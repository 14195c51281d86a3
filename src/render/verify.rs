//! `verify`'s text output as a whole: the access matrix (the identity
//! side), the buckets' own grants (the resource side), then one verdict
//! that covers both, so the output never says isolation holds above a
//! leak it reports below.

use std::io::{self, Write};

use crate::report::buckets::ResourceSide;
use crate::report::matrix::Matrix;

/// Writes the matrix, the resource side's findings and the one verdict.
pub fn text(m: &Matrix, side: &ResourceSide, out: &mut dyn Write) -> io::Result<()> {
    let identity = super::matrix::text(m, out)?;
    super::buckets::text(side, out)?;
    verdict(m, identity, side, out)
}

/// The closing line: broken when either side leaks (with how many on
/// each), unproven when nothing leaks but a policy or a bucket could not
/// be read, holds otherwise. `identity` is the number of the matrix's
/// leaks, counted as they were written (counting again would expand every
/// cell a second time).
fn verdict(
    m: &Matrix,
    identity: usize,
    side: &ResourceSide,
    out: &mut dyn Write,
) -> io::Result<()> {
    let buckets = side.leaks.len();
    let policies_unread = m.unreadable.len();
    let buckets_unread = side.unreadable.len();
    if identity + buckets > 0 {
        writeln!(
            out,
            "Isolation is broken: {} leak(s): {identity} principal/resource pair(s) cross clients through IAM policies, {buckets} grant(s) in bucket policies or ACLs let in another client, another account or everyone.",
            identity + buckets
        )?;
        if policies_unread > 0 {
            writeln!(
                out,
                "{policies_unread} policy(ies) that apply to managed users could not be read (see the note above): there may be more."
            )?;
        }
        if buckets_unread > 0 {
            writeln!(
                out,
                "{buckets_unread} bucket(s) could not be read (see the notes above): there may be more."
            )?;
        }
        return Ok(());
    }
    let mut unread = Vec::new();
    if policies_unread > 0 {
        unread.push(format!(
            "{policies_unread} policy(ies) that apply to managed users"
        ));
    }
    if buckets_unread > 0 {
        unread.push(format!("{buckets_unread} bucket(s)"));
    }
    if !unread.is_empty() {
        return writeln!(
            out,
            "Isolation cannot be proven: {} could not be read (see the notes above).",
            unread.join(" and ")
        );
    }
    // A bucket that does not exist has nothing to read: the verdict counts
    // the buckets whose settings were read.
    let read = side.buckets.iter().filter(|b| !b.facts.missing).count();
    write!(
        out,
        "Isolation holds: no principal reaches a bucket or distribution of a client it does not belong to"
    )?;
    if read > 0 {
        write!(
            out,
            ", and no bucket policy or ACL of the {read} bucket(s) read lets in another client, another account or everyone"
        )?;
    }
    writeln!(out, ".")
}
