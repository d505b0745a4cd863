//! Sections, tags, custom fields, the workspace and the token's user, looked up once and
//! cached; a miss refreshes the list once and then (with `create_missing`) creates the object.
//! Creation is serialized so concurrent creates never make two sections or tags of one name.

use std::collections::HashMap;
use std::future::Future;

use serde::de::DeserializeOwned;

use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tickets_core::{Error, ErrorKind, Result};

use tokio::sync::{Mutex, OnceCell, RwLock};

use crate::disk::{DiskCache, Saved};

use crate::client::{Call, Client};
use crate::create::{maybe_applied, settled};
use crate::types::{EnumOptionRecord, FieldDef, FieldSetting, Named, ProjectRecord, UserRef};

/// The custom field definition fields this crate reads.
const FIELD_FIELDS: &str = "name,resource_subtype,type,enum_options.name,enum_options.enabled";

#[derive(Debug)]
pub(crate) struct Cache {
    project: String,
    workspace: OnceCell<String>,
    me: OnceCell<UserRef>,
    /// User gid -> email. Asana's spec offers no `assignee.email` or `created_by.email`
    /// opt_field, so emails come from `GET /users/{gid}`, once per user.
    emails: RwLock<HashMap<String, Option<String>>>,
    /// Lower-cased section name -> gid.
    sections: RwLock<HashMap<String, String>>,
    /// Tag name -> gid (the oldest tag when names repeat).
    tags: RwLock<HashMap<String, String>>,
    /// Lower-cased field name -> definition, for fields on the project.
    fields: RwLock<Option<HashMap<String, FieldDef>>>,
    create: Mutex<()>,
    create_missing: bool,
    /// When the sections were read; older than `ttl`, they are read again.
    sections_at: std::sync::Mutex<Option<Instant>>,
    ttl: Duration,
    disk: Option<DiskCache>,
}

impl Cache {
    pub fn new(
        project: String,
        workspace: Option<String>,
        create_missing: bool,
        ttl: Duration,
        disk: Option<DiskCache>,
    ) -> Self {
        let saved = disk.as_ref().and_then(DiskCache::load).unwrap_or_default();
        let age = Duration::from_secs(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default()
                .saturating_sub(saved.saved_at),
        );
        let sections_at = (!saved.sections.is_empty())
            .then(|| Instant::now().checked_sub(age))
            .flatten();
        Self {
            project,
            workspace: workspace
                .or(saved.workspace)
                .map(|w| OnceCell::new_with(Some(w)))
                .unwrap_or_default(),
            me: saved
                .me
                .map(|m| OnceCell::new_with(Some(m)))
                .unwrap_or_default(),
            emails: RwLock::default(),
            sections: RwLock::new(saved.sections),
            tags: RwLock::new(saved.tags),
            fields: RwLock::default(),
            create: Mutex::new(()),
            create_missing,
            sections_at: std::sync::Mutex::new(sections_at),
            ttl,
            disk,
        }
    }

    /// Writes what is known now to the disk cache (if on).
    async fn persist(&self) {
        let Some(disk) = &self.disk else { return };
        disk.store(Saved {
            me: self.me.get().cloned(),
            workspace: self.workspace.get().cloned(),
            sections: self.sections.read().await.clone(),
            tags: self.tags.read().await.clone(),
            ..Saved::default()
        });
    }

    /// Forgets the sections once they are older than the TTL.
    async fn expire_sections(&self) {
        let expired = {
            let at = self.sections_at.lock().unwrap_or_else(|p| p.into_inner());
            at.is_none_or(|t| t.elapsed() > self.ttl)
        };
        if expired {
            self.sections.write().await.clear();
        }
    }

