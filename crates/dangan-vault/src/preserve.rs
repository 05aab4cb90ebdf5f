//! PDF/A-2B preservation copies (保存副本) of raster scans.
//!
//! Scans stored as JPEG, PNG or TIFF are kept as the master; [`pdfa_copy`] makes a PDF/A-2B
//! (ISO 19005-2, level B) copy of them: one page per image, every page of a multi-page TIFF,
//! each page sized from the image's resolution.
//!
//! The PDF is written by this module, not by a PDF library, so that every byte is known:
//! a classic cross-reference table (no object or cross-reference streams), no encryption, no
//! JavaScript, no LZW, no transparency. The output intent carries an ICC v2 sRGB display
//! profile generated here ([`srgb_icc_profile`]). The same inputs always give the same bytes.
//!
//! Baseline and progressive JPEGs with one or three components are embedded unchanged
//! (`/DCTDecode`); every other image is decoded under [`image::Limits`], flattened onto white
//! when it has alpha, reduced to 8 bits per sample (1 bit when it is black and white only) and
//! stored with `/FlateDecode`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{Cursor, Write as _};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use sha2::{Digest, Sha256};

use crate::identify::Format;

/// The resolution assumed when neither the file nor the caller says.
pub const DEFAULT_DPI: u32 = 300;

/// `pdf:Producer` in the XMP and `/Producer` in the Info dictionary (they must be equal).
const PRODUCER: &str = concat!("Dangan dangan-vault ", env!("CARGO_PKG_VERSION"));
/// `xmp:CreatorTool` in the XMP and `/Creator` in the Info dictionary.
const CREATOR_TOOL: &str = "Dangan";
/// The output condition of the output intent: the sRGB profile generated here.
const OUTPUT_CONDITION: &str = "sRGB IEC61966-2.1";
/// PDF/A-2 (ISO 19005-2, 6.1.13) bounds every page boundary to 3 ..= 14 400 units.
const PAGE_MIN_PT: f64 = 3.0;
/// See [`PAGE_MIN_PT`].
const PAGE_MAX_PT: f64 = 14_400.0;
/// A resolution outside this range in a file's own metadata is taken as not said.
const PLAUSIBLE_DPI: std::ops::RangeInclusive<f64> = 10.0..=100_000.0;
/// More TIFF directories than this are refused (a multi-page scan has far fewer).
const MAX_TIFF_PAGES: usize = 10_000;

/// Why a preservation copy could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PreserveError {
    /// Only JPEG, PNG and TIFF scans get a preservation copy.
    #[error("不支持为 {0} 格式的文件生成保存副本（仅支持 JPEG、PNG、TIFF 扫描件）")]
    UnsupportedFormat(String),
    /// The image could not be decoded (damaged or not what its format says).
    #[error("图像无法解码：{0}")]
    Decode(String),
    /// A page has more pixels than [`PreserveLimits::max_pixels`] (a decompression bomb or an
    /// implausibly large scan).
    #[error("图像像素过多：{width}×{height}，每页上限为 {max} 像素")]
    TooManyPixels {
        /// Width in pixels, as the file claims.
        width: u32,
        /// Height in pixels, as the file claims.
        height: u32,
        /// The limit in force.
        max: u64,
    },
    /// Decoding would need more memory than the limits allow.
    #[error("图像解码所需内存超出上限")]
    MemoryLimit,
    /// The creation time is not an RFC 3339 timestamp with an offset.
    #[error("创建时间不是带时区的 RFC 3339 时间：{0}")]
    InvalidTimestamp(String),
    /// The page would be smaller than 3 or larger than 14 400 points, which PDF/A-2 forbids.
    #[error(
        "页面尺寸 {width_pt:.1}×{height_pt:.1} 磅超出 PDF/A 允许的范围（3 至 14400 磅），请检查分辨率"
    )]
    PageSizeOutOfRange {
        /// Page width in points.
        width_pt: f64,
        /// Page height in points.
        height_pt: f64,
    },
}

impl PreserveError {
    /// A stable, machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            PreserveError::UnsupportedFormat(_) => "unsupported_format",
            PreserveError::Decode(_) => "decode_failed",
            PreserveError::TooManyPixels { .. } => "too_many_pixels",
            PreserveError::MemoryLimit => "memory_limit",
            PreserveError::InvalidTimestamp(_) => "invalid_timestamp",
            PreserveError::PageSizeOutOfRange { .. } => "page_size_out_of_range",
        }
    }
}

/// Bounds on the work for one copy, so that a decompression bomb is refused rather than
/// exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreserveLimits {
    /// The most pixels a single page may have. Checked against the dimensions in the file's
    /// header before anything is decoded; the decoder's allocations are bounded to 8 bytes per
    /// such pixel through [`image::Limits::max_alloc`].
    pub max_pixels: u64,
}

impl Default for PreserveLimits {
    /// 400 million pixels per page (an A0 sheet at 600 dpi is about 270 million).
    fn default() -> Self {
        PreserveLimits {
            max_pixels: 400_000_000,
        }
    }
}

/// What [`pdfa_copy`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreservationCopy {
    /// The PDF/A-2B file.
    pub pdf: Vec<u8>,
    /// Number of pages (images).
    pub pages: u32,
    /// The resolution used for the (first) page's size, in dots per inch: the file's own
    /// when it says, else the caller's, else [`DEFAULT_DPI`].
    pub dpi: u32,
}

