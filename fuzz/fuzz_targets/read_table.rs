//! Any bytes are a table or a typed error; a table survives every per-column check the CLI
//! runs on untrusted files without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_dp::{read_table_bytes, BoundedTable, ContributionBound, NonFinitePolicy, ReadOptions};

fuzz_target!(|bytes: &[u8]| {
    let Ok(frame) = read_table_bytes(bytes.to_vec(), "fuzz", ReadOptions::default()) else {
        return;
    };
    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
    let Some(first) = names.first() else { return };
    let bound = ContributionBound::per_unit(first.as_str(), 2).expect("k = 2 is valid");
    if let Ok(table) = BoundedTable::new(frame, bound) {
        for name in &names {
            let _ = table.numeric_column(name, "fuzz", NonFinitePolicy::Refuse);
        }
    }
});
