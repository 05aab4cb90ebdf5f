//! Identification by content, not by extension (DA/T 31, GB/T 18894): the format from the file's
//! signature, and what the first bytes tell — resolution of PNG (`pHYs`), JPEG (JFIF density) and
//! TIFF (`XResolution`), a PDF's page count and PDF/A claim (XMP `pdfaid`), OFD's container.
//! Policy: archival formats are PDF/A, OFD, TIFF, JPEG and JPEG 2000 at ≥ 300 dpi (configurable);
//! anything else is kept and flagged, never refused.

use serde::Serialize;

/// A recognised format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// PDF (PDF/A when it claims so).
    Pdf,
    /// OFD, GB/T 33190 (a zip container with `OFD.xml`).
    Ofd,
    /// TIFF.
    Tiff,
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// JPEG 2000 (JP2).
    Jp2,
    /// Anything else.
    Other,
}

impl Format {
    /// The MIME type for downloads.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Ofd => "application/ofd",
            Format::Tiff => "image/tiff",
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Jp2 => "image/jp2",
            Format::Other => "application/octet-stream",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Ofd => "ofd",
            Format::Tiff => "tif",
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Jp2 => "jp2",
            Format::Other => "bin",
        }
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Ofd => "ofd",
            Format::Tiff => "tiff",
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Jp2 => "jp2",
            Format::Other => "other",
        }
    }
}

/// What identification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identified {
    /// The format.
    pub format: Format,
    /// Horizontal resolution in dots per inch, when the file says.
    pub dpi: Option<u32>,
    /// Page count, when known.
    pub pages: Option<u32>,
    /// The PDF/A claim, e.g. `2B`.
    pub pdfa: Option<String>,
    /// Whether the file meets the archival policy.
    pub archival: bool,
    /// Why not: `not_archival_format`, `not_pdfa`, `low_dpi`, `dpi_unknown`.
    pub flags: Vec<String>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

