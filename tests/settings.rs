//! Settings hold for every file (SPEC, Guarantee 9): one file of a
//! directory is read with the rest of its configuration, and every command
//! that reads the configuration has the same default, `clients/`.

mod common;

use common::{TestEnv, stderr, stdout};
use serde_json::Value;

/// moto's account.
const ACCOUNT: &str = "123456789012";
/// Any other account.
const OTHER: &str = "111122223333";

fn settings(account: &str) -> String {
    format!("[settings]\naccount_id = \"{account}\"\npath = \"/agency/\"\n")
}

fn client(name: &str, developers: &[&str]) -> String {
    let developers: Vec<String> = developers.iter().map(|d| format!("\"{d}\"")).collect();
    format!(
        "[[clients]]\nname = \"{name}\"\nbuckets = [\"{name}-assets\"]\ndevelopers = [{}]\n",
        developers.join(", ")
    )
}

const DEVELOPERS: &str = "[[developers]]\nname = \"alice\"\n\n[[developers]]\nname = \"bob\"\n\n[[developers]]\nname = \"carol\"\n";

/// The account guard holds when a command is given one file of a directory
/// whose `account_id` lives in another file (the command `onboard`
/// suggests is `provision apply clients/globex.toml`): every command stops
/// after `sts:GetCallerIdentity`, and `policy operator` names the
/// configured account and path.
#[test]
fn the_account_guard_holds_for_one_file_whose_settings_live_in_another() {
    let env = TestEnv::with_files(&[
        (
            "acme.toml",
            &format!("{}\n{}", settings(OTHER), client("acme", &[])),
        ),
        ("globex.toml", &client("globex", &[])),
    ]);
    let commands: [&[&str]; 5] = [
        &["plan", "clients/globex.toml"],
        &[
            "apply",
            "clients/globex.toml",
            "--yes",
            "--credentials-dir",
            "creds",
        ],
        &["verify", "clients/globex.toml"],
        &["audit", "clients/globex.toml"],
        &[
            "rotate-key",
            "globex-app",
            "clients/globex.toml",
            "--credentials-dir",
            "creds",
        ],
    ];
    for command in commands {
        env.proxy.clear();
        let out = env
            .cmd()
            .current_dir(env.dir.path())
            .args(command)
            .assert()
            .failure()
            .code(1);
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "the credentials belong to account `{ACCOUNT}`, but the configuration is for account `{OTHER}` (settings.account_id)"
            )),
            "{command:?}:\n{err}"
        );
        assert!(
            err.starts_with(
                "note: also read the rest of the configuration of the files given, in their directory: `clients/acme.toml`;"
            ),
            "{command:?}:\n{err}"
        );
        assert_eq!(env.proxy.calls(), ["GetCallerIdentity"], "{command:?}");
        assert!(stdout(&out).is_empty(), "{command:?}: {}", stdout(&out));
    }
    env.proxy.clear();
    let out = env
        .cmd()
        .current_dir(env.dir.path())
        .args(["policy", "operator", "clients/globex.toml"])
        .assert()
        .success();
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        doc["Statement"][1]["Resource"],
        format!("arn:aws:iam::{OTHER}:user/agency/*")
    );
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
}

/// One file of settings and developers, one file per client: each client
/// file works alone, plans nothing for the other clients, and never deletes
/// a developer the shared file declares.
#[test]
fn a_shared_developers_file_works_for_one_file_commands() {
    let env = TestEnv::with_files(&[
        ("team.toml", &format!("{}\n{DEVELOPERS}", settings(ACCOUNT))),
        ("acme.toml", &client("acme", &["alice"])),
        ("globex.toml", &client("globex", &["bob"])),
    ]);
    env.apply(&env.clients()).success();

    let acme = env.file("acme.toml");
    let out = env.cmd().arg("validate").arg(&acme).assert().success();
    assert!(
        stderr(&out).contains("/clients/globex.toml`"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("team.toml`"), "{}", stderr(&out));
    // `-q` keeps the note quiet.
    let out = env
        .cmd()
        .arg("-q")
        .arg("validate")
        .arg(&acme)
        .assert()
        .success();
    assert_eq!(stderr(&out), "");

    let (code, plan) = env.plan_exit(&acme);
    assert_eq!(code, 0, "{plan}");

    // Add carol to acme, applying acme's file alone: one membership, and
    // nobody else's user or group is touched.
    env.write("acme.toml", &client("acme", &["alice", "carol"]));
    env.proxy.clear();
    let out = env.apply(&acme).success();
    assert_eq!(env.proxy.writes(), ["AddUserToGroup"], "{}", stdout(&out));
    let (code, plan) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "{plan}");

    // Take carol off acme again: applying acme's file keeps her user, since
    // team.toml declares her, although no group keeps her.
    env.write("acme.toml", &client("acme", &["alice"]));
    env.proxy.clear();
    env.apply(&acme).success();
    assert_eq!(env.proxy.writes(), ["RemoveUserFromGroup"]);

    env.cmd().arg("verify").arg(&acme).assert().success();
    env.cmd().arg("audit").arg(&acme).assert().success();
}

