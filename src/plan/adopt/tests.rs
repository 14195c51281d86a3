//! Adoption tests on the seed recipe's account, in memory: what the plan
//! says, that nothing is adopted unless named, and that no moment of the
//! adopting apply lets a user do more than before or than the files grant.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Value, json};

use super::super::tests::{json as json_text, names, simulate, states_after_each_phase, text};
use crate::model::{
    ACCESS_KEY_TAG_KEY, Access, Client, Desired, Developer, Observed, ObservedGroup, ObservedUser,
    Settings,
};
use crate::plan::{Change, PlanError, PlanOptions, plan_with};

const ACCOUNT: &str = "123456789012";

/// The seed recipe's wildcard policy for a client named `name`.
fn wildcard(name: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*",
             "Resource": [format!("arn:aws:s3:::{name}*"), format!("arn:aws:s3:::{name}*/*")]},
            {"Effect": "Allow", "Action": ["cloudfront:CreateInvalidation"], "Resource": "*"}
        ]
    })
}

fn client(name: &str, buckets: &[&str], devs: &[&str]) -> Client {
    Client {
        name: name.into(),
        buckets: buckets.iter().map(|b| b.to_string()).collect(),
        bucket_prefixes: vec![],
        access: Access::Full,
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

/// What import writes for the seed, plus a bucket (`nc-logs`) the old
/// wildcard never reached, so that "more than before" can be seen.
fn desired() -> Desired {
    let mut d = Desired {
        settings: Settings::default(),
        authoritative: true,
        ..Desired::default()
    };
    for name in ["alice", "bob"] {
        d.developers.insert(
            name.into(),
            Developer {
                name: name.into(),
                email: None,
                expires: None,
                disabled: false,
            },
        );
    }
    d.clients.insert(
        "new-client".into(),
        client(
            "new-client",
            &["new-client-assets", "nc-logs"],
            &["alice", "bob"],
        ),
    );
    d.clients.insert(
        "globex".into(),
        client("globex", &["globex-web"], &["alice"]),
    );
    d
}

fn user(name: &str, groups: &[&str], keys: Option<&[&str]>) -> ObservedUser {
    ObservedUser {
        name: name.into(),
        path: "/".into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        access_keys: keys.map(|k| k.iter().map(|k| k.to_string()).collect()),
        ..ObservedUser::default()
    }
}

/// The seed recipe's account: groups `new-client` and `globex` at `/` with
/// the wildcard policies, the people and app users in them; alice also
/// holds a policy of her own and a stale-looking key record tag.
fn seed() -> Observed {
    let mut o = Observed::default();
    for g in ["new-client", "globex"] {
        o.groups.insert(
            g.into(),
            ObservedGroup {
                name: g.into(),
                path: "/".into(),
                inline_policies: [(format!("{g}-access"), wildcard(g))].into(),
                ..ObservedGroup::default()
            },
        );
    }
    let mut alice = user("alice", &["new-client", "globex"], None);
    alice
        .inline_policies
        .insert("alice-extra".into(), wildcard("globex-secret"));
    for u in [
        alice,
        user("bob", &["new-client"], None),
        user(
            "new-client-app",
            &["new-client"],
            Some(&["AKIAOLDNEWCLIENT"]),
        ),
        user("globex-app", &["globex"], Some(&["AKIAOLDGLOBEX"])),
    ] {
        o.users.insert(u.name.clone(), u);
    }
    // A record tag put on by hand must not spare the old key.
    o.users
        .get_mut("globex-app")
        .unwrap()
        .tags
        .insert(ACCESS_KEY_TAG_KEY.into(), "AKIAOLDGLOBEX".into());
    o
}

fn adopting(names: &[&str]) -> PlanOptions {
    PlanOptions {
        adopt: names.iter().map(|n| n.to_string()).collect(),
        ..PlanOptions::default()
    }
}

const EVERYTHING: &[&str] = &[
    "alice",
    "bob",
    "new-client-app",
    "globex-app",
    "new-client",
    "globex",
];

/// The buckets (of a fixed probe set) `user` may read an object of in `o`,
/// through its groups' and its own policies.
fn reach(o: &Observed, user: &str) -> BTreeSet<&'static str> {
    let u = &o.users[user];
    let docs: Vec<&Value> = u
        .groups
        .iter()
        .filter_map(|g| o.groups.get(g))
        .flat_map(|g| g.inline_policies.values())
        .chain(u.inline_policies.values())
        .collect();
    [
        "new-client-assets",
        "new-clientele-backups",
        "nc-logs",
        "globex-web",
        "globex-secret-data",
    ]
    .into_iter()
    .filter(|b| {
        crate::policy::evaluate::is_allowed(&docs, "s3:GetObject", &format!("arn:aws:s3:::{b}/k"))
    })
    .collect()
}

#[test]
fn the_seed_recipes_adoption_plan_shows_each_takeover_and_every_grant_it_removes() {
    let p = plan_with(&desired(), &seed(), ACCOUNT, &adopting(EVERYTHING)).unwrap();
    insta::assert_snapshot!(text(&p));
    let json: Value = serde_json::from_str(&json_text(&p)).unwrap();
    let alice = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "user" && c["name"] == "alice")
        .unwrap();
    assert_eq!(alice["before"]["path"], "/");
    assert_eq!(alice["after"]["path"], "/provision/");
    assert_eq!(alice["after"]["adopted"], true);
    // The old keys are replaced, the hand-made record tag notwithstanding.
    let keys: BTreeMap<String, Vec<String>> = p
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateAccessKey { user, orphans } => Some((user.clone(), orphans.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(keys["globex-app"], ["AKIAOLDGLOBEX"]);
    assert_eq!(keys["new-client-app"], ["AKIAOLDNEWCLIENT"]);
}

#[test]
fn adoption_converges_and_the_same_names_plan_nothing_afterwards() {
    let d = desired();
    let options = adopting(EVERYTHING);
    let p = plan_with(&d, &seed(), ACCOUNT, &options).unwrap();
    let after = simulate(&seed(), &p);
    let again = plan_with(&d, &after, ACCOUNT, &options).unwrap();
    assert!(again.changes.is_empty(), "{:?}", names(&again));
    // The deleted groups are named in a warning, not an error: a retried
    // command with the same names must go through.
    assert!(
        again
            .warnings
            .iter()
            .any(|w| w.contains("`--adopt globex`")),
        "{:?}",
        again.warnings
    );
    // Without the names, the adopted account is simply managed.
    let plain = plan_with(&d, &after, ACCOUNT, &PlanOptions::default()).unwrap();
    assert!(plain.changes.is_empty(), "{:?}", names(&plain));
    assert_eq!(
        reach(&after, "alice"),
        ["globex-web", "nc-logs", "new-client-assets"].into()
    );
    assert_eq!(reach(&after, "globex-app"), ["globex-web"].into());
}

/// At every moment an adopting apply can stop at (after each phase, the
/// next one failing), each user reaches no more than it did before, or no
/// more than the files grant: never the old wildcard's reach and the new
/// grants together.
#[test]
fn no_moment_of_an_adoption_lets_a_user_do_more_than_before_or_than_the_files_grant() {
    let (d, o) = (desired(), seed());
    let p = plan_with(&d, &o, ACCOUNT, &adopting(EVERYTHING)).unwrap();
    let end = simulate(&o, &p);
    for (i, state) in states_after_each_phase(&o, &p).iter().enumerate() {
        for user in ["alice", "bob", "new-client-app", "globex-app"] {
            let now = reach(state, user);
            assert!(
                now.is_subset(&reach(&o, user)) || now.is_subset(&reach(&end, user)),
                "after phase {i}, `{user}` reaches {now:?}"
            );
        }
    }
    // The guard is not vacuous: alice reached more before than the files
    // grant, and the files grant her something she did not reach.
    assert!(reach(&o, "alice").contains("new-clientele-backups"));
    assert!(!reach(&o, "alice").contains("nc-logs"));
}

#[test]
fn nothing_is_adopted_unless_named() {
    let errors = plan_with(&desired(), &seed(), ACCOUNT, &adopting(&["alice"])).unwrap_err();
    let refused: BTreeSet<String> = errors
        .iter()
        .filter_map(|e| match e {
            PlanError::UnmanagedUser { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        refused,
        ["bob", "globex-app", "new-client-app"]
            .map(String::from)
            .into()
    );
    // Adopting every user but no group: the hand-made groups stay, with
    // their grants, and only the adopted users leave them.
    let p = plan_with(
        &desired(),
        &seed(),
        ACCOUNT,
        &adopting(&["alice", "bob", "new-client-app", "globex-app"]),
    )
    .unwrap();
    assert!(
        !p.changes
            .iter()
            .any(|c| matches!(c, Change::DeleteGroup { .. })),
        "{:?}",
        names(&p)
    );
    assert!(names(&p).contains(&"- membership new-client/bob".to_owned()));
}

#[test]
fn names_that_cannot_be_adopted_are_refused_with_the_reason() {
    let mut o = seed();
    // Another configuration's user, nested under the managed path.
    let mut other = user("carol", &[], None);
    other.path = "/provision/team-b/".into();
    other.tags.insert("managed-by".into(), "provision".into());
    o.users.insert("carol".into(), other);
    // A group that is no client's, and one that is almost a client's.
    for g in ["admins", "client-new-clientele"] {
        o.groups.insert(
            g.into(),
            ObservedGroup {
                name: g.into(),
                path: "/".into(),
                ..ObservedGroup::default()
            },
        );
    }
    // A hand-made user the files do not declare.
    o.users
        .insert("mallory".into(), user("mallory", &["new-client"], None));
    let mut names_given: Vec<&str> = EVERYTHING.to_vec();
    names_given.extend(["carol", "admins", "client-new-clientele", "mallory"]);
    let mut d = desired();
    d.developers.insert(
        "carol".into(),
        Developer {
            name: "carol".into(),
            email: None,
            expires: None,
            disabled: false,
        },
    );
    let errors = plan_with(&d, &o, ACCOUNT, &adopting(&names_given)).unwrap_err();
    let text: String = errors.iter().map(|e| format!("{e}\n")).collect();
    insta::assert_snapshot!(text);
}

#[test]
fn a_hand_made_group_with_a_client_groups_name_is_moved_and_made_provisions() {
    let mut o = seed();
    let mut g = o.groups.remove("globex").unwrap();
    g.name = "client-globex".into();
    o.groups.insert(g.name.clone(), g);
    for u in o.users.values_mut() {
        if u.groups.remove("globex") {
            u.groups.insert("client-globex".into());
        }
    }
    let d = desired();
    let options = adopting(&[
        "alice",
        "bob",
        "new-client-app",
        "globex-app",
        "client-globex",
    ]);
    let p = plan_with(&d, &o, ACCOUNT, &options).unwrap();
    let shown = names(&p);
    assert!(
        shown.contains(&"~ group client-globex".to_owned()),
        "{shown:?}"
    );
    assert!(
        shown.contains(&"- group-policy client-globex/globex-access".to_owned()),
        "{shown:?}"
    );
    assert!(!shown.iter().any(|n| n.starts_with("+ group client-globex")));
    // Alice and globex-app stay members: the group is kept, not replaced.
    assert!(
        !shown
            .iter()
            .any(|n| n.contains("membership client-globex/"))
    );
    let after = simulate(&o, &p);
    assert!(
        plan_with(&d, &after, ACCOUNT, &options)
            .unwrap()
            .changes
            .is_empty()
    );
    assert_eq!(reach(&after, "globex-app"), ["globex-web"].into());
}
