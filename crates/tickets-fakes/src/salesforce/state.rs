//! The fake org: schema, records, ids, and the field rules Salesforce applies on save.

use std::collections::{BTreeMap, HashMap};

use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::SfError;
use super::schema::status;
pub use super::schema::{CaseStatus, FieldDef, Ty, custom_field, custom_text};

/// Key prefixes of the objects the fake knows.
pub fn key_prefix(object: &str) -> Option<&'static str> {
    Some(match object {
        "Case" => "500",
        "CaseComment" => "00a",
        "User" => "005",
        "Group" => "00G",
        "CaseStatus" => "01J",
        "Organization" => "00D",
        "ContentVersion" => "068",
        "ContentDocument" => "069",
        "ContentDocumentLink" => "06A",
        _ => return None,
    })
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The 3-char case-safety suffix that turns a 15-char id into the 18-char form.
pub fn id_suffix(id15: &str) -> String {
    id15.as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            SUFFIX[bits] as char
        })
        .collect()
}

/// Checks an id's shape and returns its 18-char form, or `None` when it is not an id.
pub fn normalize_id(id: &str) -> Option<String> {
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match id.len() {
        15 => Some(format!("{id}{}", id_suffix(id))),
        18 => {
            let (head, tail) = id.split_at(15);
            // Salesforce accepts the suffix in any case.
            (id_suffix(head).eq_ignore_ascii_case(tail))
                .then(|| format!("{head}{}", id_suffix(head)))
        }
        _ => None,
    }
}

