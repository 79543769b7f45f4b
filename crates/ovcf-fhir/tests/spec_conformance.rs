//! Conformance with the CDS Hooks 2.0.1 specification's own JSON examples (tests/fixtures/spec).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use ovcf_fhir::cds::{
    Action, ActionType, CardResponse, Coding, DiscoveryResponse, FeedbackRequest,
    FhirAuthorization, HookRequest, Outcome, Source,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Parses `name` as `T` and checks that serialising gives the same JSON back.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let v = load(name);
    let t: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = serde_json::to_value(&t).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(back, v, "{name} does not round-trip");
    t
}

#[derive(Serialize, Deserialize)]
struct SourceWrap {
    source: Source,
}
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OverrideWrap {
    override_reasons: Vec<Coding>,
}
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthWrap {
    fhir_authorization: FhirAuthorization,
}

const COVERED: [&str; 30] = [
    "discovery-response.json",
    "discovery-response-extension.json",
    "discovery-prefetch-fragment.json",
    "hook-request-patient-view.json",
    "hook-request-extension.json",
    "context-patient-id.json",
    "context-draft-orders.json",
    "context-medication-request-id.json",
    "prefetch-templates.json",
    "prefetch-data.json",
    "fhir-authorization.json",
    "response-empty.json",
    "response-cards.json",
    "response-autolaunchable.json",
    "response-system-actions.json",
    "card-source.json",
    "action-create.json",
    "action-update.json",
    "action-delete.json",
    "override-reasons.json",
    "feedback-accepted.json",
    "feedback-overridden.json",
    "feedback-overridden-with-reason.json",
    "jwt-header.json",
    "jwt-payload.json",
    "jwks-public.json",
    "jwk-private.json",
    "hook-order-sign-r4-context.json",
    "hook-patient-view-context.json",
    "README.md",
];

#[test]
fn every_fixture_is_covered_by_a_test() {
    for e in std::fs::read_dir(dir()).expect("fixture dir") {
        let name = e.expect("entry").file_name().to_string_lossy().to_string();
        assert!(COVERED.contains(&name.as_str()), "{name} has no test");
    }
}

#[test]
fn discovery_examples() {
    let d: DiscoveryResponse = round_trip("discovery-response.json");
    assert_eq!(d.services.len(), 3);
    assert_eq!(d.services[2].prefetch.len(), 0);
    assert!(d.services[2].usage_requirements.is_some());
    let d: DiscoveryResponse = round_trip("discovery-response-extension.json");
    assert!(d.services[0].extension.is_some());
    let frag = load("discovery-prefetch-fragment.json");
    let t = frag["prefetch"]["hemoglobin-a1c"]
        .as_str()
        .expect("template");
    assert!(t.contains("{{context.patientId}}"));
    let templates = load("prefetch-templates.json");
    assert_eq!(templates["prefetch"].as_object().map(|o| o.len()), Some(4));
}

#[test]
fn hook_request_examples() {
    let r: HookRequest = round_trip("hook-request-patient-view.json");
    assert_eq!(r.patient_id(), Some("1288992"));
    assert_eq!(r.user_id(), Some("Practitioner/example"));
    assert!(format!("{:?}", r.fhir_authorization).contains("redacted"));
    assert!(!format!("{:?}", r.fhir_authorization).contains("some-opaque"));
    let r: HookRequest = round_trip("hook-request-extension.json");
    assert!(r.extension.is_some());
    assert_eq!(r.patient_id(), None);
    let _: AuthWrap = round_trip("fhir-authorization.json");
}

