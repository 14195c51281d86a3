//! Ownership (SPEC, Guarantee 2) against the real binary and moto: provision
//! changes only what lives at exactly its managed path, never `/`, never a
//! nested path that another configuration owns.

mod common;

use std::fs;
use std::path::PathBuf;

use common::{TestEnv, block_on, stderr, stdout};
use serde_json::Value;

/// A configuration whose managed path is `path`, with one client `name`
/// (bucket `<name>-assets`) and its developer `dev`.
fn configuration(path: &str, name: &str, dev: &str) -> String {
    format!(
        "[settings]\npath = \"{path}\"\n\n[[developers]]\nname = \"{dev}\"\nemail = \"{dev}@example.com\"\n\n\
         [[clients]]\nname = \"{name}\"\nbuckets = [\"{name}-assets\"]\ndevelopers = [\"{dev}\"]\n"
    )
}

impl TestEnv {
    /// A second configuration directory next to `clients/`, holding `text`.
    fn other_configuration(&self, dir: &str, text: &str) -> PathBuf {
        let dir = self.dir.path().join(dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("config.toml"), text).unwrap();
        dir
    }

    /// Every user and group in the account as `(kind, name, path)`.
    fn entities(&self) -> Vec<(String, String, String)> {
        block_on(async {
            let iam = self.iam();
            let mut out = Vec::new();
            for u in iam.list_users().send().await.unwrap().users() {
                out.push(("user".into(), u.user_name().into(), u.path().into()));
            }
            for g in iam.list_groups().send().await.unwrap().groups() {
                out.push(("group".into(), g.group_name().into(), g.path().into()));
            }
            out.sort();
            out
        })
    }
}

