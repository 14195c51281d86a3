//! The bucket-policy layer's documents: the statements provision owns in a
//! client bucket's policy, and how they are merged into the policy that is
//! there without changing a byte of anyone else's statements.
//!
//! provision owns exactly the statements whose `Sid` starts with
//! [`OWNED_SID_PREFIX`]. Every other statement is someone else's: it is
//! kept as the very text S3 returned, because re-serializing it would
//! reorder its keys and change its spacing, and a reviewer comparing the
//! policy before and after must see that nothing of theirs moved. The
//! document is therefore taken apart with `serde_json`'s `RawValue`, which
//! borrows each value's source text, and put together again around those
//! borrowed pieces.
//!
//! The statements (for bucket `b` of account `A`):
//! - [`DENY_OUTSIDE_SID`]: `Deny` `s3:*` on `b` and `b/*` to any principal
//!   of `A` (`StringEquals aws:PrincipalAccount`) whose `aws:PrincipalArn`
//!   is none of the client's principals and exempt administrators
//!   (`ArnNotEquals`). `aws:PrincipalArn` is the user's ARN with its path
//!   for an IAM user, and the role's ARN (`arn:aws:iam::A:role/PATH/NAME`),
//!   not the session's `arn:aws:sts::A:assumed-role/NAME/SESSION`, for a
//!   role session (IAM User Guide, "AWS global condition context keys").
//!   `ArnNotEquals` rather than `ArnNotLike`: an IAM path may contain `*`,
//!   which must not act as a wildcard. Principals of other accounts do not
//!   match `aws:PrincipalAccount` and are left to S3's default, which denies
//!   them unless a policy grants them; AWS services acting as service
//!   principals carry no `aws:PrincipalAccount` and are not denied either.
//! - [`DENY_INSECURE_SID`]: `Deny` `s3:*` on `b` and `b/*` to everyone when
//!   `aws:SecureTransport` is `false` (a request without TLS).
//!
//! Pure: no IO.

use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::policy::arn::{bucket_arn, objects_arn};

/// The `Sid` prefix of the statements provision owns in a bucket policy.
pub const OWNED_SID_PREFIX: &str = "Provision";
/// `Sid` of the statement denying the account's principals outside the
/// client.
pub const DENY_OUTSIDE_SID: &str = "ProvisionDenyOutsideClient";
/// `Sid` of the statement denying requests without TLS.
pub const DENY_INSECURE_SID: &str = "ProvisionDenyInsecureTransport";
/// S3's limit on a bucket policy's size: 20 KB (S3 User Guide, "Bucket
/// policies"), counted here on the whole text as it is sent.
pub const MAX_POLICY_BYTES: usize = 20 * 1024;
/// The policy language version of a policy provision starts from nothing.
const VERSION: &str = "2012-10-17";

/// Why a bucket's policy cannot be merged with provision's statements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BucketPolicyError {
    /// The stored text is not a JSON object with a `Statement` list or
    /// object: provision could not tell its statements from others'.
    #[error("it is not a policy document provision can read: {reason}")]
    Malformed { reason: String },
}

/// The statements provision owns in the policy of `bucket` in `account`,
/// letting in the principals `allowed` (ARNs, as `aws:PrincipalArn` has
/// them; sorted and without duplicates here, so the text is the same for
/// the same set).
pub fn owned_statements(bucket: &str, account: &str, allowed: &[String]) -> Vec<Value> {
    let mut allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
    allowed.sort_unstable();
    allowed.dedup();
    let resources = json!([bucket_arn(bucket), objects_arn(bucket)]);
    vec![
        json!({
            "Sid": DENY_OUTSIDE_SID,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {
                "StringEquals": {"aws:PrincipalAccount": account},
                "ArnNotEquals": {"aws:PrincipalArn": allowed},
            },
        }),
        json!({
            "Sid": DENY_INSECURE_SID,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }),
    ]
}

