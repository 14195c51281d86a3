//! Planner tests: small (desired, observed) pairs, checked by snapshot and
//! by applying the plan to an in-memory account and planning again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::*;
use crate::model::{
    ACCESS_KEY_TAG_KEY, Access, Client, Developer, GROUP_POLICY_NAME, MANAGED_TAG_KEY,
    MANAGED_TAG_VALUE, ObservedGroup, ObservedUser, Settings,
};
use crate::policy::document;
use crate::render;

const ACCOUNT: &str = "123456789012";

fn dev(name: &str) -> Developer {
    Developer {
        name: name.into(),
        email: Some(format!("{name}@example.com")),
        expires: None,
        disabled: false,
    }
}

fn client(name: &str, devs: &[&str]) -> Client {
    Client {
        name: name.into(),
        buckets: vec![format!("{name}-assets")],
        bucket_prefixes: vec![],
        access: Access::ReadWrite,
        developers: devs.iter().map(|d| d.to_string()).collect(),
        membership_expires: Default::default(),
        bucket_access: Default::default(),
        apps: Vec::new(),
        app_user: Some(format!("{name}-app")),
        roles: Vec::new(),
        distributions: vec![],
        source: PathBuf::from(format!("clients/{name}.toml")),
    }
}

/// acme (alice, bob) and globex (alice); authoritative like a directory.
fn desired() -> Desired {
    let mut d = Desired {
        settings: Settings::default(),
        authoritative: true,
        ..Desired::default()
    };
    for name in ["alice", "bob"] {
        d.developers.insert(name.into(), dev(name));
    }
    d.clients
        .insert("acme".into(), client("acme", &["alice", "bob"]));
    d.clients
        .insert("globex".into(), client("globex", &["alice"]));
    d
}

/// Apply `plan` to an in-memory account, as IAM would.
pub(super) fn simulate(observed: &Observed, plan: &Plan) -> Observed {
    let mut o = observed.clone();
    for change in &plan.changes {
        match change {
            Change::CreateUser {
                user,
                path,
                tags,
                boundary,
            } => {
                o.users.insert(
                    user.clone(),
                    ObservedUser {
                        name: user.clone(),
                        path: path.clone(),
                        tags: tags.clone(),
                        permissions_boundary: boundary.clone(),
                        ..ObservedUser::default()
                    },
                );
            }
            Change::UpdateUserTags {
                user,
                before,
                after,
            } => {
                let u = o.users.get_mut(user).unwrap();
                for k in before.keys() {
                    u.tags.remove(k);
                }
                u.tags.extend(after.clone());
            }
            Change::DeleteUser { user, .. } => {
                o.users.remove(user);
            }
            Change::CreateOidcProvider { .. }
            | Change::CreateRole { .. }
            | Change::UpdateRoleTags { .. }
            | Change::UpdateRoleTrust { .. }
            | Change::PutRolePolicy { .. }
            | Change::NarrowRolePolicy { .. }
            | Change::DeleteRolePolicy { .. }
            | Change::DetachRolePolicy { .. }
            | Change::SetRoleBoundary { .. }
            | Change::DeleteRole { .. } => super::roles::tests::simulate(&mut o, change),
            Change::CreateGroup { group, path } => {
                o.groups.insert(
                    group.clone(),
                    ObservedGroup {
                        name: group.clone(),
                        path: path.clone(),
                        ..ObservedGroup::default()
                    },
                );
            }
            Change::PutGroupPolicy {
                group,
                policy_name,
                after,
                ..
            } => {
                o.groups
                    .get_mut(group)
                    .unwrap()
                    .inline_policies
                    .insert(policy_name.clone(), after.clone());
            }
            Change::DeleteGroupPolicy {
                group, policy_name, ..
            } => {
                o.groups
                    .get_mut(group)
                    .unwrap()
                    .inline_policies
                    .remove(policy_name);
            }
            Change::PutManagedPolicy {
                group, arn, after, ..
            } => {
                o.managed_policies.insert(arn.clone(), after.clone());
                let g = o.groups.get_mut(group).unwrap();
                if !g.attached_policies.contains(arn) {
                    g.attached_policies.push(arn.clone());
                }
            }
            Change::DeleteManagedPolicy { group, arn, .. } => {
                o.managed_policies.remove(arn);
                if let Some(g) = o.groups.get_mut(group) {
                    g.attached_policies.retain(|a| a != arn);
                }
            }
            Change::NarrowGrant {
                group,
                policy_name,
                arn,
                after,
                ..
            } => {
                let g = o.groups.get_mut(group).unwrap();
                match (arn, after) {
                    (None, Some(after)) => {
                        g.inline_policies.insert(policy_name.clone(), after.clone());
                    }
                    (None, None) => {
                        g.inline_policies.remove(policy_name);
                    }
                    (Some(arn), Some(after)) => {
                        o.managed_policies.insert(arn.clone(), after.clone());
                    }
                    (Some(arn), None) => {
                        g.attached_policies.retain(|a| a != arn);
                        o.managed_policies.remove(arn);
                    }
                }
            }
            Change::PutUserPolicy {
                user,
                policy_name,
                after,
                ..
            }
            | Change::NarrowUserPolicy {
                user,
                policy_name,
                after: Some(after),
                ..
            } => {
                o.users
                    .get_mut(user)
                    .unwrap()
                    .inline_policies
                    .insert(policy_name.clone(), after.clone());
            }
            Change::DeleteUserPolicy {
                user, policy_name, ..
            }
            | Change::NarrowUserPolicy {
                user,
                policy_name,
                after: None,
                ..
            } => {
                o.users
                    .get_mut(user)
                    .unwrap()
                    .inline_policies
                    .remove(policy_name);
            }
            Change::DetachUserPolicy { user, policy_arn } => {
                o.users
                    .get_mut(user)
                    .unwrap()
                    .attached_policies
                    .retain(|a| a != policy_arn);
            }
            Change::DetachGroupPolicy { group, policy_arn } => {
                o.groups
                    .get_mut(group)
                    .unwrap()
                    .attached_policies
                    .retain(|a| a != policy_arn);
            }
            Change::DeleteGroup { group, .. } => {
                o.groups.remove(group);
                for u in o.users.values_mut() {
                    u.groups.remove(group);
                }
            }
            Change::AddMember { group, user } => {
                assert!(o.groups.contains_key(group), "group {group} missing");
                o.users.get_mut(user).unwrap().groups.insert(group.clone());
            }
            Change::RemoveMember { group, user } => {
                o.users.get_mut(user).unwrap().groups.remove(group);
            }
            Change::CreateAccessKey { user, .. } => {
                o.users
                    .get_mut(user)
                    .unwrap()
                    .tags
                    .insert(ACCESS_KEY_TAG_KEY.into(), "AKIAEXAMPLE".into());
            }
            Change::SetUserBoundary { user, after, .. } => {
                o.users.get_mut(user).unwrap().permissions_boundary = Some(after.clone());
            }
            Change::RemoveUserBoundary { user, .. } => {
                o.users.get_mut(user).unwrap().permissions_boundary = None;
            }
            Change::CreateBucket {
                bucket, settings, ..
            } => {
                o.buckets.insert(
                    bucket.clone(),
                    crate::model::BucketState::Owned(settings.clone()),
                );
            }
            Change::ConfigureBucket { bucket, after, .. } => {
                o.buckets.insert(
                    bucket.clone(),
                    crate::model::BucketState::Owned(after.clone()),
                );
            }
            Change::DisableUser { user, .. } => {
                o.users
                    .get_mut(user)
                    .unwrap()
                    .tags
                    .insert(crate::model::DISABLED_TAG_KEY.into(), "true".into());
            }
            Change::AdoptUser {
                user,
                path,
                before,
                after,
                ..
            } => {
                let u = o.users.get_mut(user).unwrap();
                u.path = path.clone();
                for k in before.keys() {
                    u.tags.remove(k);
                }
                u.tags.extend(after.clone());
            }
            Change::AdoptGroup { group, path, .. } => {
                o.groups.get_mut(group).unwrap().path = path.clone();
            }
            Change::PutBucketPolicy { bucket, after, .. } => {
                o.bucket_policies.insert(
                    bucket.clone(),
                    crate::model::BucketPolicyRead::Policy(after.clone()),
                );
            }
            Change::DeleteBucketPolicy { bucket, .. } => {
                o.bucket_policies
                    .insert(bucket.clone(), crate::model::BucketPolicyRead::NoPolicy);
            }
        }
    }
    o
}

