use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::model::{
    MANAGED_TAG_KEY, MANAGED_TAG_VALUE, ObservedDistribution, ObservedGroup, ObservedUser,
};
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
    distributions: Distributions,
}

fn distribution(
    id: &str,
    aliases: &[&str],
    comment: &str,
    origins: &[&str],
) -> ObservedDistribution {
    ObservedDistribution {
        id: id.into(),
        domain_name: format!("{}.cloudfront.net", id.to_ascii_lowercase()),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        comment: comment.into(),
        origins: origins.iter().map(|o| o.to_string()).collect(),
    }
}

/// The seed account's distributions: one serving only `new-client`'s
/// bucket, one serving a bucket of each client, one serving a bucket of no
/// client, and one in front of a server.
fn seed_distributions() -> Vec<ObservedDistribution> {
    vec![
        distribution(
            "E1NEWCLIENT001",
            &["cdn.new-client.example"],
            "new-client site",
            &["new-client-assets.s3.us-east-1.amazonaws.com"],
        ),
        distribution(
            "E2SHARED000002",
            &[],
            "both",
            &[
                "globex-web.s3.amazonaws.com",
                "new-client-logs.s3.amazonaws.com",
            ],
        ),
        distribution(
            "E3OTHER0000003",
            &[],
            "",
            &["other-data.s3-website-eu-west-1.amazonaws.com"],
        ),
        distribution("E4API00000004", &[], "api", &["api.example.com"]),
    ]
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
        distributions: Distributions::Listed(seed_distributions()),
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
        distributions: &seed.distributions,
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

/// The account's distributions are listed in the finding, and only the one
/// whose every S3 origin is the client's bucket is suggested to it: as a
/// suggestion, never as a grant. The one that also serves `globex` goes to
/// neither client.
#[test]
fn cloudfront_on_star_lists_the_distributions_and_suggests_only_the_clients_own() {
    let out = run(&seed());
    let new_client = out.clients.iter().find(|c| c.name == "new-client").unwrap();
    let globex = out.clients.iter().find(|c| c.name == "globex").unwrap();
    assert_eq!(new_client.suggested_distributions, ["E1NEWCLIENT001"]);
    assert!(globex.suggested_distributions.is_empty());
    assert!(out.clients.iter().all(|c| c.distributions.is_empty()));

    let cf = of_kind(&out, Kind::CloudfrontWildcard);
    let finding = cf.iter().find(|f| f.subject == "new-client").unwrap();
    for id in [
        "E1NEWCLIENT001",
        "E2SHARED000002",
        "E3OTHER0000003",
        "E4API00000004",
    ] {
        assert!(
            finding.detail.contains(&format!("`{id}`")),
            "{}",
            finding.detail
        );
    }
    assert!(
        finding.detail.contains(
            "`E1NEWCLIENT001` serves only buckets of client `new-client`: its file suggests it under `[clients.cloudfront]`, commented out"
        ),
        "{}",
        finding.detail
    );
    assert!(finding.detail.contains("aliases `cdn.new-client.example`"));
    assert!(finding.detail.contains("comment \"new-client site\""));
    assert!(finding.detail.contains("S3 origin `new-client-assets`"));
    let seen = finding.distributions.as_ref().unwrap();
    assert_eq!(seen.suggested, ["E1NEWCLIENT001"]);
    let shared = seen
        .listed
        .iter()
        .find(|d| d.id == "E2SHARED000002")
        .unwrap();
    assert_eq!(shared.clients, ["globex", "new-client"]);
    assert_eq!(shared.origin_buckets, ["globex-web", "new-client-logs"]);
    let other = seen
        .listed
        .iter()
        .find(|d| d.id == "E3OTHER0000003")
        .unwrap();
    assert_eq!(other.origin_buckets, ["other-data"]);
    assert!(other.clients.is_empty());

    let globex_finding = cf.iter().find(|f| f.subject == "globex").unwrap();
    assert!(
        globex_finding
            .detail
            .contains("none serves only buckets of client `globex`"),
        "{}",
        globex_finding.detail
    );
}

/// A distribution another client's group names, or one the client's group
/// names already, is never suggested; a client whose group does not grant
/// CloudFront on `*` gets no suggestion at all.
#[test]
fn a_distribution_named_by_a_group_is_not_suggested_again() {
    let mut seed = seed();
    let named = json!({"Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::globex-web", "arn:aws:s3:::globex-web/*"]},
        {"Effect": "Allow", "Action": "cloudfront:CreateInvalidation",
         "Resource": "arn:aws:cloudfront::123456789012:distribution/E1NEWCLIENT001"}
    ]});
    seed.observed
        .groups
        .insert("globex".into(), group("globex", named));
    let out = run(&seed);
    let globex = out.clients.iter().find(|c| c.name == "globex").unwrap();
    assert_eq!(globex.distributions, ["E1NEWCLIENT001"]);
    assert!(globex.suggested_distributions.is_empty());
    let new_client = out.clients.iter().find(|c| c.name == "new-client").unwrap();
    assert!(
        new_client.suggested_distributions.is_empty(),
        "{new_client:#?}"
    );
}

