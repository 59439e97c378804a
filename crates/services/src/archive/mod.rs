//! The archive's services: the ingest service (validation on the caller's thread, one index
//! writer thread with group commit), the durability syncer, and the importer of files,
//! folders and DICOMDIRs (which feeds the ingest like a C-STORE). The folder and the rules are
//! the domain's `archive` lane, re-exported here.

pub use lightbox_domain::archive::*;

pub mod durability;
pub mod import;
pub mod ingest;
