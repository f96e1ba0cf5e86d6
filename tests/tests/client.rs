//! The phone-side library and the `tether` CLI against the real server: offline writes that sync
//! later, interrupted syncs, token refresh, a clock that runs ahead, refused ops.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use sync_core::{DocKey, DocKind};
use tether_client::fleet::faults::{Fault, FaultyTransport};
use tether_client::retry::RetryPolicy;
use tether_client::store::FieldWrite;
use tether_client::transport::Transport;
use tether_client::{CheckinInput, Client, ClientError, HttpTransport, Secret, Store, SyncConfig};
use uuid::Uuid;

const TETHER: &str = env!("CARGO_BIN_EXE_tether-under-test");

fn quick() -> SyncConfig {
    SyncConfig {
        push_batch: 5,
        pull_limit: 7,
        retry: RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
        ..SyncConfig::default()
    }
}

fn http(app: &TestApp) -> HttpTransport {
    HttpTransport::new(&app.address, Duration::from_secs(30)).unwrap()
}

/// A patient enrolled by `counselor`, activated on a library client over `transport`, with consent.
async fn patient_phone<T: Transport>(
    app: &TestApp,
    counselor: &Session,
    transport: T,
    config: SyncConfig,
) -> (Client<T>, String) {
    let enrolled = app.enroll(counselor).await;
    let mut phone = Client::new(Store::in_memory().unwrap(), transport, config);
    phone
        .activate(
            &app.address,
            &Secret::new(enrolled["enrollment_code"].as_str().unwrap()),
            &Secret::new(USER_PASSWORD),
            "Pixel 8",
        )
        .await
        .unwrap();
    phone
        .consent_to_care_team("treatment in the IOP")
        .await
        .unwrap();
    (phone, enrolled["email"].as_str().unwrap().to_string())
}

fn checkin(intensity: u8, triggers: &[&str]) -> CheckinInput {
    CheckinInput {
        intensity,
        triggers: triggers.iter().map(|t| t.to_string()).collect(),
        tz_offset_min: -300,
        ..CheckinInput::default()
    }
}

/// Every check-in the server's read model holds for a patient, as `id → (intensity, triggers)`.
async fn server_checkins(app: &TestApp, token: &str, patient: Uuid) -> Vec<(String, Value, Value)> {
    let (status, body) = status_and_json(
        app.get(
            &format!("/v1/patients/{patient}/checkins?limit=500"),
            Some(token),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut items: Vec<(String, Value, Value)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["intensity"].clone(),
                i["triggers"].clone(),
            )
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items
}

fn sorted_states<T: Transport>(c: &mut Client<T>) -> Vec<String> {
    let mut v: Vec<String> = c
        .store()
        .states()
        .unwrap()
        .into_iter()
        .map(|s| serde_json::to_string(&s).unwrap())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn an_interrupted_sync_retried_loses_nothing_and_duplicates_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    // Sync requests in order: the 1st push's answer is lost after the server stored it; the 2nd
    // (its retry) passes; the 3rd arrives twice; the 4th push is stored and then the app is
    // killed before it reads the answer.
    let script = vec![
        Some(Fault::DropResponse),
        None,
        Some(Fault::Duplicate),
        Some(Fault::KillAfterSend),
    ];
    let faulty = FaultyTransport::scripted(http(&app), script);
    let (mut phone, email) = patient_phone(&app, &counselor, faulty, quick()).await;
    let patient = phone.device().unwrap().user_id;
    let mut ids = Vec::new();
    for i in 0..6u8 {
        ids.push(
            phone
                .record_checkin(&checkin(i, &["stress", "lonely"]))
                .unwrap(),
        );
    }
    let written = phone.store().outbox_len().unwrap();
    assert_eq!(written, 30, "six check-ins of five fields each");

    let killed = phone.sync().await;
    assert!(
        matches!(killed, Err(ClientError::Interrupted)),
        "the scripted kill stops the sync: {killed:?}"
    );
    let (dropped, duplicated, kills) = phone.transport().counts().snapshot();
    assert_eq!((dropped, duplicated, kills), (1, 1, 1));
    // What the server stored before the kill is still in the outbox: its answer never arrived.
    assert!(phone.store().outbox_len().unwrap() > 0);

    let report = phone.sync().await.expect("the retried sync completes");
    assert_eq!(phone.store().outbox_len().unwrap(), 0);
    assert!(
        phone.store().rejected().unwrap().is_empty(),
        "nothing is refused: {:?}",
        phone.store().rejected().unwrap()
    );
    assert!(report.pushed > 0);

    // The server holds every check-in exactly once, as written.
    let mut expected: Vec<(String, Value, Value)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.to_string(), json!(i), json!(["lonely", "stress"])))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        server_checkins(&app, &counselor.access, patient).await,
        expected
    );
    // The receipt says the server holds every op of this device, with no gaps.
    let session = app.login(&email, USER_PASSWORD).await;
    let (_, pulled) = status_and_json(
        app.get("/v1/sync/pull?limit=1000", Some(&session.access))
            .await,
    )
    .await;
    assert_eq!(pulled["changes"].as_array().unwrap().len(), 30);

    // A second phone of the same patient bootstraps the very same replica.
    let mut second = Client::new(Store::in_memory().unwrap(), http(&app), quick());
    second
        .login(&app.address, &email, &Secret::new(USER_PASSWORD), "tablet")
        .await
        .unwrap();
    second.sync().await.unwrap();
    assert_eq!(sorted_states(&mut second), sorted_states(&mut phone));
    assert_eq!(second.checkins().unwrap().len(), 6);
}

