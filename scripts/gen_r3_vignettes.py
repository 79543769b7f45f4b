#!/usr/bin/env python3
"""Writes the team's own revision-3 vignettes (vignettes/own/r3-*.json).

Each expectation was derived by hand from decision-rules-v1 §11 (revision 3), independently of the
engine's code, so the vignettes check the engine rather than echo it. Run from the repository root:
    python3 scripts/gen_r3_vignettes.py
"""
import copy
import json
import os

AS_OF = "2026-11-24"
OEDEMA = {"t1": "hypointense", "t2": "hyperintense", "stir": "hyperintense"}
HEALED = {"t1": "isointense", "t2": "isointense", "stir": "isointense"}

# The public pkp-fit-l1-wedge case: 68F, acute painful L1 wedge, 35.2 % loss, intact wall.
PKP = {
    "as_of": AS_OF,
    "patient": {"age": 68, "sex": "female", "neurological_deficit": "none", "asa_class": 2},
    "fractures": [{"level": "L1", "onset_days": 10, "pain_vas": 8, "imaging": ["xray", "ct", "mri"],
                   "mri": OEDEMA, "morphometry": {"anterior_mm": 17.5, "middle_mm": 20, "posterior_mm": 27},
                   "posterior_wall": "intact"}],
    "bone_density": {"dxa": {"lumbar_spine_t": -2.9, "femoral_neck_t": -2.4}},
}
# Conservative: acute L3, VAS 4 (not indicated), 80F, femoral neck T -2.8 (the public r3-egfr-29 case).
CONS = {
    "as_of": AS_OF,
    "patient": {"age": 80, "sex": "female", "neurological_deficit": "none", "adherence": "good"},
    "fractures": [{"level": "L3", "onset_days": 14, "pain_vas": 4, "imaging": ["xray", "mri"], "mri": OEDEMA,
                   "height_loss_pct": 22, "posterior_wall": "intact"}],
    "bone_density": {"dxa": {"femoral_neck_t": -2.8}},
    "labs": {"egfr_ml_min": 29, "calcium_mmol_l": 2.3, "vitamin_d_nmol_l": 60},
}
# Day-4 conservative case (the public r3-bed-rest-day4 case).
BED = {
    "as_of": AS_OF,
    "patient": {"age": 70, "sex": "female", "neurological_deficit": "none"},
    "fractures": [{"level": "L2", "onset_days": 4, "pain_vas": 6, "imaging": ["xray", "mri"], "mri": OEDEMA,
                   "height_loss_pct": 15, "posterior_wall": "intact"}],
}

cases = []


def case(cid, title, base, changes, expect):
    req = copy.deepcopy(base)
    for path, value in changes.items():
        cur = req
        keys = path.split(".")
        for k in keys[:-1]:
            cur = cur[int(k)] if k.isdigit() else cur.setdefault(k, {})
        last = keys[-1]
        if value is None:
            (cur.pop(int(last)) if last.isdigit() else cur.pop(last, None))
        elif last.isdigit():
            cur[int(last)] = value
        else:
            cur[last] = value
    cases.append({"id": cid, "title": title, "request": req, "expect": expect})


# --- 11.2–11.4: renal boundaries ------------------------------------------------------------------
case("r3-egfr-30-denosumab-starts",
     "eGFR 30 (not < 30): bisphosphonates avoided (< 35), denosumab starts now without the CKD-MBD deferral (11.4 boundary)",
     CONS, {"labs.egfr_ml_min": 30},
     {"pharmacotherapy.recommended[0]": "denosumab", "pharmacotherapy.start": "now",
      "pharmacotherapy.deferred_reason": None,
      "alerts[*].code": {"contains": ["renal_contraindication"], "not_contains": ["ckd_mbd_workup"]},
      "pharmacotherapy.pre_dose_checks[*].code": {"not_contains": ["ckd_mbd_panel", "renal_function"]},
      "pharmacotherapy.pre_dose_checks[code=dental_review].blocking": False,
      "pharmacotherapy.renal_function.value": 30,
      "risks.very_high_fracture_risk.flag": True,
      "risks.very_high_fracture_risk.criteria": {"contains": ["recent_vertebral_fracture_age65_t_le_minus_2_5"]},
      "pharmacotherapy.anabolic_options": {"contains": ["teriparatide", "abaloparatide"]},
      "pharmacotherapy.exit_plan.then_drug": None})
