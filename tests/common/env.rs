//! One test's world: a moto server, a counting proxy in front of it, and a
//! temporary directory with a `clients/` folder for the files under test.
//!
//! Test files add what only they need in their own `impl TestEnv` block (or
//! wrap it, when a method of theirs would clash with one here).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::assert::Assert;

use super::{CountingProxy, MotoServer, iam_client, provision};

/// A moto server with a counting proxy in front, and a directory of files.
pub struct TestEnv {
    pub moto: MotoServer,
    pub proxy: CountingProxy,
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    /// Starts moto and the proxy, and makes an empty `clients/` folder.
    pub fn start() -> TestEnv {
        let moto = MotoServer::start();
        let proxy = CountingProxy::start(&moto.url());
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("clients")).unwrap();
        TestEnv { moto, proxy, dir }
    }

    /// Like [`TestEnv::start`], with `files` (name, text) written to
    /// `clients/`.
    pub fn with_files(files: &[(&str, &str)]) -> TestEnv {
        let env = TestEnv::start();
        for (name, text) in files {
            env.write(name, text);
        }
        env
    }

    /// The `clients/` folder.
    pub fn clients(&self) -> PathBuf {
        self.dir.path().join("clients")
    }

    /// `name` in the `clients/` folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.clients().join(name)
    }

    /// Writes `text` to `name` in the `clients/` folder.
    pub fn write(&self, name: &str, text: &str) {
        fs::write(self.file(name), text).unwrap();
    }

    /// The credentials directory `apply` is given.
    pub fn creds(&self) -> PathBuf {
        self.dir.path().join("creds")
    }

    /// A `provision` command pointed at the proxy.
    pub fn cmd(&self) -> assert_cmd::Command {
        provision(&self.proxy.url())
    }

    /// `apply PATH --yes --credentials-dir CREDS`.
    pub fn apply(&self, path: &Path) -> Assert {
        self.cmd()
            .arg("apply")
            .arg(path)
            .arg("--yes")
            .arg("--credentials-dir")
            .arg(self.creds())
            .assert()
    }

    /// `plan PATH --detailed-exitcode`: its exit code and stdout.
    pub fn plan_exit(&self, path: &Path) -> (i32, String) {
        let out = self
            .cmd()
            .arg("plan")
            .arg(path)
            .arg("--detailed-exitcode")
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// An IAM client that goes around the proxy, so what it does is not
    /// counted as provision's.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        iam_client(&self.moto.url())
    }
}

/// What a finished command printed on stdout.
pub fn stdout(assert: &Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// What a finished command printed on stderr.
pub fn stderr(assert: &Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// The access key id and secret `apply` wrote for `user` to the
/// credentials directory `dir`.
pub fn read_key(dir: &Path, user: &str) -> (String, String) {
    let body: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join(format!("{user}.json"))).unwrap())
            .unwrap();
    (
        body["AccessKeyId"].as_str().unwrap().to_owned(),
        body["SecretAccessKey"].as_str().unwrap().to_owned(),
    )
}
