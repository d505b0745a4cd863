//! A fake Salesforce (Service Cloud): OAuth token endpoint, `sobjects` for Case and CaseComment,
//! Files (ContentVersion with base64 `VersionData`, ContentDocument, ContentDocumentLink; see
//! `files.rs` for the limits and what is not confirmed), external-id upsert, SOQL `/query`
//! with `nextRecordsUrl` paging and parent-to-child subqueries, `/composite` (see
//! `composite.rs`), sObject Collections, describe,
//! data replication (`/sobjects/{object}/updated/` and `/deleted/`, with a delete log and the
//! vendor's window rules), `Sforce-Limit-Info` and the daily API limit, expiring sessions, a
//! clock that tests can move forward ([`FakeSalesforce::advance_clock`]; answers carry it in
//! `Date`), and the shared [fault knobs](crate::faults).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sf = tickets_fakes::salesforce::FakeSalesforce::start().await?;
//! println!("token endpoint at {}/services/oauth2/token", sf.url());
//! sf.expire_tokens(); // every session now answers 401 INVALID_SESSION_ID
//! # Ok(()) }
//! ```
//!
//! Seeds: a connected app (`client_id`/`client_secret`, running as `integration@example.com`),
//! users `admin@example.com` (password flow and JWT subject), `alice@example.com`,
//! `bob@example.com`, a queue `Support`, the default Case picklists and the custom Case fields
//! `Ticket_Key__c` (external id, unique), `External_Ref__c` (external id, not unique),
//! `Tags__c`, `Due_Date__c`, `Customer__c`, `Severity__c` (number) and `Close_Reason__c`.
//!
//! Admin routes besides `/_fake/faults`: `POST /_fake/salesforce/expire_tokens`,
//! `POST /_fake/salesforce/limits` with `{"used":N,"max":M}`, `GET /_fake/salesforce/state`.
//!
//! Where the real service showed more than `shared/vendor-apis.md` says (issue 12):
//! - The token endpoint takes the client credentials in an `Authorization: Basic
//!   base64(client_id:client_secret)` header as well as in the form (RFC 6749 2.3.1; the
//!   popular Python client logs in that way).
//! - Every REST path takes one trailing slash (`/sobjects/Case/`, `/query/?q=`) and answers as
//!   without it.
//! - An unknown route answers 404 `[{"errorCode":"NOT_FOUND","message":"The requested resource
//!   does not exist"}]`; a method a resource does not take answers 405
//!   `[{"errorCode":"METHOD_NOT_ALLOWED","message":"HTTP Method 'POST' not allowed. Allowed are
//!   HEAD,GET,PATCH,DELETE"}]` with an `Allow` header (the message shape is from a real
//!   answer quoted on salesforce.stackexchange.com; the brief lists only the status).

mod bulk;
mod composite;
mod files;
mod oauth;
mod replication;
mod rest;
mod router;
mod schema;
pub mod soql;
pub mod state;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::FakeServer;
use crate::faults::{Fault, Faults};
use state::{Org, Ty, custom_field, custom_text};

/// The API versions the fake serves.
pub const VERSIONS: [&str; 5] = ["58.0", "59.0", "60.0", "61.0", "62.0"];

/// Seeded credentials.
pub const CLIENT_ID: &str = "3MVG9fake.tickets.connected.app";
/// Seeded connected-app secret.
pub const CLIENT_SECRET: &str = "fake-consumer-secret";
/// The user of the password flow and the JWT subject.
pub const USERNAME: &str = "admin@example.com";
/// The password flow's password (password plus security token, as Salesforce wants it).
pub const PASSWORD: &str = "fake-passwordSECURITYTOKEN";
/// The client-credentials flow runs as this user.
pub const INTEGRATION_USER: &str = "integration@example.com";

/// A TEST-ONLY RSA private key (PKCS#8 PEM) whose public half the seeded fake trusts for JWT
/// bearer assertions. It is public in this repository: never use it anywhere real.
pub const TEST_JWT_PRIVATE_KEY: &str = include_str!("test_key.pem");
/// The public half of [`TEST_JWT_PRIVATE_KEY`] (SPKI PEM).
pub const TEST_JWT_PUBLIC_KEY: &str = include_str!("test_key.pub.pem");

/// An error answer: Salesforce's JSON array of `{message, errorCode, fields}`.
#[derive(Debug, Clone)]
pub struct SfError {
    pub status: StatusCode,
    /// (errorCode, message, fields)
    pub errors: Vec<(String, String, Vec<String>)>,
}

impl SfError {
    pub fn new(
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        fields: &[&str],
    ) -> Self {
        Self {
            status,
            errors: vec![(
                code.to_owned(),
                message.into(),
                fields.iter().map(|f| f.to_string()).collect(),
            )],
        }
    }

