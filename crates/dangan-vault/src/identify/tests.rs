//! Unit tests over generated inputs.

use super::*;
use lopdf::{Dictionary, Document, Object, Stream};

fn png_header(ppm: u32) -> Vec<u8> {
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

fn jpeg_header(dpi: u16) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    b.extend_from_slice(b"JFIF\0");
    b.extend_from_slice(&[1, 2, 1]);
    b.extend_from_slice(&dpi.to_be_bytes());
    b.extend_from_slice(&dpi.to_be_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&[0xFF, 0xDA]);
    b
}

fn tiff_header(dpi: u32) -> Vec<u8> {
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

fn crc(b: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &x in b {
        c ^= u32::from(x);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A real PNG of `w`×`h` grey pixels at 300 dpi.
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::GrayImage::from_pixel(w, h, image::Luma([200]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    // pHYs right after IHDR (8 + 25 bytes).
    let mut chunk = b"pHYs".to_vec();
    chunk.extend_from_slice(&11811u32.to_be_bytes());
    chunk.extend_from_slice(&11811u32.to_be_bytes());
    chunk.push(1);
    let crc = crc(&chunk);
    let mut phys = 9u32.to_be_bytes().to_vec();
    phys.extend_from_slice(&chunk);
    phys.extend_from_slice(&crc.to_be_bytes());
    out.splice(33..33, phys);
    out
}

fn name(n: &str) -> Object {
    Object::Name(n.as_bytes().to_vec())
}

/// A PDF of `pages` pages, each one 248×351 grey Flate image on a 59.52×84.24 pt box (300 dpi),
/// with an optional XMP packet in the catalog.
fn pdf(pages: usize, xmp: Option<Vec<u8>>) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let (w, h) = (248i64, 351i64);
    let mut kids = Vec::new();
    for _ in 0..pages {
        let mut img = Stream::new(
            Dictionary::from_iter([
                ("Type", name("XObject")),
                ("Subtype", name("Image")),
                ("Width", Object::Integer(w)),
                ("Height", Object::Integer(h)),
                ("BitsPerComponent", Object::Integer(8)),
                ("ColorSpace", name("DeviceGray")),
            ]),
            vec![128; (w * h) as usize],
        );
        img.compress().unwrap();
        let img = doc.add_object(img);
        let mut content = Stream::new(
            Dictionary::new(),
            b"q 59.52 0 0 84.24 0 0 cm /Im0 Do Q".to_vec(),
        );
        content.compress().unwrap();
        let content = doc.add_object(content);
        let xobjects = Dictionary::from_iter([("Im0", Object::Reference(img))]);
        let page = doc.add_object(Dictionary::from_iter([
            ("Type", name("Page")),
            ("Parent", Object::Reference(pages_id)),
            ("Contents", Object::Reference(content)),
            (
                "Resources",
                Object::Dictionary(Dictionary::from_iter([(
                    "XObject",
                    Object::Dictionary(xobjects),
                )])),
            ),
        ]));
        kids.push(Object::Reference(page));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(Dictionary::from_iter([
            ("Type", name("Pages")),
            ("Kids", Object::Array(kids)),
            ("Count", Object::Integer(count)),
            (
                "MediaBox",
                Object::Array(vec![
                    0.into(),
                    0.into(),
                    Object::Real(59.52),
                    Object::Real(84.24),
                ]),
            ),
        ])),
    );
    let mut catalog = Dictionary::from_iter([
        ("Type", name("Catalog")),
        ("Pages", Object::Reference(pages_id)),
    ]);
    if let Some(x) = xmp {
        let m = doc.add_object(Stream::new(
            Dictionary::from_iter([("Type", name("Metadata")), ("Subtype", name("XML"))]),
            x,
        ));
        catalog.set("Metadata", Object::Reference(m));
    }
    let root = doc.add_object(catalog);
    doc.trailer.set("Root", Object::Reference(root));
    doc.trailer.set(
        "ID",
        Object::Array(vec![
            Object::string_literal("0123456789abcdef"),
            Object::string_literal("0123456789abcdef"),
        ]),
    );
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn xmp(body: &str) -> String {
    format!(
        r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">{body}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#
    )
}

fn claim(xml: &str) -> Option<String> {
    identify(
        &pdf(1, Some(xml.as_bytes().to_vec())),
        true,
        &Limits::new(300),
    )
    .pdfa
}

const NS: &str = r#"xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/""#;

#[test]
fn resolution_is_read_from_png_jpeg_and_tiff_headers() {
    assert_eq!(sniff(&png_header(11811), 300).dpi, Some(300));
    assert_eq!(sniff(&jpeg_header(600), 300).dpi, Some(600));
    let t = sniff(&tiff_header(300), 300);
    assert_eq!((t.format, t.dpi), (Format::Tiff, Some(300)));
    assert_eq!(t.flags, ["unchecked"]);
}

#[test]
fn a_sniffed_low_resolution_scan_is_flagged_low_dpi_and_unchecked() {
    let j = sniff(&jpeg_header(150), 300);
    assert_eq!(j.format, Format::Jpeg);
    assert!(!j.archival);
    assert_eq!(j.flags, ["low_dpi", "unchecked"]);
}

#[test]
fn a_real_png_decodes_but_is_not_an_archival_format() {
    let p = identify(&png(40, 30), true, &Limits::new(300));
    assert_eq!(p.dpi, Some(300));
    assert!(p.readable.is_readable(), "{:?}", p.readable);
    assert_eq!(p.flags, ["not_archival_format"]);
    let o = identify(b"hello", true, &Limits::new(300));
    assert_eq!(o.format, Format::Other);
    assert_eq!(o.flags, ["not_archival_format", "unreadable"]);
}

#[test]
fn an_image_above_the_pixel_limit_is_refused_as_a_bomb() {
    let limits = Limits {
        max_pixels: 100,
        ..Limits::new(300)
    };
    let p = identify(&png(40, 30), true, &limits);
    assert!(
        matches!(p.readable, Readability::Unreadable(_)),
        "{:?}",
        p.readable
    );
    let d = identify(&pdf(1, None), true, &limits);
    assert!(
        matches!(d.readable, Readability::Unreadable(_)),
        "{:?}",
        d.readable
    );
}

#[test]
fn a_stream_above_the_inflate_limit_is_refused_as_a_bomb() {
    let limits = Limits {
        max_inflate: 1000,
        ..Limits::new(300)
    };
    let d = identify(&pdf(1, None), true, &limits);
    assert!(
        matches!(d.readable, Readability::Unreadable(ref r) if r.contains("解压炸弹")),
        "{:?}",
        d.readable
    );
}

#[test]
fn a_generated_scan_pdf_has_pages_dpi_and_no_claim() {
    let i = identify(&pdf(3, None), true, &Limits::new(300));
    assert!(i.readable.is_readable(), "{:?}", i.readable);
    assert_eq!(
        (i.pages, i.dpi, i.pdfa.as_deref()),
        (Some(3), Some(300), None)
    );
    assert_eq!(i.flags, ["not_pdfa"]);
    assert!(i.conformance.is_empty());
    assert_eq!(i.signatures, Some(0));
    let low = identify(&pdf(1, None), true, &Limits::new(600));
    assert_eq!(low.flags, ["not_pdfa", "low_dpi"]);
}

#[test]
fn a_claim_is_read_from_elements_and_from_attributes() {
    let el = format!(
        r#"<rdf:Description rdf:about="" {NS}><pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>"#
    );
    assert_eq!(claim(&xmp(&el)).as_deref(), Some("2B"));
    let at =
        format!(r#"<rdf:Description rdf:about="" {NS} pdfaid:part="1" pdfaid:conformance="A"/>"#);
    assert_eq!(claim(&xmp(&at)).as_deref(), Some("1A"));
    let other_prefix = r#"<rdf:Description xmlns:id="http://www.aiim.org/pdfa/ns/id/" id:part="3" id:conformance="U"/>"#;
    assert_eq!(claim(&xmp(other_prefix)).as_deref(), Some("3U"));
    let four = format!(r#"<rdf:Description {NS} pdfaid:part="4"/>"#);
    assert_eq!(claim(&xmp(&four)).as_deref(), Some("4"));
}

#[test]
fn empty_lower_case_or_unknown_conformance_is_no_claim() {
    let empty = format!(
        r#"<rdf:Description {NS}><pdfaid:part>2</pdfaid:part><pdfaid:conformance></pdfaid:conformance><dc:format>B</dc:format></rdf:Description>"#
    );
    assert_eq!(claim(&xmp(&empty)), None);
    let lower = format!(r#"<rdf:Description {NS} pdfaid:part="2" pdfaid:conformance="b"/>"#);
    assert_eq!(claim(&xmp(&lower)), None);
    let u1 = format!(r#"<rdf:Description {NS} pdfaid:part="1" pdfaid:conformance="U"/>"#);
    assert_eq!(claim(&xmp(&u1)), None);
    let five = format!(r#"<rdf:Description {NS} pdfaid:part="5" pdfaid:conformance="B"/>"#);
    assert_eq!(claim(&xmp(&five)), None);
}

#[test]
fn utf16_and_utf32_xmp_are_decoded() {
    let x = xmp(&format!(
        r#"<rdf:Description {NS} pdfaid:part="2" pdfaid:conformance="B"/>"#
    ));
    let mut be = vec![0xFE, 0xFF];
    be.extend(x.encode_utf16().flat_map(u16::to_be_bytes));
    let le: Vec<u8> = x.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut u32be = vec![0, 0, 0xFE, 0xFF];
    u32be.extend(x.chars().flat_map(|c| (c as u32).to_be_bytes()));
    for bytes in [be, le, u32be] {
        let i = identify(&pdf(1, Some(bytes)), true, &Limits::new(300));
        assert_eq!(i.pdfa.as_deref(), Some("2B"));
    }
}

#[test]
fn a_claiming_pdf_gets_the_conformance_subset() {
    let x = xmp(&format!(
        r#"<rdf:Description {NS} pdfaid:part="2" pdfaid:conformance="B"/>"#
    ));
    let i = identify(&pdf(2, Some(x.into_bytes())), true, &Limits::new(300));
    let codes: Vec<_> = i.conformance.iter().map(|r| r.code).collect();
    assert_eq!(
        codes,
        [
            "PDFA-1", "PDFA-2", "PDFA-3", "PDFA-4", "PDFA-5", "PDFA-6", "PDFA-7", "PDFA-8"
        ]
    );
    let failed: Vec<_> = i
        .conformance
        .iter()
        .filter(|r| r.passed == Some(false))
        .map(|r| r.code)
        .collect();
    // The generated file has no output intent.
    assert_eq!(failed, ["PDFA-3"]);
    assert_eq!(i.flags, ["pdfa_nonconforming"]);
    assert_eq!(i.conformance[5].passed, None);
}

#[test]
fn fake_and_tiny_pdfs_are_unreadable_and_never_archival() {
    let fake =
        b"%PDF-1.4\n<pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>\n%%EOF";
    for b in [&fake[..], b"%PDF-1.7", b"%PDF-1.7\n%%EOF\n"] {
        let i = identify(b, true, &Limits::new(300));
        assert_eq!(i.format, Format::Pdf);
        assert!(
            matches!(i.readable, Readability::Unreadable(_)),
            "{:?}",
            i.readable
        );
        assert!(!i.archival);
        assert_eq!(i.pdfa, None);
    }
}

#[test]
fn a_sniffed_pdf_is_never_archival() {
    let i = identify(&pdf(1, None), false, &Limits::new(300));
    assert_eq!((i.format, i.pages), (Format::Pdf, None));
    assert!(i.flags.contains(&"unchecked".to_owned()));
    assert!(!i.archival);
}

#[test]
fn truncations_and_bit_flips_never_panic_and_truncated_pdfs_are_unreadable() {
    let limits = Limits::new(300);
    let good = pdf(2, None);
    let eof = good.windows(5).rposition(|w| w == b"%%EOF").unwrap();
    for cut in (0..eof).step_by(97) {
        let i = identify(&good[..cut], true, &limits);
        assert!(!i.readable.is_readable(), "cut at {cut}: {:?}", i.readable);
        assert!(!i.archival);
    }
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for base in [good, png(20, 20), tiff_header(300), jpeg_header(300)] {
        for _ in 0..300 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut b = base.clone();
            let at = (seed as usize) % b.len();
            b[at] ^= 1 << (seed % 8);
            let _ = identify(&b, true, &limits);
            let _ = identify(&b[..at], true, &limits);
            let _ = sniff(&b[..at], 300);
        }
    }
}
