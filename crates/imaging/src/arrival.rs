//! Files still arriving. A folder being filled from elsewhere — a workstation's image cache,
//! loaded over the network while the first image is already on screen — holds a marker file
//! while it is. A reader asking for a file not there yet waits for it (at most
//! [`LONGEST_WAIT`]) instead of calling the slice unreadable; in any other folder a missing
//! file is missing at once.

use std::path::Path;
use std::time::{Duration, Instant};

/// The marker a folder holds while its files are arriving.
pub const ARRIVING_MARKER: &str = ".arriving";

/// How long a reader waits for one file before giving up on it.
pub const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// Returns once `path` exists, or its folder has no arrival marker, or after
/// [`LONGEST_WAIT`].
pub fn await_file(path: &Path) {
    if path.exists() {
        return;
    }
    let Some(marker) = path.parent().map(|folder| folder.join(ARRIVING_MARKER)) else {
        return;
    };
    let start = Instant::now();
    while !path.exists() && marker.exists() && start.elapsed() < LONGEST_WAIT {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_file_in_an_arriving_folder_is_waited_for_and_elsewhere_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("1.dcm");
        // No marker: returns at once although the file is missing.
        let start = Instant::now();
        await_file(&file);
        assert!(!file.exists());
        assert!(start.elapsed() < LONGEST_WAIT);
        // Marker: waits until the file is there.
        std::fs::write(dir.path().join(ARRIVING_MARKER), b"").unwrap();
        let writer = {
            let file = file.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                std::fs::write(&file, b"DICM").unwrap();
            })
        };
        await_file(&file);
        assert!(file.exists(), "returned only once the file arrived");
        writer.join().unwrap();
    }
}
