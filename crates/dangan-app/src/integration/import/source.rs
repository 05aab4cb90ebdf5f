//! Reading an import file row by row with the byte offset and line of every row in the file
//! itself, so that a checkpoint can say where to go on.
//!
//! CSV is split into records on the raw bytes and each cell is decoded afterwards: in GB18030, as
//! in UTF-8, no byte of a multi-byte character is ever `,`, `"`, CR or LF, so the split is the same
//! and offsets stay those of the file. JSON Lines are split on LF the same way.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::columns::{self, Cells, ColumnMap};
use super::{ImportFormat, ImportKind, TextEncoding};
use crate::adapters::encodings;
use crate::{AppError, AppResult};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How many leading bytes identify a file, with its size.
const HEAD_LEN: u64 = 64 * 1024;

/// Size and SHA-256 of the first 64 KiB: enough to tell a different or edited file from the one
/// a checkpoint was written for, without reading the whole file again.
pub(crate) fn fingerprint(path: &Path) -> io::Result<(u64, String)> {
    let mut f = File::open(path)?;
    let size = f.metadata()?.len();
    let mut head = Vec::with_capacity(HEAD_LEN as usize);
    f.by_ref().take(HEAD_LEN).read_to_end(&mut head)?;
    Ok((size, hex::encode(Sha256::digest(&head))))
}

/// Decodes one cell or line; `None` when the bytes are not valid in the encoding.
fn decode(bytes: &[u8], enc: TextEncoding) -> Option<String> {
    match enc {
        TextEncoding::Utf8 => std::str::from_utf8(bytes).ok().map(str::to_owned),
        TextEncoding::Gb18030 => encodings::decode_gb18030(bytes),
    }
}

fn bad_encoding(enc: TextEncoding) -> AppError {
    AppError::invalid_with(
        "invalid_encoding",
        None,
        match enc {
            TextEncoding::Utf8 => {
                "本行含有不是 UTF-8 的字节；文件若是 GBK/GB18030 编码，请用 --encoding gb18030"
            }
            TextEncoding::Gb18030 => {
                "本行含有不是 GB18030 的字节；文件若是 UTF-8 编码，请用 --encoding utf-8"
            }
        },
    )
}

/// Where the reader is: the byte offset and line of the next row, and the CSV record count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    /// Byte offset in the file.
    pub byte: u64,
    /// Line number where the next row starts (the header is line 1).
    pub line: u64,
    /// CSV records read, the header included.
    pub record: u64,
}

/// One data row as read.
#[derive(Debug)]
pub(crate) struct RawRow {
    /// Line number in the file where the row starts.
    pub line: u64,
    /// The cells, or why the row cannot be read.
    pub cells: AppResult<Cells>,
}

