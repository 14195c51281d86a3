//! Managed buckets, planned from plain values.

use std::path::PathBuf;

use serde_json::json;

use super::super::{Change, Plan, PlanError, plan};
use super::*;
use crate::model::{Access, Client, Desired, Observed, ObservedGroup};

const ACCOUNT: &str = "123456789012";

fn client(name: &str, buckets: &[&str], prefixes: &[&str]) -> Client {
    Client {
        name: name.into(),
        buckets: buckets.iter().map(|b| b.to_string()).collect(),
        bucket_prefixes: prefixes.iter().map(|b| b.to_string()).collect(),
        access: Access::ReadWrite,
        developers: vec![],
        membership_expires: Default::default(),
        bucket_access: Default::default(),
        apps: vec![],
        app_user: None,
        distributions: vec![],
        roles: vec![],
        source: PathBuf::from(format!("clients/{name}.toml")),
    }
}

/// acme with `acme-data` and the prefix `acme-logs-`, buckets managed.
fn desired() -> Desired {
    let mut d = Desired {
        authoritative: true,
        ..Desired::default()
    };
    d.settings.buckets.manage = true;
    d.clients.insert(
        "acme".into(),
        client("acme", &["acme-data"], &["acme-logs-"]),
    );
    d
}

fn observed(state: BucketState) -> Observed {
    let mut o = Observed {
        bucket_region: Some("eu-west-1".into()),
        ..Observed::default()
    };
    o.buckets.insert("acme-data".into(), state);
    o
}

/// What a bucket made by provision with the defaults reads back as.
fn settled(client: &str) -> BucketSettings {
    wanted(&Default::default(), client, None)
}

fn bucket_changes(plan: &Plan) -> Vec<&Change> {
    plan.changes
        .iter()
        .filter(|c| c.kind() == crate::plan::Kind::Bucket)
        .collect()
}

