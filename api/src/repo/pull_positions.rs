//! Where each device has read each patient's change stream (`pull_cursors`, `pull_positions`):
//! what lets the pull cursor be a small token whatever the caseload (see [`crate::sync::pull`]).

use crate::db::fixed_sql::Fixed;
use crate::db::DbConnection;
use crate::error::ApiError;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};

/// A device's epochs: acknowledged, pending (the page sent last, not yet acknowledged) and the
/// last one handed out. A device that never pulled has none stored and stands at
/// [`CursorRow::NEVER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorRow {
    /// The epoch of the acknowledged positions.
    pub acked: i64,
    /// The epoch of the unacknowledged page, if one was sent.
    pub pending: Option<i64>,
    /// The last epoch handed out: every change of the row takes a new one.
    pub issued: i64,
}

impl CursorRow {
    /// A device that never pulled: epoch 0, no positions.
    pub const NEVER: CursorRow = CursorRow {
        acked: 0,
        pending: None,
        issued: 0,
    };
}

/// A readable patient whose stream may hold something the device has not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// The patient.
    pub patient_id: String,
    /// The last number handed out in the patient's stream.
    pub head: i64,
    /// The acknowledged position (0: none).
    pub seq: i64,
    /// How far the unacknowledged page read, if it advanced this patient.
    pub pending: Option<i64>,
}

/// What one read tells a pull about its device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceState {
    /// The device's epochs (`None`: it never pulled).
    pub cursor: Option<CursorRow>,
    /// Readable patients whose head is past the acknowledged position (past 0 when
    /// `from_scratch`), or whose position the pending page advanced, in patient order.
    pub streams: Vec<Stream>,
    /// Patients the device holds positions of but may no longer read.
    pub unreadable: Vec<String>,
}

#[derive(QueryableByName)]
struct StateRow {
    #[diesel(sql_type = Integer)]
    part: i32,
    #[diesel(sql_type = Nullable<Text>)]
    patient_id: Option<String>,
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    b: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    c: Option<i64>,
}

/// The device's state for a pull over `readable` (sorted patient ids), in one statement: its
/// epochs, the readable patients with something it has not acknowledged (joining the patients'
/// stream heads with its positions, not one query per patient), and the positions of patients
/// it may no longer read. With `from_scratch` every readable patient with a stream counts.
pub fn load(
    conn: &mut DbConnection,
    device: &str,
    readable: &[String],
    from_scratch: bool,
) -> Result<DeviceState, ApiError> {
    let scratch = i32::from(from_scratch);
    let rows = match conn {
        DbConnection::Pg(c) => Fixed::new(
            "SELECT 0 AS part, NULL::text AS patient_id, acked AS a, pending AS b, issued AS c \
             FROM pull_cursors WHERE device_id = $1 \
             UNION ALL \
             SELECT 1, s.patient_id, s.head, COALESCE(p.seq, 0), p.pending \
             FROM unnest($2::text[]) AS r (id) \
             JOIN patient_streams s ON s.patient_id = r.id \
             LEFT JOIN pull_positions p ON p.device_id = $1 AND p.patient_id = r.id \
             WHERE s.head > (CASE WHEN $3 = 1 THEN 0 ELSE COALESCE(p.seq, 0) END) \
             OR p.pending IS NOT NULL \
             UNION ALL \
             SELECT 2, p.patient_id, p.seq, NULL, p.pending FROM pull_positions p \
             LEFT JOIN unnest($2::text[]) AS r (id) ON r.id = p.patient_id \
             WHERE p.device_id = $1 AND r.id IS NULL",
        )
        .bind::<Text, _>(device)
        .bind::<Array<Text>, _>(readable)
        .bind::<Integer, _>(scratch)
        .load::<StateRow>(c)?,
        DbConnection::Sqlite(c) => {
            let ids = serde_json::to_string(readable).map_err(ApiError::internal)?;
            Fixed::new(
                "SELECT 0 AS part, NULL AS patient_id, acked AS a, pending AS b, issued AS c \
                 FROM pull_cursors WHERE device_id = $1 \
                 UNION ALL \
                 SELECT 1, s.patient_id, s.head, COALESCE(p.seq, 0), p.pending \
                 FROM json_each($2) AS r CROSS JOIN patient_streams s ON s.patient_id = r.value \
                 LEFT JOIN pull_positions p ON p.device_id = $1 AND p.patient_id = r.value \
                 WHERE s.head > (CASE WHEN $3 = 1 THEN 0 ELSE COALESCE(p.seq, 0) END) \
                 OR p.pending IS NOT NULL \
                 UNION ALL \
                 SELECT 2, p.patient_id, p.seq, NULL, p.pending FROM pull_positions p \
                 WHERE p.device_id = $1 \
                 AND p.patient_id NOT IN (SELECT value FROM json_each($2))",
            )
            .bind::<Text, _>(device)
            .bind::<Text, _>(ids)
            .bind::<Integer, _>(scratch)
            .load::<StateRow>(c)?
        }
    };
    let corrupt = || ApiError::internal("corrupt pull position row");
    let mut state = DeviceState::default();
    for row in rows {
        match row.part {
            0 => {
                state.cursor = Some(CursorRow {
                    acked: row.a,
                    pending: row.b,
                    issued: row.c.ok_or_else(corrupt)?,
                });
            }
            1 => state.streams.push(Stream {
                patient_id: row.patient_id.ok_or_else(corrupt)?,
                head: row.a,
                seq: row.b.ok_or_else(corrupt)?,
                pending: row.c,
            }),
            _ => state.unreadable.push(row.patient_id.ok_or_else(corrupt)?),
        }
    }
    state
        .streams
        .sort_by(|x, y| x.patient_id.cmp(&y.patient_id));
    Ok(state)
}

