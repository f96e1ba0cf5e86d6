//! The client: a local store plus a transport. Sign-in and other online calls live here; local
//! writes and views in [`crate::records`]; the sync loop in [`crate::sync`].

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::ClientError;
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use crate::store::{Credentials, DeviceInfo, Store};
use crate::transport::{HttpTransport, Method, Request, Response, Transport, TransportError};
use crate::wire::{ErrorBody, TokenResponse};

/// Knobs of the sync loop.
#[derive(Debug, Clone, Copy)]
pub struct SyncConfig {
    /// Most ops per push (the server takes up to 1000).
    pub push_batch: usize,
    /// Most changes per pull page (the server gives up to 1000).
    pub pull_limit: usize,
    /// Retries of network errors, 5xx and 429.
    pub retry: RetryPolicy,
    /// The local clock refuses to follow a remote timestamp further ahead than this.
    pub max_drift_ms: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            push_batch: 500,
            pull_limit: 500,
            retry: RetryPolicy::default(),
            max_drift_ms: 300_000,
        }
    }
}

/// The wall clock the device's HLC reads (injected so tests can run a phone whose clock is
/// wrong, as real phones' clocks sometimes are).
pub type WallClock = Box<dyn FnMut() -> u64 + Send>;

/// Real time, ms since the Unix epoch.
pub fn system_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn system_ms_i64() -> i64 {
    i64::try_from(system_ms()).unwrap_or(i64::MAX)
}

/// One device: its store and the way it reaches the server.
pub struct Client<T: Transport = HttpTransport> {
    pub(crate) store: Store,
    pub(crate) transport: T,
    pub(crate) wall: WallClock,
    pub(crate) config: SyncConfig,
}

impl<T: Transport> std::fmt::Debug for Client<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What `status` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// The server this device syncs with.
    pub server_url: Option<String>,
    /// Signed-in account.
    pub user_id: Option<Uuid>,
    /// Its role.
    pub role: Option<String>,
    /// Its email.
    pub email: Option<String>,
    /// This device's id.
    pub device_id: Option<Uuid>,
    /// Whether a session is held.
    pub signed_in: bool,
    /// Ops waiting to be pushed.
    pub outbox: u64,
    /// Ops the server refused for good.
    pub rejected: usize,
    /// Fields in the local replica.
    pub fields: usize,
    /// When the last sync completed, ms UTC.
    pub last_sync_ms: Option<i64>,
    /// Why the last sync failed, if it did.
    pub last_error: Option<String>,
}

impl<T: Transport> Client<T> {
    /// A client over `store` and `transport`, its HLC reading the system clock.
    pub fn new(store: Store, transport: T, config: SyncConfig) -> Self {
        Self::with_wall_clock(store, transport, config, Box::new(system_ms))
    }

    /// A client whose HLC reads `wall` (tests: a phone whose clock runs ahead).
    pub fn with_wall_clock(
        store: Store,
        transport: T,
        config: SyncConfig,
        wall: WallClock,
    ) -> Self {
        Self {
            store,
            transport,
            wall,
            config,
        }
    }

    /// The local store (for status and for tests that inspect or tamper with it).
    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The signed-in device, or [`crate::store::StoreError::NotSignedIn`].
    pub fn device(&mut self) -> Result<DeviceInfo, ClientError> {
        Ok(self
            .store
            .device()?
            .ok_or(crate::store::StoreError::NotSignedIn)?)
    }

    /// Redeems an enrollment or activation code on this device: chooses the password and names
    /// the device; the store is reset for the new account.
    pub async fn activate(
        &mut self,
        server_url: &str,
        code: &Secret,
        password: &Secret,
        device_name: &str,
    ) -> Result<DeviceInfo, ClientError> {
        // A code always signs in a new account, whose sign-in clears the store.
        self.refuse_if_unsynced()?;
        let body = json!({ "code": code.expose(), "password": password.expose(),
                           "device_name": device_name });
        self.sign_in("/v1/auth/activate", server_url, body).await
    }

    /// Signs in. When this store already belongs to the same account, the device keeps its id
    /// (and so its sync sequence and everything unsynced).
    pub async fn login(
        &mut self,
        server_url: &str,
        email: &str,
        password: &Secret,
        device_name: &str,
    ) -> Result<DeviceInfo, ClientError> {
        let known = self
            .store
            .device()?
            .filter(|d| d.server_url == server_url && d.email.eq_ignore_ascii_case(email.trim()));
        if known.is_none() {
            self.refuse_if_unsynced()?;
        }
        let body = json!({ "email": email, "password": password.expose(),
                           "device_name": device_name,
                           "device_id": known.map(|d| d.device_id) });
        self.sign_in("/v1/auth/login", server_url, body).await
    }

