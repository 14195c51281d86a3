//! Saved plans: what was reviewed is what is applied.
//!
//! `provision plan PATH... --out FILE` writes the plan's changes together
//! with a fingerprint of the configuration and, for every change, a
//! fingerprint of each observed user and group it reads or changes.
//! `provision apply FILE` reloads the configuration, reads the account
//! again, and applies exactly the saved changes only when every fingerprint
//! still matches; otherwise it names what changed and applies nothing,
//! the way `terraform apply` refuses a stale saved plan.
//!
//! A saved plan holds what a [`Change`] holds (names, paths, tags, policy
//! documents) and SHA-256 digests; never a secret, which no change carries.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::{Desired, Observed};
use crate::plan::{Change, Plan};

/// The marker that tells a saved plan from any other JSON file.
pub const FORMAT: &str = "provision-plan";
/// Version of the saved plan format; bumped on incompatible changes.
/// Version 2 records the observed facts each fingerprint digests
/// ([`SavedPlan::observed`]), so that a stale plan can say what changed.
pub const FORMAT_VERSION: u32 = 2;
/// The fingerprint recorded for an entity that did not exist.
pub const ABSENT: &str = "absent";

/// A plan written to a file for review and later application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The version of provision that made the plan. Only the same version
    /// applies it: the meaning of a change, and the fingerprints, may differ
    /// between versions.
    pub provision_version: String,
    /// The account the plan was made against.
    pub account_id: String,
    /// The IAM path under which everything managed lives.
    pub managed_path: String,
    /// The PATHs the configuration was loaded from, as given.
    pub paths: Vec<PathBuf>,
    /// Fingerprint of the loaded configuration ([`configuration_fingerprint`]).
    pub configuration: String,
    /// The plan's warnings, shown again when it is applied.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Managed clients left alone, shown again when it is applied.
    #[serde(default)]
    pub out_of_scope: Vec<String>,
    /// The users and groups the plan takes over (`--adopt`): applying the
    /// file plans again with the same names, so it adopts exactly what was
    /// reviewed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adopt: Vec<String>,
    /// The changes, in execution order.
    pub changes: Vec<SavedChange>,
    /// What the plan relied on: for each entity of a `depends_on`, the
    /// observed facts its fingerprint digests ([`facts`]), or `null` when it
    /// did not exist. Compared with the account at apply time, they say what
    /// changed by hand (a member added, a policy edited), not only that
    /// something did. They hold what observation reads (names, paths, tags,
    /// policy documents, access key ids), never a secret.
    pub observed: BTreeMap<String, Value>,
}

/// One change and the observed state it depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedChange {
    /// Each entity the change reads or changes (`user/alice`,
    /// `group/client-acme`), with its fingerprint when the plan was made
    /// ([`ABSENT`] when it did not exist).
    pub depends_on: BTreeMap<String, String>,
    /// What to do.
    pub change: Change,
}

