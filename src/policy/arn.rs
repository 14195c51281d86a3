//! Every ARN provision builds, in one place, and the one way it reads an
//! ARN back into its parts.
//!
//! The S3 and CloudFront resources a client group's policy grants, the
//! names and ARNs of provision's own managed policies and of the apply
//! lock, and the patterns the operator policy grants on. A name written
//! here and read back elsewhere (the own policies an observation reads, the
//! lock a run takes) cannot disagree with itself. Pure.

use sha2::{Digest, Sha256};

use crate::model::GROUP_PREFIX;

// ---- what a client group's policy grants ----------------------------------

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

// ---- provision's own managed policies --------------------------------------

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

/// True when `arn` names one of provision's own managed policies
/// (`provision-s3-<client>`) at exactly `managed_path`: not at a nested
/// path, which another configuration owns.
pub fn is_own_policy_arn(arn: &str, managed_path: &str) -> bool {
    arn.split_once(":policy")
        .and_then(|(_, rest)| rest.strip_prefix(managed_path))
        .and_then(|name| name.strip_prefix(&managed_policy_name("")))
        .is_some_and(|client| !client.is_empty() && !client.contains('/'))
}

/// True when `arn` names the managed policy provision writes for `client`
/// (`provision-s3-<client>`) at exactly `managed_path`, in any account.
pub fn is_client_policy_arn(arn: &str, managed_path: &str, client: &str) -> bool {
    arn.split_once(":policy")
        .and_then(|(_, rest)| rest.strip_prefix(managed_path))
        .is_some_and(|name| name == managed_policy_name(client))
}

// ---- the apply lock -----------------------------------------------------------

/// The start of every lock policy's name.
pub const LOCK_NAME_PREFIX: &str = "provision-lock-";

/// The name of the lock policy for managed path `path`.
pub fn lock_name(path: &str) -> String {
    let digest = Sha256::digest(path.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{LOCK_NAME_PREFIX}{hex}")
}

/// The ARN of the lock policy of `account` and managed path `path`.
pub fn lock_arn(account: &str, path: &str) -> String {
    format!("arn:aws:iam::{account}:policy{path}{}", lock_name(path))
}

// ---- what the operator policy grants on -------------------------------------

/// ARN pattern of every user under the managed path.
pub fn users_arn(account: &str, path: &str) -> String {
    format!("arn:aws:iam::{account}:user{path}*")
}

/// ARN pattern of every client group under the managed path.
pub fn groups_arn(account: &str, path: &str) -> String {
    format!("arn:aws:iam::{account}:group{path}{GROUP_PREFIX}*")
}

/// ARN pattern of provision's own managed policies under the managed path.
pub fn policies_arn(account: &str, path: &str) -> String {
    format!(
        "arn:aws:iam::{account}:policy{path}{}",
        managed_policy_name("*")
    )
}

/// ARN pattern of every role under the managed path.
pub fn roles_arn(account: &str, path: &str) -> String {
    format!("arn:aws:iam::{account}:role{path}*")
}

/// ARN patterns of the users, groups and policies at paths nested under the
/// managed path (`user/provision/*/*` under `/provision/`). IAM names never
/// hold a `/`, so an ARN with one more `/` after the managed path names an
/// entity at a nested path: another configuration's, which the operator
/// must not touch although `user/provision/*` matches it too (`*` in an ARN
/// matches `/`; IAM has no wildcard for "one path segment").
pub fn nested_arns(account: &str, path: &str) -> Vec<String> {
    ["user", "group", "policy", "role"]
        .iter()
        .map(|kind| format!("arn:aws:iam::{account}:{kind}{path}*/*"))
        .collect()
}

/// ARN pattern of every virtual MFA device.
pub fn mfa_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:mfa/*")
}

// ---- reading an ARN back ----------------------------------------------------

/// The six parts of `arn:partition:service:region:account:resource`; the
/// resource keeps any further `:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'a> {
    /// `arn` in an ARN; whatever stands first otherwise.
    pub prefix: &'a str,
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// Splits `arn` at its first five `:`; `None` when it has fewer parts.
/// The prefix is not checked: callers that need `arn` say so.
pub fn split(arn: &str) -> Option<Parts<'_>> {
    let mut parts = arn.splitn(6, ':');
    Some(Parts {
        prefix: parts.next()?,
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_named_for_its_path() {
        let name = lock_name("/provision/");
        assert!(name.starts_with(LOCK_NAME_PREFIX), "{name}");
        assert_eq!(name.len(), LOCK_NAME_PREFIX.len() + 16);
        // Paths that a plain character substitution would confuse get
        // different locks.
        assert_ne!(lock_name("/a-b/"), lock_name("/a/b/"));
        assert_ne!(lock_name("/provision/"), lock_name("/provision/team-b/"));
        assert_eq!(lock_name("/provision/"), lock_name("/provision/"));
        assert_eq!(
            lock_arn("123456789012", "/provision/"),
            format!("arn:aws:iam::123456789012:policy/provision/{name}")
        );
        // IAM's limits on a policy name: 128 characters of [\w+=,.@-].
        assert!(name.len() <= 128);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
        );
    }

    #[test]
    fn own_policies_are_recognised_at_exactly_the_managed_path() {
        let arn = |rest: &str| format!("arn:aws:iam::123456789012:policy{rest}");
        assert!(is_own_policy_arn(
            &arn("/provision/provision-s3-acme"),
            "/provision/"
        ));
        for other in [
            "/provision/team-b/provision-s3-acme",
            "/provision-s3-acme",
            "/provision/provision-s3-",
            "/provision/other-policy",
            "/elsewhere/provision/provision-s3-acme",
        ] {
            assert!(!is_own_policy_arn(&arn(other), "/provision/"), "{other}");
        }
    }

    #[test]
    fn an_arn_splits_into_six_parts_the_resource_keeping_its_colons() {
        let parts = split("arn:aws:iam::123456789012:policy/a:b").unwrap();
        assert_eq!(
            (parts.prefix, parts.partition, parts.service, parts.region),
            ("arn", "aws", "iam", "")
        );
        assert_eq!(
            (parts.account, parts.resource),
            ("123456789012", "policy/a:b")
        );
        assert_eq!(split("arn:aws:s3::"), None);
    }
}
