//! The whole program against a real IAM API: the `provision` binary, run
//! against moto's server (through a proxy that records every call).

mod common;

use std::fs;

use common::{TestEnv, block_on, iam_client_as, read_key, s3_client, stderr, stdout};
use serde_json::Value;

const ACME: &str = r#"
[settings]
path = "/provision/"

[[developers]]
name = "alice"
email = "alice@example.com"

[[developers]]
name = "bob"
email = "bob@example.com"

[[clients]]
name = "acme"
buckets = ["acme-assets", "acme-assets-dev"]
access = "read-write"
developers = ["alice", "bob"]
"#;

const GLOBEX: &str = r#"
[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "globex"
bucket_prefixes = ["globex-"]
access = "read-only"
developers = ["alice"]
"#;

/// The shared environment, with acme's and globex's files in `clients/`.
type Env = TestEnv;

impl TestEnv {
    fn new() -> TestEnv {
        TestEnv::with_files(&[("acme.toml", ACME), ("globex.toml", GLOBEX)])
    }
}

async fn group_members(iam: &aws_sdk_iam::Client, group: &str) -> Vec<String> {
    let out = iam.get_group().group_name(group).send().await.unwrap();
    let mut names: Vec<String> = out
        .users()
        .iter()
        .map(|u| u.user_name().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn apply_from_empty_then_plan_shows_no_changes() {
    let env = Env::new();
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 2, "changes pending must exit 2:\n{text}");
    for entity in [
        "+ user alice",
        "+ user bob",
        "+ user acme-app",
        "+ user globex-app",
        "+ group client-acme",
        "+ group client-globex",
        "+ group-policy client-acme/provision-s3",
        "+ membership client-acme/alice",
        "+ access-key acme-app",
    ] {
        assert!(text.contains(entity), "plan lacks `{entity}`:\n{text}");
    }
    // Planning never writes.
    assert_eq!(env.proxy.writes(), Vec::<String>::new());

    let applied = env.apply(&env.clients()).success();
    assert!(
        stderr(&applied).contains("Apply complete"),
        "{}",
        stderr(&applied)
    );

    block_on(async {
        let iam = env.iam();
        assert_eq!(
            group_members(&iam, "client-acme").await,
            ["acme-app", "alice", "bob"]
        );
        assert_eq!(
            group_members(&iam, "client-globex").await,
            ["alice", "globex-app"]
        );
        let user = iam.get_user().user_name("alice").send().await.unwrap();
        let user = user.user().unwrap();
        assert_eq!(user.path(), "/provision/");
        let tags: Vec<(String, String)> = user
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        assert!(
            tags.contains(&("managed-by".into(), "provision".into())),
            "{tags:?}"
        );
        assert!(
            tags.contains(&("email".into(), "alice@example.com".into())),
            "{tags:?}"
        );
        let keys = iam
            .list_access_keys()
            .user_name("acme-app")
            .send()
            .await
            .unwrap();
        assert_eq!(keys.access_key_metadata().len(), 1);
    });

    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "plan after apply must show no changes:\n{text}");
    assert!(text.contains("No changes."), "{text}");
}

#[test]
fn a_no_op_apply_makes_no_write_call_and_few_reads() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    env.proxy.clear();
    env.apply(&env.clients()).success();
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    // One page of account details, one identity call and one read of the
    // account's quotas, whatever the number of clients.
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
fn adding_and_removing_a_developer_touches_only_that_membership() {
    let env = Env::new();
    env.apply(&env.clients()).success();

    env.write(
        "globex.toml",
        &GLOBEX
            .replace(
                r#"developers = ["alice"]"#,
                r#"developers = ["alice", "carol"]"#,
            )
            .replace(
                "[[clients]]",
                "[[developers]]\nname = \"carol\"\nemail = \"carol@example.com\"\n\n[[clients]]",
            ),
    );
    env.proxy.clear();
    env.apply(&env.clients()).success();
    assert_eq!(env.proxy.writes(), ["CreateUser", "AddUserToGroup"]);

    // Now remove bob from acme only; he stays declared, so his user stays.
    env.write(
        "acme.toml",
        &ACME.replace(
            r#"developers = ["alice", "bob"]"#,
            r#"developers = ["alice"]"#,
        ),
    );
    env.proxy.clear();
    env.apply(&env.clients()).success();
    assert_eq!(env.proxy.writes(), ["RemoveUserFromGroup"]);
    block_on(async {
        let iam = env.iam();
        assert_eq!(
            group_members(&iam, "client-acme").await,
            ["acme-app", "alice"]
        );
        assert_eq!(
            group_members(&iam, "client-globex").await,
            ["alice", "carol", "globex-app"]
        );
        assert!(iam.get_user().user_name("bob").send().await.is_ok());
    });
}

#[test]
fn applying_one_file_never_changes_another_files_client() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    // globex.toml alone does not declare bob or acme: both must survive.
    env.proxy.clear();
    let out = env.apply(&env.file("globex.toml")).success();
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert!(
        stdout(&out).contains("left alone: `acme`"),
        "{}",
        stdout(&out)
    );
    block_on(async {
        assert_eq!(
            group_members(&env.iam(), "client-acme").await,
            ["acme-app", "alice", "bob"]
        );
    });
}