/// Makes a PDF/A-2B copy of a raster scan.
///
/// One page per image (every page of a multi-page TIFF, reduced-resolution thumbnails
/// skipped); each page is sized from the image's resolution, or from `dpi` when the file does
/// not say (the caller passes the identified resolution; `None` means [`DEFAULT_DPI`]).
/// `title` (the material's name, may be Chinese) goes into the XMP `dc:title` and the Info
/// dictionary's `/Title`; `created`, an RFC 3339 timestamp with offset such as
/// `2026-12-06T14:03:00+08:00`, into `xmp:CreateDate`, `xmp:ModifyDate`, `xmp:MetadataDate`
/// and the Info dictionary's `/CreationDate` and `/ModDate`.
///
/// # Errors
///
/// [`PreserveError`]: a format other than JPEG, PNG or TIFF, an image that does not decode,
/// a page over [`PreserveLimits::max_pixels`], a bad timestamp or a page size PDF/A forbids.
pub fn pdfa_copy(
    content: &[u8],
    format: Format,
    dpi: Option<u32>,
    title: &str,
    created: &str,
    limits: &PreserveLimits,
) -> Result<PreservationCopy, PreserveError> {
    let created = Timestamp::parse(created)?;
    let fallback = Resolution::square(f64::from(
        dpi.filter(|d| PLAUSIBLE_DPI.contains(&f64::from(*d)))
            .unwrap_or(DEFAULT_DPI),
    ));
    let pages = match format {
        Format::Jpeg => vec![jpeg_page(content, fallback, limits)?],
        Format::Png => {
            let resolution = png_resolution(content).unwrap_or(fallback);
            vec![decoded_page(content, ImageFormat::Png, resolution, limits)?]
        }
        Format::Tiff => tiff_pages(content, fallback, limits)?,
        other => {
            return Err(PreserveError::UnsupportedFormat(
                format!("{other:?}").to_uppercase(),
            ));
        }
    };
    for page in &pages {
        let (width_pt, height_pt) = page.size_pt();
        let in_range = |v: f64| (PAGE_MIN_PT..=PAGE_MAX_PT).contains(&v);
        if !in_range(width_pt) || !in_range(height_pt) {
            return Err(PreserveError::PageSizeOutOfRange {
                width_pt,
                height_pt,
            });
        }
    }
    let first_dpi = pages
        .first()
        .map_or(f64::from(DEFAULT_DPI), |page| page.resolution.x)
        .round();
    // Bounded by PLAUSIBLE_DPI, so the conversion cannot truncate.
    let first_dpi = first_dpi.clamp(1.0, f64::from(u32::MAX)) as u32;
    let pdf = write_pdf(&pages, &sanitize_title(title), &created);
    Ok(PreservationCopy {
        pdf,
        pages: u32::try_from(pages.len()).unwrap_or(u32::MAX),
        dpi: first_dpi,
    })
}

// ---------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------

/// Horizontal and vertical resolution in dots per inch.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Resolution {
    x: f64,
    y: f64,
}

impl Resolution {
    fn square(dpi: f64) -> Self {
        Resolution { x: dpi, y: dpi }
    }

    /// A resolution from a file's metadata, per inch (`per_cm` false) or per centimetre; `None`
    /// when implausible.
    fn from_file(x: f64, y: f64, per_cm: bool) -> Option<Self> {
        let factor = if per_cm { 2.54 } else { 1.0 };
        let (x, y) = (x * factor, y * factor);
        (PLAUSIBLE_DPI.contains(&x) && PLAUSIBLE_DPI.contains(&y)).then_some(Resolution { x, y })
    }
}

/// How the samples of a page's image are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// The JPEG file as it came (`/DCTDecode`); `rgb_without_transform` when its three
    /// components are RGB rather than YCbCr (`/ColorTransform 0`).
    Jpeg { rgb_without_transform: bool },
    /// Zlib-compressed samples (`/FlateDecode`).
    Flate,
}

/// One page's image, ready to embed.
#[derive(Debug)]
struct PageImage {
    width: u32,
    height: u32,
    /// `true` for DeviceRGB, `false` for DeviceGray.
    rgb: bool,
    bits_per_component: u8,
    encoding: Encoding,
    data: Vec<u8>,
    resolution: Resolution,
}

impl PageImage {
    fn size_pt(&self) -> (f64, f64) {
        (
            f64::from(self.width) * 72.0 / self.resolution.x,
            f64::from(self.height) * 72.0 / self.resolution.y,
        )
    }
}

fn check_pixels(width: u32, height: u32, limits: &PreserveLimits) -> Result<(), PreserveError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(PreserveError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    Ok(())
}

fn image_limits(limits: &PreserveLimits) -> image::Limits {
    let mut image_limits = image::Limits::default();
    // Eight bytes per pixel: 16-bit RGBA, the widest layout a scan decodes to here.
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    image_limits
}

fn decode_error(error: image::ImageError) -> PreserveError {
    match error {
        image::ImageError::Limits(_) => PreserveError::MemoryLimit,
        other => PreserveError::Decode(other.to_string()),
    }
}

/// Checks the dimensions the decoder read from the header, then decodes.
fn decode_bounded(
    mut decoder: impl ImageDecoder,
    limits: &PreserveLimits,
) -> Result<DynamicImage, PreserveError> {
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, limits)?;
    decoder
        .set_limits(image_limits(limits))
        .map_err(decode_error)?;
    DynamicImage::from_decoder(decoder).map_err(decode_error)
}

/// Decodes a whole PNG or JPEG file and makes a Flate page of it.
fn decoded_page(
    content: &[u8],
    format: ImageFormat,
    resolution: Resolution,
    limits: &PreserveLimits,
) -> Result<PageImage, PreserveError> {
    let image = decode_file(content, format, limits)?;
    Ok(flate_page(image, resolution))
}

