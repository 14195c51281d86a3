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
use chrono::NaiveDate;

const ACCOUNT: &str = "123456789012";

fn client(name: &str, buckets: &[&str], prefixes: &[&str], devs: &[&str]) -> Client {
    Client {
        name: name.into(),
        buckets: buckets.iter().map(|b| b.to_string()).collect(),
        bucket_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
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

/// `verify`'s text for the matrix alone (no bucket read): the table, the
/// leaks and the verdict.
fn render(m: &Matrix) -> String {
    let mut out = Vec::new();
    crate::render::verify::text(
        m,
        &crate::report::buckets::ResourceSide::default(),
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn applied_clients_are_isolated() {
    let (d, o) = world(true);
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert!(m.isolated());
    insta::assert_snapshot!("isolated_text", render(&m));
    // Own access is what read-write grants, nothing of `full`.
    let own = m
        .cells()
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
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
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
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert!(!m.isolated());
    let leaks: Vec<(&str, &str)> = m.leaks().map(|c| (c.principal, c.resource)).collect();
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
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert!(m.isolated(), "{}", render(&m));
    o.users.get_mut("acme-app").unwrap().inline_policies.insert(
        "fence".into(),
        json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::globex-ex*"]}]}),
    );
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    let leaks: Vec<Cell> = m.leaks().collect();
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
    let m = matrix(&d, &o, &docs, ACCOUNT, None);
    assert!(
        m.leaks()
            .any(|c| c.principal == "alice" && c.client == "globex")
    );
    // alice's boundary denies everything outside acme: isolated again for
    // her, while acme-app (no boundary) still leaks.
    o.users.get_mut("alice").unwrap().permissions_boundary = Some(boundary.into());
    let m = matrix(&d, &o, &docs, ACCOUNT, None);
    assert!(!m.leaks().any(|c| c.principal == "alice"));
    let denied = m
        .cells()
        .find(|c| c.principal == "alice" && c.resource == "globex-example")
        .unwrap();
    assert_eq!(denied.explicitly_denied.len(), BUCKET_PROBES.len());
    assert!(m.leaks().any(|c| c.principal == "acme-app"));
    // A policy whose document is missing is named in a note.
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert!(m.notes.iter().any(|n| n.contains(admin)), "{:?}", m.notes);
}

/// An attached policy that cannot be read (deleted meanwhile, or not
/// readable with these credentials) may grant anything: with no leak
/// found, isolation is not proven, and the verdict says so. A boundary
/// that cannot be read only narrows access: evaluating without it can
/// only find more leaks, so it leaves the verdict alone.
#[test]
fn a_policy_that_cannot_be_read_leaves_isolation_unproven() {
    let (d, mut o) = world(true);
    let hand = "arn:aws:iam::123456789012:policy/hand-made";
    o.groups
        .get_mut("client-acme")
        .unwrap()
        .attached_policies
        .push(hand.into());
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert_eq!(m.leaks().count(), 0);
    assert!(!m.isolated());
    assert_eq!(m.unreadable, BTreeSet::from([hand.to_owned()]));
    let text = render(&m);
    assert!(
        text.contains("Isolation cannot be proven: 1 policy(ies) that apply to managed users could not be read")
            && !text.contains("Isolation holds"),
        "{text}"
    );
    let mut out = Vec::new();
    json(&m, &mut out).unwrap();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["isolated"], false);
    assert_eq!(doc["unreadable_policies"], json!([hand]));
    // Read, it is evaluated like any other: here it grants nothing.
    let docs = BTreeMap::from([(
        hand.to_owned(),
        json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-assets/*"}}),
    )]);
    assert!(matrix(&d, &o, &docs, ACCOUNT, None).isolated());
    // A boundary that cannot be read.
    let (d, mut o) = world(true);
    o.users.get_mut("alice").unwrap().permissions_boundary =
        Some("arn:aws:iam::123456789012:policy/gone".into());
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert!(m.isolated(), "{}", render(&m));
    assert!(
        m.notes.iter().any(|n| n.contains("policy/gone")),
        "{:?}",
        m.notes
    );
}

/// The principal of `name` in `m`.
fn principal<'m>(m: &'m Matrix, name: &str) -> &'m Principal {
    m.principals.iter().find(|p| p.name == name).unwrap()
}

fn clients(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Whoever may edit IAM may tag a user or add it to a group: neither makes
/// an application user of the configuration belong to another client.
/// acme's application user re-tagged as globex's and put in globex's group
/// still belongs to acme alone, so what it reaches of globex is a leak,
/// whether globex is in the files or only in the account.
#[test]
fn an_app_user_belongs_to_its_client_whatever_its_tag_and_groups_say() {
    for load_globex in [true, false] {
        let (d, mut o) = world(load_globex);
        let app = o.users.get_mut("acme-app").unwrap();
        app.tags.insert(CLIENT_TAG_KEY.into(), "globex".into());
        app.groups.insert("client-globex".into());
        let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
        assert_eq!(principal(&m, "acme-app").clients, clients(&["acme"]));
        assert_eq!(principal(&m, "acme-app").kind, "app");
        assert!(
            m.leaks()
                .any(|c| c.principal == "acme-app" && c.client == "globex"),
            "globex loaded: {load_globex}\n{}",
            render(&m)
        );
    }
}

/// An application user no file declares belongs to the client its tag
/// names only when the configuration does not declare that client: the
/// configuration names that client's application user, and it is another.
#[test]
fn an_undeclared_app_user_belongs_to_its_tags_client_only_outside_the_configuration() {
    let (d, mut o) = world(false);
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert_eq!(principal(&m, "globex-app").clients, clients(&["globex"]));
    // Tagged for acme, which the configuration declares with `acme-app`.
    let stray = o.users.get_mut("globex-app").unwrap();
    stray.tags.insert(CLIENT_TAG_KEY.into(), "acme".into());
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert_eq!(principal(&m, "globex-app").clients, clients(&[]));
    assert!(m.leaks().any(|c| c.principal == "globex-app"));
}

/// A developer belongs to the clients whose files list it; a membership
/// added by hand to the group of a client the configuration declares
/// counts for nothing. In the group of a client that is not in the
/// configuration at all, the membership is all there is to go by: it
/// counts, and a note says it was read from the account.
#[test]
fn a_developers_clients_come_from_the_files_wherever_they_speak() {
    let (d, mut o) = world(true);
    o.users
        .get_mut("alice")
        .unwrap()
        .groups
        .insert("client-globex".into());
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert_eq!(principal(&m, "alice").clients, clients(&["acme"]));
    assert!(
        m.leaks()
            .any(|c| c.principal == "alice" && c.client == "globex")
    );

    let (d, o) = world(false);
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert_eq!(principal(&m, "bob").clients, clients(&["globex"]));
    assert!(m.isolated(), "{}", render(&m));
    assert!(
        m.notes.iter().any(|n| n
            == "memberships in groups of clients not in the configuration were read from the account: `bob` in `client-globex`"),
        "{:?}",
        m.notes
    );
}

/// A client of a context file (a file of the same directory, not given) is
/// part of the configuration: what it owns and who belongs to it come from
/// its file, not from its group in the account.
#[test]
fn context_clients_are_taken_from_their_files() {
    let (mut d, mut o) = world(false);
    let mut globex = client("globex", &[], &["globex-"], &["bob"]);
    globex.distributions = vec!["E2QWRUHAPOMQZL".into()];
    d.context_clients.insert("globex".into(), globex);
    // acme's developer added by hand to globex's group.
    o.users
        .get_mut("alice")
        .unwrap()
        .groups
        .insert("client-globex".into());
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert_eq!(principal(&m, "alice").clients, clients(&["acme"]));
    assert_eq!(principal(&m, "bob").clients, clients(&["globex"]));
    assert!(
        m.leaks()
            .any(|c| c.principal == "alice" && c.client == "globex")
    );
    assert!(
        !m.notes.iter().any(|n| n.contains("read from")),
        "{:?}",
        m.notes
    );
}

/// Memberships are decided on the day, as the plan decides them: an ended
/// membership, an expired developer and a disabled one belong to no client,
/// so until apply removes them from the group, their reach is a leak.
#[test]
fn ended_memberships_belong_to_no_client() {
    let today: NaiveDate = "2026-06-15".parse().unwrap();
    let yesterday: NaiveDate = "2026-06-14".parse().unwrap();
    let declared = |expires, disabled| crate::model::Developer {
        name: "alice".into(),
        email: None,
        expires,
        disabled,
    };
    type Edit = Box<dyn Fn(&mut Desired)>;
    let cases: [(&str, Edit); 3] = [
        (
            "membership",
            Box::new(move |d: &mut Desired| {
                let acme = d.clients.get_mut("acme").unwrap();
                acme.membership_expires.insert("alice".into(), yesterday);
            }),
        ),
        (
            "developer",
            Box::new(move |d: &mut Desired| {
                d.developers
                    .insert("alice".into(), declared(Some(yesterday), false));
            }),
        ),
        (
            "disabled",
            Box::new(move |d: &mut Desired| {
                d.developers.insert("alice".into(), declared(None, true));
            }),
        ),
    ];
    for (case, edit) in cases {
        let (mut d, o) = world(true);
        edit(&mut d);
        // As written, alice is acme's.
        let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
        assert!(m.isolated(), "{case}: {}", render(&m));
        let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, Some(today));
        assert_eq!(principal(&m, "alice").clients, clients(&[]), "{case}");
        assert!(
            m.leaks()
                .any(|c| c.principal == "alice" && c.client == "acme"),
            "{case}: {}",
            render(&m)
        );
        // The same for a client of a context file.
        let (mut d, o) = world(true);
        edit(&mut d);
        let acme = d.clients.remove("acme").unwrap();
        d.context_clients.insert("acme".into(), acme);
        if let Some(alice) = d.developers.remove("alice") {
            d.context_developer_declarations
                .insert("alice".into(), alice);
        }
        let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, Some(today));
        assert_eq!(
            principal(&m, "alice").clients,
            clients(&[]),
            "context {case}"
        );
    }
}

/// A client not in the configuration whose grant did not fit inline keeps
/// it in its managed policy `provision-s3-<client>`: its buckets are read
/// from there, as the planner's live check reads them.
#[test]
fn a_live_clients_own_managed_policy_gives_its_buckets() {
    let (d, mut o) = world(false);
    let group = o.groups.get_mut("client-globex").unwrap();
    let doc = group.inline_policies.remove(GROUP_POLICY_NAME).unwrap();
    let arn = "arn:aws:iam::123456789012:policy/provision/provision-s3-globex".to_owned();
    group.attached_policies.push(arn.clone());
    o.managed_policies.insert(arn.clone(), doc.clone());
    let docs = BTreeMap::from([(arn, doc)]);
    o.users.get_mut("acme-app").unwrap().inline_policies.insert(
        "sneaky".into(),
        json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::globex-data/*"}]}),
    );
    let m = matrix(&d, &o, &docs, ACCOUNT, None);
    assert!(
        m.leaks().any(|c| c.principal == "acme-app"
            && c.client == "globex"
            && c.kind == ResourceKind::Bucket),
        "{}",
        render(&m)
    );
}

#[test]
fn clients_outside_the_files_are_read_from_the_account() {
    let (d, o) = world(false);
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    let globex: Vec<&Resource> = m
        .resources
        .iter()
        .filter(|r| r.client == "globex")
        .collect();
    // Its prefix, and the distribution its group may invalidate.
    assert_eq!(globex.len(), 2);
    assert_eq!(globex[0].name, "globex-example");
    assert_eq!(
        (globex[1].kind, globex[1].name.as_str()),
        (ResourceKind::Distribution, "E2QWRUHAPOMQZL")
    );
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
    let m = matrix(&desired, &observed, &BTreeMap::new(), ACCOUNT, None);
    eprintln!(
        "{} principals x {} resources = {} cells in {:?}",
        m.principals.len(),
        m.resources.len(),
        m.cell_count(),
        started.elapsed()
    );
    assert!(m.isolated());
}

/// A generated account where most principals share their policies and a
/// few hold their own: exact buckets, prefixes, distributions, a client
/// only the account knows, hand grants that leak (by probe and by pattern
/// only), `NotResource`, policy variables, conditions, two boundaries (one
/// unreadable), a managed policy that cannot be read, expired and disabled
/// developers, and a user provision does not manage.
fn crowded_world() -> (Desired, Observed, BTreeMap<String, Value>) {
    let clients = 9;
    let mut all: Vec<Client> = (0..clients)
        .map(|c| {
            let name = format!("c{c}");
            let mut client = if c % 3 == 2 {
                client(&name, &[], &[&format!("{name}-")], &[])
            } else {
                client(
                    &name,
                    &[&format!("{name}-a"), &format!("{name}-b")],
                    &[],
                    &[],
                )
            };
            if c % 4 == 1 {
                client.distributions = vec![format!("E{c}DIST")];
            }
            client
        })
        .collect();
    let mut desired = Desired::default();
    let mut observed = Observed::default();
    // A client the configuration does not declare, and its member.
    let zeta = client("zeta", &["zeta-data"], &["zeta-"], &[]);
    for d in 0..150 {
        let dev = format!("dev{d:03}");
        // Few distinct sets of clients: most developers share a row.
        let mine = [(d % 4) * 2, (d % 3) * 3 + 1];
        for c in mine {
            if !all[c].developers.contains(&dev) {
                all[c].developers.push(dev.clone());
            }
        }
        let mut groups: Vec<String> = mine.iter().map(|c| all[*c].group_name()).collect();
        if d % 17 == 3 {
            groups.push(zeta.group_name());
        }
        let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        let mut u = user(&dev, &refs, None);
        if d % 5 == 0 {
            u.permissions_boundary = Some(format!("arn:aws:iam::{ACCOUNT}:policy/Bound"));
        }
        if d == 7 {
            u.permissions_boundary = Some(format!("arn:aws:iam::{ACCOUNT}:policy/Gone"));
        }
        if d % 11 == 4 {
            u.permissions_boundary = Some(format!("arn:aws:iam::{ACCOUNT}:policy/Maybe"));
        }
        observed.users.insert(u.name.clone(), u);
        desired.developers.insert(
            dev.clone(),
            crate::model::Developer {
                name: dev.clone(),
                email: None,
                expires: (d == 9).then(|| NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()),
                disabled: d == 13,
            },
        );
    }
    all[0].membership_expires.insert(
        "dev000".into(),
        NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
    );
    // Principals with policies of their own.
    let own: [(&str, Value); 8] = [
        (
            "dev001",
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::c3-*"}]}),
        ),
        (
            "dev002",
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::c2-prod*"}]}),
        ),
        (
            "dev003",
            json!({"Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "NotResource": "arn:aws:s3:::c0-*"}}),
        ),
        (
            "dev004",
            json!({"Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::c1-?", "arn:aws:s3:::c5-*"]}
            ]}),
        ),
        (
            "dev005",
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::${aws:username}-*"}]}),
        ),
        (
            "dev006",
            json!({"Statement": [{"Effect": "Allow", "Action": "cloudfront:*", "Resource": "arn:aws:cloudfront::*:distribution/*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}),
        ),
        (
            "dev008",
            json!({"Statement": [{"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::c6-a/*"}]}),
        ),
        (
            "c4-app",
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::zeta-data/*"}]}),
        ),
    ];
    for c in &all {
        let app = user(
            &format!("{}-app", c.name),
            &[&c.group_name()],
            Some(&c.name),
        );
        observed.users.insert(app.name.clone(), app);
    }
    for (name, doc) in own {
        let u = observed.users.get_mut(name).unwrap();
        u.inline_policies.insert("hand".into(), doc);
    }
    observed
        .users
        .get_mut("dev010")
        .unwrap()
        .attached_policies
        .push("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".into());
    let stranger = ObservedUser {
        name: "stranger".into(),
        groups: BTreeSet::from(["client-c0".to_owned()]),
        ..ObservedUser::default()
    };
    observed.users.insert(stranger.name.clone(), stranger);
    for c in all.iter().chain([&zeta]) {
        let mut group = ObservedGroup {
            name: c.group_name(),
            path: "/provision/".into(),
            inline_policies: [(GROUP_POLICY_NAME.to_owned(), group_policy(c, ACCOUNT))].into(),
            ..ObservedGroup::default()
        };
        if c.name == "c1" {
            group.attached_policies = vec![
                format!("arn:aws:iam::{ACCOUNT}:policy/Extra"),
                format!("arn:aws:iam::{ACCOUNT}:policy/Unreadable"),
            ];
        }
        observed.groups.insert(c.group_name(), group);
    }
    for c in all {
        desired.clients.insert(c.name.clone(), c);
    }
    let docs = BTreeMap::from([
        (
            format!("arn:aws:iam::{ACCOUNT}:policy/Extra"),
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::c7-a/*"}]}),
        ),
        (
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".to_owned(),
            json!({"Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}),
        ),
        (
            format!("arn:aws:iam::{ACCOUNT}:policy/Bound"),
            json!({"Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::c8-*"}
            ]}),
        ),
        (
            format!("arn:aws:iam::{ACCOUNT}:policy/Maybe"),
            json!({"Statement": [
                {"Effect": "Allow", "Action": ["s3:*", "cloudfront:*"], "Resource": "*",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}
            ]}),
        ),
    ]);
    (desired, observed, docs)
}

/// Principals share a row only when their policies are the same; the rows
/// are expanded as they are printed. Whatever the sharing, the table and
/// the JSON are byte for byte what one cell per principal and resource,
/// each evaluated on its own, printed (the oracle keeps that old way).
#[test]
fn shared_rows_print_the_same_bytes_as_one_cell_per_principal() {
    use super::oracle::{old_json, old_matrix, old_text};
    let (d, o, docs) = crowded_world();
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    for today in [None, Some(today)] {
        let m = matrix(&d, &o, &docs, ACCOUNT, today);
        let old = old_matrix(&d, &o, &docs, ACCOUNT, today);
        let (mut new_text, mut want_text) = (Vec::new(), Vec::new());
        text(&m, &mut new_text).unwrap();
        old_text(&old, &mut want_text).unwrap();
        let (new_text, want_text) = (
            String::from_utf8(new_text).unwrap(),
            String::from_utf8(want_text).unwrap(),
        );
        assert_eq!(new_text, want_text);
        let (mut new_json, mut want_json) = (Vec::new(), Vec::new());
        json(&m, &mut new_json).unwrap();
        old_json(&old, &mut want_json).unwrap();
        assert_eq!(
            String::from_utf8(new_json).unwrap(),
            String::from_utf8(want_json).unwrap()
        );
        // The account exercises what it is meant to: shared rows, leaks by
        // probe and by pattern alone, conditions, unreadable policies.
        assert!(m.rows.len() * 2 < m.principals.len(), "{}", m.rows.len());
        assert!(want_text.contains("  <- LEAK\n"));
        assert!(want_text.contains("<- LEAK (by pattern, see below)"));
        assert!(want_text.contains(" *\n"));
        for note in ["Unreadable", "Gone", "`zeta`", "`dev020` in `client-zeta`"] {
            assert!(want_text.contains(note), "{note}");
        }
        assert_eq!(m.isolated(), old.isolated());
        assert!(!m.isolated());
    }
}

/// The access list is laid out by hand for speed; the whole document,
/// and `verify`'s with the resource side's fields, is byte for byte what
/// serde alone printed, leaks naming their statements included.
#[test]
fn the_hand_laid_json_is_serdes_byte_for_byte() {
    use crate::render::matrix::serde_oracle;
    type Writer<'a> = &'a dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>;
    let same = |new: Writer<'_>, want: Writer<'_>| {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        new(&mut a).unwrap();
        want(&mut b).unwrap();
        assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
    };
    let (d, o, docs) = crowded_world();
    let m = matrix(&d, &o, &docs, ACCOUNT, None);
    assert!(m.leaks().any(|c| !c.reached_by.is_empty()));
    assert!(m.cells().any(|c| c.conditional && !c.allowed.is_empty()));
    same(&|out| json(&m, out), &|out| serde_oracle::json(&m, out));
    let side = crate::report::buckets::resource_side(
        &m,
        &o,
        &docs,
        &BTreeMap::new(),
        ACCOUNT,
        crate::model::Part::default(),
    );
    same(
        &|out| crate::render::buckets::json(&m, &side, out),
        &|out| serde_oracle::verify_json(&m, &side, out),
    );
    // Nothing at all: an empty list and an empty document.
    let empty = matrix(
        &Desired::default(),
        &Observed::default(),
        &docs,
        ACCOUNT,
        None,
    );
    same(&|out| json(&empty, out), &|out| {
        serde_oracle::json(&empty, out)
    });
}

/// An account with no principal prints the headers alone; one with a
/// single principal and many resources lays out its columns as before.
#[test]
fn an_empty_matrix_prints_as_before() {
    use super::oracle::{old_json, old_matrix, old_text};
    let (d, o, docs) = crowded_world();
    let nobody = Observed {
        groups: o.groups.clone(),
        ..Observed::default()
    };
    let nothing = Desired {
        developers: d.developers.clone(),
        ..Desired::default()
    };
    // One principal and many resources: still a column as wide as its
    // widest value.
    let mut alone = nobody.clone();
    alone
        .users
        .insert("dev001".into(), o.users["dev001"].clone());
    for (d, o) in [
        (&d, &nobody),
        (&nothing, &o),
        (&nothing, &nobody),
        (&d, &alone),
    ] {
        let m = matrix(d, o, &docs, ACCOUNT, None);
        let old = old_matrix(d, o, &docs, ACCOUNT, None);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        text(&m, &mut a).unwrap();
        old_text(&old, &mut b).unwrap();
        assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        json(&m, &mut a).unwrap();
        old_json(&old, &mut b).unwrap();
        assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
    }
}

/// The index finds what a statement may name by the literal start of the
/// resource's ARNs: every ARN probed and every pattern reached starts with
/// the resource's key, or a statement could name a resource the index
/// does not return.
#[test]
fn every_arn_and_pattern_of_a_resource_starts_with_its_key() {
    let (d, o, docs) = crowded_world();
    let m = matrix(&d, &o, &docs, ACCOUNT, None);
    let kinds: BTreeSet<(ResourceKind, bool)> = m
        .resources
        .iter()
        .map(|r| (r.kind, r.from_prefix))
        .collect();
    assert_eq!(kinds.len(), 3, "buckets, prefixes and distributions");
    for r in &m.resources {
        let key = r.key();
        assert!(key.starts_with("arn:aws:"), "{key}");
        for probe in r.probes() {
            assert!(r.arn(probe.target).starts_with(&key), "{key}");
        }
        for glob in r.owned().resources {
            assert!(glob.as_str().starts_with(&key), "{key}");
        }
    }
    let index = ResourceIndex::new(&m.resources);
    let named = |resource: Value| {
        let names: Vec<&str> = index
            .named_by(&json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": resource}]}))
            .into_iter()
            .map(|i| m.resources[i].name.as_str())
            .collect();
        names
    };
    // A pattern's literal start, up to `*`, `?` or `$`, in either
    // direction of "starts with".
    assert_eq!(named(json!("arn:aws:s3:::c0-a")), ["c0-a"]);
    assert_eq!(named(json!("arn:aws:s3:::c0-a/key")), ["c0-a"]);
    assert_eq!(named(json!("arn:aws:s3:::c2-prod/*")), ["c2-example"]);
    assert_eq!(named(json!("arn:aws:s3:::c0-?")), ["c0-a", "c0-b"]);
    assert_eq!(
        named(json!("arn:aws:s3:::c0-${aws:username}")),
        ["c0-a", "c0-b"]
    );
    assert_eq!(
        named(json!(["arn:aws:s3:::c3*", "arn:aws:s3:::c4-b"])),
        ["c3-a", "c3-b", "c4-b"]
    );
    assert_eq!(named(json!("arn:aws:s3:::zz*")), Vec::<&str>::new());
    assert_eq!(named(json!("*")).len(), m.resources.len());
    let not = index
        .named_by(&json!({"Statement": {"Effect": "Deny", "Action": "s3:*", "NotResource": "x"}}));
    assert_eq!(not.len(), m.resources.len());
    let none = index.named_by(&json!({"Statement": {"Effect": "Allow", "Action": "s3:*"}}));
    assert!(none.is_empty());
}

/// `--simulate` compares the simulator with what the matrix allows: the
/// shared rows answer every probed pair as the held cells did, and a
/// simulator that allows everything disagrees exactly where they deny.
#[test]
fn the_simulator_is_compared_with_the_same_answers_as_before() {
    use super::oracle::{old_allows, old_matrix, old_principals};
    let (d, o, docs) = crowded_world();
    let m = matrix(&d, &o, &docs, ACCOUNT, None);
    let old = old_matrix(&d, &o, &docs, ACCOUNT, None);
    let requests = probe_requests(&m);
    let everything: BTreeSet<(String, String)> = requests
        .iter()
        .map(|(a, r)| ((*a).to_owned(), r.clone()))
        .collect();
    let mut allowed = 0;
    for principal in old_principals(&old).into_iter().chain(["nobody"]) {
        let mut denied = 0;
        for (action, arn) in &requests {
            let want = old_allows(&old, principal, action, arn);
            assert_eq!(
                allows(&m, principal, action, arn),
                want,
                "{principal} {action} {arn}"
            );
            allowed += usize::from(want);
            denied += usize::from(!want);
        }
        let off = disagreements(&m, principal, &requests, &everything);
        assert_eq!(off.len(), denied, "{principal}");
        assert!(off.iter().all(|x| x.simulated && !x.ours));
    }
    assert!(allowed > 100, "{allowed}");
}

/// A role (keyless CI) is a principal: its own client's bucket is not a
/// leak, a policy of it reaching another client's bucket is, and so is
/// whatever a role the files no longer declare still reaches.
#[test]
fn a_role_reaching_another_clients_bucket_is_a_leak() {
    use crate::model::{ObservedRole, RoleApp};
    let (mut d, mut o) = world(true);
    let acme = d.clients.get_mut("acme").unwrap();
    acme.roles.push(RoleApp {
        name: "acme-deploy".into(),
        buckets: vec!["acme-assets".into()],
        bucket_prefixes: vec![],
        access: Access::ReadWrite,
        permissions_boundary: None,
        subjects: vec!["repo:acme/site:pull_request".into()],
    });
    let own = group_policy(acme, ACCOUNT);
    let role = |name: &str, policy: serde_json::Value, client: &str| ObservedRole {
        name: name.into(),
        path: "/provision/".into(),
        tags: BTreeMap::from([
            (MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned()),
            (CLIENT_TAG_KEY.to_owned(), client.to_owned()),
        ]),
        inline_policies: [(GROUP_POLICY_NAME.to_owned(), policy)].into(),
        ..ObservedRole::default()
    };
    o.roles.insert(
        "acme-deploy".into(),
        role("acme-deploy", own.clone(), "acme"),
    );
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    assert!(
        m.principals
            .iter()
            .any(|p| p.name == "acme-deploy" && p.kind == "role")
    );
    assert!(m.isolated(), "{}", render(&m));
    assert!(allows(
        &m,
        "acme-deploy",
        "s3:ListBucket",
        "arn:aws:s3:::acme-assets"
    ));

    // Widened by hand to globex's buckets: a leak.
    let wide = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::globex-*"}]});
    o.roles
        .insert("acme-deploy".into(), role("acme-deploy", wide, "acme"));
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    let leaks: Vec<String> = m.leaks().map(|c| c.principal.to_owned()).collect();
    assert_eq!(leaks, ["acme-deploy"], "{}", render(&m));

    // A role whose tag names a declared client it is not declared in
    // belongs to no one: whatever it reaches is a leak.
    o.roles.insert(
        "acme-deploy".into(),
        role("acme-deploy", own.clone(), "acme"),
    );
    o.roles.insert("stray".into(), role("stray", own, "acme"));
    let m = matrix(&d, &o, &BTreeMap::new(), ACCOUNT, None);
    let leaks: Vec<String> = m.leaks().map(|c| c.principal.to_owned()).collect();
    assert_eq!(leaks, ["stray"], "{}", render(&m));
}
