//! The part of a statement's `Condition` that verify can decide without a
//! request: `s3:ResourceAccount`, the account that owns the bucket, and,
//! when a bucket policy is evaluated for one principal, that principal's
//! `aws:PrincipalArn` and `aws:PrincipalAccount` (which the bucket-policy
//! layer's deny is written with).
//!
//! Every resource `verify` asks about belongs to the account it reads, so
//! this key has a known value there, while every other key (source IP,
//! MFA, tags...) depends on the request. A condition block is the
//! conjunction of its operators and keys
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html>),
//! so one decided key that fails makes the statement not apply at all, and
//! a block whose keys are all decided and hold applies unconditionally.
//!
//! Pure: no IO.

use serde_json::Value;

use crate::policy::document::{RESOURCE_ACCOUNT_KEY, strings};
use crate::policy::evaluate::wildcard_match;

/// Whether a statement applies to a request, as far as its `Condition`
/// can be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// No condition, or every key of it decided and holding.
    Always,
    /// Some decided key fails: the statement does not apply.
    Never,
    /// It depends on keys only the request knows.
    Maybe,
}

/// What is known of a request: the account owning its resource, and
/// whether it is an S3 request (only those carry `s3:ResourceAccount`).
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    pub resource_account: &'a str,
    pub s3: bool,
    /// The principal making the request, when evaluating for one: its ARN
    /// as `aws:PrincipalArn` has it, and its account. `None` leaves both
    /// keys to the request.
    pub principal: Option<(&'a str, &'a str)>,
}

/// `aws:PrincipalArn`: the caller's ARN (a role's, for a role session).
pub const PRINCIPAL_ARN_KEY: &str = "aws:PrincipalArn";
/// `aws:PrincipalAccount`: the caller's account.
pub const PRINCIPAL_ACCOUNT_KEY: &str = "aws:PrincipalAccount";

/// How `condition` (a statement's `Condition` value, if any) decides for
/// a request of which `known` is known.
pub fn applies(condition: Option<&Value>, known: Known<'_>) -> Applies {
    let Some(condition) = condition else {
        return Applies::Always;
    };
    let Some(operators) = condition.as_object() else {
        // Not an operator map: IAM would not have stored it; count it as
        // depending on the request, which shows access rather than hiding it.
        return Applies::Maybe;
    };
    let mut verdict = Applies::Always;
    for (operator, keys) in operators {
        let Some(keys) = keys.as_object() else {
            return Applies::Maybe;
        };
        for (key, values) in keys {
            match decide(operator, key, values, known) {
                Some(false) => return Applies::Never,
                Some(true) => {}
                None => verdict = Applies::Maybe,
            }
        }
    }
    verdict
}

/// One key under one operator: `Some(holds)` when decided, `None` when it
/// depends on the request.
fn decide(operator: &str, key: &str, values: &Value, known: Known<'_>) -> Option<bool> {
    // Condition keys compare case-insensitively; operators do not.
    let (actual, arn_key) = if key.eq_ignore_ascii_case(RESOURCE_ACCOUNT_KEY) {
        if !known.s3 {
            // The key is absent from a request to another service: a
            // negated operator and `...IfExists` hold, the others fail.
            let (_, negated, if_exists) = matcher(operator, false)?;
            return Some(negated || if_exists);
        }
        (known.resource_account, false)
    } else if key.eq_ignore_ascii_case(PRINCIPAL_ARN_KEY) {
        (known.principal?.0, true)
    } else if key.eq_ignore_ascii_case(PRINCIPAL_ACCOUNT_KEY) {
        (known.principal?.1, false)
    } else {
        return None;
    };
    let (matches, negated, _) = matcher(operator, arn_key)?;
    let values = strings(Some(values));
    let any = values.iter().any(|v| matches(v, actual));
    Some(any != negated)
}

/// Compares a written value with the actual one.
type Matches = fn(&str, &str) -> bool;

