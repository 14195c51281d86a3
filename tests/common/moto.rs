//! A private moto server per test.
//!
//! Tests run in parallel threads and moto keeps one global state per server,
//! so sharing a server would make tests see each other's users. Starting one
//! is cheap enough to give every test its own: about 0.3 s alone, 1.4 s each
//! when eight start at once on a 2-core machine (measured with moto 5.2.5).
//! [`MotoServer::reset`] (about 10 ms) suits a test that needs a clean slate
//! halfway through.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long moto gets to start answering before the test gives up. A cold
/// start on a loaded 2-core CI machine has been seen at a few seconds; 30 s
/// only ever expires when something is really wrong.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times to try another port when moto loses the race for the one
/// we picked (see [`MotoServer::start`]).
const START_ATTEMPTS: usize = 5;

/// A `moto_server` process bound to 127.0.0.1 on a free port, killed on drop.
///
/// If the test panics while the server is alive, the server's log is printed
/// to stderr, where the test harness shows it with the failure.
pub struct MotoServer {
    child: Child,
    port: u16,
    log_path: PathBuf,
    /// Holds the log file; removed when the server is dropped.
    _dir: TempDir,
}

impl MotoServer {
    /// Starts a fresh moto server and waits until it answers.
    ///
    /// Panics with instructions when moto is not installed, and with moto's
    /// log when it does not come up.
    pub fn start() -> MotoServer {
        let moto_server = moto_server_path();
        let dir = tempfile::Builder::new()
            .prefix("provision-moto-")
            .tempdir()
            .expect("create a temporary directory for moto's log");
        let log_path = dir.path().join("moto.log");

        // moto cannot be handed a listening socket, so we pick a free port and
        // release it for moto to bind. Another process may grab it in between;
        // moto then exits with "Address already in use" and we try again.
        for _ in 0..START_ATTEMPTS {
            let port = free_loopback_port();
            let log = File::create(&log_path).expect("create moto's log file");
            let mut child = Command::new(&moto_server)
                .arg(moto_ext_launcher())
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone moto's log file handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("could not run `{}`: {e}", moto_server.display()));
            match wait_until_ready(&mut child, port, &log_path) {
                Ok(()) => {
                    return MotoServer {
                        child,
                        port,
                        log_path,
                        _dir: dir,
                    };
                }
                Err(Retry::OtherPort) => {}
                Err(Retry::GiveUp(why)) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("{why}\n--- moto log ---\n{}", read_log(&log_path));
                }
            }
        }
        panic!("moto could not bind a free port on 127.0.0.1 in {START_ATTEMPTS} attempts")
    }

    /// The base URL to give an AWS client, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback port moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Forgets every IAM and S3 entity (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let (status, body) = self.post("/moto-api/reset", "");
        assert_eq!(status, 200, "moto reset failed: {body}");
    }

    /// Makes access key `id` `days` days older, as time would (see
    /// `moto_ext/patches/backdate_access_keys.py`).
    pub fn backdate_access_key(&self, id: &str, days: u32) {
        let body = format!("{{\"AccessKeyId\": \"{id}\", \"Days\": {days}}}");
        let (status, response) = self.post("/moto-api/provision/backdate-access-key", &body);
        assert_eq!(status, 200, "backdating {id} failed: {response}");
    }

    /// Turns moto's IAM policy enforcement on or off.
    ///
    /// With enforcement on, every call, IAM and STS included, must be signed
    /// with an access key that exists in moto and whose policies allow the
    /// action; the tests' default `testing` key then gets
    /// `InvalidClientTokenId`/`InvalidAccessKeyId`. So set up state first,
    /// then enforce, then use delivered keys.
    pub fn set_auth(&self, enforce: bool) {
        // The body is the number of requests moto lets through before it
        // starts enforcing: 0 enforces at once, `inf` never does.
        let body = if enforce { "0" } else { "inf" };
        let (status, response) = self.post("/moto-api/reset-auth", body);
        assert_eq!(status, 200, "moto reset-auth failed: {response}");
    }

    /// Everything moto has printed so far: its request log and tracebacks.
    pub fn log(&self) -> String {
        read_log(&self.log_path)
    }

    fn post(&self, path: &str, body: &str) -> (u16, String) {
        http_request(self.port, "POST", path, body).unwrap_or_else(|e| {
            panic!("POST {path} to moto: {e}\n--- moto log ---\n{}", self.log())
        })
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- moto log ({}) ---\n{}", self.url(), self.log());
        }
    }
}

/// Waits for moto's "Running on" line (so the port is ours, not a stranger's
/// that happened to take it), then for an answer over HTTP.
fn wait_until_ready(child: &mut Child, port: u16, log_path: &Path) -> Result<(), Retry> {
    let deadline = Instant::now() + START_TIMEOUT;
    let banner = format!("Running on http://127.0.0.1:{port}");
    loop {
        if let Some(status) = child.try_wait().expect("poll moto's process") {
            return Err(if read_log(log_path).contains("Address already in use") {
                Retry::OtherPort
            } else {
                Retry::GiveUp(format!("moto_server exited early with {status}"))
            });
        }
        if read_log(log_path).contains(&banner)
            && http_request(port, "GET", "/moto-api/", "").is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Retry::GiveUp(format!(
                "moto_server did not answer on port {port} within {START_TIMEOUT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log: {e})"))
}

enum Retry {
    OtherPort,
    GiveUp(String),
}

/// Where `scripts/setup-moto` installs moto; the same default as the script.
pub fn moto_venv() -> PathBuf {
    match std::env::var_os("PROVISION_MOTO_VENV") {
        Some(venv) => PathBuf::from(venv),
        None => {
            let home = std::env::var_os("HOME").expect("HOME is not set; set PROVISION_MOTO_VENV");
            PathBuf::from(home).join(".cache/provision-moto")
        }
    }
}

fn moto_server_path() -> PathBuf {
    let path = moto_venv().join("bin/python");
    assert!(
        path.exists() && moto_venv().join("bin/moto_server").exists(),
        "moto not found in `{}`: run `scripts/setup-moto` (or `scripts/test`, which runs it) to install it",
        moto_venv().display()
    );
    path
}

/// The launcher that starts moto with the project's test-only extensions
/// (see `tests/moto_ext/server.py`).
pub fn moto_ext_launcher() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/moto_ext/server.py")
}

/// A port that was free on 127.0.0.1 a moment ago.
pub fn free_loopback_port() -> u16 {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .and_then(|listener| listener.local_addr())
        .expect("bind a free port on 127.0.0.1")
        .port()
}

/// One blocking HTTP/1.1 request to 127.0.0.1:`port`, returning the status
/// code and body.
///
/// Hand-rolled because the harness needs only moto's two control endpoints,
/// which answer small bodies on a fresh connection each time. The body is
/// sent as `text/plain`: with a form content type, moto's Flask app parses
/// the body as a form and `reset-auth` then sees an empty body and fails.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Ok((status, body.to_owned()))
}
