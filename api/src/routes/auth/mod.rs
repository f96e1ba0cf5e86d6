//! Sign-in, token refresh, sign-out and account activation.

pub mod activate;
pub mod login;
pub mod logout;
pub mod refresh;
pub mod tokens;
