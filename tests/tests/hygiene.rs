//! What the server writes to its log, and how it stops.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[tokio::test]
async fn no_password_token_or_code_ever_reaches_the_log() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let enrolled = app.enroll(&counselor).await;
    let code = enrolled["enrollment_code"].as_str().unwrap().to_string();
    let patient = app
        .activate(&code, enrolled["email"].as_str().unwrap())
        .await;
    let (_, rotated) = status_and_json(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({ "refresh_token": patient.refresh }),
        )
        .await,
    )
    .await;
    // Failures too: a wrong password, a reused token, a broken body carrying a secret.
    let _ = app
        .post(
            "/v1/auth/login",
            None,
            &json!({ "email": ADMIN_EMAIL, "password": "wrong-password-Zq9" }),
        )
        .await;
    let _ = app
        .post(
            "/v1/auth/refresh",
            None,
            &json!({ "refresh_token": patient.refresh }),
        )
        .await;
    let _ = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"password": "broken-body-secret-Kx7"#)
        .send()
        .await
        .unwrap();

    let log = app.log();
    assert!(
        log.contains("request completed"),
        "the server logged nothing: {log}"
    );
    let secrets = [
        ADMIN_PASSWORD.to_string(),
        USER_PASSWORD.to_string(),
        "wrong-password-Zq9".to_string(),
        "broken-body-secret-Kx7".to_string(),
        code.clone(),
        code.replace('-', ""),
        admin.access.clone(),
        admin.refresh.clone(),
        patient.access.clone(),
        patient.refresh.clone(),
        rotated["refresh_token"].as_str().unwrap().to_string(),
        JWT_SECRET.to_string(),
    ];
    for secret in secrets {
        assert!(
            !log.contains(&secret),
            "the log contains a secret ({} chars)",
            secret.len()
        );
    }
    // Every log line is JSON and carries the request id of its request.
    for line in log.lines().filter(|l| l.contains("request completed")) {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(entry["span"]["request_id"].is_string(), "{line}");
    }
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_then_exits_cleanly() {
    let mut app = spawn_app().await;
    let body = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let address = app.address.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /v1/auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    // Make sure the server has the request in hand before the signal.
    std::thread::sleep(Duration::from_millis(300));

    app.send_sigterm();
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "the in-flight sign-in did not complete: {response}"
    );
    assert!(response.contains("access_token"));
    assert!(app.wait_for_exit(), "the server did not exit cleanly");
    // New connections are refused once it has stopped.
    assert!(reqwest::Client::new()
        .get(app.url("/healthz"))
        .send()
        .await
        .map(|r| r.status() != StatusCode::OK)
        .unwrap_or(true));
}
