//! The layout's rules, checked: each top-level module may use only the
//! modules before it in the flow (README "Where the code lives"), and only
//! the commands print to the terminal.
//!
//! The check reads the sources as text. It is deliberately simple: every
//! `crate::name` path outside test code is an edge from the file's module to
//! `name`, and a `crate::{a, b::c}` group is one edge per name. Test code
//! (files named `tests.rs`, and everything after a file's first
//! `#[cfg(test)]`) may reach further, for example to snapshot through a
//! printer.

use std::fs;
use std::path::{Path, PathBuf};

/// What each top-level module may use. A module missing here is a new
/// module: the test asks for it to be placed.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("safe_write", &[]),
    ("aws", &["model"]),
    ("policy", &["model"]),
    ("config", &["model", "policy"]),
    ("plan", &["model", "policy", "config"]),
    ("report", &["model", "policy", "config", "plan"]),
    ("render", &["model", "policy", "config", "plan", "report"]),
    ("observe", &["model", "policy", "aws"]),
    (
        "apply",
        &[
            "model",
            "policy",
            "config",
            "plan",
            "aws",
            "observe",
            "safe_write",
        ],
    ),
    ("cli", &["model", "policy", "config", "plan"]),
    (
        "terminal",
        &["model", "policy", "config", "plan", "report", "render"],
    ),
    (
        "cmd",
        &[
            "model",
            "safe_write",
            "aws",
            "policy",
            "config",
            "plan",
            "report",
            "render",
            "observe",
            "apply",
            "cli",
            "terminal",
        ],
    ),
];

/// The modules that may write to the process's stdout and stderr: the
/// commands, the one `Printer` they share, and `main`.
const MAY_PRINT: &[&str] = &["cmd", "terminal", "main"];

const PRINTING: &[&str] = &[
    "println!",
    "eprintln!",
    "print!(",
    "eprint!(",
    "io::stdout()",
    "io::stderr()",
    "dbg!(",
];

/// A source file as the project names it (`src/plan/mod.rs`).
fn shown(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out.sort();
    out
}

/// The file's top-level module (`src/plan/steps.rs` -> `plan`) and its
/// text without test code.
fn module_and_code(path: &Path) -> Option<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rel = path.strip_prefix(&src).ok()?;
    if rel.file_name().is_some_and(|n| n == "tests.rs")
        || rel.components().any(|c| c.as_os_str() == "tests")
    {
        return None;
    }
    let first = rel.components().next()?.as_os_str().to_str()?;
    let module = first.strip_suffix(".rs").unwrap_or(first).to_string();
    if module == "lib" || module == "layering" {
        return None;
    }
    let text = fs::read_to_string(path).ok()?;
    let code = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => &text,
    };
    // Comments (doc links included) name modules without using them.
    let code = code
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    Some((module, code))
}

/// Every module named right after `crate::` in `code`, with its line.
fn crate_uses(code: &str) -> Vec<(usize, String)> {
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        // `$crate::` in a macro is not a module path of this crate's layout.
        if at > 0 && code.as_bytes()[at - 1] == b'$' {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // One name per top-level entry of the group.
            let mut depth = 0usize;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start => {
                        start = false;
                        let name = ident(&group[i..]);
                        if !name.is_empty() {
                            out.push((line_of(at), name));
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.push((line_of(at), name));
            }
        }
    }
    out
}

#[test]
fn imports_follow_the_flow() {
    let mut wrong = Vec::new();
    for path in sources() {
        let Some((module, code)) = module_and_code(&path) else {
            continue;
        };
        if module == "main" {
            continue;
        }
        let Some((_, allowed)) = ALLOWED.iter().find(|(m, _)| *m == module) else {
            wrong.push(format!(
                "{}: module `{module}` has no place in the layout: add it to `ALLOWED` in src/layering.rs and to README \"Where the code lives\"",
                shown(&path)
            ));
            continue;
        };
        for (line, used) in crate_uses(&code) {
            if used == module || used == "self" || used == "super" {
                continue;
            }
            if !allowed.contains(&used.as_str()) {
                wrong.push(format!(
                    "{}:{line}: `{module}` uses `{used}`, which comes later in the flow (allowed: {})",
                    shown(&path),
                    allowed.join(", ")
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layout:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_the_commands_print() {
    let mut wrong = Vec::new();
    for path in sources() {
        let Some((module, code)) = module_and_code(&path) else {
            continue;
        };
        if MAY_PRINT.contains(&module.as_str()) {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            if let Some(found) = PRINTING.iter().find(|p| line.contains(*p)) {
                wrong.push(format!(
                    "{}:{}: `{found}` in `{module}`: return the text (or write to a given `io::Write`) and let the command print it through `terminal::Printer`",
                    shown(&path),
                    n + 1
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "printing outside the commands:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_scanner_sees_groups_and_single_paths() {
    let code = "use crate::{model::Desired, policy::{self, arn}};\nlet x = crate::plan::plan(a);\n$crate::ignored";
    assert_eq!(
        crate_uses(code),
        vec![
            (1, "model".to_string()),
            (1, "policy".to_string()),
            (2, "plan".to_string()),
        ]
    );
}

#[test]
fn a_forbidden_edge_is_caught() {
    // The rule itself, on a made-up edge: policy may not use plan.
    let (_, allowed) = ALLOWED.iter().find(|(m, _)| *m == "policy").unwrap();
    let uses = crate_uses("use crate::plan::Change;");
    assert!(uses.iter().any(|(_, u)| !allowed.contains(&u.as_str())));
}
