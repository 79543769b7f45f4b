//! Reports for the renderer's tests. Each starts from the engine's own report for a request
//! (`testdata/*.json`, run through `ovcf_core::assess_json`), so a new report field never needs a
//! hand-written value here; the cases then set the Revision 3 fields a rule fills (so the
//! renderer is tested whatever the engine's rules currently produce) and recompute `summary`
//! with the engine's own `Summary::of`. Plus generators that walk every value of the closed
//! enumerations.

use std::collections::BTreeMap;

use ovcf_core::date::Date;
use ovcf_core::report::*;
use ovcf_core::request::{Drug, FindingMethod, FindingSource, Level, RiskTool, RiskToolResult};

/// The engine's report for a request, with the versions fixed so snapshots change only when the
/// content does.
pub fn engine(json: &str) -> AssessmentReport {
    let mut r = ovcf_core::assess_json(json, date("2026-11-24"))
        .unwrap_or_else(|e| panic!("fixture request does not assess: {e:?}"));
    r.engine_version = "ovcf-core (fixture)".into();
    r.knowledge_version = "kb-fixture0000".into();
    r
}

/// The summary recomputed from the (edited) report, as the engine does.
pub fn finish(mut r: AssessmentReport) -> AssessmentReport {
    r.summary = Summary::of(&r);
    r
}

pub const PKP_REQUEST: &str = include_str!("testdata/pkp-fit-l1-wedge.json");
pub const REFERRAL_REQUEST: &str = include_str!("testdata/referral-neuro-retropulsion-t12.json");

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
        of_score: Some(of_known(5, OfInterpretation::Conservative)),
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
        grade_origin: q.map(|_| GradeOrigin::Guideline),
        citation_flags: Vec::new(),
    }
}

fn fu(as_of: Date, months: u32, items: &[FollowUpItem]) -> FollowUp {
    FollowUp {
        at_months: Some(months),
        items: items.to_vec(),
        from: as_of,
        due: as_of.add_months(months as i32),
        switch_to: None,
        merged_from: Vec::new(),
    }
}

fn dosing(dose: f64, unit: &str, route: Route, interval: DoseInterval, advice: &[&str]) -> Dosing {
    Dosing {
        dose: Dose::Amount(dose),
        unit: Some(unit.into()),
        route,
        interval,
        advice: advice.iter().map(|a| (*a).to_owned()).collect(),
    }
}

fn calcium_vitamin_d_dosing() -> Dosing {
    Dosing {
        dose: Dose::CalciumVitaminD {
            calcium_mg_day: 1200.0,
            vitamin_d_iu_day: 1000.0,
        },
        unit: None,
        route: Route::Oral,
        interval: DoseInterval::Daily,
        advice: vec!["supplement_dietary_shortfall_only".into()],
    }
}

fn check(
    code: PreDoseCheckCode,
    drug: Drug,
    blocking: bool,
    req: PreDoseRequirement,
) -> PreDoseCheck {
    PreDoseCheck {
        code,
        drug,
        blocking,
        requirement: req,
    }
}

