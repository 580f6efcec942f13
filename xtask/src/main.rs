//! Project automation for medi-privacy, reached as `cargo xtask <task>` (see `.cargo/config.toml`).
//!
//! Tasks:
//! - `layering`: checks the crate-dependency invariants of `docs/ARCHITECTURE.md` against
//!   `cargo metadata`, so a forbidden dependency fails CI instead of silently eroding the design.
//! - `compliance-report --audit-log A [--ledger L] [--job J]… --out DIR`: writes the HTML and
//!   Markdown compliance report by running `medi-privacy report` with the same options, so the
//!   report has exactly one implementation (the CLI's).
//!
//! Written in Rust rather than shell so it runs wherever cargo does.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::Value;

#[derive(Parser)]
#[command(name = "xtask", about = "medi-privacy project automation")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Check that crates depend on each other only as docs/ARCHITECTURE.md allows.
    Layering,
    /// Write the compliance report (runs `medi-privacy report` with these options; see
    /// `medi-privacy report --help`).
    ComplianceReport {
        /// The options of `medi-privacy report`, passed on unchanged.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        options: Vec<String>,
    },
}

/// For each library crate, the workspace crates it may depend on (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("privacy-core", &[]),
    ("privacy-dp", &["privacy-core"]),
    ("privacy-budget", &["privacy-core"]),
    ("privacy-audit", &["privacy-core"]),
    ("privacy-mpc", &["privacy-core"]),
    ("privacy-anon", &["privacy-core", "privacy-dp"]),
    ("privacy-fl", &["privacy-core", "privacy-dp", "privacy-mpc", "privacy-budget"]),
    (
        "medi-privacy",
        &[
            "privacy-core",
            "privacy-dp",
            "privacy-budget",
            "privacy-audit",
            "privacy-anon",
            "privacy-mpc",
            "privacy-fl",
        ],
    ),
];

/// Crates nothing in the workspace may depend on (binaries and automation).
const LEAVES: &[&str] = &["medi-privacy-cli", "xtask", "medi-privacy-benches"];

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Layering => layering(),
        Task::ComplianceReport { options } => compliance_report(&options),
    }
}

/// The `cargo` arguments that run `medi-privacy report` with `options`.
fn report_command(options: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        "--quiet",
        "--package",
        "medi-privacy-cli",
        "--bin",
        "medi-privacy",
        "--",
        "report",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(options.iter().cloned());
    args
}

fn compliance_report(options: &[String]) -> Result<()> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(report_command(options))
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("medi-privacy report failed ({status})");
    }
    Ok(())
}

fn layering() -> Result<()> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata output")?;
    let graph = workspace_graph(&metadata)?;
    let problems = check(&graph);
    if problems.is_empty() {
        println!("layering ok: {} workspace crates checked", graph.len());
        return Ok(());
    }
    for problem in &problems {
        eprintln!("layering: {problem}");
    }
    bail!("{} layering violation(s); see docs/ARCHITECTURE.md", problems.len())
}

/// Workspace crate → the workspace crates it depends on (normal and build dependencies).
fn workspace_graph(metadata: &Value) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let packages = metadata["packages"].as_array().context("no packages in cargo metadata")?;
    let names: BTreeSet<String> =
        packages.iter().filter_map(|p| p["name"].as_str()).map(str::to_owned).collect();
    let mut graph = BTreeMap::new();
    for package in packages {
        let name = package["name"].as_str().context("package without a name")?.to_owned();
        let deps = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].as_str() != Some("dev"))
            .filter_map(|d| d["name"].as_str())
            .filter(|d| names.contains(*d))
            .map(str::to_owned)
            .collect();
        graph.insert(name, deps);
    }
    Ok(graph)
}

fn check(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut problems = Vec::new();
    for (name, deps) in graph {
        for dep in deps {
            if LEAVES.contains(&dep.as_str()) {
                problems.push(format!("{name} depends on {dep}, which nothing may depend on"));
            } else if let Some(ok) = allowed.get(name.as_str()) {
                if !ok.contains(&dep.as_str()) {
                    problems.push(format!("{name} must not depend on {dep}"));
                }
            }
        }
        if !allowed.contains_key(name.as_str()) && !LEAVES.contains(&name.as_str()) {
            problems.push(format!("{name} is not listed in xtask's layering table"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges
            .iter()
            .map(|(n, d)| ((*n).to_owned(), d.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn the_report_task_passes_its_options_to_the_cli_unchanged() {
        let options: Vec<String> =
            ["--audit-log", "a.jsonl", "--job", "j.toml", "--out", "r"].map(String::from).to_vec();
        let args = report_command(&options);
        assert_eq!(&args[args.len() - 7..args.len() - 6], ["report"]);
        assert_eq!(&args[args.len() - 6..], options.as_slice());
        assert!(args.windows(2).any(|w| w == ["--bin", "medi-privacy"]));
    }

    #[test]
    fn forbidden_edges_are_reported() {
        let ok = graph(&[("privacy-core", &[]), ("privacy-dp", &["privacy-core"])]);
        assert!(check(&ok).is_empty());
        let bad = graph(&[
            ("privacy-core", &["privacy-dp"]),
            ("privacy-dp", &["privacy-budget"]),
            ("privacy-audit", &["medi-privacy-cli"]),
            ("stray", &[]),
        ]);
        assert_eq!(check(&bad).len(), 4, "{:?}", check(&bad));
    }
}
