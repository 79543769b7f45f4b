//! Renderer tests: catalogue completeness, every key the renderer asks for exists, ordering and
//! escaping, and `insta` snapshots of text and HTML in both languages.

use ovcf_core::report::AssessmentReport;

use crate::fixtures::{self, ALL_DRUGS};
use crate::i18n::{self, catalogue, code, lookup, missing_keys, word_open};
use crate::{Lang, RenderOptions, render_html, render_text, t};

const BOTH: [Lang; 2] = [Lang::Zh, Lang::En];

fn opts(lang: Lang, explain: bool) -> RenderOptions {
    RenderOptions { lang, explain }
}

#[test]
fn catalogue_parses_and_every_entry_has_both_languages() {
    let cat = catalogue();
    assert!(
        cat.problems.is_empty(),
        "i18n.toml problems: {:#?}",
        cat.problems
    );
    assert!(cat.entries.len() > 200, "catalogue unexpectedly small");
    for (key, e) in &cat.entries {
        assert!(!e.zh.trim().is_empty(), "{key}: empty zh");
        assert!(!e.en.trim().is_empty(), "{key}: empty en");
    }
}

#[test]
fn catalogue_parser_reports_half_entries() {
    let cat =
        i18n::parse_catalogue("[a]\nb = { zh = \"甲\" }\nc = { zh = \"乙\", en = \"\" }\nd = 3\n");
    assert_eq!(cat.problems.len(), 3, "{:#?}", cat.problems);
    assert!(cat.entries.is_empty());
}

#[test]
fn contract_factor_codes_have_words() {
    let adjacent = [
        "advanced_age",
        "female",
        "t_score_below_minus_3",
        "multiple_prior_vertebral_fractures",
        "cement_over_30pct",
        "height_restoration_over_90pct",
        "irregular_antiosteoporosis_therapy",
        "intradiscal_cement_leakage",
        "glucocorticoid_use",
        "multiple_treated_levels",
    ];
    let leakage = [
        "cortical_breach",
        "intravertebral_cleft",
        "genant_grade_3",
        "posterior_wall_involved",
        "vertebroplasty",
        "cement_volume_above_range",
    ];
    for lang in BOTH {
        for f in adjacent {
            assert!(lookup(lang, &format!("factor.{f}")).is_some(), "factor.{f}");
        }
        for f in leakage {
            assert!(
                lookup(lang, &format!("leak_factor.{f}")).is_some(),
                "leak_factor.{f}"
            );
        }
        for d in ALL_DRUGS {
            assert!(
                lookup(lang, &format!("drug.{}", code(&d))).is_some(),
                "drug {d:?}"
            );
        }
    }
}

#[test]
fn unknown_codes_fall_back_to_the_code() {
    assert_eq!(
        word_open(Lang::Zh, "factor", "engine_added_factor"),
        "engine_added_factor"
    );
    let text = render_text(&fixtures::kitchen_sink(), &opts(Lang::En, false));
    assert!(text.contains("engine_added_factor"));
    assert!(text.contains("brand_new_item"));
}

#[test]
fn a_missing_key_is_returned_as_itself() {
    assert_eq!(t(Lang::Zh, "test.__missing__"), "test.__missing__");
    assert_eq!(t(Lang::En, "test.__missing__"), "test.__missing__");
    assert!(missing_keys().iter().any(|k| k == "test.__missing__"));
}

/// Renders every variant in every format, language and mode; any catalogue key the renderer
/// asked for and did not find fails the test.
#[test]
fn every_key_the_renderer_uses_exists() {
    for report in fixtures::all_variants() {
        for lang in BOTH {
            for explain in [false, true] {
                let o = opts(lang, explain);
                assert!(!render_text(&report, &o).is_empty());
                assert!(!render_html(&report, &o).is_empty());
            }
        }
    }
    let missing: Vec<String> = missing_keys()
        .into_iter()
        .filter(|k| !k.starts_with("test."))
        .collect();
    assert!(
        missing.is_empty(),
        "keys missing from i18n.toml: {missing:?}"
    );
}

#[test]
fn lang_parses_and_defaults_to_chinese() {
    assert_eq!("zh".parse::<Lang>(), Ok(Lang::Zh));
    assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
    assert!("fr".parse::<Lang>().is_err());
    assert_eq!(Lang::default(), Lang::Zh);
    assert_eq!(RenderOptions::default(), opts(Lang::Zh, false));
}

