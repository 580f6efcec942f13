//! Any bytes are a share, a set of dealer commitments, or a typed error; whatever parses
//! re-encodes to exactly the input (one encoding per value).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| privacy_mpc::fuzzing::shares(data));
