//! Any text is a restricted-ZIP3 table or a typed error naming a line; a parsed table answers
//! every five-digit ZIP with three digits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_anon::safe_harbor::Zip3Table;

fuzz_target!(|text: &str| {
    if let Ok(table) = Zip3Table::parse(text, "fuzz.csv") {
        assert!(!table.version().is_empty());
        for zip in ["02138", "03601", "99999", "00000"] {
            let out = table.generalize(zip).expect("a five-digit ZIP generalizes");
            assert!(table.is_permitted_output(&out), "{out}");
        }
    }
});
