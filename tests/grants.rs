//! What a client group grants, against a real IAM and S3 API: a bucket
//! moving between clients is never granted to both, even when a write is
//! refused halfway, and what is found on managed groups and users is told
//! apart from what provision wrote.

mod common;

use aws_sdk_s3::error::ProvideErrorMetadata;
use common::{TestEnv, block_on, read_key, s3_client, stderr};
use provision::policy::document::decode_document;
use provision::policy::evaluate::is_allowed;
use serde_json::Value;

/// moto's account.
const ACCOUNT: &str = "123456789012";

/// zed and bee, read-write, with `extra` more buckets for zed (enough ones
/// make its policy too large to live inline).
fn clients(zed: &[&str], bee: &[&str], extra: usize) -> String {
    let quoted = |names: Vec<String>| {
        names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut zed: Vec<String> = zed.iter().map(|b| b.to_string()).collect();
    zed.extend((0..extra).map(|i| format!("zed-bucket-number-{i:03}")));
    let bee = bee.iter().map(|b| b.to_string()).collect();
    format!(
        "[[clients]]\nname = \"zed\"\naccess = \"read-write\"\nbuckets = [{}]\n\n[[clients]]\nname = \"bee\"\naccess = \"read-write\"\nbuckets = [{}]\n",
        quoted(zed),
        quoted(bee)
    )
}

/// The live grant of `group`: its inline `provision-s3` and provision's
/// managed policy for it, read around the proxy.
fn live_grant(env: &TestEnv, client: &str) -> Vec<Value> {
    let iam = env.iam();
    let group = format!("client-{client}");
    block_on(async {
        let mut docs = Vec::new();
        if let Ok(out) = iam
            .get_group_policy()
            .group_name(&group)
            .policy_name("provision-s3")
            .send()
            .await
        {
            docs.push(decode_document(out.policy_document()).unwrap());
        }
        let attached = iam
            .list_attached_group_policies()
            .group_name(&group)
            .send()
            .await
            .unwrap();
        for p in attached.attached_policies() {
            let arn = p.policy_arn().unwrap();
            let policy = iam.get_policy().policy_arn(arn).send().await.unwrap();
            let version = policy.policy().unwrap().default_version_id().unwrap();
            let doc = iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .unwrap();
            docs.push(decode_document(doc.policy_version().unwrap().document().unwrap()).unwrap());
        }
        docs
    })
}

/// Whether `client`'s live grant lets it read objects of `bucket`.
fn reaches(env: &TestEnv, client: &str, bucket: &str) -> bool {
    let docs = live_grant(env, client);
    let docs: Vec<&Value> = docs.iter().collect();
    is_allowed(
        &docs,
        "s3:GetObject",
        &format!("arn:aws:s3:::{bucket}/data.txt"),
    )
}

/// Whether `user`'s delivered key may get `bucket/data.txt`, as moto's IAM
/// enforcement decides (turned on for the call only).
fn key_reads(env: &TestEnv, user: &str, bucket: &str) -> bool {
    let (id, secret) = read_key(&env.creds(), user);
    env.moto.set_auth(true);
    let denied = block_on(async {
        let s3 = s3_client(&env.moto.url(), &id, &secret);
        let result = s3.get_object().bucket(bucket).key("data.txt").send().await;
        result.err().and_then(|e| e.code().map(str::to_owned)) == Some("AccessDenied".into())
    });
    env.moto.set_auth(false);
    !denied
}

/// The hardening issue's zed and bee: zed gives `shared-x` to bee while
/// gaining `zed-two`. The write that narrows zed is refused (`refuse`
/// names the call): bee must not be granted `shared-x` while zed still
/// holds it; once the refusal is lifted, the next apply finishes the move
/// and zed's key no longer reads bee's data.
fn a_moved_bucket_is_never_granted_to_both(extra: usize, refuse: (&str, &str, &str)) {
    let env = TestEnv::with_files(&[(
        "clients.toml",
        &clients(&["zed-one", "shared-x"], &["bee-one"], extra),
    )]);
    block_on(async {
        let admin = s3_client(
            &env.moto.url(),
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        for bucket in ["zed-one", "zed-two", "shared-x", "bee-one"] {
            admin.create_bucket().bucket(bucket).send().await.unwrap();
            admin
                .put_object()
                .bucket(bucket)
                .key("data.txt")
                .body(b"data".to_vec().into())
                .send()
                .await
                .unwrap();
        }
    });
    env.apply(&env.clients()).success();
    assert!(reaches(&env, "zed", "shared-x") && !reaches(&env, "bee", "shared-x"));
    assert!(key_reads(&env, "zed-app", "shared-x"));

    env.write(
        "clients.toml",
        &clients(&["zed-one", "zed-two"], &["bee-one", "shared-x"], extra),
    );
    let (action, param, value) = refuse;
    env.proxy.refuse(action, param, value);
    let out = env.apply(&env.clients()).failure();
    let err = stderr(&out);
    assert!(err.contains("AccessDenied"), "{err}");
    assert_eq!(
        env.proxy
            .requests()
            .iter()
            .filter(|c| c.fault == Some(common::Fault::Refused))
            .count(),
        1,
        "the refused call was made once, not retried"
    );
    // zed's revocation failed, so bee's grant was not attempted.
    let (zed, bee) = (
        reaches(&env, "zed", "shared-x"),
        reaches(&env, "bee", "shared-x"),
    );
    assert!(!(zed && bee), "both groups grant `shared-x`:\n{err}");
    assert!(zed && !bee, "zed keeps `shared-x` until it is narrowed");
    assert!(!key_reads(&env, "bee-app", "shared-x"));

    env.proxy.stop_refusing();
    env.apply(&env.clients()).success();
    assert!(!reaches(&env, "zed", "shared-x") && reaches(&env, "bee", "shared-x"));
    assert!(reaches(&env, "zed", "zed-two") && reaches(&env, "zed", "zed-one"));
    assert!(!key_reads(&env, "zed-app", "shared-x"));
    assert!(key_reads(&env, "bee-app", "shared-x"));
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

#[test]
fn a_moved_bucket_is_never_granted_to_both_when_the_narrowing_is_refused() {
    a_moved_bucket_is_never_granted_to_both(0, ("PutGroupPolicy", "GroupName", "client-zed"));
}

#[test]
fn a_moved_bucket_is_never_granted_to_both_through_a_managed_policy() {
    a_moved_bucket_is_never_granted_to_both(
        72,
        (
            "CreatePolicyVersion",
            "PolicyArn",
            &format!("arn:aws:iam::{ACCOUNT}:policy/provision/provision-s3-zed"),
        ),
    );
}

/// IAM keeps managed policy names unique in the account, whatever their
/// path. A policy named `provision-s3-zed` elsewhere (made by hand, or a
/// leftover) would make apply fail halfway when zed's grant outgrows the
/// inline quota: the plan refuses it first, naming the policy, and makes
/// no write; once it is gone, apply creates provision's own.
#[test]
fn a_policy_named_like_a_clients_managed_policy_elsewhere_refuses_the_plan() {
    let env = TestEnv::with_files(&[("clients.toml", &clients(&["zed-a"], &["bee-a"], 72))]);
    let taken = block_on(async {
        env.iam()
            .create_policy()
            .policy_name("provision-s3-zed")
            .path("/elsewhere/")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .arn()
            .unwrap()
            .to_owned()
    });
    for command in ["plan", "apply"] {
        env.proxy.clear();
        let mut cmd = env.cmd();
        cmd.arg(command).arg(env.clients());
        if command == "apply" {
            cmd.args(["--yes", "--credentials-dir"]).arg(env.creds());
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{command}: {err}\n{}",
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.contains("provision-s3"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(
            err.contains("the grant of client `zed` does not fit inline")
                && err.contains(&format!("already exists at another path (`{taken}`)")),
            "{command}: {err}"
        );
        assert_eq!(env.proxy.writes(), Vec::<String>::new(), "{command}");
    }
    block_on(async {
        env.iam()
            .delete_policy()
            .policy_arn(&taken)
            .send()
            .await
            .unwrap();
    });
    env.apply(&env.clients()).success();
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

fn as_strs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

/// An update of a client's managed policy writes its new version and
/// nothing else: no `AttachGroupPolicy` of a policy the plan read attached,
/// no deletion of old versions until IAM's five are reached, then one.
/// Before, each update also re-attached the policy and deleted every old
/// version (three writes for one change).
#[test]
fn updating_a_managed_policy_writes_one_version_and_no_more() {
    let mut zed = vec!["zed-one".to_owned(), "zed-two".to_owned()];
    let env = TestEnv::with_files(&[("clients.toml", &clients(&as_strs(&zed), &["bee-one"], 72))]);
    env.apply(&env.clients()).success();
    for update in 1..=6 {
        // A bucket renamed: the policy's size stays under IAM's limit.
        zed[1] = format!("zed-v{update}");
        env.write("clients.toml", &clients(&as_strs(&zed), &["bee-one"], 72));
        env.proxy.clear();
        env.apply(&env.clients()).success();
        let writes = env.proxy.writes();
        // Renaming a bucket is two changes, each one version: the narrowing
        // (first phase) and the new grant. v1 was the first version, so
        // updates 1 and 2 make v2 to v5; from then on each version first
        // makes room for itself.
        let want: &[&str] = if update <= 2 {
            &["CreatePolicyVersion", "CreatePolicyVersion"]
        } else {
            &[
                "DeletePolicyVersion",
                "CreatePolicyVersion",
                "DeletePolicyVersion",
                "CreatePolicyVersion",
            ]
        };
        assert_eq!(writes, want, "update {update}");
        assert_eq!(env.plan_exit(&env.clients()).0, 0, "update {update}");
    }
    assert!(reaches(&env, "zed", "zed-v6") && !reaches(&env, "zed", "zed-two"));
}
