//! The `lightbox` command line: the desktop window by default, or a headless service and the
//! scripting subcommands, one file per command group. Every command that reads or changes
//! patient data acts as a person the practice set up (`--user`, see [`identity`]) through the
//! Practice API — this module cannot reach the database any other way. Errors are reported
//! here once, in words, with a non-zero exit.

mod archive;
mod exams;
mod hl7;
mod identity;
mod serve;
mod service;
mod settings;
mod status;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use lightbox::app::DataFolder;

#[derive(Parser)]
#[command(
    name = "lightbox",
    version,
    about = "RIS/PACS for small imaging practices"
)]
pub struct Cli {
    /// Data folder (database and archive). Default: for `serve`, the machine-wide folder
    /// (/var/lib/lightbox, /Library/Application Support/Lightbox, %ProgramData%\Lightbox);
    /// for other commands that folder when a server keeps its database there, else the
    /// per-user data folder (as the desktop).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Open a throw-away demo practice (rooms, a week of schedule, patients, studies,
    /// reports) to try every screen; it is deleted when the window closes.
    #[arg(long, conflicts_with = "data_dir")]
    demo: bool,
    /// Start the clock at this local time (YYYY-MM-DDTHH:MM) instead of the computer's: for
    /// tests and training runs that must see a chosen day. Time then advances normally.
    #[arg(long, global = true, value_parser = lightbox::clock::Clock::parse_start)]
    clock: Option<lightbox::clock::Clock>,
    /// Act as this Lightbox user (the password from LIGHTBOX_PASSWORD, --password-stdin or a
    /// prompt). Without it, only the operating system's administrator may read or change
    /// patient data, and is recorded as such.
    #[arg(long, global = true)]
    user: Option<String>,
    /// Read the --user password from the first line of standard input.
    #[arg(long, global = true)]
    password_stdin: bool,
    /// Open the window as a workstation of the practice server at this address
    /// (`https://HOST:PORT`): no services of its own, every screen through the server.
    /// Remembered once paired: plain `lightbox` opens it again.
    #[arg(long, conflicts_with = "demo")]
    server: Option<String>,
    /// The one-time code the server shows (Settings → Workstations, or `lightbox workstations
    /// pair`), to pair this computer with `--server` the first time.
    #[arg(long, requires = "server")]
    pairing_code: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Run the services with no window (server machine, CI).
    Serve {
        /// Our AE title (default: stored setting, else LIGHTBOX).
        #[arg(long)]
        ae_title: Option<String>,
        /// DICOM port (default: stored setting, else 11112; 0 picks a free port).
        #[arg(long)]
        dicom_port: Option<u16>,
        /// HL7 MLLP port (default: stored setting hl7.port, else 2575; 0 picks a free port).
        #[arg(long)]
        hl7_port: Option<u16>,
        /// Address both listeners bind (default: setting network.bind_address, else all
        /// interfaces — the scanners and the EHR must reach them).
        #[arg(long)]
        bind: Option<std::net::IpAddr>,
        /// HTTPS port of the network API for workstations (default: the stored setting
        /// api.port, else 8443; 0 picks a free port).
        #[arg(long)]
        api_port: Option<u16>,
        /// Started by the Windows service control manager (`lightbox service install` puts
        /// this in the service's command line): answer it, and stop when it says so.
        #[arg(long, hide = true)]
        windows_service: bool,
    },
    /// The practice server as a service of this computer (systemd, launchd, Windows
    /// service): install, uninstall, status.
    Service {
        #[command(subcommand)]
        action: service::ServiceAction,
    },
    /// Import files, folders (recursively) and DICOMDIRs into the archive.
    Import {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Remote DICOM nodes.
    Nodes {
        #[command(subcommand)]
        action: archive::NodesAction,
    },
    /// Send archived studies to a node (C-STORE).
    Send {
        /// Node name.
        #[arg(long)]
        to: String,
        /// Study Instance UID.
        #[arg(long, conflicts_with = "patient")]
        study: Option<String>,
        /// Patient ID.
        #[arg(long)]
        patient: Option<String>,
    },
    /// Query a node (C-FIND). Keys as Keyword=value; QueryRetrieveLevel defaults to STUDY.
    Query {
        /// Node name.
        #[arg(long)]
        from: String,
        /// Keys, e.g. PatientName=DOE* StudyDate=20240101-
        keys: Vec<String>,
    },
    /// Render one frame to an 8-bit grey or RGB PNG through the display pipeline (Modality LUT,
    /// VOI window or LUT, presentation shape, palettes). Default window: the file's first.
    Render {
        /// The DICOM file.
        file: PathBuf,
        /// Frame number, from 0.
        #[arg(long, default_value_t = 0)]
        frame: u32,
        /// Window as CENTER,WIDTH in modality units (overrides the file's).
        #[arg(long)]
        window: Option<String>,
        /// Render on the CPU reference path (the default).
        #[arg(long, conflicts_with = "gpu")]
        cpu: bool,
        /// Render on the GPU (wgpu; Mesa's software adapter where there is no GPU).
        #[arg(long)]
        gpu: bool,
        /// Leave out the file's overlay planes (60xx), which are drawn by default as dcmtk
        /// and the usual viewers draw them.
        #[arg(long)]
        no_overlays: bool,
        /// Draw the overlay planes (the default; kept for scripts written before it was).
        #[arg(long, hide = true, conflicts_with = "no_overlays")]
        overlays: bool,
        /// Output PNG.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// One exam's state as JSON: patient, procedure, status, scheduled step, history.
    Exam {
        /// Accession number.
        #[arg(long)]
        accession: String,
    },
    /// The scheduled procedure steps of a day (default today), optionally of one room
    /// (room name or station AE title).
    Worklist {
        /// Local date YYYY-MM-DD.
        #[arg(long)]
        date: Option<String>,
        /// Room name or station AE.
        #[arg(long)]
        room: Option<String>,
    },
    /// Patient merges (the kept and merged patient named by MRN).
    Patients {
        #[command(subcommand)]
        action: exams::PatientsAction,
    },
    /// The reconciliation queue: studies that did not match their order safely.
    Reconcile {
        #[command(subcommand)]
        action: exams::ReconcileAction,
    },
    /// Check the archive: every index row has its complete, readable file.
    Check,
    /// The health of every service as JSON (state, last error, since when; the listeners are
    /// asked to answer). Exits 1 if one is down.
    Status,
    /// HL7 interfaces: batch import, destinations, outbound queues, inbound log.
    Hl7 {
        #[command(subcommand)]
        action: hl7::Hl7Action,
    },
    /// Read or change a practice setting (e.g. dicom.ae_title, dicom.port,
    /// dicom.allow_unknown_store, dicom.allow_unknown_query).
    Settings {
        #[command(subcommand)]
        action: settings::SettingsAction,
    },
    /// User accounts: the first administrator of a new server, adding and listing accounts.
    Users {
        #[command(subcommand)]
        action: settings::UsersAction,
    },
    /// Workstations of the practice server: pair one (a one-time code), list, revoke.
    Workstations {
        #[command(subcommand)]
        action: settings::WorkstationsAction,
    },
    /// Developer tools (synthetic data for benchmarks and demos).
    Dev {
        #[command(subcommand)]
        action: settings::DevAction,
    },
    /// Retrieve a study from a node (C-MOVE to us, or C-GET with --get).
    Retrieve {
        /// Node name.
        #[arg(long)]
        from: String,
        /// Study Instance UID.
        #[arg(long)]
        study: String,
        /// Use C-GET instead of C-MOVE.
        #[arg(long)]
        get: bool,
    },
}

/// Parses the command line, sets up logging and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,rusqlite_migration=warn")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A runtime for the commands that talk to the network.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let clock = cli.clock.unwrap_or_default();
    let identity = identity::CliIdentity {
        user: cli.user.clone(),
        password_stdin: cli.password_stdin,
    };
    if cli.demo {
        if cli.command.is_some() {
            bail!("--demo opens the window; it does not go with a subcommand");
        }
        let demo = lightbox::demo::DemoFolder::create()?;
        eprintln!(
            "Preparing the demo practice in {} …",
            demo.data.root().display()
        );
        lightbox::demo::populate(&demo.data, clock.now())?;
        lightbox::desktop::run(demo.data.clone(), clock)?;
        return Ok(ExitCode::SUCCESS);
    }
    if cli.command.is_none() {
        let folder = lightbox::workstation::folder(cli.data_dir.as_deref())?;
        // A paired workstation opens its server again; a practice of this PC wins over it.
        let own_practice = cli.data_dir.is_none()
            && DataFolder::resolve(None).is_ok_and(|d| d.database().exists());
        if cli.server.is_some() || (!own_practice && lightbox::workstation::is_paired(&folder)) {
            let paired = lightbox::workstation::paired_server(
                &folder,
                cli.server.as_deref(),
                cli.pairing_code.as_deref(),
            )?;
            let server = cli.server.as_deref().unwrap_or_default();
            lightbox::workstation::run(&folder, paired, server, clock)?;
            return Ok(ExitCode::SUCCESS);
        }
    } else if cli.server.is_some() {
        bail!("--server opens a workstation's window; it does not go with a subcommand");
    }
    if let Some(Command::Service { action }) = cli.command {
        return service::run(action, cli.data_dir.as_deref());
    }
    // The server keeps the practice's data machine-wide and the command line follows it there;
    // the desktop keeps the signed-in account's own folder; --data-dir overrides both.
    let data = match &cli.command {
        Some(Command::Serve { .. }) => DataFolder::resolve_for_server(cli.data_dir.as_deref())?,
        Some(_) => DataFolder::resolve_for_command(cli.data_dir.as_deref())?,
        None => DataFolder::resolve(cli.data_dir.as_deref())?,
    };
    let Some(command) = cli.command else {
        lightbox::desktop::run(data, clock)?;
        return Ok(ExitCode::SUCCESS);
    };
    // Commands that need no identity: they read no patient data and change nothing.
    match command {
        Command::Serve {
            ae_title,
            dicom_port,
            hl7_port,
            bind,
            api_port,
            windows_service,
        } => {
            let serve =
                move || serve::run(&data, ae_title, dicom_port, hl7_port, bind, api_port, clock);
            return if windows_service {
                service::host::run_under_service_manager(serve)
            } else {
                serve()
            };
        }
        Command::Render {
            file,
            frame,
            window,
            cpu: _,
            gpu,
            no_overlays,
            overlays: _,
            out,
        } => return archive::render(&file, frame, window, gpu, !no_overlays, &out),
        Command::Status => return status::run(&data, &runtime()?),
        Command::Dev { action } => return settings::dev(action),
        Command::Users {
            action:
                settings::UsersAction::Init {
                    login,
                    name,
                    practice,
                },
        } => {
            return settings::first_administrator(
                &data,
                &identity,
                &login,
                &name,
                practice.as_deref(),
            );
        }
        _ => {}
    }
    let mut practice = data.open_practice()?;
    if let Command::Settings {
        action: settings::SettingsAction::Get { key },
    } = &command
    {
        println!("{}", practice.setting(key)?.unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let actor = identity::actor(&practice, &identity)?;
    match command {
        Command::Import { paths } => archive::import(&data, &practice, &actor, &paths),
        Command::Nodes { action } => archive::nodes(&practice, &actor, action),
        Command::Send { to, study, patient } => {
            archive::send(&data, &practice, &actor, &to, study, patient)
        }
        Command::Query { from, keys } => archive::query(&practice, &actor, &from, &keys),
        Command::Retrieve { from, study, get } => {
            archive::retrieve(&data, &practice, &actor, &from, &study, get)
        }
        Command::Check => archive::check(&practice, &actor),
        Command::Exam { accession } => exams::exam(&practice, &actor, &accession),
        Command::Worklist { date, room } => exams::worklist(&practice, &actor, date, room, clock),
        Command::Patients { action } => exams::patients(&mut practice, &actor, action),
        Command::Reconcile { action } => exams::reconcile(&mut practice, &actor, action),
        Command::Hl7 { action } => hl7::run(&mut practice, action, &actor, clock),
        Command::Settings { action } => settings::settings(&practice, &actor, action),
        Command::Users {
            action: settings::UsersAction::Add { login, role, name },
        } => users::add(&practice, &actor, &identity, &login, &role, &name),
        Command::Users {
            action: settings::UsersAction::List,
        } => users::list(&practice, &actor),
        Command::Workstations { action } => {
            users::workstations(&data, &mut practice, &actor, action)
        }
        Command::Serve { .. }
        | Command::Render { .. }
        | Command::Status
        | Command::Dev { .. }
        | Command::Users { .. }
        | Command::Service { .. } => Ok(ExitCode::SUCCESS),
    }
}