#[test]
fn alerts_come_first_ordered_by_severity() {
    let r = fixtures::kitchen_sink();
    let text = render_text(&r, &opts(Lang::Zh, false));
    let crit = text.find("[危急]").unwrap_or(usize::MAX);
    let warn = text.find("[警告]").unwrap_or(usize::MAX);
    let info = text.find("[提示]").unwrap_or(usize::MAX);
    assert!(crit < warn && warn < info, "{text}");
    let summary = text.find("1. 摘要").unwrap_or(usize::MAX);
    let alerts = text.find("2. 警示").unwrap_or(usize::MAX);
    assert!(summary < alerts && alerts < text.find("诊断").unwrap_or(0));
    let en = render_text(&r, &opts(Lang::En, false));
    assert!(en.contains("[CRITICAL]") && en.contains("[WARNING]") && en.contains("[INFO]"));
}

#[test]
fn sections_follow_the_consultation_order() {
    let text = render_text(&fixtures::kitchen_sink(), &opts(Lang::En, true));
    let order = [
        "Summary",
        "Alerts",
        "Diagnosis",
        "Bone density",
        "Treatment plan",
        "Perioperative orders",
        "Anti-osteoporosis drug plan",
        "Risks",
        "Standard of care",
        "Follow-up calendar",
        "Procedure checks",
        "External fracture-risk tools",
        "Assumptions",
        "Evidence and sources",
        "Why: decision trace",
    ];
    let mut at = 0;
    for (i, h) in order.iter().enumerate() {
        let heading = format!("\n{}. {h}\n", i + 1);
        let pos = text[at..]
            .find(&heading)
            .unwrap_or_else(|| panic!("heading {heading:?} missing or out of order"));
        at += pos + heading.len();
    }
}

#[test]
fn explain_section_only_on_request() {
    let r = fixtures::kitchen_sink();
    assert!(!render_text(&r, &opts(Lang::Zh, false)).contains("决策依据"));
    let with = render_text(&r, &opts(Lang::Zh, true));
    assert!(with.contains("决策依据"));
    // Applied entries before the considered-not-applied ones.
    let applied = with
        .find("[采用] treatment.plan — 规则 3.3#2")
        .unwrap_or(usize::MAX);
    let not_applied = with.find("[已考虑，未采用] treatment.plan — 规则 3.2#5");
    assert!(applied < not_applied.unwrap_or(0), "{with}");
}

#[test]
fn clinical_words_in_chinese() {
    let text = render_text(&fixtures::kitchen_sink(), &opts(Lang::Zh, false));
    for w in [
        "Genant 2 级",
        "经皮椎体成形术（PVP）",
        "经皮椎体后凸成形术（PKP）",
        "双侧椎弓根入路",
        "骨水泥 3–5 mL，≤ 30 % 椎体体积",
        "蛋壳技术",
        "网袋（骨填充网袋）系统",
        "低弹性模量骨水泥",
        "[首选] 特立帕肽",
        "地舒单抗",
        "文献推导估计值",
        "23.5 %",
        "[C/—]",
        "[暂定]",
        "骨髓水肿",
        "2027-04-10",
    ] {
        assert!(text.contains(w), "missing {w:?} in\n{text}");
    }
}

#[test]
fn escape_handles_markup() {
    assert_eq!(
        crate::html::escape("<script>alert('x') & \"y\"</script>"),
        "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
    );
}

#[test]
fn html_escapes_report_text_and_is_self_contained() {
    for lang in BOTH {
        let html = render_html(&fixtures::kitchen_sink(), &opts(lang, true));
        assert!(!html.contains("<script"), "unescaped script");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("SpineScan &lt;AI&gt;"));
        for external in ["http://", "https://", " src=", "<link", "@import", "url("] {
            assert!(!html.contains(external), "external resource {external}");
        }
        assert!(html.contains("@media print"));
        assert!(html.contains("size:A4"));
        assert!(
            html.contains("\"Noto Sans CJK SC\",\"Microsoft YaHei\",\"PingFang SC\",sans-serif")
        );
        assert!(html.contains("<table class=\"grid\">"));
        assert!(html.contains("class=\"bar\""));
        let tag = match lang {
            Lang::Zh => "<html lang=\"zh-CN\">",
            Lang::En => "<html lang=\"en\">",
        };
        assert!(html.contains(tag));
    }
}

