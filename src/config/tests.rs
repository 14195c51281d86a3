//! Validation tests: each rule with the exact message the user sees.
//!
//! Cases are grouped by rule; each group renders all its cases into one
//! snapshot, headed by the case name, so a reviewer reads the messages the
//! way a user would.

use std::path::PathBuf;

use chrono::NaiveDate;

use super::{MAX_FILE_BYTES, load, load_sources, load_sources_with_warnings};
use crate::config::diag::Severity;
use crate::model::{Access, Settings};

fn sources(files: &[(&str, &str)]) -> Vec<(PathBuf, Vec<u8>)> {
    files
        .iter()
        .map(|(path, text)| (PathBuf::from(path), text.as_bytes().to_vec()))
        .collect()
}

/// Loads `files`, which must fail, and renders the diagnostics.
fn errors(files: &[(&str, &str)]) -> String {
    match load_sources(sources(files), false) {
        Ok(desired) => panic!("expected errors, loaded {desired:#?}"),
        Err(diags) => diags.render(false),
    }
}

/// Loads `files`, which must succeed, and renders the warnings.
fn warnings(files: &[(&str, &str)]) -> String {
    match load_sources_with_warnings(sources(files), false) {
        Ok((_, diags)) => {
            assert!(!diags.is_empty(), "expected warnings");
            diags.render(false)
        }
        Err(diags) => panic!("expected success, got:\n{diags}"),
    }
}

/// Renders each single-file case (all must fail) under a `### name` header.
fn cases(cases: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, text) in cases {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("### {name}\n"));
        out.push_str(&errors(&[("clients.toml", text)]));
    }
    out
}

/// A valid client around `fields`, so a case shows only what it tests.
fn client(fields: &str) -> String {
    format!("[[clients]]\nname = \"acme\"\n{fields}\n")
}

// ---- a valid configuration -------------------------------------------------

const VALID: &str = r#"
[settings]
account_id = "123456789012"
path = "/clients/"
permissions_boundary = "arn:aws:iam::123456789012:policy/ClientBoundary"

[[developers]]
name = "alice"
email = "alice@example.com"
expires = 2027-03-31

[[developers]]
name = "bob"

[[clients]]
name = "acme"
buckets = ["acme-assets", "acme-assets-dev"]
bucket_prefixes = ["acme-logs-"]
access = "read-write"
developers = ["alice", "bob"]
[clients.cloudfront]
distributions = ["E2QWRUHAPOMQZL"]

[[clients]]
name = "globex"
bucket_prefixes = ["globex-"]
developers = ["bob"]
app_user = ""
"#;

#[test]
fn valid_file_produces_the_expected_desired_state() {
    let desired = match load_sources(sources(&[("clients/all.toml", VALID)]), false) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        desired.settings,
        Settings {
            account_id: Some("123456789012".into()),
            path: "/clients/".into(),
            permissions_boundary: Some("arn:aws:iam::123456789012:policy/ClientBoundary".into()),
            max_key_age_days: 90,
            ..Settings::default()
        }
    );
    assert!(!desired.authoritative);
    let alice = &desired.developers["alice"];
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(alice.expires, NaiveDate::from_ymd_opt(2027, 3, 31));
    let bob = &desired.developers["bob"];
    assert_eq!((bob.email.as_deref(), bob.expires), (None, None));

    let acme = &desired.clients["acme"];
    assert_eq!(acme.buckets, ["acme-assets", "acme-assets-dev"]);
    assert_eq!(acme.bucket_prefixes, ["acme-logs-"]);
    assert_eq!(acme.access, Access::ReadWrite);
    assert_eq!(acme.developers, ["alice", "bob"]);
    assert_eq!(acme.app_user.as_deref(), Some("acme-app"));
    assert_eq!(acme.distributions, ["E2QWRUHAPOMQZL"]);
    assert_eq!(acme.source, PathBuf::from("clients/all.toml"));
    assert_eq!(acme.group_name(), "client-acme");

    let globex = &desired.clients["globex"];
    assert_eq!(
        globex.access,
        Access::ReadOnly,
        "access defaults to read-only"
    );
    assert_eq!(globex.app_user, None, "`app_user = \"\"` means no app user");
    assert!(globex.buckets.is_empty() && globex.distributions.is_empty());
}

#[test]
fn authoritative_flag_is_copied() {
    let desired = load_sources(sources(&[("a.toml", VALID)]), true).unwrap_or_default();
    assert!(desired.authoritative);
}

#[test]
fn a_file_that_declares_nothing_is_an_error() {
    for text in ["", "# nothing\n", "\n\n"] {
        let errors = load_sources(sources(&[("empty.toml", text)]), false)
            .expect_err("an empty file must be refused");
        let text = errors.to_string();
        assert!(text.contains("`empty.toml` declares nothing"), "{text}");
    }
    // No file at all is the caller's business (the command line refuses it).
    assert_eq!(
        load_sources(Vec::new(), false).ok(),
        Some(Default::default())
    );
}

#[test]
fn settings_default_when_absent() {
    let desired = load_sources(
        sources(&[("a.toml", &client("buckets = [\"acme-x\"]"))]),
        false,
    );
    assert_eq!(desired.map(|d| d.settings).ok(), Some(Settings::default()));
}

// ---- TOML itself -----------------------------------------------------------

