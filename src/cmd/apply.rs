//! `provision apply`: plan, show, confirm, then carry out the plan under
//! the apply lock, or apply a saved plan exactly as it was reviewed.

use std::collections::BTreeSet;
use std::io::{self, BufRead, IsTerminal};

use anyhow::{Result, bail};

use super::configuration::load;
use super::plan::{make_plan, observe_for, plan_observed, show};
use super::secrets::{Asked, deliver_held, key_sink, new_key_users, print_written};
use super::{Context, ExitStatus, locked};
use crate::apply::{self, Event, KeySink};
use crate::aws::Aws;
use crate::cli::ApplyArgs;
use crate::model::Desired;
use crate::observe::Observe;
use crate::plan::saved::{self, InEffect, SavedPlan, SavedPlanError};
use crate::plan::{Change, Plan};
use crate::render::progress::{CallSummary, summary_line};
use crate::terminal::{Printer, Progress};

/// `provision apply`.
pub async fn run(args: &ApplyArgs, ctx: &Context) -> Result<ExitStatus> {
    if args.paths.iter().any(|p| saved::is_plan_file(p)) {
        return apply_saved(args, ctx).await;
    }
    let Some(desired) = load(ctx.printer, &args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let aws = ctx.aws().await;
    let status = apply_inner(ctx.printer, args, &aws, &desired).await;
    ctx.print_stats(&aws);
    status
}

/// The deliveries `args` name.
fn asked(args: &ApplyArgs) -> Asked<'_> {
    Asked {
        credentials_dir: args.credentials_dir.as_deref(),
        print_secrets: args.print_secrets,
        deliver: args.deliver.as_ref(),
    }
}

