//! A minimal phone for the tests: a sync-core replica, an HLC, a device sequence and an outbox,
//! talking to the server the way the real app will.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use sync_core::op::op_id;
use sync_core::{Clock, DocKind, FieldState, Hlc, Op, Replica};
use uuid::Uuid;

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// One device of one user.
pub struct Phone {
    /// Its session.
    pub session: Session,
    /// Its replica.
    pub replica: Replica,
    clock: Clock<fn() -> u64>,
    next_seq: u64,
    /// Ops written here and not yet acknowledged.
    pub outbox: Vec<Op>,
    /// Every op this phone ever wrote.
    pub written: Vec<Op>,
    /// The pull cursor.
    pub cursor: Option<String>,
}

impl Phone {
    /// A phone signed in with `session`.
    pub fn new(session: Session) -> Self {
        let node = u64::from_le_bytes(session.device_id.as_bytes()[8..16].try_into().unwrap());
        Self {
            session,
            replica: Replica::new(),
            clock: Clock::new(node, wall_ms as fn() -> u64, 300_000),
            next_seq: 1,
            outbox: Vec::new(),
            written: Vec::new(),
            cursor: None,
        }
    }

    /// The next HLC.
    pub fn tick(&mut self) -> Hlc {
        self.clock.now().unwrap()
    }

    /// Makes an op (without applying or queueing it).
    pub fn make_op(
        &mut self,
        patient: Uuid,
        kind: DocKind,
        doc: Uuid,
        field: &str,
        value: Value,
    ) -> Op {
        let hlc = self.tick();
        let random: [u8; 10] = Uuid::new_v4().as_bytes()[..10].try_into().unwrap();
        let op = Op {
            id: op_id(&hlc, &random),
            patient,
            kind,
            doc,
            field: field.to_string(),
            value,
            hlc,
            device_seq: self.next_seq,
        };
        self.next_seq += 1;
        op
    }

    /// Writes a field offline: applied locally, queued for push.
    pub fn write(
        &mut self,
        patient: Uuid,
        kind: DocKind,
        doc: Uuid,
        field: &str,
        value: Value,
    ) -> Op {
        let op = self.make_op(patient, kind, doc, field, value);
        self.replica.apply(op.clone()).unwrap();
        self.outbox.push(op.clone());
        self.written.push(op.clone());
        op
    }

    /// Writes a whole check-in for `patient` (the phone's owner) and returns its id.
    pub fn checkin(&mut self, intensity: i64, triggers: &[&str]) -> Uuid {
        let patient = self.session.user_id;
        let doc = Uuid::now_v7();
        let at = wall_ms() as i64 - 60_000;
        self.write(patient, DocKind::Checkin, doc, "recorded_at", json!(at));
        self.write(patient, DocKind::Checkin, doc, "tz_offset_min", json!(-300));
        self.write(
            patient,
            DocKind::Checkin,
            doc,
            "intensity",
            json!(intensity),
        );
        for t in triggers {
            self.write(
                patient,
                DocKind::Checkin,
                doc,
                &format!("triggers/{t}"),
                json!(true),
            );
        }
        doc
    }

    /// Pushes raw ops (not necessarily from the outbox); returns the response body.
    pub async fn push_ops(&self, app: &TestApp, ops: &[Op]) -> Value {
        let (status, body) = status_and_json(
            app.post(
                "/v1/sync/push",
                Some(&self.session.access),
                &json!({ "ops": ops }),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "push failed: {body}");
        body
    }

    /// Pushes the outbox; drops what the server acknowledged (accepted or duplicate).
    pub async fn push(&mut self, app: &TestApp) -> Value {
        let ops = std::mem::take(&mut self.outbox);
        let body = self.push_ops(app, &ops).await;
        let acked: BTreeSet<String> = body["accepted"]
            .as_array()
            .unwrap()
            .iter()
            .chain(body["duplicates"].as_array().unwrap())
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        self.outbox = ops
            .into_iter()
            .filter(|op| !acked.contains(&op.id.to_string()))
            .collect();
        body
    }

    /// Pulls until `has_more` is false; returns how many field states arrived.
    pub async fn pull_all(&mut self, app: &TestApp, limit: usize) -> usize {
        let mut received = 0;
        loop {
            let mut url = format!("/v1/sync/pull?limit={limit}");
            if let Some(c) = &self.cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let (status, body) =
                status_and_json(app.get(&url, Some(&self.session.access)).await).await;
            assert_eq!(status, StatusCode::OK, "pull failed: {body}");
            let changes: Vec<FieldState> = serde_json::from_value(body["changes"].clone()).unwrap();
            received += changes.len();
            for change in &changes {
                self.clock.observe(change.hlc).unwrap();
            }
            self.replica.apply_delta(changes).unwrap();
            self.cursor = Some(body["cursor"].as_str().unwrap().to_string());
            if !body["has_more"].as_bool().unwrap() {
                return received;
            }
        }
    }
}

/// Every field state of a replica, sorted, for comparing replicas.
pub fn snapshot(replica: &Replica) -> Vec<String> {
    let mut states: Vec<String> = replica
        .states()
        .into_iter()
        .map(|s| serde_json::to_string(&s).unwrap())
        .collect();
    states.sort();
    states
}
