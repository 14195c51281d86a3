//! Managed buckets (`manage_buckets`) against the emulator's S3: created
//! with safe defaults, kept so, refused when another account holds the
//! name, never deleted, and an apply cut at any bucket call finished by the
//! next one.

mod common;

use aws_sdk_s3::types::{
    BucketVersioningStatus, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration, Tagging, VersioningConfiguration,
};
use common::{
    TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, TestEnv, block_on, s3_client, stderr, stdout,
};

/// The account moto runs provision in.
const ACCOUNT: &str = "123456789012";

/// acme's bucket is managed with SSE-KMS and versioning, so creating it
/// takes every kind of bucket write but one (ownership is asked for in the
/// create); globex's prefix names buckets made elsewhere.
const CLIENTS: &str = r#"
[settings]
manage_buckets = true
bucket_encryption_kms_key = "alias/buckets"
bucket_versioning = true

[[clients]]
name = "acme"
buckets = ["acme-data"]
app_user = ""

[[clients]]
name = "globex"
bucket_prefixes = ["globex-"]
app_user = ""
"#;

type Env = TestEnv;

impl TestEnv {
    fn new() -> TestEnv {
        TestEnv::with_files(&[("all.toml", CLIENTS)])
    }

    /// An S3 client that goes around the proxy.
    fn s3(&self) -> aws_sdk_s3::Client {
        s3_client(&self.moto.url(), TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY)
    }

    /// The proxy's S3 calls, as `METHOD /path?subresource`.
    fn s3_calls(&self) -> Vec<String> {
        self.proxy
            .requests()
            .into_iter()
            .filter(|c| !c.query_protocol && !c.json_protocol)
            .map(|c| format!("{}?{}", c.action, c.subresource))
            .collect()
    }
}

/// The settings of `bucket` as S3 reports them, in words.
async fn settings_of(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let block = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    let ownership = s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let encryption = s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let rule = encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap()
        .clone();
    let versioning = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let tags = s3.get_bucket_tagging().bucket(bucket).send().await.unwrap();
    let mut tags: Vec<String> = tags
        .tag_set()
        .iter()
        .map(|t| format!("{}={}", t.key(), t.value()))
        .collect();
    tags.sort();
    vec![
        format!(
            "block {:?} {:?} {:?} {:?}",
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ),
        format!(
            "ownership {}",
            ownership.ownership_controls().unwrap().rules()[0].object_ownership()
        ),
        format!(
            "encryption {} {:?}",
            rule.sse_algorithm(),
            rule.kms_master_key_id()
        ),
        format!("versioning {:?}", versioning.status()),
        format!("tags {}", tags.join(", ")),
    ]
}

/// What `acme-data` is once provision made it.
fn made() -> Vec<String> {
    vec![
        "block Some(true) Some(true) Some(true) Some(true)".into(),
        "ownership BucketOwnerEnforced".into(),
        "encryption aws:kms Some(\"alias/buckets\")".into(),
        "versioning Some(Enabled)".into(),
        "tags managed-by=provision, provision:client=acme".into(),
    ]
}

#[test]
fn a_missing_bucket_is_created_with_safe_defaults_and_the_next_plan_is_empty() {
    let env = Env::new();
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("+ bucket acme-data"), "{text}");
    // The prefix names buckets made elsewhere: never created.
    assert!(!text.contains("bucket globex"), "{text}");
    env.proxy.clear();
    env.apply(&env.clients()).success();
    // Create first, then public access; every call but the create names
    // the account that must own the bucket.
    let calls: Vec<String> = env
        .s3_calls()
        .into_iter()
        .filter(|c| c.starts_with("PUT"))
        .collect();
    assert_eq!(
        calls,
        [
            "PUT /acme-data/?",
            "PUT /acme-data/?publicAccessBlock",
            "PUT /acme-data/?encryption",
            "PUT /acme-data/?versioning",
            "PUT /acme-data/?tagging",
        ]
    );
    for call in env.proxy.requests() {
        if call.query_protocol || call.json_protocol || call.subresource.is_empty() {
            continue;
        }
        assert_eq!(call.expected_owner.as_deref(), Some(ACCOUNT), "{call:?}");
    }
    let settings = block_on(settings_of(&env.s3(), "acme-data"));
    assert_eq!(settings, made());
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "{text}");
}

