//! The registry commands of contract registry-v1 (`patient`, `record`, `tasks`, `task`, `kpi`,
//! `audit`, `export`, `import`, `db`). Parsing and printing only; the registry is `ovcf-store`.
//! These commands, and only these, run on a tokio runtime (sqlx is async); `ovcf assess` stays
//! synchronous.
//!
//! Exit codes: 0 ok, 2 invalid input (nothing written), 3 `audit verify` found tampering, 1 other.

use std::io::{BufReader, BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use ovcf_core::Date;
use ovcf_store::{
    MeasurementKind, MedicationInput, NewPatient, OutcomeInput, Store, StoreError, TaskFilter,
};
use serde_json::{Value, json};

/// Options of every registry command (global: they may stand before or after the subcommand).
#[derive(Args, Debug, Clone)]
pub struct GlobalOpts {
    /// Registry database: sqlite:PATH (created if absent) or postgres://USER@HOST:PORT/DB.
    /// Default: sqlite:$XDG_DATA_HOME/ovcf/registry.db, i.e. ~/.local/share/ovcf/registry.db.
    #[arg(long, global = true, env = "OVCF_DATABASE_URL", value_name = "URL")]
    pub db: Option<String>,
    /// Acting user recorded in the audit log (default: the OS user, $USER).
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,
}

#[derive(Args, Debug, Clone, Copy)]
pub struct Out {
    /// Output format of the registry command.
    #[arg(long, value_enum, default_value_t = OutFormat::Text)]
    format: OutFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// Registry: add, list and show patients.
    #[command(subcommand)]
    Patient(PatientCmd),
    /// Registry: record an assessment, procedure, medication, measurement or outcome event.
    #[command(subcommand)]
    Record(RecordCmd),
    /// Registry: the follow-up worklist across patients (status derived from dates).
    Tasks {
        /// Date the status is computed for (default: today).
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        /// due (due, within the 14-day grace), overdue, open (not closed), done, all.
        #[arg(long, value_enum, default_value_t = StatusArg::Open)]
        status: StatusArg,
        #[command(flatten)]
        out: Out,
    },
    /// Registry: complete a follow-up task.
    #[command(subcommand)]
    Task(TaskCmd),
    /// Registry: fracture liaison service indicators for index fractures in a period.
    Kpi {
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// Registry: verify the audit chain and every audited row.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Registry: export everything as NDJSON (the audit chain with the rows it wrote).
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Ndjson)]
        format: ExportFormat,
    },
    /// Registry: import an export into an empty database; prints {"committed": N} per batch.
    Import {
        /// The NDJSON export file.
        file: String,
        /// Lines per committed batch: each batch is durable once `{"committed": N}` is printed.
        #[arg(long, default_value_t = ovcf_store::transfer::IMPORT_BATCH_LINES as u64, value_parser = clap::value_parser!(u64).range(1..))]
        batch_lines: u64,
    },
    /// Registry: database administration.
    #[command(subcommand)]
    Db(DbCmd),
}

