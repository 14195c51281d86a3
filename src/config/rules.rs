//! Rules for single values: names, ARNs, ids, addresses.
//!
//! Each check is a pure function returning a typed error. The error's
//! `Display` is the headline shown to the user; [`Rule::label`] is the short
//! text under the caret and [`Rule::help`] says how to fix it. `validate`
//! attaches the span.
//!
//! The limits come from the AWS documentation:
//! IAM quotas (user names 64, group names 128, paths 512 characters, the
//! `[\w+=,.@-]` character set), S3 general purpose bucket naming rules, and
//! CloudFront distribution ids.

use thiserror::Error;

use crate::policy::arn::{self, Parts};

/// What every rule error can say besides its headline.
pub(super) trait Rule: std::error::Error {
    /// Short text printed under the caret.
    fn label(&self) -> String;
    /// How to fix the problem, when there is something specific to say.
    fn help(&self) -> Option<String>;
}

/// The characters IAM allows in user and group names besides ASCII letters
/// and digits.
const IAM_NAME_PUNCTUATION: &str = "+=,.@_-";

/// Longest IAM user name.
pub(super) const MAX_USER_NAME: usize = 64;
/// Longest IAM group name.
pub(super) const MAX_GROUP_NAME: usize = 128;
/// Longest client name; see [`check_client_name`].
pub(super) const MAX_CLIENT_NAME: usize = 48;

/// Describes a character for a message: `` `_` `` or "a space".
fn describe(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        '\t' => "a tab".to_owned(),
        c if c.is_control() || c.is_whitespace() => format!("the character {}", c.escape_unicode()),
        '`' => "a backtick".to_owned(),
        c => format!("`{c}`"),
    }
}

/// Which IAM name a value becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IamKind {
    /// An IAM user (developer or app user).
    User,
    /// An IAM group (`client-<name>`).
    Group,
    /// An IAM role (an app assumed through GitHub's OIDC); same rules as a
    /// user name.
    Role,
}

impl IamKind {
    fn max(self) -> usize {
        match self {
            IamKind::User | IamKind::Role => MAX_USER_NAME,
            IamKind::Group => MAX_GROUP_NAME,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            IamKind::User => "IAM user name",
            IamKind::Group => "IAM group name",
            IamKind::Role => "IAM role name",
        }
    }
}

/// An invalid IAM user or group name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(super) enum IamNameError {
    /// The empty string.
    #[error("{} must not be empty", kind.noun())]
    Empty {
        /// User or group.
        kind: IamKind,
    },
    /// Longer than IAM allows.
    #[error("{} `{name}` is {len} characters long; the limit is {}", kind.noun(), kind.max())]
    TooLong {
        /// User or group.
        kind: IamKind,
        /// The offending name.
        name: String,
        /// Its length in characters.
        len: usize,
    },
    /// A character outside `[A-Za-z0-9+=,.@_-]`.
    #[error("{} `{name}` contains {}, which IAM does not allow", kind.noun(), describe(*ch))]
    Character {
        /// User or group.
        kind: IamKind,
        /// The offending name.
        name: String,
        /// The first bad character.
        ch: char,
    },
}

impl Rule for IamNameError {
    fn label(&self) -> String {
        match self {
            IamNameError::Empty { .. } => "empty name".to_owned(),
            IamNameError::TooLong { .. } => "too long".to_owned(),
            IamNameError::Character { ch, .. } => format!("{} not allowed", describe(*ch)),
        }
    }

    fn help(&self) -> Option<String> {
        let kind = match self {
            IamNameError::Empty { kind }
            | IamNameError::TooLong { kind, .. }
            | IamNameError::Character { kind, .. } => *kind,
        };
        Some(format!(
            "{}s are 1 to {} characters: ASCII letters, digits and `{IAM_NAME_PUNCTUATION}`",
            kind.noun(),
            kind.max()
        ))
    }
}

/// Checks an IAM user or group name.
pub(super) fn check_iam_name(name: &str, kind: IamKind) -> Result<(), IamNameError> {
    if name.is_empty() {
        return Err(IamNameError::Empty { kind });
    }
    if let Some(ch) = name
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !IAM_NAME_PUNCTUATION.contains(*c))
    {
        return Err(IamNameError::Character {
            kind,
            name: name.to_owned(),
            ch,
        });
    }
    let len = name.chars().count();
    if len > kind.max() {
        return Err(IamNameError::TooLong {
            kind,
            name: name.to_owned(),
            len,
        });
    }
    Ok(())
}

