//! Names used across clients: every listed developer is declared and in
//! no more clients than IAM allows groups per user, and every app user
//! belongs to one client.

use super::*;

/// IAM allows a user in at most this many groups by default; each client
/// is a group.
pub(super) const MAX_GROUPS_PER_USER: usize = AccountQuotas::AWS_DEFAULTS.groups_per_user;

impl<'a> Validator<'a> {
    /// Every listed developer must be declared, and no developer may be in
    /// more clients than IAM allows groups per user.
    pub(super) fn developer_references(&mut self, clients: &[ClientDraft<'a>]) {
        for (file, dev) in std::mem::take(&mut self.references) {
            let loc = Loc::of(file, dev);
            let name = dev.get_ref().as_str();
            let declared = self.developers.get(&name.to_lowercase());
            // A file or entry that could not be read may declare this name:
            // a warning, not an error that would vanish once its syntax is
            // fixed.
            let unreadable = self.unreadable.iter().find(|(_, text)| text.contains(name));
            if let (None, Some((unread, _))) = (declared, unreadable) {
                let unread = unread.clone();
                self.push(
                    Diagnostic::warning(format!(
                        "not checked whether developer `{name}` is declared: `{unread}` could \
                         not be read and may declare it"
                    ))
                    .with_primary(loc.file, loc.span, "not checked")
                    .with_help(format!(
                        "fix the error in `{unread}`; the next run checks this name"
                    )),
                );
                continue;
            }
            match declared {
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

    /// App users (the one `app_user` or each app of `[[clients.apps]]`)
    /// must not share a name with a developer, another app user or a
    /// client's group.
    pub(super) fn app_users(&mut self, clients: &[ClientDraft<'a>]) {
        let groups: HashMap<String, &str> = clients
            .iter()
            .map(|c| (group_name(c.name.get_ref()), c.name.get_ref().as_str()))
            .collect();
        let mut seen: HashMap<String, (&str, Loc)> = HashMap::new();
        for client in clients {
            for (app, loc, label) in client.app_user_locs() {
                self.app_user_name(client, &app, loc, label, &groups, &mut seen);
            }
        }
    }

    /// One app user's name against the others (see [`Self::app_users`]).
    fn app_user_name(
        &mut self,
        client: &ClientDraft<'a>,
        app: &str,
        loc: Loc,
        label: String,
        groups: &HashMap<String, &str>,
        seen: &mut HashMap<String, (&'a str, Loc)>,
    ) {
        let key = app.to_lowercase();
        let help = if client.apps.is_empty() {
            "set `app_user` to another name, or `app_user = \"\"` for no app user"
        } else {
            "give the app another `name`"
        };
        if let Some(dev) = self.developers.get(&key) {
            let (dev_file, dev_span) = (dev.file, dev.name.span());
            let message = format!(
                "app user `{app}` of client `{}` has the same name as developer `{}`",
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
            return;
        }
        if let Some((_, owner)) = groups.iter().find(|(g, _)| g.to_lowercase() == key) {
            self.push(
                Diagnostic::error(format!(
                    "app user `{app}` of client `{}` has the name of client `{owner}`'s group",
                    client.name.get_ref()
                ))
                .with_primary(loc.file, loc.span, label)
                .with_note(
                    "a user named like a client group would read as that group in plans, \
                     audits and reports",
                )
                .with_help(help),
            );
            return;
        }
        if let Some((other, other_loc)) = seen.get(&key) {
            let (message, note) = if *other == client.name.get_ref().as_str() {
                (
                    format!("client `{other}` declares the app user `{app}` twice"),
                    "each app is one IAM user, and IAM user names are unique",
                )
            } else {
                (
                    format!(
                        "clients `{other}` and `{}` both use the app user `{app}`",
                        client.name.get_ref()
                    ),
                    "an app user belongs to exactly one client",
                )
            };
            let other_loc = other_loc.clone();
            self.push(
                Diagnostic::error(message)
                    .with_primary(loc.file, loc.span, label)
                    .with_secondary(
                        other_loc.file,
                        other_loc.span,
                        format!("app user of `{other}`"),
                    )
                    .with_note(note)
                    .with_help(help),
            );
            return;
        }
        seen.insert(key, (client.name.get_ref(), loc));
    }
}