#[test]
fn text_has_crude_bars_for_odds_ratios() {
    let text = render_text(&fixtures::kitchen_sink(), &opts(Lang::En, false));
    assert!(text.contains("OR 3.60"), "{text}");
    assert!(text.contains(&format!("|{}|", "#".repeat(24))));
}

/// Snapshot names: `{case}_{lang}.txt` / `.html`.
fn snapshot_case(name: &str, report: &AssessmentReport, explain: bool) {
    for lang in BOTH {
        let o = opts(lang, explain);
        insta::assert_snapshot!(format!("{name}_{lang}_text"), render_text(report, &o));
        insta::assert_snapshot!(format!("{name}_{lang}_html"), render_html(report, &o));
    }
}

#[test]
fn snapshot_pkp_l1() {
    snapshot_case("fixture_pkp_l1", &fixtures::pkp_l1(), false);
}

#[test]
fn snapshot_workup_l3() {
    snapshot_case("fixture_workup_l3", &fixtures::workup_l3(), false);
}

#[test]
fn snapshot_kitchen_sink_explained() {
    snapshot_case("fixture_kitchen_sink", &fixtures::kitchen_sink(), true);
}

/// Requests from the public vignettes (`../shared/vignettes/public`, field `request`) plus one
/// post-procedure case of ours that exercises procedure checks, AI provenance and risk tools.
const VIGNETTES: [(&str, &str); 9] = [
    (
        "pkp_fit_l1_wedge",
        include_str!("testdata/pkp-fit-l1-wedge.json"),
    ),
    (
        "workup_malignancy_l3",
        include_str!("testdata/workup-malignancy-l3.json"),
    ),
    (
        "post_procedure_l1",
        include_str!("testdata/post-procedure-l1.json"),
    ),
    (
        "pvp_frail_84_t8",
        include_str!("testdata/pvp-frail-84-t8.json"),
    ),
    (
        "denosumab_exit_transition",
        include_str!("testdata/denosumab-exit-transition.json"),
    ),
    (
        "referral_neuro_retropulsion_t12",
        include_str!("testdata/referral-neuro-retropulsion-t12.json"),
    ),
    (
        "hypocalcaemia_deferred",
        include_str!("testdata/hypocalcaemia-deferred.json"),
    ),
    ("renal_egfr_25", include_str!("testdata/renal-egfr-25.json")),
    (
        "teriparatide_25_months",
        include_str!("testdata/teriparatide-25-months.json"),
    ),
];

/// The engine's report for a vignette, with the versions fixed so snapshots change only when
/// the content does.
fn vignette(name: &str) -> AssessmentReport {
    let json = VIGNETTES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, j)| *j)
        .unwrap_or_else(|| panic!("no vignette {name}"));
    let today = fixtures::date("2026-11-24");
    let mut report = ovcf_core::assess_json(json, today)
        .unwrap_or_else(|e| panic!("vignette {name} does not assess: {e:?}"));
    report.engine_version = "ovcf-core (snapshot)".into();
    report.knowledge_version = "kb-(snapshot)".into();
    report
}

#[test]
fn every_key_exists_for_engine_output() {
    for (name, _) in VIGNETTES {
        let report = vignette(name);
        for lang in BOTH {
            for explain in [false, true] {
                let o = opts(lang, explain);
                let text = render_text(&report, &o);
                let html = render_html(&report, &o);
                assert!(!html.contains("<script"), "{name}");
                // Every cited source resolves in the knowledge base.
                assert!(!text.contains(t(lang, "ref.missing")), "{name}: {text}");
                assert!(!text.contains(t(lang, "ref.unavailable")), "{name}");
            }
        }
    }
    let missing: Vec<String> = missing_keys()
        .into_iter()
        .filter(|k| !k.starts_with("test."))
        .collect();
    assert!(
        missing.is_empty(),
        "keys missing from i18n.toml: {missing:?}"
    );
}

#[test]
fn snapshot_vignette_pkp_fit_l1_wedge() {
    snapshot_case(
        "vignette_pkp_fit_l1_wedge",
        &vignette("pkp_fit_l1_wedge"),
        false,
    );
}

