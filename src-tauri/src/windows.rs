//! The till's windows: the customer's display (a second window showing what to pay, the
//! QR code and thanks), drawing without the GPU, and leaving when the binary was
//! replaced by an update.

use giftpos_app::OperationResult;
use giftpos_app::terminal::CustomerView;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use super::{AppState, Res};

/// Tells the customer's screen, when there is one.
pub(super) fn to_customer<R: Runtime>(app: &AppHandle<R>, view: CustomerView) {
    if app.get_webview_window("customer").is_some()
        && let Err(e) = app.emit_to("customer", "customer", view)
    {
        tracing::warn!("customer display not updated: {e}");
    }
}

/// Shows the customer what a finished operation did.
pub(super) fn thank_customer<R: Runtime>(
    app: &AppHandle<R>,
    r: Res<OperationResult>,
) -> Res<OperationResult> {
    match &r {
        Ok(done) => to_customer(app, CustomerView::thanks(done)),
        Err(_) => to_customer(app, CustomerView::idle()),
    }
    r
}

/// The customer's screen: a second window, on the second monitor when there is one
/// (full screen there), else beside the clerk's.
pub(super) fn open_customer_display<R: Runtime>(app: &AppHandle<R>) {
    let built = tauri::WebviewWindowBuilder::new(
        app,
        "customer",
        tauri::WebviewUrl::App("customer.html".into()),
    )
    .title("giftpos — customer")
    .inner_size(800.0, 600.0)
    .build();
    match built {
        Ok(w) => {
            if let Ok(monitors) = w.available_monitors()
                && let Some(m) = monitors.get(1)
            {
                let _ = w.set_position(*m.position());
                let _ = w.set_size(*m.size());
                let _ = w.set_fullscreen(true);
            }
            tracing::info!("customer display open");
        }
        Err(e) => tracing::error!("customer display not opened: {e}"),
    }
}

/// After the staged-update service installed a new version under the running app, the
/// app restarts into it at the first moment no clerk is signed in (checked every minute;
/// an operation in flight keeps its clerk signed in, so it is never cut short).
pub(super) fn restart_when_replaced<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            let state = app.state::<AppState>();
            let due = match &state.terminal {
                Ok(t) => t.restart_due(),
                Err(_) => giftpos_app::update::running_binary_replaced(),
            };
            if due {
                tracing::info!(
                    "a new version was installed: restarting while no clerk is signed in"
                );
                app.restart();
            }
        }
    });
}

/// Has the window's web view draw with the CPU, without accelerated compositing (which
/// would load a GL stack, emulated on the CPU where a till has no GPU): the page is
/// forms and text, and the web process needs about 70 MiB less. `[terminal] gpu = true`
/// keeps WebKit's default.
pub(super) fn software_drawing<R: Runtime>(w: &tauri::WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    let done = w.with_webview(|pw| {
        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
        if let Some(settings) = WebViewExt::settings(&pw.inner()) {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    });
    #[cfg(not(target_os = "linux"))]
    let done: tauri::Result<()> = Ok(());
    if let Err(e) = done {
        tracing::warn!("the web view keeps drawing with the GPU: {e}");
    }
}
