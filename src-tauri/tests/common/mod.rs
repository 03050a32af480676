//! Shared by the app's tests: how a child process of the app is started.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// `program` with its arguments, under Xvfb when there is no display.
pub fn on_display(program: &str, args: &[&str]) -> Command {
    let mut c = if std::env::var_os("DISPLAY").is_some() {
        Command::new(program)
    } else {
        let mut c = Command::new("xvfb-run");
        c.args(["-a", "-s", "-screen 0 1920x1080x24", program]);
        c
    };
    c.args(args);
    c
}

/// None of the caller's GIFTPOS_* settings, and a home, config and data dir of its own
/// under `home` (no system config file).
pub fn clean(cmd: &mut Command, home: &Path) {
    for (k, _) in std::env::vars() {
        if k.starts_with("GIFTPOS_") {
            cmd.env_remove(k);
        }
    }
    // No session bus: every test app is its own instance (the single-instance test
    // gives its two launches a private bus).
    cmd.env_remove("DBUS_SESSION_BUS_ADDRESS");
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("GIFTPOS_SYSTEM_CONFIG", home.join("no-system-config.toml"));
}

/// Every process below `pid`.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(p);
            out.extend(descendants(p));
        }
    }
    out
}
