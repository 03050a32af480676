//! The HTTP side: routes in Dintero's shape, bearer-token checks, fault injection, and an
//! accept loop that can really drop a connection (so a "lost answer" is lost on the wire,
//! not simulated in the client).

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use giftpos_dintero::Clock;
use giftpos_dintero::wire::{ErrorBody, TokenRequest, TokenResponse, codes};
use hyper_util::rt::TokioIo;
use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

mod active;
mod routes;
pub(crate) mod tls;
use routes::*;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::SandboxConfig;
use crate::error::{ApiError, ApiResult};
use crate::faults::{FaultKind, Faults};
use crate::store::Store;

/// Closes the connection a request arrived on, without an answer.
#[derive(Clone)]
pub(crate) struct ConnKill(Arc<Notify>);

/// Counters for tests and the admin view.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Connections accepted (with TLS: handshakes begun).
    pub connections: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub requests: AtomicU64,
    pub faults: AtomicU64,
}

/// Which API an access token may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    Both,
    Wallets,
    Checkout,
}

impl Api {
    fn allows(self, want: Api) -> bool {
        self == Api::Both || self == want
    }
}

/// One request and its answer, as JSON, for checking both against Dintero's contract
/// (recorded only when asked: [`crate::Sandbox::record`]).
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    pub request: Option<serde_json::Value>,
    pub status: u16,
    pub response: Option<serde_json::Value>,
}

/// What the admin endpoint and the handle report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsView {
    /// Connections accepted (with TLS: handshakes begun).
    #[serde(default)]
    pub connections: u64,
    pub tokens_issued: u64,
    pub requests: u64,
    pub faults: u64,
    pub transactions: u64,
}

pub(crate) struct Shared {
    /// `http://ADDR`: where payers open a session's page.
    pub base_url: String,
    pub store: Mutex<Store>,
    pub faults: Mutex<Faults>,
    /// Issued access tokens: when each expires, and which API it may call.
    pub tokens: Mutex<HashMap<String, (DateTime<Utc>, Api)>>,
    pub cfg: SandboxConfig,
    pub clock: Arc<dyn Clock>,
    pub state_file: Option<PathBuf>,
    pub stats: Stats,
    pub rng: Mutex<StdRng>,
    /// `Some` while exchanges are recorded.
    pub exchanges: Mutex<Option<Vec<Exchange>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn stats(&self) -> StatsView {
        StatsView {
            connections: self.stats.connections.load(Ordering::Relaxed),
            tokens_issued: self.stats.tokens_issued.load(Ordering::Relaxed),
            requests: self.stats.requests.load(Ordering::Relaxed),
            faults: self.stats.faults.load(Ordering::Relaxed),
            transactions: lock(&self.store).transaction_count() as u64,
        }
    }

    /// Runs a change on the store, persisting it before the answer leaves (so a dropped
    /// answer never loses what was done).
    fn mutate<T: Serialize>(
        &self,
        f: impl FnOnce(&mut Store, DateTime<Utc>, &mut StdRng) -> ApiResult<T>,
    ) -> Response {
        respond(self.apply(f))
    }

    /// The change itself: the store locked, `f` run, the state saved.
    pub(crate) fn apply<T>(
        &self,
        f: impl FnOnce(&mut Store, DateTime<Utc>, &mut StdRng) -> ApiResult<T>,
    ) -> ApiResult<T> {
        let now = self.clock.now();
        let mut store = lock(&self.store);
        let out = {
            let mut rng = lock(&self.rng);
            f(&mut store, now, &mut rng)
        };
        if let Err(e) = persist(&store, self.state_file.as_deref()) {
            tracing::error!(error = %e, "sandbox state could not be saved");
            return Err(ApiError::new(codes::SERVER_ERROR, "state not saved"));
        }
        out
    }