/// The rows of an import file.
pub(crate) enum Source {
    /// CSV with a header row.
    Csv {
        /// The reader.
        rdr: Box<csv::Reader<File>>,
        /// Header → field.
        map: ColumnMap,
        /// The file's encoding.
        enc: TextEncoding,
        /// The kind.
        kind: ImportKind,
        /// Reused record buffer.
        record: csv::ByteRecord,
    },
    /// One JSON object a line.
    Jsonl {
        /// The reader.
        rdr: BufReader<File>,
        /// Where it is.
        pos: Position,
        /// The file's encoding.
        enc: TextEncoding,
        /// The kind.
        kind: ImportKind,
        /// Reused line buffer.
        buf: Vec<u8>,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Source")
    }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> AppError {
    AppError::invalid_with(
        "file_unreadable",
        None,
        format!("无法读取 {}：{e}", path.display()),
    )
}

impl Source {
    /// Opens a file, reads and maps a CSV header, and goes to `from` (a checkpoint) if given.
    pub(crate) fn open(
        path: &Path,
        kind: ImportKind,
        format: ImportFormat,
        enc: TextEncoding,
        from: Option<Position>,
    ) -> AppResult<Source> {
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        match format {
            ImportFormat::Csv => {
                // LF alone ends a record (a CR before it is trimmed off the last cell): with the
                // default CRLF handling the LF would be left for the next record, which would
                // then start on the line before its own.
                let mut rdr = csv::ReaderBuilder::new()
                    .terminator(csv::Terminator::Any(b'\n'))
                    .has_headers(true)
                    .flexible(true)
                    .buffer_capacity(1 << 18)
                    .from_reader(file);
                let raw = rdr.byte_headers().map_err(|e| io_error(path, e))?.clone();
                let mut headers = Vec::with_capacity(raw.len());
                for (i, h) in raw.iter().enumerate() {
                    let h = if i == 0 {
                        h.strip_prefix(UTF8_BOM).unwrap_or(h)
                    } else {
                        h
                    };
                    headers.push(decode(h, enc).ok_or_else(|| {
                        AppError::invalid_with(
                            "invalid_encoding",
                            None,
                            format!("表头不是 {} 编码，请用 --encoding 指定", enc.label()),
                        )
                    })?);
                }
                if headers.iter().all(|h| h.trim().is_empty()) {
                    return Err(AppError::invalid_with(
                        "missing_header",
                        None,
                        "文件为空或第1行不是表头",
                    ));
                }
                let map = columns::map_headers(kind, &headers)?;
                if let Some(p) = from {
                    let mut pos = csv::Position::new();
                    pos.set_byte(p.byte).set_line(p.line).set_record(p.record);
                    rdr.seek(pos).map_err(|e| io_error(path, e))?;
                }
                Ok(Source::Csv {
                    rdr: Box::new(rdr),
                    map,
                    enc,
                    kind,
                    record: csv::ByteRecord::new(),
                })
            }
            ImportFormat::Jsonl => {
                let mut rdr = BufReader::with_capacity(1 << 18, file);
                let pos = from.unwrap_or(Position {
                    byte: 0,
                    line: 1,
                    record: 0,
                });
                rdr.seek(SeekFrom::Start(pos.byte))
                    .map_err(|e| io_error(path, e))?;
                Ok(Source::Jsonl {
                    rdr,
                    pos,
                    enc,
                    kind,
                    buf: Vec::new(),
                })
            }
        }
    }

    /// Headers that name no field.
    pub(crate) fn ignored_columns(&self) -> &[String] {
        match self {
            Source::Csv { map, .. } => &map.ignored,
            Source::Jsonl { .. } => &[],
        }
    }

    /// Where the next row starts.
    pub(crate) fn position(&self) -> Position {
        match self {
            Source::Csv { rdr, .. } => {
                let p = rdr.position();
                Position {
                    byte: p.byte(),
                    line: p.line(),
                    record: p.record(),
                }
            }
            Source::Jsonl { pos, .. } => *pos,
        }
    }

    /// The next row, `None` at the end. Blank lines (and lines of empty cells) are not rows.
    pub(crate) fn next_row(&mut self) -> io::Result<Option<RawRow>> {
        match self {
            Source::Csv {
                rdr,
                map,
                enc,
                kind,
                record,
            } => loop {
                if !rdr.read_byte_record(record).map_err(io::Error::other)? {
                    return Ok(None);
                }
                if record.iter().all(blank) {
                    continue;
                }
                let line = record.position().map_or(0, csv::Position::line);
                return Ok(Some(RawRow {
                    line,
                    cells: csv_cells(record, map, *enc, *kind),
                }));
            },
            Source::Jsonl {
                rdr,
                pos,
                enc,
                kind,
                buf,
            } => loop {
                buf.clear();
                let n = rdr.read_until(b'\n', buf)?;
                if n == 0 {
                    return Ok(None);
                }
                let first = pos.byte == 0;
                let line = pos.line;
                pos.byte += n as u64;
                pos.line += 1;
                let mut bytes = buf.as_slice();
                if first {
                    bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
                }
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some(RawRow {
                    line,
                    cells: json_cells(bytes, *enc, *kind),
                }));
            },
        }
    }
}

/// Whether a cell holds only spaces (a row of such cells is a blank line, not a row).
fn blank(cell: &[u8]) -> bool {
    cell.iter().all(u8::is_ascii_whitespace)
}