/// Every command that reads the configuration, given no PATH, reads
/// `clients/` and says which files it read; with `account_id` set there,
/// none runs on another account (rotate-key used to, with no settings at
/// all), and `policy operator` names the configured account and path.
#[test]
fn every_command_given_no_path_reads_clients_and_says_so() {
    let env = TestEnv::with_files(&[(
        "acme.toml",
        &format!("{}\n{}", settings(OTHER), client("acme", &[])),
    )]);
    let note = "note: no PATH given; reading the default `clients/`: `clients/acme.toml`\n";
    let run = |args: &[&str]| {
        env.proxy.clear();
        env.cmd()
            .current_dir(env.dir.path())
            .args(args)
            .output()
            .unwrap()
    };

    let out = run(&["validate"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), note);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Configuration is valid: 1 client(s), 0 developer(s).\n"
    );

    let guarded: [&[&str]; 5] = [
        &["plan"],
        &["apply", "--yes", "--credentials-dir", "creds"],
        &["verify"],
        &["audit"],
        &["rotate-key", "acme-app", "--credentials-dir", "creds"],
    ];
    for args in guarded {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{args:?}:\n{err}");
        assert!(err.starts_with(note), "{args:?}:\n{err}");
        assert!(
            err.contains(&format!("but the configuration is for account `{OTHER}`")),
            "{args:?}:\n{err}"
        );
        assert_eq!(env.proxy.calls(), ["GetCallerIdentity"], "{args:?}");
    }

    for kind in ["operator", "boundary"] {
        let out = run(&["policy", kind]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{kind}:\n{err}");
        assert!(err.starts_with(note), "{kind}:\n{err}");
        let text = String::from_utf8_lossy(&out.stdout);
        let expected = match kind {
            "operator" => format!("arn:aws:iam::{OTHER}:user/agency/*"),
            _ => "arn:aws:s3:::acme-assets".to_owned(),
        };
        assert!(text.contains(&expected), "{kind}:\n{text}");
        assert_eq!(env.proxy.calls(), Vec::<String>::new());
    }

    // Quiet: the note goes, the error stays.
    let out = run(&["-q", "plan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("note:"), "{err}");
    assert!(err.contains("settings.account_id"), "{err}");

    // Without `clients/`, the default says what is missing.
    std::fs::remove_dir_all(env.clients()).unwrap();
    let out = run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("path `clients` does not exist"), "{err}");
}

/// IAM paths may hold `*` and `?`, which the operator policy's resource
/// ARNs read as wildcards: with `path = "/team*/"` the least-privilege
/// policy would let the operator delete users of `/team-b/`, another
/// configuration's path. Such a path is refused when the files are read,
/// and the policy of an ordinary path reaches no other path.
#[test]
fn the_operator_policy_of_a_path_with_a_wildcard_reaches_no_other_path() {
    let dir = tempfile::tempdir().unwrap();
    let others = [
        (
            "iam:DeleteUser",
            "arn:aws:iam::123456789012:user/team-b/bob",
        ),
        (
            "iam:PutGroupPolicy",
            "arn:aws:iam::123456789012:group/team-b/client-globex",
        ),
    ];
    for path in ["/team*/", "/team?b/", "/team/", "/${aws:username}/"] {
        let file = dir.path().join("a.toml");
        std::fs::write(
            &file,
            format!(
                "[settings]\naccount_id = \"123456789012\"\npath = \"{path}\"\n\n[[clients]]\nname = \"acme\"\nbuckets = [\"acme-assets\"]\n"
            ),
        )
        .unwrap();
        let out = common::provision("http://127.0.0.1:9")
            .args(["policy", "operator"])
            .arg(&file)
            .output()
            .unwrap();
        if path != "/team/" {
            assert_eq!(out.status.code(), Some(1), "{path} is refused");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("wildcard"), "{path}: {err}");
            continue;
        }
        assert!(out.status.success(), "{path}");
        let doc =
            provision::policy::document::decode_document(&String::from_utf8_lossy(&out.stdout))
                .unwrap();
        for (action, arn) in others {
            assert!(
                !provision::policy::evaluate::is_allowed(&[&doc], action, arn),
                "the operator policy for `{path}` allows `{action}` on `{arn}`"
            );
        }
        assert!(provision::policy::evaluate::is_allowed(
            &[&doc],
            "iam:DeleteUser",
            "arn:aws:iam::123456789012:user/team/bob"
        ));
    }
}

