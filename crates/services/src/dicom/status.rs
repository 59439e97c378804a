//! DIMSE status codes (PS3.7 Annex C) used by Lightbox, by name.

/// Success.
pub const SUCCESS: u16 = 0x0000;
/// Pending: a C-FIND match or C-MOVE/C-GET progress.
pub const PENDING: u16 = 0xFF00;
/// Cancelled by the requester.
pub const CANCELLED: u16 = 0xFE00;
/// C-STORE: out of resources (disk full).
pub const STORE_OUT_OF_RESOURCES: u16 = 0xA700;
/// C-STORE: the data set does not match the SOP class.
pub const STORE_DATASET_MISMATCH: u16 = 0xA900;
/// C-STORE: cannot understand.
pub const STORE_CANNOT_UNDERSTAND: u16 = 0xC000;
/// C-STORE warning: stored with coercion / a duplicate with different content was kept out.
pub const STORE_WARNING_COERCION: u16 = 0xB000;
/// C-FIND: out of resources.
pub const FIND_OUT_OF_RESOURCES: u16 = 0xA700;
/// C-FIND/C-MOVE/C-GET: identifier does not match SOP class.
pub const IDENTIFIER_MISMATCH: u16 = 0xA900;
/// C-FIND: unable to process.
pub const UNABLE_TO_PROCESS: u16 = 0xC000;
/// C-MOVE: destination unknown.
pub const MOVE_DESTINATION_UNKNOWN: u16 = 0xA801;
/// C-MOVE/C-GET: unable to perform sub-operations.
pub const SUBOPERATIONS_FAILED: u16 = 0xA702;
/// C-MOVE/C-GET: finished with failed or warning sub-operations.
pub const SUBOPERATIONS_WARNING: u16 = 0xB000;
/// SOP class not supported.
pub const SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
/// Not authorised (calling AE may not use this service).
pub const NOT_AUTHORIZED: u16 = 0x0124;
/// N-*: processing failure.
pub const PROCESSING_FAILURE: u16 = 0x0110;
/// N-*: no such SOP instance.
pub const NO_SUCH_OBJECT_INSTANCE: u16 = 0x0112;
/// N-*: unrecognised operation.
pub const UNRECOGNIZED_OPERATION: u16 = 0x0211;
/// N-*: invalid argument value.
pub const INVALID_ARGUMENT_VALUE: u16 = 0x0115;
/// N-*: missing attribute.
pub const MISSING_ATTRIBUTE: u16 = 0x0120;

/// Whether a status means the operation failed (not success, pending or warning).
pub fn is_failure(status: u16) -> bool {
    !(status == SUCCESS
        || status == PENDING
        || status == 0xFF01
        || status == CANCELLED
        || (status & 0xF000) == 0xB000
        || status == 0x0001
        || status == 0x0107
        || status == 0x0116)
}