    fn refuse_if_unsynced(&mut self) -> Result<(), ClientError> {
        match self.store.outbox_len()? {
            0 => Ok(()),
            n => Err(ClientError::UnsyncedOps(n)),
        }
    }

    async fn sign_in(
        &mut self,
        path: &str,
        server_url: &str,
        body: Value,
    ) -> Result<DeviceInfo, ClientError> {
        let req = Request {
            method: Method::Post,
            path: path.to_string(),
            bearer: None,
            body: Some(body),
        };
        // Sign-in is not retried automatically: a person is waiting and can try again.
        let response = self.send_once(req).await?;
        let tokens: TokenResponse = success(&response)?;
        let creds = credentials(&tokens);
        self.store
            .sign_in(server_url, &tokens.user, tokens.device_id, &creds)?;
        self.device()
    }

    /// Signs out on this device (or on all of the account's devices). Local records stay.
    pub async fn logout(&mut self, all_devices: bool) -> Result<(), ClientError> {
        let body = json!({ "all_devices": all_devices });
        let result = self.call(Method::Post, "/v1/auth/logout", Some(body)).await;
        self.store.clear_credentials()?;
        result.map(|_| ())
    }

    /// The patient shares their records with their care team (an online call).
    pub async fn consent_to_care_team(&mut self, purpose: &str) -> Result<Value, ClientError> {
        let device = self.device()?;
        if device.role != "patient" {
            return Err(ClientError::NotAPatient(device.role));
        }
        let path = format!("/v1/patients/{}/consents", device.user_id);
        let body = json!({ "grantee": "care_team", "purpose": purpose });
        let r = self.call(Method::Post, &path, Some(body)).await?;
        success(&r)
    }

    /// An authenticated GET of any API path, its JSON answer returned as is (counselor screens,
    /// `tether get`).
    pub async fn get_json(&mut self, path: &str) -> Result<Value, ClientError> {
        let r = self.call(Method::Get, path, None).await?;
        success(&r)
    }

    /// An authenticated POST of any API path.
    pub async fn post_json(&mut self, path: &str, body: Value) -> Result<Value, ClientError> {
        let r = self.call(Method::Post, path, Some(body)).await?;
        success(&r)
    }

    /// What this device holds and how syncing stands; works offline.
    pub fn status(&mut self) -> Result<Status, ClientError> {
        let device = self.store.device()?;
        let signed_in = self.store.credentials()?.is_some();
        let sync = self.store.sync_state()?;
        Ok(Status {
            server_url: device.as_ref().map(|d| d.server_url.clone()),
            user_id: device.as_ref().map(|d| d.user_id),
            role: device.as_ref().map(|d| d.role.clone()),
            email: device.as_ref().map(|d| d.email.clone()),
            device_id: device.as_ref().map(|d| d.device_id),
            signed_in,
            outbox: self.store.outbox_len()?,
            rejected: self.store.rejected()?.len(),
            fields: self.store.states()?.len(),
            last_sync_ms: sync.last_sync_ms,
            last_error: sync.last_error,
        })
    }

    /// Sends once, mapping a lost connection to [`ClientError::Unavailable`].
    async fn send_once(&mut self, req: Request) -> Result<Response, ClientError> {
        self.transport.send(req).await.map_err(|e| match e {
            TransportError::Killed => ClientError::Interrupted,
            other => ClientError::Unavailable {
                attempts: 1,
                last: other.to_string(),
            },
        })
    }

    /// A valid access token: the stored one, or a fresh one when it expires within the margin.
    async fn access_token(&mut self) -> Result<Secret, ClientError> {
        let creds = self
            .store
            .credentials()?
            .ok_or_else(|| ClientError::SignInAgain {
                code: "signed_out".into(),
                message: "this device holds no session".into(),
            })?;
        if system_ms_i64() < creds.access_expires_ms {
            return Ok(creds.access_token);
        }
        Ok(self.refresh(&creds).await?.access_token)
    }

    /// Trades the refresh token for a new pair and stores it. A 401 ends the session locally.
    pub(crate) async fn refresh(
        &mut self,
        creds: &Credentials,
    ) -> Result<Credentials, ClientError> {
        let req = Request {
            method: Method::Post,
            path: "/v1/auth/refresh".into(),
            bearer: None,
            body: Some(json!({ "refresh_token": creds.refresh_token.expose() })),
        };
        let response = send_with_retries(&self.transport, self.config.retry, req).await?;
        if response.status == 401 {
            self.store.clear_credentials()?;
            let (code, message) = error_of(&response);
            return Err(ClientError::SignInAgain { code, message });
        }
        let tokens: TokenResponse = success(&response)?;
        let fresh = credentials(&tokens);
        self.store.set_credentials(&fresh)?;
        Ok(fresh)
    }

