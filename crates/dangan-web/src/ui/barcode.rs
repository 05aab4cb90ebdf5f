//! 条码 — Code 128 barcodes for the labels of spines, boxes and shelves, drawn as inline SVG
//! (no image files, no external assets). A USB barcode scanner reads them and types the code
//! like a keyboard, so every form that asks for a volume or a place takes a scan.
//!
//! The codes are ASCII by construction (`V00000123`, `B00000012`, `K01-A-1-2`): Code 128 set B
//! carries them; a run of eight or more digits (the id of a volume or box) switches to set C,
//! two digits per symbol, which keeps a spine label short.

use barcoders::sym::code128::Code128;

/// Set A, B and C switches of the `barcoders` syntax.
const SET_B: char = '\u{0181}';
const SET_C: char = '\u{0106}';

/// The `barcoders` input for `code`: set B, and set C for a trailing even run of digits of at
/// least four.
fn symbols(code: &str) -> String {
    let digits = code.bytes().rev().take_while(u8::is_ascii_digit).count();
    let run = digits - digits % 2;
    if run >= 4 {
        let (head, tail) = code.split_at(code.len() - run);
        if head.is_empty() {
            format!("{SET_C}{tail}")
        } else {
            format!("{SET_B}{head}{SET_C}{tail}")
        }
    } else {
        format!("{SET_B}{code}")
    }
}

/// The bars of `code` (1 = bar, 0 = space), or `None` if Code 128 cannot carry it (only
/// printable ASCII).
pub fn modules(code: &str) -> Option<Vec<u8>> {
    if code.is_empty() || !code.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    Code128::new(symbols(code)).ok().map(|c| c.encode())
}

/// An inline SVG of `code` as wide as fits in `max_width_mm` (modules of at most 0.5 mm) and
/// `height_mm` high; horizontal bars stacked down the page when `vertical` (for a spine).
pub fn svg_fit(code: &str, max_width_mm: f64, height_mm: f64, vertical: bool) -> String {
    let Some(bars) = modules(code) else {
        return String::new();
    };
    let module = (max_width_mm / (bars.len() + 20) as f64).min(0.5);
    draw(code, &bars, module, height_mm, vertical)
}

/// Draws the bars, `module_mm` each, with the quiet zone of ten modules on each side.
fn draw(code: &str, bars: &[u8], module_mm: f64, height_mm: f64, vertical: bool) -> String {
    let quiet = 10;
    let width = bars.len() + 2 * quiet;
    let mut rects = String::new();
    let mut i = 0;
    while i < bars.len() {
        if bars[i] == 1 {
            let start = i;
            while i < bars.len() && bars[i] == 1 {
                i += 1;
            }
            let (at, run) = (start + quiet, i - start);
            rects.push_str(&if vertical {
                format!("<rect x=\"0\" y=\"{at}\" width=\"1\" height=\"{run}\"/>")
            } else {
                format!("<rect x=\"{at}\" y=\"0\" width=\"{run}\" height=\"1\"/>")
            });
        } else {
            i += 1;
        }
    }
    let long = width as f64 * module_mm;
    let (vw, vh, w, h) = if vertical {
        (1, width, height_mm, long)
    } else {
        (width, 1, long, height_mm)
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"barcode\" role=\"img\" aria-label=\"条码 {code}\" \
         viewBox=\"0 0 {vw} {vh}\" preserveAspectRatio=\"none\" shape-rendering=\"crispEdges\" \
         style=\"width:{w:.2}mm;height:{h:.2}mm\"><rect width=\"{vw}\" height=\"{vh}\" fill=\"#fff\"/>\
         <g fill=\"#000\">{rects}</g></svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_volume_code_uses_set_c_for_its_digits_and_ends_with_the_stop_pattern() {
        assert_eq!(symbols("V00000123"), "\u{0181}V\u{0106}00000123");
        assert_eq!(symbols("K01-A-1-2"), "\u{0181}K01-A-1-2");
        let bars = modules("V00000123").unwrap();
        // Start B, V, switch to C, four digit pairs, check symbol: 8 × 11 modules; stop: 13.
        assert_eq!(bars.len(), 8 * 11 + 13);
        assert_eq!(&bars[..11], &[1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0], "start B");
        assert_eq!(
            &bars[bars.len() - 13..],
            &[1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1],
            "stop"
        );
    }

    #[test]
    fn chinese_cannot_be_a_barcode_and_draws_nothing() {
        assert!(modules("2023-参保登记-001").is_none());
        assert_eq!(svg_fit("2023-参保登记-001", 60.0, 10.0, false), "");
        let drawn = svg_fit("K01-A", 60.0, 10.0, false);
        assert!(drawn.starts_with("<svg") && drawn.contains("条码 K01-A"));
        // Modules never wider than 0.5 mm, and never wider than fits.
        let bars = modules("K01-A").unwrap().len() + 20;
        assert!(drawn.contains(&format!("width:{:.2}mm", bars as f64 * 0.5)));
        assert!(svg_fit("K01-A", 20.0, 10.0, true).contains("height:20.00mm"));
    }
}
