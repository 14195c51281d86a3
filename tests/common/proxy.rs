//! A counting (and, on request, misbehaving) reverse proxy in front of moto.
//!
//! Guarantees such as "a no-op apply makes no write call" are about the
//! calls `provision` sends, which moto does not report. The binary is pointed
//! at this proxy instead of at moto; the proxy forwards every request
//! unchanged and writes down which AWS action it was.
//!
//! [`Faults`] make the proxy answer like a struggling AWS: throttling, 503s,
//! latency, and responses lost after the call took effect, the cases the
//! convergence guarantee is about. All rates are zero by default.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue, TRANSFER_ENCODING};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Misbehaviour to inject, each rate a fraction of matching requests in
/// `0.0..=1.0`. The default injects nothing.
///
/// Which requests fail is decided by a pseudo-random sequence from `seed`,
/// so a failing test fails the same way when run again (as long as requests
/// arrive in the same order).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Answered, without reaching moto, with the error AWS sends when a
    /// caller is rate limited: `Throttling` (HTTP 400) for IAM/STS,
    /// `SlowDown` (HTTP 503) for S3.
    pub throttle: f64,
    /// Answered, without reaching moto, with HTTP 503 `ServiceUnavailable`.
    pub unavailable: f64,
    /// Forwarded to moto, which carries the call out, and then the connection
    /// is closed without an answer: the client cannot tell whether its write
    /// happened.
    pub drop_response: f64,
    /// Added before every matching request is forwarded.
    pub latency: Duration,
    /// Only requests whose action (as in [`CountingProxy::calls`]) is listed
    /// here get faults; empty means every request.
    pub actions: Vec<String>,
    /// Seed of the sequence that picks the failing requests.
    pub seed: u64,
    /// A token bucket in front of the account, as IAM has: a request that
    /// finds it empty is answered `Throttling` (like [`throttle`](Self::throttle)),
    /// one that finds a token is forwarded. `None`: no limit.
    pub rate_limit: Option<RateLimit>,
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up, full at
/// the start. Each operation family has its own bucket, as each IAM API has
/// its own in an account.
#[derive(Clone, Debug)]
pub struct RateLimit {
    pub rate: f64,
    pub burst: f64,
    pub family: Family,
}

/// Which requests share a bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// One bucket for every request: the strictest account.
    All,
    /// One bucket per action (`CreateUser`, `AddUserToGroup`, ...).
    Action,
}

impl RateLimit {
    /// One bucket for every request, `rate` a second with `burst`.
    pub fn all(rate: f64, burst: f64) -> RateLimit {
        RateLimit {
            rate,
            burst,
            family: Family::All,
        }
    }
}

/// What the proxy did with a request instead of passing the answer back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// See [`Faults::throttle`].
    Throttle,
    /// See [`Faults::unavailable`].
    Unavailable,
    /// See [`Faults::drop_response`].
    DropResponse,
    /// Answered `AccessDenied`, as chosen by [`CountingProxy::refuse`].
    Refused,
}

/// One request the proxy received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The IAM/STS action (`CreateUser`), or for S3 `METHOD /path`.
    pub action: String,
    /// True for the query protocol (IAM, STS), false for REST (S3) and
    /// JSON (SSM, Secrets Manager).
    pub query_protocol: bool,
    /// True for the JSON protocol (SSM, Secrets Manager), whose action is
    /// in the `X-Amz-Target` header and whose body is a JSON object.
    pub json_protocol: bool,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
    /// The query-protocol parameters (`UserName=acme-app&...`, still
    /// percent-encoded), the JSON protocol's body, or a REST request's
    /// query string (S3's `policy` in `PUT /bucket?policy`).
    pub params: String,
    /// When the proxy received it: lets a test order the calls of two
    /// processes, each behind its own proxy.
    pub at: std::time::Instant,
    /// For a REST (S3) request, its subresource: the first query key other
    /// than `x-id` (`publicAccessBlock`, `tagging`), or empty for none
    /// (`CreateBucket` is `PUT /bucket` with no subresource).
    pub subresource: String,
    /// The `x-amz-expected-bucket-owner` header, when sent.
    pub expected_owner: Option<String>,
}

