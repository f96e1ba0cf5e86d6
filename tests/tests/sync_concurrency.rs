//! Concurrent pushers and pullers: every acknowledged op reaches every puller, however the
//! transactions interleave. This is the test that catches the sequence-vs-commit-order bug (a
//! cursor that moves past a number whose transaction has not committed yet).

use crate::harness::*;
use crate::phone::Phone;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use sync_core::{DocKind, FieldState, Op};
use uuid::Uuid;

const PUSHERS: usize = 4;
const BATCHES: usize = 12;
const OPS_PER_BATCH: usize = 8;

async fn push(client: &Client, base: &str, token: &str, ops: &[Op]) -> Vec<String> {
    let response = client
        .post(format!("{base}/v1/sync/push"))
        .bearer_auth(token)
        .json(&json!({ "ops": ops }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["rejected"], json!([]), "{body}");
    body["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Pulls one page; returns the changes, the next cursor and `has_more`.
async fn pull(
    client: &Client,
    base: &str,
    token: &str,
    cursor: &Option<String>,
) -> (Vec<FieldState>, String, bool) {
    let mut url = format!("{base}/v1/sync/pull?limit=7");
    if let Some(c) = cursor {
        url.push_str(&format!("&cursor={c}"));
    }
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    (
        serde_json::from_value(body["changes"].clone()).unwrap(),
        body["cursor"].as_str().unwrap().to_string(),
        body["has_more"].as_bool().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_op_reaches_every_puller_under_concurrent_pushes() {
    let app = spawn_app_with(&[("TETHER_DB_POOL_SIZE", "8")]).await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let first = app.patient(&counselor).await;
    let patient = first.user_id;

    // Four devices of the patient push; the counselor and a fifth device pull.
    let mut pushers = vec![Phone::new(first.clone())];
    for _ in 1..PUSHERS {
        pushers.push(Phone::new(app.login(&first.email, USER_PASSWORD).await));
    }
    let pullers = vec![
        counselor.access.clone(),
        app.login(&first.email, USER_PASSWORD).await.access,
    ];

    // Every op writes its own document, so every acknowledged op must show up as a field state.
    let mut work: Vec<(String, Vec<Vec<Op>>)> = Vec::new();
    for phone in &mut pushers {
        let batches = (0..BATCHES)
            .map(|_| {
                (0..OPS_PER_BATCH)
                    .map(|i| {
                        phone.make_op(
                            patient,
                            DocKind::Checkin,
                            Uuid::now_v7(),
                            "intensity",
                            json!(i % 11),
                        )
                    })
                    .collect()
            })
            .collect();
        work.push((phone.session.access.clone(), batches));
    }

    let done = Arc::new(AtomicBool::new(false));
    let base = app.address.clone();
    let client = app.client.clone();

    let mut puller_tasks = Vec::new();
    for token in pullers {
        let (done, base, client) = (done.clone(), base.clone(), client.clone());
        puller_tasks.push(tokio::spawn(async move {
            let mut seen: HashMap<(Uuid, String), Uuid> = HashMap::new();
            let mut cursor = None;
            // Pull while the pushers run, then drain once they have all been acknowledged.
            loop {
                let finished = done.load(Ordering::SeqCst);
                loop {
                    let (changes, next, more) = pull(&client, &base, &token, &cursor).await;
                    for c in changes {
                        seen.insert((c.doc, c.field), c.op);
                    }
                    cursor = Some(next);
                    if !more {
                        break;
                    }
                }
                if finished {
                    return seen;
                }
            }
        }));
    }

    let mut pusher_tasks = Vec::new();
    for (token, batches) in work {
        let (base, client) = (base.clone(), client.clone());
        pusher_tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for batch in batches {
                acked.extend(push(&client, &base, &token, &batch).await);
            }
            acked
        }));
    }
    let mut acknowledged: HashSet<String> = HashSet::new();
    for task in pusher_tasks {
        acknowledged.extend(task.await.unwrap());
    }
    assert_eq!(acknowledged.len(), PUSHERS * BATCHES * OPS_PER_BATCH);
    done.store(true, Ordering::SeqCst);

    for task in puller_tasks {
        let seen = task.await.unwrap();
        let received: HashSet<String> = seen.values().map(Uuid::to_string).collect();
        let missing: Vec<_> = acknowledged.difference(&received).collect();
        assert!(
            missing.is_empty(),
            "{} acknowledged ops never reached a puller",
            missing.len()
        );
    }
}
