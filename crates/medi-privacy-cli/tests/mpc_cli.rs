//! The secure-computation commands as real processes on loopback: `psi serve|join`,
//! `secure-sum serve|join` with three sites, and `pprl encode|match`, on the bundled real (and,
//! for linkage, synthetic FEBRL) data. Ports are picked by the operating system (`--listen
//! 127.0.0.1:0`) and read from the serving process's announcement, so runs never collide.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_medi-privacy"));
    command.env("USER", "tester");
    command
}

/// Runs to completion; panics with stderr on failure.
fn run_ok(command: &mut Command) -> Output {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A temporary folder with the network's certificates.
struct Network {
    dir: tempfile::TempDir,
}

impl Network {
    fn new(parties: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut command = bin();
        command.args(["certs", "init", "--dir"]).arg(dir.path());
        for p in parties {
            command.args(["--party", p]);
        }
        run_ok(&mut command);
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The TLS options of party `name`, waiting at most `setup` seconds for peers.
    fn tls_waiting(&self, name: &str, setup: &str) -> Vec<String> {
        let mut args = self.tls(name);
        args[9] = setup.to_owned();
        args
    }

    /// The TLS options of party `name`.
    fn tls(&self, name: &str) -> Vec<String> {
        let p = |f: String| self.path(&f).display().to_string();
        vec![
            "--name".into(),
            name.into(),
            "--cert".into(),
            p(format!("{name}.pem")),
            "--key".into(),
            p(format!("{name}.key")),
            "--ca".into(),
            p("ca.pem".into()),
            "--setup-timeout".into(),
            "60".into(),
            "--message-timeout".into(),
            "60".into(),
        ]
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// A serving process and the address it announced.
struct Server {
    child: Child,
    addr: String,
    stderr: BufReader<std::process::ChildStderr>,
}

impl Server {
    fn start(mut command: Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut line = String::new();
        while Instant::now() < deadline {
            line.clear();
            if stderr.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if let Some(addr) = line.trim().strip_prefix("medi-privacy: listening on ") {
                return Self { child, addr: addr.to_owned(), stderr };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server never announced its address; last line {line:?}");
    }

    fn finish(mut self) -> (String, String) {
        let mut stdout = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
        let mut rest = String::new();
        self.stderr.read_to_string(&mut rest).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "server failed: {rest}");
        (stdout, rest)
    }
}

/// The adult data's rows, `;`-separated, header first.
fn adult_rows() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(repo_file("data/adult/adult.csv")).unwrap();
    text.lines().map(|l| l.split(';').map(str::to_owned).collect()).collect()
}

fn column_index(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

/// Writes rows `range` of the census extract as a one-column CSV of record keys (all fields
/// joined by `:`), a stand-in for a registry's patient identifiers.
fn adult_keys_csv(
    net: &Network,
    file: &str,
    rows: std::ops::Range<usize>,
) -> (PathBuf, Vec<String>) {
    let all = adult_rows();
    let keys: Vec<String> = all[1..][rows].iter().map(|r| r.join(":")).collect();
    let text = format!("record_key\n{}\n", keys.join("\n"));
    (net.write(file, &text), keys)
}

/// The documented PSI normalisation, for ASCII text: lower case, no white space, no `-./_`.
fn normalised(id: &str) -> String {
    id.to_lowercase().chars().filter(|c| !c.is_whitespace() && !"-./_".contains(*c)).collect()
}

#[test]
fn psi_serve_and_join_find_the_intersection_and_its_size() {
    let net = Network::new(&["hospital-a", "hospital-b"]);
    // Two registries that overlap on rows 2000..3000 of the census extract.
    let (a_csv, a_ids) = adult_keys_csv(&net, "a.csv", 0..3000);
    let (b_csv, b_ids) = adult_keys_csv(&net, "b.csv", 2000..4500);
    let b_set: BTreeSet<String> = b_ids.iter().map(|id| normalised(id)).collect();
    let expected_rows: Vec<usize> =
        (0..a_ids.len()).filter(|i| b_set.contains(&normalised(&a_ids[*i]))).collect();
    let expected_distinct = a_ids
        .iter()
        .map(|id| normalised(id))
        .filter(|id| b_set.contains(id))
        .collect::<BTreeSet<_>>()
        .len();
    assert!(expected_distinct > 100 && expected_rows.len() < a_ids.len());

    for cardinality_only in [false, true] {
        let audit = net.path(&format!("audit-{cardinality_only}.jsonl"));
        let mut serve = bin();
        serve.args(["psi", "serve", "--listen", "127.0.0.1:0", "--json"]);
        serve
            .args(net.tls("hospital-a"))
            .arg("--data")
            .arg(&a_csv)
            .args(["--column", "record_key"]);
        serve.arg("--audit-log").arg(&audit);
        let mut join = bin();
        join.args(["psi", "join", "--server-name", "hospital-a", "--json"]);
        join.args(net.tls("hospital-b")).arg("--data").arg(&b_csv).args(["--column", "record_key"]);
        if cardinality_only {
            serve.arg("--cardinality-only");
            join.arg("--cardinality-only");
        }
        let server = Server::start(serve);
        let joined = run_ok(join.args(["--connect", &server.addr]));
        let (served, _) = server.finish();
        let a: Value = serde_json::from_str(&served).unwrap();
        let b: Value = serde_json::from_slice(&joined.stdout).unwrap();
        assert_eq!(a["cardinality"], expected_distinct);
        assert_eq!(b["cardinality"], expected_distinct);
        assert_eq!(a["peer"], "hospital-b");
        if cardinality_only {
            assert!(a["rows"].is_null() && b["identifiers"].is_null());
        } else {
            let rows: Vec<usize> = serde_json::from_value(a["rows"].clone()).unwrap();
            assert_eq!(rows, expected_rows);
        }
        let log = std::fs::read_to_string(&audit).unwrap();
        assert!(log.contains("protocol_run") && log.contains("ecdh-psi"), "{log}");
        assert!(!log.contains(&a_ids[0]), "an identifier reached the audit log");
    }
}

#[test]
fn psi_refuses_a_mode_mismatch_and_a_stranger() {
    let net = Network::new(&["hospital-a", "hospital-b"]);
    let other = Network::new(&["hospital-b"]);
    let csv = net.write("ids.csv", "id\nx1\nx2\n");
    let mut serve = bin();
    serve.args(["psi", "serve", "--listen", "127.0.0.1:0", "--cardinality-only"]);
    serve.args(net.tls_waiting("hospital-a", "5")).arg("--data").arg(&csv).args(["--column", "id"]);
    let server = Server::start(serve);
    // A certificate from another network is refused; the server keeps waiting.
    let mut stranger = bin();
    stranger.args(["psi", "join", "--server-name", "hospital-a", "--connect", &server.addr]);
    stranger.args(other.tls("hospital-b")).arg("--data").arg(&csv).args(["--column", "id"]);
    let out = stranger.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    // A member of the network asking for the intersection meets a cardinality-only server.
    let mut join = bin();
    join.args(["psi", "join", "--server-name", "hospital-a", "--connect", &server.addr]);
    join.args(net.tls("hospital-b")).arg("--data").arg(&csv).args(["--column", "id"]);
    let out = join.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another mode"));
    let status = { server }.child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
}

#[test]
fn secure_sum_totals_a_column_across_three_site_processes() {
    let net = Network::new(&["coordinator", "site-b", "site-c"]);
    let all = adult_rows();
    let index = column_index(&all[0], "age");
    let mut truth = 0i64;
    // Three sites hold consecutive slices of the census extract's ages.
    let mut files = Vec::new();
    for (k, rows) in
        [(1usize..10_001), (10_001..20_001), (20_001..all.len())].into_iter().enumerate()
    {
        let values: Vec<&str> = all[rows].iter().map(|r| r[index].as_str()).collect();
        truth += values.iter().map(|v| v.parse::<i64>().unwrap()).sum::<i64>();
        // Site b writes its figures with two decimals, as a spreadsheet might.
        let text: Vec<String> = values
            .iter()
            .map(|v| if k == 1 { format!("{v}.00") } else { (*v).to_owned() })
            .collect();
        files.push(net.write(&format!("site{k}.csv"), &format!("age\n{}\n", text.join("\n"))));
    }
    let count = all.len() - 1;
    let mut serve = bin();
    serve.args(["secure-sum", "serve", "--listen", "127.0.0.1:0", "--parties", "3", "--json"]);
    serve.args(["--decimals", "2"]).args(net.tls("coordinator"));
    serve.arg("--data").arg(&files[0]).args(["--column", "age"]);
    let audit = net.path("audit.jsonl");
    serve.arg("--audit-log").arg(&audit);
    let server = Server::start(serve);
    let sites: Vec<Child> = [("site-b", &files[1]), ("site-c", &files[2])]
        .iter()
        .map(|(name, file)| {
            let mut join = bin();
            join.args(["secure-sum", "join", "--connect", &server.addr, "--json"]);
            join.args(["--server-name", "coordinator", "--decimals", "2"]).args(net.tls(name));
            join.arg("--data").arg(file).args(["--column", "age"]);
            join.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    let (served, _) = server.finish();
    let expected_total = format!("{truth}.00");
    for output in std::iter::once(served).chain(sites.into_iter().map(|c| {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    })) {
        let v: Value = serde_json::from_str(&output).unwrap();
        assert_eq!(v["total"], expected_total.as_str());
        assert_eq!(v["count"], count);
        assert_eq!(v["parties"], 3);
    }
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains("secure-mean") && log.contains("\"parties\":3"), "{log}");
}

#[test]
fn secure_sum_refuses_values_with_too_many_decimals_before_connecting() {
    let net = Network::new(&["coordinator"]);
    let csv = net.write("x.csv", "x\n1.5\n2.25\n");
    let mut serve = bin();
    serve.args(["secure-sum", "serve", "--listen", "127.0.0.1:0", "--parties", "2"]);
    serve.args(["--decimals", "1"]).args(net.tls("coordinator"));
    serve.arg("--data").arg(&csv).args(["--column", "x"]);
    let out = serve.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("row 3") && err.contains("decimal places"), "{err}");
    assert!(!err.contains("2.25"), "a value reached the message: {err}");
}

/// Splits FEBRL data set 1 into originals and duplicates; returns the true links by position.
fn febrl_split(net: &Network) -> (PathBuf, PathBuf, HashMap<usize, usize>) {
    let text = std::fs::read_to_string(repo_file("data/febrl1/dataset1.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let (mut originals, mut duplicates) = (Vec::new(), Vec::new());
    for line in lines {
        let id = line.split(',').next().unwrap().trim().to_owned();
        if id.ends_with("-org") {
            originals.push((id.trim_end_matches("-org").to_owned(), line));
        } else {
            duplicates.push((id.split("-dup").next().unwrap().to_owned(), line));
        }
    }
    let position: HashMap<&str, usize> =
        duplicates.iter().enumerate().map(|(j, (id, _))| (id.as_str(), j)).collect();
    let truth = originals
        .iter()
        .enumerate()
        .filter_map(|(i, (id, _))| position.get(id.as_str()).map(|j| (i, *j)))
        .collect();
    let write = |name: &str, rows: &[(String, &str)]| {
        let body: Vec<&str> = rows.iter().map(|(_, l)| *l).collect();
        net.write(name, &format!("{header}\n{}\n", body.join("\n")))
    };
    (write("a.csv", &originals), write("b.csv", &duplicates), truth)
}

#[test]
fn pprl_encode_and_match_link_the_febrl_duplicates() {
    let net = Network::new(&["unused"]);
    let (a_csv, b_csv, truth) = febrl_split(&net);
    let schema = repo_file("data/febrl1/linkage-schema.json");
    let secret = net.write("secret", "correct horse battery staple, shared by a and b\n");
    for (csv, out) in [(&a_csv, "a.json"), (&b_csv, "b.json")] {
        let mut encode = bin();
        encode.args(["pprl", "encode", "--schema"]).arg(&schema).arg("--secret-file").arg(&secret);
        run_ok(encode.arg("--data").arg(csv).arg("--output").arg(net.path(out)));
    }
    let encoded: Value =
        serde_json::from_str(&std::fs::read_to_string(net.path("a.json")).unwrap()).unwrap();
    assert_eq!(encoded["clks"].as_array().unwrap().len(), 500);
    let mut link = bin();
    link.args(["pprl", "match", "--threshold", "0.7", "--a"]).arg(net.path("a.json"));
    let out = run_ok(link.arg("--b").arg(net.path("b.json")));
    let links: Vec<(usize, usize)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            (f.next().unwrap().parse().unwrap(), f.next().unwrap().parse().unwrap())
        })
        .collect();
    let correct = links.iter().filter(|(a, b)| truth.get(a) == Some(b)).count();
    let precision = correct as f64 / links.len() as f64;
    let recall = correct as f64 / truth.len() as f64;
    assert!(precision >= 0.97, "precision {precision}");
    assert!(recall >= 0.95, "recall {recall}");
    // The linkage unit cannot link files encoded under different schemas.
    let other = net.write(
        "other.json",
        &std::fs::read_to_string(net.path("b.json"))
            .unwrap()
            .replace(&encoded["x-medi-privacy"]["schema"].as_str().unwrap().to_owned(), "0000"),
    );
    let mut mismatch = bin();
    mismatch.args(["pprl", "match", "--a"]).arg(net.path("a.json")).arg("--b").arg(other);
    assert_eq!(mismatch.output().unwrap().status.code(), Some(1));
}
