//! Where secret access keys go, against a real IAM API: never into a CI
//! log by default, exactly once by each delivery, never through a file or
//! directory someone else prepared, and never lost to a closed pipe.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{TestEnv, block_on, provision_process, read_key, stderr, stdout};

const ACME: &str = r#"
[settings]
path = "/provision/"

[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "acme"
buckets = ["acme-assets"]
developers = ["alice"]
"#;

const GLOBEX: &str = r#"
[[clients]]
name = "globex"
bucket_prefixes = ["globex-"]
"#;

/// The shared environment, with acme's and globex's files in `clients/`.
type Env = TestEnv;

impl TestEnv {
    fn new() -> TestEnv {
        TestEnv::with_files(&[("acme.toml", ACME), ("globex.toml", GLOBEX)])
    }

    /// The access key ids `user` holds in the account.
    fn keys_of(&self, user: &str) -> Vec<String> {
        block_on(async {
            let out = self
                .iam()
                .list_access_keys()
                .user_name(user)
                .send()
                .await
                .unwrap();
            out.access_key_metadata()
                .iter()
                .filter_map(|k| k.access_key_id().map(str::to_owned))
                .collect()
        })
    }

    /// The key recorded on `user` as delivered, if any.
    fn recorded_key(&self, user: &str) -> Option<String> {
        block_on(async {
            let out = self
                .iam()
                .list_user_tags()
                .user_name(user)
                .send()
                .await
                .unwrap();
            out.tags()
                .iter()
                .find(|t| t.key() == "provision:access-key")
                .map(|t| t.value().to_owned())
        })
    }
}

/// The secret access keys printed in `text` (`SecretAccessKey=...`).
fn printed_secrets(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split("SecretAccessKey=").nth(1))
        .map(|s| s.trim().to_owned())
        .collect()
}

/// Runs `command` with a pseudo-terminal as its standard output (stdin and
/// stderr stay pipes), and returns its exit code and what it printed on
/// the terminal.
#[cfg(unix)]
fn run_on_a_terminal(mut command: Command) -> (i32, String) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let terminal = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    // Read everything the child writes, or the small terminal buffer would
    // block it; reading ends (EIO) once every copy of the terminal closed.
    let mut master = fs::File::from(master);
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = master.read(&mut chunk) {
            if n == 0 {
                break;
            }
            text.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&text).into_owned()
    });
    command.stdout(Stdio::from(terminal));
    let status = command.status().unwrap();
    drop(command);
    (status.code().unwrap(), reader.join().unwrap())
}

/// The CI default: stdout is a pipe (as in every CI job), no delivery is
/// named, keys would be created. The plan is shown, apply refuses, and
/// nothing is written.
#[test]
fn without_a_terminal_apply_refuses_to_create_keys_until_a_delivery_is_named() {
    let env = Env::new();
    env.proxy.clear();
    let out = env
        .cmd()
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .assert()
        .failure()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains(
            "refusing to apply: it would create new access keys for `acme-app` and `globex-app`"
        ),
        "{err}"
    );
    assert!(
        err.contains("--credentials-dir DIR") && err.contains("--print-secrets"),
        "{err}"
    );
    assert!(
        stdout(&out).contains("+ access-key acme-app"),
        "{}",
        stdout(&out)
    );
    assert!(printed_secrets(&stdout(&out)).is_empty());
    assert_eq!(env.proxy.writes(), Vec::<String>::new());

    // A plan that creates no key needs no delivery.
    env.apply(&env.clients()).success();
    env.write(
        "acme.toml",
        &ACME.replace("developers = [\"alice\"]", "developers = []"),
    );
    env.cmd()
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .assert()
        .success();
}