case("r3-egfr-34-no-bisphosphonate",
     "eGFR 34 (< 35): every bisphosphonate avoided for renal function, denosumab first (5.6, 11.2 boundary)",
     CONS, {"labs.egfr_ml_min": 34},
     {"pharmacotherapy.recommended[0]": "denosumab",
      "pharmacotherapy.avoid[drug=alendronate].reason": "renal_contraindication",
      "pharmacotherapy.avoid[drug=zoledronic_acid].reason": "renal_contraindication",
      "alerts[code=renal_contraindication].severity": "warning",
      "pharmacotherapy.renal_function.measure": "egfr"})
case("r3-egfr-35-alendronate",
     "eGFR 35 (not < 35), good adherence: alendronate, started now with its weekly dose (5.5, 11.18 boundary)",
     CONS, {"labs.egfr_ml_min": 35},
     {"pharmacotherapy.recommended[0]": "alendronate", "pharmacotherapy.start": "now",
      "pharmacotherapy.avoid[*].drug": {"not_contains": ["alendronate", "zoledronic_acid"]},
      "pharmacotherapy.dosing.alendronate.dose": 70, "pharmacotherapy.dosing.alendronate.interval": "weekly",
      "pharmacotherapy.dosing.alendronate.route": "oral",
      "summary.drug.name": "alendronate", "summary.drug.blocking_checks": []})
case("r3-crcl-wins-over-egfr",
     "CrCl 35 mL/min with eGFR 20: Cockcroft-Gault wins (0.4) and names its unit; no renal avoidance (11.2)",
     CONS, {"labs.egfr_ml_min": 20, "labs.crcl_ml_min": 35},
     {"pharmacotherapy.renal_function.measure": "crcl", "pharmacotherapy.renal_function.unit": "mL/min",
      "pharmacotherapy.renal_function.value": 35, "pharmacotherapy.recommended[0]": "alendronate",
      "perioperative.avoid[*]": {"not_contains": ["nsaid"]},
      "alerts[*].code": {"not_contains": ["renal_contraindication", "ckd_mbd_workup"]}})
case("r3-denosumab-overdue-renal-unknown",
     "denosumab overdue (268 days), renal function unknown: resume after the renal check, injection due today, exit plan (11.3, 11.28.1, 11.21)",
     PKP, {"medications": [{"drug": "denosumab", "start": "2024-03-01", "last_dose": "2026-03-01"}],
           "patient.adherence": "good", "labs": {"calcium_mmol_l": 2.3}},
     {"pharmacotherapy.recommended[0]": "denosumab", "pharmacotherapy.start": "after_checks",
      "pharmacotherapy.pre_dose_checks[code=renal_function].blocking": True,
      "pharmacotherapy.pre_dose_checks[code=renal_function].requirement": "egfr_or_crcl_at_least_30",
      "pharmacotherapy.pre_dose_checks[code=vitamin_d_25oh].blocking": False,
      "alerts[code=denosumab_overdue].severity": "critical",
      "alerts[*].code": {"contains": ["pre_dose_checks_pending"]},
      "follow_up[due=2026-11-24].items": {"contains": ["denosumab_injection"]},
      "pharmacotherapy.exit_plan.then_drug": "zoledronic_acid",
      "pharmacotherapy.exit_plan.months_after_last_dose": 6,
      "summary.drug.blocking_checks": ["renal_function"]})
case("r3-ckd-mbd-cleared",
     "eGFR 29 with the CKD-MBD clearance: denosumab starts, the alert becomes a warning, calcium monitored weekly then monthly (11.4)",
     CONS, {"clearances": {"ckd_mbd": True, "dental": True}},
     {"pharmacotherapy.recommended[0]": "denosumab", "pharmacotherapy.start": "now",
      "alerts[code=ckd_mbd_workup].severity": "warning",
      "pharmacotherapy.monitoring": ["calcium_weekly_first_month_then_monthly"],
      "pharmacotherapy.pre_dose_checks": []})

# --- 11.28.20: every denosumab entry counts --------------------------------------------------------
case("r3-two-denosumab-entries-timely",
     "an ongoing, timely denosumab beside an older closed entry that started later: still on denosumab, injections every 6 months from the last dose (11.28.20, 11.28.1)",
     PKP, {"patient.adherence": "good",
           "medications": [{"drug": "denosumab", "start": "2023-01-10", "last_dose": "2026-07-01"},
                           {"drug": "denosumab", "start": "2024-03-01", "end": "2024-09-01"}]},
     {"pharmacotherapy.recommended[0]": "denosumab", "pharmacotherapy.start": "continue",
      "alerts[*].code": {"not_contains": ["denosumab_overdue", "no_antiosteoporosis_therapy"]},
      "follow_up[*].due": {"contains": ["2027-01-01", "2027-07-01"]},
      "risks.adjacent_fracture.factors": {"not_contains": ["recent_vertebral_fracture_untreated"]}})
