//! The fake Bugzilla: a stateful Bugzilla 5.x REST API (`/rest/...`, also `/rest.cgi/...`).
//!
//! What it does, as a real 5.0/5.2 does (see `shared/vendor-apis.md` section 2):
//! - `GET /rest/version`, `GET /rest/time`, `GET /rest/valid_login`, and `GET /rest/whoami` only when
//!   emulating bugzilla.mozilla.org ([`FakeBugzillaOptions::bmo`]);
//! - bugs: `POST /rest/bug` (200 `{"id":N}`), `GET /rest/bug/{id_or_alias}`
//!   (`{"bugs":[...],"faults":[]}`), `PUT /rest/bug/{id_or_alias}` (with `changes`), and the
//!   search `GET /rest/bug?...`;
//! - comments (`POST` -> 201 `{"id"}`, `GET` keyed by the bug id as a string, `count` 0 is the
//!   description), `GET /rest/bug/{id}/history`, `GET /rest/field/bug[/{name}]` (with
//!   `can_change_to` for `bug_status`), users, products with components and versions;
//! - attachments (see the `attachments` module for the shapes, the 1000 KB limit and the
//!   errors, checked on a real 5.0.6);
//! - custom fields `cf_customer` (free text) and `cf_severity` (integer, rendered as a string
//!   like Bugzilla does), and bugs restricted to the `security` group (401 code 102 to
//!   outsiders, left out of searches);
//! - the 5.x default workflow (errors 121, 122, 123; `REOPENED` does not exist: 404 code 51;
//!   status and other select values matched case-insensitively, unknown ones 404 code 51;
//!   moves made comment-required with [`FakeBugzilla::require_comment`] refused without a
//!   comment, code 32000),
//!   alias uniqueness (103), every error as `{"error":true,"code","message","documentation"}`
//!   with the real HTTP status map;
//! - credentials: `api_key` (or `Bugzilla_api_key`) in the query or the JSON body; the
//!   `X-BUGZILLA-API-KEY` header only when emulating BMO (5.x ignores it: writes get 401 code
//!   410, reads run anonymous).
//!
//! Seed: `admin@example.com` (API key, editbugs, insider), `alice@example.com` and
//! `bob@example.com` (API keys, neither editbugs nor insider), `nobody@example.com` (the
//! component's default assignee, cannot log in), product `TestProduct` with components
//! `TestComponent` and `Other`, versions `unspecified` and `1.0`.
//!
//! Fault knobs: the shared [`Faults`] (rendered as Bugzilla/Apache would answer:
//! 429 with `Retry-After`, HTML 5xx pages) plus [`FakeBugzilla::soft_errors`]: "HTTP 200 with
//! `error: true`" answers to the next writes (or a share of them,
//! [`FakeBugzilla::soft_error_rate`]; over HTTP `POST /_fake/bugzilla/soft_errors`
//! `{"count":N,"code":100500}`), which are **not** applied (what 5.2 on PostgreSQL does under
//! concurrent updates, code 100500).
//!
//! ## Where the real server corrects `shared/vendor-apis.md`
//!
//! Each checked against a real Bugzilla 5.0.6 (`shared/real-servers/bugzilla`); the errors and
//! statuses are held by `tickets-bugzilla/tests/real_server.rs`, which sends the same requests
//! to this fake and to the real server and compares status and code (in CI), the shapes by this
//! fake's own tests:
//! - A non-integer in an integer custom field is code **32000** (Bugzilla's generic user error)
//!   with HTTP 400, "The value 'x' in the `<field>` field is not an integer value (i.e. a whole
//!   number).", not one of 52-58 (2.4 suggests those).
//! - Integer custom fields read back as `"0"` when unset, and clearing one (`""`) stores 0:
//!   there is no empty integer (2.7 is silent).
//! - An unknown component on create or update is code **51** (`object_does_not_exist`, HTTP
//!   404); 105 is only for a missing or empty component (2.4 lists 105 for "missing/unknown").
//! - `/rest/product/{x}` turns the path into `ids` (digits) or `names` and merges the query's
//!   lists: `/rest/product/get?names=P` answers P; unknown products are left out.
//! - `GET /rest/user?ids=N` (and `/rest/user/N`) anonymously is code **505**, HTTP 401;
//!   logged in, an unknown id is left out (`{"users":[]}`), not an error.
//! - `GET /rest/bug/{id}/comment?ids=A&ids=B` answers the comments of all three bugs (list
//!   parameters merge from path and query); one missing bug fails the call with 101.
//! - History folds the changes one user made within one second into one group, in order, so a
//!   field may appear twice in a group (`CONFIRMED -> RESOLVED`, `RESOLVED -> VERIFIED`); the
//!   field names are the API's (`status`, `whiteboard`), not the database's.
//! - Boolean charts nest with `fN=OP` / `fN=CP` and `jN=OR`.
//! - Unknown methods on known routes (`DELETE /bug/1`, `PATCH`, `POST /version`) are 404 code
//!   32614 like unknown routes, with the method and path in the message.
//! - Attachments (2.5 is silent): see the `attachments` module: `POST` answers **201**
//!   `{"ids":[N]}`; the limit is `maxattachmentsize` (default 1000 KB = 1,024,000 bytes,
//!   exactly that is accepted), over it code 600; empty 606, no file name 603, no summary 604,
//!   bad content type 601; an unknown attachment id is HTTP 200 with empty maps; adding one
//!   posts a `Created attachment N` comment and moves `last_change_time`. Not confirmed on a
//!   real server: how private attachments show to outsiders (the fake hides them).

