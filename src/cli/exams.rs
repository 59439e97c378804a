//! `lightbox exam`, `worklist`, `patients` and `reconcile`: one exam's story, a day's
//! scheduled steps, patient merges, and the reconciliation queue — all through the Practice
//! API as the signed-in user (checked and audited there).

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use lightbox::access::Actor;
use lightbox::practice::Practice;

/// Patient actions for scripts.
#[derive(Subcommand)]
pub enum PatientsAction {
    /// Merge one patient into another; their orders, identifiers and archived studies move.
    Merge {
        /// MRN of the patient kept.
        #[arg(long)]
        keep: String,
        /// MRN of the patient merged into it.
        #[arg(long)]
        merge: String,
    },
    /// Undo a merge exactly.
    Unmerge {
        /// The merge's id (printed by `merge`).
        #[arg(long)]
        merge_id: i64,
    },
}

/// What to do with the reconciliation queue.
#[derive(Subcommand)]
pub enum ReconcileAction {
    /// Open items as JSON.
    List,
    /// Link an item's study to the right order (headers corrected, originals kept).
    Link {
        /// Item id (from `reconcile list`).
        #[arg(long)]
        item: i64,
        /// Accession number of the order.
        #[arg(long)]
        accession: String,
    },
    /// Split series out of an item's study into the right order.
    Split {
        /// Item id (from `reconcile list`).
        #[arg(long)]
        item: i64,
        /// Series Instance UIDs to move (repeat the option).
        #[arg(long = "series", required = true)]
        series: Vec<String>,
        /// Accession number of the order they belong to.
        #[arg(long)]
        accession: String,
    },
}

/// `exam`: one exam's state as JSON.
pub fn exam(practice: &Practice, actor: &Actor, accession: &str) -> anyhow::Result<ExitCode> {
    let exam = practice.exam_json(actor, accession)?;
    println!("{}", serde_json::to_string_pretty(&exam)?);
    Ok(ExitCode::SUCCESS)
}

/// `worklist`: the scheduled steps of a day, optionally of one room.
pub fn worklist(
    practice: &Practice,
    actor: &Actor,
    date: Option<String>,
    room: Option<String>,
    clock: lightbox::clock::Clock,
) -> anyhow::Result<ExitCode> {
    let date = match date {
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .with_context(|| format!("--date {d} is not YYYY-MM-DD"))?,
        None => clock.today(),
    };
    let rooms = practice.rooms(None)?;
    let room_id = match room {
        Some(r) => Some(
            rooms
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(&r) || x.station_ae.eq_ignore_ascii_case(&r))
                .with_context(|| format!("no room or station AE {r}"))?
                .id,
        ),
        None => None,
    };
    let steps = practice.steps_on(actor, &date.format("%Y-%m-%d").to_string(), room_id)?;
    let entries: Vec<serde_json::Value> = steps
        .iter()
        .map(|(order, step)| {
            let room = rooms.iter().find(|r| Some(r.id) == step.room);
            serde_json::json!({
                "start": step.start_time,
                "room": room.map(|r| r.name.clone()),
                "station_ae": room.map(|r| r.station_ae.clone()),
                "accession": order.accession,
                "procedure_code": order.procedure_code,
                "priority": order.priority,
                "status": order.status,
                "step_id": step.step_id,
                "study_uid": step.study_uid,
                "walk_in": step.walk_in,
                "patient_row": order.patient,
            })
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&entries)?);
    Ok(ExitCode::SUCCESS)
}

/// `patients merge|unmerge`.
pub fn patients(
    practice: &mut Practice,
    actor: &Actor,
    action: PatientsAction,
) -> anyhow::Result<ExitCode> {
    match action {
        PatientsAction::Merge { keep, merge } => {
            let row = |mrn: &str| -> anyhow::Result<i64> {
                Ok(practice
                    .patient_by_mrn(actor, mrn)?
                    .with_context(|| format!("no patient with MRN {mrn}"))?
                    .id)
            };
            let (kept, merged) = (row(&keep)?, row(&merge)?);
            let record = practice.merge_patients(actor, kept, merged)?;
            println!(
                "merge {}: {merge} into {keep}; {} orders moved",
                record.id,
                record.moved_orders.len()
            );
        }
        PatientsAction::Unmerge { merge_id } => {
            practice.unmerge_patients(actor, merge_id)?;
            println!("merge {merge_id} undone");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `reconcile list|link|split`.
pub fn reconcile(
    practice: &mut Practice,
    actor: &Actor,
    action: ReconcileAction,
) -> anyhow::Result<ExitCode> {
    match action {
        ReconcileAction::List => {
            let items = practice.open_reconciliation(actor)?;
            println!("{}", serde_json::to_string_pretty(&items)?);
        }
        ReconcileAction::Link { item, accession } => {
            let n = practice.link_to_order(actor, item, &accession)?;
            println!("linked item {item} to {accession}; {n} instances corrected");
        }
        ReconcileAction::Split {
            item,
            series,
            accession,
        } => {
            let n = practice.split_series(actor, item, &series, &accession)?;
            println!(
                "split {} series of item {item} to {accession}; {n} instances corrected",
                series.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
