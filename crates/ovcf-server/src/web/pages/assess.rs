//! The assessment form and the report it gives.

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use ovcf_core::AssessmentReport;
use ovcf_report::{Lang, RenderOptions};
use serde_json::Value;

use super::{CLINICIAN, Ctx, field, today};
use crate::AppState;
use crate::web::form::{self, Field, Kind, LAYOUT};
use crate::web::session::WebSession;
use crate::web::{page, respond, trusted_html};

/// An error shown at a field (or at the top when no field has its path).
#[derive(Debug, Clone)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// The engine's message in the page language: the fixed phrases are translated, the rest keeps
/// the engine's exact English words after a translated lead (the accepted values are codes).
fn engine_message(ctx: &Ctx<'_>, message: &str) -> String {
    if message.starts_with("required field is missing") || message.contains("less than 1 item") {
        return ctx.t("form.err.required").to_owned();
    }
    match ctx.lang {
        Lang::En => message.to_owned(),
        Lang::Zh => format!("{}（{message}）", ctx.t("form.err.invalid")),
    }
}

fn id_of(path: &str) -> String {
    let mut s = String::from("f-");
    for c in path.chars() {
        s.push(if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        });
    }
    s
}

fn range_hint(kind: &Kind) -> Option<String> {
    let (min, max) = match kind {
        Kind::Integer { min, max } | Kind::Number { min, max } => (*min, *max),
        _ => return None,
    };
    match (min, max) {
        (Some(a), Some(b)) => Some(format!("{a}–{b}")),
        (Some(a), None) => Some(format!("≥ {a}")),
        (None, Some(b)) => Some(format!("≤ {b}")),
        (None, None) => None,
    }
}

fn value_label(ctx: &Ctx<'_>, def: &str, v: &str) -> String {
    if form::shows_code(def) {
        v.to_owned()
    } else {
        ctx.t(&form::value_key(def, v)).to_owned()
    }
}

/// One input, named by its concrete path.
fn input(
    ctx: &Ctx<'_>,
    f: &Field,
    name: &str,
    unit: Option<&str>,
    values: &HashMap<String, Vec<String>>,
    problems: &HashMap<String, Vec<String>>,
) -> Markup {
    let id = id_of(name);
    let label = ctx.t(&form::label_key(&f.template));
    let given: &[String] = values.get(name).map_or(&[], Vec::as_slice);
    let first = given.first().map_or("", String::as_str);
    let errs = problems.get(name);
    let err_id = format!("{id}-err");
    let described = errs.map(|_| err_id.clone());
    let hint = range_hint(&f.kind);
    html! {
        div.field.invalid[errs.is_some()] data-path=(name) {
            @match &f.kind {
                Kind::EnumSet { def, values: options } => {
                    fieldset.choices aria-describedby=[described.as_deref()] {
                        legend { (label) }
                        @for v in options {
                            @let oid = format!("{id}-{v}");
                            label.check for=(oid) {
                                input #(oid) type="checkbox" name=(name) value=(v) checked[given.iter().any(|g| g == v)];
                                (value_label(ctx, def, v))
                            }
                        }
                    }
                }
                _ => {
                    label for=(id) {
                        (label)
                        @if f.required { abbr.req title=(ctx.t("form.required")) { "*" } }
                    }
                    span.control {
                        @match &f.kind {
                            Kind::Integer { min, max } | Kind::Number { min, max } => {
                                input #(id) name=(name) type="number"
                                    step=(if matches!(f.kind, Kind::Integer { .. }) { "1" } else { "any" })
                                    inputmode=(if matches!(f.kind, Kind::Integer { .. }) { "numeric" } else { "decimal" })
                                    min=[min] max=[max] value=(first)
                                    aria-invalid=[errs.map(|_| "true")] aria-describedby=[described.as_deref()];
                            }
                            Kind::Bool => {
                                select #(id) name=(name) aria-invalid=[errs.map(|_| "true")] aria-describedby=[described.as_deref()] {
                                    option value="" { (ctx.t("form.unstated")) }
                                    option value="true" selected[first == "true"] { (ctx.t("form.yes")) }
                                    option value="false" selected[first == "false"] { (ctx.t("form.no")) }
                                }
                            }
                            Kind::Enum { def, values: options } => {
                                select #(id) name=(name) required[f.required] aria-invalid=[errs.map(|_| "true")] aria-describedby=[described.as_deref()] {
                                    option value="" { (ctx.t("form.choose")) }
                                    @for v in options {
                                        option value=(v) selected[first == v] { (value_label(ctx, def, v)) }
                                    }
                                }
                            }
                            Kind::Date => {
                                input #(id) name=(name) type="date" value=(first)
                                    aria-invalid=[errs.map(|_| "true")] aria-describedby=[described.as_deref()];
                            }
                            Kind::Text { max_len } => {
                                input #(id) name=(name) type="text" maxlength=[max_len] value=(first)
                                    aria-invalid=[errs.map(|_| "true")] aria-describedby=[described.as_deref()];
                            }
                            Kind::EnumSet { .. } | Kind::Object | Kind::Array => {}
                        }
                        @if let Some(u) = unit { span.unit { (ctx.t(u)) } }
                    }
                    @if let Some(h) = hint { span.hint { (h) } }
                }
            }
            @if let Some(es) = errs {
                p.field-error id=(err_id) role="alert" {
                    @for e in es { (e) " " }
                }
            }
        }
    }
}

