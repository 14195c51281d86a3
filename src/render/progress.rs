//! The lines apply's progress prints, one per finished change:
//! `[n/total] + user alice: done`, or `FAILED` with the reason.

use crate::plan::Change;

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

#[cfg(test)]
mod tests {
    use super::*;

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
