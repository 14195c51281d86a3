//! The account's IAM quotas, which plan-time checks use.

use aws_sdk_iam::types::SummaryKeyType;

use super::ObserveError;
use crate::aws;
use crate::model::AccountQuotas;

/// The account's own IAM quotas, with one `GetAccountSummary` call. When the
/// credentials may not make that call, AWS's defaults are used (and
/// [`AccountQuotas::from_account`] says so); any other failure is an error.
pub async fn account_quotas(iam: &aws_sdk_iam::Client) -> Result<AccountQuotas, ObserveError> {
    let out = match iam.get_account_summary().send().await {
        Ok(out) => out,
        Err(e) if aws::error_code(&e).is_some_and(|c| c.contains("AccessDenied")) => {
            return Ok(AccountQuotas::default());
        }
        Err(e) => {
            return Err(ObserveError::Call {
                operation: "read the account's quotas (iam:GetAccountSummary)",
                message: aws::describe(&e),
            });
        }
    };
    let mut quotas = AccountQuotas {
        from_account: true,
        ..AccountQuotas::default()
    };
    let Some(map) = out.summary_map() else {
        return Ok(quotas);
    };
    let read = |key: SummaryKeyType, into: &mut usize| {
        if let Some(value) = map.get(&key).and_then(|v| usize::try_from(*v).ok()) {
            *into = value;
        }
    };
    read(
        SummaryKeyType::GroupsPerUserQuota,
        &mut quotas.groups_per_user,
    );
    read(SummaryKeyType::GroupsQuota, &mut quotas.groups);
    read(SummaryKeyType::UsersQuota, &mut quotas.users);
    read(
        SummaryKeyType::GroupPolicySizeQuota,
        &mut quotas.group_policy_size,
    );
    Ok(quotas)
}
