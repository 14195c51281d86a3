//! The access report as markdown, for a pull request or a wiki page: the
//! same content as the HTML form, with a text table for the client x
//! client picture and `LEAK` in bold where isolation is broken.

use std::io::{self, Write};

use crate::report::buckets::BucketLeak;
use crate::report::evidence::{
    self, BUCKETS_READ, ClientEvidence, KeyFact, Overview, PrincipalEvidence, RULE, short_names,
};

/// `text` as inline code, with a fence longer than any run of backticks
/// inside it, so a name can never close it early.
fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest == 0 {
        format!("{fence}{text}{fence}")
    } else {
        format!("{fence} {text} {fence}")
    }
}

/// Makes `text` safe inside a table cell: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn source_line(out: &mut dyn Write, s: &crate::report::evidence::Source) -> io::Result<()> {
    writeln!(
        out,
        "Read from AWS account {}, managed path {}, at {}.",
        code(&s.account_id),
        code(&s.path),
        s.read_at
    )
}

fn key_text(k: &KeyFact) -> String {
    let mut text = format!(
        "{} {}, created {}",
        code(&k.id_hint),
        if k.active { "active" } else { "inactive" },
        k.created.as_deref().unwrap_or("(unknown)")
    );
    text.push_str(&match (&k.last_used, k.used_known) {
        (Some(d), _) => format!(", last used {d}"),
        (None, true) => ", never used".to_owned(),
        (None, false) => ", last use unknown".to_owned(),
    });
    if k.over_limit {
        text.push_str(" **(older than the limit)**");
    }
    text
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "app" => "application user",
        "role" => "GitHub Actions role",
        _ => "developer",
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.iter().map(|n| code(n)).collect::<Vec<_>>().join(", ")
    }
}