#[test]
fn a_bucket_name_held_by_another_account_is_refused_at_plan_time_and_never_touched() {
    let env = Env::new();
    block_on(async {
        common::s3_client_in_account(&env.moto.url(), "111111111111")
            .create_bucket()
            .bucket("acme-data")
            .send()
            .await
            .unwrap();
    });
    for command in [&["plan"][..], &["apply", "--yes"]] {
        env.proxy.clear();
        let assert = env.cmd().args(command).arg(env.clients()).assert().code(1);
        let err = stderr(&assert);
        assert!(
            err.contains("bucket `acme-data` of client `acme` (in `")
                && err.contains("is not a bucket of account `123456789012`"),
            "{err}"
        );
        // Read with the expected owner, refused, and nothing written, to
        // the bucket or to IAM.
        assert!(
            env.s3_calls().iter().all(|c| c.starts_with("GET")),
            "{:?}",
            env.s3_calls()
        );
        assert_eq!(env.proxy.writes(), Vec::<String>::new());
    }
}

#[test]
fn drift_on_each_setting_is_shown_and_corrected() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let s3 = env.s3();
    // Each setting undone by hand, one at a time: the plan names it alone,
    // and apply puts it back.
    type Edit = Box<dyn Fn(&aws_sdk_s3::Client) -> futures_util::future::BoxFuture<'_, ()>>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "~ bucket acme-data: public access block none → all blocked",
            Box::new(|s3| {
                Box::pin(async move {
                    s3.delete_public_access_block()
                        .bucket("acme-data")
                        .send()
                        .await
                        .unwrap();
                })
            }),
        ),
        (
            "~ bucket acme-data: public access block BlockPublicAcls, IgnorePublicAcls, RestrictPublicBuckets → all blocked",
            Box::new(|s3| {
                Box::pin(async move {
                    s3.put_public_access_block()
                        .bucket("acme-data")
                        .public_access_block_configuration(
                            PublicAccessBlockConfiguration::builder()
                                .block_public_acls(true)
                                .ignore_public_acls(true)
                                .block_public_policy(false)
                                .restrict_public_buckets(true)
                                .build(),
                        )
                        .send()
                        .await
                        .unwrap();
                })
            }),
        ),
        (
            "~ bucket acme-data: object ownership ObjectWriter → BucketOwnerEnforced",
            Box::new(|s3| {
                Box::pin(async move {
                    let rule = OwnershipControlsRule::builder()
                        .object_ownership(ObjectOwnership::ObjectWriter)
                        .build()
                        .unwrap();
                    s3.put_bucket_ownership_controls()
                        .bucket("acme-data")
                        .ownership_controls(
                            OwnershipControls::builder().rules(rule).build().unwrap(),
                        )
                        .send()
                        .await
                        .unwrap();
                })
            }),
        ),
        (
            "~ bucket acme-data: encryption SSE-S3 → SSE-KMS with `alias/buckets`",
            Box::new(|s3| {
                Box::pin(async move {
                    s3.delete_bucket_encryption()
                        .bucket("acme-data")
                        .send()
                        .await
                        .unwrap();
                })
            }),
        ),
        (
            "~ bucket acme-data: versioning Suspended → Enabled",
            Box::new(|s3| {
                Box::pin(async move {
                    s3.put_bucket_versioning()
                        .bucket("acme-data")
                        .versioning_configuration(
                            VersioningConfiguration::builder()
                                .status(BucketVersioningStatus::Suspended)
                                .build(),
                        )
                        .send()
                        .await
                        .unwrap();
                })
            }),
        ),
        (
            "~ bucket acme-data: tags + provision:client=acme",
            Box::new(|s3| {
                Box::pin(async move {
                    let tags = vec![
                        aws_sdk_s3::types::Tag::builder()
                            .key("managed-by")
                            .value("provision")
                            .build()
                            .unwrap(),
                        aws_sdk_s3::types::Tag::builder()
                            .key("cost-centre")
                            .value("42")
                            .build()
                            .unwrap(),
                    ];
                    s3.put_bucket_tagging()
                        .bucket("acme-data")
                        .tagging(Tagging::builder().set_tag_set(Some(tags)).build().unwrap())
                        .send()
                        .await
                        .unwrap();
                })
            }),
        ),
    ];
    for (line, edit) in &edits {
        block_on(edit(&s3));
        let (code, text) = env.plan_exit(&env.clients());
        assert_eq!(code, 2, "{text}");
        let bucket_lines: Vec<&str> = text.lines().filter(|l| l.contains("bucket ")).collect();
        assert_eq!(bucket_lines, [format!("  {line}")], "{text}");
        env.apply(&env.clients()).success();
        let (code, text) = env.plan_exit(&env.clients());
        assert_eq!(code, 0, "after correcting `{line}`:\n{text}");
    }
    // The tag provision does not manage stayed.
    let settings = block_on(settings_of(&s3, "acme-data"));
    assert_eq!(
        settings[4],
        "tags cost-centre=42, managed-by=provision, provision:client=acme"
    );
}

