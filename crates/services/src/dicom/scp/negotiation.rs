//! Association negotiation: which callers are admitted (by AE title and host) and which SCU/SCP
//! roles are accepted for C-GET's storage sub-operations.

use super::*;

/// The association's gatekeeper: it decides, from the calling AE title and the address the
/// connection comes from, what the caller may do (see [`crate::pacs::admission`]).
pub(super) struct PeerAccess {
    pub(super) nodes: Vec<DicomNode>,
    pub(super) policy: UnknownAePolicy,
    pub(super) peer: std::net::IpAddr,
}

/// The gatekeeper as dicom-ul holds it (the session keeps another handle).
pub(super) struct SharedAccess(pub(super) Arc<PeerAccess>);

impl PeerAccess {
    pub(super) fn decide(&self, calling_ae: &str) -> Admission {
        crate::pacs::admission::admit(
            &self.nodes,
            calling_ae,
            self.peer,
            self.policy,
            crate::access::peers::host_matches,
        )
    }
}

impl AccessControl for SharedAccess {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        if this_ae_title.trim() != called_ae_title.trim() {
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        // An unknown AE may still echo, so refuse only when the settings allow it nothing.
        if !self.0.decide(calling_ae_title).may_do_anything() {
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        Ok(())
    }
}

/// Lets a C-GET requester take the SCP role for storage classes, so the instances can
/// come back on its own association.
pub(super) struct RoleSelection;

impl Negotiation for RoleSelection {
    fn negotiate_roles(
        &self,
        sop_class_uid: &str,
        scu_role: bool,
        scp_role: bool,
    ) -> Option<RequestorRoles> {
        if sop::is_storage_class(sop_class_uid) || sop_class_uid == sop::STORAGE_COMMITMENT {
            Some(RequestorRoles {
                scu: scu_role,
                scp: scp_role,
            })
        } else {
            None
        }
    }
}