/// An invalid client name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(super) enum ClientNameError {
    /// The empty string.
    #[error("client name must not be empty")]
    Empty,
    /// More than [`MAX_CLIENT_NAME`] characters.
    #[error("client name `{name}` is {len} characters long; the limit is {MAX_CLIENT_NAME}")]
    TooLong {
        /// The offending name.
        name: String,
        /// Its length in characters.
        len: usize,
    },
    /// An uppercase letter.
    #[error("client names must be lowercase: `{name}`")]
    Uppercase {
        /// The offending name.
        name: String,
    },
    /// A character outside `[a-z0-9-]`.
    #[error("client name `{name}` contains {}; client names may contain only lowercase letters, digits and `-`", describe(*ch))]
    Character {
        /// The offending name.
        name: String,
        /// The first bad character.
        ch: char,
    },
    /// Starts with `-`.
    #[error("client name `{name}` must start with a letter or digit")]
    Start {
        /// The offending name.
        name: String,
    },
}

impl Rule for ClientNameError {
    fn label(&self) -> String {
        match self {
            ClientNameError::Empty => "empty name".to_owned(),
            ClientNameError::TooLong { .. } => "too long".to_owned(),
            ClientNameError::Uppercase { .. } => "not lowercase".to_owned(),
            ClientNameError::Character { ch, .. } => format!("{} not allowed", describe(*ch)),
            ClientNameError::Start { .. } => "starts with `-`".to_owned(),
        }
    }

    fn help(&self) -> Option<String> {
        let why = "a client name becomes the IAM group `client-<name>` and the app user \
                   `<name>-app`, so it is kept short, lowercase and plain";
        let name = match self {
            ClientNameError::Empty => return Some(format!("write a name such as `acme`; {why}")),
            ClientNameError::TooLong { .. } => {
                return Some(format!("use at most {MAX_CLIENT_NAME} characters; {why}"));
            }
            ClientNameError::Uppercase { name }
            | ClientNameError::Character { name, .. }
            | ClientNameError::Start { name } => name,
        };
        let fixed = slug(name, false);
        match check_client_name(&fixed) {
            Ok(()) if fixed != *name => Some(format!("use `{fixed}`; {why}")),
            _ => Some(format!(
                "use lowercase letters, digits and `-`, starting with a letter or digit; {why}"
            )),
        }
    }
}

/// Lowercases `name` and turns every other character that is not a letter,
/// digit, `-` or `.` into `-`, collapsing `..` and trimming leading (and,
/// unless `keep_end`, trailing) punctuation. Used to suggest a fixed name;
/// the result is checked again before it is shown.
fn slug(name: &str, keep_end: bool) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '.') => c,
            _ => '-',
        };
        // S3 forbids `..`.
        if c == '.' && out.ends_with('.') {
            continue;
        }
        out.push(c);
    }
    let not_alnum = |c: char| !c.is_ascii_alphanumeric();
    let out = out.trim_start_matches(not_alnum);
    if keep_end {
        out.to_owned()
    } else {
        out.trim_end_matches(not_alnum).to_owned()
    }
}

/// Checks a client name: 1 to [`MAX_CLIENT_NAME`] characters of `[a-z0-9-]`,
/// starting with a letter or digit.
///
/// IAM itself would allow more (mixed case, `+=,.@_`), but the name is
/// reused in the group `client-<name>`, the app user `<name>-app` and
/// usually the buckets, and IAM names are case-insensitive: keeping client
/// names lowercase and plain avoids a whole family of near-duplicates. At 48
/// characters `<name>-app` (52) and `client-<name>` (55) are comfortably
/// within IAM's 64 and 128.
pub(super) fn check_client_name(name: &str) -> Result<(), ClientNameError> {
    if name.is_empty() {
        return Err(ClientNameError::Empty);
    }
    let owned = || name.to_owned();
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(ClientNameError::Uppercase { name: owned() });
    }
    if let Some(ch) = name
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
    {
        return Err(ClientNameError::Character { name: owned(), ch });
    }
    if name.starts_with('-') {
        return Err(ClientNameError::Start { name: owned() });
    }
    let len = name.chars().count();
    if len > MAX_CLIENT_NAME {
        return Err(ClientNameError::TooLong { name: owned(), len });
    }
    Ok(())
}

/// Whether an S3 name is an exact bucket or a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum S3Kind {
    /// An exact bucket name.
    Bucket,
    /// A bucket name prefix.
    Prefix,
}

impl S3Kind {
    fn noun(self) -> &'static str {
        match self {
            S3Kind::Bucket => "bucket name",
            S3Kind::Prefix => "bucket prefix",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            S3Kind::Bucket => "bucket names",
            S3Kind::Prefix => "bucket prefixes",
        }
    }

    fn max(self) -> usize {
        match self {
            S3Kind::Bucket => 63,
            // A prefix must leave room for at least one more character.
            S3Kind::Prefix => 62,
        }
    }

    fn min(self) -> usize {
        match self {
            S3Kind::Bucket => 3,
            S3Kind::Prefix => 1,
        }
    }
}

