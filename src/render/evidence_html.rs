//! The access report as one self-contained HTML file: the styles are
//! inline, there is no script, no font, no image and no link to fetch, so
//! it opens offline, can be mailed as it is, and prints to PDF as it shows.
//!
//! Every name is escaped: names come from the account, where a hand-made
//! policy may hold any text. A leak is drawn in red (`#d00`, class `leak`)
//! and nothing else is red, so a reader, or a test looking at the rendered
//! page, finds leaks by colour alone.

use std::io::{self, Write};

use crate::report::buckets::BucketLeak;
use crate::report::evidence::{
    self, BUCKETS_READ, ClientEvidence, KeyFact, Overview, PrincipalEvidence, RULE, Source,
    short_names,
};

/// The style sheet. Colours are kept when printing
/// (`print-color-adjust: exact`), so the PDF shows the leak in red too.
const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; color: #1b1b1b; margin: 2em auto; max-width: 60em; padding: 0 1em; line-height: 1.45; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin-top: 1.2em; }
code { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; font-size: 0.92em; background: #f2f2f2; padding: 0 0.2em; border-radius: 3px; }
.source { color: #555; }
.verdict { padding: 0.7em 1em; border-radius: 4px; margin: 1em 0; }
.verdict.holds { background: #e3f1e6; border: 1px solid #2e7d32; }
.verdict.broken { background: #d00; color: #fff; border: 1px solid #d00; }
.verdict.broken code { background: #fff; color: #1b1b1b; }
.verdict.unproven { background: #fff4e0; border: 1px solid #8a5a00; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; }
table.cross th { vertical-align: middle; }
table.cross td { width: 4.5em; height: 2.6em; text-align: center; vertical-align: middle; font-weight: 600; }
table.cross td.own { background: #cfe8d4; color: #1b4d2a; }
table.cross td.none { background: #fff; color: #999; }
table.cross td.leak { background: #d00; color: #fff; }
span.leak { background: #d00; color: #fff; padding: 0 0.35em; border-radius: 3px; font-weight: 700; }
span.warn { color: #8a5a00; font-weight: 600; }
ul.why { margin: 0.2em 0 0.4em 0; color: #333; font-size: 0.95em; }
.principal { break-inside: avoid; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } }
";

/// `text` with the five characters HTML gives meaning to escaped.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `name` escaped, in `<code>`.
fn code(name: &str) -> String {
    format!("<code>{}</code>", esc(name))
}

/// A message that names things in backticks (as every message of
/// provision does), escaped, with each `name` in `<code>`. The text is
/// escaped first, so a stray backtick can only misplace a `<code>`, never
/// let markup through.
fn rich(text: &str) -> String {
    let mut out = String::new();
    let mut open = false;
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push_str(if open { "</code>" } else { "<code>" });
            open = !open;
        }
        out.push_str(&esc(part));
    }
    if open {
        out.push_str("</code>");
    }
    out
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.iter().map(|n| code(n)).collect::<Vec<_>>().join(", ")
    }
}

fn head(out: &mut dyn Write, title: &str) -> io::Result<()> {
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, "<html lang=\"en\">")?;
    writeln!(out, "<head>")?;
    writeln!(out, "<meta charset=\"utf-8\">")?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(out, "<title>{}</title>", esc(title))?;
    writeln!(out, "<style>{STYLE}</style>")?;
    writeln!(out, "</head>")?;
    writeln!(out, "<body>")
}

fn source_line(out: &mut dyn Write, s: &Source) -> io::Result<()> {
    writeln!(
        out,
        "<p class=\"source\">Read from AWS account {}, managed path {}, at <time>{}</time>.</p>",
        code(&s.account_id),
        code(&s.path),
        esc(&s.read_at)
    )
}

fn key_html(k: &KeyFact) -> String {
    let mut text = format!(
        "{} {}, created {}",
        code(&k.id_hint),
        if k.active { "active" } else { "inactive" },
        esc(k.created.as_deref().unwrap_or("(unknown)"))
    );
    text.push_str(&match (&k.last_used, k.used_known) {
        (Some(d), _) => format!(", last used {}", esc(d)),
        (None, true) => ", never used".to_owned(),
        (None, false) => ", last use unknown".to_owned(),
    });
    if k.over_limit {
        text.push_str(" <span class=\"warn\">older than the limit</span>");
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

/// Writes the report on one client as an HTML page.
// Long because it is the page from top to bottom, one block per
// section, in the order a reader meets them.
pub fn client(e: &ClientEvidence, out: &mut dyn Write) -> io::Result<()> {
    head(out, &format!("Access report for client {}", e.client))?;
    writeln!(out, "<h1>Access report for client {}</h1>", code(&e.client))?;
    source_line(out, &e.source)?;
    if e.proof.broken() {
        write!(
            out,
            "<p class=\"verdict broken leak\"><strong>LEAK: isolation is broken.</strong>"
        )?;
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
        writeln!(out, "</p>")?;
    } else if !e.proof.holds() {
        writeln!(
            out,
            "<p class=\"verdict unproven\"><strong>Isolation cannot be proven.</strong> {}</p>",
            evidence::unproven_reason(
                e.proof.unreadable_buckets,
                e.proof.unreadable_policies,
                &format!("bucket(s) of {}", code(&e.client))
            )
        )?;
    } else {
        write!(
            out,
            "<p class=\"verdict holds\"><strong>Isolation holds.</strong> {} principal(s) of other clients were checked against the {} resource(s) of {} ({} pairs); none reaches them.",
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
        writeln!(out, "</p>")?;
    }
    writeln!(out, "<h2>Resources</h2>")?;
    if let Some(access) = &e.access {
        writeln!(
            out,
            "<p>Access level of its principals: {}.</p>",
            code(access)
        )?;
    }
    writeln!(out, "<ul>")?;
    for r in &e.resources {
        writeln!(out, "<li>{}</li>", rich(r))?;
    }
    writeln!(out, "</ul>")?;
    principals(e, out)?;
    buckets(e, out)?;
    writeln!(out, "<h2>How isolation was checked</h2>")?;
    writeln!(
        out,
        "<p>Every managed principal was read from the account's live policies. {} principal(s) that do not belong to {} were checked against its {} resource(s): {} pairs, {} reaching. The rule: {}.</p>",
        e.proof.others_checked,
        code(&e.client),
        e.proof.resources,
        e.proof.pairs,
        e.proof.leaks.len(),
        rich(RULE)
    )?;
    writeln!(
        out,
        "<p>The actions shown are the probed ones (<code>list</code>, <code>get</code>, <code>put</code>, <code>delete</code>, <code>bucket-policy</code>, <code>bucket-acl</code>, <code>invalidate</code>), evaluated as IAM would. Principals are IAM users at the managed path; roles and other users are not read. {}.</p>",
        rich(BUCKETS_READ)
    )?;
    for note in &e.notes {
        writeln!(out, "<p>Note: {}.</p>", rich(note))?;
    }
    writeln!(out, "<h2>Findings</h2>")?;
    if e.findings.is_empty() {
        writeln!(
            out,
            "<p>None: no key older than {} days, unused key, console password, missing boundary or policy of a user's own.</p>",
            e.max_key_age_days
        )?;
    } else {
        writeln!(out, "<ul>")?;
        for f in &e.findings {
            writeln!(
                out,
                "<li>{} (<span class=\"warn\">{}</span>): {}</li>",
                code(&f.user),
                esc(f.check_name()),
                rich(&f.dated_detail())
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</body>")?;
    writeln!(out, "</html>")
}

/// One bucket grant that crosses, as a list item in red: who, where,
/// what.
fn bucket_leak(l: &BucketLeak, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "<li><span class=\"leak\">LEAK</span> {} is let into bucket {} of client {} by its {}",
        rich(&l.who()),
        code(&l.bucket),
        code(&l.client),
        esc(l.source)
    )?;
    if !l.allowed.is_empty() {
        write!(out, ": {}", esc(&l.allowed.join(", ")))?;
    }
    writeln!(
        out,
        "<ul class=\"why\"><li>{}</li></ul></li>",
        rich(&l.why())
    )
}

/// What the client's buckets let in by themselves: the grants that cross,
/// the Block Public Access warnings and the buckets not read. Absent when
/// the client has no bucket to read.
fn buckets(e: &ClientEvidence, out: &mut dyn Write) -> io::Result<()> {
    let b = &e.buckets;
    if b.read == 0 && b.leaks.is_empty() && b.unreadable.is_empty() {
        return Ok(());
    }
    writeln!(out, "<h2>What its buckets let in</h2>")?;
    if b.leaks.is_empty() && b.warnings.is_empty() && b.unreadable.is_empty() {
        return writeln!(
            out,
            "<p>No bucket policy or ACL of its {} bucket(s) lets in another client, another account or everyone, and each has all four Block Public Access settings.</p>",
            b.read
        );
    }
    writeln!(out, "<ul>")?;
    for l in &b.leaks {
        bucket_leak(l, out)?;
    }
    for u in &b.unreadable {
        writeln!(
            out,
            "<li><strong>Not read:</strong> the settings of {}.</li>",
            rich(u)
        )?;
    }
    for w in &b.warnings {
        writeln!(
            out,
            "<li><span class=\"warn\">Warning:</span> {}.</li>",
            rich(w)
        )?;
    }
    writeln!(out, "</ul>")
}

/// The table of principals, then one section each.
fn principals(e: &ClientEvidence, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<h2>Who can reach them</h2>")?;
    if e.principals.is_empty() {
        return writeln!(out, "<p>Nobody: no managed principal reaches them.</p>");
    }
    writeln!(out, "<table>")?;
    writeln!(
        out,
        "<tr><th>principal</th><th>kind</th><th>member of</th><th>boundary</th><th>active keys</th></tr>"
    )?;
    for p in &e.principals {
        writeln!(
            out,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            if p.leak {
                "<span class=\"leak\">LEAK</span> "
            } else {
                ""
            },
            code(&p.name),
            kind_name(p.kind),
            list(&p.clients),
            p.boundary.as_deref().map_or("none".to_owned(), code),
            p.keys.iter().filter(|k| k.active).count()
        )?;
    }
    writeln!(out, "</table>")?;
    for p in &e.principals {
        principal(p, out)?;
    }
    Ok(())
}

fn principal(p: &PrincipalEvidence, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<section class=\"principal\">")?;
    writeln!(
        out,
        "<h3>{}{}</h3>",
        if p.leak {
            "<span class=\"leak\">LEAK</span> "
        } else {
            ""
        },
        code(&p.name)
    )?;
    writeln!(out, "<ul>")?;
    writeln!(
        out,
        "<li><strong>{}</strong>, member of {} (groups: {})</li>",
        kind_name(p.kind),
        list(&p.clients),
        list(&p.groups)
    )?;
    writeln!(
        out,
        "<li><strong>Permissions boundary:</strong> {}</li>",
        p.boundary.as_deref().map_or("none".to_owned(), code)
    )?;
    if p.keys.is_empty() {
        writeln!(out, "<li><strong>Access keys:</strong> none</li>")?;
    } else {
        writeln!(out, "<li><strong>Access keys:</strong><ul>")?;
        for k in &p.keys {
            writeln!(out, "<li>{}</li>", key_html(k))?;
        }
        writeln!(out, "</ul></li>")?;
    }
    for g in &p.grants {
        let names = short_names(&g.allowed);
        writeln!(
            out,
            "<li><strong>{}:</strong> {}{}",
            rich(&g.resource),
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
        if !g.because.is_empty() || !g.let_in_by.is_empty() {
            writeln!(out, "<ul class=\"why\">")?;
            for why in &g.because {
                writeln!(out, "<li>{}</li>", rich(&why.to_string()))?;
            }
            for why in &g.let_in_by {
                writeln!(out, "<li>{}</li>", rich(why))?;
            }
            writeln!(out, "</ul>")?;
        }
        writeln!(out, "</li>")?;
    }
    writeln!(out, "</ul>")?;
    writeln!(out, "</section>")
}

/// Writes the overview of every client as an HTML page.
// Long because it is the page from top to bottom: the verdict, the
// table of clients, then the picture, row by row.
pub fn overview(o: &Overview, out: &mut dyn Write) -> io::Result<()> {
    head(out, "Access report: every client")?;
    writeln!(out, "<h1>Access report: every client</h1>")?;
    source_line(out, &o.source)?;
    if o.broken() {
        writeln!(
            out,
            "<p class=\"verdict broken leak\"><strong>LEAK: isolation is broken.</strong> Some principals reach a client they do not belong to, or a bucket lets in another account or everyone: the red cells and lines below; <code>provision report --client NAME</code> names the statements.</p>"
        )?;
    } else if !o.isolated() {
        writeln!(
            out,
            "<p class=\"verdict unproven\"><strong>Isolation cannot be proven.</strong> {}</p>",
            evidence::unproven_reason(
                o.unreadable_buckets.len(),
                o.unreadable_policies,
                "client bucket(s)"
            )
        )?;
    } else {
        writeln!(
            out,
            "<p class=\"verdict holds\"><strong>Isolation holds</strong> for every client: {} principal(s) checked against {} resource(s); none reaches a client it does not belong to.</p>",
            o.principals_checked, o.resources_checked
        )?;
    }
    if !o.outside.is_empty() || !o.unreadable_buckets.is_empty() {
        writeln!(out, "<ul>")?;
        for l in &o.outside {
            bucket_leak(l, out)?;
        }
        for u in &o.unreadable_buckets {
            writeln!(
                out,
                "<li><strong>Not read:</strong> the settings of {}.</li>",
                rich(u)
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "<table>")?;
    writeln!(
        out,
        "<tr><th>client</th><th>principals</th><th>keys older than {} days</th><th>findings</th><th>reached by other clients</th></tr>",
        o.max_key_age_days
    )?;
    for c in &o.clients {
        writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            code(&c.client),
            c.principals,
            c.old_keys,
            c.findings,
            match (c.reached_by_others, c.open_to_outside) {
                (0, 0) => "none".to_owned(),
                (n, 0) => format!("<span class=\"leak\">LEAK: {n}</span>"),
                (0, k) => format!(
                    "<span class=\"leak\">LEAK: {k} grant(s) to another account or everyone</span>"
                ),
                (n, k) => format!(
                    "<span class=\"leak\">LEAK: {n}, and {k} grant(s) to another account or everyone</span>"
                ),
            }
        )?;
    }
    writeln!(out, "</table>")?;
    writeln!(out, "<h2>Who reaches whose resources</h2>")?;
    writeln!(
        out,
        "<p>A row counts the principals of one client that reach the buckets and distributions of the client of each column. The diagonal (green) is each client's own access; off the diagonal, any number is a leak, drawn in red.</p>"
    )?;
    let m = &o.matrix;
    writeln!(out, "<table class=\"cross\">")?;
    write!(out, "<tr><th>principals of ↓ / resources of →</th>")?;
    for c in &m.clients {
        write!(out, "<th>{}</th>", code(c))?;
    }
    writeln!(out, "</tr>")?;
    for (row, cells) in m.rows.iter().zip(&m.cells) {
        write!(out, "<tr><th>{}</th>", code(row))?;
        for (c, column) in cells.iter().zip(&m.clients) {
            let (class, text) = match (c.principals, c.leak) {
                (0, _) => ("none", "·".to_owned()),
                (n, true) => ("leak", format!("{n}")),
                (n, false) => ("own", format!("{n}")),
            };
            write!(
                out,
                "<td class=\"{class}\" title=\"{} principal(s) of {} reach {}\">{text}</td>",
                c.principals,
                esc(row),
                esc(column)
            )?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</table>")?;
    for note in &o.notes {
        writeln!(out, "<p>Note: {}.</p>", rich(note))?;
    }
    writeln!(out, "</body>")?;
    writeln!(out, "</html>")
}
