//! Modality Worklist C-FIND: the scheduled steps a scanner asks for.

use super::retrieve::cancel_requested;
use super::*;

impl Session {
    /// Modality Worklist C-FIND: the RIS answers from the schedule.
    pub(super) async fn c_find_worklist(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        if !self.perms.worklist {
            let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::NOT_AUTHORIZED);
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        let ts = TransferSyntaxRegistry
            .get(&pc.transfer_syntax)
            .ok_or_else(|| DimseError::Protocol("transfer syntax vanished".into()))?;
        let request = match msg
            .dataset
            .as_deref()
            .map(|d| crate::dicom::lengths::read_checked(d, ts))
        {
            Some(Ok(r)) => r,
            other => {
                let text = match other {
                    Some(Err(e)) => e,
                    _ => "no identifier".into(),
                };
                tracing::info!(association = self.id, error = %text, "worklist query refused");
                let rsp =
                    dimse::response_to(&msg.command, cf::C_FIND_RSP, status::IDENTIFIER_MISMATCH)
                        .with_text(tags::ERROR_COMMENT, VR::LO, &truncate(&text, 64));
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let latin1_asked = crate::pacs::attributes::text(&request, tags::SPECIFIC_CHARACTER_SET)
            .contains("ISO_IR 100");
        let stores = self.ctx.stores.clone();
        let calling = self.calling.clone();
        let answers =
            tokio::task::spawn_blocking(move || -> Result<Vec<InMemDicomObject>, String> {
                let store = stores.get().map_err(|e| e.to_string())?;
                let answers =
                    crate::ris::worklist::find(&store, &request).map_err(|e| e.to_string())?;
                let audited = store.audit(&crate::store::access::AuditEntry {
                    at: String::new(),
                    actor: format!("dicom:{calling}"),
                    action: "worklist.query".into(),
                    subject: "worklist".into(),
                    origin: String::new(),
                    outcome: "ok".into(),
                    detail: format!("{} items", answers.len()),
                });
                if let Err(e) = audited {
                    tracing::error!(error = %e, "worklist query could not be audited");
                }
                Ok(answers)
            })
            .await
            .map_err(|e| DimseError::Protocol(format!("worklist task failed: {e}")))?;
        let answers = match answers {
            Ok(a) => a,
            Err(text) => {
                tracing::error!(association = self.id, error = %text, "worklist query failed");
                let rsp =
                    dimse::response_to(&msg.command, cf::C_FIND_RSP, status::FIND_OUT_OF_RESOURCES)
                        .with_text(tags::ERROR_COMMENT, VR::LO, "worklist query failed");
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        for mut answer in answers {
            if cancel_requested(assoc, &msg.command).await? {
                let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::CANCELLED);
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
            crate::ris::worklist::declare_character_set(&mut answer, latin1_asked);
            let bytes = encode_dataset(&answer, ts)?;
            let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::PENDING);
            dimse::send_message(assoc, msg.context_id, &rsp, Some(&bytes)).await?;
        }
        let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::SUCCESS);
        dimse::send_message(assoc, msg.context_id, &rsp, None).await
    }
}
