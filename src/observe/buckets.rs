//! The account's buckets, for `import`: a hand-made policy's wildcard
//! (`arn:aws:s3:::acme*`) is resolved against them.

use std::collections::BTreeSet;

use super::ObserveError;
use crate::aws::{self, Aws};

/// Every bucket the account owns, by name (`s3:ListAllMyBuckets`).
///
/// Paginated by continuation token; a page without one is the last.
pub async fn list_buckets(aws: &Aws) -> Result<BTreeSet<String>, ObserveError> {
    let mut names = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .s3
            .list_buckets()
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| ObserveError::Call {
                operation: "list the account's buckets (s3:ListAllMyBuckets)",
                message: aws::describe(&e),
            })?;
        names.extend(
            out.buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_owned)),
        );
        match out.continuation_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(names),
        }
    }
}
