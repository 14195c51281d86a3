//! IAM policy documents: the group policy provision writes, and the tools to
//! compare it with what IAM reports.
//!
//! Everything here is pure. [`group_policy`] builds the inline policy of a
//! client's group; [`decode_document`] and [`normalize`] turn what IAM returns
//! into the same canonical form, so that the planner can compare the two with
//! `==`; [`size`] checks the quota at plan time (SPEC, Guarantee 7); [`diff`]
//! shows an update in `provision plan`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use similar::udiff::UnifiedHunkHeader;
use similar::{ChangeTag, TextDiff};

use crate::model::{Access, AccountQuotas, App, Client};
use crate::policy::arn::{bucket_arn, distribution_arn, objects_arn, prefix_arn};

/// The policy language version every generated document declares.
pub const POLICY_VERSION: &str = "2012-10-17";

/// IAM's default quota on the total size of a group's inline policies, in
/// characters not counting whitespace (see [`size`]).
pub const GROUP_INLINE_POLICY_LIMIT: usize = AccountQuotas::AWS_DEFAULTS.group_policy_size;

/// IAM's quota on the total size of a user's inline policies
/// (`UserPolicySizeQuota`, 2,048 characters not counting whitespace): an
/// app of `[[clients.apps]]` holds its grant there.
pub const USER_INLINE_POLICY_LIMIT: usize = 2048;

/// IAM's default quota on the length of a role's trust policy
/// ("Role trust policy length", 2,048 characters not counting whitespace):
/// it may be raised to 4,096 on request, but provision cannot read it.
pub const ROLE_TRUST_POLICY_LIMIT: usize = 2048;

/// IAM's default quota on the size of a customer managed policy (such as
/// the boundary), in characters not counting whitespace. A client whose
/// policy does not fit the group's inline quota gets a managed policy
/// attached to its group instead.
pub const MANAGED_POLICY_LIMIT: usize = AccountQuotas::AWS_DEFAULTS.managed_policy_size;

// The action lists below are each sorted, because a generated document must
// already be in [`normalize`]d form; a unit test keeps them so. Every list is
// complete (read-write repeats read-only) so that other modules (the
// permissions boundary, a policy linter) can use one constant per level
// without assembling it.
//
// None of them contains `s3:ListAllMyBuckets`: that action only works with
// `"Resource": "*"`, so granting it would let every client's keys list the
// names of every other client's buckets, which breaks isolation (SPEC,
// Guarantee 1). Clients address their buckets by name instead.

/// Bucket-level actions of `read-only`: list the bucket and find its region.
pub const READ_ONLY_BUCKET_ACTIONS: &[&str] = &["s3:GetBucketLocation", "s3:ListBucket"];

/// Object-level actions of `read-only`: get objects and their versions.
pub const READ_ONLY_OBJECT_ACTIONS: &[&str] = &["s3:GetObject", "s3:GetObjectVersion"];

/// Bucket-level actions of `read-write`: read-only plus listing in-progress
/// multipart uploads (needed to resume or clean them up).
pub const READ_WRITE_BUCKET_ACTIONS: &[&str] = &[
    "s3:GetBucketLocation",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
];

/// Object-level actions of `read-write`: read-only plus put, delete (objects
/// and versions) and multipart uploads. No ACL, bucket policy or IAM action:
/// the SPEC reserves those for `full`.
pub const READ_WRITE_OBJECT_ACTIONS: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
];

/// Actions of `full`, at both bucket and object level: all of S3, confined by
/// the resources to the client's own buckets.
pub const FULL_ACTIONS: &[&str] = &["s3:*"];

/// CloudFront actions granted on each of a client's distributions: create
/// invalidations and follow their progress, nothing else.
pub const CLOUDFRONT_ACTIONS: &[&str] = &[
    "cloudfront:CreateInvalidation",
    "cloudfront:GetInvalidation",
    "cloudfront:ListInvalidations",
];

/// `Sid` of the statement granting bucket-level actions on exact buckets.
pub const SID_BUCKETS: &str = "S3Buckets";
/// `Sid` of the statement granting object-level actions in exact buckets.
pub const SID_OBJECTS: &str = "S3Objects";
/// `Sid` of the statement granting both levels on bucket prefixes.
pub const SID_PREFIXES: &str = "S3Prefixes";
/// `Sid` of the statement granting CloudFront invalidations.
pub const SID_CLOUDFRONT: &str = "CloudFrontInvalidations";

/// The condition key every S3 statement of a group policy tests against the
/// account's id, so that its grants reach only buckets this account owns.
pub const RESOURCE_ACCOUNT_KEY: &str = "s3:ResourceAccount";

/// Every access level, lowest first.
const ACCESS_LEVELS: [Access; 3] = [Access::ReadOnly, Access::ReadWrite, Access::Full];

/// The `Sid` of the statement (`base`: [`SID_BUCKETS`] or [`SID_OBJECTS`])
/// for the buckets whose `bucket_access` is `level`, other than the
/// client's own: `S3BucketsReadOnly`. A `Sid` holds letters and digits
/// only.
pub fn level_sid(base: &str, level: Access) -> String {
    let camel: String = level
        .as_str()
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    format!("{base}{camel}")
}

/// The level a `Sid` written by [`level_sid`] names, with its base.
fn parse_level_sid(sid: &str) -> Option<(&'static str, Access)> {
    [SID_BUCKETS, SID_OBJECTS].into_iter().find_map(|base| {
        ACCESS_LEVELS
            .into_iter()
            .find(|level| level_sid(base, *level) == sid)
            .map(|level| (base, level))
    })
}

/// The inline policy (IAM name `provision-s3`) of application user `app`
/// of `client` (`[[clients.apps]]`): what [`group_policy`] writes for a
/// client with the app's buckets, prefixes and access level, and the
/// client's CloudFront distributions, as the one `app_user` has through
/// the group. `bucket_access` is the developers' and does not apply.
pub fn app_policy(app: &App, client: &Client, account_id: &str) -> Value {
    group_policy(&app_grant(app, client), account_id)
}

/// The client whose group policy is `app`'s own (see [`app_policy`]).
pub fn app_grant(app: &App, client: &Client) -> Client {
    Client {
        buckets: app.buckets.clone(),
        bucket_prefixes: app.bucket_prefixes.clone(),
        access: app.access,
        bucket_access: BTreeMap::new(),
        developers: Vec::new(),
        membership_expires: BTreeMap::new(),
        app_user: None,
        apps: Vec::new(),
        ..client.clone()
    }
}

/// Bucket-level actions granted by `access`, sorted.
pub fn bucket_actions(access: Access) -> &'static [&'static str] {
    match access {
        Access::ReadOnly => READ_ONLY_BUCKET_ACTIONS,
        Access::ReadWrite => READ_WRITE_BUCKET_ACTIONS,
        Access::Full => FULL_ACTIONS,
    }
}

/// Object-level actions granted by `access`, sorted.
pub fn object_actions(access: Access) -> &'static [&'static str] {
    match access {
        Access::ReadOnly => READ_ONLY_OBJECT_ACTIONS,
        Access::ReadWrite => READ_WRITE_OBJECT_ACTIONS,
        Access::Full => FULL_ACTIONS,
    }
}

/// The inline policy (IAM name `provision-s3`) of `client`'s group.
///
/// The document is deterministic and already [`normalize`]d: resources are
/// sorted and deduplicated, so the order of buckets in the file does not
/// matter, and comparing it with a normalized observed document tells whether
/// an update is needed.
///
/// Its statements, each present only when it has resources, in this order:
/// [`SID_BUCKETS`] (bucket-level actions on `arn:aws:s3:::<bucket>`),
/// [`SID_OBJECTS`] (object-level actions on `arn:aws:s3:::<bucket>/*`),
/// [`SID_PREFIXES`] (both on `arn:aws:s3:::<prefix>*`) and [`SID_CLOUDFRONT`].
/// `full` keeps the same statements with `s3:*` as their action, so changing a
/// client's access level shows in `provision plan` as a change of the action
/// lines only. The three S3 statements carry the condition
/// `StringEquals` [`RESOURCE_ACCOUNT_KEY`] = `account_id`: a name (or a
/// prefix) grants nothing on a bucket of another account.
///
/// A client with no bucket, prefix or distribution gets an empty `Statement`
/// array, which IAM rejects; configuration validation is expected to refuse
/// such a client.
///
/// The names are used verbatim: bucket names and prefixes must have passed
/// validation (S3 naming rules forbid `*` and `?`, which would widen the grant
/// to other clients' buckets).
pub fn group_policy(client: &Client, account_id: &str) -> Value {
    group_policy_of(client, account_id, Some(account_id))
}

