//! The first hour of a new user, with the layout the README recommends: a
//! shared `team.toml` holding `[settings]` and every `[[developers]]`, and
//! one file per client. onboard -> plan -> apply -> offboard -> plan must
//! go through without a surprise, against the emulator.

mod common;

use std::fs;

use common::{TestEnv, stderr, stdout};

const TEAM: &str = "# The team.\n[settings]\npath = \"/provision/\"\n\n\
                    [[developers]]\nname = \"alice\"\nemail = \"alice@example.com\"\n\n\
                    [[developers]]\nname = \"bob\"\nemail = \"bob@example.com\"\n";
const ACME: &str =
    "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-assets\"]\ndevelopers = [\"alice\"]\n";
const GLOBEX: &str =
    "[[clients]]\nname = \"globex\"\nbucket_prefixes = [\"globex-\"]\ndevelopers = [\"alice\"]\n";

fn env() -> TestEnv {
    TestEnv::with_files(&[
        ("team.toml", TEAM),
        ("acme.toml", ACME),
        ("globex.toml", GLOBEX),
    ])
}

/// Onboarding a developer declared in `team.toml` edits only the client's
/// file (no second declaration); a new developer is declared in
/// `team.toml`, where the others are.
#[test]
fn onboard_with_a_shared_developers_file_declares_developers_there() {
    let env = env();
    let run = env
        .cmd()
        .current_dir(env.dir.path())
        .args(["onboard", "bob", "--client", "acme"])
        .assert()
        .success();
    assert!(
        stderr(&run).contains("Edited `clients/acme.toml`: added `bob` to client `acme`."),
        "{}",
        stderr(&run)
    );
    assert_eq!(
        fs::read_to_string(env.file("acme.toml")).unwrap(),
        ACME.replace("[\"alice\"]", "[\"alice\", \"bob\"]")
    );
    assert_eq!(fs::read_to_string(env.file("team.toml")).unwrap(), TEAM);

    let run = env
        .cmd()
        .current_dir(env.dir.path())
        .args([
            "onboard",
            "carol",
            "--client",
            "globex",
            "--email",
            "carol@example.com",
        ])
        .assert()
        .success();
    assert!(
        stderr(&run).contains(
            "Edited `clients/globex.toml`: added `carol` to client `globex`; declared the developer in `clients/team.toml`."
        ),
        "{}",
        stderr(&run)
    );
    assert_eq!(
        fs::read_to_string(env.file("team.toml")).unwrap(),
        format!("{TEAM}\n[[developers]]\nname = \"carol\"\nemail = \"carol@example.com\"\n")
    );
    assert!(
        stdout(&run).contains("+ user carol")
            && stdout(&run).contains("+ membership client-globex/carol"),
        "{}",
        stdout(&run)
    );
}

/// An onboarding whose result does not validate (the new developer is
/// named like acme's application user) edits two files, and puts both back
/// byte for byte.
#[test]
fn a_failed_onboard_puts_back_every_file_it_edited() {
    let env = env();
    let before: Vec<Vec<u8>> = ["team.toml", "acme.toml", "globex.toml"]
        .iter()
        .map(|f| fs::read(env.file(f)).unwrap())
        .collect();
    let run = env
        .cmd()
        .current_dir(env.dir.path())
        .args(["onboard", "acme-app", "--client", "globex", "clients/"])
        .assert()
        .failure();
    assert!(
        stderr(&run).contains("they were left unchanged"),
        "{}",
        stderr(&run)
    );
    let after: Vec<Vec<u8>> = ["team.toml", "acme.toml", "globex.toml"]
        .iter()
        .map(|f| fs::read(env.file(f)).unwrap())
        .collect();
    assert_eq!(before, after);
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
}

/// The whole journey: onboard, plan, apply, offboard with `--apply`, then
/// an empty plan.
#[test]
fn onboard_plan_apply_offboard_goes_through_with_a_shared_developers_file() {
    let env = env();
    let clients = env.clients();
    env.cmd()
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
    let (code, plan) = env.plan_exit(&clients);
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("+ user carol"), "{plan}");
    env.apply(&clients).success();
    assert_eq!(env.plan_exit(&clients).0, 0);

    let run = env
        .cmd()
        .current_dir(env.dir.path())
        .args(["offboard", "carol", "--apply", "--yes"])
        .assert()
        .success();
    assert!(stdout(&run).contains("- user carol"), "{}", stdout(&run));
    assert!(
        !fs::read_to_string(env.file("team.toml"))
            .unwrap()
            .contains("carol")
            && !fs::read_to_string(env.file("acme.toml"))
                .unwrap()
                .contains("carol")
    );
    let (code, plan) = env.plan_exit(&clients);
    assert_eq!(code, 0, "{plan}");
}
