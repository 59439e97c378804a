//! C-MOVE and C-GET: stored instances sent to a known node, or back on the association, with
//! pending responses and C-CANCEL.

use super::*;

/// Checks, without waiting, whether the requester sent C-CANCEL for `request`. The PDU
/// reader keeps partial bytes in the association's buffer, so an unfinished read is safe to
/// drop here.
pub(super) async fn cancel_requested(
    assoc: &mut ServerAssoc,
    request: &Command,
) -> Result<bool, DimseError> {
    // Poll the read exactly once. (A zero timeout would wait for the timer's next tick,
    // about 1 ms, before every answer.) Dropping an unfinished read is safe: dicom-ul keeps
    // partial bytes in the association's buffer.
    let pdu = {
        let read = AsyncAssociation::receive(assoc);
        let mut read = std::pin::pin!(read);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match std::future::Future::poll(read.as_mut(), &mut cx) {
            std::task::Poll::Pending => return Ok(false),
            std::task::Poll::Ready(pdu) => pdu?,
        }
    };
    match pdu {
        dicom_ul::pdu::Pdu::PData { data } => {
            let bytes: Vec<u8> = data.into_iter().flat_map(|v| v.data).collect();
            let cmd = Command::decode(&bytes)?;
            let answers_this =
                cmd.u16(tags::MESSAGE_ID_BEING_RESPONDED_TO) == Some(request.message_id());
            if cmd.field() == cf::C_CANCEL_RQ && answers_this {
                Ok(true)
            } else {
                Err(DimseError::Protocol(format!(
                    "unexpected command 0x{:04x} while answering a request",
                    cmd.field()
                )))
            }
        }
        dicom_ul::pdu::Pdu::AbortRQ { .. } => Err(DimseError::Aborted),
        other => Err(DimseError::Protocol(format!(
            "unexpected PDU while answering a request: {other:?}"
        ))),
    }
}

pub(super) fn pending_response(
    request: &Command,
    field: u16,
    total: usize,
    p: &scu::Progress,
) -> Command {
    let done = p.completed + p.failed.len() + p.warning;
    dimse::response_to(request, field, status::PENDING)
        .with_u16(
            tags::NUMBER_OF_REMAINING_SUBOPERATIONS,
            clamp16(total.saturating_sub(done)),
        )
        .with_u16(
            tags::NUMBER_OF_COMPLETED_SUBOPERATIONS,
            clamp16(p.completed),
        )
        .with_u16(
            tags::NUMBER_OF_FAILED_SUBOPERATIONS,
            clamp16(p.failed.len()),
        )
        .with_u16(tags::NUMBER_OF_WARNING_SUBOPERATIONS, clamp16(p.warning))
}

pub(super) fn clamp16(n: usize) -> u16 {
    n.min(u16::MAX as usize) as u16
}

