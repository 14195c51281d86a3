//! `onboard` and `offboard` as file editors, through the real binary: what
//! they keep (comments, modes), what they refuse, what they check, and
//! that a failed edit leaves every file exactly as it was.
//!
//! None of these commands is given `--apply`, so the only AWS calls are
//! the reads of the plan printed after the edit.

mod common;

use std::fs;
use std::path::Path;

use common::{TestEnv, stderr};

const ACME: &str = r#"# Acme: the agency's first client.
# Reviewed by the platform team.

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

[[clients]]
name = "acme"
buckets = ["acme-assets"]
developers = [
    "alice",  # team lead
    # contractors below
    "bob",  # leaving in March
]
"#;

/// Declares bob and nothing else, as a team file shared by client files.
const TEAM: &str = "# The team.\n\n[[developers]]\nname = \"bob\"\n";

const GLOBEX: &str = r#"# Globex: exports only.
[[developers]]
name = "bob"
expires = 2027-03-31

[[clients]]
name = "globex"
bucket_prefixes = ["globex-"]
developers = ["bob"]   # the only one
"#;

type Env = TestEnv;

/// Every file of `dir` with its bytes and mode, to compare before and after.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, u32)> {
    let mut files: Vec<(String, Vec<u8>, u32)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&path).unwrap(),
                mode(&path),
            )
        })
        .collect();
    files.sort();
    files
}

fn mode(path: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        0
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Offboarding from a directory: every comment that is not bob's stays
/// where it was, in every file, including a file's opening comment.
#[test]
fn offboarding_keeps_every_comment_that_is_not_the_developers_own() {
    let env = Env::with_files(&[("acme.toml", ACME), ("globex.toml", GLOBEX)]);
    env.cmd()
        .args(["offboard", "bob"])
        .arg(env.clients())
        .assert()
        .success();
    let acme = ACME
        .replace(
            "\n# Bob is a contractor.\n[[developers]]\nname = \"bob\"\n# until the end of the engagement\nexpires = 2027-03-31\n",
            "",
        )
        .replace("    \"bob\",  # leaving in March\n", "");
    assert_eq!(fs::read_to_string(env.file("acme.toml")).unwrap(), acme);
    assert_eq!(
        fs::read_to_string(env.file("globex.toml")).unwrap(),
        "# Globex: exports only.\n\n[[clients]]\nname = \"globex\"\nbucket_prefixes = [\"globex-\"]\ndevelopers = []   # the only one\n"
    );
}

/// Onboarding after a member with a comment: the comment stays on its
/// line, the new member gets a line of its own, and its declaration
/// follows the last one.
#[test]
fn onboarding_keeps_the_last_members_comment_on_its_line() {
    let env = Env::with_files(&[("acme.toml", ACME)]);
    env.cmd()
        .current_dir(env.dir.path())
        .args(["onboard", "carol", "--client", "acme"])
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(env.file("acme.toml")).unwrap(),
        ACME.replace(
            "    \"bob\",  # leaving in March\n",
            "    \"bob\",  # leaving in March\n    \"carol\",\n"
        )
        .replace(
            "expires = 2027-03-31\n",
            "expires = 2027-03-31\n\n[[developers]]\nname = \"carol\"\n"
        )
    );
}

/// A file that only declared the developer would declare nothing, which
/// the configuration refuses: offboarding deletes it and says so.
#[test]
fn offboarding_the_only_declaration_of_a_developers_only_file_deletes_it() {
    let env = Env::with_files(&[
        ("acme.toml", &ACME.replace("# Bob is a contractor.\n[[developers]]\nname = \"bob\"\n# until the end of the engagement\nexpires = 2027-03-31\n", "")),
        ("team.toml", TEAM),
    ]);
    env.cmd()
        .arg("validate")
        .arg(env.clients())
        .assert()
        .success();
    let out = env
        .cmd()
        .args(["offboard", "bob"])
        .arg(env.clients())
        .assert()
        .success();
    let err = stderr(&out);
    assert!(
        err.contains(
            "team.toml`: it declared only `bob`, and a file that declares nothing is refused"
        ),
        "{err}"
    );
    assert!(!env.file("team.toml").exists());
    assert!(
        !fs::read_to_string(env.file("acme.toml"))
            .unwrap()
            .contains("bob")
    );
    env.cmd()
        .arg("validate")
        .arg(env.clients())
        .assert()
        .success();
}

