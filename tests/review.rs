//! The review workflow against a real IAM API: `plan --out` saves what was
//! reviewed, `apply PLANFILE` applies exactly that or refuses when anything
//! it depends on changed; markdown plans for pull requests.

mod common;

use std::fs;
use std::path::PathBuf;

use common::{TestEnv, block_on, provision, stderr};
use serde_json::Value;

const ACME: &str = r#"
[settings]
path = "/provision/"

[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "acme"
buckets = ["acme-assets"]
access = "read-write"
developers = ["alice"]
"#;

/// The shared environment, with acme's file in `clients/`.
type Env = TestEnv;

impl TestEnv {
    fn new() -> TestEnv {
        TestEnv::with_files(&[("acme.toml", ACME)])
    }

    fn plan_file(&self) -> PathBuf {
        self.dir.path().join("plan.json")
    }

    /// `plan clients/ --out plan.json`, which must succeed.
    fn save_plan(&self) -> Value {
        self.cmd()
            .arg("plan")
            .arg(self.clients())
            .arg("--out")
            .arg(self.plan_file())
            .assert()
            .success()
            .stderr(predicates::str::contains("Saved the plan to"));
        serde_json::from_slice(&fs::read(self.plan_file()).unwrap()).unwrap()
    }

    fn apply_plan_file(&self) -> assert_cmd::assert::Assert {
        self.cmd()
            .arg("apply")
            .arg(self.plan_file())
            .arg("--credentials-dir")
            .arg(self.creds())
            .assert()
    }
}

#[test]
fn a_saved_plan_is_applied_exactly_and_leaves_nothing_to_do() {
    let env = Env::new();
    let saved = env.save_plan();
    assert_eq!(saved["format"], "provision-plan");
    let changes = saved["changes"].as_array().unwrap().len();
    assert!(changes > 0);
    // Planning writes nothing.
    assert_eq!(env.proxy.writes(), Vec::<String>::new());

    // No `--yes` and no terminal: a saved plan was reviewed already.
    let applied = env.apply_plan_file().success();
    let err = stderr(&applied);
    assert!(
        err.contains(&format!("[{changes}/{changes}]")),
        "every saved change is applied:\n{err}"
    );
    assert!(
        err.contains(&format!("Apply complete: {changes} change(s) made.")),
        "{err}"
    );
    let writes = env.proxy.writes();
    assert_eq!(
        writes.iter().filter(|w| *w == "CreateUser").count(),
        2,
        "alice and acme-app: {writes:?}"
    );
    assert_eq!(
        writes.iter().filter(|w| *w == "CreateAccessKey").count(),
        1,
        "{writes:?}"
    );

    // The account now matches the configuration.
    env.cmd()
        .arg("plan")
        .arg(env.clients())
        .arg("--detailed-exitcode")
        .assert()
        .code(0);
}

/// Applied twice, a saved plan says it was applied already, instead of
/// listing the users it created as changed, and writes nothing.
#[test]
fn a_saved_plan_applied_twice_says_already_applied_and_writes_nothing() {
    let env = Env::new();
    env.save_plan();
    env.apply_plan_file().success();
    env.proxy.clear();
    let again = env.apply_plan_file().code(0);
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert_eq!(common::stdout(&again), "");
    insta::assert_snapshot!(stderr(&again), @"This plan was already applied: every change in it is in effect in the account; nothing to do.");
}

/// An apply of a saved plan that stopped half-way: applying the file again
/// says part of it is in effect and asks for a new plan, and writes nothing.
#[test]
fn a_saved_plan_partly_applied_is_refused_as_partly_applied() {
    let env = Env::new();
    env.save_plan();
    env.proxy.refuse("CreateAccessKey", "UserName", "acme-app");
    env.apply_plan_file().code(1);
    env.proxy.stop_refusing();
    env.proxy.clear();
    let again = env.apply_plan_file().code(1);
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    insta::assert_snapshot!(stderr(&again), @"
    error: the saved plan was partly applied already: 6 of its 7 change(s) are in effect in the account, 1 still to do (an apply that stopped half-way?).
    Nothing was applied. Run `provision plan` again to see what is left, review it, and apply that.
    ");
}

/// Saved, then reviewed: alice leaves acme, so the plan removes her from
/// `client-acme` and depends on the group.
fn save_plan_that_removes_alice(env: &Env) {
    env.apply(&env.clients()).success();
    fs::write(
        env.clients().join("acme.toml"),
        ACME.replace("developers = [\"alice\"]", "developers = []"),
    )
    .unwrap();
    env.save_plan();
}

#[test]
fn a_stale_saved_plan_names_the_members_added_to_a_group_by_hand() {
    let env = Env::new();
    save_plan_that_removes_alice(&env);
    block_on(async {
        let iam = env.iam();
        iam.create_user().user_name("mallory").send().await.unwrap();
        iam.add_user_to_group()
            .group_name("client-acme")
            .user_name("mallory")
            .send()
            .await
            .unwrap();
    });
    env.proxy.clear();
    let refused = env.apply_plan_file().code(1);
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    insta::assert_snapshot!(stderr(&refused), @"
    error: the saved plan is stale: the account changed since the plan was made:
      - group `client-acme` was changed:
          members added: `mallory`
    Nothing was applied. Run `provision plan` again and review the new plan.
    ");
}

#[test]
fn a_stale_saved_plan_names_the_group_policy_edited_by_hand() {
    let env = Env::new();
    save_plan_that_removes_alice(&env);
    block_on(async {
        env.iam()
            .put_group_policy()
            .group_name("client-acme")
            .policy_name("provision-s3")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    });
    env.proxy.clear();
    let refused = env.apply_plan_file().code(1);
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    insta::assert_snapshot!(stderr(&refused), @r#"
    error: the saved plan is stale: the account changed since the plan was made:
      - group `client-acme` was changed:
          inline policy `provision-s3`: document changed
            -         "s3:GetBucketLocation",
            -         "s3:ListBucket",
            -         "s3:ListBucketMultipartUploads"
            -       ],
            -       "Condition": {
            +         "s3:*"
            +         "*"
            +       ]
            ... and 31 more changed line(s); `provision plan` shows the whole document
    Nothing was applied. Run `provision plan` again and review the new plan.
    "#);
}

#[test]
fn a_saved_plan_is_refused_when_the_account_changed_and_nothing_is_written() {
    let env = Env::new();
    env.save_plan();
    // Someone creates `alice` by hand between review and merge.
    block_on(async {
        env.iam()
            .create_user()
            .user_name("alice")
            .send()
            .await
            .unwrap();
    });
    env.proxy.clear();
    let refused = env.apply_plan_file().code(1);
    let err = stderr(&refused);
    assert!(err.contains("the saved plan is stale"), "{err}");
    assert!(
        err.contains("user `alice` did not exist and now does"),
        "{err}"
    );
    assert!(err.contains("Run `provision plan` again"), "{err}");
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert!(!env.creds().exists());
}

#[test]
fn a_saved_plan_is_refused_when_a_managed_user_was_edited() {
    let env = Env::new();
    env.cmd()
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.creds())
        .assert()
        .success();
    // A reviewed change: alice loses access to acme.
    fs::write(
        env.clients().join("acme.toml"),
        ACME.replace("developers = [\"alice\"]", "developers = []"),
    )
    .unwrap();
    let saved = env.save_plan();
    assert_eq!(saved["changes"].as_array().unwrap().len(), 1, "{saved:#}");
    // The secret delivered by the first apply is nowhere in the plan.
    let key: Value =
        serde_json::from_slice(&fs::read(env.creds().join("acme-app.json")).unwrap()).unwrap();
    let secret = key["SecretAccessKey"].as_str().unwrap();
    assert!(
        !fs::read_to_string(env.plan_file())
            .unwrap()
            .contains(secret)
    );

    // Then alice's user is tagged by hand.
    block_on(async {
        env.iam()
            .tag_user()
            .user_name("alice")
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("team")
                    .value("ops")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    env.proxy.clear();
    let refused = env.apply_plan_file().code(1);
    assert!(
        stderr(&refused).contains("user `alice` was changed"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

#[test]
fn a_saved_plan_made_from_other_files_is_refused_without_any_aws_call() {
    let env = Env::new();
    env.save_plan();
    fs::write(
        env.clients().join("acme.toml"),
        ACME.replace("read-write", "full"),
    )
    .unwrap();
    env.proxy.clear();
    let refused = env.apply_plan_file().code(1);
    let dir = env.dir.path().display().to_string();
    insta::assert_snapshot!(stderr(&refused).replace(&dir, "[DIR]"), @"
    error: the configuration in `[DIR]/clients` changed since the plan was made, so the saved plan is not what the files say now.
    Nothing was applied. Plan again from the files as they are (`provision plan [DIR]/clients --out FILE`), review the new plan, and apply that file.
    ");
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
}

#[test]
fn bad_saved_plan_arguments_are_refused_without_any_aws_call() {
    let env = Env::new();
    let not_json = env
        .cmd()
        .arg("plan")
        .arg(env.clients())
        .arg("--out")
        .arg(env.dir.path().join("plan.txt"))
        .assert()
        .code(1);
    assert!(stderr(&not_json).contains("must end in `.json`"));

    fs::write(env.plan_file(), r#"{"changes": []}"#).unwrap();
    let other_json = env.apply_plan_file().code(1);
    assert!(
        stderr(&other_json).contains("is not a saved plan of provision"),
        "{}",
        stderr(&other_json)
    );

    let mixed = env
        .cmd()
        .arg("apply")
        .arg(env.plan_file())
        .arg(env.clients())
        .assert()
        .code(1);
    assert!(stderr(&mixed).contains("a saved plan is applied on its own"));
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
}

#[test]
fn markdown_plan_is_a_pull_request_comment() {
    let env = Env::new();
    let out = env
        .cmd()
        .arg("plan")
        .arg(env.clients())
        .arg("--format")
        .arg("markdown")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("| `acme` | 4 | 0 | 0 |"),
        "summary row for acme:\n{text}"
    );
    assert!(text.contains("<details>"), "{text}");
    assert!(text.contains("```diff"), "{text}");
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

#[test]
fn logs_at_every_level_never_hold_a_secret() {
    let env = Env::new();
    let out = env
        .cmd()
        .env("RUST_LOG", "trace")
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.creds())
        .assert()
        .success();
    let err = stderr(&out);
    // The logs are on: provision's own events and the SDK's are there.
    assert!(err.contains("provision::terminal"), "{err}");
    assert!(err.contains("aws_smithy"), "no SDK logs at trace level");
    let key: Value =
        serde_json::from_slice(&fs::read(env.creds().join("acme-app.json")).unwrap()).unwrap();
    let secret = key["SecretAccessKey"].as_str().unwrap();
    assert!(!secret.is_empty());
    assert!(!err.contains(secret), "the secret is in the logs");
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(!stdout.contains(secret), "the secret is on stdout");
}

#[test]
fn quiet_and_verbose_change_what_apply_says() {
    let env = Env::new();
    let quiet = env
        .cmd()
        .args(["-q", "apply"])
        .arg(env.clients())
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.creds())
        .assert()
        .success();
    assert_eq!(stderr(&quiet), "", "-q says nothing but errors");

    // A change for a verbose run: bob joins acme.
    fs::write(
        env.clients().join("acme.toml"),
        ACME.replace(
            "developers = [\"alice\"]",
            "developers = [\"alice\", \"bob\"]\n\n[[developers]]\nname = \"bob\"",
        ),
    )
    .unwrap();
    let verbose = env
        .cmd()
        .args(["apply", "-v"])
        .arg(env.clients())
        .arg("--yes")
        .assert()
        .success();
    let err = stderr(&verbose);
    assert!(err.contains("[1/2] + user bob: done"), "{err}");
    assert!(
        err.contains("INFO") && err.contains("+ user bob"),
        "-v logs each change:\n{err}"
    );
    assert!(err.contains("configuration loaded"), "{err}");
    assert!(
        !err.contains("AWS call"),
        "AWS calls are logged from -vv on"
    );

    let very = env
        .cmd()
        .args(["plan", "-vv"])
        .arg(env.clients())
        .assert()
        .success();
    assert!(
        stderr(&very).contains("operation=GetAccountAuthorizationDetails"),
        "{}",
        stderr(&very)
    );
}

/// Commands that describe the binary itself; no AWS endpoint needed.
fn offline() -> assert_cmd::Command {
    provision("http://127.0.0.1:9")
}

#[test]
fn completions_generate_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _provision"),
        ("zsh", "#compdef provision"),
        ("fish", "complete -c provision"),
    ] {
        let out = offline().args(["completions", shell]).assert().success();
        let script = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(script.contains(marker), "{shell}: {script}");
        for word in ["plan", "apply", "detailed-exitcode", "markdown"] {
            assert!(script.contains(word), "{shell} completes `{word}`");
        }
    }
    offline().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn man_page_is_generated_from_the_command_line_definition() {
    let out = offline().arg("man").assert().success();
    let page = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page}");
    assert!(page.contains(".TH provision 1"), "{page}");
    for word in [
        "validate",
        "completions",
        "schema",
        "provision\\-plan(1)",
        "\\-\\-quiet",
        "EXIT STATUS",
    ] {
        assert!(
            page.contains(word),
            "`{word}` missing from the man page:\n{page}"
        );
    }
    // The AWS options are on the pages of the commands that call AWS.
    let dir = tempfile::tempdir().unwrap();
    offline()
        .arg("man")
        .arg("--out")
        .arg(dir.path())
        .assert()
        .success();
    let plan = std::fs::read_to_string(dir.path().join("provision-plan.1")).unwrap();
    assert!(plan.contains("\\-\\-endpoint\\-url"), "{plan}");
}

#[test]
fn schema_prints_a_strict_json_schema() {
    let out = offline().arg("schema").assert().success();
    let schema: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["definitions"]["client"]["properties"]["access"]["enum"],
        serde_json::json!(["read-only", "read-write", "full"])
    );
    let in_repo: Value = serde_json::from_slice(
        &fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/clients-v1.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(schema, in_repo);
}

/// The example workflows call provision with flags that exist: every
/// `provision ...` command line in them parses with the real definition.
#[test]
fn example_workflows_use_real_flags() {
    use clap::Parser;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/github-actions");
    let mut checked = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let line = line.trim().trim_start_matches("run:").trim();
            let Some(args) = line.strip_prefix("provision ") else {
                continue;
            };
            // Drop the shell's redirection; quotes hold no spaces here.
            let args = args.split(" >").next().unwrap();
            let argv = std::iter::once("provision")
                .chain(args.split_whitespace().map(|a| a.trim_matches('"')));
            if let Err(e) = provision::cli::Cli::try_parse_from(argv) {
                panic!("{}: `{line}` does not parse:\n{e}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} provision commands found");
}

#[test]
fn colours_follow_the_terminal_conventions_and_no_color() {
    let env = Env::new();
    let plan = |no_color: bool| {
        let mut cmd = env.cmd();
        cmd.env_remove("NO_COLOR")
            // Stands in for a terminal, which a test does not have.
            .env("CLICOLOR_FORCE", "1");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.arg("plan").arg(env.clients()).assert().success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let green = "\u{1b}[1m\u{1b}[32m+ user alice";
    assert!(plan(false).contains(green), "{}", plan(false));
    let plain = plan(true);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    assert!(plain.contains("  + user alice\n"), "{plain}");
    // Without a terminal (the default here), no colour either.
    let out = env
        .cmd()
        .env_remove("NO_COLOR")
        .arg("plan")
        .arg(env.clients())
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&out.get_output().stdout).contains('\u{1b}'));
}

/// The fingerprints cover what each change touches; a client that appeared
/// since in another file is caught by planning again: the saved plan would
/// now give acme a prefix that reaches that client's bucket.
#[test]
fn a_saved_plan_is_refused_when_another_client_now_collides_with_it() {
    let env = Env::new();
    fs::write(
        env.clients().join("acme.toml"),
        ACME.replace(
            r#"buckets = ["acme-assets"]"#,
            r#"buckets = ["acme-assets"]
bucket_prefixes = ["shared-"]"#,
        ),
    )
    .unwrap();
    // Planned from the file alone: other clients are out of its scope.
    env.cmd()
        .arg("plan")
        .arg(env.clients().join("acme.toml"))
        .arg("--out")
        .arg(env.plan_file())
        .assert()
        .success();
    // Meanwhile another file, applied on its own, gives beta `shared-data`.
    let beta = env.dir.path().join("beta.toml");
    fs::write(
        &beta,
        "[[clients]]\nname = \"beta\"\nbuckets = [\"shared-data\"]\n",
    )
    .unwrap();
    env.cmd()
        .arg("apply")
        .arg(&beta)
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.creds())
        .assert()
        .success();
    env.proxy.clear();
    let refused = env.apply_plan_file().failure().code(1);
    let err = stderr(&refused);
    assert!(err.contains("`shared-data`"), "{err}");
    assert!(err.contains("nothing was applied"), "{err}");
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}
