//! Editing clients files for `onboard` and `offboard`: pure functions from
//! text to text on top of `toml_edit`, so comments, key order, blank lines
//! and formatting survive, and every line the edit does not touch stays
//! byte-identical.
//!
//! Comments belong to what they sit next to, and go or stay with it:
//!
//! - In a multi-line list, an entry on its own line owns that line, comment
//!   included (`"bob",  # leaving`); a comment line above it (`# contractors
//!   below`) and the comment on the line before (`"alice",  # team lead`)
//!   are not its own and stay.
//! - A table (`[[developers]]`) owns the comment lines directly above its
//!   header; comments separated from it by a blank line stay, as does the
//!   comment block that opens the file (its header).
//!
//! `clients` and `developers` may be written as tables (`[[clients]]`) or
//! as inline arrays (`clients = [{ name = "acme" }]`), and a client's
//! `developers` as a list or as tables (`[[clients.developers]]`); every
//! form is edited.
//!
//! `toml_edit` ends every line it prints with `\n` and does not keep a
//! byte-order mark, so the edit runs on the text without them and
//! [`Form::restore`] puts them back: every line the edit did not touch keeps
//! its own line ending, and new lines get the file's.

use chrono::NaiveDate;
use thiserror::Error;
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike, Value};

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

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.strip_prefix(BOM)
        .unwrap_or(text)
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.message().to_owned()))
}

/// The UTF-8 byte-order mark some Windows editors put first.
const BOM: char = '\u{FEFF}';

/// How a file writes what `toml_edit` does not keep: a byte-order mark,
/// and its line endings.
struct Form {
    bom: bool,
    /// The line ending of new lines: `\r\n` when most lines end so.
    newline: &'static str,
}

impl Form {
    /// The form of `text`, and the text `toml_edit` should edit: without
    /// the mark, every line ending `\n`.
    fn of(text: &str) -> (Form, String) {
        let bom = text.starts_with(BOM);
        let body = text.strip_prefix(BOM).unwrap_or(text);
        let crlf = body.matches("\r\n").count();
        let newline = if crlf * 2 > body.matches('\n').count() {
            "\r\n"
        } else {
            "\n"
        };
        (Form { bom, newline }, body.replace("\r\n", "\n"))
    }

    /// `edited` (the edit of `normal`, the text [`Form::of`] gave for
    /// `original`) written in the form of `original`: a line the edit left
    /// alone is the original line, byte for byte; a new or changed line
    /// ends like most of the file's lines.
    fn restore(&self, original: &str, normal: &str, edited: &str) -> String {
        let body = original.strip_prefix(BOM).unwrap_or(original);
        let lines: Vec<&str> = body.split_inclusive('\n').collect();
        let mut out = String::with_capacity(edited.len() + lines.len());
        if self.bom {
            out.push(BOM);
        }
        let diff = similar::TextDiff::from_lines(normal, edited);
        for change in diff.iter_all_changes() {
            match change.tag() {
                similar::ChangeTag::Delete => {}
                similar::ChangeTag::Equal => match change.old_index().and_then(|i| lines.get(i)) {
                    Some(line) => out.push_str(line),
                    None => out.push_str(change.value()),
                },
                similar::ChangeTag::Insert => {
                    let value = change.value();
                    match value.strip_suffix('\n') {
                        Some(line) => {
                            out.push_str(line);
                            out.push_str(self.newline);
                        }
                        None => out.push_str(value),
                    }
                }
            }
        }
        out
    }
}

/// Runs `edit` on `text` without its byte-order mark and with `\n` line
/// endings, and gives the result back in the file's form (see [`Form`]).
fn in_form<T>(
    text: &str,
    edit: impl FnOnce(&str) -> Result<Option<String>, T>,
) -> Result<Option<String>, T> {
    let (form, normal) = Form::of(text);
    Ok(edit(&normal)?.map(|edited| form.restore(text, &normal, &edited)))
}

/// Add `developer` to the `developers` of client `client`, and when
/// `declare` is given, a `[[developers]]` entry after the last one.
pub fn onboard(
    text: &str,
    developer: &str,
    client: &str,
    declare: Option<&Declaration>,
) -> Result<String, EditError> {
    in_form(text, |text| {
        onboard_normal(text, developer, client, declare).map(Some)
    })
    .map(Option::unwrap_or_default)
}

