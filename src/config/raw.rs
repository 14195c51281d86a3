//! The file format as written: serde structs that keep spans.
//!
//! Everything is optional and kept as loosely typed as serde allows without
//! losing spans, because a missing key or a bad value is reported later by
//! `validate`, which collects every problem.
//!
//! A TOML syntax error stops the file: the parser cannot go on past it.
//! Anything else `toml` and serde reject (a value of the wrong type, an
//! unknown key) is one error in a file that is otherwise read: [`parse`]
//! parses the document first, then deserializes each table and each entry
//! of `[[developers]]` and `[[clients]]` on its own, and within an entry
//! leaves out only the key that failed (see [`entry`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// One problem `toml` or serde found: its message and, when known, where.
#[derive(Debug)]
pub(super) struct RawError {
    pub message: String,
    pub span: Option<Range<usize>>,
}

impl From<toml::de::Error> for RawError {
    fn from(error: toml::de::Error) -> Self {
        RawError {
            message: error.message().to_owned(),
            span: error.span(),
        }
    }
}

/// The keys a file may have at its top level.
const TOP_LEVEL_KEYS: [&str; 3] = ["settings", "developers", "clients"];

/// Parses one file's text. A syntax error is the only error returned alone
/// (`Err`); otherwise the file comes back with what could be read and every
/// error found in the rest, in file order.
pub(super) fn parse(text: &str) -> Result<(RawFile, Vec<RawError>), RawError> {
    let root = DeTable::parse(text)?;
    let mut file = RawFile::default();
    let mut errors = Vec::new();
    for (key, value) in root.into_inner() {
        match key.get_ref().as_ref() {
            "settings" => file.settings = entry::<RawSettings>(value, &mut errors),
            "developers" => {
                for (item, whole) in entries::<RawDeveloper>(value, &mut errors) {
                    match item {
                        // An entry whose name could not be read may declare
                        // any developer: references are not checked against
                        // it (see `RawFile::unreadable`).
                        Some(dev)
                            if dev.get_ref().name.is_some() || dev.get_ref().broken.is_empty() =>
                        {
                            file.developers.push(dev);
                        }
                        Some(dev) => {
                            file.unreadable.push(whole);
                            file.developers.push(dev);
                        }
                        None => file.unreadable.push(whole),
                    }
                }
            }
            "clients" => {
                let items = entries::<RawClient>(value, &mut errors);
                file.clients
                    .extend(items.into_iter().filter_map(|(item, _)| item));
            }
            other => errors.push(RawError {
                message: format!(
                    "unknown field `{other}`, expected one of {}",
                    TOP_LEVEL_KEYS.map(|k| format!("`{k}`")).join(", ")
                ),
                span: Some(key.span()),
            }),
        }
    }
    errors.sort_by_key(|e| e.span.as_ref().map_or(0, |s| s.start));
    Ok((file, errors))
}

/// The entries of `[[developers]]` or `[[clients]]`, each read on its own
/// with [`entry`], with the span of each. A value that is not a list at all
/// is one error, in `toml`'s own words.
fn entries<T>(
    value: Spanned<DeValue<'_>>,
    errors: &mut Vec<RawError>,
) -> Vec<(Option<Spanned<T>>, Range<usize>)>
where
    T: for<'de> Deserialize<'de> + Recoverable,
{
    if !matches!(value.get_ref(), DeValue::Array(_)) {
        let whole = value.span();
        if let Err(e) = Vec::<Spanned<T>>::deserialize(ValueDeserializer::from(value)) {
            errors.push(e.into());
        } else {
            // Unreachable in practice: a non-array never reads as a list.
            errors.push(RawError {
                message: "invalid type: expected a sequence".to_owned(),
                span: Some(whole),
            });
        }
        return Vec::new();
    }
    let DeValue::Array(items) = value.into_inner() else {
        return Vec::new();
    };
    items
        .into_iter()
        .map(|item| {
            let whole = item.span();
            (entry::<Spanned<T>>(item, errors), whole)
        })
        .collect()
}

