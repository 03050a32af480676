//! Money in integer minor units with its ISO 4217 currency, and exact parsing of what a
//! clerk types.
//!
//! There is no floating point anywhere in this module: parsing works digit by digit with
//! checked integer arithmetic, and formatting splits the integer.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The languages/locales the terminal formats amounts and dates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// English: `1,234.50`.
    #[default]
    En,
    /// Norwegian bokmål: `1 234,50`.
    Nb,
}

impl Locale {
    /// Parses a locale tag such as `en`, `en-GB`, `nb`, `nb-NO`, `no`.
    pub fn parse(tag: &str) -> Option<Locale> {
        let lang = tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match lang.as_str() {
            "en" => Some(Locale::En),
            "nb" | "no" | "nn" => Some(Locale::Nb),
            _ => None,
        }
    }

    /// The locale's tag.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Nb => "nb",
        }
    }

    fn decimal_separator(self) -> char {
        match self {
            Locale::En => '.',
            Locale::Nb => ',',
        }
    }

    /// The group separator used when formatting.
    fn group_separator(self) -> char {
        match self {
            Locale::En => ',',
            // A no-break space, so an amount never wraps across lines.
            Locale::Nb => '\u{a0}',
        }
    }
}

/// Spaces a clerk or a copied text may use to group thousands, in any locale.
const SPACES: [char; 4] = [' ', '\u{a0}', '\u{202f}', '\u{2009}'];

/// An ISO 4217 currency the terminal knows, with its number of minor-unit digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// Currencies with their minor-unit digits (ISO 4217). Dintero is seen with NOK, SEK,
/// DKK, EUR and USD; the others are here so a misconfiguration is caught by name.
const CURRENCIES: &[(&str, u8)] = &[
    ("NOK", 2),
    ("SEK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("USD", 2),
    ("GBP", 2),
    ("CHF", 2),
    ("PLN", 2),
    ("ISK", 0),
    ("JPY", 0),
];

impl Currency {
    /// Looks a currency up by its ISO code (case-insensitive).
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == upper)
            .map(|(c, e)| {
                let b = c.as_bytes();
                Currency {
                    code: [b[0], b[1], b[2]],
                    exponent: *e,
                }
            })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.trim().chars().take(8).collect()))
    }

    /// The ISO code, e.g. `NOK`.
    pub fn code(&self) -> &str {
        // The code is always three ASCII capitals from the table above.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Number of digits after the decimal separator (2 for NOK, 0 for JPY).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    fn scale(&self) -> i64 {
        10_i64.pow(u32::from(self.exponent))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why an amount was refused. Each says what the clerk should fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("no amount was entered")]
    Empty,
    #[error("the amount must not be negative")]
    Negative,
    #[error("the amount must be more than zero")]
    Zero,
    #[error("{currency} has {max} decimal places; the amount has more")]
    TooManyDecimals { currency: String, max: u8 },
    #[error("the amount is too large")]
    Overflow,
    #[error("'{0}' is not allowed in an amount")]
    InvalidCharacter(char),
    #[error("the amount has more than one decimal separator")]
    MultipleDecimalSeparators,
    #[error("the thousands separators are misplaced (groups of three digits are expected)")]
    MisplacedGroupSeparator,
    #[error("unknown currency '{0}' (expected an ISO code such as NOK)")]
    UnknownCurrency(String),
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(String, String),
}

/// An amount of money: integer minor units (øre, cents) and a currency. Never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

/// The longest amount text accepted; anything longer is noise, not money.
const MAX_INPUT_LEN: usize = 40;

