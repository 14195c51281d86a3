//! From raw, spanned files to a [`Desired`], collecting every problem.
//!
//! Single values are checked with the pure functions of [`super::rules`];
//! this module attaches spans and does the checks that need more than one
//! value: duplicates, references, overlaps between clients, quotas. Nothing
//! here stops at the first problem: each check pushes a diagnostic and moves
//! on, so one run shows everything that needs fixing.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::path::PathBuf;

use chrono::NaiveDate;
use toml::Spanned;

use super::raw::{RawClient, RawDeveloper, RawFile, RawMember, SpannedList};
use super::rules::{self, IamKind, Rule, S3Kind};
use crate::config::diag::{Diagnostic, Diagnostics, FileId};
use crate::model::{
    Access, AccountQuotas, Client, Desired, Developer, Settings, SourceLocation, group_name,
};
use crate::policy::isolation::Scope;

/// IAM allows a user in at most this many groups by default; each client
/// is a group.
pub(super) const MAX_GROUPS_PER_USER: usize = AccountQuotas::AWS_DEFAULTS.groups_per_user;

/// One successfully parsed file.
pub(super) struct Parsed {
    /// Where its text is registered in the diagnostics.
    pub file: FileId,
    /// The path as given, copied into [`Client::source`].
    pub path: PathBuf,
    /// Its contents.
    pub raw: RawFile,
    /// True for a file read as context (another file of the directory of a
    /// file given alone): checked like the others, its settings and
    /// developers count, but its clients are not in scope.
    pub context: bool,
}

/// A place in a file. Ordered by file (in load order), then position, so
/// "the later of two" is well defined.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Loc {
    file: FileId,
    span: Range<usize>,
}

impl Ord for Loc {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.file, self.span.start, self.span.end).cmp(&(
            other.file,
            other.span.start,
            other.span.end,
        ))
    }
}

impl PartialOrd for Loc {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Loc {
    fn new(file: FileId, span: Range<usize>) -> Self {
        Loc { file, span }
    }

    fn of<T>(file: FileId, spanned: &Spanned<T>) -> Self {
        Loc::new(file, spanned.span())
    }
}

/// Validates every parsed file together and returns what they ask for.
/// Problems go to `diags`; the result is meaningful only when none of them is
/// an error.
pub(super) fn validate(files: &[Parsed], authoritative: bool, diags: &mut Diagnostics) -> Desired {
    let mut v = Validator {
        files,
        diags,
        developers: BTreeMap::new(),
        declared_in_scope: BTreeSet::new(),
        references: Vec::new(),
    };
    let settings = v.settings();
    v.developers();
    let clients = v.clients();
    v.developer_references(&clients);
    v.app_users(&clients);
    v.isolation(&clients);
    v.distributions_across_clients(&clients);

    // Every check above saw the context files too; the scope is the files
    // given.
    let clients: Vec<ClientDraft<'_>> = clients
        .into_iter()
        .filter(|draft| files.get(draft.file_index).is_some_and(|f| !f.context))
        .collect();
    let (developers, context_developers) = v.developers_in_scope(&clients);
    let locations = v.locations(&clients);
    let mut developer_locations = BTreeMap::new();
    for decl in v.developers.values() {
        let parsed = files.iter().find(|p| p.file == decl.file);
        let position = v.diags.line_column(decl.file, decl.name.span().start);
        if let (Some(parsed), Some((line, column))) = (parsed, position) {
            developer_locations.insert(
                decl.value.name.clone(),
                SourceLocation {
                    path: parsed.path.clone(),
                    line,
                    column,
                },
            );
        }
    }
    let clients = clients
        .into_iter()
        .filter_map(|draft| {
            let client = draft.finish(files)?;
            Some((client.name.clone(), client))
        })
        .collect();
    Desired {
        settings,
        developers,
        clients,
        authoritative,
        locations,
        context: files
            .iter()
            .filter(|f| f.context)
            .map(|f| f.path.clone())
            .collect(),
        context_developers,
        developer_locations,
    }
}

/// The first declaration of a developer.
struct DeveloperDecl<'a> {
    file: FileId,
    name: &'a Spanned<String>,
    raw: &'a RawDeveloper,
    value: Developer,
}

