//! An axum application that keeps a [`Tickets`] hub in its state.
//!
//! The hub is configured from the application's own figment, focused on the key that holds the
//! tickets section (`homechoice.ticket`), so tickets settings sit beside the app's others and
//! `HOMECHOICE_TICKET__PROVIDER=...` style variables override them.
//!
//! Routes (JSON in and out; ticket objects carry `guid`, comments `comment_guid`):
//!
//! | method | path                      | body                          | answer              |
//! |--------|---------------------------|-------------------------------|---------------------|
//! | POST   | `/tickets`                | a `NewTicket` (`subject`, ...) | 201, the ticket     |
//! | GET    | `/tickets?status=&assignee=&limit=` |                     | 200, the tickets    |
//! | GET    | `/tickets/{id}`           |                               | 200, the ticket     |
//! | POST   | `/tickets/{id}/comments`  | a `NewComment` (`body`, ...)  | 201, the comment    |
//! | POST   | `/tickets/{id}/status`    | `{"status": "resolved"}`      | 200, the ticket     |
//!
//! Errors answer `{"error": "<ErrorKind>", "message": "..."}` with a status code by kind.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tickets::figment::Figment;
use tickets::figment::providers::{Env, Format, Toml};
use tickets::futures::{StreamExt, TryStreamExt};
use tickets::{
    Comment, Error, ErrorKind, NewComment, NewTicket, Status, Ticket, TicketId, TicketQuery,
    Tickets,
};

/// Where the tickets section sits in the app's configuration.
pub const TICKETS_KEY: &str = "homechoice.ticket";

/// The app's figment: its TOML file, then `HOMECHOICE_*` variables split on `__`.
pub fn app_figment(path: &std::path::Path) -> Figment {
    Figment::new()
        .merge(Toml::file(path))
        .merge(Env::prefixed("HOMECHOICE_").split("__").map(|k| {
            // HOMECHOICE_TICKET__PROVIDER -> homechoice.ticket.provider
            format!("homechoice.{k}").into()
        }))
}

/// The hub, from the tickets section of the app's figment.
pub async fn tickets_from(app: &Figment) -> tickets::Result<Tickets> {
    Tickets::from_figment(app.clone().focus(TICKETS_KEY)).await
}

/// The routes, with the hub as state.
pub fn router(tickets: Tickets) -> Router {
    Router::new()
        .route("/tickets", post(create).get(list))
        .route("/tickets/{id}", get(read))
        .route("/tickets/{id}/comments", post(comment))
        .route("/tickets/{id}/status", post(change_status))
        .with_state(tickets)
}

/// A `tickets` error as an HTTP answer.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = match self.0.kind() {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::InvalidTransition | ErrorKind::Conflict | ErrorKind::AlreadyExists => {
                StatusCode::CONFLICT
            }
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            // The app's own credentials for the backend failed: not the caller's fault.
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => StatusCode::BAD_GATEWAY,
            ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = json!({"error": self.0.kind().as_str(), "message": self.0.to_string()});
        (code, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// A ticket with the seed's receipt key `guid`.
fn ticket_json(t: &Ticket) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    if let Value::Object(map) = &mut v {
        map.insert("guid".into(), t.id.to_string().into());
    }
    v
}

fn comment_json(c: &Comment) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    if let Value::Object(map) = &mut v {
        map.insert("comment_guid".into(), c.id.clone().into());
    }
    v
}

async fn create(
    State(tickets): State<Tickets>,
    Json(new): Json<NewTicket>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let t = tickets.create(new).await?;
    Ok((StatusCode::CREATED, Json(ticket_json(&t))))
}

async fn read(State(tickets): State<Tickets>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let t = tickets.get(&TicketId::new(id)).await?;
    Ok(Json(ticket_json(&t)))
}

/// Filters of `GET /tickets`.
#[derive(Debug, Deserialize)]
struct ListParams {
    status: Option<String>,
    assignee: Option<String>,
    limit: Option<usize>,
}

async fn list(
    State(tickets): State<Tickets>,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<Value>> {
    let mut query = TicketQuery::new();
    if let Some(status) = &params.status {
        query = query.status(status.parse::<Status>()?);
    }
    if let Some(who) = params.assignee {
        query = query.assignee(who);
    }
    let limit = params.limit.unwrap_or(100).clamp(1, 1000);
    let items: Vec<Ticket> = tickets.list_all(query).take(limit).try_collect().await?;
    Ok(Json(Value::Array(items.iter().map(ticket_json).collect())))
}

async fn comment(
    State(tickets): State<Tickets>,
    Path(id): Path<String>,
    Json(new): Json<NewComment>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let c = tickets.add_comment(&TicketId::new(id), new).await?;
    Ok((StatusCode::CREATED, Json(comment_json(&c))))
}

/// Body of `POST /tickets/{id}/status`.
#[derive(Debug, Deserialize)]
struct StatusChange {
    status: String,
}

async fn change_status(
    State(tickets): State<Tickets>,
    Path(id): Path<String>,
    Json(change): Json<StatusChange>,
) -> ApiResult<Json<Value>> {
    let to: Status = change.status.parse()?;
    let t = tickets.change_status(&TicketId::new(id), to).await?;
    Ok(Json(ticket_json(&t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_override_the_file_under_the_focus_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "app.toml",
                "[homechoice.ticket]\nprovider = \"internal\"\nasana_project = \"1\"\n",
            )?;
            jail.set_env("HOMECHOICE_TICKET__PROVIDER", "memory");
            jail.set_env("HOMECHOICE_TICKET__ASANA_PROJECT", "1209000000000000");
            let fig = app_figment("app.toml".as_ref()).focus(TICKETS_KEY);
            let provider: String = fig.extract_inner("provider")?;
            assert_eq!(provider, "memory");
            let project: u64 = fig.extract_inner("asana_project")?;
            assert_eq!(project, 1209000000000000);
            Ok(())
        });
    }
}