/// True when `statement` is one of provision's: its `Sid` starts with
/// [`OWNED_SID_PREFIX`] (case-sensitive, as `Sid`s compare).
pub fn is_owned(statement: &Value) -> bool {
    statement
        .get("Sid")
        .and_then(Value::as_str)
        .is_some_and(|sid| sid.starts_with(OWNED_SID_PREFIX))
}

/// A stored bucket policy taken apart: its top-level members in their
/// order, each as its source text, and its statements split into
/// provision's (parsed) and everyone else's (as their source text).
#[derive(Debug)]
pub struct Existing<'a> {
    /// Every top-level member but `Statement`, in order, with the position
    /// `Statement` had among them.
    members: Vec<(String, &'a RawValue)>,
    statement_at: Option<usize>,
    /// Statements that are not provision's, exactly as written.
    others: Vec<&'a RawValue>,
    /// provision's statements, in order.
    pub owned: Vec<Value>,
}

/// Takes `text`, a bucket policy as S3 returned it, apart.
pub fn parse(text: &str) -> Result<Existing<'_>, BucketPolicyError> {
    let malformed = |reason: String| BucketPolicyError::Malformed { reason };
    let Ordered(entries) = serde_json::from_str::<Ordered<'_>>(text)
        .map_err(|e| malformed(format!("not a JSON object ({e})")))?;
    let mut existing = Existing {
        members: Vec::new(),
        statement_at: None,
        others: Vec::new(),
        owned: Vec::new(),
    };
    for (key, raw) in entries {
        if key != "Statement" {
            existing.members.push((key, raw));
            continue;
        }
        if existing.statement_at.is_some() {
            return Err(malformed("`Statement` appears twice".to_owned()));
        }
        existing.statement_at = Some(existing.members.len());
        let list: Vec<&RawValue> = if raw.get().trim_start().starts_with('[') {
            serde_json::from_str(raw.get())
                .map_err(|e| malformed(format!("`Statement` is not a list ({e})")))?
        } else {
            vec![raw]
        };
        for statement in list {
            let value: Value = serde_json::from_str(statement.get())
                .map_err(|e| malformed(format!("a statement is not JSON ({e})")))?;
            if !value.is_object() {
                return Err(malformed("a statement is not a JSON object".to_owned()));
            }
            if is_owned(&value) {
                existing.owned.push(value);
            } else {
                existing.others.push(statement);
            }
        }
    }
    Ok(existing)
}

impl Existing<'_> {
    /// The policy with provision's statements replaced by `owned`, every
    /// other statement and member kept as written; `None` when no statement
    /// would be left (the policy is then deleted: S3 refuses an empty one).
    pub fn with_owned(&self, owned: &[Value]) -> Option<String> {
        if self.others.is_empty() && owned.is_empty() {
            return None;
        }
        let mut statements: Vec<String> =
            self.others.iter().map(|raw| raw.get().to_owned()).collect();
        statements.extend(owned.iter().map(Value::to_string));
        let statement = format!("[{}]", statements.join(","));
        let mut parts: Vec<String> = self
            .members
            .iter()
            .map(|(key, raw)| format!("{}:{}", json_string(key), raw.get()))
            .collect();
        let at = self.statement_at.unwrap_or(parts.len());
        parts.insert(at, format!("\"Statement\":{statement}"));
        Some(format!("{{{}}}", parts.join(",")))
    }

    /// The statements that are not provision's, as written (for tests and
    /// messages).
    pub fn others(&self) -> Vec<&str> {
        self.others.iter().map(|raw| raw.get()).collect()
    }
}

/// A new policy holding only `owned`.
pub fn fresh(owned: &[Value]) -> String {
    json!({"Version": VERSION, "Statement": owned}).to_string()
}

