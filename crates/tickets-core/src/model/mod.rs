//! The ticket model: what a ticket is, what creates and changes one, and how lists are asked for.

mod attachment;
mod changes;
mod comment;
mod history;
mod new_ticket;
mod patch;
mod query;
mod ticket;

pub use attachment::{
    Attachment, AttachmentContent, ByteStream, Content, NewAttachment, NewAttachmentMeta,
    bytes_stream, check_size, guess_content_type,
};
pub use changes::{ChangeToken, Changes};
pub use comment::{Comment, NewComment};
pub use history::{HistoryAction, HistoryEntry};
pub use new_ticket::NewTicket;
pub use patch::{FieldChange, Patch, TicketPatch};
pub use query::{Cursor, Page, TicketQuery};
pub use ticket::{Ticket, TicketId, Value, normalize_tags, validate_subject};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;
    use chrono::Utc;

    fn ticket() -> Ticket {
        let mut t = Ticket::new("1", "memory", "Subject", Utc::now());
        t.assignee = Some("alice".into());
        t.description = "text".into();
        t
    }

    #[test]
    fn patch_keeps_what_it_does_not_name() {
        let mut t = ticket();
        let changes = TicketPatch::new().subject("Other").apply(&mut t);
        assert_eq!(t.subject, "Other");
        assert_eq!(t.assignee.as_deref(), Some("alice"));
        assert_eq!(t.description, "text");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "subject");
    }

    #[test]
    fn patch_clear_clears() {
        let mut t = ticket();
        let changes = TicketPatch::new()
            .clear_assignee()
            .clear_description()
            .apply(&mut t);
        assert_eq!(t.assignee, None);
        assert_eq!(t.description, "");
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn patch_rejects_blank_subject() {
        assert!(TicketPatch::new().subject("  ").validate().is_err());
        let mut p = TicketPatch::new();
        p.subject = Patch::Clear;
        assert!(p.validate().is_err());
        assert!(TicketPatch::new().subject("ok").validate().is_ok());
    }

    #[test]
    fn patch_serde_round_trip() {
        let p = TicketPatch::new()
            .subject("x")
            .clear_assignee()
            .custom_field("sev", 2);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"subject":{"set":"x"},"assignee":"clear","custom_fields":{"sev":{"set":2}}}"#
        );
        assert_eq!(serde_json::from_str::<TicketPatch>(&json).unwrap(), p);
    }

    #[test]
    fn ticket_id_from_number() {
        let id: TicketId = serde_json::from_str("1209000000000000").unwrap();
        assert_eq!(id.as_str(), "1209000000000000");
    }

    #[test]
    fn query_matches() {
        let mut t = ticket();
        t.tags = vec!["ops".into()];
        assert!(TicketQuery::new().tag("ops").text("SUBJ").matches(&t));
        assert!(!TicketQuery::new().tag("dev").matches(&t));
        assert!(!TicketQuery::new().status(Status::Closed).matches(&t));
        assert!(TicketQuery::new().page_size(0).validate().is_err());
    }

    #[test]
    fn new_ticket_validates() {
        assert!(NewTicket::new(" \t").validate().is_err());
        assert!(
            NewTicket::new("ok")
                .idempotency_key(" ")
                .validate()
                .is_err()
        );
        assert!(NewTicket::new("ok").validate().is_ok());
    }
}