fn decode_file(
    content: &[u8],
    format: ImageFormat,
    limits: &PreserveLimits,
) -> Result<DynamicImage, PreserveError> {
    let mut reader = ImageReader::new(Cursor::new(content));
    reader.set_format(format);
    reader.limits(image_limits(limits));
    let decoder = reader.into_decoder().map_err(decode_error)?;
    decode_bounded(decoder, limits)
}

/// Composites `value` with coverage `alpha` over white.
fn over_white(value: u8, alpha: u8) -> u8 {
    let (v, a) = (u32::from(value), u32::from(alpha));
    // At most (255 * 255 + 255 * 255 + 127) / 255 = 510, then min 255: always fits.
    u8::try_from(((v * a + 255 * (255 - a) + 127) / 255).min(255)).unwrap_or(u8::MAX)
}

/// 8-bit Gray or RGB samples, alpha flattened onto white, Flate-compressed; black-and-white
/// gray images are packed to 1 bit per pixel.
fn flate_page(image: DynamicImage, resolution: Resolution) -> PageImage {
    let (width, height) = (image.width(), image.height());
    let gray = !image.color().has_color();
    let alpha = image.color().has_alpha();
    let (rgb, bits, samples) = if gray {
        let samples: Vec<u8> = if alpha {
            image
                .into_luma_alpha8()
                .pixels()
                .map(|p| over_white(p.0[0], p.0[1]))
                .collect()
        } else {
            image.into_luma8().into_raw()
        };
        if samples.iter().all(|&s| s == 0 || s == 255) {
            (false, 1, pack_bilevel(&samples, width))
        } else {
            (false, 8, samples)
        }
    } else if alpha {
        let rgba = image.into_rgba8();
        let mut samples = Vec::with_capacity(rgba.as_raw().len() / 4 * 3);
        for p in rgba.pixels() {
            let [r, g, b, a] = p.0;
            samples.extend([over_white(r, a), over_white(g, a), over_white(b, a)]);
        }
        (true, 8, samples)
    } else {
        (true, 8, image.into_rgb8().into_raw())
    };
    PageImage {
        width,
        height,
        rgb,
        bits_per_component: bits,
        encoding: Encoding::Flate,
        data: zlib(&samples),
        resolution,
    }
}

/// Packs 0/255 gray samples into rows of bits, most significant first (1 = white in
/// DeviceGray), each row padded to a whole byte.
fn pack_bilevel(samples: &[u8], width: u32) -> Vec<u8> {
    let width = usize::try_from(width).unwrap_or(usize::MAX).max(1);
    let row_bytes = width.div_ceil(8);
    let mut packed = Vec::with_capacity(samples.len() / width * row_bytes);
    for row in samples.chunks(width) {
        for chunk in row.chunks(8) {
            let mut byte = 0u8;
            for (i, &s) in chunk.iter().enumerate() {
                if s == 255 {
                    byte |= 0x80 >> i;
                }
            }
            packed.push(byte);
        }
    }
    packed
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2),
        flate2::Compression::default(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// JPEG
// ---------------------------------------------------------------------------------------------

/// What the JPEG's markers say.
#[derive(Debug, Default)]
struct JpegInfo {
    /// The SOF marker's second byte (0xC0 baseline, 0xC1 extended, 0xC2 progressive, …).
    sof: Option<u8>,
    precision: u8,
    width: u32,
    height: u32,
    component_ids: Vec<u8>,
    jfif: bool,
    /// The Adobe APP14 marker's transform flag.
    adobe_transform: Option<u8>,
    resolution: Option<Resolution>,
}

/// Reads the markers up to the first scan; `None` when this is not a JPEG.
fn jpeg_info(data: &[u8]) -> Option<JpegInfo> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut info = JpegInfo::default();
    let mut exif_resolution = None;
    let mut pos = 2;
    loop {
        // Skip to a marker: 0xFF, any fill bytes, then the code.
        while *data.get(pos)? != 0xFF {
            pos += 1;
        }
        while *data.get(pos)? == 0xFF {
            pos += 1;
        }
        let code = *data.get(pos)?;
        pos += 1;
        if code == 0x01 || (0xD0..=0xD7).contains(&code) {
            continue;
        }
        if code == 0xD9 || code == 0xDA {
            break;
        }
        let length = usize::from(u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]));
        let segment = data.get(pos + 2..pos + length.max(2))?;
        pos += length;
        match code {
            0xC0..=0xCF if code != 0xC4 && code != 0xC8 && code != 0xCC => {
                if segment.len() < 6 {
                    return None;
                }
                info.sof = Some(code);
                info.precision = segment[0];
                info.height = u32::from(u16::from_be_bytes([segment[1], segment[2]]));
                info.width = u32::from(u16::from_be_bytes([segment[3], segment[4]]));
                let count = usize::from(segment[5]);
                info.component_ids = (0..count)
                    .filter_map(|i| segment.get(6 + 3 * i).copied())
                    .collect();
            }
            0xE0 if segment.starts_with(b"JFIF\0") => {
                info.jfif = true;
                if segment.len() >= 12 {
                    let unit = segment[7];
                    let x = f64::from(u16::from_be_bytes([segment[8], segment[9]]));
                    let y = f64::from(u16::from_be_bytes([segment[10], segment[11]]));
                    if unit == 1 || unit == 2 {
                        info.resolution = Resolution::from_file(x, y, unit == 2);
                    }
                }
            }
            0xE1 if segment.starts_with(b"Exif\0\0") => {
                exif_resolution = tiff_directories(&segment[6..])
                    .ok()
                    .and_then(|dirs| dirs.first().and_then(|d| d.resolution));
            }
            0xEE if segment.starts_with(b"Adobe") && segment.len() >= 12 => {
                info.adobe_transform = Some(segment[11]);
            }
            _ => {}
        }
    }
    if info.resolution.is_none() {
        info.resolution = exif_resolution;
    }
    Some(info)
}

