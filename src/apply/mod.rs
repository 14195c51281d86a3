//! The executor: carries out a plan's changes in phase order with bounded
//! concurrency, and reports exactly what was done and what was not.
//!
//! Every change is written so that running it again after an interruption
//! is safe: deletions treat "already gone" as success, and an application
//! user's key is recorded on the user only after its secret was delivered.
//!
//! [`execute`] makes one attempt at a plan; a failed apply is finished by
//! planning again and applying what is left. Each change kind is one
//! function in [`iam`]; new keys and their secrets are in [`keys`], what
//! offboarding takes away in [`revoke`], key rotation's writes in
//! [`rotate`], the lock that keeps applies apart in [`lock`], and the
//! bucket-policy layer's writes in [`bucket_policy`].

use std::future::Future;
use std::time::Duration;

use aws_sdk_iam::error::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures_util::StreamExt;

use crate::aws;
use crate::plan::{Change, Plan};

/// Why one change failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct ApplyError {
    /// The IAM operation that failed.
    pub operation: String,
    /// What AWS (or the local system) said.
    pub message: String,
}

impl ApplyError {
    fn call<E>(operation: &str, err: &SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        ApplyError {
            operation: operation.to_owned(),
            message: aws::describe(err),
        }
    }
}

/// Carries out single changes. A trait so the executor's ordering and
/// failure reporting can be tested without an account.
pub trait Backend {
    fn execute(
        &self,
        change: &Change,
        keys: &KeySink,
    ) -> impl Future<Output = Result<(), ApplyError>>;
}

/// What happened to each change of a plan.
#[derive(Debug, Default)]
pub struct Report {
    pub done: Vec<Change>,
    pub failed: Vec<(Change, ApplyError)>,
    /// Changes not attempted because an earlier phase failed.
    pub skipped: Vec<Change>,
}