/// Prefixes AWS reserves for bucket names.
const RESERVED_PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];
/// Suffixes AWS reserves for bucket names (access point aliases, Object
/// Lambda, Multi-Region Access Points, directory and table buckets).
const RESERVED_SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// A name that breaks an S3 general purpose bucket naming rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(super) enum S3NameError {
    /// The empty string.
    #[error("{} is empty", kind.noun())]
    Empty {
        /// Bucket or prefix.
        kind: S3Kind,
    },
    /// Too short or too long.
    #[error("{} `{name}` is {len} characters long; {} must be {} to {} characters", kind.noun(), kind.plural(), kind.min(), kind.max())]
    Length {
        /// Bucket or prefix.
        kind: S3Kind,
        /// The offending name.
        name: String,
        /// Its length in characters.
        len: usize,
    },
    /// An uppercase letter.
    #[error("{} must be lowercase: `{name}`", kind.plural())]
    Uppercase {
        /// Bucket or prefix.
        kind: S3Kind,
        /// The offending name.
        name: String,
    },
    /// A character outside `[a-z0-9.-]`.
    #[error("{} `{name}` contains {}; {} may contain only lowercase letters, digits, `.` and `-`", kind.noun(), describe(*ch), kind.plural())]
    Character {
        /// Bucket or prefix.
        kind: S3Kind,
        /// The offending name.
        name: String,
        /// The first bad character.
        ch: char,
    },
    /// Starts (or, for buckets, ends) with `.` or `-`.
    #[error("{} `{name}` must {} with a letter or digit", kind.noun(), match kind { S3Kind::Bucket => "begin and end", S3Kind::Prefix => "begin" })]
    Edge {
        /// Bucket or prefix.
        kind: S3Kind,
        /// The offending name.
        name: String,
    },
    /// `..` somewhere.
    #[error("{} `{name}` has two adjacent periods", kind.noun())]
    AdjacentPeriods {
        /// Bucket or prefix.
        kind: S3Kind,
        /// The offending name.
        name: String,
    },
    /// Looks like `192.168.5.4`.
    #[error("bucket name `{name}` is formatted as an IP address")]
    IpAddress {
        /// The offending name.
        name: String,
    },
    /// Starts with a prefix AWS reserves.
    #[error("{} `{name}` starts with `{reserved}`, which AWS reserves", kind.noun())]
    ReservedPrefix {
        /// Bucket or prefix.
        kind: S3Kind,
        /// The offending name.
        name: String,
        /// The reserved prefix.
        reserved: &'static str,
    },
    /// Ends with a suffix AWS reserves.
    #[error("bucket name `{name}` ends with `{reserved}`, which AWS reserves")]
    ReservedSuffix {
        /// The offending name.
        name: String,
        /// The reserved suffix.
        reserved: &'static str,
    },
}

impl Rule for S3NameError {
    fn label(&self) -> String {
        match self {
            S3NameError::Empty { .. } => "empty".to_owned(),
            S3NameError::Length { len, kind, .. } if *len < kind.min() => "too short".to_owned(),
            S3NameError::Length { .. } => "too long".to_owned(),
            S3NameError::Uppercase { .. } => "not lowercase".to_owned(),
            S3NameError::Character { ch, .. } => format!("{} not allowed", describe(*ch)),
            S3NameError::Edge {
                kind: S3Kind::Bucket,
                ..
            } => "must begin and end with a letter or digit".to_owned(),
            S3NameError::Edge { .. } => "must begin with a letter or digit".to_owned(),
            S3NameError::AdjacentPeriods { .. } => "`..` not allowed".to_owned(),
            S3NameError::IpAddress { .. } => "looks like an IP address".to_owned(),
            S3NameError::ReservedPrefix { reserved, .. } => format!("reserved prefix `{reserved}`"),
            S3NameError::ReservedSuffix { reserved, .. } => format!("reserved suffix `{reserved}`"),
        }
    }

    fn help(&self) -> Option<String> {
        match self {
            S3NameError::Empty {
                kind: S3Kind::Bucket,
            } => Some("write the bucket's name, or remove the empty string".to_owned()),
            S3NameError::Empty {
                kind: S3Kind::Prefix,
            } => Some(
                "an empty prefix would match every bucket in the account; write one such as \
                 `acme-`, or remove it"
                    .to_owned(),
            ),
            S3NameError::Length { kind, .. } => Some(format!(
                "{} must be {} to {} characters long",
                kind.plural(),
                kind.min(),
                kind.max()
            )),
            // Someone who writes `acme-*` wants a prefix, not a fixed name.
            S3NameError::Character {
                kind: S3Kind::Bucket,
                name,
                ch: '*',
            } => {
                let prefix = name.split('*').next().unwrap_or_default();
                Some(format!(
                    "`buckets` holds exact names; to grant every bucket whose name starts with \
                     `{prefix}`, write `bucket_prefixes = [\"{prefix}\"]`"
                ))
            }
            S3NameError::Uppercase { kind, name }
            | S3NameError::Character { kind, name, .. }
            | S3NameError::Edge { kind, name }
            | S3NameError::AdjacentPeriods { kind, name } => {
                // A prefix may end with a separator, so keep it.
                let fixed = slug(name, *kind == S3Kind::Prefix);
                if fixed != *name && check_s3_name(&fixed, *kind).is_ok() {
                    Some(format!("use `{fixed}`"))
                } else {
                    Some(format!(
                        "{} use lowercase letters, digits, `.` and `-`, and begin with a letter \
                         or digit",
                        kind.plural()
                    ))
                }
            }
            S3NameError::IpAddress { .. } => Some(
                "S3 refuses bucket names that look like IPv4 addresses; choose a name with letters"
                    .to_owned(),
            ),
            S3NameError::ReservedPrefix { .. } | S3NameError::ReservedSuffix { .. } => {
                Some(format!(
                    "S3 reserves the prefixes {} and the suffixes {}; choose another name",
                    list(RESERVED_PREFIXES),
                    list(RESERVED_SUFFIXES)
                ))
            }
        }
    }
}

