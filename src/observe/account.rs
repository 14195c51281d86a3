//! The account guard: which account the credentials belong to, checked
//! against the one the configuration names before any other call.

use thiserror::Error;

use super::{Observe, ObserveError};
use crate::model::Settings;

/// Why a command may not go on in the credentials' account.
#[derive(Debug, Error)]
pub enum AccountError {
    /// The account could not be read.
    #[error(transparent)]
    Observe(#[from] ObserveError),
    /// The credentials belong to another account than `settings.account_id`.
    #[error(
        "the credentials belong to account `{account}`, but the configuration is for account `{expected}` (settings.account_id); use credentials for `{expected}` or fix the setting"
    )]
    Other { account: String, expected: String },
}

/// The account the credentials belong to (`sts:GetCallerIdentity`), after
/// checking it is the one `settings.account_id` names: the account guard,
/// which every command that calls AWS runs before any other call.
pub async fn guarded_account(
    source: &impl Observe,
    settings: &Settings,
) -> Result<String, AccountError> {
    let account = source.account_id().await?;
    if let Some(expected) = &settings.account_id
        && *expected != account
    {
        return Err(AccountError::Other {
            account,
            expected: expected.clone(),
        });
    }
    Ok(account)
}
