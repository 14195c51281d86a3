//! The desired and observed state of the account, as plain values.
//!
//! `config` turns TOML files into a [`Desired`]; `observe` turns live IAM into
//! an [`Observed`]; `plan` compares the two without any IO. Keeping both sides
//! as plain data is what lets the planner be tested with literal values.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

/// Tag key that marks a user as created and owned by provision.
pub const MANAGED_TAG_KEY: &str = "managed-by";
/// Value of [`MANAGED_TAG_KEY`] on managed users.
pub const MANAGED_TAG_VALUE: &str = "provision";
/// Tag key holding a developer's e-mail address.
pub const EMAIL_TAG_KEY: &str = "email";
/// Tag key naming the client an application user belongs to.
pub const CLIENT_TAG_KEY: &str = "provision:client";
/// Tag key recording the id (never the secret) of the access key provision
/// created and delivered for an application user. Reading it back from
/// `GetAccountAuthorizationDetails` saves one `ListAccessKeys` call per client.
pub const ACCESS_KEY_TAG_KEY: &str = "provision:access-key";
/// Tag key marking a developer's user as disabled (`disabled = true`): set
/// once its console password is deleted and its access keys deactivated.
pub const DISABLED_TAG_KEY: &str = "provision:disabled";
/// Name of the inline policy provision writes on every client group.
pub const GROUP_POLICY_NAME: &str = "provision-s3";
/// Prefix of every client group's name.
pub const GROUP_PREFIX: &str = "client-";
/// Default IAM path under which everything managed lives.
pub const DEFAULT_PATH: &str = "/provision/";

/// Account-wide settings (the `[settings]` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Refuse to touch any other account.
    pub account_id: Option<String>,
    /// IAM path under which everything managed lives; starts and ends with `/`.
    pub path: String,
    /// Permissions boundary ARN set on every created user.
    pub permissions_boundary: Option<String>,
    /// `provision audit` reports access keys older than this, and
    /// `provision rotate-key --due` rotates application keys older than it.
    pub max_key_age_days: u32,
    /// Where new secret access keys are delivered (`deliver`), when a
    /// secret store is configured; `--deliver` overrides it.
    pub deliver: Option<SecretStore>,
    /// The KMS key that encrypts delivered secrets (`deliver_kms_key`);
    /// the store's default key when `None`.
    pub deliver_kms_key: Option<String>,
    /// The bucket-policy layer for every client (`bucket_policy`): `true`
    /// writes provision's statements into each client bucket's policy,
    /// `false` takes them out, and `None` (the key absent) leaves bucket
    /// policies alone and unread. A client's own `bucket_policy` wins.
    pub bucket_policy: Option<bool>,
    /// Principals the layer never denies (`bucket_policy_exempt`): the
    /// administrators, as IAM user or role ARNs of the account.
    pub bucket_policy_exempt: Vec<String>,
    /// Whether clients' buckets are managed, and how (`manage_buckets`,
    /// `bucket_encryption_kms_key`, `bucket_versioning`).
    pub buckets: BucketDefaults,
}

/// How managed buckets are made and kept (see [`Desired::manages_buckets`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketDefaults {
    /// `manage_buckets = true`: every client's exact buckets are managed,
    /// unless the client says `manage_buckets = false`.
    pub manage: bool,
    /// The KMS key of default encryption (`bucket_encryption_kms_key`);
    /// SSE-S3 when `None`.
    pub kms_key: Option<String>,
    /// `bucket_versioning`: `Some(true)` keeps versioning on, `Some(false)`
    /// keeps it off (suspended once it was ever on), `None` leaves it as it
    /// is.
    pub versioning: Option<bool>,
}

/// A secret store new access keys are delivered to: one entry per
/// application user, named `<prefix><user>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretStore {
    pub kind: StoreKind,
    /// Checked by `config` against the store's naming rules.
    pub prefix: String,
}

/// The services a [`SecretStore`] can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// SSM Parameter Store, as `SecureString` parameters (`ssm:PREFIX`).
    Ssm,
    /// Secrets Manager secrets (`secretsmanager:PREFIX`).
    SecretsManager,
}

