//! Building Salesforce requests from the model: Case bodies, idempotent creates and SOQL
//! WHERE clauses.

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};
use tickets_core::{Error, ErrorKind, NewTicket, Patch, Result, TicketPatch, TicketQuery};

use crate::composite::Sub;
use crate::convert::{soql_datetime, soql_like, soql_quote};
use crate::provider::{SalesforceProvider, record_of};

impl SalesforceProvider {
    pub(crate) fn unsupported_field(&self, what: &str, key: &str) -> Error {
        Error::unsupported(format!(
            "{what} needs a Case field: set `{key}` in the salesforce config"
        ))
    }

    pub(crate) fn put_tags(&self, body: &mut Map<String, Value>, tags: Vec<String>) -> Result<()> {
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

    pub(crate) fn put_custom(
        &self,
        body: &mut Map<String, Value>,
        name: &str,
        value: Value,
    ) -> Result<()> {
        let field = self.settings.custom_fields.get(name).ok_or_else(|| {
            Error::invalid_input(format!(
                "custom field {name:?} is not mapped to a Case field; add it to `custom_fields` in the salesforce config"
            ))
        })?;
        body.insert(field.clone(), value);
        Ok(())
    }

    pub(crate) async fn put_owner(
        &self,
        body: &mut Map<String, Value>,
        who: Option<&str>,
    ) -> Result<()> {
        let owner = match who {
            Some(w) => self.users.owner_id(&self.client, w).await?,
            None => self.unassigned_owner().await?,
        };
        body.insert("OwnerId".into(), owner.into());
        Ok(())
    }

    pub(crate) async fn create_body(&self, new: &NewTicket) -> Result<Map<String, Value>> {
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

    /// The PATCH body for `patch`; the status fields are written whole (see
    /// [`crate::convert::StatusMap::write`]) and the caller drops those the Case shows already.
    pub(crate) async fn patch_body(&self, patch: TicketPatch) -> Result<Map<String, Value>> {
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

    /// Idempotent create: read by external id (the whole Case: one request when it exists),
    /// else upsert and read in one composite request (safe when racing). The first read keeps
    /// a retried create from overwriting later edits through the upsert.
    pub(crate) async fn create_by_key(
        &self,
        field: &str,
        key: &str,
        mut body: Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        if key.is_empty() || key.chars().count() > 255 {
            return Err(Error::invalid_input(
                "idempotency_key must be 1 to 255 characters for Salesforce external ids",
            ));
        }
        let path = format!("sobjects/Case/{field}/{}", encode_segment(key));
        let fields = self.fields.join(",");
        match self
            .client
            .call(Method::GET, &path, &[("fields", &fields)], None)
            .await
        {
            Ok(a) if a.status == StatusCode::OK => {
                if let Value::Object(rec) = a.body {
                    return Ok(rec);
                }
            }
            Ok(_) => return Err(several(field, key)),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        body.remove(field);
        let write = Sub::new(Method::PATCH, path, "write").body(Value::Object(body));
        let answers = self.write_then_read(write, "@{write.id}").await?;
        if answers[0].0 == StatusCode::MULTIPLE_CHOICES {
            return Err(several(field, key));
        }
        record_of(answers)
    }

    /// The WHERE clauses of a list, or `None` when nothing can match (unknown assignee).
    pub(crate) async fn where_clauses(
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
            // Floored to the second; the exact bound is checked on the rows (see `list`).
            clauses.push(format!("LastModifiedDate >= {}", soql_datetime(since)));
        }
        Ok(Some(clauses))
    }
}

pub(crate) fn several(field: &str, key: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("several Cases carry {field} = {key:?}; mark {field} Unique in Salesforce"),
    )
}

/// Percent-encodes a path segment.
pub(crate) fn encode_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
