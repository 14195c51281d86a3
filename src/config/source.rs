//! Turning the PATHs on the command line into (path, bytes) pairs.
//!
//! This is the only part of `config` that touches the file system; the rest
//! works on the bytes, which is what lets the tests run without IO.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::MAX_FILE_BYTES;
use crate::config::diag::Diagnostic;

/// A problem with a PATH itself, before any TOML is read.
#[derive(Debug, Error)]
pub(super) enum SourceError {
    /// No path at all.
    #[error("no configuration path given")]
    NoPaths,
    /// The path does not exist.
    #[error("path `{}` does not exist", .0.display())]
    Missing(PathBuf),
    /// A directory without a single `*.toml` file.
    #[error("directory `{}` contains no `.toml` file", .0.display())]
    EmptyDir(PathBuf),
    /// Neither a regular file nor a directory (a socket, say).
    #[error("`{}` is neither a file nor a directory", .0.display())]
    NotAFile(PathBuf),
    /// An IO error reading a file or listing a directory.
    #[error("cannot read `{}`: {source}", path.display())]
    Unreadable {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The directory of a file given alone could not be listed, or one of
    /// its other `*.toml` files read: they belong to the same configuration
    /// and may hold its settings, so the file cannot be used without them.
    #[error(
        "cannot read `{}`, which belongs to the configuration of `{}`: {source}",
        path.display(),
        given.display()
    )]
    Context {
        /// The directory, or the file in it, that could not be read.
        path: PathBuf,
        /// The file given.
        given: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl SourceError {
    /// The diagnostic shown to the user.
    pub(super) fn to_diagnostic(&self) -> Diagnostic {
        let help = match self {
            SourceError::NoPaths => {
                "pass a `.toml` file or a directory of them, e.g. `clients/`".to_owned()
            }
            SourceError::Missing(_) => {
                "check the spelling; PATH is a `.toml` file or a directory of them".to_owned()
            }
            SourceError::EmptyDir(_) => {
                "only `*.toml` files directly inside the directory are read (not subdirectories)"
                    .to_owned()
            }
            SourceError::NotAFile(_) => "PATH is a `.toml` file or a directory of them".to_owned(),
            SourceError::Unreadable { .. } => {
                "check that the file exists and that you may read it".to_owned()
            }
            SourceError::Context { .. } => "a file given alone is read with the other `*.toml` \
                 files of its directory, which may hold its `[settings]`; make them readable, \
                 or move the file to a directory of its own"
                .to_owned(),
        };
        Diagnostic::error(self.to_string()).with_help(help)
    }
}

/// What [`read_paths`] found.
#[derive(Debug, Default)]
pub(super) struct Sources {
    /// Files read, each once, in the order given (directory entries sorted
    /// by name).
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// The other `*.toml` files of the directory of each file given alone
    /// (not through its directory), each once, sorted by name within a
    /// directory: the rest of that file's configuration, read for its
    /// settings, developers and clients (see [`super::load`]).
    pub context: Vec<(PathBuf, Vec<u8>)>,
    /// True when any PATH was a directory.
    pub authoritative: bool,
    /// Paths that could not be used.
    pub errors: Vec<SourceError>,
}

/// Expands directories, reads every file once, then reads the rest of the
/// configuration of each file given alone: the other `*.toml` files of its
/// directory.
pub(super) fn read_paths(paths: &[PathBuf]) -> Sources {
    let mut out = Sources::default();
    if paths.is_empty() {
        out.errors.push(SourceError::NoPaths);
        return out;
    }
    // Canonical paths of every file read, so that none is read twice.
    let mut seen = HashSet::new();
    // Files given alone, whose directories are read as context.
    let mut alone = Vec::new();
    for path in paths {
        let metadata = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.errors.push(SourceError::Missing(path.clone()));
                continue;
            }
            Err(source) => {
                out.errors.push(SourceError::Unreadable {
                    path: path.clone(),
                    source,
                });
                continue;
            }
        };
        let files = if metadata.is_dir() {
            out.authoritative = true;
            match toml_files_in(path) {
                Ok(files) if files.is_empty() => {
                    out.errors.push(SourceError::EmptyDir(path.clone()));
                    continue;
                }
                Ok(files) => files,
                Err(source) => {
                    out.errors.push(SourceError::Unreadable {
                        path: path.clone(),
                        source,
                    });
                    continue;
                }
            }
        } else if metadata.is_file() {
            alone.push(path.clone());
            vec![path.clone()]
        } else {
            out.errors.push(SourceError::NotAFile(path.clone()));
            continue;
        };
        for file in files {
            // `clients/ clients/acme.toml` or `a.toml ./a.toml` name the same
            // file twice; reading it twice would report every client in it
            // as a duplicate of itself.
            if !seen.insert(canonical(&file)) {
                continue;
            }
            match read_limited(&file) {
                Ok(bytes) => out.files.push((file, bytes)),
                Err(source) => out
                    .errors
                    .push(SourceError::Unreadable { path: file, source }),
            }
        }
    }
    // Only after every PATH: a sibling given later is given, not context.
    for given in alone {
        read_context(&given, &mut seen, &mut out);
    }
    out
}

/// Reads the other `*.toml` files of the directory of `given` into
/// `out.context`, skipping those already read.
fn read_context(given: &Path, seen: &mut HashSet<PathBuf>, out: &mut Sources) {
    let dir = match given.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let files = match toml_files_in(dir) {
        Ok(files) => files,
        Err(source) => {
            out.errors.push(SourceError::Context {
                path: dir.to_owned(),
                given: given.to_owned(),
                source,
            });
            return;
        }
    };
    for file in files {
        // `./globex.toml` reads better as `globex.toml`, like the file given.
        let file = match file.strip_prefix(".") {
            Ok(relative) if dir == Path::new(".") => relative.to_owned(),
            _ => file,
        };
        if !seen.insert(canonical(&file)) {
            continue;
        }
        match read_limited(&file) {
            Ok(bytes) => out.context.push((file, bytes)),
            Err(source) => out.errors.push(SourceError::Context {
                path: file,
                given: given.to_owned(),
                source,
            }),
        }
    }
}

/// The path that names `file` whatever way it was written, or `file` itself
/// when it cannot be resolved.
fn canonical(file: &Path) -> PathBuf {
    std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned())
}

/// The `*.toml` regular files directly inside `dir`, sorted by name.
fn toml_files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        // `is_file` follows symlinks, so a linked file counts and a dangling
        // link (such as an editor's lock file) does not.
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads at most one byte more than [`MAX_FILE_BYTES`], so that a huge file
/// or an endless device is refused by `load_sources` without being read
/// whole.
fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
