//! The bucket-policy layer's keys: `settings.bucket_policy_exempt`, the
//! administrators its deny lets through, and each client's own
//! `bucket_policy` (`settings.bucket_policy` is read with the other
//! settings).

use super::*;

impl<'a> Validator<'a> {
    /// The ARNs of `settings.bucket_policy_exempt`, each checked: an exact
    /// IAM user, role or root ARN (no wildcards: the layer compares ARNs
    /// exactly), of `account` when the settings name one.
    pub(super) fn bucket_policy_exempt(&mut self, account: Option<&str>) -> Vec<String> {
        let mut arns = Vec::new();
        let mut first: Option<Loc> = None;
        let files = self.files;
        for parsed in files {
            let Some(list) = parsed
                .raw
                .settings
                .as_ref()
                .and_then(|s| s.bucket_policy_exempt.as_ref())
            else {
                continue;
            };
            let loc = Loc::of(parsed.file, list);
            if let Some(earlier) = &first {
                self.push(
                    Diagnostic::error("`bucket_policy_exempt` is set in more than one place")
                        .with_primary(loc.file, loc.span, "set again here")
                        .with_secondary(earlier.file, earlier.span.clone(), "first set here")
                        .with_help(
                            "list every exempt administrator in one `bucket_policy_exempt`; \
                             `[settings]` apply to every file loaded together",
                        ),
                );
                continue;
            }
            first = Some(loc);
            for item in list.get_ref() {
                let arn = item.get_ref();
                match exempt_problem(arn, account) {
                    None => arns.push(arn.clone()),
                    Some(problem) => self.push(
                        Diagnostic::error(format!(
                            "`bucket_policy_exempt` entry `{arn}` {problem}"
                        ))
                        .with_primary(parsed.file, item.span(), "not an exact principal ARN")
                        .with_help(
                            "write the exact ARN of an IAM user or role of this account, with \
                             its path, e.g. `arn:aws:iam::123456789012:role/Admin`, or \
                             `arn:aws:iam::123456789012:root`",
                        ),
                    ),
                }
            }
        }
        arns.sort();
        arns.dedup();
        arns
    }

    /// Each client's own `bucket_policy`, by client name, in scope or not.
    pub(super) fn bucket_policy_clients(&self) -> BTreeMap<String, bool> {
        self.files
            .iter()
            .flat_map(|parsed| &parsed.raw.clients)
            .filter_map(|client| {
                let client = client.get_ref();
                let name = client.name.as_ref()?.get_ref().clone();
                Some((name, *client.bucket_policy.as_ref()?.get_ref()))
            })
            .collect()
    }
}

/// What is wrong with `arn` as an exemption, as the end of a sentence, or
/// `None` when it is an exact user, role or root ARN (of `account`, when
/// known).
fn exempt_problem(arn: &str, account: Option<&str>) -> Option<String> {
    if arn.contains(['*', '?']) {
        return Some(
            "has a wildcard; the layer compares ARNs exactly, so name each principal".to_owned(),
        );
    }
    let Some(rest) = ["arn:aws:iam::", "arn:aws-cn:iam::", "arn:aws-us-gov:iam::"]
        .iter()
        .find_map(|prefix| arn.strip_prefix(prefix))
    else {
        return Some("is not an IAM ARN (`arn:aws:iam::ACCOUNT:...`)".to_owned());
    };
    let (id, resource) = rest.split_once(':').unwrap_or((rest, ""));
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("has account `{id}`; expected 12 digits"));
    }
    if let Some(account) = account
        && id != account
    {
        return Some(format!(
            "is in account `{id}`, not `{account}` (`settings.account_id`); the layer denies only principals of the bucket's own account"
        ));
    }
    let named = |kind: &str| {
        resource
            .strip_prefix(kind)
            .is_some_and(|rest| rest.rsplit('/').next().is_some_and(|n| !n.is_empty()))
    };
    if resource == "root" || named("user/") || named("role/") {
        None
    } else {
        Some(format!(
            "names `{resource}`; expected `user/NAME`, `role/NAME` (with any path) or `root`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::exempt_problem;

    #[test]
    fn exemptions_are_exact_user_role_or_root_arns_of_the_account() {
        for ok in [
            "arn:aws:iam::123456789012:role/Admin",
            "arn:aws:iam::123456789012:role/ops/Admin",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:root",
        ] {
            assert_eq!(exempt_problem(ok, Some("123456789012")), None, "{ok}");
        }
        for bad in [
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:iam::123456789012:role/Adm?n",
            "arn:aws:sts::123456789012:assumed-role/Admin/s",
            "arn:aws:iam::1234:role/Admin",
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::999999999999:role/Admin",
            "Admin",
        ] {
            assert!(exempt_problem(bad, Some("123456789012")).is_some(), "{bad}");
        }
        assert_eq!(
            exempt_problem("arn:aws:iam::999999999999:role/Admin", None),
            None
        );
    }
}
