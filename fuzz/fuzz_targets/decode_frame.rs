//! Any bytes through the imaging lane's decode and CPU render: an image or an error, never a
//! panic, a hang or an allocation a damaged header asks for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lightbox::imaging::{self, ImageFile, RenderOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(file) = ImageFile::from_bytes(data, "fuzz-input") else {
        return;
    };
    for index in 0..file.number_of_frames().min(2) {
        if let Ok(frame) = file.frame(index) {
            let options = RenderOptions {
                window: None,
                overlays: true,
            };
            let image = imaging::render_cpu(&frame, &options);
            assert_eq!(
                image.pixels.len(),
                frame.rows as usize * frame.columns as usize * usize::from(image.channels)
            );
        }
    }
});
