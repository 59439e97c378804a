//! Relevant priors kept on another PACS are fetched before they are needed: for the exam
//! opened in the viewer, and for tomorrow's scheduled exams in the background. The nodes to
//! ask are named in the setting `viewer.prior_nodes`; each is asked (Study Root C-FIND at
//! STUDY level) for every identifier of the patient (MRN and outside IDs, merged patients'
//! too), and each study not yet archived is retrieved by C-GET into the archive through the
//! same ingest as C-STORE.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::scu;
use crate::archive::ingest::Ingest;
use crate::pacs::attributes::text;
use crate::store::Store;
use crate::store::index::{Column, Condition, Level, Matcher};
use crate::store::nodes::DicomNode;

pub use crate::viewing::PRIOR_NODES_SETTING;

pub use crate::viewing::FetchSummary;

/// The nodes to ask, from the setting (unknown names are skipped with a log line).
pub fn prior_nodes(store: &Store) -> Vec<DicomNode> {
    let names = store
        .setting(PRIOR_NODES_SETTING)
        .ok()
        .flatten()
        .unwrap_or_default();
    names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .filter_map(|n| match store.node_by_name(n) {
            Ok(Some(node)) => Some(node),
            _ => {
                tracing::warn!(node = n, "a prior node in the settings is not configured");
                None
            }
        })
        .collect()
}

/// Every identifier of a patient (MRN and outside IDs) by MRN.
pub fn patient_identifiers(store: &Store, mrn: &str) -> Vec<String> {
    let mut ids = vec![mrn.to_string()];
    if let Ok(Some(patient)) = store.patient_by_identifier(mrn, "") {
        ids.extend(
            store
                .patient_identifiers(patient.id)
                .unwrap_or_default()
                .into_iter()
                .map(|i| i.value),
        );
    }
    ids.sort();
    ids.dedup();
    ids
}

fn study_query(patient_id: &str) -> InMemDicomObject {
    let mut q = InMemDicomObject::new_empty();
    let mut put = |tag, vr, v: &str| {
        q.put(DataElement::new(
            tag,
            vr,
            if v.is_empty() {
                PrimitiveValue::Empty
            } else {
                PrimitiveValue::from(v)
            },
        ))
    };
    put(tags::QUERY_RETRIEVE_LEVEL, VR::CS, "STUDY");
    put(tags::PATIENT_ID, VR::LO, patient_id);
    put(tags::STUDY_INSTANCE_UID, VR::UI, "");
    put(tags::STUDY_DATE, VR::DA, "");
    q
}

fn archived(store: &Store, study_uid: &str) -> bool {
    store
        .query_index(
            Level::Study,
            &[Condition {
                column: Column::StudyUid,
                matcher: Matcher::Exact(study_uid.to_string()),
            }],
            1,
        )
        .map(|rows| !rows.is_empty())
        .unwrap_or(false)
}

/// Asks every prior node for the studies of `patient_ids` and retrieves those not archived.
pub async fn fetch(
    store: &Store,
    ingest: &Ingest,
    calling_ae: &str,
    nodes: &[DicomNode],
    patient_ids: &[String],
) -> FetchSummary {
    let mut summary = FetchSummary::default();
    for node in nodes {
        let mut studies = Vec::new();
        for id in patient_ids {
            match scu::find(node, calling_ae, &study_query(id)).await {
                Ok(rows) => studies.extend(
                    rows.iter()
                        .map(|r| text(r, tags::STUDY_INSTANCE_UID))
                        .filter(|u| !u.is_empty()),
                ),
                Err(e) => summary.problems.push(format!("{}: {e}", node.name)),
            }
        }
        studies.sort();
        studies.dedup();
        for study in studies.into_iter().filter(|s| !archived(store, s)) {
            summary.missing += 1;
            let mut identifier = InMemDicomObject::new_empty();
            identifier.put(DataElement::new(
                tags::QUERY_RETRIEVE_LEVEL,
                VR::CS,
                PrimitiveValue::from("STUDY"),
            ));
            identifier.put(DataElement::new(
                tags::STUDY_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(study.as_str()),
            ));
            let classes = scu::sop_classes_of_study(node, calling_ae, &study).await;
            match scu::get(node, calling_ae, &identifier, &classes, ingest).await {
                Ok(s) if s.received > 0 => {
                    summary.fetched += 1;
                    summary.instances += s.received;
                }
                Ok(s) => summary.problems.push(format!(
                    "{}: study {study} came back empty (status 0x{:04X})",
                    node.name, s.status
                )),
                Err(e) => summary.problems.push(format!("{}: {e}", node.name)),
            }
        }
    }
    tracing::info!(
        missing = summary.missing,
        fetched = summary.fetched,
        instances = summary.instances,
        "priors fetched"
    );
    summary
}

