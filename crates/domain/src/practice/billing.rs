//! Charges: review, diagnosis corrections, marking billed, the CSV for the billing service.

use super::Practice;
use super::remote::forward;
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
        forward!(self, "charges", status);
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
        forward!(self, "correct_diagnoses", charge, icd10);
        billing::correct_diagnoses(&self.store, actor, charge, icd10)
    }

    /// Marks a charge reviewed (with CPT modifiers, if any).
    pub fn review_charge(
        &self,
        actor: &Actor,
        charge: i64,
        modifiers: Option<&str>,
    ) -> Result<(), RisError> {
        forward!(self, "review_charge", charge, modifiers);
        billing::review(&self.store, actor, charge, modifiers)
    }

    /// Marks a charge billed.
    pub fn mark_billed(&self, actor: &Actor, charge: i64) -> Result<(), RisError> {
        forward!(self, "mark_billed", charge);
        billing::mark_billed(&self.store, actor, charge)
    }

    /// The charges as CSV for the billing service (the export is audited).
    pub fn charges_csv(&self, actor: &Actor, charges: &[ChargeRecord]) -> Result<String, RisError> {
        forward!(self, "charges_csv", charges);
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
