//! Training mode: with no Dintero credentials, the terminal talks to an embedded sandbox
//! whose state persists under the data dir (`training/sandbox.json`).
//!
//! Only one process may own that state: the first to take the lock on
//! `training/sandbox.lock` starts the sandbox and writes its address to
//! `training/sandbox.addr`; another process (the CLI while the app runs) talks to that
//! sandbox instead of starting a second one over the same file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use giftpos_dintero::wire::AccountId;
use giftpos_dintero::{ClientConfig, Clock};
use giftpos_sandbox::{Sandbox, SandboxConfig};
use nix::fcntl::{Flock, FlockArg};

use crate::error::{AppError, ErrorCode};

/// The embedded sandbox, or the address of the one another process runs.
#[derive(Debug)]
pub struct TrainingBackend {
    base_url: String,
    cfg: SandboxConfig,
    /// Held so the sandbox runs as long as the terminal (dropping it stops the server).
    _sandbox: Option<Sandbox>,
    _lock: Option<Flock<File>>,
}

fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::new(
        ErrorCode::Internal,
        format!("training data {}: cannot {what}: {e}", path.display()),
    )
}

impl TrainingBackend {
    pub async fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<TrainingBackend, AppError> {
        Self::open_with(data_dir, clock, giftpos_sandbox::Readings::default()).await
    }

    /// Like [`TrainingBackend::open`], playing `readings` where Dintero's contract is
    /// silent (`giftpos sandbox --training --readings …`).
    pub async fn open_with(
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        readings: giftpos_sandbox::Readings,
    ) -> Result<TrainingBackend, AppError> {
        let dir = data_dir.join("training");
        giftpos_journal::durable::create_dir_all(&dir, 0o700)
            .map_err(|e| io_err(&dir, "create the folder", e))?;
        let lock_path = dir.join("sandbox.lock");
        let addr_path = dir.join("sandbox.addr");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_err(&lock_path, "open", e))?;
        let cfg = SandboxConfig {
            state_file: Some(dir.join("sandbox.json")),
            readings,
            ..SandboxConfig::default()
        };
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => {
                let sandbox = Sandbox::start(
                    "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!()),
                    cfg.clone(),
                    clock,
                )
                .await
                .map_err(|e| {
                    AppError::new(ErrorCode::Internal, format!("training sandbox: {e}"))
                })?;
                let base_url = sandbox.base_url();
                write_atomic(&addr_path, &base_url).map_err(|e| io_err(&addr_path, "write", e))?;
                Ok(TrainingBackend {
                    base_url,
                    cfg,
                    _sandbox: Some(sandbox),
                    _lock: Some(lock),
                })
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                let base_url = read_addr(&addr_path).await?;
                Ok(TrainingBackend {
                    base_url,
                    cfg,
                    _sandbox: None,
                    _lock: None,
                })
            }
            Err((_, e)) => Err(io_err(&lock_path, "lock", e)),
        }
    }

    /// Whether this process runs the sandbox (else another giftpos process does).
    pub fn runs_here(&self) -> bool {
        self._sandbox.is_some()
    }

    /// Where the sandbox listens.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A client configuration for the sandbox's built-in credentials.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::new(
            self.base_url.clone(),
            AccountId::clone(&self.cfg.account_id),
            self.cfg.client_id.clone(),
            self.cfg.client_secret.clone(),
        )
    }
}

/// Waits briefly for the owner to publish its address (it may be starting right now).
async fn read_addr(path: &PathBuf) -> Result<String, AppError> {
    for _ in 0..40 {
        if let Ok(s) = std::fs::read_to_string(path) {
            let s = s.trim();
            if s.starts_with("http://127.0.0.1:") {
                return Ok(s.to_string());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(AppError::new(
        ErrorCode::Internal,
        format!(
            "another giftpos process holds the training sandbox but {} names no address",
            path.display()
        ),
    ))
}

fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    giftpos_journal::durable::replace(path, text.as_bytes(), 0o600)
}
