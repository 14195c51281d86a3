//! The scope of a plan: the developers and clients of the files given,
//! and where their values are written.

use super::*;

impl<'a> Validator<'a> {
    /// The developers in scope: those the files given declare, and those
    /// their clients (`clients`, already in scope) list wherever declared;
    /// then the names of the others, declared only in context files, which
    /// stay known so that no plan deletes them as undeclared.
    pub(super) fn developers_in_scope(
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

    /// Refuses a client declared in a context file when a directory is
    /// given too (`plan clients/ extra/globex.toml` with `extra/initech.toml`
    /// beside it). A directory makes the files given the whole
    /// configuration, so every managed client they do not declare is
    /// deleted; yet a context file is part of the configuration too, and its
    /// clients are out of scope. No plan can honour both: it would delete a
    /// client the configuration declares. Leaving such clients alone instead
    /// would make "the whole configuration" mean something else for them
    /// than for every other client, so the mix is refused and the message
    /// says which of the two runs to make.
    pub(super) fn context_clients_with_a_directory(
        &mut self,
        clients: &[ClientDraft<'_>],
        authoritative: bool,
    ) {
        if !authoritative {
            return;
        }
        for draft in clients {
            let Some(parsed) = self.files.get(draft.file_index) else {
                continue;
            };
            if !parsed.context {
                continue;
            }
            let file = parsed.path.display().to_string();
            let dir = match parsed.path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => format!("{}/", dir.display()),
                _ => "./".to_owned(),
            };
            let loc = draft.loc();
            self.push(
                Diagnostic::error(format!(
                    "client `{}` of `{file}` would be deleted: that file is read as the rest of \
                     the configuration of a file given alone, while a directory is given too",
                    draft.name.get_ref()
                ))
                .with_primary(loc.file, loc.span, "declared in a file read as context")
                .with_help(format!(
                    "a directory makes the files given the whole configuration, and deletes \
                     every managed client they do not declare; give `{dir}` as a directory too \
                     (its clients are then in the plan), or give the file of `{dir}` in a run \
                     of its own"
                )),
            );
        }
    }

    /// Where each bucket, prefix and distribution of `clients` is written,
    /// for messages found after loading.
    pub(super) fn locations(
        &self,
        clients: &[ClientDraft<'_>],
    ) -> BTreeMap<(String, String), SourceLocation> {
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
}
