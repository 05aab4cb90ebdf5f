//! 代码 — closed sets of stored codes (states, kinds, results), each member with one stable code
//! and one Chinese label.
//!
//! [`code_enum!`](crate::code_enum) declares such a set as an enum: it serialises as its code,
//! decodes a stored code with `TryFrom<String>` (rows use sqlx's `try_from`, so a code this version
//! cannot read is a decoding fault, never a silent default), and lists its members for forms, filters
//! and the API description.

use std::fmt;

use crate::Rejection;

/// A closed set of codes: every member has one stored code and one Chinese label.
pub trait Code: Copy + Eq + fmt::Debug + 'static {
    /// What the set is called, in Chinese (`交接单状态`), for messages.
    const NAME: &'static str;
    /// Every member, in the order forms list them.
    const ALL: &'static [Self];
    /// The stable code, as stored and sent over the API.
    fn code(self) -> &'static str;
    /// The one Chinese label staff see.
    fn label(self) -> &'static str;
    /// The member with this code, if any (exact match).
    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.code() == code)
    }
    /// Decodes a code, or says in Chinese which codes are allowed.
    fn decode(code: &str) -> Result<Self, UnknownCode> {
        Self::from_code(code).ok_or_else(|| UnknownCode::of::<Self>(code))
    }
}

/// A code outside its set: a value a client sent, or a stored row this version cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}“{code}”无效：应为 {expected}")]
pub struct UnknownCode {
    /// The set's Chinese name.
    pub name: &'static str,
    /// The code that was given (shortened to 40 characters).
    pub code: String,
    /// The allowed codes with their labels, e.g. `open（办理中）、closed（已完成）`.
    pub expected: String,
}

impl UnknownCode {
    /// The error for `code`, which is not a member of `C`.
    pub fn of<C: Code>(code: &str) -> UnknownCode {
        UnknownCode {
            name: C::NAME,
            code: code.chars().take(40).collect(),
            expected: C::ALL
                .iter()
                .map(|c| format!("{}（{}）", c.code(), c.label()))
                .collect::<Vec<_>>()
                .join("、"),
        }
    }
}

impl Rejection for UnknownCode {
    fn code(&self) -> &'static str {
        "invalid_code"
    }
}

/// The label of a stored code of `C`, or the code itself for one this version does not know
/// (an entry written by a newer version: shown as written rather than hidden).
pub fn label_or_code<C: Code>(code: &str) -> String {
    C::from_code(code).map_or_else(|| code.to_owned(), |c| c.label().to_owned())
}

/// Declares a [`Code`] enum: `code_enum! { /// doc  pub enum Name: "中文名" { /// doc  A = ("a", "甲"), … } }`.
///
/// The enum gets `Debug, Clone, Copy, PartialEq, Eq, Hash`, serde as its code, `Display` (the
/// code), `FromStr` and `TryFrom<String>` (both [`UnknownCode`] on a stranger).
#[macro_export]
macro_rules! code_enum {
    (
        $(#[$m:meta])*
        $vis:vis enum $name:ident : $cn:literal {
            $( $(#[$vm:meta])* $variant:ident = ($code:literal, $label:literal) ),+ $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vm])* $variant ),+
        }

        impl $crate::code::Code for $name {
            const NAME: &'static str = $cn;
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl $name {
            /// The stable code, as stored and sent over the API.
            pub fn code(self) -> &'static str {
                <Self as $crate::code::Code>::code(self)
            }
            /// The one Chinese label staff see.
            pub fn label(self) -> &'static str {
                <Self as $crate::code::Code>::label(self)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::code::UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <Self as $crate::code::Code>::decode(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::code::UnknownCode;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                <Self as $crate::code::Code>::decode(&s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                <Self as $crate::code::Code>::decode(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::code_enum! {
        /// A test set.
        enum Light: "信号灯" {
            /// Go.
            Green = ("green", "绿灯"),
            /// Stop.
            Red = ("red", "红灯"),
        }
    }

    #[test]
    fn a_code_round_trips_and_a_stranger_is_refused_with_the_allowed_codes_in_chinese() {
        for l in Light::ALL {
            assert_eq!(Light::from_code(l.code()), Some(*l));
            assert_eq!(l.code().parse::<Light>(), Ok(*l));
            assert_eq!(
                serde_json::to_string(l).unwrap(),
                format!("\"{}\"", l.code())
            );
        }
        let e = Light::try_from("Green".to_owned()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "信号灯“Green”无效：应为 green（绿灯）、red（红灯）"
        );
        assert!(serde_json::from_str::<Light>("\"amber\"").is_err());
        assert_eq!(
            serde_json::from_str::<Light>("\"red\"").unwrap(),
            Light::Red
        );
        assert_eq!(Light::Red.label(), "红灯");
    }
}
