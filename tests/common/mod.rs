//! The harness shared by the integration tests: a real AWS API (moto's
//! server) per test, a proxy that counts the calls made to it, and clients
//! and `provision` commands pointed at them. Include it with `mod common;`.
//!
//! ```ignore
//! let moto = MotoServer::start();
//! let proxy = CountingProxy::start(&moto.url());
//! provision(&proxy.url()).args(["apply", "clients/", "--yes"]).assert().success();
//! assert_eq!(proxy.writes(), Vec::<String>::new());
//! ```

// Each test file compiles its own copy of this module and uses only part of
// it; the rest would be reported as dead code once per file.
#![allow(dead_code, unused_imports)]

mod aws;
mod env;
mod moto;
mod proxy;

pub use aws::{
    TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY, block_on, iam_client, iam_client_as,
    iam_client_in_account, provision, provision_process, s3_client, s3_client_in_account,
    s3_client_over_tls, s3control_client,
};
pub use env::{TestEnv, read_key, stderr, stdout};
pub use moto::{MotoServer, free_loopback_port, http_request, moto_venv};
pub use proxy::{Call, CountingProxy, Family, Fault, Faults, RateLimit, is_read_action};
