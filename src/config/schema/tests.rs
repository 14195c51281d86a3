//! The schema says what the loader accepts: every example validates, every
//! key the schema names loads, and an unknown key fails both.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::CLIENTS_FILE_SCHEMA;
use crate::config;

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(CLIENTS_FILE_SCHEMA).unwrap();
    assert!(jsonschema::draft7::meta::is_valid(&schema));
    jsonschema::draft7::new(&schema).unwrap()
}

/// TOML as an editor's schema checker sees it: dates become strings.
fn to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => i.into(),
        toml::Value::Float(f) => f.into(),
        toml::Value::Boolean(b) => b.into(),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        toml::Value::Table(table) => {
            Value::Object(table.into_iter().map(|(k, v)| (k, to_json(v))).collect())
        }
    }
}

/// The schema's complaints about `text`, one line each.
fn schema_errors(text: &str) -> Vec<String> {
    let doc = to_json(toml::from_str::<toml::Value>(text).unwrap());
    validator()
        .iter_errors(&doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn loads(text: &str) -> Result<(), String> {
    config::load_sources(
        vec![(PathBuf::from("t.toml"), text.as_bytes().to_vec())],
        false,
    )
    .map(|_| ())
    .map_err(|d| d.render(false))
}

#[test]
fn every_example_in_clients_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                schema_errors(&text),
                Vec::<String>::new(),
                "{}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "the examples were not found in {dir:?}");
}

/// Every key the schema names, once: the loader must accept it (so the
/// schema names no key the loader would reject) and so must the schema.
const EVERY_KEY: &str = r#"
[settings]
account_id = "123456789012"
path = "/provision/"
permissions_boundary = "arn:aws:iam::123456789012:policy/ClientBoundary"
max_key_age_days = 30
deliver = "ssm:/provision/keys/"
deliver_kms_key = "alias/provision-keys"
manage_buckets = true
bucket_encryption_kms_key = "alias/buckets"
bucket_versioning = true
bucket_policy = true
bucket_policy_exempt = ["arn:aws:iam::123456789012:role/Admin"]

[[developers]]
name = "alice"
email = "alice@example.com"
expires = 2027-03-31

[[clients]]
name = "acme"
buckets = ["acme-assets"]
bucket_prefixes = ["acme-cache-"]
access = "full"
developers = ["alice"]
app_user = ""
manage_buckets = false
bucket_policy = false
[clients.cloudfront]
distributions = ["E2QWRUHAPOMQZL"]

[[clients]]
name = "initech"
buckets = ["initech-prod", "initech-staging"]
bucket_access = { "initech-prod" = "read-only" }

[[clients.apps]]
name = "initech-prod"
buckets = ["initech-prod"]
access = "read-only"
permissions_boundary = "arn:aws:iam::123456789012:policy/prod-boundary"

[[clients]]
name = "globex"
buckets = ["globex-assets"]

[[clients.apps]]
name = "globex-deploy"
buckets = ["globex-assets"]
access = "read-only"
permissions_boundary = "arn:aws:iam::123456789012:policy/CiBoundary"
github = ["repo:globex-org/site:ref:refs/heads/main"]
"#;

#[test]
fn every_key_of_the_schema_loads() {
    loads(EVERY_KEY).unwrap();
    assert_eq!(schema_errors(EVERY_KEY), Vec::<String>::new());
    // And the schema names exactly these keys at each level: a key added to
    // the file format must be added to the schema (and to EVERY_KEY).
    let schema: Value = serde_json::from_str(CLIENTS_FILE_SCHEMA).unwrap();
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&schema), ["clients", "developers", "settings"]);
    assert_eq!(
        keys(&schema["properties"]["settings"]),
        [
            "account_id",
            "bucket_encryption_kms_key",
            "bucket_policy",
            "bucket_policy_exempt",
            "bucket_versioning",
            "deliver",
            "deliver_kms_key",
            "manage_buckets",
            "max_key_age_days",
            "path",
            "permissions_boundary"
        ]
    );
    assert_eq!(
        keys(&schema["definitions"]["developer"]),
        ["email", "expires", "name"]
    );
    assert_eq!(
        keys(&schema["definitions"]["client"]),
        [
            "access",
            "app_user",
            "apps",
            "bucket_access",
            "bucket_policy",
            "bucket_prefixes",
            "buckets",
            "cloudfront",
            "developers",
            "manage_buckets",
            "name"
        ]
    );
    assert_eq!(
        keys(&schema["definitions"]["app"]),
        [
            "access",
            "buckets",
            "github",
            "name",
            "permissions_boundary"
        ]
    );
}

