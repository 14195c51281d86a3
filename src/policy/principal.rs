//! Who a statement of a resource-based policy (a bucket policy) speaks of:
//! its `Principal` or `NotPrincipal`.
//!
//! AWS's rules
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>):
//! `"*"` and `{"AWS": "*"}` are everyone, anonymous callers included; an
//! account id or `arn:aws:iam::<account>:root` is the account, which
//! delegates to that account's identity policies and by itself lets no
//! user in; a user's or role's ARN is that principal. `NotPrincipal` is
//! everyone but the principals it lists.
//!
//! Pure: no IO.

use serde_json::{Map, Value};

use crate::policy::document::strings;

/// One principal a statement names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grantee {
    /// `*`: anyone, in any account, signed or not.
    Everyone,
    /// A whole account (its id), by id or by its `root` ARN.
    Account(String),
    /// An IAM user, role or session, by ARN, in the account it names.
    Arn { arn: String, account: String },
    /// A canonical user id (`CanonicalUser`): an account S3 knows by it.
    CanonicalUser(String),
    /// An AWS service (`Service`) or a federated identity provider.
    Service(String),
}

impl Grantee {
    /// How messages name it.
    pub fn describe(&self) -> String {
        match self {
            Grantee::Everyone => "everyone (`*`)".to_owned(),
            Grantee::Account(a) => format!("account `{a}`"),
            Grantee::Arn { arn, .. } => format!("`{arn}`"),
            Grantee::CanonicalUser(id) => format!("canonical user `{id}`"),
            Grantee::Service(s) => format!("service `{s}`"),
        }
    }
}

/// Every principal an `Allow` of `statement` would let in. A
/// `NotPrincipal` statement lets in everyone but what it lists, so it
/// counts as [`Grantee::Everyone`]; a statement with neither key names no
/// one (S3 would not have stored it).
pub fn grantees(statement: &Map<String, Value>) -> Vec<Grantee> {
    if statement.contains_key("NotPrincipal") {
        return vec![Grantee::Everyone];
    }
    let Some(principal) = statement.get("Principal") else {
        return Vec::new();
    };
    if principal.as_str() == Some("*") {
        return vec![Grantee::Everyone];
    }
    let Some(map) = principal.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (kind, values) in map {
        for value in strings(Some(values)) {
            out.push(match kind.as_str() {
                "AWS" => aws_grantee(value),
                "CanonicalUser" => Grantee::CanonicalUser(value.to_owned()),
                _ => Grantee::Service(value.to_owned()),
            });
        }
    }
    out
}

/// An `AWS` principal: `*`, an account id, an account's root, or an ARN.
fn aws_grantee(value: &str) -> Grantee {
    if value == "*" {
        return Grantee::Everyone;
    }
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Grantee::Account(value.to_owned());
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", "cloudfront", _] => Grantee::Service(value.to_owned()),
        ["arn", _, _, _, account, "root"] => Grantee::Account((*account).to_owned()),
        ["arn", _, _, _, account, _] => Grantee::Arn {
            arn: value.to_owned(),
            account: (*account).to_owned(),
        },
        // Not an ARN: S3 would have refused it; count it as a stranger.
        _ => Grantee::CanonicalUser(value.to_owned()),
    }
}

/// How a statement's principal covers one caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covers {
    /// The caller itself, or everyone: an `Allow` lets it in.
    Caller,
    /// The caller's account: an `Allow` delegates to its identity policies
    /// and lets no one in by itself; a `Deny` applies.
    Account,
}

/// Whether `statement` speaks of the IAM user `arn` of `account`.
pub fn covers(statement: &Map<String, Value>, arn: &str, account: &str) -> Option<Covers> {
    let (listed, negated) = match (statement.get("Principal"), statement.get("NotPrincipal")) {
        (Some(p), _) => (p, false),
        (None, Some(p)) => (p, true),
        (None, None) => return None,
    };
    let found = named(listed, arn, account);
    match (negated, found) {
        (false, found) => found,
        // `NotPrincipal` listing the caller or its account leaves it out.
        (true, Some(_)) => None,
        (true, None) => Some(Covers::Caller),
    }
}

