//! Who may do what over DICOM. A calling AE title is only a name the caller gives itself, so a
//! configured node is recognised by its AE title *and*, when the node has a host and the check
//! is on, by the address the association comes from. Anyone else is an unknown AE, allowed only
//! what the practice's settings allow unknown AEs.

use std::net::IpAddr;

use crate::store::nodes::DicomNode;

/// Setting: may an AE that is not a configured node send images (C-STORE)? Default on: a new
/// scanner should not lose its images because nobody configured it yet (they wait in
/// reconciliation if they match no order).
pub const ALLOW_UNKNOWN_STORE: &str = "dicom.allow_unknown_store";
/// Setting: may an unknown AE query or retrieve (C-FIND, C-MOVE, C-GET, Modality Worklist)?
/// Default off: patient data leaves only to known nodes.
pub const ALLOW_UNKNOWN_QUERY: &str = "dicom.allow_unknown_query";
/// Setting: may an unknown AE report performed procedure steps (MPPS)? Default off: MPPS
/// changes an exam's status.
pub const ALLOW_UNKNOWN_MPPS: &str = "dicom.allow_unknown_mpps";
/// Setting: may an unknown AE ask for Storage Commitment? Default off.
pub const ALLOW_UNKNOWN_COMMITMENT: &str = "dicom.allow_unknown_commitment";

/// What the practice allows AEs it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownAePolicy {
    /// C-STORE.
    pub store: bool,
    /// C-FIND, C-MOVE, C-GET, Modality Worklist.
    pub query: bool,
    /// MPPS.
    pub mpps: bool,
    /// Storage Commitment.
    pub commitment: bool,
}

impl Default for UnknownAePolicy {
    fn default() -> Self {
        UnknownAePolicy {
            store: true,
            query: false,
            mpps: false,
            commitment: false,
        }
    }
}

/// What one association may do, decided when it opens.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Admission {
    /// The configured node it is, if it is one.
    pub node: Option<String>,
    /// The AE title is a configured node's, but the call comes from another host: it is
    /// treated as unknown (and the attempt is logged and audited).
    pub impostor_of: Option<String>,
    /// C-STORE.
    pub store: bool,
    /// C-FIND, C-MOVE, C-GET at patient/study/series/image level.
    pub query: bool,
    /// Modality Worklist C-FIND.
    pub worklist: bool,
    /// MPPS N-CREATE / N-SET.
    pub mpps: bool,
    /// Storage Commitment N-ACTION.
    pub commitment: bool,
}

impl Admission {
    /// Whether it may do anything beyond C-ECHO.
    pub fn may_do_anything(&self) -> bool {
        self.store || self.query || self.worklist || self.mpps || self.commitment
    }
}

/// Decides what `calling_ae` calling from `peer` may do. `host_matches` tells whether a
/// configured host is the peer's address (a resolver in production, a table in tests).
pub fn admit(
    nodes: &[DicomNode],
    calling_ae: &str,
    peer: IpAddr,
    unknown: UnknownAePolicy,
    host_matches: impl Fn(&str, IpAddr) -> bool,
) -> Admission {
    let calling_ae = calling_ae.trim();
    let same_title: Vec<&DicomNode> = nodes
        .iter()
        .filter(|n| n.ae_title.trim() == calling_ae)
        .collect();
    let from_here = same_title
        .iter()
        .find(|n| !n.check_host || n.host.trim().is_empty() || host_matches(&n.host, peer));
    match from_here {
        Some(node) => Admission {
            node: Some(node.name.clone()),
            impostor_of: None,
            store: node.allows("store"),
            query: node.allows("query"),
            worklist: node.allows("worklist"),
            mpps: node.allows("worklist"),
            commitment: node.allows("store"),
        },
        None => Admission {
            node: None,
            impostor_of: same_title.first().map(|n| n.name.clone()),
            store: unknown.store,
            query: unknown.query,
            worklist: unknown.query,
            mpps: unknown.mpps,
            commitment: unknown.commitment,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn by_address(host: &str, peer: IpAddr) -> bool {
        host.parse::<IpAddr>().ok() == Some(peer)
    }

    #[test]
    fn a_known_title_from_another_host_is_a_stranger() {
        let mut ct = DicomNode::new("CT", "CT1", "10.0.0.5", 104);
        ct.services = "store,worklist".into();
        let nodes = vec![ct];
        let policy = UnknownAePolicy::default();
        let real = admit(&nodes, "CT1", ip("10.0.0.5"), policy, by_address);
        assert_eq!(real.node.as_deref(), Some("CT"));
        assert!(real.store && real.worklist && real.mpps && real.commitment && !real.query);
        let fake = admit(&nodes, "CT1 ", ip("10.0.0.66"), policy, by_address);
        assert_eq!(fake.node, None);
        assert_eq!(fake.impostor_of.as_deref(), Some("CT"));
        assert!(fake.store && !fake.query && !fake.worklist && !fake.mpps && !fake.commitment);
        // With the host check off, or no host, the title is enough.
        let mut open = nodes.clone();
        open[0].check_host = false;
        assert!(admit(&open, "CT1", ip("10.0.0.66"), policy, by_address).worklist);
        open[0].host.clear();
        open[0].check_host = true;
        assert!(admit(&open, "CT1", ip("10.0.0.66"), policy, by_address).worklist);
    }

    #[test]
    fn unknown_aes_get_what_the_settings_allow_each_service() {
        let closed = UnknownAePolicy {
            store: false,
            ..UnknownAePolicy::default()
        };
        assert!(!admit(&[], "X", ip("10.0.0.1"), closed, by_address).may_do_anything());
        let mpps_only = UnknownAePolicy {
            store: false,
            mpps: true,
            ..UnknownAePolicy::default()
        };
        let a = admit(&[], "X", ip("10.0.0.1"), mpps_only, by_address);
        assert!(a.mpps && !a.store && !a.commitment && !a.query);
    }
}
