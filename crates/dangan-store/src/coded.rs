//! Decoding of stored codes into the domain's code enums ([`dangan_domain::code::Code`]).
//!
//! A non-null code column decodes with sqlx's `#[sqlx(try_from = "String")]` straight into the
//! enum. A nullable one (a handover line's result before receipt) decodes as
//! `Option<Coded<C>>`: sqlx's `try_from` cannot reach inside an `Option`. Either way a code this
//! version cannot read is a decoding error, never a silent default.

use dangan_domain::code::Code;
use sqlx::error::BoxDynError;

/// A stored code of the set `C`, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Coded<C>(pub C);

impl<C> Coded<C> {
    /// The code's member.
    pub fn into_inner(self) -> C {
        self.0
    }
}

impl<DB: sqlx::Database, C: Code> sqlx::Type<DB> for Coded<C>
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: sqlx::Database, C: Code> sqlx::Decode<'r, DB> for Coded<C>
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <String as sqlx::Decode<'r, DB>>::decode(value)?;
        Ok(Coded(C::decode(&s)?))
    }
}
