//! RIS benchmarks: Modality Worklist C-FIND for one day of one room over a schedule of 50,000
//! steps (the domain query alone and the whole network round trip), and free-slot search
//! over a month of a 5-room schedule that is full until its last day.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failed step is a failed run

use chrono::{Duration, NaiveDate, NaiveDateTime};
use criterion::{Criterion, criterion_group, criterion_main};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use lightbox::app::{self, DataFolder, ServeOptions};
use lightbox::dicom::scu;
use lightbox::events::EventSender;
use lightbox::ris::{self, scheduling};
use lightbox_store::Store;
use lightbox_store::his::PatientRecord;
use lightbox_store::nodes::DicomNode;
use lightbox_store::ris::{OrderRecord, StepRecord};

const STEPS: usize = 50_000;

fn day0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 5)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
}

/// 50,000 scheduled steps over the seeded rooms, 10 a day per room, 1,000 patients.
fn fill_schedule(store: &mut Store) {
    let mut patients = Vec::new();
    for i in 0..1_000 {
        let p = PatientRecord {
            mrn: format!("B{i:07}"),
            family_name: format!("BENCH{i}"),
            given_name: "PAT".into(),
            birth_date: "1970-01-01".into(),
            sex: "F".into(),
            pregnancy: "unknown".into(),
            ..PatientRecord::default()
        };
        patients.push(store.insert_patient(&p, &[]).unwrap());
    }
    let rooms = store.rooms(None).unwrap();
    for n in 0..STEPS {
        let room = &rooms[n % rooms.len()];
        let slot = n / rooms.len();
        let start = day0()
            + Duration::days((slot / 10) as i64)
            + Duration::minutes(((slot % 10) * 45) as i64);
        let order = OrderRecord {
            patient: Some(patients[n % patients.len()]),
            filler_number: format!("BF{n:08}"),
            accession: format!("BA{n:08}"),
            procedure_code: "70450".into(),
            priority: "ROUTINE".into(),
            status: "scheduled".into(),
            ..OrderRecord::default()
        };
        let step = StepRecord {
            requested_procedure_id: format!("BRP{n:08}"),
            step_id: format!("BSPS{n:08}"),
            study_uid: format!("1.2.826.0.1.3680043.10.{n}"),
            room: Some(room.id),
            start_time: start.format(ris::LOCAL_TIME_FORMAT).to_string(),
            duration_minutes: 45,
            ..StepRecord::default()
        };
        store.insert_order(&order, &step, "bench", "").unwrap();
    }
}

fn worklist_request(station: &str, date: &str) -> InMemDicomObject {
    let mut request = InMemDicomObject::new_empty();
    for (tag, vr) in [
        (tags::PATIENT_NAME, VR::PN),
        (tags::PATIENT_ID, VR::LO),
        (tags::ACCESSION_NUMBER, VR::SH),
        (tags::STUDY_INSTANCE_UID, VR::UI),
    ] {
        request.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
    }
    let mut sps = InMemDicomObject::new_empty();
    sps.put(DataElement::new(
        tags::SCHEDULED_STATION_AE_TITLE,
        VR::AE,
        PrimitiveValue::from(station),
    ));
    sps.put(DataElement::new(
        tags::SCHEDULED_PROCEDURE_STEP_START_DATE,
        VR::DA,
        PrimitiveValue::from(date),
    ));
    sps.put(DataElement::new(
        tags::MODALITY,
        VR::CS,
        PrimitiveValue::Empty,
    ));
    sps.put(DataElement::new(
        tags::SCHEDULED_PROCEDURE_STEP_ID,
        VR::SH,
        PrimitiveValue::Empty,
    ));
    request.put(DataElement::new(
        tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(vec![sps]),
    ));
    request
}

