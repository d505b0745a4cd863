//! The `salesforce` provider: tickets are Cases, comments are CaseComments.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Map, Value};
use tickets_core::{
    Capabilities, Comment, Cursor, Error, ErrorKind, NewComment, NewTicket, Page, Result, Status,
    Ticket, TicketId, TicketPatch, TicketProvider, TicketQuery, Workflow,
};

use crate::KIND;
use crate::client::{ApiUsage, SfClient};
use crate::composite::{Sub, failure};
use crate::config::Settings;
use crate::convert::{ReadContext, case_status, case_to_ticket, str_field};
use crate::keylock::KeyLocks;
use crate::users::{Users, is_id_with_prefix};

const DEFAULT_PAGE_SIZE: u32 = 50;
const MAX_PAGE_SIZE: u32 = 2000;

/// Tickets as Salesforce Service Cloud Cases. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SalesforceProvider {
    pub(crate) client: Arc<SfClient>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) users: Arc<Users>,
    pub(crate) fields: Arc<Vec<String>>,
    /// Comments being added with a key, one call per key at a time.
    pub(crate) key_locks: Arc<KeyLocks>,
}

pub(crate) fn not_found(id: &TicketId) -> Error {
    Error::new(ErrorKind::NotFound, format!("no Case has id {id}")).with_context("ticket", id)
}

/// Checks a ticket id's shape (a Case id) before it goes into a URL or a query.
pub(crate) fn case_id(id: &TicketId) -> Result<&str> {
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
        let users = Arc::new(Users::new(
            settings.metadata_ttl,
            settings.metadata_cache_dir.clone(),
        ));
        Ok(Self {
            client,
            settings,
            users,
            fields: Arc::new(fields),
            key_locks: Arc::default(),
        })
    }

    /// The org's API usage from the last `Sforce-Limit-Info` header.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.client.api_usage()
    }

    /// The requests a minute the provider sends at most now: `requests_per_minute`, slowed
    /// when the org's daily allowance nears its end (see [`crate::client::paced_rate`]).
    pub fn paced_per_minute(&self) -> u32 {
        self.client.paced_per_minute()
    }

    /// The REST client (for calls this provider does not wrap).
    pub fn client(&self) -> &SfClient {
        &self.client
    }

    pub(crate) async fn unassigned_owner(&self) -> Result<String> {
        match &self.settings.unassigned_owner {
            Some(o) => Ok(o.clone()),
            None => Ok(self.client.session().await?.user_id.clone()),
        }
    }

    /// Converts Case records, looking up owner emails first.
    pub(crate) async fn to_tickets(&self, records: &[Map<String, Value>]) -> Result<Vec<Ticket>> {
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

    pub(crate) async fn read(&self, id: &TicketId) -> Result<Ticket> {
        let rec = self.record(id).await?;
        Ok(self.to_tickets(&[rec]).await?.remove(0))
    }

    /// The Case record with the fields this provider reads.
    pub(crate) async fn record(&self, id: &TicketId) -> Result<Map<String, Value>> {
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
        match answer.body {
            Value::Object(rec) => Ok(rec),
            _ => Err(Error::unexpected(
                "salesforce answered a Case that is not an object",
            )),
        }
    }
}

impl SalesforceProvider {
    /// `write` and the read of the Case it wrote (`case`: its id, or `@{write.id}`) in one
    /// composite request; a failed subrequest is the error, except a 300 (several records
    /// with one external id), which the caller looks at.
    pub(crate) async fn write_then_read(
        &self,
        write: Sub,
        case: &str,
    ) -> Result<Vec<(reqwest::StatusCode, Value)>> {
        let read = Sub::new(
            Method::GET,
            format!("sobjects/Case/{case}?fields={}", self.fields.join(",")),
            "read",
        );
        let answers = self.client.composite(vec![write, read]).await?;
        if answers[0].0 != reqwest::StatusCode::MULTIPLE_CHOICES
            && let Some(e) = failure(&answers)
        {
            return Err(e);
        }
        Ok(answers)
    }
}

/// The Case record read by [`SalesforceProvider::write_then_read`].
pub(crate) fn record_of(
    mut answers: Vec<(reqwest::StatusCode, Value)>,
) -> Result<Map<String, Value>> {
    match answers.pop() {
        Some((_, Value::Object(rec))) => Ok(rec),
        _ => Err(Error::unexpected(
            "salesforce answered a Case that is not an object",
        )),
    }
}

