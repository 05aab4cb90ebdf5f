//! PDF through `lopdf`: structure, page tree, readability of contents and images, scan
//! resolution, the catalog's XMP claim, the basic PDF/A conformance subset, signature fields.

use std::collections::HashSet;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};

use lopdf::xref::XrefRecovery;
use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, Stream};

use super::{Found, Limits, Readability, Rule, decode_text, xml};

/// An XMP packet larger than this is refused (real ones are a few KiB).
const MAX_XMP: u64 = 16 * 1024 * 1024;
/// Depth bound of any walk over the object graph.
const MAX_DEPTH: usize = 64;
/// The namespace of `pdfaid`.
const PDFAID_NS: &str = "http://www.aiim.org/pdfa/ns/id/";

/// Full identification of a PDF; a panic inside the parser is an unreadable file.
pub(super) fn identify(content: &[u8], limits: &Limits) -> Found {
    catch_unwind(AssertUnwindSafe(|| parse(content, limits))).unwrap_or_else(|_| {
        Found::new(Readability::Unreadable(
            "PDF 结构无法解析（解析器异常）".to_owned(),
        ))
    })
}

fn unreadable(why: impl Into<String>) -> Found {
    Found::new(Readability::Unreadable(why.into()))
}

fn parse(content: &[u8], limits: &Limits) -> Found {
    let tail = &content[content.len().saturating_sub(1024)..];
    if super::find(tail, b"%%EOF").is_none() {
        return unreadable("PDF 文件不完整：末尾缺少 %%EOF（文件可能被截断）");
    }
    let options = LoadOptions {
        max_decompressed_size: Some(usize::try_from(limits.max_inflate).unwrap_or(usize::MAX)),
        ..LoadOptions::default()
    };
    let doc = match Document::load_mem_with_options(content, options) {
        Ok(doc) => doc,
        Err(lopdf::Error::Decompress(_)) => {
            return unreadable("PDF 对象流或交叉引用流无法解压或超过上限（拒绝可能的解压炸弹）");
        }
        Err(e) if content.windows(8).any(|w| w == b"/Encrypt") => {
            return unreadable(format!("PDF 已加密，无法打开：{e}"));
        }
        Err(e) => return unreadable(format!("PDF 结构无法解析（交叉引用表或文件尾损坏）：{e}")),
    };
    let mut note = "";
    match doc.xref_recovery {
        Some(XrefRecovery::Reconstructed) => {
            return unreadable(
                "PDF 交叉引用表损坏，只能扫描重建（对象可能缺失或来自旧版本），视为不可读",
            );
        }
        Some(_) => note = "（交叉引用偏移有误，已就近校正）",
        None => {}
    }
    let pages = match page_tree(&doc) {
        Ok(p) => p,
        Err(e) => return unreadable(e),
    };
    let mut dpi: Option<u32> = None;
    for (n, &page) in pages.iter().enumerate() {
        match check_page(&doc, page, limits) {
            Ok(Some(d)) => dpi = Some(dpi.map_or(d, |m| m.min(d))),
            Ok(None) => {}
            Err(e) => return unreadable(format!("PDF 第 {} 页：{e}", n + 1)),
        }
    }
    let count = u32::try_from(pages.len()).unwrap_or(u32::MAX);
    let xmp = catalog_xmp(&doc);
    let pdfa = xmp.as_ref().ok().and_then(|x| x.claim.clone());
    let conformance = if pdfa.is_some() {
        rules(&doc, &xmp)
    } else {
        Vec::new()
    };
    Found {
        dpi,
        pages: Some(count),
        pdfa,
        readable: Readability::Readable(format!("PDF 结构完整，{count} 页均可解析{note}")),
        conformance,
        signatures: Some(signature_fields(&doc)),
    }
}