impl Money {
    /// Money from minor units. Refuses negatives.
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Money { minor, currency })
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// Minor units (72200 = NOK 722.00).
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// True when the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// Parses what a clerk typed, exactly, in the clerk's locale.
    ///
    /// Accepted: `500`, `500.5` and `1,234.50` (English); `500,5` and `1 234,50`
    /// (bokmål, where a lone `.` typed on a numeric keypad is also taken as the decimal
    /// separator unless it is followed by exactly three digits, which is a thousands
    /// group: `1.234` is 1 234). Refused, each with its own error: empty, negative,
    /// more decimals than the currency has, misplaced separators, any other character,
    /// and amounts too large for 64 bits.
    pub fn parse(input: &str, currency: Currency, locale: Locale) -> Result<Money, MoneyError> {
        let s = input.trim_matches(|c: char| c.is_whitespace());
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        if s.chars().count() > MAX_INPUT_LEN {
            return Err(MoneyError::Overflow);
        }
        if s.starts_with(['-', '\u{2212}']) {
            return Err(MoneyError::Negative);
        }
        let (decimal, groups) = separators_for(s, locale);
        let mut parts = s.split(decimal);
        let int_part = parts.next().unwrap_or("");
        let frac_part = parts.next();
        if parts.next().is_some() {
            return Err(MoneyError::MultipleDecimalSeparators);
        }
        let int_digits = ungroup(int_part, &groups)?;
        let frac_digits = match frac_part {
            Some(f) => {
                if let Some(c) = f.chars().find(|c| !c.is_ascii_digit()) {
                    return Err(if groups.contains(&c) || c == '.' || c == ',' {
                        MoneyError::MisplacedGroupSeparator
                    } else {
                        MoneyError::InvalidCharacter(c)
                    });
                }
                f
            }
            None => "",
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(MoneyError::Empty);
        }
        if frac_digits.len() > usize::from(currency.exponent) {
            return Err(MoneyError::TooManyDecimals {
                currency: currency.code().to_string(),
                max: currency.exponent,
            });
        }
        let mut minor: i64 = 0;
        for d in int_digits.bytes() {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(d - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        minor = minor
            .checked_mul(currency.scale())
            .ok_or(MoneyError::Overflow)?;
        let mut frac: i64 = 0;
        for d in frac_digits.bytes() {
            frac = frac * 10 + i64::from(d - b'0');
        }
        // Safe: fewer digits than the exponent, so the power is at most the scale.
        let pad = 10_i64.pow(u32::from(currency.exponent) - frac_digits.len() as u32);
        minor = minor.checked_add(frac * pad).ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency })
    }

    /// Like [`Money::parse`], but refuses zero: what a sale, top-up or redemption needs.
    pub fn parse_positive(
        input: &str,
        currency: Currency,
        locale: Locale,
    ) -> Result<Money, MoneyError> {
        let m = Money::parse(input, currency, locale)?;
        if m.is_zero() {
            return Err(MoneyError::Zero);
        }
        Ok(m)
    }

    /// The amount without currency, grouped per locale: `1,234.50` / `1 234,50`.
    pub fn format(&self, locale: Locale) -> String {
        let scale = self.currency.scale();
        let int = (self.minor / scale).to_string();
        let frac = self.minor % scale;
        let mut out = String::with_capacity(int.len() + 8);
        let first = int.len() % 3;
        for (i, ch) in int.chars().enumerate() {
            if i > 0 && (i + 3 - first).is_multiple_of(3) {
                out.push(locale.group_separator());
            }
            out.push(ch);
        }
        if self.currency.exponent > 0 {
            out.push(locale.decimal_separator());
            out.push_str(&format!(
                "{:0width$}",
                frac,
                width = usize::from(self.currency.exponent)
            ));
        }
        out
    }

    /// The amount with its currency: `NOK 1,234.50` / `1 234,50 NOK`.
    pub fn display(&self, locale: Locale) -> String {
        match locale {
            Locale::En => format!("{} {}", self.currency, self.format(locale)),
            Locale::Nb => format!("{}\u{a0}{}", self.format(locale), self.currency),
        }
    }

    /// Sum of two amounts in the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    /// Difference of two amounts in the same currency; refuses a negative result.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Money::from_minor(minor, self.currency)
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(
                self.currency.to_string(),
                other.currency.to_string(),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display(Locale::En))
    }
}

/// `{"amount": 72200, "currency": "NOK"}`: the shape used across the app, the CLI's JSON
/// and the UI.
#[derive(Serialize, Deserialize)]
struct MoneyRepr {
    amount: i64,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MoneyRepr {
            amount: self.minor,
            currency: self.currency,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = MoneyRepr::deserialize(d)?;
        Money::from_minor(r.amount, r.currency).map_err(serde::de::Error::custom)
    }
}

