//! Any text is a linkage schema or encoding file, or a typed error; a parsed encoding file
//! round-trips through its JSON form.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| privacy_mpc::fuzzing::linkage(data));
