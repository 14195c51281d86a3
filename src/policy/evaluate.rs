//! IAM policy evaluation for one principal, one action, one resource.
//!
//! Pure, and written from AWS's documented evaluation logic for identity
//! policies in a single account
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>):
//!
//! 1. An explicit `Deny` in any applicable policy (identity policies or the
//!    permissions boundary) wins.
//! 2. Otherwise the request needs an `Allow` in an identity policy (the
//!    user's inline and attached policies, and those of its groups).
//! 3. When a permissions boundary is set, it must allow the request too: the
//!    effective permissions are the intersection.
//! 4. Anything else is an implicit deny.
//!
//! A statement applies when its `Action` matches (or `NotAction` does not)
//! and its `Resource` matches (or `NotResource` does not). `*` matches any
//! run of characters and `?` exactly one; actions compare case-insensitively,
//! resources case-sensitively.
//!
//! `Condition` blocks are decided where they can be: `s3:ResourceAccount`
//! (the bucket's owner) is known for a resource of the account being
//! checked (see [`crate::policy::condition`]), so a statement confined to
//! this account's buckets applies as if unconditional, and one confined to
//! another account's does not apply. Other keys would depend on the
//! request (source IP, MFA, tags...). Such statements are treated the way
//! that errs towards showing access, which is the safe side for an isolation
//! check: a conditional `Allow` counts as allowing and a conditional `Deny`
//! as not denying. [`Evaluation::conditional`] says when that happened.
//! Policy variables (`${aws:username}`) are compared as written.

use serde_json::Value;

use crate::policy::condition::{Applies, Known, applies};
use crate::policy::document::{statements, strings};
use crate::policy::principal::Covers;

/// The outcome of evaluating one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Some identity policy allows it, the boundary (if any) allows it, and
    /// nothing denies it.
    Allowed,
    /// Nothing allows it (or the boundary does not).
    ImplicitDeny,
    /// A `Deny` statement matches it.
    ExplicitDeny,
}

/// A [`Decision`] and whether a statement with a `Condition` took part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    /// True when a statement with a `Condition` matched the action and
    /// resource; see the module documentation for how it was counted.
    pub conditional: bool,
}

/// What a statement says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// The combined verdict of a set of policies: did something allow, did
/// something deny, and was any of it conditional.
#[derive(Debug, Clone, Copy, Default)]
struct Verdict {
    allow: bool,
    deny: bool,
    conditional: bool,
}

/// `principal` is the (ARN, account) of the principal evaluated for, when
/// the policies are a resource policy evaluated for one.
fn verdict<'a>(
    policies: impl IntoIterator<Item = &'a Value>,
    action: &str,
    resource: &str,
    resource_account: Option<&str>,
    principal: Option<(&str, &str)>,
) -> Verdict {
    let known = resource_account.map(|account| Known {
        resource_account: account,
        s3: action
            .get(..3)
            .is_some_and(|service| service.eq_ignore_ascii_case("s3:")),
        principal,
    });
    let mut v = Verdict::default();
    for doc in policies {
        for statement in statements(doc) {
            let effect = match statement.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                // A statement without a valid effect grants nothing; IAM
                // would not have stored it.
                _ => continue,
            };
            if !element_matches(statement, "Action", "NotAction", action, true)
                || !element_matches(statement, "Resource", "NotResource", resource, false)
            {
                continue;
            }
            let conditional = match known {
                Some(known) => match applies(statement.get("Condition"), known) {
                    Applies::Always => false,
                    Applies::Never => continue,
                    Applies::Maybe => true,
                },
                None => statement.get("Condition").is_some(),
            };
            v.conditional |= conditional;
            match effect {
                // Conservative for isolation: a conditional allow may apply.
                Effect::Allow => v.allow = true,
                // ...and a conditional deny may not.
                Effect::Deny if !conditional => v.deny = true,
                Effect::Deny => {}
            }
        }
    }
    v
}