#[test]
fn removing_a_client_deletes_its_group_app_user_and_keys() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    fs::remove_file(env.file("globex.toml")).unwrap();
    let out = env.apply(&env.clients()).success();
    let text = stdout(&out);
    assert!(text.contains("- group client-globex"), "{text}");
    assert!(text.contains("- user globex-app"), "{text}");
    block_on(async {
        let iam = env.iam();
        assert!(
            iam.get_group()
                .group_name("client-globex")
                .send()
                .await
                .is_err()
        );
        assert!(iam.get_user().user_name("globex-app").send().await.is_err());
        // alice is still declared by acme.toml.
        assert!(iam.get_user().user_name("alice").send().await.is_ok());
    });
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

#[test]
fn hand_made_users_and_groups_survive_every_apply() {
    let env = Env::new();
    block_on(async {
        let iam = env.iam();
        iam.create_user().user_name("ops").send().await.unwrap();
        iam.create_group()
            .group_name("admins")
            .send()
            .await
            .unwrap();
        iam.add_user_to_group()
            .group_name("admins")
            .user_name("ops")
            .send()
            .await
            .unwrap();
        // Even under the managed path, a user without provision's tag is not ours.
        iam.create_user()
            .user_name("lookalike")
            .path("/provision/")
            .send()
            .await
            .unwrap();
    });
    env.apply(&env.clients()).success();
    fs::remove_file(env.file("globex.toml")).unwrap();
    env.apply(&env.clients()).success();
    block_on(async {
        let iam = env.iam();
        assert_eq!(group_members(&iam, "admins").await, ["ops"]);
        assert!(iam.get_user().user_name("lookalike").send().await.is_ok());
    });
}

