//! Printed card tokens: checked against the configured formats, shown masked.
//!
//! A token is a secret as long as its card can pay, so [`CardToken`] never shows it whole
//! through `Debug` or `Display`; only [`CardToken::expose`] gives the full text, for the
//! request that needs it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A card-token format as Dintero describes it: `length` counts the characters after
/// `prefix`; `numbers`, `characters` and `symbols` say which characters may appear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFormat {
    #[serde(default)]
    pub prefix: String,
    pub length: usize,
    /// ASCII digits.
    #[serde(default = "yes")]
    pub numbers: bool,
    /// ASCII letters, either case.
    #[serde(default)]
    pub characters: bool,
    /// ASCII punctuation (`-`, `:`, `_`, …); never spaces.
    #[serde(default)]
    pub symbols: bool,
    /// Whether Dintero should make a Code 128 image; not used for checking.
    #[serde(default)]
    pub barcode: bool,
}

fn yes() -> bool {
    true
}

impl TokenFormat {
    /// The single-card guide's recommendation: 16 digits, no prefix.
    pub fn numeric16() -> TokenFormat {
        TokenFormat {
            prefix: String::new(),
            length: 16,
            numbers: true,
            characters: false,
            symbols: false,
            barcode: true,
        }
    }

    /// Dintero's batch example: `DINCARD:` and a UUID.
    pub fn dincard_uuid() -> TokenFormat {
        TokenFormat {
            prefix: "DINCARD:".into(),
            length: 36,
            numbers: true,
            characters: true,
            symbols: true,
            barcode: false,
        }
    }

    /// Whether `c` may appear after the prefix.
    pub fn allows(&self, c: char) -> bool {
        (self.numbers && c.is_ascii_digit())
            || (self.characters && c.is_ascii_alphabetic())
            || (self.symbols && c.is_ascii_punctuation())
    }

    /// A short description for messages: `16 digits`, `DINCARD: + 36 characters`.
    pub fn describe(&self) -> String {
        let what = if self.numbers && !self.characters && !self.symbols {
            "digits"
        } else {
            "characters"
        };
        if self.prefix.is_empty() {
            format!("{} {what}", self.length)
        } else {
            format!("{} + {} {what}", self.prefix, self.length)
        }
    }
}

/// Why a scanned or typed text is not a card token. Near misses say what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no card number was entered")]
    Empty,
    #[error("this is not a gift card")]
    NotAGiftCard,
    #[error("the card number has {got} characters where {format} are expected")]
    WrongLength {
        expected: usize,
        got: usize,
        format: String,
    },
    #[error(
        "the card number has '{ch}' at position {position}, which its format ({format}) does not allow"
    )]
    ForbiddenCharacter {
        position: usize,
        ch: char,
        format: String,
    },
    #[error("no card-token format is configured")]
    NoFormats,
}

/// A gift card's printed token, checked against a configured format.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CardToken {
    value: String,
    prefix_len: usize,
}

/// How far from its expected length an unprefixed token may be and still count as a
/// misread card (a dropped or doubled digit) rather than some other barcode.
const NEAR_MISS_SLACK: usize = 2;

/// Anything longer is garbage, not a token.
const MAX_TOKEN_LEN: usize = 256;

impl CardToken {
    /// Checks `input` against `formats` (the first that fits wins). Leading and trailing
    /// whitespace and control characters are dropped, and so are spaces inside, which
    /// clerks type to group digits as printed.
    pub fn parse(input: &str, formats: &[TokenFormat]) -> Result<CardToken, TokenError> {
        if formats.is_empty() {
            return Err(TokenError::NoFormats);
        }
        let cleaned: String = input
            .trim_matches(|c: char| c.is_whitespace() || c.is_control())
            .chars()
            .filter(|c| *c != ' ')
            .collect();
        if cleaned.is_empty() {
            return Err(TokenError::Empty);
        }
        if cleaned.len() > MAX_TOKEN_LEN {
            return Err(TokenError::NotAGiftCard);
        }
        let mut best: Option<(u8, TokenError)> = None;
        for f in formats {
            let Some(body) = cleaned.strip_prefix(f.prefix.as_str()) else {
                continue;
            };
            let len = body.chars().count();
            let bad = body.chars().enumerate().find(|(_, c)| !f.allows(*c));
            let miss = match (len == f.length, bad) {
                (true, None) => {
                    return Ok(CardToken {
                        prefix_len: f.prefix.len(),
                        value: cleaned,
                    });
                }
                (true, Some((i, ch))) => Some((
                    if f.prefix.is_empty() { 1 } else { 3 },
                    TokenError::ForbiddenCharacter {
                        position: f.prefix.chars().count() + i + 1,
                        ch,
                        format: f.describe(),
                    },
                )),
                (false, None) => {
                    let close = len.abs_diff(f.length) <= NEAR_MISS_SLACK;
                    (!f.prefix.is_empty() || close).then(|| {
                        (
                            if f.prefix.is_empty() { 2 } else { 4 },
                            TokenError::WrongLength {
                                expected: f.length,
                                got: len,
                                format: f.describe(),
                            },
                        )
                    })
                }
                (false, Some(_)) => (!f.prefix.is_empty()).then(|| {
                    (
                        3,
                        TokenError::WrongLength {
                            expected: f.length,
                            got: len,
                            format: f.describe(),
                        },
                    )
                }),
            };
            if let Some((rank, err)) = miss
                && best.as_ref().is_none_or(|(r, _)| rank > *r)
            {
                best = Some((rank, err));
            }
        }
        Err(best.map(|(_, e)| e).unwrap_or(TokenError::NotAGiftCard))
    }

