//! The HTTP contract: `openapi.yaml` against the running server.
//!
//! The spec is written by hand, so these tests are what keep it honest: the route table and the
//! spec list the same operations; every operation in the spec is answered; and a story that
//! provokes every documented status and error code is replayed against real servers, with every
//! response looked up in the spec (an undocumented status fails) and its headers and JSON body
//! validated against the documented schemas (an undocumented field fails).

use crate::harness::*;
use crate::phone::Phone;
use crate::spec::{listed_in_error_detail, load_spec, resolve};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use sync_core::DocKind;
use uuid::Uuid;

const OPERATION_KEYS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Statuses the spec documents but a black-box test cannot provoke on a healthy server: a
/// database that stops answering (503) and a bug (500).
const NOT_PROVOKED: [u16; 2] = [500, 503];

/// `(METHOD, path, operation)` for every operation in the spec.
fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("the spec has paths") {
        for (key, operation) in item.as_object().unwrap() {
            if OPERATION_KEYS.contains(&key.as_str()) {
                out.push((key.to_uppercase(), path.clone(), operation));
            }
        }
    }
    out
}

/// The spec path whose template matches a concrete path (`{x}` matches one segment; a query
/// string is not part of the path).
fn matching_path<'a>(spec: &'a Value, concrete: &str) -> Option<(&'a String, &'a Value)> {
    let path = concrete.split_once('?').map_or(concrete, |(path, _)| path);
    let segments: Vec<&str> = path.split('/').collect();
    spec["paths"].as_object().unwrap().iter().find(|(path, _)| {
        let template: Vec<&str> = path.split('/').collect();
        template.len() == segments.len()
            && template
                .iter()
                .zip(&segments)
                .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}') && !s.is_empty()))
    })
}

// ------------------------------------------------------------------------------------------------
// A small JSON-Schema validator for the subset of OpenAPI 3.0 schemas the spec uses. A keyword it
// does not implement is an error, so the spec cannot state a rule that nothing checks.

const KEYWORDS: [&str; 22] = [
    "type",
    "pattern",
    "nullable",
    "enum",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "uniqueItems",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "allOf",
    "oneOf",
    "description",
    "example",
    "title",
    "$ref",
];

/// Whether `text` matches `pattern`, a regular expression of the small subset the spec uses:
/// anchored at both ends (`^…$`), made of literal characters and bracket classes (`[0-9a-f]`),
/// each optionally repeated an exact number of times (`{12}`). Anything else is an error, so the
/// spec cannot state a pattern that nothing checks.
fn matches_pattern(pattern: &str, text: &str) -> Result<bool, String> {
    let body = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .ok_or_else(|| format!("pattern {pattern:?} is not anchored with ^…$"))?;
    let mut atoms: Vec<(Vec<(char, char)>, usize)> = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        let class = match c {
            '[' => {
                let mut ranges = Vec::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(lo) if chars.peek() == Some(&'-') => {
                            chars.next();
                            let hi = chars.next().ok_or("unterminated range")?;
                            ranges.push((lo, hi));
                        }
                        Some(one) => ranges.push((one, one)),
                        None => return Err(format!("unterminated class in {pattern:?}")),
                    }
                }
                ranges
            }
            '{' | '}' | '(' | ')' | '*' | '+' | '?' | '|' | '.' | '\\' | '^' | '$' => {
                return Err(format!("pattern {pattern:?}: `{c}` is not supported here"))
            }
            literal => vec![(literal, literal)],
        };
        let mut count = 1;
        if chars.peek() == Some(&'{') {
            chars.next();
            let digits: String = chars.by_ref().take_while(|d| *d != '}').collect();
            count = digits
                .parse()
                .map_err(|_| format!("pattern {pattern:?}: only {{n}} repeats are supported"))?;
        }
        atoms.push((class, count));
    }
    let mut text = text.chars();
    for (class, count) in atoms {
        for _ in 0..count {
            match text.next() {
                Some(c) if class.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) => {}
                _ => return Ok(false),
            }
        }
    }
    Ok(text.next().is_none())
}

/// `format: date`: an RFC 3339 full-date, `YYYY-MM-DD`, that is a real calendar date.
fn is_full_date(text: &str) -> bool {
    let b = text.as_bytes();
    if !text.is_ascii() || b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &text[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// `format: email`, as the server reads an address: `local@domain` with a dot inside the
/// domain, no whitespace or control characters.
fn is_email(text: &str) -> bool {
    !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
}

fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// Validates `value` against `schema`, pushing one message per violation (with its JSON path).
fn validate(spec: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    let Some(rules) = schema.as_object() else {
        errors.push(format!("{at}: the schema is not an object: {schema}"));
        return;
    };
    for key in rules.keys() {
        if !KEYWORDS.contains(&key.as_str()) {
            errors.push(format!("{at}: the validator does not implement `{key}`"));
        }
    }
    if value.is_null() && rules.get("nullable") == Some(&Value::Bool(true)) {
        return;
    }
    if let Some(ty) = rules.get("type") {
        let types: Vec<&str> = match ty {
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        if !types.iter().any(|t| has_type(value, t)) {
            errors.push(format!(
                "{at}: expected {}, got {value}",
                types.join(" or ")
            ));
            return;
        }
    }
    if let Some(allowed) = rules.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    match (rules.get("format").and_then(Value::as_str), value) {
        (None | Some("int64"), _) => {}
        (Some("uuid"), Value::String(s)) => {
            if Uuid::parse_str(s).is_err() {
                errors.push(format!("{at}: {s:?} is not a UUID"));
            }
        }
        (Some("date"), Value::String(s)) => {
            if !is_full_date(s) {
                errors.push(format!("{at}: {s:?} is not a YYYY-MM-DD calendar date"));
            }
        }
        (Some("email"), Value::String(s)) => {
            if !is_email(s) {
                errors.push(format!("{at}: {s:?} is not an email address"));
            }
        }
        (Some("uuid" | "date" | "email"), _) => {}
        (Some(other), _) => errors.push(format!("{at}: unsupported format `{other}`")),
    }
    if let Some(s) = value.as_str() {
        let chars = s.chars().count() as u64;
        if let Some(min) = rules.get("minLength").and_then(Value::as_u64) {
            if chars < min {
                errors.push(format!("{at}: shorter than {min} characters"));
            }
        }
        if let Some(max) = rules.get("maxLength").and_then(Value::as_u64) {
            if chars > max {
                errors.push(format!("{at}: longer than {max} characters"));
            }
        }
        if let Some(pattern) = rules.get("pattern").and_then(Value::as_str) {
            match matches_pattern(pattern, s) {
                Ok(true) => {}
                Ok(false) => errors.push(format!("{at}: {s:?} does not match {pattern:?}")),
                Err(e) => errors.push(format!("{at}: {e}")),
            }
        }
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = rules.get("minimum").and_then(Value::as_f64) {
            if n < min {
                errors.push(format!("{at}: {n} is below the minimum {min}"));
            }
        }
        if let Some(max) = rules.get("maximum").and_then(Value::as_f64) {
            if n > max {
                errors.push(format!("{at}: {n} is above the maximum {max}"));
            }
        }
    }
    if let Some(object) = value.as_object() {
        for name in rules
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                errors.push(format!("{at}: the required field `{name}` is missing"));
            }
        }
        let properties = rules.get("properties").and_then(Value::as_object);
        for (name, field) in object {
            let at = format!("{at}.{name}");
            match (
                properties.and_then(|p| p.get(name)),
                rules.get("additionalProperties"),
            ) {
                (Some(field_schema), _) => validate(spec, field_schema, field, &at, errors),
                (None, Some(Value::Bool(false))) => {
                    errors.push(format!("{at}: a field the spec does not document"));
                }
                (None, Some(extra @ Value::Object(_))) => validate(spec, extra, field, &at, errors),
                (None, _) => {}
            }
        }
    }
    if let Some(array) = value.as_array() {
        let len = array.len() as u64;
        if let Some(min) = rules.get("minItems").and_then(Value::as_u64) {
            if len < min {
                errors.push(format!("{at}: fewer than {min} items"));
            }
        }
        if let Some(max) = rules.get("maxItems").and_then(Value::as_u64) {
            if len > max {
                errors.push(format!("{at}: more than {max} items"));
            }
        }
        if rules.get("uniqueItems") == Some(&Value::Bool(true))
            && array
                .iter()
                .enumerate()
                .any(|(i, a)| array[..i].contains(a))
        {
            errors.push(format!("{at}: an item appears twice"));
        }
    }
    if let (Some(items), Some(array)) = (rules.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            validate(spec, items, item, &format!("{at}[{i}]"), errors);
        }
    }
    for part in rules
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        validate(spec, part, value, at, errors);
    }
    if let Some(choices) = rules.get("oneOf").and_then(Value::as_array) {
        let passing = choices
            .iter()
            .filter(|choice| {
                let mut scratch = Vec::new();
                validate(spec, choice, value, at, &mut scratch);
                scratch.is_empty()
            })
            .count();
        if passing != 1 {
            errors.push(format!(
                "{at}: matches {passing} of the oneOf choices, not 1"
            ));
        }
    }
}

fn schema_errors(spec: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    validate(spec, schema, value, "$", &mut errors);
    errors
}

#[test]
fn the_validator_refuses_a_missing_field_an_extra_field_and_a_wrong_type() {
    let spec = load_spec();
    let schema = json!({ "$ref": "#/components/schemas/MeResponse" });
    let user = json!({
        "id": Uuid::new_v4(), "role": "patient", "clinic_id": Uuid::new_v4(),
        "email": "pat@example.test", "display_name": "Pat"
    });
    let good = json!({ "user": user, "device_id": Uuid::new_v4() });
    assert_eq!(schema_errors(&spec, &schema, &good), Vec::<String>::new());

    let mut missing = good.clone();
    missing["user"].as_object_mut().unwrap().remove("email");
    let errors = schema_errors(&spec, &schema, &missing);
    assert!(
        errors.iter().any(|e| e.contains("`email` is missing")),
        "{errors:?}"
    );

    let mut extra = good.clone();
    extra["password_hash"] = json!("$argon2id$…");
    let errors = schema_errors(&spec, &schema, &extra);
    assert!(
        errors.iter().any(|e| e.contains("$.password_hash")),
        "{errors:?}"
    );

    let mut wrong_type = good.clone();
    wrong_type["user"]["id"] = json!(42);
    let errors = schema_errors(&spec, &schema, &wrong_type);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("$.user.id: expected string")),
        "{errors:?}"
    );
}

#[test]
fn the_validator_refuses_bad_uuids_unknown_enum_values_lengths_and_unknown_keywords() {
    let spec = load_spec();
    let user = json!({ "$ref": "#/components/schemas/UserView" });
    let mut value = json!({
        "id": "not-a-uuid", "role": "root", "clinic_id": Uuid::new_v4(),
        "email": "a@b.test", "display_name": ""
    });
    let errors = schema_errors(&spec, &user, &value);
    assert_eq!(errors.len(), 3, "{errors:?}");
    value["id"] = json!(null);
    assert!(schema_errors(&spec, &user, &value)
        .iter()
        .any(|e| e.contains("$.id: expected string, got null")));

    let nullable = json!({ "type": "string", "format": "uuid", "nullable": true });
    assert!(schema_errors(&spec, &nullable, &Value::Null).is_empty());
    let unknown = json!({ "type": "integer", "multipleOf": 2 });
    assert!(!schema_errors(&spec, &unknown, &json!(3)).is_empty());

    let hlc = json!({ "$ref": "#/components/schemas/Hlc" });
    assert!(schema_errors(
        &spec,
        &hlc,
        &json!("0190b2c3d4e5-00000000-00000000000000a1")
    )
    .is_empty());
    for bad in [
        "0190B2C3D4E5-00000000-00000000000000a1",
        "0190b2c3d4e5-00000000-00000000000000a",
        "0190b2c3d4e5-00000000-00000000000000a1f",
        "0190b2c3d4e5_00000000-00000000000000a1",
    ] {
        assert!(!schema_errors(&spec, &hlc, &json!(bad)).is_empty(), "{bad}");
    }
    let unsupported = json!({ "type": "string", "pattern": "^a+$" });
    assert!(!schema_errors(&spec, &unsupported, &json!("a")).is_empty());
}

#[test]
fn the_validator_checks_dates_emails_and_array_sizes() {
    let spec = load_spec();
    let date = json!({ "type": "string", "format": "date" });
    for good in ["2024-02-29", "1900-01-01", "2999-12-31"] {
        assert!(
            schema_errors(&spec, &date, &json!(good)).is_empty(),
            "{good}"
        );
    }
    for bad in [
        "2026-02-29",
        "2026-13-01",
        "2026-1-01",
        "-001-12-14",
        "2026-04-31",
        "",
    ] {
        assert!(
            !schema_errors(&spec, &date, &json!(bad)).is_empty(),
            "{bad}"
        );
    }
    let email = json!({ "type": "string", "format": "email" });
    assert!(schema_errors(&spec, &email, &json!("dana@clinic.example")).is_empty());
    for bad in [
        "dana",
        "dana@clinic",
        "@clinic.example",
        "da na@c.example",
        "a@b@c.test",
    ] {
        assert!(
            !schema_errors(&spec, &email, &json!(bad)).is_empty(),
            "{bad}"
        );
    }
    let days = json!({ "type": "array", "minItems": 1, "maxItems": 2, "uniqueItems": true });
    assert!(schema_errors(&spec, &days, &json!(["mon", "tue"])).is_empty());
    for bad in [
        json!([]),
        json!(["mon", "tue", "wed"]),
        json!(["mon", "mon"]),
    ] {
        assert!(!schema_errors(&spec, &days, &bad).is_empty(), "{bad}");
    }
}

