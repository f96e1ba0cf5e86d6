//! The sync protocol over HTTP.

pub mod pull;
pub mod push;
