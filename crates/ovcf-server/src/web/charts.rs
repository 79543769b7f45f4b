//! Charts drawn on the server as inline SVG: no script, print as they show, readable by screen
//! readers through their `<title>` and the table each chart comes with.

use maud::{Markup, html};

/// Days since 1970-01-01 of an ISO date (`YYYY-MM-DD…`); `None` when unreadable.
pub fn day_number(iso: &str) -> Option<f64> {
    let d: jiff::civil::Date = iso.get(..10)?.parse().ok()?;
    let epoch = jiff::civil::date(1970, 1, 1);
    let span = d.since(epoch).ok()?;
    Some(f64::from(span.get_days()))
}

const W: f64 = 640.0;
const PAD_L: f64 = 48.0;
const PAD_R: f64 = 16.0;
const PAD_T: f64 = 12.0;
const PAD_B: f64 = 28.0;

fn fmt(x: f64) -> String {
    format!("{x:.1}")
}

/// A horizontal reference line with its label (e.g. T = −2.5).
pub struct RefLine<'a> {
    pub y: f64,
    pub label: &'a str,
}

/// A time series: dated values, drawn as a line with points.
pub fn line_chart(
    title: &str,
    points: &[(String, f64)],
    y_min: f64,
    y_max: f64,
    refs: &[RefLine<'_>],
) -> Markup {
    let h = 200.0;
    let xs: Vec<(f64, f64, &str)> = points
        .iter()
        .filter_map(|(d, v)| day_number(d).map(|x| (x, *v, d.as_str())))
        .collect();
    let (x0, x1) = match (
        xs.iter().map(|p| p.0).reduce(f64::min),
        xs.iter().map(|p| p.0).reduce(f64::max),
    ) {
        (Some(a), Some(b)) if b > a => (a, b),
        (Some(a), _) => (a - 30.0, a + 30.0),
        _ => (0.0, 1.0),
    };
    let sx = |x: f64| PAD_L + (x - x0) / (x1 - x0) * (W - PAD_L - PAD_R);
    let sy =
        |y: f64| PAD_T + (y_max - y.clamp(y_min, y_max)) / (y_max - y_min) * (h - PAD_T - PAD_B);
    let path: String = xs
        .iter()
        .enumerate()
        .map(|(i, (x, y, _))| {
            format!(
                "{}{},{}",
                if i == 0 { "M" } else { " L" },
                fmt(sx(*x)),
                fmt(sy(*y))
            )
        })
        .collect();
    let first = xs.first().map(|p| p.2).unwrap_or("");
    let last = xs.last().map(|p| p.2).unwrap_or("");
    html! {
        svg.chart viewBox={ "0 0 " (W) " " (h) } role="img" aria-label=(title) {
            title { (title) }
            line.axis x1=(PAD_L) y1=(h - PAD_B) x2=(W - PAD_R) y2=(h - PAD_B) {}
            line.axis x1=(PAD_L) y1=(PAD_T) x2=(PAD_L) y2=(h - PAD_B) {}
            text.tick x=(PAD_L - 6.0) y=(sy(y_max) + 4.0) text-anchor="end" { (y_max) }
            text.tick x=(PAD_L - 6.0) y=(sy(y_min) + 4.0) text-anchor="end" { (y_min) }
            @for r in refs {
                line.ref x1=(PAD_L) y1=(fmt(sy(r.y))) x2=(W - PAD_R) y2=(fmt(sy(r.y))) {}
                text.ref-label x=(W - PAD_R) y=(fmt(sy(r.y) - 3.0)) text-anchor="end" { (r.label) }
            }
            @if !xs.is_empty() {
                path.series d=(path) {}
                @for (x, y, d) in &xs {
                    circle.point cx=(fmt(sx(*x))) cy=(fmt(sy(*y))) r="4" { title { (d) ": " (y) } }
                }
                text.tick x=(PAD_L) y=(h - 8.0) { (first) }
                text.tick x=(W - PAD_R) y=(h - 8.0) text-anchor="end" { (last) }
            }
        }
    }
}

/// One month of a run chart: its label and the indicator's percentage (None: no eligible
/// patients that month).
pub struct RunPoint {
    pub label: String,
    pub pct: Option<f64>,
}

/// A run chart of a percentage by month, over the IOF achievement bands `(low, high)` when
/// given (indicators where higher is better; a complication rate gets none).
pub fn run_chart(title: &str, points: &[RunPoint], bands: Option<(f64, f64)>) -> Markup {
    let h = 160.0;
    let n = points.len().max(1) as f64;
    let step = (W - PAD_L - PAD_R) / n;
    let sy = |y: f64| PAD_T + (100.0 - y.clamp(0.0, 100.0)) / 100.0 * (h - PAD_T - PAD_B);
    let path: String = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.pct.map(|v| (i, v)))
        .enumerate()
        .map(|(k, (i, v))| {
            let x = PAD_L + step * (i as f64 + 0.5);
            format!(
                "{}{},{}",
                if k == 0 { "M" } else { " L" },
                fmt(x),
                fmt(sy(v))
            )
        })
        .collect();
    html! {
        svg.chart.run viewBox={ "0 0 " (W) " " (h) } role="img" aria-label=(title) {
            title { (title) }
            @if let Some((low, high)) = bands {
            rect.band-low x=(PAD_L) y=(fmt(sy(low))) width=(W - PAD_L - PAD_R) height=(fmt(sy(0.0) - sy(low))) {}
            rect.band-mid x=(PAD_L) y=(fmt(sy(high))) width=(W - PAD_L - PAD_R) height=(fmt(sy(low) - sy(high))) {}
            rect.band-high x=(PAD_L) y=(fmt(sy(100.0))) width=(W - PAD_L - PAD_R) height=(fmt(sy(high) - sy(100.0))) {}
            text.tick x=(PAD_L - 6.0) y=(sy(high) + 4.0) text-anchor="end" { (high) "%" }
            text.tick x=(PAD_L - 6.0) y=(sy(low) + 4.0) text-anchor="end" { (low) "%" }
            } @else {
                line.axis x1=(PAD_L) y1=(h - PAD_B) x2=(W - PAD_R) y2=(h - PAD_B) {}
                text.tick x=(PAD_L - 6.0) y=(sy(100.0) + 4.0) text-anchor="end" { "100%" }
                text.tick x=(PAD_L - 6.0) y=(sy(0.0) + 4.0) text-anchor="end" { "0%" }
            }
            @if !path.is_empty() { path.series d=(path) {} }
            @for (i, p) in points.iter().enumerate() {
                @let x = PAD_L + step * (i as f64 + 0.5);
                @if let Some(v) = p.pct {
                    circle.point cx=(fmt(x)) cy=(fmt(sy(v))) r="3.5" { title { (p.label) ": " (format!("{v:.0}%")) } }
                }
                @if points.len() <= 12 || i % 2 == 0 {
                    text.tick x=(fmt(x)) y=(h - 8.0) text-anchor="middle" { (p.label.get(2..).unwrap_or(&p.label)) }
                }
            }
        }
    }
}

