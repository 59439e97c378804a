//! C-FIND latency at STUDY level over an index of 100,000 instances: the store query alone,
//! and the whole round trip through the DICOM listener with our SCU.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use lightbox::app::{self, DataFolder, ServeOptions};
use lightbox::dicom::scu;
use lightbox::events::EventSender;
use lightbox_store::Store;
use lightbox_store::index::{Column, Condition, Level, Matcher, NewInstance};
use lightbox_store::nodes::DicomNode;

const STUDIES: usize = 2_000;
const SERIES_PER_STUDY: usize = 2;
const INSTANCES_PER_SERIES: usize = 25; // 2,000 × 2 × 25 = 100,000 instances

fn fill(path: &Path) {
    let mut store = Store::open(path).expect("store");
    let mut batch = Vec::with_capacity(5_000);
    for s in 0..STUDIES {
        for se in 0..SERIES_PER_STUDY {
            for i in 0..INSTANCES_PER_SERIES {
                batch.push(NewInstance {
                    patient_id: format!("P{:05}", s / 2),
                    patient_name: format!("NAME{:05}^GIVEN", s / 2),
                    birth_date: "19700101".into(),
                    sex: "F".into(),
                    study_uid: format!("1.2.3.{s}"),
                    study_date: format!("2026{:02}{:02}", 1 + s % 12, 1 + s % 28),
                    study_time: "101500".into(),
                    accession: format!("ACC{s:06}"),
                    study_description: "CT CHEST".into(),
                    series_uid: format!("1.2.3.{s}.{se}"),
                    modality: if se == 0 { "CT".into() } else { "SR".into() },
                    series_number: se.to_string(),
                    sop_uid: format!("1.2.3.{s}.{se}.{i}"),
                    sop_class: "1.2.840.10008.5.1.4.1.1.2".into(),
                    instance_number: i.to_string(),
                    file_path: format!("00/00/{s}_{se}_{i}.dcm"),
                    file_size: 1,
                    transfer_syntax: "1.2.840.10008.1.2.1".into(),
                    header_hash: String::new(),
                    received_from: "BENCH".into(),
                    ..NewInstance::default()
                });
                if batch.len() == 5_000 {
                    store.index_instances(&batch).expect("index");
                    batch.clear();
                }
            }
        }
    }
    store.index_instances(&batch).expect("index");
    assert_eq!(store.instance_count().expect("count"), 100_000);
}

fn find_benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataFolder::resolve(Some(dir.path())).expect("data folder");
    fill(&data.database());
    let store = Store::open(&data.database()).expect("store");

    let mut group = c.benchmark_group("c_find_study_level_100k");
    group.bench_function("store/accession_exact", |b| {
        let cond = [Condition {
            column: Column::Accession,
            matcher: Matcher::Exact("ACC001234".into()),
        }];
        b.iter(|| store.query_index(Level::Study, &cond, 1000).expect("query"))
    });
    group.bench_function("store/name_wildcard", |b| {
        let cond = [Condition {
            column: Column::PatientName,
            matcher: Matcher::Glob {
                pattern: "NAME0012*".into(),
                case_insensitive: true,
            },
        }];
        b.iter(|| store.query_index(Level::Study, &cond, 1000).expect("query"))
    });
    group.bench_function("store/date_range_one_day", |b| {
        let cond = [Condition {
            column: Column::StudyDate,
            matcher: Matcher::Range("20260105".into(), "20260105".into()),
        }];
        b.iter(|| store.query_index(Level::Study, &cond, 1000).expect("query"))
    });
    group.bench_function("store/modality_in_study", |b| {
        let cond = [
            Condition {
                column: Column::Modality,
                matcher: Matcher::Exact("CT".into()),
            },
            Condition {
                column: Column::PatientId,
                matcher: Matcher::Exact("P00042".into()),
            },
        ];
        b.iter(|| store.query_index(Level::Study, &cond, 1000).expect("query"))
    });

    // The whole round trip: association, C-FIND, answers, release.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    store
        .save_node(&DicomNode::new("me", "BENCH", "127.0.0.1", 1))
        .expect("node");
    let services = rt
        .block_on(app::start_services(
            &data,
            &ServeOptions {
                dicom_port: Some(0),
                ..Default::default()
            },
            EventSender::discard(),
        ))
        .expect("services");
    let node = DicomNode::new("self", "LIGHTBOX", "127.0.0.1", services.dicom_addr.port());
    let mut id = InMemDicomObject::new_empty();
    id.put(DataElement::new(
        tags::QUERY_RETRIEVE_LEVEL,
        VR::CS,
        PrimitiveValue::from("STUDY"),
    ));
    id.put(DataElement::new(
        tags::PATIENT_NAME,
        VR::PN,
        PrimitiveValue::from("NAME0012*"),
    ));
    for (tag, vr) in [
        (tags::STUDY_INSTANCE_UID, VR::UI),
        (tags::STUDY_DATE, VR::DA),
        (tags::ACCESSION_NUMBER, VR::SH),
        (tags::MODALITIES_IN_STUDY, VR::CS),
        (tags::NUMBER_OF_STUDY_RELATED_INSTANCES, VR::IS),
    ] {
        id.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
    }
    group.bench_function("network/name_wildcard_round_trip", |b| {
        b.iter(|| {
            let answers = rt.block_on(scu::find(&node, "BENCH", &id)).expect("find");
            assert_eq!(answers.len(), 20);
        })
    });
    group.finish();
    services.stop();
}

criterion_group!(benches, find_benches);
criterion_main!(benches);
