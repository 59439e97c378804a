//! A reading station on a practice LAN and at home: how long until the first image and the
//! whole series are on the station, over WADO-RS, from Lightbox and from Orthanc with its
//! DICOMweb plugin (Debian `orthanc-dicomweb`), same files, same link, same client (python
//! `requests`), in one run. The links are shaped by a user-space proxy in this process (a
//! rate and a one-way delay each way), because this machine's kernel has no `netem`:
//! LAN 1 Gbit/s with 0.1 ms, WAN 50 Mbit/s with 10 ms (20 ms round trip). Each server is
//! asked for the series as stored and in JPEG-LS lossless (`transfer-syntax=` in Accept).
//!
//! Run: `cargo bench --bench wire` (needs dcmtk, orthanc, orthanc-dicomweb and the test venv).
//! Env: LIGHTBOX_BENCH_SLICES (default 1000), LIGHTBOX_BENCH_SIZE (512), LIGHTBOX_BENCH_CLIENT=0
//! (only the reading stations, not the python client's rows).
//! Then, on the same link, the two reading stations end to end:
//! - a Lightbox workstation (`Practice::remote` over its own HTTPS link, as `lightbox
//!   --server` runs it): the first image fetched, decoded, uploaded and drawn on the GPU (the
//!   viewer opens on it), then the whole series resident on the GPU — slices decoded on every
//!   core as they arrive (JPEG-LS on eight connections) and uploaded into texture-array layers,
//!   as the viewer's background load does. The GPU is this machine's (Mesa lavapipe here).
//! - the peer: Orthanc's Web Viewer (Debian `orthanc-webviewer`, Cornerstone) in headless
//!   Chromium, driven by `benches/peers/orthanc_webviewer.py` through the same shaped link:
//!   navigation to the first non-black pixel, and every slice loaded and decoded into the
//!   viewer's cache, lossless (deflate) and with its default lossy JPEG.
//!   `LIGHTBOX_BENCH_PEER=0` skips it (needs `scripts/install-bench-deps.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failed step is a failed run

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lightbox::app::{self, DataFolder, ServeOptions};
use lightbox::events::EventSender;
use lightbox::pacs::synthetic::SyntheticSeries;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "wire bench password";
const JPEG_LS: &str = "1.2.840.10008.1.2.4.80";