/// [`onboard`] on a text in `toml_edit`'s form (see [`Form`]).
fn onboard_normal(
    text: &str,
    developer: &str,
    client: &str,
    declare: Option<&Declaration>,
) -> Result<String, EditError> {
    let mut doc = parse(text)?;

    let mut clients = entries_mut(&mut doc, "clients")?;
    let entry = clients
        .iter_mut()
        .find(|t| t.get("name").and_then(Item::as_str) == Some(client))
        .ok_or_else(|| EditError::UnknownClient {
            client: client.to_owned(),
        })?;
    let already = || EditError::AlreadyMember {
        developer: developer.to_owned(),
        client: client.to_owned(),
    };
    match entry.get_mut("developers") {
        None => {
            let mut list = Array::new();
            list.push(developer);
            entry.insert("developers", Value::Array(list));
        }
        // `[[clients.developers]]`: one more table after the last one. A
        // table without a position is printed right after the table
        // visited before it, the last member.
        Some(Item::ArrayOfTables(tables)) => {
            if tables.iter().any(|t| table_name(t) == Some(developer)) {
                return Err(already());
            }
            let mut table = Table::new();
            table.insert("name", toml_edit::value(developer));
            table.decor_mut().set_prefix("\n");
            tables.push(table);
        }
        Some(item) => {
            let list = item
                .as_array_mut()
                .ok_or(EditError::Shape { what: "developers" })?;
            if list.iter().any(|v| member_name(v) == Some(developer)) {
                return Err(already());
            }
            push_element(list, developer.into());
        }
    }

    if let Some(decl) = declare {
        declare_developer(&mut doc, declaration_table(developer, decl))?;
    }
    Ok(doc.to_string())
}

/// Add a `[[developers]]` entry for `developer` after the last one, and
/// change nothing else: for a file that holds the developers of a
/// configuration whose clients live in other files.
pub fn declare(text: &str, developer: &str, decl: &Declaration) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    declare_developer(&mut doc, declaration_table(developer, decl))?;
    Ok(doc.to_string())
}

fn declaration_table(developer: &str, decl: &Declaration) -> Table {
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
    table
}

/// Remove `developer` from every client's `developers` in the file. With
/// `keep_user`, its `[[developers]]` entries get `disabled = true`;
/// otherwise they are removed. `None` when the file never mentions it.
///
/// The result may declare nothing (a file that only declared the
/// developer); see [`declares_nothing`].
pub fn offboard(text: &str, developer: &str, keep_user: bool) -> Result<Option<String>, EditError> {
    in_form(text, |text| offboard_normal(text, developer, keep_user))
}

/// [`offboard`] on a text in `toml_edit`'s form (see [`Form`]).
fn offboard_normal(
    text: &str,
    developer: &str,
    keep_user: bool,
) -> Result<Option<String>, EditError> {
    let mut doc = parse(text)?;
    let mut changed = false;

    for mut entry in entries_mut(&mut doc, "clients")? {
        let Some(list) = entry.get_mut("developers").and_then(Item::as_array_mut) else {
            continue;
        };
        loop {
            let found = list.iter().position(|v| member_name(v) == Some(developer));
            let Some(index) = found else { break };
            remove_element(list, index);
            changed = true;
        }
    }
    // Members written as `[[clients.developers]]` tables.
    let clients = doc
        .get("clients")
        .and_then(Item::as_array_of_tables)
        .map_or(0, ArrayOfTables::len);
    for index in 0..clients {
        changed |= remove_tables(&mut doc, Tables::Members(index), developer)?;
    }

    if keep_user {
        for mut table in entries_mut(&mut doc, "developers")? {
            let is_dev = table.get("name").and_then(Item::as_str) == Some(developer);
            if is_dev && table.get("disabled").and_then(Item::as_bool) != Some(true) {
                table.insert("disabled", Value::from(true));
                changed = true;
            }
        }
    } else {
        changed |= remove_declarations(&mut doc, developer)?;
    }
    Ok(changed.then(|| doc.to_string()))
}

/// True when the file declares `developer` in `[[developers]]`.
pub fn declares(text: &str, developer: &str) -> bool {
    parse(text).is_ok_and(|mut doc| {
        entries_mut(&mut doc, "developers").is_ok_and(|decls| {
            decls
                .iter()
                .any(|t| t.get("name").and_then(Item::as_str) == Some(developer))
        })
    })
}

/// True when the text declares nothing: no `[settings]`, no developer and
/// no client. The configuration refuses such a file (it could be taken for
/// "no clients at all"), so an edit that leaves one removes the file.
pub fn declares_nothing(text: &str) -> bool {
    parse(text).is_ok_and(|mut doc| {
        !doc.contains_key("settings")
            && ["developers", "clients"]
                .iter()
                .all(|key| entries_mut(&mut doc, key).is_ok_and(|e| e.is_empty()))
    })
}

/// One entry of a top-level list: a table (`[[clients]]`) or an inline
/// table (`clients = [{ ... }]`).
struct Entry<'a> {
    table: &'a mut dyn TableLike,
    inline: bool,
}

