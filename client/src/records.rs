//! What a patient does, as typed calls that work offline: record a check-in, log an exercise,
//! answer a session invitation, list sessions, see their own recent trend. Each write is one
//! store transaction (replica + outbox); each read comes from the local replica.

use std::collections::BTreeMap;

use serde_json::Value;
use sync_core::view::{is_deleted, PatientText};
use sync_core::{CheckIn, DocKey, DocKind, Exercise, Session, View, Writes};
use uuid::Uuid;

use crate::client::Client;
use crate::error::ClientError;
use crate::store::FieldWrite;
use crate::transport::Transport;

/// A craving check-in to record.
#[derive(Debug, Clone, Default)]
pub struct CheckinInput {
    /// Craving intensity 0–10.
    pub intensity: u8,
    /// Triggers (catalog entries such as `stress`, or `custom:<name>`).
    pub triggers: Vec<String>,
    /// Mood 1–5.
    pub mood: Option<u8>,
    /// Whether a lapse happened.
    pub lapse: Option<bool>,
    /// The substance involved.
    pub substance: Option<String>,
    /// Where / with whom.
    pub context: Option<PatientText>,
    /// "I need help now".
    pub crisis: bool,
    /// A free note.
    pub note: Option<PatientText>,
    /// When the craving was felt (ms UTC); now when left out.
    pub recorded_at_ms: Option<i64>,
    /// The patient's UTC offset then, minutes.
    pub tz_offset_min: i16,
}

/// A coping-skill exercise to log.
#[derive(Debug, Clone, Default)]
pub struct ExerciseInput {
    /// The skill (`urge_surfing`, `paced_breathing`, … or `custom:<name>`).
    pub skill: String,
    /// When it started (ms UTC); now when left out.
    pub started_at_ms: Option<i64>,
    /// The patient's UTC offset then, minutes.
    pub tz_offset_min: i16,
    /// How long, minutes.
    pub duration_min: Option<u16>,
    /// Craving before, 0–10.
    pub craving_before: Option<u8>,
    /// Craving after, 0–10.
    pub craving_after: Option<u8>,
    /// How helpful, 1–5.
    pub helpfulness: Option<u8>,
    /// A free note.
    pub note: Option<PatientText>,
}

/// A session a counselor schedules (the counselor side of the fleet simulator).
#[derive(Debug, Clone)]
pub struct SessionInput {
    /// `group`, `individual`, `family`, …
    pub kind: String,
    /// Title.
    pub title: String,
    /// Start, ms UTC.
    pub starts_at_ms: i64,
    /// Duration, minutes.
    pub duration_min: u16,
}

/// One local day of a patient's trend.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DayTrend {
    /// The local date, `YYYY-MM-DD`, in the offset each check-in was recorded with.
    pub date: String,
    /// Check-ins that day.
    pub checkins: u32,
    /// Mean craving intensity.
    pub mean_intensity: f64,
    /// Highest craving intensity.
    pub max_intensity: u8,
}

/// A patient's own recent trend, computed on the phone from the local replica.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Trend {
    /// Days with check-ins, oldest first.
    pub days: Vec<DayTrend>,
    /// Triggers by how often they came up, most frequent first.
    pub top_triggers: Vec<(String, u32)>,
    /// Exercises logged in the period.
    pub exercises: u32,
    /// Mean craving drop (before − after) over exercises that recorded both.
    pub mean_craving_drop: Option<f64>,
}

fn local_date(ms: i64, offset_min: i16) -> String {
    let shifted = ms.saturating_add(i64::from(offset_min) * 60_000);
    match jiff::Timestamp::from_millisecond(shifted) {
        Ok(t) => t.strftime("%Y-%m-%d").to_string(),
        Err(_) => "unknown".into(),
    }
}

impl<T: Transport> Client<T> {
    fn patient_id(&mut self) -> Result<Uuid, ClientError> {
        let d = self.device()?;
        if d.role != "patient" {
            return Err(ClientError::NotAPatient(d.role));
        }
        Ok(d.user_id)
    }

    /// The wall time this device's records are stamped with (corrected by the server's clock
    /// when it said this device runs ahead).
    pub fn now_ms(&mut self) -> Result<i64, ClientError> {
        let offset = self.device()?.clock_offset_ms;
        Ok(i64::try_from((self.wall)())
            .unwrap_or(i64::MAX)
            .saturating_add(offset))
    }

