//! Who is at the till: clerks signing in and out, a manager's approval, and scans.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use giftpos_core::{CardToken, Pin};
use uuid::Uuid;

use super::views::ScanResult;
use super::{SCANS_KEPT, Terminal};
use crate::approval::{Approval, ManagerAction};
use crate::clerks::{Clerk, Clerks, Role};
use crate::error::{AppError, ErrorCode};

impl Terminal {
    /// The terminal's clerk list, opened on first use.
    pub(crate) fn clerks(&self) -> Result<&Clerks, AppError> {
        if let Some(c) = self.clerks.get() {
            return Ok(c);
        }
        let c = Clerks::open(&self.cfg.journal_path().with_file_name("clerks.db"))?;
        if self.is_training() {
            c.seed_training()?;
        }
        // Another thread may have opened it meanwhile; either copy will do.
        Ok(self.clerks.get_or_init(|| c))
    }

    /// Adds a clerk or manager, or changes their name, role and PIN (`giftpos clerk
    /// add`): with a manager's approval, or by IT (root), or the very first one.
    pub fn add_clerk(
        &self,
        number: &str,
        name: &str,
        role: Role,
        pin: &Pin,
        approval: Option<&Approval>,
    ) -> Result<Clerk, AppError> {
        self.may_manage_clerks(approval)?;
        self.clerks()?.upsert(number, name, role, pin)
    }

    fn may_manage_clerks(&self, approval: Option<&Approval>) -> Result<(), AppError> {
        if let Some(a) = approval {
            a.check(ManagerAction::ManageClerks)?;
            return Ok(());
        }
        if nix::unistd::geteuid().is_root() || self.clerks()?.list()?.is_empty() {
            return Ok(());
        }
        Err(AppError::new(
            ErrorCode::ManagerRequired,
            "changing the clerk list needs a manager (--approved-by N, the PIN on stdin) or IT (root)",
        ))
    }

    /// Every clerk and manager, by number.
    pub fn list_clerks(&self) -> Result<Vec<Clerk>, AppError> {
        self.clerks()?.list()
    }

    /// Removes a clerk; their number stays on the entries they recorded.
    pub fn remove_clerk(&self, number: &str, approval: Option<&Approval>) -> Result<(), AppError> {
        self.may_manage_clerks(approval)?;
        self.clerks()?.remove(number)
    }

    pub(super) fn session(&self) -> std::sync::MutexGuard<'_, Option<Clerk>> {
        self.clerk.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The clerk number recorded on new entries: the clerk acting through a
    /// [`Till`](super::Till) (even if someone else signed in meanwhile), else whoever is
    /// signed in.
    pub(super) fn clerk_number(&self) -> Option<String> {
        ACTING
            .try_with(Clone::clone)
            .ok()
            .flatten()
            .or_else(|| self.session().as_ref().map(|c| c.number.clone()))
    }

    /// Signs a clerk in: their number is recorded on the entries from now on.
    pub fn sign_in(&self, number: &str, pin: &Pin) -> Result<Clerk, AppError> {
        if self.clerks()?.list()?.is_empty() {
            return Err(AppError::new(
                ErrorCode::Config,
                "no clerks are set up on this terminal (IT adds them with `giftpos clerk add`)",
            ));
        }
        let clerk = self.clerks()?.sign_in(number, pin, self.clock.now())?;
        tracing::info!(clerk = %clerk.number, role = clerk.role.as_str(), "signed in");
        *self.session() = Some(clerk.clone());
        self.signed_in
            .store(true, std::sync::atomic::Ordering::Relaxed);
        *self.activity() = self.clock.now();
        Ok(clerk)
    }

    /// Marks work in flight (a payment being made) until the guard drops: the clerk is
    /// not signed out under it, however long it takes.
    pub(crate) fn working(&self) -> Working {
        self.working
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Working(self.working.clone())
    }

