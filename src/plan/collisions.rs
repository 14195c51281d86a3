//! Loaded clients against the live grants of clients the files do not
//! declare (SPEC, Guarantee 1, across files): a check of the planner's
//! inputs, made before any change is planned.

use crate::model::{Desired, Observed};
use crate::plan::PlanError;
use crate::policy::isolation::{OwnedScope, Scope, client_scopes, live_clients};

/// How messages name what a live policy grants on CloudFront.
fn describe_distributions(scope: &OwnedScope) -> String {
    match scope {
        OwnedScope::Bucket(id) => format!("distribution `{id}`"),
        OwnedScope::Prefix(p) if p.is_empty() => "every distribution (`*`)".to_owned(),
        OwnedScope::Prefix(p) => format!("every distribution whose id starts with `{p}`"),
    }
}

/// Loaded clients whose buckets or prefixes reach what the managed group of
/// another client grants in the account, when that client is not in the
/// loaded files (SPEC, Guarantee 1, across files): applying only
/// `clients/acme.toml` must still refuse a prefix that reaches a bucket of a
/// client that lives only in the account.
///
/// What the other client owns is read by [`live_clients`], the one reading
/// `verify` shares: its group's inline policies and its own managed policy
/// `provision-s3-<client>`. CloudFront distributions are compared the same
/// way: a distribution the other client's group may invalidate is that
/// client's. Clients of context files count as live here: their files were
/// checked against the loaded ones, but their groups may still grant what
/// the files no longer say (a bucket moved away, not yet applied).
pub fn live_collisions(desired: &Desired, observed: &Observed) -> Vec<PlanError> {
    // Given a whole directory, every managed client group the files do not
    // declare is deleted by the same plan, in its first phase, before any
    // group is granted more: nothing live is left to collide with. This is
    // what lets a client be renamed, or a removed client's bucket be given
    // to another, in one apply.
    if desired.authoritative {
        return Vec::new();
    }
    let mut errors = Vec::new();
    let live = live_clients(observed, &desired.settings.path, |c| {
        desired.clients.contains_key(c)
    });
    for other in &live {
        for client in desired.clients.values() {
            let location = |name: &str| {
                desired
                    .locations
                    .get(&(client.name.clone(), name.to_owned()))
                    .map_or_else(|| client.source.display().to_string(), ToString::to_string)
            };
            for scope in client_scopes(client) {
                for theirs in &other.buckets {
                    if !scope.reaches(theirs.as_scope()) {
                        continue;
                    }
                    errors.push(PlanError::LiveCollision {
                        client: client.name.clone(),
                        scope: scope.describe(),
                        location: location(scope.name()),
                        other_client: other.name.to_owned(),
                        other_scope: theirs.as_scope().describe(),
                    });
                }
            }
            for id in &client.distributions {
                for theirs in &other.distributions {
                    if !Scope::Bucket(id).reaches(theirs.as_scope()) {
                        continue;
                    }
                    errors.push(PlanError::LiveDistributionCollision {
                        client: client.name.clone(),
                        distribution: id.clone(),
                        location: location(id),
                        other_client: other.name.to_owned(),
                        other_scope: describe_distributions(theirs),
                    });
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::model::{Access, Client, ObservedGroup};

    /// The account after applying a client `name` with these scopes, as a
    /// managed group with its generated policy.
    fn live_client(name: &str, buckets: &[&str], prefixes: &[&str]) -> Observed {
        let client = Client {
            name: name.into(),
            buckets: buckets.iter().map(|b| b.to_string()).collect(),
            bucket_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            access: Access::ReadWrite,
            developers: vec![],
            membership_expires: Default::default(),
            bucket_access: Default::default(),
            apps: Vec::new(),
            app_user: None,
            roles: Vec::new(),
            distributions: vec![],
            source: PathBuf::from("elsewhere.toml"),
        };
        let mut o = Observed::default();
        o.groups.insert(
            client.group_name(),
            ObservedGroup {
                name: client.group_name(),
                path: "/provision/".into(),
                inline_policies: [(
                    crate::model::GROUP_POLICY_NAME.to_owned(),
                    crate::policy::document::group_policy(&client, "123456789012"),
                )]
                .into(),
                ..ObservedGroup::default()
            },
        );
        o
    }

    fn load(text: &str) -> Desired {
        crate::config::load_sources(
            vec![(PathBuf::from("clients/acme.toml"), text.into())],
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn messages(desired: &Desired, observed: &Observed) -> String {
        live_collisions(desired, observed)
            .iter()
            .map(|e| format!("{e}\n"))
            .collect()
    }

    #[test]
    fn a_loaded_prefix_reaching_a_live_clients_bucket_is_refused() {
        let acme = load("[[clients]]\nname = \"acme\"\nbucket_prefixes = [\"acme\"]\n");
        let live = live_client("acmecorp", &["acmecorp-data"], &[]);
        insta::assert_snapshot!(messages(&acme, &live));
        // The planner refuses the same way, before any change.
        let errors = crate::plan::plan(&acme, &live, "123456789012").unwrap_err();
        assert!(
            matches!(&errors[0], PlanError::LiveCollision { other_client, .. } if other_client == "acmecorp")
        );
    }

    /// A live client whose grants did not fit inline keeps them in its
    /// managed policy `provision-s3-<client>`: they must count too.
    #[test]
    fn a_live_clients_managed_policy_counts_for_collisions() {
        let acme = load("[[clients]]\nname = \"acme\"\nbucket_prefixes = [\"acme\"]\n");
        let mut live = live_client("acmecorp", &["acmecorp-data"], &[]);
        let group = live.groups.get_mut("client-acmecorp").unwrap();
        let doc = group
            .inline_policies
            .remove(crate::model::GROUP_POLICY_NAME)
            .unwrap();
        let arn = "arn:aws:iam::123456789012:policy/provision/provision-s3-acmecorp".to_owned();
        group.attached_policies.push(arn.clone());
        live.managed_policies.insert(arn, doc);
        let errors = live_collisions(&acme, &live);
        assert!(
            matches!(&errors[..], [PlanError::LiveCollision { other_client, .. }] if other_client == "acmecorp"),
            "{errors:?}"
        );
    }

    #[test]
    fn live_collisions_cover_prefixes_and_shared_buckets() {
        let acme = load(
            "[[clients]]\nname = \"acme\"\nbuckets = [\"shared-assets\"]\nbucket_prefixes = [\"acme-\"]\n",
        );
        let live = live_client("acme-corp", &["shared-assets"], &["acme-corp-"]);
        insta::assert_snapshot!(messages(&acme, &live));
    }

    #[test]
    fn live_clients_that_do_not_overlap_or_are_loaded_are_fine() {
        let acme = load("[[clients]]\nname = \"acme\"\nbucket_prefixes = [\"acme-\"]\n");
        // `acmecorp-` does not start with `acme-`, nor the reverse.
        assert_eq!(
            messages(&acme, &live_client("acmecorp", &[], &["acmecorp-"])),
            ""
        );
        // The loaded client's own group is compared with the file, not with itself.
        assert_eq!(messages(&acme, &live_client("acme", &[], &["acme"])), "");
        // A group outside the managed path is not a client.
        let mut outside = live_client("acmecorp", &["acme-data"], &[]);
        outside
            .groups
            .values_mut()
            .for_each(|g| g.path = "/".into());
        assert_eq!(messages(&acme, &outside), "");
    }

    /// A distribution another client's group may invalidate in the account
    /// is that client's: listing it in a loaded client is refused, as
    /// `verify` would report the pair as a leak once applied.
    #[test]
    fn a_live_clients_distribution_is_refused_at_plan_time() {
        let acme = load(
            "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-x\"]\n[clients.cloudfront]\ndistributions = [\"E2QWRUHAPOMQZL\"]\n",
        );
        let mut live = live_client("globex", &["globex-x"], &[]);
        let group = live.groups.get_mut("client-globex").unwrap();
        let mut globex = Client {
            name: "globex".into(),
            buckets: vec!["globex-x".into()],
            bucket_prefixes: vec![],
            access: Access::ReadOnly,
            developers: vec![],
            membership_expires: Default::default(),
            bucket_access: Default::default(),
            apps: Vec::new(),
            app_user: None,
            roles: Vec::new(),
            distributions: vec!["E2QWRUHAPOMQZL".into()],
            source: PathBuf::from("elsewhere.toml"),
        };
        group.inline_policies.insert(
            crate::model::GROUP_POLICY_NAME.to_owned(),
            crate::policy::document::group_policy(&globex, "123456789012"),
        );
        insta::assert_snapshot!(messages(&acme, &live));
        let errors = crate::plan::plan(&acme, &live, "123456789012").unwrap_err();
        assert!(
            matches!(&errors[..], [PlanError::LiveDistributionCollision { other_client, .. }] if other_client == "globex"),
            "{errors:?}"
        );
        // Another distribution is fine.
        globex.distributions = vec!["E1OTHERDISTRIB".into()];
        let group = live.groups.get_mut("client-globex").unwrap();
        group.inline_policies.insert(
            crate::model::GROUP_POLICY_NAME.to_owned(),
            crate::policy::document::group_policy(&globex, "123456789012"),
        );
        assert_eq!(messages(&acme, &live), "");
    }
}
