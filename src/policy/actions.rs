//! Every AWS call provision makes, tied to the IAM action that authorizes
//! it: the one table the operator's least-privilege policy is generated from
//! (see `operator`), so the policy cannot drift from the code. Tests check
//! both directions: every SDK call in `src/` is listed here, every entry is
//! called, and every operation a real run counts is listed.

/// The AWS service an operation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    /// Only `import`'s list of distributions.
    Cloudfront,
    Iam,
    /// `import`'s bucket list and `verify`'s reads of client buckets.
    S3,
    /// `verify`'s read of the account's Block Public Access.
    S3Control,
    /// Delivery of new keys to Secrets Manager (`deliver`).
    SecretsManager,
    /// Delivery of new keys to SSM Parameter Store (`deliver`).
    Ssm,
    Sts,
}

/// Whether an operation only reads, and so is granted on `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Read,
    Write,
}

/// What a write acts on, which decides the resource it is granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// Anything: reads only.
    Any,
    /// A user under the managed path.
    User,
    /// A client group under the managed path.
    Group,
    /// A virtual MFA device of a managed user (offboarding deletes it).
    MfaDevice,
    /// provision's own managed policies (`provision-s3-<client>`) under the
    /// managed path, used for clients whose grants do not fit inline.
    Policy,
    /// An SSM parameter under the prefix of `settings.deliver`.
    Parameter,
    /// A Secrets Manager secret under the prefix of `settings.deliver`.
    Secret,
    /// A role under the managed path (an app GitHub Actions assumes).
    Role,
    /// GitHub's OIDC provider (`token.actions.githubusercontent.com`).
    OidcProvider,
    /// A managed bucket (`manage_buckets`), named by the files.
    Bucket,
    /// An exact bucket of a client the bucket-policy layer is set for.
    ClientBucket,
}

/// How the operator policy treats an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// Allowed on its target.
    Allow,
    /// Allowed only when the request sets the configured permissions
    /// boundary (condition key `iam:PermissionsBoundary`).
    WithBoundary,
    /// Allowed only when the policy involved is one of provision's own
    /// managed policies (condition key `iam:PolicyARN`): the operator may
    /// attach `provision-s3-<client>` to a client group, nothing else.
    OwnPolicyOnly,
    /// Explicitly denied: only an administrator may do it, e.g. take a
    /// boundary off (`apply --remove-boundaries`).
    Deny,
    /// Not granted (nor denied): adoption (`--adopt`) moves users and groups
    /// made outside the managed path into it. The source is any path, so no
    /// resource scoped to the managed path can allow exactly that; granting
    /// it on `*` would let the operator move any user. An administrator
    /// runs adoptions.
    Administrator,
}

/// One AWS operation provision calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub service: Service,
    /// The operation's name, as AWS and the `--api-stats` counts spell it.
    pub operation: &'static str,
    /// The SDK client's method for it.
    pub method: &'static str,
    /// The IAM action that authorizes it.
    pub action: &'static str,
    pub level: Level,
    pub target: Target,
    pub grant: Grant,
}

const fn op(
    service: Service,
    operation: &'static str,
    method: &'static str,
    action: &'static str,
    level: Level,
    target: Target,
    grant: Grant,
) -> Operation {
    Operation {
        service,
        operation,
        method,
        action,
        level,
        target,
        grant,
    }
}

use Grant::{Administrator, Allow, Deny, OwnPolicyOnly, WithBoundary};
use Level::{Read, Write};
use Service::{Cloudfront, Iam, S3, S3Control, SecretsManager, Ssm, Sts};
use Target::{
    Any, Bucket, ClientBucket, Group, MfaDevice, OidcProvider, Parameter, Policy, Role, Secret,
    User,
};

