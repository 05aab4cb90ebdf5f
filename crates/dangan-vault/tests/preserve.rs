//! PDF/A-2B preservation copies, checked with the real tools: qpdf, pdfinfo, Ghostscript and
//! pdfimages (poppler-utils), plus lopdf for the metadata.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use dangan_vault::identify::Format;
use dangan_vault::preserve::{PreservationCopy, PreserveLimits, pdfa_copy};
use image::{DynamicImage, GrayImage, ImageBuffer, ImageFormat, Luma, Rgb, RgbImage, Rgba};
use lopdf::{Document, Object};

const CREATED: &str = "2026-12-06T14:03:00+08:00";
const TITLE: &str = "张三 养老保险档案 第1卷 <原件> & 副本";

/// A tool from /usr/bin, or a clear failure.
fn tool(name: &str) -> PathBuf {
    let path = Path::new("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: install qpdf, poppler-utils and ghostscript (the project's test script does)",
        path.display()
    );
    path
}

fn run(name: &str, args: &[&str], file: &Path) -> (bool, String, String) {
    let output = Command::new(tool(name))
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{name} did not run: {e}"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// One row of `pdfimages -list`.
#[derive(Debug)]
struct Listed {
    width: u32,
    height: u32,
    color: String,
    bpc: u32,
    encoding: String,
}

/// Checks the file with qpdf, pdfinfo, Ghostscript and pdfimages; returns the images listed.
/// `sizes` are the expected page sizes in points.
fn check_with_tools(pdf: &[u8], sizes: &[(f64, f64)]) -> Vec<Listed> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("copy.pdf");
    std::fs::write(&file, pdf).expect("write the PDF");

    let (ok, out, err) = run("qpdf", &["--check"], &file);
    assert!(ok, "qpdf --check failed:\n{out}\n{err}");
    assert!(
        out.contains("No syntax or stream encoding errors found") && !out.contains("WARNING"),
        "qpdf --check:\n{out}\n{err}"
    );

    let (ok, out, err) = run("pdfinfo", &["-f", "1", "-l", "1000"], &file);
    assert!(ok, "pdfinfo failed: {err}");
    assert!(err.is_empty(), "pdfinfo complained: {err}");
    let pages: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .expect("pdfinfo prints Pages")
        .trim()
        .parse()
        .expect("a page count");
    assert_eq!(pages, sizes.len(), "page count:\n{out}");
    let listed_sizes: Vec<(f64, f64)> = out
        .lines()
        .filter(|l| l.starts_with("Page ") && l.contains(" size:"))
        .map(|l| {
            let rest = l.split("size:").nth(1).expect("a size").trim();
            let mut parts = rest.split_whitespace();
            let w = parts.next().expect("width").parse().expect("width number");
            assert_eq!(parts.next(), Some("x"));
            let h = parts
                .next()
                .expect("height")
                .parse()
                .expect("height number");
            (w, h)
        })
        .collect();
    assert_eq!(listed_sizes.len(), sizes.len(), "sizes:\n{out}");
    for (got, want) in listed_sizes.iter().zip(sizes) {
        assert!(
            (got.0 - want.0).abs() < 0.01 && (got.1 - want.1).abs() < 0.01,
            "page size {got:?}, expected {want:?}"
        );
    }

    let (ok, out, err) = run(
        "gs",
        &["-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=nullpage", "-q"],
        &file,
    );
    assert!(ok, "Ghostscript failed:\n{out}\n{err}");
    assert!(err.is_empty(), "Ghostscript complained: {err}");

    let (ok, out, err) = run("pdfimages", &["-list"], &file);
    assert!(ok && err.is_empty(), "pdfimages -list failed: {err}");
    // page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
    out.lines()
        .skip(2)
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f[2], "image", "{line}");
            Listed {
                width: f[3].parse().expect("width"),
                height: f[4].parse().expect("height"),
                color: f[5].to_owned(),
                bpc: f[7].parse().expect("bpc"),
                encoding: f[8].to_owned(),
            }
        })
        .collect()
}

