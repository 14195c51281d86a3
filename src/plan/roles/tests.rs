use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::model::{Access, Observed, ObservedOidcProvider, ObservedRole, Settings};
use crate::plan::{Kind, plan};
use crate::policy::evaluate;

const ACCOUNT: &str = "123456789012";

fn role(name: &str, subjects: &[&str]) -> RoleApp {
    RoleApp {
        name: name.into(),
        buckets: vec![],
        bucket_prefixes: vec![],
        access: Access::ReadWrite,
        permissions_boundary: None,
        subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn client(name: &str, roles: Vec<RoleApp>) -> Client {
    let bucket = format!("{name}-data");
    Client {
        name: name.into(),
        buckets: vec![bucket.clone()],
        bucket_prefixes: vec![],
        access: Access::ReadWrite,
        developers: vec![],
        membership_expires: BTreeMap::new(),
        bucket_access: Default::default(),
        apps: vec![],
        app_user: None,
        distributions: vec![],
        roles: roles
            .into_iter()
            .map(|mut r| {
                r.buckets = vec![bucket.clone()];
                r
            })
            .collect(),
        source: format!("{name}.toml").into(),
    }
}

fn desired(clients: Vec<Client>) -> Desired {
    Desired {
        settings: Settings::default(),
        clients: clients.into_iter().map(|c| (c.name.clone(), c)).collect(),
        authoritative: true,
        ..Desired::default()
    }
}

/// The account as the first apply of `desired` leaves it.
fn applied(desired: &Desired) -> Observed {
    let mut observed = Observed {
        oidc_provider: Some(ObservedOidcProvider {
            arn: trust::provider_arn(ACCOUNT),
            client_ids: vec![GITHUB_OIDC_AUDIENCE.into()],
            managed: true,
        }),
        ..Observed::default()
    };
    for (client, r) in desired_roles(desired) {
        observed.roles.insert(
            r.name.clone(),
            ObservedRole {
                name: r.name.clone(),
                path: desired.settings.path.clone(),
                arn: trust::role_arn(ACCOUNT, &desired.settings.path, &r.name),
                tags: role_tags(&client.name),
                trust: trust::trust_policy(ACCOUNT, &r.subjects),
                inline_policies: BTreeMap::from([(
                    GROUP_POLICY_NAME.to_owned(),
                    role_policy(client, r, ACCOUNT),
                )]),
                attached_policies: vec![],
                permissions_boundary: None,
            },
        );
    }
    observed
}

fn labels(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| {
            matches!(
                c.kind(),
                Kind::Role
                    | Kind::RoleTrust
                    | Kind::RolePolicy
                    | Kind::RoleBoundary
                    | Kind::OidcProvider
            )
        })
        .map(|c| format!("{}@{}", c.label(), c.phase()))
        .collect()
}

#[test]
fn a_role_is_created_with_the_provider_its_trust_and_its_clients_policy() {
    let d = desired(vec![client(
        "acme",
        vec![role("acme-deploy", &["repo:acme/site:ref:refs/heads/main"])],
    )]);
    let p = plan(&d, &Observed::default(), ACCOUNT).unwrap();
    assert_eq!(
        labels(&p),
        [
            "+ oidc-provider https://token.actions.githubusercontent.com@0",
            "+ role acme-deploy@1",
            "+ role-policy acme-deploy/provision-s3@2",
        ]
    );
    let Some(Change::CreateRole {
        tags,
        trust: doc,
        max_session_seconds,
        path,
        ..
    }) = p
        .changes
        .iter()
        .find(|c| matches!(c, Change::CreateRole { .. }))
    else {
        panic!("no CreateRole");
    };
    assert_eq!(
        tags.get(MANAGED_TAG_KEY).map(String::as_str),
        Some(MANAGED_TAG_VALUE)
    );
    assert_eq!(tags.get(CLIENT_TAG_KEY).map(String::as_str), Some("acme"));
    assert_eq!(*max_session_seconds, 3600);
    assert_eq!(path, "/provision/");
    assert_eq!(
        doc,
        &trust::trust_policy(ACCOUNT, &["repo:acme/site:ref:refs/heads/main".into()])
    );
    // A second plan after the apply is empty.
    let again = plan(&d, &applied(&d), ACCOUNT).unwrap();
    assert!(labels(&again).is_empty(), "{:?}", again.changes);
}

/// A role of one client never reaches another client's bucket.
#[test]
fn a_roles_policy_reaches_only_its_own_clients_buckets() {
    let acme = client(
        "acme",
        vec![role("acme-deploy", &["repo:acme/site:pull_request"])],
    );
    let globex = client(
        "globex",
        vec![role("globex-deploy", &["repo:globex/site:pull_request"])],
    );
    let d = desired(vec![acme.clone(), globex]);
    let p = plan(&d, &Observed::default(), ACCOUNT).unwrap();
    let policy_of = |name: &str| {
        p.changes
            .iter()
            .find_map(|c| match c {
                Change::PutRolePolicy { role, after, .. } if role == name => Some(after.clone()),
                _ => None,
            })
            .unwrap()
    };
    let acme_policy = policy_of("acme-deploy");
    let allows = |doc: &Value, bucket: &str| {
        evaluate::is_allowed(&[doc], "s3:GetObject", &format!("arn:aws:s3:::{bucket}/x"))
    };
    assert!(allows(&acme_policy, "acme-data"));
    assert!(!allows(&acme_policy, "globex-data"));
    assert!(!allows(&policy_of("globex-deploy"), "acme-data"));
    // The app's subset: a role listing one bucket gets only that one.
    let mut two = acme;
    two.buckets.push("acme-other".into());
    let r = &two.roles[0];
    assert!(!allows(&role_policy(&two, r, ACCOUNT), "acme-other"));
}

#[test]
fn a_trust_policy_widened_by_hand_is_drift_and_reverted_first() {
    let d = desired(vec![client(
        "acme",
        vec![role("acme-deploy", &["repo:acme/site:ref:refs/heads/main"])],
    )]);
    let mut observed = applied(&d);
    let live = observed.roles.get_mut("acme-deploy").unwrap();
    live.trust["Statement"][0]["Condition"]["StringEquals"][trust::sub_key()] = json!([
        "repo:acme/site:ref:refs/heads/main",
        "repo:evil/x:pull_request"
    ]);
    let p = plan(&d, &observed, ACCOUNT).unwrap();
    assert_eq!(labels(&p), ["~ role-trust acme-deploy@0"]);
    assert_eq!(p.drift.len(), 1);
    assert_eq!(p.drift[0].role.as_deref(), Some("acme-deploy"));
    assert!(
        p.drift[0].widens[0].contains("repo:evil/x:pull_request"),
        "{:?}",
        p.drift
    );
    // A subject removed by hand narrows: updated, but not drift.
    let mut observed = applied(&d);
    observed.roles.get_mut("acme-deploy").unwrap().trust =
        trust::trust_policy(ACCOUNT, &["repo:acme/site:pull_request".into()]);
    let p = plan(&d, &observed, ACCOUNT).unwrap();
    assert_eq!(labels(&p), ["~ role-trust acme-deploy@0"]);
    assert!(!p.drift[0].widens.is_empty() || p.drift.is_empty());
}

#[test]
fn policies_added_to_a_role_by_hand_are_drift_and_removed() {
    let d = desired(vec![client(
        "acme",
        vec![role("acme-deploy", &["repo:acme/site:pull_request"])],
    )]);
    let mut observed = applied(&d);
    let live = observed.roles.get_mut("acme-deploy").unwrap();
    live.inline_policies
        .insert("extra".into(), json!({"Statement": []}));
    live.attached_policies
        .push("arn:aws:iam::aws:policy/AdministratorAccess".into());
    // Its own policy widened to another client's bucket: narrowed first.
    let own = live.inline_policies.get_mut(GROUP_POLICY_NAME).unwrap();
    *own = crate::policy::document::normalize(&json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
    }));
    let p = plan(&d, &observed, ACCOUNT).unwrap();
    assert_eq!(
        labels(&p),
        [
            "- role-policy acme-deploy/arn:aws:iam::aws:policy/AdministratorAccess@0",
            "- role-policy acme-deploy/extra@0",
            "~ role-policy acme-deploy/provision-s3 (narrows first)@0",
            "~ role-policy acme-deploy/provision-s3@2",
        ]
    );
    assert_eq!(p.drift.len(), 3, "{:?}", p.drift);
}