/// Every operation provision calls, sorted by service and operation.
#[rustfmt::skip]
pub const OPERATIONS: &[Operation] = &[
    // `import` only, and only when a group grants CloudFront on `*`: lists
    // the distributions that grant reached. A read, granted as
    // `s3:ListAllMyBuckets` is.
    op(Cloudfront, "ListDistributions", "list_distributions", "cloudfront:ListDistributions", Read, Any, Allow),
    op(Iam, "AddUserToGroup", "add_user_to_group", "iam:AddUserToGroup", Write, Group, Allow),
    op(Iam, "AttachGroupPolicy", "attach_group_policy", "iam:AttachGroupPolicy", Write, Group, OwnPolicyOnly),
    op(Iam, "CreateAccessKey", "create_access_key", "iam:CreateAccessKey", Write, User, Allow),
    op(Iam, "CreateGroup", "create_group", "iam:CreateGroup", Write, Group, Allow),
    // Keyless CI. A request with tags is also authorized as
    // `iam:TagOpenIDConnectProvider`, which `operator` adds for it.
    op(Iam, "CreateOpenIDConnectProvider", "create_open_id_connect_provider", "iam:CreateOpenIDConnectProvider", Write, OidcProvider, Allow),
    op(Iam, "CreatePolicy", "create_policy", "iam:CreatePolicy", Write, Policy, Allow),
    op(Iam, "CreatePolicyVersion", "create_policy_version", "iam:CreatePolicyVersion", Write, Policy, Allow),
    // A CreateRole request carrying tags is also authorized as iam:TagRole.
    op(Iam, "CreateRole", "create_role", "iam:CreateRole", Write, Role, WithBoundary),
    // A CreateUser request carrying tags is also authorized as iam:TagUser.
    op(Iam, "CreateUser", "create_user", "iam:CreateUser", Write, User, WithBoundary),
    op(Iam, "DeactivateMFADevice", "deactivate_mfa_device", "iam:DeactivateMFADevice", Write, User, Allow),
    op(Iam, "DeleteAccessKey", "delete_access_key", "iam:DeleteAccessKey", Write, User, Allow),
    op(Iam, "DeleteGroup", "delete_group", "iam:DeleteGroup", Write, Group, Allow),
    op(Iam, "DeleteGroupPolicy", "delete_group_policy", "iam:DeleteGroupPolicy", Write, Group, Allow),
    op(Iam, "DeleteLoginProfile", "delete_login_profile", "iam:DeleteLoginProfile", Write, User, Allow),
    op(Iam, "DeletePolicy", "delete_policy", "iam:DeletePolicy", Write, Policy, Allow),
    op(Iam, "DeletePolicyVersion", "delete_policy_version", "iam:DeletePolicyVersion", Write, Policy, Allow),
    op(Iam, "DeleteRole", "delete_role", "iam:DeleteRole", Write, Role, Allow),
    op(Iam, "DeleteRolePolicy", "delete_role_policy", "iam:DeleteRolePolicy", Write, Role, Allow),
    op(Iam, "DeleteSSHPublicKey", "delete_ssh_public_key", "iam:DeleteSSHPublicKey", Write, User, Allow),
    op(Iam, "DeleteServiceSpecificCredential", "delete_service_specific_credential", "iam:DeleteServiceSpecificCredential", Write, User, Allow),
    op(Iam, "DeleteSigningCertificate", "delete_signing_certificate", "iam:DeleteSigningCertificate", Write, User, Allow),
    op(Iam, "DeleteUser", "delete_user", "iam:DeleteUser", Write, User, Allow),
    op(Iam, "DeleteUserPermissionsBoundary", "delete_user_permissions_boundary", "iam:DeleteUserPermissionsBoundary", Write, User, Deny),
    op(Iam, "DeleteUserPolicy", "delete_user_policy", "iam:DeleteUserPolicy", Write, User, Allow),
    op(Iam, "DeleteVirtualMFADevice", "delete_virtual_mfa_device", "iam:DeleteVirtualMFADevice", Write, MfaDevice, Allow),
    op(Iam, "DetachGroupPolicy", "detach_group_policy", "iam:DetachGroupPolicy", Write, Group, Allow),
    op(Iam, "DetachRolePolicy", "detach_role_policy", "iam:DetachRolePolicy", Write, Role, Allow),
    op(Iam, "DetachUserPolicy", "detach_user_policy", "iam:DetachUserPolicy", Write, User, Allow),
    op(Iam, "GenerateCredentialReport", "generate_credential_report", "iam:GenerateCredentialReport", Read, Any, Allow),
    op(Iam, "GetAccountAuthorizationDetails", "get_account_authorization_details", "iam:GetAccountAuthorizationDetails", Read, Any, Allow),
    op(Iam, "GetAccountSummary", "get_account_summary", "iam:GetAccountSummary", Read, Any, Allow),
    op(Iam, "GetCredentialReport", "get_credential_report", "iam:GetCredentialReport", Read, Any, Allow),
    // Offboarding's plan: whether the user being deleted has a console password.
    op(Iam, "GetLoginProfile", "get_login_profile", "iam:GetLoginProfile", Read, Any, Allow),
    op(Iam, "GetOpenIDConnectProvider", "get_open_id_connect_provider", "iam:GetOpenIDConnectProvider", Read, Any, Allow),
    op(Iam, "GetPolicy", "get_policy", "iam:GetPolicy", Read, Any, Allow),
    op(Iam, "GetPolicyVersion", "get_policy_version", "iam:GetPolicyVersion", Read, Any, Allow),
    op(Iam, "GetUser", "get_user", "iam:GetUser", Read, Any, Allow),
    op(Iam, "ListAccessKeys", "list_access_keys", "iam:ListAccessKeys", Read, Any, Allow),
    op(Iam, "ListAttachedRolePolicies", "list_attached_role_policies", "iam:ListAttachedRolePolicies", Read, Any, Allow),
    op(Iam, "ListMFADevices", "list_mfa_devices", "iam:ListMFADevices", Read, Any, Allow),
    op(Iam, "ListOpenIDConnectProviders", "list_open_id_connect_providers", "iam:ListOpenIDConnectProviders", Read, Any, Allow),
    op(Iam, "ListPolicyVersions", "list_policy_versions", "iam:ListPolicyVersions", Read, Any, Allow),
    op(Iam, "ListRolePolicies", "list_role_policies", "iam:ListRolePolicies", Read, Any, Allow),
    op(Iam, "ListSSHPublicKeys", "list_ssh_public_keys", "iam:ListSSHPublicKeys", Read, Any, Allow),
    op(Iam, "ListServiceSpecificCredentials", "list_service_specific_credentials", "iam:ListServiceSpecificCredentials", Read, Any, Allow),
    op(Iam, "ListSigningCertificates", "list_signing_certificates", "iam:ListSigningCertificates", Read, Any, Allow),
    op(Iam, "PutGroupPolicy", "put_group_policy", "iam:PutGroupPolicy", Write, Group, Allow),
    op(Iam, "PutRolePermissionsBoundary", "put_role_permissions_boundary", "iam:PutRolePermissionsBoundary", Write, Role, WithBoundary),
    op(Iam, "PutRolePolicy", "put_role_policy", "iam:PutRolePolicy", Write, Role, Allow),
    op(Iam, "PutUserPermissionsBoundary", "put_user_permissions_boundary", "iam:PutUserPermissionsBoundary", Write, User, WithBoundary),
    op(Iam, "PutUserPolicy", "put_user_policy", "iam:PutUserPolicy", Write, User, Allow),
    op(Iam, "RemoveUserFromGroup", "remove_user_from_group", "iam:RemoveUserFromGroup", Write, Group, Allow),
    op(Iam, "SimulatePrincipalPolicy", "simulate_principal_policy", "iam:SimulatePrincipalPolicy", Read, Any, Allow),
    op(Iam, "TagRole", "tag_role", "iam:TagRole", Write, Role, Allow),
    op(Iam, "TagUser", "tag_user", "iam:TagUser", Write, User, Allow),
    op(Iam, "UntagRole", "untag_role", "iam:UntagRole", Write, Role, Allow),
    op(Iam, "UntagUser", "untag_user", "iam:UntagUser", Write, User, Allow),
    op(Iam, "UpdateAccessKey", "update_access_key", "iam:UpdateAccessKey", Write, User, Allow),
    op(Iam, "UpdateAssumeRolePolicy", "update_assume_role_policy", "iam:UpdateAssumeRolePolicy", Write, Role, Allow),
    // Adoption only (`--adopt`): they move what was made outside the
    // managed path into it, which a policy scoped to that path cannot allow.
    op(Iam, "UpdateGroup", "update_group", "iam:UpdateGroup", Write, Group, Administrator),
    op(Iam, "UpdateUser", "update_user", "iam:UpdateUser", Write, User, Administrator),
    // Managed buckets (`manage_buckets`): created, and their settings kept,
    // only on the buckets the files name. A CreateBucket that turns ACLs
    // off is also authorized as s3:PutBucketOwnershipControls.
    op(S3, "CreateBucket", "create_bucket", "s3:CreateBucket", Write, Bucket, Allow),
    // verify reads what each client bucket lets in by itself. AWS names
    // the action of GetPublicAccessBlock after the bucket.
    // The bucket-policy layer's writes, granted on the buckets of the
    // clients it is set for.
    op(S3, "DeleteBucketPolicy", "delete_bucket_policy", "s3:DeleteBucketPolicy", Write, ClientBucket, Allow),
    op(S3, "GetBucketAcl", "get_bucket_acl", "s3:GetBucketAcl", Read, Any, Allow),
    // Managed buckets' settings, read by plan. AWS names the encryption
    // actions after the configuration.
    op(S3, "GetBucketEncryption", "get_bucket_encryption", "s3:GetEncryptionConfiguration", Read, Any, Allow),
    op(S3, "GetBucketOwnershipControls", "get_bucket_ownership_controls", "s3:GetBucketOwnershipControls", Read, Any, Allow),
    op(S3, "GetBucketPolicy", "get_bucket_policy", "s3:GetBucketPolicy", Read, Any, Allow),
    op(S3, "GetBucketTagging", "get_bucket_tagging", "s3:GetBucketTagging", Read, Any, Allow),
    op(S3, "GetBucketVersioning", "get_bucket_versioning", "s3:GetBucketVersioning", Read, Any, Allow),
    op(S3, "GetPublicAccessBlock", "get_public_access_block", "s3:GetBucketPublicAccessBlock", Read, Any, Allow),
    // `import` only: resolves hand-made wildcards against the buckets. The
    // operation and its action are named differently by AWS.
    op(S3, "ListBuckets", "list_buckets", "s3:ListAllMyBuckets", Read, Any, Allow),
    op(S3, "PutBucketEncryption", "put_bucket_encryption", "s3:PutEncryptionConfiguration", Write, Bucket, Allow),
    op(S3, "PutBucketOwnershipControls", "put_bucket_ownership_controls", "s3:PutBucketOwnershipControls", Write, Bucket, Allow),
    op(S3, "PutBucketPolicy", "put_bucket_policy", "s3:PutBucketPolicy", Write, ClientBucket, Allow),
    op(S3, "PutBucketTagging", "put_bucket_tagging", "s3:PutBucketTagging", Write, Bucket, Allow),
    op(S3, "PutBucketVersioning", "put_bucket_versioning", "s3:PutBucketVersioning", Write, Bucket, Allow),
    op(S3, "PutPublicAccessBlock", "put_public_access_block", "s3:PutBucketPublicAccessBlock", Write, Bucket, Allow),
    // verify reads the account's Block Public Access, which holds for every
    // bucket; S3 Control's operation has the same name as the bucket's.
    op(S3Control, "GetPublicAccessBlock", "get_public_access_block", "s3:GetAccountPublicAccessBlock", Read, Any, Allow),
    // Key delivery (`deliver`), granted only on the configured prefix and
    // only when a store is configured. A request with tags is also
    // authorized as the tagging action.
    op(SecretsManager, "CreateSecret", "create_secret", "secretsmanager:CreateSecret", Write, Secret, Allow),
    op(SecretsManager, "PutSecretValue", "put_secret_value", "secretsmanager:PutSecretValue", Write, Secret, Allow),
    op(SecretsManager, "TagResource", "tag_resource", "secretsmanager:TagResource", Write, Secret, Allow),
    op(Ssm, "AddTagsToResource", "add_tags_to_resource", "ssm:AddTagsToResource", Write, Parameter, Allow),
    op(Ssm, "PutParameter", "put_parameter", "ssm:PutParameter", Write, Parameter, Allow),
    // Needs no permission (it cannot be denied); listed so the table is
    // complete and the policy says what the tool calls.
    op(Sts, "GetCallerIdentity", "get_caller_identity", "sts:GetCallerIdentity", Read, Any, Allow),
];

