//! One user, as `rotate-key` reads it before it writes anything (its keys:
//! [`super::keys::key_metadata`]).

use aws_sdk_iam::types::User;
use thiserror::Error;

use crate::aws::{self, Aws};

/// Why the user or its keys could not be read.
#[derive(Debug, Error)]
pub enum UserError {
    #[error("user `{user}` does not exist; check the name")]
    NoSuchUser { user: String },
    #[error("could not read user `{user}` (iam:GetUser): {message}")]
    Read { user: String, message: String },
    #[error("could not read user `{user}`: the answer held no user")]
    Empty { user: String },
    #[error("could not list the access keys of `{user}` (iam:ListAccessKeys): {message}")]
    ListKeys { user: String, message: String },
}

/// User `user`, with its path and tags (`iam:GetUser`).
pub async fn read_user(aws: &Aws, user: &str) -> Result<User, UserError> {
    let out = match aws.iam.get_user().user_name(user).send().await {
        Ok(out) => out,
        Err(e) if aws::error_code(&e) == Some("NoSuchEntity") => {
            return Err(UserError::NoSuchUser {
                user: user.to_owned(),
            });
        }
        Err(e) => {
            return Err(UserError::Read {
                user: user.to_owned(),
                message: aws::describe(&e),
            });
        }
    };
    out.user().cloned().ok_or_else(|| UserError::Empty {
        user: user.to_owned(),
    })
}