#[test]
fn a_role_name_held_by_a_role_provision_did_not_make_is_refused() {
    let d = desired(vec![client(
        "acme",
        vec![role("deploy", &["repo:acme/site:pull_request"])],
    )]);
    let mut observed = applied(&d);
    observed.roles.get_mut("deploy").unwrap().tags.clear();
    let errors = plan(&d, &observed, ACCOUNT).unwrap_err();
    assert!(
        matches!(errors[0], PlanError::UnmanagedRole { .. }),
        "{errors:?}"
    );
    let mut observed = Observed::default();
    observed.roles.insert(
        "Deploy".into(),
        ObservedRole {
            name: "Deploy".into(),
            path: "/".into(),
            ..ObservedRole::default()
        },
    );
    let errors = plan(&d, &observed, ACCOUNT).unwrap_err();
    assert!(
        matches!(errors[0], PlanError::CaseClash { kind: "role", .. }),
        "{errors:?}"
    );
}

#[test]
fn a_removed_app_deletes_its_role_but_never_the_provider() {
    let d = desired(vec![client(
        "acme",
        vec![role("acme-deploy", &["repo:acme/site:pull_request"])],
    )]);
    let observed = applied(&d);
    let gone = desired(vec![client("acme", vec![])]);
    let p = plan(&gone, &observed, ACCOUNT).unwrap();
    assert_eq!(labels(&p), ["- role acme-deploy@0"]);
    // Files given alone: a role of a client out of scope stays.
    let mut partial = desired(vec![client("globex", vec![])]);
    partial.authoritative = false;
    assert!(labels(&plan(&partial, &observed, ACCOUNT).unwrap()).is_empty());
}

