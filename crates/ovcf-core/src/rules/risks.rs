//! Risks: adjacent (new) vertebral fracture and cement leakage (decision rules §6).

use serde_json::json;

use crate::engine::Out;
use crate::facts::Facts;
use crate::knowledge::Knowledge;
use crate::report::{
    AdjacentFractureRisk, CementLeakageRisk, Outcome, Plan, RiskContribution, RiskEstimateBasis,
    Risks, Tier, Treatment,
};
use crate::request::{CementLeakage, PosteriorWall};
use crate::rules::procedure::{cement_over_fill, cement_range};

fn tier(n: usize, moderate: f64, high: f64) -> Tier {
    let n = n as f64;
    if n >= high {
        Tier::High
    } else if n >= moderate {
        Tier::Moderate
    } else {
        Tier::Low
    }
}

pub fn assess(f: &Facts<'_>, t: &Treatment, k: &Knowledge, out: &mut Out) -> Risks {
    let th = f.th;
    let p = f.req.procedure.as_ref();
    let mut factors: Vec<&'static str> = Vec::new();
    if f64::from(f.age) >= th.adjacent_advanced_age_min.value {
        factors.push("advanced_age");
    }
    if f.female {
        factors.push("female");
    }
    if f.lowest_t
        .is_some_and(|(t, _)| t < th.very_high_risk_below_t.value)
    {
        factors.push("t_score_below_minus_3");
    }
    if f64::from(f.vertebral_fracture_count()) >= th.adjacent_multiple_vertebral_min.value {
        factors.push("multiple_prior_vertebral_fractures");
    }
    if cement_over_fill(f) == Some(true) {
        factors.push("cement_over_30pct");
    }
    if p.and_then(|p| p.height_restoration_pct)
        .is_some_and(|h| h > th.height_restoration_max_pct.value)
    {
        factors.push("height_restoration_over_90pct");
    }
    let on_therapy = f.ongoing().any(|m| m.drug.is_antiosteoporosis());
    let prior = f.prior_fragility >= 1 || f.prior_vertebral >= 1;
    if (prior && !on_therapy) || f.adherence == crate::request::Adherence::Poor {
        factors.push("irregular_antiosteoporosis_therapy");
    }
    if p.and_then(|p| p.cement_leakage.as_ref())
        .is_some_and(|l| l.contains(&CementLeakage::Intradiscal))
    {
        factors.push("intradiscal_cement_leakage");
    }
    if f.glucocorticoid {
        factors.push("glucocorticoid_use");
    }
    if t.plan.is_augmentation() && t.per_level.len() >= 2 {
        factors.push("multiple_treated_levels");
    }
    let adjacent_tier = tier(
        factors.len(),
        th.adjacent_tier_moderate_min.value,
        th.adjacent_tier_high_min.value,
    );
    out.recommend("risk.adjacent_fracture");

    // Literature-derived estimate: baseline odds × the pooled OR of each present factor that has
    // one. The ORs come from different models and are not adjusted for each other (reference §7).
    let baseline = th.adjacent_baseline_risk.value;
    let mut odds = baseline / (1.0 - baseline);
    let mut contributions = Vec::new();
    for or in &k.adjacent_odds_ratios {
        if factors.contains(&or.factor.as_str()) {
            odds *= or.odds_ratio;
            contributions.push(RiskContribution {
                factor: or.factor.clone(),
                odds_ratio: or.odds_ratio,
                sources: or.sources.clone(),
            });
        }
    }
    let estimate = ((odds / (1.0 + odds)) * 1000.0).round() / 1000.0;
    out.recommend("risk.adjacent_estimate");
    out.explain(
        "risks.adjacent_fracture.tier",
        "6.1",
        &[("factors", json!(factors)), ("count", json!(factors.len()))],
        Outcome::Applied,
        Some(json!(adjacent_tier)),
    );

    let cement_leakage = if t.plan.is_augmentation() {
        let mut worst: Option<(Vec<&'static str>, crate::request::Level)> = None;
        for lp in &t.per_level {
            let Some(fr) = f.fractures.iter().find(|fr| fr.level == lp.level) else {
                continue;
            };
            let input = &f.req.fractures[fr.index];
            let mut lf: Vec<&'static str> = Vec::new();
            if input.anterior_cortex_breach == Some(true) {
                lf.push("cortical_breach");
            }
            if fr.cleft {
                lf.push("intravertebral_cleft");
            }
            if fr.genant_grade == Some(3) {
                lf.push("genant_grade_3");
            }
            if fr.wall == PosteriorWall::Involved {
                lf.push("posterior_wall_involved");
            }
            if t.plan == Plan::Vertebroplasty {
                lf.push("vertebroplasty");
            }
            let (_, hi) = cement_range(f, lp.level.is_thoracic());
            if p.is_some_and(|p| p.level == lp.level && p.cement_volume_ml.is_some_and(|v| v > hi))
            {
                lf.push("cement_volume_above_range");
            }
            if worst.as_ref().is_none_or(|(w, _)| lf.len() > w.len()) {
                worst = Some((lf, lp.level));
            }
        }
        worst.map(|(lf, level)| {
            out.recommend("risk.cement_leakage");
            CementLeakageRisk {
                tier: tier(
                    lf.len(),
                    th.leakage_tier_moderate_min.value,
                    th.leakage_tier_high_min.value,
                ),
                factors: lf.into_iter().map(str::to_owned).collect(),
                level,
            }
        })
    } else {
        None
    };

    Risks {
        adjacent_fracture: Some(AdjacentFractureRisk {
            tier: adjacent_tier,
            factors: factors.into_iter().map(str::to_owned).collect(),
            // r3 placeholder (11.13): set by the revision-3 rules.
            factor_tier: adjacent_tier,
            estimate: Some(estimate),
            estimate_basis: Some(RiskEstimateBasis {
                method: "literature_derived".into(),
                baseline,
                baseline_sources: th.adjacent_baseline_risk.sources.clone(),
                contributions,
                time_horizon_months: None,
                follow_up: "variable_pooled".into(),
                excluded_factors: Vec::new(),
            }),
        }),
        // r3 placeholders (11.14, 11.15): set by the revision-3 rules.
        imminent_fracture: None,
        very_high_fracture_risk: crate::report::VeryHighRisk {
            flag: false,
            criteria: Vec::new(),
            unverified_criteria_met: Vec::new(),
        },
        cement_leakage,
    }
}
