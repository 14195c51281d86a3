//! Tests of the test harness in `tests/common`, and of the moto behaviours
//! the project's tests rely on (or must work around).
//!
//! If one of the "moto" tests fails after a moto upgrade, the emulator
//! changed under the project: read what the test says the project assumes.

mod common;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{EntityType, Tag};
use aws_sdk_s3::primitives::ByteStream;
use common::{CountingProxy, Fault, Faults, MotoServer, iam_client, iam_client_as, s3_client};

/// An inline policy letting its holder list and read/write objects in one
/// bucket, like the ones `provision` writes for a client group.
fn bucket_policy(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",
        "Action":["s3:ListBucket","s3:GetObject","s3:PutObject"],
        "Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"]}}]}}"#
    )
}

/// The code of an IAM error that moto's IAM enforcement produced.
///
/// moto wraps these in `<ErrorResponse><Errors><Error>` (EC2's shape), not
/// IAM's `<ErrorResponse><Error>`, so the IAM SDK finds no code
/// (`code()` is `None`); this reads it from the raw body instead.
fn moto_iam_auth_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    error: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> String {
    let SdkError::ServiceError(service_error) = error else {
        panic!("expected an error answer from moto, got {error:?}")
    };
    assert_eq!(
        error.code(),
        None,
        "the SDK now parses moto's auth errors; use code()"
    );
    let body = String::from_utf8_lossy(service_error.raw().body().bytes().unwrap_or_default())
        .into_owned();
    let code = body
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"));
    code.map(|(code, _)| code.to_owned())
        .unwrap_or_else(|| panic!("no <Code> in moto's answer: {body}"))
}

async fn user_names(iam: &aws_sdk_iam::Client) -> Vec<String> {
    let users = iam.list_users().send().await.expect("ListUsers");
    users
        .users()
        .iter()
        .map(|user| user.user_name().to_owned())
        .collect()
}

#[tokio::test]
async fn proxy_records_iam_actions_and_tells_writes_from_reads() {
    let moto = MotoServer::start();
    let proxy = CountingProxy::start(&moto.url());
    let iam = iam_client(&proxy.url());

    iam.create_user()
        .user_name("alice")
        .send()
        .await
        .expect("CreateUser");
    let user = iam
        .get_user()
        .user_name("alice")
        .send()
        .await
        .expect("GetUser");
    assert_eq!(
        user.user().map(|u| u.user_name()),
        Some("alice"),
        "the proxy passes answers back"
    );
    assert_eq!(user_names(&iam).await, ["alice"]);
    iam.tag_user()
        .user_name("alice")
        .tags(Tag::builder().key("team").value("a").build().unwrap())
        .send()
        .await
        .expect("TagUser");

    assert_eq!(
        proxy.calls(),
        ["CreateUser", "GetUser", "ListUsers", "TagUser"]
    );
    assert_eq!(proxy.writes(), ["CreateUser", "TagUser"]);
    assert_eq!(proxy.count("GetUser"), 1);
    assert_eq!(proxy.count("DeleteUser"), 0);

    proxy.clear();
    assert!(proxy.calls().is_empty());
    user_names(&iam).await;
    assert_eq!(
        proxy.calls(),
        ["ListUsers"],
        "recording goes on after clear()"
    );
    assert!(proxy.writes().is_empty());
}

#[test]
fn reads_are_get_list_simulate_and_credential_reports() {
    for read in [
        "GetUser",
        "ListUsers",
        "SimulatePrincipalPolicy",
        "GenerateCredentialReport",
    ] {
        assert!(common::is_read_action(read), "{read}");
    }
    for write in [
        "CreateUser",
        "TagUser",
        "PutGroupPolicy",
        "GenerateServiceLastAccessedDetails",
    ] {
        assert!(!common::is_read_action(write), "{write}");
    }
}

