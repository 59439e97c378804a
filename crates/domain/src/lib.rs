//! Lightbox's domain: the practice's rules, synchronous and free of sockets, threads and
//! screens. Lanes: `access` (users, roles, permissions, audit), `his` (patients, merges,
//! insurance), `ris` (orders, scheduling, exam status, worklist, MPPS, reading, reports,
//! billing), `pacs` (query matching, admission of DICOM peers, commitment, presentation
//! states), `archive` (the folder, validation of what arrives, the index decision, sync
//! rounds), `viewing` (hanging protocols, annotations, key images), `documents` (PDFs),
//! `hl7` (message reading, ACKs, inbound processing, outbound builders, sources),
//! `administration` (practice set-up), `settings` (every setting's key and check).
//!
//! Depends on: lightbox-store, lightbox-codec, lightbox-imaging. Used by: lightbox-services,
//! lightbox-ui and the `lightbox` binary (the screens and the command line through the Practice
//! API only).

#![warn(missing_docs)]

pub mod access;
pub mod administration;
pub mod archive;
pub mod changes;
pub mod clock;
pub mod demo;
pub mod documents;
pub mod events;
pub mod faults;
pub mod his;
pub mod hl7;
pub mod pacs;
pub mod practice;
pub mod ris;
pub mod settings;
pub mod site;
pub mod viewing;

pub use lightbox_imaging as imaging;
// The store stays inside: front ends reach the practice through [`practice::Practice`].
use lightbox_store as store;

pub use practice::{Practice, PracticeError};

/// The records the Practice API hands out and takes (patients, orders, reports, nodes …), as
/// the store defines them; the store itself is not among them.
pub mod records {
    pub use lightbox_store::StoreError;
    pub use lightbox_store::changes::StoredChange;
    pub use lightbox_store::{
        access, administration, health, his, hl7, hl7_sources, index, nodes, reports, ris, viewing,
        workstations,
    };
}
