//! What the program says on the terminal besides its results, and the one
//! place that decides it: the [`Printer`]. Only the commands (`cmd`) and
//! `main` use it; everything else returns values and errors for them to
//! show.
//!
//! How much is said follows `-q` and `-v` ([`Verbosity`]): with `-q`, errors
//! only; warnings, notes, progress and status lines are left out. Colours
//! follow the usual conventions, decided once per stream by `anstream` (which
//! clap already uses): on for terminals, off when the stream is a pipe or a
//! file, or when `NO_COLOR` is set, on when `CLICOLOR_FORCE` is. Structured
//! logs (`tracing`, `RUST_LOG`) go to stderr with the same colour decision.

use std::fmt::{self, Display};
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use anstream::{AutoStream, ColorChoice};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::EnvFilter;

use crate::config::diag::Diagnostics;
use crate::plan::Change;
use crate::render::progress::{done_line, failed_line, is_milestone, milestone_line};

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

/// Decides what is shown on the terminal and in which colours, and shows
/// it. Every warning, note and status line goes through here, so `-q` and
/// the colour rules hold for all of them.
///
/// Both streams are written through `anstream` with the choice made once in
/// [`Printer::new`]: where colours are off, it also strips any escape
/// sequence the text itself might hold (a file name, say), so nothing
/// printed can repaint the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    verbosity: Verbosity,
    /// Colours on stderr: messages, logs, progress.
    stderr: ColorChoice,
    /// Colours on stdout: results (a coloured text plan).
    stdout: ColorChoice,
}

impl Printer {
    /// A printer for `verbosity`, with colours decided for the process's
    /// own stdout and stderr by `anstream`'s rules (terminal, `NO_COLOR`,
    /// `CLICOLOR`, `CLICOLOR_FORCE`, `TERM=dumb`).
    pub fn new(verbosity: Verbosity) -> Printer {
        Printer {
            verbosity,
            stderr: AutoStream::choice(&io::stderr()),
            stdout: AutoStream::choice(&io::stdout()),
        }
    }

    pub fn verbosity(self) -> Verbosity {
        self.verbosity
    }

    /// True with `-q`: say nothing but errors on stderr.
    pub fn quiet(self) -> bool {
        self.verbosity == Verbosity::Quiet
    }

    /// True when stderr gets colours.
    pub fn color(self) -> bool {
        self.stderr != ColorChoice::Never
    }

