//! The credentials one user holds, read per user (six small reads) for a
//! user a plan deletes, so the plan lists what the deletion will revoke.
//! The bulk read of the account does not return them, and reading them for
//! every user would make each plan cost six calls per user.

use super::ObserveError;
use super::keys::list_access_keys;
use crate::aws;
use crate::model::Credentials;

/// Every credential `user` holds: its access keys, console password, MFA
/// devices, SSH public keys, service-specific credentials and signing
/// certificates. Each list is one page: IAM allows at most 2 keys, 2
/// certificates, 5 SSH keys, 2 credentials per service and 8 MFA devices
/// per user, below every page size.
pub async fn credentials(
    iam: &aws_sdk_iam::Client,
    user: &str,
) -> Result<Credentials, ObserveError> {
    let call =
        |operation: &'static str| move |message: String| ObserveError::Call { operation, message };
    let console_password = match iam.get_login_profile().user_name(user).send().await {
        Ok(_) => true,
        Err(e) if aws::error_code(&e) == Some("NoSuchEntity") => false,
        Err(e) => {
            return Err(call("read the console password (iam:GetLoginProfile)")(
                aws::describe(&e),
            ));
        }
    };
    let mfa = iam
        .list_mfa_devices()
        .user_name(user)
        .send()
        .await
        .map_err(|e| call("list MFA devices (iam:ListMFADevices)")(aws::describe(&e)))?;
    let ssh = iam
        .list_ssh_public_keys()
        .user_name(user)
        .send()
        .await
        .map_err(|e| call("list SSH public keys (iam:ListSSHPublicKeys)")(aws::describe(&e)))?;
    let service = iam
        .list_service_specific_credentials()
        .user_name(user)
        .send()
        .await
        .map_err(|e| {
            call("list service-specific credentials (iam:ListServiceSpecificCredentials)")(
                aws::describe(&e),
            )
        })?;
    let certificates = iam
        .list_signing_certificates()
        .user_name(user)
        .send()
        .await
        .map_err(|e| {
            call("list signing certificates (iam:ListSigningCertificates)")(aws::describe(&e))
        })?;
    Ok(Credentials {
        access_keys: list_access_keys(iam, user).await?,
        console_password,
        mfa_devices: mfa
            .mfa_devices()
            .iter()
            .map(|d| d.serial_number().to_owned())
            .collect(),
        ssh_keys: ssh
            .ssh_public_keys()
            .iter()
            .map(|k| k.ssh_public_key_id().to_owned())
            .collect(),
        service_credentials: service
            .service_specific_credentials()
            .iter()
            .map(|c| {
                format!(
                    "{} ({})",
                    c.service_specific_credential_id(),
                    c.service_name()
                )
            })
            .collect(),
        signing_certificates: certificates
            .certificates()
            .iter()
            .map(|c| c.certificate_id().to_owned())
            .collect(),
    })
}
