//! Editing clients files for `onboard` and `offboard`: pure functions from
//! text to text on top of `toml_edit`, so comments, key order, blank lines
//! and formatting survive, and every line the edit does not touch stays
//! byte-identical.

use chrono::NaiveDate;
use thiserror::Error;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value};

/// Why a file could not be edited.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EditError {
    /// The text is not TOML (validation normally catches this first).
    #[error("the file is not valid TOML: {0}")]
    Parse(String),
    /// No `[[clients]]` entry has this name.
    #[error("client `{client}` is not declared in this file")]
    UnknownClient { client: String },
    /// The developer is already listed by the client.
    #[error(
        "developer `{developer}` is already listed by client `{client}`; nothing to do (to change the membership, edit the file)"
    )]
    AlreadyMember { developer: String, client: String },
    /// A part of the file does not have the shape the format requires.
    #[error("`{what}` has an unexpected shape; fix the file with `provision validate` first")]
    Shape { what: &'static str },
}

/// What an onboarded developer's declaration says, when the file does not
/// declare the developer yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declaration {
    pub email: Option<String>,
    pub expires: Option<NaiveDate>,
}

/// Add `developer` to the `developers` of client `client`, and when
/// `declare` is given, a `[[developers]]` entry after the last one.
pub fn onboard(
    text: &str,
    developer: &str,
    client: &str,
    declare: Option<&Declaration>,
) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.message().to_owned()))?;

    let entry = clients_mut(&mut doc)?
        .and_then(|clients| {
            clients
                .iter_mut()
                .find(|t| t.get("name").and_then(Item::as_str) == Some(client))
        })
        .ok_or_else(|| EditError::UnknownClient {
            client: client.to_owned(),
        })?;
    match entry.get_mut("developers") {
        None => {
            let mut list = Array::new();
            list.push(developer);
            entry.insert("developers", Item::Value(Value::Array(list)));
        }
        Some(item) => {
            let list = item
                .as_array_mut()
                .ok_or(EditError::Shape { what: "developers" })?;
            if list.iter().any(|v| member_name(v) == Some(developer)) {
                return Err(EditError::AlreadyMember {
                    developer: developer.to_owned(),
                    client: client.to_owned(),
                });
            }
            push_like_last(list, developer);
        }
    }

    if let Some(decl) = declare {
        let mut table = Table::new();
        table.insert("name", toml_edit::value(developer));
        if let Some(email) = &decl.email {
            table.insert("email", toml_edit::value(email.as_str()));
        }
        if let Some(date) = decl.expires {
            let date = toml_edit::Date {
                year: u16::try_from(chrono::Datelike::year(&date)).unwrap_or_default(),
                month: chrono::Datelike::month(&date) as u8,
                day: chrono::Datelike::day(&date) as u8,
            };
            table.insert(
                "expires",
                toml_edit::value(toml_edit::Datetime {
                    date: Some(date),
                    time: None,
                    offset: None,
                }),
            );
        }
        declare_developer(&mut doc, table)?;
    }
    Ok(doc.to_string())
}

/// Remove `developer` from every client's `developers` in the file. With
/// `keep_user`, its `[[developers]]` entries get `disabled = true`;
/// otherwise they are removed. `None` when the file never mentions it.
pub fn offboard(text: &str, developer: &str, keep_user: bool) -> Result<Option<String>, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.message().to_owned()))?;
    let mut changed = false;

    if let Some(clients) = clients_mut(&mut doc)? {
        for entry in clients.iter_mut() {
            let Some(list) = entry.get_mut("developers").and_then(Item::as_array_mut) else {
                continue;
            };
            loop {
                let found = list.iter().position(|v| member_name(v) == Some(developer));
                let Some(index) = found else { break };
                remove_keeping_layout(list, index);
                changed = true;
            }
        }
    }

    if let Some(item) = doc.get_mut("developers") {
        let decls = item.as_array_of_tables_mut().ok_or(EditError::Shape {
            what: "[[developers]]",
        })?;
        let is_dev = |t: &Table| t.get("name").and_then(Item::as_str) == Some(developer);
        if keep_user {
            for table in decls.iter_mut().filter(|t| is_dev(t)) {
                if table.get("disabled").and_then(Item::as_bool) != Some(true) {
                    table.insert("disabled", toml_edit::value(true));
                    changed = true;
                }
            }
        } else {
            loop {
                let found = decls.iter().position(is_dev);
                let Some(index) = found else { break };
                decls.remove(index);
                changed = true;
            }
            if decls.is_empty() {
                doc.remove("developers");
            }
        }
    }
    Ok(changed.then(|| doc.to_string()))
}