fn copy(content: &[u8], format: Format, dpi: Option<u32>) -> PreservationCopy {
    pdfa_copy(
        content,
        format,
        dpi,
        TITLE,
        CREATED,
        &PreserveLimits::default(),
    )
    .unwrap_or_else(|e| panic!("no copy: {e} ({})", e.code()))
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

fn jpeg(image: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    // Through write_with_encoder, so that a gray image is written with one component.
    image
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 85,
        ))
        .expect("encode JPEG");
    out
}

fn gradient_gray(width: u32, height: u32) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| Luma([((x + 2 * y) % 251) as u8]))
}

fn gradient_rgb(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    })
}

/// The stream of the first page's image.
fn first_image(doc: &Document) -> lopdf::Stream {
    let (_, page) = doc.get_pages().into_iter().next().expect("a page");
    let page = doc.get_dictionary(page).expect("page dictionary");
    let resources = page
        .get(b"Resources")
        .and_then(Object::as_dict)
        .expect("resources");
    let xobjects = resources
        .get(b"XObject")
        .and_then(Object::as_dict)
        .expect("xobjects");
    let image = xobjects
        .get(b"Im0")
        .and_then(Object::as_reference)
        .expect("Im0");
    doc.get_object(image)
        .and_then(Object::as_stream)
        .expect("image stream")
        .clone()
}

#[test]
fn a_gray_jpeg_scan_is_embedded_without_re_encoding() {
    let input = jpeg(&DynamicImage::ImageLuma8(gradient_gray(600, 800)));
    let result = copy(&input, Format::Jpeg, Some(300));
    assert_eq!((result.pages, result.dpi), (1, 300));
    let listed = check_with_tools(&result.pdf, &[(144.0, 192.0)]);
    assert_eq!(listed.len(), 1);
    let image = &listed[0];
    assert_eq!((image.width, image.height), (600, 800));
    assert_eq!((image.color.as_str(), image.bpc), ("gray", 8));
    assert_eq!(image.encoding, "jpeg");
    let doc = Document::load_mem(&result.pdf).expect("lopdf reads the copy");
    assert_eq!(
        first_image(&doc).content,
        input,
        "the JPEG bytes are embedded unchanged"
    );
}

#[test]
fn an_rgb_jpeg_scan_is_embedded_without_re_encoding() {
    let input = jpeg(&DynamicImage::ImageRgb8(gradient_rgb(640, 480)));
    let result = copy(&input, Format::Jpeg, Some(200));
    let listed = check_with_tools(&result.pdf, &[(230.4, 172.8)]);
    let image = &listed[0];
    assert_eq!((image.width, image.height), (640, 480));
    assert_eq!((image.color.as_str(), image.bpc), ("rgb", 8));
    assert_eq!(image.encoding, "jpeg");
    let doc = Document::load_mem(&result.pdf).expect("lopdf reads the copy");
    let stream = first_image(&doc);
    assert_eq!(stream.content, input);
    assert_eq!(
        stream
            .dict
            .get(b"ColorSpace")
            .and_then(Object::as_name)
            .expect("colour space"),
        b"DeviceRGB"
    );
}

#[test]
fn a_png_with_alpha_is_flattened_onto_white() {
    let rgba = ImageBuffer::from_fn(300, 400, |x, _| {
        if x < 150 {
            Rgba([0u8, 0, 255, 0]) // fully transparent blue: white
        } else {
            Rgba([200u8, 10, 10, 255])
        }
    });
    let input = encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png);
    let result = copy(&input, Format::Png, Some(150));
    let listed = check_with_tools(&result.pdf, &[(144.0, 192.0)]);
    let image = &listed[0];
    assert_eq!((image.width, image.height), (300, 400));
    assert_eq!((image.color.as_str(), image.bpc), ("rgb", 8));
    assert_eq!(image.encoding, "image", "Flate, not JPEG");
    let doc = Document::load_mem(&result.pdf).expect("lopdf reads the copy");
    let samples = first_image(&doc)
        .decompressed_content()
        .expect("Flate data");
    assert_eq!(samples.len(), 300 * 400 * 3);
    assert_eq!(&samples[..3], &[255, 255, 255], "transparent becomes white");
    assert_eq!(&samples[150 * 3..151 * 3], &[200, 10, 10]);
}

