//! Link preview images, drawn in-process: a 1200×630 PNG (the size Open Graph and Twitter's
//! large card ask for) with a practice's title, evidence stage, challenge areas and the
//! network's name, and the icons of the favicon and web app manifest. No external service
//! and no font stack: glyph outlines come from DejaVu Sans (committed under `assets/fonts`,
//! with its licence) and are rasterised by ab_glyph; png encodes.
//!
//! Pure functions of their input, so a rendered image can be kept by whatever key says
//! what it shows (see `seo::previews`).

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 630;

/// Bumped when the drawing changes, so that every preview URL (which carries a hash of
/// what it shows, and this) changes too and no cache keeps the old picture.
pub const DRAWING_VERSION: u32 = 1;

static REGULAR: LazyLock<FontRef<'static>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf"))
        .expect("the committed font parses")
});
static BOLD: LazyLock<FontRef<'static>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!(
        "../../assets/fonts/DejaVuSans-Bold-subset.ttf"
    ))
    .expect("the committed font parses")
});

type Rgb = [u8; 3];

// The palette of static/style.css, so a preview looks like the hub; every pair is its
// checked AA (or better) contrast pair there.
const TEXT: Rgb = [0x1f, 0x2d, 0x3d];
const MUTED: Rgb = [0x4a, 0x58, 0x68];
const BG: Rgb = [0xff, 0xff, 0xff];
const BRAND_BG: Rgb = [0x12, 0x3c, 0x63];
const BRAND_TEXT: Rgb = [0xff, 0xff, 0xff];
const SPOT: Rgb = [0xff, 0xe5, 0x8a];

/// The badge colours (background, text) of a stage, as `.badge-{stage}` draws them.
fn stage_colours(stage: &str) -> (Rgb, Rgb) {
    match stage {
        "replicated" => ([0xe4, 0xec, 0xfb], [0x1b, 0x3f, 0x8b]),
        "confirmed" => ([0xe3, 0xf1, 0xe6], [0x1d, 0x5b, 0x2c]),
        _ => ([0xff, 0xf4, 0xd6], [0x6b, 0x45, 0x00]),
    }
}

/// What a practice's preview shows.
pub struct PracticeCard<'a> {
    pub title: &'a str,
    /// The stage's key (`promising`, `confirmed`, `replicated`), for its colours.
    pub stage_key: &'a str,
    /// The stage as people read it ("Confirmed").
    pub stage_label: &'a str,
    /// The challenge areas' names.
    pub areas: &'a [String],
    pub network: &'a str,
}

const MARGIN: f32 = 72.0;
const BAND: u32 = 96;

/// A practice's preview: the network's band on top, the title in large type (up to four
/// lines, then an ellipsis), the stage as a badge, the challenge areas below it.
pub fn practice_png(card: &PracticeCard) -> Vec<u8> {
    let mut c = Canvas::new(WIDTH, HEIGHT, BG);
    network_band(&mut c, card.network);
    let width = WIDTH as f32 - 2.0 * MARGIN;
    // A short title gets larger type; a long one still fits in four lines.
    let (size, lines) = [64.0, 56.0, 48.0]
        .iter()
        .map(|&size| (size, wrap(&BOLD, size, card.title, width, 4)))
        .find(|(_, lines)| lines.len() <= 3)
        .unwrap_or_else(|| (48.0, wrap(&BOLD, 48.0, card.title, width, 4)));
    let line_height = size * 1.2;
    let mut baseline = BAND as f32 + 56.0 + size;
    for line in &lines {
        c.text(&BOLD, size, MARGIN, baseline, line, TEXT);
        baseline += line_height;
    }
    // The badge and the areas sit at the bottom, whatever the title's length.
    let (badge_bg, badge_text) = stage_colours(card.stage_key);
    let label = format!("Evidence: {}", card.stage_label);
    let badge_size = 30.0;
    let badge_w = measure(&BOLD, badge_size, &label) + 40.0;
    let badge_top = HEIGHT as f32 - 190.0;
    c.fill_rect(MARGIN, badge_top, badge_w, 52.0, badge_bg);
    c.text(
        &BOLD,
        badge_size,
        MARGIN + 20.0,
        badge_top + 37.0,
        &label,
        badge_text,
    );
    let areas = card.areas.join(" · ");
    for (i, line) in wrap(&REGULAR, 30.0, &areas, width, 2).iter().enumerate() {
        let y = HEIGHT as f32 - 82.0 + i as f32 * 38.0;
        c.text(&REGULAR, 30.0, MARGIN, y, line, MUTED);
    }
    c.png()
}

