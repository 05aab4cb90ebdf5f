//! Identification by parsing, not by extension (DA/T 31, GB/T 18894; issue 16).
//!
//! The format comes from the file's signature; then the file is parsed whole:
//!
//! - **PDF** through `lopdf` (cross-reference tables and streams, incremental updates, object
//!   streams). The page count is the page tree's (`/Root /Pages`), never a count of `/Type /Page`
//!   objects. The PDF/A claim (`pdfaid:part` + `pdfaid:conformance`, as elements or as attributes)
//!   comes only from the XMP stream of the catalog's `/Metadata`, decoded from UTF-8, UTF-16 or
//!   UTF-32 and parsed as XML. Conformance letters are upper-case `A`, `B`, `U` (parts 1–3, `U`
//!   from part 2), `F` (part 4), `E` (part 4); part 4 has no letter or `E`/`F`; any other claim
//!   (empty, lower-case, unknown letter) is no claim.
//! - **OFD** (GB/T 33190) through the zip central directory: `OFD.xml` → `DocBody/DocRoot` →
//!   `Document.xml` → `Pages/Page@BaseLoc` (every page must exist and parse), `Signatures` →
//!   `Signature` entries.
//! - **TIFF, JPEG, PNG** decoded in full with the `image` crate under limits (every page of a
//!   TIFF). **JPEG 2000** is recognised but not decoded (no decoder): readability unchecked.
//!
//! # Damaged PDFs
//!
//! `lopdf` repairs a file whose cross-reference data is broken by scanning for objects
//! ([`lopdf::xref::XrefRecovery::Reconstructed`]). Such a file is **unreadable** here: what it
//! shows may be missing objects or an older revision, so it is no sound archival copy. A file
//! whose `startxref` offset is merely off by a few bytes (`OffsetCorrected`) is readable, and
//! says so in its detail. A file without `%%EOF` in its last 1 KiB is truncated, unreadable.
//!
//! # PDF/A: basic conformance check (基本符合性检查)
//!
//! Only for a PDF that claims PDF/A. It is a **subset** of ISO 19005, not a validation:
//!
//! | code | rule |
//! |------|------|
//! | `PDFA-1` | no encryption (`/Encrypt` in the trailer) |
//! | `PDFA-2` | no JavaScript: no `/JavaScript` or `/JS` in any object, no `/AA` in the catalog |
//! | `PDFA-3` | an `/OutputIntents` entry with `/S /GTS_PDFA1` and a `/DestOutputProfile` stream |
//! | `PDFA-4` | every font used by a page (or its forms and patterns, one level deep) embeds its font file (`/FontFile`, `/FontFile2`, `/FontFile3`, for Type0 in its descendant); Type3 exempt |
//! | `PDFA-5` | the XMP metadata is present, its claim parses, its stream is not filtered (no `/Filter`) |
//! | `PDFA-6` | the Info dictionary agrees with the XMP (not checked: `passed` is `None`, with the reason) |
//! | `PDFA-7` | no `/LZWDecode` filter in any stream |
//! | `PDFA-8` | the trailer has an `/ID` |
//!
//! # Readability (GD-3-3)
//!
//! PDF: it loads, the page tree resolves, every page's content streams decompress within
//! [`Limits::max_inflate`], every image XObject of a page has sane dimensions within
//! [`Limits::max_pixels`]; a Flate image must inflate to exactly its expected size, a DCT image's
//! JPEG header (SOF) must agree with its `/Width` and `/Height` and its data end with EOI (JPEGs in PDFs are not decoded,
//! for speed). Rasters are decoded. Decompression bombs are refused, never an out-of-memory.
//!
//! Archival policy: PDF/A, OFD, TIFF, JPEG and JPEG 2000 at ≥ `min_dpi`; anything else is kept
//! and flagged, never refused. Flags: `not_archival_format`, `not_pdfa`, `pdfa_nonconforming`,
//! `low_dpi`, `dpi_unknown`, `unreadable`, `unchecked`. An unreadable or unchecked file is never
//! archival.

mod ofd;
mod pdf;
mod raster;
mod xml;

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

/// Bounds of identification (decompression bombs are refused, never an out-of-memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The minimum resolution of an archival scan, in dots per inch.
    pub min_dpi: u32,
    /// Max decoded pixels of one image.
    pub max_pixels: u64,
    /// Max bytes any one stream or zip member may inflate to.
    pub max_inflate: u64,
}