/// The operations of the apply lock (`lock`), each also in [`OPERATIONS`].
/// The lock's writes are granted on the lock policy's ARN alone (see
/// `operator`): they are `CreatePolicy` and `DeletePolicy`, which the
/// table otherwise grants only on provision's own `provision-s3-*`
/// policies. Tests check that this list is exactly what `src/apply/lock.rs`
/// calls.
pub const LOCK_OPERATIONS: &[&str] = &[
    "CreatePolicy",
    "DeletePolicy",
    "GetCallerIdentity",
    "GetPolicy",
];

/// The entry for operation `name` (`CreateUser`), if provision calls it.
pub fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.operation == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// Operations other work in progress calls (offboarding, audit, key
    /// rotation, verify) that this code does not call yet. Each must leave
    /// this list as soon as its call appears: the test below fails until it
    /// does, so the list cannot go stale.
    const NOT_YET_CALLED: &[&str] = &[];

    /// Methods of the SDK clients that are not AWS operations.
    const NOT_OPERATIONS: &[&str] = &["clone", "config", "from_conf", "new"];

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// `(service, method)` of every `iam.<method>(`, `sts.<method>(`,
    /// `s3.<method>(` and `.cloudfront.<method>(` in `text`, whitespace and
    /// line breaks between the parts allowed, as rustfmt splits long
    /// builder chains. CloudFront's client is only ever a field (`aws.
    /// cloudfront`): a plain `cloudfront` is the configuration's table or a
    /// list of actions, whose methods are not calls to AWS.
    fn sdk_calls(text: &str) -> Vec<(Service, String)> {
        let re = regex::Regex::new(
            r"(?:\b(iam|sts|s3|s3control|ssm|secretsmanager)|\.\s*(cloudfront))\s*\.\s*([a-z][a-z0-9_]*)\s*\(",
        )
        .unwrap();
        re.captures_iter(text)
            .filter(|c| !NOT_OPERATIONS.contains(&&c[3]))
            .map(|c| {
                let name = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
                let service = match name {
                    "iam" => Service::Iam,
                    "s3" => Service::S3,
                    "s3control" => Service::S3Control,
                    "cloudfront" => Service::Cloudfront,
                    "ssm" => Service::Ssm,
                    "secretsmanager" => Service::SecretsManager,
                    _ => Service::Sts,
                };
                (service, c[3].to_owned())
            })
            .collect()
    }

    fn calls_in_src() -> BTreeSet<(Service, String)> {
        let mut files = Vec::new();
        rust_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut calls = BTreeSet::new();
        for file in files {
            // This file's tests hold sample calls in strings, not calls.
            if file.ends_with("actions.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            calls.extend(sdk_calls(&text));
        }
        calls
    }

    /// Every call the apply lock makes is in the table and in
    /// `LOCK_OPERATIONS`, and every entry there is called by the lock.
    #[test]
    fn every_lock_call_is_in_the_call_table() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src/apply/lock.rs"),
        )
        .unwrap();
        let called: BTreeSet<&'static str> = sdk_calls(&text)
            .into_iter()
            .map(|(service, method)| {
                let op = OPERATIONS
                    .iter()
                    .find(|o| o.service == service && o.method == method)
                    .unwrap_or_else(|| {
                        panic!("the lock calls `{method}`, which is missing from OPERATIONS")
                    });
                op.operation
            })
            .collect();
        let listed: BTreeSet<&'static str> = LOCK_OPERATIONS.iter().copied().collect();
        assert_eq!(
            called, listed,
            "LOCK_OPERATIONS must be what src/apply/lock.rs calls"
        );
        for name in LOCK_OPERATIONS {
            assert!(find(name).is_some(), "{name} is not in OPERATIONS");
        }
    }

    #[test]
    fn the_scanner_finds_calls_split_over_lines() {
        let found = sdk_calls(
            "self\n  .iam\n  .get_account_authorization_details()\n let x = iam.tag_user().send(); self.sts.get_caller_identity(); self.iam.clone(); aws\n .cloudfront\n .list_distributions(); cloudfront.is_empty()",
        );
        assert_eq!(
            found,
            [
                (Service::Iam, "get_account_authorization_details".to_owned()),
                (Service::Iam, "tag_user".to_owned()),
                (Service::Sts, "get_caller_identity".to_owned()),
                (Service::Cloudfront, "list_distributions".to_owned()),
            ]
        );
    }

    #[test]
    fn every_sdk_call_in_the_code_is_in_the_table() {
        let calls = calls_in_src();
        assert!(
            calls.len() >= 20,
            "the scanner found too few calls: {calls:?}"
        );
        for (service, method) in &calls {
            assert!(
                OPERATIONS
                    .iter()
                    .any(|o| o.service == *service && o.method == method),
                "`{method}` ({service:?}) is called in src/ but missing from actions::OPERATIONS; add it with its IAM action"
            );
        }
    }

    #[test]
    fn every_table_entry_is_called_by_the_code() {
        let calls = calls_in_src();
        for o in OPERATIONS {
            let called = calls.contains(&(o.service, o.method.to_owned()));
            let pending = NOT_YET_CALLED.contains(&o.operation);
            assert!(
                called || pending,
                "`{}` is in actions::OPERATIONS but nothing in src/ calls `{}`; remove it so the operator policy grants no more than needed",
                o.operation,
                o.method
            );
            assert!(
                !(called && pending),
                "`{}` is called now: remove it from NOT_YET_CALLED",
                o.operation
            );
        }
    }

    /// IAM authorizes a CreateUser request that carries tags (provision's
    /// always do) as `iam:TagUser` too, so that grant must stay even if the
    /// explicit TagUser calls went away.
    #[test]
    fn tagging_is_granted_where_users_are_created() {
        let tag = find("TagUser").expect("iam:TagUser is needed by CreateUser with tags");
        assert_eq!((tag.target, tag.grant), (Target::User, Grant::Allow));
    }

    #[test]
    fn names_agree_within_each_entry() {
        let mut seen = BTreeSet::new();
        for o in OPERATIONS {
            assert_eq!(
                o.operation.to_ascii_lowercase(),
                o.method.replace('_', ""),
                "{o:?}"
            );
            let prefix = match o.service {
                Service::Cloudfront => "cloudfront:",
                Service::Iam => "iam:",
                Service::S3 | Service::S3Control => "s3:",
                Service::SecretsManager => "secretsmanager:",
                Service::Ssm => "ssm:",
                Service::Sts => "sts:",
            };
            // S3 names the actions of ListBuckets, the public access block
            // and the encryption configuration after what they allow.
            if ![
                "ListBuckets",
                "GetPublicAccessBlock",
                "PutPublicAccessBlock",
                "GetBucketEncryption",
                "PutBucketEncryption",
            ]
            .contains(&o.operation)
            {
                assert_eq!(o.action, format!("{prefix}{}", o.operation), "{o:?}");
            }
            assert!(
                seen.insert((o.service, o.operation)),
                "{} listed twice",
                o.operation
            );
            assert!(
                o.level == Level::Write || o.target == Target::Any,
                "reads are granted on `*`: {o:?}"
            );
        }
        assert!(
            OPERATIONS
                .windows(2)
                .all(|w| (w[0].service, w[0].operation) < (w[1].service, w[1].operation)),
            "keep OPERATIONS sorted"
        );
    }
}