#[tokio::test]
async fn proxy_records_s3_requests_as_method_and_path() {
    let moto = MotoServer::start();
    let proxy = CountingProxy::start(&moto.url());
    let s3 = s3_client(&proxy.url(), "testing", "testing");

    s3.create_bucket()
        .bucket("acme-assets")
        .send()
        .await
        .expect("CreateBucket");
    s3.put_object()
        .bucket("acme-assets")
        .key("dir/hello.txt")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .expect("PutObject");
    let object = s3
        .get_object()
        .bucket("acme-assets")
        .key("dir/hello.txt")
        .send()
        .await
        .expect("GetObject");
    let body = object
        .body
        .collect()
        .await
        .expect("read the object")
        .into_bytes();
    assert_eq!(
        &body[..],
        b"hello",
        "bodies pass through the proxy unchanged"
    );

    assert_eq!(
        proxy.calls(),
        [
            "PUT /acme-assets/",
            "PUT /acme-assets/dir/hello.txt",
            "GET /acme-assets/dir/hello.txt"
        ]
    );
    assert!(
        proxy.writes().is_empty(),
        "writes() counts IAM actions only"
    );
}

#[tokio::test]
async fn reset_forgets_every_entity() {
    let moto = MotoServer::start();
    let iam = iam_client(&moto.url());
    let s3 = s3_client(&moto.url(), "testing", "testing");
    iam.create_user()
        .user_name("alice")
        .send()
        .await
        .expect("CreateUser");
    s3.create_bucket()
        .bucket("acme-assets")
        .send()
        .await
        .expect("CreateBucket");

    moto.reset();

    assert!(user_names(&iam).await.is_empty());
    let buckets = s3.list_buckets().send().await.expect("ListBuckets");
    assert!(buckets.buckets().is_empty(), "{buckets:?}");
}

#[tokio::test]
async fn each_server_has_its_own_state() {
    let first = MotoServer::start();
    let second = MotoServer::start();
    assert_ne!(first.url(), second.url());

    iam_client(&first.url())
        .create_user()
        .user_name("alice")
        .send()
        .await
        .expect("CreateUser");

    assert_eq!(user_names(&iam_client(&first.url())).await, ["alice"]);
    assert!(user_names(&iam_client(&second.url())).await.is_empty());
}

#[tokio::test]
async fn set_auth_enforces_iam_policies_on_s3_calls() {
    let moto = MotoServer::start();
    let iam = iam_client(&moto.url());
    let admin_s3 = s3_client(&moto.url(), "testing", "testing");
    for bucket in ["acme-assets", "globex-assets"] {
        admin_s3
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("CreateBucket");
    }
    iam.create_user()
        .user_name("acme-app")
        .send()
        .await
        .expect("CreateUser");
    iam.put_user_policy()
        .user_name("acme-app")
        .policy_name("provision-s3")
        .policy_document(bucket_policy("acme-assets"))
        .send()
        .await
        .expect("PutUserPolicy");
    let key = iam
        .create_access_key()
        .user_name("acme-app")
        .send()
        .await
        .expect("CreateAccessKey");
    let key = key.access_key().expect("an access key");
    let acme = s3_client(&moto.url(), key.access_key_id(), key.secret_access_key());
    let stranger = s3_client(&moto.url(), "AKIAUNKNOWN000000000", "not-a-secret");

    // Off (moto's default): any key may do anything.
    stranger
        .list_objects_v2()
        .bucket("acme-assets")
        .send()
        .await
        .expect("no enforcement yet");

    moto.set_auth(true);
    let unknown = stranger
        .list_objects_v2()
        .bucket("acme-assets")
        .send()
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some("InvalidAccessKeyId"), "{unknown:?}");
    acme.put_object()
        .bucket("acme-assets")
        .key("a.txt")
        .body(ByteStream::from_static(b"a"))
        .send()
        .await
        .expect("the policy allows PutObject on its own bucket");
    let denied = acme
        .list_objects_v2()
        .bucket("globex-assets")
        .send()
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Some("AccessDenied"), "{denied:?}");
    // Enforcement covers IAM too, so the `testing` key is useless now.
    let iam_denied = iam.list_users().send().await.unwrap_err();
    assert_eq!(moto_iam_auth_error(&iam_denied), "InvalidClientTokenId");

    moto.set_auth(false);
    stranger
        .list_objects_v2()
        .bucket("acme-assets")
        .send()
        .await
        .expect("enforcement is off again");
    user_names(&iam).await;
}

