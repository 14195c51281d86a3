//! `[[clients]]`: names, buckets, prefixes, access, members, app user and
//! CloudFront distributions of each client on its own.

use super::*;

impl<'a> Validator<'a> {
    pub(super) fn clients(&mut self) -> Vec<ClientDraft<'a>> {
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
    // Long because it checks each of a client's fields in the order the
    // file declares them, so the errors come out in reading order.
    fn client(
        &mut self,
        file_index: usize,
        file: FileId,
        entry: &'a Spanned<RawClient>,
    ) -> Option<ClientDraft<'a>> {
        let raw = entry.get_ref();
        let name = match &raw.name {
            Some(name) => Some(name),
            // A key that could not be read (a name of the wrong type, a
            // misspelt `nmae`) was already reported, and is likely the name.
            None if !raw.broken.is_empty() => None,
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
        // Likewise a key that could not be read (`bucket = [...]`, a
        // `buckets` that is not a list) was already reported and is likely
        // the buckets: one error, not two.
        if !listed(&raw.buckets) && !listed(&raw.bucket_prefixes) && raw.broken.is_empty() {
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

        let owner = apps::Owner {
            this: &this,
            buckets: &buckets,
            prefixes: &prefixes,
            access,
        };
        let bucket_access = self.bucket_access(file, raw, &owner);
        let apps = self.apps(file, raw, &owner);
        let app_user = match &raw.app_user {
            // With `[[clients.apps]]` the apps are the client's users (an
            // `app_user` beside them was reported by `apps`).
            _ if apps.is_some() => None,
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

        let roles = self.roles(file, raw, (&buckets, &prefixes, access), &this);

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
            bucket_access,
            apps: apps.unwrap_or_default(),
            distributions,
            raw,
            roles,
        })
    }

    pub(super) fn access(&mut self, file: FileId, value: &Spanned<String>) -> Option<Access> {
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
}
