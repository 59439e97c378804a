//! The archive's services: the ingest service (validation on the caller's thread, one index
//! writer thread with group commit) and the durability syncer. The folder and the rules are
//! the domain's `archive` lane, re-exported here.

pub use lightbox_domain::archive::*;

pub mod durability;
pub mod ingest;
