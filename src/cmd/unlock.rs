//! `provision unlock ID [PATH...]`: break a stale apply lock, after the
//! same account guard as `apply`.

use anyhow::Result;

use super::configuration::load;
use super::{Context, ExitStatus};
use crate::apply::lock::break_lock;
use crate::cli::UnlockArgs;
use crate::observe::account::guarded_account;

/// `provision unlock`.
pub async fn run(args: &UnlockArgs, ctx: &Context) -> Result<ExitStatus> {
    let Some(desired) = load(ctx.printer, &args.paths) else {
        return Ok(ExitStatus::Failure);
    };
    let aws = ctx.aws().await;
    let result = async {
        let account = guarded_account(&aws, &desired.settings).await?;
        let holder = break_lock(&aws, &account, &desired.settings.path, &args.id).await?;
        ctx.printer.status(format_args!(
            "Removed the apply lock `{}` of account `{account}`, path `{}`: {holder}. Run `provision plan` to see what that run left undone.",
            args.id, desired.settings.path
        ));
        Ok(ExitStatus::Success)
    }
    .await;
    ctx.print_stats(&aws);
    result
}
