//! The benchmark behind `scripts/bench` and BENCHMARKS.md. Every test here
//! is `#[ignore]`d: they take minutes and are meant for a release build
//! (`scripts/bench` runs them), not for every CI run.
//!
//! - `planning_time`: `plan::plan` alone, no IO, on a generated
//!   configuration (`BENCH_CLIENTS` clients, default 300, and 15 developers
//!   per client, each developer in 3 clients).
//! - `against_moto`: the real binary against moto through the counting
//!   proxy: apply from empty, `verify` of the result, a no-op plan, a 1%
//!   change, and calls in flight with 100 ms of injected latency. Printed
//!   per scenario: API calls by action, wall time and peak memory (GNU
//!   time's maximum RSS).
//! - `rate_limited`: apply from empty of 30 clients against the proxy's
//!   token bucket (`BENCH_RATE` calls a second, default 10, burst twice
//!   that), next to the same apply without a limit.
//! - `verify_at_scale`: `verify` of an applied account (`BENCH_CLIENTS`
//!   clients), text and JSON, against the server with and without the
//!   same token bucket, side by side; with `BENCH_VERIFY_BEFORE` set to
//!   another build, its output is compared byte for byte.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{CountingProxy, Faults, MotoServer, RateLimit, is_read_action, provision_process};
use provision::model::{ACCESS_KEY_TAG_KEY, Observed, ObservedGroup, ObservedUser};
use provision::plan::{self, Change};

/// Developers per client on average: 300 clients give 4,500 developers.
const DEVELOPERS_PER_CLIENT: usize = 15;
/// Clients each developer works for.
const CLIENTS_PER_DEVELOPER: usize = 3;
const ACCOUNT: &str = "123456789012";

fn clients_from_env() -> usize {
    std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// The generated configuration: `developers.toml` and `clients.toml` in
/// `dir`. `changed_percent` percent of the developers each move from one
/// of their clients to another (two membership changes each).
fn write_config(dir: &Path, clients: usize, changed_percent: usize) {
    let developers = clients * DEVELOPERS_PER_CLIENT;
    let mut devs = String::from("[settings]\npath = \"/provision/\"\n\n");
    for d in 0..developers {
        devs +=
            &format!("[[developers]]\nname = \"dev{d:05}\"\nemail = \"dev{d:05}@example.com\"\n\n");
    }
    let moved = developers * changed_percent / 100;
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); clients];
    for d in 0..developers {
        for k in 0..CLIENTS_PER_DEVELOPER {
            let mut c = (d + k * clients / CLIENTS_PER_DEVELOPER) % clients;
            // Moved developers leave their first client for the next one
            // that does not have them yet.
            if k == 0 && d < moved {
                c = (c + clients - 1) % clients;
            }
            members[c].push(d);
        }
    }
    let mut text = String::new();
    for (c, devs) in members.iter().enumerate() {
        let list: Vec<String> = devs.iter().map(|d| format!("\"dev{d:05}\"")).collect();
        text += &format!(
            "[[clients]]\nname = \"c{c:04}\"\nbuckets = [\"c{c:04}-assets\", \"c{c:04}-assets-dev\"]\naccess = \"read-write\"\ndevelopers = [{}]\n\n",
            list.join(", ")
        );
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("developers.toml"), devs).unwrap();
    std::fs::write(dir.join("clients.toml"), text).unwrap();
}

/// The account as it is once `plan` was applied to an empty one, built in
/// memory the way `observe` would read it.
fn applied(plan: &plan::Plan) -> Observed {
    let mut observed = Observed::default();
    for change in &plan.changes {
        match change {
            Change::CreateUser {
                user, path, tags, ..
            } => {
                observed.users.insert(
                    user.clone(),
                    ObservedUser {
                        name: user.clone(),
                        path: path.clone(),
                        arn: format!("arn:aws:iam::{ACCOUNT}:user{path}{user}"),
                        tags: tags.clone(),
                        ..ObservedUser::default()
                    },
                );
            }
            Change::CreateGroup { group, path } => {
                observed.groups.insert(
                    group.clone(),
                    ObservedGroup {
                        name: group.clone(),
                        path: path.clone(),
                        arn: format!("arn:aws:iam::{ACCOUNT}:group{path}{group}"),
                        ..ObservedGroup::default()
                    },
                );
            }
            _ => {}
        }
    }
    for change in &plan.changes {
        match change {
            Change::PutGroupPolicy {
                group,
                policy_name,
                after,
                ..
            } => {
                let group = observed.groups.get_mut(group).unwrap();
                group
                    .inline_policies
                    .insert(policy_name.clone(), after.clone());
            }
            Change::AddMember { group, user } => {
                let user = observed.users.get_mut(user).unwrap();
                user.groups.insert(group.clone());
            }
            Change::CreateAccessKey { user, .. } => {
                let user = observed.users.get_mut(user).unwrap();
                user.tags.insert(
                    ACCESS_KEY_TAG_KEY.to_owned(),
                    format!("AKIA{:016}", user.name.len()),
                );
            }
            _ => {}
        }
    }
    observed
}

