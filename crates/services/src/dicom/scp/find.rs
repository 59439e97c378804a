//! C-FIND of the archive (Patient Root and Study Root, every level) over the index.

use super::retrieve::cancel_requested;
use super::*;

/// Reads a stored file's attributes up to the pixel data (for IMAGE-level answers).
pub(super) fn read_header(path: &std::path::Path) -> Option<InMemDicomObject> {
    dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .ok()
        .map(|f| f.into_inner())
}

impl Session {
    pub(super) fn parse_query(
        &self,
        msg: &Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<IndexQuery, (u16, String)> {
        let Some(data) = &msg.dataset else {
            return Err((status::IDENTIFIER_MISMATCH, "no identifier".into()));
        };
        let Some(ts) = TransferSyntaxRegistry.get(&pc.transfer_syntax) else {
            return Err((status::UNABLE_TO_PROCESS, "transfer syntax unknown".into()));
        };
        let identifier = crate::dicom::lengths::read_checked(data.as_slice(), ts).map_err(|e| {
            (
                status::IDENTIFIER_MISMATCH,
                format!("unreadable identifier: {e}"),
            )
        })?;
        let q = query::parse_identifier(identifier)
            .map_err(|e| (status::IDENTIFIER_MISMATCH, e.to_string()))?;
        let study_root = matches!(
            pc.abstract_syntax.as_str(),
            sop::STUDY_ROOT_FIND | sop::STUDY_ROOT_MOVE | sop::STUDY_ROOT_GET
        );
        if study_root && q.level == Level::Patient {
            return Err((
                status::IDENTIFIER_MISMATCH,
                "PATIENT level in the Study Root model".into(),
            ));
        }
        Ok(q)
    }

    pub(super) async fn c_find(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        if pc.abstract_syntax == crate::ris::worklist::MODALITY_WORKLIST_FIND {
            return self.c_find_worklist(assoc, msg, pc).await;
        }
        if !matches!(
            pc.abstract_syntax.as_str(),
            sop::PATIENT_ROOT_FIND | sop::STUDY_ROOT_FIND
        ) {
            let rsp = dimse::response_to(
                &msg.command,
                cf::C_FIND_RSP,
                status::SOP_CLASS_NOT_SUPPORTED,
            );
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        if !self.perms.query {
            let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::NOT_AUTHORIZED);
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        let q = match self.parse_query(&msg, pc) {
            Ok(q) => q,
            Err((code, text)) => {
                tracing::info!(association = self.id, error = %text, "C-FIND refused");
                let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, code).with_text(
                    tags::ERROR_COMMENT,
                    VR::LO,
                    &truncate(&text, 64),
                );
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let stores = self.ctx.stores.clone();
        let limit = self.ctx.config.find_limit;
        let archive = self.ctx.ingest.archive().clone();
        let ae = self.ctx.config.ae_title.clone();
        let answers =
            tokio::task::spawn_blocking(move || -> Result<Vec<InMemDicomObject>, String> {
                let store = stores.get().map_err(|e| e.to_string())?;
                let mut rows = store
                    .query_index(q.level, &q.conditions, limit.saturating_add(1))
                    .map_err(|e| e.to_string())?;
                if rows.len() > limit {
                    rows.truncate(limit);
                    tracing::warn!(
                        limit,
                        "C-FIND has more matches than dicom.find_limit; answering with the first ones"
                    );
                }
                let with_file = query::needs_file_values(&q);
                Ok(rows
                    .iter()
                    .map(|row| {
                        let extra = if with_file {
                            archive
                                .path_of(&row.file_path)
                                .ok()
                                .and_then(|p| read_header(&p))
                        } else {
                            None
                        };
                        query::answer_identifier(&q, row, &ae, extra.as_ref())
                    })
                    .collect())
            })
            .await
            .map_err(|e| DimseError::Protocol(format!("query task failed: {e}")))?;
        let answers = match answers {
            Ok(a) => a,
            Err(text) => {
                tracing::error!(association = self.id, error = %text, "C-FIND failed");
                let rsp =
                    dimse::response_to(&msg.command, cf::C_FIND_RSP, status::FIND_OUT_OF_RESOURCES)
                        .with_text(tags::ERROR_COMMENT, VR::LO, "query failed");
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let ts = TransferSyntaxRegistry
            .get(&pc.transfer_syntax)
            .ok_or_else(|| DimseError::Protocol("transfer syntax vanished".into()))?;
        for answer in answers {
            if cancel_requested(assoc, &msg.command).await? {
                tracing::info!(association = self.id, "C-FIND cancelled by the requester");
                let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::CANCELLED);
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
            let bytes = encode_dataset(&answer, ts)?;
            let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::PENDING);
            dimse::send_message(assoc, msg.context_id, &rsp, Some(&bytes)).await?;
        }
        let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::SUCCESS);
        dimse::send_message(assoc, msg.context_id, &rsp, None).await
    }
}