mod attachments;
mod bugs;
pub mod error;
mod other;
mod req;
mod search;
mod state;
mod update;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Request, State};
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{FakeServer, Faults};
use error::BzError;
use state::{Db, Seed};

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeBugzillaOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Emulate bugzilla.mozilla.org / master: accept the `X-BUGZILLA-API-KEY` header, serve
    /// `/rest/whoami`, use BMO's `documentation` URL.
    pub bmo: bool,
    /// Give `op_sys` and `platform` defaults (`All`); without them they are required (code 50),
    /// as on the real 5.x installs checked.
    pub os_platform_defaults: bool,
    /// Allow a search without criteria (else code 1000).
    pub search_allow_no_criteria: bool,
    /// What `/rest/version` answers.
    pub version: String,
}

impl Default for FakeBugzillaOptions {
    fn default() -> Self {
        Self {
            port: 0,
            bmo: false,
            os_platform_defaults: false,
            search_allow_no_criteria: false,
            version: "5.2".into(),
        }
    }
}

/// Shared state of one fake.
#[derive(Debug)]
pub struct App {
    db: Mutex<Db>,
    opts: FakeBugzillaOptions,
    soft: Mutex<VecDeque<i64>>,
    soft_rate: Mutex<(f64, i64, fastrand::Rng)>,
}

