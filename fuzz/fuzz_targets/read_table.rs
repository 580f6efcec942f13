//! Any bytes are a table or a typed error; a table survives every per-column check the CLI
//! runs on untrusted files without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_dp::{read_table_bytes, BoundedTable, ContributionBound, NonFinitePolicy, ReadOptions};

/// `read_table_bytes` contains panics inside polars (a known upstream failure on some malformed
/// CSV, e.g. a lone `"` in a numeric field) and turns them into typed errors. libFuzzer's panic
/// hook would abort on them first, so it is replaced by one that aborts on any other panic only.
fn abort_on_our_panics_only() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.location().is_some_and(|l| l.file().contains("/polars-")) {
                default(info);
                std::process::abort();
            }
        }));
    });
}

fuzz_target!(|bytes: &[u8]| {
    abort_on_our_panics_only();
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
