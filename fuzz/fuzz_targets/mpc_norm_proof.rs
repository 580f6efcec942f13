//! Any bytes are a bounded-norm proof, a commitment vector, or a typed error; whatever parses
//! re-encodes to exactly the input (lengths are bounded by the declared dimension before any
//! allocation).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| privacy_mpc::fuzzing::norm(data));
