//! Rasters: resolution from the headers (PNG `pHYs`, JPEG JFIF density or EXIF `XResolution`,
//! TIFF `XResolution`), and a full decode under limits (every page of a TIFF).

use std::collections::HashSet;
use std::io::Cursor;

use image::{ImageError, ImageFormat, ImageReader};

use super::{Format, Found, Limits, Readability};

/// At most this many TIFF pages are walked (each is a decode, and a loop must end).
const MAX_TIFF_PAGES: usize = 10_000;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at.checked_add(1)?)?,
    ]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Rounds a positive, finite resolution to whole dots per inch.
pub(super) fn to_dpi(x: f64) -> Option<u32> {
    (x.is_finite() && x > 0.0 && x < 1e7).then(|| x.round() as u32)
}

/// PNG: `pHYs` in pixels per metre, before the first `IDAT`.
pub(super) fn png_dpi(b: &[u8]) -> Option<u32> {
    let mut at = 8usize;
    while at.checked_add(8)? <= b.len() {
        let len = be32(b, at)? as usize;
        let kind = b.get(at + 4..at + 8)?;
        if kind == b"pHYs" {
            let x = be32(b, at + 8)?;
            let unit = *b.get(at + 16)?;
            return if unit == 1 {
                to_dpi(f64::from(x) * 0.0254)
            } else {
                None
            };
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        at = at.checked_add(12)?.checked_add(len)?;
    }
    None
}

/// JPEG: the JFIF density, else the EXIF `XResolution` of IFD0.
pub(super) fn jpeg_dpi(b: &[u8]) -> Option<u32> {
    let mut at = 2usize;
    let mut exif = None;
    while at.checked_add(4)? <= b.len() {
        if b[at] != 0xFF {
            break;
        }
        let marker = b[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = be16(b, at + 2)? as usize;
        let body = b.get(at + 4..(at + 2 + len).min(b.len()))?;
        if marker == 0xE0 && body.starts_with(b"JFIF\0") {
            let units = *body.get(7)?;
            let x = f64::from(be16(body, 8)?);
            match units {
                1 => return to_dpi(x),
                2 => return to_dpi(x * 2.54),
                _ => {}
            }
        }
        if marker == 0xE1 && body.starts_with(b"Exif\0\0") && exif.is_none() {
            exif = Tiff::new(&body[6..]).and_then(|t| t.dpi(t.first_ifd()?));
        }
        at = at.checked_add(2)?.checked_add(len)?;
    }
    exif
}

/// A TIFF structure (a TIFF file, or EXIF's).
struct Tiff<'a> {
    b: &'a [u8],
    little: bool,
}

impl<'a> Tiff<'a> {
    fn new(b: &'a [u8]) -> Option<Self> {
        let little = match b.get(..4)? {
            b"II*\0" => true,
            b"MM\0*" => false,
            _ => return None,
        };
        Some(Tiff { b, little })
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let v = [*self.b.get(at)?, *self.b.get(at.checked_add(1)?)?];
        Some(if self.little {
            u16::from_le_bytes(v)
        } else {
            u16::from_be_bytes(v)
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let v: [u8; 4] = self.b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.little {
            u32::from_le_bytes(v)
        } else {
            u32::from_be_bytes(v)
        })
    }

    fn first_ifd(&self) -> Option<usize> {
        Some(self.u32_at(4)? as usize)
    }

    /// The offsets of every IFD of the chain; `Err` when the chain is broken (an offset out of
    /// the file, or a loop).
    fn ifds(&self) -> Result<Vec<usize>, &'static str> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut next = self.first_ifd().ok_or("TIFF 文件头不完整")?;
        while next != 0 {
            if out.len() >= MAX_TIFF_PAGES {
                return Err("TIFF 页数超过上限");
            }
            if !seen.insert(next) {
                return Err("TIFF 目录链成环");
            }
            let n = self
                .u16_at(next)
                .ok_or("TIFF 目录超出文件范围（文件可能被截断）")? as usize;
            let end = next + 2 + n * 12;
            next = self
                .u32_at(end)
                .ok_or("TIFF 目录超出文件范围（文件可能被截断）")? as usize;
            out.push(end - 2 - n * 12);
        }
        if out.is_empty() {
            return Err("TIFF 没有图像目录");
        }
        Ok(out)
    }

    /// `XResolution` of one IFD, in dots per inch.
    fn dpi(&self, ifd: usize) -> Option<u32> {
        let n = self.u16_at(ifd)? as usize;
        let (mut x, mut unit) = (None, 2u16);
        for i in 0..n.min(4096) {
            let e = ifd + 2 + i * 12;
            match self.u16_at(e)? {
                282 => {
                    let off = self.u32_at(e + 8)? as usize;
                    let (num, den) = (self.u32_at(off)?, self.u32_at(off.checked_add(4)?)?);
                    x = (den != 0).then(|| f64::from(num) / f64::from(den));
                }
                296 => unit = self.u16_at(e + 8)?,
                _ => {}
            }
        }
        match unit {
            2 => to_dpi(x?),
            3 => to_dpi(x? * 2.54),
            _ => None,
        }
    }
}

/// TIFF: `XResolution` of the first IFD.
pub(super) fn tiff_first_dpi(b: &[u8]) -> Option<u32> {
    let t = Tiff::new(b)?;
    t.dpi(t.first_ifd()?)
}

/// Whether JPEG data ends with its EOI marker (trailing padding aside): the decoder fills a
/// truncated scan with grey instead of failing.
pub(super) fn jpeg_ends(b: &[u8]) -> bool {
    let end = b
        .iter()
        .rposition(|&c| !matches!(c, 0 | b' ' | b'\r' | b'\n' | b'\t'))
        .map_or(0, |i| i + 1);
    b[..end].ends_with(&[0xFF, 0xD9])
}

/// Decodes one image under the limits.
fn decode(bytes: &[u8], format: ImageFormat, limits: &Limits) -> Result<(), String> {
    let mut lim = image::Limits::default();
    lim.max_alloc = Some(limits.max_pixels.saturating_mul(4));
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(lim.clone());
    let (w, h) = reader.into_dimensions().map_err(|e| why(&e))?;
    if w == 0 || h == 0 {
        return Err("图像尺寸为零".to_owned());
    }
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(format!(
            "图像 {w}×{h} 像素超过上限 {} 像素（拒绝可能的解压炸弹）",
            limits.max_pixels
        ));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(lim);
    reader.decode().map(drop).map_err(|e| why(&e))
}

fn why(e: &ImageError) -> String {
    match e {
        ImageError::Limits(_) => "图像解码所需内存超过上限（拒绝可能的解压炸弹）".to_owned(),
        ImageError::Unsupported(u) => format!("图像使用了不支持的编码：{u}"),
        other => format!("图像无法解码：{other}"),
    }
}

/// Full identification of a PNG, JPEG or TIFF.
pub(super) fn identify(format: Format, b: &[u8], limits: &Limits) -> Found {
    let mut found = Found::new(Readability::Readable(String::new()));
    match format {
        Format::Png | Format::Jpeg => {
            let (dpi, kind, name) = if format == Format::Png {
                (png_dpi(b), ImageFormat::Png, "PNG")
            } else {
                (jpeg_dpi(b), ImageFormat::Jpeg, "JPEG")
            };
            found.dpi = dpi;
            found.pages = Some(1);
            let ended = format != Format::Jpeg || jpeg_ends(b);
            found.readable = match decode(b, kind, limits) {
                Ok(()) if !ended => {
                    Readability::Unreadable("JPEG 缺少结束标记（EOI），文件可能被截断".to_owned())
                }
                Ok(()) => Readability::Readable(format!("{name} 图像解码完整")),
                Err(e) => Readability::Unreadable(e),
            };
        }
        _ => {
            let Some(t) = Tiff::new(b) else {
                found.readable = Readability::Unreadable("TIFF 文件头无效".to_owned());
                return found;
            };
            let ifds = match t.ifds() {
                Ok(ifds) => ifds,
                Err(e) => {
                    found.dpi = t.first_ifd().and_then(|i| t.dpi(i));
                    found.readable = Readability::Unreadable(e.to_owned());
                    return found;
                }
            };
            found.pages = u32::try_from(ifds.len()).ok();
            found.dpi = ifds.iter().map(|&i| t.dpi(i)).min().flatten();
            // Each page is decoded as the first image of a copy whose header points at it.
            let mut copy = b.to_vec();
            for (n, &ifd) in ifds.iter().enumerate() {
                let off = u32::try_from(ifd).unwrap_or(0);
                let bytes = if t.little {
                    off.to_le_bytes()
                } else {
                    off.to_be_bytes()
                };
                copy[4..8].copy_from_slice(&bytes);
                if let Err(e) = decode(&copy, ImageFormat::Tiff, limits) {
                    found.readable = Readability::Unreadable(format!("TIFF 第 {} 页：{e}", n + 1));
                    return found;
                }
            }
            found.readable =
                Readability::Readable(format!("TIFF 结构完整，{} 页均可解码", ifds.len()));
        }
    }
    found
}
