//! Untrusted inputs of `deidentify` besides the job: the table (CSV bytes) and the key ring.
//! Each is parsed or refused with a typed error, never a panic; a parsed table scans, and its
//! CSV re-parses to the same table.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_anon::keyring::KeyRing;
use privacy_anon::safe_harbor::{scan, ScanOptions, Zip3Table};
use privacy_anon::text_table::TextTable;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = KeyRing::parse(text);
    }
    if let Ok(table) = TextTable::from_bytes(bytes, "fuzz.csv", Some(b',')) {
        let zip3 = Zip3Table::built_in();
        let declared = Default::default();
        let options = ScanOptions { zip3: &zip3, reference_year: 2024, declared: &declared };
        let report = scan(&table, "fuzz.csv", &options);
        assert_eq!(report.columns.len(), table.names.len());
        let csv = table.to_csv(b',').expect("a table writes");
        if let Ok(again) = TextTable::from_bytes(&csv, "again.csv", Some(b',')) {
            if table.rows() > 0 {
                assert_eq!(again.names, table.names);
            }
        }
    }
});
