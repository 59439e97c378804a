//! Lightbox: a RIS/PACS for small imaging practices in one program.
//!
//! Lanes (see DESIGN.md): `store` holds all SQL; `archive` the DICOM files and their ingest;
//! `pacs` the archive's domain rules; `dicom` the network service; `his`, `ris` and `access`
//! the practice's workflow, users and audit; `imaging` the pixel pipeline; `hl7` the EHR
//! interfaces; `ui` the desktop window;
//! `app` wires the services together for `lightbox` and `lightbox serve`.

#![warn(missing_docs)]

pub mod access;
pub mod administration;
pub mod app;
pub mod archive;
pub mod clock;
pub mod connections;
pub mod demo;
pub mod dicom;
pub mod documents;
pub mod events;
pub mod health;
pub mod his;
pub mod hl7;
pub use lightbox_imaging as imaging;
pub mod import;
pub mod pacs;
pub mod ris;
pub use lightbox_store as store;
pub mod ui;
pub mod viewing;
