//! Free-text identifier detection, lines per second.
//!
//! The corpus is 100,000 generated note lines, one in five holding an identifier (SSN, phone,
//! email, date, MRN, ZIP…) and the rest clinical filler with numbers (doses, times, codes):
//! - `detect/prefiltered`: `Detector::find` (byte scan, then one `RegexSet` pass, then only the
//!   patterns that matched);
//! - `detect/every_pattern`: the same patterns run one by one over every line, the naive
//!   design, side by side in the same run;
//! - `redact/prefiltered`: `Detector::redact`.
//!
//! Run: `taskset -c 1 cargo bench -p medi-privacy-benches --bench detect`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use privacy_anon::detect::Detector;

fn corpus(lines: usize) -> Vec<String> {
    let fillers = [
        "Patient reports mild intermittent pain, worse at night, relieved by rest.",
        "Lungs clear bilaterally; heart regular rate and rhythm, no murmurs.",
        "Continue metformin 500 mg twice daily; recheck HbA1c in 3 months.",
        "BP 128/82, HR 74, T 36.8, SpO2 98% on room air at 10:45.",
        "SNOMED 444814009 resolved; follow up in 2 weeks if symptoms persist.",
        "Discussed diet, exercise and smoking cessation with the patient.",
        "No acute distress. Alert and oriented x3.",
        "Dressing changed, wound edges well approximated, no signs of infection.",
    ];
    let identifiers = [
        "Pt SSN 123-45-6789 verified at registration.",
        "Daughter can be reached at (617) 555-0142 after 5pm.",
        "Results sent to j.doe@example.org as requested.",
        "Seen on 2019-03-14 for the same complaint.",
        "MRN: 00123456, chart reviewed.",
        "Lives in Boston, MA 02118 with her husband.",
        "Portal message via https://portal.example.org/msg/8812.",
        "A 93-year-old woman with a history of falls.",
    ];
    (0..lines)
        .map(|i| {
            if i % 5 == 0 {
                identifiers[(i / 5) % identifiers.len()].to_owned()
            } else {
                fillers[i % fillers.len()].to_owned()
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let lines = corpus(100_000);
    let detector = Detector::global();
    let expected: usize = lines.iter().map(|l| detector.find(l).len()).sum();
    let naive: usize = lines.iter().map(|l| detector.find_without_prefilter(l).len()).sum();
    assert_eq!(expected, naive, "both designs find the same spans");
    let mut group = c.benchmark_group("detect");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.sample_size(10);
    group.bench_function("prefiltered", |b| {
        b.iter(|| lines.iter().map(|l| detector.find(black_box(l)).len()).sum::<usize>())
    });
    group.bench_function("every_pattern", |b| {
        b.iter(|| {
            lines.iter().map(|l| detector.find_without_prefilter(black_box(l)).len()).sum::<usize>()
        })
    });
    group.finish();
    let mut group = c.benchmark_group("redact");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.sample_size(10);
    group.bench_function("prefiltered", |b| {
        b.iter(|| lines.iter().map(|l| detector.redact(black_box(l)).0.len()).sum::<usize>())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
