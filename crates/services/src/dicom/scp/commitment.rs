//! Storage Commitment (N-ACTION, N-EVENT-REPORT): the archive answers for what it holds, on
//! the same association or on a new one to the requester.

use super::*;

/// A Storage Commitment result ready to be reported.
pub(super) struct CommitmentReport {
    pub(super) context_id: u8,
    pub(super) transfer_syntax: String,
    pub(super) event_type: u16,
    pub(super) dataset: InMemDicomObject,
    /// Gets the report back when it could not be sent on the original association.
    pub(super) fallback: tokio::sync::oneshot::Sender<UndeliveredReport>,
}

/// A report that must go out on a new association.
pub(super) struct UndeliveredReport {
    pub(super) event_type: u16,
    pub(super) dataset: InMemDicomObject,
}

impl CommitmentReport {
    pub(super) fn clone_for_fallback(&self) -> UndeliveredReport {
        UndeliveredReport {
            event_type: self.event_type,
            dataset: self.dataset.clone(),
        }
    }
}

pub(super) fn report_command(event_type: u16, message_id: u16) -> Command {
    Command::new(cf::N_EVENT_REPORT_RQ)
        .with_uid(tags::AFFECTED_SOP_CLASS_UID, sop::STORAGE_COMMITMENT)
        .with_uid(
            tags::AFFECTED_SOP_INSTANCE_UID,
            sop::STORAGE_COMMITMENT_INSTANCE,
        )
        .with_u16(tags::MESSAGE_ID, message_id)
        .with_u16(tags::EVENT_TYPE_ID, event_type)
}

/// Sends the report on the open association; its N-EVENT-REPORT-RSP arrives through the
/// main loop (and is only logged there).
pub(super) async fn send_report(
    assoc: &mut ServerAssoc,
    report: &CommitmentReport,
    message_id: u16,
) -> Result<(), DimseError> {
    let ts = TransferSyntaxRegistry
        .get(&report.transfer_syntax)
        .ok_or_else(|| DimseError::Protocol("transfer syntax vanished".into()))?;
    let bytes = encode_dataset(&report.dataset, ts)?;
    let command = report_command(report.event_type, message_id);
    dimse::send_message(assoc, report.context_id, &command, Some(&bytes)).await
}

/// Delivers a report on a new association to the requester, which must be a configured node.
/// Lightbox is the association requestor and takes the SCP role for the class.
pub(super) async fn deliver_report(
    ctx: &DicomContext,
    requester_ae: &str,
    report: UndeliveredReport,
) {
    let node = match ctx
        .stores
        .get()
        .and_then(|s| s.node_by_ae_title(requester_ae))
    {
        Ok(Some(node)) => node,
        Ok(None) => {
            tracing::error!(calling_ae = %requester_ae, "cannot deliver a storage commitment report: the requester is not a configured node");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot deliver a storage commitment report");
            return;
        }
    };
    match scu::send_commitment_report(
        &node,
        &ctx.config.ae_title,
        report.event_type,
        &report.dataset,
    )
    .await
    {
        Ok(()) => {
            tracing::info!(node = %node.name, "storage commitment report delivered on a new association")
        }
        Err(e) => {
            tracing::error!(node = %node.name, error = %e, "storage commitment report not delivered")
        }
    }
}

pub(super) async fn wait_for_commitment(
    ctx: &DicomContext,
    request: &crate::pacs::commitment::CommitmentRequest,
) -> Vec<crate::pacs::commitment::Committed> {
    let mut rounds = ctx.durable_rounds.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let states = match ctx.stores.get() {
            Ok(store) => request
                .references
                .iter()
                .map(|(class, inst)| store.instance_is_durable(inst, class).ok().flatten())
                .collect::<Vec<_>>(),
            Err(_) => vec![None; request.references.len()],
        };
        let all_settled = states.iter().all(|s| *s != Some(false));
        if all_settled || tokio::time::Instant::now() >= deadline {
            return states
                .into_iter()
                .map(|s| match s {
                    Some(true) => crate::pacs::commitment::Committed::Yes,
                    Some(false) => crate::pacs::commitment::Committed::NotYet,
                    None => crate::pacs::commitment::Committed::Unknown,
                })
                .collect();
        }
        let _ = tokio::time::timeout_at(deadline, rounds.changed()).await;
    }
}

impl Session {
    pub(super) async fn n_action(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        if pc.abstract_syntax != sop::STORAGE_COMMITMENT {
            let rsp = dimse::response_to(
                &msg.command,
                cf::N_ACTION_RSP,
                status::SOP_CLASS_NOT_SUPPORTED,
            );
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        if !self.perms.commitment {
            tracing::info!(association = self.id, calling_ae = %self.calling, "Storage Commitment refused: not allowed for this AE");
            let rsp = dimse::response_to(&msg.command, cf::N_ACTION_RSP, status::NOT_AUTHORIZED)
                .with_text(
                    tags::ERROR_COMMENT,
                    VR::LO,
                    "this AE may not ask for storage commitment",
                );
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        let request = msg
            .dataset
            .as_deref()
            .and_then(|d| {
                let ts = TransferSyntaxRegistry.get(&pc.transfer_syntax)?;
                crate::dicom::lengths::read_checked(d, ts).ok()
            })
            .and_then(|obj| crate::pacs::commitment::parse_request(&obj));
        let Some(request) = request else {
            let rsp = dimse::response_to(
                &msg.command,
                cf::N_ACTION_RSP,
                status::INVALID_ARGUMENT_VALUE,
            )
            .with_text(
                tags::ERROR_COMMENT,
                VR::LO,
                "bad storage commitment request",
            );
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        };
        let rsp = dimse::response_to(&msg.command, cf::N_ACTION_RSP, status::SUCCESS)
            .with_u16(tags::ACTION_TYPE_ID, 1);
        dimse::send_message(assoc, msg.context_id, &rsp, None).await?;
        // Answer at once; the report follows when every instance is on stable storage: on
        // this association if it is still open then, else on a new one to the requester.
        let ctx = self.ctx.clone();
        let tx = self.report_tx.clone();
        let requester = self.calling.clone();
        let context_id = msg.context_id;
        let ts = pc.transfer_syntax.clone();
        tokio::spawn(async move {
            let result = wait_for_commitment(&ctx, &request).await;
            let (event_type, dataset) = crate::pacs::commitment::event_report(&request, &result);
            let (fallback_tx, fallback_rx) = tokio::sync::oneshot::channel();
            let report = CommitmentReport {
                context_id,
                transfer_syntax: ts,
                event_type,
                dataset,
                fallback: fallback_tx,
            };
            let undelivered = match tx.send(report).await {
                Ok(()) => fallback_rx.await.ok(),
                Err(tokio::sync::mpsc::error::SendError(report)) => {
                    Some(report.clone_for_fallback())
                }
            };
            if let Some(report) = undelivered {
                deliver_report(&ctx, &requester, report).await;
            }
        });
        Ok(())
    }
}
