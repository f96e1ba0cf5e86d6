//! Trends, risk flags, crisis resources and the caseload, against synthetic patients whose data
//! is built to trigger — or not — each flag, with the expected aggregates computed here
//! independently of the server.

use crate::harness::*;
use crate::phone::Phone;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sync_core::DocKind;
use uuid::Uuid;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-10-01 00:00 in New York (UTC−5 then), a Thursday.
const OCT_1_LOCAL_MIDNIGHT: i64 = 1_790_830_800_000;
const NY: i64 = -300;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A moment `back` before `t`, but never before the New York midnight that began `t`'s day: a
/// check-in "an hour ago" made just after midnight still falls on today (local days decide
/// `days_since_last_checkin` and the baseline windows).
fn earlier_today(t: i64, back: i64) -> i64 {
    let midnight = t - (t + NY * 60_000).rem_euclid(DAY);
    (t - back).max(midnight)
}

struct Checkin<'a> {
    at: i64,
    intensity: i64,
    triggers: &'a [&'a str],
    mood: Option<i64>,
    lapse: bool,
    crisis: bool,
}

fn checkin(at: i64, intensity: i64, triggers: &'static [&'static str]) -> Checkin<'static> {
    Checkin {
        at,
        intensity,
        triggers,
        mood: None,
        lapse: false,
        crisis: false,
    }
}

fn write_checkin(phone: &mut Phone, c: &Checkin) -> Uuid {
    let patient = phone.session.user_id;
    let doc = Uuid::now_v7();
    phone.write(patient, DocKind::Checkin, doc, "recorded_at", json!(c.at));
    phone.write(patient, DocKind::Checkin, doc, "tz_offset_min", json!(NY));
    phone.write(
        patient,
        DocKind::Checkin,
        doc,
        "intensity",
        json!(c.intensity),
    );
    for t in c.triggers {
        phone.write(
            patient,
            DocKind::Checkin,
            doc,
            &format!("triggers/{t}"),
            json!(true),
        );
    }
    if let Some(m) = c.mood {
        phone.write(patient, DocKind::Checkin, doc, "mood", json!(m));
    }
    if c.lapse {
        phone.write(patient, DocKind::Checkin, doc, "lapse", json!(true));
        phone.write(
            patient,
            DocKind::Checkin,
            doc,
            "substance",
            json!("alcohol"),
        );
    }
    if c.crisis {
        phone.write(patient, DocKind::Checkin, doc, "crisis", json!(true));
    }
    doc
}

fn write_exercise(phone: &mut Phone, at: i64, skill: &str, before: i64, after: i64) {
    let patient = phone.session.user_id;
    let doc = Uuid::now_v7();
    phone.write(patient, DocKind::Exercise, doc, "skill", json!(skill));
    phone.write(patient, DocKind::Exercise, doc, "started_at", json!(at));
    phone.write(patient, DocKind::Exercise, doc, "tz_offset_min", json!(NY));
    phone.write(
        patient,
        DocKind::Exercise,
        doc,
        "craving_before",
        json!(before),
    );
    phone.write(
        patient,
        DocKind::Exercise,
        doc,
        "craving_after",
        json!(after),
    );
}

fn write_session(counselor: &mut Phone, patient: Uuid, at: i64, attendance: Option<&str>) {
    let doc = Uuid::now_v7();
    counselor.write(patient, DocKind::Session, doc, "kind", json!("group"));
    counselor.write(
        patient,
        DocKind::Session,
        doc,
        "title",
        json!("Process group"),
    );
    counselor.write(patient, DocKind::Session, doc, "starts_at", json!(at));
    counselor.write(patient, DocKind::Session, doc, "duration_min", json!(180));
    counselor.write(patient, DocKind::Session, doc, "status", json!("scheduled"));
    if let Some(a) = attendance {
        counselor.write(patient, DocKind::Session, doc, "attendance", json!(a));
    }
}