/// How the principals `listed` name the caller, the closest first.
fn named(listed: &Value, arn: &str, account: &str) -> Option<Covers> {
    if listed.as_str() == Some("*") {
        return Some(Covers::Caller);
    }
    let aws = listed.as_object().and_then(|m| m.get("AWS"))?;
    let mut found = None;
    for value in strings(Some(aws)) {
        match aws_grantee(value) {
            Grantee::Everyone => return Some(Covers::Caller),
            Grantee::Arn { arn: a, .. } if a == arn => return Some(Covers::Caller),
            Grantee::Account(a) if a == account => found = Some(Covers::Account),
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:iam::123456789012:user/provision/globex-app";
    const ACCOUNT: &str = "123456789012";

    fn st(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn grantees_name_everyone_accounts_arns_and_services() {
        let s = st(json!({"Principal": {
            "AWS": ["*", "111111111111", "arn:aws:iam::222222222222:root", ARN,
                    "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1"],
            "Service": "cloudfront.amazonaws.com",
            "CanonicalUser": "abc"
        }}));
        assert_eq!(
            grantees(&s),
            vec![
                Grantee::Everyone,
                Grantee::Account("111111111111".into()),
                Grantee::Account("222222222222".into()),
                Grantee::Arn {
                    arn: ARN.into(),
                    account: ACCOUNT.into()
                },
                Grantee::Service(
                    "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1".into()
                ),
                Grantee::CanonicalUser("abc".into()),
                Grantee::Service("cloudfront.amazonaws.com".into()),
            ]
        );
        assert_eq!(
            grantees(&st(json!({"Principal": "*"}))),
            vec![Grantee::Everyone]
        );
        assert_eq!(
            grantees(&st(json!({"NotPrincipal": {"AWS": ARN}}))),
            vec![Grantee::Everyone]
        );
        assert_eq!(grantees(&st(json!({}))), vec![]);
        assert_eq!(grantees(&st(json!({"Principal": 3}))), vec![]);
        assert_eq!(
            grantees(&st(json!({"Principal": {"AWS": "nonsense"}}))),
            vec![Grantee::CanonicalUser("nonsense".into())]
        );
    }

    #[test]
    fn covers_tells_the_caller_from_its_account() {
        let c = |v| covers(&st(v), ARN, ACCOUNT);
        assert_eq!(c(json!({"Principal": "*"})), Some(Covers::Caller));
        assert_eq!(c(json!({"Principal": {"AWS": "*"}})), Some(Covers::Caller));
        assert_eq!(
            c(json!({"Principal": {"AWS": [ARN]}})),
            Some(Covers::Caller)
        );
        assert_eq!(
            c(json!({"Principal": {"AWS": [ACCOUNT, ARN]}})),
            Some(Covers::Caller)
        );
        assert_eq!(
            c(json!({"Principal": {"AWS": ACCOUNT}})),
            Some(Covers::Account)
        );
        assert_eq!(
            c(json!({"Principal": {"AWS": "arn:aws:iam::123456789012:root"}})),
            Some(Covers::Account)
        );
        assert_eq!(c(json!({"Principal": {"AWS": "111111111111"}})), None);
        assert_eq!(
            c(json!({"Principal": {"AWS": "arn:aws:iam::123456789012:user/provision/acme-app"}})),
            None
        );
        assert_eq!(
            c(json!({"Principal": {"Service": "s3.amazonaws.com"}})),
            None
        );
        assert_eq!(c(json!({"NotPrincipal": {"AWS": ARN}})), None);
        assert_eq!(c(json!({"NotPrincipal": {"AWS": ACCOUNT}})), None);
        assert_eq!(
            c(json!({"NotPrincipal": {"AWS": "111111111111"}})),
            Some(Covers::Caller)
        );
        assert_eq!(c(json!({})), None);
    }

    #[test]
    fn grantees_are_described_for_messages() {
        let described: Vec<String> = [
            Grantee::Everyone,
            Grantee::Account("111111111111".into()),
            Grantee::Arn {
                arn: ARN.into(),
                account: ACCOUNT.into(),
            },
            Grantee::CanonicalUser("abc".into()),
            Grantee::Service("s3.amazonaws.com".into()),
        ]
        .iter()
        .map(Grantee::describe)
        .collect();
        assert_eq!(
            described,
            vec![
                "everyone (`*`)",
                "account `111111111111`",
                "`arn:aws:iam::123456789012:user/provision/globex-app`",
                "canonical user `abc`",
                "service `s3.amazonaws.com`",
            ]
        );
    }

    #[test]
    fn an_account_id_is_twelve_digits_exactly() {
        let one = |v: &str| grantees(&st(json!({"Principal": {"AWS": v}})));
        assert_eq!(
            one("abcdefghijkl"),
            vec![Grantee::CanonicalUser("abcdefghijkl".into())]
        );
        assert_eq!(
            one("12345678901"),
            vec![Grantee::CanonicalUser("12345678901".into())]
        );
        assert_eq!(
            one("123456789012"),
            vec![Grantee::Account("123456789012".into())]
        );
    }
}
