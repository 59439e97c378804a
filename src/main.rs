//! The `lightbox` command: the desktop window by default, or a headless service and the
//! scripting subcommands. Errors are reported here once, in words, with a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

mod cli_identity;
mod hl7_command;
mod status_command;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;

use lightbox::app::{self, DataFolder, ServeOptions};
use lightbox::dicom::scu;
use lightbox::events::EventSender;
use lightbox::store::index::{Column, Condition, Level, Matcher};
use lightbox::store::nodes::DicomNode;

#[derive(Parser)]
#[command(
    name = "lightbox",
    version,
    about = "RIS/PACS for small imaging practices"
)]
struct Cli {
    /// Data folder (database and archive). Default: the per-user data folder.
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
    #[command(subcommand)]
    command: Option<Command>,
}

/// Patient actions for scripts.
#[derive(Subcommand)]
enum PatientsAction {
    /// Merge one patient into another; their orders, identifiers and archived studies move.
    Merge {
        /// MRN of the patient kept.
        #[arg(long)]
        keep: String,
        /// MRN of the patient merged into it.
        #[arg(long)]
        merge: String,
    },
    /// Undo a merge exactly.
    Unmerge {
        /// The merge's id (printed by `merge`).
        #[arg(long)]
        merge_id: i64,
    },
}

/// What to do with the reconciliation queue.
#[derive(Subcommand)]
enum ReconcileAction {
    /// Open items as JSON.
    List,
    /// Link an item's study to the right order (headers corrected, originals kept).
    Link {
        /// Item id (from `reconcile list`).
        #[arg(long)]
        item: i64,
        /// Accession number of the order.
        #[arg(long)]
        accession: String,
    },
    /// Split series out of an item's study into the right order.
    Split {
        /// Item id (from `reconcile list`).
        #[arg(long)]
        item: i64,
        /// Series Instance UIDs to move (repeat the option).
        #[arg(long = "series", required = true)]
        series: Vec<String>,
        /// Accession number of the order they belong to.
        #[arg(long)]
        accession: String,
    },
}

