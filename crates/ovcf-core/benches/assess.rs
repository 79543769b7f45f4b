//! Criterion benchmark of the engine over the public vignettes.
//!
//! - `assess/engine`: validated request → report, in process, excluding JSON (target ≤ 20 µs).
//! - `assess/json`: JSON text → validated → report → JSON text (target ≤ 50 µs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use ovcf_core::{Date, assess_json, assess_valid, validate_json};

fn requests() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vignettes/public");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            serde_json::to_string(&v["request"]).unwrap()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let today = Date::new(2026, 11, 27).unwrap();
    let reqs = requests();
    let valid: Vec<_> = reqs
        .iter()
        .map(|r| validate_json(r, today).unwrap())
        .collect();
    // Warm the knowledge base and the schema validator once.
    let _ = assess_valid(&valid[0]).unwrap();
    let n = reqs.len() as u64;
    let mut g = c.benchmark_group("assess");
    g.throughput(criterion::Throughput::Elements(n));
    g.bench_function("engine", |b| {
        b.iter(|| {
            for v in &valid {
                black_box(assess_valid(black_box(v)).unwrap());
            }
        })
    });
    g.bench_function("json", |b| {
        b.iter(|| {
            for r in &reqs {
                let report = assess_json(black_box(r), today).unwrap();
                black_box(serde_json::to_string(&report).unwrap());
            }
        })
    });
    g.bench_function("validate", |b| {
        b.iter(|| {
            for r in &reqs {
                black_box(validate_json(black_box(r), today).unwrap());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
