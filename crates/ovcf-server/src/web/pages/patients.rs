//! Patients: search, the patient record (timeline, charts, forms to record care), stored
//! assessments.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use ovcf_core::AssessmentReport;
use ovcf_store::{MeasurementKind, MedicationInput, NewPatient, OutcomeInput, StoreError};
use serde_json::Value;

use super::assess::{pdf_response, report_page};
use super::{CARE_TEAM, CLINICIAN, Ctx, field, today};
use crate::AppState;
use crate::web::charts::{self, RefLine, TimelineRow};
use crate::web::session::WebSession;
use crate::web::{page, respond, url_encode};

fn patient_url(mrn: &str) -> String {
    format!("/patients/{}", url_encode(mrn))
}

/// A registry refusal in the page's words: field errors listed, not-found and conflicts said.
fn store_problem(ctx: &Ctx<'_>, e: &StoreError) -> Option<String> {
    match e {
        StoreError::Invalid(errs) => Some(
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        StoreError::NotFound(_) => Some(ctx.t("web.patient_not_found").to_owned()),
        StoreError::Conflict(m) => Some(m.clone()),
        _ => None,
    }
}

#[derive(serde::Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

/// `GET /patients?q=`: search by MRN or name, and a form to register a patient.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Query(query): Query<SearchQuery>,
) -> Result<Response, Response> {
    let q = query.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let path = match q {
        Some(q) => format!("/patients?q={}", url_encode(q)),
        None => "/patients".to_owned(),
    };
    let ctx = Ctx::new(&headers, &session, path, "patients");
    ctx.require(CARE_TEAM)?;
    let store = ctx.store(&state)?;
    let found = match q {
        Some(q) => match store.list_patients(&session.user, Some(q)).await {
            Ok(p) => Some(p),
            Err(e) => return Err(ctx.fail(&e)),
        },
        None => None,
    };
    Ok(list_page(&ctx, q, found.as_deref(), None, StatusCode::OK))
}

