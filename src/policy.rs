//! IAM policy documents: the group policy provision writes, and the tools to
//! compare it with what IAM reports.
//!
//! Everything here is pure. [`group_policy`] builds the inline policy of a
//! client's group; [`decode_document`] and [`normalize`] turn what IAM returns
//! into the same canonical form, so that the planner can compare the two with
//! `==`; [`size`] checks the quota at plan time (SPEC, Guarantee 7); [`diff`]
//! shows an update in `provision plan`.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt::Write as _;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use similar::udiff::UnifiedHunkHeader;
use similar::{ChangeTag, TextDiff};

use crate::model::{Access, Client};

/// The policy language version every generated document declares.
pub const POLICY_VERSION: &str = "2012-10-17";

/// IAM's quota on the total size of a group's inline policies, in characters
/// not counting whitespace (see [`size`]).
pub const GROUP_INLINE_POLICY_LIMIT: usize = 5120;

/// IAM's quota on the size of a customer managed policy, in characters not
/// counting whitespace. A client whose policy does not fit the group's
/// inline quota gets a managed policy attached to its group instead.
pub const MANAGED_POLICY_LIMIT: usize = 6144;

/// Name of the managed policy used instead of the inline `provision-s3`
/// when a client's policy does not fit the inline quota.
pub fn managed_policy_name(client: &str) -> String {
    format!("provision-s3-{client}")
}

/// ARN of [`managed_policy_name`] under the managed `path` of `account_id`.
pub fn managed_policy_arn(account_id: &str, path: &str, client: &str) -> String {
    format!(
        "arn:aws:iam::{account_id}:policy{path}{}",
        managed_policy_name(client)
    )
}

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

/// ARN of bucket `bucket`, the resource of bucket-level actions.
pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// ARN of every object in bucket `bucket`, the resource of object-level
/// actions.
pub fn objects_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}/*")
}

/// ARN matching every bucket whose name starts with `prefix`, and every
/// object in those buckets: IAM's `*` also matches `/`, so `acme-*` covers
/// both `acme-x` and `acme-x/key`.
pub fn prefix_arn(prefix: &str) -> String {
    format!("arn:aws:s3:::{prefix}*")
}

/// ARN of CloudFront distribution `id` in account `account_id`. CloudFront is
/// global, hence the empty region.
pub fn distribution_arn(account_id: &str, id: &str) -> String {
    format!("arn:aws:cloudfront::{account_id}:distribution/{id}")
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
/// lines only.
///
/// A client with no bucket, prefix or distribution gets an empty `Statement`
/// array, which IAM rejects; configuration validation is expected to refuse
/// such a client.
///
/// The names are used verbatim: bucket names and prefixes must have passed
/// validation (S3 naming rules forbid `*` and `?`, which would widen the grant
/// to other clients' buckets).
pub fn group_policy(client: &Client, account_id: &str) -> Value {
    debug_assert!(
        client
            .buckets
            .iter()
            .chain(&client.bucket_prefixes)
            .chain(&client.distributions)
            .all(|name| !name.contains(['*', '?'])),
        "IAM wildcards in names would reach other clients' resources: {client:?}"
    );

    let buckets: BTreeSet<String> = client.buckets.iter().map(|b| bucket_arn(b)).collect();
    let objects: BTreeSet<String> = client.buckets.iter().map(|b| objects_arn(b)).collect();
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

    let mut statements = Vec::new();
    let mut push = |sid: &str, actions: Vec<&str>, resources: BTreeSet<String>| {
        if !resources.is_empty() {
            statements.push(json!({
                "Sid": sid,
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources,
            }));
        }
    };
    push(SID_BUCKETS, bucket_actions(client.access).to_vec(), buckets);
    push(SID_OBJECTS, object_actions(client.access).to_vec(), objects);
    push(SID_PREFIXES, prefix_actions.into_iter().collect(), prefixes);
    push(SID_CLOUDFRONT, CLOUDFRONT_ACTIONS.to_vec(), distributions);

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

/// The (effect, action, resource) triples a document names, as written
/// (no wildcard expansion). A document whose triples are a subset of
/// another's, with the same conditions, grants no more than it: the planner
/// uses this to run pure narrowings before widenings.
pub fn grants(doc: &Value) -> std::collections::BTreeSet<(String, String, String, String)> {
    let normalized = normalize(doc);
    let mut out = std::collections::BTreeSet::new();
    let statements = normalized
        .get("Statement")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for statement in statements {
        let effect = statement
            .get("Effect")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let condition = statement
            .get("Condition")
            .map(Value::to_string)
            .unwrap_or_default();
        let list = |key: &str| -> Vec<String> {
            match statement.get(key) {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect(),
                Some(other) => vec![other.to_string()],
                None => Vec::new(),
            }
        };
        // NotAction/NotResource invert the meaning; keep them distinct so a
        // document using them is never taken for a subset of one that does
        // not.
        let actions: Vec<String> = list("Action")
            .into_iter()
            .chain(list("NotAction").into_iter().map(|a| format!("not:{a}")))
            .collect();
        let resources: Vec<String> = list("Resource")
            .into_iter()
            .chain(list("NotResource").into_iter().map(|r| format!("not:{r}")))
            .collect();
        for action in &actions {
            for resource in &resources {
                out.insert((
                    effect.clone(),
                    action.clone(),
                    resource.clone(),
                    condition.clone(),
                ));
            }
        }
    }
    out
}

/// True when `after` only takes away from `before`: every Allow it names,
/// `before` names too, and it keeps every Deny `before` had.
pub fn only_narrows(before: &Value, after: &Value) -> bool {
    let (b, a) = (grants(before), grants(after));
    let allows = |g: &std::collections::BTreeSet<(String, String, String, String)>| {
        g.iter()
            .filter(|t| t.0 == "Allow")
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
    };
    let denies = |g: &std::collections::BTreeSet<(String, String, String, String)>| {
        g.iter()
            .filter(|t| t.0 != "Allow")
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
    };
    allows(&a).is_subset(&allows(&b)) && denies(&b).is_subset(&denies(&a))
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
            app_user: Some("acme-app".to_owned()),
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
        let compact = r#"{"Statement":[{"Action":["s3:GetBucketLocation","s3:ListBucket"],"Effect":"Allow","Resource":["arn:aws:s3:::acme-assets"],"Sid":"S3Buckets"},{"Action":["s3:GetObject","s3:GetObjectVersion"],"Effect":"Allow","Resource":["arn:aws:s3:::acme-assets/*"],"Sid":"S3Objects"}],"Version":"2012-10-17"}"#;
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

    #[test]
    fn only_narrows_tells_revocations_from_grants() {
        let doc = |actions: &[&str], resources: &[&str]| {
            serde_json::json!({"Version": POLICY_VERSION, "Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": resources}
            ]})
        };
        let base = doc(&["s3:GetObject"], &["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"]);
        assert!(only_narrows(&base, &base));
        assert!(only_narrows(
            &base,
            &doc(&["s3:GetObject"], &["arn:aws:s3:::a/*"])
        ));
        assert!(!only_narrows(
            &base,
            &doc(&["s3:GetObject"], &["arn:aws:s3:::c/*"])
        ));
        assert!(!only_narrows(&base, &doc(&["s3:*"], &["arn:aws:s3:::a/*"])));
        let mut with_deny = base.clone();
        with_deny["Statement"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}));
        assert!(only_narrows(&base, &with_deny));
        assert!(!only_narrows(&with_deny, &base));
    }
}
