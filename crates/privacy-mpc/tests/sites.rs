//! Sites as real operating-system processes on loopback, over the mutually authenticated TLS
//! mesh: threshold ElGamal key generation by three sites and joint decryption by two of them
//! (each site keeping its key share in a file between the two runs), and a trusted dealer in
//! its own process serving Beaver triples and bit material to three sites that then multiply,
//! compute a variance and compare.
//!
//! This binary has its own `main` (`harness = false` in `Cargo.toml`): started without
//! `MPC_SITE_ROLE` it is the test, which starts copies of itself with `MPC_SITE_ROLE` set, one
//! per site or dealer. A child prints `listening ADDR` when it serves, and its result as one
//! JSON line. A filter argument that names neither scenario skips the binary (so
//! `cargo test -p privacy-mpc some_unit_test` does not start processes).

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
#![allow(clippy::print_stdout)] // The children report to the parent on standard output.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use curve25519_dalek::Scalar;
use privacy_core::{NullAuditSink, SecureRng};
use privacy_mpc::audit::AuditContext;
use privacy_mpc::elgamal::distributed::{decrypt_jointly_values, generate_key};
use privacy_mpc::elgamal::threshold::{KeyShare, ThresholdParams, ThresholdPublicKey};
use privacy_mpc::elgamal::{Ciphertext, DiscreteLogTable};
use privacy_mpc::protocol::beaver::secure_product;
use privacy_mpc::protocol::compare::secure_less_than;
use privacy_mpc::protocol::dealer::{fetch_stock, serve_stock};
use privacy_mpc::protocol::stats::secure_variance;
use privacy_mpc::protocol::{DealRequest, RunContext};
use privacy_mpc::transport::rendezvous::{coordinate, join};
use privacy_mpc::transport::{NetworkCa, TlsIdentity, TlsMesh, TlsOptions, Transport};
use privacy_mpc::Z64;
use serde_json::{json, Value};

const SITES: [&str; 3] = ["hospital-a", "hospital-b", "hospital-c"];
/// Each site's data for the dealer scenario: products of a's and b's values, the variance of
/// all values, and comparisons of a's values with c's.
const DATA: [&[i64]; 3] = [&[12, -7, 40], &[3, 9, -2], &[12, -8, 100]];
const CIPHERTEXT_LEN: usize = 77;