/// [`group_policy`], with its S3 statements confined to buckets of
/// `resource_account` (or, for `None`, in the form provision wrote before
/// it added that condition, which [`written_by_provision`] still
/// recognizes).
pub(crate) fn group_policy_of(
    client: &Client,
    account_id: &str,
    resource_account: Option<&str>,
) -> Value {
    debug_assert!(
        client
            .buckets
            .iter()
            .chain(&client.bucket_prefixes)
            .chain(&client.distributions)
            .all(|name| !name.contains(['*', '?'])),
        "IAM wildcards in names would reach other clients' resources: {client:?}"
    );

    // Buckets at the client's own level go into the two statements every
    // client has; those `bucket_access` sets to another level into a pair
    // of statements per level (see [`level_sid`]). Without `bucket_access`
    // the document is exactly the one of a single level.
    let at = |level: Access| -> Vec<&String> {
        client
            .buckets
            .iter()
            .filter(|b| client.access_to(b) == level)
            .collect()
    };
    let buckets: BTreeSet<String> = at(client.access).iter().map(|b| bucket_arn(b)).collect();
    let objects: BTreeSet<String> = at(client.access).iter().map(|b| objects_arn(b)).collect();
    let prefixes: BTreeSet<String> = client
        .bucket_prefixes
        .iter()
        .map(|p| prefix_arn(p))
        .collect();
    let distributions: BTreeSet<String> = client
        .distributions
        .iter()
        .map(|id| distribution_arn(account_id, id))
        .collect();

    // A `prefix*` resource stands for buckets and objects at once, so its
    // statement carries the actions of both levels.
    let prefix_actions: BTreeSet<&str> = bucket_actions(client.access)
        .iter()
        .chain(object_actions(client.access))
        .copied()
        .collect();

    // Bucket names are global, and an ARN `arn:aws:s3:::acme-*` names
    // buckets of every account: without the condition, a client's grant
    // would reach a bucket someone else created under a matching name (and
    // let its keys copy data there). The value is an array, the
    // [`normalize`]d form.
    let s3_condition =
        resource_account.map(|account| json!({"StringEquals": {RESOURCE_ACCOUNT_KEY: [account]}}));
    let mut statements = Vec::new();
    let mut push = |sid: &str, actions: Vec<&str>, resources: BTreeSet<String>, s3: bool| {
        if !resources.is_empty() {
            let mut statement = json!({
                "Sid": sid,
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources,
            });
            if let (true, Some(condition)) = (s3, &s3_condition) {
                statement["Condition"] = condition.clone();
            }
            statements.push(statement);
        }
    };
    push(
        SID_BUCKETS,
        bucket_actions(client.access).to_vec(),
        buckets,
        true,
    );
    push(
        SID_OBJECTS,
        object_actions(client.access).to_vec(),
        objects,
        true,
    );
    for level in ACCESS_LEVELS.into_iter().filter(|l| *l != client.access) {
        let named = at(level);
        push(
            &level_sid(SID_BUCKETS, level),
            bucket_actions(level).to_vec(),
            named.iter().map(|b| bucket_arn(b)).collect(),
            true,
        );
        push(
            &level_sid(SID_OBJECTS, level),
            object_actions(level).to_vec(),
            named.iter().map(|b| objects_arn(b)).collect(),
            true,
        );
    }
    push(
        SID_PREFIXES,
        prefix_actions.into_iter().collect(),
        prefixes,
        true,
    );
    push(
        SID_CLOUDFRONT,
        CLOUDFRONT_ACTIONS.to_vec(),
        distributions,
        false,
    );

    json!({
        "Version": POLICY_VERSION,
        "Statement": statements,
    })
}

/// Statement keys whose value may be a string or an array of strings, with
/// the same meaning either way and regardless of order.
const LIST_KEYS: &[&str] = &["Action", "NotAction", "Resource", "NotResource"];

/// Statement keys holding a principal: `"*"` or a map from principal type to
/// a string or an array.
const PRINCIPAL_KEYS: &[&str] = &["Principal", "NotPrincipal"];

// Comparing and intersecting grants.
//
// The planner must know whether a new group policy takes anything away
// from the live one, and if so write what both allow first (SPEC,
// Guarantee 1: a bucket moved between clients is never granted to both).
// These functions reason about the documents as IAM evaluates them, with
// its wildcards: `*` matches any run of characters (`/` and `:` included)
// and `?` exactly one, case-insensitively in actions and case-sensitively
// in resources, the rules `evaluate` applies too.

/// One `Allow` of a document that names its actions and resources: an
/// action pattern on a resource pattern, under a condition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    /// The action as written, shown in documents built from grants.
    action: String,
    /// The action lowercased, the form IAM compares actions in.
    action_key: String,
    resource: String,
    /// The statement's normalized `Condition` as compact JSON; `None` when
    /// it has none (or an empty one).
    condition: Option<String>,
}

/// A document split into what the comparisons can reason about.
#[derive(Debug, Default)]
struct Split {
    /// Every (action, resource, condition) of the `Allow` statements that
    /// list `Action` and `Resource`.
    grants: BTreeSet<Grant>,
    /// `Allow` statements that cannot be split so (`NotAction`,
    /// `NotResource`, a missing or non-string element), without `Sid`:
    /// only ever compared whole.
    opaque: Vec<Value>,
    /// Every other statement (`Deny`), without `Sid`.
    denies: Vec<Value>,
}

/// Splits `doc` (normalized first) into grants and whole statements.
fn split(doc: &Value) -> Split {
    let mut out = Split::default();
    let normalized = normalize(doc);
    let statements = match normalized.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    for mut statement in statements {
        if let Value::Object(map) = &mut statement {
            map.remove("Sid");
        }
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            push_unique(&mut out.denies, statement);
            continue;
        }
        let names = |key: &str| -> Option<Vec<String>> {
            statement
                .get(key)?
                .as_array()?
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let negated =
            statement.get("NotAction").is_some() || statement.get("NotResource").is_some();
        let (Some(actions), Some(resources), false) = (names("Action"), names("Resource"), negated)
        else {
            push_unique(&mut out.opaque, statement);
            continue;
        };
        let condition = statement
            .get("Condition")
            .filter(|c| c.as_object().is_none_or(|m| !m.is_empty()))
            .map(Value::to_string);
        for action in &actions {
            for resource in &resources {
                out.grants.insert(Grant {
                    action: action.clone(),
                    action_key: action.to_lowercase(),
                    resource: resource.clone(),
                    condition: condition.clone(),
                });
            }
        }
    }
    out
}

fn push_unique(list: &mut Vec<Value>, item: Value) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// True when every string `narrow` matches, `wide` matches too: IAM's
/// wildcards in both, `*` any run of characters and `?` exactly one.
/// Exact for any two patterns (not only the shapes provision writes), so
/// a narrowing computed from it never grants what one side does not.
fn pattern_covers(wide: &str, narrow: &str) -> bool {
    // Every string `wide` matches starts with its literal head, so `narrow`
    // must start with the same text: a wildcard of `narrow` there would
    // match other characters too.
    let head = wide.find(['*', '?']).unwrap_or(wide.len());
    let Some(narrow) = narrow.strip_prefix(&wide[..head]) else {
        return false;
    };
    let wide: Vec<char> = wide[head..].chars().collect();
    let narrow: Vec<char> = narrow.chars().collect();
    // The characters `wide` tells apart, plus `None` for every other one:
    // no two characters of one class are treated differently by `wide`.
    let mut alphabet: Vec<Option<char>> = wide
        .iter()
        .filter(|c| !matches!(c, '*' | '?'))
        .map(|&c| Some(c))
        .collect();
    alphabet.sort_unstable();
    alphabet.dedup();
    alphabet.push(None);
    // Run both patterns' automata side by side, as sets of states, on
    // every class; a reachable pair where `narrow` accepts and `wide` does
    // not is a string only `narrow` matches.
    let start = (closure(&narrow, vec![0]), closure(&wide, vec![0]));
    let mut seen = BTreeSet::from([start.clone()]);
    let mut queue = vec![start];
    while let Some((n, w)) = queue.pop() {
        if n.contains(&narrow.len()) && !w.contains(&wide.len()) {
            return false;
        }
        for class in &alphabet {
            let next = (
                step(&narrow, &n, *class, &alphabet),
                step(&wide, &w, *class, &alphabet),
            );
            if !next.0.is_empty() && seen.insert(next.clone()) {
                queue.push(next);
            }
        }
    }
    true
}

