//! Lightbox's services: what runs on threads and sockets. The DICOM listener and requester
//! (`dicom`: DIMSE, SCP, SCU, priors), the HL7 transport (`hl7`: MLLP, listener, sender), the
//! archive's ingest service and durability syncer (`archive`), the supervisor and health
//! records (`health`), connection slots and budgets (`connections`), and the wiring that
//! starts them over a data folder (`wiring`).
//!
//! Depends on: lightbox-domain (every decision is made there), lightbox-store, lightbox-codec,
//! tokio, dicom-ul. Used by: the `lightbox` binary (wiring), which installs them.

#![warn(missing_docs)]

pub mod api;
pub mod archive;
pub mod connections;
pub mod dicom;
pub mod health;
pub mod hl7;
pub mod wiring;
pub mod workstation;

pub use lightbox_domain::{
    access, administration, clock, events, faults, his, pacs, ris, settings, site, viewing,
};
pub use lightbox_imaging as imaging;
// The store stays inside: what runs here opens it from the data folder, nobody receives it.
use lightbox_store as store;
