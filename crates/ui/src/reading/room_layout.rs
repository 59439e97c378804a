//! How the reading room is laid out for the person reading: the exam's images beside the report
//! (docked between the worklist and the editor) or in their own window (a second monitor), the
//! worklist shown or folded away while reading, and the panels' widths — each person's own,
//! kept as their preferences so the room looks the same at their next sign-in, on any PC.

use crate::access::Actor;
use crate::practice::Practice;

/// Where the reading room shows the exam's images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImagesPlacement {
    /// In the middle of the reading room, between the worklist and the report.
    Docked,
    /// In a window of their own, which the radiologist moves to a second monitor.
    OwnWindow,
}

const OWN_WINDOW_KEY: &str = "reading.images_in_own_window";
const WORKLIST_SHOWN_KEY: &str = "reading.worklist_shown_while_reading";
const WORKLIST_WIDTH_KEY: &str = "reading.worklist_width";
const EDITOR_WIDTH_KEY: &str = "reading.editor_width";

/// The reading room's layout for the signed-in person.
#[derive(Debug, Default)]
pub(super) struct RoomLayout {
    /// Whose preferences these are (read again when someone else signs in).
    read_for: Option<String>,
    pub(super) own_window: bool,
    /// The worklist beside the docked images (folded away by default: the images need room).
    pub(super) worklist_shown: bool,
    pub(super) worklist_width: Option<f32>,
    pub(super) editor_width: Option<f32>,
}

impl RoomLayout {
    /// Reads `actor`'s layout the first time they use the room.
    pub(super) fn read_for(&mut self, practice: &Practice, actor: &Actor) {
        if self.read_for.as_deref() == Some(actor.login.as_str()) {
            return;
        }
        let width = |key| {
            practice
                .preference(actor, key)
                .and_then(|v| v.parse::<f32>().ok())
                .filter(|w| w.is_finite() && *w >= 200.0)
        };
        *self = RoomLayout {
            read_for: Some(actor.login.clone()),
            own_window: practice.preference(actor, OWN_WINDOW_KEY).as_deref() == Some("yes"),
            worklist_shown: practice.preference(actor, WORKLIST_SHOWN_KEY).as_deref()
                == Some("yes"),
            worklist_width: width(WORKLIST_WIDTH_KEY),
            editor_width: width(EDITOR_WIDTH_KEY),
        };
    }

    /// Keeps the two choices a person makes with a click.
    pub(super) fn keep_choices(&self, practice: &Practice, actor: &Actor) {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        for (key, value) in [
            (OWN_WINDOW_KEY, yes_no(self.own_window)),
            (WORKLIST_SHOWN_KEY, yes_no(self.worklist_shown)),
        ] {
            if let Err(e) = practice.set_preference(actor, key, value) {
                tracing::warn!(error = %e, key, "a layout choice could not be kept");
            }
        }
    }

    /// Keeps a panel's width once the person let go of its edge (not on every frame of a drag).
    pub(super) fn keep_width(
        &mut self,
        ui: &egui::Ui,
        practice: &Practice,
        actor: &Actor,
        editor: bool,
        width: f32,
    ) {
        if ui.input(|i| i.pointer.any_down()) {
            return;
        }
        let (kept, key) = if editor {
            (&mut self.editor_width, EDITOR_WIDTH_KEY)
        } else {
            (&mut self.worklist_width, WORKLIST_WIDTH_KEY)
        };
        if kept.is_some_and(|k| (k - width).abs() < 2.0) {
            return;
        }
        if kept.is_none() {
            // The first frame shows the default width: nothing chosen yet.
            *kept = Some(width);
            return;
        }
        *kept = Some(width);
        if let Err(e) = practice.set_preference(actor, key, &format!("{width:.0}")) {
            tracing::warn!(error = %e, key, "a panel width could not be kept");
        }
    }
}
