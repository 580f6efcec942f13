//! `medi-privacy paillier keygen|encrypt|add|decrypt`: Paillier encryption on files in the
//! versioned wire format of `privacy_mpc::wire`, for data teams that total values across
//! sites without writing Rust.
//!
//! Values are signed integers, or signed reals with `--frac-bits F` (fixed point, scale 2^F).
//! Each ciphertext file records its encoding (`EncodedCiphertext`), so `add` refuses to mix
//! encodings and `decrypt` decodes with the recorded one (a `--frac-bits` that disagrees with
//! it is refused). Decryption refuses a sum that overflowed the encoding rather than printing a
//! wrapped number. Key files are created, never overwritten, and `--out` replaces only a
//! ciphertext file of the same key. The secret key file is created with mode 0600 on Unix and
//! never printed.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::{Subcommand, ValueEnum};
use num_bigint::BigInt;
use privacy_core::{AuditSink, NullAuditSink, SecureRng};
use privacy_mpc::audit::AuditContext;
use privacy_mpc::paillier::{
    Ciphertext, EncodedCiphertext, FixedPointEncoding, IntegerEncoding, KeyGenOptions,
    ModulusProof, ModulusSize, PublicKey, SecretKey,
};

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum BitsArg {
    /// 2048-bit modulus (112-bit security).
    #[value(name = "2048")]
    B2048,
    /// 3072-bit modulus (128-bit security).
    #[value(name = "3072")]
    B3072,
}