    /// Standard output for results, with the colour choice made for it:
    /// a plan written to it in colour loses them where they do not belong.
    pub fn stdout(self) -> AutoStream<io::StdoutLock<'static>> {
        AutoStream::new(io::stdout().lock(), self.stdout)
    }

    /// Writes `text` to stderr. A closed stderr is no reason to stop, so
    /// errors writing it are ignored.
    fn write(self, text: fmt::Arguments<'_>) {
        let mut err = AutoStream::new(io::stderr().lock(), self.stderr);
        let _ = err.write_fmt(text);
        let _ = err.flush();
    }

    /// `error: MESSAGE` on stderr, `error` in bold red; always shown.
    pub fn error(self, message: impl Display) {
        let style = anstyle::AnsiColor::Red.on_default().bold();
        self.write(format_args!(
            "{}error{}: {message}\n",
            style.render(),
            style.render_reset()
        ));
    }

    /// `warning: MESSAGE` on stderr, `warning` in bold yellow; not with `-q`.
    pub fn warning(self, message: impl Display) {
        if !self.quiet() {
            let style = anstyle::AnsiColor::Yellow.on_default().bold();
            self.write(format_args!(
                "{}warning{}: {message}\n",
                style.render(),
                style.render_reset()
            ));
        }
    }

    /// `note: MESSAGE` on stderr; not with `-q`.
    pub fn note(self, message: impl Display) {
        if !self.quiet() {
            self.write(format_args!("note: {message}\n"));
        }
    }

    /// A line saying what was done (`Apply complete: ...`); not with `-q`.
    pub fn status(self, message: impl Display) {
        if !self.quiet() {
            self.write(format_args!("{message}\n"));
        }
    }

    /// A line that explains a failure or answers a flag (`--api-stats`);
    /// always shown, `-q` included.
    pub fn line(self, message: impl Display) {
        self.write(format_args!("{message}\n"));
    }

    /// Diagnostics of the clients files, rendered with carets: errors are
    /// always shown, warnings alone not with `-q`.
    pub fn diagnostics(self, diagnostics: &Diagnostics) {
        if diagnostics.is_empty() || (self.quiet() && !diagnostics.has_errors()) {
            return;
        }
        self.write(format_args!("{}", diagnostics.render(self.color())));
    }

    /// A question on stderr, left on the line for the answer.
    pub fn prompt(self, question: &str) {
        self.write(format_args!("{question}"));
    }

    /// Starts the log subscriber; call once, first thing.
    ///
    /// Logs go to stderr, so stdout stays the plan or the JSON. `RUST_LOG`,
    /// when set, replaces the filter that `-v`/`-q` choose.
    pub fn init_logs(self) {
        let filter = std::env::var("RUST_LOG")
            .ok()
            .and_then(|spec| EnvFilter::try_new(spec).ok())
            .unwrap_or_else(|| EnvFilter::new(self.verbosity.default_filter()));
        // `try_init`: a second call (tests) keeps the first subscriber.
        // A log line that cannot be written (a closed stderr) is dropped:
        // reporting it would write to stderr again, with `eprintln!`, which
        // panics there.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .log_internal_errors(false)
            .with_writer(io::stderr)
            .with_ansi(self.color())
            .try_init();
    }
}

/// Progress of an apply on stderr. On a terminal, a bar (done/total,
/// elapsed time, changes per second, time left, the operation started
/// last) with each finished change printed above it; elsewhere (CI logs,
/// pipes), one line per tenth of the plan with the same figures, so a large
/// apply's log stays short and says when it will end; with `-v`, one plain
/// line per finished change, `[n/total] + user alice: done`; with `-q`,
/// failures only.
pub struct Progress {
    printer: Printer,
    bar: Option<ProgressBar>,
    done: usize,
    total: usize,
    started: Instant,
}

impl Progress {
    /// Start showing progress of `total` changes.
    pub fn new(printer: Printer, total: usize) -> Progress {
        // Not with `-v`: log lines written beside a bar that redraws itself
        // would be garbled, so verbose runs get the plain lines.
        let bar =
            (io::stderr().is_terminal() && printer.verbosity() == Verbosity::Normal).then(|| {
                let bar =
                    ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {per_sec} ETA {eta} {wide_msg}",
                    )
                    .expect("the template is valid"),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
        Progress {
            printer,
            bar,
            done: 0,
            total,
            started: Instant::now(),
        }
    }

    /// A change was handed to AWS.
    pub fn started(&mut self, change: &Change) {
        tracing::debug!(change = %change.label(), "started");
        if let Some(bar) = &self.bar {
            bar.set_message(change.label());
        }
    }

    /// A change finished.
    pub fn done(&mut self, change: &Change) {
        self.done += 1;
        tracing::info!(change = %change.label(), "done");
        let line = done_line(self.done, self.total, change);
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.println(line);
            }
            None if matches!(self.printer.verbosity(), Verbosity::Verbose(_)) => {
                self.printer.status(line)
            }
            None if is_milestone(self.done, self.total) => self.printer.status(milestone_line(
                self.done,
                self.total,
                self.started.elapsed(),
            )),
            None => {}
        }
    }

    /// A change failed; always shown, even with `-q`.
    pub fn failed(&mut self, change: &Change, err: &dyn Display) {
        tracing::warn!(change = %change.label(), error = %err, "failed");
        let line = failed_line(self.done, self.total, change, err, self.printer.color());
        match &self.bar {
            Some(bar) => bar.println(line),
            None => self.printer.line(line),
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