impl SecretStore {
    /// The parameter or secret name that holds `user`'s key.
    pub fn name_for(&self, user: &str) -> String {
        format!("{}{user}", self.prefix)
    }

    /// As written in `deliver` and `--deliver`: `ssm:/provision/keys/`.
    pub fn spec(&self) -> String {
        format!("{}:{}", self.kind.scheme(), self.prefix)
    }
}

impl StoreKind {
    /// The part before the colon in `deliver`.
    pub fn scheme(self) -> &'static str {
        match self {
            StoreKind::Ssm => "ssm",
            StoreKind::SecretsManager => "secretsmanager",
        }
    }
}

/// Default of [`Settings::max_key_age_days`].
pub const DEFAULT_MAX_KEY_AGE_DAYS: u32 = 90;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            account_id: None,
            path: DEFAULT_PATH.to_owned(),
            permissions_boundary: None,
            max_key_age_days: DEFAULT_MAX_KEY_AGE_DAYS,
            deliver: None,
            deliver_kms_key: None,
            buckets: BucketDefaults::default(),
            bucket_policy: None,
            bucket_policy_exempt: Vec::new(),
        }
    }
}

/// A developer declaration (`[[developers]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Developer {
    /// IAM user name.
    pub name: String,
    /// Recorded as the `email` tag.
    pub email: Option<String>,
    /// Access is revoked after this date.
    pub expires: Option<NaiveDate>,
    /// Keep the user but take away its memberships, console password and
    /// active access keys (`provision offboard --keep-user`).
    pub disabled: bool,
}

/// What a client's principals may do on its buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// List and get.
    ReadOnly,
    /// Read-only plus put, delete object and multipart uploads.
    ReadWrite,
    /// `s3:*` on the client's buckets only.
    Full,
}

impl Access {
    /// The spelling used in the file format.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadOnly => "read-only",
            Access::ReadWrite => "read-write",
            Access::Full => "full",
        }
    }
}

/// A client (`[[clients]]`), after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub name: String,
    /// Exact bucket names.
    pub buckets: Vec<String>,
    /// Bucket name prefixes; the policy grants `prefix*`.
    pub bucket_prefixes: Vec<String>,
    pub access: Access,
    /// Names of declared developers, in file order.
    pub developers: Vec<String>,
    /// Memberships that end after a date
    /// (`developers = [{ name = "bob", expires = 2027-01-31 }]`).
    pub membership_expires: BTreeMap<String, NaiveDate>,
    /// Application user name; `None` when the file says `app_user = ""`
    /// or declares `[[clients.apps]]`.
    pub app_user: Option<String>,
    /// Per-bucket access levels of the client's developers
    /// (`bucket_access`), overriding [`Client::access`] for those buckets.
    /// Every key is one of [`Client::buckets`].
    pub bucket_access: BTreeMap<String, Access>,
    /// Applications (`[[clients.apps]]`), one IAM user each: unlike the one
    /// [`Client::app_user`], each holds its own grant and is in no group.
    pub apps: Vec<App>,
    /// CloudFront distribution ids the client may invalidate.
    pub distributions: Vec<String>,
    /// Apps that are IAM roles assumed through GitHub Actions OIDC
    /// (`[[clients.apps]]` entries with `github`), in file order.
    pub roles: Vec<RoleApp>,
    /// The file the client was declared in.
    pub source: PathBuf,
}

/// An app of a client that is an IAM role assumed by GitHub Actions
/// through OIDC (keyless CI), rather than a user with an access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleApp {
    /// The IAM role name.
    pub name: String,
    /// The client's exact buckets the role reaches (all of them by default).
    pub buckets: Vec<String>,
    /// The client's bucket prefixes the role reaches (all by default).
    pub bucket_prefixes: Vec<String>,
    /// What the role may do on them (the client's access by default).
    pub access: Access,
    /// The role's boundary (the settings' by default).
    pub permissions_boundary: Option<String>,
    /// The `sub` claims the trust policy accepts, as written:
    /// `repo:OWNER/REPO:ref:refs/heads/main`, with `*` only where written.
    pub subjects: Vec<String>,
}