pub(super) fn text(plan: &Plan) -> String {
    let mut out = Vec::new();
    render::plan::text(plan, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

pub(super) fn json(plan: &Plan) -> String {
    let mut out = Vec::new();
    render::plan::json(plan, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn converged(d: &Desired) -> Observed {
    let p = plan(d, &Observed::default(), ACCOUNT).unwrap();
    simulate(&Observed::default(), &p)
}

pub(super) fn names(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| format!("{} {} {}", c.action().symbol(), c.kind().as_str(), c.name()))
        .collect()
}

#[test]
fn plan_from_empty_creates_everything() {
    let p = plan(&desired(), &Observed::default(), ACCOUNT).unwrap();
    insta::assert_snapshot!("from_empty_text", text(&p));
    insta::assert_snapshot!("from_empty_json", json(&p));
    assert_eq!(
        p.summary(),
        Summary {
            create: 15,
            update: 0,
            delete: 0
        },
        "{:#?}",
        names(&p)
    );
}

#[test]
fn changes_are_ordered_by_phase() {
    let p = plan(&desired(), &Observed::default(), ACCOUNT).unwrap();
    let phases: Vec<u8> = p.changes.iter().map(Change::phase).collect();
    let mut sorted = phases.clone();
    sorted.sort();
    assert_eq!(phases, sorted);
}

#[test]
fn plan_after_apply_is_empty() {
    let d = desired();
    let o = converged(&d);
    let again = plan(&d, &o, ACCOUNT).unwrap();
    assert!(again.is_empty(), "{:#?}", names(&again));
    assert_eq!(
        text(&again),
        "No changes. The account matches the configuration.\n"
    );
}

#[test]
fn adding_a_developer_touches_only_that_membership() {
    let mut d = desired();
    let o = converged(&d);
    d.clients
        .get_mut("globex")
        .unwrap()
        .developers
        .push("bob".into());
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert_eq!(names(&p), vec!["+ membership client-globex/bob"]);
}

#[test]
fn removing_a_developer_from_one_client_keeps_the_user() {
    let mut d = desired();
    let o = converged(&d);
    d.clients
        .get_mut("acme")
        .unwrap()
        .developers
        .retain(|x| x != "alice");
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert_eq!(names(&p), vec!["- membership client-acme/alice"]);
}

#[test]
fn an_undeclared_developer_in_no_group_is_deleted() {
    let mut d = desired();
    let o = converged(&d);
    d.clients
        .get_mut("acme")
        .unwrap()
        .developers
        .retain(|x| x != "bob");
    d.developers.remove("bob");
    let p = plan(&d, &o, ACCOUNT).unwrap();
    // Leaving the group is part of deleting the user, not a change of its own.
    assert_eq!(names(&p), vec!["- user bob"]);
    match &p.changes[0] {
        Change::DeleteUser { groups, .. } => assert_eq!(groups, &vec!["client-acme".to_owned()]),
        other => panic!("unexpected {other:?}"),
    }
    insta::assert_snapshot!("delete_developer_text", text(&p));
}

#[test]
fn a_single_file_leaves_other_clients_alone() {
    let d = desired();
    let o = converged(&d);
    // Only globex.toml given: acme is out of scope, bob is not declared.
    let mut only_globex = d.clone();
    only_globex.authoritative = false;
    only_globex.clients.remove("acme");
    only_globex.developers.remove("bob");
    let p = plan(&only_globex, &o, ACCOUNT).unwrap();
    assert!(p.is_empty(), "{:#?}", names(&p));
    assert_eq!(p.out_of_scope, vec!["acme".to_owned()]);
}

#[test]
fn a_removed_client_is_deleted_when_the_directory_is_given() {
    let d = desired();
    let o = converged(&d);
    let mut without_globex = d.clone();
    without_globex.clients.remove("globex");
    let p = plan(&without_globex, &o, ACCOUNT).unwrap();
    assert_eq!(
        names(&p),
        vec!["- user globex-app", "- group client-globex"]
    );
    match &p.changes[1] {
        Change::DeleteGroup {
            members,
            inline_policies,
            ..
        } => {
            // Every member leaves, the app user deleted beside it included.
            assert_eq!(members, &vec!["alice".to_owned(), "globex-app".to_owned()]);
            assert_eq!(inline_policies, &vec![GROUP_POLICY_NAME.to_owned()]);
        }
        other => panic!("unexpected {other:?}"),
    }
    let after = simulate(&o, &p);
    assert!(plan(&without_globex, &after, ACCOUNT).unwrap().is_empty());
}

#[test]
fn an_unmanaged_user_with_a_declared_name_is_an_error() {
    let d = desired();
    let mut o = Observed::default();
    o.users.insert(
        "alice".into(),
        ObservedUser {
            name: "alice".into(),
            path: "/".into(),
            ..ObservedUser::default()
        },
    );
    let errors = plan(&d, &o, ACCOUNT).unwrap_err();
    assert_eq!(errors.len(), 1);
    insta::assert_snapshot!(errors[0].to_string(), @r#"user `alice` already exists but is not managed by provision (path `/`, no `managed-by=provision` tag); rename it in the file, or take it over with `--adopt alice` on `plan` and `apply` (run by an administrator; see "Migrating an account set up by hand" in the README)"#);
}

#[test]
fn an_unmanaged_group_with_a_client_name_is_an_error() {
    let d = desired();
    let mut o = Observed::default();
    o.groups.insert(
        "client-acme".into(),
        ObservedGroup {
            name: "client-acme".into(),
            path: "/".into(),
            ..ObservedGroup::default()
        },
    );
    let errors = plan(&d, &o, ACCOUNT).unwrap_err();
    assert!(matches!(&errors[0], PlanError::UnmanagedGroup { name, .. } if name == "client-acme"));
}

/// A client group at a path nested under the managed path is another
/// configuration's: the message says so and offers no way to take it.
#[test]
fn a_client_group_at_a_nested_path_is_another_configurations() {
    let d = desired();
    let mut o = Observed::default();
    o.groups.insert(
        "client-acme".into(),
        ObservedGroup {
            name: "client-acme".into(),
            path: "/provision/team-b/".into(),
            ..ObservedGroup::default()
        },
    );
    let errors = plan(&d, &o, ACCOUNT).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    insta::assert_snapshot!(errors[0].to_string(), @"group `client-acme` already exists at path `/provision/team-b/`, nested under the managed path `/provision/`: it is a client group of another configuration of provision (whose `settings.path` is `/provision/team-b/`), which this configuration never changes; rename the client in this file");
    // A path that merely starts like the managed one is not nested.
    o.groups.get_mut("client-acme").unwrap().path = "/provisional/".into();
    let errors = plan(&d, &o, ACCOUNT).unwrap_err();
    assert!(matches!(&errors[0], PlanError::UnmanagedGroup { name, .. } if name == "client-acme"));
}

#[test]
fn hand_made_users_and_groups_are_never_touched() {
    let d = desired();
    let mut o = converged(&d);
    o.users.insert(
        "ops".into(),
        ObservedUser {
            name: "ops".into(),
            path: "/".into(),
            groups: BTreeSet::from(["admins".to_owned()]),
            ..ObservedUser::default()
        },
    );
    // A user under the managed path without the tag is not ours either.
    o.users.insert(
        "lookalike".into(),
        ObservedUser {
            name: "lookalike".into(),
            path: "/provision/".into(),
            ..ObservedUser::default()
        },
    );
    o.groups.insert(
        "admins".into(),
        ObservedGroup {
            name: "admins".into(),
            path: "/".into(),
            ..ObservedGroup::default()
        },
    );
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert!(p.is_empty(), "{:#?}", names(&p));
}

/// A managed user put by hand in a group provision does not manage gets
/// access from outside its client groups: the plan warns, naming the user,
/// the group and the way out, and changes nothing (the group is not
/// provision's); a user the plan deletes leaves it anyway, unwarned.
#[test]
fn a_managed_user_in_a_hand_made_group_is_warned_not_removed() {
    let d = desired();
    let mut o = converged(&d);
    o.groups.insert(
        "s3-readers".into(),
        ObservedGroup {
            name: "s3-readers".into(),
            path: "/".into(),
            ..ObservedGroup::default()
        },
    );
    o.users
        .get_mut("acme-app")
        .unwrap()
        .groups
        .insert("s3-readers".into());
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert!(p.is_empty(), "{:#?}", names(&p));
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(
        p.warnings[0].starts_with(
            "managed user `acme-app` is in group `s3-readers`, a group provision does not manage"
        ),
        "{}",
        p.warnings[0]
    );
    // bob leaves the configuration: his user is deleted, with every
    // membership, which the deletion's own warning says.
    let mut d = d;
    d.developers.remove("bob");
    for c in d.clients.values_mut() {
        c.developers.retain(|x| x != "bob");
    }
    o.users
        .get_mut("acme-app")
        .unwrap()
        .groups
        .remove("s3-readers");
    o.users
        .get_mut("bob")
        .unwrap()
        .groups
        .insert("s3-readers".into());
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert!(
        names(&p).iter().any(|n| n.contains("user bob")),
        "{:#?}",
        names(&p)
    );
    assert_eq!(
        p.warnings,
        ["deleting user `bob` also removes it from groups provision does not manage: `s3-readers`"]
    );
}

#[test]
fn membership_is_exclusive_in_managed_groups() {
    let d = desired();
    let mut o = converged(&d);
    o.users.insert(
        "intruder".into(),
        ObservedUser {
            name: "intruder".into(),
            path: "/".into(),
            groups: BTreeSet::from(["client-acme".to_owned()]),
            ..ObservedUser::default()
        },
    );
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert_eq!(names(&p), vec!["- membership client-acme/intruder"]);
}

#[test]
fn policy_drift_is_reverted_with_a_diff() {
    let d = desired();
    let mut o = converged(&d);
    let widened = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}]
    });
    o.groups
        .get_mut("client-acme")
        .unwrap()
        .inline_policies
        .insert(GROUP_POLICY_NAME.into(), widened.clone());
    o.groups
        .get_mut("client-acme")
        .unwrap()
        .inline_policies
        .insert("extra".into(), widened);
    o.groups
        .get_mut("client-acme")
        .unwrap()
        .attached_policies
        .push("arn:aws:iam::aws:policy/AdministratorAccess".into());
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert_eq!(
        names(&p),
        vec![
            "- group-policy client-acme/arn:aws:iam::aws:policy/AdministratorAccess",
            "- group-policy client-acme/extra",
            "~ group-policy client-acme/provision-s3",
        ]
    );
    insta::assert_snapshot!("drift_text", text(&p));
    assert!(plan(&d, &simulate(&o, &p), ACCOUNT).unwrap().is_empty());
}

