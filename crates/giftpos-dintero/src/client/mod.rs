//! The HTTP client for Dintero: transport and auth here, one file per API
//! (`wallets.rs`, `checkout.rs`).
//!
//! One access token is cached per client and refreshed ahead of its expiry; concurrent
//! callers wait on the same refresh instead of each fetching their own. A 401 on a call
//! drops the token, fetches a new one, and retries that call once.

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use giftpos_core::Secret;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tracing::Instrument;

use crate::clock::Clock;
use crate::error::{Call, DinteroError};
use crate::wire::{AccountId, ErrorBody, TokenRequest, TokenResponse};

mod checkout;
mod wallets;

/// Told of every answer the client reads: the operation (`wallets.info`, …) and, when
/// a 2xx body could not be read, what could not be (the field by its path). The
/// terminal keeps the last unreadable answer per operation where the doctor and the
/// metrics find it, until a readable answer to the same operation clears it.
pub type AnswerHook = Arc<dyn Fn(&str, Option<&str>) + Send + Sync>;

/// Where and how to reach Dintero.
#[derive(Clone)]
pub struct ClientConfig {
    /// `https://api.dintero.com`, or a sandbox's `http://127.0.0.1:PORT`.
    pub api_base: String,
    pub account_id: AccountId,
    pub client_id: String,
    pub client_secret: Secret,
    /// Limit for a whole request, answer included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Sent as `Dintero-System-Name` / `Dintero-System-Version`.
    pub system_name: String,
    pub system_version: String,
    /// Refresh the access token this long before it expires (at most half its life).
    pub refresh_margin: Duration,
    /// Where the Payments (Checkout) API is: `https://checkout.dintero.com` for real
    /// accounts, the sandbox's own address in training and tests.
    pub checkout_base: String,
    /// A separate API client for Checkout (Dintero advises one client for Wallets and
    /// another for the system that takes payments, G-create). None: one client for
    /// both.
    pub checkout_client: Option<(String, Secret)>,
    /// Certificate authorities to trust besides the system's (PEM), e.g. a store's TLS
    /// inspecting proxy or the sandbox's CA: `dintero.ca_file`.
    pub extra_roots_pem: Option<Vec<u8>>,
    /// How long an unused connection stays open in the pool. Keeping it warm
    /// ([`DinteroClient::keep_warm`]) more often than this spares a clerk the TCP and
    /// TLS handshakes.
    pub pool_idle_timeout: Duration,
    /// How often an idle HTTP/2 connection is PINGed to stay open (transport frames,
    /// not requests). None: never.
    pub http2_ping: Option<Duration>,
    /// The HTTP(S) proxy to reach Dintero through (`dintero.proxy`, IT's). None: no
    /// proxy at all — the process environment (`HTTPS_PROXY`, the session user's) is
    /// never used to route the till's money.
    pub proxy: Option<String>,
    /// Told of each answer read (see [`AnswerHook`]).
    pub answers: Option<AnswerHook>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_base", &self.api_base)
            .field("account_id", &self.account_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field(
                "checkout_client_id",
                &self.checkout_client.as_ref().map(|(id, _)| id),
            )
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Defaults for everything but where to go and who we are.
    pub fn new(
        api_base: impl Into<String>,
        account_id: AccountId,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> ClientConfig {
        ClientConfig {
            api_base: api_base.into(),
            account_id,
            client_id: client_id.into(),
            client_secret,
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            system_name: "giftpos".into(),
            system_version: env!("CARGO_PKG_VERSION").into(),
            refresh_margin: Duration::from_secs(300),
            checkout_base: "https://checkout.dintero.com".into(),
            checkout_client: None,
            extra_roots_pem: None,
            pool_idle_timeout: Duration::from_secs(90),
            http2_ping: Some(Duration::from_secs(30)),
            proxy: None,
            answers: None,
        }
    }
}

/// What [`DinteroClient::probe`] found.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub round_trip: Duration,
    /// The server's clock, when it sent a `Date` header.
    pub server_time: Option<DateTime<Utc>>,
}

struct CachedToken {
    bearer: Arc<str>,
    refresh_at: DateTime<Utc>,
}

struct Inner {
    http: reqwest::Client,
    cfg: ClientConfig,
    base: String,
    clock: Arc<dyn Clock>,
    /// The Wallets client's token (also Checkout's when there is one client).
    token: Mutex<Option<CachedToken>>,
    /// The Checkout client's token, when it is a client of its own.
    checkout_token: Mutex<Option<CachedToken>>,
    token_fetches: AtomicU64,
}

/// A Dintero client. Cheap to clone; clones share the token cache.
#[derive(Clone)]
pub struct DinteroClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for DinteroClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DinteroClient")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

impl DinteroClient {
    /// Builds a client. Fails only if the TLS stack cannot be set up.
    pub fn new(cfg: ClientConfig, clock: Arc<dyn Clock>) -> Result<DinteroClient, DinteroError> {
        // reqwest is built without a bundled crypto provider; ring is ours.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut headers = HeaderMap::new();
        let name = HeaderValue::from_str(&cfg.system_name)
            .map_err(|_| DinteroError::Validation("system name is not a valid header".into()))?;
        let version = HeaderValue::from_str(&cfg.system_version)
            .map_err(|_| DinteroError::Validation("system version is not a valid header".into()))?;
        headers.insert("Dintero-System-Name", name);
        headers.insert("Dintero-System-Version", version);
        let roots = match &cfg.extra_roots_pem {
            Some(pem) => {
                let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                    DinteroError::Tls(format!("the CA file is not PEM certificates: {e}"))
                })?;
                if certs.is_empty() {
                    return Err(DinteroError::Tls("the CA file holds no certificate".into()));
                }
                certs
            }
            None => Vec::new(),
        };
        let builder = match &cfg.proxy {
            Some(url) => reqwest::Client::builder().proxy(
                reqwest::Proxy::all(url)
                    .map_err(|e| DinteroError::Validation(format!("the proxy {url}: {e}")))?,
            ),
            None => reqwest::Client::builder().no_proxy(),
        };
        // An HTTP/2 connection (ALPN over TLS) stays open between a clerk's operations
        // by PING frames, not by requests.
        let builder = match cfg.http2_ping {
            Some(every) => builder
                .http2_keep_alive_interval(every)
                .http2_keep_alive_timeout(Duration::from_secs(10))
                .http2_keep_alive_while_idle(true),
            None => builder,
        };
        let http = builder
            .tls_certs_merge(roots)
            .pool_idle_timeout(cfg.pool_idle_timeout)
            .tcp_keepalive(Duration::from_secs(30))
            .default_headers(headers)
            .user_agent(concat!("giftpos/", env!("CARGO_PKG_VERSION")))
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .build()
            .map_err(|e| DinteroError::Tls(e.to_string()))?;
        let base = cfg.api_base.trim_end_matches('/').to_string();
        Ok(DinteroClient {
            inner: Arc::new(Inner {
                http,
                cfg,
                base,
                clock,
                token: Mutex::new(None),
                checkout_token: Mutex::new(None),
                token_fetches: AtomicU64::new(0),
            }),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    /// How many access tokens this client has fetched (for tests and diagnostics).
    pub fn token_fetches(&self) -> u64 {
        self.inner.token_fetches.load(Ordering::Relaxed)
    }

    /// Checks that Dintero's host answers at all (any HTTP status counts), without
    /// credentials: a documented call (`GET …/wallets/cards?limit=1`), sent without a
    /// token, so it moves nothing and mints nothing (Dintero answers 401). Cheap enough
    /// to run, with backoff, while offline. Returns the round trip and the server's
    /// clock (its `Date` header) for a skew check.
    pub async fn probe(&self) -> Result<Probe, DinteroError> {
        let started = Instant::now();
        let url = format!(
            "{}/v1/accounts/{}/wallets/cards?limit=1",
            self.inner.base, self.inner.cfg.account_id
        );
        let resp = self.inner.http.get(url).send().await.map_err(classify)?;
        let server_time = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .map(|d| d.with_timezone(&Utc));
        Ok(Probe {
            round_trip: started.elapsed(),
            server_time,
        })
    }

    /// Keeps what a clerk's next operation needs ready, so that it costs only its own
    /// round trips: the access tokens are renewed when due (ahead of expiry) — nothing
    /// else is sent. Pooled connections are kept open at the transport (TCP keepalive,
    /// HTTP/2 PING while idle), never by requests. No request at all when nothing is due.
    pub async fn keep_warm(&self) -> Result<(), DinteroError> {
        self.ensure_token().await?;
        if self.inner.cfg.checkout_client.is_some() {
            self.ensure_checkout_token().await?;
        }
        Ok(())
    }

    /// Makes sure a valid access token is at hand, fetching one if needed.
    pub async fn ensure_token(&self) -> Result<(), DinteroError> {
        self.bearer(Call::Admin).await.map(|_| ())
    }

    /// Makes sure the Checkout client (the same one, or its own) has a token.
    pub async fn ensure_checkout_token(&self) -> Result<(), DinteroError> {
        self.bearer(Call::Payments).await.map(|_| ())
    }

    /// The token slot and credentials for a call: Checkout's own client when there is
    /// one, else the (Wallets) client.
    fn slot(&self, ctx: Call) -> (&Mutex<Option<CachedToken>>, &str, &Secret) {
        let cfg = &self.inner.cfg;
        match (&cfg.checkout_client, ctx) {
            (Some((id, secret)), Call::Payments) => (&self.inner.checkout_token, id, secret),
            _ => (&self.inner.token, &cfg.client_id, &cfg.client_secret),
        }
    }

    async fn bearer(&self, ctx: Call) -> Result<Arc<str>, DinteroError> {
        let (slot, id, secret) = self.slot(ctx);
        let mut slot = slot.lock().await;
        let now = self.inner.clock.now();
        if let Some(t) = slot.as_ref()
            && now < t.refresh_at
        {
            return Ok(t.bearer.clone());
        }
        let fresh = self.fetch_token(id, secret).await?;
        let bearer = fresh.bearer.clone();
        *slot = Some(fresh);
        Ok(bearer)
    }

    /// Drops the cached token if it is still the one that was refused.
    async fn invalidate(&self, ctx: Call, refused: &Arc<str>) {
        let mut slot = self.slot(ctx).0.lock().await;
        if slot
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(&t.bearer, refused))
        {
            *slot = None;
        }
    }

    async fn fetch_token(
        &self,
        client_id: &str,
        secret: &Secret,
    ) -> Result<CachedToken, DinteroError> {
        let cfg = &self.inner.cfg;
        let url = format!(
            "{}/v1/accounts/{}/auth/token",
            self.inner.base, cfg.account_id
        );
        let body = TokenRequest {
            grant_type: "client_credentials".into(),
            audience: format!("{}/v1/accounts/{}", self.inner.base, cfg.account_id),
        };
        let span = tracing::debug_span!("dintero.auth_token");
        let started = Instant::now();
        let resp = self
            .inner
            .http
            .post(&url)
            .basic_auth(client_id, Some(secret.expose()))
            .json(&body)
            .send()
            .instrument(span.clone())
            .await
            .map_err(classify)?;
        self.inner.token_fetches.fetch_add(1, Ordering::Relaxed);
        let status = resp.status().as_u16();
        let result: Result<TokenResponse, DinteroError> =
            decode("auth.token", Call::Auth, resp, cfg.answers.as_ref()).await;
        span.in_scope(|| {
            tracing::debug!(status, ms = started.elapsed().as_millis() as u64, "token");
        });
        let tok = result.map_err(|e| match e {
            DinteroError::Unauthorized => DinteroError::InvalidClient,
            other => other,
        })?;
        if tok.access_token.is_empty() {
            return Err(DinteroError::Unreadable {
                op: "auth.token".into(),
                status,
                what: "field `access_token` is empty".into(),
            });
        }
        // Unstated or unreadable: assume a short life and refresh early (a 401 would
        // also make us refresh).
        let life = Duration::from_secs(tok.expires_in.unwrap_or(600));
        let margin = cfg.refresh_margin.min(life / 2);
        let ahead = chrono::Duration::from_std(life - margin).unwrap_or(chrono::Duration::zero());
        Ok(CachedToken {
            bearer: Arc::from(tok.access_token.as_str()),
            refresh_at: self.inner.clock.now() + ahead,
        })
    }

    /// Sends one wallets call. `op` names it in traces; `path` is below
    /// `/v1/accounts/{aid}/wallets`.
    async fn call<T: DeserializeOwned>(
        &self,
        op: &'static str,
        ctx: Call,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, DinteroError> {
        let url = format!(
            "{}/v1/accounts/{}/wallets{}",
            self.inner.base, self.inner.cfg.account_id, path
        );
        self.call_url(op, ctx, method, url, body).await
    }

    /// Sends one Payments (Checkout) API call; `path` is below `{checkout_base}/v1`.
    async fn checkout<T: DeserializeOwned, B: Serialize>(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, DinteroError> {
        let url = format!(
            "{}/v1{path}",
            self.inner.cfg.checkout_base.trim_end_matches('/')
        );
        let bytes = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| DinteroError::Validation(format!("request not encodable: {e}")))?;
        self.call_url(op, Call::Payments, method, url, bytes).await
    }

    async fn call_url<T: DeserializeOwned>(
        &self,
        op: &'static str,
        ctx: Call,
        method: Method,
        url: String,
        body: Option<Vec<u8>>,
    ) -> Result<T, DinteroError> {
        self.exchange(op, ctx, method, url, body)
            .await
            .map(|a| a.body)
    }

    /// One call, with the answer's status and `event-request-id` (Checkout's 202).
    async fn exchange<T: DeserializeOwned>(
        &self,
        op: &'static str,
        ctx: Call,
        method: Method,
        url: String,
        body: Option<Vec<u8>>,
    ) -> Result<Answer<T>, DinteroError> {
        let span = tracing::debug_span!("dintero", op, status = tracing::field::Empty);
        async {
            let started = Instant::now();
            let mut refreshed = false;
            loop {
                let bearer = self.bearer(ctx).await?;
                let mut req = self
                    .inner
                    .http
                    .request(method.clone(), &url)
                    .bearer_auth(&*bearer);
                if let Some(b) = &body {
                    req = req
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(b.clone());
                }
                let resp = req.send().await.map_err(classify)?;
                let status = resp.status().as_u16();
                tracing::Span::current().record("status", status);
                if status == 401 && !refreshed {
                    tracing::debug!("access token refused; refreshing once");
                    self.invalidate(ctx, &bearer).await;
                    refreshed = true;
                    continue;
                }
                let event_request_id = resp
                    .headers()
                    .get("event-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let hook = self.inner.cfg.answers.as_ref();
                let out = decode(op, ctx, resp, hook).await.map(|body| Answer {
                    status,
                    event_request_id,
                    body,
                });
                tracing::debug!(
                    ms = started.elapsed().as_millis() as u64,
                    ok = out.is_ok(),
                    "done"
                );
                return out;
            }
        }
        .instrument(span)
        .await
    }

    async fn post<T: DeserializeOwned, B: Serialize>(
        &self,
        op: &'static str,
        ctx: Call,
        path: &str,
        body: &B,
    ) -> Result<T, DinteroError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| DinteroError::Validation(format!("request not encodable: {e}")))?;
        self.call(op, ctx, Method::POST, path, Some(bytes)).await
    }
}

/// A decoded 2xx answer with what the headers said.
struct Answer<T> {
    status: u16,
    event_request_id: Option<String>,
    body: T,
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters pass).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Reads an answer: the typed body on 2xx, the typed error otherwise.
async fn decode<T: DeserializeOwned>(
    op: &'static str,
    ctx: Call,
    resp: reqwest::Response,
    hook: Option<&AnswerHook>,
) -> Result<T, DinteroError> {
    let status = resp.status().as_u16();
    let wait = retry_after(resp.headers());
    let bytes = resp.bytes().await.map_err(classify)?;
    if (200..300).contains(&status) {
        let read = read_body(&bytes);
        if let Some(h) = hook {
            h(op, read.as_ref().err().map(String::as_str));
        }
        return read.map_err(|what| DinteroError::Unreadable {
            op: op.into(),
            status,
            what,
        });
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(b) => Err(DinteroError::from_api(
            status,
            &b.error.code,
            &b.error.message,
            wait,
            ctx,
        )),
        Err(_) => Err(DinteroError::from_api(status, "", "", wait, ctx)),
    }
}

/// Parses a 2xx body, or says what could not be read: the field (by its path) or that
/// it is not JSON. serde's own messages can quote the body (a token, a PIN), so only
/// the path, a missing field's name and the position are kept.
pub(crate) fn read_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(format!(
            "not JSON ({:?} at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let msg = inner.to_string();
                let missing = msg
                    .strip_prefix("missing field `")
                    .and_then(|m| m.split('`').next());
                match (missing, path.as_str()) {
                    (Some(field), "." | "") => format!("field `{field}` is missing"),
                    (Some(field), p) => format!("field `{p}.{field}` is missing"),
                    (None, p) => format!("field `{p}` has a value of the wrong kind"),
                }
            }
            kind => format!(
                "not JSON ({kind:?} at line {} column {})",
                inner.line(),
                inner.column()
            ),
        }
    })
}

/// Sorts a transport failure into whether the request can have reached Dintero.
fn classify(e: reqwest::Error) -> DinteroError {
    if e.is_timeout() {
        return DinteroError::Timeout;
    }
    let mut source = e.source();
    let mut tls = None;
    let mut refused = false;
    let mut chain = Vec::new();
    while let Some(s) = source {
        chain.push(s.to_string());
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            refused = true;
        }
        if tls.is_none() {
            tls = find_rustls(s);
        }
        source = s.source();
    }
    if let Some(t) = tls {
        return DinteroError::Tls(t);
    }
    if refused {
        return DinteroError::ConnectionRefused;
    }
    if e.is_connect() {
        chain.dedup();
        return DinteroError::Unreachable(chain.join(": "));
    }
    // The request went out (or may have): whatever happened, the answer is missing.
    DinteroError::ConnectionLost
}

/// Finds a rustls error in `e`, looking inside `io::Error`s too: their `source()` skips
/// the error they wrap, and the TLS stack wraps its errors in them, sometimes twice.
fn find_rustls(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(r.to_string());
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>()
        && let Some(inner) = io.get_ref()
    {
        return find_rustls(inner);
    }
    None
}

#[cfg(test)]
mod tests;