case("r3-two-denosumab-entries-overdue",
     "two denosumab entries, the latest dose 268 days ago: overdue whatever the entry order (11.28.20)",
     PKP, {"patient.adherence": "good",
           "medications": [{"drug": "denosumab", "start": "2024-03-01", "end": "2024-09-01"},
                           {"drug": "denosumab", "start": "2023-01-10", "last_dose": "2026-03-01"}]},
     {"pharmacotherapy.recommended[0]": "denosumab",
      "alerts[code=denosumab_overdue].severity": "critical",
      "pharmacotherapy.recommended": {"not_contains": ["teriparatide"]}})
case("r3-denosumab-stopped-5-months",
     "denosumab stopped 5 months after its last dose counts as ongoing: no 'untreated' floor, no therapy-gap alert (10.3, 11.28.22)",
     PKP, {"patient.adherence": "good",
           "medications": [{"drug": "denosumab", "start": "2024-01-01", "end": "2026-06-01", "last_dose": "2026-06-01"}]},
     {"pharmacotherapy.recommended[0]": "denosumab",
      "alerts[*].code": {"not_contains": ["no_antiosteoporosis_therapy", "denosumab_overdue"]},
      "risks.adjacent_fracture.factors": {"not_contains": ["recent_vertebral_fracture_untreated",
                                                          "irregular_antiosteoporosis_therapy"]}})
case("r3-denosumab-poor-adherence-transition",
     "timely denosumab with poor adherence: dated zoledronic acid transition, markers at 3 and 6 months, the 3-month visit joins the transition date (11.21, 11.28.5, 11.22)",
     PKP, {"patient.adherence": "poor", "labs": {"egfr_ml_min": 60, "calcium_mmol_l": 2.3, "vitamin_d_nmol_l": 70},
           "medications": [{"drug": "denosumab", "start": "2024-02-01", "last_dose": "2026-08-01"}]},
     {"pharmacotherapy.recommended[0]": "zoledronic_acid", "pharmacotherapy.start": "deferred",
      "pharmacotherapy.deferred_reason": "planned_transition", "pharmacotherapy.start_date": "2027-02-01",
      "pharmacotherapy.avoid[drug=denosumab].reason": "planned_transition",
      "follow_up[due=2027-02-01].items": {"contains": ["denosumab_transition", "bone_turnover_markers",
                                                        "clinical_review"]},
      "follow_up[due=2027-02-01].switch_to": "zoledronic_acid",
      "follow_up[*].due": {"not_contains": ["2027-02-24"]},
      "follow_up[due=2027-05-24].items": {"contains": ["bone_turnover_markers"]}})

# --- 11.10–11.12: day limits -----------------------------------------------------------------------
case("r3-bed-rest-day5",
     "day 5 after onset: no bed rest any more, progressive mobilisation, calcitonin still within 14 days (11.10, 11.11)",
     BED, {"fractures.0.onset_days": 5},
     {"perioperative.bed_rest_max_days": None, "perioperative.bed_rest_until": None,
      "perioperative.mobilisation": "progressive", "perioperative.brace": "soft_or_dynamic",
      "perioperative.analgesia[*].drug": {"contains": ["calcitonin"]},
      "care_bundle[*].code": {"not_contains": ["vte_risk_assessment"]}})
case("r3-bed-rest-mobile-under-analgesia",
     "day 2, mobilising under analgesia: no bed rest ordered (11.10)",
     BED, {"fractures.0.onset_days": 2, "patient.mobilisation_under_analgesia": "possible"},
     {"perioperative.bed_rest_max_days": None, "perioperative.mobilisation": "progressive"})
case("r3-bed-rest-onset-unknown",
     "onset unknown: no bed rest and no calcitonin ordered, counted as a recent fracture (11.1, 11.10, 11.11)",
     BED, {"fractures.0.onset_days": None},
     {"perioperative.bed_rest_max_days": None,
      "perioperative.analgesia[*].drug": {"not_contains": ["calcitonin"]},
      "inputs_assumed[*].path": {"contains": ["fractures[0].onset_days"]},
      "risks.imminent_fracture.applies": True})
case("r3-calcitonin-day15",
     "day 15, VAS 6: calcitonin no longer offered and not listed as avoided (11.11 boundary)",
     BED, {"fractures.0.onset_days": 15},
     {"perioperative.analgesia[*].drug": {"not_contains": ["calcitonin"]},
      "perioperative.avoid[*]": {"not_contains": ["calcitonin"]}})