/// The fastest of `runs` timings of `f`, which returns something to keep
/// the optimizer honest.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed());
        last = Some(out);
    }
    (best, last.unwrap())
}

/// This process's peak resident memory, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[test]
#[ignore = "benchmark: run with scripts/bench"]
fn planning_time() {
    let clients = clients_from_env();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), clients, 0);
    let paths = vec![dir.path().to_owned()];

    let (load_time, desired) = best_of(5, || provision::config::load(&paths).unwrap());
    let empty = Observed::default();
    let (from_empty, full) = best_of(5, || plan::plan(&desired, &empty, ACCOUNT).unwrap());
    let converged = applied(&full);
    let (no_op, none) = best_of(5, || plan::plan(&desired, &converged, ACCOUNT).unwrap());
    assert!(
        none.changes.is_empty(),
        "the converged state must plan no change"
    );

    let changed_dir = tempfile::tempdir().unwrap();
    write_config(changed_dir.path(), clients, 1);
    let changed = provision::config::load(&[changed_dir.path().to_owned()]).unwrap();
    let (one_percent, some) = best_of(5, || plan::plan(&changed, &converged, ACCOUNT).unwrap());

    let users = converged.users.len();
    println!(
        "planning (no IO), {clients} clients, {users} users, {} groups:",
        converged.groups.len()
    );
    println!(
        "  load + validate config: {:>8.1} ms",
        load_time.as_secs_f64() * 1e3
    );
    println!(
        "  plan from empty:        {:>8.1} ms  ({} changes)",
        from_empty.as_secs_f64() * 1e3,
        full.changes.len()
    );
    println!(
        "  plan, no change:        {:>8.1} ms",
        no_op.as_secs_f64() * 1e3
    );
    println!(
        "  plan, 1% change:        {:>8.1} ms  ({} changes)",
        one_percent.as_secs_f64() * 1e3,
        some.changes.len()
    );
    if let Some(peak) = peak_rss_mib() {
        println!("  peak RSS of this process: {peak:.1} MiB");
    }
}

/// One run of the binary, measured.
struct Run {
    ok: bool,
    wall: f64,
    max_rss_mib: f64,
    /// `--api-stats` counts, by operation.
    stats: BTreeMap<String, u64>,
    stdout: String,
    stderr: String,
}

fn run(proxy: &CountingProxy, args: &[&str], paths: &Path) -> Run {
    run_with(proxy, None, args, paths, None)
}

