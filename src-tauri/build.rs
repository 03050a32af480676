//! Declares the app's own commands — read from the UI's contract, `ui/src/contract.json`
//! — so the capability file can grant exactly them; and makes sure `ui/dist` (what Tauri
//! embeds) is there, so a plain `cargo build` works on a fresh clone without Node.

use std::path::Path;

/// Mirrors `ui/src` into `ui/dist` (what `ui/build.mjs` does: the UI has no bundler yet),
/// writing only changed files.
fn mirror(src: &Path, dist: &Path) {
    println!("cargo:rerun-if-changed={}", src.display());
    for entry in std::fs::read_dir(src).expect("read ui/src") {
        let entry = entry.expect("read ui/src");
        let from = entry.path();
        let to = dist.join(entry.file_name());
        if from.is_dir() {
            mirror(&from, &to);
            continue;
        }
        println!("cargo:rerun-if-changed={}", from.display());
        let data = std::fs::read(&from).expect("read a UI file");
        if std::fs::read(&to).ok().as_deref() != Some(&data[..]) {
            std::fs::create_dir_all(dist).expect("create ui/dist");
            std::fs::write(&to, data).expect("write ui/dist");
        }
    }
}

/// Tauri's public JS API, as `ui/build.mjs` copies it (from `npm ci` in `ui/`).
fn vendor_tauri_api() {
    let api = Path::new("../ui/node_modules/@tauri-apps/api");
    let out = Path::new("../ui/dist/vendor/tauri-api");
    for f in [
        "core.js",
        "event.js",
        "external/tslib/tslib.es6.js",
        "LICENSE-MIT",
        "LICENSE-APACHE-2.0",
    ] {
        let from = api.join(f);
        println!("cargo:rerun-if-changed={}", from.display());
        let Ok(data) = std::fs::read(&from) else {
            println!(
                "cargo:warning=ui/node_modules/@tauri-apps/api is missing: run `npm --prefix ui ci` (scripts/setup does) or the page cannot reach the core"
            );
            return;
        };
        let to = out.join(f);
        if std::fs::read(&to).ok().as_deref() != Some(&data[..]) {
            std::fs::create_dir_all(to.parent().expect("a folder")).expect("create ui/dist/vendor");
            std::fs::write(&to, data).expect("write ui/dist/vendor");
        }
    }
}

fn main() {
    mirror(Path::new("../ui/src"), Path::new("../ui/dist"));
    vendor_tauri_api();
    let path = "../ui/src/contract.json";
    println!("cargo:rerun-if-changed={path}");
    let text = std::fs::read_to_string(path).expect("read ui/src/contract.json");
    let contract: serde_json::Value = serde_json::from_str(&text).expect("parse the contract");
    let commands: &'static [&'static str] = contract["commands"]
        .as_object()
        .expect("contract.commands is an object")
        .keys()
        .map(|k| &*Box::leak(k.clone().into_boxed_str()))
        .collect::<Vec<_>>()
        .leak();
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri build script failed");
}