impl Entry<'_> {
    fn get(&self, key: &str) -> Option<&Item> {
        self.table.get(key)
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Item> {
        self.table.get_mut(key)
    }

    /// Sets `key`. In an inline table, the space before the closing brace
    /// moves after the new entry, so that `{ name = "a" }` becomes
    /// `{ name = "a", key = value }`.
    fn insert(&mut self, key: &str, value: Value) {
        let before_brace = if self.inline {
            self.table.iter_mut().last().and_then(|(_, item)| {
                let last = item.as_value_mut()?;
                let suffix = raw(last.decor().suffix()).to_owned();
                last.decor_mut().set_suffix("");
                Some(suffix)
            })
        } else {
            None
        };
        self.table.insert(key, Item::Value(value));
        if let (Some(suffix), Some((_, Item::Value(new)))) =
            (before_brace, self.table.iter_mut().last())
        {
            new.decor_mut().set_suffix(suffix);
        }
    }
}

/// The entries of the top-level list `key`, written as tables
/// (`[[clients]]`) or as an inline array of inline tables
/// (`clients = [{ ... }]`); none when the key is absent.
fn entries_mut<'a>(
    doc: &'a mut DocumentMut,
    key: &'static str,
) -> Result<Vec<Entry<'a>>, EditError> {
    let shape = EditError::Shape { what: key };
    match doc.get_mut(key) {
        None => Ok(Vec::new()),
        Some(Item::ArrayOfTables(tables)) => Ok(tables
            .iter_mut()
            .map(|t| Entry {
                table: t as &mut dyn TableLike,
                inline: false,
            })
            .collect()),
        Some(Item::Value(Value::Array(array))) => array
            .iter_mut()
            .map(|v| {
                v.as_inline_table_mut()
                    .map(|t| Entry {
                        table: t as &mut dyn TableLike,
                        inline: true,
                    })
                    .ok_or(shape.clone())
            })
            .collect(),
        Some(_) => Err(shape),
    }
}

/// The developer a `[[developers]]` or `[[clients.developers]]` table
/// names.
fn table_name(table: &Table) -> Option<&str> {
    table.get("name").and_then(Item::as_str)
}

/// The developer a `developers` entry names: `"bob"` or `{ name = "bob" }`.
fn member_name(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s.value()),
        Value::InlineTable(t) => t.get("name").and_then(Value::as_str),
        _ => None,
    }
}

/// The text of a decor part, empty when unset.
fn raw(part: Option<&toml_edit::RawString>) -> &str {
    part.and_then(toml_edit::RawString::as_str).unwrap_or("")
}

// Arrays as text: an array of n elements is n + 1 gaps, the text before
// the first element, between each two (holding the comma) and after the
// last (holding any trailing comma). Edits are decided on the gaps, by
// lines, and then written back into `toml_edit`'s decor.

/// The gaps of `array` (see above), as `toml_edit` would print them.
fn gaps(array: &Array) -> Vec<String> {
    let n = array.len();
    let mut out = Vec::with_capacity(n + 1);
    let mut pending = String::new();
    for (i, value) in array.iter().enumerate() {
        let decor = value.decor();
        // What `toml_edit` prints for a value without decor.
        let prefix = match decor.prefix() {
            Some(p) => p.as_str().unwrap_or("").to_owned(),
            None if i == 0 => String::new(),
            None => " ".to_owned(),
        };
        if i == 0 {
            out.push(prefix);
        } else {
            out.push(format!("{pending},{prefix}"));
        }
        pending = raw(decor.suffix()).to_owned();
    }
    let comma = if array.trailing_comma() && n > 0 {
        ","
    } else {
        ""
    };
    out.push(format!(
        "{pending}{comma}{}",
        array.trailing().as_str().unwrap_or("")
    ));
    out
}

/// Writes `gaps` (one more than the elements) back into `array`'s decor.
fn set_gaps(array: &mut Array, gaps: &[String]) {
    let n = array.len();
    debug_assert_eq!(gaps.len(), n + 1);
    // The text of a gap before and after its comma (all of it after, when
    // it has none: the comma between two elements is always printed).
    let split = |gap: &str| match comma_at(gap) {
        Some(at) => (gap[..at].to_owned(), gap[at + 1..].to_owned(), true),
        None => (String::new(), gap.to_owned(), false),
    };
    for i in 0..n {
        let prefix = if i == 0 {
            gaps[0].clone()
        } else {
            split(&gaps[i]).1
        };
        let (suffix, trailing, comma) = if i + 1 < n {
            (split(&gaps[i + 1]).0, None, None)
        } else {
            let (before, after, comma) = split(&gaps[n]);
            (before, Some(after), Some(comma))
        };
        if let Some(value) = array.get_mut(i) {
            value.decor_mut().set_prefix(prefix);
            value.decor_mut().set_suffix(suffix);
        }
        if let (Some(trailing), Some(comma)) = (trailing, comma) {
            array.set_trailing(trailing);
            array.set_trailing_comma(comma);
        }
    }
    if n == 0 {
        array.set_trailing(split(&gaps[0]).1);
        array.set_trailing_comma(false);
    }
}

