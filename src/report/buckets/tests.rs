//! Resource-side tests: literal bucket facts, decided without IO.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::model::{
    Access, AclGrant, Client, Desired, GROUP_POLICY_NAME, MANAGED_TAG_KEY, MANAGED_TAG_VALUE,
    ObservedGroup, ObservedUser, PublicAccessBlock,
};
use crate::policy::document::group_policy;
use crate::report::matrix::matrix;

const ACCOUNT: &str = "123456789012";

fn client(name: &str, buckets: &[&str]) -> Client {
    Client {
        name: name.into(),
        buckets: buckets.iter().map(|b| b.to_string()).collect(),
        bucket_prefixes: vec![],
        access: Access::ReadWrite,
        developers: vec![],
        membership_expires: Default::default(),
        bucket_access: Default::default(),
        apps: Vec::new(),
        app_user: Some(format!("{name}-app")),
        roles: Vec::new(),
        distributions: vec![],
        source: PathBuf::from(format!("clients/{name}.toml")),
    }
}

/// acme and globex as applied, each with its application user.
fn world() -> (Desired, Observed) {
    let mut desired = Desired::default();
    let mut observed = Observed::default();
    for c in [
        client("acme", &["acme-assets"]),
        client("globex", &["globex-data"]),
    ] {
        observed.groups.insert(
            c.group_name(),
            ObservedGroup {
                name: c.group_name(),
                path: "/provision/".into(),
                inline_policies: [(GROUP_POLICY_NAME.to_owned(), group_policy(&c, ACCOUNT))].into(),
                ..ObservedGroup::default()
            },
        );
        let app = format!("{}-app", c.name);
        observed.users.insert(
            app.clone(),
            ObservedUser {
                name: app.clone(),
                path: "/provision/".into(),
                arn: format!("arn:aws:iam::{ACCOUNT}:user/provision/{app}"),
                tags: BTreeMap::from([(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned())]),
                groups: BTreeSet::from([c.group_name()]),
                ..ObservedUser::default()
            },
        );
        desired.clients.insert(c.name.clone(), c);
    }
    (desired, observed)
}

const ALL_ON: PublicAccessBlock = PublicAccessBlock {
    block_public_acls: true,
    ignore_public_acls: true,
    block_public_policy: true,
    restrict_public_buckets: true,
};

fn owner_grant() -> AclGrant {
    AclGrant {
        grantee_type: "CanonicalUser".into(),
        grantee: "owner-id".into(),
        permission: "FULL_CONTROL".into(),
        owner: true,
    }
}

fn bucket(name: &str, policy: Option<Value>) -> ObservedBucket {
    ObservedBucket {
        name: name.into(),
        missing: false,
        policy: Ok(policy.map(|p| p.to_string())),
        acl: Part::Read(vec![owner_grant()]),
        public_access_block: Part::Read(Some(ALL_ON)),
        object_ownership: Ok(Some("BucketOwnerEnforced".into())),
    }
}

fn side(facts: Vec<ObservedBucket>) -> ResourceSide {
    let (desired, observed) = world();
    let m = matrix(&desired, &observed, &BTreeMap::new(), ACCOUNT, None);
    let facts = facts.into_iter().map(|f| (f.name.clone(), f)).collect();
    resource_side(
        &m,
        &observed,
        &BTreeMap::new(),
        &facts,
        ACCOUNT,
        Part::default(),
    )
}

fn allow(principal: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Own", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/provision/acme-app")},
         "Action": "s3:*", "Resource": "arn:aws:s3:::acme-assets/*"},
        {"Sid": "Grant", "Effect": "Allow", "Principal": principal,
         "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::acme-assets", "arn:aws:s3:::acme-assets/*"]}
    ]})
}

#[test]
fn a_clean_bucket_is_isolated_and_the_buckets_to_read_are_the_named_ones() {
    let s = side(vec![
        bucket("acme-assets", None),
        bucket("globex-data", None),
    ]);
    assert!(s.isolated(), "{s:#?}");
    assert_eq!(s.warnings, Vec::<String>::new());
    assert_eq!(s.buckets.len(), 2);
    let (desired, observed) = world();
    let m = matrix(&desired, &observed, &BTreeMap::new(), ACCOUNT, None);
    assert_eq!(
        buckets_to_read(&m, &BTreeSet::new()),
        BTreeSet::from(["acme-assets".to_owned(), "globex-data".to_owned()])
    );
    assert!(!covers_prefixes(&m));
}

