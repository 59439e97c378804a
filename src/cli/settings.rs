//! `lightbox settings`, `lightbox users` and `lightbox dev`: the practice's settings (read by
//! anyone, changed by an administrator, audited), the first administrator of a new server,
//! and synthetic data for benchmarks and demos.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use lightbox::access::Actor;
use lightbox::app::DataFolder;
use lightbox::practice::{FirstRun, Practice};

#[derive(Subcommand)]
pub enum SettingsAction {
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

/// Account commands.
#[derive(Subcommand)]
pub enum UsersAction {
    /// Create the practice's first administrator (only while the practice has no user: a new
    /// server set up without the desktop). The password comes from LIGHTBOX_PASSWORD,
    /// --password-stdin or a prompt.
    Init {
        /// Their login.
        #[arg(long)]
        login: String,
        /// Their full name.
        #[arg(long)]
        name: String,
        /// The practice's name (needed unless it is already set).
        #[arg(long)]
        practice: Option<String>,
    },
    /// Create an account (administrators). Its password comes from LIGHTBOX_NEW_PASSWORD, the
    /// next line of standard input with --password-stdin, or a prompt.
    Add {
        /// Their login.
        #[arg(long)]
        login: String,
        /// administrator, front-desk, technologist or radiologist.
        #[arg(long)]
        role: String,
        /// Their full name with credentials, as signatures show it ("Dr Ana Reed, MD").
        #[arg(long)]
        name: String,
    },
    /// The accounts: login, role, active or disabled, full name (administrators).
    List,
}

/// `lightbox workstations …`: the computers that may use the practice server's API.
#[derive(Subcommand)]
pub enum WorkstationsAction {
    /// Start pairing a workstation: prints a one-time code (valid 15 minutes) to type into
    /// the workstation (administrators).
    Pair {
        /// Where it stands or whose it is ("Front desk 2", "Dr Reed at home").
        #[arg(long)]
        name: String,
    },
    /// The workstations: id, state, name, paired from, last sign-in (administrators).
    List,
    /// Revoke a workstation: its sessions end at once and it cannot sign in again.
    Revoke {
        /// Its id (from `workstations list`).
        id: i64,
    },
}

#[derive(Subcommand)]
pub enum DevAction {
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

/// `settings set` (get needs no identity and is answered before).
pub fn settings(
    practice: &Practice,
    actor: &Actor,
    action: SettingsAction,
) -> anyhow::Result<ExitCode> {
    match action {
        SettingsAction::Get { key } => {
            println!("{}", practice.setting(&key)?.unwrap_or_default());
        }
        SettingsAction::Set { key, value } => {
            practice.change_setting(actor, &key, &value)?;
            println!("{key} = {value}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `users init`: the first administrator of a practice with no user yet.
pub fn first_administrator(
    data: &DataFolder,
    identity: &super::identity::CliIdentity,
    login: &str,
    name: &str,
    practice_name: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let mut practice = data.open_practice()?;
    if !practice.needs_first_run() {
        anyhow::bail!("this practice already has users; sign in with --user instead");
    }
    let practice_name = match practice_name {
        Some(given) => given.to_string(),
        None if !practice.name().trim().is_empty() => practice.name(),
        None => anyhow::bail!("name the practice with --practice \"…\" (it has no name yet)"),
    };
    let password = super::identity::password(identity, login)?;
    let defaults = |key: &str| {
        lightbox::settings::SETTINGS
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.default.to_string())
            .unwrap_or_default()
    };
    let admin = practice.set_up(&FirstRun {
        practice_name,
        ae_title: practice
            .setting(lightbox::app::AE_TITLE_SETTING)?
            .unwrap_or_else(|| lightbox::app::DEFAULT_AE_TITLE.into()),
        dicom_port: practice
            .setting(lightbox::app::DICOM_PORT_SETTING)?
            .unwrap_or_else(|| defaults(lightbox::app::DICOM_PORT_SETTING)),
        hl7_port: practice
            .setting(lightbox::app::HL7_PORT_SETTING)?
            .unwrap_or_else(|| defaults(lightbox::app::HL7_PORT_SETTING)),
        login: login.into(),
        full_name: name.into(),
        password,
        ehr_application: String::new(),
        ehr_host: String::new(),
    })?;
    println!("administrator {} created", admin.login);
    Ok(ExitCode::SUCCESS)
}

/// `dev synth-ct`.
pub fn dev(action: DevAction) -> anyhow::Result<ExitCode> {
    match action {
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
    }
}