/// [`run`], optionally of another `binary` than the one built, and with
/// its standard output written to `stdout` (a file, or `/dev/null`)
/// rather than read through a pipe; `Run::stdout` is then empty.
fn run_with(
    proxy: &CountingProxy,
    binary: Option<&Path>,
    args: &[&str],
    paths: &Path,
    stdout: Option<&Path>,
) -> Run {
    let std_cmd = provision_process(&proxy.url());
    let timing = tempfile::NamedTempFile::new().unwrap();
    let mut command = Command::new("/usr/bin/time");
    command
        .arg("-o")
        .arg(timing.path())
        .args(["-f", "%e %M"])
        .arg(binary.map_or(std_cmd.get_program(), Path::as_os_str))
        .arg("--api-stats")
        .args(args)
        .arg(paths);
    for (key, value) in std_cmd.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    if let Some(path) = stdout {
        command.stdout(std::fs::File::create(path).unwrap());
    }
    let out = command
        .output()
        .expect("run /usr/bin/time (install GNU time)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let timing = std::fs::read_to_string(timing.path()).unwrap();
    let last = timing.lines().last().unwrap_or_default();
    let mut fields = last.split_whitespace();
    let wall: f64 = fields
        .next()
        .and_then(|f| f.parse().ok())
        .unwrap_or(f64::NAN);
    let rss_kib: f64 = fields
        .next()
        .and_then(|f| f.parse().ok())
        .unwrap_or(f64::NAN);
    let stats = stderr
        .lines()
        .find_map(|l| l.strip_prefix("api-calls: "))
        .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        .and_then(|v| serde_json::from_value(v["by_operation"].clone()).ok())
        .unwrap_or_default();
    Run {
        ok: out.status.success(),
        wall,
        max_rss_mib: rss_kib / 1024.0,
        stats,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    }
}

/// The writes a plan lists: one call per change, plus the `TagUser` that
/// records each new key.
fn planned_writes(plan_json: &str) -> usize {
    let plan: serde_json::Value = serde_json::from_str(plan_json).expect("plan JSON");
    let changes = plan["changes"].as_array().unwrap();
    changes.len() + changes.iter().filter(|c| c["kind"] == "access-key").count()
}

fn report(name: &str, run: &Run, proxy: &CountingProxy) {
    let calls = proxy.calls();
    let mut by_action: BTreeMap<&str, usize> = BTreeMap::new();
    for call in &calls {
        *by_action.entry(call.as_str()).or_default() += 1;
    }
    // S3 calls are REST (`GET /bucket/`): a GET or HEAD only reads.
    let requests = proxy.requests();
    let s3_read = |c: &common::Call| {
        !c.query_protocol && (c.action.starts_with("GET ") || c.action.starts_with("HEAD "))
    };
    let reads = requests
        .iter()
        .filter(|c| is_read_action(&c.action) || s3_read(c))
        .count();
    println!(
        "{name}: {} calls ({} reads, {} writes), {:.2} s, max RSS {:.1} MiB, max in flight {}",
        calls.len(),
        reads,
        calls.len() - reads,
        run.wall,
        run.max_rss_mib,
        proxy.max_in_flight()
    );
    println!("  by action (proxy): {by_action:?}");
    // verify reads four settings of every client bucket.
    let buckets: std::collections::BTreeSet<&str> = requests
        .iter()
        .filter(|c| s3_read(c))
        .filter_map(|c| c.action.split('/').nth(1))
        .collect();
    if !buckets.is_empty() {
        let s3_calls = requests.iter().filter(|c| s3_read(c)).count();
        println!(
            "  S3 reads: {s3_calls} over {} bucket(s), {:.1} per bucket",
            buckets.len(),
            s3_calls as f64 / buckets.len() as f64
        );
    }
    println!("  by action (--api-stats): {:?}", run.stats);
}

#[test]
#[ignore = "benchmark: run with scripts/bench"]
fn against_moto() {
    let clients = clients_from_env();
    let developers = clients * DEVELOPERS_PER_CLIENT;
    let moto = MotoServer::start();
    let proxy = CountingProxy::start(&moto.url());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("clients");
    let creds = dir.path().join("creds");
    let creds_arg = creds.to_str().unwrap().to_owned();
    write_config(&config, clients, 0);
    let entities = developers + 2 * clients;
    println!(
        "against moto: {clients} clients, {developers} developers, {} users, {clients} groups",
        developers + clients
    );

    // Apply from empty.
    let planned = run(&proxy, &["plan", "--format", "json"], &config);
    assert!(planned.ok, "{}", planned.stderr);
    let want_writes = planned_writes(&planned.stdout);
    proxy.clear();
    let applied = run(
        &proxy,
        &["apply", "--yes", "--credentials-dir", &creds_arg],
        &config,
    );
    assert!(applied.ok, "apply failed:\n{}", tail(&applied.stderr));
    report("apply from empty", &applied, &proxy);
    println!(
        "  writes: {} made, {want_writes} listed by the plan",
        proxy.writes().len()
    );

    // verify on the converged account: every principal against every
    // resource. Its output is the whole matrix.
    proxy.clear();
    let verified = run(&proxy, &["verify"], &config);
    report("verify", &verified, &proxy);
    println!(
        "  exit {}, {} bytes of output",
        if verified.ok {
            "0 (isolated)"
        } else {
            "non-zero"
        },
        verified.stdout.len()
    );

    // No-op plan.
    proxy.clear();
    let noop = run(&proxy, &["plan", "--detailed-exitcode"], &config);
    assert!(
        noop.ok,
        "the plan after apply must be empty:\n{}",
        tail(&noop.stdout)
    );
    report("no-op plan", &noop, &proxy);
    println!(
        "  target: at most ceil({entities} / 1000) + 3 = {} calls",
        entities.div_ceil(1000) + 3
    );

    // A 1% change.
    write_config(&config, clients, 1);
    let planned = run(&proxy, &["plan", "--format", "json"], &config);
    let want_writes = planned_writes(&planned.stdout);
    proxy.clear();
    let changed = run(
        &proxy,
        &["apply", "--yes", "--credentials-dir", &creds_arg],
        &config,
    );
    assert!(changed.ok, "apply failed:\n{}", tail(&changed.stderr));
    report("1% change", &changed, &proxy);
    println!(
        "  writes: {} made, {want_writes} listed by the plan",
        proxy.writes().len()
    );

    // Calls in flight with 100 ms of latency on every call: move 5% of the
    // developers (enough changes to fill any concurrency), back and forth.
    for (concurrency, changed_percent) in [(4, 5), (8, 1), (16, 5)] {
        write_config(&config, clients, changed_percent);
        proxy.set_faults(Faults {
            latency: Duration::from_millis(100),
            ..Faults::default()
        });
        proxy.clear();
        let latency = run(
            &proxy,
            &[
                "apply",
                "--yes",
                "--credentials-dir",
                &creds_arg,
                "--concurrency",
                &concurrency.to_string(),
            ],
            &config,
        );
        proxy.set_faults(Faults::default());
        assert!(latency.ok, "apply failed:\n{}", tail(&latency.stderr));
        report(
            &format!("100 ms latency, --concurrency {concurrency}"),
            &latency,
            &proxy,
        );
    }
}

/// Apply from empty against a rate-limited account, next to the same apply
/// without a limit: the proxy answers `Throttling` above a token bucket of
/// `BENCH_RATE` calls a second (default 10) with a burst of twice that, one
/// bucket for every call. Always 30 clients (300 developers, about 1,400
/// writes): long enough for the pacer to settle, short enough to run.
#[test]
#[ignore = "benchmark: run with scripts/bench"]
fn rate_limited() {
    let clients = 30;
    let rate: f64 = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10.0);
    let burst = 2.0 * rate;
    println!(
        "rate-limited apply from empty: {clients} clients, {} developers, server {rate}/s, burst {burst}",
        clients * DEVELOPERS_PER_CLIENT
    );
    println!(
        "| server | writes (plan) | calls | throttled | wall | writes / rate | wall / (writes / rate) | failed |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for limited in [false, true] {
        let moto = MotoServer::start();
        let proxy = CountingProxy::start(&moto.url());
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("clients");
        let creds = dir.path().join("creds");
        write_config(&config, clients, 0);
        let planned = run(&proxy, &["plan", "--format", "json"], &config);
        assert!(planned.ok, "{}", planned.stderr);
        let want_writes = planned_writes(&planned.stdout);
        proxy.clear();
        if limited {
            proxy.set_faults(Faults {
                rate_limit: Some(RateLimit::all(rate, burst)),
                ..Faults::default()
            });
        }
        let applied = run(
            &proxy,
            &[
                "apply",
                "--yes",
                "--credentials-dir",
                creds.to_str().unwrap(),
            ],
            &config,
        );
        let failed = applied
            .stderr
            .lines()
            .filter(|l| l.contains("FAILED"))
            .count();
        assert!(applied.ok, "apply failed:\n{}", tail(&applied.stderr));
        let calls = proxy.requests().len();
        let throttled = proxy.throttled();
        let writes = proxy.writes().len();
        let ideal = writes as f64 / rate;
        println!(
            "| {} | {writes} ({want_writes}) | {calls} | {throttled} ({:.1}%) | {:.1} s | {} | {} | {failed} |",
            if limited {
                format!("{rate}/s, burst {burst}")
            } else {
                "no limit".to_owned()
            },
            100.0 * throttled as f64 / calls as f64,
            applied.wall,
            if limited {
                format!("{ideal:.1} s")
            } else {
                "-".to_owned()
            },
            if limited {
                format!("{:.3}", applied.wall / ideal)
            } else {
                "-".to_owned()
            },
        );
        if let Some(summary) = applied
            .stderr
            .lines()
            .find(|l| l.starts_with("Calls to AWS:"))
        {
            println!("  apply's summary: {summary}");
        }
        for line in applied
            .stderr
            .lines()
            .filter(|l| l.starts_with('[') && l.contains('%'))
        {
            println!("  progress: {line}");
        }
    }
}

