//! The fake org's schema: field types, the standard objects' fields, custom fields.

use std::collections::HashMap;

use super::state::Org;

/// A field's type, as far as the fake needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// An 18-char record id (the `Id` field).
    Id,
    /// A lookup to another record.
    Reference,
    /// Text up to `n` characters; filterable.
    Text(usize),
    /// Long text up to `n` characters; not filterable.
    TextArea(usize),
    /// A picklist; restricted ones reject values not in the list.
    Picklist,
    /// A checkbox.
    Bool,
    /// A date-time, `2024-01-15T10:20:30.000+0000`.
    DateTime,
    /// A date, `2024-01-15`.
    Date,
    /// A whole number.
    Int,
}

/// One field of an sObject.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub ty: Ty,
    pub writable: bool,
    pub custom: bool,
    pub external_id: bool,
    pub unique: bool,
    /// Picklist values and whether the list is restricted.
    pub picklist: Option<(Vec<String>, bool)>,
}

impl FieldDef {
    pub(super) fn new(name: &str, ty: Ty, writable: bool) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            writable,
            custom: name.ends_with("__c"),
            external_id: false,
            unique: false,
            picklist: None,
        }
    }

    pub fn filterable(&self) -> bool {
        !matches!(self.ty, Ty::TextArea(_))
    }

    pub(super) fn picklist(mut self, values: &[&str], restricted: bool) -> Self {
        self.picklist = Some((values.iter().map(|v| v.to_string()).collect(), restricted));
        self
    }
}

/// A `CaseStatus` row.
#[derive(Debug, Clone)]
pub struct CaseStatus {
    pub label: String,
    pub is_closed: bool,
    pub is_default: bool,
}

