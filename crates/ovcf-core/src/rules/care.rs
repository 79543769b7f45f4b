//! The standard-of-care bundle (decision rules 11.16 with the 11.28 amendment on "the most recent
//! fracture"): falls risk, fracture liaison, exercise, secondary causes and VTE risk, each with
//! its due date and recommendation.

use serde_json::json;

use crate::engine::Out;
use crate::facts::Facts;
use crate::report::{
    CareCode, CareItem, Outcome, Perioperative, Plan, SecondaryCauseLab, Treatment,
};
use crate::request::Sex;

fn item(code: CareCode, id: &'static str, due: crate::date::Date, out: &mut Out) -> CareItem {
    out.recommend(id);
    CareItem {
        code,
        recommendation_id: id.to_owned(),
        due,
        labs: None,
    }
}

/// Rule 11.16's laboratory list, in its order, leaving out the values already known.
pub fn secondary_cause_labs(f: &Facts<'_>) -> Vec<SecondaryCauseLab> {
    use SecondaryCauseLab as L;
    let mut labs = Vec::with_capacity(14);
    // Group 1 (S127).
    labs.extend([L::FullBloodCount, L::EsrOrCrp]);
    // Group 2 (S127): calcium (albumin-corrected) unless given.
    if f.calcium.is_none() {
        labs.push(L::CalciumAlbumin);
    }
    labs.extend([L::Phosphate, L::AlkalinePhosphatase]);
    // Group 3 (S127): renal function unless eGFR or CrCl is given.
    if f.renal.is_none() {
        labs.push(L::RenalFunction);
    }
    labs.extend([L::LiverTransaminases, L::Tsh]);
    // Group 4 (S128): myeloma screen.
    labs.extend([L::SerumProteinElectrophoresis, L::SerumFreeLightChains]);
    // Group 5 (S128): 25(OH)D unless given, and PTH.
    if f.vitamin_d.is_none() {
        labs.push(L::VitaminD25oh);
    }
    labs.push(L::Pth);
    // Group 6 (prov.): magnesium with hypocalcaemia.
    if f.calcium.is_some_and(|c| c < f.th.calcium_low_below.value) {
        labs.push(L::Magnesium);
    }
    // Group 7 (S128): testosterone in men.
    if f.req.patient.sex == Sex::Male {
        labs.push(L::Testosterone);
    }
    labs
}

/// Rule 11.16: runs after the perioperative plan (the VTE item follows its bed rest).
pub fn bundle(
    f: &Facts<'_>,
    t: &Treatment,
    periop: &Perioperative,
    out: &mut Out,
) -> Vec<CareItem> {
    let as_of = f.as_of;
    let mut items = Vec::with_capacity(5);
    items.push(item(
        CareCode::FallsRiskAssessment,
        "care.falls",
        as_of,
        out,
    ));
    if !f.any_pathological {
        items.push(item(CareCode::FlsReferral, "care.fls", as_of, out));
    }
    // 11.28 amendment: the most recent fracture is the present fracture (treated or not) with the
    // smallest `onset_days`; without any onset the exercise is due at `as_of`.
    let latest_onset = f.fractures.iter().filter_map(|fr| fr.onset).max();
    if matches!(
        t.plan,
        Plan::Conservative | Plan::Vertebroplasty | Plan::Kyphoplasty
    ) {
        let within = f.th.exercise_start_within_days.value as i64;
        let due = latest_onset.map_or(as_of, |onset| onset.add_days(within).max(as_of));
        items.push(item(
            CareCode::PhysiotherapyStrengthBalance,
            "care.exercise",
            due,
            out,
        ));
    }
    if f.recent_fracture || f.any_pathological {
        let mut screen = item(
            CareCode::SecondaryCauseScreen,
            "care.secondary_causes",
            as_of,
            out,
        );
        screen.labs = Some(secondary_cause_labs(f));
        items.push(screen);
    }
    if periop.bed_rest_max_days.is_some() {
        items.push(item(
            CareCode::VteRiskAssessment,
            "care.vte_bed_rest",
            as_of,
            out,
        ));
    }
    let codes: Vec<CareCode> = items.iter().map(|i| i.code).collect();
    out.explain(
        "care_bundle[*].code",
        "11.16",
        &[
            ("plan", json!(t.plan)),
            ("any_pathological", json!(f.any_pathological)),
            ("recent_fracture", json!(f.recent_fracture)),
            ("most_recent_onset", json!(latest_onset)),
            ("bed_rest_max_days", json!(periop.bed_rest_max_days)),
        ],
        Outcome::Applied,
        Some(json!(codes)),
    );
    items
}