#[derive(Subcommand)]
pub(crate) enum PaillierCommand {
    /// Generate a key pair (and a proof that the modulus is square-free).
    Keygen {
        /// Modulus length.
        #[arg(long, value_enum, default_value = "2048")]
        bits: BitsArg,
        /// Use safe primes (much slower).
        #[arg(long)]
        safe_primes: bool,
        /// Where to write the public key.
        #[arg(long)]
        public_key: PathBuf,
        /// Where to write the secret key (created, never overwritten).
        #[arg(long)]
        secret_key: PathBuf,
        /// Where to write the square-free modulus proof, for the other sites to check.
        #[arg(long)]
        modulus_proof: Option<PathBuf>,
        /// Record the key generation in this audit log.
        #[arg(long)]
        audit_log: Option<PathBuf>,
    },
    /// Encrypt one value under a public key.
    Encrypt {
        /// The public key file.
        #[arg(long)]
        public_key: PathBuf,
        /// Check the key holder's square-free proof before encrypting.
        #[arg(long)]
        modulus_proof: Option<PathBuf>,
        /// The value: a signed integer, or a decimal with --frac-bits.
        #[arg(long, allow_hyphen_values = true)]
        value: String,
        /// Fixed-point fractional bits (omit for integers).
        #[arg(long)]
        frac_bits: Option<u32>,
        /// Where to write the ciphertext.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add ciphertexts (homomorphically) into one.
    Add {
        /// The public key file.
        #[arg(long)]
        public_key: PathBuf,
        /// Where to write the sum.
        #[arg(long)]
        out: PathBuf,
        /// The ciphertext files.
        #[arg(required = true, num_args = 1..)]
        inputs: Vec<PathBuf>,
    },
    /// Decrypt a ciphertext and print the value.
    Decrypt {
        /// The secret key file.
        #[arg(long)]
        secret_key: PathBuf,
        /// The ciphertext file.
        #[arg(long = "in")]
        input: PathBuf,
        /// Fixed-point fractional bits, as given to encrypt: optional (the file records them),
        /// and refused when they disagree with the file.
        #[arg(long)]
        frac_bits: Option<u32>,
        /// Record the decryption in this audit log.
        #[arg(long)]
        audit_log: Option<PathBuf>,
    },
}

pub(crate) fn run(command: PaillierCommand) -> Result<()> {
    match command {
        PaillierCommand::Keygen {
            bits,
            safe_primes,
            public_key,
            secret_key,
            modulus_proof,
            audit_log,
        } => keygen(
            bits,
            safe_primes,
            &public_key,
            &secret_key,
            modulus_proof.as_deref(),
            audit_log.as_deref(),
        ),
        PaillierCommand::Encrypt { public_key, modulus_proof, value, frac_bits, out } => {
            encrypt(&public_key, modulus_proof.as_deref(), &value, frac_bits, &out)
        }
        PaillierCommand::Add { public_key, out, inputs } => add(&public_key, &inputs, &out),
        PaillierCommand::Decrypt { secret_key, input, frac_bits, audit_log } => {
            decrypt(&secret_key, &input, frac_bits, audit_log.as_deref())
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    owner_only(&mut options, secret);
    let mut file =
        options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Makes a secret file readable by its owner only (mode 0600 on Unix).
#[cfg(unix)]
fn owner_only(options: &mut std::fs::OpenOptions, secret: bool) {
    use std::os::unix::fs::OpenOptionsExt;
    if secret {
        options.mode(0o600);
    }
}

/// Other systems keep their default permissions (inherited ACLs on Windows).
#[cfg(not(unix))]
fn owner_only(_options: &mut std::fs::OpenOptions, _secret: bool) {}

/// Writes a ciphertext file: a new file, or in place of a ciphertext file of the same key;
/// anything else there (a key, another key's ciphertext, any other file) is left alone.
fn write_ciphertext(path: &Path, encoded: &EncodedCiphertext, key: &PublicKey) -> Result<()> {
    if path.exists() {
        let existing = std::fs::read(path).unwrap_or_default();
        if EncodedCiphertext::from_bytes(&existing, key).is_err() {
            return Err(anyhow!(
                "{} already exists and is not a ciphertext of this key; refusing to overwrite it",
                path.display()
            ));
        }
    }
    std::fs::write(path, encoded.to_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The bound on one encrypted value: `⌊(N − 1)/2⁶⁶⌋` (about 2¹⁹⁸² for a 2048-bit key). Files
/// can be added in any number of steps, so the command line cannot count summands; any sum of
/// fewer than 2⁶⁴ such values has magnitude below `(N − 1)/4` ([`sum_encoding`]) and decodes
/// exactly, so a total can never wrap around `N` into a wrong number.
fn value_encoding(key: &PublicKey) -> Result<IntegerEncoding> {
    Ok(IntegerEncoding::new(key, (key.n() - 1u32) >> 66)?)
}

/// The bound a decrypted total is decoded with: 2⁶⁴ values' worth; beyond it (which no feasible
/// number of additions reaches) decoding refuses.
fn sum_encoding(key: &PublicKey) -> Result<IntegerEncoding> {
    Ok(IntegerEncoding::new(key, ((key.n() - 1u32) >> 66) << 64)?)
}

/// How a file's encoding is named in messages.
fn encoding_name(frac_bits: Option<u32>) -> String {
    match frac_bits {
        None => "integer".to_owned(),
        Some(bits) => format!("fixed point with {bits} fractional bits"),
    }
}

fn read_ciphertext(path: &Path, key: &PublicKey) -> Result<EncodedCiphertext> {
    EncodedCiphertext::from_bytes(&read(path)?, key)
        .with_context(|| format!("invalid ciphertext {}", path.display()))
}

fn audit_sink(path: Option<&Path>) -> Result<Box<dyn AuditSink>> {
    Ok(match path {
        // Through the CLI's one opener, so checkpoints are signed with the operator's key.
        Some(path) => Box::new(crate::audit::open_log(path)?),
        None => Box::new(NullAuditSink),
    })
}

fn keygen(
    bits: BitsArg,
    safe_primes: bool,
    public_path: &Path,
    secret_path: &Path,
    proof_path: Option<&Path>,
    audit_log: Option<&Path>,
) -> Result<()> {
    for path in [Some(public_path), Some(secret_path), proof_path].into_iter().flatten() {
        if path.exists() {
            return Err(anyhow!("{} already exists; refusing to overwrite it", path.display()));
        }
        // Every file's folder must exist before a key is made, so that a mistyped path does
        // not leave a secret key (and a logged key generation) without its public half.
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !folder.is_dir() {
            return Err(anyhow!("cannot write {}: no folder {}", path.display(), folder.display()));
        }
    }
    let size = match bits {
        BitsArg::B2048 => ModulusSize::Bits2048,
        BitsArg::B3072 => ModulusSize::Bits3072,
    };
    let sink = audit_sink(audit_log)?;
    let principal = crate::principal();
    let mut rng = SecureRng::from_os_entropy()?;
    let options = KeyGenOptions { size, safe_primes };
    let key =
        SecretKey::generate(options, &mut rng, &AuditContext::new(sink.as_ref(), &principal))?;
    write_new(secret_path, &key.to_bytes(), true)?;
    write_new(public_path, &key.public().to_bytes(), false)?;
    if let Some(path) = proof_path {
        write_new(path, &ModulusProof::prove(&key)?.to_bytes(), false)?;
    }
    println!("{} bits, fingerprint {}", key.public().bits(), key.public().fingerprint_hex());
    Ok(())
}

fn load_public(path: &Path) -> Result<PublicKey> {
    PublicKey::from_bytes(&read(path)?)
        .with_context(|| format!("invalid public key {}", path.display()))
}

fn encrypt(
    public_path: &Path,
    proof_path: Option<&Path>,
    value: &str,
    frac_bits: Option<u32>,
    out: &Path,
) -> Result<()> {
    let key = load_public(public_path)?;
    if let Some(path) = proof_path {
        ModulusProof::from_bytes(&read(path)?)
            .and_then(|proof| proof.verify(&key))
            .with_context(|| format!("the modulus proof {} does not hold", path.display()))?;
    }
    let plaintext = match frac_bits {
        None => {
            let v: BigInt = value
                .trim()
                .parse()
                .map_err(|_| anyhow!("--value is not an integer (use --frac-bits for decimals)"))?;
            value_encoding(&key)?.encode(&v)?
        }
        Some(bits) => {
            let x: f64 = value.trim().parse().map_err(|_| anyhow!("--value is not a number"))?;
            FixedPointEncoding::new(value_encoding(&key)?, bits)?.encode(x)?
        }
    };
    let mut rng = SecureRng::from_os_entropy()?;
    let encoded = EncodedCiphertext { frac_bits, ciphertext: key.encrypt(&plaintext, &mut rng)? };
    write_ciphertext(out, &encoded, &key)
}

fn add(public_path: &Path, inputs: &[PathBuf], out: &Path) -> Result<()> {
    let key = load_public(public_path)?;
    let files =
        inputs.iter().map(|path| read_ciphertext(path, &key)).collect::<Result<Vec<_>>>()?;
    let frac_bits = files[0].frac_bits;
    if let Some((path, other)) = inputs.iter().zip(&files).find(|(_, f)| f.frac_bits != frac_bits) {
        return Err(anyhow!(
            "cannot add {} ({}) to {} ({}): their encodings differ",
            path.display(),
            encoding_name(other.frac_bits),
            inputs[0].display(),
            encoding_name(frac_bits)
        ));
    }
    let ciphertexts: Vec<Ciphertext> = files.into_iter().map(|f| f.ciphertext).collect();
    let sum = EncodedCiphertext { frac_bits, ciphertext: key.sum(&ciphertexts)? };
    write_ciphertext(out, &sum, &key)?;
    println!("added {} ciphertexts", ciphertexts.len());
    Ok(())
}

fn decrypt(
    secret_path: &Path,
    input: &Path,
    frac_bits: Option<u32>,
    audit_log: Option<&Path>,
) -> Result<()> {
    let mut rng = SecureRng::from_os_entropy()?;
    let key = SecretKey::from_bytes(&read(secret_path)?, &mut rng)
        .with_context(|| format!("invalid secret key {}", secret_path.display()))?;
    let EncodedCiphertext { frac_bits: recorded, ciphertext: c } =
        read_ciphertext(input, key.public())?;
    if let Some(given) = frac_bits.filter(|&bits| Some(bits) != recorded) {
        return Err(anyhow!(
            "--frac-bits {given} disagrees with {}, which holds {}",
            input.display(),
            encoding_name(recorded)
        ));
    }
    let frac_bits = recorded;
    let sink = audit_sink(audit_log)?;
    let principal = crate::principal();
    let plaintexts = key
        .decrypt_audited(std::slice::from_ref(&c), &AuditContext::new(sink.as_ref(), &principal))?;
    let integer = sum_encoding(key.public())?;
    match frac_bits {
        None => println!("{}", integer.decode(&plaintexts[0])?),
        Some(bits) => {
            println!("{}", FixedPointEncoding::new(integer, bits)?.decode(&plaintexts[0])?)
        }
    }
    Ok(())
}
