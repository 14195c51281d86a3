//! The printers, on one plan that holds every kind of change a review
//! shows: text (plain and coloured), markdown and JSON, by snapshot.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::json;

use serde_json::Value;

use super::markdown::markdown;
use super::plan::{json, text, text_styled};
use crate::plan::{Change, Plan};

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn policy(action: &str, bucket: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "S3Buckets",
            "Effect": "Allow",
            "Action": [action],
            "Resource": [format!("arn:aws:s3:::{bucket}")],
        }],
    })
}

/// acme gains a developer and wider access, globex loses one member and a
/// hand-written policy, and a developer leaves entirely.
#[allow(clippy::needless_update)]
fn review_plan() -> Plan {
    Plan {
        changes: vec![
        Change::CreateUser {
            user: "carol".into(),
            path: "/provision/".into(),
            tags: tags(&[("email", "carol@example.com"), ("managed-by", "provision")]),
            boundary: None,
        },
        Change::UpdateUserTags {
            user: "alice".into(),
            before: tags(&[
                ("email", "alice@old.example.com"),
                ("managed-by", "provision"),
            ]),
            after: tags(&[("email", "alice@example.com"), ("managed-by", "provision")]),
        },
        Change::PutGroupPolicy {
            group: "client-acme".into(),
            policy_name: "provision-s3".into(),
            before: Some(policy("s3:ListBucket", "acme-assets")),
            after: policy("s3:*", "acme-assets"),
        },
        Change::DeleteGroupPolicy {
            group: "client-globex".into(),
            policy_name: "extra".into(),
            before: policy("s3:*", "*"),
        },
        Change::AddMember {
            group: "client-acme".into(),
            user: "carol".into(),
        },
        Change::RemoveMember {
            group: "client-globex".into(),
            user: "alice".into(),
        },
        Change::CreateAccessKey {
            user: "acme-app".into(),
            orphans: vec![],
        },
        Change::DeleteUser {
            user: "dave".into(),
            groups: vec!["client-globex".into()],
            inline_policies: vec![],
            attached_policies: vec![],
            holds: None,
        },
        ],
        warnings: vec![
            "group `client-globex` has an inline policy `extra` that provision did not write; it will be deleted".into(),
        ],
        out_of_scope: vec!["initech".into()],
        // Fields `Plan` may gain keep their defaults.
        ..Plan::default()
    }
}

fn render(f: impl Fn(&Plan, &mut dyn Write) -> io::Result<()>, plan: &Plan) -> String {
    let mut out = Vec::new();
    f(plan, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn review_plan_text() {
    insta::assert_snapshot!(render(text, &review_plan()));
}

#[test]
fn review_plan_markdown() {
    insta::assert_snapshot!(render(markdown, &review_plan()));
}

#[test]
fn review_plan_json() {
    insta::assert_snapshot!(render(json, &review_plan()));
}

#[test]
fn empty_plan_markdown() {
    insta::assert_snapshot!(render(markdown, &Plan::default()), @r"
    ### provision plan

    **No changes.** The account matches the configuration.
    ");
}

#[test]
fn coloured_text_marks_each_action_and_strips_to_the_plain_text() {
    let plan = review_plan();
    let coloured = render(|p, o| text_styled(p, o, true), &plan);
    let green = anstyle::AnsiColor::Green
        .on_default()
        .bold()
        .render()
        .to_string();
    let yellow = anstyle::AnsiColor::Yellow
        .on_default()
        .bold()
        .render()
        .to_string();
    let red = anstyle::AnsiColor::Red
        .on_default()
        .bold()
        .render()
        .to_string();
    assert!(coloured.contains(&format!("{green}+ user carol")));
    assert!(coloured.contains(&format!("{yellow}~ user alice")));
    assert!(coloured.contains(&format!("{red}- user dave")));
    // What a terminal without colours (or `NO_COLOR`) gets is exactly the
    // plain text.
    let mut stripped = Vec::new();
    {
        let mut stream = anstream::StripStream::new(&mut stripped);
        stream.write_all(coloured.as_bytes()).unwrap();
    }
    assert_eq!(String::from_utf8(stripped).unwrap(), render(text, &plan));
}
