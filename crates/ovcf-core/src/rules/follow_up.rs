//! Follow-up schedule (decision rules §7, 10.17, 11.21, 11.22 and 11.28.1/5/18 with the 11.28
//! amendments): reviews, radiographs, DXA, bone turnover markers, denosumab injections and the
//! dated drug actions, each with its anchor and due date, then merged into one visit per time
//! point.

use serde_json::json;

use crate::date::Date;
use crate::engine::Out;
use crate::facts::Facts;
use crate::report::{
    Acuity, AvoidReason, BoneDensityFinding, FollowUp, FollowUpItem, MergedEntry, Outcome,
    Pharmacotherapy, Plan, StartTiming, Treatment,
};
use crate::request::Drug;

/// Every item in rule 11.22's order; indexes the item masks below.
const ITEMS: [FollowUpItem; 9] = FollowUpItem::ALL;

fn bit(item: FollowUpItem) -> u16 {
    1 << (item as u16)
}

fn items_of(mask: u16) -> Vec<FollowUpItem> {
    ITEMS.into_iter().filter(|i| mask & bit(*i) != 0).collect()
}

/// One follow-up entry before merging: its anchor, month count, due date and items.
struct Entry {
    from: Date,
    at_months: Option<u32>,
    due: Date,
    items: u16,
    switch_to: Option<Drug>,
}

#[derive(Default)]
struct Entries(Vec<Entry>);

impl Entries {
    /// Adds `item` to the entry `{from, at_months}` (due = from + at_months), created when absent.
    fn add(&mut self, from: Date, at_months: u32, item: FollowUpItem) {
        self.add_dated(
            from,
            Some(at_months),
            from.add_months(at_months as i32),
            item,
            None,
        );
    }

    fn add_dated(
        &mut self,
        from: Date,
        at_months: Option<u32>,
        due: Date,
        item: FollowUpItem,
        switch_to: Option<Drug>,
    ) {
        match self
            .0
            .iter_mut()
            .find(|e| e.from == from && e.at_months == at_months)
        {
            Some(e) => {
                e.items |= bit(item);
                e.switch_to = e.switch_to.or(switch_to);
            }
            None => self.0.push(Entry {
                from,
                at_months,
                due,
                items: bit(item),
                switch_to,
            }),
        }
    }
}

/// Rule 11.22 with the 11.28 amendments, on entries sorted by `due`: groups of entries due within
/// `window` days of the group's first; the anchor is the group's earliest dated drug action (else
/// its first entry); an anchor later than the first pulls in every entry due ≤ anchor + `window`.
fn group(sorted: &[Entry], window: i64, merged: &mut Vec<FollowUp>) {
    let dated = ITEMS
        .iter()
        .filter(|it| it.is_dated_drug_action())
        .fold(0, |m, it| m | bit(*it));
    let mut i = 0;
    while i < sorted.len() {
        let limit = sorted[i].due.add_days(window);
        let mut j = i + 1;
        while j < sorted.len() && sorted[j].due <= limit {
            j += 1;
        }
        let anchor = (i..j).find(|&k| sorted[k].items & dated != 0).unwrap_or(i);
        if sorted[anchor].due > sorted[i].due {
            // Amendment (b): the visit is on the anchor's date.
            let limit = sorted[anchor].due.add_days(window);
            while j < sorted.len() && sorted[j].due <= limit {
                j += 1;
            }
        }
        let a = &sorted[anchor];
        let mask = sorted[i..j].iter().fold(0, |m, e| m | e.items);
        merged.push(FollowUp {
            at_months: a.at_months,
            items: items_of(mask),
            from: a.from,
            due: a.due,
            switch_to: a.switch_to,
            merged_from: (i..j)
                .filter(|&k| k != anchor)
                .map(|k| MergedEntry {
                    from: sorted[k].from,
                    at_months: sorted[k].at_months,
                    due: sorted[k].due,
                })
                .collect(),
        });
        i = j;
    }
}

/// Rule 11.22: one visit per time point. Entries due on or before `as_of` are grouped only with
/// each other (amendment (a)), so no visit after `as_of` is pulled forward to today, and no two
/// visits after `as_of` are `window` days apart or less.
fn merge(mut entries: Vec<Entry>, as_of: Date, window: i64) -> Vec<FollowUp> {
    entries.sort_unstable_by(|a, b| {
        a.due
            .cmp(&b.due)
            .then(a.from.cmp(&b.from))
            .then(a.at_months.cmp(&b.at_months))
    });
    let split = entries.partition_point(|e| e.due <= as_of);
    let mut merged = Vec::with_capacity(entries.len());
    group(&entries[..split], window, &mut merged);
    group(&entries[split..], window, &mut merged);
    merged
}

/// Rule 11.22 on report entries (for tools and tests that build a schedule of their own): each
/// entry's `items` and `due` are taken as given, `merged_from` is ignored.
pub fn merge_visits(entries: &[FollowUp], as_of: Date, window_days: i64) -> Vec<FollowUp> {
    let entries = entries
        .iter()
        .map(|e| Entry {
            from: e.from,
            at_months: e.at_months,
            due: e.due,
            items: e.items.iter().fold(0, |m, i| m | bit(*i)),
            switch_to: e.switch_to,
        })
        .collect();
    merge(entries, as_of, window_days)
}

/// Rule 11.28.5's exception: zoledronic acid after denosumab (the 5.7 transition of an ongoing
/// denosumab, or zoledronic acid chosen after a stop or overdue dose).
fn zoledronic_after_denosumab(f: &Facts<'_>, first: Option<Drug>) -> bool {
    use crate::rules::denosumab::DenosumabState;
    first == Some(Drug::ZoledronicAcid)
        && (f.denosumab.state.ongoing() || f.denosumab.state == DenosumabState::Rebound)
}

