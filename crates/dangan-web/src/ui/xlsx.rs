//! Excel (.xlsx) export of the lists staff work from: one sheet per list, Chinese headers in
//! bold, the header row frozen and filterable, identity numbers only ever masked (the lists
//! carry nothing else), times in Beijing time. Every export is logged (`App::log_export`).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook};

use dangan_app::{Actor, AppError};

use crate::extract::AppState;

/// One sheet: its name, its column headers and its rows (text cells).
pub struct Sheet {
    /// The sheet's tab name (at most 31 characters).
    pub name: &'static str,
    /// Column headers, in Chinese.
    pub headers: Vec<&'static str>,
    /// The rows, each as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

/// The most rows one export writes (a list longer than this is cut, and says so).
pub const MAX_ROWS: usize = 100_000;

/// The width of a column in Excel's character units: CJK characters count double.
fn width(text: &str) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 1.0 } else { 2.1 })
        .sum::<f64>()
}

/// The workbook's bytes.
pub fn workbook(sheets: &[Sheet]) -> Result<Vec<u8>, AppError> {
    let fail = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for s in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(s.name).map_err(fail)?;
        let mut widths: Vec<f64> = s.headers.iter().map(|h| width(h)).collect();
        for (col, h) in s.headers.iter().enumerate() {
            sheet
                .write_string_with_format(0, col as u16, *h, &bold)
                .map_err(fail)?;
        }
        for (i, row) in s.rows.iter().take(MAX_ROWS).enumerate() {
            for (col, cell) in row.iter().enumerate() {
                sheet
                    .write_string(i as u32 + 1, col as u16, cell)
                    .map_err(fail)?;
                if let Some(w) = widths.get_mut(col) {
                    *w = w.max(width(cell));
                }
            }
        }
        for (col, w) in widths.iter().enumerate() {
            sheet
                .set_column_width(col as u16, (w + 2.0).min(60.0))
                .map_err(fail)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(fail)?;
        let last_row = s.rows.len().min(MAX_ROWS) as u32;
        if !s.headers.is_empty() {
            sheet
                .autofilter(0, 0, last_row, s.headers.len() as u16 - 1)
                .map_err(fail)?;
        }
    }
    book.save_to_buffer().map_err(fail)
}

/// The download of `sheets` as `{stem}-{Beijing date}.xlsx`, logged as an export of `list` by
/// `actor` (the first sheet's rows counted).
pub async fn download(
    app: &AppState,
    actor: &Actor,
    list: &str,
    stem: &str,
    sheets: &[Sheet],
) -> Result<Response, AppError> {
    let bytes = workbook(sheets)?;
    let rows = sheets.first().map_or(0, |s| s.rows.len().min(MAX_ROWS));
    app.log_export(actor, list, rows).await?;
    let name = format!("{stem}-{}.xlsx", dangan_app::today());
    // RFC 6266/5987: a plain ASCII fallback and the Chinese name percent-encoded.
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"export-{}.xlsx\"; filename*=UTF-8''{encoded}",
        dangan_app::today()
    );
    let mut r = (
        [(
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )],
        bytes,
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition)
            .map_err(|e| AppError::Internal(format!("disposition: {e}")))?,
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workbook_is_a_zip_with_the_sheet_and_counts_chinese_wider() {
        let bytes = workbook(&[Sheet {
            name: "参保人",
            headers: vec!["姓名", "公民身份号码"],
            rows: vec![vec!["张三".into(), "110105***********X".into()]],
        }])
        .unwrap();
        assert_eq!(&bytes[..2], b"PK");
        assert!(width("张三") > width("ab"));
    }
}