/// A JSON string literal for `s`.
fn json_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// A JSON object's members in their written order, each value borrowed as
/// its source text (`serde_json`'s own maps sort their keys).
struct Ordered<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Ordered<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Ordered<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// True when the bucket policy `policy` of `bucket` surely denies the
/// principal `principal_arn` of `account` every S3 action on the bucket
/// and its objects: one of its statements is a `Deny` of `s3:*` (or `*`)
/// to everyone, on the bucket and every object (or `*`), with no `Not...`
/// element, whose `Condition` holds for this principal whatever the
/// request (the layer's [`DENY_OUTSIDE_SID`] for a principal outside the
/// client). `verify` counts a hand-made grant to such a principal as held.
/// Deliberately structural: a statement that denies less, or only under
/// a condition of the request, is not counted.
pub fn denies_everything(policy: &Value, bucket: &str, principal_arn: &str, account: &str) -> bool {
    use crate::policy::condition::{Applies, Known, applies};
    use crate::policy::document::{statements, strings};
    let whole = [bucket_arn(bucket), objects_arn(bucket)];
    statements(policy).into_iter().any(|st| {
        let has =
            |key: &str, wanted: &[&str]| strings(st.get(key)).iter().any(|v| wanted.contains(v));
        let everyone = st.get("Principal") == Some(&json!("*"))
            || st.get("Principal") == Some(&json!({"AWS": "*"}));
        let known = Known {
            resource_account: account,
            s3: true,
            principal: Some((principal_arn, account)),
        };
        st.get("Effect").and_then(Value::as_str) == Some("Deny")
            && everyone
            && !["NotAction", "NotResource", "NotPrincipal"]
                .iter()
                .any(|k| st.contains_key(*k))
            && has("Action", &["s3:*", "*"])
            && (has("Resource", &["*"]) || whole.iter().all(|r| has("Resource", &[r.as_str()])))
            && applies(st.get("Condition"), known) == Applies::Always
    })
}

/// Who is calling, as the layer's deny sees it (`aws:PrincipalArn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A role session: `aws:PrincipalArn` is the role's ARN, whose path the
    /// session's ARN does not show; a role's name is unique in its account,
    /// so partition, account and name identify it.
    Role {
        partition: String,
        account: String,
        name: String,
    },
    /// Anyone else (an IAM user, the root user, a federated user): the ARN
    /// `sts:GetCallerIdentity` returns is the one the condition sees.
    Arn(String),
}

impl Caller {
    /// Reads `sts:GetCallerIdentity`'s ARN.
    pub fn from_identity_arn(arn: &str) -> Caller {
        let session = arn.split_once(":sts::").and_then(|(head, rest)| {
            let partition = head.strip_prefix("arn:")?;
            let (account, resource) = rest.split_once(':')?;
            let role = resource.strip_prefix("assumed-role/")?;
            let (name, _session) = role.split_once('/')?;
            Some(Caller::Role {
                partition: partition.to_owned(),
                account: account.to_owned(),
                name: name.to_owned(),
            })
        });
        session.unwrap_or_else(|| Caller::Arn(arn.to_owned()))
    }

    /// True when one of `allowed` (exact ARNs) is this caller, so the
    /// layer's deny does not apply to it.
    pub fn is_let_in(&self, allowed: &[String]) -> bool {
        match self {
            Caller::Arn(arn) => allowed.iter().any(|a| a == arn),
            Caller::Role {
                partition,
                account,
                name,
            } => {
                let roles = format!("arn:{partition}:iam::{account}:role/");
                allowed.iter().any(|a| {
                    a.strip_prefix(&roles)
                        .is_some_and(|rest| rest.rsplit('/').next() == Some(name.as_str()))
                })
            }
        }
    }

    /// What to add to `settings.bucket_policy_exempt` to let this caller
    /// in, as a sentence's object.
    pub fn exemption_hint(&self) -> String {
        match self {
            Caller::Role {
                partition,
                account,
                name,
            } => format!(
                "`arn:{partition}:iam::{account}:role/{name}` (with the role's path before its name, if it has one)"
            ),
            Caller::Arn(arn) => format!("`{arn}`"),
        }
    }
}

#[cfg(test)]
mod tests;
