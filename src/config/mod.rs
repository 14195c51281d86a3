//! Loading and validating clients files (SPEC "File format (version 1)").
//!
//! The flow is the one cargo-deny uses: bytes -> [`raw`] serde structs that
//! keep spans -> [`validate`], which checks everything, collects every
//! problem as a [`Diagnostic`] pointing at the text, and produces the
//! span-free [`Desired`]. Only [`source`] does IO; [`load_sources`] takes
//! bytes, so tests need no files.
//!
//! A TOML syntax error stops that one file (the parser cannot go past it);
//! a value of the wrong type or an unknown key is one error in a file that
//! is otherwise checked ([`raw::parse`]); every problem, in every file, is
//! reported together. A developer listed by a client but declared nowhere
//! that could be read is a warning, not an error, when a file or entry
//! that could not be read names it: it may be declared there.
//!
//! A configuration is a directory of `*.toml` files. A file given alone
//! still belongs to the configuration of its directory: the other `*.toml`
//! files there are read as context, so their `[settings]` apply (SPEC,
//! Guarantee 9: a command never runs on an account or path the
//! configuration did not name), their developers may be referenced, and
//! their clients take part in the checks across clients; but only the given
//! files' clients are in [`Desired::clients`], the scope of a plan.

pub mod delivery;
pub mod diag;
pub mod edit;
mod raw;
mod rules;
pub mod schema;
mod source;
mod validate;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use crate::config::diag::{Diagnostic, Diagnostics, FileId};
use crate::model::Desired;

/// What loading gives: the configuration and its warnings, or every
/// problem found.
pub type Loaded = Result<(Desired, Diagnostics), Diagnostics>;

/// Largest file accepted. A clients file is a few kilobytes; this bound keeps
/// a wrong PATH (a disk image, `/dev/zero`) from being read whole.
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;

/// Loads PATHs: each a file (read whatever its extension) or a directory,
/// whose `*.toml` files (not recursive) are read in name order. A file
/// reached twice is read once. A file given alone brings the other `*.toml`
/// files of its directory as context ([`Desired::context`]).
/// [`Desired::authoritative`] is true when any PATH is a directory.
///
/// Returns every error at once. Warnings are dropped; use
/// [`load_with_warnings`] to show them.
pub fn load(paths: &[PathBuf]) -> Result<Desired, Diagnostics> {
    load_with_warnings(paths).map(|(desired, _)| desired)
}

/// Like [`load`], but on success also returns the warnings (an empty
/// collection when there are none), which the caller should print.
pub fn load_with_warnings(paths: &[PathBuf]) -> Result<(Desired, Diagnostics), Diagnostics> {
    load_with_context(paths).1
}

/// Like [`load_with_warnings`], and also returns the files read as context
/// (see [`Desired::context`]), whether loading succeeded or not: when a
/// sibling the user did not name is broken, they need to know why it was
/// read.
pub fn load_with_context(paths: &[PathBuf]) -> (Vec<PathBuf>, Loaded) {
    let found = source::read_paths(paths);
    let mut diags = Diagnostics::new();
    for error in &found.errors {
        diags.push(error.to_diagnostic());
    }
    let context = found.context.iter().map(|(path, _)| path.clone()).collect();
    (
        context,
        load_into(found.files, found.context, found.authoritative, diags),
    )
}

/// The files PATHs stand for, in load order: directories expanded to their
/// `*.toml` files (the context of a file given alone is not included).
/// Paths that cannot be read are left out; [`load`] reports them.
pub fn files(paths: &[PathBuf]) -> Vec<PathBuf> {
    source::read_paths(paths)
        .files
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

/// Loads in-memory `(path, text)` pairs, as [`load`] does after reading
/// the files; `authoritative` is copied into [`Desired`]. Used by tests.
///
/// Warnings are dropped; use [`load_sources_with_warnings`] to show them.
pub fn load_sources(
    sources: Vec<(PathBuf, Vec<u8>)>,
    authoritative: bool,
) -> Result<Desired, Diagnostics> {
    load_sources_with_warnings(sources, authoritative).map(|(desired, _)| desired)
}

/// Like [`load_sources`], but on success also returns the warnings.
pub fn load_sources_with_warnings(
    sources: Vec<(PathBuf, Vec<u8>)>,
    authoritative: bool,
) -> Result<(Desired, Diagnostics), Diagnostics> {
    load_into(sources, Vec::new(), authoritative, Diagnostics::new())
}

fn load_into(
    given: Vec<(PathBuf, Vec<u8>)>,
    context: Vec<(PathBuf, Vec<u8>)>,
    authoritative: bool,
    mut diags: Diagnostics,
) -> Result<(Desired, Diagnostics), Diagnostics> {
    let sources = given
        .into_iter()
        .map(|source| (source, false))
        .chain(context.into_iter().map(|source| (source, true)));
    // The name and text of every file or `[[developers]]` entry that could
    // not be read: it may declare developers that other files list.
    let mut unreadable = Vec::new();
    let parsed: Vec<validate::Parsed> = sources
        .filter_map(|((path, bytes), context)| {
            let parsed = parse(&path, &bytes, &mut diags, &mut unreadable);
            if parsed.is_none() {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                unreadable.push((path.display().to_string(), text));
            }
            let (file, raw) = parsed?;
            Some(validate::Parsed {
                file,
                path,
                raw,
                context,
            })
        })
        .collect();
    let desired = validate::validate(&parsed, &unreadable, authoritative, &mut diags);
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok((desired, diags))
    }
}

