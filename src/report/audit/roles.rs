//! Audit findings on the roles GitHub Actions assumes: a trust policy that
//! lets in more than the file says, and policies on a role that provision
//! did not write. The plan reverts both; the audit says so between applies.

use super::{Check, Finding};
use crate::model::{Desired, GROUP_POLICY_NAME, Observed};
use crate::policy::trust;

/// Findings on the managed roles the files in scope declare.
pub fn role_findings(desired: &Desired, observed: &Observed, account_id: &str) -> Vec<Finding> {
    let path = desired.settings.path.as_str();
    let mut out = Vec::new();
    let mut push = |role: &str, check: Check, detail: String| {
        out.push(Finding {
            user: role.to_owned(),
            check,
            detail,
            key: None,
        });
    };
    for role in desired.clients.values().flat_map(|c| &c.roles) {
        let Some(live) = observed
            .roles
            .get(&role.name)
            .filter(|r| r.is_managed(path))
        else {
            continue;
        };
        let widens = trust::widening(&live.trust, account_id, &role.subjects);
        if !widens.is_empty() {
            push(
                &role.name,
                Check::RoleTrust,
                format!(
                    "the trust policy of role `{}` lets in more than the file says: {}; the next apply reverts it",
                    role.name,
                    widens.join("; ")
                ),
            );
        }
        let extra: Vec<String> = live
            .inline_policies
            .keys()
            .filter(|n| *n != GROUP_POLICY_NAME)
            .chain(&live.attached_policies)
            .map(|n| format!("`{n}`"))
            .collect();
        if !extra.is_empty() {
            push(
                &role.name,
                Check::RolePolicy,
                format!(
                    "role `{}` holds {} besides `{GROUP_POLICY_NAME}`, added by hand; the next apply removes them",
                    role.name,
                    extra.join(", ")
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::model::{Access, Client, ObservedRole, RoleApp};

    #[test]
    fn a_widened_trust_policy_and_a_hand_added_policy_are_findings() {
        let subjects = vec!["repo:acme/site:pull_request".to_owned()];
        let mut desired = Desired::default();
        desired.clients.insert(
            "acme".into(),
            Client {
                name: "acme".into(),
                buckets: vec!["acme-x".into()],
                bucket_prefixes: vec![],
                access: Access::ReadOnly,
                developers: vec![],
                membership_expires: BTreeMap::new(),
                bucket_access: Default::default(),
                apps: vec![],
                app_user: None,
                distributions: vec![],
                roles: vec![RoleApp {
                    name: "acme-deploy".into(),
                    buckets: vec!["acme-x".into()],
                    bucket_prefixes: vec![],
                    access: Access::ReadOnly,
                    permissions_boundary: None,
                    subjects: subjects.clone(),
                }],
                source: "acme.toml".into(),
            },
        );
        let mut trust_doc = trust::trust_policy("123456789012", &subjects);
        let mut observed = Observed::default();
        let role = ObservedRole {
            name: "acme-deploy".into(),
            path: "/provision/".into(),
            tags: [("managed-by".to_owned(), "provision".to_owned())].into(),
            trust: trust_doc.clone(),
            ..ObservedRole::default()
        };
        observed.roles.insert(role.name.clone(), role.clone());
        assert!(role_findings(&desired, &observed, "123456789012").is_empty());
        trust_doc["Statement"][0]["Principal"] = json!({"AWS": ["*"]});
        let live = observed.roles.get_mut("acme-deploy").unwrap();
        live.trust = trust_doc;
        live.attached_policies
            .push("arn:aws:iam::aws:policy/AdministratorAccess".into());
        let found = role_findings(&desired, &observed, "123456789012");
        let checks: Vec<Check> = found.iter().map(|f| f.check).collect();
        assert_eq!(checks, [Check::RoleTrust, Check::RolePolicy]);
    }
}
