//! Declares the app's own commands so the capability file can grant exactly them.

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(&["app_info", "ui_ready"])),
    )
    .expect("tauri build script failed");
}
