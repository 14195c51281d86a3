//! The planner: a pure function of (desired, observed) to an ordered list of
//! changes. No IO happens here, so every decision about ownership, scope and
//! ordering is tested with plain values.
//!
//! [`plan_with`] checks its inputs, then runs one named step per job, each
//! in its own file: [`expiry`], [`inputs`], [`users`], [`groups`] (with
//! [`grants`] for where a grant lives), [`strays`], [`buckets`] (managed
//! buckets), then [`order`]. Saved
//! plans, which carry a plan from review to apply, are in [`saved`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use crate::model::{App, Client, Desired, Observed};
use crate::policy::lint::Drift;

mod adopt;
mod apps;
mod bucket_policy;
pub mod buckets;
mod change;
mod collisions;
mod error;
pub mod expiry;
mod grants;
mod groups;
mod inputs;
mod policy_names;
mod quotas;
mod roles;
pub mod saved;
mod strays;
mod users;

pub use change::{Action, Change, Kind};
pub use error::PlanError;
pub use policy_names::{new_managed_policies, policy_name_collisions};
pub use quotas::check_quotas;
pub use strays::unmanaged_group_warning;

use users::Role;

/// The result of planning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Changes in execution order (by phase, then by kind and name).
    pub changes: Vec<Change>,
    /// Things a reviewer should know that do not block the plan.
    pub warnings: Vec<String>,
    /// Hand edits on managed groups that widen access; apply reverts them.
    pub drift: Vec<Drift>,
    /// Managed clients that live in the account but not in the given files,
    /// left alone because the files given are not the whole configuration.
    pub out_of_scope: Vec<String>,
}

/// Counts of changes by action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action() {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to create, {} to update, {} to delete",
            self.create, self.update, self.delete
        )
    }
}

/// Choices that shape a plan beyond the files and the account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanOptions {
    /// Remove the permissions boundary of managed users when
    /// `settings.permissions_boundary` is not set (`--remove-boundaries`).
    /// Without it such users keep their boundary and the plan warns: taking
    /// a boundary off widens what a user may do, so it is never implied by a
    /// setting that is merely absent.
    pub remove_boundaries: bool,
    /// The configured boundary's policy document, normalized, when it could
    /// be read; the plan then warns about clients whose grants it does not
    /// allow (see [`crate::policy::boundary::coverage_warnings`]).
    pub boundary_document: Option<Value>,
    /// The local date expiry is decided on (see [`expiry`]): a person's
    /// last day is the one written in the file, where the file is reviewed.
    /// `None` plans the configuration as written.
    pub today: Option<NaiveDate>,
    /// Users and groups made by hand that this plan takes over
    /// (`--adopt NAME`, see [`adopt`]). Anything not named here that
    /// provision did not make stays refused (SPEC, Ownership).
    pub adopt: BTreeSet<String>,
}

/// Compute the changes that take `observed` to `desired`, with the default
/// [`PlanOptions`].
///
/// `account_id` is the account the CloudFront ARNs in group policies name.
pub fn plan(
    desired: &Desired,
    observed: &Observed,
    account_id: &str,
) -> Result<Plan, Vec<PlanError>> {
    plan_with(desired, observed, account_id, &PlanOptions::default())
}

