//! Where a client group's grant lives (its inline policy, or provision's
//! managed policy when it does not fit inline) and the changes that move it
//! to what the configuration wants, narrowing first.

use serde_json::Value;

use super::Change;
use crate::model::{AccountQuotas, GROUP_POLICY_NAME};
use crate::policy::{arn, document};

/// Where a client group's grant lives now, and where it is to live.
pub(super) struct GrantSite<'a> {
    pub(super) group: &'a str,
    pub(super) client: &'a str,
    /// The managed path, where provision's managed policy lives.
    pub(super) path: &'a str,
    /// The ARN of provision's managed policy for this client.
    pub(super) own_arn: &'a str,
    /// The live inline `provision-s3`, if any.
    pub(super) inline: Option<&'a Value>,
    /// The live document of provision's managed policy when it is attached
    /// to the group (`Null` when it could not be read).
    pub(super) managed: Option<&'a Value>,
    /// True when the new grant is to live in the managed policy (it does
    /// not fit the group's inline quota).
    pub(super) as_managed: bool,
    pub(super) quotas: &'a AccountQuotas,
}

/// Where a grant is written: provision's inline policy or its managed one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Inline,
    Managed,
}

impl GrantSite<'_> {
    fn live(&self, place: Place) -> Option<&Value> {
        match place {
            Place::Inline => self.inline,
            Place::Managed => self.managed,
        }
    }

    /// Write `after` at `place` in the second phase (`before` is the state
    /// the first phase leaves there).
    fn write(&self, place: Place, before: Option<Value>, after: &Value) -> Change {
        match place {
            Place::Inline => Change::PutGroupPolicy {
                group: self.group.to_owned(),
                policy_name: GROUP_POLICY_NAME.to_owned(),
                before,
                after: after.clone(),
            },
            Place::Managed => Change::PutManagedPolicy {
                group: self.group.to_owned(),
                policy_name: arn::managed_policy_name(self.client),
                path: self.path.to_owned(),
                arn: self.own_arn.to_owned(),
                before,
                after: after.clone(),
            },
        }
    }

    /// Remove the grant at `place` in the second phase, once it moved to
    /// the other place (it was narrowed first when needed).
    fn remove(&self, place: Place, before: &Value) -> Change {
        match place {
            Place::Inline => Change::DeleteGroupPolicy {
                group: self.group.to_owned(),
                policy_name: GROUP_POLICY_NAME.to_owned(),
                before: before.clone(),
            },
            Place::Managed => Change::DeleteManagedPolicy {
                group: self.group.to_owned(),
                arn: self.own_arn.to_owned(),
                before: (!before.is_null()).then(|| before.clone()),
            },
        }
    }

    /// The first-phase write that leaves `after` at `place`, where `old`
    /// is now (`None`: nothing stays, the policy is removed).
    fn narrowing(&self, place: Place, old: &Value, after: Option<Value>) -> Change {
        let (policy_name, arn) = match place {
            Place::Inline => (GROUP_POLICY_NAME.to_owned(), None),
            Place::Managed => (
                arn::managed_policy_name(self.client),
                Some(self.own_arn.to_owned()),
            ),
        };
        Change::NarrowGrant {
            group: self.group.to_owned(),
            policy_name,
            arn,
            before: old.clone(),
            after,
        }
    }

    /// The first-phase write that leaves at `place` only what `old` and
    /// `want` both allow, and what it leaves. A narrowed document over the
    /// place's size quota is removed instead, which takes away more, never
    /// less.
    fn narrow(&self, place: Place, old: &Value, want: &Value) -> (Change, Option<Value>) {
        let quota = match place {
            Place::Inline => self.quotas.group_policy_size,
            Place::Managed => self.quotas.managed_policy_size,
        };
        let kept = document::intersection(old, want).filter(|doc| document::size(doc) <= quota);
        (self.narrowing(place, old, kept.clone()), kept)
    }
}

/// The changes that bring a client group's grant to `want`, safe by
/// construction against a bucket moving between clients (SPEC, Guarantee
/// 1): wherever a live policy allows something `want` does not, it is first
/// narrowed in place to what both allow, in the first phase; the grant of
/// anything new, and a move between inline and managed policy, come in the
/// second, which the executor never starts once the first failed. So every
/// resource a client loses is gone before any client is granted it, and a
/// grant whose revocation failed is not attempted.
///
/// A new grant that takes away only is written in the first phase
/// directly; one that only adds, in the second.
pub(super) fn grant_changes(site: &GrantSite<'_>, want: &Value) -> Vec<Change> {
    let (target, other) = if site.as_managed {
        (Place::Managed, Place::Inline)
    } else {
        (Place::Inline, Place::Managed)
    };
    // An unreadable document may grant anything: it narrows to nothing.
    let only_adds = |old: &Value| !old.is_null() && document::covers(want, old);
    let mut changes = Vec::new();
    match site.live(target) {
        None => changes.push(site.write(target, None, want)),
        Some(old) if old == want => {}
        Some(old) if only_adds(old) => changes.push(site.write(target, Some(old.clone()), want)),
        Some(old) if !old.is_null() && document::covers(old, want) => {
            changes.push(site.narrowing(target, old, Some(want.clone())));
        }
        Some(old) => {
            let (narrowing, kept) = site.narrow(target, old, want);
            changes.push(narrowing);
            changes.push(site.write(target, kept, want));
        }
    }
    if let Some(old) = site.live(other) {
        if only_adds(old) {
            changes.push(site.remove(other, old));
        } else {
            let (narrowing, kept) = site.narrow(other, old, want);
            changes.push(narrowing);
            if let Some(kept) = kept {
                changes.push(site.remove(other, &kept));
            }
        }
    }
    changes
}
