//! `provision audit`: what needs a person's attention, from one read of
//! IAM's credential report plus the state the planner already reads.
//!
//! The checks are a pure function of (report, observed state, settings,
//! now), tested with literal values; `observe::credential_report` reads the
//! report and `render::audit` prints the findings. The credential report
//! holds dates and flags, never a secret or even a key id.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;

use crate::model::{ACCESS_KEY_TAG_KEY, CLIENT_TAG_KEY, GROUP_POLICY_NAME, Observed, Settings};
use crate::plan::unmanaged_group_warning;

mod roles;
pub use roles::role_findings;

/// A key with no use in this many days is reported as unused.
pub const UNUSED_KEY_DAYS: i64 = 90;
/// A key never used is reported once it is this old: the time to deliver it.
pub const NEVER_USED_GRACE_DAYS: i64 = 7;
/// Why the credential report could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReportError {
    /// The report has no header line.
    #[error("the credential report is empty")]
    Empty,
    /// A column the checks need is missing.
    #[error("the credential report has no `{0}` column")]
    MissingColumn(&'static str),
}

/// One access key slot of a user's report row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    /// 1 or 2, as the report numbers them.
    pub slot: u8,
    pub active: bool,
    pub last_rotated: Option<DateTime<Utc>>,
    pub last_used: Option<DateTime<Utc>>,
}

/// One user's row of the credential report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub user: String,
    pub password_enabled: bool,
    /// The user has an MFA device (`mfa_active`); `false` when the report
    /// has no such column.
    pub mfa_active: bool,
    /// Slots holding a key (rotated date known).
    pub keys: Vec<KeyUsage>,
}

/// Parse the CSV IAM returns. Its fields never contain commas or quotes
/// (names, ARNs, dates, `true`/`false`, `N/A`), so splitting on commas is
/// exact; columns are found by name, so added columns do no harm.
pub fn parse_report(csv: &str) -> Result<Vec<ReportRow>, ReportError> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().ok_or(ReportError::Empty)?.split(',').collect();
    let col = |name: &'static str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or(ReportError::MissingColumn(name))
    };
    let user = col("user")?;
    let password = col("password_enabled")?;
    let mfa = col("mfa_active").ok();
    let mut slots = Vec::new();
    for (slot, active, rotated, used) in [
        (
            1,
            "access_key_1_active",
            "access_key_1_last_rotated",
            "access_key_1_last_used_date",
        ),
        (
            2,
            "access_key_2_active",
            "access_key_2_last_rotated",
            "access_key_2_last_used_date",
        ),
    ] {
        slots.push((slot, col(active)?, col(rotated)?, col(used)?));
    }
    let date = |s: &str| {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|d| d.with_timezone(&Utc))
    };
    Ok(lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let field = |i: usize| fields.get(i).copied().unwrap_or("");
            ReportRow {
                user: field(user).to_owned(),
                password_enabled: field(password) == "true",
                mfa_active: mfa.is_some_and(|i| field(i) == "true"),
                keys: slots
                    .iter()
                    .filter_map(|&(slot, active, rotated, used)| {
                        Some(KeyUsage {
                            slot,
                            active: field(active) == "true",
                            last_rotated: Some(date(field(rotated))?),
                            last_used: date(field(used)),
                        })
                    })
                    .collect(),
            }
        })
        .collect())
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// An active key older than `settings.max_key_age_days`.
    OldKey,
    /// An active key never used since its grace period ended.
    NeverUsedKey,
    /// An active key not used for [`UNUSED_KEY_DAYS`].
    UnusedKey,
    /// A managed user can sign in to the console.
    ConsolePassword,
    /// A managed user lacks the configured permissions boundary.
    MissingBoundary,
    /// A user provision does not manage is in a managed group.
    UnmanagedMember,
    /// A managed user holds a policy of its own (inline or attached):
    /// provision grants access through client groups only.
    UserPolicy,
    /// A managed user is in a group provision does not manage.
    UnmanagedGroup,
    /// An application user holds an active key besides the one provision
    /// delivered and recorded.
    ExtraKey,
    /// An application user's recorded key is gone or inactive: its
    /// application has no working key.
    MissingKey,
    /// A managed role's trust policy lets in more than the file says.
    RoleTrust,
    /// A managed role holds a policy provision did not write.
    RolePolicy,
}