/// A directory given with a file of another directory: the file's
/// siblings are read as context, the rest of its configuration, while the
/// directory makes the files given the whole configuration. A client
/// declared in a context file must not be deleted as undeclared: the mix is
/// refused before any AWS call, naming the client and its file, and each
/// run the message suggests works.
#[test]
fn a_client_declared_in_a_context_file_is_not_deleted_by_a_directory_plan() {
    let env = TestEnv::with_files(&[("acme.toml", &client("acme", &[]))]);
    let extra = env.dir.path().join("extra");
    std::fs::create_dir(&extra).unwrap();
    std::fs::write(extra.join("globex.toml"), client("globex", &[])).unwrap();
    std::fs::write(extra.join("initech.toml"), client("initech", &[])).unwrap();
    env.cmd()
        .arg("apply")
        .arg(env.clients())
        .arg(&extra)
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.creds())
        .assert()
        .success();
    env.proxy.clear();
    let out = env
        .cmd()
        .arg("plan")
        .arg(env.clients())
        .arg(extra.join("globex.toml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains("- group client-initech") && !text.contains("- user initech-app"),
        "a client declared in a context file is deleted:\n{text}"
    );
    assert_eq!(out.status.code(), Some(1), "{text}\n{err}");
    assert!(
        err.contains("client `initech` of `") && err.contains("initech.toml:2:8"),
        "{err}"
    );
    assert!(env.proxy.calls().is_empty(), "{:?}", env.proxy.calls());
    // Both runs the message suggests.
    let both = env
        .cmd()
        .args(["plan", "--detailed-exitcode"])
        .arg(env.clients())
        .arg(&extra)
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(0), "{}", stdout_of(&both));
    let alone = env
        .cmd()
        .args(["plan", "--detailed-exitcode"])
        .arg(extra.join("globex.toml"))
        .output()
        .unwrap();
    assert_eq!(alone.status.code(), Some(0), "{}", stdout_of(&alone));
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `team.toml`, holding `account_id`, is a link to a shared settings file.
/// When that file goes missing the link dangles; were it skipped, the
/// account guard would go with it and a directory plan would run against
/// whatever account the credentials hold. It is an error for `validate`
/// and `plan` alike, before any AWS call; an editor's lock file (`.#*`, a
/// link to nothing) is not.
#[cfg(unix)]
#[test]
fn a_dangling_link_among_the_clients_files_is_an_error_not_skipped() {
    let env = TestEnv::with_files(&[("acme.toml", &client("acme", &[]))]);
    let shared = env.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("team.toml"), settings(OTHER)).unwrap();
    std::os::unix::fs::symlink("../shared/team.toml", env.file("team.toml")).unwrap();
    std::os::unix::fs::symlink("alice@host.4242", env.file(".#acme.toml")).unwrap();
    let (code, _) = env.plan_exit(&env.clients());
    assert_eq!(code, 1, "the guard refuses moto's account {ACCOUNT}");
    // The shared settings file goes missing.
    std::fs::remove_file(shared.join("team.toml")).unwrap();
    env.proxy.clear();
    for command in ["validate", "plan"] {
        let out = env.cmd().arg(command).arg(env.clients()).assert().failure();
        let err = stderr(&out);
        assert!(
            err.contains("team.toml` is a symbolic link to a file that does not exist"),
            "{command}: {err}"
        );
        assert!(!err.contains(".#acme.toml"), "{command}: {err}");
    }
    // A file given alone reads the same directory as context.
    let out = env
        .cmd()
        .arg("plan")
        .arg(env.file("acme.toml"))
        .assert()
        .failure();
    assert!(
        stderr(&out).contains("team.toml` is a symbolic link"),
        "{}",
        stderr(&out)
    );
    assert!(env.proxy.calls().is_empty(), "{:?}", env.proxy.calls());
}

/// `provision plan /tmp/acme.toml`: the file's directory is read as the
/// rest of its configuration, and its `[settings]` apply. In a directory
/// everyone may write to (sticky, like `/tmp`), another user's file must
/// not decide the managed path of this run; in one without the sticky bit
/// nothing is believed. Needs root to plant a file owned by someone else,
/// and skips otherwise.
#[cfg(unix)]
#[test]
fn settings_are_not_taken_from_another_users_file_in_a_shared_directory() {
    use std::os::unix::fs::PermissionsExt;
    if rustix::process::geteuid().as_raw() != 0 {
        eprintln!("skipped: needs root to plant a file owned by another user");
        return;
    }
    let env = TestEnv::start();
    let shared = env.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let mine = shared.join("acme.toml");
    std::fs::write(&mine, client("acme", &[])).unwrap();
    let planted = shared.join("zz.toml");
    std::fs::write(&planted, "[settings]\npath = \"/elsewhere/\"\n").unwrap();
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
    let out = env
        .cmd()
        .arg("plan")
        .arg(&mine)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains("/elsewhere/"),
        "another user's `zz.toml` set the managed path of this plan:\n{text}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("zz.toml` belongs to another user (uid 65534")
            && err.contains("which everyone may write to"),
        "{err}"
    );
    // Without the sticky bit, even this user's own file is not believed.
    std::fs::remove_file(&planted).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = env.cmd().arg("validate").arg(&mine).assert().failure();
    assert!(
        stderr(&out).contains("is writable by everyone (mode 0777)"),
        "{}",
        stderr(&out)
    );
    // Closed to others, the same file is fine.
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.cmd().arg("validate").arg(&mine).assert().success();
}
