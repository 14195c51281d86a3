//! Delivery of new secrets to a secret store (`deliver`): one SSM
//! Parameter Store `SecureString` or one Secrets Manager secret per
//! application user, named `<prefix><user>`, overwritten on rotation and
//! tagged `managed-by=provision`.
//!
//! The value is the JSON object a credentials file holds (see
//! [`super::keys`]). It goes only into the request that stores it: errors
//! carry the service's code and message, never the request.

use aws_sdk_secretsmanager::types::Tag as SecretTag;
use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging, Tag as SsmTag};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use thiserror::Error;

use super::keys::{AccessKey, key_json};
use crate::aws::{self, Aws};
use crate::model::{MANAGED_TAG_KEY, MANAGED_TAG_VALUE, SecretStore, StoreKind};

/// Why a secret could not be stored. Never holds the secret.
#[derive(Debug, Error)]
#[error("could not store the secret in `{name}` ({action}): {message}")]
pub struct StoreError {
    /// The parameter or secret name.
    pub name: String,
    /// The IAM action of the call that failed (`ssm:PutParameter`).
    pub action: &'static str,
    pub message: String,
}

/// A secret store with the clients to reach it.
#[derive(Debug, Clone)]
pub struct Store {
    store: SecretStore,
    kms_key: Option<String>,
    ssm: aws_sdk_ssm::Client,
    secretsmanager: aws_sdk_secretsmanager::Client,
}

impl Store {
    pub fn new(aws: &Aws, store: SecretStore, kms_key: Option<String>) -> Store {
        Store {
            store,
            kms_key,
            ssm: aws.ssm.clone(),
            secretsmanager: aws.secretsmanager.clone(),
        }
    }

    /// The store as configured (`ssm:/provision/keys/`).
    pub fn spec(&self) -> String {
        self.store.spec()
    }

    /// Stores `key`'s secret under `<prefix><user>`; returns the name. Once
    /// this returns `Ok`, the store acknowledged the value.
    pub async fn put(&self, key: &AccessKey) -> Result<String, StoreError> {
        let name = self.store.name_for(&key.user);
        let value = key_json(key).map_err(|e| StoreError {
            name: name.clone(),
            action: "serialize",
            message: e.to_string(),
        })?;
        match self.store.kind {
            StoreKind::Ssm => self.put_parameter(&name, &key.user, value).await?,
            StoreKind::SecretsManager => self.put_secret(&name, key, value).await?,
        }
        Ok(name)
    }

    /// `PutParameter` with `Overwrite`, then the tag: AWS refuses `Tags`
    /// together with `Overwrite`, so the tag is a call of its own.
    async fn put_parameter(&self, name: &str, user: &str, value: String) -> Result<(), StoreError> {
        let failed = |action: &'static str, message: String| StoreError {
            name: name.to_owned(),
            action,
            message,
        };
        self.ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .set_key_id(self.kms_key.clone())
            .overwrite(true)
            .description(description(user))
            .send()
            .await
            .map_err(|e| failed("ssm:PutParameter", aws::describe(&e)))?;
        let tag = SsmTag::builder()
            .key(MANAGED_TAG_KEY)
            .value(MANAGED_TAG_VALUE)
            .build()
            .map_err(|e| failed("ssm:AddTagsToResource", e.to_string()))?;
        self.ssm
            .add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .tags(tag)
            .send()
            .await
            .map_err(|e| failed("ssm:AddTagsToResource", aws::describe(&e)))?;
        Ok(())
    }

    /// `CreateSecret`, or `PutSecretValue` when the secret exists (a
    /// rotation, or a key replaced after a failed apply).
    ///
    /// The version's token is derived from the key id: a call sent again
    /// (by the SDK, or after `CreateSecret` found the secret) stores the
    /// same version once, and the secret's version ids say which key each
    /// version holds.
    async fn put_secret(
        &self,
        name: &str,
        key: &AccessKey,
        value: String,
    ) -> Result<(), StoreError> {
        let failed = |action: &'static str, message: String| StoreError {
            name: name.to_owned(),
            action,
            message,
        };
        let token = format!("provision-access-key-{}", key.access_key_id);
        let tag = SecretTag::builder()
            .key(MANAGED_TAG_KEY)
            .value(MANAGED_TAG_VALUE)
            .build();
        let created = self
            .secretsmanager
            .create_secret()
            .name(name)
            .secret_string(value.clone())
            .client_request_token(&token)
            .set_kms_key_id(self.kms_key.clone())
            .description(description(&key.user))
            .tags(tag.clone())
            .send()
            .await;
        match created {
            Ok(_) => return Ok(()),
            Err(e) if e.code() == Some("ResourceExistsException") => {}
            Err(e) => return Err(failed("secretsmanager:CreateSecret", aws::describe(&e))),
        }
        self.secretsmanager
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .client_request_token(&token)
            .send()
            .await
            .map_err(|e| failed("secretsmanager:PutSecretValue", aws::describe(&e)))?;
        // A secret made by hand at provision's name becomes provision's.
        self.secretsmanager
            .tag_resource()
            .secret_id(name)
            .tags(tag)
            .send()
            .await
            .map_err(|e| failed("secretsmanager:TagResource", aws::describe(&e)))?;
        Ok(())
    }
}

fn description(user: &str) -> String {
    format!("Access key of IAM user {user}, delivered by provision")
}
