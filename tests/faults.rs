//! Convergence under faults: the real binary against moto, through a proxy
//! that throttles, fails, drops answers, or holds every request after the
//! N-th so the process can be killed at that exact point. Whatever happens,
//! a second apply must finish the job: the next plan is empty, nothing is
//! left over, and no application user ever holds more than one key.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Fault, Faults, TestEnv, block_on, provision, provision_process};

/// A configuration of `clients` clients and `developers` developers, each
/// developer in two clients, every client with an app user.
fn config(clients: usize, developers: usize) -> String {
    let mut text = String::from("[settings]\npath = \"/provision/\"\n\n");
    for d in 0..developers {
        text +=
            &format!("[[developers]]\nname = \"dev{d:02}\"\nemail = \"dev{d:02}@example.com\"\n\n");
    }
    for c in 0..clients {
        let members: Vec<String> = (0..developers)
            .filter(|d| d % clients == c || (d + 1) % clients == c)
            .map(|d| format!("\"dev{d:02}\""))
            .collect();
        text += &format!(
            "[[clients]]\nname = \"client{c:02}\"\nbuckets = [\"client{c:02}-assets\"]\naccess = \"read-write\"\ndevelopers = [{}]\n\n",
            members.join(", ")
        );
    }
    text
}

/// What the account must hold once converged.
struct Expected {
    users: BTreeSet<String>,
    groups: BTreeSet<String>,
    app_users: Vec<String>,
}

fn expected(clients: usize, developers: usize) -> Expected {
    let app_users: Vec<String> = (0..clients).map(|c| format!("client{c:02}-app")).collect();
    let mut users: BTreeSet<String> = (0..developers).map(|d| format!("dev{d:02}")).collect();
    users.extend(app_users.iter().cloned());
    Expected {
        users,
        groups: (0..clients)
            .map(|c| format!("client-client{c:02}"))
            .collect(),
        app_users,
    }
}

/// The shared environment, with the configuration in `clients/`.
struct Env(TestEnv);

impl std::ops::Deref for Env {
    type Target = TestEnv;

    fn deref(&self) -> &TestEnv {
        &self.0
    }
}

impl Env {
    fn new(text: &str) -> Env {
        Env(TestEnv::with_files(&[("clients.toml", text)]))
    }

    fn config(&self) -> PathBuf {
        self.file("clients.toml")
    }

    fn apply_args(&self) -> Vec<std::ffi::OsString> {
        vec![
            "apply".into(),
            self.config().into(),
            "--yes".into(),
            "--credentials-dir".into(),
            self.creds().into(),
        ]
    }

