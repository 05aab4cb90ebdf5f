//! Identification over a corpus built with the real tools (Ghostscript, img2pdf, qpdf, pdfinfo):
//! scans, PDF/A, object streams, linearised and incrementally updated files, OFD packages in
//! both member orders, truncated and fake files. A missing tool fails the test with its name.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use dangan_vault::identify::{Format, Identified, Limits, Readability, identify};
use lopdf::{Document, Object};

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("the tool `{tool}` is needed by this test (apt-get install ghostscript qpdf poppler-utils img2pdf): {e}")
    });
    // qpdf exits 3 on warnings; the file is still written.
    assert!(
        out.status.success() || (tool == "qpdf" && out.status.code() == Some(3)),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pdfinfo_pages(path: &Path) -> u32 {
    let out = run("pdfinfo", &[path.to_str().unwrap()]);
    out.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Pages: from pdfinfo for {}", path.display()))
}

struct Corpus {
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

impl Corpus {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }
    fn id(&self, name: &str) -> Identified {
        identify(&self.read(name), true, &Limits::new(300))
    }
}

/// A page-like image of 600×900 pixels with some structure.
fn page_image(seed: u8) -> image::RgbImage {
    image::RgbImage::from_fn(600, 900, |x, y| {
        let v = ((x / 20 + y / 30 + u32::from(seed)) % 2) as u8 * 180 + 40;
        image::Rgb([v, v.wrapping_add(seed), 255 - v])
    })
}

fn write_jpeg(path: &Path, seed: u8) {
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
    enc.set_pixel_density(image::codecs::jpeg::PixelDensity::dpi(300));
    enc.encode_image(&page_image(seed)).unwrap();
    std::fs::write(path, out).unwrap();
}

/// Appends an incremental update whose objects are `objects` (number, body), with `root` as
/// the catalog; the previous cross-reference section is the file's last `startxref`.
fn append_update(bytes: &mut Vec<u8>, objects: &[(u32, String)], root: u32, size: u32) {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let at = text.rfind("startxref").unwrap();
    let prev: u64 = text[at + 9..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut offsets = Vec::new();
    for (n, body) in objects {
        offsets.push((*n, bytes.len()));
        write!(bytes, "{n} 0 obj\n{body}\nendobj\n").unwrap();
    }
    let xref = bytes.len();
    let mut table = String::from("xref\n");
    for (n, off) in &offsets {
        table.push_str(&format!("{n} 1\n{off:010} 00000 n \n"));
    }
    write!(
        bytes,
        "{table}trailer\n<< /Size {size} /Root {root} 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
    )
    .unwrap();
}

fn ofd(ofd_xml_last: bool, signatures: bool) -> Vec<u8> {
    let ofd_xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot>/Doc_0/Document.xml</ofd:DocRoot>{}</ofd:DocBody></ofd:OFD>"#,
        if signatures {
            "<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>"
        } else {
            ""
        }
    );
    let document = r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData><ofd:MaxUnitID>10</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/><ofd:Page ID="2" BaseLoc="/Doc_0/Pages/Page_1/Content.xml"/></ofd:Pages></ofd:Document>"#;
    let page = r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="3"/></ofd:Content></ofd:Page>"#;
    let signs = r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016"><ofd:MaxSignId>2</ofd:MaxSignId><ofd:Signature ID="1" BaseLoc="Sign_0/Signature.xml"/><ofd:Signature ID="2" BaseLoc="Sign_1/Signature.xml"/></ofd:Signatures>"#;
    let mut members: Vec<(&str, &str)> = vec![
        ("Doc_0/Document.xml", document),
        ("Doc_0/Pages/Page_0/Content.xml", page),
        ("Doc_0/Pages/Page_1/Content.xml", page),
    ];
    if signatures {
        members.push(("Doc_0/Signs/Signatures.xml", signs));
    }
    if ofd_xml_last {
        members.push(("OFD.xml", &ofd_xml));
    } else {
        members.insert(0, ("OFD.xml", &ofd_xml));
    }
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in members {
        z.start_file(name, opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let p = |n: &str| dir.join(n).to_str().unwrap().to_owned();
        for i in 0..3u8 {
            write_jpeg(&dir.join(format!("page{i}.jpg")), i * 40);
        }
        run(
            "img2pdf",
            &[&p("page0.jpg"), &p("page1.jpg"), &p("page2.jpg"), "-o", &p("scan.pdf")],
        );
        // Ghostscript's PDF/A-2B, with an sRGB output intent from a PDFA_def.ps (as its
        // documentation says) and without one.
        let icc = "/usr/share/color/icc/ghostscript/srgb.icc";
        assert!(Path::new(icc).exists(), "Ghostscript's {icc} is needed by this test");
        let def = format!(
            "%!\n/ICCProfile ({icc}) def\n\
             [/_objdef {{icc_PDFA}} /type /stream /OBJ pdfmark\n\
             [{{icc_PDFA}} <</N 3>> /PUT pdfmark\n\
             [{{icc_PDFA}} ICCProfile (r) file /PUT pdfmark\n\
             [/_objdef {{OutputIntent_PDFA}} /type /dict /OBJ pdfmark\n\
             [{{OutputIntent_PDFA}} <</Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {{icc_PDFA}} /OutputConditionIdentifier (sRGB)>> /PUT pdfmark\n\
             [{{Catalog}} <</OutputIntents [ {{OutputIntent_PDFA}} ]>> /PUT pdfmark\n"
        );
        std::fs::write(dir.join("PDFA_def.ps"), def).unwrap();
        let gs = |out: &str, def: Option<&str>| {
            let output = format!("-sOutputFile={}", p(out));
            let permit = format!("--permit-file-read={icc}");
            let mut args = vec![
                "-dPDFA=2",
                "-dBATCH",
                "-dNOPAUSE",
                "-dQUIET",
                "-sDEVICE=pdfwrite",
                "-dPDFACompatibilityPolicy=1",
                "-sColorConversionStrategy=RGB",
                &permit,
                &output,
            ];
            let def = def.map(p);
            if let Some(d) = &def {
                args.push(d);
            }
            let scan = p("scan.pdf");
            args.push(&scan);
            run("gs", &args);
        };
        gs("pdfa.pdf", Some("PDFA_def.ps"));
        gs("pdfa-no-intent.pdf", None);
        run("qpdf", &["--object-streams=generate", &p("scan.pdf"), &p("objstm.pdf")]);
        run("qpdf", &["--linearize", &p("pdfa.pdf"), &p("linear.pdf")]);
        run(
            "qpdf",
            &["--empty", "--pages", &p("scan.pdf"), &p("pdfa.pdf"), "--", &p("merged.pdf")],
        );
        run(
            "qpdf",
            &["--object-streams=disable", "--qdf", &p("scan.pdf"), &p("plain.pdf")],
        );
        // An incremental update that drops two pages: the old page objects stay in the file.
        let plain = std::fs::read(dir.join("plain.pdf")).unwrap();
        let doc = Document::load_mem(&plain).unwrap();
        let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
        let pages = doc
            .get_dictionary(root)
            .unwrap()
            .get(b"Pages")
            .unwrap()
            .as_reference()
            .unwrap();
        let first = doc.get_pages()[&1];
        let size = doc.max_id + 1;
        let mut updated = plain.clone();
        append_update(
            &mut updated,
            &[(
                pages.0,
                format!("<< /Type /Pages /Kids [{} 0 R] /Count 1 >>", first.0),
            )],
            root.0,
            size,
        );
        std::fs::write(dir.join("updated.pdf"), &updated).unwrap();
        // An unreferenced page object, kept by qpdf.
        let mut orphan = plain.clone();
        let media = "[0 0 144 216]";
        append_update(
            &mut orphan,
            &[(
                size,
                format!("<< /Type /Page /Parent {} 0 R /MediaBox {media} >>", pages.0),
            )],
            root.0,
            size + 1,
        );
        std::fs::write(dir.join("orphan-inc.pdf"), &orphan).unwrap();
        run(
            "qpdf",
            &["--preserve-unreferenced", &p("orphan-inc.pdf"), &p("orphan.pdf")],
        );
        // The PDF/A file with its XMP in UTF-16 and with an empty conformance.
        let pdfa = std::fs::read(dir.join("pdfa.pdf")).unwrap();
        let mut doc = Document::load_mem(&pdfa).unwrap();
        let meta = doc
            .catalog()
            .unwrap()
            .get(b"Metadata")
            .unwrap()
            .as_reference()
            .unwrap();
        let xmp = doc
            .get_object(meta)
            .unwrap()
            .as_stream()
            .unwrap()
            .decompressed_content()
            .unwrap();
        let xmp = String::from_utf8(xmp).unwrap();
        let mut utf16 = vec![0xFE, 0xFF];
        utf16.extend(xmp.encode_utf16().flat_map(u16::to_be_bytes));
        let set = |doc: &mut Document, content: Vec<u8>, name: &str| {
            if let Ok(Object::Stream(s)) = doc.get_object_mut(meta) {
                s.dict.remove(b"Filter");
                s.set_content(content);
            }
            let mut out = Vec::new();
            doc.save_to(&mut out).unwrap();
            std::fs::write(dir.join(name), out).unwrap();
        };
        set(&mut doc, utf16, "utf16.pdf");
        let empty = xmp
            .replace(
                "<pdfaid:conformance>B</pdfaid:conformance>",
                "<pdfaid:conformance></pdfaid:conformance>",
            )
            .replace(r#"pdfaid:conformance="B""#, r#"pdfaid:conformance="""#)
            .replace("pdfaid:conformance='B'", "pdfaid:conformance=''");
        assert_ne!(empty, xmp, "Ghostscript's XMP names the conformance");
        set(&mut doc, empty.into_bytes(), "empty-conformance.pdf");
        // OFD packages.
        std::fs::write(dir.join("first.ofd"), ofd(false, true)).unwrap();
        std::fs::write(dir.join("last.ofd"), ofd(true, false)).unwrap();
        // Fakes.
        let fake = b"%PDF-1.4\n% pdfaid:part 2 pdfaid:conformance B -- a text file, not a PDF\n";
        std::fs::write(dir.join("fake79.pdf"), &fake[..79.min(fake.len())]).unwrap();
        std::fs::write(dir.join("fake9.pdf"), b"%PDF-1.7\n").unwrap();
        Corpus { _dir: tmp, dir }
    })
}

const VALID_PDFS: [&str; 10] = [
    "scan.pdf",
    "pdfa.pdf",
    "objstm.pdf",
    "linear.pdf",
    "merged.pdf",
    "plain.pdf",
    "updated.pdf",
    "orphan.pdf",
    "utf16.pdf",
    "pdfa-no-intent.pdf",
];

#[test]
fn page_counts_equal_pdfinfo_on_every_valid_pdf() {
    let c = corpus();
    for name in VALID_PDFS {
        let i = c.id(name);
        assert!(i.readable.is_readable(), "{name}: {:?}", i.readable);
        assert_eq!(i.pages, Some(pdfinfo_pages(&c.path(name))), "{name}");
    }
    assert_eq!(c.id("updated.pdf").pages, Some(1));
    assert_eq!(c.id("merged.pdf").pages, Some(6));
}

#[test]
fn a_ghostscript_pdfa_scan_with_xmp_at_the_end_is_archival() {
    let i = corpus().id("pdfa.pdf");
    assert_eq!((i.format, i.pdfa.as_deref()), (Format::Pdf, Some("2B")));
    assert_eq!(i.pages, Some(3));
    assert_eq!(i.conformance.len(), 8);
    assert!(i.archival, "{:?} {:#?}", i.flags, i.conformance);
    assert_eq!(i.dpi, Some(300));
}

#[test]
fn a_ghostscript_pdfa_without_an_output_intent_is_nonconforming() {
    let i = corpus().id("pdfa-no-intent.pdf");
    assert_eq!(i.pdfa.as_deref(), Some("2B"));
    assert_eq!(i.flags, ["pdfa_nonconforming"]);
    let failed: Vec<_> = i
        .conformance
        .iter()
        .filter(|r| r.passed == Some(false))
        .map(|r| r.code)
        .collect();
    assert_eq!(failed, ["PDFA-3"]);
}

#[test]
fn an_img2pdf_scan_has_its_resolution_and_is_flagged_not_pdfa() {
    let i = corpus().id("scan.pdf");
    assert_eq!(
        (i.pages, i.dpi, i.pdfa.as_deref()),
        (Some(3), Some(300), None)
    );
    assert_eq!(i.flags, ["not_pdfa"]);
    assert!(i.conformance.is_empty());
}

#[test]
fn the_claim_equals_what_the_catalog_xmp_says() {
    let c = corpus();
    for (name, claim) in [
        ("pdfa.pdf", Some("2B")),
        ("linear.pdf", Some("2B")),
        ("utf16.pdf", Some("2B")),
        ("empty-conformance.pdf", None),
        ("scan.pdf", None),
        ("objstm.pdf", None),
    ] {
        assert_eq!(c.id(name).pdfa.as_deref(), claim, "{name}");
    }
    assert!(
        c.id("empty-conformance.pdf")
            .flags
            .contains(&"not_pdfa".to_owned())
    );
}

#[test]
fn an_ofd_is_read_through_its_zip_directory_whatever_the_member_order() {
    let c = corpus();
    for (name, signatures) in [("first.ofd", 2), ("last.ofd", 0)] {
        let i = c.id(name);
        assert_eq!(i.format, Format::Ofd, "{name}");
        assert!(i.readable.is_readable(), "{name}: {:?}", i.readable);
        assert_eq!(
            (i.pages, i.signatures),
            (Some(2), Some(signatures)),
            "{name}"
        );
        assert!(i.archival, "{name}: {:?}", i.flags);
    }
}

#[test]
fn standalone_jpegs_decode_with_their_resolution() {
    let i = corpus().id("page0.jpg");
    assert_eq!((i.format, i.dpi), (Format::Jpeg, Some(300)));
    assert!(i.archival, "{:?} {:?}", i.flags, i.readable);
}

#[test]
fn no_truncated_fake_or_unreadable_file_is_readable_or_archival() {
    let c = corpus();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for name in [
        "scan.pdf",
        "pdfa.pdf",
        "objstm.pdf",
        "first.ofd",
        "last.ofd",
        "page0.jpg",
    ] {
        let full = c.read(name);
        for frac in [1, 10, 25, 50, 75, 90, 99] {
            let cut = full.len() * frac / 100;
            cases.push((format!("{name} cut at {frac}%"), full[..cut].to_vec()));
        }
        cases.push((
            format!("{name} less 30 bytes"),
            full[..full.len() - 30].to_vec(),
        ));
    }
    cases.push(("fake79.pdf".to_owned(), c.read("fake79.pdf")));
    cases.push(("fake9.pdf".to_owned(), c.read("fake9.pdf")));
    for (what, bytes) in cases {
        let i = identify(&bytes, true, &Limits::new(300));
        assert!(
            !matches!(i.readable, Readability::Readable(_)),
            "{what} is readable: {i:?}"
        );
        assert!(!i.archival, "{what} is archival");
        assert_eq!(i.pdfa, None, "{what}");
    }
}