/// A Salesforce timestamp: `2024-01-15T10:20:30.000+0000`.
pub fn sf_datetime(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// Parses a stored or literal datetime.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The objects the fake knows.
const OBJECTS: [&str; 8] = [
    "Case",
    "CaseComment",
    "User",
    "Group",
    "CaseStatus",
    "ContentVersion",
    "ContentDocument",
    "ContentDocumentLink",
];

/// The in-memory org.
#[derive(Debug, Clone)]
pub struct Org {
    pub org_id: String,
    pub schemas: HashMap<&'static str, Vec<FieldDef>>,
    /// Records per object, keyed by id (ids grow with creation order).
    pub records: HashMap<&'static str, BTreeMap<String, Map<String, Value>>>,
    pub statuses: Vec<CaseStatus>,
    next_id: u64,
    next_case_number: u64,
    clock: DateTime<Utc>,
    /// How far the org's clock runs ahead of the real one (`FakeSalesforce::advance_clock`).
    pub clock_offset: chrono::Duration,
    /// The delete log, oldest first: (object, id, deletedDate).
    pub delete_log: Vec<(&'static str, String, DateTime<Utc>)>,
    /// Deletions before this were purged from the delete log.
    pub purged_before: DateTime<Utc>,
    /// File contents (`VersionData`) by ContentVersion id.
    pub blobs: HashMap<String, axum::body::Bytes>,
}

impl Default for Org {
    fn default() -> Self {
        Self::new()
    }
}

impl Org {
    pub fn new() -> Self {
        let mut org = Self {
            org_id: String::new(),
            schemas: HashMap::new(),
            records: HashMap::new(),
            statuses: vec![
                status("New", false, true),
                status("Working", false, false),
                status("Escalated", false, false),
                status("Closed", true, false),
            ],
            next_id: 0,
            next_case_number: 1000,
            clock: DateTime::<Utc>::MIN_UTC,
            clock_offset: chrono::Duration::zero(),
            delete_log: Vec::new(),
            // As if the org had been around for a while: nothing purged in the last 30 days.
            purged_before: Utc::now() - chrono::Duration::days(30),
            blobs: HashMap::new(),
        };
        org.org_id = org.new_id("Organization");
        org.build_schemas(&[]);
        for s in org.statuses.clone() {
            let id = org.new_id("CaseStatus");
            let row = json!({"Id": id, "MasterLabel": s.label, "ApiName": s.label,
                "IsClosed": s.is_closed, "IsDefault": s.is_default});
            org.insert("CaseStatus", row);
        }
        org
    }

    /// Adds a custom Case field (name must end in `__c`).
    pub fn add_custom_field(&mut self, def: FieldDef) {
        let fields = self.schemas.get_mut("Case").expect("Case schema");
        fields.retain(|f| f.name != def.name);
        fields.push(def);
    }

    /// Adds a value to the Case Status picklist (and its `CaseStatus` row).
    pub fn add_case_status(&mut self, label: &str, is_closed: bool) {
        if self.statuses.iter().any(|s| s.label == label) {
            return;
        }
        self.statuses.push(CaseStatus {
            label: label.to_owned(),
            is_closed,
            is_default: false,
        });
        if let Some(field) = self
            .schemas
            .get_mut("Case")
            .and_then(|f| f.iter_mut().find(|f| f.name == "Status"))
            && let Some((values, _)) = field.picklist.as_mut()
        {
            values.push(label.to_owned());
        }
        let id = self.new_id("CaseStatus");
        self.insert(
            "CaseStatus",
            json!({"Id": id, "MasterLabel": label, "ApiName": label, "IsClosed": is_closed, "IsDefault": false}),
        );
    }

    /// The canonical object name (SOQL and paths are case-insensitive).
    pub fn object(&self, name: &str) -> Option<&'static str> {
        OBJECTS.into_iter().find(|o| o.eq_ignore_ascii_case(name))
    }

    /// A field by case-insensitive name.
    pub fn field(&self, object: &str, name: &str) -> Option<&FieldDef> {
        self.schemas
            .get(object)?
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// A fresh 18-char id for `object`. Ids sort in creation order.
    pub fn new_id(&mut self, object: &str) -> String {
        self.next_id += 1;
        let mut n = self.next_id;
        let mut digits = [b'0'; 7];
        for d in digits.iter_mut().rev() {
            *d = BASE62[(n % 62) as usize];
            n /= 62;
        }
        let prefix = key_prefix(object).unwrap_or("000");
        let id15 = format!(
            "{prefix}Dn000{}",
            std::str::from_utf8(&digits).unwrap_or("0000000")
        );
        format!("{id15}{}", id_suffix(&id15))
    }

    /// The org's clock, without taking a timestamp.
    pub fn clock(&self) -> DateTime<Utc> {
        (Utc::now() + self.clock_offset).max(self.clock)
    }

    /// Strictly increasing timestamps (millisecond steps).
    pub fn now(&mut self) -> DateTime<Utc> {
        let now = Utc::now() + self.clock_offset;
        let now = DateTime::<Utc>::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        self.clock = if now > self.clock {
            now
        } else {
            self.clock + chrono::Duration::milliseconds(1)
        };
        self.clock
    }

    pub fn insert(&mut self, object: &'static str, row: Value) -> String {
        let Value::Object(map) = row else {
            return String::new();
        };
        let id = map
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.records
            .entry(object)
            .or_default()
            .insert(id.clone(), map);
        id
    }

    pub fn table(&self, object: &str) -> impl Iterator<Item = &Map<String, Value>> {
        self.records
            .get(object)
            .into_iter()
            .flat_map(|t| t.values())
    }

    pub fn get(&self, object: &str, id: &str) -> Option<&Map<String, Value>> {
        self.records.get(object)?.get(id)
    }

    /// Which object an existing id belongs to.
    pub fn exists(&self, id: &str) -> Option<&'static str> {
        OBJECTS.into_iter().find(|o| self.get(o, id).is_some())
    }

    pub fn is_closed_status(&self, label: &str) -> bool {
        self.statuses
            .iter()
            .any(|s| s.label == label && s.is_closed)
    }

    fn default_status(&self) -> String {
        self.statuses
            .iter()
            .find(|s| s.is_default)
            .map(|s| s.label.clone())
            .unwrap_or_else(|| "New".into())
    }

    /// Validates `body` against `object`'s schema and writes it into `record`. `creating`
    /// fills defaults and audit fields; `user` is the session's user.
    pub fn save(
        &mut self,
        object: &'static str,
        record: &mut Map<String, Value>,
        body: &Map<String, Value>,
        creating: bool,
        user: &str,
    ) -> Result<(), SfError> {
        let mut clean = Map::new();
        let mut read_only = Vec::new();
        for (key, value) in body {
            if key == "attributes" {
                continue;
            }
            let Some(def) = self.field(object, key).cloned() else {
                return Err(SfError::bad(
                    "INVALID_FIELD",
                    format!("No such column '{key}' on sobject of type {object}"),
                    &[key],
                ));
            };
            if def.name == "Id" {
                return Err(SfError::bad(
                    "INVALID_FIELD",
                    "The Id field should not be specified in the sobject data.",
                    &[],
                ));
            }
            if !def.writable {
                read_only.push(def.name.clone());
                continue;
            }
            clean.insert(def.name.clone(), self.check_value(object, &def, value)?);
        }
        if !read_only.is_empty() {
            let names: Vec<&str> = read_only.iter().map(String::as_str).collect();
            return Err(SfError::bad(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    names.join(", ")
                ),
                &names,
            ));
        }
        self.check_unique(object, record.get("Id").and_then(Value::as_str), &clean)?;
        let now = sf_datetime(self.now());
        if creating {
            let id = self.new_id(object);
            for def in &self.schemas[object] {
                record.insert(def.name.clone(), Value::Null);
            }
            record.insert("Id".into(), id.into());
            record.insert("CreatedDate".into(), now.clone().into());
            record.insert("CreatedById".into(), user.into());
            record.insert("IsDeleted".into(), false.into());
            match object {
                "Case" => {
                    let n = self.next_case_number;
                    self.next_case_number += 1;
                    record.insert("CaseNumber".into(), format!("{n:08}").into());
                    record.insert("Status".into(), self.default_status().into());
                    record.insert("Priority".into(), "Medium".into());
                    record.insert("IsEscalated".into(), false.into());
                    record.insert("OwnerId".into(), user.into());
                }
                "CaseComment" => {
                    record.insert("IsPublished".into(), false.into());
                    if clean.get("ParentId").is_none_or(Value::is_null) {
                        return Err(SfError::bad(
                            "REQUIRED_FIELD_MISSING",
                            "Required fields are missing: [ParentId]",
                            &["ParentId"],
                        ));
                    }
                }
                _ => {}
            }
        }
        if object == "Case" && clean.get("OwnerId").is_some_and(Value::is_null) {
            return Err(SfError::bad(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [OwnerId]",
                &["OwnerId"],
            ));
        }
        for (k, v) in clean {
            record.insert(k, v);
        }
        record.insert("LastModifiedDate".into(), now.clone().into());
        record.insert("LastModifiedById".into(), user.into());
        record.insert("SystemModstamp".into(), now.clone().into());
        if object == "Case" {
            let label = record.get("Status").and_then(Value::as_str).unwrap_or("");
            let closed = self.is_closed_status(label);
            let was_closed = record
                .get("IsClosed")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            record.insert("IsClosed".into(), closed.into());
            if closed && !was_closed {
                record.insert("ClosedDate".into(), now.into());
            } else if !closed {
                record.insert("ClosedDate".into(), Value::Null);
            }
        }
        Ok(())
    }

    fn check_value(&self, object: &str, def: &FieldDef, value: &Value) -> Result<Value, SfError> {
        let name = def.name.as_str();
        if value.is_null() {
            return Ok(Value::Null);
        }
        let type_error = |expected: &str| {
            SfError::bad(
                "JSON_PARSER_ERROR",
                format!(
                    "Cannot deserialize instance of {expected} from {value} value for field {name}"
                ),
                &[name],
            )
        };
        match def.ty {
            Ty::Bool => value
                .as_bool()
                .map(Value::from)
                .ok_or_else(|| type_error("boolean")),
            Ty::Int => value
                .as_i64()
                .map(Value::from)
                .ok_or_else(|| type_error("int")),
            Ty::Date => {
                let s = value.as_str().ok_or_else(|| type_error("date"))?;
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                    SfError::bad(
                        "JSON_PARSER_ERROR",
                        format!("Cannot deserialize instance of date from VALUE_STRING value {s} or request may be missing a required field"),
                        &[name],
                    )
                })?;
                Ok(value.clone())
            }
            Ty::DateTime => {
                let s = value.as_str().ok_or_else(|| type_error("datetime"))?;
                let at = parse_datetime(s).ok_or_else(|| type_error("datetime"))?;
                Ok(sf_datetime(at).into())
            }
            Ty::Id | Ty::Reference => {
                let s = value.as_str().ok_or_else(|| type_error("reference"))?;
                if s.is_empty() {
                    return Ok(Value::Null);
                }
                let label = field_label(name);
                let id = normalize_id(s).ok_or_else(|| {
                    SfError::bad(
                        "MALFORMED_ID",
                        format!("{label}: id value of incorrect type: {s}"),
                        &[name],
                    )
                })?;
                let target = self.exists(&id);
                let ok = match (object, name) {
                    (_, "OwnerId") => matches!(target, Some("User" | "Group")),
                    ("CaseComment", "ParentId") | ("Case", "ParentId") => target == Some("Case"),
                    ("ContentVersion", "FirstPublishLocationId") => target.is_some(),
                    _ => true,
                };
                if !ok {
                    return Err(SfError::bad(
                        "INVALID_CROSS_REFERENCE_KEY",
                        format!("{label}: invalid cross reference id"),
                        &[name],
                    ));
                }
                Ok(id.into())
            }
            Ty::Text(_) | Ty::TextArea(_) | Ty::Picklist => {
                let s = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(type_error("string")),
                };
                if let Ty::Text(max) | Ty::TextArea(max) = def.ty
                    && s.chars().count() > max
                {
                    return Err(SfError::bad(
                        "STRING_TOO_LONG",
                        format!(
                            "{}: data value too large: {} (max length={max})",
                            field_label(name),
                            truncate(&s, 40)
                        ),
                        &[name],
                    ));
                }
                if let Some((values, true)) = &def.picklist
                    && !values.contains(&s)
                {
                    return Err(SfError::bad(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        format!(
                            "{}: bad value for restricted picklist field: {s}",
                            field_label(name)
                        ),
                        &[name],
                    ));
                }
                Ok(s.into())
            }
        }
    }

    /// Unique fields (external ids marked unique) must not repeat (case-insensitively).
    fn check_unique(
        &self,
        object: &str,
        self_id: Option<&str>,
        values: &Map<String, Value>,
    ) -> Result<(), SfError> {
        for (name, value) in values {
            let Some(def) = self.field(object, name) else {
                continue;
            };
            let Some(v) = value.as_str() else { continue };
            if !def.unique {
                continue;
            }
            let clash = self.table(object).find(|r| {
                r.get("Id").and_then(Value::as_str) != self_id
                    && r.get(name)
                        .and_then(Value::as_str)
                        .is_some_and(|o| o.eq_ignore_ascii_case(v))
            });
            if let Some(other) = clash {
                let other_id = other.get("Id").and_then(Value::as_str).unwrap_or("");
                return Err(SfError::bad(
                    "DUPLICATE_VALUE",
                    format!(
                        "duplicate value found: {name} duplicates value on record with id: {other_id}"
                    ),
                    &[name],
                ));
            }
        }
        Ok(())
    }
}

/// `OwnerId` -> `Owner ID`, as Salesforce names fields in messages.
fn field_label(name: &str) -> String {
    match name {
        "OwnerId" => "Owner ID".into(),
        "ParentId" => "Parent ID".into(),
        "Id" => "Case ID".into(),
        _ => name.trim_end_matches("__c").replace('_', " "),
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Answers `NOT_FOUND` for a record path.
pub fn not_found() -> SfError {
    SfError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
        &[],
    )
}

/// A record as the REST API returns it: `attributes` first, then the fields.
pub fn with_attributes(
    object: &str,
    version: &str,
    record: &Map<String, Value>,
    fields: Option<&[String]>,
) -> Value {
    let id = record.get("Id").and_then(Value::as_str).unwrap_or("");
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        json!({"type": object, "url": format!("/services/data/{version}/sobjects/{object}/{id}")}),
    );
    match fields {
        Some(fields) => {
            for f in fields {
                out.insert(f.clone(), record.get(f).cloned().unwrap_or(Value::Null));
            }
        }
        None => {
            for (k, v) in record {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}
#[cfg(test)]
mod tests;