    /// Writes fields offline: replica and outbox in one transaction. The general form of every
    /// typed call, and how a counselor's device writes sessions and plans.
    pub fn write_fields(
        &mut self,
        writes: &[FieldWrite],
    ) -> Result<Vec<sync_core::Op>, ClientError> {
        let max_drift = self.config.max_drift_ms;
        Ok(self.store.write(writes, &mut self.wall, max_drift)?)
    }

    fn write_doc(
        &mut self,
        key: DocKey,
        fields: Vec<(String, Value)>,
    ) -> Result<Vec<sync_core::Op>, ClientError> {
        let writes: Vec<FieldWrite> = fields
            .into_iter()
            .map(|(field, value)| FieldWrite { key, field, value })
            .collect();
        self.write_fields(&writes)
    }

    /// Records a craving check-in; returns its id.
    pub fn record_checkin(&mut self, c: &CheckinInput) -> Result<Uuid, ClientError> {
        let patient = self.patient_id()?;
        let at = match c.recorded_at_ms {
            Some(at) => at,
            None => self.now_ms()?,
        };
        let key = DocKey {
            patient,
            kind: DocKind::Checkin,
            doc: Uuid::now_v7(),
        };
        let fields = Writes::<CheckIn>::new()
            .recorded_at(Some(at))
            .tz_offset_min(Some(c.tz_offset_min))
            .intensity(Some(c.intensity))
            .triggers(&c.triggers)
            .mood(c.mood)
            .lapse(c.lapse)
            .substance(c.substance.as_deref())
            .context(c.context.as_ref())
            .note(c.note.as_ref())
            .crisis(c.crisis.then_some(true))
            .into_fields();
        self.write_doc(key, fields)?;
        Ok(key.doc)
    }

    /// Logs a coping-skill exercise; returns its id.
    pub fn log_exercise(&mut self, x: &ExerciseInput) -> Result<Uuid, ClientError> {
        let patient = self.patient_id()?;
        let at = match x.started_at_ms {
            Some(at) => at,
            None => self.now_ms()?,
        };
        let key = DocKey {
            patient,
            kind: DocKind::Exercise,
            doc: Uuid::now_v7(),
        };
        let fields = Writes::<Exercise>::new()
            .skill(Some(&x.skill))
            .started_at(Some(at))
            .tz_offset_min(Some(x.tz_offset_min))
            .duration_min(x.duration_min)
            .craving_before(x.craving_before)
            .craving_after(x.craving_after)
            .helpfulness(x.helpfulness)
            .note(x.note.as_ref())
            .into_fields();
        self.write_doc(key, fields)?;
        Ok(key.doc)
    }

    /// Answers a session invitation (`yes`, `no`, `maybe`), with an optional note.
    pub fn rsvp(
        &mut self,
        session: Uuid,
        answer: &str,
        note: Option<PatientText>,
    ) -> Result<(), ClientError> {
        let patient = self.patient_id()?;
        let key = DocKey {
            patient,
            kind: DocKind::Session,
            doc: session,
        };
        if !self
            .store
            .documents(DocKind::Session, Some(patient))?
            .contains_key(&key)
        {
            return Err(ClientError::UnknownSession(session));
        }
        let fields = Writes::<Session>::new()
            .rsvp(Some(answer))
            .rsvp_note(note.as_ref())
            .into_fields();
        self.write_doc(key, fields)?;
        Ok(())
    }

    /// A counselor schedules a session for a patient on their care team; returns its id.
    pub fn schedule_session(
        &mut self,
        patient: Uuid,
        s: &SessionInput,
    ) -> Result<Uuid, ClientError> {
        let key = DocKey {
            patient,
            kind: DocKind::Session,
            doc: Uuid::now_v7(),
        };
        let fields = Writes::<Session>::new()
            .kind(Some(&s.kind))
            .title(Some(&s.title))
            .starts_at(Some(s.starts_at_ms))
            .duration_min(Some(s.duration_min))
            .status(Some("scheduled"))
            .into_fields();
        self.write_doc(key, fields)?;
        Ok(key.doc)
    }

