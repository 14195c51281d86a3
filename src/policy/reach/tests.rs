//! The pattern algebra on small literal cases, then reach on policies
//! written the way people write them by hand.

use serde_json::{Value, json};

use super::*;

const ACCOUNT: &str = "123456789012";

fn r(p: &str) -> Glob {
    Glob::resource(p)
}

fn a(p: &str) -> Glob {
    Glob::action(p)
}

#[test]
fn patterns_read_wildcards_case_and_policy_variables() {
    assert_eq!(
        r("a*?b").tokens,
        [Token::Char('a'), Token::Many, Token::One, Token::Char('b')]
    );
    assert!(!r("a*?b").widened);
    // Actions fold to lower case; resources keep theirs.
    assert_eq!(a("S3:G").tokens, r("s3:g").tokens);
    assert_eq!(r("S").tokens, [Token::Char('S')]);
    assert_eq!(a("S3:Get*").as_str(), "S3:Get*");
    assert_eq!(a("S3:Get*").to_string(), "S3:Get*");
    assert!(!a("${x}").widened, "actions have no variables");
    // A variable is any text; the escapes are their literal character.
    let v = r("x${aws:username}y");
    assert_eq!(v.tokens, [Token::Char('x'), Token::Many, Token::Char('y')]);
    assert!(v.widened);
    assert_eq!(v.as_str(), "x${aws:username}y");
    let escapes = r("${*}${?}${$}");
    assert_eq!(
        escapes.tokens,
        [Token::Char('*'), Token::Char('?'), Token::Char('$')]
    );
    assert!(!escapes.widened);
    // An unclosed `${` is plain text; multi-byte characters are one token.
    assert_eq!(
        r("${a").tokens,
        [Token::Char('$'), Token::Char('{'), Token::Char('a')]
    );
    assert_eq!(r("é*").tokens, [Token::Char('é'), Token::Many]);
    assert_eq!(r("").tokens, []);
}

#[test]
fn covers_is_inclusion_of_what_patterns_match() {
    let cases = [
        ("*", "", true),
        ("*", "a*", true),
        ("*", "?", true),
        ("a*", "ab", true),
        ("a*", "a*", true),
        ("a*", "a?c", true),
        ("a*", "a", true),
        ("a*", "b", false),
        ("a*", "*a", false),
        ("?", "a", true),
        ("?", "?", true),
        ("?", "*", false),
        ("?", "", false),
        ("?", "ab", false),
        ("a", "a", true),
        ("a", "?", false),
        ("a", "b", false),
        ("a", "*", false),
        ("a*b", "a*b", true),
        ("a*b", "ab", true),
        ("a*b", "a?xb", true),
        ("a*b", "a*", false),
        ("a*b", "a*bc", false),
        ("ab", "abc", false),
        ("abc", "ab", false),
        ("", "", true),
        ("", "*", false),
        ("", "a", false),
        ("*b", "ab", true),
        ("*b", "a", false),
        ("a?", "ab", true),
        ("a?", "a", false),
        ("?b", "a", false),
        // Sound, not complete: `*?` does match everything `?*` does.
        ("*?", "?*", false),
        ("arn:aws:s3:::aaa-*", "arn:aws:s3:::aaa-prod*", true),
        ("arn:aws:s3:::aaa-prod*", "arn:aws:s3:::aaa-*", false),
    ];
    for (outer, inner, want) in cases {
        assert_eq!(
            r(outer).covers(&r(inner)),
            want,
            "{outer:?} covers {inner:?}"
        );
    }
    // A pattern read wider than written (a policy variable) covers nothing.
    assert!(!r("arn:${aws:username}").covers(&r("arn:x")));
    assert!(r("arn:*").covers(&r("arn:x")));
    assert!(a("S3:*").covers(&a("s3:GetObject")));
}