fn list_page(
    ctx: &Ctx<'_>,
    q: Option<&str>,
    found: Option<&[ovcf_store::Patient]>,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let content = html! {
        h1 { (ctx.t("web.patients_title")) }
        form.search role="search" method="get" action="/patients" {
            label for="q" { (ctx.t("web.search_label")) }
            input #q type="search" name="q" value=(q.unwrap_or("")) required;
            button type="submit" { (ctx.t("web.search")) }
        }
        @if let Some(list) = found {
            @if list.is_empty() {
                p.empty { (ctx.t("web.no_patients")) }
            } @else {
                table.grid.patients {
                    thead { tr {
                        th scope="col" { (ctx.t("web.mrn")) }
                        th scope="col" { (ctx.t("web.patient_name")) }
                        th scope="col" { (ctx.t("web.sex")) }
                        th scope="col" { (ctx.t("web.birth_date")) }
                    } }
                    tbody {
                        @for p in list {
                            tr {
                                th scope="row" { a href=(patient_url(&p.mrn)) { (p.mrn) } }
                                td { (p.name.as_deref().unwrap_or("—")) }
                                td { (ctx.t(&format!("form.v.sex.{}", p.sex))) }
                                td { (p.birth_date) }
                            }
                        }
                    }
                }
            }
        }
        @if ctx.session.may(CLINICIAN) {
            section.new-patient {
                h2 { (ctx.t("web.new_patient")) }
                @if let Some(p) = problem { p.form-error role="alert" { (p) } }
                form method="post" action="/patients" {
                    input type="hidden" name="csrf" value=(ctx.session.csrf);
                    div.grid {
                        div.field { label for="np-mrn" { (ctx.t("web.mrn")) abbr.req { "*" } } input #np-mrn name="mrn" required maxlength="64"; }
                        div.field { label for="np-name" { (ctx.t("web.patient_name")) } input #np-name name="name" maxlength="200"; }
                        div.field {
                            label for="np-sex" { (ctx.t("web.sex")) abbr.req { "*" } }
                            select #np-sex name="sex" required {
                                option value="" { (ctx.t("form.choose")) }
                                option value="female" { (ctx.t("form.v.sex.female")) }
                                option value="male" { (ctx.t("form.v.sex.male")) }
                            }
                        }
                        div.field { label for="np-birth" { (ctx.t("web.birth_date")) abbr.req { "*" } } input #np-birth name="birth_date" type="date" required; }
                        div.field { label for="np-phone" { (ctx.t("web.phone")) } input #np-phone name="phone" type="tel" maxlength="40"; }
                    }
                    button.primary type="submit" { (ctx.t("web.register")) }
                }
            }
        }
    };
    respond(
        status,
        page(&ctx.frame(), ctx.t("web.patients_title"), content),
    )
}

fn new_patient(pairs: &[(String, String)]) -> NewPatient {
    NewPatient {
        mrn: field(pairs, "mrn").unwrap_or("").to_owned(),
        sex: field(pairs, "sex").unwrap_or("").to_owned(),
        birth_date: field(pairs, "birth_date").unwrap_or("").to_owned(),
        name: field(pairs, "name").map(str::to_owned),
        phone: field(pairs, "phone").map(str::to_owned),
    }
}

/// `POST /patients`: registers a patient.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/patients", "patients");
    ctx.require_form(CLINICIAN, &pairs)?;
    let store = ctx.store(&state)?;
    let today = ctx.today()?;
    match store
        .add_patient(&session.user, new_patient(&pairs), today)
        .await
    {
        Ok(p) => Ok(Redirect::to(&patient_url(&p.mrn)).into_response()),
        Err(e) => match store_problem(&ctx, &e) {
            Some(p) => Ok(list_page(&ctx, None, None, Some(&p), StatusCode::OK)),
            None => Err(ctx.fail(&e)),
        },
    }
}

/// `POST /assess/save`: stores an assessment for a patient (registering the patient first when
/// the MRN is new and a birth date is given).
pub async fn save_assessment(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/assess", "assess");
    ctx.require_form(CLINICIAN, &pairs)?;
    let store = ctx.store(&state)?;
    let today = ctx.today()?;
    let mrn = field(&pairs, "mrn").unwrap_or("").to_owned();
    let request = field(&pairs, "request").unwrap_or("").to_owned();
    let mut result = store
        .record_assessment(&session.user, &mrn, &request, today)
        .await;
    if matches!(result, Err(StoreError::NotFound(_))) && field(&pairs, "birth_date").is_some() {
        let sex = serde_json::from_str::<Value>(&request)
            .ok()
            .and_then(|v| {
                v.pointer("/patient/sex")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let mut np = new_patient(&pairs);
        np.sex = sex;
        result = match store.add_patient(&session.user, np, today).await {
            Ok(_) => {
                store
                    .record_assessment(&session.user, &mrn, &request, today)
                    .await
            }
            Err(e) => Err(e),
        };
    }
    match result {
        Ok(rec) => Ok(Redirect::to(&format!(
            "{}?saved={}",
            patient_url(&mrn),
            rec.assessment_id
        ))
        .into_response()),
        Err(e) => match store_problem(&ctx, &e) {
            Some(p) => {
                let msg = if matches!(e, StoreError::NotFound(_)) {
                    ctx.t("web.save_needs_birth_date").to_owned()
                } else {
                    p
                };
                let content = html! {
                    h1 { (ctx.t("web.save_title")) }
                    p.form-error role="alert" { (msg) }
                    p { a href="/assess" data-back="" { (ctx.t("web.go_back")) } }
                };
                Ok(respond(
                    StatusCode::OK,
                    page(&ctx.frame(), ctx.t("web.save_title"), content),
                ))
            }
            None => Err(ctx.fail(&e)),
        },
    }
}

fn rows<'v>(record: &'v Value, key: &str) -> &'v [Value] {
    record
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn s<'v>(row: &'v Value, key: &str) -> &'v str {
    row.get(key).and_then(Value::as_str).unwrap_or("")
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    saved: Option<i64>,
}

/// `GET /patients/{mrn}`: the record (an audited read).
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Path(mrn): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, patient_url(&mrn), "patients");
    ctx.require(CARE_TEAM)?;
    record_page(&state, &ctx, &mrn, q.saved, None, StatusCode::OK).await
}

