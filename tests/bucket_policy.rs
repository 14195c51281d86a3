//! The bucket-policy layer end to end: what it writes into a client
//! bucket's policy, what it keeps, whom it really denies under the test
//! server's enforcement, and every way the plan refuses or stops.

mod common;

use std::path::Path;

use common::{
    TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, TestEnv, block_on, iam_client, read_key, s3_client,
    s3_client_over_tls, stderr, stdout,
};
use serde_json::Value;

const ACCOUNT: &str = "123456789012";
const ADMIN_ARN: &str = "arn:aws:iam::123456789012:user/admin";

/// Two clients; the layer is on for both, with the administrator exempt.
const LAYER: &str = r#"
[settings]
bucket_policy = true
bucket_policy_exempt = ["arn:aws:iam::123456789012:user/admin"]
"#;

const CLIENTS: &str = r#"
[[developers]]
name = "alice"

[[clients]]
name = "acme"
buckets = ["acme-data"]
access = "read-write"
developers = ["alice"]

[[clients]]
name = "globex"
buckets = ["globex-data"]
access = "read-write"
"#;

/// A statement written by hand, with odd spacing, key order and an escape:
/// the apply must keep these exact bytes.
const HAND_STATEMENT: &str = r#"{ "Sid" :"Keep\u004De","Resource": "arn:aws:s3:::acme-data/public/*" ,"Effect":"Allow",
   "Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["s3:GetObject"]}"#;

/// The world of one test: the environment, and the administrator's key
/// that runs provision (an IAM user, so that the caller has an ARN the
/// layer can exempt).
struct Env {
    env: TestEnv,
    admin: (String, String),
}

impl Env {
    fn new(settings: &str) -> Env {
        let env = TestEnv::with_files(&[("all.toml", &format!("{settings}{CLIENTS}"))]);
        let admin = block_on(async {
            let iam = iam_client(&env.moto.url());
            iam.create_user().user_name("admin").send().await.unwrap();
            let key = iam
                .create_access_key()
                .user_name("admin")
                .send()
                .await
                .unwrap();
            let key = key.access_key().unwrap();
            let s3 = s3_client(&env.moto.url(), TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY);
            for bucket in ["acme-data", "globex-data"] {
                s3.create_bucket().bucket(bucket).send().await.unwrap();
            }
            s3.put_object()
                .bucket("acme-data")
                .key("ledger.csv")
                .body(b"acme's own data".to_vec().into())
                .send()
                .await
                .unwrap();
            (
                key.access_key_id().to_owned(),
                key.secret_access_key().to_owned(),
            )
        });
        Env { env, admin }
    }

    /// A `provision` command run by the administrator.
    fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = self.env.cmd();
        cmd.env("AWS_ACCESS_KEY_ID", &self.admin.0)
            .env("AWS_SECRET_ACCESS_KEY", &self.admin.1);
        cmd
    }

    fn apply(&self, path: &Path) -> assert_cmd::assert::Assert {
        self.cmd()
            .arg("apply")
            .arg(path)
            .arg("--yes")
            .arg("--credentials-dir")
            .arg(self.env.creds())
            .assert()
    }

    fn set_files(&self, settings: &str) {
        self.env.write("all.toml", &format!("{settings}{CLIENTS}"));
    }

    /// The policy of `bucket` as stored, read around the proxy.
    fn policy(&self, bucket: &str) -> Option<String> {
        block_on(async {
            let s3 = s3_client(
                &self.env.moto.url(),
                TEST_ACCESS_KEY_ID,
                TEST_SECRET_ACCESS_KEY,
            );
            s3.get_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .ok()
                .and_then(|o| o.policy().map(str::to_owned))
        })
    }

    fn put_policy(&self, bucket: &str, text: &str) {
        block_on(async {
            let s3 = s3_client(
                &self.env.moto.url(),
                TEST_ACCESS_KEY_ID,
                TEST_SECRET_ACCESS_KEY,
            );
            s3.put_bucket_policy()
                .bucket(bucket)
                .policy(text)
                .send()
                .await
                .unwrap();
        });
    }

    /// The S3 calls provision made that write a bucket policy.
    fn policy_writes(&self) -> Vec<String> {
        self.env
            .proxy
            .requests()
            .into_iter()
            .filter(|c| {
                !c.query_protocol
                    && !c.json_protocol
                    && (c.action.starts_with("PUT ") || c.action.starts_with("DELETE "))
                    && c.param("policy").is_some()
            })
            .map(|c| format!("{} ?{}", c.action, c.params))
            .collect()
    }

    /// Every write provision made: IAM's and S3's.
    fn all_writes(&self) -> Vec<String> {
        let mut writes = self.env.proxy.writes();
        writes.extend(
            self.env
                .proxy
                .requests()
                .into_iter()
                .filter(|c| !c.query_protocol && !c.json_protocol && !c.action.starts_with("GET "))
                .map(|c| c.action),
        );
        writes
    }
}

