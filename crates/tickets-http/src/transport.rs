//! Transport failures (no HTTP answer) as errors that say what happened once, whether the
//! request may have been applied, and what to check.

use std::error::Error as _;

use tickets_core::{Error, ErrorKind};

/// The error for a request to `vendor` that got no usable answer. The message names what
/// happened once (not reqwest's repeated "error sending request"), never the URL (it can carry
/// an API key in its query), and hints at the usual causes: an `https://` URL on a plain-HTTP
/// port, a time-out. A failed connect is marked as not applied; anything later may have been.
pub fn transport_error(vendor: &str, err: reqwest::Error) -> Error {
    let err = err.without_url();
    let chain = causes(&err);
    let tls = chain.iter().any(|c| {
        let c = c.to_ascii_lowercase();
        c.contains("tls") || c.contains("certificate") || c.contains("invalidcontenttype")
    });
    let detail = if chain.is_empty() {
        String::new()
    } else {
        format!(" ({})", chain.join(": "))
    };
    let e = if err.is_timeout() {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "{vendor} did not answer within the request time-out{detail}; the request may \
                 or may not have been applied (a longer `timeout_secs` helps a slow server)"
            ),
        )
    } else if err.is_connect() && tls {
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "cannot open a TLS connection to {vendor}{detail}; if `base_url` says https://, \
                 check the port serves HTTPS (and http:// for a plain-HTTP server)"
            ),
        )
        .with_not_applied()
    } else if err.is_connect() {
        Error::new(
            ErrorKind::Unavailable,
            format!("cannot connect to {vendor}{detail}; check `base_url` and the network"),
        )
        .with_not_applied()
    } else if err.is_body() || err.is_decode() {
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "the connection to {vendor} broke while reading its answer{detail}; the request \
                 may have been applied"
            ),
        )
    } else {
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "the connection to {vendor} failed during the request{detail}; it may have been \
                 applied"
            ),
        )
    };
    e.with_source_described(err)
}

/// The distinct messages of an error's causes, outermost first, without reqwest's own
/// generic wrapper texts.
fn causes(err: &reqwest::Error) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        let generic = text.starts_with("error sending request")
            || text == "client error (Connect)"
            || text == "client error (SendRequest)";
        if !text.is_empty() && !generic && !out.iter().any(|o| o.contains(&text)) {
            out.push(text);
        }
        next = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_says_so_once_and_was_not_applied() {
        let client = crate::build_client(&crate::HttpSettings::new(
            "t/1",
            std::time::Duration::from_secs(2),
        ))
        .unwrap();
        // Port 9 (discard) is closed on loopback here.
        let err = client
            .get("http://127.0.0.1:9/rest/bug?api_key=SECRET")
            .send()
            .await
            .unwrap_err();
        let e = transport_error("Bugzilla", err);
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.was_not_applied());
        let text = e.to_string();
        assert!(text.contains("cannot connect to Bugzilla"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.contains("127.0.0.1:9/rest"), "no URL: {text}");
        assert_eq!(text.matches("error sending request").count(), 0, "{text}");
    }

    #[tokio::test]
    async fn https_on_a_plain_port_hints_at_tls() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = s
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let client = crate::build_client(&crate::HttpSettings::new(
            "t/1",
            std::time::Duration::from_secs(2),
        ))
        .unwrap();
        let err = client
            .get(format!("https://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        let text = transport_error("Asana", err).to_string();
        assert!(text.contains("TLS") && text.contains("https://"), "{text}");
    }
}
