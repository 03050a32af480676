// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

/// `giftpos-terminal --cli …` is the `giftpos` command: the packages install
/// `/usr/bin/giftpos` as a script calling it, so one binary carries both.
fn main() -> ExitCode {
    // Every file the till makes is its own (0600, folders 0700).
    giftpos_app::private::restrict_umask();
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "--cli") {
        args.remove(1);
        args[0] = "giftpos".into();
        return giftpos::main_with_args(args);
    }
    giftpos_terminal::run();
    ExitCode::SUCCESS
}
