//! The apply lock held around a command's writes (SPEC, guarantee 11), and
//! released whatever happens, Ctrl-C and SIGTERM included.

use std::future::Future;

use anyhow::Result;

use crate::apply::lock::{self, Lock, Released};
use crate::aws::Aws;
use crate::terminal::Printer;

/// Takes the apply lock of managed path `path` for `command` (how the
/// holder is described), runs `work` holding it, then releases it (see
/// [`hold`]).
pub(super) async fn run<T>(
    printer: Printer,
    aws: &Aws,
    path: &str,
    command: &str,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let lock = lock::acquire(aws, path, command).await?;
    hold(printer, aws, lock, work).await
}

/// Runs `work` holding `lock`, then releases it, whether `work` succeeded,
/// failed, or was interrupted (Ctrl-C, or SIGTERM as CI sends when a job
/// is cancelled). An interrupted run stops where it was, as a killed one
/// would (the next apply finishes the job), but leaves no lock behind.
///
/// Only a process killed outright (SIGKILL, a crash, a lost machine) keeps
/// the lock; the next run names it and says how to break it.
async fn hold<T>(
    printer: Printer,
    aws: &Aws,
    lock: Lock,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let outcome = tokio::select! {
        result = work => Some(result),
        () = interrupted() => None,
    };
    let released = lock::release(aws, &lock).await;
    match &released {
        Ok(Released::Done) => {}
        Ok(Released::AlreadyGone) => printer.warning(format_args!(
            "the apply lock `{}` was broken (`provision unlock`) while this run held it; another run may have changed the account at the same time: run `provision plan` to check",
            lock.id
        )),
        Ok(Released::TakenByOther { id, holder }) => printer.warning(format_args!(
            "the apply lock `{}` was broken while this run held it, and is now held by another run: {holder} (lock id `{id}`); it was left alone. Run `provision plan` once that run is done, to check the account",
            lock.id
        )),
        Err(e) => printer.error(format_args!(
            "{e}; the lock `{}` is still held: once no provision run is in progress, break it with `provision unlock {}` and the same PATH arguments",
            lock.id, lock.id
        )),
    }
    match outcome {
        None => anyhow::bail!(
            "interrupted: stopped before finishing; {}run the same command again to finish the job",
            if matches!(released, Ok(Released::Done)) {
                "the apply lock was released; "
            } else {
                ""
            }
        ),
        Some(result) => {
            let value = result?;
            if released.is_err() {
                anyhow::bail!("the apply lock could not be released (see above)");
            }
            Ok(value)
        }
    }
}

/// Resolves when the process is asked to stop: Ctrl-C, or SIGTERM on unix.
/// If the handlers cannot be installed, it never resolves, and the process
/// keeps the default behaviour of being stopped by the signal.
async fn interrupted() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
