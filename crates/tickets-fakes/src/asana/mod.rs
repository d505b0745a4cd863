//! The fake Asana: a stateful, in-memory Asana REST API 1.0 on `127.0.0.1`.
//!
//! Served under `/api/1.0` with bearer auth (a missing, unknown or revoked token gets
//! `401 {"errors":[{"message":"Not Authorized"}]}`), the `{"data": ...}` envelope, JSON
//! (`{"data": {...}, "options": {"fields": [...]}}`) or form request bodies, `opt_fields`
//! (dotted paths; `gid` always included), compact records in lists, `201` plus `Location` on
//! creation, and Asana's error bodies (`phrase` on 5xx) and codes (400, 401, 402, 404, 412, 429,
//! 5xx).
//!
//! | Endpoints | |
//! |---|---|
//! | users | `GET /users/{me\|email\|gid}`, `GET /users`, `GET /workspaces/{gid}/users` |
//! | workspaces, projects | `GET /workspaces[/{gid}]`, `GET /projects[/{gid}]`, `GET /workspaces/{gid}/projects` |
//! | sections | `GET/POST /projects/{gid}/sections`, `GET /sections/{gid}`, `POST /sections/{gid}/addTask`, `GET /sections/{gid}/tasks` |
//! | tasks | `POST /tasks`, `GET/PUT/DELETE /tasks/{gid}`, `GET /tasks/external:{id}`, `GET /tasks?project=\|tag=\|section=\|assignee=&workspace=`, `GET /projects/{gid}/tasks` (`completed_since`, `modified_since`, `limit`, `offset`) |
//! | tags | `GET/POST /tags`, `GET/POST /workspaces/{gid}/tags`, `GET /tags/{gid}[/tasks]`, `GET /tasks/{gid}/tags`, `POST /tasks/{gid}/addTag\|removeTag` |
//! | stories | `GET/POST /tasks/{gid}/stories` (system stories mixed in), `GET /stories/{gid}` |
//! | custom fields | `POST /custom_fields`, `GET /workspaces/{gid}/custom_fields`, `GET /custom_fields/{gid}`, `POST /custom_fields/{gid}/enum_options`, `GET /projects/{gid}/custom_field_settings`, `POST /projects/{gid}/addCustomFieldSetting` (premium workspaces only, else 402) |
//! | search | `GET /workspaces/{gid}/tasks/search` (premium only, else 402) |
//! | projects of a task | `POST /tasks/{gid}/addProject\|removeProject` |
//! | attachments | `POST /attachments` (multipart `parent`, `file`, `name`; 100 MB at most), `GET /attachments?parent=`, `GET/DELETE /attachments/{gid}`; each record's `download_url` serves the bytes without auth (`/_fake/asana/files/{gid}`) |
//! | events | `GET /events?resource=&sync=`: 412 with a fresh `sync` first and for unknown, expired (24 h, or [`FakeAsana::expire_sync_tokens`]) tokens; then at most 100 events per answer with `has_more`; a project's stream has its tasks' events and their stories' (`added` with the task as `parent`) |
//!
//! Rules kept from the real service: every project has at least one section (a new project
//! starts with "Untitled section"), a task added to a project without a section lands in
//! its first section, so its memberships always name a section; an unknown route, or an
//! unknown method on a known route, answers `404 {"errors":[{"message":"No matching route
//! for request"}]}` (Asana's errors page: 404 means "the request method and path supplied do
//! not specify a known action in the API, or the object ... does not exist"); gids are
//! numeric strings; `modified_at` has millisecond
//! resolution and changes on edits of name, notes, completion, due date, assignee and custom
//! fields and whenever a story is created (comments, and the system stories Asana writes for
//! section moves, tags, completion, assignment); moving a task between sections therefore
//! changes it only through its `section_changed` story. `completed` sets `completed_at`.
//! Pagination keys on gid order, so pages stay stable while tasks are added.
//!
//! Faults come from the shared [`Faults`] (rendered as Asana answers: 429 with `Retry-After`
//! and the rate-limit message, 5xx with a `phrase`), and start with Asana's concurrency limits
//! of 50 reads and 15 writes in flight (`POST /_fake/reset` clears every knob, these limits
//! included; set them again with `max_concurrent_reads`/`max_concurrent_writes`). Tokens can
//! be added and revoked ([`FakeAsana::revoke_token`], or `POST /_fake/asana/revoke
//! {"token": ...}`), and event sync tokens expired ([`FakeAsana::expire_sync_tokens`], or
//! `POST /_fake/asana/expire_sync_tokens`).
//!
//! Corrections to `shared/vendor-apis.md` (the official spec and Asana's docs win):
//!
//! - `GET /tasks` has no `tag` parameter in the official spec (the brief lists
//!   `project=|tag=|section=`); a tag's tasks are `GET /tags/{gid}/tasks`. The fake still
//!   accepts `tag=` for old clients; the provider does not send it.
//! - `GET /tasks`'s `completed_since` is a date-time in the spec; the keyword `now` is
//!   documented only for the shared `completed_since` parameter of the per-container lists.
//! - `opt_fields` values are enums per operation: `assignee.email` (tasks) and
//!   `created_by.email` (stories) are not among them (the brief says emails come "via
//!   `opt_fields=assignee.email`"); a user's email is read with `GET /users/{gid}`.
//! - Every project has at least one section ("Untitled section" from the start); a task
//!   added to a project without a section lands in the first one (the brief is silent).
//! - `GET /tasks/{gid}/tags` exists (the brief names only `addTag`/`removeTag`).
//! - An unknown method on a known path is `404` with the error envelope, like an unknown path.
//! - `POST /attachments` answers `200` with the record (not the `201` + `Location` of other
//!   creates); attachment records carry no content type; the 100 MB upload limit is
//!   enforced there; non-ASCII file names go URL-encoded (`filename*=UTF-8''...`). The brief
//!   does not cover attachments.

