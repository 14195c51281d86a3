//! Isolation against a real IAM and S3 API: `provision verify`'s answers
//! compared with what moto's IAM enforcement actually does with the
//! delivered keys, and the plan-time refusals that need the account.

mod common;

use std::fs;

use aws_sdk_s3::error::ProvideErrorMetadata;
use common::{TestEnv, block_on, iam_client, read_key, s3_client};
use serde_json::Value;

/// Three clients, one per access level; globex by prefix.
const CLIENTS: &str = r#"
[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "acme"
buckets = ["acme-assets", "acme-assets-dev"]
access = "read-write"
developers = ["alice"]

[[clients]]
name = "globex"
bucket_prefixes = ["globex-"]
access = "read-only"
developers = ["alice"]

[[clients]]
name = "initech"
buckets = ["initech-data"]
access = "full"
"#;

/// The buckets to create: every exact bucket, and the representative
/// bucket `verify` uses for the prefix.
const BUCKETS: &[&str] = &[
    "acme-assets",
    "acme-assets-dev",
    "globex-example",
    "initech-data",
];

const APPS: &[&str] = &["acme-app", "globex-app", "initech-app"];

/// The shared environment, with the three clients' file in `clients/`.
type Env = TestEnv;

impl TestEnv {
    fn new() -> TestEnv {
        TestEnv::with_files(&[("all.toml", CLIENTS)])
    }

    fn verify_json(&self) -> (i32, Value) {
        let out = self
            .cmd()
            .arg("verify")
            .arg(self.clients())
            .args(["--format", "json"])
            .output()
            .unwrap();
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "verify printed no JSON ({e}):\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap(), json)
    }
}

/// Whether verify's JSON says `principal` may do `action` on `bucket`.
fn verify_allows(matrix: &Value, principal: &str, bucket: &str, action: &str) -> bool {
    let cell = matrix["access"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["principal"] == principal && c["resource"] == bucket)
        .unwrap_or_else(|| panic!("no cell for {principal} x {bucket}"));
    cell["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == action)
}

/// Runs `action` on `bucket` with the S3 client and says whether moto let
/// it through: anything but `AccessDenied` (success, `NoSuchKey`, ...)
/// means IAM allowed it.
async fn moto_allows(s3: &aws_sdk_s3::Client, bucket: &str, action: &str) -> bool {
    let key = "probe.txt";
    let code = match action {
        "s3:ListBucket" => s3
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .err()
            .map(|e| e.code().map(str::to_owned)),
        "s3:GetObject" => s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .err()
            .map(|e| e.code().map(str::to_owned)),
        "s3:PutObject" => s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(b"x".to_vec().into())
            .send()
            .await
            .err()
            .map(|e| e.code().map(str::to_owned)),
        "s3:DeleteObject" => s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .err()
            .map(|e| e.code().map(str::to_owned)),
        "s3:PutBucketAcl" => s3
            .put_bucket_acl()
            .bucket(bucket)
            .acl(aws_sdk_s3::types::BucketCannedAcl::Private)
            .send()
            .await
            .err()
            .map(|e| e.code().map(str::to_owned)),
        "s3:PutBucketPolicy" => {
            // A policy that changes nothing: it denies a principal that does
            // not exist an object that does not exist.
            let policy = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":{{"AWS":"arn:aws:iam::123456789012:user/nobody"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/nothing"}}]}}"#
            );
            s3.put_bucket_policy()
                .bucket(bucket)
                .policy(policy)
                .send()
                .await
                .err()
                .map(|e| e.code().map(str::to_owned))
        }
        other => panic!("no probe for {other}"),
    };
    code.is_none_or(|c| c.as_deref() != Some("AccessDenied"))
}