/// True when the file declares `developer` in `[[developers]]`.
pub fn declares(text: &str, developer: &str) -> bool {
    text.parse::<DocumentMut>().is_ok_and(|doc| {
        doc.get("developers")
            .and_then(Item::as_array_of_tables)
            .is_some_and(|d| {
                d.iter()
                    .any(|t| t.get("name").and_then(Item::as_str) == Some(developer))
            })
    })
}

fn clients_mut(doc: &mut DocumentMut) -> Result<Option<&mut ArrayOfTables>, EditError> {
    match doc.get_mut("clients") {
        None => Ok(None),
        Some(item) => item
            .as_array_of_tables_mut()
            .map(Some)
            .ok_or(EditError::Shape {
                what: "[[clients]]",
            }),
    }
}

/// The developer a `developers` entry names: `"bob"` or `{ name = "bob" }`.
fn member_name(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s.value()),
        Value::InlineTable(t) => t.get("name").and_then(Value::as_str),
        _ => None,
    }
}

/// Append to an array, laid out like its last element (same indentation on
/// a multi-line array, one space after the comma on a single-line one).
fn push_like_last(list: &mut Array, name: &str) {
    let decor = list.iter().last().map(|v| v.decor().clone());
    list.push(name);
    if let (Some(mut decor), Some(new)) = (decor, list.iter_mut().last()) {
        // The first element of `["alice"]` has no space before it; the
        // element after a comma wants one.
        if decor.prefix().and_then(|p| p.as_str()) == Some("") {
            decor.set_prefix(" ");
        }
        *new.decor_mut() = decor;
    }
}

/// Remove an element; when it was the first, the new first element takes
/// its leading whitespace, so `["alice", "bob"]` becomes `["bob"]`.
fn remove_keeping_layout(list: &mut Array, index: usize) {
    let removed = list.remove(index);
    if index == 0
        && let Some(first) = list.get_mut(0)
    {
        let prefix = removed.decor().prefix().cloned();
        let decor = first.decor_mut();
        match prefix {
            Some(p) => decor.set_prefix(p),
            None => decor.set_prefix(""),
        }
    }
}

/// Append a `[[developers]]` entry: after the last existing one, or, when
/// the file has none, before the first `[[clients]]` header.
fn declare_developer(doc: &mut DocumentMut, mut table: Table) -> Result<(), EditError> {
    // A blank line before the header, as between the file's other entries,
    // unless the entry will open the file.
    let opens_file = doc.as_table().iter().all(|(key, _)| key == "clients");
    if !opens_file {
        table.decor_mut().set_prefix("\n");
    }
    if let Some(item) = doc.get_mut("developers") {
        // A table without a position is printed right after the table
        // visited before it, which is the last `[[developers]]` entry.
        item.as_array_of_tables_mut()
            .ok_or(EditError::Shape {
                what: "[[developers]]",
            })?
            .push(table);
        return Ok(());
    }
    let first_client = doc
        .get("clients")
        .and_then(Item::as_array_of_tables)
        .and_then(|c| c.iter().next())
        .and_then(Table::position);
    if let Some(at) = first_client {
        // Make room: every table from the first client on moves down one.
        shift_positions(doc.as_table_mut(), at);
        table.set_position(Some(at));
        // Keep a blank line between the new entry and the first client.
        if let Some(first) = doc
            .get_mut("clients")
            .and_then(Item::as_array_of_tables_mut)
            .and_then(|c| c.iter_mut().next())
        {
            let prefix = first
                .decor()
                .prefix()
                .and_then(|p| p.as_str())
                .unwrap_or("")
                .to_owned();
            if !prefix.starts_with('\n') {
                first.decor_mut().set_prefix(format!("\n{prefix}"));
            }
        }
    }
    let mut decls = ArrayOfTables::new();
    decls.push(table);
    doc.insert("developers", Item::ArrayOfTables(decls));
    Ok(())
}