#[test]
fn overlap_is_a_common_string() {
    let cases: &[(&[&str], bool)] = &[
        (&[], true),
        (&["a*", "*b"], true),
        (&["a*", "b*"], false),
        (&["?", ""], false),
        (&["*", ""], true),
        (&["", "*"], true),
        (&["", "?"], false),
        (&["a?c", "abc"], true),
        (&["a?c", "ab"], false),
        (&["ab", "a?c"], false),
        (&["ab", "ab"], true),
        (&["ab", "ac"], false),
        (&["*a", "*b"], false),
        (&["?", "*"], true),
        (&["??", "?"], false),
        (&["?", "??"], false),
        (&["a", "a*"], true),
        (&["a*", "a"], true),
        (&["*", "*", "*"], true),
        (&["aaa-*", "*prod*", "*-x"], true),
        (&["aaa-*", "bbb*", "*"], false),
        (&["*ab*", "*ba*", "a*"], true),
        (&["x*y", "*z*"], true),
        (&["x?y", "*z*"], true),
        (&["xy", "*z*"], false),
        (&["arn:aws:s3:::aaa-prod*", "arn:aws:s3:::aaa-*"], true),
        (&["arn:aws:s3:::aaa-prod*", "arn:aws:s3:::aaa-x"], false),
        (&["arn:aws:s3:::aaa-prod*", "arn:aws:s3:::aaa-x/*"], false),
    ];
    for (patterns, want) in cases {
        let globs: Vec<Glob> = patterns.iter().map(|p| r(p)).collect();
        let refs: Vec<&Glob> = globs.iter().collect();
        assert_eq!(overlap(&refs), *want, "{patterns:?}");
    }
    assert!(overlap(&[&a("S3:GetObject"), &a("s3:get*")]));
    assert!(!overlap(&[&r("S3:GetObject"), &r("s3:get*")]));
}

/// One rule everywhere: a pattern and a plain string overlap exactly when
/// the evaluator says the pattern matches the string.
#[test]
fn overlap_with_a_plain_string_agrees_with_the_evaluator() {
    let patterns = [
        "*",
        "a*",
        "*a",
        "a?c",
        "a*b*c",
        "??",
        "",
        "arn:aws:s3:::x*",
        "x/*",
    ];
    let values = [
        "",
        "a",
        "ab",
        "abc",
        "a-b-b-c",
        "a-b-b-",
        "ba",
        "arn:aws:s3:::xy",
        "x/1",
    ];
    for p in patterns {
        for v in values {
            assert_eq!(
                overlap(&[&r(p), &r(v)]),
                crate::policy::evaluate::wildcard_match(p, v, false),
                "{p:?} vs {v:?}"
            );
        }
    }
}

/// The bound on explored states answers "they may intersect", the answer
/// that reports. `?*?` (two characters or more) and `?` (one) share
/// nothing, and no literal tells: proving it visits 3 states.
#[test]
fn overlap_gives_up_towards_reporting() {
    let (x, y) = (r("?*?"), r("?"));
    assert!(!literal_clash(&[&x, &y], false) && !literal_clash(&[&x, &y], true));
    assert!(!overlap_within(&[&x, &y], 3));
    assert!(overlap_within(&[&x, &y], 2));
    assert!(!overlap(&[&x, &y]));
}

