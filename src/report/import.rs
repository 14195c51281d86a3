//! `provision import`: from what was read of an account, the clients files
//! that describe it and the findings a person must look at.
//!
//! The decisions are a pure function of what `observe` read (users and
//! groups with their policies, the documents of attached policies, the
//! account's buckets, the credential report); `render::import` writes the
//! files and the report, and `cmd::import` puts them on disk.
//!
//! Holes become findings, never config: a wildcard resource is resolved
//! against the account's buckets, the file gets only the buckets that belong
//! to the client by name, and every bucket the wildcard reached beyond them
//! is reported. Grants provision cannot express (CloudFront on `*`, other
//! services, statements with conditions) are reported and left out. For
//! CloudFront on `*`, the account's distributions are listed in the finding
//! when they could be read, and those whose S3 origins are all buckets of
//! the client are suggested in its file, commented out: a wildcard never
//! becomes a grant without a person confirming it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::model::{
    Access, CLIENT_TAG_KEY, DISABLED_TAG_KEY, EMAIL_TAG_KEY, GROUP_PREFIX, Observed,
    ObservedDistribution, ObservedGroup, ObservedUser,
};
use crate::policy::document::{
    READ_ONLY_BUCKET_ACTIONS, READ_ONLY_OBJECT_ACTIONS, READ_WRITE_BUCKET_ACTIONS,
    READ_WRITE_OBJECT_ACTIONS,
};
use crate::policy::evaluate::wildcard_match;

use super::audit::{ReportRow, UNUSED_KEY_DAYS};

#[cfg(test)]
pub(crate) mod tests;

/// Longest client name the files accept (the configuration's rule).
const MAX_CLIENT_NAME: usize = 48;

/// What import reads, as plain values.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The account the credentials belong to.
    pub account_id: &'a str,
    /// The managed path the files will declare.
    pub path: &'a str,
    pub observed: &'a Observed,
    /// Default-version documents of the managed policies attached to
    /// groups, normalized, by ARN; an attached policy missing here could
    /// not be read.
    pub attached: &'a BTreeMap<String, Value>,
    /// Every bucket of the account (`s3:ListAllMyBuckets`).
    pub buckets: &'a BTreeSet<String>,
    /// IAM's credential report: passwords, MFA and key use.
    pub credentials: &'a [ReportRow],
    /// The account's distributions, read only when a group grants
    /// CloudFront on `*` (see [`Import::grants_cloudfront_on_star`]).
    pub distributions: &'a Distributions,
    pub now: DateTime<Utc>,
}

/// What import knows of the account's CloudFront distributions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Distributions {
    /// Not read: no group grants CloudFront on `*`, so none is needed.
    #[default]
    NotRead,
    /// Every distribution of the account.
    Listed(Vec<ObservedDistribution>),
    /// They could not be listed: why, as the read's error says it
    /// ("could not list the account's distributions (...): AccessDenied:
    /// ..."), never a secret.
    Unreadable(String),
}

/// The files import writes, as values, and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Import {
    pub settings: ImportedSettings,
    /// Sorted by name.
    pub developers: Vec<ImportedDeveloper>,
    /// Sorted by name.
    pub clients: Vec<ImportedClient>,
    /// Sorted by kind, then subject.
    pub findings: Vec<Finding>,
}

/// The `[settings]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedSettings {
    pub account_id: String,
    pub path: String,
    /// Set when every managed user carries the same boundary.
    pub permissions_boundary: Option<String>,
}

/// One `[[developers]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedDeveloper {
    pub name: String,
    pub email: Option<String>,
    pub disabled: bool,
    /// Where it came from, for the comment above it.
    pub origin: String,
}

/// One exact bucket or prefix of a client, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ImportedBucket {
    pub name: String,
    pub origin: String,
}

/// One `[[clients]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedClient {
    pub name: String,
    /// The group it was read from.
    pub group: String,
    pub group_path: String,
    pub buckets: Vec<ImportedBucket>,
    pub bucket_prefixes: Vec<ImportedBucket>,
    #[serde(serialize_with = "access_str")]
    pub access: Access,
    /// Set when the group's S3 actions fit no access level exactly: what
    /// they were, for a comment beside `access`.
    pub access_note: Option<String>,
    pub developers: Vec<String>,
    /// `None` writes `app_user = ""`.
    pub app_user: Option<String>,
    pub distributions: Vec<String>,
    /// Distributions whose S3 origins are all buckets of this client, when
    /// its group granted CloudFront on `*`: written commented out, for a
    /// person to confirm, never as grants.
    pub suggested_distributions: Vec<String>,
    /// Where the group's grants were written, for the comment above it.
    pub origin: String,
}

