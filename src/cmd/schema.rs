//! `provision schema`: the JSON Schema of the clients file format.

use std::io::{self, Write};

use anyhow::Result;

use super::ExitStatus;
use crate::config::schema::CLIENTS_FILE_SCHEMA;

/// `provision schema`.
pub fn run() -> Result<ExitStatus> {
    let mut out = io::stdout().lock();
    out.write_all(CLIENTS_FILE_SCHEMA.as_bytes())?;
    out.flush()?;
    Ok(ExitStatus::Success)
}