/// The quick test settles patterns whose literal starts or ends disagree,
/// and proves nothing otherwise.
#[test]
fn literal_starts_and_ends_settle_most_pairs() {
    let cases: &[(&[&str], bool, bool)] = &[
        // (patterns, clash from the start, clash from the end)
        (&[], false, false),
        (&["abc"], false, false),
        (&["abc", "abd"], true, true),
        (&["abc", "xbc"], true, true),
        (&["ab*c", "xb*c"], true, false),
        (&["ab*", "ac*"], true, false),
        (&["*ab", "*cb"], false, true),
        (&["a?c", "abc"], false, false),
        (&["a?c", "a?d"], true, true),
        (&["a*?c", "a*?d"], false, true),
        (&["ab", "abc"], true, true),
        (&["ab", "ab"], false, false),
        (&["ab", "ab*"], false, false),
        (&["a*", "b*", "a*"], true, false),
        (&["a*", "a*", "b*"], true, false),
        (&["?", ""], true, true),
        (&["", ""], false, false),
        (
            &["arn:aws:s3:::client01-assets", "arn:aws:s3:::client02-*"],
            true,
            false,
        ),
    ];
    for (patterns, front, back) in cases {
        let globs: Vec<Glob> = patterns.iter().map(|p| r(p)).collect();
        let refs: Vec<&Glob> = globs.iter().collect();
        assert_eq!(
            literal_clash(&refs, false),
            *front,
            "{patterns:?} from the start"
        );
        assert_eq!(
            literal_clash(&refs, true),
            *back,
            "{patterns:?} from the end"
        );
    }
    // A clash at either end settles the question without the walk: even
    // with no state to spare, the answer is "no common string".
    for (a, b) in [("ab*", "ac*"), ("*ab", "*cb")] {
        assert!(!overlap_within(&[&r(a), &r(b)], 0), "{a} vs {b}");
    }
}