impl Call {
    /// The value of query-protocol parameter `name`, or of the JSON
    /// protocol's top-level string field `name`, if present.
    pub fn param(&self, name: &str) -> Option<String> {
        if self.json_protocol {
            return json_param(self.params.as_bytes(), name);
        }
        form_param(self.params.as_bytes(), name)
    }
}

impl Call {
    /// True for a query-protocol action that changes state, by its name:
    /// anything but `Get*`, `List*`, `Simulate*` and
    /// `GenerateCredentialReport` (which only prepares a report).
    pub fn is_write(&self) -> bool {
        (self.query_protocol || self.json_protocol) && !is_read_action(&self.action)
    }

    /// True for a call on provision's apply lock: the managed policy named
    /// `provision-lock-...` (see `src/policy/arn.rs`).
    pub fn is_lock_call(&self) -> bool {
        let named = |key: &str| {
            self.param(key)
                .is_some_and(|v| v.contains(provision::policy::arn::LOCK_NAME_PREFIX))
        };
        named("PolicyName") || named("PolicyArn")
    }
}

/// True for IAM/STS actions that only read.
pub fn is_read_action(action: &str) -> bool {
    ["Get", "List", "Simulate"]
        .iter()
        .any(|prefix| action.starts_with(prefix))
        || action == "GenerateCredentialReport"
}

