//! Declares the app's own commands — read from the UI's contract, `ui/src/contract.json`
//! — so the capability file can grant exactly them.

fn main() {
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
