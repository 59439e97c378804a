//! Helpers shared by the integration tests: a `lightbox serve` child process on a private
//! data folder and an OS-chosen port, the corpus, and the peers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The shared test corpus beside the repository.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// The corpus DICOM folder.
pub fn corpus_dicom() -> PathBuf {
    corpus().join("dicom")
}

/// Every corpus file (not the DICOMDIR tree), sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus_dicom())
        .expect("corpus folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// The Python with pynetdicom/pydicom (set by scripts/test.sh; falls back to .venv).
pub fn python() -> PathBuf {
    std::env::var_os("LIGHTBOX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

/// Runs the Python peer script and parses its JSON output.
pub fn peer(args: &[&str]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/dicom_peer.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .expect("python peer runs");
    assert!(
        out.status.success(),
        "peer {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "peer output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The values of `key` in every match of a `peer(&["find", …])` answer.
pub fn matched(answer: &serde_json::Value, key: &str) -> std::collections::BTreeSet<String> {
    answer["matches"]
        .as_array()
        .expect("a find answer has matches")
        .iter()
        .map(|m| m[key].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The lightbox binary under test.
pub fn lightbox_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lightbox"))
}

/// The administrator the tests' commands act as when they do not run as the operating
/// system's administrator (root may act without `--user`; anyone else names a Lightbox user).
pub const TEST_ADMIN: &str = "test-admin";
/// Its password.
pub const TEST_ADMIN_PASSWORD: &str = "test administrator password";

/// Whether the tests run as the operating system's administrator.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A `lightbox` command on a data folder, acting as root (CI containers) or, for anyone
/// else, as [`TEST_ADMIN`] (created on first use).
pub fn lightbox_command(data: &Path) -> Command {
    let mut cmd = Command::new(lightbox_bin());
    cmd.arg("--data-dir").arg(data);
    if !running_as_root() {
        let store = lightbox_store::Store::open(&data.join("lightbox.sqlite")).expect("database");
        if store.user(TEST_ADMIN).expect("users").is_none() {
            let created = if store.user_count().expect("users") == 0 {
                lightbox::access::create_first_administrator(
                    &store,
                    TEST_ADMIN,
                    "Test Admin",
                    TEST_ADMIN_PASSWORD,
                )
                .map(|_| ())
            } else {
                lightbox::access::create_user(
                    &store,
                    &lightbox::access::Actor::system(),
                    TEST_ADMIN,
                    "Test Admin",
                    lightbox::access::Role::Administrator,
                    TEST_ADMIN_PASSWORD,
                )
                .map(|_| ())
            };
            created.expect("the test administrator");
        }
        cmd.args(["--user", TEST_ADMIN])
            .env("LIGHTBOX_PASSWORD", TEST_ADMIN_PASSWORD);
    }
    cmd
}

/// Runs a lightbox subcommand on a data folder.
pub fn lightbox(data: &Path, args: &[&str]) -> Output {
    lightbox_command(data)
        .args(args)
        .output()
        .expect("lightbox runs")
}

/// Runs a dcmtk tool with TCP_NODELAY=1.
pub fn dcmtk(tool: &str, args: &[&str]) -> Output {
    Command::new(tool)
        .env("TCP_NODELAY", "1")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs: {e}"))
}

/// Configures the peers' default calling AE titles as nodes on `data`.
pub fn trust_test_peers(data: &Path) {
    for ae in [
        "PYPEER", "FINDSCU", "MOVESCU", "GETSCU", "STORESCU", "ECHOSCU",
    ] {
        let out = lightbox(
            data,
            &[
                "nodes",
                "add",
                "--name",
                &ae.to_lowercase(),
                "--ae",
                ae,
                "--host",
                "127.0.0.1",
                "--port",
                "1",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The HL7 senders the tests use (sending application, what it may send), all on loopback.
pub const TEST_HL7_SENDERS: [(&str, &str); 5] = [
    ("EPIC", "adt,merge,orders"),
    ("DICTATE", "results"),
    ("BURST", "adt,orders"),
    ("BENCH", "adt,orders"),
    ("EHR", "adt,orders"),
];

/// Configures the test HL7 senders as sources on `data` (from 127.0.0.1 only).
pub fn trust_test_hl7_senders(data: &Path) {
    for (application, messages) in TEST_HL7_SENDERS {
        let out = lightbox(
            data,
            &[
                "hl7",
                "sources",
                "add",
                "--name",
                &application.to_lowercase(),
                "--application",
                application,
                "--host",
                "127.0.0.1",
                "--messages",
                messages,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The same, straight into an open store (tests that run the services in process).
pub fn trust_test_hl7_senders_in(store: &lightbox_store::Store) {
    for (application, messages) in TEST_HL7_SENDERS {
        store
            .save_hl7_source(&lightbox_store::hl7_sources::Hl7Source {
                name: application.to_lowercase(),
                application: application.into(),
                host: "127.0.0.1".into(),
                messages: messages.into(),
                ..Default::default()
            })
            .expect("an HL7 source");
    }
}

/// A `lightbox serve` child process; killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// The HL7 listener's port (0 if it did not report one).
    pub hl7_port: u16,
    /// The HTTPS API's port (0 if it did not report one).
    pub api_port: u16,
    pub data: PathBuf,
    pub ae: String,
}

impl Server {
    /// Starts a server on `data` with AE `LIGHTBOX` on a free port, with the test peers'
    /// default AE titles configured as nodes (so they may query and retrieve).
    pub fn start(data: &Path) -> Server {
        trust_test_peers(data);
        trust_test_hl7_senders(data);
        Self::start_with(data, "LIGHTBOX", 0)
    }

    /// Like [`Server::start`], with the server's clock starting at `clock`
    /// (`YYYY-MM-DDTHH:MM`): what "now" is decides which slots are free.
    pub fn start_at(data: &Path, clock: &str) -> Server {
        Self::start_at_on(data, clock, 0)
    }

    /// Like [`Server::start_at`], with the API on `api_port` (0: any free port): a server
    /// restarted where its workstations were paired.
    pub fn start_at_on(data: &Path, clock: &str, api_port: u16) -> Server {
        trust_test_peers(data);
        trust_test_hl7_senders(data);
        let mut cmd = Command::new(lightbox_bin());
        cmd.arg("--data-dir").arg(data).args([
            "--clock",
            clock,
            "serve",
            "--ae-title",
            "LIGHTBOX",
            "--dicom-port",
            "0",
            "--hl7-port",
            "0",
        ]);
        Self::spawn_command_on(cmd, data, "LIGHTBOX", api_port)
    }

    /// Starts a server that knows no nodes (unknown-AE rules apply to every peer).
    pub fn start_untrusted(data: &Path) -> Server {
        Self::start_with(data, "LIGHTBOX", 0)
    }

    /// Starts a server with a given AE title and port (0 = free port).
    pub fn start_with(data: &Path, ae: &str, port: u16) -> Server {
        let mut cmd = Command::new(lightbox_bin());
        cmd.arg("--data-dir").arg(data).args([
            "serve",
            "--ae-title",
            ae,
            "--dicom-port",
            &port.to_string(),
            "--hl7-port",
            "0",
        ]);
        Self::spawn_command(cmd, data, ae)
    }

    /// Starts a server whose archive folder is a tmpfs of `archive_bytes`, in a private mount
    /// namespace (`unshare -rm`, no root needed where user namespaces are allowed): a full
    /// disk on demand.
    pub fn start_with_small_archive(data: &Path, archive_bytes: u64) -> Server {
        let archive = data.join("archive");
        std::fs::create_dir_all(&archive).expect("archive folder");
        let script = format!(
            "mount -t tmpfs -o size={archive_bytes} tmpfs '{}' && exec '{}' --data-dir '{}' serve --dicom-port 0 --hl7-port 0",
            archive.display(),
            lightbox_bin().display(),
            data.display()
        );
        let mut cmd = Command::new("unshare");
        cmd.args(["-rm", "sh", "-c", &script]);
        Self::spawn_command(cmd, data, "LIGHTBOX")
    }

    /// Starts `cmd` (a `lightbox serve` command line, perhaps wrapped) and waits until it
    /// listens.
    pub fn spawn_command(cmd: Command, data: &Path, ae: &str) -> Server {
        // Tests run in parallel: the API takes any free port too.
        Self::spawn_command_on(cmd, data, ae, 0)
    }

    /// [`Server::spawn_command`] with the API on `api_port`.
    pub fn spawn_command_on(mut cmd: Command, data: &Path, ae: &str, api_port: u16) -> Server {
        cmd.args(["--api-port", &api_port.to_string()]);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("lightbox serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut line = String::new();
        let addr = loop {
            line.clear();
            let n = reader.read_line(&mut line).expect("read serve output");
            assert!(
                n > 0 && Instant::now() < deadline,
                "serve exited before listening"
            );
            if let Some(rest) = line.trim().strip_prefix("listening dicom ") {
                let a: SocketAddr = rest.parse().expect("address");
                break SocketAddr::from(([127, 0, 0, 1], a.port()));
            }
        };
        line.clear();
        let hl7_port = match reader.read_line(&mut line) {
            Ok(n) if n > 0 => line
                .trim()
                .strip_prefix("listening hl7 ")
                .and_then(|a| a.parse::<SocketAddr>().ok())
                .map_or(0, |a| a.port()),
            _ => 0,
        };
        line.clear();
        let api_port = match reader.read_line(&mut line) {
            Ok(n) if n > 0 => line
                .trim()
                .strip_prefix("listening api ")
                .and_then(|a| a.parse::<SocketAddr>().ok())
                .map_or(0, |a| a.port()),
            _ => 0,
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        Server {
            child,
            addr,
            hl7_port,
            api_port,
            data: data.to_path_buf(),
            ae: ae.to_string(),
        }
    }

    /// Port as a string for command lines.
    pub fn port(&self) -> String {
        self.addr.port().to_string()
    }

    /// Kills the server with SIGKILL (no clean shutdown).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// C-ECHO `server` with dcmtk's echoscu: it must still be serving.
pub fn assert_echo(server: &Server) {
    let out = dcmtk(
        "echoscu",
        &["-aec", &server.ae, "127.0.0.1", &server.port()],
    );
    assert!(
        out.status.success(),
        "the server stopped answering C-ECHO: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes synthetic CT slices into `out` (`lightbox dev synth-ct --out OUT ARGS…`).
pub fn synth_ct(data: &Path, out: &Path, args: &[&str]) {
    let mut all = vec![
        "dev",
        "synth-ct",
        "--out",
        out.to_str().expect("utf-8 path"),
    ];
    all.extend_from_slice(args);
    let result = lightbox(data, &all);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// A free TCP port chosen by the OS (for peers we start, like storescp).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Waits until something accepts connections on `port`.
pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on {port}");
}

/// xorshift64*: seeded, so a failure names the case that reproduces it.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The store of a data folder, opened directly (tests look behind the front ends' backs).
pub fn store(data: &Path) -> lightbox_store::Store {
    lightbox_store::Store::open(&data.join("lightbox.sqlite")).expect("the test's database opens")
}

/// A workstation paired with a running server: the CA it pinned and its credential.
pub struct PairedWorkstation {
    /// The practice CA as the workstation saved it (after checking it against the code).
    pub ca: PathBuf,
    /// `<id>.<secret>`, sent as `Lightbox-Workstation` when signing in.
    pub credential: String,
    /// Its id on the server.
    pub id: i64,
}

/// A one-time pairing code from `lightbox workstations pair` on a data folder.
pub fn pairing_code(data: &Path, name: &str) -> String {
    let out = lightbox(data, &["workstations", "pair", "--name", name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("pairing code "))
        .expect("the command prints the code")
        .trim()
        .to_string()
}

/// Pairs a workstation with the server of `data` listening on `api_port`, as an independent
/// Python client does it (`tests/peers/workstation.py`).
pub fn pair_workstation(data: &Path, api_port: u16, name: &str) -> PairedWorkstation {
    let code = pairing_code(data, name);
    let ca = data.join(format!("pinned-ca-{}.pem", name.replace(' ', "-")));
    let answer = peer_pairing(api_port, &code, &ca);
    PairedWorkstation {
        credential: answer["credential"]
            .as_str()
            .unwrap_or_else(|| panic!("paired: {answer}"))
            .to_string(),
        id: answer["id"].as_i64().expect("an id"),
        ca,
    }
}

/// What the Python pairing client answers for `code` against the server on `api_port`.
pub fn peer_pairing(api_port: u16, code: &str, ca_out: &Path) -> serde_json::Value {
    let out = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/workstation.py"))
        .arg(format!("https://localhost:{api_port}"))
        .arg(code)
        .arg(ca_out)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from the pairing client")
}

/// Adds an account to the practice in `data`, as its administrator would.
pub fn add_user(
    data: &Path,
    login: &str,
    name: &str,
    role: lightbox::access::Role,
    password: &str,
) {
    lightbox::access::create_user(
        &store(data),
        &lightbox::access::Actor::system(),
        login,
        name,
        role,
        password,
    )
    .expect("the account");
}

/// pynetdicom's Query/Retrieve SCP (`tests/peers/dicom_peer.py qrscp`) over a folder: another
/// site's PACS holding priors.
pub struct PyQr {
    child: Child,
    pub port: u16,
}

impl Drop for PyQr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts [`PyQr`] over `files`, C-MOVE going to `destinations` (`AE@host:port`).
pub fn start_pyqr(files: &Path, destinations: &[String]) -> PyQr {
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/dicom_peer.py");
    let mut child = Command::new(python())
        .arg(script)
        .args(["qrscp", &port.to_string(), "PYQR", files.to_str().unwrap()])
        .args(destinations)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    wait_for_port(port);
    PyQr { child, port }
}

/// Another site's PACS (pynetdicom) holding one older CT of a patient (the corpus's
/// `CT_small.dcm`, copied under `dir/remote`): the running peer, the patient's ID there and
/// the prior study's UID.
pub fn pacs_with_a_prior(dir: &Path) -> (PyQr, String, String) {
    let remote = dir.join("remote");
    std::fs::create_dir_all(&remote).unwrap();
    std::fs::copy(
        corpus_dicom().join("CT_small.dcm"),
        remote.join("CT_small.dcm"),
    )
    .unwrap();
    let index = peer(&[
        "corpus_index",
        remote.join("CT_small.dcm").to_str().unwrap(),
    ]);
    let outside_id = index[0]["patient_id"].as_str().unwrap().to_string();
    let prior_study = index[0]["study"].as_str().unwrap().to_string();
    (start_pyqr(&remote, &[]), outside_id, prior_study)
}

/// Registers a patient also known at the other site as `outside_id` (issuer OLDPACS), and
/// names that site's PACS (`qr_port`) the practice's prior node.
pub fn patient_with_priors_elsewhere(
    store: &mut lightbox_store::Store,
    actor: &lightbox::access::Actor,
    (family_name, given_name): (&str, &str),
    outside_id: &str,
    qr_port: u16,
) -> lightbox_store::his::PatientRecord {
    let patient = lightbox::his::register(
        store,
        actor,
        &lightbox::his::Registration {
            patient: lightbox_store::his::PatientRecord {
                family_name: family_name.into(),
                given_name: given_name.into(),
                birth_date: "1950-01-01".into(),
                ..Default::default()
            },
            identifiers: vec![lightbox_store::his::PatientIdentifier {
                value: outside_id.into(),
                issuer: "OLDPACS".into(),
            }],
            confirmed_new: true,
        },
    )
    .unwrap();
    store
        .save_node(&lightbox_store::nodes::DicomNode::new(
            "oldpacs",
            "PYQR",
            "127.0.0.1",
            qr_port,
        ))
        .unwrap();
    store
        .set_setting(lightbox::dicom::priors::PRIOR_NODES_SETTING, "oldpacs")
        .unwrap();
    patient
}