impl Report {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

/// Progress events, for the command line to show.
#[derive(Debug)]
pub enum Event<'a> {
    /// The change was handed to the backend (at most `concurrency` are in
    /// flight).
    Started(&'a Change),
    Done(&'a Change),
    Failed(&'a Change, &'a ApplyError),
}

/// Run `plan` phase by phase, at most `concurrency` changes at a time. A
/// failure lets the other changes of its phase finish, then stops: later
/// phases depend on earlier ones.
pub async fn execute<B: Backend>(
    backend: &B,
    plan: &Plan,
    concurrency: usize,
    keys: &KeySink,
    on_event: impl FnMut(Event<'_>),
) -> Report {
    // Shared by the stream, which reports each change as it starts, and the
    // loop below, which reports results; both run on this one task and
    // never hold the borrow across an await.
    let on_event = std::cell::RefCell::new(on_event);
    let mut report = Report::default();
    let mut phases: Vec<u8> = plan.changes.iter().map(Change::phase).collect();
    phases.sort_unstable();
    phases.dedup();
    let mut failed = false;
    for phase in phases {
        let batch: Vec<&Change> = plan.changes.iter().filter(|c| c.phase() == phase).collect();
        if failed {
            report.skipped.extend(batch.into_iter().cloned());
            continue;
        }
        let mut results = futures_util::stream::iter(batch)
            .inspect(|change| (on_event.borrow_mut())(Event::Started(change)))
            .map(|change| async move { (change, backend.execute(change, keys).await) })
            .buffer_unordered(concurrency.max(1));
        while let Some((change, result)) = results.next().await {
            match result {
                Ok(()) => {
                    (on_event.borrow_mut())(Event::Done(change));
                    report.done.push(change.clone());
                }
                Err(err) => {
                    (on_event.borrow_mut())(Event::Failed(change, &err));
                    report.failed.push((change.clone(), err));
                    failed = true;
                }
            }
        }
    }
    report
}

/// True when the error says the entity does not exist.
fn is_no_such_entity<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    err.code() == Some("NoSuchEntity")
}

/// Treat "already gone" as success: a delete that an interrupted apply
/// already did must not fail the next one.
// The error is the SDK's own, passed through unchanged to `check!`.
#[allow(clippy::result_large_err)]
fn gone_ok<T, E: ProvideErrorMetadata>(result: Result<T, SdkError<E>>) -> Result<(), SdkError<E>> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_no_such_entity(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Retry a call that depends on an entity created moments ago: IAM is
/// eventually consistent, and a fresh user or group can be unknown to the
/// next call for a few seconds. Other errors return at once (the SDK has
/// already retried throttling and 5xx).
async fn settle<T, E, F, Fut>(mut call: F) -> Result<T, SdkError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E>>>,
    E: ProvideErrorMetadata,
{
    let mut delay = Duration::from_millis(200);
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if is_no_such_entity(&e) && attempt < 6 => {
                attempt += 1;
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
}

/// Tags in the SDK's form, for `operation`'s error when one is invalid.
fn sdk_tags(
    operation: &str,
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<aws_sdk_iam::types::Tag>, ApplyError> {
    tags.iter()
        .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApplyError {
            operation: operation.into(),
            message: e.to_string(),
        })
}

/// What changing an entity's managed tags from `before` to `after` takes:
/// the tags to set (new or with another value) and the keys to remove.
/// Tags provision does not manage are in neither map, so never touched.
fn tag_changes(
    before: &std::collections::BTreeMap<String, String>,
    after: &std::collections::BTreeMap<String, String>,
) -> (std::collections::BTreeMap<String, String>, Vec<String>) {
    let set = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let unset = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    (set, unset)
}

macro_rules! check {
    ($op:literal, $result:expr) => {
        $result.map_err(|e| ApplyError::call($op, &e))?
    };
}

// Declared after `check!` so the macro is in scope there.
mod bucket_policy;
mod buckets;
mod iam;
pub mod keys;
pub mod lock;
mod revoke;
mod roles;
pub mod rotate;
pub mod store;

pub use keys::{AccessKey, DeliverError, KeySink, Secret, Target, discard_key, record_key};

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::keys::lock;
    use super::*;

    #[test]
    fn tag_changes_set_what_differs_and_remove_only_what_is_no_longer_wanted() {
        let map = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let before = map(&[("kept", "1"), ("changed", "old"), ("dropped", "x")]);
        let after = map(&[("kept", "1"), ("changed", "new"), ("added", "y")]);
        let (set, unset) = tag_changes(&before, &after);
        assert_eq!(set, map(&[("added", "y"), ("changed", "new")]));
        assert_eq!(unset, vec!["dropped".to_owned()]);
        assert_eq!(tag_changes(&after, &after), (map(&[]), vec![]));
        let bad = sdk_tags("TagRole", &map(&[("k", "v")])).map(|t| t.len());
        assert_eq!(bad, Ok(1));
    }

    /// Records the order of changes and fails the ones named.
    struct Recorder {
        seen: Mutex<Vec<String>>,
        fail: Vec<String>,
    }

    impl Backend for Recorder {
        async fn execute(&self, change: &Change, _keys: &KeySink) -> Result<(), ApplyError> {
            lock(&self.seen).push(format!("{}:{}", change.phase(), change.name()));
            if self.fail.contains(&change.name()) {
                return Err(ApplyError {
                    operation: "Test".into(),
                    message: "refused".into(),
                });
            }
            Ok(())
        }
    }

    fn sample_plan() -> Plan {
        Plan {
            changes: vec![
                Change::CreateGroup {
                    group: "client-a".into(),
                    path: "/p/".into(),
                },
                Change::CreateUser {
                    user: "alice".into(),
                    path: "/p/".into(),
                    tags: Default::default(),
                    boundary: None,
                },
                Change::AddMember {
                    group: "client-a".into(),
                    user: "alice".into(),
                },
                Change::PutGroupPolicy {
                    group: "client-a".into(),
                    policy_name: "provision-s3".into(),
                    before: None,
                    after: serde_json::json!({"Version": "2012-10-17", "Statement": []}),
                },
            ],
            ..Plan::default()
        }
    }

    #[tokio::test]
    async fn phases_run_in_order() {
        let backend = Recorder {
            seen: Mutex::new(vec![]),
            fail: vec![],
        };
        let report = execute(&backend, &sample_plan(), 8, &KeySink::new(None), |_| {}).await;
        assert!(report.succeeded());
        let seen = lock(&backend.seen).clone();
        let phases: Vec<char> = seen.iter().map(|s| s.chars().next().unwrap()).collect();
        let mut sorted = phases.clone();
        sorted.sort();
        assert_eq!(phases, sorted, "changes ran out of phase order: {seen:?}");
        assert_eq!(report.done.len(), 4);
    }

    #[tokio::test]
    async fn failure_stops_later_phases_and_reports_them() {
        let backend = Recorder {
            seen: Mutex::new(vec![]),
            fail: vec!["alice".into()],
        };
        let report = execute(&backend, &sample_plan(), 8, &KeySink::new(None), |_| {}).await;
        assert!(!report.succeeded());
        // The other change of the failing phase still ran.
        assert_eq!(report.done.len(), 1);
        assert_eq!(report.done[0].name(), "client-a");
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].0.name(), "alice");
        let skipped: Vec<String> = report.skipped.iter().map(Change::name).collect();
        assert_eq!(skipped, vec!["client-a/provision-s3", "client-a/alice"]);
        assert!(
            !lock(&backend.seen)
                .iter()
                .any(|s| s.ends_with("provision-s3"))
        );
    }

    /// Revoking access depends on nothing, so it runs in the first phase: a
    /// create that fails never leaves a departed developer's access behind.
    #[tokio::test]
    async fn a_failed_create_does_not_block_revocations() {
        let backend = Recorder {
            seen: Mutex::new(vec![]),
            fail: vec!["carol".into()],
        };
        let plan = Plan {
            changes: vec![
                Change::CreateUser {
                    user: "carol".into(),
                    path: "/p/".into(),
                    tags: Default::default(),
                    boundary: None,
                },
                Change::DeleteUser {
                    user: "mallory".into(),
                    groups: vec!["client-a".into()],
                    inline_policies: vec![],
                    attached_policies: vec![],
                    holds: None,
                },
                Change::RemoveMember {
                    group: "client-a".into(),
                    user: "bob".into(),
                },
                Change::DisableUser {
                    user: "dave".into(),
                    holds: None,
                },
            ],
            ..Plan::default()
        };
        let report = execute(&backend, &plan, 8, &KeySink::new(None), |_| {}).await;
        let done: Vec<String> = report.done.iter().map(Change::name).collect();
        assert_eq!(report.failed.len(), 1);
        assert_eq!(done.len(), 3, "{done:?}");
        assert!(report.skipped.is_empty());
    }
}
