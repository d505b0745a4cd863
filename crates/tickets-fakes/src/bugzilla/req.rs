//! One request as Bugzilla sees it: query parameters, the JSON body, and who is calling.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use serde_json::Value;

use super::error::BzError;
use super::state::Db;

/// Query pairs, headers and the parsed JSON body of a request.
#[derive(Debug)]
pub struct BzReq {
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Value,
}

impl<S: Send + Sync> FromRequest<S> for BzReq {
    type Rejection = BzError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = parse_query(req.uri().query().unwrap_or(""));
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| BzError::new(32000, format!("could not read the request body: {e}")))?;
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                BzError::new(
                    32000,
                    format!(
                        "malformed JSON string, neither tag, array, object, number, string or atom, at character offset {} ({e})",
                        e.column().saturating_sub(1)
                    ),
                )
            })?
        };
        Ok(Self {
            query,
            headers,
            body,
        })
    }
}

impl BzReq {
    /// Every value of a parameter: the query's, else the body's (string, number or array);
    /// comma lists are not split here.
    pub fn all(&self, name: &str) -> Vec<String> {
        let q: Vec<String> = self
            .query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect();
        if !q.is_empty() {
            return q;
        }
        match self.body.get(name) {
            Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
            Some(v) => scalar(v).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// The first value of a parameter.
    pub fn one(&self, name: &str) -> Option<String> {
        self.all(name).into_iter().next()
    }

    /// The body member (query parameters win, as in Bugzilla).
    pub fn field(&self, name: &str) -> Option<Value> {
        if let Some((_, v)) = self.query.iter().find(|(k, _)| k == name) {
            return Some(Value::String(v.clone()));
        }
        self.body.get(name).cloned()
    }

    /// Who is calling: `Ok(None)` for anonymous; 306 for a bad API key; 32000 for a bad token.
    /// The `X-BUGZILLA-API-KEY` header counts only when `bmo` is set (as on BMO and master;
    /// upstream 5.0/5.2 ignore it).
    pub fn caller(&self, db: &Db, bmo: bool) -> Result<Option<String>, BzError> {
        let mut key = self.one("api_key").or_else(|| self.one("Bugzilla_api_key"));
        if key.is_none() && bmo {
            key = self
                .headers
                .get("x-bugzilla-api-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }
        if let Some(key) = key {
            return match db.user_by_key(key.trim()) {
                Some(u) => Ok(Some(u.login.clone())),
                None => Err(BzError {
                    bmo,
                    ..BzError::new(
                        306,
                        "The API key you specified is invalid. Please check that you typed it correctly.",
                    )
                }),
            };
        }
        if self
            .one("token")
            .or_else(|| self.one("Bugzilla_token"))
            .is_some()
        {
            return Err(BzError::new(32000, "Invalid token"));
        }
        Ok(None)
    }

    /// The caller, or 410 for anonymous.
    pub fn login(&self, db: &Db, bmo: bool) -> Result<String, BzError> {
        self.caller(db, bmo)?.ok_or_else(BzError::login_required)
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
        _ => None,
    }
}

/// `a=1&b=x%20y` -> pairs, `+` as space.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = parse_query("a=1&b=x%20y+z&c=%5Btag%5D&d=100%&e");
        assert_eq!(q[0], ("a".into(), "1".into()));
        assert_eq!(q[1], ("b".into(), "x y z".into()));
        assert_eq!(q[2], ("c".into(), "[tag]".into()));
        assert_eq!(q[3], ("d".into(), "100%".into()));
        assert_eq!(q[4], ("e".into(), "".into()));
    }
}
