//! Hand-built reports for the renderer's tests: typical cases plus one that exercises every
//! optional part, and generators that walk every value of the closed enumerations.

use std::collections::BTreeMap;

use ovcf_core::date::Date;
use ovcf_core::report::*;
use ovcf_core::request::{Drug, FindingMethod, FindingSource, Level, RiskTool, RiskToolResult};

pub fn date(s: &str) -> Date {
    Date::parse(s).unwrap_or_else(|| panic!("bad fixture date {s}"))
}

pub fn text(zh: &str, en: &str) -> Text {
    Text {
        zh: zh.to_owned().into(),
        en: en.to_owned().into(),
    }
}

fn of_known(points: i32, interpretation: OfInterpretation) -> OfScore {
    OfScore {
        points: Some(points),
        min_points: points,
        max_points: points,
        items: vec![
            OfScoreItem {
                item: "morphology".into(),
                points: Some(4),
                status: OfItemStatus::Scored,
                range: None,
            },
            OfScoreItem {
                item: "pain".into(),
                points: Some(1),
                status: OfItemStatus::Scored,
                range: None,
            },
        ],
        interpretation,
        variant: "ao_spine_dgou_modified".into(),
    }
}

fn of_unknown() -> OfScore {
    OfScore {
        points: None,
        min_points: 3,
        max_points: 9,
        items: vec![
            OfScoreItem {
                item: "morphology".into(),
                points: None,
                status: OfItemStatus::Unknown,
                range: Some([2, 10]),
            },
            OfScoreItem {
                item: "mobilisation".into(),
                points: None,
                status: OfItemStatus::Unknown,
                range: Some([-1, 1]),
            },
            OfScoreItem {
                item: "brand_new_item".into(),
                points: None,
                status: OfItemStatus::Unknown,
                range: None,
            },
        ],
        interpretation: OfInterpretation::Undetermined,
        variant: "ao_spine_dgou_modified".into(),
    }
}

fn fracture(level: Level) -> FractureFinding {
    FractureFinding {
        level,
        height_loss_pct: Some(35.185),
        genant_grade: Some(2),
        morphology: Some(Morphology::Wedge),
        acuity: Acuity::Acute,
        marrow_edema: Some(true),
        suspected_pathological: false,
        height_loss_mm: Some(9.5),
        unhealed: Some(true),
        class: FractureClass::Candidate,
        treated: false,
        of_score: of_known(5, OfInterpretation::Conservative),
        finding_source: None,
    }
}

fn rec(
    id: &str,
    zh: &str,
    en: &str,
    q: Option<Quality>,
    s: Option<u8>,
    src: &[&str],
) -> Recommendation {
    Recommendation {
        id: id.into(),
        text: text(zh, en),
        quality: q,
        strength: s,
        sources: src.iter().map(|s| (*s).to_owned().into()).collect(),
        conflicting_evidence: Vec::new(),
        provisional: false,
    }
}

fn fu(as_of: Date, months: u32, items: &[FollowUpItem]) -> FollowUp {
    FollowUp {
        at_months: months,
        items: items.to_vec(),
        from: as_of,
        due: as_of.add_months(months as i32),
    }
}

fn explanation(
    decision: &str,
    rule: &str,
    outcome: Outcome,
    facts: &[(&str, serde_json::Value)],
) -> Explanation {
    Explanation {
        decision: decision.into(),
        rule: rule.into(),
        facts: facts
            .iter()
            .map(|(k, v)| ((*k).to_owned().into(), v.clone()))
            .collect(),
        outcome,
        value: None,
    }
}

