//! Authentication: password hashing, access tokens, opaque refresh tokens and enrollment codes,
//! the request extractor that turns a bearer token into an [`AuthUser`], and attempt limits.

pub mod credentials;
pub mod extractor;
pub mod jwt;
pub mod password;
pub mod rate_limit;
pub mod token;

pub use extractor::AuthUser;
