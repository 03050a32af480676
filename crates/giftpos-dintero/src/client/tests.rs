use super::*;
use crate::wire::Card;

#[test]
fn unreadable_bodies_name_the_field_not_the_value() {
    let e = read_body::<Card>(br#"{"status":"unused"}"#).unwrap_err();
    assert_eq!(e, "field `card_id` is missing");
    let e = read_body::<Card>(br#"{"card_id":9578000000001001}"#).unwrap_err();
    assert_eq!(e, "field `card_id` has a value of the wrong kind");
    assert!(!e.contains("9578"));
    let e =
        read_body::<crate::wire::BatchResponse>(br#"{"cards":[{"card_id":"a"},{}]}"#).unwrap_err();
    assert_eq!(e, "field `cards[1].card_id` is missing");
    let e = read_body::<Card>(b"<html>").unwrap_err();
    assert!(e.starts_with("not JSON (Syntax"), "{e}");
}

#[test]
fn path_segments_are_encoded() {
    assert_eq!(segment("card-01"), "card-01");
    assert_eq!(segment("a/b c"), "a%2Fb%20c");
    assert_eq!(segment("DINCARD:x"), "DINCARD%3Ax");
}

#[test]
fn retry_after_reads_seconds() {
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
    assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
    h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
    assert_eq!(retry_after(&h), None);
}

#[test]
fn config_debug_hides_the_secret() {
    let c = ClientConfig::new(
        "http://x",
        AccountId::parse("T12345678").unwrap(),
        "id",
        Secret::new("s3cr3t"),
    );
    assert!(!format!("{c:?}").contains("s3cr3t"));
}
