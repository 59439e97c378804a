//! Who the command line acts as. A named Lightbox user (`--user LOGIN`, the password from
//! `LIGHTBOX_PASSWORD`, `--password-stdin` or a prompt), checked like a sign-in at the desktop,
//! or — without `--user` — the operating system's own administrator, recorded as such. Never a
//! name taken from the environment: `$USER` is whatever the caller says it is.

use std::io::BufRead;

use anyhow::{Context, bail};
use lightbox::access::{self, Actor};
use lightbox::practice::Practice;

/// How the command line was told to identify itself.
#[derive(Debug, Clone, Default)]
pub struct CliIdentity {
    /// `--user LOGIN`.
    pub user: Option<String>,
    /// `--password-stdin`: the first line of standard input is the password.
    pub password_stdin: bool,
}

/// Whether this process runs with the operating system's administrator rights.
#[cfg(unix)]
fn is_os_administrator() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    (uid == 0).then(|| format!("uid {uid}"))
}

/// On Windows an elevated administrator would be recognised by its token; Lightbox does not ask
/// for it yet, so the command line there always names a Lightbox user (`--user`).
#[cfg(not(unix))]
fn is_os_administrator() -> Option<String> {
    None
}

/// The password for `login`: LIGHTBOX_PASSWORD, else the first line of standard input with
/// `--password-stdin`, else a prompt on the terminal.
pub fn password(identity: &CliIdentity, login: &str) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("LIGHTBOX_PASSWORD") {
        return Ok(p);
    }
    if identity.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    rpassword::prompt_password(format!("Password for {login}: "))
        .context("cannot read the password (use LIGHTBOX_PASSWORD or --password-stdin)")
}

/// The actor the command acts as; signing in is audited like the desktop's.
pub fn actor(practice: &Practice, identity: &CliIdentity) -> anyhow::Result<Actor> {
    if let Some(login) = &identity.user {
        let password = password(identity, login)?;
        return practice
            .sign_in(login, &password, "command line")
            .map_err(|e| match e {
                access::AccessError::BadCredentials => {
                    anyhow::anyhow!("unknown login or wrong password for {login:?}")
                }
                other => anyhow::anyhow!("cannot sign in: {other}"),
            });
    }
    let Some(how) = is_os_administrator() else {
        bail!(
            "say who you are: --user LOGIN (the password from LIGHTBOX_PASSWORD, --password-stdin \
             or a prompt), or run as the operating system's administrator"
        );
    };
    Ok(practice.act_as_os_administrator(&format!(
        "command line, operating system administrator ({how})"
    ))?)
}
