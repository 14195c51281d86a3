//! `provision validate`: the files checked offline, with no AWS call.

use std::path::PathBuf;

use anyhow::Result;

use super::configuration::load;
use super::plan::{offline_account, offline_checks, print_plan_errors};
use super::{Context, ExitStatus};

/// `provision validate`.
pub fn run(paths: &[PathBuf], ctx: &Context) -> Result<ExitStatus> {
    let Some(desired) = load(ctx.printer, paths) else {
        return Ok(ExitStatus::Failure);
    };
    // The dates as `plan` will read them today: an `expires` already past
    // is not an error (the file may be ahead of the account), but it means
    // the next apply revokes access, which the author should know now.
    let today = chrono::Local::now().date_naive();
    let (_, lifecycle) = crate::plan::expiry::apply_lifecycle(&desired, today);
    for warning in lifecycle {
        ctx.printer.warning(warning);
    }
    let errors = offline_checks(&desired, &offline_account(&desired));
    if !errors.is_empty() {
        print_plan_errors(ctx.printer, &errors);
        return Ok(ExitStatus::Failure);
    }
    println!(
        "Configuration is valid: {} client(s), {} developer(s).",
        desired.clients.len(),
        desired.developers.len()
    );
    Ok(ExitStatus::Success)
}
