//! Writing files in directories where someone else may have been first.
//!
//! provision writes two kinds of files: secret access keys
//! (`--credentials-dir`) and the clients files `onboard` and `offboard`
//! edit. Both are replaced atomically: the new content goes to a temporary
//! file, which is synced and renamed over the old name, and the directory is
//! synced, so a crash leaves the old file or the new one, never half of one.
//!
//! The temporary file is where an attacker would strike. A fixed name
//! opened with create-and-truncate follows a symbolic link planted there
//! (the secret lands in the attacker's file) and keeps the mode of a file
//! left there (a 0644 credentials file). So here the temporary name is
//! random, and it is created exclusively (`O_EXCL`), without following a
//! link (`O_NOFOLLOW`) and with mode 0600 from its first moment. Every
//! operation is relative to a descriptor of the directory opened once and
//! checked once, so the directory cannot be swapped for another one
//! between the check and the write. A symbolic link at the final name is
//! replaced by the rename, never followed.
//!
//! Which directories are acceptable depends on what goes in them (see
//! [`DirPolicy`]).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Mode of a credentials directory provision creates.
const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of a credentials file, and of every temporary file.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// How many random temporary names to try before giving up: a name is only
/// taken when someone planted a file there, or by a concurrent write.
const TEMP_ATTEMPTS: usize = 16;

/// Who may write to a directory provision writes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirPolicy {
    /// For secrets: the directory must not be a symbolic link, must belong
    /// to the user running provision and must not be writable by its group
    /// or by others. Whoever can write to the directory can replace a
    /// credentials file, or read the next one through a link of theirs if
    /// they get the timing right; so nobody else may. Created with mode
    /// 0700 when missing.
    Private,
    /// For clients files: the directory must not be writable by everyone
    /// (unless it is sticky, as `/tmp` is, where others cannot replace our
    /// files). A group-writable checkout is common and fine: the files are
    /// reviewed in git anyway.
    Shared,
}

/// Why a directory was refused or a file could not be written.
#[derive(Debug, Error)]
pub enum WriteError {
    /// The directory path is a symbolic link (refused for secrets).
    #[error(
        "`{}` is a symbolic link; whoever can change the link could redirect the secrets: give the directory it points to instead",
        .path.display()
    )]
    SymlinkDir {
        /// The directory given.
        path: PathBuf,
    },
    /// The path exists and is not a directory.
    #[error("`{}` is not a directory", .path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// Others may write to the directory.
    #[error(
        "`{}` is writable by {who} (mode {mode}), who could replace or redirect the files written there; run `chmod {fix} {}` or choose another directory",
        .path.display(),
        .path.display()
    )]
    Writable {
        /// The directory.
        path: PathBuf,
        /// "its group", "everyone", ...
        who: &'static str,
        /// Its mode, in octal.
        mode: Octal,
        /// The `chmod` argument that fixes it.
        fix: &'static str,
    },
    /// The directory belongs to another user (refused for secrets).
    #[error(
        "`{}` belongs to another user (uid {owner}; provision runs as uid {me}), who could read or replace the secrets written there; use a directory of your own",
        .path.display()
    )]
    Owner {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The user running provision.
        me: u32,
    },
    /// An operation on the file system failed.
    #[error("cannot {action} `{}`: {source}", .path.display())]
    Io {
        /// What was being done: "create", "write", ...
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
}

/// A file mode, shown in octal as `chmod` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Octal(pub u32);

impl fmt::Display for Octal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0 & 0o7777)
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_owned();
    move |source| WriteError::Io {
        action,
        path,
        source,
    }
}

/// A directory opened once and checked against a [`DirPolicy`]; every
/// file operation goes through its descriptor. Clones share the
/// descriptor, so that file work can move to a blocking thread.
#[derive(Debug, Clone)]
pub struct Dir {
    path: PathBuf,
    #[cfg(unix)]
    fd: std::sync::Arc<std::os::fd::OwnedFd>,
}

/// The most [`Dir::read`] reads: a credentials file is a few hundred bytes.
const MAX_READ_BYTES: u64 = 64 * 1024;

