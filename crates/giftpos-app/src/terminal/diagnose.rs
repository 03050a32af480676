//! `giftpos doctor` and the Settings screen's checks: the local ones (`doctor.rs`) and
//! those that need the terminal — Dintero reachable, tokens, answers readable, payments
//! readable, the clock — run on the terminal itself (no second one is opened).

use std::sync::Arc;

use giftpos_dintero::Clock;

use super::Terminal;
use crate::config::{Config, ConfigError};
use crate::doctor::{
    Check, CheckStatus, DoctorReport, MAX_SKEW_SECS, WARN_SKEW_SECS, check_journal, config_failed,
    finish, journal_verified, local_checks,
};

impl Terminal {
    /// Every check, for a configuration *result* (a broken configuration is reported,
    /// not fatal): opens the terminal to check what needs it.
    pub async fn diagnose(
        config: Result<Config, ConfigError>,
        clock: Arc<dyn Clock>,
    ) -> DoctorReport {
        let cfg = match config {
            Ok(c) => c,
            Err(e) => return config_failed(&e),
        };
        let training = cfg.is_training();
        let mut checks = local_checks(&cfg, check_journal(&cfg));
        match Terminal::open(cfg, clock).await {
            Ok(t) => t.online_checks(checks).await,
            Err(e) => {
                checks.push(Check::fail("api_reachable", e.to_string(), e.hint()));
                for name in [
                    "token",
                    "checkout_token",
                    "dintero_answers",
                    "payments",
                    "clock",
                ] {
                    checks.push(Check::skipped(name, "the terminal could not start"));
                }
                finish(training, checks)
            }
        }
    }

    /// Every check, on this terminal.
    pub async fn doctor(&self) -> DoctorReport {
        let journal = journal_verified(&self.cfg.journal_path(), self.journal().verify());
        let checks = local_checks(&self.cfg, journal);
        self.online_checks(checks).await
    }

    async fn online_checks(&self, mut checks: Vec<Check>) -> DoctorReport {
        let training = self.is_training();
        let api = self.info().api_base;
        match self.client().probe().await {
            Ok(p) => {
                checks.push(Check::ok(
                    "api_reachable",
                    format!("{api} answered in {} ms", p.round_trip.as_millis()),
                ));
                checks.push(match p.server_time {
                    Some(server) => {
                        let skew = (self.clock.now() - server).num_seconds();
                        let detail = format!("{skew:+} s against Dintero's clock");
                        if skew.abs() > MAX_SKEW_SECS {
                            Check::fail(
                                "clock",
                                detail,
                                "Enable time sync (e.g. `timedatectl set-ntp true`).",
                            )
                        } else if skew.abs() > WARN_SKEW_SECS {
                            Check::warn(
                                "clock",
                                detail,
                                "Enable time sync (e.g. `timedatectl set-ntp true`).",
                            )
                        } else {
                            Check::ok("clock", detail)
                        }
                    }
                    None => Check::skipped("clock", "the server sent no Date header"),
                });
            }
            Err(e) => {
                checks.push(Check::fail(
                    "api_reachable",
                    format!("{api}: {e}"),
                    "Check the network, proxy and firewall for HTTPS to the API base.",
                ));
                checks.push(Check::skipped("clock", "the API could not be reached"));
            }
        }
        let token_check = match self.client().ensure_token().await {
            Ok(()) => Check::ok("token", "an access token was obtained"),
            Err(e) => Check::fail(
                "token",
                e.to_string(),
                "Check the client id and secret, and that the API client is enabled for this account.",
            ),
        };
        let token_ok = token_check.status == CheckStatus::Ok;
        let checkout_check = if self.config().checkout_client.is_none() {
            Check::skipped(
                "checkout_token",
                "one API client for Wallets and Checkout (set checkout_client_id for a separate one)",
            )
        } else {
            match self.client().ensure_checkout_token().await {
                Ok(()) => Check::ok(
                    "checkout_token",
                    "the separate Checkout API client obtained an access token",
                ),
                Err(e) => Check::fail(
                    "checkout_token",
                    e.to_string(),
                    "Check checkout_client_id and its secret, and that the Checkout client is enabled for this account.",
                ),
            }
        };
        let answers = if token_ok {
            self.check_answers().await
        } else {
            Check::skipped("dintero_answers", "no access token")
        };
        let payments = self.check_payments().await;
        // Keep the checks in a fixed order: the tokens and answers before clock.
        let clock_idx = checks
            .iter()
            .position(|c| c.name == "clock")
            .unwrap_or(checks.len());
        for (i, c) in [token_check, checkout_check, answers, payments]
            .into_iter()
            .enumerate()
        {
            checks.insert(clock_idx + i, c);
        }
        finish(training, checks)
    }