/// `verify` at scale, next to the targets (2 s, 64 MiB at 300 clients and
/// 4,500 developers), against the server without a limit and with the
/// proxy's token bucket (`BENCH_RATE` calls a second, default 10, burst
/// twice that), side by side: text to a file, JSON to a file, and text to
/// `/dev/null` (what writing the output itself costs). With
/// `BENCH_VERIFY_BEFORE` naming another build of `provision`, its output
/// on the same account is compared byte for byte with this one's, and its
/// figures are printed too.
#[test]
#[ignore = "benchmark: run with scripts/bench"]
fn verify_at_scale() {
    let clients = clients_from_env();
    let rate: f64 = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10.0);
    let before = std::env::var_os("BENCH_VERIFY_BEFORE").map(std::path::PathBuf::from);
    let moto = MotoServer::start();
    let proxy = CountingProxy::start(&moto.url());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("clients");
    let creds = dir.path().join("creds");
    write_config(&config, clients, 0);
    let applied = run(
        &proxy,
        &[
            "apply",
            "--yes",
            "--credentials-dir",
            creds.to_str().unwrap(),
        ],
        &config,
    );
    assert!(applied.ok, "apply failed:\n{}", tail(&applied.stderr));
    let buckets = bucket_names(clients);
    let started = Instant::now();
    block_on(make_buckets_as_aws_does(&moto.url(), &buckets));
    println!(
        "the account's {} buckets made as AWS makes them (ACLs off, Block Public Access on, and on for the account) in {:.1} s",
        buckets.len(),
        started.elapsed().as_secs_f64()
    );
    let (text, json) = evaluation_alone(&config, &buckets);
    println!(
        "evaluation alone (no IO: matrix, resource side and output to a sink, best of 3): text {:.2} s, JSON {:.2} s",
        text.as_secs_f64(),
        json.as_secs_f64()
    );
    block_on(s3_read_latency(&moto.url(), &proxy.url(), &buckets));
    println!(
        "verify: {clients} clients, {} developers (applied in {:.1} s); targets at 300 clients: 2 s, 64 MiB",
        clients * DEVELOPERS_PER_CLIENT,
        applied.wall
    );
    println!(
        "| server | binary | output | calls | throttled | wall | peak memory | bytes | exit |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let out = dir.path().join("out");
    let mut binaries: Vec<(&str, Option<&Path>)> = vec![("this", None)];
    if let Some(before) = &before {
        binaries.push(("before", Some(before.as_path())));
    }
    for limited in [false, true] {
        let server = if limited {
            proxy.set_faults(Faults {
                rate_limit: Some(RateLimit::all(rate, 2.0 * rate)),
                ..Faults::default()
            });
            format!("{rate}/s, burst {}", 2.0 * rate)
        } else {
            proxy.set_faults(Faults::default());
            "no limit".to_owned()
        };
        let mut outputs: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();
        for (binary, path) in &binaries {
            for (output, format, to) in [
                ("text to a file", "text", out.as_path()),
                ("JSON to a file", "json", out.as_path()),
                ("text to /dev/null", "text", Path::new("/dev/null")),
            ] {
                proxy.clear();
                let verified = run_with(
                    &proxy,
                    *path,
                    &["verify", "--format", format],
                    &config,
                    Some(to),
                );
                let bytes = if to == out.as_path() {
                    let written = std::fs::read(&out).unwrap();
                    let len = written.len();
                    outputs.entry(binary).or_default().push(written);
                    len.to_string()
                } else {
                    "-".to_owned()
                };
                println!(
                    "| {server} | {binary} | {output} | {} | {} | {:.2} s | {:.1} MiB | {bytes} | {} |",
                    proxy.requests().len(),
                    proxy.throttled(),
                    verified.wall,
                    verified.max_rss_mib,
                    if verified.ok { "0" } else { "1" },
                );
                assert!(
                    verified.ok,
                    "verify must find the applied account isolated:\n{}",
                    tail(&verified.stderr)
                );
            }
        }
        if let Some(old) = outputs.get("before") {
            let same = old == &outputs["this"];
            println!("  output (text and JSON) identical to the build before: {same}");
            assert!(same, "verify's output differs from the build before");
        }
    }
    proxy.set_faults(Faults::default());
}

