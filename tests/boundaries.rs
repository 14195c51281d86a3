//! Permissions boundaries, the account guard, the generated policies and the
//! table of AWS calls, against the real binary and moto's server (extended
//! with user boundaries by tests/moto_ext/patches/boundaries.py).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::{TestEnv, block_on, provision};
use serde_json::Value;

/// moto's account id.
const ACCOUNT: &str = "123456789012";

fn boundary_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
}

fn settings(boundary: Option<&str>, account: Option<&str>) -> String {
    let mut text = String::from("[settings]\npath = \"/provision/\"\n");
    if let Some(a) = account {
        text.push_str(&format!("account_id = \"{a}\"\n"));
    }
    if let Some(b) = boundary {
        text.push_str(&format!("permissions_boundary = \"{}\"\n", boundary_arn(b)));
    }
    text
}

const CLIENTS: &str = r#"
[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "acme"
buckets = ["acme-assets"]
access = "read-write"
developers = ["alice"]

[[clients]]
name = "globex"
bucket_prefixes = ["globex-"]
developers = ["alice"]
"#;

/// The shared environment, with the settings and clients files in
/// `clients/`, counting the operations `--api-stats` reports.
struct Env {
    base: TestEnv,
    /// Every operation `--api-stats` counted in this test's runs.
    counted: std::cell::RefCell<BTreeSet<String>>,
}

impl std::ops::Deref for Env {
    type Target = TestEnv;

    fn deref(&self) -> &TestEnv {
        &self.base
    }
}

impl Env {
    fn new(settings: &str) -> Env {
        Env {
            base: TestEnv::with_files(&[("settings.toml", settings), ("clients.toml", CLIENTS)]),
            counted: Default::default(),
        }
    }

    /// Creates managed policy `name` (a boundary) allowing `actions` on
    /// `resources`.
    fn create_boundary(&self, name: &str, document: &Value) {
        block_on(async {
            self.iam()
                .create_policy()
                .policy_name(name)
                .policy_document(document.to_string())
                .send()
                .await
                .unwrap();
        });
    }

    /// Runs provision with `--api-stats` and records the operations counted.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = provision(&self.proxy.url())
            .args(args)
            .arg(self.clients())
            .arg("--api-stats")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let stats = stderr
            .lines()
            .find_map(|l| l.strip_prefix("api-calls: "))
            .unwrap_or_else(|| panic!("no api-calls line:\n{stderr}"));
        let stats: Value = serde_json::from_str(stats).unwrap();
        self.counted
            .borrow_mut()
            .extend(stats["by_operation"].as_object().unwrap().keys().cloned());
        (out.status.code().unwrap(), stdout, stderr)
    }

    fn apply(&self, extra: &[&str]) -> (String, String) {
        let creds = self.creds();
        let mut args = vec![
            "apply",
            "--yes",
            "--credentials-dir",
            creds.to_str().unwrap(),
        ];
        args.extend(extra);
        let (code, stdout, stderr) = self.run(&args);
        assert_eq!(code, 0, "apply failed:\n{stdout}\n{stderr}");
        (stdout, stderr)
    }

    fn plan(&self) -> (i32, String, String) {
        self.run(&["plan", "--detailed-exitcode"])
    }

    fn boundary_of(&self, user: &str) -> Option<String> {
        block_on(async {
            let out = self.iam().get_user().user_name(user).send().await.unwrap();
            out.user()
                .unwrap()
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_owned)
        })
    }
}

impl Drop for Env {
    /// Every run's counted operations must be in the table the operator
    /// policy is generated from: a call missing there would be denied to an
    /// operator running under that policy.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        for operation in self.counted.borrow().iter() {
            assert!(
                provision::policy::actions::find(operation).is_some(),
                "provision called `{operation}`, which is missing from actions::OPERATIONS (and so from the operator policy)"
            );
        }
    }
}

