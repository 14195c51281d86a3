//! `provision man`: the manual page, generated from the same clap
//! definition as `--help`, so the two never disagree.

use std::io::{self, Write};

use anyhow::Result;

use super::ExitStatus;
use crate::cli::Cli;

/// `provision man`.
pub fn run() -> Result<ExitStatus> {
    let command = <Cli as clap::CommandFactory>::command();
    let mut out = io::stdout().lock();
    clap_mangen::Man::new(command).render(&mut out)?;
    out.flush()?;
    Ok(ExitStatus::Success)
}
