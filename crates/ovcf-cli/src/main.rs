//! `ovcf`: the OVCF Pathway command line. Argument parsing and wiring only; the clinical logic is
//! in `ovcf-core`, the rendering in `ovcf-report`.
//!
//! Exit codes: 0 ok, 2 invalid input, 3 `audit verify` found tampering, 1 any other failure.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use ovcf_core::{AssessError, AssessmentReport, AssessmentRequest, Date};
use ovcf_report::{Lang, RenderOptions};

mod registry;

#[derive(Parser)]
#[command(
    name = "ovcf",
    version,
    about = "OVCF Pathway: clinical decision support for osteoporotic vertebral compression fractures"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    registry: registry::GlobalOpts,
}

#[derive(Subcommand)]
enum Command {
    /// Assess one AssessmentRequest (JSON) and print the report.
    Assess {
        /// Request file, or '-' for standard input.
        file: String,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        #[arg(long, value_enum, default_value_t = LangArg::Zh)]
        lang: LangArg,
        /// Add the rules that fired and the facts they used ("why").
        #[arg(long)]
        explain: bool,
    },
    /// Print the JSON Schema of the request or the report, generated from the Rust types.
    Schema {
        #[arg(value_enum)]
        which: SchemaKind,
    },
    /// Show the knowledge base: version, recommendations with grades, thresholds, sources.
    Knowledge {
        #[arg(long, value_enum, default_value_t = KnowledgeFormat::Text)]
        format: KnowledgeFormat,
    },
    #[command(flatten)]
    Registry(registry::RegistryCommand),
    /// `serve`, `user add`, `token create|revoke`, `cds-client add`.
    #[command(flatten)]
    Server(ovcf_server::cli::ServerCommand),
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Text,
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Zh,
    En,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    Request,
    Report,
}

#[derive(Clone, Copy, ValueEnum)]
enum KnowledgeFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ovcf: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Today in the local time zone: the engine's `as_of` when a request has none.
pub(crate) fn today() -> anyhow::Result<Date> {
    let now = jiff::Zoned::now().date();
    Date::new(now.year(), now.month(), now.day()).context("today's date is out of range")
}

/// A file's text, or standard input for `-`.
pub(crate) fn read_input(file: &str) -> anyhow::Result<String> {
    let mut s = String::new();
    if file == "-" {
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading standard input")?;
    } else {
        s = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
    }
    Ok(s)
}

pub(crate) fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing standard output")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Assess {
            file,
            format,
            lang,
            explain,
        } => {
            let json = read_input(&file)?;
            let report = match ovcf_core::assess_json(&json, today()?) {
                Ok(r) => r,
                Err(AssessError::Invalid(errors)) => {
                    report_invalid(&errors, format);
                    return Ok(ExitCode::from(2));
                }
                Err(e) => return Err(e.into()),
            };
            let lang = match lang {
                LangArg::Zh => Lang::Zh,
                LangArg::En => Lang::En,
            };
            write_stdout(&render(&report, format, lang, explain)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { which } => {
            let schema = match which {
                SchemaKind::Request => ovcf_core::schema_of::<AssessmentRequest>(),
                SchemaKind::Report => ovcf_core::schema_of::<AssessmentReport>(),
            };
            write_stdout(&(serde_json::to_string_pretty(&schema)? + "\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Knowledge { format } => {
            let k =
                ovcf_core::knowledge::Knowledge::embedded().map_err(|e| anyhow::anyhow!("{e}"))?;
            write_stdout(&knowledge_listing(k, format)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Registry(cmd) => registry::run(cmd, &cli.registry),
        Command::Server(cmd) => ovcf_server::cli::run(
            cmd,
            &registry::db_url(&cli.registry)?,
            cli.registry.user.as_deref(),
        ),
    }
}

fn render(
    report: &AssessmentReport,
    format: Format,
    lang: Lang,
    explain: bool,
) -> anyhow::Result<String> {
    let opts = RenderOptions { lang, explain };
    Ok(match format {
        Format::Json => {
            // The explanation is part of the JSON report either way (contract v1.1).
            ovcf_core::report_json(report)?
        }
        Format::Text => ovcf_report::render_text(report, &opts),
        Format::Html => ovcf_report::render_html(report, &opts),
    })
}

fn report_invalid(errors: &[ovcf_core::FieldError], format: Format) {
    match format {
        Format::Json => {
            let body = serde_json::json!({ "errors": errors });
            eprintln!("{body}");
        }
        _ => {
            eprintln!("ovcf: invalid request ({} error(s)):", errors.len());
            for e in errors {
                eprintln!("  - {e}");
            }
        }
    }
}

fn knowledge_listing(
    k: &ovcf_core::knowledge::Knowledge,
    format: KnowledgeFormat,
) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    if let KnowledgeFormat::Json = format {
        let recs: Vec<_> = k
            .recommendations()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "zh": r.zh, "en": r.en, "quality": r.quality,
                    "strength": r.strength, "sources": r.sources, "provisional": r.provisional,
                })
            })
            .collect();
        let thresholds: serde_json::Map<String, serde_json::Value> = k
            .thresholds
            .iter()
            .map(|(name, t)| {
                (
                    name.to_owned(),
                    serde_json::json!({"value": t.value, "unit": t.unit, "sources": t.sources, "provisional": t.provisional}),
                )
            })
            .collect();
        let sources: Vec<_> = k
            .sources()
            .map(|s| serde_json::json!({"id": s.id, "citation": s.citation, "doi": s.doi, "status": s.status}))
            .collect();
        let doc = serde_json::json!({
            "knowledge_version": k.version, "recommendations": recs,
            "thresholds": thresholds, "sources": sources,
        });
        return Ok(serde_json::to_string_pretty(&doc)? + "\n");
    }
    let mut s = String::new();
    writeln!(s, "knowledge_version {}", k.version)?;
    writeln!(s, "\nRecommendations:")?;
    for r in k.recommendations() {
        let grade = match (r.quality, r.strength) {
            (Some(q), Some(st)) => format!("{q:?}/{st}"),
            _ => "—".into(),
        };
        let prov = if r.provisional { " (provisional)" } else { "" };
        writeln!(
            s,
            "  {:<36} {:<4} {}{}",
            r.id,
            grade,
            r.sources.join(", "),
            prov
        )?;
    }
    writeln!(s, "\nThresholds:")?;
    for (name, t) in k.thresholds.iter() {
        writeln!(
            s,
            "  {:<40} {} {}  [{}]",
            name,
            t.value,
            t.unit,
            t.sources.join(", ")
        )?;
    }
    Ok(s)
}
