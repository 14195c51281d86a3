//! Trust policies of the roles GitHub Actions assumes (keyless CI): which
//! `sub` claims the file accepts, the trust policy provision writes for
//! them, and whether a trust policy read from IAM lets in more than that.
//!
//! A GitHub token's `sub` claim is `repo:OWNER/REPO:<context>`. The owner is
//! the organisation or user, and it is the one part that must never be
//! matched by a wildcard: `repo:acme*/site:*` also matches `acme-evil`, an
//! organisation anyone can create. So a subject is accepted only when its
//! owner is written out in full and followed by `/`; after that a `*` may
//! stand for repositories or refs of that owner, and only when written.

use serde_json::{Value, json};

use super::document::{self, POLICY_VERSION};
use crate::model::{GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST};

/// The action a web identity trust policy allows.
pub const ASSUME_ACTION: &str = "sts:AssumeRoleWithWebIdentity";

/// The condition key holding the token's `sub` claim.
pub fn sub_key() -> String {
    format!("{GITHUB_OIDC_HOST}:sub")
}

/// The condition key holding the token's `aud` claim.
pub fn aud_key() -> String {
    format!("{GITHUB_OIDC_HOST}:aud")
}

/// The ARN of GitHub's OIDC provider in `account`.
pub fn provider_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}")
}

/// The ARN of role `name` at `path` in `account`.
pub fn role_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role{path}{name}")
}

/// True when `subject` has a wildcard, and so is matched with `StringLike`.
pub fn is_pattern(subject: &str) -> bool {
    subject.contains('*')
}

/// Why a subject is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("`{0}` does not start with `repo:`")]
    NotRepo(String),
    #[error("the owner in `{0}` is not written out in full")]
    OwnerWildcard(String),
    #[error("`{0}` has no valid owner before `/`")]
    BadOwner(String),
    #[error("`{0}` contains `?` or whitespace")]
    BadCharacter(String),
    #[error("`{0}` does not name a branch, tag, environment or pull requests")]
    BadContext(String),
}

impl SubjectError {
    /// How to fix it, for the file's diagnostic.
    pub fn help(&self) -> &'static str {
        match self {
            SubjectError::OwnerWildcard(_) => {
                "write the organisation in full, e.g. `repo:acme-org/*`: a wildcard in the \
                 owner also matches other organisations' repositories (`acme*` matches \
                 `acme-evil`)"
            }
            _ => {
                "write `repo:OWNER/REPO:ref:refs/heads/BRANCH`, \
                 `repo:OWNER/REPO:ref:refs/tags/TAG`, `repo:OWNER/REPO:environment:NAME` or \
                 `repo:OWNER/REPO:pull_request`; `*` is allowed after `repo:OWNER/`"
            }
        }
    }
}

/// Checks one `sub` claim the file names (see the module's comment).
pub fn check_subject(subject: &str) -> Result<(), SubjectError> {
    let err = |f: fn(String) -> SubjectError| Err(f(subject.to_owned()));
    let Some(rest) = subject.strip_prefix("repo:") else {
        return err(SubjectError::NotRepo);
    };
    if subject.contains('?') || subject.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return err(SubjectError::BadCharacter);
    }
    let Some((owner, after)) = rest.split_once('/') else {
        return if rest.contains('*') {
            err(SubjectError::OwnerWildcard)
        } else {
            err(SubjectError::BadOwner)
        };
    };
    if owner.contains('*') {
        return err(SubjectError::OwnerWildcard);
    }
    // GitHub's rule for user and organisation names.
    let owner_ok = !owner.is_empty()
        && owner.len() <= 39
        && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !owner_ok {
        return err(SubjectError::BadOwner);
    }
    if after.is_empty() {
        return err(SubjectError::BadContext);
    }
    if is_pattern(after) {
        // The owner is literal and followed by `/`, which no owner name
        // contains: whatever the wildcard matches stays in this owner.
        return Ok(());
    }
    let Some((repo, context)) = after.split_once(':') else {
        return err(SubjectError::BadContext);
    };
    let repo_ok = !repo.is_empty()
        && repo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let context_ok = context == "pull_request"
        || ["ref:refs/heads/", "ref:refs/tags/", "environment:"]
            .iter()
            .any(|head| context.strip_prefix(head).is_some_and(|n| !n.is_empty()));
    if repo_ok && context_ok {
        Ok(())
    } else {
        err(SubjectError::BadContext)
    }
}