/// `` `a`, `b` `` for a message.
fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks an exact bucket name or a bucket prefix against the S3 general
/// purpose bucket naming rules. For a prefix, the rules about the end of
/// the name and the IP address form do not apply: they concern the full
/// bucket name, which the prefix only starts.
///
/// Periods are allowed by AWS; provision refuses them separately (see
/// [`has_dots`]) with its own message.
pub(super) fn check_s3_name(name: &str, kind: S3Kind) -> Result<(), S3NameError> {
    let owned = || name.to_owned();
    if name.is_empty() {
        return Err(S3NameError::Empty { kind });
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(S3NameError::Uppercase {
            kind,
            name: owned(),
        });
    }
    if let Some(ch) = name
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '-'))
    {
        return Err(S3NameError::Character {
            kind,
            name: owned(),
            ch,
        });
    }
    let len = name.len();
    if len < kind.min() || len > kind.max() {
        return Err(S3NameError::Length {
            kind,
            name: owned(),
            len,
        });
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alnum(name.chars().next()) || (kind == S3Kind::Bucket && !alnum(name.chars().last())) {
        return Err(S3NameError::Edge {
            kind,
            name: owned(),
        });
    }
    if name.contains("..") {
        return Err(S3NameError::AdjacentPeriods {
            kind,
            name: owned(),
        });
    }
    if kind == S3Kind::Bucket && looks_like_ipv4(name) {
        return Err(S3NameError::IpAddress { name: owned() });
    }
    if let Some(reserved) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(*p)) {
        return Err(S3NameError::ReservedPrefix {
            kind,
            name: owned(),
            reserved,
        });
    }
    if kind == S3Kind::Bucket
        && let Some(reserved) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(*s))
    {
        return Err(S3NameError::ReservedSuffix {
            name: owned(),
            reserved,
        });
    }
    Ok(())
}

/// Four dot-separated groups of one to three digits. S3 refuses these
/// whatever the numbers are, so this is deliberately looser than
/// `Ipv4Addr::from_str`.
fn looks_like_ipv4(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// True when a (valid) bucket name contains a period. AWS allows it, but
/// virtual-hosted-style HTTPS (`bucket.s3.amazonaws.com`) then fails
/// certificate validation, so it deserves a warning.
pub(super) fn has_dots(name: &str) -> bool {
    name.contains('.')
}

/// An invalid e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(super) enum EmailError {
    /// The empty string.
    #[error("email must not be empty")]
    Empty,
    /// Contains whitespace.
    #[error("email `{email}` contains whitespace")]
    Whitespace {
        /// The offending address.
        email: String,
    },
    /// No `@`.
    #[error("email `{email}` has no `@`")]
    NoAt {
        /// The offending address.
        email: String,
    },
    /// Several `@`.
    #[error("email `{email}` has {count} `@`; an address has exactly one")]
    SeveralAt {
        /// The offending address.
        email: String,
        /// How many `@` it has.
        count: usize,
    },
    /// Nothing before the `@`.
    #[error("email `{email}` has nothing before the `@`")]
    EmptyLocal {
        /// The offending address.
        email: String,
    },
    /// Nothing after the `@`.
    #[error("email `{email}` has nothing after the `@`")]
    EmptyDomain {
        /// The offending address.
        email: String,
    },
    /// A character an IAM tag value cannot hold.
    #[error("email `{email}` contains {}, which an IAM tag value cannot hold", describe(*ch))]
    TagCharacter {
        /// The offending address.
        email: String,
        /// The first bad character.
        ch: char,
    },
    /// Longer than an IAM tag value may be.
    #[error("email `{email}` is {len} characters long; an IAM tag value holds at most 256")]
    TooLong {
        /// The offending address.
        email: String,
        /// Its length in characters.
        len: usize,
    },
}