/// Where the comma of a gap is, skipping commas inside comments.
fn comma_at(gap: &str) -> Option<usize> {
    let mut in_comment = false;
    for (at, c) in gap.char_indices() {
        match c {
            '#' => in_comment = true,
            '\n' => in_comment = false,
            ',' if !in_comment => return Some(at),
            _ => {}
        }
    }
    None
}

/// The gap left when the element between `before` and `after` goes.
fn merge_around_removed(before: &str, after: &str) -> String {
    let spaces = |s: &str| s.trim_start_matches([' ', '\t']).to_owned();
    match (before.rfind('\n'), after.find('\n'), comma_at(after)) {
        // On a line of its own: that whole line goes, with the comma and
        // comment after the element; the lines before and after stay.
        (Some(last_before), Some(first_after), _) => {
            format!("{}{}", &before[..=last_before], &after[first_after + 1..])
        }
        // Sharing a line, followed by a comma: the element and that comma go.
        (_, _, Some(comma)) => format!("{before}{}", spaces(&after[comma + 1..])),
        // Sharing a line, last without a trailing comma: the element and
        // the comma before it go.
        _ => match comma_at(before) {
            Some(comma) => format!(
                "{}{}{after}",
                &before[..comma],
                spaces(&before[comma + 1..])
            ),
            None => format!("{before}{after}"),
        },
    }
}

/// Removes element `index`, keeping every comment that is not its own and
/// the layout of the rest (see the module documentation).
fn remove_element(array: &mut Array, index: usize) {
    let mut gaps = gaps(array);
    let merged = merge_around_removed(&gaps[index], &gaps[index + 1]);
    array.remove(index);
    gaps[index] = merged;
    gaps.remove(index + 1);
    set_gaps(array, &gaps);
}

/// Appends `value`, laid out like the elements before it: on a line of its
/// own, indented the same, in a list with one element per line (the last
/// element keeps its comment); after a comma and a space on one line.
fn push_element(array: &mut Array, value: Value) {
    let n = array.len();
    let mut gaps = gaps(array);
    array.push_formatted(value);
    if n == 0 {
        set_gaps(array, &[String::new(), String::new()]);
        return;
    }
    let last = gaps[n - 1].clone();
    let end = gaps[n].clone();
    match (last.rfind('\n'), end.find('\n')) {
        (Some(last_line), Some(end_line)) => {
            let indent = &last[last_line + 1..];
            let (line, rest) = end.split_at(end_line + 1);
            // The last element's line (its comma and comment) stays whole.
            let between = if comma_at(line).is_some() {
                format!("{line}{indent}")
            } else {
                format!(",{line}{indent}")
            };
            let comma = if comma_at(line).is_some() { "," } else { "" };
            gaps[n] = between;
            gaps.push(format!("{comma}\n{rest}"));
        }
        _ => {
            let between = match gaps.get(n - 1) {
                Some(gap) if n >= 2 && !gap.contains('\n') => gap.clone(),
                _ => ", ".to_owned(),
            };
            gaps[n] = between;
            gaps.push(end);
        }
    }
    set_gaps(array, &gaps);
}

// Tables as text: a table's decor prefix is everything between the end of
// what precedes it and its header: blank lines and comment lines.

/// Splits a table's prefix into the part that stays when the table goes
/// (up to the last blank line) and its own comment lines (directly above
/// the header). At the top of the file, a comment block with no blank line
/// after it is the file's header, so all of it stays.
fn split_prefix(prefix: &str, at_file_top: bool) -> (String, String) {
    let mut own_from = prefix.len();
    // Lines from the end, each with its newline; the part after the last
    // newline is the header's indentation.
    let body_end = prefix.rfind('\n').map_or(0, |at| at + 1);
    let mut at = body_end;
    for line in prefix[..body_end].split_inclusive('\n').rev() {
        if line.trim().starts_with('#') {
            at -= line.len();
            own_from = at;
        } else {
            break;
        }
    }
    if own_from == prefix.len() {
        own_from = body_end;
    }
    if at_file_top && own_from == 0 {
        return (prefix[..body_end].to_owned(), prefix[body_end..].to_owned());
    }
    (prefix[..own_from].to_owned(), prefix[own_from..].to_owned())
}

/// `first` then `second`, without two blank lines where they meet.
fn join_lines(first: &str, second: &str) -> String {
    // Where the last line of `first` starts, when that line is blank.
    let blank_last_line = first.strip_suffix('\n').and_then(|body| {
        let start = body.rfind('\n').map_or(0, |at| at + 1);
        body[start..].trim().is_empty().then_some(start)
    });
    let blank_first_line = second
        .split_inclusive('\n')
        .next()
        .is_some_and(|line| line.ends_with('\n') && line.trim().is_empty());
    match blank_last_line {
        Some(cut) if blank_first_line => format!("{}{second}", &first[..cut]),
        _ => format!("{first}{second}"),
    }
}

