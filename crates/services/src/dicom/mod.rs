//! The DICOM network service: DIMSE messages over dicom-ul associations, the listener
//! (SCP) and the requesting side (SCU). Domain decisions are made in `pacs` and `archive`;
//! this folder only speaks the protocol.

pub mod dimse;
pub use lightbox_codec::{lengths, tolerant};
pub mod priors;
pub mod scp;
pub mod scu;
pub mod status;