impl Rule for EmailError {
    fn label(&self) -> String {
        match self {
            EmailError::Empty => "empty".to_owned(),
            EmailError::Whitespace { .. } => "whitespace".to_owned(),
            EmailError::NoAt { .. } => "no `@`".to_owned(),
            EmailError::SeveralAt { .. } => "more than one `@`".to_owned(),
            EmailError::EmptyLocal { .. } => "no user part".to_owned(),
            EmailError::EmptyDomain { .. } => "no domain".to_owned(),
            EmailError::TagCharacter { ch, .. } => format!("{} not allowed", describe(*ch)),
            EmailError::TooLong { .. } => "too long".to_owned(),
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            EmailError::TagCharacter { .. } | EmailError::TooLong { .. } => {
                "the address is stored as the IAM tag `email`, whose value may hold at most 256 \
                 letters, digits, spaces and `_.:/=+-@`; use another address or leave `email` out"
                    .to_owned()
            }
            _ => "write an address such as `alice@example.com`, or leave `email` out".to_owned(),
        })
    }
}

/// Checks that `email` is a plausible address that fits in an IAM tag value.
pub(super) fn check_email(email: &str) -> Result<(), EmailError> {
    let owned = || email.to_owned();
    if email.is_empty() {
        return Err(EmailError::Empty);
    }
    if email.chars().any(char::is_whitespace) {
        return Err(EmailError::Whitespace { email: owned() });
    }
    match email.matches('@').count() {
        0 => return Err(EmailError::NoAt { email: owned() }),
        1 => {}
        count => {
            return Err(EmailError::SeveralAt {
                email: owned(),
                count,
            });
        }
    }
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    if local.is_empty() {
        return Err(EmailError::EmptyLocal { email: owned() });
    }
    if domain.is_empty() {
        return Err(EmailError::EmptyDomain { email: owned() });
    }
    // IAM tag values: Unicode letters, digits, white space and `_.:/=+-@`.
    if let Some(ch) = email
        .chars()
        .find(|c| !c.is_alphanumeric() && !"_.:/=+-@".contains(*c))
    {
        return Err(EmailError::TagCharacter { email: owned(), ch });
    }
    let len = email.chars().count();
    if len > 256 {
        return Err(EmailError::TooLong {
            email: owned(),
            len,
        });
    }
    Ok(())
}

/// An `account_id` that is not 12 digits.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`account_id` must be exactly 12 digits: `{0}`")]
pub(super) struct AccountIdError(pub String);

impl Rule for AccountIdError {
    fn label(&self) -> String {
        "not a 12-digit account id".to_owned()
    }

    fn help(&self) -> Option<String> {
        Some(
            "`aws sts get-caller-identity --query Account --output text` prints the account id"
                .to_owned(),
        )
    }
}

/// Checks an AWS account id.
pub(super) fn check_account_id(id: &str) -> Result<(), AccountIdError> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AccountIdError(id.to_owned()))
    }
}

/// An invalid IAM path.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(super) enum IamPathError {
    /// Does not start and end with `/`.
    #[error("IAM path `{0}` must start and end with `/`")]
    Slashes(String),
    /// Longer than 512 characters.
    #[error("IAM path is {0} characters long; the limit is 512")]
    TooLong(usize),
    /// A character outside `!`..`~`.
    #[error("IAM path `{path}` contains {}, which IAM does not allow", describe(*ch))]
    Character {
        /// The offending path.
        path: String,
        /// The first bad character.
        ch: char,
    },
    /// `/`, valid for IAM but refused as the managed path: see
    /// [`check_managed_path`].
    #[error("the managed path cannot be `/`")]
    Root,
    /// `*`, `?` or `$`, valid for IAM but refused in the managed path: see
    /// [`check_managed_path`].
    #[error(
        "the managed path `{path}` contains `{ch}`, which IAM policies read as a wildcard or a variable"
    )]
    Wildcard {
        /// The offending path.
        path: String,
        /// The first wildcard character.
        ch: char,
    },
}

impl Rule for IamPathError {
    fn label(&self) -> String {
        match self {
            IamPathError::Root => "the root path".to_owned(),
            IamPathError::Slashes(_) => "must start and end with `/`".to_owned(),
            IamPathError::TooLong(_) => "too long".to_owned(),
            IamPathError::Character { ch, .. } => format!("{} not allowed", describe(*ch)),
            IamPathError::Wildcard { ch, .. } => format!("`{ch}` not allowed here"),
        }
    }

