//! `medi-privacy secure-sum serve|join`: the total (and count and mean) of a numeric column
//! across n sites, each site a process, without any site revealing its own total.
//!
//! `serve` is site 0 and the rendezvous point; each `join` is one more site, which also listens
//! for the sites numbered after it. The sites additively share their local totals over a TLS
//! mesh (`privacy_mpc::protocol::stats::secure_mean`): every site learns the overall total and
//! count, and nothing else, as long as at least one other site is honest (semi-honest model).
//! The total is exact: values are read as decimals with at most `--decimals` places and summed
//! as integers; a value with more places is refused, never rounded.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use privacy_core::SecureRng;
use privacy_mpc::protocol::stats::{secure_mean, MAX_LOCAL_TOTAL};
use privacy_mpc::protocol::RunContext;
use privacy_mpc::transport::rendezvous::{coordinate, join};
use privacy_mpc::transport::{TlsMesh, Transport};
use serde_json::json;

use crate::mpc_common::{listen, read_column, write_output, AuditArgs, ColumnArgs, TlsArgs};

#[derive(Subcommand)]
pub(crate) enum SecureSumCommand {
    /// Be site 0: wait for the other sites, then total the column with them.
    Serve {
        /// Where to listen, e.g. 0.0.0.0:7500 (port 0 picks a free port, announced on stderr).
        #[arg(long)]
        listen: String,
        /// The number of sites, this one included (at least 2).
        #[arg(long)]
        parties: usize,
        #[command(flatten)]
        common: SumArgs,
    },
    /// Join the sites gathered by `serve`.
    Join {
        /// The serving site's address, ip:port.
        #[arg(long)]
        connect: String,
        /// The serving site's name, as its certificate states it.
        #[arg(long)]
        server_name: String,
        /// Where this site accepts connections from the other sites (port 0 picks one).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// The address other sites should use to reach this one (default: the bound address).
        #[arg(long)]
        advertise: Option<String>,
        #[command(flatten)]
        common: SumArgs,
    },
}

#[derive(Args)]
pub(crate) struct SumArgs {
    #[command(flatten)]
    tls: TlsArgs,
    #[command(flatten)]
    column: ColumnArgs,
    /// Decimal places kept (every site must give the same number).
    #[arg(long, default_value_t = 0)]
    decimals: u32,
    /// Write the result here instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    audit: AuditArgs,
}

/// The most decimal places accepted.
const MAX_DECIMALS: u32 = 18;

pub(crate) fn run(command: SecureSumCommand) -> Result<ExitCode> {
    let (mesh, args) = match command {
        SecureSumCommand::Serve { listen: addr, parties, common } => {
            let local = local_total(&common)?;
            let listener = listen(&addr)?;
            let identity = common.tls.identity()?;
            let mut rng = SecureRng::from_os_entropy()?;
            let protocol = label(common.decimals);
            let mesh = coordinate(
                &listener,
                &identity,
                &protocol,
                parties,
                &common.tls.options(),
                &mut rng,
            )
            .context("the sites did not all join")?;
            (mesh, (common, local))
        }
        SecureSumCommand::Join { connect, server_name, listen: addr, advertise, common } => {
            let local = local_total(&common)?;
            let listener = listen(&addr)?;
            let advertise = match advertise {
                Some(a) => a,
                None => listener.local_addr()?.to_string(),
            };
            let identity = common.tls.identity()?;
            let protocol = label(common.decimals);
            let options = common.tls.options();
            let mesh = join(
                &connect,
                &server_name,
                Some(&listener),
                &advertise,
                &identity,
                &protocol,
                &options,
            )
            .with_context(|| format!("cannot join the sites gathered at {connect}"))?;
            (mesh, (common, local))
        }
    };
    let (args, local) = args;
    run_on(mesh, &args, local)
}

/// The rendezvous label: sites with different `--decimals` refuse each other.
fn label(decimals: u32) -> String {
    format!("secure-sum/v1/decimals={decimals}")
}