impl Session {
    pub(super) async fn c_retrieve(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        let is_get = msg.command.field() == cf::C_GET_RQ;
        let rsp_field = if is_get {
            cf::C_GET_RSP
        } else {
            cf::C_MOVE_RSP
        };
        let valid_class = if is_get {
            matches!(
                pc.abstract_syntax.as_str(),
                sop::PATIENT_ROOT_GET | sop::STUDY_ROOT_GET
            )
        } else {
            matches!(
                pc.abstract_syntax.as_str(),
                sop::PATIENT_ROOT_MOVE | sop::STUDY_ROOT_MOVE
            )
        };
        let fail = |code: u16, text: &str| {
            dimse::response_to(&msg.command, rsp_field, code).with_text(
                tags::ERROR_COMMENT,
                VR::LO,
                &truncate(text, 64),
            )
        };
        if !valid_class {
            let rsp = fail(status::SOP_CLASS_NOT_SUPPORTED, "wrong SOP class");
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        if !self.perms.query {
            let rsp = fail(status::NOT_AUTHORIZED, "this AE may not retrieve");
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        let q = match self.parse_query(&msg, pc).and_then(|q| {
            query::check_retrieve_keys(&q)
                .map(|()| q)
                .map_err(|e| (status::IDENTIFIER_MISMATCH, e.to_string()))
        }) {
            Ok(q) => q,
            Err((code, text)) => {
                tracing::info!(association = self.id, calling_ae = %self.calling, error = %text, "retrieve refused");
                let rsp = fail(code, &text);
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let store = match self.ctx.stores.get() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot open the store for a retrieve");
                let rsp = fail(status::SUBOPERATIONS_FAILED, "store unavailable");
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let destination = if is_get {
            None
        } else {
            let dest_ae = msg.command.text(tags::MOVE_DESTINATION).unwrap_or_default();
            match store.node_by_ae_title(&dest_ae) {
                Ok(Some(node)) => Some(node),
                _ => {
                    tracing::info!(association = self.id, dest_ae = %dest_ae, "C-MOVE to an unknown destination");
                    let rsp = fail(status::MOVE_DESTINATION_UNKNOWN, "move destination unknown");
                    return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
                }
            }
        };
        let instances = match store.query_index(Level::Image, &q.conditions, usize::MAX >> 1) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "retrieve query failed");
                let rsp = fail(status::SUBOPERATIONS_FAILED, "query failed");
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        drop(store);
        let total = instances.len();
        let mut progress = scu::Progress::default();
        let mut cancelled = false;
        let archive = self.ctx.ingest.archive().clone();
        if let Some(node) = destination {
            let mut sender = match scu::StoreSession::open(
                &node,
                &self.ctx.config.ae_title,
                &instances,
                Some((self.calling.as_str(), msg.command.message_id())),
            )
            .await
            {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(association = self.id, node = %node.name, error = %e, "C-MOVE cannot reach the destination");
                    let rsp = fail(
                        status::SUBOPERATIONS_FAILED,
                        "cannot reach the move destination",
                    );
                    return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
                }
            };
            for row in &instances {
                if cancel_requested(assoc, &msg.command).await? {
                    tracing::info!(association = self.id, "C-MOVE cancelled by the requester");
                    cancelled = true;
                    break;
                }
                let ok = sender.send_instance(&archive, row).await;
                progress.record(row, ok);
                let pending = pending_response(&msg.command, rsp_field, total, &progress);
                dimse::send_message(assoc, msg.context_id, &pending, None).await?;
            }
            sender.release().await;
        } else {
            let mut next_id: u16 = 1;
            let mut watch = scu::CancelWatch {
                request_id: msg.command.message_id(),
                cancelled: false,
            };
            for row in &instances {
                if watch.cancelled || cancel_requested(assoc, &msg.command).await? {
                    tracing::info!(association = self.id, "C-GET cancelled by the requester");
                    cancelled = true;
                    break;
                }
                let ok = scu::store_on_association(
                    assoc,
                    &archive,
                    row,
                    next_id,
                    None,
                    Some(&mut watch),
                )
                .await?;
                next_id = next_id.wrapping_add(1).max(1);
                progress.record(row, ok);
                let pending = pending_response(&msg.command, rsp_field, total, &progress);
                dimse::send_message(assoc, msg.context_id, &pending, None).await?;
            }
        }
        let done = progress.completed + progress.failed.len() + progress.warning;
        let final_status = if cancelled {
            status::CANCELLED
        } else if progress.failed.is_empty() && progress.warning == 0 {
            status::SUCCESS
        } else if progress.completed == 0 && progress.warning == 0 && total > 0 {
            status::SUBOPERATIONS_FAILED
        } else {
            status::SUBOPERATIONS_WARNING
        };
        let rsp = dimse::response_to(&msg.command, rsp_field, final_status)
            .with_u16(
                tags::NUMBER_OF_REMAINING_SUBOPERATIONS,
                clamp16(total.saturating_sub(done)),
            )
            .with_u16(
                tags::NUMBER_OF_COMPLETED_SUBOPERATIONS,
                clamp16(progress.completed),
            )
            .with_u16(
                tags::NUMBER_OF_FAILED_SUBOPERATIONS,
                clamp16(progress.failed.len()),
            )
            .with_u16(
                tags::NUMBER_OF_WARNING_SUBOPERATIONS,
                clamp16(progress.warning),
            );
        if progress.failed.is_empty() {
            dimse::send_message(assoc, msg.context_id, &rsp, None).await
        } else {
            let mut ds = InMemDicomObject::new_empty();
            ds.put(DataElement::new(
                tags::FAILED_SOP_INSTANCE_UID_LIST,
                VR::UI,
                PrimitiveValue::Strs(progress.failed.iter().cloned().collect()),
            ));
            let ts = TransferSyntaxRegistry
                .get(&pc.transfer_syntax)
                .ok_or_else(|| DimseError::Protocol("transfer syntax vanished".into()))?;
            let bytes = encode_dataset(&ds, ts)?;
            dimse::send_message(assoc, msg.context_id, &rsp, Some(&bytes)).await
        }
    }
}