/// `--file F` checks the whole directory F lives in: a developer named
/// like another file's application user is refused, and F is put back.
#[test]
fn onboard_with_file_checks_the_whole_directory() {
    let env = Env::with_files(&[("acme.toml", ACME), ("globex.toml", GLOBEX)]);
    let before = snapshot(&env.clients());
    env.proxy.clear();
    let out = env
        .cmd()
        .args(["onboard", "globex-app", "--client", "acme", "--file"])
        .arg(env.file("acme.toml"))
        .assert()
        .failure()
        .code(1);
    let err = stderr(&out);
    assert!(err.contains("globex-app"), "{err}");
    assert!(err.contains("left unchanged"), "{err}");
    assert_eq!(snapshot(&env.clients()), before);
    assert_eq!(env.proxy.calls(), Vec::<String>::new());

    // `--file` names the file of the client, not another one.
    let out = env
        .cmd()
        .args(["onboard", "carol", "--client", "globex", "--file"])
        .arg(env.file("acme.toml"))
        .assert()
        .failure()
        .code(1);
    assert!(stderr(&out).contains("is declared in"), "{}", stderr(&out));
    assert_eq!(snapshot(&env.clients()), before);
}

/// Top-level inline arrays pass validation, so the editors take them too.
#[test]
fn onboard_and_offboard_edit_inline_arrays() {
    let inline = r#"# Everything inline.
clients = [
    { name = "acme", buckets = ["acme-assets"], developers = ["alice", "bob"] },  # main
]
developers = [{ name = "alice" }, { name = "bob" }]
"#;
    let env = Env::with_files(&[("acme.toml", inline)]);
    env.cmd()
        .arg("validate")
        .arg(env.clients())
        .assert()
        .success();
    env.cmd()
        .current_dir(env.dir.path())
        .args(["onboard", "carol", "--client", "acme"])
        .assert()
        .success();
    env.cmd()
        .current_dir(env.dir.path())
        .args(["offboard", "bob"])
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(env.file("acme.toml")).unwrap(),
        r#"# Everything inline.
clients = [
    { name = "acme", buckets = ["acme-assets"], developers = ["alice", "carol"] },  # main
]
developers = [{ name = "alice" }, { name = "carol" }]
"#
    );
    env.cmd()
        .arg("validate")
        .arg(env.clients())
        .assert()
        .success();
}

/// Any failure puts every edited file back byte for byte, with its mode,
/// including a file the edit deleted.
#[cfg(unix)]
#[test]
fn a_failed_edit_puts_every_file_back_byte_for_byte() {
    // acme lists bob, team declares him; globex, next to them but not
    // given, lists him too, so taking him out of the two files given
    // leaves globex referring to nobody.
    let env = Env::with_files(&[
        ("acme.toml", &ACME.replace("# Bob is a contractor.\n[[developers]]\nname = \"bob\"\n# until the end of the engagement\nexpires = 2027-03-31\n", "")),
        ("team.toml", TEAM),
        (
            "globex.toml",
            &GLOBEX.replace("[[developers]]\nname = \"bob\"\nexpires = 2027-03-31\n\n", ""),
        ),
    ]);
    set_mode(&env.file("acme.toml"), 0o640);
    set_mode(&env.file("team.toml"), 0o604);
    env.cmd()
        .arg("validate")
        .arg(env.clients())
        .assert()
        .success();
    let before = snapshot(&env.clients());
    let out = env
        .cmd()
        .args(["offboard", "bob"])
        .arg(env.file("acme.toml"))
        .arg(env.file("team.toml"))
        .assert()
        .failure()
        .code(1);
    let err = stderr(&out);
    assert!(err.contains("left unchanged"), "{err}");
    assert!(err.contains("globex.toml"), "{err}");
    assert_eq!(snapshot(&env.clients()), before);
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
}

/// The edited file keeps its mode, and a link planted where earlier
/// versions put their temporary file neither receives the text nor takes
/// the file's place.
#[cfg(unix)]
#[test]
fn onboard_writes_no_file_through_a_planted_link_and_keeps_the_mode() {
    let env = Env::with_files(&[("acme.toml", ACME)]);
    set_mode(&env.file("acme.toml"), 0o640);
    let loot = env.dir.path().join("loot");
    fs::write(&loot, "").unwrap();
    std::os::unix::fs::symlink(&loot, env.file(".acme.toml.provision-tmp")).unwrap();
    env.cmd()
        .current_dir(env.dir.path())
        .args(["onboard", "carol", "--client", "acme"])
        .assert()
        .success();
    assert_eq!(fs::read_to_string(&loot).unwrap(), "");
    let file = env.file("acme.toml");
    assert!(fs::symlink_metadata(&file).unwrap().file_type().is_file());
    assert_eq!(mode(&file), 0o640);
    assert!(fs::read_to_string(&file).unwrap().contains("\"carol\""));
    // Only the planted link is left next to it: no temporary file.
    let names: Vec<String> = snapshot(&env.clients()).into_iter().map(|f| f.0).collect();
    assert_eq!(names, [".acme.toml.provision-tmp", "acme.toml"]);
}