async fn record_page(
    state: &AppState,
    ctx: &Ctx<'_>,
    mrn: &str,
    saved: Option<i64>,
    problem: Option<(&str, String)>,
    status: StatusCode,
) -> Result<Response, Response> {
    let store = ctx.store(state)?;
    let today = ctx.today()?;
    let record = match store.show_patient(&ctx.session.user, mrn, today).await {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => {
            let content = html! { h1 { (ctx.t("web.patient_not_found")) } p { a href="/patients" { (ctx.t("web.nav.patients")) } } };
            return Ok(respond(
                StatusCode::NOT_FOUND,
                page(&ctx.frame(), ctx.t("web.patient_not_found"), content),
            ));
        }
        Err(e) => return Err(ctx.fail(&e)),
    };
    let today_s = today.to_string();
    let content = record_markup(ctx, mrn, &record, &today_s, saved, problem);
    Ok(respond(status, page(&ctx.frame(), mrn, content)))
}

fn ref_lines(lines: &[(f64, String)]) -> Vec<RefLine<'_>> {
    lines
        .iter()
        .map(|(y, label)| RefLine { y: *y, label })
        .collect()
}

/// The time series of measurement `kind`: (date, value).
fn series(record: &Value, kind: &str) -> Vec<(String, f64)> {
    rows(record, "measurements")
        .iter()
        .filter(|m| s(m, "kind") == kind)
        .filter_map(|m| Some((s(m, "date").to_owned(), m.get("value")?.as_f64()?)))
        .collect()
}