/// Every table of the document with a position, depth first.
fn positions(table: &Table, out: &mut Vec<isize>) {
    for (_, item) in table.iter() {
        match item {
            Item::Table(t) => {
                out.extend(t.position());
                positions(t, out);
            }
            Item::ArrayOfTables(a) => {
                for t in a.iter() {
                    out.extend(t.position());
                    positions(t, out);
                }
            }
            _ => {}
        }
    }
}

/// Runs `edit` on the table at `position`, at any depth; false when there
/// is none.
fn edit_table_at(table: &mut Table, position: isize, edit: &mut dyn FnMut(&mut Table)) -> bool {
    let mut visit = |t: &mut Table| {
        if t.position() == Some(position) {
            edit(t);
            true
        } else {
            edit_table_at(t, position, edit)
        }
    };
    for (_, item) in table.iter_mut() {
        let found = match item {
            Item::Table(t) => visit(t),
            Item::ArrayOfTables(a) => a.iter_mut().any(&mut visit),
            _ => false,
        };
        if found {
            return true;
        }
    }
    false
}

/// True when nothing is printed before the table at `position`: no
/// top-level key and no table before it.
fn opens_file(doc: &DocumentMut, position: Option<isize>) -> bool {
    let mut all = Vec::new();
    positions(doc.as_table(), &mut all);
    let no_keys = doc.as_table().iter().all(|(_, item)| !item.is_value());
    no_keys && position.is_none_or(|p| all.iter().all(|other| *other >= p))
}

/// Removes every declaration of `developer`, with its own comments; the
/// comments before it that are not its own move to what follows it.
fn remove_declarations(doc: &mut DocumentMut, developer: &str) -> Result<bool, EditError> {
    let mut changed = false;
    if let Some(Item::Value(Value::Array(array))) = doc.get_mut("developers") {
        loop {
            let found = array.iter().position(|v| member_name(v) == Some(developer));
            let Some(index) = found else { break };
            remove_element(array, index);
            changed = true;
        }
        return Ok(changed);
    }
    remove_tables(doc, Tables::Declarations, developer)
}

/// An array of tables whose entries name developers.
#[derive(Clone, Copy)]
enum Tables {
    /// `[[developers]]`.
    Declarations,
    /// `[[clients.developers]]` of the client table at this index of
    /// `[[clients]]`.
    Members(usize),
}

impl Tables {
    /// The array in `doc`; `None` when absent. Any other shape is an error.
    fn get_mut(self, doc: &mut DocumentMut) -> Result<Option<&mut ArrayOfTables>, EditError> {
        let (item, what) = match self {
            Tables::Declarations => (doc.get_mut("developers"), "[[developers]]"),
            Tables::Members(index) => (
                doc.get_mut("clients")
                    .and_then(Item::as_array_of_tables_mut)
                    .and_then(|clients| clients.get_mut(index))
                    .and_then(|client| client.get_mut("developers")),
                "[[clients.developers]]",
            ),
        };
        match item {
            None => Ok(None),
            Some(Item::ArrayOfTables(tables)) => Ok(Some(tables)),
            // A client's `developers = [...]` is edited as a list.
            Some(_) if matches!(self, Tables::Members(_)) => Ok(None),
            Some(_) => Err(EditError::Shape { what }),
        }
    }

    /// Removes the now empty array's key.
    fn remove_key(self, doc: &mut DocumentMut) {
        match self {
            Tables::Declarations => {
                doc.remove("developers");
            }
            Tables::Members(index) => {
                if let Some(client) = doc
                    .get_mut("clients")
                    .and_then(Item::as_array_of_tables_mut)
                    .and_then(|clients| clients.get_mut(index))
                {
                    client.remove("developers");
                }
            }
        }
    }
}

/// Removes every table of `which` that names `developer`, with its own
/// comments; the comments before it that are not its own move to what is
/// printed next.
fn remove_tables(doc: &mut DocumentMut, which: Tables, developer: &str) -> Result<bool, EditError> {
    let mut changed = false;
    while let Some(tables) = which.get_mut(doc)? {
        let Some(index) = tables.iter().position(|t| table_name(t) == Some(developer)) else {
            break;
        };
        let Some(table) = tables.get(index) else {
            break;
        };
        let position = table.position();
        let prefix = raw(table.decor().prefix()).to_owned();
        let (stays, _own) = split_prefix(&prefix, opens_file(doc, position));
        // What is printed next: the first table after this one, or the end
        // of the file.
        let mut all = Vec::new();
        positions(doc.as_table(), &mut all);
        let next = position.and_then(|p| all.into_iter().filter(|other| *other > p).min());
        if let Some(tables) = which.get_mut(doc)? {
            tables.remove(index);
            if tables.is_empty() {
                which.remove_key(doc);
            }
        }
        let mut move_before = |next: &mut Table| {
            let joined = join_lines(&stays, raw(next.decor().prefix()));
            next.decor_mut().set_prefix(joined);
        };
        let moved = next.is_some_and(|p| edit_table_at(doc.as_table_mut(), p, &mut move_before));
        // Blank lines that separated the table from what came before
        // would end the file with a blank line: only comments move there.
        if !moved && !stays.trim().is_empty() {
            let joined = join_lines(&stays, doc.trailing().as_str().unwrap_or(""));
            doc.set_trailing(joined);
        }
        changed = true;
    }
    Ok(changed)
}