fn jpeg_page(
    content: &[u8],
    fallback: Resolution,
    limits: &PreserveLimits,
) -> Result<PageImage, PreserveError> {
    let info =
        jpeg_info(content).ok_or_else(|| PreserveError::Decode("不是 JPEG 文件".to_owned()))?;
    if info.sof.is_some() {
        check_pixels(info.width, info.height, limits)?;
    }
    let resolution = info.resolution.unwrap_or(fallback);
    // Decode even when the bytes are embedded as they are: a copy that does not render is
    // worse than none, and this is where damaged files are refused.
    let image = decode_file(content, ImageFormat::Jpeg, limits)?;
    let components = info.component_ids.len();
    let passthrough = matches!(info.sof, Some(0xC0..=0xC2))
        && info.precision == 8
        && info.height > 0
        && (components == 1 || components == 3)
        && (image.width(), image.height()) == (info.width, info.height);
    if !passthrough {
        return Ok(flate_page(image, resolution));
    }
    let rgb = components == 3;
    // Readers assume YCbCr for three components unless an Adobe marker says otherwise; a file
    // without JFIF or Adobe marker whose components are named R, G, B holds RGB.
    let rgb_without_transform =
        rgb && !info.jfif && info.adobe_transform.is_none() && info.component_ids == b"RGB";
    Ok(PageImage {
        width: info.width,
        height: info.height,
        rgb,
        bits_per_component: 8,
        encoding: Encoding::Jpeg {
            rgb_without_transform,
        },
        data: content.to_vec(),
        resolution,
    })
}

// ---------------------------------------------------------------------------------------------
// PNG
// ---------------------------------------------------------------------------------------------

/// The resolution in a PNG's `pHYs` chunk, when it is given per metre.
fn png_resolution(data: &[u8]) -> Option<Resolution> {
    let mut pos = 8;
    while let Some(header) = data.get(pos..pos + 8) {
        let length = usize::try_from(u32::from_be_bytes(header[..4].try_into().ok()?)).ok()?;
        let kind = &header[4..8];
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        if kind == b"pHYs" {
            let chunk = data.get(pos + 8..pos + 8 + length.max(9))?;
            if chunk[8] != 1 {
                return None;
            }
            let x = f64::from(u32::from_be_bytes(chunk[..4].try_into().ok()?));
            let y = f64::from(u32::from_be_bytes(chunk[4..8].try_into().ok()?));
            // Per metre, so per centimetre after / 100.
            return Resolution::from_file(x / 100.0, y / 100.0, true);
        }
        pos = pos.checked_add(12)?.checked_add(length)?;
    }
    None
}

// ---------------------------------------------------------------------------------------------
// TIFF
// ---------------------------------------------------------------------------------------------

/// One image file directory of a TIFF file.
#[derive(Debug)]
struct TiffDirectory {
    offset: u64,
    /// NewSubfileType bit 0: a reduced-resolution version of another page.
    reduced: bool,
    resolution: Option<Resolution>,
}

/// The byte order and layout of a TIFF file, for reading its directories.
struct TiffReader<'a> {
    data: &'a [u8],
    little: bool,
    big: bool,
}

impl TiffReader<'_> {
    fn bytes<const N: usize>(&self, at: u64) -> Option<[u8; N]> {
        let at = usize::try_from(at).ok()?;
        let mut bytes: [u8; N] = self.data.get(at..at.checked_add(N)?)?.try_into().ok()?;
        if !self.little {
            bytes.reverse();
        }
        Some(bytes)
    }
    fn u16(&self, at: u64) -> Option<u16> {
        self.bytes(at).map(u16::from_le_bytes)
    }
    fn u32(&self, at: u64) -> Option<u32> {
        self.bytes(at).map(u32::from_le_bytes)
    }
    fn u64(&self, at: u64) -> Option<u64> {
        self.bytes(at).map(u64::from_le_bytes)
    }
    /// An offset field: 4 bytes in classic TIFF, 8 in BigTIFF.
    fn offset(&self, at: u64) -> Option<u64> {
        if self.big {
            self.u64(at)
        } else {
            self.u32(at).map(u64::from)
        }
    }
    /// Where the first directory's offset is stored in the header.
    fn first_offset_at(&self) -> u64 {
        if self.big { 8 } else { 4 }
    }
    /// The first value of a SHORT, LONG or RATIONAL entry at `entry`.
    fn value(&self, entry: u64) -> Option<f64> {
        let kind = self.u16(entry + 2)?;
        let inline = entry + if self.big { 12 } else { 8 };
        match kind {
            3 => self.u16(inline).map(f64::from),
            4 => self.u32(inline).map(f64::from),
            5 => {
                let at = if self.big {
                    inline
                } else {
                    u64::from(self.u32(inline)?)
                };
                let (n, d) = (self.u32(at)?, self.u32(at + 4)?);
                (d != 0).then(|| f64::from(n) / f64::from(d))
            }
            _ => None,
        }
    }
}