/// State shared between the test and the proxy's thread.
#[derive(Default)]
struct Shared {
    calls: Mutex<Vec<Call>>,
    faults: Mutex<Faults>,
    /// Numbers the requests, as the input of the fault sequence.
    requests: AtomicU64,
    /// Requests after this many (counted in `calls`) are held: neither
    /// forwarded nor answered until [`CountingProxy::release`].
    hold_after: Mutex<Option<usize>>,
    /// Calls answered `AccessDenied` without reaching moto: (action,
    /// parameter, decoded value), see [`CountingProxy::refuse`].
    refusals: Mutex<Vec<(String, String, String)>>,
    /// REST calls answered `AccessDenied`: (action, subresource), see
    /// [`CountingProxy::refuse_rest`].
    rest_refusals: Mutex<Vec<(String, String)>>,
    /// The token buckets of [`Faults::rate_limit`], by family: tokens left
    /// and when they were last counted.
    buckets: Mutex<std::collections::HashMap<String, (f64, std::time::Instant)>>,
    /// Requests being handled now, and the most there ever were at once.
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// An HTTP/1.1 reverse proxy on 127.0.0.1 that records the AWS action of
/// every request; stops when dropped.
pub struct CountingProxy {
    url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl CountingProxy {
    /// Starts a proxy forwarding to `upstream`, a loopback URL such as
    /// [`MotoServer::url`](super::MotoServer::url). It accepts connections as
    /// soon as this returns.
    ///
    /// Panics if `upstream` is not `http://` on a loopback address: the tests
    /// must never send anything anywhere else.
    pub fn start(upstream: &str) -> CountingProxy {
        let upstream = loopback_addr(upstream);
        // Bound here, not on the proxy's thread, so the port is known and
        // accepting before `start` returns.
        let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind the proxy to a free port on 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("make the proxy's socket non-blocking");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let shared = Arc::new(Shared::default());
        let (shutdown, stopped) = oneshot::channel();

        // Its own thread and runtime, so it serves while the test blocks on
        // the `provision` process or on its own runtime.
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("counting-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("build the proxy's tokio runtime");
                runtime.block_on(serve(listener, upstream, thread_shared, stopped));
            })
            .expect("spawn the proxy thread");

        CountingProxy {
            url,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The URL to give `provision` or an AWS client instead of moto's.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Every request received so far, in order, with any fault injected.
    pub fn requests(&self) -> Vec<Call> {
        lock(&self.shared.calls).clone()
    }

    /// The actions of every request received so far, in order, including
    /// those answered with an injected fault.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.shared.calls)
            .iter()
            .map(|call| call.action.clone())
            .collect()
    }

    /// How many requests were for `action`.
    pub fn count(&self, action: &str) -> usize {
        lock(&self.shared.calls)
            .iter()
            .filter(|call| call.action == action)
            .count()
    }

    /// The IAM/STS actions received that change state (see
    /// [`Call::is_write`]), in order, but for those on the apply lock: every
    /// command that changes the account takes and releases it, and
    /// `tests/lock.rs` checks those calls (see [`lock_writes`](Self::lock_writes)).
    /// What is left is what provision changed in what it manages.
    pub fn writes(&self) -> Vec<String> {
        lock(&self.shared.calls)
            .iter()
            .filter(|call| call.is_write() && !call.is_lock_call())
            .map(|call| call.action.clone())
            .collect()
    }

    /// The writes on the apply lock (`CreatePolicy`, `DeletePolicy`), in
    /// order.
    pub fn lock_writes(&self) -> Vec<String> {
        lock(&self.shared.calls)
            .iter()
            .filter(|call| call.is_write() && call.is_lock_call())
            .map(|call| call.action.clone())
            .collect()
    }

    /// Forgets the requests recorded so far, e.g. after setting up state,
    /// and resets the in-flight gauge's maximum.
    pub fn clear(&self) {
        lock(&self.shared.calls).clear();
        self.shared.max_in_flight.store(0, Ordering::SeqCst);
    }

    /// Holds every request after the first `n` (counted since the last
    /// [`clear`](Self::clear)): it is recorded but neither forwarded nor
    /// answered, so exactly `n` requests reach the upstream. A test uses
    /// this to stop a client at a precise point, e.g. to kill it there.
    pub fn hold_after(&self, n: usize) {
        *lock(&self.shared.hold_after) = Some(n);
    }

    /// Stops holding; held requests are then dropped without an answer.
    pub fn release(&self) {
        *lock(&self.shared.hold_after) = None;
    }

    /// The most requests the proxy was handling at the same time (waiting
    /// for injected latency or for the upstream) since the last
    /// [`clear`](Self::clear).
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Answers every `action` call whose query parameter `param` is
    /// `value` (e.g. `PutGroupPolicy` with `GroupName` `client-zed`) with
    /// `AccessDenied`, which the SDKs do not retry, without forwarding it:
    /// one chosen call fails, as it would for an operator whose policy
    /// denies it. An empty `param` refuses every call of `action`, which is
    /// how a REST call (S3's `GET /`, which has no query parameters) is
    /// refused. For a REST call `param` is a query-string key: `("PUT
    /// /acme-data", "policy", "")` refuses S3's `PutBucketPolicy` on bucket
    /// `acme-data` and nothing else.
    pub fn refuse(&self, action: &str, param: &str, value: &str) {
        lock(&self.shared.refusals).push((action.into(), param.into(), value.into()));
    }

    /// Answers every REST call `action` (`PUT /acme-data/`) whose
    /// subresource is `subresource` (`publicAccessBlock`; empty for none,
    /// as `CreateBucket` has) with `AccessDenied`, without forwarding it:
    /// one chosen S3 operation of one bucket fails, where
    /// [`refuse`](Self::refuse) could only refuse every call of the path.
    pub fn refuse_rest(&self, action: &str, subresource: &str) {
        lock(&self.shared.rest_refusals).push((action.into(), subresource.into()));
    }

    /// Stops every refusal set with [`refuse`](Self::refuse) or
    /// [`refuse_rest`](Self::refuse_rest).
    pub fn stop_refusing(&self) {
        lock(&self.shared.refusals).clear();
        lock(&self.shared.rest_refusals).clear();
    }

    /// Injects `faults` into the requests from now on, restarting the
    /// sequence that picks them; `Faults::default()` turns injection off.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
        self.shared.requests.store(0, Ordering::SeqCst);
        lock(&self.shared.buckets).clear();
    }

