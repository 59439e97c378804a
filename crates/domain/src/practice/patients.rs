//! Patients (the HIS lane): search, the chart, registration, edits, insurance, merges.

use super::Practice;
use super::remote::forward;
use crate::access::{Action, Actor, ReadOccasion};
use crate::his::{self, HisError, Registration, TimelineEntry};
use crate::store::his::{
    InsurancePolicy, MergeRecord, PatientIdentifier, PatientRecord, ReferringPhysician,
};
use crate::store::ris::OrderRecord;

/// Everything the record screen shows of one patient, read (and audited) at once.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PatientChart {
    /// Demographics.
    pub patient: PatientRecord,
    /// Outside identifiers (other clinics' MRNs).
    pub identifiers: Vec<PatientIdentifier>,
    /// Their orders, newest first.
    pub orders: Vec<OrderRecord>,
    /// Insurance policies with their authorisation (status, number, valid from, valid to).
    pub insurance: Vec<(InsurancePolicy, (String, String, String, String))>,
    /// What happened to them here, in order.
    pub timeline: Vec<TimelineEntry>,
}

/// What merging a duplicate into a record would do, shown before it is done.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MergePreview {
    /// The duplicate that would be merged.
    pub merged: PatientRecord,
    /// Orders that would move.
    pub orders: usize,
    /// Identifiers that would move.
    pub identifiers: usize,
    /// Archived studies whose headers would be corrected.
    pub studies: usize,
}

impl Practice {
    /// Patients whose name, MRN, identifier or birth date matches `text` (at most `limit`).
    /// Audited as `patient.search` with the rows shown (their row ids, never names).
    pub fn search_patients(
        &self,
        actor: &Actor,
        text: &str,
        limit: usize,
    ) -> Result<Vec<PatientRecord>, HisError> {
        forward!(self, "search_patients", text, limit);
        self.allow(actor, Action::ReadPatient, "patient:search")?;
        let rows = self.store.search_patients(text, limit)?;
        let shown: Vec<String> = rows.iter().take(50).map(|p| p.mrn.clone()).collect();
        self.audit_read(
            actor,
            "patient.search",
            "patient:search",
            &format!("{} matches: {}", rows.len(), shown.join(" ")),
        );
        Ok(rows)
    }

    /// One patient's chart: demographics, identifiers, orders, insurance and timeline. Audited
    /// once as `patient.read` when the person opened the record ([`ReadOccasion::Opened`]);
    /// reading it again after a change elsewhere is checked, not audited again.
    pub fn patient_chart(
        &self,
        actor: &Actor,
        patient: i64,
        occasion: ReadOccasion,
    ) -> Result<PatientChart, HisError> {
        forward!(self, "patient_chart", patient, occasion);
        let timeline = his::timeline(&self.store, actor, patient, occasion)?;
        let insurance = self
            .store
            .insurance_of(patient)?
            .into_iter()
            .map(|p| {
                let auth = self.store.authorisation(p.id).unwrap_or_default();
                (p, auth)
            })
            .collect();
        Ok(PatientChart {
            patient: self.store.patient(patient)?,
            identifiers: self.store.patient_identifiers(patient)?,
            orders: self.store.orders_of_patient(patient)?,
            insurance,
            timeline,
        })
    }

    /// The patient with this MRN (or outside identifier of any issuer), if any (audited).
    pub fn patient_by_mrn(
        &self,
        actor: &Actor,
        mrn: &str,
    ) -> Result<Option<PatientRecord>, HisError> {
        forward!(self, "patient_by_mrn", mrn);
        self.allow(actor, Action::ReadPatient, &format!("patient:{mrn}"))?;
        let found = self.store.patient_by_identifier(mrn, "")?;
        if let Some(p) = &found {
            self.audit_read(actor, "patient.read", &format!("patient:{}", p.mrn), "");
        }
        Ok(found)
    }

    /// Registers a patient (refused as a possible duplicate unless `confirmed_new`).
    pub fn register_patient(
        &mut self,
        actor: &Actor,
        registration: &Registration,
    ) -> Result<PatientRecord, HisError> {
        forward!(self, "register_patient", registration);
        his::register(&mut self.store, actor, registration)
    }

    /// Changes a patient's demographics.
    pub fn update_patient(&self, actor: &Actor, patient: &PatientRecord) -> Result<(), HisError> {
        forward!(self, "update_patient", patient);
        his::update_patient(&self.store, actor, patient)
    }

    /// Adds an insurance policy; its row id.
    pub fn add_insurance(&self, actor: &Actor, policy: &InsurancePolicy) -> Result<i64, HisError> {
        forward!(self, "add_insurance", policy);
        his::add_insurance(&self.store, actor, policy)
    }

    /// Records the payer's answer on eligibility.
    pub fn record_eligibility(
        &self,
        actor: &Actor,
        policy: i64,
        eligible: bool,
    ) -> Result<(), HisError> {
        forward!(self, "record_eligibility", policy, eligible);
        his::record_eligibility(&self.store, actor, policy, eligible)
    }

    /// Records a prior authorisation (number and validity).
    pub fn record_authorisation(
        &self,
        actor: &Actor,
        policy: i64,
        number: &str,
        valid_from: &str,
        valid_to: &str,
    ) -> Result<(), HisError> {
        forward!(
            self,
            "record_authorisation",
            policy,
            number,
            valid_from,
            valid_to
        );
        his::record_authorisation(&self.store, actor, policy, number, valid_from, valid_to)
    }

    /// What merging the patient with MRN `duplicate` into `kept` would move (nothing changes).
    pub fn merge_preview(
        &self,
        actor: &Actor,
        kept: i64,
        duplicate: &str,
    ) -> Result<MergePreview, HisError> {
        forward!(self, "merge_preview", kept, duplicate);
        let merged = self
            .store
            .patient_by_identifier(duplicate, "")?
            .ok_or_else(|| HisError::Invalid(format!("No patient has MRN {duplicate}.")))?;
        let (orders, identifiers) = his::merge_preview(&self.store, actor, kept, merged.id)?;
        let mut ids = vec![merged.mrn.clone()];
        ids.extend(
            self.store
                .patient_identifiers(merged.id)?
                .into_iter()
                .map(|i| i.value),
        );
        let studies = self.store.archived_studies_of(&ids)?.len();
        Ok(MergePreview {
            merged,
            orders: orders.len(),
            identifiers: identifiers.len(),
            studies,
        })
    }

    /// Merges `merged` into `kept`: orders, identifiers and archived studies move (headers
    /// corrected, originals kept); undoable.
    pub fn merge_patients(
        &mut self,
        actor: &Actor,
        kept: i64,
        merged: i64,
    ) -> Result<MergeRecord, HisError> {
        forward!(self, "merge_patients", kept, merged);
        let archive = self.archive();
        his::merge_with_archive(&mut self.store, &archive, actor, kept, merged)
    }

    /// Undoes a merge exactly.
    pub fn unmerge_patients(&mut self, actor: &Actor, merge_id: i64) -> Result<(), HisError> {
        forward!(self, "unmerge_patients", merge_id);
        let archive = self.archive();
        his::unmerge_with_archive(&mut self.store, &archive, actor, merge_id)
    }

    /// Adds (or finds) a referring physician; its row id.
    pub fn add_referring(
        &self,
        actor: &Actor,
        physician: &ReferringPhysician,
    ) -> Result<i64, HisError> {
        forward!(self, "add_referring", physician);
        his::add_referring(&self.store, actor, physician)
    }
}
