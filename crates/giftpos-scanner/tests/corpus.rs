//! Replays the fuzz corpus (`fuzz/corpus/*`) through the fuzz targets' bodies on stable,
//! so every input the fuzzer kept — and every crash it found — is checked in CI.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    // Read when the test runs (cargo sets it), not baked in when it was built: a shared
    // target dir may hold a build from another checkout.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let dir = Path::new(&manifest).join("../../fuzz/corpus").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        n += 1;
    }
    n
}

#[test]
fn the_decoder_corpus_replays() {
    assert!(replay("decode", giftpos_scanner::fuzzing::decode) >= 5);
}

#[test]
fn the_classifier_corpus_replays() {
    assert!(replay("classify", giftpos_scanner::fuzzing::classify) >= 5);
}
