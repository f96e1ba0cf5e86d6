//! The error codes in the code against the error codes in `openapi.yaml`.
//!
//! Every code the API can answer is an `ErrorCode`, and each says its status
//! (`ErrorCode::status`), which is the status every answer carrying it has. So the contract is
//! honest when: each code documented under a response of status S is an `ErrorCode` whose status
//! is S; each code a handler can answer is documented under some response (and so, by the
//! `openapi` tests, in `ErrorDetail.code`'s list and provoked by their story); each code only
//! the JSON fallback gives is named where the overview describes that fallback; and a code that
//! never reaches the wire is documented nowhere.

use crate::spec::{listed_in_error_detail, load_spec, resolve};
use api::error::{ErrorCode, Reach};
use serde_json::Value;
use std::collections::BTreeMap;

const OPERATION_KEYS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn code_named(wire: &str) -> Option<ErrorCode> {
    ErrorCode::ALL.iter().copied().find(|c| c.as_str() == wire)
}

/// `code → [(where, status)]` for every `x-error-codes` entry under an operation's response.
fn documented(spec: &Value) -> BTreeMap<String, Vec<(String, u16)>> {
    let mut out: BTreeMap<String, Vec<(String, u16)>> = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !OPERATION_KEYS.contains(&method.as_str()) {
                continue;
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                let Ok(status) = status.parse::<u16>() else {
                    continue;
                };
                let codes = resolve(spec, response)["x-error-codes"].as_array();
                for code in codes.into_iter().flatten() {
                    let code = code.as_str().unwrap().to_string();
                    let at = format!("{} {path} {status}", method.to_uppercase());
                    out.entry(code).or_default().push((at, status));
                }
            }
        }
    }
    out
}

#[test]
fn every_documented_code_is_an_error_code_answered_with_the_status_it_is_documented_under() {
    let spec = load_spec();
    let mut problems = Vec::new();
    for (wire, places) in documented(&spec) {
        let Some(code) = code_named(&wire) else {
            problems.push(format!(
                "`{wire}` is documented but is no ErrorCode: {places:?}"
            ));
            continue;
        };
        if code.reach() == Reach::NotOnTheWire {
            problems.push(format!("`{wire}` never reaches the wire but is documented"));
        }
        for (at, status) in places {
            let answered = code.status().map(|s| s.as_u16());
            if answered != Some(status) {
                problems.push(format!(
                    "{at}: `{wire}` is answered with {answered:?}, not {status}"
                ));
            }
        }
    }
    for wire in listed_in_error_detail(&spec) {
        if code_named(&wire).is_none_or(|c| c.reach() == Reach::NotOnTheWire) {
            problems.push(format!(
                "ErrorDetail.code lists `{wire}`, which the API never answers"
            ));
        }
    }
    assert!(problems.is_empty(), "\n  {}", problems.join("\n  "));
}

#[test]
fn every_error_code_the_api_answers_is_documented_where_it_can_be_seen() {
    let spec = load_spec();
    let documented = documented(&spec);
    let listed = listed_in_error_detail(&spec);
    let overview = spec["info"]["description"].as_str().unwrap();
    let mut problems = Vec::new();
    for code in ErrorCode::ALL {
        let wire = code.as_str();
        let quoted = format!("`{wire}`");
        match code.reach() {
            Reach::Answered => {
                if !documented.contains_key(wire) {
                    problems.push(format!("`{wire}` is under no response's x-error-codes"));
                }
                if !listed.contains(wire) {
                    problems.push(format!("`{wire}` is not in ErrorDetail.code's list"));
                }
            }
            Reach::Fallback => {
                if !overview.contains(&quoted) {
                    problems.push(format!(
                        "the fallback's `{wire}` is not named in the overview's Errors section"
                    ));
                }
            }
            Reach::NotOnTheWire => {
                if documented.contains_key(wire) || listed.contains(wire) {
                    problems.push(format!("`{wire}` never reaches the wire but is documented"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n  {}", problems.join("\n  "));
}
