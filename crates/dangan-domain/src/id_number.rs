//! 公民身份号码 — the citizen identity number of GB 11643-1999, which is also the social-security
//! number (社会保障号码) of every insured person.
//!
//! An [`IdNumber`] can only be built through [`IdNumber::parse`], so holding one proves that the
//! number has 18 characters, a known province prefix, a real birth date that is not in the future
//! and a correct ISO 7064 MOD 11-2 check character. Legacy 15-digit numbers are converted.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::{Rejection, division};

/// Weights of the 17 body digits in the ISO 7064 MOD 11-2 check (GB 11643 §6.2).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of the weighted sum modulo 11.
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// 公民身份号码 — a validated 18-character citizen identity number, stored upper-case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber(String);

crate::code_enum! {
    /// 性别 — sex as encoded in the identity number's sequence digit (odd male, even female);
    /// stored as its code in the person row.
    pub enum Sex: "性别" {
        /// 男
        Male = ("male", "男"),
        /// 女
        Female = ("female", "女"),
    }
}

/// Why a string is not a valid identity number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Neither 18 characters (17 digits + digit or X) nor 15 digits.
    #[error("公民身份号码格式不正确：应为18位（前17位为数字，最后一位为数字或X）")]
    Malformed,
    /// The first two digits name no province.
    #[error("公民身份号码前两位“{0}”不是有效的省级行政区划代码，请核对")]
    UnknownProvince(String),
    /// The eight birth-date digits are not a real date.
    #[error("公民身份号码中的出生日期“{0}”不是有效日期，请核对")]
    InvalidBirthDate(String),
    /// The birth date lies after the reference date.
    #[error("公民身份号码中的出生日期{0}晚于今天，请核对")]
    BirthDateInFuture(NaiveDate),
    /// The last character does not match the ISO 7064 MOD 11-2 check.
    #[error("公民身份号码校验位不正确：按前17位计算，最后一位应为“{expected}”，请核对是否录入有误")]
    WrongCheckDigit {
        /// The check character the first 17 digits call for.
        expected: char,
    },
}

impl Rejection for IdNumberError {
    fn code(&self) -> &'static str {
        match self {
            IdNumberError::Malformed => "invalid_id_number",
            IdNumberError::UnknownProvince(_) => "invalid_id_number",
            IdNumberError::InvalidBirthDate(_) => "invalid_id_number",
            IdNumberError::BirthDateInFuture(_) => "id_number_birth_date_in_future",
            IdNumberError::WrongCheckDigit { .. } => "invalid_id_number",
        }
    }
}

/// The check character for 17 body digits (ASCII), per ISO 7064 MOD 11-2.
///
/// Panics in debug builds if `body` is not 17 ASCII digits; callers validate first.
pub fn check_char(body: &[u8]) -> char {
    debug_assert!(body.len() == 17 && body.iter().all(u8::is_ascii_digit));
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    char::from(CHECK_CHARS[(sum % 11) as usize])
}

impl IdNumber {
    /// Parses an identity number as typed by a person, checking it against `today` (the
    /// birth date must not be later). Surrounding white space is ignored, a lower-case `x` is
    /// accepted, and a legacy 15-digit number (born 19YY, no check character) is converted to
    /// its 18-character form.
    pub fn parse(input: &str, today: NaiveDate) -> Result<IdNumber, IdNumberError> {
        let s = input.trim();
        let upper = s.to_ascii_uppercase();
        let bytes = upper.as_bytes();
        let body: Vec<u8> = match bytes.len() {
            18 => {
                if !bytes[..17].iter().all(u8::is_ascii_digit)
                    || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
                {
                    return Err(IdNumberError::Malformed);
                }
                bytes[..17].to_vec()
            }
            15 => {
                if !bytes.iter().all(u8::is_ascii_digit) {
                    return Err(IdNumberError::Malformed);
                }
                // GB 11643-1999 §6: the 15-digit form has a two-digit year of the 1900s.
                let mut body = Vec::with_capacity(17);
                body.extend_from_slice(&bytes[..6]);
                body.extend_from_slice(b"19");
                body.extend_from_slice(&bytes[6..]);
                body
            }
            _ => return Err(IdNumberError::Malformed),
        };
        let province = std::str::from_utf8(&body[..2]).map_err(|_| IdNumberError::Malformed)?;
        // 81/82/83: residence permits of Hong Kong, Macao and Taiwan residents (港澳台居民居住证)
        // use the GB 11643 structure with these prefixes.
        if !division::is_known_province(province) && !matches!(province, "81" | "82" | "83") {
            return Err(IdNumberError::UnknownProvince(province.to_owned()));
        }
        let birth = birth_date_of(&body)?;
        if birth > today {
            return Err(IdNumberError::BirthDateInFuture(birth));
        }
        let expected = check_char(&body);
        if bytes.len() == 18 && char::from(bytes[17]) != expected {
            return Err(IdNumberError::WrongCheckDigit { expected });
        }
        let mut full = String::from_utf8(body).map_err(|_| IdNumberError::Malformed)?;
        full.push(expected);
        Ok(IdNumber(full))
    }

