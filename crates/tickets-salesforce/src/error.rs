//! Salesforce error answers -> [`ErrorKind`].
//!
//! REST errors are a JSON array `[{"message","errorCode","fields"}]`; the token endpoint
//! answers `{"error","error_description"}`. Messages carry the vendor's code and text, never a
//! header or credential.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use tickets_core::{Error, ErrorKind};

/// One entry of Salesforce's error array.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ApiError {
    /// `errorCode` (or `statusCode` inside collections).
    #[serde(alias = "statusCode", rename = "errorCode", default)]
    pub code: String,
    /// The human message.
    #[serde(default)]
    pub message: String,
    /// Fields concerned.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// Parses an error body: the array form, a single object, or the OAuth form.
pub fn parse_errors(body: &str) -> Vec<ApiError> {
    if let Ok(list) = serde_json::from_str::<Vec<ApiError>>(body) {
        return list;
    }
    if let Ok(one) = serde_json::from_str::<ApiError>(body)
        && !one.code.is_empty()
    {
        return vec![one];
    }
    #[derive(Deserialize)]
    struct OAuth {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    if let Ok(o) = serde_json::from_str::<OAuth>(body) {
        return vec![ApiError {
            code: o.error,
            message: o.error_description,
            fields: Vec::new(),
        }];
    }
    Vec::new()
}

/// The kind for an `errorCode`, on top of the shared status table
/// ([`tickets_http::kind_for_status`]): Salesforce's codes say more than its statuses (403 is
/// both "no access" and `REQUEST_LIMIT_EXCEEDED`; 400 carries duplicates and lock timeouts).
/// 300 (an external id matching several records) is `Conflict`, which the shared table, made
/// for errors, does not cover.
pub fn kind_for(status: StatusCode, code: &str) -> ErrorKind {
    match code {
        "NOT_FOUND" | "ENTITY_IS_DELETED" => ErrorKind::NotFound,
        "INVALID_SESSION_ID" => ErrorKind::Unauthenticated,
        "REQUEST_LIMIT_EXCEEDED" => ErrorKind::RateLimited,
        "DUPLICATE_VALUE" | "DUPLICATES_DETECTED" => ErrorKind::AlreadyExists,
        "UNABLE_TO_LOCK_ROW" | "SERVER_UNAVAILABLE" => ErrorKind::Unavailable,
        "METHOD_NOT_ALLOWED" => ErrorKind::Unsupported,
        "INSUFFICIENT_ACCESS_OR_READONLY"
        | "INSUFFICIENT_ACCESS"
        | "FORBIDDEN"
        | "API_DISABLED_FOR_ORG"
        | "API_CURRENTLY_DISABLED" => ErrorKind::PermissionDenied,
        "REQUIRED_FIELD_MISSING"
        | "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        | "INVALID_FIELD"
        | "INVALID_FIELD_FOR_INSERT_UPDATE"
        | "MALFORMED_ID"
        | "MALFORMED_QUERY"
        | "INVALID_QUERY_FILTER_OPERATOR"
        | "INVALID_TYPE"
        | "INVALID_CROSS_REFERENCE_KEY"
        | "FIELD_CUSTOM_VALIDATION_EXCEPTION"
        | "STRING_TOO_LONG"
        | "JSON_PARSER_ERROR"
        | "INVALID_QUERY_LOCATOR" => ErrorKind::InvalidInput,
        "invalid_grant"
        | "invalid_client_id"
        | "invalid_client"
        | "inactive_user"
        | "unsupported_grant_type" => ErrorKind::Unauthenticated,
        "rate_limit_exceeded" => ErrorKind::RateLimited,
        _ if status == StatusCode::MULTIPLE_CHOICES => ErrorKind::Conflict,
        _ => tickets_http::kind_for_status(status.as_u16()),
    }
}

fn hint(code: &str) -> &'static str {
    match code {
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" => {
            "; check the `statuses`/`priorities` maps against the org's Case picklists"
        }
        "INVALID_FIELD" | "INVALID_FIELD_FOR_INSERT_UPDATE" => {
            "; check the field names in the config (tags_field, due_field, custom_fields, ...) and the integration user's field access"
        }
        "REQUEST_LIMIT_EXCEEDED" => {
            "; the org's API allocation is used up, wait for the rolling 24 h window"
        }
        "INVALID_SESSION_ID" => "; the session could not be renewed, check the credentials",
        "invalid_grant" | "invalid_client_id" | "invalid_client" => {
            "; check client_id, client_secret, username and the flow in the config"
        }
        _ => "",
    }
}