case("r3-calcitonin-vas4-bed-rest-day3",
     "day 3, VAS 4: bed rest to onset + 5 days, but no calcitonin below VAS 5 (11.10, 11.11)",
     BED, {"fractures.0.onset_days": 3, "fractures.0.pain_vas": 4},
     {"perioperative.bed_rest_max_days": 5, "perioperative.bed_rest_until": "2026-11-26",
      "perioperative.analgesia[*].drug": {"not_contains": ["calcitonin"]}})
case("r3-post-pkp-day1",
     "day 1 after kyphoplasty: mobilise within 24 h still applies (11.12 boundary)",
     PKP, {"phase": "post_procedure", "fractures.0.onset_days": 6,
           "procedure": {"type": "kyphoplasty", "level": "L1", "date": "2026-11-23", "cement_volume_ml": 5}},
     {"perioperative.post_procedure_day": 1, "perioperative.mobilize_within_hours": 24,
      "perioperative.mobilisation": "early_after_augmentation", "perioperative.context": "post_procedure",
      "treatment.treated_levels[0].level": "L1", "treatment.treated_levels[0].procedure": "kyphoplasty",
      "treatment.treated_levels[0].post_procedure_day": 1, "treatment.plan": "conservative",
      "summary.decision.treated_levels": ["L1"]})
case("r3-post-pkp-day43",
     "day 43 after kyphoplasty: past the after-augmentation branch, no brace, non-operative context (11.12, 0.6)",
     PKP, {"phase": "follow_up", "fractures.0.onset_days": 50,
           "procedure": {"type": "kyphoplasty", "level": "L1", "date": "2026-10-12", "cement_volume_ml": 5}},
     {"perioperative.post_procedure_day": 43, "perioperative.context": "non_operative",
      "perioperative.brace": "none", "perioperative.mobilize_within_hours": None,
      "treatment.plan": "conservative", "explanation[*].rule": {"contains": ["0.6"]}})

# --- 11.6–11.9: referral plans and pathological suspicion ----------------------------------------
case("r3-referral-retropulsion-no-deficit",
     "unhealed retropulsion without a deficit: urgent referral with spinal precautions; bisphosphonate waits for the surgical decision; calcitonin and NSAIDs held (11.5-11.8)",
     PKP, {"fractures.0.posterior_wall": "retropulsion"},
     {"treatment.plan": "surgical_referral", "treatment.urgency": "urgent",
      "treatment.urgent_actions": ["spinal_precautions"], "treatment.corticosteroid": None,
      "perioperative.spinal_precautions.required": True, "perioperative.brace": "per_surgeon",
      "perioperative.context": "awaiting_surgical_review",
      "perioperative.avoid_reasons.calcitonin": "procedure_pending",
      "perioperative.avoid_reasons.nsaid": "procedure_pending",
      "pharmacotherapy.recommended[0]": "zoledronic_acid", "pharmacotherapy.start": "deferred",
      "pharmacotherapy.deferred_reason": "surgical_decision",
      "alerts[*].code": {"not_contains": ["mscc_suspected"]}})
case("r3-referral-osteoporotic-incomplete-deficit",
     "osteoporotic fracture with an incomplete deficit: same-day referral and spinal precautions, no dexamethasone (11.6, 11.7)",
     PKP, {"patient.neurological_deficit": "incomplete"},
     {"treatment.plan": "surgical_referral", "treatment.urgency": "same_day",
      "treatment.urgent_actions": ["same_day_spinal_referral", "spinal_precautions"],
      "treatment.corticosteroid": None, "perioperative.mobilisation": "spinal_precautions",
      "alerts[code=neurological_deficit].severity": "critical",
      "summary.decision.urgency": "same_day"})
case("r3-radicular-referral-urgent",
     "radicular deficit only: referral is urgent, not same-day (11.7 boundary)",
     PKP, {"patient.neurological_deficit": "radicular"},
     {"treatment.plan": "surgical_referral", "treatment.urgency": "urgent",
      "treatment.urgent_actions": ["spinal_precautions"]})
