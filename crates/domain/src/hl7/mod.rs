//! The HL7 v2 lane's messages (the MLLP transport lives with the services): inbound messages
//! from the referring EHRs, billing and dictation systems become domain calls (HIS registration, RIS orders, dictated
//! reports); domain events (reports signed, exam status, charges, registrations) go back out
//! through a persistent queue per destination.

pub mod ack;
pub mod batch;
pub mod codes;
pub mod fields;
pub mod inbound;
pub mod inbound_orders;
pub mod message;
pub mod outbound;
pub mod sources;