/// Decodes and parses one file. On failure the problem is in `diags` and
/// the file takes no further part (its clients are unknown, so checks
/// across files simply do not see them).
fn parse(
    path: &Path,
    bytes: &[u8],
    diags: &mut Diagnostics,
    unreadable: &mut Vec<(String, String)>,
) -> Option<(FileId, raw::RawFile)> {
    let name = path.display().to_string();
    if bytes.len() > MAX_FILE_BYTES {
        diags.push(
            Diagnostic::error(format!(
                "`{name}` is larger than {} MiB",
                MAX_FILE_BYTES / (1024 * 1024)
            ))
            .with_help(
                "a clients file is a few kilobytes; check that PATH names a clients file, or \
                 split it into several files in one directory",
            ),
        );
        return None;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            // The lossy copy is identical up to the first bad byte, which
            // becomes U+FFFD (3 bytes): the label covers exactly that.
            let at = e.valid_up_to();
            let lossy = String::from_utf8_lossy(bytes).into_owned();
            let bad = bytes.get(at).copied().unwrap_or_default();
            let file = diags.add_file(name.as_str(), lossy);
            diags.push(
                Diagnostic::error(format!("`{name}` is not valid UTF-8"))
                    .with_primary(
                        file,
                        at..at + '\u{FFFD}'.len_utf8(),
                        format!("byte 0x{bad:02X}"),
                    )
                    .with_help("TOML files must be UTF-8 text; re-save the file as UTF-8"),
            );
            return None;
        }
    };
    // NUL never occurs in a text file; saying "binary" beats a TOML syntax
    // error somewhere in the middle of it.
    if let Some(at) = text.find('\0') {
        let file = diags.add_file(name.as_str(), text.replace('\0', " "));
        diags.push(
            Diagnostic::error(format!("`{name}` is a binary file, not TOML text"))
                .with_primary(file, at..at + 1, "NUL byte")
                .with_help("check that PATH names a clients file (`*.toml`, UTF-8 text)"),
        );
        return None;
    }
    let file = diags.add_file(name.as_str(), text);
    match raw::parse(text) {
        // A file that declares nothing is almost always a mistake (a
        // truncated checkout, the wrong file), and given as the whole
        // configuration it would make `apply` delete every managed client.
        Ok((raw, errors)) if errors.is_empty() && raw.declares_nothing() => {
            diags.push(
                Diagnostic::error(format!(
                    "`{name}` declares nothing: no `[settings]`, `[[developers]]` or `[[clients]]`"
                ))
                .with_help(
                    "add the clients and developers it should hold, or remove the file; an empty \
                     file is refused so that it can never be taken for \"no clients at all\"",
                ),
            );
            None
        }
        // Each value of the wrong type or unknown key is one error; the
        // rest of the file is still checked.
        Ok((raw, errors)) => {
            for error in &errors {
                diags.push(toml_error(file, &name, text, error));
            }
            for span in &raw.unreadable {
                if let Some(entry) = text.get(span.clone()) {
                    unreadable.push((name.clone(), entry.to_owned()));
                }
            }
            Some((file, raw))
        }
        Err(error) => {
            diags.push(toml_error(file, &name, text, &error));
            None
        }
    }
}

