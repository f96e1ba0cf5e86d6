//! Empty on purpose: this crate exists for its `Cargo.toml`, which asks for the union of the
//! features the workspace's members enable on shared dependencies (see the comment there).
