//! The test server's extensions (tests/moto_ext/patches/) answer as AWS
//! documents. If a moto upgrade breaks a patch, these fail first, with a
//! message that points at the patch rather than at provision.

mod common;

use aws_sdk_iam::error::ProvideErrorMetadata;
use common::{MotoServer, block_on, iam_client};

const BOUNDARY_DOC: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

async fn create_policy(iam: &aws_sdk_iam::Client, name: &str) -> String {
    iam.create_policy()
        .policy_name(name)
        .policy_document(BOUNDARY_DOC)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

async fn boundary_of(iam: &aws_sdk_iam::Client, user: &str) -> Option<(String, String)> {
    let out = iam.get_user().user_name(user).send().await.unwrap();
    out.user().unwrap().permissions_boundary().map(|b| {
        (
            b.permissions_boundary_type().unwrap().as_str().to_owned(),
            b.permissions_boundary_arn().unwrap().to_owned(),
        )
    })
}

#[test]
fn user_permissions_boundaries_are_stored_returned_put_and_deleted() {
    let moto = MotoServer::start();
    block_on(async {
        let iam = iam_client(&moto.url());
        let first = create_policy(&iam, "First").await;
        let second = create_policy(&iam, "Second").await;

        // CreateUser stores the boundary and returns it.
        let created = iam
            .create_user()
            .user_name("alice")
            .permissions_boundary(&first)
            .send()
            .await
            .expect("the boundary patch is not loaded: CreateUser failed");
        assert_eq!(
            created
                .user()
                .unwrap()
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn()),
            Some(first.as_str()),
            "CreateUser does not return the boundary: check tests/moto_ext/patches/boundaries.py"
        );
        assert_eq!(
            boundary_of(&iam, "alice").await,
            Some(("PermissionsBoundaryPolicy".to_owned(), first.clone()))
        );

        // Put replaces it; GetAccountAuthorizationDetails reports it.
        iam.create_user().user_name("bob").send().await.unwrap();
        assert_eq!(boundary_of(&iam, "bob").await, None);
        iam.put_user_permissions_boundary()
            .user_name("bob")
            .permissions_boundary(&second)
            .send()
            .await
            .unwrap();
        let details = iam
            .get_account_authorization_details()
            .filter(aws_sdk_iam::types::EntityType::User)
            .send()
            .await
            .unwrap();
        let reported: Vec<(String, Option<String>)> = details
            .user_detail_list()
            .iter()
            .map(|u| {
                (
                    u.user_name().unwrap().to_owned(),
                    u.permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_owned),
                )
            })
            .collect();
        assert_eq!(
            reported,
            [
                ("alice".to_owned(), Some(first.clone())),
                ("bob".to_owned(), Some(second.clone())),
            ]
        );
        // ListUsers leaves boundaries out, as AWS documents.
        let listed = iam.list_users().send().await.unwrap();
        assert!(
            listed
                .users()
                .iter()
                .all(|u| u.permissions_boundary().is_none())
        );

        // Delete removes it, and deleting again is fine.
        for _ in 0..2 {
            iam.delete_user_permissions_boundary()
                .user_name("alice")
                .send()
                .await
                .unwrap();
        }
        assert_eq!(boundary_of(&iam, "alice").await, None);
    });
}

#[test]
fn boundary_operations_refuse_unknown_users_and_policies() {
    let moto = MotoServer::start();
    block_on(async {
        let iam = iam_client(&moto.url());
        let arn = create_policy(&iam, "Boundary").await;
        let missing = "arn:aws:iam::123456789012:policy/DoesNotExist";

        let err = iam
            .put_user_permissions_boundary()
            .user_name("ghost")
            .permissions_boundary(&arn)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("NoSuchEntity"));
        let err = iam
            .delete_user_permissions_boundary()
            .user_name("ghost")
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("NoSuchEntity"));

        // A boundary that does not exist: refused, and no user is created.
        let err = iam
            .create_user()
            .user_name("carol")
            .permissions_boundary(missing)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("NoSuchEntity"));
        assert!(
            err.message()
                .unwrap()
                .contains("does not exist or is not attachable")
        );
        assert!(iam.get_user().user_name("carol").send().await.is_err());

        iam.create_user().user_name("dave").send().await.unwrap();
        let err = iam
            .put_user_permissions_boundary()
            .user_name("dave")
            .permissions_boundary(missing)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("NoSuchEntity"));
        let err = iam
            .put_user_permissions_boundary()
            .user_name("dave")
            .permissions_boundary("arn:aws:s3:::not-a-policy-at-all")
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidInput"));
        assert_eq!(boundary_of(&iam, "dave").await, None);
    });
}