/// The states a glob automaton is in after `states`: state `i` has matched
/// the first `i` symbols of `pattern`, and a `*` may match nothing.
fn closure(pattern: &[char], mut states: Vec<usize>) -> Vec<usize> {
    let mut i = 0;
    while i < states.len() {
        let s = states[i];
        if pattern.get(s) == Some(&'*') && !states.contains(&(s + 1)) {
            states.push(s + 1);
        }
        i += 1;
    }
    states.sort_unstable();
    states
}

/// The states after reading one character of `class` (see
/// [`pattern_covers`]; `None` is any character not in `alphabet`).
fn step(
    pattern: &[char],
    states: &[usize],
    class: Option<char>,
    alphabet: &[Option<char>],
) -> Vec<usize> {
    let mut next = Vec::new();
    for &s in states {
        let to = match pattern.get(s) {
            Some('*') => s,
            Some('?') => s + 1,
            Some(&c) if class.map_or(!alphabet.contains(&Some(c)), |k| k == c) => s + 1,
            _ => continue,
        };
        if !next.contains(&to) {
            next.push(to);
        }
    }
    closure(pattern, next)
}

/// True when `wide` allows every request `narrow` does: same or wider
/// action and resource, and no condition or the same one.
fn grant_covers(wide: &Grant, narrow: &Grant) -> bool {
    (wide.condition.is_none() || wide.condition == narrow.condition)
        && pattern_covers(&wide.resource, &narrow.resource)
        && pattern_covers(&wide.action_key, &narrow.action_key)
}

/// True when `narrow` allows nothing `wide` does not: each of its grants is
/// covered by one of `wide`'s, each statement that cannot be split into
/// grants is in `wide` as well, and it keeps every `Deny` of `wide`.
/// Errs towards `false` (two grants that together cover a third are not
/// seen to), which only ever makes the planner narrow first.
pub fn covers(wide: &Value, narrow: &Value) -> bool {
    let (w, n) = (split(wide), split(narrow));
    n.grants
        .iter()
        .all(|g| w.grants.iter().any(|h| grant_covers(h, g)))
        && n.opaque.iter().all(|s| w.opaque.contains(s))
        && w.denies.iter().all(|s| n.denies.contains(s))
}

/// The narrower of two patterns when one covers the other; `None` when
/// neither does (they may overlap, but dropping the pair never grants
/// more than either side).
fn narrower(a: &str, b: &str, a_key: &str, b_key: &str) -> Option<String> {
    if pattern_covers(b_key, a_key) {
        Some(a.to_owned())
    } else if pattern_covers(a_key, b_key) {
        Some(b.to_owned())
    } else {
        None
    }
}

/// What two grants both allow, when it is a grant itself.
fn grant_intersection(a: &Grant, b: &Grant) -> Option<Grant> {
    let condition = match (&a.condition, &b.condition) {
        (None, c) | (c, None) => c.clone(),
        (Some(x), Some(y)) if x == y => Some(x.clone()),
        _ => return None,
    };
    let action = narrower(&a.action, &b.action, &a.action_key, &b.action_key)?;
    let resource = narrower(&a.resource, &b.resource, &a.resource, &b.resource)?;
    Some(Grant {
        action_key: action.to_lowercase(),
        action,
        resource,
        condition,
    })
}

/// What both `a` and `b` allow, as a document that allows no more than
/// either: for each pair of their grants, the narrower one when one covers
/// the other (per element: action, resource, condition); statements that
/// cannot be split into grants only when both have them; and every `Deny`
/// of both. `None` when nothing is left, not even a `Deny`: IAM refuses a
/// policy without statements, so the caller removes the policy instead.
pub fn intersection(a: &Value, b: &Value) -> Option<Value> {
    let (a, b) = (split(a), split(b));
    let mut grants = BTreeSet::new();
    for g in &a.grants {
        for h in &b.grants {
            grants.extend(grant_intersection(g, h));
        }
    }
    let mut statements = allow_statements(&grants);
    statements.extend(a.opaque.iter().filter(|s| b.opaque.contains(s)).cloned());
    for deny in a.denies.into_iter().chain(b.denies) {
        push_unique(&mut statements, deny);
    }
    (!statements.is_empty()).then(|| {
        normalize(&json!({
            "Version": POLICY_VERSION,
            "Statement": statements,
        }))
    })
}

/// `Allow` statements granting exactly `grants`: resources with the same
/// actions and condition share a statement. Sorted by condition, then
/// resources, so a bucket's statement comes before its objects', as in
/// [`group_policy`].
fn allow_statements(grants: &BTreeSet<Grant>) -> Vec<Value> {
    let mut actions: BTreeMap<(&Option<String>, &str), BTreeSet<&str>> = BTreeMap::new();
    for g in grants {
        actions
            .entry((&g.condition, g.resource.as_str()))
            .or_default()
            .insert(g.action.as_str());
    }
    let mut resources: BTreeMap<(&Option<String>, BTreeSet<&str>), BTreeSet<&str>> =
        BTreeMap::new();
    for ((condition, resource), actions) in actions {
        resources
            .entry((condition, actions))
            .or_default()
            .insert(resource);
    }
    let mut statements: Vec<_> = resources
        .into_iter()
        .map(|((condition, actions), resources)| (condition, resources, actions))
        .collect();
    statements.sort();
    statements
        .into_iter()
        .map(|(condition, resources, actions)| {
            let mut statement = json!({
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources,
            });
            if let Some(condition) = condition {
                // Written by `split` from a parsed value, so it parses.
                statement["Condition"] = serde_json::from_str(condition).unwrap_or(Value::Null);
            }
            statement
        })
        .collect()
}

/// True when `doc` is exactly what [`group_policy`] writes for some client
/// (some buckets, prefixes, distributions and access level): a policy
/// provision wrote, from this configuration or an earlier one, as opposed
/// to a hand edit. Buckets and prefixes must be free of wildcards and not
/// empty, as validation requires.
pub fn written_by_provision(doc: &Value, account_id: &str) -> bool {
    let Some(Value::Array(statements)) = doc.get("Statement") else {
        return false;
    };
    let distribution_head = distribution_arn(account_id, "");
    let mut client = Client {
        name: String::new(),
        buckets: Vec::new(),
        bucket_prefixes: Vec::new(),
        access: Access::ReadOnly,
        developers: Vec::new(),
        membership_expires: Default::default(),
        bucket_access: Default::default(),
        apps: Vec::new(),
        app_user: None,
        roles: Vec::new(),
        distributions: Vec::new(),
        source: Default::default(),
    };
    for statement in statements {
        let resources = statement
            .get("Resource")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        let sid = statement.get("Sid").and_then(Value::as_str);
        // A statement of `bucket_access` names its buckets' level.
        let level = sid.and_then(parse_level_sid);
        let (list, head, tail) = match sid {
            _ if level.is_some_and(|(base, _)| base == SID_OBJECTS) => continue,
            _ if level.is_some() => (&mut client.buckets, bucket_arn(""), ""),
            Some(SID_BUCKETS) => (&mut client.buckets, bucket_arn(""), ""),
            Some(SID_PREFIXES) => (&mut client.bucket_prefixes, bucket_arn(""), "*"),
            Some(SID_CLOUDFRONT) => (&mut client.distributions, distribution_head.clone(), ""),
            // The objects statement follows from the buckets; the
            // comparison below checks it.
            Some(SID_OBJECTS) => continue,
            _ => return false,
        };
        for resource in resources {
            let name = resource
                .strip_prefix(head.as_str())
                .and_then(|r| r.strip_suffix(tail));
            match name {
                Some(name) if !name.is_empty() && !name.contains(['*', '?']) => {
                    list.push(name.to_owned());
                    if let Some((_, level)) = level {
                        client.bucket_access.insert(name.to_owned(), level);
                    }
                }
                _ => return false,
            }
        }
    }
    // Both forms are provision's: the one it writes now, and the one it
    // wrote before its S3 statements carried the resource account. An old
    // one is a change of configuration to apply, not a hand edit.
    [Access::ReadOnly, Access::ReadWrite, Access::Full]
        .into_iter()
        .any(|access| {
            client.access = access;
            [Some(account_id), None]
                .into_iter()
                .any(|resource_account| {
                    group_policy_of(&client, account_id, resource_account) == *doc
                })
        })
}

