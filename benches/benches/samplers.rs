//! Noise samplers of `privacy-dp` next to OpenDP's (0.16, Rust core), in one run.
//!
//! Four draws, as in issue 3: exact discrete Laplace (scale 10), exact discrete Gaussian
//! (σ = 10), and Laplace and Gaussian noise on floats (scale 1, on each library's own grid:
//! ours is 2⁻⁴⁰ resp. 2⁻²⁴ of the scale, OpenDP's default is the smallest subnormal). Ours draw
//! from a [`RandomBits`] source kept across draws (its public batch interface); OpenDP's draw
//! from its own generator. Criterion measures each side; after it, a plain one-second count of
//! each prints samples per second and our speed-up, so the ratio is in the output of one run.
//! The bounded-time mode's cost is measured alongside.
//!
//! Run: `cargo bench -p medi-privacy-benches --features opendp-peer --bench samplers`.

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

/// One named pair of samplers: ours and OpenDP's, each drawing one sample per call.
struct Pair {
    name: &'static str,
    ours: Box<dyn FnMut() -> f64>,
    peer: Box<dyn FnMut() -> f64>,
}

fn ratio(n: u32) -> Ratio<BigUint> {
    Ratio::from_integer(BigUint::from(n))
}

fn pairs() -> Vec<Pair> {
    // A leaked generator: the closures below outlive this function, and a benchmark process
    // leaks one per sampler at most.
    let bits = || RandomBits::new(Box::leak(Box::new(SecureRng::from_os_entropy().expect("os"))));
    let laplace = DiscreteLaplace::new(ratio(10)).expect("scale");
    let gaussian = DiscreteGaussian::new(ratio(100)).expect("sigma");
    let float_laplace = LaplaceMechanism::new(1.0, 1.0).expect("laplace");
    let float_gaussian =
        GaussianMechanism::new(1.0, GaussianCalibration::Zcdp { rho: 0.5 }).expect("gaussian");
    let bounded = laplace.bounded_time().expect("bounded");
    let (mut b1, mut b2, mut b3, mut b4, mut b5) = (bits(), bits(), bits(), bits(), bits());
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
    vec![
        Pair {
            name: "discrete_laplace",
            ours: Box::new(move || laplace.sample_i128(&mut b1).expect("draw") as f64),
            peer: Box::new(|| {
                sample_discrete_laplace(RBig::from(10u32)).expect("draw").to_f64().value()
            }),
        },
        Pair {
            name: "discrete_gaussian",
            ours: Box::new(move || gaussian.sample_i128(&mut b2).expect("draw") as f64),
            peer: Box::new(|| {
                sample_discrete_gaussian(RBig::from(10u32)).expect("draw").to_f64().value()
            }),
        },
        Pair {
            name: "float_laplace",
            ours: Box::new(move || float_laplace.release_bits(0.5, &mut b3).expect("draw")),
            peer: Box::new(move || peer_laplace.invoke(&0.5).expect("draw")),
        },
        Pair {
            // The cost of the bounded-time mode: compare with the `discrete_laplace` row.
            name: "bounded_time_laplace",
            ours: Box::new(move || bounded.sample_i128(&mut b5).expect("draw") as f64),
            peer: Box::new(|| {
                sample_discrete_laplace(RBig::from(10u32)).expect("draw").to_f64().value()
            }),
        },
        Pair {
            name: "float_gaussian",
            ours: Box::new(move || float_gaussian.release_bits(0.5, &mut b4).expect("draw")),
            peer: Box::new(move || peer_gaussian.invoke(&0.5).expect("draw")),
        },
    ]
}

fn bench(c: &mut Criterion) {
    for mut pair in pairs() {
        let mut group = c.benchmark_group(pair.name);
        group.bench_function("medi_privacy", |b| b.iter(|| black_box((pair.ours)())));
        group.bench_function("opendp", |b| b.iter(|| black_box((pair.peer)())));
        group.finish();
    }
    print_rates();
}

/// Samples per second of `draw` over about one second.
fn rate(draw: &mut dyn FnMut() -> f64) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..64 {
            black_box(draw());
        }
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn print_rates() {
    println!("\nsamples per second, side by side (one core, this run):");
    println!("{:<20} {:>14} {:>14} {:>8}", "sampler", "medi-privacy", "opendp 0.16", "ratio");
    for mut pair in pairs() {
        let ours = rate(&mut pair.ours);
        let peer = rate(&mut pair.peer);
        println!("{:<20} {:>14.0} {:>14.0} {:>7.1}x", pair.name, ours, peer, ours / peer);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
