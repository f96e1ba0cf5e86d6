//! Tether's pure merge engine (placeholder while the crate is built).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
