//! Developer lifecycle against a real IAM API: offboarding revokes every
//! credential, expiry, onboarding and offboarding by editing the files.

mod common;

use std::fs;

use common::{TestEnv, block_on, stdout};

const ACME: &str = r#"# Clients of the agency; reviewed in pull requests.
[settings]
path = "/provision/"

# Alice leads acme.
[[developers]]
name = "alice"
email = "alice@example.com"

[[developers]]
name = "bob"   # joined in March

[[clients]]
name = "acme"
buckets = ["acme-assets"]
access = "read-write"
developers = ["alice", "bob"]   # keep sorted
"#;

/// The shared environment, with acme's file in `clients/`.
type Env = TestEnv;

impl TestEnv {
    fn new() -> TestEnv {
        TestEnv::with_files(&[("acme.toml", ACME)])
    }
}

/// Give `user` every kind of credential a person collects over time.
async fn equip(iam: &aws_sdk_iam::Client, user: &str) -> String {
    iam.create_login_profile()
        .user_name(user)
        .password("Correct-Horse-9")
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        iam.create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
    }
    let device = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(user)
        .send()
        .await
        .unwrap();
    let serial = device
        .virtual_mfa_device()
        .unwrap()
        .serial_number()
        .to_owned();
    iam.enable_mfa_device()
        .user_name(user)
        .serial_number(&serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();
    iam.upload_ssh_public_key()
        .user_name(user)
        .ssh_public_key_body("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop")
        .send()
        .await
        .unwrap();
    iam.create_service_specific_credential()
        .user_name(user)
        .service_name("codecommit.amazonaws.com")
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name(user)
        .policy_name("scratch")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    serial
}

#[test]
fn removing_a_developer_revokes_every_credential_then_deletes_the_user() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let serial = block_on(equip(&env.iam(), "bob"));

    // The emulator now refuses to delete bob as AWS would.
    let err = block_on(env.iam().delete_user().user_name("bob").send()).unwrap_err();
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&err),
        Some("DeleteConflict")
    );

    env.write(
        "acme.toml",
        &ACME
            .replace(r#", "bob"]"#, "]")
            .replace("[[developers]]\nname = \"bob\"   # joined in March\n", ""),
    );
    env.proxy.clear();
    let out = env.apply(&env.clients()).success();
    assert!(stdout(&out).contains("- user bob"), "{}", stdout(&out));

    let writes = env.proxy.writes();
    let position = |action: &str| {
        writes
            .iter()
            .position(|w| w == action)
            .unwrap_or_else(|| panic!("no `{action}` in {writes:?}"))
    };
    for action in [
        "DeleteLoginProfile",
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",
        "DeleteSSHPublicKey",
        "DeleteServiceSpecificCredential",
        "DeleteUserPolicy",
        "RemoveUserFromGroup",
    ] {
        assert!(position(action) < position("DeleteUser"), "{writes:?}");
    }
    let key_calls = |action: &str| writes.iter().filter(|w| *w == action).count();
    assert_eq!(key_calls("UpdateAccessKey"), 2, "{writes:?}");
    assert_eq!(key_calls("DeleteAccessKey"), 2, "{writes:?}");

    block_on(async {
        let iam = env.iam();
        assert!(iam.get_user().user_name("bob").send().await.is_err());
        let devices = iam.list_virtual_mfa_devices().send().await.unwrap();
        assert!(
            !devices
                .virtual_mfa_devices()
                .iter()
                .any(|d| d.serial_number() == serial),
            "the virtual MFA device outlived its user"
        );
    });
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "{text}");
}

