//! Repositories: every SQL statement the server runs lives here, one module per table family.
//! Functions take a `&mut DbConnection` and run synchronously; handlers call them through
//! [`crate::db::run`].

pub mod accounts;
pub mod care_team;
pub mod checkins;
pub mod consents;
pub mod dashboard_sessions;
pub mod enrollment;
pub mod pull_positions;
pub mod rate_limits;
pub mod read_model_sql;
pub mod read_models;
pub mod refresh_tokens;
pub mod sessions;
pub mod sign_ins;
pub mod sync_store;
pub mod tracks;
pub mod trends;
