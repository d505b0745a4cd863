//! `limit`/`offset`/`next_page` pagination. Offsets are opaque to clients and key on the
//! gid of the last item returned, so pages stay stable while items are added.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::wire::{ApiError, base};

const OFFSET_PREFIX: &str = "eyJvZmZzZXQiOi";

fn encode_offset(gid: &str) -> String {
    format!(
        "{OFFSET_PREFIX}{}",
        gid.bytes().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn decode_offset(token: &str) -> Option<String> {
    let hex = token.strip_prefix(OFFSET_PREFIX)?;
    if hex.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    let s = String::from_utf8(bytes?).ok()?;
    s.bytes().all(|b| b.is_ascii_digit()).then_some(s)
}

/// A list answer. `items` are `(gid, rendered)` in list order (ascending gid). With `limit`,
/// one page from `offset` and a `next_page` (object or `null`); without, everything.
pub(crate) fn page(
    items: Vec<(String, Value)>,
    query: &HashMap<String, String>,
    path: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    page_with(items, |v| v, query, path, headers)
}

/// [`page`] for items rendered only when they are on the page (large lists stay cheap).
pub(crate) fn page_with<T>(
    items: Vec<(String, T)>,
    render: impl Fn(T) -> Value,
    query: &HashMap<String, String>,
    path: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let Some(limit) = query.get("limit") else {
        if query.contains_key("offset") {
            return Err(ApiError::bad("offset: Offset requires a limit"));
        }
        let data: Vec<Value> = items.into_iter().map(|(_, v)| render(v)).collect();
        return Ok(axum::Json(json!({ "data": data })).into_response());
    };
    let limit: usize = limit
        .parse()
        .ok()
        .filter(|n| (1..=100).contains(n))
        .ok_or_else(|| ApiError::bad("limit: Must be between 1 and 100"))?;
    let after = match query.get("offset") {
        None => None,
        Some(o) => Some(decode_offset(o).ok_or_else(|| {
            ApiError::bad("offset: Your pagination token is invalid or has expired.")
        })?),
    };
    let after_num = after.as_deref().and_then(|a| a.parse::<u128>().ok());
    let mut rest = items
        .into_iter()
        .filter(|(g, _)| match after_num {
            Some(a) => g.parse::<u128>().is_ok_and(|n| n > a),
            None => true,
        })
        .peekable();
    let mut data = Vec::with_capacity(limit);
    let mut last = None;
    while data.len() < limit {
        let Some((g, v)) = rest.next() else { break };
        last = Some(g);
        data.push(render(v));
    }
    let next_page = match (rest.peek(), last) {
        (Some(_), Some(last)) => {
            let offset = encode_offset(&last);
            let mut params: Vec<(String, String)> = query
                .iter()
                .filter(|(k, _)| k.as_str() != "offset")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            params.sort();
            params.push(("offset".into(), offset.clone()));
            let qs: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{k}={}", url_encode(v)))
                .collect();
            let rel = format!("{path}?{}", qs.join("&"));
            json!({"offset": offset, "path": rel, "uri": format!("{}{rel}", base(headers))})
        }
        _ => Value::Null,
    };
    Ok(axum::Json(json!({ "data": data, "next_page": next_page })).into_response())
}

pub(crate) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_and_reject_garbage() {
        let o = encode_offset("1209000000000005");
        assert_eq!(decode_offset(&o).as_deref(), Some("1209000000000005"));
        assert!(decode_offset("nonsense").is_none());
        assert!(decode_offset(&format!("{OFFSET_PREFIX}zz")).is_none());
    }
}
