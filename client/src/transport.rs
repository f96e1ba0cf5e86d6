//! How the client reaches the server: one small trait, so the sync loop can be driven over real
//! HTTP by the app and over HTTP-with-injected-faults by the fleet simulator.

use std::future::Future;
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use serde_json::Value;

/// HTTP methods the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST with a JSON body.
    Post,
}

/// One request. `Debug` leaves out the token and the body (which can hold patient notes).
#[derive(Clone)]
pub struct Request {
    /// GET or POST.
    pub method: Method,
    /// Path and query, e.g. `/v1/sync/pull?limit=500`.
    pub path: String,
    /// Bearer token, if any.
    pub bearer: Option<String>,
    /// JSON body for a POST.
    pub body: Option<Value>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// One answer: the status, the raw body, and `Retry-After` in seconds when present.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Body bytes (JSON for every Tether answer).
    pub body: Vec<u8>,
    /// `Retry-After`, seconds.
    pub retry_after: Option<u64>,
}

/// Why a request got no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The server could not be reached, or the connection broke before an answer arrived. The
    /// server may or may not have done the work: everything the client sends is safe to repeat.
    #[error("network error: {0}")]
    Network(String),
    /// The request was not even sent (connection refused, DNS): retrying cannot duplicate work.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The process was stopped mid-sync (simulated by the fleet). Never retried.
    #[error("interrupted")]
    Killed,
}

/// Sends requests to the server.
pub trait Transport: Send + Sync {
    /// Sends one request and waits for its answer.
    fn send(&self, req: Request) -> impl Future<Output = Result<Response, TransportError>> + Send;
}

/// The real thing: HTTP with reqwest.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    base: String,
    client: reqwest::Client,
}

impl HttpTransport {
    /// A transport to `base_url` (e.g. `http://127.0.0.1:8080`), each request bounded by
    /// `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, TransportError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| TransportError::Network(e.to_string()))?;
        Ok(Self::with_client(base_url, client))
    }

    /// A transport sharing an existing connection pool (the fleet runs thousands of devices).
    pub fn with_client(base_url: &str, client: reqwest::Client) -> Self {
        Self {
            base: base_url.trim_end_matches('/').to_string(),
            client,
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }
}

fn classify(e: &reqwest::Error) -> TransportError {
    // Only the error kind is kept: reqwest's message can carry the URL, never a token or body.
    if e.is_connect() {
        TransportError::Connect(without_url(e))
    } else {
        TransportError::Network(without_url(e))
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection refused or unreachable"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else {
        "the connection failed"
    };
    match e.url() {
        Some(u) => format!("{kind} ({}{})", u.host_str().unwrap_or(""), port(u)),
        None => kind.to_string(),
    }
}

fn port(u: &reqwest::Url) -> String {
    u.port().map(|p| format!(":{p}")).unwrap_or_default()
}

impl Transport for HttpTransport {
    async fn send(&self, req: Request) -> Result<Response, TransportError> {
        let url = format!("{}{}", self.base, req.path);
        let mut builder = match req.method {
            Method::Get => self.client.get(url),
            Method::Post => self.client.post(url),
        };
        if let Some(token) = &req.bearer {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| TransportError::Network("the token is not a valid header".into()))?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        let response = builder.send().await.map_err(|e| classify(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = response.bytes().await.map_err(|e| classify(&e))?.to_vec();
        Ok(Response {
            status,
            body,
            retry_after,
        })
    }
}