impl App {
    fn lock(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn soft(&self) -> MutexGuard<'_, VecDeque<i64>> {
        self.soft.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running fake Bugzilla. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeBugzilla {
    server: FakeServer,
    app: Arc<App>,
    faults: Faults,
    seed: Seed,
}

impl FakeBugzilla {
    /// A seeded fake on a free port with 5.x behaviour.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeBugzillaOptions::default()).await
    }

    /// A seeded fake with these options.
    pub async fn start_with(opts: FakeBugzillaOptions) -> std::io::Result<Self> {
        let (db, seed) = Db::seeded();
        let port = opts.port;
        let app = Arc::new(App {
            db: Mutex::new(db),
            opts,
            soft: Mutex::new(VecDeque::new()),
            soft_rate: Mutex::new((0.0, 100_500, fastrand::Rng::with_seed(0xb2))),
        });
        let faults = Faults::new(error::render_fault);
        let router = router(app.clone(), &faults);
        let server = FakeServer::spawn(router, port).await?;
        Ok(Self {
            server,
            app,
            faults,
            seed,
        })
    }

    /// `http://127.0.0.1:PORT` (the admin routes live under `/_fake/`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `http://127.0.0.1:PORT/rest`, what a client is configured with.
    pub fn base_url(&self) -> String {
        format!("{}/rest", self.server.url())
    }

    /// The admin's API key.
    pub fn api_key(&self) -> &str {
        &self.seed.admin_key
    }

    /// The admin's login.
    pub fn admin_login(&self) -> &str {
        &self.seed.admin_login
    }

    /// The API key of a seeded user (`alice@example.com`, `bob@example.com`: no editbugs).
    pub fn user_key(&self, login: &str) -> Option<&str> {
        self.seed
            .user_keys
            .iter()
            .find(|(l, _)| l == login)
            .map(|(_, k)| k.as_str())
    }

    /// The seeded product.
    pub fn product(&self) -> &str {
        &self.seed.product
    }

    /// The seeded component.
    pub fn component(&self) -> &str {
        &self.seed.component
    }

    /// The seeded version.
    pub fn version(&self) -> &str {
        &self.seed.version
    }

    /// The component's default assignee (what "unassigned" looks like).
    pub fn default_assignee(&self) -> &str {
        &self.seed.default_assignee
    }

    /// The shared fault knobs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Answers the next `count` writes (POST/PUT) with HTTP 200 and
    /// `{"error":true,"code":<code>,...}` without applying them (100500 is the PostgreSQL
    /// serialization failure seen on 5.2).
    pub fn soft_errors(&self, count: usize, code: i64) {
        let mut q = self.app.soft();
        q.clear();
        q.extend(std::iter::repeat_n(code, count));
    }

    /// Answers a share (0..1) of writes with HTTP 200 and `{"error":true,"code":<code>}`
    /// without applying them; 0 turns it off.
    pub fn soft_error_rate(&self, rate: f64, code: i64) {
        let mut r = self.app.soft_rate.lock().unwrap_or_else(|p| p.into_inner());
        r.0 = rate.clamp(0.0, 1.0);
        r.1 = code;
    }

    /// Makes the status move `from` -> `to` require a comment, as an admin can in Bugzilla's
    /// workflow settings: `can_change_to` says `comment_required: true` and a `PUT` without a
    /// comment is refused with code 32000 (HTTP 400), as a real 5.0.6 answers.
    pub fn require_comment(&self, from: &str, to: &str) {
        self.app
            .lock()
            .comment_required
            .insert((from.to_owned(), to.to_owned()));
    }

    /// How many bugs exist.
    pub fn bug_count(&self) -> usize {
        self.app.lock().bugs.len()
    }

    /// A bug as the API renders it (logged-in view), if it exists.
    pub fn bug(&self, id: u64) -> Option<Value> {
        let db = self.app.lock();
        db.bugs.get(&id).map(|b| db.render_bug(b, true))
    }

    /// The bug's comments (including private ones and the description), oldest first.
    pub fn comments(&self, id: u64) -> Vec<Value> {
        let db = self.app.lock();
        db.comments_by_bug
            .get(&id)
            .into_iter()
            .flatten()
            .map(|i| Db::render_comment(&db.comments[*i]))
            .collect()
    }

    /// The JSON line the binary prints.
    pub fn info(&self) -> Value {
        json!({
            "base_url": self.base_url(),
            "api_key": self.seed.admin_key,
            "login": self.seed.admin_login,
            "product": self.seed.product,
            "component": self.seed.component,
            "version": self.seed.version,
            "op_sys": "All",
            "platform": "All",
            "users": ["alice@example.com", "bob@example.com"],
            // As the real server's start.sh prints them, so tests take either line.
            "default_assignee": self.seed.default_assignee,
            "user_keys": self.seed.user_keys.iter().cloned().collect::<std::collections::BTreeMap<String, String>>(),
            "faults_url": format!("{}/_fake/faults", self.url()),
            "soft_errors_url": format!("{}/_fake/bugzilla/soft_errors", self.url()),
        })
    }

    /// The server alone (the data lives as long as it does).
    pub fn into_server(self) -> FakeServer {
        self.server
    }
}

/// Starts a seeded fake Bugzilla on `port` and returns it with the JSON line the binary prints.
pub async fn start_seeded(port: u16) -> std::io::Result<(FakeServer, Value)> {
    let fake = FakeBugzilla::start_with(FakeBugzillaOptions {
        port,
        ..FakeBugzillaOptions::default()
    })
    .await?;
    let info = fake.info();
    Ok((fake.into_server(), info))
}

#[derive(Debug, Deserialize)]
struct SoftErrors {
    count: usize,
    #[serde(default = "default_soft_code")]
    code: i64,
}

fn default_soft_code() -> i64 {
    100_500
}

fn router(app: Arc<App>, faults: &Faults) -> Router {
    let mut r: Router<Arc<App>> = Router::new();
    for p in ["/rest", "/rest.cgi"] {
        r = r
            .route(&format!("{p}/version"), get(other::version))
            .route(&format!("{p}/time"), get(other::time))
            .route(&format!("{p}/valid_login"), get(other::valid_login))
            .route(&format!("{p}/bug"), get(search::search).post(bugs::create))
            .route(
                &format!("{p}/bug/{{id}}"),
                get(bugs::get).put(update::update),
            )
            .route(
                &format!("{p}/bug/{{id}}/comment"),
                get(other::comments).post(other::add_comment),
            )
            .route(&format!("{p}/bug/{{id}}/history"), get(other::history))
            .route(
                &format!("{p}/bug/{{id}}/attachment"),
                get(attachments::of_bug).post(attachments::add),
            )
            .route(
                &format!("{p}/bug/attachment/{{aid}}"),
                get(attachments::one),
            )
            .route(&format!("{p}/field/bug"), get(other::fields))
            .route(
                &format!("{p}/field/bug/{{name}}"),
                get(other::field_by_name),
            )
            .route(&format!("{p}/user"), get(other::users))
            .route(&format!("{p}/user/{{id}}"), get(other::user))
            .route(&format!("{p}/product"), get(other::products))
            .route(&format!("{p}/product/{{id}}"), get(other::product))
            .route(&format!("{p}/product_accessible"), get(other::product_ids))
            .route(&format!("{p}/product_enterable"), get(other::product_ids))
            .route(&format!("{p}/product_selectable"), get(other::product_ids));
        if app.opts.bmo {
            r = r.route(&format!("{p}/whoami"), get(other::whoami));
        }
    }
    let soft_app = app.clone();
    let admin: Router<Arc<App>> = Router::new().route(
        "/_fake/bugzilla/soft_errors",
        post(move |Json(s): Json<SoftErrors>| async move {
            let mut q = soft_app.soft();
            q.clear();
            q.extend(std::iter::repeat_n(s.code, s.count));
            Json(json!({ "pending": q.len() }))
        }),
    );
    r.merge(admin)
        .merge(faults.admin_routes())
        .fallback(no_resource)
        .method_not_allowed_fallback(no_resource)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            soft_error,
        ))
        .layer(axum::middleware::from_fn_with_state(
            faults.clone(),
            Faults::middleware,
        ))
        .with_state(app)
}