    /// Verifying sold cards' payments needs the Checkout API's read grant: a payment that does
    /// not exist must answer 404, not 403.
    async fn check_payments(&self) -> Check {
        use giftpos_dintero::DinteroError as D;
        const NAME: &str = "payments";
        let mode = self.config().payments_verify;
        if mode == crate::payments::VerifyMode::Off {
            return Check::skipped(
                NAME,
                "[payments] verify = \"off\": payments are not verified",
            );
        }
        match self.client().payment("giftpos-doctor-probe").await {
            Ok(_) | Err(D::NotFound) => Check::ok(
                NAME,
                format!(
                    "payments are verified ({}); the Checkout API answers GET /v1/transactions",
                    mode.as_str()
                ),
            ),
            Err(e @ (D::Forbidden | D::Unauthorized)) => Check::fail(
                NAME,
                format!("the API client may not read payments: {e}"),
                "Grant the Checkout API client read:checkout (or admin:checkout), or set [payments] verify = \"warn\" until it is.",
            ),
            Err(e) => Check::warn(
                NAME,
                format!("GET /v1/transactions could not be tried: {e}"),
                "Check the network and the Checkout base URL (checkout_base).",
            ),
        }
    }

    /// Can Dintero's answers be read? Actively (one card list read, which changes nothing)
    /// and from the journal (entries whose last attempt got an unreadable answer). Names the
    /// endpoint and the field.
    async fn check_answers(&self) -> Check {
        const NAME: &str = "dintero_answers";
        const FIX: &str = "Dintero's answers have a shape this version cannot read: tell support the endpoint and field named here, and update giftpos. Entries are kept and checked at Dintero before anything is resent.";
        let stuck: Vec<String> = self
            .journal()
            .open_entries()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| {
                e.last_error
                    .filter(|m| m.starts_with("Dintero's answer to"))
                    .map(|m| format!("entry {}: {m}", e.id))
            })
            .collect();
        if let Some(first) = stuck.first() {
            return Check::fail(
                NAME,
                format!("{} entries got unreadable answers; {first}", stuck.len()),
                FIX,
            );
        }
        // What the terminal remembers (a look-up the clerk saw fail, in any process), until
        // a readable answer to the same operation clears it.
        let remembered = self.unreadable_answers().unwrap_or_default();
        if !remembered.is_empty() {
            let named: Vec<String> = remembered
                .iter()
                .map(|a| {
                    format!(
                        "{}: {} (last at {})",
                        a.op,
                        a.what,
                        a.at.format("%Y-%m-%d %H:%M:%S UTC")
                    )
                })
                .collect();
            return Check::fail(
                NAME,
                format!(
                    "Dintero's last answer could not be read for {}",
                    named.join("; ")
                ),
                FIX,
            );
        }
        match self.client().list_cards(1, None).await {
            Ok(_) => Check::ok(NAME, "Wallets answers are readable (GET /cards)"),
            Err(e @ giftpos_dintero::DinteroError::Unreadable { .. }) => {
                Check::fail(NAME, e.to_string(), FIX)
            }
            Err(giftpos_dintero::DinteroError::NotFound) => Check::warn(
                NAME,
                "GET /cards answered 404 Not Found",
                "Check [dintero] api_base and account_id: a wrong base URL or account answers 404 (a missing grant answers 403).",
            ),
            Err(e) => Check::warn(
                NAME,
                format!("GET /cards could not be tried: {e}"),
                "Grant the API client read:wallets (or admin:wallets) so the doctor can check Dintero's answers.",
            ),
        }
    }
}
