//! Settings → Workstations: the other PCs of the practice. The administrator names a new
//! workstation and gets a one-time code to type into it (valid 15 minutes, shown once), sees
//! every workstation with where it paired from and its last sign-in, and revokes one (after a
//! confirmation): its sessions end at once.

use super::*;
use crate::access::workstations::PairingCode;
use crate::records::workstations::WorkstationRecord;

/// The tab's own state.
#[derive(Default)]
pub(super) struct WorkstationsTab {
    list: Vec<WorkstationRecord>,
    name: String,
    /// The code just made, shown until the tab is left.
    code: Option<PairingCode>,
    selected: Option<i64>,
    confirm_revoke: bool,
    /// When the list was last read (it is read again every few seconds while a code waits,
    /// so the administrator sees the workstation pair).
    read_at: Option<std::time::Instant>,
}

/// How often the list is read again while a code waits to be used.
const WAITING_REFRESH: std::time::Duration = std::time::Duration::from_secs(2);

fn state_of(w: &WorkstationRecord) -> &'static str {
    if w.revoked_at.is_some() {
        "revoked"
    } else if w.paired_at.is_some() {
        "paired"
    } else {
        "waiting for its code"
    }
}

/// A stored UTC time ("2026-12-06T14:32:10.123Z") in this PC's time ("2026-12-06 15:32").
fn when(at: &Option<String>) -> String {
    at.as_deref()
        .map(|t| match chrono::DateTime::parse_from_rfc3339(t) {
            Ok(utc) => utc
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            Err(_) => t.chars().take(16).collect::<String>().replacen('T', " ", 1),
        })
        .unwrap_or_default()
}

impl SettingsScreen {
    pub(super) fn show_workstations(
        &mut self,
        ui: &mut egui::Ui,
        practice: &Practice,
        actor: &Actor,
    ) {
        let api = self.services.workstation_api();
        let tab = &mut self.workstations;
        if tab.code.is_some() {
            if tab
                .read_at
                .is_some_and(|at| at.elapsed() >= WAITING_REFRESH)
            {
                self.loaded_workstations = false;
            }
            ui.ctx().request_repaint_after(WAITING_REFRESH);
        }
        if !self.loaded_workstations {
            self.loaded_workstations = true;
            tab.read_at = Some(std::time::Instant::now());
            match practice.workstations(actor) {
                Ok(list) => {
                    // A code is shown until its workstation pairs (or is revoked).
                    if let Some(code) = &tab.code
                        && list
                            .iter()
                            .any(|w| w.id == code.workstation && w.paired_at.is_some())
                    {
                        self.message = Some((true, format!("{} is paired.", code.name)));
                        tab.code = None;
                    }
                    tab.list = list;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "workstations could not be read");
                    self.message = Some((false, "The workstations could not be read.".into()));
                }
            }
        }
        match &api {
            Ok(api) => {
                ui.label(format!(
                    "Other PCs of the practice connect to {} as workstations. Pair each one once \
                     with a code made here.",
                    api.address
                ));
            }
            Err(why) => {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("Workstations cannot pair now: {why}."),
                );
            }
        }
        ui.add_space(6.0);
        let mut pair = false;
        ui.horizontal(|ui| {
            let label = ui.label("New workstation's name");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut tab.name)
                        .hint_text("Front desk 2, Dr Reed at home")
                        .desired_width(260.0),
                )
                .labelled_by(label.id);
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let button = ui.add_enabled(api.is_ok(), egui::Button::new("Pair a workstation"));
            pair = enter || button.clicked();
        });
        if pair && let Ok(api) = &api {
            match practice.start_workstation_pairing(actor, &tab.name, &api.ca_fingerprint) {
                Ok(code) => {
                    self.message = Some((
                        true,
                        format!("Type the code into {} within 15 minutes.", code.name),
                    ));
                    tab.code = Some(code);
                    tab.name.clear();
                    self.loaded_workstations = false;
                }
                Err(e) => {
                    self.message = Some((false, format!("No code made: {e}.")));
                }
            }
        }
        if let Some(code) = &tab.code {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.label(format!("Pairing code for {}", code.name));
                ui.label(
                    egui::RichText::new(&code.code)
                        .monospace()
                        .size(28.0)
                        .strong(),
                );
                ui.weak(format!(
                    "Valid until {}, once. It is not shown again.",
                    when(&Some(code.expires_at.clone()))
                ));
            });
        }
        ui.add_space(8.0);
        ui.strong("Workstations");
        if tab.list.is_empty() {
            ui.weak("None yet.");
        }
        egui::Grid::new("workstations")
            .striped(true)
            .num_columns(5)
            .min_col_width(120.0)
            .show(ui, |ui| {
                for h in ["Name", "State", "Paired from", "Paired", "Last sign-in"] {
                    ui.strong(h);
                }
                ui.end_row();
                for w in &tab.list {
                    let chosen = tab.selected == Some(w.id);
                    if ui.selectable_label(chosen, &w.name).clicked() {
                        tab.selected = Some(w.id);
                    }
                    ui.label(state_of(w));
                    ui.label(w.paired_from.clone().unwrap_or_default());
                    ui.label(when(&w.paired_at));
                    ui.label(when(&w.last_seen_at));
                    ui.end_row();
                }
            });
        let selected = tab
            .selected
            .and_then(|id| tab.list.iter().find(|w| w.id == id))
            .filter(|w| w.revoked_at.is_none())
            .cloned();
        ui.add_space(4.0);
        if ui
            .add_enabled(selected.is_some(), egui::Button::new("Revoke workstation…"))
            .clicked()
        {
            tab.confirm_revoke = true;
        }
        if let (true, Some(w)) = (tab.confirm_revoke, &selected) {
            let text = format!(
                "{} will be signed out at once and cannot sign in again; pairing it again needs a \
                 new code.",
                w.name
            );
            match (crate::Confirmation {
                id: "confirm_revoke_workstation",
                heading: "Revoke this workstation?",
                text: &text,
                warning: None,
                keep: "Keep it",
                proceed: "Revoke now",
            })
            .ask(ui.ctx())
            {
                Some(true) => {
                    tab.confirm_revoke = false;
                    self.message = Some(match practice.revoke_workstation(actor, w.id) {
                        Ok(_) => (true, format!("{} revoked; its sessions ended.", w.name)),
                        Err(e) => (false, format!("Not revoked: {e}.")),
                    });
                    self.loaded_workstations = false;
                }
                Some(false) => tab.confirm_revoke = false,
                None => {}
            }
        }
    }
}
