//! Facts: values derived once from a valid request (decision rules §0, §1, §2), which the rules
//! read instead of the raw input.

use crate::date::Date;
use crate::knowledge::Thresholds;
use crate::report::{Acuity, Morphology};
use crate::request::{
    Adherence, AssessmentRequest, Comorbidity, Drug, FractureInput, Imaging, Level, Medication,
    NeurologicalDeficit, OfType, Phase, PosteriorWall, ProcedureType, Signal, SurgicalTolerance,
};
use crate::rules::denosumab::{self, DenosumabHistory};
use crate::validate::ValidRequest;

/// Removes the binary noise of a difference or product of decimal inputs (e.g. 20.3 − 16.3 =
/// 4.000000000000002 → 4.0) without rounding the value itself (rules 11.28.27, 11.28.29).
pub fn exact(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// Rounds half away from zero to one decimal (rule 0.2), after removing binary noise.
pub fn round1(x: f64) -> f64 {
    (exact(x) * 10.0).round() / 10.0
}

#[derive(Debug, Clone)]
pub struct FractureFacts {
    pub index: usize,
    pub level: Level,
    pub height_loss_pct: Option<f64>,
    /// The exact absolute loss in mm (denominator − minimum, not rounded: rule 11.28.27).
    pub height_loss_mm: Option<f64>,
    /// Which input gave the loss: `morphometry` or `height_loss_pct`.
    pub loss_from_morphometry: bool,
    /// Morphometry and `height_loss_pct` both given and > 5 points apart.
    pub loss_disagreement: Option<(f64, f64)>,
    pub genant_grade: Option<u8>,
    pub morphology: Option<Morphology>,
    /// Posterior height the smallest, no `reference_mm` and no `height_loss_pct`: crush, class
    /// unknown (rule 1.3). With `height_loss_pct` the loss is the given one (rule 11.28.10).
    pub crush_without_reference: bool,
    /// Posterior height the smallest and no `reference_mm` (crush morphology without a
    /// morphometric loss), whether or not `height_loss_pct` stands in (rules 1.3, 11.28.10).
    pub crush_no_reference: bool,
    pub acuity: Acuity,
    pub onset: Option<Date>,
    pub mri_done: bool,
    /// MRI done but neither STIR nor T2 given (rule 1.5).
    pub mri_signal_missing: bool,
    pub marrow_edema: Option<bool>,
    pub cleft: bool,
    pub unhealed: Option<bool>,
    pub pathological: bool,
    pub wall: PosteriorWall,
    pub wall_given: bool,
    pub vas: Option<f64>,
    pub of_type: Option<OfType>,
    pub xray_only: bool,
    /// Treated by the performed `procedure` (rule 0.6).
    pub treated: bool,
}

impl FractureFacts {
    pub fn path(&self, field: &str) -> String {
        format!("fractures[{}].{field}", self.index)
    }

    pub fn unstable_of(&self) -> bool {
        matches!(self.of_type, Some(OfType::OF4 | OfType::OF5))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenalMeasure {
    Crcl,
    Egfr,
}

#[derive(Debug, Clone, Copy)]
pub struct ProcedureFacts {
    pub kind: ProcedureType,
    pub level: Level,
    pub date: Option<Date>,
    pub performed: bool,
}

pub struct Facts<'a> {
    pub req: &'a AssessmentRequest,
    pub th: &'a Thresholds,
    pub as_of: Date,
    pub phase: Phase,
    pub fractures: Vec<FractureFacts>,
    pub age: u32,
    pub female: bool,
    pub deficit: NeurologicalDeficit,
    pub comorbidities: Vec<Comorbidity>,
    pub tolerance: SurgicalTolerance,
    pub tolerance_derived: bool,
    pub adherence: Adherence,
    pub nonunion_risk: bool,
    pub glucocorticoid: bool,
    pub prior_fragility: u32,
    pub prior_vertebral: u32,
    pub lowest_t: Option<(f64, &'static str)>,
    pub qct: Option<f64>,
    /// L1 CT attenuation when usable (L1 neither fractured nor the procedure level, rule 9.2).
    pub ct_hu_usable: Option<f64>,
    pub ct_hu_given_unusable: bool,
    pub renal: Option<(f64, RenalMeasure)>,
    pub calcium: Option<f64>,
    pub vitamin_d: Option<f64>,
    pub procedure: Option<ProcedureFacts>,
    pub any_pathological: bool,
    /// Rule 11.28: the denosumab state over every entry.
    pub denosumab: DenosumabHistory,
    /// Rule 11.1: the smallest `onset_days` among the untreated fractures that give it.
    pub days_since_onset: Option<u32>,
    /// Rule 11.1: days from a performed `procedure.date` to `as_of`.
    pub post_procedure_day: Option<i64>,
    /// Rule 11.1: a present fracture (treated or not), not suspected pathological, with
    /// `onset_days` < 365 or unknown.
    pub recent_fracture: bool,
}

impl<'a> Facts<'a> {
    pub fn has(&self, c: Comorbidity) -> bool {
        self.comorbidities.contains(&c)
    }

    /// Untreated fractures: the ones that rules 3.1–3.2 decide on.
    pub fn untreated(&self) -> impl Iterator<Item = &FractureFacts> {
        self.fractures.iter().filter(|f| !f.treated)
    }

    /// Medication entries that are ongoing at `as_of` (rule 0.3).
    pub fn ongoing(&self) -> impl Iterator<Item = &'a Medication> + '_ {
        let as_of = self.as_of;
        self.req
            .medications
            .iter()
            .filter(move |m| m.start <= as_of && m.end.is_none_or(|e| e >= as_of))
    }

    /// Some anti-osteoporosis drug is ongoing at `as_of`, a denosumab stopped < 7 months after its
    /// last dose included (10.3, 11.28.22): the test of 5.9's alert, 6.1 and 11.13's floor.
    pub fn on_antiosteoporosis_therapy(&self) -> bool {
        denosumab::on_therapy_given(&self.req.medications, self.as_of, self.denosumab.state)
    }

    pub fn is_ongoing(&self, drug: Drug) -> bool {
        self.ongoing().any(|m| m.drug == drug)
    }

    /// Total number of vertebral fractures: present levels not suspected pathological + prior
    /// vertebral ones (rules 5.3 and 6.1).
    pub fn vertebral_fracture_count(&self) -> u32 {
        let present = self.fractures.iter().filter(|f| !f.pathological).count() as u32;
        present + self.prior_vertebral
    }

    pub fn renal_below(&self, limit: f64) -> bool {
        self.renal.is_some_and(|(v, _)| v < limit)
    }

    pub fn max_vas(&self) -> Option<f64> {
        self.fractures
            .iter()
            .filter_map(|f| f.vas)
            .max_by(|a, b| a.total_cmp(b))
    }
}

fn signal_edema(s: Signal) -> bool {
    s == Signal::Hyperintense
}

fn fracture_facts(
    index: usize,
    f: &FractureInput,
    as_of: Date,
    treated: bool,
    th: &Thresholds,
) -> FractureFacts {
    let mut loss = f.height_loss_pct.map(round1);
    let mut loss_mm = None;
    let mut morphology = None;
    let mut crush_without_reference = false;
    let mut crush_no_reference = false;
    let mut loss_from_morphometry = false;
    let mut loss_disagreement = None;
    if let Some(m) = f.morphometry {
        let (a, mid, p) = (m.anterior_mm, m.middle_mm, m.posterior_mm);
        // Rule 11.28.14: the posterior reduction 100 × (reference − posterior) / reference,
        // rounded as 0.2, is compared with 20.0.
        let crush_ref = m
            .reference_mm
            .filter(|r| round1(100.0 * (r - p) / r) >= th.crush_posterior_reduction_min_pct.value);
        let computed = if let Some(r) = crush_ref {
            morphology = Some(Morphology::Crush);
            let min = a.min(mid).min(p);
            Some((1.0 - min / r, r - min))
        } else if a <= mid && a <= p {
            morphology = Some(Morphology::Wedge);
            Some((1.0 - a / p, p - a))
        } else if mid <= p {
            morphology = Some(Morphology::Biconcave);
            Some((1.0 - mid / p, p - mid))
        } else if m.reference_mm.is_none() {
            // Rule 11.28.10: a given `height_loss_pct` stands in; absolute loss stays null.
            morphology = Some(Morphology::Crush);
            crush_no_reference = true;
            crush_without_reference = f.height_loss_pct.is_none();
            None
        } else {
            // Posterior smallest but less than 20 % below the reference: no deformity to grade.
            Some((0.0, 0.0))
        };
        if let Some((fraction, mm)) = computed {
            let pct = round1((100.0 * fraction).max(0.0));
            if let Some(given) = f.height_loss_pct
                && (given - pct).abs() > th.morphometry_disagreement_pct.value
            {
                loss_disagreement = Some((pct, given));
            }
            loss = Some(pct);
            loss_mm = Some(exact(mm.max(0.0)));
            loss_from_morphometry = true;
        }
    }
    let genant_grade = loss.map(|l| {
        if l < th.height_loss_grade1_min_pct.value {
            0
        } else if l < th.height_loss_grade2_min_pct.value {
            1
        } else if l <= th.height_loss_grade3_above_pct.value {
            2
        } else {
            3
        }
    });
    let onset = f.onset_days.map(|d| as_of.add_days(-i64::from(d)));
    let acuity = match f.onset_days {
        Some(d) if f64::from(d) < th.acute_max_days.value => Acuity::Acute,
        Some(_) => Acuity::Chronic,
        None => Acuity::Unknown,
    };
    let imaging = f.imaging.as_deref().unwrap_or(&[]);
    let mri_done = imaging.contains(&Imaging::Mri) || f.mri.is_some();
    let decisive = f.mri.and_then(|m| m.stir.or(m.t2));
    let marrow_edema = if mri_done {
        decisive.map(signal_edema)
    } else {
        None
    };
    let mri_signal_missing = mri_done && decisive.is_none();
    let cleft = f.intravertebral_cleft == Some(true);
    let unhealed = if cleft || marrow_edema == Some(true) {
        Some(true)
    } else {
        marrow_edema.map(|_| false)
    };
    let xray_only = !imaging.is_empty() && imaging.iter().all(|i| *i == Imaging::Xray);
    FractureFacts {
        index,
        level: f.level,
        height_loss_pct: loss,
        height_loss_mm: loss_mm,
        loss_from_morphometry,
        loss_disagreement,
        genant_grade,
        morphology,
        crush_without_reference,
        crush_no_reference,
        acuity,
        onset,
        mri_done,
        mri_signal_missing,
        marrow_edema,
        cleft,
        unhealed,
        pathological: f.malignancy_signs.as_ref().is_some_and(|s| !s.is_empty()),
        wall: f.posterior_wall.unwrap_or(PosteriorWall::Unknown),
        wall_given: f.posterior_wall.is_some(),
        vas: f.pain_vas,
        of_type: f.of_type,
        xray_only,
        treated,
    }
}

impl<'a> Facts<'a> {
    pub fn derive(valid: &'a ValidRequest, th: &'a Thresholds) -> Facts<'a> {
        let req = valid.request();
        let as_of = valid.as_of();
        let p = &req.patient;
        let procedure = req.procedure.as_ref().map(|pr| ProcedureFacts {
            kind: pr.kind,
            level: pr.level,
            date: pr.date,
            performed: pr.date.is_some_and(|d| d <= as_of),
        });
        let treated_level = procedure.filter(|p| p.performed).map(|p| p.level);
        let fractures: Vec<FractureFacts> = req
            .fractures
            .iter()
            .enumerate()
            .map(|(i, f)| fracture_facts(i, f, as_of, treated_level == Some(f.level), th))
            .collect();
        let comorbidities = p.comorbidities.clone().unwrap_or_default();
        let major = [
            Comorbidity::HeartFailure,
            Comorbidity::CoronaryDisease,
            Comorbidity::Copd,
            Comorbidity::ChronicKidneyDisease,
            Comorbidity::Dementia,
        ]
        .iter()
        .filter(|c| comorbidities.contains(c))
        .count();
        let (tolerance, tolerance_derived) = match p.surgical_tolerance {
            Some(t) => (t, false),
            None => {
                let asa_poor = p
                    .asa_class
                    .is_some_and(|a| f64::from(a) >= th.poor_tolerance_asa_min.value);
                let poor =
                    asa_poor || major as f64 >= th.poor_tolerance_major_comorbidities_min.value;
                (
                    if poor {
                        SurgicalTolerance::Poor
                    } else {
                        SurgicalTolerance::Good
                    },
                    true,
                )
            }
        };
        let ongoing_gc = req.medications.iter().any(|m| {
            m.drug == Drug::Glucocorticoid && m.start <= as_of && m.end.is_none_or(|e| e >= as_of)
        });
        let glucocorticoid = comorbidities.contains(&Comorbidity::GlucocorticoidUse) || ongoing_gc;
        let nonunion_risk = p.nonunion_risk == Some(true)
            || glucocorticoid
            || comorbidities.contains(&Comorbidity::Diabetes)
            || comorbidities.contains(&Comorbidity::Smoking);
        let bd = req.bone_density.as_ref();
        let lowest_t = bd.and_then(|b| b.dxa).and_then(|d| {
            [
                (d.lumbar_spine_t, "lumbar_spine"),
                (d.femoral_neck_t, "femoral_neck"),
                (d.total_hip_t, "total_hip"),
            ]
            .into_iter()
            .filter_map(|(t, site)| t.map(|t| (t, site)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
        });
        let l1_unusable = fractures.iter().any(|f| f.level == Level::L1)
            || procedure.is_some_and(|p| p.level == Level::L1);
        let ct_hu = bd.and_then(|b| b.ct_hu_l1);
        let labs = req.labs.unwrap_or_default();
        let renal = labs
            .crcl_ml_min
            .map(|v| (v, RenalMeasure::Crcl))
            .or(labs.egfr_ml_min.map(|v| (v, RenalMeasure::Egfr)));
        let prior_vertebral = p.prior_vertebral_fractures.unwrap_or(0);
        let any_pathological = fractures.iter().any(|f| f.pathological);
        let days_since_onset = req
            .fractures
            .iter()
            .zip(&fractures)
            .filter(|(_, ff)| !ff.treated)
            .filter_map(|(fi, _)| fi.onset_days)
            .min();
        let post_procedure_day = procedure
            .filter(|p| p.performed)
            .and_then(|p| p.date)
            .map(|d| d.days_until(as_of));
        let recent_fracture = req.fractures.iter().zip(&fractures).any(|(fi, ff)| {
            !ff.pathological
                && fi
                    .onset_days
                    .is_none_or(|d| f64::from(d) < th.recent_fracture_max_days.value)
        });
        Facts {
            req,
            th,
            as_of,
            phase: req.phase.unwrap_or(Phase::Initial),
            fractures,
            age: p.age,
            female: p.sex == crate::request::Sex::Female,
            deficit: p.neurological_deficit,
            comorbidities,
            tolerance,
            tolerance_derived,
            adherence: p.adherence.unwrap_or(Adherence::Unknown),
            nonunion_risk,
            glucocorticoid,
            // Rule 10.16: defaults to the vertebral count when only that is given.
            prior_fragility: p.prior_fragility_fractures.unwrap_or(prior_vertebral),
            prior_vertebral,
            lowest_t,
            qct: bd.and_then(|b| b.qct_vbmd_mg_cm3),
            ct_hu_usable: ct_hu.filter(|_| !l1_unusable),
            ct_hu_given_unusable: ct_hu.is_some() && l1_unusable,
            renal,
            calcium: labs.calcium_mmol_l,
            vitamin_d: labs.vitamin_d_nmol_l,
            procedure,
            any_pathological,
            denosumab: denosumab::history(&req.medications, as_of, th),
            days_since_onset,
            post_procedure_day,
            recent_fracture,
        }
    }
}
