//! Who is at the till: clerks signing in and out, a manager's approval, and scans.

use super::*;

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

    /// Adds a clerk or manager, or changes their name, role and PIN (IT, through
    /// `giftpos clerk add`).
    pub fn add_clerk(
        &self,
        number: &str,
        name: &str,
        role: Role,
        pin: &Pin,
    ) -> Result<Clerk, AppError> {
        self.clerks()?.upsert(number, name, role, pin)
    }

    /// Every clerk and manager, by number.
    pub fn list_clerks(&self) -> Result<Vec<Clerk>, AppError> {
        self.clerks()?.list()
    }

    /// Removes a clerk; their number stays on the entries they recorded.
    pub fn remove_clerk(&self, number: &str) -> Result<(), AppError> {
        self.clerks()?.remove(number)
    }

    pub(super) fn session(&self) -> std::sync::MutexGuard<'_, Option<Clerk>> {
        self.clerk.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The clerk number recorded on new entries.
    pub(super) fn clerk_number(&self) -> Option<String> {
        self.session().as_ref().map(|c| c.number.clone())
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
        Ok(clerk)
    }

    pub fn sign_out(&self) {
        if let Some(c) = self.session().take() {
            tracing::info!(clerk = %c.number, "signed out");
        }
    }

    /// The signed-in clerk, or `not_signed_in`.
    pub fn signed_in(&self) -> Result<Clerk, AppError> {
        self.session()
            .clone()
            .ok_or_else(|| AppError::new(ErrorCode::NotSignedIn, "no clerk is signed in"))
    }

    /// A manager's approval given on the clerk's screen: their number and PIN, checked
    /// (with the same lockout as signing in) without changing who is signed in.
    pub fn approve(&self, number: &str, pin: &Pin) -> Result<Clerk, AppError> {
        let m = self.clerks()?.sign_in(number, pin, self.clock.now())?;
        if m.role != Role::Manager {
            return Err(AppError::new(
                ErrorCode::ManagerRequired,
                format!("clerk {number} is not a manager"),
            ));
        }
        Ok(m)
    }

    /// Classifies a scan (serial or keyboard-wedge). A card is kept for a while under
    /// a handle the UI passes back instead of the number.
    pub fn scan(&self, text: &str) -> ScanResult {
        let scan = giftpos_scanner::classify(text, &self.cfg.token_formats);
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
