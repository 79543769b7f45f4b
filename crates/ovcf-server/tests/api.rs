//! In-process tests of every endpoint (tower `oneshot`), named after what they guard.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use ovcf_server::ratelimit::RateLimit;

const VIGNETTE: &str = "pkp-fit-l1-wedge";

#[tokio::test]
async fn healthz_reports_versions_without_auth() {
    let a = send(&test_app(), get("/healthz", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    let h = a.json();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["engine_version"], ovcf_core::ENGINE_VERSION);
    assert!(
        h["knowledge_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    assert_eq!(h["db"], "none");
    assert!(a.headers.get("x-request-id").is_some());
}

#[tokio::test]
async fn request_id_is_echoed_when_well_formed_and_replaced_otherwise() {
    let app = test_app();
    let req = Request::get("/healthz")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    let a = send(&app, req).await;
    assert_eq!(a.headers["x-request-id"], "abc-123");
    let req = Request::get("/healthz")
        .header("x-request-id", "has spaces and\ttabs")
        .body(Body::empty())
        .unwrap();
    let a = send(&app, req).await;
    assert_ne!(a.headers["x-request-id"], "has spaces and\ttabs");
}

#[tokio::test]
async fn openapi_is_3_1_and_covers_every_api_v1_route() {
    let a = send(&test_app(), get("/openapi.json", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    let spec = a.json();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec["paths"].as_object().unwrap();
    for p in [
        "/api/v1/assessments",
        "/api/v1/schema/request",
        "/api/v1/schema/report",
        "/api/v1/patients",
        "/api/v1/patients/{mrn}",
        "/api/v1/patients/{mrn}/assessments",
        "/api/v1/patients/{mrn}/procedures",
        "/api/v1/patients/{mrn}/medications",
        "/api/v1/patients/{mrn}/measurements",
        "/api/v1/patients/{mrn}/events",
        "/api/v1/tasks",
        "/api/v1/tasks/{id}/done",
        "/api/v1/kpi",
        "/api/v1/audit/verify",
        "/api/v1/export",
        "/cds-services",
        "/cds-services/{id}",
        "/cds-services/{id}/feedback",
        "/healthz",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
    // Every /api/v1 operation is documented with its bearer security.
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/api/v1")) {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["security"].is_array(), "{method} {path} lacks security");
        }
    }
    // The contract schema is embedded, not a placeholder.
    let req = &spec["components"]["schemas"]["AssessmentRequest"];
    assert!(req["properties"]["patient"].is_object(), "{req}");
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn docs_are_served_from_the_binary() {
    let app = test_app();
    let a = send(&app, get("/docs/", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    let html = a.text();
    assert!(html.contains("swagger"), "{html}");
    assert!(
        !html.contains("cdn.") && !html.contains("unpkg"),
        "no CDN: {html}"
    );
    let a = send(&app, get("/docs/swagger-initializer.js", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.text().contains("/openapi.json"));
    let a = send(&app, get("/docs", None)).await;
    assert!(a.status.is_success() || a.status.is_redirection());
}

#[tokio::test]
async fn assessment_json_is_byte_for_byte_the_cli_report() {
    let body = vignette_request(VIGNETTE);
    let a = send(
        &test_app(),
        post_json("/api/v1/assessments", Some(CLINICIAN), body.clone()),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.content_type, "application/json");
    let today = ovcf_server::today().unwrap();
    let report = ovcf_core::assess_json(&body, today).unwrap();
    // What `ovcf assess` prints (crates/ovcf-cli: to_string_pretty + "\n").
    let mut cli = serde_json::to_string_pretty(&report).unwrap();
    cli.push('\n');
    assert_eq!(a.text(), cli);
    assert_eq!(a.text(), ovcf_server::report_json(&report).unwrap());
}

#[tokio::test]
async fn assessment_text_and_html_in_both_languages() {
    let app = test_app();
    let body = vignette_request(VIGNETTE);
    for (q, ct) in [
        ("format=text&lang=en", "text/plain; charset=utf-8"),
        ("format=text&lang=zh", "text/plain; charset=utf-8"),
        (
            "format=html&lang=en&explain=true",
            "text/html; charset=utf-8",
        ),
        ("format=json&lang=en", "application/json"),
    ] {
        let a = send(
            &app,
            post_json(
                &format!("/api/v1/assessments?{q}"),
                Some(CLINICIAN),
                body.clone(),
            ),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{q}: {}", a.text());
        assert_eq!(a.content_type, ct, "{q}");
        assert!(!a.body.is_empty());
    }
}

#[tokio::test]
async fn bad_query_parameters_are_400_naming_the_parameter() {
    let app = test_app();
    for (q, path) in [("lang=fr", "lang"), ("format=pdf", "format")] {
        let a = send(
            &app,
            post_json(
                &format!("/api/v1/assessments?{q}"),
                Some(CLINICIAN),
                vignette_request(VIGNETTE),
            ),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(a.codes(), ["bad_parameter"]);
        assert_eq!(a.json()["errors"][0]["path"], path);
    }
    let a = send(
        &app,
        post_json(
            "/api/v1/assessments?explain=maybe",
            Some(CLINICIAN),
            vignette_request(VIGNETTE),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn invalid_request_is_422_with_the_cli_paths() {
    let mut v: serde_json::Value = serde_json::from_str(&vignette_request(VIGNETTE)).unwrap();
    v["patient"]["age"] = 400.into();
    v["surprise"] = true.into();
    let body = v.to_string();
    let a = send(
        &test_app(),
        post_json("/api/v1/assessments", Some(CLINICIAN), body.clone()),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let today = ovcf_server::today().unwrap();
    let Err(ovcf_core::AssessError::Invalid(cli_errors)) = ovcf_core::assess_json(&body, today)
    else {
        panic!("the engine accepted an invalid request");
    };
    let items = a.json()["errors"].as_array().unwrap().clone();
    assert_eq!(items.len(), cli_errors.len());
    for (item, e) in items.iter().zip(&cli_errors) {
        assert_eq!(item["code"], "invalid_field");
        assert_eq!(item["path"].as_str().unwrap_or(""), e.path);
        assert_eq!(item["message"], e.message.as_str());
    }
    assert!(a.text().contains("patient.age"));
}

#[tokio::test]
async fn malformed_json_is_400() {
    let a = send(
        &test_app(),
        post_json("/api/v1/assessments", Some(CLINICIAN), "{not json"),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.codes(), ["malformed_json"]);
}

#[tokio::test]
async fn non_json_body_is_415() {
    let app = test_app();
    for ct in [Some("text/plain"), None] {
        let mut b = Request::post("/api/v1/assessments")
            .header(header::AUTHORIZATION, format!("Bearer {CLINICIAN}"));
        if let Some(ct) = ct {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        let a = send(
            &app,
            b.body(Body::from(vignette_request(VIGNETTE))).unwrap(),
        )
        .await;
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        assert_eq!(a.codes(), ["unsupported_media_type"]);
    }
}

#[tokio::test]
async fn body_over_one_mib_is_413_declared_or_streamed() {
    let app = test_app();
    let big = vec![b' '; 2 * 1024 * 1024];
    // Declared length.
    let req = Request::post("/api/v1/assessments")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {CLINICIAN}"))
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big.clone()))
        .unwrap();
    let a = send(&app, req).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.codes(), ["payload_too_large"]);
    // No declared length (a stream): cut while reading.
    let stream = futures_stream(big);
    let req = Request::post("/api/v1/assessments")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {CLINICIAN}"))
        .body(stream)
        .unwrap();
    let a = send(&app, req).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.codes(), ["payload_too_large"]);
}

/// A body of unknown length (no Content-Length), in 64 KiB chunks.
fn futures_stream(data: Vec<u8>) -> Body {
    let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> = data
        .chunks(64 * 1024)
        .map(|c| Ok(axum::body::Bytes::copy_from_slice(c)))
        .collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn missing_or_unknown_token_is_401_with_www_authenticate() {
    let app = test_app();
    let body = vignette_request(VIGNETTE);
    let a = send(&app, post_json("/api/v1/assessments", None, body.clone())).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.codes(), ["unauthenticated"]);
    assert_eq!(a.headers[header::WWW_AUTHENTICATE], "Bearer");
    let a = send(
        &app,
        post_json("/api/v1/assessments", Some("nope"), body.clone()),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.codes(), ["invalid_credentials"]);
    let req = Request::post("/api/v1/assessments")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
        .body(Body::from(body))
        .unwrap();
    let a = send(&app, req).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // The schemas need a token too.
    let a = send(&app, get("/api/v1/schema/request", None)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn assessments_are_for_clinicians_only() {
    let app = test_app();
    for t in [COORDINATOR, ADMIN] {
        let a = send(
            &app,
            post_json("/api/v1/assessments", Some(t), vignette_request(VIGNETTE)),
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{t}");
        assert_eq!(a.codes(), ["forbidden"]);
    }
}

#[tokio::test]
async fn auth_is_checked_before_the_body() {
    // An unauthenticated caller learns nothing about the body's validity.
    let a = send(
        &test_app(),
        post_json("/api/v1/assessments", None, "{not json"),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn schemas_for_any_role_equal_the_cli_schemas() {
    let app = test_app();
    for (path, schema) in [
        (
            "/api/v1/schema/request",
            ovcf_core::schema_of::<ovcf_core::AssessmentRequest>(),
        ),
        (
            "/api/v1/schema/report",
            ovcf_core::schema_of::<ovcf_core::AssessmentReport>(),
        ),
    ] {
        for t in [CLINICIAN, COORDINATOR, ADMIN] {
            let a = send(&app, get(path, Some(t))).await;
            assert_eq!(a.status, StatusCode::OK);
            assert_eq!(
                a.text(),
                serde_json::to_string_pretty(&schema).unwrap() + "\n"
            );
        }
    }
}

#[tokio::test]
async fn rate_limit_is_per_principal_and_answers_429_with_retry_after() {
    let app = app_with(RateLimit {
        per_second: 1,
        burst: 2,
    });
    for _ in 0..2 {
        let a = send(&app, get("/api/v1/schema/request", Some(CLINICIAN))).await;
        assert_eq!(a.status, StatusCode::OK);
    }
    let a = send(&app, get("/api/v1/schema/request", Some(CLINICIAN))).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.codes(), ["rate_limited"]);
    assert!(a.headers.get(header::RETRY_AFTER).is_some());
    // Another principal is unaffected.
    let a = send(&app, get("/api/v1/schema/request", Some(ADMIN))).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_route_and_wrong_method_use_the_error_shape() {
    let app = test_app();
    let a = send(&app, get("/api/v1/nothing-here", Some(CLINICIAN))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.codes(), ["no_route"]);
    let a = send(&app, get("/api/v1/assessments", Some(CLINICIAN))).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.codes(), ["method_not_allowed"]);
}

#[tokio::test]
async fn answers_are_not_cacheable_and_not_sniffable() {
    let a = send(
        &test_app(),
        post_json(
            "/api/v1/assessments",
            Some(CLINICIAN),
            vignette_request(VIGNETTE),
        ),
    )
    .await;
    assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(a.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}
