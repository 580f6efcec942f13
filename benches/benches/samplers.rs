//! Noise samplers of `privacy-dp` next to OpenDP's (0.16, Rust core), in one run.
//!
//! Four draws, as in issue 3: exact discrete Laplace (scale 10), exact discrete Gaussian
//! (σ = 10), and Laplace and Gaussian noise on floats (scale 1, on each library's own grid:
//! ours is 2⁻⁴⁰ resp. 2⁻²⁴ of the scale, OpenDP's default is the smallest subnormal). Ours draw
//! from a [`RandomBits`] source kept across draws (its public batch interface); OpenDP's draw
//! from its own generator. Then the cost of the bounded-time modes, next to our exact samplers
//! of the same law.
//!
//! Criterion measures each side; after it, a plain count prints samples per second and the
//! ratio, measured **interleaved**: 20 alternating bursts of 50 ms of each side, so that a
//! change in the machine's load hits both alike.
//!
//! Run: `taskset -c 1 cargo bench -p medi-privacy-benches --features opendp-peer --bench samplers`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use dashu::rational::RBig;
use num_bigint::BigUint;
use num_rational::Ratio;
use opendp::domains::AtomDomain;
use opendp::measurements::{make_gaussian, make_laplace};
use opendp::measures::{MaxDivergence, ZeroConcentratedDivergence};
use opendp::metrics::AbsoluteDistance;
use opendp::traits::samplers::{sample_discrete_gaussian, sample_discrete_laplace};
use privacy_core::SecureRng;
use privacy_dp::mechanism::{GaussianCalibration, GaussianMechanism, LaplaceMechanism};
use privacy_dp::sampler::{DiscreteGaussian, DiscreteLaplace, RandomBits};

/// One named pair of samplers, each drawing one sample per call.
struct Pair {
    name: &'static str,
    /// What the right-hand side is: "opendp 0.16" or our exact sampler.
    against: &'static str,
    ours: Box<dyn FnMut() -> f64>,
    peer: Box<dyn FnMut() -> f64>,
}

fn ratio(n: u32) -> Ratio<BigUint> {
    Ratio::from_integer(BigUint::from(n))
}

/// A bit source on a leaked generator: the closures below outlive the function that builds
/// them, and a benchmark process leaks one generator per sampler at most.
fn bits() -> RandomBits<'static> {
    RandomBits::new(Box::leak(Box::new(SecureRng::from_os_entropy().expect("os entropy"))))
}

