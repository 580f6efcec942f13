//! `medi-privacy certs init`: a research network's certificate authority and one certificate
//! per party, for pilots and tests.
//!
//! Writes `ca.pem` (every party trusts it), and for each party `NAME.pem` (certificate) and
//! `NAME.key` (private key, readable by its owner only on Unix). Hand each site its own pair
//! and `ca.pem`; the CA's private key is not kept, so no further certificate can be issued
//! from this CA (run `certs init` again for a new network). Networks with their own PKI use its
//! certificates directly.
//!
//! With `--audit-log`, every key generated is recorded as a `key_generation` entry before any
//! file is written: the algorithm (ECDSA P-256), its purpose (`network_ca` or `tls_identity`),
//! the party, and the SHA-256 fingerprint of the certificate (DER) that binds the public key.
//! Never a private key, and nothing derived from one besides its certificate.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use privacy_core::{AuditEvent, AuditEventKind};
use privacy_mpc::transport::NetworkCa;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use crate::mpc_common::AuditArgs;

#[derive(Subcommand)]
pub(crate) enum CertsCommand {
    /// Create a network CA and a certificate for each named party.
    Init {
        /// The folder to write into (created if missing).
        #[arg(long)]
        dir: std::path::PathBuf,
        /// The network's name (the CA's common name).
        #[arg(long, default_value = "medi-privacy research network")]
        network: String,
        /// A party's name, e.g. hospital-a; repeat for each party.
        #[arg(long = "party", required = true)]
        parties: Vec<String>,
        #[command(flatten)]
        audit: AuditArgs,
    },
}

pub(crate) fn run(command: CertsCommand) -> Result<ExitCode> {
    let CertsCommand::Init { dir, network, parties, audit } = command;
    for party in &parties {
        crate::check_name("party", party)?;
    }
    let sink = audit.sink()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca = NetworkCa::generate(&network)?;
    let issued = parties.iter().map(|p| ca.issue(p)).collect::<Result<Vec<_>, _>>()?;
    let ca_event = key_event(&audit.principal, "network_ca", &network, ca.cert_pem())?
        .with_detail("ca_key_kept", false);
    sink.record(&ca_event)?;
    for (party, cert) in parties.iter().zip(&issued) {
        sink.record(&key_event(&audit.principal, "tls_identity", party, &cert.cert_pem)?)?;
    }
    write(&dir.join("ca.pem"), ca.cert_pem(), false)?;
    for (party, cert) in parties.iter().zip(&issued) {
        write(&dir.join(format!("{party}.pem")), &cert.cert_pem, false)?;
        write(&dir.join(format!("{party}.key")), &cert.key_pem, true)?;
    }
    println!("wrote ca.pem and {} party certificates to {}", parties.len(), dir.display());
    Ok(ExitCode::SUCCESS)
}

/// The `key_generation` event of one key, named by its certificate's SHA-256 fingerprint.
fn key_event(principal: &str, purpose: &str, subject: &str, cert_pem: &str) -> Result<AuditEvent> {
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("the new certificate is not PEM: {e}"))?;
    Ok(AuditEvent::new(AuditEventKind::KeyGeneration, principal)
        .with_detail("algorithm", "ecdsa-p256")
        .with_detail("purpose", purpose)
        .with_detail("subject", subject)
        .with_detail("certificate_sha256", hex::encode(Sha256::digest(&der))))
}

fn write(path: &Path, text: &str, secret: bool) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file =
        options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}
