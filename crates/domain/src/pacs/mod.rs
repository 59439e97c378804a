//! The PACS lane's domain rules: reading identifying attributes, deciding what a query
//! means, choosing what a retrieve sends. No sockets and no SQL here.

pub mod admission;
pub use lightbox_codec::{attributes, sop_classes, synthetic};
pub mod coercion;
pub mod commitment;
pub mod presentation;
pub mod query;
