//! Clients and commands pointed at the emulator, never at real AWS.
//!
//! Every helper here sets the endpoint, region and credentials explicitly, so
//! nothing is read from the developer's environment or `~/.aws`.

use std::time::Duration;

use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};

/// The access key id the tests use while moto does not enforce IAM; moto
/// accepts any key then. Under [`MotoServer::set_auth`](super::MotoServer::set_auth)
/// it is rejected, since no moto user owns it.
pub const TEST_ACCESS_KEY_ID: &str = "testing";
/// The secret that goes with [`TEST_ACCESS_KEY_ID`].
pub const TEST_SECRET_ACCESS_KEY: &str = "testing";
/// IAM is global; the SDKs still want a region to sign with.
pub const TEST_REGION: &str = "us-east-1";

/// A `provision` command whose AWS calls go to `endpoint_url` (moto or a
/// proxy in front of it) with dummy credentials.
///
/// Every `AWS_*` variable of the caller's environment is removed first and
/// the config and credentials files point at `/dev/null`, so a developer's
/// real profile can neither be used nor change the outcome.
pub fn provision(endpoint_url: &str) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::from_std(provision_process(endpoint_url));
    // A hung binary fails its test instead of hanging the whole run.
    command.timeout(Duration::from_secs(120));
    command
}

/// The same command as [`provision`], as a plain `std::process::Command`,
/// for a test that must spawn the process and act on it while it runs
/// (e.g. kill it).
pub fn provision_process(endpoint_url: &str) -> std::process::Command {
    assert_loopback(endpoint_url);
    // `CARGO_BIN_EXE_<name>` is set by cargo for integration tests and is
    // right whatever the target or build directory.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_provision"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .env("AWS_ENDPOINT_URL", endpoint_url)
        .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
        .env("AWS_REGION", TEST_REGION)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    command
}

/// An IAM client for `endpoint_url` signing with the default test key.
pub fn iam_client(endpoint_url: &str) -> aws_sdk_iam::Client {
    iam_client_as(endpoint_url, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY)
}

/// An IAM client for `endpoint_url` signing with the given key.
///
/// Retries are off: a test that sees an error should see the first one, and
/// a proxy's call count should not depend on the SDK's retry policy.
pub fn iam_client_as(
    endpoint_url: &str,
    access_key_id: &str,
    secret_access_key: &str,
) -> aws_sdk_iam::Client {
    assert_loopback(endpoint_url);
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(TEST_REGION))
        .endpoint_url(endpoint_url)
        .credentials_provider(credentials(access_key_id, secret_access_key))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

/// An S3 client for `endpoint_url` signing with the given key, e.g. one
/// that `provision apply` delivered; path-style, since moto has no DNS for
/// virtual-hosted buckets. Retries are off, as for [`iam_client_as`].
pub fn s3_client(
    endpoint_url: &str,
    access_key_id: &str,
    secret_access_key: &str,
) -> aws_sdk_s3::Client {
    assert_loopback(endpoint_url);
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(TEST_REGION))
        .endpoint_url(endpoint_url)
        .force_path_style(true)
        .credentials_provider(credentials(access_key_id, secret_access_key))
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// An S3 client acting as another account of the emulator: every request
/// carries moto's `x-moto-account-id` header, so a test can own a bucket
/// in an account provision does not run in.
pub fn s3_client_in_account(endpoint_url: &str, account: &str) -> aws_sdk_s3::Client {
    assert_loopback(endpoint_url);
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(TEST_REGION))
        .endpoint_url(endpoint_url)
        .force_path_style(true)
        .credentials_provider(credentials(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY))
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .interceptor(AsAccount(account.to_owned()))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// An S3 client like [`s3_client`] whose requests count as made over TLS:
/// each carries `X-Forwarded-Proto: https`, which the test server (plain
/// HTTP) reads as a TLS-terminating front's word that it was (see
/// `tests/moto_ext/patches/s3_policies.py`). Without it, a bucket policy
/// denying requests without TLS denies every request to the test server.
pub fn s3_client_over_tls(
    endpoint_url: &str,
    access_key_id: &str,
    secret_access_key: &str,
) -> aws_sdk_s3::Client {
    assert_loopback(endpoint_url);
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(TEST_REGION))
        .endpoint_url(endpoint_url)
        .force_path_style(true)
        .credentials_provider(credentials(access_key_id, secret_access_key))
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .interceptor(OverTls)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Adds `X-Forwarded-Proto: https` (see [`s3_client_over_tls`]).
#[derive(Debug)]
struct OverTls;

impl aws_smithy_runtime_api::client::interceptors::Intercept for OverTls {
    fn name(&self) -> &'static str {
        "OverTls"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-forwarded-proto", "https");
        Ok(())
    }
}

/// An IAM client acting as another account of the emulator (see
/// [`s3_client_in_account`]).
pub fn iam_client_in_account(endpoint_url: &str, account: &str) -> aws_sdk_iam::Client {
    assert_loopback(endpoint_url);
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(TEST_REGION))
        .endpoint_url(endpoint_url)
        .credentials_provider(credentials(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY))
        .retry_config(RetryConfig::disabled())
        .interceptor(AsAccount(account.to_owned()))
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

/// An S3 Control client for `endpoint_url` (the account's Block Public
/// Access). Its endpoint rules would send to `{account}.{host}`, no host
/// for a loopback address: every request goes to `endpoint_url` as given,
/// the account named by the `x-amz-account-id` header.
pub fn s3control_client(endpoint_url: &str) -> aws_sdk_s3control::Client {
    assert_loopback(endpoint_url);
    let config = aws_sdk_s3control::Config::builder()
        .behavior_version(aws_sdk_s3control::config::BehaviorVersion::latest())
        .region(aws_sdk_s3control::config::Region::new(TEST_REGION))
        .endpoint_resolver(AsGiven(endpoint_url.to_owned()))
        .credentials_provider(credentials(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY))
        .retry_config(aws_sdk_s3control::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_s3control::Client::from_conf(config)
}

/// An S3 Control endpoint resolver that answers one URL.
#[derive(Debug)]
struct AsGiven(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for AsGiven {
    fn resolve_endpoint<'a>(
        &'a self,
        _: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_smithy_types::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}

/// Adds `x-moto-account-id` to every request (see [`s3_client_in_account`]).
#[derive(Debug)]
struct AsAccount(String);

impl aws_smithy_runtime_api::client::interceptors::Intercept for AsAccount {
    fn name(&self) -> &'static str {
        "AsAccount"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

fn credentials(access_key_id: &str, secret_access_key: &str) -> Credentials {
    Credentials::new(
        access_key_id,
        secret_access_key,
        None,
        None,
        "provision-tests",
    )
}

/// Runs `future` to completion on a fresh single-threaded runtime, for plain
/// `#[test]` functions that mix SDK calls with running the binary.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio runtime")
        .block_on(future)
}

/// The tests talk to emulators on this machine only.
fn assert_loopback(url: &str) {
    let host = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split([':', '/']).next())
        .unwrap_or_else(|| panic!("`{url}` is not an http:// URL"));
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    assert!(
        loopback,
        "`{url}` is not on a loopback address; tests never call anything else"
    );
}