#[test]
fn offboard_edits_every_file_and_apply_revokes_the_user() {
    let env = Env::new();
    // bob also works on globex, declared in its own file.
    env.write(
        "globex.toml",
        "[[developers]]\nname = \"bob\"\n\n[[clients]]\nname = \"globex\"\nbucket_prefixes = [\"globex-\"]\ndevelopers = [\"bob\"]\n",
    );
    env.apply(&env.clients()).success();
    block_on(equip(&env.iam(), "bob"));
    let before = fs::read_to_string(env.file("acme.toml")).unwrap();

    // Without --apply: the files change and the plan is shown, AWS does not.
    env.proxy.clear();
    let out = env
        .cmd()
        .args(["offboard", "bob"])
        .arg(env.clients())
        .assert()
        .success();
    assert!(stdout(&out).contains("- user bob"), "{}", stdout(&out));
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    // Exactly bob's declaration and his membership are gone; every other
    // byte is as it was.
    let expected = before
        .replace("\n[[developers]]\nname = \"bob\"   # joined in March\n", "")
        .replace(r#"["alice", "bob"]"#, r#"["alice"]"#);
    assert_eq!(fs::read_to_string(env.file("acme.toml")).unwrap(), expected);
    let globex = fs::read_to_string(env.file("globex.toml")).unwrap();
    assert!(!globex.contains("bob"), "{globex}");

    env.apply(&env.clients()).success();
    assert!(block_on(env.iam().get_user().user_name("bob").send()).is_err());
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

#[test]
fn offboard_keep_user_leaves_a_disabled_user() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    block_on(async {
        let iam = env.iam();
        iam.create_login_profile()
            .user_name("bob")
            .password("Correct-Horse-9")
            .send()
            .await
            .unwrap();
        iam.create_access_key()
            .user_name("bob")
            .send()
            .await
            .unwrap();
    });
    let out = env
        .cmd()
        .args(["offboard", "bob", "--keep-user", "--apply", "--yes"])
        .arg(env.clients())
        .assert()
        .success();
    assert!(stdout(&out).contains("~ user bob"), "{}", stdout(&out));
    // What bob holds, and only that: one password, one key.
    for line in ["deletes console password", "deactivates access key AKIA"] {
        assert_eq!(
            stdout(&out).matches(line).count(),
            1,
            "{line}:\n{}",
            stdout(&out)
        );
    }
    let text = fs::read_to_string(env.file("acme.toml")).unwrap();
    assert!(text.contains("disabled = true"), "{text}");

    block_on(async {
        let iam = env.iam();
        iam.get_user().user_name("bob").send().await.unwrap();
        let groups = iam
            .list_groups_for_user()
            .user_name("bob")
            .send()
            .await
            .unwrap();
        assert!(groups.groups().is_empty());
        assert!(
            iam.get_login_profile()
                .user_name("bob")
                .send()
                .await
                .is_err()
        );
        let keys = iam
            .list_access_keys()
            .user_name("bob")
            .send()
            .await
            .unwrap();
        assert_eq!(keys.access_key_metadata().len(), 1);
        assert!(
            keys.access_key_metadata()
                .iter()
                .all(|k| k.status().map(|s| s.as_str()) == Some("Inactive"))
        );
    });
    assert_eq!(env.plan_exit(&env.clients()).0, 0);

    // Applying another file on its own keeps the disabled user: it is in no
    // group on purpose, and that file does not own it.
    let other = env.dir.path().join("other.toml");
    fs::write(
        &other,
        "[[clients]]\nname = \"other\"\nbuckets = [\"other-assets\"]\n",
    )
    .unwrap();
    let out = env.apply(&other).success();
    assert!(!stdout(&out).contains("- user bob"), "{}", stdout(&out));
    // A disabled user gets no new key either.
    let refused = env
        .cmd()
        .args(["rotate-key", "bob"])
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("user `bob` is disabled"), "{err}");
    block_on(async {
        env.iam().get_user().user_name("bob").send().await.unwrap();
    });
}

/// rotate-key checks the account like plan and apply do: no key is made in
/// a same-named user of another account.
#[test]
fn rotate_key_refuses_another_account() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let guarded = env.dir.path().join("guarded.toml");
    fs::write(&guarded, "[settings]\naccount_id = \"999999999999\"\n[[clients]]\nname = \"guard\"\nbuckets = [\"guard-assets\"]\n").unwrap();
    env.proxy.clear();
    let refused = env
        .cmd()
        .args(["rotate-key", "acme-app"])
        .arg(&guarded)
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(
        err.contains("`123456789012`") && err.contains("`999999999999`"),
        "{err}"
    );
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