mod attachments;
mod events;
mod fields;
mod lists;
mod paging;
mod resources;
mod state;
mod stories;
mod tasks;
mod wire;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::{FakeServer, Faults};
use state::{State, Workspace};

/// Shared state of one fake.
#[derive(Debug, Clone)]
pub(crate) struct App(Arc<Mutex<State>>);

impl App {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Handlers validate before they change anything, so a poisoned lock is still usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One request to the API and its answer, as recorded (see [`FakeAsana::record`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path below `/api/1.0` (`/tasks/1209...`).
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// The request body, when it was JSON.
    pub request: Option<Value>,
    /// The answer's status.
    pub status: u16,
    /// The answer's body, when it was JSON.
    pub response: Option<Value>,
}

/// The seeded token of the fake's API user.
pub const SEED_TOKEN: &str = "0/fake-asana-personal-access-token";

/// A running fake Asana with its seed: a premium workspace, a project, the token's user
/// (`bot@example.com`) and users `alice@example.com` and `bob@example.com`.
#[derive(Debug)]
pub struct FakeAsana {
    server: FakeServer,
    app: App,
    faults: Faults,
    workspace: String,
    project: String,
    me: String,
}

impl FakeAsana {
    /// Starts on a free port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    /// Starts on `port` (0 picks a free one).
    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        let mut s = State::new();
        let me = s.add_user("Tickets Bot", "bot@example.com");
        s.add_user("Alice Example", "alice@example.com");
        s.add_user("Bob Example", "bob@example.com");
        s.tokens.insert(SEED_TOKEN.to_owned(), me.clone());
        let workspace = s.gid();
        s.workspaces.insert(
            workspace.clone(),
            Workspace {
                gid: workspace.clone(),
                name: "Example Workspace".into(),
                premium: true,
            },
        );
        let project = s.add_project("Tickets", &workspace);
        let app = App(Arc::new(Mutex::new(s)));
        let faults = Faults::new(wire::render_fault);
        faults.set_concurrency_limits(50, 15);
        let server = FakeServer::spawn(router(app.clone(), faults.clone()), port).await?;
        Ok(Self {
            server,
            app,
            faults,
            workspace,
            project,
            me,
        })
    }

    /// `http://127.0.0.1:PORT` (admin routes live under `/_fake/`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `http://127.0.0.1:PORT/api/1.0`, the provider's `base_url`.
    pub fn base_url(&self) -> String {
        format!("{}/api/1.0", self.server.url())
    }

    /// The seeded personal access token.
    pub fn token(&self) -> &str {
        SEED_TOKEN
    }

    /// The seeded workspace gid.
    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// The seeded project gid.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The token user's gid.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// The fault knobs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Adds a user and returns its gid.
    pub fn add_user(&self, name: &str, email: &str) -> String {
        self.app.lock().add_user(name, email)
    }

    /// Issues a new token for a user gid.
    pub fn add_token(&self, user: &str) -> String {
        let token = format!("0/fake-{}", uuid::Uuid::new_v4().simple());
        self.app
            .lock()
            .tokens
            .insert(token.clone(), user.to_owned());
        token
    }

    /// Makes a token answer 401 from now on (an expired or revoked token).
    pub fn revoke_token(&self, token: &str) {
        self.app.lock().revoked.insert(token.to_owned());
    }

    /// Adds another project to the workspace and returns its gid.
    pub fn add_project(&self, name: &str) -> String {
        self.app.lock().add_project(name, &self.workspace)
    }

    /// Deletes a task as a person in Asana would (its streams see it `deleted`); `false` if
    /// there is no such task.
    pub fn delete_task(&self, gid: &str) -> bool {
        let mut s = self.app.lock();
        let me = self.me.clone();
        events::delete_task(&mut s, &me, gid).is_ok()
    }

    /// Removes a task from a project as a person in Asana would (the project's stream sees it
    /// `removed`); `false` if there is no such task or project.
    pub fn remove_from_project(&self, gid: &str, project: &str) -> bool {
        let mut s = self.app.lock();
        events::remove_from_project(&mut s, &self.me, gid, project).is_ok()
    }

    /// Expires every sync token issued so far (as Asana does after 24 hours, or sooner under
    /// load): their next `GET /events` answers 412 with a fresh token.
    pub fn expire_sync_tokens(&self) {
        expire_sync_tokens(&mut self.app.lock());
    }

    /// Makes the workspace premium or free (free: search and custom fields answer 402).
    pub fn set_premium(&self, premium: bool) {
        if let Some(w) = self.app.lock().workspaces.get_mut(&self.workspace) {
            w.premium = premium;
        }
    }

    /// Moves every task's creation, modification and completion times `by` into the past, as
    /// if they had been made that long ago (for `modified_since` windows).
    pub fn age_tasks(&self, by: std::time::Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
        let mut s = self.app.lock();
        for t in s.tasks.values_mut() {
            t.created_at -= by;
            t.modified_at -= by;
            if let Some(c) = t.completed_at.as_mut() {
                *c -= by;
            }
        }
    }

    /// Starts (or stops) recording every API request and answer.
    pub fn record(&self, on: bool) {
        let mut s = self.app.lock();
        match (on, s.log.is_some()) {
            (true, false) => s.log = Some(Vec::new()),
            (false, _) => s.log = None,
            _ => {}
        }
    }

    /// The exchanges recorded so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.app.lock().log.clone().unwrap_or_default()
    }

