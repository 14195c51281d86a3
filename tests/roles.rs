//! Keyless CI: apps that are IAM roles GitHub Actions assumes through OIDC,
//! against the emulator with the project's `web_identity` extension (which
//! reads the role's trust policy, but does not verify token signatures).

mod common;

use aws_sdk_s3::error::ProvideErrorMetadata;
use common::{TestEnv, block_on, stdout};

const FILES: &[(&str, &str)] = &[
    (
        "acme.toml",
        r#"
[[clients]]
name = "acme"
buckets = ["acme-data"]
access = "read-write"

[[clients.apps]]
name = "acme-deploy"
github = ["repo:acme-org/site:ref:refs/heads/main"]
"#,
    ),
    (
        "globex.toml",
        r#"
[[clients]]
name = "globex"
buckets = ["globex-data"]

[[clients.apps]]
name = "globex-deploy"
github = ["repo:globex-org/site:environment:*"]
"#,
    ),
];

const SUB_KEY: &str = "token.actions.githubusercontent.com:sub";

/// base64url without padding, as JWTs are written.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An unsigned token as GitHub Actions would issue it for `sub` and `aud`.
fn token(sub: &str, aud: &str) -> String {
    let header = b64url(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "sub": sub,
        "aud": aud,
    });
    format!("{header}.{}.sig", b64url(claims.to_string().as_bytes()))
}

fn sts(url: &str) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new(common::TEST_REGION))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

/// AssumeRoleWithWebIdentity on `role` with a token for `sub`: an S3
/// client with the session's credentials, or the error code.
async fn assume(url: &str, role: &str, sub: &str, aud: &str) -> Result<aws_sdk_s3::Client, String> {
    let out = sts(url)
        .assume_role_with_web_identity()
        .role_arn(format!("arn:aws:iam::123456789012:role/provision/{role}"))
        .role_session_name("ci")
        .web_identity_token(token(sub, aud))
        .send()
        .await
        .map_err(|e| {
            aws_sdk_sts::error::ProvideErrorMetadata::code(&e)
                .unwrap_or("none")
                .to_owned()
        })?;
    let c = out.credentials().unwrap();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(common::TEST_REGION))
        .endpoint_url(url)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "web-identity",
        ))
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    Ok(aws_sdk_s3::Client::from_conf(config))
}

const MAIN: &str = "repo:acme-org/site:ref:refs/heads/main";
const AUD: &str = "sts.amazonaws.com";

fn setup_buckets(url: &str) {
    block_on(async {
        let admin = common::s3_client(
            url,
            common::TEST_ACCESS_KEY_ID,
            common::TEST_SECRET_ACCESS_KEY,
        );
        for b in ["acme-data", "globex-data"] {
            admin.create_bucket().bucket(b).send().await.unwrap();
            admin
                .put_object()
                .bucket(b)
                .key("hello.txt")
                .body(b"hi".to_vec().into())
                .send()
                .await
                .unwrap();
        }
    });
}

/// With IAM enforced, a role assumed with its repository's token reaches
/// its client's bucket and is denied the other client's; tokens of another
/// repository, branch or audience get no session at all.
#[test]
fn a_role_assumed_by_its_repository_reaches_only_its_clients_buckets() {
    let env = TestEnv::with_files(FILES);
    let url = env.moto.url();
    setup_buckets(&url);
    env.apply(&env.clients()).success();
    block_on(async {
        for (sub, aud) in [
            ("repo:acme-org/other:ref:refs/heads/main", AUD),
            ("repo:acme-org/site:ref:refs/heads/dev", AUD),
            ("repo:acme-org-evil/site:ref:refs/heads/main", AUD),
            ("repo:globex-org/site:environment:prod", AUD),
            (MAIN, "other-audience"),
        ] {
            let refused = assume(&url, "acme-deploy", sub, aud).await.err();
            assert!(refused.is_some(), "{sub} ({aud}) assumed acme-deploy");
        }
        assert!(
            assume(
                &url,
                "globex-deploy",
                "repo:globex-org/site:environment:prod",
                AUD
            )
            .await
            .is_ok()
        );
    });
    let acme = block_on(assume(&url, "acme-deploy", MAIN, AUD)).unwrap();
    env.moto.set_auth(true);
    block_on(async {
        acme.get_object()
            .bucket("acme-data")
            .key("hello.txt")
            .send()
            .await
            .unwrap_or_else(|e| panic!("acme-deploy on acme-data: {e:?}"));
        acme.put_object()
            .bucket("acme-data")
            .key("built.txt")
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap();
        let denied = acme
            .get_object()
            .bucket("globex-data")
            .key("hello.txt")
            .send()
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Some("AccessDenied"), "{denied:?}");
    });
    env.moto.set_auth(false);
}

