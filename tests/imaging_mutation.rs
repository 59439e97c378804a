//! Thousands of damaged versions of the corpus files through decode and render: flipped bytes,
//! cut files, header values set to extremes (rows, columns, bits, frames, lengths), inserted
//! garbage. Each must give an image or an error naming the file — never a panic, a hang or an
//! out-of-memory abort. Mutations come from a fixed seed, so a failure names a case that
//! can be replayed: `MUTATION_ONLY=CT_small.dcm#22 MUTATION_TRACE=1` runs one case and leaves
//! its bytes in the temp folder as `mutation_case.dcm`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::*;
use lightbox::imaging::{self, ImageFile, RenderOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Tags whose values decide allocation and layout, as little-endian byte patterns.
const SENSITIVE_TAGS: &[[u8; 4]] = &[
    [0x28, 0x00, 0x10, 0x00], // Rows
    [0x28, 0x00, 0x11, 0x00], // Columns
    [0x28, 0x00, 0x00, 0x01], // Bits Allocated
    [0x28, 0x00, 0x01, 0x01], // Bits Stored
    [0x28, 0x00, 0x02, 0x00], // Samples per Pixel
    [0x28, 0x00, 0x08, 0x00], // Number of Frames
    [0x28, 0x00, 0x04, 0x00], // Photometric Interpretation
    [0x28, 0x00, 0x06, 0x00], // Planar Configuration
    [0x28, 0x00, 0x03, 0x01], // Pixel Representation
    [0xE0, 0x7F, 0x10, 0x00], // Pixel Data (its length)
    [0xFE, 0xFF, 0x00, 0xE0], // Item (fragment lengths)
    [0x28, 0x00, 0x01, 0x11], // Red palette descriptor
    [0x28, 0x00, 0x50, 0x10], // Window Center
];

const EXTREMES: &[u32] = &[
    0,
    1,
    0xFFFF,
    0xFFFF_FFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFE,
    3,
    33,
];

fn mutate(original: &[u8], rng: &mut StdRng) -> (Vec<u8>, String) {
    let mut bytes = original.to_vec();
    let kind = rng.random_range(0..5);
    let what = match kind {
        0 => {
            let n = rng.random_range(1..=8);
            for _ in 0..n {
                let at = rng.random_range(0..bytes.len());
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
            format!("{n} bits flipped")
        }
        1 => {
            let at = rng.random_range(0..bytes.len());
            bytes.truncate(at);
            format!("cut at {at}")
        }
        2 => {
            // A value or length field after a sensitive tag set to an extreme.
            let positions: Vec<usize> = bytes
                .windows(4)
                .enumerate()
                .filter(|(_, w)| SENSITIVE_TAGS.iter().any(|t| t == w))
                .map(|(i, _)| i)
                .collect();
            if positions.is_empty() {
                return (bytes, "unchanged".into());
            }
            let at = positions[rng.random_range(0..positions.len())] + rng.random_range(4..12);
            let value = EXTREMES[rng.random_range(0..EXTREMES.len())];
            let width = if rng.random_bool(0.5) { 2 } else { 4 };
            for (k, b) in value.to_le_bytes().iter().take(width).enumerate() {
                if let Some(slot) = bytes.get_mut(at + k) {
                    *slot = *b;
                }
            }
            format!("{width} bytes at {at} set to {value:#x}")
        }
        3 => {
            let at = rng.random_range(0..bytes.len().min(4096));
            let n = rng.random_range(1..64);
            let garbage: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            bytes.splice(at..at, garbage);
            format!("{n} random bytes inserted at {at}")
        }
        _ => {
            let at = rng.random_range(0..bytes.len());
            let n = rng.random_range(1..32).min(bytes.len() - at);
            for b in &mut bytes[at..at + n] {
                *b = rng.random();
            }
            format!("{n} bytes at {at} randomised")
        }
    };
    (bytes, what)
}

#[test]
fn mutated_corpus_files_give_errors_not_panics() {
    // Quiet: the panic hook would print each caught panic; the test reports them itself.
    if std::env::var_os("MUTATION_TRACE").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut files: Vec<_> = std::fs::read_dir(corpus_dicom())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    files.sort();
    let (mut rendered, mut refused, mut panics) = (0usize, 0usize, Vec::new());
    let started = std::time::Instant::now();
    for path in &files {
        let original = std::fs::read(path).unwrap();
        // Large files get fewer cases so the whole run stays short.
        let cases = if original.len() > 300_000 { 40 } else { 160 };
        for case in 0..cases {
            let (bytes, what) = mutate(&original, &mut rng);
            let name = format!("{}#{case}", path.file_name().unwrap().to_string_lossy());
            if std::env::var("MUTATION_ONLY").is_ok_and(|only| only != name) {
                continue;
            }
            if std::env::var_os("MUTATION_TRACE").is_some() {
                eprintln!("{name}: {what} ({:?} since start)", started.elapsed());
                std::fs::write(std::env::temp_dir().join("mutation_case.dcm"), &bytes).unwrap();
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let file = ImageFile::from_bytes(&bytes, &name)?;
                for index in 0..file.number_of_frames().min(2) {
                    let frame = file.frame(index)?;
                    let image = imaging::render_cpu(
                        &frame,
                        &RenderOptions {
                            window: None,
                            overlays: true,
                        },
                    );
                    assert_eq!(
                        image.pixels.len(),
                        frame.rows as usize * frame.columns as usize * usize::from(image.channels)
                    );
                }
                Ok::<(), imaging::ImagingError>(())
            }));
            match outcome {
                Ok(Ok(())) => rendered += 1,
                Ok(Err(e)) => {
                    assert!(
                        e.to_string().contains(&name),
                        "error does not name the file: {e}"
                    );
                    refused += 1;
                }
                Err(_) => panics.push(format!("{name}: {what}")),
            }
        }
    }
    let _ = std::panic::take_hook();
    assert!(
        panics.is_empty(),
        "{} panics, e.g.:\n{}",
        panics.len(),
        panics[..panics.len().min(20)].join("\n")
    );
    let total = rendered + refused;
    assert!(total >= 3000, "only {total} cases");
    // Both outcomes occur: the mutations reach the decoders, not only the parser.
    assert!(
        rendered > total / 10 && refused > total / 10,
        "rendered {rendered}, refused {refused}"
    );
}

/// The seed of every mutation: change it to explore, keep it to replay.
const SEED: u64 = 0x11_6B0C;
