//! Reading Dintero's answers tolerantly: parse only what the terminal uses.
//!
//! Dintero's reference states no required-ness for card and transaction fields
//! (`../shared/dintero/wallets-reference.md` §3), its Checkout types grow new fields and
//! enum values, and some of its numbers are typed `number` where they carry minor units.
//! So every field of an answer the terminal does not strictly need is read with one of
//! these helpers: absent, `null`, or of a shape we did not expect, it becomes `None` (or
//! empty) instead of failing the whole answer. The few fields an answer is useless
//! without (a card's `card_id`, a transaction's `id`) stay strict, and when they cannot
//! be read the client names the field (`DinteroError::Unreadable`).
//!
//! Use with `#[serde(default, deserialize_with = "lenient::…")]`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An optional value: absent, `null` or unreadable → `None`.
pub fn opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    Ok(serde_json::from_value(v).ok())
}

/// A value with a default: absent, `null` or unreadable → `T::default()`.
pub fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    opt(d).map(Option::unwrap_or_default)
}

/// A list: absent, `null` or not a list → empty; elements that cannot be read are
/// dropped (one odd token or event does not hide the others).
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Array(items) => Ok(items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect()),
        _ => Ok(Vec::new()),
    }
}

/// A text field: a string as it is, a number or boolean as its text; anything else
/// (absent, `null`, an object) → empty.
pub fn text<'de, D>(d: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    })
}

/// An amount in minor units. Dintero types some of these as `number` (the Checkout
/// spec's event `amount`, order-line `quantity`): an integral number written with a
/// fraction of zeros (`500.0`) is read exactly, without floating point; anything that is
/// not a whole number of minor units within `i64` is `None`.
pub fn minor<'de, D>(d: D) -> Result<Option<i64>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| integral(&n.to_string())),
        _ => None,
    })
}

/// Like [`minor`], with zero for what cannot be read.
pub fn minor_or_zero<'de, D>(d: D) -> Result<i64, D::Error>
where
    D: Deserializer<'de>,
{
    minor(d).map(Option::unwrap_or_default)
}

/// `"500.000"` → 500; `"5e2"`, `"500.5"`, out of range → `None`.
fn integral(text: &str) -> Option<i64> {
    let (whole, frac) = text.split_once('.')?;
    if frac.is_empty() || !frac.bytes().all(|b| b == b'0') {
        return None;
    }
    whole.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct S {
        #[serde(default, deserialize_with = "opt")]
        o: Option<u32>,
        #[serde(default, deserialize_with = "list")]
        l: Vec<u32>,
        #[serde(default, deserialize_with = "minor")]
        m: Option<i64>,
        #[serde(default, deserialize_with = "text")]
        t: String,
    }

    fn s(j: &str) -> S {
        serde_json::from_str(j).unwrap()
    }

    #[test]
    fn odd_shapes_become_absent() {
        let v = s(r#"{"o":"x","l":[1,"two",3],"m":{"a":1},"t":null}"#);
        assert_eq!((v.o, v.l, v.m, v.t.as_str()), (None, vec![1, 3], None, ""));
        let v = s(r#"{"o":null,"l":null,"m":null}"#);
        assert_eq!((v.o, v.l.len(), v.m), (None, 0, None));
        let v = s("{}");
        assert_eq!((v.o, v.l.len(), v.m), (None, 0, None));
    }

    #[test]
    fn minor_units_are_read_exactly() {
        assert_eq!(s(r#"{"m":50000}"#).m, Some(50_000));
        assert_eq!(s(r#"{"m":50000.0}"#).m, Some(50_000));
        assert_eq!(s(r#"{"m":-1}"#).m, Some(-1));
        assert_eq!(s(r#"{"m":500.5}"#).m, None);
        assert_eq!(s(r#"{"m":9223372036854775807}"#).m, Some(i64::MAX));
        assert_eq!(s(r#"{"m":9223372036854775808}"#).m, None);
        assert_eq!(s(r#"{"m":1e3}"#).m, Some(1000));
        assert_eq!(s(r#"{"m":1e30}"#).m, None);
        assert_eq!(s(r#"{"t":12}"#).t, "12");
    }
}
