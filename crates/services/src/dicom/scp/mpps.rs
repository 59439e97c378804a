//! Modality Performed Procedure Step (N-CREATE, N-SET): the scanner tells the RIS an exam
//! started, completed or was discontinued.

use super::*;

impl Session {
    /// MPPS N-CREATE / N-SET: the scanner reports a performed step; the exam follows.
    pub(super) async fn mpps(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        let create = msg.command.field() == cf::N_CREATE_RQ;
        let rsp_field = if create {
            cf::N_CREATE_RSP
        } else {
            cf::N_SET_RSP
        };
        if pc.abstract_syntax != crate::ris::mpps::MPPS_SOP_CLASS {
            let rsp = dimse::response_to(&msg.command, rsp_field, status::SOP_CLASS_NOT_SUPPORTED);
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        if !self.perms.mpps {
            let rsp = dimse::response_to(&msg.command, rsp_field, status::NOT_AUTHORIZED);
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        let ts = TransferSyntaxRegistry
            .get(&pc.transfer_syntax)
            .ok_or_else(|| DimseError::Protocol("transfer syntax vanished".into()))?;
        let data = match msg
            .dataset
            .as_deref()
            .map(|d| crate::dicom::lengths::read_checked(d, ts))
        {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                let rsp = dimse::response_to(&msg.command, rsp_field, status::PROCESSING_FAILURE)
                    .with_text(tags::ERROR_COMMENT, VR::LO, &truncate(&e, 64));
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
            None => InMemDicomObject::new_empty(),
        };
        // N-CREATE names its instance in Affected SOP Instance UID (or lets us choose one);
        // N-SET in Requested SOP Instance UID.
        let given = if create {
            msg.command.text(tags::AFFECTED_SOP_INSTANCE_UID)
        } else {
            msg.command.text(tags::REQUESTED_SOP_INSTANCE_UID)
        };
        let uid = match given {
            Some(u) if !u.is_empty() => u,
            _ if create => crate::ris::new_uid(),
            _ => {
                let rsp = dimse::response_to(&msg.command, rsp_field, status::MISSING_ATTRIBUTE)
                    .with_text(
                        tags::ERROR_COMMENT,
                        VR::LO,
                        "Requested SOP Instance UID missing",
                    );
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let stores = self.ctx.stores.clone();
        let calling = self.calling.clone();
        let task_uid = uid.clone();
        let outcome =
            tokio::task::spawn_blocking(move || -> Result<(), crate::ris::mpps::MppsRefusal> {
                // The domain call needs its own transactions, so an owned connection.
                let mut store = stores
                    .open_owned()
                    .map_err(|e| crate::ris::mpps::MppsRefusal {
                        status: status::PROCESSING_FAILURE,
                        comment: e.to_string(),
                        error_id: None,
                    })?;
                let actor = crate::access::Actor {
                    login: format!("dicom:{calling}"),
                    role: crate::access::Role::Interface,
                    origin: calling.clone(),
                };
                if create {
                    crate::ris::mpps::create(&mut store, &actor, &task_uid, &calling, &data)
                } else {
                    crate::ris::mpps::set(&mut store, &actor, &task_uid, &data)
                }
            })
            .await
            .map_err(|e| DimseError::Protocol(format!("MPPS task failed: {e}")))?;
        let mut rsp = dimse::response_to(&msg.command, rsp_field, status::SUCCESS)
            .with_uid(
                tags::AFFECTED_SOP_CLASS_UID,
                crate::ris::mpps::MPPS_SOP_CLASS,
            )
            .with_uid(tags::AFFECTED_SOP_INSTANCE_UID, &uid);
        match outcome {
            Ok(()) => {
                tracing::info!(association = self.id, uid = %uid, create, "MPPS recorded");
            }
            Err(refusal) => {
                tracing::info!(association = self.id, uid = %uid, error = %refusal, "MPPS refused");
                rsp = rsp.with_u16(tags::STATUS, refusal.status).with_text(
                    tags::ERROR_COMMENT,
                    VR::LO,
                    &truncate(&refusal.comment, 64),
                );
                if let Some(id) = refusal.error_id {
                    rsp = rsp.with_u16(tags::ERROR_ID, id);
                }
            }
        }
        dimse::send_message(assoc, msg.context_id, &rsp, None).await
    }
}