#[test]
fn a_hand_made_provider_is_used_and_said_so() {
    let d = desired(vec![client(
        "acme",
        vec![role("acme-deploy", &["repo:acme/site:pull_request"])],
    )]);
    let mut observed = applied(&d);
    observed.oidc_provider.as_mut().unwrap().managed = false;
    observed.oidc_provider.as_mut().unwrap().client_ids.clear();
    let p = plan(&d, &observed, ACCOUNT).unwrap();
    assert!(labels(&p).is_empty());
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    assert!(p.warnings[0].contains("not made by provision"));
}

/// A change of a role or the provider applied to an in-memory account, as
/// IAM would (for `plan::tests::simulate`).
pub(in crate::plan) fn simulate(o: &mut Observed, change: &Change) {
    match change {
        Change::CreateOidcProvider { client_ids, .. } => {
            o.oidc_provider = Some(ObservedOidcProvider {
                arn: trust::provider_arn(ACCOUNT),
                client_ids: client_ids.clone(),
                managed: true,
            });
        }
        Change::CreateRole {
            role,
            path,
            tags,
            boundary,
            trust,
            ..
        } => {
            o.roles.insert(
                role.clone(),
                ObservedRole {
                    name: role.clone(),
                    path: path.clone(),
                    tags: tags.clone(),
                    trust: trust.clone(),
                    permissions_boundary: boundary.clone(),
                    ..ObservedRole::default()
                },
            );
        }
        Change::UpdateRoleTags {
            role,
            before,
            after,
        } => {
            let r = o.roles.get_mut(role).unwrap();
            for k in before.keys() {
                r.tags.remove(k);
            }
            r.tags.extend(after.clone());
        }
        Change::UpdateRoleTrust { role, after, .. } => {
            o.roles.get_mut(role).unwrap().trust = after.clone();
        }
        Change::PutRolePolicy {
            role,
            policy_name,
            after,
            ..
        }
        | Change::NarrowRolePolicy {
            role,
            policy_name,
            after: Some(after),
            ..
        } => {
            o.roles
                .get_mut(role)
                .unwrap()
                .inline_policies
                .insert(policy_name.clone(), after.clone());
        }
        Change::NarrowRolePolicy {
            role,
            policy_name,
            after: None,
            ..
        }
        | Change::DeleteRolePolicy {
            role, policy_name, ..
        } => {
            o.roles
                .get_mut(role)
                .unwrap()
                .inline_policies
                .remove(policy_name);
        }
        Change::DetachRolePolicy { role, policy_arn } => {
            o.roles
                .get_mut(role)
                .unwrap()
                .attached_policies
                .retain(|a| a != policy_arn);
        }
        Change::SetRoleBoundary { role, after, .. } => {
            o.roles.get_mut(role).unwrap().permissions_boundary = Some(after.clone());
        }
        Change::DeleteRole { role, .. } => {
            o.roles.remove(role);
        }
        _ => {}
    }
}

