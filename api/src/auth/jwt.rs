//! Short-lived access tokens: HS256 JWTs naming the user, role, clinic and device.
//!
//! Any server behind a load balancer can check their signature; each names its session (`sid`),
//! whose row every request also reads (see [`crate::repo::sign_ins`]), so signing out ends
//! them at once. Their short life (15 minutes by default) bounds what a leaked one is worth, and
//! refresh tokens (stored, rotating, revocable) carry the long-lived session.

use crate::domain::Role;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::secret::Secret;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `typ` claim of an access token, so no other JWT signed with the same key is accepted.
const ACCESS_TYPE: &str = "access";

/// Tolerated clock difference between servers, in seconds.
const LEEWAY_SECS: u64 = 5;

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// Their role.
    pub role: Role,
    /// Their clinic.
    pub clinic: Uuid,
    /// The device the session belongs to.
    pub dev: Uuid,
    /// The session (refresh-token family) the token was issued to. Tokens signed before
    /// sessions were checked have none; they are answered `token_expired` so the phone refreshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// Always `"access"`.
    pub typ: String,
}

/// Signing and verification keys, built once from the configured secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys([redacted])")
    }
}

impl JwtKeys {
    /// Keys for HMAC-SHA-256 with the given secret.
    pub fn new(secret: &Secret<Vec<u8>>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            validation,
        }
    }

    /// Issues an access token of session `session`, valid for `ttl_secs` from `now_secs`.
    #[expect(clippy::too_many_arguments, reason = "each is one claim")]
    pub fn issue(
        &self,
        user: Uuid,
        role: Role,
        clinic: Uuid,
        device: Uuid,
        session: Uuid,
        now_secs: u64,
        ttl_secs: u64,
    ) -> Result<String, ApiError> {
        let claims = Claims {
            sub: user,
            role,
            clinic,
            dev: device,
            sid: Some(session),
            iat: now_secs,
            exp: now_secs + ttl_secs,
            typ: ACCESS_TYPE.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("signing an access token failed: {e}")))
    }

    /// Verifies a token's signature, algorithm, expiry and type.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::unauthorized(
                    ErrorCode::TokenExpired,
                    "the access token has expired; refresh it",
                ),
                _ => {
                    ApiError::unauthorized(ErrorCode::InvalidToken, "the access token is not valid")
                }
            })?;
        if data.claims.typ != ACCESS_TYPE {
            return Err(ApiError::unauthorized(
                ErrorCode::InvalidToken,
                "the access token is not valid",
            ));
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::new(&Secret::new(secret.as_bytes().to_vec()))
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn a_token_verifies_with_its_own_key_only() {
        let (user, clinic, dev) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let token = keys(&"a".repeat(32))
            .issue(user, Role::Patient, clinic, dev, Uuid::new_v4(), now(), 60)
            .unwrap();
        let claims = keys(&"a".repeat(32)).verify(&token).unwrap();
        assert_eq!(
            (claims.sub, claims.dev, claims.role),
            (user, dev, Role::Patient)
        );
        let err = keys(&"b".repeat(32)).verify(&token).unwrap_err();
        assert_eq!(err.code(), "invalid_token");
    }

    #[test]
    fn an_expired_token_says_so() {
        let k = keys(&"a".repeat(32));
        let token = k
            .issue(
                Uuid::new_v4(),
                Role::Admin,
                Uuid::new_v4(),
                Uuid::new_v4(),
                Uuid::new_v4(),
                now() - 3_600,
                60,
            )
            .unwrap();
        assert_eq!(k.verify(&token).unwrap_err().code(), "token_expired");
    }
}
