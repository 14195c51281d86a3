//! `[[developers]]`: each declared once (or the same everywhere), with a
//! valid name, e-mail and expiry date.

use super::*;

impl<'a> Validator<'a> {
    pub(super) fn developers(&mut self) {
        let files = self.files;
        for parsed in files {
            let file = parsed.file;
            for entry in &parsed.raw.developers {
                let raw = entry.get_ref();
                let Some(name) = &raw.name else {
                    // A key that could not be read (a name of the wrong
                    // type, a misspelt `nmae`) was already reported.
                    if !raw.broken.is_empty() {
                        continue;
                    }
                    self.push(
                        Diagnostic::error("`[[developers]]` entry has no `name`")
                            .with_primary(file, entry.span(), "missing `name`")
                            .with_help("add `name = \"...\"`, the developer's IAM user name"),
                    );
                    continue;
                };
                if let Err(e) = rules::check_iam_name(name.get_ref(), IamKind::User) {
                    self.rule(Loc::of(file, name), &e);
                }
                let email = raw.email.as_ref().and_then(|email| {
                    match rules::check_email(email.get_ref()) {
                        Ok(()) => Some(email.get_ref().clone()),
                        Err(e) => {
                            self.rule(Loc::of(file, email), &e);
                            None
                        }
                    }
                });
                let expires = raw
                    .expires
                    .as_ref()
                    .and_then(|value| self.expires(file, value));
                if !parsed.context {
                    self.declared_in_scope.insert(name.get_ref().clone());
                }
                let decl = DeveloperDecl {
                    file,
                    name,
                    raw,
                    value: Developer {
                        name: name.get_ref().clone(),
                        email,
                        expires,
                        disabled: raw.disabled.as_ref().is_some_and(|d| *d.get_ref()),
                    },
                };
                self.declare(decl);
            }
        }
    }

    pub(super) fn expires(
        &mut self,
        file: FileId,
        value: &Spanned<toml::Value>,
    ) -> Option<NaiveDate> {
        let loc = Loc::of(file, value);
        let example = "write a date without quotes, e.g. `expires = 2027-03-31`; access ends \
                       after that day";
        let (message, label, help) = match value.get_ref() {
            toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => {
                    let date = NaiveDate::from_ymd_opt(
                        i32::from(d.year),
                        u32::from(d.month),
                        u32::from(d.day),
                    );
                    // `toml` already refuses impossible dates; this is a
                    // second line of defence, not an expected path.
                    match date {
                        Some(date) => return Some(date),
                        None => (
                            "`expires` is not a valid date",
                            "invalid date",
                            example.to_owned(),
                        ),
                    }
                }
                (Some(d), Some(_), _) => (
                    "`expires` must be a date without a time",
                    "a date and time",
                    format!(
                        "write `expires = {:04}-{:02}-{:02}`; access ends after that day",
                        d.year, d.month, d.day
                    ),
                ),
                _ => (
                    "`expires` must be a date, not a time",
                    "a time",
                    example.to_owned(),
                ),
            },
            toml::Value::String(s) if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => (
                "`expires` is a string; write the date without quotes",
                "a quoted string",
                format!("write `expires = {s}`; TOML dates are written without quotes"),
            ),
            _ => (
                "`expires` must be a date like `2027-03-31`",
                "expected a date",
                example.to_owned(),
            ),
        };
        self.push(
            Diagnostic::error(message)
                .with_primary(loc.file, loc.span, label)
                .with_help(help),
        );
        None
    }

    /// Records a developer declaration, checking it against an earlier one
    /// of the same (case-insensitive) name.
    // Long because it compares each field of a repeated declaration with
    // the first one and names both sources for every difference.
    fn declare(&mut self, decl: DeveloperDecl<'a>) {
        let key = decl.name.get_ref().to_lowercase();
        let Some(first) = self.developers.get(&key) else {
            self.developers.insert(key, decl);
            return;
        };
        let (first_name, this_name) = (first.name.get_ref(), decl.name.get_ref());
        let first_loc = Loc::of(first.file, first.name);
        let this_loc = Loc::of(decl.file, decl.name);
        if first_name != this_name {
            self.push(
                Diagnostic::error(format!(
                    "developer names `{first_name}` and `{this_name}` differ only in case"
                ))
                .with_primary(this_loc.file, this_loc.span, "declared here")
                .with_secondary(first_loc.file, first_loc.span, "and here")
                .with_note("IAM user names are case-insensitive, so both would be one IAM user")
                .with_help("spell the name the same way everywhere"),
            );
            return;
        }
        if first.file == decl.file {
            let message = format!(
                "developer `{this_name}` is declared twice in `{}`",
                self.file_name(decl.file)
            );
            self.duplicate(
                message,
                "declared",
                &first_loc,
                &this_loc,
                "remove one of the two `[[developers]]` entries",
            );
            return;
        }
        // Declared in another file too: fine when the declarations agree,
        // which is what lets each client file stand alone.
        let (first_raw, this_raw) = (first.raw, decl.raw);
        // (field, span in the first declaration, span in this one, equal?)
        let differs = [
            (
                "email",
                first_raw.email.as_ref().map(Spanned::span),
                this_raw.email.as_ref().map(Spanned::span),
                first_raw.email.as_ref().map(Spanned::get_ref)
                    == this_raw.email.as_ref().map(Spanned::get_ref),
            ),
            (
                "expires",
                first_raw.expires.as_ref().map(Spanned::span),
                this_raw.expires.as_ref().map(Spanned::span),
                first_raw.expires.as_ref().map(Spanned::get_ref)
                    == this_raw.expires.as_ref().map(Spanned::get_ref),
            ),
            (
                "disabled",
                first_raw.disabled.as_ref().map(Spanned::span),
                this_raw.disabled.as_ref().map(Spanned::span),
                first_raw.disabled.as_ref().is_some_and(|d| *d.get_ref())
                    == this_raw.disabled.as_ref().is_some_and(|d| *d.get_ref()),
            ),
        ];
        let first_file = first.file;
        for (field, a, b, same) in differs {
            if same {
                continue;
            }
            let (primary_span, primary_label) = match b {
                Some(span) => (span, format!("`{field}` differs here")),
                None => (
                    this_loc.span.clone(),
                    format!("declared without `{field}` here"),
                ),
            };
            let (secondary_span, secondary_label) = match a {
                Some(span) => (span, "from the first declaration".to_owned()),
                None => (
                    first_loc.span.clone(),
                    format!("first declared without `{field}`"),
                ),
            };
            let message = format!(
                "developer `{this_name}` is declared differently in `{}` and `{}`: `{field}` \
                 differs",
                self.file_name(first_file),
                self.file_name(decl.file)
            );
            self.push(
                Diagnostic::error(message)
                    .with_primary(decl.file, primary_span, primary_label)
                    .with_secondary(first_file, secondary_span, secondary_label)
                    .with_help(
                        "a developer may be declared in several files only if the declarations \
                         are identical; make them match, or keep one",
                    ),
            );
        }
    }
}