/// The error for a failed REST answer: the shared status table with Salesforce's error array
/// on top, the `Retry-After` wait when the answer had one (Salesforce itself sends none), and
/// an HTML answer (a proxy, a login page: the wrong URL) named as such.
pub fn api_error(status: StatusCode, body: &str, retry_after: Option<Duration>) -> Error {
    let errors = parse_errors(body);
    let Some(first) = errors.first() else {
        let kind = kind_for(status, "");
        let text = tickets_http::body_text(body.as_bytes());
        let mut e = tickets_http::answer_error("salesforce", status.as_u16(), &text, retry_after);
        if e.kind() != kind {
            e = e.with_kind(kind);
        }
        return e;
    };
    let mut msg = format!("{}: {}", first.code, first.message);
    if !first.fields.is_empty() {
        msg.push_str(&format!(" (fields: {})", first.fields.join(", ")));
    }
    for more in errors.iter().skip(1) {
        msg.push_str(&format!("; {}: {}", more.code, more.message));
    }
    msg.push_str(hint(&first.code));
    let kind = kind_for(status, &first.code);
    let mut err = tickets_http::answer_error("salesforce", status.as_u16(), &msg, retry_after);
    if err.kind() != kind {
        err = err.with_kind(kind);
    }
    if kind == ErrorKind::RateLimited {
        err.with_not_applied()
    } else {
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_salesforce_error_arrays() {
        let cases = [
            (
                400,
                r#"[{"message":"Required fields are missing: [Subject]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Subject"]}]"#,
                ErrorKind::InvalidInput,
            ),
            (
                400,
                r#"[{"message":"Status: bad value for restricted picklist field: Foo","errorCode":"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST","fields":["Status"]}]"#,
                ErrorKind::InvalidInput,
            ),
            (
                400,
                r#"[{"message":"Case ID: id value of incorrect type: 123","errorCode":"MALFORMED_ID","fields":["Id"]}]"#,
                ErrorKind::InvalidInput,
            ),
            (
                404,
                r#"[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]"#,
                ErrorKind::NotFound,
            ),
            (
                401,
                r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
                ErrorKind::Unauthenticated,
            ),
            (
                403,
                r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
                ErrorKind::RateLimited,
            ),
            (
                403,
                r#"[{"message":"insufficient access rights on object id","errorCode":"INSUFFICIENT_ACCESS_OR_READONLY"}]"#,
                ErrorKind::PermissionDenied,
            ),
            (
                400,
                r#"[{"message":"duplicate value found: Ticket_Key__c duplicates value on record with id: 500","errorCode":"DUPLICATE_VALUE"}]"#,
                ErrorKind::AlreadyExists,
            ),
            (
                503,
                r#"[{"message":"Server temporarily unavailable","errorCode":"SERVER_UNAVAILABLE"}]"#,
                ErrorKind::Unavailable,
            ),
            (
                400,
                r#"{"error":"invalid_grant","error_description":"authentication failure"}"#,
                ErrorKind::Unauthenticated,
            ),
            (502, "<html>Bad Gateway</html>", ErrorKind::Unavailable),
            (
                300,
                r#"["/services/data/v62.0/sobjects/Case/500A","/services/data/v62.0/sobjects/Case/500B"]"#,
                ErrorKind::Conflict,
            ),
        ];
        for (status, body, kind) in cases {
            let e = api_error(StatusCode::from_u16(status).unwrap(), body, None);
            assert_eq!(e.kind(), kind, "{status} {body}: {e}");
        }
        let e = api_error(StatusCode::FORBIDDEN, cases[5].1, None);
        assert!(e.was_not_applied());
        assert!(e.to_string().contains("REQUEST_LIMIT_EXCEEDED"));
        let e = api_error(StatusCode::BAD_REQUEST, cases[1].1, None);
        assert!(
            e.to_string().contains("fields: Status") && e.to_string().contains("picklist"),
            "{e}"
        );
    }

    #[test]
    fn collection_items_use_status_code() {
        let errs = parse_errors(
            r#"[{"statusCode":"REQUIRED_FIELD_MISSING","message":"m","fields":["Subject"]}]"#,
        );
        assert_eq!(errs[0].code, "REQUIRED_FIELD_MISSING");
    }
}