/// Writes the report on one client.
// Long because it is the page from top to bottom, one block per
// section, in the order a reader meets them.
pub fn client(e: &ClientEvidence, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# Access report for client {}", code(&e.client))?;
    writeln!(out)?;
    source_line(out, &e.source)?;
    writeln!(out)?;
    if e.proof.broken() {
        write!(out, "> **LEAK: isolation is broken.**")?;
        if !e.proof.leaks.is_empty() {
            write!(
                out,
                " {} principal(s) of other clients reach {}: {}.",
                e.proof.leaks.len(),
                code(&e.client),
                list(&e.proof.leaks)
            )?;
        }
        if e.proof.bucket_leaks > 0 {
            write!(
                out,
                " {} grant(s) in the bucket policies or ACLs of {} let in another client, another account or everyone.",
                e.proof.bucket_leaks,
                code(&e.client)
            )?;
        }
        writeln!(out)?;
    } else if !e.proof.holds() {
        writeln!(
            out,
            "> **Isolation cannot be proven.** {}",
            evidence::unproven_reason(
                e.proof.unreadable_buckets,
                e.proof.unreadable_policies,
                &format!("bucket(s) of {}", code(&e.client))
            )
        )?;
    } else {
        write!(
            out,
            "> **Isolation holds.** {} principal(s) of other clients were checked against the {} resource(s) of {} ({} pairs); none reaches them.",
            e.proof.others_checked,
            e.proof.resources,
            code(&e.client),
            e.proof.pairs
        )?;
        if e.buckets.read > 0 {
            write!(
                out,
                " No bucket policy or ACL of its {} bucket(s) lets in another client, another account or everyone.",
                e.buckets.read
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out)?;
    writeln!(out, "## Resources")?;
    writeln!(out)?;
    if let Some(access) = &e.access {
        writeln!(out, "Access level of its principals: {}.", code(access))?;
        writeln!(out)?;
    }
    for r in &e.resources {
        writeln!(out, "- {r}")?;
    }
    writeln!(out)?;
    principals(e, out)?;
    buckets(e, out)?;
    writeln!(out, "## How isolation was checked")?;
    writeln!(out)?;
    writeln!(
        out,
        "Every managed principal was read from the account's live policies. {} principal(s) that do not belong to {} were checked against its {} resource(s): {} pairs, {} reaching. The rule: {RULE}.",
        e.proof.others_checked,
        code(&e.client),
        e.proof.resources,
        e.proof.pairs,
        e.proof.leaks.len()
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "The actions shown are the probed ones (`list`, `get`, `put`, `delete`, `bucket-policy`, `bucket-acl`, `invalidate`), evaluated as IAM would. Principals are IAM users at the managed path; roles and other users are not read. {BUCKETS_READ}."
    )?;
    for note in &e.notes {
        writeln!(out)?;
        writeln!(out, "Note: {note}.")?;
    }
    writeln!(out)?;
    writeln!(out, "## Findings")?;
    writeln!(out)?;
    if e.findings.is_empty() {
        writeln!(
            out,
            "None: no key older than {} days, unused key, console password, missing boundary or policy of a user's own.",
            e.max_key_age_days
        )?;
    }
    for f in &e.findings {
        writeln!(
            out,
            "- {} ({}): {}",
            code(&f.user),
            f.check_name(),
            f.dated_detail()
        )?;
    }
    Ok(())
}

/// One bucket grant that crosses, as a list item: who, where, what.
fn bucket_leak(l: &BucketLeak, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "- **LEAK:** {} is let into bucket {} of client {} by its {}",
        l.who(),
        code(&l.bucket),
        code(&l.client),
        l.source
    )?;
    if l.allowed.is_empty() {
        writeln!(out)?;
    } else {
        writeln!(out, ": {}", l.allowed.join(", "))?;
    }
    writeln!(out, "  - {}", l.why())
}

/// What the client's buckets let in by themselves: the grants that cross,
/// the Block Public Access warnings and the buckets not read. Absent when
/// the client has no bucket to read.
fn buckets(e: &ClientEvidence, out: &mut dyn Write) -> io::Result<()> {
    let b = &e.buckets;
    if b.read == 0 && b.leaks.is_empty() && b.unreadable.is_empty() {
        return Ok(());
    }
    writeln!(out, "## What its buckets let in")?;
    writeln!(out)?;
    if b.leaks.is_empty() && b.warnings.is_empty() && b.unreadable.is_empty() {
        writeln!(
            out,
            "No bucket policy or ACL of its {} bucket(s) lets in another client, another account or everyone, and each has all four Block Public Access settings.",
            b.read
        )?;
    }
    for l in &b.leaks {
        bucket_leak(l, out)?;
    }
    for u in &b.unreadable {
        writeln!(out, "- **Not read:** the settings of {u}.")?;
    }
    for w in &b.warnings {
        writeln!(out, "- **Warning:** {w}.")?;
    }
    writeln!(out)
}

/// The table of principals, then one section each.
fn principals(e: &ClientEvidence, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## Who can reach them")?;
    writeln!(out)?;
    if e.principals.is_empty() {
        writeln!(out, "Nobody: no managed principal reaches them.")?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "| principal | kind | member of | boundary | active keys |"
    )?;
    writeln!(out, "|---|---|---|---|---:|")?;
    for p in &e.principals {
        writeln!(
            out,
            "| {}{} | {} | {} | {} | {} |",
            if p.leak { "**LEAK** " } else { "" },
            code(&p.name),
            kind_name(p.kind),
            cell(&list(&p.clients)),
            p.boundary.as_deref().map_or("none".to_owned(), code),
            p.keys.iter().filter(|k| k.active).count()
        )?;
    }
    writeln!(out)?;
    for p in &e.principals {
        principal(p, out)?;
    }
    Ok(())
}

fn principal(p: &PrincipalEvidence, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "### {}{}",
        if p.leak { "LEAK: " } else { "" },
        code(&p.name)
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "- **{}**, member of {} (groups: {})",
        kind_name(p.kind),
        list(&p.clients),
        list(&p.groups)
    )?;
    writeln!(
        out,
        "- **Permissions boundary:** {}",
        p.boundary.as_deref().map_or("none".to_owned(), code)
    )?;
    if p.keys.is_empty() {
        writeln!(out, "- **Access keys:** none")?;
    } else {
        writeln!(out, "- **Access keys:**")?;
        for k in &p.keys {
            writeln!(out, "  - {}", key_text(k))?;
        }
    }
    for g in &p.grants {
        let names = short_names(&g.allowed);
        writeln!(
            out,
            "- **{}:** {}{}",
            g.resource,
            if names.is_empty() {
                "no probed action (reached by pattern)".to_owned()
            } else {
                names.join(", ")
            },
            if g.conditional {
                " (under a condition)"
            } else {
                ""
            }
        )?;
        for why in &g.because {
            writeln!(out, "  - {why}")?;
        }
        for why in &g.let_in_by {
            writeln!(out, "  - {why}")?;
        }
    }
    writeln!(out)?;
    Ok(())
}

