//! The HL7 transport: MLLP framing, the listener and the outbound sender. The messages
//! themselves (reading, ACKs, inbound processing, outbound builders, sources) are the domain's
//! `hl7` lane, re-exported here.

pub use lightbox_domain::hl7::*;

pub mod listener;
pub mod mllp;
pub mod sender;