/// A client being validated: the parts needed by the checks that span
/// several clients, with their locations.
struct ClientDraft<'a> {
    /// Index into the parsed files.
    file_index: usize,
    file: FileId,
    name: &'a Spanned<String>,
    /// False when the name itself is invalid; such a client still gets its
    /// other fields checked but takes no part in cross-client checks, which
    /// would only repeat the problem.
    name_ok: bool,
    /// Valid exact bucket names.
    buckets: Vec<&'a Spanned<String>>,
    /// Valid bucket prefixes.
    prefixes: Vec<&'a Spanned<String>>,
    access: Access,
    developers: Vec<&'a Spanned<String>>,
    /// Memberships with an end date.
    membership_expires: BTreeMap<String, NaiveDate>,
    /// `None` when `app_user = ""`.
    app_user: Option<AppUser<'a>>,
    distributions: Vec<&'a Spanned<String>>,
}

/// A client's application user and where it comes from.
struct AppUser<'a> {
    name: String,
    /// The `app_user` value, or `None` when the name is the default.
    explicit: Option<&'a Spanned<String>>,
}

impl ClientDraft<'_> {
    fn finish(self, files: &[Parsed]) -> Option<Client> {
        let strings =
            |list: &[&Spanned<String>]| list.iter().map(|s| s.get_ref().clone()).collect();
        Some(Client {
            name: self.name.get_ref().clone(),
            buckets: strings(&self.buckets),
            bucket_prefixes: strings(&self.prefixes),
            access: self.access,
            developers: strings(&self.developers),
            membership_expires: self.membership_expires,
            app_user: self.app_user.map(|a| a.name),
            distributions: strings(&self.distributions),
            source: files.get(self.file_index)?.path.clone(),
        })
    }

    /// Where to point when the problem is the client as a whole.
    fn loc(&self) -> Loc {
        Loc::of(self.file, self.name)
    }

    /// Where to point at the app user: the `app_user` value, or the name
    /// the default is derived from.
    fn app_user_loc(&self) -> Option<(Loc, String)> {
        let app = self.app_user.as_ref()?;
        Some(match app.explicit {
            Some(value) => (
                Loc::of(self.file, value),
                format!("app user of `{}`", self.name.get_ref()),
            ),
            None => (self.loc(), format!("default app user `{}`", app.name)),
        })
    }
}

struct Validator<'a> {
    files: &'a [Parsed],
    diags: &'a mut Diagnostics,
    /// Declared developers by lowercased name (IAM names are
    /// case-insensitive).
    developers: BTreeMap<String, DeveloperDecl<'a>>,
    /// Names of the developers declared in a file given (not context).
    declared_in_scope: BTreeSet<String>,
    /// Every developer name listed by any client, even a client that is
    /// otherwise broken (no name, invalid name, duplicate), so that an
    /// undeclared developer is reported in the same run.
    references: Vec<(FileId, &'a Spanned<String>)>,
}

impl<'a> Validator<'a> {
    fn file_name(&self, file: FileId) -> String {
        self.diags.file_name(file).unwrap_or("?").to_owned()
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diags.push(diagnostic);
    }

    /// Reports a single-value rule violation at `loc`.
    fn rule(&mut self, loc: Loc, error: &impl Rule) {
        let mut d =
            Diagnostic::error(error.to_string()).with_primary(loc.file, loc.span, error.label());
        if let Some(help) = error.help() {
            d = d.with_help(help);
        }
        self.push(d);
    }

    /// Reports something listed (or declared: `verb`) twice, pointing at
    /// both places.
    fn duplicate(&mut self, message: String, verb: &str, first: &Loc, again: &Loc, help: &str) {
        self.push(
            Diagnostic::error(message)
                .with_primary(again.file, again.span.clone(), format!("{verb} again here"))
                .with_secondary(first.file, first.span.clone(), format!("first {verb} here"))
                .with_help(help),
        );
    }

    // ---- scope ----------------------------------------------------------