pub fn schedule(
    f: &Facts<'_>,
    t: &Treatment,
    drugs: &Pharmacotherapy,
    bd: &BoneDensityFinding,
    out: &mut Out,
) -> Vec<FollowUp> {
    let th = f.th;
    let mut entries = Entries(Vec::with_capacity(12));
    let performed = f.procedure.filter(|p| p.performed).and_then(|p| p.date);
    let reviews = [
        th.follow_up_first_months.value as u32,
        th.follow_up_second_months.value as u32,
        th.follow_up_third_months.value as u32,
    ];
    // Post-procedure reviews count from the performed procedure (rule 0.6); a newly planned
    // augmentation or conservative care counts from `as_of`. Both apply when a treated level and
    // a new plan coexist; identical anchors merge.
    let mut anchors = Vec::with_capacity(2);
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
            entries.add(anchor, m, FollowUpItem::ClinicalReview);
            entries.add(anchor, m, FollowUpItem::Radiograph);
        }
    }
    // 11.28.18: the 1-month review (clinical review and radiograph, from `as_of`).
    if t.plan == Plan::Conservative
        && f.untreated()
            .any(|fr| fr.acuity == Acuity::Acute || fr.unhealed == Some(true))
    {
        let m = th.follow_up_early_months.value as u32;
        entries.add(f.as_of, m, FollowUpItem::ClinicalReview);
        entries.add(f.as_of, m, FollowUpItem::Radiograph);
        out.recommend("fu.conservative");
    }

    // Drug items, every plan.
    let first = drugs
        .recommended
        .first()
        .copied()
        .filter(|d| d.is_antiosteoporosis());
    // 11.1 / 11.28.5: markers at 3 months only on a drug start (`now`, `after_checks`).
    let starts =
        first.is_some() && matches!(drugs.start, StartTiming::Now | StartTiming::AfterChecks);
    let btm = th.btm_months.value as u32;
    if starts {
        entries.add(f.as_of, btm, FollowUpItem::BoneTurnoverMarkers);
        out.recommend("fu.bone_turnover_markers");
    }
    let after_denosumab = zoledronic_after_denosumab(f, first);
    if after_denosumab {
        // 11.28.5 exception (ECTS 2021): markers at 3 and 6 months, whatever `start` is.
        entries.add(f.as_of, btm, FollowUpItem::BoneTurnoverMarkers);
        entries.add(
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
    entries.add(f.as_of, dxa_at, FollowUpItem::Dxa);
    out.recommend("fu.dxa");

    // 11.28.1: exactly two injection entries when denosumab is the first choice.
    let mut injections_timely = None;
    if first == Some(Drug::Denosumab) {
        let interval = th.denosumab_interval_months.value as u32;
        let dmab = f.denosumab;
        let timely_last = dmab.last_dose.filter(|last| {
            drugs.start == StartTiming::Continue
                && dmab.state.ongoing()
                && dmab.state != crate::rules::denosumab::DenosumabState::Overdue
                && last.add_months(interval as i32) >= f.as_of
        });
        match timely_last {
            Some(last) => {
                entries.add(last, interval, FollowUpItem::DenosumabInjection);
                entries.add(last, 2 * interval, FollowUpItem::DenosumabInjection);
            }
            None => {
                entries.add(f.as_of, 0, FollowUpItem::DenosumabInjection);
                entries.add(f.as_of, interval, FollowUpItem::DenosumabInjection);
            }
        }
        injections_timely = Some(timely_last.is_some());
        out.recommend("fu.denosumab_injection");
    }

    // 11.21 (amended): the course end the drug rules dated, copied as they give it.
    if let Some(ce) = &drugs.course_end
        && let (Some(date), Some(from), Some(at)) = (ce.date, ce.from, ce.at_months)
    {
        let item = if ce.drug.is_pth_analogue() {
            Some(FollowUpItem::PthCourseEnd)
        } else if ce.drug == Drug::Romosozumab {
            Some(FollowUpItem::RomosozumabCourseEnd)
        } else {
            None
        };
        if let Some(item) = item {
            entries.add_dated(from, Some(at), date, item, ce.switch_to);
        }
    }
    // 11.21 / 11.28.15 / 11.28.16: a dated denosumab transition (never without a date).
    let transition = drugs.start_date.filter(|_| {
        drugs
            .avoid
            .iter()
            .any(|a| a.drug == Drug::Denosumab && a.reason == AvoidReason::PlannedTransition)
    });
    if let Some(date) = transition {
        entries.add_dated(
            f.as_of,
            None,
            date,
            FollowUpItem::DenosumabTransition,
            first,
        );
    }
    // 11.21 (amended): the exit plan is reviewed at the {from: as_of, at_months: 12} entry.
    if drugs.exit_plan.is_some() {
        entries.add(
            f.as_of,
            th.follow_up_third_months.value as u32,
            FollowUpItem::ExitPlanReview,
        );
    }

    let count = entries.0.len();
    let window = th.follow_up_merge_window_days.value as i64;
    let schedule = merge(entries.0, f.as_of, window);
    let dues: Vec<Date> = schedule.iter().map(|e| e.due).collect();
    out.explain(
        "follow_up[*].due",
        "11.22",
        &[
            ("plan", json!(t.plan)),
            ("review_anchors", json!(anchors)),
            ("drug_starts", json!(starts)),
            ("zoledronic_after_denosumab", json!(after_denosumab)),
            ("denosumab_injections_timely", json!(injections_timely)),
            ("no_bmd_measurement", json!(no_bmd)),
            ("entries_before_merging", json!(count)),
        ],
        Outcome::Applied,
        Some(json!(dues)),
    );
    schedule
}
