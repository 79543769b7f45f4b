#!/usr/bin/env python3
"""Integrity check of the OVCF Pathway knowledge base (knowledge/*.toml), without cargo.

Mirrors Knowledge::check() in crates/ovcf-core/src/knowledge.rs and adds stricter checks:
  * the four files parse (Python 3.11+ tomllib) and use only the fields the Rust structs accept
    (serde deny_unknown_fields);
  * every recommendation has >= 1 source; every cited source id (recommendations, conflicting evidence,
    thresholds, odds ratios) is defined in sources.toml; no duplicate ids/codes;
  * every threshold has >= 1 source; the threshold names are exactly those of the `thresholds!(` macro;
  * alerts: the 27 fixed codes, valid severity, only the placeholders allowed for the code, the same ones in
    zh and en, and every `recommendations` id exists;
  * GRADE quality/strength appear only on the recommendations graded in the seed's Tables 1-3;
  * anything citing `decision-rules-v1` is provisional;
  * every source defined is cited somewhere (except `seed` and `decision-rules-v1`);
  * the recommendation ids the rules reference are all present.
Warnings (not failures): a recommendation or threshold that cites only unverified sources but is not provisional.

Usage: python3 knowledge/check.py          (exit status 0 = clean, 1 = problems)
"""
import re
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
KNOWLEDGE_RS = HERE.parent / "crates" / "ovcf-core" / "src" / "knowledge.rs"

problems: list[str] = []
warnings: list[str] = []


def load(name):
    try:
        with open(HERE / name, "rb") as f:
            return tomllib.load(f)
    except Exception as e:  # noqa: BLE001
        problems.append(f"{name}: does not parse: {e}")
        return None


def keys_ok(where, table, required, optional):
    for k in required:
        if k not in table:
            problems.append(f"{where}: missing field `{k}`")
    for k in table:
        if k not in required and k not in optional:
            problems.append(f"{where}: unknown field `{k}` (deny_unknown_fields)")


sources = load("sources.toml")
recs = load("recommendations.toml")
ths = load("thresholds.toml")
alerts = load("alerts.toml")
if None in (sources, recs, ths, alerts):
    print("\n".join(problems))
    sys.exit(1)

# ---- top-level shapes -------------------------------------------------------------------------------------
for name, doc, allowed in (
    ("sources.toml", sources, {"source"}),
    ("recommendations.toml", recs, {"recommendation"}),
    ("thresholds.toml", ths, {"thresholds", "adjacent_fracture_odds_ratio"}),
    ("alerts.toml", alerts, {"alert"}),
):
    for k in doc:
        if k not in allowed:
            problems.append(f"{name}: unknown top-level key `{k}`")

# ---- sources ------------------------------------------------------------------------------------------------
defined: dict[str, dict] = {}
ID_FORM = re.compile(r"^(seed|decision-rules-v1|seed:\[\d+\]|S\d+b?)$")
for i, s in enumerate(sources.get("source", [])):
    keys_ok(f"source[{i}]", s, ("id", "citation"), ("doi", "url", "status"))
    sid = s.get("id", "")
    if sid in defined:
        problems.append(f"duplicate source id {sid}")
    defined[sid] = s
    if not ID_FORM.match(sid):
        problems.append(f"source id {sid!r} is not of the form seed, decision-rules-v1, seed:[N] or S<n>")
    if s.get("status") not in (None, "unverified", "secondary", "seed-only"):
        problems.append(f"source {sid}: status {s.get('status')!r} not one of unverified|secondary|seed-only")
    if not str(s.get("citation", "")).strip():
        problems.append(f"source {sid}: empty citation")
for required in ("seed", "decision-rules-v1"):
    if required not in defined:
        problems.append(f"source {required} must be defined")

UNVERIFIED = {k for k, s in defined.items() if s.get("status") == "unverified"}
cited: set[str] = set()


def cite(what, srcs):
    if not isinstance(srcs, list) or not srcs:
        problems.append(f"{what} has no source")
        return
    if len(set(srcs)) != len(srcs):
        problems.append(f"{what} cites a source twice")
    for s in srcs:
        cited.add(s)
        if s not in defined:
            problems.append(f"{what} cites undefined source {s}")