fn record_markup(
    ctx: &Ctx<'_>,
    mrn: &str,
    record: &Value,
    today: &str,
    saved: Option<i64>,
    problem: Option<(&str, String)>,
) -> Markup {
    let p = record.get("patient").unwrap_or(&Value::Null);
    let base = patient_url(mrn);
    let drug = |code: &str| ctx.t(&format!("drug.{code}")).to_owned();
    let timeline_rows = vec![
        TimelineRow {
            label: ctx.t("web.tl.fractures").to_owned(),
            points: rows(record, "index_fractures")
                .iter()
                .map(|f| (s(f, "index_date").to_owned(), s(f, "levels").to_owned()))
                .chain(
                    rows(record, "events")
                        .iter()
                        .filter(|e| s(e, "type") == "new_fracture")
                        .map(|e| {
                            (
                                s(e, "date").to_owned(),
                                format!("{} {}", ctx.t("form.v.event.new_fracture"), s(e, "level")),
                            )
                        }),
                )
                .collect(),
            spans: vec![],
        },
        TimelineRow {
            label: ctx.t("web.tl.assessments").to_owned(),
            points: rows(record, "assessments")
                .iter()
                .map(|a| {
                    (
                        s(a, "as_of").to_owned(),
                        ctx.t(&format!("plan.{}", s(a, "plan"))).to_owned(),
                    )
                })
                .collect(),
            spans: vec![],
        },
        TimelineRow {
            label: ctx.t("web.tl.procedures").to_owned(),
            points: rows(record, "procedures")
                .iter()
                .map(|x| {
                    (
                        s(x, "date").to_owned(),
                        format!(
                            "{} {}",
                            ctx.t(&format!("form.v.procedure_type.{}", s(x, "kind"))),
                            s(x, "level")
                        ),
                    )
                })
                .collect(),
            spans: vec![],
        },
        TimelineRow {
            label: ctx.t("web.tl.events").to_owned(),
            points: rows(record, "events")
                .iter()
                .filter(|e| s(e, "type") != "new_fracture")
                .map(|e| {
                    (
                        s(e, "date").to_owned(),
                        ctx.t(&format!("form.v.event.{}", s(e, "type"))).to_owned(),
                    )
                })
                .collect(),
            spans: vec![],
        },
    ];
    // One lane per drug, so overlapping courses stay readable.
    let mut drug_rows: Vec<TimelineRow> = Vec::new();
    for m in rows(record, "medications") {
        let code = s(m, "drug");
        let end = m.get("end_date").and_then(Value::as_str).map(str::to_owned);
        let span = (s(m, "start_date").to_owned(), end, drug(code));
        match drug_rows.iter_mut().find(|r| r.label == drug(code)) {
            Some(r) => r.spans.push(span),
            None => drug_rows.push(TimelineRow {
                label: drug(code),
                points: vec![],
                spans: vec![span],
            }),
        }
    }
    let mut timeline_rows = timeline_rows;
    let events_row = timeline_rows.pop();
    timeline_rows.extend(drug_rows);
    timeline_rows.extend(events_row);
    // Reference lines at the knowledge base's category edges (WHO T-score, QCT vBMD).
    let th = ovcf_core::knowledge::Knowledge::embedded()
        .ok()
        .map(|k| &k.thresholds);
    let t_lines: Vec<(f64, String)> = th
        .map(|t| {
            [t.dxa_osteoporosis_max_t.value, t.dxa_normal_min_t.value]
                .iter()
                .map(|v| (*v, format!("T = {v}")))
                .collect()
        })
        .unwrap_or_default();
    let qct_lines: Vec<(f64, String)> = th
        .map(|t| {
            [t.qct_osteoporosis_below.value, t.qct_low_max.value]
                .iter()
                .map(|v| (*v, format!("{v} mg/cm³")))
                .collect()
        })
        .unwrap_or_default();
    let t_refs = ref_lines(&t_lines);
    let qct_refs = ref_lines(&qct_lines);
    let lumbar = series(record, "dxa_lumbar_t");
    let neck = series(record, "dxa_femoral_neck_t");
    let qct = series(record, "qct");
    let vas = series(record, "vas");
    let drugs = [
        "alendronate",
        "risedronate",
        "ibandronate",
        "zoledronic_acid",
        "denosumab",
        "teriparatide",
        "abaloparatide",
        "romosozumab",
        "calcitonin",
        "calcium_vitamin_d",
        "nsaid",
        "cox2_inhibitor",
        "opioid",
        "paracetamol",
        "glucocorticoid",
    ];
    let (problem_form, problem_text) = match &problem {
        Some((f, t)) => (*f, Some(t.as_str())),
        None => ("", None),
    };
    let err = |form: &str| -> Markup {
        html! { @if problem_form == form { @if let Some(t) = problem_text { p.form-error role="alert" { (t) } } } }
    };
    html! {
        div.patient-head {
            h1 { (p.get("name").and_then(Value::as_str).unwrap_or(mrn)) }
            dl.meta {
                div { dt { (ctx.t("web.mrn")) } dd #mrn { (mrn) } }
                div { dt { (ctx.t("web.sex")) } dd { (ctx.t(&format!("form.v.sex.{}", s(p, "sex")))) } }
                div { dt { (ctx.t("web.birth_date")) } dd { (s(p, "birth_date")) } }
            }
            @if let Some(id) = saved {
                p.notice role="status" { (ctx.t("web.saved")) " " a href={ (base) "/assessments/" (id) } { "#" (id) } }
            }
        }
        section {
            h2 { (ctx.t("web.timeline")) }
            (charts::timeline(ctx.t("web.timeline"), &timeline_rows, today))
        }
        div.charts {
            section {
                h2 { (ctx.t("web.chart_t")) }
                @if lumbar.is_empty() && neck.is_empty() {
                    p.empty { (ctx.t("web.no_data")) }
                } @else {
                    @if !lumbar.is_empty() {
                        h3 { (ctx.t("form.f.bone_density.dxa.lumbar_spine_t")) }
                        (charts::line_chart(ctx.t("form.f.bone_density.dxa.lumbar_spine_t"), &lumbar, -5.0, 1.0, &t_refs))
                    }
                    @if !neck.is_empty() {
                        h3 { (ctx.t("form.f.bone_density.dxa.femoral_neck_t")) }
                        (charts::line_chart(ctx.t("form.f.bone_density.dxa.femoral_neck_t"), &neck, -5.0, 1.0, &t_refs))
                    }
                }
                @if !qct.is_empty() {
                    h3 { (ctx.t("form.f.bone_density.qct_vbmd_mg_cm3")) }
                    (charts::line_chart(ctx.t("form.f.bone_density.qct_vbmd_mg_cm3"), &qct, 0.0, 200.0, &qct_refs))
                }
            }
            section {
                h2 { (ctx.t("web.chart_vas")) }
                @if vas.is_empty() { p.empty { (ctx.t("web.no_data")) } }
                @else { (charts::line_chart(ctx.t("web.chart_vas"), &vas, 0.0, 10.0, &[])) }
            }
        }
        section {
            h2 { (ctx.t("web.assessments")) }
            @let list = rows(record, "assessments");
            @if list.is_empty() { p.empty { (ctx.t("web.no_data")) } }
            @else {
                table.grid { thead { tr { th scope="col" { "#" } th scope="col" { (ctx.t("report.as_of")) } th scope="col" { (ctx.t("plan_field.plan")) } th scope="col" { (ctx.t("report.engine_version")) } } }
                    tbody { @for a in list.iter().rev() {
                        @let id = a.get("id").and_then(Value::as_i64).unwrap_or(0);
                        tr { th scope="row" { a href={ (base) "/assessments/" (id) } { "#" (id) } } td { (s(a, "as_of")) } td { (ctx.t(&format!("plan.{}", s(a, "plan")))) } td { (s(a, "engine_version")) } }
                    } } }
            }
        }
        section {
            h2 { (ctx.t("web.tasks")) }
            @let all_tasks = rows(record, "tasks");
            @let tasks: Vec<&Value> = all_tasks.iter().filter(|t| s(t, "status") != "superseded").collect();
            @let superseded = all_tasks.len() - tasks.len();
            @if superseded > 0 { p.hint { (ctx.t("web.superseded_hidden")) " " (superseded) } }
            @if tasks.is_empty() { p.empty { (ctx.t("web.no_data")) } }
            @else {
                table.grid.tasks { thead { tr { th scope="col" { (ctx.t("web.due")) } th scope="col" { (ctx.t("web.status")) } th scope="col" { (ctx.t("web.items")) } } }
                    tbody { @for t in tasks {
                        tr.(s(t, "status")) { th scope="row" { (s(t, "due")) } td { (ctx.t(&format!("web.task_status.{}", s(t, "status")))) } td { (super::worklist::items_text(ctx, t.get("items"))) } }
                    } } }
            }
        }
        section {
            h2 { (ctx.t("web.medications")) }
            @let meds = rows(record, "medications");
            @if meds.is_empty() { p.empty { (ctx.t("web.no_data")) } }
            @else {
                table.grid.meds { thead { tr { th scope="col" { (ctx.t("form.f.medications.drug")) } th scope="col" { (ctx.t("form.f.medications.start")) } th scope="col" { (ctx.t("form.f.medications.last_dose")) } th scope="col" { (ctx.t("form.f.medications.end")) } } }
                    tbody { @for m in meds {
                        tr { th scope="row" { (drug(s(m, "drug"))) } td { (s(m, "start_date")) } td { (s(m, "last_dose")) } td { (s(m, "end_date")) } }
                    } } }
            }
        }
        @if ctx.session.may(CLINICIAN) {
            section.record-forms {
                h2 { (ctx.t("web.record_care")) }
                div.cards {
                    form.card method="post" action={ (base) "/medications" } {
                        h3 { (ctx.t("web.add_medication")) }
                        (err("medication"))
                        input type="hidden" name="csrf" value=(ctx.session.csrf);
                        div.field { label for="m-drug" { (ctx.t("form.f.medications.drug")) } select #m-drug name="drug" required { option value="" { (ctx.t("form.choose")) } @for d in drugs { option value=(d) { (drug(d)) } } } }
                        div.field { label for="m-start" { (ctx.t("form.f.medications.start")) } input #m-start type="date" name="start" required; }
                        div.field { label for="m-last" { (ctx.t("form.f.medications.last_dose")) } input #m-last type="date" name="last_dose"; }
                        div.field { label for="m-end" { (ctx.t("form.f.medications.end")) } input #m-end type="date" name="end"; }
                        button.primary type="submit" { (ctx.t("web.record")) }
                    }
                    form.card method="post" action={ (base) "/measurements" } {
                        h3 { (ctx.t("web.add_measurement")) }
                        (err("measurement"))
                        input type="hidden" name="csrf" value=(ctx.session.csrf);
                        div.field { label for="x-date" { (ctx.t("web.date")) } input #x-date type="date" name="date" required; }
                        @for k in MEASUREMENTS {
                            @let (lo, hi) = k.range();
                            div.field { label for={ "x-" (k.name()) } { (ctx.t(&format!("web.measure.{}", k.name()))) } input id={ "x-" (k.name()) } type="number" step="any" inputmode="decimal" min=(lo) max=(hi) name=(k.name()); }
                        }
                        button.primary type="submit" { (ctx.t("web.record")) }
                    }
                    form.card method="post" action={ (base) "/procedures" } {
                        h3 { (ctx.t("web.add_procedure")) }
                        (err("procedure"))
                        input type="hidden" name="csrf" value=(ctx.session.csrf);
                        div.field { label for="p-type" { (ctx.t("form.f.procedure.type")) } select #p-type name="type" required { option value="" { (ctx.t("form.choose")) } option value="vertebroplasty" { (ctx.t("form.v.procedure_type.vertebroplasty")) } option value="kyphoplasty" { (ctx.t("form.v.procedure_type.kyphoplasty")) } } }
                        div.field { label for="p-level" { (ctx.t("form.f.procedure.level")) } input #p-level name="level" required pattern="[TL][0-9]{1,2}" maxlength="3"; }
                        div.field { label for="p-date" { (ctx.t("form.f.procedure.date")) } input #p-date type="date" name="date" required; }
                        div.field { label for="p-vol" { (ctx.t("form.f.procedure.cement_volume_ml")) } span.control { input #p-vol type="number" step="any" min="0" max="30" name="cement_volume_ml"; span.unit { (ctx.t("unit.ml")) } } }
                        button.primary type="submit" { (ctx.t("web.record")) }
                    }
                    form.card method="post" action={ (base) "/events" } {
                        h3 { (ctx.t("web.add_event")) }
                        (err("event"))
                        input type="hidden" name="csrf" value=(ctx.session.csrf);
                        div.field { label for="e-type" { (ctx.t("web.event_type")) } select #e-type name="type" required { option value="" { (ctx.t("form.choose")) } @for k in ["new_fracture", "death", "lost_to_follow_up", "declined_treatment"] { option value=(k) { (ctx.t(&format!("form.v.event.{k}"))) } } } }
                        div.field { label for="e-date" { (ctx.t("web.date")) } input #e-date type="date" name="date" required; }
                        div.field { label for="e-level" { (ctx.t("form.f.procedure.level")) } input #e-level name="level" pattern="[TL][0-9]{1,2}" maxlength="3"; }
                        button.primary type="submit" { (ctx.t("web.record")) }
                    }
                }
            }
        }
    }
}

const MEASUREMENTS: [MeasurementKind; 8] = [
    MeasurementKind::DxaLumbarT,
    MeasurementKind::DxaFemoralNeckT,
    MeasurementKind::DxaTotalHipT,
    MeasurementKind::Qct,
    MeasurementKind::Vas,
    MeasurementKind::Egfr,
    MeasurementKind::P1np,
    MeasurementKind::Ctx,
];

/// A stored assessment: its request, its report as recorded, and the patient's identifying lines
/// for the report header.
struct Stored {
    request: Value,
    report: AssessmentReport,
    header: Vec<(String, String)>,
}

/// The page context of a stored assessment.
fn assessment_ctx<'a>(headers: &HeaderMap, session: &'a WebSession, mrn: &str, id: i64) -> Ctx<'a> {
    let path = format!("{}/assessments/{id}", patient_url(mrn));
    Ctx::new(headers, session, path, "patients")
}

/// The stored report of assessment `id` of patient `mrn` (an audited read; care team only).
async fn stored_report(
    state: &AppState,
    ctx: &Ctx<'_>,
    mrn: &str,
    id: i64,
) -> Result<Stored, Response> {
    ctx.require(CARE_TEAM)?;
    let store = ctx.store(state)?;
    let today = today().map_err(|e| ctx.fail(&e))?;
    let record = match store.show_patient(&ctx.session.user, mrn, today).await {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => return Err(not_found(ctx)),
        Err(e) => return Err(ctx.fail(&e)),
    };
    let row = rows(&record, "assessments")
        .iter()
        .find(|a| a.get("id").and_then(Value::as_i64) == Some(id))
        .ok_or_else(|| not_found(ctx))?;
    let request = row.get("request").cloned().unwrap_or(Value::Null);
    let report = row
        .get("report")
        .cloned()
        .ok_or_else(|| not_found(ctx))
        .and_then(|r| serde_json::from_value::<AssessmentReport>(r).map_err(|e| ctx.fail(&e)))?;
    let p = record.get("patient").unwrap_or(&Value::Null);
    let mut header = Vec::new();
    if let Some(name) = p.get("name").and_then(Value::as_str) {
        header.push((ctx.t("web.patient_name").to_owned(), name.to_owned()));
    }
    header.push((ctx.t("web.mrn").to_owned(), mrn.to_owned()));
    header.push((
        ctx.t("web.sex").to_owned(),
        ctx.t(&format!("form.v.sex.{}", s(p, "sex"))).to_owned(),
    ));
    header.push((
        ctx.t("web.birth_date").to_owned(),
        s(p, "birth_date").to_owned(),
    ));
    header.push((ctx.t("web.assessment_no").to_owned(), format!("#{id}")));
    Ok(Stored {
        request,
        report,
        header,
    })
}

fn not_found(ctx: &Ctx<'_>) -> Response {
    let content = html! { h1 { (ctx.t("web.not_found")) } };
    respond(
        StatusCode::NOT_FOUND,
        page(&ctx.frame(), ctx.t("web.not_found"), content),
    )
}

/// `GET /patients/{mrn}/assessments/{id}`: a stored report, exactly as recorded.
pub async fn assessment(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Path((mrn, id)): Path<(String, i64)>,
) -> Result<Response, Response> {
    let ctx = assessment_ctx(&headers, &session, &mrn, id);
    let st = stored_report(&state, &ctx, &mrn, id).await?;
    Ok(report_page(
        &ctx,
        &st.request,
        &st.report,
        Some((&mrn, id)),
        &st.header,
        state.web().pdf.available(),
    ))
}

/// `GET /patients/{mrn}/assessments/{id}/pdf`.
pub async fn assessment_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Path((mrn, id)): Path<(String, i64)>,
) -> Result<Response, Response> {
    let ctx = assessment_ctx(&headers, &session, &mrn, id);
    let st = stored_report(&state, &ctx, &mrn, id).await?;
    let safe: String = mrn.chars().filter(char::is_ascii_alphanumeric).collect();
    Ok(pdf_response(
        &state,
        &ctx,
        &st.report,
        &st.header,
        &format!("ovcf-{safe}-{id}.pdf"),
    )
    .await)
}

/// What one of the four record forms writes.
enum Write {
    Medication(MedicationInput),
    Measurements {
        date: String,
        values: Vec<(MeasurementKind, f64)>,
        unreadable: Vec<ovcf_store::InputError>,
    },
    Procedure {
        text: String,
        unreadable: Option<String>,
    },
    Event(OutcomeInput),
}

async fn apply(
    store: &ovcf_store::Store,
    user: &str,
    mrn: &str,
    write: Write,
) -> Result<(), StoreError> {
    match write {
        Write::Medication(m) => store.record_medication(user, mrn, m).await.map(drop),
        Write::Measurements {
            date,
            values,
            unreadable,
        } => {
            if !unreadable.is_empty() {
                return Err(StoreError::Invalid(unreadable));
            }
            store
                .record_measurements(user, mrn, &date, &values)
                .await
                .map(drop)
        }
        Write::Procedure { text, unreadable } => {
            if let Some(v) = unreadable {
                return Err(StoreError::invalid(
                    "cement_volume_ml",
                    format!("{v:?} is not a number"),
                ));
            }
            let today = today().map_err(|e| StoreError::invalid("", e.to_string()))?;
            store
                .record_procedure(user, mrn, &text, today)
                .await
                .map(drop)
        }
        Write::Event(ev) => store.record_event(user, mrn, ev).await.map(drop),
    }
}

/// Common frame of the four record forms: role, CSRF, registry; then the write; back to the
/// record, or the record with the problem at the form.
async fn record_write(
    state: &AppState,
    headers: &HeaderMap,
    session: &WebSession,
    mrn: &str,
    which: &'static str,
    pairs: &[(String, String)],
    write: Write,
) -> Result<Response, Response> {
    let ctx = Ctx::new(headers, session, patient_url(mrn), "patients");
    ctx.require_form(CLINICIAN, pairs)?;
    let store = ctx.store(state)?;
    match apply(store, &session.user, mrn, write).await {
        Ok(()) => Ok(Redirect::to(&format!("{}#{which}", patient_url(mrn))).into_response()),
        Err(e) => match store_problem(&ctx, &e) {
            Some(p) => record_page(state, &ctx, mrn, None, Some((which, p)), StatusCode::OK).await,
            None => Ok(ctx.fail(&e)),
        },
    }
}

fn opt(pairs: &[(String, String)], name: &str) -> Option<String> {
    field(pairs, name).map(str::to_owned)
}

pub async fn add_medication(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Path(mrn): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let m = MedicationInput {
        drug: opt(&pairs, "drug").unwrap_or_default(),
        start: opt(&pairs, "start").unwrap_or_default(),
        end: opt(&pairs, "end"),
        last_dose: opt(&pairs, "last_dose"),
    };
    record_write(
        &state,
        &headers,
        &session,
        &mrn,
        "medication",
        &pairs,
        Write::Medication(m),
    )
    .await
}

pub async fn add_measurement(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Path(mrn): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let mut values = Vec::new();
    let mut unreadable = Vec::new();
    for k in MEASUREMENTS {
        if let Some(v) = field(&pairs, k.name()) {
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() => values.push((k, x)),
                _ => unreadable.push(ovcf_store::InputError {
                    path: k.name().to_owned(),
                    message: format!("{v:?} is not a number"),
                }),
            }
        }
    }
    let date = opt(&pairs, "date").unwrap_or_default();
    let write = Write::Measurements {
        date,
        values,
        unreadable,
    };
    record_write(
        &state,
        &headers,
        &session,
        &mrn,
        "measurement",
        &pairs,
        write,
    )
    .await
}

pub async fn add_procedure(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Path(mrn): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let mut body = serde_json::Map::new();
    for k in ["type", "level", "date"] {
        if let Some(v) = field(&pairs, k) {
            body.insert(k.to_owned(), Value::String(v.to_owned()));
        }
    }
    let mut unreadable = None;
    if let Some(v) = field(&pairs, "cement_volume_ml") {
        match v.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Some(n) => {
                body.insert("cement_volume_ml".into(), Value::Number(n));
            }
            None => unreadable = Some(v.to_owned()),
        }
    }
    let write = Write::Procedure {
        text: Value::Object(body).to_string(),
        unreadable,
    };
    record_write(&state, &headers, &session, &mrn, "procedure", &pairs, write).await
}

pub async fn add_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Path(mrn): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let ev = OutcomeInput {
        date: opt(&pairs, "date").unwrap_or_default(),
        kind: opt(&pairs, "type").unwrap_or_default(),
        level: opt(&pairs, "level"),
    };
    record_write(
        &state,
        &headers,
        &session,
        &mrn,
        "event",
        &pairs,
        Write::Event(ev),
    )
    .await
}