/// The preview of every page that is not a practice: the network's name and what the hub is.
pub fn site_png(network: &str, tagline: &str) -> Vec<u8> {
    let mut c = Canvas::new(WIDTH, HEIGHT, BRAND_BG);
    let width = WIDTH as f32 - 2.0 * MARGIN;
    c.circle(WIDTH as f32 - 150.0, 150.0, 60.0, SPOT);
    let mut baseline = 260.0;
    for line in wrap(&BOLD, 72.0, network, width - 120.0, 2) {
        c.text(&BOLD, 72.0, MARGIN, baseline, &line, BRAND_TEXT);
        baseline += 86.0;
    }
    baseline += 20.0;
    for line in wrap(&REGULAR, 38.0, tagline, width, 3) {
        c.text(&REGULAR, 38.0, MARGIN, baseline, &line, BRAND_TEXT);
        baseline += 50.0;
    }
    c.png()
}

/// The hub's icon at `size` pixels square: a bright spot on the header's navy, as
/// `static/favicon.svg` draws it.
pub fn icon_png(size: u32) -> Vec<u8> {
    let mut c = Canvas::new(size, size, BRAND_BG);
    let s = size as f32;
    c.circle(s / 2.0, s / 2.0, s * 0.28, SPOT);
    c.png()
}

/// The network's band across the top of a practice's preview.
fn network_band(c: &mut Canvas, network: &str) {
    c.fill_rect(0.0, 0.0, WIDTH as f32, BAND as f32, BRAND_BG);
    c.circle(MARGIN + 14.0, BAND as f32 / 2.0, 14.0, SPOT);
    let name = wrap(&BOLD, 34.0, network, WIDTH as f32 - 2.0 * MARGIN - 48.0, 1);
    if let Some(line) = name.first() {
        c.text(&BOLD, 34.0, MARGIN + 48.0, 60.0, line, BRAND_TEXT);
    }
}

/// The width of `text` set in `font` at `size` pixels, with kerning.
fn measure(font: &FontRef<'static>, size: f32, text: &str) -> f32 {
    layout(font, size, text).last().map_or(0.0, |&(id, x)| {
        x + font.as_scaled(PxScale::from(size)).h_advance(id)
    })
}

/// Each glyph of `text` with its pen position from the start of the line.
fn layout(font: &FontRef<'static>, size: f32, text: &str) -> Vec<(GlyphId, f32)> {
    let scaled = font.as_scaled(PxScale::from(size));
    let mut x = 0.0;
    let mut previous: Option<GlyphId> = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for ch in text.chars().filter(|c| !c.is_control()) {
        let id = scaled.glyph_id(ch);
        if let Some(p) = previous {
            x += scaled.kern(p, id);
        }
        glyphs.push((id, x));
        x += scaled.h_advance(id);
        previous = Some(id);
    }
    glyphs
}

/// `text` broken into at most `max_lines` lines no wider than `width`, at spaces (a word
/// wider than a line is cut where it must be); when it does not all fit, the last line ends
/// in an ellipsis.
pub(crate) fn wrap(
    font: &FontRef<'static>,
    size: f32,
    text: &str,
    width: f32,
    max_lines: usize,
) -> Vec<String> {
    let fits = |s: &str| measure(font, size, s) <= width;
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut cut = false;
    'words: for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if fits(&candidate) {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
            if lines.len() == max_lines {
                cut = true;
                break;
            }
        }
        // The word alone: cut it into pieces that fit when it is wider than a line.
        for ch in word.chars() {
            let mut longer = current.clone();
            longer.push(ch);
            if fits(&longer) || current.is_empty() {
                current = longer;
            } else {
                lines.push(std::mem::replace(&mut current, ch.to_string()));
                if lines.len() == max_lines {
                    cut = true;
                    break 'words;
                }
            }
        }
    }
    if !cut && !current.is_empty() {
        lines.push(current);
    }
    if cut && let Some(last) = lines.last_mut() {
        // Shorten the last line until it fits with the ellipsis, at a space when there is one.
        let mut shortened = last.trim_end().to_string();
        while !shortened.is_empty() && !fits(&format!("{shortened}…")) {
            shortened.pop();
        }
        if let Some(space) = shortened.rfind(' ')
            && space > shortened.len() / 2
        {
            shortened.truncate(space);
        }
        *last = format!(
            "{}…",
            shortened.trim_end_matches([' ', ',', ';', ':', '—', '-'])
        );
    }
    lines
}

