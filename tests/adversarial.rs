//! A table of configurations that would break isolation or an IAM quota,
//! each refused by the real binary with its exact message, before any AWS
//! call. The cases that need the account (a prefix reaching a bucket of a
//! client that lives only in the account) are in `tests/isolation.rs`.

mod common;

use std::fs;

use common::provision;

/// `validate` makes no AWS call; the endpoint is a closed loopback port so
/// a call, if one were made, could go nowhere else.
const NOWHERE: &str = "http://127.0.0.1:9";

fn two(a: &str, b: &str) -> String {
    format!("[[clients]]\nname = \"acme\"\n{a}\n\n[[clients]]\nname = \"acmecorp\"\n{b}\n")
}

fn one(fields: &str) -> String {
    format!("[[clients]]\nname = \"acme\"\n{fields}\n")
}

fn developer_in_eleven_clients() -> String {
    let mut text = "[[developers]]\nname = \"alice\"\n".to_owned();
    for i in 1..=11 {
        text.push_str(&format!(
            "\n[[clients]]\nname = \"c{i}\"\nbuckets = [\"c{i}-assets\"]\ndevelopers = [\"alice\"]\n"
        ));
    }
    text
}

/// Enough exact buckets for a policy of about 7,000 characters: over the
/// group's inline quota (5,120) and over a managed policy's (6,144) too. A
/// 6,000-character policy is not refused: it becomes a managed policy (see
/// `tests/isolation.rs`).
fn seven_thousand_character_policy() -> String {
    let buckets: Vec<String> = (0..87)
        .map(|i| format!("\"acme-bucket-number-{i:03}\""))
        .collect();
    one(&format!("buckets = [{}]", buckets.join(", ")))
}

/// Runs `provision validate clients.toml` on each case and renders the exit
/// code and everything printed, under a `### name` header.
fn run(cases: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (name, text) in cases {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("clients.toml"), text).unwrap();
        let output = provision(NOWHERE)
            .current_dir(dir.path())
            .args(["validate", "clients.toml"])
            .output()
            .unwrap();
        out.push_str(&format!(
            "### {name}\nexit: {}\n{}{}\n",
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        ));
    }
    out
}

#[test]
fn adversarial_configurations_are_refused_with_their_exact_message() {
    let cases = [
        (
            "overlapping prefixes",
            two(
                "bucket_prefixes = [\"acme-\"]",
                "bucket_prefixes = [\"acme-corp-\"]",
            ),
        ),
        (
            "prefix reaching another client's bucket",
            two(
                "bucket_prefixes = [\"acme\"]",
                "buckets = [\"acmecorp-data\"]",
            ),
        ),
        (
            "shared bucket",
            two("buckets = [\"shared-assets\"]", "buckets = [\"shared-assets\"]"),
        ),
        (
            "equal prefixes",
            two("bucket_prefixes = [\"acme-\"]", "bucket_prefixes = [\"acme-\"]"),
        ),
        (
            "empty prefix, which would reach every bucket",
            one("bucket_prefixes = [\"\"]"),
        ),
        (
            "IAM wildcard in a bucket name",
            one("buckets = [\"acme-*\"]"),
        ),
        (
            "IAM wildcard in a prefix",
            one("bucket_prefixes = [\"acme-?\"]"),
        ),
        ("upper-case bucket name", one("buckets = [\"Acme-Assets\"]")),
        ("IP address as bucket name", one("buckets = [\"192.168.0.1\"]")),
        ("a developer in 11 clients", developer_in_eleven_clients()),
        ("a 7,000-character policy", seven_thousand_character_policy()),
        (
            "client name too long for IAM",
            format!(
                "[[clients]]\nname = \"{}\"\nbuckets = [\"acme-x\"]\n",
                "a".repeat(130)
            ),
        ),
        (
            "app user named like a developer",
            "[[developers]]\nname = \"alice\"\n\n[[clients]]\nname = \"acme\"\nbuckets = [\"acme-x\"]\ndevelopers = [\"alice\"]\napp_user = \"alice\"\n".to_owned(),
        ),
    ];
    let rendered = run(&cases);
    // Every case is refused (exit 1).
    assert_eq!(
        rendered.matches("exit: 1\n").count(),
        cases.len(),
        "{rendered}"
    );
    insta::assert_snapshot!(rendered);
}

/// Dotted bucket names are valid S3 names, but break virtual-hosted-style
/// HTTPS for every SDK that uses them: refused, with the fix.
#[test]
fn dotted_bucket_names_are_refused() {
    let rendered = run(&[("dotted bucket name", one("buckets = [\"assets.acme.com\"]"))]);
    assert!(rendered.contains("exit: 1\n"), "{rendered}");
    insta::assert_snapshot!(rendered);
}