/// A struct read from a table whose keys can be left out one by one: every
/// field is optional, and the keys that failed are remembered so that
/// `validate` does not also call them missing.
pub(super) trait Recoverable {
    /// Records that `key` was present but could not be read.
    fn mark_broken(&mut self, key: String);
}

impl<T: Recoverable> Recoverable for Spanned<T> {
    fn mark_broken(&mut self, key: String) {
        self.get_mut().mark_broken(key);
    }
}

/// Reads one table into `T`. When a key fails (a wrong type, an unknown
/// key), its error is recorded, the key is left out and the rest is read
/// again, so one bad value is one error and every other key is still
/// checked. `None` when the value is not a table at all, or fails where no
/// key can be blamed.
fn entry<T>(value: Spanned<DeValue<'_>>, errors: &mut Vec<RawError>) -> Option<T>
where
    T: for<'de> Deserialize<'de> + Recoverable,
{
    let mut value = value;
    let mut broken = Vec::new();
    loop {
        let error = match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(mut read) => {
                for key in broken {
                    read.mark_broken(key);
                }
                return Some(read);
            }
            Err(error) => error,
        };
        let span = error.span();
        errors.push(error.into());
        let (Some(span), DeValue::Table(table)) = (span, value.get_mut()) else {
            return None;
        };
        // The key whose text (key or value) holds the error.
        let culprit = table
            .iter()
            .find(|(k, v)| {
                k.span().start <= span.start && span.end <= v.span().end.max(k.span().end)
            })
            .map(|(k, _)| k.clone());
        let culprit = culprit?;
        broken.push(culprit.get_ref().to_string());
        table.remove(&culprit);
    }
}

/// A list whose own position is kept, as well as each item's.
pub(super) type SpannedList = Spanned<Vec<Spanned<String>>>;

/// One whole file: what of it could be read.
#[derive(Debug, Default)]
pub(super) struct RawFile {
    pub settings: Option<RawSettings>,
    pub developers: Vec<Spanned<RawDeveloper>>,
    pub clients: Vec<Spanned<RawClient>>,
    /// The spans of `[[developers]]` entries whose name could not be read:
    /// they may declare any developer named in their text.
    pub unreadable: Vec<Range<usize>>,
}

impl RawFile {
    /// True when the file has no table at all (empty, or only comments).
    pub(super) fn declares_nothing(&self) -> bool {
        self.settings.is_none() && self.developers.is_empty() && self.clients.is_empty()
    }
}

/// The `Recoverable` impl of a struct whose `broken` field lists the keys
/// left out.
macro_rules! recoverable {
    ($($raw:ty),*) => {$(
        impl Recoverable for $raw {
            fn mark_broken(&mut self, key: String) {
                self.broken.insert(key);
            }
        }
    )*};
}
recoverable!(RawSettings, RawDeveloper, RawClient);

/// `[settings]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a `[settings]` table")]
pub(super) struct RawSettings {
    /// A `Value` rather than a string so that an unquoted number gets a
    /// specific "write it in quotes" message.
    pub account_id: Option<Spanned<toml::Value>>,
    pub path: Option<Spanned<String>>,
    pub permissions_boundary: Option<Spanned<String>>,
    /// A `Value` so that a quoted or negative number gets a specific message.
    pub max_key_age_days: Option<Spanned<toml::Value>>,
    /// `ssm:PREFIX` or `secretsmanager:PREFIX`.
    pub deliver: Option<Spanned<String>>,
    pub deliver_kms_key: Option<Spanned<String>>,
    /// Managed buckets: created with safe defaults, kept so, never deleted.
    pub manage_buckets: Option<Spanned<bool>>,
    /// The KMS key of managed buckets' default encryption.
    pub bucket_encryption_kms_key: Option<Spanned<String>>,
    /// Versioning of managed buckets: on (`true`) or off (`false`).
    pub bucket_versioning: Option<Spanned<bool>>,
    /// The bucket-policy layer for every client.
    pub bucket_policy: Option<Spanned<bool>>,
    /// ARNs of administrators the bucket-policy layer never denies.
    pub bucket_policy_exempt: Option<SpannedList>,
    /// Keys present but unreadable (see [`Recoverable`]).
    #[serde(skip)]
    pub broken: BTreeSet<String>,
}

