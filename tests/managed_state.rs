//! Everything provision manages is accounted for on every plan, against a
//! real IAM and S3 API: an application user whose group is gone, policies
//! put on managed users by hand, drift told apart from configuration
//! changes, and a shared developer declared differently in two files.

mod common;

use std::fs;

use aws_sdk_s3::error::ProvideErrorMetadata;
use common::{TestEnv, block_on, read_key, s3_client, stdout};

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
[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "globex"
buckets = ["globex-assets"]
developers = ["alice"]
"#;

fn admin_buckets(env: &TestEnv, buckets: &[&str]) {
    block_on(async {
        let admin = s3_client(
            &env.moto.url(),
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        for bucket in buckets {
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

/// Whether `user`'s delivered key may get `bucket/data.txt` under moto's
/// IAM enforcement (turned on for the call only).
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

/// A removed client whose group was deleted by hand (or by an apply cut
/// off halfway): the next directory plan still deletes its application
/// user, and with it the key that would outlive its client.
#[test]
fn a_removed_clients_app_user_is_deleted_even_when_its_group_is_gone() {
    let env = TestEnv::with_files(&[("acme.toml", ACME), ("globex.toml", GLOBEX)]);
    env.apply(&env.clients()).success();
    block_on(async {
        let iam = env.iam();
        for user in ["globex-app", "alice"] {
            iam.remove_user_from_group()
                .group_name("client-globex")
                .user_name(user)
                .send()
                .await
                .unwrap();
        }
        iam.delete_group_policy()
            .group_name("client-globex")
            .policy_name("provision-s3")
            .send()
            .await
            .unwrap();
        iam.delete_group()
            .group_name("client-globex")
            .send()
            .await
            .unwrap();
    });
    fs::remove_file(env.file("globex.toml")).unwrap();
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("  - user globex-app\n"), "{text}");
    env.apply(&env.clients()).success();
    let gone = block_on(async { env.iam().get_user().user_name("globex-app").send().await });
    assert!(gone.is_err(), "globex-app still exists");
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

/// A policy put on a managed application user by hand, reaching another
/// client's bucket: the plan shows it as drift first, audit reports it,
/// apply removes it, and the key no longer reaches that bucket.
#[test]
fn a_policy_put_on_a_managed_user_is_drift_audited_and_removed() {
    let env = TestEnv::with_files(&[("acme.toml", ACME), ("globex.toml", GLOBEX)]);
    admin_buckets(&env, &["acme-assets", "globex-assets"]);
    env.apply(&env.clients()).success();
    let grab = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::globex-assets/*"}]}"#;
    block_on(async {
        let iam = env.iam();
        iam.put_user_policy()
            .user_name("acme-app")
            .policy_name("grab")
            .policy_document(grab)
            .send()
            .await
            .unwrap();
        let created = iam
            .create_policy()
            .policy_name("grab-managed")
            .policy_document(grab)
            .send()
            .await
            .unwrap();
        iam.attach_user_policy()
            .user_name("acme-app")
            .policy_arn(created.policy().unwrap().arn().unwrap())
            .send()
            .await
            .unwrap();
    });
    assert!(
        key_reads(&env, "acme-app", "globex-assets"),
        "the hand policy leaks"
    );

    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 2, "{text}");
    assert!(
        text.starts_with("warning: DRIFT widens access: user `acme-app`, policy `grab`: statement `#1` allows `s3:GetObject` on `arn:aws:s3:::globex-assets/*` (apply reverts it)\n"),
        "{text}"
    );
    assert!(text.contains("  - user-policy acme-app/grab\n"), "{text}");
    let audit = env.cmd().arg("audit").arg(env.clients()).assert().failure();
    let found = stdout(&audit);
    assert!(
        found.contains("user-policy: `acme-app` holds the inline policy `grab` and the attached policy `arn:aws:iam::123456789012:policy/grab-managed`"),
        "{found}"
    );

    env.apply(&env.clients()).success();
    block_on(async {
        let iam = env.iam();
        let inline = iam
            .list_user_policies()
            .user_name("acme-app")
            .send()
            .await
            .unwrap();
        assert!(inline.policy_names().is_empty());
        let attached = iam
            .list_attached_user_policies()
            .user_name("acme-app")
            .send()
            .await
            .unwrap();
        assert!(attached.attached_policies().is_empty());
    });
    assert!(!key_reads(&env, "acme-app", "globex-assets"));
    assert!(key_reads(&env, "acme-app", "acme-assets"));
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
    let audit = env.cmd().arg("audit").arg(env.clients()).output().unwrap();
    assert!(!String::from_utf8_lossy(&audit.stdout).contains("user-policy"));
}

/// Moving a bucket from one client to another is an ordinary change of the
/// configuration, not drift; the same bucket added to a group's policy by
/// hand is drift, shown first and reverted.
#[test]
fn a_bucket_moved_in_the_files_is_a_change_and_one_added_by_hand_is_drift() {
    let zed = |buckets: &str| {
        format!(
            "[[clients]]\nname = \"zed\"\nbuckets = [{buckets}]\n\n[[clients]]\nname = \"bee\"\nbuckets = [\"bee-one\"]\n"
        )
    };
    let env = TestEnv::with_files(&[("all.toml", &zed("\"zed-one\", \"zed-two\""))]);
    env.apply(&env.clients()).success();
    env.write("all.toml", &zed("\"zed-one\""));
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 2, "{text}");
    assert!(!text.contains("DRIFT"), "{text}");
    assert!(
        text.contains("~ group-policy client-zed/provision-s3"),
        "{text}"
    );
    env.apply(&env.clients()).success();

    let hand = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::zed-one/*","arn:aws:s3:::bee-one/*"]}]}"#;
    block_on(async {
        env.iam()
            .put_group_policy()
            .group_name("client-zed")
            .policy_name("provision-s3")
            .policy_document(hand)
            .send()
            .await
            .unwrap();
    });
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 2, "{text}");
    assert!(
        text.starts_with("warning: DRIFT widens access: group `client-zed`, policy `provision-s3`: statement `#1` allows `s3:GetObject` on `arn:aws:s3:::bee-one/*` (apply reverts it)\n"),
        "{text}"
    );
    env.apply(&env.clients()).success();
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

/// alice is declared in two files in two folders; one of them now gives
/// her another e-mail. Planning that file alone warns, naming the
/// declaration's place and the other client's group.
#[test]
fn a_shared_developer_declared_differently_is_named_with_both_sources() {
    let env = TestEnv::start();
    let (one, two) = (env.dir.path().join("one"), env.dir.path().join("two"));
    fs::create_dir(&one).unwrap();
    fs::create_dir(&two).unwrap();
    fs::write(one.join("acme.toml"), ACME).unwrap();
    fs::write(two.join("globex.toml"), GLOBEX).unwrap();
    env.cmd()
        .arg("apply")
        .arg(&one)
        .arg(&two)
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.creds())
        .assert()
        .success();
    let changed = GLOBEX.replace("alice@example.com", "alice@globex.example");
    fs::write(two.join("globex.toml"), changed).unwrap();
    let file = two.join("globex.toml");
    let out = env.cmd().arg("plan").arg(&file).assert().success();
    let text = stdout(&out);
    let expected = format!(
        "warning: developer `alice` is declared at {}:3:8 with `email=alice@globex.example`, but the user in the account has `email=alice@example.com` and is also in `client-acme` (clients not in the files given",
        file.display()
    );
    assert!(text.contains(&expected), "{text}");
}

/// A managed application user put by hand in a group provision does not
/// manage, whose policy reads another client's bucket: its access no
/// longer comes from its client group only. verify reports the leak, the
/// plan warns before anything else, naming the group, and audit reports
/// it; provision leaves the group, which is not its own, alone.
#[test]
fn a_managed_user_in_a_hand_made_group_is_not_reported_as_matching() {
    let env = TestEnv::with_files(&[("acme.toml", ACME), ("globex.toml", GLOBEX)]);
    admin_buckets(&env, &["acme-assets", "globex-assets"]);
    env.apply(&env.clients()).success();
    let grab = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::globex-assets/*"}]}"#;
    block_on(async {
        let iam = env.iam();
        iam.create_group()
            .group_name("s3-readers")
            .send()
            .await
            .unwrap();
        iam.put_group_policy()
            .group_name("s3-readers")
            .policy_name("read")
            .policy_document(grab)
            .send()
            .await
            .unwrap();
        iam.add_user_to_group()
            .group_name("s3-readers")
            .user_name("acme-app")
            .send()
            .await
            .unwrap();
    });
    assert!(
        key_reads(&env, "acme-app", "globex-assets"),
        "the leak is real"
    );
    let verify = env.cmd().arg("verify").arg(env.clients()).output().unwrap();
    assert_eq!(verify.status.code(), Some(1));
    let warning = "warning: managed user `acme-app` is in group `s3-readers`, a group provision does not manage: provision grants access through client groups only, and that group's policies may reach another client's buckets; provision never changes a group it did not create: take the user out with `aws iam remove-user-from-group --group-name s3-readers --user-name acme-app`\n";
    for path in [
        env.clients(),
        env.file("acme.toml"),
        env.file("globex.toml"),
    ] {
        let (_, text) = env.plan_exit(&path);
        assert!(text.starts_with(warning), "{path:?}:\n{text}");
    }
    let audit = env.cmd().arg("audit").arg(env.clients()).assert().failure();
    assert!(
        stdout(&audit)
            .contains("unmanaged-group: managed user `acme-app` is in group `s3-readers`"),
        "{}",
        stdout(&audit)
    );
    // An apply changes nothing of the group that is not provision's.
    env.proxy.clear();
    env.apply(&env.clients()).success();
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

/// An application user holds one key, the one provision delivered and
/// recorded. A second one made by hand is a credential nobody reviewed,
/// and a recorded key deleted by hand leaves the application without one:
/// audit reports both, from the credential report it already reads.
#[test]
fn a_second_key_made_by_hand_on_an_app_user_is_reported() {
    let env = TestEnv::with_files(&[("acme.toml", ACME), ("globex.toml", GLOBEX)]);
    env.apply(&env.clients()).success();
    let audit = |env: &TestEnv| {
        let out = env.cmd().arg("audit").arg(env.clients()).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = audit(&env);
    assert!(
        !text.contains("extra-key") && !text.contains("missing-key"),
        "as applied (exit {code:?}):\n{text}"
    );
    let (recorded, _) = read_key(&env.creds(), "acme-app");
    let extra = block_on(async {
        env.iam()
            .create_access_key()
            .user_name("acme-app")
            .send()
            .await
            .unwrap()
            .access_key()
            .unwrap()
            .access_key_id()
            .to_owned()
    });
    let (code, text) = audit(&env);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "extra-key: `acme-app` has 2 active access keys, but provision delivered one (`{recorded}`)"
        )),
        "{text}"
    );
    // The recorded key deleted by hand, the hand-made one too: the
    // application has no key.
    block_on(async {
        for key in [&recorded, &extra] {
            env.iam()
                .delete_access_key()
                .user_name("acme-app")
                .access_key_id(key.as_str())
                .send()
                .await
                .unwrap();
        }
    });
    let (code, text) = audit(&env);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "missing-key: `acme-app` has no active access key, yet provision delivered and recorded `{recorded}`"
        )),
        "{text}"
    );
    // The way out the finding gives: without the record, the next plan
    // lists the user's keys and delivers a new one.
    block_on(async {
        env.iam()
            .untag_user()
            .user_name("acme-app")
            .tag_keys("provision:access-key")
            .send()
            .await
            .unwrap();
    });
    let (code, plan) = env.plan_exit(&env.clients());
    assert!(
        code == 2 && plan.contains("+ access-key acme-app"),
        "{plan}"
    );
}
