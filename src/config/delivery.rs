//! The secret store new access keys are delivered to (`deliver`,
//! `--deliver`) and the KMS key that encrypts them (`deliver_kms_key`):
//! parsed and checked against the stores' naming rules, so that a value
//! the store would refuse is a configuration error before any AWS call,
//! not a failed write after a key was created.
//!
//! The limits come from the AWS documentation: SSM parameter names
//! (`[a-zA-Z0-9_.-/]`, a hierarchy starts with `/`, at most 15 levels and
//! 1011 characters, no name starting with `aws` or `ssm`), Secrets Manager
//! secret names (`[a-zA-Z0-9/_+=.@-]`, at most 512 characters), and KMS key
//! identifiers (key id, key ARN, alias name, alias ARN).

use thiserror::Error;

use super::rules::Rule;
use crate::model::{SecretStore, StoreKind};
pub use crate::policy::kms::{KmsKey, KmsKeyError, check_kms_key};

/// Longest SSM parameter name, hierarchy included.
const SSM_MAX_NAME: usize = 1011;
/// Most levels of an SSM parameter hierarchy.
const SSM_MAX_LEVELS: usize = 15;
/// Longest Secrets Manager secret name.
const SECRET_MAX_NAME: usize = 512;
/// Longest IAM user name, the part appended to the prefix.
const MAX_USER: usize = 64;

/// Why `deliver` (or `--deliver`) names no usable store.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeliveryError {
    #[error("`deliver` must be `ssm:PREFIX` or `secretsmanager:PREFIX`, not `{0}`")]
    Scheme(String),
    #[error("`deliver` has an empty prefix: `{0}:`")]
    EmptyPrefix(&'static str),
    #[error("the SSM prefix `{0}` must start and end with `/` (a parameter hierarchy)")]
    SsmSlashes(String),
    #[error("the SSM prefix `{prefix}` contains {what}, which parameter names cannot hold")]
    SsmCharacter { prefix: String, what: String },
    #[error("the SSM prefix `{0}` has an empty level (`//`)")]
    SsmEmptyLevel(String),
    #[error("the SSM prefix `{0}` starts with `aws` or `ssm`, which AWS reserves")]
    SsmReserved(String),
    #[error(
        "the SSM prefix `{0}` has too many levels: a parameter name has at most {SSM_MAX_LEVELS}"
    )]
    SsmDepth(String),
    #[error(
        "the Secrets Manager prefix `{prefix}` contains {what}, which secret names cannot hold"
    )]
    SecretCharacter { prefix: String, what: String },
    #[error(
        "the prefix `{prefix}` is too long: with a user name of {MAX_USER} characters the name would exceed the store's {max}"
    )]
    TooLong { prefix: String, max: usize },
}

impl Rule for DeliveryError {
    fn label(&self) -> String {
        "not a secret store provision can deliver to".to_owned()
    }

    fn help(&self) -> Option<String> {
        Some(
            "write e.g. `deliver = \"ssm:/provision/keys/\"` (SSM Parameter Store) or \
             `deliver = \"secretsmanager:provision/keys/\"` (Secrets Manager); each app user's \
             key is stored under the prefix followed by the user's name"
                .to_owned(),
        )
    }
}

/// Describes a character for a message.
fn what(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        c if c.is_control() || c.is_whitespace() => format!("the character {}", c.escape_unicode()),
        c => format!("`{c}`"),
    }
}

fn ssm_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.-/".contains(c)
}

fn secret_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)
}