    fn sections_read_now(&self) {
        *self.sections_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// The workspace gid (configured, or the project's).
    pub async fn workspace(&self, c: &Client) -> Result<&str> {
        self.workspace
            .get_or_try_init(|| async {
                let path = format!("/projects/{}", self.project);
                let env = c
                    .send::<ProjectRecord>(&Call::get(&path).query("opt_fields", "workspace"))
                    .await
                    .map_err(|e| project_error(e, &self.project))?;
                Ok::<_, Error>(env.data.workspace.gid)
            })
            .await?;
        self.persist().await;
        self.workspace
            .get()
            .map(String::as_str)
            .ok_or_else(|| Error::unexpected("the workspace was not kept"))
    }

    /// The token's user.
    pub async fn me(&self, c: &Client) -> Result<&UserRef> {
        if let Some(me) = self.me.get() {
            return Ok(me);
        }
        self.me
            .get_or_try_init(|| async {
                let call = Call::get("/users/me").query("opt_fields", "name,email");
                Ok::<_, Error>(c.send::<UserRef>(&call).await?.data)
            })
            .await?;
        self.persist().await;
        self.me
            .get()
            .ok_or_else(|| Error::unexpected("the token's user was not kept"))
    }

    /// The email of user `gid`, looked up once (`GET /users/{gid}`). Never an error: a user
    /// that cannot be read is shown by gid (and looked up again next time).
    pub async fn email(&self, c: &Client, gid: &str) -> Option<String> {
        if let Some(e) = self.emails.read().await.get(gid) {
            return e.clone();
        }
        if let Some(me) = self.me.get()
            && me.gid == gid
        {
            return me.email.clone();
        }
        let path = format!("/users/{gid}");
        match c
            .send::<UserRef>(&Call::get(&path).query("opt_fields", "email,name"))
            .await
        {
            Ok(env) => {
                let email = env.data.email;
                self.emails
                    .write()
                    .await
                    .insert(gid.to_owned(), email.clone());
                email
            }
            Err(e) => {
                tracing::debug!(user = gid, error = %e, "cannot read an Asana user's email");
                None
            }
        }
    }

    /// Sends a create once. After a failure that may have been applied, `lookup` looks for
    /// the object: found, it is the answer; not found, the error says "not applied", so the
    /// retry layer may send the whole call again.
    async fn create_checked<T, L, Fut>(&self, c: &Client, call: &Call<'_>, lookup: L) -> Result<T>
    where
        T: DeserializeOwned,
        L: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        match c.send::<T>(call).await {
            Ok(env) => Ok(env.data),
            Err(e) if maybe_applied(&e) => match lookup().await {
                Ok(Some(found)) => Ok(found),
                Ok(None) => Err(settled(e)),
                // Unknown whether it was applied: the create's own error says so.
                Err(_) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    fn missing(&self, what: &str, name: &str) -> Error {
        Error::config(format!(
            "{what} {name:?} does not exist in Asana project {} and create_missing is off; \
             create it in Asana or turn create_missing on",
            self.project
        ))
    }

    /// The gid of the project's section `name`, created if missing.
    pub async fn section(&self, c: &Client, name: &str) -> Result<String> {
        self.expire_sections().await;
        let key = name.to_lowercase();
        if let Some(g) = self.sections.read().await.get(&key) {
            return Ok(g.clone());
        }
        let _guard = self.create.lock().await;
        if let Some(g) = self.sections.read().await.get(&key) {
            return Ok(g.clone());
        }
        let path = format!("/projects/{}/sections", self.project);
        let list: Vec<Named> = c
            .all(Call::get(&path).query("opt_fields", "name"))
            .await
            .map_err(|e| project_error(e, &self.project))?;
        let mut map = self.sections.write().await;
        map.clear();
        for s in list {
            if let Some(n) = s.name {
                map.entry(n.to_lowercase()).or_insert(s.gid);
            }
        }
        self.sections_read_now();
        if let Some(g) = map.get(&key).cloned() {
            drop(map);
            self.persist().await;
            return Ok(g);
        }
        if !self.create_missing {
            return Err(self.missing("section", name));
        }
        let call = Call::write(Method::POST, &path, &json!({"name": name}));
        let lookup = || async {
            let list: Vec<Named> = c.all(Call::get(&path).query("opt_fields", "name")).await?;
            Ok(list.into_iter().find(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            }))
        };
        let created: Named = self.create_checked(c, &call, lookup).await?;
        map.insert(key, created.gid.clone());
        drop(map);
        self.persist().await;
        Ok(created.gid)
    }

    async fn refresh_tags(&self, c: &Client) -> Result<()> {
        let path = format!("/workspaces/{}/tags", self.workspace(c).await?);
        let list: Vec<Named> = c.all(Call::get(&path).query("opt_fields", "name")).await?;
        let mut map = self.tags.write().await;
        for t in list {
            if let Some(n) = t.name {
                map.entry(n).or_insert(t.gid);
            }
        }
        drop(map);
        self.persist().await;
        Ok(())
    }

    /// The gid of tag `name`, if it exists.
    pub async fn find_tag(&self, c: &Client, name: &str) -> Result<Option<String>> {
        if let Some(g) = self.tags.read().await.get(name) {
            return Ok(Some(g.clone()));
        }
        let _guard = self.create.lock().await;
        if let Some(g) = self.tags.read().await.get(name) {
            return Ok(Some(g.clone()));
        }
        self.refresh_tags(c).await?;
        Ok(self.tags.read().await.get(name).cloned())
    }

    /// The gid of tag `name`, created if missing.
    pub async fn tag(&self, c: &Client, name: &str) -> Result<String> {
        if let Some(g) = self.tags.read().await.get(name) {
            return Ok(g.clone());
        }
        let _guard = self.create.lock().await;
        if let Some(g) = self.tags.read().await.get(name) {
            return Ok(g.clone());
        }
        self.refresh_tags(c).await?;
        if let Some(g) = self.tags.read().await.get(name) {
            return Ok(g.clone());
        }
        if !self.create_missing {
            return Err(self.missing("tag", name));
        }
        let body = json!({"name": name, "workspace": self.workspace(c).await?});
        let call = Call::write(Method::POST, "/tags", &body);
        let lookup = || async {
            let path = format!("/workspaces/{}/tags", self.workspace(c).await?);
            let list: Vec<Named> = c.all(Call::get(&path).query("opt_fields", "name")).await?;
            Ok(list.into_iter().find(|t| t.name.as_deref() == Some(name)))
        };
        let created: Named = self.create_checked(c, &call, lookup).await?;
        self.tags
            .write()
            .await
            .insert(name.to_owned(), created.gid.clone());
        self.persist().await;
        Ok(created.gid)
    }

    /// The custom fields on the project, by lower-cased name.
    async fn list_fields(&self, c: &Client) -> Result<HashMap<String, FieldDef>> {
        let path = format!("/projects/{}/custom_field_settings", self.project);
        let call = Call::get(&path).query(
            "opt_fields",
            "custom_field.name,custom_field.resource_subtype,custom_field.type,\
             custom_field.enum_options.name,custom_field.enum_options.enabled",
        );
        let list: Vec<FieldSetting> = c.all(call).await?;
        Ok(list
            .into_iter()
            .map(|s| (s.custom_field.name.to_lowercase(), s.custom_field))
            .collect())
    }

    async fn refresh_fields(&self, c: &Client) -> Result<()> {
        let map = self.list_fields(c).await?;
        *self.fields.write().await = Some(map);
        Ok(())
    }

    async fn cached_field(&self, name: &str) -> Option<FieldDef> {
        self.fields
            .read()
            .await
            .as_ref()?
            .get(&name.to_lowercase())
            .cloned()
    }

    /// The project's custom field `name`. Missing ones are created (number fields for numeric
    /// `sample`s, enum fields for `options`, text otherwise) and added to the project.
    pub async fn field(
        &self,
        c: &Client,
        name: &str,
        sample: &Value,
        options: &[&str],
    ) -> Result<FieldDef> {
        if let Some(f) = self.cached_field(name).await {
            return Ok(f);
        }
        let _guard = self.create.lock().await;
        if let Some(f) = self.cached_field(name).await {
            return Ok(f);
        }
        self.refresh_fields(c).await?;
        if let Some(f) = self.cached_field(name).await {
            return Ok(f);
        }
        if !self.create_missing {
            return Err(Error::invalid_input(format!(
                "custom field {name:?} is not on Asana project {}; add it there or turn \
                 create_missing on",
                self.project
            )));
        }
        let subtype = if !options.is_empty() {
            "enum"
        } else if sample.is_number() {
            "number"
        } else {
            "text"
        };
        let mut body = json!({
            "workspace": self.workspace(c).await?, "name": name, "resource_subtype": subtype,
        });
        if subtype == "enum" {
            body["enum_options"] = options.iter().map(|o| json!({"name": o})).collect();
        }
        if subtype == "number" {
            body["precision"] = json!(if sample.is_i64() || sample.is_u64() {
                0
            } else {
                2
            });
        }
        let call =
            Call::write(Method::POST, "/custom_fields", &body).query("opt_fields", FIELD_FIELDS);
        let workspace = self.workspace(c).await?.to_owned();
        let lookup = || async {
            let path = format!("/workspaces/{workspace}/custom_fields");
            let list: Vec<FieldDef> = c
                .all(Call::get(&path).query("opt_fields", FIELD_FIELDS))
                .await?;
            Ok(list.into_iter().find(|f| f.name.eq_ignore_ascii_case(name)))
        };
        let field: FieldDef = self.create_checked(c, &call, lookup).await?;
        let path = format!("/projects/{}/addCustomFieldSetting", self.project);
        let add = json!({"custom_field": field.gid});
        let call = Call::write(Method::POST, &path, &add);
        let lookup = || async {
            let attached = self.list_fields(c).await?;
            Ok(attached
                .into_values()
                .find(|f| f.gid == field.gid)
                .map(|_| Value::Null))
        };
        self.create_checked::<Value, _, _>(c, &call, lookup).await?;
        if let Some(map) = self.fields.write().await.as_mut() {
            map.insert(name.to_lowercase(), field.clone());
        }
        Ok(field)
    }

    /// The gid of enum option `option` of `field`, created if missing.
    pub async fn option(&self, c: &Client, field: &FieldDef, option: &str) -> Result<String> {
        let find = |f: &FieldDef| {
            f.enum_options
                .iter()
                .find(|o| o.enabled && o.name.eq_ignore_ascii_case(option))
                .map(|o| o.gid.clone())
        };
        if let Some(g) = find(field) {
            return Ok(g);
        }
        let _guard = self.create.lock().await;
        if let Some(g) = self.cached_field(&field.name).await.as_ref().and_then(find) {
            return Ok(g);
        }
        if !self.create_missing {
            return Err(Error::invalid_input(format!(
                "{option:?} is not an option of custom field {:?}",
                field.name
            )));
        }
        let path = format!("/custom_fields/{}/enum_options", field.gid);
        let call = Call::write(Method::POST, &path, &json!({"name": option}));
        let lookup = || async {
            let path = format!("/custom_fields/{}", field.gid);
            let call = Call::get(&path).query("opt_fields", FIELD_FIELDS);
            let def: FieldDef = c.send(&call).await?.data;
            Ok(def
                .enum_options
                .into_iter()
                .find(|o| o.enabled && o.name.eq_ignore_ascii_case(option)))
        };
        let created: EnumOptionRecord = self.create_checked(c, &call, lookup).await?;
        if let Some(f) = self
            .fields
            .write()
            .await
            .as_mut()
            .and_then(|m| m.get_mut(&field.name.to_lowercase()))
        {
            f.enum_options.push(created.clone());
        }
        Ok(created.gid)
    }
}

/// A 404 on the project itself is a configuration problem, not a missing ticket.
pub(crate) fn project_error(e: Error, project: &str) -> Error {
    if e.kind() == ErrorKind::NotFound {
        Error::config(format!(
            "Asana project {project} does not exist or the token cannot see it; check `project`"
        ))
    } else {
        e
    }
}