/// 68-year-old woman, acute painful L1 wedge fracture, fit: kyphoplasty.
pub fn pkp_l1() -> AssessmentReport {
    let as_of = date("2026-11-24");
    AssessmentReport {
        engine_version: "0.1.0".into(),
        knowledge_version: "kb-0123456789ab".into(),
        as_of,
        phase: "initial".into(),
        fractures: vec![fracture(Level::L1)],
        bone_density: BoneDensityFinding {
            dxa_category: Some(DxaCategory::Osteoporosis),
            lowest_t_score: Some(-2.9),
            qct_category: None,
            diagnosis: Some(Diagnosis::SevereOsteoporosis),
            ct_category: None,
            lowest_t_site: Some("lumbar_spine".into()),
        },
        treatment: Treatment {
            plan: Plan::Kyphoplasty,
            alternative: Some(Plan::Vertebroplasty),
            per_level: vec![LevelPlan {
                level: Level::L1,
                approach: Some(Approach::Unilateral),
                cement: Some(CementPlan {
                    min_ml: 4.0,
                    max_ml: 7.0,
                    max_fill_fraction: 0.3,
                }),
            }],
            techniques: vec![Technique::Eggshell],
            workup: Vec::new(),
            missing: Vec::new(),
        },
        perioperative: Perioperative {
            mobilize_within_hours: Some(24.0),
            bed_rest_max_days: None,
            brace: Brace::SoftOrDynamic,
            analgesia: vec![
                Analgesic {
                    drug: Drug::Paracetamol,
                    max_days: None,
                },
                Analgesic {
                    drug: Drug::Nsaid,
                    max_days: Some(21),
                },
            ],
            avoid: Vec::new(),
            avoid_reasons: BTreeMap::new(),
        },
        pharmacotherapy: Pharmacotherapy {
            recommended: vec![Drug::ZoledronicAcid, Drug::CalciumVitaminD],
            avoid: Vec::new(),
            start: StartTiming::Now,
            deferred_reason: None,
            start_date: None,
            max_duration_months: BTreeMap::new(),
            then: Vec::new(),
        },
        risks: Risks {
            adjacent_fracture: AdjacentFractureRisk {
                tier: Tier::Low,
                factors: vec!["female".into()],
                estimate: None,
                estimate_basis: None,
            },
            cement_leakage: Some(CementLeakageRisk {
                tier: Tier::Low,
                factors: Vec::new(),
                level: Level::L1,
            }),
        },
        follow_up: vec![
            fu(
                as_of,
                3,
                &[
                    FollowUpItem::ClinicalReview,
                    FollowUpItem::Radiograph,
                    FollowUpItem::BoneTurnoverMarkers,
                ],
            ),
            fu(
                as_of,
                6,
                &[FollowUpItem::ClinicalReview, FollowUpItem::Radiograph],
            ),
            fu(
                as_of,
                12,
                &[
                    FollowUpItem::ClinicalReview,
                    FollowUpItem::Radiograph,
                    FollowUpItem::Dxa,
                ],
            ),
        ],
        procedure_checks: None,
        risk_tools: Vec::new(),
        alerts: vec![Alert {
            code: "no_antiosteoporosis_therapy".into(),
            severity: Severity::Warning,
            message: text(
                "骨折后尚未接受抗骨质疏松治疗：请开始治疗。",
                "No anti-osteoporosis therapy after a fragility fracture: start treatment.",
            ),
            recommendation_ids: vec!["drug_after_fracture".into()],
        }],
        recommendations: vec![
            rec(
                "pkp_fit",
                "适合手术的急性疼痛性骨折可行 PKP。",
                "Kyphoplasty for an acute painful fracture in a fit patient.",
                Some(Quality::B),
                Some(1),
                &["S1"],
            ),
            rec(
                "drug_after_fracture",
                "脆性骨折后应开始抗骨质疏松治疗。",
                "Start anti-osteoporosis therapy after a fragility fracture.",
                Some(Quality::A),
                Some(1),
                &["S2"],
            ),
        ],
        explanation: vec![explanation(
            "treatment.plan",
            "3.2#5",
            Outcome::Applied,
            &[
                ("class", serde_json::json!("candidate")),
                ("surgical_tolerance", serde_json::json!("good")),
            ],
        )],
        inputs_assumed: Vec::new(),
    }
}

