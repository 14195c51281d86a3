use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::model::{MANAGED_TAG_KEY, MANAGED_TAG_VALUE, ObservedGroup, ObservedUser};
use crate::report::audit::KeyUsage;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

/// The seed recipe's group policy for `client`: `s3:*` on `<client>*` and
/// `<client>*/*`, and CloudFront invalidations on `*`.
fn recipe_policy(client: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ClientBuckets",
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": [format!("arn:aws:s3:::{client}*"), format!("arn:aws:s3:::{client}*/*")]
            },
            {
                "Sid": "Invalidate",
                "Effect": "Allow",
                "Action": ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"],
                "Resource": "*"
            }
        ]
    })
}

fn group(name: &str, doc: Value) -> ObservedGroup {
    ObservedGroup {
        name: name.into(),
        path: "/".into(),
        arn: format!("arn:aws:iam::123456789012:group/{name}"),
        inline_policies: BTreeMap::from([("s3-access".to_owned(), doc)]),
        attached_policies: Vec::new(),
    }
}

fn user(name: &str, groups: &[&str]) -> ObservedUser {
    ObservedUser {
        name: name.into(),
        path: "/".into(),
        arn: format!("arn:aws:iam::123456789012:user/{name}"),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..ObservedUser::default()
    }
}

fn person(name: &str, mfa: bool) -> ReportRow {
    ReportRow {
        user: name.into(),
        password_enabled: true,
        mfa_active: mfa,
        keys: Vec::new(),
    }
}

fn app(name: &str, last_used: Option<DateTime<Utc>>) -> ReportRow {
    ReportRow {
        user: name.into(),
        password_enabled: false,
        mfa_active: false,
        keys: vec![KeyUsage {
            slot: 1,
            active: true,
            last_rotated: Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()),
            last_used,
        }],
    }
}

/// The seed recipe (also rendered by `render::import`'s tests): two clients, a developer in both, one without MFA, an
/// app user per client (one never used its key), and a bucket that shares
/// the first client's prefix without being its.
pub(crate) struct Seed {
    observed: Observed,
    buckets: BTreeSet<String>,
    rows: Vec<ReportRow>,
}

pub(crate) fn seed() -> Seed {
    let mut observed = Observed::default();
    for g in [
        group("new-client", recipe_policy("new-client")),
        group("globex", recipe_policy("globex")),
    ] {
        observed.groups.insert(g.name.clone(), g);
    }
    for u in [
        user("alice", &["new-client", "globex"]),
        user("bob", &["new-client"]),
        user("new-client-app", &["new-client"]),
        user("globex-app", &["globex"]),
        user("admin", &["admins"]),
    ] {
        observed.users.insert(u.name.clone(), u);
    }
    let buckets = [
        "new-client-assets",
        "new-client-logs",
        "new-clientele-backups",
        "globex-web",
        "other-data",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let rows = vec![
        person("alice", true),
        person("bob", false),
        app("new-client-app", None),
        app("globex-app", Some(now() - chrono::Duration::days(3))),
        person("admin", true),
    ];
    Seed {
        observed,
        buckets,
        rows,
    }
}

pub(crate) fn run(seed: &Seed) -> Import {
    import(&Inputs {
        account_id: "123456789012",
        path: "/provision/",
        observed: &seed.observed,
        attached: &BTreeMap::new(),
        buckets: &seed.buckets,
        credentials: &seed.rows,
        now: now(),
    })
}

fn names(items: &[ImportedBucket]) -> Vec<&str> {
    items.iter().map(|b| b.name.as_str()).collect()
}

fn of_kind(import: &Import, kind: Kind) -> Vec<&Finding> {
    import.findings.iter().filter(|f| f.kind == kind).collect()
}

#[test]
fn a_wildcard_is_resolved_to_the_clients_own_buckets_and_its_wider_reach_is_a_finding() {
    let out = run(&seed());
    let client = out.clients.iter().find(|c| c.name == "new-client").unwrap();
    assert_eq!(
        names(&client.buckets),
        ["new-client-assets", "new-client-logs"]
    );
    assert!(client.bucket_prefixes.is_empty());
    let reach = of_kind(&out, Kind::WildcardReach);
    assert_eq!(reach.len(), 1, "{reach:#?}");
    assert_eq!(reach[0].subject, "new-client");
    assert_eq!(reach[0].resources, ["new-clientele-backups"]);
    assert!(reach[0].detail.contains("arn:aws:s3:::new-client*"));
}

#[test]
fn cloudfront_on_every_distribution_is_a_finding_and_grants_nothing() {
    let out = run(&seed());
    assert!(out.clients.iter().all(|c| c.distributions.is_empty()));
    let cf = of_kind(&out, Kind::CloudfrontWildcard);
    let subjects: Vec<&str> = cf.iter().map(|f| f.subject.as_str()).collect();
    assert_eq!(subjects, ["globex", "new-client"]);
}

#[test]
fn people_and_app_users_are_told_apart_by_their_credentials() {
    let out = run(&seed());
    let devs: Vec<&str> = out.developers.iter().map(|d| d.name.as_str()).collect();
    // `admin` is in no client group: left alone.
    assert_eq!(devs, ["alice", "bob"]);
    let client = out.clients.iter().find(|c| c.name == "new-client").unwrap();
    assert_eq!(client.developers, ["alice", "bob"]);
    assert_eq!(client.app_user.as_deref(), Some("new-client-app"));
    assert_eq!(client.access, Access::Full);
    assert_eq!(client.access_note, None);
}

#[test]
fn people_findings_name_users_in_several_clients_unused_keys_and_missing_mfa() {
    let out = run(&seed());
    let subjects = |kind| -> Vec<String> {
        of_kind(&out, kind)
            .iter()
            .map(|f| f.subject.clone())
            .collect()
    };
    assert_eq!(subjects(Kind::SeveralClients), ["alice"]);
    assert_eq!(subjects(Kind::UnusedKey), ["new-client-app"]);
    assert_eq!(subjects(Kind::ConsoleWithoutMfa), ["bob"]);
    assert_eq!(subjects(Kind::ReplacedGroup), ["globex", "new-client"]);
}

#[test]
fn importing_twice_gives_the_same_result() {
    assert_eq!(run(&seed()), run(&seed()));
}

#[test]
fn a_bucket_reached_by_two_groups_goes_to_the_most_specific_claim() {
    let mut seed = seed();
    // `new-*` also reaches new-client's buckets, but less specifically.
    seed.observed
        .groups
        .insert("new".into(), group("new", recipe_policy("new")));
    let out = run(&seed);
    let new_client = out.clients.iter().find(|c| c.name == "new-client").unwrap();
    assert_eq!(
        names(&new_client.buckets),
        ["new-client-assets", "new-client-logs"]
    );
    let shared: Vec<&str> = of_kind(&out, Kind::SharedBucket)
        .iter()
        .map(|f| f.subject.as_str())
        .collect();
    assert_eq!(shared, ["new-client-assets", "new-client-logs"]);
    // `new*` keeps what is `new-...` and no one claims more specifically;
    // the buckets it reached and lost are reported.
    let new = out.clients.iter().find(|c| c.name == "new").unwrap();
    assert_eq!(names(&new.buckets), ["new-clientele-backups"]);
    let reach = of_kind(&out, Kind::WildcardReach);
    assert!(
        reach
            .iter()
            .any(|f| f.subject == "new" && f.resources == ["new-client-assets", "new-client-logs"]),
        "{reach:#?}"
    );
}

#[test]
fn access_levels_map_exactly_or_narrow_with_a_note() {
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(access(&set(&["s3:*"])), (Access::Full, None));
    assert_eq!(
        access(&set(&[
            "s3:GetBucketLocation",
            "s3:ListBucket",
            "s3:GetObject",
            "s3:GetObjectVersion"
        ])),
        (Access::ReadOnly, None)
    );
    // `s3:Get*` and `s3:List*` cover read-only, but grant more than it:
    // read-only is kept, with a note.
    let (level, note) = access(&set(&["s3:Get*", "s3:List*"]));
    assert_eq!(level, Access::ReadOnly);
    assert!(note.unwrap().contains("`s3:Get*`"));
    // Only GetObject: no level is covered; read-only, with a note.
    let (level, note) = access(&set(&["s3:GetObject"]));
    assert_eq!(level, Access::ReadOnly);
    assert!(note.is_some());
}

#[test]
fn grants_provision_does_not_write_are_findings() {
    let mut seed = seed();
    seed.observed.groups.insert(
        "globex".into(),
        group(
            "globex",
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::globex-web/*"},
                {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::other-data", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
            ]}),
        ),
    );
    let out = run(&seed);
    let dropped: Vec<&str> = of_kind(&out, Kind::DroppedGrant)
        .iter()
        .map(|f| f.detail.as_str())
        .collect();
    assert_eq!(dropped.len(), 3, "{dropped:#?}");
    assert!(dropped.iter().any(|d| d.contains("`iam:*`")));
    assert!(
        dropped
            .iter()
            .any(|d| d.contains("`s3:ListAllMyBuckets` on `*`"))
    );
    assert!(dropped.iter().any(|d| d.contains("`Condition`")));
    let globex = out.clients.iter().find(|c| c.name == "globex").unwrap();
    assert_eq!(names(&globex.buckets), ["globex-web"]);
}

#[test]
fn a_managed_account_imports_as_its_own_configuration() {
    // What provision itself writes: the group at the managed path with
    // `provision-s3`, users tagged.
    let client = crate::model::Client {
        name: "globex".into(),
        buckets: vec!["globex-web".into()],
        bucket_prefixes: vec!["globex-".into()],
        access: Access::ReadWrite,
        developers: vec!["alice".into()],
        membership_expires: BTreeMap::new(),
        app_user: Some("globex-app".into()),
        distributions: vec!["E2QWRUHAPOMQZL".into()],
        source: Default::default(),
    };
    let doc = crate::policy::document::group_policy(&client, "123456789012");
    let mut g = group("client-globex", doc);
    g.path = "/provision/".into();
    let mut observed = Observed::default();
    observed.groups.insert(g.name.clone(), g);
    let tagged = |name: &str, extra: &[(&str, &str)]| {
        let mut u = user(name, &["client-globex"]);
        u.path = "/provision/".into();
        u.tags
            .insert(MANAGED_TAG_KEY.into(), MANAGED_TAG_VALUE.into());
        for (k, v) in extra {
            u.tags.insert(k.to_string(), v.to_string());
        }
        u
    };
    for u in [
        tagged("alice", &[("email", "alice@example.com")]),
        tagged("globex-app", &[("provision:client", "globex")]),
    ] {
        observed.users.insert(u.name.clone(), u);
    }
    let out = import(&Inputs {
        account_id: "123456789012",
        path: "/provision/",
        observed: &observed,
        attached: &BTreeMap::new(),
        buckets: &BTreeSet::new(),
        credentials: &[],
        now: now(),
    });
    assert_eq!(out.findings, []);
    let c = &out.clients[0];
    assert_eq!(c.name, "globex");
    assert_eq!(names(&c.buckets), ["globex-web"]);
    assert_eq!(names(&c.bucket_prefixes), ["globex-"]);
    assert_eq!((c.access, &c.access_note), (Access::ReadWrite, &None));
    assert_eq!(c.distributions, ["E2QWRUHAPOMQZL"]);
    assert_eq!(c.app_user.as_deref(), Some("globex-app"));
    assert_eq!(
        out.developers[0].email.as_deref(),
        Some("alice@example.com")
    );
}
