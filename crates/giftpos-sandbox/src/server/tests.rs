use super::base64_decode;

#[test]
fn base64_decodes_basic_credentials() {
    assert_eq!(base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
    assert_eq!(base64_decode("YQ==").unwrap(), b"a");
    assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
    assert!(base64_decode("####").is_none());
}