fn access_str<S: Serializer>(access: &Access, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(access.as_str())
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A wildcard resource reached buckets the new file does not grant.
    WildcardReach,
    /// CloudFront actions granted on `*`: every distribution of the account.
    CloudfrontWildcard,
    /// A bucket two groups granted; the file gives it to one.
    SharedBucket,
    /// A grant provision does not write (another service, a condition, ...).
    DroppedGrant,
    /// The group's S3 actions fit no access level exactly.
    AccessLevel,
    /// A user in more than one client group.
    SeveralClients,
    /// A client group with more than one application user.
    SeveralAppUsers,
    /// An active access key never used, or unused for long.
    UnusedKey,
    /// A user who can sign in to the console without MFA.
    ConsoleWithoutMfa,
    /// A user's own policy (inline or attached): provision's users get
    /// access from client groups only.
    UserPolicy,
    /// A hand-made group the files replace: it keeps its grants until it
    /// is deleted.
    ReplacedGroup,
    /// A group or bucket whose name the files cannot hold.
    Unimportable,
    /// An attached policy whose document could not be read.
    UnreadablePolicy,
}

/// One thing import found that needs a person.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// The group, user or bucket it is about.
    pub subject: String,
    /// What is wrong and what the files do about it, for people.
    pub detail: String,
    /// The resources involved (buckets reached, ARNs), sorted.
    pub resources: Vec<String>,
    /// For `cloudfront-wildcard`, once the account's distributions were
    /// read: what was found, or why nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distributions: Option<DistributionsSeen>,
}

/// The account's distributions as a `cloudfront-wildcard` finding shows
/// them to its client.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DistributionsSeen {
    /// Why they could not be listed; then `listed` is empty.
    pub error: Option<String>,
    /// Every distribution of the account, by id.
    pub listed: Vec<SeenDistribution>,
    /// The ids suggested to the client (see
    /// [`ImportedClient::suggested_distributions`]).
    pub suggested: Vec<String>,
}

/// One distribution, with the buckets its S3 origins name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SeenDistribution {
    pub id: String,
    pub domain_name: String,
    pub aliases: Vec<String>,
    pub comment: String,
    /// Buckets of its S3 origins (`<bucket>.s3.<region>.amazonaws.com`,
    /// website endpoints included), sorted.
    pub origin_buckets: Vec<String>,
    /// The clients it goes with, sorted: those its S3 origins are buckets
    /// of, and those whose group names it explicitly.
    pub clients: Vec<String>,
}

impl Import {
    /// True when a group grants CloudFront on `*`: then the account's
    /// distributions are worth reading, and import is run again with them.
    pub fn grants_cloudfront_on_star(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.kind == Kind::CloudfrontWildcard)
    }
}

/// What one statement of a group's policies grants, sorted into what the
/// files can say and what they cannot.
#[derive(Debug, Default)]
struct Grants {
    /// S3 bucket patterns (the part before `/`), with where each was written.
    bucket_patterns: BTreeMap<String, String>,
    /// S3 actions granted on those buckets.
    actions: BTreeSet<String>,
    /// CloudFront distribution ids.
    distributions: BTreeSet<String>,
    /// Where CloudFront actions are granted on `*`.
    cloudfront_star: Vec<String>,
    /// Grants left out, described.
    dropped: Vec<String>,
}

/// A group whose policies grant S3 on bucket resources.
struct Candidate<'a> {
    group: &'a ObservedGroup,
    client: String,
    managed: bool,
    grants: Grants,
}

/// Reads the account's state into clients files and findings.
pub fn import(inputs: &Inputs<'_>) -> Import {
    let mut findings = Vec::new();
    let candidates = candidates(inputs, &mut findings);
    let buckets = assign_buckets(inputs, &candidates, &mut findings);
    let (developers, members) = people(inputs, &candidates, &mut findings);
    let listed = listed_distributions(inputs, &candidates, &buckets);
    let clients = candidates
        .iter()
        .filter_map(|c| client(c, &buckets, &members, &listed, &mut findings))
        .collect();
    findings.sort();
    findings.dedup();
    Import {
        settings: settings(inputs),
        developers,
        clients,
        findings,
    }
}

/// The settings: the account, the managed path, and the boundary every
/// managed user already carries (so a round trip keeps it).
fn settings(inputs: &Inputs<'_>) -> ImportedSettings {
    let boundaries: BTreeSet<Option<&String>> = inputs
        .observed
        .users
        .values()
        .filter(|u| u.is_managed(inputs.path))
        .map(|u| u.permissions_boundary.as_ref())
        .collect();
    let permissions_boundary = match boundaries.into_iter().collect::<Vec<_>>().as_slice() {
        [Some(b)] => Some((*b).clone()),
        _ => None,
    };
    ImportedSettings {
        account_id: inputs.account_id.to_owned(),
        path: inputs.path.to_owned(),
        permissions_boundary,
    }
}

/// True for a path under the managed one but not it: another
/// configuration's, never imported here.
fn other_configuration(path: &str, managed: &str) -> bool {
    path != managed && path.starts_with(managed)
}