/// Suspected pathological L3 fracture: further work-up, drugs deferred.
pub fn workup_l3() -> AssessmentReport {
    let mut r = pkp_l1();
    let mut f = fracture(Level::L3);
    f.suspected_pathological = true;
    f.class = FractureClass::Excluded;
    f.morphology = Some(Morphology::Crush);
    f.marrow_edema = None;
    f.acuity = Acuity::Unknown;
    f.genant_grade = None;
    f.height_loss_pct = None;
    f.height_loss_mm = None;
    f.of_score = of_unknown();
    r.fractures = vec![f];
    r.bone_density = BoneDensityFinding {
        dxa_category: None,
        lowest_t_score: None,
        qct_category: None,
        diagnosis: None,
        ct_category: None,
        lowest_t_site: None,
    };
    r.treatment = Treatment {
        plan: Plan::FurtherWorkup,
        alternative: None,
        per_level: Vec::new(),
        techniques: Vec::new(),
        workup: vec![Workup::Mri, Workup::Biopsy, Workup::OncologyWorkup],
        missing: vec!["bone_density.dxa".into()],
    };
    r.perioperative.mobilize_within_hours = None;
    r.perioperative.bed_rest_max_days = Some(3.0);
    r.perioperative.brace = Brace::None;
    r.pharmacotherapy = Pharmacotherapy {
        recommended: Vec::new(),
        avoid: Vec::new(),
        start: StartTiming::Deferred,
        deferred_reason: Some(DeferredReason::PathologyWorkup),
        start_date: None,
        max_duration_months: BTreeMap::new(),
        then: Vec::new(),
    };
    r.risks.cement_leakage = None;
    r.follow_up = Vec::new();
    r.alerts = vec![Alert {
        code: "suspected_pathological_fracture".into(),
        severity: Severity::Critical,
        message: text(
            "疑似病理性骨折：在排除肿瘤前不行椎体强化。",
            "Suspected pathological fracture: no augmentation until malignancy is excluded.",
        ),
        recommendation_ids: Vec::new(),
    }];
    r.recommendations = vec![rec(
        "pathology_workup",
        "疑似病理性骨折需 MRI 与活检。",
        "A suspected pathological fracture needs MRI and biopsy.",
        None,
        None,
        &["S3"],
    )];
    r.explanation = Vec::new();
    r.inputs_assumed = vec![InputAssumed {
        path: "fractures[0].posterior_wall".into(),
        assumption: "treated as unknown".into(),
        code: "treated_as_unknown".into(),
        value: None,
    }];
    r
}

