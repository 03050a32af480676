//! Turning a reader's byte stream into scans. Pure: bytes and the time come in, frames
//! and warnings go out, so every case (split reads, many frames per read, noise, partial
//! frames, over-long garbage) is tested and fuzzed without a device.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What ends a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Terminator {
    /// Any of CR, LF, CRLF, TAB or ETX ends a frame (a CRLF counts once): readers as they
    /// ship, whatever their suffix. The default.
    #[default]
    Auto,
    /// `\r` (a following `\n` is taken as part of it).
    Cr,
    /// `\n` (a preceding `\r` is dropped).
    Lf,
    /// `\r\n`.
    Crlf,
    /// `\t`.
    Tab,
    /// ETX, 0x03.
    Etx,
}

impl Terminator {
    pub fn parse(s: &str) -> Option<Terminator> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(Terminator::Auto),
            "cr" => Some(Terminator::Cr),
            "lf" => Some(Terminator::Lf),
            "crlf" => Some(Terminator::Crlf),
            "tab" => Some(Terminator::Tab),
            "etx" => Some(Terminator::Etx),
            _ => None,
        }
    }
}

/// How frames are cut and cleaned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameConfig {
    pub terminator: Terminator,
    /// Stripped from the start of a frame when present (a reader's configured prefix).
    pub prefix: Option<String>,
    /// Stripped from the end of a frame when present.
    pub suffix: Option<String>,
    /// A partial frame older than this is discarded (with a warning).
    pub inter_byte_timeout: Duration,
    /// Longer frames are discarded whole.
    pub max_len: usize,
}

impl Default for FrameConfig {
    fn default() -> Self {
        FrameConfig {
            terminator: Terminator::Auto,
            prefix: None,
            suffix: None,
            inter_byte_timeout: Duration::from_millis(200),
            max_len: 512,
        }
    }
}

/// A decoded scan: its text, and the symbology when the reader sent an AIM identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame {
    pub text: String,
    /// e.g. `]C0` (Code 128), `]Q1` (QR), `]E0` (EAN-13).
    pub symbology: Option<String>,
}

/// What the decoder reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decoded {
    Frame(Frame),
    /// Bytes thrown away, and why (never their content: it may be a card number).
    Discarded {
        reason: DiscardReason,
        bytes: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscardReason {
    /// No terminator within the inter-byte timeout.
    PartialTimeout,
    /// Longer than `max_len`.
    TooLong,
    /// Not text.
    NotText,
}

/// The decoder's state between reads.
#[derive(Debug)]
pub struct FrameDecoder {
    cfg: FrameConfig,
    buf: Vec<u8>,
    last_byte: Option<Instant>,
    /// Dropping bytes until the next terminator (after an over-long frame).
    skipping: bool,
    /// The previous byte was a CR that ended a frame (so a following LF is part of it).
    after_cr: bool,
}

impl FrameDecoder {
    pub fn new(cfg: FrameConfig) -> FrameDecoder {
        FrameDecoder {
            cfg,
            buf: Vec::with_capacity(64),
            last_byte: None,
            skipping: false,
            after_cr: false,
        }
    }

    pub fn config(&self) -> &FrameConfig {
        &self.cfg
    }

    /// Feeds bytes read at `now`; returns what they completed.
    pub fn push(&mut self, bytes: &[u8], now: Instant) -> Vec<Decoded> {
        let mut out = Vec::new();
        if let Some(d) = self.tick(now) {
            out.push(d);
        }
        for &b in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            let ends = match self.cfg.terminator {
                Terminator::Auto => {
                    if b == b'\n' && after_cr {
                        continue;
                    }
                    matches!(b, b'\r' | b'\n' | b'\t' | 0x03)
                }
                Terminator::Cr => {
                    if b == b'\n' && after_cr {
                        continue;
                    }
                    b == b'\r'
                }
                Terminator::Lf => b == b'\n',
                Terminator::Crlf => b == b'\n' && self.buf.last() == Some(&b'\r'),
                Terminator::Tab => b == b'\t',
                Terminator::Etx => b == 0x03,
            };
            if ends {
                self.after_cr = b == b'\r';
                if std::mem::replace(&mut self.skipping, false) {
                    self.buf.clear();
                    continue;
                }
                if let Some(d) = self.finish() {
                    out.push(d);
                }
                continue;
            }
            if self.skipping {
                continue;
            }
            self.buf.push(b);
            if self.buf.len() > self.cfg.max_len {
                out.push(Decoded::Discarded {
                    reason: DiscardReason::TooLong,
                    bytes: self.buf.len(),
                });
                self.buf.clear();
                self.skipping = true;
            }
        }
        self.last_byte = Some(now);
        out
    }

    /// Called when no bytes came: discards a partial frame left too long.
    pub fn tick(&mut self, now: Instant) -> Option<Decoded> {
        let last = self.last_byte?;
        if now.duration_since(last) < self.cfg.inter_byte_timeout {
            return None;
        }
        self.last_byte = None;
        self.skipping = false;
        let pending = self.buf.len();
        self.buf.clear();
        (pending > 0).then_some(Decoded::Discarded {
            reason: DiscardReason::PartialTimeout,
            bytes: pending,
        })
    }

    /// When the next [`tick`](Self::tick) could discard something, if anything is held.
    pub fn deadline(&self) -> Option<Instant> {
        if self.buf.is_empty() && !self.skipping {
            return None;
        }
        self.last_byte.map(|t| t + self.cfg.inter_byte_timeout)
    }

    fn finish(&mut self) -> Option<Decoded> {
        let raw = std::mem::take(&mut self.buf);
        let bytes = raw.len();
        let Ok(text) = String::from_utf8(raw) else {
            return Some(Decoded::Discarded {
                reason: DiscardReason::NotText,
                bytes,
            });
        };
        clean(&text, &self.cfg).map(Decoded::Frame)
    }
}

