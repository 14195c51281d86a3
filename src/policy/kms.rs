//! KMS key identifiers as `deliver_kms_key` takes them, classified so the
//! operator policy can name the key: a key id or key ARN is a resource, an
//! alias is not (KMS authorizes on the key it names).

use thiserror::Error;

/// Why `deliver_kms_key` names no KMS key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "`deliver_kms_key` must be a KMS key id, key ARN, alias name (`alias/...`) or alias ARN, not `{0}`"
)]
pub struct KmsKeyError(pub String);

/// A KMS key as the stores take it, classified for the operator policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KmsKey<'a> {
    /// A key id (`1234abcd-...`, `mrk-...`) or key ARN.
    Key { id: &'a str, arn: Option<&'a str> },
    /// An alias name without `alias/`, from `alias/NAME` or an alias ARN.
    Alias(&'a str),
}

fn alias_name_ok(name: &str) -> bool {
    (1..=250).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
}

fn key_id_ok(id: &str) -> bool {
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    (id.len() == 36 && hex(id))
        || id
            .strip_prefix("mrk-")
            .is_some_and(|r| r.len() == 32 && hex(r))
}

/// Checks and classifies `deliver_kms_key`.
pub fn check_kms_key(text: &str) -> Result<KmsKey<'_>, KmsKeyError> {
    let bad = || KmsKeyError(text.to_owned());
    if let Some(name) = text.strip_prefix("alias/") {
        return alias_name_ok(name)
            .then_some(KmsKey::Alias(name))
            .ok_or_else(bad);
    }
    if let Some(rest) = text.strip_prefix("arn:") {
        // arn:<partition>:kms:<region>:<account>:(key/<id>|alias/<name>)
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [_, "kms", region, account, resource] = parts.as_slice() else {
            return Err(bad());
        };
        if region.is_empty() || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        if let Some(id) = resource.strip_prefix("key/") {
            return key_id_ok(id)
                .then_some(KmsKey::Key {
                    id,
                    arn: Some(text),
                })
                .ok_or_else(bad);
        }
        if let Some(name) = resource.strip_prefix("alias/") {
            return alias_name_ok(name)
                .then_some(KmsKey::Alias(name))
                .ok_or_else(bad);
        }
        return Err(bad());
    }
    key_id_ok(text)
        .then_some(KmsKey::Key {
            id: text,
            arn: None,
        })
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_keys() {
        assert_eq!(
            check_kms_key("alias/provision-keys"),
            Ok(KmsKey::Alias("provision-keys"))
        );
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(check_kms_key(id), Ok(KmsKey::Key { id, arn: None }));
        let arn = format!("arn:aws:kms:eu-west-1:123456789012:key/{id}");
        assert_eq!(
            check_kms_key(&arn),
            Ok(KmsKey::Key {
                id,
                arn: Some(&arn)
            })
        );
        assert_eq!(
            check_kms_key("arn:aws:kms:eu-west-1:123456789012:alias/keys"),
            Ok(KmsKey::Alias("keys"))
        );
        for bad in [
            "",
            "alias/",
            "alias/has space",
            "provision-keys",
            "arn:aws:kms:eu-west-1:123:key/x",
            "arn:aws:s3:::bucket",
            "arn:aws:kms::123456789012:alias/keys",
        ] {
            assert!(check_kms_key(bad).is_err(), "{bad}");
        }
    }
}