    fn help(&self) -> Option<String> {
        match self {
            IamPathError::Slashes(path) => {
                let inner = path.trim_matches('/');
                if inner.is_empty() {
                    Some("use a path such as `/provision/`".to_owned())
                } else {
                    Some(format!("use `/{inner}/`"))
                }
            }
            IamPathError::Root => Some(
                "IAM groups carry no tags, so provision knows its client groups by their path \
                 alone; at `/`, where IAM puts every user and group created without a path, a \
                 hand-made `client-*` group would be taken for one of provision's and deleted. \
                 Give provision a path of its own, e.g. `path = \"/provision/\"`"
                    .to_owned(),
            ),
            IamPathError::Wildcard { .. } => Some(
                "the operator policy and the apply lock name the managed path inside ARNs, where \
                 `*` and `?` are wildcards and `$` starts a policy variable: `/team*/` would \
                 reach `/team-b/`, another configuration's path. Use letters, digits and \
                 `-`, `_`, `.`, e.g. `path = \"/provision/\"`"
                    .to_owned(),
            ),
            _ => Some(
                "IAM paths are `/` or `/segment/.../`, up to 512 printable ASCII characters \
                 without spaces"
                    .to_owned(),
            ),
        }
    }
}

/// Checks the managed path (`settings.path`): an IAM path other than `/`.
///
/// provision owns exactly the entities at its path (users by tag and path,
/// client groups by name and path, since IAM groups cannot be tagged). At
/// `/`, IAM's default, that would take in every hand-made `client-*` group of
/// the account, so `/` is refused rather than made to mean something else.
///
/// `*`, `?` and `$` are valid in an IAM path, but the managed path is
/// written into the resource ARNs of the operator policy, where IAM reads
/// them as wildcards and policy variables: the "exact path" those ARNs
/// spell would then match other paths, so they are refused too.
pub(super) fn check_managed_path(path: &str) -> Result<(), IamPathError> {
    check_iam_path(path)?;
    if path == "/" {
        return Err(IamPathError::Root);
    }
    if let Some(ch) = path.chars().find(|c| matches!(c, '*' | '?' | '$')) {
        return Err(IamPathError::Wildcard {
            path: path.to_owned(),
            ch,
        });
    }
    Ok(())
}

/// Checks an IAM path: `/`, or `/` + printable ASCII (`!`..`~`) + `/`, at
/// most 512 characters (IAM's pattern `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`).
pub(super) fn check_iam_path(path: &str) -> Result<(), IamPathError> {
    if let Some(ch) = path.chars().find(|c| !('!'..='~').contains(c)) {
        return Err(IamPathError::Character {
            path: path.to_owned(),
            ch,
        });
    }
    if path != "/" && (path.len() < 3 || !path.starts_with('/') || !path.ends_with('/')) {
        return Err(IamPathError::Slashes(path.to_owned()));
    }
    if path.len() > 512 {
        return Err(IamPathError::TooLong(path.len()));
    }
    Ok(())
}

/// Why a permissions boundary is not an IAM policy ARN.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(super) enum BoundaryError {
    /// Not `arn:<partition>:iam::<account>:policy/<name>` at all.
    #[error("`permissions_boundary` must be an IAM policy ARN: `{0}`")]
    NotArn(String),
    /// A partition other than `aws`, `aws-cn`, `aws-us-gov`.
    #[error("`permissions_boundary` has unknown partition `{0}`")]
    Partition(String),
    /// A service other than `iam`.
    #[error(
        "`permissions_boundary` must be an IAM ARN (`arn:<partition>:iam::...`), not an `{0}` ARN"
    )]
    Service(String),
    /// A region, which IAM ARNs never have.
    #[error("`permissions_boundary` has region `{0}`, but IAM ARNs have none (`arn:aws:iam::...`)")]
    Region(String),
    /// Neither 12 digits nor `aws`.
    #[error("`permissions_boundary` has account `{0}`; expected 12 digits or `aws`")]
    Account(String),
    /// Not a `policy/` resource.
    #[error("`permissions_boundary` must name a policy (`...:policy/<name>`), not `{0}`")]
    NotPolicy(String),
    /// An invalid policy name or path.
    #[error("`permissions_boundary` has an invalid policy name or path: `{0}`")]
    PolicyName(String),
}

impl Rule for BoundaryError {
    fn label(&self) -> String {
        "not an IAM policy ARN".to_owned()
    }

    fn help(&self) -> Option<String> {
        Some(
            "write a managed policy ARN such as \
             `arn:aws:iam::123456789012:policy/ClientBoundary` (partitions `aws`, `aws-cn`, \
             `aws-us-gov`; account `aws` for AWS managed policies)"
                .to_owned(),
        )
    }
}

