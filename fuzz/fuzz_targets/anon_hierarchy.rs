//! Any bytes are a generalization hierarchy or a typed error; a parsed hierarchy is a tree whose
//! rows, written back as CSV, parse to the same hierarchy.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(h) = privacy_anon::Hierarchy::from_csv_bytes("fuzz", bytes) {
        let rows = h.rows();
        let separator = if bytes.iter().any(|&b| b == b';') { ";" } else { "," };
        let text: String = rows.iter().map(|r| r.join(separator) + "\n").collect();
        if let Ok(again) = privacy_anon::Hierarchy::from_csv_bytes("fuzz", text.as_bytes()) {
            assert_eq!(again.rows(), rows);
        }
        for leaf in 0..h.leaf_count() as u32 {
            for level in 0..h.levels() {
                assert!(h.leaves_under(level, h.generalize(level, leaf)) >= 1);
            }
        }
    }
});