/// Whether `value` is covered by the statement's `key` list, or, when the
/// statement uses `not_key` instead, not excluded by it. A statement with
/// neither matches nothing.
fn element_matches(
    statement: &serde_json::Map<String, Value>,
    key: &str,
    not_key: &str,
    value: &str,
    case_insensitive: bool,
) -> bool {
    let any = |list: Option<&Value>| {
        strings(list)
            .iter()
            .any(|pattern| wildcard_match(pattern, value, case_insensitive))
    };
    if let Some(list) = statement.get(key) {
        any(Some(list))
    } else if let Some(list) = statement.get(not_key) {
        !any(Some(list))
    } else {
        false
    }
}

/// IAM's wildcard match: `*` is any run of characters (`/` included), `?`
/// is exactly one character, everything else is literal.
pub fn wildcard_match(pattern: &str, value: &str, case_insensitive: bool) -> bool {
    // ARNs and actions are ASCII: compare their bytes, with no allocation
    // (`verify` makes millions of these calls at scale).
    if pattern.is_ascii() && value.is_ascii() {
        let same = |a: u8, b: u8| {
            if case_insensitive {
                a.eq_ignore_ascii_case(&b)
            } else {
                a == b
            }
        };
        return glob_match(pattern.as_bytes(), value.as_bytes(), b'*', b'?', same);
    }
    let fold = |s: &str| -> Vec<char> {
        if case_insensitive {
            s.chars().flat_map(char::to_lowercase).collect()
        } else {
            s.chars().collect()
        }
    };
    glob_match(&fold(pattern), &fold(value), '*', '?', |a, b| a == b)
}