/// A saved plan depends on the roles and the provider its changes touch: a
/// trust policy edited, or the provider made, between plan and apply makes
/// it stale.
#[test]
fn a_role_or_provider_changed_since_a_saved_plan_makes_it_stale() {
    use crate::plan::saved::SavedPlan;
    let d = desired(vec![client(
        "acme",
        vec![role("acme-deploy", &["repo:acme/site:pull_request"])],
    )]);
    let observed = applied(&d);
    let mut d2 = d.clone();
    d2.clients.get_mut("acme").unwrap().roles[0]
        .subjects
        .push("repo:acme/site:ref:refs/heads/main".into());
    let p = plan(&d2, &observed, ACCOUNT).unwrap();
    let saved = SavedPlan::new(&p, &d2, &[], &observed, ACCOUNT);
    assert!(saved.check_observed(&observed).is_ok());
    let mut edited = observed.clone();
    edited.roles.get_mut("acme-deploy").unwrap().trust["Statement"][0]["Principal"] = json!("*");
    let err = saved.check_observed(&edited).unwrap_err().to_string();
    assert!(err.contains("role `acme-deploy`"), "{err}");

    let fresh = Observed::default();
    let p = plan(&d, &fresh, ACCOUNT).unwrap();
    let saved = SavedPlan::new(&p, &d, &[], &fresh, ACCOUNT);
    let mut made = fresh.clone();
    made.oidc_provider = applied(&d).oidc_provider;
    let err = saved.check_observed(&made).unwrap_err().to_string();
    assert!(err.contains("OIDC provider"), "{err}");
}

/// A trust policy is held to IAM's quota on its length at exactly the
/// limit: one that fits is accepted, one character more is refused.
#[test]
fn a_trust_policy_is_refused_only_past_the_quota() {
    // Pad one subject until the document is exactly at the limit.
    let base = trust::trust_policy(ACCOUNT, &["repo:acme/site:ref:refs/heads/".to_owned()]);
    let pad = document::ROLE_TRUST_POLICY_LIMIT - document::size(&base);
    let at_limit = format!("repo:acme/site:ref:refs/heads/{}", "b".repeat(pad));
    let over = format!("{at_limit}x");
    let fits = desired(vec![client(
        "acme",
        vec![role("acme-deploy", &[&at_limit])],
    )]);
    assert_eq!(crate::plan::check_quotas(&fits, ACCOUNT), vec![]);
    let too_long = desired(vec![client("acme", vec![role("acme-deploy", &[&over])])]);
    let errors = crate::plan::check_quotas(&too_long, ACCOUNT);
    assert!(
        matches!(
            errors.as_slice(),
            [crate::plan::PlanError::RoleTrustTooLarge { role, size: 2049, limit: 2048, .. }]
                if role == "acme-deploy"
        ),
        "{errors:?}"
    );
}
