//! The plan as a pull-request comment (GitHub-flavoured markdown): warnings
//! on top, a summary table by client, then one collapsible section per
//! client with the text plan's lines in a `diff` block, which code review
//! tools colour.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::plan::{Action, Change, Plan, Summary};

/// The section for changes that belong to no one client: developer users,
/// application users and their keys.
const ACCOUNT_WIDE: &str = "account-wide";

/// Write `plan` as a markdown comment for a pull request.
// Long because it writes the comment's sections in order (summary, one
// section per client, account-wide changes, notes) from one grouping.
pub fn markdown(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### provision plan")?;
    writeln!(out)?;
    if !plan.warnings.is_empty() {
        // A GitHub alert: rendered as a highlighted box, plain quote elsewhere.
        writeln!(out, "> [!WARNING]")?;
        for warning in &plan.warnings {
            writeln!(out, "> - {warning}")?;
        }
        writeln!(out)?;
    }
    if !plan.out_of_scope.is_empty() {
        writeln!(
            out,
            "Left alone (managed, but not in the given files): {}.",
            plan.out_of_scope
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        writeln!(out)?;
    }
    if plan.is_empty() {
        writeln!(
            out,
            "**No changes.** The account matches the configuration."
        )?;
        return Ok(());
    }

    // Sections in a stable order: clients by name, then account-wide.
    let mut sections: BTreeMap<(bool, &str), Vec<&Change>> = BTreeMap::new();
    for change in &plan.changes {
        let key = match change.client() {
            Some(client) => (false, client),
            None => (true, ACCOUNT_WIDE),
        };
        sections.entry(key).or_default().push(change);
    }

    writeln!(out, "| client | creates | updates | deletes |")?;
    writeln!(out, "|---|---:|---:|---:|")?;
    for ((_, name), changes) in &sections {
        let s = summary(changes);
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            section_title(name),
            s.create,
            s.update,
            s.delete
        )?;
    }
    let total = plan.summary();
    writeln!(
        out,
        "| **total** | **{}** | **{}** | **{}** |",
        total.create, total.update, total.delete
    )?;
    writeln!(out)?;

    for ((_, name), changes) in &sections {
        writeln!(
            out,
            "<details><summary>{}: {}</summary>",
            section_summary_title(name),
            summary(changes)
        )?;
        writeln!(out)?;
        writeln!(out, "```diff")?;
        for change in changes {
            // `diff` highlighting colours `+` and `-` lines, and `!` as a
            // change; `~` would stay plain, so updates are marked `!` here.
            let symbol = match change.action() {
                Action::Update => '!',
                other => other.symbol(),
            };
            // The label without its own action symbol (one ASCII character).
            writeln!(out, "{symbol}{}", &change.label()[1..])?;
            for line in super::plan::details(change) {
                writeln!(out, "{}", detail_line(&line))?;
            }
        }
        writeln!(out, "```")?;
        writeln!(out)?;
        writeln!(out, "</details>")?;
        writeln!(out)?;
    }
    writeln!(out, "**Plan:** {total}.")?;
    Ok(())
}

fn summary(changes: &[&Change]) -> Summary {
    let mut s = Summary::default();
    for change in changes {
        match change.action() {
            Action::Create => s.create += 1,
            Action::Update => s.update += 1,
            Action::Delete => s.delete += 1,
        }
    }
    s
}

fn section_title(name: &str) -> String {
    if name == ACCOUNT_WIDE {
        "_account-wide_ (users, keys)".to_owned()
    } else {
        format!("`{name}`")
    }
}

fn section_summary_title(name: &str) -> String {
    if name == ACCOUNT_WIDE {
        "<b>account-wide</b> (users, keys)".to_owned()
    } else {
        format!("<code>{name}</code>")
    }
}

/// A detail line, indented under its change as in the text plan; a line
/// that adds or removes something (`+ ...`, `- ...`) keeps its sign in the
/// first column, where `diff` highlighting looks for it.
fn detail_line(line: &str) -> String {
    match line.split_at_checked(2) {
        Some((sign @ ("+ " | "- "), rest)) => format!("{}     {rest}", sign.trim_end()),
        _ => format!("      {line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::detail_line;

    #[test]
    fn signs_move_to_the_first_column() {
        assert_eq!(detail_line("+ tag a=b"), "+     tag a=b");
        assert_eq!(detail_line("-   \"s3:*\""), "-       \"s3:*\"");
        assert_eq!(detail_line("path: /p/"), "      path: /p/");
        assert_eq!(detail_line("@@ -1 +1 @@"), "      @@ -1 +1 @@");
    }
}