/// What an operator compares with, whether it is negated, and whether it
/// is an `...IfExists` form; `None` for an operator not decided here
/// (`ForAnyValue:`, `Null`, numeric, dates...). ARN operators apply only to
/// an ARN key (`arn_key`), string operators to any key.
fn matcher(operator: &str, arn_key: bool) -> Option<(Matches, bool, bool)> {
    let (base, if_exists) = match operator.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (operator, false),
    };
    let (matches, negated): (Matches, bool) = match base {
        "StringEquals" => (|v, a| v == a, false),
        "StringNotEquals" => (|v, a| v == a, true),
        "StringEqualsIgnoreCase" => (|v, a| v.eq_ignore_ascii_case(a), false),
        "StringNotEqualsIgnoreCase" => (|v, a| v.eq_ignore_ascii_case(a), true),
        "StringLike" => (|v, a| wildcard_match(v, a, false), false),
        "StringNotLike" => (|v, a| wildcard_match(v, a, false), true),
        "ArnEquals" if arn_key => (|v, a| v == a, false),
        "ArnNotEquals" if arn_key => (|v, a| v == a, true),
        "ArnLike" if arn_key => (arn_like, false),
        "ArnNotLike" if arn_key => (arn_like, true),
        _ => return None,
    };
    Some((matches, negated, if_exists))
}