/// The guarantee end to end: for every delivered key, bucket and probed
/// action, `verify` says what moto's enforcement does.
#[test]
fn verify_matches_what_iam_enforcement_does_for_every_delivered_key() {
    let env = Env::new();
    let url = env.moto.url();
    block_on(async {
        let admin = s3_client(
            &url,
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        for b in BUCKETS {
            admin.create_bucket().bucket(*b).send().await.unwrap();
        }
    });
    env.apply(&env.clients()).success();
    // verify reads IAM, which enforcement would refuse the test key: ask
    // it first.
    let (code, matrix) = env.verify_json();
    assert_eq!(code, 0, "{matrix:#}");
    assert_eq!(matrix["isolated"], true);
    assert_eq!(matrix["leaks"], serde_json::json!([]));

    env.moto.set_auth(true);
    let mut compared = 0;
    let mut mismatches = Vec::new();
    // Bucket-policy and ACL probes last: they change the buckets.
    let phases: [&[&str]; 2] = [
        &[
            "s3:ListBucket",
            "s3:PutObject",
            "s3:GetObject",
            "s3:DeleteObject",
        ],
        &["s3:PutBucketAcl", "s3:PutBucketPolicy"],
    ];
    block_on(async {
        for actions in phases {
            for app in APPS {
                let (id, secret) = read_key(&env.creds(), app);
                let s3 = s3_client(&url, &id, &secret);
                for bucket in BUCKETS {
                    for action in actions {
                        let ours = verify_allows(&matrix, app, bucket, action);
                        let theirs = moto_allows(&s3, bucket, action).await;
                        compared += 1;
                        if ours != theirs {
                            mismatches.push(format!(
                                "{app} {action} {bucket}: verify says {ours}, moto says {theirs}"
                            ));
                        }
                    }
                }
            }
        }
    });
    env.moto.set_auth(false);
    assert_eq!(mismatches, Vec::<String>::new());
    assert_eq!(compared, APPS.len() * BUCKETS.len() * 6);
    // The comparison is not vacuous: some pairs are allowed, most are not.
    let allowed = matrix["access"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["allowed"].as_array().unwrap().is_empty())
        .count();
    assert!(allowed >= 4, "{matrix:#}");
}

#[test]
fn a_hand_made_grant_across_clients_makes_verify_fail() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    block_on(async {
        env.proxy.clear();
        env.iam()
            .put_user_policy()
            .user_name("globex-app")
            .policy_name("sneaky")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-assets/*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    });
    let out = env
        .cmd()
        .arg("verify")
        .arg(env.clients())
        .assert()
        .failure()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains(
            "LEAK: `globex-app` reaches bucket `acme-assets` of client `acme`: s3:GetObject"
        ),
        "{text}"
    );
    // verify only reads.
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

/// The hardening issue's case, end to end: client `bbb`'s group is given
/// by hand a policy on `arn:aws:s3:::aaa-prod*`, inside client `aaa`'s
/// prefix `aaa-` but not on the sample bucket `aaa-example` that verify
/// probes. With IAM enforcement on, `bbb-app`'s delivered key really reads
/// aaa's bucket `aaa-prod-x`; verify must call that a leak and name the
/// statement and the pattern.
#[test]
fn a_grant_inside_another_clients_prefix_is_a_real_leak_and_verify_flags_it() {
    let env = TestEnv::with_files(&[(
        "ab.toml",
        "[[clients]]\nname = \"aaa\"\nbucket_prefixes = [\"aaa-\"]\n\n[[clients]]\nname = \"bbb\"\nbuckets = [\"bbb-data\"]\n",
    )]);
    let url = env.moto.url();
    block_on(async {
        let admin = s3_client(
            &url,
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        for b in ["aaa-prod-x", "bbb-data"] {
            admin.create_bucket().bucket(b).send().await.unwrap();
        }
        admin
            .put_object()
            .bucket("aaa-prod-x")
            .key("ledger.csv")
            .body(b"aaa's own data".to_vec().into())
            .send()
            .await
            .unwrap();
    });
    env.apply(&env.clients()).success();
    let (code, _) = env.verify_json();
    assert_eq!(code, 0, "isolated as applied");

    block_on(async {
        env.iam()
            .put_group_policy()
            .group_name("client-bbb")
            .policy_name("hand")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadProd","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"arn:aws:s3:::aaa-prod*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    });

    // The leak is real: bbb's key reads aaa's bucket under enforcement.
    env.moto.set_auth(true);
    let (id, secret) = read_key(&env.creds(), "bbb-app");
    let read = block_on(async {
        let s3 = s3_client(&url, &id, &secret);
        let object = s3
            .get_object()
            .bucket("aaa-prod-x")
            .key("ledger.csv")
            .send()
            .await;
        match object {
            Ok(o) => Ok(o.body.collect().await.unwrap().into_bytes().to_vec()),
            Err(e) => Err(format!("{:?}", e.code())),
        }
    });
    env.moto.set_auth(false);
    assert_eq!(
        read.as_deref(),
        Ok(&b"aaa's own data"[..]),
        "the hand policy must really let bbb-app read aaa-prod-x"
    );

    // verify flags it, naming the statement and the pattern.
    env.proxy.clear();
    let out = env
        .cmd()
        .arg("verify")
        .arg(env.clients())
        .assert()
        .failure()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("LEAK: `bbb-app` reaches bucket prefix `aaa-` of client `aaa`\n  - inline policy `hand` of group `client-bbb`, statement `#1` (`ReadProd`), allows `s3:GetObject` on `arn:aws:s3:::aaa-prod*`"),
        "{text}"
    );
    assert!(text.contains("Isolation is broken"), "{text}");
    assert_eq!(
        env.proxy.writes(),
        Vec::<String>::new(),
        "verify only reads"
    );
    let (code, matrix) = env.verify_json();
    assert_eq!(code, 1);
    assert_eq!(matrix["isolated"], false);
    assert_eq!(matrix["leaks"][0]["principal"], "bbb-app");
    assert_eq!(
        matrix["leaks"][0]["reached_by"][0]["resources"]["only"],
        "arn:aws:s3:::aaa-prod*"
    );
}

#[test]
fn verify_reads_attached_managed_policies() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    block_on(async {
        let iam = env.iam();
        let policy = iam
            .create_policy()
            .policy_name("wide")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::initech-*"}]}"#,
            )
            .send()
            .await
            .unwrap();
        iam.attach_user_policy()
            .user_name("alice")
            .policy_arn(policy.policy().unwrap().arn().unwrap())
            .send()
            .await
            .unwrap();
    });
    let (code, matrix) = env.verify_json();
    assert_eq!(code, 1);
    assert_eq!(matrix["leaks"][0]["principal"], "alice");
    assert_eq!(matrix["leaks"][0]["resource"], "initech-data");
    assert_eq!(
        matrix["leaks"][0]["allowed"],
        serde_json::json!(["s3:ListBucket"])
    );
}

#[test]
fn simulate_reports_an_endpoint_without_the_simulator() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let out = env
        .cmd()
        .arg("verify")
        .arg(env.clients())
        .arg("--simulate")
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("`--simulate` needs iam:SimulatePrincipalPolicy, which failed for"),
        "{err}"
    );
    assert!(
        err.contains("run `provision verify` without `--simulate`"),
        "{err}"
    );
}

/// Applying one file must still refuse a prefix that reaches the bucket of
/// a client that lives only in the account.
#[test]
fn a_prefix_reaching_a_live_clients_bucket_is_refused_at_plan_time() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let other = env.dir.path().join("acmecorp.toml");
    fs::write(
        &other,
        "[[clients]]\nname = \"acmecorp\"\nbucket_prefixes = [\"acme\"]\n",
    )
    .unwrap();
    // Valid on its own: the collision is only visible in the account.
    env.cmd().arg("validate").arg(&other).assert().success();
    env.proxy.clear();
    let out = env.apply(&other).failure().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let expected = format!(
        "error: bucket prefix `acme` of client `acmecorp` ({}:3:20) reaches bucket `acme-assets` of client `acme` (group `client-acme` in the account, not in the files given)",
        other.display()
    );
    assert!(err.contains(&expected), "{err}");
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

/// A managed group's policy widened by hand is shown first in the plan and
/// reverted by apply, after which verify finds the clients isolated.
#[test]
fn widening_drift_is_prominent_and_reverted() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    block_on(async {
        env.iam()
            .put_group_policy()
            .group_name("client-globex")
            .policy_name("provision-s3")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    });
    let (code, _) = env.verify_json();
    assert_eq!(code, 1, "the widened policy reaches other clients");
    let out = env.cmd().arg("plan").arg(env.clients()).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.starts_with(
            "warning: DRIFT widens access: group `client-globex`, policy `provision-s3`: statement `#1` allows `s3:*` on every resource (`*`)"
        ),
        "{text}"
    );
    env.apply(&env.clients()).success();
    let (code, matrix) = env.verify_json();
    assert_eq!(code, 0, "{matrix:#}");
}

/// A client whose policy does not fit the group's inline quota (about
/// 6,000 characters) still works: its policy becomes a managed policy
/// attached to its group, the next plan is empty, its key reaches its
/// buckets, and verify reads the managed policy.
#[test]
fn a_client_over_the_inline_quota_works_through_a_managed_policy() {
    let env = Env::new();
    let buckets: Vec<String> = (0..72)
        .map(|i| format!("big-bucket-number-{i:03}"))
        .collect();
    let file = env.dir.path().join("clients/big.toml");
    fs::write(
        &file,
        format!(
            "[[clients]]\nname = \"big\"\naccess = \"read-write\"\nbuckets = [{}]\n",
            buckets
                .iter()
                .map(|b| format!("\"{b}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .unwrap();
    let url = env.moto.url();
    block_on(async {
        let admin = s3_client(
            &url,
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        for b in ["big-bucket-number-000", "acme-assets"] {
            admin.create_bucket().bucket(b).send().await.unwrap();
        }
    });
    let out = env.apply(&env.clients()).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("+ group-policy client-big/provision-s3-big"),
        "{text}"
    );
    // Converged: the next plan is empty.
    let out = env
        .cmd()
        .arg("plan")
        .arg(env.clients())
        .arg("--detailed-exitcode")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    block_on(async {
        let iam = iam_client(&url);
        let attached = iam
            .list_attached_group_policies()
            .group_name("client-big")
            .send()
            .await
            .unwrap();
        let names: Vec<&str> = attached
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_name())
            .collect();
        assert_eq!(names, ["provision-s3-big"]);
        let inline = iam
            .list_group_policies()
            .group_name("client-big")
            .send()
            .await
            .unwrap();
        assert!(inline.policy_names().is_empty());
    });
    let (code, matrix) = env.verify_json();
    assert_eq!(code, 0, "{matrix:#}");
    assert!(verify_allows(
        &matrix,
        "big-app",
        "big-bucket-number-071",
        "s3:PutObject"
    ));
    assert!(!verify_allows(
        &matrix,
        "big-app",
        "acme-assets",
        "s3:GetObject"
    ));
    // moto's enforcement agrees.
    env.moto.set_auth(true);
    let (id, secret) = read_key(&env.creds(), "big-app");
    let (own, other) = block_on(async {
        let s3 = s3_client(&url, &id, &secret);
        (
            moto_allows(&s3, "big-bucket-number-000", "s3:PutObject").await,
            moto_allows(&s3, "acme-assets", "s3:GetObject").await,
        )
    });
    env.moto.set_auth(false);
    assert!(own && !other, "own {own}, other {other}");
}

// ---------------------------------------------------------------------------
// Who belongs to a client comes from the configuration, never from what
// anyone may edit in the account (a tag, a membership).
// ---------------------------------------------------------------------------

const ACME: &str = r#"
[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "acme"
buckets = ["acme-assets"]
access = "read-write"
developers = ["alice"]
"#;

const GLOBEX: &str = r#"
[[clients]]
name = "globex"
buckets = ["globex-assets"]
"#;

/// A policy allowing `s3:GetObject` on the objects of `bucket`.
fn grab(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    )
}

/// `verify PATHS --format json`: exit code, stdout and stderr.
fn verify_paths(env: &TestEnv, paths: &[std::path::PathBuf]) -> (i32, String, String) {
    let out = env
        .cmd()
        .arg("verify")
        .args(paths)
        .args(["--format", "json"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether `user`'s delivered key may get `bucket/data.txt` under moto's
/// IAM enforcement (turned on for the call only). Creates the bucket and
/// the object first, as the administrator.
fn key_reads(env: &TestEnv, user: &str, bucket: &str) -> bool {
    let url = env.moto.url();
    block_on(async {
        let admin = s3_client(
            &url,
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        admin.create_bucket().bucket(bucket).send().await.unwrap();
        admin
            .put_object()
            .bucket(bucket)
            .key("data.txt")
            .body(b"data".to_vec().into())
            .send()
            .await
            .unwrap();
    });
    let (id, secret) = read_key(&env.creds(), user);
    env.moto.set_auth(true);
    let result = block_on(async {
        let s3 = s3_client(&url, &id, &secret);
        s3.get_object().bucket(bucket).key("data.txt").send().await
    });
    env.moto.set_auth(false);
    match result {
        Ok(_) => true,
        Err(e) if e.code() == Some("AccessDenied") => false,
        Err(e) => panic!("reading `{bucket}` as `{user}`: {e:?}"),
    }
}

/// The `provision:client` tag is only a tag: whoever may tag users sets
/// it. acme's application user re-tagged as globex's, with a hand policy
/// on globex's bucket, still belongs to acme (the file says so), so its
/// reach into globex's bucket is a leak.
#[test]
fn verify_reports_a_leak_hidden_behind_a_retagged_client_tag() {
    let env = TestEnv::with_files(&[("acme.toml", ACME), ("globex.toml", GLOBEX)]);
    env.apply(&env.clients()).success();
    block_on(async {
        let iam = env.iam();
        iam.tag_user()
            .user_name("acme-app")
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("provision:client")
                    .value("globex")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        iam.put_user_policy()
            .user_name("acme-app")
            .policy_name("sneaky")
            .policy_document(grab("globex-assets"))
            .send()
            .await
            .unwrap();
    });
    assert!(
        key_reads(&env, "acme-app", "globex-assets"),
        "the leak is real"
    );
    for paths in [vec![env.clients()], vec![env.file("acme.toml")]] {
        let (code, out, err) = verify_paths(&env, &paths);
        assert_eq!(code, 1, "{paths:?}: isolation holds?\n{out}\n{err}");
        let json: Value = serde_json::from_str(&out).unwrap();
        let leak = &json["leaks"][0];
        assert_eq!(
            (leak["principal"].as_str(), leak["resource"].as_str()),
            (Some("acme-app"), Some("globex-assets")),
            "{out}"
        );
        let acme_app = json["principals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "acme-app")
            .unwrap();
        assert_eq!(acme_app["clients"], serde_json::json!(["acme"]), "{out}");
    }
}

/// An application user belongs to exactly one client, the one whose
/// `app_user` it is, whatever group it was put in by hand. Verify of
/// either file sees acme's application user in globex's group as a leak.
#[test]
fn verify_of_one_file_reports_an_app_user_put_in_another_clients_group() {
    let env = TestEnv::with_files(&[("acme.toml", ACME), ("globex.toml", GLOBEX)]);
    env.apply(&env.clients()).success();
    block_on(async {
        env.iam()
            .add_user_to_group()
            .group_name("client-globex")
            .user_name("acme-app")
            .send()
            .await
            .unwrap();
    });
    assert!(
        key_reads(&env, "acme-app", "globex-assets"),
        "the leak is real"
    );
    for file in ["globex.toml", "acme.toml"] {
        let (code, out, err) = verify_paths(&env, &[env.file(file)]);
        assert_eq!(code, 1, "verify {file} says isolation holds:\n{out}\n{err}");
    }
    // With globex only in the account (its file gone), its group's
    // membership still does not make acme's application user globex's.
    fs::remove_file(env.file("globex.toml")).unwrap();
    let (code, out, err) = verify_paths(&env, &[env.file("acme.toml")]);
    assert_eq!(code, 1, "globex only in the account:\n{out}\n{err}");
}

/// A client whose grant does not fit inline keeps it in its managed policy
/// `provision-s3-<client>`. With that client only in the account, verify
/// of another file reads its buckets from that policy, as the plan's live
/// collision check does.
#[test]
fn verify_of_one_file_sees_the_buckets_of_a_client_granted_by_managed_policy() {
    let buckets: Vec<String> = (0..68)
        .map(|i| format!("globex-bucket-number-{i:03}"))
        .collect();
    let big = format!(
        "[[clients]]\nname = \"globex\"\nbuckets = [{}]\n",
        buckets
            .iter()
            .map(|b| format!("\"{b}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let env = TestEnv::with_files(&[("acme.toml", ACME), ("globex.toml", &big)]);
    let out = env.apply(&env.clients()).success();
    assert!(
        common::stdout(&out).contains("client-globex/provision-s3-globex"),
        "globex's grant is a managed policy"
    );
    block_on(async {
        env.iam()
            .put_user_policy()
            .user_name("acme-app")
            .policy_name("sneaky")
            .policy_document(grab("globex-bucket-number-007"))
            .send()
            .await
            .unwrap();
    });
    let (code, out, _) = verify_paths(&env, &[env.clients()]);
    assert_eq!(code, 1, "verify clients/ sees the leak:\n{out}");
    // globex only in the account.
    fs::remove_file(env.file("globex.toml")).unwrap();
    let (code, out, err) = verify_paths(&env, &[env.file("acme.toml")]);
    assert_eq!(
        code, 1,
        "verify acme.toml misses acme-app reading globex's bucket:\n{out}\n{err}"
    );
    assert!(
        out.contains("\"resource\": \"globex-bucket-number-007\""),
        "{out}"
    );
}

/// A membership that has ended (`expires` in the past), a developer who
/// has expired and a disabled developer belong to no client, as the plan
/// says: until the next apply removes the membership, their reach into
/// the client's buckets is a leak.
#[test]
fn verify_does_not_count_an_ended_membership_as_belonging() {
    let yesterday = (chrono::Local::now().date_naive() - chrono::Days::new(1)).to_string();
    let globex = |bob: &str, member: &str| {
        format!(
            "[[developers]]\nname = \"bob\"\n{bob}\n[[clients]]\nname = \"globex\"\nbuckets = [\"globex-assets\"]\ndevelopers = [{member}]\n"
        )
    };
    let env = TestEnv::with_files(&[("acme.toml", ACME), ("globex.toml", &globex("", "\"bob\""))]);
    env.apply(&env.clients()).success();
    let (code, out, _) = verify_paths(&env, &[env.clients()]);
    assert_eq!(code, 0, "isolated as applied:\n{out}");
    let cases = [
        (
            "an ended membership",
            globex("", &format!("{{ name = \"bob\", expires = {yesterday} }}")),
        ),
        (
            "an expired developer",
            globex(&format!("expires = {yesterday}"), "\"bob\""),
        ),
        ("a disabled developer", globex("disabled = true", "\"bob\"")),
    ];
    for (case, text) in cases {
        env.write("globex.toml", &text);
        let (code, plan) = env.plan_exit(&env.clients());
        assert!(
            code == 2 && plan.contains("client-globex"),
            "{case}: the plan takes bob out of globex:\n{plan}"
        );
        for paths in [vec![env.clients()], vec![env.file("acme.toml")]] {
            let (code, out, err) = verify_paths(&env, &paths);
            assert_eq!(
                code, 1,
                "{case}, {paths:?}: bob still reads globex-assets; verify says isolation holds:\n{out}\n{err}"
            );
            assert!(out.contains("\"principal\": \"bob\""), "{case}:\n{out}");
        }
    }
}

/// The resource side end to end. A hand-written bucket policy on acme's
/// bucket lets `globex-app` in: with IAM enforcement on (and the test
/// server's faithful bucket-policy evaluation), globex's key cannot read
/// acme's object before the policy and can after it, with no identity
/// policy changed (AWS's same-account rule), so the leak is real. `verify`
/// then fails and names the statement, in text and in JSON.
#[test]
fn a_bucket_policy_grant_to_another_clients_app_works_and_verify_flags_it() {
    let env = Env::new();
    let url = env.moto.url();
    let admin = s3_client(
        &url,
        common::TEST_ACCESS_KEY_ID,
        common::TEST_SECRET_ACCESS_KEY,
    );
    block_on(async {
        for b in BUCKETS {
            admin.create_bucket().bucket(*b).send().await.unwrap();
        }
        admin
            .put_object()
            .bucket("acme-assets")
            .key("secret.txt")
            .body(b"acme's".to_vec().into())
            .send()
            .await
            .unwrap();
    });
    env.apply(&env.clients()).success();
    let (code, json) = env.verify_json();
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["bucket_leaks"], serde_json::json!([]));
    // The three named buckets and `globex-example`, which globex's prefix
    // covers.
    assert_eq!(json["buckets"].as_array().unwrap().len(), 4, "{json:#}");

    let (id, secret) = read_key(&env.creds(), "globex-app");
    let globex = s3_client(&url, &id, &secret);
    let reads = |env: &TestEnv| {
        env.moto.set_auth(true);
        let result = block_on(
            globex
                .get_object()
                .bucket("acme-assets")
                .key("secret.txt")
                .send(),
        );
        env.moto.set_auth(false);
        result.map(|_| ()).map_err(|e| format!("{e:?}"))
    };
    assert!(
        reads(&env).is_err(),
        "globex-app reads acme's object already"
    );

    let globex_arn = "arn:aws:iam::123456789012:user/provision/globex-app";
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "LetGlobexRead",
            "Effect": "Allow",
            "Principal": {"AWS": globex_arn},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::acme-assets", "arn:aws:s3:::acme-assets/*"]
        }]
    });
    block_on(
        admin
            .put_bucket_policy()
            .bucket("acme-assets")
            .policy(policy.to_string())
            .send(),
    )
    .unwrap();
    reads(&env).expect("the bucket policy lets globex-app read acme's object");

    env.proxy.clear();
    let out = env
        .cmd()
        .arg("verify")
        .arg(env.clients())
        .assert()
        .failure()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains(
            "LEAK: `globex-app` is let into bucket `acme-assets` of client `acme` by its bucket policy: s3:ListBucket, s3:GetObject\n  - bucket policy of `acme-assets`, statement `#1` (`LetGlobexRead`), grants `s3:GetObject`, `s3:ListBucket` to `arn:aws:iam::123456789012:user/provision/globex-app`\n"
        ),
        "{text}"
    );
    // One verdict, covering both sides: the identity side alone holds
    // here, and the output must not say so above the leak.
    assert!(!text.contains("Isolation holds"), "{text}");
    let verdict: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Isolation"))
        .collect();
    insta::assert_snapshot!(verdict.join("\n"), @"Isolation is broken: 1 leak(s): 0 principal/resource pair(s) cross clients through IAM policies, 1 grant(s) in bucket policies or ACLs let in another client, another account or everyone.");
    // verify only reads, and every bucket read names its owner.
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    let (code, json) = env.verify_json();
    assert_eq!(code, 1);
    assert_eq!(json["isolated"], false);
    let leaks = json["bucket_leaks"].as_array().unwrap();
    assert_eq!(leaks.len(), 1, "{json:#}");
    assert_eq!(leaks[0]["principal"], "globex-app");
    assert_eq!(leaks[0]["sid"], "LetGlobexRead");
    assert_eq!(leaks[0]["statement"], 1);
    let acme = json["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "acme-assets")
        .unwrap();
    assert_eq!(acme["policy"], policy.to_string());
    assert_eq!(acme["public_access_block"], Value::Null);
}

/// A client bucket of that name owned by another account is never read:
/// every read carries `ExpectedBucketOwner`, S3 refuses, and verify says
/// isolation cannot be proven instead of reading a stranger's settings.
#[test]
fn verify_does_not_read_a_client_bucket_owned_by_another_account() {
    let env = Env::new();
    block_on(async {
        let stranger = common::s3_client_in_account(&env.moto.url(), "111111111111");
        stranger
            .create_bucket()
            .bucket("acme-assets")
            .send()
            .await
            .unwrap();
    });
    env.apply(&env.clients()).success();
    let (code, json) = env.verify_json();
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["isolated"], false);
    let unreadable = json["unreadable_buckets"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1, "{json:#}");
    assert!(
        unreadable[0]
            .as_str()
            .unwrap()
            .starts_with("bucket `acme-assets` of client `acme`: policy (AccessDenied"),
        "{json:#}"
    );
}

/// A bucket whose settings cannot be read may let anyone in: when S3
/// refuses the reads of one client bucket, verify cannot prove isolation,
/// and says which bucket. Each bucket costs four reads, no more.
#[test]
fn a_bucket_verify_cannot_read_leaves_isolation_unproven() {
    let env = Env::new();
    block_on(async {
        let admin = s3_client(
            &env.moto.url(),
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        for b in BUCKETS {
            admin.create_bucket().bucket(*b).send().await.unwrap();
        }
    });
    env.apply(&env.clients()).success();
    env.proxy.clear();
    let (code, json) = env.verify_json();
    assert_eq!(code, 0, "{json:#}");
    // acme-assets, acme-assets-dev, initech-data: four reads each.
    for b in ["acme-assets", "acme-assets-dev", "initech-data"] {
        assert_eq!(
            env.proxy.count(&format!("GET /{b}/")),
            4,
            "{:?}",
            env.proxy.calls()
        );
    }
    env.proxy.refuse("GET /initech-data/", "", "");
    let (code, json) = env.verify_json();
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["isolated"], false);
    let unreadable = json["unreadable_buckets"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1, "{json:#}");
    assert!(
        unreadable[0]
            .as_str()
            .unwrap()
            .starts_with("bucket `initech-data` of client `initech`: policy ("),
        "{json:#}"
    );
}

/// Turns on all four of the account's Block Public Access settings, as an
/// administrator would (S3 Control `PutPublicAccessBlock`).
fn block_public_access_for_the_account(url: &str) {
    let all = aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    block_on(
        common::s3control_client(url)
            .put_public_access_block()
            .account_id("123456789012")
            .public_access_block_configuration(all)
            .send(),
    )
    .unwrap();
}

/// Block Public Access is in force for a bucket when the account's or the
/// bucket's own setting is on (AWS's rule): with the account's four on,
/// buckets without their own are not exposed, verify warns about none of
/// them, reads the account's settings once, and reads no bucket's own.
#[test]
fn the_accounts_block_public_access_stands_for_buckets_without_their_own() {
    let env = Env::new();
    let url = env.moto.url();
    let admin = s3_client(
        &url,
        common::TEST_ACCESS_KEY_ID,
        common::TEST_SECRET_ACCESS_KEY,
    );
    block_on(async {
        for b in BUCKETS {
            admin.create_bucket().bucket(*b).send().await.unwrap();
        }
    });
    env.apply(&env.clients()).success();
    let (code, json) = env.verify_json();
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["account_public_access_block"], Value::Null, "{json:#}");
    let warned = |json: &Value| {
        json["bucket_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w.as_str().unwrap().contains("has no Block Public Access"))
            .count()
    };
    // acme's two, globex's one (through its prefix) and initech's.
    assert_eq!(warned(&json), 4, "{json:#}");

    block_public_access_for_the_account(&url);
    env.proxy.clear();
    let out = env
        .cmd()
        .arg("verify")
        .arg(env.clients())
        .assert()
        .success();
    let err = common::stderr(&out);
    assert!(!err.contains("Block Public Access"), "{err}");
    assert_eq!(
        env.proxy
            .count("GET /v20180820/configuration/publicAccessBlock"),
        1,
        "{:?}",
        env.proxy.calls()
    );
    // Policy, ownership and ACL: the bucket's own Block Public Access is
    // not read.
    assert_eq!(
        env.proxy.count("GET /acme-assets/"),
        3,
        "{:?}",
        env.proxy.calls()
    );
    let (code, json) = env.verify_json();
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(warned(&json), 0, "{json:#}");
    assert_eq!(json["bucket_warnings"], serde_json::json!([]), "{json:#}");
    assert_eq!(
        json["account_public_access_block"],
        serde_json::json!({"block_public_acls": true, "ignore_public_acls": true,
            "block_public_policy": true, "restrict_public_buckets": true})
    );
    let acme = json["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "acme-assets")
        .unwrap();
    assert!(
        acme["public_access_block"]["not_read"]
            .as_str()
            .unwrap()
            .contains("the account's Block Public Access has all four settings on"),
        "{acme:#}"
    );
}

/// A bucket no file names but a client's prefix covers is that client's:
/// verify lists the account's buckets, reads every bucket the prefix
/// covers, and a grant to everyone in one of them is a leak. A bucket
/// whose name only nearly starts with the prefix is not read.
#[test]
fn a_public_grant_on_a_bucket_only_a_prefix_covers_makes_verify_fail() {
    let env = Env::new();
    let url = env.moto.url();
    let admin = s3_client(
        &url,
        common::TEST_ACCESS_KEY_ID,
        common::TEST_SECRET_ACCESS_KEY,
    );
    let public = |bucket: &str| {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "Public",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{bucket}/*")
            }]
        })
        .to_string()
    };
    block_on(async {
        for b in BUCKETS.iter().chain(&["globex-reports", "globe-reports"]) {
            admin.create_bucket().bucket(*b).send().await.unwrap();
        }
        // A near miss: `globe-` is no client's prefix.
        for b in ["globex-reports", "globe-reports"] {
            admin
                .put_bucket_policy()
                .bucket(b)
                .policy(public(b))
                .send()
                .await
                .unwrap();
        }
    });
    env.apply(&env.clients()).success();
    env.proxy.clear();
    let (code, json) = env.verify_json();
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["isolated"], false);
    let leaks = json["bucket_leaks"].as_array().unwrap();
    assert_eq!(leaks.len(), 1, "{json:#}");
    assert_eq!(leaks[0]["bucket"], "globex-reports");
    assert_eq!(leaks[0]["client"], "globex");
    assert_eq!(leaks[0]["sid"], "Public");
    let reports = json["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "globex-reports")
        .unwrap_or_else(|| panic!("globex-reports not read: {json:#}"));
    assert_eq!(reports["prefix"], "globex-");
    assert_eq!(reports["client"], "globex");
    assert_eq!(env.proxy.count("GET /"), 1, "{:?}", env.proxy.calls());
    assert_eq!(env.proxy.count("GET /globe-reports/"), 0);
    let out = env
        .cmd()
        .arg("verify")
        .arg(env.clients())
        .assert()
        .failure()
        .code(1);
    let text = common::stdout(&out);
    assert!(
        text.contains("LEAK: everyone (`*`) is let into bucket `globex-reports` of client `globex` by its bucket policy\n  - bucket policy of `globex-reports`, statement `#1` (`Public`), grants `s3:GetObject` to everyone (`*`)\n"),
        "{text}"
    );
}

/// With ACLs off (Object Ownership `BucketOwnerEnforced`, the default of
/// new buckets), AWS evaluates only policies: verify reads the ownership
/// first and not the ACL, and the JSON says why. A bucket with ACLs on
/// still has its ACL read.
#[test]
fn a_bucket_with_acls_off_is_verified_without_reading_its_acl() {
    let env = Env::new();
    let url = env.moto.url();
    let admin = s3_client(
        &url,
        common::TEST_ACCESS_KEY_ID,
        common::TEST_SECRET_ACCESS_KEY,
    );
    block_on(async {
        for b in BUCKETS {
            admin.create_bucket().bucket(*b).send().await.unwrap();
        }
        let enforced = aws_sdk_s3::types::OwnershipControls::builder()
            .rules(
                aws_sdk_s3::types::OwnershipControlsRule::builder()
                    .object_ownership(aws_sdk_s3::types::ObjectOwnership::BucketOwnerEnforced)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        admin
            .put_bucket_ownership_controls()
            .bucket("acme-assets")
            .ownership_controls(enforced)
            .send()
            .await
            .unwrap();
    });
    env.apply(&env.clients()).success();
    env.proxy.clear();
    let (code, json) = env.verify_json();
    assert_eq!(code, 0, "{json:#}");
    // Policy, ownership and Block Public Access; the ACL as well where
    // ACLs are on.
    assert_eq!(
        env.proxy.count("GET /acme-assets/"),
        3,
        "{:?}",
        env.proxy.calls()
    );
    assert_eq!(env.proxy.count("GET /acme-assets-dev/"), 4);
    let bucket = |name: &str| {
        json["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        bucket("acme-assets")["object_ownership"],
        "BucketOwnerEnforced"
    );
    assert!(
        bucket("acme-assets")["acl"]["not_read"]
            .as_str()
            .unwrap()
            .starts_with("ACLs are disabled"),
        "{json:#}"
    );
    assert!(bucket("acme-assets-dev")["acl"].is_array(), "{json:#}");
}
