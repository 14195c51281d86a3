//! `[[clients.apps]]` and `bucket_access`: a client's applications (one
//! IAM user each, with its own subset of the client's buckets, access
//! level and boundary) and its developers' per-bucket access.
//!
//! An app's `buckets` may name only what its client lists (its `buckets`
//! and `bucket_prefixes`): the isolation checks across clients see the
//! client's list, so an app that could name anything else would reach
//! around them.

use super::*;
use crate::config::raw::RawApp;

/// An app being validated.
pub(super) struct AppDraft<'a> {
    pub(super) name: &'a Spanned<String>,
    /// Exact buckets, some of the client's.
    pub(super) buckets: Vec<String>,
    /// Bucket prefixes, some of the client's.
    pub(super) prefixes: Vec<String>,
    pub(super) access: Access,
    pub(super) boundary: Option<String>,
}

impl AppDraft<'_> {
    pub(super) fn finish(&self) -> crate::model::App {
        crate::model::App {
            name: self.name.get_ref().clone(),
            buckets: self.buckets.clone(),
            bucket_prefixes: self.prefixes.clone(),
            access: self.access,
            permissions_boundary: self.boundary.clone(),
        }
    }
}

/// What of its client an app is checked against.
pub(super) struct Owner<'s, 'a> {
    /// How messages name the client ("client `acme`").
    pub(super) this: &'s str,
    pub(super) buckets: &'s [&'a Spanned<String>],
    pub(super) prefixes: &'s [&'a Spanned<String>],
    pub(super) access: Access,
}