/// Fetches the priors of every patient with an exam on `date` (YYYY-MM-DD): the background
/// job runs it for tomorrow, so the radiologist never waits for an old study.
pub async fn prefetch_for_day(
    store: &Store,
    ingest: &Ingest,
    calling_ae: &str,
    date: &str,
) -> FetchSummary {
    let nodes = prior_nodes(store);
    let mut total = FetchSummary::default();
    if nodes.is_empty() {
        return total;
    }
    let mut mrns: Vec<String> = store
        .worklist_rows(Some(date), Some(date), None)
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.patient.mrn)
        .collect();
    mrns.sort();
    mrns.dedup();
    for mrn in mrns {
        let ids = patient_identifiers(store, &mrn);
        let s = fetch(store, ingest, calling_ae, &nodes, &ids).await;
        total.missing += s.missing;
        total.fetched += s.fetched;
        total.instances += s.instances;
        total.problems.extend(s.problems);
    }
    total
}

/// How often the background job looks at tomorrow's schedule.
const PREFETCH_EVERY: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The background job: every half hour, fetches the priors of tomorrow's patients from the
/// prior nodes. Runs on its own thread (the store is not shared across tasks); stops when
/// `shutdown` says so or its sender is gone. Supervised: a failure restarts it.
pub fn spawn_prefetcher(
    database: std::path::PathBuf,
    ingest: Ingest,
    clock: crate::clock::Clock,
    shutdown: tokio::sync::watch::Receiver<bool>,
    health: crate::health::HealthBoard,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    crate::health::supervise_thread(
        health,
        "prior-prefetch",
        "fetching tomorrow's patients' priors every half hour".into(),
        move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start its runtime: {e}"))?;
            let mut last_run: Option<std::time::Instant> = None;
            loop {
                if *shutdown.borrow() || shutdown.has_changed().is_err() {
                    return Ok(());
                }
                if last_run.is_none_or(|t| t.elapsed() >= PREFETCH_EVERY) {
                    last_run = Some(std::time::Instant::now());
                    match Store::open(&database) {
                        Ok(store) if !prior_nodes(&store).is_empty() => {
                            let ae = store
                                .setting(crate::site::AE_TITLE_SETTING)
                                .ok()
                                .flatten()
                                .unwrap_or_else(|| crate::site::DEFAULT_AE_TITLE.into());
                            let tomorrow = (clock.today() + chrono::Duration::days(1))
                                .format("%Y-%m-%d")
                                .to_string();
                            let s =
                                runtime.block_on(prefetch_for_day(&store, &ingest, &ae, &tomorrow));
                            for p in &s.problems {
                                tracing::warn!(problem = %p, "a prior could not be fetched");
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!(error = %e, "the prior prefetcher cannot open the store")
                        }
                    }
                }
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        },
    )
}

/// Fetches the priors of the exam `accession` (its patient under every identifier) from the
/// prior nodes into the archive, on a small runtime of its own: what the viewer asks for when
/// a radiologist opens an exam. Blocking; for a worker thread.
pub fn fetch_for_exam(
    database: &std::path::Path,
    ingest: &Ingest,
    accession: &str,
) -> FetchSummary {
    let problem = |why: String| FetchSummary {
        problems: vec![why],
        ..FetchSummary::default()
    };
    let store = match Store::open(database) {
        Ok(s) => s,
        Err(e) => return problem(format!("the database could not be opened: {e}")),
    };
    let nodes = prior_nodes(&store);
    let mrn = store
        .order_by_accession(accession)
        .ok()
        .flatten()
        .and_then(|o| o.patient)
        .and_then(|id| store.patient(id).ok())
        .map(|p| p.mrn);
    let Some(mrn) = mrn else {
        return problem(format!("no patient is known for {accession}"));
    };
    let ae = store
        .setting(crate::site::AE_TITLE_SETTING)
        .ok()
        .flatten()
        .unwrap_or_else(|| crate::site::DEFAULT_AE_TITLE.into());
    // The ingest tells its runtime when it blocks (`block_in_place`), which only a
    // multi-threaded runtime allows: one worker is enough.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return problem(format!("the fetch could not start: {e}")),
    };
    let ids = patient_identifiers(&store, &mrn);
    runtime.block_on(fetch(&store, ingest, &ae, &nodes, &ids))
}
