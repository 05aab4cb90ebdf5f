//! Row ids as they travel: an integer, with one schema per table (as the store's id newtypes
//! are one type per table), so that the description says which record an id names.

use serde::Serialize;

/// Declares the wire form of a row id.
macro_rules! wire_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);
    };
}

wire_id!(
    /// The row id of an account request.
    AccountRequestId
);
wire_id!(
    /// The row id of a business event.
    EventId
);
wire_id!(
    /// The row id of a file.
    FileId
);
wire_id!(
    /// The row id of a handover list.
    HandoverId
);
wire_id!(
    /// The row id of a material item.
    MaterialId
);
wire_id!(
    /// The row id of an outbox item.
    OutboxId
);
wire_id!(
    /// The row id of an insured person.
    PersonId
);
wire_id!(
    /// The row id of a query registration.
    QueryId
);
wire_id!(
    /// The row id of a supplement request.
    SupplementId
);
wire_id!(
    /// The row id of a task.
    TaskId
);
wire_id!(
    /// The row id of an API token.
    TokenId
);
wire_id!(
    /// The row id of a user.
    UserId
);
wire_id!(
    /// The row id of a volume.
    VolumeId
);
