//! `giftpos`: the command line for IT, scripts and support. Every command calls the same
//! application API as the terminal app (`giftpos_app::Terminal`); `--json` prints one
//! JSON object on stdout; the exit code says what happened (see `README.md`).

mod args;
mod dispatch;
mod output;
mod tools;

use args::{Cli, Command, UpdateCommand};
use dispatch::execute;
use output::{Output, print_err, print_ok};
use tools::{run_sandbox, run_scanner};

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use giftpos_app::SystemClock;
use giftpos_app::config::{self, LoadOptions};
use giftpos_app::{AppError, ErrorCode, Terminal};

/// Runs the CLI with the process's arguments.
pub fn main() -> ExitCode {
    main_with_args(std::env::args_os().collect())
}

/// Runs the CLI with these arguments (the first is the program's name). The terminal
/// app's binary calls this for `giftpos-terminal --cli …`.
pub fn main_with_args(args: Vec<std::ffi::OsString>) -> ExitCode {
    // Every file the till makes is its own (0600, folders 0700).
    giftpos_app::private::restrict_umask();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if args.iter().any(|a| a == "--json") && e.use_stderr() => {
            let msg = e.render().to_string();
            let first = msg
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            return print_err(true, None, &AppError::new(ErrorCode::InvalidInput, first));
        }
        Err(e) => e.exit(),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("giftpos: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let json = cli.json;
    rt.block_on(run(cli, json))
}

/// The human log on stderr: quiet unless asked (-v info, -vv debug).
fn stderr_level(verbose: u8) -> &'static str {
    match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    }
}

/// stderr only, for commands that run before (or without) a configuration.
fn init_stderr_logging(verbose: u8) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GIFTPOS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(stderr_level(verbose)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

async fn run(cli: Cli, json: bool) -> ExitCode {
    let loaded = config::load(&LoadOptions::from_process(cli.config.clone()));
    // The JSON log file once the configuration says where; stderr alone before that.
    let _log = match (&cli.command, &loaded) {
        (Command::Sandbox(_), _) | (_, Err(_)) => {
            init_stderr_logging(cli.verbose);
            None
        }
        (_, Ok(cfg)) => Some(giftpos_app::logging::init(
            &cfg.log_dir,
            &cfg.log_level,
            stderr_level(cli.verbose),
        )),
    };
    if let Command::Sandbox(args) = cli.command {
        return run_sandbox(args, loaded, json).await;
    }
    if let Command::Scanner(cmd) = cli.command {
        return run_scanner(cmd, loaded, json).await;
    }
    let clock = Arc::new(SystemClock);
    if let Command::Update {
        action: Some(UpdateCommand::Apply { dir }),
    } = &cli.command
    {
        let outcome = match loaded {
            Ok(cfg) => {
                giftpos_app::update::apply(&cfg.update, env!("CARGO_PKG_VERSION"), dir).await
            }
            Err(e) => Err(e.into()),
        };
        return match outcome {
            Ok(o) => {
                print_ok(json, false, &Output::Update(o));
                ExitCode::from(0)
            }
            Err(e) => print_err(json, None, &e),
        };
    }
    if let Command::Update { action: None } = cli.command {
        let outcome = match loaded {
            Ok(cfg) => giftpos_app::update::check(&cfg.update, env!("CARGO_PKG_VERSION")).await,
            Err(e) => Err(e.into()),
        };
        return match outcome {
            Ok(o) => {
                print_ok(json, false, &Output::Update(o));
                ExitCode::from(0)
            }
            Err(e) => print_err(json, None, &e),
        };
    }
    if let Command::Doctor = cli.command {
        let report = Terminal::diagnose(loaded, clock).await;
        let ok = report.ok;
        let training = report.training;
        print_ok(json, training, &Output::Doctor(report));
        return ExitCode::from(if ok { 0 } else { 6 });
    }
    let outcome = async {
        let till = Arc::new(Terminal::open(loaded?, clock).await?);
        let out = execute(&till, cli.command).await;
        Ok::<_, AppError>((till.is_training(), out))
    }
    .await;
    match outcome {
        Ok((training, Ok(out))) => {
            print_ok(json, training, &out);
            ExitCode::from(out.exit_code())
        }
        Ok((training, Err(e))) => print_err(json, Some(training), &e),
        Err(e) => print_err(json, None, &e),
    }
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
