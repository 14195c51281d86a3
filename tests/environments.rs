//! Environments against a real IAM and S3 API with enforcement on: a
//! client's apps (`[[clients.apps]]`) each hold their own key and reach
//! only their own buckets at their own level, and developers' access
//! differs per bucket (`bucket_access`).

mod common;

use aws_sdk_s3::error::ProvideErrorMetadata;
use common::{TestEnv, block_on, read_key, s3_client, stdout};
use serde_json::Value;

/// acme: production and staging data; developers read-write on staging
/// and read-only on production; the staging app read-write on staging
/// only, the production app read-only on production only. globex keeps
/// today's one app user.
const ENVIRONMENTS: &str = r#"
[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "acme"
buckets = ["acme-prod-data", "acme-staging-data"]
access = "read-write"
bucket_access = { "acme-prod-data" = "read-only" }
developers = ["alice"]

[[clients.apps]]
name = "acme-prod"
buckets = ["acme-prod-data"]
access = "read-only"

[[clients.apps]]
name = "acme-staging"
buckets = ["acme-staging-data"]

[[clients]]
name = "globex"
buckets = ["globex-data"]
access = "read-write"
"#;

const BUCKETS: &[&str] = &["acme-prod-data", "acme-staging-data", "globex-data"];

/// What a key may do on a bucket, as moto's enforcement decides.
#[derive(Debug, PartialEq, Eq)]
struct Can {
    read: bool,
    write: bool,
}

/// Creates every bucket with one object, as the test's administrator.
fn buckets(env: &TestEnv) {
    block_on(async {
        let admin = s3_client(
            &env.moto.url(),
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        for bucket in BUCKETS {
            admin.create_bucket().bucket(*bucket).send().await.unwrap();
            admin
                .put_object()
                .bucket(*bucket)
                .key("data.txt")
                .body(b"data".to_vec().into())
                .send()
                .await
                .unwrap();
        }
    });
}

/// Whether the key (`id`, `secret`) may get and put objects in `bucket`,
/// with moto's IAM enforcement on for the calls only.
fn can(env: &TestEnv, (id, secret): &(String, String), bucket: &str) -> Can {
    env.moto.set_auth(true);
    // A key of a deleted user is unknown to IAM: refused too.
    let denied = |code: Option<&str>| matches!(code, Some("AccessDenied" | "InvalidAccessKeyId"));
    let can = block_on(async {
        let s3 = s3_client(&env.moto.url(), id, secret);
        let get = s3.get_object().bucket(bucket).key("data.txt").send().await;
        let put = s3
            .put_object()
            .bucket(bucket)
            .key("written.txt")
            .body(b"new".to_vec().into())
            .send()
            .await;
        Can {
            read: !denied(get.err().as_ref().and_then(|e| e.code())),
            write: !denied(put.err().as_ref().and_then(|e| e.code())),
        }
    });
    env.moto.set_auth(false);
    can
}

/// A key for developer `user`, made by hand: provision gives developers
/// none, but their access is what the client's group says.
fn developer_key(env: &TestEnv, user: &str) -> (String, String) {
    block_on(async {
        let out = env
            .iam()
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
        let key = out.access_key().unwrap();
        (
            key.access_key_id().to_owned(),
            key.secret_access_key().to_owned(),
        )
    })
}

const NOTHING: Can = Can {
    read: false,
    write: false,
};
const READ: Can = Can {
    read: true,
    write: false,
};
const READ_WRITE: Can = Can {
    read: true,
    write: true,
};

#[test]
fn each_environments_key_reaches_only_its_buckets_at_its_level() {
    let env = TestEnv::with_files(&[("clients.toml", ENVIRONMENTS)]);
    buckets(&env);
    env.apply(&env.clients()).success();

    let staging = read_key(&env.creds(), "acme-staging");
    assert_eq!(can(&env, &staging, "acme-staging-data"), READ_WRITE);
    assert_eq!(
        can(&env, &staging, "acme-prod-data"),
        NOTHING,
        "the staging key must not reach production"
    );
    assert_eq!(can(&env, &staging, "globex-data"), NOTHING);

    let prod = read_key(&env.creds(), "acme-prod");
    assert_eq!(
        can(&env, &prod, "acme-prod-data"),
        READ,
        "read-only, as the file says"
    );
    assert_eq!(can(&env, &prod, "acme-staging-data"), NOTHING);
    assert_eq!(can(&env, &prod, "globex-data"), NOTHING);

    let alice = developer_key(&env, "alice");
    assert_eq!(can(&env, &alice, "acme-staging-data"), READ_WRITE);
    assert_eq!(
        can(&env, &alice, "acme-prod-data"),
        READ,
        "`bucket_access` says read-only"
    );
    assert_eq!(can(&env, &alice, "globex-data"), NOTHING);

    // Today's form beside it: one app user, in its client's group.
    let globex = read_key(&env.creds(), "globex-app");
    assert_eq!(can(&env, &globex, "globex-data"), READ_WRITE);
    assert_eq!(can(&env, &globex, "acme-prod-data"), NOTHING);
    assert!(!env.creds().join("acme-app.json").exists());

    assert_eq!(
        env.plan_exit(&env.clients()).0,
        0,
        "apply, then plan: no changes"
    );
}

/// `verify` lists every app as a principal of its client, each with its
/// own reach, and calls the account isolated; `audit` checks each app's
/// key against its own record.
#[test]
fn verify_and_audit_cover_every_app() {
    let env = TestEnv::with_files(&[("clients.toml", ENVIRONMENTS)]);
    buckets(&env);
    env.apply(&env.clients()).success();
    let out = env
        .cmd()
        .arg("verify")
        .arg(env.clients())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let matrix: Value = serde_json::from_slice(&out.stdout).unwrap();
    let allowed = |principal: &str, bucket: &str| -> Vec<String> {
        matrix["access"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["principal"] == principal && c["resource"] == bucket)
            .map(|c| {
                c["allowed"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(allowed("acme-staging", "acme-staging-data").contains(&"s3:PutObject".to_owned()));
    assert!(allowed("acme-staging", "acme-prod-data").is_empty());
    assert!(allowed("acme-prod", "acme-prod-data").contains(&"s3:GetObject".to_owned()));
    assert!(!allowed("acme-prod", "acme-prod-data").contains(&"s3:PutObject".to_owned()));

    // A second key put on one app by hand is that app's finding alone.
    block_on(async {
        env.iam()
            .create_access_key()
            .user_name("acme-prod")
            .send()
            .await
            .unwrap();
    });
    let out = env.cmd().arg("audit").arg(env.clients()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("acme-prod"), "{text}");
    assert!(!text.contains("acme-staging"), "{text}");
}

/// Removing an app deletes its user and key; the other app keeps working.
#[test]
fn a_removed_environment_loses_its_user_and_key() {
    let env = TestEnv::with_files(&[("clients.toml", ENVIRONMENTS)]);
    buckets(&env);
    env.apply(&env.clients()).success();
    let staging = read_key(&env.creds(), "acme-staging");
    let without = ENVIRONMENTS.replace(
        "[[clients.apps]]\nname = \"acme-staging\"\nbuckets = [\"acme-staging-data\"]\n",
        "",
    );
    assert_ne!(without, ENVIRONMENTS);
    env.write("clients.toml", &without);
    let out = env.apply(&env.clients()).success();
    assert!(
        stdout(&out).contains("- user acme-staging"),
        "{}",
        stdout(&out)
    );
    assert_eq!(can(&env, &staging, "acme-staging-data"), NOTHING);
    let prod = read_key(&env.creds(), "acme-prod");
    assert_eq!(can(&env, &prod, "acme-prod-data"), READ);
}
