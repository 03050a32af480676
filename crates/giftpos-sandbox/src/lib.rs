//! A local Dintero: the auth token endpoint and the wallets endpoints the terminal uses,
//! behaving as our digest of the API says (`docs/dintero-decisions.md`), with fault
//! injection for tests and benchmarks. Training mode runs one embedded in the app.
//!
//! ```no_run
//! # async fn demo() -> Result<(), giftpos_sandbox::SandboxError> {
//! use std::sync::Arc;
//! let sb = giftpos_sandbox::Sandbox::start(
//!     "127.0.0.1:0".parse().unwrap(),
//!     giftpos_sandbox::SandboxConfig::default(),
//!     Arc::new(giftpos_dintero::SystemClock),
//! )
//! .await?;
//! println!("Dintero sandbox at {}", sb.base_url());
//! sb.stop().await;
//! # Ok(()) }
//! ```

pub mod checkout;
pub mod error;
pub mod faults;
pub mod latency;
pub mod readings;
pub mod seed;
mod server;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use giftpos_core::Secret;
use giftpos_dintero::Clock;
use giftpos_dintero::wire::AccountId;
use rand::SeedableRng;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::{FaultKind, FaultRule, Faults};
pub use readings::{
    EventReference, GiftCardDrawn, PartialVoid, PreloadedPin, Readings, TransactionsList,
};
pub use server::{Exchange, StatsView};
pub use store::{Balances, CardSnapshot, PinPolicy, Store};

/// The account and credentials the sandbox accepts by default. Not secret: the sandbox
/// holds no real money.
pub const DEFAULT_ACCOUNT_ID: &str = "T12345678";
pub const DEFAULT_CLIENT_ID: &str = "giftpos-sandbox";
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";

/// How a sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub account_id: AccountId,
    pub client_id: String,
    pub client_secret: Secret,
    /// Lifetime of the access tokens it issues.
    pub token_ttl_secs: u64,
    pub pin_policy: PinPolicy,
    /// Put the demo cards in a new store.
    pub seed_demo: bool,
    /// Persist the state here after every change, and load it at start.
    pub state_file: Option<PathBuf>,
    pub faults: Faults,
    /// Seed for the sandbox's random numbers (tokens, PINs, fault rolls).
    pub rng_seed: u64,
    /// A second API client, for Checkout only (Dintero advises a separate client for
    /// Wallets, G-create). When set, the main client may call only Wallets and this one
    /// only Checkout: a token used on the wrong API is refused (403).
    pub checkout_client: Option<(String, Secret)>,
    /// Serve HTTPS with a certificate from a CA made at start (its PEM:
    /// [`Sandbox::ca_pem`]), as Dintero is reached in real life; else plain HTTP.
    pub tls: bool,
    /// Close a connection idle this long between requests, as Dintero's servers (or
    /// any load balancer) do at some limit of their own. None: never.
    pub idle_timeout: Option<std::time::Duration>,
    /// Where the contract is silent, which reading to play (`readings.rs`).
    pub readings: Readings,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            account_id: AccountId::parse(DEFAULT_ACCOUNT_ID).unwrap_or_else(|_| unreachable!()),
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: Secret::new(DEFAULT_CLIENT_SECRET),
            token_ttl_secs: 3600,
            pin_policy: PinPolicy::default(),
            seed_demo: true,
            state_file: None,
            checkout_client: None,
            faults: Faults::default(),
            rng_seed: 0x5eed,
            tls: false,
            idle_timeout: None,
            readings: Readings::default(),
        }
    }
}

/// Why a sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("sandbox state file {path} cannot be read: {message} (move it aside to start afresh)")]
    State { path: PathBuf, message: String },
    #[error("the sandbox's TLS certificate could not be made: {0}")]
    Tls(String),
}

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    /// The CA's certificate (PEM) when serving HTTPS.
    ca_pem: Option<String>,
    shared: Arc<server::Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for server::Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

