//! FLS indicators (contract registry-v1, after IOF Capture the Fracture and the UK FLS-DB),
//! computed by one SQL query over the index fractures of the period.
//!
//! Definitions (per index fracture whose `index_date` is in [from, to]; windows inclusive, dates
//! precomputed with the engine's calendar arithmetic when the index fracture was stored):
//! * `identified`: index fractures (= patients with an index fracture) in the period / the same.
//! * `bmd_within_90d`: a DXA (any site) or QCT measurement dated index_date … index_date + 90 days.
//! * `treatment_recommended`: an assessment dated index_date … + 12 months recommended an
//!   anti-osteoporosis drug (not calcium/vitamin D, not calcitonin).
//! * `treatment_started_16w`: an anti-osteoporosis drug (current statement) started by + 16 weeks
//!   and not ended before the index date.
//! * `followed_up_16w`: a task completed index_date … + 16 weeks.
//! * `followed_up_12m`: a task completed + 10 months … + 14 months.
//! * `adherent_52w`: an anti-osteoporosis drug covers + 52 weeks, and no gap between the end of one
//!   course and the next start (between the index date and + 52 weeks) exceeds 90 days.
//! * `refracture_12m`: a `new_fracture` event after the index date, by + 12 months.
//! * `cement_leakage`, `adjacent_fracture_12m`: denominator = index fractures with an augmentation
//!   on or after the index date; numerators = any leakage recorded; a `new_fracture` at a level next
//!   to a treated level within 12 months after that procedure.
//!
//! Periods that have not matured (index fractures younger than 14 months) keep their fractures in
//! the denominators: the 12-month indicators of a recent period are incomplete by construction.

use serde::Serialize;

