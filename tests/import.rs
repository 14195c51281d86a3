//! `provision import` against the emulator: an account built by hand the
//! way the seed recipe does it becomes files that validate, and its holes
//! become findings; an account provision manages imports as files that
//! plan as "No changes".

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{TestEnv, block_on, read_key, s3_client, stderr, stdout};
use serde_json::Value;

/// The seed recipe's group policy, written out as the recipe does: `s3:*`
/// on the client's name followed by a wildcard (which also reaches every
/// bucket sharing the prefix), and CloudFront invalidations on `*`.
const NEW_CLIENT_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "s3:*",
      "Resource": [
        "arn:aws:s3:::new-client*",
        "arn:aws:s3:::new-client*/*"
      ]
    },
    {
      "Effect": "Allow",
      "Action": [
        "cloudfront:CreateInvalidation",
        "cloudfront:GetInvalidation",
        "cloudfront:ListInvalidations"
      ],
      "Resource": "*"
    }
  ]
}"#;

/// The same recipe for a second client.
const GLOBEX_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "s3:*",
      "Resource": [
        "arn:aws:s3:::globex*",
        "arn:aws:s3:::globex*/*"
      ]
    },
    {
      "Effect": "Allow",
      "Action": [
        "cloudfront:CreateInvalidation",
        "cloudfront:GetInvalidation",
        "cloudfront:ListInvalidations"
      ],
      "Resource": "*"
    }
  ]
}"#;

/// Builds the seed recipe's account with raw clients: one group per client
/// at `/`, a developer in both groups with a console password and MFA, one
/// in one group without MFA, one app user per client with a key and no
/// password; plus the bucket `new-clientele-backups`, which the wildcard
/// `new-client*` also reaches.
///
/// Returns the app users' keys, `(user, id, secret)`.
fn build_seed(env: &TestEnv) -> Vec<(String, String, String)> {
    let iam = env.iam();
    let s3 = s3_client(&env.moto.url(), "testing", "testing");
    block_on(async {
        for bucket in [
            "new-client-assets",
            "new-client-media",
            "new-clientele-backups",
            "globex-web",
        ] {
            s3.create_bucket().bucket(bucket).send().await.unwrap();
        }
        for (group, policy) in [("new-client", NEW_CLIENT_POLICY), ("globex", GLOBEX_POLICY)] {
            iam.create_group().group_name(group).send().await.unwrap();
            iam.put_group_policy()
                .group_name(group)
                .policy_name(format!("{group}-access"))
                .policy_document(policy)
                .send()
                .await
                .unwrap();
        }
        for (user, groups) in [
            ("alice", &["new-client", "globex"][..]),
            ("bob", &["new-client"][..]),
            ("new-client-app", &["new-client"][..]),
            ("globex-app", &["globex"][..]),
        ] {
            iam.create_user().user_name(user).send().await.unwrap();
            for group in groups {
                iam.add_user_to_group()
                    .group_name(*group)
                    .user_name(user)
                    .send()
                    .await
                    .unwrap();
            }
        }
        for person in ["alice", "bob"] {
            iam.create_login_profile()
                .user_name(person)
                .password("Correct-Horse-9")
                .send()
                .await
                .unwrap();
        }
        let device = iam
            .create_virtual_mfa_device()
            .virtual_mfa_device_name("alice")
            .send()
            .await
            .unwrap();
        let serial = device
            .virtual_mfa_device()
            .unwrap()
            .serial_number()
            .to_owned();
        iam.enable_mfa_device()
            .user_name("alice")
            .serial_number(serial)
            .authentication_code1("123456")
            .authentication_code2("654321")
            .send()
            .await
            .unwrap();
        let mut keys = Vec::new();
        for app in ["new-client-app", "globex-app"] {
            let out = iam.create_access_key().user_name(app).send().await.unwrap();
            let key = out.access_key().unwrap();
            keys.push((
                app.to_owned(),
                key.access_key_id().to_owned(),
                key.secret_access_key().to_owned(),
            ));
        }
        keys
    })
}

/// The path of CloudFront's `ListDistributions`, as the proxy counts it.
const LIST_DISTRIBUTIONS: &str = "GET /2020-05-31/distribution";

