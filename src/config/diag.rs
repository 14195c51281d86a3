//! Diagnostics that point at the text the user wrote.
//!
//! A [`Diagnostic`] is one error or warning: a message, optionally a primary
//! label (file, byte range, short text), secondary labels (possibly in other
//! files) and `help:`/`note:` lines. [`Diagnostics`] collects them together
//! with the source text of every file they point into, so the whole set can
//! render itself with `codespan-reporting` the way cargo renders `toml`
//! errors:
//!
//! ```text
//! error: bucket names must be lowercase: `Acme-Assets`
//!   --> clients/acme.toml:3:12
//!    |
//!  3 | buckets = ["Acme-Assets"]
//!    |            ^^^^^^^^^^^^^ not lowercase
//!    |
//!    = help: use `acme-assets`
//! ```
//!
//! Validation code pushes every problem it finds instead of returning at the
//! first one, so a user fixes a file in one round trip.

use std::fmt;
use std::ops::Range;

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Chars, Config};

/// Lines longer than this (in bytes) are not echoed in a snippet: a label in
/// such a line is replaced by a `path:line:column` note, so binary junk or a
/// one-line megabyte file cannot flood the terminal.
const MAX_SNIPPET_LINE: usize = 512;

/// Identifies a source file registered with [`Diagnostics::add_file`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(usize);

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Something the user must fix; loading fails.
    Error,
    /// Worth knowing, but loading succeeds.
    Warning,
}

/// A byte range in a registered file, with a short text shown next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The file the range is in.
    pub file: FileId,
    /// Byte range into the file's text.
    pub range: Range<usize>,
    /// Text printed next to the caret; may be empty.
    pub message: String,
}

/// What kind of trailing line a [`Note`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// How to fix the problem (`help: ...`).
    Help,
    /// Extra context (`note: ...`).
    Note,
}

/// A trailing `help:` or `note:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Whether this is help or context.
    pub kind: NoteKind,
    /// The text, without the `help: ` prefix.
    pub text: String,
}

/// One error or warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    severity: Severity,
    message: String,
    primary: Option<Label>,
    secondary: Vec<Label>,
    notes: Vec<Note>,
}

impl Diagnostic {
    /// A new error with `message` (what is wrong, names in backticks).
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }

    /// A new warning with `message`.
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }

    fn new(severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Points the diagnostic at `range` in `file` (replacing any earlier
    /// primary label).
    pub fn with_primary(
        mut self,
        file: FileId,
        range: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        self.primary = Some(Label {
            file,
            range,
            message: message.into(),
        });
        self
    }

    /// Adds a secondary label, typically "first declared here".
    pub fn with_secondary(
        mut self,
        file: FileId,
        range: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        self.secondary.push(Label {
            file,
            range,
            message: message.into(),
        });
        self
    }

    /// Adds a `help:` line saying how to fix the problem.
    pub fn with_help(mut self, text: impl Into<String>) -> Self {
        self.notes.push(Note {
            kind: NoteKind::Help,
            text: text.into(),
        });
        self
    }

    /// Adds a `note:` line giving context.
    pub fn with_note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(Note {
            kind: NoteKind::Note,
            text: text.into(),
        });
        self
    }

    /// Error or warning.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The headline.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The primary label, if the diagnostic points into a file.
    pub fn primary(&self) -> Option<&Label> {
        self.primary.as_ref()
    }

    /// Secondary labels, in the order they were added.
    pub fn secondary(&self) -> &[Label] {
        &self.secondary
    }

    /// `help:` and `note:` lines, in the order they were added.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }
}

/// A registered source file.
#[derive(Debug, Clone)]
struct SourceFile {
    name: String,
    text: String,
}

