//! The coordinator's worklist: care gaps on top (overdue denosumab, no anti-osteoporosis
//! therapy after a fracture), then follow-up tasks across patients with filters, each closable
//! with a note.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use ovcf_store::TaskFilter;
use serde_json::Value;

use super::{CARE_TEAM, Ctx, field};
use crate::AppState;
use crate::web::session::WebSession;
use crate::web::{page, respond, url_encode};

/// A task's follow-up items in words (`fu_item.*`).
pub fn items_text(ctx: &Ctx<'_>, items: Option<&Value>) -> String {
    items
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|c| ctx.t(&format!("fu_item.{c}")))
                .collect::<Vec<_>>()
                .join(ctx.t("report.list_separator"))
        })
        .unwrap_or_default()
}

/// The worklist filters: each a list of the store's task filters, overdue first.
const FILTERS: [(&str, &[TaskFilter]); 5] = [
    ("due_overdue", &[TaskFilter::Overdue, TaskFilter::Due]),
    ("overdue", &[TaskFilter::Overdue]),
    ("open", &[TaskFilter::Open]),
    ("done", &[TaskFilter::Done]),
    ("all", &[TaskFilter::All]),
];

#[derive(serde::Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    q: Option<String>,
}

/// `GET /worklist?status=&q=`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let status = query.status.as_deref().unwrap_or("due_overdue");
    let filters: &[TaskFilter] = FILTERS
        .iter()
        .find(|(k, _)| *k == status)
        .map_or(FILTERS[0].1, |(_, f)| f);
    let needle = query.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let path = format!("/worklist?status={}", url_encode(status));
    let ctx = Ctx::new(&headers, &session, path, "worklist");
    ctx.require(CARE_TEAM)?;
    let store = ctx.store(&state)?;
    let today = ctx.today()?;
    let mut tasks = Vec::new();
    for f in filters {
        match store.tasks(today, *f).await {
            Ok(t) => tasks.extend(t),
            Err(e) => return Err(ctx.fail(&e)),
        }
    }
    let gaps = store.care_gaps(today).await.map_err(|e| ctx.fail(&e))?;
    let tasks: Vec<_> = tasks
        .into_iter()
        .filter(|t| needle.is_none_or(|n| t.mrn.contains(n)))
        .collect();
    let content = html! {
        h1 { (ctx.t("web.worklist_title")) }
        section.gaps {
            h2 { (ctx.t("web.care_gaps")) }
            @if gaps.is_empty() { p.empty { (ctx.t("web.no_gaps")) } }
            @else {
                table.grid { thead { tr { th scope="col" { (ctx.t("web.mrn")) } th scope="col" { (ctx.t("web.gap")) } th scope="col" { (ctx.t("web.since")) } th scope="col" { (ctx.t("web.days")) } } }
                    tbody { @for g in &gaps {
                        tr.(g.kind) { th scope="row" { a href={ "/patients/" (url_encode(&g.mrn)) } { (g.mrn) } } td { span.mark.(if g.kind == "denosumab_overdue" { "critical" } else { "warning" }) { (ctx.t(&format!("web.gap_kind.{}", g.kind))) } } td { (g.since) } td { (g.days) } }
                    } } }
            }
        }
        section.tasks {
            h2 { (ctx.t("web.tasks")) }
            form.filters method="get" action="/worklist" {
                label for="status" { (ctx.t("web.status")) }
                select #status name="status" {
                    @for (k, _) in FILTERS { option value=(k) selected[k == status] { (ctx.t(&format!("web.filter.{k}"))) } }
                }
                label for="wq" { (ctx.t("web.mrn")) }
                input #wq name="q" type="search" value=(needle.unwrap_or(""));
                button type="submit" { (ctx.t("web.apply")) }
            }
            @if tasks.is_empty() { p.empty { (ctx.t("web.no_tasks")) } }
            @else {
                table.grid.worklist { thead { tr {
                    th scope="col" { (ctx.t("web.due")) } th scope="col" { (ctx.t("web.mrn")) } th scope="col" { (ctx.t("web.status")) }
                    th scope="col" { (ctx.t("web.items")) } th scope="col" { (ctx.t("web.done_with_note")) }
                } }
                tbody { @for t in &tasks {
                    tr.(t.status) data-task=(t.id) {
                        th scope="row" { (t.due) }
                        td { a href={ "/patients/" (url_encode(&t.mrn)) } { (t.mrn) } }
                        td { span.status.(t.status) { (ctx.t(&format!("web.task_status.{}", t.status))) } }
                        td { (items_text(&ctx, Some(&t.items))) }
                        td { (done_form(&ctx, t.id, &t.status, t.note.as_deref())) }
                    }
                } } }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(&ctx.frame(), ctx.t("web.worklist_title"), content),
    ))
}

fn done_form(ctx: &Ctx<'_>, id: i64, status: &str, note: Option<&str>) -> Markup {
    if matches!(status, "done" | "superseded") {
        return html! { (note.unwrap_or("")) };
    }
    html! {
        form.done method="post" action={ "/worklist/" (id) "/done" } {
            input type="hidden" name="csrf" value=(ctx.session.csrf);
            label.visually-hidden for={ "note-" (id) } { (ctx.t("web.note")) }
            input id={ "note-" (id) } name="note" maxlength="500" placeholder=(ctx.t("web.note"));
            button type="submit" { (ctx.t("web.mark_done")) }
        }
    }
}

/// `POST /worklist/{id}/done`.
pub async fn done(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/worklist", "worklist");
    ctx.require_form(CARE_TEAM, &pairs)?;
    let store = ctx.store(&state)?;
    let today = ctx.today()?;
    match store
        .task_done(&session.user, id, None, field(&pairs, "note"), today)
        .await
    {
        Ok(_) => Ok(Redirect::to("/worklist").into_response()),
        Err(ovcf_store::StoreError::NotFound(_)) => Ok(StatusCode::NOT_FOUND.into_response()),
        Err(e) => Err(ctx.fail(&e)),
    }
}
