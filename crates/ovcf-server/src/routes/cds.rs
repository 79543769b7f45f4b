//! CDS Hooks 2.0: discovery, the two services and feedback, wired to `ovcf-fhir` (types, mapping,
//! cards, client JWT verification) and the one engine.
//!
//! Authentication: the client's signed JWT (`ovcf_fhir::CdsAuth`), `aud` = the exact endpoint URL
//! built from `--base-url`. Discovery is public (design §5: health and discovery are the only
//! unauthenticated endpoints), but a JWT that is sent is verified. Data: `prefetch`; when it cannot
//! supply what a decision needs, 412 with an OperationOutcome.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ovcf_fhir::cds::Card;
use ovcf_fhir::{
    CardResponse, DiscoveryResponse, FeedbackRequest, FhirAssessError, HookRequest, Lang,
    ORDER_SIGN_ID, PATIENT_VIEW_ID,
};
use serde::Serialize;

use crate::AppState;
use crate::body::{json_bytes, parse_json};
use crate::error::{ApiError, ErrorCode};

/// A card as issued: enough to count feedback per alert code later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedCard {
    pub uuid: String,
    pub service: String,
    /// `source.topic.code` (the alert or card code).
    pub code: Option<String>,
    pub indicator: String,
}

/// One feedback item as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedbackRecord {
    pub service: String,
    /// The client (`iss`) that sent it.
    pub client: String,
    pub card: String,
    /// `accepted` or `overridden`.
    pub outcome: String,
    pub override_code: Option<String>,
    pub override_system: Option<String>,
    pub accepted_suggestions: Vec<String>,
    pub outcome_timestamp: String,
}

/// Why the ledger failed (logged, answered 500).
#[derive(Debug, thiserror::Error)]
#[error("CDS ledger: {0}")]
pub struct LedgerError(pub String);

pub type LedgerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, LedgerError>> + Send + 'a>>;

/// Where issued cards and feedback go (the registry in production; memory in tests). Feedback is
/// idempotent: the same `(service, client, card, outcome, outcome_timestamp)` is stored once.
pub trait CdsLedger: Send + Sync + 'static {
    fn cards_issued<'a>(&'a self, cards: &'a [IssuedCard]) -> LedgerFuture<'a, ()>;
    /// Stores the items not yet stored; returns how many were new.
    fn feedback<'a>(&'a self, items: &'a [FeedbackRecord]) -> LedgerFuture<'a, usize>;
}

/// An in-memory ledger (tests, servers without a registry), bounded.
#[derive(Default)]
pub struct MemoryLedger {
    cards: Mutex<Vec<IssuedCard>>,
    feedback: Mutex<Vec<FeedbackRecord>>,
}

const MEMORY_LEDGER_LIMIT: usize = 100_000;

