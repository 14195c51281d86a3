//! New access keys delivered to a secret store (`deliver`, `--deliver`),
//! against the emulator's SSM Parameter Store and Secrets Manager: the
//! stored key is the user's one key and really works, a refused store write
//! leaves no key behind, and a kill between creating the key and storing it
//! costs nothing but the lost key.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use common::{
    TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY, TestEnv, block_on, provision_process,
    s3_client, stderr, stdout,
};
use serde_json::Value;

const PARAMETERS: &str = "ssm:/provision/keys/";
const SECRETS: &str = "secretsmanager:provision/keys/";

/// acme with an app user, delivering to `deliver` (when given) by setting.
fn acme(deliver: Option<&str>) -> String {
    let settings = deliver.map_or_else(String::new, |d| format!("deliver = \"{d}\"\n"));
    format!(
        r#"
[settings]
path = "/provision/"
{settings}
[[clients]]
name = "acme"
buckets = ["acme-assets"]
app_user = "acme-app"
"#
    )
}

fn credentials() -> Credentials {
    Credentials::new(
        TEST_ACCESS_KEY_ID,
        TEST_SECRET_ACCESS_KEY,
        None,
        None,
        "provision-tests",
    )
}

impl TestEnv {
    /// `apply --yes` with stdout a pipe, as in CI, and no delivery flag
    /// but `extra`.
    fn apply_with(&self, extra: &[&str]) -> assert_cmd::assert::Assert {
        self.cmd()
            .arg("apply")
            .arg(self.clients())
            .arg("--yes")
            .args(extra)
            .assert()
    }

    /// The key stored in SSM parameter `name`, read around the proxy:
    /// (access key id, secret, user name).
    fn parameter(&self, name: &str) -> Option<(String, String, String)> {
        let config = aws_sdk_ssm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(TEST_REGION))
            .endpoint_url(self.moto.url())
            .credentials_provider(credentials())
            .build();
        let ssm = aws_sdk_ssm::Client::from_conf(config);
        let out = block_on(ssm.get_parameter().name(name).with_decryption(true).send()).ok()?;
        let parameter = out.parameter()?;
        assert_eq!(
            parameter.r#type(),
            Some(&aws_sdk_ssm::types::ParameterType::SecureString)
        );
        key_of(parameter.value()?)
    }

    /// The key stored in Secrets Manager secret `name`, read around the
    /// proxy.
    fn secret(&self, name: &str) -> Option<(String, String, String)> {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(TEST_REGION))
            .endpoint_url(self.moto.url())
            .credentials_provider(credentials())
            .build();
        let sm = aws_sdk_secretsmanager::Client::from_conf(config);
        let out = block_on(sm.get_secret_value().secret_id(name).send()).ok()?;
        key_of(out.secret_string()?)
    }

    /// The access key ids `user` holds, and the one recorded as delivered.
    fn keys(&self, user: &str) -> (Vec<String>, Option<String>) {
        block_on(async {
            let iam = self.iam();
            let keys = iam
                .list_access_keys()
                .user_name(user)
                .send()
                .await
                .unwrap()
                .access_key_metadata()
                .iter()
                .filter_map(|k| k.access_key_id().map(str::to_owned))
                .collect();
            let recorded = iam
                .list_user_tags()
                .user_name(user)
                .send()
                .await
                .unwrap()
                .tags()
                .iter()
                .find(|t| t.key() == "provision:access-key")
                .map(|t| t.value().to_owned());
            (keys, recorded)
        })
    }

    /// Checks that the key `(id, secret)` signs requests as its user: with
    /// the emulator enforcing IAM, it reads acme's bucket, and the same id
    /// with another secret is refused.
    fn assert_key_works(&self, id: &str, secret: &str) {
        let url = self.moto.url();
        self.moto.set_auth(true);
        let (good, forged) = block_on(async {
            let get = |secret: String| {
                let client = s3_client(&url, id, &secret);
                async move {
                    client
                        .get_object()
                        .bucket("acme-assets")
                        .key("hello.txt")
                        .send()
                        .await
                }
            };
            (
                get(secret.to_owned()).await,
                get(format!("{secret}x")).await,
            )
        });
        self.moto.set_auth(false);
        good.unwrap_or_else(|e| panic!("the delivered key must work: {e:?}"));
        assert!(forged.is_err(), "the emulator must check the secret");
    }

    fn make_bucket(&self) {
        block_on(async {
            let admin = s3_client(&self.moto.url(), TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY);
            admin
                .create_bucket()
                .bucket("acme-assets")
                .send()
                .await
                .unwrap();
            admin
                .put_object()
                .bucket("acme-assets")
                .key("hello.txt")
                .body(b"hi".to_vec().into())
                .send()
                .await
                .unwrap();
        });
    }
}

fn key_of(json: &str) -> Option<(String, String, String)> {
    let v: Value = serde_json::from_str(json).ok()?;
    Some((
        v["AccessKeyId"].as_str()?.to_owned(),
        v["SecretAccessKey"].as_str()?.to_owned(),
        v["UserName"].as_str()?.to_owned(),
    ))
}