#[test]
fn a_sixteen_bit_png_becomes_eight_bit() {
    let deep: ImageBuffer<Luma<u16>, Vec<u16>> =
        ImageBuffer::from_fn(320, 240, |x, y| Luma([((x * 200 + y * 7) % 65536) as u16]));
    let input = encode(&DynamicImage::ImageLuma16(deep), ImageFormat::Png);
    let result = copy(&input, Format::Png, None);
    assert_eq!(result.dpi, 300, "the default resolution");
    let listed = check_with_tools(&result.pdf, &[(76.8, 57.6)]);
    assert_eq!((listed[0].color.as_str(), listed[0].bpc), ("gray", 8));
}

#[test]
fn a_black_and_white_scan_is_stored_with_one_bit_per_pixel() {
    let page = GrayImage::from_fn(601, 300, |x, y| {
        Luma([if (x / 7 + y / 5) % 3 == 0 { 0 } else { 255 }])
    });
    let input = encode(&DynamicImage::ImageLuma8(page.clone()), ImageFormat::Png);
    let result = copy(&input, Format::Png, Some(300));
    let listed = check_with_tools(&result.pdf, &[(144.24, 72.0)]);
    assert_eq!((listed[0].color.as_str(), listed[0].bpc), ("gray", 1));
    let doc = Document::load_mem(&result.pdf).expect("lopdf reads the copy");
    let bits = first_image(&doc)
        .decompressed_content()
        .expect("Flate data");
    let row_bytes = 601usize.div_ceil(8);
    assert_eq!(bits.len(), row_bytes * 300);
    for (x, y) in [(0, 0), (7, 0), (600, 299), (13, 42)] {
        let bit = bits[y * row_bytes + x / 8] >> (7 - x % 8) & 1;
        let expected = page.get_pixel(x as u32, y as u32).0[0] / 255;
        assert_eq!(bit, expected, "pixel ({x}, {y})");
    }
}

#[test]
fn a_single_page_tiff_gets_one_page() {
    let input = encode(
        &DynamicImage::ImageRgb8(gradient_rgb(300, 150)),
        ImageFormat::Tiff,
    );
    let result = copy(&input, Format::Tiff, Some(300));
    assert_eq!(result.pages, 1);
    let listed = check_with_tools(&result.pdf, &[(72.0, 36.0)]);
    assert_eq!((listed[0].width, listed[0].height), (300, 150));
    assert_eq!(
        (listed[0].color.as_str(), listed[0].encoding.as_str()),
        ("rgb", "image")
    );
}

/// A little-endian, uncompressed, 8-bit gray TIFF with one directory per page, each with its
/// own resolution per inch.
fn multi_page_tiff(pages: &[(GrayImage, u32)]) -> Vec<u8> {
    let mut file = b"II*\0\0\0\0\0".to_vec();
    let mut link_at = 4; // where the offset of the next directory goes
    for (image, dpi) in pages {
        let strip_at = file.len() as u32;
        file.extend(image.as_raw());
        let rational_at = file.len() as u32;
        file.extend(dpi.to_le_bytes());
        file.extend(1u32.to_le_bytes());
        if file.len() % 2 == 1 {
            file.push(0);
        }
        let directory_at = file.len() as u32;
        file[link_at..link_at + 4].copy_from_slice(&directory_at.to_le_bytes());
        // (tag, type, value): type 3 SHORT, 4 LONG, 5 RATIONAL (value is an offset)
        let entries: [(u16, u16, u32); 11] = [
            (256, 4, image.width()),
            (257, 4, image.height()),
            (258, 3, 8),
            (259, 3, 1),
            (262, 3, 1),
            (273, 4, strip_at),
            (277, 3, 1),
            (278, 4, image.height()),
            (279, 4, image.as_raw().len() as u32),
            (282, 5, rational_at),
            (283, 5, rational_at),
        ];
        let entries_with_unit: Vec<(u16, u16, u32)> =
            entries.into_iter().chain([(296, 3, 2)]).collect();
        file.extend((entries_with_unit.len() as u16).to_le_bytes());
        for (tag, kind, value) in entries_with_unit {
            file.extend(tag.to_le_bytes());
            file.extend(kind.to_le_bytes());
            file.extend(1u32.to_le_bytes());
            file.extend(value.to_le_bytes());
        }
        link_at = file.len();
        file.extend(0u32.to_le_bytes());
    }
    file
}