fn shift_positions(table: &mut Table, from: isize) {
    if let Some(p) = table.position()
        && p >= from
    {
        table.set_position(Some(p + 1));
    }
    for (_, item) in table.iter_mut() {
        match item {
            Item::Table(t) => shift_positions(t, from),
            Item::ArrayOfTables(a) => a.iter_mut().for_each(|t| shift_positions(t, from)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# Clients of the agency; reviewed in pull requests.
[settings]
path = "/provision/"

# Alice leads acme.
[[developers]]
name = "alice"
email = "alice@example.com"

[[developers]]
name = "bob"   # joined in March

[[clients]]
name = "acme"
buckets = ["acme-assets"]
access = "read-write"
developers = ["alice", "bob"]   # keep sorted
[clients.cloudfront]
distributions = ["E2QWRUHAPOMQZL"]

[[clients]]
name = "globex"
bucket_prefixes = ["globex-"]
developers = [
    "alice",
    { name = "bob", expires = 2027-01-31 },
]
"#;

    /// Lines of `before` missing from `after`, and lines added.
    fn changed_lines(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
        let diff = similar::TextDiff::from_lines(before, after);
        let mut removed = Vec::new();
        let mut added = Vec::new();
        for change in diff.iter_all_changes() {
            match change.tag() {
                similar::ChangeTag::Delete => removed.push(change.value().to_owned()),
                similar::ChangeTag::Insert => added.push(change.value().to_owned()),
                similar::ChangeTag::Equal => {}
            }
        }
        (removed, added)
    }

    #[test]
    fn onboarding_changes_only_the_membership_line_and_adds_a_declaration() {
        let decl = Declaration {
            email: Some("carol@example.com".into()),
            expires: None,
        };
        let after = onboard(FILE, "carol", "acme", Some(&decl)).unwrap();
        let (removed, mut added) = changed_lines(FILE, &after);
        assert_eq!(
            removed,
            ["developers = [\"alice\", \"bob\"]   # keep sorted\n"]
        );
        added.sort();
        assert_eq!(
            added,
            [
                "\n",
                "[[developers]]\n",
                "developers = [\"alice\", \"bob\", \"carol\"]   # keep sorted\n",
                "email = \"carol@example.com\"\n",
                "name = \"carol\"\n",
            ]
        );
        // The declaration lands after the last one, before the clients.
        let carol = after.find("name = \"carol\"").unwrap();
        assert!(after.find("name = \"bob\"").unwrap() < carol);
        assert!(carol < after.find("[[clients]]").unwrap());
    }

    #[test]
    fn onboarding_after_a_single_member_adds_a_space_after_the_comma() {
        let text = "[[clients]]\nname = \"acme\"\ndevelopers = [\"alice\"]\n";
        let after = onboard(text, "carol", "acme", None).unwrap();
        assert_eq!(
            after,
            "[[clients]]\nname = \"acme\"\ndevelopers = [\"alice\", \"carol\"]\n"
        );
    }

    #[test]
    fn onboarding_into_a_multi_line_list_keeps_its_indentation() {
        let after = onboard(FILE, "carol", "globex", None).unwrap();
        let (removed, added) = changed_lines(FILE, &after);
        assert!(removed.is_empty(), "{removed:?}");
        assert_eq!(added, ["    \"carol\",\n"]);
    }

    #[test]
    fn onboarding_a_file_without_declarations_puts_one_before_the_clients() {
        let text = "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-assets\"]\n";
        let after = onboard(text, "carol", "acme", Some(&Declaration::default())).unwrap();
        assert_eq!(
            after,
            "[[developers]]\nname = \"carol\"\n\n[[clients]]\nname = \"acme\"\nbuckets = [\"acme-assets\"]\ndevelopers = [\"carol\"]\n"
        );
    }

    #[test]
    fn onboarding_refuses_duplicates_and_unknown_clients() {
        assert_eq!(
            onboard(FILE, "bob", "globex", None),
            Err(EditError::AlreadyMember {
                developer: "bob".into(),
                client: "globex".into()
            })
        );
        assert_eq!(
            onboard(FILE, "carol", "initech", None),
            Err(EditError::UnknownClient {
                client: "initech".into()
            })
        );
    }

    #[test]
    fn offboarding_removes_every_mention_and_nothing_else() {
        let after = offboard(FILE, "bob", false).unwrap().unwrap();
        let (removed, added) = changed_lines(FILE, &after);
        assert_eq!(
            removed,
            [
                "[[developers]]\n",
                "name = \"bob\"   # joined in March\n",
                "\n",
                "developers = [\"alice\", \"bob\"]   # keep sorted\n",
                "    { name = \"bob\", expires = 2027-01-31 },\n",
            ]
        );
        assert_eq!(added, ["developers = [\"alice\"]   # keep sorted\n"]);
    }

    #[test]
    fn offboarding_the_first_member_keeps_the_list_tidy() {
        let after = offboard(FILE, "alice", false).unwrap().unwrap();
        assert!(
            after.contains("developers = [\"bob\"]   # keep sorted\n"),
            "{after}"
        );
        assert!(!after.contains("Alice leads acme"), "{after}");
    }

    #[test]
    fn offboarding_with_keep_user_disables_the_declaration() {
        let after = offboard(FILE, "bob", true).unwrap().unwrap();
        let (_, added) = changed_lines(FILE, &after);
        assert!(added.contains(&"disabled = true\n".to_owned()), "{added:?}");
        assert!(declares(&after, "bob"));
        assert_eq!(offboard(&after, "bob", true).unwrap(), None);
    }

    #[test]
    fn offboarding_a_stranger_changes_nothing() {
        assert_eq!(offboard(FILE, "mallory", false).unwrap(), None);
    }
}