/// An RGB image being drawn.
struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32, bg: Rgb) -> Canvas {
        Canvas {
            width,
            height,
            pixels: bg.repeat((width * height) as usize),
        }
    }

    /// Mixes `colour` into the pixel at (x, y) by `coverage` (0 to 1).
    fn blend(&mut self, x: i64, y: i64, coverage: f32, colour: Rgb) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let a = coverage.clamp(0.0, 1.0);
        let at = ((y as usize) * self.width as usize + x as usize) * 3;
        for (i, &c) in colour.iter().enumerate() {
            let old = f32::from(self.pixels[at + i]);
            self.pixels[at + i] = (old + (f32::from(c) - old) * a).round() as u8;
        }
    }

    fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb) {
        for py in y.round() as i64..(y + h).round() as i64 {
            for px in x.round() as i64..(x + w).round() as i64 {
                self.blend(px, py, 1.0, colour);
            }
        }
    }

    /// A filled circle, its edge smoothed by the distance of each pixel's centre to it.
    fn circle(&mut self, cx: f32, cy: f32, r: f32, colour: Rgb) {
        for py in (cy - r - 1.0).floor() as i64..=(cy + r + 1.0).ceil() as i64 {
            for px in (cx - r - 1.0).floor() as i64..=(cx + r + 1.0).ceil() as i64 {
                let d = ((px as f32 + 0.5 - cx).powi(2) + (py as f32 + 0.5 - cy).powi(2)).sqrt();
                self.blend(px, py, r + 0.5 - d, colour);
            }
        }
    }

    /// `text` on one line, its baseline at `y`, starting at `x`.
    fn text(
        &mut self,
        font: &FontRef<'static>,
        size: f32,
        x: f32,
        y: f32,
        text: &str,
        colour: Rgb,
    ) {
        for (id, dx) in layout(font, size, text) {
            let glyph = id.with_scale_and_position(size, point(x + dx, y));
            if let Some(outlined) = font.outline_glyph(glyph) {
                let bounds = outlined.px_bounds();
                let (left, top) = (bounds.min.x as i64, bounds.min.y as i64);
                outlined.draw(|gx, gy, coverage| {
                    self.blend(left + i64::from(gx), top + i64::from(gy), coverage, colour);
                });
            }
        }
    }

    fn png(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * 1024);
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        // Writing to a Vec of a size we chose cannot fail.
        let mut writer = encoder.write_header().expect("PNG header");
        writer.write_image_data(&self.pixels).expect("PNG data");
        writer.finish().expect("PNG end");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_at_spaces_and_ends_a_cut_text_with_an_ellipsis() {
        assert_eq!(
            wrap(&BOLD, 64.0, "Number talks", 1056.0, 4),
            ["Number talks"]
        );
        let lines = wrap(&BOLD, 64.0, "Number talks with sentence frames", 1056.0, 4);
        assert_eq!(lines, ["Number talks with sentence", "frames"]);
        let long = "word ".repeat(200);
        let lines = wrap(&BOLD, 64.0, &long, 1056.0, 4);
        assert_eq!(lines.len(), 4);
        assert!(lines[3].ends_with('…'), "{lines:?}");
        assert!(lines.iter().all(|l| measure(&BOLD, 64.0, l) <= 1056.0));
        // One unbroken word wider than a line is cut, not overflowing.
        let lines = wrap(&BOLD, 64.0, &"x".repeat(300), 1056.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| measure(&BOLD, 64.0, l) <= 1056.0));
        assert!(wrap(&BOLD, 64.0, "  ", 100.0, 2).is_empty());
    }

    #[test]
    fn a_preview_is_a_1200_by_630_png_with_dark_text_on_it() {
        let png = practice_png(&PracticeCard {
            title: "Number talks with sentence frames",
            stage_key: "confirmed",
            stage_label: "Confirmed",
            areas: &["Academic discourse".into(), "Math problem solving".into()],
            network: "Bright Spots",
        });
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        // The title's strokes are there: many pixels of the text colour below the band.
        let dark = pixels[(BAND as usize * WIDTH as usize * 3)..]
            .chunks(3)
            .filter(|p| *p == TEXT)
            .count();
        assert!(dark > 5_000, "{dark} text pixels");
    }
}