/// The pages of the page tree, each a page dictionary; `Err` with the reason otherwise.
fn page_tree(doc: &Document) -> Result<Vec<ObjectId>, String> {
    let catalog = doc
        .catalog()
        .map_err(|_| "PDF 缺少文档目录（Catalog），页面树无法解析")?;
    let root = catalog
        .get(b"Pages")
        .and_then(|p| doc.dereference(p))
        .and_then(|(_, o)| o.as_dict())
        .map_err(|_| "PDF 页面树根节点（/Pages）缺失或损坏")?;
    if !root.has(b"Kids") {
        return Err("PDF 页面树根节点缺少 /Kids".to_owned());
    }
    let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
    if pages.is_empty() {
        return Err("PDF 页面树中没有页面".to_owned());
    }
    for (n, &id) in pages.iter().enumerate() {
        match doc.get_dictionary(id) {
            Ok(d) if d.has_type(b"Page") => {}
            _ => return Err(format!("PDF 页面树损坏：第 {} 页对象缺失或不是页面", n + 1)),
        }
    }
    Ok(pages)
}

fn stream_of<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Stream> {
    doc.dereference(o).ok()?.1.as_stream().ok()
}

fn dict_of<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Dictionary> {
    doc.dereference(o).ok()?.1.as_dict().ok()
}

fn number(doc: &Document, o: &Object) -> Option<f64> {
    match doc.dereference(o).ok()?.1 {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

fn int(doc: &Document, d: &Dictionary, key: &[u8]) -> Option<i64> {
    doc.dereference(d.get(key).ok()?).ok()?.1.as_i64().ok()
}

/// A page attribute, inherited through `/Parent`.
fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut node = page;
    for _ in 0..MAX_DEPTH {
        if let Ok(v) = node.get(key) {
            return Some(v);
        }
        node = dict_of(doc, node.get(b"Parent").ok()?)?;
    }
    None
}

/// The stream's filter names.
fn filters(s: &Stream) -> Vec<Vec<u8>> {
    s.filters()
        .map(|f| f.into_iter().map(<[u8]>::to_vec).collect())
        .unwrap_or_default()
}

fn is_flate(f: &[u8]) -> bool {
    f == b"FlateDecode" || f == b"Fl"
}

/// How many bytes the stream decodes to (image codecs excepted: their encoded size), bounded by
/// `limit`: `Ok(None)` when it goes past it. Flate alone is inflated into nothing, counting.
fn decoded_len(s: &Stream, limit: u64) -> Result<Option<u64>, String> {
    let f = filters(s);
    if f.is_empty() {
        return Ok(Some(s.content.len() as u64));
    }
    if f.len() == 1 && is_flate(&f[0]) {
        let mut z = flate2::read::ZlibDecoder::new(&s.content[..]).take(limit.saturating_add(1));
        let n = std::io::copy(&mut z, &mut std::io::sink())
            .map_err(|e| format!("数据流解压失败：{e}"))?;
        return Ok((n <= limit).then_some(n));
    }
    let codecs: [&[u8]; 5] = [
        b"DCTDecode",
        b"DCT",
        b"JPXDecode",
        b"CCITTFaxDecode",
        b"JBIG2Decode",
    ];
    if f.iter().any(|x| codecs.contains(&x.as_slice())) {
        return Ok(Some(s.content.len() as u64));
    }
    match s.decompressed_content_with_limit(usize::try_from(limit).unwrap_or(usize::MAX)) {
        Ok(v) => Ok(Some(v.len() as u64)),
        Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => {
            Ok(None)
        }
        Err(e) => Err(format!("数据流解压失败：{e}")),
    }
}

/// The refusal of a stream that inflates past the limit.
fn bomb() -> String {
    "数据流解压后超过上限（拒绝可能的解压炸弹）".to_owned()
}

/// The XObject dictionaries of a page's resources (inherited ones included).
fn xobjects(doc: &Document, page: ObjectId) -> Vec<&Dictionary> {
    resources(doc, page)
        .into_iter()
        .filter_map(|r| dict_of(doc, r.get(b"XObject").ok()?))
        .collect()
}

fn resources(doc: &Document, page: ObjectId) -> Vec<&Dictionary> {
    let Ok((direct, ids)) = doc.get_page_resources(page) else {
        return Vec::new();
    };
    let mut out: Vec<&Dictionary> = direct.into_iter().collect();
    out.extend(ids.into_iter().filter_map(|id| doc.get_dictionary(id).ok()));
    out
}

/// Checks a page's contents and images; the page's resolution when it is a scan page (its
/// resources hold exactly one image XObject).
fn check_page(doc: &Document, page: ObjectId, limits: &Limits) -> Result<Option<u32>, String> {
    let dict = doc.get_dictionary(page).map_err(|_| "页面对象缺失")?;
    for id in doc.get_page_contents(page) {
        let s = doc
            .get_object(id)
            .and_then(Object::as_stream)
            .map_err(|_| "内容流缺失或损坏")?;
        decoded_len(s, limits.max_inflate)
            .and_then(|n| n.ok_or_else(bomb))
            .map_err(|e| format!("内容流{e}"))?;
    }
    let mut images = Vec::new();
    let mut seen = HashSet::new();
    for xo in xobjects(doc, page) {
        for (_, v) in xo.iter() {
            if let Ok(id) = v.as_reference()
                && !seen.insert(id)
            {
                continue;
            }
            let Some(s) = stream_of(doc, v) else {
                return Err("XObject 对象缺失或损坏".to_owned());
            };
            if s.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image") {
                images.push(check_image(doc, s, limits)?);
            }
        }
    }
    let [(w, h)] = images[..] else {
        return Ok(None);
    };
    let Some(mb) = inherited(doc, dict, b"MediaBox").and_then(|m| {
        let a = doc.dereference(m).ok()?.1.as_array().ok()?;
        let v: Vec<f64> = a.iter().filter_map(|x| number(doc, x)).collect();
        (v.len() == 4).then(|| ((v[2] - v[0]).abs(), (v[3] - v[1]).abs()))
    }) else {
        return Ok(None);
    };
    let rotate = inherited(doc, dict, b"Rotate")
        .and_then(|r| number(doc, r))
        .unwrap_or(0.0) as i64;
    Ok(scan_dpi(w, h, mb, rotate.rem_euclid(360)))
}