/// Declares a developer: after the last declaration; or, when the file
/// has none, before the first `[[clients]]` table (the file's header
/// comment staying on top), or after the top-level keys.
fn declare_developer(doc: &mut DocumentMut, mut table: Table) -> Result<(), EditError> {
    match doc.get_mut("developers") {
        Some(Item::ArrayOfTables(tables)) => {
            // A table without a position is printed right after the table
            // visited before it, which is the last `[[developers]]` entry.
            table.decor_mut().set_prefix("\n");
            tables.push(table);
            return Ok(());
        }
        Some(Item::Value(Value::Array(array))) => {
            let mut inline = InlineTable::new();
            for (key, item) in table.iter() {
                if let Some(value) = item.as_value() {
                    inline.insert(key, value.clone());
                }
            }
            push_element(array, Value::InlineTable(inline));
            return Ok(());
        }
        Some(_) => {
            return Err(EditError::Shape {
                what: "[[developers]]",
            });
        }
        None => {}
    }
    let first_client = doc
        .get("clients")
        .and_then(Item::as_array_of_tables)
        .and_then(|c| c.iter().next())
        .and_then(Table::position);
    match first_client {
        Some(at) => {
            let top = opens_file(doc, Some(at));
            // Make room: every table from the first client on moves down one.
            shift_positions(doc.as_table_mut(), at);
            table.set_position(Some(at));
            if let Some(first) = doc
                .get_mut("clients")
                .and_then(Item::as_array_of_tables_mut)
                .and_then(|c| c.iter_mut().next())
            {
                // The comments above the first client that are not its own
                // (the file's header) now open the new declaration; the
                // client keeps its own, after a blank line.
                let (stays, own) = split_prefix(raw(first.decor().prefix()), top);
                let lead = if stays.is_empty() && !top {
                    "\n".to_owned()
                } else {
                    stays
                };
                table.decor_mut().set_prefix(lead);
                first.decor_mut().set_prefix(join_lines("\n", &own));
            }
        }
        None => {
            if !doc.as_table().is_empty() {
                table.decor_mut().set_prefix("\n");
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

    /// A file with comments everywhere a person puts them.
    const COMMENTED: &str = r#"# Acme's file: reviewed by the platform team.
# Keep developers sorted.

[settings]
path = "/provision/"

# Leads first.
[[developers]]
name = "alice"   # team lead
email = "alice@example.com"

# Bob is a contractor.
[[developers]]
name = "bob"
# until the end of the engagement
expires = 2027-03-31

# Contractors below.

[[developers]]
name = "carol"

[[clients]]
name = "acme"
buckets = ["acme-assets"]
developers = [
    "alice",  # team lead
    # contractors below
    "bob",  # leaving in March
    "carol",
]
# globex shares alice

[[clients]]
name = "globex"
developers = ["alice", "bob"]  # one line
"#;

    #[test]
    fn offboarding_keeps_every_comment_that_is_not_the_developers_own() {
        let after = offboard(COMMENTED, "bob", false).unwrap().unwrap();
        let expected = COMMENTED
            .replace(
                "\n# Bob is a contractor.\n[[developers]]\nname = \"bob\"\n# until the end of the engagement\nexpires = 2027-03-31\n",
                "",
            )
            .replace("    \"bob\",  # leaving in March\n", "")
            .replace(
                "developers = [\"alice\", \"bob\"]  # one line",
                "developers = [\"alice\"]  # one line",
            );
        assert_eq!(after, expected);
    }

    #[test]
    fn offboarding_the_last_of_a_multi_line_list_keeps_the_line_before_whole() {
        let text = "[[clients]]\nname = \"acme\"\ndevelopers = [\n    \"alice\",  # team lead, keep\n    \"bob\"  # leaving\n]\n";
        let after = offboard(text, "bob", false).unwrap().unwrap();
        assert_eq!(
            after,
            "[[clients]]\nname = \"acme\"\ndevelopers = [\n    \"alice\",  # team lead, keep\n]\n"
        );
        let after = offboard(text, "alice", false).unwrap().unwrap();
        assert_eq!(
            after,
            "[[clients]]\nname = \"acme\"\ndevelopers = [\n    \"bob\"  # leaving\n]\n"
        );
    }

    #[test]
    fn offboarding_keeps_the_file_header_above_the_first_declaration() {
        let text = "# Globex: exports only.\n[[developers]]\nname = \"bob\"\n\n[[clients]]\nname = \"globex\"\nbucket_prefixes = [\"globex-\"]\ndevelopers = [\"bob\"]\n";
        let after = offboard(text, "bob", false).unwrap().unwrap();
        assert_eq!(
            after,
            "# Globex: exports only.\n\n[[clients]]\nname = \"globex\"\nbucket_prefixes = [\"globex-\"]\ndevelopers = []\n"
        );
    }

    #[test]
    fn offboarding_the_last_declaration_keeps_the_comments_that_end_the_file() {
        let text = "[[clients]]\nname = \"acme\"\ndevelopers = [\"bob\"]\n\n# The team.\n\n# Bob.\n[[developers]]\nname = \"bob\"\n\n# end of file\n";
        let after = offboard(text, "bob", false).unwrap().unwrap();
        assert_eq!(
            after,
            "[[clients]]\nname = \"acme\"\ndevelopers = []\n\n# The team.\n\n# end of file\n"
        );
    }

    #[test]
    fn a_file_left_without_declarations_declares_nothing() {
        let text = "# The team: developers every client file refers to.\n\n[[developers]]\nname = \"bob\"\n";
        let after = offboard(text, "bob", false).unwrap().unwrap();
        assert!(declares_nothing(&after), "{after:?}");
        assert!(!declares_nothing(text));
        assert!(!declares_nothing("[settings]\n"));
        assert!(declares_nothing("developers = []\nclients = []\n"));
    }

    #[test]
    fn onboarding_keeps_the_last_members_comment_on_its_line() {
        let text = "[[clients]]\nname = \"acme\"\ndevelopers = [\n    \"alice\",  # team lead\n]\n";
        let after = onboard(text, "carol", "acme", None).unwrap();
        assert_eq!(
            after,
            "[[clients]]\nname = \"acme\"\ndevelopers = [\n    \"alice\",  # team lead\n    \"carol\",\n]\n"
        );
        // Without a trailing comma, and with the bracket indented.
        let text =
            "[[clients]]\nname = \"acme\"\ndevelopers = [\n    \"alice\"  # team lead\n  ]\n";
        let after = onboard(text, "carol", "acme", None).unwrap();
        assert_eq!(
            after,
            "[[clients]]\nname = \"acme\"\ndevelopers = [\n    \"alice\",  # team lead\n    \"carol\"\n  ]\n"
        );
        let after = onboard(COMMENTED, "dave", "acme", None).unwrap();
        assert_eq!(
            after,
            COMMENTED.replace("    \"carol\",\n", "    \"carol\",\n    \"dave\",\n")
        );
    }

    #[test]
    fn onboarding_into_a_file_without_declarations_keeps_its_header_on_top() {
        let text = "# Globex file header.\n[[clients]]\nname = \"globex\"\n";
        let after = onboard(text, "alice", "globex", Some(&Declaration::default())).unwrap();
        assert_eq!(
            after,
            "# Globex file header.\n[[developers]]\nname = \"alice\"\n\n[[clients]]\nname = \"globex\"\ndevelopers = [\"alice\"]\n"
        );
        // A comment of the client's own stays on it.
        let text = "# Globex file header.\n\n# Globex exports.\n[[clients]]\nname = \"globex\"\n";
        let after = onboard(text, "alice", "globex", Some(&Declaration::default())).unwrap();
        assert_eq!(
            after,
            "# Globex file header.\n\n[[developers]]\nname = \"alice\"\n\n# Globex exports.\n[[clients]]\nname = \"globex\"\ndevelopers = [\"alice\"]\n"
        );
    }

    const INLINE: &str = r#"# Everything inline.
clients = [
    { name = "acme", buckets = ["acme-assets"], developers = ["alice", "bob"] },  # main
    { name = "globex", bucket_prefixes = ["globex-"] },
]
developers = [{ name = "alice" }, { name = "bob", email = "bob@example.com" }]
"#;

    #[test]
    fn top_level_inline_arrays_are_edited_like_tables() {
        let after = offboard(INLINE, "bob", false).unwrap().unwrap();
        assert_eq!(
            after,
            INLINE
                .replace(
                    r#"developers = ["alice", "bob"]"#,
                    r#"developers = ["alice"]"#
                )
                .replace(
                    r#"[{ name = "alice" }, { name = "bob", email = "bob@example.com" }]"#,
                    r#"[{ name = "alice" }]"#
                )
        );
        let decl = Declaration {
            email: Some("carol@example.com".into()),
            expires: None,
        };
        let after = onboard(INLINE, "carol", "globex", Some(&decl)).unwrap();
        assert_eq!(
            after,
            INLINE
                .replace(
                    r#"bucket_prefixes = ["globex-"] }"#,
                    r#"bucket_prefixes = ["globex-"], developers = ["carol"] }"#
                )
                .replace(
                    r#"email = "bob@example.com" }]"#,
                    r#"email = "bob@example.com" }, { name = "carol", email = "carol@example.com" }]"#
                )
        );
        assert!(declares(&after, "carol"));
        let after = offboard(INLINE, "bob", true).unwrap().unwrap();
        assert!(
            after.contains(r#"{ name = "bob", email = "bob@example.com", disabled = true }"#),
            "{after}"
        );
    }

    #[test]
    fn a_declaration_next_to_inline_clients_follows_them() {
        let text = "clients = [{ name = \"acme\", buckets = [\"acme-assets\"] }]\n";
        let after = onboard(text, "carol", "acme", Some(&Declaration::default())).unwrap();
        assert_eq!(
            after,
            "clients = [{ name = \"acme\", buckets = [\"acme-assets\"], developers = [\"carol\"] }]\n\n[[developers]]\nname = \"carol\"\n"
        );
    }

    const TABLES: &str = r#"[[developers]]
name = "alice"

[[developers]]
name = "bob"

[[clients]]
name = "acme"
buckets = ["acme-assets"]

# The lead.
[[clients.developers]]
name = "alice"

# Leaving in June.
[[clients.developers]]
name = "bob"
expires = 2027-06-30

[[clients]]
name = "globex"
buckets = ["globex-assets"]

[[clients.developers]]
name = "bob"
"#;

    #[test]
    fn offboarding_removes_members_written_as_tables() {
        let after = offboard(TABLES, "bob", false).unwrap().unwrap();
        let (removed, added) = changed_lines(TABLES, &after);
        assert!(added.is_empty(), "{added:?}");
        assert!(!after.contains("bob"), "{after}");
        // Alice's membership, with its comment, stays; globex is left
        // without members.
        assert!(after.contains("# The lead.\n[[clients.developers]]\nname = \"alice\"\n"));
        assert!(
            removed.contains(&"# Leaving in June.\n".to_owned()),
            "{removed:?}"
        );
        assert!(after.ends_with("[[clients]]\nname = \"globex\"\nbuckets = [\"globex-assets\"]\n"));
        let kept = offboard(TABLES, "bob", true).unwrap().unwrap();
        assert_eq!(kept.matches("name = \"bob\"").count(), 1, "{kept}");
        assert!(kept.contains("name = \"bob\"\ndisabled = true\n"), "{kept}");
    }

    #[test]
    fn onboarding_adds_a_member_table_after_the_last_one() {
        let after = onboard(TABLES, "carol", "acme", None).unwrap();
        let (removed, mut added) = changed_lines(TABLES, &after);
        assert!(removed.is_empty(), "{removed:?}");
        added.sort();
        assert_eq!(
            added,
            ["\n", "[[clients.developers]]\n", "name = \"carol\"\n"]
        );
        let carol = after.find("name = \"carol\"").unwrap();
        assert!(after.find("expires = 2027-06-30").unwrap() < carol);
        assert!(carol < after.find("name = \"globex\"").unwrap());
        assert_eq!(
            onboard(TABLES, "bob", "globex", None),
            Err(EditError::AlreadyMember {
                developer: "bob".into(),
                client: "globex".into()
            })
        );
    }

    #[test]
    fn edits_keep_the_files_line_endings_and_byte_order_mark() {
        let crlf = FILE.replace('\n', "\r\n");
        let decl = Declaration {
            email: Some("carol@example.com".into()),
            expires: None,
        };
        let after = onboard(&crlf, "carol", "globex", Some(&decl)).unwrap();
        assert_eq!(after.matches('\n').count(), after.matches("\r\n").count());
        assert_eq!(
            after.replace("\r\n", "\n"),
            onboard(FILE, "carol", "globex", Some(&decl)).unwrap()
        );
        let after = offboard(&crlf, "bob", false).unwrap().unwrap();
        assert_eq!(
            after,
            offboard(FILE, "bob", false)
                .unwrap()
                .unwrap()
                .replace('\n', "\r\n")
        );
        // A byte-order mark stays first.
        let bom = format!("\u{FEFF}{crlf}");
        let after = onboard(&bom, "carol", "acme", None).unwrap();
        assert!(
            after.starts_with("\u{FEFF}# Clients of the agency"),
            "{after:?}"
        );
        assert!(declares(&bom, "alice"));
        // A file that mixes endings keeps each untouched line's own.
        let mixed = "[[clients]]\r\nname = \"acme\"\nbuckets = [\"acme-assets\"]\r\ndevelopers = [\"alice\"]\r\n";
        let after = onboard(mixed, "carol", "acme", None).unwrap();
        assert_eq!(
            after,
            "[[clients]]\r\nname = \"acme\"\nbuckets = [\"acme-assets\"]\r\ndevelopers = [\"alice\", \"carol\"]\r\n"
        );
    }
}
