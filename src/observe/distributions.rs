//! The account's CloudFront distributions, for `import`: a hand-made grant
//! of invalidations on `*` is shown against them, so that a person can
//! tell which distribution ids belong to which client.

use super::ObserveError;
use crate::aws::{self, Aws};
use crate::model::ObservedDistribution;

/// Every distribution of the account, sorted by id
/// (`cloudfront:ListDistributions`).
///
/// Paginated by marker: a page that is not truncated is the last.
pub async fn list_distributions(aws: &Aws) -> Result<Vec<ObservedDistribution>, ObserveError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = aws
            .cloudfront
            .list_distributions()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| ObserveError::Call {
                operation: "list the account's distributions (cloudfront:ListDistributions)",
                message: aws::describe(&e),
            })?;
        let Some(list) = page.distribution_list() else {
            break;
        };
        for d in list.items() {
            let mut aliases: Vec<String> =
                d.aliases().map(|a| a.items().to_vec()).unwrap_or_default();
            aliases.sort();
            let mut origins: Vec<String> = d
                .origins()
                .map(|o| {
                    o.items()
                        .iter()
                        .map(|origin| origin.domain_name().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            origins.sort();
            out.push(ObservedDistribution {
                id: d.id().to_owned(),
                domain_name: d.domain_name().to_owned(),
                aliases,
                comment: d.comment().to_owned(),
                origins,
            });
        }
        match list.next_marker() {
            Some(next) if list.is_truncated() && !next.is_empty() => marker = Some(next.to_owned()),
            _ => break,
        }
    }
    out.sort();
    Ok(out)
}
