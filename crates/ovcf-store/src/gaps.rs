//! Care gaps for the fracture-liaison worklist: the two that prevent the next fracture most
//! directly and that a follow-up schedule alone does not surface.
//!
//! - `denosumab_overdue`: an ongoing denosumab whose last dose (or start, when no dose date is
//!   recorded) is more than `denosumab_overdue_after_days` before `as_of` — the engine's own
//!   threshold from the knowledge base, so the worklist and the assessment agree. Stopping
//!   denosumab without a transition causes rebound vertebral fractures.
//! - `no_therapy`: a patient with an index fracture, alive, whose latest assessment recommends an
//!   anti-osteoporosis drug, and who has no current one on `as_of` (a plan still waiting for a
//!   work-up that may change it — e.g. a suspected pathological fracture — is not a gap).
//!
//! Dates are compared in Rust with the engine's date arithmetic, so SQLite and PostgreSQL agree.

use ovcf_core::Date;
use serde::Serialize;

use crate::db::{Ty, Val};
use crate::store::Store;
use crate::{Result, StoreError};

/// One patient's gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CareGap {
    pub mrn: String,
    /// `denosumab_overdue` or `no_therapy`.
    pub kind: &'static str,
    /// The date the gap counts from (last denosumab dose, or the index fracture).
    pub since: String,
    /// Days from `since` to `as_of`.
    pub days: i64,
}

impl Store {
    /// Every care gap on `as_of`, denosumab first, longest-standing first.
    pub async fn care_gaps(&self, as_of: Date) -> Result<Vec<CareGap>> {
        let limit = ovcf_core::knowledge::Knowledge::embedded()
            .map_err(|e| StoreError::invalid("", format!("knowledge base unavailable: {e}")))?
            .thresholds
            .denosumab_overdue_after_days
            .value;
        let mut tx = self.pool.read().await?;
        let denosumab = tx
            .fetch(
                "SELECT p.mrn, COALESCE(m.last_dose, m.start_date) FROM current_medications m \
                 JOIN patients p ON p.id = m.patient_id \
                 WHERE m.drug = 'denosumab' AND (m.end_date IS NULL OR m.end_date > $1) \
                 AND NOT EXISTS (SELECT 1 FROM outcome_events e WHERE e.patient_id = m.patient_id \
                   AND e.type IN ('death', 'lost_to_follow_up'))",
                &[Val::text(as_of.to_string())],
                &[Ty::Text, Ty::Text],
            )
            .await?;
        let untreated = tx
            .fetch(
                "SELECT p.mrn, MIN(f.index_date) FROM index_fractures f \
                 JOIN patients p ON p.id = f.patient_id \
                 WHERE f.index_date <= $1 \
                 AND NOT EXISTS (SELECT 1 FROM current_medications m WHERE m.patient_id = f.patient_id \
                   AND m.anti_osteoporosis = 1 AND m.start_date <= $1 \
                   AND (m.end_date IS NULL OR m.end_date >= $1)) \
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
        let gap = |row: &Vec<Val>, kind: &'static str| -> Option<CareGap> {
            let mrn = row.first()?.as_str()?.to_owned();
            let since = row.get(1)?.as_str()?.to_owned();
            let days = Date::parse(&since)?.days_until(as_of);
            Some(CareGap {
                mrn,
                kind,
                since,
                days,
            })
        };
        let mut out: Vec<CareGap> = denosumab
            .iter()
            .filter_map(|r| gap(r, "denosumab_overdue"))
            .filter(|g| g.days as f64 > limit)
            .collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.days));
        let mut rest: Vec<CareGap> = untreated
            .iter()
            .filter_map(|r| gap(r, "no_therapy"))
            .collect();
        rest.sort_by_key(|g| std::cmp::Reverse(g.days));
        out.extend(rest);
        Ok(out)
    }
}