/// The buckets of the generated configuration's `clients` clients.
fn bucket_names(clients: usize) -> Vec<String> {
    (0..clients)
        .flat_map(|c| [format!("c{c:04}-assets"), format!("c{c:04}-assets-dev")])
        .collect()
}

/// Makes `buckets` in the emulator at `url` as AWS makes a bucket since
/// April 2023, Object Ownership `BucketOwnerEnforced` (ACLs off) and Block
/// Public Access on, in an account whose own Block Public Access is on.
async fn make_buckets_as_aws_does(url: &str, buckets: &[String]) {
    use aws_sdk_s3::types::{
        ObjectOwnership, OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration,
    };
    use futures_util::StreamExt;
    let s3 = common::s3_client(
        url,
        common::TEST_ACCESS_KEY_ID,
        common::TEST_SECRET_ACCESS_KEY,
    );
    let block = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    let control = common::s3control_client(url);
    let all = aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    control
        .put_public_access_block()
        .account_id(ACCOUNT)
        .public_access_block_configuration(all)
        .send()
        .await
        .unwrap();
    futures_util::stream::iter(buckets)
        .map(|b| {
            let (s3, block) = (&s3, block.clone());
            async move {
                s3.create_bucket().bucket(b).send().await.unwrap();
                let enforced = OwnershipControls::builder()
                    .rules(
                        OwnershipControlsRule::builder()
                            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap();
                s3.put_bucket_ownership_controls()
                    .bucket(b)
                    .ownership_controls(enforced)
                    .send()
                    .await
                    .unwrap();
                s3.put_public_access_block()
                    .bucket(b)
                    .public_access_block_configuration(block)
                    .send()
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

/// `verify`'s work without IO, best of 3: the matrix, the resource side
/// and the output written to a sink, for the account the configuration in
/// `config` applies to (built in memory as in `planning_time`) and
/// `buckets` as [`make_buckets_as_aws_does`] leaves them. Text, then JSON.
fn evaluation_alone(config: &Path, buckets: &[String]) -> (Duration, Duration) {
    use provision::model::{ObservedBucket, Part};
    use provision::report::{buckets as side, matrix};
    let desired = provision::config::load(&[config.to_owned()]).unwrap();
    let full = plan::plan(&desired, &Observed::default(), ACCOUNT).unwrap();
    let observed = applied(&full);
    let docs = BTreeMap::new();
    let facts: BTreeMap<String, ObservedBucket> = buckets
        .iter()
        .map(|b| {
            let facts = ObservedBucket {
                name: b.clone(),
                missing: false,
                policy: Ok(None),
                acl: Part::NotRead("ACLs are disabled"),
                public_access_block: Part::NotRead("the account's is on"),
                object_ownership: Ok(Some("BucketOwnerEnforced".to_owned())),
            };
            (b.clone(), facts)
        })
        .collect();
    let all = provision::model::PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };
    let mut timings = [Duration::ZERO; 2];
    for (i, json) in [false, true].into_iter().enumerate() {
        let (took, isolated) = best_of(3, || {
            let m = matrix::matrix(&desired, &observed, &docs, ACCOUNT, None);
            let s =
                side::resource_side(&m, &observed, &docs, &facts, ACCOUNT, Part::Read(Some(all)));
            let mut out = std::io::BufWriter::new(std::io::sink());
            if json {
                provision::render::buckets::json(&m, &s, &mut out).unwrap();
            } else {
                provision::render::verify::text(&m, &s, &mut out).unwrap();
            }
            m.isolated() && s.isolated()
        });
        assert!(isolated, "the applied account must be isolated");
        timings[i] = took;
    }
    (timings[0], timings[1])
}

/// Where the S3 reads' time goes: one read after the other, the
/// emulator's time per call, straight and through the proxy; then the
/// reads of a verify of this account (policy and ownership of every
/// bucket) at several numbers in flight, straight to the emulator.
async fn s3_read_latency(moto: &str, proxy: &str, buckets: &[String]) {
    use futures_util::StreamExt;
    let client = |url: &str| {
        common::s3_client(
            url,
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        )
    };
    let (straight, through) = (client(moto), client(proxy));
    let sample = &buckets[..buckets.len().min(100)];
    for (name, s3) in [("straight", &straight), ("through the proxy", &through)] {
        let mut line = format!("S3 reads one at a time, {name}, ms per call:");
        for read in [
            "GetBucketPolicy",
            "GetBucketOwnershipControls",
            "GetBucketAcl",
            "GetPublicAccessBlock",
        ] {
            let started = Instant::now();
            for b in sample {
                let _ = match read {
                    "GetBucketPolicy" => s3
                        .get_bucket_policy()
                        .bucket(b)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|_| ()),
                    "GetBucketOwnershipControls" => s3
                        .get_bucket_ownership_controls()
                        .bucket(b)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|_| ()),
                    "GetBucketAcl" => s3
                        .get_bucket_acl()
                        .bucket(b)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|_| ()),
                    _ => s3
                        .get_public_access_block()
                        .bucket(b)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|_| ()),
                };
            }
            let each = started.elapsed().as_secs_f64() * 1e3 / sample.len() as f64;
            line += &format!(" {read} {each:.1}");
        }
        println!("{line}");
    }
    let mut line = format!(
        "{} reads (policy and ownership of each bucket) straight to the emulator:",
        2 * buckets.len()
    );
    for in_flight in [8, 32, 64] {
        let started = Instant::now();
        futures_util::stream::iter(buckets)
            .map(|b| {
                let s3 = &straight;
                async move {
                    let _ = s3.get_bucket_policy().bucket(b).send().await;
                    let _ = s3.get_bucket_ownership_controls().bucket(b).send().await;
                }
            })
            .buffer_unordered(in_flight)
            .collect::<Vec<()>>()
            .await;
        let took = started.elapsed().as_secs_f64();
        line += &format!(
            " {in_flight} buckets at once {took:.2} s ({:.0}/s);",
            2.0 * buckets.len() as f64 / took
        );
    }
    println!("{line}");
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    common::block_on(future)
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Managed buckets (`manage_buckets`): what S3 costs per bucket when plan
/// reads them and apply creates them, next to the same configuration
/// without the feature. Call counts do not depend on the build, so this
/// part is also meaningful in a debug build.
#[test]
#[ignore = "benchmark: run with scripts/bench"]
fn managed_buckets() {
    let clients = clients_from_env();
    let moto = MotoServer::start();
    let proxy = CountingProxy::start(&moto.url());
    let dir = tempfile::tempdir().unwrap();
    let write = |manage: bool| {
        let mut text = format!("[settings]\nmanage_buckets = {manage}\n\n");
        for c in 0..clients {
            text += &format!(
                "[[clients]]\nname = \"c{c:04}\"\nbuckets = [\"c{c:04}-assets\", \"c{c:04}-assets-dev\"]\napp_user = \"\"\n\n"
            );
        }
        std::fs::write(dir.path().join("clients.toml"), text).unwrap();
    };
    println!(
        "managed buckets: {clients} clients, {} buckets",
        clients * 2
    );
    write(false);
    let applied = run(&proxy, &["apply", "--yes"], dir.path());
    assert!(applied.ok, "{}", tail(&applied.stderr));
    proxy.clear();
    let noop = run(&proxy, &["plan"], dir.path());
    assert!(noop.ok, "{}", tail(&noop.stderr));
    report("no-op plan, buckets not managed", &noop, &proxy);
    write(true);
    proxy.clear();
    let plan = run(&proxy, &["plan"], dir.path());
    assert!(plan.ok, "{}", tail(&plan.stderr));
    report("plan creating every bucket", &plan, &proxy);
    proxy.clear();
    let created = run(&proxy, &["apply", "--yes"], dir.path());
    assert!(created.ok, "{}", tail(&created.stderr));
    report("apply creating every bucket", &created, &proxy);
    proxy.clear();
    let noop = run(&proxy, &["plan"], dir.path());
    assert!(noop.ok, "{}", tail(&noop.stderr));
    report("no-op plan, buckets managed", &noop, &proxy);
}
