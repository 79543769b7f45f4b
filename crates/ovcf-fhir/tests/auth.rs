//! Client JWT authentication: success for ES384 and RS384, and each failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use ovcf_fhir::{AuthError, CdsAuth};
use serde_json::{Value, json};

const ISS: &str = "https://ehr.example.org/";
const AUD: &str = "https://cds.example.org/cds-services/ovcf-patient-view";
const NOW: i64 = 1_800_000_000;

fn fixture(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(NOW).expect("ts")
}

fn auth() -> CdsAuth {
    let ec = CdsAuth::parse_jwks(&fixture("spec/jwks-public.json")).expect("ec jwks");
    let rsa = CdsAuth::parse_jwks(&fixture("keys/rs384-test-jwks.json")).expect("rsa jwks");
    CdsAuth::new()
        .with_client(ISS, ec)
        .with_client("https://rsa-ehr.example.org/", rsa)
}

fn claims(jti: &str) -> Value {
    json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "iat": NOW - 5, "jti": jti, "tenant": "t1"})
}

fn es384(claims: &Value, kid: &str) -> String {
    let key = EncodingKey::from_ec_pem(fixture("keys/spec-example-es384-private.pem").as_bytes())
        .expect("ec key");
    let mut h = Header::new(Algorithm::ES384);
    h.kid = Some(kid.into());
    encode(&h, claims, &key).expect("sign")
}

fn rs384(claims: &Value, kid: &str) -> String {
    let key = EncodingKey::from_rsa_pem(fixture("keys/rs384-test-private.pem").as_bytes())
        .expect("rsa key");
    let mut h = Header::new(Algorithm::RS384);
    h.kid = Some(kid.into());
    encode(&h, claims, &key).expect("sign")
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[test]
fn es384_success() {
    let a = auth();
    let c = a
        .verify(&es384(&claims("j1"), "example-kid"), AUD, now())
        .expect("valid");
    assert_eq!(c.iss, ISS);
    assert_eq!(c.jti, "j1");
    assert_eq!(c.tenant.as_deref(), Some("t1"));
}

#[test]
fn rs384_success() {
    let mut c = claims("r1");
    c["iss"] = json!("https://rsa-ehr.example.org/");
    let a = auth();
    let got = a
        .verify(&rs384(&c, "test-rsa-1"), AUD, now())
        .expect("valid");
    assert_eq!(got.iss, "https://rsa-ehr.example.org/");
}

#[test]
fn aud_as_array_is_accepted() {
    let mut c = claims("arr");
    c["aud"] = json!(["https://other.example.org/x", AUD]);
    assert!(auth().verify(&es384(&c, "example-kid"), AUD, now()).is_ok());
}

#[test]
fn wrong_aud() {
    let t = es384(&claims("a1"), "example-kid");
    let other = "https://cds.example.org/cds-services/ovcf-order-sign";
    assert_eq!(
        auth().verify(&t, other, now()),
        Err(AuthError::WrongAudience)
    );
    // Not a prefix match either.
    assert_eq!(
        auth().verify(&t, "https://cds.example.org/cds-services", now()),
        Err(AuthError::WrongAudience)
    );
}

#[test]
fn unknown_iss() {
    let mut c = claims("i1");
    c["iss"] = json!("https://evil.example.org/");
    assert_eq!(
        auth().verify(&es384(&c, "example-kid"), AUD, now()),
        Err(AuthError::UnknownIssuer)
    );
}

#[test]
fn expired_with_small_skew() {
    let mut c = claims("e1");
    c["exp"] = json!(NOW - 30);
    assert!(
        auth().verify(&es384(&c, "example-kid"), AUD, now()).is_ok(),
        "within 60 s skew"
    );
    c["exp"] = json!(NOW - 61);
    c["jti"] = json!("e2");
    assert_eq!(
        auth().verify(&es384(&c, "example-kid"), AUD, now()),
        Err(AuthError::Expired)
    );
    c["exp"] = json!(NOW - 10);
    c["jti"] = json!("e3");
    let strict = auth().with_skew(0);
    assert_eq!(
        strict.verify(&es384(&c, "example-kid"), AUD, now()),
        Err(AuthError::Expired)
    );
    // The skew can't be set above 60 s.
    c["exp"] = json!(NOW - 3600);
    c["jti"] = json!("e4");
    let lax = auth().with_skew(100_000);
    assert_eq!(
        lax.verify(&es384(&c, "example-kid"), AUD, now()),
        Err(AuthError::Expired)
    );
}

#[test]
fn issued_in_the_future() {
    let mut c = claims("f1");
    c["iat"] = json!(NOW + 600);
    c["exp"] = json!(NOW + 900);
    assert_eq!(
        auth().verify(&es384(&c, "example-kid"), AUD, now()),
        Err(AuthError::IssuedInFuture)
    );
}

#[test]
fn replayed_jti() {
    let a = auth();
    let t = es384(&claims("same"), "example-kid");
    assert!(a.verify(&t, AUD, now()).is_ok());
    assert_eq!(a.verify(&t, AUD, now()), Err(AuthError::Replayed));
    // A new token with the same jti is a replay too.
    let mut c = claims("same");
    c["iat"] = json!(NOW - 1);
    assert_eq!(
        a.verify(&es384(&c, "example-kid"), AUD, now()),
        Err(AuthError::Replayed)
    );
    assert_eq!(a.replay_cache_len(), 1);
}

#[test]
fn failed_tokens_do_not_burn_their_jti() {
    let a = auth();
    let t = es384(&claims("keep"), "example-kid");
    assert_eq!(
        a.verify(&t, "https://wrong/", now()),
        Err(AuthError::WrongAudience)
    );
    assert!(a.verify(&t, AUD, now()).is_ok());
}

#[test]
fn replay_cache_is_bounded_and_expires() {
    let a = auth().with_replay_capacity(2);
    for j in ["c1", "c2"] {
        assert!(
            a.verify(&es384(&claims(j), "example-kid"), AUD, now())
                .is_ok()
        );
    }
    // Full of live entries: fail closed.
    assert_eq!(
        a.verify(&es384(&claims("c3"), "example-kid"), AUD, now()),
        Err(AuthError::ReplayCacheFull)
    );
    // Once the first tokens have expired their entries are dropped.
    let later = jiff::Timestamp::from_second(NOW + 400).expect("ts");
    let mut c = claims("c4");
    c["exp"] = json!(NOW + 700);
    assert!(a.verify(&es384(&c, "example-kid"), AUD, later).is_ok());
    assert_eq!(a.replay_cache_len(), 1);
}

#[test]
fn replay_check_is_thread_safe() {
    let a = Arc::new(auth());
    let t = Arc::new(es384(&claims("race"), "example-kid"));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (a, t) = (Arc::clone(&a), Arc::clone(&t));
            std::thread::spawn(move || a.verify(&t, AUD, now()).is_ok())
        })
        .collect();
    let ok = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .filter(|ok| *ok)
        .count();
    assert_eq!(ok, 1, "exactly one of eight concurrent uses succeeds");
}

