//! Tether's HTTP server: accounts, authentication, and (as later work lands) sync, read models
//! and trends. `main.rs` is a thin shell around [`cli::main`]; the test suite starts the real
//! binary.

pub mod access;
pub mod auth;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod crisis;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod repo;
pub mod routes;
pub mod schedule;
pub mod secret;
pub mod secret_input;
pub mod services;
pub mod settings;
pub mod startup;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod trends;
