//! Every practice setting in one table: its key, its default, what it means and the check its
//! value must pass before it is stored (so a typo cannot stop the services). The keys a lane
//! reads are defined in that lane (`site`, `ris`, `viewing`, `pacs::admission`,
//! `hl7::sources`); the network services' own limits are defined here. Lanes never import this
//! module: it imports them.

use std::net::IpAddr;

use crate::site::*;

/// Setting: seconds an association may stay silent before it is aborted.
pub const IDLE_TIMEOUT_SETTING: &str = "dicom.idle_timeout_secs";
/// Setting: largest PDU we accept, in bytes.
pub const MAX_PDU_SETTING: &str = "dicom.max_pdu_bytes";
/// Setting: largest single instance we accept, in MiB.
pub const MAX_INSTANCE_SETTING: &str = "dicom.max_instance_mib";
/// Setting: most answers one C-FIND returns.
pub const FIND_LIMIT_SETTING: &str = "dicom.find_limit";
/// Setting: most DICOM associations at once (default 64).
pub const MAX_ASSOCIATIONS_SETTING: &str = "dicom.max_associations";
/// Setting: an HL7 connection silent this many seconds is closed (default 600).
pub const HL7_IDLE_TIMEOUT_SETTING: &str = "hl7.idle_timeout_secs";
/// Setting: the largest inbound HL7 message in MiB (default 16).
pub const HL7_MAX_MESSAGE_SETTING: &str = "hl7.max_message_mib";
/// Setting: most HL7 connections at once (default 64).
pub const HL7_MAX_CONNECTIONS_SETTING: &str = "hl7.max_connections";
/// Setting: most MiB of unfinished HL7 messages held for all connections (default 64).
pub const HL7_MAX_BUFFERED_SETTING: &str = "hl7.max_buffered_mib";
/// Setting: the first retry delay of an outbound HL7 message, in milliseconds.
pub const HL7_RETRY_INITIAL_SETTING: &str = "hl7.retry_initial_ms";
/// Setting: the longest retry delay in seconds.
pub const HL7_RETRY_MAX_SETTING: &str = "hl7.retry_max_secs";

/// One setting: key, default (empty: none), meaning, and the check of a new value.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The key as stored and as `lightbox settings set` takes it.
    pub key: &'static str,
    /// The value used while none is stored (as text; empty when there is none).
    pub default: &'static str,
    /// What it means, for the settings screens and `--help`.
    pub description: &'static str,
    /// Refuses a value that cannot work, saying what is expected.
    pub check: fn(&str) -> Result<(), String>,
}

fn whole(value: &str, range: std::ops::RangeInclusive<u64>, unit: &str) -> Result<(), String> {
    let n: u64 = value
        .trim()
        .parse()
        .map_err(|_| format!("a whole number of {unit} is expected"))?;
    if range.contains(&n) {
        Ok(())
    } else {
        Err(format!(
            "between {} and {} {unit} is expected",
            range.start(),
            range.end()
        ))
    }
}

fn flag(value: &str) -> Result<(), String> {
    if matches!(
        value,
        "true" | "false" | "on" | "off" | "yes" | "no" | "1" | "0"
    ) {
        Ok(())
    } else {
        Err("on or off is expected".into())
    }
}

fn port(value: &str) -> Result<(), String> {
    value
        .trim()
        .parse::<u16>()
        .map(|_| ())
        .map_err(|_| "a port is a number from 0 to 65535".into())
}

/// An AE title: 1 to 16 ASCII characters without backslash.
pub fn check_ae_title(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 16 || value.contains('\\') || !value.is_ascii() {
        Err("an AE title is 1 to 16 ASCII characters without backslash".into())
    } else {
        Ok(())
    }
}

fn text_up_to(value: &str, most: usize, nonempty: bool) -> Result<(), String> {
    if nonempty && value.trim().is_empty() {
        return Err("a value is needed".into());
    }
    if value.chars().count() > most {
        return Err(format!("at most {most} characters"));
    }
    Ok(())
}