/// True when `condition` (a statement's `Condition`) is the one
/// [`group_policy`] puts on its S3 statements for `account_id`, in any of
/// the forms IAM treats alike (a string or a one-element array).
pub fn is_resource_account_condition(condition: &Value, account_id: &str) -> bool {
    normalize_nested("Condition", condition)
        == json!({"StringEquals": {RESOURCE_ACCOUNT_KEY: [account_id]}})
}

/// The canonical form of a policy document, so that two documents IAM treats
/// the same compare equal with `==` whatever their formatting.
///
/// - `Statement` is always an array (a single statement object is wrapped).
/// - In each statement, `Action`, `NotAction`, `Resource` and `NotResource`
///   become sorted, deduplicated arrays; so do the values inside `Principal`
///   and `NotPrincipal` maps and inside each `Condition` operator. A bare
///   `"Principal": "*"` is kept as is: `["*"]` would not be a valid principal.
/// - Object keys are sorted. serde_json's `Map` is a `BTreeMap` in this crate
///   (its `preserve_order` feature is off), so this holds for any parsed value.
///
/// Statement order is kept: it has no meaning to IAM, but reordering would
/// make a diff of two versions harder to read. Values are otherwise left as
/// written: case (`s3:getobject`) and scalar types (`true` vs `"true"` in a
/// condition) are not unified, since IAM returns documents as they were
/// submitted and provision always submits its own canonical form.
pub fn normalize(doc: &Value) -> Value {
    let Value::Object(doc) = doc else {
        return doc.clone();
    };
    let mut out = doc.clone();
    if let Some(statement) = out.get_mut("Statement") {
        let statements = match statement.take() {
            Value::Array(items) => items,
            single => vec![single],
        };
        *statement = Value::Array(statements.iter().map(normalize_statement).collect());
    }
    Value::Object(out)
}

/// One statement in canonical form (see [`normalize`]).
fn normalize_statement(statement: &Value) -> Value {
    let Value::Object(statement) = statement else {
        return statement.clone();
    };
    let mut out = Map::new();
    for (key, value) in statement {
        let value = if LIST_KEYS.contains(&key.as_str()) {
            set_of(value)
        } else if PRINCIPAL_KEYS.contains(&key.as_str()) || key == "Condition" {
            normalize_nested(key, value)
        } else {
            value.clone()
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

/// A `Principal` map (`{"AWS": ...}`) or a `Condition` block
/// (`{"StringEquals": {"aws:username": ...}}`) with its leaves as sets.
fn normalize_nested(key: &str, value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if key == "Condition" {
                        // One level deeper: operator -> condition key -> values.
                        match v {
                            Value::Object(inner) => Value::Object(
                                inner
                                    .iter()
                                    .map(|(ck, cv)| (ck.clone(), set_of(cv)))
                                    .collect(),
                            ),
                            other => other.clone(),
                        }
                    } else {
                        set_of(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        // `"Principal": "*"` and malformed values are kept as written.
        other => other.clone(),
    }
}

/// A string-or-array value as a sorted, deduplicated array.
fn set_of(value: &Value) -> Value {
    let mut items = match value {
        Value::Array(items) => items.clone(),
        single => vec![single.clone()],
    };
    items.sort_by(compare_values);
    items.dedup();
    Value::Array(items)
}

/// A total order on JSON values: strings first, by their text (the order a
/// `BTreeSet<String>` gives, which [`group_policy`] relies on), then anything
/// else by its compact serialization.
fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::String(_), _) => Ordering::Less,
        (_, Value::String(_)) => Ordering::Greater,
        (a, b) => a.to_string().cmp(&b.to_string()),
    }
}

/// Why a policy document from IAM could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The percent-decoded bytes are not UTF-8, so the text was not an
    /// encoded policy document.
    #[error("the policy document is not valid UTF-8 once percent-decoded")]
    InvalidUtf8(#[source] std::str::Utf8Error),
    /// The text is not JSON.
    #[error("the policy document is not valid JSON")]
    InvalidJson(#[source] serde_json::Error),
    /// The text is JSON, but not an object, which every policy document is.
    #[error("the policy document is a JSON {found}, not an object")]
    NotAnObject {
        /// The kind of JSON value found instead (`array`, `string`, ...).
        found: &'static str,
    },
}

/// A policy document as IAM returns it, parsed and [`normalize`]d.
///
/// `GetAccountAuthorizationDetails`, `GetGroupPolicy` and friends return the
/// document percent-encoded (RFC 3986: `%7B%22Version%22...`). That is not
/// form encoding, so `+` is a literal plus and spaces arrive as `%20`.
/// Already-decoded text is accepted too, recognized by starting with `{`:
/// decoding it again would corrupt a document that legitimately contains `%`
/// (in a condition value, say), while an encoded document never starts with a
/// raw `{`.
pub fn decode_document(raw: &str) -> Result<Value, PolicyError> {
    let raw = raw.trim();
    let value: Value = if raw.starts_with('{') {
        serde_json::from_str(raw)
    } else {
        let decoded = percent_decode_str(raw)
            .decode_utf8()
            .map_err(PolicyError::InvalidUtf8)?;
        serde_json::from_str(&decoded)
    }
    .map_err(PolicyError::InvalidJson)?;
    if !value.is_object() {
        return Err(PolicyError::NotAnObject {
            found: json_kind(&value),
        });
    }
    Ok(normalize(&value))
}

/// The name of a JSON value's kind, for error messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The size of `doc` as counted against IAM's policy quotas such as
/// [`GROUP_INLINE_POLICY_LIMIT`].
///
/// IAM "doesn't count white space", without saying whether that includes
/// spaces inside strings. This counts the characters (not bytes) of the
/// compact JSON serialization, which has no whitespace outside strings, and
/// keeps any whitespace inside strings: if IAM does skip those too, the count
/// is a little high and the plan-time check errs on the safe side rather than
/// letting an apply fail halfway (SPEC, Guarantee 7). The documents provision
/// generates contain no whitespace at all, so for them the two readings agree.
pub fn size(doc: &Value) -> usize {
    doc.to_string().chars().count()
}

/// `doc` as pretty JSON with a two-space indent and sorted keys, with no
/// trailing newline. Stable: equal values always print the same.
pub fn to_pretty(doc: &Value) -> String {
    // Serializing a `Value` cannot fail: its keys are always strings.
    serde_json::to_string_pretty(doc).expect("a JSON value always serializes")
}

/// Lines of context shown around each change by [`diff`].
const DIFF_CONTEXT: usize = 3;

/// A line diff of the pretty forms of two documents, for `provision plan`.
///
/// Unified style: each hunk starts with an `@@ -old +new @@` header, then
/// lines prefixed `- ` (removed), `+ ` (added) or two spaces (context, up to
/// three lines around each change). Returns an empty string when the pretty
/// forms are equal. Pass [`normalize`]d documents, as the model holds, so that
/// formatting differences do not show as changes.
pub fn diff(before: &Value, after: &Value) -> String {
    // A final newline on both sides keeps the last line comparable; without
    // it `}` and `}\n` would count as different lines.
    let before = to_pretty(before) + "\n";
    let after = to_pretty(after) + "\n";
    let text_diff = TextDiff::from_lines(&before, &after);
    let mut out = String::new();
    for group in text_diff.grouped_ops(DIFF_CONTEXT) {
        let header = UnifiedHunkHeader::new(&group);
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{header}");
        for op in &group {
            for change in text_diff.iter_changes(op) {
                let prefix = match change.tag() {
                    ChangeTag::Delete => "- ",
                    ChangeTag::Insert => "+ ",
                    ChangeTag::Equal => "  ",
                };
                let _ = write!(out, "{prefix}{}", change.value());
            }
        }
    }
    out
}

/// The statements of a policy document, whether `Statement` is one object
/// or an array.
pub(crate) fn statements(doc: &Value) -> Vec<&serde_json::Map<String, Value>> {
    match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(one)) => vec![one],
        _ => Vec::new(),
    }
}

