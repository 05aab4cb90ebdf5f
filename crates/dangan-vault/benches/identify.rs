//! Benchmark of identification by parsing (issue 16; prints figures, not a timed test).
//!
//! 100 multi-page 300-dpi PDF scans of 5–10 MB (A4 greyscale JPEG pages, as a scanner's PDF
//! output holds them) are ingested into a vault twice per round, the two ways alternating over
//! five rounds after a warm-up pair, each round's ratio printed and their median:
//! - **today's path** (the baseline): `Vault::ingest` keeping only the first 256 KiB and
//!   [`sniff`] over them — what ingest did before identification parsed whole files;
//! - **identification by parsing**: `Vault::ingest` keeping the whole file and [`identify`] over
//!   it on a blocking thread (the PDF parsed whole, the page tree walked, every page's content
//!   inflated, every image's header checked against its dictionary, the XMP read).
//!
//! The goal is the second within 20 % of the first. Every identified page count is
//! checked against the pages written.
//!
//! `cargo bench -p dangan-vault --bench identify`. Environment: `DANGAN_BENCH_PDFS` (default 100).

use std::time::{Duration, Instant};

use dangan_vault::identify::{Limits, identify, sniff};
use dangan_vault::{Cipher, Vault};
use lopdf::{Document, Object, Stream, dictionary};

/// A4 at 300 dpi.
const WIDTH: u32 = 2480;
const HEIGHT: u32 = 3508;

/// A greyscale page: a gradient with text-like strokes and deterministic noise, encoded as JPEG
/// (1.5–2.5 MB, as a 300-dpi scan of a form with handwriting comes out).
fn page(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut px = Vec::with_capacity((WIDTH * HEIGHT) as usize);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state % 24) as i32 - 12;
            let stroke = if (x / 7 + y / 11 + seed as u32).is_multiple_of(13) {
                -120
            } else {
                0
            };
            let base = 200 + ((x + y) % 40) as i32;
            px.push((base + noise + stroke).clamp(0, 255) as u8);
        }
    }
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
    enc.encode(&px, WIDTH, HEIGHT, image::ExtendedColorType::L8)
        .unwrap();
    out
}

/// A PDF of `pages` (JPEG bytes), each an image filling an A4 page, with `id` in its trailer.
fn pdf(pages: &[&Vec<u8>], id: u64) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for jpeg in pages {
        let mut image = Stream::new(
            dictionary! {
                "Type" => "XObject",
                "Subtype" => "Image",
                "Width" => i64::from(WIDTH),
                "Height" => i64::from(HEIGHT),
                "ColorSpace" => "DeviceGray",
                "BitsPerComponent" => 8,
                "Filter" => "DCTDecode",
            },
            (*jpeg).clone(),
        );
        image.allows_compression = false;
        let image_id = doc.add_object(image);
        let content = doc.add_object(Stream::new(
            dictionary! {},
            b"q 595.2 0 0 841.92 0 0 cm /Im0 Do Q".to_vec(),
        ));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(595.2), Object::Real(841.92)],
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image_id } },
            "Contents" => content,
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let tag = Object::String(id.to_be_bytes().to_vec(), lopdf::StringFormat::Hexadecimal);
    doc.trailer.set("ID", vec![tag.clone(), tag]);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

async fn round(files: &[(Vec<u8>, u32)], parse: bool) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open(dir.path(), Cipher::Aes256Gcm).await.unwrap();
    let vault = if parse {
        vault
    } else {
        vault.with_parse_limit(0)
    };
    let master = [9u8; 32];
    let start = Instant::now();
    for (bytes, pages) in files {
        let stored = vault.ingest(&bytes[..], &master, u64::MAX).await.unwrap();
        if parse {
            let id = tokio::task::spawn_blocking(move || {
                identify(&stored.content, stored.complete, &Limits::new(300))
            })
            .await
            .unwrap();
            assert_eq!(id.pages, Some(*pages), "{:?}", id.readable);
        } else {
            let id = sniff(&stored.content, 300);
            assert!(id.pages.is_none());
        }
    }
    start.elapsed()
}

fn main() {
    let n = std::env::var("DANGAN_BENCH_PDFS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100usize);
    let pool: Vec<Vec<u8>> = (0..6).map(page).collect();
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        // Pages until the file is at least 5 MB (and at most 10 MB).
        let mut chosen = Vec::new();
        let mut size = 0;
        let mut k = i;
        while size < 5 << 20 && size + pool[k % pool.len()].len() <= 10 << 20 {
            chosen.push(&pool[k % pool.len()]);
            size += pool[k % pool.len()].len();
            k += 1;
        }
        let bytes = pdf(&chosen, i as u64);
        files.push((bytes, chosen.len() as u32));
    }
    let total: usize = files.iter().map(|(b, _)| b.len()).sum();
    let pages: u32 = files.iter().map(|(_, p)| p).sum();
    println!(
        "{n} PDF scans, {pages} pages of {WIDTH}x{HEIGHT} (300 dpi A4), {:.1} MB in all ({:.1}–{:.1} MB each)",
        total as f64 / 1048576.0,
        files.iter().map(|(b, _)| b.len()).min().unwrap_or(0) as f64 / 1048576.0,
        files.iter().map(|(b, _)| b.len()).max().unwrap_or(0) as f64 / 1048576.0,
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // A warm-up pair first (the first vault writes of a run are slower), then five rounds.
    rt.block_on(round(&files, false));
    rt.block_on(round(&files, true));
    let (mut today, mut parsed) = (Duration::MAX, Duration::MAX);
    let mut ratios = Vec::new();
    for r in 0..5 {
        let t = rt.block_on(round(&files, false));
        let p = rt.block_on(round(&files, true));
        let ratio = 100.0 * p.as_secs_f64() / t.as_secs_f64();
        println!(
            "round {}: today's path {:.2} s, identification by parsing {:.2} s ({ratio:.1} %)",
            r + 1,
            t.as_secs_f64(),
            p.as_secs_f64()
        );
        ratios.push(ratio);
        today = today.min(t);
        parsed = parsed.min(p);
    }
    ratios.sort_by(f64::total_cmp);
    // Identification alone, in memory (no disk: steadier than the rounds above).
    let start = Instant::now();
    for (bytes, pages) in &files {
        assert_eq!(identify(bytes, true, &Limits::new(300)).pages, Some(*pages));
    }
    let alone = start.elapsed();
    println!(
        "identification alone (in memory, one thread): {:.2} s for {n} files, {:.2} ms per file, {:.0} MB/s",
        alone.as_secs_f64(),
        1000.0 * alone.as_secs_f64() / n as f64,
        total as f64 / 1048576.0 / alone.as_secs_f64()
    );
    let mb = total as f64 / 1048576.0;
    println!(
        "best of 5: today's path {:.2} s ({:.1} MB/s, {:.1} files/s); identification by parsing {:.2} s ({:.1} MB/s, {:.1} files/s); median of the rounds' ratios {:.1} % of today's time (goal: at most 120 %)",
        today.as_secs_f64(),
        mb / today.as_secs_f64(),
        n as f64 / today.as_secs_f64(),
        parsed.as_secs_f64(),
        mb / parsed.as_secs_f64(),
        n as f64 / parsed.as_secs_f64(),
        ratios[ratios.len() / 2]
    );
}
