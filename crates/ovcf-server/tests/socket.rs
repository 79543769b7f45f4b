//! One real-socket test: the server bound to 127.0.0.1, spoken to over TCP, stopped gracefully
//! with a request in flight.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use ovcf_server::ratelimit::RateLimit;
use ovcf_server::{AppState, serve_listener};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn exchange(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) before taking the whole body; stop writing when it does.
    let _ = s.write_all(body).await;
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply).await;
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn post_head(path: &str, len: usize, token: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_socket_answers_limits_and_stops_gracefully() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState::new(
        common::config(RateLimit::default()),
        Arc::new(common::resolver()),
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(listener, state, async move {
        let _ = stop_rx.await;
    }));

    let (status, text) = exchange(
        addr,
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        b"",
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"status\":\"ok\""));

    let body = common::vignette_request("pkp-fit-l1-wedge");
    let (status, text) = exchange(
        addr,
        &post_head("/api/v1/assessments", body.len(), common::CLINICIAN),
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let report_start = text.find("\r\n\r\n").map_or(0, |i| i + 4);
    let today = ovcf_server::today().unwrap();
    let expected =
        ovcf_server::report_json(&ovcf_core::assess_json(&body, today).unwrap()).unwrap();
    assert_eq!(&text[report_start..], expected);

    // 2 MiB declared: refused before the body is read.
    let big = vec![b'x'; 2 * 1024 * 1024];
    let (status, text) = exchange(
        addr,
        &post_head("/api/v1/assessments", big.len(), common::CLINICIAN),
        &big,
    )
    .await;
    assert_eq!(status, 413, "{}", &text[..text.len().min(200)]);

    // A request in flight when the shutdown starts still gets its answer.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let head = post_head("/api/v1/assessments", body.len(), common::CLINICIAN);
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop_tx.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    slow.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut reply = Vec::new();
    slow.read_to_end(&mut reply).await.unwrap();
    assert!(
        reply.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&reply)
    );

    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops after the in-flight request")
        .unwrap()
        .unwrap();
    // New connections are refused once stopped.
    assert!(TcpStream::connect(addr).await.is_err());
}