/// Glob match of `value` against `pattern` whose `star` is any run and
/// `one` any one element. Iterative, with single-star backtracking: linear
/// in practice, never exponential.
fn glob_match<T: Copy + PartialEq>(
    p: &[T],
    v: &[T],
    star: T,
    one: T,
    same: impl Fn(T, T) -> bool,
) -> bool {
    let (mut pi, mut vi) = (0, 0);
    // Where to try again after a mismatch: just past the last `*`, and
    // the position in the value up to which that `*` has taken characters.
    let mut resume: Option<(usize, usize)> = None;
    while vi < v.len() {
        match p.get(pi) {
            Some(&c) if c == star => {
                pi += 1;
                resume = Some((pi, vi));
            }
            Some(&c) if c == one || same(c, v[vi]) => {
                pi += 1;
                vi += 1;
            }
            _ => match resume {
                // The `*` takes one more character.
                Some((rp, rv)) => {
                    pi = rp;
                    vi = rv + 1;
                    resume = Some((rp, vi));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == star)
}

/// Evaluates `action` on `resource` for a principal whose identity policies
/// are `identity` (user inline and attached, and its groups' inline and
/// attached), with an optional permissions boundary document.
/// `resource_account` owns `resource`: it decides `s3:ResourceAccount`
/// conditions.
pub fn evaluate(
    identity: &[&Value],
    boundary: Option<&Value>,
    action: &str,
    resource: &str,
    resource_account: &str,
) -> Evaluation {
    let account = Some(resource_account);
    let id = verdict(identity.iter().copied(), action, resource, account, None);
    let bound = boundary.map(|b| verdict([b], action, resource, account, None));
    let conditional = id.conditional || bound.is_some_and(|b| b.conditional);
    let decision = if id.deny || bound.is_some_and(|b| b.deny) {
        Decision::ExplicitDeny
    } else if id.allow && bound.is_none_or(|b| b.allow) {
        Decision::Allowed
    } else {
        Decision::ImplicitDeny
    };
    Evaluation {
        decision,
        conditional,
    }
}

/// [`evaluate`] with the bucket's policy too, for the IAM user `principal_arn`
/// of the account that owns the bucket: AWS's same-account rule
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>).
/// An explicit `Deny` in the identity policies, the boundary or the bucket
/// policy wins; otherwise the request is allowed when the identity
/// policies allow it (within the boundary) OR a bucket policy statement
/// allows it to this user by ARN or to everyone. The boundary does not
/// limit what a resource policy grants a user by ARN. A bucket policy
/// `Allow` naming the account only delegates to the identity policies.
pub fn evaluate_with_bucket_policy(
    identity: &[&Value],
    boundary: Option<&Value>,
    bucket_policy: Option<&Value>,
    principal_arn: &str,
    action: &str,
    resource: &str,
    account: &str,
) -> Evaluation {
    let alone = evaluate(identity, boundary, action, resource, account);
    let Some(policy) = bucket_policy else {
        return alone;
    };
    // The statements that speak of this principal: an `Allow` only when it
    // names the user (or everyone), a `Deny` also when it names the account.
    let speaking: Vec<Value> = statements(policy)
        .into_iter()
        .filter(
            |st| match crate::policy::principal::covers(st, principal_arn, account) {
                Some(Covers::Caller) => true,
                Some(Covers::Account) => st.get("Effect").and_then(Value::as_str) == Some("Deny"),
                None => false,
            },
        )
        .map(|st| Value::Object(st.clone()))
        .collect();
    let doc = serde_json::json!({ "Statement": speaking });
    // The principal is known here, so conditions on who it is
    // (`aws:PrincipalArn`, `aws:PrincipalAccount`: the bucket-policy
    // layer's deny) are decided, not counted as the request's.
    let res = verdict(
        [&doc],
        action,
        resource,
        Some(account),
        Some((principal_arn, account)),
    );
    let conditional = alone.conditional || res.conditional;
    let decision = if alone.decision == Decision::ExplicitDeny || res.deny {
        Decision::ExplicitDeny
    } else if alone.decision == Decision::Allowed || res.allow {
        Decision::Allowed
    } else {
        Decision::ImplicitDeny
    };
    Evaluation {
        decision,
        conditional,
    }
}

/// True when `policies` together allow `action` on `resource` and nothing in
/// them denies it: the plain question "does this set of policies (say, a
/// permissions boundary) cover this request".
/// The resource's account is not known here, so every condition counts as
/// it does in [`evaluate`] for keys that depend on the request.
pub fn is_allowed(policies: &[&Value], action: &str, resource: &str) -> bool {
    let v = verdict(policies.iter().copied(), action, resource, None, None);
    v.allow && !v.deny
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use Decision::{Allowed, ExplicitDeny, ImplicitDeny};

    const ACCOUNT: &str = "123456789012";
    const BUCKET: &str = "arn:aws:s3:::acme-assets";
    const OBJECT: &str = "arn:aws:s3:::acme-assets/photos/cat.jpg";

    fn allow(action: Value, resource: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
    }

    fn deny(action: Value, resource: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": action, "Resource": resource}]})
    }

    fn decide(
        identity: &[Value],
        boundary: Option<Value>,
        action: &str,
        resource: &str,
    ) -> Decision {
        let refs: Vec<&Value> = identity.iter().collect();
        evaluate(&refs, boundary.as_ref(), action, resource, ACCOUNT).decision
    }

    /// (rule, identity policies, boundary, action, resource, expected).
    type Row = (
        &'static str,
        Vec<Value>,
        Option<Value>,
        &'static str,
        &'static str,
        Decision,
    );

    /// Each row is one documented rule: (rule, identity policies, boundary,
    /// action, resource, expected decision).
    #[test]
    fn documented_evaluation_rules() {
        let s3_all = allow(json!("s3:*"), json!([BUCKET, format!("{BUCKET}/*")]));
        let rows: Vec<Row> = vec![
            (
                "no policy at all is an implicit deny",
                vec![],
                None,
                "s3:GetObject",
                OBJECT,
                ImplicitDeny,
            ),
            (
                "an allow that matches grants",
                vec![allow(json!("s3:GetObject"), json!(format!("{BUCKET}/*")))],
                None,
                "s3:GetObject",
                OBJECT,
                Allowed,
            ),
            (
                "an allow for another action does not",
                vec![allow(json!("s3:GetObject"), json!(format!("{BUCKET}/*")))],
                None,
                "s3:PutObject",
                OBJECT,
                ImplicitDeny,
            ),
            (
                "an allow for another resource does not",
                vec![allow(json!("s3:GetObject"), json!("arn:aws:s3:::globex/*"))],
                None,
                "s3:GetObject",
                OBJECT,
                ImplicitDeny,
            ),
            (
                "a bucket ARN does not cover its objects",
                vec![allow(json!("s3:GetObject"), json!(BUCKET))],
                None,
                "s3:GetObject",
                OBJECT,
                ImplicitDeny,
            ),
            (
                "`*` in a resource spans `/`",
                vec![allow(json!("s3:GetObject"), json!("arn:aws:s3:::acme-*"))],
                None,
                "s3:GetObject",
                OBJECT,
                Allowed,
            ),
            (
                "`?` matches exactly one character",
                vec![allow(
                    json!("s3:ListBucket"),
                    json!("arn:aws:s3:::acme-asset?"),
                )],
                None,
                "s3:ListBucket",
                BUCKET,
                Allowed,
            ),
            (
                "`?` does not match two",
                vec![allow(
                    json!("s3:ListBucket"),
                    json!("arn:aws:s3:::acme-asse?"),
                )],
                None,
                "s3:ListBucket",
                BUCKET,
                ImplicitDeny,
            ),
            (
                "action wildcards",
                vec![allow(json!("s3:Get*"), json!("*"))],
                None,
                "s3:GetObject",
                OBJECT,
                Allowed,
            ),
            (
                "actions are case-insensitive",
                vec![allow(json!("S3:getobject"), json!("*"))],
                None,
                "s3:GetObject",
                OBJECT,
                Allowed,
            ),
            (
                "resources are case-sensitive",
                vec![allow(json!("s3:*"), json!("arn:aws:s3:::ACME-assets"))],
                None,
                "s3:ListBucket",
                BUCKET,
                ImplicitDeny,
            ),
            (
                "an explicit deny wins over an allow",
                vec![s3_all.clone(), deny(json!("s3:DeleteObject"), json!("*"))],
                None,
                "s3:DeleteObject",
                OBJECT,
                ExplicitDeny,
            ),
            (
                "a deny elsewhere does not block",
                vec![s3_all.clone(), deny(json!("s3:DeleteObject"), json!("*"))],
                None,
                "s3:GetObject",
                OBJECT,
                Allowed,
            ),
            (
                "NotAction allows everything but what it lists",
                vec![
                    json!({"Statement": {"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"}}),
                ],
                None,
                "s3:PutObject",
                OBJECT,
                Allowed,
            ),
            (
                "NotAction excludes what it lists",
                vec![
                    json!({"Statement": {"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"}}),
                ],
                None,
                "s3:DeleteObject",
                OBJECT,
                ImplicitDeny,
            ),
            (
                "NotResource allows everything but what it lists",
                vec![
                    json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::globex*"}}),
                ],
                None,
                "s3:GetObject",
                OBJECT,
                Allowed,
            ),
            (
                "NotResource excludes what it lists",
                vec![
                    json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::acme*"}}),
                ],
                None,
                "s3:GetObject",
                OBJECT,
                ImplicitDeny,
            ),
            (
                "Deny with NotResource denies everything else",
                vec![
                    s3_all.clone(),
                    json!({"Statement": {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::globex*"}}),
                ],
                None,
                "s3:GetObject",
                OBJECT,
                ExplicitDeny,
            ),
            (
                "a boundary that allows keeps the identity allow",
                vec![s3_all.clone()],
                Some(allow(json!("s3:*"), json!("*"))),
                "s3:GetObject",
                OBJECT,
                Allowed,
            ),
            (
                "a boundary that does not allow limits it",
                vec![s3_all.clone()],
                Some(allow(json!("s3:Get*"), json!("*"))),
                "s3:PutObject",
                OBJECT,
                ImplicitDeny,
            ),
            (
                "a boundary alone grants nothing",
                vec![],
                Some(allow(json!("s3:*"), json!("*"))),
                "s3:GetObject",
                OBJECT,
                ImplicitDeny,
            ),
            (
                "a deny in the boundary is an explicit deny",
                vec![s3_all.clone()],
                Some(
                    json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:PutBucketPolicy", "Resource": "*"}]}),
                ),
                "s3:PutBucketPolicy",
                BUCKET,
                ExplicitDeny,
            ),
            (
                "a single statement object works like an array",
                vec![
                    json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}),
                ],
                None,
                "s3:GetObject",
                OBJECT,
                Allowed,
            ),
            (
                "a statement without Resource matches nothing",
                vec![json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject"}})],
                None,
                "s3:GetObject",
                OBJECT,
                ImplicitDeny,
            ),
        ];
        for (rule, identity, boundary, action, resource, want) in rows {
            assert_eq!(
                decide(&identity, boundary, action, resource),
                want,
                "{rule}"
            );
        }
    }

    #[test]
    fn conditions_err_towards_showing_access() {
        let cond_allow = json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}});
        let e = evaluate(&[&cond_allow], None, "s3:GetObject", OBJECT, ACCOUNT);
        assert_eq!((e.decision, e.conditional), (Allowed, true));
        let all = allow(json!("s3:*"), json!("*"));
        let cond_deny = json!({"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}});
        let e = evaluate(&[&all, &cond_deny], None, "s3:GetObject", OBJECT, ACCOUNT);
        assert_eq!((e.decision, e.conditional), (Allowed, true));
        let e = evaluate(&[&all], None, "s3:GetObject", OBJECT, ACCOUNT);
        assert!(!e.conditional);
    }

    /// The group policies provision writes grant only in the account
    /// owning the bucket: there they apply as if unconditional (no `*` in
    /// the matrix), and a grant confined to another account gives nothing
    /// here. A Deny that cannot apply here does not deny.
    #[test]
    fn the_resource_account_is_decided() {
        let in_account = |account: &str, effect: &str, operator: &str, action: &str| {
            json!({"Statement": {"Effect": effect, "Action": action, "Resource": "*",
                "Condition": {operator: {"s3:ResourceAccount": [account]}}}})
        };
        let here = in_account(ACCOUNT, "Allow", "StringEquals", "s3:*");
        let e = evaluate(&[&here], None, "s3:GetObject", OBJECT, ACCOUNT);
        assert_eq!((e.decision, e.conditional), (Allowed, false));
        let e = evaluate(&[&here], None, "s3:GetObject", OBJECT, "999999999999");
        assert_eq!((e.decision, e.conditional), (ImplicitDeny, false));
        // The key is absent outside S3, so `StringEquals` fails there.
        let wide = in_account(ACCOUNT, "Allow", "StringEquals", "*");
        let e = evaluate(
            &[&wide],
            None,
            "cloudfront:CreateInvalidation",
            "*",
            ACCOUNT,
        );
        assert_eq!((e.decision, e.conditional), (ImplicitDeny, false));
        let all = allow(json!("*"), json!("*"));
        let deny_elsewhere = in_account(ACCOUNT, "Deny", "StringNotEquals", "s3:*");
        let e = evaluate(
            &[&all, &deny_elsewhere],
            None,
            "s3:GetObject",
            OBJECT,
            ACCOUNT,
        );
        assert_eq!((e.decision, e.conditional), (Allowed, false));
        let deny_here = in_account(ACCOUNT, "Deny", "StringEquals", "s3:*");
        let e = evaluate(&[&all, &deny_here], None, "s3:GetObject", OBJECT, ACCOUNT);
        assert_eq!((e.decision, e.conditional), (ExplicitDeny, false));
        // In the boundary too.
        let e = evaluate(&[&all], Some(&here), "s3:GetObject", OBJECT, "999999999999");
        assert_eq!(e.decision, ImplicitDeny);
        // Without an account (`is_allowed`), the condition is treated as
        // any other: the Allow counts, the Deny does not.
        assert!(is_allowed(&[&here], "s3:GetObject", OBJECT));
        assert!(is_allowed(&[&all, &deny_here], "s3:GetObject", OBJECT));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "", false));
        assert!(wildcard_match("a*b*c", "a-b-b-c", false));
        assert!(!wildcard_match("a*b*c", "a-b-b-", false));
        assert!(wildcard_match("??", "ab", false));
        assert!(!wildcard_match("??", "abc", false));
        assert!(wildcard_match("S3:GET*", "s3:GetObject", true));
        assert!(!wildcard_match("S3:GET*", "s3:GetObject", false));
        // Beyond ASCII: one `?` is one character, not one byte, and case
        // folds the Unicode way when asked.
        assert!(wildcard_match("caf?", "café", false));
        assert!(!wildcard_match("caf??", "café", false));
        assert!(wildcard_match("É*", "éa", true));
        assert!(!wildcard_match("É*", "éa", false));
        assert!(wildcard_match("*é", "café", false));
        assert!(!wildcard_match("*É", "café", false));
        assert!(!wildcard_match("a*é", "b-é", false));
        // Many stars on a long value stay fast.
        let long = "a".repeat(2000);
        assert!(!wildcard_match(
            &"*a".repeat(50).replace("a", "a*b"),
            &long,
            false
        ));
    }

    #[test]
    fn is_allowed_answers_the_plain_question() {
        let p = allow(
            json!(["s3:GetObject", "s3:ListBucket"]),
            json!("arn:aws:s3:::acme-*"),
        );
        assert!(is_allowed(&[&p], "s3:GetObject", OBJECT));
        assert!(!is_allowed(&[&p], "s3:PutObject", OBJECT));
    }

    /// The same-account rule: identity OR bucket policy allows, a deny in
    /// either wins, an account principal only delegates, and the boundary
    /// does not limit a grant to the user by ARN.
    #[test]
    fn a_bucket_policy_allows_by_arn_or_everyone_and_denies_by_account() {
        const USER: &str = "arn:aws:iam::123456789012:user/provision/globex-app";
        let bucket = |effect: &str, principal: Value| {
            json!({"Statement": [{"Effect": effect, "Principal": principal,
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-assets/*"}]})
        };
        let id_allow = allow(json!("s3:GetObject"), json!("arn:aws:s3:::acme-assets/*"));
        let bound_nothing = allow(json!("s3:ListBucket"), json!("*"));
        let eval = |identity: &[&Value], boundary: Option<&Value>, policy: Option<&Value>| {
            evaluate_with_bucket_policy(
                identity,
                boundary,
                policy,
                USER,
                "s3:GetObject",
                OBJECT,
                ACCOUNT,
            )
            .decision
        };
        let by_arn = bucket("Allow", json!({"AWS": USER}));
        let by_star = bucket("Allow", json!("*"));
        let by_account = bucket("Allow", json!({"AWS": ACCOUNT}));
        let by_other = bucket(
            "Allow",
            json!({"AWS": "arn:aws:iam::123456789012:user/provision/acme-app"}),
        );
        let deny_account = bucket("Deny", json!({"AWS": "arn:aws:iam::123456789012:root"}));
        let deny_other = bucket("Deny", json!({"AWS": "111111111111"}));
        assert_eq!(eval(&[], None, None), ImplicitDeny);
        assert_eq!(eval(&[], None, Some(&by_arn)), Allowed);
        assert_eq!(eval(&[], None, Some(&by_star)), Allowed);
        assert_eq!(eval(&[], None, Some(&by_account)), ImplicitDeny);
        assert_eq!(eval(&[], None, Some(&by_other)), ImplicitDeny);
        assert_eq!(eval(&[&id_allow], None, Some(&by_account)), Allowed);
        assert_eq!(eval(&[&id_allow], None, Some(&deny_account)), ExplicitDeny);
        assert_eq!(eval(&[&id_allow], None, Some(&deny_other)), Allowed);
        assert_eq!(eval(&[], Some(&bound_nothing), Some(&by_arn)), Allowed);
        assert_eq!(eval(&[&id_allow], Some(&bound_nothing), None), ImplicitDeny);
        let id_deny = json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]});
        assert_eq!(eval(&[&id_deny], None, Some(&by_arn)), ExplicitDeny);
        // Another action or object is not granted.
        assert_eq!(
            evaluate_with_bucket_policy(
                &[],
                None,
                Some(&by_arn),
                USER,
                "s3:PutObject",
                OBJECT,
                ACCOUNT
            )
            .decision,
            ImplicitDeny
        );
        assert_eq!(
            evaluate_with_bucket_policy(
                &[],
                None,
                Some(&by_arn),
                USER,
                "s3:GetObject",
                "arn:aws:s3:::globex/x",
                ACCOUNT
            )
            .decision,
            ImplicitDeny
        );
    }

    /// A conditional statement of the bucket policy marks the answer, and
    /// one that does not speak of the principal does not.
    #[test]
    fn a_conditional_bucket_policy_statement_is_marked() {
        const USER: &str = "arn:aws:iam::123456789012:user/provision/globex-app";
        let policy = |principal: &str| {
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": principal},
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-assets/*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]})
        };
        let eval = |p: &Value| {
            evaluate_with_bucket_policy(&[], None, Some(p), USER, "s3:GetObject", OBJECT, ACCOUNT)
        };
        let mine = eval(&policy(USER));
        assert_eq!((mine.decision, mine.conditional), (Allowed, true));
        let theirs = eval(&policy("arn:aws:iam::123456789012:user/provision/acme-app"));
        assert_eq!((theirs.decision, theirs.conditional), (ImplicitDeny, false));
        // And the identity side's condition still counts.
        let id = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]});
        let both = evaluate_with_bucket_policy(
            &[&id],
            None,
            Some(&json!({"Statement": []})),
            USER,
            "s3:GetObject",
            OBJECT,
            ACCOUNT,
        );
        assert_eq!((both.decision, both.conditional), (Allowed, true));
    }

    /// The bucket-policy layer's deny is decided for the principal: a user
    /// of the account outside the client is denied even when a hand-made
    /// identity policy allows it, the client's own users are not, and the
    /// TLS statement (which depends on the request) denies no one here.
    #[test]
    fn the_bucket_policy_layer_denies_the_account_outside_the_client() {
        const MEMBER: &str = "arn:aws:iam::123456789012:user/provision/acme-app";
        const OUTSIDER: &str = "arn:aws:iam::123456789012:user/provision/globex-app";
        let statements = crate::policy::bucket_policy::owned_statements(
            "acme-assets",
            ACCOUNT,
            &[MEMBER.to_owned()],
        );
        let policy = json!({"Version": "2012-10-17", "Statement": statements});
        let hand = allow(
            json!("s3:*"),
            json!(["arn:aws:s3:::acme-assets", "arn:aws:s3:::acme-assets/*"]),
        );
        let eval = |user: &str, action: &str, resource: &str| {
            evaluate_with_bucket_policy(
                &[&hand],
                None,
                Some(&policy),
                user,
                action,
                resource,
                ACCOUNT,
            )
        };
        for (action, resource) in [("s3:GetObject", OBJECT), ("s3:ListBucket", BUCKET)] {
            let outsider = eval(OUTSIDER, action, resource);
            assert_eq!(outsider.decision, ExplicitDeny, "{action}");
            let member = eval(MEMBER, action, resource);
            assert_eq!(member.decision, Allowed, "{action}");
            // The TLS statement depends on the request.
            assert!(member.conditional);
        }
        // Without the layer the hand policy lets the outsider in.
        assert_eq!(
            evaluate_with_bucket_policy(
                &[&hand],
                None,
                None,
                OUTSIDER,
                "s3:GetObject",
                OBJECT,
                ACCOUNT
            )
            .decision,
            Allowed
        );
        // Another bucket is not the layer's.
        assert_eq!(
            eval(OUTSIDER, "s3:GetObject", "arn:aws:s3:::globex-data/x").decision,
            ImplicitDeny
        );
    }
}