case("r3-pathological-no-deficit",
     "malignancy signs without a deficit: work-up first; no OF score, no adjacent-fracture estimate, no therapy-gap alert; calcium checked before supplements (11.8, 11.9, 11.3)",
     PKP, {"fractures.0.malignancy_signs": ["pedicle_or_posterior_element_involvement"]},
     {"treatment.plan": "further_workup", "treatment.urgency": None,
      "fractures[level=L1].of_score": None,
      "risks.adjacent_fracture": {"exists": False}, "risks.imminent_fracture": {"exists": False},
      "alerts[*].code": {"not_contains": ["no_antiosteoporosis_therapy"]},
      "pharmacotherapy.deferred_reason": "pathology_workup",
      "pharmacotherapy.pre_dose_checks[code=serum_calcium].drug": "calcium_vitamin_d",
      "pharmacotherapy.pre_dose_checks[code=serum_calcium].requirement": "exclude_hypercalcaemia",
      "perioperative.avoid_reasons.calcitonin": "malignancy_suspected",
      "care_bundle[*].code": {"contains": ["secondary_cause_screen"], "not_contains": ["fls_referral"]},
      "risks.very_high_fracture_risk.flag": False})

# --- 11.15: very-high risk on and off ---------------------------------------------------------------
case("r3-very-high-age65-on",
     "recent fracture at 65 with T -2.5: very high risk (S37), anabolic options listed, zoledronic acid still first (11.15)",
     BED, {"patient.age": 65, "bone_density": {"dxa": {"lumbar_spine_t": -2.5}}},
     {"risks.very_high_fracture_risk.flag": True,
      "risks.very_high_fracture_risk.criteria": ["recent_vertebral_fracture_age65_t_le_minus_2_5"],
      "risks.very_high_fracture_risk.unverified_criteria_met": {"contains": ["recent_fracture_within_12_months"]},
      "pharmacotherapy.recommended[0]": "zoledronic_acid",
      "pharmacotherapy.anabolic_options": {"contains": ["teriparatide", "romosozumab"]},
      "alerts[code=very_high_fracture_risk].severity": "info"})
case("r3-very-high-age64-off",
     "the same at 64: no very-high flag, no anabolic options; the unverified criteria are listed only (11.15 boundary)",
     BED, {"patient.age": 64, "bone_density": {"dxa": {"lumbar_spine_t": -2.5}}},
     {"risks.very_high_fracture_risk.flag": False, "risks.very_high_fracture_risk.criteria": [],
      "risks.very_high_fracture_risk.unverified_criteria_met": {"contains": ["recent_fracture_within_12_months"]},
      "pharmacotherapy.anabolic_options": [],
      "alerts[*].code": {"not_contains": ["very_high_fracture_risk"]}})

# --- 11.21, 11.22: dated course end and merged visits ---------------------------------------------
case("r3-teriparatide-restart-course-end",
     "10 months of teriparatide taken before, very high risk (T -3.2): a new course of 14 months, ending 2028-01-24 (11.21)",
     BED, {"fractures.0.pain_vas": 4, "fractures.0.onset_days": 20, "bone_density": {"dxa": {"lumbar_spine_t": -3.2}},
           "labs": {"calcium_mmol_l": 2.3},
           "medications": [{"drug": "teriparatide", "start": "2024-01-10", "end": "2024-11-10"}]},
     {"pharmacotherapy.recommended[0]": "teriparatide", "pharmacotherapy.start": "now",
      "pharmacotherapy.max_duration_months.teriparatide": 14,
      "pharmacotherapy.course_end.date": "2028-01-24", "pharmacotherapy.course_end.months_remaining": 14,
      "pharmacotherapy.course_end.switch_to": "zoledronic_acid",
      "follow_up[due=2028-01-24].items": {"contains": ["pth_course_end"]},
      "pharmacotherapy.dosing.teriparatide.dose": 20, "pharmacotherapy.dosing.teriparatide.unit": "µg",
      "pharmacotherapy.anabolic_options": []})
case("r3-merged-post-procedure-visits",
     "9 days after kyphoplasty with a new drug: the 3-month markers (due 9 days after the 3-month review) and the 12-month DXA join the post-procedure visits (11.22)",
     PKP, {"phase": "post_procedure", "fractures.0.onset_days": 20,
           "procedure": {"type": "kyphoplasty", "level": "L1", "date": "2026-11-15", "cement_volume_ml": 5}},
     {"follow_up[due=2027-02-15].items": {"contains": ["clinical_review", "radiograph", "bone_turnover_markers"]},
      "follow_up[due=2027-02-15].merged_from[0].due": "2027-02-24",
      "follow_up[due=2027-11-15].items": {"contains": ["clinical_review", "radiograph", "dxa"]},
      "follow_up[*].due": {"not_contains": ["2027-02-24", "2027-11-24"]},
      "perioperative.mobilisation": "continue", "perioperative.post_procedure_day": 9})

os.makedirs("vignettes/own", exist_ok=True)
for c in cases:
    with open(f"vignettes/own/{c['id']}.json", "w", encoding="utf-8") as fh:
        json.dump(c, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
print(f"wrote {len(cases)} vignettes")