/// IAM's `ArnLike`: the six colon-separated parts of the ARN are matched
/// one by one, each with `*` and `?` as wildcards
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN>).
fn arn_like(pattern: &str, actual: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = actual.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| wildcard_match(p, a, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ACCOUNT: &str = "123456789012";
    const S3: Known<'static> = Known {
        resource_account: ACCOUNT,
        s3: true,
        principal: None,
    };
    const OTHER_SERVICE: Known<'static> = Known {
        resource_account: ACCOUNT,
        s3: false,
        principal: None,
    };
    const ALICE: &str = "arn:aws:iam::123456789012:user/provision/alice";
    const AS_ALICE: Known<'static> = Known {
        resource_account: ACCOUNT,
        s3: true,
        principal: Some((ALICE, ACCOUNT)),
    };

    #[test]
    fn the_principal_keys_are_decided_when_the_principal_is_known() {
        let cases = [
            (
                json!({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}),
                Applies::Always,
            ),
            (
                json!({"StringEquals": {"aws:principalaccount": "999999999999"}}),
                Applies::Never,
            ),
            (
                json!({"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}),
                Applies::Never,
            ),
            (
                json!({"ArnEquals": {"aws:PrincipalArn": ALICE}}),
                Applies::Always,
            ),
            (
                json!({"ArnNotEquals": {"aws:PrincipalArn": [ALICE, "arn:aws:iam::123456789012:user/provision/bob"]}}),
                Applies::Never,
            ),
            (
                json!({"ArnNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:user/provision/bob"]}}),
                Applies::Always,
            ),
            // Exact: a name that only starts alike is another principal.
            (
                json!({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/provision/alic"}}),
                Applies::Never,
            ),
            (
                json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/provision/*"}}),
                Applies::Always,
            ),
            (
                json!({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/provision/*"}}),
                Applies::Never,
            ),
            (
                json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/provision/alice"}}),
                Applies::Always,
            ),
            // ArnLike compares part by part: a `*` does not cross a colon.
            (
                json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/provision/alic?"}}),
                Applies::Always,
            ),
            (
                json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam:*:role/x"}}),
                Applies::Never,
            ),
            (
                json!({"StringLike": {"aws:PrincipalArn": "*alice"}}),
                Applies::Always,
            ),
            // The layer's deny: this account, not listed -> applies.
            (
                json!({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}, "ArnNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:user/provision/bob"]}}),
                Applies::Always,
            ),
            (
                json!({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}, "ArnNotEquals": {"aws:PrincipalArn": [ALICE]}}),
                Applies::Never,
            ),
            // Another key still depends on the request.
            (
                json!({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}, "Bool": {"aws:SecureTransport": "false"}}),
                Applies::Maybe,
            ),
            // ARN operators on a string key are not decided.
            (
                json!({"ArnEquals": {"aws:PrincipalAccount": ACCOUNT}}),
                Applies::Maybe,
            ),
        ];
        for (condition, expected) in cases {
            assert_eq!(on(condition.clone(), AS_ALICE), expected, "{condition}");
        }
        // Without a known principal, the keys belong to the request.
        assert_eq!(
            on(
                json!({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}),
                S3
            ),
            Applies::Maybe
        );
        assert_eq!(
            on(json!({"ArnNotEquals": {"aws:PrincipalArn": ALICE}}), S3),
            Applies::Maybe
        );
    }

    fn on(condition: Value, known: Known<'_>) -> Applies {
        applies(Some(&condition), known)
    }

    #[test]
    fn no_condition_always_applies() {
        assert_eq!(applies(None, S3), Applies::Always);
    }

    #[test]
    fn resource_account_is_decided_for_s3_requests() {
        let cases = [
            (
                json!({"StringEquals": {"s3:ResourceAccount": [ACCOUNT]}}),
                Applies::Always,
            ),
            (
                json!({"StringEquals": {"s3:ResourceAccount": "999999999999"}}),
                Applies::Never,
            ),
            (
                json!({"StringEquals": {"s3:ResourceAccount": ["999999999999", ACCOUNT]}}),
                Applies::Always,
            ),
            // Keys compare case-insensitively.
            (
                json!({"StringEquals": {"S3:resourceaccount": ACCOUNT}}),
                Applies::Always,
            ),
            (
                json!({"StringNotEquals": {"s3:ResourceAccount": ACCOUNT}}),
                Applies::Never,
            ),
            (
                json!({"StringNotEquals": {"s3:ResourceAccount": "999999999999"}}),
                Applies::Always,
            ),
            (
                json!({"StringEqualsIfExists": {"s3:ResourceAccount": ACCOUNT}}),
                Applies::Always,
            ),
            (
                json!({"StringEqualsIfExists": {"s3:ResourceAccount": "1"}}),
                Applies::Never,
            ),
            (
                json!({"StringEqualsIgnoreCase": {"s3:ResourceAccount": ACCOUNT}}),
                Applies::Always,
            ),
            (
                json!({"StringNotEqualsIgnoreCase": {"s3:ResourceAccount": ACCOUNT}}),
                Applies::Never,
            ),
            (
                json!({"StringLike": {"s3:ResourceAccount": "1234*"}}),
                Applies::Always,
            ),
            (
                json!({"StringLike": {"s3:ResourceAccount": "9*"}}),
                Applies::Never,
            ),
            (
                json!({"StringNotLike": {"s3:ResourceAccount": "1234*"}}),
                Applies::Never,
            ),
            (
                json!({"StringNotLike": {"s3:ResourceAccount": "9*"}}),
                Applies::Always,
            ),
            // Operators this module does not decide.
            (
                json!({"ForAnyValue:StringEquals": {"s3:ResourceAccount": ACCOUNT}}),
                Applies::Maybe,
            ),
            (
                json!({"Null": {"s3:ResourceAccount": "false"}}),
                Applies::Maybe,
            ),
        ];
        for (condition, expected) in cases {
            assert_eq!(on(condition.clone(), S3), expected, "{condition}");
        }
    }

    #[test]
    fn other_keys_depend_on_the_request_and_one_failing_key_decides() {
        let ip = json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
        assert_eq!(on(ip, S3), Applies::Maybe);
        let both_hold =
            json!({"StringEquals": {"s3:ResourceAccount": ACCOUNT, "aws:username": "x"}});
        assert_eq!(on(both_hold, S3), Applies::Maybe);
        let one_fails = json!({
            "Bool": {"aws:SecureTransport": "true"},
            "StringEquals": {"s3:ResourceAccount": "999999999999"},
        });
        assert_eq!(on(one_fails, S3), Applies::Never);
        assert_eq!(on(json!({}), S3), Applies::Always);
        assert_eq!(on(json!("x"), S3), Applies::Maybe);
        assert_eq!(on(json!({"StringEquals": "x"}), S3), Applies::Maybe);
    }

    #[test]
    fn the_key_is_absent_from_requests_to_other_services() {
        let cases = [
            ("StringEquals", Applies::Never),
            ("StringLike", Applies::Never),
            ("StringNotEquals", Applies::Always),
            ("StringNotLike", Applies::Always),
            ("StringEqualsIfExists", Applies::Always),
        ];
        for (operator, expected) in cases {
            let condition = json!({operator: {"s3:ResourceAccount": ACCOUNT}});
            assert_eq!(on(condition, OTHER_SERVICE), expected, "{operator}");
        }
    }
}
