//! The access keys of one user, listed where the bulk read leaves them out:
//! application users without a record of their key, a user being deleted,
//! and the user a rotation is for.

use aws_sdk_iam::types::AccessKeyMetadata;

use super::ObserveError;
use super::user::UserError;
use crate::aws::{self, Aws};

/// The access keys of `user` (at most two), or the described error.
async fn list(iam: &aws_sdk_iam::Client, user: &str) -> Result<Vec<AccessKeyMetadata>, String> {
    match iam.list_access_keys().user_name(user).send().await {
        Ok(out) => Ok(out.access_key_metadata().to_vec()),
        Err(e) => Err(aws::describe(&e)),
    }
}

/// The ids of a user's access keys (a user has at most two).
pub async fn list_access_keys(
    iam: &aws_sdk_iam::Client,
    user: &str,
) -> Result<Vec<String>, ObserveError> {
    let keys = list(iam, user)
        .await
        .map_err(|message| ObserveError::Call {
            operation: "list access keys (iam:ListAccessKeys)",
            message,
        })?;
    Ok(keys
        .iter()
        .filter_map(|k| k.access_key_id().map(str::to_owned))
        .collect())
}

/// Every access key of `user`, with its status and creation date.
pub async fn key_metadata(aws: &Aws, user: &str) -> Result<Vec<AccessKeyMetadata>, UserError> {
    list(&aws.iam, user)
        .await
        .map_err(|message| UserError::ListKeys {
            user: user.to_owned(),
            message,
        })
}
