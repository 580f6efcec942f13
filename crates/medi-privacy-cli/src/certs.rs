//! `medi-privacy certs init`: a research network's certificate authority and one certificate
//! per party, for pilots and tests.
//!
//! Writes `ca.pem` (every party trusts it), and for each party `NAME.pem` (certificate) and
//! `NAME.key` (private key, readable by its owner only on Unix). Hand each site its own pair
//! and `ca.pem`; the CA's private key is not kept, so no further certificate can be issued
//! from this CA (run `certs init` again for a new network). Networks with their own PKI use its
//! certificates directly.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use privacy_mpc::transport::NetworkCa;

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
    },
}

pub(crate) fn run(command: CertsCommand) -> Result<ExitCode> {
    let CertsCommand::Init { dir, network, parties } = command;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca = NetworkCa::generate(&network)?;
    write(&dir.join("ca.pem"), ca.cert_pem(), false)?;
    for party in &parties {
        let issued = ca.issue(party)?;
        write(&dir.join(format!("{party}.pem")), &issued.cert_pem, false)?;
        write(&dir.join(format!("{party}.key")), &issued.key_pem, true)?;
    }
    println!("wrote ca.pem and {} party certificates to {}", parties.len(), dir.display());
    Ok(ExitCode::SUCCESS)
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
