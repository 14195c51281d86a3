//! The lines apply's progress prints: one per finished change with `-v`
//! (`[n/total] + user alice: done`, or `FAILED` with the reason), one per
//! tenth of the plan without a terminal (done, rate, time left), and the
//! summary of the calls an apply made.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::plan::Change;

/// How many lines a plan's progress takes without a terminal: one each
/// time another tenth of the changes is done.
pub const MILESTONES: usize = 10;

/// The line for a change that finished: `[3/7] + user alice: done`.
pub fn done_line(done: usize, total: usize, change: &Change) -> String {
    format!("[{done}/{total}] {}: done", change.label())
}

/// The line for a change that failed, `FAILED` in bold red when `color`.
pub fn failed_line(
    done: usize,
    total: usize,
    change: &Change,
    err: &dyn std::fmt::Display,
    color: bool,
) -> String {
    let style = if color {
        anstyle::AnsiColor::Red.on_default().bold()
    } else {
        anstyle::Style::new()
    };
    format!(
        "[{done}/{total}] {}: {}FAILED{}: {err}",
        change.label(),
        style.render(),
        style.render_reset()
    )
}

/// True when `done` of `total` changes crosses into a new tenth of the
/// plan (or finishes it), so a line is due.
pub fn is_milestone(done: usize, total: usize) -> bool {
    total > 0 && (done == total || done * MILESTONES / total > (done - 1) * MILESTONES / total)
}

/// The line for a tenth of the plan done, for logs without a bar:
/// `[140/1400] 10%: 9.8 changes/s, about 2m 09s left`.
pub fn milestone_line(done: usize, total: usize, elapsed: Duration) -> String {
    let percent = done * 100 / total.max(1);
    let rate = per_second(done, elapsed);
    match time_left(done, total, elapsed) {
        Some(left) if done < total => format!(
            "[{done}/{total}] {percent}%: {rate:.1} changes/s, about {} left",
            duration_text(left)
        ),
        _ => format!(
            "[{done}/{total}] {percent}%: {rate:.1} changes/s, in {}",
            duration_text(elapsed)
        ),
    }
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// The time the rest of the plan takes at the rate so far; `None` before
/// anything is done.
pub fn time_left(done: usize, total: usize, elapsed: Duration) -> Option<Duration> {
    (done > 0).then(|| elapsed.mul_f64((total - done.min(total)) as f64 / done as f64))
}

/// `45s`, `2m 09s`, `1h 05m`: a duration as people plan with it.
pub fn duration_text(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

/// The calls an apply made, for its last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallSummary {
    /// Attempts of calls that change the account, throttled ones included.
    pub writes: u64,
    /// Attempts of calls that only read.
    pub reads: u64,
    /// Attempts the account answered with a throttling error.
    pub throttled: u64,
}

impl CallSummary {
    /// The calls between two snapshots of the counts by operation, with
    /// the throttled answers between them.
    pub fn between(
        before: &BTreeMap<String, u64>,
        after: &BTreeMap<String, u64>,
        throttled: u64,
    ) -> CallSummary {
        let mut summary = CallSummary {
            throttled,
            ..CallSummary::default()
        };
        for (operation, count) in after {
            let count = count - before.get(operation).copied().unwrap_or(0).min(*count);
            if is_read_operation(operation) {
                summary.reads += count;
            } else {
                summary.writes += count;
            }
        }
        summary
    }
}

/// True for operations that only read: `Get*`, `List*`, `Simulate*` and
/// `GenerateCredentialReport` (which prepares a report and changes
/// nothing the account holds).
pub fn is_read_operation(operation: &str) -> bool {
    ["Get", "List", "Simulate"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
        || operation == "GenerateCredentialReport"
}

/// The summary of an apply's calls: `Calls to AWS: 1402 writes, 3 reads,
/// 41 throttled answers (2.9%); 9.8 accepted calls/s over 2m 23s.`
pub fn summary_line(calls: &CallSummary, elapsed: Duration) -> String {
    let attempts = calls.writes + calls.reads;
    let share = if attempts > 0 {
        100.0 * calls.throttled as f64 / attempts as f64
    } else {
        0.0
    };
    let accepted = attempts.saturating_sub(calls.throttled) as usize;
    format!(
        "Calls to AWS: {} writes, {} reads, {} throttled answers ({share:.1}%); {:.1} accepted calls/s over {}.",
        calls.writes,
        calls.reads,
        calls.throttled,
        per_second(accepted, elapsed),
        duration_text(elapsed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_per_tenth_of_the_plan_with_rate_and_time_left() {
        let lines: Vec<usize> = (1..=1400).filter(|d| is_milestone(*d, 1400)).collect();
        assert_eq!(
            lines,
            vec![140, 280, 420, 560, 700, 840, 980, 1120, 1260, 1400]
        );
        // A small plan: each change is a tenth or more.
        assert_eq!(
            (1..=3).filter(|d| is_milestone(*d, 3)).count(),
            3,
            "every change of a 3-change plan"
        );
        assert_eq!(
            milestone_line(140, 1400, Duration::from_secs(14)),
            "[140/1400] 10%: 10.0 changes/s, about 2m 06s left"
        );
        assert_eq!(
            milestone_line(1400, 1400, Duration::from_secs(143)),
            "[1400/1400] 100%: 9.8 changes/s, in 2m 23s"
        );
        assert_eq!(duration_text(Duration::from_secs(3725)), "1h 02m");
    }

    #[test]
    fn the_summary_counts_writes_reads_and_throttles_between_snapshots() {
        let before = BTreeMap::from([("GetAccountAuthorizationDetails".to_owned(), 1)]);
        let after = BTreeMap::from([
            ("GetAccountAuthorizationDetails".to_owned(), 1),
            ("CreateUser".to_owned(), 30),
            ("AddUserToGroup".to_owned(), 12),
            ("ListAccessKeys".to_owned(), 2),
        ]);
        let calls = CallSummary::between(&before, &after, 4);
        assert_eq!(
            calls,
            CallSummary {
                writes: 42,
                reads: 2,
                throttled: 4
            }
        );
        assert_eq!(
            summary_line(&calls, Duration::from_secs(4)),
            "Calls to AWS: 42 writes, 2 reads, 4 throttled answers (9.1%); 10.0 accepted calls/s over 4s."
        );
    }

    #[test]
    fn progress_lines_name_the_change_and_paint_only_when_asked() {
        let change = Change::CreateGroup {
            group: "client-acme".into(),
            path: "/provision/".into(),
        };
        assert_eq!(done_line(1, 3, &change), "[1/3] + group client-acme: done");
        assert_eq!(
            failed_line(1, 3, &change, &"CreateGroup: refused", false),
            "[1/3] + group client-acme: FAILED: CreateGroup: refused"
        );
        let painted = failed_line(1, 3, &change, &"refused", true);
        assert!(painted.contains("\u{1b}["), "{painted}");
        assert!(painted.contains("FAILED"), "{painted}");
    }
}
