//! CDS Hooks endpoints in-process: discovery, JWT checks, patient-view cards, 412, order-sign
//! suggestions and idempotent feedback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Answer, BASE, ISS, jwt, jwt_with, send, setup};
use serde_json::{Value, json};

fn bundle(res: &[Value]) -> Value {
    json!({"resourceType": "Bundle", "type": "searchset",
        "entry": res.iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()})
}

fn days_ago(n: i64) -> String {
    let d = jiff::Zoned::now()
        .date()
        .checked_sub(jiff::Span::new().days(n))
        .unwrap();
    d.to_string()
}

/// The conformance check's patient: female, born 1950, L1 fracture 10 days ago, T -3.1, eGFR 25,
/// no therapy. (The check's Condition has no `bodySite`; ovcf-fhir then drops the fracture — see
/// the crate's report — so the level is given here.)
fn prefetch() -> Value {
    let patient = json!({"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-05-01"});
    let fx = json!({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "M80.08"}]},
        "bodySite": [{"text": "L1"}], "onsetDateTime": days_ago(10)});
    let tsc = json!({"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "38267-1"}]},
        "valueQuantity": {"value": -3.1}, "effectiveDateTime": days_ago(5)});
    let egfr = json!({"resourceType": "Observation", "id": "o2", "status": "final", "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "98979-8"}]},
        "valueQuantity": {"value": 25, "unit": "mL/min/{1.73_m2}"}, "effectiveDateTime": days_ago(3)});
    json!({"patient": patient, "conditions": bundle(&[fx]), "observations": bundle(&[tsc, egfr])})
}

fn call(hook: &str, context: Value, with_prefetch: bool) -> Value {
    let mut c =
        json!({"hook": hook, "hookInstance": uuid::Uuid::new_v4().to_string(), "context": context});
    if with_prefetch {
        c["prefetch"] = prefetch();
    }
    c
}

async fn post(app: &Router, path: &str, token: Option<&str>, body: &Value) -> Answer {
    let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    send(app, b.body(Body::from(body.to_string())).unwrap()).await
}

const PV: &str = "/cds-services/ovcf-patient-view";
const OS: &str = "/cds-services/ovcf-order-sign";