#[test]
fn toml_errors() {
    insta::assert_snapshot!(cases(&[
        ("syntax", "[[clients]]\nname = \"acme\nbuckets = []\n"),
        ("missing equals", "[[clients]]\nname \"acme\"\n"),
        (
            "unknown top-level key with suggestion",
            "[client]\nname = \"acme\"\n"
        ),
        (
            "unknown client key",
            "[[clients]]\nname = \"acme\"\nbucket = [\"acme-x\"]\n"
        ),
        (
            "unknown settings key",
            "[settings]\naccount = \"123456789012\"\n"
        ),
        (
            "unknown cloudfront key",
            "[[clients]]\nname = \"acme\"\n[clients.cloudfront]\ndistribution = [\"E2QWRUHAPOMQZL\"]\n",
        ),
        ("wrong type: string expected", "[[clients]]\nname = 5\n"),
        (
            "wrong type: list expected",
            "[[clients]]\nname = \"acme\"\nbuckets = \"acme-x\"\n"
        ),
        ("wrong type: table expected", "developers = [3]\n"),
        (
            "duplicate key",
            "[[clients]]\nname = \"acme\"\nname = \"globex\"\n"
        ),
        (
            "invalid date",
            "[[developers]]\nname = \"alice\"\nexpires = 2027-13-01\n"
        ),
    ]));
}

#[test]
fn non_utf8_names_the_line_and_column_of_the_first_bad_byte() {
    let mut bytes = b"[[clients]]\nname = \"ac".to_vec();
    bytes.extend([0xff, 0xfe]);
    bytes.extend(b"me\"\n");
    let diags = match load_sources(vec![("bad.toml".into(), bytes)], false) {
        Err(d) => d,
        Ok(_) => panic!("non-UTF-8 accepted"),
    };
    insta::assert_snapshot!(diags.render(false));
}

