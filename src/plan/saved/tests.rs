//! Saved plans: what is written, what is read back, and when a plan is
//! refused.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::model::{Access, Client, Developer, ObservedUser, Settings};
use crate::plan;

const ACCOUNT: &str = "123456789012";

fn desired() -> Desired {
    let mut d = Desired {
        settings: Settings::default(),
        authoritative: true,
        ..Desired::default()
    };
    d.developers.insert(
        "alice".into(),
        Developer {
            name: "alice".into(),
            email: Some("alice@example.com".into()),
            expires: None,
            disabled: false,
        },
    );
    d.clients.insert(
        "acme".into(),
        Client {
            name: "acme".into(),
            buckets: vec!["acme-assets".into()],
            bucket_prefixes: vec![],
            access: Access::ReadWrite,
            developers: vec!["alice".into()],
            membership_expires: Default::default(),
            bucket_access: Default::default(),
            apps: Vec::new(),
            app_user: Some("acme-app".into()),
            roles: Vec::new(),
            distributions: vec![],
            source: PathBuf::from("clients/acme.toml"),
        },
    );
    d
}

/// An account where `alice` exists, managed, but in no group yet.
fn observed() -> Observed {
    let mut o = Observed {
        account_id: Some(ACCOUNT.into()),
        ..Observed::default()
    };
    o.users.insert(
        "alice".into(),
        ObservedUser {
            name: "alice".into(),
            path: "/provision/".into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:user/provision/alice"),
            tags: BTreeMap::from([
                ("managed-by".into(), "provision".into()),
                ("email".into(), "alice@example.com".into()),
            ]),
            ..ObservedUser::default()
        },
    );
    o
}

fn saved() -> (Plan, SavedPlan) {
    let plan = plan::plan(&desired(), &observed(), ACCOUNT).unwrap();
    let saved = SavedPlan::new(
        &plan,
        &desired(),
        &[PathBuf::from("clients/")],
        &observed(),
        ACCOUNT,
    );
    (plan, saved)
}

#[test]
fn a_saved_plan_reads_back_as_exactly_the_same_changes() {
    let (plan, saved) = saved();
    assert!(!plan.is_empty());
    let text = saved.to_json().unwrap();
    let back = SavedPlan::from_slice(Path::new("plan.json"), text.as_bytes()).unwrap();
    assert_eq!(back, saved);
    assert_eq!(back.plan().changes, plan.changes);
    assert_eq!(back.account_id, ACCOUNT);
    assert_eq!(back.managed_path, "/provision/");
    assert_eq!(back.format, FORMAT);
}

#[test]
fn each_change_records_the_users_and_groups_it_touches() {
    let (_, saved) = saved();
    let membership = saved
        .changes
        .iter()
        .find(|c| matches!(&c.change, Change::AddMember { user, .. } if user == "alice"))
        .expect("alice joins client-acme");
    let keys: Vec<&str> = membership.depends_on.keys().map(String::as_str).collect();
    assert_eq!(keys, ["group/client-acme", "user/alice"]);
    // The group does not exist yet; alice does.
    assert_eq!(membership.depends_on["group/client-acme"], ABSENT);
    assert!(membership.depends_on["user/alice"].starts_with("sha256:"));
    // Every change depends on something: none is applied unchecked.
    assert!(saved.changes.iter().all(|c| !c.depends_on.is_empty()));
}

#[test]
fn an_unchanged_account_passes_every_check() {
    let (_, saved) = saved();
    saved.check_observed(&observed()).unwrap();
    saved.check_configuration(&desired()).unwrap();
    saved.check_account(ACCOUNT).unwrap();
}

#[test]
fn a_user_changed_by_hand_makes_the_plan_stale() {
    let (_, saved) = saved();
    let mut now = observed();
    now.users
        .get_mut("alice")
        .unwrap()
        .tags
        .insert("team".into(), "ops".into());
    let err = saved.check_observed(&now).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @r"
    the saved plan is stale: the account changed since the plan was made:
      - user `alice` was changed:
          tag `team` added: `ops`
    Nothing was applied. Run `provision plan` again and review the new plan.
    ");
}

#[test]
fn entities_created_or_deleted_since_the_plan_are_named() {
    let (_, saved) = saved();
    let mut now = observed();
    now.users.remove("alice");
    now.groups.insert(
        "client-acme".into(),
        crate::model::ObservedGroup {
            name: "client-acme".into(),
            path: "/provision/".into(),
            ..Default::default()
        },
    );
    let err = saved.check_observed(&now).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @r"
    the saved plan is stale: the account changed since the plan was made:
      - group `client-acme` did not exist and now does
      - user `alice` was deleted
    Nothing was applied. Run `provision plan` again and review the new plan.
    ");
}

#[test]
fn a_changed_configuration_is_refused() {
    let (_, saved) = saved();
    let mut changed = desired();
    changed.clients.get_mut("acme").unwrap().access = Access::Full;
    let err = saved.check_configuration(&changed).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @r"
    the configuration in `clients/` changed since the plan was made, so the saved plan is not what the files say now.
    Nothing was applied. Plan again from the files as they are (`provision plan clients/ --out FILE`), review the new plan, and apply that file.
    ");
}

