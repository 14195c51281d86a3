use super::*;

const ACCOUNT: &str = "123456789012";

fn owned() -> Vec<Value> {
    owned_statements(
        "acme-data",
        ACCOUNT,
        &[
            "arn:aws:iam::123456789012:user/provision/bob".to_owned(),
            "arn:aws:iam::123456789012:user/provision/alice".to_owned(),
            "arn:aws:iam::123456789012:user/provision/alice".to_owned(),
        ],
    )
}

/// A hand-written policy with odd spacing, key order and escapes: nothing
/// of it may change but provision's statements.
const HAND: &str = r#"{
  "Id" : "hand-made",
  "Statement":[ {"Resource":"arn:aws:s3:::acme-data/*",   "Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/Reader"},
      "Action":["s3:GetObject"], "Sid":"Read\u0041ll"},
    {"Sid": "ProvisionDenyOutsideClient", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::acme-data"},
    {  "Effect":"Deny","Principal":"*","Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::acme-data" }
  ] ,
  "Version":"2012-10-17"
}"#;

#[test]
fn the_owned_statements_deny_the_account_outside_the_allowed_and_plain_http() {
    let statements = owned();
    assert_eq!(statements.len(), 2);
    let outside = &statements[0];
    assert_eq!(outside["Sid"], DENY_OUTSIDE_SID);
    assert_eq!(outside["Effect"], "Deny");
    assert_eq!(outside["Principal"], "*");
    assert_eq!(outside["Action"], "s3:*");
    assert_eq!(
        outside["Resource"],
        json!(["arn:aws:s3:::acme-data", "arn:aws:s3:::acme-data/*"])
    );
    assert_eq!(
        outside["Condition"],
        json!({
            "StringEquals": {"aws:PrincipalAccount": ACCOUNT},
            // Sorted and deduplicated: the same set gives the same text.
            "ArnNotEquals": {"aws:PrincipalArn": [
                "arn:aws:iam::123456789012:user/provision/alice",
                "arn:aws:iam::123456789012:user/provision/bob",
            ]},
        })
    );
    let insecure = &statements[1];
    assert_eq!(insecure["Sid"], DENY_INSECURE_SID);
    assert_eq!(insecure["Effect"], "Deny");
    assert_eq!(
        insecure["Condition"],
        json!({"Bool": {"aws:SecureTransport": "false"}})
    );
    assert!(statements.iter().all(is_owned));
}

#[test]
fn ownership_is_the_sid_prefix_and_nothing_else() {
    assert!(is_owned(&json!({"Sid": "ProvisionAnything"})));
    assert!(is_owned(&json!({"Sid": "Provision"})));
    assert!(!is_owned(&json!({"Sid": "provisionDeny"})));
    assert!(!is_owned(&json!({"Sid": "MyProvisionDeny"})));
    assert!(!is_owned(&json!({"Sid": 7})));
    assert!(!is_owned(&json!({"Effect": "Deny"})));
}