#[test]
fn onboard_edits_the_clients_file_and_applies() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    env.proxy.clear();
    let out = env
        .cmd()
        .current_dir(env.dir.path())
        .args([
            "onboard",
            "carol",
            "--client",
            "acme",
            "--email",
            "carol@example.com",
        ])
        .assert()
        .success();
    let plan = stdout(&out);
    assert!(plan.contains("+ user carol"), "{plan}");
    assert!(plan.contains("+ membership client-acme/carol"), "{plan}");
    assert_eq!(env.proxy.writes(), Vec::<String>::new());

    let after = fs::read_to_string(env.file("acme.toml")).unwrap();
    // Untouched lines stay byte-identical: the old text minus the one
    // membership line is a subsequence of the new text's lines.
    let new_lines: Vec<&str> = after.lines().collect();
    let mut at = 0;
    for line in ACME.lines().filter(|l| !l.starts_with("developers = ")) {
        let found = new_lines[at..].iter().position(|l| *l == line);
        at += found.unwrap_or_else(|| panic!("line {line:?} changed:\n{after}")) + 1;
    }
    assert!(after.contains("developers = [\"alice\", \"bob\", \"carol\"]   # keep sorted\n"));

    // Refusals: a duplicate, an unknown client; the file stays as it is.
    for (args, message) in [
        (["onboard", "carol", "--client", "acme"], "already listed"),
        (
            ["onboard", "dave", "--client", "initech"],
            "`initech` is not declared",
        ),
    ] {
        let out = env
            .cmd()
            .current_dir(env.dir.path())
            .args(args)
            .assert()
            .failure();
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(err.contains(message), "{err}");
    }
    assert_eq!(fs::read_to_string(env.file("acme.toml")).unwrap(), after);
    assert_eq!(env.proxy.writes(), Vec::<String>::new());

    env.cmd()
        .current_dir(env.dir.path())
        .args(["onboard", "dave", "--client", "acme", "--apply", "--yes"])
        .assert()
        .success();
    block_on(async {
        let out = env
            .iam()
            .get_group()
            .group_name("client-acme")
            .send()
            .await
            .unwrap();
        assert!(out.users().iter().any(|u| u.user_name() == "dave"));
    });
}

#[test]
fn an_expired_developer_is_revoked_and_a_soon_expiring_one_is_warned_about() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let today = chrono::Local::now().date_naive();
    let past = today - chrono::Days::new(1);
    let soon = today + chrono::Days::new(5);
    env.write(
        "acme.toml",
        &ACME
            .replace(
                "name = \"bob\"   # joined in March",
                &format!("name = \"bob\"\nexpires = {past}"),
            )
            .replace(
                "developers = [\"alice\", \"bob\"]",
                &format!("developers = [{{ name = \"alice\", expires = {soon} }}, \"bob\"]"),
            ),
    );
    let (code, plan) = env.plan_exit(&env.clients());
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains(&format!("warning: developer `bob` expired on {past}")),
        "{plan}"
    );
    assert!(
        plan.contains(&format!(
            "warning: the membership of `alice` in client `acme` expires on {soon} (in 5 days)"
        )),
        "{plan}"
    );
    assert!(plan.contains("- user bob"), "{plan}");
    assert!(!plan.contains("alice\n"), "alice keeps her access:\n{plan}");
    env.apply(&env.clients()).success();
    assert!(block_on(env.iam().get_user().user_name("bob").send()).is_err());
}