/// Host of GitHub Actions' OIDC issuer; also the IAM OIDC provider's name.
pub const GITHUB_OIDC_HOST: &str = "token.actions.githubusercontent.com";
/// The audience (client id) AWS's GitHub action asks tokens for.
pub const GITHUB_OIDC_AUDIENCE: &str = "sts.amazonaws.com";
/// Longest session of a managed role, in seconds: one hour, IAM's minimum
/// of the maximum, since a CI job rarely needs more.
pub const ROLE_MAX_SESSION_SECONDS: i32 = 3600;

impl Client {
    /// Name of the client's IAM group.
    pub fn group_name(&self) -> String {
        group_name(&self.name)
    }

    /// Every application user of the client: the one `app_user` (in the
    /// client's group) or the users of its `[[clients.apps]]`.
    pub fn app_users(&self) -> impl Iterator<Item = &str> {
        self.app_user
            .as_deref()
            .into_iter()
            .chain(self.apps.iter().map(|a| a.name.as_str()))
    }

    /// The access level of the client's developers on `bucket`.
    pub fn access_to(&self, bucket: &str) -> Access {
        self.bucket_access
            .get(bucket)
            .copied()
            .unwrap_or(self.access)
    }
}

/// One application of a client (`[[clients.apps]]`, an environment such as
/// `acme-prod`): an IAM user with one access key, granted its own subset of
/// the client's buckets through its own inline policy
/// ([`GROUP_POLICY_NAME`], as on client groups), not through the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// The IAM user name.
    pub name: String,
    /// Exact buckets it reaches: some of the client's.
    pub buckets: Vec<String>,
    /// Bucket prefixes it reaches: some of the client's.
    pub bucket_prefixes: Vec<String>,
    pub access: Access,
    /// Its permissions boundary, when the file gives one; otherwise the
    /// settings' applies.
    pub permissions_boundary: Option<String>,
}

/// Name of the IAM group of client `client`.
pub fn group_name(client: &str) -> String {
    format!("{GROUP_PREFIX}{client}")
}

/// `AKIAIOSFODNN7EXAMPLE` -> `AKIA…MPLE`: the first and last four
/// characters of an access key id, enough to tell a user's keys apart in a
/// plan or a message; a short id is hidden whole.
pub fn key_id_hint(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 12 {
        return "…".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// The credentials one user holds, read per user for a user the plan
/// deletes, so that the plan lists what the deletion revokes rather than
/// every kind IAM has. Ids and names only: never a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Credentials {
    /// Access key ids.
    pub access_keys: Vec<String>,
    /// True when the user has a console password (a login profile).
    pub console_password: bool,
    /// Serial numbers (ARNs, for virtual devices) of its MFA devices.
    pub mfa_devices: Vec<String>,
    /// Ids of its SSH public keys.
    pub ssh_keys: Vec<String>,
    /// `service (id)` for each service-specific credential.
    pub service_credentials: Vec<String>,
    /// Ids of its signing certificates.
    pub signing_certificates: Vec<String>,
}

/// Where a value is written in a clients file, for messages that are found
/// after loading (the planner's checks against the account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// Everything the loaded configuration asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub settings: Settings,
    /// Declared developers by name.
    pub developers: BTreeMap<String, Developer>,
    /// Clients by name.
    pub clients: BTreeMap<String, Client>,
    /// True when a directory was among the given paths: the configuration is
    /// then taken to be complete for the managed path, so managed client
    /// groups it does not declare are deleted. When only files are given,
    /// other clients are out of scope and left alone.
    pub authoritative: bool,
    /// Where each client's buckets, prefixes and CloudFront distributions
    /// are written, by `(client, bucket, prefix or distribution)`. Empty for
    /// a configuration built in code; messages then name the client's file
    /// only.
    pub locations: BTreeMap<(String, String), SourceLocation>,
    /// Files read as context: the other `*.toml` files of the directory of a
    /// file given alone. Their settings apply and every check across
    /// clients counted their clients, but those clients are out of scope,
    /// like clients that live only in the account.
    pub context: Vec<PathBuf>,
    /// Developers declared only in context files and listed by no client in
    /// scope: part of the configuration, so never deleted as undeclared,
    /// but neither created nor changed by a plan of other files.
    pub context_developers: BTreeSet<String>,
    /// Where each developer is (first) declared, by name. Empty for a
    /// configuration built in code.
    pub developer_locations: BTreeMap<String, SourceLocation>,
    /// Clients declared only in context files, by name: out of the plan's
    /// scope, but part of the configuration. `verify` takes what they own
    /// and who belongs to them from these declarations, never from the
    /// account, where anyone allowed to edit IAM could change either.
    pub context_clients: BTreeMap<String, Client>,
    /// The declarations of [`Desired::context_developers`], for the same
    /// reason: whether their memberships have ended is in the files.
    pub context_developer_declarations: BTreeMap<String, Developer>,
    /// A client's own `bucket_policy`, by client, where its file sets one;
    /// see [`Desired::bucket_policy_layer`].
    pub bucket_policy_clients: BTreeMap<String, bool>,
    /// A client's own `manage_buckets`, by client name, where it is set:
    /// it wins over the setting of the same name.
    pub bucket_management: BTreeMap<String, bool>,
}