impl<'a> Validator<'a> {
    /// The client's `[[clients.apps]]`, each checked on its own; `None`
    /// when the client has none (it keeps its one `app_user`). Entries
    /// with `github` are keyless roles, left to `roles`.
    pub(super) fn apps(
        &mut self,
        file: FileId,
        raw: &'a RawClient,
        owner: &Owner<'_, 'a>,
    ) -> Option<Vec<AppDraft<'a>>> {
        let apps = raw.apps.as_ref()?;
        if let Some(app_user) = &raw.app_user {
            self.push(
                Diagnostic::error(format!(
                    "{} has both `app_user` and `[[clients.apps]]`",
                    owner.this
                ))
                .with_primary(file, app_user.span(), "`app_user` here")
                .with_secondary(file, apps.span(), "apps declared here")
                .with_help(
                    "remove `app_user`: with `[[clients.apps]]` each app is its own user; \
                     declare the app user as one of them (`name = \"...\"`)",
                ),
            );
        }
        let mut drafts = Vec::new();
        for entry in apps.get_ref() {
            if let Some(draft) = self.app(file, entry, owner) {
                drafts.push(draft);
            }
        }
        Some(drafts)
    }

    /// One `[[clients.apps]]` entry.
    fn app(
        &mut self,
        file: FileId,
        entry: &'a Spanned<RawApp>,
        owner: &Owner<'_, 'a>,
    ) -> Option<AppDraft<'a>> {
        let raw = entry.get_ref();
        // An entry with `github` is a keyless role, checked by `roles`.
        if raw.github.is_some() {
            return None;
        }
        let Some(name) = &raw.name else {
            self.push(
                Diagnostic::error(format!("an app of {} has no `name`", owner.this))
                    .with_primary(file, entry.span(), "missing `name`")
                    .with_help("add `name = \"...\"`, the app's IAM user name, e.g. `acme-prod`"),
            );
            return None;
        };
        let mut ok = match rules::check_iam_name(name.get_ref(), IamKind::User) {
            Ok(()) => true,
            Err(e) => {
                self.rule(Loc::of(file, name), &e);
                false
            }
        };
        let (mut buckets, mut prefixes) = (Vec::new(), Vec::new());
        match &raw.buckets {
            // By default an app reaches everything its client lists.
            None => {
                buckets = owner.buckets.iter().map(|b| b.get_ref().clone()).collect();
                prefixes = owner.prefixes.iter().map(|p| p.get_ref().clone()).collect();
            }
            Some(list) => {
                if list.get_ref().is_empty() {
                    self.push(
                        Diagnostic::error(format!(
                            "app `{}` of {} has an empty `buckets`",
                            name.get_ref(),
                            owner.this
                        ))
                        .with_primary(file, list.span(), "no buckets")
                        .with_help(
                            "list some of the client's buckets, or leave `buckets` out to give \
                             the app all of them",
                        ),
                    );
                    ok = false;
                }
                for item in list.get_ref() {
                    let value = item.get_ref();
                    let is = |l: &[&Spanned<String>]| l.iter().any(|b| b.get_ref() == value);
                    if is(owner.buckets) {
                        push_new(&mut buckets, value);
                    } else if is(owner.prefixes) {
                        push_new(&mut prefixes, value);
                    } else {
                        self.not_the_clients(file, item, name.get_ref(), owner);
                        ok = false;
                    }
                }
            }
        }
        let access = match &raw.access {
            None => owner.access,
            Some(value) => match self.access(file, value) {
                Some(access) => access,
                None => {
                    ok = false;
                    owner.access
                }
            },
        };
        let boundary = match &raw.permissions_boundary {
            None => None,
            Some(value) => match rules::check_boundary(value.get_ref()) {
                Ok(()) => Some(value.get_ref().clone()),
                Err(e) => {
                    self.rule(Loc::of(file, value), &e);
                    ok = false;
                    None
                }
            },
        };
        ok.then_some(AppDraft {
            name,
            buckets,
            prefixes,
            access,
            boundary,
        })
    }

    /// An app's bucket that its client does not list.
    fn not_the_clients(
        &mut self,
        file: FileId,
        item: &Spanned<String>,
        app: &str,
        owner: &Owner<'_, '_>,
    ) {
        let value = item.get_ref();
        let listed: Vec<&str> = owner
            .buckets
            .iter()
            .chain(owner.prefixes)
            .map(|b| b.get_ref().as_str())
            .collect();
        let mut d = Diagnostic::error(format!(
            "app `{app}` lists bucket `{value}`, which {} does not list",
            owner.this
        ))
        .with_primary(file, item.span(), "not one of the client's buckets")
        .with_help(format!(
            "an app reaches only its client's buckets or prefixes ({}); add `{value}` to the \
             client's `buckets` first, or fix the name",
            listed
                .iter()
                .map(|b| format!("`{b}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if let Some(guess) = rules::closest(value, listed.iter().copied()) {
            d = d.with_help(format!("did you mean `{guess}`?"));
        }
        self.push(d);
    }

    /// The client's `bucket_access`: each key one of its exact buckets,
    /// each value an access level.
    pub(super) fn bucket_access(
        &mut self,
        file: FileId,
        raw: &'a RawClient,
        owner: &Owner<'_, 'a>,
    ) -> BTreeMap<String, Access> {
        let mut out = BTreeMap::new();
        let Some(table) = &raw.bucket_access else {
            return out;
        };
        for (bucket, level) in table.get_ref() {
            let access = self.access(file, level);
            if !owner.buckets.iter().any(|b| b.get_ref() == bucket) {
                let mut d = Diagnostic::error(format!(
                    "`bucket_access` of {} names bucket `{bucket}`, which the client does not \
                     list in `buckets`",
                    owner.this
                ))
                .with_primary(file, level.span(), format!("access to `{bucket}`"))
                .with_help(
                    "`bucket_access` sets the developers' access to some of the client's exact \
                     buckets (not prefixes); name one of its `buckets`",
                );
                let names = owner.buckets.iter().map(|b| b.get_ref().as_str());
                if let Some(guess) = rules::closest(bucket, names) {
                    d = d.with_help(format!("did you mean `{guess}`?"));
                }
                self.push(d);
                continue;
            }
            if let Some(access) = access {
                out.insert(bucket.clone(), access);
            }
        }
        out
    }
}

fn push_new(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}