    /// Deletes one of this patient's own documents (a tombstone; it syncs like any write).
    pub fn delete(&mut self, kind: DocKind, doc: Uuid) -> Result<(), ClientError> {
        let patient = self.patient_id()?;
        let key = DocKey { patient, kind, doc };
        let tombstone = (sync_core::schema::DELETED.to_string(), Value::Bool(true));
        self.write_doc(key, vec![tombstone])?;
        Ok(())
    }

    fn live<V: View>(&mut self, patient: Option<Uuid>) -> Result<Vec<V>, ClientError> {
        Ok(self
            .store
            .documents(V::KIND, patient)?
            .into_iter()
            .filter(|(_, fields)| !is_deleted(fields.iter().map(|(f, v)| (f.as_str(), v))))
            .map(|(key, fields)| V::from_fields(key, fields.iter().map(|(f, v)| (f.as_str(), v))))
            .collect())
    }

    /// Live check-ins on this device (all patients it holds), newest first.
    pub fn checkins(&mut self) -> Result<Vec<CheckIn>, ClientError> {
        let mut all: Vec<CheckIn> = self.live(None)?;
        all.sort_by_key(|c| std::cmp::Reverse(c.recorded_at));
        Ok(all)
    }

    /// Live exercises on this device, newest first.
    pub fn exercises(&mut self) -> Result<Vec<Exercise>, ClientError> {
        let mut all: Vec<Exercise> = self.live(None)?;
        all.sort_by_key(|x| std::cmp::Reverse(x.started_at));
        Ok(all)
    }

    /// Live sessions starting in `[from_ms, to_ms)`, earliest first.
    pub fn sessions_between(
        &mut self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Session>, ClientError> {
        let mut all: Vec<Session> = self.live(None)?;
        all.retain(|s| s.starts_at.is_some_and(|t| t >= from_ms && t < to_ms));
        all.sort_by_key(|s| s.starts_at);
        Ok(all)
    }

    /// Today's sessions in the patient's local day (`tz_offset_min` from UTC).
    pub fn sessions_today(&mut self, tz_offset_min: i16) -> Result<Vec<Session>, ClientError> {
        let now = self.now_ms()?;
        let offset = i64::from(tz_offset_min) * 60_000;
        let day = 86_400_000;
        let start = (now + offset).div_euclid(day) * day - offset;
        self.sessions_between(start, start + day)
    }

    /// The patient's own trend over the last `days` days, from the local replica (offline).
    pub fn trend(&mut self, days: u32) -> Result<Trend, ClientError> {
        let patient = self.patient_id()?;
        let since = self.now_ms()? - i64::from(days) * 86_400_000;
        let checkins: Vec<CheckIn> = self.live(Some(patient))?;
        let mut by_day: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut triggers: BTreeMap<String, u32> = BTreeMap::new();
        for c in checkins
            .iter()
            .filter(|c| c.recorded_at.is_some_and(|t| t >= since))
        {
            let (Some(at), Some(intensity)) = (c.recorded_at, c.intensity) else {
                continue;
            };
            let date = local_date(at, c.tz_offset_min.unwrap_or(0));
            by_day.entry(date).or_default().push(intensity);
            for t in &c.triggers {
                *triggers.entry(t.clone()).or_default() += 1;
            }
        }
        let days = by_day
            .into_iter()
            .map(|(date, xs)| DayTrend {
                date,
                checkins: u32::try_from(xs.len()).unwrap_or(u32::MAX),
                mean_intensity: xs.iter().map(|&x| f64::from(x)).sum::<f64>() / xs.len() as f64,
                max_intensity: xs.iter().copied().max().unwrap_or(0),
            })
            .collect();
        let mut top_triggers: Vec<(String, u32)> = triggers.into_iter().collect();
        top_triggers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let exercises: Vec<Exercise> = self.live(Some(patient))?;
        let recent: Vec<&Exercise> = exercises
            .iter()
            .filter(|x| x.started_at.is_some_and(|t| t >= since))
            .collect();
        let drops: Vec<f64> = recent
            .iter()
            .filter_map(|x| Some(f64::from(x.craving_before?) - f64::from(x.craving_after?)))
            .collect();
        Ok(Trend {
            days,
            top_triggers,
            exercises: u32::try_from(recent.len()).unwrap_or(u32::MAX),
            mean_craving_drop: (!drops.is_empty())
                .then(|| drops.iter().sum::<f64>() / drops.len() as f64),
        })
    }
}