fn with_context(name: &str, hook: &str) -> HookRequest {
    let mut v = load(name);
    v["hook"] = Value::from(hook);
    v["hookInstance"] = Value::from("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea");
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn context_examples() {
    assert_eq!(
        with_context("context-patient-id.json", "patient-view").patient_id(),
        Some("123")
    );
    let r = with_context("context-draft-orders.json", "order-select");
    assert_eq!(r.draft_orders().len(), 1);
    let r = with_context("context-medication-request-id.json", "order-select");
    assert_eq!(r.draft_orders().len(), 1);
    let r = with_context("hook-order-sign-r4-context.json", "order-sign");
    let drafts = r.draft_orders();
    assert_eq!(drafts.len(), 2);
    assert_eq!(r.patient_id(), Some("1288992"));
    let r = with_context("hook-patient-view-context.json", "patient-view");
    assert_eq!(r.user_id(), Some("PractitionerRole/123"));
}

#[test]
fn prefetch_data_example_maps_without_failing() {
    let mut v = load("prefetch-data.json");
    v["hook"] = Value::from("patient-view");
    v["hookInstance"] = Value::from("x");
    v["context"] = serde_json::json!({"patientId": "123", "userId": "Practitioner/1"});
    let r: HookRequest = serde_json::from_value(v).expect("request");
    let today = ovcf_core::Date::parse("2026-11-24").expect("date");
    let m = ovcf_fhir::map_hook_request(&r, today);
    // The example patient is a male born 1974 with an HbA1c: no fracture, no neurology.
    assert_eq!(m.partial.patient.age, Some(51));
    assert!(m.missing_required.contains(&"fractures".to_string()));
    assert!(m.request.is_none());
}

#[test]
fn response_examples() {
    let r: CardResponse = round_trip("response-empty.json");
    assert!(r.cards.is_empty());
    let r: CardResponse = round_trip("response-cards.json");
    assert_eq!(r.cards.len(), 2);
    assert_eq!(r.cards[0].links.len(), 3);
    assert_eq!(r.cards[1].override_reasons.len(), 2);
    // The spec's autolaunchable example omits the REQUIRED `indicator`: the type keeps it
    // required (this service always sends one), so the example parses once it is supplied.
    let mut v = load("response-autolaunchable.json");
    let err = serde_json::from_value::<CardResponse>(v.clone()).expect_err("indicator missing");
    assert!(err.to_string().contains("indicator"));
    v["cards"][0]["indicator"] = Value::from("info");
    let r: CardResponse = serde_json::from_value(v.clone()).expect("with indicator");
    assert_eq!(serde_json::to_value(&r).expect("json"), v);
    assert_eq!(r.cards[0].links[0].autolaunchable, Some(true));
    // The spec's systemActions example omits the REQUIRED description: accepted, not invented.
    let r: CardResponse = round_trip("response-system-actions.json");
    assert_eq!(r.system_actions[0].kind, ActionType::Update);
    assert!(r.system_actions[0].description.is_empty());
    for c in &load("response-cards.json")["cards"]
        .as_array()
        .expect("cards")
        .clone()
    {
        let card: ovcf_fhir::Card = serde_json::from_value(c.clone()).expect("card");
        assert!(ovcf_fhir::cds::card_problems(&card).is_empty(), "{card:?}");
    }
}

#[test]
fn card_part_examples() {
    let s: SourceWrap = round_trip("card-source.json");
    assert!(s.source.topic.is_some());
    let a: Action = round_trip("action-create.json");
    assert_eq!(a.kind, ActionType::Create);
    let a: Action = round_trip("action-update.json");
    assert_eq!(a.kind, ActionType::Update);
    let a: Action = round_trip("action-delete.json");
    assert_eq!(
        a.resource_id.as_deref(),
        Some("ServiceRequest/procedure-request-1")
    );
    let o: OverrideWrap = round_trip("override-reasons.json");
    assert!(o.override_reasons.iter().all(|c| c.display.is_some()));
}

#[test]
fn feedback_examples() {
    let f: FeedbackRequest = round_trip("feedback-accepted.json");
    assert_eq!(f.feedback[0].outcome, Outcome::Accepted);
    assert_eq!(f.feedback[0].accepted_suggestions.len(), 1);
    assert!(f.feedback[0].problems().is_empty());
    let f: FeedbackRequest = round_trip("feedback-overridden.json");
    assert!(f.feedback[0].problems().is_empty());
    let f: FeedbackRequest = round_trip("feedback-overridden-with-reason.json");
    let reason = f.feedback[0].override_reason.as_ref().expect("reason");
    assert_eq!(
        reason.reason.as_ref().map(|c| c.code.as_str()),
        Some("d7ecf885")
    );
    assert!(f.feedback[0].problems().is_empty());
}

#[test]
fn unknown_fields_are_tolerated() {
    let v = serde_json::json!({
        "hook": "patient-view", "hookInstance": "1", "context": {"patientId": "p", "newField": 1},
        "futureTopLevel": {"a": 1}, "fhirAuthorization": {"access_token": "t", "token_type": "Bearer",
        "expires_in": 1, "scope": "s", "subject": "c", "future": true}
    });
    let r: HookRequest = serde_json::from_value(v).expect("tolerant");
    assert_eq!(r.patient_id(), Some("p"));
    let f = serde_json::json!({"feedback": [{"card": "c", "outcome": "overridden",
        "outcomeTimestamp": "2020-12-11T00:00:00Z", "newThing": 1}]});
    let _: FeedbackRequest = serde_json::from_value(f).expect("tolerant");
}

#[test]
fn feedback_problems_are_reported() {
    let f: FeedbackRequest = serde_json::from_value(serde_json::json!({"feedback": [
        {"card": "c", "outcome": "accepted", "outcomeTimestamp": "yesterday"}]}))
    .expect("parse");
    assert_eq!(f.feedback[0].problems().len(), 2);
    let bad = serde_json::json!({"feedback": [{"card": "c", "outcome": "ignored", "outcomeTimestamp": "2020-12-11T00:00:00Z"}]});
    assert!(serde_json::from_value::<FeedbackRequest>(bad).is_err());
}

/// The complete example JWT of the spec, signed with the example key.
pub const SPEC_JWT: &str = "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLWVoci5leGFtcGxlLmNvbS9qd2tfdXJpIn0.eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNhYzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0.d1WfLjGRKlcWB94l9do4cM8REXeYJLL6SGUBO8VHZhfM8mwKYP70EMxJ67War4TQblEpaQrp11wx5p7oPFm2ETYgCicS84vXWEIYTdjooZdooCSDf2L8-i4awdoUwiEb";

#[test]
fn the_spec_example_jwt_verifies_with_the_spec_example_jwks() {
    let jwks = ovcf_fhir::CdsAuth::parse_jwks(&load("jwks-public.json").to_string()).expect("jwks");
    let auth = ovcf_fhir::CdsAuth::new().with_client("https://fhir-ehr.example.com/", jwks);
    let now = jiff::Timestamp::from_second(1_311_280_980).expect("ts");
    let claims = auth
        .verify(
            SPEC_JWT,
            "https://cds.example.org/cds-services/some-service",
            now,
        )
        .expect("the spec's example token verifies");
    let payload = load("jwt-payload.json");
    assert_eq!(serde_json::to_value(&claims).expect("claims"), payload);
    let header = load("jwt-header.json");
    assert_eq!(header["alg"], "ES384");
}
