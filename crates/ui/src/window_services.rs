//! What the window asks of the running services: a C-ECHO to a node, a connection test to an
//! HL7 destination, a fetch of priors, an import of files, archiving the objects the viewer
//! makes. The screens never open a socket or build a runtime: the wiring hands them an
//! implementation over the real services, tests one over services they started, and a window
//! without services gets [`NoServices`], which says so in words.
//!
//! Every call may block (a network round trip, a folder of files): the screens call them on a
//! worker thread and poll for the answer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::records::nodes::DicomNode;
use lightbox_domain::archive::ImportSummary;
use lightbox_domain::archive::received::ObjectArchiver;
use lightbox_domain::viewing::FetchSummary;

/// The services the window uses, installed at wiring time.
pub trait WindowServices: Send + Sync {
    /// Whether the archive services run (imports and archived marks need them).
    fn archive_running(&self) -> bool;

    /// C-ECHO `node` calling as `calling_ae`: the round trip, or why it failed.
    fn echo(&self, node: &DicomNode, calling_ae: &str) -> Result<Duration, String>;

    /// Whether an HL7 destination accepts connections: the address that did, or why none did.
    fn reach_hl7(&self, host: &str, port: u16) -> Result<SocketAddr, String>;

    /// Asks the prior nodes for the studies of the exam `accession`'s patient not yet
    /// archived, and retrieves them.
    fn fetch_priors(&self, accession: &str) -> FetchSummary;

    /// How many files importing `paths` will read (for the progress bar).
    fn count_files(&self, paths: &[PathBuf]) -> usize;

    /// Imports files, folders and DICOMDIRs through the archive's ingest (the C-STORE path);
    /// `progress` hears the number of files done.
    fn import(&self, paths: &[PathBuf], progress: &mut dyn FnMut(usize)) -> ImportSummary;

    /// Archives objects the viewer makes (key image documents, presentation states); none on
    /// a workstation, whose `Practice` has the server make and archive them.
    fn archiver(&self) -> Option<&dyn ObjectArchiver>;

    /// The workstations' API this process runs, for pairing a workstation with it; why not,
    /// in words, when it does not run.
    fn workstation_api(&self) -> Result<WorkstationApi, String>;
}

/// The workstations' API as pairing needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkstationApi {
    /// Where workstations reach it (`https://host:port`).
    pub address: String,
    /// SHA-256 of the practice CA's certificate (pairing codes check it).
    pub ca_fingerprint: Vec<u8>,
}

/// No services: every request is answered with why it cannot be done (tests of screens that
/// need none; a window whose services failed to start).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoServices;

const NOT_RUNNING: &str = "the Lightbox services are not running in this window";

/// Services that run somewhere else (a workstation's are the practice server's): each
/// network request is answered with `why`; pairing another workstation goes to `api`.
#[derive(Debug, Clone)]
pub struct ServicesElsewhere {
    /// Why this window cannot do it, in words for the user.
    pub why: String,
    /// The API for pairing further workstations, or why not.
    pub api: Result<WorkstationApi, String>,
}

impl WindowServices for NoServices {
    fn archive_running(&self) -> bool {
        false
    }

    fn echo(&self, node: &DicomNode, calling_ae: &str) -> Result<Duration, String> {
        not_running().echo(node, calling_ae)
    }

    fn reach_hl7(&self, host: &str, port: u16) -> Result<SocketAddr, String> {
        not_running().reach_hl7(host, port)
    }

    fn fetch_priors(&self, accession: &str) -> FetchSummary {
        not_running().fetch_priors(accession)
    }

    fn count_files(&self, _paths: &[PathBuf]) -> usize {
        0
    }

    fn import(&self, paths: &[PathBuf], progress: &mut dyn FnMut(usize)) -> ImportSummary {
        not_running().import(paths, progress)
    }

    fn archiver(&self) -> Option<&dyn ObjectArchiver> {
        None
    }

    fn workstation_api(&self) -> Result<WorkstationApi, String> {
        Err(NOT_RUNNING.into())
    }
}

fn not_running() -> ServicesElsewhere {
    ServicesElsewhere {
        why: NOT_RUNNING.into(),
        api: Err(NOT_RUNNING.into()),
    }
}

impl WindowServices for ServicesElsewhere {
    fn archive_running(&self) -> bool {
        false
    }

    fn echo(&self, _node: &DicomNode, _calling_ae: &str) -> Result<Duration, String> {
        Err(self.why.clone())
    }

    fn reach_hl7(&self, _host: &str, _port: u16) -> Result<SocketAddr, String> {
        Err(self.why.clone())
    }

    fn fetch_priors(&self, _accession: &str) -> FetchSummary {
        FetchSummary {
            problems: vec![self.why.clone()],
            ..FetchSummary::default()
        }
    }

    fn count_files(&self, _paths: &[PathBuf]) -> usize {
        0
    }

    fn import(&self, paths: &[PathBuf], _progress: &mut dyn FnMut(usize)) -> ImportSummary {
        ImportSummary {
            refused: paths
                .iter()
                .map(|p| (p.clone(), self.why.clone()))
                .collect(),
            ..ImportSummary::default()
        }
    }

    fn archiver(&self) -> Option<&dyn ObjectArchiver> {
        None
    }

    fn workstation_api(&self) -> Result<WorkstationApi, String> {
        self.api.clone()
    }
}
