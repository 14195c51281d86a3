//! `[settings]`: each key set in one file at most, every value checked.

use super::*;
use crate::config::delivery;

impl<'a> Validator<'a> {
    pub(super) fn settings(&mut self) -> Settings {
        let mut settings = Settings::default();
        // Where each key was first set.
        let mut first: HashMap<&'static str, Loc> = HashMap::new();
        let files = self.files;
        for parsed in files {
            let Some(raw) = &parsed.raw.settings else {
                continue;
            };
            let file = parsed.file;
            if let Some(value) = &raw.account_id
                && self.first_setting(&mut first, "account_id", Loc::of(file, value))
            {
                settings.account_id = self.account_id(file, value);
            }
            if let Some(value) = &raw.path
                && self.first_setting(&mut first, "path", Loc::of(file, value))
            {
                match rules::check_managed_path(value.get_ref()) {
                    Ok(()) => settings.path = value.get_ref().clone(),
                    Err(e) => self.rule(Loc::of(file, value), &e),
                }
            }
            if let Some(value) = &raw.permissions_boundary
                && self.first_setting(&mut first, "permissions_boundary", Loc::of(file, value))
            {
                match rules::check_boundary(value.get_ref()) {
                    Ok(()) => settings.permissions_boundary = Some(value.get_ref().clone()),
                    Err(e) => self.rule(Loc::of(file, value), &e),
                }
            }
            if let Some(value) = &raw.max_key_age_days
                && self.first_setting(&mut first, "max_key_age_days", Loc::of(file, value))
            {
                match value.get_ref() {
                    toml::Value::Integer(days) if (1..=3650).contains(days) => {
                        settings.max_key_age_days = *days as u32;
                    }
                    other => self.push(
                        Diagnostic::error(format!(
                            "`max_key_age_days` must be a whole number of days from 1 to 3650, not {}",
                            match other {
                                toml::Value::Integer(n) => format!("`{n}`"),
                                _ => describe_value(other).to_owned(),
                            }
                        ))
                        .with_primary(file, value.span(), "not a number of days")
                        .with_help("write e.g. `max_key_age_days = 90` (no quotes)"),
                    ),
                }
            }
            if let Some(value) = &raw.deliver
                && self.first_setting(&mut first, "deliver", Loc::of(file, value))
            {
                match delivery::parse_delivery(value.get_ref()) {
                    Ok(store) => settings.deliver = Some(store),
                    Err(e) => self.rule(Loc::of(file, value), &e),
                }
            }
            if let Some(value) = &raw.bucket_policy
                && self.first_setting(&mut first, "bucket_policy", Loc::of(file, value))
            {
                settings.bucket_policy = Some(*value.get_ref());
            }
            if let Some(value) = &raw.deliver_kms_key
                && self.first_setting(&mut first, "deliver_kms_key", Loc::of(file, value))
            {
                match delivery::check_kms_key(value.get_ref()) {
                    Ok(_) => settings.deliver_kms_key = Some(value.get_ref().clone()),
                    Err(e) => self.rule(Loc::of(file, value), &e),
                }
            }
            self.bucket_settings(&mut settings, &mut first, file, raw);
        }
        settings
    }

    /// The keys of managed buckets: `manage_buckets`, `bucket_versioning`
    /// and `bucket_encryption_kms_key`, checked as `deliver_kms_key` is.
    fn bucket_settings(
        &mut self,
        settings: &mut Settings,
        first: &mut HashMap<&'static str, Loc>,
        file: FileId,
        raw: &crate::config::raw::RawSettings,
    ) {
        if let Some(value) = &raw.manage_buckets
            && self.first_setting(first, "manage_buckets", Loc::of(file, value))
        {
            settings.buckets.manage = *value.get_ref();
        }
        if let Some(value) = &raw.bucket_versioning
            && self.first_setting(first, "bucket_versioning", Loc::of(file, value))
        {
            settings.buckets.versioning = Some(*value.get_ref());
        }
        if let Some(value) = &raw.bucket_encryption_kms_key
            && self.first_setting(first, "bucket_encryption_kms_key", Loc::of(file, value))
        {
            match delivery::check_kms_key(value.get_ref()) {
                Ok(_) => settings.buckets.kms_key = Some(value.get_ref().clone()),
                Err(_) => self.push(
                    Diagnostic::error(format!(
                        "`bucket_encryption_kms_key` must be a KMS key id, key ARN, alias name (`alias/...`) or alias ARN, not `{}`",
                        value.get_ref()
                    ))
                    .with_primary(file, value.span(), "not a KMS key")
                    .with_help(
                        "write e.g. `bucket_encryption_kms_key = \"alias/buckets\"`, or leave it out for SSE-S3",
                    ),
                ),
            }
        }
    }

    /// Records that `key` is set at `loc`; reports and returns false when an
    /// earlier file already set it.
    fn first_setting(
        &mut self,
        first: &mut HashMap<&'static str, Loc>,
        key: &'static str,
        loc: Loc,
    ) -> bool {
        if let Some(earlier) = first.get(key) {
            let message = if earlier.file == loc.file {
                format!("`{key}` is set twice")
            } else {
                format!(
                    "`{key}` is set in both `{}` and `{}`",
                    self.file_name(earlier.file),
                    self.file_name(loc.file)
                )
            };
            self.push(
                Diagnostic::error(message)
                    .with_primary(loc.file, loc.span, "set again here")
                    .with_secondary(earlier.file, earlier.span.clone(), "first set here")
                    .with_help(format!(
                        "set `{key}` in one file only; `[settings]` apply to every file loaded \
                         together"
                    )),
            );
            return false;
        }
        first.insert(key, loc);
        true
    }

    fn account_id(&mut self, file: FileId, value: &Spanned<toml::Value>) -> Option<String> {
        let loc = Loc::of(file, value);
        match value.get_ref() {
            toml::Value::String(id) => match rules::check_account_id(id) {
                Ok(()) => return Some(id.clone()),
                Err(e) => self.rule(loc, &e),
            },
            toml::Value::Integer(n) => {
                let help = if (0..1_000_000_000_000).contains(n) {
                    format!("write `account_id = \"{n:012}\"`; quotes keep any leading zeros")
                } else {
                    "write the 12-digit account id in quotes, e.g. `account_id = \
                     \"123456789012\"`"
                        .to_owned()
                };
                self.push(
                    Diagnostic::error("`account_id` must be a string, not a number")
                        .with_primary(loc.file, loc.span, "write it in quotes")
                        .with_help(help),
                );
            }
            other => self.push(
                Diagnostic::error(format!(
                    "`account_id` must be a string of 12 digits, not {}",
                    describe_value(other)
                ))
                .with_primary(loc.file, loc.span, "expected a string")
                .with_help("write e.g. `account_id = \"123456789012\"`"),
            ),
        }
        None
    }
}

/// "an integer", "a boolean", ... for type messages.
fn describe_value(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}
