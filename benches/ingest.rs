//! Side-by-side ingest: dcmtk `storescu` sends the same synthetic 512×512 16-bit CT instances
//! to (a) Lightbox (crash-durable and indexed), (b) dcmtk `storescp` writing plain files,
//! (c) Debian's Orthanc with its default SQLite index — all with TCP_NODELAY=1, in one run.
//!
//! Run: `cargo bench --bench ingest` (needs dcmtk and orthanc; see scripts/install-test-deps.sh).
//! Env: LIGHTBOX_BENCH_FILES (default 1000), LIGHTBOX_BENCH_ROUNDS (default 3).
//! Prints files/s per receiver per round, medians, and ratios against storescp.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lightbox::pacs::synthetic::SyntheticSeries;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on port {port}");
}

struct Receiver {
    name: &'static str,
    child: Child,
    port: u16,
    ae: &'static str,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_lightbox(dir: &Path) -> Receiver {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_lightbox"))
        .arg("--data-dir")
        .arg(dir)
        .args([
            "serve",
            "--api-port",
            "0",
            "--dicom-port",
            &port.to_string(),
            "--hl7-port",
            "0",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("lightbox serve");
    wait_for_port(port);
    Receiver {
        name: "lightbox",
        child,
        port,
        ae: "LIGHTBOX",
    }
}

fn start_storescp(dir: &Path) -> Receiver {
    let port = free_port();
    let child = Command::new("storescp")
        .env("TCP_NODELAY", "1")
        .args(["-aet", "STORESCP", "-od"])
        .arg(dir)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("storescp (install dcmtk)");
    wait_for_port(port);
    Receiver {
        name: "storescp",
        child,
        port,
        ae: "STORESCP",
    }
}

fn start_orthanc(dir: &Path) -> Receiver {
    let port = free_port();
    let http = free_port();
    let config = dir.join("orthanc.json");
    let storage = dir.join("storage");
    std::fs::write(
        &config,
        format!(
            r#"{{"Name":"bench","StorageDirectory":"{}","IndexDirectory":"{}","DicomAet":"ORTHANC","DicomPort":{port},"HttpPort":{http},"RemoteAccessAllowed":false,"AuthenticationEnabled":false,"DicomCheckCalledAet":false,"Plugins":[]}}"#,
            storage.display(),
            storage.display()
        ),
    )
    .expect("orthanc config");
    let child = Command::new("Orthanc")
        .env("TCP_NODELAY", "1")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Orthanc (install orthanc)");
    wait_for_port(port);
    Receiver {
        name: "orthanc",
        child,
        port,
        ae: "ORTHANC",
    }
}

fn send_all(receiver: &Receiver, files_dir: &Path) -> f64 {
    let started = Instant::now();
    let out = Command::new("storescu")
        .env("TCP_NODELAY", "1")
        .args([
            "-aec",
            receiver.ae,
            "+sd",
            "127.0.0.1",
            &receiver.port.to_string(),
        ])
        .arg(files_dir)
        .output()
        .expect("storescu");
    let secs = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "storescu to {} failed: {}",
        receiver.name,
        String::from_utf8_lossy(&out.stderr)
    );
    secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    // `cargo test --benches` runs bench targets without --bench: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let count: u32 = std::env::var("LIGHTBOX_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rounds: usize = std::env::var("LIGHTBOX_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let work = tempfile::tempdir().expect("tempdir");
    let files_dir = work.path().join("files");
    std::fs::create_dir_all(&files_dir).expect("files dir");
    let series = SyntheticSeries::new(4242, 512);
    for i in 0..count {
        series
            .slice(i)
            .expect("slice")
            .write_to_file(files_dir.join(format!("{i:05}.dcm")))
            .expect("write");
    }
    let bytes: u64 = std::fs::read_dir(&files_dir)
        .expect("dir")
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "ingest: {count} synthetic 512x512 16-bit CT files, {:.1} MB, {rounds} rounds",
        bytes as f64 / 1e6
    );
    let mut results: Vec<(&str, Vec<f64>)> = vec![
        ("lightbox", vec![]),
        ("storescp", vec![]),
        ("orthanc", vec![]),
    ];
    for round in 0..rounds {
        for (name, rates) in results.iter_mut() {
            let dir = work.path().join(format!("{name}-{round}"));
            std::fs::create_dir_all(&dir).expect("receiver dir");
            // Start every receiver from a clean page cache: no one inherits (and pays for)
            // the previous receiver's unwritten data.
            let _ = Command::new("sync").status();
            let receiver = match *name {
                "lightbox" => start_lightbox(&dir),
                "storescp" => start_storescp(&dir),
                _ => start_orthanc(&dir),
            };
            let secs = send_all(&receiver, &files_dir);
            let rate = count as f64 / secs;
            println!("round {round}: {name:9} {secs:7.2} s  {rate:8.1} files/s");
            rates.push(rate);
        }
    }
    let storescp = median(results[1].1.clone());
    println!("medians (files/s) and ratio to storescp:");
    for (name, rates) in &results {
        let m = median(rates.clone());
        println!("  {name:9} {m:8.1}  x{:.2}", m / storescp);
    }
    let _ = PathBuf::new();
}