#[test]
fn unknown_keys_fail_the_schema_as_they_fail_the_loader() {
    let cases = [
        ("top level", "colour = \"red\"\n"),
        ("settings", "[settings]\nregion = \"eu-west-1\"\n"),
        (
            "developers",
            "[[developers]]\nname = \"alice\"\nmail = \"a@example.com\"\n",
        ),
        (
            "clients",
            "[[clients]]\nname = \"acme\"\nbucket = [\"acme-assets\"]\n",
        ),
        (
            "cloudfront",
            "[[clients]]\nname = \"acme\"\n[clients.cloudfront]\ndistribution = [\"E2QWRUHAPOMQZL\"]\n",
        ),
        (
            "apps",
            "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-assets\"]\n[[clients.apps]]\nname = \"acme-prod\"\nacess = \"read-only\"\n",
        ),
    ];
    for (level, text) in cases {
        assert!(
            loads(text).is_err(),
            "the loader accepted an unknown key in {level}"
        );
        let errors = schema_errors(text);
        assert!(
            errors.iter().any(|e| e.contains("Additional properties")),
            "the schema accepted an unknown key in {level}: {errors:?}"
        );
    }
}

/// `/` is a valid IAM path but never the managed path: the schema refuses
/// it as the loader does.
#[test]
fn the_root_path_fails_the_schema_as_it_fails_the_loader() {
    let text = "[settings]\npath = \"/\"\n";
    assert!(loads(text).is_err());
    let errors = schema_errors(text);
    assert!(
        errors.iter().any(|e| e.starts_with("/settings/path")),
        "{errors:?}"
    );
    assert_eq!(
        schema_errors("[settings]\npath = \"/provision/team-b/\"\n"),
        Vec::<String>::new()
    );
}

/// `app_user` beside `[[clients.apps]]` is refused by both.
#[test]
fn app_user_with_apps_fails_the_schema_as_it_fails_the_loader() {
    let text = "[[clients]]\nname = \"acme\"\nbuckets = [\"acme-assets\"]\napp_user = \"acme-app\"\n[[clients.apps]]\nname = \"acme-prod\"\n";
    assert!(loads(text).is_err());
    assert!(!schema_errors(text).is_empty());
    assert!(loads(&text.replace("app_user = \"acme-app\"\n", "")).is_ok());
}

#[test]
fn wrong_values_fail_the_schema() {
    let errors = schema_errors(
        "[[clients]]\nname = \"Acme\"\naccess = \"admin\"\nbuckets = [\"acme-assets\"]\n",
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors.iter().any(|e| e.starts_with("/clients/0/name")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("/clients/0/access")),
        "{errors:?}"
    );
}

/// A managed path with a policy wildcard or variable fails the schema as it
/// fails the loader, and the characters around them in the pattern's
/// ranges still pass.
#[test]
fn a_wildcard_in_the_managed_path_fails_the_schema_as_it_fails_the_loader() {
    for path in ["/team*/", "/te?m/", "/a$b/"] {
        let text = format!("[settings]\npath = \"{path}\"\n");
        assert!(loads(&text).is_err(), "{path}");
        let errors = schema_errors(&text);
        assert!(
            errors.iter().any(|e| e.starts_with("/settings/path")),
            "{path}: {errors:?}"
        );
    }
    assert_eq!(
        schema_errors("[settings]\npath = \"/a!#%)+>@~/\"\n"),
        Vec::<String>::new()
    );
}
