//! The commands: each loads, observes, plans and acts by calling the modules
//! that do one job each, and turns the outcome into an exit status.

use std::collections::BTreeSet;
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
    let account = desired
        .settings
        .account_id
        .clone()
        .unwrap_or_else(|| OFFLINE_ACCOUNT.to_owned());
    let errors = offline_checks(&desired, &account);
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

/// Read the account and plan against it.
async fn make_plan(aws: &Aws, desired: &Desired) -> Result<Option<Plan>> {
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
    if !observed.quotas.from_account {
        eprintln!(
            "warning: could not read the account's IAM quotas (iam:GetAccountSummary was denied); checking against AWS's defaults"
        );
    }
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

    if report.succeeded() {
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

/// `provision verify`.
pub async fn verify(
    args: &crate::cli::VerifyArgs,
    connect: &ConnectOptions,
    stats: bool,
) -> Result<ExitStatus> {
    let Some(desired) = load(&args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let aws = aws::connect(connect).await;
    let result = verify_inner(args, &aws, &desired).await;
    print_stats(&aws, stats);
    result
}

async fn verify_inner(
    args: &crate::cli::VerifyArgs,
    aws: &Aws,
    desired: &Desired,
) -> Result<ExitStatus> {
    use crate::verify;
    let account = aws.account_id().await?;
    if let Some(expected) = &desired.settings.account_id
        && *expected != account
    {
        bail!(
            "the credentials belong to account `{account}`, but the configuration is for account `{expected}` (settings.account_id); use credentials for `{expected}` or fix the setting"
        );
    }
    let observed = aws.observe(&desired.settings.path).await?;
    let arns = verify::needed_policy_arns(desired, &observed);
    let docs = crate::observe::policy_documents(&aws.iam, &arns).await?;
    let matrix = verify::matrix(desired, &observed, &docs, &account);
    let mismatches = if args.simulate {
        Some(simulate(aws, &observed, &matrix).await?)
    } else {
        None
    };
    let mut out = io::stdout().lock();
    match args.format {
        crate::cli::VerifyFormat::Text => verify::text(&matrix, &mut out)?,
        crate::cli::VerifyFormat::Json => verify::json(&matrix, &mut out)?,
    }
    out.flush()?;
    if let Some(mismatches) = &mismatches {
        for m in mismatches {
            eprintln!(
                "error: the evaluator and iam:SimulatePrincipalPolicy disagree for `{}`: `{}` on `{}` is {} here and {} by the simulator",
                m.principal,
                m.action,
                m.resource_arn,
                if m.ours { "allowed" } else { "denied" },
                if m.simulated { "allowed" } else { "denied" }
            );
        }
        if mismatches.is_empty() {
            eprintln!("iam:SimulatePrincipalPolicy agrees with every answer.");
        }
    }
    let agreed = mismatches.as_ref().is_none_or(Vec::is_empty);
    Ok(if matrix.isolated() && agreed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// Asks `iam:SimulatePrincipalPolicy` about every probed pair, one call per
/// principal, and returns where it disagrees with the evaluator.
async fn simulate(
    aws: &Aws,
    observed: &crate::model::Observed,
    matrix: &crate::verify::Matrix,
) -> Result<Vec<crate::verify::Mismatch>> {
    use crate::verify;
    let requests = verify::probe_requests(matrix);
    let actions: BTreeSet<&str> = requests.iter().map(|(a, _)| *a).collect();
    let arns: BTreeSet<&str> = requests.iter().map(|(_, r)| r.as_str()).collect();
    let mut mismatches = Vec::new();
    for principal in &matrix.principals {
        let Some(user) = observed.users.get(&principal.name) else {
            continue;
        };
        let mut call = aws
            .iam
            .simulate_principal_policy()
            .policy_source_arn(&user.arn);
        for a in &actions {
            call = call.action_names(*a);
        }
        for r in &arns {
            call = call.resource_arns(*r);
        }
        let mut pages = call.into_paginator().send();
        let mut simulated: BTreeSet<(String, String)> = BTreeSet::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                anyhow::anyhow!(
                    "`--simulate` needs iam:SimulatePrincipalPolicy, which failed for `{}`: {}; this account or endpoint may not support it (or the credentials may not call it): run `provision verify` without `--simulate`",
                    principal.name,
                    aws::describe(&e)
                )
            })?;
            for result in page.evaluation_results() {
                for r in result.resource_specific_results() {
                    if r.eval_resource_decision().as_str() == "allowed" {
                        simulated.insert((
                            result.eval_action_name().to_owned(),
                            r.eval_resource_name().to_owned(),
                        ));
                    }
                }
                if result.resource_specific_results().is_empty()
                    && result.eval_decision().as_str() == "allowed"
                    && let Some(name) = result.eval_resource_name()
                {
                    simulated.insert((result.eval_action_name().to_owned(), name.to_owned()));
                }
            }
        }
        for (action, arn) in &requests {
            let ours = verify::allows(matrix, &principal.name, action, arn);
            let theirs = simulated.contains(&((*action).to_owned(), arn.clone()));
            if ours != theirs {
                mismatches.push(verify::Mismatch {
                    principal: principal.name.clone(),
                    action: (*action).to_owned(),
                    resource_arn: arn.clone(),
                    ours,
                    simulated: theirs,
                });
            }
        }
    }
    Ok(mismatches)
}
