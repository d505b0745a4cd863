//! The `salesforce` provider: tickets are Cases, comments are CaseComments.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};
use tickets_core::{
    Capabilities, Comment, Cursor, Error, ErrorKind, NewComment, NewTicket, Page, Patch, Result,
    Ticket, TicketId, TicketPatch, TicketProvider, TicketQuery, Workflow,
};

use crate::KIND;
use crate::client::{ApiUsage, SfClient};
use crate::config::Settings;
use crate::convert::{
    ReadContext, case_to_ticket, decode_comment, encode_comment, parse_datetime, soql_datetime,
    soql_like, soql_quote, str_field,
};
use crate::users::{Users, is_id_with_prefix};

const DEFAULT_PAGE_SIZE: u32 = 50;
const MAX_PAGE_SIZE: u32 = 2000;
/// CaseComment.CommentBody holds at most 4,000 bytes.
const MAX_COMMENT_BYTES: usize = 4000;

/// Tickets as Salesforce Service Cloud Cases. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SalesforceProvider {
    client: Arc<SfClient>,
    settings: Arc<Settings>,
    users: Arc<Users>,
    fields: Arc<Vec<String>>,
}

fn not_found(id: &TicketId) -> Error {
    Error::new(ErrorKind::NotFound, format!("no Case has id {id}")).with_context("ticket", id)
}

/// Checks a ticket id's shape (a Case id) before it goes into a URL or a query.
fn case_id(id: &TicketId) -> Result<&str> {
    if is_id_with_prefix(id.as_str(), &["500"]) {
        Ok(id.as_str())
    } else {
        Err(not_found(id).with_kind(ErrorKind::NotFound))
    }
}

impl SalesforceProvider {
    /// A provider for checked settings (see [`crate::SalesforceConfig::settings`]).
    pub fn new(settings: Settings) -> Result<Self> {
        let settings = Arc::new(settings);
        let client = Arc::new(SfClient::new(settings.clone())?);
        let mut fields: Vec<String> = [
            "Id",
            "CaseNumber",
            "Subject",
            "Description",
            "Status",
            "Priority",
            "Type",
            "OwnerId",
            "SuppliedEmail",
            "IsClosed",
            "IsEscalated",
            "CreatedDate",
            "LastModifiedDate",
        ]
        .map(str::to_owned)
        .to_vec();
        let extra = [
            settings.statuses.reason_field().map(str::to_owned),
            settings.tags_field.clone(),
            settings.due_field.clone(),
            settings.external_id_field.clone(),
        ];
        fields.extend(extra.into_iter().flatten());
        fields.extend(settings.custom_fields.values().cloned());
        fields.sort();
        fields.dedup();
        Ok(Self {
            client,
            settings,
            users: Arc::default(),
            fields: Arc::new(fields),
        })
    }