/// The apply lock relies on AWS refusing a second managed policy of the same
/// name, whatever its path, to exactly one of two concurrent creators, and on
/// GetPolicy returning the description and id the creator set. See
/// `tests/moto_ext/patches/policy_names.py`.
#[test]
fn policy_names_are_unique_per_account_and_taken_once() {
    let moto = MotoServer::start();
    block_on(async {
        let iam = iam_client(&moto.url());
        let created = iam
            .create_policy()
            .policy_name("Same")
            .path("/a/")
            .description("first")
            .policy_document(BOUNDARY_DOC)
            .send()
            .await
            .unwrap();
        let created = created.policy().unwrap();
        let read = iam
            .get_policy()
            .policy_arn(created.arn().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(read.policy().unwrap().description(), Some("first"));
        assert_eq!(read.policy().unwrap().policy_id(), created.policy_id());
        let again = iam
            .create_policy()
            .policy_name("Same")
            .path("/b/")
            .policy_document(BOUNDARY_DOC)
            .send()
            .await
            .expect_err("a name is unique in the account, whatever the path: check tests/moto_ext/patches/policy_names.py");
        assert_eq!(again.code(), Some("EntityAlreadyExists"));
        // AWS managed policies are another namespace.
        iam.create_policy()
            .policy_name("AdministratorAccess")
            .policy_document(BOUNDARY_DOC)
            .send()
            .await
            .unwrap();

        // Sixteen creators at once: exactly one wins.
        let attempts = (0..16).map(|i| {
            let iam = iam.clone();
            async move {
                iam.create_policy()
                    .policy_name("Race")
                    .path(format!("/p{i}/"))
                    .policy_document(BOUNDARY_DOC)
                    .send()
                    .await
            }
        });
        let results = futures_util::future::join_all(attempts).await;
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "exactly one concurrent CreatePolicy may win");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(r.code(), Some("EntityAlreadyExists"));
        }
    });
}

/// An IAM user of `iam`'s account with a key, and optionally an inline
/// policy; returns an S3 client signing as it.
async fn s3_user(
    iam: &aws_sdk_iam::Client,
    url: &str,
    name: &str,
    policy: Option<&str>,
) -> aws_sdk_s3::Client {
    iam.create_user()
        .user_name(name)
        .path("/provision/")
        .send()
        .await
        .unwrap();
    if let Some(doc) = policy {
        iam.put_user_policy()
            .user_name(name)
            .policy_name("p")
            .policy_document(doc)
            .send()
            .await
            .unwrap();
    }
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    common::s3_client(url, key.access_key_id(), key.secret_access_key())
}

/// Whether `s3` may get `bucket/k`: anything but a 403 counts as allowed.
async fn gets(s3: &aws_sdk_s3::Client, bucket: &str) -> bool {
    match s3.get_object().bucket(bucket).key("k").send().await {
        Ok(_) => true,
        Err(e) => e.raw_response().map(|r| r.status().as_u16()) != Some(403),
    }
}

/// Whether `s3` may list `bucket`.
async fn lists(s3: &aws_sdk_s3::Client, bucket: &str) -> bool {
    match s3.list_objects_v2().bucket(bucket).send().await {
        Ok(_) => true,
        Err(e) => e.raw_response().map(|r| r.status().as_u16()) != Some(403),
    }
}

const ACCOUNT: &str = "123456789012";

