//! The access report as markdown, for a pull request or a wiki page: the
//! same content as the HTML form, with a text table for the client x
//! client picture and `LEAK` in bold where isolation is broken.

use std::io::{self, Write};

use crate::report::evidence::{
    ClientEvidence, KeyFact, Overview, PrincipalEvidence, RULE, short_names,
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
    if kind == "app" {
        "application user"
    } else {
        "developer"
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
    if e.proof.holds() {
        writeln!(
            out,
            "> **Isolation holds.** {} principal(s) of other clients were checked against the {} resource(s) of {} ({} pairs); none reaches them.",
            e.proof.others_checked,
            e.proof.resources,
            code(&e.client),
            e.proof.pairs
        )?;
    } else {
        writeln!(
            out,
            "> **LEAK: isolation is broken.** {} principal(s) of other clients reach {}: {}.",
            e.proof.leaks.len(),
            code(&e.client),
            list(&e.proof.leaks)
        )?;
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
        "The actions shown are the probed ones (`list`, `get`, `put`, `delete`, `bucket-policy`, `bucket-acl`, `invalidate`), evaluated as IAM would. Principals are IAM users at the managed path; roles, other users and bucket policies are not read."
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
    }
    writeln!(out)?;
    Ok(())
}

/// Writes the overview of every client.
// Long because it is the page from top to bottom: the verdict, the
// table of clients, then the picture, row by row.
pub fn overview(o: &Overview, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# Access report: every client")?;
    writeln!(out)?;
    source_line(out, &o.source)?;
    writeln!(out)?;
    if o.isolated() {
        writeln!(
            out,
            "> **Isolation holds** for every client: {} principal(s) checked against {} resource(s); none reaches a client it does not belong to.",
            o.principals_checked, o.resources_checked
        )?;
    } else {
        writeln!(
            out,
            "> **LEAK: isolation is broken.** Some principals reach a client they do not belong to; see the cells marked `LEAK` below and `provision report --client NAME` for the statements."
        )?;
    }
    writeln!(out)?;
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
            if c.reached_by_others == 0 {
                "none".to_owned()
            } else {
                format!("**LEAK: {}**", c.reached_by_others)
            }
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