fn statements(policy: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(policy).unwrap();
    doc["Statement"].as_array().unwrap().clone()
}

fn sids(policy: &str) -> Vec<String> {
    statements(policy)
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_hand_made_statement_survives_an_apply_byte_for_byte() {
    let env = Env::new(LAYER);
    let hand = format!(r#"{{"Version":"2012-10-17","Statement":[{HAND_STATEMENT}]}}"#);
    env.put_policy("acme-data", &hand);
    let out = env.apply(&env.env.clients()).success();
    let text = stdout(&out);
    assert!(text.contains("~ bucket-policy acme-data"), "{text}");
    assert!(text.contains("+ bucket-policy globex-data"), "{text}");
    let after = env.policy("acme-data").unwrap();
    // The hand statement is there as it was written, byte for byte.
    assert!(after.contains(HAND_STATEMENT), "{after}");
    assert_eq!(
        sids(&after),
        [
            "Keep\u{4d}e",
            "ProvisionDenyOutsideClient",
            "ProvisionDenyInsecureTransport"
        ]
    );
    let deny = &statements(&after)[1];
    assert_eq!(
        deny["Condition"]["StringEquals"]["aws:PrincipalAccount"],
        ACCOUNT
    );
    assert_eq!(
        deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
        serde_json::json!([
            ADMIN_ARN,
            "arn:aws:iam::123456789012:user/provision/acme-app",
            "arn:aws:iam::123456789012:user/provision/alice",
        ])
    );
    // Converged: nothing more to do, and the no-op apply writes nothing.
    env.env.proxy.clear();
    let out = env.apply(&env.env.clients()).success();
    assert!(stdout(&out).contains("No changes"), "{}", stdout(&out));
    assert_eq!(env.all_writes(), Vec::<String>::new());
    assert_eq!(env.policy("acme-data").unwrap(), after);

    // Turned off, provision takes out only its own statements: the hand
    // one stays as written, and a policy that held only provision's goes.
    env.set_files("[settings]\nbucket_policy = false\n");
    env.apply(&env.env.clients()).success();
    let off = env.policy("acme-data").unwrap();
    assert_eq!(
        off,
        format!(r#"{{"Version":"2012-10-17","Statement":[{HAND_STATEMENT}]}}"#)
    );
    assert_eq!(env.policy("globex-data"), None);
}

#[test]
fn a_plan_without_the_layer_reads_no_bucket_policy() {
    let env = Env::new("");
    env.apply(&env.env.clients()).success();
    env.env.proxy.clear();
    let out = env
        .cmd()
        .arg("plan")
        .arg(env.env.clients())
        .assert()
        .success();
    assert!(stdout(&out).contains("No changes"), "{}", stdout(&out));
    let s3: Vec<String> = env
        .env
        .proxy
        .requests()
        .into_iter()
        .filter(|c| !c.query_protocol && !c.json_protocol)
        .map(|c| c.action)
        .collect();
    assert_eq!(s3, Vec::<String>::new());
}

/// The layer's point, under the test server's enforcement: `globex-app`,
/// let into acme's bucket by a hand-made IAM policy, reads it before the
/// layer and is denied after; acme's own key still reads it over TLS, and
/// is denied without TLS.
#[test]
fn with_the_layer_a_principal_outside_the_client_that_iam_allows_is_denied_by_the_bucket() {
    let env = Env::new("");
    env.apply(&env.env.clients()).success();
    block_on(async {
        // An unmanaged group provision leaves alone (it only warns).
        let iam = iam_client(&env.env.moto.url());
        iam.create_group()
            .group_name("hand-readers")
            .send()
            .await
            .unwrap();
        iam.put_group_policy()
            .group_name("hand-readers")
            .policy_name("hand")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::acme-data","arn:aws:s3:::acme-data/*"]}]}"#,
            )
            .send()
            .await
            .unwrap();
        iam.add_user_to_group()
            .group_name("hand-readers")
            .user_name("globex-app")
            .send()
            .await
            .unwrap();
    });
    let probe = |user: &str, tls: bool| -> Result<(), String> {
        let (id, secret) = read_key(&env.env.creds(), user);
        block_on(async {
            let s3 = if tls {
                s3_client_over_tls(&env.env.moto.url(), &id, &secret)
            } else {
                s3_client(&env.env.moto.url(), &id, &secret)
            };
            s3.get_object()
                .bucket("acme-data")
                .key("ledger.csv")
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("{:?}", e.raw_response().map(|r| r.status().as_u16())))
        })
    };
    env.env.moto.set_auth(true);
    let before = (probe("globex-app", true), probe("acme-app", true));
    env.env.moto.set_auth(false);
    assert_eq!(
        before,
        (Ok(()), Ok(())),
        "IAM lets both in before the layer"
    );

    env.set_files(LAYER);
    env.apply(&env.env.clients()).success();
    env.env.moto.set_auth(true);
    let after = (
        probe("globex-app", true),
        probe("acme-app", true),
        probe("acme-app", false),
    );
    env.env.moto.set_auth(false);
    assert_eq!(
        after,
        (
            Err("Some(403)".to_owned()),
            Ok(()),
            Err("Some(403)".to_owned())
        ),
        "the outsider is denied, the client's key is not, and plain HTTP is"
    );

    // verify counts the layer's deny: the hand grant no longer reaches.
    let out = env
        .cmd()
        .arg("verify")
        .arg(env.env.clients())
        .arg("--format")
        .arg("json")
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let leaks = json["leaks"].to_string();
    assert!(!leaks.contains("globex-app"), "{leaks}");
}

#[test]
fn the_plan_refuses_a_policy_that_would_deny_the_caller_and_says_how_to_exempt_it() {
    let env = Env::new("[settings]\nbucket_policy = true\n");
    let out = env
        .cmd()
        .arg("plan")
        .arg(env.env.clients())
        .assert()
        .failure()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "would deny `{ADMIN_ARN}`, the identity running provision"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "add `{ADMIN_ARN}` to `settings.bucket_policy_exempt`"
        )),
        "{err}"
    );
    // apply refuses the same way, before any write.
    env.env.proxy.clear();
    env.apply(&env.env.clients()).failure();
    assert_eq!(env.all_writes(), Vec::<String>::new());
    assert_eq!(env.policy("acme-data"), None);
}

#[test]
fn a_policy_over_20_kb_is_refused_at_plan_time_with_no_write() {
    let env = Env::new(LAYER);
    // Other statements of about 20,000 bytes: under the limit alone, over
    // it with provision's two.
    let filler: Vec<String> = (0..100)
        .map(|n| {
            format!(
                r#"{{"Sid":"Hand{n:03}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::123456789012:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-data/{}/*"}}"#,
                "x".repeat(50)
            )
        })
        .collect();
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        filler.join(",")
    );
    assert!(big.len() < 20 * 1024 && big.len() > 19_000, "{}", big.len());
    env.put_policy("acme-data", &big);
    env.env.proxy.clear();
    let out = env.apply(&env.env.clients()).failure().code(1);
    let err = stderr(&out);
    assert!(
        err.contains("the policy of bucket `acme-data` (client `acme`) would be")
            && err.contains("over S3's limit of 20480 bytes"),
        "{err}"
    );
    assert_eq!(env.all_writes(), Vec::<String>::new());
    assert_eq!(env.policy("acme-data").unwrap(), big);
}

#[test]
fn a_refused_put_bucket_policy_stops_the_apply_and_a_second_apply_converges() {
    let env = Env::new(LAYER);
    env.env.proxy.refuse("PUT /acme-data/", "policy", "");
    let out = env.apply(&env.env.clients()).failure();
    let err = format!("{}{}", stdout(&out), stderr(&out));
    assert!(err.contains("s3:PutBucketPolicy `acme-data`"), "{err}");
    // The refusal really hit the policy write, and the apply stopped:
    // memberships (a later phase) were not attempted.
    assert!(
        env.env
            .proxy
            .requests()
            .iter()
            .any(|c| c.fault == Some(common::Fault::Refused)),
        "{:?}",
        env.env.proxy.calls()
    );
    assert_eq!(env.env.proxy.count("AddUserToGroup"), 0);
    assert_eq!(env.policy("acme-data"), None);

    env.env.proxy.stop_refusing();
    env.apply(&env.env.clients()).success();
    assert!(env.policy("acme-data").is_some());
    let (code, text) = {
        let out = env
            .cmd()
            .arg("plan")
            .arg(env.env.clients())
            .arg("--detailed-exitcode")
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(code, 0, "{text}");
}

#[test]
fn a_bucket_policy_edited_by_hand_between_plan_and_apply_makes_the_saved_plan_stale() {
    let env = Env::new(LAYER);
    let saved = env.env.dir.path().join("plan.json");
    env.cmd()
        .arg("plan")
        .arg(env.env.clients())
        .arg("--out")
        .arg(&saved)
        .assert()
        .success();
    let hand = format!(r#"{{"Version":"2012-10-17","Statement":[{HAND_STATEMENT}]}}"#);
    env.put_policy("acme-data", &hand);
    env.env.proxy.clear();
    let out = env
        .cmd()
        .arg("apply")
        .arg(&saved)
        .arg("--credentials-dir")
        .arg(env.env.creds())
        .assert()
        .failure();
    let err = stderr(&out);
    assert!(err.contains("the policy of bucket `acme-data`"), "{err}");
    assert_eq!(env.all_writes(), Vec::<String>::new());
    assert_eq!(env.policy("acme-data").unwrap(), hand);
    assert_eq!(env.policy_writes(), Vec::<String>::new());
}

/// A managed bucket the same plan creates gets the layer's policy in the
/// same apply, after the bucket exists: one apply converges.
#[test]
fn a_bucket_created_by_the_apply_gets_its_policy_in_the_same_apply() {
    let env = Env::new(LAYER);
    env.env.write(
        "more.toml",
        "[[clients]]\nname = \"initech\"\nbuckets = [\"initech-data\"]\nmanage_buckets = true\n",
    );
    env.env.proxy.clear();
    let out = env.apply(&env.env.clients()).success();
    let text = stdout(&out);
    assert!(text.contains("+ bucket initech-data"), "{text}");
    assert!(text.contains("+ bucket-policy initech-data"), "{text}");
    assert!(!text.contains("does not exist"), "{text}");
    let policy = env
        .policy("initech-data")
        .expect("the new bucket has a policy");
    assert_eq!(
        sids(&policy),
        [
            "ProvisionDenyOutsideClient",
            "ProvisionDenyInsecureTransport"
        ]
    );
    // Written once, last, after the bucket was made and locked down.
    let writes: Vec<String> = env
        .env
        .proxy
        .requests()
        .into_iter()
        .filter(|c| {
            !c.query_protocol
                && !c.json_protocol
                && !c.action.starts_with("GET ")
                && c.action.contains("/initech-data")
        })
        .map(|c| format!("{} ?{}", c.action, c.params))
        .collect();
    let policy_puts: Vec<usize> = (0..writes.len())
        .filter(|i| writes[*i].contains("policy"))
        .collect();
    assert_eq!(policy_puts, [writes.len() - 1], "{writes:#?}");
    assert!(writes.len() >= 4, "{writes:#?}");
    // Converged.
    env.env.proxy.clear();
    let out = env.apply(&env.env.clients()).success();
    assert!(stdout(&out).contains("No changes"), "{}", stdout(&out));
    assert_eq!(env.all_writes(), Vec::<String>::new());
}