    /// The developers in scope: those the files given declare, and those
    /// their clients (`clients`, already in scope) list wherever declared;
    /// then the names of the others, declared only in context files, which
    /// stay known so that no plan deletes them as undeclared.
    fn developers_in_scope(
        &self,
        clients: &[ClientDraft<'_>],
    ) -> (BTreeMap<String, Developer>, BTreeSet<String>) {
        let listed: BTreeSet<&str> = clients
            .iter()
            .flat_map(|c| c.developers.iter().map(|d| d.get_ref().as_str()))
            .collect();
        let mut in_scope = BTreeMap::new();
        let mut known = BTreeSet::new();
        for decl in self.developers.values() {
            let name = decl.value.name.clone();
            if self.declared_in_scope.contains(&name) || listed.contains(name.as_str()) {
                in_scope.insert(name, decl.value.clone());
            } else {
                known.insert(name);
            }
        }
        (in_scope, known)
    }

    /// Where each bucket, prefix and distribution of `clients` is written,
    /// for messages found after loading.
    fn locations(&self, clients: &[ClientDraft<'_>]) -> BTreeMap<(String, String), SourceLocation> {
        let mut locations = BTreeMap::new();
        for draft in clients {
            let Some(parsed) = self.files.get(draft.file_index) else {
                continue;
            };
            let items = draft
                .buckets
                .iter()
                .chain(&draft.prefixes)
                .chain(&draft.distributions);
            for item in items {
                if let Some((line, column)) = self.diags.line_column(draft.file, item.span().start)
                {
                    locations.insert(
                        (draft.name.get_ref().clone(), item.get_ref().clone()),
                        SourceLocation {
                            path: parsed.path.clone(),
                            line,
                            column,
                        },
                    );
                }
            }
        }
        locations
    }

    // ---- [settings] -------------------------------------------------------

    fn settings(&mut self) -> Settings {
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
        }
        settings
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

    // ---- [[developers]] ---------------------------------------------------

    fn developers(&mut self) {
        let files = self.files;
        for parsed in files {
            let file = parsed.file;
            for entry in &parsed.raw.developers {
                let raw = entry.get_ref();
                let Some(name) = &raw.name else {
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

    fn expires(&mut self, file: FileId, value: &Spanned<toml::Value>) -> Option<NaiveDate> {
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

    // ---- [[clients]] ------------------------------------------------------

    fn clients(&mut self) -> Vec<ClientDraft<'a>> {
        let mut drafts = Vec::new();
        // First declaration of each client name.
        let mut seen: HashMap<&'a str, Loc> = HashMap::new();
        let files = self.files;
        for (file_index, parsed) in files.iter().enumerate() {
            for entry in &parsed.raw.clients {
                let Some(draft) = self.client(file_index, parsed.file, entry) else {
                    continue;
                };
                if !draft.name_ok {
                    continue;
                }
                let name = draft.name.get_ref().as_str();
                let loc = draft.loc();
                if let Some(first) = seen.get(name) {
                    let message = if first.file == loc.file {
                        format!("client `{name}` is declared twice")
                    } else {
                        format!(
                            "client `{name}` is declared in both `{}` and `{}`",
                            self.file_name(first.file),
                            self.file_name(loc.file)
                        )
                    };
                    let first = first.clone();
                    self.push(
                        Diagnostic::error(message)
                            .with_primary(loc.file, loc.span, "declared again here")
                            .with_secondary(first.file, first.span, "first declared here")
                            .with_help(
                                "each client is one IAM group; rename one of them or merge the \
                                 two declarations",
                            ),
                    );
                    continue;
                }
                seen.insert(name, loc);
                drafts.push(draft);
            }
        }
        drafts
    }

    /// Checks one client's own fields.
    fn client(
        &mut self,
        file_index: usize,
        file: FileId,
        entry: &'a Spanned<RawClient>,
    ) -> Option<ClientDraft<'a>> {
        let raw = entry.get_ref();
        let name = match &raw.name {
            Some(name) => Some(name),
            None => {
                self.push(
                    Diagnostic::error("`[[clients]]` entry has no `name`")
                        .with_primary(file, entry.span(), "missing `name`")
                        .with_help(
                            "add `name = \"...\"` (lowercase letters, digits and `-`), e.g. \
                             `name = \"acme\"`",
                        ),
                );
                None
            }
        };
        let name_ok = match name {
            Some(name) => match rules::check_client_name(name.get_ref()) {
                // The client name rule is stricter than IAM's, so the group
                // name derived from it is always valid; checking it anyway
                // keeps that true if the rule is ever relaxed.
                Ok(()) => {
                    match rules::check_iam_name(&group_name(name.get_ref()), IamKind::Group) {
                        Ok(()) => true,
                        Err(e) => {
                            self.rule(Loc::of(file, name), &e);
                            false
                        }
                    }
                }
                Err(e) => {
                    self.rule(Loc::of(file, name), &e);
                    false
                }
            },
            None => false,
        };
        let client_name = name.map_or("", |n| n.get_ref().as_str()).to_owned();
        // How messages refer to this client.
        let this = match name {
            Some(name) => format!("client `{}`", name.get_ref()),
            None => "this `[[clients]]` entry".to_owned(),
        };
        // Point at the name when there is one, at `[[clients]]` otherwise.
        let whole = name.map_or_else(|| Loc::of(file, entry), |n| Loc::of(file, n));

        let buckets = self.s3_names(file, &this, raw.buckets.as_ref(), S3Kind::Bucket);
        let prefixes = self.s3_names(file, &this, raw.bucket_prefixes.as_ref(), S3Kind::Prefix);
        let listed =
            |list: &Option<SpannedList>| list.as_ref().is_some_and(|l| !l.get_ref().is_empty());
        if !listed(&raw.buckets) && !listed(&raw.bucket_prefixes) {
            let example = if name_ok {
                client_name.as_str()
            } else {
                "acme"
            };
            self.push(
                Diagnostic::error(format!("{this} has no buckets"))
                    .with_primary(
                        whole.file,
                        whole.span.clone(),
                        "no `buckets` or `bucket_prefixes`",
                    )
                    .with_help(format!(
                        "add `buckets = [\"{example}-assets\"]` for exact bucket names or \
                         `bucket_prefixes = [\"{example}-\"]`; a client without buckets would \
                         get an empty policy"
                    )),
            );
        }

        let access = match &raw.access {
            None => Access::ReadOnly,
            Some(value) => self.access(file, value).unwrap_or(Access::ReadOnly),
        };

        let members: Vec<&'a RawMember> = raw
            .developers
            .as_ref()
            .into_iter()
            .flat_map(|l| l.get_ref())
            .collect();
        let mut membership_expires = BTreeMap::new();
        for member in &members {
            if let Some(value) = &member.expires
                && let Some(date) = self.expires(file, value)
            {
                membership_expires.insert(member.name.get_ref().clone(), date);
            }
        }
        let developers = self.dedup(file, members.iter().map(|m| &m.name).collect(), |s| {
            format!("developer `{s}` is listed twice in {this}")
        });
        self.references
            .extend(developers.iter().map(|dev| (file, *dev)));

        let app_user = match &raw.app_user {
            Some(value) if value.get_ref().is_empty() => None,
            Some(value) => match rules::check_iam_name(value.get_ref(), IamKind::User) {
                Ok(()) => Some(AppUser {
                    name: value.get_ref().clone(),
                    explicit: Some(value),
                }),
                Err(e) => {
                    self.rule(Loc::of(file, value), &e);
                    None
                }
            },
            // The client name rule keeps `<name>-app` a valid user name.
            None if name_ok => Some(AppUser {
                name: format!("{client_name}-app"),
                explicit: None,
            }),
            None => None,
        };

        let distributions = match &raw.cloudfront {
            None => Vec::new(),
            Some(cloudfront) => {
                let list = cloudfront.get_ref().distributions.as_ref();
                let valid: Vec<_> = list
                    .into_iter()
                    .flat_map(|l| l.get_ref())
                    .filter(|id| match rules::check_distribution_id(id.get_ref()) {
                        Ok(()) => true,
                        Err(e) => {
                            self.rule(Loc::of(file, *id), &e);
                            false
                        }
                    })
                    .collect();
                self.dedup(file, valid, |id| {
                    format!("distribution `{id}` is listed twice in {this}")
                })
            }
        };

        Some(ClientDraft {
            file_index,
            file,
            name: name?,
            name_ok,
            buckets,
            prefixes,
            access,
            developers,
            membership_expires,
            app_user,
            distributions,
        })
    }

    fn access(&mut self, file: FileId, value: &Spanned<String>) -> Option<Access> {
        let levels = [Access::ReadOnly, Access::ReadWrite, Access::Full];
        let text = value.get_ref();
        if let Some(level) = levels.into_iter().find(|l| l.as_str() == text) {
            return Some(level);
        }
        let mut help = "use `read-only` (list and get), `read-write` (also put and delete \
                        objects) or `full` (`s3:*` on the client's buckets)"
            .to_owned();
        if let Some(guess) = rules::closest(text, levels.iter().map(|l| l.as_str())) {
            help = format!("did you mean `{guess}`? {help}");
        }
        self.push(
            Diagnostic::error(format!("unknown access level `{text}`"))
                .with_primary(file, value.span(), "unknown access level")
                .with_help(help),
        );
        None
    }

    /// Checks each bucket name or prefix, warns about dotted bucket names,
    /// and reports duplicates within the client. Returns the valid ones.
    /// `client` is how messages name the client ("client `acme`").
    fn s3_names(
        &mut self,
        file: FileId,
        client: &str,
        list: Option<&'a SpannedList>,
        kind: S3Kind,
    ) -> Vec<&'a Spanned<String>> {
        let mut valid = Vec::new();
        for item in list.into_iter().flat_map(|l| l.get_ref()) {
            let name = item.get_ref();
            match rules::check_s3_name(name, kind) {
                Ok(()) => valid.push(item),
                Err(e) => {
                    self.rule(Loc::of(file, item), &e);
                    continue;
                }
            }
            // S3 allows dots, but a dotted bucket breaks virtual-hosted-style
            // HTTPS (and transfer acceleration) for every client that uses
            // it, so provision refuses them rather than hand out keys that
            // fail in the SDKs.
            if kind == S3Kind::Bucket && rules::has_dots(name) {
                self.push(
                    Diagnostic::error(format!(
                        "bucket name `{name}` contains `.`, which breaks virtual-hosted-style \
                         HTTPS; provision refuses dotted bucket names"
                    ))
                    .with_primary(file, item.span(), "contains `.`")
                    .with_note(format!(
                        "`https://{name}.s3.amazonaws.com` does not match S3's wildcard \
                         certificate, so SDKs and browsers reject it"
                    ))
                    .with_help(format!(
                        "use `-` instead, e.g. `{}`; a website's bucket need not be named \
                         after its domain when CloudFront serves it",
                        name.replace('.', "-")
                    )),
                );
                continue;
            }
        }
        let what = match kind {
            S3Kind::Bucket => "bucket",
            S3Kind::Prefix => "bucket prefix",
        };
        self.dedup(file, valid, |s| {
            format!("{what} `{s}` is listed twice in {client}")
        })
    }

    /// Keeps the first of equal strings, reporting the others.
    fn dedup(
        &mut self,
        file: FileId,
        items: Vec<&'a Spanned<String>>,
        message: impl Fn(&str) -> String,
    ) -> Vec<&'a Spanned<String>> {
        let mut first: HashMap<&str, &Spanned<String>> = HashMap::new();
        let mut out = Vec::new();
        for item in items {
            if let Some(earlier) = first.get(item.get_ref().as_str()) {
                self.duplicate(
                    message(item.get_ref()),
                    "listed",
                    &Loc::of(file, *earlier),
                    &Loc::of(file, item),
                    "remove one of them",
                );
                continue;
            }
            first.insert(item.get_ref(), item);
            out.push(item);
        }
        out
    }

    // ---- across clients ---------------------------------------------------

    /// Every listed developer must be declared, and no developer may be in
    /// more clients than IAM allows groups per user.
    fn developer_references(&mut self, clients: &[ClientDraft<'a>]) {
        for (file, dev) in std::mem::take(&mut self.references) {
            let loc = Loc::of(file, dev);
            let name = dev.get_ref().as_str();
            match self.developers.get(&name.to_lowercase()) {
                Some(decl) if decl.name.get_ref() == name => {}
                Some(decl) => {
                    let declared = decl.name.get_ref().clone();
                    self.push(
                        Diagnostic::error(format!("developer `{name}` is not declared"))
                            .with_primary(loc.file, loc.span, "not declared")
                            .with_help(format!(
                                "did you mean `{declared}`? names must be spelled exactly as \
                                 declared"
                            )),
                    );
                }
                None => {
                    let mut d = Diagnostic::error(format!("developer `{name}` is not declared"))
                        .with_primary(loc.file, loc.span, "not declared in any loaded file")
                        .with_help(format!(
                            "add a `[[developers]]` entry with `name = \"{name}\"` to this or \
                             another loaded file"
                        ));
                    let names = self.developers.values().map(|d| d.name.get_ref().as_str());
                    if let Some(guess) = rules::closest(name, names) {
                        d = d.with_help(format!("did you mean `{guess}`?"));
                    }
                    self.push(d);
                }
            }
        }

        // Memberships count only for clients that will exist.
        let mut memberships: BTreeMap<&str, Vec<(&str, Loc)>> = BTreeMap::new();
        for client in clients {
            for dev in &client.developers {
                if let Some(decl) = self.developers.get(&dev.get_ref().to_lowercase())
                    && decl.name.get_ref() == dev.get_ref()
                {
                    memberships
                        .entry(decl.name.get_ref())
                        .or_default()
                        .push((client.name.get_ref(), Loc::of(client.file, *dev)));
                }
            }
        }
        for (developer, clients) in memberships {
            if clients.len() <= MAX_GROUPS_PER_USER {
                continue;
            }
            let (_, loc) = &clients[MAX_GROUPS_PER_USER];
            let names: Vec<String> = clients.iter().map(|(c, _)| format!("`{c}`")).collect();
            self.push(
                Diagnostic::error(format!(
                    "developer `{developer}` is in {} clients; IAM allows a user in at most \
                     {MAX_GROUPS_PER_USER} groups",
                    clients.len()
                ))
                .with_primary(
                    loc.file,
                    loc.span.clone(),
                    format!("client number {}", MAX_GROUPS_PER_USER + 1),
                )
                .with_note(format!("`{developer}` is listed by {}", names.join(", ")))
                .with_help(format!(
                    "each client is an IAM group; remove `{developer}` from {} of them",
                    clients.len() - MAX_GROUPS_PER_USER
                )),
            );
        }
    }

    /// App users must not share a name with a developer or another app user.
    fn app_users(&mut self, clients: &[ClientDraft<'a>]) {
        let mut seen: HashMap<String, (&str, Loc)> = HashMap::new();
        for client in clients {
            let (Some(app), Some((loc, label))) = (&client.app_user, client.app_user_loc()) else {
                continue;
            };
            let key = app.name.to_lowercase();
            let help = "set `app_user` to another name, or `app_user = \"\"` for no app user";
            if let Some(dev) = self.developers.get(&key) {
                let (dev_file, dev_span) = (dev.file, dev.name.span());
                let message = format!(
                    "app user `{}` of client `{}` has the same name as developer `{}`",
                    app.name,
                    client.name.get_ref(),
                    dev.name.get_ref()
                );
                self.push(
                    Diagnostic::error(message)
                        .with_primary(loc.file, loc.span, label)
                        .with_secondary(dev_file, dev_span, "developer declared here")
                        .with_note("IAM user names are case-insensitive and must be unique")
                        .with_help(help),
                );
                continue;
            }
            if let Some((other, other_loc)) = seen.get(&key) {
                let message = format!(
                    "clients `{other}` and `{}` both use the app user `{}`",
                    client.name.get_ref(),
                    app.name
                );
                let other_loc = other_loc.clone();
                self.push(
                    Diagnostic::error(message)
                        .with_primary(loc.file, loc.span, label)
                        .with_secondary(
                            other_loc.file,
                            other_loc.span,
                            format!("app user of `{other}`"),
                        )
                        .with_note("an app user belongs to exactly one client")
                        .with_help(help),
                );
                continue;
            }
            seen.insert(key, (client.name.get_ref(), loc));
        }
    }

    /// SPEC Guarantee 1: no client's buckets or prefixes may reach another
    /// client's. Within one client, overlaps are only redundant.
    fn isolation(&mut self, clients: &[ClientDraft<'a>]) {
        struct Entry<'e> {
            name: &'e str,
            kind: S3Kind,
            client: &'e str,
            loc: Loc,
        }
        impl Entry<'_> {
            fn scope(&self) -> Scope<'_> {
                match self.kind {
                    S3Kind::Bucket => Scope::Bucket(self.name),
                    S3Kind::Prefix => Scope::Prefix(self.name),
                }
            }
        }
        let mut entries: Vec<Entry<'_>> = Vec::new();
        for client in clients {
            let lists = [
                (S3Kind::Bucket, &client.buckets),
                (S3Kind::Prefix, &client.prefixes),
            ];
            for (kind, list) in lists {
                for item in list {
                    entries.push(Entry {
                        name: item.get_ref(),
                        kind,
                        client: client.name.get_ref(),
                        loc: Loc::of(client.file, *item),
                    });
                }
            }
        }
        // Sorted by name, everything a prefix matches follows it directly,
        // so each prefix scans only its own matches instead of every entry.
        entries.sort_by(|a, b| a.name.cmp(b.name).then_with(|| a.loc.cmp(&b.loc)));
        let mut reported: HashSet<(usize, usize)> = HashSet::new();
        for (i, a) in entries.iter().enumerate() {
            let start = entries.partition_point(|e| e.name < a.name);
            for (j, b) in entries.iter().enumerate().skip(start) {
                if !b.name.starts_with(a.name) {
                    break;
                }
                let matches = a.scope().reaches(b.scope());
                if i == j || !matches || !reported.insert((i.min(j), i.max(j))) {
                    continue;
                }
                // `later` gets the primary label: usually the line just added.
                let (earlier, later) = if a.loc <= b.loc { (a, b) } else { (b, a) };
                if a.client == b.client {
                    if a.name == b.name && a.kind == b.kind {
                        // Reported as "listed twice" by the client's own checks.
                        continue;
                    }
                    let (wide, narrow) = if a.kind == S3Kind::Prefix
                        && (b.name != a.name || b.kind == S3Kind::Bucket)
                    {
                        (a, b)
                    } else {
                        (b, a)
                    };
                    let what = |e: &Entry<'_>| match e.kind {
                        S3Kind::Bucket => "bucket",
                        S3Kind::Prefix => "bucket prefix",
                    };
                    self.push(
                        Diagnostic::warning(format!(
                            "{} `{}` is already covered by bucket prefix `{}` of the same client",
                            what(narrow),
                            narrow.name,
                            wide.name
                        ))
                        .with_primary(narrow.loc.file, narrow.loc.span.clone(), "redundant")
                        .with_secondary(
                            wide.loc.file,
                            wide.loc.span.clone(),
                            "covered by this prefix",
                        )
                        .with_help(format!(
                            "remove `{}`; it grants nothing the prefix does not",
                            narrow.name
                        )),
                    );
                    continue;
                }
                let label = |e: &Entry<'_>| match e.kind {
                    S3Kind::Bucket => format!("bucket of client `{}`", e.client),
                    S3Kind::Prefix => format!("prefix of client `{}`", e.client),
                };
                // Equal names sort by position, so a bucket may come before
                // the prefix that matches it: put the prefix first.
                let (a, b) = if a.kind == S3Kind::Bucket && b.kind == S3Kind::Prefix {
                    (b, a)
                } else {
                    (a, b)
                };
                let mut d = match (a.kind, b.kind) {
                    (S3Kind::Bucket, _) => Diagnostic::error(format!(
                        "bucket `{}` is listed by two clients, `{}` and `{}`",
                        a.name, earlier.client, later.client
                    ))
                    .with_note("a bucket belongs to exactly one client")
                    .with_help(format!("remove `{}` from one of the two clients", a.name)),
                    (S3Kind::Prefix, S3Kind::Bucket) => Diagnostic::error(format!(
                        "bucket prefix `{}` of client `{}` matches bucket `{}` of client `{}`",
                        a.name, a.client, b.name, b.client
                    ))
                    .with_note(format!(
                        "the group `client-{}` would be allowed `arn:aws:s3:::{}*`, which \
                         includes `{}`; a client must never reach another client's buckets",
                        a.client, a.name, b.name
                    ))
                    .with_help(prefix_help(a.name, a.client, b.name)),
                    (S3Kind::Prefix, S3Kind::Prefix) if a.name == b.name => {
                        Diagnostic::error(format!(
                            "bucket prefix `{}` is listed by two clients, `{}` and `{}`",
                            a.name, earlier.client, later.client
                        ))
                        .with_note("both clients would reach every bucket that starts with it")
                        .with_help(
                            "give each client its own prefix, where neither starts with the other",
                        )
                    }
                    (S3Kind::Prefix, S3Kind::Prefix) => Diagnostic::error(format!(
                        "bucket prefixes `{}` of client `{}` and `{}` of client `{}` overlap",
                        a.name, a.client, b.name, b.client
                    ))
                    .with_note(format!(
                        "every bucket whose name starts with `{}` also starts with `{}`, so both \
                         clients would reach it",
                        b.name, a.name
                    ))
                    .with_help(
                        "choose prefixes where neither starts with the other, or list the \
                         buckets by name",
                    ),
                };
                d = d
                    .with_primary(later.loc.file, later.loc.span.clone(), label(later))
                    .with_secondary(earlier.loc.file, earlier.loc.span.clone(), label(earlier));
                self.push(d);
            }
        }
    }

    /// A CloudFront distribution belongs to one client, as a bucket does:
    /// `verify` counts a client reaching another's distribution as a leak,
    /// so validation refuses what would be one (SPEC, Guarantee 10).
    fn distributions_across_clients(&mut self, clients: &[ClientDraft<'a>]) {
        let mut first: BTreeMap<&str, (&str, Loc)> = BTreeMap::new();
        for client in clients {
            for id in &client.distributions {
                let loc = Loc::of(client.file, *id);
                let Some((other, other_loc)) = first.get(id.get_ref().as_str()) else {
                    first.insert(id.get_ref(), (client.name.get_ref(), loc));
                    continue;
                };
                let (this, id) = (client.name.get_ref(), id.get_ref());
                let message = format!(
                    "CloudFront distribution `{id}` is listed by two clients, `{other}` and `{this}`"
                );
                let other_loc = other_loc.clone();
                let other_label = format!("distribution of client `{other}`");
                self.push(
                    Diagnostic::error(message)
                        .with_primary(
                            loc.file,
                            loc.span,
                            format!("distribution of client `{this}`"),
                        )
                        .with_secondary(other_loc.file, other_loc.span, other_label)
                        .with_note(
                            "a distribution belongs to exactly one client, as a bucket does: each \
                             client could invalidate the other's cache, and `provision verify` \
                             reports it as a leak",
                        )
                        .with_help(format!("remove `{id}` from one of the two clients")),
                );
            }
        }
    }
}

/// How to fix a prefix that reaches another client's bucket.
fn prefix_help(prefix: &str, client: &str, bucket: &str) -> String {
    let dashed = format!("{prefix}-");
    if !prefix.ends_with(['-', '.']) && !bucket.starts_with(&dashed) {
        format!(
            "end the prefix with a separator (`{dashed}`) so it matches only `{client}`'s \
             buckets, or list them by name"
        )
    } else {
        format!("use a longer prefix that matches only `{client}`'s buckets, or list them by name")
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