impl MemoryLedger {
    pub fn feedback_items(&self) -> Vec<FeedbackRecord> {
        self.feedback
            .lock()
            .map(|f| f.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
    pub fn issued(&self) -> Vec<IssuedCard> {
        self.cards
            .lock()
            .map(|f| f.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

impl CdsLedger for MemoryLedger {
    fn cards_issued<'a>(&'a self, cards: &'a [IssuedCard]) -> LedgerFuture<'a, ()> {
        let mut stored = self.cards.lock().unwrap_or_else(|p| p.into_inner());
        if stored.len() + cards.len() > MEMORY_LEDGER_LIMIT {
            let drop = (stored.len() + cards.len()).saturating_sub(MEMORY_LEDGER_LIMIT);
            let n = drop.min(stored.len());
            stored.drain(..n);
        }
        stored.extend_from_slice(cards);
        Box::pin(async { Ok(()) })
    }

    fn feedback<'a>(&'a self, items: &'a [FeedbackRecord]) -> LedgerFuture<'a, usize> {
        let mut stored = self.feedback.lock().unwrap_or_else(|p| p.into_inner());
        let mut new = 0;
        for item in items {
            if !stored.contains(item) && stored.len() < MEMORY_LEDGER_LIMIT {
                stored.push(item.clone());
                new += 1;
            }
        }
        Box::pin(async move { Ok(new) })
    }
}

/// Writes issued cards in batches on a background task, so a CDS call does not wait for a
/// durable write (the card → alert-code map only serves counting feedback per code; a crash loses
/// at most the last batch). Feedback itself is written synchronously. [`BatchedLedger::finish`]
/// flushes what is queued (graceful shutdown).
pub struct BatchedLedger {
    inner: std::sync::Arc<dyn CdsLedger>,
    queue: Mutex<Option<tokio::sync::mpsc::Sender<Vec<IssuedCard>>>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Calls' worth of cards queued before callers wait.
const CARD_QUEUE: usize = 10_000;

impl BatchedLedger {
    /// Starts the writer task (needs a Tokio runtime).
    pub fn start(inner: std::sync::Arc<dyn CdsLedger>) -> BatchedLedger {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<IssuedCard>>(CARD_QUEUE);
        let writer = inner.clone();
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = first;
                while let Ok(more) = rx.try_recv() {
                    batch.extend(more);
                    if batch.len() >= 5_000 {
                        break;
                    }
                }
                if let Err(e) = writer.cards_issued(&batch).await {
                    tracing::error!(error = %e, cards = batch.len(), "issued CDS cards not recorded");
                }
            }
        });
        BatchedLedger {
            inner,
            queue: Mutex::new(Some(tx)),
            task: Mutex::new(Some(task)),
        }
    }

    /// Stops taking cards and waits until every queued card is written.
    pub async fn finish(&self) {
        drop(self.queue.lock().unwrap_or_else(|p| p.into_inner()).take());
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl CdsLedger for BatchedLedger {
    fn cards_issued<'a>(&'a self, cards: &'a [IssuedCard]) -> LedgerFuture<'a, ()> {
        let sender = self.queue.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let cards = cards.to_vec();
        Box::pin(async move {
            match sender {
                Some(s) => s
                    .send(cards)
                    .await
                    .map_err(|_| LedgerError("the card writer has stopped".into())),
                // After shutdown began: write directly.
                None => self.inner.cards_issued(&cards).await,
            }
        })
    }

    fn feedback<'a>(&'a self, items: &'a [FeedbackRecord]) -> LedgerFuture<'a, usize> {
        self.inner.feedback(items)
    }
}

fn cds_error(code: ErrorCode, message: impl Into<String>) -> Response {
    ApiError::new(code, message).into_response()
}

/// The endpoint URL a JWT must name as `aud`.
fn audience(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.public_base_url())
}

/// Verifies the client's JWT for `path`; the client's `iss` on success.
fn verify_client(state: &AppState, headers: &HeaderMap, path: &str) -> Result<String, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, t) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(t.trim())
        });
    let Some(token) = token else {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "a signed JWT is required: `Authorization: Bearer JWT`",
        ));
    };
    let aud = audience(state, path);
    match state.cds_auth().verify(token, &aud, jiff::Timestamp::now()) {
        Ok(claims) => Ok(claims.iss),
        Err(e) => {
            tracing::info!(reason = %e, "CDS client JWT refused");
            Err(ApiError::new(ErrorCode::InvalidCredentials, e.to_string()))
        }
    }
}

/// CDS Hooks discovery: the services and their prefetch templates.
#[utoipa::path(get, path = "/cds-services", tag = "cds-hooks",
    responses(
        (status = 200, description = "CDS Hooks 2.0 discovery document"),
        (status = 401, description = "A JWT was sent and does not verify", body = crate::error::ErrorBody),
    ))]
pub async fn discovery(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if headers.contains_key(header::AUTHORIZATION)
        && let Err(e) = verify_client(&state, &headers, "/cds-services")
    {
        return e.into_response();
    }
    let doc: DiscoveryResponse = ovcf_fhir::discovery();
    Json(doc).into_response()
}

fn hook_of(service: &str) -> Option<&'static str> {
    match service {
        PATIENT_VIEW_ID => Some("patient-view"),
        ORDER_SIGN_ID => Some("order-sign"),
        _ => None,
    }
}