#[test]
fn an_app_user_without_a_recorded_key_gets_one_and_orphans_go() {
    let d = desired();
    let mut o = converged(&d);
    let app = o.users.get_mut("acme-app").unwrap();
    app.tags.remove(ACCESS_KEY_TAG_KEY);
    app.access_keys = Some(vec!["AKIAORPHAN".into()]);
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert_eq!(
        p.changes,
        vec![Change::CreateAccessKey {
            user: "acme-app".into(),
            orphans: vec!["AKIAORPHAN".into()],
        }]
    );
    let j = json(&p);
    assert!(j.contains("AKIAORPHAN"));
}

#[test]
fn a_changed_email_updates_only_managed_tags() {
    let mut d = desired();
    let mut o = converged(&d);
    o.users
        .get_mut("alice")
        .unwrap()
        .tags
        .insert("cost-center".into(), "42".into());
    d.developers.get_mut("alice").unwrap().email = Some("alice@new.example".into());
    let p = plan(&d, &o, ACCOUNT).unwrap();
    match &p.changes[..] {
        [Change::UpdateUserTags { before, after, .. }] => {
            assert!(!before.contains_key("cost-center"));
            assert_eq!(after["email"], "alice@new.example");
        }
        other => panic!("unexpected {other:?}"),
    }
    let after = simulate(&o, &p);
    assert_eq!(after.users["alice"].tags["cost-center"], "42");
}

#[test]
fn a_developer_kept_by_an_out_of_scope_group_is_not_deleted() {
    let d = desired();
    let o = converged(&d);
    // Only a file with acme, where bob is declared and alice is not.
    let mut only_acme = d.clone();
    only_acme.authoritative = false;
    only_acme.clients.remove("globex");
    only_acme.clients.get_mut("acme").unwrap().developers = vec!["bob".into()];
    only_acme.developers.remove("alice");
    let p = plan(&only_acme, &o, ACCOUNT).unwrap();
    // alice leaves acme but stays for globex, which this file does not own.
    assert_eq!(names(&p), vec!["- membership client-acme/alice"]);
}

#[test]
fn a_user_in_too_many_groups_is_refused() {
    let mut d = desired();
    let mut o = Observed::default();
    let mut alice = ObservedUser {
        name: "alice".into(),
        path: "/provision/".into(),
        tags: BTreeMap::from([(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned())]),
        ..ObservedUser::default()
    };
    for i in 0..9 {
        let name = format!("team{i}");
        alice.groups.insert(name.clone());
        o.groups.insert(
            name.clone(),
            ObservedGroup {
                name,
                path: "/".into(),
                ..ObservedGroup::default()
            },
        );
    }
    o.users.insert("alice".into(), alice);
    d.clients
        .get_mut("globex")
        .unwrap()
        .developers
        .push("bob".into());
    let errors = plan(&d, &o, ACCOUNT).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    insta::assert_snapshot!(errors[0].to_string(), @"user `alice` would be in 11 groups (2 client groups and 9 other groups), over IAM's limit of 10 groups per user; remove it from some clients");
}

#[test]
fn an_oversized_policy_is_refused_before_any_call() {
    let mut d = desired();
    let acme = d.clients.get_mut("acme").unwrap();
    acme.buckets = (0..200)
        .map(|i| format!("acme-bucket-number-{i:03}"))
        .collect();
    let errors = check_quotas(&d, ACCOUNT);
    assert_eq!(errors.len(), 1);
    assert!(
        matches!(&errors[0], PlanError::PolicyTooLarge { client, size, .. } if client == "acme" && *size > 5120)
    );
}

#[test]
fn no_app_user_means_no_key_and_no_user() {
    let mut d = desired();
    d.clients.get_mut("globex").unwrap().app_user = None;
    let p = plan(&d, &Observed::default(), ACCOUNT).unwrap();
    assert!(
        !names(&p).iter().any(|n| n.contains("globex-app")),
        "{:#?}",
        names(&p)
    );
    // Dropping the app user of an existing client deletes it.
    let o = converged(&desired());
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert_eq!(names(&p), vec!["- user globex-app"]);
}

#[test]
fn a_name_that_differs_only_in_case_is_refused() {
    let d = desired();
    let mut o = Observed::default();
    o.users.insert(
        "Alice".into(),
        ObservedUser {
            name: "Alice".into(),
            path: "/".into(),
            ..ObservedUser::default()
        },
    );
    o.groups.insert(
        "Client-Acme".into(),
        ObservedGroup {
            name: "Client-Acme".into(),
            path: "/".into(),
            ..ObservedGroup::default()
        },
    );
    let errors: Vec<String> = plan(&d, &o, ACCOUNT)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        vec![
            "user `alice` cannot be created: IAM names ignore case and `Alice` already exists; use the existing spelling or another name",
            "group `client-acme` cannot be created: IAM names ignore case and `Client-Acme` already exists; use the existing spelling or another name",
        ]
    );
}
const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/ClientBoundary";
const OTHER_BOUNDARY: &str = "arn:aws:iam::123456789012:policy/Old";

fn with_boundary(arn: Option<&str>) -> Desired {
    let mut d = desired();
    d.settings.permissions_boundary = arn.map(str::to_owned);
    d
}

