//! provision's managed policies against the account's policy names.
//!
//! A client whose grant does not fit inline gets the managed policy
//! `provision-s3-<client>` under the managed path. IAM keeps managed policy
//! names unique in the account, whatever their path, so a policy of that
//! name at another path (made by hand, or left over) would make the create
//! fail halfway through an apply. Two configurations cannot both hold the
//! client: its group `client-<client>` is unique in the account too, and a
//! group outside the managed path is refused by [`super::inputs`]. The
//! observation reads provision's own policies only, so the caller reads
//! the account's policies of the names [`new_managed_policies`] gives, only
//! when there are any, and [`policy_name_collisions`] refuses the plan.

use super::{Change, Plan, PlanError};
use crate::model::GROUP_PREFIX;

/// The managed policies `plan` attaches that are not attached yet: their
/// name, and the ARN they get under the managed path.
pub fn new_managed_policies(plan: &Plan) -> Vec<(String, String)> {
    plan.changes
        .iter()
        .filter_map(|change| match change {
            Change::PutManagedPolicy {
                policy_name,
                arn,
                before: None,
                ..
            } => Some((policy_name.clone(), arn.clone())),
            _ => None,
        })
        .collect()
}

/// Why `plan` cannot be applied, given the ARNs of the account's customer
/// managed policies named like one it creates (`existing`): any of them at
/// another ARN than the one planned.
pub fn policy_name_collisions(
    plan: &Plan,
    managed_path: &str,
    existing: &[String],
) -> Vec<PlanError> {
    let mut errors = Vec::new();
    for change in &plan.changes {
        let Change::PutManagedPolicy {
            group,
            policy_name,
            arn,
            before: None,
            ..
        } = change
        else {
            continue;
        };
        let suffix = format!("/{policy_name}");
        for found in existing
            .iter()
            .filter(|e| e.ends_with(&suffix) && *e != arn)
        {
            errors.push(PlanError::PolicyNameTaken {
                client: group.strip_prefix(GROUP_PREFIX).unwrap_or(group).to_owned(),
                name: policy_name.clone(),
                managed_path: managed_path.to_owned(),
                found: found.clone(),
            });
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_of_the_same_name_at_another_path_refuses_the_plan() {
        let arn = "arn:aws:iam::123456789012:policy/provision/provision-s3-acme";
        let plan = Plan {
            changes: vec![Change::PutManagedPolicy {
                group: "client-acme".into(),
                policy_name: "provision-s3-acme".into(),
                path: "/provision/".into(),
                arn: arn.into(),
                before: None,
                after: serde_json::json!({}),
            }],
            ..Plan::default()
        };
        assert_eq!(
            new_managed_policies(&plan),
            [("provision-s3-acme".to_owned(), arn.to_owned())]
        );
        // Its own ARN (an apply cut off before attaching it) is no clash,
        // nor is a name that merely ends alike.
        let fine = [
            arn.to_owned(),
            "arn:aws:iam::123456789012:policy/x-provision-s3-acme".to_owned(),
        ];
        assert!(policy_name_collisions(&plan, "/provision/", &fine).is_empty());
        let elsewhere = ["arn:aws:iam::123456789012:policy/provision-s3-acme".to_owned()];
        let errors = policy_name_collisions(&plan, "/provision/", &elsewhere);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .to_string()
                .contains("already exists at another path (`arn:aws:iam::123456789012:policy/provision-s3-acme`)"),
            "{}",
            errors[0]
        );
    }
}
