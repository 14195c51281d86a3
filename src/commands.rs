//! The commands: each loads, observes, plans and acts by calling the modules
//! that do one job each, and turns the outcome into an exit status.

use std::collections::BTreeSet;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::apply::{self, Event, KeySink};
use crate::aws::{self, Aws, ConnectOptions};
use crate::cli::{ApplyArgs, AuditArgs, Format, PlanArgs, PolicyCommand, VerifyFormat};
use crate::config;
use crate::exit::ExitStatus;
use crate::model::{Desired, Observed};
use crate::observe::Observe;
use crate::observe::account::guarded_account;
use crate::observe::credential_report::credential_report;
use crate::observe::documents::{self, PolicyDocument};
use crate::plan::saved::{self, SavedPlan};
use crate::plan::{self, Plan, PlanOptions};
use crate::render;
use crate::report::audit::{findings, parse_report};
use crate::safe_write;
use crate::terminal::{self, Progress};

/// Account id used for CloudFront ARNs when checking offline: any 12 digits
/// give a policy of the same size.
const OFFLINE_ACCOUNT: &str = "000000000000";

fn color_stderr() -> bool {
    io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Says, on stderr, which files a command given no PATH reads: those of
/// `dir`, the default configuration.
pub fn note_default_configuration(dir: &Path) {
    if terminal::quiet() {
        return;
    }
    let files = config::files(&[dir.to_path_buf()]);
    if files.is_empty() {
        // Loading reports the missing or empty directory.
        eprintln!(
            "note: no PATH given; reading the default `{}/`",
            dir.display()
        );
    } else {
        eprintln!(
            "note: no PATH given; reading the default `{}/`: {}",
            dir.display(),
            backticked(&files)
        );
    }
}

/// `a`, `b`, `c`: paths in backticks, for notes.
fn backticked(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Load and validate the files, printing every problem; `None` when the
/// files are invalid (the caller exits 1 without any AWS call).
///
/// A file given alone is read with the other `*.toml` files of its
/// directory (its configuration's settings may live there); a note names
/// them.
pub(crate) fn load(paths: &[PathBuf]) -> Option<Desired> {
    let (context, result) = config::load_with_context(paths);
    if !context.is_empty() && !terminal::quiet() {
        eprintln!(
            "note: also read the rest of the configuration of the files given, in their directory: {}; its settings and developers apply, and its clients are checked against those given but left alone",
            backticked(&context)
        );
    }
    match result {
        Ok((desired, warnings)) => {
            tracing::info!(
                clients = desired.clients.len(),
                developers = desired.developers.len(),
                authoritative = desired.authoritative,
                "configuration loaded"
            );
            if !warnings.is_empty() && !terminal::quiet() {
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
        terminal::error(e);
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
async fn make_plan(aws: &Aws, desired: &Desired, remove_boundaries: bool) -> Result<Option<Plan>> {
    Ok(observe_and_plan(aws, desired, remove_boundaries)
        .await?
        .map(|planned| planned.plan))
}

/// A plan with the account state it was made from, which a saved plan
/// records fingerprints of.
struct Planned {
    plan: Plan,
    observed: Observed,
    account: String,
}

/// Read the account and plan against it, keeping what was observed. The
/// account guard comes first: with `settings.account_id`, nothing else is
/// called on another account.
async fn observe_and_plan(
    aws: &Aws,
    desired: &Desired,
    remove_boundaries: bool,
) -> Result<Option<Planned>> {
    // Checked before the first call too: a file over a quota is bad input,
    // refused with no AWS call, exactly as `validate` refuses it.
    let errors = offline_checks(desired, &offline_account(desired));
    if !errors.is_empty() {
        print_plan_errors(&errors);
        return Ok(None);
    }
    let account = guarded_account(aws, &desired.settings).await?;
    let errors = offline_checks(desired, &account);
    if !errors.is_empty() {
        print_plan_errors(&errors);
        return Ok(None);
    }
    let observed = aws.observe(&desired.settings.path).await?;
    tracing::info!(
        account = %account,
        users = observed.users.len(),
        groups = observed.groups.len(),
        "account read"
    );
    Ok(
        plan_observed(aws, desired, observed, account, remove_boundaries)
            .await?
            .map(|(plan, observed, account)| Planned {
                plan,
                observed,
                account,
            }),
    )
}

/// Plan against an account already read: the boundary check, the expiry
/// pre-pass and the planner. Shared by `plan`/`apply` and by `apply
/// PLANFILE`, which re-plans to check that the reviewed changes still hold.
async fn plan_observed(
    aws: &Aws,
    desired: &Desired,
    observed: Observed,
    account: String,
    remove_boundaries: bool,
) -> Result<Option<(Plan, Observed, String)>> {
    if !observed.quotas.from_account {
        eprintln!(
            "warning: could not read the account's IAM quotas (iam:GetAccountSummary was denied); checking against AWS's defaults"
        );
    }
    let mut options = PlanOptions {
        remove_boundaries,
        boundary_document: None,
        // Expiry is decided on the local date: a person's last day is the
        // one written in the file, where the file is reviewed.
        today: Some(chrono::Local::now().date_naive()),
    };
    if let Some(arn) = &desired.settings.permissions_boundary {
        match documents::managed_policy_document(&aws.iam, arn).await {
            PolicyDocument::Found(doc) => options.boundary_document = Some(doc),
            PolicyDocument::Missing => {
                eprintln!(
                    "error: the permissions boundary `{arn}` (`settings.permissions_boundary`) does not exist in account `{account}`, so no user could be created under it; create it first from `provision policy boundary` (see README, \"For security-conscious teams\"), or fix the setting"
                );
                return Ok(None);
            }
            PolicyDocument::Unreadable(why) => eprintln!(
                "warning: could not read the permissions boundary `{arn}` to check that it allows what the client groups grant: {why}"
            ),
        }
    }
    match plan::plan_with(desired, &observed, &account, &options) {
        Ok(plan) => Ok(Some((plan, observed, account))),
        Err(errors) => {
            print_plan_errors(&errors);
            Ok(None)
        }
    }
}

/// `provision plan`.
pub async fn plan(args: &PlanArgs, connect: &ConnectOptions, stats: bool) -> Result<ExitStatus> {
    if let Some(out) = &args.out
        && !saved::is_plan_file(out)
    {
        bail!(
            "the saved plan `{}` must end in `.json`, which is how `provision apply` tells it from clients files; use e.g. `--out plan.json`",
            out.display()
        );
    }
    let Some(desired) = load(&args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let aws = aws::connect(connect).await;
    let result = observe_and_plan(&aws, &desired, args.remove_boundaries).await;
    print_stats(&aws, stats);
    let Some(Planned {
        plan,
        observed,
        account,
    }) = result?
    else {
        return Ok(ExitStatus::Failure);
    };
    if let Some(out) = &args.out {
        let saved = SavedPlan::new(&plan, &desired, &args.paths, &observed, &account);
        let text = saved
            .to_json()
            .context("the plan could not be saved: a PATH is not valid UTF-8")?;
        std::fs::write(out, text)
            .with_context(|| format!("could not write the saved plan to `{}`", out.display()))?;
    }
    // anstream drops the colours when stdout is not a terminal or
    // `NO_COLOR` is set.
    let mut out = anstream::stdout().lock();
    match args.format {
        Format::Text => render::plan::text_styled(&plan, &mut out, true)?,
        Format::Json => render::plan::json(&plan, &mut out)?,
        Format::Markdown => render::markdown::markdown(&plan, &mut out)?,
    }
    out.flush()?;
    if let Some(out) = &args.out
        && !terminal::quiet()
    {
        // On stderr, so that stdout stays exactly the plan in its format.
        eprintln!(
            "Saved the plan to `{0}`; apply exactly these changes with `provision apply {0}`.",
            out.display()
        );
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

pub(crate) fn print_stats(aws: &Aws, stats: bool) {
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
    if args.paths.iter().any(|p| saved::is_plan_file(p)) {
        return apply_saved(args, connect, stats).await;
    }
    let Some(desired) = load(&args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let aws = aws::connect(connect).await;
    let status = apply_inner(args, &aws, &desired).await;
    print_stats(&aws, stats);
    status
}

async fn apply_inner(args: &ApplyArgs, aws: &Aws, desired: &Desired) -> Result<ExitStatus> {
    let Some(plan) = make_plan(aws, desired, args.remove_boundaries).await? else {
        return Ok(ExitStatus::Failure);
    };
    {
        let mut out = anstream::stdout().lock();
        render::plan::text_styled(&plan, &mut out, true)?;
        out.flush()?;
    }
    if plan.is_empty() {
        return Ok(ExitStatus::Success);
    }
    let keys = key_sink(
        "apply",
        args.credentials_dir.as_deref(),
        args.print_secrets,
        &new_key_users(&plan),
    )?;
    if !args.yes && !confirm()? {
        eprintln!("Apply cancelled; nothing was changed.");
        return Ok(ExitStatus::Failure);
    }
    execute_locked(args, aws, desired, &plan, keys).await
}

/// Carry out `plan` holding the apply lock (SPEC, guarantee 11). The plan
/// shown was made without it, so that a no-op apply writes nothing; under
/// the lock the account is read and planned again, and the changes are
/// made only if they are still exactly the ones shown, since another run
/// may have changed the account in between.
async fn execute_locked(
    args: &ApplyArgs,
    aws: &Aws,
    desired: &Desired,
    plan: &Plan,
    keys: KeySink,
) -> Result<ExitStatus> {
    let command = crate::apply::lock::command_line("apply", &args.paths);
    let lock = crate::apply::lock::acquire(aws, &desired.settings.path, &command).await?;
    crate::apply::lock::hold(aws, lock, async {
        let Some(fresh) = make_plan(aws, desired, args.remove_boundaries).await? else {
            bail!(
                "the configuration no longer plans cleanly against the account (see above); nothing was applied"
            );
        };
        if fresh.changes == plan.changes {
            return execute(args, aws, plan, keys).await;
        }
        if fresh.is_empty() {
            eprintln!(
                "No changes: another run made these changes since the plan above was made; the account matches the configuration."
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
async fn apply_saved(
    args: &ApplyArgs,
    connect: &ConnectOptions,
    stats: bool,
) -> Result<ExitStatus> {
    let [path] = args.paths.as_slice() else {
        bail!(
            "a saved plan is applied on its own: give `provision apply PLANFILE` alone, without other PATHs"
        );
    };
    let saved = SavedPlan::read(path)?;
    // The configuration is checked before any AWS call: a plan made from
    // other files than the ones now checked in is refused offline.
    let Some(desired) = load(&saved.paths) else {
        bail!(
            "the configuration the plan was made from no longer loads (see above); run `provision plan` again"
        );
    };
    saved.check_configuration(&desired)?;
    let aws = aws::connect(connect).await;
    let status = apply_saved_inner(args, &aws, &desired, &saved).await;
    print_stats(&aws, stats);
    status
}

async fn apply_saved_inner(
    args: &ApplyArgs,
    aws: &Aws,
    desired: &Desired,
    saved: &SavedPlan,
) -> Result<ExitStatus> {
    let account = aws.account_id().await?;
    saved.check_account(&account)?;
    // Checked first without the apply lock, so that a stale plan is
    // refused, and an empty one applied, without any write call.
    let plan = check_saved(args, aws, desired, saved, account.clone()).await?;
    {
        let mut out = anstream::stdout().lock();
        render::plan::text_styled(&plan, &mut out, true)?;
        out.flush()?;
    }
    if plan.is_empty() {
        return Ok(ExitStatus::Success);
    }
    let keys = key_sink(
        "apply",
        args.credentials_dir.as_deref(),
        args.print_secrets,
        &new_key_users(&plan),
    )?;
    // No confirmation: the plan was reviewed when it was saved, and it is
    // applied only if nothing it depends on changed (as `terraform apply
    // PLANFILE` does). Checked again under the apply lock, since another
    // run may have changed the account meanwhile (SPEC, guarantee 11).
    let command = crate::apply::lock::command_line("apply", &args.paths);
    let lock = crate::apply::lock::acquire(aws, &desired.settings.path, &command).await?;
    crate::apply::lock::hold(aws, lock, async {
        check_saved(args, aws, desired, saved, account).await?;
        execute(args, aws, &plan, keys).await
    })
    .await
}

/// Every check of a saved plan against the account as it is now; its
/// changes when they all pass.
async fn check_saved(
    args: &ApplyArgs,
    aws: &Aws,
    desired: &Desired,
    saved: &SavedPlan,
    account: String,
) -> Result<Plan> {
    let observed = aws.observe(&desired.settings.path).await?;
    saved.check_observed(&observed)?;
    let plan = saved.plan();
    // The fingerprints cover the entities each change touches. Planning
    // again from the same configuration and account also covers what they
    // cannot: other clients' live policies (isolation), quotas, expiry dates
    // that have passed since, the permissions boundary. The reviewed changes
    // are applied only if they are still exactly what provision would do.
    let removes_boundaries = plan
        .changes
        .iter()
        .any(|c| matches!(c, plan::Change::RemoveUserBoundary { .. }));
    let Some((fresh, _, _)) = plan_observed(
        aws,
        desired,
        observed,
        account,
        args.remove_boundaries || removes_boundaries,
    )
    .await?
    else {
        bail!(
            "the saved plan cannot be applied: the configuration no longer plans cleanly against the account (see above); nothing was applied"
        );
    };
    if fresh.changes != plan.changes {
        bail!(
            "the saved plan is stale: planning now gives different changes (another client's buckets, a quota, an expiry date or the boundary changed since it was made); nothing was applied; run `provision plan` again and review the new plan"
        );
    }
    Ok(plan)
}

/// How new secrets are delivered, decided from the flags and from where
/// standard output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// `--credentials-dir`: written to files as each key is created.
    Dir,
    /// Printed once at the end: asked for with `--print-secrets`, or
    /// standard output is a terminal, where a person reads it.
    Print,
    /// Neither: standard output is a pipe or a file (a CI job's log), and
    /// nobody asked for secrets there.
    Refuse,
}

/// The delivery rule, pure so that every case is tested without a
/// terminal. A secret-store delivery, once it exists, is chosen by name
/// like `--credentials-dir`.
pub(crate) fn choose_delivery(
    credentials_dir: bool,
    print_secrets: bool,
    stdout_is_terminal: bool,
) -> Delivery {
    match (credentials_dir, print_secrets, stdout_is_terminal) {
        (true, _, _) => Delivery::Dir,
        (false, true, _) | (false, false, true) => Delivery::Print,
        (false, false, false) => Delivery::Refuse,
    }
}

/// The application users a plan creates a key for.
fn new_key_users(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter_map(|change| match change {
            plan::Change::CreateAccessKey { user, .. } => Some(user.clone()),
            _ => None,
        })
        .collect()
}

/// Where the secrets of the new keys (of `users`) go, settled before any
/// write: the credentials directory is opened and checked here, and
/// without a delivery (see [`choose_delivery`]) the command is refused when
/// any key would be created. `action` names the command in the refusal.
pub(crate) fn key_sink(
    action: &str,
    credentials_dir: Option<&Path>,
    print_secrets: bool,
    users: &[String],
) -> Result<KeySink> {
    let delivery = choose_delivery(
        credentials_dir.is_some(),
        print_secrets,
        io::stdout().is_terminal(),
    );
    match (delivery, credentials_dir) {
        (Delivery::Dir, Some(dir)) => {
            let dir = safe_write::Dir::open_private(dir)
                .context("the credentials directory (`--credentials-dir`) cannot be used; nothing was changed")?;
            Ok(KeySink::new(Some(apply::Target::Dir(dir))))
        }
        (Delivery::Refuse, _) if !users.is_empty() => bail!(
            "refusing to {action}: it would create new access keys for {}, and standard output is not a terminal, so their secrets would be printed where logs keep them; nothing was changed. Choose where they go: `--credentials-dir DIR` writes each to `DIR/<user>.json` (mode 0600), `--print-secrets` prints them here anyway",
            names(users)
        ),
        _ => Ok(KeySink::new(None)),
    }
}

/// `a`, `a` and `b`, `a`, `b` and `c`, each in backticks.
fn names(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Carry out `plan`, report progress and the outcome, and deliver secrets.
async fn execute(args: &ApplyArgs, aws: &Aws, plan: &Plan, keys: KeySink) -> Result<ExitStatus> {
    let total = plan.changes.len();
    let mut progress = Progress::new(total);
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

    // Secrets are shown once, at the very end, whatever else happened: a
    // key created before a failure must still reach its owner.
    let delivered = deliver_held(aws, keys.take_held()).await;
    print_written(&keys);

    if report.succeeded() && delivered {
        if !terminal::quiet() {
            eprintln!("Apply complete: {} change(s) made.", report.done.len());
        }
        Ok(ExitStatus::Success)
    } else {
        eprintln!();
        eprintln!(
            "Apply failed: {} of {total} change(s) made, {} failed, {} not attempted{}.",
            report.done.len(),
            report.failed.len(),
            report.skipped.len(),
            if delivered {
                ""
            } else {
                "; not every new secret was delivered (see above)"
            }
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

/// Prints the secrets held for the end, then records their keys as
/// delivered. When they cannot be printed (a closed pipe, a full disk),
/// nobody holds them: their keys are deleted instead, and never recorded.
/// Returns false when a secret was not delivered or a key not recorded.
async fn deliver_held(aws: &Aws, mut held: Vec<apply::AccessKey>) -> bool {
    if held.is_empty() {
        return true;
    }
    // By user, not in the order the concurrent calls happened to finish.
    held.sort_by(|a, b| a.user.cmp(&b.user));
    if let Err(err) = print_secrets(&held) {
        discard_undelivered(aws, &held, &err).await;
        return false;
    }
    // Printed secrets are delivered: only now record their keys, so that a
    // kill before the printing leaves them unrecorded and the next apply
    // replaces them, instead of keeping keys whose secret nobody saw.
    let mut recorded = true;
    for key in &held {
        if let Err(err) = apply::record_key(aws, &key.user, &key.access_key_id).await {
            eprintln!(
                "error: could not record the key of `{}` ({err}); the next apply will replace it with a new one",
                key.user
            );
            recorded = false;
        }
    }
    recorded
}

/// Prints `held`'s secrets on stdout (shown this once), in one write, so
/// that a failure means none of them can be counted on.
pub(crate) fn print_secrets(held: &[apply::AccessKey]) -> io::Result<()> {
    let mut text =
        String::from("\nNew access keys. The secrets are shown this once; store them now:\n");
    for key in held {
        text.push_str(&format!(
            "  {}  AccessKeyId={}  SecretAccessKey={}\n",
            key.user,
            key.access_key_id,
            key.secret_access_key.expose()
        ));
    }
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Deletes the keys whose secrets could not be printed, and says which.
pub(crate) async fn discard_undelivered(aws: &Aws, held: &[apply::AccessKey], err: &io::Error) {
    let users: Vec<String> = held.iter().map(|k| k.user.clone()).collect();
    let mut kept = Vec::new();
    for key in held {
        if let Err(e) = apply::discard_key(aws, &key.user, &key.access_key_id).await {
            kept.push((key, e));
        }
    }
    eprintln!(
        "error: the secrets of the new access keys of {} could not be printed ({err}), so nobody holds them: {}. Give `--credentials-dir DIR` to have secrets written to files instead",
        names(&users),
        if kept.is_empty() {
            "the keys were deleted again, and the next apply creates new ones"
        } else {
            "the keys were deleted again where possible (see below), and the next apply creates new ones"
        }
    );
    for (key, e) in kept {
        eprintln!(
            "error: key `{}` of `{}` could not be deleted ({e}); it is not recorded, so the next apply deletes it and creates a new one",
            key.access_key_id, key.user
        );
    }
}

/// Says which credentials files were written. Best effort: the files are
/// the delivery, and a closed stdout does not undo them.
pub(crate) fn print_written(keys: &KeySink) {
    let mut out = io::stdout().lock();
    for path in keys.written() {
        if writeln!(out, "Wrote credentials to {}", path.display()).is_err() {
            return;
        }
    }
    let _ = out.flush();
}

/// `provision completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitStatus> {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    let mut out = io::stdout().lock();
    clap_complete::generate(shell, &mut command, "provision", &mut out);
    out.flush()?;
    Ok(ExitStatus::Success)
}

/// `provision man`: the manual page, generated from the same clap
/// definition as `--help`, so the two never disagree.
pub fn man() -> Result<ExitStatus> {
    let command = <crate::cli::Cli as clap::CommandFactory>::command();
    let mut out = io::stdout().lock();
    clap_mangen::Man::new(command).render(&mut out)?;
    out.flush()?;
    Ok(ExitStatus::Success)
}

/// `provision schema`.
pub fn schema() -> Result<ExitStatus> {
    let mut out = io::stdout().lock();
    out.write_all(crate::config::schema::CLIENTS_FILE_SCHEMA.as_bytes())?;
    out.flush()?;
    Ok(ExitStatus::Success)
}

/// `provision policy operator|boundary`: print a policy generated from the
/// files alone; no AWS call.
pub fn policy(command: &PolicyCommand) -> Result<ExitStatus> {
    let paths = match command {
        PolicyCommand::Operator { paths } | PolicyCommand::Boundary { paths } => paths,
    };
    let Some(desired) = load(paths) else {
        return Ok(ExitStatus::Failure);
    };
    let doc = match command {
        PolicyCommand::Operator { .. } => {
            if desired.settings.permissions_boundary.is_none() {
                eprintln!(
                    "warning: `settings.permissions_boundary` is not set, so this policy lets the operator create users without a boundary; set it (see `provision policy boundary`) to cap what every created user may do"
                );
            }
            crate::policy::operator::operator_policy(&desired)
        }
        PolicyCommand::Boundary { .. } => {
            let account = crate::policy::operator::account_for_arns(&desired);
            match crate::policy::boundary::boundary_policy(&desired, &account) {
                Ok(doc) => doc,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitStatus::Failure);
                }
            }
        }
    };
    let mut out = io::stdout().lock();
    writeln!(out, "{}", crate::policy::document::to_pretty(&doc))?;
    out.flush()?;
    Ok(ExitStatus::Success)
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
    use crate::report::matrix as verify;
    let account = guarded_account(aws, &desired.settings).await?;
    let observed = aws.observe(&desired.settings.path).await?;
    let arns = verify::needed_policy_arns(desired, &observed);
    let docs = documents::policy_documents(&aws.iam, &arns).await?;
    let matrix = verify::matrix(desired, &observed, &docs, &account);
    let mismatches = if args.simulate {
        Some(simulate(aws, &observed, &matrix).await?)
    } else {
        None
    };
    let mut out = io::stdout().lock();
    match args.format {
        crate::cli::VerifyFormat::Text => crate::render::matrix::text(&matrix, &mut out)?,
        crate::cli::VerifyFormat::Json => crate::render::matrix::json(&matrix, &mut out)?,
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
    matrix: &crate::report::matrix::Matrix,
) -> Result<Vec<crate::report::matrix::Mismatch>> {
    use crate::report::matrix as verify;
    let requests = verify::probe_requests(matrix);
    let actions: BTreeSet<&str> = requests.iter().map(|(a, _)| *a).collect();
    let arns: BTreeSet<&str> = requests.iter().map(|(_, r)| r.as_str()).collect();
    let mut mismatches = Vec::new();
    for principal in &matrix.principals {
        let Some(user) = observed.users.get(&principal.name) else {
            continue;
        };
        let simulated =
            crate::observe::simulate::allowed(aws, &principal.name, &user.arn, &actions, &arns)
                .await?;
        mismatches.extend(verify::disagreements(
            matrix,
            &principal.name,
            &requests,
            &simulated,
        ));
    }
    Ok(mismatches)
}

/// `provision audit`.
pub async fn audit(args: &AuditArgs, connect: &ConnectOptions, stats: bool) -> Result<ExitStatus> {
    let Some(desired) = load(&args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let aws = aws::connect(connect).await;
    let result = async {
        // The account guard, as for plan: read no other account.
        guarded_account(&aws, &desired.settings).await?;
        let observed = aws.observe(&desired.settings.path).await?;
        let report = parse_report(&credential_report(&aws).await?)?;
        anyhow::Ok(findings(
            &report,
            &observed,
            &desired.settings,
            chrono::Utc::now(),
        ))
    }
    .await;
    print_stats(&aws, stats);
    let found = result?;
    let mut out = io::stdout().lock();
    match args.format {
        VerifyFormat::Json => crate::render::audit::json(&found, &mut out)?,
        VerifyFormat::Text => crate::render::audit::text(&found, &mut out)?,
    }
    out.flush()?;
    Ok(if found.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Secrets never go to a pipe or a file (a CI log) unless asked for by
    /// name; on a terminal printing stays the default.
    #[test]
    fn secrets_are_printed_without_a_terminal_only_when_asked_for_by_name() {
        use Delivery::*;
        let cases = [
            // (credentials dir, --print-secrets, stdout is a terminal)
            ((false, false, false), Refuse),
            ((false, false, true), Print),
            ((false, true, false), Print),
            ((false, true, true), Print),
            ((true, false, false), Dir),
            ((true, false, true), Dir),
        ];
        for ((dir, print, terminal), want) in cases {
            assert_eq!(
                choose_delivery(dir, print, terminal),
                want,
                "dir={dir} print={print} terminal={terminal}"
            );
        }
    }

    #[test]
    fn names_are_listed_in_backticks() {
        let list = |items: &[&str]| names(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b"]), "`a` and `b`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