/// One thing that needs action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub user: String,
    pub check: Check,
    /// What is wrong and what to do, for people, with ages counted from
    /// the read ("97 days old").
    pub detail: String,
    /// The dates behind a key finding (old, never used, unused), so that a
    /// printer can tell it with dates instead: see [`Finding::dated_detail`].
    #[serde(skip)]
    pub key: Option<KeyDates>,
}

/// The dates a key finding is decided from. The audit says ages, which read
/// best on the day; the access report says these dates, so that the same
/// account read on another day gives the same words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDates {
    /// 1 or 2, as the credential report numbers the slots.
    pub slot: u8,
    pub created: DateTime<Utc>,
    pub last_used: Option<DateTime<Utc>>,
    /// `settings.max_key_age_days` at the read.
    pub max_age_days: u32,
}

/// Every finding, sorted by user then check.
// Long because it is one block per audit check over the same report rows;
// each block is short and reads as the check's rule.
///
/// `apps` are the users of `[[clients.apps]]` (see
/// [`crate::model::Desired::app_grant_holders`]): their own `provision-s3`
/// is their grant, not a policy put on them by hand.
pub fn findings(
    report: &[ReportRow],
    observed: &Observed,
    settings: &Settings,
    apps: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let path = settings.path.as_str();
    let mut out = Vec::new();
    let mut push = |user: &str, check, detail: String| {
        out.push(Finding {
            user: user.to_owned(),
            check,
            detail,
            key: None,
        })
    };
    // Key findings carry their dates too; the closure above holds `out`
    // until its last use, so they are gathered here and added at the end.
    let mut key_findings = Vec::new();
    for row in report {
        let Some(user) = observed.users.get(&row.user) else {
            continue;
        };
        if !user.is_managed(path) {
            continue;
        }
        let name = row.user.as_str();
        if row.password_enabled {
            push(
                name,
                Check::ConsolePassword,
                format!(
                    "`{name}` has a console password; provision grants S3 access by key only: delete it with `aws iam delete-login-profile --user-name {name}`"
                ),
            );
        }
        if let Some(recorded) = user.tags.get(ACCESS_KEY_TAG_KEY)
            && user.tags.contains_key(CLIENT_TAG_KEY)
        {
            app_key_findings(name, recorded, row, &mut push);
        }
        for key in row.keys.iter().filter(|k| k.active) {
            let Some(rotated) = key.last_rotated else {
                continue;
            };
            let age = (now - rotated).num_days();
            let slot = key.slot;
            let mut found = |check, detail| {
                key_findings.push(Finding {
                    user: name.to_owned(),
                    check,
                    detail,
                    key: Some(KeyDates {
                        slot,
                        created: rotated,
                        last_used: key.last_used,
                        max_age_days: settings.max_key_age_days,
                    }),
                })
            };
            if age > i64::from(settings.max_key_age_days) {
                found(
                    Check::OldKey,
                    format!(
                        "access key {slot} of `{name}` is {age} days old (limit {}); rotate it with `provision rotate-key {name}`",
                        settings.max_key_age_days
                    ),
                );
            }
            match key.last_used {
                None if age > NEVER_USED_GRACE_DAYS => found(
                    Check::NeverUsedKey,
                    format!(
                        "access key {slot} of `{name}` was created {age} days ago and never used; delete it if nobody needs it"
                    ),
                ),
                Some(used) if (now - used).num_days() > UNUSED_KEY_DAYS => found(
                    Check::UnusedKey,
                    format!(
                        "access key {slot} of `{name}` was last used {} days ago; delete it if nobody needs it",
                        (now - used).num_days()
                    ),
                ),
                _ => {}
            }
        }
    }
    for user in observed.users.values() {
        if user.is_managed(path) {
            let own = |p: &&String| *p == GROUP_POLICY_NAME && apps.contains(&user.name);
            let policies: Vec<String> = user
                .inline_policies
                .keys()
                .filter(|p| !own(p))
                .map(|p| format!("the inline policy `{p}`"))
                .chain(
                    user.attached_policies
                        .iter()
                        .map(|p| format!("the attached policy `{p}`")),
                )
                .collect();
            if !policies.is_empty() {
                push(
                    &user.name,
                    Check::UserPolicy,
                    format!(
                        "`{}` holds {}; provision grants access through client groups only, so it may reach another client's buckets; the next apply removes it",
                        user.name,
                        policies.join(" and ")
                    ),
                );
            }
            for group in user.groups.iter().filter_map(|g| observed.groups.get(g)) {
                if !group.is_managed(path) {
                    push(
                        &user.name,
                        Check::UnmanagedGroup,
                        unmanaged_group_warning(&user.name, group, path),
                    );
                }
            }
            if let Some(boundary) = &settings.permissions_boundary
                && user.permissions_boundary.as_ref() != Some(boundary)
            {
                push(
                    &user.name,
                    Check::MissingBoundary,
                    format!(
                        "`{}` lacks the permissions boundary `{boundary}`; set it with `aws iam put-user-permissions-boundary --user-name {} --permissions-boundary {boundary}`",
                        user.name, user.name
                    ),
                );
            }
            continue;
        }
        let groups: Vec<String> = user
            .groups
            .iter()
            .filter(|g| observed.groups.get(*g).is_some_and(|g| g.is_managed(path)))
            .map(|g| format!("`{g}`"))
            .collect();
        if !groups.is_empty() {
            push(
                &user.name,
                Check::UnmanagedMember,
                format!(
                    "`{}` is not managed by provision but is in {}; the next apply removes it, or declare it as a developer",
                    user.name,
                    groups.join(", ")
                ),
            );
        }
    }
    out.extend(key_findings);
    out.sort_by(|a, b| (&a.user, a.check).cmp(&(&b.user, b.check)));
    out
}