#[test]
fn rotate_key_overlaps_then_finishes_and_refuses_a_third_key() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let creds = env.dir.path().join("creds");
    let old: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(creds.join("acme-app.json")).unwrap()).unwrap();
    let old_id = old["AccessKeyId"].as_str().unwrap().to_owned();

    let out = env
        .cmd()
        .args(["rotate-key", "acme-app", "--credentials-dir"])
        .arg(&creds)
        .assert()
        .success();
    assert!(
        !stdout(&out).contains("SecretAccessKey="),
        "written to the file only"
    );
    let new: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(creds.join("acme-app.json")).unwrap()).unwrap();
    let new_id = new["AccessKeyId"].as_str().unwrap().to_owned();
    assert_ne!(new_id, old_id);
    let statuses = || {
        block_on(async {
            let keys = env
                .iam()
                .list_access_keys()
                .user_name("acme-app")
                .send()
                .await
                .unwrap();
            let mut ids: Vec<(String, String)> = keys
                .access_key_metadata()
                .iter()
                .map(|k| {
                    (
                        k.access_key_id().unwrap().to_owned(),
                        k.status().unwrap().as_str().to_owned(),
                    )
                })
                .collect();
            ids.sort();
            ids
        })
    };
    assert_eq!(statuses().len(), 2);
    assert!(
        statuses().iter().all(|(_, s)| s == "Active"),
        "both work during the overlap"
    );
    // The record follows the new key, so the plan stays empty.
    assert_eq!(env.plan_exit(&env.clients()).0, 0);

    let out = env
        .cmd()
        .args(["rotate-key", "acme-app"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("already has two access keys"), "{err}");
    assert!(err.contains("--finish"), "{err}");

    env.proxy.clear();
    env.cmd()
        .args(["rotate-key", "acme-app", "--finish"])
        .assert()
        .success();
    assert_eq!(
        env.proxy.writes(),
        ["UpdateAccessKey", "DeleteAccessKey"],
        "deactivate, then delete"
    );
    assert_eq!(statuses(), [(new_id, "Active".to_owned())]);

    let out = env
        .cmd()
        .args(["rotate-key", "stranger"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("does not exist"), "{err}");
    block_on(env.iam().create_user().user_name("outsider").send()).unwrap();
    let out = env
        .cmd()
        .args(["rotate-key", "outsider"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("not managed by provision"), "{err}");
}

#[test]
fn audit_reports_console_passwords_and_strays_and_exits_1() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let clean = env.cmd().arg("audit").arg(env.clients()).assert().success();
    assert!(stdout(&clean).contains("No findings"), "{}", stdout(&clean));

    block_on(async {
        let iam = env.iam();
        iam.create_login_profile()
            .user_name("alice")
            .password("Correct-Horse-9")
            .send()
            .await
            .unwrap();
        iam.create_user().user_name("mallory").send().await.unwrap();
        iam.add_user_to_group()
            .group_name("client-acme")
            .user_name("mallory")
            .send()
            .await
            .unwrap();
    });
    env.proxy.clear();
    let out = env
        .cmd()
        .args(["audit", "--format", "json"])
        .arg(env.clients())
        .assert()
        .code(1);
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let found: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["user"].as_str().unwrap().to_owned(),
                f["check"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("alice".to_owned(), "console-password".to_owned()),
            ("mallory".to_owned(), "unmanaged-member".to_owned()),
        ]
    );
    assert_eq!(env.proxy.count("GetCredentialReport"), 1);
    assert_eq!(env.proxy.writes(), Vec::<String>::new(), "audit only reads");
}

#[test]
fn onboard_with_file_uses_the_declaration_of_the_next_file_without_copying_it() {
    let env = Env::new();
    env.write(
        "globex.toml",
        "[[clients]]\nname = \"globex\"\nbucket_prefixes = [\"globex-\"]\n",
    );
    env.cmd()
        .args(["onboard", "alice", "--client", "globex", "--file"])
        .arg(env.file("globex.toml"))
        .assert()
        .success();
    let globex = fs::read_to_string(env.file("globex.toml")).unwrap();
    assert_eq!(
        globex,
        "[[clients]]\nname = \"globex\"\nbucket_prefixes = [\"globex-\"]\ndevelopers = [\"alice\"]\n"
    );
    // The next file's declaration serves this one: the directory validates.
    env.cmd()
        .arg("validate")
        .arg(env.clients())
        .assert()
        .success();
}