impl Org {
    /// (Re)builds the schemas; `custom` are extra Case fields.
    pub fn build_schemas(&mut self, custom: &[FieldDef]) {
        let labels: Vec<String> = self.statuses.iter().map(|s| s.label.clone()).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let audit = |v: &mut Vec<FieldDef>| {
            for (n, ty) in [
                ("CreatedDate", Ty::DateTime),
                ("CreatedById", Ty::Reference),
                ("LastModifiedDate", Ty::DateTime),
                ("LastModifiedById", Ty::Reference),
                ("SystemModstamp", Ty::DateTime),
                ("IsDeleted", Ty::Bool),
            ] {
                v.push(FieldDef::new(n, ty, false));
            }
        };
        let mut case = vec![
            FieldDef::new("Id", Ty::Id, false),
            FieldDef::new("CaseNumber", Ty::Text(30), false),
            FieldDef::new("Subject", Ty::Text(255), true),
            FieldDef::new("Description", Ty::TextArea(32000), true),
            FieldDef::new("Status", Ty::Picklist, true).picklist(&labels, true),
            FieldDef::new("Priority", Ty::Picklist, true)
                .picklist(&["High", "Medium", "Low"], true),
            FieldDef::new("Origin", Ty::Picklist, true).picklist(&["Phone", "Email", "Web"], true),
            FieldDef::new("Type", Ty::Picklist, true).picklist(
                &[
                    "Mechanical",
                    "Electrical",
                    "Electronic",
                    "Structural",
                    "Other",
                ],
                false,
            ),
            FieldDef::new("Reason", Ty::Picklist, true).picklist(
                &[
                    "Installation",
                    "Equipment Complexity",
                    "Performance",
                    "Breakdown",
                    "Equipment Design",
                    "Feedback",
                    "Other",
                ],
                false,
            ),
            FieldDef::new("OwnerId", Ty::Reference, true),
            FieldDef::new("ContactId", Ty::Reference, true),
            FieldDef::new("AccountId", Ty::Reference, true),
            FieldDef::new("ParentId", Ty::Reference, true),
            FieldDef::new("IsClosed", Ty::Bool, false),
            FieldDef::new("IsEscalated", Ty::Bool, true),
            FieldDef::new("ClosedDate", Ty::DateTime, false),
            FieldDef::new("SuppliedName", Ty::Text(80), true),
            FieldDef::new("SuppliedEmail", Ty::Text(80), true),
            FieldDef::new("SuppliedPhone", Ty::Text(40), true),
            FieldDef::new("SuppliedCompany", Ty::Text(80), true),
        ];
        audit(&mut case);
        case.extend(custom.iter().cloned());
        let mut comment = vec![
            FieldDef::new("Id", Ty::Id, false),
            FieldDef::new("ParentId", Ty::Reference, true),
            FieldDef::new("CommentBody", Ty::TextArea(4000), true),
            FieldDef::new("IsPublished", Ty::Bool, true),
        ];
        audit(&mut comment);
        let user = vec![
            FieldDef::new("Id", Ty::Id, false),
            FieldDef::new("Username", Ty::Text(80), true),
            FieldDef::new("Email", Ty::Text(128), true),
            FieldDef::new("Name", Ty::Text(121), false),
            FieldDef::new("FirstName", Ty::Text(40), true),
            FieldDef::new("LastName", Ty::Text(80), true),
            FieldDef::new("IsActive", Ty::Bool, true),
        ];
        let group = vec![
            FieldDef::new("Id", Ty::Id, false),
            FieldDef::new("Name", Ty::Text(40), true),
            FieldDef::new("DeveloperName", Ty::Text(80), true),
            FieldDef::new("Type", Ty::Text(40), true),
        ];
        let case_status = vec![
            FieldDef::new("Id", Ty::Id, false),
            FieldDef::new("MasterLabel", Ty::Text(255), false),
            FieldDef::new("ApiName", Ty::Text(255), false),
            FieldDef::new("IsClosed", Ty::Bool, false),
            FieldDef::new("IsDefault", Ty::Bool, false),
        ];
        let mut version = vec![
            FieldDef::new("Id", Ty::Id, false),
            FieldDef::new("ContentDocumentId", Ty::Reference, false),
            FieldDef::new("Title", Ty::Text(255), true),
            FieldDef::new("PathOnClient", Ty::Text(500), true),
            FieldDef::new("Description", Ty::TextArea(1000), true),
            FieldDef::new("ReasonForChange", Ty::Text(1000), true),
            FieldDef::new("FirstPublishLocationId", Ty::Reference, true),
            // Written as base64 on create; reads back as the URL of its content.
            FieldDef::new("VersionData", Ty::Text(255), false),
            FieldDef::new("ContentSize", Ty::Int, false),
            FieldDef::new("FileType", Ty::Text(20), false),
            FieldDef::new("FileExtension", Ty::Text(40), false),
            FieldDef::new("VersionNumber", Ty::Text(20), false),
            FieldDef::new("IsLatest", Ty::Bool, false),
            FieldDef::new("OwnerId", Ty::Reference, false),
        ];
        audit(&mut version);
        let mut document = vec![
            FieldDef::new("Id", Ty::Id, false),
            FieldDef::new("Title", Ty::Text(255), false),
            FieldDef::new("LatestPublishedVersionId", Ty::Reference, false),
            FieldDef::new("ContentSize", Ty::Int, false),
            FieldDef::new("FileType", Ty::Text(20), false),
            FieldDef::new("FileExtension", Ty::Text(40), false),
            FieldDef::new("OwnerId", Ty::Reference, false),
        ];
        audit(&mut document);
        let link = vec![
            FieldDef::new("Id", Ty::Id, false),
            FieldDef::new("LinkedEntityId", Ty::Reference, false),
            FieldDef::new("ContentDocumentId", Ty::Reference, false),
            FieldDef::new("ShareType", Ty::Text(1), false),
            FieldDef::new("Visibility", Ty::Text(20), false),
            FieldDef::new("SystemModstamp", Ty::DateTime, false),
            FieldDef::new("IsDeleted", Ty::Bool, false),
        ];
        self.schemas = HashMap::from([
            ("ContentVersion", version),
            ("ContentDocument", document),
            ("ContentDocumentLink", link),
            ("Case", case),
            ("CaseComment", comment),
            ("User", user),
            ("Group", group),
            ("CaseStatus", case_status),
        ]);
    }
}

pub(super) fn status(label: &str, is_closed: bool, is_default: bool) -> CaseStatus {
    CaseStatus {
        label: label.into(),
        is_closed,
        is_default,
    }
}

/// A custom text field definition (for options and seeds).
pub fn custom_text(name: &str, len: usize, external_id: bool, unique: bool) -> FieldDef {
    let mut def = FieldDef::new(name, Ty::Text(len), true);
    def.custom = true;
    def.external_id = external_id;
    def.unique = unique;
    def
}

/// A custom field of another type.
pub fn custom_field(name: &str, ty: Ty, picklist: Option<&[&str]>) -> FieldDef {
    let mut def = FieldDef::new(name, ty, true);
    def.custom = true;
    if let Some(values) = picklist {
        def = def.picklist(values, true);
    }
    def
}
