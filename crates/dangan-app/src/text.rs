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

/// An optional code filter (a state, a post …): blank is none; a code outside the set `C` is
/// refused with the error `code` on `field`, its message listing the allowed codes in Chinese.
pub(crate) fn code_filter<C: dangan_domain::code::Code>(
    field: &str,
    code: &'static str,
    value: Option<&str>,
) -> AppResult<Option<C>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => C::decode(v)
            .map(Some)
            .map_err(|e| AppError::invalid_with(code, Some(field), e.to_string())),
    }
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

/// `text` with every identity number in it (18 characters: 17 digits and a digit or `X`; or the
/// old 15 digits) masked by [`dangan_domain::id_number::mask`]: scan names follow S6.1
/// (`年度-业务类型-参保人ID-材料名称.ext`) and carry the full number, which a list, a title or
/// the viewer must not show.
pub(crate) fn mask_id_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i - start == 17 && i < chars.len() && matches!(chars[i], 'X' | 'x') {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        if matches!(i - start, 15 | 18) {
            out.push_str(&dangan_domain::id_number::mask(&run));
        } else {
            out.push_str(&run);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mask_id_numbers;
    use dangan_domain::id_number::mask;

    #[test]
    fn identity_numbers_in_a_scan_name_are_masked_and_nothing_else_changes() {
        let name = "2024-参保登记-11010519491231002X-参保登记表.pdf";
        assert_eq!(
            mask_id_numbers(name),
            format!(
                "2024-参保登记-{}-参保登记表.pdf",
                mask("11010519491231002X")
            )
        );
        assert!(!mask_id_numbers(name).contains("19491231"));
        assert_eq!(
            mask_id_numbers("a430321198001010027b.png"),
            format!("a{}b.png", mask("430321198001010027"))
        );
        assert_eq!(
            mask_id_numbers("old 110105491231002 x"),
            format!("old {} x", mask("110105491231002"))
        );
        for plain in [
            "参保登记表.png",
            "scan-0-12.tif",
            "2024-05-06 12345678901234567890.pdf",
        ] {
            assert_eq!(mask_id_numbers(plain), plain);
        }
    }
}
