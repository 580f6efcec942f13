//! `medi-privacy psi serve|join`: two-party private set intersection between two processes
//! over mutually authenticated TLS, from one CSV column each.
//!
//! `serve` listens and waits for one peer; `join` connects to it. Both learn the same kind of
//! result: with `--cardinality-only` how many identifiers they share, otherwise which of their
//! own rows carry a shared identifier (printed as the column's values, one per line, or as JSON
//! with `--json`). Identifiers are normalised first (Unicode NFKC, lower case, no white space,
//! no `-`, `.`, `/` or `_`); see `privacy_mpc::psi`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use privacy_core::SecureRng;
use privacy_mpc::protocol::RunContext;
use privacy_mpc::psi::{run_psi, PsiMode, PsiOutcome};
use privacy_mpc::transport::rendezvous::{coordinate, join};
use privacy_mpc::transport::TlsMesh;
use serde_json::json;

use crate::mpc_common::{listen, read_column, write_output, AuditArgs, ColumnArgs, TlsArgs};

/// The rendezvous label of PSI; the mode is agreed in the protocol's own hello.
const PROTOCOL: &str = "ecdh-psi/v1";

#[derive(Subcommand)]
pub(crate) enum PsiCommand {
    /// Wait for one peer and run PSI with it.
    Serve {
        /// Where to listen, e.g. 0.0.0.0:7400 (port 0 picks a free port, announced on stderr).
        #[arg(long)]
        listen: String,
        #[command(flatten)]
        common: PsiArgs,
    },
    /// Connect to a serving peer and run PSI with it.
    Join {
        /// The serving peer's address, ip:port.
        #[arg(long)]
        connect: String,
        /// The serving peer's name, as its certificate states it.
        #[arg(long)]
        server_name: String,
        #[command(flatten)]
        common: PsiArgs,
    },
}

#[derive(Args)]
pub(crate) struct PsiArgs {
    #[command(flatten)]
    tls: TlsArgs,
    #[command(flatten)]
    column: ColumnArgs,
    /// Learn only how many identifiers are shared, not which.
    #[arg(long)]
    cardinality_only: bool,
    /// Write the result here instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    audit: AuditArgs,
}

pub(crate) fn run(command: PsiCommand) -> Result<ExitCode> {
    let (mesh, args) = match command {
        PsiCommand::Serve { listen: addr, common } => {
            let identity = common.tls.identity()?;
            let listener = listen(&addr)?;
            let mut rng = SecureRng::from_os_entropy()?;
            let options = common.tls.options();
            let mesh = coordinate(&listener, &identity, PROTOCOL, 2, &options, &mut rng)
                .context("no peer completed the connection")?;
            (mesh, common)
        }
        PsiCommand::Join { connect, server_name, common } => {
            let identity = common.tls.identity()?;
            let options = common.tls.options();
            let mesh = join(&connect, &server_name, None, "", &identity, PROTOCOL, &options)
                .with_context(|| format!("cannot join the psi peer at {connect}"))?;
            (mesh, common)
        }
    };
    run_on(mesh, &args)
}

fn run_on(mut mesh: TlsMesh, args: &PsiArgs) -> Result<ExitCode> {
    let identifiers = read_column(&args.column)?;
    let mode = if args.cardinality_only { PsiMode::Cardinality } else { PsiMode::Intersection };
    let audit = args.audit.sink()?;
    let context = RunContext { audit: audit.as_ref(), principal: &args.audit.principal };
    let mut rng = SecureRng::from_os_entropy()?;
    let peer = mesh.peer_name(1 - privacy_mpc::transport::Transport::party(&mesh));
    let peer = peer.unwrap_or("peer").to_owned();
    let outcome = run_psi(&mut mesh, &mut rng, &context, &identifiers, mode)
        .with_context(|| format!("psi with {peer} failed"))?;
    eprintln!(
        "medi-privacy: psi with {peer}: {} shared of {} here and {} there ({} empty identifiers skipped)",
        outcome.cardinality, outcome.own_size, outcome.peer_size, outcome.skipped_empty
    );
    write_output(args.output.as_deref(), &render(&outcome, &identifiers, &peer, args.json)?)?;
    Ok(ExitCode::SUCCESS)
}

fn render(
    outcome: &PsiOutcome,
    identifiers: &[String],
    peer: &str,
    as_json: bool,
) -> Result<String> {
    let matched: Option<Vec<&str>> =
        outcome.rows.as_ref().map(|rows| rows.iter().map(|r| identifiers[*r].as_str()).collect());
    if as_json {
        let value = json!({
            "peer": peer,
            "mode": if matched.is_some() { "intersection" } else { "cardinality" },
            "cardinality": outcome.cardinality,
            "own_size": outcome.own_size,
            "peer_size": outcome.peer_size,
            "skipped_empty": outcome.skipped_empty,
            "rows": outcome.rows,
            "identifiers": matched,
        });
        return Ok(format!("{}\n", serde_json::to_string_pretty(&value)?));
    }
    Ok(match matched {
        Some(ids) => ids.iter().map(|id| format!("{id}\n")).collect(),
        None => format!("{}\n", outcome.cardinality),
    })
}
