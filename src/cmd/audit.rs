//! `provision audit`: keys, passwords and strays that need a person, from
//! the credential report and one read of the account.

use std::io::{self, Write};

use anyhow::Result;

use super::configuration::load;
use super::{Context, ExitStatus};
use crate::cli::{AuditArgs, VerifyFormat};
use crate::observe::Observe;
use crate::observe::account::guarded_account;
use crate::observe::credential_report::credential_report;
use crate::render;
use crate::report::audit::{findings, parse_report, role_findings};

/// `provision audit`.
pub async fn run(args: &AuditArgs, ctx: &Context) -> Result<ExitStatus> {
    let Some(desired) = load(ctx.printer, &args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let aws = ctx.aws().await;
    let result = async {
        // The account guard, as for plan: read no other account.
        let account = guarded_account(&aws, &desired.settings).await?;
        let observed = aws.observe(&desired.settings.path).await?;
        let report = parse_report(&credential_report(&aws).await?)?;
        let mut found = findings(
            &report,
            &observed,
            &desired.settings,
            &desired.app_grant_holders(),
            chrono::Utc::now(),
        );
        found.extend(role_findings(&desired, &observed, &account));
        found.sort_by(|a, b| (&a.user, a.check).cmp(&(&b.user, b.check)));
        anyhow::Ok(found)
    }
    .await;
    ctx.print_stats(&aws);
    let found = result?;
    let mut out = io::stdout().lock();
    match args.format {
        VerifyFormat::Json => render::audit::json(&found, &mut out)?,
        VerifyFormat::Text => render::audit::text(&found, &mut out)?,
    }
    out.flush()?;
    Ok(if found.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
