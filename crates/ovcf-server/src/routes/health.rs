//! `GET /healthz`: liveness with the versions that made every answer.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// The health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the service (and its database, when it has one) answers.
    pub status: &'static str,
    pub engine_version: &'static str,
    pub knowledge_version: String,
    /// `sqlite`, `postgres`, or `none` for a server without a registry.
    pub db: &'static str,
}

/// Liveness and versions (public).
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "The service is up", body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        engine_version: ovcf_core::ENGINE_VERSION,
        knowledge_version: state.knowledge_version().to_owned(),
        db: state.db_kind(),
    })
}