fn ris_benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let data = DataFolder::resolve(Some(dir.path())).unwrap();
    let mut store = {
        let s = lightbox_store::Store::open(&data.database()).unwrap();
        lightbox::ris::seed_starter_data(&s).unwrap();
        s
    };
    fill_schedule(&mut store);
    // One day in the middle of the schedule.
    let date = (day0() + Duration::days(400)).format("%Y%m%d").to_string();
    let request = worklist_request("CT1", &date);
    let answers = ris::worklist::find(&store, &request).unwrap();
    assert_eq!(answers.len(), 10, "one room's day");

    let mut group = c.benchmark_group("modality_worklist_50k_steps");
    group.bench_function("domain/one_room_one_day", |b| {
        b.iter(|| ris::worklist::find(&store, &request).unwrap())
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let options = ServeOptions {
        dicom_port: Some(0),
        ..ServeOptions::default()
    };
    store
        .set_setting(lightbox::pacs::admission::ALLOW_UNKNOWN_QUERY, "1")
        .unwrap();
    let services = runtime
        .block_on(app::start_services(&data, &options, EventSender::discard()))
        .unwrap();
    let node = DicomNode::new("self", "LIGHTBOX", "127.0.0.1", services.dicom_addr.port());
    group.bench_function("network/one_room_one_day_round_trip", |b| {
        b.iter(|| {
            let answers = runtime
                .block_on(scu::find(&node, "BENCH", &request))
                .unwrap();
            assert_eq!(answers.len(), 10);
        })
    });
    group.finish();

    // Slot search: 5 MR rooms, each booked solid 08:00–18:00 for 29 weekdays-or-not days.
    let slot_dir = tempfile::tempdir().unwrap();
    let mut slots = Store::open(&slot_dir.path().join("lightbox.sqlite")).unwrap();
    ris::seed_starter_data(&slots).unwrap();
    let all_week = std::array::from_fn(|_| "08:00-18:00".to_string());
    for r in 2..=5 {
        slots
            .insert_room(&format!("MR {r}"), "MR", &format!("MR{r}"), &all_week)
            .unwrap();
    }
    let mr_rooms = slots.rooms(Some("MR")).unwrap();
    let month_start = NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let mut n = 0;
    for day in 0..29 {
        for room in &mr_rooms {
            if room.hours[ris_weekday(month_start + Duration::days(day))].is_empty() {
                continue;
            }
            for k in 0..20 {
                let start = month_start + Duration::days(day) + Duration::minutes(k * 30);
                let order = OrderRecord {
                    filler_number: format!("SF{n:08}"),
                    accession: format!("SA{n:08}"),
                    procedure_code: "70551".into(),
                    priority: "ROUTINE".into(),
                    status: "scheduled".into(),
                    ..OrderRecord::default()
                };
                let step = StepRecord {
                    requested_procedure_id: format!("SRP{n:08}"),
                    step_id: format!("SSPS{n:08}"),
                    study_uid: format!("1.2.826.0.1.3680043.11.{n}"),
                    room: Some(room.id),
                    start_time: start.format(ris::LOCAL_TIME_FORMAT).to_string(),
                    duration_minutes: 30,
                    ..StepRecord::default()
                };
                slots.insert_order(&order, &step, "bench", "").unwrap();
                n += 1;
            }
        }
    }
    let found = scheduling::find_slot(&slots, "MR", 45, month_start, 62)
        .unwrap()
        .unwrap();
    assert!(found.start >= month_start + Duration::days(29), "{found:?}");
    let mut group = c.benchmark_group("slot_search_month_5_rooms");
    group.bench_function("first_free_45_minutes", |b| {
        b.iter(|| scheduling::find_slot(&slots, "MR", 45, month_start, 62).unwrap())
    });
    group.finish();
    drop(services);
}

fn ris_weekday(t: NaiveDateTime) -> usize {
    use chrono::Datelike;
    t.weekday().num_days_from_monday() as usize
}

criterion_group!(benches, ris_benches);
criterion_main!(benches);