// ------------------------------------------------------------------------------------------------
// The route table and the spec.

#[test]
fn every_route_the_server_answers_is_in_the_spec_and_back() {
    let spec = load_spec();
    let server: BTreeSet<(String, String)> = api::routes::route_table()
        .into_iter()
        .map(|(method, path)| (method, path.to_string()))
        .collect();
    let documented: BTreeSet<(String, String)> = operations(&spec)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let undocumented: Vec<_> = server.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&server).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "the server answers these but openapi.yaml does not document them: {undocumented:?}; \
         openapi.yaml documents these but the server does not answer them: {unserved:?}"
    );
    assert!(!server.is_empty());
}

/// Whether a schema (followed through references) is documented: it or its target has a
/// description.
fn described(spec: &Value, schema: &Value) -> bool {
    schema.get("description").is_some() || resolve(spec, schema).get("description").is_some()
}

/// Every object schema reachable from `schema` must forbid undocumented fields and describe each
/// field.
fn check_schema_hygiene(spec: &Value, schema: &Value, at: &str, problems: &mut Vec<String>) {
    if schema.get("$ref").is_some() {
        return; // Checked where it is defined, under components.schemas.
    }
    if schema.get("type") == Some(&json!("object")) || schema.get("properties").is_some() {
        if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
            problems.push(format!(
                "{at}: an object schema without additionalProperties: false"
            ));
        }
        for (name, field) in schema["properties"].as_object().into_iter().flatten() {
            if !described(spec, field) {
                problems.push(format!("{at}.{name}: a field without a description"));
            }
            check_schema_hygiene(spec, field, &format!("{at}.{name}"), problems);
        }
    }
    if let Some(items) = schema.get("items") {
        check_schema_hygiene(spec, items, &format!("{at}[]"), problems);
    }
}

