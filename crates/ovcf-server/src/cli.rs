//! The `ovcf` subcommands this crate owns (`serve`, `user`, `token`, `cds-client`), as a clap
//! `Subcommand` the binary flattens into its own, plus [`run`]. The binary stays thin: it parses
//! and calls.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use crate::accounts::{Accounts, check_user_name};
use crate::auth::Role;
use crate::ratelimit::RateLimit;
use crate::store_backend::StoreBackend;
use crate::{AppConfig, AppState, ServeConfig, StateParts};

/// The server's subcommands.
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Run the HTTP service (REST API, OpenAPI docs, CDS Hooks) until SIGTERM/SIGINT.
    Serve(ServeArgs),
    /// Manage users (who may sign in, with which role).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens (shown once, stored hashed).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Allow-list CDS Hooks clients (EHRs) and their JWK Sets.
    #[command(subcommand, name = "cds-client")]
    CdsClient(CdsClientCommand),
}

/// `ovcf serve` options.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The public URL the server is reached at (checked as the CDS Hooks JWT `aud`; used in links).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Requests per second allowed to each principal (0 disables the limit).
    #[arg(long, default_value_t = RateLimit::default().per_second)]
    pub rate_limit: u32,
    /// Burst of requests allowed to each principal above the sustained rate.
    #[arg(long, default_value_t = RateLimit::default().burst)]
    pub rate_burst: u32,
    /// Seconds allowed to produce a response.
    #[arg(long, default_value_t = 30)]
    pub request_timeout: u64,
    /// Headless Chromium (or Chrome) that prints assessment PDFs; default: `OVCF_PDF_BROWSER`,
    /// else `chromium`, `chromium-browser` or `google-chrome` on PATH.
    #[arg(long)]
    pub pdf_browser: Option<std::path::PathBuf>,
}

impl ServeArgs {
    /// The application settings these options describe.
    pub fn app_config(&self, db_url: Option<&str>) -> AppConfig {
        AppConfig {
            db_kind: db_kind(db_url),
            // Without --base-url the server is reached at its own address.
            base_url: Some(self.base_url.as_deref().map_or_else(
                || format!("http://{}", self.addr),
                |u| u.trim_end_matches('/').to_owned(),
            )),
            rate_limit: RateLimit {
                per_second: self.rate_limit,
                burst: self.rate_burst,
            },
            request_timeout: Duration::from_secs(self.request_timeout.max(1)),
            // With a public base URL the operator chose to expose the server; the link is a
            // 256-bit secret either way.
            setup_local_only: self.base_url.is_none(),
            pdf_browser: self.pdf_browser.clone(),
        }
    }
}