/// The operator policy `provision policy operator` prints for the files
/// (it must succeed), and what it wrote to stderr.
fn operator_policy(env: &Env) -> (Value, String) {
    let out = provision(&env.proxy.url())
        .args(["policy", "operator"])
        .arg(env.clients())
        .assert()
        .success();
    let output = out.get_output();
    (
        serde_json::from_slice(&output.stdout).unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The boundary `provision policy boundary` prints for the files.
fn generated_boundary(env: &Env) -> Value {
    let out = provision(&env.proxy.url())
        .args(["policy", "boundary"])
        .arg(env.clients())
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

const USERS: [&str; 3] = ["acme-app", "alice", "globex-app"];

#[test]
fn every_created_user_gets_the_boundary_and_drift_is_corrected() {
    let env = Env::new(&settings(Some("ClientBoundary"), Some(ACCOUNT)));
    env.create_boundary("ClientBoundary", &generated_boundary(&env));
    env.create_boundary("Other", &generated_boundary(&env));
    env.proxy.clear();
    env.apply(&[]);
    for user in USERS {
        assert_eq!(
            env.boundary_of(user),
            Some(boundary_arn("ClientBoundary")),
            "{user}"
        );
    }
    // The boundary's document is read with two calls, and it covers the
    // grants, so the plan is quiet; a no-op apply writes nothing.
    env.proxy.clear();
    let (code, stdout, stderr) = env.plan();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stdout.contains("warning"), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let mut calls = env.proxy.calls();
    calls.sort();
    assert_eq!(
        calls,
        [
            "GetAccountAuthorizationDetails",
            "GetAccountSummary",
            "GetCallerIdentity",
            "GetPolicy",
            "GetPolicyVersion"
        ]
    );
    env.apply(&[]);
    assert_eq!(env.proxy.writes(), Vec::<String>::new());

    // Changed out of band: one user loses it, another gets a different one.
    block_on(async {
        let iam = env.iam();
        iam.delete_user_permissions_boundary()
            .user_name("alice")
            .send()
            .await
            .unwrap();
        iam.put_user_permissions_boundary()
            .user_name("acme-app")
            .permissions_boundary(boundary_arn("Other"))
            .send()
            .await
            .unwrap();
    });
    let (code, stdout, _) = env.plan();
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("~ permissions-boundary alice"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "~ permissions-boundary acme-app\n      - {}\n      + {}",
            boundary_arn("Other"),
            boundary_arn("ClientBoundary")
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("Plan: 0 to create, 2 to update, 0 to delete."),
        "{stdout}"
    );
    env.proxy.clear();
    env.apply(&[]);
    assert_eq!(
        env.proxy.writes(),
        ["PutUserPermissionsBoundary", "PutUserPermissionsBoundary"]
    );
    for user in USERS {
        assert_eq!(
            env.boundary_of(user),
            Some(boundary_arn("ClientBoundary")),
            "{user}"
        );
    }
    assert_eq!(env.plan().0, 0);

    // A settings change moves every user to the new boundary.
    env.write("settings.toml", &settings(Some("Other"), Some(ACCOUNT)));
    let (stdout, _) = env.apply(&[]);
    assert!(
        stdout.contains("Plan: 0 to create, 3 to update, 0 to delete."),
        "{stdout}"
    );
    for user in USERS {
        assert_eq!(env.boundary_of(user), Some(boundary_arn("Other")), "{user}");
    }
}

#[test]
fn removing_the_setting_removes_boundaries_only_with_the_flag() {
    let env = Env::new(&settings(Some("ClientBoundary"), None));
    env.create_boundary("ClientBoundary", &generated_boundary(&env));
    env.apply(&[]);
    env.write("settings.toml", &settings(None, None));

    env.proxy.clear();
    let (code, stdout, _) = env.plan();
    assert_eq!(code, 0, "kept boundaries are not changes:\n{stdout}");
    assert!(
        stdout.contains("these managed users have a permissions boundary, which is left in place")
            && stdout.contains("`--remove-boundaries`"),
        "{stdout}"
    );
    env.apply(&[]);
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert_eq!(
        env.boundary_of("alice"),
        Some(boundary_arn("ClientBoundary"))
    );

    let (code, stdout, _) = env.run(&["plan", "--detailed-exitcode", "--remove-boundaries"]);
    assert_eq!(code, 2);
    assert!(stdout.contains("- permissions-boundary alice"), "{stdout}");
    env.proxy.clear();
    env.apply(&["--remove-boundaries"]);
    assert_eq!(env.proxy.writes(), ["DeleteUserPermissionsBoundary"; 3]);
    for user in USERS {
        assert_eq!(env.boundary_of(user), None, "{user}");
    }
    assert_eq!(env.plan().0, 0);
}

#[test]
fn a_boundary_that_does_not_exist_stops_the_plan_before_any_write() {
    let env = Env::new(&settings(Some("Missing"), None));
    env.proxy.clear();
    for command in [&["plan"][..], &["apply", "--yes"]] {
        let (code, _, stderr) = env.run(command);
        assert_eq!(code, 1, "{command:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "error: the permissions boundary `{}` (`settings.permissions_boundary`) does not exist in account `{ACCOUNT}`",
                boundary_arn("Missing")
            )),
            "{stderr}"
        );
    }
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

#[test]
fn a_boundary_narrower_than_the_grants_is_a_plan_warning() {
    let env = Env::new(&settings(Some("Narrow"), None));
    // Written when only acme existed, and read-only at that.
    let narrow = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Action": ["s3:Get*", "s3:List*"],
        "Resource": ["arn:aws:s3:::acme-assets", "arn:aws:s3:::acme-assets/*"],
    }]});
    env.create_boundary("Narrow", &narrow);
    env.proxy.clear();
    let (code, stdout, stderr) = env.plan();
    assert_eq!(code, 2, "{stderr}");
    for client in ["acme", "globex"] {
        assert!(
            stdout.contains(&format!(
                "warning: the permissions boundary `{}` does not allow everything client `{client}` is granted",
                boundary_arn("Narrow")
            )),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("(`s3:AbortMultipartUpload` on `arn:aws:s3:::acme-assets/*`, `s3:DeleteObject` on `arn:aws:s3:::acme-assets/*`, `s3:DeleteObjectVersion` on `arn:aws:s3:::acme-assets/*` and 1 more)"),
        "{stdout}"
    );
    // Reading the document: one GetPolicy and one GetPolicyVersion.
    assert_eq!(env.proxy.count("GetPolicy"), 1);
    assert_eq!(env.proxy.count("GetPolicyVersion"), 1);
}

