//! Care gaps for the fracture-liaison worklist: the ones that prevent the next fracture most
//! directly and that a follow-up schedule alone does not surface.
//!
//! The worklist decides nothing of its own: every gap is the engine's own function
//! (`ovcf_core::rules::denosumab`) applied to the registry's current medication records, so the
//! worklist and an assessment of the same data cannot disagree.
//!
//! - `denosumab_overdue`: the engine's critical alert `denosumab_overdue` would fire — denosumab
//!   ongoing (every entry counts; a stop < 7 months after the last dose counts as ongoing) with
//!   its last dose more than `denosumab_overdue_after_days` ago, or stopped 7–24 months ago with no
//!   bisphosphonate since (rebound; rules 5.7, 10.10, 11.28). `since` is the last dose.
//! - `denosumab_last_dose_unknown`: the engine's warning of that code — ongoing denosumab whose
//!   last injection date is not recorded. `since` is the latest denosumab start.
//! - `no_therapy`: a patient with an index fracture, alive, whose latest assessment recommends an
//!   anti-osteoporosis drug, and who is not on one at `as_of` by the engine's test (a plan still
//!   waiting for a work-up that may change it — e.g. a suspected pathological fracture — is not a
//!   gap).
//!
//! Dates are compared in Rust with the engine's date arithmetic, so SQLite and PostgreSQL agree.

use std::collections::BTreeMap;

use ovcf_core::Date;
use ovcf_core::request::{Drug, Medication};
use ovcf_core::rules::denosumab::{self, DenosumabState};
use serde::Serialize;

use crate::db::{Ty, Val};
use crate::store::Store;
use crate::{Result, StoreError};

/// One patient's gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CareGap {
    pub mrn: String,
    /// `denosumab_overdue`, `denosumab_last_dose_unknown` or `no_therapy`.
    pub kind: &'static str,
    /// The date the gap counts from (last denosumab dose, latest denosumab start, or the index
    /// fracture).
    pub since: String,
    /// Days from `since` to `as_of`.
    pub days: i64,
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::invalid("", format!("stored {what} {value:?} is not valid"))
}

fn date_of(v: Option<&Val>, what: &str) -> Result<Option<Date>> {
    match v.and_then(Val::as_str) {
        None => Ok(None),
        Some(s) => Date::parse(s).map(Some).ok_or_else(|| corrupt(what, s)),
    }
}

impl Store {
    /// The current medication records of every patient who is alive and not lost to follow-up,
    /// as the engine's medication entries, by MRN.
    async fn medications_by_patient(&self) -> Result<BTreeMap<String, Vec<Medication>>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .fetch(
                "SELECT p.mrn, m.drug, m.start_date, m.end_date, m.last_dose \
                 FROM current_medications m JOIN patients p ON p.id = m.patient_id \
                 WHERE NOT EXISTS (SELECT 1 FROM outcome_events e WHERE e.patient_id = m.patient_id \
                   AND e.type IN ('death', 'lost_to_follow_up')) \
                 ORDER BY p.mrn, m.id",
                &[],
                &[Ty::Text, Ty::Text, Ty::Text, Ty::Text, Ty::Text],
            )
            .await?;
        tx.rollback().await?;
        let mut by: BTreeMap<String, Vec<Medication>> = BTreeMap::new();
        for row in &rows {
            let mrn = row
                .first()
                .and_then(Val::as_str)
                .ok_or_else(|| corrupt("medication row", "without MRN"))?;
            let drug_text = row.get(1).and_then(Val::as_str).unwrap_or_default();
            let drug: Drug = serde_json::from_value(serde_json::Value::String(drug_text.into()))
                .map_err(|_| corrupt("drug", drug_text))?;
            let start = date_of(row.get(2), "medication start")?
                .ok_or_else(|| corrupt("medication start", ""))?;
            by.entry(mrn.to_owned()).or_default().push(Medication {
                drug,
                start,
                end: date_of(row.get(3), "medication end")?,
                last_dose: date_of(row.get(4), "last dose")?,
            });
        }
        Ok(by)
    }

    /// Every care gap on `as_of`: denosumab first (overdue, then unknown last dose), then
    /// untreated fractures; longest-standing first within each kind.
    pub async fn care_gaps(&self, as_of: Date) -> Result<Vec<CareGap>> {
        let th = &ovcf_core::knowledge::Knowledge::embedded()
            .map_err(|e| StoreError::invalid("", format!("knowledge base unavailable: {e}")))?
            .thresholds;
        let meds = self.medications_by_patient().await?;
        let mut overdue = Vec::new();
        let mut unknown = Vec::new();
        for (mrn, list) in &meds {
            let h = denosumab::history(list, as_of, th);
            if h.state.raises_overdue_alert() {
                if let Some(d) = h.last_dose {
                    overdue.push(CareGap {
                        mrn: mrn.clone(),
                        kind: "denosumab_overdue",
                        since: d.to_string(),
                        days: d.days_until(as_of),
                    });
                }
            } else if h.state == DenosumabState::LastDoseUnknown
                && let Some(start) = list
                    .iter()
                    .filter(|m| m.drug == Drug::Denosumab && m.start <= as_of)
                    .map(|m| m.start)
                    .max()
            {
                unknown.push(CareGap {
                    mrn: mrn.clone(),
                    kind: "denosumab_last_dose_unknown",
                    since: start.to_string(),
                    days: start.days_until(as_of),
                });
            }
        }

        let mut tx = self.pool.read().await?;
        let candidates = tx
            .fetch(
                "SELECT p.mrn, MIN(f.index_date) FROM index_fractures f \
                 JOIN patients p ON p.id = f.patient_id \
                 WHERE f.index_date <= $1 \
                 AND NOT EXISTS (SELECT 1 FROM outcome_events e WHERE e.patient_id = f.patient_id \
                   AND e.type IN ('death', 'lost_to_follow_up', 'declined_treatment')) \
                 AND EXISTS (SELECT 1 FROM assessments a WHERE a.patient_id = f.patient_id \
                   AND a.therapy_recommended = 1 \
                   AND a.id = (SELECT MAX(a2.id) FROM assessments a2 WHERE a2.patient_id = f.patient_id)) \
                 GROUP BY p.mrn",
                &[Val::text(as_of.to_string())],
                &[Ty::Text, Ty::Text],
            )
            .await?;
        tx.rollback().await?;
        let mut untreated = Vec::new();
        for row in &candidates {
            let Some(mrn) = row.first().and_then(Val::as_str) else {
                return Err(corrupt("index fracture row", "without MRN"));
            };
            let since =
                date_of(row.get(1), "index date")?.ok_or_else(|| corrupt("index date", ""))?;
            let on_therapy = meds
                .get(mrn)
                .is_some_and(|list| denosumab::on_antiosteoporosis_therapy(list, as_of, th));
            if !on_therapy {
                untreated.push(CareGap {
                    mrn: mrn.to_owned(),
                    kind: "no_therapy",
                    since: since.to_string(),
                    days: since.days_until(as_of),
                });
            }
        }
        let mut out = Vec::new();
        for mut kind in [overdue, unknown, untreated] {
            kind.sort_by_key(|g| std::cmp::Reverse(g.days));
            out.extend(kind);
        }
        Ok(out)
    }
}
