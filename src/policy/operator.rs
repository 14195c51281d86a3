//! The least-privilege policy for whoever runs provision, generated from
//! the table of every call the tool makes (`actions::OPERATIONS`).
//!
//! Reads are granted on `*`; writes only on users under the managed path and
//! client groups under it; `iam:CreateUser` and
//! `iam:PutUserPermissionsBoundary` only when the request sets the
//! configured boundary; and the boundary itself is protected by explicit
//! denies, so the operator can never lift the cap on the users it creates.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::model::{Desired, StoreKind};
use crate::policy::actions::{self, Grant, Level, Target};
use crate::policy::arn::{
    groups_arn, lock_arn, mfa_arn, nested_arns, policies_arn, roles_arn, split, users_arn,
};
use crate::policy::document::POLICY_VERSION;
use crate::policy::kms::{KmsKey, check_kms_key};

/// Actions that would change what the boundary policy allows; denied on it.
pub const BOUNDARY_POLICY_CHANGES: &[&str] = &[
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
];

/// The condition key IAM sets to the boundary a request puts on a user.
pub const BOUNDARY_CONDITION_KEY: &str = "iam:PermissionsBoundary";

/// The account to name in ARNs: `settings.account_id`, else the account
/// of the boundary policy's ARN, else any account (`*`).
pub fn account_for_arns(desired: &Desired) -> String {
    if let Some(id) = &desired.settings.account_id {
        return id.clone();
    }
    desired
        .settings
        .permissions_boundary
        .as_deref()
        .and_then(split)
        .map(|parts| parts.account)
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("*")
        .to_owned()
}