impl Desired {
    /// True when client `client`'s exact buckets are managed: its own
    /// `manage_buckets` when set, else the setting.
    pub fn manages_buckets(&self, client: &str) -> bool {
        self.bucket_management
            .get(client)
            .copied()
            .unwrap_or(self.settings.buckets.manage)
    }

    /// True when any client of the configuration (context files included)
    /// has managed buckets, or the setting asks for them.
    pub fn any_managed_buckets(&self) -> bool {
        self.settings.buckets.manage || self.bucket_management.values().any(|m| *m)
    }

    /// The managed buckets of the clients in scope, with their client, by
    /// bucket name. Prefixes name buckets made elsewhere: never managed.
    pub fn managed_buckets(&self) -> BTreeMap<String, String> {
        self.clients
            .values()
            .filter(|c| self.manages_buckets(&c.name))
            .flat_map(|c| c.buckets.iter().map(|b| (b.clone(), c.name.clone())))
            .collect()
    }
}

impl Desired {
    /// The users of every app of `[[clients.apps]]` in the configuration
    /// (context files included): each holds its grant as its own inline
    /// `provision-s3`, which is provision's, not a hand edit.
    pub fn app_grant_holders(&self) -> BTreeSet<String> {
        self.clients
            .values()
            .chain(self.context_clients.values())
            .flat_map(|c| c.apps.iter().map(|a| a.name.clone()))
            .collect()
    }
}

impl Desired {
    /// Whether the bucket-policy layer is on for `client` (`Some(true)`),
    /// asked to be off, so that provision takes its statements out
    /// (`Some(false)`), or not asked about at all (`None`: its buckets'
    /// policies are neither read nor written). The client's own setting
    /// wins over `settings.bucket_policy`.
    pub fn bucket_policy_layer(&self, client: &str) -> Option<bool> {
        self.bucket_policy_clients
            .get(client)
            .copied()
            .or(self.settings.bucket_policy)
    }
}

/// One identity that belongs to a client: what the bucket-policy layer
/// lets through its deny, by the ARN AWS puts in `aws:PrincipalArn`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    /// An IAM user at `path` (the managed path for every user provision
    /// makes).
    User { name: String, path: String },
    /// An IAM role at `path` (an app GitHub Actions assumes): AWS reports
    /// the role's ARN, not the session's, as `aws:PrincipalArn`.
    Role { name: String, path: String },
}

impl Principal {
    /// The ARN AWS reports as `aws:PrincipalArn` for this principal in
    /// `account`: for a user, its ARN with its path.
    pub fn arn(&self, account: &str) -> String {
        match self {
            Principal::User { name, path } => format!("arn:aws:iam::{account}:user{path}{name}"),
            Principal::Role { name, path } => format!("arn:aws:iam::{account}:role{path}{name}"),
        }
    }
}

