//! A development server without the registry: `ovcf serve`'s options, plus one clinician token
//! taken from `OVCF_DEV_TOKEN` (held in memory as its digest) and optionally one CDS client
//! (`--cds-iss ISS --cds-jwks FILE`). For load tests and for trying the API before the registry
//! is wired; never for production.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use ovcf_server::auth::{MemoryResolver, Principal, Role};
use ovcf_server::cli::ServeArgs;
use ovcf_server::routes::cds::MemoryLedger;
use ovcf_server::{AppState, ServeConfig, StateParts};

#[derive(Parser)]
struct Dev {
    #[command(flatten)]
    serve: ServeArgs,
    /// Allow-list this CDS client issuer…
    #[arg(long, requires = "cds_jwks")]
    cds_iss: Option<String>,
    /// …with this JWK Set file.
    #[arg(long, requires = "cds_iss")]
    cds_jwks: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let args = Dev::parse();
    let Ok(token) = std::env::var("OVCF_DEV_TOKEN") else {
        eprintln!("serve_dev: set OVCF_DEV_TOKEN");
        return ExitCode::from(2);
    };
    ovcf_server::init_logging();
    let resolver = MemoryResolver::new().with_token(
        &token,
        Principal {
            user: "dev".into(),
            role: Role::Clinician,
        },
    );
    let config = ServeConfig {
        addr: args.serve.addr,
        app: args.serve.app_config(None),
    };
    let mut cds_auth = ovcf_fhir::CdsAuth::new();
    if let (Some(iss), Some(path)) = (&args.cds_iss, &args.cds_jwks) {
        let jwks = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| ovcf_fhir::CdsAuth::parse_jwks(&t).map_err(|e| e.to_string()));
        match jwks {
            Ok(jwks) => cds_auth.add_client(iss.clone(), jwks),
            Err(e) => {
                eprintln!("serve_dev: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let state = AppState::from_parts(StateParts {
        config: config.app.clone(),
        resolver: Arc::new(resolver),
        cds_auth: Arc::new(cds_auth),
        cds_ledger: Arc::new(MemoryLedger::default()),
        accounts: None,
        store: None,
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("serve_dev: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(ovcf_server::serve_with(config, state)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("serve_dev: {e:#}");
            ExitCode::FAILURE
        }
    }
}
