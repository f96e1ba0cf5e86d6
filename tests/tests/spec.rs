//! Reading `openapi.yaml`, for the tests that hold the contract against the code.

use serde_json::Value;
use std::collections::BTreeSet;

/// The contract, parsed.
pub fn load_spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

/// Follows `$ref`s (`#/components/...`) until a value that is not a reference.
pub fn resolve<'a>(spec: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local references are supported: {reference}"));
        value = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling reference {reference}"));
    }
    value
}

/// The codes `ErrorDetail.code`'s description lists as in use.
pub fn listed_in_error_detail(spec: &Value) -> BTreeSet<String> {
    spec["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["description"]
        .as_str()
        .unwrap()
        .split_once("The codes in use:")
        .expect("ErrorDetail.code lists the codes in use")
        .1
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}