/// The trust policy of a role GitHub Actions assumes for `subjects`: one
/// statement for the exact subjects (`StringEquals`) and one for the
/// patterns (`StringLike`), each also requiring `aud` = `sts.amazonaws.com`.
/// Two statements, because the operators of one statement's `Condition`
/// must all hold at once. [`document::normalize`]d.
pub fn trust_policy(account: &str, subjects: &[String]) -> Value {
    let (patterns, exact): (Vec<&String>, Vec<&String>) =
        subjects.iter().partition(|s| is_pattern(s));
    let statement = |operator: &str, subs: Vec<&String>| {
        let mut condition = json!({"StringEquals": {aud_key(): [GITHUB_OIDC_AUDIENCE]}});
        condition[operator][sub_key()] = json!(subs);
        json!({
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn(account)},
            "Action": ASSUME_ACTION,
            "Condition": condition,
        })
    };
    let mut statements = Vec::new();
    if !exact.is_empty() {
        statements.push(statement("StringEquals", exact));
    }
    if !patterns.is_empty() {
        statements.push(statement("StringLike", patterns));
    }
    document::normalize(&json!({"Version": POLICY_VERSION, "Statement": statements}))
}

/// How an observed trust policy lets in more than the file's `subjects`
/// allow, one reason a line; empty when it does not (it may still let in
/// less, which is not a widening). Every `Allow` statement must name only
/// GitHub's provider in this account, allow only [`ASSUME_ACTION`], and
/// restrict both `aud` (to `sts.amazonaws.com`) and `sub` (to the file's
/// subjects, with `StringLike` only for the file's own patterns).
pub fn widening(observed: &Value, account: &str, subjects: &[String]) -> Vec<String> {
    let mut reasons = Vec::new();
    let doc = document::normalize(observed);
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        _ => {
            return vec!["the trust policy has no readable `Statement`".to_owned()];
        }
    };
    for (index, statement) in statements.iter().enumerate() {
        let id = statement
            .get("Sid")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{}", index + 1), str::to_owned);
        if statement.get("Effect").and_then(Value::as_str) == Some("Deny") {
            continue;
        }
        let mut say = |reason: String| reasons.push(format!("statement `{id}` {reason}"));
        if statement.get("NotPrincipal").is_some() || statement.get("NotAction").is_some() {
            say("uses `NotPrincipal` or `NotAction`".to_owned());
            continue;
        }
        let expected = json!({"Federated": [provider_arn(account)]});
        if statement.get("Principal") != Some(&expected) {
            say(format!(
                "trusts {} instead of only `{}`",
                statement.get("Principal").unwrap_or(&Value::Null),
                provider_arn(account)
            ));
        }
        if statement.get("Action") != Some(&json!([ASSUME_ACTION])) {
            say(format!(
                "allows {} instead of only `{ASSUME_ACTION}`",
                statement.get("Action").unwrap_or(&Value::Null)
            ));
        }
        let condition = statement.get("Condition").cloned().unwrap_or(Value::Null);
        if !aud_within(&condition) {
            say(format!(
                "does not require `{}` = `{GITHUB_OIDC_AUDIENCE}`",
                aud_key()
            ));
        }
        if let Some(reason) = sub_widening(&condition, subjects) {
            say(reason);
        }
    }
    reasons
}

