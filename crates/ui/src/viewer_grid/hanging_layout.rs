//! Hanging: which series go in which viewport when a study opens (the practice's protocols, the
//! prior beside the exam), the protocol bar, and saving a layout as a protocol.

use super::*;

impl ViewerScreen {
    /// Lays the panes out by `name`'s protocol, or the best match when None; one pane when
    /// nothing matches.
    pub(super) fn hang(&mut self, practice: &Practice, name: Option<&str>) {
        let Some(current) = self.exam_study() else {
            return;
        };
        let protocols = practice.hanging_protocols().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "hanging protocols could not be read");
            Vec::new()
        });
        self.protocol_names = protocols.iter().map(|p| p.name.clone()).collect();
        let facts = self.facts();
        let chosen = match name {
            Some(n) => protocols.iter().find(|p| p.name == n).cloned(),
            None => hanging::choose(&protocols, &facts).cloned(),
        };
        let Some(protocol) = chosen else {
            self.protocol = None;
            return;
        };
        // The studies the protocol may use: the exam, then its priors in relevance order.
        let mut uids = vec![current.clone()];
        if let Some((_, priors)) = &self.priors {
            uids.extend(priors.iter().map(|p| p.study_uid.clone()));
        }
        let mut studies: Vec<Vec<ViewerSeries>> = Vec::new();
        let needed = protocol
            .viewports
            .iter()
            .map(|v| v.series.study)
            .max()
            .unwrap_or(0);
        for uid in uids.iter().take(needed + 1) {
            let mut probe = Pane::default();
            probe.open(practice, uid);
            studies.push(probe.series().to_vec());
        }
        let facts_of: Vec<Vec<SeriesFacts>> = studies
            .iter()
            .map(|series| {
                series
                    .iter()
                    .map(|s| SeriesFacts {
                        description: s.description.clone(),
                        plane: s.plane,
                    })
                    .collect()
            })
            .collect();
        let assignment = protocol.assign(&facts_of);
        let mut panes = Vec::new();
        for (rule, slot) in protocol.viewports.iter().zip(&assignment) {
            let mut pane = Pane::default();
            if let Some(s) = &self.services {
                pane.set_services(s.clone());
            }
            if let Some((study, series)) = slot {
                pane.open(practice, &uids[*study]);
                if let Some((c, p)) = &self.priors {
                    pane.set_priors(c, p.clone());
                }
                pane.show_series(*series);
                pane.set_initial_window(rule.window.map(|w| Window {
                    center: w.center,
                    width: w.width,
                }));
            }
            panes.push(pane);
        }
        if panes.iter().all(|p| p.is_empty()) {
            self.protocol = None;
            return;
        }
        self.rows = protocol.rows;
        self.columns = protocol.columns;
        self.sync_scroll = protocol.sync_scroll;
        self.positions = vec![0; panes.len()];
        self.sync_anchor = None;
        self.shared_among = 0;
        self.panes = panes;
        self.active = self.panes.iter().position(|p| !p.is_empty()).unwrap_or(0);
        tracing::info!(protocol = %protocol.name, viewports = self.panes.len(), "study hung");
        self.protocol = Some(protocol);
    }

    /// The protocol hung (its name), if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_ref().map(|p| p.name.as_str())
    }

    /// (rows, columns) of the layout.
    pub fn layout(&self) -> (u8, u8) {
        (self.rows, self.columns)
    }

    pub(super) fn show_protocol_bar(
        &mut self,
        ui: &mut egui::Ui,
        practice: &Practice,
        actor: &Actor,
    ) {
        let mut switch: Option<Option<String>> = None;
        let mut layout: Option<(u8, u8)> = None;
        ui.horizontal_wrapped(|ui| {
            let names = self.protocol_names.clone();
            let label = ui.label("Hanging protocol");
            egui::ComboBox::from_id_salt("hanging_protocol")
                .selected_text(self.protocol().unwrap_or("one image (no protocol)"))
                .show_ui(ui, |ui| {
                    if ui
                        .selectable_label(self.protocol.is_none(), "one image (no protocol)")
                        .clicked()
                    {
                        switch = Some(None);
                    }
                    for n in names {
                        if ui
                            .selectable_label(self.protocol() == Some(n.as_str()), &n)
                            .clicked()
                        {
                            switch = Some(Some(n));
                        }
                    }
                })
                .response
                .labelled_by(label.id);
            let label = ui.label("Layout");
            egui::ComboBox::from_id_salt("layout")
                .selected_text(format!("{}×{}", self.rows, self.columns))
                .show_ui(ui, |ui| {
                    for (r, c) in [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (3, 3), (4, 4)] {
                        if ui.selectable_label(false, format!("{r}×{c}")).clicked() {
                            layout = Some((r, c));
                        }
                    }
                })
                .response
                .labelled_by(label.id);
            ui.checkbox(&mut self.sync_scroll, "Sync scroll");
            if self.panes.len() > 1 {
                let anchored = self.sync_anchor.is_some();
                let anchor = ui
                    .selectable_label(anchored, "Anchor sync here")
                    .on_hover_text(
                        "The panes show the same anatomy now: stacks in different frames of \
                         reference (a prior) scroll together by distance from here",
                    );
                if anchor.clicked() {
                    self.sync_anchor = if anchored {
                        None
                    } else {
                        Some(
                            self.panes
                                .iter()
                                .map(|p| {
                                    p.slice_place(p.position().1)
                                        .map(crate::imaging::geometry::ImagePlane::location_mm)
                                })
                                .collect(),
                        )
                    };
                    self.sync_scroll = true;
                }
            }
            ui.checkbox(&mut self.link_view, "Link window and zoom");
            ui.separator();
            // Saving a layout is rare: a menu, so the bar stays one line beside the report.
            egui::containers::menu::MenuButton::new("Save as protocol…")
                .config(
                    egui::containers::menu::MenuConfig::new()
                        .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside),
                )
                .ui(ui, |ui| {
                    let label = ui.label("New protocol name");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.protocol_name).desired_width(200.0),
                    )
                    .labelled_by(label.id);
                    if ui.button("Save layout as protocol").clicked() {
                        self.save_layout(practice, actor);
                        ui.close();
                    }
                });
        });
        if let Some((rows, columns)) = layout {
            self.set_layout(practice, rows, columns);
        }
        match switch {
            Some(Some(name)) => self.hang(practice, Some(&name)),
            Some(None) => {
                if let Some(uid) = self.exam_study() {
                    let priors = self.priors.clone();
                    let mut pane = Pane::default();
                    if let Some(s) = &self.services {
                        pane.set_services(s.clone());
                    }
                    pane.open(practice, &uid);
                    if let Some((c, p)) = priors {
                        pane.set_priors(&c, p);
                    }
                    self.panes = vec![pane];
                    self.positions = vec![0];
                    self.sync_anchor = None;
                    self.shared_among = 0;
                    self.active = 0;
                    self.rows = 1;
                    self.columns = 1;
                    self.protocol = None;
                    self.sync_scroll = false;
                }
            }
            None => {}
        }
    }

    /// A layout chosen by hand: the panes there are kept, new ones show the current study's
    /// next series in order.
    pub fn set_layout(&mut self, practice: &Practice, rows: u8, columns: u8) {
        let Some(current) = self.exam_study() else {
            return;
        };
        let wanted = usize::from(rows) * usize::from(columns);
        self.panes.truncate(wanted);
        let series_count = self.panes[0].series().len().max(1);
        while self.panes.len() < wanted {
            let mut pane = Pane::default();
            if let Some(s) = &self.services {
                pane.set_services(s.clone());
            }
            pane.open(practice, &current);
            if let Some((c, p)) = &self.priors {
                pane.set_priors(c, p.clone());
            }
            pane.show_series(self.panes.len() % series_count);
            self.panes.push(pane);
        }
        self.rows = rows;
        self.columns = columns;
        self.positions = self.panes.iter().map(|p| p.position().1).collect();
        self.shared_among = 0;
        self.active = self.active.min(self.panes.len() - 1);
    }

    /// "Save this layout as the protocol for studies like this".
    pub(super) fn save_layout(&mut self, practice: &Practice, actor: &Actor) {
        let name = self.protocol_name.trim().to_string();
        if name.is_empty() {
            self.message = Some((false, "Give the new protocol a name first.".into()));
            return;
        }
        let current = self.exam_study();
        let mut uids = current.into_iter().collect::<Vec<_>>();
        if let Some((_, priors)) = &self.priors {
            uids.extend(priors.iter().map(|p| p.study_uid.clone()));
        }
        let viewports = self
            .panes
            .iter()
            .map(|p| {
                let study = p
                    .study_uid()
                    .and_then(|u| uids.iter().position(|x| x == u))
                    .unwrap_or(0);
                let description = p
                    .series()
                    .get(p.position().0)
                    .map(|s| s.description.clone())
                    .unwrap_or_default();
                let plane = p.series().get(p.position().0).and_then(|s| s.plane);
                hanging::ViewportRule {
                    series: hanging::SeriesRule {
                        study,
                        description,
                        plane,
                        nth: 0,
                    },
                    window: None,
                }
            })
            .collect();
        let protocol = crate::viewing::protocol_like(
            &name,
            &self.facts(),
            self.rows,
            self.columns,
            viewports,
            self.sync_scroll,
        );
        self.message = Some(match practice.save_protocol(actor, &protocol) {
            Ok(()) => {
                if !self.protocol_names.contains(&protocol.name) {
                    self.protocol_names.push(protocol.name.clone());
                }
                self.protocol = Some(protocol);
                (
                    true,
                    format!("Saved: studies like this one now hang as \"{name}\"."),
                )
            }
            Err(crate::viewing::ViewingError::Access(_)) => (
                false,
                "Only a radiologist may save hanging protocols.".into(),
            ),
            Err(e) => (false, format!("Not saved: {e}.")),
        });
    }
}
