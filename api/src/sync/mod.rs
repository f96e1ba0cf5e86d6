//! The server side of the sync protocol: the server is one more sync-core replica whose state
//! lives in the database. Push validates with sync-core and merges in one transaction; pull pages
//! through per-patient change streams; receipts tell each device what the clinic holds.

pub mod cursor;
pub mod pull;
pub mod push;
pub mod read_model;
pub mod receipts;
pub mod server_writes;