#[test]
fn binary_junk_is_a_clean_error() {
    // A deterministic pseudo-random byte soup (xorshift), including NULs,
    // escape sequences and invalid UTF-8.
    let mut state: u32 = 0x9e37_79b9;
    let junk: Vec<u8> = (0..100_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    let Err(diags) = load_sources(vec![("junk.bin".into(), junk)], false) else {
        panic!("junk accepted");
    };
    let out = diags.render(false);
    assert!(out.contains("`junk.bin` is not valid UTF-8"), "{out}");
    assert!(
        !out.contains('\u{1b}'),
        "escape sequences must not reach the terminal"
    );
    assert!(out.len() < 2_000, "{out}");

    // Valid UTF-8 junk: control characters are replaced before echoing.
    let Err(diags) = load_sources(sources(&[("ctl.toml", "x\u{1b}[2J = 1\n")]), false) else {
        panic!("control characters accepted");
    };
    let out = diags.render(false);
    assert!(!out.contains('\u{1b}'), "{out}");
}

#[test]
fn oversized_file_is_refused_without_parsing() {
    let big = vec![b'a'; 10 * 1024 * 1024];
    let Err(diags) = load_sources(vec![("big.toml".into(), big)], false) else {
        panic!("10 MB accepted");
    };
    insta::assert_snapshot!(diags.render(false), @r"
    error: `big.toml` is larger than 2 MiB
     = help: a clients file is a few kilobytes; check that PATH names a clients file, or split it into several files in one directory
    ");
    // Just under the limit, a one-line file with an error is reported
    // without echoing the megabyte-long line.
    let long = "a".repeat(MAX_FILE_BYTES - 10);
    let out = errors(&[("long.toml", &long)]);
    assert!(out.len() < 1_000, "{out}");
    assert!(out.contains("long.toml:1:"), "{out}");
}

#[test]
fn deep_nesting_is_a_clean_error() {
    let arrays = format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let tables = format!("x = {}{}\n", "{a=".repeat(10_000), "}".repeat(10_000));
    let dotted = format!("{}b = 1\n", "a.".repeat(100_000));
    for text in [arrays, tables, dotted] {
        let out = errors(&[("deep.toml", &text)]);
        assert!(out.contains("nest") || out.contains("recursion"), "{out}");
        assert!(out.len() < 2_000, "{out}");
    }
}

// ---- [settings] ------------------------------------------------------------

#[test]
fn settings_rules() {
    insta::assert_snapshot!(cases(&[
        (
            "account id too short",
            "[settings]\naccount_id = \"12345\"\n"
        ),
        (
            "account id not digits",
            "[settings]\naccount_id = \"12345678901a\"\n"
        ),
        (
            "account id as a number",
            "[settings]\naccount_id = 123456789012\n"
        ),
        ("account id as a boolean", "[settings]\naccount_id = true\n"),
        ("path without slashes", "[settings]\npath = \"provision\"\n"),
        ("path with a space", "[settings]\npath = \"/my path/\"\n"),
        ("path at the root", "[settings]\npath = \"/\"\n"),
        (
            "path too long",
            &format!("[settings]\npath = \"/{}/\"\n", "a".repeat(511))
        ),
        (
            "boundary not an ARN",
            "[settings]\npermissions_boundary = \"ClientBoundary\"\n"
        ),
        (
            "boundary of a role",
            "[settings]\npermissions_boundary = \"arn:aws:iam::123456789012:role/X\"\n",
        ),
        (
            "boundary in an unknown partition",
            "[settings]\npermissions_boundary = \"arn:aws-eu:iam::123456789012:policy/X\"\n",
        ),
        (
            "boundary with a short account",
            "[settings]\npermissions_boundary = \"arn:aws:iam::1234:policy/X\"\n",
        ),
        (
            "boundary of another service",
            "[settings]\npermissions_boundary = \"arn:aws:s3:::bucket\"\n",
        ),
        (
            "boundary with a region",
            "[settings]\npermissions_boundary = \"arn:aws:iam:us-east-1:123456789012:policy/X\"\n",
        ),
        (
            "boundary with a bad policy name",
            "[settings]\npermissions_boundary = \"arn:aws:iam::123456789012:policy/a b\"\n",
        ),
    ]));
}

#[test]
fn a_settings_key_may_be_set_in_one_file_only() {
    insta::assert_snapshot!(errors(&[
        (
            "clients/a.toml",
            "[settings]\naccount_id = \"123456789012\"\npath = \"/p/\"\n"
        ),
        (
            "clients/b.toml",
            "[settings]\n# same value, still refused\naccount_id = \"123456789012\"\n"
        ),
        ("clients/c.toml", "[settings]\npath = \"/q/\"\n"),
    ]));
    // Different keys in different files are fine.
    let ok = load_sources(
        sources(&[
            ("a.toml", "[settings]\naccount_id = \"123456789012\"\n"),
            ("b.toml", "[settings]\npath = \"/p/\"\n"),
        ]),
        false,
    );
    let settings = ok.map(|d| d.settings).ok();
    assert_eq!(
        settings.as_ref().and_then(|s| s.account_id.as_deref()),
        Some("123456789012")
    );
    assert_eq!(settings.map(|s| s.path).as_deref(), Some("/p/"));
}

// ---- [[developers]] --------------------------------------------------------

#[test]
fn developer_rules() {
    let dev = |fields: &str| format!("[[developers]]\n{fields}\n");
    insta::assert_snapshot!(cases(&[
        ("missing name", &dev("email = \"alice@example.com\"")),
        ("name with a space", &dev("name = \"alice smith\"")),
        (
            "name too long",
            &dev(&format!("name = \"{}\"", "a".repeat(65)))
        ),
        ("empty name", &dev("name = \"\"")),
        (
            "email without @",
            &dev("name = \"alice\"\nemail = \"alice\"")
        ),
        (
            "email with two @",
            &dev("name = \"alice\"\nemail = \"alice@b@c\"")
        ),
        (
            "email without user",
            &dev("name = \"alice\"\nemail = \"@example.com\"")
        ),
        (
            "email without domain",
            &dev("name = \"alice\"\nemail = \"alice@\"")
        ),
        (
            "email with whitespace",
            &dev("name = \"alice\"\nemail = \"alice @example.com\"")
        ),
        (
            "email with a character tags refuse",
            &dev("name = \"alice\"\nemail = \"o'neil@example.com\"")
        ),
        (
            "email too long for a tag",
            &dev(&format!(
                "name = \"alice\"\nemail = \"{}@example.com\"",
                "a".repeat(250)
            )),
        ),
        (
            "expires quoted",
            &dev("name = \"alice\"\nexpires = \"2027-03-31\"")
        ),
        (
            "expires with a time",
            &dev("name = \"alice\"\nexpires = 2027-03-31T12:00:00Z")
        ),
        (
            "expires a time only",
            &dev("name = \"alice\"\nexpires = 12:00:00")
        ),
        (
            "expires not a date",
            &dev("name = \"alice\"\nexpires = \"next year\"")
        ),
        ("expires a number", &dev("name = \"alice\"\nexpires = 2027")),
        (
            "declared twice in one file",
            &format!("{}{}", dev("name = \"alice\""), dev("name = \"alice\""))
        ),
        (
            "names differing in case",
            &format!("{}{}", dev("name = \"alice\""), dev("name = \"Alice\""))
        ),
    ]));
}

#[test]
fn a_developer_declared_in_several_files_must_agree() {
    let alice =
        "[[developers]]\nname = \"alice\"\nemail = \"alice@example.com\"\nexpires = 2027-03-31\n";
    let ok = load_sources(sources(&[("a.toml", alice), ("b.toml", alice)]), false);
    assert_eq!(ok.map(|d| d.developers.len()).ok(), Some(1));

    insta::assert_snapshot!(errors(&[
        ("clients/a.toml", alice),
        (
            "clients/b.toml",
            "[[developers]]\nname = \"alice\"\nemail = \"alice@example.org\"\n",
        ),
    ]));
}

// ---- [[clients]] -----------------------------------------------------------

#[test]
fn client_name_rules() {
    let named = |name: &str| format!("[[clients]]\nname = \"{name}\"\nbuckets = [\"x-assets\"]\n");
    insta::assert_snapshot!(cases(&[
        ("missing name", "[[clients]]\nbuckets = [\"acme-assets\"]\n"),
        (
            "missing name, no buckets, undeclared developer: all reported",
            "[[clients]]\ndevelopers = [\"carol\"]\n",
        ),
        ("uppercase", &named("Acme")),
        ("underscore", &named("acme_corp")),
        ("leading dash", &named("-acme")),
        ("empty", &named("")),
        ("too long", &named(&"a".repeat(49))),
        (
            "declared twice in one file",
            "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-a\"]\n\n[[clients]]\nname = \"acme\"\nbuckets = [\"acme-b\"]\n",
        ),
    ]));
}

#[test]
fn a_client_declared_in_two_files_is_an_error() {
    insta::assert_snapshot!(errors(&[
        ("clients/a.toml", &client("buckets = [\"acme-a\"]")),
        ("clients/b.toml", &client("buckets = [\"acme-b\"]")),
    ]));
}

#[test]
fn bucket_rules() {
    let bucket = |name: &str| client(&format!("buckets = [\"{name}\"]"));
    insta::assert_snapshot!(cases(&[
        ("no buckets at all", &client("")),
        (
            "empty bucket list",
            &client("buckets = []\nbucket_prefixes = []")
        ),
        ("empty name", &bucket("")),
        ("too short", &bucket("ab")),
        ("too long", &bucket(&"a".repeat(64))),
        ("uppercase", &bucket("Acme-Assets")),
        ("underscore", &bucket("acme_assets")),
        ("space", &bucket("acme assets")),
        ("ends with a dash", &bucket("acme-assets-")),
        ("starts with a period", &bucket(".acme")),
        ("adjacent periods", &bucket("acme..assets")),
        ("IP address", &bucket("192.168.5.4")),
        ("reserved prefix xn--", &bucket("xn--acme")),
        ("reserved prefix sthree-", &bucket("sthree-acme")),
        (
            "reserved prefix amzn-s3-demo-",
            &bucket("amzn-s3-demo-acme")
        ),
        ("reserved suffix -s3alias", &bucket("acme-s3alias")),
        ("reserved suffix --ol-s3", &bucket("acme--ol-s3")),
        ("reserved suffix .mrap", &bucket("acme.mrap")),
        ("reserved suffix --x-s3", &bucket("acme--x-s3")),
        ("reserved suffix --table-s3", &bucket("acme--table-s3")),
        (
            "listed twice",
            &client("buckets = [\"acme-a\", \"acme-b\", \"acme-a\"]")
        ),
    ]));
}

#[test]
fn dotted_bucket_names_are_refused() {
    insta::assert_snapshot!(cases(&[(
        "dotted bucket name",
        &client("buckets = [\"assets.acme.com\"]")
    )]));
}

#[test]
fn bucket_prefix_rules() {
    let prefix = |name: &str| client(&format!("bucket_prefixes = [\"{name}\"]"));
    insta::assert_snapshot!(cases(&[
        ("empty", &prefix("")),
        ("too long", &prefix(&"a".repeat(63))),
        ("uppercase", &prefix("Acme-")),
        ("underscore", &prefix("acme_")),
        ("starts with a dash", &prefix("-acme")),
        ("adjacent periods", &prefix("acme..")),
        ("reserved prefix", &prefix("xn--acme")),
        (
            "listed twice",
            &client("bucket_prefixes = [\"acme-\", \"acme-\"]")
        ),
    ]));
    // A prefix may end with `-` or `.`, and may be one character.
    for ok in ["acme-", "acme.", "a"] {
        assert!(
            load_sources(sources(&[("a.toml", &prefix(ok))]), false).is_ok(),
            "{ok}"
        );
    }
}

#[test]
fn isolation_between_clients() {
    let two = |a: &str, b: &str| {
        format!("[[clients]]\nname = \"acme\"\n{a}\n\n[[clients]]\nname = \"acmecorp\"\n{b}\n")
    };
    insta::assert_snapshot!(cases(&[
        (
            "bucket listed by two clients",
            &two(
                "buckets = [\"shared-assets\"]",
                "buckets = [\"shared-assets\"]"
            ),
        ),
        (
            "prefix matches another client's bucket",
            &two(
                "bucket_prefixes = [\"acme\"]",
                "buckets = [\"acmecorp-assets\"]"
            ),
        ),
        (
            "prefix equals another client's bucket",
            &two("bucket_prefixes = [\"acme-x\"]", "buckets = [\"acme-x\"]"),
        ),
        (
            "bucket equals a prefix of a client declared later",
            &two("buckets = [\"acme-x\"]", "bucket_prefixes = [\"acme-x\"]"),
        ),
        (
            "prefix without separator overlaps a longer prefix",
            &two(
                "bucket_prefixes = [\"acme\"]",
                "bucket_prefixes = [\"acmecorp-\"]"
            ),
        ),
        (
            "prefix with separator overlaps a longer prefix",
            &two(
                "bucket_prefixes = [\"acme-\"]",
                "bucket_prefixes = [\"acme-corp-\"]"
            ),
        ),
        (
            "equal prefixes",
            &two(
                "bucket_prefixes = [\"acme-\"]",
                "bucket_prefixes = [\"acme-\"]"
            ),
        ),
    ]));
    // Prefixes that do not start one another are fine.
    let ok = two(
        "bucket_prefixes = [\"acme-\"]",
        "bucket_prefixes = [\"acmecorp-\"]",
    );
    assert!(load_sources(sources(&[("a.toml", &ok)]), false).is_ok());
}

#[test]
fn isolation_is_checked_across_files() {
    insta::assert_snapshot!(errors(&[
        (
            "clients/acme.toml",
            &client("bucket_prefixes = [\"acme-\"]")
        ),
        (
            "clients/acme-corp.toml",
            "[[clients]]\nname = \"acme-corp\"\nbuckets = [\"acme-corp-assets\"]\n",
        ),
    ]));
}

#[test]
fn overlaps_within_one_client_are_only_redundant() {
    insta::assert_snapshot!(warnings(&[(
        "clients.toml",
        &client("buckets = [\"acme-assets\"]\nbucket_prefixes = [\"acme-\", \"acme-logs-\"]"),
    )]));
}

#[test]
fn access_rules() {
    insta::assert_snapshot!(cases(&[
        (
            "typo",
            &client("buckets = [\"acme-x\"]\naccess = \"readonly\"")
        ),
        (
            "unknown",
            &client("buckets = [\"acme-x\"]\naccess = \"admin\"")
        ),
    ]));
    for (text, level) in [
        ("read-only", Access::ReadOnly),
        ("read-write", Access::ReadWrite),
        ("full", Access::Full),
    ] {
        let file = client(&format!("buckets = [\"acme-x\"]\naccess = \"{text}\""));
        let loaded = load_sources(sources(&[("a.toml", &file)]), false);
        assert_eq!(loaded.map(|d| d.clients["acme"].access).ok(), Some(level));
    }
}

#[test]
fn developer_reference_rules() {
    let alice = "[[developers]]\nname = \"alice\"\n\n";
    insta::assert_snapshot!(cases(&[
        (
            "not declared",
            &format!(
                "{alice}{}",
                client("buckets = [\"acme-x\"]\ndevelopers = [\"carol\"]")
            )
        ),
        (
            "typo",
            &format!(
                "{alice}{}",
                client("buckets = [\"acme-x\"]\ndevelopers = [\"alcie\"]")
            )
        ),
        (
            "wrong case",
            &format!(
                "{alice}{}",
                client("buckets = [\"acme-x\"]\ndevelopers = [\"Alice\"]")
            )
        ),
        (
            "listed twice",
            &format!(
                "{alice}{}",
                client("buckets = [\"acme-x\"]\ndevelopers = [\"alice\", \"alice\"]")
            ),
        ),
    ]));
}

#[test]
fn a_developer_declared_in_another_file_may_be_referenced() {
    let loaded = load_sources(
        sources(&[
            ("devs.toml", "[[developers]]\nname = \"alice\"\n"),
            (
                "acme.toml",
                &client("buckets = [\"acme-x\"]\ndevelopers = [\"alice\"]"),
            ),
        ]),
        false,
    );
    assert_eq!(
        loaded.map(|d| d.clients["acme"].developers.clone()).ok(),
        Some(vec!["alice".to_owned()])
    );
}

#[test]
fn a_developer_in_more_than_ten_clients_is_an_error() {
    let mut text = "[[developers]]\nname = \"alice\"\n".to_owned();
    for i in 1..=11 {
        text.push_str(&format!(
            "\n[[clients]]\nname = \"c{i}\"\nbuckets = [\"c{i}-assets\"]\ndevelopers = [\"alice\"]\n"
        ));
    }
    insta::assert_snapshot!(errors(&[("clients.toml", &text)]));
    // Ten is fine.
    let ten = text
        .rsplit_once("\n[[clients]]")
        .map(|(head, _)| head)
        .unwrap_or_default();
    assert!(load_sources(sources(&[("a.toml", ten)]), false).is_ok());
}

#[test]
fn app_user_rules() {
    insta::assert_snapshot!(cases(&[
        (
            "invalid name",
            &client("buckets = [\"acme-x\"]\napp_user = \"acme app\"")
        ),
        (
            "explicit name clashes with a developer",
            &format!(
                "[[developers]]\nname = \"deploy\"\n\n{}",
                client("buckets = [\"acme-x\"]\napp_user = \"Deploy\"")
            ),
        ),
        (
            "default name clashes with a developer",
            &format!(
                "[[developers]]\nname = \"acme-app\"\n\n{}",
                client("buckets = [\"acme-x\"]")
            ),
        ),
        (
            "two clients share an app user",
            "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-x\"]\napp_user = \"shared-app\"\n\n\
             [[clients]]\nname = \"globex\"\nbuckets = [\"globex-x\"]\napp_user = \"shared-app\"\n",
        ),
        (
            "explicit name clashes with another client's default",
            "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-x\"]\n\n\
             [[clients]]\nname = \"globex\"\nbuckets = [\"globex-x\"]\napp_user = \"acme-app\"\n",
        ),
    ]));
    // `""` disables the app user and so cannot clash.
    let two = "[[clients]]\nname = \"a\"\nbuckets = [\"a-x\"]\napp_user = \"\"\n\n\
               [[clients]]\nname = \"b\"\nbuckets = [\"b-x\"]\napp_user = \"\"\n";
    let loaded = load_sources(sources(&[("a.toml", two)]), false);
    assert_eq!(
        loaded.map(|d| d.clients["a"].app_user.clone()).ok(),
        Some(None)
    );
}

#[test]
fn cloudfront_rules() {
    let cf = |ids: &str| {
        client(&format!(
            "buckets = [\"acme-x\"]\n[clients.cloudfront]\ndistributions = [{ids}]"
        ))
    };
    insta::assert_snapshot!(cases(&[
        ("too short", &cf("\"E2QW\"")),
        ("lowercase", &cf("\"e2qwruhapomqzl\"")),
        ("a domain name", &cf("\"d111111abcdef8.cloudfront.net\"")),
        (
            "listed twice",
            &cf("\"E2QWRUHAPOMQZL\", \"E2QWRUHAPOMQZL\"")
        ),
    ]));
    insta::assert_snapshot!(
        "cloudfront_shared_between_clients",
        errors(&[(
            "clients.toml",
            "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-x\"]\n[clients.cloudfront]\ndistributions = [\"E2QWRUHAPOMQZL\"]\n\n\
             [[clients]]\nname = \"globex\"\nbuckets = [\"globex-x\"]\n[clients.cloudfront]\ndistributions = [\"E2QWRUHAPOMQZL\"]\n",
        )])
    );
    // Across files too, with both places named.
    insta::assert_snapshot!(
        "cloudfront_shared_between_files",
        errors(&[
            (
                "clients/acme.toml",
                "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-x\"]\n[clients.cloudfront]\ndistributions = [\"E2QWRUHAPOMQZL\"]\n",
            ),
            (
                "clients/globex.toml",
                "[[clients]]\nname = \"globex\"\nbuckets = [\"globex-x\"]\n[clients.cloudfront]\ndistributions = [\"E2QWRUHAPOMQZL\"]\n",
            ),
        ])
    );
    // A 13-character id is valid too.
    assert!(load_sources(sources(&[("a.toml", &cf("\"E2QWRUHAPOMQZ\""))]), false).is_ok());
}

// ---- all at once -----------------------------------------------------------

#[test]
fn every_error_in_a_file_is_reported_at_once() {
    let text = r#"[settings]
account_id = "1234"
path = "provision"

[[developers]]
name = "alice"
email = "alice"
expires = "2027-03-31"

[[clients]]
name = "Acme"
buckets = ["Acme-Assets", "ok-bucket"]
developers = ["dave"]

[[clients]]
name = "globex"
bucket_prefixes = ["ok"]
access = "admin"
developers = ["carol"]
[clients.cloudfront]
distributions = ["nope"]
"#;
    let Err(diags) = load_sources(sources(&[("clients.toml", text)]), false) else {
        panic!("accepted");
    };
    // One diagnostic per mistake, including the undeclared developer of the
    // client whose name is invalid. (`ok` would match `ok-bucket`, but a
    // client with an invalid name takes no part in the overlap checks, which
    // would only add noise until it is renamed.)
    assert_eq!(diags.error_count(), 10, "{diags}");
    insta::assert_snapshot!(diags.render(false));
}

#[test]
fn errors_in_several_files_are_reported_together() {
    insta::assert_snapshot!(errors(&[
        ("clients/a.toml", "[[clients]]\nname = \"a\"\nbogus = 1\n"),
        ("clients/b.toml", &client("buckets = [\"acme_x\"]")),
        ("clients/c.toml", "[[clients\n"),
    ]));
}

#[test]
fn warnings_do_not_fail_loading() {
    let loaded = load_sources_with_warnings(
        sources(&[(
            "a.toml",
            &client("buckets = [\"acme-assets\"]\nbucket_prefixes = [\"acme-\"]"),
        )]),
        false,
    );
    let Ok((desired, warnings)) = loaded else {
        panic!("a warning failed the load");
    };
    assert_eq!(desired.clients["acme"].buckets, ["acme-assets"]);
    assert!(!warnings.has_errors());
    assert_eq!(
        warnings.iter().map(|d| d.severity()).collect::<Vec<_>>(),
        [Severity::Warning]
    );
}

// ---- paths -----------------------------------------------------------------

#[test]
fn loading_a_directory_is_authoritative_and_a_file_is_not() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
    };
    write("b.toml", &client("buckets = [\"acme-x\"]"));
    write("a.toml", "[[developers]]\nname = \"alice\"\n");
    write("notes.md", "not toml, not read");
    std::fs::create_dir(dir.path().join("sub")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("sub/c.toml"), "not read = = =")
        .unwrap_or_else(|e| panic!("{e}"));

    let from_dir = load(&[dir.path().to_owned()]).unwrap_or_else(|e| panic!("{e}"));
    assert!(from_dir.authoritative);
    assert_eq!(from_dir.clients["acme"].source, dir.path().join("b.toml"));
    assert!(from_dir.developers.contains_key("alice"));

    let from_file = load(&[dir.path().join("b.toml")]).unwrap_or_else(|e| panic!("{e}"));
    assert!(!from_file.authoritative);

    // The directory and a file inside it: the file is read once, so its
    // client is not a duplicate of itself.
    let both = load(&[dir.path().to_owned(), dir.path().join("b.toml")]);
    assert!(both.is_ok_and(|d| d.authoritative && d.clients.len() == 1));
}