#[test]
fn a_declared_name_held_by_an_unmanaged_user_is_an_error() {
    let env = Env::new();
    block_on(async {
        env.iam()
            .create_user()
            .user_name("bob")
            .send()
            .await
            .unwrap();
    });
    env.proxy.clear();
    let out = env.apply(&env.clients()).failure().code(1);
    assert!(
        stderr(&out).contains("user `bob` already exists but is not managed by provision"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

#[test]
fn invalid_files_make_no_aws_call() {
    let env = Env::new();
    env.write(
        "bad.toml",
        "[[clients]]\nname = \"bad\"\nbuckets = [\"Bad_Bucket\"]\nbukets = 1\n",
    );
    for command in ["validate", "plan", "apply"] {
        let out = env
            .cmd()
            .arg(command)
            .arg(env.clients())
            .assert()
            .failure()
            .code(1);
        assert!(
            stderr(&out).contains("bad.toml:"),
            "{command}: {}",
            stderr(&out)
        );
    }
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
}

#[test]
fn apply_without_a_terminal_or_yes_refuses_and_changes_nothing() {
    let env = Env::new();
    let out = env
        .cmd()
        .arg("apply")
        .arg(env.clients())
        .arg("--credentials-dir")
        .arg(env.creds())
        .assert()
        .failure()
        .code(1);
    assert!(stderr(&out).contains("pass `--yes`"), "{}", stderr(&out));
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

#[test]
fn secrets_go_to_the_credentials_dir_and_nowhere_else() {
    let env = Env::new();
    let out = env.apply(&env.clients()).success();
    let (_, secret) = read_key(&env.creds(), "acme-app");
    let (_, secret2) = read_key(&env.creds(), "globex-app");
    for s in [&secret, &secret2] {
        assert!(!stdout(&out).contains(s.as_str()));
        assert!(!stderr(&out).contains(s.as_str()));
    }
    // A second apply never creates another key.
    env.proxy.clear();
    env.apply(&env.clients()).success();
    assert_eq!(env.proxy.count("CreateAccessKey"), 0);
}

#[test]
fn with_print_secrets_each_secret_is_printed_once() {
    let env = Env::new();
    let out = env
        .cmd()
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .arg("--print-secrets")
        .assert()
        .success();
    let text = stdout(&out);
    let printed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("SecretAccessKey="))
        .collect();
    assert_eq!(printed.len(), 2, "{text}");
    for line in printed {
        let secret = line.split("SecretAccessKey=").nth(1).unwrap().trim();
        assert!(!secret.is_empty());
        assert_eq!(text.matches(secret).count(), 1);
        assert!(!stderr(&out).contains(secret));
    }
}

#[test]
fn json_plan_has_the_documented_shape() {
    let env = Env::new();
    let out = env
        .cmd()
        .arg("plan")
        .arg(env.clients())
        .args(["--format", "json"])
        .assert()
        .success();
    let plan: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(plan["format_version"], "1");
    let changes = plan["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .all(|c| ["create", "update", "delete"].contains(&c["action"].as_str().unwrap()))
    );
    assert_eq!(
        plan["summary"]["create"].as_u64().unwrap() as usize,
        changes.len()
    );
    assert_eq!(plan["summary"]["delete"], 0);
}

/// With moto enforcing IAM on S3, each delivered key reaches its own client's
/// buckets and is denied the other client's.
#[test]
fn delivered_keys_are_isolated_per_client() {
    let env = Env::new();
    let url = env.moto.url();
    let buckets = ["acme-assets", "acme-assets-dev", "globex-media"];
    block_on(async {
        let admin = s3_client(
            &url,
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        for b in buckets {
            admin.create_bucket().bucket(b).send().await.unwrap();
            admin
                .put_object()
                .bucket(b)
                .key("hello.txt")
                .body(b"hi".to_vec().into())
                .send()
                .await
                .unwrap();
        }
    });
    env.apply(&env.clients()).success();
    let (acme_id, acme_secret) = read_key(&env.creds(), "acme-app");
    let (globex_id, globex_secret) = read_key(&env.creds(), "globex-app");
    env.moto.set_auth(true);
    block_on(async {
        let acme = s3_client(&url, &acme_id, &acme_secret);
        let globex = s3_client(&url, &globex_id, &globex_secret);
        for b in ["acme-assets", "acme-assets-dev"] {
            acme.get_object()
                .bucket(b)
                .key("hello.txt")
                .send()
                .await
                .unwrap_or_else(|e| panic!("acme on {b}: {e:?}"));
            acme.put_object()
                .bucket(b)
                .key("new.txt")
                .body(b"x".to_vec().into())
                .send()
                .await
                .unwrap();
            let denied = globex
                .get_object()
                .bucket(b)
                .key("hello.txt")
                .send()
                .await
                .unwrap_err();
            assert_eq!(
                aws_sdk_s3::error::ProvideErrorMetadata::code(&denied),
                Some("AccessDenied"),
                "globex on {b}"
            );
        }
        globex
            .get_object()
            .bucket("globex-media")
            .key("hello.txt")
            .send()
            .await
            .unwrap();
        // read-only: globex cannot write its own bucket.
        let denied = globex
            .put_object()
            .bucket("globex-media")
            .key("x")
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_sdk_s3::error::ProvideErrorMetadata::code(&denied),
            Some("AccessDenied")
        );
        let denied = acme
            .get_object()
            .bucket("globex-media")
            .key("hello.txt")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_sdk_s3::error::ProvideErrorMetadata::code(&denied),
            Some("AccessDenied")
        );
    });
    // The IAM client with the delivered key cannot touch IAM either.
    block_on(async {
        let iam = iam_client_as(&url, &acme_id, &acme_secret);
        assert!(iam.create_user().user_name("mallory").send().await.is_err());
    });
    env.moto.set_auth(false);
}