fn text(plan: &Plan) -> String {
    let mut out = Vec::new();
    crate::render::plan::text(plan, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_missing_managed_bucket_is_created_private_encrypted_and_tagged() {
    let plan = plan(&desired(), &observed(BucketState::Missing), ACCOUNT).unwrap();
    let changes = bucket_changes(&plan);
    assert_eq!(changes.len(), 1, "{changes:?}");
    let Change::CreateBucket {
        bucket,
        client,
        region,
        owner,
        settings,
    } = changes[0]
    else {
        panic!("{changes:?}");
    };
    assert_eq!(
        (
            bucket.as_str(),
            client.as_str(),
            region.as_str(),
            owner.as_str()
        ),
        ("acme-data", "acme", "eu-west-1", ACCOUNT)
    );
    assert!(settings.public_access_block.is_some_and(|b| b.all()));
    assert_eq!(
        settings.object_ownership.as_deref(),
        Some("BucketOwnerEnforced")
    );
    assert_eq!(settings.encryption.algorithm, "AES256");
    assert_eq!(settings.versioning, None);
    assert_eq!(settings.tags["managed-by"], "provision");
    assert_eq!(settings.tags["provision:client"], "acme");
    // It runs before any grant, and belongs to its client in summaries.
    assert_eq!(changes[0].phase(), 0);
    assert_eq!(changes[0].client(), Some("acme"));
    insta::assert_snapshot!(text(&Plan {
        changes: vec![changes[0].clone()],
        ..Plan::default()
    }));
}

#[test]
fn prefixes_name_buckets_made_elsewhere_and_are_never_created() {
    let plan = plan(&desired(), &observed(BucketState::Missing), ACCOUNT).unwrap();
    assert!(
        bucket_changes(&plan)
            .iter()
            .all(|c| !c.name().starts_with("acme-logs")),
        "{plan:?}"
    );
}

#[test]
fn a_bucket_with_the_settings_plans_nothing() {
    let plan = plan(
        &desired(),
        &observed(BucketState::Owned(settled("acme"))),
        ACCOUNT,
    )
    .unwrap();
    assert!(bucket_changes(&plan).is_empty(), "{plan:?}");
}

#[test]
fn a_bucket_of_another_account_stops_the_plan_and_is_never_written() {
    let errors = plan(
        &desired(),
        &observed(BucketState::NotOwned {
            reason: "AccessDenied".into(),
        }),
        ACCOUNT,
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        matches!(&errors[0], PlanError::BucketNotOwned { bucket, .. } if bucket == "acme-data")
    );
    let message = errors[0].to_string();
    assert!(
        message.starts_with("bucket `acme-data` of client `acme` (in `clients/acme.toml`) is not a bucket of account `123456789012`"),
        "{message}"
    );
}

/// Each setting drifts on its own; the plan names it, before and after,
/// and nothing else.
#[test]
fn drift_on_each_setting_is_shown_alone() {
    let mut d = desired();
    d.settings.buckets.versioning = Some(true);
    d.settings.buckets.kms_key = Some("alias/buckets".into());
    let good = wanted(&d.settings.buckets, "acme", None);
    let mut cases: Vec<(BucketSettings, &str)> = Vec::new();
    let mut s = good.clone();
    s.public_access_block = None;
    cases.push((s, "public access block none → all blocked"));
    let mut s = good.clone();
    s.public_access_block
        .as_mut()
        .unwrap()
        .restrict_public_buckets = false;
    cases.push((
        s,
        "public access block BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy → all blocked",
    ));
    let mut s = good.clone();
    s.object_ownership = Some("ObjectWriter".into());
    cases.push((s, "object ownership ObjectWriter → BucketOwnerEnforced"));
    let mut s = good.clone();
    s.encryption = BucketEncryption::default();
    cases.push((s, "encryption SSE-S3 → SSE-KMS with `alias/buckets`"));
    let mut s = good.clone();
    s.versioning = Some("Suspended".into());
    cases.push((s, "versioning Suspended → Enabled"));
    let mut s = good.clone();
    s.tags.insert("provision:client".into(), "globex".into());
    cases.push((s, "tags + provision:client=acme"));
    for (now, expected) in cases {
        let plan = plan(&d, &observed(BucketState::Owned(now.clone())), ACCOUNT).unwrap();
        let changes = bucket_changes(&plan);
        assert_eq!(changes.len(), 1, "{expected}: {changes:?}");
        assert_eq!(
            changes[0].label(),
            format!("~ bucket acme-data: {expected}"),
            "{now:?}"
        );
        let Change::ConfigureBucket { before, after, .. } = changes[0] else {
            panic!("{changes:?}");
        };
        assert_eq!((before, after), (&now, &good));
    }
}

#[test]
fn tags_provision_does_not_manage_are_kept() {
    let mut now = settled("acme");
    now.tags.remove("managed-by");
    now.tags.insert("cost-centre".into(), "42".into());
    let plan = plan(&desired(), &observed(BucketState::Owned(now)), ACCOUNT).unwrap();
    let Change::ConfigureBucket { after, .. } = bucket_changes(&plan)[0] else {
        panic!("{plan:?}");
    };
    assert_eq!(after.tags["cost-centre"], "42");
    assert_eq!(after.tags["managed-by"], "provision");
}

#[test]
fn versioning_off_suspends_only_a_bucket_that_had_it() {
    let mut d = desired();
    d.settings.buckets.versioning = Some(false);
    let never = settled("acme");
    let plan_never = plan(&d, &observed(BucketState::Owned(never)), ACCOUNT).unwrap();
    assert!(bucket_changes(&plan_never).is_empty(), "{plan_never:?}");
    let mut on = settled("acme");
    on.versioning = Some("Enabled".into());
    let plan_on = plan(&d, &observed(BucketState::Owned(on)), ACCOUNT).unwrap();
    assert_eq!(
        bucket_changes(&plan_on)[0].label(),
        "~ bucket acme-data: versioning Enabled → Suspended"
    );
}

#[test]
fn a_client_choice_wins_over_the_setting() {
    let mut d = desired();
    d.bucket_management.insert("acme".into(), false);
    let plan_off = plan(&d, &observed(BucketState::Missing), ACCOUNT).unwrap();
    assert!(bucket_changes(&plan_off).is_empty(), "{plan_off:?}");
    d.settings.buckets.manage = false;
    d.bucket_management.insert("acme".into(), true);
    let plan_on = plan(&d, &observed(BucketState::Missing), ACCOUNT).unwrap();
    assert_eq!(bucket_changes(&plan_on).len(), 1, "{plan_on:?}");
}

#[test]
fn without_managed_buckets_nothing_is_planned_for_them() {
    let mut d = desired();
    d.settings.buckets.manage = false;
    // Even a bucket another account holds: it is not provision's business.
    let plan = plan(
        &d,
        &observed(BucketState::NotOwned {
            reason: "AccessDenied".into(),
        }),
        ACCOUNT,
    )
    .unwrap();
    assert!(bucket_changes(&plan).is_empty(), "{plan:?}");
}

/// The group acme had, granting `acme-data` and `acme-old`.
fn live_group(buckets: &[&str]) -> ObservedGroup {
    let resources: Vec<String> = buckets
        .iter()
        .map(|b| format!("arn:aws:s3:::{b}"))
        .chain(buckets.iter().map(|b| format!("arn:aws:s3:::{b}/*")))
        .collect();
    let mut group = ObservedGroup {
        name: "client-acme".into(),
        path: "/provision/".into(),
        ..ObservedGroup::default()
    };
    group.inline_policies.insert(
        "provision-s3".into(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": resources}]}),
    );
    group
}

#[test]
fn a_bucket_taken_off_a_client_is_kept_with_a_warning() {
    let mut o = observed(BucketState::Owned(settled("acme")));
    o.groups
        .insert("client-acme".into(), live_group(&["acme-data", "acme-old"]));
    let plan = plan(&desired(), &o, ACCOUNT).unwrap();
    assert!(bucket_changes(&plan).is_empty(), "{plan:?}");
    assert_eq!(
        plan.warnings,
        [
            "bucket `acme-old` is no longer listed by client `acme`, but it is kept as it is, with its data: provision never deletes buckets; delete it by hand if it is no longer needed"
        ],
    );
}

#[test]
fn a_removed_clients_buckets_are_kept_with_a_warning() {
    let mut d = desired();
    d.clients.clear();
    d.clients
        .insert("globex".into(), client("globex", &["globex-data"], &[]));
    let mut o = observed(BucketState::Missing);
    o.buckets.clear();
    o.buckets
        .insert("globex-data".into(), BucketState::Owned(settled("globex")));
    o.groups
        .insert("client-acme".into(), live_group(&["acme-data"]));
    let plan = plan(&d, &o, ACCOUNT).unwrap();
    assert!(
        plan.changes
            .iter()
            .any(|c| matches!(c, Change::DeleteGroup { group, .. } if group == "client-acme")),
        "{plan:?}"
    );
    assert!(bucket_changes(&plan).is_empty(), "{plan:?}");
    assert_eq!(
        plan.warnings,
        [
            "client `acme` is removed, but its bucket `acme-data` is kept as it is, with its data: provision never deletes buckets; delete it by hand if it is no longer needed"
        ],
    );
}

/// A saved plan's bucket change depends on the bucket as plan read it: a
/// setting changed by hand before apply makes the plan stale.
#[test]
fn a_saved_bucket_change_is_stale_when_the_bucket_changed() {
    use crate::plan::saved::{Entity, SavedPlan, dependencies};
    let mut now = settled("acme");
    now.versioning = Some("Enabled".into());
    now.object_ownership = None;
    let o = observed(BucketState::Owned(now.clone()));
    let d = desired();
    let plan = plan(&d, &o, ACCOUNT).unwrap();
    let change = bucket_changes(&plan)[0].clone();
    assert!(dependencies(&change).contains(&Entity::Bucket("acme-data".into())));
    let saved = SavedPlan::new(&plan, &d, &[], &o, ACCOUNT);
    saved.check_observed(&o).unwrap();
    let mut later = now;
    later.versioning = Some("Suspended".into());
    let err = saved
        .check_observed(&observed(BucketState::Owned(later)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bucket `acme-data` was changed"), "{err}");
}

/// The pull-request comment and the JSON plan carry bucket changes like
/// IAM ones: under their client, with before and after.
#[test]
fn bucket_changes_in_markdown_and_json() {
    let mut now = settled("acme");
    now.versioning = Some("Suspended".into());
    let mut d = desired();
    d.settings.buckets.versioning = Some(true);
    d.clients
        .insert("globex".into(), client("globex", &["globex-data"], &[]));
    let mut o = observed(BucketState::Owned(now));
    o.buckets.insert("globex-data".into(), BucketState::Missing);
    let plan = plan(&d, &o, ACCOUNT).unwrap();
    let plan = Plan {
        changes: bucket_changes(&plan).into_iter().cloned().collect(),
        ..Plan::default()
    };
    let mut markdown = Vec::new();
    crate::render::markdown::markdown(&plan, &mut markdown).unwrap();
    insta::assert_snapshot!(String::from_utf8(markdown).unwrap());
    let mut json = Vec::new();
    crate::render::plan::json(&plan, &mut json).unwrap();
    insta::assert_snapshot!(String::from_utf8(json).unwrap());
}

/// With the bucket-policy layer on, a managed bucket this plan creates
/// gets its policy in the phase after its creation; one that exists gets
/// it in the first phase, and a missing bucket provision does not manage
/// gets none (a warning says so).
#[test]
fn a_new_managed_buckets_policy_is_written_after_its_creation() {
    let mut d = desired();
    d.settings.bucket_policy = Some(true);
    let caller = "arn:aws:iam::123456789012:user/provision/acme-app".to_owned();
    d.clients.get_mut("acme").unwrap().app_user = Some("acme-app".into());
    let account = |state: BucketState, read: crate::model::BucketPolicyRead| {
        let mut o = observed(state);
        o.bucket_policies.insert("acme-data".into(), read);
        o.caller_arn = Some(caller.clone());
        o
    };
    let policy_of = |p: &Plan| -> Vec<(bool, u8)> {
        p.changes
            .iter()
            .filter_map(|c| match c {
                Change::PutBucketPolicy { new_bucket, .. } => Some((*new_bucket, c.phase())),
                _ => None,
            })
            .collect()
    };
    use crate::model::BucketPolicyRead::{NoBucket, NoPolicy};
    let new = plan(&d, &account(BucketState::Missing, NoBucket), ACCOUNT).unwrap();
    let create = new
        .changes
        .iter()
        .find(|c| matches!(c, Change::CreateBucket { .. }))
        .unwrap();
    assert_eq!(policy_of(&new), [(true, create.phase() + 1)]);
    let existing = plan(
        &d,
        &account(BucketState::Owned(settled("acme")), NoPolicy),
        ACCOUNT,
    )
    .unwrap();
    assert_eq!(policy_of(&existing), [(false, 0)]);
    d.settings.buckets.manage = false;
    let unmanaged = plan(&d, &account(BucketState::Missing, NoBucket), ACCOUNT).unwrap();
    assert_eq!(policy_of(&unmanaged), []);
    assert!(
        unmanaged
            .warnings
            .iter()
            .any(|w| w.contains("does not exist")),
        "{:?}",
        unmanaged.warnings
    );
}
