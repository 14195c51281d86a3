//! Reports on the account as it is, beside the plan: `verify`'s access
//! matrix (who can reach which client's resources) and `audit`'s findings
//! (keys, passwords and strays that need a person), and the access report
//! made of both (`evidence`). Pure: built from what
//! `observe` read; `render` prints them.

pub mod audit;
pub mod buckets;
pub mod evidence;
pub mod import;
pub mod matrix;