/// An application user's keys, as the credential report counts them,
/// against the one provision recorded (`recorded`, its id). The report
/// holds no key ids, so what it can tell is how many keys are active: two
/// means one was made by hand (provision keeps one, except during a
/// `rotate-key`, which the audit then reports until `--finish`), none
/// means the recorded key was deleted or deactivated and the application
/// has no working key.
fn app_key_findings(
    name: &str,
    recorded: &str,
    row: &ReportRow,
    push: &mut impl FnMut(&str, Check, String),
) {
    match row.keys.iter().filter(|k| k.active).count() {
        0 => push(
            name,
            Check::MissingKey,
            format!(
                "`{name}` has no active access key, yet provision delivered and recorded `{recorded}`: it was deleted or deactivated by hand, and the application has no working key; to deliver a new one, remove the record with `aws iam untag-user --user-name {name} --tag-keys {ACCESS_KEY_TAG_KEY}`, then run `provision apply`"
            ),
        ),
        1 => {}
        n => push(
            name,
            Check::ExtraKey,
            format!(
                "`{name}` has {n} active access keys, but provision delivered one (`{recorded}`): any other was made outside provision and nobody reviewed who holds it; list them with `aws iam list-access-keys --user-name {name}` and delete every key but `{recorded}` (or finish a rotation with `provision rotate-key {name} --finish`)"
            ),
        ),
    }
}

impl Finding {
    /// The detail told with dates instead of ages: what the access report
    /// prints, so that it reads the same whatever day it is made. Findings
    /// without dates have no age in them and keep their detail.
    pub fn dated_detail(&self) -> String {
        let Some(k) = &self.key else {
            return self.detail.clone();
        };
        let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
        let (name, slot, created) = (&self.user, k.slot, day(k.created));
        match (self.check, k.last_used) {
            (Check::OldKey, _) => format!(
                "access key {slot} of `{name}` was created on {created} and is older than the {}-day limit since {}; rotate it with `provision rotate-key {name}`",
                k.max_age_days,
                day(k.created + chrono::Duration::days(i64::from(k.max_age_days)))
            ),
            (Check::NeverUsedKey, _) => format!(
                "access key {slot} of `{name}` was created on {created} and never used; delete it if nobody needs it"
            ),
            (Check::UnusedKey, Some(used)) => format!(
                "access key {slot} of `{name}` was last used on {}, more than {UNUSED_KEY_DAYS} days before this read; delete it if nobody needs it",
                day(used)
            ),
            _ => self.detail.clone(),
        }
    }

