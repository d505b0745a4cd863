//! Comments, added exactly once with an idempotency key.
//!
//! A comment with a key ends with the marker line `[tickets-key:KEY]` (`tickets_core::marker`),
//! which Bugzilla keeps as written. Before posting, the bug's comments are read once and one
//! carrying the key is returned instead. The provider sends each request once; a caller (the
//! retry layer, the sync worker) that tries again after a failure that may have been applied
//! calls again with the same key, and that call looks for the comment before sending it.
//! Without a key nothing is looked for: such a failure is returned as it is.

use chrono::{SubsecRound, Utc};
use serde_json::{Value, json};
use tickets_core::{Comment, Error, NewComment, Result, TicketId, marker};

use crate::client::segment;
use crate::convert::{self, BzComment};
use crate::provider::BugzillaProvider;

impl BugzillaProvider {
    pub(crate) async fn add_bz_comment(&self, id: &TicketId, new: NewComment) -> Result<Comment> {
        new.validate()?;
        let key = new.idempotency_key.as_deref();
        if let Some(k) = key {
            marker::check_key(k)?;
        }
        let meta = self.meta().await?;
        let meta = &*meta;
        let login = meta.login.as_deref();
        let text = convert::stored_comment(new.author.as_deref(), login, &new.body, key);
        let Some(key) = key else {
            self.ensure_in_scope(id.as_str())
                .await
                .map_err(|e| e.with_context("ticket", id))?;
            return self.post_comment(id, text, new.public, login).await;
        };
        let work = async {
            let (existing, ()) = futures::try_join!(
                self.bz_comments(id.as_str()),
                self.ensure_in_scope(id.as_str())
            )
            .map_err(|e| e.with_context("ticket", id))?;
            if let Some(c) = existing.iter().find(|c| convert::has_key(c, key)) {
                tracing::debug!(
                    comment = c.id,
                    "a comment with this key exists; not adding it again"
                );
                return Ok(convert::to_comment(c, id));
            }
            self.post_comment(id, text, new.public, login).await
        };
        self.key_locks.run(format!("{id} {key}"), work).await
    }

    /// One POST; the answer is the comment as Bugzilla stores it (read back the same way).
    async fn post_comment(
        &self,
        id: &TicketId,
        text: String,
        public: bool,
        login: Option<&str>,
    ) -> Result<Comment> {
        let answer = self
            .client()
            .post(
                &format!("/bug/{}/comment", segment(id.as_str())),
                json!({"comment": text, "is_private": !public}),
            )
            .await
            .map_err(|e| e.with_context("ticket", id))?;
        let cid = answer
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::unexpected("comment answer without an id"))?;
        let stored = BzComment {
            id: cid,
            count: 1,
            text,
            creator: login.unwrap_or_default().to_owned(),
            is_private: !public,
            creation_time: Some(Utc::now().trunc_subsecs(0)),
            time: None,
        };
        Ok(convert::to_comment(&stored, id))
    }

    pub(crate) async fn bz_ticket_comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        let (list, ()) = futures::try_join!(
            self.bz_comments(id.as_str()),
            self.ensure_in_scope(id.as_str())
        )
        .map_err(|e| e.with_context("ticket", id))?;
        Ok(list
            .iter()
            .filter(|c| c.count > 0)
            .map(|c| convert::to_comment(c, id))
            .collect())
    }
}
