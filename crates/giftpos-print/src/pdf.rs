//! The drawing: lines of text in the 14 standard PDF fonts (WinAnsi, so Norwegian letters
//! print), QR codes as filled modules, and the receipt and A4 layouts.

use printpdf::{
    BuiltinFont, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt,
    Rect, TextItem,
};

/// One line of a document.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) text: String,
    pub(crate) style: Style,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Style {
    Text,
    Bold,
    Big,
    Gap,
}

impl Line {
    pub(crate) fn text(s: &str) -> Line {
        Line {
            text: s.to_string(),
            style: Style::Text,
        }
    }
    pub(crate) fn bold(s: &str) -> Line {
        Line {
            text: s.to_string(),
            style: Style::Bold,
        }
    }
    pub(crate) fn big(s: &str) -> Line {
        Line {
            text: s.to_string(),
            style: Style::Big,
        }
    }
    pub(crate) fn gap() -> Line {
        Line {
            text: String::new(),
            style: Style::Gap,
        }
    }

    fn font(&self, base: f32) -> (BuiltinFont, f32) {
        match self.style {
            Style::Text | Style::Gap => (BuiltinFont::Courier, base),
            Style::Bold => (BuiltinFont::CourierBold, base),
            Style::Big => (BuiltinFont::HelveticaBold, base * 1.45),
        }
    }
}

/// A QR code's dark modules.
pub(crate) struct Qr {
    pub(crate) width: usize,
    /// Row by row, `width` × `width`.
    pub(crate) dark: Vec<bool>,
}

impl Qr {
    pub(crate) fn new(payload: &str) -> Option<Qr> {
        let code =
            qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
                .ok()?;
        Some(Qr {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect(),
        })
    }

    /// Filled rectangles for the dark modules (runs in a row merged), lower-left at
    /// (x, y), each module `m` points.
    fn ops(&self, x: f32, y: f32, m: f32) -> Vec<Op> {
        let mut ops = vec![Op::SetFillColor {
            col: printpdf::Color::Greyscale(printpdf::Greyscale::new(0.0, None)),
        }];
        for row in 0..self.width {
            let mut col = 0;
            while col < self.width {
                if !self.dark[row * self.width + col] {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < self.width && self.dark[row * self.width + col] {
                    col += 1;
                }
                let top = y + (self.width - row) as f32 * m;
                let mut rectangle = Rect::from_xywh(
                    Pt(x + start as f32 * m),
                    Pt(top - m),
                    Pt((col - start) as f32 * m),
                    Pt(m),
                );
                rectangle.mode = Some(PaintMode::Fill);
                ops.push(Op::DrawRectangle { rectangle });
            }
        }
        ops
    }
}

/// Bars of a Code 128 symbol: set C (two digits a symbol, half as wide) for an even
/// run of digits, set B otherwise. True is a dark module.
pub(crate) fn code128(text: &str) -> Option<Vec<bool>> {
    let set_c = text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_digit());
    let start = if set_c { '\u{106}' } else { '\u{181}' };
    let code = barcoders::sym::code128::Code128::new(format!("{start}{text}")).ok()?;
    Some(code.encode().into_iter().map(|b| b == 1).collect())
}

fn bars_ops(bars: &[bool], x: f32, y: f32, module: f32, height: f32) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut i = 0;
    while i < bars.len() {
        if !bars[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < bars.len() && bars[i] {
            i += 1;
        }
        let mut rectangle = Rect::from_xywh(
            Pt(x + start as f32 * module),
            Pt(y),
            Pt((i - start) as f32 * module),
            Pt(height),
        );
        rectangle.mode = Some(PaintMode::Fill);
        ops.push(Op::DrawRectangle { rectangle });
    }
    ops
}

/// One printed card on a sheet.
pub(crate) struct SheetCard<'a> {
    pub card_id: &'a str,
    pub token: &'a str,
    pub pin: &'a str,
}

/// Cards per A4 sheet: two columns of five.
pub(crate) const CARDS_PER_PAGE: usize = 10;

