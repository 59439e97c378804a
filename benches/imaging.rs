//! Imaging benchmarks.
//!
//! * `decode/*`: one frame decoded in process, per codec (Melem/s = megapixels per second). The
//!   files are a synthetic 512×512 16-bit CT compressed by dcmtk (RLE, JPEG lossless SV1,
//!   JPEG-LS lossless) and corpus files for 12-bit lossy JPEG and JPEG 2000 lossless.
//! * `render/*`: a new window on a 512×512 16-bit CT frame: the CPU path, and the GPU path
//!   (uniform write + draw, with and without reading the image back). Here the GPU is Mesa's
//!   lavapipe (software); rerun `cargo bench --bench imaging` on a machine with a GPU.
//! * Side by side (only with `cargo bench`, not in test mode): the same files through
//!   `lightbox render` and dcmtk's `dcmj2pnm`/`dcml2pnm` as processes (decode + window + PNG),
//!   and JPEG 2000 decode in process against pydicom + pylibjpeg-openjpeg (Debian's dcmtk has
//!   no JPEG 2000), medians of alternating runs, printed as ratios.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failed step is a failed run

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lightbox::imaging::{self, ImageFile, RenderOptions, VoiFunction, Window};
use lightbox::pacs::synthetic::SyntheticSeries;

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/dicom")
        .join(name)
}

/// (label, file, dcmtk tool that renders it or None)
struct Sample {
    label: &'static str,
    path: PathBuf,
    dcmtk: Option<&'static str>,
}

/// Writes the synthetic CT and its dcmtk-compressed copies into `dir`.
fn samples(dir: &Path) -> Vec<Sample> {
    let ct = dir.join("ct_native.dcm");
    SyntheticSeries::new(7, 512)
        .slice(3)
        .unwrap()
        .write_to_file(&ct)
        .unwrap();
    let compress = |tool: &str, name: &str| {
        let out = dir.join(name);
        let status = Command::new(tool).arg(&ct).arg(&out).status().unwrap();
        assert!(status.success(), "{tool} failed");
        out
    };
    vec![
        Sample {
            label: "native_512",
            path: ct.clone(),
            dcmtk: Some("dcmj2pnm"),
        },
        Sample {
            label: "rle_512",
            path: compress("dcmcrle", "ct_rle.dcm"),
            dcmtk: Some("dcmj2pnm"),
        },
        Sample {
            label: "jpeg_lossless_sv1_512",
            path: compress("dcmcjpeg", "ct_jpeg_ll.dcm"),
            dcmtk: Some("dcmj2pnm"),
        },
        Sample {
            label: "jpeg_ls_lossless_512",
            path: compress("dcmcjpls", "ct_jpls.dcm"),
            dcmtk: Some("dcml2pnm"),
        },
        Sample {
            label: "jpeg_12bit_lossy_256x1024",
            path: corpus("JPEG-lossy.dcm"),
            dcmtk: Some("dcmj2pnm"),
        },
        Sample {
            label: "jpeg2000_lossless_1024",
            path: corpus("MR2_J2KR.dcm"),
            dcmtk: None,
        },
    ]
}