    /// How many requests were answered with an injected throttle, by
    /// [`Faults::throttle`] or [`Faults::rate_limit`].
    pub fn throttled(&self) -> usize {
        lock(&self.shared.calls)
            .iter()
            .filter(|call| call.fault == Some(Fault::Throttle))
            .count()
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A panic in one test thread poisons nothing else: the data is a plain log.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn loopback_addr(url: &str) -> SocketAddr {
    let host_port = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("upstream `{url}` must be an http:// URL"))
        .trim_end_matches('/');
    let addr: SocketAddr = host_port
        .parse()
        .unwrap_or_else(|e| panic!("upstream `{url}` must be http://IP:PORT: {e}"));
    assert!(
        addr.ip().is_loopback(),
        "upstream `{url}` is not a loopback address"
    );
    addr
}

async fn serve(
    listener: std::net::TcpListener,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = TcpListener::from_std(listener).expect("register the proxy's socket with tokio");
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                // A failed accept (e.g. the client gave up) concerns only
                // that client.
                let Ok((stream, _)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(request, upstream, Arc::clone(&shared)));
                    // Errors here are clients hanging up, or a dropped
                    // response we injected on purpose.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// Records the request, applies any fault, and forwards it.
///
/// Returning `Err` makes hyper close the connection without answering, which
/// is how a dropped response is injected.
async fn handle(
    request: Request<Incoming>,
    upstream: SocketAddr,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let (parts, body) = request.into_parts();
    // The whole body is needed to read the action; AWS API bodies are small.
    let body = body.collect().await?.to_bytes();
    let (action, query_protocol) = classify(&parts, &body);
    let json_target = json_action(&parts);
    let json_protocol = json_target.is_some();
    let action = json_target.unwrap_or(action);

    let params = if query_protocol || json_protocol {
        String::from_utf8_lossy(&body).into_owned()
    } else {
        parts.uri.query().unwrap_or("").to_owned()
    };
    let _in_flight = InFlight::enter(&shared);
    let subresource = if query_protocol || json_protocol {
        String::new()
    } else {
        subresource_of(parts.uri.query().unwrap_or(""))
    };
    // S3 (signed for the `s3` service) wants its errors under a bare
    // `Error` root; CloudFront, also REST, wants IAM's `ErrorResponse`.
    let is_s3 = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("/s3/aws4_request"));
    let expected_owner = parts
        .headers
        .get("x-amz-expected-bucket-owner")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let refused_rest = !query_protocol
        && !json_protocol
        && lock(&shared.rest_refusals)
            .iter()
            .any(|(a, sub)| *a == action && *sub == subresource);
    let refused = refused_rest
        || lock(&shared.refusals).iter().any(|(a, param, value)| {
            *a == action
                && (param.is_empty()
                    || if json_protocol {
                        json_param(params.as_bytes(), param).is_some_and(|v| v == *value)
                    } else {
                        form_param(params.as_bytes(), param).is_some_and(|v| {
                            percent_encoding::percent_decode_str(&v.replace('+', " "))
                                .decode_utf8_lossy()
                                == *value
                        })
                    })
        });
    let (fault, latency) = if refused {
        (Some(Fault::Refused), Duration::ZERO)
    } else {
        match choose_fault(&shared, &action) {
            (None, latency) if !take_token(&shared, &action) => (Some(Fault::Throttle), latency),
            chosen => chosen,
        }
    };
    let number = {
        let mut calls = lock(&shared.calls);
        calls.push(Call {
            action,
            query_protocol,
            json_protocol,
            fault,
            params,
            at: std::time::Instant::now(),
            subresource,
            expected_owner,
        });
        calls.len()
    };
    if lock(&shared.hold_after).is_some_and(|n| number > n) {
        while lock(&shared.hold_after).is_some() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        return Err("request held, then dropped".into());
    }
    tokio::time::sleep(latency).await;

    match fault {
        Some(Fault::Throttle) if query_protocol => Ok(aws_error(
            StatusCode::BAD_REQUEST,
            "Throttling",
            "Rate exceeded",
        )),
        Some(Fault::Throttle) => Ok(aws_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        )),
        Some(Fault::Unavailable) => Ok(aws_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "Service is unable to handle request.",
        )),
        Some(Fault::Refused) if json_protocol => Ok(json_error(
            "AccessDeniedException",
            "User is not authorized to perform this action (refused by the test proxy)",
        )),
        // S3 answers with a bare `Error` root, which its SDK requires.
        Some(Fault::Refused) if is_s3 => {
            let mut response = aws_error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "User is not authorized to perform this action (refused by the test proxy)",
            );
            *response.body_mut() = Full::new(Bytes::from_static(
                b"<Error><Code>AccessDenied</Code><Message>User is not authorized to perform this action (refused by the test proxy)</Message><RequestId>counting-proxy</RequestId></Error>",
            ));
            Ok(response)
        }
        Some(Fault::Refused) => Ok(aws_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "User is not authorized to perform this action (refused by the test proxy)",
        )),
        Some(Fault::DropResponse) => {
            forward(upstream, Request::from_parts(parts, Full::new(body))).await?;
            Err("response dropped by fault injection".into())
        }
        None => forward(upstream, Request::from_parts(parts, Full::new(body))).await,
    }
}