/// Why a saved plan cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// The file could not be read.
    #[error("could not read the saved plan `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON of the saved plan's shape.
    #[error(
        "`{path}` is not a saved plan of provision; make one with `provision plan PATH... --out {path}`"
    )]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The file is JSON but lacks the [`FORMAT`] marker.
    #[error(
        "`{path}` is not a saved plan of provision (its `format` is not `{FORMAT}`); make one with `provision plan PATH... --out {path}`"
    )]
    NotAPlan { path: PathBuf },
    /// The plan was written in another format version.
    #[error(
        "`{path}` was saved by {} provision (saved plan format {found}; this one reads format {FORMAT_VERSION}).\n{NOTHING_APPLIED} Plan again with this version (`provision plan PATH... --out {path}`), review the new plan, and apply that file.",
        if *found < FORMAT_VERSION { "an older" } else { "a newer" }
    )]
    FormatVersion { path: PathBuf, found: u32 },
    /// The plan was made by another version of provision.
    #[error(
        "the saved plan was made by provision {made_with}, but this is provision {running}; plan again with this version, or apply it with {made_with}"
    )]
    ProvisionVersion { made_with: String, running: String },
    /// The configuration files no longer say what they said at plan time.
    #[error(
        "the configuration in {} changed since the plan was made, so the saved plan is not what the files say now.\n{NOTHING_APPLIED} Plan again from the files as they are (`provision plan {} --out FILE`), review the new plan, and apply that file.",
        paths_list(.paths),
        paths_args(.paths)
    )]
    ConfigurationChanged { paths: Vec<PathBuf> },
    /// The credentials belong to another account than the plan's.
    #[error(
        "the saved plan is for account `{planned}`, but the credentials belong to account `{actual}`; use credentials for `{planned}`"
    )]
    Account { planned: String, actual: String },
    /// Entities the changes depend on changed in the account.
    #[error(
        "the saved plan is stale: the account changed since the plan was made:\n{}\n{NOTHING_APPLIED} Run `provision plan` again and review the new plan.",
        stale_list(.0)
    )]
    Stale(Vec<Stale>),
    /// Some, not all, of the plan's changes are already in effect: an
    /// apply of it stopped half-way, or someone made part of it by hand.
    #[error(
        "the saved plan was partly applied already: {in_effect} of its {total} change(s) are in effect in the account, {} still to do (an apply that stopped half-way?).\n{NOTHING_APPLIED} Run `provision plan` again to see what is left, review it, and apply that.",
        total - in_effect
    )]
    PartlyApplied { in_effect: usize, total: usize },
}

/// The line every refusal of a saved plan ends with: a refused plan changes
/// nothing, and the reader should not have to infer it.
pub const NOTHING_APPLIED: &str = "Nothing was applied.";

/// The PATHs as they would be typed on a command line.
fn paths_args(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn paths_list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn stale_list(stale: &[Stale]) -> String {
    let mut lines = Vec::new();
    for s in stale {
        lines.push(format!("  - {s}"));
        lines.extend(s.details.iter().map(|d| format!("      {d}")));
    }
    lines.join("\n")
}

/// An IAM entity a change depends on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Entity {
    User(String),
    Group(String),
    /// A role of an app GitHub Actions assumes.
    Role(String),
    /// GitHub's OIDC provider, by the URL a change names.
    OidcProvider(String),
    /// A managed bucket (`manage_buckets`): its facts are what plan read
    /// of it (missing, or its settings).
    Bucket(String),
    /// A bucket's policy, which the bucket-policy layer writes.
    BucketPolicy(String),
}

impl Entity {
    /// The key used in [`SavedChange::depends_on`].
    pub fn address(&self) -> String {
        match self {
            Entity::User(name) => format!("user/{name}"),
            Entity::Group(name) => format!("group/{name}"),
            Entity::Role(name) => format!("role/{name}"),
            Entity::OidcProvider(url) => format!("oidc-provider/{url}"),
            Entity::Bucket(name) => format!("bucket/{name}"),
            Entity::BucketPolicy(name) => format!("bucket-policy/{name}"),
        }
    }

    fn from_address(address: &str) -> Option<Entity> {
        match address.split_once('/')? {
            ("user", name) => Some(Entity::User(name.to_owned())),
            ("group", name) => Some(Entity::Group(name.to_owned())),
            ("role", name) => Some(Entity::Role(name.to_owned())),
            ("oidc-provider", url) => Some(Entity::OidcProvider(url.to_owned())),
            ("bucket", name) => Some(Entity::Bucket(name.to_owned())),
            ("bucket-policy", name) => Some(Entity::BucketPolicy(name.to_owned())),
            _ => None,
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entity::User(name) => write!(f, "user `{name}`"),
            Entity::Group(name) => write!(f, "group `{name}`"),
            Entity::Role(name) => write!(f, "role `{name}`"),
            Entity::OidcProvider(url) => write!(f, "OIDC provider `{url}`"),
            Entity::Bucket(name) => write!(f, "bucket `{name}`"),
            Entity::BucketPolicy(name) => write!(f, "the policy of bucket `{name}`"),
        }
    }
}