    fn activity(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        self.activity.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The signed-in clerk did something (an operation, or input the page reports):
    /// their idle time starts again. Refused when nobody is signed in, or when the
    /// clerk was idle past `[terminal] idle_sign_out_secs` (they are signed out).
    pub fn clerk_action(&self) -> Result<Clerk, AppError> {
        let c = self.signed_in()?;
        *self.activity() = self.clock.now();
        Ok(c)
    }

    pub fn sign_out(&self) {
        self.signed_in
            .store(false, std::sync::atomic::Ordering::Relaxed);
        if let Some(c) = self.session().take() {
            tracing::info!(clerk = %c.number, "signed out");
        }
    }

    /// The signed-in clerk, or `not_signed_in`. A clerk idle longer than `[terminal]
    /// idle_sign_out_secs` is signed out here, whatever the page does; reading this
    /// does not count as activity ([`Terminal::clerk_action`] does).
    pub fn signed_in(&self) -> Result<Clerk, AppError> {
        let mut session = self.session();
        let Some(c) = session.clone() else {
            return Err(AppError::new(
                ErrorCode::NotSignedIn,
                "no clerk is signed in",
            ));
        };
        let limit = self.cfg.idle_sign_out;
        if self.working.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            // Work in flight is activity.
            *self.activity() = self.clock.now();
        } else if !limit.is_zero() {
            let idle = self.clock.now() - *self.activity();
            if idle.to_std().is_ok_and(|idle| idle >= limit) {
                *session = None;
                self.signed_in
                    .store(false, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(clerk = %c.number, idle_secs = limit.as_secs(), "signed out: idle");
                return Err(AppError::new(
                    ErrorCode::NotSignedIn,
                    format!(
                        "clerk {} was signed out after {} s without activity",
                        c.number,
                        limit.as_secs()
                    ),
                ));
            }
        }
        Ok(c)
    }

    /// A manager's approval of `action`, given on the clerk's screen or to the CLI:
    /// their number and PIN, checked (with the same lockout as signing in) without
    /// changing who is signed in; who may approve what is [`crate::approval::may_approve`].
    pub fn approve(
        &self,
        number: &str,
        pin: &Pin,
        action: ManagerAction,
    ) -> Result<Approval, AppError> {
        let m = self
            .clerks()?
            .sign_in(number.trim(), pin, self.clock.now())?;
        let a = Approval::grant(&m, action)?;
        tracing::info!(manager = %m.number, action = action.as_str(), "manager approved");
        Ok(a)
    }

    /// Classifies a keyboard-wedge scan (the page's text), as the serial reader does
    /// its frames, and takes it as [`Terminal::scanned`] does.
    pub fn scan(&self, text: &str) -> ScanResult {
        self.scanned(giftpos_scanner::classify(text, &self.cfg.token_formats))
    }

    /// A classified scan for the page: a card is kept for a while under a handle the
    /// UI passes back instead of the number.
    pub fn scanned(&self, scan: giftpos_scanner::Scan) -> ScanResult {
        let view = scan.view();
        let handle = match scan {
            giftpos_scanner::Scan::Card(token) => {
                let handle = format!("scan:{}", Uuid::new_v4().simple());
                let mut scans = self.scans.lock().unwrap_or_else(|p| p.into_inner());
                if scans.len() >= SCANS_KEPT {
                    scans.pop_front();
                }
                scans.push_back((handle.clone(), token));
                Some(handle)
            }
            _ => None,
        };
        ScanResult { view, handle }
    }

    /// A card from the UI: a scan handle, or a number the clerk typed.
    pub fn card_input(&self, input: &str) -> Result<CardToken, AppError> {
        if input.starts_with("scan:") {
            let scans = self.scans.lock().unwrap_or_else(|p| p.into_inner());
            return scans
                .iter()
                .find(|(h, _)| h == input)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| {
                    AppError::new(
                        ErrorCode::InvalidCard,
                        "that scan has expired; scan the card again",
                    )
                });
        }
        self.parse_token(input)
    }
}

tokio::task_local! {
    /// The clerk a till's call acts for, for the length of that call.
    pub(super) static ACTING: Option<String>;
}

/// Work in flight, while held (see [`Terminal::working`]).
#[derive(Debug)]
pub(crate) struct Working(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Working {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