    /// An authenticated call: a fresh token, retries, and one refresh-and-retry when the server
    /// says the token expired or does not recognise it. Any other 4xx comes back as [`ClientError::Refused`] or, for a
    /// 401, [`ClientError::SignInAgain`].
    pub(crate) async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Response, ClientError> {
        let mut refreshed = false;
        loop {
            let token = self.access_token().await?;
            let req = Request {
                method,
                path: path.to_string(),
                bearer: Some(token.expose().to_string()),
                body: body.clone(),
            };
            let response = send_with_retries(&self.transport, self.config.retry, req).await?;
            if response.status < 400 {
                return Ok(response);
            }
            let (code, message) = error_of(&response);
            if response.status == 401 {
                // Expired, or signed with a key the server no longer holds (a restarted
                // development server, a rotated key): a refresh token, kept in the server's
                // database, gets a new one.
                if (code == "token_expired" || code == "invalid_token") && !refreshed {
                    if let Some(creds) = self.store.credentials()? {
                        self.refresh(&creds).await?;
                        refreshed = true;
                        continue;
                    }
                }
                return Err(ClientError::SignInAgain { code, message });
            }
            return Err(ClientError::Refused {
                status: response.status,
                code,
                message,
            });
        }
    }
}

impl Client<HttpTransport> {
    /// A client of the server at `server_url` with the store at `store`.
    pub fn open(
        store: Store,
        server_url: &str,
        timeout: Duration,
        config: SyncConfig,
    ) -> Result<Self, ClientError> {
        let transport =
            HttpTransport::new(server_url, timeout).map_err(|e| ClientError::Unavailable {
                attempts: 0,
                last: e.to_string(),
            })?;
        Ok(Self::new(store, transport, config))
    }
}

/// Sends with retries on network errors, 5xx and 429; returns any other answer.
async fn send_with_retries<T: Transport>(
    transport: &T,
    policy: RetryPolicy,
    req: Request,
) -> Result<Response, ClientError> {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let (retry_after, last) = match transport.send(req.clone()).await {
            Ok(r) if r.status >= 500 || r.status == 429 => {
                let (code, _) = error_of(&r);
                (r.retry_after, format!("{} {code}", r.status))
            }
            Ok(r) => return Ok(r),
            Err(TransportError::Killed) => return Err(ClientError::Interrupted),
            Err(e) => (None, e.to_string()),
        };
        if attempt >= policy.max_attempts.max(1) {
            return Err(ClientError::Unavailable {
                attempts: attempt,
                last,
            });
        }
        tokio::time::sleep(policy.delay(attempt, retry_after)).await;
    }
}

fn credentials(t: &TokenResponse) -> Credentials {
    // Renew a little before the server would refuse: a tenth of the lifetime, at most 30 s.
    let margin = (t.expires_in.saturating_mul(100)).min(30_000);
    Credentials {
        access_token: Secret::new(t.access_token.clone()),
        refresh_token: Secret::new(t.refresh_token.clone()),
        access_expires_ms: system_ms_i64()
            .saturating_add(t.expires_in.saturating_mul(1_000))
            .saturating_sub(margin),
    }
}

/// The `(code, message)` of an error answer, or a description of what came instead.
pub(crate) fn error_of(r: &Response) -> (String, String) {
    match serde_json::from_slice::<ErrorBody>(&r.body) {
        Ok(b) => (b.error.code, b.error.message),
        Err(_) => (
            format!("http_{}", r.status),
            format!("the server answered {} without an error body", r.status),
        ),
    }
}

/// Decodes a 2xx answer, or turns an error answer into [`ClientError::Refused`].
pub(crate) fn success<D: DeserializeOwned>(r: &Response) -> Result<D, ClientError> {
    if r.status >= 300 {
        let (code, message) = error_of(r);
        if r.status >= 500 || r.status == 429 {
            return Err(ClientError::Unavailable {
                attempts: 1,
                last: format!("{} {code}: {message}", r.status),
            });
        }
        return Err(ClientError::Refused {
            status: r.status,
            code,
            message,
        });
    }
    serde_json::from_slice(&r.body)
        .map_err(|e| ClientError::Protocol(format!("status {}: {e}", r.status)))
}
