//! The PACS lane's domain rules: reading identifying attributes, deciding what a query
//! means, choosing what a retrieve sends. No sockets and no SQL here.

pub mod admission;
pub mod attributes;
pub mod coercion;
pub mod commitment;
pub mod presentation;
pub mod query;
pub mod sop_classes;
pub mod synthetic;
