//! What every handler shares: the pool, the settings and the token keys. Nothing here holds
//! per-user state, so any number of servers can run side by side on one database.

use crate::auth::jwt::JwtKeys;
use crate::auth::password::SignInCost;
use crate::db::DbPool;
use crate::settings::Settings;
use std::sync::Arc;

/// Shared application state, cloned cheaply into every worker.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: DbPool,
    /// Settings, read once at start-up.
    pub settings: Arc<Settings>,
    /// Access-token keys.
    pub jwt: Arc<JwtKeys>,
    /// How many argon2 computations every sign-in makes, judged at start-up over every stored
    /// hash (see `auth::password`).
    pub sign_in_cost: SignInCost,
}