/// Calls a CDS service (`ovcf-patient-view` or `ovcf-order-sign`).
#[utoipa::path(post, path = "/cds-services/{id}", tag = "cds-hooks",
    params(("id" = String, Path, description = "ovcf-patient-view or ovcf-order-sign")),
    request_body(content = Object, content_type = "application/json", description = "A CDS Hooks 2.0 hook request"),
    responses(
        (status = 200, description = "Cards"),
        (status = 400, description = "Malformed JSON or wrong hook", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid client JWT", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown service", body = crate::error::ErrorBody),
        (status = 412, description = "Prefetch keys missing and no FHIR server to fetch them, so what a decision needs could not be obtained (OperationOutcome); a patient without a vertebral fracture is 200 with no cards"),
        (status = 422, description = "The hook request breaks the CDS Hooks schema or the FHIR data have bad values", body = crate::error::ErrorBody),
    ))]
pub async fn call_service(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(hook) = hook_of(&id) else {
        return cds_error(ErrorCode::NotFound, "no such CDS service");
    };
    let client = match verify_client(&state, &headers, &format!("/cds-services/{id}")) {
        Ok(iss) => iss,
        Err(e) => return e.into_response(),
    };
    match call_service_checked(&state, &id, hook, &client, &headers, body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn call_service_checked(
    state: &AppState,
    id: &str,
    hook: &str,
    _client: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Response> {
    let bytes = json_bytes(headers, body).map_err(IntoResponse::into_response)?;
    let mut request: HookRequest = parse_json(&bytes).map_err(IntoResponse::into_response)?;
    if request.hook != hook {
        return Err(ApiError::at(
            ErrorCode::BadParameter,
            "hook",
            format!("this service answers the `{hook}` hook"),
        )
        .into_response());
    }
    let Some(patient_id) = request.patient_id().map(str::to_owned) else {
        return Err(ApiError::at(
            ErrorCode::InvalidField,
            "context.patientId",
            "context.patientId is required",
        )
        .into_response());
    };
    let lang = Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let today = crate::today().map_err(|e| ApiError::internal(&e).into_response())?;
    // Prefetch incomplete and a FHIR server named: fetch the rest first (absent medication data
    // would otherwise read as "no therapy").
    match state.fhir_client().fetch_missing(&request).await {
        Ok(fetched) if !fetched.is_empty() => {
            request
                .prefetch
                .get_or_insert_with(Default::default)
                .extend(fetched);
        }
        Ok(_) => {}
        Err(e) => {
            tracing::info!(reason = %e, "FHIR fetch failed");
            return Err((
                StatusCode::PRECONDITION_FAILED,
                [(header::CONTENT_TYPE, "application/fhir+json")],
                Json(serde_json::json!({
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "exception",
                               "diagnostics": format!("prefetch is incomplete and {e}")}]
                })),
            )
                .into_response());
        }
    }
    let mut mapped = ovcf_fhir::map_hook_request(&request, today);
    let unobtained = ovcf_fhir::quality::unobtained_prefetch(&request);
    ovcf_fhir::quality::report_unobtained(&mut mapped, &unobtained);
    let assessment = match ovcf_fhir::assess_mapped(&mapped) {
        Ok(a) => a,
        // The data were obtained and there is nothing to assess (most charts: no vertebral
        // fracture): 200 with `cards: []`, or one data-quality card (CDS Hooks 2.0 reserves 412
        // for data that cannot be retrieved).
        Err(FhirAssessError::Insufficient(_)) if unobtained.is_empty() => {
            return Ok(Json(CardResponse {
                cards: ovcf_fhir::quality::no_assessment_cards(&mapped, lang),
                system_actions: Vec::new(),
                extension: Some(ovcf_fhir::quality::extension(&mapped)),
            })
            .into_response());
        }
        Err(e @ (FhirAssessError::Insufficient(_) | FhirAssessError::Invalid(_))) => {
            // 412: neither prefetch nor the FHIR server supplied what a decision needs; 422: the
            // data they supplied have bad values (named in the OperationOutcome, never repaired).
            let status = if matches!(e, FhirAssessError::Invalid(_)) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::PRECONDITION_FAILED
            };
            return Err((
                status,
                [(header::CONTENT_TYPE, "application/fhir+json")],
                Json(mapped.operation_outcome()),
            )
                .into_response());
        }
        Err(FhirAssessError::Engine(e)) => return Err(ApiError::internal(&e).into_response()),
    };
    let cards: Vec<Card> = if id == PATIENT_VIEW_ID {
        let mut cards = ovcf_fhir::patient_view_cards_for(
            &assessment,
            lang,
            state.public_base_url(),
            &patient_id,
        );
        ovcf_fhir::quality::append_to_plan_card(&mut cards, &mapped, lang);
        cards
    } else {
        // With neurology missing, the request is used only to read the medications (the report
        // decides); see ovcf-fhir's README.
        let req = ovcf_fhir::request_for_orders(&mapped);
        match req {
            Some(req) => {
                ovcf_fhir::order_sign_cards(&request.draft_orders(), &assessment.report, &req, lang)
            }
            None => Vec::new(),
        }
    };
    let issued: Vec<IssuedCard> = cards
        .iter()
        .filter_map(|c| {
            Some(IssuedCard {
                uuid: c.uuid.clone()?,
                service: id.to_owned(),
                code: c.source.topic.as_ref().map(|t| t.code.clone()),
                indicator: serde_json::to_value(c.indicator)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            })
        })
        .collect();
    state
        .cds_ledger()
        .cards_issued(&issued)
        .await
        .map_err(|e| ApiError::internal(&e).into_response())?;
    Ok(Json(CardResponse {
        cards,
        system_actions: Vec::new(),
        extension: Some(ovcf_fhir::quality::extension(&mapped)),
    })
    .into_response())
}

