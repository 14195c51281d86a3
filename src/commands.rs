//! The commands: each loads, observes, plans and acts by calling the modules
//! that do one job each, and turns the outcome into an exit status.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::apply::{self, Event, KeySink};
use crate::aws::{self, Aws, ConnectOptions};
use crate::cli::{ApplyArgs, Format, PlanArgs};
use crate::config;
use crate::exit::ExitStatus;
use crate::model::Desired;
use crate::observe::Observe;
use crate::plan::{self, Plan};
use crate::render;

/// Account id used for CloudFront ARNs when checking offline: any 12 digits
/// give a policy of the same size.
const OFFLINE_ACCOUNT: &str = "000000000000";

fn color_stderr() -> bool {
    io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Load and validate the files, printing every problem; `None` when the
/// files are invalid (the caller exits 1 without any AWS call).
fn load(paths: &[PathBuf]) -> Option<Desired> {
    match config::load_with_warnings(paths) {
        Ok((desired, warnings)) => {
            if !warnings.is_empty() {
                eprint!("{}", warnings.render(color_stderr()));
            }
            Some(desired)
        }
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render(color_stderr()));
            None
        }
    }
}

/// Quota and policy-size checks that need no account.
fn offline_checks(desired: &Desired, account_id: &str) -> Vec<plan::PlanError> {
    plan::check_quotas(desired, account_id)
}

fn print_plan_errors(errors: &[plan::PlanError]) {
    for e in errors {
        eprintln!("error: {e}");
    }
}

/// `provision validate`.
pub fn validate(paths: &[PathBuf]) -> Result<ExitStatus> {
    let Some(desired) = load(paths) else {
        return Ok(ExitStatus::Failure);
    };
    let errors = offline_checks(&desired, &offline_account(&desired));
    if !errors.is_empty() {
        print_plan_errors(&errors);
        return Ok(ExitStatus::Failure);
    }
    println!(
        "Configuration is valid: {} client(s), {} developer(s).",
        desired.clients.len(),
        desired.developers.len()
    );
    Ok(ExitStatus::Success)
}

/// The account id to check with before any AWS call: the configured one,
/// else a placeholder of the same length.
fn offline_account(desired: &Desired) -> String {
    desired
        .settings
        .account_id
        .clone()
        .unwrap_or_else(|| OFFLINE_ACCOUNT.to_owned())
}

/// Read the account and plan against it.
async fn make_plan(aws: &Aws, desired: &Desired) -> Result<Option<Plan>> {
    // Checked before the first call too: a file over a quota is bad input,
    // refused with no AWS call, exactly as `validate` refuses it.
    let errors = offline_checks(desired, &offline_account(desired));
    if !errors.is_empty() {
        print_plan_errors(&errors);
        return Ok(None);
    }
    let account = aws.account_id().await?;
    if let Some(expected) = &desired.settings.account_id
        && *expected != account
    {
        bail!(
            "the credentials belong to account `{account}`, but the configuration is for account `{expected}` (settings.account_id); use credentials for `{expected}` or fix the setting"
        );
    }
    let errors = offline_checks(desired, &account);
    if !errors.is_empty() {
        print_plan_errors(&errors);
        return Ok(None);
    }
    let observed = aws.observe(&desired.settings.path).await?;
    match plan::plan(desired, &observed, &account) {
        Ok(plan) => Ok(Some(plan)),
        Err(errors) => {
            print_plan_errors(&errors);
            Ok(None)
        }
    }
}