impl Dir {
    /// Opens the credentials directory `path`, creating it (and its missing
    /// parents) with mode 0700 when it does not exist, and checks it
    /// against [`DirPolicy::Private`].
    pub fn open_private(path: &Path) -> Result<Dir, WriteError> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut builder = std::fs::DirBuilder::new();
                builder.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, PRIVATE_DIR_MODE);
                builder.create(path).map_err(io_error("create", path))?;
            }
            Err(e) => return Err(io_error("read", path)(e)),
        }
        Dir::open(path, DirPolicy::Private)
    }

    /// Opens the existing directory `path` and checks it against `policy`.
    pub fn open(path: &Path, policy: DirPolicy) -> Result<Dir, WriteError> {
        // `Path::new("a.toml").parent()` is empty: the current directory.
        let shown = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        imp::open(shown, policy)
    }

    /// The directory as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces (or creates) `name` in this directory with `bytes`, mode
    /// `mode`, atomically and durably (see the module documentation).
    /// `owner`, when given, is the user and group the file should keep; it
    /// is set when the process may, and otherwise left to the system, as
    /// any editor's save would.
    pub fn write(
        &self,
        name: &str,
        bytes: &[u8],
        mode: u32,
        owner: Option<(u32, u32)>,
    ) -> Result<(), WriteError> {
        let path = self.path.join(name);
        imp::write(self, name, bytes, mode, owner).map_err(|(action, source)| WriteError::Io {
            action,
            path,
            source,
        })
    }

    /// Removes `name` from this directory and syncs the directory.
    pub fn remove(&self, name: &str) -> Result<(), WriteError> {
        imp::remove(self, name).map_err(io_error("remove", &self.path.join(name)))
    }

    /// Reads `name` in this directory, without following a symbolic link,
    /// and only when it is a regular file: the open does not block (a FIFO
    /// planted there would otherwise wait for a writer forever), and at
    /// most 64 KiB are read.
    pub fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        let file = imp::open_read(self, name)?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{}` is not a regular file", self.path.join(name).display()),
            ));
        }
        let mut bytes = Vec::new();
        file.take(MAX_READ_BYTES).read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// Why the directory with this `mode`, `owner` and link status breaks
/// `policy`, if it does; `me` is the user running provision. Pure, so each
/// rule is tested without creating users.
fn check(
    path: &Path,
    policy: DirPolicy,
    is_dir: bool,
    mode: u32,
    owner: u32,
    me: u32,
) -> Result<(), WriteError> {
    const GROUP_WRITE: u32 = 0o020;
    const OTHER_WRITE: u32 = 0o002;
    const STICKY: u32 = 0o1000;
    let path = path.to_owned();
    if !is_dir {
        return Err(WriteError::NotADirectory { path });
    }
    let mode_shown = Octal(mode);
    match policy {
        DirPolicy::Private => {
            if owner != me {
                return Err(WriteError::Owner { path, owner, me });
            }
            if mode & (GROUP_WRITE | OTHER_WRITE) != 0 {
                return Err(WriteError::Writable {
                    path,
                    who: if mode & OTHER_WRITE != 0 {
                        "everyone"
                    } else {
                        "its group"
                    },
                    mode: mode_shown,
                    fix: "go-w",
                });
            }
        }
        DirPolicy::Shared => {
            if mode & OTHER_WRITE != 0 && mode & STICKY == 0 {
                return Err(WriteError::Writable {
                    path,
                    who: "everyone",
                    mode: mode_shown,
                    fix: "o-w",
                });
            }
        }
    }
    Ok(())
}

/// A temporary name next to `name`: hidden, recognisably provision's, and
/// random, so that nobody can plant a file under it ahead of time (and if
/// somebody does, `O_EXCL` refuses it and another name is tried).
fn temp_name(name: &str) -> String {
    use std::hash::{BuildHasher, RandomState};
    // `RandomState` is seeded from the operating system's randomness; the
    // time and process id make two names drawn in a row differ.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let random = RandomState::new().hash_one((nanos, std::process::id()));
    format!(".{name}.{random:016x}.provision-tmp")
}

#[cfg(unix)]
mod imp {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;

    use rustix::fs::{AtFlags, Mode, OFlags};

    use super::*;

    pub(super) fn open(path: &Path, policy: DirPolicy) -> Result<Dir, WriteError> {
        let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if policy == DirPolicy::Private {
            flags |= OFlags::NOFOLLOW;
        }
        let fd = match rustix::fs::openat(rustix::fs::CWD, path, flags, Mode::empty()) {
            Ok(fd) => fd,
            // `O_NOFOLLOW` on a link gives ELOOP; `O_DIRECTORY` on a link
            // to a non-directory may give ENOTDIR first: ask which it is.
            Err(e) if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::NOTDIR => {
                let meta = std::fs::symlink_metadata(path).map_err(io_error("open", path))?;
                return Err(
                    if meta.file_type().is_symlink() && policy == DirPolicy::Private {
                        WriteError::SymlinkDir {
                            path: path.to_owned(),
                        }
                    } else {
                        WriteError::NotADirectory {
                            path: path.to_owned(),
                        }
                    },
                );
            }
            Err(e) => return Err(io_error("open", path)(e.into())),
        };
        // fstat on the descriptor: the directory checked is the one used.
        let meta = File::from(fd.try_clone().map_err(io_error("open", path))?)
            .metadata()
            .map_err(io_error("read", path))?;
        check(
            path,
            policy,
            meta.is_dir(),
            meta.mode(),
            meta.uid(),
            rustix::process::geteuid().as_raw(),
        )?;
        Ok(Dir {
            path: path.to_owned(),
            fd: std::sync::Arc::new(fd),
        })
    }

    type Failure = (&'static str, io::Error);

    pub(super) fn write(
        dir: &Dir,
        name: &str,
        bytes: &[u8],
        mode: u32,
        owner: Option<(u32, u32)>,
    ) -> Result<(), Failure> {
        let (tmp, fd) = create_temp(dir, name)?;
        let result = (|| -> Result<(), Failure> {
            let mut file = File::from(fd);
            file.write_all(bytes).map_err(|e| ("write", e))?;
            if let Some((uid, gid)) = owner {
                set_owner(&file, uid, gid);
            }
            // After any chown, which clears set-id bits.
            if mode != PRIVATE_FILE_MODE {
                rustix::fs::fchmod(&file, Mode::from_raw_mode(mode))
                    .map_err(|e| ("write", e.into()))?;
            }
            file.sync_all().map_err(|e| ("write", e))?;
            rustix::fs::renameat(&dir.fd, &tmp, &dir.fd, name)
                .map_err(|e| ("replace", e.into()))?;
            rustix::fs::fsync(&dir.fd).map_err(|e| ("sync the directory of", e.into()))
        })();
        if result.is_err() {
            // Gone already when only the directory sync failed.
            let _ = rustix::fs::unlinkat(&dir.fd, &tmp, AtFlags::empty());
        }
        result
    }

    /// Creates a fresh temporary file for `name`, exclusively, without
    /// following links, mode 0600.
    fn create_temp(dir: &Dir, name: &str) -> Result<(String, std::os::fd::OwnedFd), Failure> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut last = None;
        for _ in 0..TEMP_ATTEMPTS {
            let tmp = temp_name(name);
            match rustix::fs::openat(
                &dir.fd,
                tmp.as_str(),
                flags,
                Mode::from_raw_mode(PRIVATE_FILE_MODE),
            ) {
                Ok(fd) => return Ok((tmp, fd)),
                Err(e) if e == rustix::io::Errno::EXIST => last = Some(e),
                Err(e) => return Err(("create a temporary file for", e.into())),
            }
        }
        let err = last.map_or_else(|| io::Error::other("no name was free"), io::Error::from);
        Err(("create a temporary file for", err))
    }

    /// Gives the new file the old one's owner and group where the process
    /// may: root may set both, a user only a group it belongs to.
    fn set_owner(file: &File, uid: u32, gid: u32) {
        let Ok(meta) = file.metadata() else { return };
        if meta.uid() == uid && meta.gid() == gid {
            return;
        }
        let uid = rustix::fs::Uid::from_raw(uid);
        let gid = rustix::fs::Gid::from_raw(gid);
        if rustix::fs::fchown(file, Some(uid), Some(gid)).is_err() {
            let _ = rustix::fs::fchown(file, None, Some(gid));
        }
    }

    pub(super) fn remove(dir: &Dir, name: &str) -> io::Result<()> {
        rustix::fs::unlinkat(&dir.fd, name, AtFlags::empty())?;
        rustix::fs::fsync(&dir.fd)?;
        Ok(())
    }

    pub(super) fn open_read(dir: &Dir, name: &str) -> io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(dir.fd.as_fd(), name, flags, Mode::empty())?;
        Ok(File::from(fd))
    }
}

/// Elsewhere, the same steps by path, with what the standard library
/// offers: an exclusive create of a random name, then a rename.
#[cfg(not(unix))]
mod imp {
    use super::*;

    pub(super) fn open(path: &Path, _policy: DirPolicy) -> Result<Dir, WriteError> {
        let meta = std::fs::metadata(path).map_err(io_error("open", path))?;
        if !meta.is_dir() {
            return Err(WriteError::NotADirectory {
                path: path.to_owned(),
            });
        }
        Ok(Dir {
            path: path.to_owned(),
        })
    }

    pub(super) fn write(
        dir: &Dir,
        name: &str,
        bytes: &[u8],
        _mode: u32,
        _owner: Option<(u32, u32)>,
    ) -> Result<(), (&'static str, io::Error)> {
        let tmp = dir.path.join(temp_name(name));
        let result = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| ("create a temporary file for", e))?;
            file.write_all(bytes).map_err(|e| ("write", e))?;
            file.sync_all().map_err(|e| ("write", e))?;
            std::fs::rename(&tmp, dir.path.join(name)).map_err(|e| ("replace", e))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    pub(super) fn remove(dir: &Dir, name: &str) -> io::Result<()> {
        std::fs::remove_file(dir.path.join(name))
    }

    pub(super) fn open_read(dir: &Dir, name: &str) -> io::Result<File> {
        File::open(dir.path.join(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_directory_must_be_the_users_own_and_closed_to_others() {
        let p = Path::new("creds");
        assert!(check(p, DirPolicy::Private, true, 0o40700, 1000, 1000).is_ok());
        // Readable by others is fine: the files themselves are 0600.
        assert!(check(p, DirPolicy::Private, true, 0o40755, 1000, 1000).is_ok());
        let err = check(p, DirPolicy::Private, true, 0o40770, 1000, 1000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`creds` is writable by its group (mode 0770), who could replace or redirect the files written there; run `chmod go-w creds` or choose another directory"
        );
        let err = check(p, DirPolicy::Private, true, 0o41777, 1000, 1000).unwrap_err();
        assert!(err.to_string().contains("writable by everyone"), "{err}");
        let err = check(p, DirPolicy::Private, true, 0o40700, 0, 1000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`creds` belongs to another user (uid 0; provision runs as uid 1000), who could read or replace the secrets written there; use a directory of your own"
        );
        assert!(matches!(
            check(p, DirPolicy::Private, false, 0o100600, 1000, 1000),
            Err(WriteError::NotADirectory { .. })
        ));
    }

    #[test]
    fn a_shared_directory_may_be_group_writable_or_sticky_but_not_open_to_all() {
        let p = Path::new("clients");
        assert!(check(p, DirPolicy::Shared, true, 0o40775, 1000, 0).is_ok());
        assert!(check(p, DirPolicy::Shared, true, 0o41777, 1000, 1000).is_ok());
        let err = check(p, DirPolicy::Shared, true, 0o40777, 1000, 1000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`clients` is writable by everyone (mode 0777), who could replace or redirect the files written there; run `chmod o-w clients` or choose another directory"
        );
    }

    #[test]
    fn temporary_names_differ_and_stay_hidden() {
        let a = temp_name("acme-app.json");
        let b = temp_name("acme-app.json");
        assert_ne!(a, b);
        assert!(a.starts_with(".acme-app.json.") && a.ends_with(".provision-tmp"));
    }
}
