//! What provision knows about IAM policies, with no IO: the documents it
//! writes and reads, the ARNs they name, how IAM evaluates them, and the
//! checks built on that (isolation reach, lint, the boundary, the operator's
//! own policy). Imports only the model.

pub mod actions;
pub mod arn;
pub mod boundary;
pub mod bucket_policy;
pub mod condition;
pub mod document;
pub mod evaluate;
pub mod isolation;
pub mod kms;
pub mod lint;
pub mod operator;
pub mod principal;
pub mod reach;
pub mod trust;