    /// Reads a number as stored: 18 characters, checked when it was entered. The structure, the
    /// province and the check character are checked again (a row this version cannot read is a
    /// fault, never taken for a number); the birth date only against the calendar, as the day it
    /// was entered is not known here.
    pub fn from_stored(s: &str) -> Result<IdNumber, IdNumberError> {
        if s.len() != 18 || s.trim() != s {
            return Err(IdNumberError::Malformed);
        }
        let n = IdNumber::parse(s, NaiveDate::MAX)?;
        if n.0 != s {
            return Err(IdNumberError::Malformed);
        }
        Ok(n)
    }

    /// The number as stored: 18 characters, check character upper-case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date encoded in characters 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        // Checked in `parse`, so this cannot fail for a constructed value.
        birth_date_of(self.0.as_bytes()).unwrap_or(NaiveDate::MIN)
    }

    /// The sex encoded in the sequence digit (character 17): odd male, even female.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Age in whole years at `on` (the birthday itself counts as the new year of age).
    pub fn age_at(&self, on: NaiveDate) -> i32 {
        let b = self.birth_date();
        let mut age = on.year() - b.year();
        if (on.month(), on.day()) < (b.month(), b.day()) {
            age -= 1;
        }
        age
    }

    /// The address code (first six digits): the county of household registration when the
    /// number was issued, which may be a code that no longer exists.
    pub fn address_code(&self) -> &str {
        &self.0[..6]
    }

    /// The masked form shown in lists and logs: `110105***********X` (the address code and the
    /// check character).
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks any identity-number-like string: keeps the first six characters (the address code)
/// and the last one (the check character). Strings too short to mask meaningfully are replaced
/// entirely by asterisks.
///
/// Why so much is hidden: the mask is shown in every list, and a clerk may search by exact
/// number. With the old mask (first six and last four) the birth date was the only unknown —
/// about 36 500 dates, one in eleven of which fits the check character, some 3 300 candidates
/// — and 764 exact searches recovered a number. Hiding the sequence number too leaves ≈ 1.7 million candidates per
/// masked number (`docs/domain-decisions.md`), against 30 exact searches per 10 minutes.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 11 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < 6 || i + 1 == n { *c } else { '*' })
        .collect()
}

