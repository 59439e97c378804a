//! Memory against object size, side by side: dcmtk `storescu` sends one ≥ 600 MB multi-frame
//! object (breast tomosynthesis, long cine), then four at once, to (a) Lightbox and (b) dcmtk
//! `storescp +B` (bit-preserving: written straight to disk, no index, no sync), in one run.
//! Reports each receiver's peak resident memory above its idle (VmHWM − VmRSS before, Linux)
//! and the time taken.
//!
//! Run: `cargo bench --bench large_objects` (needs dcmtk and the test venv's pydicom).
//! Env: LIGHTBOX_BENCH_MIB (object size, default 640).

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failed step is a failed bench

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

fn python() -> PathBuf {
    std::env::var_os("LIGHTBOX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

fn proc_status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
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
        .args(["+B", "-aet", "STORESCP", "-od"])
        .arg(dir)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("storescp (install dcmtk)");
    wait_for_port(port);
    Receiver {
        name: "storescp +B",
        child,
        port,
        ae: "STORESCP",
    }
}

/// Sends `files` at once (one storescu each); returns (peak MiB above idle, seconds).
fn measure(receiver: &Receiver, files: &[PathBuf]) -> (u64, f64) {
    let pid = receiver.child.id();
    std::thread::sleep(Duration::from_millis(300));
    let idle_kib = proc_status_kib(pid, "VmRSS:");
    let started = Instant::now();
    let senders: Vec<Child> = files
        .iter()
        .map(|f| {
            Command::new("storescu")
                .env("TCP_NODELAY", "1")
                .args(["-aec", receiver.ae, "127.0.0.1", &receiver.port.to_string()])
                .arg(f)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("storescu")
        })
        .collect();
    for mut s in senders {
        let status = s.wait().expect("storescu");
        assert!(status.success(), "{} refused a large object", receiver.name);
    }
    let seconds = started.elapsed().as_secs_f64();
    let peak_kib = proc_status_kib(pid, "VmHWM:");
    (peak_kib.saturating_sub(idle_kib) / 1024, seconds)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mib: u32 = std::env::var("LIGHTBOX_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(640);
    let work = tempfile::tempdir().expect("tempdir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/wild_files.py");
    let files: Vec<PathBuf> = (0..4)
        .map(|i| {
            let out = work.path().join(format!("big{i}.dcm"));
            let made = Command::new(python())
                .arg(&script)
                .args(["big", &mib.to_string()])
                .arg(&out)
                .output()
                .expect("python peer");
            assert!(
                made.status.success(),
                "{}",
                String::from_utf8_lossy(&made.stderr)
            );
            out
        })
        .collect();
    let size_mb = std::fs::metadata(&files[0]).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!("object: {size_mb:.0} MB multi-frame, Explicit VR LE; storescu with TCP_NODELAY=1");
    let mut rows = Vec::new();
    for (label, count) in [("one object", 1usize), ("four at once", 4)] {
        for start in [start_lightbox, start_storescp] {
            let dir = tempfile::tempdir_in(work.path()).expect("receiver dir");
            let _ = Command::new("sync").status();
            let receiver = start(dir.path());
            let (peak, seconds) = measure(&receiver, &files[..count]);
            println!(
                "{label:<13} {:<12} peak {:>5} MiB above idle, {:>6.1} s ({:.0} MB/s)",
                receiver.name,
                peak,
                seconds,
                size_mb * count as f64 / seconds
            );
            rows.push((label, receiver.name, peak, seconds));
        }
    }
    for label in ["one object", "four at once"] {
        let of = |name: &str| {
            rows.iter()
                .find(|r| r.0 == label && r.1 == name)
                .map(|r| (r.2, r.3))
                .unwrap_or((0, 0.0))
        };
        let (ours, our_s) = of("lightbox");
        let (theirs, their_s) = of("storescp +B");
        println!(
            "{label}: Lightbox peak {ours} MiB vs storescp +B {theirs} MiB; time {:.2}× storescp",
            our_s / their_s.max(1e-9)
        );
    }
}
