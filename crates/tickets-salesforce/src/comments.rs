//! CaseComments, added exactly once with an idempotency key.
//!
//! CaseComment has no upsert and no external id, so a comment with a key ends with the marker
//! line `[tickets-key:KEY]` (`tickets_core::marker`) in its CommentBody. Before posting, the
//! Case's comments are read with one SOQL query and one carrying the key is returned instead.
//! The provider sends each request once; a caller (the retry layer, the sync worker) that
//! tries again after a failure that may have been applied calls again with the same key, and
//! that call looks for the comment before sending it. Without a key nothing is looked for.

use reqwest::Method;
use serde_json::{Value, json};
use tickets_core::{Comment, Error, NewComment, Result, TicketId, marker};

use crate::convert::{decode_keyed, encode_keyed, parse_datetime, soql_quote, str_field};
use crate::provider::{SalesforceProvider, case_id, on_missing};

/// CaseComment.CommentBody holds at most 4,000 bytes.
const MAX_COMMENT_BYTES: usize = 4000;

impl SalesforceProvider {
    pub(crate) async fn add_case_comment(&self, id: &TicketId, new: NewComment) -> Result<Comment> {
        new.validate()?;
        let cid = case_id(id)?;
        if new.author.as_deref().is_some_and(|a| a.contains('\n')) {
            return Err(Error::invalid_input("comment author must be one line"));
        }
        let key = new.idempotency_key.as_deref();
        if let Some(k) = key {
            marker::check_key(k)?;
        }
        let text = encode_keyed(new.author.as_deref(), &new.body, key);
        if text.len() > MAX_COMMENT_BYTES {
            let extra = if key.is_some() {
                "its author line and key marker"
            } else {
                "its author line"
            };
            return Err(Error::invalid_input(format!(
                "comment is {} bytes with {extra}; Salesforce keeps at most {MAX_COMMENT_BYTES}",
                text.len()
            )));
        }
        let Some(key) = key else {
            return self.post_comment(id, cid, text, new.public).await;
        };
        let work = async {
            let existing = self.read_comments(cid, id).await?;
            if let Some(c) = existing
                .into_iter()
                .find(|c| c.idempotency_key.as_deref() == Some(key))
            {
                tracing::debug!(comment = %c.id, "a comment with this key exists; not adding it again");
                return Ok(c);
            }
            self.post_comment(id, cid, text, new.public).await
        };
        self.key_locks.run(format!("{cid} {key}"), work).await
    }

    /// One POST; the answer is the comment as it reads back.
    async fn post_comment(
        &self,
        id: &TicketId,
        cid: &str,
        text: String,
        public: bool,
    ) -> Result<Comment> {
        let body = json!({"ParentId": cid, "CommentBody": text, "IsPublished": public});
        let a = self
            .client
            .call(Method::POST, "sobjects/CaseComment", &[], Some(&body))
            .await
            .map_err(|e| on_missing(e, id))?;
        let comment_id = a.body.get("id").and_then(Value::as_str).unwrap_or_default();
        let (author, body, key) = decode_keyed(&text);
        let mut c = Comment::new(comment_id, id.clone(), body, chrono::Utc::now());
        c.author = match author {
            Some(a) => Some(a),
            None => {
                let me = self.client.session().await?.user_id.clone();
                self.users.load(&self.client, [me.clone()]).await?;
                self.users.emails().await.get(&me).cloned()
            }
        };
        c.public = public;
        c.idempotency_key = key;
        Ok(c)
    }

    /// Comments of a Case, oldest first: one SOQL query of the Case with its CaseComments in
    /// a subquery (so a missing Case is `NotFound` without a second request), following the
    /// child set's pages when Salesforce pages it.
    pub(crate) async fn read_comments(&self, cid: &str, ticket: &TicketId) -> Result<Vec<Comment>> {
        let q = format!(
            "SELECT Id, (SELECT Id, CommentBody, IsPublished, CreatedById, CreatedDate FROM CaseComments ORDER BY CreatedDate, Id) FROM Case WHERE Id = {}",
            soql_quote(cid)
        );
        let mut cases = self.client.query(&q).await?;
        let Some(mut case) = cases.pop() else {
            return Err(crate::provider::not_found(ticket));
        };
        let rows = match case.remove("CaseComments") {
            None | Some(Value::Null) => Vec::new(),
            Some(set) => self.client.follow(set).await?,
        };
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
                let (author, body, key) = decode_keyed(str_field(r, "CommentBody").unwrap_or(""));
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
                c.idempotency_key = key;
                Ok(c)
            })
            .collect()
    }
}