# ---- recommendations ------------------------------------------------------------------------------------
GRADED = {  # seed Tables 1-3: the only GRADE grades in the sources
    "periop.nsaid_short_course": ("B", 2),
    "periop.nsaid_nonunion_cox2": ("C", 2),
    "periop.early_mobilisation": ("A", 1),
    "periop.soft_brace": ("B", 2),
    "periop.conservative_bed_rest": ("B", 1),
    "tx.cement_thoracic": ("B", 1),
    "tx.cement_lumbar": ("B", 1),
    "tx.low_modulus_cement": ("C", 2),
}
EXPECTED_RECS = """
dx.mri_acuity dx.xray_insufficient dx.ct_posterior_wall dx.pathological_workup dx.morphometry_convention
dx.intravertebral_cleft dx.ai_finding_provenance
bmd.dxa_who bmd.z_score_under_50 bmd.qct bmd.fragility_fracture_diagnosis bmd.dxa_falsely_normal bmd.ct_attenuation
tx.surgical_referral_neuro tx.urgent_mscc tx.unstable_fracture tx.retropulsion_referral tx.workup_before_augmentation
tx.augmentation_indicated tx.pvp_selection tx.pkp_selection tx.pkp_posterior_wall tx.conservative_care
tx.chronic_limited_benefit tx.augmentation_contraindicated tx.anticoagulation_periprocedural tx.insufficient_data
tx.approach_unilateral tx.approach_bilateral tx.cement_thoracic tx.cement_lumbar tx.cement_small_body tx.eggshell
tx.mesh_container tx.low_modulus_cement
periop.early_mobilisation periop.soft_brace periop.conservative_bed_rest periop.no_bed_rest_healed
periop.paracetamol_first periop.nsaid_short_course periop.nsaid_nonunion_cox2 periop.nsaid_cardiovascular
periop.nsaid_renal periop.calcitonin_acute periop.opioid_severe periop.measure_renal_function
drug.start_promptly drug.calcium_vitamin_d drug.hypercalcaemia drug.hypocalcaemia drug.vitamin_d_repletion
drug.measure_calcium_vitamin_d drug.anabolic_very_high_risk drug.pth_limit drug.pth_contraindication
drug.bisphosphonate_first_line drug.zoledronic_adherence drug.alendronate_mobilised drug.renal_no_bisphosphonate
drug.denosumab_renal drug.ckd_mbd drug.denosumab_on_schedule drug.denosumab_overdue drug.denosumab_poor_adherence
drug.denosumab_transition drug.denosumab_fracture_on_therapy drug.denosumab_last_dose_unknown
drug.romosozumab_cardiovascular drug.romosozumab_course drug.continue_current drug.treatment_failure
drug.bisphosphonate_holiday drug.no_suitable_drug drug.workup_first drug.sequential_after_anabolic
drug.no_therapy_alert
drug.renal_measure_named drug.pre_dose_checks drug.timing_around_surgery drug.anabolic_first_option drug.dosing
risk.adjacent_fracture risk.adjacent_estimate risk.cement_leakage
risk.imminent care.falls care.fls care.exercise care.secondary_causes care.vte_bed_rest
fu.post_augmentation fu.conservative fu.bone_turnover_markers fu.dxa fu.denosumab_injection
proc.cement_fill_30pct proc.cement_range proc.height_restoration proc.intradiscal_leakage
proc.leakage_spinal_canal proc.leakage_venous
score.of_score score.external_tools
periop.spinal_precautions periop.nsaid_procedure_pending periop.ppi_with_nsaid periop.laxative_with_opioid
tx.timing_open
""".split()

