//! Free-text fields (notes, explanations, names of people contacted): trimmed, bounded, no
//! control characters — one rule for every use-case.

use crate::{AppError, AppResult};

/// A required text of at most `max` characters; `label` names it in the Chinese message.
pub(crate) fn required(field: &str, s: &str, max: usize, label: &str) -> AppResult<String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(AppError::invalid_with(
            "invalid_text",
            Some(field),
            format!("请填写{label}（不超过{max}个字，不能含控制字符）"),
        ));
    }
    Ok(t.to_owned())
}

/// An optional text: blank becomes `None`; otherwise as [`required`].
pub(crate) fn optional(
    field: &str,
    s: Option<&str>,
    max: usize,
    label: &str,
) -> AppResult<Option<String>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(t) if t.chars().count() > max || t.chars().any(char::is_control) => {
            Err(AppError::invalid_with(
                "invalid_text",
                Some(field),
                format!("{label}不能超过{max}个字，且不能含控制字符"),
            ))
        }
        Some(t) => Ok(Some(t.to_owned())),
    }
}
