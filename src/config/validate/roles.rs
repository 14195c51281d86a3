//! `[[clients.apps]]` entries with `github`: apps that are IAM roles
//! assumed by GitHub Actions through OIDC (keyless CI). Each names its
//! role, the `sub` claims that may assume it, and optionally a subset of
//! the client's buckets, an access level and a boundary.

use super::*;
use crate::model::RoleApp;
use crate::policy::trust;

use super::super::raw::RawApp;

impl<'a> Validator<'a> {
    /// The roles of one client. `buckets` and `prefixes` are the client's
    /// valid ones, which an app's `buckets` must come from; `access` is the
    /// client's, the default of its apps. `this` names the client.
    pub(super) fn roles(
        &mut self,
        file: FileId,
        raw: &'a RawClient,
        client: (&[&'a Spanned<String>], &[&'a Spanned<String>], Access),
        this: &str,
    ) -> Vec<RoleApp> {
        let Some(apps) = &raw.apps else {
            return Vec::new();
        };
        // `app_user` beside `[[clients.apps]]` is reported by `apps`.
        let mut roles = Vec::new();
        for app in apps.get_ref() {
            if let Some(role) = self.role(file, app, client, this) {
                roles.push(role);
            }
        }
        roles
    }

    /// Checks one app entry; `None` when it is not a valid role.
    fn role(
        &mut self,
        file: FileId,
        entry: &'a Spanned<RawApp>,
        (buckets, prefixes, client_access): (
            &[&'a Spanned<String>],
            &[&'a Spanned<String>],
            Access,
        ),
        this: &str,
    ) -> Option<RoleApp> {
        let app = entry.get_ref();
        // An entry without `github` is an app user, checked by `apps`.
        let Some(github) = &app.github else {
            return None;
        };
        let name = match &app.name {
            Some(name) => match rules::check_iam_name(name.get_ref(), IamKind::Role) {
                Ok(()) => Some(name.get_ref().clone()),
                Err(e) => {
                    self.rule(Loc::of(file, name), &e);
                    None
                }
            },
            None => {
                self.push(
                    Diagnostic::error(format!("an app of {this} has no `name`"))
                        .with_primary(file, entry.span(), "missing `name`")
                        .with_help("add `name = \"...\"`, the IAM role's name, e.g. `acme-deploy`"),
                );
                None
            }
        };
        let mut subjects = Vec::new();
        for subject in github.get_ref() {
            match trust::check_subject(subject.get_ref()) {
                Ok(()) if subjects.contains(subject.get_ref()) => self.push(
                    Diagnostic::error(format!("`{}` is listed twice", subject.get_ref()))
                        .with_primary(file, subject.span(), "listed again here")
                        .with_help("remove one of them"),
                ),
                Ok(()) => subjects.push(subject.get_ref().clone()),
                Err(e) => self.push(
                    Diagnostic::error(format!("refused GitHub subject: {e}"))
                        .with_primary(file, subject.span(), "not accepted")
                        .with_help(e.help()),
                ),
            }
        }
        if github.get_ref().is_empty() {
            self.push(
                Diagnostic::error(format!("an app of {this} has an empty `github` list"))
                    .with_primary(file, github.span(), "no subjects")
                    .with_help(
                        "list the workflows that may assume the role, e.g. \
                         `github = [\"repo:acme-org/site:ref:refs/heads/main\"]`",
                    ),
            );
        }
        let (mut role_buckets, mut role_prefixes) = (Vec::new(), Vec::new());
        match &app.buckets {
            None => {
                role_buckets = buckets.iter().map(|b| b.get_ref().clone()).collect();
                role_prefixes = prefixes.iter().map(|p| p.get_ref().clone()).collect();
            }
            Some(list) => {
                for item in list.get_ref() {
                    let wanted = item.get_ref();
                    if buckets.iter().any(|b| b.get_ref() == wanted) {
                        role_buckets.push(wanted.clone());
                    } else if prefixes.iter().any(|p| p.get_ref() == wanted) {
                        role_prefixes.push(wanted.clone());
                    } else {
                        self.push(
                            Diagnostic::error(format!(
                                "`{wanted}` is not one of the buckets or prefixes of {this}"
                            ))
                            .with_primary(file, item.span(), "not the client's")
                            .with_help(
                                "an app reaches only its client's buckets: list names from the \
                                 client's `buckets` or `bucket_prefixes`, or leave `buckets` out \
                                 for all of them",
                            ),
                        );
                    }
                }
                if list.get_ref().is_empty() {
                    self.push(
                        Diagnostic::error(format!("an app of {this} has an empty `buckets` list"))
                            .with_primary(file, list.span(), "no buckets")
                            .with_help("leave `buckets` out for all the client's buckets"),
                    );
                }
            }
        }
        let access = match &app.access {
            None => client_access,
            Some(value) => self.access(file, value).unwrap_or(client_access),
        };
        let permissions_boundary = match &app.permissions_boundary {
            None => None,
            Some(value) => match rules::check_boundary(value.get_ref()) {
                Ok(()) => Some(value.get_ref().clone()),
                Err(e) => {
                    self.rule(Loc::of(file, value), &e);
                    None
                }
            },
        };
        Some(RoleApp {
            name: name?,
            buckets: role_buckets,
            bucket_prefixes: role_prefixes,
            access,
            permissions_boundary,
            subjects,
        })
    }

    /// Role names are unique in the account, whatever their case: two
    /// apps with one name would be one role.
    pub(super) fn role_names(&mut self, clients: &[ClientDraft<'a>]) {
        let mut first: HashMap<String, (Loc, &str)> = HashMap::new();
        for draft in clients {
            for (name, span) in draft.role_spans() {
                let loc = Loc::new(draft.file, span);
                match first.get(&name.to_lowercase()) {
                    Some((earlier, earlier_name)) => {
                        let message = format!(
                            "role `{name}` is declared twice (IAM role names ignore case: \
                             `{earlier_name}`)"
                        );
                        let earlier = earlier.clone();
                        self.duplicate(
                            message,
                            "declared",
                            &earlier,
                            &loc,
                            "rename one of the apps",
                        );
                    }
                    None => {
                        first.insert(name.to_lowercase(), (loc, name));
                    }
                }
            }
        }
    }
}

impl<'a> ClientDraft<'a> {
    /// The names of the client's roles with where each is written.
    fn role_spans(&self) -> Vec<(&'a str, Range<usize>)> {
        let Some(apps) = &self.raw.apps else {
            return Vec::new();
        };
        apps.get_ref()
            .iter()
            .filter(|app| app.get_ref().github.is_some())
            .filter_map(|app| app.get_ref().name.as_ref())
            .filter(|name| self.roles.iter().any(|r| &r.name == name.get_ref()))
            .map(|name| (name.get_ref().as_str(), name.span()))
            .collect()
    }
}
