//! The access keys of one user, listed where the bulk read leaves them out:
//! application users without a record of their key, users named for
//! adoption, a user being deleted, and the user a rotation is for.

use std::collections::BTreeSet;

use aws_sdk_iam::types::AccessKeyMetadata;

use super::ObserveError;
use super::user::UserError;
use crate::aws::{self, Aws};
use crate::model::Observed;

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

/// The keys of the users `names` names that provision does not manage at
/// `managed_path`: an application user taken over by adoption has its keys
/// replaced, and the plan must know them to delete them. Called only with
/// `--adopt`, so a usual plan makes no such call.
pub async fn adoption_keys(
    iam: &aws_sdk_iam::Client,
    observed: &mut Observed,
    managed_path: &str,
    names: &BTreeSet<String>,
) -> Result<(), ObserveError> {
    for name in names {
        let Some(user) = observed.users.get_mut(name) else {
            continue;
        };
        if user.is_managed(managed_path) || user.access_keys.is_some() {
            continue;
        }
        user.access_keys = Some(list_access_keys(iam, name).await?);
    }
    Ok(())
}