rec_ids: dict[str, dict] = {}
for i, r in enumerate(recs.get("recommendation", [])):
    rid = r.get("id", f"#{i}")
    keys_ok(f"recommendation {rid}", r, ("id", "zh", "en", "sources"),
            ("quality", "strength", "provisional", "conflicting_evidence", "grade_origin"))
    if rid in rec_ids:
        problems.append(f"duplicate recommendation id {rid}")
    rec_ids[rid] = r
    if not str(r.get("zh", "")).strip() or not str(r.get("en", "")).strip():
        problems.append(f"recommendation {rid} lacks zh or en text")
    cite(f"recommendation {rid}", r.get("sources"))
    for j, c in enumerate(r.get("conflicting_evidence", [])):
        keys_ok(f"conflicting evidence {j} of {rid}", c, ("zh", "en", "sources"), ())
        cite(f"conflicting evidence of {rid}", c.get("sources"))
    q, st = r.get("quality"), r.get("strength")
    if q is not None and q not in ("A", "B", "C", "D"):
        problems.append(f"recommendation {rid}: quality {q!r} not A-D")
    if st is not None and st not in (1, 2):
        problems.append(f"recommendation {rid} strength must be 1 or 2")
    if rid in GRADED:
        if (q, st) != GRADED[rid]:
            problems.append(f"recommendation {rid}: grade {q}/{st}, seed table says {GRADED[rid][0]}/{GRADED[rid][1]}")
    elif q is not None or st is not None:
        problems.append(f"recommendation {rid}: has a GRADE grade the sources do not give")
    prov = r.get("provisional", False)
    if not isinstance(prov, bool):
        problems.append(f"recommendation {rid}: provisional must be a boolean")
    srcs = r.get("sources") or []
    if "decision-rules-v1" in srcs and not prov:
        problems.append(f"recommendation {rid} rests on decision-rules-v1 but is not provisional")
    if srcs and all(s in UNVERIFIED for s in srcs) and not prov:
        warnings.append(f"recommendation {rid} cites only unverified sources but is not provisional")

for rid in EXPECTED_RECS:
    if rid not in rec_ids:
        problems.append(f"recommendation {rid} is missing (the rules reference it)")
for rid in rec_ids:
    if rid not in EXPECTED_RECS:
        warnings.append(f"recommendation {rid} is not in the expected list (new item? add it to EXPECTED_RECS)")

# ---- thresholds -----------------------------------------------------------------------------------------
rs = KNOWLEDGE_RS.read_text(encoding="utf-8")
m = re.search(r"^thresholds!\(\s*(.*?)\);", rs, re.S | re.M)
if not m:
    problems.append(f"cannot find the thresholds!( list in {KNOWLEDGE_RS}")
    expected_names = []
else:
    body = re.sub(r"//[^\n]*", "", m.group(1))
    expected_names = [n.strip() for n in body.split(",") if n.strip()]
th = ths.get("thresholds", {})
for n in expected_names:
    if n not in th:
        problems.append(f"threshold {n} missing (listed in knowledge.rs)")
for n in th:
    if n not in expected_names:
        problems.append(f"threshold {n} is not in the thresholds!( list of knowledge.rs (deny_unknown_fields)")
for n, t in th.items():
    keys_ok(f"threshold {n}", t, ("value", "unit", "sources"), ("provisional", "note", "ci"))
    if not isinstance(t.get("value"), (int, float)) or isinstance(t.get("value"), bool):
        problems.append(f"threshold {n}: value must be a number")
    if not str(t.get("unit", "")).strip():
        problems.append(f"threshold {n}: empty unit")
    cite(f"threshold {n}", t.get("sources"))
    srcs = t.get("sources") or []
    if "decision-rules-v1" in srcs and not t.get("provisional", False):
        problems.append(f"threshold {n} rests on decision-rules-v1 but is not provisional")
    if srcs and all(s in UNVERIFIED for s in srcs) and not t.get("provisional", False):
        warnings.append(f"threshold {n} cites only unverified sources but is not provisional")

ADJ_FACTORS = {"advanced_age", "female", "t_score_below_minus_3", "multiple_prior_vertebral_fractures",
               "cement_over_30pct", "height_restoration_over_90pct", "irregular_antiosteoporosis_therapy",
               "intradiscal_cement_leakage", "glucocorticoid_use"}  # rule 11.28.4: the 6.1 factors only