/// Counts a request as in flight for as long as it lives.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> InFlight<'a> {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The AWS action of a request, and whether it uses the query protocol.
fn classify(parts: &hyper::http::request::Parts, body: &[u8]) -> (String, bool) {
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    // The SDKs put `Action` in a form body; the query string is the GET form
    // of the same protocol.
    let from_body = is_form.then(|| form_param(body, "Action")).flatten();
    let from_query = || form_param(parts.uri.query().unwrap_or("").as_bytes(), "Action");
    match from_body.or_else(from_query) {
        Some(action) => (action, true),
        None => (format!("{} {}", parts.method, parts.uri.path()), false),
    }
}

/// The subresource of a REST query: its first key other than `x-id`.
fn subresource_of(query: &str) -> String {
    query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(key, _)| key))
        .find(|key| !key.is_empty() && *key != "x-id")
        .unwrap_or_default()
        .to_owned()
}

/// The action of a JSON-protocol request (SSM, Secrets Manager): the part
/// of `X-Amz-Target` (`AmazonSSM.PutParameter`) after the dot.
fn json_action(parts: &hyper::http::request::Parts) -> Option<String> {
    let target = parts.headers.get("x-amz-target")?.to_str().ok()?;
    target.rsplit_once('.').map(|(_, action)| action.to_owned())
}

/// The top-level string field `name` of a JSON body.
fn json_param(body: &[u8], name: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get(name)?.as_str().map(str::to_owned)
}

/// An error as the JSON protocol sends it: the SDKs read `__type`.
fn json_error(code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"__type": code, "message": message}).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

/// The value of `name` in an `a=1&b=2` string; a key without `=` (S3's
/// `?policy`) has the empty value. Action names are plain ASCII words, so
/// no percent-decoding is needed.
fn form_param(form: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(form).split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| value.to_owned())
    })
}

fn choose_fault(shared: &Shared, action: &str) -> (Option<Fault>, Duration) {
    let faults = lock(&shared.faults);
    if !faults.actions.is_empty() && !faults.actions.iter().any(|a| a == action) {
        return (None, Duration::ZERO);
    }
    let n = shared.requests.fetch_add(1, Ordering::SeqCst);
    // Uniform in [0, 1): the top 53 bits of a splitmix64 step.
    let roll = (splitmix64(faults.seed ^ n) >> 11) as f64 / (1u64 << 53) as f64;
    let fault = if roll < faults.throttle {
        Some(Fault::Throttle)
    } else if roll < faults.throttle + faults.unavailable {
        Some(Fault::Unavailable)
    } else if roll < faults.throttle + faults.unavailable + faults.drop_response {
        Some(Fault::DropResponse)
    } else {
        None
    };
    (fault, faults.latency)
}

/// Takes a token from the bucket of `action`'s family; false when it is
/// empty (and the request must be throttled). True without a rate limit.
fn take_token(shared: &Shared, action: &str) -> bool {
    let Some(limit) = lock(&shared.faults).rate_limit.clone() else {
        return true;
    };
    let family = match limit.family {
        Family::All => String::new(),
        Family::Action => action.to_owned(),
    };
    let now = std::time::Instant::now();
    let mut buckets = lock(&shared.buckets);
    let (tokens, last) = buckets.entry(family).or_insert((limit.burst, now));
    *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * limit.rate).min(limit.burst);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

/// One step of splitmix64: a good enough, dependency-free hash of a counter.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An error in the XML shape that both IAM's query protocol and S3 parse:
/// the SDKs read `Code` and `Message` wherever the `Error` element sits.
fn aws_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>counting-proxy</RequestId></ErrorResponse>"
    );
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

/// Sends `request` to moto on a new connection and returns its answer.
///
/// Headers go out unchanged, `Host` included: the client signed them, and
/// moto checks the signature when it enforces IAM.
async fn forward(
    upstream: SocketAddr,
    request: Request<Full<Bytes>>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let stream = TcpStream::connect(upstream).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let (mut parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    // These describe the proxy's connection to moto, not the client's to
    // the proxy; hyper frames the collected body itself.
    parts.headers.remove(CONNECTION);
    parts.headers.remove("keep-alive");
    parts.headers.remove(TRANSFER_ENCODING);
    Ok(Response::from_parts(parts, Full::new(body)))
}