/// Parses and checks `ssm:PREFIX` or `secretsmanager:PREFIX`.
pub fn parse_delivery(text: &str) -> Result<SecretStore, DeliveryError> {
    let Some((scheme, prefix)) = text.split_once(':') else {
        return Err(DeliveryError::Scheme(text.to_owned()));
    };
    let kind = match scheme {
        "ssm" => StoreKind::Ssm,
        "secretsmanager" => StoreKind::SecretsManager,
        _ => return Err(DeliveryError::Scheme(text.to_owned())),
    };
    if prefix.is_empty() {
        return Err(DeliveryError::EmptyPrefix(kind.scheme()));
    }
    let owned = || prefix.to_owned();
    match kind {
        StoreKind::Ssm => {
            if let Some(c) = prefix.chars().find(|c| !ssm_char(*c)) {
                return Err(DeliveryError::SsmCharacter {
                    prefix: owned(),
                    what: what(c),
                });
            }
            // A hierarchy, so that the operator policy's resource
            // (`parameter/<prefix>*`) reaches exactly provision's parameters.
            if prefix.len() < 3 || !prefix.starts_with('/') || !prefix.ends_with('/') {
                return Err(DeliveryError::SsmSlashes(owned()));
            }
            if prefix.contains("//") {
                return Err(DeliveryError::SsmEmptyLevel(owned()));
            }
            let first = prefix[1..].to_ascii_lowercase();
            if first.starts_with("aws") || first.starts_with("ssm") {
                return Err(DeliveryError::SsmReserved(owned()));
            }
            // Levels of `/a/b/<user>`: one per `/`.
            if prefix.matches('/').count() > SSM_MAX_LEVELS {
                return Err(DeliveryError::SsmDepth(owned()));
            }
            if prefix.len() + MAX_USER > SSM_MAX_NAME {
                return Err(DeliveryError::TooLong {
                    prefix: owned(),
                    max: SSM_MAX_NAME,
                });
            }
        }
        StoreKind::SecretsManager => {
            if let Some(c) = prefix.chars().find(|c| !secret_char(*c)) {
                return Err(DeliveryError::SecretCharacter {
                    prefix: owned(),
                    what: what(c),
                });
            }
            if prefix.len() + MAX_USER > SECRET_MAX_NAME {
                return Err(DeliveryError::TooLong {
                    prefix: owned(),
                    max: SECRET_MAX_NAME,
                });
            }
        }
    }
    Ok(SecretStore {
        kind,
        prefix: prefix.to_owned(),
    })
}

/// The first character of IAM user `user` that `store`'s names cannot
/// hold: SSM parameter names have no `+`, `=`, `,` or `@`, which IAM user
/// names may.
pub fn unstorable_character(store: &SecretStore, user: &str) -> Option<char> {
    user.chars().find(|c| match store.kind {
        StoreKind::Ssm => !ssm_char(*c),
        StoreKind::SecretsManager => !secret_char(*c),
    })
}

impl Rule for KmsKeyError {
    fn label(&self) -> String {
        "not a KMS key".to_owned()
    }

    fn help(&self) -> Option<String> {
        Some(
            "write e.g. `deliver_kms_key = \"alias/provision-keys\"`, or leave it out to use \
             the store's AWS managed key"
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_that_the_stores_accept() {
        let parameters = parse_delivery("ssm:/provision/keys/").unwrap();
        assert_eq!(parameters.kind, StoreKind::Ssm);
        assert_eq!(parameters.name_for("acme-app"), "/provision/keys/acme-app");
        assert_eq!(parameters.spec(), "ssm:/provision/keys/");
        let secrets = parse_delivery("secretsmanager:provision/keys/").unwrap();
        assert_eq!(secrets.kind, StoreKind::SecretsManager);
        assert_eq!(secrets.name_for("acme-app"), "provision/keys/acme-app");
        assert!(parse_delivery("secretsmanager:provision-").is_ok());
    }

    #[test]
    fn deliveries_that_the_stores_would_refuse_are_errors() {
        for bad in [
            "",
            "ssm",
            "/provision/keys/",
            "s3:/provision/",
            "SSM:/provision/",
            "ssm:",
            "secretsmanager:",
            "ssm:provision/keys/",
            "ssm:/provision/keys",
            "ssm:/",
            "ssm:/provision//keys/",
            "ssm:/aws/keys/",
            "ssm:/SSM-keys/",
            "ssm:/pro vision/",
            "ssm:/provision@keys/",
            "secretsmanager:provision keys/",
            "secretsmanager:provision:keys/",
        ] {
            assert!(parse_delivery(bad).is_err(), "{bad}");
        }
        let deep = format!("ssm:{}", "/a".repeat(15) + "/");
        assert!(matches!(
            parse_delivery(&deep),
            Err(DeliveryError::SsmDepth(_))
        ));
        let long = format!(
            "secretsmanager:{}",
            "a".repeat(SECRET_MAX_NAME - MAX_USER + 1)
        );
        assert!(matches!(
            parse_delivery(&long),
            Err(DeliveryError::TooLong { .. })
        ));
    }

    #[test]
    fn user_names_ssm_cannot_hold_are_found() {
        let parameters = parse_delivery("ssm:/k/").unwrap();
        let secrets = parse_delivery("secretsmanager:k/").unwrap();
        assert_eq!(unstorable_character(&parameters, "acme-app"), None);
        assert_eq!(unstorable_character(&parameters, "acme+app"), Some('+'));
        assert_eq!(unstorable_character(&secrets, "acme+app@x"), None);
        assert_eq!(unstorable_character(&secrets, "acme,app"), Some(','));
    }
}