/// The same rule for a saved plan and for `rotate-key`.
#[test]
fn without_a_terminal_saved_plans_and_rotations_refuse_to_create_keys_too() {
    let env = Env::new();
    let saved = env.dir.path().join("plan.json");
    env.cmd()
        .arg("plan")
        .arg(env.clients())
        .arg("--out")
        .arg(&saved)
        .assert()
        .success();
    env.proxy.clear();
    let out = env
        .cmd()
        .arg("apply")
        .arg(&saved)
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr(&out).contains("refusing to apply"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.proxy.writes(), Vec::<String>::new());

    env.apply(&env.clients()).success();
    env.proxy.clear();
    let out = env
        .cmd()
        .args(["rotate-key", "alice"])
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr(&out)
            .contains("refusing to rotate the key: it would create new access keys for `alice`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert!(env.keys_of("alice").is_empty());

    // Asked for by name, the new key is printed once.
    let out = env
        .cmd()
        .args(["rotate-key", "alice", "--print-secrets"])
        .assert()
        .success();
    let secrets = printed_secrets(&stdout(&out));
    assert_eq!(secrets.len(), 1, "{}", stdout(&out));
    assert!(!stderr(&out).contains(&secrets[0]));
    assert_eq!(env.keys_of("alice").len(), 1);
}

/// `--credentials-dir`: each secret is in its file, exactly once, and
/// printed nowhere; nothing else is left in the directory.
#[test]
fn the_credentials_dir_gets_each_secret_once_and_the_output_none() {
    let env = Env::new();
    let out = env.apply(&env.clients()).success();
    let mut names: Vec<String> = fs::read_dir(env.creds())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["acme-app.json", "globex-app.json"]);
    for user in ["acme-app", "globex-app"] {
        let (id, secret) = read_key(&env.creds(), user);
        assert_eq!(env.recorded_key(user).as_deref(), Some(id.as_str()));
        assert_eq!(env.keys_of(user), [id]);
        assert!(!stdout(&out).contains(&secret));
        assert!(!stderr(&out).contains(&secret));
    }
}

/// `--print-secrets`: printed once on stdout, in no file, never on stderr.
#[test]
fn print_secrets_prints_each_secret_exactly_once() {
    let env = Env::new();
    let out = env
        .cmd()
        .arg("apply")
        .arg(env.clients())
        .args(["--yes", "--print-secrets"])
        .assert()
        .success();
    let text = stdout(&out);
    let secrets = printed_secrets(&text);
    assert_eq!(secrets.len(), 2, "{text}");
    for secret in &secrets {
        assert_eq!(text.matches(secret.as_str()).count(), 1);
        assert!(!stderr(&out).contains(secret.as_str()));
    }
    assert!(!env.creds().exists());
    for user in ["acme-app", "globex-app"] {
        assert_eq!(env.keys_of(user).len(), 1);
        assert!(env.recorded_key(user).is_some());
    }
}

/// On a terminal, printing stays the default, once per secret.
#[cfg(unix)]
#[test]
fn on_a_terminal_secrets_are_printed_once_by_default() {
    let env = Env::new();
    let mut command = provision_process(&env.proxy.url());
    command
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let (code, text) = run_on_a_terminal(command);
    assert_eq!(code, 0, "{text}");
    let secrets = printed_secrets(&text);
    assert_eq!(secrets.len(), 2, "{text}");
    for secret in &secrets {
        assert_eq!(text.matches(secret.as_str()).count(), 1);
    }
    for user in ["acme-app", "globex-app"] {
        assert!(env.recorded_key(user).is_some());
    }
}

/// `apply --print-secrets | head`: the reader goes away after the plan.
/// The secrets cannot be printed, so nobody holds them: apply fails naming
/// the users, the keys are not recorded, and they are deleted; the next
/// apply delivers new ones.
#[test]
fn a_secret_lost_to_a_closed_pipe_fails_the_apply_and_its_key_is_deleted() {
    let env = Env::new();
    // Keeps the process busy after the plan, well after the test has
    // closed its end of the pipe.
    env.proxy.set_faults(common::Faults {
        latency: Duration::from_millis(300),
        actions: vec!["CreateAccessKey".into()],
        ..common::Faults::default()
    });
    let mut child = provision_process(&env.proxy.url())
        .arg("apply")
        .arg(env.clients())
        .args(["--yes", "--print-secrets"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        assert_ne!(
            lines.read_line(&mut line).unwrap(),
            0,
            "no plan was printed"
        );
        if line.starts_with("Plan: ") {
            break;
        }
    }
    drop(lines);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "the secrets of the new access keys of `acme-app` and `globex-app` could not be printed"
        ),
        "{err}"
    );
    assert!(err.contains("the keys were deleted again"), "{err}");
    for user in ["acme-app", "globex-app"] {
        assert_eq!(env.keys_of(user), Vec::<String>::new(), "{user}");
        assert_eq!(env.recorded_key(user), None, "{user}");
    }

    env.proxy.set_faults(common::Faults::default());
    env.apply(&env.clients()).success();
    for user in ["acme-app", "globex-app"] {
        let (id, _) = read_key(&env.creds(), user);
        assert_eq!(env.keys_of(user), [id]);
    }
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}

