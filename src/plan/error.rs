//! Why a plan cannot be made: every reason at once, nothing applied while
//! any exists.

/// A reason the plan cannot be made; nothing is applied while any exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A managed bucket's name is held by another account, or S3 would not
    /// answer for it as this account's bucket: it is never written to.
    #[error(
        "bucket `{bucket}` of client `{client}` (in `{file}`) is not a bucket of account `{account}`: S3 answered `{reason}` to a read with `ExpectedBucketOwner`, so another account holds the name (bucket names are global), or the credentials may not read it; provision neither creates nor changes it. Choose another bucket name, or, if the bucket is this account's, allow the operator to read it (see `provision policy operator`)"
    )]
    BucketNotOwned {
        bucket: String,
        client: String,
        account: String,
        reason: String,
        file: String,
    },
    /// A desired user's name is taken by a user provision does not manage.
    #[error(
        "user `{name}` already exists but is not managed by provision (path `{path}`, no `managed-by=provision` tag); rename it in the file, or take it over with `--adopt {name}` on `plan` and `apply` (run by an administrator; see \"Migrating an account set up by hand\" in the README)"
    )]
    UnmanagedUser {
        name: String,
        path: String,
        managed_path: String,
    },
    /// A desired user's name is taken by a user that carries provision's
    /// tag at another path: another configuration's (a nested path included),
    /// or one moved by hand. It is not this configuration's to change.
    #[error(
        "user `{name}` already exists at path `{path}`, not at the managed path `{managed_path}`: it carries the `managed-by=provision` tag, so another configuration of provision (whose `settings.path` is `{path}`) manages it, or it was moved by hand; provision manages only users at exactly its own path. Rename the user in this file, or, if it belongs here, move it with `aws iam update-user --user-name {name} --new-path {managed_path}`"
    )]
    ManagedElsewhere {
        name: String,
        path: String,
        managed_path: String,
    },
    /// A desired group's name is taken by a group outside the managed path.
    #[error(
        "group `{name}` already exists outside the managed path `{managed_path}` (its path is `{path}`); provision never takes over a group it did not create unless told to: rename the client, or take the group over with `--adopt {name}` on `plan` and `apply` (run by an administrator)"
    )]
    UnmanagedGroup {
        name: String,
        path: String,
        managed_path: String,
    },
    /// A desired group's name is taken by a client group at a path nested
    /// under the managed path: a client group of another configuration of
    /// provision (whose `settings.path` is that path). Moving it here would
    /// take it from that configuration, so the only way out is another name.
    #[error(
        "group `{name}` already exists at path `{path}`, nested under the managed path `{managed_path}`: it is a client group of another configuration of provision (whose `settings.path` is `{path}`), which this configuration never changes; rename the client in this file"
    )]
    GroupOfAnotherConfiguration {
        name: String,
        path: String,
        managed_path: String,
    },
    /// A desired role's name is taken by a role provision does not manage
    /// here (no `managed-by=provision` tag, or another path).
    #[error(
        "role `{name}` already exists but is not managed by provision here (path `{path}`, managed path `{managed_path}`); provision never changes a role it did not create: rename the app in the file"
    )]
    UnmanagedRole {
        name: String,
        path: String,
        managed_path: String,
    },
    /// A desired name differs only in case from an existing entity's.
    #[error(
        "{kind} `{name}` cannot be created: IAM names ignore case and `{existing}` already exists; use the existing spelling or another name"
    )]
    CaseClash {
        kind: &'static str,
        name: String,
        existing: String,
    },
    /// A client's generated policy does not fit IAM's inline policy quota.
    #[error(
        "the policy of client `{client}` ({file}) has {size} non-whitespace characters, over IAM's limit of {limit} for a managed policy (a policy over the group's inline quota is written as a managed policy); use fewer buckets or replace several buckets by a `bucket_prefixes` entry"
    )]
    PolicyTooLarge {
        client: String,
        /// The file the client is declared in.
        file: String,
        size: usize,
        limit: usize,
    },
    /// The grant of an app of `[[clients.apps]]` does not fit the inline
    /// policy quota of its user.
    #[error(
        "the policy of app `{app}` of client `{client}` (in `{file}`) would be {size} characters, over IAM's limit of {limit} for a user's inline policies; give the app fewer buckets (`buckets = [...]` in its `[[clients.apps]]`), or use `bucket_prefixes`"
    )]
    AppPolicyTooLarge {
        app: String,
        client: String,
        /// The file the client is declared in.
        file: String,
        size: usize,
        limit: usize,
    },
    /// The trust policy of a role GitHub Actions assumes does not fit IAM's
    /// quota on a role's trust policy.
    #[error(
        "the trust policy of role `{role}` of client `{client}` (in `{file}`) would be {size} characters, over IAM's limit of {limit} for a role's trust policy; name fewer `github` subjects (a pattern such as `repo:OWNER/REPO:*` covers several, if you mean it), or split them across two apps"
    )]
    RoleTrustTooLarge {
        role: String,
        client: String,
        /// The file the client is declared in.
        file: String,
        size: usize,
        limit: usize,
    },
    /// A user would be in more groups than IAM allows.
    #[error(
        "user `{user}` would be in {count} groups ({managed} client groups and {unmanaged} other groups), over IAM's limit of {limit} groups per user; remove it from some clients"
    )]
    TooManyGroupsForUser {
        user: String,
        count: usize,
        managed: usize,
        unmanaged: usize,
        limit: usize,
    },
    /// The account would hold more users or groups than its quota.
    #[error(
        "the account would have {count} {what}, over its quota of {limit}, with the new {what} {new}; remove clients or developers, or ask AWS for a higher quota"
    )]
    AccountQuota {
        what: &'static str,
        count: usize,
        limit: usize,
        /// The new users or groups that would exceed it, in backticks.
        new: String,
    },
    /// A loaded client's bucket or prefix reaches what the managed group of
    /// a client outside the loaded files grants in the account.
    #[error(
        "{scope} of client `{client}` ({location}) reaches {other_scope} of client `{other_client}` (group `client-{other_client}` in the account, not in the files given); a client must never reach another client's buckets: choose names or prefixes that do not overlap, or, if `{other_client}` is gone, give the whole clients directory so its group is deleted"
    )]
    LiveCollision {
        client: String,
        scope: String,
        location: String,
        other_client: String,
        other_scope: String,
    },
    /// A loaded client's CloudFront distribution is one the managed group of
    /// a client outside the loaded files may invalidate in the account: a
    /// distribution belongs to one client, as a bucket does.
    #[error(
        "CloudFront distribution `{distribution}` of client `{client}` ({location}) is also granted to client `{other_client}`, whose group `client-{other_client}` in the account (not in the files given) may invalidate {other_scope}; a distribution belongs to one client, as a bucket does: list it in one client only, or, if `{other_client}` is gone, give the whole clients directory so its group is deleted"
    )]
    LiveDistributionCollision {
        client: String,
        distribution: String,
        location: String,
        other_client: String,
        other_scope: String,
    },
    /// A desired user name is already a managed user of another role.
    #[error(
        "user `{name}` is managed by provision as {existing}, but the configuration wants it as {wanted}; use another name"
    )]
    RoleConflict {
        name: String,
        existing: String,
        wanted: String,
    },
    /// provision's managed policy for a client cannot be created: a policy
    /// of that name exists elsewhere in the account. IAM keeps managed
    /// policy names unique per account, whatever their path.
    #[error(
        "the grant of client `{client}` does not fit inline, so it needs the managed policy `{name}` under `{managed_path}`; but a policy of that name already exists at another path (`{found}`), and IAM allows one policy of a name per account, whatever its path. provision never takes over a policy it did not create: delete or rename that policy if it is a leftover, or rename the client"
    )]
    PolicyNameTaken {
        client: String,
        name: String,
        managed_path: String,
        found: String,
    },
    /// A name given to `--adopt` that cannot be taken over.
    #[error("`--adopt {name}`: {reason}")]
    CannotAdopt { name: String, reason: String },
    /// The bucket-policy layer would deny the identity running provision
    /// on a client's buckets, which would lock it out of the next change to
    /// their policies.
    #[error(
        "the bucket policy of client `{client}` would deny `{caller}`, the identity running provision, every S3 action on the client's buckets, including the next change to their policy; add {hint} to `settings.bucket_policy_exempt` (the administrators the layer lets in), or run provision as an identity listed there"
    )]
    BucketPolicyLocksOutCaller {
        client: String,
        caller: String,
        hint: String,
    },
    /// The identity running provision is not known, so the layer cannot be
    /// checked not to lock it out.
    #[error(
        "could not tell which identity runs provision (`sts:GetCallerIdentity` returned no ARN), so the bucket policy of client `{client}` cannot be checked not to lock it out; nothing is written until it can"
    )]
    BucketPolicyCallerUnknown { client: String },
    /// A bucket policy with provision's statements would be over S3's size
    /// limit.
    #[error(
        "the policy of bucket `{bucket}` (client `{client}`) would be {size} bytes with provision's statements, over S3's limit of {limit} bytes for a bucket policy; list fewer principals (the client's developers and `settings.bucket_policy_exempt`), or shorten the policy's other statements"
    )]
    BucketPolicyTooLarge {
        bucket: String,
        client: String,
        size: usize,
        limit: usize,
    },
    /// A bucket's policy could not be taken apart, or was not read.
    #[error(
        "the policy of bucket `{bucket}` (client `{client}`) cannot be merged with provision's statements: {reason}; fix the policy by hand (`aws s3api get-bucket-policy --bucket {bucket}`), or unset `bucket_policy` for the client"
    )]
    BucketPolicyUnreadable {
        bucket: String,
        client: String,
        reason: String,
    },
    /// An exempt administrator of another account: the layer denies only
    /// the bucket's own account, so the entry is a mistake.
    #[error(
        "`settings.bucket_policy_exempt` lists `{arn}`, which is not in account `{account}` that the credentials belong to; the layer denies only principals of the bucket's own account: fix the ARN, or remove it"
    )]
    BucketPolicyExemptElsewhere { arn: String, account: String },
}