/// Forwards one direction at `mbit` with `one_way` delay: each chunk leaves when the line is
/// free and arrives `one_way` later.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mbit: f64,
    one_way: Duration,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(tokio::time::Instant, Vec<u8>)>(512);
    let writer = tokio::spawn(async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut line_free = tokio::time::Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let start = line_free.max(tokio::time::Instant::now());
        line_free = start + Duration::from_secs_f64(n as f64 * 8.0 / (mbit * 1e6));
        if tx
            .send((line_free + one_way, buf[..n].to_vec()))
            .await
            .is_err()
        {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// A shaped link to `upstream`: where to connect instead.
async fn shaped(upstream: SocketAddr, mbit: f64, one_way: Duration) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pump(cr, sw, mbit, one_way));
            tokio::spawn(pump(sr, cw, mbit, one_way));
        }
    });
    addr
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nothing listens on {port}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn store_files(port: u16, ae: &str, folder: &Path) {
    let out = Command::new("storescu")
        .env("TCP_NODELAY", "1")
        .args(["-aec", ae, "+sd", "127.0.0.1", &port.to_string()])
        .arg(folder)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let slices: u32 = std::env::var("LIGHTBOX_BENCH_SLICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let size: u16 = std::env::var("LIGHTBOX_BENCH_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let series = SyntheticSeries::new(77, size);
    for i in 0..slices {
        series
            .slice(i)
            .unwrap()
            .write_to_file(files.join(format!("CT{i:05}.dcm")))
            .unwrap();
    }
    let middle = series.sop_uid(slices / 2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // Lightbox: the services and the API in this process.
    let data = DataFolder::resolve(Some(&dir.path().join("lightbox"))).unwrap();
    let practice = data.open_practice().unwrap();
    let admin = practice.act_as_os_administrator("bench").unwrap();
    practice
        .create_user(
            &admin,
            "reader",
            "Dr Wire",
            lightbox::access::Role::Radiologist,
            PASSWORD,
        )
        .unwrap();
    let services = rt
        .block_on(app::start_services(
            &data,
            &ServeOptions {
                dicom_port: Some(0),
                ..Default::default()
            },
            EventSender::discard(),
        ))
        .unwrap();
    let tls = lightbox::api::tls::PracticeTls::ensure(data.root()).unwrap();
    let api = rt
        .block_on(lightbox::api::ApiServer::start(
            "127.0.0.1:0".parse().unwrap(),
            data.open_practice().unwrap(),
            None,
            &tls,
        ))
        .unwrap();
    store_files(services.dicom_addr.port(), "LIGHTBOX", &files);

    // Orthanc with its DICOMweb plugin (and its Web Viewer, the reading station's peer).
    let with_peer_viewer = std::env::var("LIGHTBOX_BENCH_PEER").as_deref() != Ok("0");
    let orthanc_dir = dir.path().join("orthanc");
    std::fs::create_dir_all(&orthanc_dir).unwrap();
    let (dicom_port, http_port) = (free_port(), free_port());
    let config = orthanc_dir.join("orthanc.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"Name":"wire","StorageDirectory":"{0}","IndexDirectory":"{0}","DicomAet":"ORTHANC","DicomPort":{dicom_port},"HttpPort":{http_port},"RemoteAccessAllowed":false,"AuthenticationEnabled":false,"DicomCheckCalledAet":false,"Plugins":["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"{webviewer}],"DicomWeb":{{"Enable":true,"Root":"/dicom-web/"}},"WebViewer":{{"CachePath":"{0}/webviewer-cache"}}}}"#,
            orthanc_dir.display(),
            webviewer = if with_peer_viewer {
                ",\"/usr/share/orthanc/plugins/libOrthancWebViewer.so\""
            } else {
                ""
            }
        ),
    )
    .unwrap();
    let mut orthanc = Command::new("Orthanc")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Orthanc (apt-get install orthanc orthanc-dicomweb)");
    wait_for(dicom_port);
    wait_for(http_port);
    store_files(dicom_port, "ORTHANC", &files);
    // The web viewer's warm-up series (its scripts loaded before the timed navigation, as
    // Lightbox's GPU device is made before its timing).
    let warm_series = SyntheticSeries::new(79, size);
    if with_peer_viewer {
        let warm = dir.path().join("warm");
        std::fs::create_dir_all(&warm).unwrap();
        for i in 0..2 {
            warm_series
                .slice(i)
                .unwrap()
                .write_to_file(warm.join(format!("W{i}.dcm")))
                .unwrap();
        }
        store_files(dicom_port, "ORTHANC", &warm);
    }
    let gpu = lightbox::imaging::gpu::GpuRenderer::new().unwrap();

    let python = std::env::var_os("LIGHTBOX_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let links = [
        ("LAN 1 Gbit/s", 1000.0, 0.1),
        ("WAN 50 Mbit/s 20 ms", 50.0, 10.0),
    ];
    println!(
        "{slices} slices of {size}²: link, server, on the wire, first image ms, whole series s, MB"
    );
    for (link, mbit, one_way_ms) in links {
        let one_way = Duration::from_secs_f64(one_way_ms / 1000.0);
        let lightbox_addr = rt.block_on(shaped(api.addr, mbit, one_way));
        let orthanc_addr = rt.block_on(shaped(
            SocketAddr::from(([127, 0, 0, 1], http_port)),
            mbit,
            one_way,
        ));
        let mut medians = std::collections::HashMap::new();
        // LIGHTBOX_BENCH_CLIENT=0: only the reading stations (the python rows take minutes).
        let python_rows = std::env::var("LIGHTBOX_BENCH_CLIENT").as_deref() != Ok("0");
        for (server, syntax) in [
            ("lightbox", "*"),
            ("orthanc", "*"),
            ("lightbox", JPEG_LS),
            ("orthanc", JPEG_LS),
        ]
        .into_iter()
        .filter(|_| python_rows)
        {
            let accept =
                format!("multipart/related; type=\"application/dicom\"; transfer-syntax={syntax}");
            let (base, extra): (String, Vec<String>) = if server == "lightbox" {
                (
                    format!("https://localhost:{}/dicomweb", lightbox_addr.port()),
                    vec![
                        "--user".into(),
                        "reader".into(),
                        "--password".into(),
                        PASSWORD.into(),
                        "--ca".into(),
                        tls.ca_path().display().to_string(),
                    ],
                )
            } else {
                (
                    format!("http://127.0.0.1:{}/dicom-web", orthanc_addr.port()),
                    vec![],
                )
            };
            let series_url = format!(
                "{base}/studies/{}/series/{}",
                series.study_uid, series.series_uid
            );
            let instance_url = format!("{series_url}/instances/{middle}");
            let out = Command::new(&python)
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/wado_timing.py"))
                .args([&series_url, &instance_url, &accept])
                .args(&extra)
                .output()
                .unwrap();
            let got: serde_json::Value = match serde_json::from_slice(&out.stdout) {
                Ok(v) => v,
                Err(_) => {
                    println!(
                        "{link:<22} {server:<9} {:<10} failed: {}",
                        if syntax == "*" {
                            "as stored"
                        } else {
                            "JPEG-LS"
                        },
                        String::from_utf8_lossy(&out.stderr)
                            .lines()
                            .last()
                            .unwrap_or("")
                    );
                    continue;
                }
            };
            println!(
                "{link:<22} {server:<9} {:<10} {:>8} {:>8} {:>8}  (status {})",
                if syntax == "*" {
                    "as stored"
                } else {
                    "JPEG-LS"
                },
                got["first_ms"],
                got["series_s"],
                got["series_mb"],
                got["status"]
            );
            medians.insert(
                (server, syntax),
                got["series_s"].as_f64().unwrap_or(f64::NAN),
            );
        }
        let station = workstation_row(
            link,
            lightbox_addr,
            &practice,
            &admin,
            &tls,
            &gpu,
            &series,
            slices,
            &dir.path().join(format!("ws-{mbit}")),
        );
        if with_peer_viewer {
            web_viewer_row(
                link,
                &python,
                orthanc_addr,
                &series,
                &warm_series,
                slices,
                station,
            );
        }
        for syntax in ["*", JPEG_LS] {
            if let (Some(l), Some(o)) = (
                medians.get(&("lightbox", syntax)),
                medians.get(&("orthanc", syntax)),
            ) {
                println!(
                    "{link:<22} whole series, {}: Lightbox / Orthanc = {:.2}",
                    if syntax == "*" {
                        "as stored"
                    } else {
                        "JPEG-LS"
                    },
                    l / o
                );
            }
        }
    }
    let _ = orthanc.kill();
    let _ = orthanc.wait();
    api.stop();
    services.stop();
}

/// A Lightbox workstation reading the series over `addr` (the shaped link), as its viewer
/// does: the first image fetched, decoded, uploaded and drawn; then every slice decoded on
/// every core as it arrives and uploaded into the series' texture array. (first image ms,
/// whole series on the GPU s).
#[allow(clippy::too_many_arguments)]
fn workstation_row(
    link: &str,
    addr: SocketAddr,
    practice: &lightbox::practice::Practice,
    admin: &lightbox::access::Actor,
    tls: &lightbox::api::tls::PracticeTls,
    gpu: &lightbox::imaging::gpu::GpuRenderer,
    series: &SyntheticSeries,
    slices: u32,
    folder: &Path,
) -> (f64, f64) {
    use lightbox::imaging::{ImageFile, RenderOptions, decode_in_parallel};
    use lightbox::practice::remote::PracticeLink as _;
    let code = practice
        .start_workstation_pairing(
            admin,
            &format!("Station {link}"),
            &tls.ca_fingerprint().unwrap(),
        )
        .unwrap();
    let paired =
        lightbox::workstation::pair(&format!("https://localhost:{}", addr.port()), &code.code)
            .unwrap();
    let server_link = std::sync::Arc::new(lightbox::workstation::ServerLink::new(paired).unwrap());
    server_link.sign_in("reader", PASSWORD).unwrap();
    let station = lightbox::practice::Practice::remote(server_link, folder).unwrap();
    // The viewer's GPU is warm (device made, shaders compiled by an earlier image), as the
    // web viewer's scripts are warmed on another series before its timing.
    let warm = SyntheticSeries::new(80, 8);
    let warm_file = folder.join("warm.dcm");
    std::fs::create_dir_all(folder).unwrap();
    warm.slice(0).unwrap().write_to_file(&warm_file).unwrap();
    let warm_frame = ImageFile::open(&warm_file).unwrap().frame(0).unwrap();
    gpu.draw_and_wait(&gpu.upload(&warm_frame, &RenderOptions::default()).unwrap())
        .unwrap();
    let mut warm_series = gpu.series(8, 8, 2).unwrap();
    warm_series.upload_layer(gpu, 0, &warm_frame).unwrap();
    warm_series.draw_and_wait(gpu, 0, None).unwrap();
    drop(warm_series);
    let start = Instant::now();
    let rows = station.study_images(&series.study_uid).unwrap();
    let files: Vec<_> = rows
        .iter()
        .map(|r| folder.join("archive").join(&r.file_path))
        .collect();
    assert_eq!(files.len(), slices as usize);
    let cached_ms = start.elapsed().as_secs_f64() * 1000.0;
    // The slice the viewer opens on: on screen.
    let first = ImageFile::open(&files[0]).unwrap().frame(0).unwrap();
    let shown = gpu.upload(&first, &RenderOptions::default()).unwrap();
    gpu.draw_and_wait(&shown).unwrap();
    let first_ms = start.elapsed().as_secs_f64() * 1000.0;
    // The rest: decoded in batches of eight as they arrive, each into its layer.
    let size = u32::from(series.size);
    let mut resident = gpu.series(size, size, files.len()).unwrap();
    let allocated_s = start.elapsed().as_secs_f64();
    let mut waited = Duration::ZERO;
    for (b, batch) in files.chunks(8).enumerate() {
        let waiting = Instant::now();
        for file in batch {
            while !file.exists() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        waited += waiting.elapsed();
        let frames = decode_in_parallel(batch, |p| ImageFile::open(p).unwrap().frame(0).unwrap());
        for (i, f) in frames.into_iter().enumerate() {
            resident.upload_layer(gpu, b * 8 + i, &f.unwrap()).unwrap();
        }
    }
    resident.draw_and_wait(gpu, 0, None).unwrap();
    assert_eq!(resident.loaded(), files.len());
    let series_s = start.elapsed().as_secs_f64();
    let cached_mb = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum::<u64>() as f64
        / 1e6;
    println!(
        "{link:<22} workstation JPEG-LS   {first_ms:>8.1} {series_s:>8.2} {cached_mb:>8.1}  (first image: in cache at {cached_ms:.1} ms, then decoded, uploaded, drawn; series resident on the GPU: texture array made by {allocated_s:.2} s, {:.2} s waiting for slices to arrive)",
        waited.as_secs_f64()
    );
    (first_ms, series_s)
}

/// Orthanc's Web Viewer in headless Chromium over the same shaped link (`orthanc_addr`), and
/// the Lightbox workstation's figures (`station`: first image ms, whole series s) beside it.
fn web_viewer_row(
    link: &str,
    python: &Path,
    orthanc_addr: SocketAddr,
    series: &SyntheticSeries,
    warm: &SyntheticSeries,
    slices: u32,
    station: (f64, f64),
) {
    let out = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/orthanc_webviewer.py"))
        .arg(orthanc_addr.port().to_string())
        .arg(&series.series_uid)
        .arg(&warm.series_uid)
        .output()
        .expect("python with selenium (scripts/install-bench-deps.sh)");
    let peer: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(_) => {
            println!(
                "{link:<22} web viewer failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            return;
        }
    };
    let first = peer["first_image_ms"].as_f64().unwrap_or(f64::NAN);
    let lossless_s = peer["whole_series_deflate"]["ms"]
        .as_f64()
        .unwrap_or(f64::NAN)
        / 1000.0;
    let lossy_s = peer["whole_series_jpeg95"]["ms"]
        .as_f64()
        .unwrap_or(f64::NAN)
        / 1000.0;
    assert_eq!(
        peer["whole_series_deflate"]["slices"].as_u64(),
        Some(u64::from(slices)),
        "{peer}"
    );
    println!(
        "{link:<22} web viewer (Chromium {}) first pixel {first:.1} ms, series lossless {lossless_s:.2} s, lossy JPEG q95 {lossy_s:.2} s",
        peer["browser"].as_str().unwrap_or("?")
    );
    println!(
        "{link:<22} reading station, Lightbox workstation / Orthanc Web Viewer: first image {:.2}, whole series {:.2} (lossless both; vs its lossy {:.2})",
        station.0 / first,
        station.1 / lossless_s,
        station.1 / lossy_s
    );
}