/// Every directory in the main chain of a TIFF (or EXIF) structure, in order.
fn tiff_directories(data: &[u8]) -> Result<Vec<TiffDirectory>, PreserveError> {
    let bad = |why: &str| PreserveError::Decode(format!("TIFF 结构无效：{why}"));
    let little = match data.get(..2) {
        Some(b"II") => true,
        Some(b"MM") => false,
        _ => return Err(bad("字节序标记")),
    };
    let mut reader = TiffReader {
        data,
        little,
        big: false,
    };
    reader.big = match reader.u16(2) {
        Some(42) => false,
        Some(43) => true,
        _ => return Err(bad("版本号")),
    };
    let mut next = reader
        .offset(reader.first_offset_at())
        .ok_or_else(|| bad("文件头"))?;
    let mut seen = HashSet::new();
    let mut directories = Vec::new();
    while next != 0 {
        if !seen.insert(next) || directories.len() >= MAX_TIFF_PAGES {
            return Err(bad("目录循环或过多"));
        }
        let (count, entries_at, entry_size) = if reader.big {
            (reader.u64(next), next + 8, 20)
        } else {
            (reader.u16(next).map(u64::from), next + 2, 12)
        };
        let count = count.ok_or_else(|| bad("目录越界"))?;
        let mut directory = TiffDirectory {
            offset: next,
            reduced: false,
            resolution: None,
        };
        let (mut x, mut y, mut unit) = (None, None, 2.0);
        for i in 0..count {
            let entry = entries_at + i * entry_size;
            match reader.u16(entry).ok_or_else(|| bad("目录项越界"))? {
                254 => directory.reduced = reader.value(entry).is_some_and(|v| v as u32 & 1 == 1),
                282 => x = reader.value(entry),
                283 => y = reader.value(entry),
                296 => unit = reader.value(entry).unwrap_or(2.0),
                _ => {}
            }
        }
        if let (Some(x), Some(y)) = (x, y.or(x)) {
            // ResolutionUnit: 1 none, 2 inch (the default), 3 centimetre.
            if unit == 2.0 || unit == 3.0 {
                directory.resolution = Resolution::from_file(x, y, unit == 3.0);
            }
        }
        next = reader
            .offset(entries_at + count * entry_size)
            .ok_or_else(|| bad("目录越界"))?;
        directories.push(directory);
    }
    if directories.is_empty() {
        return Err(bad("没有图像"));
    }
    Ok(directories)
}

/// Every full-resolution page of a TIFF. The image crate decodes a TIFF's first directory
/// only, so each further page is decoded from a copy of the file whose header points at that
/// page's directory (offsets in a TIFF are absolute, so nothing else changes).
fn tiff_pages(
    content: &[u8],
    fallback: Resolution,
    limits: &PreserveLimits,
) -> Result<Vec<PageImage>, PreserveError> {
    let directories = tiff_directories(content)?;
    let little = content.starts_with(b"II");
    let big = content.get(2..4) == Some(if little { &[43, 0] } else { &[0, 43] });
    // The first page decodes from the file as it is; only further pages need a copy whose
    // header can be pointed elsewhere.
    let mut copy: Option<Vec<u8>> = None;
    let mut pages = Vec::new();
    for (index, directory) in directories.iter().enumerate() {
        if index > 0 && directory.reduced {
            continue;
        }
        let file: &[u8] = if index == 0 {
            content
        } else {
            let header: Vec<u8> = if big {
                if little {
                    directory.offset.to_le_bytes()
                } else {
                    directory.offset.to_be_bytes()
                }
                .to_vec()
            } else {
                let offset = u32::try_from(directory.offset)
                    .map_err(|_| PreserveError::Decode("TIFF 目录偏移无效".to_owned()))?;
                if little {
                    offset.to_le_bytes()
                } else {
                    offset.to_be_bytes()
                }
                .to_vec()
            };
            let at = if big { 8 } else { 4 };
            let file = copy.get_or_insert_with(|| content.to_vec());
            file[at..at + header.len()].copy_from_slice(&header);
            file
        };
        let decoder =
            image::codecs::tiff::TiffDecoder::new(Cursor::new(file)).map_err(decode_error)?;
        let image = decode_bounded(decoder, limits)?;
        pages.push(flate_page(image, directory.resolution.unwrap_or(fallback)));
    }
    Ok(pages)
}

// ---------------------------------------------------------------------------------------------
// Metadata
// ---------------------------------------------------------------------------------------------

/// An RFC 3339 timestamp, reduced to whole seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Timestamp {
    date_time: [u16; 6],
    /// `None` for UTC (`Z`), else sign and hours and minutes east.
    offset: Option<(char, u16, u16)>,
}

