//! Plain-text layout of a [`Doc`]: a consultation note for a terminal, an e-mail or a chart entry.
//! Lines are not wrapped (Chinese text has no spaces to wrap at); widths count CJK as two columns.

use std::fmt::Write as _;

use crate::doc::{Block, Doc, Item};

/// Columns a string takes on a terminal: East Asian wide characters count two.
pub(crate) fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let u = u32::from(c);
            let wide = (0x1100..=0x115F).contains(&u)
                || (0x2E80..=0xA4CF).contains(&u)
                || (0xAC00..=0xD7A3).contains(&u)
                || (0xF900..=0xFAFF).contains(&u)
                || (0xFE30..=0xFE4F).contains(&u)
                || (0xFF00..=0xFF60).contains(&u)
                || (0xFFE0..=0xFFE6).contains(&u);
            if wide { 2 } else { 1 }
        })
        .sum()
}

const BAR_WIDTH: f64 = 24.0;

pub(crate) fn render(doc: &Doc) -> String {
    let mut out = String::new();
    let colon = crate::i18n::t(doc.lang, "report.colon");
    out.push_str(&doc.title);
    out.push('\n');
    out.push_str(&doc.subtitle);
    out.push('\n');
    let rule = "=".repeat(display_width(&doc.subtitle).max(display_width(&doc.title)));
    out.push_str(&rule);
    out.push('\n');
    for (label, value) in &doc.meta {
        let _ = writeln!(out, "{label}{colon}{value}");
    }
    for (i, section) in doc.sections.iter().enumerate() {
        let heading = format!("{}. {}", i + 1, section.heading);
        let _ = write!(
            out,
            "\n{heading}\n{}\n",
            "-".repeat(display_width(&heading))
        );
        for block in &section.blocks {
            render_block(&mut out, block, colon);
        }
    }
    let _ = write!(
        out,
        "\n{}\n{}\n{}\n",
        "-".repeat(rule.len().min(60)),
        doc.footer,
        doc.technical
    );
    out
}

fn render_item(out: &mut String, item: &Item) {
    out.push_str("  - ");
    for m in &item.marks {
        let _ = write!(out, "[{}] ", m.label);
    }
    out.push_str(&item.text);
    out.push('\n');
    for d in &item.details {
        let _ = writeln!(out, "      {d}");
    }
}

fn render_block(out: &mut String, block: &Block, colon: &str) {
    match block {
        Block::Fields(fields) => {
            for (label, value) in fields {
                let _ = writeln!(out, "  {label}{colon}{value}");
            }
        }
        Block::Heading(h) => {
            let _ = writeln!(out, "  ◆ {h}");
        }
        Block::Para(p) => {
            let _ = writeln!(out, "  {p}");
        }
        Block::Note(n) => {
            let _ = writeln!(out, "  ※ {n}");
        }
        Block::List(items) => {
            for item in items {
                render_item(out, item);
            }
        }
        Block::Table { header, rows } => {
            let sep = if colon == "：" { "；" } else { "; " };
            for row in rows {
                let mut cells = row.iter().zip(header);
                if let Some((first, _)) = cells.next() {
                    let _ = writeln!(out, "  ▸ {first}");
                }
                let pairs: Vec<String> = cells.map(|(v, h)| format!("{h}{colon}{v}")).collect();
                for chunk in pairs.chunks(4) {
                    let _ = writeln!(out, "    {}", chunk.join(sep));
                }
            }
        }
        Block::Bars(bars) => {
            let w = bars
                .iter()
                .map(|b| display_width(&b.label))
                .max()
                .unwrap_or(0);
            for b in bars {
                let pad = " ".repeat(w.saturating_sub(display_width(&b.label)));
                let filled = (b.fraction * BAR_WIDTH).round().clamp(0.0, BAR_WIDTH) as usize;
                let empty = BAR_WIDTH as usize - filled;
                let _ = writeln!(
                    out,
                    "  {}{pad} |{}{}| {}",
                    b.label,
                    "#".repeat(filled),
                    " ".repeat(empty),
                    b.value
                );
            }
        }
    }
}