/// When the distributions cannot be listed, the finding says so and why,
/// and the rest of the import is what it would be without them.
#[test]
fn distributions_that_cannot_be_listed_are_told_in_the_finding() {
    let mut seed = seed();
    seed.distributions = Distributions::Unreadable(
        "could not list the account's distributions (cloudfront:ListDistributions): AccessDenied: not\nallowed".into(),
    );
    let out = run(&seed);
    let cf = of_kind(&out, Kind::CloudfrontWildcard);
    assert_eq!(cf.len(), 2);
    for f in cf {
        assert!(
            f.detail.contains("import could not list the account's distributions (cloudfront:ListDistributions): AccessDenied: not allowed, so none is suggested"),
            "{}",
            f.detail
        );
        assert!(!f.detail.contains('\n'));
        let seen = f.distributions.as_ref().unwrap();
        assert!(seen.error.is_some() && seen.listed.is_empty() && seen.suggested.is_empty());
    }
    assert!(
        out.clients
            .iter()
            .all(|c| c.suggested_distributions.is_empty())
    );
    seed.distributions = Distributions::NotRead;
    let without = run(&seed);
    assert_eq!(out.clients, without.clients);
    assert_eq!(out.developers, without.developers);
}

#[test]
fn origin_buckets_are_read_from_s3_endpoints_only() {
    for (domain, bucket) in [
        ("acme-assets.s3.amazonaws.com", Some("acme-assets")),
        (
            "acme-assets.s3.eu-west-1.amazonaws.com",
            Some("acme-assets"),
        ),
        ("Acme-Assets.S3.AMAZONAWS.COM.", Some("acme-assets")),
        (
            "acme-assets.s3-website-us-east-1.amazonaws.com",
            Some("acme-assets"),
        ),
        (
            "acme-assets.s3-website.eu-west-1.amazonaws.com",
            Some("acme-assets"),
        ),
        (
            "acme-assets.s3.dualstack.us-east-1.amazonaws.com",
            Some("acme-assets"),
        ),
        ("logs.s3.backup.s3.amazonaws.com", Some("logs.s3.backup")),
        ("data.s3.cn-north-1.amazonaws.com.cn", Some("data")),
        (
            "acme-123456789012.s3-accesspoint.us-east-1.amazonaws.com",
            None,
        ),
        ("acme.s3x.amazonaws.com", None),
        ("s3.amazonaws.com", None),
        ("acme-assets.s3.amazonaws.com.example.org", None),
        ("api.example.com", None),
        ("elb-1.us-east-1.elb.amazonaws.com", None),
    ] {
        assert_eq!(origin_bucket(domain).as_deref(), bucket, "{domain}");
    }
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
        bucket_access: Default::default(),
        apps: Vec::new(),
        app_user: Some("globex-app".into()),
        roles: Vec::new(),
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
        distributions: &Distributions::NotRead,
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
