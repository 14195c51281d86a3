//! provision: one isolated corner of an AWS account per client.
//!
//! The flow runs one way: `config` (TOML with spans) -> `model` (desired
//! state) -> `plan` (a pure diff against the `observe`d state) -> `apply`
//! (the executor). `plan` and `policy` do no IO.
//!
//! Where to start reading:
//! - [`cmd`]: one file per subcommand; `cmd::plan` and `cmd::apply` show
//!   the whole loop in a few calls.
//! - [`plan::plan`]: checks its inputs, then runs one named step per kind of
//!   entity; every decision about ownership and ordering is there.
//! - [`policy`]: the group policy provision writes, and how `verify` decides
//!   what a principal can reach.
//! - [`apply`]: the executor, one function per change kind.
//!
//! Each module may use only the ones before it in the flow; the test in
//! `layering.rs` enforces it, and that only [`cmd`] prints.

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

#[cfg(test)]
mod layering;