fn no_precautions() -> SpinalPrecautions {
    SpinalPrecautions {
        required: false,
        measures: Vec::new(),
        until: None,
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
    let mut r = engine(PKP_REQUEST);
    r.fractures = vec![fracture(Level::L1)];
    r.bone_density = BoneDensityFinding {
        dxa_category: Some(DxaCategory::Osteoporosis),
        lowest_t_score: Some(-2.9),
        qct_category: None,
        diagnosis: Some(Diagnosis::SevereOsteoporosis),
        ct_category: None,
        lowest_t_site: Some("lumbar_spine".into()),
    };
    r.treatment = Treatment {
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
        urgency: None,
        urgent_actions: Vec::new(),
        corticosteroid: None,
        timing: Some(AugmentationTiming::ClinicianDecision),
        of_score_agreement: OfScoreAgreement::Agrees,
        of_score_disagreeing_levels: Vec::new(),
        treated_levels: Vec::new(),
    };
    r.perioperative = Perioperative {
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
        spinal_precautions: no_precautions(),
        mobilisation: MobilisationPlan::EarlyAfterAugmentation,
        bed_rest_until: None,
        post_procedure_day: None,
        context: PeriopContext::PreProcedure,
        adjuncts: vec![Adjunct {
            code: AdjunctCode::Ppi,
            with: "nsaid".into(),
        }],
    };
    r.pharmacotherapy = Pharmacotherapy {
        recommended: vec![Drug::ZoledronicAcid, Drug::CalciumVitaminD],
        avoid: Vec::new(),
        start: StartTiming::AfterChecks,
        deferred_reason: None,
        start_date: None,
        max_duration_months: BTreeMap::new(),
        then: Vec::new(),
        renal_function: RenalFunction {
            measure: None,
            value: None,
            unit: None,
        },
        pre_dose_checks: vec![
            check(
                PreDoseCheckCode::RenalFunction,
                Drug::ZoledronicAcid,
                true,
                PreDoseRequirement::CrclAtLeast35,
            ),
            check(
                PreDoseCheckCode::SerumCalcium,
                Drug::ZoledronicAcid,
                true,
                PreDoseRequirement::CalciumAtLeast2_10,
            ),
            check(
                PreDoseCheckCode::VitaminD25oh,
                Drug::ZoledronicAcid,
                false,
                PreDoseRequirement::VitaminDAtLeast50,
            ),
            check(
                PreDoseCheckCode::DentalReview,
                Drug::ZoledronicAcid,
                false,
                PreDoseRequirement::OralExamination,
            ),
        ],
        monitoring: Vec::new(),
        dosing: BTreeMap::from([
            (
                Drug::ZoledronicAcid,
                dosing(
                    5.0,
                    "mg",
                    Route::Intravenous,
                    DoseInterval::Every12Months,
                    &["infuse_over_at_least_15_min", "hydrate_before_infusion"],
                ),
            ),
            (Drug::CalciumVitaminD, calcium_vitamin_d_dosing()),
        ]),
        anabolic_options: Vec::new(),
        course_end: None,
        exit_plan: None,
    };
    r.risks = Risks {
        adjacent_fracture: Some(AdjacentFractureRisk {
            tier: Tier::High,
            factors: vec![
                "female".into(),
                "recent_vertebral_fracture_untreated".into(),
            ],
            factor_tier: Tier::Low,
            estimate: None,
            estimate_basis: None,
        }),
        imminent_fracture: Some(ImminentFracture {
            applies: true,
            new_vertebral_fracture_1y_pct: Some(19.2),
            ci_pct: Some([13.6, 24.8]),
            horizon_months: Some(12),
            population: Some("untreated_after_incident_vertebral_fracture".into()),
            sources: Some(vec!["S51".into(), "S29".into()]),
        }),
        very_high_fracture_risk: VeryHighRisk {
            flag: false,
            criteria: Vec::new(),
            unverified_criteria_met: vec![UnverifiedCriterion::RecentFractureWithin12Months],
        },
        cement_leakage: Some(CementLeakageRisk {
            tier: Tier::Low,
            factors: Vec::new(),
            level: Level::L1,
        }),
    };
    r.follow_up = vec![
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
    ];
    r.care_bundle = vec![
        CareItem {
            code: CareCode::FallsRiskAssessment,
            recommendation_id: "care.falls".into(),
            due: as_of,
            labs: None,
        },
        CareItem {
            code: CareCode::FlsReferral,
            recommendation_id: "care.fls".into(),
            due: as_of,
            labs: None,
        },
        CareItem {
            code: CareCode::PhysiotherapyStrengthBalance,
            recommendation_id: "care.exercise".into(),
            due: date("2027-03-06"),
            labs: None,
        },
        CareItem {
            code: CareCode::SecondaryCauseScreen,
            recommendation_id: "care.secondary_causes".into(),
            due: as_of,
            labs: Some(vec![
                SecondaryCauseLab::FullBloodCount,
                SecondaryCauseLab::EsrOrCrp,
                SecondaryCauseLab::CalciumAlbumin,
                SecondaryCauseLab::RenalFunction,
                SecondaryCauseLab::VitaminD25oh,
                SecondaryCauseLab::Pth,
            ]),
        },
    ];
    r.procedure_checks = None;
    r.risk_tools = Vec::new();
    r.alerts = vec![Alert {
        code: "pre_dose_checks_pending".into(),
        severity: Severity::Warning,
        message: text(
            "肾功能和血钙结果回报且在允许范围内后开始唑来膦酸。",
            "Start zoledronic acid once renal function and serum calcium are known and within limits.",
        ),
        recommendation_ids: vec!["drug.pre_dose_checks".into()],
    }];
    let mut mob = rec(
        "periop.early_mobilisation",
        "术后 24 小时内下地活动。",
        "Mobilise within 24 h of augmentation.",
        Some(Quality::A),
        Some(1),
        &["seed"],
    );
    mob.grade_origin = Some(GradeOrigin::SeedReview);
    mob.citation_flags = vec![CitationFlag {
        source: "seed:[28]".into(),
        flag: CitationFlagCode::SingleStudy,
        note_code: "one_comparative_study_design_unverified".into(),
    }];
    r.recommendations = vec![
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
            &["S2", "decision-rules-v1"],
        ),
        mob,
    ];
    let mut applied = explanation(
        "treatment.plan",
        "3.2#5",
        Outcome::Applied,
        &[
            ("class", serde_json::json!("candidate")),
            ("surgical_tolerance", serde_json::json!("good")),
        ],
    );
    applied.value = Some(serde_json::json!("kyphoplasty"));
    r.explanation = vec![applied];
    r.inputs_assumed = Vec::new();
    finish(r)
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
    f.of_score = None;
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
        missing: vec!["bone_density.dxa".into(), "fractures[0].mri.stir".into()],
        urgency: None,
        urgent_actions: Vec::new(),
        corticosteroid: None,
        timing: None,
        of_score_agreement: OfScoreAgreement::NotAssessable,
        of_score_disagreeing_levels: Vec::new(),
        treated_levels: Vec::new(),
    };
    r.perioperative.mobilize_within_hours = None;
    r.perioperative.bed_rest_max_days = Some(5.0);
    r.perioperative.bed_rest_until = Some(date("2026-11-27"));
    r.perioperative.mobilisation = MobilisationPlan::AsTolerated;
    r.perioperative.context = PeriopContext::NonOperative;
    r.perioperative.brace = Brace::None;
    r.perioperative.analgesia = vec![Analgesic {
        drug: Drug::Paracetamol,
        max_days: None,
    }];
    r.perioperative.adjuncts = Vec::new();
    r.perioperative.avoid = vec![Drug::Calcitonin, Drug::Nsaid];
    r.perioperative.avoid_reasons = BTreeMap::from([
        (Drug::Calcitonin, AvoidReason::MalignancySuspected),
        (Drug::Nsaid, AvoidReason::ProcedurePending),
    ]);
    r.pharmacotherapy = Pharmacotherapy {
        recommended: vec![Drug::CalciumVitaminD],
        avoid: Vec::new(),
        start: StartTiming::Deferred,
        deferred_reason: Some(DeferredReason::PathologyWorkup),
        start_date: None,
        max_duration_months: BTreeMap::new(),
        then: Vec::new(),
        renal_function: RenalFunction {
            measure: Some(RenalMeasureCode::Crcl),
            value: Some(34.0),
            unit: Some("mL/min".into()),
        },
        pre_dose_checks: vec![check(
            PreDoseCheckCode::SerumCalcium,
            Drug::CalciumVitaminD,
            true,
            PreDoseRequirement::ExcludeHypercalcaemia,
        )],
        monitoring: Vec::new(),
        dosing: BTreeMap::from([(Drug::CalciumVitaminD, calcium_vitamin_d_dosing())]),
        anabolic_options: Vec::new(),
        course_end: None,
        exit_plan: None,
    };
    r.risks.cement_leakage = None;
    r.risks.adjacent_fracture = None;
    r.risks.imminent_fracture = None;
    r.risks.very_high_fracture_risk = VeryHighRisk {
        flag: false,
        criteria: Vec::new(),
        unverified_criteria_met: Vec::new(),
    };
    r.follow_up = Vec::new();
    r.care_bundle.retain(|c| {
        matches!(
            c.code,
            CareCode::FallsRiskAssessment | CareCode::SecondaryCauseScreen
        )
    });
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
    finish(r)
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
    l2.of_score = Some(of_unknown());
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
        workup: vec![Workup::QctOr3dDxa, Workup::Ct],
        missing: Vec::new(),
        urgency: None,
        urgent_actions: vec![UrgentAction::NeurologicalExamAndUrgentSpinalReview],
        corticosteroid: None,
        timing: Some(AugmentationTiming::ClinicianDecision),
        of_score_agreement: OfScoreAgreement::Disagrees,
        of_score_disagreeing_levels: vec![Level::T12],
        treated_levels: vec![TreatedLevel {
            level: Level::T12,
            procedure: Plan::Vertebroplasty,
            date: date("2027-01-01"),
            post_procedure_day: 9,
        }],
    };
    r.perioperative.avoid = vec![Drug::Nsaid, Drug::Calcitonin];
    r.perioperative.avoid_reasons = BTreeMap::from([
        (Drug::Nsaid, AvoidReason::RenalContraindication),
        (Drug::Calcitonin, AvoidReason::ProcedurePending),
    ]);
    r.perioperative.analgesia = vec![Analgesic {
        drug: Drug::Opioid,
        max_days: Some(7),
    }];
    r.perioperative.mobilize_within_hours = None;
    r.perioperative.mobilisation = MobilisationPlan::Continue;
    r.perioperative.post_procedure_day = Some(9);
    r.perioperative.context = PeriopContext::PostProcedure;
    r.perioperative.adjuncts = vec![Adjunct {
        code: AdjunctCode::Laxative,
        with: "opioid".into(),
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
        max_duration_months: BTreeMap::from([(Drug::Teriparatide, 2)]),
        then: vec![Drug::Denosumab],
        renal_function: RenalFunction {
            measure: Some(RenalMeasureCode::Egfr),
            value: Some(28.0),
            unit: Some("mL/min/1.73 m²".into()),
        },
        pre_dose_checks: vec![check(
            PreDoseCheckCode::SerumCalcium,
            Drug::Teriparatide,
            true,
            PreDoseRequirement::CalciumAtMost2_60,
        )],
        monitoring: vec![Monitoring::CalciumWeeklyFirstMonthThenMonthly],
        dosing: BTreeMap::from([
            (
                Drug::Teriparatide,
                dosing(
                    20.0,
                    "µg",
                    Route::Subcutaneous,
                    DoseInterval::Daily,
                    &["cumulative_pth_max_24_months"],
                ),
            ),
            (
                Drug::Denosumab,
                dosing(
                    60.0,
                    "mg",
                    Route::Subcutaneous,
                    DoseInterval::Every6Months,
                    &["never_stop_without_transition"],
                ),
            ),
            (Drug::CalciumVitaminD, calcium_vitamin_d_dosing()),
        ]),
        anabolic_options: vec![Drug::Abaloparatide],
        course_end: Some(CourseEnd {
            drug: Drug::Teriparatide,
            date: Some(date("2027-03-10")),
            months_remaining: 2,
            switch_to: Some(Drug::Denosumab),
            from: Some(date("2025-03-10")),
            at_months: Some(24),
        }),
        exit_plan: Some(ExitPlan {
            then_drug: Some(Drug::ZoledronicAcid),
            months_after_last_dose: 6,
            btm_check_months: vec![3, 6],
        }),
    };
    r.risks = Risks {
        adjacent_fracture: Some(AdjacentFractureRisk {
            tier: Tier::High,
            factor_tier: Tier::Moderate,
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
                time_horizon_months: None,
                follow_up: "variable_pooled".into(),
                excluded_factors: vec!["advanced_age".into()],
            }),
        }),
        imminent_fracture: Some(ImminentFracture {
            applies: false,
            new_vertebral_fracture_1y_pct: None,
            ci_pct: None,
            horizon_months: None,
            population: None,
            sources: None,
        }),
        very_high_fracture_risk: VeryHighRisk {
            flag: true,
            criteria: vec![
                VeryHighCriterion::MultipleVertebralFractures,
                VeryHighCriterion::TScoreBelowMinus3,
            ],
            unverified_criteria_met: vec![
                UnverifiedCriterion::RecentVertebralFractureWithin24Months,
            ],
        },
        cement_leakage: Some(CementLeakageRisk {
            tier: Tier::Moderate,
            factors: vec!["cortical_breach".into(), "vertebroplasty".into()],
            level: Level::T12,
        }),
    };
    let mut visit = fu(
        date("2026-12-20"),
        3,
        &[
            FollowUpItem::ClinicalReview,
            FollowUpItem::DenosumabInjection,
        ],
    );
    visit.merged_from = vec![MergedEntry {
        from: date("2026-12-28"),
        at_months: Some(3),
        due: date("2027-03-28"),
    }];
    r.follow_up = vec![
        visit,
        FollowUp {
            at_months: Some(24),
            items: vec![FollowUpItem::PthCourseEnd],
            from: date("2025-03-10"),
            due: date("2027-03-10"),
            switch_to: Some(Drug::Denosumab),
            merged_from: Vec::new(),
        },
    ];
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
    finish(r)
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
    let mobilisations = [
        MobilisationPlan::EarlyAfterAugmentation,
        MobilisationPlan::Continue,
        MobilisationPlan::ProgressiveAfterBedRest,
        MobilisationPlan::Progressive,
        MobilisationPlan::AsTolerated,
        MobilisationPlan::SpinalPrecautions,
    ];
    let contexts = [
        PeriopContext::PreProcedure,
        PeriopContext::PostProcedure,
        PeriopContext::AwaitingSurgicalReview,
        PeriopContext::NonOperative,
    ];
    let agreements = [
        OfScoreAgreement::Agrees,
        OfScoreAgreement::Disagrees,
        OfScoreAgreement::NotAssessable,
    ];
    let reasons = [
        AvoidReason::MalignancySuspected,
        AvoidReason::ProcedurePending,
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
        DeferredReason::CkdMbdWorkup,
        DeferredReason::SurgicalDecision,
    ];
    let starts = [
        StartTiming::Now,
        StartTiming::Continue,
        StartTiming::Deferred,
        StartTiming::AfterChecks,
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
    let n = 11;
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
        if let Some(of) = r.fractures[1].of_score.as_mut() {
            of.interpretation = interpretations[i % interpretations.len()];
        }
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
        r.perioperative.brace = [Brace::SoftOrDynamic, Brace::None, Brace::PerSurgeon][i % 3];
        r.pharmacotherapy.avoid[0].reason = reasons[i % reasons.len()];
        r.pharmacotherapy.start = starts[i % starts.len()];
        r.pharmacotherapy.deferred_reason = Some(deferred[i % deferred.len()]);
        if let Some(adj) = r.risks.adjacent_fracture.as_mut() {
            adj.tier = tiers[i % tiers.len()];
            adj.factor_tier = tiers[(i + 1) % tiers.len()];
        }
        r.perioperative.mobilisation = mobilisations[i % mobilisations.len()];
        r.perioperative.context = contexts[i % contexts.len()];
        r.treatment.urgency = [None, Some(Urgency::SameDay), Some(Urgency::Urgent)][i % 3];
        r.treatment.of_score_agreement = agreements[i % agreements.len()];
        r.recommendations[0].grade_origin = [
            Some(GradeOrigin::SeedReview),
            Some(GradeOrigin::Guideline),
            None,
        ][i % 3];
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
        out.push(finish(r));
    }
    // Every drug, work-up item, technique and follow-up item in one report, with every value of
    // the Revision 3 enumerations.
    let mut r = kitchen_sink();
    r.pharmacotherapy.recommended = ALL_DRUGS.to_vec();
    r.perioperative.avoid = ALL_DRUGS.to_vec();
    r.treatment.workup = vec![
        Workup::Mri,
        Workup::Ct,
        Workup::Biopsy,
        Workup::QctOr3dDxa,
        Workup::OncologyWorkup,
        Workup::WholeSpineMri,
    ];
    r.follow_up = vec![FollowUp {
        at_months: None,
        items: FollowUpItem::ALL.to_vec(),
        from: r.as_of,
        due: r.as_of,
        switch_to: Some(Drug::ZoledronicAcid),
        merged_from: Vec::new(),
    }];
    r.treatment.urgent_actions = vec![
        UrgentAction::Dexamethasone16mg,
        UrgentAction::WholeSpineMri24h,
        UrgentAction::SameDaySpinalReferral,
        UrgentAction::SpinalPrecautions,
        UrgentAction::NeurologicalExamAndUrgentSpinalReview,
    ];
    r.treatment.corticosteroid = Some(Corticosteroid {
        drug: "dexamethasone".into(),
        dose_mg: 16.0,
        route: "oral_or_parenteral_equivalent".into(),
        start: "as_soon_as_possible".into(),
        continue_: "16 mg daily until surgery or radiotherapy".into(),
        stop_if: "mscc_excluded".into(),
    });
    r.perioperative.spinal_precautions = SpinalPrecautions {
        required: true,
        measures: vec![SpinalMeasure::FlatBedRest, SpinalMeasure::LogRoll],
        until: Some(PrecautionsUntil::SpineSurgeonStabilityAssessment),
    };
    r.perioperative.adjuncts = vec![
        Adjunct {
            code: AdjunctCode::Ppi,
            with: "dexamethasone".into(),
        },
        Adjunct {
            code: AdjunctCode::Laxative,
            with: "opioid".into(),
        },
    ];
    let drug_checks = [
        (
            PreDoseCheckCode::RenalFunction,
            PreDoseRequirement::CrclAtLeast35,
        ),
        (
            PreDoseCheckCode::RenalFunction,
            PreDoseRequirement::EgfrOrCrclAtLeast30,
        ),
        (
            PreDoseCheckCode::SerumCalcium,
            PreDoseRequirement::CalciumAtLeast2_10,
        ),
        (
            PreDoseCheckCode::SerumCalcium,
            PreDoseRequirement::CalciumAtMost2_60,
        ),
        (
            PreDoseCheckCode::VitaminD25oh,
            PreDoseRequirement::VitaminDAtLeast50,
        ),
        (
            PreDoseCheckCode::CkdMbdPanel,
            PreDoseRequirement::CkdMbdSpecialistReview,
        ),
        (
            PreDoseCheckCode::DentalReview,
            PreDoseRequirement::OralExamination,
        ),
        (
            PreDoseCheckCode::SerumCalcium,
            PreDoseRequirement::ExcludeHypercalcaemia,
        ),
    ];
    r.pharmacotherapy.pre_dose_checks = drug_checks
        .iter()
        .enumerate()
        .map(|(i, (c, q))| check(*c, Drug::Alendronate, i % 2 == 0, *q))
        .collect();
    let routes = [Route::Oral, Route::Intravenous, Route::Subcutaneous];
    let intervals = [
        DoseInterval::Every12Months,
        DoseInterval::Weekly,
        DoseInterval::Monthly,
        DoseInterval::Every6Months,
        DoseInterval::Daily,
        DoseInterval::MonthlyX12,
    ];
    r.pharmacotherapy.dosing = ALL_DRUGS
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                *d,
                dosing(
                    1.0 + i as f64,
                    "mg",
                    routes[i % routes.len()],
                    intervals[i % intervals.len()],
                    &[
                        "upright_60_min_fasting",
                        "then_antiresorptive",
                        "new_advice_code",
                    ],
                ),
            )
        })
        .collect();
    r.pharmacotherapy.exit_plan = Some(ExitPlan {
        then_drug: None,
        months_after_last_dose: 6,
        btm_check_months: vec![3, 6],
    });
    r.pharmacotherapy.course_end = Some(CourseEnd {
        drug: Drug::Romosozumab,
        date: None,
        months_remaining: 12,
        switch_to: None,
        from: None,
        at_months: None,
    });
    r.risks.very_high_fracture_risk = VeryHighRisk {
        flag: true,
        criteria: vec![
            VeryHighCriterion::MultipleVertebralFractures,
            VeryHighCriterion::RecentVertebralFractureAge65TLeMinus2_5,
            VeryHighCriterion::TScoreBelowMinus3,
            VeryHighCriterion::FractureOnBisphosphonate,
        ],
        unverified_criteria_met: vec![
            UnverifiedCriterion::RecentFractureWithin12Months,
            UnverifiedCriterion::RecentVertebralFractureWithin24Months,
        ],
    };
    r.care_bundle = [
        CareCode::FallsRiskAssessment,
        CareCode::FlsReferral,
        CareCode::PhysiotherapyStrengthBalance,
        CareCode::SecondaryCauseScreen,
        CareCode::VteRiskAssessment,
    ]
    .iter()
    .map(|c| CareItem {
        code: *c,
        recommendation_id: "care.x".into(),
        due: r.as_of,
        labs: (*c == CareCode::SecondaryCauseScreen).then(|| {
            vec![
                SecondaryCauseLab::FullBloodCount,
                SecondaryCauseLab::EsrOrCrp,
                SecondaryCauseLab::CalciumAlbumin,
                SecondaryCauseLab::Phosphate,
                SecondaryCauseLab::AlkalinePhosphatase,
                SecondaryCauseLab::RenalFunction,
                SecondaryCauseLab::LiverTransaminases,
                SecondaryCauseLab::Tsh,
                SecondaryCauseLab::SerumProteinElectrophoresis,
                SecondaryCauseLab::SerumFreeLightChains,
                SecondaryCauseLab::VitaminD25oh,
                SecondaryCauseLab::Pth,
                SecondaryCauseLab::Magnesium,
                SecondaryCauseLab::Testosterone,
            ]
        }),
    })
    .collect();
    r.recommendations[0].citation_flags = [
        CitationFlagCode::DoesNotSupport,
        CitationFlagCode::SingleStudy,
        CitationFlagCode::ObservationalGradedHigh,
        CitationFlagCode::SeedOnlyFigure,
        CitationFlagCode::UnverifiedDesign,
    ]
    .iter()
    .map(|f| CitationFlag {
        source: "seed:[38]".into(),
        flag: *f,
        note_code: "refracture_meta_analysis_no_volume_ranges".into(),
    })
    .collect();
    let mut alerts = r.alerts.clone();
    for code in [
        "mscc_suspected",
        "ckd_mbd_workup",
        "denosumab_overdue",
        "code_without_a_word",
    ] {
        alerts.push(Alert {
            code: code.into(),
            severity: Severity::Critical,
            message: text("新警示。", "A new alert."),
            recommendation_ids: Vec::new(),
        });
    }
    r.alerts = alerts;
    out.push(finish(r));
    out.push(pkp_l1());
    out.push(workup_l3());
    out.push(referral());
    out
}

/// The engine's report for the neurological-deficit referral, with the spinal-precautions bundle
/// of rule 11.6 set as the rule sets it.
pub fn referral() -> AssessmentReport {
    let mut r = engine(REFERRAL_REQUEST);
    r.treatment.urgency = Some(Urgency::SameDay);
    r.treatment.urgent_actions = vec![
        UrgentAction::SameDaySpinalReferral,
        UrgentAction::SpinalPrecautions,
    ];
    r.perioperative.spinal_precautions = SpinalPrecautions {
        required: true,
        measures: vec![SpinalMeasure::FlatBedRest, SpinalMeasure::LogRoll],
        until: Some(PrecautionsUntil::SpineSurgeonStabilityAssessment),
    };
    r.perioperative.brace = Brace::PerSurgeon;
    r.perioperative.mobilize_within_hours = None;
    r.perioperative.bed_rest_max_days = None;
    r.perioperative.mobilisation = MobilisationPlan::SpinalPrecautions;
    r.perioperative.context = PeriopContext::AwaitingSurgicalReview;
    finish(r)
}

pub const ALL_DRUGS: [Drug; 15] = Drug::ALL;

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
