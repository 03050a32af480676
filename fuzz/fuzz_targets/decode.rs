#![no_main]
// The scanner's frame decoder on arbitrary bytes cut at arbitrary points.
libfuzzer_sys::fuzz_target!(|data: &[u8]| giftpos_scanner::fuzzing::decode(data));
