//! The composite resource: several subrequests in one round trip (one call against the API
//! limits), e.g. a write and the read of what it wrote. `allOrNone` is always on, so a failed
//! subrequest rolls back the others.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tickets_core::{Error, Result};

use crate::client::SfClient;
use crate::error::api_error;

/// One subrequest: method, path (relative to `/services/data/vNN.N/`, may name earlier
/// answers as `@{ref.field}`), reference id, body.
pub(crate) struct Sub {
    pub method: Method,
    pub path: String,
    pub reference: &'static str,
    pub body: Option<Value>,
}

impl Sub {
    pub fn new(method: Method, path: impl Into<String>, reference: &'static str) -> Self {
        Self {
            method,
            path: path.into(),
            reference,
            body: None,
        }
    }

    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

impl SfClient {
    /// Sends `subs` as one composite request; answers each subrequest's status and body, in
    /// order. Failed subrequests are answers too; [`failure`] turns them into an error.
    pub(crate) async fn composite(&self, subs: Vec<Sub>) -> Result<Vec<(StatusCode, Value)>> {
        let version = self.api_version().to_owned();
        let requests: Vec<Value> = subs
            .into_iter()
            .map(|s| {
                let mut r = json!({
                    "method": s.method.as_str(),
                    "url": format!("/services/data/{version}/{}", s.path),
                    "referenceId": s.reference,
                });
                if let Some(b) = s.body {
                    r["body"] = b;
                }
                r
            })
            .collect();
        let n = requests.len();
        let body = json!({"allOrNone": true, "compositeRequest": requests});
        let answer = self
            .call(Method::POST, "composite", &[], Some(&body))
            .await?;
        let answers = parse_composite(answer.body)?;
        if answers.len() != n {
            return Err(Error::unexpected(format!(
                "salesforce answered {} of {n} composite subrequests",
                answers.len()
            )));
        }
        Ok(answers)
    }
}

/// Reads `{"compositeResponse": [{"httpStatusCode", "body"}, ...]}`.
pub(crate) fn parse_composite(body: Value) -> Result<Vec<(StatusCode, Value)>> {
    let bad = || Error::unexpected("salesforce answered a composite request without its results");
    let list = body
        .get("compositeResponse")
        .and_then(Value::as_array)
        .ok_or_else(bad)?;
    list.iter()
        .map(|e| {
            let status = e
                .get("httpStatusCode")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .and_then(|s| StatusCode::from_u16(s).ok())
                .ok_or_else(bad)?;
            Ok((status, e.get("body").cloned().unwrap_or(Value::Null)))
        })
        .collect()
}

/// The error of a composite answer: the first failed subrequest that is not
/// `PROCESSING_HALTED` (a rolled-back bystander), else a rollback without a cause.
pub(crate) fn failure(answers: &[(StatusCode, Value)]) -> Option<Error> {
    let failed: Vec<&(StatusCode, Value)> =
        answers.iter().filter(|(s, _)| s.as_u16() >= 400).collect();
    let first = failed.first()?;
    let cause = failed.iter().find(|(_, b)| {
        b.get(0)
            .and_then(|e| e.get("errorCode"))
            .and_then(Value::as_str)
            != Some("PROCESSING_HALTED")
    });
    let (status, body) = cause.unwrap_or(first);
    Some(api_error(*status, &body.to_string(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_of_a_rollback_is_the_error() {
        let halted = json!([{"errorCode": "PROCESSING_HALTED", "message": "rolled back"}]);
        let cause =
            json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]);
        let answers = vec![
            (StatusCode::BAD_REQUEST, halted.clone()),
            (StatusCode::NOT_FOUND, cause),
        ];
        let e = failure(&answers).unwrap();
        assert_eq!(e.kind(), tickets_core::ErrorKind::NotFound, "{e}");
        assert!(failure(&[(StatusCode::OK, Value::Null)]).is_none());
        let e = failure(&[(StatusCode::BAD_REQUEST, halted)]).unwrap();
        assert!(e.to_string().contains("PROCESSING_HALTED"), "{e}");
        assert!(parse_composite(json!({"nope": 1})).is_err());
        assert!(
            parse_composite(json!({"compositeResponse": [{"httpStatusCode": 99999}]})).is_err()
        );
    }
}
