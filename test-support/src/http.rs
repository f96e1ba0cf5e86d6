//! The few HTTP calls every driver of the server repeats: a JSON POST or a GET with an optional
//! bearer token, and an answer read as status plus JSON body.

use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::Value;

/// Adds `Authorization: Bearer …` when there is a token.
pub fn with_bearer(request: RequestBuilder, token: Option<&str>) -> RequestBuilder {
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// POSTs `body` as JSON to `url`.
pub async fn post_json(
    client: &Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> reqwest::Result<Response> {
    with_bearer(client.post(url).json(body), token).send().await
}

/// GETs `url`.
pub async fn get(client: &Client, url: &str, token: Option<&str>) -> reqwest::Result<Response> {
    with_bearer(client.get(url), token).send().await
}

/// An answer whose body could not be read as JSON.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body never arrived.
    #[error("the answer's body could not be read: {0}")]
    Transport(#[from] reqwest::Error),
    /// It arrived and is not JSON.
    #[error("status {status}: body is not JSON: {text:?}")]
    NotJson {
        /// The answer's status.
        status: StatusCode,
        /// The body as it came.
        text: String,
    },
}

/// The status and JSON body of an answer.
pub async fn status_and_json(response: Response) -> Result<(StatusCode, Value), BodyError> {
    let status = response.status();
    let text = response.text().await?;
    match serde_json::from_str(&text) {
        Ok(body) => Ok((status, body)),
        Err(_) => Err(BodyError::NotJson { status, text }),
    }
}