seen_factors = set()
for i, o in enumerate(ths.get("adjacent_fracture_odds_ratio", [])):
    f = o.get("factor", f"#{i}")
    keys_ok(f"odds ratio {f}", o, ("factor", "odds_ratio", "sources"), ())
    if f in seen_factors:
        problems.append(f"odds ratio {f} defined twice")
    seen_factors.add(f)
    if f not in ADJ_FACTORS:
        problems.append(f"odds ratio factor {f!r} is not a known adjacent-fracture factor code")
    if not isinstance(o.get("odds_ratio"), (int, float)) or o.get("odds_ratio", 0) <= 0:
        problems.append(f"odds ratio {f}: odds_ratio must be a positive number")
    cite(f"odds ratio {f}", o.get("sources"))

# ---- alerts ---------------------------------------------------------------------------------------------
ALERT_PLACEHOLDERS = {
    "xray_only_diagnosis": {"levels"}, "dxa_may_be_falsely_normal": {"t_score"},
    "suspected_pathological_fracture": {"levels"}, "neurological_deficit": set(),
    "posterior_wall_retropulsion": {"levels"}, "nsaid_over_3_weeks": {"days"}, "denosumab_overdue": {"days"},
    "denosumab_poor_adherence": {"date"}, "teriparatide_limit": {"drug", "months", "remaining", "date"},
    "bisphosphonate_holiday_review": {"months"}, "renal_contraindication": {"renal"},
    "cement_volume_exceeds_30pct": {"level", "volume", "max"},
    "cement_volume_outside_range": {"level", "volume", "min", "max"},
    "height_restoration_over_90pct": {"value"}, "no_antiosteoporosis_therapy": set(),
    "chronic_fracture_limited_benefit": {"levels"}, "unstable_fracture": {"levels"},
    "augmentation_contraindicated": set(), "anticoagulation_periprocedural": set(), "hypocalcaemia": {"value"},
    "hypercalcaemia": {"value"}, "vitamin_d_deficiency": {"value"}, "ckd_mbd_workup": {"renal"},
    "no_suitable_drug": set(), "denosumab_last_dose_unknown": set(), "cement_leakage_spinal_canal": {"level"},
    "cement_leakage_venous": {"level"},
    # revision 3 (drug rules 11.3, 11.15)
    "pre_dose_checks_pending": {"drug", "checks"}, "very_high_fracture_risk": {"criteria"},
}
# Codes whose wording has case-specific variants ([alert.variants.<name>], chosen by the rule): each variant may
# use a subset of the code's placeholders, the same ones in zh and en.
ALERT_VARIANTS = {
    "teriparatide_limit": {"no_date", "reached"}, "ckd_mbd_workup": {"cleared", "follow_on"},
    "denosumab_poor_adherence": {"last_dose_unknown"}, "neurological_deficit": {"radicular"},
}
# Revision 3 — periop area (11.7, 11.19)
ALERT_PLACEHOLDERS.update({"mscc_suspected": {"levels"}, "of_score_plan_disagreement": {"levels", "points"}})
DEFAULT_SEVERITY = {c: "warning" for c in ALERT_PLACEHOLDERS}
DEFAULT_SEVERITY.update({"mscc_suspected": "critical", "of_score_plan_disagreement": "info"})
DEFAULT_SEVERITY.update({c: "critical" for c in (
    "suspected_pathological_fracture", "neurological_deficit", "posterior_wall_retropulsion", "unstable_fracture",
    "augmentation_contraindicated", "denosumab_overdue", "ckd_mbd_workup", "hypercalcaemia",
    "cement_leakage_spinal_canal")})
DEFAULT_SEVERITY.update({c: "info" for c in (
    "teriparatide_limit", "bisphosphonate_holiday_review", "chronic_fracture_limited_benefit",
    "very_high_fracture_risk")})
