//! Criterion benchmark of the FHIR path: JSON text of a ~17 KB Bundle (the L1 OVCF fixture plus
//! Synthea Observations as realistic noise) → parse → map → assess (target ≤ 50 µs median on
//! one core, issue 11).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use ovcf_core::Date;
use serde_json::Value;

fn bundle_17k() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let read = |p: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(p)).unwrap()).unwrap()
    };
    let mut b = read("fhir/ovcf-l1-kyphoplasty.bundle.json");
    let luna = read("synthea/Luna60_McCullough561_6662f0ca-b617-4e02-8f55-7275e9f49aa0.json");
    let noise: Vec<Value> = luna["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Observation")
        .cloned()
        .collect();
    for e in noise {
        if serde_json::to_string(&b).unwrap().len() >= 17_000 {
            break;
        }
        b["entry"].as_array_mut().unwrap().push(e);
    }
    serde_json::to_string(&b).unwrap()
}

fn bench(c: &mut Criterion) {
    let text = bundle_17k();
    let as_of = Date::new(2026, 11, 24).unwrap();
    eprintln!("bundle: {} bytes", text.len());
    let v: Value = serde_json::from_str(&text).unwrap();
    let m = ovcf_fhir::map_bundle(&v, Some("p-100"), as_of);
    assert!(ovcf_fhir::assess_mapped(&m).is_ok());
    c.bench_function("fhir/parse_map_assess_17k", |bch| {
        bch.iter(|| {
            let v: Value = serde_json::from_str(black_box(&text)).unwrap();
            let m = ovcf_fhir::map_bundle(&v, Some("p-100"), as_of);
            black_box(ovcf_fhir::assess_mapped(&m).unwrap());
        })
    });
}

/// The parts, to see where the time goes.
fn parts(c: &mut Criterion) {
    let text = bundle_17k();
    let as_of = Date::new(2026, 11, 24).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let m = ovcf_fhir::map_bundle(&v, Some("p-100"), as_of);
    c.bench_function("fhir/parse_17k", |b| {
        b.iter(|| black_box(serde_json::from_str::<Value>(black_box(&text)).unwrap()))
    });
    c.bench_function("fhir/map_17k", |b| {
        b.iter(|| black_box(ovcf_fhir::map_bundle(black_box(&v), Some("p-100"), as_of)))
    });
    c.bench_function("fhir/assess_mapped", |b| {
        b.iter(|| black_box(ovcf_fhir::assess_mapped(black_box(&m)).unwrap()))
    });
}

criterion_group!(benches, bench, parts);
criterion_main!(benches);
