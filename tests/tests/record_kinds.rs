//! The read-model tables and `openapi.yaml` agree with the record kinds declared in sync-core:
//! a kind's table has one column per declared field (plus the key, the tombstone, the derived
//! columns and `updated_at`) of a compatible type, and its item schema has the declared fields
//! with matching types, ranges and enums.

use crate::harness::*;
use crate::spec::{load_spec, resolve};
use api::db::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use diesel::sql_types::{Integer, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use diesel_migrations::MigrationHarness;
use serde_json::Value;
use std::collections::BTreeMap;
use sync_core::kinds::{read_model, ColumnType, ReadModel};
use sync_core::schema::{fields, FieldSpec, FieldType};
use sync_core::DocKind;

/// A column's type class and whether it is NOT NULL.
type Columns = BTreeMap<String, (&'static str, bool)>;

/// Integer, bigint, boolean or text, from either backend's type name.
fn class(sql_type: &str) -> &'static str {
    let t = sql_type.to_ascii_lowercase();
    match t.as_str() {
        "bigint" | "int8" => "bigint",
        "integer" | "int4" | "int" => "integer",
        "boolean" | "bool" => "boolean",
        "text" => "text",
        _ => "unknown",
    }
}

/// The columns the declaration implies.
fn expected_columns(kind: DocKind, rm: &ReadModel) -> Columns {
    let mut cols = Columns::new();
    cols.insert("patient_id".into(), ("text", true));
    cols.insert("doc_id".into(), ("text", true));
    cols.insert("deleted".into(), ("boolean", true));
    cols.insert("updated_at".into(), ("bigint", true));
    for d in rm.derived {
        cols.insert(d.column().into(), ("integer", false));
    }
    for spec in fields(kind) {
        let flag = matches!(spec.ty, FieldType::Bool) && is_flag(kind, spec);
        let col = match &spec.ty {
            FieldType::Bool => ("boolean", flag),
            FieldType::Int { .. } => ("integer", false),
            FieldType::TimestampMs => ("bigint", false),
            FieldType::Set(_) => ("text", true),
            _ => ("text", false),
        };
        cols.insert(spec.name.into(), col);
    }
    cols
}

/// A boolean whose typed view is a bare `bool`: it reads `false` until set, so it is never null.
fn is_flag(kind: DocKind, spec: &FieldSpec) -> bool {
    // The view of an empty document serialises a flag as `false` and an optional as `null`.
    let empty = match kind {
        DocKind::Checkin => serde_json::to_value(sync_core::CheckIn::default()),
        DocKind::Exercise => serde_json::to_value(sync_core::Exercise::default()),
        DocKind::Session => serde_json::to_value(sync_core::Session::default()),
        DocKind::Plan => serde_json::to_value(sync_core::Plan::default()),
    }
    .unwrap();
    empty[spec.name] == Value::Bool(false)
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    #[diesel(column_name = type_)]
    type_: String,
    #[diesel(sql_type = Integer)]
    notnull: i32,
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

/// The columns of `table` on a freshly migrated database of the chosen backend.
fn actual_columns(db: &TestDatabase, table: &str) -> Columns {
    match backend() {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(&db.url).unwrap();
            conn.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
            diesel::sql_query(format!(
                "SELECT name, type AS type_, \"notnull\" FROM pragma_table_info('{table}')"
            ))
            .load::<SqliteColumn>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|c| (c.name, (class(&c.type_), c.notnull != 0)))
            .collect()
        }
        Backend::Postgres(_) => {
            let mut conn = PgConnection::establish(&db.url).unwrap();
            conn.run_pending_migrations(POSTGRES_MIGRATIONS).unwrap();
            diesel::sql_query(format!(
                "SELECT column_name::text AS column_name, data_type::text AS data_type, \
                 is_nullable::text AS is_nullable FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}'"
            ))
            .load::<PgColumn>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|c| (c.column_name, (class(&c.data_type), c.is_nullable == "NO")))
            .collect()
        }
    }
}

#[test]
fn every_read_model_table_has_the_columns_its_kind_declares() {
    let db = fresh_database();
    for kind in DocKind::ALL {
        let Some(rm) = read_model(kind) else { continue };
        let expected = expected_columns(kind, rm);
        let written: Columns = rm
            .columns()
            .map(|c| {
                let class = match c.ty {
                    ColumnType::BigInt => "bigint",
                    ColumnType::Integer => "integer",
                    ColumnType::Boolean => "boolean",
                    ColumnType::Text | ColumnType::JsonArray => "text",
                };
                (c.name.to_string(), (class, c.not_null))
            })
            .collect();
        assert_eq!(
            written,
            expected,
            "the columns the server writes for {} disagree with the declaration",
            kind.as_str()
        );
        let actual = actual_columns(&db, rm.table);
        assert_eq!(
            actual,
            expected,
            "table {} disagrees with the declaration of {} (left: the migrated table, right: \
             the declaration; each column as (type, not null))",
            rm.table,
            kind.as_str()
        );
    }
}