/// Ask on the terminal; refuse when there is none, never wait for input
/// that cannot come.
fn confirm(printer: Printer) -> Result<bool> {
    if !io::stdin().is_terminal() {
        bail!(
            "refusing to apply without confirmation: standard input is not a terminal; review the plan above and pass `--yes` to apply it"
        );
    }
    printer.prompt("Apply these changes? Only `yes` is accepted: ");
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

async fn apply_inner(
    printer: Printer,
    args: &ApplyArgs,
    aws: &Aws,
    desired: &Desired,
) -> Result<ExitStatus> {
    let adopt: BTreeSet<String> = args.adopt.iter().cloned().collect();
    let Some(plan) = make_plan(printer, aws, desired, args.remove_boundaries, &adopt).await? else {
        return Ok(ExitStatus::Failure);
    };
    show(printer, &plan)?;
    if plan.is_empty() {
        return Ok(ExitStatus::Success);
    }
    let keys = key_sink(
        "apply",
        aws,
        &desired.settings,
        asked(args),
        &new_key_users(&plan),
    )?;
    if !args.yes && !confirm(printer)? {
        printer.line("Apply cancelled; nothing was changed.");
        return Ok(ExitStatus::Failure);
    }
    execute_locked(printer, args, aws, desired, &plan, keys).await
}

/// Carry out `plan` holding the apply lock (SPEC, guarantee 11). The plan
/// shown was made without it, so that a no-op apply writes nothing; under
/// the lock the account is read and planned again, and the changes are
/// made only if they are still exactly the ones shown, since another run
/// may have changed the account in between.
async fn execute_locked(
    printer: Printer,
    args: &ApplyArgs,
    aws: &Aws,
    desired: &Desired,
    plan: &Plan,
    keys: KeySink,
) -> Result<ExitStatus> {
    let command = apply::lock::command_line("apply", &args.paths);
    locked::run(printer, aws, &desired.settings.path, &command, async {
        let adopt: BTreeSet<String> = args.adopt.iter().cloned().collect();
        let Some(fresh) =
            make_plan(printer, aws, desired, args.remove_boundaries, &adopt).await?
        else {
            bail!(
                "the configuration no longer plans cleanly against the account (see above); nothing was applied"
            );
        };
        if Change::all_same_effect(&fresh.changes, &plan.changes) {
            return execute(printer, args, aws, plan, keys).await;
        }
        if fresh.is_empty() {
            printer.status(
                "No changes: another run made these changes since the plan above was made; the account matches the configuration.",
            );
            return Ok(ExitStatus::Success);
        }
        bail!(
            "the account changed since the plan above was made (another provision run, or a hand edit); nothing was applied; run `provision apply` again and review the new plan"
        )
    })
    .await
}

/// `provision apply PLANFILE`: apply exactly the reviewed changes, after
/// checking that neither the configuration nor the account changed since.
async fn apply_saved(args: &ApplyArgs, ctx: &Context) -> Result<ExitStatus> {
    let [path] = args.paths.as_slice() else {
        bail!(
            "a saved plan is applied on its own: give `provision apply PLANFILE` alone, without other PATHs"
        );
    };
    if !args.adopt.is_empty() {
        bail!(
            "a saved plan carries the names it adopts; give `provision apply PLANFILE` without `--adopt` (plan again with `--adopt` to change them)"
        );
    }
    let saved = SavedPlan::read(path)?;
    // The configuration is checked before any AWS call: a plan made from
    // other files than the ones now checked in is refused offline.
    let Some(desired) = load(ctx.printer, &saved.paths) else {
        bail!(
            "the configuration the plan was made from no longer loads (see above); run `provision plan` again"
        );
    };
    saved.check_configuration(&desired)?;
    let aws = ctx.aws().await;
    let status = apply_saved_inner(ctx.printer, args, &aws, &desired, &saved).await;
    ctx.print_stats(&aws);
    status
}

async fn apply_saved_inner(
    printer: Printer,
    args: &ApplyArgs,
    aws: &Aws,
    desired: &Desired,
    saved: &SavedPlan,
) -> Result<ExitStatus> {
    let account = aws.account_id().await?;
    saved.check_account(&account)?;
    // Checked first without the apply lock, so that a stale plan is
    // refused, and an empty or already applied one ends, without any write
    // call.
    let plan = match check_saved(printer, args, aws, desired, saved, account.clone()).await? {
        Checked::Apply(plan) => plan,
        Checked::AlreadyApplied => {
            printer.status(ALREADY_APPLIED);
            return Ok(ExitStatus::Success);
        }
    };
    show(printer, &plan)?;
    if plan.is_empty() {
        return Ok(ExitStatus::Success);
    }
    let keys = key_sink(
        "apply",
        aws,
        &desired.settings,
        asked(args),
        &new_key_users(&plan),
    )?;
    // No confirmation: the plan was reviewed when it was saved, and it is
    // applied only if nothing it depends on changed (as `terraform apply
    // PLANFILE` does). Checked again under the apply lock, since another
    // run may have changed the account meanwhile (SPEC, guarantee 11).
    let command = apply::lock::command_line("apply", &args.paths);
    locked::run(printer, aws, &desired.settings.path, &command, async {
        match check_saved(printer, args, aws, desired, saved, account).await? {
            Checked::Apply(_) => execute(printer, args, aws, &plan, keys).await,
            // Another run applied it between the check above and the lock.
            Checked::AlreadyApplied => {
                printer.status(ALREADY_APPLIED);
                Ok(ExitStatus::Success)
            }
        }
    })
    .await
}

/// What `apply PLANFILE` says when the account already is what the plan
/// would make. No record of when it was applied is kept, so no time is
/// given.
const ALREADY_APPLIED: &str =
    "This plan was already applied: every change in it is in effect in the account; nothing to do.";

/// What checking a saved plan against the account found.
enum Checked {
    /// The changes to make: the saved ones, with what a deleted user holds
    /// as read now.
    Apply(Plan),
    /// Every change of the plan is in effect already.
    AlreadyApplied,
}

/// Every check of a saved plan against the account as it is now; its
/// changes when they all pass.
///
/// A plan whose fingerprints no longer match is judged by planning again
/// before it is refused: when nothing is left to do the plan was applied
/// already (said so, exit 0); when what is left is some of its changes, an
/// apply stopped half-way; otherwise the refusal names what changed.
async fn check_saved(
    printer: Printer,
    args: &ApplyArgs,
    aws: &Aws,
    desired: &Desired,
    saved: &SavedPlan,
    account: String,
) -> Result<Checked> {
    let adopt: BTreeSet<String> = saved.adopt.iter().cloned().collect();
    let observed = observe_for(aws, desired, &adopt, &account).await?;
    let stale = saved.check_observed(&observed).err();
    let plan = saved.plan();
    // The fingerprints cover the entities each change touches. Planning
    // again from the same configuration and account also covers what they
    // cannot: other clients' live policies (isolation), quotas, expiry dates
    // that have passed since, the permissions boundary. The reviewed changes
    // are applied only if they are still exactly what provision would do.
    let removes_boundaries = plan
        .changes
        .iter()
        .any(|c| matches!(c, Change::RemoveUserBoundary { .. }));
    let Some((fresh, _, _)) = plan_observed(
        printer,
        aws,
        desired,
        observed,
        account,
        args.remove_boundaries || removes_boundaries,
        &adopt,
    )
    .await?
    else {
        if let Some(stale) = stale {
            return Err(stale.into());
        }
        bail!(
            "the saved plan cannot be applied: the configuration no longer plans cleanly against the account (see above); nothing was applied"
        );
    };
    match (saved.in_effect(&fresh), stale) {
        (InEffect::All, _) => Ok(Checked::AlreadyApplied),
        (InEffect::Part { in_effect, total }, Some(_)) => {
            Err(SavedPlanError::PartlyApplied { in_effect, total }.into())
        }
        (_, Some(stale)) => Err(stale.into()),
        (_, None) if !Change::all_same_effect(&fresh.changes, &plan.changes) => bail!(
            "the saved plan is stale: planning now gives different changes (another client's buckets, a quota, an expiry date or the boundary changed since it was made); nothing was applied; run `provision plan` again and review the new plan"
        ),
        (_, None) => Ok(Checked::Apply(Plan {
            changes: fresh.changes,
            ..plan
        })),
    }
}

/// Carry out `plan`, report progress and the outcome, and deliver secrets.
async fn execute(
    printer: Printer,
    args: &ApplyArgs,
    aws: &Aws,
    plan: &Plan,
    keys: KeySink,
) -> Result<ExitStatus> {
    let mut progress = Progress::new(printer, plan.changes.len());
    let (calls_before, throttled_before) = (aws.calls.snapshot(), aws.calls.throttled());
    let started = std::time::Instant::now();
    let report = apply::execute(
        aws,
        plan,
        usize::from(args.concurrency),
        &keys,
        |event| match event {
            Event::Started(change) => progress.started(change),
            Event::Done(change) => progress.done(change),
            Event::Failed(change, err) => progress.failed(change, err),
        },
    )
    .await;
    progress.finish();
    let calls = CallSummary::between(
        &calls_before,
        &aws.calls.snapshot(),
        aws.calls.throttled() - throttled_before,
    );
    let elapsed = started.elapsed();

    // Secrets are shown once, at the very end, whatever else happened: a
    // key created before a failure must still reach its owner.
    let delivered = deliver_held(printer, aws, keys.take_held()).await;
    print_written(&keys);

    if report.succeeded() && delivered {
        printer.status(format_args!(
            "Apply complete: {} change(s) made.",
            report.done.len()
        ));
        printer.status(summary_line(&calls, elapsed));
        Ok(ExitStatus::Success)
    } else {
        printer.status(summary_line(&calls, elapsed));
        print_failure(printer, plan.changes.len(), &report, delivered);
        Ok(ExitStatus::Failure)
    }
}

/// What a failed apply did and did not do, and how to finish it.
fn print_failure(printer: Printer, total: usize, report: &apply::Report, delivered: bool) {
    printer.line("");
    printer.line(format_args!(
        "Apply failed: {} of {total} change(s) made, {} failed, {} not attempted{}.",
        report.done.len(),
        report.failed.len(),
        report.skipped.len(),
        if delivered {
            ""
        } else {
            "; not every new secret was delivered (see above)"
        }
    ));
    for (change, err) in &report.failed {
        printer.line(format_args!(
            "  failed: {} {} {}: {err}",
            change.action().symbol(),
            change.kind().as_str(),
            change.name()
        ));
    }
    for change in &report.skipped {
        printer.line(format_args!(
            "  not attempted: {} {} {}",
            change.action().symbol(),
            change.kind().as_str(),
            change.name()
        ));
    }
    printer.line("Run `provision apply` again to finish: it plans from the account as it is now.");
}