/// Creates a distribution in front of the S3 origin `origin` (a domain
/// name) with one alias, straight on the emulator; returns its id.
fn create_distribution(env: &TestEnv, origin: &str, alias: &str, comment: &str) -> String {
    use aws_sdk_cloudfront::types::{
        Aliases, DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig,
        ViewerProtocolPolicy,
    };
    let url = env.moto.url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let config = aws_sdk_cloudfront::Config::builder()
        .behavior_version(aws_sdk_cloudfront::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudfront::config::Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_cloudfront::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    let cloudfront = aws_sdk_cloudfront::Client::from_conf(config);
    let origin = Origin::builder()
        .id("origin")
        .domain_name(origin)
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .unwrap();
    let distribution = DistributionConfig::builder()
        .caller_reference(alias)
        .aliases(Aliases::builder().quantity(1).items(alias).build().unwrap())
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("origin")
                .viewer_protocol_policy(ViewerProtocolPolicy::AllowAll)
                .build()
                .unwrap(),
        )
        .comment(comment)
        .enabled(true)
        .build()
        .unwrap();
    block_on(async {
        let out = cloudfront
            .create_distribution()
            .distribution_config(distribution)
            .send()
            .await
            .unwrap();
        out.distribution().unwrap().id().to_owned()
    })
}

/// `provision import --out DIR [extra...]`.
fn import(env: &TestEnv, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    env.cmd()
        .arg("import")
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
}

/// The files of `dir`, by name, as text.
fn read_dir(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn imported_dir(env: &TestEnv) -> PathBuf {
    env.dir.path().join("imported")
}

#[test]
fn the_seed_recipe_imports_as_files_that_validate_and_its_holes_as_findings() {
    let env = TestEnv::start();
    build_seed(&env);
    // One distribution serves `new-client`'s bucket, one a bucket of no
    // client: the grant on `*` reached both.
    let own = create_distribution(
        &env,
        "new-client-assets.s3.us-east-1.amazonaws.com",
        "cdn.new-client.example",
        "new-client site",
    );
    let unrelated = create_distribution(
        &env,
        "marketing-site.s3.amazonaws.com",
        "www.agency.example",
        "agency site",
    );
    let out = imported_dir(&env);
    env.proxy.clear();
    let assert = import(&env, &out, &[]).success();
    let report = stdout(&assert);

    // Import only reads.
    let calls = env.proxy.requests();
    assert!(
        calls.iter().all(|c| if c.query_protocol {
            !c.is_write()
        } else {
            c.action.starts_with("GET ")
        }),
        "import changed the account: {:?}",
        env.proxy.calls()
    );
    assert_eq!(env.proxy.count("GET /"), 1, "{:?}", env.proxy.calls());
    // Two groups grant CloudFront on `*`: the distributions are read once.
    assert_eq!(
        env.proxy.count(LIST_DISTRIBUTIONS),
        1,
        "{:?}",
        env.proxy.calls()
    );

    // The files validate, as a directory.
    env.cmd().arg("validate").arg(&out).assert().success();
    let files = read_dir(&out);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["globex.toml", "new-client.toml", "team.toml"]);
    let new_client = &files[1].1;
    assert!(new_client.contains("\"new-client-assets\""), "{new_client}");
    assert!(new_client.contains("\"new-client-media\""), "{new_client}");
    assert!(
        !new_client.contains("new-clientele-backups"),
        "the wildcard's reach must not become config:\n{new_client}"
    );
    assert!(new_client.contains("access = \"full\""), "{new_client}");
    assert!(
        new_client.contains("developers = [\"alice\", \"bob\"]"),
        "{new_client}"
    );
    assert!(
        new_client.contains("app_user = \"new-client-app\""),
        "{new_client}"
    );
    // The distribution that serves the client's bucket is a suggestion,
    // commented out: CloudFront on `*` never becomes a grant by itself.
    assert!(
        new_client.contains(&format!(
            "# [clients.cloudfront]\n# distributions = [\"{own}\"]\n"
        )),
        "{new_client}"
    );
    for (name, text) in &files {
        assert!(
            text.lines()
                .all(|l| l.starts_with('#')
                    || !l.contains("cloudfront") && !l.contains("distributions")),
            "CloudFront on `*` must not become config in {name}:\n{text}"
        );
        assert!(!text.contains(&unrelated), "{name}:\n{text}");
    }

    // The holes are findings.
    assert!(
        report.contains(
            "wildcard-reach: group `new-client` inline policy `new-client-access`, statement #1: `arn:aws:s3:::new-client*`"
        ) || report.contains("which also reaches `new-clientele-backups`"),
        "{report}"
    );
    for needle in [
        "which also reaches `new-clientele-backups`",
        "cloudfront-wildcard: group `new-client` inline policy `new-client-access`, statement #2 allows `cloudfront:CreateInvalidation`",
        "several-clients: user `alice` is in the groups of clients `globex`, `new-client`",
        "console-without-mfa: user `bob` can sign in",
        "replaced-group: group `new-client` (path `/`) is not provision's and keeps every grant it has until it is taken over: give `--adopt new-client`",
        "unused-key: access key 1 of user `globex-app` is active and was never used",
        "unused-key: access key 1 of user `new-client-app` is active and was never used",
    ] {
        assert!(report.contains(needle), "missing `{needle}` in:\n{report}");
    }
    assert!(
        !report.contains("console-without-mfa: user `alice`"),
        "{report}"
    );
    // Both findings name both distributions; only `new-client`'s ties its
    // own one to it.
    let cloudfront: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("cloudfront-wildcard:"))
        .collect();
    assert_eq!(cloudfront.len(), 2, "{report}");
    for line in &cloudfront {
        for id in [&own, &unrelated] {
            assert!(line.contains(&format!("`{id}`")), "{line}");
        }
    }
    assert!(
        cloudfront[1].contains(&format!(
            "`{own}` serves only buckets of client `new-client`: its file suggests it"
        )),
        "{}",
        cloudfront[1]
    );
    assert!(
        cloudfront[0].contains("none serves only buckets of client `globex`"),
        "{}",
        cloudfront[0]
    );
    assert!(
        cloudfront[1].contains("aliases `cdn.new-client.example`, comment \"new-client site\", S3 origin `new-client-assets`"),
        "{}",
        cloudfront[1]
    );
}