#[tokio::test]
async fn ops_whose_answers_were_all_lost_are_acknowledged_as_duplicates_on_the_next_sync() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    // The push is stored but its answer lost, and every retry's answer too: the sync gives up.
    let faulty = FaultyTransport::scripted(http(&app), vec![Some(Fault::DropResponse); 4]);
    let (mut phone, _) = patient_phone(&app, &counselor, faulty, quick()).await;
    phone.record_checkin(&checkin(4, &["tired"])).unwrap();
    let gave_up = phone.sync().await;
    assert!(
        matches!(gave_up, Err(ClientError::Unavailable { attempts: 4, .. })),
        "{gave_up:?}"
    );
    assert_eq!(phone.store().outbox_len().unwrap(), 4);
    assert!(phone.status().unwrap().last_error.is_some());
    // The server stored them the first time: the next push is answered "duplicates", and the
    // outbox empties without anything stored twice.
    let report = phone.sync().await.unwrap();
    assert_eq!(phone.store().outbox_len().unwrap(), 0);
    assert_eq!((report.pushed, report.acknowledged.len()), (4, 4));
    assert_eq!(phone.status().unwrap().last_error, None);
}

/// `token` with its lifetime moved into the past, signed again with the test server's key.
fn expired_copy(token: &str) -> String {
    use jsonwebtoken::{decode, encode, DecodingKey, EncodingKey, Header, Validation};
    let mut validation = Validation::default();
    validation.validate_exp = false;
    let mut claims = decode::<Value>(
        token,
        &DecodingKey::from_secret(JWT_SECRET.as_bytes()),
        &validation,
    )
    .unwrap()
    .claims;
    let now = tether_client::client::system_ms() / 1000;
    claims["iat"] = json!(now - 3_600);
    claims["exp"] = json!(now - 1_800);
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_during_sync() {
    let app = spawn_app_with(&[("TETHER_ACCESS_TTL_SECS", "1")]).await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let (mut phone, _) = patient_phone(&app, &counselor, http(&app), quick()).await;
    let patient = phone.device().unwrap().user_id;
    let first = phone.store().credentials().unwrap().unwrap();

    // Proactively: the phone knows its token's lifetime and renews it before using it.
    phone.record_checkin(&checkin(3, &["work"])).unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    phone.sync().await.expect("sync after expiry");
    let second = phone.store().credentials().unwrap().unwrap();
    assert_ne!(second.refresh_token, first.refresh_token, "rotated");

    // Reactively: the phone believes its token is still good, the server says `token_expired`
    // (the same token, its expiry moved into the past and signed again with the test key).
    let mut stale = second.clone();
    stale.access_token = Secret::new(expired_copy(second.access_token.expose()));
    stale.access_expires_ms = i64::MAX;
    phone.store().set_credentials(&stale).unwrap();
    phone.record_checkin(&checkin(5, &["money"])).unwrap();
    phone.sync().await.expect("sync refreshes on token_expired");
    let third = phone.store().credentials().unwrap().unwrap();
    assert_ne!(third.refresh_token, second.refresh_token);
    assert_eq!(phone.store().outbox_len().unwrap(), 0);
    let counselor = app.login(&counselor.email, USER_PASSWORD).await;
    assert_eq!(
        server_checkins(&app, &counselor.access, patient)
            .await
            .len(),
        2
    );

    // A refresh token that no longer works ends the session: the phone says to sign in again
    // and keeps what it holds.
    let mut revoked = third.clone();
    revoked.access_expires_ms = 0;
    revoked.refresh_token = first.refresh_token.clone();
    phone.store().set_credentials(&revoked).unwrap();
    phone.record_checkin(&checkin(1, &[])).unwrap();
    let ended = phone.sync().await;
    assert!(
        matches!(&ended, Err(ClientError::SignInAgain { code, .. }) if code == "refresh_token_reused"),
        "{ended:?}"
    );
    assert_eq!(phone.store().outbox_len().unwrap(), 3);
    assert!(!phone.status().unwrap().signed_in);
}

#[tokio::test]
async fn a_phone_whose_clock_runs_ahead_restamps_its_unsynced_ops_and_syncs() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let enrolled = app.enroll(&counselor).await;
    // This phone's clock is an hour fast; the server allows five minutes.
    let fast: tether_client::client::WallClock =
        Box::new(|| tether_client::client::system_ms() + 3_600_000);
    let mut phone = Client::with_wall_clock(Store::in_memory().unwrap(), http(&app), quick(), fast);
    phone
        .activate(
            &app.address,
            &Secret::new(enrolled["enrollment_code"].as_str().unwrap()),
            &Secret::new(USER_PASSWORD),
            "fast phone",
        )
        .await
        .unwrap();
    let me = phone.device().unwrap().user_id;
    let doc = phone.record_checkin(&checkin(8, &["anxiety"])).unwrap();
    let before: Vec<_> = phone.store().outbox_batch(100).unwrap();
    assert!(before
        .iter()
        .all(|op| op.hlc.wall_ms() > tether_client::client::system_ms() + 3_000_000));

    let report = phone.sync().await.expect("sync re-stamps and succeeds");
    assert_eq!(report.restamped, 4, "{report:?}");
    assert_eq!(phone.store().outbox_len().unwrap(), 0);
    // The replica holds the re-stamped ops, near the server's time, and the same values.
    let now = tether_client::client::system_ms();
    for s in phone.store().states().unwrap() {
        assert!(s.hlc.wall_ms() <= now + 60_000, "{s:?} still in the future");
    }
    assert_eq!(phone.checkins().unwrap()[0].intensity, Some(8));
    // The corrected clock stamps new writes right the first time.
    phone.record_checkin(&checkin(2, &[])).unwrap();
    let again = phone.sync().await.unwrap();
    assert_eq!(again.restamped, 0);
    let token = phone.store().credentials().unwrap().unwrap().access_token;
    let (status, body) = status_and_json(
        app.get(&format!("/v1/patients/{me}/checkins"), Some(token.expose()))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&doc.to_string().as_str()), "{body}");
    assert_eq!(ids.len(), 2);
}

