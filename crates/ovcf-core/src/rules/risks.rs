//! Risks: adjacent (new) vertebral fracture, the imminent-risk statement and cement leakage
//! (decision rules §6, 11.9, 11.13, 11.14, 11.28.4).

use serde_json::json;

use crate::engine::Out;
use crate::facts::Facts;
use crate::knowledge::Knowledge;
use crate::report::{
    AdjacentFractureRisk, CementLeakageRisk, ImminentFracture, Outcome, Plan, RiskContribution,
    RiskEstimateBasis, Risks, Tier, Treatment,
};
use crate::request::{Adherence, CementLeakage, PosteriorWall};
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

/// Rule 11.13: `advanced_age` is left out of the OR product (its OR, Chen 2019 [S57], has an
/// unverified coding of the age variable) and listed in `estimate_basis.excluded_factors`.
const EXCLUDED_FROM_ESTIMATE: [&str; 1] = ["advanced_age"];

/// Rule 11.13's floor factor (S51): never counts toward `factor_tier` (11.28.4).
const RECENT_UNTREATED: &str = "recent_vertebral_fracture_untreated";

/// Rule 11.14: the population of Lindsay 2001 [S51].
const IMMINENT_POPULATION: &str = "untreated_after_incident_vertebral_fracture";

/// Rule 11.14: the one year of `imminent_vertebral_fracture_1y_pct`.
const IMMINENT_HORIZON_MONTHS: u32 = 12;

