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