PH = re.compile(r"\{([^{}]*)\}")
codes = set()
for i, a in enumerate(alerts.get("alert", [])):
    code = a.get("code", f"#{i}")
    keys_ok(f"alert {code}", a, ("code", "severity", "zh", "en"), ("recommendations", "variants"))
    for vname, vt in a.get("variants", {}).items():
        if vname not in ALERT_VARIANTS.get(code, set()):
            problems.append(f"alert {code}: unknown variant {vname!r}")
            continue
        keys_ok(f"alert {code} variant {vname}", vt, ("zh", "en"), ())
        used = {lang: set(PH.findall(vt.get(lang, ""))) for lang in ("zh", "en")}
        if used["zh"] != used["en"]:
            problems.append(f"alert {code} variant {vname}: zh and en use different placeholders")
        extra = (used["zh"] | used["en"]) - ALERT_PLACEHOLDERS.get(code, set())
        if extra:
            problems.append(f"alert {code} variant {vname} uses unknown placeholders {sorted(extra)}")
    if code in codes:
        problems.append(f"duplicate alert code {code}")
    codes.add(code)
    if code not in ALERT_PLACEHOLDERS:
        problems.append(f"alert code {code} is not one of the fixed codes")
        continue
    if a.get("severity") not in ("info", "warning", "critical"):
        problems.append(f"alert {code}: severity {a.get('severity')!r} not info|warning|critical")
    elif a.get("severity") != DEFAULT_SEVERITY[code]:
        problems.append(f"alert {code}: severity {a['severity']}, decision rules 0.7 say {DEFAULT_SEVERITY[code]}")
    for lang in ("zh", "en"):
        used = set(PH.findall(a.get(lang, "")))
        extra = used - ALERT_PLACEHOLDERS[code]
        lacking = ALERT_PLACEHOLDERS[code] - used
        if extra:
            problems.append(f"alert {code} ({lang}) uses unknown placeholders {sorted(extra)}")
        if lacking:
            problems.append(f"alert {code} ({lang}) does not use placeholders {sorted(lacking)}")
    if not a.get("recommendations"):
        warnings.append(f"alert {code} names no recommendation")
    for rid in a.get("recommendations", []):
        if rid not in rec_ids:
            problems.append(f"alert {code} names unknown recommendation {rid}")
for code in ALERT_PLACEHOLDERS:
    if code not in codes:
        problems.append(f"alert {code} missing")

# ---- dosing (rule 11.18) ------------------------------------------------------------------------------------
dosing = load("dosing.toml")
if dosing is not None:
    DOSED = {"alendronate", "risedronate", "ibandronate", "zoledronic_acid", "denosumab", "teriparatide",
             "abaloparatide", "romosozumab"}
    seen_drugs = set()
    for i, d in enumerate(dosing.get("drug", [])):
        name = d.get("drug", f"#{i}")
        keys_ok(f"dose {name}", d, ("drug", "dose", "unit", "route", "interval", "advice", "sources", "status"),
                ("note",))
        if name in seen_drugs:
            problems.append(f"dose {name} defined twice")
        seen_drugs.add(name)
        if name not in DOSED:
            problems.append(f"dose {name}: not an anti-osteoporosis drug of rule 0.3")
        if d.get("status") not in ("verified", "secondary", "unverified"):
            problems.append(f"dose {name}: status must be verified|secondary|unverified")
        cite(f"dose {name}", d.get("sources"))
    for name in DOSED - seen_drugs:
        problems.append(f"dose {name} missing (rule 11.18)")
    cite("dose calcium_vitamin_d", dosing.get("calcium_vitamin_d", {}).get("sources"))

# ---- unused sources -------------------------------------------------------------------------------------
for sid in defined:
    if sid not in cited and sid not in ("seed", "decision-rules-v1"):
        problems.append(f"source {sid} is defined but never cited")

# ---- report ---------------------------------------------------------------------------------------------
n_conf = sum(len(r.get("conflicting_evidence", [])) for r in rec_ids.values())
print(f"sources {len(defined)}, recommendations {len(rec_ids)} ({n_conf} conflicting-evidence blocks, "
      f"{sum(1 for r in rec_ids.values() if r.get('provisional'))} provisional), thresholds {len(th)} "
      f"(expected {len(expected_names)}), odds ratios {len(seen_factors)}, alerts {len(codes)}")
for w in warnings:
    print("warning:", w)
for p in sorted(problems):
    print("PROBLEM:", p)
print("clean" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