/// Checks a permissions boundary: a managed policy ARN
/// `arn:(aws|aws-cn|aws-us-gov):iam::(<12 digits>|aws):policy/[<path>/]<name>`.
pub(super) fn check_boundary(arn: &str) -> Result<(), BoundaryError> {
    let owned = || arn.to_owned();
    let Some(Parts {
        prefix,
        partition,
        service,
        region,
        account,
        resource,
    }) = arn::split(arn)
    else {
        return Err(BoundaryError::NotArn(owned()));
    };
    if prefix != "arn" || arn.len() > 2048 {
        return Err(BoundaryError::NotArn(owned()));
    }
    if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") {
        return Err(BoundaryError::Partition(partition.to_owned()));
    }
    if service != "iam" {
        return Err(BoundaryError::Service(service.to_owned()));
    }
    if !region.is_empty() {
        return Err(BoundaryError::Region(region.to_owned()));
    }
    if account != "aws" && check_account_id(account).is_err() {
        return Err(BoundaryError::Account(account.to_owned()));
    }
    let Some(path_and_name) = resource.strip_prefix("policy/") else {
        return Err(BoundaryError::NotPolicy(resource.to_owned()));
    };
    // Everything before the last `/` is the policy's path.
    let (path, name) = path_and_name
        .rsplit_once('/')
        .unwrap_or(("", path_and_name));
    let name_ok = !name.is_empty()
        && name.chars().count() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || IAM_NAME_PUNCTUATION.contains(c));
    let path_ok = path.chars().all(|c| ('!'..='~').contains(&c));
    if !name_ok || !path_ok {
        return Err(BoundaryError::PolicyName(path_and_name.to_owned()));
    }
    Ok(())
}

/// An invalid CloudFront distribution id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "CloudFront distribution id `{0}` is invalid; ids are 13 or 14 uppercase letters and digits, like `E2QWRUHAPOMQZL`"
)]
pub(super) struct DistributionIdError(pub String);

impl Rule for DistributionIdError {
    fn label(&self) -> String {
        "not a distribution id".to_owned()
    }

    fn help(&self) -> Option<String> {
        let upper = self.0.to_ascii_uppercase();
        if upper != self.0 && check_distribution_id(&upper).is_ok() {
            return Some(format!("use `{upper}`"));
        }
        Some(
            "`aws cloudfront list-distributions --query 'DistributionList.Items[].Id'` lists \
             the ids; use the id, not the domain name or ARN"
                .to_owned(),
        )
    }
}

/// Checks a CloudFront distribution id: 13 or 14 characters of `[A-Z0-9]`.
pub(super) fn check_distribution_id(id: &str) -> Result<(), DistributionIdError> {
    if (13..=14).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(DistributionIdError(id.to_owned()))
    }
}

