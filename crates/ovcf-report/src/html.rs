//! HTML layout of a [`Doc`]: one self-contained, printable page (inline CSS, no scripts, no
//! external resources). Every piece of report text is escaped on the way out.

use std::fmt::Write as _;

use crate::Lang;
use crate::doc::{Block, Doc, Item};

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Screen and print styles. Severity colours keep a contrast ratio of at least 4.5:1 and print
/// as they show (`print-color-adjust: exact`).
pub(crate) const CSS: &str = r#"
*{box-sizing:border-box;-webkit-print-color-adjust:exact;print-color-adjust:exact}
html{background:#eef1f4}
body{margin:0;font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;font-size:15px;line-height:1.55;color:#1a1a1a}
.report{max-width:60rem;margin:1.5rem auto;padding:2rem 2.5rem;background:#fff;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.55rem;margin:0 0 .2rem}
.subtitle{margin:0 0 .8rem;color:#444}
.meta{display:flex;flex-wrap:wrap;gap:.3rem 1.6rem;margin:0;padding:.6rem 0;border-top:2px solid #1f3b57;border-bottom:1px solid #c5ccd3}
.meta div{display:flex;gap:.4rem}
.meta dt{color:#444}
.meta dd{margin:0;font-weight:600}
section{margin-top:1.3rem;break-inside:avoid;page-break-inside:avoid}
h2{font-size:1.15rem;margin:0 0 .5rem;padding-bottom:.2rem;border-bottom:1px solid #c5ccd3;color:#1f3b57}
h2 .num{display:inline-block;min-width:1.6em;color:#555}
h3{font-size:1rem;margin:.8rem 0 .3rem;color:#1f3b57}
p{margin:.3rem 0}
.note{font-size:.85rem;color:#444}
.fields{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.3rem 0}
.fields dt{color:#444}
.fields dd{margin:0}
ul.items{list-style:none;margin:.3rem 0;padding:0}
ul.items>li{margin:.25rem 0;padding:.3rem .6rem;border-left:4px solid #c5ccd3;background:#f7f8fa}
ul.items>li.critical{border-left-color:#b71c1c;background:#fdecea}
ul.items>li.warning{border-left-color:#8a4b00;background:#fff4e0}
ul.items>li.info{border-left-color:#1557a0;background:#e8f0fb}
ul.details{margin:.2rem 0 0 1rem;padding:0;font-size:.88rem;color:#333}
.mark{display:inline-block;margin-right:.4rem;padding:0 .45em;border-radius:3px;font-size:.8rem;font-weight:700;line-height:1.6;vertical-align:.05em}
.mark.critical{background:#b71c1c;color:#fff}
.mark.warning{background:#8a4b00;color:#fff}
.mark.info{background:#1557a0;color:#fff}
.mark.grade{background:#37474f;color:#fff;font-family:monospace}
.mark.provisional{background:#fff;color:#6d3b00;border:1px solid #6d3b00}
.mark.first{background:#1b5e20;color:#fff}
.mark.applied{background:#1b5e20;color:#fff}
.mark.not-applied{background:#e0e0e0;color:#333}
table{border-collapse:collapse;width:100%;margin:.3rem 0;font-size:.9rem}
table.grid th,table.grid td{border:1px solid #c5ccd3;padding:.25rem .45rem;text-align:left;vertical-align:top}
table.grid thead th{background:#e6ebf0;color:#1a1a1a}
table.grid tbody th{background:#f3f5f7}
table.bars{width:100%;border-collapse:collapse}
table.bars th{font-weight:400;text-align:left;padding:.15rem .6rem .15rem 0;width:30%}
table.bars td{padding:.15rem 0;width:45%}
.bar{height:.9rem;width:100%;background:#e6ebf0;border:1px solid #c5ccd3}
.bar span{display:block;height:100%;background:#1f5f99}
td.bar-value{width:auto;padding-left:.6rem;white-space:nowrap;font-variant-numeric:tabular-nums}
section#summary{margin-top:1rem;padding:.7rem 1rem;border:2px solid #1f3b57;border-radius:4px;background:#f3f6fa}
section#summary h2{border-bottom:0;margin-bottom:.3rem}
section#summary .fields{grid-template-columns:max-content 1fr;font-size:1.02rem}
section#summary .fields dd{font-weight:600}
section.appendix details>summary{cursor:pointer;list-style:none}
section.appendix details>summary::-webkit-details-marker{display:none}
section.appendix details>summary h2{display:flex;align-items:baseline}
section.appendix details>summary h2::after{content:"▸";margin-left:auto;color:#555}
section.appendix details[open]>summary h2::after{content:"▾"}
footer .technical{font-size:.8rem;color:#444;margin:.3rem 0 0}
footer{margin-top:1.8rem;padding-top:.6rem;border-top:2px solid #1f3b57;font-size:.88rem;color:#333}
@page{size:A4;margin:14mm 12mm}
@media print{
html{background:#fff}
body{font-size:10.5pt}
.report{max-width:none;margin:0;padding:0;box-shadow:none}
h2,h3{break-after:avoid;page-break-after:avoid}
tr,li{break-inside:avoid;page-break-inside:avoid}
}
"#;

pub(crate) fn render(doc: &Doc) -> String {
    let lang = match doc.lang {
        Lang::Zh => "zh-CN",
        Lang::En => "en",
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main class=\"report\">\n",
        escape(&doc.title)
    );
    let _ = write!(
        out,
        "<header>\n<h1>{}</h1>\n<p class=\"subtitle\">{}</p>\n<dl class=\"meta\">\n",
        escape(&doc.title),
        escape(&doc.subtitle)
    );
    for (label, value) in &doc.meta {
        let _ = writeln!(
            out,
            "<div><dt>{}</dt><dd>{}</dd></div>",
            escape(label),
            escape(value)
        );
    }
    out.push_str("</dl>\n</header>\n");
    render_sections(&mut out, doc);
    render_footer(&mut out, doc);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// The report's sections and footer, without page, header or styles (for embedding).
pub(crate) fn render_fragment(doc: &Doc) -> String {
    let mut out = String::new();
    render_sections(&mut out, doc);
    render_footer(&mut out, doc);
    out
}

fn render_sections(out: &mut String, doc: &Doc) {
    for (i, section) in doc.sections.iter().enumerate() {
        let heading = format!(
            "<h2><span class=\"num\">{}.</span>{}</h2>",
            i + 1,
            escape(&section.heading)
        );
        if section.collapsible {
            // An appendix: closed on screen, one click (or Enter) opens it.
            let _ = write!(
                out,
                "<section id=\"{}\" class=\"appendix\">\n<details>\n<summary>{heading}</summary>\n",
                section.id
            );
        } else {
            let _ = write!(out, "<section id=\"{}\">\n{heading}\n", section.id);
        }
        for block in &section.blocks {
            render_block(out, block);
        }
        if section.collapsible {
            out.push_str("</details>\n");
        }
        out.push_str("</section>\n");
    }
}

fn render_footer(out: &mut String, doc: &Doc) {
    let _ = writeln!(
        out,
        "<footer><p>{}</p><p class=\"technical\">{}</p></footer>",
        escape(&doc.footer),
        escape(&doc.technical)
    );
}

fn render_item(out: &mut String, item: &Item) {
    // An alert's row takes its severity's colour.
    let class = item
        .marks
        .first()
        .map(|m| m.kind.css())
        .filter(|c| matches!(*c, "critical" | "warning" | "info"));
    match class {
        Some(c) => {
            let _ = write!(out, "<li class=\"{c}\">");
        }
        None => out.push_str("<li>"),
    }
    for m in &item.marks {
        match &m.title {
            // Focusable, so the citation also shows on a tap or from the keyboard.
            Some(title) => {
                let _ = write!(
                    out,
                    "<span class=\"mark {}\" tabindex=\"0\" title=\"{}\">{}</span>",
                    m.kind.css(),
                    escape(title),
                    escape(&m.label)
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<span class=\"mark {}\">{}</span>",
                    m.kind.css(),
                    escape(&m.label)
                );
            }
        }
    }
    let _ = write!(out, "<span class=\"text\">{}</span>", escape(&item.text));
    if !item.details.is_empty() {
        out.push_str("<ul class=\"details\">");
        for d in &item.details {
            let _ = write!(out, "<li>{}</li>", escape(d));
        }
        out.push_str("</ul>");
    }
    out.push_str("</li>\n");
}

fn render_block(out: &mut String, block: &Block) {
    match block {
        Block::Fields(fields) => {
            out.push_str("<dl class=\"fields\">\n");
            for (label, value) in fields {
                let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(value));
            }
            out.push_str("</dl>\n");
        }
        Block::Heading(h) => {
            let _ = writeln!(out, "<h3>{}</h3>", escape(h));
        }
        Block::Para(p) => {
            let _ = writeln!(out, "<p>{}</p>", escape(p));
        }
        Block::Note(n) => {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(n));
        }
        Block::List(items) => {
            out.push_str("<ul class=\"items\">\n");
            for item in items {
                render_item(out, item);
            }
            out.push_str("</ul>\n");
        }
        Block::Table { header, rows } => {
            out.push_str("<table class=\"grid\">\n<thead><tr>");
            for h in header {
                let _ = write!(out, "<th scope=\"col\">{}</th>", escape(h));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for row in rows {
                out.push_str("<tr>");
                for (i, cell) in row.iter().enumerate() {
                    if i == 0 {
                        let _ = write!(out, "<th scope=\"row\">{}</th>", escape(cell));
                    } else {
                        let _ = write!(out, "<td>{}</td>", escape(cell));
                    }
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
        Block::Bars(bars) => {
            out.push_str("<table class=\"bars\">\n");
            for b in bars {
                let width = (b.fraction * 100.0).clamp(0.0, 100.0);
                let _ = writeln!(
                    out,
                    "<tr><th scope=\"row\">{}</th><td><div class=\"bar\" role=\"img\" aria-label=\"{}\">\
                     <span style=\"width:{width:.1}%\"></span></div></td><td class=\"bar-value\">{}</td></tr>",
                    escape(&b.label),
                    escape(&b.value),
                    escape(&b.value)
                );
            }
            out.push_str("</table>\n");
        }
    }
}