    /// A Checkout capture or refund: 200 with the transaction, or 202 Accepted with the
    /// `event-request-id` header (SPEC:L2651) when it is only under way.
    fn operation(
        &self,
        f: impl FnOnce(&mut Store, DateTime<Utc>) -> ApiResult<crate::checkout::Operation>,
    ) -> Response {
        let mut accepted = None;
        let resp = self.mutate(|st, now, _| {
            f(st, now).map(|op| {
                accepted = op.accepted;
                op.transaction
            })
        });
        match accepted {
            Some(id) if resp.status().is_success() => {
                let mut resp = resp;
                *resp.status_mut() = StatusCode::ACCEPTED;
                if let Ok(v) = HeaderValue::from_str(&id) {
                    resp.headers_mut().insert("event-request-id", v);
                }
                resp
            }
            _ => resp,
        }
    }

    fn read<T: Serialize>(&self, f: impl FnOnce(&Store) -> ApiResult<T>) -> Response {
        respond(f(&lock(&self.store)))
    }
}

/// Writes the store atomically and durably: a temporary file, fsync, rename, fsync of
/// the folder (the training sandbox's state must survive a power cut like the journal).
pub(crate) fn persist(store: &Store, path: Option<&std::path::Path>) -> std::io::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec(store).map_err(std::io::Error::other)?;
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::File::open(dir)?.sync_all()
}

fn respond<T: Serialize>(r: ApiResult<T>) -> Response {
    match r {
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        Err(e) => error_response(&e),
    }
}

fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = (
        status,
        axum::Json(ErrorBody::new(e.code, e.message.clone())),
    )
        .into_response();
    if let Some(s) = e.retry_after_secs
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(codes::VALIDATION, format!("request body: {e}")))
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let wallets = Router::new()
        .route("/cards/batch", post(create_batch))
        .route("/cards", post(create_card).get(list_cards))
        .route("/cards/{card_id}", get(get_card))
        .route("/cards/{card_id}/activate", post(activate))
        .route("/cards/{card_id}/transactions", get(card_transactions))
        .route("/info", post(info))
        .route("/transactions", post(transaction))
        .route("/transactions/{id}/capture", post(capture))
        .route("/transactions/{id}/void", post(void))
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            bearer_wallets,
        ));
    let api = Router::new()
        .route("/auth/token", post(token))
        .nest("/wallets", wallets)
        .route_layer(middleware::from_fn_with_state(shared.clone(), account));
    // Dintero Checkout (the Payments API); in real life at checkout.dintero.com.
    let checkout = Router::new()
        .route("/sessions-profile", post(create_session))
        .route("/sessions/{id}", get(get_session))
        .route("/sessions/{id}/cancel", post(cancel_session))
        .route("/transactions/{id}", get(get_payment))
        .route("/transactions/{id}/capture", post(capture_payment))
        .route("/transactions/{id}/refund", post(refund_payment))
        .route("/transactions/{id}/void", post(void_payment))
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            bearer_checkout,
        ));
    let dintero = Router::new()
        .nest("/v1/accounts/{aid}", api)
        .nest("/v1", checkout)
        .layer(middleware::from_fn_with_state(shared.clone(), record))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            inject_faults,
        ));
    Router::new()
        .merge(dintero)
        .route("/_sandbox/health", get(|| async { "ok" }))
        .route("/_sandbox/faults", get(get_faults).put(put_faults))
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/revoke-tokens", post(revoke_tokens))
        .route("/_sandbox/cards/{card_id}", get(snapshot))
        // The payer's side of a Checkout session: a page with Pay and Cancel.
        .route("/checkout/{id}", get(payer_page))
        .route("/checkout/{id}/pay", post(payer_pay))
        .route("/checkout/{id}/gift-card", post(payer_add_card))
        .route("/checkout/{id}/gift-card/remove", post(payer_remove_card))
        .route("/checkout/{id}/hold", post(payer_hold))
        .route("/checkout/{id}/decline", post(payer_decline))
        .route("/_sandbox/payments", post(register_payment))
        .route("/_sandbox/payments/{id}/approve", post(approve_payment))
        .route("/_sandbox/payments/{id}/decline", post(decline_payment))
        .route("/checkout/{id}/cancel", post(payer_cancel))
        .fallback(|| async { error_response(&ApiError::new(codes::NOT_FOUND, "no such endpoint")) })
        .with_state(shared)
}