/// With `path = "/"`, a hand-made `client-legacy` group (its own policy and
/// member) would be taken for a managed client group and deleted by an
/// apply of the directory. `/` is refused when the files are read: exit 1,
/// the reason, and not a single AWS call, from every command.
#[test]
fn a_root_managed_path_is_refused_before_any_aws_call() {
    let env = TestEnv::with_files(&[("acme.toml", &configuration("/", "acme", "alice"))]);
    block_on(async {
        let iam = env.iam();
        iam.create_group()
            .group_name("client-legacy")
            .send()
            .await
            .unwrap();
        iam.put_group_policy()
            .group_name("client-legacy")
            .policy_name("legacy")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::legacy/*"}]}"#,
            )
            .send()
            .await
            .unwrap();
        iam.create_user()
            .user_name("legacy-dev")
            .send()
            .await
            .unwrap();
        iam.add_user_to_group()
            .group_name("client-legacy")
            .user_name("legacy-dev")
            .send()
            .await
            .unwrap();
    });
    let before = env.entities();
    let commands: [&[&str]; 6] = [
        &["validate"],
        &["plan"],
        &["apply", "--yes", "--credentials-dir", "creds"],
        &["verify"],
        &["audit"],
        &["policy", "operator"],
    ];
    for command in commands {
        let out = env
            .cmd()
            .current_dir(env.dir.path())
            .args(command)
            .arg("clients/")
            .assert()
            .failure()
            .code(1);
        let err = stderr(&out);
        assert!(
            err.starts_with("error: the managed path cannot be `/`\n  --> clients/acme.toml:2:8"),
            "{command:?}:\n{err}"
        );
        assert!(
            err.contains(
                "a hand-made `client-*` group would be taken for one of provision's and deleted"
            ),
            "{command:?}:\n{err}"
        );
        assert!(stdout(&out).is_empty(), "{command:?}: {}", stdout(&out));
    }
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
    assert_eq!(env.entities(), before);
}

/// Two configurations in one account, one nested under the other's path:
/// applying `/provision/` leaves `/provision/team-b/` exactly as it was,
/// and no other command of `/provision/` takes its users for its own.
#[test]
fn an_apply_leaves_a_configuration_at_a_nested_path_untouched() {
    let env = TestEnv::with_files(&[("acme.toml", &configuration("/provision/", "acme", "alice"))]);
    let team_b = env.other_configuration(
        "team-b",
        &configuration("/provision/team-b/", "beta", "bob"),
    );
    env.apply(&team_b).success();
    block_on(async {
        // A console password for `bob`: an audit of `/provision/` must not
        // report another configuration's user.
        env.iam()
            .create_login_profile()
            .user_name("bob")
            .password("a-Password-1234")
            .send()
            .await
            .unwrap();
    });
    let before = env.entities();
    assert!(before.contains(&(
        "group".into(),
        "client-beta".into(),
        "/provision/team-b/".into()
    )));

    env.proxy.clear();
    let out = env.apply(&env.clients()).success();
    let text = stdout(&out);
    for name in ["beta", "bob"] {
        assert!(
            !text.contains(name),
            "the apply of `/provision/` planned {name}:\n{text}"
        );
    }
    // Every write named only `/provision/`'s own entities.
    for call in env.proxy.requests().iter().filter(|c| c.is_write()) {
        for param in ["UserName", "GroupName"] {
            let value = call.param(param).unwrap_or_default();
            assert!(
                !["bob", "beta-app", "client-beta"].contains(&value.as_str()),
                "{} touched `{value}`",
                call.action
            );
        }
    }
    let after = env.entities();
    for entity in before
        .iter()
        .filter(|(_, _, path)| path == "/provision/team-b/")
    {
        assert!(after.contains(entity), "{entity:?} is gone");
    }
    // Team B's configuration still matches its account exactly.
    let (code, plan) = env.plan_exit(&team_b);
    assert_eq!(code, 0, "{plan}");

    // verify and audit of `/provision/` see only their own users.
    let out = env
        .cmd()
        .arg("verify")
        .arg(env.clients())
        .args(["--format", "json"])
        .assert()
        .success();
    let matrix: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let principals: Vec<&str> = matrix["principals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(principals, ["acme-app", "alice"], "{matrix:#}");
    let out = env.cmd().arg("audit").arg(env.clients()).assert().success();
    assert!(!stdout(&out).contains("bob"), "{}", stdout(&out));

    // rotate-key with `/provision/`'s files refuses team B's user, saying
    // whose it is, and creates no key.
    env.proxy.clear();
    let out = env
        .cmd()
        .args(["rotate-key", "beta-app"])
        .arg(env.clients())
        .arg("--credentials-dir")
        .arg(env.creds())
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr(&out).contains(
            "user `beta-app` is at path `/provision/team-b/`, not at the managed path `/provision/`: it carries the `managed-by=provision` tag, so another configuration of provision (whose `settings.path` is `/provision/team-b/`) manages it"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

/// A declared name held by a user that carries provision's tag at another
/// path (another configuration's, nested or not) is an error that says so,
/// rather than claiming the tag is missing or taking the user over.
#[test]
fn a_tagged_user_at_another_path_is_named_for_what_it_is() {
    for other in ["/provision/team-b/", "/elsewhere/"] {
        let env =
            TestEnv::with_files(&[("acme.toml", &configuration("/provision/", "acme", "alice"))]);
        let team_b = env.other_configuration("team-b", &configuration(other, "beta", "alice"));
        env.apply(&team_b).success();
        env.proxy.clear();
        let out = env
            .cmd()
            .arg("plan")
            .arg(env.clients())
            .assert()
            .failure()
            .code(1);
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "error: user `alice` already exists at path `{other}`, not at the managed path `/provision/`: it carries the `managed-by=provision` tag, so another configuration of provision (whose `settings.path` is `{other}`) manages it"
            )),
            "{other}:\n{err}"
        );
        assert!(!err.contains("no `managed-by=provision` tag"), "{err}");
        assert_eq!(env.proxy.writes(), Vec::<String>::new());
    }
}

/// A client group under `/provision/team-b/` belongs to the configuration
/// whose path that is. A client of ours with its name is refused with a
/// message that says whose it is, and does not advise moving it here,
/// which would take it from that configuration.
#[test]
fn a_client_group_at_a_nested_path_is_named_as_another_configurations() {
    let env = TestEnv::with_files(&[("acme.toml", &configuration("/provision/", "acme", "alice"))]);
    let team_b = env.other_configuration(
        "team-b",
        &configuration("/provision/team-b/", "acme", "bob"),
    );
    env.apply(&team_b).success();
    env.proxy.clear();
    let out = env
        .cmd()
        .arg("plan")
        .arg(env.clients())
        .assert()
        .failure()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains(
            "error: group `client-acme` already exists at path `/provision/team-b/`, nested under the managed path `/provision/`: it is a client group of another configuration of provision (whose `settings.path` is `/provision/team-b/`), which this configuration never changes; rename the client in this file"
        ),
        "{err}"
    );
    assert!(!err.contains("update-group"), "{err}");
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}