#[tokio::test]
async fn an_op_the_server_refuses_for_good_leaves_the_outbox_and_is_reported() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let (mut phone, _) = patient_phone(&app, &counselor, http(&app), quick()).await;
    let patient = phone.device().unwrap().user_id;
    // A patient may answer a session but not move it: schema-valid, refused by policy.
    let key = DocKey {
        patient,
        kind: DocKind::Session,
        doc: Uuid::now_v7(),
    };
    phone
        .write_fields(&[FieldWrite {
            key,
            field: "starts_at".into(),
            value: json!(1_900_000_000_000i64),
        }])
        .unwrap();
    phone.record_checkin(&checkin(6, &["boredom"])).unwrap();
    let report = phone.sync().await.unwrap();
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(report.rejected[0].1, "forbidden_field");
    assert_eq!(phone.store().outbox_len().unwrap(), 0);
    let refused = phone.store().rejected().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].code, "forbidden_field");
    assert_eq!(phone.status().unwrap().rejected, 1);
}

#[tokio::test]
async fn typed_calls_work_offline_and_rsvps_reach_the_counselor() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    // A counselor's device schedules a session for the patient through the library.
    let (mut phone, _) = patient_phone(&app, &counselor, http(&app), quick()).await;
    let patient = phone.device().unwrap().user_id;
    let mut desk = Client::new(Store::in_memory().unwrap(), http(&app), quick());
    desk.login(
        &app.address,
        &counselor.email,
        &Secret::new(USER_PASSWORD),
        "desk",
    )
    .await
    .unwrap();
    let starts = phone.now_ms().unwrap() + 3_600_000;
    let session = desk
        .schedule_session(
            patient,
            &tether_client::SessionInput {
                kind: "group".into(),
                title: "Relapse prevention group".into(),
                starts_at_ms: starts,
                duration_min: 180,
            },
        )
        .unwrap();
    desk.sync().await.unwrap();

    phone.sync().await.unwrap();
    let sessions = phone.sessions_between(starts - 1, starts + 1).unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        sessions[0].title.as_deref(),
        Some("Relapse prevention group")
    );
    // Offline from here on: these calls never touch the network.
    assert!(matches!(
        phone.rsvp(Uuid::now_v7(), "yes", None),
        Err(ClientError::UnknownSession(_))
    ));
    phone.rsvp(session, "yes", None).unwrap();
    phone
        .record_checkin(&checkin(7, &["stress", "lonely"]))
        .unwrap();
    phone.record_checkin(&checkin(5, &["stress"])).unwrap();
    phone
        .log_exercise(&tether_client::ExerciseInput {
            skill: "urge_surfing".into(),
            craving_before: Some(7),
            craving_after: Some(3),
            tz_offset_min: -300,
            ..Default::default()
        })
        .unwrap();
    let trend = phone.trend(7).unwrap();
    assert_eq!(trend.days.iter().map(|d| d.checkins).sum::<u32>(), 2);
    assert_eq!(trend.top_triggers[0], ("stress".to_string(), 2));
    assert_eq!(trend.mean_craving_drop, Some(4.0));
    assert!(matches!(
        phone.record_checkin(&checkin(11, &[])),
        Err(ClientError::Store(_))
    ));

    phone.sync().await.unwrap();
    desk.sync().await.unwrap();
    let seen = desk.sessions_between(starts - 1, starts + 1).unwrap();
    assert_eq!(seen[0].rsvp.as_deref(), Some("yes"));
    assert_eq!(desk.checkins().unwrap().len(), 2);
}

