//! Viewer benchmarks on a synthetic CT series (512×512, 16-bit; 1,000 slices with --bench,
//! `LIGHTBOX_BENCH_SLICES` to change): time to the first image (open, decode, GPU upload, draw
//! and read back), the whole series decoded into the frame cache, the frame time of scrolling
//! through cached slices (upload + draw) and of a window change on the frame on the GPU, each
//! against the frame time of drawing an empty (1×1) viewport on the same adapter, and the
//! memory the cache holds. On a machine without a GPU this is Mesa's lavapipe; rerun it on a
//! real GPU with `cargo bench --bench viewer`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failed step is a failed run

use std::time::{Duration, Instant};

use lightbox::imaging::frame_cache::FrameCache;
use lightbox::imaging::gpu::GpuRenderer;
use lightbox::imaging::{ImageFile, RenderOptions, VoiFunction, Window};
use lightbox::pacs::synthetic::SyntheticSeries;

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i.min(samples.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        println!("viewer/series: benchmark");
        return;
    }
    // Run as a test (no --bench): a short smoke run of the same code.
    let quick = !args.iter().any(|a| a == "--bench");
    let slices: u32 = std::env::var("LIGHTBOX_BENCH_SLICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 20 } else { 1000 });
    let dir = tempfile::tempdir().unwrap();
    let series = SyntheticSeries::new(77, 512);
    let paths: Vec<_> = (0..slices)
        .map(|i| {
            let p = dir.path().join(format!("CT{i:05}.dcm"));
            series.slice(i).unwrap().write_to_file(&p).unwrap();
            p
        })
        .collect();

    let device_started = Instant::now();
    let gpu = GpuRenderer::new().unwrap();
    let device = device_started.elapsed();

    // First image: what the viewer does on open (the device is made when the viewer starts).
    let first_started = Instant::now();
    let frame = ImageFile::open(&paths[0]).unwrap().frame(0).unwrap();
    let mut resident = gpu.upload(&frame, &RenderOptions::default()).unwrap();
    let image = gpu.draw(&resident).unwrap();
    let first = first_started.elapsed();
    assert_eq!(image.columns, 512);

    // The whole series decoded into the cache.
    let mut cache = FrameCache::new(usize::MAX);
    let all_started = Instant::now();
    for p in &paths {
        let f = ImageFile::open(p).unwrap().frame(0).unwrap();
        let bytes = f.rows as usize * f.columns as usize * 4;
        cache.insert(p.clone(), f, bytes);
    }
    let all = all_started.elapsed();

    // Scrolling through cached slices: upload + draw per slice.
    let mut scroll = Vec::new();
    for p in &paths {
        let f = cache.get(p).unwrap();
        let started = Instant::now();
        let g = gpu.upload(&f, &RenderOptions::default()).unwrap();
        gpu.draw_and_wait(&g).unwrap();
        scroll.push(started.elapsed());
    }
    // As the viewer shows it today: upload, draw and read back (the window then uploads the
    // pixels to its own texture).
    let mut shown = Vec::new();
    for p in &paths {
        let f = cache.get(p).unwrap();
        let started = Instant::now();
        let g = gpu.upload(&f, &RenderOptions::default()).unwrap();
        let _ = gpu.draw(&g).unwrap();
        shown.push(started.elapsed());
    }
    // Window changes on the frame on the GPU: a uniform write + draw.
    let mut windowing = Vec::new();
    for i in 0..slices.max(50) {
        let started = Instant::now();
        gpu.set_window(
            &mut resident,
            Window {
                center: 40.0 + f64::from(i % 50),
                width: 400.0,
            },
            VoiFunction::Linear,
        );
        gpu.draw_and_wait(&resident).unwrap();
        windowing.push(started.elapsed());
    }
    // The floor: drawing an empty (1×1) viewport.
    let tiny_series = SyntheticSeries::new(78, 1);
    let tiny_path = dir.path().join("tiny.dcm");
    tiny_series
        .slice(0)
        .unwrap()
        .write_to_file(&tiny_path)
        .unwrap();
    let tiny = ImageFile::open(&tiny_path).unwrap().frame(0).unwrap();
    let tiny_gpu = gpu.upload(&tiny, &RenderOptions::default()).unwrap();
    let mut empty = Vec::new();
    for _ in 0..slices.max(50) {
        let started = Instant::now();
        gpu.draw_and_wait(&tiny_gpu).unwrap();
        empty.push(started.elapsed());
    }
    let (e50, e99) = (percentile(empty.clone(), 0.5), percentile(empty, 0.99));
    let (s50, s99) = (percentile(scroll.clone(), 0.5), percentile(scroll, 0.99));
    let (w50, w99) = (
        percentile(windowing.clone(), 0.5),
        percentile(windowing, 0.99),
    );
    let (r50, r99) = (percentile(shown.clone(), 0.5), percentile(shown, 0.99));
    println!(
        "viewer/series: {slices} slices of 512x512 on {}",
        gpu.adapter_name
    );
    println!(
        "viewer/device: {:.1} ms (once, when the viewer starts)",
        ms(device)
    );
    println!(
        "viewer/first_image: {:.1} ms (open, decode, upload, draw, read back)",
        ms(first)
    );
    println!(
        "viewer/whole_series_decoded: {:.2} s ({:.0} slices/s), cache {} MiB",
        all.as_secs_f64(),
        f64::from(slices) / all.as_secs_f64(),
        cache.used_bytes() >> 20
    );
    println!(
        "viewer/scroll_frame: p50 {:.2} ms, p99 {:.2} ms = {:.1}x / {:.1}x the empty viewport (p50 {:.2} ms, p99 {:.2} ms)",
        ms(s50),
        ms(s99),
        ms(s50) / ms(e50).max(1e-6),
        ms(s99) / ms(e99).max(1e-6),
        ms(e50),
        ms(e99)
    );
    println!(
        "viewer/scroll_frame_with_read_back: p50 {:.2} ms, p99 {:.2} ms = {:.1}x / {:.1}x the empty viewport",
        ms(r50),
        ms(r99),
        ms(r50) / ms(e50).max(1e-6),
        ms(r99) / ms(e99).max(1e-6)
    );
    println!(
        "viewer/window_change: p50 {:.2} ms, p99 {:.2} ms = {:.1}x / {:.1}x the empty viewport",
        ms(w50),
        ms(w99),
        ms(w50) / ms(e50).max(1e-6),
        ms(w99) / ms(e99).max(1e-6)
    );
}