/// [`world`] with a third client, initech, owning the prefix `initech-`.
fn world_with_prefix() -> (Desired, Observed) {
    let (mut desired, mut observed) = world();
    let mut c = client("initech", &[]);
    c.bucket_prefixes = vec!["initech-".into()];
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
    (desired, observed)
}

/// A bucket no file names, covered by a client's prefix, is read like a
/// named one (the account's buckets are listed to find it), and a grant in
/// it is that client's leak. Near misses are not read: a name that only
/// starts like the prefix without it (`initech` alone, `initec-x`).
#[test]
fn buckets_a_prefix_covers_are_read_and_judged_as_that_clients() {
    let (desired, observed) = world_with_prefix();
    let m = matrix(&desired, &observed, &BTreeMap::new(), ACCOUNT, None);
    assert!(covers_prefixes(&m));
    let listed: BTreeSet<String> = [
        "initech-prod",
        "initech",
        "initec-x",
        "acme-assets",
        "stray",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(
        buckets_to_read(&m, &listed),
        ["acme-assets", "globex-data", "initech-prod"]
            .map(str::to_owned)
            .into()
    );
    let globex = format!("arn:aws:iam::{ACCOUNT}:user/provision/globex-app");
    // The fixture's policy names acme-assets; this one names initech-prod.
    let policy = allow(json!({"AWS": globex}))
        .to_string()
        .replace("acme-assets", "initech-prod");
    let prod = bucket("initech-prod", Some(serde_json::from_str(&policy).unwrap()));
    let facts: BTreeMap<String, ObservedBucket> = [bucket("acme-assets", None), prod]
        .into_iter()
        .map(|f| (f.name.clone(), f))
        .collect();
    let s = resource_side(
        &m,
        &observed,
        &BTreeMap::new(),
        &facts,
        ACCOUNT,
        Part::default(),
    );
    let owners: Vec<(&str, &str, Option<&str>)> = s
        .buckets
        .iter()
        .map(|b| {
            (
                b.facts.name.as_str(),
                b.client.as_str(),
                b.prefix.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        owners,
        vec![
            ("acme-assets", "acme", None),
            ("initech-prod", "initech", Some("initech-")),
        ]
    );
    // Both of the policy's statements let in another client's app: acme's
    // (the fixture's own statement, here on initech's bucket) and globex's.
    let leaks: Vec<(&str, &str, Option<&str>)> = s
        .leaks
        .iter()
        .map(|l| (l.bucket.as_str(), l.client.as_str(), l.principal.as_deref()))
        .collect();
    assert_eq!(
        leaks,
        vec![
            ("initech-prod", "initech", Some("acme-app")),
            ("initech-prod", "initech", Some("globex-app")),
        ]
    );
}

#[test]
fn a_bucket_policy_grant_to_another_clients_user_is_a_leak_naming_the_statement() {
    let globex = format!("arn:aws:iam::{ACCOUNT}:user/provision/globex-app");
    let s = side(vec![bucket(
        "acme-assets",
        Some(allow(json!({"AWS": globex}))),
    )]);
    assert!(!s.isolated());
    assert_eq!(s.leaks.len(), 1, "{s:#?}");
    let leak = &s.leaks[0];
    assert_eq!(leak.principal.as_deref(), Some("globex-app"));
    assert_eq!((leak.statement, leak.sid.as_deref()), (2, Some("Grant")));
    assert_eq!(leak.source, "bucket policy");
    assert_eq!(leak.client, "acme");
    // The same-account rule: the grant alone lets it list and read.
    assert_eq!(leak.allowed, vec!["s3:ListBucket", "s3:GetObject"]);
}

#[test]
fn grants_to_everyone_another_account_or_a_canonical_user_are_leaks() {
    for principal in [
        json!("*"),
        json!({"AWS": "*"}),
        json!({"AWS": "111111111111"}),
        json!({"AWS": "arn:aws:iam::111111111111:role/r"}),
        json!({"CanonicalUser": "abc"}),
    ] {
        let s = side(vec![bucket("acme-assets", Some(allow(principal.clone())))]);
        assert_eq!(s.leaks.len(), 1, "{principal}: {s:#?}");
        assert_eq!(s.leaks[0].principal, None);
    }
}

#[test]
fn grants_that_stay_inside_the_client_or_the_account_are_not_leaks() {
    for principal in [
        // Its own account: delegates to the identity policies.
        json!({"AWS": ACCOUNT}),
        json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}),
        // A principal of the account that is no client's (an administrator).
        json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:role/admin")}),
        json!({"Service": "cloudfront.amazonaws.com"}),
    ] {
        let s = side(vec![bucket("acme-assets", Some(allow(principal.clone())))]);
        assert!(s.isolated(), "{principal}: {s:#?}");
    }
    // A Deny lets no one in, and an Allow on another bucket is not this one's.
    let deny = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": "arn:aws:s3:::acme-assets/*"}]});
    let elsewhere = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
        "Resource": "arn:aws:s3:::other/*"}]});
    for policy in [deny, elsewhere] {
        assert!(side(vec![bucket("acme-assets", Some(policy))]).isolated());
    }
}

#[test]
fn public_and_foreign_acl_grants_are_leaks_log_delivery_is_not() {
    let mut b = bucket("acme-assets", None);
    let grant = |t: &str, who: &str| AclGrant {
        grantee_type: t.into(),
        grantee: who.into(),
        permission: "READ".into(),
        owner: false,
    };
    b.acl = Part::Read(vec![
        owner_grant(),
        grant("Group", "http://acs.amazonaws.com/groups/global/AllUsers"),
        grant(
            "Group",
            "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
        ),
        grant("Group", "http://acs.amazonaws.com/groups/s3/LogDelivery"),
        grant("CanonicalUser", "someone-else"),
        grant("AmazonCustomerByEmail", "x@example.com"),
    ]);
    let s = side(vec![b]);
    let found: Vec<(usize, &str)> = s
        .leaks
        .iter()
        .map(|l| (l.statement, l.grantee.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                2,
                "everyone (`http://acs.amazonaws.com/groups/global/AllUsers`)"
            ),
            (
                3,
                "everyone (`http://acs.amazonaws.com/groups/global/AuthenticatedUsers`)"
            ),
            (5, "another account (canonical user `someone-else`)"),
            (6, "another account (`x@example.com`)"),
        ]
    );
    assert!(s.leaks.iter().all(|l| l.source == "ACL"));
}

#[test]
fn missing_or_partial_block_public_access_is_a_warning_not_a_leak() {
    let mut none = bucket("acme-assets", None);
    none.public_access_block = Part::Read(None);
    let mut part = bucket("globex-data", None);
    part.public_access_block = Part::Read(Some(PublicAccessBlock {
        restrict_public_buckets: false,
        ..ALL_ON
    }));
    let s = side(vec![none, part]);
    assert!(s.isolated());
    assert_eq!(
        s.warnings,
        vec![
            "bucket `acme-assets` of client `acme` has no Block Public Access: a public policy or ACL could be added to it; turn on all four settings (s3:PutBucketPublicAccessBlock)",
            "bucket `globex-data` of client `globex` has Block Public Access only in part: turn on all four settings (s3:PutBucketPublicAccessBlock)",
        ]
    );
}

const NONE_ON: PublicAccessBlock = PublicAccessBlock {
    block_public_acls: false,
    ignore_public_acls: false,
    block_public_policy: false,
    restrict_public_buckets: false,
};

/// The warnings for acme's bucket with its own settings `own` in an account
/// with `account`'s.
fn block_warnings(
    own: Part<Option<PublicAccessBlock>>,
    account: Part<Option<PublicAccessBlock>>,
) -> Vec<String> {
    let (desired, observed) = world();
    let m = matrix(&desired, &observed, &BTreeMap::new(), ACCOUNT, None);
    let mut b = bucket("acme-assets", None);
    b.public_access_block = own;
    let facts = BTreeMap::from([(b.name.clone(), b)]);
    let s = resource_side(&m, &observed, &BTreeMap::new(), &facts, ACCOUNT, account);
    assert!(s.isolated(), "{s:#?}");
    assert_eq!(s.of_client("acme").warnings, s.warnings);
    s.warnings
}

/// AWS applies the account's Block Public Access OR the bucket's: a bucket
/// without its own in an account with all four on is not exposed, and two
/// halves make a whole; the account's settings alone in part, or unread,
/// leave the warning.
#[test]
fn the_accounts_block_public_access_counts_with_the_buckets_own() {
    let part = |acls: bool| PublicAccessBlock {
        block_public_acls: acls,
        ignore_public_acls: acls,
        block_public_policy: !acls,
        restrict_public_buckets: !acls,
    };
    let none = "bucket `acme-assets` of client `acme` has no Block Public Access: a public policy or ACL could be added to it; turn on all four settings (s3:PutBucketPublicAccessBlock)";
    let in_part = "bucket `acme-assets` of client `acme` has Block Public Access only in part, with the account's settings: turn on all four settings (s3:PutBucketPublicAccessBlock)";
    let read = |b: Option<PublicAccessBlock>| Part::Read(b);
    for (own, account, expected) in [
        (read(None), read(Some(ALL_ON)), vec![]),
        (read(Some(NONE_ON)), read(Some(ALL_ON)), vec![]),
        (Part::NotRead("skipped"), read(Some(ALL_ON)), vec![]),
        (
            Part::Unreadable("AccessDenied".into()),
            read(Some(ALL_ON)),
            vec![],
        ),
        (read(Some(part(true))), read(Some(part(false))), vec![]),
        (read(None), read(None), vec![none]),
        (read(None), read(Some(NONE_ON)), vec![in_part]),
        (
            read(Some(part(true))),
            read(Some(part(true))),
            vec![in_part],
        ),
        (read(None), read(Some(part(true))), vec![in_part]),
    ] {
        let case = format!("{own:?} {account:?}");
        assert_eq!(block_warnings(own, account), expected, "{case}");
    }
    // The account's settings unread: the bucket is judged by its own, and
    // the warning says what could not be read.
    let unread = Part::Unreadable("AccessDenied: Access Denied".into());
    assert_eq!(
        block_warnings(read(Some(ALL_ON)), unread.clone()),
        vec![
            "the account's Block Public Access settings could not be read (AccessDenied: Access Denied): each bucket is judged by its own (s3:GetAccountPublicAccessBlock)"
        ]
    );
    assert_eq!(block_warnings(read(None), unread).len(), 2);
}

/// With ACLs off (`BucketOwnerEnforced`), the ACL is not read and grants
/// nothing: the bucket is isolated and fully read, and the JSON says why
/// the ACL is not listed.
#[test]
fn a_bucket_whose_acls_are_off_is_read_without_its_acl() {
    let mut b = bucket("acme-assets", None);
    b.acl = Part::NotRead("ACLs are disabled");
    let s = side(vec![b.clone()]);
    assert!(s.isolated(), "{s:#?}");
    assert_eq!(s.of_client("acme").read, 1);
    let json = serde_json::to_value(&b).unwrap();
    assert_eq!(json["acl"], json!({"not_read": "ACLs are disabled"}));
    b.acl = Part::Unreadable("AccessDenied".into());
    assert_eq!(
        serde_json::to_value(&b).unwrap()["acl"],
        json!({"error": "AccessDenied"})
    );
}

#[test]
fn an_unreadable_bucket_leaves_isolation_unproven_and_a_missing_one_does_not() {
    let mut denied = bucket("acme-assets", None);
    denied.policy = Err("AccessDenied: Access Denied".into());
    let mut missing = bucket("globex-data", None);
    missing.missing = true;
    missing.policy = Err("NoSuchBucket".into());
    missing.acl = Part::Unreadable("NoSuchBucket".into());
    let s = side(vec![denied, missing]);
    assert!(!s.isolated());
    assert!(s.leaks.is_empty());
    assert_eq!(
        s.unreadable,
        vec![
            "bucket `acme-assets` of client `acme`: policy (AccessDenied: Access Denied); it may belong to another account, or the credentials may not read it (s3:GetBucketPolicy, s3:GetBucketAcl)"
        ]
    );
    let mut broken = bucket("acme-assets", None);
    broken.policy = Ok(Some("not json".into()));
    assert!(!side(vec![broken]).isolated());
}

#[test]
fn a_not_action_grant_is_named_by_what_it_leaves_out() {
    let policy = json!({"Statement": [{"Effect": "Allow", "Principal": "*",
        "NotAction": "s3:DeleteObject", "Resource": "arn:aws:s3:::acme-assets/*"}]});
    let s = side(vec![bucket("acme-assets", Some(policy))]);
    assert_eq!(s.leaks.len(), 1, "{s:#?}");
    assert_eq!(s.leaks[0].grants, "every action except `s3:DeleteObject`");
    assert_eq!(s.leaks[0].grantee, "everyone (`*`)");
}

/// `verify`'s text for this world and these bucket facts.
fn verify_text(facts: Vec<ObservedBucket>) -> String {
    let (desired, observed) = world();
    let m = matrix(&desired, &observed, &BTreeMap::new(), ACCOUNT, None);
    let facts = facts.into_iter().map(|f| (f.name.clone(), f)).collect();
    let s = resource_side(
        &m,
        &observed,
        &BTreeMap::new(),
        &facts,
        ACCOUNT,
        Part::default(),
    );
    let mut out = Vec::new();
    crate::render::verify::text(&m, &s, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The identity side alone holds here, so a verdict printed from the
/// matrix would say "Isolation holds" above the bucket policy's leak: the
/// text has one verdict, and it covers both sides.
#[test]
fn verify_text_says_isolation_is_broken_once_when_only_a_bucket_policy_leaks() {
    let globex = format!("arn:aws:iam::{ACCOUNT}:user/provision/globex-app");
    let text = verify_text(vec![
        bucket("acme-assets", Some(allow(json!({"AWS": globex})))),
        bucket("globex-data", None),
    ]);
    assert!(!text.contains("Isolation holds"), "{text}");
    insta::assert_snapshot!(text, @r"
    Access matrix: 2 principal(s) x 2 resource(s), evaluated from the account's live policies.

    PRINCIPAL   MEMBER OF  RESOURCE            OWNER   ALLOWED
    acme-app    acme       bucket acme-assets  acme    list get put delete
    acme-app    acme       bucket globex-data  globex  -
    globex-app  globex     bucket acme-assets  acme    -
    globex-app  globex     bucket globex-data  globex  list get put delete

    LEAK: `globex-app` is let into bucket `acme-assets` of client `acme` by its bucket policy: s3:ListBucket, s3:GetObject
      - bucket policy of `acme-assets`, statement `#2` (`Grant`), grants `s3:GetObject`, `s3:ListBucket` to `arn:aws:iam::123456789012:user/provision/globex-app`
    Isolation is broken: 1 leak(s): 0 principal/resource pair(s) cross clients through IAM policies, 1 grant(s) in bucket policies or ACLs let in another client, another account or everyone.
    ");
}

#[test]
fn verify_text_holds_for_both_sides_or_cannot_be_proven_for_an_unread_bucket() {
    let clean = verify_text(vec![
        bucket("acme-assets", None),
        bucket("globex-data", None),
    ]);
    assert!(
        clean.ends_with("Isolation holds: no principal reaches a bucket or distribution of a client it does not belong to, and no bucket policy or ACL of the 2 bucket(s) read lets in another client, another account or everyone.\n"),
        "{clean}"
    );
    let mut denied = bucket("acme-assets", None);
    denied.acl = Part::Unreadable("AccessDenied: Access Denied".into());
    let unread = verify_text(vec![denied, bucket("globex-data", None)]);
    assert!(!unread.contains("Isolation holds"), "{unread}");
    assert!(
        unread.ends_with(
            "Isolation cannot be proven: 1 bucket(s) could not be read (see the notes above).\n"
        ),
        "{unread}"
    );
}
