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
    /// A hospital's code-map overlay (local drug/observation/condition codes, same format as
    /// knowledge/fhir-codes.toml); used by `serve` and `fhir map`.
    #[arg(long, global = true, env = "OVCF_CODE_MAP", value_name = "FILE")]
    code_map: Option<String>,
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
    /// FHIR tools for integrators.
    #[command(subcommand)]
    Fhir(FhirCommand),
    #[command(flatten)]
    Registry(registry::RegistryCommand),
    /// `serve`, `user add`, `token create|revoke`, `cds-client add`.
    #[command(flatten)]
    Server(ovcf_server::cli::ServerCommand),
}

#[derive(Subcommand)]
enum FhirCommand {
    /// Map FHIR R4 data (a Bundle, one resource, or NDJSON) to an AssessmentRequest and show
    /// every issue: what was read, what was not and why, before go-live.
    Map {
        /// Bundle / resource JSON or NDJSON file, or '-' for standard input.
        file: String,
        #[arg(long, value_enum, default_value_t = MapFormat::Json)]
        format: MapFormat,
        #[arg(long, value_enum, default_value_t = LangArg::En)]
        lang: LangArg,
        /// The patient in context (resources of other patients are reported and skipped).
        #[arg(long)]
        patient: Option<String>,
        /// Assessment date (YYYY-MM-DD); default today.
        #[arg(long)]
        as_of: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum MapFormat {
    Json,
    Text,
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
    if let Some(path) = &cli.code_map {
        let text = read_input(path)?;
        let map = ovcf_fhir::codemap::CodeMap::with_overlay(&text)
            .map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
        ovcf_fhir::codemap::install(map).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    match cli.command {
        Command::Fhir(FhirCommand::Map {
            file,
            format,
            lang,
            patient,
            as_of,
        }) => fhir_map(&file, format, lang, patient.as_deref(), as_of.as_deref()),
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

/// `ovcf fhir map`: the mapped request, the issues and, when it can be assessed, the plan.
fn fhir_map(
    file: &str,
    format: MapFormat,
    lang: LangArg,
    patient: Option<&str>,
    as_of: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use std::fmt::Write as _;
    let text = read_input(file)?;
    let as_of = match as_of {
        Some(d) => Date::parse(d).with_context(|| format!("--as-of {d}: expected YYYY-MM-DD"))?,
        None => today()?,
    };
    // One JSON document, else NDJSON (one resource or Bundle per line).
    let docs: Vec<serde_json::Value> = match serde_json::from_str(&text) {
        Ok(v) => vec![v],
        Err(_) => {
            let mut out = Vec::new();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                match serde_json::from_str(line) {
                    Ok(v) => out.push(v),
                    Err(e) => {
                        eprintln!("ovcf: {file}: line {}: not JSON ({e})", i + 1);
                        return Ok(ExitCode::from(2));
                    }
                }
            }
            out
        }
    };
    let resources: Vec<&serde_json::Value> = docs
        .iter()
        .flat_map(ovcf_fhir::fhir::bundle_resources)
        .collect();
    let mapped = ovcf_fhir::map_resources(&resources, patient, as_of);
    let assessed = ovcf_fhir::assess_mapped(&mapped).ok();
    let flang = match lang {
        LangArg::Zh => ovcf_fhir::Lang::Zh,
        LangArg::En => ovcf_fhir::Lang::En,
    };
    let lines = ovcf_fhir::quality::lines(&mapped, flang);
    let plan = assessed.as_ref().map(|a| a.report.treatment.plan);
    match format {
        MapFormat::Json => {
            let doc = serde_json::json!({
                "code_map_version": ovcf_fhir::codemap::active().version(),
                "as_of": as_of,
                "resources": resources.len(),
                "request": mapped.request,
                "partial": mapped.partial,
                "missing_required": mapped.missing_required,
                "issues": mapped.issues,
                "plan": plan,
                "data_quality": lines,
            });
            write_stdout(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
        }
        MapFormat::Text => {
            let mut s = String::new();
            writeln!(s, "code map {}", ovcf_fhir::codemap::active().version())?;
            writeln!(s, "{} resource(s), as of {as_of}", resources.len())?;
            let state = if mapped.request.is_some() {
                "complete"
            } else if assessed.is_some() {
                "partial (decisions depending on missing fields withheld)"
            } else {
                "not assessable"
            };
            writeln!(s, "request: {state}")?;
            if !mapped.missing_required.is_empty() {
                writeln!(
                    s,
                    "missing required: {}",
                    mapped.missing_required.join(", ")
                )?;
            }
            if let Some(p) = plan {
                writeln!(s, "plan: {}", p.as_str())?;
            }
            writeln!(s, "\ndata quality:")?;
            for l in &lines {
                writeln!(s, "  {l}")?;
            }
            writeln!(s, "\nissues ({}):", mapped.issues.len())?;
            for i in &mapped.issues {
                let sev = serde_json::to_value(i.severity)?;
                let code = serde_json::to_value(i.code)?;
                writeln!(
                    s,
                    "  {:<11} {:<17} {} {}: {}",
                    sev.as_str().unwrap_or(""),
                    code.as_str().unwrap_or(""),
                    i.resource,
                    i.path,
                    i.message
                )?;
            }
            write_stdout(&s)?;
        }
    }
    Ok(ExitCode::SUCCESS)
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
