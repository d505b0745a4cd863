//! `POST /services/oauth2/token`: client credentials, password, refresh token and JWT bearer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Form, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;

use super::{Shared, lock};

/// Audiences a JWT bearer assertion may name (besides the fake's own URL).
const AUDIENCES: [&str; 2] = [
    "https://login.salesforce.com",
    "https://test.salesforce.com",
];

#[derive(Debug, Clone)]
struct App {
    secret: String,
    run_as: String,
}

pub(crate) struct AuthState {
    apps: HashMap<String, App>,
    /// username -> (password, user id)
    passwords: HashMap<String, (String, String)>,
    /// access token -> user id
    tokens: HashMap<String, String>,
    /// refresh token -> (user id, client id)
    refresh_tokens: HashMap<String, (String, String)>,
    jwt_key: Option<DecodingKey>,
    pub issued: u64,
    /// Sessions still to be issued already revoked (`FakeSalesforce::revoke_next_sessions`).
    pub revoke_next: u32,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState")
            .field("apps", &self.apps.len())
            .field("sessions", &self.tokens.len())
            .field("jwt", &self.jwt_key.is_some())
            .finish_non_exhaustive()
    }
}

impl AuthState {
    pub fn new(jwt_key: Option<DecodingKey>) -> Self {
        Self {
            apps: HashMap::new(),
            passwords: HashMap::new(),
            tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            jwt_key,
            issued: 0,
            revoke_next: 0,
        }
    }

    pub fn add_app(&mut self, client_id: &str, secret: &str, run_as: &str) {
        self.apps.insert(
            client_id.into(),
            App {
                secret: secret.into(),
                run_as: run_as.into(),
            },
        );
    }

    pub fn add_password(&mut self, username: &str, password: &str, user_id: &str) {
        self.passwords
            .insert(username.into(), (password.into(), user_id.into()));
    }

    pub fn issue_refresh_token(&mut self, user_id: &str, client_id: &str) -> String {
        let token = format!("5Aep861fake{}", uuid::Uuid::new_v4().simple());
        self.refresh_tokens
            .insert(token.clone(), (user_id.into(), client_id.into()));
        token
    }

    pub fn expire_all(&mut self) {
        self.tokens.clear();
    }

    pub fn session_user(&self, token: &str) -> Option<String> {
        self.tokens.get(token).cloned()
    }

    fn issue(&mut self, org_id: &str, user_id: &str) -> String {
        self.issued += 1;
        let token = format!("{}!AQfake{}", &org_id[..15], uuid::Uuid::new_v4().simple());
        if self.revoke_next > 0 {
            // Revoked before first use (an admin, or another login of a single-session user).
            self.revoke_next -= 1;
        } else {
            self.tokens.insert(token.clone(), user_id.into());
        }
        token
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The client credentials of an `Authorization: Basic base64(client_id:client_secret)` header
/// (RFC 6749 2.3.1; each half form-urlencoded first). `Err` for a Basic header that does not
/// decode.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, Response> {
    use base64::Engine as _;
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(encoded) = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest.trim())
    else {
        return Ok(None);
    };
    let bad = || oauth_error("invalid_client", "invalid client credentials");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| url_decode(s).ok_or_else(bad);
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space).
fn url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(mut form): Form<HashMap<String, String>>,
) -> Response {
    // Salesforce takes the client credentials from the form or from HTTP Basic (RFC 6749
    // 2.3.1, which the common Python clients use).
    match basic_credentials(&headers) {
        Err(r) => return r,
        Ok(Some((id, secret))) => {
            if form.get("client_id").is_some_and(|f| *f != id) {
                return oauth_error("invalid_client", "client_id mismatch");
            }
            form.insert("client_id".into(), id);
            form.insert("client_secret".into(), secret);
        }
        Ok(None) => {}
    }
    let org_id = shared.org().org_id.clone();
    let base = shared.base_url().to_owned();
    let mut auth = lock(&shared.auth);
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let client = |auth: &AuthState, need_secret: bool| -> Result<App, Response> {
        let app = auth
            .apps
            .get(field("client_id"))
            .cloned()
            .ok_or_else(|| oauth_error("invalid_client_id", "client identifier invalid"))?;
        let secret = form.get("client_secret");
        if (need_secret || secret.is_some())
            && secret.map(String::as_str) != Some(app.secret.as_str())
        {
            return Err(oauth_error("invalid_client", "invalid client credentials"));
        }
        Ok(app)
    };
    let user_id = match field("grant_type") {
        "client_credentials" => match client(&auth, true) {
            Ok(app) => app.run_as,
            Err(r) => return r,
        },
        "password" => {
            if let Err(r) = client(&auth, true) {
                return r;
            }
            match auth.passwords.get(field("username")) {
                Some((pw, id)) if pw == field("password") => id.clone(),
                _ => return oauth_error("invalid_grant", "authentication failure"),
            }
        }
        "refresh_token" => {
            if let Err(r) = client(&auth, false) {
                return r;
            }
            match auth.refresh_tokens.get(field("refresh_token")) {
                Some((id, client_id)) if client_id == field("client_id") => id.clone(),
                _ => return oauth_error("invalid_grant", "expired access/refresh token"),
            }
        }
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let Some(key) = &auth.jwt_key else {
                return oauth_error("invalid_grant", "invalid assertion");
            };
            let mut validation = Validation::new(Algorithm::RS256);
            let own = base.clone();
            let mut audiences: Vec<&str> = AUDIENCES.to_vec();
            audiences.push(&own);
            validation.set_audience(&audiences);
            validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
            validation.leeway = 0;
            let claims = match jsonwebtoken::decode::<Claims>(field("assertion"), key, &validation)
            {
                Ok(data) => data.claims,
                Err(e) => {
                    let description = match e.kind() {
                        jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                            "expired authorization code"
                        }
                        jsonwebtoken::errors::ErrorKind::InvalidAudience => "audience is invalid",
                        _ => "invalid assertion",
                    };
                    return oauth_error("invalid_grant", description);
                }
            };
            if !auth.apps.contains_key(&claims.iss) {
                return oauth_error("invalid_client_id", "client identifier invalid");
            }
            match auth.passwords.get(&claims.sub) {
                Some((_, id)) => id.clone(),
                None => return oauth_error("invalid_grant", "user hasn't approved this consumer"),
            }
        }
        "" => return oauth_error("unsupported_grant_type", "grant type not supported"),
        _ => return oauth_error("unsupported_grant_type", "grant type not supported"),
    };
    let access_token = auth.issue(&org_id, &user_id);
    let issued_at = chrono::Utc::now().timestamp_millis().to_string();
    Json(json!({
        "access_token": access_token,
        "instance_url": base,
        "id": format!("{base}/id/{org_id}/{user_id}"),
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": format!("fakeSig{}", uuid::Uuid::new_v4().simple()),
        "scope": "api",
    }))
    .into_response()
}
