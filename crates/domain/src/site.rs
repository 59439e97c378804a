//! The practice's identity and how it is reached: its name and letterhead, its DICOM AE title
//! and ports, the address the listeners bind, the desktop's lock and theme, the assigning
//! authority of its MRNs. Keys of the settings every lane reads; the checks live in
//! [`crate::settings`].

/// Setting: the practice's name (window title, report header).
pub const PRACTICE_NAME_SETTING: &str = "practice.name";
/// Setting: the practice's address, printed under its name on reports and letters.
pub const PRACTICE_ADDRESS_SETTING: &str = "practice.address";
/// Setting: the practice's phone number, printed on reports and preparation sheets.
pub const PRACTICE_PHONE_SETTING: &str = "practice.phone";
/// Setting: our AE title.
pub const AE_TITLE_SETTING: &str = "dicom.ae_title";
/// Default AE title.
pub const DEFAULT_AE_TITLE: &str = "LIGHTBOX";
/// Setting: our DICOM port.
pub const DICOM_PORT_SETTING: &str = "dicom.port";
/// Default DICOM port.
pub const DEFAULT_DICOM_PORT: u16 = 11112;
/// Setting: the HL7 MLLP port `lightbox serve` listens on (default 2575).
pub const HL7_PORT_SETTING: &str = "hl7.port";
/// The standard MLLP port.
pub const DEFAULT_HL7_PORT: u16 = 2575;
/// Setting: the HTTPS port of the workstations' API. `lightbox serve` listens on it (default
/// [`DEFAULT_API_PORT`]); the desktop of a one-PC practice runs the API only when it is set
/// (not 0): a single PC needs no network API until a second PC joins.
pub const API_PORT_SETTING: &str = "api.port";
/// Setting: most connections the workstations' API holds open at once.
pub const API_MAX_CONNECTIONS_SETTING: &str = "api.max_connections";
/// The API's default port on a practice server.
pub const DEFAULT_API_PORT: u16 = 8443;
/// Setting: the address the DICOM and HL7 listeners bind (default all interfaces: the
/// scanners and the EHR must reach them; a practice may name one network card).
pub const BIND_ADDRESS_SETTING: &str = "network.bind_address";
/// Setting: minutes without input before the desktop locks (0 = never).
pub const LOCK_AFTER_SETTING: &str = "desktop.lock_after_minutes";
/// Default minutes before the desktop locks: a shared front-desk PC should not stay open.
pub const DEFAULT_LOCK_AFTER_MINUTES: u64 = 15;
/// Setting: `light` or `dark` theme for the desktop.
pub const THEME_SETTING: &str = "desktop.theme";
/// Setting: the assigning authority (Issuer of Patient ID) of the practice MRN, sent to the
/// scanners with the worklist.
pub const MRN_ISSUER_SETTING: &str = "his.mrn_issuer";