/// This site's exact total (scaled by 10^decimals), its count, and its missing values.
struct LocalTotal {
    total: i128,
    count: u64,
    missing: u64,
}

fn local_total(args: &SumArgs) -> Result<LocalTotal> {
    if args.decimals > MAX_DECIMALS {
        bail!("--decimals must be at most {MAX_DECIMALS}");
    }
    let values = read_column(&args.column)?;
    let (mut total, mut count, mut missing) = (0i128, 0u64, 0u64);
    for (row, text) in values.iter().enumerate() {
        if text.trim().is_empty() {
            missing += 1;
            continue;
        }
        let value = parse_scaled(text.trim(), args.decimals)
            .map_err(|why| anyhow!("row {} of {:?}: {why}", row + 2, args.column.column))?;
        total = total
            .checked_add(value)
            .filter(|t| t.unsigned_abs() <= MAX_LOCAL_TOTAL)
            .ok_or_else(|| anyhow!("this site's total exceeds 2^100 units"))?;
        count += 1;
    }
    Ok(LocalTotal { total, count, missing })
}

/// Parses a plain decimal ("-12.50") into an integer of 10^-decimals units, exactly.
fn parse_scaled(text: &str, decimals: u32) -> Result<i128, String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err("not a plain decimal number".into());
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > decimals as usize {
        return Err(format!("more than {decimals} decimal places (raise --decimals)"));
    }
    let padded = format!("{whole}{fraction:0<width$}", width = decimals as usize);
    let magnitude: i128 = padded.trim_start_matches('0').parse().or_else(|e| {
        if padded.bytes().all(|b| b == b'0') {
            Ok(0)
        } else {
            Err(format!("number too large ({e})"))
        }
    })?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// Formats an integer of 10^-decimals units as a decimal.
fn format_scaled(value: i128, decimals: u32) -> String {
    if decimals == 0 {
        return value.to_string();
    }
    let digits = format!("{:0>width$}", value.unsigned_abs(), width = decimals as usize + 1);
    let (whole, fraction) = digits.split_at(digits.len() - decimals as usize);
    format!("{}{whole}.{fraction}", if value < 0 { "-" } else { "" })
}

fn run_on(mut mesh: TlsMesh, args: &SumArgs, local: LocalTotal) -> Result<ExitCode> {
    let audit = args.audit.sink()?;
    let context = RunContext { audit: audit.as_ref(), principal: &args.audit.principal };
    let mut rng = SecureRng::from_os_entropy()?;
    let parties = mesh.parties();
    let result = secure_mean(&mut mesh, &mut rng, &context, local.total, local.count)
        .context("the secure sum failed")?;
    let total = format_scaled(result.total, args.decimals);
    eprintln!(
        "medi-privacy: secure sum over {parties} sites; this site skipped {} empty values",
        local.missing
    );
    let text = if args.json {
        let value = json!({
            "total": total,
            "count": result.count,
            "mean": result.mean(),
            "parties": parties,
            "party": mesh.party(),
            "decimals": args.decimals,
            "missing_here": local.missing,
        });
        format!("{}\n", serde_json::to_string_pretty(&value)?)
    } else {
        format!("total {total} over {} values from {parties} sites\n", result.count)
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_and_print_exactly() {
        assert_eq!(parse_scaled("12.5", 2), Ok(1250));
        assert_eq!(parse_scaled("-0.07", 2), Ok(-7));
        assert_eq!(parse_scaled("+3", 0), Ok(3));
        assert_eq!(parse_scaled("1.230", 2), Ok(123));
        assert_eq!(parse_scaled("000", 0), Ok(0));
        assert!(parse_scaled("1.234", 2).is_err());
        for bad in ["", "-", ".", "1e3", "NaN", "1,5", "--1", "0x10"] {
            assert!(parse_scaled(bad, 2).is_err(), "{bad}");
        }
        assert_eq!(format_scaled(-7, 2), "-0.07");
        assert_eq!(format_scaled(123_456, 3), "123.456");
        assert_eq!(format_scaled(5, 0), "5");
    }
}
