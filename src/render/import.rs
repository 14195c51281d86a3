//! `provision import`'s output: the clients files (TOML text, with comments
//! that say where each entry came from) and the report of findings (text
//! or JSON). Everything is a function of the [`Import`] value, so importing
//! the same account twice gives byte-identical files and reports.

use std::io::{self, Write};

use serde_json::json;

use crate::report::import::{Import, ImportedBucket, ImportedClient, Kind};

/// Name of the file holding `[settings]` and every `[[developers]]`, unless
/// a client is named `team`.
const TEAM_FILE: &str = "team.toml";

/// The files to write, as `(file name, text)`, in name order: one for the
/// settings and developers, one per client.
pub fn files(import: &Import) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = import
        .clients
        .iter()
        .map(|c| (format!("{}.toml", c.name), client_file(c)))
        .collect();
    let team = if out.iter().any(|(name, _)| name == TEAM_FILE) {
        "team-settings.toml".to_owned()
    } else {
        TEAM_FILE.to_owned()
    };
    out.push((team, team_file(import)));
    out.sort();
    out
}

/// A TOML basic string. JSON's escapes are a subset of TOML's, so a JSON
/// string literal is a valid TOML one.
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// Comment text on one line: control characters (a newline would end the
/// comment) become spaces.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn team_file(import: &Import) -> String {
    let s = &import.settings;
    let mut out = String::new();
    out.push_str(&format!(
        "# Settings and developers read by `provision import` from account `{}`.\n",
        comment(&s.account_id)
    ));
    out.push_str("# Review the findings of the import report before the first apply.\n\n");
    out.push_str("[settings]\n");
    out.push_str(&format!("account_id = {}\n", quote(&s.account_id)));
    out.push_str(&format!("path = {}\n", quote(&s.path)));
    if let Some(boundary) = &s.permissions_boundary {
        out.push_str(&format!("permissions_boundary = {}\n", quote(boundary)));
    }
    for dev in &import.developers {
        out.push_str(&format!("\n# From {}.\n", comment(&dev.origin)));
        out.push_str("[[developers]]\n");
        out.push_str(&format!("name = {}\n", quote(&dev.name)));
        if let Some(email) = &dev.email {
            out.push_str(&format!("email = {}\n", quote(email)));
        }
        if dev.disabled {
            out.push_str("disabled = true\n");
        }
    }
    out
}

/// A list of buckets or prefixes, one per line with its origin.
fn bucket_list(key: &str, items: &[ImportedBucket], out: &mut String) {
    if items.is_empty() {
        return;
    }
    out.push_str(&format!("{key} = [\n"));
    for item in items {
        out.push_str(&format!(
            "    {},  # {}\n",
            quote(&item.name),
            comment(&item.origin)
        ));
    }
    out.push_str("]\n");
}

fn client_file(c: &ImportedClient) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Client `{}`, read by `provision import` from {}.\n\n",
        comment(&c.name),
        comment(&c.origin)
    ));
    out.push_str("[[clients]]\n");
    out.push_str(&format!("name = {}\n", quote(&c.name)));
    bucket_list("buckets", &c.buckets, &mut out);
    bucket_list("bucket_prefixes", &c.bucket_prefixes, &mut out);
    if let Some(note) = &c.access_note {
        out.push_str(&format!(
            "# The group granted {}; check this level.\n",
            comment(note)
        ));
    }
    out.push_str(&format!("access = {}\n", quote(c.access.as_str())));
    let developers: Vec<String> = c.developers.iter().map(|d| quote(d)).collect();
    out.push_str(&format!("developers = [{}]\n", developers.join(", ")));
    out.push_str(&format!(
        "app_user = {}\n",
        quote(c.app_user.as_deref().unwrap_or(""))
    ));
    let ids = |list: &[String]| list.iter().map(|d| quote(d)).collect::<Vec<_>>().join(", ");
    if !c.distributions.is_empty() {
        out.push_str("\n[clients.cloudfront]\n");
        out.push_str(&format!("distributions = [{}]\n", ids(&c.distributions)));
    }
    // Suggestions stay comments: the group granted CloudFront on `*`, and
    // only a person who knows the distributions may turn that into ids.
    if !c.suggested_distributions.is_empty() {
        let all: Vec<String> = c
            .distributions
            .iter()
            .chain(&c.suggested_distributions)
            .cloned()
            .collect();
        if c.distributions.is_empty() {
            out.push('\n');
        }
        out.push_str("# The group granted CloudFront on every distribution (`*`). These serve\n");
        out.push_str("# only this client's buckets (see the import report); to grant them,\n");
        out.push_str("# once checked:\n");
        if c.distributions.is_empty() {
            out.push_str("# [clients.cloudfront]\n");
        }
        out.push_str(&format!("# distributions = [{}]\n", ids(&all)));
    }
    out
}

/// The kind's spelling in reports, as in the JSON.
fn kind_name(kind: Kind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The report for people: what was imported, then every finding.
pub fn text(import: &Import, files: &[String], out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "Imported {} client(s) and {} developer(s) from account `{}`:",
        import.clients.len(),
        import.developers.len(),
        import.settings.account_id
    )?;
    for file in files {
        writeln!(out, "  {file}")?;
    }
    if import.findings.is_empty() {
        writeln!(out, "No findings.")?;
        return Ok(());
    }
    writeln!(out, "\nFindings ({}):", import.findings.len())?;
    for finding in &import.findings {
        writeln!(out, "  {}: {}", kind_name(finding.kind), finding.detail)?;
    }
    Ok(())
}

/// The report as one JSON object: `format_version`, `account_id`, `files`,
/// `clients`, `developers` and `findings` (`kind`, `subject`, `detail`,
/// `resources`).
pub fn json(import: &Import, files: &[String], out: &mut impl Write) -> io::Result<()> {
    let value = json!({
        "format_version": 1,
        "account_id": import.settings.account_id,
        "files": files,
        "settings": import.settings,
        "clients": import.clients,
        "developers": import.developers,
        "findings": import.findings,
    });
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::import::tests::{run, seed};

    /// The files and both reports for the seed recipe's account, byte for
    /// byte: what a reviewer reads, and what must not change from one
    /// import to the next.
    #[test]
    fn the_seed_recipe_renders_as_recorded() {
        let import = run(&seed());
        let files = files(&import);
        let mut all = String::new();
        for (name, text) in &files {
            all.push_str(&format!("==> {name} <==\n{text}\n"));
        }
        insta::assert_snapshot!("import_files", all);
        let names: Vec<String> = files.iter().map(|(n, _)| format!("clients/{n}")).collect();
        let mut report = Vec::new();
        text(&import, &names, &mut report).unwrap();
        insta::assert_snapshot!("import_report", String::from_utf8(report).unwrap());
        let mut report = Vec::new();
        json(&import, &names, &mut report).unwrap();
        insta::assert_snapshot!("import_report_json", String::from_utf8(report).unwrap());
    }

    /// Every file `files` writes is one `validate` accepts, as a directory.
    #[test]
    fn the_seed_recipes_files_validate() {
        let sources = files(&run(&seed()))
            .into_iter()
            .map(|(name, text)| {
                (
                    std::path::PathBuf::from("clients").join(name),
                    text.into_bytes(),
                )
            })
            .collect();
        let desired = crate::config::load_sources(sources, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(desired.clients.len(), 2);
    }
}
