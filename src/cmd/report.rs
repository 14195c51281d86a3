//! `provision report`: the access report for one client, or the overview
//! of every client, as HTML or markdown on stdout. It reads what `verify`
//! and `audit` read (the account, the managed policy documents, the
//! client buckets' own settings, the credential report) plus, for one
//! client, the access keys of the principals it names; then
//! `report::evidence` builds and `render` prints. Exit 1 when isolation is
//! broken or cannot be proven, as `verify` does.

use std::collections::BTreeMap;
use std::io::{self, Write};

use anyhow::{Context as _, Result, bail};
use aws_sdk_iam::types::StatusType;
use chrono::{DateTime, Utc};

use super::configuration::load;
use super::{Context, ExitStatus};
use crate::aws::Aws;
use crate::cli::{ReportArgs, ReportFormat};
use crate::model::Desired;
use crate::observe::account::guarded_account;
use crate::observe::credential_report::credential_report;
use crate::observe::{Observe, documents, keys};
use crate::render;
use crate::report::audit::{findings, parse_report};
use crate::report::evidence::{self, Inputs, ListedKey, Source};
use crate::report::matrix;
use crate::terminal::Printer;

/// The environment variable that fixes the report's time (seconds since
/// the epoch), as reproducible builds use it: two reports of the same
/// account made with the same value are identical byte for byte.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// `provision report`.
pub async fn run(args: &ReportArgs, ctx: &Context) -> Result<ExitStatus> {
    let Some(desired) = load(ctx.printer, &args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    // Bad input changes nothing and calls nothing: both are checked
    // before the first AWS call.
    let now = match report_time(std::env::var(SOURCE_DATE_EPOCH).ok().as_deref()) {
        Ok(now) => now,
        Err(message) => {
            ctx.printer.error(message);
            return Ok(ExitStatus::Failure);
        }
    };
    if let Some(client) = &args.client
        && !desired.clients.contains_key(client)
    {
        ctx.printer.error(unknown_client(client, &desired));
        return Ok(ExitStatus::Failure);
    }
    let aws = ctx.aws().await;
    let result = report_inner(ctx.printer, args, &aws, &desired, now).await;
    ctx.print_stats(&aws);
    result
}

/// The time the report says it was read at: `SOURCE_DATE_EPOCH` when set,
/// else now.
fn report_time(fixed: Option<&str>) -> Result<DateTime<Utc>, String> {
    let Some(text) = fixed else {
        return Ok(Utc::now());
    };
    text.trim()
        .parse::<i64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or_else(|| {
            format!(
                "`{SOURCE_DATE_EPOCH}` must be a number of seconds since 1970-01-01 UTC, such as `1767225600`, not `{text}`; unset it to use the current time"
            )
        })
}

fn unknown_client(client: &str, desired: &Desired) -> String {
    let known: Vec<String> = desired.clients.keys().map(|c| format!("`{c}`")).collect();
    format!(
        "no client `{client}` in the files given; `--client` takes one of: {}",
        if known.is_empty() {
            "(none)".to_owned()
        } else {
            known.join(", ")
        }
    )
}

async fn report_inner(
    printer: Printer,
    args: &ReportArgs,
    aws: &Aws,
    desired: &Desired,
    now: DateTime<Utc>,
) -> Result<ExitStatus> {
    let account = guarded_account(aws, &desired.settings).await?;
    let observed = aws.observe(&desired.settings.path).await?;
    let arns = matrix::needed_policy_arns(desired, &observed);
    let docs = documents::policy_documents(&aws.iam, &arns).await?;
    // Memberships end on the report's day, as in `verify` and `plan`.
    let matrix = matrix::matrix(desired, &observed, &docs, &account, Some(now.date_naive()));
    // The resource side, read and decided as `verify` does.
    let mut matrix = matrix;
    let side =
        super::verify::read_resource_side(aws, &account, &mut matrix, &observed, &docs).await?;
    let report = parse_report(&credential_report(aws).await?)?;
    let found = findings(
        &report,
        &observed,
        &desired.settings,
        &desired.app_grant_holders(),
        now,
    );
    let inputs = Inputs {
        desired,
        observed: &observed,
        docs: &docs,
        matrix: &matrix,
        side: &side,
        report: &report,
        findings: &found,
        source: Source::new(&account, &desired.settings.path, now),
        now,
    };
    let mut out = io::stdout().lock();
    let (isolated, broken) = match &args.client {
        Some(client) => {
            let mut listed = BTreeMap::new();
            for p in evidence::principals_of(&matrix, &side, client) {
                listed.insert(p.name.clone(), listed_keys(aws, &p.name).await?);
            }
            let e = evidence::client_evidence(&inputs, client, &listed);
            match args.format {
                ReportFormat::Html => render::evidence_html::client(&e, &mut out)?,
                ReportFormat::Markdown => render::evidence_markdown::client(&e, &mut out)?,
            }
            (e.proof.holds(), e.proof.broken())
        }
        None => {
            let o = evidence::overview(&inputs);
            match args.format {
                ReportFormat::Html => render::evidence_html::overview(&o, &mut out)?,
                ReportFormat::Markdown => render::evidence_markdown::overview(&o, &mut out)?,
            }
            (o.isolated(), o.broken())
        }
    };
    out.flush()?;
    if broken {
        printer.error("isolation is broken: a principal, another account or everyone reaches a client it does not belong to (see the report)");
        return Ok(ExitStatus::Failure);
    }
    if !isolated {
        printer.error("isolation cannot be proven: a client bucket's settings could not be read (see the report)");
        return Ok(ExitStatus::Failure);
    }
    Ok(ExitStatus::Success)
}

/// The access keys of `user`, as the report needs them: ids (shortened
/// before printing), status and creation time. No secret is ever listed.
async fn listed_keys(aws: &Aws, user: &str) -> Result<Vec<ListedKey>> {
    let keys = keys::key_metadata(aws, user)
        .await
        .with_context(|| format!("could not read the access keys of `{user}`"))?;
    let mut out = Vec::new();
    for k in keys {
        let Some(id) = k.access_key_id() else {
            bail!("iam:ListAccessKeys returned a key of `{user}` without an id");
        };
        out.push(ListedKey {
            id: id.to_owned(),
            active: k.status() == Some(&StatusType::Active),
            created: k
                .create_date()
                .and_then(|d| DateTime::from_timestamp(d.secs(), 0)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_time_is_fixed_by_source_date_epoch_and_refuses_junk() {
        assert_eq!(
            report_time(Some("1767225600")).unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        let err = report_time(Some("yesterday")).unwrap_err();
        assert!(
            err.contains("`SOURCE_DATE_EPOCH` must be a number of seconds"),
            "{err}"
        );
        assert!(report_time(None).is_ok());
    }
}