/// One row of a patient timeline.
pub struct TimelineRow {
    pub label: String,
    /// Point events: (date, caption).
    pub points: Vec<(String, String)>,
    /// Spans: (start, end or None for ongoing, caption).
    pub spans: Vec<(String, Option<String>, String)>,
}

/// The patient's history on one time axis: fractures, assessments, procedures and events as
/// points, drugs as bars from start to end (or today).
pub fn timeline(title: &str, rows: &[TimelineRow], today: &str) -> Markup {
    let row_h = 30.0;
    let label_w = 130.0;
    let h = PAD_T + row_h * rows.len().max(1) as f64 + PAD_B;
    let today_x = day_number(today);
    let mut all: Vec<f64> = Vec::new();
    for r in rows {
        all.extend(r.points.iter().filter_map(|(d, _)| day_number(d)));
        for (s, e, _) in &r.spans {
            all.extend(day_number(s));
            all.extend(e.as_deref().and_then(day_number));
        }
    }
    all.extend(today_x);
    let x0 = all.iter().copied().reduce(f64::min).unwrap_or(0.0) - 15.0;
    let x1 = all.iter().copied().reduce(f64::max).unwrap_or(1.0) + 15.0;
    let sx = |x: f64| label_w + (x - x0) / (x1 - x0).max(1.0) * (W - label_w - PAD_R);
    let first_year = jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(x0 as i64))
        .map(|d| d.year())
        .unwrap_or(1970);
    let last_year = jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(x1 as i64))
        .map(|d| d.year())
        .unwrap_or(1970);
    let years: Vec<(i16, f64)> = (first_year..=last_year)
        .filter_map(|y| day_number(&format!("{y:04}-01-01")).map(|d| (y, d)))
        .filter(|(_, d)| *d > x0 && *d < x1)
        .collect();
    html! {
        svg.chart.timeline viewBox={ "0 0 " (W) " " (h) } role="img" aria-label=(title) {
            title { (title) }
            @for (y, d) in &years {
                line.grid x1=(fmt(sx(*d))) y1=(PAD_T) x2=(fmt(sx(*d))) y2=(h - PAD_B) {}
                text.tick x=(fmt(sx(*d))) y=(h - 8.0) text-anchor="middle" { (y) }
            }
            @if let Some(t) = today_x {
                line.today x1=(fmt(sx(t))) y1=(PAD_T) x2=(fmt(sx(t))) y2=(h - PAD_B) {}
            }
            @for (i, r) in rows.iter().enumerate() {
                @let cy = PAD_T + row_h * (i as f64 + 0.5);
                text.row-label x="4" y=(fmt(cy + 4.0)) { (r.label) }
                line.lane x1=(label_w) y1=(fmt(cy)) x2=(W - PAD_R) y2=(fmt(cy)) {}
                @for (s, e, cap) in &r.spans {
                    @if let Some(a) = day_number(s) {
                        @let b = e.as_deref().and_then(day_number).or(today_x).unwrap_or(a);
                        rect.span x=(fmt(sx(a))) y=(fmt(cy - 7.0)) width=(fmt((sx(b) - sx(a)).max(3.0))) height="14" rx="3" {
                            title { (cap) ": " (s) " – " (e.as_deref().unwrap_or("…")) }
                        }
                    }
                }
                @for (d, cap) in &r.points {
                    @if let Some(x) = day_number(d) {
                        circle.event cx=(fmt(sx(x))) cy=(fmt(cy)) r="6" { title { (d) ": " (cap) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert_eq!(day_number("1970-01-02"), Some(1.0));
        assert_eq!(
            day_number("2026-11-28T10:00:00Z").map(|d| d > 20000.0),
            Some(true)
        );
        assert_eq!(day_number("soon"), None);
    }

    #[test]
    fn charts_render_without_data() {
        assert!(
            line_chart("t", &[], -4.0, 1.0, &[])
                .into_string()
                .contains("<svg")
        );
        assert!(
            run_chart("r", &[], Some((50.0, 80.0)))
                .into_string()
                .contains("band-high")
        );
        assert!(
            !run_chart("r", &[], None)
                .into_string()
                .contains("band-high")
        );
        assert!(
            timeline("tl", &[], "2026-11-28")
                .into_string()
                .contains("<svg")
        );
    }

    #[test]
    fn line_has_a_point_per_dated_value() {
        let pts = vec![
            ("2024-01-01".to_owned(), -3.1),
            ("2025-01-01".to_owned(), -2.8),
            ("bad".to_owned(), 0.0),
        ];
        let svg = line_chart(
            "T",
            &pts,
            -5.0,
            1.0,
            &[RefLine {
                y: -2.5,
                label: "-2.5",
            }],
        )
        .into_string();
        assert_eq!(svg.matches("<circle").count(), 2);
    }

    #[test]
    fn timeline_escapes_captions() {
        let rows = vec![TimelineRow {
            label: "<x>".into(),
            points: vec![("2025-01-01".into(), "<b>".into())],
            spans: vec![],
        }];
        let svg = timeline("t", &rows, "2026-01-01").into_string();
        assert!(!svg.contains("<b>") && svg.contains("&lt;b&gt;"));
    }
}
