//! Evidence tests: a literal account state (acme and globex as applied,
//! with keys and a credential report), built and printed in both formats,
//! checked by snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::model::{
    Access, AclGrant, CLIENT_TAG_KEY, Client, GROUP_POLICY_NAME, MANAGED_TAG_KEY,
    MANAGED_TAG_VALUE, ObservedBucket, ObservedGroup, ObservedUser, Part, PublicAccessBlock,
};
use crate::policy::document::group_policy;
use crate::render::{evidence_html, evidence_markdown};
use crate::report::audit::{KeyUsage, findings};
use crate::report::buckets::resource_side;
use crate::report::matrix::matrix;

const ACCOUNT: &str = "123456789012";
const ACME_KEY: &str = "AKIAACMEAPPKEY000001";

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

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
        arn: format!("arn:aws:iam::{ACCOUNT}:user/provision/{name}"),
        tags,
        groups: groups
            .iter()
            .map(|g| g.to_string())
            .collect::<BTreeSet<_>>(),
        ..ObservedUser::default()
    }
}

/// acme (alice, acme-app) and globex (alice, globex-app), as applied.
fn world() -> (Desired, Observed) {
    let acme = client(
        "acme",
        &["acme-assets", "acme-assets-staging"],
        &[],
        &["alice"],
    );
    let mut globex = client("globex", &[], &["globex-"], &["alice"]);
    globex.access = Access::ReadOnly;
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
        user("alice", &["client-acme", "client-globex"], None),
        user("acme-app", &["client-acme"], Some("acme")),
        user("globex-app", &["client-globex"], Some("globex")),
    ] {
        observed.users.insert(u.name.clone(), u);
    }
    observed
        .users
        .get_mut("alice")
        .unwrap()
        .permissions_boundary = Some(format!("arn:aws:iam::{ACCOUNT}:policy/provision-boundary"));
    let mut desired = Desired::default();
    desired.settings.path = "/provision/".into();
    desired.settings.max_key_age_days = 90;
    desired.clients.insert("acme".into(), acme);
    desired.clients.insert("globex".into(), globex);
    (desired, observed)
}

