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
    /// A `*.toml` entry of a directory that is a symbolic link to nothing.
    #[error("`{}` is a symbolic link to a file that does not exist", .0.display())]
    Dangling(PathBuf),
    /// A `*.toml` entry of a directory that is not a regular file (a
    /// directory, a FIFO, a socket), or a file that stopped being one
    /// between the listing and the read.
    #[error("`{}` is not a regular file", .0.display())]
    NotRegular(PathBuf),
    /// A directory of clients files that everyone may write to, without the
    /// sticky bit: anyone could have put or replaced any file in it.
    #[error(
        "`{}` is writable by everyone (mode {:04o}), so anyone could have put or replaced the clients files read there",
        dir.display(),
        mode & 0o7777
    )]
    OpenDirectory {
        /// The directory.
        dir: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// A clients file owned by another user in a directory everyone may
    /// write to (sticky, like `/tmp`): anyone could have put it there.
    #[error(
        "`{}` belongs to another user (uid {owner}; provision runs as uid {me}) and lies in `{}`, which everyone may write to: anyone could have put it there",
        path.display(),
        dir.display()
    )]
    ForeignFile {
        /// The file, as listed or given.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
        /// The owner of the file (or of the file its link points to).
        owner: u32,
        /// The user running provision.
        me: u32,
    },
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
            SourceError::Dangling(_) => "every `*.toml` file of the configuration is read, since \
                 any of them may hold its `[settings]` (such as `account_id`): a missing one is \
                 an error, not skipped. Restore the file the link points to, or remove the link"
                .to_owned(),
            SourceError::NotRegular(_) => "every `*.toml` entry of a clients directory is read \
                 as a clients file; rename or remove this one (only editors' lock files, whose \
                 names start with `.#`, are skipped)"
                .to_owned(),
            SourceError::OpenDirectory { dir, .. } => format!(
                "a clients file's `[settings]` decide the account and the managed path; run \
                 `chmod o-w {}`, or move the clients files to a directory of your own",
                dir.display()
            ),
            SourceError::ForeignFile { .. } => "a clients file's `[settings]` decide the account \
                 and the managed path, and every `*.toml` file of the directory is read with \
                 the files given; keep the configuration in a directory of your own (copy a \
                 file there once you have read it)"
                .to_owned(),
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
    // Directories whose trust was checked (see [`trusted`]).
    let mut trust = Trust::default();
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
                Ok((files, bad)) if files.is_empty() && bad.is_empty() => {
                    out.errors.push(SourceError::EmptyDir(path.clone()));
                    continue;
                }
                Ok((files, bad)) => {
                    out.errors.extend(bad);
                    files
                }
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
            if let Err(e) = trusted(&file, &mut trust) {
                out.errors.extend(e);
                continue;
            }
            match read_limited(&file) {
                Ok(bytes) => out.files.push((file, bytes)),
                Err(ReadError::NotRegular) => out.errors.push(SourceError::NotRegular(file)),
                Err(ReadError::Io(source)) => out
                    .errors
                    .push(SourceError::Unreadable { path: file, source }),
            }
        }
    }
    // Only after every PATH: a sibling given later is given, not context.
    for given in alone {
        read_context(&given, &mut seen, &mut trust, &mut out);
    }
    out
}

