//! AssessmentRequest → FHIR R4 collection Bundle, using exactly the codes the inbound mapping
//! reads (README tables). For fixtures, demos and the FHIR/JSON equivalence tests: mapping the
//! Bundle back gives the same request for every field FHIR can carry
//! ([`fhir_representable`]).

use ovcf_core::request::{
    AssessmentRequest, BoneDensityInput, Dxa, Imaging, Labs, Level, Medication, Procedure,
    ProcedureType,
};
use serde_json::{Value, json};

use crate::codes::{self, own};

/// The part of a request that FHIR carries with this crate's codes: drops `phase`,
/// `preferences`, `risk_tools`, labs other than eGFR, bone density other than DXA, procedure
/// measurements, `finding_source`, drugs without an ATC code the mapping reads; orders lists as
/// the mapping does.
pub fn fhir_representable(req: &AssessmentRequest) -> AssessmentRequest {
    let mut r = req.clone();
    r.phase = None;
    r.preferences = None;
    r.risk_tools.clear();
    r.labs = r.labs.and_then(|l| {
        l.egfr_ml_min.map(|e| Labs {
            egfr_ml_min: Some(e),
            ..Labs::default()
        })
    });
    r.bone_density = r.bone_density.and_then(|b| {
        b.dxa
            .filter(|d| *d != Dxa::default())
            .map(|d| BoneDensityInput {
                dxa: Some(d),
                ..BoneDensityInput::default()
            })
    });
    r.medications.retain(|m| {
        codes::drug_atc(m.drug).is_some()
            || matches!(
                m.drug,
                ovcf_core::request::Drug::Nsaid | ovcf_core::request::Drug::Cox2Inhibitor
            )
    });
    r.medications.sort_by_key(|m| (m.start, m.drug));
    r.medications.dedup();
    if let Some(p) = &mut r.procedure {
        p.cement_volume_ml = None;
        p.vertebral_body_volume_ml = None;
        p.height_restoration_pct = None;
        p.cement_leakage = None;
    }
    r.fractures.sort_by_key(|f| f.level);
    for f in &mut r.fractures {
        f.finding_source = None;
        if let Some(im) = &mut f.imaging {
            im.sort_by_key(|i| *i as u8);
            im.dedup();
        }
        if let Some(s) = &mut f.malignancy_signs {
            s.sort_by_key(|x| *x as u8);
            s.dedup();
            if s.is_empty() {
                f.malignancy_signs = None;
            }
        }
    }
    if let Some(c) = &mut r.patient.comorbidities {
        c.sort_by_key(|x| *x as u8);
        c.dedup();
        if c.is_empty() {
            r.patient.comorbidities = None;
        }
    }
    r
}

fn coded(v: &impl serde::Serialize) -> Value {
    let code = serde_json::to_value(v).unwrap_or(Value::Null);
    json!({"coding": [{"system": codes::OVCF_VALUE, "code": code}]})
}

fn vertebra(level: Level) -> Value {
    json!({"coding": [{"system": codes::SNOMED, "code": codes::vertebra_snomed(level), "display": format!("{level} vertebra")}], "text": level.as_str()})
}

fn medication_code(m: &Medication) -> Option<&'static str> {
    codes::drug_atc(m.drug).or(match m.drug {
        ovcf_core::request::Drug::Nsaid => Some("M01AE01"),
        ovcf_core::request::Drug::Cox2Inhibitor => Some("M01AH01"),
        _ => None,
    })
}

