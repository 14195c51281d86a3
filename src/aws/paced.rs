//! The HTTP client every AWS call goes through: it waits for the [`Pacer`],
//! counts each attempt, and sends a throttled attempt again once the pacer
//! allows, so throttling costs time, not calls given up.
//!
//! Why here and not in the SDK's retry strategy: the SDK's interceptors are
//! synchronous (a pacer cannot wait in them), its retry strategy cannot be
//! replaced on the IAM client, and its own adaptive mode thrashes from a
//! cold start (see BENCHMARKS.md). The HTTP connector is the one async step
//! every attempt of every call passes through, the SDK's own retries
//! included, so every attempt is paced and counted, and every throttled
//! answer feeds the pacer, without touching each call site.
//!
//! A throttled attempt is sent again as it was signed, for as long as the
//! signature stays valid ([`RESEND_WINDOW`]); past that the throttle goes
//! back to the SDK, which signs the call anew and retries it (up to its
//! attempt limit), through this connector again.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

use super::CallCounter;
use super::pacer::Pacer;

/// How long after signing a throttled attempt is sent again unchanged. AWS
/// refuses a request whose signature is more than 5 minutes old.
const RESEND_WINDOW: Duration = Duration::from_secs(240);

/// The operation's name, put on each request by [`CallCounter`] so the
/// connector can count attempts by operation.
#[derive(Debug, Clone)]
pub(super) struct OperationName(pub(super) Arc<str>);

/// One pacer, shared by every call of the clients built with it.
#[derive(Debug, Clone)]
pub struct SharedPacer(Arc<Mutex<Pacer>>);

impl SharedPacer {
    pub fn new() -> SharedPacer {
        SharedPacer(Arc::new(Mutex::new(Pacer::new(Instant::now()))))
    }

    fn lock(&self) -> MutexGuard<'_, Pacer> {
        // The state is a few numbers, valid after any panic.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The rate the pacer holds now, `None` while it does not pace.
    pub fn rate(&self) -> Option<f64> {
        self.lock().rate()
    }
}

impl Default for SharedPacer {
    fn default() -> Self {
        SharedPacer::new()
    }
}

/// An [`HttpClient`] that paces and counts the connectors of `inner`.
#[derive(Debug)]
pub(super) struct PacedClient {
    pub(super) inner: SharedHttpClient,
    pub(super) pacer: SharedPacer,
    pub(super) calls: CallCounter,
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pacer: self.pacer.clone(),
            calls: self.calls.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pacer: SharedPacer,
    calls: CallCounter,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let pacer = self.pacer.clone();
        let calls = self.calls.clone();
        HttpConnectorFuture::new(send_paced(inner, pacer, calls, request))
    }
}

/// Waits for the pacer, sends, and on a throttled answer waits and sends
/// again while the signature is fresh.
async fn send_paced(
    inner: SharedHttpConnector,
    pacer: SharedPacer,
    calls: CallCounter,
    request: HttpRequest,
) -> Result<HttpResponse, ConnectorError> {
    let signed = Instant::now();
    let name = request
        .extension::<OperationName>()
        .map_or_else(|| Arc::from("unknown"), |n| Arc::clone(&n.0));
    let mut original = Some(request);
    loop {
        let (wait, ticket) = pacer.lock().reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        // A body that cannot be copied (a stream) is sent once; AWS API
        // bodies provision sends are all in memory.
        let attempt = match original.as_ref().and_then(HttpRequest::try_clone) {
            Some(copy) => copy,
            None => original.take().ok_or_else(|| {
                ConnectorError::other("the request was already sent once".into(), None)
            })?,
        };
        calls.attempt(&name);
        let mut response = inner.call(attempt).await?;
        if may_be_throttle(response.status().as_u16()) {
            let body = ByteStream::new(response.take_body())
                .collect()
                .await
                .map_err(|e| ConnectorError::io(e.into()))?
                .into_bytes();
            let throttled = is_throttle_body(&body);
            *response.body_mut() = SdkBody::from(body);
            if throttled {
                pacer.lock().throttled(Instant::now(), ticket);
                calls.throttle();
                tracing::debug!(operation = %name, "throttled; sending again when paced");
                if original.is_some() && signed.elapsed() < RESEND_WINDOW {
                    continue;
                }
                return Ok(response);
            }
        }
        pacer.lock().accepted(Instant::now());
        return Ok(response);
    }
}

/// The statuses AWS throttles with: 400 (query protocol: IAM, STS), 429
/// and 503 (S3's `SlowDown`).
fn may_be_throttle(status: u16) -> bool {
    matches!(status, 400 | 429 | 503)
}

/// The error codes that mean "too fast" (the SDKs' list, less
/// `LimitExceededException`, which is a quota in some services, not a
/// rate). XML errors carry them in `<Code>`, JSON ones in `__type`.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
];

fn is_throttle_body(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    THROTTLING_CODES.iter().any(|code| {
        text.contains(&format!("<Code>{code}</Code>"))
            || text.contains(&format!("\"__type\":\"{code}\""))
            || text.contains(&format!("#{code}\""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_are_told_from_other_errors_by_code() {
        assert!(is_throttle_body(
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"
        ));
        assert!(is_throttle_body(
            b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        ));
        assert!(is_throttle_body(
            br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
        ));
        // Near misses: a quota, a missing entity, a code merely mentioned.
        assert!(!is_throttle_body(
            b"<Error><Code>LimitExceeded</Code><Message>Throttling is not this</Message></Error>"
        ));
        assert!(!is_throttle_body(
            b"<Error><Code>NoSuchEntity</Code></Error>"
        ));
        assert!(!is_throttle_body(br#"{"__type":"LimitExceededException"}"#));
    }
}
