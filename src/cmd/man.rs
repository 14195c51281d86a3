//! `provision man`: the manual pages, generated from the same clap
//! definition as `--help`, so the two never disagree. `provision.1` also
//! carries what `--help` cannot: the file format, exit codes and examples.

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context as _, Result};

use super::ExitStatus;
use crate::cli::Cli;
use crate::terminal::Printer;

/// What the main page says after the generated sections, in roff.
const EXTRA: &str = r#".SH "FILE FORMAT"
A configuration is a \fB.toml\fR file or a directory of them (not recursive); a file given alone is read with the other files of its directory as context. Each file may hold:
.TP
\fB[settings]\fR
\fBaccount_id\fR (the only account provision touches), \fBpath\fR (the managed IAM path, never \fB/\fR), \fBpermissions_boundary\fR (an ARN), \fBmax_key_age_days\fR.
.TP
\fB[[developers]]\fR
\fBname\fR (the IAM user name), \fBemail\fR, \fBexpires\fR (a date written \fB2027\-03\-31\fR, without quotes), \fBdisabled\fR.
.TP
\fB[[clients]]\fR
\fBname\fR, \fBbuckets\fR and/or \fBbucket_prefixes\fR, \fBaccess\fR (\fBread\-only\fR, \fBread\-write\fR or \fBfull\fR), \fBdevelopers\fR (names, or \fB{ name = "bob", expires = 2027\-01\-31 }\fR), \fBapp_user\fR, \fBbucket_access\fR (developers' level per bucket), \fB[[clients.apps]]\fR (instead of \fBapp_user\fR: \fBname\fR, \fBbuckets\fR, \fBaccess\fR, \fBpermissions_boundary\fR), \fB[clients.cloudfront]\fR with \fBdistributions\fR.
.PP
\fBprovision schema\fR prints the JSON Schema of the format.
.SH "EXIT STATUS"
.TP
\fB0\fR
Success, or a plan with no changes.
.TP
\fB1\fR
An error: invalid files (every problem is reported, and no AWS call is made), an AWS failure, a refused confirmation, a stale saved plan, an isolation leak found by \fBverify\fR, findings of \fBaudit\fR.
.TP
\fB2\fR
\fBplan \-\-detailed\-exitcode\fR: there are changes.
.SH EXAMPLES
.nf
provision validate
provision plan clients/
provision apply clients/ \-\-credentials\-dir ./credentials
provision onboard carol \-\-client acme \-\-email carol@example.com
provision offboard bob clients/ \-\-apply
provision plan clients/ \-\-format markdown \-\-out plan.json > plan.md
provision apply plan.json
provision man \-\-out ~/.local/share/man/man1
.fi
.SH "SEE ALSO"
The README of the project, "Guarantees" and "Commands".
"#;

/// Every page: `(file name, roff)`, the main page first. A subcommand's
/// page is `provision-<command>.1` (`provision-policy-operator.1` for a
/// nested one), the names the main page refers to.
pub fn pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut command = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    let mut main = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut main)?;
    main.extend_from_slice(EXTRA.as_bytes());
    pages.push(("provision.1".to_owned(), main));
    fn add(command: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> io::Result<()> {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            let man = clap_mangen::Man::new(sub.clone());
            let mut page = Vec::new();
            man.render(&mut page)?;
            pages.push((man.get_filename(), page));
            add(sub, pages)?;
        }
        Ok(())
    }
    add(&command, &mut pages)?;
    Ok(pages)
}

/// `provision man`: the main page on stdout, or every page into `out`.
pub fn run(out: Option<&Path>, printer: Printer) -> Result<ExitStatus> {
    let pages = pages()?;
    let Some(dir) = out else {
        let mut stdout = io::stdout().lock();
        stdout.write_all(&pages[0].1)?;
        stdout.flush()?;
        return Ok(ExitStatus::Success);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    for (name, page) in &pages {
        let path = dir.join(name);
        std::fs::write(&path, page)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    printer.status(format_args!(
        "Wrote {} manual pages to `{}`; read them with `man provision` once that directory is in MANPATH.",
        pages.len(),
        dir.display()
    ));
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::pages;

    /// `provision.1` used to refer to `provision-plan(1)` and others that
    /// did not exist. Every page any page refers to must be generated.
    #[test]
    fn every_page_referred_to_exists() {
        let pages = pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        let refer = regex::Regex::new(r"(provision(?:\\?-[a-z]+)*)\\?\((\d)\)").unwrap();
        let mut referred = 0;
        for (name, page) in &pages {
            let text = String::from_utf8_lossy(page);
            for found in refer.captures_iter(&text) {
                let target = format!("{}.{}", found[1].replace("\\-", "-"), &found[2]);
                assert!(
                    names.contains(&target.as_str()),
                    "{name} refers to {target}, which is not generated; pages: {names:?}"
                );
                referred += 1;
            }
        }
        assert!(referred > 10, "the main page lists the subcommands' pages");
        for expected in [
            "provision-plan.1",
            "provision-policy-operator.1",
            "provision-man.1",
        ] {
            assert!(names.contains(&expected), "{names:?}");
        }
        let main = String::from_utf8_lossy(&pages[0].1);
        for section in ["FILE FORMAT", "EXIT STATUS", "EXAMPLES"] {
            assert!(main.contains(section), "provision.1 lacks {section}");
        }
    }
}