fn options() -> TlsOptions {
    TlsOptions { message_timeout: Duration::from_secs(60), setup_timeout: Duration::from_secs(60) }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

fn identity(dir: &Path, name: &str) -> TlsIdentity {
    let file = |f: String| dir.join(f);
    TlsIdentity::from_pem_files(
        name,
        &file(format!("{name}.pem")),
        &file(format!("{name}.key")),
        &file("ca.pem".into()),
    )
    .unwrap()
}

fn listen() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// The mesh for `protocol`: the first site coordinates (announcing its address), the others
/// join the address in `MPC_SITE_CONNECT`.
fn mesh(identity: &TlsIdentity, protocol: &str, parties: usize) -> TlsMesh {
    match std::env::var("MPC_SITE_CONNECT") {
        Err(_) => {
            let listener = listen();
            println!("listening {}", listener.local_addr().unwrap());
            let mut rng = SecureRng::from_os_entropy().unwrap();
            coordinate(&listener, identity, protocol, parties, &options(), &mut rng).unwrap()
        }
        Ok(addr) => {
            let listener = listen();
            let own = listener.local_addr().unwrap().to_string();
            let coordinator = env("MPC_SITE_COORDINATOR");
            join(&addr, &coordinator, Some(&listener), &own, identity, protocol, &options())
                .unwrap()
        }
    }
}

/// One child process: runs its role and prints its result.
fn child(role: &str) {
    let dir = PathBuf::from(env("MPC_SITE_DIR"));
    let name = env("MPC_SITE_NAME");
    let me = identity(&dir, &name);
    let sink = NullAuditSink;
    let audit = AuditContext::new(&sink, &name);
    let mut rng = SecureRng::from_os_entropy().unwrap();
    let result = match role {
        "keygen" => {
            let mut mesh = mesh(&me, "threshold-keygen/test", 3);
            let params = ThresholdParams::new(2, 3).unwrap();
            let keygen =
                generate_key(&mut mesh, params, b"process-test", &mut rng, &audit).unwrap();
            std::fs::write(dir.join(format!("{name}.share")), keygen.share.to_bytes()).unwrap();
            json!({
                "party": mesh.party(),
                "index": keygen.share.index(),
                "public": hex::encode(keygen.share.public().to_bytes()),
                "disqualified": keygen.disqualified,
            })
        }
        "decrypt" => {
            let share =
                KeyShare::from_bytes(&std::fs::read(dir.join(format!("{name}.share"))).unwrap())
                    .unwrap();
            let bytes = std::fs::read(dir.join("ciphertexts.bin")).unwrap();
            let ciphertexts: Vec<Ciphertext> =
                bytes.chunks(CIPHERTEXT_LEN).map(|c| Ciphertext::from_bytes(c).unwrap()).collect();
            let mut mesh = mesh(&me, "threshold-decrypt/test", 2);
            let table = DiscreteLogTable::new(12).unwrap();
            let values = decrypt_jointly_values(
                &mut mesh,
                &share,
                &ciphertexts,
                &table,
                (-(1 << 15), 16),
                &mut rng,
                &audit,
            )
            .unwrap();
            json!({ "values": values })
        }
        "dealer" => {
            let listener = listen();
            println!("listening {}", listener.local_addr().unwrap());
            let context = RunContext { audit: &sink, principal: &name };
            let first = serve_stock(&listener, &me, 3, &options(), &mut rng, &context).unwrap();
            let second = serve_stock(&listener, &me, 3, &options(), &mut rng, &context).unwrap();
            json!({ "served": [first.roster, second.roster], "refused": first.refused + second.refused })
        }
        "compute" => compute(&me, &name, &mut rng),
        other => panic!("unknown role {other}"),
    };
    println!("{result}");
}

/// A site of the dealer scenario: mesh, stocks from the dealer, then three protocols.
fn compute(me: &TlsIdentity, name: &str, rng: &mut SecureRng) -> Value {
    let mut mesh = mesh(me, "beaver/test", 3);
    let party = mesh.party();
    let dealer = env("MPC_SITE_DEALER");
    let count = DATA[0].len();
    let scalar_request = DealRequest { triples: count + 1, ..DealRequest::default() };
    let bit_request = DealRequest { bit_triples: 12 * count, edabits: count, ..Default::default() };
    let mut scalars =
        fetch_stock::<Scalar>(&dealer, "dealer", me, &mesh, scalar_request, &options()).unwrap();
    let mut bits =
        fetch_stock::<Z64>(&dealer, "dealer", me, &mesh, bit_request, &options()).unwrap();
    let sink = NullAuditSink;
    let context = RunContext { audit: &sink, principal: name };
    // Sites are numbered by name: hospital-a is 0 (it coordinates), b is 1, c is 2.
    let mine = DATA[party];
    let products = secure_product(&mut mesh, rng, &mut scalars, &context, (0, 1), mine, count);
    let variance = secure_variance(&mut mesh, rng, &mut scalars, &context, mine).unwrap();
    let less = secure_less_than(&mut mesh, rng, &mut bits, &context, (0, 2), mine, count);
    json!({
        "party": party,
        "products": products.unwrap(),
        "count": variance.count,
        "scaled_variance": variance.scaled.to_string(),
        "less": less.unwrap(),
        "left": { "triples": scalars.remaining().triples, "bit_triples": bits.remaining().bit_triples },
    })
}

/// A running child and its standard output.
struct Site {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Site {
    fn start(role: &str, dir: &Path, name: &str, vars: &[(&str, &str)]) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .env("MPC_SITE_ROLE", role)
            .env("MPC_SITE_DIR", dir)
            .env("MPC_SITE_NAME", name)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in vars {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Self { child, out }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        line.trim().to_owned()
    }

    /// The address a serving child announced.
    fn address(&mut self) -> String {
        let line = self.line();
        line.strip_prefix("listening ").unwrap_or_else(|| panic!("no address: {line:?}")).to_owned()
    }

    /// The child's result, after it exited successfully.
    fn result(mut self) -> Value {
        let line = self.line();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "a site failed: {status}");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not json: {line:?}"))
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        // A failed assertion must not leave children waiting for peers.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Certificates for the sites and the dealer, in `dir`.
fn network(dir: &Path) {
    let ca = NetworkCa::generate("process test network").unwrap();
    std::fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
    for name in SITES.iter().copied().chain(["dealer"]) {
        let issued = ca.issue(name).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), &issued.cert_pem).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), issued.key_pem.as_bytes()).unwrap();
    }
}

