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
    assert!(text.find("1. 警示").unwrap_or(usize::MAX) < text.find("诊断").unwrap_or(0));
    let en = render_text(&r, &opts(Lang::En, false));
    assert!(en.contains("[CRITICAL]") && en.contains("[WARNING]") && en.contains("[INFO]"));
}

#[test]
fn sections_follow_the_consultation_order() {
    let text = render_text(&fixtures::kitchen_sink(), &opts(Lang::En, true));
    let order = [
        "Alerts",
        "Diagnosis",
        "Bone density",
        "Treatment plan",
        "Perioperative orders",
        "Anti-osteoporosis drug plan",
        "Risks",
        "Follow-up calendar",
        "Procedure checks",
        "External fracture-risk tools",
        "Recommendations",
        "References",
        "Why: decision trace",
        "Assumptions",
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
    assert!(
        zh.contains("fractures[0].posterior_wall → 按未知处理"),
        "{zh}"
    );
    assert!(
        zh.contains("as_of → 未提供评估日期：按当日 2026-11-24 计算"),
        "{zh}"
    );
    assert!(
        zh.contains("patient.future_field → an assumption a newer engine makes"),
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