#[test]
fn another_account_is_refused() {
    let (_, saved) = saved();
    let err = saved.check_account("999999999999").unwrap_err();
    assert!(err.to_string().contains("`123456789012`"), "{err}");
}

#[test]
fn other_json_files_are_not_taken_for_plans() {
    let path = Path::new("plan.json");
    let err =
        SavedPlan::from_slice(path, br#"{"format_version": "1", "changes": []}"#).unwrap_err();
    assert!(matches!(err, SavedPlanError::NotAPlan { .. }), "{err}");
    let err = SavedPlan::from_slice(path, b"not json").unwrap_err();
    assert!(matches!(err, SavedPlanError::Parse { .. }), "{err}");

    let (_, saved) = saved();
    let mut value: Value = serde_json::from_str(&saved.to_json().unwrap()).unwrap();
    value["format_version"] = 99.into();
    let err = SavedPlan::from_slice(path, value.to_string().as_bytes()).unwrap_err();
    assert!(matches!(
        err,
        SavedPlanError::FormatVersion { found: 99, .. }
    ));

    value["format_version"] = FORMAT_VERSION.into();
    value["provision_version"] = "0.0.0-other".into();
    let err = SavedPlan::from_slice(path, value.to_string().as_bytes()).unwrap_err();
    assert!(matches!(err, SavedPlanError::ProvisionVersion { .. }));
}

#[test]
fn an_unknown_dependency_is_never_applied_unchecked() {
    let (_, mut saved) = saved();
    saved.changes[0]
        .depends_on
        .insert("instance-profile/deploy".into(), ABSENT.into());
    let err = saved.check_observed(&observed()).unwrap_err();
    assert!(
        err.to_string()
            .contains("`instance-profile/deploy` cannot be checked"),
        "{err}"
    );
}

#[test]
fn a_saved_plan_holds_no_secret() {
    let (plan, saved) = saved();
    // The plan creates the application user's key; only its owner's name
    // is saved.
    assert!(
        plan.changes
            .iter()
            .any(|c| matches!(c, Change::CreateAccessKey { .. }))
    );
    let text = saved.to_json().unwrap().to_lowercase();
    for word in ["secret", "password", "accesskeyid", "access_key_id"] {
        assert!(!text.contains(word), "`{word}` in a saved plan:\n{text}");
    }
}

#[test]
fn plan_files_are_told_from_clients_files_by_extension() {
    assert!(is_plan_file(Path::new("plan.json")));
    assert!(is_plan_file(Path::new("out/PLAN.JSON")));
    assert!(!is_plan_file(Path::new("clients/acme.toml")));
    assert!(!is_plan_file(Path::new("clients")));
}

/// Comments and layout are not configuration: the same clients written
/// elsewhere in the file give the same fingerprint.
#[test]
fn comments_and_layout_do_not_change_the_fingerprint() {
    let text = "[[developers]]\nname = \"alice\"\n\n[[clients]]\nname = \"acme\"\nbuckets = [\"acme-assets\"]\ndevelopers = [\"alice\"]\n";
    let load = |t: &str| {
        crate::config::load_sources(vec![("clients/acme.toml".into(), t.into())], false).unwrap()
    };
    let plain = load(text);
    let commented = load(&format!("# Acme, since 2024.\n\n{text}"));
    assert_ne!(plain.locations, commented.locations);
    assert_ne!(plain.developer_locations, commented.developer_locations);
    assert_eq!(
        configuration_fingerprint(&plain),
        configuration_fingerprint(&commented)
    );
    let changed = load(&text.replace("acme-assets", "acme-media"));
    assert_ne!(
        configuration_fingerprint(&plain),
        configuration_fingerprint(&changed)
    );
}

/// Removing a policy from a managed user depends on that user: a saved
/// plan is refused when the user changed since.
#[test]
fn user_policy_changes_depend_on_their_user() {
    for change in [
        Change::DeleteUserPolicy {
            user: "acme-app".into(),
            policy_name: "grab".into(),
            before: serde_json::json!({}),
        },
        Change::DetachUserPolicy {
            user: "acme-app".into(),
            policy_arn: "arn:aws:iam::aws:policy/AmazonS3FullAccess".into(),
        },
    ] {
        assert_eq!(
            dependencies(&change),
            BTreeSet::from([Entity::User("acme-app".into())])
        );
    }
}

/// An account where `client-acme` exists with its policy and `alice` in
/// it, but `acme-app` does not yet: the plan adds the app user to the
/// group, so it depends on the group.
fn observed_with_group() -> Observed {
    let mut o = observed();
    o.users
        .get_mut("alice")
        .unwrap()
        .groups
        .insert("client-acme".into());
    o.groups.insert(
        "client-acme".into(),
        crate::model::ObservedGroup {
            name: "client-acme".into(),
            path: "/provision/".into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:group/provision/client-acme"),
            inline_policies: BTreeMap::from([(
                "provision-s3".into(),
                serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-assets/*"}]
                }),
            )]),
            attached_policies: vec![],
        },
    );
    o
}

fn saved_against(observed: &Observed) -> SavedPlan {
    let plan = plan::plan(&desired(), observed, ACCOUNT).unwrap();
    SavedPlan::new(
        &plan,
        &desired(),
        &[PathBuf::from("clients/")],
        observed,
        ACCOUNT,
    )
}

#[test]
fn a_stale_plan_names_the_members_added_and_removed_by_hand() {
    let saved = saved_against(&observed_with_group());
    let mut now = observed_with_group();
    now.users.get_mut("alice").unwrap().groups.clear();
    now.users.insert(
        "mallory".into(),
        ObservedUser {
            name: "mallory".into(),
            path: "/".into(),
            groups: BTreeSet::from(["client-acme".into()]),
            ..ObservedUser::default()
        },
    );
    let err = saved.check_observed(&now).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @r"
    the saved plan is stale: the account changed since the plan was made:
      - group `client-acme` was changed:
          members added: `mallory`
          members removed: `alice`
    Nothing was applied. Run `provision plan` again and review the new plan.
    ");
}

#[test]
fn a_stale_plan_names_the_policy_edited_by_hand_and_shows_the_changed_lines() {
    let saved = saved_against(&observed_with_group());
    let mut now = observed_with_group();
    now.groups
        .get_mut("client-acme")
        .unwrap()
        .inline_policies
        .insert(
            "provision-s3".into(),
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"}]
            }),
        );
    now.groups
        .get_mut("client-acme")
        .unwrap()
        .attached_policies
        .push("arn:aws:iam::aws:policy/AmazonS3FullAccess".into());
    let err = saved.check_observed(&now).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @r#"
    the saved plan is stale: the account changed since the plan was made:
      - group `client-acme` was changed:
          managed policies attached: `arn:aws:iam::aws:policy/AmazonS3FullAccess`
          inline policy `provision-s3`: document changed
            -       "Resource": "arn:aws:s3:::acme-assets/*"
            +       "Resource": "arn:aws:s3:::*"
    Nothing was applied. Run `provision plan` again and review the new plan.
    "#);
}

#[test]
fn a_stale_user_says_which_path_tags_boundary_and_keys_changed() {
    let (_, saved) = saved();
    let mut now = observed();
    let alice = now.users.get_mut("alice").unwrap();
    alice.path = "/elsewhere/".into();
    alice.tags.remove("email");
    alice.tags.insert("managed-by".into(), "someone".into());
    alice.permissions_boundary = Some("arn:aws:iam::123456789012:policy/Wide".into());
    alice.access_keys = Some(vec!["AKIAIOSFODNN7EXAMPLE".into()]);
    let err = saved.check_observed(&now).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @r"
    the saved plan is stale: the account changed since the plan was made:
      - user `alice` was changed:
          access keys created: `AKIA…MPLE`
          path changed from `/provision/` to `/elsewhere/`
          permissions boundary `arn:aws:iam::123456789012:policy/Wide` set
          tag `email` removed (was `alice@example.com`)
          tag `managed-by` changed from `provision` to `someone`
    Nothing was applied. Run `provision plan` again and review the new plan.
    ");
}

#[test]
fn a_plan_whose_changes_are_all_in_effect_is_already_applied() {
    let (plan, saved) = saved();
    assert_eq!(saved.in_effect(&Plan::default()), InEffect::All);
    // Half-way: the last changes are still to do, exactly as saved.
    let left = Plan {
        changes: plan.changes[plan.changes.len() - 2..].to_vec(),
        ..Plan::default()
    };
    assert_eq!(
        saved.in_effect(&left),
        InEffect::Part {
            in_effect: plan.changes.len() - 2,
            total: plan.changes.len()
        }
    );
    // Something else to do: not this plan's progress.
    let other = Plan {
        changes: vec![Change::RemoveMember {
            group: "client-acme".into(),
            user: "mallory".into(),
        }],
        ..Plan::default()
    };
    assert_eq!(saved.in_effect(&other), InEffect::None);
    assert_eq!(saved.in_effect(&plan), InEffect::None);
}

#[test]
fn an_older_saved_plan_is_refused_with_plan_again() {
    let (_, saved) = saved();
    let mut value: Value = serde_json::from_str(&saved.to_json().unwrap()).unwrap();
    value["format_version"] = 1.into();
    value.as_object_mut().unwrap().remove("observed");
    let err =
        SavedPlan::from_slice(Path::new("plan.json"), value.to_string().as_bytes()).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @r"
    `plan.json` was saved by an older provision (saved plan format 1; this one reads format 2).
    Nothing was applied. Plan again with this version (`provision plan PATH... --out plan.json`), review the new plan, and apply that file.
    ");
}
