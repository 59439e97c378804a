//! `lightbox render` (CPU grey path) against dcmtk's `dcmj2pnm` rendering of the same file and
//! window: within 1 grey level per pixel. Debian's dcmtk cannot decode JPEG 2000, so a lossless
//! JPEG 2000 file is compared with dcmtk's rendering of its uncompressed twin in the corpus.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::path::Path;

use common::*;

fn read_png(path: &Path) -> (u32, u32, png::ColorType, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{}", path.display());
    buf.truncate(info.buffer_size());
    (info.width, info.height, info.color_type, buf)
}

/// Largest per-sample difference; sizes and colour types must agree.
fn max_difference(ours: &Path, reference: &Path) -> u8 {
    let (w1, h1, c1, a) = read_png(ours);
    let (w2, h2, c2, b) = read_png(reference);
    assert_eq!((w1, h1), (w2, h2), "image sizes differ");
    assert_eq!(c1, c2, "colour types differ");
    a.iter()
        .zip(&b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

/// (file we render, file dcmtk renders as the reference)
const PAIRS: &[(&str, &str)] = &[
    ("CT_small.dcm", "CT_small.dcm"),
    ("MR_small.dcm", "MR_small.dcm"),
    ("MR_small_bigendian.dcm", "MR_small_bigendian.dcm"),
    ("MR_small_implicit.dcm", "MR_small_implicit.dcm"),
    ("MR_small_RLE.dcm", "MR_small_RLE.dcm"),
    ("MR2_UNCR.dcm", "MR2_UNCR.dcm"),
    ("emri_small.dcm", "emri_small.dcm"),
    ("emri_small_RLE.dcm", "emri_small_RLE.dcm"),
    (
        "JPGLosslessP14SV1_1s_1f_8b.dcm",
        "JPGLosslessP14SV1_1s_1f_8b.dcm",
    ),
    ("JPEG-LL.dcm", "JPEG-LL.dcm"),
    ("MR2_J2KR.dcm", "MR2_UNCR.dcm"),
    ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
];

/// Renders corpus file `ours` with `lightbox render … OUR_ARGS` and corpus file `reference`
/// with `dcmj2pnm +on DCMTK_ARGS …`, both must succeed; returns the largest difference.
fn render_both(
    dir: &Path,
    ours: &str,
    our_args: &[&str],
    reference: &str,
    dcmtk_args: &[&str],
) -> u8 {
    let out = dir.join(format!("{ours}.ours.png"));
    let refpng = dir.join(format!("{ours}.dcmtk.png"));
    let file = corpus_dicom().join(ours);
    let mut args = vec!["render", file.to_str().unwrap()];
    args.extend_from_slice(our_args);
    args.extend(["-o", out.to_str().unwrap()]);
    let r = lightbox(dir, &args);
    assert!(
        r.status.success(),
        "{ours}: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    let reference_file = corpus_dicom().join(reference);
    let mut dargs = vec!["+on"];
    dargs.extend_from_slice(dcmtk_args);
    dargs.extend([reference_file.to_str().unwrap(), refpng.to_str().unwrap()]);
    let d = dcmtk("dcmj2pnm", &dargs);
    assert!(
        d.status.success(),
        "dcmj2pnm {reference}: {}",
        String::from_utf8_lossy(&d.stderr)
    );
    max_difference(&out, &refpng)
}

#[test]
fn cpu_render_matches_dcmtk_within_one_grey_level_with_a_given_window() {
    let dir = tempfile::tempdir().unwrap();
    for (ours, reference) in PAIRS {
        let diff = render_both(
            dir.path(),
            ours,
            &["--cpu", "--window", "100,500"],
            reference,
            &["+Ww", "100", "500"],
        );
        assert!(
            diff <= 1,
            "{ours}: differs from dcmtk by {diff} grey levels"
        );
    }
}

#[test]
fn default_window_is_the_files_first() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "MR_small.dcm",
        "MR2_UNCR.dcm",
        "JPGLosslessP14SV1_1s_1f_8b.dcm",
    ] {
        let diff = render_both(dir.path(), name, &[], name, &["+Wi", "1"]);
        assert!(
            diff <= 1,
            "{name}: differs from dcmtk by {diff} grey levels"
        );
    }
}

#[test]
fn bad_input_gets_a_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    for (name, words) in [
        ("MR_truncated.dcm", "MR_truncated.dcm"),
        ("SC_rgb_rle_16bit.dcm", "not rendered"),
    ] {
        let r = lightbox(
            dir.path(),
            &[
                "render",
                corpus_dicom().join(name).to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
        );
        assert!(!r.status.success(), "{name} rendered");
        let text = String::from_utf8_lossy(&r.stderr);
        assert!(
            text.contains(words) && !text.contains("panicked"),
            "{name}: {text}"
        );
    }
    let r = lightbox(
        dir.path(),
        &[
            "render",
            corpus_dicom().join("CT_small.dcm").to_str().unwrap(),
            "--window",
            "40,0",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(!r.status.success());
}

#[test]
fn colour_images_match_dcmtk_within_one_level() {
    let dir = tempfile::tempdir().unwrap();
    // RGB in both planar configurations, odd sizes, two frames, RLE, JPEG baseline (YBR_FULL),
    // and native YBR_FULL_422 (which dicom-pixeldata does not decode; read by us).
    for name in [
        "US1_UNCR.dcm",
        "SC_rgb_small_odd.dcm",
        "color-pl.dcm",
        "SC_rgb_2frame.dcm",
        "SC_rgb_rle.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "SC_ybr_full_422_uncompressed.dcm",
    ] {
        let diff = render_both(dir.path(), name, &[], name, &[]);
        assert!(diff <= 1, "{name}: differs from dcmtk by {diff} levels");
    }
}
