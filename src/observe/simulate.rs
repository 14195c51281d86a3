//! IAM's own answers, for `verify --simulate`: what
//! `iam:SimulatePrincipalPolicy` says a user may do, to cross-check the
//! evaluator with.

use std::collections::BTreeSet;

use thiserror::Error;

use crate::aws::{self, Aws};

/// The simulator failed for a principal.
#[derive(Debug, Error)]
#[error(
    "`--simulate` needs iam:SimulatePrincipalPolicy, which failed for `{principal}`: {message}; this account or endpoint may not support it (or the credentials may not call it): run `provision verify` without `--simulate`"
)]
pub struct SimulateError {
    pub principal: String,
    pub message: String,
}

/// The `(action, resource ARN)` pairs of `actions` x `arns` that
/// `iam:SimulatePrincipalPolicy` allows the user `principal` (ARN
/// `user_arn`), one paginated call.
pub async fn allowed(
    aws: &Aws,
    principal: &str,
    user_arn: &str,
    actions: &BTreeSet<&str>,
    arns: &BTreeSet<&str>,
) -> Result<BTreeSet<(String, String)>, SimulateError> {
    let mut call = aws
        .iam
        .simulate_principal_policy()
        .policy_source_arn(user_arn);
    for a in actions {
        call = call.action_names(*a);
    }
    for r in arns {
        call = call.resource_arns(*r);
    }
    let mut pages = call.into_paginator().send();
    let mut simulated: BTreeSet<(String, String)> = BTreeSet::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| SimulateError {
            principal: principal.to_owned(),
            message: aws::describe(&e),
        })?;
        for result in page.evaluation_results() {
            for r in result.resource_specific_results() {
                if r.eval_resource_decision().as_str() == "allowed" {
                    simulated.insert((
                        result.eval_action_name().to_owned(),
                        r.eval_resource_name().to_owned(),
                    ));
                }
            }
            if result.resource_specific_results().is_empty()
                && result.eval_decision().as_str() == "allowed"
                && let Some(name) = result.eval_resource_name()
            {
                simulated.insert((result.eval_action_name().to_owned(), name.to_owned()));
            }
        }
    }
    Ok(simulated)
}