#[test]
fn every_other_statement_survives_a_merge_byte_for_byte() {
    let existing = parse(HAND).unwrap();
    assert_eq!(existing.owned.len(), 1);
    let others = existing.others();
    assert_eq!(others.len(), 2);
    let merged = existing.with_owned(&owned()).unwrap();
    // Each hand statement is in the new text exactly as it was written,
    // spacing, key order and escapes included.
    for statement in &others {
        assert!(HAND.contains(statement), "{statement}");
        assert!(merged.contains(statement), "{merged}");
    }
    assert!(merged.contains(r#""Sid":"Read\u0041ll""#), "{merged}");
    // The other members keep their values and order.
    assert!(
        merged.starts_with(r#"{"Id":"hand-made","Statement":["#),
        "{merged}"
    );
    assert!(merged.ends_with(r#"],"Version":"2012-10-17"}"#), "{merged}");
    // provision's stale statement is replaced by the new ones.
    let parsed: Value = serde_json::from_str(&merged).unwrap();
    let statements = parsed["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 4);
    assert_eq!(&statements[2..], &owned()[..]);
    // Merging again changes nothing: the result is a fixed point.
    let again = parse(&merged).unwrap();
    assert_eq!(again.owned, owned());
    assert_eq!(again.with_owned(&owned()).unwrap(), merged);
    assert_eq!(again.others(), others);
}

#[test]
fn a_single_statement_object_is_kept_as_written_in_a_list() {
    let text = r#"{"Version":"2012-10-17","Statement":{ "Effect" : "Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#;
    let merged = parse(text).unwrap().with_owned(&owned()).unwrap();
    assert!(
        merged.contains(r#"[{ "Effect" : "Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},"#),
        "{merged}"
    );
}

#[test]
fn a_policy_without_statements_gets_them_at_the_end() {
    let merged = parse(r#"{"Version":"2012-10-17"}"#)
        .unwrap()
        .with_owned(&owned())
        .unwrap();
    let parsed: Value = serde_json::from_str(&merged).unwrap();
    assert_eq!(parsed["Statement"], json!(owned()));
    assert!(merged.starts_with(r#"{"Version":"2012-10-17","Statement":"#));
}

#[test]
fn taking_the_layer_out_keeps_the_others_or_leaves_nothing() {
    let existing = parse(HAND).unwrap();
    let without = existing.with_owned(&[]).unwrap();
    let parsed: Value = serde_json::from_str(&without).unwrap();
    assert_eq!(parsed["Statement"].as_array().unwrap().len(), 2);
    for statement in existing.others() {
        assert!(without.contains(statement));
    }
    let only_ours = fresh(&owned());
    assert_eq!(parse(&only_ours).unwrap().with_owned(&[]), None);
}

#[test]
fn a_fresh_policy_reads_back_as_all_owned() {
    let text = fresh(&owned());
    let existing = parse(&text).unwrap();
    assert_eq!(existing.owned, owned());
    assert!(existing.others().is_empty());
    assert_eq!(existing.with_owned(&owned()).unwrap(), text);
}

#[test]
fn what_is_not_a_policy_is_refused_not_rewritten() {
    for text in [
        "not json",
        "[]",
        r#"{"Statement": 7}"#,
        r#"{"Statement": [7]}"#,
        r#"{"Statement": [], "Statement": []}"#,
        r#"{"Statement": [{"Sid": "x"}"#,
    ] {
        assert!(
            matches!(parse(text), Err(BucketPolicyError::Malformed { .. })),
            "{text}"
        );
    }
}

#[test]
fn the_caller_of_a_role_session_is_its_role_whatever_the_path() {
    let caller =
        Caller::from_identity_arn("arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com");
    assert_eq!(
        caller,
        Caller::Role {
            partition: "aws".into(),
            account: ACCOUNT.into(),
            name: "Admin".into()
        }
    );
    let allowed = |arns: &[&str]| arns.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    assert!(caller.is_let_in(&allowed(&["arn:aws:iam::123456789012:role/Admin"])));
    assert!(caller.is_let_in(&allowed(&["arn:aws:iam::123456789012:role/ops/Admin"])));
    // Names that almost collide, another account, a user of that name.
    for other in [
        "arn:aws:iam::123456789012:role/Admins",
        "arn:aws:iam::123456789012:role/SuperAdmin",
        "arn:aws:iam::123456789012:role/Admin/x",
        "arn:aws:iam::999999999999:role/Admin",
        "arn:aws:iam::123456789012:user/Admin",
        "arn:aws-cn:iam::123456789012:role/Admin",
    ] {
        assert!(!caller.is_let_in(&allowed(&[other])), "{other}");
    }
    assert!(
        caller
            .exemption_hint()
            .contains("arn:aws:iam::123456789012:role/Admin")
    );
}

#[test]
fn any_other_caller_is_let_in_by_its_exact_arn() {
    let user = Caller::from_identity_arn("arn:aws:iam::123456789012:user/ops/deployer");
    assert_eq!(
        user,
        Caller::Arn("arn:aws:iam::123456789012:user/ops/deployer".into())
    );
    assert!(user.is_let_in(&["arn:aws:iam::123456789012:user/ops/deployer".to_owned()]));
    assert!(!user.is_let_in(&["arn:aws:iam::123456789012:user/deployer".to_owned()]));
    assert!(!user.is_let_in(&[]));
    let root = Caller::from_identity_arn("arn:aws:iam::123456789012:root");
    assert!(root.is_let_in(&["arn:aws:iam::123456789012:root".to_owned()]));
    assert_eq!(root.exemption_hint(), "`arn:aws:iam::123456789012:root`");
    // Not an assumed role, though under sts.
    let federated = Caller::from_identity_arn("arn:aws:sts::123456789012:federated-user/bob");
    assert!(matches!(federated, Caller::Arn(_)));
}

#[test]
fn the_layer_denies_everything_to_a_principal_outside_the_client_only() {
    let alice = "arn:aws:iam::123456789012:user/provision/alice";
    let outsider = "arn:aws:iam::123456789012:user/provision/globex-app";
    let policy = json!({"Statement": owned()});
    assert!(denies_everything(&policy, "acme-data", outsider, ACCOUNT));
    assert!(!denies_everything(&policy, "acme-data", alice, ACCOUNT));
    // Another bucket's policy says nothing of this one.
    assert!(!denies_everything(&policy, "acme-data2", outsider, ACCOUNT));
    // Statements that deny less are not counted.
    let partial = [
        json!({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}),
        json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::acme-data/*"}),
        json!({"Effect": "Deny", "Principal": "*", "NotAction": "s3:GetObject", "Resource": "*"}),
        json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "NotResource": "arn:aws:s3:::x"}),
        json!({"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:*", "Resource": "*"}),
        json!({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
        json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
    ];
    for statement in partial {
        let policy = json!({"Statement": [statement]});
        assert!(
            !denies_everything(&policy, "acme-data", outsider, ACCOUNT),
            "{policy}"
        );
    }
    let whole = json!({"Statement": {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*", "Resource": "*"}});
    assert!(denies_everything(&whole, "acme-data", alice, ACCOUNT));
}
