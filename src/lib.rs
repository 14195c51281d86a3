//! provision: one isolated corner of an AWS account per client.
//!
//! The flow runs one way: `config` (TOML with spans) -> `model` (desired
//! state) -> `plan` (a pure diff against the `observe`d state) -> `apply`
//! (the executor). `plan` and `policy` do no IO.

pub mod apply;
pub mod aws;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod model;
pub mod observe;
pub mod plan;
pub mod policy;
pub mod render;
pub mod report;
pub mod safe_write;
pub mod terminal;