/// A collection Bundle for `req` (as_of required to date the resources; the caller's `today`
/// otherwise).
pub fn request_to_bundle(
    req: &AssessmentRequest,
    patient_id: &str,
    today: ovcf_core::Date,
) -> Value {
    let as_of = req.as_of.unwrap_or(today);
    let subject = json!({"reference": format!("Patient/{patient_id}")});
    let day = as_of.to_string();
    let mut entries: Vec<Value> = Vec::new();
    let mut n = 0usize;
    let mut next_id = |prefix: &str| {
        n += 1;
        format!("{prefix}-{n}")
    };
    let p = &req.patient;
    let birth = as_of.add_months(-12 * i32::try_from(p.age).unwrap_or(0));
    entries.push(json!({
        "resourceType": "Patient", "id": patient_id,
        "gender": p.sex, "birthDate": birth.to_string(),
    }));
    let mut obs = |code: &str, site: Option<Level>, value: (&str, Value)| {
        let mut o = json!({
            "resourceType": "Observation", "id": next_id("obs"), "status": "final",
            "code": {"coding": [{"system": codes::OVCF_OBSERVATION, "code": code}]},
            "subject": subject, "effectiveDateTime": day,
        });
        if let Some(l) = site {
            o["bodySite"] = vertebra(l);
        }
        o[value.0] = value.1;
        o
    };
    let qty = |v: f64, unit: &str| {
        (
            "valueQuantity",
            json!({"value": v, "system": codes::UCUM, "code": unit}),
        )
    };
    let int = |v: u32| ("valueInteger", json!(v));
    let mut more: Vec<Value> = Vec::new();
    more.push(obs(
        own::NEUROLOGICAL_DEFICIT,
        None,
        ("valueCodeableConcept", coded(&p.neurological_deficit)),
    ));
    if let Some(v) = p.adherence {
        more.push(obs(
            own::ADHERENCE,
            None,
            ("valueCodeableConcept", coded(&v)),
        ));
    }
    if let Some(v) = p.surgical_tolerance {
        more.push(obs(
            own::SURGICAL_TOLERANCE,
            None,
            ("valueCodeableConcept", coded(&v)),
        ));
    }
    if let Some(v) = p.mobilisation_under_analgesia {
        more.push(obs(
            own::MOBILISATION,
            None,
            ("valueCodeableConcept", coded(&v)),
        ));
    }
    if let Some(v) = p.asa_class {
        more.push(obs(own::ASA_CLASS, None, int(u32::from(v))));
    }
    if let Some(v) = p.prior_fragility_fractures {
        more.push(obs(own::PRIOR_FRAGILITY_FRACTURES, None, int(v)));
    }
    if let Some(v) = p.prior_vertebral_fractures {
        more.push(obs(own::PRIOR_VERTEBRAL_FRACTURES, None, int(v)));
    }
    if let Some(v) = p.modified_frailty_index {
        more.push(obs(own::FRAILTY_INDEX, None, int(u32::from(v))));
    }
    if let Some(v) = p.nonunion_risk {
        more.push(obs(own::NONUNION_RISK, None, ("valueBoolean", json!(v))));
    }
    for f in &req.fractures {
        let l = Some(f.level);
        if let Some(v) = f.height_loss_pct {
            more.push(obs(own::HEIGHT_LOSS_PCT, l, qty(v, "%")));
        }
        if let Some(v) = f.kyphotic_angle_deg {
            more.push(obs(own::KYPHOTIC_ANGLE, l, qty(v, "deg")));
        }
        if let Some(m) = f.morphometry {
            more.push(obs(own::HEIGHT_ANTERIOR, l, qty(m.anterior_mm, "mm")));
            more.push(obs(own::HEIGHT_MIDDLE, l, qty(m.middle_mm, "mm")));
            more.push(obs(own::HEIGHT_POSTERIOR, l, qty(m.posterior_mm, "mm")));
            if let Some(r) = m.reference_mm {
                more.push(obs(own::HEIGHT_REFERENCE, l, qty(r, "mm")));
            }
        }
        if let Some(m) = f.mri {
            for (code, s) in [
                (own::MRI_T1, m.t1),
                (own::MRI_T2, m.t2),
                (own::MRI_STIR, m.stir),
            ] {
                if let Some(s) = s {
                    more.push(obs(code, l, ("valueCodeableConcept", coded(&s))));
                }
            }
        }
        if let Some(v) = f.posterior_wall {
            more.push(obs(
                own::POSTERIOR_WALL,
                l,
                ("valueCodeableConcept", coded(&v)),
            ));
        }
        if let Some(v) = f.of_type {
            more.push(obs(own::OF_TYPE, l, ("valueCodeableConcept", coded(&v))));
        }
        for (code, b) in [
            (own::ANTERIOR_CORTEX_BREACH, f.anterior_cortex_breach),
            (own::INTRAVERTEBRAL_CLEFT, f.intravertebral_cleft),
            (own::DEFORMITY_PROGRESSION, f.deformity_progression),
        ] {
            if let Some(b) = b {
                more.push(obs(code, l, ("valueBoolean", json!(b))));
            }
        }
        for s in f.malignancy_signs.iter().flatten() {
            more.push(obs(
                own::MALIGNANCY_SIGN,
                l,
                ("valueCodeableConcept", coded(s)),
            ));
        }
    }
    entries.append(&mut more);
    let mut id = 0usize;
    let mut nid = |prefix: &str| {
        id += 1;
        format!("{prefix}-{id}")
    };
    for f in &req.fractures {
        let mut c = json!({
            "resourceType": "Condition", "id": nid("cond"),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
            "code": {"coding": [
                {"system": codes::ICD10, "code": "M80.08"},
                {"system": codes::SNOMED, "code": "42942008", "display": "Compression fracture of vertebral column"}
            ]},
            "bodySite": [vertebra(f.level)],
            "subject": subject,
        });
        if let Some(d) = f.onset_days {
            c["onsetDateTime"] = json!(as_of.add_days(-i64::from(d)).to_string());
        }
        entries.push(c);
        if let Some(v) = f.pain_vas {
            entries.push(json!({
                "resourceType": "Observation", "id": nid("pain"), "status": "final",
                "code": {"coding": [{"system": codes::LOINC, "code": codes::LOINC_PAIN}]},
                "subject": subject, "effectiveDateTime": day, "bodySite": vertebra(f.level),
                "valueQuantity": {"value": v, "system": codes::UCUM, "code": "{score}"},
            }));
        }
        if let Some(im) = &f.imaging {
            let series: Vec<Value> = im
                .iter()
                .map(|i| {
                    let m = match i {
                        Imaging::Xray => "DX",
                        Imaging::Ct => "CT",
                        Imaging::Mri => "MR",
                    };
                    json!({"uid": nid("series"), "modality": {"system": codes::DICOM_DCM, "code": m}, "bodySite": {"system": codes::SNOMED, "code": codes::vertebra_snomed(f.level), "display": f.level.as_str()}})
                })
                .collect();
            entries.push(
                json!({"resourceType": "ImagingStudy", "id": nid("img"), "status": "available",
                "subject": subject, "series": series}),
            );
        }
    }
    if let Some(dxa) = req.bone_density.as_ref().and_then(|b| b.dxa) {
        for (loinc, v, neck) in [
            (codes::LOINC_DXA_LUMBAR_T, dxa.lumbar_spine_t, false),
            (codes::LOINC_DXA_FEMUR_T, dxa.femoral_neck_t, true),
            (codes::LOINC_DXA_HIP_T, dxa.total_hip_t, false),
        ] {
            let Some(v) = v else { continue };
            let mut o = json!({
                "resourceType": "Observation", "id": nid("dxa"), "status": "final",
                "code": {"coding": [{"system": codes::LOINC, "code": loinc}]},
                "subject": subject, "effectiveDateTime": day,
                "valueQuantity": {"value": v, "system": codes::UCUM, "code": "{T-score}"},
            });
            if neck {
                o["bodySite"] = json!({"coding": [{"system": codes::SNOMED, "code": codes::SNOMED_FEMORAL_NECK, "display": "Structure of neck of femur"}]});
            }
            entries.push(o);
        }
    }
    if let Some(e) = req.labs.and_then(|l| l.egfr_ml_min) {
        entries.push(json!({
            "resourceType": "Observation", "id": nid("egfr"), "status": "final",
            "code": {"coding": [{"system": codes::LOINC, "code": codes::LOINC_EGFR_OUT}]},
            "subject": subject, "effectiveDateTime": day,
            "valueQuantity": {"value": e, "system": codes::UCUM, "code": "mL/min/{1.73_m2}"},
        }));
    }
    for c in req.patient.comorbidities.iter().flatten() {
        entries.push(json!({
            "resourceType": "Condition", "id": nid("comorb"),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": codes::OVCF_COMORBIDITY, "code": c}]},
            "subject": subject,
        }));
    }
    for m in &req.medications {
        let Some(atc) = medication_code(m) else {
            continue;
        };
        let mut period = json!({"start": m.start.to_string()});
        if let Some(e) = m.end {
            period["end"] = json!(e.to_string());
        }
        entries.push(json!({
            "resourceType": "MedicationStatement", "id": nid("ms"),
            "status": if m.end.is_some() { "completed" } else { "active" },
            "medicationCodeableConcept": {"coding": [{"system": codes::ATC, "code": atc}]},
            "subject": subject, "effectivePeriod": period,
        }));
        if let Some(d) = m.last_dose {
            entries.push(json!({
                "resourceType": "MedicationAdministration", "id": nid("ma"), "status": "completed",
                "medicationCodeableConcept": {"coding": [{"system": codes::ATC, "code": atc}]},
                "subject": subject, "effectiveDateTime": d.to_string(),
            }));
        }
    }
    if let Some(p) = &req.procedure {
        entries.push(procedure_resource(p, as_of, &subject, &nid("proc")));
    }
    json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": entries.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>(),
    })
}