#[tokio::test]
async fn signatures_survive_the_proxy_under_enforcement() {
    // moto checks SigV4 signatures when it enforces IAM, and the client signs
    // the proxy's Host header: the proxy must forward headers unchanged.
    let moto = MotoServer::start();
    let proxy = CountingProxy::start(&moto.url());
    let iam = iam_client(&moto.url());
    iam.create_user()
        .user_name("reader")
        .send()
        .await
        .expect("CreateUser");
    iam.put_user_policy()
        .user_name("reader")
        .policy_name("read-users")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#)
        .send()
        .await
        .expect("PutUserPolicy");
    let key = iam
        .create_access_key()
        .user_name("reader")
        .send()
        .await
        .expect("CreateAccessKey");
    let key = key.access_key().expect("an access key");

    moto.set_auth(true);
    let reader = iam_client_as(&proxy.url(), key.access_key_id(), key.secret_access_key());
    assert_eq!(user_names(&reader).await, ["reader"]);
    let denied = reader
        .create_user()
        .user_name("mallory")
        .send()
        .await
        .unwrap_err();
    assert_eq!(moto_iam_auth_error(&denied), "AccessDenied");
    assert_eq!(proxy.calls(), ["ListUsers", "CreateUser"]);
}

#[tokio::test]
async fn throttle_fault_answers_without_reaching_moto() {
    let moto = MotoServer::start();
    let proxy = CountingProxy::start(&moto.url());
    let iam = iam_client(&proxy.url());
    proxy.set_faults(Faults {
        throttle: 1.0,
        ..Faults::default()
    });

    let throttled = iam
        .create_user()
        .user_name("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(throttled.code(), Some("Throttling"), "{throttled:?}");
    assert_eq!(proxy.requests()[0].fault, Some(Fault::Throttle));

    proxy.set_faults(Faults::default());
    assert!(
        user_names(&iam).await.is_empty(),
        "the throttled call never reached moto"
    );
    assert_eq!(proxy.calls(), ["CreateUser", "ListUsers"]);
}

#[tokio::test]
async fn unavailable_fault_is_a_503() {
    let moto = MotoServer::start();
    let proxy = CountingProxy::start(&moto.url());
    proxy.set_faults(Faults {
        unavailable: 1.0,
        ..Faults::default()
    });

    let error = iam_client(&proxy.url())
        .list_users()
        .send()
        .await
        .unwrap_err();
    let SdkError::ServiceError(service_error) = &error else {
        panic!("expected a service error, got {error:?}")
    };
    assert_eq!(service_error.raw().status().as_u16(), 503);
    assert_eq!(error.code(), Some("ServiceUnavailable"));
}

#[tokio::test]
async fn dropped_response_fault_loses_the_answer_after_the_write() {
    let moto = MotoServer::start();
    let proxy = CountingProxy::start(&moto.url());
    let iam = iam_client(&proxy.url());
    // Only CreateUser is hit, so the ListUsers below goes through.
    proxy.set_faults(Faults {
        drop_response: 1.0,
        actions: vec!["CreateUser".into()],
        ..Faults::default()
    });

    let error = iam
        .create_user()
        .user_name("alice")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "the client gets no answer: {error:?}"
    );
    assert_eq!(
        user_names(&iam).await,
        ["alice"],
        "but moto carried the call out"
    );
}

#[tokio::test]
async fn fault_rates_pick_a_repeatable_share_of_requests() {
    let moto = MotoServer::start();
    let proxy = CountingProxy::start(&moto.url());
    let iam = iam_client(&proxy.url());
    let faults = Faults {
        throttle: 0.5,
        seed: 7,
        ..Faults::default()
    };

    let mut runs = Vec::new();
    for _ in 0..2 {
        proxy.set_faults(faults.clone());
        proxy.clear();
        for _ in 0..40 {
            let _ = iam.list_users().send().await;
        }
        let throttled: Vec<bool> = proxy
            .requests()
            .iter()
            .map(|call| call.fault.is_some())
            .collect();
        runs.push(throttled);
    }
    let count = runs[0].iter().filter(|&&throttled| throttled).count();
    assert!(
        (10..=30).contains(&count),
        "about half of 40 requests throttled, got {count}"
    );
    assert_eq!(
        runs[0], runs[1],
        "the same seed throttles the same requests"
    );
}

