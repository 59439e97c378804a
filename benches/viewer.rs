//! Viewer benchmarks on a synthetic CT series (512×512, 16-bit; 1,000 slices with --bench,
//! `LIGHTBOX_BENCH_SLICES` to change): time to the first image (open, decode, GPU upload, draw
//! and read back), the whole series resident on the GPU (decoded on every core, uploaded into
//! texture arrays, as the viewer's background load does), the frame time of scrolling through
//! the resident series (a uniform write and a draw) and of a window change, each against the
//! frame time of drawing an empty (1×1) viewport on the same adapter, and the memory held. On
//! a machine without a GPU this is Mesa's lavapipe; rerun it on a real GPU with
//! `cargo bench --bench viewer`.
//!
//! Side by side, on the same files in the same run: Debian's Orthanc with its Web Viewer
//! plugin (`orthanc-webviewer`) driven in headless Chromium by `benches/peers/
//! orthanc_webviewer.py` (time to first image, whole series loaded). It needs `apt-get install
//! dcmtk orthanc orthanc-webviewer chromium chromium-driver` and selenium in the Python that
//! `LIGHTBOX_PYTHON` names (`scripts/install-bench-deps.sh`); `LIGHTBOX_BENCH_PEER=0` skips it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failed step is a failed run

use std::time::{Duration, Instant};

use lightbox::imaging::frame_cache::FrameCache;
use lightbox::imaging::gpu::GpuRenderer;
use lightbox::imaging::gpu::GpuSeries;
use lightbox::imaging::{ImageFile, RenderOptions, VoiFunction, Window, decode_in_parallel};
use lightbox::pacs::synthetic::SyntheticSeries;

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i.min(samples.len() - 1)]
}