fn imaging_benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let samples = samples(dir.path());

    let mut group = c.benchmark_group("decode");
    for sample in &samples {
        let bytes = std::fs::read(&sample.path).unwrap();
        let file = ImageFile::from_bytes(&bytes, sample.label).unwrap();
        let frame = file.frame(0).unwrap();
        group.throughput(Throughput::Elements(u64::from(frame.rows * frame.columns)));
        group.bench_function(sample.label, |b| {
            b.iter(|| file.frame(0).unwrap());
        });
    }
    group.finish();

    let frame = ImageFile::open(&samples[0].path).unwrap().frame(0).unwrap();
    let windows: Vec<Window> = (0..64)
        .map(|i| Window {
            center: -200.0 + f64::from(i) * 10.0,
            width: 400.0 + f64::from(i) * 20.0,
        })
        .collect();
    let mut group = c.benchmark_group("render_512x512_16bit_new_window");
    let mut i = 0;
    group.bench_function("cpu", |b| {
        b.iter(|| {
            i = (i + 1) % windows.len();
            imaging::render_cpu(
                &frame,
                &RenderOptions {
                    window: Some(windows[i]),
                    overlays: false,
                },
            )
        });
    });
    match imaging::gpu::GpuRenderer::new() {
        Ok(gpu) => {
            eprintln!("GPU adapter: {}", gpu.adapter_name);
            let mut uploaded = gpu.upload(&frame, &RenderOptions::default()).unwrap();
            group.bench_function("gpu_draw", |b| {
                b.iter(|| {
                    i = (i + 1) % windows.len();
                    gpu.set_window(&mut uploaded, windows[i], VoiFunction::Linear);
                    gpu.draw_and_wait(&uploaded).unwrap();
                });
            });
            group.bench_function("gpu_draw_and_read_back", |b| {
                b.iter(|| {
                    i = (i + 1) % windows.len();
                    gpu.set_window(&mut uploaded, windows[i], VoiFunction::Linear);
                    gpu.draw(&uploaded).unwrap()
                });
            });
        }
        Err(e) => eprintln!("GPU benches skipped: {e}"),
    }
    group.finish();

    if std::env::args().any(|a| a == "--bench") {
        side_by_side(dir.path(), &samples);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run_timed(command: &mut Command) -> Duration {
    let start = Instant::now();
    let output = command.output().unwrap();
    let elapsed = start.elapsed();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

/// `lightbox render` against dcmtk on the same files, and JPEG 2000 against pydicom.
fn side_by_side(dir: &Path, samples: &[Sample]) {
    const RUNS: usize = 15;
    let lightbox = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/lightbox");
    println!("\nside by side, {RUNS} alternating runs, medians (ratio < 1: Lightbox faster)");
    if lightbox.exists() {
        println!(
            "{:<28} {:>12} {:>12} {:>7}",
            "file", "lightbox ms", "dcmtk ms", "ratio"
        );
        for sample in samples {
            let Some(tool) = sample.dcmtk else { continue };
            let frame = ImageFile::open(&sample.path).unwrap().frame(0).unwrap();
            let has_window = matches!(
                &frame.content,
                imaging::FrameContent::Grey { pipeline, .. } if !pipeline.windows.is_empty()
            );
            let window_args: &[&str] = if has_window { &["+Wi", "1"] } else { &["+Wm"] };
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..RUNS {
                ours.push(run_timed(
                    Command::new(&lightbox)
                        .args(["render", "--cpu", "-o"])
                        .arg(dir.join("ours.png"))
                        .arg(&sample.path),
                ));
                theirs.push(run_timed(
                    Command::new(tool)
                        .arg("+on")
                        .args(window_args)
                        .arg(&sample.path)
                        .arg(dir.join("dcmtk.png")),
                ));
            }
            let (o, t) = (median(ours), median(theirs));
            println!(
                "{:<28} {:>12.2} {:>12.2} {:>7.2}",
                sample.label,
                o.as_secs_f64() * 1e3,
                t.as_secs_f64() * 1e3,
                o.as_secs_f64() / t.as_secs_f64()
            );
        }
    } else {
        println!("(build target/release/lightbox first for the process comparison)");
    }
    let python = std::env::var("LIGHTBOX_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/imaging.py");
    for sample in samples.iter().filter(|s| s.dcmtk.is_none()) {
        let output = Command::new(&python)
            .arg(&script)
            .args(["decode_time"])
            .arg(&sample.path)
            .arg(RUNS.to_string())
            .output()
            .unwrap();
        let Ok(answer) = serde_json::from_slice::<serde_json::Value>(&output.stdout) else {
            println!(
                "pydicom decode_time failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            continue;
        };
        let theirs_ms = answer["median_ms"].as_f64().unwrap_or(f64::NAN);
        let file = ImageFile::open(&sample.path).unwrap();
        let ours = median(
            (0..RUNS)
                .map(|_| {
                    let start = Instant::now();
                    file.frame(0).unwrap();
                    start.elapsed()
                })
                .collect(),
        );
        let ours_ms = ours.as_secs_f64() * 1e3;
        println!(
            "{:<28} in-process decode: lightbox {ours_ms:.2} ms, pydicom+openjpeg {theirs_ms:.2} ms, ratio {:.2}",
            sample.label,
            ours_ms / theirs_ms
        );
    }
}

criterion_group!(benches, imaging_benches);
criterion_main!(benches);
