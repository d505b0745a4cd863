//! Routes, the session and limit middleware, and the Salesforce admin routes.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{
    Session, Shared, bulk, composite, files, limit_exceeded, lock, oauth, replication, rest,
    session_expired, state,
};
use crate::faults::Faults;

/// The REST resources, without the session layer (the composite resource runs its
/// subrequests through these, inside the one counted call).
fn resources() -> Router<Arc<Shared>> {
    Router::new()
        .route("/services/data", get(rest::versions))
        .route("/services/data/", get(rest::versions))
        .route("/services/oauth2/token", post(oauth::token))
        .route("/services/data/{version}", get(rest::resources))
        .route("/services/data/{version}/", get(rest::resources))
        .route("/services/data/{version}/limits", get(rest::limits))
        .route(
            "/services/data/{version}/sobjects/{object}",
            // Files come as base64 in JSON (37.5 MB) or multipart (2 GB).
            post(rest::create).layer(axum::extract::DefaultBodyLimit::max(
                files::MAX_MULTIPART_FILE + 1024 * 1024,
            )),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/describe",
            get(bulk::describe),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            get(rest::read).patch(rest::update).delete(rest::delete),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{field}/{value}",
            get(rest::read_by_external_id).patch(rest::upsert),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/updated",
            get(replication::updated),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/updated/",
            get(replication::updated),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/deleted",
            get(replication::deleted),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/deleted/",
            get(replication::deleted),
        )
        .route("/services/data/{version}/query", get(rest::query))
        .route(
            "/services/data/{version}/query/{locator}",
            get(rest::query_more),
        )
        .route(
            "/services/data/{version}/composite/sobjects",
            post(bulk::collection_create).patch(bulk::collection_update),
        )
        .fallback(|| async { state::not_found() })
}

pub(crate) fn router(shared: Arc<Shared>, faults: Faults) -> Router {
    let subrequests: Router = resources().with_state(shared.clone());
    let api = resources()
        .route(
            "/services/data/{version}/composite",
            post(composite::run)
                .layer::<_, std::convert::Infallible>(axum::Extension(composite::Resources(
                    subrequests,
                )))
                .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(
                    files::MAX_JSON_FILE / 3 * 4 + 64 * 1024,
                )),
        )
        .layer(middleware::from_fn_with_state(shared.clone(), session))
        .with_state(shared.clone());
    let admin_shared = shared.clone();
    let limits_shared = shared.clone();
    let state_shared = shared.clone();
    let admin: Router = Router::new()
        .route(
            "/_fake/salesforce/expire_tokens",
            post(move || async move {
                lock(&admin_shared.auth).expire_all();
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/_fake/salesforce/limits",
            post(move |Json(l): Json<LimitsBody>| async move {
                if let Some(used) = l.used {
                    limits_shared.api_used.store(used, Ordering::Relaxed);
                }
                if let Some(max) = l.max {
                    limits_shared.api_max.store(max, Ordering::Relaxed);
                }
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/_fake/salesforce/state",
            get(move || async move {
                let org = state_shared.org();
                Json(json!({
                    "cases": org.table("Case").count(),
                    "comments": org.table("CaseComment").count(),
                    "api_used": state_shared.api_used.load(Ordering::Relaxed),
                    "tokens_issued": lock(&state_shared.auth).issued,
                }))
            }),
        );
    let inner = api
        .merge(admin)
        .merge(faults.admin_routes())
        .layer(middleware::from_fn_with_state(faults, Faults::middleware))
        .layer(middleware::from_fn_with_state(shared, limit_info));
    // Outside the routing, so the path is trimmed before a route is chosen.
    Router::new()
        .fallback_service(inner)
        .layer(middleware::from_fn(outside_routes))
}

/// Before routing: the trailing slash; after: axum's bodiless 405 becomes Salesforce's.
async fn outside_routes(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = trim_trailing_slash(request, next).await;
    let has_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() == StatusCode::METHOD_NOT_ALLOWED && !has_json {
        let mut answer = method_not_allowed(&method, &response);
        // The limit header the inner layer put on the bodiless answer.
        if let Some(v) = response.headers().get("sforce-limit-info") {
            answer.headers_mut().insert("sforce-limit-info", v.clone());
        }
        return answer;
    }
    response
}

/// Salesforce answers `/sobjects/Case/` as `/sobjects/Case` and `/query/?q=` as `/query?q=`:
/// one trailing slash of a path is dropped (the query string stays).
async fn trim_trailing_slash(mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let pq = match request.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        let mut parts = request.uri().clone().into_parts();
        if let Ok(pq) = pq.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    next.run(request).await
}

/// A method a resource does not take: Salesforce's 405 with its error array, e.g.
/// `[{"errorCode":"METHOD_NOT_ALLOWED","message":"HTTP Method 'PUT' not allowed. Allowed are
/// HEAD,GET,PATCH,DELETE"}]` (axum's own 405 has no body).
fn method_not_allowed(method: &axum::http::Method, response: &Response) -> Response {
    let allowed = response
        .headers()
        .get(axum::http::header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .replace(' ', "");
    let mut answer = super::SfError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
        &[],
    )
    .into_response();
    if let Some(allow) = response.headers().get(axum::http::header::ALLOW) {
        answer
            .headers_mut()
            .insert(axum::http::header::ALLOW, allow.clone());
    }
    answer
}

#[derive(Debug, Deserialize)]
struct LimitsBody {
    used: Option<u64>,
    max: Option<u64>,
}

/// Adds `Sforce-Limit-Info` to every answer, and `Date` from the org's clock (which
/// [`super::FakeSalesforce::advance_clock`] moves).
async fn limit_info(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert("sforce-limit-info", shared.limit_header());
    let date = shared.org().clock().format("%a, %d %b %Y %H:%M:%S GMT");
    if let Ok(v) = axum::http::HeaderValue::from_str(&date.to_string()) {
        headers.insert(axum::http::header::DATE, v);
    }
    response
}

/// Authenticates `/services/data/vNN.N/...` calls and counts them against the daily limit.
async fn session(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let versioned = path
        .strip_prefix("/services/data/")
        .is_some_and(|rest| !rest.is_empty());
    if !versioned {
        return next.run(request).await;
    }
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("OAuth "))
        })
        .map(str::trim);
    let user = token.and_then(|t| lock(&shared.auth).session_user(t));
    let Some(user_id) = user else {
        return session_expired().into_response();
    };
    let used = shared.api_used.load(Ordering::Relaxed);
    if used >= shared.api_max.load(Ordering::Relaxed) {
        return limit_exceeded("TotalRequests Limit exceeded.").into_response();
    }
    shared.api_used.fetch_add(1, Ordering::Relaxed);
    request.extensions_mut().insert(Session { user_id });
    next.run(request).await
}