/// Resolution of an image of `w`×`h` pixels filling a media box of `mb` points. The image's
/// sides are paired with the box's by aspect ratio (a scan may be drawn turned); when the
/// ratio cannot tell (a square), `/Rotate` 90 or 270 pairs the width with the box's height.
fn scan_dpi(w: u32, h: u32, mb: (f64, f64), rotate: i64) -> Option<u32> {
    let (bw, bh) = mb;
    if bw < 1.0 || bh < 1.0 {
        return None;
    }
    let (w, h) = (f64::from(w), f64::from(h));
    let straight = ((w / h) - (bw / bh)).abs();
    let turned = ((w / h) - (bh / bw)).abs();
    let turn = if (straight - turned).abs() < 1e-3 {
        rotate == 90 || rotate == 270
    } else {
        turned < straight
    };
    let (bw, bh) = if turn { (bh, bw) } else { (bw, bh) };
    let dpi = (w / (bw / 72.0)).min(h / (bh / 72.0));
    super::raster::to_dpi(dpi)
}

/// Components per pixel of an image colour space, when told without looking up resources.
fn components(doc: &Document, cs: &Object) -> Option<u64> {
    let cs = doc.dereference(cs).ok()?.1;
    let name = match cs {
        Object::Name(n) => n.as_slice(),
        Object::Array(a) => a.first()?.as_name().ok()?,
        _ => return None,
    };
    match name {
        b"DeviceGray" | b"G" | b"CalGray" | b"Indexed" | b"I" | b"Separation" => Some(1),
        b"DeviceRGB" | b"RGB" | b"CalRGB" | b"Lab" => Some(3),
        b"DeviceCMYK" | b"CMYK" => Some(4),
        b"ICCBased" => {
            let a = cs.as_array().ok()?;
            let s = stream_of(doc, a.get(1)?)?;
            u64::try_from(int(doc, &s.dict, b"N")?).ok()
        }
        b"DeviceN" => {
            let a = cs.as_array().ok()?;
            Some(doc.dereference(a.get(1)?).ok()?.1.as_array().ok()?.len() as u64)
        }
        _ => None,
    }
}

