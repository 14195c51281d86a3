//! Building AWS clients, counting the calls they make, and classifying the
//! errors they return. Everything that knows about the SDK's configuration
//! lives here.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

mod paced;
pub mod pacer;

pub use paced::SharedPacer;

/// IAM is a global service; its endpoint lives in `us-east-1`.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where and as whom to connect; the global command-line flags.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The clients provision uses, sharing one call counter.
#[derive(Debug, Clone)]
pub struct Aws {
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    /// Only `import` uses it, to list the account's buckets.
    pub s3: aws_sdk_s3::Client,
    /// Only `verify` and `report` use it, to read the account's Block
    /// Public Access.
    pub s3control: aws_sdk_s3control::Client,
    /// Only `import` uses it, to list the account's distributions when a
    /// group grants CloudFront on `*`.
    pub cloudfront: aws_sdk_cloudfront::Client,
    /// Secret stores new access keys are delivered to (`deliver`).
    pub ssm: aws_sdk_ssm::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub calls: CallCounter,
    /// The pacer every IAM call shares (see [`pacer`]).
    pub pacer: SharedPacer,
    /// The ARN `sts:GetCallerIdentity` returned, kept by the account guard's
    /// call so that the bucket-policy layer's check of who runs provision
    /// costs no second call.
    pub caller_arn: std::sync::OnceLock<String>,
}

/// Build clients from the standard AWS configuration chain (environment,
/// profile, `AWS_ENDPOINT_URL`, ...), with the command-line flags on top.
///
/// Every IAM call waits for one shared [`pacer`], which finds the rate the
/// account allows; a throttled attempt is sent again by the paced HTTP
/// client (see `paced`). The SDK's standard retries remain for 5xx answers
/// and for throttles that outlast a signature, with more attempts than its
/// default: an apply of many changes should ride out a bad minute instead
/// of stopping halfway.
///
/// There is no timeout on a whole attempt, because an attempt includes the
/// wait for the pacer, which at a low rate is long by design; the HTTP
/// client's read timeout bounds the time AWS takes to answer instead.
pub async fn connect(options: &ConnectOptions) -> Aws {
    let region = RegionProviderChain::first_try(options.region.clone().map(Region::new))
        .or_default_provider()
        .or_else(Region::new(DEFAULT_REGION));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(10)
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_secs(10)),
        )
        // The upload side measures a request body's throughput from when
        // the attempt starts, so it would count the wait for the pacer as a
        // stalled upload; provision's bodies are small forms in memory.
        .stalled_stream_protection(
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::enabled()
                .upload_enabled(false)
                .build(),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let shared = loader.load().await;
    let calls = CallCounter::default();
    let pacer = SharedPacer::new();
    // Every client counts its calls and sends them through a pacer; only
    // IAM's pacer is shared (IAM throttles per account). The SDK crates'
    // builders are distinct types, hence a macro rather than a function.
    macro_rules! client {
        ($sdk:ident, $pacer:expr) => {
            $sdk::Client::from_conf(
                $sdk::config::Builder::from(&shared)
                    .interceptor(calls.clone())
                    .http_client(paced::PacedClient {
                        inner: https_client(),
                        pacer: $pacer,
                        calls: calls.clone(),
                    })
                    .retry_partition(no_retry_quota())
                    .build(),
            )
        };
    }
    let iam = client!(aws_sdk_iam, pacer.clone());
    // STS has its own limits; its one call per run needs no pacing beyond
    // being counted, so it gets a pacer of its own.
    let sts = client!(aws_sdk_sts, SharedPacer::new());
    // S3 throttles per bucket and prefix, not per account: like STS, its
    // calls are counted through a pacer of their own.
    let s3_pacer = SharedPacer::new();
    let s3 = client!(aws_sdk_s3, s3_pacer.clone());
    // S3 Control's one read per run is an S3 call: it shares S3's pacer.
    // Its endpoint rules put the account id in front of the host, which an
    // endpoint given as an IP address cannot take (see `AccountHost`).
    let s3control = aws_sdk_s3control::Client::from_conf(
        aws_sdk_s3control::config::Builder::from(&shared)
            .interceptor(calls.clone())
            .http_client(paced::PacedClient {
                inner: https_client(),
                pacer: s3_pacer,
                calls: calls.clone(),
            })
            .retry_partition(no_retry_quota())
            .endpoint_resolver(AccountHost::default())
            .build(),
    );
    // CloudFront's one list per import is paced like S3's.
    let cloudfront = client!(aws_sdk_cloudfront, SharedPacer::new());
    // The secret stores, like S3, throttle per service and see one call per
    // new key: counted through pacers of their own.
    let ssm = client!(aws_sdk_ssm, SharedPacer::new());
    let secretsmanager = client!(aws_sdk_secretsmanager, SharedPacer::new());
    Aws {
        iam,
        sts,
        s3,
        s3control,
        cloudfront,
        ssm,
        secretsmanager,
        calls,
        pacer,
        caller_arn: std::sync::OnceLock::new(),
    }
}

