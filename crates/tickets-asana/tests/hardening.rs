//! Issue 15 against servers that misbehave on purpose: a 429 with an absurd `Retry-After`, an
//! `https://` URL on a plain-HTTP port, a server that never answers, an HTML page instead of
//! the API, and a server that hands back the same `next_page` forever.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::{ErrorKind, NewTicket, TicketId, TicketProvider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server on 127.0.0.1 answering every request with `answer` (status line, headers and
/// body after them); counts the requests. `None` never answers.
async fn raw_server(answer: Option<&'static str>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut got = Vec::new();
                loop {
                    let Ok(n) = s.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    // Requests here have no body worth reading (GETs).
                    if got.windows(4).any(|w| w == b"\r\n\r\n") {
                        seen.fetch_add(1, Ordering::SeqCst);
                        got.clear();
                        match answer {
                            Some(a) => {
                                let (head, body) = a.split_once("\n\n").unwrap_or((a, ""));
                                let text = format!(
                                    "{}\r\ncontent-length: {}\r\n\r\n{body}",
                                    head.replace('\n', "\r\n"),
                                    body.len()
                                );
                                if s.write_all(text.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            None => tokio::time::sleep(Duration::from_secs(3600)).await,
                        }
                    }
                }
            });
        }
    });
    (format!("127.0.0.1:{}", addr.port()), count)
}

fn provider(base_url: String, timeout_secs: u64) -> AsanaProvider {
    let config = AsanaConfig::new("0/secret-token", "1")
        .base_url(base_url)
        .workspace("2")
        .timeout_secs(timeout_secs);
    AsanaProvider::new(config).unwrap()
}

#[tokio::test]
async fn a_429_with_an_absurd_retry_after_is_an_error_capped_at_an_hour() {
    let (addr, _) = raw_server(Some(
        "HTTP/1.1 429 Too Many Requests\ncontent-type: application/json\nretry-after: 1e20\n\n\
         {\"errors\":[{\"message\":\"You've made too many requests and hit a rate limit.\"}]}",
    ))
    .await;
    let p = provider(format!("http://{addr}/api/1.0"), 5);
    let e = p.get(&TicketId::new("12")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert_eq!(e.retry_after(), Some(tickets_http::MAX_RETRY_AFTER));
    assert!(e.was_not_applied());
    assert!(e.to_string().contains("too many requests"), "{e}");
}

#[tokio::test]
async fn https_on_a_plain_http_port_says_tls() {
    // A plain-HTTP server that answers as soon as anyone connects (a TLS hello included).
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let p = provider(format!("https://{addr}/api/1.0"), 5);
    let e = p.get(&TicketId::new("12")).await.unwrap_err();
    let text = e.to_string();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{text}");
    assert!(text.contains("TLS") && text.contains("https://"), "{text}");
    assert_eq!(text.matches("error sending request").count(), 0, "{text}");
    assert!(!text.contains("secret-token"), "{text}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_saying_so() {
    let (addr, _) = raw_server(None).await;
    let p = provider(format!("http://{addr}/api/1.0"), 1);
    let started = Instant::now();
    let e = p.get(&TicketId::new("12")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("time-out"), "{e}");
}

#[tokio::test]
async fn an_html_page_hints_at_the_base_url() {
    for status in ["200 OK", "404 Not Found"] {
        let answer: &'static str = Box::leak(
            format!(
                "HTTP/1.1 {status}\ncontent-type: text/html\n\n<!DOCTYPE html><html><body>\
                 Log in to Asana</body></html>"
            )
            .into_boxed_str(),
        );
        let (addr, _) = raw_server(Some(answer)).await;
        let p = provider(format!("http://{addr}/"), 5);
        let e = p.get(&TicketId::new("12")).await.unwrap_err();
        assert!(e.to_string().contains("base_url"), "{status}: {e}");
        assert!(!e.to_string().contains("Log in"), "{status}: {e}");
    }
}

#[tokio::test]
async fn a_repeated_next_page_ends_with_an_error_at_once() {
    let (addr, count) = raw_server(Some(
        "HTTP/1.1 200 OK\ncontent-type: application/json\n\n\
         {\"data\":[{\"gid\":\"5\",\"name\":\"Other\"}],\"next_page\":{\"offset\":\"same\",\
         \"path\":\"/projects/1/sections?limit=100&offset=same\",\"uri\":\"x\"}}",
    ))
    .await;
    let p = provider(format!("http://{addr}/api/1.0"), 5);
    let started = Instant::now();
    // Creating needs the "New" section: the sections list is followed page by page.
    let e = p.create(NewTicket::new("x")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(e.kind(), ErrorKind::Unexpected, "{e}");
    assert!(e.to_string().contains("gave before"), "{e}");
    assert!(count.load(Ordering::SeqCst) <= 3, "stopped at once");
}