/// A string-or-array policy element as a list of strings.
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use insta::assert_snapshot;
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

    use super::*;

    const ACCOUNT: &str = "123456789012";

    fn client(
        access: Access,
        buckets: &[&str],
        prefixes: &[&str],
        distributions: &[&str],
    ) -> Client {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Client {
            name: "acme".to_owned(),
            buckets: strings(buckets),
            bucket_prefixes: strings(prefixes),
            access,
            developers: vec!["alice".to_owned()],
            membership_expires: Default::default(),
            bucket_access: Default::default(),
            apps: Vec::new(),
            app_user: Some("acme-app".to_owned()),
            roles: Vec::new(),
            distributions: strings(distributions),
            source: PathBuf::from("clients/acme.toml"),
        }
    }

    fn policy(client: &Client) -> String {
        to_pretty(&group_policy(client, ACCOUNT))
    }

    #[test]
    fn action_lists_are_sorted_and_deduplicated() {
        for list in [
            READ_ONLY_BUCKET_ACTIONS,
            READ_ONLY_OBJECT_ACTIONS,
            READ_WRITE_BUCKET_ACTIONS,
            READ_WRITE_OBJECT_ACTIONS,
            FULL_ACTIONS,
            CLOUDFRONT_ACTIONS,
        ] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
    }

    #[test]
    fn read_write_includes_read_only() {
        for action in READ_ONLY_BUCKET_ACTIONS {
            assert!(READ_WRITE_BUCKET_ACTIONS.contains(action), "{action}");
        }
        for action in READ_ONLY_OBJECT_ACTIONS {
            assert!(READ_WRITE_OBJECT_ACTIONS.contains(action), "{action}");
        }
    }

    #[test]
    fn no_level_grants_list_all_my_buckets() {
        for access in [Access::ReadOnly, Access::ReadWrite, Access::Full] {
            let text = policy(&client(access, &["acme-assets"], &["acme-"], &["E1"]));
            assert!(!text.contains("ListAllMyBuckets"), "{text}");
            assert!(!text.contains("\"*\""), "a bare `*` resource: {text}");
        }
    }

    #[test]
    fn read_only_exact_buckets() {
        let c = client(
            Access::ReadOnly,
            &["acme-assets", "acme-assets-dev"],
            &[],
            &[],
        );
        assert_snapshot!(policy(&c));
    }

    #[test]
    fn read_write_exact_buckets() {
        let c = client(
            Access::ReadWrite,
            &["acme-assets", "acme-assets-dev"],
            &[],
            &[],
        );
        assert_snapshot!(policy(&c));
    }

    #[test]
    fn full_exact_buckets() {
        let c = client(Access::Full, &["acme-assets", "acme-assets-dev"], &[], &[]);
        assert_snapshot!(policy(&c));
    }

    #[test]
    fn read_write_prefixes() {
        let c = client(Access::ReadWrite, &[], &["acme-", "acmecorp-"], &[]);
        assert_snapshot!(policy(&c));
    }

    #[test]
    fn read_only_mixed_buckets_and_prefixes() {
        let c = client(Access::ReadOnly, &["acme-assets"], &["acme-logs-"], &[]);
        assert_snapshot!(policy(&c));
    }

    #[test]
    fn full_prefixes() {
        let c = client(Access::Full, &[], &["acme-"], &[]);
        assert_snapshot!(policy(&c));
    }

    #[test]
    fn read_write_with_cloudfront() {
        let c = client(
            Access::ReadWrite,
            &["acme-assets"],
            &[],
            &["E2QWRUHAPOMQZL", "E1ABCDEFGHIJKL"],
        );
        assert_snapshot!(policy(&c));
    }

    #[test]
    fn group_policy_is_deterministic() {
        let a = client(
            Access::ReadWrite,
            &["acme-b", "acme-a", "acme-c"],
            &["acme-y-", "acme-x-"],
            &["E2", "E1"],
        );
        let b = client(
            Access::ReadWrite,
            &["acme-c", "acme-b", "acme-a", "acme-b"],
            &["acme-x-", "acme-y-", "acme-x-"],
            &["E1", "E2", "E1"],
        );
        let a = serde_json::to_string(&group_policy(&a, ACCOUNT)).unwrap();
        let b = serde_json::to_string(&group_policy(&b, ACCOUNT)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.matches("arn:aws:s3:::acme-b\"").count(), 1, "{a}");
    }

    #[test]
    fn group_policy_is_already_normalized() {
        for access in [Access::ReadOnly, Access::ReadWrite, Access::Full] {
            let c = client(access, &["b-2", "b-1"], &["p-2-", "p-1-"], &["E2", "E1"]);
            let doc = group_policy(&c, ACCOUNT);
            assert_eq!(normalize(&doc), doc, "{access:?}");
        }
    }

    #[test]
    fn group_policy_omits_empty_statements() {
        let doc = group_policy(&client(Access::ReadOnly, &[], &["acme-"], &[]), ACCOUNT);
        let sids: Vec<&str> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(sids, [SID_PREFIXES]);
    }

    #[test]
    fn normalize_treats_string_and_array_alike() {
        let a: Value = serde_json::from_str(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
        )
        .unwrap();
        let b: Value = serde_json::from_str(
            r#"{"Statement":[{"Resource":["arn:aws:s3:::b/*"],"Action":["s3:GetObject"],"Effect":"Allow"}],"Version":"2012-10-17"}"#,
        )
        .unwrap();
        assert_eq!(normalize(&a), normalize(&b));
        assert!(normalize(&a)["Statement"][0]["Action"].is_array());
    }

    #[test]
    fn normalize_sorts_and_dedupes_lists() {
        let doc = json!({"Statement": [{
            "Effect": "Allow",
            "NotAction": ["s3:PutObject", "s3:GetObject", "s3:PutObject"],
            "NotResource": ["arn:aws:s3:::b", "arn:aws:s3:::a", "arn:aws:s3:::a"],
        }]});
        let expected = json!({"Statement": [{
            "Effect": "Allow",
            "NotAction": ["s3:GetObject", "s3:PutObject"],
            "NotResource": ["arn:aws:s3:::a", "arn:aws:s3:::b"],
        }]});
        assert_eq!(normalize(&doc), expected);
    }

    #[test]
    fn normalize_ignores_whitespace_and_key_order() {
        let compact = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["s3:ListBucket","s3:GetBucketLocation"],"Resource":"arn:aws:s3:::b"}]}"#;
        let spaced = "{\n  \"Statement\" : [ {\r\n\t\"Resource\" : [ \"arn:aws:s3:::b\" ],\n \"Action\": [\"s3:GetBucketLocation\" ,\"s3:ListBucket\", \"s3:ListBucket\"],\n \"Effect\":\"Allow\", \"Sid\": \"A\" } ],\n  \"Version\": \"2012-10-17\"\n}\n";
        let compact: Value = serde_json::from_str(compact).unwrap();
        let spaced: Value = serde_json::from_str(spaced).unwrap();
        assert_eq!(normalize(&compact), normalize(&spaced));
        assert_eq!(
            serde_json::to_string(&normalize(&compact)).unwrap(),
            serde_json::to_string(&normalize(&spaced)).unwrap()
        );
    }

    #[test]
    fn normalize_handles_principals_and_conditions() {
        let doc = json!({"Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Condition": {"StringEquals": {
                    "aws:username": ["bob", "alice", "bob"],
                    "aws:PrincipalTag/team": "web",
                }},
            },
            {"Effect": "Deny", "Principal": "*", "Condition": {"Bool": {"aws:SecureTransport": false}}},
        ]});
        let expected = json!({"Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]},
                "Condition": {"StringEquals": {
                    "aws:username": ["alice", "bob"],
                    "aws:PrincipalTag/team": ["web"],
                }},
            },
            {"Effect": "Deny", "Principal": "*", "Condition": {"Bool": {"aws:SecureTransport": [false]}}},
        ]});
        assert_eq!(normalize(&doc), expected);
        assert_eq!(normalize(&expected), expected, "normalize is idempotent");
    }

    /// Guards the assumption behind [`normalize`]'s sorted keys: enabling
    /// serde_json's `preserve_order` feature anywhere in the dependency graph
    /// would make key order, and so plans, depend on AWS's formatting.
    #[test]
    fn json_object_keys_are_sorted() {
        let doc: Value = serde_json::from_str(r#"{"b": 1, "a": 2}"#).unwrap();
        assert_eq!(doc.to_string(), r#"{"a":2,"b":1}"#);
    }

    #[test]
    fn normalize_keeps_statement_order() {
        let doc = json!({"Statement": [{"Sid": "Z"}, {"Sid": "A"}]});
        assert_eq!(normalize(&doc), doc);
    }

    /// A document with a `+` in a condition value, spaces, a `%` and
    /// non-ASCII text: every way a decoder could confuse form encoding with
    /// RFC 3986 or decode twice.
    const TRICKY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "Tricky", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/a+b c/100%/caf\u00e9-ü-日本", "Condition": {"StringLike": {"s3:prefix": "a+b c"}}}]}"#;

    #[test]
    fn decode_document_percent_decodes_iam_output() {
        let encoded = utf8_percent_encode(TRICKY, NON_ALPHANUMERIC).to_string();
        assert!(encoded.starts_with("%7B%22Version%22"), "{encoded}");
        assert!(
            encoded.contains("%2B") && encoded.contains("%20"),
            "{encoded}"
        );

        let decoded = decode_document(&encoded).unwrap();
        let statement = &decoded["Statement"][0];
        assert_eq!(
            statement["Resource"],
            json!(["arn:aws:s3:::b/a+b c/100%/café-ü-日本"])
        );
        assert_eq!(
            statement["Condition"]["StringLike"]["s3:prefix"],
            json!(["a+b c"])
        );
        assert_eq!(decoded, normalize(&serde_json::from_str(TRICKY).unwrap()));
    }

    #[test]
    fn decode_document_keeps_plus_as_plus() {
        // Form decoding would turn this `+` into a space.
        let decoded = decode_document("%7B%22Sid%22%3A%22a+b%22%7D").unwrap();
        assert_eq!(decoded, json!({"Sid": "a+b"}));
    }

    #[test]
    fn decode_document_accepts_decoded_text_with_percent() {
        // `%20` here is literal text; decoding it again would yield a space.
        let decoded = decode_document("  \n{\"Sid\": \"100%20off\"}\n").unwrap();
        assert_eq!(decoded, json!({"Sid": "100%20off"}));
    }

    #[test]
    fn decode_document_normalizes() {
        let raw = r#"{"Statement":{"Action":"s3:GetObject"}}"#;
        let encoded = utf8_percent_encode(raw, NON_ALPHANUMERIC).to_string();
        let expected = json!({"Statement": [{"Action": ["s3:GetObject"]}]});
        assert_eq!(decode_document(raw).unwrap(), expected);
        assert_eq!(decode_document(&encoded).unwrap(), expected);
    }

    #[test]
    fn decode_document_rejects_invalid_json() {
        let encoded =
            utf8_percent_encode(r#"{"Version": "2012-10-17""#, NON_ALPHANUMERIC).to_string();
        let err = decode_document(&encoded).unwrap_err();
        assert!(matches!(err, PolicyError::InvalidJson(_)), "{err:?}");
        let err = decode_document("{not json}").unwrap_err();
        assert!(matches!(err, PolicyError::InvalidJson(_)), "{err:?}");
    }

    #[test]
    fn decode_document_rejects_invalid_utf8() {
        let err = decode_document("%7B%FF%7D").unwrap_err();
        assert!(matches!(err, PolicyError::InvalidUtf8(_)), "{err:?}");
    }

    #[test]
    fn decode_document_rejects_non_objects() {
        let err = decode_document("%5B%5D").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the policy document is a JSON array, not an object"
        );
    }

    #[test]
    fn size_counts_compact_characters() {
        // Compact: {"Statement":[],"Version":"2012-10-17"} = 39 characters.
        let doc = json!({"Version": "2012-10-17", "Statement": []});
        assert_eq!(size(&doc), 39);
        // Formatting does not count; characters, not UTF-8 bytes, do.
        let spaced: Value = serde_json::from_str("{ \"Sid\" :\n \"é\" }").unwrap();
        assert_eq!(size(&spaced), r#"{"Sid":"é"}"#.chars().count());
        assert_eq!(size(&spaced), 11);
    }

    #[test]
    fn size_of_generated_policy() {
        let c = client(Access::ReadOnly, &["acme-assets"], &[], &[]);
        let doc = group_policy(&c, ACCOUNT);
        let compact = r#"{"Statement":[{"Action":["s3:GetBucketLocation","s3:ListBucket"],"Condition":{"StringEquals":{"s3:ResourceAccount":["123456789012"]}},"Effect":"Allow","Resource":["arn:aws:s3:::acme-assets"],"Sid":"S3Buckets"},{"Action":["s3:GetObject","s3:GetObjectVersion"],"Condition":{"StringEquals":{"s3:ResourceAccount":["123456789012"]}},"Effect":"Allow","Resource":["arn:aws:s3:::acme-assets/*"],"Sid":"S3Objects"}],"Version":"2012-10-17"}"#;
        assert_eq!(doc.to_string(), compact);
        assert_eq!(size(&doc), compact.len());
        assert!(size(&doc) < GROUP_INLINE_POLICY_LIMIT);
    }

    #[test]
    fn to_pretty_uses_two_spaces() {
        let doc = json!({"b": [1], "a": {}});
        assert_eq!(
            to_pretty(&doc),
            "{\n  \"a\": {},\n  \"b\": [\n    1\n  ]\n}"
        );
    }

    #[test]
    fn diff_of_equal_documents_is_empty() {
        let doc = group_policy(&client(Access::Full, &["acme-assets"], &[], &[]), ACCOUNT);
        assert_eq!(diff(&doc, &doc), "");
    }

    #[test]
    fn diff_shows_access_change_and_new_bucket() {
        let before = group_policy(
            &client(Access::ReadOnly, &["acme-assets"], &[], &["E2QWRUHAPOMQZL"]),
            ACCOUNT,
        );
        let after = group_policy(
            &client(
                Access::ReadWrite,
                &["acme-assets", "acme-media"],
                &[],
                &["E2QWRUHAPOMQZL"],
            ),
            ACCOUNT,
        );
        assert_snapshot!(diff(&before, &after));
    }

    /// A plain glob matcher for the tests: the definition
    /// `pattern_covers` must agree with.
    fn glob(pattern: &[char], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
            Some((&p, rest)) => text
                .split_first()
                .is_some_and(|(&t, tail)| (p == '?' || p == t) && glob(rest, tail)),
        }
    }

    /// Every string over `alphabet` up to `len` characters.
    fn strings_up_to(alphabet: &[char], len: usize) -> Vec<Vec<char>> {
        let mut all = vec![vec![]];
        let mut last = vec![vec![]];
        for _ in 0..len {
            last = last
                .iter()
                .flat_map(|s: &Vec<char>| {
                    alphabet.iter().map(move |&c| {
                        let mut t = s.clone();
                        t.push(c);
                        t
                    })
                })
                .collect();
            all.extend(last.clone());
        }
        all
    }

    /// Against brute force: every pair of patterns of up to three symbols
    /// over `a`, `b`, `*` and `?`, on every string of up to seven
    /// characters over `a`, `b` and `c` (a character neither names).
    #[test]
    fn pattern_covers_agrees_with_brute_force() {
        let patterns = strings_up_to(&['a', 'b', '*', '?'], 3);
        let texts = strings_up_to(&['a', 'b', 'c'], 7);
        let matched: Vec<Vec<bool>> = patterns
            .iter()
            .map(|p| texts.iter().map(|t| glob(p, t)).collect())
            .collect();
        for (i, wide) in patterns.iter().enumerate() {
            for (j, narrow) in patterns.iter().enumerate() {
                let expected = (0..texts.len()).all(|k| !matched[j][k] || matched[i][k]);
                let (w, n): (String, String) = (wide.iter().collect(), narrow.iter().collect());
                assert_eq!(pattern_covers(&w, &n), expected, "`{w}` covers `{n}`");
            }
        }
    }

    #[test]
    fn pattern_covers_reads_iam_patterns() {
        let covers = |w, n| pattern_covers(w, n);
        assert!(covers("s3:*", "s3:getobject"));
        assert!(!covers("s3:getobject", "s3:*"));
        assert!(covers("arn:aws:s3:::zed-*", "arn:aws:s3:::zed-a*"));
        assert!(covers("arn:aws:s3:::zed-*", "arn:aws:s3:::zed-one/*"));
        assert!(!covers("arn:aws:s3:::zed-a*", "arn:aws:s3:::zed-*"));
        assert!(!covers("arn:aws:s3:::zed-one", "arn:aws:s3:::zed-one/*"));
        assert!(!covers("arn:aws:s3:::zed-one/*", "arn:aws:s3:::zed-one"));
        assert!(covers("arn:aws:s3:::zed-one", "arn:aws:s3:::zed-one"));
        // A wildcard where the other has text matches more than that text.
        assert!(!covers("arn:aws:s3:::zed-*", "arn:aws:s3:::ze?-one"));
        assert!(covers("*?", "?*") && covers("?*", "*?"));
        assert!(covers("", "") && !covers("", "*") && covers("*", ""));
        // Characters the wide pattern never names are told apart from the
        // ones it does.
        assert!(!covers("a*é", "a*ü") && covers("a*", "aé?"));
    }

    fn doc(statements: Value) -> Value {
        json!({"Version": POLICY_VERSION, "Statement": statements})
    }

    fn allow(actions: &[&str], resources: &[&str]) -> Value {
        json!({"Effect": "Allow", "Action": actions, "Resource": resources})
    }

    fn s3(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| format!("arn:aws:s3:::{n}")).collect()
    }

    fn with_buckets(access: Access, buckets: &[&str]) -> Value {
        group_policy(&client(access, buckets, &[], &[]), ACCOUNT)
    }

    #[test]
    fn covers_compares_grants_semantically() {
        let small = doc(json!([allow(&["s3:GetObject"], &["arn:aws:s3:::a/*"])]));
        let big = doc(json!([
            allow(&["s3:*"], &["arn:aws:s3:::a*"]),
            allow(&["s3:ListBucket"], &["arn:aws:s3:::b"]),
        ]));
        assert!(covers(&big, &small) && !covers(&small, &big));
        assert!(covers(&small, &small));
        // Actions compare case-insensitively; resources do not.
        let shouted = doc(json!([allow(&["S3:GETOBJECT"], &["arn:aws:s3:::a/*"])]));
        assert!(covers(&small, &shouted) && covers(&shouted, &small));
        let upper = doc(json!([allow(&["s3:GetObject"], &["arn:aws:s3:::A/*"])]));
        assert!(!covers(&small, &upper));
        // Nothing is covered by everything; the empty document by all.
        let empty = doc(json!([]));
        assert!(covers(&small, &empty) && !covers(&empty, &small));
        // Generated policies: an access level, a bucket list.
        let rw = with_buckets(Access::ReadWrite, &["zed-one", "shared-x"]);
        let ro = with_buckets(Access::ReadOnly, &["zed-one"]);
        let full = with_buckets(Access::Full, &["zed-one"]);
        assert!(covers(&rw, &ro) && !covers(&ro, &rw));
        assert!(covers(&full, &ro) && !covers(&rw, &full));
    }

    #[test]
    fn covers_handles_conditions_denies_and_negations() {
        let grant = allow(&["s3:GetObject"], &["arn:aws:s3:::a/*"]);
        let mut conditional = grant.clone();
        conditional["Condition"] = json!({"Bool": {"aws:SecureTransport": "true"}});
        let mut other_condition = grant.clone();
        other_condition["Condition"] = json!({"Bool": {"aws:SecureTransport": "false"}});
        let mut empty_condition = grant.clone();
        empty_condition["Condition"] = json!({});
        let (plain, cond, other, empty_cond) = (
            doc(json!([grant])),
            doc(json!([conditional])),
            doc(json!([other_condition])),
            doc(json!([empty_condition])),
        );
        assert!(covers(&plain, &cond) && !covers(&cond, &plain));
        assert!(covers(&cond, &cond) && !covers(&cond, &other));
        assert!(covers(&empty_cond, &plain) && covers(&plain, &empty_cond));

        // Removing a Deny widens; adding one narrows.
        let deny = json!({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::a/secret"});
        let denied = doc(json!([grant, deny]));
        assert!(!covers(&denied, &plain) && covers(&plain, &denied));
        assert!(covers(&denied, &denied));
        // `NotAction` cannot be split into grants: only the same statement
        // (whatever its Sid) covers it.
        let not = json!({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::a"});
        let mut named = not.clone();
        named["Sid"] = json!("Named");
        let everything = doc(json!([allow(&["*"], &["*"])]));
        assert!(!covers(&everything, &doc(json!([not.clone()]))));
        assert!(covers(&doc(json!([named])), &doc(json!([not.clone()]))));
        assert!(covers(&everything, &plain));
        // Beside `Action` and `Resource`, a `NotResource` or `NotAction`
        // still makes the statement opaque.
        for both in [
            json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "NotResource": "arn:aws:s3:::b"}),
            json!({"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"}),
        ] {
            assert!(!covers(&everything, &doc(json!([both]))));
        }
        // A non-string action, or no `Resource`, is not a grant either.
        for odd in [
            json!({"Effect": "Allow", "Action": [1], "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "s3:*"}),
            json!({"Effect": "Allow", "Resource": "*"}),
        ] {
            let odd = doc(json!([odd]));
            assert!(!covers(&everything, &odd) && covers(&odd, &odd), "{odd}");
        }
        // A statement without `Effect` is kept like a Deny.
        let effectless = doc(json!([{"Action": "s3:*", "Resource": "*"}]));
        assert!(!covers(&effectless, &plain) && covers(&plain, &effectless));
        // A document without statements allows nothing.
        assert!(covers(&plain, &json!({"Version": POLICY_VERSION})));
        assert!(!covers(&json!({"Statement": "x"}), &plain));
    }

    /// The moved bucket of the hardening issue: zed gives `shared-x` to bee
    /// while gaining `zed-two`; what both of zed's policies allow is
    /// `zed-one` alone, with the same actions.
    #[test]
    fn intersection_of_a_moved_bucket_keeps_only_what_stays() {
        let old = with_buckets(Access::ReadWrite, &["zed-one", "shared-x"]);
        let new = with_buckets(Access::ReadWrite, &["zed-one", "zed-two"]);
        let both = intersection(&old, &new).unwrap();
        let stays = with_buckets(Access::ReadWrite, &["zed-one"]);
        assert!(covers(&both, &stays) && covers(&stays, &both), "{both:#}");
        assert!(covers(&old, &both) && covers(&new, &both));
        let in_account = |mut statement: Value| {
            statement["Condition"] = json!({"StringEquals": {RESOURCE_ACCOUNT_KEY: [ACCOUNT]}});
            statement
        };
        assert_eq!(
            both,
            doc(json!([
                in_account(allow(
                    READ_WRITE_BUCKET_ACTIONS,
                    &s3(&["zed-one"])
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                )),
                in_account(allow(
                    READ_WRITE_OBJECT_ACTIONS,
                    &["arn:aws:s3:::zed-one/*"]
                )),
            ]))
        );
        assert_eq!(
            intersection(
                &with_buckets(Access::Full, &["a"]),
                &with_buckets(Access::Full, &["b"])
            ),
            None
        );
    }

    #[test]
    fn intersection_keeps_the_narrower_of_each_element() {
        // A prefix and a bucket under it; `s3:*` and one action.
        let a = doc(json!([allow(&["s3:*"], &["arn:aws:s3:::zed-*"])]));
        let b = doc(json!([
            allow(
                &["s3:GetObject"],
                &["arn:aws:s3:::zed-one/*", "arn:aws:s3:::bee/*"]
            ),
            allow(&["s3:ListBucket"], &["arn:aws:s3:::zed-a*"]),
        ]));
        let expected = doc(json!([
            allow(&["s3:ListBucket"], &["arn:aws:s3:::zed-a*"]),
            allow(&["s3:GetObject"], &["arn:aws:s3:::zed-one/*"]),
        ]));
        assert_eq!(intersection(&a, &b), Some(expected.clone()));
        assert_eq!(intersection(&b, &a), Some(expected));
        // Each element on its own: the action from one side, the resource
        // from the other.
        let c = doc(json!([allow(&["s3:GetObject"], &["arn:aws:s3:::zed-*"])]));
        let d = doc(json!([allow(&["s3:*"], &["arn:aws:s3:::zed-one/*"])]));
        assert_eq!(
            intersection(&c, &d),
            Some(doc(json!([allow(
                &["s3:GetObject"],
                &["arn:aws:s3:::zed-one/*"]
            )])))
        );
        // Overlapping without either covering the other: dropped.
        let e = doc(json!([allow(&["s3:Get*"], &["arn:aws:s3:::a"])]));
        let f = doc(json!([allow(&["s3:*Object"], &["arn:aws:s3:::a"])]));
        assert_eq!(intersection(&e, &f), None);
        // Actions keep their spelling; resources sharing the same actions
        // share a statement.
        let g = doc(json!([allow(
            &["S3:GetObject", "s3:PutObject"],
            &["arn:aws:s3:::x/*", "arn:aws:s3:::y/*"]
        )]));
        let h = doc(json!([
            allow(&["s3:getobject"], &["arn:aws:s3:::*"]),
            allow(&["s3:PutObject"], &["arn:aws:s3:::y/*"])
        ]));
        assert_eq!(
            intersection(&g, &h),
            Some(doc(json!([
                allow(&["S3:GetObject"], &["arn:aws:s3:::x/*"]),
                allow(&["S3:GetObject", "s3:PutObject"], &["arn:aws:s3:::y/*"]),
            ])))
        );
    }

    #[test]
    fn intersection_keeps_denies_conditions_and_shared_statements() {
        let grant = allow(&["s3:GetObject"], &["arn:aws:s3:::a/*"]);
        let mut conditional = allow(&["s3:*"], &["arn:aws:s3:::a*"]);
        conditional["Condition"] = json!({"Bool": {"aws:SecureTransport": "true"}});
        let mut expected = grant.clone();
        expected["Condition"] = conditional["Condition"].clone();
        assert_eq!(
            intersection(
                &doc(json!([grant.clone()])),
                &doc(json!([conditional.clone()]))
            ),
            Some(normalize(&doc(json!([expected.clone()]))))
        );
        // The same condition on both sides stays; different ones drop.
        assert_eq!(
            intersection(
                &doc(json!([expected.clone()])),
                &doc(json!([conditional.clone()]))
            ),
            Some(normalize(&doc(json!([expected.clone()]))))
        );
        let mut other = conditional.clone();
        other["Condition"] = json!({"Bool": {"aws:SecureTransport": "false"}});
        assert_eq!(
            intersection(&doc(json!([expected])), &doc(json!([other]))),
            None
        );
        // Every Deny of either side, once; a NotAction statement only when
        // both have it.
        let deny_a = json!({"Effect": "Deny", "Action": ["s3:DeleteObject"], "Resource": ["*"]});
        let deny_b = json!({"Effect": "Deny", "Action": ["s3:PutObject"], "Resource": ["*"]});
        let not =
            json!({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": ["arn:aws:s3:::a"]});
        let only_a =
            json!({"Effect": "Allow", "NotResource": ["arn:aws:s3:::b"], "Action": ["s3:*"]});
        let a = doc(json!([deny_a, not, only_a]));
        let b = doc(json!([deny_b, deny_a, not]));
        assert_eq!(
            intersection(&a, &b),
            Some(doc(json!([not, deny_a, deny_b])))
        );
        assert_eq!(
            intersection(&doc(json!([deny_a])), &doc(json!([]))),
            Some(doc(json!([deny_a])))
        );
    }

    /// Never more than either side, and all of what both generated
    /// policies share, across levels, buckets and prefixes.
    #[test]
    fn intersection_of_generated_policies_is_covered_by_both() {
        let shapes: Vec<Value> = [Access::ReadOnly, Access::ReadWrite, Access::Full]
            .into_iter()
            .flat_map(|access| {
                [
                    group_policy(&client(access, &["a-1", "a-2"], &[], &[]), ACCOUNT),
                    group_policy(&client(access, &["a-2"], &["b-"], &["E1"]), ACCOUNT),
                    group_policy(&client(access, &[], &["a-"], &[]), ACCOUNT),
                    group_policy(&client(access, &["b-1"], &[], &["E1", "E2"]), ACCOUNT),
                ]
            })
            .collect();
        for x in &shapes {
            for y in &shapes {
                match intersection(x, y) {
                    Some(both) => {
                        assert!(covers(x, &both) && covers(y, &both), "{x}\n{y}\n{both}");
                        if covers(x, y) {
                            assert!(covers(&both, y), "cut access: {x}\n{y}\n{both}");
                        }
                    }
                    None => assert!(!covers(x, y) || split(y).grants.is_empty()),
                }
            }
        }
    }

    #[test]
    fn written_by_provision_recognizes_every_generated_shape() {
        for access in [Access::ReadOnly, Access::ReadWrite, Access::Full] {
            for c in [
                client(access, &["a-1", "a-2"], &[], &[]),
                client(access, &["a-2"], &["b-"], &["E1"]),
                client(access, &[], &["a-"], &[]),
                client(access, &[], &[], &["E1", "E2"]),
            ] {
                let doc = group_policy(&c, ACCOUNT);
                assert!(written_by_provision(&doc, ACCOUNT), "{doc:#}");
                // Another account's buckets and distributions are not
                // this one's.
                assert!(!written_by_provision(&doc, "999999999999"), "{doc:#}");
                // The form written before S3 statements carried the
                // resource account is provision's too.
                let legacy = group_policy_of(&c, ACCOUNT, None);
                assert!(written_by_provision(&legacy, ACCOUNT), "{legacy:#}");
                assert_eq!(
                    written_by_provision(&legacy, "999999999999"),
                    c.distributions.is_empty()
                );
            }
        }
    }

    /// Bucket names are global: a grant by name or prefix must not reach
    /// a same-named bucket of another account. Every S3 statement says so;
    /// the CloudFront one names the account in its ARNs already.
    #[test]
    fn s3_statements_reach_only_buckets_of_the_account() {
        let c = client(Access::ReadWrite, &["acme-1"], &["acme-"], &["E1"]);
        let doc = group_policy(&c, ACCOUNT);
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 4);
        for statement in statements {
            let s3 = statement["Sid"] != SID_CLOUDFRONT;
            assert_eq!(
                statement
                    .get("Condition")
                    .is_some_and(|c| is_resource_account_condition(c, ACCOUNT)),
                s3,
                "{statement:#}"
            );
        }
        assert!(is_resource_account_condition(
            &json!({"StringEquals": {RESOURCE_ACCOUNT_KEY: ACCOUNT}}),
            ACCOUNT
        ));
        assert!(!is_resource_account_condition(
            &json!({"StringEquals": {RESOURCE_ACCOUNT_KEY: ACCOUNT}}),
            "999999999999"
        ));
        assert!(!is_resource_account_condition(
            &json!({"StringLike": {RESOURCE_ACCOUNT_KEY: ACCOUNT}}),
            ACCOUNT
        ));
    }

    #[test]
    fn written_by_provision_refuses_hand_edits() {
        let base = group_policy(
            &client(Access::ReadWrite, &["a-1"], &["p-"], &["E1"]),
            ACCOUNT,
        );
        let edit = |f: &dyn Fn(&mut Value)| {
            let mut d = base.clone();
            f(&mut d);
            written_by_provision(&d, ACCOUNT)
        };
        assert!(edit(&|_| {}));
        // An action added, a statement renamed or added, an objects
        // statement without its bucket, a bucket without its objects.
        assert!(!edit(&|d| d["Statement"][0]["Action"]
            .as_array_mut()
            .unwrap()
            .push(json!("s3:PutBucketPolicy"))));
        assert!(!edit(&|d| d["Statement"][0]["Sid"] = json!("Extra")));
        assert!(!edit(&|d| d["Statement"]
            .as_array_mut()
            .unwrap()
            .push(allow(&["s3:*"], &["*"]))));
        assert!(!edit(&|d| d["Statement"][1]["Resource"]
            .as_array_mut()
            .unwrap()
            .push(json!("arn:aws:s3:::b-1/*"))));
        assert!(!edit(&|d| d["Statement"][0]["Resource"]
            .as_array_mut()
            .unwrap()
            .push(json!("arn:aws:s3:::b-1"))));
        // Names no configuration can hold: wildcards, an empty prefix, a
        // resource of another shape.
        assert!(!edit(
            &|d| d["Statement"][2]["Resource"] = json!(["arn:aws:s3:::*"])
        ));
        assert!(!edit(
            &|d| d["Statement"][2]["Resource"] = json!(["arn:aws:s3:::p-?*"])
        ));
        assert!(!edit(
            &|d| d["Statement"][2]["Resource"] = json!(["arn:aws:s3:::p-"])
        ));
        assert!(!edit(&|d| d["Statement"][3]["Resource"] =
            json!(["arn:aws:cloudfront::123456789012:distribution/*"])));
        assert!(!edit(&|d| d["Statement"][3]["Resource"] =
            json!(["arn:aws:cloudfront::123456789012:distribution/"])));
        assert!(!edit(&|d| d["Statement"] = json!("S3Buckets")));
        // The resource account changed, dropped from one statement, or
        // put on the CloudFront one.
        assert!(!edit(&|d| d["Statement"][0]["Condition"]["StringEquals"]
            [RESOURCE_ACCOUNT_KEY] =
            json!(["999999999999"])));
        assert!(!edit(&|d| {
            d["Statement"][1]
                .as_object_mut()
                .unwrap()
                .remove("Condition");
        }));
        assert!(!edit(
            &|d| d["Statement"][3]["Condition"] = d["Statement"][0]["Condition"].clone()
        ));
        // A statement without resources is not written either.
        assert!(!edit(&|d| {
            d["Statement"][0]
                .as_object_mut()
                .unwrap()
                .remove("Resource");
        }));
    }
}