/// The values a condition gives `key` under `operator`, case-insensitively
/// on the key as IAM reads condition keys; `None` when it does not test it.
fn values<'a>(condition: &'a Value, operator: &str, key: &str) -> Option<Vec<&'a str>> {
    let block = condition.get(operator)?.as_object()?;
    let (_, found) = block.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))?;
    Some(document::strings(Some(found)))
}

/// True when the condition restricts `aud` to `sts.amazonaws.com` with
/// `StringEquals`, or with `StringLike` and no wildcard.
fn aud_within(condition: &Value) -> bool {
    let only_audience =
        |values: Vec<&str>| !values.is_empty() && values.iter().all(|v| *v == GITHUB_OIDC_AUDIENCE);
    values(condition, "StringEquals", &aud_key()).is_some_and(only_audience)
        || values(condition, "StringLike", &aud_key()).is_some_and(only_audience)
}

/// Why the condition's `sub` test lets in a subject the file does not, or
/// `None` when one of its tests (all must hold) keeps to the file's.
fn sub_widening(condition: &Value, subjects: &[String]) -> Option<String> {
    let key = sub_key();
    let equals = values(condition, "StringEquals", &key);
    let like = values(condition, "StringLike", &key);
    // An exact value is within when the file names it, or a pattern of the
    // file matches it.
    let exact_within = |v: &str| {
        subjects
            .iter()
            .any(|s| s == v || (is_pattern(s) && glob_matches(s, v)))
    };
    let equals_ok = equals
        .as_ref()
        .is_some_and(|vs| !vs.is_empty() && vs.iter().all(|v| exact_within(v)));
    // A `StringLike` value is within only when it is one of the file's own
    // patterns: a literal under `StringLike` is where the file wrote
    // `StringEquals`, and `?` or a new `*` could match more.
    let like_ok = like.as_ref().is_some_and(|vs| {
        !vs.is_empty()
            && vs
                .iter()
                .all(|v| is_pattern(v) && subjects.iter().any(|s| s == v))
    });
    if equals_ok || like_ok {
        return None;
    }
    Some(match (equals, like) {
        (None, None) => format!("does not restrict `{key}`"),
        (Some(vs), None) | (None, Some(vs)) if vs.is_empty() => {
            format!("does not restrict `{key}`")
        }
        (equals, like) => {
            let mut extra: Vec<String> = equals
                .unwrap_or_default()
                .into_iter()
                .filter(|v| !exact_within(v))
                .map(|v| format!("`{v}`"))
                .collect();
            extra.extend(
                like.unwrap_or_default()
                    .into_iter()
                    .filter(|v| !(is_pattern(v) && subjects.iter().any(|s| s == v)))
                    .map(|v| format!("`{v}` (StringLike)")),
            );
            format!("lets in {} for `{key}`", extra.join(", "))
        }
    })
}