#[tokio::test]
async fn discovery_lists_both_services_and_checks_a_sent_jwt() {
    let (app, _) = setup();
    let a = send(&app, common::get("/cds-services", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    let ids: Vec<(String, String)> = a.json()["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["hook"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(ids.contains(&("ovcf-patient-view".into(), "patient-view".into())));
    assert!(ids.contains(&("ovcf-order-sign".into(), "order-sign".into())));
    let a = send(
        &app,
        common::get("/cds-services", Some(&jwt("/cds-services"))),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = send(&app, common::get("/cds-services", Some(&jwt(PV)))).await;
    assert_eq!(
        a.status,
        StatusCode::UNAUTHORIZED,
        "aud of another endpoint"
    );
}

#[tokio::test]
async fn patient_view_answers_cards_most_urgent_first() {
    let (app, ledger) = setup();
    let body = call(
        "patient-view",
        json!({"userId": "Practitioner/1", "patientId": "p1"}),
        true,
    );
    let a = post(&app, PV, Some(&jwt(PV)), &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let cards = a.json()["cards"].as_array().unwrap().clone();
    assert!(!cards.is_empty() && cards.len() <= 5);
    let rank = |c: &Value| match c["indicator"].as_str() {
        Some("critical") => 0,
        Some("warning") => 1,
        _ => 2,
    };
    let ranks: Vec<_> = cards.iter().map(rank).collect();
    let mut sorted = ranks.clone();
    sorted.sort();
    assert_eq!(ranks, sorted);
    assert!(
        ranks.iter().any(|r| *r < 2),
        "a warning for no therapy / renal"
    );
    for c in &cards {
        assert!(c["uuid"].is_string());
        assert!(c["summary"].as_str().unwrap().chars().count() < 140);
    }
    assert_eq!(ledger.issued().len(), cards.len());
}

#[tokio::test]
async fn cds_calls_refuse_bad_jwts() {
    let (app, _) = setup();
    let body = call("patient-view", json!({"patientId": "p1"}), true);
    let cases = [
        ("none", None),
        ("aud of another service", Some(jwt(OS))),
        (
            "unknown issuer",
            Some(jwt_with(
                &format!("{BASE}{PV}"),
                "https://evil.test",
                "keys/es384-other-private.pem",
                "other-ec",
                300,
            )),
        ),
        (
            "key not in the JWKS",
            Some(jwt_with(
                &format!("{BASE}{PV}"),
                ISS,
                "keys/spec-example-es384-private.pem",
                "other-ec",
                300,
            )),
        ),
        (
            "expired",
            Some(jwt_with(
                &format!("{BASE}{PV}"),
                ISS,
                "keys/es384-other-private.pem",
                "other-ec",
                -600,
            )),
        ),
        (
            "API token instead of a JWT",
            Some(common::CLINICIAN.to_owned()),
        ),
    ];
    for (name, token) in cases {
        let a = post(&app, PV, token.as_deref(), &body).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{name}: {}", a.text());
    }
    // Replay: the same token twice.
    let t = jwt(PV);
    assert_eq!(post(&app, PV, Some(&t), &body).await.status, StatusCode::OK);
    assert_eq!(
        post(&app, PV, Some(&t), &body).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn no_prefetch_and_no_fhir_server_is_412_with_an_operation_outcome() {
    let (app, _) = setup();
    let body = call("patient-view", json!({"patientId": "p1"}), false);
    let a = post(&app, PV, Some(&jwt(PV)), &body).await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(a.json()["resourceType"], "OperationOutcome");
}

/// Every discovery template key answered (empty searchsets), the patient without a vertebral
/// fracture: 200 with no cards and the mapping report in the extension (CDS Hooks 2.0 reserves
/// 412 for data that cannot be retrieved). A fracture coded as trauma: one info card.
#[tokio::test]
async fn a_patient_without_a_vertebral_fracture_is_200_with_no_cards() {
    let (app, _) = setup();
    let mut pre = serde_json::Map::new();
    for key in ovcf_fhir::discovery::prefetch_templates().into_keys() {
        pre.insert(key, bundle(&[]));
    }
    pre.insert(
        "patient".into(),
        json!({"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-05-01"}),
    );
    let mut body = call("patient-view", json!({"patientId": "p1"}), false);
    body["prefetch"] = Value::Object(pre.clone());
    let a = post(&app, PV, Some(&jwt(PV)), &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let j = a.json();
    assert_eq!(j["cards"], json!([]));
    assert!(j["extension"]["org.ovcf-pathway.mapping"]["issues"].is_array());
    // Traumatic S32.0 only: one data-quality card, still 200.
    let fx = json!({"resourceType": "Condition", "id": "c9", "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S32.010A"}]},
        "bodySite": [{"text": "L1"}], "onsetDateTime": days_ago(10)});
    pre.insert("conditions".into(), bundle(&[fx]));
    body["prefetch"] = Value::Object(pre);
    let a = post(&app, PV, Some(&jwt(PV)), &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let cards = a.json()["cards"].as_array().cloned().unwrap_or_default();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0]["source"]["topic"]["code"], "data_quality");
}

#[tokio::test]
async fn wrong_hook_unknown_service_and_bad_bodies() {
    let (app, _) = setup();
    let body = call("order-sign", json!({"patientId": "p1"}), true);
    let a = post(&app, PV, Some(&jwt(PV)), &body).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = post(
        &app,
        "/cds-services/nope",
        Some(&jwt("/cds-services/nope")),
        &body,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post(&app, PV, Some(&jwt(PV)), &json!({"hook": 3})).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
}

#[tokio::test]
async fn order_sign_stops_zoledronic_acid_at_egfr_25_then_feedback_is_idempotent() {
    let (app, ledger) = setup();
    let draft = json!({"resourceType": "MedicationRequest", "id": "mr1", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "M05BA08"}]}});
    let body = call(
        "order-sign",
        json!({"userId": "Practitioner/1", "patientId": "p1", "draftOrders": bundle(&[draft])}),
        true,
    );
    let a = post(&app, OS, Some(&jwt(OS)), &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let cards = a.json()["cards"].as_array().unwrap().clone();
    let stop = cards
        .iter()
        .find(|c| c["suggestions"].is_array() && c["indicator"] != "info")
        .unwrap_or_else(|| panic!("no stopping card: {cards:?}"));
    assert!(stop["suggestions"].to_string().contains("mr1"));
    let fb = json!({"feedback": [{"card": stop["uuid"], "outcome": "overridden",
        "overrideReason": {"reason": stop["overrideReasons"][0], "userComment": "test"},
        "outcomeTimestamp": "2026-11-27T10:00:00Z"}]});
    let fb_path = format!("{OS}/feedback");
    for _ in 0..2 {
        let a = post(&app, &fb_path, Some(&jwt(&fb_path)), &fb).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    }
    assert_eq!(ledger.feedback_items().len(), 1, "stored once");
    let a = post(&app, &fb_path, None, &fb).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

/// A FHIR server on 127.0.0.1 holding the prefetch's resources; records the bearer it was given.
async fn fake_fhir_server() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::extract::{OriginalUri, State as S};
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let data = prefetch();
    let handler = |S((data, seen)): S<(Value, Arc<std::sync::Mutex<Vec<String>>>)>,
                   OriginalUri(uri): OriginalUri,
                   headers: axum::http::HeaderMap| async move {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        seen.lock().unwrap().push(auth);
        let path = uri.path();
        let q = uri.query().unwrap_or("");
        let body = if path == "/fhir/Patient/p1" {
            data["patient"].clone()
        } else if path == "/fhir/Condition" {
            data["conditions"].clone()
        } else if path == "/fhir/Observation" {
            let all = data["observations"]["entry"].as_array().unwrap().clone();
            let hits: Vec<Value> = all
                .into_iter()
                .map(|e| e["resource"].clone())
                .filter(|r| q.contains(r["code"]["coding"][0]["code"].as_str().unwrap()))
                .collect();
            bundle(&hits)
        } else {
            bundle(&[])
        };
        axum::Json(body)
    };
    let app = axum::Router::new()
        .route("/fhir/{*rest}", axum::routing::get(handler))
        .with_state((data, seen.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/fhir"), seen)
}

#[tokio::test]
async fn missing_prefetch_is_fetched_from_the_fhir_server_with_its_token() {
    let (app, _) = setup();
    let (server, seen) = fake_fhir_server().await;
    let mut body = call(
        "patient-view",
        json!({"userId": "Practitioner/1", "patientId": "p1"}),
        false,
    );
    body["fhirServer"] = json!(server);
    body["fhirAuthorization"] = json!({"access_token": "fhir-secret", "token_type": "Bearer",
        "expires_in": 300, "scope": "patient/*.read", "subject": "ovcf"});
    let a = post(&app, PV, Some(&jwt(PV)), &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert!(a.json()["cards"].as_array().is_some_and(|c| !c.is_empty()));
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|h| h == "Bearer fhir-secret"));
}

#[tokio::test]
async fn an_unreachable_or_plain_http_remote_fhir_server_is_412() {
    let (app, _) = setup();
    for (server, why) in [
        ("https://fhir.example.invalid/r4", "could not be reached"),
        ("http://127.0.0.1:9/fhir", "could not be reached"),
        // The access token is never sent in clear text to another machine.
        ("http://fhir.example.org/r4", "use https://"),
    ] {
        let mut body = call("patient-view", json!({"patientId": "p1"}), false);
        body["fhirServer"] = json!(server);
        body["fhirAuthorization"] = json!({"access_token": "fhir-secret", "token_type": "Bearer",
            "expires_in": 300, "scope": "patient/*.read", "subject": "ovcf"});
        let a = post(&app, PV, Some(&jwt(PV)), &body).await;
        assert_eq!(a.status, StatusCode::PRECONDITION_FAILED, "{server}");
        assert_eq!(a.json()["resourceType"], "OperationOutcome");
        let diagnostics = a.json()["issue"][0]["diagnostics"].to_string();
        assert!(diagnostics.contains(why), "{server}: {diagnostics}");
    }
}

#[tokio::test]
async fn batched_card_ledger_flushes_everything_on_finish() {
    use ovcf_server::routes::cds::{BatchedLedger, CdsLedger, IssuedCard};
    let memory = Arc::new(ovcf_server::routes::cds::MemoryLedger::default());
    let batched = BatchedLedger::start(memory.clone());
    for i in 0..50 {
        let card = IssuedCard {
            uuid: format!("u{i}"),
            service: "ovcf-patient-view".into(),
            code: Some("x".into()),
            indicator: "info".into(),
        };
        batched.cards_issued(&[card]).await.unwrap();
    }
    batched.finish().await;
    assert_eq!(memory.issued().len(), 50);
}