/// S3 Control's endpoint rules, with one exception for endpoints given as
/// an IP address (or `localhost`).
///
/// The rules send an account's request to `{account}.{endpoint's host}`:
/// `123456789012.s3-control.us-east-1.amazonaws.com` on AWS, and
/// `123456789012.127.0.0.1:5000` for `--endpoint-url http://127.0.0.1:5000`,
/// which is no host at all: a name cannot be put in front of an address.
/// For such an endpoint the request goes to the endpoint as given, the
/// account still named by the `x-amz-account-id` header every such call
/// carries; for every other endpoint (AWS's, a VPC endpoint, a named custom
/// one) the SDK's rules stand unchanged. The Rust SDK has no setting to
/// turn the prefix off (its rules add it, not a host-prefix trait), so this
/// wraps the SDK's default resolver, the override its configuration
/// documents (`endpoint_resolver`).
#[derive(Debug, Default)]
struct AccountHost(aws_sdk_s3control::config::endpoint::DefaultResolver);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for AccountHost {
    fn resolve_endpoint<'a>(
        &'a self,
        params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        // The trait's method: the resolver's own one of that name is private.
        let resolved =
            aws_sdk_s3control::config::endpoint::ResolveEndpoint::resolve_endpoint(&self.0, params);
        aws_sdk_s3control::config::endpoint::EndpointFuture::new(async move {
            let endpoint = resolved.await?;
            let (Some(configured), Some(account)) = (params.endpoint(), params.account_id()) else {
                return Ok(endpoint);
            };
            Ok(
                match without_account_label(endpoint.url(), configured, account) {
                    Some(url) => endpoint.into_builder().url(url).build(),
                    None => endpoint,
                },
            )
        })
    }
}

/// `url` without the `{account}.` the rules put in front of `configured`'s
/// host, when that host is an IP address or `localhost`; `None` otherwise.
fn without_account_label(url: &str, configured: &str, account: &str) -> Option<String> {
    let (scheme, rest) = configured.split_once("://")?;
    let authority = rest.split('/').next()?;
    let host = match authority.rsplit_once(':') {
        // `[::1]:5000`, `127.0.0.1:5000`; a bare `[::1]` has no port.
        Some((host, port)) if !port.contains(']') => host,
        _ => authority,
    };
    let literal = host == "localhost"
        || host.parse::<std::net::IpAddr>().is_ok()
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
    if !literal {
        return None;
    }
    let prefixed = format!("{scheme}://{account}.{authority}");
    let tail = url.strip_prefix(&prefixed)?;
    Some(format!("{scheme}://{authority}{tail}"))
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc, proxies
/// from the environment), built here because the SDK does not hand out its
/// default to be wrapped.
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// A retry partition without the standard mode's retry quota.
///
/// The quota is a token bucket shared by the whole process: each retry
/// takes tokens, and a retry that fails again keeps them. It suits a fleet
/// of services in an outage, not one apply that must finish: under
/// sustained throttling (45% of calls, in the fault tests' proxy) the bucket
/// ran dry after about 900 calls and apply stopped halfway, every failed
/// call with attempts left. The back-pressure that remains is the one that
/// matters for a single run: at most 10 attempts per call, with capped
/// exponential backoff and jitter, and `--concurrency` calls at a time.
fn no_retry_quota() -> aws_sdk_iam::config::retry::RetryPartition {
    aws_sdk_iam::config::retry::RetryPartition::custom("provision")
        .token_bucket(aws_sdk_iam::config::retry::TokenBucket::unlimited())
        .build()
}

/// Counts every attempt sent, by operation name, and the attempts AWS
/// throttled. Retries count: they are what the account's throttling budget
/// pays for. As an interceptor it names each request's operation; the paced
/// HTTP client counts the attempts, its own resends included.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    throttled: Arc<std::sync::atomic::AtomicU64>,
}

impl CallCounter {
    /// A snapshot of the counts so far, by operation name.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The total number of attempts so far.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// How many attempts AWS answered with a throttling error so far.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn attempt(&self, name: &str) {
        // The operation's name only: parameters and bodies may hold names
        // worth keeping out of logs, and responses may hold secrets.
        tracing::debug!(operation = %name, "AWS call");
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(name.to_owned()).or_default() += 1;
        }
    }

    fn throttle(&self) {
        self.throttled
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "provision-call-counter"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg.load::<Metadata>().map_or("unknown", |m| m.name());
        context
            .request_mut()
            .add_extension(paced::OperationName(name.into()));
        Ok(())
    }
}

/// The AWS error code of an SDK error, when the service sent one.
pub fn error_code<E: ProvideErrorMetadata>(err: &E) -> Option<&str> {
    err.code()
}

/// A one-line description of an SDK error for people: the service's code and
/// message when there is one, else the error chain (connection refused,
/// timeout, ...). Never includes request bodies, so never a secret.
pub fn describe<E>(err: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => {
            let mut text = err.to_string();
            let mut source = err.source();
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::without_account_label;

    #[test]
    fn the_account_label_is_dropped_only_before_an_address() {
        let account = "123456789012";
        for (configured, url, expected) in [
            (
                "http://127.0.0.1:5000",
                "http://123456789012.127.0.0.1:5000",
                Some("http://127.0.0.1:5000"),
            ),
            (
                "http://localhost:5000/",
                "http://123456789012.localhost:5000/",
                Some("http://localhost:5000/"),
            ),
            (
                "http://[::1]:5000",
                "http://123456789012.[::1]:5000",
                Some("http://[::1]:5000"),
            ),
            (
                "http://10.0.0.7",
                "http://123456789012.10.0.0.7",
                Some("http://10.0.0.7"),
            ),
            // A named endpoint can take the label: the rules stand.
            (
                "https://s3-control.example.com",
                "https://123456789012.s3-control.example.com",
                None,
            ),
            // A host that only looks like an address is a name.
            (
                "http://127.0.0.1.example.com",
                "http://123456789012.127.0.0.1.example.com",
                None,
            ),
            // No label to drop (another account's, or none).
            (
                "http://127.0.0.1:5000",
                "http://999999999999.127.0.0.1:5000",
                None,
            ),
            ("http://127.0.0.1:5000", "http://127.0.0.1:5000", None),
        ] {
            assert_eq!(
                without_account_label(url, configured, account).as_deref(),
                expected,
                "{configured} {url}"
            );
        }
    }
}