/// The groups that grant S3 on bucket resources, sorted by client name.
fn candidates<'a>(inputs: &Inputs<'a>, findings: &mut Vec<Finding>) -> Vec<Candidate<'a>> {
    let mut out: Vec<Candidate<'a>> = Vec::new();
    for group in inputs.observed.groups.values() {
        if other_configuration(&group.path, inputs.path) {
            continue;
        }
        let mut grants = Grants::default();
        for (name, doc) in &group.inline_policies {
            read_grants(
                doc,
                &format!("group `{}` inline policy `{name}`", group.name),
                inputs.account_id,
                &mut grants,
            );
        }
        for arn in &group.attached_policies {
            match inputs.attached.get(arn) {
                Some(doc) => read_grants(
                    doc,
                    &format!("group `{}` attached policy `{arn}`", group.name),
                    inputs.account_id,
                    &mut grants,
                ),
                None => findings.push(Finding {
                    kind: Kind::UnreadablePolicy,
                    subject: group.name.clone(),
                    detail: format!(
                        "the policy `{arn}` attached to group `{}` could not be read; what it grants is not in the files",
                        group.name
                    ),
                    resources: vec![arn.clone()],
                    distributions: None,
                }),
            }
        }
        if grants.bucket_patterns.is_empty() {
            continue;
        }
        let client = group
            .name
            .strip_prefix(GROUP_PREFIX)
            .unwrap_or(&group.name)
            .to_owned();
        if !is_client_name(&client) {
            findings.push(Finding {
                kind: Kind::Unimportable,
                subject: group.name.clone(),
                detail: format!(
                    "group `{}` grants S3 but `{client}` cannot be a client name (lowercase letters, digits and `-`, at most {MAX_CLIENT_NAME}); add the client by hand under another name",
                    group.name
                ),
                resources: grants.bucket_patterns.keys().cloned().collect(),
                distributions: None,
            });
            continue;
        }
        if let Some(other) = out.iter().find(|c| c.client == client) {
            findings.push(Finding {
                kind: Kind::Unimportable,
                subject: group.name.clone(),
                detail: format!(
                    "groups `{}` and `{}` would both be client `{client}`; only `{}` was imported",
                    other.group.name, group.name, other.group.name
                ),
                resources: Vec::new(),
                distributions: None,
            });
            continue;
        }
        out.push(Candidate {
            group,
            client,
            managed: group.is_managed(inputs.path),
            grants,
        });
    }
    out.sort_by(|a, b| a.client.cmp(&b.client));
    out
}

/// The configuration's rule for client names: `[a-z0-9-]`, not starting
/// with `-`, at most [`MAX_CLIENT_NAME`] characters.
fn is_client_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_CLIENT_NAME
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
}

/// A string-or-array field of a statement, as strings.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Sorts what one policy document allows into `grants`. `holder` says
/// where the document is, for comments and findings.
fn read_grants(doc: &Value, holder: &str, account_id: &str, grants: &mut Grants) {
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
        Some(single) => vec![single],
        None => Vec::new(),
    };
    for (index, statement) in statements.into_iter().enumerate() {
        let at = match statement.get("Sid").and_then(Value::as_str) {
            Some(sid) if !sid.is_empty() => format!("{holder}, statement `{sid}`"),
            _ => format!("{holder}, statement #{}", index + 1),
        };
        // A Deny narrows; the files grant only what they list, so leaving
        // it out widens nothing.
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        // The one condition provision writes (its S3 statements reach only
        // this account's buckets) is not unusual.
        let unusual: Vec<&str> = ["NotAction", "NotResource", "Condition"]
            .into_iter()
            .filter(|k| statement.get(*k).is_some())
            .filter(|k| {
                *k != "Condition"
                    || !crate::policy::document::is_resource_account_condition(
                        &statement[*k],
                        account_id,
                    )
            })
            .collect();
        if !unusual.is_empty() {
            grants.dropped.push(format!(
                "{at} uses `{}`, which provision never writes",
                unusual.join("`, `")
            ));
            continue;
        }
        let actions = strings(statement.get("Action"));
        let resources = strings(statement.get("Resource"));
        let is_s3 = |a: &str| a == "*" || a.to_ascii_lowercase().starts_with("s3:");
        let is_cloudfront = |a: &str| a.to_ascii_lowercase().starts_with("cloudfront:");
        let s3_actions: Vec<&String> = actions.iter().filter(|a| is_s3(a)).collect();
        let cloudfront: Vec<&String> = actions.iter().filter(|a| is_cloudfront(a)).collect();
        let other: Vec<&String> = actions
            .iter()
            .filter(|a| !is_s3(a) && !is_cloudfront(a))
            .collect();
        let distribution_prefix = format!("arn:aws:cloudfront::{account_id}:distribution/");
        for resource in &resources {
            if let Some(rest) = resource.strip_prefix("arn:aws:s3:::")
                && !s3_actions.is_empty()
                && !rest.is_empty()
            {
                let bucket = rest.split('/').next().unwrap_or(rest).to_owned();
                grants.bucket_patterns.entry(bucket).or_insert(at.clone());
                grants
                    .actions
                    .extend(s3_actions.iter().map(|a| a.to_string()));
            } else if !s3_actions.is_empty() {
                grants.dropped.push(format!(
                    "{at} allows `{}` on `{resource}`, beyond any bucket",
                    join(&s3_actions)
                ));
            }
            if !cloudfront.is_empty() {
                if resource == "*" {
                    grants
                        .cloudfront_star
                        .push(format!("{at} allows `{}` on `*`", join(&cloudfront)));
                } else if let Some(id) = resource.strip_prefix(&distribution_prefix)
                    && !id.contains(['*', '?'])
                {
                    grants.distributions.insert(id.to_owned());
                } else {
                    grants.dropped.push(format!(
                        "{at} allows `{}` on `{resource}`",
                        join(&cloudfront)
                    ));
                }
            }
        }
        if !other.is_empty() {
            grants.dropped.push(format!(
                "{at} allows `{}` on `{}`",
                join(&other),
                resources.join("`, `")
            ));
        }
    }
}