    /// The check's name, as text and JSON print it.
    pub fn check_name(&self) -> &'static str {
        match self.check {
            Check::OldKey => "old-key",
            Check::NeverUsedKey => "never-used-key",
            Check::UnusedKey => "unused-key",
            Check::ConsolePassword => "console-password",
            Check::MissingBoundary => "missing-boundary",
            Check::UnmanagedMember => "unmanaged-member",
            Check::UserPolicy => "user-policy",
            Check::UnmanagedGroup => "unmanaged-group",
            Check::ExtraKey => "extra-key",
            Check::MissingKey => "missing-key",
            Check::RoleTrust => "role-trust",
            Check::RolePolicy => "role-policy",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ObservedGroup, ObservedUser};
    use crate::render::audit::{json, text};

    const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::123456789012:user/provision/alice,2026-01-01T00:00:00+00:00,true,no_information,2026-01-01T00:00:00+00:00,N/A,false,true,2026-06-01T00:00:00+00:00,2026-11-20T10:00:00+00:00,us-east-1,s3,true,2026-11-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A
acme-app,arn:aws:iam::123456789012:user/provision/acme-app,2026-01-01T00:00:00+00:00,false,not_supported,not_supported,not_supported,false,true,2026-11-20T00:00:00+00:00,2026-07-01T00:00:00+00:00,us-east-1,s3,false,2026-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A
mallory,arn:aws:iam::123456789012:user/mallory,2026-01-01T00:00:00+00:00,true,no_information,2026-01-01T00:00:00+00:00,N/A,false,true,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

    fn user(name: &str, path: &str, managed: bool, groups: &[&str]) -> ObservedUser {
        let mut u = ObservedUser {
            name: name.into(),
            path: path.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..ObservedUser::default()
        };
        if managed {
            u.tags.insert("managed-by".into(), "provision".into());
        }
        u
    }

    fn observed() -> Observed {
        let mut o = Observed::default();
        for u in [
            user("alice", "/provision/", true, &["client-acme"]),
            ObservedUser {
                inline_policies: [("grab".to_owned(), serde_json::json!({"Statement": []}))].into(),
                attached_policies: vec!["arn:aws:iam::aws:policy/AmazonS3FullAccess".into()],
                ..user("acme-app", "/provision/", true, &["client-acme"])
            },
            user("mallory", "/", false, &["client-acme", "admins"]),
        ] {
            o.users.insert(u.name.clone(), u);
        }
        for g in ["client-acme", "admins"] {
            o.groups.insert(
                g.into(),
                ObservedGroup {
                    name: g.into(),
                    path: if g == "admins" { "/" } else { "/provision/" }.into(),
                    ..ObservedGroup::default()
                },
            );
        }
        o
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-24T12:00:00+00:00")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_report_is_read_by_column_name() {
        let rows = parse_report(REPORT).unwrap();
        assert_eq!(rows.len(), 4);
        let alice = &rows[1];
        assert!(alice.password_enabled);
        assert_eq!(alice.keys.len(), 2);
        assert_eq!(alice.keys[1].last_used, None);
        assert_eq!(rows[0].keys, []);
        assert_eq!(
            parse_report("user,arn\n"),
            Err(ReportError::MissingColumn("password_enabled"))
        );
    }