#[test]
fn an_edit_that_would_break_the_files_is_rolled_back() {
    let env = Env::new();
    // `acme-app` is the client's application user; a developer of that
    // name is refused by validation, after the edit.
    let out = env
        .cmd()
        .current_dir(env.dir.path())
        .args(["onboard", "acme-app", "--client", "acme"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("left unchanged"), "{err}");
    assert_eq!(fs::read_to_string(env.file("acme.toml")).unwrap(), ACME);
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert_eq!(
        env.proxy.calls(),
        Vec::<String>::new(),
        "no AWS call at all"
    );
}

/// Guarantee 5 for offboarding: a revocation whose answers are lost (the
/// call happened, the client cannot know) is finished by the next apply.
#[test]
fn offboarding_with_lost_answers_converges_on_the_next_apply() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let serial = block_on(equip(&env.iam(), "bob"));
    env.write(
        "acme.toml",
        &ACME
            .replace(r#", "bob"]"#, "]")
            .replace("[[developers]]\nname = \"bob\"   # joined in March\n", ""),
    );
    env.proxy.set_faults(common::Faults {
        drop_response: 0.5,
        actions: [
            "DeleteLoginProfile",
            "UpdateAccessKey",
            "DeleteAccessKey",
            "DeactivateMFADevice",
            "DeleteVirtualMFADevice",
            "DeleteSSHPublicKey",
            "DeleteServiceSpecificCredential",
            "DeleteUserPolicy",
            "RemoveUserFromGroup",
            "DeleteUser",
        ]
        .map(String::from)
        .to_vec(),
        seed: 7,
        ..common::Faults::default()
    });
    // The first apply may or may not get through; the next one must.
    let _ = env
        .cmd()
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .output()
        .unwrap();
    let dropped = env
        .proxy
        .requests()
        .iter()
        .filter(|c| c.fault.is_some())
        .count();
    assert!(dropped > 0, "the test injected no fault");
    env.proxy.set_faults(common::Faults::default());
    env.apply(&env.clients()).success();
    block_on(async {
        let iam = env.iam();
        assert!(iam.get_user().user_name("bob").send().await.is_err());
        let devices = iam.list_virtual_mfa_devices().send().await.unwrap();
        assert!(
            !devices
                .virtual_mfa_devices()
                .iter()
                .any(|d| d.serial_number() == serial)
        );
    });
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

/// The lines of the plan on `stdout` under `- user NAME`, up to the next
/// change.
fn deletion_block(stdout: &str, user: &str) -> String {
    let head = format!("- user {user}");
    let mut lines = stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(&head));
    let mut block = vec![
        lines
            .next()
            .unwrap_or_else(|| panic!("no `{head}` in:\n{stdout}")),
    ];
    block.extend(lines.take_while(|l| l.starts_with("      ")));
    block.join("\n")
}

/// `offboard NAME` lists the credentials the user holds, by id in part,
/// not every kind IAM has: bob has one access key and no password, so the
/// plan (and `--apply`) revokes exactly that key.
#[test]
fn offboard_lists_exactly_the_one_key_the_user_holds() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let key = block_on(async {
        let out = env
            .iam()
            .create_access_key()
            .user_name("bob")
            .send()
            .await
            .unwrap();
        out.access_key().unwrap().access_key_id().to_owned()
    });
    let hint = format!("{}…{}", &key[..4], &key[key.len() - 4..]);
    let out = env
        .cmd()
        .args(["offboard", "bob"])
        .arg(env.clients())
        .assert()
        .success();
    let block = deletion_block(&stdout(&out), "bob").replace(&hint, "[KEY]");
    insta::assert_snapshot!(block, @"
    - user bob
        revokes access key [KEY]
        leaves groups: client-acme
    ");

    // The same with `--apply`, from the files as they were.
    env.write("acme.toml", ACME);
    let out = env
        .cmd()
        .args(["offboard", "bob", "--apply", "--yes"])
        .arg("--credentials-dir")
        .arg(env.creds())
        .arg(env.clients())
        .assert()
        .success();
    let applied = deletion_block(&stdout(&out), "bob").replace(&hint, "[KEY]");
    assert_eq!(applied, block);
}

/// A user that holds no credential shows no credential line, and one that
/// holds every kind shows each, once.
#[test]
fn offboard_lists_every_kind_of_credential_held_and_none_for_a_user_without() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let out = env
        .cmd()
        .args(["offboard", "bob"])
        .arg(env.clients())
        .assert()
        .success();
    let block = deletion_block(&stdout(&out), "bob");
    assert!(!block.contains("revokes"), "{block}");
    insta::assert_snapshot!(block, @"
    - user bob
        leaves groups: client-acme
    ");

    let env = Env::new();
    env.apply(&env.clients()).success();
    let serial = block_on(equip(&env.iam(), "bob"));
    let out = env
        .cmd()
        .args(["offboard", "bob"])
        .arg(env.clients())
        .assert()
        .success();
    let block = deletion_block(&stdout(&out), "bob");
    let revokes: Vec<&str> = block.lines().filter(|l| l.contains("revokes")).collect();
    assert_eq!(revokes.len(), 6, "{block}");
    for kind in [
        "console password",
        "access key AKIA",
        "SSH public key",
        "service-specific credential",
        "(codecommit.amazonaws.com)",
    ] {
        assert!(block.contains(kind), "no {kind}:\n{block}");
    }
    assert!(block.contains(&format!("MFA device {serial}")), "{block}");
    assert!(!block.contains("signing certificate"), "{block}");
}
