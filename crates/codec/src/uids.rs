//! UIDs Lightbox makes, and the implementation it names itself as in every file meta group.

/// Our implementation class UID, written in every file meta group we create.
pub const IMPLEMENTATION_CLASS_UID: &str = "1.2.826.0.1.3680043.10.1431.1";
/// Our implementation version name.
pub const IMPLEMENTATION_VERSION: &str = "LIGHTBOX_010";

/// A new UID under the 2.25 (UUID-derived) root: no registered root needed, never clashes.
pub fn new_uid() -> String {
    format!("2.25.{}", rand::random::<u128>())
}
