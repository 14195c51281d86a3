//! The project's scripts, run as a user runs them.

use std::path::Path;
use std::process::Command;

/// `scripts/test --test NAME` with a NAME that does not exist used to end
/// on cargo's error followed by `all: 0 passed, 0 failed, 0 skipped`,
/// which reads like success. It must say that no test ran, and fail.
#[test]
fn scripts_test_with_an_unknown_test_name_reports_the_failure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // An empty target directory of its own: cargo stops at the unknown
    // name before building anything, and never waits on the lock of the
    // build that runs this test.
    let target = tempfile::tempdir().unwrap();
    let out = Command::new(root.join("scripts/test"))
        .args(["--test", "no-such-test-file"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target.path())
        .output()
        .expect("run scripts/test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(101),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("no test target named `no-such-test-file`")
            || stderr.contains("no test target named `no-such-test-file`"),
        "cargo's own error must be shown:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("error: no test ran: cargo failed (exit 101) before running any test"),
        "stderr:\n{stderr}"
    );
    assert!(!stdout.contains("all: 0 passed"), "stdout:\n{stdout}");
}
