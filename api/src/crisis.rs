//! "I need help now": what the server sends back when a pushed check-in signals a crisis, for the
//! phone to show at once. A crisis is not a trend to review later.

use crate::db::schema::checkins;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::trends::flags::{is_crisis, FlagSettings};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text};
use serde::Serialize;

/// One place to reach help.
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    /// Who answers.
    pub name: &'static str,
    /// Number to call.
    pub phone: &'static str,
    /// Number to text, if any.
    pub text: Option<&'static str>,
    /// What it is for.
    pub description: &'static str,
}

/// Crisis resources for the phone to show.
#[derive(Debug, Clone, Serialize)]
pub struct CrisisResources {
    /// A first line to show.
    pub message: &'static str,
    /// Where to reach help, most immediate first.
    pub resources: Vec<Resource>,
}

/// The resources (United States).
pub fn resources() -> CrisisResources {
    CrisisResources {
        message: "You are not alone. If you are in danger or thinking about harming yourself, call 911 or 988 now. Your care team has been alerted.",
        resources: vec![
            Resource {
                name: "988 Suicide & Crisis Lifeline",
                phone: "988",
                text: Some("988"),
                description: "Free, confidential support 24/7 for people in distress, including substance-use crises.",
            },
            Resource {
                name: "SAMHSA National Helpline",
                phone: "1-800-662-4357",
                text: None,
                description: "Free, confidential treatment referral and information, 24/7, in English and Spanish.",
            },
            Resource {
                name: "Emergency services",
                phone: "911",
                text: None,
                description: "For a medical emergency or immediate danger.",
            },
        ],
    }
}

/// What a check-in says about a crisis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrisisSigns {
    /// "I need help now".
    pub crisis: bool,
    /// A lapse was recorded.
    pub lapse: bool,
    /// The craving's intensity, if given.
    pub intensity: Option<i64>,
}

impl CrisisSigns {
    /// Whether these signs call for crisis resources now.
    pub fn call_for_help(&self, settings: &FlagSettings) -> bool {
        is_crisis(self.crisis, self.lapse, self.intensity, settings)
    }
}

/// The columns of a stored check-in that can signal a crisis.
#[derive(QueryableByName)]
#[diesel(table_name = checkins)]
struct SignsRow {
    crisis: bool,
    lapse: Option<bool>,
    intensity: Option<i32>,
}

/// Whether any of these stored check-ins of `patient` signals a crisis (after the merge, so a
/// `crisis` flag sent by another device, or a lapse whose intensity arrived separately, counts).
/// A push reads back only the check-ins its merge did not rewrite (see
/// [`crate::sync::push::TakenCheckins`]).
pub fn any_crisis(
    conn: &mut DbConnection,
    patient: &str,
    docs: &[String],
    settings: &FlagSettings,
) -> Result<bool, ApiError> {
    if docs.is_empty() {
        return Ok(false);
    }
    let rows: Vec<(bool, Option<bool>, Option<i32>)> = match conn {
        // The ids as one array joined to the table: a probe of the primary key each, whatever
        // the planner believes (see `sync_store::fields_of_docs`).
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT c.crisis, c.lapse, c.intensity \
             FROM unnest($2::text[]) AS d (doc_id) \
             JOIN checkins c ON c.patient_id = $1 AND c.doc_id = d.doc_id \
             WHERE NOT c.deleted",
        )
        .bind::<Text, _>(patient)
        .bind::<Array<Text>, _>(docs)
        .load::<SignsRow>(c)?
        .into_iter()
        .map(|r| (r.crisis, r.lapse, r.intensity))
        .collect(),
        DbConnection::Sqlite(c) => checkins::table
            .filter(checkins::patient_id.eq(patient))
            .filter(checkins::doc_id.eq_any(docs))
            .filter(checkins::deleted.eq(false))
            .select((checkins::crisis, checkins::lapse, checkins::intensity))
            .load(c)?,
    };
    Ok(rows.into_iter().any(|(crisis, lapse, intensity)| {
        is_crisis(
            crisis,
            lapse.unwrap_or(false),
            intensity.map(i64::from),
            settings,
        )
    }))
}