/// Every principal that belongs to `client`: the one answer to "who is
/// this client", for whatever needs it (the bucket-policy layer).
///
/// Developers whose user is disabled are left out (they keep their user
/// but nothing else), as are memberships that have ended, which the
/// planner's expiry step takes out of `desired` before this is asked.
/// An unknown client has no principals.
pub fn client_principals(desired: &Desired, client: &str) -> Vec<Principal> {
    let Some(c) = desired
        .clients
        .get(client)
        .or_else(|| desired.context_clients.get(client))
    else {
        return Vec::new();
    };
    let path = &desired.settings.path;
    let user = |name: &str| Principal::User {
        name: name.to_owned(),
        path: path.clone(),
    };
    let mut principals: Vec<Principal> = c
        .developers
        .iter()
        .filter(|name| {
            desired
                .developers
                .get(name.as_str())
                .or_else(|| desired.context_developer_declarations.get(name.as_str()))
                .is_none_or(|d| !d.disabled)
        })
        .map(|name| user(name))
        .collect();
    principals.extend(c.app_user.as_deref().map(user));
    principals.extend(c.apps.iter().map(|a| user(&a.name)));
    principals.extend(c.roles.iter().map(|r| Principal::Role {
        name: r.name.clone(),
        path: path.clone(),
    }));
    principals.sort();
    principals.dedup();
    principals
}

/// A user as IAM reports it. `Serialize` gives saved plans a stable form
/// to fingerprint (see `saved`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObservedUser {
    pub name: String,
    pub path: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    /// Names of the groups the user belongs to.
    pub groups: BTreeSet<String>,
    /// Inline policies by name, normalized (see `policy::normalize`).
    pub inline_policies: BTreeMap<String, Value>,
    /// ARNs of attached managed policies.
    pub attached_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    /// Ids of the user's access keys, when they were listed. Observation
    /// lists them only for application users that lack the
    /// [`ACCESS_KEY_TAG_KEY`] record, so a no-op plan makes no such call.
    pub access_keys: Option<Vec<String>>,
}

/// A group as IAM reports it. `Serialize` gives saved plans a stable form
/// to fingerprint (see `saved`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObservedGroup {
    pub name: String,
    pub path: String,
    pub arn: String,
    /// Inline policies by name, normalized (see `policy::normalize`).
    pub inline_policies: BTreeMap<String, Value>,
    /// ARNs of attached managed policies.
    pub attached_policies: Vec<String>,
}

/// The IAM quotas plan-time checks use: the account's own, read with
/// `GetAccountSummary`, or AWS's defaults when they could not be read
/// (offline checks, or a role not allowed that call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountQuotas {
    /// Groups a user can belong to (`GroupsPerUserQuota`).
    pub groups_per_user: usize,
    /// Groups in the account (`GroupsQuota`).
    pub groups: usize,
    /// Users in the account (`UsersQuota`).
    pub users: usize,
    /// Non-whitespace characters of all inline policies of one group
    /// (`GroupPolicySizeQuota`).
    pub group_policy_size: usize,
    /// Non-whitespace characters of one managed policy (`PolicySizeQuota`).
    pub managed_policy_size: usize,
    /// True when the values were read from the account.
    pub from_account: bool,
}

impl AccountQuotas {
    /// AWS's documented defaults: the one place these numbers are written.
    /// Offline checks use them, and so does a plan when the account's own
    /// could not be read.
    pub const AWS_DEFAULTS: AccountQuotas = AccountQuotas {
        groups_per_user: 10,
        groups: 300,
        users: 5000,
        group_policy_size: 5120,
        managed_policy_size: 6144,
        from_account: false,
    };
}

impl Default for AccountQuotas {
    /// AWS's documented defaults ([`AccountQuotas::AWS_DEFAULTS`]).
    fn default() -> Self {
        AccountQuotas::AWS_DEFAULTS
    }
}

/// A role as `GetAccountAuthorizationDetails` reports it. `Serialize`
/// gives saved plans a stable form to fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObservedRole {
    pub name: String,
    pub path: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    /// The trust policy, normalized (see `policy::normalize`).
    pub trust: Value,
    /// Inline policies by name, normalized.
    pub inline_policies: BTreeMap<String, Value>,
    /// ARNs of attached managed policies.
    pub attached_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
}

impl ObservedRole {
    /// As for users: provision's tag, at exactly the managed path.
    pub fn is_managed(&self, path: &str) -> bool {
        self.path == path
            && self.tags.get(MANAGED_TAG_KEY).map(String::as_str) == Some(MANAGED_TAG_VALUE)
    }
}

