//! What writes need besides the ticket's own text: tag gids (created when missing, plus the
//! priority tag) and custom field values keyed by field gid (plus the priority field).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tickets_core::{Error, Patch, Priority, Result};

use crate::provider::AsanaProvider;

impl AsanaProvider {
    /// Tag gids for a ticket's tags (created if missing), plus its priority tag.
    pub(crate) async fn tag_gids(
        &self,
        tags: &[String],
        priority: Option<Priority>,
    ) -> Result<Vec<String>> {
        let mut names: Vec<&str> = tags.iter().map(String::as_str).collect();
        let map = &self.inner.map;
        for n in &names {
            if map.is_priority_tag(n) {
                return Err(Error::invalid_input(format!(
                    "tag {n:?} is reserved for the priority; set the priority instead"
                )));
            }
        }
        if let Some(p) = priority.filter(|_| map.priority_field.is_none()) {
            names.push(map.priority_name(p));
        }
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            out.push(self.inner.cache.tag(self.c(), n).await?);
        }
        Ok(out)
    }

    /// `{"field gid": value}` for named custom field values (and the priority field).
    pub(crate) async fn field_values(
        &self,
        fields: &BTreeMap<String, Patch<Value>>,
        priority: Option<Priority>,
    ) -> Result<BTreeMap<String, Value>> {
        let (c, cache, map) = (self.c(), &self.inner.cache, &self.inner.map);
        let mut out = BTreeMap::new();
        for (name, patch) in fields {
            if map
                .priority_field
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(name))
            {
                return Err(Error::invalid_input(format!(
                    "custom field {name:?} holds the priority; set the priority instead"
                )));
            }
            let value = match patch {
                Patch::Keep => continue,
                Patch::Clear => Value::Null,
                Patch::Set(v) => v.clone(),
            };
            let field = cache.field(c, name, &value, &[]).await?;
            let wire = match (field.subtype(), &value) {
                (_, Value::Null) => Value::Null,
                ("number", Value::Number(_)) => value,
                ("number", Value::String(s)) => s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| {
                        Error::invalid_input(format!(
                            "custom field {name:?} takes a number, not {s:?}"
                        ))
                    })?,
                ("enum", Value::String(s)) => json!(cache.option(c, &field, s).await?),
                ("text", Value::String(_)) => value,
                ("text", other) => Value::String(other.to_string()),
                (t, other) => {
                    return Err(Error::invalid_input(format!(
                        "custom field {name:?} is an Asana {t} field; {other} does not fit it"
                    )));
                }
            };
            out.insert(field.gid.clone(), wire);
        }
        if let (Some(p), Some(field)) = (priority, map.priority_field.as_deref()) {
            let names: Vec<&str> = Priority::ALL
                .iter()
                .map(|p| map.priority_name(*p))
                .collect();
            let def = cache.field(c, field, &Value::Null, &names).await?;
            let option = cache.option(c, &def, map.priority_name(p)).await?;
            out.insert(def.gid, json!(option));
        }
        Ok(out)
    }
}