#[test]
fn created_users_carry_the_configured_boundary() {
    let p = plan(
        &with_boundary(Some(BOUNDARY)),
        &Observed::default(),
        ACCOUNT,
    )
    .unwrap();
    let boundaries: Vec<Option<&str>> = p
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateUser { boundary, .. } => Some(boundary.as_deref()),
            _ => None,
        })
        .collect();
    assert_eq!(boundaries, [Some(BOUNDARY); 4]);
    assert!(text(&p).contains(&format!("permissions boundary: {BOUNDARY}")));
    // Converged, the plan is empty.
    let o = simulate(&Observed::default(), &p);
    assert!(
        plan(&with_boundary(Some(BOUNDARY)), &o, ACCOUNT)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_missing_or_different_boundary_is_corrected() {
    let mut o = converged(&desired());
    o.users.get_mut("bob").unwrap().permissions_boundary = Some(OTHER_BOUNDARY.into());
    let p = plan(&with_boundary(Some(BOUNDARY)), &o, ACCOUNT).unwrap();
    assert_eq!(
        names(&p),
        [
            "~ permissions-boundary acme-app",
            "~ permissions-boundary alice",
            "~ permissions-boundary bob",
            "~ permissions-boundary globex-app",
        ]
    );
    assert!(p.changes.iter().all(|c| c.phase() == 1));
    insta::assert_snapshot!("boundary_drift_text", text(&p));
    insta::assert_snapshot!("boundary_drift_json", json(&p));
    let o = simulate(&o, &p);
    assert!(
        plan(&with_boundary(Some(BOUNDARY)), &o, ACCOUNT)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn boundaries_are_removed_only_when_asked() {
    let o = simulate(
        &Observed::default(),
        &plan(
            &with_boundary(Some(BOUNDARY)),
            &Observed::default(),
            ACCOUNT,
        )
        .unwrap(),
    );
    // The setting is gone: keep the boundaries, and say so.
    let kept = plan(&desired(), &o, ACCOUNT).unwrap();
    assert!(kept.is_empty(), "{:?}", names(&kept));
    assert_eq!(kept.warnings.len(), 1);
    insta::assert_snapshot!("boundaries_kept_warning", kept.warnings[0]);

    let options = PlanOptions {
        remove_boundaries: true,
        ..PlanOptions::default()
    };
    let removed = plan_with(&desired(), &o, ACCOUNT, &options).unwrap();
    assert_eq!(removed.summary().delete, 4, "{:?}", names(&removed));
    assert!(removed.warnings.is_empty());
    assert!(
        text(&removed).contains(&format!("- permissions-boundary alice\n      - {BOUNDARY}")),
        "{}",
        text(&removed)
    );
    let o = simulate(&o, &removed);
    assert!(
        plan_with(&desired(), &o, ACCOUNT, &options)
            .unwrap()
            .is_empty()
    );
    assert!(plan(&desired(), &o, ACCOUNT).unwrap().warnings.is_empty());
}

#[test]
fn unmanaged_and_undeclared_users_keep_their_boundaries() {
    let mut o = converged(&desired());
    o.users.insert(
        "ops".into(),
        ObservedUser {
            name: "ops".into(),
            path: "/".into(),
            permissions_boundary: Some(OTHER_BOUNDARY.into()),
            ..ObservedUser::default()
        },
    );
    let p = plan(&with_boundary(Some(BOUNDARY)), &o, ACCOUNT).unwrap();
    assert!(
        !names(&p).iter().any(|n| n.contains("ops")),
        "{:?}",
        names(&p)
    );
}

#[test]
fn a_boundary_too_narrow_for_a_client_is_a_warning() {
    let o = converged(&with_boundary(Some(BOUNDARY)));
    // Allows acme's buckets only.
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::acme-*"}
    ]});
    let options = PlanOptions {
        boundary_document: Some(doc),
        ..PlanOptions::default()
    };
    let p = plan_with(&with_boundary(Some(BOUNDARY)), &o, ACCOUNT, &options).unwrap();
    assert!(p.is_empty());
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(
        p.warnings[0].contains("client `globex`"),
        "{}",
        p.warnings[0]
    );
    // Without a boundary setting the document is not consulted.
    let p = plan_with(&desired(), &converged(&desired()), ACCOUNT, &options).unwrap();
    assert!(p.warnings.is_empty());
}

/// `disabled = true` as `offboard --keep-user` writes it: the user stays,
/// leaves its groups and is disabled once; re-enabling removes the mark.
#[test]
fn a_disabled_developer_keeps_its_user_without_access() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let mut d = desired();
    let observed = converged(&d);
    d.developers.get_mut("bob").unwrap().disabled = true;
    let (d, _) = crate::plan::expiry::apply_lifecycle(&d, today);
    let p = plan(&d, &observed, ACCOUNT).unwrap();
    assert_eq!(
        names(&p),
        ["~ user bob", "- membership client-acme/bob"],
        "{:#?}",
        p.changes
    );
    let after = simulate(&observed, &p);
    assert!(plan(&d, &after, ACCOUNT).unwrap().is_empty());

    let enabled = desired();
    let p = plan(&enabled, &after, ACCOUNT).unwrap();
    assert_eq!(
        names(&p),
        ["~ user bob", "+ membership client-acme/bob"],
        "{:#?}",
        p.changes
    );
    assert!(matches!(&p.changes[0], Change::UpdateUserTags { after, .. } if after.len() == 2));
}

#[test]
fn a_disabled_developer_without_a_user_gets_none() {
    let mut d = desired();
    d.developers.get_mut("bob").unwrap().disabled = true;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let (d, _) = crate::plan::expiry::apply_lifecycle(&d, today);
    let p = plan(&d, &Observed::default(), ACCOUNT).unwrap();
    assert!(
        !names(&p).iter().any(|n| n.contains("bob")),
        "{:#?}",
        names(&p)
    );
}

#[test]
fn disabling_renders_as_an_update_of_the_user() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let mut d = desired();
    let observed = converged(&d);
    d.developers.get_mut("bob").unwrap().disabled = true;
    let (d, _) = crate::plan::expiry::apply_lifecycle(&d, today);
    let p = plan(&d, &observed, ACCOUNT).unwrap();
    insta::assert_snapshot!("disable_developer_text", text(&p));
    insta::assert_snapshot!("disable_developer_json", json(&p));
}

#[test]
fn the_accounts_own_quotas_are_used() {
    let d = desired();
    let o = Observed {
        quotas: crate::model::AccountQuotas {
            groups: 1,
            users: 3,
            groups_per_user: 1,
            group_policy_size: 400,
            managed_policy_size: 400,
            from_account: true,
        },
        ..Observed::default()
    };
    let errors: Vec<String> = plan(&d, &o, ACCOUNT)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    insta::assert_snapshot!("account_quotas", errors.join("\n"));
}

/// Group policies written before their S3 statements carried
/// `s3:ResourceAccount` are provision's: brought up to date in one write,
/// as a change of configuration, with no drift warning, even when that
/// earlier configuration granted more (here a bucket since removed).
#[test]
fn a_policy_without_the_resource_account_is_updated_not_flagged() {
    let d = desired();
    let mut o = converged(&d);
    let mut earlier = d.clients["acme"].clone();
    earlier.buckets.push("acme-removed".into());
    let legacy = document::group_policy_of(&earlier, ACCOUNT, None);
    o.groups
        .get_mut("client-acme")
        .unwrap()
        .inline_policies
        .insert(GROUP_POLICY_NAME.into(), legacy);
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert_eq!(names(&p), vec!["~ group-policy client-acme/provision-s3"]);
    assert!(p.drift.is_empty(), "{:?}", p.drift);
    assert!(
        !text(&p).contains("not written by provision"),
        "{}",
        text(&p)
    );
}