/// Serves `router` on `listener` (over TLS when `tls` is set) until `shutdown` says
/// so, then drops every connection.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<tls::Tls>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                shared.stats.connections.fetch_add(1, Ordering::Relaxed);
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let idle = shared.cfg.idle_timeout;
                match &tls {
                    None => {
                        conns.spawn(serve_connection(stream, app, idle));
                    }
                    Some(t) => {
                        let acceptor = t.acceptor.clone();
                        conns.spawn(async move {
                            match acceptor.accept(stream).await {
                                Ok(stream) => serve_connection(stream, app, idle).await,
                                Err(e) => tracing::info!("sandbox TLS handshake failed: {e}"),
                            }
                        });
                    }
                }
            }
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

async fn serve_connection<S>(stream: S, app: Router, idle: Option<Duration>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let kill = Arc::new(Notify::new());
    let conn_kill = ConnKill(kill.clone());
    // Requests in flight, and when the last one began or ended: for the idle limit.
    let activity = Arc::new(Mutex::new((0usize, tokio::time::Instant::now())));
    let seen = activity.clone();
    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(conn_kill.clone());
        let app = app.clone();
        let seen = seen.clone();
        async move {
            {
                let mut a = lock(&seen);
                *a = (a.0 + 1, tokio::time::Instant::now());
            }
            let resp = app.oneshot(req).await.unwrap_or_else(|e| match e {});
            {
                let mut a = lock(&seen);
                *a = (a.0.saturating_sub(1), tokio::time::Instant::now());
            }
            Ok::<_, Infallible>(resp)
        }
    });
    // HTTP/1.1, or HTTP/2 when the client's first bytes say so (over TLS, ALPN offers
    // both): one connection then carries a sale's look-ups side by side, as Dintero's
    // own front door does.
    let builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    // Idle means no bytes from the client (as a load balancer's or NAT's idle limit
    // counts): an HTTP/2 PING keeps a connection open, silence does not.
    let stream = active::Active {
        inner: stream,
        seen: activity.clone(),
    };
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let check = async {
            match idle {
                Some(limit) if !closing => {
                    tokio::time::sleep(limit.min(Duration::from_millis(250))).await;
                    let (busy, last) = *lock(&activity);
                    busy == 0 && last.elapsed() >= limit
                }
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = conn.as_mut() => return,
            // Dropping the connection closes the socket with no answer.
            _ = kill.notified() => return,
            // Idle too long between requests: closed, as servers and load balancers do.
            idle_now = check => {
                if idle_now {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Keeps each exchange (what the handlers saw and answered, inside the fault layer)
/// while recording is on.
async fn record(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if lock(&s.exchanges).is_none() {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let request = serde_json::from_slice(&bytes).ok();
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if let Some(list) = lock(&s.exchanges).as_mut() {
        list.push(Exchange {
            method,
            path,
            request,
            status: parts.status.as_u16(),
            response: serde_json::from_slice(&bytes).ok(),
        });
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn inject_faults(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let (latency, fault) = {
        let roll: u8 = lock(&s.rng).random_range(0..100);
        let mut f = lock(&s.faults);
        (f.latency_ms, f.pick(req.uri().path(), roll))
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let Some(fault) = fault else {
        return next.run(req).await;
    };
    s.stats.faults.fetch_add(1, Ordering::Relaxed);
    let kill = req.extensions().get::<ConnKill>().cloned();
    match fault {
        FaultKind::DropBefore => hang_up(kill).await,
        FaultKind::DropAfter => {
            let resp = next.run(req).await;
            drop(resp);
            hang_up(kill).await
        }
        FaultKind::ServerError { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            (
                status,
                axum::Json(ErrorBody::new(codes::SERVER_ERROR, "injected server error")),
            )
                .into_response()
        }
        FaultKind::RateLimit { retry_after_secs } => {
            let mut e = ApiError::new(codes::RATE_LIMITED, "injected rate limit");
            e.retry_after_secs = Some(retry_after_secs);
            error_response(&e)
        }
        FaultKind::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"card_id\": 42, \"status\": [",
        )
            .into_response(),
    }
}

async fn hang_up(kill: Option<ConnKill>) -> Response {
    match kill {
        Some(k) => {
            k.0.notify_one();
            std::future::pending().await
        }
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn account(
    State(s): State<Arc<Shared>>,
    Path(params): Path<HashMap<String, String>>,
    req: Request,
    next: Next,
) -> Response {
    s.stats.requests.fetch_add(1, Ordering::Relaxed);
    if params.get("aid").map(String::as_str) != Some(s.cfg.account_id.as_str()) {
        return error_response(&ApiError::new(codes::FORBIDDEN, "unknown account"));
    }
    next.run(req).await
}

async fn bearer_wallets(s: State<Arc<Shared>>, h: HeaderMap, req: Request, next: Next) -> Response {
    bearer_auth(s, h, req, next, Api::Wallets).await
}

async fn bearer_checkout(
    s: State<Arc<Shared>>,
    h: HeaderMap,
    req: Request,
    next: Next,
) -> Response {
    bearer_auth(s, h, req, next, Api::Checkout).await
}

async fn bearer_auth(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    req: Request,
    next: Next,
    want: Api,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let grant = bearer.and_then(|b| {
        lock(&s.tokens)
            .get(b)
            .filter(|(exp, _)| *exp > s.clock.now())
            .map(|(_, api)| *api)
    });
    match grant {
        None => error_response(&ApiError::new(
            codes::UNAUTHORIZED,
            "missing, unknown or expired access token",
        )),
        Some(api) if !api.allows(want) => error_response(&ApiError::new(
            codes::FORBIDDEN,
            "this API client has no access to this API",
        )),
        Some(_) => next.run(req).await,
    }
}

async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64_decode(b.trim()))
        .and_then(|b| String::from_utf8(b).ok());
    let split = s.cfg.checkout_client.is_some();
    let api = basic
        .as_deref()
        .and_then(|b| b.split_once(':'))
        .and_then(|(id, secret)| {
            if id == s.cfg.client_id && secret == s.cfg.client_secret.expose() {
                Some(if split { Api::Wallets } else { Api::Both })
            } else {
                s.cfg
                    .checkout_client
                    .as_ref()
                    .filter(|(cid, cs)| id == cid && secret == cs.expose())
                    .map(|_| Api::Checkout)
            }
        });
    let Some(api) = api else {
        return error_response(&ApiError::new(
            codes::INVALID_CLIENT,
            "invalid client credentials",
        ));
    };
    let req: TokenRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    let audience_ok = req
        .audience
        .ends_with(&format!("/v1/accounts/{}", s.cfg.account_id));
    if req.grant_type != "client_credentials" || !audience_ok {
        return error_response(&ApiError::new(
            codes::VALIDATION,
            "grant_type must be client_credentials and audience the account's URL",
        ));
    }
    let value: String = {
        let mut rng = lock(&s.rng);
        (0..40)
            .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
            .collect()
    };
    let exp = s.clock.now() + chrono::Duration::seconds(s.cfg.token_ttl_secs as i64);
    lock(&s.tokens).insert(value.clone(), (exp, api));
    s.stats.tokens_issued.fetch_add(1, Ordering::Relaxed);
    axum::Json(TokenResponse {
        access_token: value,
        token_type: "Bearer".into(),
        expires_in: Some(s.cfg.token_ttl_secs),
    })
    .into_response()
}

/// Standard base64 (RFC 4648) decoding for the Basic auth header.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let take = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Some(out)
}

#[cfg(test)]
mod tests;
