fn main() {
    let _ = tauri::Builder::default();
}