/// The account's OIDC provider for GitHub Actions, when it exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObservedOidcProvider {
    pub arn: String,
    /// Its audiences (`ClientIDList`).
    pub client_ids: Vec<String>,
    /// True when it carries provision's tag: made by provision.
    pub managed: bool,
}

/// The live state of the account's users and groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// The account id the credentials belong to, when known.
    pub account_id: Option<String>,
    pub users: BTreeMap<String, ObservedUser>,
    pub groups: BTreeMap<String, ObservedGroup>,
    /// The account's IAM quotas.
    pub quotas: AccountQuotas,
    /// Default-version documents of provision's own managed policies
    /// (`provision-s3-<client>`, used when a client's policy does not fit
    /// inline) that are attached to managed groups, by ARN, normalized.
    pub managed_policies: BTreeMap<String, Value>,
    /// Every role of the account, by name.
    pub roles: BTreeMap<String, ObservedRole>,
    /// GitHub's OIDC provider: `None` when it was not read (no client
    /// declares a role) or does not exist.
    pub oidc_provider: Option<ObservedOidcProvider>,
    /// The managed buckets (`manage_buckets`) as S3 shows them to this
    /// account, by name; read only when some client's buckets are managed.
    pub buckets: BTreeMap<String, BucketState>,
    /// The region managed buckets are created in: the region of the S3
    /// client, when buckets were read.
    pub bucket_region: Option<String>,
    /// The policies of the buckets the bucket-policy layer concerns, by
    /// bucket, as stored; read only when the layer is set for some client,
    /// so the usual plan makes no S3 call.
    pub bucket_policies: BTreeMap<String, BucketPolicyRead>,
    /// The ARN of the identity running provision (`sts:GetCallerIdentity`),
    /// kept when the bucket-policy layer needs it: the plan refuses a
    /// policy that would deny it.
    pub caller_arn: Option<String>,
}

/// What reading one bucket's policy found. `Serialize` gives saved plans
/// the facts they fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BucketPolicyRead {
    /// The bucket does not exist (`NoSuchBucket`).
    NoBucket,
    /// The bucket has no policy (`NoSuchBucketPolicy`).
    NoPolicy,
    /// The policy's text, exactly as S3 returned it.
    Policy(String),
}

/// A CloudFront distribution of the account, as `ListDistributions`
/// summarizes it: `import` reads them only to tell which ones a grant on
/// `*` was meant for.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObservedDistribution {
    pub id: String,
    /// `d111111abcdef8.cloudfront.net`.
    pub domain_name: String,
    /// Alternate domain names (CNAMEs), sorted.
    pub aliases: Vec<String>,
    pub comment: String,
    /// The domain names of its origins, as configured, sorted.
    pub origins: Vec<String>,
}

impl Observed {
    /// Members of `group`, derived from the users' group lists.
    pub fn members(&self, group: &str) -> BTreeSet<String> {
        self.users
            .values()
            .filter(|u| u.groups.contains(group))
            .map(|u| u.name.clone())
            .collect()
    }
}

impl ObservedUser {
    /// True when the user carries provision's tag and lives at exactly the
    /// managed path. A nested path is not the managed path: users under
    /// `/provision/team-b/` belong to another configuration whose path is
    /// `/provision/team-b/`, not to the one at `/provision/` (SPEC,
    /// Guarantee 2).
    pub fn is_managed(&self, path: &str) -> bool {
        self.path == path && self.has_managed_tag()
    }

    /// True when the user carries the `managed-by=provision` tag, whatever
    /// its path: with [`ObservedUser::is_managed`] false, it was made by
    /// another configuration of provision (or moved by hand).
    pub fn has_managed_tag(&self) -> bool {
        self.tags.get(MANAGED_TAG_KEY).map(String::as_str) == Some(MANAGED_TAG_VALUE)
    }
}

impl ObservedGroup {
    /// Groups cannot carry tags, so a group is managed when it lives at
    /// exactly the managed path and has a client group's name. Exact, as for
    /// users: a `client-*` group at a nested path is another configuration's.
    pub fn is_managed(&self, path: &str) -> bool {
        self.path == path && self.name.starts_with(GROUP_PREFIX)
    }
}