/// `sqlite`, `postgres` or `none`, from a database URL.
pub fn db_kind(db_url: Option<&str>) -> &'static str {
    match db_url {
        Some(u) if u.starts_with("postgres:") || u.starts_with("postgresql:") => "postgres",
        Some(_) => "sqlite",
        None => "none",
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add {
        name: String,
        #[arg(long, value_parser = ["clinician", "coordinator", "admin"])]
        role: String,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user (staff who left): no sign-in, API tokens stop working; the record stays
    /// for the audit trail.
    Disable { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for the user named by the global `--user`; prints it once (only its
    /// SHA-256 is stored).
    Create {
        /// `text` (the token alone) or `json` (`{"token": "…", "id": N}`).
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Revoke a token by its id (printed by `token create --format json`).
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum CdsClientCommand {
    /// Allow-list a CDS client by its `iss`, with its JWK Set.
    Add {
        #[arg(long)]
        iss: String,
        /// JWK Set file.
        #[arg(long)]
        jwks: std::path::PathBuf,
    },
}

/// Reads a password: the first line of standard input with `--password-stdin`, else a prompt on
/// the terminal (echo off).
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    let stdin = std::io::stdin();
    if !from_stdin && !stdin.is_terminal() {
        bail!(
            "no terminal to prompt on: pass --password-stdin and write the password to standard input"
        );
    }
    let echo_off = !from_stdin && set_echo(false);
    if !from_stdin {
        eprint!("password: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if echo_off {
        set_echo(true);
        eprintln!();
    }
    read.context("reading the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Turns terminal echo on or off with `stty` (Unix); whether it worked.
fn set_echo(on: bool) -> bool {
    std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs an admin command against `accounts`; what it prints goes to standard output.
pub async fn run_admin(
    command: ServerCommand,
    accounts: &dyn Accounts,
    user: Option<&str>,
    out: &mut (dyn std::io::Write + Send),
) -> anyhow::Result<ExitCode> {
    match command {
        ServerCommand::Serve(_) => bail!("`serve` is not an admin command"),
        ServerCommand::User(UserCommand::Add {
            name,
            role,
            password_stdin,
        }) => {
            check_user_name(&name)?;
            let role: Role = role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let password = read_password(password_stdin)?;
            let phc = crate::secrets::hash_password(&password)?;
            let user = accounts.add_user(&name, role, &phc).await?;
            writeln!(out, "{}", serde_json::to_string(&user)?)?;
            Ok(ExitCode::SUCCESS)
        }
        ServerCommand::User(UserCommand::Disable { name }) => {
            if !accounts.disable_user(&name).await? {
                bail!("no active user named {name:?}");
            }
            writeln!(out, "{}", serde_json::json!({"disabled": name}))?;
            Ok(ExitCode::SUCCESS)
        }
        ServerCommand::Token(TokenCommand::Create { format }) => {
            let Some(user) = user.filter(|u| !u.trim().is_empty()) else {
                bail!("token create needs --user NAME (the user the token is for)");
            };
            let token = crate::secrets::new_api_token()?;
            let id = accounts
                .add_token(user, &crate::auth::token_digest(&token))
                .await?;
            if format == "json" {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"token": token, "id": id, "user": user})
                )?;
            } else {
                writeln!(out, "{token}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ServerCommand::Token(TokenCommand::Revoke { id }) => {
            if accounts.revoke_token(id).await? {
                writeln!(out, "{}", serde_json::json!({"revoked": id}))?;
                Ok(ExitCode::SUCCESS)
            } else {
                bail!("no live token with id {id}")
            }
        }
        ServerCommand::CdsClient(CdsClientCommand::Add { iss, jwks }) => {
            let text = std::fs::read_to_string(&jwks)
                .with_context(|| format!("reading {}", jwks.display()))?;
            let set = ovcf_fhir::CdsAuth::parse_jwks(&text)
                .with_context(|| format!("{} is not a JWK Set", jwks.display()))?;
            if set.keys.is_empty() {
                bail!("{} has no keys", jwks.display());
            }
            if iss.trim().is_empty() {
                bail!("--iss is empty");
            }
            accounts.put_cds_client(&iss, &text).await?;
            writeln!(
                out,
                "{}",
                serde_json::json!({"iss": iss, "keys": set.keys.len()})
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs one of the server's subcommands. `db_url` is the registry the binary's global `--db`
/// resolves to; `user` is its global `--user` (the user `token create` makes a token for).
pub fn run(command: ServerCommand, db_url: &str, user: Option<&str>) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(command, db_url, user))
}

/// The operating-system user running the command: `USER`, `LOGNAME` or `USERNAME`, else (Unix)
/// the name of the process's uid in `/etc/passwd` (as the registry commands find their actor).
fn os_user() -> String {
    if let Some(u) = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_owned())
        .find(|v| !v.is_empty())
    {
        return u;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            let uid = meta.uid().to_string();
            let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
            return passwd
                .lines()
                .map(|line| line.split(':').collect::<Vec<_>>())
                .find(|f| f.get(2) == Some(&uid.as_str()))
                .and_then(|f| f.first().map(|n| (*n).to_owned()))
                .unwrap_or_else(|| format!("uid-{uid}"));
        }
    }
    "unknown".to_owned()
}

async fn open_registry(db_url: &str) -> anyhow::Result<Arc<ovcf_store::Store>> {
    // Opening migrates, which creates the account tables (migration 2).
    let store = ovcf_store::Store::open(db_url)
        .await
        .context("opening the registry")?;
    Ok(Arc::new(store))
}

async fn run_async(
    command: ServerCommand,
    db_url: &str,
    user: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let store = open_registry(db_url).await?;
    let backend = Arc::new(StoreBackend::new(store.clone()));
    let code = match command {
        ServerCommand::Serve(args) => {
            crate::init_logging();
            serve_registry(args, db_url, store.clone(), backend).await?;
            ExitCode::SUCCESS
        }
        admin => {
            // Account changes made here are audited as the local operator (`local:OSUSER`).
            let operator =
                backend.with_actor(&ovcf_store::audit::actor::local_operator(&os_user()));
            let mut out = std::io::stdout();
            run_admin(admin, &operator, user, &mut out).await?
        }
    };
    store.close().await;
    Ok(code)
}

/// `ovcf serve` on the registry: tokens and CDS clients from the database, the set-up link when
/// there are no users yet.
async fn serve_registry(
    args: ServeArgs,
    db_url: &str,
    store: Arc<ovcf_store::Store>,
    backend: Arc<StoreBackend>,
) -> anyhow::Result<()> {
    let app_config = args.app_config(Some(db_url));
    let mut cds_auth = ovcf_fhir::CdsAuth::new();
    for (iss, jwks) in backend.cds_clients().await? {
        match ovcf_fhir::CdsAuth::parse_jwks(&jwks) {
            Ok(set) => cds_auth.add_client(iss, set),
            Err(e) => {
                tracing::warn!(error = %e, "a stored CDS client JWK Set does not parse; client skipped")
            }
        }
    }
    let ledger = Arc::new(crate::routes::cds::BatchedLedger::start(backend.clone()));
    let state = AppState::from_parts(StateParts {
        config: app_config.clone(),
        resolver: backend.clone(),
        cds_auth: Arc::new(cds_auth),
        cds_ledger: ledger.clone(),
        accounts: Some(backend.clone()),
        store: Some(store),
    });
    if backend.user_count().await? == 0 {
        let token = crate::secrets::new_api_token()?;
        state.arm_setup(crate::auth::token_digest(&token));
        let base = app_config
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", args.addr));
        println!(
            "No users yet. Create the first administrator (one-time link{}): {base}/setup?token={token}",
            if app_config.setup_local_only {
                ", from this machine only"
            } else {
                ""
            }
        );
        println!("Or: ovcf user add NAME --role admin");
    }
    let config = ServeConfig {
        addr: args.addr,
        app: app_config,
    };
    let served = crate::serve_with(config, state).await;
    ledger.finish().await;
    served
}