#[test]
fn only_widening_drift_is_flagged_and_json_carries_it() {
    let d = desired();
    let mut o = converged(&d);
    // Narrowed by hand (kept to the account's buckets): reverted, but not
    // flagged as widening.
    let narrower = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::acme-assets/*"], "Condition": {"StringEquals": {"s3:ResourceAccount": [ACCOUNT]}}}]});
    o.groups
        .get_mut("client-acme")
        .unwrap()
        .inline_policies
        .insert(GROUP_POLICY_NAME.into(), narrower);
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert_eq!(names(&p), vec!["~ group-policy client-acme/provision-s3"]);
    assert!(p.drift.is_empty(), "{:?}", p.drift);
    // Widened by hand to another client's bucket.
    let wider = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::acme-assets/*", "arn:aws:s3:::globex-assets/*"]}]});
    o.groups
        .get_mut("client-acme")
        .unwrap()
        .inline_policies
        .insert(GROUP_POLICY_NAME.into(), wider);
    let p = plan(&d, &o, ACCOUNT).unwrap();
    let j: serde_json::Value = serde_json::from_str(&json(&p)).unwrap();
    assert_eq!(
        j["drift"],
        serde_json::json!([{"group": "client-acme", "policy": "provision-s3", "widens": ["statement `#1` allows `s3:GetObject` on `arn:aws:s3:::globex-assets/*`"]}])
    );
    assert!(text(&p).starts_with("warning: DRIFT widens access: group `client-acme`"));
}

/// A client whose policy does not fit the group's inline quota gets a
/// managed policy attached to its group instead, converges, and goes back
/// inline when it fits again.
#[test]
fn a_policy_over_the_inline_quota_becomes_a_managed_policy() {
    let mut d = desired();
    d.clients.get_mut("acme").unwrap().buckets = (0..70)
        .map(|i| format!("acme-bucket-number-{i:03}"))
        .collect();
    let size = document::size(&document::group_policy(&d.clients["acme"], ACCOUNT));
    assert!(size > 5120 && size <= 6144, "{size}");
    assert!(check_quotas(&d, ACCOUNT).is_empty());
    let p = plan(&d, &Observed::default(), ACCOUNT).unwrap();
    let acme: Vec<String> = names(&p)
        .into_iter()
        .filter(|n| n.contains("client-acme/provision"))
        .collect();
    assert_eq!(acme, vec!["+ group-policy client-acme/provision-s3-acme"]);
    let o = simulate(&Observed::default(), &p);
    assert!(o.groups["client-acme"].inline_policies.is_empty());
    let again = plan(&d, &o, ACCOUNT).unwrap();
    assert!(again.is_empty(), "{:#?}", names(&again));
    assert!(again.drift.is_empty());

    // Back under the quota: inline again, the managed policy deleted. It
    // shares no bucket with the new policy, so it goes in the first phase.
    let small = desired();
    let p = plan(&small, &o, ACCOUNT).unwrap();
    assert_eq!(
        names(&p),
        vec![
            "- group-policy client-acme/provision-s3-acme",
            "+ group-policy client-acme/provision-s3",
        ]
    );
    assert_eq!(
        p.changes.iter().map(Change::phase).collect::<Vec<_>>(),
        [0, 1]
    );
    let o2 = simulate(&o, &p);
    assert!(plan(&small, &o2, ACCOUNT).unwrap().is_empty());

    // From inline to managed: the inline policy goes.
    let p = plan(&d, &o2, ACCOUNT).unwrap();
    assert_eq!(
        names(&p),
        vec![
            "- group-policy client-acme/provision-s3",
            "+ group-policy client-acme/provision-s3-acme",
        ]
    );
}

/// Groups of other files' clients count against the 10-group quota too:
/// applying one file must not discover the limit halfway through.
#[test]
fn other_files_client_groups_count_towards_the_group_quota() {
    let mut o = Observed::default();
    let mut alice = ObservedUser {
        name: "alice".into(),
        path: "/provision/".into(),
        tags: BTreeMap::from([(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned())]),
        ..ObservedUser::default()
    };
    for i in 0..9 {
        let name = format!("client-other{i}");
        alice.groups.insert(name.clone());
        o.groups.insert(
            name.clone(),
            ObservedGroup {
                name,
                path: "/provision/".into(),
                ..ObservedGroup::default()
            },
        );
    }
    o.users.insert("alice".into(), alice);
    // One file with acme and globex, both listing alice: 9 + 2 = 11.
    let mut d = desired();
    d.authoritative = false;
    let errors = plan(&d, &o, ACCOUNT).unwrap_err();
    assert!(
        matches!(&errors[..], [PlanError::TooManyGroupsForUser { user, count: 11, .. }] if user == "alice"),
        "{errors:?}"
    );
    // Given as the whole directory, those groups are deleted: no error.
    d.authoritative = true;
    assert!(plan(&d, &o, ACCOUNT).is_ok());
}

/// A bucket moving from one client to another: the giver's policy shrinks
/// in the first phase, the receiver's grows in a later one, so no moment
/// exists where both reach it.
#[test]
fn a_moved_bucket_is_taken_away_before_it_is_given() {
    let d = desired();
    let o = converged(&d);
    let mut moved = d.clone();
    moved
        .clients
        .get_mut("acme")
        .unwrap()
        .buckets
        .push("acme-media".into());
    let o = simulate(&o, &plan(&moved, &o, ACCOUNT).unwrap());
    let mut after = moved.clone();
    after
        .clients
        .get_mut("acme")
        .unwrap()
        .buckets
        .retain(|b| b != "acme-media");
    after
        .clients
        .get_mut("globex")
        .unwrap()
        .buckets
        .push("acme-media".into());
    let p = plan(&after, &o, ACCOUNT).unwrap();
    let phase_of = |name: &str| {
        p.changes
            .iter()
            .find(|c| c.name() == name)
            .map(Change::phase)
            .unwrap()
    };
    assert!(
        phase_of("client-acme/provision-s3") < phase_of("client-globex/provision-s3"),
        "{:#?}",
        names(&p)
    );
}

/// Renaming a client in one directory apply: the old group goes in the
/// first phase, so its buckets are free before the new group gets them.
#[test]
fn a_client_renamed_in_one_directory_apply_hands_over_its_buckets() {
    let d = desired();
    let o = converged(&d);
    let mut renamed = d.clone();
    let mut globex = renamed.clients.remove("globex").unwrap();
    globex.name = "initech".into();
    globex.app_user = Some("initech-app".into());
    renamed.clients.insert("initech".into(), globex);
    let p = plan(&renamed, &o, ACCOUNT).unwrap_or_else(|e| panic!("{e:?}"));
    let phase_of = |name: &str| {
        p.changes
            .iter()
            .find(|c| c.name() == name)
            .map(Change::phase)
            .unwrap_or_else(|| panic!("no change for {name}: {:#?}", names(&p)))
    };
    assert!(phase_of("client-globex") < phase_of("client-initech/provision-s3"));
    assert!(
        plan(&renamed, &simulate(&o, &p), ACCOUNT)
            .unwrap()
            .is_empty()
    );
    // Given as a single file, the old client is out of scope and still
    // holds the bucket: refused.
    let mut one_file = renamed.clone();
    one_file.authoritative = false;
    let errors = plan(&one_file, &o, ACCOUNT).unwrap_err();
    assert!(
        matches!(&errors[0], PlanError::LiveCollision { .. }),
        "{errors:?}"
    );
}

/// zed and bee of the hardening issue: zed gives `shared-x` to bee while
/// gaining `zed-two`, bee keeps `bee-one`.
fn zed_and_bee(zed: &[&str], bee: &[&str]) -> Desired {
    let mut d = Desired {
        authoritative: true,
        ..Desired::default()
    };
    for (name, buckets) in [("zed", zed), ("bee", bee)] {
        let mut c = client(name, &[]);
        c.buckets = buckets.iter().map(|b| b.to_string()).collect();
        d.clients.insert(name.into(), c);
    }
    d
}

/// Every moment an apply of `p` can stop at: the account after each
/// phase, when the changes of the next phase all failed.
pub(super) fn states_after_each_phase(o: &Observed, p: &Plan) -> Vec<Observed> {
    let mut states = vec![o.clone()];
    let mut phases: Vec<u8> = p.changes.iter().map(Change::phase).collect();
    phases.dedup();
    for phase in phases {
        let upto = Plan {
            changes: p
                .changes
                .iter()
                .filter(|c| c.phase() <= phase)
                .cloned()
                .collect(),
            ..Plan::default()
        };
        states.push(simulate(o, &upto));
    }
    states
}

/// The groups whose policies (inline and provision's managed) allow
/// `s3:GetObject` on `bucket`'s objects.
fn groups_reaching(o: &Observed, bucket: &str) -> Vec<String> {
    let object = format!("arn:aws:s3:::{bucket}/key");
    o.groups
        .values()
        .filter(|g| {
            let docs: Vec<&serde_json::Value> = g
                .inline_policies
                .values()
                .chain(
                    g.attached_policies
                        .iter()
                        .filter_map(|a| o.managed_policies.get(a)),
                )
                .collect();
            crate::policy::evaluate::is_allowed(&docs, "s3:GetObject", &object)
        })
        .map(|g| g.name.clone())
        .collect()
}

/// A bucket moving to another client while the giver also gains one: the
/// giver is narrowed to what it keeps in the first phase, and nothing is
/// granted until that is done; at no phase boundary do both groups reach
/// the bucket, and the narrowing shows in the plan.
#[test]
fn a_bucket_moving_while_the_giver_gains_another_is_never_granted_to_both() {
    let before = zed_and_bee(&["zed-one", "shared-x"], &["bee-one"]);
    let o = converged(&before);
    let after = zed_and_bee(&["zed-one", "zed-two"], &["bee-one", "shared-x"]);
    let p = plan(&after, &o, ACCOUNT).unwrap();
    let listed: Vec<(u8, String)> = p
        .changes
        .iter()
        .map(|c| (c.phase(), format!("{} {}", c.action().symbol(), c.name())))
        .collect();
    assert_eq!(
        listed,
        [
            (0, "~ client-zed/provision-s3".to_owned()),
            (1, "~ client-bee/provision-s3".to_owned()),
            (1, "~ client-zed/provision-s3".to_owned()),
        ]
    );
    let Change::NarrowGrant {
        after: Some(kept), ..
    } = &p.changes[0]
    else {
        panic!("{:#?}", p.changes[0]);
    };
    let keeps = document::group_policy(&zed_and_bee(&["zed-one"], &[]).clients["zed"], ACCOUNT);
    assert!(
        document::covers(&keeps, kept) && document::covers(kept, &keeps),
        "{kept:#}"
    );
    for state in states_after_each_phase(&o, &p) {
        assert!(groups_reaching(&state, "shared-x").len() <= 1, "{state:#?}");
    }
    let end = simulate(&o, &p);
    assert_eq!(groups_reaching(&end, "shared-x"), ["client-bee"]);
    assert!(plan(&after, &end, ACCOUNT).unwrap().is_empty());
    // Shown and counted: one more update than without the narrowing.
    assert_eq!(p.summary().update, 3);
    let shown = text(&p);
    assert!(
        shown.contains("  ~ group-policy client-zed/provision-s3 (narrows first)\n"),
        "{shown}"
    );
    let mut md = Vec::new();
    render::markdown::markdown(&p, &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(
        md.contains("\n! group-policy client-zed/provision-s3 (narrows first)\n"),
        "{md}"
    );
    let j: serde_json::Value = serde_json::from_str(&json(&p)).unwrap();
    assert_eq!(j["changes"][0]["narrows_first"], true, "{j:#}");
    assert_eq!(j["changes"][1].get("narrows_first"), None, "{j:#}");
}

/// The same through the managed-policy fallback: zed's policy does not fit
/// inline, so it is narrowed with a new version of its managed policy.
#[test]
fn a_moved_bucket_is_narrowed_first_in_a_managed_policy_too() {
    let many: Vec<String> = (0..70)
        .map(|i| format!("zed-bucket-number-{i:03}"))
        .collect();
    let mut zed_before: Vec<&str> = many.iter().map(String::as_str).collect();
    zed_before.push("shared-x");
    let mut zed_after: Vec<&str> = many.iter().map(String::as_str).collect();
    zed_after.push("zed-two");
    let before = zed_and_bee(&zed_before, &["bee-one"]);
    let o = converged(&before);
    assert_eq!(o.managed_policies.len(), 1, "zed's policy is managed");
    let after = zed_and_bee(&zed_after, &["bee-one", "shared-x"]);
    let p = plan(&after, &o, ACCOUNT).unwrap();
    let narrow = p
        .changes
        .iter()
        .find(|c| matches!(c, Change::NarrowGrant { .. }))
        .unwrap();
    assert!(
        matches!(narrow, Change::NarrowGrant { arn: Some(arn), after: Some(_), .. } if arn.ends_with("provision-s3-zed")),
        "{narrow:#?}"
    );
    assert_eq!(narrow.phase(), 0);
    for state in states_after_each_phase(&o, &p) {
        assert!(groups_reaching(&state, "shared-x").len() <= 1, "{state:#?}");
    }
    assert!(plan(&after, &simulate(&o, &p), ACCOUNT).unwrap().is_empty());
}

/// Only adding is one second-phase write; only taking away (a prefix
/// made narrower, a lower access level) is one first-phase write; nothing
/// in common narrows to nothing, deleting the policy first.
#[test]
fn a_grant_change_is_narrowed_first_only_when_it_takes_something_away() {
    let base = zed_and_bee(&["zed-one"], &["bee-one"]);
    let o = converged(&base);
    let phases = |d: &Desired| -> Vec<(u8, Action, bool)> {
        plan(d, &o, ACCOUNT)
            .unwrap()
            .changes
            .iter()
            .map(|c| {
                (
                    c.phase(),
                    c.action(),
                    matches!(c, Change::NarrowGrant { .. }),
                )
            })
            .collect()
    };
    let wider = zed_and_bee(&["zed-one", "zed-two"], &["bee-one"]);
    assert_eq!(phases(&wider), [(1, Action::Update, false)]);
    let mut read_only = base.clone();
    read_only.clients.get_mut("zed").unwrap().access = Access::ReadOnly;
    assert_eq!(phases(&read_only), [(0, Action::Update, true)]);
    let mut prefix = base.clone();
    prefix.clients.get_mut("zed").unwrap().bucket_prefixes = vec!["zed-".into()];
    let o_prefix = simulate(&o, &plan(&prefix, &o, ACCOUNT).unwrap());
    let mut narrower = prefix.clone();
    narrower.clients.get_mut("zed").unwrap().bucket_prefixes = vec!["zed-a".into()];
    let p = plan(&narrower, &o_prefix, ACCOUNT).unwrap();
    assert!(
        matches!(&p.changes[..], [c @ Change::NarrowGrant { .. }] if c.phase() == 0),
        "{:#?}",
        p.changes
    );
    let elsewhere = zed_and_bee(&["zed-two"], &["bee-one"]);
    assert_eq!(
        phases(&elsewhere),
        [(0, Action::Delete, true), (1, Action::Create, false)]
    );
}

/// A removed client whose group is already gone (deleted by an apply cut
/// off halfway, or by hand): given the directory, its application user
/// and keys are still deleted; given one file, the plan says so.
#[test]
fn a_removed_clients_app_user_is_deleted_even_when_its_group_is_gone() {
    let d = desired();
    let mut o = converged(&d);
    o.groups.remove("client-globex");
    for u in o.users.values_mut() {
        u.groups.remove("client-globex");
    }
    let mut without = d.clone();
    without.clients.remove("globex");
    let p = plan(&without, &o, ACCOUNT).unwrap();
    assert_eq!(names(&p), vec!["- user globex-app"], "{:#?}", p.changes);
    assert!(
        plan(&without, &simulate(&o, &p), ACCOUNT)
            .unwrap()
            .is_empty()
    );
    // One file: out of scope, left alone, but not silently.
    without.authoritative = false;
    let p = plan(&without, &o, ACCOUNT).unwrap();
    assert!(p.is_empty(), "{:#?}", p.changes);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("`globex-app`") && w.contains("no group")),
        "{:?}",
        p.warnings
    );
}

/// A policy put on a managed user by hand (inline, or attached) is drift,
/// shown first, and removed in the first phase; a user of a client not in
/// the files given is only warned about.
#[test]
fn policies_on_managed_users_are_drift_and_removed() {
    let d = desired();
    let mut o = converged(&d);
    let grab = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::globex-assets/*"]}]});
    let app = o.users.get_mut("acme-app").unwrap();
    app.inline_policies.insert("grab".into(), grab);
    app.attached_policies
        .push("arn:aws:iam::aws:policy/AmazonS3FullAccess".into());
    let p = plan(&d, &o, ACCOUNT).unwrap();
    assert_eq!(
        names(&p),
        vec![
            "- user-policy acme-app/arn:aws:iam::aws:policy/AmazonS3FullAccess",
            "- user-policy acme-app/grab",
        ]
    );
    assert!(p.changes.iter().all(|c| c.phase() == 0));
    let shown = text(&p);
    assert!(
        shown.starts_with(
            "warning: DRIFT widens access: user `acme-app`, policy `grab`: statement `#1` allows `s3:GetObject` on `arn:aws:s3:::globex-assets/*` (apply reverts it)\n"
        ),
        "{shown}"
    );
    let j: serde_json::Value = serde_json::from_str(&json(&p)).unwrap();
    assert_eq!(j["drift"][0]["user"], "acme-app", "{j:#}");
    assert_eq!(j["drift"][0].get("group"), None, "{j:#}");
    assert!(plan(&d, &simulate(&o, &p), ACCOUNT).unwrap().is_empty());

    // Only globex's file: acme's application user is out of scope.
    let mut only_globex = d.clone();
    only_globex.authoritative = false;
    only_globex.clients.remove("acme");
    only_globex.developers.remove("bob");
    let p = plan(&only_globex, &o, ACCOUNT).unwrap();
    assert!(p.is_empty() && p.drift.is_empty(), "{:#?}", p.changes);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("`acme-app` (not in the files given)")),
        "{:?}",
        p.warnings
    );
}

/// Moving a bucket away from a client, or lowering its access, is a change
/// of the configuration: the live policy is what provision wrote for the
/// old one, so it is no drift. A hand edit still is, shown first.
#[test]
fn a_configuration_change_is_not_drift_but_a_hand_edit_is() {
    let before = zed_and_bee(&["zed-one", "shared-x"], &["bee-one"]);
    let o = converged(&before);
    let after = zed_and_bee(&["zed-one"], &["bee-one", "shared-x"]);
    let p = plan(&after, &o, ACCOUNT).unwrap();
    assert!(p.drift.is_empty(), "{:#?}", p.drift);
    assert!(!text(&p).contains("DRIFT"), "{}", text(&p));
    let mut lower = before.clone();
    lower.clients.get_mut("zed").unwrap().access = Access::ReadOnly;
    lower.clients.get_mut("bee").unwrap().access = Access::Full;
    assert!(plan(&lower, &o, ACCOUNT).unwrap().drift.is_empty());

    // The same bucket added by hand, outside provision's form: drift.
    let mut edited = converged(&before);
    let hand = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::zed-one/*", "arn:aws:s3:::bee-one/*"]}
    ]});
    edited
        .groups
        .get_mut("client-zed")
        .unwrap()
        .inline_policies
        .insert(GROUP_POLICY_NAME.into(), hand);
    let p = plan(&before, &edited, ACCOUNT).unwrap();
    assert_eq!(p.drift.len(), 1, "{:#?}", p.drift);
    assert!(
        text(&p).starts_with("warning: DRIFT widens access: group `client-zed`, policy `provision-s3`: statement `#1` allows `s3:GetObject` on `arn:aws:s3:::bee-one/*`"),
        "{}",
        text(&p)
    );
    assert!(
        plan(&before, &simulate(&edited, &p), ACCOUNT)
            .unwrap()
            .is_empty()
    );
}

/// Applying one file whose declaration of a shared developer differs from
/// the live user (another e-mail) rewrites it for every client: the plan
/// warns, naming the declaration and the other clients' groups.
#[test]
fn a_shared_developer_declared_differently_is_warned_about() {
    let d = desired();
    let o = converged(&d);
    let mut only_globex = d.clone();
    only_globex.authoritative = false;
    only_globex.clients.remove("acme");
    only_globex.developers.remove("bob");
    only_globex.developers.get_mut("alice").unwrap().email = Some("alice@other.example".into());
    only_globex.developer_locations.insert(
        "alice".into(),
        crate::model::SourceLocation {
            path: PathBuf::from("clients/globex.toml"),
            line: 2,
            column: 8,
        },
    );
    let p = plan(&only_globex, &o, ACCOUNT).unwrap();
    assert_eq!(names(&p), vec!["~ user alice"]);
    assert_eq!(
        p.warnings,
        [
            "developer `alice` is declared at clients/globex.toml:2:8 with `email=alice@other.example`, but the user in the account has `email=alice@example.com` and is also in `client-acme` (clients not in the files given, whose files may declare it otherwise); applying this changes `alice` for every client: make the declarations agree, or give the whole clients directory"
        ]
    );
    // The same change given with every client: an ordinary edit.
    let mut everything = d.clone();
    everything.developers.get_mut("alice").unwrap().email = Some("alice@other.example".into());
    assert!(plan(&everything, &o, ACCOUNT).unwrap().warnings.is_empty());
}

/// A grant that grows past the inline quota moves to the managed policy:
/// nothing is taken away, so nothing narrows, and the inline policy is
/// deleted beside the managed policy's creation, in the second phase.
/// Shrinking back, the managed policy is narrowed to what stays first.
#[test]
fn a_grant_moving_between_inline_and_managed_narrows_only_what_is_lost() {
    let small = zed_and_bee(&["zed-one"], &["bee-one"]);
    let o = converged(&small);
    let many: Vec<String> = (0..70)
        .map(|i| format!("zed-bucket-number-{i:03}"))
        .collect();
    let mut big_list: Vec<&str> = many.iter().map(String::as_str).collect();
    big_list.push("zed-one");
    let big = zed_and_bee(&big_list, &["bee-one"]);
    let p = plan(&big, &o, ACCOUNT).unwrap();
    let listed: Vec<(u8, String)> = p
        .changes
        .iter()
        .map(|c| (c.phase(), format!("{} {}", c.action().symbol(), c.name())))
        .collect();
    assert_eq!(
        listed,
        [
            (1, "- client-zed/provision-s3".to_owned()),
            (1, "+ client-zed/provision-s3-zed".to_owned()),
        ]
    );
    assert!(
        text(&p).contains("the grant moves to the managed policy"),
        "{}",
        text(&p)
    );
    let o_big = simulate(&o, &p);
    assert!(plan(&big, &o_big, ACCOUNT).unwrap().is_empty());

    // Back inline with `zed-one` only: the managed policy first keeps just
    // that, then goes once the inline policy is written.
    let p = plan(&small, &o_big, ACCOUNT).unwrap();
    let listed: Vec<(u8, Action, bool)> = p
        .changes
        .iter()
        .map(|c| {
            (
                c.phase(),
                c.action(),
                matches!(c, Change::NarrowGrant { .. }),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (0, Action::Update, true),
            (1, Action::Create, false),
            (1, Action::Delete, false),
        ]
    );
    // What is lost is gone after the first phase; what stays is never
    // interrupted.
    let states = states_after_each_phase(&o_big, &p);
    assert!(groups_reaching(&states[1], "zed-bucket-number-000").is_empty());
    for state in &states {
        assert_eq!(groups_reaching(state, "zed-one"), ["client-zed"]);
    }
    assert!(
        plan(&small, &simulate(&o_big, &p), ACCOUNT)
            .unwrap()
            .is_empty()
    );
}

/// The bucket-policy layer's planner tests: a desired state with the layer
/// on, and an account that already holds everything else.
mod bucket_policy_layer {
    use super::*;
    use crate::model::BucketPolicyRead;
    use crate::policy::bucket_policy::{self as layer, DENY_OUTSIDE_SID};

    const ADMIN: &str = "arn:aws:iam::123456789012:role/ops/Admin";
    const SESSION: &str = "arn:aws:sts::123456789012:assumed-role/Admin/alice";

    fn layered() -> Desired {
        let mut d = desired();
        d.settings.bucket_policy = Some(true);
        d.settings.bucket_policy_exempt = vec![ADMIN.into()];
        d
    }

    /// The account as `d` wants it in IAM, with `policies` on the buckets
    /// and the caller a session of the exempt role.
    fn account(d: &Desired, policies: &[(&str, BucketPolicyRead)]) -> Observed {
        // IAM as the plan without the layer leaves it.
        let mut iam_only = d.clone();
        iam_only.settings.bucket_policy = None;
        iam_only.bucket_policy_clients.clear();
        let mut o = converged(&iam_only);
        o.bucket_policies = policies
            .iter()
            .map(|(b, p)| ((*b).to_owned(), p.clone()))
            .collect();
        o.caller_arn = Some(SESSION.into());
        o
    }

    fn no_policies() -> Vec<(&'static str, BucketPolicyRead)> {
        vec![
            ("acme-assets", BucketPolicyRead::NoPolicy),
            ("globex-assets", BucketPolicyRead::NoPolicy),
        ]
    }

    fn layer_changes(plan: &Plan) -> Vec<&Change> {
        plan.changes
            .iter()
            .filter(|c| c.kind() == Kind::BucketPolicy)
            .collect()
    }

    #[test]
    fn the_layer_writes_each_exact_bucket_once_then_converges() {
        let d = layered();
        let o = account(&d, &no_policies());
        let p = plan(&d, &o, ACCOUNT).unwrap();
        let changes = layer_changes(&p);
        assert_eq!(changes.len(), 2, "{:?}", p.changes);
        let Change::PutBucketPolicy {
            after,
            before,
            client,
            ..
        } = changes[0]
        else {
            panic!("{changes:?}");
        };
        assert_eq!((before, client.as_str()), (&None, "acme"));
        let doc: Value = serde_json::from_str(after).unwrap();
        assert_eq!(doc["Statement"][0]["Sid"], DENY_OUTSIDE_SID);
        assert_eq!(
            doc["Statement"][0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
            serde_json::json!([
                "arn:aws:iam::123456789012:role/ops/Admin",
                "arn:aws:iam::123456789012:user/provision/acme-app",
                "arn:aws:iam::123456789012:user/provision/alice",
                "arn:aws:iam::123456789012:user/provision/bob",
            ])
        );
        assert_eq!(changes[0].phase(), 0);
        assert_eq!(changes[0].label(), "+ bucket-policy acme-assets");
        let after = simulate(&o, &p);
        let again = plan(&d, &after, ACCOUNT).unwrap();
        assert!(layer_changes(&again).is_empty(), "{:?}", again.changes);
        insta::assert_snapshot!(text(&Plan {
            changes: p
                .changes
                .iter()
                .filter(|c| c.kind() == Kind::BucketPolicy)
                .take(1)
                .cloned()
                .collect(),
            ..Plan::default()
        }));
    }

    #[test]
    fn a_developer_who_leaves_is_taken_out_of_the_deny_in_the_first_phase() {
        let d = layered();
        let o = simulate(
            &account(&d, &no_policies()),
            &plan(&d, &account(&d, &no_policies()), ACCOUNT).unwrap(),
        );
        let mut fewer = d.clone();
        fewer.clients.get_mut("acme").unwrap().developers = vec!["alice".into()];
        let p = plan(&fewer, &o, ACCOUNT).unwrap();
        let changes = layer_changes(&p);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].label(), "~ bucket-policy acme-assets");
        let text = text(&p);
        assert!(
            text.contains("-             \"arn:aws:iam::123456789012:user/provision/bob\""),
            "{text}"
        );
    }

    #[test]
    fn a_policy_that_would_deny_the_caller_is_refused_with_the_arn_to_exempt() {
        let mut d = layered();
        d.settings.bucket_policy_exempt = vec!["arn:aws:iam::123456789012:role/Admins".into()];
        let errors = plan(&d, &account(&d, &no_policies()), ACCOUNT).unwrap_err();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 2, "one per client: {messages:?}");
        assert!(
            messages[0].contains(&format!("would deny `{SESSION}`, the identity running provision"))
                && messages[0].contains("add `arn:aws:iam::123456789012:role/Admin` (with the role's path before its name, if it has one) to `settings.bucket_policy_exempt`"),
            "{messages:?}"
        );
        // A client's own principal running provision is let in.
        let mut o = account(&d, &no_policies());
        o.caller_arn = Some("arn:aws:iam::123456789012:user/provision/alice".into());
        // alice is in both clients: let in everywhere.
        assert!(plan(&d, &o, ACCOUNT).is_ok());
    }

    #[test]
    fn an_unknown_caller_an_unread_policy_a_foreign_exemption_and_a_malformed_policy_are_refused() {
        let mut d = layered();
        let mut o = account(
            &d,
            &[("acme-assets", BucketPolicyRead::Policy("not json".into()))],
        );
        o.caller_arn = None;
        d.settings
            .bucket_policy_exempt
            .push("arn:aws:iam::999999999999:role/Admin".into());
        let errors: Vec<String> = plan(&d, &o, ACCOUNT)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
        assert!(has("not in account `123456789012`"), "{errors:?}");
        assert!(
            has("could not tell which identity runs provision"),
            "{errors:?}"
        );
        assert!(
            has("bucket `acme-assets` (client `acme`) cannot be merged"),
            "{errors:?}"
        );
        assert!(
            has(
                "bucket `globex-assets` (client `globex`) cannot be merged with provision's statements: it was not read"
            ),
            "{errors:?}"
        );
    }

    #[test]
    fn a_policy_over_20_kb_is_refused() {
        let d = layered();
        let filler: Vec<Value> = (0..200)
            .map(|n| serde_json::json!({"Sid": format!("Hand{n}"), "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::acme-assets/{n}/*")}))
            .collect();
        let big = serde_json::json!({"Version": "2012-10-17", "Statement": filler}).to_string();
        assert!(big.len() > 20 * 1024);
        let mut policies = no_policies();
        policies[0].1 = BucketPolicyRead::Policy(big);
        let errors = plan(&d, &account(&d, &policies), ACCOUNT).unwrap_err();
        assert!(
            matches!(&errors[..], [PlanError::BucketPolicyTooLarge { bucket, limit: 20480, .. }] if bucket == "acme-assets"),
            "{errors:?}"
        );
    }

    #[test]
    fn turning_the_layer_off_takes_out_only_provisions_statements() {
        let d = layered();
        let ours = layer::fresh(&layer::owned_statements("acme-assets", ACCOUNT, &[]));
        let hand = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Hand","Effect":"Deny","Principal":"*","Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::globex-assets"},{"Sid":"ProvisionOld","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
        let mut off = d.clone();
        off.settings.bucket_policy = Some(false);
        let o = account(
            &off,
            &[
                ("acme-assets", BucketPolicyRead::Policy(ours.clone())),
                ("globex-assets", BucketPolicyRead::Policy(hand.into())),
            ],
        );
        let p = plan(&off, &o, ACCOUNT).unwrap();
        let changes = layer_changes(&p);
        assert!(
            matches!(changes[0], Change::DeleteBucketPolicy { bucket, .. } if bucket == "acme-assets"),
            "{changes:?}"
        );
        assert!(
            matches!(changes[1], Change::PutBucketPolicy { bucket, after, .. }
            if bucket == "globex-assets" && after == r#"{"Version":"2012-10-17","Statement":[{"Sid":"Hand","Effect":"Deny","Principal":"*","Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::globex-assets"}]}"#),
            "{changes:?}"
        );
        // A client's own `true` wins over the settings' `false`, and with
        // the key absent nothing is planned at all.
        let mut mixed = off.clone();
        mixed.bucket_policy_clients.insert("acme".into(), true);
        let p = plan(&mixed, &o, ACCOUNT).unwrap();
        assert_eq!(layer_changes(&p).len(), 2);
        let mut absent = off;
        absent.settings.bucket_policy = None;
        assert!(layer_changes(&plan(&absent, &o, ACCOUNT).unwrap()).is_empty());
    }

    #[test]
    fn a_missing_bucket_is_skipped_with_a_warning() {
        let d = layered();
        let o = account(
            &d,
            &[
                ("acme-assets", BucketPolicyRead::NoBucket),
                ("globex-assets", BucketPolicyRead::NoPolicy),
            ],
        );
        let p = plan(&d, &o, ACCOUNT).unwrap();
        assert_eq!(layer_changes(&p).len(), 1);
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("bucket `acme-assets` of client `acme` does not exist")),
            "{:?}",
            p.warnings
        );
    }
}
