//! The conformance cases, each a plain `pub async fn(Ctx)`.

mod attachments;
mod concurrency;
mod crud;
mod lists;
mod statuses;

pub use attachments::{
    attachments_of_unknown_things_are_not_found, attachments_round_trip,
    delete_then_get_is_not_found, idempotent_attachment, too_large_attachment_is_refused,
};
pub use concurrency::{
    concurrent_comments, concurrent_creates, idempotent_comment, idempotent_create,
};
pub use crud::{
    assign_and_unassign, blank_subject_is_invalid_input, comments_in_order_with_author,
    create_get_round_trip, history_records_changes, partial_update_keeps_other_fields,
    stale_version_is_conflict, unknown_id_is_not_found,
};
pub use lists::{list_filters, list_rejects_bad_input, paging_has_no_gaps_or_duplicates};
pub use statuses::{lifecycle_shortcuts, status_moves_follow_workflow};

use tickets_core::Capabilities;

use crate::Case;

macro_rules! case {
    ($name:ident, $skip:expr) => {
        Case {
            name: stringify!($name),
            skip_reason: $skip,
            run: |ctx| Box::pin($name(ctx)),
        }
    };
}

fn always(_: &Capabilities) -> Option<&'static str> {
    None
}

/// Every case, in the order [`run`](crate::run) runs them.
pub const ALL: &[Case] = &[
    case!(create_get_round_trip, always),
    case!(unknown_id_is_not_found, always),
    case!(blank_subject_is_invalid_input, always),
    case!(partial_update_keeps_other_fields, always),
    case!(assign_and_unassign, always),
    case!(comments_in_order_with_author, always),
    case!(status_moves_follow_workflow, always),
    case!(lifecycle_shortcuts, always),
    case!(list_filters, always),
    case!(list_rejects_bad_input, always),
    case!(paging_has_no_gaps_or_duplicates, always),
    case!(concurrent_creates, always),
    case!(concurrent_comments, always),
    case!(idempotent_create, |c| (!c.idempotent_create)
        .then_some("no idempotent_create capability")),
    case!(idempotent_comment, |c| (!c.idempotent_comment)
        .then_some("no idempotent_comment capability")),
    case!(history_records_changes, |c| (!c.history)
        .then_some("no history capability")),
    case!(stale_version_is_conflict, |c| {
        (!c.optimistic_concurrency).then_some("no optimistic_concurrency capability")
    }),
    case!(attachments_round_trip, |c| (!c.attachments)
        .then_some("no attachments capability")),
    case!(attachments_of_unknown_things_are_not_found, |c| (!c
        .attachments)
        .then_some("no attachments capability")),
    case!(too_large_attachment_is_refused, |c| {
        if !c.attachments {
            Some("no attachments capability")
        } else if c.max_attachment_size == 0 || c.max_attachment_size > 64 * 1024 * 1024 {
            Some("no attachment size limit the suite can exceed cheaply")
        } else {
            None
        }
    }),
    case!(idempotent_attachment, |c| (!c.idempotent_attachment
        || !c.attachments)
        .then_some("no idempotent_attachment capability")),
    case!(delete_then_get_is_not_found, |c| (!c.delete)
        .then_some("no delete capability")),
];