/// 404 code 32614, naming the method and the path without the `/rest` prefix.
async fn no_resource(State(app): State<Arc<App>>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let path = path
        .strip_prefix("/rest.cgi")
        .or_else(|| path.strip_prefix("/rest"))
        .unwrap_or(path);
    BzError {
        bmo: app.opts.bmo,
        ..BzError::no_resource(method.as_str(), path)
    }
    .into_response()
}

/// Answers a pending soft error (HTTP 200, `error: true`) to a write, without applying it.
async fn soft_error(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let write = matches!(*request.method(), Method::POST | Method::PUT);
    if write && !request.uri().path().starts_with("/_fake/") {
        let mut code = app.soft().pop_front();
        if code.is_none() {
            let mut r = app.soft_rate.lock().unwrap_or_else(|p| p.into_inner());
            if r.0 > 0.0 && r.2.f64() < r.0 {
                code = Some(r.1);
            }
        }
        if let Some(code) = code {
            let message = if code == 100_500 {
                "DBD::Pg::db do failed: ERROR:  could not serialize access due to concurrent update"
                    .to_owned()
            } else {
                format!("injected error {code}")
            };
            return BzError {
                http_ok: true,
                bmo: app.opts.bmo,
                ..BzError::new(code, message)
            }
            .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod workflow_tests;
