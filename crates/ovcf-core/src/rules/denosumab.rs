//! The denosumab state of decision rules 11.28 ("Denosumab state"), 11.28.7 and 11.28.20–22:
//! computed over **every** denosumab entry, in any order. Public and pure so that the registry's
//! worklist reads the very same state as the assessment (issue: the worklist decides nothing of
//! its own).

use crate::date::Date;
use crate::knowledge::Thresholds;
use crate::request::{Drug, Medication};

/// The denosumab history that rules 5.7, 10.3, 10.4, 10.10 and 11.28 read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenosumabState {
    /// No denosumab entry started on or before `as_of`.
    None,
    /// Ongoing (a stop < 7 months after its last dose included, 10.3) and not overdue.
    Timely,
    /// Ongoing with an unknown last dose (warning; counts as timely, 11.28).
    LastDoseUnknown,
    /// Ongoing, last dose > 210 days before `as_of`.
    Overdue,
    /// Stopped, last dose 7–24 months ago, no bisphosphonate since (10.10, 11.28.7).
    Rebound,
    /// Stopped long ago, or followed by a bisphosphonate.
    Past,
}

impl DenosumabState {
    /// Ongoing (timely, unknown last dose or overdue).
    pub fn ongoing(self) -> bool {
        matches!(
            self,
            DenosumabState::Timely | DenosumabState::LastDoseUnknown | DenosumabState::Overdue
        )
    }

    /// Overdue or in the rebound window: resume now or zoledronic acid now (5.7).
    pub fn late(self) -> bool {
        matches!(self, DenosumabState::Overdue | DenosumabState::Rebound)
    }

    /// Timely (an unknown last dose counts as timely, 11.28).
    pub fn timely(self) -> bool {
        matches!(
            self,
            DenosumabState::Timely | DenosumabState::LastDoseUnknown
        )
    }

    /// Raises the critical alert `denosumab_overdue` (5.7, 10.10).
    pub fn raises_overdue_alert(self) -> bool {
        self.late()
    }
}

/// Everything the rules read about denosumab, over all entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenosumabHistory {
    pub state: DenosumabState,
    /// The latest of every entry's `last_dose` and the `end` of every ended entry without one;
    /// `None` when unknown (11.28).
    pub last_dose: Option<Date>,
    /// Some entry was started on or before `as_of` (any state but `None`).
    pub ever_taken: bool,
}

impl DenosumabHistory {
    /// Days from the last dose to `as_of`, when it is known.
    pub fn days_since_last_dose(&self, as_of: Date) -> Option<i64> {
        self.last_dose.map(|d| d.days_until(as_of))
    }
}

fn ended_before(m: &Medication, as_of: Date) -> bool {
    m.end.is_some_and(|e| e < as_of)
}

/// The last dose an entry documents: its `last_dose`, or the `end` of an ended entry without one.
fn entry_last_dose(m: &Medication, as_of: Date) -> Option<Date> {
    m.last_dose
        .or(if ended_before(m, as_of) { m.end } else { None })
}

/// Rule 11.28.7: a bisphosphonate given on or after `last_dose` (and by `as_of`): zoledronic acid
/// (one infusion covers the off-treatment period) or an oral one still taken.
pub fn bisphosphonate_since(meds: &[Medication], last_dose: Date, as_of: Date) -> bool {
    meds.iter().any(|b| {
        b.drug.is_bisphosphonate()
            && b.start >= last_dose
            && b.start <= as_of
            && (b.drug == Drug::ZoledronicAcid || b.end.is_none_or(|e| e >= as_of))
    })
}

/// Classifies the denosumab history of `meds` at `as_of` (11.28; every entry counts, entries
/// starting after `as_of` do not, 11.28.21).
pub fn history(meds: &[Medication], as_of: Date, th: &Thresholds) -> DenosumabHistory {
    let entries: Vec<&Medication> = meds
        .iter()
        .filter(|m| m.drug == Drug::Denosumab && m.start <= as_of)
        .collect();
    if entries.is_empty() {
        return DenosumabHistory {
            state: DenosumabState::None,
            last_dose: None,
            ever_taken: false,
        };
    }
    let rebound_min = th.denosumab_rebound_min_months.value;
    let entry_ongoing = |m: &Medication| {
        if !ended_before(m, as_of) {
            return true;
        }
        // 10.3: a stop fewer than 7 completed months after that entry's last dose.
        entry_last_dose(m, as_of).is_some_and(|d| f64::from(d.months_until(as_of)) < rebound_min)
    };
    let mut last = entries
        .iter()
        .filter_map(|m| entry_last_dose(m, as_of))
        .max();
    // Unknown when an ongoing entry without `last_dose` started after every documented dose.
    if entries.iter().any(|m| {
        !ended_before(m, as_of) && m.last_dose.is_none() && last.is_none_or(|d| m.start > d)
    }) {
        last = None;
    }
    let ongoing = entries.iter().any(|m| entry_ongoing(m));
    let state = if ongoing {
        match last {
            None => DenosumabState::LastDoseUnknown,
            Some(d) if d.days_until(as_of) as f64 > th.denosumab_overdue_after_days.value => {
                DenosumabState::Overdue
            }
            Some(_) => DenosumabState::Timely,
        }
    } else {
        // Stopped: every entry ended before `as_of`, so the last dose is known.
        match last {
            Some(d)
                if f64::from(d.months_until(as_of)) <= th.denosumab_rebound_max_months.value
                    && !bisphosphonate_since(meds, d, as_of) =>
            {
                DenosumabState::Rebound
            }
            _ => DenosumabState::Past,
        }
    };
    DenosumabHistory {
        state,
        last_dose: last,
        ever_taken: true,
    }
}

/// Some denosumab entry was running when a fracture began (rule 0.3, "on X at a fracture").
pub fn on_denosumab_at(meds: &[Medication], onset: Date, as_of: Date) -> bool {
    meds.iter().any(|m| {
        m.drug == Drug::Denosumab
            && m.start <= as_of
            && m.start < onset
            && m.end.is_none_or(|e| e >= onset)
    })
}

/// Some anti-osteoporosis drug is ongoing at `as_of` (rule 0.3), a denosumab stopped fewer than 7
/// months after its last dose included (10.3, 11.28.22). The engine's test for
/// `no_antiosteoporosis_therapy`, 6.1 and 11.13's floor, and the worklist's "therapy not started".
pub fn on_antiosteoporosis_therapy(meds: &[Medication], as_of: Date, th: &Thresholds) -> bool {
    on_therapy_given(meds, as_of, history(meds, as_of, th).state)
}

/// [`on_antiosteoporosis_therapy`] with the denosumab state already classified.
pub fn on_therapy_given(meds: &[Medication], as_of: Date, state: DenosumabState) -> bool {
    state.ongoing()
        || meds.iter().any(|m| {
            m.drug.is_antiosteoporosis() && m.start <= as_of && m.end.is_none_or(|e| e >= as_of)
        })
}