#[test]
fn every_page_of_a_multi_page_tiff_becomes_a_page_sized_from_its_own_resolution() {
    let input = multi_page_tiff(&[
        (gradient_gray(300, 600), 300),
        (gradient_gray(200, 100), 100),
        (gradient_gray(400, 400), 200),
    ]);
    let result = copy(&input, Format::Tiff, Some(600));
    assert_eq!(result.pages, 3);
    assert_eq!(
        result.dpi, 300,
        "the first page's own resolution, not the caller's"
    );
    let listed = check_with_tools(&result.pdf, &[(72.0, 144.0), (144.0, 72.0), (144.0, 144.0)]);
    let sizes: Vec<(u32, u32)> = listed.iter().map(|l| (l.width, l.height)).collect();
    assert_eq!(sizes, [(300, 600), (200, 100), (400, 400)]);
    assert!(listed.iter().all(|l| l.color == "gray" && l.bpc == 8));
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend(kind);
    chunk.extend(data);
    chunk.extend(crc.sum().to_be_bytes());
    chunk
}

#[test]
fn a_decompression_bomb_is_refused_before_decoding() {
    let mut header = Vec::new();
    header.extend(100_000u32.to_be_bytes());
    header.extend(100_000u32.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
    bomb.extend(png_chunk(b"IHDR", &header));
    bomb.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    bomb.extend(png_chunk(b"IEND", &[]));
    let error = pdfa_copy(
        &bomb,
        Format::Png,
        Some(300),
        TITLE,
        CREATED,
        &PreserveLimits::default(),
    )
    .expect_err("a bomb is refused");
    assert_eq!(error.code(), "too_many_pixels", "{error}");
    assert!(error.to_string().contains("像素"), "{error}");

    // A smaller limit refuses an honest image of more pixels too, JPEG included.
    let input = jpeg(&DynamicImage::ImageLuma8(gradient_gray(600, 800)));
    let small = PreserveLimits {
        max_pixels: 100_000,
    };
    let error = pdfa_copy(&input, Format::Jpeg, None, TITLE, CREATED, &small).expect_err("refused");
    assert_eq!(error.code(), "too_many_pixels");
}

#[test]
fn damaged_unsupported_or_badly_dated_input_is_refused_with_a_code() {
    let limits = PreserveLimits::default();
    let png = encode(
        &DynamicImage::ImageLuma8(gradient_gray(64, 64)),
        ImageFormat::Png,
    );
    let cases = [
        (
            b"%PDF-1.7 whatever".to_vec(),
            Format::Pdf,
            CREATED,
            "unsupported_format",
        ),
        (
            png[..png.len() / 2].to_vec(),
            Format::Png,
            CREATED,
            "decode_failed",
        ),
        (
            b"not a jpeg".to_vec(),
            Format::Jpeg,
            CREATED,
            "decode_failed",
        ),
        (
            b"II*\0\xff\xff\xff\xff".to_vec(),
            Format::Tiff,
            CREATED,
            "decode_failed",
        ),
        (
            png.clone(),
            Format::Png,
            "2026-12-06 14:03",
            "invalid_timestamp",
        ),
        (png, Format::Png, "2026-12-06T14:03:00", "invalid_timestamp"),
    ];
    for (content, format, created, code) in cases {
        let error =
            pdfa_copy(&content, format, Some(300), TITLE, created, &limits).expect_err("refused");
        assert_eq!(error.code(), code, "{error}");
        assert!(!error.to_string().is_empty());
    }
    // 16 px at 300 dpi is 3.84 pt wide: allowed; 8 px would be 1.92 pt: not.
    let tiny = encode(
        &DynamicImage::ImageLuma8(gradient_gray(8, 8)),
        ImageFormat::Png,
    );
    let error =
        pdfa_copy(&tiny, Format::Png, Some(300), TITLE, CREATED, &limits).expect_err("tiny");
    assert_eq!(error.code(), "page_size_out_of_range");
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let input = encode(
        &DynamicImage::ImageRgb8(gradient_rgb(200, 100)),
        ImageFormat::Png,
    );
    let first = copy(&input, Format::Png, Some(300));
    let second = copy(&input, Format::Png, Some(300));
    assert_eq!(first, second);
    let other = pdfa_copy(
        &input,
        Format::Png,
        Some(300),
        "别的标题",
        CREATED,
        &PreserveLimits::default(),
    )
    .expect("copy");
    assert_ne!(first.pdf, other.pdf);
}

fn utf16_text(bytes: &[u8]) -> String {
    assert_eq!(&bytes[..2], &[0xFE, 0xFF], "UTF-16BE with byte order mark");
    let units: Vec<u16> = bytes[2..]
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).expect("UTF-16")
}