/// Turns a `toml` error into a diagnostic with a span, a short label and a
/// `help:` line.
fn toml_error(file: FileId, name: &str, text: &str, error: &raw::RawError) -> Diagnostic {
    // `toml` messages are one line; be safe if that ever changes.
    let message = error.message.trim().replace('\n', "; ");
    let Some(span) = error.span.clone() else {
        // Only a few limits (such as a dotted key nested past the recursion
        // limit) come without a position.
        return Diagnostic::error(format!("`{name}`: {message}"))
            .with_help("simplify the file; clients files need only a few levels of nesting");
    };
    let at = |label: &str| (span.clone(), label.to_owned());

    // `unknown field `x`, expected one of `a`, `b``: serde's wording, from
    // `deny_unknown_fields`.
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, expected)) = rest.split_once('`')
    {
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let mut help = match allowed.as_slice() {
            [] => "this table takes no keys".to_owned(),
            [one] => format!("the only key allowed here is `{one}`"),
            many => format!(
                "the keys allowed here are {}",
                many.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        if let Some(guess) = rules::closest(key, allowed.iter().copied()) {
            help = format!("did you mean `{guess}`? {help}");
        }
        let (range, label) = at("unknown key");
        return Diagnostic::error(format!("unknown key `{key}`"))
            .with_primary(file, range, label)
            .with_help(help);
    }

    // The span of a table header covers its name; the `[` before it tells a
    // header from a key.
    let spanned = text.get(span.clone()).unwrap_or("").trim();
    let header = spanned.starts_with('[')
        || text
            .get(..span.start)
            .is_some_and(|before| before.trim_end().ends_with('['));
    if message == "duplicate key" && header {
        let (range, label) = at("declared again here");
        return Diagnostic::error(format!("table `[{spanned}]` is declared twice"))
            .with_primary(file, range, label)
            .with_help(format!(
                "a file may have one `[{spanned}]` table; merge the two into one"
            ));
    }

    if message == "duplicate key" {
        let key = spanned;
        let (range, label) = at("set again here");
        return Diagnostic::error(format!("key `{key}` is set twice in the same table"))
            .with_primary(file, range, label)
            .with_help("TOML allows each key once per table; remove one of them");
    }

    // Raised by `raw::RawMember` for a client's `developers` entries.
    if message.contains("developer entry") {
        let (range, label) = at("in this entry");
        return Diagnostic::error(message.clone())
            .with_primary(file, range, label)
            .with_help(
                "list a developer as `\"bob\"`, or as `{ name = \"bob\", expires = 2027-01-31 }` \
                 for a membership that ends after that day",
            );
    }

    if message.contains("recursion") || message.contains("recurse") {
        let (range, label) = at("nested too deeply");
        return Diagnostic::error("value is nested too deeply")
            .with_primary(file, range, label)
            .with_help("clients files need only a few levels of nesting");
    }

    if let Some(rest) = message.strip_prefix("invalid type: ") {
        // serde says "sequence"; TOML says "array", users say "list".
        let rest = rest.replace("expected a sequence", "expected a list");
        if rest.starts_with("map,") && rest.ends_with("expected a list") && header {
            let table = spanned.trim_matches(['[', ']']).trim();
            let (range, label) = at("single brackets");
            return Diagnostic::error(format!("`[{table}]` must be written `[[{table}]]`"))
                .with_primary(file, range, label)
                .with_help(format!(
                    "`{table}` is a list: start each entry with `[[{table}]]` (double brackets)"
                ));
        }
        let help = if rest.ends_with("expected a string") {
            "put the value in double quotes, e.g. `name = \"acme\"`".to_owned()
        } else if rest.ends_with("expected a list") {
            "write a list in brackets, e.g. `[\"a\", \"b\"]`".to_owned()
        } else if rest.contains("expected a `[") {
            "write a table: `[section]` / `[[section]]` headers or `{ key = value }`".to_owned()
        } else {
            "see the file format in the documentation".to_owned()
        };
        let expected = rest.rsplit_once(", ").map_or(rest.as_str(), |(_, e)| e);
        let (range, label) = at(expected);
        return Diagnostic::error(format!("wrong type: {rest}"))
            .with_primary(file, range, label)
            .with_help(help);
    }

    // A date written as people write dates, `28/02/2027`: TOML reads it
    // as an unquoted string, but quoting it would be the wrong fix.
    // The parser may stop inside the value (`28.02.2027` reads as the float
    // `28.02` and fails at `.2027`): look at the whole bare word around it.
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-');
    let start = text
        .get(..span.start)
        .map_or(span.start, |before| before.trim_end_matches(word).len());
    let end = text.get(span.start..).map_or(span.end, |after| {
        span.start + after.len() - after.trim_start_matches(word).len()
    });
    let bare = text.get(start..end).unwrap_or("");
    if let Some((iso, ambiguous)) = rules::date_written_otherwise(bare) {
        let spanned = bare;
        let (range, label) = (start..end, "not a TOML date".to_owned());
        let reading = if ambiguous {
            format!(" (read day first; if `{spanned}` is month first, swap the two)")
        } else {
            String::new()
        };
        return Diagnostic::error(format!("`{spanned}` is not a date TOML can read"))
            .with_primary(file, range, label)
            .with_help(format!(
                "write dates as year-month-day, without quotes: `{iso}`{reading}"
            ));
    }

    // A syntax error: `description, expected X`. The description is the
    // headline, what was expected goes under the caret.
    let (headline, label) = match message.split_once(", expected ") {
        Some((description, expected)) => (description.to_owned(), format!("expected {expected}")),
        None => (message.clone(), "here".to_owned()),
    };
    let (range, label) = at(&label);
    Diagnostic::error(format!("invalid TOML: {headline}"))
        .with_primary(file, range, label)
        .with_help("the file must be valid TOML (https://toml.io); fix the syntax here")
}
