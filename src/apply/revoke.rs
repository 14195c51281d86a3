//! Revoking everything a user holds, the way IAM requires before
//! `DeleteUser` succeeds: IAM refuses to delete a user that still has a
//! password, keys, certificates, SSH keys, service-specific credentials,
//! MFA devices, policies or group memberships.
//!
//! Each step lists what is there now and removes it, treating "already gone"
//! as done, so an offboarding cut off halfway is finished by the next apply.
//! The console password goes first and the access keys next: those are the
//! credentials a departing person is most likely to use.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::StatusType;

use super::keys::delete_access_key;
use super::{ApplyError, gone_ok, settle};
use crate::observe::keys;

/// What `revoke` removes besides credentials; the planner knows these from
/// its one read of the account.
pub(super) struct Holdings<'a> {
    pub groups: &'a [String],
    pub inline_policies: &'a [String],
    pub attached_policies: &'a [String],
}

/// Remove every credential of `user`, then its policies and memberships.
pub(super) async fn revoke_all(
    iam: &Client,
    user: &str,
    holdings: Holdings<'_>,
) -> Result<(), ApplyError> {
    check!(
        "DeleteLoginProfile",
        gone_ok(iam.delete_login_profile().user_name(user).send().await)
    );
    for key in list_keys(iam, user).await? {
        delete_access_key(iam, user, &key).await?;
    }
    revoke_other_credentials(iam, user).await?;
    for name in holdings.inline_policies {
        check!(
            "DeleteUserPolicy",
            gone_ok(
                iam.delete_user_policy()
                    .user_name(user)
                    .policy_name(name)
                    .send()
                    .await
            )
        );
    }
    for arn in holdings.attached_policies {
        check!(
            "DetachUserPolicy",
            gone_ok(
                iam.detach_user_policy()
                    .user_name(user)
                    .policy_arn(arn)
                    .send()
                    .await
            )
        );
    }
    for group in holdings.groups {
        check!(
            "RemoveUserFromGroup",
            gone_ok(
                iam.remove_user_from_group()
                    .group_name(group)
                    .user_name(user)
                    .send()
                    .await
            )
        );
    }
    Ok(())
}

/// Take away the ways `user` can sign in or call AWS without deleting the
/// user: delete its console password and deactivate (not delete) its access
/// keys, so an owner can still see which keys existed.
pub(super) async fn disable(iam: &Client, user: &str) -> Result<(), ApplyError> {
    check!(
        "DeleteLoginProfile",
        gone_ok(iam.delete_login_profile().user_name(user).send().await)
    );
    for key in list_keys(iam, user).await? {
        check!(
            "UpdateAccessKey",
            gone_ok(
                iam.update_access_key()
                    .user_name(user)
                    .access_key_id(&key)
                    .status(StatusType::Inactive)
                    .send()
                    .await
            )
        );
    }
    Ok(())
}

async fn list_keys(iam: &Client, user: &str) -> Result<Vec<String>, ApplyError> {
    match keys::list_access_keys(iam, user).await {
        Ok(keys) => Ok(keys),
        Err(e) => Err(ApplyError {
            operation: "ListAccessKeys".into(),
            message: e.to_string(),
        }),
    }
}

/// Signing certificates, SSH public keys, service-specific credentials and
/// MFA devices. Each list is small (IAM allows at most 2 certificates, 5 SSH
/// keys, 2 credentials per service and 8 MFA devices per user), so one page
/// holds them all.
async fn revoke_other_credentials(iam: &Client, user: &str) -> Result<(), ApplyError> {
    signing_certificates(iam, user).await?;
    ssh_public_keys(iam, user).await?;
    service_specific_credentials(iam, user).await?;
    mfa_devices(iam, user).await
}

async fn signing_certificates(iam: &Client, user: &str) -> Result<(), ApplyError> {
    let certs = check!(
        "ListSigningCertificates",
        settle(|| iam.list_signing_certificates().user_name(user).send()).await
    );
    for cert in certs.certificates() {
        check!(
            "DeleteSigningCertificate",
            gone_ok(
                iam.delete_signing_certificate()
                    .user_name(user)
                    .certificate_id(cert.certificate_id())
                    .send()
                    .await
            )
        );
    }
    Ok(())
}

async fn ssh_public_keys(iam: &Client, user: &str) -> Result<(), ApplyError> {
    let ssh = check!(
        "ListSSHPublicKeys",
        settle(|| iam.list_ssh_public_keys().user_name(user).send()).await
    );
    for key in ssh.ssh_public_keys() {
        check!(
            "DeleteSSHPublicKey",
            gone_ok(
                iam.delete_ssh_public_key()
                    .user_name(user)
                    .ssh_public_key_id(key.ssh_public_key_id())
                    .send()
                    .await
            )
        );
    }
    Ok(())
}

async fn service_specific_credentials(iam: &Client, user: &str) -> Result<(), ApplyError> {
    let service = check!(
        "ListServiceSpecificCredentials",
        settle(|| iam
            .list_service_specific_credentials()
            .user_name(user)
            .send())
        .await
    );
    for credential in service.service_specific_credentials() {
        check!(
            "DeleteServiceSpecificCredential",
            gone_ok(
                iam.delete_service_specific_credential()
                    .user_name(user)
                    .service_specific_credential_id(credential.service_specific_credential_id())
                    .send()
                    .await
            )
        );
    }
    Ok(())
}

/// Deactivates every MFA device of `user`, and deletes the virtual ones.
async fn mfa_devices(iam: &Client, user: &str) -> Result<(), ApplyError> {
    let mfa = check!(
        "ListMFADevices",
        settle(|| iam.list_mfa_devices().user_name(user).send()).await
    );
    for device in mfa.mfa_devices() {
        let serial = device.serial_number();
        check!(
            "DeactivateMFADevice",
            gone_ok(
                iam.deactivate_mfa_device()
                    .user_name(user)
                    .serial_number(serial)
                    .send()
                    .await
            )
        );
        // A virtual device's serial number is its ARN (`...:mfa/<name>`);
        // it is an IAM entity of its own and would outlive the user.
        // Hardware and FIDO devices belong to the person, not the account.
        if is_virtual_mfa(serial) {
            check!(
                "DeleteVirtualMFADevice",
                gone_ok(
                    iam.delete_virtual_mfa_device()
                        .serial_number(serial)
                        .send()
                        .await
                )
            );
        }
    }
    Ok(())
}

/// True for the serial number of a virtual MFA device.
fn is_virtual_mfa(serial: &str) -> bool {
    serial.starts_with("arn:") && serial.contains(":mfa/")
}

#[cfg(test)]
mod tests {
    use super::is_virtual_mfa;

    #[test]
    fn only_virtual_mfa_devices_are_deleted() {
        assert!(is_virtual_mfa("arn:aws:iam::123456789012:mfa/alice"));
        assert!(!is_virtual_mfa("GAHT12345678"));
        assert!(!is_virtual_mfa(
            "arn:aws:iam::123456789012:u2f/user/alice/key-ABC"
        ));
    }
}