/// When `text` (a bare value TOML could not read) is a date written the
/// way people write dates, `28/02/2027` or `28.02.2027`, the TOML way of
/// writing it: `2027-02-28`. Day first, as in most of the world; when both
/// numbers could be the month, `ambiguous` is true and the caller says
/// which reading it chose.
pub(super) fn date_written_otherwise(text: &str) -> Option<(String, bool)> {
    let parts: Vec<&str> = text.split(['/', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    if !parts
        .iter()
        .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let number = |p: &str| p.parse::<u32>().ok();
    let (a, b, c) = (number(a)?, number(b)?, number(c)?);
    // `2027/02/28`: already year first.
    let (year, first, second) = if a > 31 { (a, b, c) } else { (c, a, b) };
    if year < 1000 {
        return None;
    }
    let (month, day, ambiguous) = match (first, second) {
        _ if a > 31 => (first, second, false),
        (d, m) if d > 12 && m <= 12 => (m, d, false),
        (m, d) if m <= 12 && d > 12 => (m, d, false),
        (d, m) => (m, d, d != m),
    };
    chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some((format!("{year:04}-{month:02}-{day:02}"), ambiguous))
}

/// The closest of `candidates` to `word`, if it is close enough to be a
/// plausible typo (an edit distance of at most a third of the word, and at
/// least 1). Used for "did you mean" hints.
pub(super) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance in characters, counting a swap of two adjacent characters
/// as one edit (optimal string alignment), since `alcie` for `alice` is the
/// typo people make.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_iam_names_of_the_longest_client_name_are_valid() {
        // The client name rule is what keeps `client-<name>` and `<name>-app`
        // valid; prove it for the worst case.
        let name = format!("a{}", "-".repeat(MAX_CLIENT_NAME - 1));
        assert!(check_client_name(&name).is_ok());
        assert!(check_iam_name(&format!("client-{name}"), IamKind::Group).is_ok());
        assert!(check_iam_name(&format!("{name}-app"), IamKind::User).is_ok());
    }

    #[test]
    fn bucket_rules_accept_and_reject_the_documented_examples() {
        for ok in [
            "docexamplebucket1",
            "log-delivery-march-2020",
            "my-hosted-content",
            "a.b.c",
            "abc",
        ] {
            assert_eq!(check_s3_name(ok, S3Kind::Bucket), Ok(()), "{ok}");
        }
        for bad in [
            "doc_example_bucket",
            "DocExampleBucket",
            "doc-example-bucket-",
            "ab",
            "192.168.5.4",
            "a..b",
            "xn--abc",
            "sthree-x",
            "amzn-s3-demo-bucket",
            "x-s3alias",
            "x--ol-s3",
            "x.mrap",
            "x--x-s3",
            "x--table-s3",
            ".abc",
        ] {
            assert!(check_s3_name(bad, S3Kind::Bucket).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_may_end_with_separators_but_not_start_with_them() {
        assert_eq!(check_s3_name("a", S3Kind::Prefix), Ok(()));
        assert_eq!(check_s3_name("acme-", S3Kind::Prefix), Ok(()));
        assert_eq!(check_s3_name("acme.", S3Kind::Prefix), Ok(()));
        assert!(check_s3_name("-acme", S3Kind::Prefix).is_err());
        assert!(check_s3_name(&"a".repeat(63), S3Kind::Prefix).is_err());
        assert_eq!(check_s3_name(&"a".repeat(62), S3Kind::Prefix), Ok(()));
    }

    #[test]
    fn iam_paths() {
        for ok in ["/", "/provision/", "/a/b/", "///"] {
            assert_eq!(check_iam_path(ok), Ok(()), "{ok}");
        }
        for bad in ["", "//", "provision", "/provision", "/a b/"] {
            assert!(check_iam_path(bad).is_err(), "{bad}");
        }
        assert!(check_iam_path(&format!("/{}/", "a".repeat(510))).is_ok());
        assert!(check_iam_path(&format!("/{}/", "a".repeat(511))).is_err());
    }

    #[test]
    fn the_managed_path_is_never_the_root() {
        assert_eq!(check_managed_path("/"), Err(IamPathError::Root));
        assert_eq!(check_managed_path("/provision/"), Ok(()));
        assert_eq!(check_managed_path("/provision/team-b/"), Ok(()));
        assert!(matches!(
            check_managed_path("provision"),
            Err(IamPathError::Slashes(_))
        ));
    }

    #[test]
    fn the_managed_path_holds_no_policy_wildcard_or_variable() {
        for (bad, ch) in [
            ("/team*/", '*'),
            ("/te?m/", '?'),
            ("/${aws:username}/", '$'),
        ] {
            assert_eq!(check_iam_path(bad), Ok(()), "IAM itself accepts {bad}");
            assert_eq!(
                check_managed_path(bad),
                Err(IamPathError::Wildcard {
                    path: bad.to_owned(),
                    ch
                }),
                "{bad}"
            );
        }
        assert_eq!(check_managed_path("/a.b_c-d/e+f=g,h@i/"), Ok(()));
    }

    #[test]
    fn boundary_arns() {
        for ok in [
            "arn:aws:iam::123456789012:policy/ClientBoundary",
            "arn:aws-cn:iam::123456789012:policy/path/to/Boundary",
            "arn:aws-us-gov:iam::aws:policy/PowerUserAccess",
        ] {
            assert_eq!(check_boundary(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ClientBoundary",
            "arn:aws:iam::123:policy/X",
            "arn:aws:s3:::bucket",
            "arn:aws:iam:us-east-1:123456789012:policy/X",
            "arn:aws:iam::123456789012:role/X",
            "arn:aws:iam::123456789012:policy/",
            "arn:azure:iam::123456789012:policy/X",
        ] {
            assert!(check_boundary(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(check_email("alice@example.com"), Ok(()));
        assert_eq!(check_email("alice+ops@example.co.uk"), Ok(()));
        for bad in ["", "alice", "a@b@c", "@x", "x@", "a b@c", "o'neil@x.com"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_email(&format!("{}@x.com", "a".repeat(251))).is_err());
        assert!(check_email(&format!("{}@x.com", "a".repeat(250))).is_ok());
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            closest("client", ["settings", "developers", "clients"]),
            Some("clients")
        );
        assert_eq!(closest("zzz", ["settings", "developers", "clients"]), None);
        assert_eq!(
            closest("readonly", ["read-only", "read-write", "full"]),
            Some("read-only")
        );
        assert_eq!(closest("alcie", ["bob", "alice"]), Some("alice"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

#[cfg(test)]
mod date_tests {
    use super::date_written_otherwise;

    #[test]
    fn dates_written_otherwise_are_turned_into_toml_dates() {
        let read = |s| date_written_otherwise(s);
        assert_eq!(read("28/02/2027"), Some(("2027-02-28".to_owned(), false)));
        assert_eq!(read("28.02.2027"), Some(("2027-02-28".to_owned(), false)));
        assert_eq!(read("02/28/2027"), Some(("2027-02-28".to_owned(), false)));
        assert_eq!(read("2027/02/28"), Some(("2027-02-28".to_owned(), false)));
        assert_eq!(read("03/04/2027"), Some(("2027-04-03".to_owned(), true)));
        assert_eq!(read("04/04/2027"), Some(("2027-04-04".to_owned(), false)));
        for not_a_date in ["31/02/2027", "1/2", "acme", "1.2.3", "28/02/27", ""] {
            assert_eq!(read(not_a_date), None, "{not_a_date}");
        }
    }
}
