//! The practice's own certificate authority and the server's certificate, made on the server's
//! first start: workstations pin `<data-dir>/tls/ca.pem` at pairing, so the API needs no public
//! CA and no certificate ever leaves the practice. Keys are readable by the server's account
//! only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The files of the practice's TLS set-up.
pub struct PracticeTls {
    folder: PathBuf,
}

impl PracticeTls {
    /// The CA certificate workstations pin.
    pub fn ca_path(&self) -> PathBuf {
        self.folder.join("ca.pem")
    }

    fn server_cert_path(&self) -> PathBuf {
        self.folder.join("server.pem")
    }

    fn server_key_path(&self) -> PathBuf {
        self.folder.join("server.key")
    }

    /// Loads the practice's CA and server certificate from `data_root/tls`, making them on the
    /// first start (the server's certificate names `localhost`, 127.0.0.1, ::1 and this
    /// computer's name).
    pub fn ensure(data_root: &Path) -> anyhow::Result<PracticeTls> {
        let tls = PracticeTls {
            folder: data_root.join("tls"),
        };
        if tls.ca_path().is_file()
            && tls.server_cert_path().is_file()
            && tls.server_key_path().is_file()
        {
            return Ok(tls);
        }
        std::fs::create_dir_all(&tls.folder)
            .with_context(|| format!("cannot create {}", tls.folder.display()))?;
        let ca_key = rcgen::KeyPair::generate().context("cannot make the practice CA's key")?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Lightbox practice CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let mut names = vec!["localhost".to_string()];
        if let Some(host) = host_name() {
            names.push(host);
        }
        let mut params = rcgen::CertificateParams::new(names)?;
        for ip in [
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ] {
            params.subject_alt_names.push(rcgen::SanType::IpAddress(ip));
        }
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Lightbox practice server");
        let key = rcgen::KeyPair::generate().context("cannot make the server's key")?;
        let cert = params.signed_by(&key, &issuer)?;
        write_private(&tls.folder.join("ca.key"), &ca_key.serialize_pem())?;
        write_private(&tls.server_key_path(), &key.serialize_pem())?;
        std::fs::write(tls.server_cert_path(), cert.pem())?;
        // The CA last: its presence says the set is complete.
        std::fs::write(tls.ca_path(), ca_cert.pem())?;
        tracing::info!(ca = %tls.ca_path().display(), "made the practice's certificate authority");
        Ok(tls)
    }

    /// The practice CA's certificate as PEM (what a workstation pins).
    pub fn ca_pem(&self) -> anyhow::Result<String> {
        std::fs::read_to_string(self.ca_path()).context("cannot read the practice CA")
    }

    /// SHA-256 of the practice CA certificate's DER: the fingerprint a pairing code checks.
    pub fn ca_fingerprint(&self) -> anyhow::Result<Vec<u8>> {
        let der =
            CertificateDer::from_pem_file(self.ca_path()).context("cannot read the practice CA")?;
        Ok(ring::digest::digest(&ring::digest::SHA256, der.as_ref())
            .as_ref()
            .to_vec())
    }

    /// The server's TLS configuration (TLS 1.2 and 1.3 with ring; no client certificates).
    pub fn server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let certs = CertificateDer::pem_file_iter(self.server_cert_path())
            .context("cannot read the server's certificate")?
            .collect::<Result<Vec<_>, _>>()
            .context("cannot read the server's certificate")?;
        let key = PrivateKeyDer::from_pem_file(self.server_key_path())
            .context("cannot read the server's key")?;
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            #[allow(deprecated)]
            // ring, not aws-lc-rs: no C toolchain (cmake) to build it on a practice PC or CI
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// This computer's name, as workstations may address it.
pub fn host_name() -> Option<String> {
    let name = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())?;
    let name = name.trim().to_lowercase();
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    .then_some(name)
}

/// Writes a private key readable by this account only.
#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Writes a private key; on Windows the data folder's own permissions (ProgramData\Lightbox,
/// set by the service installer) keep it from other accounts.
#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