/// A directory holding `files`, for the tests of files given alone.
fn directory(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

const SETTINGS: &str = "[settings]\naccount_id = \"123456789012\"\npath = \"/agency/\"\n";

/// SPEC, Guarantee 9: `[settings]` in one file of a directory hold when
/// another file of it is given alone, as they do for the directory.
#[test]
fn a_file_given_alone_takes_the_settings_of_its_directory() {
    let dir = directory(&[
        (
            "acme.toml",
            &format!("{SETTINGS}\n{}", client("buckets = [\"acme-x\"]")),
        ),
        (
            "globex.toml",
            "[[clients]]\nname = \"globex\"\nbuckets = [\"globex-x\"]\n",
        ),
    ]);
    let desired = load(&[dir.path().join("globex.toml")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(desired.settings.account_id.as_deref(), Some("123456789012"));
    assert_eq!(desired.settings.path, "/agency/");
    // Only the file given is in scope; the sibling was context.
    assert_eq!(desired.clients.keys().collect::<Vec<_>>(), ["globex"]);
    assert_eq!(desired.context, [dir.path().join("acme.toml")]);
    assert!(!desired.authoritative);
    // The same settings as the directory's.
    let whole = load(&[dir.path().to_owned()]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(whole.settings, desired.settings);
    assert!(whole.context.is_empty());
}

/// One file of settings and developers, one file per client: each client
/// file given alone loads, with only the developers it needs in scope and
/// the others known, so that no plan of it deletes them.
#[test]
fn a_shared_developers_file_serves_one_file_per_client() {
    let dir = directory(&[
        (
            "team.toml",
            &format!(
                "{SETTINGS}\n[[developers]]\nname = \"alice\"\n\n[[developers]]\nname = \"bob\"\n\n\
                 [[developers]]\nname = \"carol\"\n"
            ),
        ),
        (
            "acme.toml",
            &client("buckets = [\"acme-x\"]\ndevelopers = [\"alice\"]"),
        ),
        (
            "globex.toml",
            "[[clients]]\nname = \"globex\"\nbuckets = [\"globex-x\"]\ndevelopers = [\"bob\"]\n",
        ),
    ]);
    let desired = load(&[dir.path().join("acme.toml")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(desired.settings.path, "/agency/");
    assert_eq!(desired.clients.keys().collect::<Vec<_>>(), ["acme"]);
    assert_eq!(desired.developers.keys().collect::<Vec<_>>(), ["alice"]);
    assert_eq!(
        desired.context_developers.iter().collect::<Vec<_>>(),
        ["bob", "carol"]
    );
    // Given itself, the developers file declares everyone, in scope.
    let team = load(&[dir.path().join("team.toml")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(team.developers.len(), 3);
    assert!(team.clients.is_empty());
}

/// The context is checked like the files given: a broken sibling could hold
/// the settings, and clients of siblings count in every check across
/// clients.
#[test]
fn the_rest_of_the_directory_is_checked_with_a_file_given_alone() {
    let broken = directory(&[
        ("acme.toml", &client("buckets = [\"acme-x\"]")),
        ("settings.toml", "[settings]\naccount_id = 1234\n"),
    ]);
    let Err(diags) = load(&[broken.path().join("acme.toml")]) else {
        panic!("a broken sibling was ignored");
    };
    let text = diags.render(false);
    assert!(
        text.contains("`account_id` must be a string, not a number"),
        "{text}"
    );
    assert!(text.contains("settings.toml:2:14"), "{text}");

    let overlapping = directory(&[
        ("acme.toml", &client("bucket_prefixes = [\"acme\"]")),
        (
            "acmecorp.toml",
            "[[clients]]\nname = \"acmecorp\"\nbuckets = [\"acmecorp-data\"]\n",
        ),
    ]);
    let Err(diags) = load(&[overlapping.path().join("acme.toml")]) else {
        panic!("a prefix reaching a sibling's bucket was accepted");
    };
    let text = diags.render(false);
    assert!(
        text.contains(
            "bucket prefix `acme` of client `acme` matches bucket `acmecorp-data` of client `acmecorp`"
        ),
        "{text}"
    );
}

/// Files given together are all in scope; what they leave of their
/// directory is context, read once.
#[test]
fn siblings_given_together_are_in_scope_and_read_once() {
    let dir = directory(&[
        ("a.toml", &client("buckets = [\"acme-x\"]")),
        (
            "b.toml",
            "[[clients]]\nname = \"globex\"\nbuckets = [\"globex-x\"]\n",
        ),
        ("c.toml", SETTINGS),
    ]);
    let desired = load(&[dir.path().join("b.toml"), dir.path().join("a.toml")])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        desired.clients.keys().collect::<Vec<_>>(),
        ["acme", "globex"]
    );
    assert_eq!(desired.context, [dir.path().join("c.toml")]);
    assert_eq!(desired.settings.path, "/agency/");
}

#[test]
fn path_problems_are_reported_with_every_other_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[clients]]\nname = \"Acme\"\nbuckets = [\"acme-x\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let Err(diags) = load(&[
        PathBuf::from("does/not/exist.toml"),
        empty.clone(),
        bad.clone(),
    ]) else {
        panic!("accepted");
    };
    let out = diags
        .render(false)
        .replace(&dir.path().display().to_string(), "TMP");
    insta::assert_snapshot!(out);

    let Err(none) = load(&[]) else {
        panic!("no paths accepted")
    };
    assert!(none.to_string().contains("no configuration path given"));
}

#[test]
fn example_clients_directory_is_valid() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients");
    let (desired, warnings) = match super::load_with_warnings(&[dir]) {
        Ok(loaded) => loaded,
        Err(e) => panic!("{e}"),
    };
    assert!(warnings.is_empty(), "{warnings}");
    assert!(desired.authoritative);
    assert_eq!(desired.settings.account_id.as_deref(), Some("123456789012"));
    assert_eq!(desired.settings.path, "/provision/");
    assert_eq!(
        desired.clients.keys().collect::<Vec<_>>(),
        ["acme", "globex"]
    );
    assert_eq!(desired.clients["acme"].distributions, ["E2QWRUHAPOMQZL"]);
    assert_eq!(desired.clients["globex"].bucket_prefixes, ["globex-"]);
    assert_eq!(desired.clients["globex"].access, Access::ReadOnly);
    // Each file stands alone.
    for file in ["acme.toml", "globex.toml"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("clients")
            .join(file);
        assert!(load(&[path]).is_ok(), "{file} does not load on its own");
    }
}

// ---- lifecycle: membership expiry, disabled, key age ----------------------

#[test]
fn lifecycle_rules() {
    let with_dev = |members: &str| {
        format!(
            "[[developers]]\nname = \"bob\"\n\n{}",
            client(&format!(
                "buckets = [\"acme-assets\"]\ndevelopers = {members}"
            ))
        )
    };
    insta::assert_snapshot!(cases(&[
        (
            "membership expiry as a string",
            &with_dev("[{ name = \"bob\", expires = \"2027-01-31\" }]"),
        ),
        (
            "membership expiry with a time",
            &with_dev("[{ name = \"bob\", expires = 2027-01-31T10:00:00Z }]"),
        ),
        (
            "membership entry without a name",
            &with_dev("[{ expires = 2027-01-31 }]"),
        ),
        (
            "membership entry with an unknown key",
            &with_dev("[{ name = \"bob\", until = 2027-01-31 }]"),
        ),
        ("membership entry that is a number", &with_dev("[3]"),),
        (
            "the same developer as a name and as a table",
            &with_dev("[\"bob\", { name = \"bob\", expires = 2027-01-31 }]"),
        ),
        (
            "disabled as a string",
            "[[developers]]\nname = \"bob\"\ndisabled = \"yes\"\n",
        ),
        (
            "key age as a string",
            "[settings]\nmax_key_age_days = \"90\"\n",
        ),
        ("key age of zero", "[settings]\nmax_key_age_days = 0\n"),
    ]));
}

#[test]
fn a_membership_expiry_and_disabled_reach_the_model() {
    let text = r#"
[settings]
max_key_age_days = 30

[[developers]]
name = "alice"

[[developers]]
name = "bob"
disabled = true

[[clients]]
name = "acme"
buckets = ["acme-assets"]
developers = ["alice", { name = "bob", expires = 2027-01-31 }]
"#;
    let desired = match load_sources(sources(&[("clients/acme.toml", text)]), false) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let acme = &desired.clients["acme"];
    assert_eq!(acme.developers, ["alice", "bob"]);
    assert_eq!(
        acme.membership_expires.get("bob").copied(),
        NaiveDate::from_ymd_opt(2027, 1, 31)
    );
    assert!(desired.developers["bob"].disabled);
    assert!(!desired.developers["alice"].disabled);
    assert_eq!(desired.settings.max_key_age_days, 30);
}

// ---- error recovery: every mistake in one run ------------------------------

#[test]
fn a_value_of_the_wrong_type_is_one_error_and_the_rest_of_the_file_is_checked() {
    // Each of these used to stop the file at its first error.
    let text = errors(&[(
        "clients.toml",
        "[[developers]]\nname = \"alice\"\nemial = \"alice@example.com\"\n\n\
         [[clients]]\nname = \"acme\"\nbuckets = \"acme-assets\"\n\n\
         [[clients]]\nname = \"globex\"\nbuckets = [\"Globex-Data\"]\ndevelopers = [\"alice\", \"bob\"]\n",
    )]);
    for expected in [
        "unknown key `emial`",
        "wrong type: string \"acme-assets\", expected a list",
        "bucket names must be lowercase: `Globex-Data`",
        "developer `bob` is not declared",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // The key that failed is not also reported missing.
    assert!(!text.contains("has no buckets"), "{text}");
    // `alice` was read although her entry has a bad key.
    assert!(
        !text.contains("developer `alice` is not declared"),
        "{text}"
    );
}

#[test]
fn a_file_with_a_syntax_error_does_not_hide_the_other_files() {
    let loaded = load_sources_with_warnings(
        sources(&[
            (
                "clients/team.toml",
                "[[developers]]\nname = \"dave\"\nexpires = 28/02/2027\n",
            ),
            (
                "clients/acme.toml",
                "[[clients]]\nname = \"acme\"\nbuckets = [\"Acme\"]\ndevelopers = [\"dave\", \"carol\"]\n",
            ),
        ]),
        false,
    );
    let Err(diags) = loaded else {
        panic!("expected errors")
    };
    let text = diags.render(false);
    insta::assert_snapshot!(text);
    // `dave` may be declared in the broken file: a warning, not an error;
    // `carol` appears nowhere in it, so she is an error.
    assert!(
        text.contains("not checked whether developer `dave` is declared"),
        "{text}"
    );
    assert!(
        !text.contains("error: developer `dave` is not declared"),
        "{text}"
    );
    assert!(
        text.contains("error: developer `carol` is not declared"),
        "{text}"
    );
}

#[test]
fn a_date_written_like_people_write_dates_says_how_to_write_it() {
    insta::assert_snapshot!(cases(&[
        (
            "day first",
            "[[developers]]\nname = \"bob\"\nexpires = 28/02/2027\n"
        ),
        (
            "dots",
            "[[developers]]\nname = \"bob\"\nexpires = 28.02.2027\n"
        ),
        (
            "ambiguous",
            "[[developers]]\nname = \"bob\"\nexpires = 03/04/2027\n"
        ),
        (
            "in a membership",
            "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-x\"]\ndevelopers = [{ name = \"bob\", expires = 2027/02/28 }]\n",
        ),
    ]));
}

// ---- apps that are roles (keyless CI) ---------------------------------------

/// A client with buckets and one `[[clients.apps]]` entry of `fields`.
fn app(fields: &str) -> String {
    format!(
        "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-x\", \"acme-y\"]\naccess = \"read-write\"\n\n\
         [[clients.apps]]\n{fields}\n"
    )
}

#[test]
fn role_app_rules() {
    insta::assert_snapshot!(cases(&[
        (
            "a wildcard in the owner could match another organisation",
            &app("name = \"d\"\ngithub = [\"repo:acme*/x:*\", \"repo:*\"]"),
        ),
        (
            "not a repository subject, or no context",
            &app(
                "name = \"d\"\ngithub = [\"repository:acme/x\", \"repo:acme/site\", \"repo:acme/s:ref:refs/heads/a?\"]"
            ),
        ),
        ("empty github", &app("name = \"d\"\ngithub = []")),
        ("no name", &app("github = [\"repo:acme/x:pull_request\"]")),
        (
            "a bucket of no one, or of another client",
            &app("name = \"d\"\nbuckets = [\"globex-x\"]\ngithub = [\"repo:acme/x:pull_request\"]"),
        ),
        (
            "app_user beside apps",
            "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-x\"]\napp_user = \"acme-app\"\n\n\
             [[clients.apps]]\nname = \"d\"\ngithub = [\"repo:acme/x:pull_request\"]\n",
        ),
        (
            "two apps, one role name whatever the case",
            "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-x\"]\n\n\
             [[clients.apps]]\nname = \"Deploy\"\ngithub = [\"repo:acme/x:pull_request\"]\n\n\
             [[clients]]\nname = \"globex\"\nbuckets = [\"globex-x\"]\n\n\
             [[clients.apps]]\nname = \"deploy\"\ngithub = [\"repo:globex/x:pull_request\"]\n",
        ),
        (
            "an unknown key in an app",
            &app("name = \"d\"\ngithub = [\"repo:acme/x:pull_request\"]\nsubjects = []"),
        ),
    ]));
}

#[test]
fn a_role_app_takes_the_clients_defaults_and_its_own_subset() {
    let desired = load_sources(
        sources(&[(
            "c.toml",
            &format!(
                "{}\n[[clients.apps]]\nname = \"ro\"\nbuckets = [\"acme-y\"]\naccess = \"read-only\"\n\
                 permissions_boundary = \"arn:aws:iam::123456789012:policy/ci\"\n\
                 github = [\"repo:acme/x:environment:*\"]\n",
                app("name = \"all\"\ngithub = [\"repo:acme/x:ref:refs/heads/main\"]")
            ),
        )]),
        false,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let client = &desired.clients["acme"];
    assert_eq!(client.app_user, None, "apps replace the default app user");
    let [all, ro] = client.roles.as_slice() else {
        panic!("{:?}", client.roles);
    };
    assert_eq!(all.buckets, ["acme-x", "acme-y"]);
    assert_eq!(all.access, Access::ReadWrite);
    assert_eq!(all.permissions_boundary, None);
    assert_eq!(all.subjects, ["repo:acme/x:ref:refs/heads/main"]);
    assert_eq!(ro.buckets, ["acme-y"]);
    assert_eq!(ro.access, Access::ReadOnly);
    assert_eq!(
        ro.permissions_boundary.as_deref(),
        Some("arn:aws:iam::123456789012:policy/ci")
    );
}