/// tests/moto_ext/patches/s3_policies.py: bucket policies are evaluated
/// with the caller as principal and the same-account rule; conditions see
/// `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:SecureTransport` and
/// `s3:ResourceAccount`; another account needs both sides.
#[test]
fn bucket_policies_are_evaluated_with_the_caller_as_principal() {
    let moto = MotoServer::start();
    let url = moto.url();
    block_on(async {
        let iam = iam_client(&url);
        let admin = common::s3_client(
            &url,
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        admin.create_bucket().bucket("bkt").send().await.unwrap();
        admin
            .put_object()
            .bucket("bkt")
            .key("k")
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap();
        let plain = s3_user(&iam, &url, "plain", None).await;
        let own_account = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{{"StringEquals":{{"s3:ResourceAccount":"{ACCOUNT}"}}}}}}]}}"#
        );
        let scoped = s3_user(&iam, &url, "scoped", Some(&own_account)).await;
        let elsewhere = own_account.replace(ACCOUNT, "999999999999");
        let misdirected = s3_user(&iam, &url, "misdirected", Some(&elsewhere)).await;
        let stranger_iam = common::iam_client_in_account(&url, "111111111111");
        let stranger = s3_user(
            &stranger_iam,
            &url,
            "stranger",
            Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#),
        )
        .await;
        let plain_arn = format!("arn:aws:iam::{ACCOUNT}:user/provision/plain");

        let server = &moto;
        let put = |policy: serde_json::Value| {
            let admin = admin.clone();
            async move {
                server.set_auth(false);
                admin
                    .put_bucket_policy()
                    .bucket("bkt")
                    .policy(policy.to_string())
                    .send()
                    .await
                    .unwrap();
                server.set_auth(true);
            }
        };
        let res = ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"];
        moto.set_auth(true);
        // Identity policies alone, with s3:ResourceAccount evaluated.
        assert!(!gets(&plain, "bkt").await);
        assert!(gets(&scoped, "bkt").await);
        assert!(
            !gets(&misdirected, "bkt").await,
            "s3:ResourceAccount is not evaluated"
        );
        assert!(
            !gets(&stranger, "bkt").await,
            "another account needs the bucket policy too"
        );

        // An Allow naming the user lets it in with no identity policy, for
        // what it names only; naming the account only delegates.
        put(
            serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": plain_arn},
            "Action": "s3:GetObject", "Resource": res}]}),
        )
        .await;
        assert!(
            gets(&plain, "bkt").await,
            "a bucket policy Allow by ARN is ignored"
        );
        assert!(!lists(&plain, "bkt").await);
        put(
            serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT},
            "Action": "s3:*", "Resource": res}]}),
        )
        .await;
        assert!(
            !gets(&plain, "bkt").await,
            "an account principal lets a user in by itself"
        );
        assert!(gets(&scoped, "bkt").await);

        // Another account: its account named in the bucket policy, plus its
        // own identity policy.
        put(serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111111111111"},
            "Action": "s3:*", "Resource": res}]})).await;
        assert!(gets(&stranger, "bkt").await);

        // A Deny for every principal of the account but one, by condition.
        put(serde_json::json!({"Statement": [{"Effect": "Deny", "Principal": "*",
            "Action": "s3:*", "Resource": res, "Condition": {
                "StringEquals": {"aws:PrincipalAccount": ACCOUNT},
                "ArnNotEquals": {"aws:PrincipalArn": format!("arn:aws:iam::{ACCOUNT}:user/provision/scoped")}}}]})).await;
        assert!(gets(&scoped, "bkt").await, "the Deny ignores its condition");
        assert!(!gets(&misdirected, "bkt").await);
        moto.set_auth(false);
        let mut iam_allows_plain = iam.put_user_policy();
        iam_allows_plain = iam_allows_plain
            .user_name("plain")
            .policy_name("p")
            .policy_document(&own_account);
        iam_allows_plain.send().await.unwrap();
        moto.set_auth(true);
        assert!(
            !gets(&plain, "bkt").await,
            "an explicit Deny in the bucket policy does not win"
        );
        assert!(
            !lists(&plain, "bkt").await,
            "the bucket policy is ignored for bucket-level actions"
        );

        // The test server speaks plain HTTP: aws:SecureTransport is false.
        put(
            serde_json::json!({"Statement": [{"Effect": "Deny", "Principal": "*",
            "Action": "s3:*", "Resource": res,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}),
        )
        .await;
        assert!(!gets(&scoped, "bkt").await);
        put(
            serde_json::json!({"Statement": [{"Effect": "Deny", "Principal": "*",
            "Action": "s3:*", "Resource": res,
            "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}),
        )
        .await;
        assert!(gets(&scoped, "bkt").await);
        moto.set_auth(false);
    });
}

/// `ExpectedBucketOwner`: another account's bucket answers 403
/// `AccessDenied`, the right owner is served, a missing bucket is still
/// `NoSuchBucket`.
#[test]
fn expected_bucket_owner_refuses_another_accounts_bucket() {
    let moto = MotoServer::start();
    let url = moto.url();
    block_on(async {
        let stranger = common::s3_client_in_account(&url, "111111111111");
        stranger
            .create_bucket()
            .bucket("theirs")
            .send()
            .await
            .unwrap();
        let s3 = common::s3_client(
            &url,
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        s3.create_bucket().bucket("ours").send().await.unwrap();
        let err = s3
            .get_bucket_acl()
            .bucket("theirs")
            .expected_bucket_owner(ACCOUNT)
            .send()
            .await
            .expect_err(
                "ExpectedBucketOwner is ignored: check tests/moto_ext/patches/s3_policies.py",
            );
        assert_eq!(err.code(), Some("AccessDenied"));
        s3.get_bucket_acl()
            .bucket("ours")
            .expected_bucket_owner(ACCOUNT)
            .send()
            .await
            .unwrap();
        let err = s3
            .get_bucket_policy()
            .bucket("nowhere")
            .expected_bucket_owner(ACCOUNT)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("NoSuchBucket"));
        // Without the header, nothing changes.
        s3.get_bucket_acl().bucket("theirs").send().await.unwrap();
    });
}

/// tests/moto_ext/patches/s3_bucket_settings.py: GetBucketVersioning
/// answers `<VersioningConfiguration>`, which the Rust SDK parses, with no
/// status before versioning was ever on; GetBucketEncryption answers
/// S3's default (SSE-S3) for a bucket never configured, and what was put
/// otherwise.
#[test]
fn bucket_versioning_and_default_encryption_read_as_s3_answers_them() {
    use aws_sdk_s3::types::{
        BucketVersioningStatus, ServerSideEncryption, ServerSideEncryptionByDefault,
        ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
    };
    let moto = MotoServer::start();
    block_on(async {
        let s3 = common::s3_client(
            &moto.url(),
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        s3.create_bucket()
            .bucket("settings-read")
            .send()
            .await
            .unwrap();
        let status = s3
            .get_bucket_versioning()
            .bucket("settings-read")
            .send()
            .await
            .unwrap();
        assert_eq!(status.status(), None);
        s3.put_bucket_versioning()
            .bucket("settings-read")
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let status = s3
            .get_bucket_versioning()
            .bucket("settings-read")
            .send()
            .await
            .unwrap();
        assert_eq!(status.status(), Some(&BucketVersioningStatus::Enabled));
        let algorithm =
            |out: aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput| {
                let rule = out.server_side_encryption_configuration().unwrap().rules()[0]
                    .apply_server_side_encryption_by_default()
                    .unwrap()
                    .clone();
                (
                    rule.sse_algorithm().clone(),
                    rule.kms_master_key_id().map(str::to_owned),
                )
            };
        let default = s3
            .get_bucket_encryption()
            .bucket("settings-read")
            .send()
            .await
            .unwrap();
        assert_eq!(algorithm(default), (ServerSideEncryption::Aes256, None));
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id("alias/buckets")
            .build()
            .unwrap();
        s3.put_bucket_encryption()
            .bucket("settings-read")
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(by_default)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let put = s3
            .get_bucket_encryption()
            .bucket("settings-read")
            .send()
            .await
            .unwrap();
        assert_eq!(
            algorithm(put),
            (
                ServerSideEncryption::AwsKms,
                Some("alias/buckets".to_owned())
            )
        );
        // A bucket that does not exist is still `NoSuchBucket`.
        let err = s3
            .get_bucket_versioning()
            .bucket("nowhere")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_sdk_s3::error::ProvideErrorMetadata::code(&err),
            Some("NoSuchBucket")
        );
    });
}