/// The factors of rule 6.1 that apply, in 6.1's order (11.28.4: exactly these, nothing else).
fn factors_6_1(f: &Facts<'_>) -> Vec<&'static str> {
    let th = f.th;
    let p = f.req.procedure.as_ref();
    let mut factors: Vec<&'static str> = Vec::with_capacity(10);
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
    // 11.28.22: a denosumab stopped < 7 months after its last dose counts as ongoing.
    let prior = f.prior_fragility >= 1 || f.prior_vertebral >= 1;
    if (prior && !f.on_antiosteoporosis_therapy()) || f.adherence == Adherence::Poor {
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
    factors
}

/// Rules 6.1, 11.13 and 11.28.4: factors, the count tier, the tier floor for an untreated recent
/// fracture, and the literature-derived estimate (post-PVP/PKP population only).
fn adjacent(f: &Facts<'_>, t: &Treatment, k: &Knowledge, out: &mut Out) -> AdjacentFractureRisk {
    let th = f.th;
    let mut factors = factors_6_1(f);
    let factor_tier = tier(
        factors.len(),
        th.adjacent_tier_moderate_min.value,
        th.adjacent_tier_high_min.value,
    );
    out.explain(
        "risks.adjacent_fracture.factor_tier",
        "6.1",
        &[("factors", json!(factors)), ("count", json!(factors.len()))],
        Outcome::Applied,
        Some(json!(factor_tier)),
    );
    let on_therapy = f.on_antiosteoporosis_therapy();
    let floor = f.recent_fracture && !on_therapy;
    let adjacent_tier = if floor {
        factors.push(RECENT_UNTREATED);
        Tier::High
    } else {
        factor_tier
    };
    out.recommend("risk.adjacent_fracture");
    out.explain(
        "risks.adjacent_fracture.tier",
        "11.13",
        &[
            ("factor_tier", json!(factor_tier)),
            ("recent_fracture", json!(f.recent_fracture)),
            ("on_antiosteoporosis_therapy", json!(on_therapy)),
        ],
        Outcome::Applied,
        Some(json!(adjacent_tier)),
    );

    // 11.13: S53 is a post-PVP/PKP population, so the estimate is given only when augmentation
    // is planned or performed.
    let performed = f.procedure.is_some_and(|p| p.performed);
    let population = t.plan.is_augmentation() || performed;
    let (estimate, estimate_basis) = if population {
        // Baseline odds × the pooled OR of each present factor that has one. The ORs come from
        // different models and are not adjusted for each other (reference §7).
        let baseline = th.adjacent_baseline_risk.value;
        let mut odds = baseline / (1.0 - baseline);
        let mut contributions = Vec::new();
        let mut excluded_factors = Vec::new();
        for or in &k.adjacent_odds_ratios {
            if !factors.contains(&or.factor.as_str()) {
                continue;
            }
            if EXCLUDED_FROM_ESTIMATE.contains(&or.factor.as_str()) {
                excluded_factors.push(or.factor.clone());
                continue;
            }
            odds *= or.odds_ratio;
            contributions.push(RiskContribution {
                factor: or.factor.clone(),
                odds_ratio: or.odds_ratio,
                sources: or.sources.clone(),
            });
        }
        let estimate = ((odds / (1.0 + odds)) * 1000.0).round() / 1000.0;
        out.recommend("risk.adjacent_estimate");
        (
            Some(estimate),
            Some(RiskEstimateBasis {
                method: "literature_derived".into(),
                baseline,
                baseline_sources: th.adjacent_baseline_risk.sources.clone(),
                contributions,
                time_horizon_months: None,
                follow_up: "variable_pooled".into(),
                excluded_factors,
            }),
        )
    } else {
        (None, None)
    };
    out.explain(
        "risks.adjacent_fracture.estimate",
        "11.13",
        &[
            ("augmentation_planned", json!(t.plan.is_augmentation())),
            ("augmentation_performed", json!(performed)),
        ],
        Outcome::Applied,
        Some(json!(estimate)),
    );
    AdjacentFractureRisk {
        tier: adjacent_tier,
        factors: factors.into_iter().map(str::to_owned).collect(),
        factor_tier,
        estimate,
        estimate_basis,
    }
}

/// Rule 11.14: the imminent-risk statement for a recent fracture (11.1).
fn imminent(f: &Facts<'_>, k: &Knowledge, out: &mut Out) -> ImminentFracture {
    let applies = f.recent_fracture;
    out.explain(
        "risks.imminent_fracture.applies",
        "11.14",
        &[("recent_fracture", json!(f.recent_fracture))],
        Outcome::Applied,
        Some(json!(applies)),
    );
    if !applies {
        return ImminentFracture {
            applies: false,
            new_vertebral_fracture_1y_pct: None,
            ci_pct: None,
            horizon_months: None,
            population: None,
            sources: None,
        };
    }
    out.recommend("risk.imminent");
    let th = &f.th.imminent_vertebral_fracture_1y_pct;
    // The statement cites what its recommendation cites (S51, S29): one declaration.
    let sources = k
        .recommendation("risk.imminent")
        .map(|r| r.sources.clone())
        .unwrap_or_else(|| th.sources.clone());
    ImminentFracture {
        applies: true,
        new_vertebral_fracture_1y_pct: Some(th.value),
        ci_pct: th.ci,
        horizon_months: Some(IMMINENT_HORIZON_MONTHS),
        population: Some(IMMINENT_POPULATION.to_owned()),
        sources: Some(sources),
    }
}

pub fn assess(f: &Facts<'_>, t: &Treatment, k: &Knowledge, out: &mut Out) -> Risks {
    let th = f.th;
    let p = f.req.procedure.as_ref();
    // 11.9: while any fracture is suspected pathological, neither statement is made.
    let (adjacent_fracture, imminent_fracture) = if f.any_pathological {
        let levels: Vec<_> = f
            .fractures
            .iter()
            .filter(|fr| fr.pathological)
            .map(|fr| fr.level)
            .collect();
        for decision in ["risks.adjacent_fracture", "risks.imminent_fracture"] {
            out.explain(
                decision,
                "11.9",
                &[("suspected_pathological_levels", json!(levels))],
                Outcome::Applied,
                Some(serde_json::Value::Null),
            );
        }
        (None, None)
    } else {
        (Some(adjacent(f, t, k, out)), Some(imminent(f, k, out)))
    };

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
        adjacent_fracture,
        imminent_fracture,
        // r3 placeholder (11.15): set by the revision-3 rules (drug helper).
        very_high_fracture_risk: crate::report::VeryHighRisk {
            flag: false,
            criteria: Vec::new(),
            unverified_criteria_met: Vec::new(),
        },
        cement_leakage,
    }
}