#[test]
fn snapshot_vignette_workup_malignancy_l3() {
    snapshot_case(
        "vignette_workup_malignancy_l3",
        &vignette("workup_malignancy_l3"),
        false,
    );
}

#[test]
fn snapshot_vignette_post_procedure_l1_explained() {
    snapshot_case(
        "vignette_post_procedure_l1",
        &vignette("post_procedure_l1"),
        true,
    );
}

#[test]
fn assumptions_are_translated_by_code_with_their_value_or_shown_as_given() {
    let mut r = fixtures::workup_l3();
    r.inputs_assumed.push(ovcf_core::report::InputAssumed {
        path: "as_of".into(),
        assumption: "today's date 2026-11-24 used".into(),
        code: "today".into(),
        value: Some("2026-11-24".into()),
    });
    r.inputs_assumed.push(ovcf_core::report::InputAssumed {
        path: "patient.future_field".into(),
        assumption: "an assumption a newer engine makes".into(),
        code: "not_in_catalogue".into(),
        value: None,
    });
    let zh = render_text(&r, &opts(Lang::Zh, false));
    assert!(zh.contains("L3 椎体后壁 → 按未知处理"), "{zh}");
    assert!(
        zh.contains("评估日期 → 未提供评估日期：按当日 2026-11-24 计算"),
        "{zh}"
    );
    // A field the form does not name: its last segment in words, never the report path.
    assert!(
        zh.contains("future field → an assumption a newer engine makes"),
        "{zh}"
    );
}

#[test]
fn every_engine_assumption_code_has_a_translation() {
    for a in ovcf_core::engine::Assumed::ALL {
        let key = format!("assumption.{}", a.code());
        for lang in [Lang::Zh, Lang::En] {
            assert!(
                crate::i18n::lookup(lang, &key).is_some(),
                "{key} missing in {lang:?}"
            );
        }
    }
}

#[test]
fn a_patient_header_leads_the_printable_page_and_is_escaped() {
    let report = fixtures::pkp_l1();
    let opts = RenderOptions {
        lang: Lang::En,
        explain: false,
    };
    let header = vec![
        ("Patient".to_owned(), "<Wang>".to_owned()),
        ("MRN".to_owned(), "A-1".to_owned()),
    ];
    let html = crate::render_html_with_header(&report, &opts, &header);
    let patient = html.find("&lt;Wang&gt;").unwrap_or(usize::MAX);
    let as_of = html.find(crate::t(Lang::En, "report.as_of")).unwrap_or(0);
    assert!(
        patient < as_of,
        "the patient comes before the assessment date"
    );
    assert!(!html.contains("<Wang>"));
}

// ---- Revision 3: summary first, no internal identifiers, clinician's words -------------------

/// Every request of the repository's public vignettes (`vignettes/public/*.json`, field
/// `request`) and of `testdata/`, as (name, report).
fn all_engine_cases() -> Vec<(String, AssessmentReport)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vignettes/public");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "public vignettes missing");
    let mut out: Vec<(String, AssessmentReport)> = files
        .iter()
        .map(|f| {
            let v: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let name = f
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into());
            (name, fixtures::engine(&v["request"].to_string()))
        })
        .collect();
    for (name, _) in VIGNETTES {
        out.push((format!("testdata:{name}"), vignette(name)));
    }
    out
}

/// The 1-based line of the summary's decision (`Plan: …` / `方案：…`).
fn decision_line(text: &str, lang: Lang) -> Option<usize> {
    let needle = format!("{}{}", t(lang, "summary.plan"), t(lang, "report.colon"));
    text.lines()
        .position(|l| l.trim_start().starts_with(&needle))
        .map(|i| i + 1)
}

#[test]
fn the_decision_is_within_the_first_15_lines_for_every_vignette() {
    for (name, report) in all_engine_cases() {
        for lang in BOTH {
            let text = render_text(&report, &opts(lang, false));
            let line = decision_line(&text, lang);
            assert!(
                line.is_some_and(|n| n <= 15),
                "{name} {lang}: decision at line {line:?} of {}\n{text}",
                text.lines().count()
            );
            let plan = crate::i18n::word(lang, "plan", &report.treatment.plan);
            let first = text.lines().nth(line.unwrap_or(1) - 1).unwrap_or("");
            assert!(first.contains(plan), "{name} {lang}: {first}");
        }
    }
}