/// CloudFront refused: import still writes its files, and the finding says
/// the distributions could not be listed, and why, in both formats.
#[test]
fn import_goes_on_when_the_distributions_cannot_be_listed_and_says_why() {
    let env = TestEnv::start();
    build_seed(&env);
    create_distribution(
        &env,
        "new-client-assets.s3.amazonaws.com",
        "cdn.new-client.example",
        "new-client site",
    );
    env.proxy.refuse(LIST_DISTRIBUTIONS, "", "");
    let out = imported_dir(&env);
    let assert = import(&env, &out, &["--format", "json"]).success();
    assert_eq!(env.proxy.count(LIST_DISTRIBUTIONS), 1);
    let names: Vec<String> = read_dir(&out).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["globex.toml", "new-client.toml", "team.toml"]);
    assert!(
        read_dir(&out)
            .iter()
            .all(|(_, text)| !text.contains("distributions")),
        "{:#?}",
        read_dir(&out)
    );
    let report: Value = serde_json::from_str(&stdout(&assert)).unwrap();
    let findings: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "cloudfront-wildcard")
        .collect();
    assert_eq!(findings.len(), 2, "{report:#}");
    for f in findings {
        let detail = f["detail"].as_str().unwrap();
        assert!(
            detail.contains(
                "import could not list the account's distributions (cloudfront:ListDistributions): AccessDenied: "
            ) && detail.contains("so none is suggested"),
            "{detail}"
        );
        let error = f["distributions"]["error"].as_str().unwrap();
        assert!(error.contains("AccessDenied"), "{error}");
        assert_eq!(f["distributions"]["listed"], serde_json::json!([]));
    }
    let err = stderr(&assert);
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );

    // The text report says the same.
    let text = stdout(&import(&env, &env.dir.path().join("text"), &[]).success());
    assert!(
        text.contains("import could not list the account's distributions"),
        "{text}"
    );
}