/// Every optional part at once: post-procedure review, three severities in the wrong order, AI
/// provenance, an unknown OF item, an estimate with contributions, procedure checks, risk tools,
/// conflicting evidence, the decision trace, and HTML-hostile text.
pub fn kitchen_sink() -> AssessmentReport {
    let as_of = date("2027-01-10");
    let mut r = pkp_l1();
    r.as_of = as_of;
    r.phase = "post_procedure".into();
    let mut t12 = fracture(Level::T12);
    t12.treated = true;
    t12.class = FractureClass::Treated;
    t12.finding_source = Some(FindingSource {
        method: FindingMethod::Ai,
        device: Some("SpineScan <AI>".into()),
        version: Some("2.3".into()),
        confidence: Some(0.91),
    });
    let mut l2 = fracture(Level::L2);
    l2.acuity = Acuity::Chronic;
    l2.marrow_edema = Some(false);
    l2.morphology = Some(Morphology::Biconcave);
    l2.genant_grade = Some(1);
    l2.height_loss_pct = Some(22.0);
    l2.height_loss_mm = None;
    l2.class = FractureClass::NotIndicated;
    l2.of_score = of_unknown();
    r.fractures = vec![t12, l2];
    r.bone_density = BoneDensityFinding {
        dxa_category: Some(DxaCategory::Osteopenia),
        lowest_t_score: Some(-3.2),
        qct_category: Some(QctCategory::Osteoporosis),
        diagnosis: Some(Diagnosis::Osteoporosis),
        ct_category: Some(CtCategory::Indeterminate),
        lowest_t_site: Some("femoral_neck".into()),
    };
    r.treatment = Treatment {
        plan: Plan::Vertebroplasty,
        alternative: Some(Plan::Kyphoplasty),
        per_level: vec![LevelPlan {
            level: Level::T12,
            approach: Some(Approach::Bilateral),
            cement: Some(CementPlan {
                min_ml: 3.0,
                max_ml: 5.0,
                max_fill_fraction: 0.3,
            }),
        }],
        techniques: vec![
            Technique::Eggshell,
            Technique::MeshContainer,
            Technique::LowModulusCement,
        ],
        workup: vec![Workup::QctOr3dDxa],
        missing: Vec::new(),
    };
    r.perioperative.avoid = vec![Drug::Nsaid, Drug::Calcitonin];
    r.perioperative.avoid_reasons =
        BTreeMap::from([(Drug::Nsaid, AvoidReason::RenalContraindication)]);
    r.perioperative.analgesia = vec![Analgesic {
        drug: Drug::Opioid,
        max_days: Some(7),
    }];
    r.pharmacotherapy = Pharmacotherapy {
        recommended: vec![Drug::Teriparatide, Drug::CalciumVitaminD],
        avoid: vec![
            AvoidedDrug {
                drug: Drug::Alendronate,
                reason: AvoidReason::RenalContraindication,
            },
            AvoidedDrug {
                drug: Drug::Romosozumab,
                reason: AvoidReason::RecentMiOrStroke,
            },
        ],
        start: StartTiming::Deferred,
        deferred_reason: Some(DeferredReason::PlannedTransition),
        start_date: Some(date("2027-04-10")),
        max_duration_months: BTreeMap::from([(Drug::Teriparatide, 24)]),
        then: vec![Drug::Denosumab],
    };
    r.risks = Risks {
        adjacent_fracture: AdjacentFractureRisk {
            tier: Tier::High,
            factors: vec![
                "advanced_age".into(),
                "t_score_below_minus_3".into(),
                "cement_over_30pct".into(),
                "intradiscal_cement_leakage".into(),
                "engine_added_factor".into(),
            ],
            estimate: Some(0.2345),
            estimate_basis: Some(RiskEstimateBasis {
                method: "literature_derived".into(),
                baseline: 0.12,
                baseline_sources: vec!["S4".into()],
                contributions: vec![
                    RiskContribution {
                        factor: "advanced_age".into(),
                        odds_ratio: 1.8,
                        sources: vec!["S4".into()],
                    },
                    RiskContribution {
                        factor: "intradiscal_cement_leakage".into(),
                        odds_ratio: 3.6,
                        sources: vec!["S5".into()],
                    },
                ],
            }),
        },
        cement_leakage: Some(CementLeakageRisk {
            tier: Tier::Moderate,
            factors: vec!["cortical_breach".into(), "vertebroplasty".into()],
            level: Level::T12,
        }),
    };
    r.follow_up = vec![fu(
        date("2026-12-20"),
        3,
        &[FollowUpItem::DenosumabInjection],
    )];
    r.procedure_checks = Some(ProcedureChecks {
        level: Level::T12,
        performed: true,
        cement_fill_fraction: Some(0.34),
        cement_range_ml: [3.0, 5.0],
        cement_within_range: Some(false),
        height_restoration_over_90pct: None,
    });
    r.risk_tools = vec![RiskToolResult {
        tool: RiskTool::Frax,
        version: Some("4.3".into()),
        date: Some(date("2026-10-01")),
        major_osteoporotic_10y_pct: Some(21.5),
        hip_10y_pct: Some(6.0),
        category: Some("high".into()),
    }];
    r.alerts = vec![
        Alert {
            code: "bisphosphonate_holiday_review".into(),
            severity: Severity::Info,
            message: text("请评估药物假期。", "Review a drug holiday."),
            recommendation_ids: Vec::new(),
        },
        Alert {
            code: "cement_volume_exceeds_30pct".into(),
            severity: Severity::Warning,
            message: text(
                "骨水泥量超过椎体体积的 30 %。",
                "Cement above 30 % of the vertebral body.",
            ),
            recommendation_ids: Vec::new(),
        },
        Alert {
            code: "cement_leakage_spinal_canal".into(),
            severity: Severity::Critical,
            message: text(
                "椎管内骨水泥渗漏：<script>alert(1)</script> 立即神经检查。",
                "Spinal-canal cement leakage: <script>alert(1)</script> examine now & refer.",
            ),
            recommendation_ids: Vec::new(),
        },
    ];
    let mut pvp = rec(
        "pvp_frail",
        "体弱患者可行 PVP。",
        "Vertebroplasty for a frail patient.",
        Some(Quality::C),
        None,
        &["S1"],
    );
    pvp.provisional = true;
    pvp.conflicting_evidence = vec![ConflictingEvidence {
        summary: text(
            "假手术对照试验未见获益。",
            "Sham-controlled trials found no benefit.",
        ),
        sources: vec!["S6".into()],
    }];
    r.recommendations.push(pvp);
    let mut applied = explanation(
        "treatment.plan",
        "3.3#2",
        Outcome::Applied,
        &[
            ("age", serde_json::json!(84)),
            ("frail", serde_json::json!(true)),
        ],
    );
    applied.value = Some(serde_json::json!("vertebroplasty"));
    r.explanation = vec![
        explanation(
            "treatment.plan",
            "3.2#5",
            Outcome::NotApplied,
            &[("surgical_tolerance", serde_json::json!("poor"))],
        ),
        applied,
        explanation("fractures[0].genant_grade", "1.2", Outcome::Applied, &[]),
    ];
    r.inputs_assumed = vec![InputAssumed {
        path: "patient.adherence".into(),
        assumption: "unknown (treated as not good)".into(),
        code: "adherence_unknown".into(),
        value: None,
    }];
    r
}