/// A clients file that is a symbolic link would be replaced by a copy:
/// it is refused, and nothing changes.
#[cfg(unix)]
#[test]
fn a_clients_file_that_is_a_link_is_refused_not_replaced() {
    let env = Env::start();
    let real = env.dir.path().join("acme.toml");
    fs::write(&real, ACME).unwrap();
    std::os::unix::fs::symlink(&real, env.file("acme.toml")).unwrap();
    let out = env
        .cmd()
        .current_dir(env.dir.path())
        .args(["onboard", "carol", "--client", "acme"])
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr(&out).contains("is a symbolic link"),
        "{}",
        stderr(&out)
    );
    assert!(
        fs::symlink_metadata(env.file("acme.toml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), ACME);
}

/// A directory everyone may write to is refused before any file changes.
#[cfg(unix)]
#[test]
fn a_clients_dir_everyone_may_write_to_is_refused() {
    let env = Env::with_files(&[("acme.toml", ACME)]);
    set_mode(&env.clients(), 0o777);
    let before = snapshot(&env.clients());
    let out = env
        .cmd()
        .current_dir(env.dir.path())
        .args(["offboard", "bob"])
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr(&out).contains("is writable by everyone"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&env.clients()), before);
}

/// A client's developers written as an array of tables
/// (`[[clients.developers]]`), which validation accepts: offboarding a
/// developer removes its tables there, as it removes `"bob"` from a list,
/// with `--keep-user` too; onboarding adds a table after the last one.
#[test]
fn offboard_removes_a_member_written_as_an_array_of_tables() {
    let text = r#"[[developers]]
name = "alice"

[[developers]]
name = "bob"

[[clients]]
name = "acme"
buckets = ["acme-assets"]

[[clients.developers]]
name = "alice"

[[clients.developers]]
name = "bob"
"#;
    let env = Env::with_files(&[("acme.toml", text)]);
    env.cmd()
        .arg("validate")
        .arg(env.clients())
        .assert()
        .success();
    let out = env
        .cmd()
        .args(["offboard", "bob", "--keep-user"])
        .arg(env.clients())
        .assert()
        .success();
    let after = fs::read_to_string(env.file("acme.toml")).unwrap();
    assert_eq!(
        after.matches("\"bob\"").count(),
        1,
        "{after}\n{}",
        stderr(&out)
    );
    assert!(
        after.contains("name = \"bob\"\ndisabled = true\n"),
        "{after}"
    );
    env.write("acme.toml", text);
    let out = env
        .cmd()
        .args(["offboard", "bob"])
        .arg(env.clients())
        .assert()
        .success();
    let after = fs::read_to_string(env.file("acme.toml")).unwrap();
    assert!(
        !after.contains("\"bob\""),
        "offboard left bob:\n{}\n{after}",
        stderr(&out)
    );
    env.cmd()
        .args(["onboard", "carol", "--client", "acme"])
        .arg("--file")
        .arg(env.file("acme.toml"))
        .assert()
        .success();
    let after = fs::read_to_string(env.file("acme.toml")).unwrap();
    assert!(
        after.ends_with(
            "[[clients.developers]]\nname = \"alice\"\n\n[[clients.developers]]\nname = \"carol\"\n"
        ),
        "{after}"
    );
}

/// A clients file with Windows line endings: onboarding adds one line to
/// a list and a declaration, and every line it does not touch stays
/// byte-identical, CR included; the new lines end in CRLF too.
#[test]
fn onboard_keeps_the_line_endings_of_a_crlf_file() {
    let text = "[[developers]]\r\nname = \"alice\"\r\n\r\n[[clients]]\r\nname = \"acme\"\r\nbuckets = [\"acme-assets\"]\r\ndevelopers = [\r\n  \"alice\", # lead\r\n]\r\n";
    let env = Env::with_files(&[("acme.toml", text)]);
    env.cmd()
        .args([
            "onboard",
            "bob",
            "--client",
            "acme",
            "--email",
            "bob@example.com",
        ])
        .arg("--file")
        .arg(env.file("acme.toml"))
        .assert()
        .success();
    let after = fs::read_to_string(env.file("acme.toml")).unwrap();
    assert!(after.contains("  \"bob\",\r\n"), "{after:?}");
    assert!(
        after.contains("email = \"bob@example.com\"\r\n"),
        "{after:?}"
    );
    for line in text.split_inclusive("\r\n") {
        assert!(
            after.contains(line),
            "the untouched line {line:?} changed:\n{after:?}"
        );
    }
    assert_eq!(
        after.matches('\n').count(),
        after.matches("\r\n").count(),
        "{after:?}"
    );
}

/// A UTF-8 byte-order mark, which some Windows editors write and the
/// loader accepts, stays first in a file `offboard` edits.
#[test]
fn offboard_keeps_the_byte_order_mark() {
    let text = format!("\u{FEFF}{ACME}");
    let env = Env::with_files(&[("acme.toml", &text)]);
    env.cmd()
        .args(["offboard", "bob"])
        .arg(env.clients())
        .assert()
        .success();
    let after = fs::read_to_string(env.file("acme.toml")).unwrap();
    assert!(
        after.starts_with("\u{FEFF}# Acme: the agency's first client.\n"),
        "{after:?}"
    );
    assert!(!after.contains("bob"), "{after}");
}
