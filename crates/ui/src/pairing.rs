//! A workstation not yet paired with its practice server: the server's address and the
//! one-time code shown there (Settings → Workstations), then the pairing itself on a worker
//! thread — the wiring's, which checks the server's certificate against the code before it
//! sends anything. Shown instead of the sign-in screen until the computer is paired.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};

/// Pairs this computer with (server address, code): the server's name for it, or why not.
pub type PairWith = Arc<dyn Fn(&str, &str) -> Result<String, String> + Send + Sync>;

/// The pairing form.
pub struct PairingScreen {
    server: String,
    code: String,
    message: Option<String>,
    pair: PairWith,
    running: Option<Receiver<Result<String, String>>>,
}

impl PairingScreen {
    /// The form, with the server's address filled in when it is known.
    pub fn new(server: &str, pair: PairWith) -> PairingScreen {
        PairingScreen {
            server: server.to_string(),
            code: String::new(),
            message: None,
            pair,
            running: None,
        }
    }

    /// Draws the form; the server's name for this workstation once it is paired.
    pub fn show(&mut self, ui: &mut egui::Ui) -> Option<String> {
        let mut paired = None;
        if let Some(answer) = &self.running {
            match answer.try_recv() {
                Ok(Ok(name)) => {
                    self.running = None;
                    paired = Some(name);
                }
                Ok(Err(why)) => {
                    self.running = None;
                    // The wiring's reasons are sentences without their capital.
                    let mut letters = why.chars();
                    self.message = Some(match letters.next() {
                        Some(first) => first.to_uppercase().chain(letters).collect(),
                        None => why,
                    });
                }
                Err(TryRecvError::Empty) => {
                    ui.ctx()
                        .request_repaint_after(std::time::Duration::from_millis(100));
                }
                Err(TryRecvError::Disconnected) => {
                    self.running = None;
                    self.message = Some("Pairing stopped unexpectedly; try again.".into());
                }
            }
        }
        // As the practice's screens look by default (their own preference comes after sign-in).
        ui.ctx().set_theme(egui::Theme::Light);
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading("Pair this computer with the practice server");
            ui.label(
                "On the server, an administrator opens Settings, Workstations, names this \
                 computer and gets a one-time code. Type the server's address and that code \
                 here. This computer checks that the server is the one that made the code \
                 before it sends anything.",
            );
            ui.add_space(8.0);
            egui::Grid::new("pairing").num_columns(2).show(ui, |ui| {
                let label = ui.label("Server address");
                ui.add(
                    egui::TextEdit::singleline(&mut self.server)
                        .hint_text("https://server:8443")
                        .desired_width(320.0),
                )
                .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Pairing code");
                let code = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.code)
                            .hint_text("ABCD-EFGH-JKMN-PQRS")
                            .desired_width(320.0),
                    )
                    .labelled_by(label.id);
                ui.end_row();
                let enter = code.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.label("");
                let busy = self.running.is_some();
                let clicked = ui.add_enabled(!busy, egui::Button::new("Pair")).clicked();
                ui.end_row();
                if (clicked || enter) && !busy {
                    self.start();
                }
            });
            if self.running.is_some() {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Pairing with the server...");
                });
            }
            if let Some(message) = &self.message {
                ui.colored_label(ui.visuals().error_fg_color, message);
            }
        });
        paired
    }

    fn start(&mut self) {
        let (server, code) = (self.server.trim().to_string(), self.code.trim().to_string());
        if server.is_empty() || code.is_empty() {
            self.message = Some("Type the server's address and the code shown there.".into());
            return;
        }
        self.message = None;
        let (tx, rx) = std::sync::mpsc::channel();
        let pair = self.pair.clone();
        let started = std::thread::Builder::new()
            .name("pairing".into())
            .spawn(move || {
                let _ = tx.send(pair(&server, &code));
            });
        match started {
            Ok(_) => self.running = Some(rx),
            Err(e) => self.message = Some(format!("Pairing could not start: {e}")),
        }
    }
}
