//! The apps step: the grant of every application of `[[clients.apps]]`.
//!
//! Each app has its own buckets, access level and boundary, so it cannot
//! share its client's group policy; it is in no group and holds its grant
//! as provision's inline policy on its own user, named like the group's
//! (`provision-s3`). An inline policy lives and dies with its user (no
//! policy object to create, attach, or leave behind), adds no group (each
//! client is one group, counted against the account's quota), and cannot
//! be confused with a client's group (a group per app named `client-*`
//! could be the group of another client). Its quota is smaller than a
//! group's (see `quotas`).
//!
//! The grant moves the way a group's does (see [`super::grants`]):
//! whatever the live policy allows that the new one does not is taken
//! away in the first phase, before anyone is granted more.

use serde_json::Value;

use super::{Change, Inputs, Plan};
use crate::model::{App, Client, GROUP_POLICY_NAME};
use crate::policy::{document, lint};

/// Apps' grants: written where missing, moved where they differ.
pub(super) fn plan_apps(inputs: &Inputs<'_>, plan: &mut Plan) {
    for (client, app) in inputs.apps.values() {
        let want = document::app_policy(app, client, inputs.account_id);
        let live = inputs
            .observed
            .users
            .get(&app.name)
            .and_then(|u| u.inline_policies.get(GROUP_POLICY_NAME));
        if let Some(live) = live {
            app_drift(inputs, client, app, live, &want, plan);
        }
        plan.changes.extend(app_grant_changes(
            &app.name,
            live,
            &want,
            document::USER_INLINE_POLICY_LIMIT,
        ));
    }
}

/// A hand edit of an app's own policy that widens it is drift, as on a
/// client group (see [`lint::group_drift`]).
fn app_drift(
    inputs: &Inputs<'_>,
    client: &Client,
    app: &App,
    live: &Value,
    want: &Value,
    plan: &mut Plan,
) {
    if live == want || document::written_by_provision(live, inputs.account_id) {
        return;
    }
    let widens = lint::widening(live, Some(want), Some(app.access));
    if !widens.is_empty() {
        plan.drift.push(lint::Drift {
            group: None,
            user: Some(app.name.clone()),
            role: None,
            policy: GROUP_POLICY_NAME.to_owned(),
            widens,
        });
        plan.warnings.push(format!(
            "the policy `{GROUP_POLICY_NAME}` of app `{}` (client `{}`) was edited by hand and grants more than the files; it will be written again",
            app.name, client.name
        ));
    }
}