    #[test]
    fn findings_cover_every_check() {
        let settings = Settings {
            permissions_boundary: Some("arn:aws:iam::123456789012:policy/Boundary".into()),
            ..Settings::default()
        };
        let rows = parse_report(REPORT).unwrap();
        let found = findings(&rows, &observed(), &settings, &BTreeSet::new(), now());
        let mut out = Vec::new();
        text(&found, &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
        let mut out = Vec::new();
        json(&found[..1], &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn a_fresh_account_has_no_findings() {
        let fresh = "user,password_enabled,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date\nacme-app,false,true,2026-11-24T11:00:00+00:00,N/A,false,N/A,N/A\n";
        let rows = parse_report(fresh).unwrap();
        let mut o = observed();
        o.users.remove("mallory");
        let app = o.users.get_mut("acme-app").unwrap();
        app.inline_policies.clear();
        app.attached_policies.clear();
        assert_eq!(
            findings(&rows, &o, &Settings::default(), &BTreeSet::new(), now()),
            []
        );
    }

    /// A managed user in a group provision does not manage gets access
    /// from outside its client groups: a finding, naming the group and how
    /// to take the user out; a client group of another configuration (at
    /// a nested path) is named as such.
    #[test]
    fn a_managed_user_in_a_group_provision_does_not_manage_is_a_finding() {
        let rows = parse_report(REPORT).unwrap();
        let mut o = observed();
        o.users
            .get_mut("alice")
            .unwrap()
            .groups
            .extend(["admins".to_owned(), "client-beta".to_owned()]);
        o.groups.insert(
            "client-beta".into(),
            ObservedGroup {
                name: "client-beta".into(),
                path: "/provision/team-b/".into(),
                ..ObservedGroup::default()
            },
        );
        let found: Vec<String> = findings(&rows, &o, &Settings::default(), &BTreeSet::new(), now())
            .into_iter()
            .filter(|f| f.check == Check::UnmanagedGroup)
            .map(|f| format!("{}: {}", f.check_name(), f.detail))
            .collect();
        insta::assert_snapshot!(found.join("\n"), @r"
        unmanaged-group: managed user `alice` is in group `admins`, a group provision does not manage: provision grants access through client groups only, and that group's policies may reach another client's buckets; provision never changes a group it did not create: take the user out with `aws iam remove-user-from-group --group-name admins --user-name alice`
        unmanaged-group: managed user `alice` is in group `client-beta`, a client group of another configuration of provision (path `/provision/team-b/`): provision grants access through client groups only, and that group's policies may reach another client's buckets; provision never changes a group it did not create: take the user out with `aws iam remove-user-from-group --group-name client-beta --user-name alice`
        ");
    }

    /// An application user's active keys against the one provision
    /// recorded: a second one was made by hand; none means the recorded
    /// key is gone. Developers' keys are their own business (no record).
    #[test]
    fn an_app_users_keys_are_compared_with_the_recorded_one() {
        let report = |key_1: bool, key_2: bool| {
            format!(
                "user,password_enabled,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date\n\
                 acme-app,false,{key_1},2026-11-24T11:00:00+00:00,N/A,{key_2},2026-11-25T11:00:00+00:00,N/A\n\
                 alice,false,true,2026-11-24T11:00:00+00:00,N/A,true,2026-11-24T11:00:00+00:00,N/A\n"
            )
        };
        let mut o = observed();
        o.users.remove("mallory");
        let app = o.users.get_mut("acme-app").unwrap();
        app.inline_policies.clear();
        app.attached_policies.clear();
        app.tags.insert(CLIENT_TAG_KEY.into(), "acme".into());
        app.tags
            .insert(ACCESS_KEY_TAG_KEY.into(), "AKIARECORDED".into());
        let checks = |key_1, key_2, o: &Observed| -> Vec<(String, Check)> {
            let rows = parse_report(&report(key_1, key_2)).unwrap();
            findings(&rows, o, &Settings::default(), &BTreeSet::new(), now())
                .into_iter()
                .map(|f| (f.user, f.check))
                .collect()
        };
        assert_eq!(checks(true, false, &o), []);
        assert_eq!(checks(false, true, &o), []);
        assert_eq!(
            checks(true, true, &o),
            [("acme-app".to_owned(), Check::ExtraKey)]
        );
        assert_eq!(
            checks(false, false, &o),
            [("acme-app".to_owned(), Check::MissingKey)]
        );
        let rows = parse_report(&report(true, true)).unwrap();
        let detail = &findings(&rows, &o, &Settings::default(), &BTreeSet::new(), now())[0].detail;
        assert!(
            detail.starts_with(
                "`acme-app` has 2 active access keys, but provision delivered one (`AKIARECORDED`)"
            ),
            "{detail}"
        );
        // Without a record (an apply cut off before recording), the plan
        // lists the keys itself and replaces what it cannot adopt.
        let app = o.users.get_mut("acme-app").unwrap();
        app.tags.remove(ACCESS_KEY_TAG_KEY);
        assert_eq!(checks(true, true, &o), []);
    }

    #[test]
    fn the_key_age_limit_comes_from_the_settings() {
        let rows = parse_report(REPORT).unwrap();
        let strict = Settings {
            max_key_age_days: 3,
            ..Settings::default()
        };
        let old = |s: &Settings| {
            findings(&rows, &observed(), s, &BTreeSet::new(), now())
                .iter()
                .filter(|f| f.check == Check::OldKey)
                .count()
        };
        // alice's two keys; acme-app's key is 4 days old.
        assert_eq!(old(&Settings::default()), 1);
        assert_eq!(old(&strict), 3);
    }
}