/// A link planted where earlier versions put their temporary file, and a
/// link planted at the credentials file itself: neither receives the
/// secret, and the file is private.
#[cfg(unix)]
#[test]
fn links_planted_in_the_credentials_dir_never_receive_a_secret() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let env = Env::new();
    let creds = env.creds();
    fs::create_dir(&creds).unwrap();
    fs::set_permissions(&creds, fs::Permissions::from_mode(0o700)).unwrap();
    let loot = env.dir.path().join("loot");
    fs::write(&loot, "").unwrap();
    symlink(&loot, creds.join(".acme-app.json.tmp")).unwrap();
    symlink(&loot, creds.join("globex-app.json")).unwrap();
    env.apply(&env.clients()).success();
    assert_eq!(fs::read_to_string(&loot).unwrap(), "");
    for user in ["acme-app", "globex-app"] {
        let file = creds.join(format!("{user}.json"));
        let meta = fs::symlink_metadata(&file).unwrap();
        assert!(meta.file_type().is_file(), "{user}");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{user}");
        let (id, _) = read_key(&creds, user);
        assert_eq!(env.keys_of(user), [id]);
    }
}

/// A credentials directory someone else could write to (or reach through a
/// link) is refused before any write.
#[cfg(unix)]
#[test]
fn a_credentials_dir_others_could_tamper_with_is_refused_before_any_write() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let env = Env::new();
    let shared = env.dir.path().join("shared");
    fs::create_dir(&shared).unwrap();
    let link = env.dir.path().join("link");
    symlink(&shared, &link).unwrap();
    for (dir, mode, message) in [
        (&shared, 0o777, "is writable by everyone (mode 0777)"),
        (&shared, 0o770, "is writable by its group (mode 0770)"),
        (&link, 0o700, "is a symbolic link"),
    ] {
        fs::set_permissions(&shared, fs::Permissions::from_mode(mode)).unwrap();
        env.proxy.clear();
        let out = env
            .cmd()
            .arg("apply")
            .arg(env.clients())
            .arg("--yes")
            .arg("--credentials-dir")
            .arg(dir)
            .assert()
            .failure()
            .code(1);
        let err = stderr(&out);
        assert!(err.contains(message), "{err}");
        assert!(err.contains("nothing was changed"), "{err}");
        assert_eq!(env.proxy.writes(), Vec::<String>::new());
        assert_eq!(fs::read_dir(&shared).unwrap().count(), 0);
    }
}

/// A credentials directory that does not exist yet is created, closed to
/// others.
#[test]
fn a_missing_credentials_dir_is_created_private() {
    let env = Env::new();
    let nested = env.dir.path().join("a/b/creds");
    env.cmd()
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(&nested)
        .assert()
        .success();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&nested).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    assert!(Path::new(&nested.join("acme-app.json")).is_file());
}

/// Runs `apply clients/ --yes --credentials-dir CREDS` as a process and
/// waits at most `limit`; on a hang, kills it and fails naming `what`.
fn apply_within(env: &Env, limit: Duration, what: &str) -> std::process::Output {
    let mut child = provision_process(&env.proxy.url())
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .arg("--credentials-dir")
        .arg(env.creds())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("apply hung on {what} for {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(path: &Path) {
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        path,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
}

/// A FIFO at `DIR/<user>.json` (a careless operator's leftover, or a
/// process waiting to read what lands there) must not hang apply, which
/// holds the apply lock while it runs: the FIFO is never opened for
/// reading, not even when there is an unrecorded key whose secret might
/// be in it, and the delivery replaces it with the credentials file.
#[cfg(unix)]
#[test]
fn a_fifo_at_the_credentials_file_does_not_hang_apply() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let creds = env.creds();
    fs::create_dir(&creds).unwrap();
    fs::set_permissions(&creds, fs::Permissions::from_mode(0o700)).unwrap();
    let fifo = creds.join("acme-app.json");
    mkfifo(&fifo);
    let out = apply_within(&env, Duration::from_secs(30), "a FIFO with no key to adopt");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fs::symlink_metadata(&fifo).unwrap().is_file());
    let (id, _) = read_key(&creds, "acme-app");
    assert_eq!(env.keys_of("acme-app"), std::slice::from_ref(&id));
    // The key loses its record (an apply cut off before it tagged the
    // user), and a FIFO takes the file's place: the orphan cannot be
    // adopted from it, so it is replaced, without waiting on the FIFO.
    block_on(async {
        env.iam()
            .untag_user()
            .user_name("acme-app")
            .tag_keys("provision:access-key")
            .send()
            .await
            .unwrap();
    });
    fs::remove_file(&fifo).unwrap();
    mkfifo(&fifo);
    let out = apply_within(&env, Duration::from_secs(30), "a FIFO with a key to adopt");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (new, _) = read_key(&creds, "acme-app");
    assert_ne!(new, id);
    assert_eq!(env.keys_of("acme-app"), [new]);
    assert_eq!(env.plan_exit(&env.clients()).0, 0);
}
