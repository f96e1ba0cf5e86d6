//! Business rules that more than one front end applies: the JSON API under `routes/` and the
//! HTML dashboard both call these, so a rule is written once. A service reads and writes through
//! `repo/` and knows nothing of HTTP.

pub mod caseload;
pub mod crisis;
pub mod iop_hours;
pub mod tracks;