impl Limits {
    /// The default bounds (400 million pixels, 512 MiB per stream) with a minimum resolution.
    pub fn new(min_dpi: u32) -> Self {
        Limits {
            min_dpi,
            max_pixels: 400_000_000,
            max_inflate: 512 * 1024 * 1024,
        }
    }
}

/// GD-3-3: does the file open?
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum Readability {
    /// It decodes; the detail in Chinese, e.g. "PDF 结构完整，3 页均可解析".
    Readable(String),
    /// It does not; the reason in Chinese (truncated, no xref, page tree broken, …).
    Unreadable(String),
    /// The check was not made; why, in Chinese (e.g. above the parse limit, a JP2).
    Unchecked(String),
}

impl Readability {
    /// Whether the file was checked and decodes.
    pub fn is_readable(&self) -> bool {
        matches!(self, Readability::Readable(_))
    }
}

/// One rule of the basic PDF/A conformance subset (基本符合性检查).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// The stable code, e.g. `PDFA-1`.
    pub code: &'static str,
    /// The rule's name, in Chinese.
    pub name: &'static str,
    /// Whether it passed; `None` when it could not be checked (the reason says why).
    pub passed: Option<bool>,
    /// What was found, in Chinese.
    pub reason: String,
}

/// What identification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identified {
    /// The format.
    pub format: Format,
    /// Resolution in dots per inch, when known (for a scanned PDF, the least of its scan pages).
    pub dpi: Option<u32>,
    /// Page count, when known.
    pub pages: Option<u32>,
    /// The PDF/A claim of the catalog's XMP, e.g. `2B`, `1A`, `3U`, `4`.
    pub pdfa: Option<String>,
    /// Whether the file meets the archival policy (`flags` is empty).
    pub archival: bool,
    /// Why not: `not_archival_format`, `not_pdfa`, `pdfa_nonconforming`, `low_dpi`,
    /// `dpi_unknown`, `unreadable`, `unchecked`.
    pub flags: Vec<String>,
    /// Whether the file opens (GD-3-3).
    pub readable: Readability,
    /// The basic PDF/A conformance subset; empty unless a PDF that claims PDF/A.
    pub conformance: Vec<Rule>,
    /// OFD: signatures listed; PDF: signature fields (`/FT /Sig`) found; `None` otherwise.
    pub signatures: Option<u32>,
}

const ZIP: &[u8] = b"PK\x03\x04";

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The format by signature; a zip is OFD when `OFD.xml` is named in `head` (a sniff) or in its
/// central directory (`complete`).
fn format_of(content: &[u8], complete: bool, limits: &Limits) -> Format {
    if content.starts_with(b"%PDF-") {
        Format::Pdf
    } else if content.starts_with(ZIP) {
        let is_ofd = if complete {
            ofd::has_ofd_xml(content, limits)
        } else {
            find(content, b"OFD.xml").is_some()
        };
        if is_ofd { Format::Ofd } else { Format::Other }
    } else if content.starts_with(b"II*\0") || content.starts_with(b"MM\0*") {
        Format::Tiff
    } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Format::Jpeg
    } else if content.starts_with(b"\x89PNG\r\n\x1a\n") {
        Format::Png
    } else if content.starts_with(&[0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20]) {
        Format::Jp2
    } else {
        Format::Other
    }
}

/// Text of an XML file or packet: UTF-8, UTF-16 or UTF-32, with or without a byte order mark
/// (without one, the encoding is told by the first character, `<`, as XML 1.0 appendix F says).
fn decode_text(b: &[u8]) -> Option<String> {
    fn units<const N: usize>(b: &[u8], f: fn([u8; N]) -> u32) -> impl Iterator<Item = u32> + '_ {
        b.chunks_exact(N)
            .map(move |c| f(c.try_into().unwrap_or([0; N])))
    }
    let utf16 = |b: &[u8], be: bool| -> Option<String> {
        let it = units::<2>(
            b,
            if be {
                |c| u32::from(u16::from_be_bytes(c))
            } else {
                |c| u32::from(u16::from_le_bytes(c))
            },
        );
        char::decode_utf16(it.map(|u| u as u16))
            .collect::<Result<String, _>>()
            .ok()
    };
    let utf32 = |b: &[u8], be: bool| -> Option<String> {
        let f: fn([u8; 4]) -> u32 = if be {
            u32::from_be_bytes
        } else {
            u32::from_le_bytes
        };
        units::<4>(b, f).map(char::from_u32).collect()
    };
    match b {
        [0, 0, 0xFE, 0xFF, rest @ ..] => utf32(rest, true),
        [0xFF, 0xFE, 0, 0, rest @ ..] => utf32(rest, false),
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8(rest.to_vec()).ok(),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
        [0, 0, 0, b'<', ..] => utf32(b, true),
        [b'<', 0, 0, 0, ..] => utf32(b, false),
        [0, b'<', ..] => utf16(b, true),
        [b'<', 0, ..] => utf16(b, false),
        _ => String::from_utf8(b.to_vec()).ok(),
    }
}