    /// A 400.
    pub fn bad(code: &str, message: impl Into<String>, fields: &[&str]) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message, fields)
    }

    fn body(&self) -> Value {
        Value::Array(
            self.errors
                .iter()
                .map(|(code, message, fields)| {
                    let mut e = json!({"message": message, "errorCode": code});
                    if !fields.is_empty() {
                        e["fields"] = json!(fields);
                    }
                    e
                })
                .collect(),
        )
    }
}

impl IntoResponse for SfError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

fn session_expired() -> SfError {
    SfError::new(
        StatusCode::UNAUTHORIZED,
        "INVALID_SESSION_ID",
        "Session expired or invalid",
        &[],
    )
}

fn limit_exceeded(message: &str) -> SfError {
    SfError::new(
        StatusCode::FORBIDDEN,
        "REQUEST_LIMIT_EXCEEDED",
        message,
        &[],
    )
}

/// Renders a fault the way Salesforce answers.
fn render_fault(fault: &Fault) -> Response {
    let err = match fault {
        Fault::RateLimited {
            concurrency: false, ..
        } => limit_exceeded("TotalRequests Limit exceeded."),
        Fault::RateLimited {
            concurrency: true, ..
        } => limit_exceeded("ConcurrentPerOrgLongTxn Limit exceeded."),
        Fault::Status(401) => session_expired(),
        Fault::Status(403) => limit_exceeded("TotalRequests Limit exceeded."),
        Fault::Status(404) => state::not_found(),
        Fault::Down | Fault::Status(503) => SfError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_UNAVAILABLE",
            "Server temporarily unavailable; please try again later.",
            &[],
        ),
        Fault::Status(s) => SfError::new(
            StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1337-42 (-1)",
            &[],
        ),
    };
    err.into_response()
}

/// How to start a fake Salesforce.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// Port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    /// Largest query batch before `nextRecordsUrl` (Salesforce: 2000; small values test paging).
    pub batch_size: usize,
    /// The daily API allocation (`Sforce-Limit-Info: api-usage=N/M`).
    pub daily_limit: u64,
    /// PEM public key (`-----BEGIN PUBLIC KEY-----` or RSA PUBLIC KEY) that JWT bearer
    /// assertions must be signed with (RS256); JWT bearer is refused when unset. Defaults to
    /// [`TEST_JWT_PUBLIC_KEY`].
    pub jwt_public_key_pem: Option<String>,
}

impl Default for FakeOptions {
    fn default() -> Self {
        Self {
            port: 0,
            batch_size: 2000,
            daily_limit: 15_000,
            jwt_public_key_pem: Some(TEST_JWT_PUBLIC_KEY.to_owned()),
        }
    }
}

/// Query results still to be fetched through `nextRecordsUrl`.
#[derive(Debug)]
struct Pending {
    rows: Vec<Value>,
    total: usize,
    version: String,
}

#[derive(Debug)]
pub(crate) struct Shared {
    org: Mutex<Org>,
    auth: Mutex<oauth::AuthState>,
    base_url: OnceLock<String>,
    batch_size: AtomicUsize,
    api_used: AtomicU64,
    api_max: AtomicU64,
    assignment_owner: Mutex<Option<String>>,
    cursors: Mutex<HashMap<String, Pending>>,
    next_cursor: AtomicU64,
    /// A broken server: `nextRecordsUrl` answers name themselves as the next page.
    repeat_locator: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn org(&self) -> MutexGuard<'_, Org> {
        lock(&self.org)
    }

    fn base_url(&self) -> &str {
        self.base_url
            .get()
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1")
    }

    fn limit_header(&self) -> HeaderValue {
        let v = format!(
            "api-usage={}/{}",
            self.api_used.load(Ordering::Relaxed),
            self.api_max.load(Ordering::Relaxed)
        );
        HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("api-usage=0/0"))
    }
}

/// The session a request runs as.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub user_id: String,
}

/// A running fake Salesforce with its seeds.
#[derive(Debug)]
pub struct FakeSalesforce {
    server: FakeServer,
    shared: Arc<Shared>,
    faults: Faults,
    refresh_token: String,
}