    /// The org's API usage from the last `Sforce-Limit-Info` header.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.client.api_usage()
    }

    /// The REST client (for calls this provider does not wrap).
    pub fn client(&self) -> &SfClient {
        &self.client
    }

    async fn unassigned_owner(&self) -> Result<String> {
        match &self.settings.unassigned_owner {
            Some(o) => Ok(o.clone()),
            None => Ok(self.client.session().await?.user_id.clone()),
        }
    }

    /// Converts Case records, looking up owner emails first.
    async fn to_tickets(&self, records: &[Map<String, Value>]) -> Result<Vec<Ticket>> {
        let owners = records
            .iter()
            .filter_map(|r| str_field(r, "OwnerId").map(str::to_owned));
        self.users.load(&self.client, owners).await?;
        let emails = self.users.emails().await;
        let session = self.client.session().await?;
        let unassigned = self.unassigned_owner().await?;
        let cx = ReadContext {
            statuses: &self.settings.statuses,
            priorities: &self.settings.priorities,
            tags_field: self.settings.tags_field.as_deref(),
            due_field: self.settings.due_field.as_deref(),
            custom_fields: &self.settings.custom_fields,
            unassigned_owner: &unassigned,
            emails: &emails,
            instance_url: &session.instance_url,
        };
        records
            .iter()
            .map(|r| {
                case_to_ticket(r, &cx).ok_or_else(|| {
                    Error::unexpected("salesforce answered a Case without Id or CreatedDate")
                })
            })
            .collect()
    }

    async fn read(&self, id: &TicketId) -> Result<Ticket> {
        let cid = case_id(id)?;
        let fields = self.fields.join(",");
        let answer = self
            .client
            .call(
                Method::GET,
                &format!("sobjects/Case/{cid}"),
                &[("fields", &fields)],
                None,
            )
            .await
            .map_err(|e| on_missing(e, id))?;
        let Value::Object(rec) = answer.body else {
            return Err(Error::unexpected(
                "salesforce answered a Case that is not an object",
            ));
        };
        Ok(self.to_tickets(&[rec]).await?.remove(0))
    }

    fn unsupported_field(&self, what: &str, key: &str) -> Error {
        Error::unsupported(format!(
            "{what} needs a Case field: set `{key}` in the salesforce config"
        ))
    }

    fn put_tags(&self, body: &mut Map<String, Value>, tags: Vec<String>) -> Result<()> {
        let field = self
            .settings
            .tags_field
            .as_ref()
            .ok_or_else(|| self.unsupported_field("tags", "tags_field"))?;
        let tags = tickets_core::normalize_tags(tags);
        if let Some(bad) = tags.iter().find(|t| t.contains(';')) {
            return Err(Error::invalid_input(format!(
                "tag {bad:?} contains ';', which separates tags in Salesforce"
            )));
        }
        let joined = tags.join(";");
        body.insert(
            field.clone(),
            if joined.is_empty() {
                Value::Null
            } else {
                joined.into()
            },
        );
        Ok(())
    }

    fn put_custom(&self, body: &mut Map<String, Value>, name: &str, value: Value) -> Result<()> {
        let field = self.settings.custom_fields.get(name).ok_or_else(|| {
            Error::invalid_input(format!(
                "custom field {name:?} is not mapped to a Case field; add it to `custom_fields` in the salesforce config"
            ))
        })?;
        body.insert(field.clone(), value);
        Ok(())
    }

    async fn put_owner(&self, body: &mut Map<String, Value>, who: Option<&str>) -> Result<()> {
        let owner = match who {
            Some(w) => self.users.owner_id(&self.client, w).await?,
            None => self.unassigned_owner().await?,
        };
        body.insert("OwnerId".into(), owner.into());
        Ok(())
    }

    async fn create_body(&self, new: &NewTicket) -> Result<Map<String, Value>> {
        let s = &self.settings;
        let mut body = Map::new();
        body.insert("Subject".into(), new.subject.clone().into());
        if !new.description.is_empty() {
            body.insert("Description".into(), new.description.clone().into());
        }
        s.statuses.write(new.status, &mut body);
        body.insert("Priority".into(), s.priorities.label(new.priority).into());
        if let Some(origin) = &s.origin {
            body.insert("Origin".into(), origin.clone().into());
        }
        if let Some(kind) = &new.kind {
            body.insert("Type".into(), kind.clone().into());
        }
        if let Some(who) = &new.assignee {
            self.put_owner(&mut body, Some(who)).await?;
        }
        if let Some(r) = &new.requester {
            body.insert("SuppliedEmail".into(), r.clone().into());
        }
        if !new.watchers.is_empty() {
            return Err(Error::unsupported("salesforce Cases have no watchers"));
        }
        if !new.tags.is_empty() {
            self.put_tags(&mut body, new.tags.clone())?;
        }
        if let Some(due) = new.due {
            let f = s
                .due_field
                .as_ref()
                .ok_or_else(|| self.unsupported_field("a due date", "due_field"))?;
            body.insert(f.clone(), due.format("%Y-%m-%d").to_string().into());
        }
        for (k, v) in &new.custom_fields {
            self.put_custom(&mut body, k, v.clone())?;
        }
        Ok(body)
    }

    async fn patch_body(
        &self,
        current: Option<&Ticket>,
        patch: TicketPatch,
    ) -> Result<Map<String, Value>> {
        let s = &self.settings;
        let mut body = Map::new();
        match patch.subject {
            Patch::Set(v) => {
                body.insert("Subject".into(), v.into());
            }
            Patch::Clear => return Err(Error::invalid_input("subject must not be empty")),
            Patch::Keep => {}
        }
        if let Some(v) = patch.description.into_option() {
            body.insert(
                "Description".into(),
                v.map(Value::from).unwrap_or(Value::Null),
            );
        }
        if let Patch::Set(to) = patch.status {
            if let Some(cur) = current {
                self.workflow()
                    .check(cur.status, to)
                    .map_err(|e| e.with_context("ticket", &cur.id))?;
            }
            s.statuses.write(to, &mut body);
        }
        if let Patch::Set(p) = patch.priority {
            body.insert("Priority".into(), s.priorities.label(p).into());
        }
        if let Some(v) = patch.kind.into_option() {
            body.insert("Type".into(), v.map(Value::from).unwrap_or(Value::Null));
        }
        if let Some(v) = patch.assignee.into_option() {
            self.put_owner(&mut body, v.as_deref()).await?;
        }
        if let Some(v) = patch.requester.into_option() {
            body.insert(
                "SuppliedEmail".into(),
                v.map(Value::from).unwrap_or(Value::Null),
            );
        }
        if let Some(v) = patch.watchers.into_option()
            && !v.unwrap_or_default().is_empty()
        {
            return Err(Error::unsupported("salesforce Cases have no watchers"));
        }
        if let Some(v) = patch.tags.into_option() {
            self.put_tags(&mut body, v.unwrap_or_default())?;
        }
        if let Some(v) = patch.due.into_option() {
            let f = s
                .due_field
                .as_ref()
                .ok_or_else(|| self.unsupported_field("a due date", "due_field"))?;
            let v = v.map(|d| Value::from(d.format("%Y-%m-%d").to_string()));
            body.insert(f.clone(), v.unwrap_or(Value::Null));
        }
        for (k, v) in patch.custom_fields {
            if let Some(v) = v.into_option() {
                self.put_custom(&mut body, &k, v.unwrap_or(Value::Null))?;
            }
        }
        Ok(body)
    }

    /// Idempotent create: read by external id, else upsert (safe when racing).
    async fn create_by_key(
        &self,
        field: &str,
        key: &str,
        mut body: Map<String, Value>,
    ) -> Result<String> {
        if key.is_empty() || key.chars().count() > 255 {
            return Err(Error::invalid_input(
                "idempotency_key must be 1 to 255 characters for Salesforce external ids",
            ));
        }
        let path = format!("sobjects/Case/{field}/{}", encode_segment(key));
        match self
            .client
            .call(Method::GET, &path, &[("fields", "Id")], None)
            .await
        {
            Ok(a) if a.status == StatusCode::OK => {
                if let Some(id) = a.body.get("Id").and_then(Value::as_str) {
                    return Ok(id.to_owned());
                }
            }
            Ok(_) => return Err(several(field, key)),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        body.remove(field);
        let a = self
            .client
            .call(Method::PATCH, &path, &[], Some(&Value::Object(body)))
            .await?;
        if a.status == StatusCode::MULTIPLE_CHOICES {
            return Err(several(field, key));
        }
        a.body
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Error::unexpected("upsert answered without an id"))
    }

    /// Comments of a Case, oldest first.
    async fn read_comments(&self, cid: &str, ticket: &TicketId) -> Result<Vec<Comment>> {
        let q = format!(
            "SELECT Id, CommentBody, IsPublished, CreatedById, CreatedDate FROM CaseComment WHERE ParentId = {} ORDER BY CreatedDate, Id",
            soql_quote(cid)
        );
        let rows = self.client.query(&q).await?;
        let creators = rows
            .iter()
            .filter_map(|r| str_field(r, "CreatedById").map(str::to_owned));
        self.users.load(&self.client, creators).await?;
        let emails = self.users.emails().await;
        rows.iter()
            .map(|r| {
                let created = str_field(r, "CreatedDate")
                    .and_then(parse_datetime)
                    .ok_or_else(|| {
                        Error::unexpected("salesforce answered a CaseComment without CreatedDate")
                    })?;
                let (author, body) = decode_comment(str_field(r, "CommentBody").unwrap_or(""));
                let mut c = Comment::new(
                    str_field(r, "Id").unwrap_or_default(),
                    ticket.clone(),
                    body,
                    created,
                );
                c.author = author
                    .or_else(|| str_field(r, "CreatedById").and_then(|u| emails.get(u).cloned()));
                c.public = r
                    .get("IsPublished")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                Ok(c)
            })
            .collect()
    }

    /// The WHERE clauses of a list, or `None` when nothing can match (unknown assignee).
    async fn where_clauses(
        &self,
        query: &TicketQuery,
        after: Option<&str>,
    ) -> Result<Option<Vec<String>>> {
        let s = &self.settings;
        let mut clauses = Vec::new();
        if let Some(after) = after {
            clauses.push(format!("Id > {}", soql_quote(after)));
        }
        if !query.status.is_empty() {
            let labels: Vec<String> = s
                .statuses
                .labels_for(&query.status)
                .iter()
                .map(|l| soql_quote(l))
                .collect();
            clauses.push(format!("Status IN ({})", labels.join(", ")));
        }
        if let Some(a) = &query.assignee {
            match self.users.owner_id(&self.client, a).await {
                Ok(id) => clauses.push(format!("OwnerId = {}", soql_quote(&id))),
                Err(e) if e.kind() == ErrorKind::InvalidInput => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        if let Some(r) = &query.requester {
            clauses.push(format!("SuppliedEmail = {}", soql_quote(r)));
        }
        if !query.tags.is_empty() {
            let f = s
                .tags_field
                .as_ref()
                .ok_or_else(|| self.unsupported_field("filtering by tags", "tags_field"))?;
            for t in &query.tags {
                clauses.push(format!(
                    "({f} = {} OR {f} LIKE {} OR {f} LIKE {} OR {f} LIKE {})",
                    soql_quote(t),
                    soql_like("", t, ";%"),
                    soql_like("%;", t, ""),
                    soql_like("%;", t, ";%"),
                ));
            }
        }
        if let Some(since) = query.updated_since {
            clauses.push(format!("LastModifiedDate >= {}", soql_datetime(since)));
        }
        Ok(Some(clauses))
    }
}

fn several(field: &str, key: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("several Cases carry {field} = {key:?}; mark {field} Unique in Salesforce"),
    )
}

