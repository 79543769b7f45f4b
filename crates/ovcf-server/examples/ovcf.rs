//! Stand-in for the `ovcf` binary until `ovcf-cli` wires this crate: global `--db`/`--user`, the
//! server's subcommands, and `assess -` (through the same `report_json`) so the conformance check
//! (`shared/conformance/server_check.py`) can run against `target/release/examples/ovcf`.

use std::io::Read as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ovcf_server::cli::ServerCommand;

#[derive(Parser)]
struct Cli {
    /// Registry database URL.
    #[arg(long, global = true)]
    db: Option<String>,
    /// Acting user (the user `token create` makes a token for).
    #[arg(long, global = true)]
    user: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assess a request from standard input (JSON report only).
    Assess {
        file: String,
        #[arg(long, default_value = "json")]
        format: String,
    },
    #[command(flatten)]
    Server(ServerCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Assess { file, format } => assess(&file, &format),
        Command::Server(cmd) => {
            let db = cli.db.unwrap_or_else(|| "sqlite:ovcf-registry.db".into());
            ovcf_server::cli::run(cmd, &db, cli.user.as_deref())
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ovcf: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn assess(file: &str, format: &str) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        file == "-" && format == "json",
        "only `assess - --format json`"
    );
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    match ovcf_core::assess_json(&s, ovcf_server::today()?) {
        Ok(report) => {
            print!("{}", ovcf_server::report_json(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(2))
        }
    }
}