#[test]
fn import_never_replaces_a_file_without_force_and_is_deterministic() {
    let env = TestEnv::start();
    build_seed(&env);
    let out = imported_dir(&env);
    let first = stdout(&import(&env, &out, &[]).success());
    let files = read_dir(&out);

    // A file of the same name is there: nothing is written, exit 1.
    fs::write(out.join("new-client.toml"), "# mine\n").unwrap();
    let refused = import(&env, &out, &[]).failure().code(1);
    let err = stderr(&refused);
    assert!(err.contains("already exist"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        fs::read_to_string(out.join("new-client.toml")).unwrap(),
        "# mine\n"
    );

    // With --force: the same bytes and the same report as the first time.
    let second = stdout(&import(&env, &out, &["--force"]).success());
    assert_eq!(read_dir(&out), files);
    assert_eq!(second, first);

    // The JSON report holds the same findings.
    let json: Value = serde_json::from_slice(
        &import(&env, &out, &["--force", "--format", "json"])
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    let kinds: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"wildcard-reach"), "{json:#}");
    assert!(kinds.contains(&"cloudfront-wildcard"), "{json:#}");
    let reach = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "wildcard-reach")
        .unwrap();
    assert_eq!(
        reach["resources"],
        serde_json::json!(["new-clientele-backups"])
    );
}

/// The README's two example clients, as provision would manage them.
const MANAGED: &str = r#"
[settings]
account_id = "123456789012"
path = "/provision/"

[[developers]]
name = "alice"
email = "alice@example.com"

[[developers]]
name = "bob"
email = "bob@example.com"

[[developers]]
name = "carol"
disabled = true

[[clients]]
name = "acme"
buckets = ["acme-assets", "acme-assets-staging"]
access = "read-write"
developers = ["alice", "bob"]
[clients.cloudfront]
distributions = ["E2QWRUHAPOMQZL"]

[[clients]]
name = "globex"
bucket_prefixes = ["globex-"]
access = "read-only"
developers = ["alice"]
app_user = ""

[[clients]]
name = "initech"
buckets = ["initech-data"]
access = "full"
app_user = "initech-service"
"#;

#[test]
fn an_account_provision_manages_imports_as_files_that_plan_no_changes() {
    let env = TestEnv::with_files(&[("all.toml", MANAGED)]);
    env.apply(&env.clients()).success();
    assert_eq!(env.plan_exit(&env.clients()).0, 0);

    let out = imported_dir(&env);
    env.proxy.clear();
    let report = stdout(&import(&env, &out, &[]).success());
    // Nothing grants CloudFront on `*`: CloudFront is not read at all.
    assert_eq!(
        env.proxy.count(LIST_DISTRIBUTIONS),
        0,
        "{:?}",
        env.proxy.calls()
    );
    for kind in [
        "wildcard-reach",
        "dropped-grant",
        "access-level",
        "unimportable",
    ] {
        assert!(!report.contains(kind), "{report}");
    }
    let (code, plan) = env.plan_exit(&out);
    assert_eq!(
        code,
        0,
        "the imported files must plan as no changes:\n{plan}\n{:#?}",
        read_dir(&out)
    );
    assert!(plan.contains("No changes."), "{plan}");
}

#[test]
fn import_writes_nothing_when_any_read_fails() {
    let env = TestEnv::start();
    build_seed(&env);
    env.proxy.clear();
    import(&env, &env.dir.path().join("probe"), &[]).success();
    let mut actions = env.proxy.calls();
    actions.sort();
    actions.dedup();
    // The reads: STS, the bulk read, quotas, the credential report, S3's
    // bucket list, and CloudFront's distributions (the seed grants
    // CloudFront on `*`).
    for read in [
        "GetCallerIdentity",
        "GetAccountAuthorizationDetails",
        "GetAccountSummary",
        "GenerateCredentialReport",
        "GetCredentialReport",
        "GET /",
        LIST_DISTRIBUTIONS,
    ] {
        assert!(actions.iter().any(|a| a == read), "{actions:?}");
    }
    for (i, action) in actions.iter().enumerate() {
        // The quotas fall back to AWS's defaults when they cannot be read
        // (as for plan), and import does not use them.
        // The distributions only inform a finding, which says when they
        // could not be read (see the test above).
        if action == "GetAccountSummary" || action == LIST_DISTRIBUTIONS {
            continue;
        }
        env.proxy.stop_refusing();
        env.proxy.refuse(action, "", "");
        let out = env.dir.path().join(format!("out-{i}"));
        let assert = import(&env, &out, &[]).failure().code(1);
        assert!(
            !out.exists(),
            "import wrote files although `{action}` failed:\n{}",
            stderr(&assert)
        );
    }
}

