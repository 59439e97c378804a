//! Import from the viewer: files, folders and DICOMDIRs from the system's dialog or a typed
//! path, handed to the archive's ingest in the background with progress.

use super::*;

/// An import running in the background.
pub(super) struct ImportJob {
    pub(super) started: Instant,
    pub(super) total_files: usize,
    pub(super) progress: Receiver<ImportProgress>,
    pub(super) done_files: usize,
    pub(super) summary: Option<lightbox_domain::archive::ImportSummary>,
}

pub(super) enum ImportProgress {
    File(usize),
    Finished(lightbox_domain::archive::ImportSummary),
}

/// `root/relative`, refusing a relative path that would leave the archive.
pub(super) fn safe_join(root: &std::path::Path, relative: &str) -> Result<PathBuf, ()> {
    let p = std::path::Path::new(relative);
    if p.is_absolute()
        || p.components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(());
    }
    Ok(root.join(p))
}

impl Pane {
    /// The native dialog on its own thread (it blocks until the user chooses).
    pub(super) fn pick(&mut self, folder: bool) {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let dialog = rfd::AsyncFileDialog::new().set_title("Import DICOM images");
            let chosen: Vec<PathBuf> = if folder {
                pollster::block_on(dialog.pick_folder())
                    .map(|f| vec![f.path().to_path_buf()])
                    .unwrap_or_default()
            } else {
                pollster::block_on(dialog.pick_files())
                    .map(|files| files.iter().map(|f| f.path().to_path_buf()).collect())
                    .unwrap_or_default()
            };
            let _ = tx.send(chosen);
        });
        self.picked = Some(rx);
    }

    /// Starts importing `paths` on a background thread.
    pub fn start_import(&mut self, paths: Vec<PathBuf>) {
        let Some(services) = self.services.clone().filter(|s| s.archive_running()) else {
            self.message = Some((
                false,
                "Importing needs the archive services, which are not running.".into(),
            ));
            return;
        };
        let (tx, rx) = mpsc::channel();
        let total_files = services.count_files(&paths);
        std::thread::spawn(move || {
            let mut last = Instant::now();
            let summary = services.import(&paths, &mut |done| {
                // At most ~20 updates a second: enough for a smooth bar.
                if last.elapsed().as_millis() >= 50 {
                    last = Instant::now();
                    let _ = tx.send(ImportProgress::File(done));
                }
            });
            tracing::info!(
                imported = summary.imported,
                duplicates = summary.duplicates,
                refused = summary.refused.len(),
                "import from the desktop finished"
            );
            let _ = tx.send(ImportProgress::Finished(summary));
        });
        self.import = Some(ImportJob {
            started: Instant::now(),
            total_files,
            progress: rx,
            done_files: 0,
            summary: None,
        });
    }

    pub(super) fn poll_import(&mut self, ui: &mut egui::Ui, practice: &Practice) {
        if let Some(rx) = &self.picked {
            match rx.try_recv() {
                Ok(paths) => {
                    self.picked = None;
                    if !paths.is_empty() {
                        self.start_import(paths);
                    }
                }
                Err(mpsc::TryRecvError::Empty) => ui
                    .ctx()
                    .request_repaint_after(std::time::Duration::from_millis(200)),
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.picked = None;
                    self.message = Some((
                        false,
                        "The file dialog could not open; type the path of the files, folder or DICOMDIR instead.".into(),
                    ));
                }
            }
        }
        let Some(job) = &mut self.import else {
            return;
        };
        if job.summary.is_some() {
            return;
        }
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
        for p in job.progress.try_iter() {
            match p {
                ImportProgress::File(n) => job.done_files = n,
                ImportProgress::Finished(summary) => {
                    job.done_files = job.total_files.max(job.done_files);
                    job.summary = Some(summary);
                }
            }
        }
        if job.summary.is_some()
            && let Some(uid) = self.study_uid.clone()
        {
            // Images of the open study may have arrived.
            let (s, i) = (self.series_index, self.image_index);
            self.open(practice, &uid);
            self.series_index = s.min(self.series.len().saturating_sub(1));
            self.image_index = i;
        }
    }
}
