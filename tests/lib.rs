//! Black-box tests for Tether live in `tests/`; this library is intentionally empty.
