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
