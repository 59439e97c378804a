//! Settings → Getting started: the set-up of a practice as a checklist (its details, rooms and
//! hours, users, scanners, the EHR that sends orders, where results go), each part with its
//! state and a button to the tab that sets it up. The first run ends here, and it stays
//! reachable for later.

use super::*;

/// One part of the set-up: what it is, whether it is done, what there is, where to do it.
struct Part {
    title: &'static str,
    done: bool,
    state: String,
    tab: SettingsTab,
    why: &'static str,
}

impl SettingsScreen {
    pub(super) fn show_getting_started(
        &mut self,
        ui: &mut egui::Ui,
        practice: &Practice,
        actor: &Actor,
    ) {
        let count = |n: usize, one: &str, many: &str| match n {
            0 => format!("no {many} yet"),
            1 => format!("1 {one}"),
            n => format!("{n} {many}"),
        };
        let rooms = practice.rooms(None).map(|r| r.len()).unwrap_or(0);
        let users = practice.users(actor).map(|u| u.len()).unwrap_or(0);
        let nodes = practice.nodes().map(|n| n.len()).unwrap_or(0);
        let sources = practice.hl7_sources().map(|s| s.len()).unwrap_or(0);
        let destinations = practice.destinations().map(|d| d.len()).unwrap_or(0);
        let name = practice.name();
        let parts = [
            Part {
                title: "Practice details",
                done: !name.trim().is_empty() && !practice.letterhead().lines.is_empty(),
                state: if name.trim().is_empty() {
                    "no name yet".into()
                } else {
                    name.clone()
                },
                tab: SettingsTab::Practice,
                why: "the name, address and phone on every printed report; AE title and ports",
            },
            Part {
                title: "Rooms and opening hours",
                done: rooms > 0,
                state: count(rooms, "room", "rooms"),
                tab: SettingsTab::Rooms,
                why: "where exams are booked, and when",
            },
            Part {
                title: "Staff accounts",
                done: users > 1,
                state: count(users, "account", "accounts"),
                tab: SettingsTab::Users,
                why: "front desk, technologists and radiologists each sign in as themselves",
            },
            Part {
                title: "Scanners and other DICOM nodes",
                done: nodes > 0,
                state: count(nodes, "node", "nodes"),
                tab: SettingsTab::DicomNodes,
                why: "the modalities that ask for their worklist and send images",
            },
            Part {
                title: "EHR sending orders (HL7 sources)",
                done: sources > 0,
                state: count(sources, "source", "sources"),
                tab: SettingsTab::Hl7Sources,
                why: "who may send orders and patients; anyone else is refused",
            },
            Part {
                title: "Where results go (HL7 destinations)",
                done: destinations > 0,
                state: count(destinations, "destination", "destinations"),
                tab: SettingsTab::Hl7,
                why: "signed reports back to the referring doctor's chart",
            },
        ];
        let finished = parts.iter().filter(|p| p.done).count();
        ui.heading(format!(
            "Getting started: {finished} of {} parts set up",
            parts.len()
        ));
        ui.label("Each part can be done now or later; this list stays here in Settings.");
        ui.add_space(8.0);
        let mut go_to = None;
        egui::Grid::new("getting_started")
            .num_columns(4)
            .striped(true)
            .spacing([16.0, 8.0])
            .show(ui, |ui| {
                for part in &parts {
                    if part.done {
                        ui.colored_label(ui.visuals().hyperlink_color, "done");
                    } else {
                        ui.colored_label(ui.visuals().warn_fg_color, "to do");
                    }
                    ui.vertical(|ui| {
                        ui.strong(part.title);
                        ui.weak(part.why);
                    });
                    ui.label(&part.state);
                    if ui
                        .button(format!("Set up {}", part.title.to_lowercase()))
                        .clicked()
                    {
                        go_to = Some(part.tab);
                    }
                    ui.end_row();
                }
            });
        if let Some(tab) = go_to {
            self.tab = tab;
            self.message = None;
        }
    }
}