/// Reads the other `*.toml` files of the directory of `given` into
/// `out.context`, skipping those already read.
fn read_context(given: &Path, seen: &mut HashSet<PathBuf>, trust: &mut Trust, out: &mut Sources) {
    let dir = match given.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let files = match toml_files_in(dir) {
        Ok((files, bad)) => {
            out.errors.extend(bad);
            files
        }
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
        if let Err(e) = trusted(&file, trust) {
            out.errors.extend(e);
            continue;
        }
        match read_limited(&file) {
            Ok(bytes) => out.context.push((file, bytes)),
            Err(ReadError::NotRegular) => out.errors.push(SourceError::NotRegular(file)),
            Err(ReadError::Io(source)) => out.errors.push(SourceError::Context {
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

/// The `*.toml` files directly inside `dir`, sorted by name, and the
/// problems with the `*.toml` entries that are not regular files.
///
/// Every `*.toml` entry is part of the configuration and may hold its
/// `[settings]` (`account_id`, the managed path), so one that cannot be
/// read is an error, never skipped: skipping a dangling link to a shared
/// settings file would drop the account guard without a word. The one
/// exception is an editor's lock file (`.#acme.toml`, Emacs's symbolic
/// link to nothing while a buffer has unsaved changes), which never holds
/// configuration.
fn toml_files_in(dir: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<SourceError>)> {
    let mut files = Vec::new();
    let mut bad = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let lock_file = entry.file_name().as_encoded_bytes().starts_with(b".#");
        if path.extension().is_none_or(|e| e != "toml") || lock_file {
            continue;
        }
        // `metadata` follows links: a linked file counts as the file.
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => files.push(path),
            Ok(_) => bad.push(SourceError::NotRegular(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bad.push(SourceError::Dangling(path));
            }
            Err(source) => bad.push(SourceError::Unreadable { path, source }),
        }
    }
    files.sort();
    bad.sort_by_key(|a| a.to_string());
    Ok((files, bad))
}

/// Why [`read_limited`] read nothing.
enum ReadError {
    /// What was opened is not a regular file (it was swapped after the
    /// listing, or a PATH names a device).
    NotRegular,
    /// Opening or reading failed.
    Io(std::io::Error),
}

/// Reads at most one byte more than [`MAX_FILE_BYTES`], so that a huge file
/// is refused by `load_sources` without being read whole. Only a regular
/// file is read: the open does not block (a FIFO put in place of a file
/// would otherwise wait for a writer forever), and the descriptor opened
/// is the one checked.
fn read_limited(path: &Path) -> Result<Vec<u8>, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        rustix::fs::OFlags::NONBLOCK.bits() as i32,
    );
    let file = options.open(path).map_err(ReadError::Io)?;
    if !file.metadata().map_err(ReadError::Io)?.is_file() {
        return Err(ReadError::NotRegular);
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    Ok(bytes)
}

/// The directories [`trusted`] has looked at, so that each is reported
/// once.
#[derive(Default)]
struct Trust {
    /// Directories already checked.
    checked: HashSet<PathBuf>,
}

/// Whether the clients file `file` may be believed: not when its directory
/// is writable by everyone without the sticky bit (anyone could have put
/// or replaced it), nor when that directory is writable by everyone with
/// the sticky bit (as `/tmp` is) and the file, or the file a link there
/// points to, belongs to someone other than the user running provision or
/// root. The same rule as for the files `onboard` and `offboard` write
/// (`safe_write::DirPolicy::Shared`), plus the owner check the sticky bit
/// calls for when reading: there, others cannot replace this user's files,
/// but can add their own. A group-writable directory is fine, as for
/// writing: a team's checkout often is one.
#[cfg(unix)]
fn trusted(file: &Path, trust: &mut Trust) -> Result<(), Vec<SourceError>> {
    use std::os::unix::fs::MetadataExt;
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    // Unreadable metadata is left to the read, which reports it.
    let Ok(dir_meta) = std::fs::metadata(&dir) else {
        return Ok(());
    };
    let me = rustix::process::geteuid().as_raw();
    let mut owners = Vec::new();
    if let Ok(meta) = std::fs::symlink_metadata(file) {
        owners.push(meta.uid());
    }
    if let Ok(meta) = std::fs::metadata(file) {
        owners.push(meta.uid());
    }
    match trust_rule(dir_meta.mode(), &owners, me) {
        Ok(()) => Ok(()),
        Err(Distrust::OpenDirectory) => {
            if trust.checked.insert(dir.clone()) {
                Err(vec![SourceError::OpenDirectory {
                    dir,
                    mode: dir_meta.mode(),
                }])
            } else {
                Err(Vec::new())
            }
        }
        Err(Distrust::Owner(owner)) => Err(vec![SourceError::ForeignFile {
            path: file.to_owned(),
            dir,
            owner,
            me,
        }]),
    }
}

/// Elsewhere there are no such modes to check.
#[cfg(not(unix))]
fn trusted(_file: &Path, _trust: &mut Trust) -> Result<(), Vec<SourceError>> {
    Ok(())
}

/// Why [`trust_rule`] distrusts a file.
#[derive(Debug, PartialEq, Eq)]
enum Distrust {
    /// Its directory is writable by everyone, without the sticky bit.
    OpenDirectory,
    /// Its directory is writable by everyone, and this other user owns it
    /// (or the file its link points to).
    Owner(u32),
}

/// The rule of [`trusted`], on the directory's mode, the owners of the
/// entry and of what it resolves to, and the user running provision.
/// Pure, so that each case is tested without creating users.
fn trust_rule(dir_mode: u32, owners: &[u32], me: u32) -> Result<(), Distrust> {
    const OTHER_WRITE: u32 = 0o002;
    const STICKY: u32 = 0o1000;
    const ROOT: u32 = 0;
    if dir_mode & OTHER_WRITE == 0 {
        return Ok(());
    }
    if dir_mode & STICKY == 0 {
        return Err(Distrust::OpenDirectory);
    }
    match owners.iter().find(|&&owner| owner != me && owner != ROOT) {
        Some(&owner) => Err(Distrust::Owner(owner)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_in_a_directory_everyone_may_write_to_must_be_yours_or_roots() {
        // Closed to others: whoever owns the file.
        assert_eq!(trust_rule(0o40755, &[1000], 1000), Ok(()));
        assert_eq!(trust_rule(0o40775, &[2000], 1000), Ok(()));
        // Open to everyone without the sticky bit: nothing there is safe.
        assert_eq!(
            trust_rule(0o40777, &[1000], 1000),
            Err(Distrust::OpenDirectory)
        );
        // Sticky and open (`/tmp`): yours or root's only, link and target.
        assert_eq!(trust_rule(0o41777, &[1000, 1000], 1000), Ok(()));
        assert_eq!(trust_rule(0o41777, &[0, 0], 1000), Ok(()));
        assert_eq!(
            trust_rule(0o41777, &[65534], 1000),
            Err(Distrust::Owner(65534))
        );
        assert_eq!(
            trust_rule(0o41777, &[1000, 65534], 1000),
            Err(Distrust::Owner(65534))
        );
        assert_eq!(
            trust_rule(0o41777, &[65534], 0),
            Err(Distrust::Owner(65534))
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_link_or_a_fifo_among_the_files_is_an_error_and_a_lock_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "").unwrap();
        std::os::unix::fs::symlink("nowhere", dir.path().join("b.toml")).unwrap();
        std::os::unix::fs::symlink("user@host.1", dir.path().join(".#a.toml")).unwrap();
        std::fs::create_dir(dir.path().join("c.toml")).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            dir.path().join("d.toml"),
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let (files, bad) = toml_files_in(dir.path()).unwrap();
        assert_eq!(files, vec![dir.path().join("a.toml")]);
        let bad: Vec<String> = bad.iter().map(ToString::to_string).collect();
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].ends_with("b.toml` is a symbolic link to a file that does not exist"));
        assert!(bad[1].ends_with("c.toml` is not a regular file"));
        assert!(bad[2].ends_with("d.toml` is not a regular file"));
        // A FIFO given by name is not waited on.
        assert!(matches!(
            read_limited(&dir.path().join("d.toml")),
            Err(ReadError::NotRegular)
        ));
    }
}