/// One entity whose fingerprint differs from the plan's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The entity, or the raw address when it is not one this version knows.
    pub entity: String,
    pub how: StaleHow,
    /// What changed, one line each (members, policies, tags...), when the
    /// plan recorded the facts to compare; shown under the entity.
    pub details: Vec<String>,
}

/// How an entity differs from the plan's record of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleHow {
    Created,
    Deleted,
    Changed,
    /// The address names no kind of entity this version can read.
    Unknown,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.how {
            StaleHow::Created => "did not exist and now does",
            StaleHow::Deleted => "was deleted",
            StaleHow::Changed if self.details.is_empty() => "was changed",
            StaleHow::Changed => "was changed:",
            StaleHow::Unknown => "cannot be checked by this version of provision",
        };
        write!(f, "{} {how}", self.entity)
    }
}

/// How much of a saved plan is already in effect ([`SavedPlan::in_effect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InEffect {
    /// Every change is in effect: the plan was applied already.
    All,
    /// `in_effect` of the `total` changes are in effect, and the others
    /// are still to do, unchanged.
    Part { in_effect: usize, total: usize },
    /// Not recognisably any of it (or the plan is empty).
    None,
}

/// True when PATH names a saved plan rather than clients files: saved plans
/// are JSON, clients files TOML.
pub fn is_plan_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
}

fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256:");
    for byte in digest.iter() {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// Fingerprint of a loaded configuration.
///
/// It digests the validated [`Desired`] state rather than the files' bytes,
/// so reformatting a file or editing a comment does not invalidate a
/// reviewed plan. The `Debug` form is used because it covers every field,
/// including ones added later, and is deterministic (maps are ordered, lists
/// keep file order); it may differ between versions of provision, which is
/// why a plan is applied only by the version that made it.
pub fn configuration_fingerprint(desired: &Desired) -> String {
    // Where things are written (line and column, for error messages) is
    // not what they say: a comment added above a client must not make a
    // reviewed plan stale.
    let mut what = desired.clone();
    what.locations.clear();
    what.developer_locations.clear();
    sha256(format!("{what:?}").as_bytes())
}

/// The users, groups, roles, provider and buckets a change reads or
/// changes.
///
/// Found generically, from the change's serialized fields named `user`,
/// `group`, `role`, `url` and `bucket`, so that every kind of change,
/// including ones added later, is
/// covered without a list to keep up to date.
pub fn dependencies(change: &Change) -> BTreeSet<Entity> {
    let mut entities = BTreeSet::new();
    let Ok(Value::Object(outer)) = serde_json::to_value(change) else {
        return entities;
    };
    for fields in outer.values() {
        let Value::Object(fields) = fields else {
            continue;
        };
        if let Some(Value::String(user)) = fields.get("user") {
            entities.insert(Entity::User(user.clone()));
        }
        if let Some(Value::String(group)) = fields.get("group") {
            entities.insert(Entity::Group(group.clone()));
        }
        if let Some(Value::String(role)) = fields.get("role") {
            entities.insert(Entity::Role(role.clone()));
        }
        if let Some(Value::String(url)) = fields.get("url") {
            entities.insert(Entity::OidcProvider(url.clone()));
        }
        if let Some(Value::String(bucket)) = fields.get("bucket") {
            entities.insert(Entity::Bucket(bucket.clone()));
        }
    }
    // A bucket policy change reads and writes the bucket's policy, which a
    // hand edit between plan and apply must make stale.
    if let Change::PutBucketPolicy { bucket, .. } | Change::DeleteBucketPolicy { bucket, .. } =
        change
    {
        entities.insert(Entity::BucketPolicy(bucket.clone()));
    }
    entities
}

/// Everything provision reads about one entity (for a group, its members
/// too), as JSON; `None` when it does not exist.
pub fn facts(observed: &Observed, entity: &Entity) -> Option<Result<Value, serde_json::Error>> {
    match entity {
        Entity::User(name) => observed.users.get(name).map(serde_json::to_value),
        Entity::Group(name) => observed.groups.get(name).map(|group| {
            serde_json::to_value(serde_json::json!({
                "group": group,
                "members": observed.members(name),
            }))
        }),
        Entity::Role(name) => observed.roles.get(name).map(serde_json::to_value),
        Entity::OidcProvider(_) => observed.oidc_provider.as_ref().map(serde_json::to_value),
        Entity::Bucket(name) => observed.buckets.get(name).map(serde_json::to_value),
        Entity::BucketPolicy(name) => observed.bucket_policies.get(name).map(serde_json::to_value),
    }
}

/// Fingerprint of one entity as observed: a digest of its [`facts`], or
/// [`ABSENT`].
pub fn fingerprint(observed: &Observed, entity: &Entity) -> String {
    match facts(observed, entity) {
        // serde_json's maps are ordered here (no `preserve_order`), so the
        // text, and its digest, is canonical.
        Some(Ok(value)) => sha256(value.to_string().as_bytes()),
        // Serializing plain strings and maps cannot fail; should it, the
        // entity gets a fingerprint that never matches, so the plan is
        // refused rather than applied unchecked.
        Some(Err(e)) => format!("unserializable: {e}"),
        None => ABSENT.to_owned(),
    }
}

impl SavedPlan {
    /// Record `plan`, made from `desired` (loaded from `paths`) against
    /// `observed` in account `account_id`.
    pub fn new(
        plan: &Plan,
        desired: &Desired,
        paths: &[PathBuf],
        observed: &Observed,
        account_id: &str,
    ) -> SavedPlan {
        let entities: BTreeSet<Entity> = plan.changes.iter().flat_map(dependencies).collect();
        SavedPlan {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            provision_version: env!("CARGO_PKG_VERSION").to_owned(),
            account_id: account_id.to_owned(),
            managed_path: desired.settings.path.clone(),
            paths: paths.to_vec(),
            configuration: configuration_fingerprint(desired),
            warnings: plan.warnings.clone(),
            out_of_scope: plan.out_of_scope.clone(),
            adopt: Vec::new(),
            changes: plan
                .changes
                .iter()
                .map(|change| SavedChange {
                    depends_on: dependencies(change)
                        .iter()
                        .map(|e| (e.address(), fingerprint(observed, e)))
                        .collect(),
                    change: change.clone(),
                })
                .collect(),
            observed: entities
                .iter()
                .map(|e| {
                    let facts = match facts(observed, e) {
                        Some(Ok(value)) => value,
                        // As for the fingerprint: never matches, so it is
                        // refused, and named as changed.
                        Some(Err(_)) | None => Value::Null,
                    };
                    (e.address(), facts)
                })
                .collect(),
        }
    }

    /// The file's text: pretty JSON, so a reviewer can read it too. Fails
    /// only for a PATH that is not valid UTF-8, which JSON cannot hold.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }

    /// Read a saved plan from `bytes`, the contents of `path`.
    pub fn from_slice(path: &Path, bytes: &[u8]) -> Result<SavedPlan, SavedPlanError> {
        // Look at the marker first, so that any other JSON file gets "not a
        // saved plan" instead of a complaint about a missing field.
        let value: Value =
            serde_json::from_slice(bytes).map_err(|source| SavedPlanError::Parse {
                path: path.to_owned(),
                source,
            })?;
        if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(SavedPlanError::NotAPlan {
                path: path.to_owned(),
            });
        }
        let version = value.get("format_version").and_then(Value::as_u64);
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(SavedPlanError::FormatVersion {
                path: path.to_owned(),
                found: version.and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
            });
        }
        let plan: SavedPlan =
            serde_json::from_value(value).map_err(|source| SavedPlanError::Parse {
                path: path.to_owned(),
                source,
            })?;
        let running = env!("CARGO_PKG_VERSION");
        if plan.provision_version != running {
            return Err(SavedPlanError::ProvisionVersion {
                made_with: plan.provision_version,
                running: running.to_owned(),
            });
        }
        Ok(plan)
    }

    /// Read a saved plan from a file.
    pub fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let bytes = std::fs::read(path).map_err(|source| SavedPlanError::Read {
            path: path.to_owned(),
            source,
        })?;
        SavedPlan::from_slice(path, &bytes)
    }

    /// Refuse when the configuration loaded now differs from the plan's.
    pub fn check_configuration(&self, desired: &Desired) -> Result<(), SavedPlanError> {
        if configuration_fingerprint(desired) == self.configuration {
            Ok(())
        } else {
            Err(SavedPlanError::ConfigurationChanged {
                paths: self.paths.clone(),
            })
        }
    }

    /// Refuse when the credentials belong to another account.
    pub fn check_account(&self, account_id: &str) -> Result<(), SavedPlanError> {
        if account_id == self.account_id {
            Ok(())
        } else {
            Err(SavedPlanError::Account {
                planned: self.account_id.clone(),
                actual: account_id.to_owned(),
            })
        }
    }

    /// Compare every recorded fingerprint with the account as observed now;
    /// each entity that changed is listed once.
    pub fn check_observed(&self, observed: &Observed) -> Result<(), SavedPlanError> {
        let recorded: BTreeMap<&str, &str> = self
            .changes
            .iter()
            .flat_map(|c| c.depends_on.iter())
            .map(|(address, fp)| (address.as_str(), fp.as_str()))
            .collect();
        let mut stale = Vec::new();
        for (address, was) in recorded {
            let Some(entity) = Entity::from_address(address) else {
                // Never apply a change whose dependency cannot be checked.
                stale.push(Stale {
                    entity: format!("`{address}`"),
                    how: StaleHow::Unknown,
                    details: Vec::new(),
                });
                continue;
            };
            let now = fingerprint(observed, &entity);
            let how = match (was == ABSENT, now == ABSENT) {
                _ if now == was => continue,
                (true, false) => StaleHow::Created,
                (false, true) => StaleHow::Deleted,
                _ => StaleHow::Changed,
            };
            let details = match (how, self.observed.get(address), facts(observed, &entity)) {
                (StaleHow::Changed, Some(before), Some(Ok(after))) => {
                    stale::what_changed(before, &after)
                }
                _ => Vec::new(),
            };
            stale.push(Stale {
                entity: entity.to_string(),
                how,
                details,
            });
        }
        if stale.is_empty() {
            Ok(())
        } else {
            Err(SavedPlanError::Stale(stale))
        }
    }

    /// How much of the plan the account already shows, judged from `fresh`,
    /// the plan made now from the same configuration against the account as
    /// it is: nothing left to do means all of it is in effect; what is left
    /// being some of the saved changes, and nothing else, means the rest is.
    pub fn in_effect(&self, fresh: &Plan) -> InEffect {
        let total = self.changes.len();
        if total == 0 {
            return InEffect::None;
        }
        if fresh.changes.is_empty() {
            return InEffect::All;
        }
        let left_are_saved = fresh
            .changes
            .iter()
            .all(|c| self.changes.iter().any(|s| s.change.same_effect(c)));
        if left_are_saved && fresh.changes.len() < total {
            InEffect::Part {
                in_effect: total - fresh.changes.len(),
                total,
            }
        } else {
            InEffect::None
        }
    }

    /// The plan to execute: exactly the saved changes, in their order.
    // `..Plan::default()` fills fields that `Plan` may gain later, which a
    // saved plan does not record.
    #[allow(clippy::needless_update)]
    pub fn plan(&self) -> Plan {
        Plan {
            changes: self.changes.iter().map(|c| c.change.clone()).collect(),
            warnings: self.warnings.clone(),
            out_of_scope: self.out_of_scope.clone(),
            ..Plan::default()
        }
    }
}

mod stale;
#[cfg(test)]
mod tests;
