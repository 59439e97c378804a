//! Lightbox's DICOM codec layer: how every data set from outside is read (declared lengths
//! checked before any parse, then the tolerant repairs), attribute helpers, UIDs, the SOP
//! classes Lightbox serves, and encoding.
//!
//! Depends on: the dicom-rs crates only. Used by: every other Lightbox crate.

#![warn(missing_docs)]

pub mod attributes;
pub mod encode;
pub mod lengths;
pub mod sop_classes;
pub mod synthetic;
pub mod tolerant;
pub mod uids;
