//! `medi-privacy paillier` end to end: three sites encrypt their counts under one key, a
//! coordinator adds the ciphertexts without the key, the key holder decrypts the total. Each
//! step runs the real binary as a separate process on files in the versioned format.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medi-privacy"))
        .arg("paillier")
        .args(args)
        .current_dir(dir)
        .env("USER", "tester")
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn sites_total_encrypted_values_and_the_key_holder_decrypts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keygen = ok(
        d,
        &[
            "keygen",
            "--public-key",
            "pk",
            "--secret-key",
            "sk",
            "--modulus-proof",
            "proof",
            "--audit-log",
            "audit.jsonl",
        ],
    );
    assert!(keygen.contains("2048 bits, fingerprint paillier:"), "{keygen}");
    let audit = std::fs::read_to_string(d.join("audit.jsonl")).unwrap();
    assert!(audit.contains("key_generation") && audit.contains("public_fingerprint"), "{audit}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(d.join("sk")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    for (file, value) in [("a.ct", "1200"), ("b.ct", "-200"), ("c.ct", "34")] {
        ok(
            d,
            &[
                "encrypt",
                "--public-key",
                "pk",
                "--modulus-proof",
                "proof",
                "--value",
                value,
                "--out",
                file,
            ],
        );
    }
    ok(d, &["add", "--public-key", "pk", "--out", "sum.ct", "a.ct", "b.ct", "c.ct"]);
    let total =
        ok(d, &["decrypt", "--secret-key", "sk", "--in", "sum.ct", "--audit-log", "audit.jsonl"]);
    assert_eq!(total.trim(), "1034");
    let audit = std::fs::read_to_string(d.join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"decryption\""), "{audit}");

    // Fixed point: 36.6 + -0.1 at 20 fractional bits.
    for (file, value) in [("x.ct", "36.6"), ("y.ct", "-0.1")] {
        ok(
            d,
            &[
                "encrypt",
                "--public-key",
                "pk",
                "--value",
                value,
                "--frac-bits",
                "20",
                "--out",
                file,
            ],
        );
    }
    ok(d, &["add", "--public-key", "pk", "--out", "xy.ct", "x.ct", "y.ct"]);
    let real: f64 = ok(d, &["decrypt", "--secret-key", "sk", "--in", "xy.ct", "--frac-bits", "20"])
        .trim()
        .parse()
        .unwrap();
    assert!((real - 36.5).abs() < 2e-6, "{real}");
}

#[test]
fn bad_files_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["keygen", "--public-key", "pk", "--secret-key", "sk"]);
    // A mistyped folder leaves no half of a key pair behind.
    let out = run(d, &["keygen", "--public-key", "no-such-folder/pk", "--secret-key", "sk-x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no folder"));
    assert!(!d.join("sk-x").exists());
    // Keys are never overwritten.
    let again = run(d, &["keygen", "--public-key", "pk2", "--secret-key", "sk"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    std::fs::write(d.join("junk.ct"), b"MPV\x01\x0agarbage").unwrap();
    let out = run(d, &["add", "--public-key", "pk", "--out", "s.ct", "junk.ct"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid ciphertext") && err.contains("malformed"), "{err}");
    // A ciphertext is bound to its key: another key's file is refused.
    ok(d, &["keygen", "--public-key", "pk-b", "--secret-key", "sk-b"]);
    ok(d, &["encrypt", "--public-key", "pk-b", "--value", "1", "--out", "b.ct"]);
    let out = run(d, &["decrypt", "--secret-key", "sk", "--in", "b.ct"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("different keys"));
    let out = run(d, &["encrypt", "--public-key", "sk", "--value", "1", "--out", "x.ct"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid public key"));
    let out = run(d, &["encrypt", "--public-key", "pk", "--value", "1.5", "--out", "x.ct"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an integer"));

    // Files record their encoding: mixing encodings, or decoding at another scale, is refused
    // instead of printing a wrong number.
    // A value near N/3 (which three-fold would wrap around N) is refused at encryption.
    let near_third = format!("1{}", "0".repeat(600));
    let out = run(d, &["encrypt", "--public-key", "pk", "--value", &near_third, "--out", "big.ct"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!d.join("big.ct").exists());
    ok(d, &["encrypt", "--public-key", "pk", "--value", "2", "--out", "int.ct"]);
    let fixed = ["encrypt", "--public-key", "pk", "--value", "1.5", "--frac-bits", "16"];
    ok(d, &[&fixed[..], &["--out", "fix.ct"]].concat());
    let out = run(d, &["add", "--public-key", "pk", "--out", "mix.ct", "fix.ct", "int.ct"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("encodings differ"));
    assert!(!d.join("mix.ct").exists());
    let out = run(d, &["decrypt", "--secret-key", "sk", "--in", "fix.ct", "--frac-bits", "8"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("disagrees"));
    assert_eq!(ok(d, &["decrypt", "--secret-key", "sk", "--in", "fix.ct"]).trim(), "1.5");
    assert_eq!(ok(d, &["decrypt", "--secret-key", "sk", "--in", "int.ct"]).trim(), "2");

    // `--out` never replaces a key, another key's ciphertext or any other file.
    let secret = std::fs::read(d.join("sk")).unwrap();
    let public = std::fs::read(d.join("pk")).unwrap();
    for (args, target) in [
        (vec!["encrypt", "--public-key", "pk", "--value", "7", "--out", "sk"], "sk"),
        (vec!["add", "--public-key", "pk", "--out", "pk", "int.ct"], "pk"),
        (vec!["encrypt", "--public-key", "pk", "--value", "7", "--out", "b.ct"], "b.ct"),
        (vec!["encrypt", "--public-key", "pk", "--value", "7", "--out", "junk.ct"], "junk.ct"),
    ] {
        let out = run(d, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("refusing to overwrite") && err.contains(target), "{err}");
    }
    assert_eq!(std::fs::read(d.join("sk")).unwrap(), secret);
    assert_eq!(std::fs::read(d.join("pk")).unwrap(), public);
    // A ciphertext of the same key may be replaced.
    ok(d, &["encrypt", "--public-key", "pk", "--value", "7", "--out", "int.ct"]);
    assert_eq!(ok(d, &["decrypt", "--secret-key", "sk", "--in", "int.ct"]).trim(), "7");
}
