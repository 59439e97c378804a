//! What happens at the window's edges rather than in a screen: files dropped on the window,
//! the reading room's images in a window of their own, the archive's free space measured for
//! the status bar, and on a workstation the practice server's state (the banner when it is
//! away, signing in again when it ended the session, the worklist's images brought ahead).

use std::time::{Duration, Instant};

use super::{LightboxApp, Screen, Session};
use crate::access::Actor;
use crate::sign_in::SignInForm;

impl LightboxApp {
    /// How often the archive's free space is measured for the status bar.
    const DISK_MEASURE_EVERY: Duration = Duration::from_secs(30);

    /// Measures the archive's free space now and then (a scanner may fill it while the window
    /// sits unused).
    pub(super) fn measure_disk(&mut self) {
        if self
            .disk_measured_at
            .is_some_and(|t| t.elapsed() < Self::DISK_MEASURE_EVERY)
        {
            return;
        }
        self.disk_measured_at = Some(Instant::now());
        let low = self.practice.low_disk_space();
        if low.is_some() && self.low_disk.is_none() {
            tracing::warn!("the archive's disk is running out of space");
        }
        self.low_disk = low;
    }

    /// On a workstation whose server does not answer: a banner across the window, at once,
    /// saying so — what is on screen stays, and the link reconnects by itself.
    pub(super) fn show_server_trouble(&mut self, ui: &mut egui::Ui) {
        let Some(why) = self.practice.connection_trouble() else {
            return;
        };
        let server = self.practice.server().unwrap_or_default();
        // At the bottom: nothing on screen moves under the mouse when the server goes away.
        egui::Panel::bottom("server_trouble")
            .frame(
                egui::Frame::new()
                    .fill(egui::Color32::from_rgb(150, 30, 30))
                    .inner_margin(egui::Margin::symmetric(12, 6)),
            )
            .show(ui, |ui| {
                ui.label(
                    egui::RichText::new(format!(
                        "The practice server ({server}) is not answering: {why}. What is on \
                         screen stays; changes cannot be saved until it answers. Lightbox \
                         reconnects by itself."
                    ))
                    .color(egui::Color32::WHITE)
                    .strong(),
                );
            });
        // Look again soon: the banner goes as soon as the server answers.
        ui.ctx().request_repaint_after(Duration::from_secs(1));
    }

    /// On a workstation whose session the server ended (revoked, expired, the account
    /// disabled): back to signing in, saying why, instead of screens that cannot load.
    pub(super) fn sign_in_again_if_the_server_ended_the_session(&mut self) {
        if let Session::SignedIn(actor) = &self.session
            && self.practice.session_ended()
        {
            tracing::info!(login = %actor.login, "the server ended the session");
            let login = actor.login.clone();
            self.reset_screens();
            self.session = Session::SignIn(SignInForm {
                login,
                error: Some(
                    "Your session on the practice server ended (signed out there, the \
                 workstation revoked, or after many hours). Sign in again."
                        .into(),
                ),
                ..SignInForm::default()
            });
        }
    }

    /// How many studies a radiologist's workstation brings in before they are opened.
    const PREFETCH_STUDIES: usize = 40;

    /// On a workstation, once someone signed in: the reading worklist's studies and their
    /// priors start coming into the image cache on a thread of their own (the domain decides
    /// who reads; on the server's own computer there is nothing to bring).
    pub(super) fn start_prefetch(&self, actor: &Actor) {
        if self.practice.server().is_none() {
            return;
        }
        let practice = match self.practice.reopen() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "no prefetch of the worklist's images");
                return;
            }
        };
        let actor = actor.clone();
        let started = std::thread::Builder::new()
            .name("worklist-prefetch".into())
            .spawn(move || {
                if let Err(e) = practice.prefetch_reading(&actor, Self::PREFETCH_STUDIES) {
                    tracing::warn!(error = %e, "the worklist's images could not all be brought");
                }
            });
        if let Err(e) = started {
            tracing::warn!(error = %e, "no prefetch of the worklist's images");
        }
    }

    /// Files or folders dropped on the window are imported into the archive as the viewer's
    /// Import does (every role has the viewer; it shows the progress); while they hover, the
    /// window says what a drop will do.
    pub(super) fn take_dropped_files(&mut self, ui: &egui::Ui, actor: &Actor) {
        let (hovering, dropped) = ui.input(|i| {
            (
                !i.raw.hovered_files.is_empty(),
                i.raw
                    .dropped_files
                    .iter()
                    .map(|f| f.path().to_path_buf())
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect::<Vec<_>>(),
            )
        });
        if hovering {
            let screen = ui.ctx().content_rect();
            let painter = ui.ctx().layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::unique("file_drop"),
            ));
            painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(170));
            painter.text(
                screen.center(),
                egui::Align2::CENTER_CENTER,
                "Drop to import these images into the archive",
                egui::FontId::proportional(24.0),
                egui::Color32::WHITE,
            );
        }
        if dropped.is_empty() {
            return;
        }
        tracing::info!(login = %actor.login, count = dropped.len(), "files dropped on the window: importing");
        self.viewer.start_import(dropped);
        // The import's progress shows in the reading room's images or on the viewer.
        if self.reading.images_placement().is_none() || self.screen != Screen::Reading {
            self.screen = Screen::Viewer;
        }
    }

    /// The reading room's images in a window of their own (a second monitor); closing it
    /// closes the images. Where the platform has one window only, it floats inside this one.
    pub(super) fn show_images_window(&mut self, ctx: &egui::Context, actor: &Actor) {
        let mut closed = false;
        let viewer = &mut self.viewer;
        let practice = &self.practice;
        let title = format!("Lightbox images: {}", viewer.title());
        ctx.show_viewport_immediate(
            egui::ViewportId::from_hash_of("lightbox_reading_images"),
            egui::ViewportBuilder::default()
                .with_title(title)
                .with_inner_size([1200.0, 800.0]),
            |ui, class| {
                if class == egui::ViewportClass::EmbeddedWindow {
                    viewer.show(ui, practice, actor);
                } else {
                    egui::CentralPanel::default().show(ui, |ui| viewer.show(ui, practice, actor));
                    closed = ui.input(|i| i.viewport().close_requested());
                }
            },
        );
        if closed {
            self.reading.close_images();
        }
    }
}
