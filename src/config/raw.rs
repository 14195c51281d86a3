//! The file format as written: serde structs that keep spans.
//!
//! Everything is optional and kept as loosely typed as serde allows without
//! losing spans, because a missing key or a bad value is reported later by
//! `validate`, which collects every problem. A failure *here* (wrong type,
//! unknown key, TOML syntax) stops the file at its first error, which is the
//! most `toml` can do.

use serde::Deserialize;
use toml::Spanned;

/// A list whose own position is kept, as well as each item's.
pub(super) type SpannedList = Spanned<Vec<Spanned<String>>>;

/// One whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a clients file")]
pub(super) struct RawFile {
    pub settings: Option<RawSettings>,
    #[serde(default)]
    pub developers: Vec<Spanned<RawDeveloper>>,
    #[serde(default)]
    pub clients: Vec<Spanned<RawClient>>,
}

impl RawFile {
    /// True when the file has no table at all (empty, or only comments).
    pub(super) fn declares_nothing(&self) -> bool {
        self.settings.is_none() && self.developers.is_empty() && self.clients.is_empty()
    }
}

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