/// Starts the first of `names` as coordinator and the rest as joining sites.
fn start_all(role: &str, dir: &Path, names: &[&str], extra: &[(&str, &str)]) -> Vec<Site> {
    let mut first = Site::start(role, dir, names[0], extra);
    let addr = first.address();
    let mut sites = vec![first];
    for name in &names[1..] {
        let mut vars =
            vec![("MPC_SITE_CONNECT", addr.as_str()), ("MPC_SITE_COORDINATOR", names[0])];
        vars.extend_from_slice(extra);
        sites.push(Site::start(role, dir, name, &vars));
    }
    sites
}

fn threshold_elgamal_across_processes(dir: &Path) {
    let results: Vec<Value> =
        start_all("keygen", dir, &SITES, &[]).into_iter().map(Site::result).collect();
    let public = results[0]["public"].as_str().unwrap();
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["public"], public, "site {i} holds another key");
        assert_eq!(r["disqualified"], json!([]));
        assert_eq!(r["index"].as_u64().unwrap(), r["party"].as_u64().unwrap() + 1);
    }
    let key = ThresholdPublicKey::from_bytes(&hex::decode(public).unwrap()).unwrap();
    let values = [1234i64, -77, 0, 31_000];
    let mut rng = SecureRng::from_os_entropy().unwrap();
    let mut tally = key.joint().encrypt(5, &mut rng);
    for _ in 0..9 {
        tally = tally + key.joint().encrypt(5, &mut rng);
    }
    let mut bytes = Vec::new();
    for v in values {
        bytes.extend(key.joint().encrypt(v, &mut rng).to_bytes());
    }
    bytes.extend(tally.to_bytes());
    std::fs::write(dir.join("ciphertexts.bin"), bytes).unwrap();
    // Two of the three sites decrypt (t = 2), hospital-c coordinating this time.
    let decrypted = start_all("decrypt", dir, &["hospital-c", "hospital-a"], &[]);
    for r in decrypted.into_iter().map(Site::result) {
        assert_eq!(r["values"], json!([1234, -77, 0, 31_000, 50]));
    }
}

fn beaver_triples_from_a_dealer_process(dir: &Path) {
    let mut dealer = Site::start("dealer", dir, "dealer", &[]);
    let dealer_addr = dealer.address();
    let sites = start_all("compute", dir, &SITES, &[("MPC_SITE_DEALER", dealer_addr.as_str())]);
    let results: Vec<Value> = sites.into_iter().map(Site::result).collect();
    let served = dealer.result();
    assert_eq!(served["served"], json!([SITES, SITES]));
    let all: Vec<i128> = DATA.iter().flat_map(|d| d.iter().map(|v| i128::from(*v))).collect();
    let n = all.len() as i128;
    let (s, q) = (all.iter().sum::<i128>(), all.iter().map(|v| v * v).sum::<i128>());
    let products: Vec<i64> = DATA[0].iter().zip(DATA[1]).map(|(a, b)| a * b).collect();
    let less: Vec<bool> = DATA[0].iter().zip(DATA[2]).map(|(a, c)| a < c).collect();
    for r in &results {
        assert_eq!(r["products"], json!(products));
        assert_eq!(r["count"], json!(n));
        assert_eq!(r["scaled_variance"], json!((n * q - s * s).to_string()));
        assert_eq!(r["less"], json!(less));
        // Every triple and AND triple requested was used: none handed out twice.
        assert_eq!(r["left"], json!({ "triples": 0, "bit_triples": 0 }));
    }
}

/// A scenario, run in the network folder.
type Scenario = fn(&Path);

fn main() {
    if let Ok(role) = std::env::var("MPC_SITE_ROLE") {
        return child(&role);
    }
    let scenarios: [(&str, Scenario); 2] = [
        ("threshold_elgamal_across_processes", threshold_elgamal_across_processes),
        ("beaver_triples_from_a_dealer_process", beaver_triples_from_a_dealer_process),
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        scenarios.iter().for_each(|(name, _)| println!("{name}: test"));
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let dir = tempfile::tempdir().unwrap();
    network(dir.path());
    let mut ran = 0;
    for (name, scenario) in scenarios {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        scenario(dir.path());
        println!("test {name} ... ok");
        ran += 1;
    }
    println!("\ntest result: ok. {ran} passed; 0 failed");
}