/// What `verify` reads of one client bucket's own settings: the resource
/// side of isolation. Each part is `Err` with the reason when it could not
/// be read; a part the bucket does not have (no policy, no Block Public
/// Access configuration) is `Ok(None)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedBucket {
    pub name: String,
    /// The bucket does not exist (`NoSuchBucket`): it has nothing to read.
    pub missing: bool,
    /// The bucket policy, as stored.
    #[serde(serialize_with = "read_or_error")]
    pub policy: Result<Option<String>, String>,
    /// The ACL's grants; not read when Object Ownership is
    /// `BucketOwnerEnforced`, which turns ACLs off.
    pub acl: Part<Vec<AclGrant>>,
    /// The bucket's Block Public Access settings; not read when the
    /// account's own turn on all four, which then hold for every bucket.
    pub public_access_block: Part<Option<PublicAccessBlock>>,
    /// The Object Ownership setting (`BucketOwnerEnforced` turns ACLs off).
    #[serde(serialize_with = "read_or_error")]
    pub object_ownership: Result<Option<String>, String>,
}

/// A part of a bucket as JSON: its value, or `{"error": "..."}` when it
/// could not be read.
fn read_or_error<T: Serialize, S: serde::Serializer>(
    part: &Result<T, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match part {
        Ok(value) => value.serialize(serializer),
        Err(error) => serde_json::json!({ "error": error }).serialize(serializer),
    }
}

/// A part of a bucket that another setting may make ineffective, so that
/// `verify` need not read it: what was read, why it was not, or why it
/// could not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part<T> {
    Read(T),
    /// Not read because it has no effect; the reason, for people.
    NotRead(&'static str),
    /// The read failed; the error.
    Unreadable(String),
}

impl<T> Part<T> {
    /// The failed read's error, if it failed.
    pub fn error(&self) -> Option<&str> {
        match self {
            Part::Unreadable(e) => Some(e),
            _ => None,
        }
    }
}

/// Read, and nothing: what an account without the setting answers.
impl<T: Default> Default for Part<T> {
    fn default() -> Part<T> {
        Part::Read(T::default())
    }
}

impl<T> From<Result<T, String>> for Part<T> {
    fn from(read: Result<T, String>) -> Part<T> {
        match read {
            Ok(value) => Part::Read(value),
            Err(error) => Part::Unreadable(error),
        }
    }
}

/// As JSON: the value read, `{"not_read": "..."}` or `{"error": "..."}`.
impl<T: Serialize> Serialize for Part<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Part::Read(value) => value.serialize(serializer),
            Part::NotRead(why) => serde_json::json!({ "not_read": why }).serialize(serializer),
            Part::Unreadable(error) => serde_json::json!({ "error": error }).serialize(serializer),
        }
    }
}

/// One grant of a bucket ACL: who (`CanonicalUser` id, `Group` URI or
/// e-mail address) and what (`READ`, `FULL_CONTROL`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AclGrant {
    /// `CanonicalUser`, `Group` or `AmazonCustomerByEmail`.
    pub grantee_type: String,
    /// The canonical id, group URI or e-mail address.
    pub grantee: String,
    pub permission: String,
    /// The grantee is the bucket's owner (its canonical id).
    pub owner: bool,
}

/// The four Block Public Access settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// The settings in force for a bucket with these settings in an account
    /// with `account`'s: each is on when either is (AWS applies the most
    /// restrictive combination of the account's and the bucket's).
    pub fn or(self, account: Option<PublicAccessBlock>) -> PublicAccessBlock {
        let Some(a) = account else { return self };
        PublicAccessBlock {
            block_public_acls: self.block_public_acls || a.block_public_acls,
            ignore_public_acls: self.ignore_public_acls || a.ignore_public_acls,
            block_public_policy: self.block_public_policy || a.block_public_policy,
            restrict_public_buckets: self.restrict_public_buckets || a.restrict_public_buckets,
        }
    }

    /// All four settings on.
    pub fn all(&self) -> bool {
        self.block_public_acls
            && self.ignore_public_acls
            && self.block_public_policy
            && self.restrict_public_buckets
    }
}

