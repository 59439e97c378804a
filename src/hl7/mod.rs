//! The HL7 v2 lane: MLLP transport to and from the referring EHRs. Messages become domain calls
//! (HIS registration, RIS orders) and results go back out; this first part is the framing.

pub mod ack;
pub mod inbound;
pub mod listener;
pub mod message;
pub mod mllp;
