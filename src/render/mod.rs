//! Every printer: plans (text, JSON, markdown), `verify`'s matrix and
//! bucket findings under one verdict,
//! `audit`'s findings, the access report (HTML, markdown) and apply's
//! progress lines. Each writes to the `io::Write` it is given (or returns
//! the line), never to the terminal itself, so every format is tested in
//! memory; the commands choose where it goes.

pub mod audit;
pub mod buckets;
pub mod evidence_html;
pub mod evidence_markdown;
pub mod import;
pub mod markdown;
pub mod matrix;
pub mod plan;
pub mod progress;
mod roles;
pub mod verify;

#[cfg(test)]
mod tests;
