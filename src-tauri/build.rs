//! Declares the app's own commands so the capability file can grant exactly them.

fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "app_info",
            "ui_ready",
            "sync_status",
            "scanner_state",
        ]),
    ))
    .expect("tauri build script failed");
}