/// A collection of diagnostics plus the files they point into.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    files: Vec<SourceFile>,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a file so labels can point into it. `name` is what the
    /// header shows (`name:line:column`).
    ///
    /// Control characters other than tab and line breaks are replaced by `?`
    /// before the text is stored: it is echoed to a terminal, and a stray
    /// escape sequence in a config file must not be able to repaint it. Each
    /// replacement keeps the character's byte length so every span into the
    /// original text stays valid.
    pub fn add_file(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let text = sanitize(text.into());
        self.files.push(SourceFile {
            name: name.into(),
            text,
        });
        FileId(self.files.len() - 1)
    }

    /// The name a file was registered under.
    pub fn file_name(&self, file: FileId) -> Option<&str> {
        self.files.get(file.0).map(|f| f.name.as_str())
    }

    /// The 1-based line and column (in characters) of byte `offset` in
    /// `file`, as the rendered headers show them.
    pub fn line_column(&self, file: FileId, offset: usize) -> Option<(usize, usize)> {
        let text = &self.files.get(file.0)?.text;
        let before = text.get(..offset)?;
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        Some((line, before[start..].chars().count() + 1))
    }

    /// Adds one diagnostic. Diagnostics without a primary label (say, "path
    /// `x` does not exist") are fine.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Moves every diagnostic and file of `other` into `self`.
    pub fn append(&mut self, other: Diagnostics) {
        let offset = self.files.len();
        self.files.extend(other.files);
        let shift = |label: &mut Label| label.file = FileId(label.file.0 + offset);
        for mut diagnostic in other.items {
            if let Some(label) = diagnostic.primary.as_mut() {
                shift(label);
            }
            diagnostic.secondary.iter_mut().for_each(shift);
            self.items.push(diagnostic);
        }
    }

    /// True when at least one diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// Number of diagnostics, errors and warnings together.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The diagnostics in the order they were pushed.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// A one-line count such as `2 errors, 1 warning`.
    pub fn summary(&self) -> String {
        fn plural(n: usize, word: &str) -> String {
            if n == 1 {
                format!("1 {word}")
            } else {
                format!("{n} {word}s")
            }
        }
        match (self.error_count(), self.warning_count()) {
            (e, 0) => plural(e, "error"),
            (0, w) => plural(w, "warning"),
            (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
        }
    }

    /// Renders every diagnostic, ordered by file and position (diagnostics
    /// without a file first, then in the order files were added), each
    /// separated by a blank line. With `color`, ANSI escapes are used.
    pub fn render(&self, color: bool) -> String {
        let mut files = SimpleFiles::new();
        for file in &self.files {
            files.add(file.name.as_str(), file.text.as_str());
        }
        let config = Config {
            // `-->` and `|` like cargo: survives every terminal and CI log.
            chars: Chars::ascii(),
            ..Config::default()
        };
        let mut order: Vec<&Diagnostic> = self.items.iter().collect();
        order.sort_by_key(|d| d.primary.as_ref().map(|l| (l.file, l.range.start)));

        let mut out = String::new();
        for diagnostic in order {
            let diagnostic = self.to_codespan(diagnostic);
            // Rendering only fails when a label points outside its file;
            // `to_codespan` clamps every range, so this cannot happen, but a
            // diagnostic is never worth a panic: fall back to the headline.
            let rendered = if color {
                let mut writer = term::termcolor::Ansi::new(Vec::new());
                term::emit_to_write_style(&mut writer, &config, &files, &diagnostic)
                    .map(|()| writer.into_inner())
            } else {
                let mut buffer = Vec::new();
                term::emit_to_io_write(&mut buffer, &config, &files, &diagnostic).map(|()| buffer)
            };
            let mut text = match rendered {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(_) => format!("error: {}", diagnostic.message),
            };
            // codespan ends some diagnostics with a blank line and not
            // others; normalise to exactly one blank line between them.
            text.truncate(text.trim_end_matches('\n').len());
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&text);
            out.push('\n');
        }
        out
    }

    fn to_codespan(&self, diagnostic: &Diagnostic) -> cs::Diagnostic<usize> {
        let severity = match diagnostic.severity {
            Severity::Error => cs::Severity::Error,
            Severity::Warning => cs::Severity::Warning,
        };
        let mut labels = Vec::new();
        let mut notes = Vec::new();
        let all = diagnostic
            .primary
            .iter()
            .map(|l| (cs::LabelStyle::Primary, l))
            .chain(
                diagnostic
                    .secondary
                    .iter()
                    .map(|l| (cs::LabelStyle::Secondary, l)),
            );
        for (style, label) in all {
            let Some(file) = self.files.get(label.file.0) else {
                continue;
            };
            let range = clamp(&file.text, &label.range);
            let (line, column, line_len) = locate(&file.text, range.start);
            if line_len > MAX_SNIPPET_LINE {
                let text = if label.message.is_empty() {
                    format!("at {}:{line}:{column} (line too long to show)", file.name)
                } else {
                    format!(
                        "at {}:{line}:{column} (line too long to show): {}",
                        file.name, label.message
                    )
                };
                notes.push(text);
                continue;
            }
            labels.push(cs::Label::new(style, label.file.0, range).with_message(&label.message));
        }
        notes.extend(diagnostic.notes.iter().map(|n| match n.kind {
            NoteKind::Help => format!("help: {}", n.text),
            NoteKind::Note => format!("note: {}", n.text),
        }));
        cs::Diagnostic::new(severity)
            .with_message(&diagnostic.message)
            .with_labels(labels)
            .with_notes(notes)
    }
}

