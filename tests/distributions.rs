//! CloudFront distributions belong to one client, as buckets do: what
//! validation and plan accept, `verify` calls isolated (SPEC, Guarantee 10).

mod common;

use std::fs;

use common::{TestEnv, stderr};

const DISTRIBUTION: &str = "E2QWRUHAPOMQZL";

fn client(name: &str) -> String {
    format!(
        "[[clients]]\nname = \"{name}\"\nbuckets = [\"{name}-assets\"]\n[clients.cloudfront]\ndistributions = [\"{DISTRIBUTION}\"]\n"
    )
}

/// Two files listing one distribution: refused by `validate` and `plan`,
/// naming both clients and both places, with no AWS call. (Once a warning,
/// it was applied, and `verify` then reported every pair as a leak.)
#[test]
fn a_distribution_listed_by_two_clients_is_refused_before_any_aws_call() {
    let env = TestEnv::with_files(&[
        ("acme.toml", &client("acme")),
        ("globex.toml", &client("globex")),
    ]);
    for command in ["validate", "plan"] {
        let out = env
            .cmd()
            .current_dir(env.dir.path())
            .args([command, "clients/"])
            .assert()
            .failure()
            .code(1);
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!(
                "error: CloudFront distribution `{DISTRIBUTION}` is listed by two clients, `acme` and `globex`\n  --> clients/globex.toml:5:18\n"
            )),
            "{command}:\n{err}"
        );
        assert!(
            err.contains("  --> clients/acme.toml:5:18\n"),
            "{command}:\n{err}"
        );
    }
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
}

/// A client that lives only in the account owns the distributions its
/// group may invalidate: a file listing one of them is refused at plan
/// time, before any write, exactly where `verify` sees a leak.
#[test]
fn a_distribution_of_a_client_in_the_account_is_refused_at_plan_time() {
    let env = TestEnv::with_files(&[("globex.toml", &client("globex"))]);
    env.apply(&env.clients()).success();
    fs::remove_file(env.file("globex.toml")).unwrap();
    env.write("acme.toml", &client("acme"));
    env.proxy.clear();
    for command in [
        &["plan"][..],
        &["apply", "--yes", "--credentials-dir", "creds"],
    ] {
        let out = env
            .cmd()
            .current_dir(env.dir.path())
            .args(command)
            .arg("clients/acme.toml")
            .assert()
            .failure()
            .code(1);
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "error: CloudFront distribution `{DISTRIBUTION}` of client `acme` (clients/acme.toml:5:18) is also granted to client `globex`, whose group `client-globex` in the account (not in the files given) may invalidate distribution `{DISTRIBUTION}`"
            )),
            "{command:?}:\n{err}"
        );
    }
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    // One rule for both: verify, given the same file, calls the same pair
    // a leak.
    let out = env
        .cmd()
        .current_dir(env.dir.path())
        .args(["verify", "clients/acme.toml"])
        .assert()
        .failure()
        .code(1);
    assert!(
        common::stdout(&out).contains(&format!(
            "LEAK: `globex-app` reaches distribution `{DISTRIBUTION}` of client `acme`"
        )),
        "{}",
        common::stdout(&out)
    );
}

/// With a client only in the account, verify of another file still counts
/// the distribution that client's group may invalidate as that client's,
/// as the plan's live check does: a hand grant on it to another client's
/// application user is a leak.
#[test]
fn verify_of_one_file_sees_the_distribution_of_a_client_not_in_the_files() {
    let acme = "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-assets\"]\n";
    let env = TestEnv::with_files(&[("acme.toml", acme), ("globex.toml", &client("globex"))]);
    env.apply(&env.clients()).success();
    let invalidate = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"cloudfront:CreateInvalidation","Resource":"arn:aws:cloudfront::123456789012:distribution/{DISTRIBUTION}"}}]}}"#
    );
    common::block_on(async {
        env.iam()
            .put_user_policy()
            .user_name("acme-app")
            .policy_name("sneaky")
            .policy_document(invalidate)
            .send()
            .await
            .unwrap();
    });
    let leak = format!("LEAK: `acme-app` reaches distribution `{DISTRIBUTION}` of client `globex`");
    let verify = |path: &str| {
        let out = env
            .cmd()
            .current_dir(env.dir.path())
            .args(["verify", path])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    for path in ["clients/", "clients/acme.toml"] {
        let (code, out) = verify(path);
        assert!(code == Some(1) && out.contains(&leak), "{path}:\n{out}");
    }
    // globex only in the account: its distribution is read from its group.
    fs::remove_file(env.file("globex.toml")).unwrap();
    let (code, out) = verify("clients/acme.toml");
    assert!(
        code == Some(1) && out.contains(&leak),
        "globex only in the account:\n{out}"
    );
}