/// The fields of one repeated block `group[index]`.
fn block(
    ctx: &Ctx<'_>,
    group: &str,
    index: &str,
    fields: &[(&str, Option<&str>)],
    values: &HashMap<String, Vec<String>>,
    problems: &HashMap<String, Vec<String>>,
) -> Markup {
    let prefix = format!("{group}[]");
    let concrete = format!("{group}[{index}]");
    html! {
        fieldset.block data-group=(group) {
            legend {
                (ctx.t(&format!("form.block.{group}"))) " "
                span.block-no { @if let Ok(i) = index.parse::<usize>() { (i + 1) } }
            }
            div.grid {
                @for (template, unit) in fields {
                    @if let Some(f) = form::spec().get(template) {
                        @let name = template.replacen(&prefix, &concrete, 1);
                        (input(ctx, f, &name, *unit, values, problems))
                    }
                }
            }
            button.remove type="button" data-remove="" { (ctx.t("form.remove")) }
        }
    }
}

/// The spine diagram: T1–L5, each a button that adds that level.
fn spine(ctx: &Ctx<'_>, chosen: &[String]) -> Markup {
    const LEVELS: [&str; 17] = [
        "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2",
        "L3", "L4", "L5",
    ];
    html! {
        div.spine role="group" aria-label=(ctx.t("form.spine")) {
            p.spine-help { (ctx.t("form.spine_help")) }
            svg viewBox="0 0 120 440" aria-hidden="true" focusable="false" {
                path.cord d="M60 6 L60 434" {}
                @for (i, l) in LEVELS.iter().enumerate() {
                    @let y = 8.0 + i as f64 * 25.5;
                    @let w = 44.0 + i as f64 * 1.6;
                    rect.vertebra.chosen[chosen.iter().any(|c| c == l)] data-level=(l)
                        x=(format!("{:.1}", 60.0 - w / 2.0)) y=(format!("{y:.1}")) width=(format!("{w:.1}")) height="20" rx="5" {}
                    text x="60" y=(format!("{:.1}", y + 14.0)) text-anchor="middle" { (l) }
                }
            }
            div.spine-buttons {
                @for l in LEVELS {
                    button.level type="button" data-level=(l) aria-pressed=(if chosen.iter().any(|c| c == l) { "true" } else { "false" }) { (l) }
                }
            }
        }
    }
}

/// The whole form, filled with `values`, with `problems` at their fields.
pub fn form_markup(
    ctx: &Ctx<'_>,
    values: &HashMap<String, Vec<String>>,
    problems: &[Problem],
) -> Markup {
    let mut by_path: HashMap<String, Vec<String>> = HashMap::new();
    let known: std::collections::HashSet<String> = form_names(values);
    let mut general: Vec<&Problem> = Vec::new();
    for p in problems {
        by_path
            .entry(p.path.clone())
            .or_default()
            .push(p.message.clone());
        if !known.contains(&p.path) && !is_rendered_path(&p.path) {
            general.push(p);
        }
    }
    let chosen: Vec<String> = (0..form::block_count(values, "fractures"))
        .filter_map(|i| {
            values
                .get(&format!("fractures[{i}].level"))
                .and_then(|v| v.first().cloned())
        })
        .collect();
    html! {
        form.assessment method="post" action="/assess" novalidate {
            input type="hidden" name="csrf" value=(ctx.session.csrf);
            @if !problems.is_empty() {
                div.error-summary role="alert" tabindex="-1" {
                    h2 { (ctx.t("form.errors_title")) }
                    ul {
                        @for p in problems {
                            li { a href={ "#" (id_of(&p.path)) } { code { (p.path) } } " — " (p.message) }
                        }
                    }
                    @if !general.is_empty() { p { (ctx.t("form.errors_general")) } }
                }
            }
            @for (group, fields) in LAYOUT {
                @let repeated = fields.first().is_some_and(|(t, _)| t.starts_with(&format!("{group}[]")));
                section.group id={ "g-" (group) } {
                    h2 { (ctx.t(&format!("form.group.{group}"))) }
                    // Errors about the group as a whole (e.g. no fracture given at all).
                    @if let Some(es) = by_path.get(*group) {
                        p.field-error.group-error role="alert" { @for e in es { (e) " " } }
                    }
                    @if repeated {
                        @let n = form::block_count(values, group).max(usize::from(*group == "fractures"));
                        @if *group == "fractures" { (spine(ctx, &chosen)) }
                        div.blocks data-group=(group) {
                            @for i in 0..n {
                                (block(ctx, group, &i.to_string(), fields, values, &by_path))
                            }
                        }
                        template data-template=(group) {
                            (block(ctx, group, "__i__", fields, &HashMap::new(), &HashMap::new()))
                        }
                        button.add type="button" data-add=(group) { (ctx.t(&format!("form.add.{group}"))) }
                    } @else {
                        div.grid {
                            @for (template, unit) in fields.iter() {
                                @if let Some(f) = form::spec().get(template) {
                                    (input(ctx, f, template, *unit, values, &by_path))
                                }
                            }
                        }
                    }
                }
            }
            div.actions {
                button.primary type="submit" { (ctx.t("form.submit")) }
            }
        }
    }
}