#[test]
fn a_removed_clients_bucket_is_kept_with_a_warning() {
    let env = Env::new();
    env.write(
        "initech.toml",
        "[[clients]]\nname = \"initech\"\nbuckets = [\"initech-data\"]\napp_user = \"\"\n",
    );
    env.apply(&env.clients()).success();
    std::fs::remove_file(env.file("initech.toml")).unwrap();
    let assert = env.cmd().arg("plan").arg(env.clients()).assert().success();
    let text = format!("{}{}", stdout(&assert), stderr(&assert));
    assert!(
        text.contains("client `initech` is removed, but its bucket `initech-data` is kept as it is, with its data: provision never deletes buckets"),
        "{text}"
    );
    env.proxy.clear();
    env.apply(&env.clients()).success();
    // No call of apply went to the bucket, and it is still there.
    assert!(
        env.s3_calls().iter().all(|c| !c.contains("initech-data")),
        "{:?}",
        env.s3_calls()
    );
    block_on(async {
        env.s3()
            .head_bucket()
            .bucket("initech-data")
            .send()
            .await
            .unwrap();
    });
}

/// Every write of a bucket's creation refused in turn, as an operator's
/// policy might: apply stops there and says so, the writes after it are
/// not attempted, the next plan shows what is left, and the next apply
/// finishes it.
#[test]
fn an_apply_cut_at_any_bucket_call_is_finished_by_the_next() {
    let env = Env::new();
    let steps = [
        "",
        "publicAccessBlock",
        "encryption",
        "versioning",
        "tagging",
    ];
    for (i, refused) in steps.iter().enumerate() {
        let bucket = format!("acme-data-{i}");
        env.write("all.toml", &CLIENTS.replace("acme-data", &bucket));
        env.proxy.stop_refusing();
        env.proxy.clear();
        env.proxy.refuse_rest(&format!("PUT /{bucket}/"), refused);
        let assert = env
            .cmd()
            .arg("apply")
            .arg(env.clients())
            .arg("--yes")
            .assert()
            .code(1);
        let err = stderr(&assert);
        assert!(err.contains("AccessDenied"), "step `{refused}`: {err}");
        // Nothing after the refused call was attempted on the bucket.
        let puts: Vec<String> = env
            .s3_calls()
            .into_iter()
            .filter(|c| c.starts_with(&format!("PUT /{bucket}/")))
            .collect();
        assert_eq!(
            puts.last().map(String::as_str),
            Some(format!("PUT /{bucket}/?{refused}").as_str()),
            "{puts:?}"
        );
        env.proxy.stop_refusing();
        let (code, text) = env.plan_exit(&env.clients());
        assert_eq!(
            code, 2,
            "step `{refused}`: the plan must show what is left:\n{text}"
        );
        let expected = if refused.is_empty() {
            format!("+ bucket {bucket}")
        } else {
            format!("~ bucket {bucket}: ")
        };
        assert!(text.contains(&expected), "step `{refused}`:\n{text}");
        env.apply(&env.clients()).success();
        let (code, text) = env.plan_exit(&env.clients());
        assert_eq!(code, 0, "step `{refused}`:\n{text}");
        assert_eq!(block_on(settings_of(&env.s3(), &bucket)), made());
    }
    // The one bucket write a create does not make (the create turns ACLs
    // off itself): Object Ownership, when it drifted.
    let bucket = format!("acme-data-{}", steps.len() - 1);
    block_on(async {
        let rule = OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::ObjectWriter)
            .build()
            .unwrap();
        env.s3()
            .put_bucket_ownership_controls()
            .bucket(&bucket)
            .ownership_controls(OwnershipControls::builder().rules(rule).build().unwrap())
            .send()
            .await
            .unwrap();
    });
    env.proxy
        .refuse_rest(&format!("PUT /{bucket}/"), "ownershipControls");
    let assert = env
        .cmd()
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .assert()
        .code(1);
    assert!(
        stderr(&assert).contains("PutBucketOwnershipControls"),
        "{}",
        stderr(&assert)
    );
    env.proxy.stop_refusing();
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains(&format!(
            "~ bucket {bucket}: object ownership ObjectWriter → BucketOwnerEnforced"
        )),
        "{text}"
    );
    env.apply(&env.clients()).success();
    assert_eq!(block_on(settings_of(&env.s3(), &bucket)), made());
}