/// CPT code for a procedure at a level: 22510/22511 vertebroplasty cervicothoracic/lumbosacral,
/// 22513/22514 kyphoplasty thoracic/lumbar.
pub fn procedure_cpt(kind: ProcedureType, level: Level) -> &'static str {
    match (kind, level.is_thoracic()) {
        (ProcedureType::Vertebroplasty, true) => "22510",
        (ProcedureType::Vertebroplasty, false) => "22511",
        (ProcedureType::Kyphoplasty, true) => "22513",
        (ProcedureType::Kyphoplasty, false) => "22514",
    }
}

fn procedure_resource(p: &Procedure, as_of: ovcf_core::Date, subject: &Value, id: &str) -> Value {
    let code = json!({"coding": [{"system": codes::CPT, "code": procedure_cpt(p.kind, p.level)}]});
    let site = json!([vertebra(p.level)]);
    match p.date {
        Some(d) if d <= as_of => json!({
            "resourceType": "Procedure", "id": id, "status": "completed", "code": code,
            "bodySite": site, "subject": subject, "performedDateTime": d.to_string(),
        }),
        d => {
            let mut sr = json!({
                "resourceType": "ServiceRequest", "id": id, "status": "active", "intent": "order",
                "code": code, "bodySite": site, "subject": subject,
            });
            if let Some(d) = d {
                sr["occurrenceDateTime"] = json!(d.to_string());
            }
            sr
        }
    }
}