async fn trends(app: &TestApp, token: &str, patient: Uuid, query: &str) -> Value {
    let (status, body) = status_and_json(
        app.get(
            &format!("/v1/patients/{patient}/trends{query}"),
            Some(token),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

fn flag_kinds(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn trends_match_aggregates_computed_independently() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut counselor = Phone::new(app.counselor(&admin).await);
    let mut phone = Phone::new(app.patient(&counselor.session).await);
    let id = phone.session.user_id;
    let day = |d: i64, h: i64, m: i64| OCT_1_LOCAL_MIDNIGHT + (d - 1) * DAY + h * HOUR + m * 60_000;

    write_checkin(
        &mut phone,
        &Checkin {
            mood: Some(4),
            ..checkin(day(1, 8, 0), 3, &["stress"])
        },
    );
    write_checkin(
        &mut phone,
        &Checkin {
            mood: Some(2),
            ..checkin(day(1, 21, 0), 7, &["stress", "lonely"])
        },
    );
    write_checkin(&mut phone, &checkin(day(2, 13, 0), 5, &["tired"]));
    write_checkin(
        &mut phone,
        &Checkin {
            lapse: true,
            ..checkin(day(4, 23, 30), 9, &["lonely", "stress"])
        },
    );
    // 00:30 local on the 5th is still the 4th in UTC… no: it is 05:30 UTC on the 5th. Either way
    // it belongs to the local 5th.
    write_checkin(&mut phone, &checkin(day(5, 0, 30), 2, &[]));
    // A deleted check-in counts for nothing.
    let gone = write_checkin(&mut phone, &checkin(day(5, 9, 0), 10, &["stress"]));
    phone.write(id, DocKind::Checkin, gone, "_deleted", json!(true));
    write_exercise(&mut phone, day(1, 21, 30), "urge_surfing", 7, 3);
    write_exercise(&mut phone, day(2, 13, 30), "paced_breathing", 5, 4);
    write_exercise(&mut phone, day(4, 23, 45), "urge_surfing", 9, 7);
    phone.push(&app).await;
    write_session(&mut counselor, id, day(3, 18, 0), Some("attended"));
    write_session(&mut counselor, id, day(6, 18, 0), Some("absent"));
    write_session(&mut counselor, id, day(7, 18, 0), Some("excused"));
    write_session(&mut counselor, id, day(30, 18, 0), Some("absent"));
    let body = counselor.push(&app).await;
    assert_eq!(body["rejected"], json!([]), "{body}");

    let t = trends(
        &app,
        &counselor.session.access,
        id,
        "?from=2026-10-01&to=2026-10-20",
    )
    .await;
    assert_eq!(
        (t["from"].as_str(), t["to"].as_str()),
        (Some("2026-10-01"), Some("2026-10-20"))
    );

    // Daily series, by local day.
    let expected = [
        ("2026-10-01", 2, 5.0, 7, 5.0),
        ("2026-10-02", 1, 5.0, 5, 5.0),
        ("2026-10-04", 1, 9.0, 9, 6.0),
        ("2026-10-05", 1, 2.0, 2, 5.2),
    ];
    let daily = t["daily"].as_array().unwrap();
    assert_eq!(daily.len(), expected.len(), "{daily:?}");
    for (got, (date, count, mean, max, rolling)) in daily.iter().zip(expected) {
        assert_eq!(got["date"], date);
        assert_eq!(got["count"], count);
        assert!(close(&got["mean"], mean), "{got}");
        assert_eq!(got["max"], max);
        assert!(close(&got["rolling_mean_7d"], rolling), "{got}");
    }
    // Least-squares slope of (day, mean): x = 0, 1, 3, 4; y = 5, 5, 9, 2.
    let (xs, ys) = ([0.0, 1.0, 3.0, 4.0], [5.0, 5.0, 9.0, 2.0]);
    let (mx, my) = (xs.iter().sum::<f64>() / 4.0, ys.iter().sum::<f64>() / 4.0);
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    assert!(
        close(&t["trend"]["slope_per_day"], sxy / sxx),
        "{}",
        t["trend"]
    );
    assert_eq!(t["trend"]["direction"], "falling");

    // Triggers by frequency, and by the cravings they come with.
    let triggers: Vec<(String, i64, f64)> = t["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["trigger"].as_str().unwrap().into(),
                x["count"].as_i64().unwrap(),
                x["mean_intensity"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(triggers[0].0, "stress");
    assert_eq!(triggers[0].1, 3);
    assert!((triggers[0].2 - 19.0 / 3.0).abs() < 1e-9);
    assert_eq!((triggers[1].0.as_str(), triggers[1].1), ("lonely", 2));
    assert_eq!((triggers[2].0.as_str(), triggers[2].1), ("tired", 1));
    let by_intensity: Vec<&str> = t["triggers_by_intensity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["trigger"].as_str().unwrap())
        .collect();
    assert_eq!(by_intensity, vec!["lonely", "stress"]);

    // Heat map: (weekday, hour) in local time; Oct 1 2026 is a Thursday (3).
    let cells: Vec<(i64, i64, i64, f64)> = t["heatmap"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["weekday"].as_i64().unwrap(),
                c["hour"].as_i64().unwrap(),
                c["count"].as_i64().unwrap(),
                c["mean"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        vec![
            (0, 0, 1, 2.0),
            (3, 8, 1, 3.0),
            (3, 21, 1, 7.0),
            (4, 13, 1, 5.0),
            (6, 23, 1, 9.0)
        ]
    );

    // Coping skills by mean craving drop, overall and per trigger.
    assert_eq!(
        t["skills"],
        json!([
            { "skill": "urge_surfing", "count": 2, "mean_drop": 3.0 },
            { "skill": "paced_breathing", "count": 1, "mean_drop": 1.0 },
        ])
    );
    assert_eq!(
        t["skills_by_trigger"],
        json!([
            { "trigger": "lonely", "skills": [{ "skill": "urge_surfing", "count": 2, "mean_drop": 3.0 }] },
            { "trigger": "stress", "skills": [{ "skill": "urge_surfing", "count": 2, "mean_drop": 3.0 }] },
            { "trigger": "tired", "skills": [{ "skill": "paced_breathing", "count": 1, "mean_drop": 1.0 }] },
        ])
    );

    assert_eq!(t["lapses"].as_array().unwrap().len(), 1);
    assert_eq!(t["lapses"][0]["intensity"], 9);
    assert_eq!(
        t["adherence"],
        json!({ "days_with_checkin": 4, "days": 20, "rate": 0.2 })
    );
    assert_eq!(t["attendance"]["attended"], 1);
    assert_eq!(t["attendance"]["absent"], 1);
    assert_eq!(t["attendance"]["excused"], 1);
    assert!(close(&t["attendance"]["rate"], 0.5));
    assert!(t["days_since_last_checkin"].as_i64().unwrap() > 40);

    // The patient sees their own trends; strangers do not; bad dates are refused.
    trends(
        &app,
        &phone.session.access,
        id,
        "?from=2026-10-01&to=2026-10-20",
    )
    .await;
    let stranger = app.counselor(&admin).await;
    assert_error(
        app.get(&format!("/v1/patients/{id}/trends"), Some(&stranger.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for bad in [
        "?from=2026-02-30",
        "?from=2026-10-05&to=2026-10-01",
        "?tz=Europe/Paris",
    ] {
        assert_error(
            app.get(
                &format!("/v1/patients/{id}/trends{bad}"),
                Some(&counselor.session.access),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
        )
        .await;
    }
}

/// A patient with a phone, consented to the counselor.
async fn patient(app: &TestApp, counselor: &Session) -> Phone {
    Phone::new(app.patient(counselor).await)
}

async fn flags_of(app: &TestApp, counselor: &Session, patient: Uuid) -> Vec<String> {
    flag_kinds(&trends(app, &counselor.access, patient, "").await["flags"])
}

#[tokio::test]
async fn each_risk_flag_fires_on_the_data_built_for_it_and_not_otherwise() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut counselor = Phone::new(app.counselor(&admin).await);
    let c = counselor.session.clone();
    let t = now();

    // Quiet: a check-in at 3 an hour ago.
    let mut quiet = patient(&app, &c).await;
    write_checkin(&mut quiet, &checkin(earlier_today(t, HOUR), 3, &[]));
    quiet.push(&app).await;
    assert_eq!(
        flags_of(&app, &c, quiet.session.user_id).await,
        Vec::<String>::new()
    );

    // High craving: an 8 within 48 hours (a 7 would not do).
    let mut high = patient(&app, &c).await;
    write_checkin(&mut high, &checkin(t - 40 * HOUR, 8, &[]));
    write_checkin(&mut high, &checkin(earlier_today(t, HOUR), 2, &[]));
    high.push(&app).await;
    assert_eq!(
        flags_of(&app, &c, high.session.user_id).await,
        vec!["high_craving"]
    );

    // A lapse at 5: a lapse, not a crisis.
    let mut lapse = patient(&app, &c).await;
    write_checkin(
        &mut lapse,
        &Checkin {
            lapse: true,
            ..checkin(earlier_today(t, 2 * HOUR), 5, &[])
        },
    );
    lapse.push(&app).await;
    assert_eq!(
        flags_of(&app, &c, lapse.session.user_id).await,
        vec!["lapse"]
    );

    // Silence: the last check-in four days ago.
    let mut silent = patient(&app, &c).await;
    write_checkin(&mut silent, &checkin(t - 4 * DAY, 3, &[]));
    silent.push(&app).await;
    assert_eq!(
        flags_of(&app, &c, silent.session.user_id).await,
        vec!["no_recent_checkin"]
    );

    // Two missed sessions in a row (an attended one before them does not help).
    let mut absent = patient(&app, &c).await;
    write_checkin(&mut absent, &checkin(earlier_today(t, HOUR), 3, &[]));
    absent.push(&app).await;
    let pid = absent.session.user_id;
    write_session(&mut counselor, pid, t - 9 * DAY, Some("attended"));
    write_session(&mut counselor, pid, t - 5 * DAY, Some("absent"));
    write_session(&mut counselor, pid, t - 2 * DAY, Some("absent"));
    counselor.push(&app).await;
    assert_eq!(flags_of(&app, &c, pid).await, vec!["missed_sessions"]);

    // A rise over the patient's own baseline: two weeks around 2, then three days at 6.
    let mut rising = patient(&app, &c).await;
    for d in 4..18 {
        write_checkin(&mut rising, &checkin(t - d * DAY, 2 + (d % 2), &[]));
    }
    for d in 0..3 {
        write_checkin(
            &mut rising,
            &checkin(earlier_today(t, HOUR) - d * DAY, 6, &[]),
        );
    }
    rising.push(&app).await;
    assert_eq!(
        flags_of(&app, &c, rising.session.user_id).await,
        vec!["craving_above_baseline"]
    );

    // The same 6s for a patient whose usual is 6: nothing.
    let mut steady = patient(&app, &c).await;
    for d in 0..18 {
        write_checkin(
            &mut steady,
            &checkin(earlier_today(t, HOUR) - d * DAY, 6 + (d % 2), &[]),
        );
    }
    steady.push(&app).await;
    assert_eq!(
        flags_of(&app, &c, steady.session.user_id).await,
        Vec::<String>::new()
    );

    // Craving rising while mood falls, over a week.
    let mut sinking = patient(&app, &c).await;
    for (k, d) in (0..6).rev().enumerate() {
        let k = k as i64;
        write_checkin(
            &mut sinking,
            &Checkin {
                mood: Some(5 - k * 4 / 5),
                ..checkin(earlier_today(t, HOUR) - d * DAY, 1 + k, &[])
            },
        );
    }
    sinking.push(&app).await;
    let kinds = flags_of(&app, &c, sinking.session.user_id).await;
    assert!(
        kinds.contains(&"craving_and_low_mood_rising".to_string()),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_retried_crisis_push_is_answered_with_resources_until_the_check_in_is_deleted() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let mut help = patient(&app, &counselor).await;
    let me = help.session.user_id;
    let doc = write_checkin(
        &mut help,
        &Checkin {
            crisis: true,
            ..checkin(earlier_today(now(), HOUR), 4, &[])
        },
    );
    let batch = help.outbox.clone();
    let first = help.push(&app).await;
    assert!(first["crisis_resources"].is_object(), "{first}");

    // The answer was lost on the way: the phone sends the same batch again and must be told
    // again, though the server merges nothing new.
    let again = help.push_ops(&app, &batch).await;
    assert_eq!(
        again["duplicates"].as_array().unwrap().len(),
        batch.len(),
        "{again}"
    );
    assert!(again["crisis_resources"].is_object(), "{again}");

    // An edit older than the stored value loses the merge; the check-in still signals a crisis.
    let mut stale = help.make_op(me, DocKind::Checkin, doc, "crisis", json!(false));
    stale.hlc = batch[0].hlc;
    let lost = help.push_ops(&app, &[stale.clone()]).await;
    assert_eq!(lost["accepted"], json!([stale.id.to_string()]), "{lost}");
    assert!(lost["crisis_resources"].is_object(), "{lost}");

    // Deleted since: neither the deletion nor a retry of the first batch calls for help.
    help.write(me, DocKind::Checkin, doc, "_deleted", json!(true));
    let deleted = help.push(&app).await;
    assert_eq!(deleted["crisis_resources"], Value::Null, "{deleted}");
    let retried = help.push_ops(&app, &batch).await;
    assert_eq!(retried["crisis_resources"], Value::Null, "{retried}");
}

#[tokio::test]
async fn a_crisis_check_in_returns_resources_and_puts_the_patient_first_on_the_caseload() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let t = now();

    let mut calm = patient(&app, &counselor).await;
    write_checkin(&mut calm, &checkin(earlier_today(t, HOUR), 2, &[]));
    let body = calm.push(&app).await;
    assert_eq!(body["crisis_resources"], Value::Null);

    let mut quiet_but_silent = patient(&app, &counselor).await;
    write_checkin(&mut quiet_but_silent, &checkin(t - 5 * DAY, 2, &[]));
    quiet_but_silent.push(&app).await;

    // "I need help now", made offline five days ago and arriving only now: judged on arrival.
    let mut help = patient(&app, &counselor).await;
    write_checkin(
        &mut help,
        &Checkin {
            crisis: true,
            ..checkin(t - 5 * DAY, 4, &[])
        },
    );
    let body = help.push(&app).await;
    let resources = &body["crisis_resources"]["resources"];
    let phones: Vec<&str> = resources
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["phone"].as_str().unwrap())
        .collect();
    assert!(
        phones.contains(&"988") && phones.contains(&"1-800-662-4357") && phones.contains(&"911"),
        "{body}"
    );
    // Nobody is paged yet: the message must not say that anyone was.
    let message = body["crisis_resources"]["message"].as_str().unwrap();
    assert!(
        message.contains("988") && message.contains("911"),
        "{message}"
    );
    assert!(
        message.contains("not alerted right away") && !message.contains("has been alerted"),
        "{message}"
    );

    // A lapse reported with a craving of 9 is a crisis too.
    let mut relapse = patient(&app, &counselor).await;
    write_checkin(
        &mut relapse,
        &Checkin {
            lapse: true,
            ..checkin(earlier_today(t, HOUR), 9, &[])
        },
    );
    let body = relapse.push(&app).await;
    assert!(body["crisis_resources"].is_object(), "{body}");

    // One patient enrolled but never consented: not on the caseload at all.
    let hidden = app.patient_without_consent(&counselor).await;

    let (status, caseload) =
        status_and_json(app.get("/v1/caseload", Some(&counselor.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{caseload}");
    let rows = caseload["patients"].as_array().unwrap();
    let order: Vec<String> = rows
        .iter()
        .map(|r| r["patient_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rows.len(), 4);
    assert!(!order.contains(&hidden.user_id.to_string()));
    // Both crises first (urgent), then silence (medium), then the calm patient (no flags).
    assert_eq!(rows[0]["priority"], "urgent");
    assert_eq!(rows[1]["priority"], "urgent");
    let urgent: Vec<&String> = order[..2].iter().collect();
    assert!(
        urgent.contains(&&help.session.user_id.to_string())
            && urgent.contains(&&relapse.session.user_id.to_string())
    );
    assert_eq!(order[2], quiet_but_silent.session.user_id.to_string());
    assert_eq!(order[3], calm.session.user_id.to_string());
    assert_eq!(rows[3]["flags"], json!([]));
    assert_eq!(rows[3]["last_intensity"], 2);
    assert!(close(&rows[3]["mean_7d"], 2.0));
    assert_eq!(rows[3]["days_since_last_checkin"], 0);
    let crisis_row = rows
        .iter()
        .find(|r| r["patient_id"] == help.session.user_id.to_string())
        .unwrap();
    assert_eq!(crisis_row["flags"][0]["kind"], "crisis");
    assert!(crisis_row["flags"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("I need help now"));

    // Every row was a read of that patient's records: it is in their access log.
    let (_, log) = status_and_json(
        app.get(
            &format!("/v1/patients/{}/access-log", calm.session.user_id),
            Some(&calm.session.access),
        )
        .await,
    )
    .await;
    assert_eq!(log["items"][0]["action"], "read_caseload");

    // Only counselors have a caseload.
    for other in [&admin, &calm.session] {
        assert_error(
            app.get("/v1/caseload", Some(&other.access)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
}