fn form_names(values: &HashMap<String, Vec<String>>) -> std::collections::HashSet<String> {
    values.keys().cloned().collect()
}

/// Whether the page has an input of this name (otherwise its error shows at the top).
fn is_rendered_path(path: &str) -> bool {
    let template: String = {
        let mut t = String::new();
        let mut skip = false;
        for c in path.chars() {
            match c {
                '[' => {
                    skip = true;
                    t.push_str("[]");
                }
                ']' => skip = false,
                _ if skip => {}
                _ => t.push(c),
            }
        }
        t
    };
    form::spec()
        .get(&template)
        .is_some_and(|f| !matches!(f.kind, Kind::Object | Kind::Array))
}

fn form_page(
    ctx: &Ctx<'_>,
    values: &HashMap<String, Vec<String>>,
    problems: &[Problem],
    status: StatusCode,
) -> Response {
    let content = html! {
        h1 { (ctx.t("web.assess_title")) }
        p.lead { (ctx.t("web.assess_lead")) }
        (form_markup(ctx, values, problems))
    };
    respond(
        status,
        page(&ctx.frame(), ctx.t("web.assess_title"), content),
    )
}

/// `GET /assess`: an empty form (one fracture block).
pub async fn form(headers: HeaderMap, session: WebSession) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/assess", "assess");
    ctx.require(CLINICIAN)?;
    Ok(form_page(&ctx, &HashMap::new(), &[], StatusCode::OK))
}

/// Reads the form into a validated request, or the problems by field.
pub fn read_form(
    ctx: &Ctx<'_>,
    pairs: &[(String, String)],
) -> Result<(Value, ovcf_core::ValidRequest), Vec<Problem>> {
    let (value, form_errors) = form::to_request(pairs);
    let mut problems: Vec<Problem> = form_errors
        .iter()
        .map(|e| Problem {
            path: e.path.clone(),
            message: ctx.t(e.message_key).to_owned(),
        })
        .collect();
    let today = today().map_err(|e| {
        vec![Problem {
            path: String::new(),
            message: e.to_string(),
        }]
    })?;
    match ovcf_core::validate_value(&value, today) {
        Ok(valid) if problems.is_empty() => Ok((value, valid)),
        Ok(_) => Err(problems),
        Err(errs) => {
            problems.extend(errs.into_iter().map(|e| Problem {
                message: engine_message(ctx, &e.message),
                path: e.path,
            }));
            Err(problems)
        }
    }
}

/// `POST /assess`: the report, or the form again with the problems at their fields. With
/// `edit=1` and a `request` field, the form filled from that request.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/assess", "assess");
    ctx.require_form(CLINICIAN, &pairs)?;
    if field(&pairs, "edit").is_some() {
        let values = field(&pairs, "request")
            .and_then(|r| serde_json::from_str::<Value>(r).ok())
            .map(|v| form::flatten(&v))
            .unwrap_or_default();
        return Ok(form_page(&ctx, &values, &[], StatusCode::OK));
    }
    Ok(match read_form(&ctx, &pairs) {
        Err(problems) => form_page(
            &ctx,
            &form::values_by_name(&pairs),
            &problems,
            StatusCode::OK,
        ),
        Ok((value, valid)) => {
            let report = ovcf_core::assess_valid(&valid).map_err(|e| ctx.fail(&e))?;
            report_page(
                &ctx,
                &value,
                &report,
                None,
                &[],
                state.web().pdf.available(),
            )
        }
    })
}