#[test]
fn the_spec_describes_every_field_and_the_common_errors_of_every_operation() {
    let spec = load_spec();
    let mut problems = Vec::new();
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        if schema.get("description").is_none() {
            problems.push(format!("components.schemas.{name}: no description"));
        }
        check_schema_hygiene(
            &spec,
            schema,
            &format!("components.schemas.{name}"),
            &mut problems,
        );
    }
    let info = spec["info"]["description"].as_str().unwrap_or_default();
    for needle in [
        "15 minutes",
        "refresh_token_reused",
        "\"error\"",
        "Retry-After",
    ] {
        if !info.contains(needle) {
            problems.push(format!("info.description does not mention {needle}"));
        }
    }
    let mut operation_ids = BTreeSet::new();
    for (method, path, operation) in operations(&spec) {
        let at = format!("{method} {path}");
        if !operation_ids.insert(operation["operationId"].as_str().unwrap_or_default()) {
            problems.push(format!("{at}: missing or duplicate operationId"));
        }
        for field in ["summary", "description"] {
            if operation.get(field).is_none() {
                problems.push(format!("{at}: no {field}"));
            }
        }
        let responses = operation["responses"].as_object().unwrap();
        let mut must = vec!["405"];
        if path != "/healthz" {
            must.extend(["500", "503"]);
        }
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearerAuth").is_some()));
        if secured {
            must.push("401");
        }
        let body = operation.get("requestBody").map(|b| resolve(&spec, b));
        if body.is_some_and(|b| b["required"] == json!(true)) {
            must.extend(["400", "413", "415"]);
        }
        for status in must {
            if !responses.contains_key(status) {
                problems.push(format!("{at}: does not document {status}"));
            }
        }
        if let Some(body) = body {
            let schema = &body["content"]["application/json"]["schema"];
            check_schema_hygiene(
                &spec,
                resolve(&spec, schema),
                &format!("{at} request"),
                &mut problems,
            );
        }
        for (status, response) in responses {
            let response = resolve(&spec, response);
            if response.get("description").is_none() {
                problems.push(format!("{at} {status}: no description"));
            }
            for header in ["X-Request-Id", "Cache-Control"] {
                if response["headers"].get(header).is_none() {
                    problems.push(format!("{at} {status}: does not document {header}"));
                }
            }
            let schema = &response["content"]["application/json"]["schema"];
            if !schema.is_null() {
                check_schema_hygiene(
                    &spec,
                    resolve(&spec, schema),
                    &format!("{at} {status}"),
                    &mut problems,
                );
            }
            let code = status.parse::<u16>().unwrap_or(0);
            if code >= 400 && error_codes(&spec, response).is_empty() {
                problems.push(format!("{at} {status}: lists no error codes"));
            }
            if code >= 400 && *schema != json!({ "$ref": "#/components/schemas/Error" }) {
                problems.push(format!(
                    "{at} {status}: the body is not the one Error schema: {schema}"
                ));
            }
            let header = |name: &str| response["headers"].get(name).is_some();
            if code == 401 && !header("WWW-Authenticate") {
                problems.push(format!("{at} {status}: no WWW-Authenticate header"));
            }
            if code == 405 && !header("Allow") {
                problems.push(format!("{at} {status}: no Allow header"));
            }
            if (code == 429 || code == 503) && !header("Retry-After") {
                problems.push(format!("{at} {status}: no Retry-After header"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "openapi.yaml:\n  {}",
        problems.join("\n  ")
    );
}

/// Every JSON object in the spec, with where it is.
fn all_objects<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            out.push((at.clone(), value));
            for (key, child) in map {
                all_objects(child, format!("{at}.{key}"), out);
            }
        }
        Value::Array(list) => {
            for (i, child) in list.iter().enumerate() {
                all_objects(child, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_nullable_enum_lists_null_so_a_generated_client_accepts_it() {
    // OpenAPI 3.0: `enum` restricts the value whatever `nullable` says, so a nullable enum
    // without null in its list refuses null: openapi-python-client's models raised on it. A
    // `title` names the generated enum (without one, openapi-python-client 0.29 makes three).
    let spec = load_spec();
    let mut objects = Vec::new();
    all_objects(&spec, "openapi.yaml".into(), &mut objects);
    let mut nullable_enums = 0;
    let mut problems = Vec::new();
    for (at, object) in objects {
        let Some(allowed) = object.get("enum").and_then(Value::as_array) else {
            continue;
        };
        let nullable = object.get("nullable") == Some(&Value::Bool(true));
        nullable_enums += usize::from(nullable);
        if nullable != allowed.contains(&Value::Null) {
            problems.push(format!(
                "{at}: nullable is {nullable} but its enum {allowed:?} says otherwise"
            ));
        }
        if nullable && object.get("title").is_none() {
            problems.push(format!("{at}: a nullable enum without a title"));
        }
    }
    assert!(problems.is_empty(), "\n  {}", problems.join("\n  "));
    assert!(
        nullable_enums >= 6,
        "found only {nullable_enums} nullable enums"
    );
}

#[test]
fn every_error_response_lists_its_codes_and_the_error_schema_names_them_all() {
    let spec = load_spec();
    let mut responses: Vec<(String, &Value)> = spec["components"]["responses"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, r)| (format!("components.responses.{name}"), r))
        .collect();
    for (method, path, operation) in operations(&spec) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            if status.parse::<u16>().unwrap_or(0) >= 400 && response.get("$ref").is_none() {
                responses.push((format!("{method} {path} {status}"), response));
            }
        }
    }
    let mut listed = BTreeSet::new();
    let mut problems = Vec::new();
    for (at, response) in responses {
        let codes = error_codes(&spec, response);
        if codes.is_empty() {
            problems.push(format!("{at}: no x-error-codes"));
        }
        let description = response["description"].as_str().unwrap_or_default();
        for code in codes {
            let snake = code.starts_with(|c: char| c.is_ascii_lowercase())
                && code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !snake {
                problems.push(format!("{at}: {code:?} is not snake_case"));
            }
            if !description.contains(&format!("`{code}`")) {
                problems.push(format!("{at}: the description does not explain `{code}`"));
            }
            listed.insert(code);
        }
    }
    let known = listed_in_error_detail(&spec);
    if known != listed {
        problems.push(format!(
            "ErrorDetail.code lists {:?} that no response lists, and misses {:?}",
            known.difference(&listed).collect::<Vec<_>>(),
            listed.difference(&known).collect::<Vec<_>>()
        ));
    }
    assert!(
        problems.is_empty(),
        "openapi.yaml:\n  {}",
        problems.join("\n  ")
    );
}

/// The error codes an error response documents: its `x-error-codes` (the body is the one `Error`
/// schema, whose `code` is an open string).
fn error_codes(_spec: &Value, response: &Value) -> Vec<String> {
    response["x-error-codes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Talking to the server and checking each answer against the spec.

/// One request and its answer, as sent and received.
struct Exchange {
    what: String,
    method: Method,
    path: String,
    request: Option<Value>,
    status: u16,
    headers: HeaderMap,
    body: String,
}

enum Body {
    Empty,
    Json(Value),
    Raw(&'static str, String),
}

/// Sends requests to one server and keeps every exchange for checking.
struct Recorder<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    exchanges: Vec<Exchange>,
}

impl<'a> Recorder<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            client: app.client.clone(),
            exchanges: Vec::new(),
        }
    }

    /// A recorder that opens a new connection per request: a 413 is answered before the body is
    /// read and the server then closes the connection, which a pooled client could race to reuse.
    fn without_keep_alive(app: &'a TestApp) -> Self {
        Self {
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            ..Self::new(app)
        }
    }

    async fn send(
        &mut self,
        what: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body,
    ) -> (u16, Value) {
        let mut request = self.client.request(method.clone(), self.app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let sent = match body {
            Body::Empty => None,
            Body::Json(value) => {
                request = request.json(&value);
                Some(value)
            }
            Body::Raw(content_type, text) => {
                request = request.header("content-type", content_type).body(text);
                None
            }
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {method} {path}: no answer: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        self.exchanges.push(Exchange {
            what: what.to_string(),
            method,
            path: path.to_string(),
            request: sent,
            status,
            headers,
            body: text,
        });
        (status, json)
    }

    async fn post(
        &mut self,
        what: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        self.send(what, Method::POST, path, token, Body::Json(body))
            .await
    }

    async fn get(&mut self, what: &str, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send(what, Method::GET, path, token, Body::Empty).await
    }

    /// Sends and insists on a status, so the story stops where it went wrong.
    async fn expect(
        &mut self,
        status: u16,
        what: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Value {
        let (actual, json) = self.post(what, path, token, body).await;
        assert_eq!(actual, status, "{what}: POST {path} answered {json}");
        json
    }
}

/// `(METHOD, path template, status)` of documented responses, and the error codes seen for each.
type Coverage = BTreeMap<(String, String, u16), BTreeSet<String>>;

/// Finds the documented response for an exchange and validates the answer against it; returns the
/// operations it covers.
fn check_exchange(
    spec: &Value,
    ex: &Exchange,
    problems: &mut Vec<String>,
    coverage: &mut Coverage,
) {
    let at = format!("{} ({} {} → {})", ex.what, ex.method, ex.path, ex.status);
    let method = ex.method.as_str().to_lowercase();
    let (response, covered): (&Value, Vec<(String, String)>) = match matching_path(spec, &ex.path) {
        None => {
            if ex.status != 404 {
                problems.push(format!(
                    "{at}: an undocumented path answered other than 404"
                ));
                return;
            }
            (
                resolve(spec, &spec["components"]["responses"]["UnknownPath"]),
                vec![],
            )
        }
        Some((template, item)) => match item.get(&method) {
            Some(operation) => {
                let Some(response) = operation["responses"].get(ex.status.to_string()) else {
                    problems.push(format!(
                        "{at}: status {} is not documented for this operation",
                        ex.status
                    ));
                    return;
                };
                if (200..300).contains(&ex.status) {
                    if let (Some(sent), Some(body)) = (&ex.request, operation.get("requestBody")) {
                        let schema = &resolve(spec, body)["content"]["application/json"]["schema"];
                        for e in schema_errors(spec, schema, sent) {
                            problems.push(format!(
                                "{at}: the server accepted a request the spec refuses: {e}"
                            ));
                        }
                    }
                }
                (
                    resolve(spec, response),
                    vec![(ex.method.to_string(), template.clone())],
                )
            }
            None => {
                if ex.status != 405 {
                    problems.push(format!(
                        "{at}: an undocumented method answered other than 405"
                    ));
                    return;
                }
                let ops: Vec<_> = item
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(k, _)| OPERATION_KEYS.contains(&k.as_str()))
                    .collect();
                let Some(response) = ops.first().and_then(|(_, op)| op["responses"].get("405"))
                else {
                    problems.push(format!("{at}: 405 is not documented on this path"));
                    return;
                };
                let covered: Vec<(String, String)> = ops
                    .iter()
                    .map(|(k, _)| (k.to_uppercase(), template.clone()))
                    .collect();
                let allow: BTreeSet<String> = ex
                    .headers
                    .get("allow")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .split(',')
                    .map(|m| m.trim().to_string())
                    .collect();
                let documented: BTreeSet<String> = covered.iter().map(|(m, _)| m.clone()).collect();
                if allow != documented {
                    problems.push(format!(
                        "{at}: Allow lists {allow:?}, but the path documents {documented:?}"
                    ));
                }
                (resolve(spec, response), covered)
            }
        },
    };

    for (name, header) in response["headers"].as_object().into_iter().flatten() {
        let header = resolve(spec, header);
        match ex.headers.get(name.as_str()).and_then(|v| v.to_str().ok()) {
            None if header["required"] == json!(true) => {
                problems.push(format!("{at}: the documented header {name} is missing"));
            }
            None => {}
            Some(raw) => {
                let schema = &header["schema"];
                let value = if resolve(spec, schema)["type"] == json!("integer") {
                    raw.parse::<i64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| json!(raw))
                } else {
                    json!(raw)
                };
                for e in schema_errors(spec, schema, &value) {
                    problems.push(format!("{at}: header {name}: {e}"));
                }
            }
        }
    }

    let schema = &response["content"]["application/json"]["schema"];
    let mut code = None;
    if schema.is_null() {
        if !ex.body.is_empty() {
            problems.push(format!(
                "{at}: the spec documents no body but got {:?}",
                ex.body
            ));
        }
    } else {
        let content_type = ex
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("application/json") {
            problems.push(format!(
                "{at}: Content-Type is {content_type:?}, not application/json"
            ));
        }
        match serde_json::from_str::<Value>(&ex.body) {
            Ok(body) => {
                for e in schema_errors(spec, schema, &body) {
                    problems.push(format!("{at}: {e}\n      body: {body}"));
                }
                code = body["error"]["code"].as_str().map(str::to_string);
                if let Some(code) = &code {
                    let documented = error_codes(spec, response);
                    if !documented.contains(code) {
                        problems.push(format!(
                            "{at}: the code {code:?} is not among this response's \
                             x-error-codes {documented:?}"
                        ));
                    }
                }
            }
            Err(_) => problems.push(format!("{at}: the body is not JSON: {:?}", ex.body)),
        }
    }
    for (method, template) in covered {
        let seen = coverage.entry((method, template, ex.status)).or_default();
        seen.extend(code.clone());
    }
}

fn check_all(spec: &Value, exchanges: &[Exchange], coverage: &mut Coverage) -> Vec<String> {
    let mut problems = Vec::new();
    for ex in exchanges {
        check_exchange(spec, ex, &mut problems, coverage);
    }
    problems
}

/// Fills `{param}` segments with real ids.
fn fill_path(template: &str, ids: &BTreeMap<&str, String>) -> String {
    template
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => ids
                    .get(name)
                    .unwrap_or_else(|| {
                        panic!("no real id for the path parameter {{{name}}}: add one")
                    })
                    .clone(),
                None => segment.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_operation_in_the_spec_is_answered_by_the_running_server() {
    let spec = load_spec();
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.enroll(&counselor).await;
    let ids = BTreeMap::from([
        ("id", patient["id"].as_str().unwrap().to_string()),
        ("patient_id", patient["id"].as_str().unwrap().to_string()),
        ("consent_id", Uuid::now_v7().to_string()),
    ]);
    let mut recorder = Recorder::new(&app);
    for (method, template, operation) in operations(&spec) {
        let path = fill_path(&template, &ids);
        let secured = operation.get("security").is_some();
        let body = match operation.get("requestBody") {
            Some(_) => Body::Json(json!({})),
            None => Body::Empty,
        };
        let token = secured.then_some(admin.access.as_str());
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let what = format!("probing {method} {template}");
        let (status, body) = recorder.send(&what, method, &path, token, body).await;
        assert_ne!(status, 405, "{what}: {body}");
        // A 404 answers only on a path with a parameter (a real resource that does not exist),
        // and even then never with the "no such endpoint" of a path the server does not know.
        let unanswered = status == 404
            && (!template.contains('{') || body["error"]["message"] == "no such endpoint");
        assert!(!unanswered, "{what}: the server does not answer it: {body}");
    }
    let problems = check_all(&spec, &recorder.exchanges, &mut Coverage::new());
    assert!(problems.is_empty(), "\n  {}", problems.join("\n  "));
    assert_eq!(recorder.exchanges.len(), operations(&spec).len());
}

// ------------------------------------------------------------------------------------------------
// The story: every documented status and error code, provoked on real servers.

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@clinic.test", Uuid::new_v4().simple())
}

/// A UUID for every path parameter, naming nothing that exists.
fn unknown_ids() -> BTreeMap<&'static str, String> {
    ["id", "patient_id", "consent_id"]
        .into_iter()
        .map(|name| (name, Uuid::now_v7().to_string()))
        .collect()
}

/// An access token for `admin` that expired half an hour ago, signed with the test key.
fn expired_token(user_id: Uuid, device_id: Uuid) -> String {
    use jsonwebtoken::{encode, EncodingKey, Header};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "sub": user_id, "role": "admin", "clinic": Uuid::new_v4(), "dev": device_id,
        "iat": now - 3_600, "exp": now - 1_800, "typ": "access"
    });
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// The default server: the whole account and session story plus every request-shape error.
async fn main_story(app: &TestApp, spec: &Value) -> Vec<Exchange> {
    let mut r = Recorder::new(app);
    r.get("liveness", "/healthz", None).await;
    r.get("readiness", "/readyz", None).await;

    let admin = r
        .expect(
            200,
            "admin signs in",
            "/v1/auth/login",
            None,
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "device_name": "desk" }),
        )
        .await;
    let admin_token = admin["access_token"].as_str().unwrap().to_string();
    let admin_token = admin_token.as_str();
    r.expect(
        401,
        "wrong password",
        "/v1/auth/login",
        None,
        json!({ "email": ADMIN_EMAIL, "password": "not the password" }),
    )
    .await;
    r.expect(
        422,
        "blank device name at sign-in",
        "/v1/auth/login",
        None,
        json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "device_name": "  " }),
    )
    .await;
    r.expect(
        400,
        "a device id that is not a UUID",
        "/v1/auth/login",
        None,
        json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "device_id": "phone-1" }),
    )
    .await;

    // Request-shape errors on every operation with a required body. Path parameters get UUIDs
    // (of nothing), so that what is judged is the body, not a path segment that is not a UUID.
    let ids = unknown_ids();
    for (method, template, operation) in operations(spec) {
        if operation["requestBody"]["required"] != json!(true) {
            continue;
        }
        let path = fill_path(&template, &ids);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let token = operation.get("security").map(|_| admin_token);
        // Where an admin may not post, the role is judged before the body, whatever it is; the
        // schedule and consent stories send these bodies as callers who may.
        let refused = match template.as_str() {
            "/v1/tracks" | "/v1/tracks/{id}/enrollments" => Some(403),
            "/v1/patients/{id}/consents" => Some(404),
            _ => None,
        };
        if let Some(refused) = refused {
            for body in [
                Body::Raw("application/json", r#"{"email": "#.into()),
                Body::Json(json!({ "nope": 1 })),
                Body::Raw("text/plain", "email=a@b.test".into()),
            ] {
                let (status, _) = r
                    .send(
                        "a caller refused before the body",
                        method.clone(),
                        &path,
                        token,
                        body,
                    )
                    .await;
                assert_eq!(status, refused, "role before body on {path}");
            }
            continue;
        }
        let broken = Body::Raw("application/json", r#"{"email": "a@b.test", "#.into());
        let (status, _) = r
            .send("broken JSON", method.clone(), &path, token, broken)
            .await;
        assert_eq!(status, 400, "broken JSON on {path}");
        let (status, _) = r
            .send(
                "an unknown field",
                method.clone(),
                &path,
                token,
                Body::Json(json!({ "nope": 1 })),
            )
            .await;
        assert_eq!(status, 400, "unknown field on {path}");
        let form = Body::Raw("text/plain", "email=a@b.test".into());
        let (status, _) = r.send("a form body", method, &path, token, form).await;
        assert_eq!(status, 415, "text body on {path}");
    }

    // A known path with another method; unknown paths.
    for (path, item) in spec["paths"].as_object().unwrap() {
        let other = ["delete", "put", "patch", "get", "post"]
            .into_iter()
            .find(|m| item.get(*m).is_none())
            .unwrap();
        let method = Method::from_bytes(other.to_uppercase().as_bytes()).unwrap();
        let (status, _) = r
            .send(
                "another method",
                method,
                path,
                Some(admin_token),
                Body::Empty,
            )
            .await;
        assert_eq!(status, 405, "{other} {path}");
    }
    for path in ["/", "/v1/nothing-here", "/v1/auth", "/v1/me/extra"] {
        let (status, _) = r.get("an unknown path", path, None).await;
        assert_eq!(status, 404, "GET {path}");
    }
    r.post("an unknown path", "/v1/sessions", None, json!({}))
        .await;

    // Missing, malformed and expired access tokens on every secured operation.
    let admin_id: Uuid = admin["user"]["id"].as_str().unwrap().parse().unwrap();
    let device_id: Uuid = admin["device_id"].as_str().unwrap().parse().unwrap();
    let expired = expired_token(admin_id, device_id);
    // A session signed out on its own device: its access token is refused at once.
    let other = r
        .expect(
            200,
            "admin signs in on another device",
            "/v1/auth/login",
            None,
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await;
    let signed_out = other["access_token"].as_str().unwrap().to_string();
    let (status, _) = r
        .send(
            "that device signs out",
            Method::POST,
            "/v1/auth/logout",
            Some(&signed_out),
            Body::Json(json!({})),
        )
        .await;
    assert_eq!(status, 204);
    for (method, template, operation) in operations(spec) {
        if operation.get("security").is_none() {
            continue;
        }
        let path = fill_path(&template, &ids);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = json!({ "email": unique_email("x"), "display_name": "X" });
        for (what, token) in [
            ("no token", None),
            ("a garbage token", Some("not.a.jwt")),
            ("an expired token", Some(expired.as_str())),
            ("a signed-out session's token", Some(signed_out.as_str())),
        ] {
            let (status, json) = r
                .send(what, method.clone(), &path, token, Body::Json(body.clone()))
                .await;
            assert_eq!(status, 401, "{what} on {path}: {json}");
        }
    }

    // Counselors.
    let counselor_email = unique_email("Cora");
    let created = r
        .expect(
            201,
            "admin creates a counselor",
            "/v1/clinicians",
            Some(admin_token),
            json!({ "email": counselor_email, "display_name": "  Cora Counselor " }),
        )
        .await;
    r.expect(
        409,
        "the same email again, other case",
        "/v1/clinicians",
        Some(admin_token),
        json!({ "email": counselor_email.to_lowercase(), "display_name": "Cora" }),
    )
    .await;
    r.expect(
        422,
        "an email without a domain",
        "/v1/clinicians",
        Some(admin_token),
        json!({ "email": "cora@clinic", "display_name": "Cora" }),
    )
    .await;
    r.expect(
        422,
        "an empty display name",
        "/v1/clinicians",
        Some(admin_token),
        json!({ "email": unique_email("c"), "display_name": "" }),
    )
    .await;

    let code = created["activation_code"].as_str().unwrap().to_string();
    r.expect(
        422,
        "a short password",
        "/v1/auth/activate",
        None,
        json!({ "code": code, "password": "short", "device_name": "laptop" }),
    )
    .await;
    r.expect(
        422,
        "a 300-byte password",
        "/v1/auth/activate",
        None,
        json!({ "code": code, "password": "é".repeat(150), "device_name": "laptop" }),
    )
    .await;
    r.expect(
        422,
        "a device name with a control character",
        "/v1/auth/activate",
        None,
        json!({ "code": code, "password": USER_PASSWORD, "device_name": "a\u{7}b" }),
    )
    .await;
    let counselor = r
        .expect(201, "the counselor activates", "/v1/auth/activate", None,
            json!({ "code": code.to_lowercase(), "password": USER_PASSWORD, "device_name": "laptop" }))
        .await;
    r.expect(
        409,
        "the same code again",
        "/v1/auth/activate",
        None,
        json!({ "code": code, "password": USER_PASSWORD, "device_name": "laptop" }),
    )
    .await;
    r.expect(
        401,
        "an unknown code",
        "/v1/auth/activate",
        None,
        json!({ "code": "0000-0000-0000", "password": USER_PASSWORD, "device_name": "laptop" }),
    )
    .await;
    let counselor_token = counselor["access_token"].as_str().unwrap().to_string();
    let counselor_token = counselor_token.as_str();
    let counselor_id = counselor["user"]["id"].as_str().unwrap().to_string();
    r.expect(
        403,
        "a counselor creates a counselor",
        "/v1/clinicians",
        Some(counselor_token),
        json!({ "email": unique_email("c"), "display_name": "C" }),
    )
    .await;

    // Patients.
    let patient_email = unique_email("pat");
    let enrolled = r
        .expect(
            201,
            "a counselor enrolls a patient",
            "/v1/patients",
            Some(counselor_token),
            json!({ "email": patient_email, "display_name": "Pat Patient" }),
        )
        .await;
    r.expect(
        201,
        "an admin enrolls a patient for a counselor",
        "/v1/patients",
        Some(admin_token),
        json!({ "email": unique_email("p"), "display_name": "Pia", "counselor_id": counselor_id }),
    )
    .await;
    r.expect(
        201,
        "a counselor enrolls with counselor_id null",
        "/v1/patients",
        Some(counselor_token),
        json!({ "email": unique_email("p"), "display_name": "Pio", "counselor_id": null }),
    )
    .await;
    r.expect(
        422,
        "an admin without a counselor",
        "/v1/patients",
        Some(admin_token),
        json!({ "email": unique_email("p"), "display_name": "Pia" }),
    )
    .await;
    r.expect(
        422,
        "an admin names a counselor who is not one",
        "/v1/patients",
        Some(admin_token),
        json!({ "email": unique_email("p"), "display_name": "Pia", "counselor_id": admin_id }),
    )
    .await;
    r.expect(
        409,
        "the patient's email again",
        "/v1/patients",
        Some(counselor_token),
        json!({ "email": patient_email, "display_name": "Pat" }),
    )
    .await;
    r.expect(
        422,
        "a malformed patient email",
        "/v1/patients",
        Some(counselor_token),
        json!({ "email": "pat at example", "display_name": "Pat" }),
    )
    .await;
    r.expect(
        422,
        "a patient name over 100 characters",
        "/v1/patients",
        Some(counselor_token),
        json!({ "email": unique_email("p"), "display_name": "x".repeat(101) }),
    )
    .await;

    let activated = r
        .expect(201, "the patient activates on the phone", "/v1/auth/activate", None,
            json!({ "code": enrolled["enrollment_code"], "password": USER_PASSWORD, "device_name": "Pixel 8" }))
        .await;
    let patient_token = activated["access_token"].as_str().unwrap().to_string();
    let patient_token = patient_token.as_str();
    r.expect(
        403,
        "a patient enrolls a patient",
        "/v1/patients",
        Some(patient_token),
        json!({ "email": unique_email("p"), "display_name": "P" }),
    )
    .await;
    r.expect(
        403,
        "a patient creates a counselor",
        "/v1/clinicians",
        Some(patient_token),
        json!({ "email": unique_email("c"), "display_name": "C" }),
    )
    .await;

    // Sessions: sign in, refresh, reuse, me, sign out.
    let login = r
        .expect(
            200,
            "the patient signs in on the same phone",
            "/v1/auth/login",
            None,
            json!({ "email": patient_email.to_uppercase(), "password": USER_PASSWORD,
                    "device_name": "Pixel 8", "device_id": activated["device_id"] }),
        )
        .await;
    r.expect(200, "the patient signs in with nulls", "/v1/auth/login", None,
        json!({ "email": patient_email, "password": USER_PASSWORD, "device_name": null, "device_id": null })).await;
    let first = login["refresh_token"].clone();
    let rotated = r
        .expect(
            200,
            "refresh",
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": first }),
        )
        .await;
    r.expect(
        401,
        "the used refresh token again",
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": first }),
    )
    .await;
    r.expect(
        401,
        "the rotated token after reuse",
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": rotated["refresh_token"] }),
    )
    .await;
    r.expect(
        401,
        "a made-up refresh token",
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": "0".repeat(64) }),
    )
    .await;
    for token in [admin_token, counselor_token, patient_token] {
        r.get("who am I", "/v1/me", Some(token)).await;
    }
    let (status, _) = r
        .send(
            "sign out",
            Method::POST,
            "/v1/auth/logout",
            Some(patient_token),
            Body::Empty,
        )
        .await;
    assert_eq!(status, 204);
    r.expect(
        204,
        "sign out everywhere",
        "/v1/auth/logout",
        Some(counselor_token),
        json!({ "all_devices": true }),
    )
    .await;
    // A body that is there must be right: a typo must not sign out only this device. Sent raw,
    // because the request schema rightly refuses them.
    for (what, body) in [
        (
            "sign out with a mistyped option",
            r#"{"all_devices": "yes"}"#,
        ),
        ("sign out with an unknown option", r#"{"everywhere": true}"#),
        ("sign out with broken JSON", r#"{"all_devices": "#),
    ] {
        let (status, _) = r
            .send(
                what,
                Method::POST,
                "/v1/auth/logout",
                Some(admin_token),
                Body::Raw("application/json", body.into()),
            )
            .await;
        assert_eq!(status, 400, "{what}");
    }
    let (status, _) = r
        .send(
            "sign out with a form body",
            Method::POST,
            "/v1/auth/logout",
            Some(admin_token),
            Body::Raw("text/plain", "all_devices=true".into()),
        )
        .await;
    assert_eq!(status, 415);
    let (status, _) = r
        .send(
            "sign out with an empty body of another type",
            Method::POST,
            "/v1/auth/logout",
            Some(admin_token),
            Body::Raw("text/plain", String::new()),
        )
        .await;
    assert_eq!(status, 204);
    r.exchanges
}

/// The `code`s of the ops a push answer rejected.
fn rejection_codes(body: &Value) -> Vec<String> {
    body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

/// Sync: pushes that are accepted, retried and refused op by op (every rejection code), pulls
/// page by page, and the read models they feed.
async fn sync_story(app: &TestApp, spec: &Value) -> Vec<Exchange> {
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let outsider = app.counselor(&admin).await;
    let mut patient = Phone::new(app.patient(&counselor).await);
    let stranger = app.patient(&counselor).await;
    let mut counselor = Phone::new(counselor);
    let me = patient.session.user_id;
    let p_token = patient.session.access.clone();
    let c_token = counselor.session.access.clone();
    let mut r = Recorder::new(app);

    // The patient's phone writes two check-ins and an exercise offline, then pushes them.
    patient.checkin(7, &["stress", "custom:payday"]);
    patient.checkin(3, &["tired"]);
    let exercise = Uuid::now_v7();
    let started = json!(wall_ms() - 600_000);
    for (field, value) in [
        ("skill", json!("paced_breathing")),
        ("started_at", started),
        ("duration_min", json!(10)),
        ("craving_before", json!(6)),
        ("craving_after", json!(3)),
    ] {
        patient.write(me, DocKind::Exercise, exercise, field, value);
    }
    let batch = json!({ "ops": patient.outbox });
    let first = r
        .expect(
            200,
            "the phone pushes its outbox",
            "/v1/sync/push",
            Some(&p_token),
            batch.clone(),
        )
        .await;
    assert_eq!(
        first["accepted"].as_array().unwrap().len(),
        patient.outbox.len(),
        "{first}"
    );
    let retried = r
        .expect(
            200,
            "the same batch again",
            "/v1/sync/push",
            Some(&p_token),
            batch,
        )
        .await;
    assert_eq!(
        retried["duplicates"].as_array().unwrap().len(),
        patient.outbox.len()
    );
    let stored = patient.outbox[0].clone();
    patient.outbox.clear();

    // The counselor schedules a session; the patient answers it.
    let session = Uuid::now_v7();
    let ops: Vec<_> = [
        ("kind", json!("group")),
        ("title", json!("Relapse prevention")),
        ("starts_at", json!(wall_ms() + 86_400_000)),
        ("duration_min", json!(90)),
        ("telehealth_url", json!("https://meet.example/room")),
        ("status", json!("scheduled")),
    ]
    .into_iter()
    .map(|(field, value)| counselor.make_op(me, DocKind::Session, session, field, value))
    .collect();
    r.expect(
        200,
        "the counselor schedules a session",
        "/v1/sync/push",
        Some(&c_token),
        json!({ "ops": ops }),
    )
    .await;
    let rsvp = patient.make_op(me, DocKind::Session, session, "rsvp", json!("yes"));
    r.expect(
        200,
        "the patient answers",
        "/v1/sync/push",
        Some(&p_token),
        json!({ "ops": [rsvp] }),
    )
    .await;

    // One batch with an op refused for each reason, beside a good op that still lands. Sent raw:
    // some elements do not have the op shape the request schema documents.
    let doc = Uuid::now_v7();
    let op = |phone: &mut Phone, patient: Uuid, kind, field: &str, value| {
        serde_json::to_value(phone.make_op(patient, kind, doc, field, value)).unwrap()
    };
    let mut bad = vec![
        op(&mut patient, me, DocKind::Checkin, "intensity", json!(4)),
        op(&mut patient, me, DocKind::Checkin, "intensity", json!(11)),
        op(
            &mut patient,
            me,
            DocKind::Checkin,
            "intensity",
            json!("high"),
        ),
        op(
            &mut patient,
            me,
            DocKind::Checkin,
            "note",
            json!("x".repeat(2_001)),
        ),
        op(
            &mut patient,
            me,
            DocKind::Checkin,
            "substance",
            json!("unobtainium"),
        ),
        op(
            &mut patient,
            me,
            DocKind::Checkin,
            "triggers/not-a-trigger",
            json!(true),
        ),
        op(
            &mut patient,
            me,
            DocKind::Checkin,
            "favourite_colour",
            json!("blue"),
        ),
        op(&mut patient, me, DocKind::Checkin, "note", json!("a\u{0}b")),
        op(
            &mut patient,
            me,
            DocKind::Session,
            "telehealth_url",
            json!("http://insecure.example"),
        ),
        op(
            &mut patient,
            me,
            DocKind::Session,
            "starts_at",
            json!(wall_ms()),
        ),
        op(
            &mut patient,
            stranger.user_id,
            DocKind::Checkin,
            "mood",
            json!(2),
        ),
        json!(42),
        json!({ "id": "nope" }),
    ];
    let mut diary = op(&mut patient, me, DocKind::Checkin, "mood", json!(3));
    diary["kind"] = json!("diary");
    let mut v4 = op(&mut patient, me, DocKind::Checkin, "mood", json!(3));
    v4["id"] = json!(Uuid::new_v4());
    let mut seq_zero = op(&mut patient, me, DocKind::Checkin, "mood", json!(3));
    seq_zero["device_seq"] = json!(0);
    let mut ahead = patient.make_op(me, DocKind::Checkin, doc, "mood", json!(3));
    ahead.hlc = sync_core::Hlc::new(wall_ms() as u64 + 3_600_000, 0, ahead.hlc.node()).unwrap();
    let mut conflict = serde_json::to_value(&stored).unwrap();
    conflict["value"] = json!(wall_ms() - 120_000);
    let mut reused = op(&mut patient, me, DocKind::Checkin, "mood", json!(3));
    reused["device_seq"] = json!(stored.device_seq);
    bad.extend([
        diary,
        v4,
        seq_zero,
        serde_json::to_value(ahead).unwrap(),
        conflict,
        reused,
    ]);
    let (status, body) = r
        .send(
            "one batch, every rejection",
            Method::POST,
            "/v1/sync/push",
            Some(&p_token),
            Body::Raw("application/json", json!({ "ops": bad }).to_string()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"].as_array().unwrap().len(), 1, "{body}");
    assert!(
        !body["receipt"]["gaps"].as_array().unwrap().is_empty(),
        "{body}"
    );
    let mut codes: BTreeSet<String> = rejection_codes(&body).into_iter().collect();
    // A counselor writing a patient's check-in; a counselor not on the care team.
    let not_theirs = counselor.make_op(me, DocKind::Checkin, Uuid::now_v7(), "intensity", json!(2));
    let body = r
        .expect(
            200,
            "a counselor writes a check-in",
            "/v1/sync/push",
            Some(&c_token),
            json!({ "ops": [not_theirs] }),
        )
        .await;
    codes.extend(rejection_codes(&body));
    let mut outsider = Phone::new(outsider);
    let op = outsider.make_op(me, DocKind::Session, Uuid::now_v7(), "title", json!("x"));
    let body = r
        .expect(
            200,
            "a counselor off the care team",
            "/v1/sync/push",
            Some(&outsider.session.access),
            json!({ "ops": [op] }),
        )
        .await;
    codes.extend(rejection_codes(&body));
    let documented: BTreeSet<String> = spec["components"]["schemas"]["RejectedOp"]["properties"]
        ["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, documented, "rejection codes seen vs documented");

    // Pulls: the counselor pages through the patient's records; the patient gets the session.
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/v1/sync/pull?limit=4".to_string(),
            Some(c) => format!("/v1/sync/pull?limit=4&cursor={c}"),
        };
        let (status, body) = r
            .get("the counselor pulls a page", &path, Some(&c_token))
            .await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        cursor = Some(body["cursor"].as_str().unwrap().to_string());
        if !body["has_more"].as_bool().unwrap() {
            break;
        }
    }
    assert!(pages > 2, "expected several pages, got {pages}");
    let (status, body) = r
        .get("the patient pulls", "/v1/sync/pull", Some(&p_token))
        .await;
    assert_eq!(status, 200);
    assert!(!body["changes"].as_array().unwrap().is_empty(), "{body}");
    for (what, path) in [
        ("a damaged cursor", "/v1/sync/pull?cursor=garbage"),
        ("limit 0", "/v1/sync/pull?limit=0"),
        ("a limit over the maximum", "/v1/sync/pull?limit=100000"),
        ("a limit that is not a number", "/v1/sync/pull?limit=ten"),
        ("an unknown query parameter", "/v1/sync/pull?since=0"),
    ] {
        let (status, _) = r.get(what, path, Some(&p_token)).await;
        assert_eq!(status, 422, "{what}");
    }

    // Read models.
    let nobody = Uuid::now_v7();
    for list in ["checkins", "exercises", "sessions"] {
        let base = format!("/v1/patients/{me}/{list}");
        let (status, body) = r.get("the counselor lists", &base, Some(&c_token)).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            !body["items"].as_array().unwrap().is_empty(),
            "{list}: {body}"
        );
        let (status, _) = r
            .get("the patient lists their own", &base, Some(&p_token))
            .await;
        assert_eq!(status, 200);
        let (status, _) = r
            .get(
                "a window",
                &format!("{base}?from=0&to=4102444800000&limit=500"),
                Some(&c_token),
            )
            .await;
        assert_eq!(status, 200);
        for (what, token, path) in [
            (
                "a counselor off the care team",
                outsider.session.access.as_str(),
                base.clone(),
            ),
            ("an admin", admin.access.as_str(), base.clone()),
            ("another patient", stranger.access.as_str(), base.clone()),
            (
                "no such patient",
                c_token.as_str(),
                format!("/v1/patients/{nobody}/{list}"),
            ),
            (
                "an id that is not a UUID",
                c_token.as_str(),
                format!("/v1/patients/nope/{list}"),
            ),
        ] {
            let (status, body) = r.get(what, &path, Some(token)).await;
            assert_eq!(status, 404, "{what} on {list}: {body}");
        }
        for query in [
            "limit=0",
            "limit=501",
            "from=5&to=5",
            "cursor=nope",
            "cursor=1_nope",
            "limit=x",
            "page=2",
        ] {
            let (status, body) = r
                .get("a bad query", &format!("{base}?{query}"), Some(&c_token))
                .await;
            assert_eq!(status, 422, "{query} on {list}: {body}");
        }
    }
    // Two check-ins: page by page.
    let base = format!("/v1/patients/{me}/checkins");
    let (_, page) = r
        .get("the first page", &format!("{base}?limit=1"), Some(&c_token))
        .await;
    let next = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (_, page) = r
        .get(
            "the next page",
            &format!("{base}?limit=1&cursor={next}"),
            Some(&c_token),
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    r.exchanges
}

/// A server with tight limits: a locked account, exhausted per-address budgets, a small body limit.
async fn limits_story(app: &TestApp) -> Vec<Exchange> {
    let mut r = Recorder::without_keep_alive(app);
    let admin = r
        .expect(
            200,
            "admin signs in",
            "/v1/auth/login",
            None,
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await;
    let token = admin["access_token"].as_str().unwrap().to_string();
    for _ in 0..2 {
        r.expect(
            401,
            "wrong password",
            "/v1/auth/login",
            None,
            json!({ "email": ADMIN_EMAIL, "password": "wrong password!" }),
        )
        .await;
    }
    r.expect(
        429,
        "the right password on a locked account",
        "/v1/auth/login",
        None,
        json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
    )
    .await;
    for _ in 0..4 {
        r.expect(
            401,
            "a made-up refresh token",
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": "nope" }),
        )
        .await;
    }
    r.expect(
        429,
        "one refresh attempt too many",
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": "nope" }),
    )
    .await;
    let bad_code =
        json!({ "code": "not a code", "password": USER_PASSWORD, "device_name": "phone" });
    for _ in 0..4 {
        r.expect(
            401,
            "a malformed code",
            "/v1/auth/activate",
            None,
            bad_code.clone(),
        )
        .await;
    }
    r.expect(
        429,
        "one activation attempt too many",
        "/v1/auth/activate",
        None,
        bad_code,
    )
    .await;

    let big = json!({ "email": "a@b.test", "display_name": "x".repeat(4_096) });
    let consents = format!("/v1/patients/{}/consents", Uuid::now_v7());
    let enrollments = format!("/v1/tracks/{}/enrollments", Uuid::now_v7());
    for path in [
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/auth/activate",
        "/v1/clinicians",
        "/v1/patients",
        consents.as_str(),
        "/v1/tracks",
        enrollments.as_str(),
    ] {
        r.expect(
            413,
            "a body over the limit",
            path,
            Some(&token),
            big.clone(),
        )
        .await;
    }
    // Sign-out reads its optional body itself; the push limit is its own and larger.
    r.expect(
        413,
        "a sign-out body over the limit",
        "/v1/auth/logout",
        Some(&token),
        big,
    )
    .await;
    let ops = json!({ "ops": ["x".repeat(1_500), "x".repeat(1_500)] });
    r.expect(
        413,
        "a push over TETHER_MAX_PUSH_BYTES",
        "/v1/sync/push",
        Some(&token),
        ops,
    )
    .await;
    let ops = json!({ "ops": ["x".repeat(400), 1, 2, 3] });
    r.expect(
        422,
        "a batch over TETHER_MAX_BATCH_OPS",
        "/v1/sync/push",
        Some(&token),
        ops,
    )
    .await;
    r.exchanges
}

/// A server whose codes and refresh tokens expire after a second.
async fn expiry_story(app: &TestApp) -> Vec<Exchange> {
    let mut r = Recorder::new(app);
    let admin = r
        .expect(
            200,
            "admin signs in",
            "/v1/auth/login",
            None,
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await;
    let created = r
        .expect(
            201,
            "admin creates a counselor",
            "/v1/clinicians",
            admin["access_token"].as_str(),
            json!({ "email": unique_email("late"), "display_name": "Lee Late" }),
        )
        .await;
    // Wait out the one-second lifetimes (the behaviour under test, not a wait for the server).
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    r.expect(
        401,
        "an expired refresh token",
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": admin["refresh_token"] }),
    )
    .await;
    r.expect(410, "an expired activation code", "/v1/auth/activate", None,
        json!({ "code": created["activation_code"], "password": USER_PASSWORD, "device_name": "phone" }))
        .await;
    r.exchanges
}

/// A session past its absolute lifetime (`TETHER_SESSION_MAX_AGE_SECS`): its access token on
/// every secured operation, and its refresh token.
async fn session_age_story(app: &TestApp, spec: &Value) -> Vec<Exchange> {
    let mut r = Recorder::new(app);
    let admin = r
        .expect(
            200,
            "admin signs in",
            "/v1/auth/login",
            None,
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await;
    // Wait out the one-second session (the behaviour under test, not a wait for the server).
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    let token = admin["access_token"].as_str().unwrap().to_string();
    let ids = unknown_ids();
    for (method, template, operation) in operations(spec) {
        if operation.get("security").is_none() {
            continue;
        }
        let path = fill_path(&template, &ids);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = json!({ "email": unique_email("x"), "display_name": "X" });
        let (status, json) = r
            .send(
                "a session past its age",
                method,
                &path,
                Some(&token),
                Body::Json(body),
            )
            .await;
        assert_eq!(status, 401, "{path}: {json}");
    }
    r.expect(
        401,
        "a refresh token of a session past its age",
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": admin["refresh_token"] }),
    )
    .await;
    r.exchanges
}

/// Consent and the access log: a patient gives, lists and withdraws consents (every refusal on
/// the way), staff read under it, and the patient reads who did.
async fn consent_story(app: &TestApp) -> Vec<Exchange> {
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let outsider = app.counselor(&admin).await;
    let mut patient = Phone::new(app.patient_without_consent(&counselor).await);
    let stranger = app.patient(&counselor).await;
    let me = patient.session.user_id;
    let p_token = patient.session.access.clone();
    let c_token = counselor.access.clone();
    let mut r = Recorder::new(app);
    patient.checkin(6, &["stress"]);
    patient.push(app).await;

    let consents = format!("/v1/patients/{me}/consents");
    let log = format!("/v1/patients/{me}/access-log");
    body_shape_errors(&mut r, &consents, &p_token).await;
    // On the care team but without consent: the patient does not exist for the counselor.
    for (what, path) in [
        (
            "a counselor before consent lists",
            format!("/v1/patients/{me}/checkins"),
        ),
        (
            "a counselor before consent lists consents",
            consents.clone(),
        ),
        ("a counselor before consent reads the log", log.clone()),
    ] {
        let (status, body) = r.get(what, &path, Some(&c_token)).await;
        assert_eq!(status, 404, "{what}: {body}");
    }
    let (status, body) = r.get("no consents yet", &consents, Some(&p_token)).await;
    assert_eq!(
        (status, body["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{body}"
    );

    // Giving consent: the whole care team; one counselor by name, for a while; nulls.
    let care_team = r
        .expect(
            201,
            "the patient consents for the care team",
            &consents,
            Some(&p_token),
            json!({ "grantee": "care_team", "purpose": "  treatment in the IOP " }),
        )
        .await;
    assert_eq!(care_team["purpose"], "treatment in the IOP", "{care_team}");
    assert_eq!(care_team["active"], true, "{care_team}");
    r.expect(
        201,
        "the patient consents for one counselor, for a day",
        &consents,
        Some(&p_token),
        json!({ "grantee": "counselor", "counselor_id": counselor.user_id,
                "purpose": "weekly review", "expires_at": wall_ms() + 86_400_000 }),
    )
    .await;
    let named = r
        .expect(
            201,
            "the patient consents with explicit nulls",
            &consents,
            Some(&p_token),
            json!({ "grantee": "care_team", "counselor_id": null, "purpose": "family session",
                    "expires_at": null }),
        )
        .await;
    // Refused bodies.
    for (what, body) in [
        (
            "a blank purpose",
            json!({ "grantee": "care_team", "purpose": "  " }),
        ),
        (
            "a purpose over 200 characters",
            json!({ "grantee": "care_team", "purpose": "x".repeat(201) }),
        ),
        (
            "a purpose with a control character",
            json!({ "grantee": "care_team", "purpose": "a\u{7}b" }),
        ),
        (
            "an expiry in the past",
            json!({ "grantee": "care_team", "purpose": "t", "expires_at": 1_000 }),
        ),
        (
            "a named counselor without an id",
            json!({ "grantee": "counselor", "purpose": "t" }),
        ),
        (
            "a care-team consent naming a counselor",
            json!({ "grantee": "care_team", "purpose": "t", "counselor_id": counselor.user_id }),
        ),
        (
            "an admin named as the counselor",
            json!({ "grantee": "counselor", "purpose": "t", "counselor_id": admin.user_id }),
        ),
        (
            "a counselor who does not exist",
            json!({ "grantee": "counselor", "purpose": "t", "counselor_id": Uuid::now_v7() }),
        ),
    ] {
        r.expect(422, what, &consents, Some(&p_token), body).await;
    }
    r.expect(
        400,
        "an unknown grantee",
        &consents,
        Some(&p_token),
        json!({ "grantee": "everyone", "purpose": "t" }),
    )
    .await;
    // Who may give the consent is judged before the body: to an admin the patient does not
    // exist, whatever the body says.
    r.expect(
        404,
        "an admin's blank purpose",
        &consents,
        Some(&admin.access),
        json!({ "grantee": "care_team", "purpose": "" }),
    )
    .await;

    // Staff read under the consent; a pull that returns the patient's check-in is a read too.
    for list in ["checkins", "exercises", "sessions"] {
        let (status, body) = r
            .get(
                "the counselor lists",
                &format!("/v1/patients/{me}/{list}"),
                Some(&c_token),
            )
            .await;
        assert_eq!(status, 200, "{list}: {body}");
    }
    let (status, body) = r
        .get("the counselor pulls", "/v1/sync/pull", Some(&c_token))
        .await;
    assert_eq!(status, 200, "{body}");

    // Only the patient manages consents and reads the log: 403 for staff who may read the
    // patient, 404 for everyone else.
    let good = json!({ "grantee": "care_team", "purpose": "treatment" });
    r.expect(
        403,
        "the counselor gives consent",
        &consents,
        Some(&c_token),
        good.clone(),
    )
    .await;
    let nobody = Uuid::now_v7();
    for (what, token, path) in [
        (
            "another patient",
            stranger.access.as_str(),
            consents.clone(),
        ),
        ("an admin", admin.access.as_str(), consents.clone()),
        (
            "a counselor off the care team",
            outsider.access.as_str(),
            consents.clone(),
        ),
        (
            "no such patient",
            p_token.as_str(),
            format!("/v1/patients/{nobody}/consents"),
        ),
        (
            "an id that is not a UUID",
            p_token.as_str(),
            "/v1/patients/me/consents".to_string(),
        ),
    ] {
        r.expect(404, what, &path, Some(token), good.clone()).await;
        let (status, body) = r.get(what, &path, Some(token)).await;
        assert_eq!(status, 404, "{what}: {body}");
        let log = path.replace("/consents", "/access-log");
        let (status, body) = r.get(what, &log, Some(token)).await;
        assert_eq!(status, 404, "{what}: {body}");
    }
    let (status, body) = r
        .get("the counselor lists consents", &consents, Some(&c_token))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = r
        .get("the counselor reads the log", &log, Some(&c_token))
        .await;
    assert_eq!(status, 403, "{body}");

    // The patient lists consents and reads the log, page by page.
    let (status, list) = r
        .get("the patient lists consents", &consents, Some(&p_token))
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");
    let (status, page) = r
        .get("the patient reads the log", &log, Some(&p_token))
        .await;
    assert_eq!(status, 200, "{page}");
    let actions: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "sync_pull",
            "read_sessions",
            "read_exercises",
            "read_checkins"
        ],
        "{page}"
    );
    // Every read is logged under the oldest active consent covering the reader.
    for entry in page["items"].as_array().unwrap() {
        assert_eq!(entry["consent_id"], care_team["id"], "{entry}");
        assert_eq!(entry["actor_id"], counselor.user_id.to_string(), "{entry}");
    }
    let (_, first) = r
        .get(
            "the log's first page",
            &format!("{log}?limit=3"),
            Some(&p_token),
        )
        .await;
    let next = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (status, last) = r
        .get(
            "the log's next page",
            &format!("{log}?limit=3&cursor={next}&from=0&to=4102444800000"),
            Some(&p_token),
        )
        .await;
    assert_eq!(status, 200, "{last}");
    assert_eq!(last["items"].as_array().unwrap().len(), 1, "{last}");
    assert!(last["next_cursor"].is_null(), "{last}");
    for query in [
        "limit=0",
        "limit=501",
        "from=5&to=5",
        "cursor=nope",
        "limit=x",
        "page=2",
    ] {
        let (status, body) = r
            .get("a bad log query", &format!("{log}?{query}"), Some(&p_token))
            .await;
        assert_eq!(status, 422, "{query}: {body}");
    }
    // The query is judged before the caller's standing, as for the body above.
    let (status, body) = r
        .get(
            "a stranger's bad log query",
            &format!("{log}?limit=0"),
            Some(&stranger.access),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // Listing consents takes no query parameters and refuses any it is sent, before looking at
    // who asks.
    for (what, token) in [
        ("consents with a query", p_token.as_str()),
        (
            "a stranger's consents with a query",
            stranger.access.as_str(),
        ),
    ] {
        let (status, body) = r
            .get(what, &format!("{consents}?page=2"), Some(token))
            .await;
        assert_eq!(status, 422, "{what}: {body}");
    }

    // Withdrawing: staff may not; a consent that is not the patient's is not found; twice is fine.
    let revoke = |consent: &str| format!("{consents}/{consent}");
    let care_team_id = care_team["id"].as_str().unwrap();
    let stranger_consents = format!("/v1/patients/{}/consents", stranger.user_id);
    let (_, theirs) = r
        .get(
            "another patient lists their consents",
            &stranger_consents,
            Some(&stranger.access),
        )
        .await;
    let theirs = theirs["items"][0]["id"].as_str().unwrap().to_string();
    for (what, token, path, status) in [
        (
            "the counselor withdraws",
            c_token.as_str(),
            revoke(care_team_id),
            403,
        ),
        (
            "another patient withdraws",
            stranger.access.as_str(),
            revoke(care_team_id),
            404,
        ),
        (
            "an admin withdraws",
            admin.access.as_str(),
            revoke(care_team_id),
            404,
        ),
        (
            "another patient's consent",
            p_token.as_str(),
            revoke(&theirs),
            404,
        ),
        (
            "no such consent",
            p_token.as_str(),
            revoke(&nobody.to_string()),
            404,
        ),
        (
            "a consent id that is not a UUID",
            p_token.as_str(),
            revoke("latest"),
            404,
        ),
        (
            "the patient withdraws",
            p_token.as_str(),
            revoke(care_team_id),
            204,
        ),
        (
            "the patient withdraws again",
            p_token.as_str(),
            revoke(care_team_id),
            204,
        ),
        (
            "the patient withdraws another",
            p_token.as_str(),
            revoke(named["id"].as_str().unwrap()),
            204,
        ),
    ] {
        let (actual, body) = r
            .send(what, Method::DELETE, &path, Some(token), Body::Empty)
            .await;
        assert_eq!(actual, status, "{what}: {body}");
    }
    let (_, list) = r
        .get(
            "the patient lists consents again",
            &consents,
            Some(&p_token),
        )
        .await;
    let active: Vec<bool> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["active"].as_bool().unwrap())
        .collect();
    // Newest first: the family-session consent and the care-team one are withdrawn; the one
    // naming the counselor still holds, so the counselor still reads the patient.
    assert_eq!(active, [false, true, false], "{list}");
    let (status, _) = r
        .get(
            "the counselor under the named consent",
            &format!("/v1/patients/{me}/checkins"),
            Some(&c_token),
        )
        .await;
    assert_eq!(status, 200);
    r.exchanges
}

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// New York's UTC offset in winter, in minutes: the phones of the trends story live there.
const NEW_YORK: i64 = -300;

/// Writes a whole check-in on the patient's phone, felt at `at`, with extra fields.
fn checkin_at(phone: &mut Phone, at: i64, intensity: i64, extra: &[(&str, Value)]) -> Uuid {
    let me = phone.session.user_id;
    let doc = Uuid::now_v7();
    phone.write(me, DocKind::Checkin, doc, "recorded_at", json!(at));
    phone.write(me, DocKind::Checkin, doc, "tz_offset_min", json!(NEW_YORK));
    phone.write(me, DocKind::Checkin, doc, "intensity", json!(intensity));
    for (field, value) in extra {
        phone.write(me, DocKind::Checkin, doc, field, value.clone());
    }
    doc
}

/// Writes a coping-skill exercise with the cravings before and after.
fn exercise_at(phone: &mut Phone, at: i64, skill: &str, before: i64, after: i64) {
    let me = phone.session.user_id;
    let doc = Uuid::now_v7();
    for (field, value) in [
        ("skill", json!(skill)),
        ("started_at", json!(at)),
        ("tz_offset_min", json!(NEW_YORK)),
        ("duration_min", json!(10)),
        ("craving_before", json!(before)),
        ("craving_after", json!(after)),
    ] {
        phone.write(me, DocKind::Exercise, doc, field, value);
    }
}

/// The counselor schedules a group session for `patient`, with its attendance once recorded.
fn session_at(counselor: &mut Phone, patient: Uuid, at: i64, attendance: Option<&str>) {
    let doc = Uuid::now_v7();
    for (field, value) in [
        ("kind", json!("group")),
        ("title", json!("Process group")),
        ("starts_at", json!(at)),
        ("duration_min", json!(180)),
        ("status", json!("scheduled")),
    ] {
        counselor.write(patient, DocKind::Session, doc, field, value);
    }
    if let Some(a) = attendance {
        counselor.write(patient, DocKind::Session, doc, "attendance", json!(a));
    }
}

/// Pushes a phone's outbox through the recorder; every op must land.
async fn push_outbox(r: &mut Recorder<'_>, what: &str, phone: &mut Phone) -> Value {
    let ops = std::mem::take(&mut phone.outbox);
    let token = phone.session.access.clone();
    let body = r
        .expect(
            200,
            what,
            "/v1/sync/push",
            Some(&token),
            json!({ "ops": ops }),
        )
        .await;
    assert_eq!(body["rejected"], json!([]), "{what}: {body}");
    body
}

/// The `kind`s of a list of flags.
fn kinds_of(flags: &Value) -> Vec<String> {
    flags
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Trends, risk flags, crisis resources and the caseload: patients whose data raises every kind
/// of flag between them, a crisis check-in answered with resources, the counselor's reads and
/// every refusal.
async fn trends_story(app: &TestApp, spec: &Value) -> Vec<Exchange> {
    let admin = app.admin().await;
    let mut counselor = Phone::new(app.counselor(&admin).await);
    let outsider = app.counselor(&admin).await;
    let c_token = counselor.session.access.clone();
    let mut r = Recorder::new(app);
    let t = wall_ms();

    // Pat: three weeks of check-ins with triggers and mood, exercises right after some of them,
    // sessions with every kind of attendance, then a lapse at 9 and "I need help now".
    let mut pat = Phone::new(app.patient(&counselor.session).await);
    let me = pat.session.user_id;
    for d in 4..21 {
        let trigger = if d % 3 == 0 {
            "triggers/lonely"
        } else {
            "triggers/stress"
        };
        checkin_at(
            &mut pat,
            t - d * DAY - 2 * HOUR,
            2 + d % 3,
            &[("mood", json!(4)), (trigger, json!(true))],
        );
    }
    checkin_at(
        &mut pat,
        t - 3 * DAY - HOUR,
        5,
        &[
            ("triggers/tired", json!(true)),
            ("triggers/stress", json!(true)),
        ],
    );
    exercise_at(&mut pat, t - 5 * DAY - HOUR, "urge_surfing", 6, 3);
    exercise_at(&mut pat, t - 6 * DAY - HOUR, "paced_breathing", 5, 4);
    exercise_at(&mut pat, t - 3 * DAY - HOUR / 2, "urge_surfing", 5, 2);
    let body = push_outbox(
        &mut r,
        "the phone pushes three weeks of check-ins",
        &mut pat,
    )
    .await;
    assert!(body["crisis_resources"].is_null(), "{body}");
    for (days, attendance) in [
        (12, "attended"),
        (10, "late"),
        (8, "left_early"),
        (6, "absent"),
        (4, "excused"),
    ] {
        session_at(&mut counselor, me, t - days * DAY, Some(attendance));
    }
    session_at(&mut counselor, me, t + 2 * DAY, None);
    push_outbox(&mut r, "the counselor records attendance", &mut counselor).await;

    checkin_at(
        &mut pat,
        t - 20 * HOUR,
        9,
        &[("lapse", json!(true)), ("substance", json!("alcohol"))],
    );
    let body = push_outbox(&mut r, "a lapse with a craving of 9", &mut pat).await;
    assert!(body["crisis_resources"].is_object(), "{body}");
    checkin_at(
        &mut pat,
        t - HOUR,
        4,
        &[("crisis", json!(true)), ("mood", json!(1))],
    );
    let body = push_outbox(&mut r, "\"I need help now\"", &mut pat).await;
    let phones: Vec<&str> = body["crisis_resources"]["resources"]
        .as_array()
        .expect("crisis resources")
        .iter()
        .map(|x| x["phone"].as_str().unwrap())
        .collect();
    assert!(phones.contains(&"988"), "{body}");

    // Patients built for the other flags.
    let mut rising = Phone::new(app.patient(&counselor.session).await);
    for d in 4..18 {
        checkin_at(&mut rising, t - d * DAY - HOUR, 2 + d % 2, &[]);
    }
    for d in 0..3 {
        checkin_at(&mut rising, t - d * DAY - HOUR, 6, &[]);
    }
    push_outbox(&mut r, "a rise over the usual", &mut rising).await;
    let mut sinking = Phone::new(app.patient(&counselor.session).await);
    for (k, d) in (0..6).rev().enumerate() {
        let k = k as i64;
        checkin_at(
            &mut sinking,
            t - d * DAY - HOUR,
            1 + k,
            &[("mood", json!(5 - k * 4 / 5))],
        );
    }
    push_outbox(&mut r, "craving up, mood down", &mut sinking).await;
    let mut absent = Phone::new(app.patient(&counselor.session).await);
    checkin_at(&mut absent, t - HOUR, 3, &[]);
    push_outbox(&mut r, "a quiet check-in", &mut absent).await;
    let absent_id = absent.session.user_id;
    session_at(&mut counselor, absent_id, t - 9 * DAY, Some("attended"));
    session_at(&mut counselor, absent_id, t - 5 * DAY, Some("absent"));
    session_at(&mut counselor, absent_id, t - 2 * DAY, Some("absent"));
    push_outbox(&mut r, "two sessions missed", &mut counselor).await;
    let mut silent = Phone::new(app.patient(&counselor.session).await);
    checkin_at(&mut silent, t - 4 * DAY, 3, &[]);
    push_outbox(&mut r, "a check-in four days ago", &mut silent).await;
    let mut calm = Phone::new(app.patient(&counselor.session).await);
    checkin_at(&mut calm, t - HOUR, 2, &[]);
    push_outbox(&mut r, "a calm check-in", &mut calm).await;
    let never = app.patient(&counselor.session).await;
    let hidden = app.patient_without_consent(&counselor.session).await;

    // The counselor reads trends: the default window, an explicit one, each bound alone.
    let trends = |id: Uuid| format!("/v1/patients/{id}/trends");
    let mut kinds: BTreeSet<String> = BTreeSet::new();
    let (status, body) = r
        .get("the counselor reads trends", &trends(me), Some(&c_token))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["adherence"]["days"], 28, "{body}");
    assert_eq!(body["flags"][0]["kind"], "crisis", "{body}");
    for key in [
        "daily",
        "triggers",
        "triggers_by_intensity",
        "heatmap",
        "skills",
        "lapses",
    ] {
        assert!(!body[key].as_array().unwrap().is_empty(), "{key}: {body}");
    }
    assert!(body["attendance"]["rate"].is_number(), "{body}");
    kinds.extend(kinds_of(&body["flags"]));
    let (from, to) = (
        body["from"].as_str().unwrap().to_string(),
        body["to"].as_str().unwrap().to_string(),
    );
    for (what, query) in [
        ("an explicit window", format!("?from={from}&to={to}")),
        ("only from", format!("?from={from}")),
        ("only to", format!("?to={to}")),
        ("one day", format!("?from={to}&to={to}")),
    ] {
        let (status, body) = r
            .get(what, &format!("{}{query}", trends(me)), Some(&c_token))
            .await;
        assert_eq!(status, 200, "{what}: {body}");
    }
    let (status, _) = r
        .get(
            "the patient reads their own trends",
            &trends(me),
            Some(&pat.session.access),
        )
        .await;
    assert_eq!(status, 200);
    for id in [
        rising.session.user_id,
        sinking.session.user_id,
        absent_id,
        silent.session.user_id,
        never.user_id,
    ] {
        let (status, body) = r
            .get(
                "the counselor reads another patient's trends",
                &trends(id),
                Some(&c_token),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        kinds.extend(kinds_of(&body["flags"]));
    }
    let (_, empty) = r
        .get(
            "trends of a patient who never checked in",
            &trends(never.user_id),
            Some(&c_token),
        )
        .await;
    assert_eq!(empty["trend"]["direction"], "unknown", "{empty}");
    assert!(empty["days_since_last_checkin"].is_null(), "{empty}");

    // Refusals: strangers do not learn the patient exists; bad queries are 422.
    let nobody = Uuid::now_v7();
    for (what, token, path) in [
        (
            "a counselor off the care team",
            outsider.access.as_str(),
            trends(me),
        ),
        ("an admin", admin.access.as_str(), trends(me)),
        (
            "another patient",
            rising.session.access.as_str(),
            trends(me),
        ),
        ("before consent", c_token.as_str(), trends(hidden.user_id)),
        ("no such patient", c_token.as_str(), trends(nobody)),
        (
            "an id that is not a UUID",
            c_token.as_str(),
            "/v1/patients/me/trends".into(),
        ),
        (
            "a stranger's window backwards",
            outsider.access.as_str(),
            format!("{}?from=2026-10-05&to=2026-10-01", trends(me)),
        ),
    ] {
        let (status, body) = r.get(what, &path, Some(token)).await;
        assert_eq!(status, 404, "{what}: {body}");
    }
    for query in [
        "from=2026-02-30",
        "from=2026-1-05",
        "to=yesterday",
        "from=",
        "from=2026-10-05&to=2026-10-01",
        "from=2000-01-01&to=2026-01-01",
        "tz=Europe/Paris",
    ] {
        let (status, body) = r
            .get(
                "a bad trends query",
                &format!("{}?{query}", trends(me)),
                Some(&c_token),
            )
            .await;
        assert_eq!(status, 422, "{query}: {body}");
    }
    let (status, body) = r
        .get(
            "a stranger's bad date",
            &format!("{}?from=2026-02-30", trends(me)),
            Some(&outsider.access),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // The caseload: consented patients only, the crisis first; empty for a new counselor.
    let (status, caseload) = r.get("the caseload", "/v1/caseload", Some(&c_token)).await;
    assert_eq!(status, 200, "{caseload}");
    let rows = caseload["patients"].as_array().unwrap();
    assert_eq!(rows.len(), 7, "{caseload}");
    assert_eq!(rows[0]["patient_id"], me.to_string(), "{caseload}");
    assert_eq!(rows[0]["priority"], "urgent", "{caseload}");
    assert!(rows[0]["next_session"].is_object(), "{caseload}");
    assert!(
        rows.iter().any(|row| row["priority"].is_null()),
        "{caseload}"
    );
    for row in rows {
        kinds.extend(kinds_of(&row["flags"]));
    }
    let (status, body) = r
        .get(
            "a caseload with a query",
            "/v1/caseload?page=2",
            Some(&c_token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = r
        .get(
            "a new counselor's caseload",
            "/v1/caseload",
            Some(&outsider.access),
        )
        .await;
    assert_eq!(
        (status, body["patients"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{body}"
    );
    for (what, token) in [
        ("an admin's caseload", admin.access.as_str()),
        ("a patient's caseload", pat.session.access.as_str()),
    ] {
        let (status, body) = r.get(what, "/v1/caseload", Some(token)).await;
        assert_eq!(status, 403, "{what}: {body}");
    }

    // Between them the patients raised every documented kind of flag.
    let documented: BTreeSet<String> = spec["components"]["schemas"]["Flag"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variant| {
            let variant = resolve(spec, variant);
            variant["properties"]["kind"]["enum"][0]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds, documented, "flag kinds seen vs documented");

    // The patient reads who looked: trends and the caseload are logged reads.
    let (status, log) = r
        .get(
            "the patient reads the log",
            &format!("/v1/patients/{me}/access-log"),
            Some(&pat.session.access),
        )
        .await;
    assert_eq!(status, 200, "{log}");
    let actions: BTreeSet<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from(["read_trends", "read_caseload"]),
        "{log}"
    );
    r.exchanges
}

/// A required JSON body's shape errors, sent by a caller who may post to `path`: broken JSON
/// and an unknown field (400), a form body (415).
async fn body_shape_errors(r: &mut Recorder<'_>, path: &str, token: &str) {
    for (what, body, status) in [
        (
            "broken JSON",
            Body::Raw("application/json", r#"{"email": "a@b.test", "#.into()),
            400,
        ),
        ("an unknown field", Body::Json(json!({ "nope": 1 })), 400),
        (
            "a form body",
            Body::Raw("text/plain", "email=a@b.test".into()),
            415,
        ),
    ] {
        let (got, answer) = r.send(what, Method::POST, path, Some(token), body).await;
        assert_eq!(got, status, "{what} on {path}: {answer}");
    }
}

/// Schedules: a track defined (every refusal on the way), a patient enrolled twice, an
/// attendance recorded on a generated session, and the IOP hours ledger read by everyone who
/// may and may not.
async fn schedule_story(app: &TestApp) -> Vec<Exchange> {
    let admin = app.admin().await;
    let mut counselor = Phone::new(app.counselor(&admin).await);
    let outsider = app.counselor(&admin).await;
    let patient = app.patient(&counselor.session).await;
    let off_track = app.patient(&outsider).await;
    let hidden = app.patient_without_consent(&counselor.session).await;
    let c_token = counselor.session.access.clone();
    let me = patient.user_id;
    let mut r = Recorder::new(app);

    let good = json!({
        "name": "  Evening IOP ", "time_zone": "America/New_York", "population": "adult",
        "start_date": "2026-03-02", "weeks": 4,
        "schedule": [
            { "from_week": 1, "days": ["fri", "mon", "wed"], "start_time": "18:00",
              "duration_min": 180, "kind": "group" },
            { "from_week": 1, "days": ["sat"], "start_time": "10:00", "duration_min": 60,
              "kind": "individual", "title": "Check-in with your counselor" },
            { "from_week": 3, "days": ["tue", "thu"], "start_time": "18:00",
              "duration_min": 180, "kind": "group", "title": null },
        ]
    });
    let track = r
        .expect(
            201,
            "the counselor defines a track",
            "/v1/tracks",
            Some(&c_token),
            good.clone(),
        )
        .await;
    assert_eq!(track["name"], "Evening IOP", "{track}");
    assert_eq!(track["end_date"], "2026-03-29", "{track}");
    assert_eq!(track["sessions_per_patient"], 12, "{track}");
    let track_id = track["id"].as_str().unwrap().to_string();
    body_shape_errors(&mut r, "/v1/tracks", &c_token).await;
    body_shape_errors(
        &mut r,
        &format!("/v1/tracks/{track_id}/enrollments"),
        &c_token,
    )
    .await;
    let with = |pointer: &str, value: Value| {
        let mut body = good.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        body
    };
    let duplicate = json!({ "from_week": 1, "days": ["mon"], "start_time": "18:00",
                            "duration_min": 60, "kind": "family" });
    let mut twice = good.clone();
    twice["schedule"].as_array_mut().unwrap().push(duplicate);
    let slot_at = |days: Value, at: &str| {
        json!({ "from_week": 1, "days": days, "start_time": at, "duration_min": 60,
                "kind": "group" })
    };
    let mut four_mondays = good.clone();
    for at in ["07:00", "09:00", "12:00"] {
        four_mondays["schedule"]
            .as_array_mut()
            .unwrap()
            .push(slot_at(json!(["mon"]), at));
    }
    let mut eleven_a_week = good.clone();
    eleven_a_week["schedule"]
        .as_array_mut()
        .unwrap()
        .push(slot_at(
            json!(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
            "07:00",
        ));
    let weekdays = json!(["mon", "tue", "wed", "thu", "fri"]);
    let mut too_many = good.clone();
    too_many["weeks"] = json!(26);
    too_many["schedule"] = json!([
        slot_at(weekdays.clone(), "09:00"),
        slot_at(weekdays, "13:00")
    ]);
    for (what, body) in [
        ("a blank name", with("/name", json!(" "))),
        (
            "a zone that is not IANA",
            with("/time_zone", json!("Mars/Olympus_Mons")),
        ),
        (
            "an unknown population",
            with("/population", json!("senior")),
        ),
        (
            "a date that does not exist",
            with("/start_date", json!("2026-02-30")),
        ),
        ("53 weeks", with("/weeks", json!(53))),
        ("no slot", with("/schedule", json!([]))),
        (
            "a slot after the last week",
            with("/schedule/2/from_week", json!(5)),
        ),
        (
            "a day that is not one",
            with("/schedule/0/days", json!(["moon"])),
        ),
        (
            "a time past midnight",
            with("/schedule/0/start_time", json!("24:00")),
        ),
        ("four minutes", with("/schedule/0/duration_min", json!(4))),
        ("an unknown kind", with("/schedule/0/kind", json!("yoga"))),
        ("an empty title", with("/schedule/1/title", json!(""))),
        ("two slots at once", twice),
        (
            "a session before 2001",
            with("/start_date", json!("2000-12-25")),
        ),
        ("four sessions on a Monday", four_mondays),
        ("eleven sessions a week", eleven_a_week),
        ("260 sessions", too_many),
    ] {
        r.expect(422, what, "/v1/tracks", Some(&c_token), body)
            .await;
    }
    for (what, token) in [
        ("an admin defines a track", admin.access.as_str()),
        ("a patient defines a track", patient.access.as_str()),
    ] {
        r.expect(403, what, "/v1/tracks", Some(token), good.clone())
            .await;
    }

    // Reading the track.
    let path = format!("/v1/tracks/{track_id}");
    for (what, token) in [
        ("the counselor reads the track", c_token.as_str()),
        ("another counselor reads it", outsider.access.as_str()),
        ("an admin reads it", admin.access.as_str()),
    ] {
        let (status, body) = r.get(what, &path, Some(token)).await;
        assert_eq!(status, 200, "{what}: {body}");
    }
    let (status, _) = r
        .get("a patient reads the track", &path, Some(&patient.access))
        .await;
    assert_eq!(status, 403);
    for (what, path) in [
        ("no such track", format!("/v1/tracks/{}", Uuid::now_v7())),
        (
            "a track id that is not a UUID",
            "/v1/tracks/evening".to_string(),
        ),
    ] {
        let (status, body) = r.get(what, &path, Some(&c_token)).await;
        assert_eq!(status, 404, "{what}: {body}");
    }

    // Enrolling: new, then again; every refusal.
    let enroll = format!("/v1/tracks/{track_id}/enrollments");
    let body = json!({ "patient_id": me });
    let first = r
        .expect(
            201,
            "the counselor enrolls the patient",
            &enroll,
            Some(&c_token),
            body.clone(),
        )
        .await;
    assert_eq!(first["sessions_created"], 12, "{first}");
    let again = r
        .expect(
            200,
            "the same enrollment again",
            &enroll,
            Some(&c_token),
            body.clone(),
        )
        .await;
    assert_eq!(
        (&again["sessions_created"], &again["sessions_existing"]),
        (&json!(0), &json!(12)),
        "{again}"
    );
    for (what, token, path, body, status) in [
        (
            "an admin enrolls",
            admin.access.as_str(),
            enroll.clone(),
            body.clone(),
            403,
        ),
        (
            "a patient enrolls",
            patient.access.as_str(),
            enroll.clone(),
            body.clone(),
            403,
        ),
        (
            "a counselor off the care team",
            outsider.access.as_str(),
            enroll.clone(),
            body.clone(),
            404,
        ),
        (
            "a patient before consent",
            c_token.as_str(),
            enroll.clone(),
            json!({ "patient_id": hidden.user_id }),
            404,
        ),
        (
            "no such patient",
            c_token.as_str(),
            enroll.clone(),
            json!({ "patient_id": Uuid::now_v7() }),
            404,
        ),
        (
            "no such track",
            c_token.as_str(),
            format!("/v1/tracks/{}/enrollments", Uuid::now_v7()),
            body.clone(),
            404,
        ),
        (
            "a track id that is not a UUID",
            c_token.as_str(),
            "/v1/tracks/evening/enrollments".to_string(),
            body.clone(),
            404,
        ),
    ] {
        r.expect(status, what, &path, Some(token), body).await;
    }
    // A track stored under older limits (52 weeks, rewritten in the database here) is refused
    // whole.
    let old = r
        .expect(
            201,
            "a track to age",
            "/v1/tracks",
            Some(&c_token),
            good.clone(),
        )
        .await;
    let aged = format!(
        "UPDATE tracks SET weeks = 52 WHERE id = '{}'",
        old["id"].as_str().unwrap()
    );
    {
        use diesel::{Connection, RunQueryDsl};
        match backend() {
            Backend::Sqlite => diesel::sql_query(&aged)
                .execute(&mut diesel::SqliteConnection::establish(&app.db.url).unwrap()),
            Backend::Postgres(_) => diesel::sql_query(&aged)
                .execute(&mut diesel::PgConnection::establish(&app.db.url).unwrap()),
        }
        .unwrap();
    }
    r.expect(
        422,
        "a track stored under older limits",
        &format!("/v1/tracks/{}/enrollments", old["id"].as_str().unwrap()),
        Some(&c_token),
        body.clone(),
    )
    .await;

    // The counselor records attendance on the first generated session.
    let session: Uuid = first["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    counselor.write(
        me,
        DocKind::Session,
        session,
        "attendance",
        json!("attended"),
    );
    push_outbox(&mut r, "the counselor records attendance", &mut counselor).await;

    // The ledger.
    let hours = |id: Uuid| format!("/v1/patients/{id}/iop-hours");
    let (status, ledger) = r
        .get(
            "the counselor reads the IOP hours",
            &hours(me),
            Some(&c_token),
        )
        .await;
    assert_eq!(status, 200, "{ledger}");
    assert_eq!(ledger["weeks"].as_array().unwrap().len(), 4, "{ledger}");
    assert_eq!(ledger["weeks"][0]["scheduled_minutes"], 600, "{ledger}");
    assert_eq!(ledger["weeks"][0]["attended_minutes"], 180, "{ledger}");
    for (what, token, query) in [
        (
            "a window",
            c_token.as_str(),
            "?from=2026-03-10&to=2026-03-20",
        ),
        ("only from", c_token.as_str(), "?from=2026-03-16"),
        ("the patient reads their own", patient.access.as_str(), ""),
    ] {
        let (status, body) = r
            .get(what, &format!("{}{query}", hours(me)), Some(token))
            .await;
        assert_eq!(status, 200, "{what}: {body}");
    }
    let (status, body) = r
        .get(
            "a patient on no track",
            &hours(off_track.user_id),
            Some(&outsider.access),
        )
        .await;
    assert_eq!((status, &body["track_id"]), (200, &Value::Null), "{body}");
    for (what, token, path) in [
        (
            "a counselor off the care team",
            outsider.access.as_str(),
            hours(me),
        ),
        ("an admin", admin.access.as_str(), hours(me)),
        ("another patient", off_track.access.as_str(), hours(me)),
        ("before consent", c_token.as_str(), hours(hidden.user_id)),
        ("no such patient", c_token.as_str(), hours(Uuid::now_v7())),
        (
            "an id that is not a UUID",
            c_token.as_str(),
            "/v1/patients/me/iop-hours".into(),
        ),
        (
            "a stranger's backwards range",
            outsider.access.as_str(),
            format!("{}?from=2026-03-20&to=2026-03-10", hours(me)),
        ),
    ] {
        let (status, body) = r.get(what, &path, Some(token)).await;
        assert_eq!(status, 404, "{what}: {body}");
    }
    for query in [
        "from=2026-02-30",
        "to=March",
        "from=1899-12-31",
        "from=2026-03-20&to=2026-03-10",
        "tz=America/New_York",
        "from=2020-01-01&to=2026-03-01",
    ] {
        let (status, body) = r
            .get(
                "a bad ledger query",
                &format!("{}?{query}", hours(me)),
                Some(&c_token),
            )
            .await;
        assert_eq!(status, 422, "{query}: {body}");
    }
    let (status, body) = r
        .get(
            "a stranger's bad date",
            &format!("{}?from=2026-02-30", hours(me)),
            Some(&outsider.access),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // Reading the hours is a logged read.
    let (status, log) = r
        .get(
            "the patient reads the log",
            &format!("/v1/patients/{me}/access-log"),
            Some(&patient.access),
        )
        .await;
    assert_eq!(status, 200, "{log}");
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "read_iop_hours"),
        "{log}"
    );
    r.exchanges
}

#[tokio::test]
async fn real_responses_match_the_documented_schemas() {
    let spec = load_spec();
    let mut exchanges = Vec::new();
    let app = spawn_app().await;
    exchanges.extend(main_story(&app, &spec).await);
    exchanges.extend(sync_story(&app, &spec).await);
    exchanges.extend(consent_story(&app).await);
    exchanges.extend(trends_story(&app, &spec).await);
    exchanges.extend(schedule_story(&app).await);
    drop(app);
    let app = spawn_app_with(&[
        ("TETHER_LOGIN_MAX_FAILURES", "2"),
        ("TETHER_ADDR_MAX_ATTEMPTS", "4"),
        ("TETHER_MAX_BODY_BYTES", "1024"),
        ("TETHER_MAX_PUSH_BYTES", "2048"),
        ("TETHER_MAX_BATCH_OPS", "3"),
    ])
    .await;
    exchanges.extend(limits_story(&app).await);
    drop(app);
    let app = spawn_app_with(&[
        ("TETHER_ENROLLMENT_TTL_SECS", "1"),
        ("TETHER_REFRESH_TTL_SECS", "1"),
    ])
    .await;
    exchanges.extend(expiry_story(&app).await);
    drop(app);
    let app = spawn_app_with(&[("TETHER_SESSION_MAX_AGE_SECS", "1")]).await;
    exchanges.extend(session_age_story(&app, &spec).await);
    drop(app);

    let mut coverage = Coverage::new();
    let problems = check_all(&spec, &exchanges, &mut coverage);
    assert!(
        problems.is_empty(),
        "{} of {} responses disagree with openapi.yaml:\n  {}",
        problems.len(),
        exchanges.len(),
        problems.join("\n  ")
    );

    // Every documented status and error code was seen at least once, except what a healthy
    // server cannot be made to say.
    let mut unseen = Vec::new();
    for (method, path, operation) in operations(&spec) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            let status: u16 = status.parse().unwrap();
            if NOT_PROVOKED.contains(&status) {
                continue;
            }
            let key = (method.clone(), path.clone(), status);
            let Some(seen) = coverage.get(&key) else {
                unseen.push(format!("{method} {path} {status}"));
                continue;
            };
            for code in error_codes(&spec, resolve(&spec, response)) {
                if !seen.contains(&code) {
                    unseen.push(format!("{method} {path} {status} {code}"));
                }
            }
        }
    }
    assert!(
        unseen.is_empty(),
        "documented but never provoked, so never checked:\n  {}",
        unseen.join("\n  ")
    );
    eprintln!(
        "{} responses validated; {} documented (operation, status) pairs covered",
        exchanges.len(),
        coverage.len()
    );
}

// ------------------------------------------------------------------------------------------------
// The request keywords are the server's own bounds: a value one past a keyword is refused with
// the documented 422, and a string at its `maxLength` is taken.

/// A value that breaks `keyword` of `schema`, made from a valid `base` value.
fn breaking(schema: &Value, keyword: &str, base: &Value) -> Option<Value> {
    let n = |k: &str| schema[k].as_u64().map(|n| n as usize);
    let padded = |len: usize| -> Value {
        // An email keeps its shape and grows in its local part.
        let tail = if schema["format"] == "email" {
            "@clinic.test"
        } else {
            ""
        };
        json!(format!("{}{tail}", "x".repeat(len - tail.len())))
    };
    Some(match keyword {
        "maxLength" => padded(n(keyword)? + 1),
        "minLength" => json!("x".repeat(n(keyword)?.checked_sub(1)?)),
        "format" if schema["format"] == "email" => json!("no-at-sign.clinic.test"),
        "maxItems" => json!(vec![base.get(0)?.clone(); n(keyword)? + 1]),
        "minItems" => json!(vec![base.get(0)?.clone(); n(keyword)?.checked_sub(1)?]),
        "uniqueItems" => json!([base.get(0)?.clone(), base.get(0)?.clone()]),
        _ => return None,
    })
}

#[tokio::test]
async fn the_server_refuses_every_request_value_past_a_schema_keyword_and_takes_one_at_it() {
    let spec = load_spec();
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let consents = format!("/v1/patients/{}/consents", patient.user_id);
    let track = json!({
        "name": "Evening IOP", "time_zone": "America/New_York", "population": "adult",
        "start_date": "2026-03-02", "weeks": 4,
        "schedule": [{ "from_week": 1, "days": ["mon"], "start_time": "18:00",
                       "duration_min": 180, "kind": "group", "title": "Group" }]
    });
    let activation = json!({ "code": "7K3M-QX9D-2HBT", "password": "a long enough password",
                             "device_name": "Pixel" });
    let account = || json!({ "email": unique_email("bound"), "display_name": "Sam" });
    // (path, token, a body the server takes, field pointer, schema, the code past a keyword)
    let cases: Vec<(&str, &str, Value, &str, &str, &str)> = vec![
        (
            "/v1/clinicians",
            &admin.access,
            account(),
            "/email",
            "CreateClinicianRequest/properties/email",
            "invalid_email",
        ),
        (
            "/v1/clinicians",
            &admin.access,
            account(),
            "/display_name",
            "CreateClinicianRequest/properties/display_name",
            "invalid_name",
        ),
        (
            "/v1/patients",
            &counselor.access,
            account(),
            "/email",
            "EnrollPatientRequest/properties/email",
            "invalid_email",
        ),
        (
            "/v1/patients",
            &counselor.access,
            account(),
            "/display_name",
            "EnrollPatientRequest/properties/display_name",
            "invalid_name",
        ),
        (
            &consents,
            &patient.access,
            json!({ "grantee": "care_team", "purpose": "treatment" }),
            "/purpose",
            "CreateConsentRequest/properties/purpose",
            "invalid_purpose",
        ),
        (
            "/v1/auth/activate",
            "",
            activation.clone(),
            "/password",
            "ActivateRequest/properties/password",
            "weak_password",
        ),
        (
            "/v1/auth/activate",
            "",
            activation,
            "/device_name",
            "ActivateRequest/properties/device_name",
            "invalid_name",
        ),
        (
            "/v1/auth/login",
            "",
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "device_name": "Pixel" }),
            "/device_name",
            "LoginRequest/properties/device_name",
            "invalid_name",
        ),
        (
            "/v1/tracks",
            &counselor.access,
            track.clone(),
            "/name",
            "TrackRequest/properties/name",
            "invalid_name",
        ),
        (
            "/v1/tracks",
            &counselor.access,
            track.clone(),
            "/time_zone",
            "TrackRequest/properties/time_zone",
            "unknown_time_zone",
        ),
        (
            "/v1/tracks",
            &counselor.access,
            track.clone(),
            "/schedule",
            "TrackRequest/properties/schedule",
            "invalid_schedule",
        ),
        (
            "/v1/tracks",
            &counselor.access,
            track.clone(),
            "/schedule/0/days",
            "TrackSlotRequest/properties/days",
            "invalid_days",
        ),
        (
            "/v1/tracks",
            &counselor.access,
            track,
            "/schedule/0/title",
            "TrackSlotRequest/properties/title",
            "invalid_title",
        ),
    ];
    let mut checked = BTreeSet::new();
    let mut problems = Vec::new();
    for (path, token, base, field, schema, code) in cases {
        let schema = &spec["components"]["schemas"][schema.split('/').next().unwrap()]
            ["properties"][schema.rsplit('/').next().unwrap()];
        let token = (!token.is_empty()).then_some(token);
        for keyword in [
            "maxLength",
            "minLength",
            "format",
            "maxItems",
            "minItems",
            "uniqueItems",
        ] {
            if schema.get(keyword).is_none() {
                continue;
            }
            let Some(bad) = breaking(schema, keyword, base.pointer(field).unwrap()) else {
                continue;
            };
            let mut body = base.clone();
            *body.pointer_mut(field).unwrap() = bad;
            let (status, answer) = status_and_json(app.post(path, token, &body).await).await;
            if status != StatusCode::UNPROCESSABLE_ENTITY || answer["error"]["code"] != code {
                problems.push(format!("{path} {field} past {keyword}: {status} {answer}"));
            }
            checked.insert((field, keyword));
            if keyword == "maxLength" {
                let mut body = base.clone();
                let at = schema["maxLength"].as_u64().unwrap() as usize;
                let tail = if schema["format"] == "email" {
                    format!("-{}@clinic.test", Uuid::new_v4().simple())
                } else {
                    String::new()
                };
                *body.pointer_mut(field).unwrap() =
                    json!(format!("{}{tail}", "x".repeat(at - tail.len())));
                let (status, answer) = status_and_json(app.post(path, token, &body).await).await;
                // Activation judges the body before the code: at the bound it gets as far as
                // the (made-up) code.
                let taken = status.is_success()
                    || (path == "/v1/auth/activate" && status == StatusCode::UNAUTHORIZED);
                if !taken {
                    problems.push(format!(
                        "{path} {field} at maxLength {at}: {status} {answer}"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n  {}", problems.join("\n  "));
    assert!(
        checked.len() >= 20,
        "only {} keywords checked",
        checked.len()
    );
}
