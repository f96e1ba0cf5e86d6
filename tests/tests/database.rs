//! What a server says when its database is out of reach: at start-up (where it tried and why it
//! failed, at once) and mid-request (a 503 to retry, never a 500 that reads as lost work).

use crate::harness::*;
use crate::phone::Phone;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_tether-api-under-test");

/// Starts the server against `database_url` and returns how it ended and what it printed.
fn start_against(database_url: &str) -> (std::process::ExitStatus, String, Duration) {
    let started = Instant::now();
    let out = Command::new(BINARY)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("TETHER_BIND", "127.0.0.1:0")
        .env("TETHER_JWT_SECRET", JWT_SECRET)
        .env("TETHER_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, text, started.elapsed())
}

#[test]
fn a_server_that_cannot_reach_postgresql_says_where_it_tried_and_why_at_once() {
    // Port 1 on the loopback: nothing listens there, on any machine.
    let (status, text, took) = start_against("postgres://tether:hunter2@127.0.0.1:1/clinic");
    assert!(!status.success(), "{text}");
    assert!(
        text.contains("cannot connect to PostgreSQL at postgres://127.0.0.1:1/clinic"),
        "{text}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert!(!text.contains("multiconnection"), "{text}");
    assert!(
        !text.contains("hunter2"),
        "the password reached the output: {text}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}: {text}");
}

#[test]
fn a_server_pointed_at_a_missing_postgresql_database_says_it_does_not_exist() {
    let Backend::Postgres(admin_url) = backend() else {
        return; // needs a PostgreSQL server to talk to
    };
    let url = admin_url
        .rsplit_once('/')
        .map(|(server, _)| format!("{server}/tether_no_such_database"))
        .unwrap();
    let (status, text, _) = start_against(&url);
    assert!(!status.success(), "{text}");
    assert!(text.contains("cannot connect to PostgreSQL at"), "{text}");
    assert!(
        text.contains(r#"database "tether_no_such_database" does not exist"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_connection_lost_in_the_middle_of_a_push_is_a_503_to_retry_and_the_retry_stores_it() {
    if !matches!(backend(), Backend::Postgres(_)) {
        return; // an embedded SQLite file has no connection to lose
    }
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let mut phone = Phone::new(app.patient(&counselor).await);
    phone.checkin(9, &["stress"]);
    let ops = phone.outbox.clone();

    // Another connection holds the table every push writes first, so the push waits inside its
    // transaction; then the server's waiting connection is cut, as a fail-over would cut it.
    let mut holder = PgConnection::establish(&app.db.url).unwrap();
    holder
        .batch_execute("BEGIN; LOCK TABLE patient_streams IN ACCESS EXCLUSIVE MODE;")
        .unwrap();
    let request = app
        .client
        .post(app.url("/v1/sync/push"))
        .bearer_auth(&phone.session.access)
        .json(&json!({ "ops": ops }))
        .send();
    let push = tokio::spawn(request);
    let mut watcher = PgConnection::establish(&app.db.url).unwrap();
    let mut cut = 0;
    for _ in 0..200 {
        cut = diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND wait_event_type = 'Lock'",
        )
        .execute(&mut watcher)
        .unwrap();
        if cut > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(cut, 1, "the push never waited on the lock");
    let response = push.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    holder.batch_execute("ROLLBACK").unwrap();

    // The phone retries, as told: everything is stored once.
    let body = phone.push(&app).await;
    assert_eq!(
        body["accepted"].as_array().unwrap().len(),
        ops.len(),
        "{body}"
    );
    assert!(phone.outbox.is_empty());
    assert!(
        app.log().contains("database connection lost"),
        "{}",
        app.log()
    );
}