/// The `deliver` setting alone is a delivery: without a terminal and
/// without a flag, apply stores the key as a SecureString, records it, and
/// prints its secret nowhere; the stored key signs as the app user.
#[test]
fn a_key_delivered_to_ssm_by_the_setting_is_read_back_and_works() {
    let env = TestEnv::with_files(&[("acme.toml", &acme(Some(PARAMETERS)))]);
    env.make_bucket();
    let out = env.apply_with(&[]).success();
    let (id, secret, user) = env
        .parameter("/provision/keys/acme-app")
        .expect("the key is stored as /provision/keys/acme-app");
    assert_eq!(user, "acme-app");
    assert_eq!(env.keys("acme-app"), (vec![id.clone()], Some(id.clone())));
    let (printed, logged) = (stdout(&out), stderr(&out));
    assert!(!printed.contains(&secret) && !logged.contains(&secret));
    assert!(
        printed.contains("Stored credentials in ssm:/provision/keys/acme-app"),
        "{printed}"
    );
    assert_eq!(env.proxy.count("PutParameter"), 1);
    env.assert_key_works(&id, &secret);
    // Converged: a second apply writes nothing, the store included.
    env.proxy.clear();
    env.apply_with(&[]).success();
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

/// `--deliver secretsmanager:...` stores the key as a secret; `rotate-key`
/// delivers the new key to the same secret (a new version), and the stored
/// key is the one on record.
#[test]
fn a_key_delivered_to_secrets_manager_is_read_back_works_and_is_rotated_there() {
    let env = TestEnv::with_files(&[("acme.toml", &acme(None))]);
    env.make_bucket();
    let out = env.apply_with(&["--deliver", SECRETS]).success();
    let (id, secret, _) = env
        .secret("provision/keys/acme-app")
        .expect("the key is stored as provision/keys/acme-app");
    assert_eq!(env.keys("acme-app"), (vec![id.clone()], Some(id.clone())));
    assert!(!stdout(&out).contains(&secret) && !stderr(&out).contains(&secret));
    env.assert_key_works(&id, &secret);

    let out = env
        .cmd()
        .args(["rotate-key", "acme-app"])
        .arg(env.clients())
        .args(["--deliver", SECRETS])
        .assert()
        .success();
    let (new_id, new_secret, _) = env.secret("provision/keys/acme-app").unwrap();
    assert_ne!(new_id, id);
    assert!(!stdout(&out).contains(&new_secret) && !stderr(&out).contains(&new_secret));
    let (mut keys, recorded) = env.keys("acme-app");
    keys.sort();
    let mut want = vec![id, new_id.clone()];
    want.sort();
    assert_eq!((keys, recorded), (want, Some(new_id.clone())));
    env.assert_key_works(&new_id, &new_secret);
    assert_eq!(env.proxy.count("PutSecretValue"), 1);
}

/// A store that refuses the write (here: the operator may not write the
/// parameter): the apply fails and says so, the key is deleted in the same
/// run and never recorded, and the secret appears in no output. Once the
/// store accepts, the next apply delivers one key.
#[test]
fn a_refused_store_write_deletes_the_key_and_fails_the_apply() {
    let env = TestEnv::with_files(&[("acme.toml", &acme(Some(PARAMETERS)))]);
    env.proxy
        .refuse("PutParameter", "Name", "/provision/keys/acme-app");
    let out = env.apply_with(&[]).failure();
    let logged = stderr(&out);
    assert!(
        logged.contains("/provision/keys/acme-app") && logged.contains("ssm:PutParameter"),
        "{logged}"
    );
    // The secret the refused request carried is in no output.
    let refused = env
        .proxy
        .requests()
        .into_iter()
        .find(|c| c.action == "PutParameter")
        .expect("the store write was attempted");
    let (_, secret, _) = key_of(&refused.param("Value").unwrap()).unwrap();
    assert!(!logged.contains(&secret) && !stdout(&out).contains(&secret));
    assert_eq!(env.keys("acme-app"), (vec![], None));
    assert_eq!(env.parameter("/provision/keys/acme-app"), None);

    env.proxy.stop_refusing();
    env.apply_with(&[]).success();
    let (id, _, _) = env.parameter("/provision/keys/acme-app").unwrap();
    assert_eq!(env.keys("acme-app"), (vec![id.clone()], Some(id)));
}

/// SIGKILL after CreateAccessKey, before the store write reached the store:
/// the key is not recorded, so the next apply deletes it and creates and
/// delivers one new key. One key in the end, stored once, and it is the one
/// in the store.
#[test]
fn sigkill_between_create_access_key_and_the_store_write_leaves_one_key_delivered_once() {
    let env = TestEnv::with_files(&[("acme.toml", &acme(Some(PARAMETERS)))]);
    // An undisturbed apply gives the number of calls before the store
    // write.
    env.apply_with(&[]).success();
    let before = env
        .proxy
        .calls()
        .iter()
        .position(|a| a == "PutParameter")
        .expect("apply stores the key");
    env.moto.reset();
    env.proxy.clear();

    env.proxy.hold_after(before);
    let mut child = provision_process(&env.proxy.url())
        .arg("apply")
        .arg(env.clients())
        .arg("--yes")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.proxy.calls().len() <= before {
        assert!(child.try_wait().unwrap().is_none(), "apply ended early");
        assert!(Instant::now() < deadline, "apply never reached the store");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(env.proxy.calls()[before], "PutParameter");
    child.kill().unwrap();
    child.wait().unwrap();
    env.proxy.release();
    let (orphan, recorded) = env.keys("acme-app");
    assert_eq!(
        (orphan.len(), recorded),
        (1, None),
        "killed before the store write"
    );
    assert_eq!(env.parameter("/provision/keys/acme-app"), None);

    // The kill left the apply lock; break it as the refusal says.
    let blocked = env.apply_with(&[]).failure();
    let text = stderr(&blocked);
    let id = text
        .split("`provision unlock ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("apply must name the stale lock:\n{text}"))
        .to_owned();
    env.cmd()
        .args(["unlock", &id])
        .arg(env.clients())
        .assert()
        .success();
    env.proxy.clear();
    env.apply_with(&[]).success();
    let (stored, _, _) = env.parameter("/provision/keys/acme-app").unwrap();
    assert_eq!(env.keys("acme-app"), (vec![stored.clone()], Some(stored)));
    assert_ne!(env.keys("acme-app").0, orphan, "the orphan was deleted");
    assert_eq!(env.proxy.count("PutParameter"), 1, "delivered once");
}

/// A delivery the store's names cannot hold is a configuration error with
/// its place in the file, before any AWS call.
#[test]
fn a_malformed_deliver_setting_is_a_config_error_without_aws_calls() {
    let env = TestEnv::with_files(&[("acme.toml", &acme(Some("ssm:provision/keys")))]);
    let out = env.apply_with(&[]).failure();
    let text = stderr(&out);
    assert!(
        text.contains("acme.toml:4:") && text.contains("must start and end with `/`"),
        "{text}"
    );
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
    // The flag is checked the same way, by the command line.
    let out = env
        .cmd()
        .arg("apply")
        .arg(env.clients())
        .args(["--deliver", "vault:/keys/"])
        .assert()
        .failure();
    assert!(
        stderr(&out).contains("`deliver` must be"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
}

/// `rotate-key --due`: nothing due is said and writes nothing (not even
/// the lock); a key made older than `max_key_age_days` is rotated through
/// the configured store, with the overlap, and a young one is not;
/// `--due --finish` then retires the old key.
#[test]
fn rotate_key_due_rotates_only_keys_older_than_max_key_age_days() {
    let globex = r#"
[[clients]]
name = "globex"
buckets = ["globex-media"]
app_user = "globex-app"
"#;
    let acme = acme(Some(PARAMETERS)).replace(
        "path = \"/provision/\"\n",
        "path = \"/provision/\"\nmax_key_age_days = 90\n",
    );
    let env = TestEnv::with_files(&[("acme.toml", &acme), ("globex.toml", globex)]);
    env.make_bucket();
    env.apply_with(&[]).success();
    let (acme_old, _, _) = env.parameter("/provision/keys/acme-app").unwrap();
    let globex_stored = env.parameter("/provision/keys/globex-app").unwrap();
    let due = |extra: &[&str]| {
        env.cmd()
            .args(["rotate-key", "--due"])
            .args(extra)
            .arg(env.clients())
            .assert()
            .success()
    };

    env.proxy.clear();
    let out = due(&[]);
    assert!(
        stdout(&out).contains("No application key is older than 90 days")
            || stderr(&out).contains("No application key is older than 90 days"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
    assert_eq!(env.proxy.lock_writes(), Vec::<String>::new());

    // 91 days is past the limit; globex's key stays young.
    env.moto.backdate_access_key(&acme_old, 91);
    env.proxy.clear();
    let out = due(&[]);
    let (acme_new, secret, _) = env.parameter("/provision/keys/acme-app").unwrap();
    assert_ne!(acme_new, acme_old);
    assert!(!stdout(&out).contains(&secret) && !stderr(&out).contains(&secret));
    let (mut keys, recorded) = env.keys("acme-app");
    keys.sort();
    let mut both = vec![acme_old.clone(), acme_new.clone()];
    both.sort();
    assert_eq!(
        (keys, recorded),
        (both, Some(acme_new.clone())),
        "the overlap"
    );
    assert_eq!(
        env.parameter("/provision/keys/globex-app").unwrap(),
        globex_stored
    );
    assert_eq!(env.keys("globex-app").0.len(), 1);
    assert_eq!(env.proxy.count("CreateAccessKey"), 1);
    assert_eq!(env.proxy.count("PutParameter"), 1);
    env.assert_key_works(&acme_new, &secret);

    // While the rotation is under way, `--due` starts no other.
    env.proxy.clear();
    due(&[]);
    assert_eq!(env.proxy.count("CreateAccessKey"), 0);

    due(&["--finish"]);
    assert_eq!(
        env.keys("acme-app"),
        (vec![acme_new.clone()], Some(acme_new))
    );
    assert_eq!(env.keys("globex-app").0.len(), 1);
}