fn csv_cells(
    record: &csv::ByteRecord,
    map: &ColumnMap,
    enc: TextEncoding,
    kind: ImportKind,
) -> AppResult<Cells> {
    let columns = map.slots.len();
    let extra_filled = record.iter().skip(columns).any(|c| !blank(c));
    if record.len() < columns || extra_filled {
        return Err(AppError::invalid_with(
            "invalid_column_count",
            None,
            format!(
                "本行有{}列，表头有{}列；请检查是否有未加引号的逗号或缺列",
                record.len(),
                columns
            ),
        ));
    }
    let mut cells = Cells::new(kind);
    for (cell, slot) in record.iter().zip(&map.slots) {
        if let Some(slot) = slot {
            let text = decode(cell, enc).ok_or_else(|| bad_encoding(enc))?;
            cells.set(*slot, Value::String(text));
        }
    }
    Ok(cells)
}

fn json_cells(bytes: &[u8], enc: TextEncoding, kind: ImportKind) -> AppResult<Cells> {
    let text = decode(bytes, enc).ok_or_else(|| bad_encoding(enc))?;
    let not_object = |detail: String| {
        AppError::invalid_with(
            "invalid_json",
            None,
            format!("本行不是一个 JSON 对象（每行一个，字段名同接口）：{detail}"),
        )
    };
    let Value::Object(mut obj) =
        serde_json::from_str::<Value>(&text).map_err(|e| not_object(e.to_string()))?
    else {
        return Err(not_object("不是 {…}".to_owned()));
    };
    let mut cells = Cells::new(kind);
    for (i, field) in columns::fields(kind).iter().enumerate() {
        if let Some(v) = obj.remove(field.name) {
            cells.set(i, v);
        }
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::encodings::is_utf8;

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, bytes).unwrap();
        f
    }

    fn rows(mut s: Source) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        while let Some(r) = s.next_row().unwrap() {
            out.push((
                r.line,
                r.cells
                    .map_or_else(|e| e.code().to_owned(), |c| c.source_ref()),
            ));
        }
        out
    }

    #[test]
    fn a_gb18030_csv_reads_with_line_numbers_and_resumes_from_a_position() {
        let text = "来源编号,身份证号码,发放月份,发放金额,发放状态\r\n\
                    甲1,x,2025-01,1,已发放\r\n\
                    \"乙,2\",x,2025-01,1,已发放\r\n\
                    \r\n\
                    丙3,x,2025-01,1,已发放\r\n";
        let (bytes, _, _) = encoding_rs::GB18030.encode(text);
        assert!(std::str::from_utf8(&bytes).is_err());
        let f = file(&bytes);
        assert!(!is_utf8(f.path()).unwrap());
        let open = |from| {
            Source::open(
                f.path(),
                ImportKind::Benefits,
                ImportFormat::Csv,
                TextEncoding::Gb18030,
                from,
            )
            .unwrap()
        };
        assert_eq!(
            rows(open(None)),
            [(2, "甲1".into()), (3, "乙,2".into()), (5, "丙3".into())]
        );
        let mut s = open(None);
        s.next_row().unwrap().unwrap();
        let after_first = s.position();
        assert_eq!(after_first.line, 3, "the next row starts on line 3");
        assert_eq!(
            rows(open(Some(after_first))),
            [(3, "乙,2".into()), (5, "丙3".into())]
        );
    }

    #[test]
    fn json_lines_skip_blank_lines_and_a_bad_line_is_a_bad_row() {
        let f = file("\u{feff}{\"source_id\":\"A\"}\n\n[1]\n{\"source_id\":7}\n".as_bytes());
        assert!(is_utf8(f.path()).unwrap());
        let s = Source::open(
            f.path(),
            ImportKind::Contributions,
            ImportFormat::Jsonl,
            TextEncoding::Utf8,
            None,
        )
        .unwrap();
        assert_eq!(
            rows(s),
            [(1, "A".into()), (3, "invalid_json".into()), (4, "7".into())]
        );
    }

    #[test]
    fn a_row_with_more_filled_cells_than_headers_is_refused() {
        let f = file(b"source_id,id_number,month,amount,status\nA,x,2025-01,1,paid,,\nB,x,2025-01,1,paid,oops\nC,x\n");
        let s = Source::open(
            f.path(),
            ImportKind::Benefits,
            ImportFormat::Csv,
            TextEncoding::Utf8,
            None,
        )
        .unwrap();
        assert_eq!(
            rows(s),
            [
                (2, "A".into()),
                (3, "invalid_column_count".into()),
                (4, "invalid_column_count".into())
            ]
        );
    }
}
