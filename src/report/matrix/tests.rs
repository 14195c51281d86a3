//! Matrix tests: literal (desired, observed) pairs, checked by snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::model::{
    Access, Client, GROUP_POLICY_NAME, MANAGED_TAG_KEY, MANAGED_TAG_VALUE, ObservedGroup,
    ObservedUser,
};
use crate::policy::document::group_policy;
use crate::render::matrix::{json, text};

const ACCOUNT: &str = "123456789012";

fn client(name: &str, buckets: &[&str], prefixes: &[&str], devs: &[&str]) -> Client {
    Client {
        name: name.into(),
        buckets: buckets.iter().map(|b| b.to_string()).collect(),
        bucket_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        access: Access::ReadWrite,
        developers: devs.iter().map(|d| d.to_string()).collect(),
        membership_expires: Default::default(),
        app_user: Some(format!("{name}-app")),
        distributions: vec![],
        source: PathBuf::from(format!("clients/{name}.toml")),
    }
}

fn user(name: &str, groups: &[&str], client: Option<&str>) -> ObservedUser {
    let mut tags = BTreeMap::from([(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned())]);
    if let Some(c) = client {
        tags.insert(CLIENT_TAG_KEY.to_owned(), c.to_owned());
    }
    ObservedUser {
        name: name.into(),
        path: "/provision/".into(),
        tags,
        groups: groups
            .iter()
            .map(|g| g.to_string())
            .collect::<BTreeSet<_>>(),
        ..ObservedUser::default()
    }
}

/// acme (alice) and globex (bob) as applied, with `globex` optionally left
/// out of the loaded files.
fn world(load_globex: bool) -> (Desired, Observed) {
    let acme = client("acme", &["acme-assets"], &[], &["alice"]);
    let mut globex = client("globex", &[], &["globex-"], &["bob"]);
    globex.distributions = vec!["E2QWRUHAPOMQZL".into()];
    let mut observed = Observed::default();
    for c in [&acme, &globex] {
        observed.groups.insert(
            c.group_name(),
            ObservedGroup {
                name: c.group_name(),
                path: "/provision/".into(),
                inline_policies: [(GROUP_POLICY_NAME.to_owned(), group_policy(c, ACCOUNT))].into(),
                ..ObservedGroup::default()
            },
        );
    }
    for u in [
        user("alice", &["client-acme"], None),
        user("acme-app", &["client-acme"], Some("acme")),
        user("bob", &["client-globex"], None),
        user("globex-app", &["client-globex"], Some("globex")),
    ] {
        observed.users.insert(u.name.clone(), u);
    }
    let mut desired = Desired::default();
    desired.clients.insert("acme".into(), acme);
    if load_globex {
        desired.clients.insert("globex".into(), globex);
    }
    (desired, observed)
}

fn render(m: &Matrix) -> String {
    let mut out = Vec::new();
    text(m, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn applied_clients_are_isolated() {
    let (d, o) = world(true);
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT);
    assert!(m.isolated());
    insta::assert_snapshot!("isolated_text", render(&m));
    // Own access is what read-write grants, nothing of `full`.
    let own = m
        .cells
        .iter()
        .find(|c| c.principal == "acme-app" && c.resource == "acme-assets")
        .unwrap();
    assert_eq!(
        own.allowed,
        [
            "s3:ListBucket",
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject"
        ]
    );
}

#[test]
fn a_hand_added_grant_is_a_leak_and_json_says_so() {
    let (d, mut o) = world(true);
    o.users.get_mut("globex-app").unwrap().inline_policies.insert(
        "sneaky".into(),
        json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-*"}]}),
    );
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT);
    assert!(!m.isolated());
    insta::assert_snapshot!("leak_text", render(&m));
    let mut out = Vec::new();
    json(&m, &mut out).unwrap();
    let j: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j["isolated"], false);
    assert_eq!(
        j["leaks"],
        json!([{"principal": "globex-app", "resource": "acme-assets", "kind": "bucket", "client": "acme", "own": false, "allowed": ["s3:GetObject"], "explicitly_denied": [], "conditional": false,
            "reached_by": [{"policy": "inline policy `sneaky` of user `globex-app`", "statement": 1, "actions": {"only": "s3:GetObject"}, "resources": {"only": "arn:aws:s3:::acme-*"}, "conditional": false}]}])
    );
}

/// The hardening issue's case: a hand policy on acme's group allows
/// `globex-prod*`, inside globex's prefix `globex-` but not on the sample
/// bucket `globex-example` the table probes. It is a leak all the same,
/// and the message names the statement and the pattern.
#[test]
fn a_grant_inside_another_clients_prefix_is_a_leak_though_the_sample_bucket_is_not_reached() {
    let (d, mut o) = world(true);
    o.groups.get_mut("client-acme").unwrap().inline_policies.insert(
        "hand".into(),
        json!({"Statement": [{"Sid": "ReadProd", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "arn:aws:s3:::globex-prod*"}]}),
    );
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT);
    assert!(!m.isolated());
    let leaks: Vec<(&str, &str)> = m
        .leaks()
        .map(|c| (c.principal.as_str(), c.resource.as_str()))
        .collect();
    assert_eq!(
        leaks,
        [("acme-app", "globex-example"), ("alice", "globex-example")]
    );
    // The probes alone see nothing: the sample bucket is not granted.
    assert!(m.leaks().all(|c| c.allowed.is_empty()));
    insta::assert_snapshot!("prefix_leak_text", render(&m));
    let mut out = Vec::new();
    json(&m, &mut out).unwrap();
    let j: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j["isolated"], false);
    assert_eq!(
        j["leaks"][0]["reached_by"],
        json!([{"policy": "inline policy `hand` of group `client-acme`", "statement": 1, "sid": "ReadProd", "actions": {"only": "s3:GetObject"}, "resources": {"only": "arn:aws:s3:::globex-prod*"}, "conditional": false}])
    );
    let prefix = m
        .resources
        .iter()
        .find(|r| r.client == "globex" && r.kind == ResourceKind::Bucket)
        .unwrap();
    assert_eq!(prefix.prefix.as_deref(), Some("globex-"));
}

