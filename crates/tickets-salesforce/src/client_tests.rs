//! Tests of `client.rs`: pacing rules, refusals, the limit header.
use super::*;

#[test]
fn the_pace_falls_in_the_last_tenth_of_the_daily_allowance() {
    assert_eq!(paced_rate(1000, 0, 0), 1000, "no header yet");
    assert_eq!(paced_rate(1000, 0, 15_000), 1000);
    assert_eq!(paced_rate(1000, 13_500, 15_000), 1000, "a tenth left");
    assert_eq!(paced_rate(1000, 14_250, 15_000), 500, "a twentieth left");
    assert_eq!(paced_rate(1000, 14_985, 15_000), 10);
    assert_eq!(paced_rate(1000, 15_000, 15_000), 1, "used up");
    assert_eq!(paced_rate(1000, 99_999, 15_000), 1, "over");
    assert_eq!(paced_rate(u32::MAX, u64::MAX - 1, u64::MAX), 1);
    assert_eq!(paced_rate(1, 0, 1), 1);
}

#[tokio::test]
async fn only_the_daily_limit_holds_requests() {
    let settings =
        crate::config::SalesforceConfig::client_credentials("http://127.0.0.1:9", "id", "x")
            .requests_per_minute(1_000_000)
            .settings(None)
            .unwrap();
    let c = SfClient::new(Arc::new(settings)).unwrap();
    let body = |m: &str| format!(r#"[{{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"{m}"}}]"#);
    let e = c.note_refusal(api_error(
        StatusCode::FORBIDDEN,
        &body("ConcurrentPerOrgLongTxn Limit exceeded."),
        None,
    ));
    assert_eq!(e.retry_after(), None, "a concurrency refusal holds nothing");
    let start = std::time::Instant::now();
    c.pacer().acquire().await;
    assert!(start.elapsed() < std::time::Duration::from_millis(100));
    let e = c.note_refusal(api_error(
        StatusCode::FORBIDDEN,
        &body("TotalRequests Limit exceeded."),
        Some(std::time::Duration::from_millis(300)),
    ));
    assert_eq!(e.retry_after(), Some(std::time::Duration::from_millis(300)));
    let e = c.note_refusal(api_error(
        StatusCode::FORBIDDEN,
        &body("TotalRequests Limit exceeded."),
        None,
    ));
    assert_eq!(
        e.retry_after(),
        Some(std::time::Duration::from_secs(1)),
        "the hold without a Retry-After is told to the caller"
    );
    let start = std::time::Instant::now();
    c.pacer().acquire().await;
    assert!(start.elapsed() >= std::time::Duration::from_millis(250));
}

#[test]
fn parses_limit_info() {
    let settings = crate::config::SalesforceConfig {
        login_url: Some("http://127.0.0.1:9".into()),
        client_id: Some("id".into()),
        client_secret: Some(SecretString::from("x")),
        ..Default::default()
    }
    .settings(None)
    .unwrap();
    let c = SfClient::new(Arc::new(settings)).unwrap();
    assert_eq!(c.api_usage(), None);
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("sforce-limit-info", "api-usage=18/5000".parse().unwrap());
    c.note_limits(&h);
    assert_eq!(
        c.api_usage(),
        Some(ApiUsage {
            used: 18,
            max: 5000
        })
    );
    let shown = format!("{c:?}");
    assert!(!shown.contains("\"x\""), "{shown}");
}