/// What the item schema of one declared field must say.
fn expected_property(
    spec: &FieldSpec,
    listed_by: &str,
    flag: bool,
) -> BTreeMap<&'static str, Value> {
    let mut p = BTreeMap::new();
    let nullable = spec.name != listed_by && !flag;
    let (ty, extra): (&str, Vec<(&'static str, Value)>) = match &spec.ty {
        FieldType::Bool => ("boolean", vec![]),
        FieldType::Int { min, max } => (
            "integer",
            vec![("minimum", (*min).into()), ("maximum", (*max).into())],
        ),
        FieldType::TimestampMs => ("integer", vec![("format", "int64".into())]),
        FieldType::Enum(values) => {
            let mut list: Vec<Value> = values.iter().map(|v| Value::from(*v)).collect();
            list.push(Value::Null);
            ("string", vec![("enum", Value::Array(list))])
        }
        FieldType::Tag(_) => ("string", vec![]),
        FieldType::Text { max_chars } => {
            ("string", vec![("maxLength", (*max_chars as u64).into())])
        }
        FieldType::HttpsUrl { max_len } => {
            ("string", vec![("maxLength", (*max_len as u64).into())])
        }
        FieldType::Set(_) => (
            "array",
            vec![("items", serde_json::json!({"type": "string"}))],
        ),
    };
    p.insert("type", Value::from(ty));
    if nullable && !matches!(spec.ty, FieldType::Set(_)) {
        p.insert("nullable", Value::Bool(true));
    }
    p.extend(extra);
    p
}

#[test]
fn every_item_schema_in_the_spec_has_the_fields_its_kind_declares() {
    let spec = load_spec();
    let schemas = &spec["components"]["schemas"];
    let kinds: Vec<&str> = DocKind::ALL.into_iter().map(DocKind::as_str).collect();
    let listed: Vec<&str> = schemas["DocKind"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        listed, kinds,
        "openapi.yaml's DocKind enum disagrees with sync-core's kinds"
    );
    let actions = &schemas["AccessLogEntry"]["properties"]["action"]["enum"];
    for kind in DocKind::ALL {
        let Some(rm) = read_model(kind) else { continue };
        let action = format!("read_{}", rm.table);
        assert!(
            actions
                .as_array()
                .unwrap()
                .contains(&Value::from(action.as_str())),
            "AccessLogEntry.action does not list {action}"
        );
        // The item schema is the one the kind's listing answers with.
        let path = format!("/v1/patients/{{id}}/{}", rm.table);
        let answer = &spec["paths"][path.as_str()]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        assert!(!answer.is_null(), "openapi.yaml has no GET {path}");
        let items = &resolve(&spec, answer)["properties"]["items"]["items"];
        let item = items["$ref"].as_str().unwrap_or("an inline schema");
        let schema = resolve(&spec, items);
        let properties = schema["properties"].as_object().unwrap();
        let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut declared: Vec<&str> = fields(kind).iter().map(|s| s.name).chain(["id"]).collect();
        declared.sort_unstable();
        assert_eq!(
            names,
            declared,
            "{item}'s properties disagree with the declaration of {}",
            kind.as_str()
        );
        for field in fields(kind) {
            let want = expected_property(
                field,
                rm.listed_by,
                matches!(field.ty, FieldType::Bool) && is_flag(kind, field),
            );
            let got = &properties[field.name];
            for (key, value) in &want {
                assert_eq!(
                    &got[*key], value,
                    "{item}.{}.{key} disagrees with the declaration",
                    field.name
                );
            }
            if !want.contains_key("nullable") {
                assert_ne!(
                    got["nullable"],
                    Value::Bool(true),
                    "{item}.{} must not be nullable",
                    field.name
                );
            }
            for key in ["minimum", "maximum", "maxLength", "enum"] {
                if !want.contains_key(key) {
                    assert!(
                        got.get(key).is_none(),
                        "{item}.{} has a {key} the declaration does not",
                        field.name
                    );
                }
            }
        }
    }
}
