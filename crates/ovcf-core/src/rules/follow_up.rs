//! Follow-up schedule (decision rules §7, 10.17): reviews, radiographs, DXA, bone turnover markers
//! and denosumab injections, each with its anchor date and due date.

use std::collections::BTreeMap;

use serde_json::json;

use crate::date::Date;
use crate::engine::Out;
use crate::facts::Facts;
use crate::report::{
    Acuity, BoneDensityFinding, FollowUp, FollowUpItem, Outcome, Pharmacotherapy, Plan,
    StartTiming, Treatment,
};
use crate::request::Drug;
use crate::rules::denosumab::DenosumabState;

pub fn schedule(
    f: &Facts<'_>,
    t: &Treatment,
    drugs: &Pharmacotherapy,
    bd: &BoneDensityFinding,
    out: &mut Out,
) -> Vec<FollowUp> {
    let th = f.th;
    let mut entries: BTreeMap<(Date, u32), Vec<FollowUpItem>> = BTreeMap::new();
    let mut add = |from: Date, months: u32, item: FollowUpItem| {
        let items = entries.entry((from, months)).or_default();
        if !items.contains(&item) {
            items.push(item);
        }
    };
    let performed = f.procedure.filter(|p| p.performed).and_then(|p| p.date);
    let reviews = [
        th.follow_up_first_months.value as u32,
        th.follow_up_second_months.value as u32,
        th.follow_up_third_months.value as u32,
    ];
    // Post-procedure reviews count from the performed procedure (rule 0.6); a newly planned
    // augmentation or conservative care counts from `as_of`. Both apply when a treated level and
    // a new plan coexist; identical anchors merge.
    let mut anchors = Vec::new();
    if let Some(d) = performed {
        out.recommend("fu.post_augmentation");
        anchors.push(d);
    }
    if t.plan.is_augmentation() {
        out.recommend("fu.post_augmentation");
        anchors.push(f.as_of);
    } else if t.plan == Plan::Conservative && performed.is_none() {
        out.recommend("fu.conservative");
        anchors.push(f.as_of);
    }
    for &anchor in &anchors {
        for m in reviews {
            add(anchor, m, FollowUpItem::ClinicalReview);
            add(anchor, m, FollowUpItem::Radiograph);
        }
    }
    if t.plan == Plan::Conservative
        && f.untreated()
            .any(|fr| fr.acuity == Acuity::Acute || fr.unhealed == Some(true))
    {
        let m = th.follow_up_early_months.value as u32;
        add(f.as_of, m, FollowUpItem::ClinicalReview);
        add(f.as_of, m, FollowUpItem::Radiograph);
        out.recommend("fu.conservative");
    }

    // Drug items, every plan.
    let first = drugs
        .recommended
        .first()
        .copied()
        .filter(|d| d.is_antiosteoporosis());
    let starts = first.is_some() && drugs.start != StartTiming::Continue;
    if starts {
        add(
            f.as_of,
            th.btm_months.value as u32,
            FollowUpItem::BoneTurnoverMarkers,
        );
        out.recommend("fu.bone_turnover_markers");
    }
    let dmab = f.denosumab.state;
    if drugs.deferred_reason == Some(crate::report::DeferredReason::PlannedTransition)
        || (first == Some(Drug::ZoledronicAcid)
            && matches!(
                dmab,
                DenosumabState::Timely | DenosumabState::Overdue | DenosumabState::Rebound
            ))
    {
        // ECTS 2021: markers at 3 and 6 months of the denosumab exit.
        add(
            f.as_of,
            th.btm_months.value as u32,
            FollowUpItem::BoneTurnoverMarkers,
        );
        add(
            f.as_of,
            th.denosumab_interval_months.value as u32,
            FollowUpItem::BoneTurnoverMarkers,
        );
        out.recommend("fu.bone_turnover_markers");
    }
    let no_bmd = bd.lowest_t_score.is_none() && f.qct.is_none();
    let dxa_at = if no_bmd {
        th.dxa_early_months.value
    } else {
        th.dxa_months.value
    } as u32;
    add(f.as_of, dxa_at, FollowUpItem::Dxa);
    out.recommend("fu.dxa");
    if first == Some(Drug::Denosumab) {
        let interval = th.denosumab_interval_months.value as u32;
        let last = f.denosumab.last_dose;
        match (dmab, last) {
            (DenosumabState::Timely, Some(last)) => {
                add(last, interval, FollowUpItem::DenosumabInjection);
                add(last, 2 * interval, FollowUpItem::DenosumabInjection);
            }
            _ => {
                add(f.as_of, 0, FollowUpItem::DenosumabInjection);
                add(f.as_of, interval, FollowUpItem::DenosumabInjection);
            }
        }
        out.recommend("fu.denosumab_injection");
    }

    let mut schedule: Vec<FollowUp> = entries
        .into_iter()
        .map(|((from, at_months), mut items)| {
            items.sort();
            FollowUp {
                at_months: Some(at_months),
                items,
                from,
                due: from.add_months(at_months as i32),
                switch_to: None,
                merged_from: Vec::new(),
            }
        })
        .collect();
    schedule.sort_by(|a, b| a.due.cmp(&b.due).then(a.at_months.cmp(&b.at_months)));
    out.explain(
        "follow_up",
        "7",
        &[
            ("plan", json!(t.plan)),
            ("review_anchors", json!(anchors)),
            ("drug_starts", json!(starts)),
            ("no_bmd_measurement", json!(no_bmd)),
        ],
        Outcome::Applied,
        None,
    );
    schedule
}