/// Waits for the uploads queued so far (a draw of the first slice is the cheapest submit).
fn gpu_wait(gpu: &GpuRenderer, series: &GpuSeries) {
    series.draw_and_wait(gpu, 0, None).unwrap();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Orthanc with the Web Viewer plugin on free ports, storing into `dir`: (process, HTTP port).
fn start_orthanc_webviewer(dir: &std::path::Path) -> (std::process::Child, u16, u16) {
    let (dicom, http) = (free_port(), free_port());
    let config = dir.join("orthanc.json");
    let storage = dir.join("orthanc-storage");
    std::fs::write(
        &config,
        serde_json::json!({
            "Name": "bench",
            "StorageDirectory": storage,
            "IndexDirectory": storage,
            "DicomAet": "ORTHANC",
            "DicomPort": dicom,
            "HttpPort": http,
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": false,
            "DicomCheckCalledAet": false,
            "Plugins": ["/usr/share/orthanc/plugins/libOrthancWebViewer.so"],
            "WebViewer": { "CachePath": dir.join("webviewer-cache") },
        })
        .to_string(),
    )
    .unwrap();
    let child = std::process::Command::new("Orthanc")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("Orthanc (apt-get install orthanc orthanc-webviewer)");
    wait_for_port(http);
    wait_for_port(dicom);
    (child, dicom, http)
}

/// Stores a folder into Orthanc with dcmtk's storescu.
fn store_into_orthanc(dicom_port: u16, folder: &std::path::Path) {
    let status = std::process::Command::new("storescu")
        .args([
            "-aec",
            "ORTHANC",
            "+sd",
            "127.0.0.1",
            &dicom_port.to_string(),
        ])
        .arg(folder)
        .status()
        .expect("storescu (apt-get install dcmtk)");
    assert!(status.success(), "storescu into Orthanc failed");
}

/// What Lightbox measured, for the side-by-side lines.
struct Ours {
    first_ms: f64,
    whole_series_secs: f64,
}

/// Runs Orthanc + its Web Viewer in headless Chromium on the same files and prints ratios.
fn compare_with_orthanc_webviewer(
    dir: &std::path::Path,
    files: &std::path::Path,
    series_uid: &str,
    slices: u32,
    ours: &Ours,
) {
    let warm = dir.join("warm");
    std::fs::create_dir_all(&warm).unwrap();
    let warm_series = SyntheticSeries::new(79, 512);
    for i in 0..2 {
        warm_series
            .slice(i)
            .unwrap()
            .write_to_file(warm.join(format!("W{i}.dcm")))
            .unwrap();
    }
    let (mut orthanc, dicom, http) = start_orthanc_webviewer(dir);
    store_into_orthanc(dicom, &warm);
    store_into_orthanc(dicom, files);
    let python = std::env::var("LIGHTBOX_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/peers/orthanc_webviewer.py"
    );
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(http.to_string())
        .arg(series_uid)
        .arg(&warm_series.series_uid)
        .output()
        .expect("python with selenium (scripts/install-bench-deps.sh)");
    let _ = orthanc.kill();
    let _ = orthanc.wait();
    assert!(
        out.status.success(),
        "the web viewer run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = peer["first_image_ms"].as_f64().unwrap();
    let lossy = peer["whole_series_jpeg95"]["ms"].as_f64().unwrap();
    let lossless = peer["whole_series_deflate"]["ms"].as_f64().unwrap();
    assert_eq!(
        peer["whole_series_deflate"]["slices"].as_u64(),
        Some(u64::from(slices))
    );
    println!(
        "peer/orthanc_webviewer: Orthanc Web Viewer in headless Chromium {}",
        peer["browser"].as_str().unwrap_or("?")
    );
    println!(
        "peer/first_image: Lightbox {:.1} ms vs web viewer {:.1} ms (navigation to first pixel) = {:.2}x (lower is faster)",
        ours.first_ms,
        first,
        ours.first_ms / first
    );
    println!(
        "peer/whole_series: Lightbox {:.2} s (lossless, on the GPU) vs web viewer {:.2} s lossless (deflate) = {:.2}x; vs {:.2} s with its default lossy JPEG q95 = {:.2}x",
        ours.whole_series_secs,
        lossless / 1000.0,
        ours.whole_series_secs * 1000.0 / lossless,
        lossy / 1000.0,
        ours.whole_series_secs * 1000.0 / lossy
    );
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
    let files = dir.path().join("series");
    std::fs::create_dir_all(&files).unwrap();
    let synthetic = SyntheticSeries::new(77, 512);
    let paths: Vec<_> = (0..slices)
        .map(|i| {
            let p = files.join(format!("CT{i:05}.dcm"));
            synthetic.slice(i).unwrap().write_to_file(&p).unwrap();
            p
        })
        .collect();

    let device_started = Instant::now();
    let gpu = GpuRenderer::new().unwrap();
    let device = device_started.elapsed();

    // The series in a practice's archive, as C-STORE or an import puts it there.
    let data = lightbox::app::DataFolder::resolve(Some(&dir.path().join("practice"))).unwrap();
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let imported = lightbox::import::import_paths(&services.ingest, std::slice::from_ref(&files));
    assert_eq!(imported.imported, slices as usize, "{imported:?}");
    let practice = data.open_practice().unwrap();
    // The import is over: stop the services so their last flush does not share the
    // measurement (a practice opens a study long after it arrived).
    drop(services);

    // First image on open: the viewer lists the study's instances from the archive's index
    // and groups them into series (`Pane::open`), then decodes, uploads, draws and reads back
    // the first one (the device is made when the viewer starts).
    let first_started = Instant::now();
    let mut pane = lightbox::ui::Pane::default();
    pane.open(&practice, &synthetic.study_uid);
    let listed = first_started.elapsed();
    let first_file = pane.series()[0].images[0].clone();
    assert_eq!(pane.series()[0].images.len(), slices as usize);
    let frame = ImageFile::open(&first_file).unwrap().frame(0).unwrap();
    let decoded = first_started.elapsed();
    let mut resident = gpu.upload(&frame, &RenderOptions::default()).unwrap();
    let image = gpu.draw(&resident).unwrap();
    let first = first_started.elapsed();
    assert_eq!(image.columns, 512);

    // The whole series resident on the GPU: decoded in batches on every core, each slice
    // uploaded into its texture-array layer (the viewer's background load). Three rounds (the
    // machine is noisy): the median is reported, the last series is kept for scrolling.
    let mut rounds = Vec::new();
    let mut resident_series = None;
    for _ in 0..3 {
        drop(resident_series.take());
        let all_started = Instant::now();
        let mut series = gpu.series(512, 512, paths.len()).unwrap();
        for (b, batch) in paths.chunks(8).enumerate() {
            let frames =
                decode_in_parallel(batch, |p| ImageFile::open(p).unwrap().frame(0).unwrap());
            for (i, f) in frames.into_iter().enumerate() {
                series.upload_layer(&gpu, b * 8 + i, &f.unwrap()).unwrap();
            }
        }
        gpu_wait(&gpu, &series);
        rounds.push(all_started.elapsed());
        assert_eq!(series.loaded(), paths.len());
        resident_series = Some(series);
    }
    let series = resident_series.unwrap();
    let all = percentile(rounds.clone(), 0.5);
    // Decoding alone (one core, then every core), to say where the load's time goes.
    let decode_started = Instant::now();
    for p in paths.iter().take(100) {
        let _ = ImageFile::open(p).unwrap().frame(0).unwrap();
    }
    let decode_one_core_per_slice = decode_started.elapsed() / 100;

    // Scrolling through the resident series: a uniform write (layer, rescale) and a draw.
    let mut scroll = Vec::new();
    for i in 0..paths.len() {
        let started = Instant::now();
        series.draw_and_wait(&gpu, i, None).unwrap();
        scroll.push(started.elapsed());
    }
    // As the viewer shows it today: draw and read back (the window then uploads the pixels
    // to its own texture).
    let mut shown = Vec::new();
    for i in 0..paths.len() {
        let started = Instant::now();
        let _ = series.draw(&gpu, i, None).unwrap();
        shown.push(started.elapsed());
    }
    // The slice-by-slice path the viewer takes for images that cannot join a series: decode
    // already done (cache), upload + draw per slice.
    let mut cache = FrameCache::new(usize::MAX);
    for p in paths.iter().take(100) {
        let f = ImageFile::open(p).unwrap().frame(0).unwrap();
        cache.insert(p.clone(), f, 512 * 512 * 4);
    }
    let mut uploading = Vec::new();
    for p in paths.iter().take(100) {
        let f = cache.get(p).unwrap();
        let started = Instant::now();
        let g = gpu.upload(&f, &RenderOptions::default()).unwrap();
        gpu.draw_and_wait(&g).unwrap();
        uploading.push(started.elapsed());
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
    let (u50, u99) = (
        percentile(uploading.clone(), 0.5),
        percentile(uploading, 0.99),
    );
    println!(
        "viewer/series: {slices} slices of 512x512 on {}",
        gpu.adapter_name
    );
    println!(
        "viewer/device: {:.1} ms (once, when the viewer starts)",
        ms(device)
    );
    println!(
        "viewer/first_image: {:.1} ms on open from the archive (listing the study's {slices} instances from the index {:.1} ms, reading and decoding the first {:.1} ms, upload, draw and read back {:.1} ms)",
        ms(first),
        ms(listed),
        ms(decoded - listed),
        ms(first - decoded)
    );
    println!(
        "viewer/whole_series_resident: median {:.2} s of 3 rounds ({}) = {:.0} slices/s; {} texture arrays, GPU memory {} MiB; decoding one slice on one core {:.2} ms",
        all.as_secs_f64(),
        rounds
            .iter()
            .map(|r| format!("{:.2} s", r.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", "),
        f64::from(slices) / all.as_secs_f64(),
        series.texture_count(),
        series.bytes() >> 20,
        ms(decode_one_core_per_slice)
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
        "viewer/scroll_frame_uploading_each_slice: p50 {:.2} ms, p99 {:.2} ms (100 slices; images that cannot join a series)",
        ms(u50),
        ms(u99)
    );
    println!(
        "viewer/window_change: p50 {:.2} ms, p99 {:.2} ms = {:.1}x / {:.1}x the empty viewport",
        ms(w50),
        ms(w99),
        ms(w50) / ms(e50).max(1e-6),
        ms(w99) / ms(e99).max(1e-6)
    );
    if !quick && std::env::var("LIGHTBOX_BENCH_PEER").as_deref() != Ok("0") {
        compare_with_orthanc_webviewer(
            dir.path(),
            &files,
            &synthetic.series_uid,
            slices,
            &Ours {
                first_ms: ms(first),
                whole_series_secs: all.as_secs_f64(),
            },
        );
    }
}
