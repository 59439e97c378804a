//! Lightbox: a RIS/PACS for small imaging practices in one program.
//!
//! This crate is the wiring (`app`: data folder, starting the services), the services that
//! run on threads and sockets (`dicom`, the HL7 transport in `hl7`, the archive's ingest and
//! durability syncer, `health`, `connections`), the desktop window (`ui`), the demo and the
//! import. The domain, the store, the codec and the imaging lane are crates of their own
//! (see ARCHITECTURE.md); they are re-exported here under their lane names.

#![warn(missing_docs)]

pub mod demo;
pub mod desktop;

pub use lightbox_domain::demo as demo_accounts;
pub use lightbox_domain::{
    access, administration, changes, clock, documents, events, faults, his, pacs, practice,
    records, ris, settings, site, viewing,
};
pub use lightbox_imaging as imaging;
pub use lightbox_services::archive::import;
pub use lightbox_services::wiring as app;
pub use lightbox_services::{archive, connections, dicom, health, hl7};
pub use lightbox_ui as ui;