impl Timestamp {
    fn parse(text: &str) -> Result<Self, PreserveError> {
        let invalid = || PreserveError::InvalidTimestamp(text.to_owned());
        let b = text.as_bytes();
        let number = |range: std::ops::Range<usize>| -> Option<u16> {
            let digits = b.get(range)?;
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(digits).ok()?.parse().ok()
        };
        let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
        if b.len() < 20
            || separators.iter().any(|&(i, c)| b[i] != c)
            || !matches!(b[10], b'T' | b't' | b' ')
        {
            return Err(invalid());
        }
        let fields = [0..4, 5..7, 8..10, 11..13, 14..16, 17..19].map(number);
        let [
            Some(year),
            Some(month),
            Some(day),
            Some(hour),
            Some(minute),
            Some(second),
        ] = fields
        else {
            return Err(invalid());
        };
        let mut rest = &text[19..];
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            rest = &fraction[digits..];
        }
        let offset = match rest.as_bytes() {
            [b'Z' | b'z'] => None,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let digits = [*h1, *h2, *m1, *m2];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return Err(invalid());
                }
                let [h1, h2, m1, m2] = digits.map(|d| u16::from(d - b'0'));
                let (hours, minutes) = (h1 * 10 + h2, m1 * 10 + m2);
                if hours > 23 || minutes > 59 {
                    return Err(invalid());
                }
                Some((char::from(*sign), hours, minutes))
            }
            _ => return Err(invalid()),
        };
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return Err(invalid()),
        };
        if day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
            return Err(invalid());
        }
        Ok(Timestamp {
            date_time: [year, month, day, hour, minute, second],
            offset,
        })
    }

    /// `2026-12-06T14:03:00+08:00`
    fn xmp(&self) -> String {
        let [y, mo, d, h, mi, s] = self.date_time;
        let offset = match self.offset {
            None => "Z".to_owned(),
            Some((sign, hours, minutes)) => format!("{sign}{hours:02}:{minutes:02}"),
        };
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{offset}")
    }

    /// `D:20261206140300+08'00'`
    fn pdf(&self) -> String {
        let [y, mo, d, h, mi, s] = self.date_time;
        let offset = match self.offset {
            None => "Z".to_owned(),
            Some((sign, hours, minutes)) => format!("{sign}{hours:02}'{minutes:02}'"),
        };
        format!("D:{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}{offset}")
    }
}

/// The title with control characters (not allowed in XML, or changed by XML line-end
/// normalisation) replaced by spaces and the ends trimmed, so that the XMP and the Info
/// dictionary say the same.
fn sanitize_title(title: &str) -> String {
    title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The XMP packet of the document: PDF/A identification, title, dates, tool and producer.
fn xmp_packet(title: &str, created: &Timestamp) -> String {
    let date = created.xmp();
    let title_xml = if title.is_empty() {
        String::new()
    } else {
        format!(
            "   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:title>\n",
            xml_escape(title)
        )
    };
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
 <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
  <rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n\
   <pdfaid:part>2</pdfaid:part>\n\
   <pdfaid:conformance>B</pdfaid:conformance>\n\
  </rdf:Description>\n\
  <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n\
   <dc:format>application/pdf</dc:format>\n\
{title_xml}\
  </rdf:Description>\n\
  <rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\n\
   <xmp:CreateDate>{date}</xmp:CreateDate>\n\
   <xmp:ModifyDate>{date}</xmp:ModifyDate>\n\
   <xmp:MetadataDate>{date}</xmp:MetadataDate>\n\
   <xmp:CreatorTool>{CREATOR_TOOL}</xmp:CreatorTool>\n\
  </rdf:Description>\n\
  <rdf:Description rdf:about=\"\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n\
   <pdf:Producer>{PRODUCER}</pdf:Producer>\n\
  </rdf:Description>\n\
 </rdf:RDF>\n\
</x:xmpmeta>\n\
<?xpacket end=\"w\"?>"
    )
}

/// A PDF text string in UTF-16BE with byte order mark, as a hex string.
fn pdf_text_hex(text: &str) -> String {
    let mut hex = String::from("<FEFF");
    for unit in text.encode_utf16() {
        let _ = write!(hex, "{unit:04X}");
    }
    hex.push('>');
    hex
}

// ---------------------------------------------------------------------------------------------
// ICC profile
// ---------------------------------------------------------------------------------------------

/// s15Fixed16Number, big-endian.
fn s15f16(value: f64) -> [u8; 4] {
    // Values here are small (|v| < 2), far inside i32.
    ((value * 65536.0).round() as i32).to_be_bytes()
}

fn xyz_tag(x: f64, y: f64, z: f64) -> Vec<u8> {
    let mut tag = b"XYZ \0\0\0\0".to_vec();
    for v in [x, y, z] {
        tag.extend(s15f16(v));
    }
    tag
}

