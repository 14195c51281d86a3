//! `provision completions SHELL`: a completion script, from the same clap
//! definition as `--help`.

use std::io::{self, Write};

use anyhow::Result;

use super::ExitStatus;
use crate::cli::Cli;

/// `provision completions SHELL`.
pub fn run(shell: clap_complete::Shell) -> Result<ExitStatus> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut out = io::stdout().lock();
    clap_complete::generate(shell, &mut command, "provision", &mut out);
    out.flush()?;
    Ok(ExitStatus::Success)
}