/// A read refused at plan time stops the plan before any write.
#[test]
fn a_bucket_read_that_fails_stops_the_plan_before_any_write() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    for sub in [
        "publicAccessBlock",
        "ownershipControls",
        "encryption",
        "versioning",
        "tagging",
    ] {
        env.proxy.stop_refusing();
        env.proxy.clear();
        // A 403 on one read is what another account's bucket answers.
        env.proxy.refuse_rest("GET /acme-data/", sub);
        let assert = env
            .cmd()
            .arg("apply")
            .arg(env.clients())
            .arg("--yes")
            .assert()
            .code(1);
        assert!(
            stderr(&assert).contains("bucket `acme-data` of client `acme`"),
            "{sub}: {}",
            stderr(&assert)
        );
        assert_eq!(env.proxy.writes(), Vec::<String>::new(), "{sub}");
        assert!(
            env.s3_calls().iter().all(|c| c.starts_with("GET")),
            "{sub}: {:?}",
            env.s3_calls()
        );
    }
}

/// Without managed buckets, a no-op plan makes exactly the calls it made
/// before they existed: no S3 call at all.
#[test]
fn a_no_op_plan_without_managed_buckets_makes_no_s3_call() {
    let env = TestEnv::with_files(&[(
        "all.toml",
        &CLIENTS.replace("manage_buckets = true", "manage_buckets = false"),
    )]);
    env.apply(&env.clients()).success();
    env.proxy.clear();
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "{text}");
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

/// With managed buckets, a no-op plan reads each managed bucket with
/// exactly its settings' calls, at most five.
#[test]
fn a_no_op_plan_reads_each_managed_bucket_five_times() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    env.proxy.clear();
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "{text}");
    let mut calls = env.s3_calls();
    calls.sort();
    assert_eq!(
        calls,
        [
            "GET /acme-data/?encryption",
            "GET /acme-data/?ownershipControls",
            "GET /acme-data/?publicAccessBlock",
            "GET /acme-data/?tagging",
            "GET /acme-data/?versioning",
        ]
    );
}

/// A saved plan applies its bucket changes as reviewed, and is refused
/// when a bucket changed by hand since: its fingerprint is what plan read.
#[test]
fn a_saved_plan_is_stale_when_a_bucket_changed_since() {
    let env = Env::new();
    env.apply(&env.clients()).success();
    let s3 = env.s3();
    let suspend = |status: BucketVersioningStatus| {
        block_on(async {
            s3.put_bucket_versioning()
                .bucket("acme-data")
                .versioning_configuration(VersioningConfiguration::builder().status(status).build())
                .send()
                .await
                .unwrap();
        })
    };
    suspend(BucketVersioningStatus::Suspended);
    let saved = env.dir.path().join("plan.json");
    env.cmd()
        .arg("plan")
        .arg(env.clients())
        .arg("--out")
        .arg(&saved)
        .assert()
        .success();
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("\"bucket/acme-data\""), "{text}");
    // Block Public Access taken off by hand: the bucket is not what the
    // reviewed plan read, so it is refused.
    block_on(async {
        s3.delete_public_access_block()
            .bucket("acme-data")
            .send()
            .await
            .unwrap();
    });
    let assert = env.cmd().arg("apply").arg(&saved).assert().code(1);
    let err = stderr(&assert);
    assert!(err.contains("bucket `acme-data` was changed"), "{err}");
    assert!(err.contains("Nothing was applied."), "{err}");
    // Put back as it was when planned: the saved plan applies.
    block_on(async {
        s3.put_public_access_block()
            .bucket("acme-data")
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    env.cmd().arg("apply").arg(&saved).assert().success();
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "{text}");
}
