//! The Modality Worklist as the scanners see it: the items the C-FIND SCP would answer today,
//! built by the same function (`ris::worklist::worklist_item`) and read back attribute by
//! attribute, grouped by station AE title. Shown on the Integration monitor and to the
//! technologist, so "why is my patient not on the scanner?" has an answer on screen.

pub use crate::ris::worklist::ScannerItem;

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