/// `NotFound` for the ticket when Salesforce says the Case (or parent) does not exist.
pub(crate) fn on_missing(e: Error, id: &TicketId) -> Error {
    let missing = e.kind() == ErrorKind::NotFound
        || (e.kind() == ErrorKind::InvalidInput
            && (e.message().contains("INVALID_CROSS_REFERENCE_KEY")
                || e.message().contains("MALFORMED_ID"))
            && (e.message().contains("ParentId")
                || e.message().contains("FirstPublishLocationId")));
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
        c.idempotent_comment = true;
        c.custom_fields = !s.custom_fields.is_empty();
        c.text_search = true;
        c.updated_since = true;
        c.due = s.due_field.is_some();
        c.watchers = false;
        c.requester = true;
        c.edit_requester = true;
        c.kind = true;
        c.tags = s.tags_field.is_some();
        c.number = true;
        c.optimistic_concurrency = false;
        c.edit_description = true;
        c.change_feed = true;
        c.attachments = true;
        c.idempotent_attachment = true;
        c.max_attachment_size = crate::files::MAX_ATTACHMENT_SIZE;
        c.delete = true;
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
        let rec = match (&self.settings.external_id_field, &new.idempotency_key) {
            (Some(field), Some(key)) => self.create_by_key(field, key, body).await?,
            _ => {
                // With its read in one request: assignment rules, triggers and flows may have
                // changed the Case in the save.
                let write =
                    Sub::new(Method::POST, "sobjects/Case", "write").body(Value::Object(body));
                let answers = self.write_then_read(write, "@{write.id}").await?;
                record_of(answers)?
            }
        };
        Ok(self.to_tickets(&[rec]).await?.remove(0))
    }

    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        self.read(id).await
    }

    /// One read, the workflow check, one PATCH and the re-read (the default body would read
    /// twice); nothing is written when the Case shows `to` already.
    async fn change_status(&self, id: &TicketId, to: Status) -> Result<Ticket> {
        self.update(id, TicketPatch::new().status(to)).await
    }

    /// With a status, the Case is read first: the workflow is checked against the status it
    /// reads as (unless `skip_workflow`), and the status fields it shows already (Status,
    /// IsEscalated, the reason field) are not sent, so a repeated update writes nothing.
    async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket> {
        patch.validate()?;
        let cid = case_id(id)?;
        if patch.expected_version.is_some() {
            return Err(Error::unsupported(
                "salesforce Cases carry no version to check; update without expected_version",
            ));
        }
        let current = match patch.status.as_set() {
            Some(to) => {
                let rec = self.record(id).await?;
                let now = case_status(&rec, &self.settings.statuses);
                if !patch.skip_workflow {
                    self.workflow()
                        .check(now, *to)
                        .map_err(|e| e.with_context("ticket", id))?;
                }
                let mut wanted = Map::new();
                self.settings.statuses.write(*to, &mut wanted);
                Some((rec, wanted))
            }
            None => None,
        };
        let mut body = self.patch_body(patch).await?;
        if let Some((rec, wanted)) = &current {
            for (field, value) in wanted {
                if rec.get(field).unwrap_or(&Value::Null) == value && body.get(field) == Some(value)
                {
                    body.remove(field);
                }
            }
        }
        if body.is_empty() {
            return match current {
                Some((rec, _)) => Ok(self.to_tickets(&[rec]).await?.remove(0)),
                None => self.read(id).await,
            };
        }
        let write = Sub::new(Method::PATCH, format!("sobjects/Case/{cid}"), "write")
            .body(Value::Object(body));
        let answers = self
            .write_then_read(write, cid)
            .await
            .map_err(|e| on_missing(e, id))?;
        Ok(self.to_tickets(&[record_of(answers)?]).await?.remove(0))
    }

    async fn add_comment(&self, id: &TicketId, new: NewComment) -> Result<Comment> {
        self.add_case_comment(id, new).await
    }

    async fn add_attachment(
        &self,
        id: &TicketId,
        attachment: tickets_core::NewAttachment,
    ) -> Result<tickets_core::Attachment> {
        self.add_file(id, attachment).await
    }

    async fn attachments(&self, id: &TicketId) -> Result<Vec<tickets_core::Attachment>> {
        self.files_of(case_id(id)?, id).await
    }

    async fn read_attachment(
        &self,
        attachment_id: &str,
    ) -> Result<tickets_core::AttachmentContent> {
        self.read_file(attachment_id).await
    }

    async fn delete(&self, id: &TicketId) -> Result<()> {
        self.delete_case(id).await
    }

    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        let cid = case_id(id)?;
        self.read_comments(cid, id).await
    }

    /// Cases updated, deleted or commented on since the token, from Salesforce's data
    /// replication resources (see the crate docs).
    async fn changes(
        &self,
        since: Option<&tickets_core::ChangeToken>,
    ) -> Result<tickets_core::Changes> {
        self.replication_changes(since).await
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
    use crate::requests::encode_segment;

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
