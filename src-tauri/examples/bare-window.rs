//! A bare Tauri window for the benchmarks: the same runtime, configuration and WebKit as
//! the terminal app, a page that only reports back, and nothing of giftpos. The app's
//! cold start and memory are measured against it in the same run.

use std::time::Instant;

#[tauri::command]
fn ui_ready(app: tauri::AppHandle, ui_state: String) {
    let ms = START.get().map(|s| s.elapsed().as_millis()).unwrap_or(0);
    println!("bare-window: ui ready in {ms} ms: {ui_state}");
    if std::env::var_os("GIFTPOS_EXIT_WHEN_READY").is_some() {
        app.exit(0);
    }
}

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn main() {
    START.get_or_init(Instant::now);
    let mut context = tauri::generate_context!();
    for w in &mut context.config_mut().app.windows {
        w.url = tauri::WebviewUrl::App("bare.html".into());
    }
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ui_ready])
        .run(context)
        .expect("bare window");
}
