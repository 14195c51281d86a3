//! `provision import`: write clients files from the account as it is, and
//! report what the files leave out. Reads only; the account is changed by a
//! later, reviewed `apply`.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};

use super::{Context, ExitStatus};
use crate::cli::{ImportArgs, VerifyFormat};
use crate::config;
use crate::observe::Observe;
use crate::observe::buckets::list_buckets;
use crate::observe::credential_report::credential_report;
use crate::observe::distributions::list_distributions;
use crate::observe::documents::policy_documents;
use crate::render;
use crate::report::audit::parse_report;
use crate::report::import::{Distributions, Inputs, import};
use crate::safe_write::{self, DirPolicy};

/// Mode of the files written: clients files hold no secret.
const FILE_MODE: u32 = 0o644;

/// `provision import`.
pub async fn run(args: &ImportArgs, ctx: &Context) -> Result<ExitStatus> {
    let aws = ctx.aws().await;
    let result = async {
        let account_id = aws.account_id().await?;
        let observed = aws.observe(&args.path).await?;
        // Hand-made groups often get their access from attached policies:
        // read their documents too (provision's own are already read).
        let arns: BTreeSet<String> = observed
            .groups
            .values()
            .flat_map(|g| g.attached_policies.iter().cloned())
            .collect();
        let attached = policy_documents(&aws.iam, &arns).await?;
        let buckets = list_buckets(&aws).await?;
        let credentials = parse_report(&credential_report(&aws).await?)?;
        let mut inputs = Inputs {
            account_id: &account_id,
            path: &args.path,
            observed: &observed,
            attached: &attached,
            buckets: &buckets,
            credentials: &credentials,
            distributions: &Distributions::NotRead,
            now: chrono::Utc::now(),
        };
        let imported = import(&inputs);
        if !imported.grants_cloudfront_on_star() {
            return anyhow::Ok(imported);
        }
        // Only a grant of CloudFront on `*` needs the distributions, and
        // they only help a person choose: when they cannot be read, the
        // finding says why and the import goes on.
        let listing = match list_distributions(&aws).await {
            Ok(list) => Distributions::Listed(list),
            Err(e) => Distributions::Unreadable(e.to_string()),
        };
        inputs.distributions = &listing;
        anyhow::Ok(import(&inputs))
    }
    .await;
    ctx.print_stats(&aws);
    let imported = result?;
    let files = render::import::files(&imported);

    // The files must be ones `validate` accepts: checked in memory, as the
    // directory would be read, before anything is written.
    let sources: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|(name, text)| (args.out.join(name), text.clone().into_bytes()))
        .collect();
    if let Err(diagnostics) = config::load_sources(sources, true) {
        ctx.printer.diagnostics(&diagnostics);
        bail!(
            "the files import made from this account do not validate (see above), so nothing was written; fix what the errors name (`--path`, say), or declare the client by hand"
        );
    }

    let existing: Vec<String> = files
        .iter()
        .map(|(name, _)| args.out.join(name))
        .filter(|path| path.symlink_metadata().is_ok())
        .map(|path| format!("`{}`", path.display()))
        .collect();
    if !existing.is_empty() && !args.force {
        bail!(
            "{} already exist(s); nothing was written. Import into another directory with `--out DIR`, or replace them with `--force`",
            existing.join(", ")
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("could not create `{}`", args.out.display()))?;
    let dir = safe_write::Dir::open(&args.out, DirPolicy::Shared)?;
    let mut written = Vec::new();
    for (name, text) in &files {
        dir.write(name, text.as_bytes(), FILE_MODE, None)?;
        written.push(args.out.join(name).display().to_string());
    }

    let mut out = io::stdout().lock();
    match args.format {
        VerifyFormat::Json => render::import::json(&imported, &written, &mut out)?,
        VerifyFormat::Text => render::import::text(&imported, &written, &mut out)?,
    }
    out.flush()?;
    Ok(ExitStatus::Success)
}