#[test]
fn a_link_planted_where_import_writes_is_refused_and_force_replaces_the_link_not_its_target() {
    let env = TestEnv::start();
    build_seed(&env);
    let out = imported_dir(&env);
    fs::create_dir(&out).unwrap();
    let target = env.dir.path().join("precious.txt");
    fs::write(&target, "precious\n").unwrap();
    std::os::unix::fs::symlink(&target, out.join("team.toml")).unwrap();

    let err = stderr(&import(&env, &out, &[]).failure().code(1));
    assert!(err.contains("team.toml"), "{err}");
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
    assert_eq!(read_dir(&out).len(), 1, "nothing else was written");

    import(&env, &out, &["--force"]).success();
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
    let team = out.join("team.toml");
    assert!(!team.symlink_metadata().unwrap().file_type().is_symlink());
    assert!(fs::read_to_string(&team).unwrap().contains("[settings]"));
}

/// Whether the key `(id, secret)` may list `bucket`, as the emulator's IAM
/// enforcement decides (it must be on).
fn lists(env: &TestEnv, id: &str, secret: &str, bucket: &str) -> bool {
    let s3 = s3_client(&env.moto.url(), id, secret);
    block_on(async {
        match s3.list_objects_v2().bucket(bucket).send().await {
            Ok(_) => true,
            Err(e) => {
                use aws_sdk_s3::error::ProvideErrorMetadata;
                let code = e.code().map(str::to_owned);
                assert!(
                    matches!(code.as_deref(), Some("AccessDenied" | "InvalidAccessKeyId")),
                    "unexpected error listing `{bucket}`: {e:?}"
                );
                false
            }
        }
    })
}

/// The migration the README walks through, on the seed recipe's account:
/// import, adopt the users by hand (move under the managed path, tag),
/// apply, delete the hand-made groups. Afterwards the plan is empty,
/// verify says isolation holds, and the emulator's enforcement shows the
/// app user no longer reaches `new-clientele-backups`, which the old
/// wildcard reached.
#[test]
fn the_readme_migration_closes_the_reach_of_the_old_wildcard() {
    let env = TestEnv::start();
    let keys = build_seed(&env);
    let (_, old_id, old_secret) = keys.iter().find(|k| k.0 == "new-client-app").unwrap();
    env.moto.set_auth(true);
    let before = lists(&env, old_id, old_secret, "new-clientele-backups");
    env.moto.set_auth(false);
    assert!(before, "the seed's wildcard reaches the other bucket");

    import(&env, &env.clients(), &[]).success();
    let iam = env.iam();
    block_on(async {
        for (user, client) in [
            ("alice", None),
            ("bob", None),
            ("new-client-app", Some("new-client")),
            ("globex-app", Some("globex")),
        ] {
            iam.update_user()
                .user_name(user)
                .new_path("/provision/")
                .send()
                .await
                .unwrap();
            let mut tag = iam.tag_user().user_name(user).tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("managed-by")
                    .value("provision")
                    .build()
                    .unwrap(),
            );
            if let Some(client) = client {
                tag = tag.tags(
                    aws_sdk_iam::types::Tag::builder()
                        .key("provision:client")
                        .value(client)
                        .build()
                        .unwrap(),
                );
            }
            tag.send().await.unwrap();
        }
    });
    env.apply(&env.clients()).success();
    block_on(async {
        for (group, members) in [
            ("new-client", &["alice", "bob", "new-client-app"][..]),
            ("globex", &["alice", "globex-app"][..]),
        ] {
            for user in members {
                iam.remove_user_from_group()
                    .group_name(group)
                    .user_name(*user)
                    .send()
                    .await
                    .unwrap();
            }
            iam.delete_group_policy()
                .group_name(group)
                .policy_name(format!("{group}-access"))
                .send()
                .await
                .unwrap();
            iam.delete_group().group_name(group).send().await.unwrap();
        }
    });
    let (code, plan) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "{plan}");
    let verify = env
        .cmd()
        .arg("verify")
        .arg(env.clients())
        .assert()
        .success();
    assert!(
        stdout(&verify).contains("Isolation holds"),
        "{}",
        stdout(&verify)
    );

    // The old key was replaced by one delivered to the credentials
    // directory; the new one reaches the client's buckets only.
    let (id, secret) = read_key(&env.creds(), "new-client-app");
    env.moto.set_auth(true);
    let own = lists(&env, &id, &secret, "new-client-assets");
    let other = lists(&env, &id, &secret, "new-clientele-backups");
    let old = lists(&env, old_id, old_secret, "new-client-assets");
    env.moto.set_auth(false);
    assert!(own, "the app user reaches its own bucket");
    assert!(
        !other,
        "the app user no longer reaches `new-clientele-backups`"
    );
    assert!(!old, "the old key is gone");
}