/// A repository added to the trust policy by hand is drift: the plan shows
/// it, apply takes it out, and the token that worked in between no longer
/// does.
#[test]
fn a_trust_policy_widened_by_hand_is_drift_and_reverted() {
    let env = TestEnv::with_files(FILES);
    let url = env.moto.url();
    env.apply(&env.clients()).success();
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
    let evil = "repo:evil-org/x:pull_request";
    let widened = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                "token.actions.githubusercontent.com:aud": AUD,
                SUB_KEY: [MAIN, evil],
            }},
        }],
    });
    block_on(async {
        env.iam()
            .update_assume_role_policy()
            .role_name("acme-deploy")
            .policy_document(widened.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            assume(&url, "acme-deploy", evil, AUD).await.is_ok(),
            "the hand edit let it in"
        );
    });
    let (code, out) = env.plan_exit(&env.clients());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("role `acme-deploy`"), "{out}");
    assert!(out.contains(evil), "{out}");
    assert!(out.contains("~ role-trust acme-deploy"), "{out}");
    let applied = env.apply(&env.clients()).success();
    assert!(
        stdout(&applied).contains("role-trust"),
        "{}",
        stdout(&applied)
    );
    block_on(async {
        assert!(assume(&url, "acme-deploy", evil, AUD).await.is_err());
        assert!(assume(&url, "acme-deploy", MAIN, AUD).await.is_ok());
    });
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

/// Removing the app deletes its role (with its policy); the provider stays.
#[test]
fn a_removed_app_deletes_its_role_and_keeps_the_provider() {
    let env = TestEnv::with_files(FILES);
    env.apply(&env.clients()).success();
    env.write(
        "acme.toml",
        "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-data\"]\naccess = \"read-write\"\n\n[[clients.apps]]\nname = \"acme-other\"\ngithub = [\"repo:acme-org/site:pull_request\"]\n",
    );
    env.apply(&env.clients()).success();
    block_on(async {
        let iam = env.iam();
        assert!(
            iam.get_role()
                .role_name("acme-deploy")
                .send()
                .await
                .is_err()
        );
        assert!(iam.get_role().role_name("acme-other").send().await.is_ok());
        let providers = iam.list_open_id_connect_providers().send().await.unwrap();
        assert_eq!(providers.open_id_connect_provider_list().len(), 1);
    });
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

/// A role's permissions boundary is set when the role is made, read back
/// from the account (the next plan is empty), and put back when removed by
/// hand.
#[test]
fn a_roles_boundary_is_set_read_back_and_restored() {
    const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/RoleBoundary";
    let env = TestEnv::with_files(&[(
        "acme.toml",
        &format!(
            r#"
[[clients]]
name = "acme"
buckets = ["acme-data"]

[[clients.apps]]
name = "acme-deploy"
github = ["{MAIN}"]
permissions_boundary = "{BOUNDARY}"
"#
        ),
    )]);
    let iam = common::iam_client(&env.moto.url());
    let boundary_of = || {
        block_on(async {
            let out = iam
                .get_role()
                .role_name("acme-deploy")
                .send()
                .await
                .unwrap();
            out.role()
                .unwrap()
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_owned)
        })
    };
    block_on(async {
        iam.create_policy()
            .policy_name("RoleBoundary")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    });
    env.apply(&env.clients()).success();
    assert_eq!(boundary_of().as_deref(), Some(BOUNDARY));
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 0, "the boundary must read back as set:\n{text}");
    block_on(async {
        iam.delete_role_permissions_boundary()
            .role_name("acme-deploy")
            .send()
            .await
            .unwrap();
    });
    let (code, text) = env.plan_exit(&env.clients());
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("acme-deploy") && text.contains("RoleBoundary"),
        "{text}"
    );
    env.apply(&env.clients()).success();
    assert_eq!(boundary_of().as_deref(), Some(BOUNDARY));
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}
