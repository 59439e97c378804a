//! The HIS/RIS domain rules through the library, on a fresh store per test: registration and
//! duplicates, orders and their validation, placement on the schedule, conflicts, the exam
//! state machine, roles and the audit log; and `lightbox exam` / `lightbox worklist`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

#[path = "../common/mod.rs"]
mod common;

mod orders_and_schedule;
mod patients;
mod reading_and_billing;
mod roles_and_passwords;

use chrono::{NaiveDate, NaiveDateTime};
use lightbox::access::{self, AccessError, Actor, Role};
use lightbox::his::{self, HisError, Registration};
use lightbox::ris::scheduling;
use lightbox::ris::{self, ExamStatus, OrderRequest, Priority, RisError};
use lightbox_store::Store;
use lightbox_store::his::{InsurancePolicy, PatientIdentifier, PatientRecord};

/// Monday 30 November 2026, 09:00 local.
fn monday_9am() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 30)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

fn at(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, day)
        .unwrap()
        .and_hms_opt(hour, minute, 0)
        .unwrap()
}

fn fresh_store(dir: &std::path::Path) -> Store {
    let store = crate::common::store(dir);
    ris::seed_starter_data(&store).unwrap();
    store
}

fn desk() -> Actor {
    Actor {
        login: "anna".into(),
        role: Role::FrontDesk,
        origin: "desk-1".into(),
    }
}

fn tech() -> Actor {
    Actor {
        login: "tom".into(),
        role: Role::Technologist,
        origin: "ct-console".into(),
    }
}

fn patient(store: &mut Store, family: &str, given: &str, birth: &str) -> PatientRecord {
    his::register(
        store,
        &desk(),
        &Registration {
            patient: PatientRecord {
                family_name: family.into(),
                given_name: given.into(),
                birth_date: birth.into(),
                sex: "F".into(),
                ..PatientRecord::default()
            },
            identifiers: vec![],
            confirmed_new: false,
        },
    )
    .unwrap()
}

fn order(patient: Option<i64>, code: &str, requested: Option<NaiveDateTime>) -> OrderRequest {
    OrderRequest {
        patient,
        placer_number: String::new(),
        placer_app: "EHR".into(),
        procedure_code: code.into(),
        priority: Priority::Routine,
        reason: "pain".into(),
        icd10: vec!["M54.5".into()],
        referring: None,
        insurance: None,
        authorisation: String::new(),
        requested_time: requested,
        supplied: None,
    }
}
