//! The admin commands (`token create`, `token revoke`, `cds-client add`) against in-memory accounts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use ovcf_server::accounts::{Accounts, MemoryAccounts};
use ovcf_server::auth::{PrincipalResolver, Role};
use ovcf_server::cli::{ServerCommand, run_admin};

#[derive(Parser)]
struct Cli {
    #[arg(long, global = true)]
    user: Option<String>,
    #[command(subcommand)]
    cmd: ServerCommand,
}

async fn admin(accounts: &MemoryAccounts, args: &[&str]) -> anyhow::Result<String> {
    let cli = Cli::try_parse_from(std::iter::once("ovcf").chain(args.iter().copied()))?;
    let mut out = Vec::new();
    run_admin(cli.cmd, accounts, cli.user.as_deref(), &mut out).await?;
    Ok(String::from_utf8(out)?)
}

#[tokio::test]
async fn tokens_are_shown_once_resolve_and_revoke() {
    let a = MemoryAccounts::default();
    a.add_user("doc", Role::Clinician, "$argon2id$x")
        .await
        .unwrap();
    let out = admin(
        &a,
        &["token", "create", "--user", "doc", "--format", "json"],
    )
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let token = v["token"].as_str().unwrap();
    assert!(token.starts_with("ovcf_"));
    assert_eq!(a.resolve(token).await.unwrap().unwrap().user, "doc");
    let id = v["id"].as_i64().unwrap().to_string();
    admin(&a, &["token", "revoke", &id]).await.unwrap();
    assert!(a.resolve(token).await.unwrap().is_none());
    // Text format: the token alone.
    let out = admin(&a, &["token", "create", "--user", "doc"])
        .await
        .unwrap();
    assert!(out.trim().starts_with("ovcf_") && !out.contains('{'));
    // No user, unknown user.
    assert!(admin(&a, &["token", "create"]).await.is_err());
    assert!(
        admin(&a, &["token", "create", "--user", "nobody"])
            .await
            .is_err()
    );
}

#[tokio::test]
async fn cds_clients_need_a_jwk_set() {
    let a = MemoryAccounts::default();
    let dir = std::env::temp_dir();
    let good = dir.join(format!("jwks-{}.json", uuid::Uuid::new_v4()));
    std::fs::copy(
        format!(
            "{}/../ovcf-fhir/tests/fixtures/keys/es384-other-jwks.json",
            env!("CARGO_MANIFEST_DIR")
        ),
        &good,
    )
    .unwrap();
    let bad = dir.join(format!("jwks-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&bad, "{\"keys\": 3}").unwrap();
    let g = good.display().to_string();
    let b = bad.display().to_string();
    admin(
        &a,
        &["cds-client", "add", "--iss", "https://ehr", "--jwks", &g],
    )
    .await
    .unwrap();
    assert!(
        admin(
            &a,
            &["cds-client", "add", "--iss", "https://ehr2", "--jwks", &b]
        )
        .await
        .is_err()
    );
    assert!(
        admin(
            &a,
            &[
                "cds-client",
                "add",
                "--iss",
                "https://ehr3",
                "--jwks",
                "/nonexistent"
            ]
        )
        .await
        .is_err()
    );
    assert_eq!(a.cds_clients().await.unwrap().len(), 1);
    let _ = std::fs::remove_file(good);
    let _ = std::fs::remove_file(bad);
}
