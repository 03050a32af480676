//! The commands that run without a terminal: the sandbox and the scanner tools.

use std::process::ExitCode;
use std::sync::Arc;

use giftpos_app::SystemClock;
use giftpos_app::{AppError, ErrorCode, config};
use giftpos_sandbox::{Faults, Sandbox, SandboxConfig};

use super::wait_for_stop;
use crate::args::{SandboxArgs, ScannerCommand};
use crate::output::{print_err, print_json};

pub(crate) async fn run_sandbox(
    args: SandboxArgs,
    loaded: Result<config::Config, config::ConfigError>,
    json: bool,
) -> ExitCode {
    if args.training {
        return serve_training(args, loaded, json).await;
    }
    let mut faults = Faults::default();
    for f in &args.faults {
        if let Err(e) = faults.add(f) {
            return print_err(json, None, &AppError::new(ErrorCode::InvalidInput, e));
        }
    }
    let cfg = SandboxConfig {
        state_file: args.state.clone(),
        faults,
        seed_demo: !args.no_demo,
        token_ttl_secs: args.token_ttl,
        tls: args.tls,
        idle_timeout: args.idle_timeout.map(std::time::Duration::from_secs),
        readings: args.readings.unwrap_or_default(),
        ..SandboxConfig::default()
    };
    let sb = match Sandbox::start(args.listen, cfg, Arc::new(SystemClock)).await {
        Ok(sb) => sb,
        Err(e) => return print_err(json, None, &AppError::new(ErrorCode::Config, e.to_string())),
    };
    let mut env = sb.client_env();
    if let Some(pem) = sb.ca_pem() {
        if let Err(e) = std::fs::write(&args.ca_out, pem) {
            let msg = format!("cannot write the CA to {}: {e}", args.ca_out.display());
            return print_err(json, None, &AppError::new(ErrorCode::Config, msg));
        }
        let path = std::path::absolute(&args.ca_out).unwrap_or(args.ca_out.clone());
        env.push(("GIFTPOS_CA_FILE", path.display().to_string()));
    }
    if json {
        let env: serde_json::Map<String, serde_json::Value> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone().into()))
            .collect();
        print_json(&serde_json::json!({"ok": true, "sandbox": sb.base_url(), "env": env}));
    } else {
        println!(
            "Dintero sandbox listening on {} (sandbox credentials, no real money)",
            sb.base_url()
        );
        println!("Point giftpos at it from another shell:");
        for (k, v) in &env {
            println!("  export {k}={v}");
        }
        println!("Stop with Ctrl-C.");
    }
    wait_for_stop().await;
    sb.stop().await;
    ExitCode::SUCCESS
}

/// `giftpos sandbox --training`: runs training mode's sandbox over its saved state, as
/// the app does, until stopped.
async fn serve_training(
    args: SandboxArgs,
    loaded: Result<config::Config, config::ConfigError>,
    json: bool,
) -> ExitCode {
    let cfg = match loaded {
        Ok(c) => c,
        Err(e) => return print_err(json, None, &e.into()),
    };
    let backend = match giftpos_app::training::TrainingBackend::open_with(
        &cfg.data_dir,
        Arc::new(SystemClock),
        args.readings.unwrap_or_default(),
    )
    .await
    {
        Ok(b) => b,
        Err(e) => return print_err(json, None, &e),
    };
    if !backend.runs_here() {
        let msg = format!(
            "another giftpos process (the app?) already runs the training sandbox at {}",
            backend.base_url()
        );
        return print_err(json, None, &AppError::new(ErrorCode::Config, msg));
    }
    if json {
        print_json(
            &serde_json::json!({"ok": true, "sandbox": backend.base_url(), "training": true}),
        );
    } else {
        println!(
            "Training sandbox at {} (no real money); giftpos commands in training use it. Stop with Ctrl-C.",
            backend.base_url()
        );
    }
    wait_for_stop().await;
    drop(backend);
    ExitCode::SUCCESS
}

pub(crate) async fn run_scanner(
    cmd: ScannerCommand,
    loaded: Result<config::Config, config::ConfigError>,
    json: bool,
) -> ExitCode {
    let port = match cmd {
        ScannerCommand::List => {
            let ports = giftpos_app::scanner::list_ports();
            if json {
                print_json(&serde_json::json!({"ok": true, "ports": ports}));
            } else if ports.is_empty() {
                println!("no serial ports found (a keyboard-wedge reader needs none)");
            } else {
                for p in ports {
                    println!("{p}");
                }
            }
            return ExitCode::SUCCESS;
        }
        ScannerCommand::Listen { port } => port,
    };
    let cfg = match loaded {
        Ok(c) => c,
        Err(e) => return print_err(json, None, &e.into()),
    };
    let listener = match giftpos_app::scanner::listen(&cfg, port) {
        Ok(l) => l,
        Err(e) => return print_err(json, None, &e),
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            wait_for_stop().await;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
    let _ = tokio::task::spawn_blocking(move || {
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let Some(line) = listener.next(std::time::Duration::from_millis(100)) else {
                continue;
            };
            if json {
                println!("{line}");
            } else {
                println!("{}", human_scan_line(&line));
            }
        }
    })
    .await;
    ExitCode::SUCCESS
}

pub(crate) fn human_scan_line(v: &serde_json::Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    match v["event"].as_str() {
        Some("connected") => format!("scanner connected on {}", s("port")),
        Some("disconnected") => format!(
            "SCANNER DISCONNECTED ({}); waiting for it to return",
            s("reason")
        ),
        Some("scan") => match v["scan"]["kind"].as_str() {
            Some("card") => format!("gift card {}", v["scan"]["card"].as_str().unwrap_or("")),
            Some("receipt") => format!(
                "receipt of journal entry {}",
                v["scan"]["entry_id"].as_str().unwrap_or("")
            ),
            Some("near_miss") => format!(
                "almost a gift card: {}",
                v["scan"]["message"].as_str().unwrap_or("")
            ),
            _ => "not a gift card".to_string(),
        },
        _ => format!("discarded {} bytes ({})", v["bytes"], s("reason")),
    }
}