/// Compute the changes that take `observed` to `desired` (see [`plan`]).
///
/// Each step is a function of its own, in the order they run:
///
/// 1. [`expiry`]: with [`PlanOptions::today`], expired developers and
///    memberships leave the configuration, as if their lines were deleted;
///    then [`adopt`]: what `--adopt` names is taken over.
/// 2. [`inputs::check`]: every reason the plan cannot be made (names held
///    by others, case clashes, collisions with live clients, quotas), all
///    at once; nothing is planned while any exists.
/// 3. [`users::plan_users`]: create the users the configuration asks for,
///    bring their tags and boundaries up to date, give application users
///    their key.
/// 4. [`groups::plan_groups`]: create each client's group, bring its grant
///    (narrowing first), its policies and its members up to date.
/// 5. [`strays`]: managed groups and users the configuration no longer
///    asks for, policies put on managed users by hand, and managed users
///    in groups provision does not manage (warned, never removed).
/// 6. [`buckets`]: with `manage_buckets`, create missing buckets, bring
///    drifted settings back, and warn about buckets left behind (never
///    deleted).
/// 7. [`bucket_policy`]: with the bucket-policy layer set, provision's
///    statements in each client bucket's policy (checked before anything
///    is planned: a policy that would lock out the caller is refused).
/// 7. [`order`]: by phase, then kind and name.
pub fn plan_with(
    desired: &Desired,
    observed: &Observed,
    account_id: &str,
    options: &PlanOptions,
) -> Result<Plan, Vec<PlanError>> {
    let (expired, warnings) = match options.today {
        Some(today) => {
            let (desired, warnings) = expiry::apply_lifecycle(desired, today);
            (Some(desired), warnings)
        }
        None => (None, Vec::new()),
    };
    let desired = expired.as_ref().unwrap_or(desired);
    // Adoption first: the rest of the plan sees the adopted users and
    // groups as they will be once taken over, so every rule for managed
    // entities applies to them (their own policies go, their grants become
    // exactly the files').
    let adoption = adopt::adopt(desired, observed, &options.adopt)?;
    let observed = adoption.observed.as_ref().unwrap_or(observed);
    let inputs = Inputs::new(desired, observed, account_id);
    let mut errors = inputs::check(&inputs).err().unwrap_or_default();
    errors.extend(buckets::check(&inputs));
    if !errors.is_empty() {
        return Err(errors);
    }
    let (bucket_policies, bucket_warnings) = bucket_policy::plan_bucket_policies(&inputs)?;
    let mut plan = Plan {
        warnings,
        ..Plan::default()
    };
    plan.changes.extend(bucket_policies);
    plan.warnings.extend(bucket_warnings);
    plan.warnings.extend(adoption.warnings);
    plan.changes.extend(adoption.changes);
    users::plan_users(&inputs, options, &mut plan);
    let mut members_after = groups::plan_groups(&inputs, &mut plan);
    apps::plan_apps(&inputs, &mut plan);
    let deleted_clients = strays::undeclared_groups(&inputs, &mut members_after, &mut plan);
    let deleted_users =
        strays::undeclared_users(&inputs, &members_after, &deleted_clients, &mut plan);
    strays::user_policies(&inputs, &deleted_users, &mut plan);
    strays::unmanaged_groups(&inputs, &deleted_users, &mut plan);
    strays::delete_groups(&inputs, &deleted_clients, &mut plan);
    roles::plan_roles(&inputs, &mut plan);
    buckets::plan_buckets(&inputs, &mut plan);
    buckets::removed_buckets(&inputs, &mut plan);
    order(&mut plan.changes);
    Ok(plan)
}

/// What every step reads: the configuration (after expiry), the account,
/// and what is derived from them once.
struct Inputs<'a> {
    desired: &'a Desired,
    observed: &'a Observed,
    account_id: &'a str,
    /// The managed path, `settings.path`.
    path: &'a str,
    /// Every user the configuration asks for, and the role it plays.
    users: BTreeMap<String, Role>,
    /// The apps of `[[clients.apps]]` by user name, with their clients.
    apps: BTreeMap<&'a str, (&'a Client, &'a App)>,
    /// Members of every group, from the users' group lists, built once:
    /// asking `Observed::members` per group would walk every user per group.
    members: BTreeMap<&'a str, BTreeSet<String>>,
}

impl<'a> Inputs<'a> {
    fn new(desired: &'a Desired, observed: &'a Observed, account_id: &'a str) -> Self {
        let mut members: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for user in observed.users.values() {
            for group in &user.groups {
                members
                    .entry(group.as_str())
                    .or_default()
                    .insert(user.name.clone());
            }
        }
        Inputs {
            desired,
            observed,
            account_id,
            path: desired.settings.path.as_str(),
            users: users::desired_users(desired),
            apps: desired
                .clients
                .values()
                .flat_map(|c| c.apps.iter().map(move |a| (a.name.as_str(), (c, a))))
                .collect(),
            members,
        }
    }

    /// The permissions boundary user `user` is to have: its app's own,
    /// else the settings'.
    fn boundary_of(&self, user: &str) -> Option<&'a String> {
        self.apps
            .get(user)
            .and_then(|(_, app)| app.permissions_boundary.as_ref())
            .or(self.desired.settings.permissions_boundary.as_ref())
    }

    /// The live members of `group`.
    fn members_of(&self, group: &str) -> BTreeSet<String> {
        self.members.get(group).cloned().unwrap_or_default()
    }
}

/// Puts `changes` in execution order: by phase (see [`Change::phase`]),
/// then by kind and name, so that equal plans print alike.
fn order(changes: &mut [Change]) {
    // Cached: `name()` allocates, and a large plan has tens of thousands of
    // changes. Stable, like `sort_by_key`.
    changes.sort_by_cached_key(|a| (a.phase(), a.kind(), a.name()));
}

#[cfg(test)]
mod tests;
