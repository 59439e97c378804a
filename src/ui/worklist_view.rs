//! The Modality Worklist as the scanners see it: the items the C-FIND SCP would answer today,
//! built by the same function (`ris::worklist::worklist_item`) and read back attribute by
//! attribute, grouped by station AE title. Shown on the Integration monitor and to the
//! technologist, so "why is my patient not on the scanner?" has an answer on screen.

use dicom_dictionary_std::tags;

use crate::pacs::attributes::text;
use crate::ris::worklist::worklist_item;
use crate::store::Store;

/// One line of a scanner's worklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerItem {
    /// Scheduled Station AE Title.
    pub station_ae: String,
    /// SPS start date and time as sent (YYYYMMDD HHMMSS).
    pub start: String,
    /// Patient's Name as sent (DICOM PN).
    pub patient_name: String,
    /// Patient ID.
    pub patient_id: String,
    /// Accession Number.
    pub accession: String,
    /// Modality of the step.
    pub modality: String,
    /// Scheduled Procedure Step Description.
    pub description: String,
}

/// Today's worklist items for every station (or an error to show).
pub fn read(store: &Store, date: &str) -> Result<Vec<ScannerItem>, crate::store::StoreError> {
    let rows = store.worklist_rows(Some(date), Some(date), None)?;
    Ok(rows
        .iter()
        .map(|row| {
            let item = worklist_item(row);
            let step = item
                .get(tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE)
                .and_then(|e| e.items())
                .and_then(|items| items.first().cloned())
                .unwrap_or_else(dicom_object::InMemDicomObject::new_empty);
            ScannerItem {
                station_ae: text(&step, tags::SCHEDULED_STATION_AE_TITLE),
                start: format!(
                    "{} {}",
                    text(&step, tags::SCHEDULED_PROCEDURE_STEP_START_DATE),
                    text(&step, tags::SCHEDULED_PROCEDURE_STEP_START_TIME)
                ),
                patient_name: text(&item, tags::PATIENT_NAME),
                patient_id: text(&item, tags::PATIENT_ID),
                accession: text(&item, tags::ACCESSION_NUMBER),
                modality: text(&step, tags::MODALITY),
                description: text(&step, tags::SCHEDULED_PROCEDURE_STEP_DESCRIPTION),
            }
        })
        .collect())
}

/// Draws the items grouped by station (only `station` when given).
pub fn show(ui: &mut egui::Ui, items: &[ScannerItem], station: Option<&str>) {
    let stations: std::collections::BTreeSet<&str> = items
        .iter()
        .map(|i| i.station_ae.as_str())
        .filter(|s| station.is_none_or(|only| only == *s))
        .collect();
    if stations.is_empty() {
        ui.label("No worklist items: the scanners see nothing scheduled today.");
    }
    for s in stations {
        ui.label(format!("Station {s}"));
        egui::Grid::new(("scanner_worklist", s))
            .striped(true)
            .show(ui, |ui| {
                for h in ["Start", "Patient", "ID", "Accession", "Modality", "Step"] {
                    ui.strong(h);
                }
                ui.end_row();
                for i in items.iter().filter(|i| i.station_ae == s) {
                    ui.label(&i.start);
                    ui.label(&i.patient_name);
                    ui.label(&i.patient_id);
                    ui.label(&i.accession);
                    ui.label(&i.modality);
                    ui.label(&i.description);
                    ui.end_row();
                }
            });
    }
}