/// The overview's "reached by other clients" cell: how many principals of
/// other clients, and how many bucket grants to another account or
/// everyone.
fn reached_text(principals: usize, outside: usize) -> String {
    match (principals, outside) {
        (0, 0) => "none".to_owned(),
        (n, 0) => format!("**LEAK: {n}**"),
        (0, k) => format!("**LEAK: {k} grant(s) to another account or everyone**"),
        (n, k) => format!("**LEAK: {n}, and {k} grant(s) to another account or everyone**"),
    }
}

/// Writes the overview of every client.
// Long because it is the page from top to bottom: the verdict, the
// table of clients, then the picture, row by row.
pub fn overview(o: &Overview, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# Access report: every client")?;
    writeln!(out)?;
    source_line(out, &o.source)?;
    writeln!(out)?;
    if o.broken() {
        writeln!(
            out,
            "> **LEAK: isolation is broken.** Some principals reach a client they do not belong to, or a bucket lets in another account or everyone; see the cells and lines marked `LEAK` below and `provision report --client NAME` for the statements."
        )?;
    } else if !o.isolated() {
        writeln!(
            out,
            "> **Isolation cannot be proven.** {}",
            evidence::unproven_reason(
                o.unreadable_buckets.len(),
                o.unreadable_policies,
                "client bucket(s)"
            )
        )?;
    } else {
        writeln!(
            out,
            "> **Isolation holds** for every client: {} principal(s) checked against {} resource(s); none reaches a client it does not belong to.",
            o.principals_checked, o.resources_checked
        )?;
    }
    writeln!(out)?;
    if !o.outside.is_empty() || !o.unreadable_buckets.is_empty() {
        for l in &o.outside {
            bucket_leak(l, out)?;
        }
        for u in &o.unreadable_buckets {
            writeln!(out, "- **Not read:** the settings of {u}.")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "| client | principals | keys older than {} days | findings | reached by other clients |",
        o.max_key_age_days
    )?;
    writeln!(out, "|---|---:|---:|---:|---|")?;
    for c in &o.clients {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            code(&c.client),
            c.principals,
            c.old_keys,
            c.findings,
            reached_text(c.reached_by_others, c.open_to_outside)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "## Who reaches whose resources")?;
    writeln!(out)?;
    writeln!(
        out,
        "A row counts the principals of one client that reach the buckets and distributions of the client of each column. The diagonal is each client's own access; off the diagonal, any number is a leak."
    )?;
    writeln!(out)?;
    let m = &o.matrix;
    write!(out, "| principals of ↓ / resources of → |")?;
    for c in &m.clients {
        write!(out, " {} |", code(c))?;
    }
    writeln!(out)?;
    write!(out, "|---|")?;
    for _ in &m.clients {
        write!(out, ":-:|")?;
    }
    writeln!(out)?;
    for (row, cells) in m.rows.iter().zip(&m.cells) {
        write!(out, "| {} |", code(row))?;
        for c in cells {
            let text = match (c.principals, c.leak) {
                (0, _) => "·".to_owned(),
                (n, true) => format!("**LEAK {n}**"),
                (n, false) => format!("✓ {n}"),
            };
            write!(out, " {text} |")?;
        }
        writeln!(out)?;
    }
    for note in &o.notes {
        writeln!(out)?;
        writeln!(out, "Note: {note}.")?;
    }
    Ok(())
}