#[test]
#[should_panic(expected = "not on a loopback address")]
fn provision_command_refuses_a_non_loopback_endpoint() {
    common::provision("http://192.0.2.1:4566");
}

#[test]
#[should_panic(expected = "not a loopback address")]
fn proxy_refuses_a_non_loopback_upstream() {
    CountingProxy::start("http://192.0.2.1:4566");
}

// ---- moto 5.2.5 behaviours the project's tests depend on ----

/// The project reads the managed marker (`managed-by=provision`) and email
/// from tags in GetAccountAuthorizationDetails, so moto must return them
/// there, whether set by CreateUser or by TagUser.
#[tokio::test]
async fn moto_returns_user_tags_in_account_authorization_details() {
    let moto = MotoServer::start();
    let iam = iam_client(&moto.url());
    let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build().unwrap();
    iam.create_user()
        .user_name("alice")
        .path("/provision/")
        .tags(tag("managed-by", "provision"))
        .send()
        .await
        .expect("CreateUser with tags");
    iam.create_user()
        .user_name("bob")
        .send()
        .await
        .expect("CreateUser");
    iam.tag_user()
        .user_name("bob")
        .tags(tag("email", "bob@example.com"))
        .send()
        .await
        .expect("TagUser");

    let details = iam
        .get_account_authorization_details()
        .filter(EntityType::User)
        .send()
        .await
        .expect("GetAccountAuthorizationDetails");
    let tags_of = |name: &str| -> Vec<(String, String)> {
        let user = details
            .user_detail_list()
            .iter()
            .find(|u| u.user_name() == Some(name))
            .unwrap();
        user.tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect()
    };
    assert_eq!(
        tags_of("alice"),
        [("managed-by".to_owned(), "provision".to_owned())]
    );
    assert_eq!(
        tags_of("bob"),
        [("email".to_owned(), "bob@example.com".to_owned())]
    );
    let alice = details
        .user_detail_list()
        .iter()
        .find(|u| u.user_name() == Some("alice"))
        .unwrap();
    assert_eq!(alice.path(), Some("/provision/"));
}

// Plain moto accepts a permissions boundary on CreateUser but drops it, and
// lacks PutUserPermissionsBoundary; the test server adds both
// (tests/moto_ext/patches/boundaries.py), checked in tests/moto_ext.rs.

/// moto ignores MaxItems on ListUsers (everything comes in one page, never
/// truncated), and on GetAccountAuthorizationDetails too, which the
/// project's patch (`tests/moto_ext/patches/gaad_pagination.py`) fixes so
/// that observation's pagination is tested against moto.
#[tokio::test]
async fn moto_paginates_account_details_only_with_the_project_patch() {
    let moto = MotoServer::start();
    let iam = iam_client(&moto.url());
    for n in 0..5 {
        iam.create_user()
            .user_name(format!("user{n}"))
            .send()
            .await
            .expect("CreateUser");
    }

    let mut names = Vec::new();
    let mut marker = None;
    let mut pages = 0;
    loop {
        let details = iam
            .get_account_authorization_details()
            .filter(EntityType::User)
            .max_items(2)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("GetAccountAuthorizationDetails");
        pages += 1;
        assert!(details.user_detail_list().len() <= 2);
        names.extend(
            details
                .user_detail_list()
                .iter()
                .filter_map(|u| u.user_name().map(str::to_owned)),
        );
        if !details.is_truncated() {
            assert_eq!(details.marker(), None);
            break;
        }
        marker = details.marker().map(str::to_owned);
        assert!(marker.is_some(), "a truncated page must carry a marker");
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["user0", "user1", "user2", "user3", "user4"]);

    let users = iam
        .list_users()
        .max_items(2)
        .send()
        .await
        .expect("ListUsers");
    assert_eq!(users.users().len(), 5);
    assert!(!users.is_truncated());
}
