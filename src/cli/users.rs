//! `lightbox users add` and `users list`: the practice's accounts from the command line (a
//! server set up without a desktop), by an administrator — a Lightbox one (`--user`) or the
//! operating system's — and audited like the Settings screen's.

use std::process::ExitCode;

use anyhow::{Context, bail};
use lightbox::access::{Actor, Role};
use lightbox::practice::Practice;

use super::identity::CliIdentity;

/// The role a person types: `front-desk`, `front desk` and `front_desk` all name the front desk.
pub fn parse_role(text: &str) -> anyhow::Result<Role> {
    let code = text.trim().to_lowercase().replace(['-', ' '], "_");
    match Role::from_code(&code) {
        Some(Role::Interface) | None => bail!(
            "unknown role {text:?}: one of administrator, front-desk, technologist, radiologist"
        ),
        Some(role) => Ok(role),
    }
}

/// The new account's password: LIGHTBOX_NEW_PASSWORD, else the next line of standard input
/// with `--password-stdin` (after the acting user's own, when `--user` read one there), else
/// asked twice on the terminal.
fn new_password(identity: &CliIdentity, login: &str) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("LIGHTBOX_NEW_PASSWORD") {
        return Ok(p);
    }
    if identity.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the new password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password(format!("Password for the new user {login}: "))
        .context("cannot read the password (use LIGHTBOX_NEW_PASSWORD or --password-stdin)")?;
    let again = rpassword::prompt_password("Again: ").context("cannot read the password")?;
    if first != again {
        bail!("the two passwords differ; nothing was created");
    }
    Ok(first)
}

/// `users add`.
pub fn add(
    practice: &Practice,
    actor: &Actor,
    identity: &CliIdentity,
    login: &str,
    role: &str,
    name: &str,
) -> anyhow::Result<ExitCode> {
    let role = parse_role(role)?;
    let password = new_password(identity, login)?;
    practice
        .create_user(actor, login, name, role, &password)
        .with_context(|| format!("the user {login:?} was not created"))?;
    println!("user {login} ({}) created", role.code().replace('_', " "));
    Ok(ExitCode::SUCCESS)
}

/// `users list`: login, role, whether they may sign in, full name; a line each.
pub fn list(practice: &Practice, actor: &Actor) -> anyhow::Result<ExitCode> {
    let users = practice.users(actor)?;
    for u in users {
        println!(
            "{}\t{}\t{}\t{}",
            u.login,
            u.role.replace('_', " "),
            if u.active { "active" } else { "disabled" },
            u.full_name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `workstations pair|list|revoke`.
pub fn workstations(
    data: &lightbox::app::DataFolder,
    practice: &mut Practice,
    actor: &Actor,
    action: super::settings::WorkstationsAction,
) -> anyhow::Result<ExitCode> {
    use super::settings::WorkstationsAction;
    match action {
        WorkstationsAction::Pair { name } => {
            // The CA is made here if the server has not started yet: the code checks it.
            let tls = lightbox::api::tls::PracticeTls::ensure(data.root())?;
            let code = practice
                .start_workstation_pairing(actor, &name, &tls.ca_fingerprint()?)
                .context("the pairing was not started")?;
            println!("pairing code {}", code.code);
            println!(
                "for workstation {} ({}), valid until {} (UTC); type it into the workstation once",
                code.workstation, code.name, code.expires_at
            );
        }
        WorkstationsAction::List => {
            for w in practice.workstations(actor)? {
                let state = if w.revoked_at.is_some() {
                    "revoked"
                } else if w.paired_at.is_some() {
                    "paired"
                } else {
                    "waiting for its code"
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    w.id,
                    state,
                    w.name,
                    w.paired_from.unwrap_or_default(),
                    w.last_seen_at.unwrap_or_default()
                );
            }
        }
        WorkstationsAction::Revoke { id } => {
            if practice.revoke_workstation(actor, id)? {
                println!("workstation {id} revoked; its sessions ended");
            } else {
                println!("workstation {id} was already revoked");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_as_people_type_them_and_interfaces_are_not_people() {
        assert_eq!(parse_role("front-desk").ok(), Some(Role::FrontDesk));
        assert_eq!(parse_role("Front Desk").ok(), Some(Role::FrontDesk));
        assert_eq!(parse_role("radiologist").ok(), Some(Role::Radiologist));
        assert!(parse_role("interface").is_err());
        assert!(parse_role("chief").is_err());
    }
}