#[test]
fn without_a_boundary_no_policy_is_read() {
    let env = Env::new(&settings(None, None));
    env.apply(&[]);
    env.proxy.clear();
    assert_eq!(env.plan().0, 0);
    let mut calls = env.proxy.calls();
    calls.sort();
    assert_eq!(
        calls,
        [
            "GetAccountAuthorizationDetails",
            "GetAccountSummary",
            "GetCallerIdentity"
        ]
    );
}

#[test]
fn the_account_guard_passes_on_the_right_account() {
    let env = Env::new(&settings(None, Some(ACCOUNT)));
    env.apply(&[]);
    assert_eq!(env.boundary_of("alice"), None);
    assert_eq!(env.plan().0, 0);
}

#[test]
fn the_account_guard_stops_plan_and_apply_on_another_account_before_any_iam_call() {
    let env = Env::new(&settings(None, Some("111122223333")));
    for command in [&["plan"][..], &["apply", "--yes"]] {
        env.proxy.clear();
        let (code, stdout, stderr) = env.run(command);
        assert_eq!(code, 1, "{command:?}: {stdout}\n{stderr}");
        assert!(
            stderr.contains(
                "the credentials belong to account `123456789012`, but the configuration is for account `111122223333`"
            ),
            "{stderr}"
        );
        assert_eq!(env.proxy.calls(), ["GetCallerIdentity"], "{command:?}");
        assert!(stdout.is_empty(), "{stdout}");
    }
}