/// The width and height of a JPEG from its SOF segment.
pub(super) fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2usize;
    loop {
        while *b.get(at)? == 0xFF && *b.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *b.get(at)? != 0xFF {
            return None;
        }
        let m = *b.get(at + 1)?;
        let len = usize::from(u16::from_be_bytes([*b.get(at + 2)?, *b.get(at + 3)?]));
        let sof = matches!(m, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
        if sof {
            let h = u16::from_be_bytes([*b.get(at + 5)?, *b.get(at + 6)?]);
            let w = u16::from_be_bytes([*b.get(at + 7)?, *b.get(at + 8)?]);
            return Some((u32::from(w), u32::from(h)));
        }
        if m == 0xDA || m == 0xD9 || len < 2 {
            return None;
        }
        at = at.checked_add(2 + len)?;
    }
}

/// Checks one image XObject; its width and height.
fn check_image(doc: &Document, s: &Stream, limits: &Limits) -> Result<(u32, u32), String> {
    let d = &s.dict;
    let dim = |k: &[u8]| {
        int(doc, d, k)
            .and_then(|v| u32::try_from(v).ok())
            .filter(|&v| v > 0)
    };
    let (Some(w), Some(h)) = (dim(b"Width"), dim(b"Height")) else {
        return Err("图像缺少有效的宽度或高度".to_owned());
    };
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_pixels {
        return Err(format!(
            "图像 {w}×{h} 像素超过上限 {} 像素（拒绝可能的解压炸弹）",
            limits.max_pixels
        ));
    }
    let mask = d
        .get(b"ImageMask")
        .and_then(Object::as_bool)
        .unwrap_or(false);
    let f = filters(s);
    let jpx = f.iter().any(|x| x == b"JPXDecode");
    let bpc = if mask {
        Some(1)
    } else {
        int(doc, d, b"BitsPerComponent")
    };
    match bpc {
        Some(1 | 2 | 4 | 8 | 16) => {}
        None if jpx => {}
        _ => return Err(format!("图像 {w}×{h} 的每分量位数无效")),
    }
    if f.len() == 1 && (f[0] == b"DCTDecode" || f[0] == b"DCT") {
        return match jpeg_size(&s.content) {
            Some(_) if !super::raster::jpeg_ends(&s.content) => {
                Err("JPEG 图像数据缺少结束标记（EOI），数据不完整".to_owned())
            }
            Some((jw, jh)) if jw == w && (jh == h || jh == 0) => Ok((w, h)),
            Some((jw, jh)) => Err(format!(
                "JPEG 图像头的尺寸 {jw}×{jh} 与图像字典的 {w}×{h} 不一致"
            )),
            None => Err("JPEG 图像头（SOF）无效或被截断".to_owned()),
        };
    }
    let comps = if mask {
        Some(1)
    } else {
        d.get(b"ColorSpace").ok().and_then(|cs| components(doc, cs))
    };
    let expected = match (comps, bpc) {
        (Some(c), Some(b)) if f.len() <= 1 => {
            let row = (u64::from(w) * c * u64::try_from(b).unwrap_or(8)).div_ceil(8);
            let predictor = d
                .get(b"DecodeParms")
                .ok()
                .and_then(|p| dict_of(doc, p))
                .and_then(|p| int(doc, p, b"Predictor"))
                .unwrap_or(1);
            let row = if predictor >= 10 { row + 1 } else { row };
            Some(row.saturating_mul(u64::from(h)))
        }
        _ => None,
    };
    // Data beyond what the dictionary declares (padding some writers add) is ignored by
    // readers, so it is tolerated: inflation stops just past the expected size.
    let limit = expected.map_or(limits.max_inflate, |e| e.min(limits.max_inflate));
    let n = match decoded_len(s, limit).map_err(|e| format!("图像{e}"))? {
        Some(n) => n,
        None if expected.is_some_and(|e| e <= limits.max_inflate) => limit,
        None => return Err(format!("图像{}", bomb())),
    };
    if let Some(e) = expected
        && (f.is_empty() || is_flate(&f[0]))
        && n < e
    {
        return Err(format!(
            "图像 {w}×{h} 的数据解压后为 {n} 字节，应为 {e} 字节（数据不完整）"
        ));
    }
    Ok((w, h))
}

