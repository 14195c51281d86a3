//! What the program says on the terminal besides its results: how much
//! (`-q`, `-v`), structured logs (`tracing`, `RUST_LOG`), coloured errors,
//! and the progress of an apply.
//!
//! Colours follow the usual conventions: on for terminals, off when the
//! stream is a pipe or a file, or when `NO_COLOR` is set (`anstream` and
//! `anstyle`, which clap already uses, decide).

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::EnvFilter;

use crate::plan::Change;

/// How much the program says on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only; no progress, no notes.
    Quiet,
    /// The default: progress and notes, warnings from the logs.
    Normal,
    /// `-v` (1), `-vv` (2), `-vvv` (3): more of provision's own logs.
    Verbose(u8),
}

impl Verbosity {
    /// From the count of `-v` and the `-q` flag (clap makes them exclusive).
    pub fn from_flags(verbose: u8, quiet: bool) -> Verbosity {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, n) => Verbosity::Verbose(n),
        }
    }

    /// The log filter used when `RUST_LOG` is not set: provision's own
    /// events only. The AWS SDK's are about requests and credential
    /// providers (a missing instance-metadata service is a warning there,
    /// and normal on a laptop), so they are left to `RUST_LOG`.
    pub fn default_filter(self) -> &'static str {
        match self {
            Verbosity::Quiet => "provision=error",
            Verbosity::Normal => "provision=warn",
            Verbosity::Verbose(1) => "provision=info",
            Verbosity::Verbose(2) => "provision=debug",
            Verbosity::Verbose(_) => "provision=trace",
        }
    }
}

static VERBOSITY: OnceLock<Verbosity> = OnceLock::new();

/// Set the verbosity and start the log subscriber; call once, first thing.
///
/// Logs go to stderr, so stdout stays the plan or the JSON. `RUST_LOG`, when
/// set, replaces the filter that `-v`/`-q` choose.
pub fn init(verbosity: Verbosity) {
    let _ = VERBOSITY.set(verbosity);
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new(verbosity.default_filter()));
    // `try_init`: a second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color_stderr())
        .try_init();
}

/// The verbosity set by [`init`] (normal when it was not called).
pub fn verbosity() -> Verbosity {
    VERBOSITY.get().copied().unwrap_or(Verbosity::Normal)
}

/// True with `-q`: say nothing but errors on stderr.
pub fn quiet() -> bool {
    verbosity() == Verbosity::Quiet
}

/// True when stderr should get colours.
pub fn color_stderr() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

/// Print `error: MESSAGE` to stderr, `error` in bold red on a terminal.
pub fn error(message: &dyn std::fmt::Display) {
    let style = anstyle::AnsiColor::Red.on_default().bold();
    anstream::eprintln!("{}error{}: {message}", style.render(), style.render_reset());
}

fn describe(change: &Change) -> String {
    change.label()
}

/// Progress of an apply on stderr. On a terminal, a bar (done/total,
/// elapsed time, the operation started last) with each finished change
/// printed above it; elsewhere (CI logs, pipes) and with `-v`, one plain
/// line per finished change, `[n/total] + user alice: done`; with `-q`,
/// failures only.
pub struct Progress {
    bar: Option<ProgressBar>,
    done: usize,
    total: usize,
}

impl Progress {
    /// Start showing progress of `total` changes.
    pub fn new(total: usize) -> Progress {
        // Not with `-v`: log lines written beside a bar that redraws itself
        // would be garbled, so verbose runs get the plain lines.
        let bar =
            (std::io::stderr().is_terminal() && verbosity() == Verbosity::Normal).then(|| {
                let bar =
                    ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}",
                    )
                    .expect("the template is valid"),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
        Progress {
            bar,
            done: 0,
            total,
        }
    }

    /// A change was handed to AWS.
    pub fn started(&mut self, change: &Change) {
        tracing::debug!(change = %describe(change), "started");
        if let Some(bar) = &self.bar {
            bar.set_message(describe(change));
        }
    }

    /// A change finished.
    pub fn done(&mut self, change: &Change) {
        self.done += 1;
        tracing::info!(change = %describe(change), "done");
        let line = format!("[{}/{}] {}: done", self.done, self.total, describe(change));
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.println(line);
            }
            None if !quiet() => eprintln!("{line}"),
            None => {}
        }
    }

    /// A change failed; always shown, even with `-q`.
    pub fn failed(&mut self, change: &Change, err: &dyn std::fmt::Display) {
        tracing::warn!(change = %describe(change), error = %err, "failed");
        // Painted only where colours belong; without a bar, anstream strips
        // them itself.
        let style = if color_stderr() {
            anstyle::AnsiColor::Red.on_default().bold()
        } else {
            anstyle::Style::new()
        };
        let line = format!(
            "[{}/{}] {}: {}FAILED{}: {err}",
            self.done,
            self.total,
            describe(change),
            style.render(),
            style.render_reset()
        );
        match &self.bar {
            Some(bar) => bar.println(line),
            None => anstream::eprintln!("{line}"),
        }
    }

    /// Remove the bar; the lines printed above it stay.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Verbosity;

    #[test]
    fn flags_choose_the_log_filter() {
        assert_eq!(
            Verbosity::from_flags(0, true).default_filter(),
            "provision=error"
        );
        assert_eq!(
            Verbosity::from_flags(0, false).default_filter(),
            "provision=warn"
        );
        assert_eq!(
            Verbosity::from_flags(1, false).default_filter(),
            "provision=info"
        );
        assert_eq!(
            Verbosity::from_flags(5, false).default_filter(),
            "provision=trace"
        );
    }
}
