//! Demonstration patients for training, screenshots and benchmarks (`ovcf db seed-demo`).
//!
//! Three fictitious patients whose records exercise every page: one with five years of history
//! (two fractures, a kyphoplasty, a bisphosphonate then denosumab with the last injection
//! overdue, yearly DXA, pain scores, completed follow-ups), one recent fracture without
//! anti-osteoporosis therapy, one awaiting a work-up. Every value goes through the same store
//! calls (and the engine) as real data, and every write is audited as such.
//!
//! Safety: demo patients must never mix with real ones, so seeding refuses a registry that holds
//! any patient, and every demo MRN starts with `DEMO-`.

use ovcf_core::Date;
use serde_json::json;

use crate::store::{MeasurementKind, MedicationInput, NewPatient, OutcomeInput, Store};
use crate::{Result, StoreError};

/// The MRN prefix of every demonstration patient.
pub const DEMO_PREFIX: &str = "DEMO-";

fn d(today: Date, days_ago: i64) -> Date {
    today.add_days(-days_ago)
}

impl Store {
    /// Seeds the demonstration patients, dated relative to `today`; returns their MRNs.
    /// Refuses (`Conflict`) when the registry already holds a patient.
    pub async fn seed_demo(&self, actor: &str, today: Date) -> Result<Vec<String>> {
        if !self.list_patients(actor, None).await?.is_empty() {
            return Err(StoreError::Conflict(
                "the registry already holds patients; demonstration data goes only into an empty registry"
                    .into(),
            ));
        }
        let mut mrns = Vec::new();
        mrns.push(self.seed_long_history(actor, today).await?);
        mrns.push(self.seed_untreated(actor, today).await?);
        mrns.push(self.seed_workup(actor, today).await?);
        Ok(mrns)
    }

    /// Five years: L1 kyphoplasty, alendronate 3 years, a T12 fracture in year 3, denosumab with
    /// the last dose 8 months ago (overdue), yearly DXA, pain falling after the procedure.
    async fn seed_long_history(&self, actor: &str, today: Date) -> Result<String> {
        let mrn = format!("{DEMO_PREFIX}0001");
        let index = d(today, 5 * 365);
        self.add_patient(
            actor,
            NewPatient {
                mrn: mrn.clone(),
                sex: "female".into(),
                birth_date: d(today, 78 * 365).to_string(),
                name: Some("王秀英（演示）".into()),
                phone: None,
            },
            today,
        )
        .await?;
        let first = json!({
            "as_of": index.to_string(),
            "patient": {"age": 73, "sex": "female", "neurological_deficit": "none", "asa_class": 2},
            "fractures": [{"level": "L1", "onset_days": 9, "pain_vas": 8, "imaging": ["xray", "mri"],
                "mri": {"t1": "hypointense", "stir": "hyperintense"}, "height_loss_pct": 35,
                "posterior_wall": "intact"}],
            "bone_density": {"dxa": {"lumbar_spine_t": -3.2, "femoral_neck_t": -2.7}},
            "labs": {"egfr_ml_min": 68, "calcium_mmol_l": 2.3, "vitamin_d_nmol_l": 62}
        });
        self.record_assessment(actor, &mrn, &first.to_string(), today)
            .await?;
        let proc_date = index.add_days(3);
        let procedure = json!({"type": "kyphoplasty", "level": "L1", "date": proc_date.to_string(),
            "cement_volume_ml": 4.5, "vertebral_body_volume_ml": 26});
        self.record_procedure(actor, &mrn, &procedure.to_string(), today)
            .await?;
        let alendronate_start = index.add_days(10);
        self.record_medication(
            actor,
            &mrn,
            MedicationInput {
                drug: "alendronate".into(),
                start: alendronate_start.to_string(),
                end: Some(alendronate_start.add_months(36).to_string()),
                last_dose: None,
            },
        )
        .await?;
        self.record_medication(
            actor,
            &mrn,
            MedicationInput {
                drug: "calcium_vitamin_d".into(),
                start: alendronate_start.to_string(),
                end: None,
                last_dose: None,
            },
        )
        .await?;
        // Yearly DXA (slow gain on treatment), pain at each visit.
        let lumbar = [-3.2, -3.0, -2.9, -2.8, -2.6];
        for (year, t) in lumbar.iter().enumerate() {
            let date = index.add_months(12 * year as i32).add_days(20);
            if date > today {
                break;
            }
            self.record_measurements(
                actor,
                &mrn,
                &date.to_string(),
                &[
                    (MeasurementKind::DxaLumbarT, *t),
                    (MeasurementKind::DxaFemoralNeckT, t + 0.4),
                ],
            )
            .await?;
        }
        for (days_after, vas) in [
            (0, 8.0),
            (7, 3.0),
            (30, 2.0),
            (90, 2.0),
            (365, 1.0),
            (900, 6.0),
            (960, 3.0),
            (1400, 2.0),
        ] {
            let date = index.add_days(days_after);
            if date <= today {
                self.record_measurements(
                    actor,
                    &mrn,
                    &date.to_string(),
                    &[(MeasurementKind::Vas, vas)],
                )
                .await?;
            }
        }
        // A second fracture in year 3, treated conservatively; therapy escalated to denosumab.
        let second = index.add_days(895);
        self.record_event(
            actor,
            &mrn,
            OutcomeInput {
                date: second.to_string(),
                kind: "new_fracture".into(),
                level: Some("T12".into()),
            },
        )
        .await?;
        let reassess = json!({
            "as_of": second.add_days(5).to_string(),
            "phase": "follow_up",
            "patient": {"age": 75, "sex": "female", "neurological_deficit": "none", "asa_class": 2},
            "fractures": [{"level": "T12", "onset_days": 5, "pain_vas": 6, "imaging": ["xray", "mri"],
                "mri": {"t1": "hypointense", "stir": "hyperintense"}, "height_loss_pct": 15,
                "posterior_wall": "intact"}],
            "bone_density": {"dxa": {"lumbar_spine_t": -2.9}},
            "medications": [{"drug": "alendronate", "start": alendronate_start.to_string()}],
            "labs": {"egfr_ml_min": 61}
        });
        self.record_assessment(actor, &mrn, &reassess.to_string(), today)
            .await?;
        let denosumab_start = alendronate_start.add_months(36).add_days(5);
        let last_dose = today.add_months(-8);
        self.record_medication(
            actor,
            &mrn,
            MedicationInput {
                drug: "denosumab".into(),
                start: denosumab_start.min(last_dose).to_string(),
                end: None,
                last_dose: Some(last_dose.to_string()),
            },
        )
        .await?;
        // The follow-ups done so far: all but the latest.
        let mut due: Vec<_> = self
            .tasks(today, crate::TaskFilter::All)
            .await?
            .into_iter()
            .filter(|t| t.mrn == mrn && matches!(t.status.as_str(), "due" | "overdue"))
            .collect();
        due.sort_by(|a, b| a.due.cmp(&b.due));
        due.pop();
        for t in due {
            let on = Date::parse(&t.due).unwrap_or(today).min(today);
            self.task_done(
                actor,
                t.id,
                Some(&on.to_string()),
                Some("门诊复查完成（演示）"),
                today,
            )
            .await?;
        }
        Ok(mrn)
    }