fn join(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("`, `")
}

/// The literal start of a pattern, up to its first wildcard.
fn stem(pattern: &str) -> &str {
    &pattern[..pattern.find(['*', '?']).unwrap_or(pattern.len())]
}

/// Whether `bucket`, reached by a pattern starting with `stem`, belongs to
/// the client by name: the stem is the whole name or ends at a word
/// boundary (`new-client*` keeps `new-client-assets`, not
/// `new-clientele-backups`). A stem that is empty (`*`) keeps nothing.
fn belongs(stem: &str, bucket: &str) -> bool {
    let Some(rest) = bucket.strip_prefix(stem) else {
        return false;
    };
    !stem.is_empty()
        && (rest.is_empty() || stem.ends_with(['-', '.']) || rest.starts_with(['-', '.']))
}

/// A plain bucket name the files accept: S3's rules plus provision's (no
/// dots, lowercase).
fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Where each client's buckets and prefixes go, by client: exact names are
/// kept, a managed group's `prefix*` stays a prefix, other wildcards are
/// resolved against the account's buckets. A bucket claimed by several
/// clients goes to the most specific claim (an exact name, else the
/// longest stem), then to the first client by name; the others are told.
fn assign_buckets(
    inputs: &Inputs<'_>,
    candidates: &[Candidate<'_>],
    findings: &mut Vec<Finding>,
) -> BTreeMap<String, (Vec<ImportedBucket>, Vec<ImportedBucket>)> {
    // bucket -> (client, specificity, origin)
    let mut claims: BTreeMap<String, Vec<(String, usize, String)>> = BTreeMap::new();
    let mut prefixes: BTreeMap<String, Vec<ImportedBucket>> = BTreeMap::new();
    for c in candidates {
        for (pattern, origin) in &c.grants.bucket_patterns {
            let wild = pattern.contains(['*', '?']);
            if !wild {
                if is_bucket_name(pattern) {
                    claims.entry(pattern.clone()).or_default().push((
                        c.client.clone(),
                        usize::MAX,
                        origin.clone(),
                    ));
                } else {
                    findings.push(unimportable_bucket(&c.group.name, pattern));
                }
                continue;
            }
            let prefix = pattern
                .strip_suffix('*')
                .filter(|p| !p.contains(['*', '?']));
            if c.managed
                && let Some(prefix) = prefix
                && is_bucket_name(&format!("{prefix}xxx"))
            {
                prefixes
                    .entry(c.client.clone())
                    .or_default()
                    .push(ImportedBucket {
                        name: prefix.to_owned(),
                        origin: origin.clone(),
                    });
                continue;
            }
            let stem = stem(pattern);
            for bucket in inputs.buckets {
                if wildcard_match(pattern, bucket, false) && belongs(stem, bucket) {
                    if is_bucket_name(bucket) {
                        claims.entry(bucket.clone()).or_default().push((
                            c.client.clone(),
                            stem.len(),
                            format!("{origin}: `arn:aws:s3:::{pattern}`"),
                        ));
                    } else {
                        findings.push(unimportable_bucket(&c.group.name, bucket));
                    }
                }
            }
        }
    }
    let mut out: BTreeMap<String, (Vec<ImportedBucket>, Vec<ImportedBucket>)> = BTreeMap::new();
    for (bucket, mut claimants) in claims {
        claimants.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        claimants.dedup_by(|a, b| a.0 == b.0);
        let (winner, _, origin) = &claimants[0];
        out.entry(winner.clone())
            .or_default()
            .0
            .push(ImportedBucket {
                name: bucket.clone(),
                origin: origin.clone(),
            });
        if claimants.len() > 1 {
            let others: Vec<String> = claimants[1..]
                .iter()
                .map(|c| format!("`{}`", c.0))
                .collect();
            findings.push(Finding {
                kind: Kind::SharedBucket,
                subject: bucket.clone(),
                detail: format!(
                    "bucket `{bucket}` was granted to several client groups; the files give it to client `{winner}` only, not to {}",
                    others.join(", ")
                ),
                resources: vec![format!("arn:aws:s3:::{bucket}")],
                distributions: None,
            });
        }
    }
    for (client, list) in prefixes {
        out.entry(client).or_default().1 = list;
    }
    for (_, (buckets, prefixes)) in out.iter_mut() {
        buckets.sort();
        prefixes.sort();
    }
    // Every bucket a wildcard reached that its client's file does not
    // grant: the hole the old pattern opened.
    for c in candidates {
        let kept: BTreeSet<&str> = out
            .get(&c.client)
            .map(|(b, p)| b.iter().chain(p).map(|b| b.name.as_str()).collect())
            .unwrap_or_default();
        for (pattern, origin) in &c.grants.bucket_patterns {
            if !pattern.contains(['*', '?']) || (c.managed && kept.contains(stem(pattern))) {
                continue;
            }
            let lost: Vec<String> = inputs
                .buckets
                .iter()
                .filter(|b| wildcard_match(pattern, b, false) && !kept.contains(b.as_str()))
                .cloned()
                .collect();
            if lost.is_empty() {
                continue;
            }
            findings.push(Finding {
                kind: Kind::WildcardReach,
                subject: c.group.name.clone(),
                detail: format!(
                    "{origin} grants `arn:aws:s3:::{pattern}`, which also reaches {}; the file for client `{}` lists exact buckets and does not grant {}",
                    backticked(&lost),
                    c.client,
                    if lost.len() == 1 { "it" } else { "them" }
                ),
                resources: lost,
                distributions: None,
            });
        }
    }
    out
}

fn backticked(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unimportable_bucket(group: &str, bucket: &str) -> Finding {
    Finding {
        kind: Kind::Unimportable,
        subject: bucket.to_owned(),
        detail: format!(
            "group `{group}` grants bucket `{bucket}`, whose name the files cannot hold (lowercase letters, digits and `-`, 3 to 63 characters); it is left out"
        ),
        resources: vec![format!("arn:aws:s3:::{bucket}")],
        distributions: None,
    }
}

/// What kind of principal a user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Developer,
    App,
}

/// The role of `user`: a managed user by its tags; another by its
/// credentials: keys and no password, MFA or e-mail make an application
/// user, anything else a person.
fn role(user: &ObservedUser, row: Option<&ReportRow>, path: &str) -> Role {
    if user.is_managed(path) {
        return if user.tags.contains_key(CLIENT_TAG_KEY) {
            Role::App
        } else {
            Role::Developer
        };
    }
    let Some(row) = row else {
        return Role::Developer;
    };
    let person = row.password_enabled || row.mfa_active || user.tags.contains_key(EMAIL_TAG_KEY);
    if !person && !row.keys.is_empty() {
        Role::App
    } else {
        Role::Developer
    }
}

/// Members of each client, by client: developers (sorted) and the
/// application user.
type Members = BTreeMap<String, (Vec<String>, Option<String>)>;

/// The developers and each client's members, with the findings about
/// people: users in several clients, several application users, unused
/// keys, console passwords without MFA and users' own policies.
fn people(
    inputs: &Inputs<'_>,
    candidates: &[Candidate<'_>],
    findings: &mut Vec<Finding>,
) -> (Vec<ImportedDeveloper>, Members) {
    let rows: BTreeMap<&str, &ReportRow> = inputs
        .credentials
        .iter()
        .map(|r| (r.user.as_str(), r))
        .collect();
    let mut clients_of: BTreeMap<&str, Vec<&Candidate<'_>>> = BTreeMap::new();
    for c in candidates {
        for user in inputs.observed.users.values() {
            if user.groups.contains(&c.group.name) && !other_configuration(&user.path, inputs.path)
            {
                clients_of.entry(user.name.as_str()).or_default().push(c);
            }
        }
    }
    let mut members: Members = candidates
        .iter()
        .map(|c| (c.client.clone(), (Vec::new(), None)))
        .collect();
    // Managed developers in no client group (disabled, or between
    // clients) are declared too: a file set without them would delete them.
    for user in inputs.observed.users.values() {
        if user.is_managed(inputs.path) && !user.tags.contains_key(CLIENT_TAG_KEY) {
            clients_of.entry(user.name.as_str()).or_default();
        }
    }
    let mut developers = Vec::new();
    for (name, clients) in &clients_of {
        let user = &inputs.observed.users[*name];
        let row = rows.get(name).copied();
        let role = role(user, row, inputs.path);
        let names: Vec<String> = clients.iter().map(|c| c.client.clone()).collect();
        if clients.len() > 1 {
            findings.push(Finding {
                kind: Kind::SeveralClients,
                subject: (*name).to_owned(),
                detail: match role {
                    Role::App => format!(
                        "application user `{name}` is in the groups of clients {}: its key reaches every one of them; the files make it the application user of `{}` only",
                        backticked(&names),
                        names[0]
                    ),
                    Role::Developer => format!(
                        "user `{name}` is in the groups of clients {}: a leak of its credentials reaches every one; keep only the memberships it needs",
                        backticked(&names)
                    ),
                },
                resources: Vec::new(),
                distributions: None,
            });
        }
        credential_findings(user, row, inputs.now, findings);
        match role {
            Role::App => {
                // A managed application user belongs to the client its tag
                // names; another to the first client whose group has it.
                let Some(home) = user
                    .tags
                    .get(CLIENT_TAG_KEY)
                    .filter(|c| names.contains(c))
                    .or(names.first())
                    .cloned()
                else {
                    continue;
                };
                let slot = &mut members.get_mut(&home).expect("a candidate").1;
                match slot {
                    None => *slot = Some((*name).to_owned()),
                    Some(first) => findings.push(Finding {
                        kind: Kind::SeveralAppUsers,
                        subject: (*name).to_owned(),
                        detail: format!(
                            "client `{home}` has several users with keys and no password; `{first}` is its application user in the file and `{name}` is left out (it keeps its key and is not managed)"
                        ),
                        resources: Vec::new(),
                        distributions: None,
                    }),
                }
            }
            Role::Developer => {
                for client in &names {
                    members
                        .get_mut(client)
                        .expect("a candidate")
                        .0
                        .push((*name).to_owned());
                }
                developers.push(ImportedDeveloper {
                    name: (*name).to_owned(),
                    email: user.tags.get(EMAIL_TAG_KEY).cloned(),
                    disabled: user.tags.contains_key(DISABLED_TAG_KEY),
                    origin: describe_user(user, row),
                });
            }
        }
    }
    (developers, members)
}

/// `user `alice` (path `/`): console password, MFA, 1 access key`.
fn describe_user(user: &ObservedUser, row: Option<&ReportRow>) -> String {
    let mut facts = Vec::new();
    if let Some(row) = row {
        if row.password_enabled {
            facts.push("console password".to_owned());
        }
        if row.mfa_active {
            facts.push("MFA".to_owned());
        }
        if !row.keys.is_empty() {
            facts.push(format!("{} access key(s)", row.keys.len()));
        }
    }
    if user.has_managed_tag() {
        facts.push("managed by provision".to_owned());
    }
    let facts = if facts.is_empty() {
        String::new()
    } else {
        format!(": {}", facts.join(", "))
    };
    format!("user `{}` (path `{}`){facts}", user.name, user.path)
}

/// Unused keys, a console password without MFA, and the user's own
/// policies.
fn credential_findings(
    user: &ObservedUser,
    row: Option<&ReportRow>,
    now: DateTime<Utc>,
    findings: &mut Vec<Finding>,
) {
    let name = &user.name;
    if let Some(row) = row {
        if row.password_enabled && !row.mfa_active {
            findings.push(Finding {
                kind: Kind::ConsoleWithoutMfa,
                subject: name.clone(),
                detail: format!(
                    "user `{name}` can sign in to the console without MFA; ask them to enable an MFA device"
                ),
                resources: Vec::new(),
                distributions: None,
            });
        }
        for key in row.keys.iter().filter(|k| k.active) {
            let detail = match key.last_used {
                None => format!(
                    "access key {} of user `{name}` is active and was never used; delete it if nothing needs it",
                    key.slot
                ),
                Some(used) if (now - used).num_days() > UNUSED_KEY_DAYS => format!(
                    "access key {} of user `{name}` was last used {} days ago; delete it if nothing needs it",
                    key.slot,
                    (now - used).num_days()
                ),
                Some(_) => continue,
            };
            findings.push(Finding {
                kind: Kind::UnusedKey,
                subject: name.clone(),
                detail,
                resources: Vec::new(),
                distributions: None,
            });
        }
    }
    let own: Vec<String> = user
        .inline_policies
        .keys()
        .map(|p| format!("inline `{p}`"))
        .chain(
            user.attached_policies
                .iter()
                .map(|a| format!("attached `{a}`")),
        )
        .collect();
    if !own.is_empty() {
        findings.push(Finding {
            kind: Kind::UserPolicy,
            subject: name.clone(),
            detail: format!(
                "user `{name}` holds policies of its own ({}); the files grant access through client groups only, and a managed user's own policies are removed",
                own.join(", ")
            ),
            resources: Vec::new(),
            distributions: None,
        });
    }
}

/// One client's file entry, with the findings about its group's grants.
fn client(
    c: &Candidate<'_>,
    buckets: &BTreeMap<String, (Vec<ImportedBucket>, Vec<ImportedBucket>)>,
    members: &Members,
    listed: &Listed,
    findings: &mut Vec<Finding>,
) -> Option<ImportedClient> {
    let group = &c.group.name;
    let (own_buckets, own_prefixes) = buckets.get(&c.client).cloned().unwrap_or_default();
    if own_buckets.is_empty() && own_prefixes.is_empty() && c.grants.distributions.is_empty() {
        // A client must own something; a pattern that reaches no bucket
        // of this account leaves nothing to declare.
        findings.push(Finding {
            kind: Kind::Unimportable,
            subject: group.clone(),
            detail: format!(
                "group `{group}` grants S3 only through patterns that reach no bucket of the account that belongs to client `{}` by name; it is left out: declare its buckets by hand",
                c.client
            ),
            resources: c.grants.bucket_patterns.keys().map(|p| format!("arn:aws:s3:::{p}")).collect(),
            distributions: None,
        });
        return None;
    }
    let (access, access_note) = access(&c.grants.actions);
    if let Some(note) = &access_note {
        findings.push(Finding {
            kind: Kind::AccessLevel,
            subject: group.clone(),
            detail: format!(
                "group `{group}` grants {note}; the file says `{}`: check it",
                access.as_str()
            ),
            resources: Vec::new(),
            distributions: None,
        });
    }
    let suggested = suggestions(c, listed);
    for at in &c.grants.cloudfront_star {
        let (detail, distributions) = cloudfront_star(at, &c.client, listed, &suggested);
        findings.push(Finding {
            kind: Kind::CloudfrontWildcard,
            subject: group.clone(),
            detail,
            resources: vec!["*".to_owned()],
            distributions,
        });
    }
    for dropped in &c.grants.dropped {
        findings.push(Finding {
            kind: Kind::DroppedGrant,
            subject: group.clone(),
            detail: format!("{dropped}; not carried into the files"),
            resources: Vec::new(),
            distributions: None,
        });
    }
    if !c.managed {
        // provision never changes a group it did not create unless an
        // apply names it: until then the old one keeps granting what it
        // granted, wildcards included.
        findings.push(Finding {
            kind: Kind::ReplacedGroup,
            subject: group.clone(),
            detail: format!(
                "group `{group}` (path `{}`) is not provision's and keeps every grant it has until it is taken over: give `--adopt {group}` to `plan` and `apply` (it is deleted and replaced by `client-{}`, or moved under the managed path when it already has that name)",
                c.group.path, c.client
            ),
            resources: Vec::new(),
            distributions: None,
        });
    }
    let (developers, app_user) = members.get(&c.client).cloned().unwrap_or_default();
    Some(ImportedClient {
        name: c.client.clone(),
        group: group.clone(),
        group_path: c.group.path.clone(),
        buckets: own_buckets,
        bucket_prefixes: own_prefixes,
        access,
        access_note,
        developers,
        app_user,
        distributions: c.grants.distributions.iter().cloned().collect(),
        suggested_distributions: suggested,
        origin: format!("group `{group}` (path `{}`)", c.group.path),
    })
}

/// The account's distributions as the findings show them: `None` when they
/// were not read, `Err` with why when they could not be.
type Listed = Option<Result<Vec<SeenDistribution>, String>>;

/// Each distribution of the account with the buckets of its S3 origins and
/// the clients it goes with.
fn listed_distributions(
    inputs: &Inputs<'_>,
    candidates: &[Candidate<'_>],
    buckets: &BTreeMap<String, (Vec<ImportedBucket>, Vec<ImportedBucket>)>,
) -> Listed {
    let list = match inputs.distributions {
        Distributions::NotRead => return None,
        Distributions::Unreadable(why) => return Some(Err(one_line(why))),
        Distributions::Listed(list) => list,
    };
    let owners = |bucket: &str| -> Vec<&str> {
        buckets
            .iter()
            .filter(|(_, (exact, prefixes))| {
                exact.iter().any(|b| b.name == bucket)
                    || prefixes.iter().any(|p| bucket.starts_with(&p.name))
            })
            .map(|(client, _)| client.as_str())
            .collect()
    };
    let mut seen: Vec<SeenDistribution> = list
        .iter()
        .map(|d| {
            let origin_buckets: BTreeSet<String> =
                d.origins.iter().filter_map(|o| origin_bucket(o)).collect();
            let clients: BTreeSet<String> = origin_buckets
                .iter()
                .flat_map(|b| owners(b))
                .map(str::to_owned)
                .chain(
                    candidates
                        .iter()
                        .filter(|c| c.grants.distributions.contains(&d.id))
                        .map(|c| c.client.clone()),
                )
                .collect();
            SeenDistribution {
                id: d.id.clone(),
                domain_name: d.domain_name.clone(),
                aliases: d.aliases.clone(),
                comment: d.comment.clone(),
                origin_buckets: origin_buckets.into_iter().collect(),
                clients: clients.into_iter().collect(),
            }
        })
        .collect();
    seen.sort();
    Some(Ok(seen))
}

/// The bucket an origin's domain name names, for S3's REST and website
/// endpoints (`acme.s3.amazonaws.com`, `acme.s3.eu-west-1.amazonaws.com`,
/// `acme.s3-website-us-east-1.amazonaws.com`, ...); `None` for any other
/// origin, access points included (their names are not buckets').
pub(crate) fn origin_bucket(domain: &str) -> Option<String> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let host = domain
        .strip_suffix(".amazonaws.com")
        .or_else(|| domain.strip_suffix(".amazonaws.com.cn"))?;
    // The last `.s3` label that starts the endpoint: a bucket name may hold
    // `.s3` itself (`logs.s3.backup`), the endpoint follows it.
    let (at, _) = host.rmatch_indices(".s3").find(|(at, _)| {
        let rest = &host[at + 3..];
        (rest.is_empty() || rest.starts_with(['.', '-']))
            && !rest.starts_with("-accesspoint")
            && !rest.starts_with("-object-lambda")
    })?;
    let bucket = &host[..at];
    (!bucket.is_empty()).then(|| bucket.to_owned())
}

/// Distributions to suggest to client `c`: the ones that go with it alone
/// (every S3 origin its bucket, no other client naming them) and that its
/// group does not already name. A distribution that also serves another
/// client's bucket is suggested to none: granting it would let one client
/// invalidate the other's content.
fn suggestions(c: &Candidate<'_>, listed: &Listed) -> Vec<String> {
    let Some(Ok(seen)) = listed else {
        return Vec::new();
    };
    if c.grants.cloudfront_star.is_empty() {
        return Vec::new();
    }
    seen.iter()
        .filter(|d| d.clients == [c.client.as_str()] && !c.grants.distributions.contains(&d.id))
        .map(|d| d.id.clone())
        .collect()
}

/// The detail of a `cloudfront-wildcard` finding for the grant `at` of
/// `client`, and the distributions it shows.
fn cloudfront_star(
    at: &str,
    client: &str,
    listed: &Listed,
    suggested: &[String],
) -> (String, Option<DistributionsSeen>) {
    let head = format!("{at}: every distribution of the account; the file grants none");
    let seen = match listed {
        None => {
            return (
                format!(
                    "{head} until you list the client's distribution ids under `[clients.cloudfront]`"
                ),
                None,
            );
        }
        Some(Err(why)) => {
            return (
                format!(
                    "{head}; import {why}, so none is suggested: list the ids of client `{client}` under `[clients.cloudfront]` by hand"
                ),
                Some(DistributionsSeen {
                    error: Some(why.clone()),
                    listed: Vec::new(),
                    suggested: Vec::new(),
                }),
            );
        }
        Some(Ok(seen)) => seen,
    };
    let found = DistributionsSeen {
        error: None,
        listed: seen.clone(),
        suggested: suggested.to_vec(),
    };
    if seen.is_empty() {
        return (format!("{head}, and the account has none"), Some(found));
    }
    let items: Vec<String> = seen.iter().map(describe_distribution).collect();
    let verdict = if suggested.is_empty() {
        format!(
            "none serves only buckets of client `{client}`: list its distribution ids under `[clients.cloudfront]` by hand if it needs any"
        )
    } else {
        format!(
            "{} serve{} only buckets of client `{client}`: its file suggests {} under `[clients.cloudfront]`, commented out; uncomment once checked",
            backticked(suggested),
            if suggested.len() == 1 { "s" } else { "" },
            if suggested.len() == 1 { "it" } else { "them" }
        )
    };
    (
        format!(
            "{head}. The account's distributions: {}; {verdict}",
            items.join("; ")
        ),
        Some(found),
    )
}

/// `` `E1` (`d1.cloudfront.net`, aliases `cdn.acme.example`, comment
/// "site", S3 origin `acme-assets`) ``; names from the account are quoted
/// so that none can pass for the text around it.
fn describe_distribution(d: &SeenDistribution) -> String {
    let mut facts = vec![format!("`{}`", one_line(&d.domain_name))];
    if !d.aliases.is_empty() {
        let aliases: Vec<String> = d.aliases.iter().map(|a| one_line(a)).collect();
        facts.push(format!("aliases {}", backticked(&aliases)));
    }
    if !d.comment.is_empty() {
        facts.push(format!(
            "comment {}",
            serde_json::to_string(&d.comment).unwrap_or_default()
        ));
    }
    facts.push(if d.origin_buckets.is_empty() {
        "no S3 origin".to_owned()
    } else {
        format!(
            "S3 origin{} {}",
            if d.origin_buckets.len() == 1 { "" } else { "s" },
            backticked(&d.origin_buckets)
        )
    });
    format!("`{}` ({})", one_line(&d.id), facts.join(", "))
}

/// Text from the account on one line: control characters (a newline would
/// start a line of its own in the report) become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The access level of a set of granted S3 actions, and a note when it fits
/// none exactly. Then the widest level whose every action was granted is
/// chosen (the files take nothing new), or `read-only` when none was.
fn access(actions: &BTreeSet<String>) -> (Access, Option<String>) {
    if actions
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case("s3:*"))
    {
        return (Access::Full, None);
    }
    let level = |access: Access| -> Vec<&'static str> {
        let (bucket, object) = match access {
            Access::ReadOnly => (READ_ONLY_BUCKET_ACTIONS, READ_ONLY_OBJECT_ACTIONS),
            _ => (READ_WRITE_BUCKET_ACTIONS, READ_WRITE_OBJECT_ACTIONS),
        };
        bucket.iter().chain(object).copied().collect()
    };
    let covered = |access: Access| {
        level(access)
            .iter()
            .all(|want| actions.iter().any(|a| wildcard_match(a, want, true)))
    };
    let within = |access: Access| {
        let list = level(access);
        actions
            .iter()
            .all(|a| list.iter().any(|l| l.eq_ignore_ascii_case(a)))
    };
    for access in [Access::ReadWrite, Access::ReadOnly] {
        if covered(access) && within(access) {
            return (access, None);
        }
    }
    let chosen = [Access::ReadWrite, Access::ReadOnly]
        .into_iter()
        .find(|a| covered(*a))
        .unwrap_or(Access::ReadOnly);
    let granted: Vec<String> = actions.iter().cloned().collect();
    (
        chosen,
        Some(format!(
            "S3 actions that fit no access level exactly ({})",
            backticked(&granted)
        )),
    )
}