/// Percent-encodes a path segment.
fn encode_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `NotFound` for the ticket when Salesforce says the Case (or parent) does not exist.
fn on_missing(e: Error, id: &TicketId) -> Error {
    let missing = e.kind() == ErrorKind::NotFound
        || (e.kind() == ErrorKind::InvalidInput
            && (e.message().contains("INVALID_CROSS_REFERENCE_KEY")
                || e.message().contains("MALFORMED_ID"))
            && e.message().contains("ParentId"));
    if missing {
        not_found(id)
    } else {
        e.with_context("ticket", id)
    }
}

#[async_trait]
impl TicketProvider for SalesforceProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        let s = &self.settings;
        let mut c = Capabilities::default();
        c.history = false;
        c.comment_author = true;
        c.private_comments = true;
        c.idempotent_create = s.external_id_field.is_some();
        c.idempotent_comment = false;
        c.custom_fields = !s.custom_fields.is_empty();
        c.text_search = true;
        c.updated_since = true;
        c.due = s.due_field.is_some();
        c.watchers = false;
        c.requester = true;
        c.kind = true;
        c.tags = s.tags_field.is_some();
        c.number = true;
        c.optimistic_concurrency = false;
        c.edit_description = true;
        c.statuses = s.statuses.round_trip();
        c.priorities = s.priorities.round_trip();
        c.max_page_size = MAX_PAGE_SIZE;
        // LastModifiedDate is kept to the second in Salesforce.
        c.time_resolution = std::time::Duration::from_secs(1);
        c
    }

    fn workflow(&self) -> &Workflow {
        &self.settings.workflow
    }

    async fn create(&self, new: NewTicket) -> Result<Ticket> {
        new.validate()?;
        let body = self.create_body(&new).await?;
        let id = match (&self.settings.external_id_field, &new.idempotency_key) {
            (Some(field), Some(key)) => self.create_by_key(field, key, body).await?,
            _ => {
                let a = self
                    .client
                    .call(
                        Method::POST,
                        "sobjects/Case",
                        &[],
                        Some(&Value::Object(body)),
                    )
                    .await?;
                a.body
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| Error::unexpected("create answered without an id"))?
            }
        };
        // Re-read: assignment rules, triggers and flows may have changed the Case.
        self.read(&TicketId::new(id)).await
    }

    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        self.read(id).await
    }

    async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket> {
        patch.validate()?;
        let cid = case_id(id)?;
        if patch.expected_version.is_some() {
            return Err(Error::unsupported(
                "salesforce Cases carry no version to check; update without expected_version",
            ));
        }
        let current = if patch.status.as_set().is_some() {
            Some(self.read(id).await?)
        } else {
            None
        };
        let body = self.patch_body(current.as_ref(), patch).await?;
        if body.is_empty() {
            return self.read(id).await;
        }
        self.client
            .call(
                Method::PATCH,
                &format!("sobjects/Case/{cid}"),
                &[],
                Some(&Value::Object(body)),
            )
            .await
            .map_err(|e| on_missing(e, id))?;
        self.read(id).await
    }

    async fn add_comment(&self, id: &TicketId, new: NewComment) -> Result<Comment> {
        new.validate()?;
        let cid = case_id(id)?;
        if new.author.as_deref().is_some_and(|a| a.contains('\n')) {
            return Err(Error::invalid_input("comment author must be one line"));
        }
        let text = encode_comment(new.author.as_deref(), &new.body);
        if text.len() > MAX_COMMENT_BYTES {
            return Err(Error::invalid_input(format!(
                "comment is {} bytes with its author line; Salesforce keeps at most {MAX_COMMENT_BYTES}",
                text.len()
            )));
        }
        let body =
            serde_json::json!({"ParentId": cid, "CommentBody": text, "IsPublished": new.public});
        let a = self
            .client
            .call(Method::POST, "sobjects/CaseComment", &[], Some(&body))
            .await
            .map_err(|e| on_missing(e, id))?;
        let comment_id = a.body.get("id").and_then(Value::as_str).unwrap_or_default();
        let mut c = Comment::new(comment_id, id.clone(), new.body, chrono::Utc::now());
        c.author = match new.author {
            Some(a) => Some(a),
            None => {
                let me = self.client.session().await?.user_id.clone();
                self.users.load(&self.client, [me.clone()]).await?;
                self.users.emails().await.get(&me).cloned()
            }
        };
        c.public = new.public;
        Ok(c)
    }

    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        let cid = case_id(id)?;
        let q = format!("SELECT Id FROM Case WHERE Id = {}", soql_quote(cid));
        if self.client.query(&q).await?.is_empty() {
            return Err(not_found(id));
        }
        self.read_comments(cid, id).await
    }

    async fn list(&self, query: &TicketQuery) -> Result<Page<Ticket>> {
        query.validate()?;
        let after = match &query.cursor {
            None => None,
            Some(c) if is_id_with_prefix(c.as_str(), &["500"]) => Some(c.as_str()),
            Some(c) => {
                return Err(Error::invalid_input(format!(
                    "cursor {c:?} was not issued by the salesforce provider"
                )));
            }
        };
        let size = query
            .page_size
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .min(MAX_PAGE_SIZE) as usize;
        let Some(clauses) = self.where_clauses(query, after).await? else {
            return Ok(Page::new(Vec::new(), None));
        };
        let mut soql = format!("SELECT {} FROM Case", self.fields.join(", "));
        if !clauses.is_empty() {
            soql.push_str(" WHERE ");
            soql.push_str(&clauses.join(" AND "));
        }
        soql.push_str(&format!(" ORDER BY Id LIMIT {}", size + 1));
        let mut rows = self.client.query(&soql).await?;
        let more = rows.len() > size;
        rows.truncate(size);
        let next = if more {
            rows.last()
                .and_then(|r| str_field(r, "Id"))
                .map(Cursor::new)
        } else {
            None
        };
        // The text filter (Description cannot be filtered in SOQL) and exact status and tag
        // matches are checked here; pages may come back short, the cursor goes on.
        let tickets = self.to_tickets(&rows).await?;
        let mut exact = query.clone();
        exact.cursor = None;
        // The assignee was matched by OwnerId (it may have been given as an id).
        exact.assignee = None;
        let items = tickets.into_iter().filter(|t| exact.matches(t)).collect();
        Ok(Page::new(items, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(encode_segment("key.1"), "key.1");
    }

    #[test]
    fn case_ids_are_checked_before_use() {
        assert!(case_id(&TicketId::new("500Dn000000ABCDIA2")).is_ok());
        for bad in [
            "",
            "nope",
            "005Dn000000ABCDIA2",
            "500Dn000000ABCD'2x",
            "0193c0de-uuid-v7",
        ] {
            let e = case_id(&TicketId::new(bad)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{bad}");
        }
    }
}