/// The report with its actions: for a fresh assessment, save to the registry, edit, PDF, print.
/// `saved` names the patient and assessment id of a stored one.
pub fn report_page(
    ctx: &Ctx<'_>,
    request: &Value,
    report: &AssessmentReport,
    saved: Option<(&str, i64)>,
    header: &[(String, String)],
    pdf_available: bool,
) -> Response {
    let opts = RenderOptions {
        lang: ctx.lang,
        explain: true,
    };
    let fragment = ovcf_report::render_html_fragment(report, &opts);
    let request_json = request.to_string();
    let plan = ctx.t(&format!("plan.{}", code(&report.treatment.plan)));
    let content = html! {
        div.report-head {
            h1 { (ctx.t("web.report_title")) }
            @if !header.is_empty() {
                dl.meta.patient-line {
                    @for (label, value) in header { div { dt { (label) } dd { (value) } } }
                }
            }
            p.plan-summary {
                span.plan-label { (ctx.t("plan_field.plan")) }
                strong.plan #plan data-plan=(code(&report.treatment.plan)) { (plan) }
            }
            div.actions.no-print {
                @match saved {
                    None => {
                        form method="post" action="/assess" {
                            input type="hidden" name="csrf" value=(ctx.session.csrf);
                            input type="hidden" name="edit" value="1";
                            input type="hidden" name="request" value=(request_json);
                            button type="submit" { (ctx.t("web.edit_inputs")) }
                        }
                        @if pdf_available {
                            form method="post" action="/assess/pdf" {
                                input type="hidden" name="csrf" value=(ctx.session.csrf);
                                input type="hidden" name="request" value=(request_json);
                                button type="submit" { (ctx.t("web.download_pdf")) }
                            }
                        }
                    }
                    Some((mrn, id)) => {
                        @if pdf_available {
                            a.button href={ "/patients/" (crate::web::url_encode(mrn)) "/assessments/" (id) "/pdf" } { (ctx.t("web.download_pdf")) }
                        }
                        a.button href={ "/patients/" (crate::web::url_encode(mrn)) } { (ctx.t("web.back_to_patient")) }
                    }
                }
                button type="button" data-print="" { (ctx.t("web.print")) }
            }
        }
        // The report's summary comes right under the actions, so it is above the fold at
        // 1280×800; saving to the registry follows the report.
        article.report.embedded { (trusted_html(fragment)) }
        @if saved.is_none() {
            form.save.no-print method="post" action="/assess/save" {
                input type="hidden" name="csrf" value=(ctx.session.csrf);
                input type="hidden" name="request" value=(request_json);
                fieldset {
                    legend { (ctx.t("web.save_title")) }
                    p.hint { (ctx.t("web.save_help")) }
                    div.grid {
                        div.field { label for="save-mrn" { (ctx.t("web.mrn")) } input #save-mrn name="mrn" required maxlength="64"; }
                        div.field { label for="save-name" { (ctx.t("web.patient_name")) } input #save-name name="name" maxlength="200"; }
                        div.field { label for="save-birth" { (ctx.t("web.birth_date")) } input #save-birth name="birth_date" type="date"; }
                    }
                    button.primary type="submit" { (ctx.t("web.save")) }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        page(&ctx.frame(), ctx.t("web.report_title"), content),
    )
}

/// A contract code of an enum value (its serde name).
pub fn code<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The report as a PDF download (the printable page in the page language), headed by `header`
/// (the patient's identity for a stored assessment).
pub async fn pdf_response(
    state: &AppState,
    ctx: &Ctx<'_>,
    report: &AssessmentReport,
    header: &[(String, String)],
    file: &str,
) -> Response {
    let opts = RenderOptions {
        lang: ctx.lang,
        explain: false,
    };
    let html = ovcf_report::render_html_with_header(report, &opts, header);
    match state.web().pdf.render(&html).await {
        Ok(bytes) => {
            let mut r = (StatusCode::OK, bytes).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(e @ crate::web::pdf::PdfError::NoBrowser) => {
            crate::web::failure(&ctx.frame(), StatusCode::SERVICE_UNAVAILABLE, &e)
        }
        Err(e) => ctx.fail(&e),
    }
}

/// `POST /assess/pdf`: the PDF of an unsaved assessment.
pub async fn pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/assess", "assess");
    ctx.require_form(CLINICIAN, &pairs)?;
    let Some(text) = field(&pairs, "request") else {
        return Ok(form_page(
            &ctx,
            &HashMap::new(),
            &[],
            StatusCode::BAD_REQUEST,
        ));
    };
    let report = ovcf_core::assess_json(text, ctx.today()?).map_err(|e| ctx.fail(&e))?;
    let file = format!("ovcf-assessment-{}.pdf", report.as_of);
    Ok(pdf_response(&state, &ctx, &report, &[], &file).await)
}