/// The table. Every key `lightbox settings set` and the settings screens accept is here.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: PRACTICE_NAME_SETTING,
        default: "",
        description: "the practice's name (window title, report header)",
        check: |v| text_up_to(v, 120, true),
    },
    Setting {
        key: PRACTICE_ADDRESS_SETTING,
        default: "",
        description: "the practice's address on reports and letters",
        check: |v| text_up_to(v, 200, false),
    },
    Setting {
        key: PRACTICE_PHONE_SETTING,
        default: "",
        description: "the practice's phone number on reports and preparation sheets",
        check: |v| text_up_to(v, 200, false),
    },
    Setting {
        key: AE_TITLE_SETTING,
        default: DEFAULT_AE_TITLE,
        description: "our DICOM AE title",
        check: check_ae_title,
    },
    Setting {
        key: DICOM_PORT_SETTING,
        default: "11112",
        description: "the DICOM port",
        check: port,
    },
    Setting {
        key: HL7_PORT_SETTING,
        default: "2575",
        description: "the HL7 MLLP port",
        check: port,
    },
    Setting {
        key: API_PORT_SETTING,
        default: "",
        description: "the workstations' HTTPS API port (desktop: empty or 0 = off)",
        check: |v| {
            if v.trim().is_empty() || v.trim() == "0" {
                Ok(())
            } else {
                port(v)
            }
        },
    },
    Setting {
        key: API_MAX_CONNECTIONS_SETTING,
        default: "256",
        description: "most connections the workstations' API holds at once",
        check: |v| match v.trim().parse::<usize>() {
            Ok(n) if (1..=100_000).contains(&n) => Ok(()),
            _ => Err("a number from 1 to 100000".into()),
        },
    },
    Setting {
        key: BIND_ADDRESS_SETTING,
        default: "0.0.0.0",
        description: "the address both listeners bind",
        check: |v| {
            v.trim()
                .parse::<IpAddr>()
                .map(|_| ())
                .map_err(|_| "an IP address such as 0.0.0.0 or 192.168.1.10".into())
        },
    },
    Setting {
        key: IDLE_TIMEOUT_SETTING,
        default: "60",
        description: "seconds an association may stay silent",
        check: |v| whole(v, 1..=86_400, "seconds"),
    },
    Setting {
        key: MAX_PDU_SETTING,
        default: "262144",
        description: "the largest PDU we accept, in bytes",
        check: |v| whole(v, 4096..=16_777_216, "bytes"),
    },
    Setting {
        key: MAX_INSTANCE_SETTING,
        default: "2048",
        description: "the largest single instance we accept, in MiB",
        check: |v| whole(v, 1..=1_048_576, "MiB"),
    },
    Setting {
        key: FIND_LIMIT_SETTING,
        default: "10000",
        description: "most answers one C-FIND returns",
        check: |v| whole(v, 1..=10_000_000, "answers"),
    },
    Setting {
        key: MAX_ASSOCIATIONS_SETTING,
        default: "64",
        description: "most DICOM associations at once",
        check: |v| whole(v, 1..=10_000, "associations"),
    },
    Setting {
        key: crate::pacs::admission::ALLOW_UNKNOWN_STORE,
        default: "on",
        description: "may an AE that is not a configured node send images",
        check: flag,
    },
    Setting {
        key: crate::pacs::admission::ALLOW_UNKNOWN_QUERY,
        default: "off",
        description: "may an unknown AE query and retrieve (and ask for the worklist)",
        check: flag,
    },
    Setting {
        key: crate::pacs::admission::ALLOW_UNKNOWN_MPPS,
        default: "off",
        description: "may an unknown AE report performed procedure steps",
        check: flag,
    },
    Setting {
        key: crate::pacs::admission::ALLOW_UNKNOWN_COMMITMENT,
        default: "off",
        description: "may an unknown AE ask for storage commitment",
        check: flag,
    },
    Setting {
        key: HL7_IDLE_TIMEOUT_SETTING,
        default: "600",
        description: "seconds an HL7 connection may stay silent",
        check: |v| whole(v, 1..=86_400, "seconds"),
    },
    Setting {
        key: HL7_MAX_MESSAGE_SETTING,
        default: "16",
        description: "the largest inbound HL7 message, in MiB",
        check: |v| whole(v, 1..=256, "MiB"),
    },
    Setting {
        key: HL7_MAX_CONNECTIONS_SETTING,
        default: "64",
        description: "most HL7 connections at once",
        check: |v| whole(v, 1..=10_000, "connections"),
    },
    Setting {
        key: HL7_MAX_BUFFERED_SETTING,
        default: "64",
        description: "most MiB of unfinished HL7 messages held for all connections",
        check: |v| whole(v, 1..=4096, "MiB"),
    },
    Setting {
        key: HL7_RETRY_INITIAL_SETTING,
        default: "1000",
        description: "the first retry delay of an outbound HL7 message, in milliseconds",
        check: |v| whole(v, 10..=600_000, "milliseconds"),
    },
    Setting {
        key: HL7_RETRY_MAX_SETTING,
        default: "300",
        description: "the longest retry delay of an outbound HL7 message, in seconds",
        check: |v| whole(v, 1..=86_400, "seconds"),
    },
    Setting {
        key: crate::hl7::sources::ALLOW_UNKNOWN_ORDERS,
        default: "off",
        description: "may a sender that is not a configured HL7 source place orders",
        check: flag,
    },
    Setting {
        key: crate::ris::WALK_IN_MODALITIES,
        default: "CR,DX",
        description: "modalities whose orders go straight onto today's worklist",
        check: |v| {
            let ok = v
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .all(|m| {
                    m.len() <= 16
                        && m.chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                });
            if ok {
                Ok(())
            } else {
                Err("a list of modality codes such as CR,DX".into())
            }
        },
    },
    Setting {
        key: MRN_ISSUER_SETTING,
        default: "",
        description: "the assigning authority of the practice's MRNs",
        check: |v| {
            if v.trim().is_empty() || v.len() > 64 || v.contains('\\') {
                Err("the practice's assigning authority name, 1 to 64 characters".into())
            } else {
                Ok(())
            }
        },
    },
    Setting {
        key: LOCK_AFTER_SETTING,
        default: "15",
        description: "minutes without input before the desktop locks (0 = never)",
        check: |v| whole(v, 0..=480, "minutes (0 = never)"),
    },
    Setting {
        key: crate::archive::disk_space::LOW_DISK_WARNING_SETTING,
        default: "5",
        description: "the status bar warns when less than this many GiB are free on the archive's disk (0 = never)",
        check: |v| whole(v, 0..=1_000_000, "GiB (0 = never)"),
    },
    Setting {
        key: THEME_SETTING,
        default: "light",
        description: "the desktop's theme",
        check: |v| {
            if matches!(v, "light" | "dark") {
                Ok(())
            } else {
                Err("light or dark".into())
            }
        },
    },
    Setting {
        key: crate::viewing::PRIOR_NODES_SETTING,
        default: "",
        description: "DICOM nodes asked for priors (comma-separated names)",
        check: |v| {
            if v.len() > 512 || v.contains(['\\', '\n']) {
                Err("a comma-separated list of DICOM node names".into())
            } else {
                Ok(())
            }
        },
    },
    Setting {
        key: crate::viewing::CACHE_SETTING,
        default: "2048",
        description: "the viewer's image memory in MiB, shared by its viewports",
        check: |v| {
            crate::viewing::parse_cache_mib(v)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    },
    Setting {
        key: crate::viewing::WORKSTATION_CACHE_SETTING,
        default: "4096",
        description: "each workstation's image cache on its disk, in MiB",
        check: |v| match v.trim().parse::<u64>() {
            Ok(mib) if crate::viewing::WORKSTATION_CACHE_MIB_RANGE.contains(&mib) => Ok(()),
            _ => Err(format!(
                "a whole number of MiB between {} and {}",
                crate::viewing::WORKSTATION_CACHE_MIB_RANGE.start(),
                crate::viewing::WORKSTATION_CACHE_MIB_RANGE.end()
            )),
        },
    },
    Setting {
        key: crate::viewing::overlay::OVERLAY_SETTING,
        default: "",
        description: "the corner overlay's fields",
        check: crate::viewing::overlay::check_fields,
    },
    Setting {
        key: crate::viewing::presets::WINDOW_PRESETS_SETTING,
        default: "",
        description: "window presets per modality (JSON)",
        check: |v| crate::viewing::presets::parse_presets(v).map(|_| ()),
    },
];

/// The setting called `key`.
pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// Checks a value for `key`; the error names the key and says what is expected.
pub fn validate(key: &str, value: &str) -> Result<(), String> {
    let setting = setting(key).ok_or_else(|| format!("unknown setting {key:?}"))?;
    (setting.check)(value).map_err(|why| format!("{key}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_listed_once_and_its_default_passes_its_own_check() {
        let mut keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "a key is listed twice");
        for s in SETTINGS {
            if !s.default.is_empty() {
                assert!((s.check)(s.default).is_ok(), "{}: {}", s.key, s.default);
            }
        }
        assert!(validate("dicom.port", "70000").is_err());
        assert!(validate("no.such", "1").is_err());
        assert!(validate("dicom.allow_unknown_mpps", "on").is_ok());
    }
}