/// IAM's `StringLike` on `*` alone (the only wildcard a file's subject may
/// have): does `pattern` match `value`?
pub fn glob_matches(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut remaining) = value.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// True when a token whose claims are `sub` and `aud` could assume a role
/// with the file's `subjects`: what the trust policy [`trust_policy`] writes
/// allows, used by tests and by `verify`'s explanation.
pub fn admits(subjects: &[String], sub: &str, aud: &str) -> bool {
    aud == GITHUB_OIDC_AUDIENCE
        && subjects.iter().any(|s| {
            if is_pattern(s) {
                glob_matches(s, sub)
            } else {
                s == sub
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    fn subs(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn accepted_subjects_name_their_owner_in_full() {
        for ok in [
            "repo:acme-org/site:ref:refs/heads/main",
            "repo:acme-org/site:ref:refs/tags/v1",
            "repo:acme-org/site:environment:prod",
            "repo:acme-org/site:pull_request",
            "repo:acme-org/site:*",
            "repo:acme-org/*",
            "repo:acme-org/site:ref:refs/heads/release-*",
            "repo:Acme/my.repo_1:ref:refs/heads/feature/x",
        ] {
            assert_eq!(check_subject(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn a_wildcard_that_could_reach_another_owner_is_refused() {
        for owner_wild in [
            "repo:*",
            "repo:acme*/x:*",
            "repo:*/site:pull_request",
            "repo:a*",
        ] {
            assert_eq!(
                check_subject(owner_wild),
                Err(SubjectError::OwnerWildcard(owner_wild.to_owned())),
                "{owner_wild}"
            );
        }
        assert!(matches!(
            check_subject("repo:acme?/x:pull_request"),
            Err(SubjectError::BadCharacter(_))
        ));
        assert!(matches!(
            check_subject("repository:acme/x"),
            Err(SubjectError::NotRepo(_))
        ));
        assert!(matches!(
            check_subject("repo:acme"),
            Err(SubjectError::BadOwner(_))
        ));
        assert!(matches!(
            check_subject("repo:ac/me/x:pull_request"),
            Err(SubjectError::BadContext(_))
        ));
        for bad in [
            "repo:acme/site",
            "repo:acme/site:ref:refs/heads/",
            "repo:acme/:pull_request",
            "repo:acme/site:push",
            "repo:acme/",
        ] {
            assert!(
                matches!(check_subject(bad), Err(SubjectError::BadContext(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            check_subject("repo:acme/site:ref:refs/heads/a b"),
            Err(SubjectError::BadCharacter(_))
        ));
        assert!(matches!(
            check_subject("repo:acme_x/site:pull_request"),
            Err(SubjectError::BadOwner(_))
        ));
    }

    #[test]
    fn exact_subjects_use_string_equals_and_patterns_string_like() {
        let doc = trust_policy(
            ACCOUNT,
            &subs(&["repo:o/r:ref:refs/heads/main", "repo:o/r:environment:*"]),
        );
        insta::assert_json_snapshot!(doc);
        let only_exact = trust_policy(ACCOUNT, &subs(&["repo:o/r:pull_request"]));
        let statements = only_exact["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1);
        assert!(statements[0]["Condition"].get("StringLike").is_none());
        assert_eq!(
            statements[0]["Condition"]["StringEquals"][sub_key()],
            json!(["repo:o/r:pull_request"])
        );
    }

    #[test]
    fn the_written_trust_policy_is_not_wider_than_itself() {
        let s = subs(&["repo:o/r:ref:refs/heads/main", "repo:o/r:environment:*"]);
        assert!(widening(&trust_policy(ACCOUNT, &s), ACCOUNT, &s).is_empty());
        // A narrower one (a subject removed) is not wider either.
        let fewer = subs(&["repo:o/r:ref:refs/heads/main"]);
        assert!(widening(&trust_policy(ACCOUNT, &fewer), ACCOUNT, &s).is_empty());
    }

    /// Every way a hand edit could let another caller in is a widening.
    #[test]
    fn each_widening_of_a_trust_policy_is_found() {
        let s = subs(&["repo:o/r:ref:refs/heads/main"]);
        let base = trust_policy(ACCOUNT, &s);
        let edit = |f: &dyn Fn(&mut Value)| {
            let mut doc = base.clone();
            f(&mut doc["Statement"][0]);
            widening(&doc, ACCOUNT, &s)
        };
        let cases: Vec<(&str, Vec<String>)> = vec![
            (
                "another principal",
                edit(&|st| st["Principal"] = json!({"AWS": "arn:aws:iam::999999999999:root"})),
            ),
            (
                "a second principal",
                edit(&|st| {
                    st["Principal"]["Federated"] =
                        json!([provider_arn(ACCOUNT), "arn:aws:iam::1:saml-provider/x"])
                }),
            ),
            (
                "another provider",
                edit(&|st| st["Principal"] = json!({"Federated": provider_arn("999999999999")})),
            ),
            ("everyone", edit(&|st| st["Principal"] = json!("*"))),
            (
                "another action",
                edit(&|st| st["Action"] = json!(["sts:AssumeRole", ASSUME_ACTION])),
            ),
            (
                "no sub",
                edit(&|st| {
                    st["Condition"]["StringEquals"]
                        .as_object_mut()
                        .unwrap()
                        .remove(&sub_key());
                }),
            ),
            (
                "no aud",
                edit(&|st| {
                    st["Condition"]["StringEquals"]
                        .as_object_mut()
                        .unwrap()
                        .remove(&aud_key());
                }),
            ),
            (
                "another aud",
                edit(&|st| {
                    st["Condition"]["StringEquals"][aud_key()] = json!(["x", GITHUB_OIDC_AUDIENCE])
                }),
            ),
            (
                "another sub",
                edit(&|st| {
                    st["Condition"]["StringEquals"][sub_key()] =
                        json!(["repo:o/r:ref:refs/heads/main", "repo:evil/r:pull_request"])
                }),
            ),
            (
                "StringLike where StringEquals was written",
                edit(&|st| {
                    let sub = st["Condition"]["StringEquals"]
                        .as_object_mut()
                        .unwrap()
                        .remove(&sub_key())
                        .unwrap();
                    st["Condition"]["StringLike"] = json!({ sub_key(): sub });
                }),
            ),
            (
                "a wildcard added",
                edit(&|st| {
                    st["Condition"]["StringEquals"]
                        .as_object_mut()
                        .unwrap()
                        .remove(&sub_key());
                    st["Condition"]["StringLike"] = json!({ sub_key(): ["repo:o/*"] });
                }),
            ),
            (
                "NotPrincipal",
                edit(&|st| {
                    let p = st.as_object_mut().unwrap().remove("Principal").unwrap();
                    st["NotPrincipal"] = p;
                }),
            ),
            (
                "no condition",
                edit(&|st| {
                    st.as_object_mut().unwrap().remove("Condition");
                }),
            ),
        ];
        for (case, reasons) in cases {
            assert!(!reasons.is_empty(), "{case} was not found");
        }
        // A statement added with another principal, the first left alone.
        let mut doc = base.clone();
        doc["Statement"]
            .as_array_mut()
            .unwrap()
            .push(json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}));
        assert!(!widening(&doc, ACCOUNT, &s).is_empty());
        // A Deny added narrows.
        let mut doc = base.clone();
        doc["Statement"]
            .as_array_mut()
            .unwrap()
            .push(json!({"Effect": "Deny", "Principal": "*", "Action": "*"}));
        assert!(widening(&doc, ACCOUNT, &s).is_empty());
    }

    #[test]
    fn an_exact_value_covered_by_the_files_pattern_is_not_wider() {
        let s = subs(&["repo:o/r:environment:*"]);
        let exact = trust_policy(ACCOUNT, &subs(&["repo:o/r:environment:prod"]));
        assert!(widening(&exact, ACCOUNT, &s).is_empty());
        let other = trust_policy(ACCOUNT, &subs(&["repo:o/x:environment:prod"]));
        assert!(!widening(&other, ACCOUNT, &s).is_empty());
    }

    #[test]
    fn glob_matching_is_iams_star() {
        assert!(glob_matches("repo:o/*", "repo:o/r:pull_request"));
        assert!(glob_matches("a*c*e", "abcde"));
        assert!(glob_matches("a*", "a"));
        assert!(!glob_matches("a*c", "ab"));
        assert!(!glob_matches("repo:o/*", "repo:o-evil/r"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("exact", "exactly"));
        assert!(!glob_matches("*ab", "b"));
        assert!(admits(
            &subs(&["repo:o/r:pull_request"]),
            "repo:o/r:pull_request",
            GITHUB_OIDC_AUDIENCE
        ));
        assert!(!admits(
            &subs(&["repo:o/r:pull_request"]),
            "repo:o/r:pull_request",
            "other"
        ));
        assert!(!admits(
            &subs(&["repo:o/r:pull_request"]),
            "repo:o/x:pull_request",
            GITHUB_OIDC_AUDIENCE
        ));
    }
}