/// The catalog's XMP: whether it is a filtered stream, and the claim it makes.
struct Xmp {
    filtered: bool,
    claim: Option<String>,
}

/// The XMP of the catalog's `/Metadata`; `Err` with the reason when absent or unreadable.
fn catalog_xmp(doc: &Document) -> Result<Xmp, String> {
    let catalog = doc.catalog().map_err(|_| "缺少文档目录")?;
    let m = catalog
        .get(b"Metadata")
        .map_err(|_| "文档目录中没有 /Metadata（XMP）")?;
    let s = stream_of(doc, m).ok_or("/Metadata 不是数据流")?;
    let bytes = s
        .decompressed_content_with_limit(MAX_XMP as usize)
        .map_err(|e| format!("XMP 数据流无法解压：{e}"))?;
    let text = decode_text(&bytes).ok_or("XMP 编码无法识别（非 UTF-8/16/32）")?;
    let elements = xml::parse(&text).map_err(|e| format!("XMP {e}"))?;
    Ok(Xmp {
        filtered: s.dict.has(b"Filter"),
        claim: pdfa_claim(&elements),
    })
}

/// `pdfaid:part` and `pdfaid:conformance`, as elements or attributes, with any prefix bound to
/// the pdfaid namespace; a claim only when both are valid (upper-case letters as the spec says).
fn pdfa_claim(elements: &[xml::Element]) -> Option<String> {
    let mut prefixes: Vec<String> = vec!["pdfaid".to_owned()];
    for e in elements {
        for (k, v) in &e.attrs {
            if let Some(p) = k.strip_prefix("xmlns:")
                && v.trim() == PDFAID_NS
            {
                prefixes.push(p.to_owned());
            }
        }
    }
    let value = |local: &str| -> Option<String> {
        let wanted: Vec<String> = prefixes.iter().map(|p| format!("{p}:{local}")).collect();
        elements.iter().find_map(|e| {
            if wanted.contains(&e.qname) {
                return Some(e.text.clone());
            }
            e.attrs
                .iter()
                .find(|(k, _)| wanted.contains(k))
                .map(|(_, v)| v.trim().to_owned())
        })
    };
    let part: u8 = value("part")?.parse().ok()?;
    let conformance = value("conformance").unwrap_or_default();
    let valid = match part {
        1 => matches!(conformance.as_str(), "A" | "B"),
        2 | 3 => matches!(conformance.as_str(), "A" | "B" | "U"),
        4 => matches!(conformance.as_str(), "" | "E" | "F"),
        _ => false,
    };
    valid.then(|| format!("{part}{conformance}"))
}

/// Every object of the document, through dictionaries and arrays, with the depth bound.
fn any_object(doc: &Document, f: &dyn Fn(&Dictionary) -> bool) -> bool {
    fn walk(o: &Object, f: &dyn Fn(&Dictionary) -> bool, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match o {
            Object::Dictionary(d) => f(d) || d.iter().any(|(_, v)| walk(v, f, depth + 1)),
            Object::Stream(s) => f(&s.dict) || s.dict.iter().any(|(_, v)| walk(v, f, depth + 1)),
            Object::Array(a) => a.iter().any(|v| walk(v, f, depth + 1)),
            _ => false,
        }
    }
    doc.objects.values().any(|o| walk(o, f, 0))
}

