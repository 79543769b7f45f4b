//! The fracture-liaison dashboard: the indicators of registry-v1 for a chosen period, each with
//! its IOF Capture the Fracture achievement band (< 50 %, 50–80 %, > 80 %), and run charts by
//! month over the last twelve months.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use ovcf_store::{Kpi, Kpis};

use super::{Ctx, OVERSIGHT};
use crate::AppState;
use crate::web::charts::{self, RunPoint};
use crate::web::session::WebSession;
use crate::web::{page, respond};

/// The indicators shown, in the order of registry-v1, and whether higher is better.
fn indicators(k: &Kpis) -> [(&'static str, Kpi, bool); 10] {
    [
        ("bmd_within_90d", k.bmd_within_90d, true),
        ("treatment_recommended", k.treatment_recommended, true),
        ("treatment_started_16w", k.treatment_started_16w, true),
        ("followed_up_16w", k.followed_up_16w, true),
        ("followed_up_12m", k.followed_up_12m, true),
        ("adherent_52w", k.adherent_52w, true),
        ("refracture_12m", k.refracture_12m, false),
        ("cement_leakage", k.cement_leakage, false),
        ("adjacent_fracture_12m", k.adjacent_fracture_12m, false),
        ("identified", k.identified, true),
    ]
}

/// The IOF achievement band edges (%), from the knowledge base (source S94): low below the
/// first, high above the second.
pub fn band_edges() -> Option<(f64, f64)> {
    ovcf_core::knowledge::Knowledge::embedded().ok().map(|k| {
        (
            k.thresholds.fls_kpi_band_low_below_pct.value,
            k.thresholds.fls_kpi_band_high_above_pct.value,
        )
    })
}

/// The IOF band of a percentage (only for indicators where higher is better); `none` without
/// the knowledge base.
pub fn band(pct: f64) -> &'static str {
    let Some((low, high)) = band_edges() else {
        return "none";
    };
    if pct > high {
        "high"
    } else if pct >= low {
        "mid"
    } else {
        "low"
    }
}

#[derive(serde::Deserialize)]
pub struct Period {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /dashboard?from=&to=`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Query(period): Query<Period>,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/dashboard", "dashboard");
    ctx.require(OVERSIGHT)?;
    let store = ctx.store(&state)?;
    let today = ctx.today()?;
    let from = period
        .from
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| today.add_months(-12).to_string());
    let to = period
        .to
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| today.to_string());
    let (kpis, problem) = match store.kpi(Some(&from), Some(&to)).await {
        Ok(k) => (Some(k), None),
        Err(e) if e.is_input_error() => (None, Some(e.to_string())),
        Err(e) => return Err(ctx.fail(&e)),
    };
    // Run charts: the last twelve calendar months, in one grouped query.
    let this_month = ovcf_core::Date::new(today.year(), today.month(), 1).unwrap_or(today);
    let first = this_month.add_months(-11);
    let last = this_month.add_months(1).add_days(-1);
    let by_month = store
        .kpi_by_month(&first.to_string(), &last.to_string())
        .await
        .map_err(|e| ctx.fail(&e))?;
    let months: Vec<(String, Option<&Kpis>)> = (0..12)
        .map(|i| {
            let m = first.add_months(i);
            let label = format!("{:04}-{:02}", m.year(), m.month());
            let k = by_month.iter().find(|(l, _)| *l == label).map(|(_, k)| k);
            (label, k)
        })
        .collect();
    let edges = band_edges();
    let content = html! {
        h1 { (ctx.t("web.dashboard_title")) }
        form.period method="get" action="/dashboard" {
            label for="from" { (ctx.t("web.from")) }
            input #from type="date" name="from" value=(from);
            label for="to" { (ctx.t("web.to")) }
            input #to type="date" name="to" value=(to);
            button type="submit" { (ctx.t("web.apply")) }
        }
        @if let Some(p) = problem { p.form-error role="alert" { (p) } }
        @if let Some(k) = &kpis {
            p.lead #identified { (ctx.t("kpi.identified")) (ctx.t("report.colon")) strong { (k.identified.denominator) } }
            @if let Some((low, high)) = edges {
                p.legend {
                    (ctx.t("web.iof_bands")) " "
                    span.band.low { "< " (low) "%" } " " span.band.mid { (low) "–" (high) "%" } " " span.band.high { "> " (high) "%" }
                }
            }
            div.kpis {
                @for (key, kpi, higher_better) in indicators(k) {
                    @if key != "identified" {
                        @let band_class = match (kpi.pct, higher_better) { (Some(p), true) => band(p), (Some(_), false) => "lower-better", (None, _) => "none" };
                        section.kpi.(band_class) data-kpi=(key) {
                            h2 { (ctx.t(&format!("kpi.{key}"))) }
                            p.value {
                                @match kpi.pct { Some(p) => { (format!("{p:.1}%")) } None => { "—" } }
                            }
                            p.fraction { (kpi.numerator) " / " (kpi.denominator) }
                            @if !higher_better { p.hint { (ctx.t("web.lower_is_better")) } }
                            (charts::run_chart(
                                ctx.t(&format!("kpi.{key}")),
                                &months.iter().map(|(label, m)| RunPoint {
                                    label: label.clone(),
                                    pct: m.and_then(|m| indicators(m).iter().find(|(k2, _, _)| *k2 == key).and_then(|(_, x, _)| x.pct)),
                                }).collect::<Vec<_>>(),
                                edges.filter(|_| higher_better),
                            ))
                        }
                    }
                }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(&ctx.frame(), ctx.t("web.dashboard_title"), content),
    ))
}

#[cfg(test)]
mod tests {
    use super::band;

    #[test]
    fn iof_bands() {
        assert_eq!(band(49.9), "low");
        assert_eq!(band(50.0), "mid");
        assert_eq!(band(80.0), "mid");
        assert_eq!(band(80.1), "high");
    }
}