fn sorted(actions: impl Iterator<Item = &'static str>) -> Vec<&'static str> {
    actions.collect::<BTreeSet<_>>().into_iter().collect()
}

/// The operator policy for `desired`'s settings (managed path, boundary,
/// account).
// Long because it writes one statement per group of actions in the call
// table, each with its own resources and conditions, in a fixed order.
pub fn operator_policy(desired: &Desired) -> Value {
    let account = account_for_arns(desired);
    let path = desired.settings.path.as_str();
    let boundary = desired.settings.permissions_boundary.as_deref();
    // The settings' boundary and those of `[[clients.apps]]` that name
    // their own: a user is created only with one of them, and none of them
    // may be changed. One is written as a string, as before apps existed.
    let boundaries: BTreeSet<&str> = boundary
        .into_iter()
        .chain(
            desired
                .clients
                .values()
                .chain(desired.context_clients.values())
                .flat_map(|c| &c.apps)
                .filter_map(|a| a.permissions_boundary.as_deref()),
        )
        .collect();
    let one_or_list = |set: &BTreeSet<&str>| match set.iter().collect::<Vec<_>>().as_slice() {
        [one] => json!(one),
        all => json!(all),
    };
    let ops = actions::OPERATIONS;
    let writes = |target: Target, grant: Grant| {
        sorted(
            ops.iter()
                .filter(move |o| o.level == Level::Write && o.target == target && o.grant == grant)
                .map(|o| o.action),
        )
    };

    let mut statements = vec![json!({
        "Sid": "ReadAccount",
        "Effect": "Allow",
        "Action": sorted(ops.iter().filter(|o| o.level == Level::Read).map(|o| o.action)),
        "Resource": "*",
    })];
    let mut user_actions = writes(Target::User, Grant::Allow);
    if boundary.is_none() {
        // Without a configured boundary users are created without one, and
        // no boundary is ever put on a user.
        user_actions.extend(
            ops.iter()
                .filter(|o| o.grant == Grant::WithBoundary && o.operation == "CreateUser")
                .map(|o| o.action),
        );
        user_actions.sort_unstable();
    }
    statements.push(json!({
        "Sid": "ManageUsers",
        "Effect": "Allow",
        "Action": user_actions,
        "Resource": users_arn(&account, path),
    }));
    statements.push(json!({
        "Sid": "ManageClientGroups",
        "Effect": "Allow",
        "Action": writes(Target::Group, Grant::Allow),
        "Resource": groups_arn(&account, path),
    }));
    statements.push(json!({
        "Sid": "ManageClientPolicies",
        "Effect": "Allow",
        "Action": writes(Target::Policy, Grant::Allow),
        "Resource": policies_arn(&account, path),
    }));
    // The apply lock: create and delete that one policy, nothing else.
    statements.push(json!({
        "Sid": "ApplyLock",
        "Effect": "Allow",
        "Action": sorted(
            ops.iter()
                .filter(|o| o.level == Level::Write && actions::LOCK_OPERATIONS.contains(&o.operation))
                .map(|o| o.action)
        ),
        "Resource": lock_arn(&account, path),
    }));
    statements.push(json!({
        "Sid": "AttachOnlyProvisionPolicies",
        "Effect": "Allow",
        "Action": writes(Target::Group, Grant::OwnPolicyOnly),
        "Resource": groups_arn(&account, path),
        "Condition": {"ArnLike": {"iam:PolicyARN": policies_arn(&account, path)}},
    }));
    let mfa = writes(Target::MfaDevice, Grant::Allow);
    if !mfa.is_empty() {
        statements.push(json!({
            "Sid": "RemoveMfaDevices",
            "Effect": "Allow",
            "Action": mfa,
            "Resource": mfa_arn(&account),
        }));
    }
    if !boundaries.is_empty() {
        statements.push(json!({
            "Sid": "CreateUsersOnlyWithTheBoundary",
            "Effect": "Allow",
            "Action": writes(Target::User, Grant::WithBoundary),
            "Resource": users_arn(&account, path),
            "Condition": {"StringEquals": {BOUNDARY_CONDITION_KEY: one_or_list(&boundaries)}},
        }));
    }
    statements.extend(role_statements(desired, &account, &writes));
    statements.extend(bucket_statement(desired, &writes));
    statements.extend(delivery_statements(desired, &account, &writes));
    let layer_buckets = bucket_policy_buckets(desired);
    if !layer_buckets.is_empty() {
        statements.push(json!({
            "Sid": "ManageClientBucketPolicies",
            "Effect": "Allow",
            "Action": writes(Target::ClientBucket, Grant::Allow),
            "Resource": layer_buckets,
        }));
    }
    statements.push(json!({
        "Sid": "NeverRemoveBoundaries",
        "Effect": "Deny",
        "Action": sorted(ops.iter().filter(|o| o.grant == Grant::Deny).map(|o| o.action)),
        "Resource": "*",
    }));
    if !boundaries.is_empty() {
        statements.push(json!({
            "Sid": "NeverChangeTheBoundaryPolicy",
            "Effect": "Deny",
            "Action": BOUNDARY_POLICY_CHANGES,
            "Resource": one_or_list(&boundaries),
        }));
    }
    // The allows above name `<path>*`, which IAM also matches against
    // nested paths; this deny takes them back out for every action they
    // allow, so the policy reaches exactly the managed path, as provision
    // itself does.
    let path_scoped = [
        users_arn(&account, path),
        groups_arn(&account, path),
        policies_arn(&account, path),
        roles_arn(&account, path),
    ];
    let nested_actions: BTreeSet<String> = statements
        .iter()
        .filter(|s| {
            s["Effect"] == "Allow"
                && s["Resource"]
                    .as_str()
                    .is_some_and(|r| path_scoped.iter().any(|p| p == r))
        })
        .filter_map(|s| s["Action"].as_array())
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    statements.push(json!({
        "Sid": "NeverTouchNestedPaths",
        "Effect": "Deny",
        "Action": nested_actions,
        "Resource": nested_arns(&account, path),
    }));
    statements.push(json!({
        "Sid": "NeverAttachNestedPolicies",
        "Effect": "Deny",
        "Action": sorted(ops.iter().filter(|o| o.grant == Grant::OwnPolicyOnly).map(|o| o.action)),
        "Resource": "*",
        "Condition": {"ArnLike": {"iam:PolicyARN": format!("arn:aws:iam::{account}:policy{path}*/*")}},
    }));
    json!({"Version": POLICY_VERSION, "Statement": statements})
}

/// The statements for keyless CI, only when some client declares a role:
/// writes on roles under the managed path, creating one only with a
/// boundary the files name (the settings' or an app's) when any is set,
/// and creating GitHub's OIDC provider (with its tags), nothing else.
fn role_statements(
    desired: &Desired,
    account: &str,
    writes: &dyn Fn(Target, Grant) -> Vec<&'static str>,
) -> Vec<Value> {
    let roles: Vec<_> = desired.clients.values().flat_map(|c| &c.roles).collect();
    if roles.is_empty() {
        return Vec::new();
    }
    let path = desired.settings.path.as_str();
    let settings_boundary = desired.settings.permissions_boundary.as_deref();
    let effective: Vec<Option<&str>> = roles
        .iter()
        .map(|r| r.permissions_boundary.as_deref().or(settings_boundary))
        .collect();
    // A role the files leave without a boundary must be creatable without
    // one; otherwise every creation must set one of the files' boundaries.
    let boundaries: BTreeSet<&str> = if effective.contains(&None) {
        BTreeSet::new()
    } else {
        effective.into_iter().flatten().collect()
    };
    let mut role_actions = writes(Target::Role, Grant::Allow);
    let bounded = writes(Target::Role, Grant::WithBoundary);
    let mut statements = Vec::new();
    if boundaries.is_empty() {
        role_actions.extend(bounded.iter().filter(|a| **a == "iam:CreateRole").copied());
        role_actions.sort_unstable();
    } else {
        statements.push(json!({
            "Sid": "CreateRolesOnlyWithABoundary",
            "Effect": "Allow",
            "Action": bounded,
            "Resource": roles_arn(account, path),
            "Condition": {"StringEquals": {BOUNDARY_CONDITION_KEY: boundaries}},
        }));
    }
    statements.insert(
        0,
        json!({
            "Sid": "ManageRoles",
            "Effect": "Allow",
            "Action": role_actions,
            "Resource": roles_arn(account, path),
        }),
    );
    let mut provider_actions = writes(Target::OidcProvider, Grant::Allow);
    provider_actions.push("iam:TagOpenIDConnectProvider");
    provider_actions.sort_unstable();
    statements.push(json!({
        "Sid": "CreateGitHubOidcProvider",
        "Effect": "Allow",
        "Action": provider_actions,
        "Resource": crate::policy::trust::provider_arn(account),
    }));
    statements
}

/// The ARNs of every managed bucket of the configuration (`manage_buckets`),
/// context files' clients included: prefixes are never created, so they
/// need only the reads granted on `*`.
pub fn managed_bucket_arns(desired: &Desired) -> Vec<String> {
    let arns: BTreeSet<String> = desired
        .clients
        .values()
        .chain(desired.context_clients.values())
        .filter(|c| desired.manages_buckets(&c.name))
        .flat_map(|c| c.buckets.iter().map(|b| format!("arn:aws:s3:::{b}")))
        .collect();
    arns.into_iter().collect()
}

/// Creating the managed buckets and keeping their settings, on those
/// buckets alone; none when no bucket is managed.
fn bucket_statement(
    desired: &Desired,
    writes: &dyn Fn(Target, Grant) -> Vec<&'static str>,
) -> Option<Value> {
    let arns = managed_bucket_arns(desired);
    if arns.is_empty() {
        return None;
    }
    Some(json!({
        "Sid": "ManageClientBuckets",
        "Effect": "Allow",
        "Action": writes(Target::Bucket, Grant::Allow),
        "Resource": arns,
    }))
}

/// The ARNs of the exact buckets of every client (in scope or read as
/// context) the bucket-policy layer is set for, on or off: the only
/// buckets whose policy provision writes.
fn bucket_policy_buckets(desired: &Desired) -> Vec<String> {
    desired
        .clients
        .values()
        .chain(desired.context_clients.values())
        .filter(|c| desired.bucket_policy_layer(&c.name).is_some())
        .flat_map(|c| c.buckets.iter().map(|b| crate::policy::arn::bucket_arn(b)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The statements for delivering new keys to the store of
/// `settings.deliver`: its writes on the prefix alone, and, with
/// `deliver_kms_key`, what the store needs of that key to encrypt on the
/// operator's behalf (SSM: `kms:Encrypt` for a standard parameter; Secrets
/// Manager: `kms:GenerateDataKey` and `kms:Decrypt`), only through that
/// store. None without a store: a delivery named only by `--deliver` is
/// the caller's to grant.
fn delivery_statements(
    desired: &Desired,
    account: &str,
    writes: &dyn Fn(Target, Grant) -> Vec<&'static str>,
) -> Vec<Value> {
    let Some(store) = &desired.settings.deliver else {
        return Vec::new();
    };
    let (sid, target, resource, service, kms_actions) = match store.kind {
        StoreKind::Ssm => (
            "DeliverKeysToParameterStore",
            Target::Parameter,
            // The prefix starts with `/`, which the ARN already has.
            format!("arn:aws:ssm:*:{account}:parameter{}*", store.prefix),
            "ssm",
            vec!["kms:Encrypt"],
        ),
        StoreKind::SecretsManager => (
            "DeliverKeysToSecretsManager",
            Target::Secret,
            format!(
                "arn:aws:secretsmanager:*:{account}:secret:{}*",
                store.prefix
            ),
            "secretsmanager",
            vec!["kms:Decrypt", "kms:GenerateDataKey"],
        ),
    };
    let mut statements = vec![json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": writes(target, Grant::Allow),
        "Resource": resource,
    })];
    let via = json!({"StringLike": {"kms:ViaService": format!("{service}.*.amazonaws.com")}});
    let kms = desired
        .settings
        .deliver_kms_key
        .as_deref()
        .and_then(|k| check_kms_key(k).ok());
    let (resource, condition) = match kms {
        None => return statements,
        Some(KmsKey::Key { arn: Some(arn), .. }) => (arn.to_owned(), via),
        Some(KmsKey::Key { id, arn: None }) => (format!("arn:aws:kms:*:{account}:key/{id}"), via),
        // An alias is not a resource KMS authorizes on: the key it names
        // is, so the grant is any key of the account that has that alias.
        Some(KmsKey::Alias(name)) => {
            let mut condition = via;
            condition["ForAnyValue:StringEquals"] =
                json!({"kms:ResourceAliases": format!("alias/{name}")});
            (format!("arn:aws:kms:*:{account}:key/*"), condition)
        }
    };
    statements.push(json!({
        "Sid": "EncryptDeliveredKeys",
        "Effect": "Allow",
        "Action": kms_actions,
        "Resource": resource,
        "Condition": condition,
    }));
    statements
}

#[cfg(test)]
mod tests {
    use insta::assert_snapshot;

    use super::*;
    use crate::model::Settings;
    use crate::policy::boundary::boundary_allows;
    use crate::policy::document;

    const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/provision-boundary";

    /// A client with one app GitHub Actions assumes.
    fn client_with_a_role() -> crate::model::Client {
        crate::model::Client {
            name: "acme".into(),
            buckets: vec!["acme-data".into()],
            bucket_prefixes: vec![],
            access: crate::model::Access::ReadOnly,
            developers: vec![],
            membership_expires: Default::default(),
            bucket_access: Default::default(),
            apps: vec![],
            app_user: None,
            distributions: vec![],
            roles: vec![crate::model::RoleApp {
                name: "acme-deploy".into(),
                buckets: vec!["acme-data".into()],
                bucket_prefixes: vec![],
                access: crate::model::Access::ReadOnly,
                permissions_boundary: None,
                subjects: vec!["repo:acme/site:ref:refs/heads/main".into()],
            }],
            source: "acme.toml".into(),
        }
    }

    /// Roles are written only under the managed path, and created only
    /// with the boundary; nothing outside (another path, a nested path,
    /// another provider) is granted; without a role in the files, no role
    /// write is granted at all.
    #[test]
    fn role_writes_reach_only_managed_roles_and_githubs_provider() {
        let mut d = desired(Some(BOUNDARY), Some("123456789012"));
        assert!(actions_of(&operator_policy(&d), "iam:CreateRole").is_empty());
        d.clients.insert("acme".into(), client_with_a_role());
        let doc = operator_policy(&d);
        let mine = "arn:aws:iam::123456789012:role/provision/acme-deploy";
        assert!(boundary_allows(&doc, "iam:PutRolePolicy", mine));
        assert!(boundary_allows(&doc, "iam:UpdateAssumeRolePolicy", mine));
        for outside in [
            "arn:aws:iam::123456789012:role/admin",
            "arn:aws:iam::123456789012:role/provision/team-b/deploy",
            "arn:aws:iam::123456789012:role/provisional/deploy",
        ] {
            for action in [
                "iam:PutRolePolicy",
                "iam:UpdateAssumeRolePolicy",
                "iam:DeleteRole",
            ] {
                assert!(
                    !boundary_allows(&doc, action, outside),
                    "{action} on {outside}"
                );
            }
        }
        assert!(!boundary_allows(
            &doc,
            "iam:CreateOpenIDConnectProvider",
            "arn:aws:iam::123456789012:oidc-provider/accounts.google.com"
        ));
        // CreateRole is conditional on the boundary: never "surely allowed".
        assert!(!boundary_allows(&doc, "iam:CreateRole", mine));
        let with_role = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "CreateRolesOnlyWithABoundary")
            .unwrap();
        assert_eq!(
            with_role["Condition"]["StringEquals"][BOUNDARY_CONDITION_KEY],
            json!([BOUNDARY])
        );
    }

    fn desired(boundary: Option<&str>, account: Option<&str>) -> Desired {
        Desired {
            settings: Settings {
                account_id: account.map(str::to_owned),
                path: "/provision/".into(),
                permissions_boundary: boundary.map(str::to_owned),
                ..Settings::default()
            },
            ..Desired::default()
        }
    }

    /// acme, with the exact bucket `acme-assets` and the prefix `acme-logs-`.
    fn acme() -> crate::model::Client {
        crate::model::Client {
            name: "acme".into(),
            buckets: vec!["acme-assets".into()],
            bucket_prefixes: vec!["acme-logs-".into()],
            access: crate::model::Access::Full,
            developers: vec![],
            membership_expires: Default::default(),
            bucket_access: Default::default(),
            apps: vec![],
            app_user: None,
            distributions: vec![],
            roles: vec![],
            source: "clients/acme.toml".into(),
        }
    }

    /// The bucket writes are granted on the managed buckets alone: not on
    /// a prefix's buckets, which are never created, not on any other
    /// bucket, and not at all without `manage_buckets`.
    #[test]
    fn bucket_writes_reach_only_the_managed_buckets() {
        let mut d = desired(None, Some("123456789012"));
        d.clients.insert("acme".into(), acme());
        let writes: Vec<&str> = actions::OPERATIONS
            .iter()
            .filter(|o| o.target == Target::Bucket)
            .map(|o| o.action)
            .collect();
        assert_eq!(
            writes,
            [
                "s3:CreateBucket",
                "s3:PutEncryptionConfiguration",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketTagging",
                "s3:PutBucketVersioning",
                "s3:PutBucketPublicAccessBlock"
            ]
        );
        let unmanaged = operator_policy(&d);
        d.settings.buckets.manage = true;
        let managed = operator_policy(&d);
        for action in writes {
            assert!(!boundary_allows(
                &unmanaged,
                action,
                "arn:aws:s3:::acme-assets"
            ));
            assert!(boundary_allows(
                &managed,
                action,
                "arn:aws:s3:::acme-assets"
            ));
            for other in ["arn:aws:s3:::acme-logs-1", "arn:aws:s3:::globex-data", "*"] {
                assert!(
                    !boundary_allows(&managed, action, other),
                    "{action} {other}"
                );
            }
        }
    }

    /// The actions of every statement of `policy` that names `prefix`
    /// (`ssm:`) in an action.
    fn actions_of(policy: &Value, prefix: &str) -> Vec<(String, String)> {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| {
                let resource = s["Resource"].to_string();
                s["Action"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|a| a.as_str())
                    .filter(|a| a.starts_with(prefix))
                    .map(move |a| (a.to_owned(), resource.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn key_delivery_is_granted_only_on_the_configured_prefix() {
        let plain = operator_policy(&desired(None, Some("123456789012")));
        for service in ["ssm:", "secretsmanager:", "kms:"] {
            assert_eq!(actions_of(&plain, service), [], "{service}");
        }

        let mut ssm = desired(None, Some("123456789012"));
        ssm.settings.deliver = Some(crate::model::SecretStore {
            kind: StoreKind::Ssm,
            prefix: "/provision/keys/".into(),
        });
        let policy = operator_policy(&ssm);
        let on = "\"arn:aws:ssm:*:123456789012:parameter/provision/keys/*\"";
        assert_eq!(
            actions_of(&policy, "ssm:"),
            [
                ("ssm:AddTagsToResource".to_owned(), on.to_owned()),
                ("ssm:PutParameter".to_owned(), on.to_owned())
            ]
        );
        assert_eq!(actions_of(&policy, "secretsmanager:"), []);
        // The store's AWS managed key needs no grant.
        assert_eq!(actions_of(&policy, "kms:"), []);

        let mut sm = desired(None, Some("123456789012"));
        sm.settings.deliver = Some(crate::model::SecretStore {
            kind: StoreKind::SecretsManager,
            prefix: "provision/keys/".into(),
        });
        sm.settings.deliver_kms_key = Some("alias/provision-keys".into());
        let policy = operator_policy(&sm);
        let on = "\"arn:aws:secretsmanager:*:123456789012:secret:provision/keys/*\"";
        let got: Vec<String> = actions_of(&policy, "secretsmanager:")
            .into_iter()
            .map(|(a, r)| {
                assert_eq!(r, on);
                a
            })
            .collect();
        assert_eq!(
            got,
            [
                "secretsmanager:CreateSecret",
                "secretsmanager:PutSecretValue",
                "secretsmanager:TagResource"
            ]
        );
        assert_eq!(actions_of(&policy, "ssm:"), []);
        let kms = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "EncryptDeliveredKeys")
            .unwrap();
        assert_eq!(kms["Resource"], "arn:aws:kms:*:123456789012:key/*");
        assert_eq!(
            kms["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"],
            "alias/provision-keys"
        );
        assert_eq!(
            kms["Condition"]["StringLike"]["kms:ViaService"],
            "secretsmanager.*.amazonaws.com"
        );
    }

    #[test]
    fn operator_policy_with_a_boundary() {
        let doc = operator_policy(&desired(Some(BOUNDARY), Some("123456789012")));
        assert_snapshot!(document::to_pretty(&doc));
    }

    #[test]
    fn operator_policy_allows_each_write_only_on_managed_entities() {
        let mut with_store = desired(Some(BOUNDARY), None);
        with_store.settings.deliver = Some(crate::model::SecretStore {
            kind: StoreKind::Ssm,
            prefix: "/provision/keys/".into(),
        });
        with_store.settings.buckets.manage = true;
        with_store
            .clients
            .insert("acme".into(), client_with_a_role());
        let doc = operator_policy(&with_store);
        let user = "arn:aws:iam::123456789012:user/provision/alice";
        let group = "arn:aws:iam::123456789012:group/provision/client-acme";
        for o in actions::OPERATIONS {
            let target = match o.target {
                Target::Any => "*",
                Target::User => user,
                Target::Group => group,
                Target::MfaDevice => "arn:aws:iam::123456789012:mfa/alice",
                Target::Policy => "arn:aws:iam::123456789012:policy/provision/provision-s3-acme",
                Target::Parameter => {
                    "arn:aws:ssm:us-east-1:123456789012:parameter/provision/keys/acme-app"
                }
                Target::Secret => {
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:provision/keys/acme-app-AbCdEf"
                }
                Target::Role => "arn:aws:iam::123456789012:role/provision/acme-deploy",
                Target::OidcProvider => {
                    "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
                }
                Target::Bucket => "arn:aws:s3:::acme-data",
                Target::ClientBucket => "arn:aws:s3:::acme-data",
            };
            // Conditional grants are not "surely allowed": see below. Only
            // the configured store (SSM here) is granted, and bucket
            // policies only with the layer set (see its own test).
            let expected = o.grant == Grant::Allow
                && o.target != Target::Secret
                && o.target != Target::ClientBucket;
            assert_eq!(boundary_allows(&doc, o.action, target), expected, "{o:?}");
        }
        for (action, outside) in [
            ("iam:DeleteUser", "arn:aws:iam::123456789012:user/ops"),
            (
                "iam:CreateAccessKey",
                "arn:aws:iam::123456789012:user/admins/root-ish",
            ),
            (
                "iam:PutGroupPolicy",
                "arn:aws:iam::123456789012:group/admins",
            ),
            (
                "iam:PutGroupPolicy",
                "arn:aws:iam::123456789012:group/provision/admins",
            ),
            ("iam:AttachGroupPolicy", group),
            ("iam:CreatePolicyVersion", BOUNDARY),
            (
                "ssm:PutParameter",
                "arn:aws:ssm:us-east-1:123456789012:parameter/other/acme-app",
            ),
        ] {
            assert!(
                !boundary_allows(&doc, action, outside),
                "{action} on {outside}"
            );
        }
    }

    /// With the bucket-policy layer set, the operator may write the policy of
    /// exactly the buckets of the clients it is set for, nothing else; and
    /// without it, of none.
    #[test]
    fn bucket_policy_writes_are_granted_on_the_layer_clients_buckets_only() {
        let client = |name: &str, buckets: &[&str]| crate::model::Client {
            name: name.into(),
            buckets: buckets.iter().map(|b| (*b).to_owned()).collect(),
            bucket_prefixes: vec!["pre-".into()],
            access: crate::model::Access::ReadWrite,
            developers: vec![],
            membership_expires: Default::default(),
            bucket_access: Default::default(),
            apps: vec![],
            app_user: None,
            distributions: vec![],
            roles: vec![],
            source: "c.toml".into(),
        };
        let mut d = desired(Some(BOUNDARY), None);
        d.clients
            .insert("acme".into(), client("acme", &["acme-data", "acme-logs"]));
        d.clients.insert("zed".into(), client("zed", &["zed-data"]));
        let writes = ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"];
        let none = operator_policy(&d);
        for action in writes {
            assert!(!boundary_allows(&none, action, "arn:aws:s3:::acme-data"));
        }
        d.bucket_policy_clients.insert("acme".into(), true);
        let doc = operator_policy(&d);
        for action in writes {
            assert!(boundary_allows(&doc, action, "arn:aws:s3:::acme-data"));
            assert!(boundary_allows(&doc, action, "arn:aws:s3:::acme-logs"));
            for outside in [
                "arn:aws:s3:::zed-data",
                "arn:aws:s3:::acme-data2",
                "arn:aws:s3:::pre-x",
                "arn:aws:s3:::acme-data/key",
            ] {
                assert!(
                    !boundary_allows(&doc, action, outside),
                    "{action} {outside}"
                );
            }
        }
        // Set off for a client, its statements must still be taken out.
        d.bucket_policy_clients.insert("zed".into(), false);
        let doc = operator_policy(&d);
        assert!(boundary_allows(
            &doc,
            "s3:DeleteBucketPolicy",
            "arn:aws:s3:::zed-data"
        ));
    }

    /// `user/provision/*` matches `user/provision/team-b/alice` too: the
    /// denies take nested paths (another configuration's) back out.
    #[test]
    fn the_operator_policy_never_reaches_entities_at_nested_paths() {
        for doc in [
            operator_policy(&desired(Some(BOUNDARY), Some("123456789012"))),
            operator_policy(&desired(None, None)),
        ] {
            let nested = [
                (
                    Target::User,
                    "arn:aws:iam::123456789012:user/provision/team-b/alice",
                ),
                (
                    Target::Group,
                    "arn:aws:iam::123456789012:group/provision/client-x/client-acme",
                ),
                (
                    Target::Policy,
                    "arn:aws:iam::123456789012:policy/provision/provision-s3-x/provision-s3-acme",
                ),
            ];
            for o in actions::OPERATIONS
                .iter()
                .filter(|o| o.level == Level::Write)
            {
                for (target, arn) in nested {
                    if o.target == target {
                        assert!(
                            !boundary_allows(&doc, o.action, arn),
                            "{} on {arn}",
                            o.action
                        );
                    }
                }
            }
            // The exact path is still reached.
            assert!(boundary_allows(
                &doc,
                "iam:DeleteUser",
                "arn:aws:iam::123456789012:user/provision/alice"
            ));
            let attach_nested = doc["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["Sid"] == "NeverAttachNestedPolicies")
                .unwrap();
            assert_eq!(attach_nested["Effect"], "Deny");
            assert_eq!(attach_nested["Action"], json!(["iam:AttachGroupPolicy"]));
        }
    }

    /// The apply lock's calls are allowed on its ARN, and on no other
    /// policy: not another name under the managed path, not the lock of
    /// another path.
    #[test]
    fn the_apply_lock_is_granted_on_its_own_arn_only() {
        let doc = operator_policy(&desired(Some(BOUNDARY), Some("123456789012")));
        let lock = crate::policy::arn::lock_arn("123456789012", "/provision/");
        for name in actions::LOCK_OPERATIONS {
            let o = actions::find(name).unwrap();
            assert!(boundary_allows(&doc, o.action, &lock), "{o:?}");
        }
        for other in [
            "arn:aws:iam::123456789012:policy/provision/provision-lock-other".to_owned(),
            "arn:aws:iam::123456789012:policy/provision/anything".to_owned(),
            crate::policy::arn::lock_arn("123456789012", "/provision/team-b/"),
            crate::policy::arn::lock_arn("111122223333", "/provision/"),
        ] {
            for action in ["iam:CreatePolicy", "iam:DeletePolicy"] {
                assert!(
                    !boundary_allows(&doc, action, &other),
                    "{action} on {other}"
                );
            }
        }
        let statement = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "ApplyLock")
            .unwrap();
        assert_eq!(
            statement["Action"],
            json!(["iam:CreatePolicy", "iam:DeletePolicy"])
        );
        assert_eq!(statement["Resource"], lock);
    }

    /// An environment's own boundary (`[[clients.apps]]`) is one the
    /// operator may create users with, and may never change, beside the
    /// settings' one.
    #[test]
    fn an_apps_own_boundary_is_allowed_and_protected_like_the_settings_one() {
        let prod = "arn:aws:iam::123456789012:policy/prod-boundary";
        let mut d = desired(Some(BOUNDARY), Some("123456789012"));
        let client = crate::model::Client {
            name: "acme".into(),
            buckets: vec!["acme-prod-data".into()],
            bucket_prefixes: vec![],
            access: crate::model::Access::ReadOnly,
            developers: vec![],
            membership_expires: Default::default(),
            bucket_access: Default::default(),
            apps: vec![crate::model::App {
                name: "acme-prod".into(),
                buckets: vec!["acme-prod-data".into()],
                bucket_prefixes: vec![],
                access: crate::model::Access::ReadOnly,
                permissions_boundary: Some(prod.into()),
            }],
            app_user: None,
            distributions: vec![],
            roles: vec![],
            source: Default::default(),
        };
        d.clients.insert("acme".into(), client);
        let doc = operator_policy(&d);
        let by_sid = |sid: &str| -> Value {
            doc["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["Sid"] == sid)
                .cloned()
                .unwrap()
        };
        let mut both = vec![BOUNDARY, prod];
        both.sort_unstable();
        assert_eq!(
            by_sid("CreateUsersOnlyWithTheBoundary")["Condition"]["StringEquals"]
                [BOUNDARY_CONDITION_KEY],
            json!(both)
        );
        assert_eq!(
            by_sid("NeverChangeTheBoundaryPolicy")["Resource"],
            json!(both)
        );
    }

    #[test]
    fn creating_users_requires_the_configured_boundary() {
        let doc = operator_policy(&desired(Some(BOUNDARY), Some("123456789012")));
        let statements = doc["Statement"].as_array().unwrap();
        let conditional: Vec<&Value> = statements
            .iter()
            .filter(|s| s["Sid"] == "CreateUsersOnlyWithTheBoundary")
            .collect();
        assert_eq!(conditional.len(), 1);
        assert_eq!(
            conditional[0]["Action"],
            json!(["iam:CreateUser", "iam:PutUserPermissionsBoundary"])
        );
        assert_eq!(
            conditional[0]["Condition"]["StringEquals"][BOUNDARY_CONDITION_KEY],
            BOUNDARY
        );
        // No unconditional statement allows them.
        for s in statements
            .iter()
            .filter(|s| s.get("Condition").is_none() && s["Effect"] == "Allow")
        {
            let text = s["Action"].to_string();
            assert!(!text.contains("iam:CreateUser\""), "{s}");
            assert!(!text.contains("PutUserPermissionsBoundary"), "{s}");
        }
        let denies: Vec<&Value> = statements
            .iter()
            .filter(|s| s["Effect"] == "Deny")
            .collect();
        assert_eq!(
            denies[0]["Action"],
            json!(["iam:DeleteUserPermissionsBoundary"])
        );
        assert_eq!(denies[1]["Resource"], BOUNDARY);
        assert_eq!(denies[1]["Action"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn without_a_boundary_users_are_created_unconditionally_and_arns_name_any_account() {
        let doc = operator_policy(&desired(None, None));
        let text = doc.to_string();
        // The only conditions left limit which policies may be attached.
        assert_eq!(text.matches("Condition").count(), 2, "{text}");
        assert!(!text.contains("iam:PermissionsBoundary"), "{text}");
        assert!(!text.contains("PutUserPermissionsBoundary"), "{text}");
        assert!(text.contains("arn:aws:iam::*:user/provision/*"), "{text}");
        assert!(boundary_allows(
            &doc,
            "iam:CreateUser",
            "arn:aws:iam::123456789012:user/provision/alice"
        ));
        assert!(!boundary_allows(
            &doc,
            "iam:DeleteUserPermissionsBoundary",
            "*"
        ));
    }

    #[test]
    fn the_account_comes_from_the_boundary_when_not_set() {
        assert_eq!(
            account_for_arns(&desired(Some(BOUNDARY), None)),
            "123456789012"
        );
        assert_eq!(
            account_for_arns(&desired(
                Some("arn:aws:iam::aws:policy/PowerUserAccess"),
                None
            )),
            "*"
        );
        assert_eq!(
            account_for_arns(&desired(None, Some("111122223333"))),
            "111122223333"
        );
    }
}
