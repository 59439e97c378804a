//! Who may send HL7 here. MSH-3/MSH-4 are names a sender gives itself, so an inbound message
//! is accepted only from a configured source: matching sending application (and facility,
//! when the source names one), coming from the source's host (when it names one), and
//! allowed the kind of message it sends. A forged ORU from a stranger must never become a
//! signed report, nor a stranger's ORM a patient on the scanner's worklist.

use std::net::IpAddr;

use crate::access::{self, Action, Actor};
use crate::store::Store;
use crate::store::hl7_sources::{Hl7Source, MESSAGE_CLASSES};

/// Setting: may a sender that is not a configured source place orders (ORM/OMI/OMG, never
/// results or merges)? Default off.
pub const ALLOW_UNKNOWN_ORDERS: &str = "hl7.allow_unknown_orders";

/// The kind of an inbound message, as sources are allowed them (None: a type Lightbox does
/// not handle, refused later as such).
pub fn message_class(message_type: &str, trigger_event: &str) -> Option<&'static str> {
    Some(match (message_type, trigger_event) {
        ("ADT", "A40") => "merge",
        ("ADT", _) => "adt",
        ("ORM" | "OMI" | "OMG", _) => "orders",
        ("ORU", _) => "results",
        _ => return None,
    })
}

/// Where a message came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A network connection from this address: checked against the sources.
    Network(std::net::SocketAddr),
    /// A batch file an operator imported (`lightbox hl7 import`): the operator vouches for it.
    File {
        /// Who imported it.
        operator: String,
    },
}

impl Origin {
    /// As recorded with the message and in the audit trail.
    pub fn describe(&self) -> String {
        match self {
            Origin::Network(addr) => addr.to_string(),
            Origin::File { operator } => format!("file imported by {operator}"),
        }
    }
}

/// The verdict on a sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A configured source (its name), or a file vouched for by an operator.
    Known(String),
    /// An unknown sender, let in because it only places orders and the setting allows that.
    UnknownOrdersAllowed,
    /// A configured source sending a kind of message it may not (an order feed sending
    /// results): refused like any action a role may not take.
    NotAllowed {
        /// The source.
        source: String,
        /// What it sent (adt, merge, orders, results).
        class: String,
    },
    /// Refused, with the reason given in the ACK.
    Refused(String),
}

/// Decides whether a message of `class` from (`application`, `facility`) arriving from
/// `origin` is let in.
pub fn admit(
    sources: &[Hl7Source],
    application: &str,
    facility: &str,
    class: Option<&str>,
    origin: &Origin,
    allow_unknown_orders: bool,
    host_matches: impl Fn(&str, IpAddr) -> bool,
) -> Verdict {
    let peer = match origin {
        Origin::File { operator } => return Verdict::Known(format!("file from {operator}")),
        Origin::Network(addr) => addr.ip(),
    };
    let named: Vec<&Hl7Source> = sources
        .iter()
        .filter(|s| {
            s.application.eq_ignore_ascii_case(application.trim())
                && (s.facility.is_empty() || s.facility.eq_ignore_ascii_case(facility.trim()))
        })
        .collect();
    let from_here: Vec<&&Hl7Source> = named
        .iter()
        .filter(|s| s.host.trim().is_empty() || host_matches(&s.host, peer))
        .collect();
    if let Some(source) = from_here.iter().find(|s| class.is_none_or(|c| s.allows(c))) {
        return Verdict::Known(source.name.clone());
    }
    if class == Some("orders") && allow_unknown_orders {
        return Verdict::UnknownOrdersAllowed;
    }
    if let (Some(source), Some(class)) = (from_here.first(), class) {
        return Verdict::NotAllowed {
            source: source.name.clone(),
            class: class.to_string(),
        };
    }
    Verdict::Refused(if let Some(source) = named.first() {
        format!(
            "{application}/{facility} is source {}, which sends from another host, not {peer}",
            source.name
        )
    } else {
        format!("unknown sender {application}/{facility} from {peer}: not a configured HL7 source")
    })
}

/// The permission a kind of message needs, as the roles know them.
pub fn action_of(class: &str) -> crate::access::Action {
    use crate::access::Action;
    match class {
        "merge" => Action::MergePatients,
        "orders" => Action::ManageOrders,
        "results" => Action::Report,
        _ => Action::EditPatient,
    }
}

