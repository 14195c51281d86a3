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

/// How the work done under the lock ended.
enum Outcome<T> {
    /// It ran to its end, successfully or not.
    Finished(Result<T>),
    /// Ctrl-C or SIGTERM stopped it.
    Interrupted,
    /// It panicked (a bug): the message.
    Panicked(String),
}

/// Runs `work` until it ends, `stop` resolves, or it panics. A panic is
/// caught here, not left to unwind out of the command, so that the lock is
/// released after it as after any other ending: a bug must not leave a
/// lock that blocks every later run until someone breaks it by hand.
async fn run_until<T>(
    work: impl Future<Output = Result<T>>,
    stop: impl Future<Output = ()>,
) -> Outcome<T> {
    use futures_util::FutureExt;
    let work = std::panic::AssertUnwindSafe(work).catch_unwind();
    tokio::select! {
        result = work => match result {
            Ok(result) => Outcome::Finished(result),
            Err(payload) => Outcome::Panicked(
                payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned()),
            ),
        },
        () = stop => Outcome::Interrupted,
    }
}

/// Runs `work` holding `lock`, then releases it, whether `work` succeeded,
/// failed, panicked, or was interrupted (Ctrl-C, or SIGTERM as CI sends
/// when a job is cancelled). An interrupted run stops where it was, as a
/// killed one would (the next apply finishes the job), but leaves no lock
/// behind.
///
/// Only a process killed outright (SIGKILL, a crash, a lost machine) keeps
/// the lock; the next run names it and says how to break it.
async fn hold<T>(
    printer: Printer,
    aws: &Aws,
    lock: Lock,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let outcome = run_until(work, interrupted()).await;
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
    let lock_released = if matches!(released, Ok(Released::Done)) {
        "the apply lock was released; "
    } else {
        ""
    };
    match outcome {
        Outcome::Interrupted => anyhow::bail!(
            "interrupted: stopped before finishing; {lock_released}run the same command again to finish the job"
        ),
        Outcome::Panicked(message) => anyhow::bail!(
            "internal error, a bug in provision: {message}; stopped before finishing; {lock_released}run the same command again to finish the job, and please report the bug"
        ),
        Outcome::Finished(result) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_panic_under_the_lock_is_caught_so_that_the_lock_is_released() {
        let work = async {
            panic!("the executor broke");
            #[allow(unreachable_code)]
            Ok(())
        };
        match block(run_until(work, std::future::pending())) {
            Outcome::Panicked(message) => assert_eq!(message, "the executor broke"),
            _ => panic!("the panic was not caught"),
        }
        let work = async { Ok(7) };
        assert!(matches!(
            block(run_until(work, std::future::pending())),
            Outcome::Finished(Ok(7))
        ));
        let work = std::future::pending::<Result<()>>();
        assert!(matches!(
            block(run_until(work, async {})),
            Outcome::Interrupted
        ));
    }
}
