//! Roles and GitHub's OIDC provider. Roles come with the bulk read
//! (`GetAccountAuthorizationDetails` lists them with their trust policy,
//! policies, boundary and tags: no call per role); the provider is read
//! only when some client declares a role, with `ListOpenIDConnectProviders`
//! and, when it exists, one `GetOpenIDConnectProvider` for its audiences
//! and tags.

use aws_sdk_iam::types::RoleDetail;

use super::ObserveError;
use crate::aws;
use crate::model::{
    GITHUB_OIDC_HOST, MANAGED_TAG_KEY, MANAGED_TAG_VALUE, ObservedOidcProvider, ObservedRole,
};
use crate::policy::document;

/// One role of the bulk read, in the model's terms.
pub(super) fn observed_role(r: &RoleDetail) -> Result<ObservedRole, ObserveError> {
    let name = r.role_name().unwrap_or_default().to_owned();
    let decode = |policy: &str, raw: &str| {
        document::decode_document(raw).map_err(|source| ObserveError::Policy {
            entity: format!("role `{name}`"),
            policy: policy.to_owned(),
            source,
        })
    };
    let trust = match r.assume_role_policy_document() {
        Some(raw) => decode("trust policy", raw)?,
        None => serde_json::Value::Null,
    };
    let mut role = ObservedRole {
        name: name.clone(),
        path: r.path().unwrap_or("/").to_owned(),
        arn: r.arn().unwrap_or_default().to_owned(),
        tags: r
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
        trust,
        attached_policies: r
            .attached_managed_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_owned))
            .collect(),
        permissions_boundary: r
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_owned),
        ..ObservedRole::default()
    };
    for p in r.role_policy_list() {
        let policy_name = p.policy_name().unwrap_or_default().to_owned();
        let doc = decode(&policy_name, p.policy_document().unwrap_or_default())?;
        role.inline_policies.insert(policy_name, doc);
    }
    Ok(role)
}

/// GitHub's OIDC provider in the account, or `None` when there is none.
pub async fn github_provider(
    iam: &aws_sdk_iam::Client,
) -> Result<Option<ObservedOidcProvider>, ObserveError> {
    let list = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| ObserveError::Call {
            operation: "list OIDC providers (iam:ListOpenIDConnectProviders)",
            message: aws::describe(&e),
        })?;
    let suffix = format!(":oidc-provider/{GITHUB_OIDC_HOST}");
    let Some(arn) = list
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .find(|arn| arn.ends_with(&suffix))
    else {
        return Ok(None);
    };
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .map_err(|e| ObserveError::Call {
            operation: "read GitHub's OIDC provider (iam:GetOpenIDConnectProvider)",
            message: aws::describe(&e),
        })?;
    Ok(Some(ObservedOidcProvider {
        arn: arn.to_owned(),
        client_ids: got.client_id_list().to_vec(),
        managed: got
            .tags()
            .iter()
            .any(|t| t.key() == MANAGED_TAG_KEY && t.value() == MANAGED_TAG_VALUE),
    }))
}
