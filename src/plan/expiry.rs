//! Dates and decisions about people: which developers and memberships have
//! expired, which expire soon, which developers are disabled.
//!
//! This is the planner's first step, a pure pass over the desired state
//! (run when [`super::PlanOptions::today`] is set): an expired developer is
//! taken out of the configuration as if its declaration had been deleted,
//! so the planner's ordinary rules revoke and delete it exactly as an
//! offboarding would. `today` is a parameter, so every rule is tested with
//! fixed dates.

use chrono::NaiveDate;

use crate::model::Desired;

/// Expiries this many days ahead (or fewer) are listed as warnings.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// The desired state as of `today`, and the warnings a reviewer should see.
///
/// - A developer whose `expires` date is before `today` is removed, with
///   every membership: its user is then revoked and deleted like any
///   developer no file declares.
/// - A membership whose `expires` date is before `today` is removed.
/// - A disabled developer keeps its declaration (so its user is kept) but
///   loses every membership.
///
/// Access ends *after* the given day: on the day itself it still holds.
pub fn apply_lifecycle(desired: &Desired, today: NaiveDate) -> (Desired, Vec<String>) {
    let mut out = desired.clone();
    let mut warnings = Vec::new();
    let soon = |date: NaiveDate| {
        let left = (date - today).num_days();
        (0..=EXPIRY_WARNING_DAYS).contains(&left).then_some(left)
    };

    let mut expired = Vec::new();
    for dev in desired.developers.values() {
        let Some(date) = dev.expires else { continue };
        if date < today {
            expired.push(dev.name.clone());
            warnings.push(format!(
                "developer `{}` expired on {date}; its access is revoked and its user deleted",
                dev.name
            ));
        } else if let Some(left) = soon(date) {
            warnings.push(format!(
                "developer `{}` expires on {date} ({}); extend or remove `expires` to keep access",
                dev.name,
                days(left)
            ));
        }
    }
    for name in &expired {
        out.developers.remove(name);
    }

    for client in out.clients.values_mut() {
        let mut ended = Vec::new();
        for (dev, date) in &client.membership_expires {
            if expired.contains(dev) {
                continue;
            }
            if *date < today {
                ended.push(dev.clone());
                warnings.push(format!(
                    "the membership of `{dev}` in client `{}` expired on {date}; it is removed",
                    client.name
                ));
            } else if let Some(left) = soon(*date) {
                warnings.push(format!(
                    "the membership of `{dev}` in client `{}` expires on {date} ({})",
                    client.name,
                    days(left)
                ));
            }
        }
        client.developers.retain(|dev| {
            let disabled = desired.developers.get(dev).is_some_and(|d| d.disabled);
            !expired.contains(dev) && !ended.contains(dev) && !disabled
        });
        client
            .membership_expires
            .retain(|dev, _| client.developers.contains(dev));
    }
    (out, warnings)
}

fn days(left: i64) -> String {
    match left {
        0 => "today is the last day".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::model::{Access, Client, Developer};

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn desired(alice_expires: Option<&str>, bob_membership: Option<&str>) -> Desired {
        let mut d = Desired::default();
        for (name, expires) in [("alice", alice_expires), ("bob", None), ("carol", None)] {
            d.developers.insert(
                name.into(),
                Developer {
                    name: name.into(),
                    email: None,
                    expires: expires.map(date),
                    disabled: name == "carol",
                },
            );
        }
        let mut membership_expires = BTreeMap::new();
        if let Some(until) = bob_membership {
            membership_expires.insert("bob".to_owned(), date(until));
        }
        d.clients.insert(
            "acme".into(),
            Client {
                name: "acme".into(),
                buckets: vec!["acme-assets".into()],
                bucket_prefixes: vec![],
                access: Access::ReadOnly,
                developers: vec!["alice".into(), "bob".into(), "carol".into()],
                membership_expires,
                bucket_access: Default::default(),
                apps: Vec::new(),
                app_user: Some("acme-app".into()),
                roles: Vec::new(),
                distributions: vec![],
                source: PathBuf::from("acme.toml"),
            },
        );
        d
    }

    #[test]
    fn access_holds_through_the_expiry_day_and_ends_the_day_after() {
        let d = desired(Some("2027-01-31"), None);
        let (on_the_day, warnings) = apply_lifecycle(&d, date("2027-01-31"));
        assert!(on_the_day.developers.contains_key("alice"));
        assert_eq!(
            warnings,
            [
                "developer `alice` expires on 2027-01-31 (today is the last day); extend or remove `expires` to keep access"
            ]
        );
        let (after, warnings) = apply_lifecycle(&d, date("2027-02-01"));
        assert!(!after.developers.contains_key("alice"));
        assert_eq!(after.clients["acme"].developers, ["bob"]);
        assert_eq!(
            warnings,
            ["developer `alice` expired on 2027-01-31; its access is revoked and its user deleted"]
        );
    }

    #[test]
    fn only_expiries_within_fourteen_days_are_warned_about() {
        let d = desired(Some("2027-01-31"), None);
        assert_eq!(apply_lifecycle(&d, date("2027-01-17")).1.len(), 1);
        assert!(apply_lifecycle(&d, date("2027-01-16")).1.is_empty());
    }

    #[test]
    fn an_expired_membership_ends_but_the_developer_stays() {
        let d = desired(None, Some("2027-01-31"));
        let (soon, warnings) = apply_lifecycle(&d, date("2027-01-30"));
        assert_eq!(soon.clients["acme"].developers, ["alice", "bob"]);
        assert_eq!(
            warnings,
            ["the membership of `bob` in client `acme` expires on 2027-01-31 (in 1 day)"]
        );
        let (after, _) = apply_lifecycle(&d, date("2027-02-01"));
        assert_eq!(after.clients["acme"].developers, ["alice"]);
        assert!(after.developers.contains_key("bob"));
        assert!(after.clients["acme"].membership_expires.is_empty());
    }

    #[test]
    fn a_disabled_developer_is_kept_without_memberships() {
        let (out, warnings) = apply_lifecycle(&desired(None, None), date("2027-01-01"));
        assert!(out.developers.contains_key("carol"));
        assert!(!out.clients["acme"].developers.contains(&"carol".to_owned()));
        assert!(warnings.is_empty());
    }
}