#[test]
fn alg_none() {
    let t = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "example-kid"})),
        b64(&claims("n1"))
    );
    assert_eq!(auth().verify(&t, AUD, now()), Err(AuthError::AlgorithmNone));
    let t = format!(
        "{}.{}.",
        b64(&json!({"alg": "None", "typ": "JWT", "kid": "example-kid"})),
        b64(&claims("n2"))
    );
    assert_eq!(auth().verify(&t, AUD, now()), Err(AuthError::AlgorithmNone));
}

#[test]
fn hs256_and_other_hmac() {
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let mut h = Header::new(alg);
        h.kid = Some("example-kid".into());
        let t = encode(&h, &claims("h"), &EncodingKey::from_secret(b"shared")).expect("sign");
        assert_eq!(
            auth().verify(&t, AUD, now()),
            Err(AuthError::SymmetricAlgorithm)
        );
    }
}

#[test]
fn other_asymmetric_algorithms_are_refused() {
    let key = EncodingKey::from_rsa_pem(fixture("keys/rs384-test-private.pem").as_bytes())
        .expect("rsa key");
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("test-rsa-1".into());
    let t = encode(&h, &claims("rs256"), &key).expect("sign");
    assert_eq!(
        auth().verify(&t, AUD, now()),
        Err(AuthError::AlgorithmNotAllowed)
    );
}

#[test]
fn unknown_kid() {
    assert_eq!(
        auth().verify(&es384(&claims("k1"), "no-such-kid"), AUD, now()),
        Err(AuthError::UnknownKid)
    );
}

#[test]
fn kid_required() {
    let key = EncodingKey::from_ec_pem(fixture("keys/spec-example-es384-private.pem").as_bytes())
        .expect("ec key");
    let t = encode(&Header::new(Algorithm::ES384), &claims("k2"), &key).expect("sign");
    assert_eq!(auth().verify(&t, AUD, now()), Err(AuthError::MissingKid));
}

#[test]
fn bad_signature() {
    // Signed with another P-384 key under the trusted kid.
    let key = EncodingKey::from_ec_pem(fixture("keys/es384-other-private.pem").as_bytes())
        .expect("other key");
    let mut h = Header::new(Algorithm::ES384);
    h.kid = Some("example-kid".into());
    let t = encode(&h, &claims("b1"), &key).expect("sign");
    assert_eq!(auth().verify(&t, AUD, now()), Err(AuthError::BadSignature));
    // A payload edited after signing.
    let good = es384(&claims("b2"), "example-kid");
    let parts: Vec<&str> = good.split('.').collect();
    let mut forged = claims("b2");
    forged["tenant"] = json!("other");
    let t = format!("{}.{}.{}", parts[0], b64(&forged), parts[2]);
    assert_eq!(auth().verify(&t, AUD, now()), Err(AuthError::BadSignature));
}

#[test]
fn key_of_the_wrong_family() {
    // RS384 token under the EC kid.
    let mut c = claims("w1");
    c["iss"] = json!(ISS);
    assert_eq!(
        auth().verify(&rs384(&c, "example-kid"), AUD, now()),
        Err(AuthError::KeyMismatch)
    );
}

#[test]
fn malformed_tokens() {
    for t in ["", "a.b", "a.b.c.d", "!!!.###.$$$", "e30.e30.", "W10.e30."] {
        assert!(auth().verify(t, AUD, now()).is_err(), "{t}");
    }
    let t = format!(
        "{}.{}.",
        b64(&json!({"alg": "ES384", "typ": "JOSE+JSON", "kid": "example-kid"})),
        b64(&claims("x"))
    );
    assert_eq!(auth().verify(&t, AUD, now()), Err(AuthError::WrongType));
}

#[test]
fn missing_claims() {
    for k in ["jti", "exp", "iat", "aud"] {
        let mut c = claims("m");
        c.as_object_mut().expect("obj").remove(k);
        let r = auth().verify(&es384(&c, "example-kid"), AUD, now());
        assert!(matches!(r, Err(AuthError::MissingClaim(_))), "{k}: {r:?}");
    }
}

#[test]
fn errors_never_echo_the_token() {
    let t = es384(&claims("secret-jti"), "example-kid");
    let e = auth()
        .verify(&t, "https://wrong/", now())
        .expect_err("wrong aud");
    assert!(!e.to_string().contains("secret-jti"));
    assert!(!format!("{e:?}").contains(&t));
}
