//! Apply against an account that rate-limits: the proxy answers `Throttling`
//! above a token bucket, as IAM does, and apply must pace itself to it,
//! finish every change, and count what was throttled.

mod common;

use common::{RateLimit, TestEnv, stderr};
use serde_json::Value;

/// `clients` clients of `per_client` developers each, every developer in
/// two clients (every client has an app user).
fn config(clients: usize, per_client: usize) -> String {
    let developers = clients * per_client / 2;
    let mut text = String::from("[settings]\npath = \"/provision/\"\n\n");
    for d in 0..developers {
        text +=
            &format!("[[developers]]\nname = \"dev{d:03}\"\nemail = \"dev{d:03}@example.com\"\n\n");
    }
    for c in 0..clients {
        let members: Vec<String> = (0..developers)
            .filter(|d| d % clients == c || (d + 1) % clients == c)
            .map(|d| format!("\"dev{d:03}\""))
            .collect();
        text += &format!(
            "[[clients]]\nname = \"client{c:02}\"\nbuckets = [\"client{c:02}-assets\"]\naccess = \"read-write\"\ndevelopers = [{}]\n\n",
            members.join(", ")
        );
    }
    text
}

/// `--api-stats`' JSON line from stderr.
fn api_stats(stderr: &str) -> Value {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("api-calls: "))
        .unwrap_or_else(|| panic!("no api-calls line in:\n{stderr}"));
    serde_json::from_str(line).unwrap()
}

/// A rate-limited account costs time, not calls given up: against a bucket
/// of 20 calls a second with a burst of 10 (every call in one bucket, the
/// strictest account), an apply from empty finishes in one run, with a
/// small share of throttled answers, and counts each of them. Sending
/// `--concurrency` calls at a time with the SDK's backoff, as apply did
/// before it paced itself, had most answers throttled.
#[test]
fn apply_paces_itself_to_a_rate_limited_account() {
    let env = TestEnv::with_files(&[("clients.toml", &config(6, 8))]);
    env.proxy.set_faults(common::Faults {
        rate_limit: Some(RateLimit::all(20.0, 10.0)),
        ..common::Faults::default()
    });
    let assert = env
        .cmd()
        .arg("--api-stats")
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.creds())
        .assert();
    let err = stderr(&assert);
    assert!(
        assert.get_output().status.success(),
        "apply must finish every change:\n{err}"
    );
    let requests = env.proxy.requests();
    let throttled = env.proxy.throttled();
    let share = throttled as f64 / requests.len() as f64;
    eprintln!("{throttled} of {} calls throttled", requests.len());
    // Generous for a loaded machine: measured about 3%; unpaced, over 50%.
    assert!(
        share < 0.20,
        "{throttled} of {} calls were throttled",
        requests.len()
    );
    let stats = api_stats(&err);
    assert_eq!(
        stats["throttled"].as_u64(),
        Some(throttled as u64),
        "apply must count every throttled answer: {stats}"
    );
    assert_eq!(stats["total"].as_u64(), Some(requests.len() as u64));

    env.proxy.set_faults(common::Faults::default());
    let (code, out) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "the account must have converged:\n{out}");
}

/// Without a limit the pacer adds nothing: no call is throttled and apply
/// makes exactly the calls it counts.
#[test]
fn without_a_limit_apply_makes_no_extra_call() {
    let env = TestEnv::with_files(&[("clients.toml", &config(3, 4))]);
    let assert = env
        .cmd()
        .arg("--api-stats")
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.creds())
        .assert()
        .success();
    let stats = api_stats(&stderr(&assert));
    assert_eq!(stats["throttled"].as_u64(), Some(0));
    assert_eq!(env.proxy.throttled(), 0);
    assert_eq!(
        stats["total"].as_u64(),
        Some(env.proxy.requests().len() as u64)
    );
}
