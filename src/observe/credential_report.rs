//! IAM's credential report, for `audit`: generated, then read as the CSV
//! text IAM returns (see `report::audit` for what it says). It holds dates
//! and flags, never a secret or even a key id.

use std::time::Duration;

use thiserror::Error;

use crate::aws::{self, Aws};

/// How many times the report's state is asked for, two seconds apart.
const READY_ATTEMPTS: u32 = 30;

/// Why the credential report could not be read.
#[derive(Debug, Error)]
pub enum CredentialReportError {
    #[error("could not generate the credential report (iam:GenerateCredentialReport): {0}")]
    Generate(String),
    #[error("the credential report was not ready after a minute; run the audit again")]
    NotReady,
    #[error("could not read the credential report (iam:GetCredentialReport): {0}")]
    Read(String),
}

/// Asks IAM for a fresh credential report and returns its text.
pub async fn credential_report(aws: &Aws) -> Result<String, CredentialReportError> {
    // Generation takes seconds; IAM answers `STARTED`/`INPROGRESS` until done.
    let mut attempt = 0;
    loop {
        let out = aws
            .iam
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| CredentialReportError::Generate(aws::describe(&e)))?;
        if out.state().map(|s| s.as_str()) == Some("COMPLETE") {
            break;
        }
        attempt += 1;
        if attempt >= READY_ATTEMPTS {
            return Err(CredentialReportError::NotReady);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let out = aws
        .iam
        .get_credential_report()
        .send()
        .await
        .map_err(|e| CredentialReportError::Read(aws::describe(&e)))?;
    let bytes = out
        .content()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
