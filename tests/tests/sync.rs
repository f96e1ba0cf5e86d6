//! The sync protocol over HTTP: push, pull, receipts, convergence, rejections, read models.

use crate::harness::*;
use crate::phone::{snapshot, Phone};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sync_core::{DocKind, Replica};
use uuid::Uuid;

/// A clinic with a counselor and one patient with two phones.
struct Clinic {
    app: TestApp,
    counselor: Phone,
    phone: Phone,
    tablet: Phone,
}

async fn clinic() -> Clinic {
    clinic_with(&[]).await
}

async fn clinic_with(env: &[(&str, &str)]) -> Clinic {
    let app = spawn_app_with(env).await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let phone = app.patient(&counselor).await;
    let tablet = app.login(&phone.email, USER_PASSWORD).await;
    Clinic {
        counselor: Phone::new(counselor),
        phone: Phone::new(phone),
        tablet: Phone::new(tablet),
        app,
    }
}

fn ids(body: &Value, key: &str) -> Vec<String> {
    body[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_checkin_logged_on_one_phone_reaches_the_other_and_the_read_model() {
    let mut c = clinic().await;
    let doc = c.phone.checkin(7, &["stress", "lonely"]);
    let body = c.phone.push(&c.app).await;
    assert_eq!(ids(&body, "accepted").len(), 5, "{body}");
    assert!(c.phone.outbox.is_empty());
    assert_eq!(body["receipt"]["high_water"], 5);
    assert_eq!(body["receipt"]["gaps"], json!([]));

    assert_eq!(c.tablet.pull_all(&c.app, 100).await, 5);
    assert_eq!(snapshot(&c.tablet.replica), snapshot(&c.phone.replica));

    let patient = c.phone.session.user_id;
    let (status, page) = status_and_json(
        c.app
            .get(
                &format!("/v1/patients/{patient}/checkins"),
                Some(&c.phone.session.access),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let item = &page["items"][0];
    assert_eq!(item["id"], doc.to_string());
    assert_eq!(item["intensity"], 7);
    assert_eq!(item["triggers"], json!(["lonely", "stress"]));
    assert_eq!(item["tz_offset_min"], -300);
    assert_eq!(page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_device_is_not_sent_back_what_it_wrote_unless_someone_else_won() {
    let mut c = clinic().await;
    let doc = c.phone.checkin(4, &[]);
    c.phone.push(&c.app).await;
    assert_eq!(
        c.phone.pull_all(&c.app, 100).await,
        0,
        "the phone got its own writes back"
    );

    c.tablet.pull_all(&c.app, 100).await;
    let patient = c.phone.session.user_id;
    c.tablet
        .write(patient, DocKind::Checkin, doc, "intensity", json!(9));
    c.tablet.push(&c.app).await;
    assert_eq!(c.phone.pull_all(&c.app, 100).await, 1);
    assert_eq!(snapshot(&c.phone.replica), snapshot(&c.tablet.replica));
    assert_eq!(c.tablet.pull_all(&c.app, 100).await, 0);
}

#[tokio::test]
async fn retrying_a_batch_any_number_of_times_changes_nothing() {
    let mut c = clinic().await;
    c.phone.checkin(6, &["tired"]);
    let batch = c.phone.outbox.clone();
    let first = c.phone.push_ops(&c.app, &batch).await;
    assert_eq!(ids(&first, "accepted").len(), batch.len());
    for _ in 0..3 {
        let again = c.phone.push_ops(&c.app, &batch).await;
        assert_eq!(ids(&again, "accepted"), Vec::<String>::new());
        assert_eq!(ids(&again, "duplicates").len(), batch.len());
        assert_eq!(again["receipt"], first["receipt"]);
    }
    assert_eq!(c.tablet.pull_all(&c.app, 100).await, batch.len());
}

#[tokio::test]
async fn a_reused_op_id_with_different_content_is_rejected_never_overwritten() {
    let mut c = clinic().await;
    let patient = c.phone.session.user_id;
    let doc = Uuid::now_v7();
    let op = c
        .phone
        .write(patient, DocKind::Checkin, doc, "intensity", json!(3));
    c.phone.push(&c.app).await;
    let mut forged = op.clone();
    forged.value = json!(10);
    let body = c.phone.push_ops(&c.app, &[forged.clone(), forged]).await;
    assert_eq!(body["rejected"][0]["code"], "op_id_conflict", "{body}");
    // A reused id carrying a new sequence number is refused for good: it must not leave a gap
    // that the phone would be asked to fill forever.
    let mut renumbered = c
        .phone
        .make_op(patient, DocKind::Checkin, doc, "mood", json!(2));
    renumbered.id = op.id;
    let body = c.phone.push_ops(&c.app, &[renumbered.clone()]).await;
    assert_eq!(body["rejected"][0]["code"], "op_id_conflict", "{body}");
    assert_eq!(
        body["receipt"]["high_water"], renumbered.device_seq,
        "{body}"
    );
    assert_eq!(body["receipt"]["gaps"], json!([]));
    c.tablet.pull_all(&c.app, 100).await;
    assert_eq!(
        c.tablet.replica.get(
            &sync_core::DocKey {
                patient,
                kind: DocKind::Checkin,
                doc
            },
            "intensity"
        ),
        Some(&json!(3))
    );
}

#[tokio::test]
async fn a_device_sequence_number_cannot_be_reused_by_another_op() {
    let mut c = clinic().await;
    let patient = c.phone.session.user_id;
    let doc = Uuid::now_v7();
    let first = c
        .phone
        .write(patient, DocKind::Checkin, doc, "intensity", json!(3));
    c.phone.push(&c.app).await;
    let mut second = c
        .phone
        .make_op(patient, DocKind::Checkin, doc, "mood", json!(2));
    second.device_seq = first.device_seq;
    let body = c.phone.push_ops(&c.app, &[second]).await;
    assert_eq!(body["rejected"][0]["code"], "device_seq_reused", "{body}");
    assert_eq!(ids(&body, "accepted"), Vec::<String>::new());
}

#[tokio::test]
async fn receipts_report_the_high_water_mark_and_the_gaps() {
    let mut c = clinic().await;
    let patient = c.phone.session.user_id;
    let doc = Uuid::now_v7();
    let ops: Vec<_> = (0..6)
        .map(|i| {
            c.phone
                .make_op(patient, DocKind::Checkin, doc, "intensity", json!(i))
        })
        .collect();
    // Seqs 1, 2 and 5 arrive; 3, 4 and 6 are still on the phone.
    let body = c
        .phone
        .push_ops(&c.app, &[ops[0].clone(), ops[1].clone(), ops[4].clone()])
        .await;
    assert_eq!(body["receipt"]["high_water"], 2);
    assert_eq!(body["receipt"]["gaps"], json!([[3, 4]]));
    // A pull reports the same receipt.
    let (_, pulled) = status_and_json(
        c.app
            .get("/v1/sync/pull", Some(&c.phone.session.access))
            .await,
    )
    .await;
    assert_eq!(pulled["receipt"], body["receipt"]);
    let body = c
        .phone
        .push_ops(&c.app, &[ops[3].clone(), ops[2].clone()])
        .await;
    assert_eq!(body["receipt"]["high_water"], 5);
    assert_eq!(body["receipt"]["gaps"], json!([]));
    // The server's state is the latest by HLC, whatever order the ops arrived in.
    let body = c.phone.push_ops(&c.app, &[ops[5].clone()]).await;
    assert_eq!(body["receipt"]["high_water"], 6);
    c.tablet.pull_all(&c.app, 100).await;
    assert_eq!(
        c.tablet.replica.get(
            &sync_core::DocKey {
                patient,
                kind: DocKind::Checkin,
                doc
            },
            "intensity"
        ),
        Some(&json!(5))
    );
}

#[tokio::test]
async fn a_fresh_phone_bootstraps_from_current_state_not_history() {
    let mut c = clinic().await;
    let patient = c.phone.session.user_id;
    let doc = Uuid::now_v7();
    for i in 0..50 {
        c.phone
            .write(patient, DocKind::Checkin, doc, "intensity", json!(i % 11));
    }
    c.phone
        .write(patient, DocKind::Checkin, doc, "mood", json!(3));
    c.phone.push(&c.app).await;
    assert_eq!(
        c.tablet.pull_all(&c.app, 100).await,
        2,
        "one state per field, not one per edit"
    );
    assert_eq!(snapshot(&c.tablet.replica), snapshot(&c.phone.replica));
}

#[tokio::test]
async fn pulls_come_in_pages_until_has_more_is_false() {
    let mut c = clinic().await;
    for _ in 0..5 {
        c.phone.checkin(5, &["boredom", "cues"]);
    }
    c.phone.push(&c.app).await;
    let total = c.phone.written.len();
    assert_eq!(total, 25);
    let (_, first) = status_and_json(
        c.app
            .get("/v1/sync/pull?limit=10", Some(&c.tablet.session.access))
            .await,
    )
    .await;
    assert_eq!(first["changes"].as_array().unwrap().len(), 10);
    assert_eq!(first["has_more"], true);
    assert_eq!(c.tablet.pull_all(&c.app, 10).await, total);
    assert_eq!(snapshot(&c.tablet.replica), snapshot(&c.phone.replica));
    // Exactly a multiple of the page size: the last page says there is no more.
    let mut other = Phone::new(c.app.login(&c.phone.session.email, USER_PASSWORD).await);
    assert_eq!(other.pull_all(&c.app, 5).await, total);
}

#[tokio::test]
async fn a_counselors_session_reaches_the_phone_and_the_rsvp_reaches_the_counselor() {
    let mut c = clinic().await;
    let patient = c.phone.session.user_id;
    let session = Uuid::now_v7();
    let starts = 1_900_000_000_000i64;
    c.counselor
        .write(patient, DocKind::Session, session, "kind", json!("group"));
    c.counselor.write(
        patient,
        DocKind::Session,
        session,
        "title",
        json!("Relapse prevention group"),
    );
    c.counselor.write(
        patient,
        DocKind::Session,
        session,
        "starts_at",
        json!(starts),
    );
    c.counselor.write(
        patient,
        DocKind::Session,
        session,
        "duration_min",
        json!(180),
    );
    c.counselor.write(
        patient,
        DocKind::Session,
        session,
        "status",
        json!("scheduled"),
    );
    let body = c.counselor.push(&c.app).await;
    assert_eq!(ids(&body, "accepted").len(), 5, "{body}");

    assert_eq!(c.phone.pull_all(&c.app, 100).await, 5);
    c.phone
        .write(patient, DocKind::Session, session, "rsvp", json!("yes"));
    let body = c.phone.push(&c.app).await;
    assert_eq!(ids(&body, "accepted").len(), 1, "{body}");
    assert_eq!(c.counselor.pull_all(&c.app, 100).await, 1);
    assert_eq!(snapshot(&c.counselor.replica), snapshot(&c.phone.replica));

    let (status, page) = status_and_json(
        c.app
            .get(
                &format!("/v1/patients/{patient}/sessions"),
                Some(&c.counselor.session.access),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["rsvp"], "yes");
    assert_eq!(page["items"][0]["starts_at"], starts);
    assert_eq!(page["items"][0]["kind"], "group");
}

#[tokio::test]
async fn two_phones_and_a_counselor_editing_offline_converge_on_the_same_state() {
    let mut c = clinic().await;
    let patient = c.phone.session.user_id;
    let session = Uuid::now_v7();
    let shared_checkin = Uuid::now_v7();
    // Everyone works offline.
    for i in 0..3 {
        c.phone.checkin(3 + i, &["stress"]);
        c.tablet.checkin(6, &["hungry", "angry"]);
    }
    c.phone.write(
        patient,
        DocKind::Checkin,
        shared_checkin,
        "intensity",
        json!(2),
    );
    c.tablet.write(
        patient,
        DocKind::Checkin,
        shared_checkin,
        "intensity",
        json!(8),
    );
    c.phone.write(
        patient,
        DocKind::Checkin,
        shared_checkin,
        "triggers/stress",
        json!(true),
    );
    c.tablet.write(
        patient,
        DocKind::Checkin,
        shared_checkin,
        "triggers/stress",
        json!(false),
    );
    c.counselor.write(
        patient,
        DocKind::Session,
        session,
        "starts_at",
        json!(1_900_000_000_000i64),
    );
    c.counselor.write(
        patient,
        DocKind::Session,
        session,
        "kind",
        json!("individual"),
    );
    c.phone
        .write(patient, DocKind::Session, session, "rsvp", json!("maybe"));
    c.tablet
        .write(patient, DocKind::Session, session, "rsvp", json!("yes"));
    c.counselor.write(
        patient,
        DocKind::Session,
        session,
        "attendance",
        json!("attended"),
    );

    // Batches are held back and pushed in a shuffled order, with duplicates and retries.
    let split = |ops: &[sync_core::Op]| -> Vec<Vec<sync_core::Op>> {
        ops.chunks(3).map(<[_]>::to_vec).collect()
    };
    let mut batches: Vec<(usize, Vec<sync_core::Op>)> = Vec::new();
    for (who, phone) in [&c.phone, &c.tablet, &c.counselor].into_iter().enumerate() {
        for batch in split(&phone.outbox) {
            batches.push((who, batch.clone()));
            batches.push((who, batch));
        }
    }
    // A fixed shuffle (reverse interleave) so a failure is reproducible.
    batches.reverse();
    let (even, odd): (Vec<_>, Vec<_>) = batches
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    for (_, (who, batch)) in even.into_iter().chain(odd) {
        let phone = [&c.phone, &c.tablet, &c.counselor][who];
        let body = phone.push_ops(&c.app, &batch).await;
        assert_eq!(body["rejected"], json!([]), "{body}");
    }

    let mut reference = Replica::new();
    for op in c
        .phone
        .written
        .iter()
        .chain(&c.tablet.written)
        .chain(&c.counselor.written)
    {
        reference.apply(op.clone()).unwrap();
    }
    for phone in [&mut c.phone, &mut c.tablet, &mut c.counselor] {
        phone.pull_all(&c.app, 7).await;
    }
    let expected = snapshot(&reference);
    assert_eq!(snapshot(&c.phone.replica), expected);
    assert_eq!(snapshot(&c.tablet.replica), expected);
    assert_eq!(snapshot(&c.counselor.replica), expected);
}

#[tokio::test]
async fn a_deleted_checkin_leaves_the_read_model_but_still_syncs() {
    let mut c = clinic().await;
    let patient = c.phone.session.user_id;
    let kept = c.phone.checkin(3, &[]);
    let gone = c.phone.checkin(9, &[]);
    c.phone
        .write(patient, DocKind::Checkin, gone, "_deleted", json!(true));
    c.phone.push(&c.app).await;
    let (_, page) = status_and_json(
        c.app
            .get(
                &format!("/v1/patients/{patient}/checkins"),
                Some(&c.counselor.session.access),
            )
            .await,
    )
    .await;
    let listed: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![kept.to_string()]);
    c.tablet.pull_all(&c.app, 100).await;
    assert_eq!(snapshot(&c.tablet.replica), snapshot(&c.phone.replica));
}

#[tokio::test]
async fn read_models_filter_by_time_and_page_with_a_cursor() {
    let mut c = clinic().await;
    let patient = c.phone.session.user_id;
    let base = 1_780_000_000_000i64;
    for i in 0..7i64 {
        let doc = Uuid::now_v7();
        c.phone.write(
            patient,
            DocKind::Exercise,
            doc,
            "skill",
            json!("paced_breathing"),
        );
        c.phone.write(
            patient,
            DocKind::Exercise,
            doc,
            "started_at",
            json!(base + i * 3_600_000),
        );
        c.phone
            .write(patient, DocKind::Exercise, doc, "craving_before", json!(8));
        c.phone
            .write(patient, DocKind::Exercise, doc, "craving_after", json!(4));
    }
    c.phone.push(&c.app).await;
    let token = c.counselor.session.access.clone();
    let url = |q: &str| format!("/v1/patients/{patient}/exercises?{q}");
    // [base + 1h, base + 5h) holds hours 1..=4.
    let (_, page) = status_and_json(
        c.app
            .get(
                &url(&format!(
                    "from={}&to={}&limit=3",
                    base + 3_600_000,
                    base + 5 * 3_600_000
                )),
                Some(&token),
            )
            .await,
    )
    .await;
    let times: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["started_at"].as_i64().unwrap())
        .collect();
    assert_eq!(
        times,
        vec![
            base + 4 * 3_600_000,
            base + 3 * 3_600_000,
            base + 2 * 3_600_000
        ]
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, next) = status_and_json(
        c.app
            .get(
                &url(&format!(
                    "from={}&to={}&limit=3&cursor={cursor}",
                    base + 3_600_000,
                    base + 5 * 3_600_000
                )),
                Some(&token),
            )
            .await,
    )
    .await;
    let times: Vec<i64> = next["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["started_at"].as_i64().unwrap())
        .collect();
    assert_eq!(times, vec![base + 3_600_000]);
    assert_eq!(next["next_cursor"], Value::Null);
    assert_eq!(next["items"][0]["craving_after"], 4);

    for bad in [
        "limit=0",
        "limit=501",
        "from=10&to=5",
        "cursor=nonsense",
        "colour=blue",
    ] {
        assert_error(
            c.app.get(&url(bad), Some(&token)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
        )
        .await;
    }
}

/// `n` mood ops of one new check-in of `phone`'s patient, numbered on from the phone's sequence.
fn moods(phone: &mut Phone, n: usize) -> Vec<sync_core::Op> {
    let patient = phone.session.user_id;
    let doc = Uuid::now_v7();
    (0..n)
        .map(|i| phone.make_op(patient, DocKind::Checkin, doc, "mood", json!(1 + i % 5)))
        .collect()
}

fn receipt_of(body: &Value) -> (i64, Value) {
    (
        body["receipt"]["high_water"].as_i64().unwrap(),
        body["receipt"]["gaps"].clone(),
    )
}

#[tokio::test]
async fn a_receipt_counts_only_the_callers_own_devices_ops() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let first = app.patient(&counselor).await;
    // The same patient signed in twice: two devices.
    let second = app.login(&first.email, USER_PASSWORD).await;
    assert_ne!(first.device_id, second.device_id);
    let mut a = Phone::new(first);
    let mut b = Phone::new(second);

    let a_ops = moods(&mut a, 10);
    let body = a.push_ops(&app, &a_ops).await;
    assert_eq!(receipt_of(&body), (10, json!([])), "{body}");

    let b_ops = moods(&mut b, 3);
    let body = b.push_ops(&app, &b_ops).await;
    assert_eq!(receipt_of(&body), (3, json!([])), "{body}");

    // B re-sends A's identical ops 6–8: the server holds them (duplicates), and B's receipt
    // credits nothing for them.
    let body = b.push_ops(&app, &a_ops[5..8]).await;
    let ids: Vec<Value> = a_ops[5..8]
        .iter()
        .map(|op| json!(op.id.to_string()))
        .collect();
    assert_eq!(body["duplicates"], json!(ids), "{body}");
    assert_eq!(body["rejected"], json!([]), "{body}");
    assert_eq!(receipt_of(&body), (3, json!([])), "{body}");

    // B's own 4–5: its log holds 1–5, and so does its receipt.
    let b_more = moods(&mut b, 2);
    let body = b.push_ops(&app, &b_more).await;
    assert_eq!(receipt_of(&body), (5, json!([])), "{body}");

    // B's own 6–8 are new ops of B, stored.
    let b_own = moods(&mut b, 3);
    assert_eq!(b_own[0].device_seq, 6);
    let body = b.push_ops(&app, &b_own).await;
    let ids: Vec<Value> = b_own.iter().map(|op| json!(op.id.to_string())).collect();
    assert_eq!(body["accepted"], json!(ids), "{body}");
    assert_eq!(receipt_of(&body), (8, json!([])), "{body}");

    // An op of A re-sent by B under B's own next number (a phone that signed in again and
    // renumbered its outbox) is held: a duplicate, not a conflict, crediting nothing.
    let mut renumbered = a_ops[9].clone();
    renumbered.device_seq = 9;
    let body = b.push_ops(&app, &[renumbered]).await;
    assert_eq!(
        body["duplicates"],
        json!([a_ops[9].id.to_string()]),
        "{body}"
    );
    assert_eq!(body["rejected"], json!([]), "{body}");
    assert_eq!(receipt_of(&body), (8, json!([])), "{body}");

    // B's numbering moves past the 9 it gave that op: its next own op is 10, and its receipt
    // keeps a hole at 9, where B's log holds nothing.
    let b_next = moods(&mut b, 2);
    assert_eq!(b_next[1].device_seq, 10);
    let body = b.push_ops(&app, &b_next[1..]).await;
    assert_eq!(receipt_of(&body), (8, json!([[9, 9]])), "{body}");

    // A's receipt is its own, untouched by B.
    let (_, pulled) = status_and_json(
        app.get("/v1/sync/pull?limit=1", Some(&a.session.access))
            .await,
    )
    .await;
    assert_eq!(receipt_of(&pulled), (10, json!([])), "{pulled}");
}
