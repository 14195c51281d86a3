//! From raw, spanned files to a [`Desired`], collecting every problem.
//!
//! Single values are checked with the pure functions of [`super::rules`];
//! this module attaches spans and does the checks that need more than one
//! value: duplicates, references, overlaps between clients, quotas. Nothing
//! here stops at the first problem: each check pushes a diagnostic and moves
//! on, so one run shows everything that needs fixing.
//!
//! One file per pass, in the order [`validate`] runs them: [`settings`],
//! [`developers`] and [`clients`] check each table on its own;
//! [`references`] and [`collisions`] check across clients; [`scope`]
//! decides what of it all the plan covers.

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

mod apps;
mod bucket_policy;
mod clients;
mod collisions;
mod developers;
mod references;
mod roles;
mod scope;
mod settings;

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
pub(super) fn validate(
    files: &[Parsed],
    unreadable: &[(String, String)],
    authoritative: bool,
    diags: &mut Diagnostics,
) -> Desired {
    let mut v = Validator {
        files,
        unreadable,
        diags,
        developers: BTreeMap::new(),
        declared_in_scope: BTreeSet::new(),
        references: Vec::new(),
    };
    let mut settings = v.settings();
    settings.bucket_policy_exempt = v.bucket_policy_exempt(settings.account_id.as_deref());
    v.developers();
    let clients = v.clients();
    v.developer_references(&clients);
    v.app_users(&clients);
    v.role_names(&clients);
    v.isolation(&clients);
    v.distributions_across_clients(&clients);

    v.context_clients_with_a_directory(&clients, authoritative);

    // Every check above saw the context files too; the scope is the files
    // given.
    let (clients, context_clients): (Vec<ClientDraft<'_>>, Vec<ClientDraft<'_>>) = clients
        .into_iter()
        .partition(|draft| files.get(draft.file_index).is_some_and(|f| !f.context));
    let (developers, context_developers) = v.developers_in_scope(&clients);
    let context_developer_declarations = v
        .developers
        .values()
        .filter(|decl| context_developers.contains(&decl.value.name))
        .map(|decl| (decl.value.name.clone(), decl.value.clone()))
        .collect();
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
    let finish = |drafts: Vec<ClientDraft<'_>>| {
        drafts
            .into_iter()
            .filter_map(|draft| {
                let client = draft.finish(files)?;
                Some((client.name.clone(), client))
            })
            .collect()
    };
    let clients = finish(clients);
    let context_clients = finish(context_clients);
    // A client's own `manage_buckets`, context clients' included (the
    // operator policy covers their buckets too).
    let bucket_management = files
        .iter()
        .flat_map(|f| f.raw.clients.iter())
        .filter_map(|c| {
            let c = c.get_ref();
            Some((
                c.name.as_ref()?.get_ref().clone(),
                *c.manage_buckets.as_ref()?.get_ref(),
            ))
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
        context_clients,
        context_developer_declarations,
        bucket_management,
        bucket_policy_clients: v.bucket_policy_clients(),
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
    /// `None` when `app_user = ""`, or when the client has apps.
    app_user: Option<AppUser<'a>>,
    /// Per-bucket access of developers (`bucket_access`).
    bucket_access: BTreeMap<String, Access>,
    /// `[[clients.apps]]`, the valid ones.
    apps: Vec<apps::AppDraft<'a>>,
    distributions: Vec<&'a Spanned<String>>,
    /// The entry as written, for the positions of its apps.
    raw: &'a RawClient,
    /// Apps that are roles (`[[clients.apps]]` with `github`).
    roles: Vec<crate::model::RoleApp>,
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
            bucket_access: self.bucket_access,
            apps: self.apps.iter().map(apps::AppDraft::finish).collect(),
            distributions: strings(&self.distributions),
            roles: self.roles,
            source: files.get(self.file_index)?.path.clone(),
        })
    }

    /// Where to point when the problem is the client as a whole.
    fn loc(&self) -> Loc {
        Loc::of(self.file, self.name)
    }

    /// Every app user of the client with where to point at it and how to
    /// label it: the one `app_user`, or each app's `name`.
    fn app_user_locs(&self) -> Vec<(String, Loc, String)> {
        let one = self
            .app_user
            .as_ref()
            .zip(self.app_user_loc())
            .map(|(app, (loc, label))| (app.name.clone(), loc, label));
        one.into_iter()
            .chain(self.apps.iter().map(|app| {
                (
                    app.name.get_ref().clone(),
                    Loc::of(self.file, app.name),
                    format!("app of `{}`", self.name.get_ref()),
                )
            }))
            .collect()
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
    /// The file name and text of files and `[[developers]]` entries that
    /// could not be read (see `load_into`): a developer named in one of
    /// them may be declared there, so it is not called undeclared.
    unreadable: &'a [(String, String)],
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
}
