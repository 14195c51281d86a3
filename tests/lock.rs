//! One apply at a time per account and managed path (SPEC, guarantee 11),
//! against the real binary and moto: the lock is taken and released around
//! every change, a second run is refused with the holder named, two applies
//! started together never interleave, and a lock left by a killed run is
//! reported and can be broken.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_iam::error::ProvideErrorMetadata;
use common::{Call, CountingProxy, Faults, TestEnv, block_on, provision_process};

/// The emulator's account.
const ACCOUNT: &str = "123456789012";

const CLIENTS: &str = r#"
[settings]
path = "/provision/"

[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "acme"
buckets = ["acme-assets"]
developers = ["alice"]
"#;

fn lock_arn() -> String {
    provision::policy::arn::lock_arn(ACCOUNT, "/provision/")
}

struct Env(TestEnv);

impl std::ops::Deref for Env {
    type Target = TestEnv;

    fn deref(&self) -> &TestEnv {
        &self.0
    }
}

impl Env {
    fn new() -> Env {
        Env(TestEnv::with_files(&[("acme.toml", CLIENTS)]))
    }

    /// The lock policy's id, if one is held.
    fn lock_id(&self) -> Option<String> {
        block_on(async {
            match self.iam().get_policy().policy_arn(lock_arn()).send().await {
                Ok(out) => Some(out.policy().unwrap().policy_id().unwrap().to_owned()),
                Err(e) if e.code() == Some("NoSuchEntity") => None,
                Err(e) => panic!("GetPolicy: {e:?}"),
            }
        })
    }

    /// `apply clients/ --yes` through `proxy`, as a process to act on.
    fn spawn_apply(&self, proxy: &CountingProxy, creds: &str) -> Child {
        provision_process(&proxy.url())
            .arg("apply")
            .arg(self.clients())
            .args(["--yes", "--credentials-dir"])
            .arg(self.dir.path().join(creds))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// How many requests an apply from an empty account makes up to and
    /// including taking the lock: run one through `proxy`, then start the
    /// account over.
    fn calls_until_locked(&self, proxy: &CountingProxy) -> usize {
        proxy.clear();
        let child = self.spawn_apply(proxy, "dry-run-creds");
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let calls = proxy.requests();
        let n = calls
            .iter()
            .position(|c| c.action == "CreatePolicy" && c.is_lock_call())
            .expect("apply must take the lock")
            + 1;
        self.moto.reset();
        proxy.clear();
        n
    }

    /// Starts an apply through `proxy` and waits until it holds the lock
    /// and is stopped at its next request, which the proxy holds.
    fn apply_holding_the_lock(&self, proxy: &CountingProxy) -> Child {
        let n = self.calls_until_locked(proxy);
        proxy.hold_after(n);
        let mut child = self.spawn_apply(proxy, "creds-a");
        let deadline = Instant::now() + Duration::from_secs(60);
        while proxy.calls().len() <= n {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the first apply ended before it held the lock"
            );
            assert!(
                Instant::now() < deadline,
                "the first apply never took the lock"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(self.lock_id().is_some(), "the lock must be held now");
        child
    }

    /// The number of access keys of `user`.
    fn keys_of(&self, user: &str) -> usize {
        block_on(async {
            self.iam()
                .list_access_keys()
                .user_name(user)
                .send()
                .await
                .unwrap()
                .access_key_metadata()
                .len()
        })
    }
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The lock id a refused run tells the user to break it with.
fn unlock_id(stderr: &str) -> String {
    let at = stderr
        .find("`provision unlock ")
        .unwrap_or_else(|| panic!("no unlock command in:\n{stderr}"));
    stderr[at + "`provision unlock ".len()..]
        .split('`')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn an_apply_takes_and_releases_the_lock_and_a_no_op_apply_takes_none() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let calls = env.proxy.requests();
    let lock: Vec<&str> = calls
        .iter()
        .filter(|c| c.is_lock_call())
        .map(|c| c.action.as_str())
        .collect();
    assert_eq!(lock, ["CreatePolicy", "GetPolicy", "DeletePolicy"]);
    // Every change was made while the lock was held.
    let taken = calls
        .iter()
        .position(|c| c.action == "CreatePolicy")
        .unwrap();
    let released = calls
        .iter()
        .position(|c| c.action == "DeletePolicy")
        .unwrap();
    for (i, c) in calls.iter().enumerate() {
        if c.is_write() && !c.is_lock_call() {
            assert!(taken < i && i < released, "{} outside the lock", c.action);
        }
    }
    assert_eq!(env.lock_id(), None, "released");

    // Nothing to change: no lock, no write at all.
    env.proxy.clear();
    env.apply(&env.clients()).success();
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert_eq!(env.proxy.lock_writes(), Vec::<String>::new());
    // plan never takes it.
    env.proxy.clear();
    env.cmd().arg("plan").arg(env.clients()).assert().success();
    assert_eq!(env.proxy.lock_writes(), Vec::<String>::new());
}

/// While one apply holds the lock, every other command that changes the
/// account (apply of files or of a saved plan, rotate-key, onboard
/// --apply) is refused with the holder named and changes nothing; `plan`
/// still works. Once the first apply ends, the account is as one apply
/// leaves it: one key for the app user.
#[test]
fn while_one_apply_holds_the_lock_other_changes_are_refused_naming_the_holder() {
    let env = Env::new();
    let first = CountingProxy::start(&env.moto.url());
    let child = env.apply_holding_the_lock(&first);
    let id = env.lock_id().unwrap();

    env.proxy.clear();
    let out = env
        .cmd()
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.dir.path().join("creds-second"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "another provision run holds the apply lock of account `{ACCOUNT}`, path `/provision/`: held by `arn:aws:"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "running `provision apply {}`",
            env.clients().display()
        )),
        "{err}"
    );
    assert!(err.contains(&format!("`provision unlock {id}`")), "{err}");
    assert!(
        !err.contains("Token"),
        "the token is the holder's own: {err}"
    );
    // The refused attempt is its only write.
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert_eq!(env.proxy.lock_writes(), ["CreatePolicy"]);

    // A saved plan and a key rotation are refused the same way; plan is not.
    env.proxy.clear();
    let saved = env.dir.path().join("plan.json");
    env.cmd()
        .arg("plan")
        .arg(env.clients())
        .arg("--out")
        .arg(&saved)
        .assert()
        .success();
    assert_eq!(
        env.proxy.lock_writes(),
        Vec::<String>::new(),
        "plan takes no lock"
    );
    let out = env
        .cmd()
        .arg("apply")
        .arg(&saved)
        .arg("--credentials-dir")
        .arg(env.dir.path().join("creds-second"))
        .output()
        .unwrap();
    assert!(
        stderr_of(&out).contains("holds the apply lock"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(out.status.code(), Some(1));
    let out = env
        .cmd()
        .args(["rotate-key", "acme-app"])
        .arg(env.clients())
        .arg("--credentials-dir")
        .arg(env.dir.path().join("creds-second"))
        .output()
        .unwrap();
    assert!(
        stderr_of(&out).contains("holds the apply lock"),
        "{}",
        stderr_of(&out)
    );
    // onboard --apply, on a copy of the file so this test's own stays as
    // the first apply planned it.
    let copy = env.dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(env.file("acme.toml"), copy.join("acme.toml")).unwrap();
    let out = env
        .cmd()
        .args([
            "onboard",
            "bob",
            "--client",
            "acme",
            "--email",
            "bob@example.com",
            "--file",
        ])
        .arg(copy.join("acme.toml"))
        .args(["--apply", "--yes", "--credentials-dir"])
        .arg(env.dir.path().join("creds-second"))
        .output()
        .unwrap();
    assert!(
        stderr_of(&out).contains("holds the apply lock"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert_eq!(
        env.proxy.lock_writes(),
        ["CreatePolicy", "CreatePolicy", "CreatePolicy"]
    );
    assert_eq!(
        env.lock_id().as_deref(),
        Some(id.as_str()),
        "the holder keeps it"
    );

    // The first apply goes on and finishes.
    first.release();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(env.lock_id(), None);
    assert_eq!(env.keys_of("acme-app"), 1);
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

/// Two applies started together, each behind its own proxy with some
/// latency: one applies, the other waits for nothing: it is refused with
/// the holder named, or, if it took the lock after the first released it,
/// finds nothing left to do. Their writes never overlap in time.
#[test]
fn two_concurrent_applies_never_interleave() {
    let env = Env::new();
    let proxies = [
        CountingProxy::start(&env.moto.url()),
        CountingProxy::start(&env.moto.url()),
    ];
    for p in &proxies {
        p.set_faults(Faults {
            latency: Duration::from_millis(20),
            ..Faults::default()
        });
    }
    let children = [
        env.spawn_apply(&proxies[0], "creds-a"),
        env.spawn_apply(&proxies[1], "creds-b"),
    ];
    let outputs: Vec<std::process::Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();

    let mut applied = 0;
    let mut windows = Vec::new();
    for (out, proxy) in outputs.iter().zip(&proxies) {
        let err = stderr_of(out);
        let calls = proxy.requests();
        let changes: Vec<&Call> = calls
            .iter()
            .filter(|c| c.is_write() && !c.is_lock_call())
            .collect();
        if out.status.success() {
            if !changes.is_empty() {
                applied += 1;
            }
        } else {
            assert!(err.contains("holds the apply lock"), "{err}");
            assert!(changes.is_empty(), "a refused apply changed {changes:?}");
        }
        if let (Some(first), Some(last)) = (changes.first(), changes.last()) {
            // Its changes sit inside its own lock window.
            let taken = calls
                .iter()
                .find(|c| c.action == "CreatePolicy")
                .unwrap()
                .at;
            let released = calls
                .iter()
                .rev()
                .find(|c| c.action == "DeletePolicy")
                .unwrap()
                .at;
            assert!(taken < first.at && last.at < released);
            windows.push((taken, released));
        }
    }
    assert_eq!(applied, 1, "exactly one apply made the changes");
    assert_eq!(windows.len(), 1);
    assert_eq!(env.lock_id(), None);
    assert_eq!(
        env.keys_of("acme-app"),
        1,
        "never two keys for one app user"
    );
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

/// An apply shows its plan before it takes the lock (so that a no-op
/// apply writes nothing), then plans again under the lock and applies only
/// what it showed. Here it is stopped just before taking the lock while the
/// account changes: when another apply made the same changes, it says there
/// is nothing left to do; when the account changed otherwise, it applies
/// nothing.
#[test]
fn an_apply_plans_again_under_the_lock_and_applies_only_what_it_showed() {
    let env = Env::new();
    let late = CountingProxy::start(&env.moto.url());
    let n = env.calls_until_locked(&late);
    for other_change in ["another apply", "a hand edit"] {
        env.moto.reset();
        late.clear();
        // Everything before the lock's CreatePolicy goes through.
        late.hold_after(n - 1);
        let child = env.spawn_apply(&late, "creds-late");
        let deadline = Instant::now() + Duration::from_secs(60);
        while late.calls().len() < n {
            assert!(
                Instant::now() < deadline,
                "the apply never reached the lock"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        if other_change == "another apply" {
            env.apply(&env.clients()).success();
        } else {
            block_on(async {
                env.iam()
                    .create_group()
                    .group_name("client-acme")
                    .path("/provision/")
                    .send()
                    .await
                    .unwrap();
            });
        }
        late.release();
        let out = child.wait_with_output().unwrap();
        let err = stderr_of(&out);
        let changes: Vec<String> = late
            .requests()
            .iter()
            .filter(|c| c.is_write() && !c.is_lock_call())
            .map(|c| c.action.clone())
            .collect();
        assert_eq!(changes, Vec::<String>::new(), "{other_change}: {err}");
        if other_change == "another apply" {
            assert!(out.status.success(), "{err}");
            assert!(
                err.contains("No changes: another run made these changes"),
                "{err}"
            );
            assert_eq!(env.keys_of("acme-app"), 1);
        } else {
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert!(
                err.contains("the account changed since the plan above was made"),
                "{err}"
            );
        }
        assert_eq!(env.lock_id(), None, "{other_change}: released");
    }
}

/// A run killed outright keeps the lock. The next run names it and says
/// how to break it; `provision unlock` refuses another id, then removes
/// exactly the lock it was given, after which apply finishes the job.
#[test]
fn a_stale_lock_left_by_a_killed_apply_is_reported_and_can_be_broken() {
    let env = Env::new();
    let first = CountingProxy::start(&env.moto.url());
    let mut child = env.apply_holding_the_lock(&first);
    child.kill().unwrap();
    child.wait().unwrap();
    first.release();
    let id = env.lock_id().expect("a killed run keeps the lock");

    let out = env
        .cmd()
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.dir.path().join("creds-second"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("holds the apply lock"), "{err}");
    assert_eq!(unlock_id(&err), id);

    // The wrong id removes nothing.
    env.proxy.clear();
    let out = env
        .cmd()
        .args(["unlock", "ANPAWRONG"])
        .arg(env.clients())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains(&format!("has id `{id}`, not `ANPAWRONG`")),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(env.proxy.lock_writes(), Vec::<String>::new());
    assert_eq!(env.lock_id().as_deref(), Some(id.as_str()));

    // The right one removes it, and only it.
    env.proxy.clear();
    let out = env
        .cmd()
        .args(["unlock", &id])
        .arg(env.clients())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains(&format!("Removed the apply lock `{id}`")),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(env.proxy.lock_writes(), ["DeletePolicy"]);
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert_eq!(env.lock_id(), None);
    let out = env
        .cmd()
        .args(["unlock", &id])
        .arg(env.clients())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("there is no apply lock"),
        "{}",
        stderr_of(&out)
    );

    env.apply(&env.clients()).success();
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
    assert_eq!(env.keys_of("acme-app"), 1);
}

/// Ctrl-C (SIGINT) or a cancelled CI job (SIGTERM) stops the apply and
/// releases the lock on the way out.
#[test]
fn an_interrupted_apply_releases_the_lock() {
    for signal in ["-INT", "-TERM"] {
        let env = Env::new();
        let first = CountingProxy::start(&env.moto.url());
        let child = env.apply_holding_the_lock(&first);
        let status = std::process::Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        // Let the signal stop the held request before the proxy lets the
        // release through.
        std::thread::sleep(Duration::from_millis(500));
        first.release();
        let out = child.wait_with_output().unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{signal}: {err}");
        assert!(
            err.contains("interrupted: stopped before finishing; the apply lock was released"),
            "{signal}: {err}"
        );
        assert_eq!(env.lock_id(), None, "{signal}");
        env.apply(&env.clients()).success();
        assert_eq!(env.plan_exit(&env.clients()).0, 0);
    }
}

/// The lock is a managed policy under the managed path, but provision
/// plans only its own client policies: a held lock is no stray, and a
/// directory plan neither shows nor deletes it.
#[test]
fn the_lock_is_never_planned_as_a_stray() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    block_on(async {
        env.iam()
            .create_policy()
            .policy_name(provision::policy::arn::lock_name("/provision/"))
            .path("/provision/")
            .description("held by a test")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    });
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("provision-lock"), "{text}");
    // Nothing to change, so no lock is needed and none is touched.
    env.proxy.clear();
    env.apply(&env.clients()).success();
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert_eq!(env.proxy.lock_writes(), Vec::<String>::new());
    assert!(env.lock_id().is_some());
    // verify is not bothered either.
    env.cmd()
        .arg("verify")
        .arg(env.clients())
        .assert()
        .success();
}

/// `provision apply ... 2>&1 | tee log | head`, or a CI log collector that
/// went away: standard error is a pipe whose reader is gone. Apply must
/// neither abort halfway nor leave its lock in the account for that: it
/// finishes (progress and notes are only for the reader that left), and
/// the next run finds no lock and nothing to do.
#[test]
fn a_closed_stderr_does_not_abort_apply_and_leave_the_lock() {
    let env = Env::new();
    env.write(
        "globex.toml",
        "[[clients]]\nname = \"globex\"\nbuckets = [\"globex-assets\"]\n",
    );
    let mut child = provision_process(&env.proxy.url())
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.creds())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(
        env.lock_id(),
        None,
        "the apply (exit {:?}) left its lock",
        status.code()
    );
    assert!(status.success(), "exit {:?}", status.code());
    assert_eq!(
        env.plan_exit(&env.clients()).0,
        0,
        "the apply finished the job"
    );
}

/// IAM has no compare-and-delete: `DeletePolicy` names the lock by ARN,
/// the same for every run. When the answer to a run's release is lost
/// (the lock is gone, the run cannot tell), and meanwhile another run
/// takes the lock, a blind retry of the delete would remove that run's
/// lock. Here the release's answers are dropped, each delete reaching
/// moto a second after it was sent, and a second holder takes the lock
/// the moment the first is gone: it must still hold it afterwards.
#[test]
fn releasing_the_lock_never_deletes_a_lock_another_run_took_meanwhile() {
    let env = Env::new();
    env.proxy.set_faults(Faults {
        drop_response: 1.0,
        latency: Duration::from_secs(1),
        actions: vec!["DeletePolicy".into()],
        ..Faults::default()
    });
    let child = env.spawn_apply(&env.proxy, "creds");
    // The moment the first run's lock is gone, another run takes it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.lock_id().is_none() {
        assert!(Instant::now() < deadline, "the apply never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    while env.lock_id().is_some() {
        assert!(
            Instant::now() < deadline,
            "the apply never released the lock"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let theirs = block_on(async {
        env.iam()
            .create_policy()
            .policy_name(provision::policy::arn::lock_name("/provision/"))
            .path("/provision/")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#)
            .description("provision apply lock: held by another run")
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .policy_id()
            .unwrap()
            .to_owned()
    });
    let out = child.wait_with_output().unwrap();
    let deletes = env
        .proxy
        .requests()
        .iter()
        .filter(|c| c.action == "DeletePolicy" && c.is_lock_call())
        .count();
    assert_eq!(
        env.lock_id().as_deref(),
        Some(theirs.as_str()),
        "the first run deleted the lock another run took ({deletes} DeletePolicy call(s)):\n{}",
        stderr_of(&out)
    );
    assert_eq!(deletes, 1, "{}", stderr_of(&out));
    assert!(out.status.success(), "{}", stderr_of(&out));
}
