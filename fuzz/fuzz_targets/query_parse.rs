//! Any text is a query or a typed error, and a parsed query prints to text that parses back to
//! the same query.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(query) = privacy_dp::parse_query(text) {
        let again = privacy_dp::parse_query(&query.to_string()).expect("display must re-parse");
        assert_eq!(again, query);
    }
});