#[test]
fn the_copy_declares_pdf_a_2b_with_xmp_matching_the_info_dictionary() {
    let input = jpeg(&DynamicImage::ImageLuma8(gradient_gray(600, 800)));
    let result = copy(&input, Format::Jpeg, Some(300));
    assert!(result.pdf.starts_with(b"%PDF-1.7\n%"));
    assert!(
        result.pdf[10..14].iter().all(|&b| b > 127),
        "binary comment line"
    );
    let doc = Document::load_mem(&result.pdf).expect("lopdf reads the copy");

    let catalog = doc.catalog().expect("catalog");
    let metadata = catalog
        .get(b"Metadata")
        .and_then(Object::as_reference)
        .expect("/Metadata");
    let metadata = doc
        .get_object(metadata)
        .and_then(Object::as_stream)
        .expect("XMP stream");
    assert!(
        metadata.dict.get(b"Filter").is_err(),
        "the XMP is not compressed"
    );
    assert_eq!(
        metadata
            .dict
            .get(b"Type")
            .and_then(Object::as_name)
            .expect("type"),
        b"Metadata"
    );
    assert_eq!(
        metadata
            .dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .expect("subtype"),
        b"XML"
    );
    let xmp = String::from_utf8(metadata.content.clone()).expect("UTF-8 XMP");
    assert!(
        xmp.contains("xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\""),
        "{xmp}"
    );
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>"), "{xmp}");
    assert!(
        xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
        "{xmp}"
    );
    let escaped_title = "张三 养老保险档案 第1卷 &lt;原件&gt; &amp; 副本";
    assert!(
        xmp.contains(&format!(
            "<rdf:li xml:lang=\"x-default\">{escaped_title}</rdf:li>"
        )),
        "{xmp}"
    );
    assert!(xmp.contains(&format!("<xmp:CreateDate>{CREATED}</xmp:CreateDate>")));
    assert!(xmp.contains(&format!("<xmp:ModifyDate>{CREATED}</xmp:ModifyDate>")));
    assert!(xmp.contains("<xmp:CreatorTool>Dangan</xmp:CreatorTool>"));

    let info = doc
        .trailer
        .get(b"Info")
        .and_then(Object::as_reference)
        .expect("/Info");
    let info = doc.get_dictionary(info).expect("Info dictionary");
    let text = |key: &[u8]| {
        info.get(key)
            .and_then(Object::as_str)
            .expect("an Info entry")
            .to_vec()
    };
    assert_eq!(text(b"CreationDate"), b"D:20261206140300+08'00'");
    assert_eq!(text(b"ModDate"), b"D:20261206140300+08'00'");
    assert_eq!(text(b"Creator"), b"Dangan");
    assert_eq!(utf16_text(&text(b"Title")), TITLE);
    let producer = String::from_utf8(text(b"Producer")).expect("ASCII producer");
    assert!(
        xmp.contains(&format!("<pdf:Producer>{producer}</pdf:Producer>")),
        "{xmp}"
    );

    let id = doc
        .trailer
        .get(b"ID")
        .and_then(Object::as_array)
        .expect("/ID");
    assert_eq!(id.len(), 2);
    let first = id[0].as_str().expect("an ID string");
    assert_eq!(first.len(), 16);
    assert_eq!(first, id[1].as_str().expect("an ID string"));
    assert!(doc.trailer.get(b"Encrypt").is_err());
    let text_pdf = String::from_utf8_lossy(&result.pdf);
    for forbidden in [
        "/JavaScript",
        "/JS",
        "/LZWDecode",
        "/Group",
        "/SMask",
        "/ObjStm",
        "/XRef",
    ] {
        assert!(!text_pdf.contains(forbidden), "{forbidden} must not appear");
    }
    assert!(
        text_pdf.contains("\nxref\n0 "),
        "a classic cross-reference table"
    );
}