fn png_dpi(b: &[u8]) -> Option<u32> {
    let mut at = 8;
    while at + 8 <= b.len() {
        let len = be32(b, at)? as usize;
        let kind = b.get(at + 4..at + 8)?;
        if kind == b"pHYs" {
            let x = be32(b, at + 8)?;
            let unit = *b.get(at + 16)?;
            return (unit == 1).then(|| (f64::from(x) * 0.0254).round() as u32);
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        at = at.checked_add(12 + len)?;
    }
    None
}

fn jpeg_dpi(b: &[u8]) -> Option<u32> {
    let mut at = 2;
    while at + 4 <= b.len() {
        if b[at] != 0xFF {
            return None;
        }
        let marker = b[at + 1];
        let len = be16(b, at + 2)? as usize;
        if marker == 0xE0 && b.get(at + 4..at + 9) == Some(b"JFIF\0") {
            let units = *b.get(at + 11)?;
            let x = u32::from(be16(b, at + 12)?);
            return match units {
                1 => Some(x),
                2 => Some((f64::from(x) * 2.54).round() as u32),
                _ => None,
            };
        }
        if marker == 0xDA {
            return None;
        }
        at = at.checked_add(2 + len)?;
    }
    None
}

fn tiff_dpi(b: &[u8]) -> Option<u32> {
    let little = b.starts_with(b"II");
    let u16_at = |at: usize| -> Option<u16> {
        let v = [*b.get(at)?, *b.get(at + 1)?];
        Some(if little {
            u16::from_le_bytes(v)
        } else {
            u16::from_be_bytes(v)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let v = [
            *b.get(at)?,
            *b.get(at + 1)?,
            *b.get(at + 2)?,
            *b.get(at + 3)?,
        ];
        Some(if little {
            u32::from_le_bytes(v)
        } else {
            u32::from_be_bytes(v)
        })
    };
    let ifd = u32_at(4)? as usize;
    let n = u16_at(ifd)? as usize;
    let (mut x, mut unit) = (None, 2u16);
    for i in 0..n {
        let e = ifd + 2 + i * 12;
        match u16_at(e)? {
            282 => {
                let off = u32_at(e + 8)? as usize;
                let (num, den) = (u32_at(off)?, u32_at(off + 4)?);
                x = (den != 0).then(|| f64::from(num) / f64::from(den));
            }
            296 => unit = u16_at(e + 8)?,
            _ => {}
        }
    }
    let x = x?;
    match unit {
        2 => Some(x.round() as u32),
        3 => Some((x * 2.54).round() as u32),
        _ => None,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn pdfa_claim(b: &[u8]) -> Option<String> {
    let value = |key: &[u8]| -> Option<String> {
        let at = find(b, key)? + key.len();
        let rest = &b[at..(at + 40).min(b.len())];
        let start = rest.iter().position(|c| c.is_ascii_alphanumeric())?;
        let len = rest[start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        Some(String::from_utf8_lossy(&rest[start..start + len]).into_owned())
    };
    let part = value(b"pdfaid:part")?;
    let conformance = value(b"pdfaid:conformance").unwrap_or_default();
    Some(format!("{part}{conformance}"))
}

fn pdf_pages(b: &[u8], complete: bool) -> Option<u32> {
    if !complete {
        return None;
    }
    let mut count = 0u32;
    let mut rest = b;
    while let Some(i) = find(rest, b"/Type") {
        let after = &rest[i + 5..];
        let after = &after[after.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
        if after.starts_with(b"/Page") && !after.starts_with(b"/Pages") {
            count += 1;
        }
        rest = &rest[i + 5..];
    }
    (count > 0).then_some(count)
}

/// Identifies a file from its first bytes (`head`; `complete` when head is the whole file),
/// against the minimum resolution `min_dpi`.
pub fn identify(head: &[u8], complete: bool, min_dpi: u32) -> Identified {
    let format = if head.starts_with(b"%PDF-") {
        Format::Pdf
    } else if head.starts_with(b"PK\x03\x04") && find(head, b"OFD.xml").is_some() {
        Format::Ofd
    } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        Format::Tiff
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Format::Jpeg
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Format::Png
    } else if head.starts_with(&[0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20]) {
        Format::Jp2
    } else {
        Format::Other
    };
    let dpi = match format {
        Format::Png => png_dpi(head),
        Format::Jpeg => jpeg_dpi(head),
        Format::Tiff => tiff_dpi(head),
        _ => None,
    };
    let pages = match format {
        Format::Pdf => pdf_pages(head, complete),
        Format::Jpeg | Format::Png | Format::Jp2 => Some(1),
        _ => None,
    };
    let pdfa = (format == Format::Pdf).then(|| pdfa_claim(head)).flatten();
    let mut flags = Vec::new();
    match format {
        Format::Pdf if pdfa.is_none() => flags.push("not_pdfa".to_owned()),
        Format::Png | Format::Other => flags.push("not_archival_format".to_owned()),
        _ => {}
    }
    if matches!(
        format,
        Format::Tiff | Format::Jpeg | Format::Png | Format::Jp2
    ) {
        match dpi {
            Some(d) if d < min_dpi => flags.push("low_dpi".to_owned()),
            Some(_) => {}
            None => flags.push("dpi_unknown".to_owned()),
        }
    }
    Identified {
        format,
        dpi,
        pages,
        pdfa,
        archival: flags.is_empty(),
        flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(ppm: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend_from_slice(&13u32.to_be_bytes());
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&[0; 13 + 4]);
        b.extend_from_slice(&9u32.to_be_bytes());
        b.extend_from_slice(b"pHYs");
        b.extend_from_slice(&ppm.to_be_bytes());
        b.extend_from_slice(&ppm.to_be_bytes());
        b.push(1);
        b.extend_from_slice(&[0; 4]);
        b
    }

    fn jpeg(dpi: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        b.extend_from_slice(b"JFIF\0");
        b.extend_from_slice(&[1, 2, 1]);
        b.extend_from_slice(&dpi.to_be_bytes());
        b.extend_from_slice(&dpi.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&[0xFF, 0xDA]);
        b
    }

    fn tiff(dpi: u32) -> Vec<u8> {
        // Little-endian header, IFD at 8 with two entries, the rational after it.
        let mut b = b"II*\0".to_vec();
        b.extend_from_slice(&8u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        let rational_at = 8 + 2 + 2 * 12 + 4;
        b.extend_from_slice(&282u16.to_le_bytes());
        b.extend_from_slice(&5u16.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&(rational_at as u32).to_le_bytes());
        b.extend_from_slice(&296u16.to_le_bytes());
        b.extend_from_slice(&3u16.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&dpi.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b
    }

    #[test]
    fn resolution_is_read_from_png_jpeg_and_tiff() {
        assert_eq!(identify(&png(11811), true, 300).dpi, Some(300));
        assert_eq!(identify(&jpeg(600), true, 300).dpi, Some(600));
        let t = identify(&tiff(300), true, 300);
        assert_eq!(
            (t.format, t.dpi, t.archival),
            (Format::Tiff, Some(300), true)
        );
    }

    #[test]
    fn a_low_resolution_scan_is_kept_but_flagged() {
        let j = identify(&jpeg(150), true, 300);
        assert_eq!(j.format, Format::Jpeg);
        assert!(!j.archival);
        assert_eq!(j.flags, ["low_dpi"]);
    }

    #[test]
    fn png_is_not_an_archival_format_and_unknown_bytes_are_other() {
        let p = identify(&png(11811), true, 300);
        assert_eq!(p.flags, ["not_archival_format"]);
        let o = identify(b"hello", true, 300);
        assert_eq!(o.format, Format::Other);
        assert!(!o.archival);
    }

    #[test]
    fn a_pdf_a_claim_and_page_count_are_found() {
        let pdf = b"%PDF-1.7\n1 0 obj <</Type /Catalog /Pages 2 0 R>>\n2 0 obj <</Type /Pages /Count 2>>\n3 0 obj <</Type /Page>>\n4 0 obj <</Type/Page>>\n<x:xmpmeta><pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></x:xmpmeta>";
        let i = identify(pdf, true, 300);
        assert_eq!(
            (i.format, i.pages, i.pdfa.as_deref(), i.archival),
            (Format::Pdf, Some(2), Some("2B"), true)
        );
        let plain = identify(b"%PDF-1.4\n<</Type /Page>>", true, 300);
        assert_eq!(plain.flags, ["not_pdfa"]);
        assert_eq!(
            identify(b"%PDF-1.4\n<</Type /Page>>", false, 300).pages,
            None
        );
    }

    #[test]
    fn an_ofd_container_is_recognised_by_its_entry() {
        let mut z = b"PK\x03\x04".to_vec();
        z.extend_from_slice(&[0; 26]);
        z.extend_from_slice(b"OFD.xml");
        assert_eq!(identify(&z, false, 300).format, Format::Ofd);
    }

    #[test]
    fn identification_never_panics_on_truncated_headers() {
        for cut in 0..40 {
            let _ = identify(&tiff(300)[..cut.min(46)], false, 300);
            let _ = identify(&png(11811)[..cut.min(49)], false, 300);
            let _ = identify(&jpeg(300)[..cut.min(22)], false, 300);
        }
    }
}
