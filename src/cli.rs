//! The command line, as clap definitions. Dispatch lives in `main.rs`; the
//! work lives in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Give every client of an agency its own isolated corner of one AWS account.
#[derive(Debug, Parser)]
#[command(name = "provision", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct Global {
    /// AWS profile to use (else the standard credential chain).
    #[arg(long, global = true, env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: Option<String>,
    /// AWS region; IAM is global, so this rarely matters (default us-east-1).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Send AWS calls to this endpoint, e.g. a local emulator
    /// (`AWS_ENDPOINT_URL` works too).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Print the number of AWS calls made, by operation, to stderr on exit.
    #[arg(long, global = true, hide = true)]
    pub api_stats: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check clients files offline; makes no AWS call.
    Validate {
        /// `.toml` files or directories of them.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Converge the account to the clients files.
    Apply(ApplyArgs),
    /// Show who can reach which client's buckets; exit 1 on a leak.
    ///
    /// Evaluates the account's live policies for every managed principal x
    /// every client bucket and distribution, and exits 1 if any principal
    /// reaches another client's resources.
    Verify(VerifyArgs),
}

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// `.toml` files or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 2 when there are changes, 0 when there are none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// `.toml` files or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Apply without asking for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Write each new secret access key to `DIR/<user>.json` (mode 0600)
    /// instead of printing it once at the end.
    #[arg(long, value_name = "DIR")]
    pub credentials_dir: Option<PathBuf>,
    /// How many AWS calls may be in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// Output formats of `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// `.toml` files or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
    pub format: VerifyFormat,
    /// Cross-check every answer with `iam:SimulatePrincipalPolicy` (one call
    /// per principal); fails if the account does not support it.
    #[arg(long)]
    pub simulate: bool,
}
