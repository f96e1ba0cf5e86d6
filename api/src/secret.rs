//! Values that must never reach a log line: passwords, tokens, signing keys, patient text.
//!
//! `Secret<T>` prints `[redacted]` through both `Debug` and `Display`, so a stray `?value` in a
//! tracing macro or an error message cannot leak what it wraps. The value is reached only through
//! [`Secret::expose`], which makes every place that handles the raw value easy to find.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// A value that is redacted whenever it is formatted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The raw value; call it only where the value is actually used.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn a_secret_is_redacted_in_debug_and_display() {
        let secret = Secret::new("hunter2-correct-horse".to_string());
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(secret.expose(), "hunter2-correct-horse");
    }
}
