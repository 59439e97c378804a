//! Charges: review, diagnosis corrections, marking billed, the CSV for the billing service.

use super::Practice;
use crate::access::{Action, Actor};
use crate::ris::{RisError, billing};
use crate::store::reports::ChargeRecord;

impl Practice {
    /// Charges in one status (or all).
    pub fn charges(
        &self,
        actor: &Actor,
        status: Option<&str>,
    ) -> Result<Vec<ChargeRecord>, RisError> {
        self.allow(actor, Action::Administer, "charges")?;
        Ok(self.store.charges(status)?)
    }

    /// Corrects a charge's diagnosis codes.
    pub fn correct_diagnoses(
        &self,
        actor: &Actor,
        charge: i64,
        icd10: &[String],
    ) -> Result<(), RisError> {
        billing::correct_diagnoses(&self.store, actor, charge, icd10)
    }

    /// Marks a charge reviewed (with CPT modifiers, if any).
    pub fn review_charge(
        &self,
        actor: &Actor,
        charge: i64,
        modifiers: Option<&str>,
    ) -> Result<(), RisError> {
        billing::review(&self.store, actor, charge, modifiers)
    }

    /// Marks a charge billed.
    pub fn mark_billed(&self, actor: &Actor, charge: i64) -> Result<(), RisError> {
        billing::mark_billed(&self.store, actor, charge)
    }

    /// The charges as CSV for the billing service (the export is audited).
    pub fn charges_csv(&self, actor: &Actor, charges: &[ChargeRecord]) -> Result<String, RisError> {
        self.allow(actor, Action::Administer, "charges")?;
        self.audit_read(
            actor,
            "charges.export",
            "charges",
            &format!("{} charges", charges.len()),
        );
        Ok(billing::export_csv(charges))
    }
}
