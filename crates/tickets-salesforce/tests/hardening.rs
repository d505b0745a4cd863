//! The shared HTTP layer under the provider (issue 15): a repeated `nextRecordsUrl` stops, an
//! HTML answer names the likely cause, a refused connection says so without the URL.

mod common;

use tickets_core::{ErrorKind, NewTicket, TicketProvider, TicketQuery};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::*;

#[tokio::test]
async fn a_server_repeating_next_records_url_ends_with_a_clear_error() {
    let sf = fake().await; // batch size 3
    let p = provider(minimal_config(&sf));
    for i in 0..5 {
        p.create(NewTicket::new(format!("case {i}"))).await.unwrap();
    }
    sf.repeat_next_records_url(true);
    let before = sf.faults().stats().requests;
    let err = p
        .list(&TicketQuery::new().page_size(10))
        .await
        .expect_err("a repeating server must not loop");
    assert_eq!(err.kind(), ErrorKind::Unexpected, "{err}");
    assert!(
        err.to_string().contains("gave before") && err.to_string().contains("SOQL"),
        "{err}"
    );
    // The first page, the next one, and nothing after the repeat.
    assert_eq!(sf.faults().stats().requests - before, 2);
    sf.repeat_next_records_url(false);
    assert_eq!(
        p.list(&TicketQuery::new().page_size(10))
            .await
            .unwrap()
            .items
            .len(),
        5
    );
}

/// A server answering every request with `status` and an HTML page.
async fn html_server(status: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let body = "<!DOCTYPE html><html><body>Sign in</body></html>";
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    url
}

#[tokio::test]
async fn an_html_answer_says_to_check_the_url() {
    let url = html_server("404 Not Found").await;
    let p = provider(tickets_salesforce::SalesforceConfig::client_credentials(
        url, "id", "secret",
    ));
    let err = p.get(&unknown_case_id()).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("HTML page") && text.contains("base_url"),
        "{text}"
    );
    assert!(!text.contains("<html"), "{text}");
    assert!(!text.contains("secret"), "{text}");

    let url = html_server("200 OK").await;
    let p = provider(tickets_salesforce::SalesforceConfig::client_credentials(
        url, "id", "secret",
    ));
    let text = p.get(&unknown_case_id()).await.unwrap_err().to_string();
    assert!(text.contains("HTML page"), "{text}");
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_and_not_applied() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let p = provider(tickets_salesforce::SalesforceConfig::client_credentials(
        url, "id", "secret",
    ));
    let err = p.get(&unknown_case_id()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.was_not_applied());
    let text = err.to_string();
    assert!(text.contains("cannot connect to salesforce"), "{text}");
    assert!(!text.contains("/services/oauth2/token"), "{text}");
}
