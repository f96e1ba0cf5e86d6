//! The load generator's phones: sign-in, enrollment, op generation, push and pull over HTTP.

use crate::server::{ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::Res;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, StatusCode};
use serde::de::IgnoredAny;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use sync_core::op::op_id;
use sync_core::wire::{PullResponse, PushRequest, PushResponse};
use sync_core::{Clock, DocKind, Op};
use tether_test_support::http;
use uuid::Uuid;

const USER_PASSWORD: &str = "a long enough password";

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The server, as seen from a client.
#[derive(Clone)]
pub struct Api {
    base: String,
    client: Client,
}

/// Tokens from a sign-in or activation.
#[derive(Debug, Clone)]
pub struct Session {
    /// Account id.
    pub user_id: Uuid,
    /// Device id.
    pub device_id: Uuid,
    /// Access token.
    pub access: String,
    /// Email.
    pub email: String,
}

fn session(body: &Value, email: &str) -> Res<Session> {
    let text = |v: &Value| -> Res<String> {
        Ok(v.as_str()
            .ok_or_else(|| format!("unexpected sign-in answer: {body}"))?
            .to_string())
    };
    Ok(Session {
        user_id: text(&body["user"]["id"])?.parse()?,
        device_id: text(&body["device_id"])?.parse()?,
        access: text(&body["access_token"])?,
        email: email.to_string(),
    })
}

/// A pull answer as the load generator reads it: the changes are only counted, never decoded.
pub type PullAnswer = PullResponse<IgnoredAny>;

impl Api {
    /// A client for the server on `port`.
    pub fn new(port: u16) -> Res<Self> {
        Ok(Self {
            base: format!("http://127.0.0.1:{port}"),
            client: Client::builder()
                .timeout(Duration::from_secs(300))
                .pool_max_idle_per_host(64)
                .build()?,
        })
    }

