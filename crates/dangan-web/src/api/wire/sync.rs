//! A record of a batch refused, and why (contributions, benefits, person changes).

use serde::Serialize;

/// A record refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reject {
    /// Its position in the batch (from 0).
    pub index: usize,
    /// Its source id as sent.
    pub source_id: String,
    /// The field at fault.
    pub field: String,
    /// Stable code.
    pub code: String,
    /// Why, in Chinese.
    pub message: String,
}

impl From<dangan_app::integration::sync::Reject> for Reject {
    fn from(r: dangan_app::integration::sync::Reject) -> Reject {
        Reject {
            index: r.index,
            source_id: r.source_id,
            field: r.field,
            code: r.code.to_string(),
            message: r.message,
        }
    }
}