fn rule(
    code: &'static str,
    name: &'static str,
    passed: Option<bool>,
    reason: impl Into<String>,
) -> Rule {
    Rule {
        code,
        name,
        passed,
        reason: reason.into(),
    }
}

/// Fonts of a page whose font file is not embedded (Type3 exempt); their names.
fn unembedded_fonts(doc: &Document, page: ObjectId, out: &mut Vec<String>) {
    let mut res = resources(doc, page);
    // Forms' and patterns' own resources, one level deep.
    let nested: Vec<&Dictionary> = res
        .iter()
        .flat_map(|r| [r.get(b"XObject").ok(), r.get(b"Pattern").ok()])
        .flatten()
        .filter_map(|x| dict_of(doc, x))
        .flat_map(|x| x.iter().map(|(_, v)| v))
        .filter_map(|v| {
            stream_of(doc, v)
                .map(|s| &s.dict)
                .or_else(|| dict_of(doc, v))
        })
        .filter_map(|d| dict_of(doc, d.get(b"Resources").ok()?))
        .collect();
    res.extend(nested);
    for r in res {
        let Some(fonts) = r.get(b"Font").ok().and_then(|f| dict_of(doc, f)) else {
            continue;
        };
        for (key, v) in fonts.iter() {
            let Some(font) = dict_of(doc, v) else {
                continue;
            };
            let subtype = font
                .get(b"Subtype")
                .and_then(Object::as_name)
                .unwrap_or(b"");
            if subtype == b"Type3" {
                continue;
            }
            let described = if subtype == b"Type0" {
                font.get(b"DescendantFonts")
                    .ok()
                    .and_then(|d| doc.dereference(d).ok())
                    .and_then(|(_, a)| a.as_array().ok())
                    .and_then(|a| a.first())
                    .and_then(|d| dict_of(doc, d))
            } else {
                Some(font)
            };
            let embedded = described
                .and_then(|f| dict_of(doc, f.get(b"FontDescriptor").ok()?))
                .is_some_and(|fd| {
                    [&b"FontFile"[..], b"FontFile2", b"FontFile3"]
                        .iter()
                        .any(|k| fd.get(k).ok().and_then(|s| stream_of(doc, s)).is_some())
                });
            if !embedded {
                let name = font
                    .get(b"BaseFont")
                    .and_then(Object::as_name)
                    .unwrap_or(key);
                let name = String::from_utf8_lossy(name).into_owned();
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
}

/// The basic PDF/A conformance subset (基本符合性检查); see the module documentation.
fn rules(doc: &Document, xmp: &Result<Xmp, String>) -> Vec<Rule> {
    let mut out = Vec::new();
    let encrypted = doc.was_encrypted() || doc.trailer.has(b"Encrypt");
    out.push(rule(
        "PDFA-1",
        "不得加密",
        Some(!encrypted),
        if encrypted {
            "文件尾含 /Encrypt，文件已加密"
        } else {
            "未加密"
        },
    ));

    let catalog = doc.catalog().ok();
    let aa = catalog.is_some_and(|c| c.has(b"AA"));
    let js = any_object(doc, &|d| {
        d.has(b"JS")
            || d.has(b"JavaScript")
            || d.get(b"S").and_then(Object::as_name).ok() == Some(b"JavaScript")
    });
    out.push(rule(
        "PDFA-2",
        "不得含 JavaScript",
        Some(!aa && !js),
        match (js, aa) {
            (true, _) => "含 JavaScript 动作（/JavaScript 或 /JS）",
            (false, true) => "文档目录含附加动作 /AA",
            _ => "未发现 JavaScript 或附加动作",
        },
    ));

    let intent = catalog
        .and_then(|c| c.get(b"OutputIntents").ok())
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, a)| a.as_array().ok())
        .is_some_and(|a| {
            a.iter().filter_map(|i| dict_of(doc, i)).any(|i| {
                i.get(b"S").and_then(Object::as_name).ok() == Some(b"GTS_PDFA1")
                    && i.get(b"DestOutputProfile")
                        .ok()
                        .and_then(|p| stream_of(doc, p))
                        .is_some()
            })
        });
    out.push(rule(
        "PDFA-3",
        "须有 PDF/A 输出意图（含 ICC 特性文件）",
        Some(intent),
        if intent {
            "有 /S /GTS_PDFA1 输出意图及 DestOutputProfile"
        } else {
            "缺少 /S /GTS_PDFA1 输出意图或其 DestOutputProfile 数据流"
        },
    ));

    let mut missing = Vec::new();
    for page in doc.get_pages().into_values() {
        unembedded_fonts(doc, page, &mut missing);
    }
    out.push(rule(
        "PDFA-4",
        "所用字体须嵌入",
        Some(missing.is_empty()),
        if missing.is_empty() {
            "页面所用字体均已嵌入（Type3 字体除外）".to_owned()
        } else {
            format!("未嵌入的字体：{}", missing.join("、"))
        },
    ));

    let (passed, reason) = match xmp {
        Ok(x) if x.filtered => (false, "XMP 元数据流使用了压缩过滤器（/Filter）".to_owned()),
        Ok(_) => (true, "XMP 元数据存在，PDF/A 标识可解析".to_owned()),
        Err(e) => (false, e.clone()),
    };
    out.push(rule("PDFA-5", "XMP 元数据存在且有效", Some(passed), reason));
    out.push(rule(
        "PDFA-6",
        "文档信息字典与 XMP 一致",
        None,
        "未检查：文档信息字典与 XMP 的逐项一致性不在基本检查范围内",
    ));

    let lzw = doc.objects.values().any(|o| {
        o.as_stream()
            .is_ok_and(|s| filters(s).iter().any(|f| f == b"LZWDecode" || f == b"LZW"))
    });
    out.push(rule(
        "PDFA-7",
        "不得使用 LZW 压缩",
        Some(!lzw),
        if lzw {
            "有数据流使用 /LZWDecode"
        } else {
            "未使用 /LZWDecode"
        },
    ));

    let id = doc.trailer.has(b"ID");
    out.push(rule(
        "PDFA-8",
        "文件尾须有 /ID",
        Some(id),
        if id {
            "文件尾有 /ID"
        } else {
            "文件尾缺少 /ID"
        },
    ));
    out
}

/// Signature fields (`/FT /Sig`, inherited) of the AcroForm's field tree.
fn signature_fields(doc: &Document) -> u32 {
    fn walk(
        doc: &Document,
        o: &Object,
        sig: bool,
        depth: usize,
        seen: &mut HashSet<ObjectId>,
    ) -> u32 {
        if depth > MAX_DEPTH {
            return 0;
        }
        if let Ok(id) = o.as_reference()
            && !seen.insert(id)
        {
            return 0;
        }
        let Some(d) = dict_of(doc, o) else { return 0 };
        let sig = match d.get(b"FT").and_then(Object::as_name) {
            Ok(ft) => ft == b"Sig",
            Err(_) => sig,
        };
        let kids: Vec<&Object> = d
            .get(b"Kids")
            .ok()
            .and_then(|k| doc.dereference(k).ok())
            .and_then(|(_, a)| a.as_array().ok())
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let field_kids = kids
            .iter()
            .any(|k| dict_of(doc, k).is_some_and(|k| k.has(b"T")));
        let mut n = u32::from(sig && d.has(b"T") && !field_kids);
        for k in kids {
            n = n.saturating_add(walk(doc, k, sig, depth + 1, seen));
        }
        n
    }
    let Some(fields) = doc
        .catalog()
        .ok()
        .and_then(|c| dict_of(doc, c.get(b"AcroForm").ok()?))
        .and_then(|f| f.get(b"Fields").ok())
        .and_then(|f| doc.dereference(f).ok())
        .and_then(|(_, a)| a.as_array().ok())
    else {
        return 0;
    };
    let mut seen = HashSet::new();
    fields
        .iter()
        .map(|f| walk(doc, f, false, 0, &mut seen))
        .fold(0u32, u32::saturating_add)
}
