//! Checks of a planned or performed augmentation (decision rules §8).

use serde_json::json;

use crate::engine::Out;
use crate::facts::Facts;
use crate::report::{Outcome, ProcedureChecks, Severity};
use crate::request::CementLeakage;

/// The cement range of a level (rule 3.4, seed Table 3).
pub fn cement_range(f: &Facts<'_>, thoracic: bool) -> (f64, f64) {
    let th = f.th;
    if thoracic {
        (
            th.cement_thoracic_min_ml.value,
            th.cement_thoracic_max_ml.value,
        )
    } else {
        (th.cement_lumbar_min_ml.value, th.cement_lumbar_max_ml.value)
    }
}

/// A decimal input as an integer count of millionths (inputs have at most six decimals; the
/// rounding removes the binary representation error, e.g. 2.91 → 2 910 000).
fn micro(x: f64) -> i128 {
    (x * 1e6).round() as i128
}

/// Rule 11.28.28: `cement > fraction × body`, compared exactly on the decimal inputs (2.91 mL in
/// 9.7 mL is not over 30 %), in integer millionths.
pub fn exceeds_fraction(cement_ml: f64, fraction: f64, body_ml: f64) -> bool {
    micro(cement_ml) * 1_000_000 > micro(fraction) * micro(body_ml)
}

/// Cement volume above 30 % of the body volume, when both are known (rule 11.28.28).
pub fn cement_over_fill(f: &Facts<'_>) -> Option<bool> {
    let p = f.req.procedure.as_ref()?;
    let (v, body) = (p.cement_volume_ml?, p.vertebral_body_volume_ml?);
    Some(exceeds_fraction(
        v,
        f.th.cement_max_fill_fraction.value,
        body,
    ))
}

pub fn checks(f: &Facts<'_>, out: &mut Out) -> Option<ProcedureChecks> {
    let p = f.req.procedure.as_ref()?;
    let th = f.th;
    let performed = f.procedure.is_some_and(|x| x.performed);
    let level = p.level.to_string();
    let (lo, hi) = cement_range(f, p.level.is_thoracic());
    let fill = match (p.cement_volume_ml, p.vertebral_body_volume_ml) {
        (Some(v), Some(b)) => Some(v / b),
        _ => None,
    };
    if cement_over_fill(f) == Some(true) {
        let max = th.cement_max_fill_fraction.value * p.vertebral_body_volume_ml.unwrap_or(0.0);
        out.alert(
            "cement_volume_exceeds_30pct",
            Severity::Warning,
            vec![
                ("level", level.clone()),
                ("volume", fmt(p.cement_volume_ml.unwrap_or(0.0))),
                ("max", fmt((max * 10.0).floor() / 10.0)),
            ],
        );
        out.recommend("proc.cement_fill_30pct");
    }
    let within = p.cement_volume_ml.map(|v| v >= lo && v <= hi);
    if within == Some(false) {
        out.alert(
            "cement_volume_outside_range",
            Severity::Warning,
            vec![
                ("level", level.clone()),
                ("volume", fmt(p.cement_volume_ml.unwrap_or(0.0))),
                ("min", fmt(lo)),
                ("max", fmt(hi)),
            ],
        );
        out.recommend("proc.cement_range");
    }
    let over90 = p
        .height_restoration_pct
        .map(|h| h > th.height_restoration_max_pct.value);
    if over90 == Some(true) {
        out.alert(
            "height_restoration_over_90pct",
            Severity::Warning,
            vec![("value", fmt(p.height_restoration_pct.unwrap_or(0.0)))],
        );
        out.recommend("proc.height_restoration");
    }
    let leaks = p.cement_leakage.as_deref().unwrap_or(&[]);
    if leaks.contains(&CementLeakage::Intradiscal) {
        out.recommend("proc.intradiscal_leakage");
    }
    if leaks.contains(&CementLeakage::SpinalCanal) {
        out.alert(
            "cement_leakage_spinal_canal",
            Severity::Critical,
            vec![("level", level.clone())],
        );
        out.recommend("proc.leakage_spinal_canal");
    }
    if leaks.contains(&CementLeakage::Venous) {
        out.alert(
            "cement_leakage_venous",
            Severity::Warning,
            vec![("level", level.clone())],
        );
        out.recommend("proc.leakage_venous");
    }
    let checks = ProcedureChecks {
        level: p.level,
        performed,
        cement_fill_fraction: fill.map(|x| (x * 1000.0).round() / 1000.0),
        cement_range_ml: [lo, hi],
        cement_within_range: within,
        height_restoration_over_90pct: over90,
    };
    // Rule 11.23: the applied entry carries the report field it names.
    out.explain(
        "procedure_checks",
        "8",
        &[
            ("performed", json!(performed)),
            ("cement_volume_ml", json!(p.cement_volume_ml)),
            (
                "vertebral_body_volume_ml",
                json!(p.vertebral_body_volume_ml),
            ),
            ("height_restoration_pct", json!(p.height_restoration_pct)),
            ("cement_leakage", json!(leaks)),
        ],
        Outcome::Applied,
        serde_json::to_value(&checks).ok(),
    );
    Some(checks)
}

fn fmt(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}
