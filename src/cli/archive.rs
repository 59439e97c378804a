//! `lightbox import`, `nodes`, `send`, `query`, `retrieve`, `check` and `render`: the archive
//! and the other sites. Every exchange of patient data with the network is checked and
//! recorded through the Practice API before it starts; the DICOM conversation itself is the
//! services' requester.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;

use lightbox::access::Actor;
use lightbox::app::{self, DataFolder, ServeOptions};
use lightbox::dicom::scu;
use lightbox::events::EventSender;
use lightbox::practice::Practice;
use lightbox::records::index::{Column, Condition, Level, Matcher};
use lightbox::records::nodes::DicomNode;

#[derive(Subcommand)]
pub enum NodesAction {
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

/// `import`: files, folders and DICOMDIRs through the archive's ingest (the C-STORE path).
pub fn import(
    data: &DataFolder,
    practice: &Practice,
    actor: &Actor,
    paths: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    practice.authorise_exchange(
        actor,
        "archive.import",
        "archive",
        &format!("{} paths", paths.len()),
    )?;
    let archive = app::ArchiveServices::start(data)?;
    let summary = lightbox::import::import_paths(&archive.ingest, paths);
    tracing::info!(
        imported = summary.imported,
        duplicates = summary.duplicates,
        refused = summary.refused.len(),
        "import finished"
    );
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

/// `nodes add|list|remove|echo`.
pub fn nodes(practice: &Practice, actor: &Actor, action: NodesAction) -> anyhow::Result<ExitCode> {
    match action {
        NodesAction::Add {
            name,
            ae,
            host,
            port,
            services,
            any_host,
        } => {
            practice.save_node(
                actor,
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
            for n in practice.nodes()? {
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
            if practice.node(&name)?.is_none() {
                bail!("no node named {name:?}");
            }
            practice.remove_node(actor, &name)?;
            println!("node {name} removed");
        }
        NodesAction::Echo { name } => {
            let node = find_node(practice, &name)?;
            let ae = our_ae(practice)?;
            let started = std::time::Instant::now();
            super::runtime()?.block_on(scu::echo(&node, &ae))?;
            println!("echo {} ok in {} ms", name, started.elapsed().as_millis());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `send`: a study or a patient's studies to a node (C-STORE).
pub fn send(
    data: &DataFolder,
    practice: &Practice,
    actor: &Actor,
    to: &str,
    study: Option<String>,
    patient: Option<String>,
) -> anyhow::Result<ExitCode> {
    let node = find_node(practice, to)?;
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
    let rows = practice.find_studies(actor, Level::Image, &[condition], usize::MAX >> 1)?;
    if rows.is_empty() {
        bail!("nothing in the archive matches");
    }
    let ae = our_ae(practice)?;
    practice.authorise_exchange(
        actor,
        "archive.send",
        &format!("node:{}", node.name),
        &format!("{} instances", rows.len()),
    )?;
    let archive = lightbox::archive::ArchiveFolder::open(&data.archive())?;
    let progress = super::runtime()?.block_on(scu::send(&node, &ae, &archive, &rows))?;
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

/// `query`: C-FIND at a node; one JSON object per answer.
pub fn query(
    practice: &Practice,
    actor: &Actor,
    from: &str,
    keys: &[String],
) -> anyhow::Result<ExitCode> {
    let node = find_node(practice, from)?;
    practice.authorise_exchange(
        actor,
        "dicom.query",
        &format!("node:{}", node.name),
        &keys.join(" "),
    )?;
    let ae = our_ae(practice)?;
    let identifier = identifier_from_keys(keys)?;
    let results = super::runtime()?.block_on(scu::find(&node, &ae, &identifier))?;
    for obj in &results {
        println!("{}", dataset_to_json(obj));
    }
    eprintln!("{} match(es)", results.len());
    Ok(ExitCode::SUCCESS)
}

/// `retrieve`: a study from a node, by C-MOVE to us or C-GET.
pub fn retrieve(
    data: &DataFolder,
    practice: &Practice,
    actor: &Actor,
    from: &str,
    study: &str,
    get: bool,
) -> anyhow::Result<ExitCode> {
    let node = find_node(practice, from)?;
    practice.authorise_exchange(
        actor,
        "dicom.retrieve",
        &format!("study:{study}"),
        &format!("from node {}", node.name),
    )?;
    let ae = our_ae(practice)?;
    let mut identifier = InMemDicomObject::new_empty();
    identifier.put(DataElement::new(
        tags::QUERY_RETRIEVE_LEVEL,
        VR::CS,
        PrimitiveValue::from("STUDY"),
    ));
    identifier.put(DataElement::new(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(study),
    ));
    let rt = super::runtime()?;
    let summary = rt.block_on(async {
        if get {
            let classes = scu::sop_classes_of_study(&node, &ae, study).await;
            let archive = app::ArchiveServices::start(data)?;
            let s = scu::get(&node, &ae, &identifier, &classes, &archive.ingest).await?;
            anyhow::Ok(s)
        } else {
            // Our listener must be up to receive the sub-operations; if a `serve` already
            // holds the port, it receives them instead.
            let services =
                app::start_services(data, &ServeOptions::default(), EventSender::discard()).await;
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

/// `check`: every index row has its complete, readable file.
pub fn check(practice: &Practice, actor: &Actor) -> anyhow::Result<ExitCode> {
    let report = practice.check_archive(actor)?;
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

/// `render`: one frame of a file to PNG through the display pipeline (no patient record read).
pub fn render(
    file: &Path,
    frame: u32,
    window: Option<String>,
    gpu: bool,
    overlays: bool,
    out: &Path,
) -> anyhow::Result<ExitCode> {
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
        lightbox::imaging::render_file_to_png(file, frame, &options, backend, out)?;
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

fn find_node(practice: &Practice, name: &str) -> anyhow::Result<DicomNode> {
    practice
        .node(name)?
        .with_context(|| format!("no node named {name:?}; add it with `lightbox nodes add`"))
}

fn our_ae(practice: &Practice) -> anyhow::Result<String> {
    Ok(practice
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