    async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Res<Value> {
        let url = format!("{}{path}", self.base);
        let response = http::post_json(&self.client, &url, token, body).await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            return Err(format!("POST {path}: {status}: {body}").into());
        }
        Ok(body)
    }

    /// One GET that must answer 200, with a bearer token when given; returns its latency.
    pub async fn get_ok(&self, path: &str, token: Option<&str>) -> Res<Duration> {
        let url = format!("{}{path}", self.base);
        let started = std::time::Instant::now();
        let response = http::get(&self.client, &url, token).await?;
        let status = response.status();
        let _ = response.bytes().await?;
        let took = started.elapsed();
        if status != StatusCode::OK {
            return Err(format!("GET {path}: {status}").into());
        }
        Ok(took)
    }

    /// Signs in; every sign-in is a new device.
    pub async fn login(&self, email: &str, password: &str) -> Res<Session> {
        let body = self
            .post_json(
                "/v1/auth/login",
                None,
                &json!({ "email": email, "password": password, "device_name": "load phone" }),
            )
            .await?;
        session(&body, email)
    }

    /// Signs in as the first admin.
    pub async fn admin(&self) -> Res<Session> {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    async fn activate(&self, code: &Value, email: &str) -> Res<Session> {
        let code = code.as_str().ok_or("no activation code in the answer")?;
        let body = self
            .post_json(
                "/v1/auth/activate",
                None,
                &json!({ "code": code, "password": USER_PASSWORD, "device_name": "load phone" }),
            )
            .await?;
        session(&body, email)
    }

    /// The admin creates a counselor, who activates their account.
    pub async fn counselor(&self, admin: &Session) -> Res<Session> {
        let email = format!("counselor-{}@load.test", Uuid::new_v4().simple());
        let body = self
            .post_json(
                "/v1/clinicians",
                Some(&admin.access),
                &json!({ "email": email, "display_name": "Cora Counselor" }),
            )
            .await?;
        self.activate(&body["activation_code"], &email).await
    }

    /// A counselor enrolls a patient, who activates on a phone.
    pub async fn patient(&self, counselor: &Session) -> Res<Session> {
        let email = format!("patient-{}@load.test", Uuid::new_v4().simple());
        let body = self
            .post_json(
                "/v1/patients",
                Some(&counselor.access),
                &json!({ "email": email, "display_name": "Pat Patient" }),
            )
            .await?;
        self.activate(&body["enrollment_code"], &email).await
    }

    /// Another device of an activated patient.
    pub async fn another_device(&self, patient: &Session) -> Res<Session> {
        self.login(&patient.email, USER_PASSWORD).await
    }

    /// Pushes a serialized `{"ops": […]}` body of `count` ops; fails unless every op is
    /// accepted (a benchmark that silently counted rejections would measure nothing).
    pub async fn push(&self, token: &str, body: Vec<u8>, count: usize) -> Res<Duration> {
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}/v1/sync/push", self.base))
            .bearer_auth(token)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let elapsed = started.elapsed();
        if status != StatusCode::OK {
            return Err(format!("push: {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
        let answer: PushResponse = serde_json::from_slice(&bytes)?;
        if answer.accepted.len() != count || !answer.rejected.is_empty() {
            return Err(format!(
                "push: {} of {count} accepted, {} duplicates, rejected: {:?}",
                answer.accepted.len(),
                answer.duplicates.len(),
                answer.rejected.first()
            )
            .into());
        }
        Ok(elapsed)
    }

    /// Pulls one page.
    pub async fn pull(
        &self,
        token: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Res<(PullAnswer, Duration)> {
        let mut url = format!("{}/v1/sync/pull?limit={limit}", self.base);
        if let Some(c) = cursor {
            url.push_str("&cursor=");
            url.push_str(c);
        }
        let started = Instant::now();
        let response = self.client.get(url).bearer_auth(token).send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let elapsed = started.elapsed();
        if status != StatusCode::OK {
            return Err(format!("pull: {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
        Ok((serde_json::from_slice(&bytes)?, elapsed))
    }
}

/// The fields of a generated check-in: four scalars and two trigger-set elements.
pub const CHECKIN_FIELDS: [&str; 6] = [
    "recorded_at",
    "tz_offset_min",
    "intensity",
    "mood",
    "triggers/stress",
    "triggers/people",
];

/// A plausible value for a check-in field; `n` varies it between edits.
pub fn checkin_value(field: &str, n: u64, now_ms: u64) -> Value {
    match field {
        "recorded_at" => json!(now_ms.saturating_sub(60_000 + n % 3_600_000)),
        "tz_offset_min" => json!(if n % 2 == 0 { -300 } else { -240 }),
        "intensity" => json!(n % 11),
        "mood" => json!(1 + n % 5),
        _ => json!(n % 3 != 0),
    }
}

/// One device writing ops for one patient: its own HLC and dense device sequence.
pub struct Device {
    /// Its session.
    pub session: Session,
    /// The patient it writes for.
    pub patient: Uuid,
    clock: Clock<fn() -> u64>,
    next_seq: u64,
    n: u64,
}

impl Device {
    /// A device signed in with `session`, writing for `patient`.
    pub fn new(session: Session, patient: Uuid) -> Self {
        let b = session.device_id.as_bytes();
        let node = u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
        Self {
            session,
            patient,
            clock: Clock::new(node, wall_ms as fn() -> u64, 300_000),
            next_seq: 1,
            n: 0,
        }
    }

    /// One op setting `field` of a check-in.
    pub fn op(&mut self, doc: Uuid, field: &str) -> Res<Op> {
        let hlc = self.clock.now()?;
        let random: [u8; 10] = rand10();
        self.n += 1;
        let op = Op {
            id: op_id(&hlc, &random),
            patient: self.patient,
            kind: DocKind::Checkin,
            doc,
            field: field.to_string(),
            value: checkin_value(field, self.n, wall_ms()),
            hlc,
            device_seq: self.next_seq,
        };
        self.next_seq += 1;
        Ok(op)
    }

    /// `count` ops of new check-ins (six fields each; the last may be cut short), as a push body.
    pub fn checkins_body(&mut self, count: usize) -> Res<Vec<u8>> {
        let mut ops = Vec::with_capacity(count);
        while ops.len() < count {
            let doc = Uuid::now_v7();
            for field in CHECKIN_FIELDS.iter().take(count - ops.len()) {
                ops.push(self.op(doc, field)?);
            }
        }
        Ok(serde_json::to_vec(&PushRequest { ops })?)
    }

    /// `count` edits of existing check-in fields `(doc, field)`, taken round-robin from
    /// `fields` starting at `*next`, as a push body.
    pub fn edits_body(
        &mut self,
        fields: &[(Uuid, &'static str)],
        next: &mut usize,
        count: usize,
    ) -> Res<Vec<u8>> {
        let mut ops = Vec::with_capacity(count);
        for _ in 0..count {
            let (doc, field) = fields
                .get(*next % fields.len())
                .ok_or("no fields to edit")?;
            *next += 1;
            ops.push(self.op(*doc, field)?);
        }
        Ok(serde_json::to_vec(&PushRequest { ops })?)
    }
}

/// Ten random bytes for an op id (UUIDv7's random part).
fn rand10() -> [u8; 10] {
    let b = *Uuid::new_v4().as_bytes();
    [
        b[0], b[1], b[2], b[3], b[4], b[5], b[10], b[11], b[12], b[13],
    ]
}
