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
    groups_arn, lock_arn, mfa_arn, nested_arns, policies_arn, split, users_arn,
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
    if let Some(arn) = boundary {
        statements.push(json!({
            "Sid": "CreateUsersOnlyWithTheBoundary",
            "Effect": "Allow",
            "Action": writes(Target::User, Grant::WithBoundary),
            "Resource": users_arn(&account, path),
            "Condition": {"StringEquals": {BOUNDARY_CONDITION_KEY: arn}},
        }));
    }
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
    if let Some(arn) = boundary {
        statements.push(json!({
            "Sid": "NeverChangeTheBoundaryPolicy",
            "Effect": "Deny",
            "Action": BOUNDARY_POLICY_CHANGES,
            "Resource": arn,
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
            app_user: None,
            distributions: vec![],
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