/// Every name the seed recipe's migration adopts: the people, the app
/// users, and the hand-made groups the files replace.
const ADOPT: &str = "alice,bob,new-client-app,globex-app,new-client,globex";

/// `provision apply CLIENTS --yes --credentials-dir CREDS --adopt ADOPT`.
fn apply_adopting(env: &TestEnv) -> assert_cmd::assert::Assert {
    env.cmd()
        .arg("apply")
        .arg(env.clients())
        .args(["--yes", "--adopt", ADOPT, "--credentials-dir"])
        .arg(env.creds())
        .assert()
}

/// The seed account, with a policy of alice's own on top, imported into
/// `clients/`.
fn seed_and_import(env: &TestEnv) -> Vec<(String, String, String)> {
    let keys = build_seed(env);
    block_on(async {
        env.iam()
            .put_user_policy()
            .user_name("alice")
            .policy_name("alice-extra")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::new-clientele-backups/*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    });
    import(env, &env.clients(), &[]).success();
    keys
}

/// For each of the seed's users: the groups it is in at the managed path,
/// and what it holds outside it (hand-made groups, its own policies).
fn holdings(env: &TestEnv) -> Vec<(String, Vec<String>, Vec<String>)> {
    let iam = env.iam();
    block_on(async {
        let mut all = Vec::new();
        for user in ["alice", "bob", "new-client-app", "globex-app"] {
            let groups = iam
                .list_groups_for_user()
                .user_name(user)
                .send()
                .await
                .unwrap();
            let (managed, mut other): (Vec<_>, Vec<_>) = groups
                .groups()
                .iter()
                .partition(|g| g.path() == "/provision/");
            let managed: Vec<String> = managed.iter().map(|g| g.group_name().to_owned()).collect();
            let mut other: Vec<String> = other
                .drain(..)
                .map(|g| format!("group {}", g.group_name()))
                .collect();
            let own = iam
                .list_user_policies()
                .user_name(user)
                .send()
                .await
                .unwrap();
            other.extend(own.policy_names().iter().map(|p| format!("policy {p}")));
            all.push((user.to_owned(), managed, other));
        }
        all
    })
}

/// Point 3 of the import issue, end to end: the seed recipe's account is
/// imported; nothing is taken over without `--adopt`; a saved plan made
/// with `--adopt` shows each takeover and the grants it removes, and
/// applying it adopts the users, replaces the hand-made groups and the app
/// users' keys. Afterwards the plan is empty, verify says isolation holds,
/// and the emulator's enforcement shows the old wildcard's reach gone.
#[test]
fn the_seed_recipe_is_adopted_by_an_explicit_apply_and_the_old_wildcard_reaches_nothing() {
    let env = TestEnv::start();
    let keys = seed_and_import(&env);
    let (_, old_id, old_secret) = keys.iter().find(|k| k.0 == "new-client-app").unwrap();

    // Without the opt-in: refused, as before, and the message says how.
    let refused = env.cmd().arg("plan").arg(env.clients()).assert().failure();
    let err = stderr(&refused);
    assert!(err.contains("--adopt alice"), "{err}");

    let saved = env.dir.path().join("adopt.json");
    let plan = stdout(
        &env.cmd()
            .arg("plan")
            .arg(env.clients())
            .args(["--adopt", ADOPT, "--out"])
            .arg(&saved)
            .assert()
            .success(),
    );
    for line in [
        "~ user alice: adopt (path / → /provision/, tag managed-by=provision)",
        "~ user new-client-app: adopt (path / → /provision/, tag managed-by=provision)",
        "- group new-client",
        "+ group client-new-client",
        "- group globex",
        "adopting user `alice` takes it out of groups provision does not manage",
        "- user-policy alice/alice-extra",
        "replaces keys whose secret was never delivered",
    ] {
        assert!(plan.contains(line), "missing `{line}` in:\n{plan}");
    }
    env.proxy.clear();
    env.cmd()
        .arg("apply")
        .arg(&saved)
        .arg("--credentials-dir")
        .arg(env.creds())
        .assert()
        .success();
    assert!(
        env.proxy.count("UpdateUser") >= 4,
        "{:?}",
        env.proxy.calls()
    );

    let (code, plan) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "{plan}");
    let verify = stdout(
        &env.cmd()
            .arg("verify")
            .arg(env.clients())
            .assert()
            .success(),
    );
    assert!(verify.contains("Isolation holds"), "{verify}");
    for (user, managed, other) in holdings(&env) {
        assert!(other.is_empty(), "`{user}` still holds {other:?}");
        assert!(!managed.is_empty(), "`{user}` is in no client group");
    }
    let groups: Vec<String> = block_on(env.iam().list_groups().send())
        .unwrap()
        .groups()
        .iter()
        .map(|g| g.group_name().to_owned())
        .collect();
    assert!(
        !groups.iter().any(|g| g == "new-client" || g == "globex"),
        "{groups:?}"
    );

    let (id, secret) = read_key(&env.creds(), "new-client-app");
    env.moto.set_auth(true);
    let own = lists(&env, &id, &secret, "new-client-assets");
    let other = lists(&env, &id, &secret, "new-clientele-backups");
    let old = lists(&env, old_id, old_secret, "new-client-assets");
    env.moto.set_auth(false);
    assert!(own, "the adopted app user reaches its own bucket");
    assert!(
        !other,
        "the old wildcard's reach into `new-clientele-backups` is gone"
    );
    assert!(!old, "the hand-made key was replaced");
}

/// Each write of the adopting apply refused in turn (by action and the
/// user or group it names): the account is never left with a user that
/// holds both what it had by hand and what the files grant, and running
/// the same command again finishes the job.
#[test]
fn every_write_of_an_adopting_apply_can_fail_and_the_same_command_converges() {
    let env = TestEnv::start();
    seed_and_import(&env);
    env.proxy.clear();
    apply_adopting(&env).success();
    let mut writes: Vec<(String, String, String)> = env
        .proxy
        .requests()
        .iter()
        .filter(|c| c.is_write() && !c.is_lock_call())
        .map(|c| {
            let (param, value) = ["UserName", "GroupName"]
                .iter()
                .find_map(|p| c.param(p).map(|v| (p.to_string(), v)))
                .unwrap_or_default();
            (c.action.clone(), param, value)
        })
        .collect();
    writes.sort();
    writes.dedup();
    assert!(writes.len() > 15, "{writes:?}");

    for (action, param, value) in &writes {
        env.moto.reset();
        seed_and_import_again(&env);
        env.proxy.refuse(action, param, value);
        let failed = apply_adopting(&env).failure();
        env.proxy.stop_refusing();
        for (user, managed, other) in holdings(&env) {
            assert!(
                managed.is_empty() || other.is_empty(),
                "with `{action}` {param}={value} refused, `{user}` holds {other:?} and the files' {managed:?} at once:\n{}",
                stderr(&failed)
            );
        }
        apply_adopting(&env).success();
        let (code, plan) = env.plan_exit(&env.clients());
        assert_eq!(
            code, 0,
            "after `{action}` {param}={value} was refused:\n{plan}"
        );
    }
}

/// The seed again after a reset of the emulator; the imported files and
/// credentials of the last round are reused (the account id is the same).
fn seed_and_import_again(env: &TestEnv) {
    let _ = fs::remove_dir_all(env.creds());
    build_seed(env);
    block_on(async {
        env.iam()
            .put_user_policy()
            .user_name("alice")
            .policy_name("alice-extra")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::new-clientele-backups/*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    });
}