/// Variants of [`kitchen_sink`] that together take every value of every closed enumeration
/// the renderer turns into words.
pub fn all_variants() -> Vec<AssessmentReport> {
    let plans = [
        Plan::Conservative,
        Plan::Vertebroplasty,
        Plan::Kyphoplasty,
        Plan::SurgicalReferral,
        Plan::FurtherWorkup,
        Plan::InsufficientData,
    ];
    let classes = [
        FractureClass::Excluded,
        FractureClass::NotIndicated,
        FractureClass::Unknown,
        FractureClass::NeedsMri,
        FractureClass::NeedsCt,
        FractureClass::Candidate,
        FractureClass::Treated,
    ];
    let interpretations = [
        OfInterpretation::Conservative,
        OfInterpretation::Either,
        OfInterpretation::Surgical,
        OfInterpretation::Undetermined,
    ];
    let reasons = [
        AvoidReason::RenalContraindication,
        AvoidReason::PoorAdherence,
        AvoidReason::RecentMiOrStroke,
        AvoidReason::MaxDurationReached,
        AvoidReason::PthContraindication,
        AvoidReason::Hypocalcaemia,
        AvoidReason::CardiovascularOrBleedingRisk,
        AvoidReason::NonunionRisk,
        AvoidReason::PlannedTransition,
    ];
    let deferred = [
        DeferredReason::CalciumCorrection,
        DeferredReason::VitaminDRepletion,
        DeferredReason::HypercalcaemiaInvestigation,
        DeferredReason::PathologyWorkup,
        DeferredReason::PlannedTransition,
        DeferredReason::SpecialistReview,
    ];
    let starts = [
        StartTiming::Now,
        StartTiming::Continue,
        StartTiming::Deferred,
    ];
    let tiers = [Tier::Low, Tier::Moderate, Tier::High];
    let tools = [
        RiskTool::Frax,
        RiskTool::Qfracture,
        RiskTool::Garvan,
        RiskTool::Caroc,
    ];
    let dxa = [
        DxaCategory::Normal,
        DxaCategory::Osteopenia,
        DxaCategory::Osteoporosis,
    ];
    let qct = [
        QctCategory::Normal,
        QctCategory::Low,
        QctCategory::Osteoporosis,
    ];
    let ct = [
        CtCategory::OsteoporosisLikely,
        CtCategory::Indeterminate,
        CtCategory::OsteoporosisUnlikely,
    ];
    let n = 9;
    let mut out = Vec::new();
    for i in 0..n {
        let mut r = kitchen_sink();
        r.treatment.plan = plans[i % plans.len()];
        r.treatment.approach_all(if i % 2 == 0 {
            Approach::Unilateral
        } else {
            Approach::Bilateral
        });
        r.fractures[1].class = classes[i % classes.len()];
        r.fractures[1].of_score.interpretation = interpretations[i % interpretations.len()];
        r.fractures[0].acuity = [Acuity::Acute, Acuity::Chronic, Acuity::Unknown][i % 3];
        r.fractures[0].morphology = [
            Some(Morphology::Wedge),
            Some(Morphology::Biconcave),
            Some(Morphology::Crush),
            None,
        ][i % 4];
        r.fractures[0].marrow_edema = [Some(true), Some(false), None][i % 3];
        if let Some(s) = r.fractures[0].finding_source.as_mut() {
            s.method = [FindingMethod::Ai, FindingMethod::Manual][i % 2];
        }
        r.perioperative.brace = [Brace::SoftOrDynamic, Brace::None][i % 2];
        r.pharmacotherapy.avoid[0].reason = reasons[i % reasons.len()];
        r.pharmacotherapy.start = starts[i % starts.len()];
        r.pharmacotherapy.deferred_reason = Some(deferred[i % deferred.len()]);
        r.risks.adjacent_fracture.tier = tiers[i % tiers.len()];
        r.risk_tools[0].tool = tools[i % tools.len()];
        r.bone_density.dxa_category = Some(dxa[i % dxa.len()]);
        r.bone_density.qct_category = Some(qct[i % qct.len()]);
        r.bone_density.ct_category = Some(ct[i % ct.len()]);
        r.bone_density.diagnosis = [
            Some(Diagnosis::Osteoporosis),
            Some(Diagnosis::SevereOsteoporosis),
            None,
        ][i % 3];
        r.phase = ["initial", "post_procedure", "follow_up"][i % 3].into();
        r.recommendations[0].quality = [
            Some(Quality::A),
            Some(Quality::B),
            Some(Quality::C),
            Some(Quality::D),
            None,
        ][i % 5];
        out.push(r);
    }
    // Every drug, work-up item, technique and follow-up item in one report.
    let mut r = kitchen_sink();
    r.pharmacotherapy.recommended = ALL_DRUGS.to_vec();
    r.perioperative.avoid = ALL_DRUGS.to_vec();
    r.treatment.workup = vec![
        Workup::Mri,
        Workup::Ct,
        Workup::Biopsy,
        Workup::QctOr3dDxa,
        Workup::OncologyWorkup,
    ];
    r.follow_up = vec![FollowUp {
        at_months: 0,
        items: vec![
            FollowUpItem::ClinicalReview,
            FollowUpItem::Radiograph,
            FollowUpItem::Dxa,
            FollowUpItem::BoneTurnoverMarkers,
            FollowUpItem::DenosumabInjection,
        ],
        from: r.as_of,
        due: r.as_of,
    }];
    out.push(r);
    out.push(pkp_l1());
    out.push(workup_l3());
    out
}

pub const ALL_DRUGS: [Drug; 15] = [
    Drug::Alendronate,
    Drug::Risedronate,
    Drug::Ibandronate,
    Drug::ZoledronicAcid,
    Drug::Denosumab,
    Drug::Teriparatide,
    Drug::Abaloparatide,
    Drug::Romosozumab,
    Drug::Calcitonin,
    Drug::Nsaid,
    Drug::Cox2Inhibitor,
    Drug::Opioid,
    Drug::CalciumVitaminD,
    Drug::Glucocorticoid,
    Drug::Paracetamol,
];

trait ApproachAll {
    fn approach_all(&mut self, a: Approach);
}

impl ApproachAll for Treatment {
    fn approach_all(&mut self, a: Approach) {
        for lp in &mut self.per_level {
            lp.approach = Some(a);
        }
    }
}
