//! Settings → Users and Audit log: the accounts of the practice and who read or changed what.

use super::*;

impl SettingsScreen {
    pub(super) fn show_users(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        let roles = [
            Role::FrontDesk,
            Role::Technologist,
            Role::Radiologist,
            Role::Administrator,
        ];
        let mut change: Option<(String, Role, bool)> = None;
        egui::Grid::new("users").striped(true).show(ui, |ui| {
            for h in ["Login", "Name", "Role", "", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for u in &self.users {
                ui.label(&u.login);
                ui.label(&u.full_name);
                let role = Role::from_code(&u.role).unwrap_or(Role::FrontDesk);
                let mut chosen = role;
                egui::ComboBox::from_label(format!("role of {}", u.login))
                    .selected_text(role.code().replace('_', " "))
                    .show_ui(ui, |ui| {
                        for r in roles {
                            ui.selectable_value(&mut chosen, r, r.code().replace('_', " "));
                        }
                    });
                if chosen != role {
                    change = Some((u.login.clone(), chosen, u.active));
                }
                let toggle = if u.active {
                    format!("Disable {}", u.login)
                } else {
                    format!("Enable {}", u.login)
                };
                if ui.button(toggle).clicked() {
                    change = Some((u.login.clone(), role, !u.active));
                }
                ui.end_row();
            }
        });
        if let Some((login, role, active)) = change {
            self.message = Some(outcome(
                practice.change_user(actor, &login, role, active),
                &format!(
                    "{login}: {} , {}.",
                    role.code().replace('_', " "),
                    if active { "may sign in" } else { "disabled" }
                ),
            ));
            self.loaded = false;
        }
        ui.separator();
        ui.strong("New user, or a new password for an existing login");
        let (login, full_name, password, role) = &mut self.user_form;
        egui::Grid::new("user_form").num_columns(2).show(ui, |ui| {
            crate::sign_in::field(ui, "New login", login, false);
            crate::sign_in::field(ui, "Full name", full_name, false);
            crate::sign_in::field(ui, "New password", password, true);
            ui.label("Role");
            ui.horizontal(|ui| {
                for r in roles {
                    ui.selectable_value(role, r, r.code().replace('_', " "));
                }
            });
            ui.end_row();
        });
        let mut created = false;
        let mut password_set = false;
        ui.horizontal(|ui| {
            if ui.button("Create user").clicked() {
                self.message = Some(
                    match practice.create_user(
                        actor,
                        login.trim(),
                        full_name.trim(),
                        *role,
                        password,
                    ) {
                        Ok(_) => (true, format!("{} created.", login.trim())),
                        Err(e) => (false, explain(&AdminError::Access(e))),
                    },
                );
                created = self.message.as_ref().is_some_and(|m| m.0);
                self.loaded = false;
            }
            if ui.button("Set password").clicked() {
                self.message = Some(outcome(
                    practice.reset_password(actor, login.trim(), password),
                    &format!("New password set for {}.", login.trim()),
                ));
                password_set = true;
            }
        });
        if created {
            self.user_form = (String::new(), String::new(), String::new(), Role::FrontDesk);
        }
        if password_set {
            self.user_form.2.clear();
        }
    }

    pub(super) fn show_audit(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        let f = &mut self.audit_filter;
        egui::Grid::new("audit_filter")
            .num_columns(4)
            .show(ui, |ui| {
                let filter = |ui: &mut egui::Ui, label: &str, value: &mut String| {
                    let label = ui.label(label);
                    ui.add(egui::TextEdit::singleline(value).desired_width(120.0))
                        .labelled_by(label.id);
                };
                filter(ui, "Who", &mut f.actor);
                filter(ui, "Action starts with", &mut f.action);
                ui.end_row();
                filter(ui, "Subject contains", &mut f.subject);
                filter(ui, "From (YYYY-MM-DD)", &mut f.from_date);
                filter(ui, "To", &mut f.to_date);
                ui.end_row();
            });
        ui.checkbox(&mut f.refused_only, "Refused only");
        let mut export = false;
        ui.horizontal(|ui| {
            if ui.button("Search audit log").clicked() {
                match practice.search_audit(actor, &self.audit_filter) {
                    Ok(entries) => {
                        self.message = Some((
                            true,
                            format!(
                                "{} entries{}.",
                                entries.len(),
                                if entries.len() >= administration::AUDIT_PAGE {
                                    " (the newest; narrow the filter to see older ones)"
                                } else {
                                    ""
                                }
                            ),
                        ));
                        self.audit = entries;
                    }
                    Err(e) => self.message = Some((false, explain(&e))),
                }
            }
            if ui
                .add_enabled(
                    !self.audit.is_empty(),
                    egui::Button::new("Export audit CSV"),
                )
                .clicked()
            {
                export = true;
            }
        });
        if export {
            let name = format!("audit-{}.csv", chrono::Local::now().format("%Y%m%d-%H%M%S"));
            let folder = practice.exports_folder();
            let file = folder.join(&name);
            self.message = Some(
                match std::fs::create_dir_all(&folder)
                    .and_then(|()| std::fs::write(&file, administration::audit_csv(&self.audit)))
                {
                    Ok(()) => (
                        true,
                        format!(
                            "{} entries written to {}.",
                            self.audit.len(),
                            file.display()
                        ),
                    ),
                    Err(e) => (
                        false,
                        format!(
                            "{} could not be written ({e}); check the disk.",
                            file.display()
                        ),
                    ),
                },
            );
        }
        egui::Grid::new("audit").striped(true).show(ui, |ui| {
            for h in [
                "When (UTC)",
                "Who",
                "Action",
                "Subject",
                "Outcome",
                "Detail",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for e in &self.audit {
                ui.label(e.at.get(..19).unwrap_or(&e.at).replace('T', " "));
                ui.label(&e.actor);
                ui.label(&e.action);
                ui.label(&e.subject);
                ui.label(&e.outcome);
                ui.label(&e.detail);
                ui.end_row();
            }
        });
    }
}