/// Rule ids (`3.2#5`, `rule 10.16`), report paths and the knowledge hash stay out of the default
/// outputs; `--explain` keeps them.
fn internal_identifiers(s: &str) -> Vec<String> {
    let mut found = Vec::new();
    for bad in [
        "decision-rules-v1",
        "kb-",
        "fractures[",
        "medications[",
        "规则 1",
        "rule 1",
        "rule 3",
        "rule 5",
    ] {
        if s.contains(bad) {
            found.push(bad.to_owned());
        }
    }
    // Report paths: `patient.age`, `labs.calcium_mmol_l` … (a prefix followed by a code).
    for prefix in [
        "patient.",
        "labs.",
        "treatment.",
        "pharmacotherapy.",
        "perioperative.",
        "risks.",
        "bone_density.",
        "procedure.",
    ] {
        for (i, _) in s.match_indices(prefix) {
            let next = s[i + prefix.len()..].chars().next();
            if next.is_some_and(|c| c.is_ascii_lowercase() || c == '_') {
                found.push(s[i..].chars().take(24).collect());
            }
        }
    }
    // `3.2#5`-like rule ids.
    let b = s.as_bytes();
    for (i, w) in b.windows(4).enumerate() {
        if w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit() && w[3] == b'#' {
            found.push(String::from_utf8_lossy(&b[i..(i + 4)]).into_owned());
        }
    }
    found
}

#[test]
fn default_outputs_carry_no_rule_ids_paths_or_knowledge_hashes() {
    let mut reports = all_engine_cases();
    reports.extend(
        fixtures::all_variants()
            .into_iter()
            .enumerate()
            .map(|(i, r)| (format!("variant {i}"), r)),
    );
    for (name, report) in &reports {
        for lang in BOTH {
            let o = opts(lang, false);
            for (fmt, out) in [
                ("text", render_text(report, &o)),
                ("html", render_html(report, &o)),
                ("fragment", crate::render_html_fragment(report, &o)),
            ] {
                let found = internal_identifiers(&out);
                assert!(found.is_empty(), "{name} {lang} {fmt}: {found:?}");
            }
        }
    }
    // They stay available with --explain.
    let explained = render_text(&fixtures::pkp_l1(), &opts(Lang::En, true));
    assert!(explained.contains("3.2#5") && explained.contains("kb-"));
}

/// The summary section's text (from its heading to the next section).
fn summary_block(text: &str, lang: Lang) -> String {
    let head = format!("1. {}\n", t(lang, "section.summary"));
    let start = text
        .find(&head)
        .unwrap_or_else(|| panic!("no summary:\n{text}"));
    let rest = &text[start..];
    let end = rest.find("\n2. ").unwrap_or(rest.len());
    rest[..end].to_owned()
}