/// A hand-made policy on globex's group that reaches acme's bucket.
fn leak(observed: &mut Observed) {
    observed
        .groups
        .get_mut("client-globex")
        .unwrap()
        .inline_policies
        .insert(
            "quick-fix".into(),
            json!({"Statement": [{"Sid": "Debug", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-assets/*"}]}),
        );
}

fn report_rows() -> Vec<ReportRow> {
    vec![ReportRow {
        user: "acme-app".into(),
        password_enabled: false,
        mfa_active: false,
        keys: vec![KeyUsage {
            slot: 1,
            active: true,
            last_rotated: Some(at(2026, 6, 1)),
            last_used: Some(at(2026, 11, 20)),
        }],
    }]
}

fn listed() -> BTreeMap<String, Vec<ListedKey>> {
    BTreeMap::from([(
        "acme-app".to_owned(),
        vec![ListedKey {
            id: ACME_KEY.into(),
            active: true,
            created: Some(at(2026, 6, 1)),
        }],
    )])
}

/// The client report and the overview, each in both formats, with no
/// bucket read.
fn outputs(desired: &Desired, observed: &Observed) -> [String; 4] {
    outputs_with(desired, observed, &[])
}

/// [`outputs`] with the buckets saying `buckets` about themselves.
fn outputs_with(desired: &Desired, observed: &Observed, buckets: &[ObservedBucket]) -> [String; 4] {
    outputs_read(
        desired,
        observed,
        buckets,
        &report_rows(),
        &listed(),
        at(2026, 12, 1),
    )
}

/// [`outputs`] for the bucket facts `buckets`, the credential report
/// `rows` and listed `keys`, read at `now`.
fn outputs_read(
    desired: &Desired,
    observed: &Observed,
    buckets: &[ObservedBucket],
    rows: &[ReportRow],
    keys: &BTreeMap<String, Vec<ListedKey>>,
    now: DateTime<Utc>,
) -> [String; 4] {
    let m = matrix(desired, observed, &BTreeMap::new(), ACCOUNT, None);
    let facts = buckets
        .iter()
        .map(|b| (b.name.clone(), b.clone()))
        .collect();
    let side = resource_side(
        &m,
        observed,
        &BTreeMap::new(),
        &facts,
        ACCOUNT,
        Part::default(),
    );
    let found = findings(
        rows,
        observed,
        &desired.settings,
        &desired.app_grant_holders(),
        now,
    );
    let inputs = Inputs {
        desired,
        observed,
        docs: &BTreeMap::new(),
        matrix: &m,
        side: &side,
        report: rows,
        findings: &found,
        source: Source::new(ACCOUNT, "/provision/", now),
        now,
    };
    let e = client_evidence(&inputs, "acme", keys);
    let o = overview(&inputs);
    let print = |f: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    [
        print(&|out| evidence_markdown::client(&e, out)),
        print(&|out| evidence_html::client(&e, out)),
        print(&|out| evidence_markdown::overview(&o, out)),
        print(&|out| evidence_html::overview(&o, out)),
    ]
}

#[test]
fn an_isolated_account_reads_as_isolated_in_both_formats() {
    let (d, o) = world();
    let [md, html, overview_md, overview_html] = outputs(&d, &o);
    insta::assert_snapshot!("client_isolated_markdown", md);
    insta::assert_snapshot!("client_isolated_html", html);
    insta::assert_snapshot!("overview_isolated_markdown", overview_md);
    insta::assert_snapshot!("overview_isolated_html", overview_html);
    for text in [&md, &html, &overview_md, &overview_html] {
        assert!(!text.contains("LEAK"), "{text}");
    }
    assert!(!html.contains("class=\"leak") && !overview_html.contains("class=\"leak"));
}

#[test]
fn a_hand_made_grant_on_another_clients_group_is_drawn_as_a_leak() {
    let (d, mut o) = world();
    leak(&mut o);
    let [md, html, overview_md, overview_html] = outputs(&d, &o);
    insta::assert_snapshot!("client_leak_markdown", md);
    insta::assert_snapshot!("overview_leak_html", overview_html);
    // globex-app reaches acme through its group's hand-made policy, and the
    // report names the statement.
    assert!(md.contains("### LEAK: `globex-app`"), "{md}");
    assert!(
        md.contains("inline policy `quick-fix` of group `client-globex`, statement `#1` (`Debug`)"),
        "{md}"
    );
    assert!(html.contains("<span class=\"leak\">LEAK</span> <code>globex-app</code>"));
    // In the picture, the cell (globex, acme) is the one leak.
    assert_eq!(overview_html.matches("<td class=\"leak\"").count(), 1);
    assert!(
        overview_md.contains("| `globex` | **LEAK 1** | ✓ 2 |"),
        "{overview_md}"
    );
}

#[test]
fn the_same_account_gives_the_same_bytes() {
    let (d, o) = world();
    assert_eq!(outputs(&d, &o), outputs(&d, &o));
}

/// The same account read on two days, with an old key, an unused one and
/// one never used: every byte is the same but the line that says when it
/// was read. Ages ("183 days old") would differ; dates do not.
#[test]
fn the_same_account_read_on_another_day_differs_only_in_the_read_time() {
    let (d, o) = world();
    let mut rows = report_rows();
    let mut keys = listed();
    // alice: one key unused since April, one made in October and never
    // used; acme-app's key (made in June) is over the 90-day limit.
    rows.push(ReportRow {
        user: "alice".into(),
        password_enabled: false,
        mfa_active: false,
        keys: vec![
            KeyUsage {
                slot: 1,
                active: true,
                last_rotated: Some(at(2026, 2, 1)),
                last_used: Some(at(2026, 4, 1)),
            },
            KeyUsage {
                slot: 2,
                active: true,
                last_rotated: Some(at(2026, 10, 1)),
                last_used: None,
            },
        ],
    });
    keys.insert(
        "alice".into(),
        vec![
            ListedKey {
                id: "AKIAALICEKEY00000001".into(),
                active: true,
                created: Some(at(2026, 2, 1)),
            },
            ListedKey {
                id: "AKIAALICEKEY00000002".into(),
                active: true,
                created: Some(at(2026, 10, 1)),
            },
        ],
    );
    // The buckets are read too, and one of them lets globex-app in: the
    // bucket side is as stable as the rest.
    let buckets = [
        bucket("acme-assets", Some(let_globex_in())),
        bucket("acme-assets-staging", None),
    ];
    let first = outputs_read(&d, &o, &buckets, &rows, &keys, at(2026, 12, 1));
    let later = outputs_read(&d, &o, &buckets, &rows, &keys, at(2026, 12, 9));
    let client_md = &first[0];
    for check in ["(old-key)", "(unused-key)", "(never-used-key)"] {
        assert_eq!(
            client_md.matches(check).count(),
            if check == "(old-key)" { 2 } else { 1 },
            "{check} in:\n{client_md}"
        );
    }
    for (a, b) in first.iter().zip(&later) {
        let differ: Vec<(&str, &str)> = a.lines().zip(b.lines()).filter(|(x, y)| x != y).collect();
        assert_eq!(a.lines().count(), b.lines().count(), "{a}\n---\n{b}");
        assert_eq!(differ.len(), 1, "{differ:#?}");
        assert!(
            differ[0].0.contains("2026-12-01T00:00:00Z")
                && differ[0].1.contains("2026-12-09T00:00:00Z"),
            "{differ:#?}"
        );
    }
    assert!(
        client_md.contains("older than the 90-day limit since 2026-08-30"),
        "{client_md}"
    );
}

#[test]
fn key_ids_are_shown_in_part_only() {
    assert_eq!(key_hint("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
    assert_eq!(key_hint("short"), "…");
    let (d, o) = world();
    for text in outputs(&d, &o) {
        assert!(!text.contains(ACME_KEY), "{text}");
    }
}

#[test]
fn a_key_is_matched_to_its_credential_report_slot_by_creation_time() {
    let rows = report_rows();
    let keys = [
        ListedKey {
            id: ACME_KEY.into(),
            active: true,
            created: Some(at(2026, 6, 1)),
        },
        ListedKey {
            id: "AKIAOTHERKEY00000002".into(),
            active: false,
            created: Some(at(2026, 1, 1)),
        },
    ];
    let facts = key_facts(&keys, rows.first(), at(2026, 12, 1), 90);
    // Sorted by creation; the older key has no slot: its use is unknown,
    // and an inactive key is never over the limit.
    assert_eq!(facts[0].id_hint, "AKIA…0002");
    assert!(!facts[0].used_known && !facts[0].over_limit);
    assert_eq!(facts[1].last_used.as_deref(), Some("2026-11-20"));
    assert!(facts[1].over_limit);
}

#[test]
fn names_from_the_account_are_escaped_in_html() {
    let (d, mut o) = world();
    o.groups
        .get_mut("client-globex")
        .unwrap()
        .inline_policies
        .insert(
            "<script>".into(),
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::acme-assets/<img src=x>"}]}),
        );
    let [_, html, _, _] = outputs(&d, &o);
    assert!(
        !html.contains("<script>") && !html.contains("<img"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;"), "{html}");
}

#[test]
fn the_html_loads_nothing_from_outside() {
    let (d, mut o) = world();
    leak(&mut o);
    for text in outputs(&d, &o) {
        for needle in [
            "http://", "https://", "<script", "<link", "@import", "url(", "src=",
        ] {
            assert!(!text.contains(needle), "{needle} in\n{text}");
        }
    }
}

const ALL_ON: PublicAccessBlock = PublicAccessBlock {
    block_public_acls: true,
    ignore_public_acls: true,
    block_public_policy: true,
    restrict_public_buckets: true,
};

/// A bucket with `policy`, an ACL for its owner alone, Block Public Access
/// on and ownership enforced.
fn bucket(name: &str, policy: Option<serde_json::Value>) -> ObservedBucket {
    ObservedBucket {
        name: name.into(),
        missing: false,
        policy: Ok(policy.map(|p| p.to_string())),
        acl: Part::Read(vec![AclGrant {
            grantee_type: "CanonicalUser".into(),
            grantee: "owner-id".into(),
            permission: "FULL_CONTROL".into(),
            owner: true,
        }]),
        public_access_block: Part::Read(Some(ALL_ON)),
        object_ownership: Ok(Some("BucketOwnerEnforced".into())),
    }
}

/// acme-assets' policy: its own app (no leak), then a statement letting
/// globex's app read, which its identity policies do not allow.
fn let_globex_in() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Own", "Effect": "Allow",
         "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/provision/acme-app")},
         "Action": "s3:*", "Resource": "arn:aws:s3:::acme-assets/*"},
        {"Sid": "LetGlobexRead", "Effect": "Allow",
         "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/provision/globex-app")},
         "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::acme-assets", "arn:aws:s3:::acme-assets/*"]}
    ]})
}

/// Clean buckets: the verdict says the buckets were read, and nothing is
/// red.
#[test]
fn clean_buckets_are_read_and_isolation_holds_on_both_sides() {
    let (d, o) = world();
    let [md, html, overview_md, overview_html] = outputs_with(
        &d,
        &o,
        &[
            bucket("acme-assets", None),
            bucket("acme-assets-staging", None),
        ],
    );
    assert!(
        md.contains("none reaches them. No bucket policy or ACL of its 2 bucket(s) lets in another client, another account or everyone.\n"),
        "{md}"
    );
    assert!(md.contains("## What its buckets let in"), "{md}");
    for text in [&md, &html, &overview_md, &overview_html] {
        assert!(!text.contains("LEAK"), "{text}");
    }
    assert!(overview_md.contains("> **Isolation holds** for every client"));
}

/// The identity side holds, but acme-assets' policy lets globex-app read:
/// the report lists globex-app among those who reach the bucket, with the
/// statement as the reason; the client's verdict is broken, and the
/// overview's cell (globex -> acme) is a leak.
#[test]
fn a_bucket_policy_letting_another_clients_app_in_is_a_leak_with_its_statement() {
    let (d, o) = world();
    let buckets = [
        bucket("acme-assets", Some(let_globex_in())),
        bucket("acme-assets-staging", None),
    ];
    // Without the bucket side, this account is isolated.
    let [clean_md, ..] = outputs(&d, &o);
    assert!(clean_md.contains("> **Isolation holds.**"), "{clean_md}");
    let [md, html, overview_md, overview_html] = outputs_with(&d, &o, &buckets);
    insta::assert_snapshot!("client_bucket_leak_markdown", md);
    insta::assert_snapshot!("overview_bucket_leak_markdown", overview_md);
    assert!(
        md.contains("> **LEAK: isolation is broken.** 1 principal(s) of other clients reach `acme`: `globex-app`. 1 grant(s) in the bucket policies or ACLs of `acme`"),
        "{md}"
    );
    assert!(md.contains("### LEAK: `globex-app`"), "{md}");
    assert!(
        md.contains("- **bucket `acme-assets`:** list, get\n  - bucket policy of `acme-assets`, statement `#2` (`LetGlobexRead`), grants `s3:GetObject`, `s3:ListBucket` to `arn:aws:iam::123456789012:user/provision/globex-app`\n"),
        "{md}"
    );
    assert!(html.contains("<p class=\"verdict broken leak\">"), "{html}");
    assert!(
        html.contains("bucket policy of <code>acme-assets</code>, statement <code>#2</code> (<code>LetGlobexRead</code>)"),
        "{html}"
    );
    assert!(
        overview_md.contains("| `globex` | **LEAK 1** | ✓ 2 |"),
        "{overview_md}"
    );
    assert!(
        overview_md.contains("| `acme` | 2 | 1 | 0 | **LEAK: 1** |")
            || overview_md.contains("**LEAK: 1** |"),
        "{overview_md}"
    );
    assert_eq!(overview_html.matches("<td class=\"leak\"").count(), 1);
    assert!(!overview_html.contains("Isolation holds"));
}

/// A bucket open to everyone and one shared by ACL with another account
/// have no client's row: the overview lists them as red lines, the client
/// report names the grants, and the verdicts are broken. A missing Block
/// Public Access is a warning, as in `verify`.
#[test]
fn grants_to_everyone_or_another_account_are_red_lines_and_warnings_are_shown() {
    let (d, o) = world();
    let public = json!({"Statement": [{"Sid": "Public", "Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-assets/*"}]});
    let mut shared = bucket("acme-assets-staging", None);
    let Part::Read(grants) = &mut shared.acl else {
        unreachable!("the fixture's ACL is read")
    };
    grants.push(AclGrant {
        grantee_type: "CanonicalUser".into(),
        grantee: "stranger-id".into(),
        permission: "READ".into(),
        owner: false,
    });
    shared.public_access_block = Part::Read(None);
    let [md, html, overview_md, overview_html] =
        outputs_with(&d, &o, &[bucket("acme-assets", Some(public)), shared]);
    assert!(md.contains("> **LEAK: isolation is broken.** 2 grant(s) in the bucket policies or ACLs of `acme` let in"), "{md}");
    assert!(md.contains("- **LEAK:** everyone (`*`) is let into bucket `acme-assets` of client `acme` by its bucket policy\n  - bucket policy of `acme-assets`, statement `#1` (`Public`), grants `s3:GetObject` to everyone (`*`)\n"), "{md}");
    assert!(md.contains("ACL of `acme-assets-staging`, grant `#2`, grants READ to another account (canonical user `stranger-id`)"), "{md}");
    assert!(md.contains("- **Warning:** bucket `acme-assets-staging` of client `acme` has no Block Public Access"), "{md}");
    assert!(html.contains("<p class=\"verdict broken leak\">"), "{html}");
    assert!(
        overview_md.contains("> **LEAK: isolation is broken.**"),
        "{overview_md}"
    );
    assert!(
        overview_md.contains("**LEAK: 2 grant(s) to another account or everyone**"),
        "{overview_md}"
    );
    assert!(overview_html.contains("<li><span class=\"leak\">LEAK</span> everyone (<code>*</code>) is let into bucket <code>acme-assets</code>"), "{overview_html}");
    // No principal crosses: the picture has no red cell, the lines do.
    assert_eq!(overview_html.matches("<td class=\"leak\"").count(), 0);
}

/// A bucket whose settings cannot be read may let anyone in: the report
/// cannot say isolation holds (as `verify`), but nothing is drawn as a
/// leak either.
#[test]
fn an_unreadable_bucket_leaves_isolation_unproven_in_the_report() {
    let (d, o) = world();
    let mut denied = bucket("acme-assets", None);
    denied.policy = Err("AccessDenied: Access Denied".into());
    let [md, html, overview_md, overview_html] =
        outputs_with(&d, &o, &[denied, bucket("acme-assets-staging", None)]);
    for text in [&md, &html, &overview_md, &overview_html] {
        assert!(!text.contains("Isolation holds"), "{text}");
        assert!(text.contains("Isolation cannot be proven."), "{text}");
        assert!(!text.contains("LEAK"), "{text}");
    }
    assert!(md.contains("- **Not read:** the settings of bucket `acme-assets` of client `acme`: policy (AccessDenied: Access Denied)"), "{md}");
    assert!(
        overview_md
            .contains("- **Not read:** the settings of bucket `acme-assets` of client `acme`"),
        "{overview_md}"
    );
}

/// A policy attached to a principal whose document could not be read may
/// grant anything: the report, like `verify`, cannot call that isolated.
#[test]
fn an_unreadable_attached_policy_leaves_isolation_unproven_in_the_report() {
    let (d, mut o) = world();
    o.users
        .get_mut("globex-app")
        .unwrap()
        .attached_policies
        .push(format!("arn:aws:iam::{ACCOUNT}:policy/hand-made"));
    let [md, html, overview_md, overview_html] = outputs_with(
        &d,
        &o,
        &[
            bucket("acme-assets", None),
            bucket("acme-assets-staging", None),
        ],
    );
    for text in [&md, &html, &overview_md, &overview_html] {
        assert!(!text.contains("Isolation holds"), "{text}");
        assert!(text.contains("Isolation cannot be proven."), "{text}");
        assert!(
            text.contains("1 attached policy(ies) could not be read: they may grant anything"),
            "{text}"
        );
    }
}