/// The changes that bring app user `user`'s grant from `live` to `want`,
/// narrowing first (see the module's documentation). `quota` bounds a
/// narrowed document; one over it is deleted instead, which takes away
/// more, never less.
pub(super) fn app_grant_changes(
    user: &str,
    live: Option<&Value>,
    want: &Value,
    quota: usize,
) -> Vec<Change> {
    let put = |before: Option<Value>| Change::PutUserPolicy {
        user: user.to_owned(),
        policy_name: GROUP_POLICY_NAME.to_owned(),
        before,
        after: want.clone(),
    };
    let narrow = |before: &Value, after: Option<Value>| Change::NarrowUserPolicy {
        user: user.to_owned(),
        policy_name: GROUP_POLICY_NAME.to_owned(),
        before: before.clone(),
        after,
    };
    match live {
        None => vec![put(None)],
        Some(old) if old == want => Vec::new(),
        // An unreadable document may grant anything: it narrows to nothing.
        Some(old) if !old.is_null() && document::covers(want, old) => vec![put(Some(old.clone()))],
        Some(old) if !old.is_null() && document::covers(old, want) => {
            vec![narrow(old, Some(want.clone()))]
        }
        Some(old) => {
            let kept = document::intersection(old, want).filter(|d| document::size(d) <= quota);
            vec![narrow(old, kept.clone()), put(kept)]
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::super::tests::{names, simulate, text};
    use super::*;
    use crate::model::{Desired, Observed};
    use crate::plan::plan;

    const ACCOUNT: &str = "123456789012";

    /// acme with a production and a staging app, developers read-write on
    /// staging and read-only on production; globex in today's form.
    const ENVIRONMENTS: &str = r#"
[settings]
permissions_boundary = "arn:aws:iam::123456789012:policy/ClientBoundary"

[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "acme"
buckets = ["acme-prod-data", "acme-staging-data"]
access = "read-write"
bucket_access = { "acme-prod-data" = "read-only" }
developers = ["alice"]

[[clients.apps]]
name = "acme-prod"
buckets = ["acme-prod-data"]
access = "read-only"
permissions_boundary = "arn:aws:iam::123456789012:policy/prod-boundary"

[[clients.apps]]
name = "acme-staging"
buckets = ["acme-staging-data"]

[[clients]]
name = "globex"
buckets = ["globex-data"]
"#;

    fn load(text: &str) -> Desired {
        crate::config::load_sources(vec![(PathBuf::from("clients.toml"), text.into())], true)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn converged(d: &Desired) -> Observed {
        simulate(
            &Observed::default(),
            &plan(d, &Observed::default(), ACCOUNT).unwrap(),
        )
    }

    fn s3_resources(doc: &Value) -> Vec<String> {
        let mut all: Vec<String> = document::statements(doc)
            .into_iter()
            .flat_map(|s| document::strings(s.get("Resource")))
            .map(str::to_owned)
            .collect();
        all.sort();
        all
    }

    #[test]
    fn apps_are_users_in_no_group_each_with_its_own_grant_and_boundary() {
        let d = load(ENVIRONMENTS);
        let p = plan(&d, &Observed::default(), ACCOUNT).unwrap();
        insta::assert_snapshot!("environments_from_empty_text", text(&p));
        let o = simulate(&Observed::default(), &p);
        let prod = &o.users["acme-prod"];
        assert!(prod.groups.is_empty(), "{prod:#?}");
        assert_eq!(
            prod.permissions_boundary.as_deref(),
            Some("arn:aws:iam::123456789012:policy/prod-boundary")
        );
        assert_eq!(
            s3_resources(&prod.inline_policies[GROUP_POLICY_NAME]),
            [
                "arn:aws:s3:::acme-prod-data",
                "arn:aws:s3:::acme-prod-data/*"
            ]
        );
        let staging = &o.users["acme-staging"];
        assert!(staging.groups.is_empty());
        assert_eq!(
            staging.permissions_boundary.as_deref(),
            Some("arn:aws:iam::123456789012:policy/ClientBoundary")
        );
        assert_eq!(
            s3_resources(&staging.inline_policies[GROUP_POLICY_NAME]),
            [
                "arn:aws:s3:::acme-staging-data",
                "arn:aws:s3:::acme-staging-data/*"
            ]
        );
        assert!(staging.tags.contains_key(crate::model::ACCESS_KEY_TAG_KEY));
        // No default `acme-app`; globex keeps today's app user, in its group.
        assert!(!o.users.contains_key("acme-app"));
        assert!(o.users["globex-app"].groups.contains("client-globex"));
        let again = plan(&d, &o, ACCOUNT).unwrap();
        assert!(again.is_empty(), "{:#?}", names(&again));
    }

    #[test]
    fn developers_get_each_buckets_own_access_level() {
        let d = load(ENVIRONMENTS);
        let doc = document::group_policy(&d.clients["acme"], ACCOUNT);
        insta::assert_snapshot!("environments_group_policy", document::to_pretty(&doc));
        assert!(document::written_by_provision(&doc, ACCOUNT));
        assert_eq!(document::normalize(&doc), doc);
    }

    #[test]
    fn an_apps_own_policy_is_kept_and_anything_else_on_it_goes() {
        let d = load(ENVIRONMENTS);
        let mut o = converged(&d);
        let extra = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}
        ]});
        let prod = o.users.get_mut("acme-prod").unwrap();
        prod.inline_policies.insert("extra".into(), extra.clone());
        let p = plan(&d, &o, ACCOUNT).unwrap();
        assert_eq!(names(&p), ["- user-policy acme-prod/extra"]);
        // A hand edit of its own policy is drift, and narrowed first.
        let prod = o.users.get_mut("acme-prod").unwrap();
        prod.inline_policies.remove("extra");
        prod.inline_policies.insert(GROUP_POLICY_NAME.into(), extra);
        let p = plan(&d, &o, ACCOUNT).unwrap();
        // It allowed everything the new grant does: written back in place,
        // in the first phase.
        assert_eq!(
            names(&p),
            ["~ user-policy acme-prod/provision-s3"],
            "{p:#?}"
        );
        assert_eq!(p.changes[0].phase(), 0);
        assert_eq!(p.drift.len(), 1, "{:#?}", p.drift);
        assert_eq!(p.drift[0].user.as_deref(), Some("acme-prod"));
    }

    #[test]
    fn a_removed_app_and_a_removed_clients_apps_are_deleted() {
        let d = load(ENVIRONMENTS);
        let o = converged(&d);
        let mut fewer = d.clone();
        fewer
            .clients
            .get_mut("acme")
            .unwrap()
            .apps
            .retain(|a| a.name != "acme-staging");
        let p = plan(&fewer, &o, ACCOUNT).unwrap();
        assert_eq!(names(&p), ["- user acme-staging"]);
        let mut gone = d.clone();
        gone.clients.remove("acme");
        let p = plan(&gone, &o, ACCOUNT).unwrap();
        let deleted: Vec<String> = names(&p)
            .into_iter()
            .filter(|n| n.starts_with("- user "))
            .collect();
        assert_eq!(
            deleted,
            ["- user acme-prod", "- user acme-staging"],
            "{:#?}",
            names(&p)
        );
    }

    #[test]
    fn todays_app_user_becomes_apps_by_deleting_it() {
        let d = load(ENVIRONMENTS);
        // acme in today's form, with its one app user in its group.
        let mut today = d.clone();
        let acme = today.clients.get_mut("acme").unwrap();
        acme.apps.clear();
        acme.app_user = Some("acme-app".into());
        let o = converged(&today);
        let p = plan(&d, &o, ACCOUNT).unwrap();
        let n = names(&p);
        assert!(n.contains(&"- user acme-app".to_owned()), "{n:#?}");
        assert!(n.contains(&"+ user acme-prod".to_owned()), "{n:#?}");
        let again = plan(&d, &simulate(&o, &p), ACCOUNT).unwrap();
        assert!(again.is_empty(), "{:#?}", names(&again));
    }

    /// A bucket of an app moves to another client: the app loses it in
    /// the first phase, before the other client's group is granted it.
    #[test]
    fn a_bucket_moving_from_an_app_to_another_client_is_taken_first() {
        let d = load(ENVIRONMENTS);
        let o = converged(&d);
        let mut moved = d.clone();
        let acme = moved.clients.get_mut("acme").unwrap();
        acme.buckets.retain(|b| b != "acme-staging-data");
        acme.buckets.push("acme-next-data".into());
        let staging = acme
            .apps
            .iter_mut()
            .find(|a| a.name == "acme-staging")
            .unwrap();
        staging.buckets = vec!["acme-next-data".into()];
        moved
            .clients
            .get_mut("globex")
            .unwrap()
            .buckets
            .push("acme-staging-data".into());
        let p = plan(&moved, &o, ACCOUNT).unwrap();
        let phase_of = |label: &str| {
            p.changes
                .iter()
                .find(|c| c.label().starts_with(label))
                .unwrap_or_else(|| panic!("{label} in {:#?}", names(&p)))
                .phase()
        };
        assert_eq!(phase_of("- user-policy acme-staging/provision-s3"), 0);
        assert_eq!(phase_of("~ group-policy client-globex/provision-s3"), 1);
        let after = simulate(&o, &p);
        assert!(
            !after.users["acme-staging"].inline_policies[GROUP_POLICY_NAME]
                .to_string()
                .contains("acme-staging-data")
        );
    }

    fn doc(buckets: &[&str]) -> Value {
        let resources: Vec<String> = buckets
            .iter()
            .map(|b| format!("arn:aws:s3:::{b}"))
            .collect();
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "S3Buckets", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": resources}
        ]})
    }

    #[test]
    fn an_app_that_loses_a_bucket_while_gaining_another_is_narrowed_first() {
        let changes = app_grant_changes(
            "acme-prod",
            Some(&doc(&["a", "b"])),
            &doc(&["b", "c"]),
            2048,
        );
        assert_eq!(changes.len(), 2, "{changes:#?}");
        // What stays in the first phase allows `b` and nothing of `a`.
        let same = |kept: &Value| {
            document::covers(kept, &doc(&["b"])) && document::covers(&doc(&["b"]), kept)
        };
        assert!(
            matches!(&changes[0], Change::NarrowUserPolicy { after: Some(kept), .. } if same(kept)),
            "{changes:#?}"
        );
        assert_eq!(changes[0].phase(), 0);
        assert!(
            matches!(&changes[1], Change::PutUserPolicy { before: Some(kept), .. } if same(kept))
        );
        assert_eq!(changes[1].phase(), 1);
    }

    #[test]
    fn an_app_grant_that_only_adds_or_only_takes_is_one_write() {
        let grow = app_grant_changes("u", Some(&doc(&["a"])), &doc(&["a", "b"]), 2048);
        assert!(matches!(grow.as_slice(), [Change::PutUserPolicy { .. }]));
        let shrink = app_grant_changes("u", Some(&doc(&["a", "b"])), &doc(&["a"]), 2048);
        assert!(matches!(
            shrink.as_slice(),
            [Change::NarrowUserPolicy { after: Some(_), .. }]
        ));
        assert_eq!(shrink[0].phase(), 0);
        assert!(app_grant_changes("u", Some(&doc(&["a"])), &doc(&["a"]), 2048).is_empty());
    }

    #[test]
    fn an_unreadable_app_grant_narrows_to_nothing_first() {
        let changes = app_grant_changes("u", Some(&Value::Null), &doc(&["a"]), 2048);
        assert!(matches!(
            &changes[0],
            Change::NarrowUserPolicy { after: None, .. }
        ));
        assert!(matches!(
            &changes[1],
            Change::PutUserPolicy { before: None, .. }
        ));
    }
}