/// The settings provision manages on a bucket of its own (`manage_buckets`),
/// as read from S3 or as the files want them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BucketSettings {
    /// `None` when the bucket has no Block Public Access configuration.
    pub public_access_block: Option<PublicAccessBlock>,
    /// The Object Ownership rule; `None` when there are no ownership controls.
    pub object_ownership: Option<String>,
    /// Default encryption. S3 encrypts every bucket with SSE-S3 unless told
    /// otherwise, so a bucket with no configuration reads as SSE-S3.
    pub encryption: BucketEncryption,
    /// `Enabled` or `Suspended`; `None` for a bucket whose versioning was
    /// never turned on.
    pub versioning: Option<String>,
    /// Every tag of the bucket (S3 replaces the whole set at once).
    pub tags: BTreeMap<String, String>,
}

/// A bucket's default encryption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BucketEncryption {
    /// `AES256` (SSE-S3) or `aws:kms`.
    pub algorithm: String,
    /// The KMS key, as configured, for `aws:kms`.
    pub kms_key: Option<String>,
}

/// The region managed buckets are created in when the S3 client has none.
pub const DEFAULT_BUCKET_REGION: &str = "us-east-1";
/// S3's name for SSE-S3.
pub const SSE_S3: &str = "AES256";
/// S3's name for SSE-KMS.
pub const SSE_KMS: &str = "aws:kms";
/// The Object Ownership rule that turns ACLs off.
pub const BUCKET_OWNER_ENFORCED: &str = "BucketOwnerEnforced";

impl Default for BucketEncryption {
    /// SSE-S3, what S3 applies to a bucket with no configuration.
    fn default() -> Self {
        BucketEncryption {
            algorithm: SSE_S3.to_owned(),
            kms_key: None,
        }
    }
}

impl std::fmt::Display for BucketEncryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.algorithm.as_str(), &self.kms_key) {
            (SSE_S3, None) => f.write_str("SSE-S3"),
            (SSE_KMS, Some(key)) => write!(f, "SSE-KMS with `{key}`"),
            (algorithm, Some(key)) => write!(f, "{algorithm} with `{key}`"),
            (algorithm, None) => f.write_str(algorithm),
        }
    }
}

/// What plan found under the name of a managed bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum BucketState {
    /// No bucket has the name (`NoSuchBucket`): provision creates it.
    Missing,
    /// The account's own bucket, with its settings.
    Owned(BucketSettings),
    /// S3 refused to answer for the account (`AccessDenied` with
    /// `ExpectedBucketOwner`): another account holds the name, or the
    /// credentials may not read it. Never written to.
    NotOwned {
        /// What S3 said.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(path: &str, tagged: bool) -> ObservedUser {
        let mut user = ObservedUser {
            name: "alice".into(),
            path: path.into(),
            ..ObservedUser::default()
        };
        if tagged {
            user.tags
                .insert(MANAGED_TAG_KEY.into(), MANAGED_TAG_VALUE.into());
        }
        user
    }

    fn group(name: &str, path: &str) -> ObservedGroup {
        ObservedGroup {
            name: name.into(),
            path: path.into(),
            ..ObservedGroup::default()
        }
    }

    #[test]
    fn a_user_is_managed_only_at_exactly_the_managed_path_and_with_the_tag() {
        assert!(user("/provision/", true).is_managed("/provision/"));
        assert!(!user("/provision/", false).is_managed("/provision/"));
        // Another installation nested under this one's path.
        assert!(!user("/provision/team-b/", true).is_managed("/provision/"));
        assert!(user("/provision/team-b/", true).has_managed_tag());
        // Nor does a path that merely starts like it.
        assert!(!user("/provisional/", true).is_managed("/provision/"));
        assert!(!user("/", true).is_managed("/provision/"));
    }

    #[test]
    fn a_group_is_managed_only_at_exactly_the_managed_path_and_with_a_client_name() {
        assert!(group("client-acme", "/provision/").is_managed("/provision/"));
        assert!(!group("client-acme", "/provision/team-b/").is_managed("/provision/"));
        assert!(!group("client-acme", "/").is_managed("/provision/"));
        assert!(!group("admins", "/provision/").is_managed("/provision/"));
    }
}