#[test]
fn every_summary_value_appears_in_the_rendered_summary() {
    use crate::i18n::word;
    let mut reports = all_engine_cases();
    reports.push(("pkp_l1".into(), fixtures::pkp_l1()));
    reports.push(("kitchen_sink".into(), fixtures::kitchen_sink()));
    reports.push(("referral".into(), fixtures::referral()));
    for (name, r) in &reports {
        let s = &r.summary;
        for lang in BOTH {
            let text = render_text(r, &opts(lang, false));
            let block = summary_block(&text, lang);
            let mut expect: Vec<String> = vec![word(lang, "plan", &s.decision.plan).to_owned()];
            expect.extend(
                s.decision
                    .urgency
                    .map(|u| word(lang, "urgency", &u).to_owned()),
            );
            expect.extend(s.decision.treated_levels.iter().map(|l| l.to_string()));
            let agreement = word(lang, "of_agreement", &s.decision.of_score_agreement);
            expect.push(
                agreement
                    .split('（')
                    .next()
                    .unwrap_or(agreement)
                    .split(" (")
                    .next()
                    .unwrap_or(agreement)
                    .to_owned(),
            );
            for l in &s.levels {
                expect.push(l.level.to_string());
                expect.push(word(lang, "plan", &l.procedure).to_owned());
                expect.extend(l.approach.map(|a| word(lang, "approach", &a).to_owned()));
                expect.extend(l.cement_min_ml.map(|v| format!("{}–", crate::doc::num(v))));
                expect.extend(
                    l.cement_max_ml
                        .map(|v| format!("–{} mL", crate::doc::num(v))),
                );
                expect.extend(
                    l.max_fill_fraction
                        .map(|v| format!("{} %", crate::doc::num(v * 100.0))),
                );
            }
            for a in &s.urgent_actions {
                let w = crate::i18n::lookup(lang, &format!("urgent_action.{a}"))
                    .or_else(|| crate::i18n::lookup(lang, &format!("alert_code.{a}")))
                    .map_or_else(
                        || {
                            let alert = r.alerts.iter().find(|x| &x.code == a);
                            alert.map_or_else(
                                || a.clone(),
                                |x| crate::doc::pick(lang, &x.message).to_owned(),
                            )
                        },
                        str::to_owned,
                    );
                expect.push(w);
            }
            match s.drug.name {
                Some(d) => expect.push(word(lang, "drug", &d).to_owned()),
                None => expect.push(t(lang, "summary.no_drug").to_owned()),
            }
            if s.drug.start != ovcf_core::report::StartTiming::AfterChecks
                || s.drug.blocking_checks.is_empty()
            {
                expect.push(word(lang, "start", &s.drug.start).to_owned());
            }
            expect.extend(
                s.drug
                    .deferred_reason
                    .map(|d| word(lang, "deferred", &d).to_owned()),
            );
            expect.extend(s.drug.start_date.map(|d| d.to_string()));
            if let Some(dose) = &s.drug.dose {
                if let ovcf_core::report::Dose::Amount(x) = dose.dose {
                    expect.push(
                        format!(
                            "{} {}",
                            crate::doc::num(x),
                            dose.unit.clone().unwrap_or_default()
                        )
                        .trim()
                        .to_owned(),
                    );
                }
                expect.push(word(lang, "route", &dose.route).to_owned());
                expect.push(word(lang, "interval", &dose.interval).to_owned());
            }
            expect.extend(
                s.drug
                    .blocking_checks
                    .iter()
                    .map(|c| word(lang, "pre_dose_check", c).to_owned()),
            );
            expect.extend(s.drug.course_end.map(|d| d.to_string()));
            expect.push(
                s.next_visit
                    .due
                    .map_or_else(|| t(lang, "fu.none_next").to_owned(), |d| d.to_string()),
            );
            expect.extend(
                s.next_visit
                    .items
                    .iter()
                    .map(|i| word(lang, "fu_item", i).to_owned()),
            );
            for e in expect {
                assert!(
                    block.contains(&e),
                    "{name} {lang}: summary lacks {e:?}:\n{block}"
                );
            }
        }
    }
}

#[test]
fn revision_3_fields_in_clinicians_words() {
    let zh = render_text(&fixtures::kitchen_sink(), &opts(Lang::Zh, false));
    let en = render_text(&fixtures::kitchen_sink(), &opts(Lang::En, false));
    for w in [
        "特立帕肽剩余 2 个月（2027-03-10 满 24 个月），之后改用地舒单抗",
        "eGFR 28 mL/min/1.73 m²",
        "术后第 9 天：继续下地活动",
        "通便药，配合阿片类药物使用",
        "[须先完成] 血钙（白蛋白校正）（特立帕肽）：血钙 ≤ 2.60 mmol/L",
        "不可直接停药，须序贯过渡",
        "第 1 个月每周查血钙",
        "同次就诊合并：原定 2027-03-28",
        "分层：高（危险因素计数分层：中）",
        "未计入估计值的因素：高龄",
        "极高骨折风险：是：多发椎体骨折",
        "围手术期医嘱",
        "已强化节段：T12：经皮椎体成形术（PVP），2027-01-01（术后第 9 天）",
        "与患者共同决定",
    ] {
        assert!(zh.contains(w), "missing {w:?} in\n{zh}");
    }
    for w in [
        "teriparatide: 2 months remaining (24 months in total on 2027-03-10), then denosumab",
        "20 µg subcutaneously, daily",
        "decide with the patient",
    ] {
        assert!(en.contains(w), "missing {w:?} in\n{en}");
    }
    for text in [&zh, &en] {
        for banned in [
            "最长疗程",
            "maximum course",
            "Maximum duration",
            "one-year",
            "one year",
            "（一年）",
            "第二意见",
            "second opinion",
            "绝不简单停药",
        ] {
            assert!(!text.contains(banned), "{banned:?} in\n{text}");
        }
    }
    let pkp = render_text(&fixtures::pkp_l1(), &opts(Lang::En, false));
    for w in [
        "start once renal function (creatinine, CrCl/eGFR) and serum calcium (albumin-corrected) are known and within limits",
        "Without treatment, about 1 in 5 have a new vertebral fracture within a year (19.2 %, 95 % CI 13.6–24.8 %; Lindsay 2001)",
        "zoledronic acid 5 mg by intravenous infusion, every 12 months",
        "calcium 1200 mg/day (total intake) + vitamin D 1000 IU/day",
        "a proton-pump inhibitor (PPI) with NSAIDs",
        "Secondary-cause screen — by 2026-11-24",
        "[A/1 graded by the review (Zhou 2026)]",
        "Citation note: [seed:[28]] a single study",
        "Tier: high (Tier by factor count: low)",
    ] {
        assert!(pkp.contains(w), "missing {w:?} in\n{pkp}");
    }
    let zh_pkp = render_text(&fixtures::pkp_l1(), &opts(Lang::Zh, false));
    assert!(zh_pkp.contains("[A/1 综述自评]"), "{zh_pkp}");
}