    /// Runs apply; returns whether it succeeded, and its stderr.
    fn apply(&self) -> (bool, String) {
        let out = provision(&self.proxy.url())
            .args(self.apply_args())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The id of the apply lock, if one is held.
    fn lock_id(&self) -> Option<String> {
        let arn = provision::policy::arn::lock_arn("123456789012", "/provision/");
        block_on(async {
            let out = self.iam().get_policy().policy_arn(arn).send().await.ok()?;
            out.policy()?.policy_id().map(str::to_owned)
        })
    }

    /// Breaks the stale apply lock `id`, as a refused run says to.
    fn unlock(&self, id: &str) {
        let out = provision(&self.proxy.url())
            .args(["unlock", id])
            .arg(self.config())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs apply and retries once if it failed; panics if the second run
    /// fails too.
    fn apply_until_converged(&self) {
        let (ok, first) = self.apply();
        if !ok {
            let (ok, second) = self.apply();
            assert!(
                ok,
                "a second apply must finish the job.\n--- first ---\n{first}\n--- second ---\n{second}"
            );
        }
    }

    fn assert_plan_is_empty(&self) {
        let out = provision(&self.proxy.url())
            .arg("plan")
            .arg(self.config())
            .arg("--detailed-exitcode")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "plan after converging must be empty:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Every declared entity exists, no other user or group does, and each
    /// app user holds exactly one key: the one in its credentials file and
    /// in its record tag.
    fn assert_account_matches(&self, want: &Expected) {
        block_on(async {
            let iam = self.iam();
            let users: BTreeSet<String> = iam
                .list_users()
                .send()
                .await
                .unwrap()
                .users()
                .iter()
                .map(|u| u.user_name().to_owned())
                .collect();
            assert_eq!(users, want.users, "users after converging");
            let groups: BTreeSet<String> = iam
                .list_groups()
                .send()
                .await
                .unwrap()
                .groups()
                .iter()
                .map(|g| g.group_name().to_owned())
                .collect();
            assert_eq!(groups, want.groups, "groups after converging");
            for user in &want.app_users {
                let keys: Vec<String> = iam
                    .list_access_keys()
                    .user_name(user)
                    .send()
                    .await
                    .unwrap()
                    .access_key_metadata()
                    .iter()
                    .filter_map(|k| k.access_key_id().map(str::to_owned))
                    .collect();
                assert_eq!(
                    keys.len(),
                    1,
                    "`{user}` must hold exactly one key: {keys:?}"
                );
                let delivered = key_in_file(&self.creds(), user);
                assert_eq!(
                    Some(&keys[0]),
                    delivered.as_ref(),
                    "`{user}`'s key must be the one delivered"
                );
                let tags = iam.list_user_tags().user_name(user).send().await.unwrap();
                let recorded = tags
                    .tags()
                    .iter()
                    .find(|t| t.key() == "provision:access-key")
                    .map(|t| t.value().to_owned());
                assert_eq!(recorded, delivered, "`{user}`'s key must be on record");
            }
        });
    }

    /// How many CreateAccessKey requests reached moto for each user (those
    /// answered with an injected throttle or 503 created nothing).
    fn key_creations(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for call in self.proxy.requests() {
            let reached = !matches!(call.fault, Some(Fault::Throttle | Fault::Unavailable));
            if call.action == "CreateAccessKey" && reached {
                *counts
                    .entry(call.param("UserName").unwrap_or_default())
                    .or_default() += 1;
            }
        }
        counts
    }
}

fn key_in_file(dir: &Path, user: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(format!("{user}.json"))).ok()?;
    let file: serde_json::Value = serde_json::from_str(&text).ok()?;
    file["AccessKeyId"].as_str().map(str::to_owned)
}

#[test]
fn throttling_and_5xx_on_every_call_do_not_stop_apply() {
    let (clients, developers) = (6, 18);
    let env = Env::new(&config(clients, developers));
    for seed in [1, 2] {
        env.moto.reset();
        let _ = std::fs::remove_dir_all(env.creds());
        env.proxy.clear();
        env.proxy.set_faults(Faults {
            throttle: 0.10,
            unavailable: 0.05,
            seed,
            ..Faults::default()
        });
        let (ok, stderr) = env.apply();
        let requests = env.proxy.requests();
        let throttled = requests
            .iter()
            .filter(|c| c.fault == Some(Fault::Throttle))
            .count();
        let failed = requests
            .iter()
            .filter(|c| c.fault == Some(Fault::Unavailable))
            .count();
        assert!(
            throttled > 0 && failed > 0,
            "the proxy must have injected both faults (seed {seed}): {throttled} throttled, {failed} 503"
        );
        // The SDK's retries ride these rates out: one apply is enough.
        assert!(
            ok,
            "apply must succeed through {throttled} throttles and {failed} 503s:\n{stderr}"
        );
        env.proxy.set_faults(Faults::default());
        env.assert_plan_is_empty();
        env.assert_account_matches(&expected(clients, developers));
        for (user, count) in env.key_creations() {
            assert_eq!(count, 1, "`{user}` got {count} CreateAccessKey calls");
        }
    }
}

#[test]
fn dropped_responses_are_finished_by_a_second_apply() {
    let (clients, developers) = (6, 18);
    let env = Env::new(&config(clients, developers));
    for seed in [3, 4] {
        env.moto.reset();
        let _ = std::fs::remove_dir_all(env.creds());
        env.proxy.clear();
        // moto carries the call out, the answer never arrives: the SDK
        // retries, and a retried create meets `EntityAlreadyExists`.
        env.proxy.set_faults(Faults {
            drop_response: 0.05,
            seed,
            ..Faults::default()
        });
        let (ok, first) = env.apply();
        let dropped = env
            .proxy
            .requests()
            .iter()
            .filter(|c| c.fault == Some(Fault::DropResponse))
            .count();
        assert!(
            dropped > 0,
            "the proxy must have dropped answers (seed {seed})"
        );
        env.proxy.set_faults(Faults::default());
        if !ok {
            let (ok, second) = env.apply();
            assert!(
                ok,
                "a second apply must finish the job.\n--- first ---\n{first}\n--- second ---\n{second}"
            );
        }
        env.assert_plan_is_empty();
        env.assert_account_matches(&expected(clients, developers));
    }
}

/// A lost answer to `CreateAccessKey` (the key exists, its secret is gone)
/// must not leave a second key behind, even when the SDK's retry makes the
/// apply itself succeed.
#[test]
fn a_lost_create_access_key_answer_leaves_no_stray_key() {
    let (clients, developers) = (2, 2);
    let env = Env::new(&config(clients, developers));
    env.proxy.set_faults(Faults {
        drop_response: 0.5,
        actions: vec!["CreateAccessKey".into()],
        seed: 7,
        ..Faults::default()
    });
    let (ok, stderr) = env.apply();
    let dropped = env
        .proxy
        .requests()
        .iter()
        .filter(|c| c.fault == Some(Fault::DropResponse))
        .count();
    assert!(
        dropped > 0,
        "the proxy must have dropped a CreateAccessKey answer"
    );
    // The SDK retried the lost calls; apply noticed and cleaned up at once.
    assert!(
        ok,
        "apply must succeed through lost CreateAccessKey answers:\n{stderr}"
    );
    env.assert_account_matches(&expected(clients, developers));
    env.proxy.set_faults(Faults::default());
    env.assert_plan_is_empty();
    env.assert_account_matches(&expected(clients, developers));
}

/// Kills `provision apply` with SIGKILL after exactly `n` requests reached
/// moto (the proxy holds every later one), for every `n` across one apply.
/// Each time, a second apply converges, nothing is lost or left over, and
/// an app user gets a second key only when the first one's secret was lost
/// with the process (killed between CreateAccessKey and writing the file).
#[test]
fn sigkill_after_any_number_of_calls_is_finished_by_a_second_apply() {
    let (clients, developers) = (2, 3);
    let want = expected(clients, developers);
    let env = Env::new(&config(clients, developers));

    // One undisturbed apply gives the number of calls to cut across.
    env.apply_until_converged();
    let total = env.proxy.calls().len();
    assert!(total > 10, "a full apply made only {total} calls");

    // Kill points where a secret was lost with the process, and where that
    // cost a second key: printed for the record (`--nocapture`).
    let (mut lost_points, mut second_keys, mut stale_locks) = (Vec::new(), 0, 0);
    for n in 1..total {
        env.moto.reset();
        let _ = std::fs::remove_dir_all(env.creds());
        env.proxy.clear();
        env.proxy.hold_after(n);

        let mut child = provision_process(&env.proxy.url())
            .args(env.apply_args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill once the (n+1)-th request is held, or when the run ends
        // first (n may be past the end of a run that took fewer calls).
        let deadline = Instant::now() + Duration::from_secs(60);
        let exited_by_itself = loop {
            if child.try_wait().unwrap().is_some() {
                break true;
            }
            if env.proxy.calls().len() > n {
                break false;
            }
            assert!(
                Instant::now() < deadline,
                "apply neither ended nor reached call {n}"
            );
            std::thread::sleep(Duration::from_millis(2));
        };
        if !exited_by_itself {
            // SIGKILL: no chance to clean up, as with a crash or OOM kill.
            child.kill().unwrap();
        }
        child.wait().unwrap();
        env.proxy.release();

        // Which users' first key request reached moto while its secret
        // never made it to disk: only those may need a second key.
        // Held requests are recorded but never reached moto: leave them out.
        let mut first_run = env.proxy.requests();
        first_run.truncate(n);
        let lost_secret: BTreeSet<String> = first_run
            .iter()
            .filter(|c| c.action == "CreateAccessKey")
            .filter_map(|c| c.param("UserName"))
            .filter(|user| key_in_file(&env.creds(), user).is_none())
            .collect();

        // A kill while the apply lock was held leaves it behind: the next
        // apply stops and names it, and `provision unlock ID` is the
        // documented way on. Any other kill leaves no lock.
        let lock_calls: Vec<&str> = first_run
            .iter()
            .filter(|c| c.is_lock_call() && c.is_write())
            .map(|c| c.action.as_str())
            .collect();
        let stale = !exited_by_itself && lock_calls == ["CreatePolicy"];
        env.proxy.clear();
        let (mut ok, mut stderr) = env.apply();
        if stale {
            let id = env
                .lock_id()
                .expect("a kill while the lock was held leaves it");
            // With changes left, apply stops and names the lock; with
            // nothing left to do it needs no lock, and the stale one stays.
            if !ok {
                assert!(
                    stderr.contains(&format!("`provision unlock {id}`")),
                    "after a kill at call {n}, with the lock held, apply must name the lock:\n{stderr}"
                );
            }
            env.unlock(&id);
            stale_locks += 1;
            if !ok {
                (ok, stderr) = env.apply();
            }
        }
        assert_eq!(env.lock_id(), None, "kill at call {n}: no lock is left");
        assert!(
            ok,
            "after a kill at call {n}, apply must converge:\n{stderr}"
        );
        env.assert_plan_is_empty();
        env.assert_account_matches(&want);
        let mut creations = env.key_creations();
        for call in first_run.iter().filter(|c| c.action == "CreateAccessKey") {
            *creations
                .entry(call.param("UserName").unwrap_or_default())
                .or_default() += 1;
        }
        if !lost_secret.is_empty() {
            lost_points.push(n);
        }
        for (user, count) in creations {
            second_keys += usize::from(count > 1);
            let allowed = if lost_secret.contains(&user) { 2 } else { 1 };
            assert!(
                count <= allowed,
                "kill at call {n}: `{user}` got {count} CreateAccessKey calls (at most {allowed} allowed)"
            );
        }
    }
    assert!(stale_locks > 0, "some kill must have hit the apply lock");
    eprintln!(
        "killed at each of calls 1..{total}; a secret was lost at calls {lost_points:?}; \
         {second_keys} second key(s) created; {stale_locks} stale lock(s) broken"
    );
}
