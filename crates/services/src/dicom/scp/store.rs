//! C-STORE: an instance received into the archive's ingest, answered with the status the
//! archive's decision gives.

use super::*;

pub(super) fn store_failure_status(e: &IngestError) -> u16 {
    match e {
        IngestError::Archive(a) if a.is_disk_full() => status::STORE_OUT_OF_RESOURCES,
        IngestError::Archive(_) | IngestError::Store(_) | IngestError::ShuttingDown => {
            status::STORE_OUT_OF_RESOURCES
        }
        IngestError::Mismatch { .. } => status::STORE_DATASET_MISMATCH,
        _ => status::STORE_CANNOT_UNDERSTAND,
    }
}

impl Session {
    pub(super) async fn c_store(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        let announced_class = msg.command.text(tags::AFFECTED_SOP_CLASS_UID);
        let announced_inst = msg.command.text(tags::AFFECTED_SOP_INSTANCE_UID);
        let (code, comment) = if !self.perms.store {
            (
                status::NOT_AUTHORIZED,
                Some("this AE may not store here".to_string()),
            )
        } else if announced_class.as_deref() != Some(pc.abstract_syntax.as_str()) {
            (
                status::STORE_DATASET_MISMATCH,
                Some("SOP class differs from the presentation context".to_string()),
            )
        } else if let Some(reason) = msg.refused {
            tracing::error!(association = self.id, calling_ae = %self.calling,
                sop_instance = announced_inst.as_deref().unwrap_or(""), error = %reason,
                "C-STORE data set could not be written to the archive");
            (
                status::STORE_OUT_OF_RESOURCES,
                Some(format!("cannot write to the archive: {reason}")),
            )
        } else if msg.spilled.is_some() || msg.dataset.is_some() {
            let ingested = match (msg.spilled, msg.dataset) {
                (Some(part), _) => self.ctx.ingest.ingest_part(*part).await,
                (None, Some(dataset)) => {
                    let object = ReceivedObject {
                        dataset,
                        transfer_syntax: pc.transfer_syntax.clone(),
                        announced_sop_class: announced_class.clone(),
                        announced_sop_instance: announced_inst.clone(),
                        source: self.calling.clone(),
                    };
                    self.ctx.ingest.ingest(object).await
                }
                (None, None) => Err(IngestError::Unreadable("no data set".into())),
            };
            match ingested {
                Ok(Ingested::Stored {
                    study_uid,
                    tolerated,
                    sop_uid,
                }) => {
                    self.stored += 1;
                    if !tolerated.is_empty() {
                        self.tolerated += 1;
                        tracing::warn!(association = self.id, calling_ae = %self.calling, sop_instance = %sop_uid,
                            tolerated = %tolerated.join("; "), "C-STORE accepted with repairs");
                    }
                    self.ctx.events.send(ServiceEvent::InstanceStored {
                        association: self.id,
                        study_uid,
                    });
                    (status::SUCCESS, None)
                }
                Ok(Ingested::Duplicate { .. }) => (status::SUCCESS, None),
                Ok(Ingested::ConflictKeptExisting { .. }) => (
                    status::STORE_WARNING_COERCION,
                    Some("an instance with this UID and different content is archived; the existing copy was kept".to_string()),
                ),
                Err(e) => {
                    tracing::warn!(association = self.id, calling_ae = %self.calling,
                        sop_instance = announced_inst.as_deref().unwrap_or(""), error = %e, "C-STORE refused");
                    (store_failure_status(&e), Some(e.to_string()))
                }
            }
        } else {
            (
                status::STORE_CANNOT_UNDERSTAND,
                Some("C-STORE without a data set".to_string()),
            )
        };
        let mut rsp = dimse::response_to(&msg.command, cf::C_STORE_RSP, code);
        if let Some(text) = comment {
            rsp = rsp.with_text(tags::ERROR_COMMENT, VR::LO, &truncate(&text, 64));
        }
        dimse::send_message(assoc, msg.context_id, &rsp, None).await
    }
}
