//! The JSON Schema of the clients file format (version 1), printed by
//! `provision schema` so editors (taplo, Even Better TOML) can complete and
//! check `clients/*.toml`.
//!
//! The schema is a file of its own, `schema/clients-v1.schema.json`, so an
//! editor can point at it in the repository too. It must say what
//! `config::raw` accepts: the tests validate every example in `clients/`
//! against it and check that it rejects unknown keys as the loader does.

/// The schema, as JSON text.
pub const CLIENTS_FILE_SCHEMA: &str = include_str!("../../schema/clients-v1.schema.json");

#[cfg(test)]
mod tests;