/// What a parser found, before the policy.
struct Found {
    dpi: Option<u32>,
    pages: Option<u32>,
    pdfa: Option<String>,
    readable: Readability,
    conformance: Vec<Rule>,
    signatures: Option<u32>,
}

impl Found {
    fn new(readable: Readability) -> Self {
        Found {
            dpi: None,
            pages: None,
            pdfa: None,
            readable,
            conformance: Vec::new(),
            signatures: None,
        }
    }
}

/// The archival policy over what was found.
fn judge(format: Format, found: Found, min_dpi: u32) -> Identified {
    let mut flags = Vec::new();
    let mut flag = |f: &str| flags.push(f.to_owned());
    match format {
        Format::Png | Format::Other => flag("not_archival_format"),
        Format::Pdf if found.pdfa.is_none() => flag("not_pdfa"),
        Format::Pdf if found.conformance.iter().any(|r| r.passed == Some(false)) => {
            flag("pdfa_nonconforming");
        }
        _ => {}
    }
    match (format, found.dpi) {
        (Format::Tiff | Format::Jpeg | Format::Png | Format::Jp2 | Format::Pdf, Some(d))
            if d < min_dpi =>
        {
            flag("low_dpi");
        }
        (Format::Tiff | Format::Jpeg | Format::Png | Format::Jp2, None) => flag("dpi_unknown"),
        _ => {}
    }
    match found.readable {
        Readability::Readable(_) => {}
        Readability::Unreadable(_) => flag("unreadable"),
        Readability::Unchecked(_) => flag("unchecked"),
    }
    Identified {
        format,
        dpi: found.dpi,
        pages: found.pages,
        pdfa: found.pdfa,
        archival: flags.is_empty(),
        flags,
        readable: found.readable,
        conformance: found.conformance,
        signatures: found.signatures,
    }
}

/// Full identification of a whole file (`content` is the whole file when `complete`).
/// When `!complete` (the file was above the parse limit, only its head is given) it behaves
/// like [`sniff`].
pub fn identify(content: &[u8], complete: bool, limits: &Limits) -> Identified {
    if !complete {
        return sniff(content, limits.min_dpi);
    }
    let format = format_of(content, true, limits);
    let found = match format {
        Format::Pdf => pdf::identify(content, limits),
        Format::Ofd => ofd::identify(content, limits),
        Format::Tiff | Format::Jpeg | Format::Png => raster::identify(format, content, limits),
        Format::Jp2 => Found {
            pages: Some(1),
            ..Found::new(Readability::Unchecked(
                "JPEG 2000 暂无解码器，未检查可读性".to_owned(),
            ))
        },
        Format::Other => Found::new(Readability::Unreadable("无法识别文件格式".to_owned())),
    };
    judge(format, found, limits.min_dpi)
}

/// Quick identification from the first bytes only (format by signature, raster dpi from
/// headers): readability is unchecked with a reason, pages `None` for PDF/OFD/TIFF; never
/// marks a PDF archival (flag `unchecked`).
pub fn sniff(head: &[u8], min_dpi: u32) -> Identified {
    let format = format_of(head, false, &Limits::new(min_dpi));
    let mut found = Found::new(Readability::Unchecked(
        "文件超过解析上限，仅按文件头识别，未检查可读性".to_owned(),
    ));
    found.dpi = match format {
        Format::Png => raster::png_dpi(head),
        Format::Jpeg => raster::jpeg_dpi(head),
        Format::Tiff => raster::tiff_first_dpi(head),
        _ => None,
    };
    found.pages = matches!(format, Format::Jpeg | Format::Png | Format::Jp2).then_some(1);
    judge(format, found, min_dpi)
}

#[cfg(test)]
mod tests;
