//! Any bytes are a threshold ElGamal dealer message, decryption share, public key or key
//! share, or a typed error; whatever parses re-encodes to exactly the input, and a parsed key
//! has passed its consistency checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| privacy_mpc::fuzzing::threshold(data));