#[test]
fn spinal_precautions_replace_no_brace_for_a_referral() {
    let r = fixtures::referral();
    let zh = render_text(&r, &opts(Lang::Zh, false));
    assert!(
        zh.contains("脊柱保护：严格平卧、轴线翻身，直至脊柱外科医师评估脊柱稳定性"),
        "{zh}"
    );
    assert!(zh.contains("转诊期间处理（脊柱保护）"), "{zh}");
    assert!(!zh.contains("不需支具"), "{zh}");
    assert!(!zh.contains("围手术期医嘱"), "{zh}");
    let en = render_text(&r, &opts(Lang::En, false));
    assert!(
        en.contains("flat bed rest, log-roll, until the spine surgeon's stability assessment"),
        "{en}"
    );
}

#[test]
fn the_perioperative_heading_only_for_an_operative_context() {
    use ovcf_core::report::PeriopContext as C;
    for (ctx, heading) in [
        (C::PreProcedure, "Perioperative orders"),
        (C::PostProcedure, "Perioperative orders"),
        (
            C::AwaitingSurgicalReview,
            "Care until the spinal surgical review",
        ),
        (C::NonOperative, "Acute care"),
    ] {
        let mut r = fixtures::pkp_l1();
        r.perioperative.context = ctx;
        let text = render_text(&r, &opts(Lang::En, false));
        assert!(text.contains(&format!(". {heading}\n")), "{ctx:?}\n{text}");
        if !ctx.is_operative() {
            assert!(!text.contains("Perioperative"), "{ctx:?}");
        }
    }
}

#[test]
fn dated_bed_rest_and_the_evidence_appendix_collapses_in_html() {
    let zh = render_text(&fixtures::workup_l3(), &opts(Lang::Zh, false));
    assert!(zh.contains("卧床至 2026-11-27"), "{zh}");
    assert!(zh.contains("降钙素 — 疑似恶性肿瘤，暂停使用"), "{zh}");
    assert!(zh.contains("L3 MRI STIR 信号"), "{zh}");
    let html = render_html(&fixtures::pkp_l1(), &opts(Lang::En, false));
    let appendix = html
        .find("<section id=\"evidence\" class=\"appendix\">\n<details>")
        .unwrap_or(0);
    let summary = html.find("<section id=\"summary\">").unwrap_or(usize::MAX);
    assert!(
        summary < appendix,
        "summary first, appendix collapsible and last"
    );
    assert!(html[appendix..].contains("Kyphoplasty for an acute painful fracture"));
    let fragment = crate::render_html_fragment(&fixtures::pkp_l1(), &opts(Lang::En, true));
    assert!(
        fragment.starts_with("<section id=\"summary\">"),
        "{fragment}"
    );
    let plan = fragment.find("<section id=\"plan\">").unwrap_or(usize::MAX);
    let alerts = fragment.find("<section id=\"alerts\">").unwrap_or(0);
    assert!(plan < alerts);
}

#[test]
fn snapshot_referral_with_spinal_precautions() {
    snapshot_case("fixture_referral", &fixtures::referral(), false);
}