/// What becomes of the device's stored positions before the new page's are added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// Dropped: the device starts over.
    Drop,
    /// The pending page's positions become the acknowledged ones.
    Promote,
    /// The pending page's positions are discarded (its answer was lost): the acknowledged ones
    /// stay.
    Discard,
    /// Nothing pending: left as they are.
    Keep,
}

/// One change of a device's pull state, written by [`save`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The row as it was read (`None`: not stored yet); the change applies only if it still is.
    pub before: Option<CursorRow>,
    /// The row afterwards.
    pub after: CursorRow,
    /// What happens to the stored positions.
    pub positions: Positions,
    /// Patients whose positions are dropped because the caller may no longer read them.
    pub forget: Vec<String>,
    /// The new pending page's positions: patient, how far it read.
    pub pending: Vec<(String, i64)>,
}

/// Writes `change` inside the caller's write transaction, if the device's row is still as it
/// was read: `Ok(false)`, with nothing written, when another pull of the device changed it in
/// between (the caller reads again).
pub fn save(conn: &mut DbConnection, device: &str, change: &Change) -> Result<bool, ApiError> {
    let after = change.after;
    let claimed = match change.before {
        None => crate::per_backend!(&mut *conn, |c| Fixed::new(
            "INSERT INTO pull_cursors (device_id, acked, pending, issued) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (device_id) DO NOTHING"
        )
        .bind::<Text, _>(device)
        .bind::<BigInt, _>(after.acked)
        .bind::<Nullable<BigInt>, _>(after.pending)
        .bind::<BigInt, _>(after.issued)
        .execute(c))?,
        Some(before) => crate::per_backend!(&mut *conn, |c| Fixed::new(
            "UPDATE pull_cursors SET acked = $2, pending = $3, issued = $4 \
             WHERE device_id = $1 AND issued = $5"
        )
        .bind::<Text, _>(device)
        .bind::<BigInt, _>(after.acked)
        .bind::<Nullable<BigInt>, _>(after.pending)
        .bind::<BigInt, _>(after.issued)
        .bind::<BigInt, _>(before.issued)
        .execute(c))?,
    };
    if claimed != 1 {
        return Ok(false);
    }
    let positions: Option<&'static str> = match change.positions {
        Positions::Drop => Some("DELETE FROM pull_positions WHERE device_id = $1"),
        Positions::Promote => Some(
            "UPDATE pull_positions SET seq = pending, pending = NULL \
             WHERE device_id = $1 AND pending IS NOT NULL",
        ),
        Positions::Discard => Some(
            "UPDATE pull_positions SET pending = NULL WHERE device_id = $1 AND pending IS NOT NULL",
        ),
        Positions::Keep => None,
    };
    if let Some(sql) = positions {
        crate::per_backend!(&mut *conn, |c| Fixed::new(sql)
            .bind::<Text, _>(device)
            .execute(c))?;
    }
    if !change.forget.is_empty() {
        match conn {
            DbConnection::Pg(c) => Fixed::new(
                "DELETE FROM pull_positions WHERE device_id = $1 AND patient_id = ANY($2)",
            )
            .bind::<Text, _>(device)
            .bind::<Array<Text>, _>(&change.forget)
            .execute(c)?,
            DbConnection::Sqlite(c) => Fixed::new(
                "DELETE FROM pull_positions WHERE device_id = $1 \
                 AND patient_id IN (SELECT value FROM json_each($2))",
            )
            .bind::<Text, _>(device)
            .bind::<Text, _>(serde_json::to_string(&change.forget).map_err(ApiError::internal)?)
            .execute(c)?,
        };
    }
    if !change.pending.is_empty() {
        match conn {
            DbConnection::Pg(c) => {
                let patients: Vec<&str> = change.pending.iter().map(|(p, _)| p.as_str()).collect();
                let seqs: Vec<i64> = change.pending.iter().map(|(_, s)| *s).collect();
                Fixed::new(
                    "INSERT INTO pull_positions (device_id, patient_id, seq, pending) \
                     SELECT $1, t.patient_id, 0, t.seq \
                     FROM unnest($2::text[], $3::bigint[]) AS t (patient_id, seq) \
                     ON CONFLICT (device_id, patient_id) DO UPDATE SET pending = excluded.pending",
                )
                .bind::<Text, _>(device)
                .bind::<Array<Text>, _>(patients)
                .bind::<Array<BigInt>, _>(seqs)
                .execute(c)?
            }
            // `WHERE true`: SQLite's parser needs it between a SELECT and an upsert's ON.
            DbConnection::Sqlite(c) => Fixed::new(
                "INSERT INTO pull_positions (device_id, patient_id, seq, pending) \
                 SELECT $1, json_extract(value, '$[0]'), 0, json_extract(value, '$[1]') \
                 FROM json_each($2) WHERE true \
                 ON CONFLICT (device_id, patient_id) DO UPDATE SET pending = excluded.pending",
            )
            .bind::<Text, _>(device)
            .bind::<Text, _>(serde_json::to_string(&change.pending).map_err(ApiError::internal)?)
            .execute(c)?,
        };
    }
    Ok(true)
}
