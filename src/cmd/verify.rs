//! `provision verify`: the access matrix from the account's live policies,
//! optionally cross-checked with `iam:SimulatePrincipalPolicy`; exit 1 on a
//! leak or a disagreement.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use anyhow::Result;

use super::configuration::load;
use super::{Context, ExitStatus};
use crate::aws::Aws;
use crate::cli::{VerifyArgs, VerifyFormat};
use crate::model::{Desired, Observed};
use crate::observe::account::guarded_account;
use crate::observe::{self, Observe, documents, simulate};
use crate::render;
use crate::report::buckets;
use crate::report::matrix::{self, Matrix, Mismatch};
use crate::terminal::Printer;

/// `provision verify`.
pub async fn run(args: &VerifyArgs, ctx: &Context) -> Result<ExitStatus> {
    let Some(desired) = load(ctx.printer, &args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let aws = ctx.aws().await;
    let result = verify_inner(ctx.printer, args, &aws, &desired).await;
    ctx.print_stats(&aws);
    result
}

async fn verify_inner(
    printer: Printer,
    args: &VerifyArgs,
    aws: &Aws,
    desired: &Desired,
) -> Result<ExitStatus> {
    let account = guarded_account(aws, &desired.settings).await?;
    let observed = aws.observe(&desired.settings.path).await?;
    let arns = matrix::needed_policy_arns(desired, &observed);
    let docs = documents::policy_documents(&aws.iam, &arns).await?;
    // Memberships end on the same day as in `plan`: a person's last day is
    // the one written in the file.
    let today = Some(chrono::Local::now().date_naive());
    let matrix = matrix::matrix(desired, &observed, &docs, &account, today);
    // The resource side: what each client bucket lets in by itself.
    let mut matrix = matrix;
    let side = read_resource_side(aws, &account, &mut matrix, &observed, &docs).await?;
    let mismatches = if args.simulate {
        Some(cross_check(aws, &observed, &matrix).await?)
    } else {
        None
    };
    // The table has a line per principal and resource (millions at a few
    // thousand users): written through a buffer, not a line at a time.
    let mut out = io::BufWriter::new(io::stdout().lock());
    match args.format {
        VerifyFormat::Text => {
            render::verify::text(&matrix, &side, &mut out)?;
        }
        VerifyFormat::Json => render::buckets::json(&matrix, &side, &mut out)?,
    }
    out.flush()?;
    for warning in &side.warnings {
        printer.warning(warning);
    }
    if let Some(mismatches) = &mismatches {
        for m in mismatches {
            printer.error(format_args!(
                "the evaluator and iam:SimulatePrincipalPolicy disagree for `{}`: `{}` on `{}` is {} here and {} by the simulator",
                m.principal,
                m.action,
                m.resource_arn,
                if m.ours { "allowed" } else { "denied" },
                if m.simulated { "allowed" } else { "denied" }
            ));
        }
        if mismatches.is_empty() {
            printer.status("iam:SimulatePrincipalPolicy agrees with every answer.");
        }
    }
    let agreed = mismatches.as_ref().is_none_or(Vec::is_empty);
    Ok(if matrix.isolated() && side.isolated() && agreed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// Reads and decides the resource side of `matrix`'s buckets (also the
/// access report's): the account's Block Public Access first, since when
/// it is fully on no bucket's own needs reading; the account's buckets
/// when a client owns a prefix, to read every bucket it covers; then the
/// buckets themselves. An IAM leak that a bucket's policy denies whole
/// (the bucket-policy layer) is marked held in `matrix`.
pub(super) async fn read_resource_side(
    aws: &Aws,
    account: &str,
    matrix: &mut Matrix,
    observed: &Observed,
    docs: &BTreeMap<String, serde_json::Value>,
) -> Result<buckets::ResourceSide> {
    let account_block = observe::buckets::account_public_access_block(aws, account).await;
    let blocks_all = matches!(&account_block, Ok(Some(b)) if b.all());
    let listed = if buckets::covers_prefixes(matrix) {
        observe::buckets::list_buckets(aws).await?
    } else {
        BTreeSet::new()
    };
    let names = buckets::buckets_to_read(matrix, &listed);
    let facts = observe::buckets::bucket_facts(aws, account, &names, blocks_all).await;
    // A leak through IAM that a bucket's policy denies whole (the
    // bucket-policy layer) is held.
    let policies: BTreeMap<String, serde_json::Value> = facts
        .iter()
        .filter_map(|(name, f)| {
            let text = f.policy.as_ref().ok()?.as_ref()?;
            Some((name.clone(), serde_json::from_str(text).ok()?))
        })
        .collect();
    matrix.hold_by_bucket_policies(
        &policies,
        |user| observed.users.get(user).map(|u| u.arn.clone()),
        account,
    );
    Ok(buckets::resource_side(
        matrix,
        observed,
        docs,
        &facts,
        account,
        account_block.into(),
    ))
}

/// Asks `iam:SimulatePrincipalPolicy` about every probed pair, one call per
/// principal, and returns where it disagrees with the evaluator.
async fn cross_check(aws: &Aws, observed: &Observed, matrix: &Matrix) -> Result<Vec<Mismatch>> {
    let requests = matrix::probe_requests(matrix);
    let actions: BTreeSet<&str> = requests.iter().map(|(a, _)| *a).collect();
    let arns: BTreeSet<&str> = requests.iter().map(|(_, r)| r.as_str()).collect();
    let mut mismatches = Vec::new();
    for principal in &matrix.principals {
        let Some(user) = observed.users.get(&principal.name) else {
            continue;
        };
        let simulated = simulate::allowed(aws, &principal.name, &user.arn, &actions, &arns).await?;
        mismatches.extend(matrix::disagreements(
            matrix,
            &principal.name,
            &requests,
            &simulated,
        ));
    }
    Ok(mismatches)
}