impl fmt::Display for Diagnostics {
    /// The uncoloured rendering, as [`Diagnostics::render`] gives it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<T: IntoIterator<Item = Diagnostic>>(&mut self, iter: T) {
        self.items.extend(iter);
    }
}

/// Replaces control characters other than `\t`, `\n` and a `\r` that ends a
/// line by `?` (C0 and DEL, one byte) or `¿` (C1, two bytes), keeping byte
/// offsets unchanged.
fn sanitize(text: String) -> String {
    let is_bad = |c: char, next: Option<char>| {
        c.is_control() && c != '\t' && c != '\n' && !(c == '\r' && next == Some('\n'))
    };
    let mut chars = text.chars().peekable();
    let mut needs_work = false;
    while let Some(c) = chars.next() {
        if is_bad(c, chars.peek().copied()) {
            needs_work = true;
            break;
        }
    }
    if !needs_work {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_bad(c, chars.peek().copied()) {
            // Every control character is either one byte (C0, DEL) or two
            // bytes (C1, U+0080..U+009F) in UTF-8.
            out.push(if c.len_utf8() == 1 { '?' } else { '¿' });
        } else {
            out.push(c);
        }
    }
    out
}

/// Clamps `range` into `text` and onto character boundaries, so that slicing
/// inside the renderer can never panic.
fn clamp(text: &str, range: &Range<usize>) -> Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(range.start);
    let end = floor(range.end.max(range.start));
    start..end
}

/// One-based line and column (in characters) of byte `offset`, and the byte
/// length of that line.
fn locate(text: &str, offset: usize) -> (usize, usize, usize) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = before.matches('\n').count() + 1;
    let column = text[line_start..offset].chars().count() + 1;
    (line, column, line_end - line_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_label_help_and_file_less_errors() {
        let mut diags = Diagnostics::new();
        let file = diags.add_file("a.toml", "name = \"x\"\nbuckets = [\"Acme\"]\n");
        diags.push(Diagnostic::error("path `nope` does not exist").with_help("check the path"));
        diags.push(
            Diagnostic::error("bucket names must be lowercase: `Acme`")
                .with_primary(file, 22..28, "not lowercase")
                .with_secondary(file, 7..10, "client declared here")
                .with_help("use `acme`"),
        );
        diags.push(Diagnostic::warning("just so you know"));
        assert!(diags.has_errors());
        assert_eq!(diags.len(), 3);
        assert_eq!(diags.summary(), "2 errors, 1 warning");
        insta::assert_snapshot!(diags.render(false));
        assert_eq!(diags.to_string(), diags.render(false));
        assert!(diags.render(true).contains("\u{1b}["));
    }

    #[test]
    fn warnings_alone_are_not_errors() {
        let mut diags = Diagnostics::new();
        diags.push(Diagnostic::warning("w"));
        assert!(!diags.has_errors());
        assert_eq!(diags.summary(), "1 warning");
    }

    #[test]
    fn control_characters_are_not_echoed() {
        let mut diags = Diagnostics::new();
        let file = diags.add_file("a.toml", "x = \u{1b}[31m\u{85}\r\n");
        diags.push(Diagnostic::error("bad").with_primary(file, 4..5, "here"));
        let out = diags.render(false);
        assert!(!out.contains('\u{1b}'), "{out}");
        assert!(out.contains("x = ?[31m¿"), "{out}");
    }

    #[test]
    fn long_lines_are_summarised_not_echoed() {
        let mut diags = Diagnostics::new();
        let text = format!("a\n{}", "b".repeat(10_000));
        let file = diags.add_file("big.toml", text);
        diags.push(Diagnostic::error("bad").with_primary(file, 5000..5001, "here"));
        let out = diags.render(false);
        assert!(out.len() < 500, "{out}");
        assert!(
            out.contains("at big.toml:2:4999 (line too long to show): here"),
            "{out}"
        );
    }

    #[test]
    fn out_of_range_labels_do_not_panic() {
        let mut diags = Diagnostics::new();
        let file = diags.add_file("a.toml", "é");
        diags.push(Diagnostic::error("bad").with_primary(file, 1..99, "here"));
        diags.push(Diagnostic::error("bad").with_primary(FileId(7), 0..1, "nowhere"));
        let out = diags.render(false);
        assert!(out.contains("a.toml:1:1"), "{out}");
    }

    #[test]
    fn append_remaps_file_ids() {
        let mut a = Diagnostics::new();
        a.add_file("a.toml", "aaa");
        let mut b = Diagnostics::new();
        let fb = b.add_file("b.toml", "bbb");
        b.push(Diagnostic::error("in b").with_primary(fb, 0..1, "here"));
        a.append(b);
        assert!(a.render(false).contains("b.toml:1:1"));
    }
}