    /// A task in full (every field), or `None` if there is none (or it was deleted).
    pub fn task(&self, gid: &str) -> Option<Value> {
        let s = self.app.lock();
        s.tasks.get(gid).map(|t| s.task_json(t))
    }

    /// Gids of the tasks in the seeded project, oldest first.
    pub fn project_tasks(&self) -> Vec<String> {
        let s = self.app.lock();
        s.tasks
            .values()
            .filter(|t| t.memberships.iter().any(|(p, _)| *p == self.project))
            .map(|t| t.gid.clone())
            .collect()
    }

    /// The stories of a task in full, oldest first.
    pub fn stories(&self, task: &str) -> Vec<Value> {
        let s = self.app.lock();
        s.tasks
            .get(task)
            .map(|t| {
                t.stories
                    .iter()
                    .filter_map(|g| s.stories.get(g))
                    .map(|st| s.story_json(st))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Section names of the seeded project, in creation order.
    pub fn section_names(&self) -> Vec<String> {
        let s = self.app.lock();
        s.sections
            .values()
            .filter(|x| x.project == self.project)
            .map(|x| x.name.clone())
            .collect()
    }

    /// Tag names of the seeded workspace, in creation order.
    pub fn tag_names(&self) -> Vec<String> {
        let s = self.app.lock();
        s.tags.values().map(|t| t.name.clone()).collect()
    }

    /// What the binary prints: `{"provider","base_url","token","workspace","project",...}`,
    /// usable as a backend config section as it is.
    pub fn info(&self) -> Value {
        json!({
            "provider": "asana",
            "base_url": self.base_url(),
            "token": SEED_TOKEN,
            "workspace": self.workspace,
            "project": self.project,
            "user": "bot@example.com",
            "users": ["alice@example.com", "bob@example.com"],
            "admin": format!("{}/_fake", self.url()),
        })
    }

    /// Serves until the process is killed.
    pub async fn wait(self) {
        self.server.wait().await;
    }
}

fn router(app: App, faults: Faults) -> Router {
    use resources as r;
    let api: Router<App> = Router::new()
        .route("/users/{key}", get(r::user))
        .route("/users", get(r::users))
        .route("/workspaces", get(r::workspaces))
        .route("/workspaces/{gid}", get(r::workspace))
        .route("/workspaces/{gid}/users", get(r::users))
        .route("/workspaces/{gid}/projects", get(r::projects))
        .route("/workspaces/{gid}/tags", get(r::tags).post(r::create_tag))
        .route("/workspaces/{gid}/tasks/search", get(stories::search))
        .route("/projects", get(r::projects))
        .route("/projects/{gid}", get(r::project))
        .route("/projects/{gid}/tasks", get(lists::project_tasks))
        .route(
            "/projects/{gid}/sections",
            get(r::sections).post(r::create_section),
        )
        .route(
            "/projects/{gid}/custom_field_settings",
            get(fields::field_settings),
        )
        .route(
            "/projects/{gid}/addCustomFieldSetting",
            post(fields::add_field_setting),
        )
        .route("/sections/{gid}", get(r::section))
        .route("/sections/{gid}/addTask", post(r::add_task))
        .route("/sections/{gid}/tasks", get(lists::section_tasks))
        .route("/tags", get(r::tags).post(r::create_tag))
        .route("/tags/{gid}", get(r::tag))
        .route("/tags/{gid}/tasks", get(lists::tag_tasks))
        .route("/custom_fields", post(fields::create_field))
        .route(
            "/workspaces/{gid}/custom_fields",
            get(fields::workspace_fields),
        )
        .route("/custom_fields/{gid}", get(fields::field))
        .route(
            "/custom_fields/{gid}/enum_options",
            post(fields::create_option),
        )
        .route("/tasks", get(lists::list_tasks).post(tasks::create))
        .route(
            "/tasks/{gid}",
            get(tasks::get).put(tasks::update).delete(tasks::delete),
        )
        .route(
            "/tasks/{gid}/stories",
            get(stories::stories).post(stories::add_story),
        )
        .route("/tasks/{gid}/tags", get(r::task_tags))
        .route("/tasks/{gid}/{op}", post(events::task_op))
        .route("/stories/{gid}", get(stories::story))
        .route("/events", get(events::events))
        .route(
            "/attachments",
            get(attachments::list)
                .post(attachments::upload)
                // Room for Asana's 100 MB limit (and a little over, to refuse it as Asana does).
                .layer(axum::extract::DefaultBodyLimit::max(
                    attachments::MAX_SIZE + 1024 * 1024,
                )),
        )
        .route(
            "/attachments/{gid}",
            get(attachments::get).delete(attachments::delete),
        )
        // Asana answers an unknown path and an unknown method on a known path alike: 404
        // with its error envelope (axum's own 405 has an empty body).
        .fallback(|| async { wire::ApiError::new(404, "No matching route for request") })
        .method_not_allowed_fallback(|| async {
            wire::ApiError::new(404, "No matching route for request")
        })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            wire::auth,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            wire::record,
        ));
    let files_app = app.clone();
    let revoke_app = app.clone();
    let sync_app = app.clone();
    Router::new()
        .nest("/api/1.0", api)
        .with_state(app)
        .merge(faults.admin_routes())
        .route(
            "/_fake/asana/revoke",
            post(move |axum::Json(body): axum::Json<Value>| async move {
                let token = body
                    .get("token")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                revoke_app.lock().revoked.insert(token.to_owned());
                axum::http::StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/_fake/asana/files/{gid}",
            get(move |path| attachments::download(axum::extract::State(files_app), path)),
        )
        .route(
            "/_fake/asana/expire_sync_tokens",
            post(move || async move {
                expire_sync_tokens(&mut sync_app.lock());
                axum::http::StatusCode::NO_CONTENT
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            faults,
            Faults::middleware,
        ))
}

/// Every token issued so far falls below the floor; fresh ones (at the new position) do not.
fn expire_sync_tokens(s: &mut State) {
    s.event_seq += 1;
    s.sync_floor = s.event_seq;
}

/// Starts a seeded fake Asana on `port` and returns it with the JSON line the binary prints.
pub async fn start_seeded(port: u16) -> std::io::Result<(FakeServer, Value)> {
    let fake = FakeAsana::start_on(port).await?;
    let info = fake.info();
    Ok((fake.server, info))
}