/// Checks a comma list of message kinds.
pub fn check_messages(messages: &str) -> Result<(), String> {
    match messages
        .split(',')
        .map(str::trim)
        .find(|m| !MESSAGE_CLASSES.contains(m))
    {
        Some(bad) => Err(format!(
            "{bad:?} is not a message kind (adt, merge, orders, results)"
        )),
        None => Ok(()),
    }
}

/// Why a source could not be saved or removed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Only an administrator may (the refusal is audited).
    #[error(transparent)]
    Access(#[from] access::AccessError),
    /// The source as given cannot be used (the text says why).
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Adds or replaces a source (administrators only; audited).
pub fn save_source(store: &Store, actor: &Actor, source: &Hl7Source) -> Result<i64, SourceError> {
    let subject = format!("hl7_source:{}", source.name.trim());
    access::authorise(store, actor, Action::Administer, &subject)?;
    check_messages(&source.messages).map_err(SourceError::Invalid)?;
    let id = store.save_hl7_source(source)?;
    access::audit(
        store,
        actor,
        "hl7_source.save",
        &subject,
        "ok",
        &format!(
            "{}/{} from {} may send {}",
            source.application,
            source.facility,
            if source.host.is_empty() {
                "any host"
            } else {
                &source.host
            },
            source.messages
        ),
    )?;
    Ok(id)
}

/// Removes a source (administrators only; audited).
pub fn remove_source(store: &Store, actor: &Actor, name: &str) -> Result<bool, SourceError> {
    let subject = format!("hl7_source:{name}");
    access::authorise(store, actor, Action::Administer, &subject)?;
    let removed = store.remove_hl7_source(name)?;
    access::audit(
        store,
        actor,
        "hl7_source.remove",
        &subject,
        if removed { "ok" } else { "not found" },
        "",
    )?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_address(host: &str, peer: IpAddr) -> bool {
        host.parse::<IpAddr>().ok() == Some(peer)
    }

    fn from(ip: &str) -> Origin {
        Origin::Network(
            format!("{ip}:40000")
                .parse()
                .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0))),
        )
    }

    #[test]
    fn only_configured_sources_send_and_only_what_they_may() {
        let ehr = Hl7Source {
            name: "EHR".into(),
            application: "EPIC".into(),
            facility: "NORTHCLINIC".into(),
            host: "10.0.0.9".into(),
            messages: "adt,orders".into(),
            ..Hl7Source::default()
        };
        let sources = vec![ehr];
        let admit = |app: &str, fac: &str, class, origin: &Origin, unknown| {
            admit(&sources, app, fac, class, origin, unknown, by_address)
        };
        assert_eq!(
            admit(
                "epic",
                "NorthClinic",
                Some("orders"),
                &from("10.0.0.9"),
                false
            ),
            Verdict::Known("EHR".into())
        );
        // Results and merges are not this source's to send.
        assert!(matches!(
            admit("EPIC", "NORTHCLINIC", Some("results"), &from("10.0.0.9"), false),
            Verdict::NotAllowed { source, class } if source == "EHR" && class == "results"
        ));
        // The right names from the wrong host.
        assert!(matches!(
            admit("EPIC", "NORTHCLINIC", Some("orders"), &from("10.6.6.6"), false),
            Verdict::Refused(r) if r.contains("another host")
        ));
        // A stranger: refused, unless orders from strangers are allowed (orders only).
        assert!(matches!(
            admit("FORGE", "X", Some("orders"), &from("10.6.6.6"), false),
            Verdict::Refused(r) if r.contains("unknown sender")
        ));
        assert_eq!(
            admit("FORGE", "X", Some("orders"), &from("10.6.6.6"), true),
            Verdict::UnknownOrdersAllowed
        );
        assert!(matches!(
            admit("FORGE", "X", Some("results"), &from("10.6.6.6"), true),
            Verdict::Refused(_)
        ));
        // A batch file is vouched for by its operator.
        assert!(matches!(
            admit(
                "FORGE",
                "X",
                Some("results"),
                &Origin::File {
                    operator: "admin".into()
                },
                false
            ),
            Verdict::Known(_)
        ));
        assert_eq!(message_class("ADT", "A40"), Some("merge"));
        assert_eq!(message_class("OMI", "O23"), Some("orders"));
        assert_eq!(message_class("QRY", "A19"), None);
    }
}
