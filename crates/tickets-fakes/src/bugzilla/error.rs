//! Bugzilla's error envelope and the REST status map (`REST_STATUS_CODE_MAP` of 5.0/5.2).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::Fault;

/// The `documentation` URL of upstream 5.x.
pub const DOC_5X: &str = "https://bugzilla.readthedocs.org/en/5.0/api/";
/// The `documentation` URL of bugzilla.mozilla.org.
pub const DOC_BMO: &str = "https://bmo.readthedocs.io/en/latest/api/";

/// A Bugzilla web-service error: `{"error":true,"code","message","documentation"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BzError {
    /// The Bugzilla error code.
    pub code: i64,
    /// The human message.
    pub message: String,
    /// Answer with HTTP 200 anyway (seen on 5.2/PostgreSQL for code 100500).
    pub http_ok: bool,
    /// Use the BMO documentation URL.
    pub bmo: bool,
}

impl BzError {
    /// An error with `code` and `message`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            http_ok: false,
            bmo: false,
        }
    }

    /// Code 32614: no REST resource for this method and path (path without `/rest`).
    pub fn no_resource(method: &str, path: &str) -> Self {
        Self::new(
            32614,
            format!("A REST API resource was not found for '{method} {path}'."),
        )
    }

    /// Code 410: the call needs a logged-in user.
    pub fn login_required() -> Self {
        Self::new(410, "You must log in before using this part of Bugzilla.")
    }

    /// Code 101: no such bug.
    pub fn no_bug(id: impl std::fmt::Display) -> Self {
        Self::new(101, format!("Bug #{id} does not exist."))
    }

    /// Code 50: a required parameter is missing.
    pub fn param_required(param: &str) -> Self {
        Self::new(
            50,
            format!("The function requires a {param} argument, and that argument was not set."),
        )
    }

    /// The HTTP status Bugzilla answers this code with.
    pub fn status(&self) -> StatusCode {
        if self.http_ok {
            return StatusCode::OK;
        }
        StatusCode::from_u16(http_status_for(self.code)).unwrap_or(StatusCode::BAD_REQUEST)
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "error": true,
            "code": self.code,
            "message": self.message,
            "documentation": if self.bmo { DOC_BMO } else { DOC_5X },
        })
    }
}

impl IntoResponse for BzError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.body())).into_response()
    }
}

/// `REST_STATUS_CODE_MAP` (identical in 5.0, 5.2, master and BMO); everything else is 400.
pub fn http_status_for(code: i64) -> u16 {
    match code {
        51 | 101 | 32614 => 404,
        102 | 106 | 109 | 110 | 113 | 115 | 120 | 300..=305 | 410 | 504 | 505 => 401,
        _ => 400,
    }
}

/// Renders the shared fault knobs the way a Bugzilla behind Apache would answer.
pub fn render_fault(fault: &Fault) -> Response {
    match fault {
        Fault::RateLimited {
            retry_after_secs, ..
        } => {
            // BMO's rate limiter: 429 with Retry-After and the usual envelope.
            let err = BzError {
                bmo: true,
                ..BzError::new(
                    32000,
                    "You have exceeded the rate limit for this API. Please try again later.",
                )
            };
            let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(err.body())).into_response();
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        Fault::Status(401) => BzError::login_required().into_response(),
        Fault::Status(400) => BzError::new(
            306,
            "The API key you specified is invalid. Please check that you typed it correctly.",
        )
        .into_response(),
        Fault::Status(status) if *status >= 500 => html_error(*status),
        Fault::Status(status) => {
            let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST);
            let body = BzError::new(32000, format!("injected failure {status}")).body();
            (code, axum::Json(body)).into_response()
        }
        Fault::Down => html_error(503),
    }
}

/// What Apache (or a proxy in front of it) sends for a 5xx: HTML, not JSON.
fn html_error(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = code.canonical_reason().unwrap_or("Error");
    let html = format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>\n"
    );
    (
        code,
        [(header::CONTENT_TYPE, "text/html; charset=iso-8859-1")],
        html,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_map_matches_bugzilla() {
        assert_eq!(http_status_for(101), 404);
        assert_eq!(http_status_for(51), 404);
        assert_eq!(http_status_for(410), 401);
        assert_eq!(http_status_for(306), 400);
        assert_eq!(http_status_for(103), 400);
        assert_eq!(http_status_for(32614), 404);
        assert_eq!(http_status_for(32000), 400);
        assert_eq!(http_status_for(123), 400);
    }

    #[test]
    fn body_has_the_envelope() {
        let b = BzError::no_bug(7).body();
        assert_eq!(b["error"], true);
        assert_eq!(b["code"], 101);
        assert_eq!(b["message"], "Bug #7 does not exist.");
        assert_eq!(b["documentation"], DOC_5X);
    }
}
