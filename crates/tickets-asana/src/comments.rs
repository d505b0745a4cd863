//! Comments as `comment_added` stories, added exactly once with an idempotency key.
//!
//! A comment with a key carries the marker line `[tickets-key:KEY]` (`tickets_core::marker`)
//! at the end of its story text. Before posting, the task's stories are read once and a story
//! with the key is returned instead of posting again, so after a failure that may have been
//! applied (a 5xx, a time-out, a dropped connection) the retry layer's next call finds it.
//! Without a key nothing is guessed: such a failure is returned as it is.

use std::future::Future;
use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use tickets_core::{Comment, Error, NewComment, Result, TicketId, marker};

use crate::client::Call;
use crate::convert::{comment, comment_text, has_key};
use crate::provider::{AsanaProvider, lock, not_found, task_gid};
use crate::types::{STORY_FIELDS, StoryRecord, UserRef};

impl AsanaProvider {
    /// Every story of a task, oldest first.
    pub(crate) async fn stories(&self, gid: &str) -> Result<Vec<StoryRecord>> {
        let path = format!("/tasks/{gid}/stories");
        let mut stories: Vec<StoryRecord> = self
            .c()
            .all(Call::get(&path).query("opt_fields", STORY_FIELDS))
            .await
            .map_err(|e| not_found(e, gid))?;
        let mut users: Vec<&mut UserRef> = Vec::new();
        for s in &mut stories {
            users.extend(s.created_by.as_mut());
            users.extend(s.assignee.as_mut());
        }
        self.with_emails(users).await;
        Ok(stories)
    }

    /// Runs `work` while holding this process's lock for `name`, so racing calls with one
    /// idempotency key send one request.
    pub(crate) async fn one_at_a_time<T>(&self, name: String, work: impl Future<Output = T>) -> T {
        let gate = lock(&self.inner.key_locks)
            .entry(name.clone())
            .or_default()
            .clone();
        let out = {
            let _held = gate.lock().await;
            work.await
        };
        let mut locks = lock(&self.inner.key_locks);
        // The map's and this call's references only: nobody else waits for it.
        if locks.get(&name).is_some_and(|g| Arc::strong_count(g) <= 2) {
            locks.remove(&name);
        }
        out
    }

    pub(crate) async fn add_comment_story(
        &self,
        id: &TicketId,
        new: NewComment,
    ) -> Result<Comment> {
        new.validate()?;
        let gid = task_gid(id)?;
        if !new.public {
            return Err(Error::unsupported(
                "Asana comments are visible to everyone who can see the task; private comments \
                 are not supported",
            ));
        }
        if let Some(a) = &new.author
            && (a.trim().is_empty() || a.contains(']') || a.contains('\n'))
        {
            return Err(Error::invalid_input(
                "comment author must not be blank or contain ']' or a line break",
            ));
        }
        let key = new.idempotency_key.as_deref();
        if let Some(k) = key {
            marker::check_key(k)?;
        }
        let text = comment_text(new.author.as_deref(), &new.body, key);
        match key {
            None => {
                self.record(gid).await?;
                self.post_story(id, gid, &text).await
            }
            Some(k) => {
                let work = self.keyed_story(id, gid, &text, k);
                self.one_at_a_time(format!("story {gid} {k}"), work).await
            }
        }
    }

    /// One POST; any failure is returned (the retry layer repeats it only when it certainly
    /// was not applied: a 429, a refused connection).
    async fn post_story(&self, id: &TicketId, gid: &str, text: &str) -> Result<Comment> {
        // The user first: no read may fail after the POST (its error would say "not applied").
        let me = self.inner.cache.me(self.c()).await?.gid.clone();
        let story = self.send_story(gid, text).await?;
        Ok(comment(id, &story, Some(&me)))
    }

    async fn send_story(&self, gid: &str, text: &str) -> Result<StoryRecord> {
        let path = format!("/tasks/{gid}/stories");
        let call = Call::write(Method::POST, &path, &json!({"text": text}))
            .query("opt_fields", STORY_FIELDS);
        self.c()
            .send::<StoryRecord>(&call)
            .await
            .map(|env| env.data)
            .map_err(|e| not_found(e, gid))
    }

    /// The story carrying `key` if the task has one, else a new one. Requests: the task and
    /// its stories (read at once), then the POST.
    async fn keyed_story(
        &self,
        id: &TicketId,
        gid: &str,
        text: &str,
        key: &str,
    ) -> Result<Comment> {
        let (_, stories) = tokio::try_join!(self.record(gid), self.stories(gid))?;
        let me = self.inner.cache.me(self.c()).await?.gid.clone();
        if let Some(s) = stories.iter().find(|s| has_key(s, key)) {
            tracing::debug!(story = %s.gid, "a comment with this key exists; not adding it again");
            return Ok(comment(id, s, Some(&me)));
        }
        // Sent once: after a failure that may have been applied, the retry layer calls again
        // (a keyed comment is idempotent) and the stories read above find it.
        let story = self.send_story(gid, text).await?;
        Ok(comment(id, &story, Some(&me)))
    }

    pub(crate) async fn comment_stories(&self, id: &TicketId) -> Result<Vec<Comment>> {
        let gid = task_gid(id)?;
        let (_, stories) = tokio::try_join!(self.record(gid), self.stories(gid))?;
        let me = self.inner.cache.me(self.c()).await?.gid.clone();
        Ok(stories
            .iter()
            .filter(|s| s.resource_subtype == "comment_added")
            .map(|s| comment(id, s, Some(&me)))
            .collect())
    }
}