    /// A recent T12 fracture, assessed, with no anti-osteoporosis drug yet (a care gap).
    async fn seed_untreated(&self, actor: &str, today: Date) -> Result<String> {
        let mrn = format!("{DEMO_PREFIX}0002");
        self.add_patient(
            actor,
            NewPatient {
                mrn: mrn.clone(),
                sex: "male".into(),
                birth_date: d(today, 74 * 365).to_string(),
                name: Some("李建国（演示）".into()),
                phone: None,
            },
            today,
        )
        .await?;
        let req = json!({
            "as_of": d(today, 40).to_string(),
            "patient": {"age": 74, "sex": "male", "neurological_deficit": "none", "asa_class": 3,
                "comorbidities": ["copd"]},
            "fractures": [{"level": "T12", "onset_days": 12, "pain_vas": 4, "imaging": ["xray", "mri"],
                "mri": {"t1": "hypointense", "stir": "hyperintense"}, "height_loss_pct": 18,
                "posterior_wall": "intact"}],
            "bone_density": {"dxa": {"lumbar_spine_t": -2.6}},
            "labs": {"egfr_ml_min": 48}
        });
        self.record_assessment(actor, &mrn, &req.to_string(), today)
            .await?;
        self.record_measurements(
            actor,
            &mrn,
            &d(today, 40).to_string(),
            &[(MeasurementKind::Vas, 4.0), (MeasurementKind::Egfr, 48.0)],
        )
        .await?;
        Ok(mrn)
    }

    /// An X-ray-only painful L1: MRI before deciding.
    async fn seed_workup(&self, actor: &str, today: Date) -> Result<String> {
        let mrn = format!("{DEMO_PREFIX}0003");
        self.add_patient(
            actor,
            NewPatient {
                mrn: mrn.clone(),
                sex: "female".into(),
                birth_date: d(today, 69 * 365).to_string(),
                name: Some("张丽华（演示）".into()),
                phone: None,
            },
            today,
        )
        .await?;
        let req = json!({
            "as_of": d(today, 3).to_string(),
            "patient": {"age": 69, "sex": "female", "neurological_deficit": "none"},
            "fractures": [{"level": "L1", "onset_days": 10, "pain_vas": 7, "imaging": ["xray"],
                "height_loss_pct": 30}]
        });
        self.record_assessment(actor, &mrn, &req.to_string(), today)
            .await?;
        Ok(mrn)
    }
}
