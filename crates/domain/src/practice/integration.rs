//! The hand-offs: HL7 in and out (the inbound log, the outbound queues, resend and cancel) and
//! the reconciliation queue of studies that did not match their order safely.

use super::remote::forward;
use super::{Practice, PracticeError};
use crate::access::{Action, Actor};
use crate::hl7::outbound::{self, OutboundError};
use crate::ris::{RisError, reconcile};
use crate::store::StoreError;
use crate::store::hl7::{Destination, InboundEntry, OutboundMessage};
use crate::store::ris::ReconciliationItem;

/// One destination's queue: the destination, what waits, and the last few delivered.
pub type DestinationQueue = (Destination, Vec<OutboundMessage>, Vec<OutboundMessage>);

impl Practice {
    /// The latest inbound HL7 messages (raw text included: the monitor shows them).
    pub fn inbound_log(
        &self,
        actor: &Actor,
        limit: usize,
    ) -> Result<Vec<InboundEntry>, PracticeError> {
        forward!(self, "inbound_log", limit);
        self.allow(actor, Action::Administer, "hl7:inbound")?;
        Ok(self.store.inbound_log(limit)?)
    }

    /// Outbound deliveries in trouble (for the status bar every signed-in person sees: a report
    /// that does not reach the doctor is everyone's business): failed for good, pending after a
    /// failed attempt, and the newest error. No patient data; not audited.
    pub fn delivery_trouble(&self) -> Result<DeliveryTrouble, PracticeError> {
        forward!(self, "delivery_trouble");
        let (failed, retrying, last_error) = self.store.outbound_trouble()?;
        Ok(DeliveryTrouble {
            failed: usize::try_from(failed).unwrap_or(0),
            retrying: usize::try_from(retrying).unwrap_or(0),
            last_error,
        })
    }

    /// Every destination's queue, with the last `sent` messages delivered.
    pub fn outbound_queues(
        &self,
        actor: &Actor,
        sent: usize,
    ) -> Result<Vec<DestinationQueue>, PracticeError> {
        forward!(self, "outbound_queues", sent);
        self.allow(actor, Action::Administer, "hl7:outbound")?;
        self.store
            .destinations()?
            .into_iter()
            .map(|d| {
                let waiting = self.store.outbound_queue(d.id)?;
                let delivered = self.store.outbound_recently_sent(d.id, sent)?;
                Ok((d, waiting, delivered))
            })
            .collect::<Result<_, StoreError>>()
            .map_err(Into::into)
    }

    /// Every destination with its messages: the waiting ones, or with `all` every one kept.
    pub fn outbound_messages(
        &self,
        actor: &Actor,
        all: bool,
    ) -> Result<Vec<(Destination, Vec<OutboundMessage>)>, PracticeError> {
        forward!(self, "outbound_messages", all);
        self.allow(actor, Action::Administer, "hl7:outbound")?;
        self.store
            .destinations()?
            .into_iter()
            .map(|d| {
                let messages = if all {
                    self.store.outbound_all(d.id)?
                } else {
                    self.store.outbound_queue(d.id)?
                };
                Ok((d, messages))
            })
            .collect::<Result<_, StoreError>>()
            .map_err(Into::into)
    }

    /// Files a batch of HL7 messages (a file from an EHR's export, FHS/BHS or plain) as if each
    /// had arrived from its sender: the same sources, checks and audit. Needs Administer.
    pub fn import_hl7_batch(
        &mut self,
        actor: &Actor,
        bytes: &[u8],
        now: chrono::NaiveDateTime,
    ) -> Result<crate::hl7::batch::BatchReport, PracticeError> {
        forward!(self, "import_hl7_batch", bytes, now);
        self.allow(actor, Action::Administer, "hl7:batch")?;
        let archive = self.archive();
        let report = crate::hl7::batch::import(&mut self.store, Some(&archive), bytes, now);
        self.audit_read(
            actor,
            "hl7.batch_import",
            "hl7:batch",
            &format!(
                "{} messages, {} accepted, {} refused",
                report.messages,
                report.accepted,
                report.refused.len()
            ),
        );
        Ok(report)
    }

    /// Sends a failed or held outbound message again.
    pub fn resend(&self, actor: &Actor, message: i64) -> Result<(), OutboundError> {
        forward!(self, "resend", message);
        outbound::resend(&self.store, actor, message)
    }

    /// Cancels an outbound message.
    pub fn cancel_outbound(&self, actor: &Actor, message: i64) -> Result<(), OutboundError> {
        forward!(self, "cancel_outbound", message);
        outbound::cancel(&self.store, actor, message)
    }

    /// The open reconciliation items.
    pub fn open_reconciliation(
        &self,
        actor: &Actor,
    ) -> Result<Vec<ReconciliationItem>, PracticeError> {
        forward!(self, "open_reconciliation");
        self.allow(actor, Action::ReadPatient, "reconciliation")?;
        Ok(self.store.open_reconciliation()?)
    }

    /// Links an item's study to the right order (headers corrected, originals kept); the
    /// number of instances corrected.
    pub fn link_to_order(
        &mut self,
        actor: &Actor,
        item: i64,
        accession: &str,
    ) -> Result<usize, RisError> {
        forward!(self, "link_to_order", item, accession);
        let archive = self.archive();
        reconcile::link_to_order(&mut self.store, &archive, actor, item, accession)
    }

    /// Splits series out of an item's study into the right order; the instances corrected.
    pub fn split_series(
        &mut self,
        actor: &Actor,
        item: i64,
        series: &[String],
        accession: &str,
    ) -> Result<usize, RisError> {
        forward!(self, "split_series", item, series, accession);
        let archive = self.archive();
        reconcile::split_series(&mut self.store, &archive, actor, item, series, accession)
    }
}

/// Outbound HL7 messages that have not gone through.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryTrouble {
    /// Failed for good (an AR/AE, or out of attempts): waiting for a person to resend or cancel.
    pub failed: usize,
    /// Still pending, after at least one failed attempt (the receiver down, a timeout).
    pub retrying: usize,
    /// The newest error of either kind.
    pub last_error: String,
}

impl DeliveryTrouble {
    /// Whether anything is in trouble.
    pub fn any(&self) -> bool {
        self.failed + self.retrying > 0
    }
}