/// Feedback on cards: accepted or overridden (with reasons). Idempotent.
#[utoipa::path(post, path = "/cds-services/{id}/feedback", tag = "cds-hooks",
    params(("id" = String, Path, description = "ovcf-patient-view or ovcf-order-sign")),
    request_body(content = Object, content_type = "application/json", description = "CDS Hooks 2.0 feedback"),
    responses(
        (status = 200, description = "Stored (repeats are accepted and stored once)"),
        (status = 401, description = "Missing or invalid client JWT", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown service", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid feedback", body = crate::error::ErrorBody),
    ))]
pub async fn feedback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if hook_of(&id).is_none() {
        return cds_error(ErrorCode::NotFound, "no such CDS service");
    }
    let client = match verify_client(&state, &headers, &format!("/cds-services/{id}/feedback")) {
        Ok(iss) => iss,
        Err(e) => return e.into_response(),
    };
    let parsed = json_bytes(&headers, body).and_then(|b| parse_json::<FeedbackRequest>(&b));
    let request = match parsed {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let mut problems = Vec::new();
    for (i, f) in request.feedback.iter().enumerate() {
        for p in f.problems() {
            problems.push(crate::error::ErrorItem {
                code: ErrorCode::InvalidField.as_str(),
                path: Some(format!("feedback[{i}]")),
                message: p.to_owned(),
            });
        }
    }
    if !problems.is_empty() {
        return ApiError::from_items(ErrorCode::InvalidField, problems).into_response();
    }
    let records: Vec<FeedbackRecord> = request
        .feedback
        .iter()
        .map(|f| {
            let reason = f.override_reason.as_ref().and_then(|r| r.reason.as_ref());
            FeedbackRecord {
                service: id.clone(),
                client: client.clone(),
                card: f.card.clone(),
                outcome: match f.outcome {
                    ovcf_fhir::cds::Outcome::Accepted => "accepted".into(),
                    ovcf_fhir::cds::Outcome::Overridden => "overridden".into(),
                },
                override_code: reason.map(|r| r.code.clone()),
                override_system: reason.map(|r| r.system.clone()),
                accepted_suggestions: f
                    .accepted_suggestions
                    .iter()
                    .map(|s| s.id.clone())
                    .collect(),
                outcome_timestamp: f.outcome_timestamp.clone(),
            }
        })
        .collect();
    match state.cds_ledger().feedback(&records).await {
        Ok(new) => {
            Json(serde_json::json!({ "stored": new, "received": records.len() })).into_response()
        }
        Err(e) => ApiError::internal(&e).into_response(),
    }
}