/// `provision plan`.
pub async fn plan(args: &PlanArgs, connect: &ConnectOptions, stats: bool) -> Result<ExitStatus> {
    let Some(desired) = load(&args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let aws = aws::connect(connect).await;
    let result = make_plan(&aws, &desired).await;
    print_stats(&aws, stats);
    let Some(plan) = result? else {
        return Ok(ExitStatus::Failure);
    };
    let mut out = io::stdout().lock();
    match args.format {
        Format::Text => render::text(&plan, &mut out)?,
        Format::Json => render::json(&plan, &mut out)?,
    }
    out.flush()?;
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

fn print_stats(aws: &Aws, stats: bool) {
    if stats {
        let counts = aws.calls.snapshot();
        eprintln!(
            "api-calls: {}",
            serde_json::json!({"total": aws.calls.total(), "by_operation": counts})
        );
    }
}

/// Ask on the terminal; refuse when there is none, never wait for input
/// that cannot come.
fn confirm() -> Result<bool> {
    if !io::stdin().is_terminal() {
        bail!(
            "refusing to apply without confirmation: standard input is not a terminal; review the plan above and pass `--yes` to apply it"
        );
    }
    eprint!("Apply these changes? Only `yes` is accepted: ");
    io::stderr().flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// `provision apply`.
pub async fn apply(args: &ApplyArgs, connect: &ConnectOptions, stats: bool) -> Result<ExitStatus> {
    let Some(desired) = load(&args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let aws = aws::connect(connect).await;
    let status = apply_inner(args, &aws, &desired).await;
    print_stats(&aws, stats);
    status
}

async fn apply_inner(args: &ApplyArgs, aws: &Aws, desired: &Desired) -> Result<ExitStatus> {
    let Some(plan) = make_plan(aws, desired).await? else {
        return Ok(ExitStatus::Failure);
    };
    {
        let mut out = io::stdout().lock();
        render::text(&plan, &mut out)?;
        out.flush()?;
    }
    if plan.is_empty() {
        return Ok(ExitStatus::Success);
    }
    if !args.yes && !confirm()? {
        eprintln!("Apply cancelled; nothing was changed.");
        return Ok(ExitStatus::Failure);
    }

    let keys = KeySink::new(args.credentials_dir.clone());
    let total = plan.changes.len();
    let mut done = 0usize;
    let report =
        apply::execute(
            aws,
            &plan,
            usize::from(args.concurrency),
            &keys,
            |event| match event {
                Event::Done(change) => {
                    done += 1;
                    eprintln!(
                        "[{done}/{total}] {} {} {}: done",
                        change.action().symbol(),
                        change.kind().as_str(),
                        change.name()
                    );
                }
                Event::Failed(change, err) => eprintln!(
                    "[{done}/{total}] {} {} {}: FAILED: {err}",
                    change.action().symbol(),
                    change.kind().as_str(),
                    change.name()
                ),
            },
        )
        .await;

    // Secrets are shown once, at the very end, whatever else happened: a
    // key created before a failure must still reach its owner.
    let held = keys.take_held();
    let mut out = io::stdout().lock();
    if !held.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "New access keys. The secrets are shown this once; store them now:"
        )?;
        for key in &held {
            writeln!(
                out,
                "  {}  AccessKeyId={}  SecretAccessKey={}",
                key.user,
                key.access_key_id,
                key.secret_access_key.expose()
            )?;
        }
    }
    for path in keys.written() {
        writeln!(out, "Wrote credentials to {}", path.display())?;
    }
    out.flush()?;
    drop(out);

    // Printed secrets are delivered: only now record their keys, so that a
    // kill before the printing leaves them unrecorded and the next apply
    // replaces them, instead of keeping keys whose secret nobody saw.
    let mut unrecorded = Vec::new();
    for key in &held {
        if let Err(err) = apply::record_key(aws, &key.user, &key.access_key_id).await {
            unrecorded.push((key, err));
        }
    }
    for (key, err) in &unrecorded {
        eprintln!(
            "error: could not record the key of `{}` ({err}); the next apply will replace it with a new one",
            key.user
        );
    }

    if report.succeeded() && unrecorded.is_empty() {
        eprintln!("Apply complete: {} change(s) made.", report.done.len());
        Ok(ExitStatus::Success)
    } else {
        eprintln!();
        eprintln!(
            "Apply failed: {} of {total} change(s) made, {} failed, {} not attempted.",
            report.done.len(),
            report.failed.len(),
            report.skipped.len()
        );
        for (change, err) in &report.failed {
            eprintln!(
                "  failed: {} {} {}: {err}",
                change.action().symbol(),
                change.kind().as_str(),
                change.name()
            );
        }
        for change in &report.skipped {
            eprintln!(
                "  not attempted: {} {} {}",
                change.action().symbol(),
                change.kind().as_str(),
                change.name()
            );
        }
        eprintln!("Run `provision apply` again to finish: it plans from the account as it is now.");
        Ok(ExitStatus::Failure)
    }
}