#[derive(Subcommand)]
enum Command {
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
        action: NodesAction,
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
        action: PatientsAction,
    },
    /// The reconciliation queue: studies that did not match their order safely.
    Reconcile {
        #[command(subcommand)]
        action: ReconcileAction,
    },
    /// Check the archive: every index row has its complete, readable file.
    Check,
    /// The health of every service as JSON (state, last error, since when; the listeners are
    /// asked to answer). Exits 1 if one is down.
    Status,
    /// HL7 interfaces: batch import, destinations, outbound queues, inbound log.
    Hl7 {
        #[command(subcommand)]
        action: hl7_command::Hl7Action,
    },
    /// Read or change a practice setting (e.g. dicom.ae_title, dicom.port,
    /// dicom.allow_unknown_store, dicom.allow_unknown_query).
    Settings {
        #[command(subcommand)]
        action: SettingsAction,
    },
    /// Developer tools (synthetic data for benchmarks and demos).
    Dev {
        #[command(subcommand)]
        action: DevAction,
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

#[derive(Subcommand)]
enum SettingsAction {
    /// Print a setting's value (empty if unset).
    Get {
        /// Setting name.
        key: String,
    },
    /// Change a setting.
    Set {
        /// Setting name.
        key: String,
        /// New value.
        value: String,
    },
}

#[derive(Subcommand)]
enum DevAction {
    /// Write synthetic CT slices (Explicit VR LE, 16-bit) as Part 10 files.
    SynthCt {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Number of series (each its own patient and study).
        #[arg(long, default_value_t = 1)]
        series: u64,
        /// Slices per series.
        #[arg(long, default_value_t = 100)]
        slices: u32,
        /// Rows = columns.
        #[arg(long, default_value_t = 512)]
        size: u16,
        /// First seed (UIDs derive from it).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum NodesAction {
    /// Add or replace a node.
    Add {
        /// Short name.
        #[arg(long)]
        name: String,
        /// AE title.
        #[arg(long)]
        ae: String,
        /// Host.
        #[arg(long)]
        host: String,
        /// Port.
        #[arg(long)]
        port: u16,
        /// What it may ask of us: store, query, worklist (comma list).
        #[arg(long, default_value = "store,query,worklist")]
        services: String,
        /// Accept its AE title from any host (default: only from --host, when given).
        #[arg(long)]
        any_host: bool,
    },
    /// List nodes.
    List,
    /// Remove a node.
    Remove {
        /// Name.
        name: String,
    },
    /// C-ECHO a node.
    Echo {
        /// Name.
        name: String,
    },
}

fn main() -> ExitCode {
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

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let clock = cli.clock.unwrap_or_default();
    let identity = cli_identity::CliIdentity {
        user: cli.user.clone(),
        password_stdin: cli.password_stdin,
    };
    let who = |store: &lightbox::store::Store| cli_identity::actor(store, &identity);
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
    let data = DataFolder::resolve(cli.data_dir.as_deref())?;
    let Some(command) = cli.command else {
        lightbox::desktop::run(data, clock)?;
        return Ok(ExitCode::SUCCESS);
    };
    match command {
        Command::Serve {
            ae_title,
            dicom_port,
            hl7_port,
            bind,
        } => {
            let rt = runtime()?;
            rt.block_on(async {
                let hl7_port = match hl7_port {
                    Some(p) => p,
                    None => data
                        .open_store()?
                        .setting(app::HL7_PORT_SETTING)?
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(app::DEFAULT_HL7_PORT),
                };
                let options = ServeOptions {
                    ae_title,
                    dicom_port,
                    bind_ip: bind,
                    hl7_port: Some(hl7_port),
                    hl7_optional: false,
                    clock,
                };
                let services = app::start_services(&data, &options, EventSender::discard()).await?;
                println!("listening dicom {}", services.dicom_addr);
                if let Some(addr) = services.hl7_addr {
                    println!("listening hl7 {addr}");
                    tracing::info!(%addr, "listening hl7");
                }
                tracing::info!(ae_title = %services.ae_title, addr = %services.dicom_addr, "listening dicom");
                app::shutdown_signal().await;
                tracing::info!("stopping");
                services.stop();
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { paths } => {
            let actor = who(&data.open_store()?)?;
            let archive = app::ArchiveServices::start(&data)?;
            let summary = lightbox::import::import_paths(&archive.ingest, &paths);
            lightbox::access::audit(
                &data.open_store()?,
                &actor,
                "archive.import",
                "archive",
                "ok",
                &format!(
                    "{} imported, {} duplicates, {} refused",
                    summary.imported,
                    summary.duplicates,
                    summary.refused.len()
                ),
            )?;
            println!(
                "imported {}, duplicates {}, conflicts {}, refused {}",
                summary.imported,
                summary.duplicates,
                summary.conflicts,
                summary.refused.len()
            );
            for (file, reason) in &summary.refused {
                println!("refused {}: {}", file.display(), reason);
            }
            drop(archive);
            Ok(if summary.read_anything() || summary.refused.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Nodes { action } => nodes(&data, action, &who),
        Command::Settings { action } => {
            let store = data.open_store()?;
            match action {
                SettingsAction::Get { key } => {
                    println!("{}", store.setting(&key)?.unwrap_or_default());
                }
                SettingsAction::Set { key, value } => {
                    lightbox::administration::change_setting(&store, &who(&store)?, &key, &value)?;
                    println!("{key} = {value}");
                }
            }
            Ok(ExitCode::SUCCESS)
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
        } => {
            let overlays = !no_overlays;
            let window = match window {
                Some(text) => {
                    let (c, w) = text
                        .split_once(',')
                        .context("--window is CENTER,WIDTH, e.g. 40,400")?;
                    let center: f64 = c.trim().parse().context("the window centre is a number")?;
                    let width: f64 = w.trim().parse().context("the window width is a number")?;
                    if !(width >= 1.0 && center.is_finite() && width.is_finite()) {
                        bail!("the window width must be at least 1");
                    }
                    Some(lightbox::imaging::Window { center, width })
                }
                None => None,
            };
            let options = lightbox::imaging::RenderOptions { window, overlays };
            let backend = if gpu {
                lightbox::imaging::Backend::Gpu
            } else {
                lightbox::imaging::Backend::Cpu
            };
            let (decoded, image) =
                lightbox::imaging::render_file_to_png(&file, frame, &options, backend, &out)?;
            let kind = if image.channels == 3 { ", colour" } else { "" };
            println!(
                "wrote {} ({}x{}{kind})",
                out.display(),
                image.columns,
                image.rows
            );
            match decoded.spacing {
                Some(s) => println!(
                    "pixel spacing {} x {} mm (row x column) from {}",
                    s.row_mm,
                    s.column_mm,
                    s.source.describe()
                ),
                None => println!("pixel spacing unknown: distances in pixels"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Exam { accession } => {
            let store = data.open_store()?;
            let exam = lightbox::ris::exam_json(&store, &who(&store)?, &accession)?;
            println!("{}", serde_json::to_string_pretty(&exam)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Worklist { date, room } => {
            let store = data.open_store()?;
            let actor = who(&store)?;
            let date = match date {
                Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .with_context(|| format!("--date {d} is not YYYY-MM-DD"))?,
                None => clock.today(),
            };
            let rooms = store.rooms(None)?;
            let room_id = match room {
                Some(r) => Some(
                    rooms
                        .iter()
                        .find(|x| {
                            x.name.eq_ignore_ascii_case(&r) || x.station_ae.eq_ignore_ascii_case(&r)
                        })
                        .with_context(|| format!("no room or station AE {r}"))?
                        .id,
                ),
                None => None,
            };
            let steps = store.steps_on(&date.format("%Y-%m-%d").to_string(), room_id)?;
            let entries: Vec<serde_json::Value> = steps
                .iter()
                .map(|(order, step)| {
                    let room = rooms.iter().find(|r| Some(r.id) == step.room);
                    serde_json::json!({
                        "start": step.start_time,
                        "room": room.map(|r| r.name.clone()),
                        "station_ae": room.map(|r| r.station_ae.clone()),
                        "accession": order.accession,
                        "procedure_code": order.procedure_code,
                        "priority": order.priority,
                        "status": order.status,
                        "step_id": step.step_id,
                        "study_uid": step.study_uid,
                        "walk_in": step.walk_in,
                        "patient_row": order.patient,
                    })
                })
                .collect();
            lightbox::access::audit(
                &store,
                &actor,
                "worklist.read",
                &format!("worklist:{date}"),
                "ok",
                &format!("{} steps", entries.len()),
            )?;
            println!("{}", serde_json::to_string_pretty(&entries)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Patients { action } => {
            let mut store = data.open_store()?;
            let actor = who(&store)?;
            let archive = lightbox::archive::ArchiveFolder::open(&data.archive())?;
            match action {
                PatientsAction::Merge { keep, merge } => {
                    let row = |mrn: &str| -> anyhow::Result<i64> {
                        Ok(store
                            .patient_by_identifier(mrn, "")?
                            .with_context(|| format!("no patient with MRN {mrn}"))?
                            .id)
                    };
                    let (kept, merged) = (row(&keep)?, row(&merge)?);
                    let record = lightbox::his::merge_with_archive(
                        &mut store, &archive, &actor, kept, merged,
                    )?;
                    println!(
                        "merge {}: {merge} into {keep}; {} orders moved",
                        record.id,
                        record.moved_orders.len()
                    );
                }
                PatientsAction::Unmerge { merge_id } => {
                    lightbox::his::unmerge_with_archive(&mut store, &archive, &actor, merge_id)?;
                    println!("merge {merge_id} undone");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconcile { action } => {
            let mut store = data.open_store()?;
            let actor = who(&store)?;
            match action {
                ReconcileAction::List => {
                    let items = store.open_reconciliation()?;
                    println!("{}", serde_json::to_string_pretty(&items)?);
                }
                ReconcileAction::Link { item, accession } => {
                    let archive = lightbox::archive::ArchiveFolder::open(&data.archive())?;
                    let n = lightbox::ris::reconcile::link_to_order(
                        &mut store, &archive, &actor, item, &accession,
                    )?;
                    println!("linked item {item} to {accession}; {n} instances corrected");
                }
                ReconcileAction::Split {
                    item,
                    series,
                    accession,
                } => {
                    let archive = lightbox::archive::ArchiveFolder::open(&data.archive())?;
                    let n = lightbox::ris::reconcile::split_series(
                        &mut store, &archive, &actor, item, &series, &accession,
                    )?;
                    println!(
                        "split {} series of item {item} to {accession}; {n} instances corrected",
                        series.len()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status => status_command::run(&data, &runtime()?),
        Command::Hl7 { action } => {
            let actor = who(&data.open_store()?)?;
            hl7_command::run(&data, action, &actor, clock)
        }
        Command::Check => {
            let store = data.open_store()?;
            let archive = lightbox::archive::ArchiveFolder::open(&data.archive())?;
            let report = lightbox::archive::check::check_archive(&archive, &store)?;
            println!(
                "instances {}, missing {}, unreadable {}",
                report.instances,
                report.missing.len(),
                report.unreadable.len()
            );
            for p in report.missing.iter().chain(&report.unreadable) {
                println!("problem {p}");
            }
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Dev { action } => match action {
            DevAction::SynthCt {
                out,
                series,
                slices,
                size,
                seed,
            } => {
                std::fs::create_dir_all(&out)?;
                for s in seed..seed + series {
                    let synthetic = lightbox::pacs::synthetic::SyntheticSeries::new(s, size);
                    for i in 0..slices {
                        let obj = synthetic.slice(i).map_err(anyhow::Error::msg)?;
                        obj.write_to_file(out.join(format!("s{s}_{i:05}.dcm")))?;
                    }
                }
                println!(
                    "wrote {} files to {}",
                    series * slices as u64,
                    out.display()
                );
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Send { to, study, patient } => {
            let store = data.open_store()?;
            let node = find_node(&store, &to)?;
            let condition = match (study, patient) {
                (Some(s), _) => Condition {
                    column: Column::StudyUid,
                    matcher: Matcher::Exact(s),
                },
                (None, Some(p)) => Condition {
                    column: Column::PatientId,
                    matcher: Matcher::Exact(p),
                },
                (None, None) => bail!("say what to send: --study UID or --patient ID"),
            };
            let rows = store.query_index(Level::Image, &[condition], usize::MAX >> 1)?;
            if rows.is_empty() {
                bail!("nothing in the archive matches");
            }
            let ae = our_ae(&store)?;
            let actor = who(&store)?;
            lightbox::access::audit(
                &store,
                &actor,
                "archive.send",
                &format!("node:{}", node.name),
                "ok",
                &format!("{} instances", rows.len()),
            )?;
            let archive = lightbox::archive::ArchiveFolder::open(&data.archive())?;
            let progress = runtime()?.block_on(scu::send(&node, &ae, &archive, &rows))?;
            println!(
                "sent {}, warnings {}, failed {}",
                progress.completed,
                progress.warning,
                progress.failed.len()
            );
            for uid in &progress.failed {
                println!("failed {uid}");
            }
            Ok(if progress.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Query { from, keys } => {
            let store = data.open_store()?;
            let node = find_node(&store, &from)?;
            lightbox::access::audit(
                &store,
                &who(&store)?,
                "dicom.query",
                &format!("node:{}", node.name),
                "ok",
                &keys.join(" "),
            )?;
            let ae = our_ae(&store)?;
            let identifier = identifier_from_keys(&keys)?;
            let results = runtime()?.block_on(scu::find(&node, &ae, &identifier))?;
            for obj in &results {
                println!("{}", dataset_to_json(obj));
            }
            eprintln!("{} match(es)", results.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Retrieve { from, study, get } => {
            let store = data.open_store()?;
            let node = find_node(&store, &from)?;
            lightbox::access::audit(
                &store,
                &who(&store)?,
                "dicom.retrieve",
                &format!("study:{study}"),
                "ok",
                &format!("from node {}", node.name),
            )?;
            let ae = our_ae(&store)?;
            drop(store);
            let mut identifier = InMemDicomObject::new_empty();
            identifier.put(DataElement::new(
                tags::QUERY_RETRIEVE_LEVEL,
                VR::CS,
                PrimitiveValue::from("STUDY"),
            ));
            identifier.put(DataElement::new(
                tags::STUDY_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(study.as_str()),
            ));
            let rt = runtime()?;
            let summary = rt.block_on(async {
                if get {
                    let classes = scu::sop_classes_of_study(&node, &ae, &study).await;
                    let archive = app::ArchiveServices::start(&data)?;
                    let s = scu::get(&node, &ae, &identifier, &classes, &archive.ingest).await?;
                    anyhow::Ok(s)
                } else {
                    // Our listener must be up to receive the sub-operations; if a `serve` already
                    // holds the port, it receives them instead.
                    let services = app::start_services(&data, &ServeOptions::default(), EventSender::discard()).await;
                    if let Err(e) = &services {
                        tracing::info!(error = %e, "not starting a listener; assuming a running Lightbox receives");
                    }
                    let s = scu::move_to(&node, &ae, &ae, &identifier).await?;
                    drop(services);
                    anyhow::Ok(s)
                }
            })?;
            println!(
                "status 0x{:04X}, completed {}, failed {}, warnings {}",
                summary.status, summary.completed, summary.failed, summary.warning
            );
            Ok(if summary.status == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn nodes(
    data: &DataFolder,
    action: NodesAction,
    who: &dyn Fn(&lightbox::store::Store) -> anyhow::Result<lightbox::access::Actor>,
) -> anyhow::Result<ExitCode> {
    let store = data.open_store()?;
    match action {
        NodesAction::Add {
            name,
            ae,
            host,
            port,
            services,
            any_host,
        } => {
            lightbox::administration::save_node(
                &store,
                &who(&store)?,
                &DicomNode {
                    name: name.clone(),
                    ae_title: ae,
                    host,
                    port,
                    check_host: !any_host,
                    services,
                },
            )?;
            println!("node {name} saved");
        }
        NodesAction::List => {
            for n in store.nodes()? {
                let checked = if n.check_host && !n.host.is_empty() {
                    "host checked"
                } else {
                    "any host"
                };
                println!(
                    "{}\t{}\t{}:{}\t{}\t{checked}",
                    n.name, n.ae_title, n.host, n.port, n.services
                );
            }
        }
        NodesAction::Remove { name } => {
            if store.node_by_name(&name)?.is_none() {
                bail!("no node named {name:?}");
            }
            lightbox::administration::remove_node(&store, &who(&store)?, &name)?;
            println!("node {name} removed");
        }
        NodesAction::Echo { name } => {
            let node = find_node(&store, &name)?;
            let ae = our_ae(&store)?;
            let started = std::time::Instant::now();
            runtime()?.block_on(scu::echo(&node, &ae))?;
            println!("echo {} ok in {} ms", name, started.elapsed().as_millis());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn find_node(store: &lightbox::store::Store, name: &str) -> anyhow::Result<DicomNode> {
    store
        .node_by_name(name)?
        .with_context(|| format!("no node named {name:?}; add it with `lightbox nodes add`"))
}

fn our_ae(store: &lightbox::store::Store) -> anyhow::Result<String> {
    Ok(store
        .setting(app::AE_TITLE_SETTING)?
        .unwrap_or_else(|| app::DEFAULT_AE_TITLE.to_string()))
}

/// Builds a query identifier from `Keyword=value` arguments.
fn identifier_from_keys(keys: &[String]) -> anyhow::Result<InMemDicomObject> {
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(
        tags::QUERY_RETRIEVE_LEVEL,
        VR::CS,
        PrimitiveValue::from("STUDY"),
    ));
    for key in keys {
        let (name, value) = key.split_once('=').unwrap_or((key.as_str(), ""));
        let tag = StandardDataDictionary
            .parse_tag(name)
            .with_context(|| format!("unknown attribute {name:?}"))?;
        let vr = StandardDataDictionary
            .by_tag(tag)
            .map(|e| e.vr().relaxed())
            .unwrap_or(VR::LO);
        let value = if value.is_empty() {
            PrimitiveValue::Empty
        } else {
            PrimitiveValue::from(value)
        };
        obj.put(DataElement::new(tag, vr, value));
    }
    Ok(obj)
}

/// One C-FIND answer as a JSON object keyed by attribute keyword.
fn dataset_to_json(obj: &InMemDicomObject) -> String {
    let mut map = serde_json::Map::new();
    for elem in obj.iter() {
        let tag = elem.header().tag;
        let name = StandardDataDictionary
            .by_tag(tag)
            .map(|e| e.alias().to_string())
            .unwrap_or_else(|| format!("{tag}"));
        let value = elem
            .to_str()
            .map(|s| lightbox::pacs::attributes::trim_padding(&s).to_string())
            .unwrap_or_default();
        map.insert(name, serde_json::Value::String(value));
    }
    serde_json::Value::Object(map).to_string()
}