/// A4 pages of cards: for each, the token as QR and Code 128 with its text, and the PIN in
/// its own framed panel (for the scratch-off layer), laid out two columns by five rows.
pub(crate) fn card_sheets(cards: &[SheetCard<'_>], title: &str) -> Vec<u8> {
    let mm = PT_PER_MM;
    let (cell_w, cell_h) = (95.0 * mm, 54.0 * mm);
    let (left, top) = (10.0 * mm, 287.0 * mm);
    let pages = cards
        .chunks(CARDS_PER_PAGE)
        .map(|page| {
            let mut ops = vec![Op::SetFillColor {
                col: printpdf::Color::Greyscale(printpdf::Greyscale::new(0.0, None)),
            }];
            for (i, c) in page.iter().enumerate() {
                let x = left + (i % 2) as f32 * cell_w;
                let y = top - (i / 2 + 1) as f32 * cell_h;
                // Cut frame.
                let mut frame =
                    Rect::from_xywh(Pt(x), Pt(y), Pt(cell_w - 2.0 * mm), Pt(cell_h - 2.0 * mm));
                frame.mode = Some(PaintMode::Stroke);
                ops.push(Op::SetOutlineThickness { pt: Pt(0.3) });
                ops.push(Op::DrawRectangle { rectangle: frame });
                if let Some(q) = Qr::new(c.token) {
                    // 26 mm, with at least four modules of quiet zone on every side.
                    let module = (26.0 * mm) / q.width as f32;
                    ops.extend(q.ops(x + 5.0 * mm, y + 20.0 * mm, module));
                }
                if let Some(bars) = code128(c.token) {
                    // 10-module quiet zones inside the 52 mm beside the QR code.
                    let module = (52.0 * mm / (bars.len() + 20) as f32).min(0.4 * mm);
                    ops.extend(bars_ops(
                        &bars,
                        x + 37.0 * mm + 10.0 * module,
                        y + 30.0 * mm,
                        module,
                        14.0 * mm,
                    ));
                }
                let (t, _) = text_ops(
                    &[
                        Line::text(c.token),
                        Line::text(&format!("card {}", c.card_id)),
                    ],
                    x + 37.0 * mm,
                    y + 29.0 * mm,
                    6.5,
                    1.3,
                );
                ops.extend(t);
                // The PIN panel, framed apart for the scratch-off layer.
                let mut panel = Rect::from_xywh(
                    Pt(x + 4.0 * mm),
                    Pt(y + 4.0 * mm),
                    Pt(40.0 * mm),
                    Pt(11.0 * mm),
                );
                panel.mode = Some(PaintMode::Stroke);
                ops.push(Op::DrawRectangle { rectangle: panel });
                let (t, _) = text_ops(
                    &[Line::text("PIN"), Line::bold(c.pin)],
                    x + 7.0 * mm,
                    y + 15.0 * mm,
                    8.0,
                    1.25,
                );
                ops.extend(t);
            }
            PdfPage::new(Mm(210.0), Mm(297.0), ops)
        })
        .collect();
    save(title, pages)
}

fn text_ops(lines: &[Line], x: f32, mut y: f32, base: f32, leading: f32) -> (Vec<Op>, f32) {
    let mut ops = Vec::new();
    for l in lines {
        let (font, size) = l.font(base);
        y -= size * leading;
        if l.style == Style::Gap {
            continue;
        }
        ops.push(Op::StartTextSection);
        ops.push(Op::SetFont {
            font: PdfFontHandle::Builtin(font),
            size: Pt(size),
        });
        ops.push(Op::SetTextCursor {
            pos: Point { x: Pt(x), y: Pt(y) },
        });
        ops.push(Op::ShowText {
            items: vec![TextItem::Text(l.text.clone())],
        });
        ops.push(Op::EndTextSection);
    }
    (ops, y)
}

/// Splits lines longer than `max` characters (Courier: every character is as wide).
fn wrap(lines: &[Line], max: usize) -> Vec<Line> {
    let mut out = Vec::new();
    for l in lines {
        let chars: Vec<char> = l.text.chars().collect();
        if l.style == Style::Big || chars.len() <= max {
            out.push(l.clone());
            continue;
        }
        for chunk in chars.chunks(max) {
            out.push(Line {
                text: chunk.iter().collect(),
                style: l.style,
            });
        }
    }
    out
}

fn save(title: &str, pages: Vec<PdfPage>) -> Vec<u8> {
    let mut warnings = Vec::new();
    PdfDocument::new(title)
        .with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut warnings)
}

const PT_PER_MM: f32 = 72.0 / 25.4;

/// An 80 mm wide receipt, as tall as its lines and QR code need.
pub(crate) fn receipt(lines: &[Line], qr: Option<&Qr>) -> Vec<u8> {
    let base = 7.5;
    let leading = 1.35;
    let margin = 4.0 * PT_PER_MM;
    let width = 80.0 * PT_PER_MM;
    // Courier is 0.6 em wide.
    let max_chars = ((width - 2.0 * margin) / (base * 0.6)) as usize;
    let lines = wrap(lines, max_chars);
    let module = 1.6 * PT_PER_MM;
    let qr_side = qr.map(|q| (q.width + 8) as f32 * module).unwrap_or(0.0);
    let text_height: f32 = lines.iter().map(|l| l.font(base).1 * leading).sum();
    let height = margin * 2.0 + text_height + qr_side;
    let (mut ops, y) = text_ops(&lines, margin, height - margin, base, leading);
    if let Some(q) = qr {
        let side = q.width as f32 * module;
        let x = (width - side) / 2.0;
        ops.extend(q.ops(x, y - 4.0 * module - side, module));
    }
    save(
        "giftpos receipt",
        vec![PdfPage::new(Mm(80.0), Mm(height / PT_PER_MM), ops)],
    )
}

/// A4 pages of lines (reports).
pub(crate) fn a4(lines: &[Line]) -> Vec<u8> {
    let base = 8.5;
    let leading = 1.3;
    let margin = 15.0 * PT_PER_MM;
    let width = 210.0 * PT_PER_MM;
    let height = 297.0 * PT_PER_MM;
    let max_chars = ((width - 2.0 * margin) / (base * 0.6)) as usize;
    let lines = wrap(lines, max_chars);
    let per_page = ((height - 2.0 * margin) / (base * 1.45 * leading)) as usize;
    let pages = lines
        .chunks(per_page.max(1))
        .map(|chunk| {
            let (ops, _) = text_ops(chunk, margin, height - margin, base, leading);
            PdfPage::new(Mm(210.0), Mm(297.0), ops)
        })
        .collect();
    save("giftpos report", pages)
}