/// A deny that covers the whole of another client's prefix cancels a
/// wide grant; one that covers only part of it does not.
#[test]
fn only_a_deny_covering_all_of_what_is_reached_cancels_a_leak() {
    let (d, mut o) = world(true);
    let acme_app = o.users.get_mut("acme-app").unwrap();
    acme_app.inline_policies.insert(
        "wide".into(),
        json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    );
    acme_app.inline_policies.insert(
        "fence".into(),
        json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::globex-*"]}]}),
    );
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT);
    assert!(m.isolated(), "{}", render(&m));
    o.users.get_mut("acme-app").unwrap().inline_policies.insert(
        "fence".into(),
        json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::globex-ex*"]}]}),
    );
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT);
    let leaks: Vec<&Cell> = m.leaks().collect();
    assert_eq!(leaks.len(), 1, "{}", render(&m));
    assert_eq!(leaks[0].resource, "globex-example");
    // The probes on the sample bucket are denied, yet the rest of the
    // prefix is reached.
    assert!(leaks[0].allowed.is_empty());
    assert_eq!(
        leaks[0].reached_by[0].policy,
        "inline policy `wide` of user `acme-app`"
    );
}

#[test]
fn attached_policies_boundaries_and_denies_count() {
    let (d, mut o) = world(true);
    let admin = "arn:aws:iam::aws:policy/AmazonS3FullAccess";
    let boundary = "arn:aws:iam::123456789012:policy/ClientBoundary";
    o.groups
        .get_mut("client-acme")
        .unwrap()
        .attached_policies
        .push(admin.into());
    let docs = BTreeMap::from([
        (
            admin.to_owned(),
            json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}),
        ),
        (
            boundary.to_owned(),
            json!({"Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::acme-*"]}
            ]}),
        ),
    ]);
    // Without a boundary, the attached policy reaches globex.
    let m = matrix(&d, &o, &docs, ACCOUNT);
    assert!(
        m.leaks()
            .any(|c| c.principal == "alice" && c.client == "globex")
    );
    // alice's boundary denies everything outside acme: isolated again for
    // her, while acme-app (no boundary) still leaks.
    o.users.get_mut("alice").unwrap().permissions_boundary = Some(boundary.into());
    let m = matrix(&d, &o, &docs, ACCOUNT);
    assert!(!m.leaks().any(|c| c.principal == "alice"));
    let denied = m
        .cells
        .iter()
        .find(|c| c.principal == "alice" && c.resource == "globex-example")
        .unwrap();
    assert_eq!(denied.explicitly_denied.len(), BUCKET_PROBES.len());
    assert!(m.leaks().any(|c| c.principal == "acme-app"));
    // A policy whose document is missing is named in a note.
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT);
    assert!(m.notes.iter().any(|n| n.contains(admin)), "{:?}", m.notes);
}

#[test]
fn clients_outside_the_files_are_read_from_the_account() {
    let (d, o) = world(false);
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT);
    let globex: Vec<&Resource> = m
        .resources
        .iter()
        .filter(|r| r.client == "globex")
        .collect();
    assert_eq!(globex.len(), 1);
    assert_eq!(globex[0].name, "globex-example");
    let bob = m.principals.iter().find(|p| p.name == "bob").unwrap();
    assert_eq!(bob.clients, BTreeSet::from(["globex".to_owned()]));
    assert!(m.isolated());
}

/// How long the matrix takes at the size `scripts/bench` uses (300
/// clients, 4,500 developers, each in two clients); run with
/// `cargo test --release --lib verify::tests::matrix_at_scale -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn matrix_at_scale() {
    let (clients, developers) = (300, 4500);
    let mut desired = Desired::default();
    let mut observed = Observed::default();
    let mut all: Vec<Client> = (0..clients)
        .map(|c| {
            let name = format!("client{c:03}");
            if c % 2 == 0 {
                client(
                    &name,
                    &[&format!("{name}-assets"), &format!("{name}-logs")],
                    &[],
                    &[],
                )
            } else {
                client(&name, &[], &[&format!("{name}-")], &[])
            }
        })
        .collect();
    for d in 0..developers {
        let dev = format!("dev{d:04}");
        let mine = [d % clients, (d + 1) % clients];
        for c in mine {
            all[c].developers.push(dev.clone());
        }
        let groups: Vec<String> = mine.iter().map(|c| all[*c].group_name()).collect();
        let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        let u = user(&dev, &refs, None);
        observed.users.insert(u.name.clone(), u);
    }
    for c in all {
        let app = user(
            &format!("{}-app", c.name),
            &[&c.group_name()],
            Some(&c.name),
        );
        observed.users.insert(app.name.clone(), app);
        observed.groups.insert(
            c.group_name(),
            ObservedGroup {
                name: c.group_name(),
                path: "/provision/".into(),
                inline_policies: [(GROUP_POLICY_NAME.to_owned(), group_policy(&c, ACCOUNT))].into(),
                ..ObservedGroup::default()
            },
        );
        desired.clients.insert(c.name.clone(), c);
    }
    let started = std::time::Instant::now();
    let m = matrix(&desired, &observed, &BTreeMap::new(), ACCOUNT);
    eprintln!(
        "{} principals x {} resources = {} cells in {:?}",
        m.principals.len(),
        m.resources.len(),
        m.cells.len(),
        started.elapsed()
    );
    assert!(m.isolated());
}
