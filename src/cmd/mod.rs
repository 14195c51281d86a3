//! The subcommands, one file each. `main` parses the flags and calls one
//! `run`; a command loads the configuration, reads the account, plans and
//! acts by calling the modules that do one job each (`config`, `observe`,
//! `plan`, `apply`, `report`, `render`), says what happened through the
//! [`Printer`], and returns an [`ExitStatus`].
//!
//! Only commands print. What several commands share has a file of its own:
//! reading the configuration ([`configuration`]), the apply lock held
//! around a command's writes ([`locked`]), the delivery of new secrets
//! ([`secrets`]) and the edits `onboard` and `offboard` make ([`edits`]).

use crate::aws::{self, Aws, ConnectOptions};
use crate::terminal::Printer;

pub mod apply;
pub mod audit;
pub mod completions;
mod configuration;
mod edits;
mod exit;
pub mod import;
mod locked;
pub mod man;
pub mod offboard;
pub mod onboard;
pub mod plan;
pub mod policy;
pub mod report;
pub mod rotate_key;
pub mod schema;
mod secrets;
pub mod unlock;
pub mod validate;
pub mod verify;

pub use configuration::note_default_configuration;
pub use exit::ExitStatus;

/// What every command gets besides its own flags: the global flags and the
/// printer.
#[derive(Debug, Clone)]
pub struct Context {
    /// Where and as whom to connect.
    pub connect: ConnectOptions,
    /// `--api-stats`: print the AWS calls made, by operation, on exit.
    pub api_stats: bool,
    pub printer: Printer,
}

impl Context {
    /// The AWS clients, built from the configuration chain and the flags.
    async fn aws(&self) -> Aws {
        aws::connect(&self.connect).await
    }

    /// With `--api-stats`, the calls `aws` made, as one JSON line on stderr.
    fn print_stats(&self, aws: &Aws) {
        if self.api_stats {
            let counts = aws.calls.snapshot();
            self.printer.line(format_args!(
                "api-calls: {}",
                serde_json::json!({
                    "total": aws.calls.total(),
                    "throttled": aws.calls.throttled(),
                    "by_operation": counts,
                })
            ));
        }
    }
}