    /// A token that was checked when it was recorded (read back from the journal).
    /// Shown masked with no prefix kept.
    pub fn recorded(value: &str) -> CardToken {
        CardToken {
            value: value.to_string(),
            prefix_len: 0,
        }
    }

    /// The full token, for the one request that needs it. Never log or store this.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The token with everything but the prefix and the last four characters hidden:
    /// `************1011`, `DINCARD:****2e5f`.
    pub fn masked(&self) -> String {
        mask(&self.value, self.prefix_len)
    }

    /// The last four characters.
    pub fn last4(&self) -> &str {
        let n = self.value.len();
        &self.value[n.saturating_sub(4).max(self.prefix_len)..]
    }
}

/// Masks a token-like text keeping `keep_prefix` leading bytes and the last four
/// characters. Used for tokens we could not parse too, so nothing whole ever leaves.
pub fn mask(value: &str, keep_prefix: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    let prefix_chars = value[..keep_prefix.min(value.len())].chars().count();
    let tail = 4.min(chars.len().saturating_sub(prefix_chars));
    let hidden = chars.len() - prefix_chars - tail;
    let mut out: String = chars[..prefix_chars].iter().collect();
    out.extend(std::iter::repeat_n('*', hidden.max(4)));
    out.extend(&chars[chars.len() - tail..]);
    out
}

impl fmt::Debug for CardToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardToken({})", self.masked())
    }
}

impl fmt::Display for CardToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn formats() -> Vec<TokenFormat> {
        vec![TokenFormat::numeric16(), TokenFormat::dincard_uuid()]
    }

    #[test]
    fn accepts_each_configured_format() {
        let t = CardToken::parse("9578000000001001", &formats()).unwrap();
        assert_eq!(t.expose(), "9578000000001001");
        assert_eq!(t.masked(), "************1001");
        assert_eq!(t.last4(), "1001");
        let u =
            CardToken::parse("DINCARD:6ccfec5d-3a53-47de-910a-97d6dda22e5f", &formats()).unwrap();
        assert_eq!(u.masked(), "DINCARD:********************************2e5f");
        assert_eq!(u.last4(), "2e5f");
    }

    #[test]
    fn strips_scanner_terminators_and_typed_spaces() {
        let t = CardToken::parse(" 9578 0000 0000 1001\r\n", &formats()).unwrap();
        assert_eq!(t.expose(), "9578000000001001");
    }

    #[test]
    fn never_shows_the_whole_token() {
        let t = CardToken::parse("9578000000001001", &formats()).unwrap();
        assert!(!format!("{t:?}").contains("9578000000001001"));
        assert!(!format!("{t}").contains("9578000000001001"));
    }

    #[test]
    fn near_misses_are_specific() {
        assert_eq!(
            CardToken::parse("DINCARD:6ccfec5d", &formats()),
            Err(TokenError::WrongLength {
                expected: 36,
                got: 8,
                format: "DINCARD: + 36 characters".into()
            })
        );
        assert_eq!(
            CardToken::parse("957800000000100", &formats()),
            Err(TokenError::WrongLength {
                expected: 16,
                got: 15,
                format: "16 digits".into()
            })
        );
        assert_eq!(
            CardToken::parse("95780000000O1001", &formats()),
            Err(TokenError::ForbiddenCharacter {
                position: 12,
                ch: 'O',
                format: "16 digits".into()
            })
        );
        assert!(matches!(
            CardToken::parse("DINCARD:6ccfec5d 3a53-47de-910a-97d6dda22e5f€", &formats()),
            Err(TokenError::WrongLength { .. } | TokenError::ForbiddenCharacter { .. })
        ));
    }

    #[test]
    fn other_barcodes_are_not_gift_cards() {
        // An EAN-13 from a product, a URL, a word.
        for s in ["7038010069307", "https://example.com/x", "hello", "12"] {
            assert_eq!(
                CardToken::parse(s, &formats()),
                Err(TokenError::NotAGiftCard),
                "{s}"
            );
        }
        assert_eq!(
            CardToken::parse("  \r\n", &formats()),
            Err(TokenError::Empty)
        );
        assert_eq!(CardToken::parse("1", &[]), Err(TokenError::NoFormats));
    }

    #[test]
    fn mask_handles_short_values() {
        assert_eq!(mask("12", 0), "****12");
        assert_eq!(mask("", 0), "****");
        assert_eq!(mask("ABC:1", 4), "ABC:****1");
    }

    proptest! {
        #[test]
        fn every_well_formed_numeric_token_is_accepted(digits in "[0-9]{16}") {
            let t = CardToken::parse(&digits, &formats()).unwrap();
            prop_assert_eq!(t.expose(), digits.as_str());
            prop_assert!(t.masked().ends_with(&digits[12..]));
            prop_assert!(!t.masked().contains(&digits[..12]));
        }

        #[test]
        fn every_uuid_token_is_accepted(body in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}") {
            let s = format!("DINCARD:{body}");
            prop_assert!(CardToken::parse(&s, &formats()).is_ok());
        }

        #[test]
        fn a_digit_more_or_less_is_a_wrong_length(digits in "[0-9]{14,18}") {
            prop_assume!(digits.len() != 16);
            let is_wrong_length = matches!(
                CardToken::parse(&digits, &formats()),
                Err(TokenError::WrongLength { expected: 16, .. })
            );
            prop_assert!(is_wrong_length);
        }

        #[test]
        fn accepted_tokens_always_fit_a_format(s in "\\PC{0,60}") {
            if let Ok(t) = CardToken::parse(&s, &formats()) {
                let fits = formats().iter().any(|f| t.expose().strip_prefix(f.prefix.as_str())
                    .is_some_and(|b| b.chars().count() == f.length && b.chars().all(|c| f.allows(c))));
                prop_assert!(fits);
            }
        }
    }
}
