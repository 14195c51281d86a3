//! `provision plan`, and the planning `apply` shares with it: the offline
//! checks, the account guard, one read of the account, the boundary check
//! and the planner.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::{Context as _, Result, bail};

use super::configuration::load;
use super::{Context, ExitStatus};
use crate::aws::Aws;
use crate::cli::{Format, PlanArgs};
use crate::model::{Desired, Observed};
use crate::observe::Observe;
use crate::observe::account::guarded_account;
use crate::observe::bucket_settings::{bucket_region, bucket_settings};
use crate::observe::credentials::credentials;
use crate::observe::documents::{self, PolicyDocument};
use crate::observe::keys::adoption_keys;
use crate::plan::saved::{self, SavedPlan};
use crate::plan::{self, Plan, PlanError, PlanOptions};
use crate::render;
use crate::terminal::Printer;

/// Account id used for CloudFront ARNs when checking offline: any 12 digits
/// give a policy of the same size.
const OFFLINE_ACCOUNT: &str = "000000000000";

/// `provision plan`.
pub async fn run(args: &PlanArgs, ctx: &Context) -> Result<ExitStatus> {
    let printer = ctx.printer;
    if let Some(out) = &args.out
        && !saved::is_plan_file(out)
    {
        bail!(
            "the saved plan `{}` must end in `.json`, which is how `provision apply` tells it from clients files; use e.g. `--out plan.json`",
            out.display()
        );
    }
    let Some(desired) = load(printer, &args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let aws = ctx.aws().await;
    let adopt: BTreeSet<String> = args.adopt.iter().cloned().collect();
    let result = observe_and_plan(printer, &aws, &desired, args.remove_boundaries, &adopt).await;
    ctx.print_stats(&aws);
    let Some(Planned {
        plan,
        observed,
        account,
    }) = result?
    else {
        return Ok(ExitStatus::Failure);
    };
    if let Some(out) = &args.out {
        let mut saved = SavedPlan::new(&plan, &desired, &args.paths, &observed, &account);
        saved.adopt = adopt.iter().cloned().collect();
        let text = saved
            .to_json()
            .context("the plan could not be saved: a PATH is not valid UTF-8")?;
        std::fs::write(out, text)
            .with_context(|| format!("could not write the saved plan to `{}`", out.display()))?;
    }
    // The printer's stdout drops the colours when it is not a terminal or
    // `NO_COLOR` is set.
    let mut out = printer.stdout();
    match args.format {
        Format::Text => render::plan::text_styled(&plan, &mut out, true)?,
        Format::Json => render::plan::json(&plan, &mut out)?,
        Format::Markdown => render::markdown::markdown(&plan, &mut out)?,
    }
    out.flush()?;
    if let Some(out) = &args.out {
        // On stderr, so that stdout stays exactly the plan in its format.
        printer.status(format_args!(
            "Saved the plan to `{0}`; apply exactly these changes with `provision apply {0}`.",
            out.display()
        ));
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// Prints `plan` as text on stdout, in colour where colours belong.
pub(super) fn show(printer: Printer, plan: &Plan) -> Result<()> {
    let mut out = printer.stdout();
    render::plan::text_styled(plan, &mut out, true)?;
    out.flush()?;
    Ok(())
}

/// Quota and policy-size checks that need no account.
pub(super) fn offline_checks(desired: &Desired, account_id: &str) -> Vec<PlanError> {
    plan::check_quotas(desired, account_id)
}

pub(super) fn print_plan_errors(printer: Printer, errors: &[PlanError]) {
    for e in errors {
        printer.error(e);
    }
}

/// The account id to check with before any AWS call: the configured one,
/// else a placeholder of the same length.
pub(super) fn offline_account(desired: &Desired) -> String {
    desired
        .settings
        .account_id
        .clone()
        .unwrap_or_else(|| OFFLINE_ACCOUNT.to_owned())
}

/// Read the account and plan against it.
pub(super) async fn make_plan(
    printer: Printer,
    aws: &Aws,
    desired: &Desired,
    remove_boundaries: bool,
    adopt: &BTreeSet<String>,
) -> Result<Option<Plan>> {
    Ok(
        observe_and_plan(printer, aws, desired, remove_boundaries, adopt)
            .await?
            .map(|planned| planned.plan),
    )
}

/// A plan with the account state it was made from, which a saved plan
/// records fingerprints of.
struct Planned {
    plan: Plan,
    observed: Observed,
    account: String,
}

/// Read the account, with the keys of the users named for adoption, the
/// bucket policies the bucket-policy layer concerns and, when some
/// client's buckets are managed, those buckets' settings (as account
/// `account`, their expected owner). Without these features no S3 call is
/// made.
pub(super) async fn observe_for(
    aws: &Aws,
    desired: &Desired,
    adopt: &BTreeSet<String>,
    account: &str,
) -> Result<Observed> {
    let path = &desired.settings.path;
    // The bucket policies (read only when the bucket-policy layer is set for
    // some client) alongside IAM.
    let (observed, layer) = futures_util::join!(
        aws.observe(path),
        crate::observe::bucket_policy::read(aws, desired)
    );
    let mut observed = observed?;
    if let Some(layer) = layer? {
        layer.fill(&mut observed);
    }
    // GitHub's OIDC provider matters only to roles: read when a client
    // declares one or a managed role is left to delete.
    if desired.clients.values().any(|c| !c.roles.is_empty())
        || observed.roles.values().any(|r| r.is_managed(path))
    {
        observed.oidc_provider = crate::observe::roles::github_provider(&aws.iam).await?;
    }
    adoption_keys(&aws.iam, &mut observed, path, adopt).await?;
    let managed: BTreeSet<String> = desired.managed_buckets().into_keys().collect();
    if !managed.is_empty() {
        let versioning = desired.settings.buckets.versioning.is_some();
        observed.buckets = bucket_settings(aws, account, &managed, versioning).await?;
        observed.bucket_region = Some(bucket_region(aws));
    }
    Ok(observed)
}

/// Read the account and plan against it, keeping what was observed. The
/// account guard comes first: with `settings.account_id`, nothing else is
/// called on another account.
async fn observe_and_plan(
    printer: Printer,
    aws: &Aws,
    desired: &Desired,
    remove_boundaries: bool,
    adopt: &BTreeSet<String>,
) -> Result<Option<Planned>> {
    // Checked before the first call too: a file over a quota is bad input,
    // refused with no AWS call, exactly as `validate` refuses it.
    let errors = offline_checks(desired, &offline_account(desired));
    if !errors.is_empty() {
        print_plan_errors(printer, &errors);
        return Ok(None);
    }
    let account = guarded_account(aws, &desired.settings).await?;
    let errors = offline_checks(desired, &account);
    if !errors.is_empty() {
        print_plan_errors(printer, &errors);
        return Ok(None);
    }
    let observed = observe_for(aws, desired, adopt, &account).await?;
    tracing::info!(
        account = %account,
        users = observed.users.len(),
        groups = observed.groups.len(),
        "account read"
    );
    Ok(plan_observed(
        printer,
        aws,
        desired,
        observed,
        account,
        remove_boundaries,
        adopt,
    )
    .await?
    .map(|(plan, observed, account)| Planned {
        plan,
        observed,
        account,
    }))
}

/// Reads what each user the plan deletes or disables holds, so the plan
/// lists the credentials that go (SPEC: the plan says what it does). A read
/// that fails leaves that user's list unread, with a warning: the deletion
/// itself lists and revokes whatever is there when it runs.
async fn read_holdings(printer: Printer, aws: &Aws, plan: &mut Plan) {
    for change in &mut plan.changes {
        if let plan::Change::DeleteUser { user, holds, .. }
        | plan::Change::DisableUser { user, holds } = change
        {
            match credentials(&aws.iam, user).await {
                Ok(read) => *holds = Some(read),
                Err(e) => printer.warning(format_args!(
                    "could not read the credentials of `{user}`, which the plan deletes or disables ({e}); the plan lists every kind that goes"
                )),
            }
        }
    }
}

/// Plan against an account already read: the boundary check, then the
/// planner (expiry first, on today's date). Shared by `plan`/`apply` and by
/// `apply PLANFILE`, which re-plans to check that the reviewed changes
/// still hold.
pub(super) async fn plan_observed(
    printer: Printer,
    aws: &Aws,
    desired: &Desired,
    observed: Observed,
    account: String,
    remove_boundaries: bool,
    adopt: &BTreeSet<String>,
) -> Result<Option<(Plan, Observed, String)>> {
    if !observed.quotas.from_account {
        printer.warning(
            "could not read the account's IAM quotas (iam:GetAccountSummary was denied); checking against AWS's defaults",
        );
    }
    let mut options = PlanOptions {
        remove_boundaries,
        boundary_document: None,
        // Expiry is decided on the local date: a person's last day is the
        // one written in the file, where the file is reviewed.
        today: Some(chrono::Local::now().date_naive()),
        adopt: adopt.clone(),
    };
    if let Some(arn) = &desired.settings.permissions_boundary {
        match documents::managed_policy_document(&aws.iam, arn).await {
            PolicyDocument::Found(doc) => options.boundary_document = Some(doc),
            PolicyDocument::Missing => {
                printer.error(format_args!(
                    "the permissions boundary `{arn}` (`settings.permissions_boundary`) does not exist in account `{account}`, so no user could be created under it; create it first from `provision policy boundary` (see README, \"For security-conscious teams\"), or fix the setting"
                ));
                return Ok(None);
            }
            PolicyDocument::Unreadable(why) => printer.warning(format_args!(
                "could not read the permissions boundary `{arn}` to check that it allows what the client groups grant: {why}"
            )),
        }
    }
    match plan::plan_with(desired, &observed, &account, &options) {
        Ok(plan) => {
            // A managed policy's name must be free in the whole account.
            let names: BTreeSet<String> = plan::new_managed_policies(&plan)
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            if !names.is_empty() {
                let existing = documents::local_policies_named(&aws.iam, &names).await?;
                let errors = plan::policy_name_collisions(&plan, &desired.settings.path, &existing);
                if !errors.is_empty() {
                    print_plan_errors(printer, &errors);
                    return Ok(None);
                }
            }
            let mut plan = plan;
            read_holdings(printer, aws, &mut plan).await;
            Ok(Some((plan, observed, account)))
        }
        Err(errors) => {
            print_plan_errors(printer, &errors);
            Ok(None)
        }
    }
}