fn pairs() -> Vec<Pair> {
    let laplace = DiscreteLaplace::new(ratio(10)).expect("scale");
    let gaussian = DiscreteGaussian::new(ratio(100)).expect("sigma");
    let float_laplace = LaplaceMechanism::new(1.0, 1.0).expect("laplace");
    let float_gaussian =
        GaussianMechanism::new(1.0, GaussianCalibration::Zcdp { rho: 0.5 }).expect("gaussian");
    let bounded_laplace = laplace.bounded_time().expect("bounded laplace");
    let bounded_gaussian = gaussian.bounded_time().expect("bounded gaussian");
    // The Gaussian mechanism at (ε, δ) = (1, 10⁻⁶), exact and bounded-time.
    let analytic = GaussianCalibration::Analytic { epsilon: 1.0, delta: 1e-6 };
    let exact_mechanism = GaussianMechanism::new(1.0, analytic).expect("gaussian");
    let bounded_mechanism = exact_mechanism.clone().bounded_time().expect("bounded");
    let peer_laplace = make_laplace::<_, _, MaxDivergence>(
        AtomDomain::<f64>::new_non_nan(),
        AbsoluteDistance::<f64>::default(),
        1.0,
        None,
    )
    .expect("opendp laplace");
    let peer_gaussian = make_gaussian::<_, _, ZeroConcentratedDivergence>(
        AtomDomain::<f64>::new_non_nan(),
        AbsoluteDistance::<f64>::default(),
        1.0,
        None,
    )
    .expect("opendp gaussian");
    let opendp = "opendp 0.16";
    let (mut b1, mut b2, mut b3, mut b4) = (bits(), bits(), bits(), bits());
    let (mut b5, mut b6, mut b7, mut b8) = (bits(), bits(), bits(), bits());
    let (mut b9, mut b10) = (bits(), bits());
    let (laplace2, gaussian2) = (laplace.clone(), gaussian.clone());
    vec![
        Pair {
            name: "discrete_laplace",
            against: opendp,
            ours: Box::new(move || laplace.sample_i128(&mut b1).expect("draw") as f64),
            peer: Box::new(|| {
                sample_discrete_laplace(RBig::from(10u32)).expect("draw").to_f64().value()
            }),
        },
        Pair {
            name: "discrete_gaussian",
            against: opendp,
            ours: Box::new(move || gaussian.sample_i128(&mut b2).expect("draw") as f64),
            peer: Box::new(|| {
                sample_discrete_gaussian(RBig::from(10u32)).expect("draw").to_f64().value()
            }),
        },
        Pair {
            name: "float_laplace",
            against: opendp,
            ours: Box::new(move || float_laplace.release_bits(0.5, &mut b3).expect("draw")),
            peer: Box::new(move || peer_laplace.invoke(&0.5).expect("draw")),
        },
        Pair {
            name: "float_gaussian",
            against: opendp,
            ours: Box::new(move || float_gaussian.release_bits(0.5, &mut b4).expect("draw")),
            peer: Box::new(move || peer_gaussian.invoke(&0.5).expect("draw")),
        },
        Pair {
            name: "bounded_time_laplace",
            against: "our exact",
            ours: Box::new(move || bounded_laplace.sample_i128(&mut b5).expect("draw") as f64),
            peer: Box::new(move || laplace2.sample_i128(&mut b6).expect("draw") as f64),
        },
        Pair {
            name: "bounded_time_gaussian",
            against: "our exact",
            ours: Box::new(move || bounded_gaussian.sample_i128(&mut b7).expect("draw") as f64),
            peer: Box::new(move || gaussian2.sample_i128(&mut b8).expect("draw") as f64),
        },
        Pair {
            name: "bounded_float_gaussian",
            against: "our exact",
            ours: Box::new(move || bounded_mechanism.release_bits(0.5, &mut b9).expect("draw")),
            peer: Box::new(move || exact_mechanism.release_bits(0.5, &mut b10).expect("draw")),
        },
    ]
}

fn bench(c: &mut Criterion) {
    for mut pair in pairs() {
        let mut group = c.benchmark_group(pair.name);
        group.bench_function("medi_privacy", |b| b.iter(|| black_box((pair.ours)())));
        let peer_label = if pair.against == "our exact" { "medi_privacy_exact" } else { "opendp" };
        group.bench_function(peer_label, |b| b.iter(|| black_box((pair.peer)())));
        group.finish();
    }
    print_rates();
}

/// Draws of `draw` during one burst of `length`, and the time it took.
fn burst(draw: &mut dyn FnMut() -> f64, length: Duration) -> (u64, Duration) {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < length {
        for _ in 0..16 {
            black_box(draw());
        }
        n += 16;
    }
    (n, start.elapsed())
}

/// Samples per second of both sides, measured in alternating bursts.
fn interleaved_rates(pair: &mut Pair) -> (f64, f64) {
    let length = Duration::from_millis(50);
    let (mut ours, mut peer) = ((0u64, Duration::ZERO), (0u64, Duration::ZERO));
    for _ in 0..20 {
        let (n, t) = burst(&mut pair.ours, length);
        ours = (ours.0 + n, ours.1 + t);
        let (n, t) = burst(&mut pair.peer, length);
        peer = (peer.0 + n, peer.1 + t);
    }
    (ours.0 as f64 / ours.1.as_secs_f64(), peer.0 as f64 / peer.1.as_secs_f64())
}

fn print_rates() {
    println!("\nsamples per second, interleaved in this run (20 × 50 ms bursts per side):");
    println!(
        "{:<24} {:>14} {:>14} {:>13} {:>9}",
        "sampler", "medi-privacy", "other", "other is", "ratio"
    );
    for mut pair in pairs() {
        let (ours, peer) = interleaved_rates(&mut pair);
        println!(
            "{:<24} {:>14.0} {:>14.0} {:>13} {:>8.2}x",
            pair.name,
            ours,
            peer,
            pair.against,
            ours / peer
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