fn birth_date_of(body: &[u8]) -> Result<NaiveDate, IdNumberError> {
    let digits = std::str::from_utf8(&body[6..14]).map_err(|_| IdNumberError::Malformed)?;
    let invalid = || IdNumberError::InvalidBirthDate(digits.to_owned());
    let year: i32 = digits[..4].parse().map_err(|_| invalid())?;
    let month: u32 = digits[4..6].parse().map_err(|_| invalid())?;
    let day: u32 = digits[6..8].parse().map_err(|_| invalid())?;
    if year < 1850 {
        return Err(invalid());
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(invalid)
}

impl fmt::Display for IdNumber {
    /// Displays the masked form, so that a stray `{}` never prints a whole number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for IdNumber {
    /// Debug output is masked too: identity numbers are never logged in full.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl TryFrom<String> for IdNumber {
    type Error = IdNumberError;
    /// Decodes a stored number ([`IdNumber::from_stored`]).
    fn try_from(s: String) -> Result<IdNumber, IdNumberError> {
        IdNumber::from_stored(&s)
    }
}

impl Serialize for IdNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn the_standard_examples_are_valid() {
        for s in [
            "11010519491231002X",
            "440524188001010014",
            "53010219200508011X",
        ] {
            assert_eq!(IdNumber::parse(s, today()).unwrap().as_str(), s);
        }
    }

    #[test]
    fn a_lowercase_x_is_accepted_and_stored_uppercase() {
        let id = IdNumber::parse(" 11010519491231002x ", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn a_wrong_check_digit_is_rejected_and_names_the_right_one() {
        let err = IdNumber::parse("110105194912310021", today()).unwrap_err();
        assert_eq!(err, IdNumberError::WrongCheckDigit { expected: 'X' });
        assert_eq!(err.code(), "invalid_id_number");
        assert!(err.to_string().contains("校验位"));
    }

    #[test]
    fn a_birth_date_in_the_future_is_rejected() {
        let body = b"11010520300101001";
        let mut s = String::from_utf8(body.to_vec()).unwrap();
        s.push(check_char(body));
        let err = IdNumber::parse(&s, today()).unwrap_err();
        assert!(matches!(err, IdNumberError::BirthDateInFuture(_)));
        assert_eq!(err.code(), "id_number_birth_date_in_future");
    }

    #[test]
    fn an_impossible_birth_date_is_rejected() {
        let body = b"11010519490230002";
        let mut s = String::from_utf8(body.to_vec()).unwrap();
        s.push(check_char(body));
        assert!(matches!(
            IdNumber::parse(&s, today()),
            Err(IdNumberError::InvalidBirthDate(_))
        ));
    }

    #[test]
    fn an_unknown_province_prefix_is_rejected() {
        let body = b"99010519491231002";
        let mut s = String::from_utf8(body.to_vec()).unwrap();
        s.push(check_char(body));
        assert!(matches!(
            IdNumber::parse(&s, today()),
            Err(IdNumberError::UnknownProvince(_))
        ));
    }

    #[test]
    fn a_legacy_fifteen_digit_number_is_converted() {
        // 110105491231002 → 11010519491231002X
        let id = IdNumber::parse("110105491231002", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn a_stored_number_is_read_back_only_in_its_stored_form() {
        let n = IdNumber::parse("11010519491231002x", today()).unwrap();
        assert_eq!(IdNumber::from_stored(n.as_str()), Ok(n.clone()));
        assert!(IdNumber::from_stored("11010519491231002x").is_err());
        assert!(IdNumber::from_stored("110105491231002").is_err());
        assert!(IdNumber::from_stored("110105194912310021").is_err());
    }

    #[test]
    fn birth_date_sex_and_age_are_derived() {
        let id = IdNumber::parse("11010519491231002X", today()).unwrap();
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(
            id.age_at(NaiveDate::from_ymd_opt(2009, 12, 30).unwrap()),
            59
        );
        assert_eq!(
            id.age_at(NaiveDate::from_ymd_opt(2009, 12, 31).unwrap()),
            60
        );
        let man = IdNumber::parse("440524188001010014", today()).unwrap();
        assert_eq!(man.sex(), Sex::Male);
    }

    #[test]
    fn display_and_debug_never_show_the_whole_number() {
        let id = IdNumber::parse("11010519491231002X", today()).unwrap();
        assert_eq!(id.to_string(), "110105***********X");
        assert!(!format!("{id:?}").contains("19491231"));
        assert!(
            !format!("{id:?}").contains("002"),
            "the sequence number is hidden too"
        );
    }

    #[test]
    fn a_masked_number_with_its_sex_shown_still_fits_over_a_million_numbers() {
        // What a clerk sees in a list: `110105***********X` and 女. Every number of a person
        // born in the last hundred years that fits both is a candidate for an exact search.
        // Counted over one four-year leap cycle (1946–1949), times 25.
        let id = IdNumber::parse("11010519491231002X", today()).unwrap();
        let masked = id.masked();
        let mut candidates = 0u32;
        let mut birth = NaiveDate::from_ymd_opt(1946, 1, 1).unwrap();
        let mut body = [0u8; 17];
        body[..6].copy_from_slice(&masked.as_bytes()[..6]);
        while birth.year() < 1950 {
            body[6..14].copy_from_slice(birth.format("%Y%m%d").to_string().as_bytes());
            // An even sequence number is a woman's.
            for seq in (0..1000u16).step_by(2) {
                body[14..].copy_from_slice(&[
                    b'0' + (seq / 100) as u8,
                    b'0' + (seq / 10 % 10) as u8,
                    b'0' + (seq % 10) as u8,
                ]);
                if check_char(&body) == 'X' {
                    candidates += 1;
                }
            }
            birth = birth.succ_opt().unwrap();
        }
        let century = candidates * 25;
        assert!(century > 1_000_000, "{century} candidates");
        assert!(masked.ends_with('X') && masked[6..17].chars().all(|c| c == '*'));
    }

    #[test]
    fn malformed_inputs_are_rejected() {
        for s in [
            "",
            "1101051949123100",
            "11010519491231002Y",
            "1101051949123100X2",
            "ＡＢＣ",
        ] {
            assert_eq!(
                IdNumber::parse(s, today()).unwrap_err(),
                IdNumberError::Malformed,
                "{s}"
            );
        }
    }

    proptest! {
        #[test]
        fn parsing_any_string_never_panics(s in "\\PC{0,24}") {
            let _ = IdNumber::parse(&s, today());
        }

        #[test]
        fn every_generated_number_with_its_check_char_parses_back(
            days in 0i64..40_000, seq in 0u32..1000
        ) {
            let birth = NaiveDate::from_ymd_opt(1910, 1, 1).unwrap() + chrono::Duration::days(days);
            prop_assume!(birth <= today());
            let body = format!("110105{}{:03}", birth.format("%Y%m%d"), seq);
            let mut s = body.clone();
            s.push(check_char(body.as_bytes()));
            let id = IdNumber::parse(&s, today()).unwrap();
            prop_assert_eq!(id.birth_date(), birth);
            prop_assert_eq!(id.as_str(), s.as_str());
        }

        #[test]
        fn changing_one_digit_of_a_valid_number_is_detected(pos in 0usize..17, delta in 1u8..10) {
            let valid = b"11010519491231002X";
            let mut bytes = valid.to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let s = String::from_utf8(bytes).unwrap();
            // MOD 11-2 detects every single-digit substitution.
            prop_assert!(IdNumber::parse(&s, today()).is_err());
        }
    }
}