use crate::db::{Engine, Ty, Val, days_between};
use crate::store::Store;
use crate::{Result, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Kpi {
    pub numerator: i64,
    pub denominator: i64,
    /// Percentage with one decimal; `null` when the denominator is 0.
    pub pct: Option<f64>,
}

impl Kpi {
    fn new(numerator: i64, denominator: i64) -> Kpi {
        let pct = (denominator > 0)
            .then(|| (numerator as f64 * 1000.0 / denominator as f64).round() / 10.0);
        Kpi {
            numerator,
            denominator,
            pct,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    pub from: Option<String>,
    pub to: Option<String>,
    pub identified: Kpi,
    pub bmd_within_90d: Kpi,
    pub treatment_recommended: Kpi,
    pub treatment_started_16w: Kpi,
    pub followed_up_16w: Kpi,
    pub followed_up_12m: Kpi,
    pub adherent_52w: Kpi,
    pub refracture_12m: Kpi,
    pub cement_leakage: Kpi,
    pub adjacent_fracture_12m: Kpi,
}

/// The ten indicator conditions (columns 1…10 of the result), each a predicate over the index
/// fracture `f`.
fn conditions(engine: Engine) -> Vec<String> {
    let gap = days_between(engine, "m1.end_date", "m2.start_date");
    vec![
        "EXISTS (SELECT 1 FROM measurements m WHERE m.patient_id = f.patient_id
        AND m.kind IN ('dxa_lumbar_t', 'dxa_femoral_neck_t', 'dxa_total_hip_t', 'qct')
        AND m.date >= f.index_date AND m.date <= f.d90)"
            .to_owned(),
        "EXISTS (SELECT 1 FROM assessments a WHERE a.patient_id = f.patient_id
        AND a.therapy_recommended = 1 AND a.as_of >= f.index_date AND a.as_of <= f.d12m)"
            .to_owned(),
        "EXISTS (SELECT 1 FROM current_medications m WHERE m.patient_id = f.patient_id
        AND m.anti_osteoporosis = 1 AND m.start_date <= f.d16w
        AND (m.end_date IS NULL OR m.end_date >= f.index_date))"
            .to_owned(),
        "EXISTS (SELECT 1 FROM tasks t JOIN task_closures c ON c.task_id = t.id
        WHERE t.patient_id = f.patient_id AND c.kind = 'done'
        AND c.date >= f.index_date AND c.date <= f.d16w)"
            .to_owned(),
        "EXISTS (SELECT 1 FROM tasks t JOIN task_closures c ON c.task_id = t.id
        WHERE t.patient_id = f.patient_id AND c.kind = 'done'
        AND c.date >= f.d10m AND c.date <= f.d14m)"
            .to_owned(),
        format!(
            "EXISTS (SELECT 1 FROM current_medications m WHERE m.patient_id = f.patient_id
        AND m.anti_osteoporosis = 1 AND m.start_date <= f.d52w
        AND (m.end_date IS NULL OR m.end_date >= f.d52w))
        AND NOT EXISTS (SELECT 1 FROM current_medications m1 WHERE m1.patient_id = f.patient_id
        AND m1.anti_osteoporosis = 1 AND m1.end_date IS NOT NULL
        AND m1.end_date >= f.index_date AND m1.end_date < f.d52w
        AND NOT EXISTS (SELECT 1 FROM current_medications m3 WHERE m3.patient_id = f.patient_id
          AND m3.anti_osteoporosis = 1 AND m3.id <> m1.id AND m3.start_date <= m1.end_date
          AND (m3.end_date IS NULL OR m3.end_date > m1.end_date))
        AND EXISTS (SELECT 1 FROM current_medications m2 WHERE m2.patient_id = f.patient_id
          AND m2.anti_osteoporosis = 1 AND m2.start_date > m1.end_date
          AND m2.start_date = (SELECT MIN(m4.start_date) FROM current_medications m4
            WHERE m4.patient_id = f.patient_id AND m4.anti_osteoporosis = 1
            AND m4.start_date > m1.end_date)
          AND {gap} > 90))"
        ),
        "EXISTS (SELECT 1 FROM outcome_events e WHERE e.patient_id = f.patient_id
        AND e.type = 'new_fracture' AND e.date > f.index_date AND e.date <= f.d12m)"
            .to_owned(),
        "EXISTS (SELECT 1 FROM procedures p WHERE p.patient_id = f.patient_id
        AND p.date >= f.index_date)"
            .to_owned(),
        "EXISTS (SELECT 1 FROM procedures p WHERE p.patient_id = f.patient_id
        AND p.date >= f.index_date AND p.leakage <> '')"
            .to_owned(),
        "EXISTS (SELECT 1 FROM procedures p JOIN outcome_events e ON e.patient_id = p.patient_id
        WHERE p.patient_id = f.patient_id AND p.date >= f.index_date
        AND e.type = 'new_fracture' AND e.date > p.date AND e.date <= p.d12m
        AND (e.level_no = p.level_no + 1 OR e.level_no = p.level_no - 1))"
            .to_owned(),
    ]
}

const PERIOD: &str = "f.index_date >= $1 AND f.index_date <= $2";

/// SQLite answers each condition as a correlated probe of a covering index per index fracture.
/// PostgreSQL would run each as a correlated SubPlan per row (~1 µs of executor overhead each);
/// instead every condition becomes the set of the period's index fractures meeting it (hash
/// semi/anti joins, one pass per table), left-joined on the fracture's id.
///
/// `by_month`: one row per calendar month of the index date (its `YYYY-MM` first), for run charts.
fn sql(engine: Engine, by_month: bool) -> String {
    let conds = conditions(engine);
    let (month_col, group) = if by_month {
        (
            "SUBSTR(f.index_date, 1, 7), ",
            "\nGROUP BY SUBSTR(f.index_date, 1, 7)\nORDER BY 1",
        )
    } else {
        ("", "")
    };
    match engine {
        Engine::Sqlite => {
            let cols: Vec<String> = conds
                .iter()
                .map(|c| format!("COUNT(CASE WHEN {c} THEN 1 END)"))
                .collect();
            format!(
                "SELECT {month_col}COUNT(*),\n  {}\nFROM index_fractures f\nWHERE {PERIOD}{group}",
                cols.join(",\n  ")
            )
        }
        Engine::Postgres => {
            let mut cols = vec!["COUNT(*)".to_owned()];
            let mut joins = String::new();
            for (i, c) in conds.iter().enumerate() {
                cols.push(format!("COUNT(k{i}.id)"));
                joins.push_str(&format!(
                    "\nLEFT JOIN (SELECT f.id FROM index_fractures f WHERE {PERIOD} AND {c}) k{i} ON k{i}.id = f.id"
                ));
            }
            format!(
                "SELECT {month_col}{}\nFROM index_fractures f{joins}\nWHERE {PERIOD}{group}",
                cols.join(", ")
            )
        }
    }
}

