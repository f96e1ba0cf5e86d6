//! Every failure, however it happens, is the same JSON shape with the right status.

use crate::harness::*;
use reqwest::StatusCode;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let (status, body) = status_and_json(app.get("/healthz", None).await).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = status_and_json(app.get("/readyz", None).await).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404() {
    let app = spawn_app().await;
    assert_error(
        app.get("/v1/nothing-here", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(app.get("/", None).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_known_path_with_the_wrong_method_is_a_json_405() {
    let app = spawn_app().await;
    let response = app.get("/v1/auth/login", None).await;
    assert_eq!(response.headers()["allow"], "POST");
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn broken_json_is_a_400_that_does_not_echo_the_input() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"email": "a@b.test", "password": "secret-in-broken-json""#)
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert!(!body.to_string().contains("secret-in-broken-json"));

    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"email": "a@b.test", "password": 12345678901}"#)
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert!(!body.to_string().contains("12345678901"));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("email=a@b.test&password=x")
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let app = spawn_app_with(&[("TETHER_MAX_BODY_BYTES", "1024")]).await;
    let big = serde_json::json!({ "email": "a@b.test", "password": "x".repeat(4096) });
    assert_error(
        app.post("/v1/auth/login", None, &big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sane_one_is_echoed() {
    let app = spawn_app().await;
    let response = app.get("/healthz", None).await;
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(generated.len(), 36);
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "phone-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "phone-abc-123");
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(response.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn nothing_the_server_answers_may_be_cached() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for response in [
        app.get("/healthz", None).await,
        app.get("/v1/me", Some(&admin.access)).await,
        app.get("/v1/nowhere", None).await,
        app.post(
            "/v1/auth/login",
            None,
            &serde_json::json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await,
    ] {
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "{}",
            response.url()
        );
    }
}

#[tokio::test]
async fn no_answer_may_be_sniffed_as_another_type() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for response in [
        app.get("/healthz", None).await,
        app.get("/v1/me", Some(&admin.access)).await,
        app.get("/v1/me", None).await,
        app.get("/v1/nowhere", None).await,
        app.get("/dashboard/sign-in", None).await,
    ] {
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{}",
            response.url()
        );
    }
}

#[tokio::test]
async fn an_unreadable_body_on_a_route_without_a_json_extractor_is_still_a_json_error() {
    let app = spawn_app_with(&[("TETHER_MAX_BODY_BYTES", "1024")]).await;
    let admin = app.admin().await;
    let response = app
        .client
        .post(app.url("/v1/auth/logout"))
        .bearer_auth(&admin.access)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"all_devices\": true, \"pad\": \"{}\"}}",
            "x".repeat(4096)
        ))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

/// Sends raw bytes and returns what came back, until the server closes the connection.
fn raw_exchange(app: &TestApp, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let address = app.address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// What openapi.yaml's "Errors" section says of requests that are not valid HTTP: the parser
/// answers them below the application, with an empty body, and closes the connection. If a
/// framework upgrade changes that (a body, another status), this fails and the spec must follow.
#[tokio::test]
async fn a_request_that_is_not_http_is_answered_by_the_parser_as_the_spec_says() {
    let app = spawn_app().await;
    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    for (request, status) in [
        (b"GARBAGE\r\n\r\n".to_vec(), "400"),
        (
            b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            "400",
        ),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n".to_vec(), "400"),
        (big_header.into_bytes(), "431"),
    ] {
        let answer = raw_exchange(&app, &request);
        let head = answer.split("\r\n\r\n").next().unwrap_or_default().to_lowercase();
        assert!(head.starts_with(&format!("http/1.1 {status} ")), "{head}");
        assert!(head.contains("content-length: 0"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
    }
    // The same server answers a well-formed request with the documented body.
    let answer = raw_exchange(
        &app,
        b"GET /v1/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
    assert!(
        answer.contains(r#"{"error":{"code":"not_found""#),
        "{answer}"
    );
    assert!(answer.to_lowercase().contains("x-request-id: "), "{answer}");
}