/// An ICC v2.1 sRGB display profile ("sRGB IEC61966-2.1"), generated:
///
/// * header (128 bytes): size, version 2.1.0, class `mntr`, colour space `RGB `, PCS `XYZ `,
///   a fixed date (2026-01-01), `acsp`, perceptual intent, D50 illuminant
///   (0.9642, 1.0, 0.8249), everything else zero;
/// * tags: `desc` (textDescriptionType), `cprt` (textType), `wtpt` D65 (0.9505, 1.0, 1.0891)
///   as in the common v2 sRGB profile, `rXYZ`/`gXYZ`/`bXYZ` the sRGB primaries adapted to D50
///   (Bradford) as in that profile, and one `curv` of 1024 samples of the sRGB transfer
///   function shared by `rTRC`, `gTRC` and `bTRC`;
/// * everything big-endian, each tag's data starting on a 4-byte boundary.
fn srgb_icc_profile() -> Vec<u8> {
    let mut description = b"desc\0\0\0\0".to_vec();
    let name = b"sRGB IEC61966-2.1\0";
    description.extend(u32::try_from(name.len()).unwrap_or(0).to_be_bytes());
    description.extend(name);
    description.extend([0u8; 4]); // Unicode language code
    description.extend([0u8; 4]); // Unicode count
    description.extend([0u8; 2]); // ScriptCode code
    description.push(0); // ScriptCode count
    description.extend([0u8; 67]); // ScriptCode string
    let mut copyright = b"text\0\0\0\0".to_vec();
    copyright.extend(b"No copyright, use freely\0");
    let mut curve = b"curv\0\0\0\0".to_vec();
    let samples: u16 = 1024;
    curve.extend(u32::from(samples).to_be_bytes());
    for i in 0..samples {
        let v = f64::from(i) / f64::from(samples - 1);
        let linear = if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        };
        // In 0 ..= 65535 by construction.
        curve.extend(((linear * 65535.0).round() as u16).to_be_bytes());
    }
    let elements: [(&[u8; 4], Vec<u8>); 7] = [
        (b"desc", description),
        (b"cprt", copyright),
        (b"wtpt", xyz_tag(0.9505, 1.0, 1.0891)),
        (b"rXYZ", xyz_tag(0.436_074_7, 0.222_504_5, 0.013_932_2)),
        (b"gXYZ", xyz_tag(0.385_064_9, 0.716_878_6, 0.097_104_5)),
        (b"bXYZ", xyz_tag(0.143_080_4, 0.060_616_9, 0.714_173_3)),
        (b"rTRC", curve),
    ];
    let tag_count = elements.len() + 2; // gTRC and bTRC share rTRC's data
    let mut table = Vec::new();
    let mut data = Vec::new();
    let data_start = 128 + 4 + 12 * tag_count;
    let mut curve_entry = (0u32, 0u32);
    for (signature, element) in &elements {
        let offset = u32::try_from(data_start + data.len()).unwrap_or(0);
        let size = u32::try_from(element.len()).unwrap_or(0);
        table.extend(*signature);
        table.extend(offset.to_be_bytes());
        table.extend(size.to_be_bytes());
        data.extend(element);
        while data.len() % 4 != 0 {
            data.push(0);
        }
        if *signature == b"rTRC" {
            curve_entry = (offset, size);
        }
    }
    for signature in [b"gTRC", b"bTRC"] {
        table.extend(signature);
        table.extend(curve_entry.0.to_be_bytes());
        table.extend(curve_entry.1.to_be_bytes());
    }
    let size = u32::try_from(data_start + data.len()).unwrap_or(0);
    let mut profile = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    profile.extend(size.to_be_bytes());
    profile.extend([0u8; 4]); // preferred CMM
    profile.extend([0x02, 0x10, 0x00, 0x00]); // version 2.1.0
    profile.extend(b"mntr");
    profile.extend(b"RGB ");
    profile.extend(b"XYZ ");
    for field in [2026u16, 1, 1, 0, 0, 0] {
        profile.extend(field.to_be_bytes());
    }
    profile.extend(b"acsp");
    profile.extend([0u8; 4]); // primary platform
    profile.extend([0u8; 4]); // flags
    profile.extend([0u8; 4]); // device manufacturer
    profile.extend([0u8; 4]); // device model
    profile.extend([0u8; 8]); // device attributes
    profile.extend([0u8; 4]); // rendering intent: perceptual
    for v in [0.9642, 1.0, 0.8249] {
        profile.extend(s15f16(v));
    }
    profile.extend([0u8; 4]); // creator
    profile.resize(128, 0); // profile ID (v4 only) and reserved bytes
    profile.extend(u32::try_from(tag_count).unwrap_or(0).to_be_bytes());
    profile.extend(table);
    profile.extend(data);
    profile
}

// ---------------------------------------------------------------------------------------------
// PDF file
// ---------------------------------------------------------------------------------------------

/// A number of points with at most four decimals and no trailing zeros.
fn points(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_owned()
}

/// Writes numbered objects in order and remembers where each starts.
struct PdfWriter {
    out: Vec<u8>,
    offsets: Vec<usize>,
}

impl PdfWriter {
    fn new() -> Self {
        // The header, then a comment of four bytes above 127 (ISO 19005-2, 6.1.2).
        PdfWriter {
            out: b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(),
            offsets: Vec::new(),
        }
    }

    /// The next object's number.
    fn next_id(&self) -> usize {
        self.offsets.len() + 1
    }

    fn object(&mut self, id: usize, body: &str) {
        debug_assert_eq!(id, self.next_id());
        self.offsets.push(self.out.len());
        self.out
            .extend(format!("{id} 0 obj\n{body}\nendobj\n").as_bytes());
    }

    /// A stream object; `dictionary` is the part of the stream dictionary before `/Length`.
    fn stream(&mut self, id: usize, dictionary: &str, data: &[u8]) {
        debug_assert_eq!(id, self.next_id());
        self.offsets.push(self.out.len());
        self.out.extend(
            format!(
                "{id} 0 obj\n<< {dictionary} /Length {} >>\nstream\n",
                data.len()
            )
            .as_bytes(),
        );
        self.out.extend(data);
        self.out.extend(b"\nendstream\nendobj\n");
    }

    /// The cross-reference table and trailer; the file identifier is the first 16 bytes of
    /// the SHA-256 of everything before it.
    fn finish(mut self, root: usize, info: usize) -> Vec<u8> {
        let id = hex::encode_upper(&Sha256::digest(&self.out)[..16]);
        let xref_at = self.out.len();
        let size = self.offsets.len() + 1;
        let mut xref = format!("xref\n0 {size}\n0000000000 65535 f \n");
        for offset in &self.offsets {
            let _ = writeln!(xref, "{offset:010} 00000 n ");
        }
        let _ = write!(
            xref,
            "trailer\n<< /Size {size} /Root {root} 0 R /Info {info} 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref_at}\n%%EOF\n"
        );
        self.out.extend(xref.as_bytes());
        self.out
    }
}