impl FakeSalesforce {
    /// Starts a seeded fake on a free port with default options.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeOptions::default()).await
    }

    /// Starts a seeded fake.
    pub async fn start_with(options: FakeOptions) -> std::io::Result<Self> {
        let jwt_key = match &options.jwt_public_key_pem {
            None => None,
            Some(pem) => Some(
                jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
            ),
        };
        let mut org = Org::new();
        let user = |org: &mut Org, username: &str, first: &str, last: &str| {
            let id = org.new_id("User");
            org.insert(
                "User",
                json!({"Id": id, "Username": username, "Email": username, "FirstName": first,
                    "LastName": last, "Name": format!("{first} {last}"), "IsActive": true}),
            );
            id
        };
        let admin = user(&mut org, USERNAME, "Ada", "Admin");
        let integration = user(&mut org, INTEGRATION_USER, "Integration", "User");
        user(&mut org, "alice@example.com", "Alice", "Example");
        user(&mut org, "bob@example.com", "Bob", "Example");
        let queue = org.new_id("Group");
        org.insert(
            "Group",
            json!({"Id": queue, "Name": "Support", "DeveloperName": "Support", "Type": "Queue"}),
        );
        org.add_custom_field(custom_text("Ticket_Key__c", 255, true, true));
        org.add_custom_field(custom_text("External_Ref__c", 80, true, false));
        org.add_custom_field(custom_text("Tags__c", 255, false, false));
        org.add_custom_field(custom_field("Due_Date__c", Ty::Date, None));
        org.add_custom_field(custom_text("Customer__c", 255, false, false));
        org.add_custom_field(custom_field("Severity__c", Ty::Int, None));
        org.add_custom_field(custom_field(
            "Close_Reason__c",
            Ty::Picklist,
            Some(&["Resolved", "Cancelled", "Closed", "Duplicate"]),
        ));
        let mut auth = oauth::AuthState::new(jwt_key);
        auth.add_app(CLIENT_ID, CLIENT_SECRET, &integration);
        auth.add_password(USERNAME, PASSWORD, &admin);
        let refresh_token = auth.issue_refresh_token(&admin, CLIENT_ID);
        let shared = Arc::new(Shared {
            org: Mutex::new(org),
            auth: Mutex::new(auth),
            base_url: OnceLock::new(),
            batch_size: AtomicUsize::new(options.batch_size.max(1)),
            api_used: AtomicU64::new(0),
            api_max: AtomicU64::new(options.daily_limit),
            assignment_owner: Mutex::new(None),
            cursors: Mutex::new(HashMap::new()),
            next_cursor: AtomicU64::new(0),
            repeat_locator: AtomicBool::new(false),
        });
        let faults = Faults::new(render_fault);
        let router = router::router(shared.clone(), faults.clone());
        let server = FakeServer::spawn(router, options.port).await?;
        let _ = shared.base_url.set(server.url());
        Ok(Self {
            server,
            shared,
            faults,
            refresh_token,
        })
    }

    /// Moves the org's clock forward (timestamps of later writes, the replication windows and
    /// every answer's `Date` header follow it), so tests can let minutes or days pass.
    pub fn advance_clock(&self, by: std::time::Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        let mut org = self.shared.org();
        org.clock_offset = org
            .clock_offset
            .checked_add(&by)
            .unwrap_or(org.clock_offset);
    }

    /// Purges the delete log (as Salesforce does when it grows too large): a `deleted/` window
    /// starting before now answers 400 `INVALID_REPLICATION_DATE`.
    pub fn purge_delete_log(&self) {
        let mut org = self.shared.org();
        org.delete_log.clear();
        org.purged_before = org.clock();
    }

    /// `http://127.0.0.1:PORT`: both the login host and the instance URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The fault knobs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The seeded connected app's consumer key.
    pub fn client_id(&self) -> &'static str {
        CLIENT_ID
    }

    /// The seeded connected app's consumer secret.
    pub fn client_secret(&self) -> &'static str {
        CLIENT_SECRET
    }

    /// The password-flow and JWT user.
    pub fn username(&self) -> &'static str {
        USERNAME
    }

    /// The password flow's password.
    pub fn password(&self) -> &'static str {
        PASSWORD
    }

    /// A refresh token issued to the seeded connected app for [`Self::username`].
    pub fn refresh_token(&self) -> &str {
        &self.refresh_token
    }

    /// Revokes every access token issued so far: the next call with one answers 401
    /// `INVALID_SESSION_ID` (refresh tokens stay valid).
    pub fn expire_tokens(&self) {
        lock(&self.shared.auth).expire_all();
    }

    /// The next `n` access tokens are issued already revoked: a call made with one answers
    /// 401 `INVALID_SESSION_ID`, as when a session is revoked between login and first use.
    pub fn revoke_next_sessions(&self, n: u32) {
        lock(&self.shared.auth).revoke_next = n;
    }

    /// Access tokens issued so far (a refresh counts as one).
    pub fn tokens_issued(&self) -> u64 {
        lock(&self.shared.auth).issued
    }

    /// Sets the API usage counter and the daily allocation; calls beyond it answer 403
    /// `REQUEST_LIMIT_EXCEEDED`.
    pub fn set_api_usage(&self, used: u64, max: u64) {
        self.shared.api_used.store(used, Ordering::Relaxed);
        self.shared.api_max.store(max, Ordering::Relaxed);
    }

    /// (used, max) of the daily allocation.
    pub fn api_usage(&self) -> (u64, u64) {
        (
            self.shared.api_used.load(Ordering::Relaxed),
            self.shared.api_max.load(Ordering::Relaxed),
        )
    }

    /// Misbehaves like a broken server (or proxy): every `nextRecordsUrl` page answers with
    /// itself as the next page, so a client that follows pages blindly never ends.
    pub fn repeat_next_records_url(&self, on: bool) {
        self.shared.repeat_locator.store(on, Ordering::Relaxed);
    }

    /// Changes the query batch size.
    pub fn set_batch_size(&self, n: usize) {
        self.shared.batch_size.store(n.max(1), Ordering::Relaxed);
    }

    /// Adds a Case Status value, as an admin customising the picklist would.
    pub fn add_case_status(&self, label: &str, is_closed: bool) {
        self.shared.org().add_case_status(label, is_closed);
    }

    /// Adds a custom text field to Case (`name` ends in `__c`).
    pub fn add_text_field(&self, name: &str, len: usize) {
        self.shared
            .org()
            .add_custom_field(custom_text(name, len, false, false));
    }

    /// Emulates an active Case assignment rule: Cases created while the `Sforce-Auto-Assign`
    /// header is not `FALSE` go to `owner` (a User or Queue id). `None` turns it off.
    pub fn set_assignment_rule(&self, owner: Option<String>) {
        *lock(&self.shared.assignment_owner) = owner;
    }

    /// The id of the user with this username.
    pub fn user_id(&self, username: &str) -> Option<String> {
        self.shared
            .org()
            .table("User")
            .find(|u| u.get("Username").and_then(Value::as_str) == Some(username))
            .and_then(|u| u.get("Id").and_then(Value::as_str).map(str::to_owned))
    }

    /// Adds an active user and returns its id.
    pub fn add_user(&self, username: &str, email: &str) -> String {
        let mut org = self.shared.org();
        let id = org.new_id("User");
        org.insert(
            "User",
            json!({"Id": id, "Username": username, "Email": email, "FirstName": "Extra",
                "LastName": username, "Name": username, "IsActive": true}),
        );
        id
    }

    /// The seeded `Support` queue's id.
    pub fn queue_id(&self) -> String {
        self.shared
            .org()
            .table("Group")
            .next()
            .and_then(|g| g.get("Id").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    }

    /// A record as stored, by object and id.
    pub fn record(&self, object: &str, id: &str) -> Option<Value> {
        let org = self.shared.org();
        let object = org.object(object)?;
        org.get(object, id).cloned().map(Value::Object)
    }

    /// How many Cases exist.
    pub fn case_count(&self) -> usize {
        self.shared.org().table("Case").count()
    }

    /// Stored CaseComments of one Case, oldest first.
    pub fn comments_of(&self, case_id: &str) -> Vec<Value> {
        self.shared
            .org()
            .table("CaseComment")
            .filter(|c| c.get("ParentId").and_then(Value::as_str) == Some(case_id))
            .cloned()
            .map(Value::Object)
            .collect()
    }

    /// The JSON line the binary prints: base URL and credentials.
    pub fn info(&self) -> Value {
        json!({
            "vendor": "salesforce",
            "base_url": self.url(),
            "login_url": self.url(),
            "instance_url": self.url(),
            "api_version": "v62.0",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "username": USERNAME,
            "password": PASSWORD,
            "refresh_token": self.refresh_token,
            "flow": "client_credentials",
            "users": ["alice@example.com", "bob@example.com"],
            "queue_id": self.queue_id(),
            "external_id_field": "Ticket_Key__c",
            "tags_field": "Tags__c",
            "due_field": "Due_Date__c",
            "close_reason_field": "Close_Reason__c",
        })
    }

    /// Serves until the process is killed (for the binary).
    pub async fn wait(self) {
        self.server.wait().await;
    }
}

/// Starts a seeded fake Salesforce on `port` and returns it with the JSON line the binary prints.
pub async fn start_seeded(port: u16) -> std::io::Result<(FakeServer, Value)> {
    let fake = FakeSalesforce::start_with(FakeOptions {
        port,
        ..FakeOptions::default()
    })
    .await?;
    let info = fake.info();
    // The handle's shared state lives on in the router; only the server handle is needed.
    Ok((fake.server, info))
}

#[cfg(test)]
mod tests;