/// A lifecycle that makes every kind of change, each run with
/// `--api-stats`: the `Env`'s drop then checks every counted operation is
/// in the table of calls.
#[test]
fn every_call_of_a_full_lifecycle_is_in_the_table() {
    let env = Env::new(&settings(Some("ClientBoundary"), Some(ACCOUNT)));
    env.create_boundary("ClientBoundary", &generated_boundary(&env));
    env.apply(&[]);
    block_on(async {
        let iam = env.iam();
        // Hand-made additions provision reverts, and an orphaned key.
        iam.put_group_policy()
            .group_name("client-acme")
            .policy_name("extra")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap();
        iam.untag_user()
            .user_name("globex-app")
            .tag_keys("provision:access-key")
            .send()
            .await
            .unwrap();
        iam.delete_user_permissions_boundary()
            .user_name("alice")
            .send()
            .await
            .unwrap();
    });
    env.write(
        "clients.toml",
        &CLIENTS.replace("alice@example.com", "alice@example.org"),
    );
    env.apply(&[]);
    // Drop globex and alice's email; then all boundaries.
    env.write(
        "clients.toml",
        &CLIENTS[..CLIENTS.find("[[clients]]\nname = \"globex\"").unwrap()]
            .replace("email = \"alice@example.com\"\n", ""),
    );
    env.apply(&[]);
    env.write("settings.toml", &settings(None, Some(ACCOUNT)));
    env.apply(&["--remove-boundaries"]);
    assert_eq!(env.plan().0, 0);
    let counted = env.counted.borrow().clone();
    for expected in [
        "CreateUser",
        "PutUserPermissionsBoundary",
        "DeleteUserPermissionsBoundary",
        "DeleteGroupPolicy",
        "DeleteGroup",
        "DeleteUser",
        "TagUser",
        "UntagUser",
        "ListAccessKeys",
        "DeleteAccessKey",
        "GetPolicy",
        "GetPolicyVersion",
    ] {
        assert!(
            counted.contains(expected),
            "{expected} not exercised: {counted:?}"
        );
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The operator policy lists every managed bucket: one that no longer
/// fits a managed policy is still printed, with a warning that says so and
/// what to do, and no AWS call.
#[test]
fn an_operator_policy_too_large_for_a_managed_policy_is_printed_with_a_warning() {
    let env = Env::new(&settings(None, None));
    env.write(
        "settings.toml",
        &format!("{}manage_buckets = true\n", settings(None, None)),
    );
    let mut clients = String::new();
    for c in 0..120 {
        clients.push_str(&format!(
            "\n[[clients]]\nname = \"client{c:03}\"\nbuckets = [\"client{c:03}-assets-production\"]\n"
        ));
    }
    env.write("many.toml", &clients);
    let (doc, stderr) = operator_policy(&env);
    assert!(
        stderr.contains("over the 6144 a managed policy may hold")
            && stderr.contains("inline policy"),
        "{stderr}"
    );
    assert!(doc.to_string().contains("client119-assets-production"));
    // Without managed buckets the same clients fit: no such warning.
    env.write("settings.toml", &settings(None, None));
    let (doc, stderr) = operator_policy(&env);
    assert!(!stderr.contains("a managed policy may hold"), "{stderr}");
    assert!(!doc.to_string().contains("client119-assets-production"));
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
}

/// examples/iam/ holds what the commands print for the example clients.
#[test]
fn the_example_policies_are_up_to_date() {
    for (kind, file) in [
        ("operator", "examples/iam/operator-policy.json"),
        ("boundary", "examples/iam/boundary-policy.json"),
    ] {
        let out = provision("http://127.0.0.1:9")
            .current_dir(repo())
            .args(["policy", kind, "clients/", "examples/iam/boundary.toml"])
            .assert()
            .success();
        let printed = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        let stored = fs::read_to_string(repo().join(file)).unwrap_or_default();
        assert!(
            printed == stored,
            "{file} is out of date; regenerate it with `provision policy {kind} clients/ examples/iam/boundary.toml > {file}`"
        );
    }
}

#[test]
fn policy_commands_make_no_aws_call_and_explain_what_is_missing() {
    let env = Env::new(&settings(None, None));
    // Given no PATH, `clients/` of the working directory: here, settings
    // alone.
    let bare = tempfile::tempdir().unwrap();
    fs::create_dir(bare.path().join("clients")).unwrap();
    fs::write(
        bare.path().join("clients/settings.toml"),
        settings(None, None),
    )
    .unwrap();
    let out = provision(&env.proxy.url())
        .current_dir(bare.path())
        .args(["policy", "boundary"])
        .assert()
        .failure()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("no client is declared"), "{stderr}");
    let (doc, stderr) = operator_policy(&env);
    assert!(
        stderr.contains("`settings.permissions_boundary` is not set"),
        "{stderr}"
    );
    assert_eq!(
        doc["Statement"][1]["Resource"],
        "arn:aws:iam::*:user/provision/*"
    );
    // Invalid files: the usual diagnostics, exit 1.
    env.write("bad.toml", "[settings]\npermissions_boundary = \"nope\"\n");
    provision(&env.proxy.url())
        .args(["policy", "operator"])
        .arg(env.clients())
        .assert()
        .failure()
        .code(1);
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
}