#[derive(Subcommand, Debug)]
pub enum PatientCmd {
    /// Create a patient (MRN unique).
    Add {
        #[arg(long)]
        mrn: String,
        #[arg(long, value_enum)]
        sex: SexArg,
        #[arg(long, value_name = "YYYY-MM-DD")]
        birth_date: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// List patients, optionally matching TEXT in MRN or name.
    List {
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// The whole record of one patient.
    Show {
        mrn: String,
        #[command(flatten)]
        out: Out,
    },
}

#[derive(Subcommand, Debug)]
pub enum RecordCmd {
    /// Run the engine on an AssessmentRequest (FILE or '-') and store request, report and tasks.
    Assessment {
        mrn: String,
        file: String,
        #[command(flatten)]
        out: Out,
    },
    /// Store a performed PVP/PKP (the `procedure` object of assessment-v1) and re-plan tasks.
    Procedure {
        mrn: String,
        file: String,
        #[command(flatten)]
        out: Out,
    },
    /// Start, end or update a drug.
    Medication {
        mrn: String,
        #[arg(long)]
        drug: String,
        #[arg(long, value_name = "DATE")]
        start: String,
        #[arg(long, value_name = "DATE")]
        end: Option<String>,
        #[arg(long, value_name = "DATE")]
        last_dose: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// Record measurements taken on one date.
    Measurement {
        mrn: String,
        #[arg(long, value_name = "DATE")]
        date: String,
        #[arg(long, allow_negative_numbers = true)]
        dxa_lumbar_t: Option<f64>,
        #[arg(long, allow_negative_numbers = true)]
        dxa_femoral_neck_t: Option<f64>,
        #[arg(long, allow_negative_numbers = true)]
        dxa_total_hip_t: Option<f64>,
        /// QCT trabecular vBMD, mg/cm³.
        #[arg(long)]
        qct: Option<f64>,
        #[arg(long)]
        vas: Option<f64>,
        #[arg(long)]
        egfr: Option<f64>,
        #[arg(long)]
        p1np: Option<f64>,
        #[arg(long)]
        ctx: Option<f64>,
        #[command(flatten)]
        out: Out,
    },
    /// Record an outcome event.
    Event {
        mrn: String,
        #[arg(long, value_name = "DATE")]
        date: String,
        #[arg(long = "type", value_enum)]
        kind: EventType,
        #[arg(long)]
        level: Option<String>,
        #[command(flatten)]
        out: Out,
    },
}

#[derive(Subcommand, Debug)]
pub enum TaskCmd {
    /// Mark a task done.
    Done {
        id: i64,
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        out: Out,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Recompute the chain and re-hash the rows: exit 0 intact, 3 tampered.
    Verify {
        #[command(flatten)]
        out: Out,
    },
}

#[derive(Subcommand, Debug)]
pub enum DbCmd {
    /// Apply pending migrations (also done automatically on first use).
    Migrate {
        #[command(flatten)]
        out: Out,
    },
    /// Load three fictitious demonstration patients (MRNs DEMO-…; one with five years of
    /// history) for training and evaluation. Refused unless the registry holds no patient.
    SeedDemo {
        #[command(flatten)]
        out: Out,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SexArg {
    Female,
    Male,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StatusArg {
    Due,
    Overdue,
    Open,
    Done,
    All,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum EventType {
    NewFracture,
    Death,
    LostToFollowUp,
    DeclinedTreatment,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExportFormat {
    Ndjson,
}

/// Entry point from `main`: builds the runtime for this command only.
pub fn run(cmd: RegistryCommand, opts: &GlobalOpts) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(run_async(cmd, opts))
}

/// The registry database URL: `--db` / `OVCF_DATABASE_URL`, else the default SQLite file.
pub fn db_url(opts: &GlobalOpts) -> anyhow::Result<String> {
    match &opts.db {
        Some(u) if !u.trim().is_empty() => Ok(u.clone()),
        _ => default_db_url(),
    }
}

fn default_db_url() -> anyhow::Result<String> {
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            let home = std::env::var_os("HOME").filter(|v| !v.is_empty()).context(
                "no --db, no OVCF_DATABASE_URL and no HOME to put the default registry in",
            )?;
            std::path::PathBuf::from(home).join(".local").join("share")
        }
    };
    let dir = base.join("ovcf");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(format!("sqlite:{}", dir.join("registry.db").display()))
}

fn os_user() -> String {
    for var in ["USER", "LOGNAME", "USERNAME"] {
        if let Ok(u) = std::env::var(var)
            && !u.trim().is_empty()
        {
            return u;
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            let uid = meta.uid();
            if let Ok(passwd) = std::fs::read_to_string("/etc/passwd") {
                for line in passwd.lines() {
                    let f: Vec<&str> = line.split(':').collect();
                    if f.len() > 2 && f[2] == uid.to_string() {
                        return f[0].to_owned();
                    }
                }
            }
            return format!("uid-{uid}");
        }
    }
    "unknown".to_owned()
}

use crate::{read_input, today, write_stdout as print};

fn emit(out: Out, value: &Value, text: impl FnOnce(&Value) -> String) -> anyhow::Result<()> {
    match out.format {
        OutFormat::Json => print(&(serde_json::to_string_pretty(value)? + "\n")),
        OutFormat::Text => print(&text(value)),
    }
}

/// The output format a command was given (for error reports).
fn out_of(cmd: &RegistryCommand) -> OutFormat {
    use RegistryCommand as C;
    let out = match cmd {
        C::Patient(PatientCmd::Add { out, .. })
        | C::Patient(PatientCmd::List { out, .. })
        | C::Patient(PatientCmd::Show { out, .. })
        | C::Record(RecordCmd::Assessment { out, .. })
        | C::Record(RecordCmd::Procedure { out, .. })
        | C::Record(RecordCmd::Medication { out, .. })
        | C::Record(RecordCmd::Measurement { out, .. })
        | C::Record(RecordCmd::Event { out, .. })
        | C::Tasks { out, .. }
        | C::Task(TaskCmd::Done { out, .. })
        | C::Kpi { out, .. }
        | C::Audit(AuditCmd::Verify { out })
        | C::Db(DbCmd::Migrate { out })
        | C::Db(DbCmd::SeedDemo { out }) => Some(*out),
        C::Export { .. } | C::Import { .. } => None,
    };
    out.map(|o| o.format).unwrap_or(OutFormat::Json)
}

async fn run_async(cmd: RegistryCommand, opts: &GlobalOpts) -> anyhow::Result<ExitCode> {
    let format = out_of(&cmd);
    let url = db_url(opts)?;
    let actor = opts.user.clone().unwrap_or_else(os_user);
    let migrate_only = matches!(cmd, RegistryCommand::Db(DbCmd::Migrate { .. }));
    let opened = if migrate_only {
        Store::connect(&url).await
    } else {
        Store::open(&url).await
    };
    let store = match opened {
        Ok(s) => s,
        Err(e) => return Ok(fail(e, format)),
    };
    let result = dispatch(&store, cmd, &actor).await;
    store.close().await;
    match result {
        Ok(code) => Ok(code),
        Err(e) => match e.downcast::<StoreError>() {
            Ok(se) => Ok(fail(se, format)),
            Err(other) => Err(other),
        },
    }
}

fn fail(e: StoreError, format: OutFormat) -> ExitCode {
    let code = if e.is_input_error() { 2 } else { 1 };
    let errors: Vec<Value> = match &e {
        StoreError::Invalid(list) => list
            .iter()
            .map(|i| json!({"path": i.path, "message": i.message}))
            .collect(),
        other => vec![json!({"path": "", "message": other.to_string()})],
    };
    match format {
        OutFormat::Json => eprintln!("{}", json!({ "errors": errors })),
        OutFormat::Text => eprintln!("ovcf: {e}"),
    }
    ExitCode::from(code)
}

async fn dispatch(store: &Store, cmd: RegistryCommand, actor: &str) -> anyhow::Result<ExitCode> {
    use RegistryCommand as C;
    match cmd {
        C::Patient(PatientCmd::Add {
            mrn,
            sex,
            birth_date,
            name,
            phone,
            out,
        }) => {
            let sex = match sex {
                SexArg::Female => "female",
                SexArg::Male => "male",
            };
            let p = store
                .add_patient(
                    actor,
                    NewPatient {
                        mrn,
                        sex: sex.into(),
                        birth_date,
                        name,
                        phone,
                    },
                    today()?,
                )
                .await?;
            let v = serde_json::to_value(&p)?;
            emit(out, &v, |_| {
                format!(
                    "patient {} added: MRN {} {} {}\n",
                    p.id, p.mrn, p.sex, p.birth_date
                )
            })?;
        }
        C::Patient(PatientCmd::List { search, out }) => {
            let list = store.list_patients(actor, search.as_deref()).await?;
            let v = json!({ "patients": list });
            emit(out, &v, |_| {
                let mut s = format!(
                    "{:<6} {:<16} {:<7} {:<11} {}\n",
                    "id", "mrn", "sex", "born", "name"
                );
                for p in &list {
                    s += &format!(
                        "{:<6} {:<16} {:<7} {:<11} {}\n",
                        p.id,
                        p.mrn,
                        p.sex,
                        p.birth_date,
                        p.name.as_deref().unwrap_or("")
                    );
                }
                s
            })?;
        }
        C::Patient(PatientCmd::Show { mrn, out }) => {
            let v = store.show_patient(actor, &mrn, today()?).await?;
            emit(out, &v, show_text)?;
        }
        C::Record(RecordCmd::Assessment { mrn, file, out }) => {
            let json = read_input(&file)?;
            let rec = store
                .record_assessment(actor, &mrn, &json, today()?)
                .await?;
            let v = serde_json::to_value(&rec)?;
            emit(out, &v, |v| {
                format!(
                    "assessment {} stored: plan {}\n{}",
                    rec.assessment_id,
                    rec.plan,
                    tasks_text(v.get("tasks"))
                )
            })?;
        }
        C::Record(RecordCmd::Procedure { mrn, file, out }) => {
            let json = read_input(&file)?;
            let rec = store.record_procedure(actor, &mrn, &json, today()?).await?;
            let v = serde_json::to_value(&rec)?;
            emit(out, &v, |v| {
                format!(
                    "procedure {} stored; assessment {} re-planned: plan {}\n{}",
                    rec.procedure_id.unwrap_or_default(),
                    rec.assessment_id,
                    rec.plan,
                    tasks_text(v.get("tasks"))
                )
            })?;
        }
        C::Record(RecordCmd::Medication {
            mrn,
            drug,
            start,
            end,
            last_dose,
            out,
        }) => {
            let v = store
                .record_medication(
                    actor,
                    &mrn,
                    MedicationInput {
                        drug,
                        start,
                        end,
                        last_dose,
                    },
                )
                .await?;
            emit(out, &v, |v| format!("medication recorded: {v}\n"))?;
        }
        C::Record(RecordCmd::Measurement {
            mrn,
            date,
            dxa_lumbar_t,
            dxa_femoral_neck_t,
            dxa_total_hip_t,
            qct,
            vas,
            egfr,
            p1np,
            ctx,
            out,
        }) => {
            let values: Vec<(MeasurementKind, f64)> = [
                (MeasurementKind::DxaLumbarT, dxa_lumbar_t),
                (MeasurementKind::DxaFemoralNeckT, dxa_femoral_neck_t),
                (MeasurementKind::DxaTotalHipT, dxa_total_hip_t),
                (MeasurementKind::Qct, qct),
                (MeasurementKind::Vas, vas),
                (MeasurementKind::Egfr, egfr),
                (MeasurementKind::P1np, p1np),
                (MeasurementKind::Ctx, ctx),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            let v = store
                .record_measurements(actor, &mrn, &date, &values)
                .await?;
            emit(out, &v, |v| {
                format!("measurements recorded: {}\n", v["measurements"])
            })?;
        }
        C::Record(RecordCmd::Event {
            mrn,
            date,
            kind,
            level,
            out,
        }) => {
            let kind = match kind {
                EventType::NewFracture => "new_fracture",
                EventType::Death => "death",
                EventType::LostToFollowUp => "lost_to_follow_up",
                EventType::DeclinedTreatment => "declined_treatment",
            };
            let v = store
                .record_event(
                    actor,
                    &mrn,
                    OutcomeInput {
                        date,
                        kind: kind.into(),
                        level,
                    },
                )
                .await?;
            emit(out, &v, |v| format!("event recorded: {v}\n"))?;
        }
        C::Tasks { as_of, status, out } => {
            let as_of = match as_of {
                Some(d) => Date::parse(&d).ok_or_else(|| {
                    StoreError::invalid("--as-of", format!("'{d}' is not a date YYYY-MM-DD"))
                })?,
                None => today()?,
            };
            let filter = match status {
                StatusArg::Due => TaskFilter::Due,
                StatusArg::Overdue => TaskFilter::Overdue,
                StatusArg::Open => TaskFilter::Open,
                StatusArg::Done => TaskFilter::Done,
                StatusArg::All => TaskFilter::All,
            };
            let tasks = store.tasks(as_of, filter).await?;
            let v = json!({ "as_of": as_of.to_string(), "tasks": tasks });
            emit(out, &v, |v| tasks_text(v.get("tasks")))?;
        }
        C::Task(TaskCmd::Done {
            id,
            date,
            note,
            out,
        }) => {
            let t = store
                .task_done(actor, id, date.as_deref(), note.as_deref(), today()?)
                .await?;
            let v = serde_json::to_value(&t)?;
            emit(out, &v, |_| {
                format!(
                    "task {} done on {}\n",
                    t.id,
                    t.closed_on.as_deref().unwrap_or("")
                )
            })?;
        }
        C::Kpi { from, to, out } => {
            let k = store.kpi(from.as_deref(), to.as_deref()).await?;
            let v = serde_json::to_value(&k)?;
            emit(out, &v, kpi_text)?;
        }
        C::Audit(AuditCmd::Verify { out }) => {
            let r = store.verify().await?;
            let v = serde_json::to_value(&r)?;
            emit(out, &v, |v| {
                if r.ok {
                    format!("audit chain intact: {} events\n", r.events)
                } else {
                    format!("AUDIT CHAIN BROKEN: {}\n", v["first_bad"])
                }
            })?;
            if !r.ok {
                return Ok(ExitCode::from(3));
            }
        }
        C::Export { format: _ } => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
            store.export(&mut w).await?;
            w.flush().context("writing standard output")?;
        }
        C::Import { file, batch_lines } => {
            let path = file.clone();
            let open =
                move || std::fs::File::open(&path).map(|f| BufReader::with_capacity(1 << 20, f));
            if let Err(e) = std::fs::metadata(&file) {
                return Err(StoreError::invalid("FILE", format!("{file}: {e}")).into());
            }
            let lines = store
                .import(usize::try_from(batch_lines)?, open, |n| {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{}", json!({ "committed": n }))?;
                    out.flush()
                })
                .await?;
            eprintln!("ovcf: imported {lines} lines");
        }
        C::Db(DbCmd::Migrate { out }) => {
            let applied = store.migrate().await?;
            let version = store.schema_version().await?;
            let v = json!({ "schema_version": version, "applied_now": applied });
            emit(out, &v, |_| format!("schema version {version}\n"))?;
        }
        C::Db(DbCmd::SeedDemo { out }) => {
            let mrns = store.seed_demo(actor, today()?).await?;
            let v = json!({ "seeded": mrns });
            emit(out, &v, |_| {
                format!("demonstration patients: {}\n", mrns.join(", "))
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn tasks_text(tasks: Option<&Value>) -> String {
    let mut s = format!(
        "{:<7} {:<16} {:<11} {:<10} {}\n",
        "id", "mrn", "due", "status", "items"
    );
    for t in tasks.and_then(Value::as_array).into_iter().flatten() {
        let items: Vec<&str> = t["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        s += &format!(
            "{:<7} {:<16} {:<11} {:<10} {}\n",
            t["id"].as_i64().unwrap_or_default(),
            t["mrn"].as_str().unwrap_or(""),
            t["due"].as_str().unwrap_or(""),
            t["status"].as_str().unwrap_or(""),
            items.join(", ")
        );
    }
    s
}

fn kpi_text(v: &Value) -> String {
    let mut s = format!(
        "{:<24} {:>9} {:>11} {:>7}\n",
        "indicator", "numerator", "denominator", "%"
    );
    for key in [
        "identified",
        "bmd_within_90d",
        "treatment_recommended",
        "treatment_started_16w",
        "followed_up_16w",
        "followed_up_12m",
        "adherent_52w",
        "refracture_12m",
        "cement_leakage",
        "adjacent_fracture_12m",
    ] {
        let k = &v[key];
        s += &format!(
            "{:<24} {:>9} {:>11} {:>7}\n",
            key,
            k["numerator"].as_i64().unwrap_or_default(),
            k["denominator"].as_i64().unwrap_or_default(),
            k["pct"]
                .as_f64()
                .map(|p| format!("{p:.1}"))
                .unwrap_or_else(|| "—".into())
        );
    }
    s
}

fn show_text(v: &Value) -> String {
    let p = &v["patient"];
    let mut s = format!(
        "patient {} MRN {} {} born {} {}\n",
        p["id"],
        p["mrn"].as_str().unwrap_or(""),
        p["sex"].as_str().unwrap_or(""),
        p["birth_date"].as_str().unwrap_or(""),
        p["name"].as_str().unwrap_or("")
    );
    for f in v["index_fractures"].as_array().into_iter().flatten() {
        s += &format!(
            "index fracture {} on {} at {}\n",
            f["id"],
            f["index_date"].as_str().unwrap_or(""),
            f["levels"].as_str().unwrap_or("")
        );
    }
    for a in v["assessments"].as_array().into_iter().flatten() {
        s += &format!(
            "assessment {} as of {}: {} ({}, {})\n",
            a["id"],
            a["as_of"].as_str().unwrap_or(""),
            a["plan"].as_str().unwrap_or(""),
            a["engine_version"].as_str().unwrap_or(""),
            a["knowledge_version"].as_str().unwrap_or("")
        );
    }
    for p in v["procedures"].as_array().into_iter().flatten() {
        s += &format!(
            "procedure {} {} {} on {}\n",
            p["id"],
            p["kind"].as_str().unwrap_or(""),
            p["level"].as_str().unwrap_or(""),
            p["date"].as_str().unwrap_or("")
        );
    }
    for m in v["medications"].as_array().into_iter().flatten() {
        s += &format!(
            "medication {} from {} to {}\n",
            m["drug"].as_str().unwrap_or(""),
            m["start_date"].as_str().unwrap_or(""),
            m["end_date"].as_str().unwrap_or("ongoing")
        );
    }
    for m in v["measurements"].as_array().into_iter().flatten() {
        s += &format!(
            "measurement {} {} = {}\n",
            m["date"].as_str().unwrap_or(""),
            m["kind"].as_str().unwrap_or(""),
            m["value"]
        );
    }
    for e in v["events"].as_array().into_iter().flatten() {
        s += &format!(
            "event {} {} {}\n",
            e["date"].as_str().unwrap_or(""),
            e["type"].as_str().unwrap_or(""),
            e["level"].as_str().unwrap_or("")
        );
    }
    s + &tasks_text(v.get("tasks"))
}
