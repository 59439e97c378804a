//! Lightbox: a RIS/PACS for small imaging practices in one program.
//!
//! This crate is the `lightbox` binary's library: the command line (`src/cli/`), the desktop
//! wiring (`desktop`: the window over the running services) and the demo practice. The lanes
//! live in the workspace's crates (see ARCHITECTURE.md) and are re-exported here under their
//! lane names for the tests and benches; the store is not among them.
//!
//! Depends on: lightbox-services, lightbox-ui, lightbox-domain, lightbox-imaging. Used by:
//! the `lightbox` binary, the integration tests and the benches.

#![warn(missing_docs)]

pub mod demo;
pub mod desktop;
pub mod workstation;

pub use lightbox_domain::demo as demo_accounts;
pub use lightbox_domain::{
    access, administration, changes, clock, documents, events, faults, his, pacs, practice,
    records, ris, settings, site, viewing,
};
pub use lightbox_imaging as imaging;
pub use lightbox_services::archive::import;
pub use lightbox_services::wiring as app;
pub use lightbox_services::{api, archive, connections, dicom, health, hl7};
pub use lightbox_ui as ui;
