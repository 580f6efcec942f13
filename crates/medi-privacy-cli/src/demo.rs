//! `medi-privacy demo`: the whole path on the bundled Adult census extract, in a temporary
//! folder, so a newcomer sees every step without preparing anything.
//!
//! The data (30,162 records of the 1994 US Census "Adult" extract, CC BY 4.0 via UCI, as
//! cleaned by the ARX project, Apache-2.0) is compiled into the binary from `data/adult/`;
//! see `data/adult/README.md` for its source and licence.

use anyhow::{Context, Result};

use crate::{analyze, budget, output, AnalyzeArgs};

/// The bundled data set.
const ADULT_CSV: &[u8] = include_bytes!("../../../data/adult/adult.csv");

pub(crate) fn run() -> Result<()> {
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let data = dir.path().join("adult.csv");
    let ledger = dir.path().join("ledger.sqlite");
    let audit_log = dir.path().join("audit.jsonl");
    std::fs::write(&data, ADULT_CSV).context("cannot write the demo data")?;
    println!("medi-privacy demo, working in {}", dir.path().display());
    println!(
        "data: {} (30,162 census records, ';'-separated; see data/adult/README.md)\n",
        data.display()
    );

    println!("1. give dataset \"adult\" a total budget of ε = 1:");
    budget::init(&ledger, "adult", "1", "0", Some(&audit_log))?;

    println!("\n2. release a count, the mean age and the total age, spending ε = 0.6 (0.2 each):");
    let queries = ["count()", "mean(age, 17, 90)", "sum(age, 17, 90)"];
    let args =
        AnalyzeArgs::for_demo(ledger.clone(), audit_log.clone(), data.clone(), "0.6", &queries);
    let (outcome, split) = analyze(&args)?;
    output::print_outcome("adult", &outcome, &split, false)?;

    println!("\n3. ask for ε = 0.5 more, which exceeds the ε = 0.4 left:");
    let args = AnalyzeArgs::for_demo(
        ledger.clone(),
        audit_log.clone(),
        data,
        "0.5",
        &["mean(age, 17, 90)"],
    );
    match analyze(&args) {
        Ok(_) => anyhow::bail!("the ledger released past its budget; this is a bug"),
        Err(error) => println!("refused: {error:#}"),
    }

    println!("\n4. the ledger:");
    budget::show(&privacy_budget::SqliteLedger::open(&ledger)?, "adult", false)?;

    println!("\n5. verify the audit log ({}):", audit_log.display());
    crate::audit::verify_and_print(&audit_log)?;
    println!("\nthe temporary folder is removed on exit; run the same steps yourself with");
    println!(
        "`medi-privacy budget init`, `analyze`, `budget show` and `audit verify` (see --help)."
    );
    Ok(())
}