/// Strips control characters at the ends (noise, a stray CR or LF), the configured
/// prefix and suffix, and an AIM symbology identifier. An empty result is no frame.
fn clean(text: &str, cfg: &FrameConfig) -> Option<Frame> {
    let mut t = text.trim_matches(|c: char| c.is_control() || c.is_whitespace());
    if let Some(p) = cfg.prefix.as_deref().filter(|p| !p.is_empty()) {
        t = t.strip_prefix(p).unwrap_or(t);
    }
    if let Some(s) = cfg.suffix.as_deref().filter(|s| !s.is_empty()) {
        t = t.strip_suffix(s).unwrap_or(t);
    }
    let mut symbology = None;
    let b = t.as_bytes();
    if b.len() >= 3 && b[0] == b']' && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphanumeric() {
        symbology = Some(t[..3].to_string());
        t = &t[3..];
    }
    // Control characters inside a frame are noise, never part of a token.
    let text: String = t.chars().filter(|c| !c.is_control()).collect();
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(Frame { text, symbology })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec(t: Terminator) -> FrameDecoder {
        FrameDecoder::new(FrameConfig {
            terminator: t,
            ..FrameConfig::default()
        })
    }

    fn frames(out: &[Decoded]) -> Vec<&str> {
        out.iter()
            .filter_map(|d| match d {
                Decoded::Frame(f) => Some(f.text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_terminator_cuts_frames() {
        let t0 = Instant::now();
        for (term, input) in [
            (Terminator::Cr, &b"AAA\rBBB\r"[..]),
            (Terminator::Lf, b"AAA\nBBB\n"),
            (Terminator::Crlf, b"AAA\r\nBBB\r\n"),
            (Terminator::Tab, b"AAA\tBBB\t"),
            (Terminator::Etx, b"AAA\x03BBB\x03"),
            (Terminator::Auto, b"AAA\rBBB\r"),
            (Terminator::Auto, b"AAA\nBBB\n"),
            (Terminator::Auto, b"AAA\r\nBBB\r\n"),
            (Terminator::Auto, b"AAA\tBBB\t"),
            (Terminator::Auto, b"AAA\x03BBB\x03"),
            (Terminator::Auto, b"AAA\r\nBBB\n"),
        ] {
            assert_eq!(
                frames(&dec(term).push(input, t0)),
                vec!["AAA", "BBB"],
                "{term:?}"
            );
        }
        // A CRLF reader on a CR decoder, and a CRLF reader on an LF decoder.
        assert_eq!(
            frames(&dec(Terminator::Cr).push(b"AAA\r\nBBB\r\n", t0)),
            vec!["AAA", "BBB"]
        );
        assert_eq!(
            frames(&dec(Terminator::Lf).push(b"AAA\r\nBBB\r\n", t0)),
            vec!["AAA", "BBB"]
        );
    }

    #[test]
    fn split_reads_and_many_frames_per_read() {
        let t0 = Instant::now();
        let mut d = dec(Terminator::Cr);
        let mut got = Vec::new();
        for b in b"9578000000001001\r" {
            got.extend(d.push(&[*b], t0));
        }
        assert_eq!(frames(&got), vec!["9578000000001001"]);
        let many = d.push(b"1\r2\r3\r", t0);
        assert_eq!(frames(&many), vec!["1", "2", "3"]);
    }

    #[test]
    fn aim_prefixes_and_configured_affixes_are_stripped() {
        let t0 = Instant::now();
        let mut d = FrameDecoder::new(FrameConfig {
            prefix: Some("<".into()),
            suffix: Some(">".into()),
            ..FrameConfig::default()
        });
        let out = d.push(b"]C09578000000001001\r<]Q1giftpos:entry:x>\r", t0);
        match (&out[0], &out[1]) {
            (Decoded::Frame(a), Decoded::Frame(b)) => {
                assert_eq!(
                    (a.text.as_str(), a.symbology.as_deref()),
                    ("9578000000001001", Some("]C0"))
                );
                assert_eq!(
                    (b.text.as_str(), b.symbology.as_deref()),
                    ("giftpos:entry:x", Some("]Q1"))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn noise_between_frames_is_dropped() {
        let t0 = Instant::now();
        let out = dec(Terminator::Cr).push(b"\x00\x1b\rAAA\r\x07\x07\r \r", t0);
        assert_eq!(frames(&out), vec!["AAA"]);
    }

    #[test]
    fn over_long_garbage_is_discarded_and_the_next_frame_survives() {
        let t0 = Instant::now();
        let mut d = dec(Terminator::Cr);
        let mut input = vec![b'x'; 2000];
        input.extend_from_slice(b"\rGOOD\r");
        let out = d.push(&input, t0);
        assert!(matches!(
            out[0],
            Decoded::Discarded {
                reason: DiscardReason::TooLong,
                ..
            }
        ));
        assert_eq!(frames(&out), vec!["GOOD"]);
    }

    #[test]
    fn a_partial_frame_then_silence_is_discarded() {
        let t0 = Instant::now();
        let mut d = dec(Terminator::Cr);
        assert!(d.push(b"95780000", t0).is_empty());
        assert!(d.deadline().is_some());
        assert_eq!(d.tick(t0 + Duration::from_millis(50)), None);
        assert_eq!(
            d.tick(t0 + Duration::from_millis(250)),
            Some(Decoded::Discarded {
                reason: DiscardReason::PartialTimeout,
                bytes: 8
            })
        );
        // The next scan is whole, not glued to the stale half.
        let out = d.push(b"9578000000001001\r", t0 + Duration::from_millis(300));
        assert_eq!(frames(&out), vec!["9578000000001001"]);
    }

    #[test]
    fn invalid_utf8_is_not_text() {
        let out = dec(Terminator::Cr).push(b"\xff\xfe\r", Instant::now());
        assert!(matches!(
            out[0],
            Decoded::Discarded {
                reason: DiscardReason::NotText,
                ..
            }
        ));
    }

    proptest! {
        #[test]
        fn any_split_of_the_stream_gives_the_same_frames(
            tokens in prop::collection::vec("[0-9A-Za-z:-]{1,40}", 1..8),
            cuts in prop::collection::vec(1usize..7, 1..50),
        ) {
            let stream: Vec<u8> = tokens.iter().flat_map(|t| format!("{t}\r\n").into_bytes()).collect();
            let t0 = Instant::now();
            let mut d = dec(Terminator::Crlf);
            let mut got = Vec::new();
            let mut i = 0;
            for c in cuts.iter().cycle() {
                if i >= stream.len() { break; }
                let j = (i + c).min(stream.len());
                got.extend(d.push(&stream[i..j], t0));
                i = j;
            }
            let texts: Vec<String> = frames(&got).into_iter().map(str::to_string).collect();
            prop_assert_eq!(texts, tokens);
        }

        #[test]
        fn never_panics_and_frames_are_bounded(bytes in prop::collection::vec(any::<u8>(), 0..3000)) {
            let mut d = dec(Terminator::Cr);
            for out in d.push(&bytes, Instant::now()) {
                if let Decoded::Frame(f) = out {
                    prop_assert!(f.text.len() <= 512 && !f.text.is_empty());
                    prop_assert!(!f.text.chars().any(char::is_control));
                }
            }
        }
    }
}
