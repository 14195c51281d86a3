//! `provision policy operator|boundary`: print a policy generated from the
//! files alone; no AWS call.

use std::io::{self, Write};

use anyhow::Result;

use super::configuration::load;
use super::{Context, ExitStatus};
use crate::cli::PolicyCommand;
use crate::policy::{boundary, document, operator};

/// `provision policy operator|boundary`.
pub fn run(command: &PolicyCommand, ctx: &Context) -> Result<ExitStatus> {
    let printer = ctx.printer;
    let paths = match command {
        PolicyCommand::Operator { paths } | PolicyCommand::Boundary { paths } => paths,
    };
    let Some(desired) = load(printer, paths) else {
        return Ok(ExitStatus::Failure);
    };
    let doc = match command {
        PolicyCommand::Operator { .. } => {
            if desired.settings.permissions_boundary.is_none() {
                printer.warning(
                    "`settings.permissions_boundary` is not set, so this policy lets the operator create users without a boundary; set it (see `provision policy boundary`) to cap what every created user may do",
                );
            }
            let doc = operator::operator_policy(&desired);
            // It lists every managed bucket: past some hundreds it no
            // longer fits the managed policy the README attaches.
            let size = document::size(&doc);
            if size > document::MANAGED_POLICY_LIMIT {
                printer.warning(format_args!(
                    "this policy is {size} characters, over the {} a managed policy may hold, so IAM will refuse it as one; attach it as a role's inline policy (up to 10,240 characters in total), or let fewer clients set `manage_buckets` or `bucket_policy` (each of their buckets is listed)",
                    document::MANAGED_POLICY_LIMIT
                ));
            }
            doc
        }
        PolicyCommand::Boundary { .. } => {
            let account = operator::account_for_arns(&desired);
            match boundary::boundary_policy(&desired, &account) {
                Ok(doc) => doc,
                Err(e) => {
                    printer.error(e);
                    return Ok(ExitStatus::Failure);
                }
            }
        }
    };
    let mut out = io::stdout().lock();
    writeln!(out, "{}", document::to_pretty(&doc))?;
    out.flush()?;
    Ok(ExitStatus::Success)
}