impl Store {
    /// The FLS indicators for index fractures dated `from` … `to` (ISO dates, inclusive).
    pub async fn kpi(&self, from: Option<&str>, to: Option<&str>) -> Result<Kpis> {
        let (f, t) = period(from, to)?;
        let rows = self.kpi_rows(&f, &t, false).await?;
        let row = rows.into_iter().next().unwrap_or_default();
        Ok(kpis_of(&row, 0, from, to))
    }

    /// The same indicators per calendar month of the index date (`YYYY-MM`, months without an
    /// index fracture absent), in one query: the dashboard's run charts.
    pub async fn kpi_by_month(&self, from: &str, to: &str) -> Result<Vec<(String, Kpis)>> {
        let (f, t) = period(Some(from), Some(to))?;
        let rows = self.kpi_rows(&f, &t, true).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let month = r.first().and_then(Val::as_str).unwrap_or("").to_owned();
                (month, kpis_of(r, 1, None, None))
            })
            .collect())
    }

    async fn kpi_rows(&self, from: &str, to: &str, by_month: bool) -> Result<Vec<Vec<Val>>> {
        let mut tx = self.pool.read().await?;
        if self.engine() == Engine::Postgres {
            // The planner's cost estimate for this query exceeds jit_above_cost; compiling it took
            // over a second, longer than running it.
            tx.exec("SET LOCAL jit = off", &[]).await?;
        }
        let mut types = Vec::with_capacity(12);
        if by_month {
            types.push(Ty::Text);
        }
        types.extend([Ty::Int; 11]);
        let rows = tx
            .fetch(
                &sql(self.engine(), by_month),
                &[Val::text(from), Val::text(to)],
                &types,
            )
            .await?;
        tx.rollback().await?;
        Ok(rows)
    }
}

/// The period as ISO dates (open ends as the extreme dates), checked.
fn period(from: Option<&str>, to: Option<&str>) -> Result<(String, String)> {
    let f = match from {
        Some(s) => crate::store::parse_date("--from", s)?.to_string(),
        None => "0000-01-01".to_owned(),
    };
    let t = match to {
        Some(s) => crate::store::parse_date("--to", s)?.to_string(),
        None => "9999-12-31".to_owned(),
    };
    if f > t {
        return Err(StoreError::invalid(
            "--to",
            format!("{t} is before --from {f}"),
        ));
    }
    Ok((f, t))
}

/// The indicators from a result row whose eleven counts start at column `first`.
fn kpis_of(row: &[Val], first: usize, from: Option<&str>, to: Option<&str>) -> Kpis {
    let n = |i: usize| row.get(first + i).and_then(Val::as_i64).unwrap_or(0);
    let all = n(0);
    let augmented = n(8);
    Kpis {
        from: from.map(str::to_owned),
        to: to.map(str::to_owned),
        identified: Kpi::new(all, all),
        bmd_within_90d: Kpi::new(n(1), all),
        treatment_recommended: Kpi::new(n(2), all),
        treatment_started_16w: Kpi::new(n(3), all),
        followed_up_16w: Kpi::new(n(4), all),
        followed_up_12m: Kpi::new(n(5), all),
        adherent_52w: Kpi::new(n(6), all),
        refracture_12m: Kpi::new(n(7), all),
        cement_leakage: Kpi::new(n(9), augmented),
        adjacent_fracture_12m: Kpi::new(n(10), augmented),
    }
}