fn write_pdf(pages: &[PageImage], title: &str, created: &Timestamp) -> Vec<u8> {
    const CATALOG: usize = 1;
    const PAGES: usize = 2;
    const METADATA: usize = 3;
    const PROFILE: usize = 4;
    const INFO: usize = 5;
    const FIRST_PAGE: usize = 6;
    let page_id = |index: usize| FIRST_PAGE + 3 * index;

    let mut pdf = PdfWriter::new();
    pdf.object(
        CATALOG,
        &format!(
            "<< /Type /Catalog /Pages {PAGES} 0 R /Metadata {METADATA} 0 R /OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier ({OUTPUT_CONDITION}) /Info ({OUTPUT_CONDITION}) /DestOutputProfile {PROFILE} 0 R >>] >>"
        ),
    );
    let kids: Vec<String> = (0..pages.len())
        .map(|index| format!("{} 0 R", page_id(index)))
        .collect();
    pdf.object(
        PAGES,
        &format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        ),
    );
    pdf.stream(
        METADATA,
        "/Type /Metadata /Subtype /XML",
        xmp_packet(title, created).as_bytes(),
    );
    pdf.stream(
        PROFILE,
        "/N 3 /Filter /FlateDecode",
        &zlib(&srgb_icc_profile()),
    );
    let date = created.pdf();
    let title_entry = if title.is_empty() {
        String::new()
    } else {
        format!("/Title {} ", pdf_text_hex(title))
    };
    pdf.object(
        INFO,
        &format!(
            "<< {title_entry}/Creator ({CREATOR_TOOL}) /Producer ({PRODUCER}) /CreationDate ({date}) /ModDate ({date}) >>"
        ),
    );
    for (index, page) in pages.iter().enumerate() {
        let id = page_id(index);
        let (width, height) = page.size_pt();
        let (width, height) = (points(width), points(height));
        pdf.object(
            id,
            &format!(
                "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {width} {height}] /Resources << /XObject << /Im0 {} 0 R >> >> /Contents {} 0 R >>",
                id + 2,
                id + 1
            ),
        );
        let content = format!("q {width} 0 0 {height} 0 0 cm /Im0 Do Q");
        pdf.stream(id + 1, "/Filter /FlateDecode", &zlib(content.as_bytes()));
        let color_space = if page.rgb {
            "/DeviceRGB"
        } else {
            "/DeviceGray"
        };
        let filter = match page.encoding {
            Encoding::Jpeg {
                rgb_without_transform: true,
            } => "/Filter /DCTDecode /DecodeParms << /ColorTransform 0 >>",
            Encoding::Jpeg { .. } => "/Filter /DCTDecode",
            Encoding::Flate => "/Filter /FlateDecode",
        };
        pdf.stream(
            id + 2,
            &format!(
                "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace {color_space} /BitsPerComponent {} {filter}",
                page.width, page.height, page.bits_per_component
            ),
            &page.data,
        );
    }
    pdf.finish(CATALOG, INFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_become_equal_xmp_and_pdf_dates() {
        let t = Timestamp::parse("2026-12-06T14:03:00+08:00").expect("valid");
        assert_eq!(t.xmp(), "2026-12-06T14:03:00+08:00");
        assert_eq!(t.pdf(), "D:20261206140300+08'00'");
        let utc = Timestamp::parse("2024-02-29T23:59:59.250Z").expect("valid");
        assert_eq!(utc.xmp(), "2024-02-29T23:59:59Z");
        assert_eq!(utc.pdf(), "D:20240229235959Z");
        for bad in [
            "2026-12-06T14:03:00",
            "2026-12-06",
            "2025-02-29T00:00:00Z",
            "2026-13-06T14:03:00+08:00",
            "2026-12-06T24:03:00+08:00",
            "2026-12-06T14:03:00+8:00",
            "２026-12-06T14:03:00+08:00",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn the_generated_icc_profile_is_well_formed() {
        let p = srgb_icc_profile();
        let be32 = |at: usize| u32::from_be_bytes(p[at..at + 4].try_into().expect("4 bytes"));
        assert_eq!(be32(0) as usize, p.len());
        assert_eq!(&p[8..12], &[2, 0x10, 0, 0]);
        assert_eq!(&p[12..16], b"mntr");
        assert_eq!(&p[16..20], b"RGB ");
        assert_eq!(&p[20..24], b"XYZ ");
        assert_eq!(&p[36..40], b"acsp");
        assert_eq!(be32(68), 0xF6D6);
        assert_eq!(be32(72), 0x1_0000);
        assert_eq!(be32(76), 0xD32D);
        let count = be32(128) as usize;
        assert_eq!(count, 9);
        for i in 0..count {
            let entry = 132 + 12 * i;
            let (offset, size) = (be32(entry + 4) as usize, be32(entry + 8) as usize);
            assert_eq!(offset % 4, 0);
            assert!(offset >= 132 + 12 * count && offset + size <= p.len());
        }
        assert_eq!(p.len() % 4, 0);
    }

    #[test]
    fn bilevel_rows_are_packed_most_significant_bit_first() {
        let samples = [
            255, 0, 0, 0, 0, 0, 0, 0, 255, 0, 255, 255, 255, 255, 255, 255, 255, 255,
        ];
        assert_eq!(pack_bilevel(&samples, 9), vec![0x80, 0x80, 0x7F, 0x80]);
    }

    #[test]
    fn a_title_loses_control_characters_only() {
        assert_eq!(sanitize_title(" 张三\n档案\u{7}卷 "), "张三 档案 卷");
        assert_eq!(xml_escape("a<b&\"c\""), "a&lt;b&amp;&quot;c&quot;");
        assert_eq!(pdf_text_hex("张A"), "<FEFF5F200041>");
    }

    #[test]
    fn points_have_at_most_four_decimals() {
        assert_eq!(points(595.2), "595.2");
        assert_eq!(points(144.0), "144");
        assert_eq!(points(100.0 / 3.0), "33.3333");
    }
}