#[test]
fn the_output_intent_carries_a_valid_srgb_icc_profile() {
    let input = encode(
        &DynamicImage::ImageRgb8(gradient_rgb(200, 100)),
        ImageFormat::Png,
    );
    let result = copy(&input, Format::Png, Some(300));
    let doc = Document::load_mem(&result.pdf).expect("lopdf reads the copy");
    let catalog = doc.catalog().expect("catalog");
    let intents = catalog
        .get(b"OutputIntents")
        .and_then(Object::as_array)
        .expect("intents");
    assert_eq!(intents.len(), 1);
    let intent = intents[0].as_dict().expect("an intent dictionary");
    assert_eq!(
        intent.get(b"S").and_then(Object::as_name).expect("/S"),
        b"GTS_PDFA1"
    );
    assert_eq!(
        intent
            .get(b"OutputConditionIdentifier")
            .and_then(Object::as_str)
            .expect("identifier"),
        b"sRGB IEC61966-2.1"
    );
    let profile = intent
        .get(b"DestOutputProfile")
        .and_then(Object::as_reference)
        .expect("profile");
    let profile = doc
        .get_object(profile)
        .and_then(Object::as_stream)
        .expect("profile stream");
    assert_eq!(
        profile.dict.get(b"N").and_then(Object::as_i64).expect("/N"),
        3
    );
    let icc = profile.decompressed_content().expect("profile data");

    let be32 =
        |at: usize| u32::from_be_bytes(icc[at..at + 4].try_into().expect("4 bytes")) as usize;
    assert_eq!(be32(0), icc.len(), "the size field is the profile's length");
    assert_eq!(icc[8], 2, "version 2");
    assert_eq!(&icc[12..24], b"mntrRGB XYZ ");
    assert_eq!(&icc[36..40], b"acsp");
    let count = be32(128);
    let mut signatures = Vec::new();
    for i in 0..count {
        let entry = 132 + 12 * i;
        let (offset, size) = (be32(entry + 4), be32(entry + 8));
        assert!(
            offset >= 132 + 12 * count && offset + size <= icc.len(),
            "tag {i} in range"
        );
        assert_eq!(offset % 4, 0, "tag {i} aligned");
        let signature = &icc[entry..entry + 4];
        let kind = &icc[offset..offset + 4];
        let expected: &[u8] = match signature {
            b"desc" => b"desc",
            b"cprt" => b"text",
            b"wtpt" | b"rXYZ" | b"gXYZ" | b"bXYZ" => b"XYZ ",
            _ => b"curv",
        };
        assert_eq!(kind, expected);
        signatures.push(String::from_utf8(signature.to_vec()).expect("ASCII"));
    }
    signatures.sort();
    assert_eq!(
        signatures,
        [
            "bTRC", "bXYZ", "cprt", "desc", "gTRC", "gXYZ", "rTRC", "rXYZ", "wtpt"
        ]
    );
}