impl Sandbox {
    /// Starts a sandbox on `listen` (`127.0.0.1:0` picks a free port).
    pub async fn start(
        listen: SocketAddr,
        cfg: SandboxConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Sandbox, SandboxError> {
        let mut store = load_store(&cfg, clock.as_ref())?;
        store.readings = cfg.readings;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| SandboxError::Listen {
                addr: listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SandboxError::Listen {
                addr: listen,
                source,
            })?;
        let tls = if cfg.tls {
            Some(server::tls::generate().map_err(SandboxError::Tls)?)
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(server::Shared {
            base_url: format!("{scheme}://{addr}"),
            store: Mutex::new(store),
            faults: Mutex::new(cfg.faults.clone()),
            tokens: Mutex::new(Default::default()),
            state_file: cfg.state_file.clone(),
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(cfg.rng_seed)),
            cfg,
            clock,
            stats: Default::default(),
            exchanges: Mutex::new(None),
        });
        let (shutdown, rx) = watch::channel(false);
        let app = server::router(shared.clone());
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let task = tokio::spawn(server::serve(listener, app, tls, shared.clone(), rx));
        tracing::info!(%addr, scheme, "Dintero sandbox listening");
        Ok(Sandbox {
            addr,
            ca_pem,
            shared,
            shutdown,
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (or `https://`), the client's `api_base`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// With [`SandboxConfig::tls`]: the PEM of the CA that signed its certificate, for
    /// the client's `dintero.ca_file`.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Tells the sandbox about a payment taken elsewhere, as `POST /_sandbox/payments`
    /// does.
    pub fn register_payment(
        &self,
        p: checkout::ExternalPayment,
    ) -> Result<giftpos_dintero::wire::checkout::PaymentTransaction, error::ApiError> {
        self.shared.apply(|st, now, _| st.checkout.register(now, p))
    }

    /// The environment that points giftpos at this sandbox: API base, account and the
    /// sandbox's own credentials (not secret: the sandbox holds no real money).
    pub fn client_env(&self) -> Vec<(&'static str, String)> {
        let c = &self.shared.cfg;
        vec![
            ("GIFTPOS_API_BASE", self.base_url()),
            ("GIFTPOS_ACCOUNT_ID", c.account_id.to_string()),
            ("GIFTPOS_CLIENT_ID", c.client_id.clone()),
            (
                "GIFTPOS_CLIENT_SECRET",
                c.client_secret.expose().to_string(),
            ),
        ]
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SandboxConfig {
        &self.shared.cfg
    }

    /// Replaces the faults in force.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap_or_else(|p| p.into_inner()) = faults;
    }

    /// Counters: tokens issued, requests, faults applied, transactions held.
    pub fn stats(&self) -> StatsView {
        self.shared.stats()
    }

    /// Forgets every access token it issued (the next call gets a 401).
    pub fn revoke_tokens(&self) {
        self.shared
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Starts (or restarts) recording every Dintero request and answer, for checking
    /// them against the published contract.
    pub fn record(&self) {
        *self
            .shared
            .exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
    }

    /// What was recorded since [`Sandbox::record`].
    pub fn exchanges(&self) -> Vec<server::Exchange> {
        self.shared
            .exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default()
    }

    /// Reads the store (for tests and tools).
    pub fn with_store<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&self.shared.store.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A card as the sandbox holds it.
    pub fn snapshot(&self, card_id: &str) -> Option<CardSnapshot> {
        self.with_store(|s| s.snapshot(card_id))
    }

    /// Stops accepting, drops every open connection, and waits until it has.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

fn load_store(cfg: &SandboxConfig, clock: &dyn Clock) -> Result<Store, SandboxError> {
    if let Some(path) = &cfg.state_file {
        match std::fs::read(path) {
            Ok(bytes) => {
                let mut store: Store =
                    serde_json::from_slice(&bytes).map_err(|e| SandboxError::State {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                if cfg.seed_demo {
                    // Training's demo payments are always from today, so a payment's
                    // age limit (`[payments] max_age_hours`) never makes them unusable.
                    for (id, _, _) in seed::DEMO_PAYMENTS {
                        store.checkout.renew(id, clock.now());
                    }
                }
                return Ok(store);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(SandboxError::State {
                    path: path.clone(),
                    message: e.to_string(),
                });
            }
        }
    }
    let mut store = Store::new(cfg.pin_policy);
    if cfg.seed_demo {
        seed::seed(&mut store, clock.now());
    }
    server::persist(&store, cfg.state_file.as_deref()).map_err(|e| SandboxError::State {
        path: cfg.state_file.clone().unwrap_or_default(),
        message: e.to_string(),
    })?;
    Ok(store)
}