/// Which character is the decimal separator in this input, and which group separators
/// are allowed.
fn separators_for(s: &str, locale: Locale) -> (char, Vec<char>) {
    let mut groups: Vec<char> = SPACES.to_vec();
    match locale {
        Locale::En => {
            groups.push(',');
            ('.', groups)
        }
        Locale::Nb => {
            let dots = s.matches('.').count();
            let keypad_decimal = !s.contains(',')
                && dots == 1
                && s.rsplit('.').next().is_some_and(|after| {
                    !(after.len() == 3 && after.bytes().all(|b| b.is_ascii_digit()))
                });
            if keypad_decimal {
                ('.', groups)
            } else {
                groups.push('.');
                (',', groups)
            }
        }
    }
}

/// Removes well-placed group separators from the integer part: the first group has one
/// to three digits, every later group exactly three, and one kind of separator is used.
fn ungroup(int_part: &str, groups: &[char]) -> Result<String, MoneyError> {
    if let Some(c) = int_part
        .chars()
        .find(|c| !c.is_ascii_digit() && !groups.contains(c))
    {
        return Err(MoneyError::InvalidCharacter(c));
    }
    let seps: Vec<char> = int_part.chars().filter(|c| groups.contains(c)).collect();
    if seps.is_empty() {
        return Ok(int_part.to_string());
    }
    let all_spaces = seps.iter().all(|c| SPACES.contains(c));
    if !all_spaces && seps.iter().any(|c| *c != seps[0]) {
        return Err(MoneyError::MisplacedGroupSeparator);
    }
    let chunks: Vec<&str> = int_part.split(|c| groups.contains(&c)).collect();
    let well_formed = chunks.iter().enumerate().all(|(i, g)| {
        if i == 0 {
            (1..=3).contains(&g.len())
        } else {
            g.len() == 3
        }
    });
    if !well_formed {
        return Err(MoneyError::MisplacedGroupSeparator);
    }
    Ok(chunks.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nok() -> Currency {
        Currency::parse("NOK").unwrap()
    }

    fn p(s: &str, l: Locale) -> Result<i64, MoneyError> {
        Money::parse(s, nok(), l).map(|m| m.minor())
    }

    #[test]
    fn parses_the_documented_examples() {
        assert_eq!(p("500", Locale::En), Ok(50_000));
        assert_eq!(p("500.5", Locale::En), Ok(50_050));
        assert_eq!(p("1 234,50", Locale::Nb), Ok(123_450));
        assert_eq!(p("1,234.50", Locale::En), Ok(123_450));
        assert_eq!(p("120.50", Locale::En), Ok(12_050));
        assert_eq!(p("  7 ", Locale::Nb), Ok(700));
        assert_eq!(p("1\u{a0}234\u{a0}567,8", Locale::Nb), Ok(123_456_780));
    }

    #[test]
    fn bokmal_keypad_dot_is_decimal_unless_it_groups_thousands() {
        assert_eq!(p("500.5", Locale::Nb), Ok(50_050));
        assert_eq!(p("500.50", Locale::Nb), Ok(50_050));
        assert_eq!(p("1.234", Locale::Nb), Ok(123_400));
        assert_eq!(p("1.234,5", Locale::Nb), Ok(123_450));
        assert_eq!(p("1.234.567", Locale::Nb), Ok(123_456_700));
    }

    #[test]
    fn refuses_bad_amounts_specifically() {
        assert_eq!(p("", Locale::En), Err(MoneyError::Empty));
        assert_eq!(p("   ", Locale::En), Err(MoneyError::Empty));
        assert_eq!(p("-5", Locale::En), Err(MoneyError::Negative));
        assert_eq!(p("\u{2212}5", Locale::En), Err(MoneyError::Negative));
        assert!(matches!(
            p("1.234", Locale::En),
            Err(MoneyError::TooManyDecimals { max: 2, .. })
        ));
        assert_eq!(
            p("1,23.4", Locale::En),
            Err(MoneyError::MisplacedGroupSeparator)
        );
        assert_eq!(
            p("1.2.3", Locale::En),
            Err(MoneyError::MultipleDecimalSeparators)
        );
        assert_eq!(p("12a", Locale::En), Err(MoneyError::InvalidCharacter('a')));
        assert_eq!(p("1e5", Locale::En), Err(MoneyError::InvalidCharacter('e')));
        assert_eq!(p("+5", Locale::En), Err(MoneyError::InvalidCharacter('+')));
        assert_eq!(
            p("99999999999999999999", Locale::En),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            p("92233720368547759", Locale::En),
            Err(MoneyError::Overflow)
        );
        assert_eq!(p(".", Locale::En), Err(MoneyError::Empty));
        assert_eq!(
            Money::parse_positive("0,00", nok(), Locale::Nb),
            Err(MoneyError::Zero)
        );
    }

    #[test]
    fn zero_exponent_currency_has_no_decimals() {
        let jpy = Currency::parse("jpy").unwrap();
        assert_eq!(
            Money::parse("1,500", jpy, Locale::En).unwrap().minor(),
            1500
        );
        assert!(matches!(
            Money::parse("15.5", jpy, Locale::En),
            Err(MoneyError::TooManyDecimals { max: 0, .. })
        ));
        assert_eq!(
            Money::from_minor(1500, jpy).unwrap().format(Locale::En),
            "1,500"
        );
    }

    #[test]
    fn formats_per_locale() {
        let m = Money::from_minor(123_456_789, nok()).unwrap();
        assert_eq!(m.format(Locale::En), "1,234,567.89");
        assert_eq!(m.format(Locale::Nb), "1\u{a0}234\u{a0}567,89");
        assert_eq!(m.display(Locale::En), "NOK 1,234,567.89");
        assert_eq!(
            Money::from_minor(5, nok()).unwrap().format(Locale::En),
            "0.05"
        );
        assert_eq!(Money::zero(nok()).format(Locale::Nb), "0,00");
    }

    #[test]
    fn unknown_currency_is_named() {
        assert_eq!(
            Currency::parse("XYZ"),
            Err(MoneyError::UnknownCurrency("XYZ".into()))
        );
    }

    #[test]
    fn serde_shape_is_amount_and_currency() {
        let m = Money::from_minor(72_200, nok()).unwrap();
        let j = serde_json::to_string(&m).unwrap();
        assert_eq!(j, r#"{"amount":72200,"currency":"NOK"}"#);
        assert_eq!(serde_json::from_str::<Money>(&j).unwrap(), m);
        assert!(serde_json::from_str::<Money>(r#"{"amount":-1,"currency":"NOK"}"#).is_err());
    }

    #[test]
    fn arithmetic_is_checked() {
        let a = Money::from_minor(100, nok()).unwrap();
        let b = Money::from_minor(250, nok()).unwrap();
        assert_eq!(a.checked_add(b).unwrap().minor(), 350);
        assert_eq!(a.checked_sub(b), Err(MoneyError::Negative));
        let eur = Money::from_minor(1, Currency::parse("EUR").unwrap()).unwrap();
        assert!(matches!(
            a.checked_add(eur),
            Err(MoneyError::CurrencyMismatch(..))
        ));
        let max = Money::from_minor(i64::MAX, nok()).unwrap();
        assert_eq!(max.checked_add(a), Err(MoneyError::Overflow));
    }

    fn any_currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(CURRENCIES.iter().map(|(c, _)| *c).collect::<Vec<_>>())
            .prop_map(|c| Currency::parse(c).unwrap())
    }

    fn any_locale() -> impl Strategy<Value = Locale> {
        prop_oneof![Just(Locale::En), Just(Locale::Nb)]
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(minor in 0_i64..=i64::MAX / 100, cur in any_currency(), loc in any_locale()) {
            let m = Money::from_minor(minor, cur).unwrap();
            prop_assert_eq!(Money::parse(&m.format(loc), cur, loc), Ok(m));
        }

        #[test]
        fn plain_digits_parse_to_scaled_value(units in 0_i64..1_000_000_000, loc in any_locale()) {
            let m = Money::parse(&units.to_string(), nok(), loc).unwrap();
            prop_assert_eq!(m.minor(), units * 100);
        }

        #[test]
        fn parse_never_panics_and_never_goes_negative(s in "\\PC{0,50}", loc in any_locale()) {
            if let Ok(m) = Money::parse(&s, nok(), loc) {
                prop_assert!(m.minor() >= 0);
                // Whatever parsed, formatting it back gives the same amount.
                prop_assert_eq!(Money::parse(&m.format(loc), nok(), loc), Ok(m));
            }
        }
    }
}
