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
        .setup(|app| {
            // BARE_SOFTWARE_DRAWING=1: draw as the app does by default (no accelerated
            // compositing), to tell the app's own cost from WebKit's drawing.
            #[cfg(target_os = "linux")]
            if std::env::var_os("BARE_SOFTWARE_DRAWING").is_some()
                && let Some(w) = tauri::Manager::get_webview_window(app, "main")
            {
                w.with_webview(|pw| {
                    use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
                    if let Some(s) = WebViewExt::settings(&pw.inner()) {
                        s.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
                    }
                })?;
            }
            #[cfg(not(target_os = "linux"))]
            let _ = app;
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![ui_ready])
        .run(context)
        .expect("bare window");
}
