//! Printing `audit`'s findings: one line each for people, JSON with a
//! count per check for programs.

use std::io::{self, Write};

use crate::report::audit::Finding;

/// Version of the JSON output; bumped on incompatible changes.
pub const JSON_FORMAT_VERSION: &str = "1";

/// Write findings for people.
pub fn text(findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    if findings.is_empty() {
        return writeln!(
            out,
            "No findings. Keys, passwords and memberships look right."
        );
    }
    for f in findings {
        writeln!(out, "{}: {}", f.check_name(), f.detail)?;
    }
    writeln!(out)?;
    writeln!(out, "Audit: {} finding(s) need action.", findings.len())
}

/// Write findings as a JSON object: `format_version`, `findings`
/// (`user`, `check`, `detail`) and `summary` with a count per check.
pub fn json(findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    let mut summary = std::collections::BTreeMap::new();
    for f in findings {
        *summary.entry(f.check_name()).or_insert(0usize) += 1;
    }
    let doc = serde_json::json!({
        "format_version": JSON_FORMAT_VERSION,
        "findings": findings,
        "summary": summary,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