/// One `[[developers]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a `[[developers]]` table")]
pub(super) struct RawDeveloper {
    pub name: Option<Spanned<String>>,
    pub email: Option<Spanned<String>>,
    /// A `Value` so that a quoted date or a datetime gets a specific message
    /// instead of a generic type error.
    pub expires: Option<Spanned<toml::Value>>,
    /// `disabled = true`: keep the user, revoke its access.
    pub disabled: Option<Spanned<bool>>,
    /// Keys present but unreadable (see [`Recoverable`]).
    #[serde(skip)]
    pub broken: BTreeSet<String>,
}

/// One `[[clients]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a `[[clients]]` table")]
pub(super) struct RawClient {
    pub name: Option<Spanned<String>>,
    pub buckets: Option<SpannedList>,
    pub bucket_prefixes: Option<SpannedList>,
    pub access: Option<Spanned<String>>,
    pub developers: Option<Spanned<Vec<RawMember>>>,
    pub app_user: Option<Spanned<String>>,
    pub cloudfront: Option<Spanned<RawCloudFront>>,
    /// Per-bucket access of developers: bucket name -> access level.
    pub bucket_access: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    pub apps: Option<Spanned<Vec<Spanned<RawApp>>>>,
    /// This client's own choice of `manage_buckets`.
    pub manage_buckets: Option<Spanned<bool>>,
    /// The bucket-policy layer for this client, over `settings.bucket_policy`.
    pub bucket_policy: Option<Spanned<bool>>,
    /// Keys present but unreadable (see [`Recoverable`]).
    #[serde(skip)]
    pub broken: BTreeSet<String>,
}

/// One `[[clients.apps]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a `[[clients.apps]]` table")]
pub(super) struct RawApp {
    pub name: Option<Spanned<String>>,
    pub buckets: Option<SpannedList>,
    pub access: Option<Spanned<String>>,
    pub permissions_boundary: Option<Spanned<String>>,
    pub github: Option<SpannedList>,
}

/// One entry of a client's `developers`: a name, or
/// `{ name = "bob", expires = 2027-01-31 }` for a membership that ends.
#[derive(Debug)]
pub(super) struct RawMember {
    /// The name, spanning the string itself.
    pub name: Spanned<String>,
    /// The membership's end, spanning the whole entry (inline tables lose
    /// their inner positions on the way through serde).
    pub expires: Option<Spanned<toml::Value>>,
}

impl<'de> Deserialize<'de> for RawMember {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Spanned::<toml::Value>::deserialize(deserializer)?;
        let span = value.span();
        match value.into_inner() {
            toml::Value::String(name) => Ok(RawMember {
                name: Spanned::new(span, name),
                expires: None,
            }),
            toml::Value::Table(mut table) => {
                let name = match table.remove("name") {
                    Some(toml::Value::String(name)) => name,
                    Some(_) => {
                        return Err(D::Error::custom(
                            "`name` of a developer entry must be a string",
                        ));
                    }
                    None => {
                        return Err(D::Error::custom("the developer entry has no `name`"));
                    }
                };
                let expires = table
                    .remove("expires")
                    .map(|v| Spanned::new(span.clone(), v));
                if let Some(key) = table.keys().next() {
                    return Err(D::Error::custom(format!(
                        "unknown key `{key}` in a developer entry"
                    )));
                }
                Ok(RawMember {
                    name: Spanned::new(span, name),
                    expires,
                })
            }
            _ => Err(D::Error::custom(
                "a developer entry must be a name or a table with `name` and `expires`",
            )),
        }
    }
}

/// `[clients.cloudfront]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a `[clients.cloudfront]` table")]
pub(super) struct RawCloudFront {
    pub distributions: Option<SpannedList>,
}