#[test]
fn rules_read_every_statement_with_its_place() {
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::a/*", 7]},
        {"Action": "s3:*", "Resource": "*"},
        {"Sid": "NoDeletes", "Effect": "Deny", "NotAction": ["s3:Get*"], "NotResource": "arn:aws:s3:::a", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Effect": "Allow"},
        {"Effect": "allow", "Action": "*", "Resource": "*"}
    ]});
    let rules = rules(&doc, "inline policy `p` of user `u`", ACCOUNT);
    assert_eq!(
        rules,
        [
            Rule {
                policy: "inline policy `p` of user `u`".into(),
                index: 1,
                sid: None,
                effect: Effect::Allow,
                actions: Elements::Only(vec![a("s3:GetObject")]),
                resources: Elements::Only(vec![r("arn:aws:s3:::a/*")]),
                conditional: false,
            },
            Rule {
                policy: "inline policy `p` of user `u`".into(),
                index: 3,
                sid: Some("NoDeletes".into()),
                effect: Effect::Deny,
                actions: Elements::AllBut(vec![a("s3:Get*")]),
                resources: Elements::AllBut(vec![r("arn:aws:s3:::a")]),
                conditional: true,
            },
            Rule {
                policy: "inline policy `p` of user `u`".into(),
                index: 4,
                sid: None,
                effect: Effect::Allow,
                actions: Elements::Absent,
                resources: Elements::Absent,
                conditional: false,
            },
        ]
    );
    // A single statement object reads like an array of one.
    let one = rules_of(&json!({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].effect, Effect::Deny);
}

/// A grant on another client's prefix confined to another account's
/// buckets reaches nothing here; confined to this account, it reaches as
/// an unconditional grant would. A statement that mixes S3 with other
/// services is decided only when both answers agree.
#[test]
fn the_resource_account_decides_reach() {
    let owned = Owned::prefix("globex-");
    let grant = |account: &str, operator: &str, actions: Value| {
        json!({"Statement": [{"Effect": "Allow", "Action": actions,
            "Resource": "arn:aws:s3:::globex-*",
            "Condition": {operator: {"s3:ResourceAccount": account}}}]})
    };
    let elsewhere = grant("999999999999", "StringEquals", json!("s3:GetObject"));
    assert!(rules_of(&elsewhere).is_empty());
    assert!(reach(&rules_of(&elsewhere), None, &owned).is_empty());
    let here = grant(ACCOUNT, "StringEquals", json!("s3:GetObject"));
    let found = reach(&rules_of(&here), None, &owned);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(!found[0].conditional);
    // Outside S3 the key is absent: `StringNotEquals` holds there and
    // fails for S3 here, so a mixed statement stays conditional.
    let mixed = grant(ACCOUNT, "StringNotEquals", json!(["s3:GetObject", "iam:*"]));
    let rules = rules_of(&mixed);
    assert_eq!(rules.len(), 1);
    assert!(rules[0].conditional);
    // Every action, S3 or not: decided when both answers agree.
    let everywhere_else = grant("999999999999", "StringEquals", json!("*"));
    assert!(rules_of(&everywhere_else).is_empty());
    let everywhere_here = grant(ACCOUNT, "StringEquals", json!("*"));
    assert!(rules_of(&everywhere_here)[0].conditional);
    // Only another service: decided for it.
    let other = grant(ACCOUNT, "StringNotEquals", json!(["iam:*"]));
    assert!(!rules_of(&other)[0].conditional);
    let other = grant(ACCOUNT, "StringEquals", json!(["iam:*"]));
    assert!(rules_of(&other).is_empty());
    // A Deny confined to another account cancels nothing.
    let all = allow(json!("s3:*"), json!("*"));
    let deny = json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
        "Condition": {"StringEquals": {"s3:ResourceAccount": "999999999999"}}}]});
    let rules: Vec<Rule> = [all, deny].iter().flat_map(rules_of).collect();
    assert_eq!(reach(&rules, None, &owned).len(), 1);
}

fn rules_of(doc: &Value) -> Vec<Rule> {
    rules(doc, "policy `p`", ACCOUNT)
}

fn allow(action: Value, resource: Value) -> Value {
    json!({"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
}

fn statement(s: Value) -> Value {
    json!({ "Statement": [s] })
}

/// A policy of one `Deny` statement with `fields`.
fn deny(fields: Value) -> Value {
    let mut s = fields.as_object().unwrap().clone();
    s.insert("Effect".into(), json!("Deny"));
    statement(Value::Object(s))
}

/// The reaches of `identity` (documents) on `owned`, with an optional
/// boundary document.
fn reach_of(identity: &[Value], boundary: Option<&Value>, owned: &Owned) -> Vec<Reach> {
    let id: Vec<Rule> = identity.iter().flat_map(rules_of).collect();
    let b = boundary.map(rules_of);
    reach(&id, b.as_deref(), owned)
}

fn reaches(identity: &[Value], owned: &Owned) -> bool {
    !reach_of(identity, None, owned).is_empty()
}

/// The hardening issue's case: a grant on `aaa-prod*` is inside client
/// aaa's prefix `aaa-`, though not on its sample bucket `aaa-example`.
#[test]
fn a_grant_inside_another_clients_prefix_reaches_it() {
    let hand = allow(json!("s3:GetObject"), json!("arn:aws:s3:::aaa-prod*"));
    assert_eq!(
        reach_of(std::slice::from_ref(&hand), None, &Owned::prefix("aaa-")),
        [Reach {
            policy: "policy `p`".into(),
            statement: 1,
            sid: None,
            actions: Matched::Only("s3:GetObject".into()),
            resources: Matched::Only("arn:aws:s3:::aaa-prod*".into()),
            conditional: false,
        }]
    );
    // The evaluator, asked about the sample bucket, saw nothing.
    assert!(!crate::policy::evaluate::is_allowed(
        &[&hand],
        "s3:GetObject",
        "arn:aws:s3:::aaa-example/x"
    ));
    // Nor does it reach a bucket of aaa that it does not name.
    assert!(!reaches(
        std::slice::from_ref(&hand),
        &Owned::bucket("aaa-x")
    ));
    assert!(reaches(&[hand], &Owned::bucket("aaa-prod")));
}

#[test]
fn a_bucket_is_reached_through_itself_or_its_objects() {
    let bucket = Owned::bucket("aaa-x");
    assert!(reaches(
        &[allow(json!("s3:ListBucket"), json!("arn:aws:s3:::aaa-x"))],
        &bucket
    ));
    assert!(reaches(
        &[allow(
            json!("s3:GetObject"),
            json!("arn:aws:s3:::aaa-x/key")
        )],
        &bucket
    ));
    assert!(!reaches(
        &[allow(json!("s3:*"), json!("arn:aws:s3:::aaa-xy"))],
        &bucket
    ));
    assert!(!reaches(
        &[allow(json!("s3:*"), json!("arn:aws:s3:::aaa-x-*"))],
        &bucket
    ));
    assert!(reaches(
        &[allow(json!("s3:*"), json!("arn:aws:s3:::aaa-?"))],
        &bucket
    ));
    assert!(!reaches(
        &[allow(json!("s3:*"), json!("arn:aws:s3:::aaa-?y"))],
        &bucket
    ));
    assert!(reaches(
        &[allow(json!("s3:*"), json!("arn:aws:s3:::aaa-??/*"))],
        &bucket
    ));
}

#[test]
fn only_actions_on_the_resource_count() {
    let p = Owned::prefix("aaa-");
    assert!(!reaches(&[allow(json!("ec2:*"), json!("*"))], &p));
    assert!(!reaches(&[allow(json!("cloudfront:*"), json!("*"))], &p));
    assert!(reaches(&[allow(json!("*"), json!("*"))], &p));
    assert!(reaches(&[allow(json!("S3:Get*"), json!("*"))], &p));
    assert!(reaches(&[allow(json!("s?:*"), json!("*"))], &p));
    let d = Owned::distribution("123456789012", "E1");
    assert!(!reaches(&[allow(json!("s3:*"), json!("*"))], &d));
    assert!(reaches(
        &[allow(
            json!("cloudfront:CreateInvalidation"),
            json!("arn:aws:cloudfront::123456789012:distribution/E1")
        )],
        &d
    ));
    assert!(!reaches(
        &[allow(
            json!("cloudfront:CreateInvalidation"),
            json!("arn:aws:cloudfront::123456789012:distribution/E2")
        )],
        &d
    ));
}

#[test]
fn not_action_and_not_resource_reach_what_they_do_not_exclude() {
    let p = Owned::prefix("aaa-");
    let not_s3 = statement(json!({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}));
    assert!(!reaches(&[not_s3], &p));
    let not_iam = statement(json!({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}));
    assert_eq!(
        reach_of(&[not_iam], None, &p)[0].actions.describe("action"),
        "every action except `iam:*`"
    );
    let not_aaa = statement(
        json!({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::aaa-*"}),
    );
    assert!(!reaches(&[not_aaa], &p));
    // Excluding the bucket leaves its objects.
    let not_bucket = statement(
        json!({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::aaa-x"}),
    );
    assert_eq!(
        reach_of(&[not_bucket], None, &Owned::bucket("aaa-x"))[0].resources,
        Matched::Except(vec!["arn:aws:s3:::aaa-x".into()])
    );
    let not_nothing = statement(json!({"Effect": "Allow", "NotAction": [], "NotResource": []}));
    let found = reach_of(&[not_nothing], None, &p);
    assert_eq!(
        (
            found[0].actions.describe("action"),
            found[0].resources.describe("resource")
        ),
        ("every action".to_owned(), "every resource".to_owned())
    );
    // Neither key matches nothing.
    let no_resource = statement(json!({"Effect": "Allow", "Action": "s3:*"}));
    assert!(!reaches(&[no_resource], &p));
    let no_action = statement(json!({"Effect": "Allow", "Resource": "*"}));
    assert!(!reaches(&[no_action], &p));
}

#[test]
fn a_deny_cancels_only_what_it_provably_covers() {
    let p = Owned::prefix("aaa-");
    let all = allow(json!("s3:*"), json!("*"));
    let cases = [
        (
            "deny of the whole prefix",
            deny(json!({"Action": "s3:*", "Resource": "arn:aws:s3:::aaa-*"})),
            false,
        ),
        (
            "deny of everything",
            deny(json!({"Action": "*", "Resource": "*"})),
            false,
        ),
        (
            "deny of one action",
            deny(json!({"Action": "s3:GetObject", "Resource": "*"})),
            true,
        ),
        (
            "deny of a part of the prefix",
            deny(json!({"Action": "s3:*", "Resource": "arn:aws:s3:::aaa-prod*"})),
            true,
        ),
        (
            "deny of every other action",
            deny(json!({"NotAction": "iam:*", "Resource": "*"})),
            false,
        ),
        (
            "deny of all but some S3 actions",
            deny(json!({"NotAction": "s3:Get*", "Resource": "*"})),
            true,
        ),
        (
            "deny outside another client",
            deny(json!({"Action": "s3:*", "NotResource": "arn:aws:s3:::bbb-*"})),
            false,
        ),
        (
            "deny outside a part of the prefix",
            deny(json!({"Action": "s3:*", "NotResource": "arn:aws:s3:::aaa-prod*"})),
            true,
        ),
        ("deny without actions", deny(json!({"Resource": "*"})), true),
        ("deny without resources", deny(json!({"Action": "*"})), true),
        (
            "conditional deny",
            deny(
                json!({"Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}),
            ),
            true,
        ),
    ];
    for (case, deny, want) in cases {
        assert_eq!(reaches(&[all.clone(), deny], &p), want, "{case}");
    }
    // A deny covering the allowed pattern itself cancels it, though it
    // does not cover the whole prefix.
    let prod = allow(json!("s3:*"), json!("arn:aws:s3:::aaa-prod-x*"));
    let deny_prod = deny(json!({"Action": "s3:*", "Resource": "arn:aws:s3:::aaa-prod*"}));
    assert!(!reaches(&[prod, deny_prod], &p));
    // An allow of all but `aaa-prod*` is covered by a deny of all but
    // `aaa-prod*`: together they allow nothing.
    let all_but = statement(
        json!({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::aaa-prod*"}),
    );
    let deny_all_but = deny(json!({"Action": "s3:*", "NotResource": "arn:aws:s3:::aaa-prod*"}));
    assert!(!reaches(&[all_but.clone(), deny_all_but], &p));
    let deny_all_but_other =
        deny(json!({"Action": "s3:*", "NotResource": "arn:aws:s3:::aaa-dev*"}));
    assert!(reaches(&[all_but, deny_all_but_other], &p));
    // A policy variable in a deny cancels nothing it might not cover.
    let deny_var = deny(json!({"Action": "s3:*", "Resource": "arn:aws:s3:::${aws:username}*"}));
    assert!(reaches(&[all.clone(), deny_var], &p));
}

#[test]
fn a_policy_variable_may_reach_anything() {
    let own = allow(json!("s3:*"), json!("arn:aws:s3:::${aws:username}-*"));
    assert!(reaches(&[own], &Owned::prefix("aaa-")));
}

#[test]
fn the_boundary_must_let_the_reach_through() {
    let p = Owned::prefix("aaa-");
    let all = [allow(json!("s3:*"), json!("*"))];
    let through = |b: Value| !reach_of(&all, Some(&b), &p).is_empty();
    assert!(through(allow(json!("s3:*"), json!("*"))));
    assert!(through(allow(
        json!("s3:Get*"),
        json!("arn:aws:s3:::aaa-prod*")
    )));
    assert!(!through(allow(json!("s3:*"), json!("arn:aws:s3:::bbb-*"))));
    assert!(!through(allow(json!("ec2:*"), json!("*"))));
    assert!(!through(json!({"Statement": []})));
    assert!(!through(statement(
        json!({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::aaa-*"})
    )));
    assert!(!through(statement(
        json!({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"})
    )));
    // A deny in the boundary is a deny.
    assert!(!through(json!({"Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::bbb-*"}
    ]})));
    // The reach is what the boundary and the identity allow together:
    // each alone touches aaa-, but not the same part of it.
    let narrow = [allow(json!("s3:*"), json!("arn:aws:s3:::aaa-prod*"))];
    let b = allow(json!("s3:*"), json!("arn:aws:s3:::aaa-dev*"));
    assert!(reach_of(&narrow, Some(&b), &p).is_empty());
    // A deny covering the part the boundary lets through cancels it, even
    // though it does not cover all the identity allows.
    let b = allow(json!("s3:*"), json!("arn:aws:s3:::aaa-dev*"));
    let deny_dev = json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::aaa-dev*"}]});
    assert!(reach_of(&[all[0].clone(), deny_dev], Some(&b), &p).is_empty());
}

#[test]
fn conditions_are_counted_as_applying_and_said() {
    let p = Owned::prefix("aaa-");
    let cond = statement(
        json!({"Sid": "Office", "Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}),
    );
    let found = reach_of(&[cond], None, &p);
    assert!(found[0].conditional);
    assert_eq!(found[0].sid.as_deref(), Some("Office"));
    assert_eq!(
        found[0].to_string(),
        "policy `p`, statement `#1` (`Office`), allows `s3:*` on `*` (under a condition)"
    );
    // A conditional boundary statement makes the reach conditional too.
    let all = [allow(json!("s3:*"), json!("*"))];
    let b = statement(
        json!({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
    );
    assert!(reach_of(&all, Some(&b), &p)[0].conditional);
    let b = allow(json!("*"), json!("*"));
    let plain = &reach_of(&all, Some(&b), &p)[0];
    assert!(!plain.conditional);
    assert_eq!(
        plain.to_string(),
        "policy `p`, statement `#1`, allows `s3:*` on `*`"
    );
}

#[test]
fn every_reaching_statement_is_named_once() {
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": ["arn:aws:s3:::bbb-1", "arn:aws:s3:::aaa-1"]},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bbb-1/*"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::aaa-1/*", "arn:aws:s3:::aaa-*"]}
    ]});
    let found = reach_of(&[doc], None, &Owned::bucket("aaa-1"));
    let named: Vec<(usize, String, String)> = found
        .iter()
        .map(|r| {
            (
                r.statement,
                r.actions.describe("action"),
                r.resources.describe("resource"),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (1, "`s3:ListBucket`".into(), "`arn:aws:s3:::aaa-1`".into()),
            (3, "`s3:GetObject`".into(), "`arn:aws:s3:::aaa-*`".into()),
        ]
    );
}

/// provision's own generated policies reach their client and no other.
#[test]
fn generated_policies_reach_only_their_own_client() {
    use crate::model::{Access, Client};
    let client = |name: &str, buckets: &[&str], prefixes: &[&str]| Client {
        name: name.into(),
        buckets: buckets.iter().map(|b| b.to_string()).collect(),
        bucket_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        access: Access::Full,
        developers: vec![],
        membership_expires: Default::default(),
        bucket_access: Default::default(),
        apps: Vec::new(),
        app_user: None,
        roles: Vec::new(),
        distributions: vec!["E1".into()],
        source: "x.toml".into(),
    };
    let aaa = crate::policy::document::group_policy(
        &client("aaa", &["aaa-x"], &["aaa-"]),
        "123456789012",
    );
    let bbb = crate::policy::document::group_policy(
        &client("bbb", &["bbb-x"], &["bbb-"]),
        "123456789012",
    );
    for (doc, own, other) in [(&aaa, "aaa-", "bbb-"), (&bbb, "bbb-", "aaa-")] {
        let ids = [doc.clone()];
        assert!(reaches(&ids, &Owned::prefix(own)));
        assert!(reaches(&ids, &Owned::bucket(&format!("{own}x"))));
        assert!(!reaches(&ids, &Owned::prefix(other)));
        assert!(!reaches(&ids, &Owned::bucket(&format!("{other}x"))));
        assert!(!reaches(&ids, &Owned::distribution("123456789012", "E2")));
    }
    assert!(reaches(&[aaa], &Owned::distribution("123456789012", "E1")));
}