/// A TCP relay in front of the server that can be switched off, so a phone can be offline.
struct Relay {
    address: String,
    up: Arc<AtomicBool>,
}

async fn relay(to: &str) -> Relay {
    let backend = to.trim_start_matches("http://").to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let up = Arc::new(AtomicBool::new(true));
    let flag = up.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if !flag.load(Ordering::SeqCst) {
                drop(inbound);
                continue;
            }
            let backend = backend.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Relay { address, up }
}

/// Runs the CLI with `--home`, feeding `stdin`; returns (exit code, stdout, stderr).
async fn tether(home: &std::path::Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let home = home.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(TETHER)
            .arg("--home")
            .arg(&home)
            .args(&args)
            .env("TETHER_TZ_OFFSET_MIN", "-300")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_cli_phone_logs_offline_with_the_server_down_then_syncs_for_the_counselor() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let enrolled = app.enroll(&counselor).await;
    let patient = enrolled["id"].as_str().unwrap().to_string();
    let relay = relay(&app.address).await;
    let home = std::env::temp_dir().join(format!("tether-cli-{}", Uuid::new_v4()));
    let code = enrolled["enrollment_code"].as_str().unwrap();

    let (status, out, err) = tether(
        &home,
        &[
            "activate",
            "--server",
            &relay.address,
            "--device-name",
            "cli phone",
        ],
        &format!("{code}\n{USER_PASSWORD}\n"),
    )
    .await;
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("activated"), "{out}");
    let (status, _, err) = tether(&home, &["consent", "--purpose", "my IOP"], "").await;
    assert_eq!(status, 0, "{err}");

    // The server goes away; the phone keeps working.
    relay.up.store(false, Ordering::SeqCst);
    let (status, out, err) = tether(
        &home,
        &[
            "checkin",
            "--intensity",
            "7",
            "--trigger",
            "stress",
            "--trigger",
            "lonely",
            "--note",
            "rough day at work",
        ],
        "",
    )
    .await;
    assert_eq!(status, 0, "{err}");
    assert!(out.contains("saved on this phone"), "{out}");
    assert!(!out.contains("rough day"), "a note is never echoed: {out}");
    let (status, out, _) = tether(&home, &["--json", "status"], "").await;
    assert_eq!(status, 0);
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["outbox"], 6, "{s}");
    assert!(s["last_sync_ms"].is_null());
    let (status, _, err) = tether(&home, &["sync"], "").await;
    assert_eq!(status, 3, "offline sync exits 3: {err}");
    assert!(
        err.contains("unreachable") && err.contains("kept on this phone"),
        "{err}"
    );
    let (status, out, _) = tether(&home, &["trend", "--days", "7"], "").await;
    assert_eq!(status, 0);
    assert!(out.contains("stress ×1"), "{out}");

    // Back online.
    relay.up.store(true, Ordering::SeqCst);
    let (status, out, err) = tether(&home, &["sync"], "").await;
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("6 op(s) pushed"), "{out}");
    let (_, out, _) = tether(&home, &["--json", "status"], "").await;
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["outbox"], 0);
    assert!(s["last_sync_ms"].is_i64());

    // The counselor sees the check-in in the patient's records and trends.
    let (status, body) = status_and_json(
        app.get(
            &format!("/v1/patients/{patient}/checkins"),
            Some(&counselor.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let item = &body["items"][0];
    assert_eq!(item["intensity"], 7);
    assert_eq!(item["triggers"], json!(["lonely", "stress"]));
    assert_eq!(item["note"], "rough day at work");
    let (status, trends) = status_and_json(
        app.get(
            &format!("/v1/patients/{patient}/trends"),
            Some(&counselor.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{trends}");
    assert!(trends.to_string().contains("lonely"), "{trends}");

    // Bad input gets a clear message and exit code 2; nothing is written.
    let (status, _, err) = tether(&home, &["checkin", "--intensity", "12"], "").await;
    assert_eq!(status, 2);
    assert!(
        err.contains("--intensity must be a number from 0 to 10"),
        "{err}"
    );
    let (status, _, err) = tether(
        &home,
        &["checkin", "--trigger", "x", "--intensity", "3"],
        "",
    )
    .await;
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("trigger"), "{err}");
    let (_, out, _) = tether(&home, &["--json", "status"], "").await;
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["outbox"], 0);
    // Neither the note nor a token reached the server's log.
    let log = app.log();
    assert!(!log.contains("rough day"));
    let _ = std::fs::remove_dir_all(&home);
}

#[tokio::test]
async fn signing_another_account_in_never_discards_unsynced_records() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let (mut phone, email) = patient_phone(&app, &counselor, http(&app), quick()).await;
    phone.record_checkin(&checkin(6, &["people"])).unwrap();
    let other = app.enroll(&counselor).await;
    let refused = phone
        .activate(
            &app.address,
            &Secret::new(other["enrollment_code"].as_str().unwrap()),
            &Secret::new(USER_PASSWORD),
            "shared phone",
        )
        .await;
    assert!(
        matches!(refused, Err(ClientError::UnsyncedOps(4))),
        "{refused:?}"
    );
    // The same account signing in again keeps its device and everything on it.
    let device = phone.device().unwrap().device_id;
    phone
        .login(&app.address, &email, &Secret::new(USER_PASSWORD), "Pixel 8")
        .await
        .unwrap();
    assert_eq!(phone.device().unwrap().device_id, device);
    assert_eq!(phone.store().outbox_len().unwrap(), 4);
    phone.sync().await.unwrap();
    assert_eq!(phone.store().outbox_len().unwrap(), 0);
}

/// Marks a device revoked in the server's database: signing in again gives a new device id.
fn revoke_device(app: &TestApp, device: Uuid) {
    use diesel::{Connection, RunQueryDsl};
    let sql = format!("UPDATE devices SET revoked_at = 1 WHERE id = '{device}'");
    let updated = match backend() {
        Backend::Sqlite => {
            let mut conn = diesel::SqliteConnection::establish(&app.db.url).unwrap();
            diesel::sql_query(sql).execute(&mut conn).unwrap()
        }
        Backend::Postgres(_) => {
            let mut conn = diesel::PgConnection::establish(&app.db.url).unwrap();
            diesel::sql_query(sql).execute(&mut conn).unwrap()
        }
    };
    assert_eq!(updated, 1);
}

#[tokio::test]
async fn ops_stored_under_an_old_device_and_renumbered_after_signing_in_again_are_not_lost_work() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    // A first check-in syncs (device sequence 1–4, acknowledged, gone from the outbox).
    let faulty = FaultyTransport::scripted(http(&app), Vec::new());
    let (mut phone, email) = patient_phone(&app, &counselor, faulty, quick()).await;
    let patient = phone.device().unwrap().user_id;
    let first = phone.record_checkin(&checkin(3, &["work"])).unwrap();
    phone.sync().await.unwrap();
    assert_eq!(phone.store().outbox_len().unwrap(), 0);

    // The second check-in (5–8) is stored, but every answer is lost: it stays in the outbox.
    phone
        .transport()
        .script_next(vec![Some(Fault::DropResponse); 4]);
    let second = phone.record_checkin(&checkin(8, &["lonely"])).unwrap();
    assert!(phone.sync().await.is_err());
    assert_eq!(phone.store().outbox_len().unwrap(), 4);

    // The clinic revokes the device (straight in the database, as the server does for a device
    // it retires) and the phone signs in again: a new device, whose outbox is renumbered 1–4
    // while the server holds those ops as 5–8 of the old device.
    let before = phone.device().unwrap().device_id;
    revoke_device(&app, before);
    phone
        .login(&app.address, &email, &Secret::new(USER_PASSWORD), "Pixel 8")
        .await
        .unwrap();
    assert_ne!(phone.device().unwrap().device_id, before, "a new device");

    let report = phone.sync().await.unwrap();
    assert_eq!(phone.store().outbox_len().unwrap(), 0);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert!(
        phone.store().rejected().unwrap().is_empty(),
        "held ops are not lost work: {:?}",
        phone.store().rejected().unwrap()
    );
    assert_eq!(report.acknowledged.len(), 4);

    // The receipt's gap where the renumbered ops were does not confuse what comes next.
    let third = phone.record_checkin(&checkin(2, &["tired"])).unwrap();
    phone.sync().await.unwrap();
    phone.sync().await.unwrap();
    assert_eq!(phone.store().outbox_len().unwrap(), 0);
    assert!(phone.store().rejected().unwrap().is_empty());
    let mut ids: Vec<String> = [first, second, third]
        .iter()
        .map(|i| i.to_string())
        .collect();
    ids.sort();
    let held: Vec<String> = server_checkins(&app, &counselor.access, patient)
        .await
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(held, ids);
}
