#![no_main]
// The scan classifier on arbitrary text.
libfuzzer_sys::fuzz_target!(|data: &[u8]| giftpos_scanner::fuzzing::classify(data));
