//! History, the needs-attention resolution, receipts and the end-of-day report.

use std::time::Duration;

use chrono::{DateTime, Utc};
use giftpos_core::{Money, OperationKind};
use giftpos_journal::{Entry, EntryState};
use serde::Serialize;

use super::Terminal;
use crate::error::{AppError, ErrorCode};

/// One line of the History screen.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryItem {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub kind: OperationKind,
    pub card: String,
    pub amount: Money,
    pub state: EntryState,
    /// True while it waits to sync (recorded or sent).
    pub pending: bool,
    pub reason: Option<String>,
    pub clerk: Option<String>,
    pub approved_by: Option<String>,
    /// Dintero's transaction id.
    pub transaction_id: Option<String>,
    /// The payment that sold the card (activation only).
    pub dintero_transaction_id: Option<String>,
    pub balance_after: Option<Money>,
    /// The entry this one settles or undoes.
    pub parent_id: Option<String>,
    pub attempts: i64,
    /// A manager may undo it now (the core decides; the UI only shows the button).
    pub can_undo: bool,
    /// A manager may return it (a sale paid through Dintero Checkout).
    pub can_return: bool,
}

/// Where a printed receipt went.
#[derive(Debug, Clone, Serialize)]
pub struct Printed {
    /// The PDF, always saved.
    pub saved_to: String,
    /// The CUPS job, or the thermal printer, when a printer is configured and took it.
    pub print_job: Option<String>,
    /// Why the printer did not take it (the receipt stays saved for a reprint).
    pub printer_error: Option<String>,
}

impl Terminal {
    /// The journal's entries in order, or only the last `last` of them (IT's
    /// `giftpos journal list` and `export`).
    pub fn journal_entries(&self, last: Option<usize>) -> Result<Vec<Entry>, AppError> {
        Ok(match last {
            Some(n) => self.journal().last(u32::try_from(n).unwrap_or(u32::MAX))?,
            None => self.journal().list(None, None)?,
        })
    }

    /// Writes the whole journal to `out` as a JSON array (`format` "json") or CSV for
    /// accounting (no token, no PIN), entry by entry: constant memory however long the
    /// journal. Returns how many entries.
    pub fn export_journal(
        &self,
        out: &mut dyn std::io::Write,
        format: &str,
    ) -> Result<u64, AppError> {
        let io = |e: std::io::Error| AppError::internal(format!("cannot write the export: {e}"));
        let json = format == "json";
        if json {
            out.write_all(b"[").map_err(io)?;
        } else {
            out.write_all(CSV_HEADER.as_bytes()).map_err(io)?;
        }
        let mut first = true;
        let n = self.journal().each(|e| {
            if json {
                if !first {
                    out.write_all(b",").map_err(io)?;
                }
                out.write_all(b"\n  ").map_err(io)?;
                serde_json::to_writer(&mut *out, &e)
                    .map_err(|e| AppError::internal(e.to_string()))?;
            } else {
                out.write_all(csv_row(&e).as_bytes()).map_err(io)?;
            }
            first = false;
            Ok::<(), AppError>(())
        })?;
        if json {
            out.write_all(if first {
                b"]\n".as_slice()
            } else {
                b"\n]\n".as_slice()
            })
            .map_err(io)?;
        }
        out.flush().map_err(io)?;
        Ok(n)
    }

    /// One journal entry as it is recorded.
    pub fn journal_entry(&self, entry_id: &str) -> Result<Entry, AppError> {
        self.entry(entry_id)
    }

    /// Checks the journal's hash chain (an edited, removed or reordered entry is found).
    pub fn verify_journal(&self) -> Result<giftpos_journal::VerifyReport, AppError> {
        Ok(self.journal().verify()?)
    }

    /// [`Terminal::verify_journal`], and the chain compared with its anchors: those in
    /// journald (when it can be read) and those in `files` (`seq:hash` lines copied from
    /// Z-reports). What could not be read is named among the problems.
    pub fn verify_journal_anchored(
        &self,
        files: &[std::path::PathBuf],
    ) -> Result<giftpos_journal::VerifyReport, AppError> {
        let mut report = self.journal().verify()?;
        let mut anchors = Vec::new();
        match crate::anchor::from_journald(self.journal().path()) {
            Ok(a) => {
                report
                    .anchor_sources
                    .push(format!("journald: {} anchors", a.len()));
                anchors.extend(a);
            }
            Err(e) => report
                .anchor_sources
                .push(format!("journald: not read ({e})")),
        }
        for f in files {
            match crate::anchor::from_file(f) {
                Ok((a, bad)) => {
                    report
                        .anchor_sources
                        .push(format!("{}: {} anchors", f.display(), a.len()));
                    anchors.extend(a);
                    report.problems.extend(bad);
                }
                Err(e) => report.problems.push(format!("anchors not read: {e}")),
            }
        }
        if anchors.is_empty() && report.entries > 0 {
            report.problems.push(format!(
                "no anchor was found for this journal of {} entries ({}): it cannot be compared with anything outside its file",
                report.entries,
                report.anchor_sources.join("; ")
            ));
        }
        let found = self.journal().check_anchors(&anchors)?;
        report.anchors_checked = found.checked;
        report.problems.extend(found.problems);
        report.ok = report.problems.is_empty();
        Ok(report)
    }

    /// Archives the final entries made before local midnight of `before` (IT's
    /// `giftpos journal archive`), into `archive/` beside the journal.
    pub fn archive_journal(
        &self,
        before: chrono::NaiveDate,
    ) -> Result<Option<giftpos_journal::ArchiveReport>, AppError> {
        let at = before
            .and_hms_opt(0, 0, 0)
            .and_then(|d| d.and_local_timezone(chrono::Local).earliest())
            .map(|d| d.with_timezone(&Utc))
            .ok_or_else(|| AppError::new(ErrorCode::InvalidInput, "not a valid date"))?;
        let dir = self.cfg.journal_path().with_file_name("archive");
        Ok(self.journal().archive(at, &dir)?)
    }

    /// A journal entry, or an error naming the id.
    pub(super) fn entry(&self, entry_id: &str) -> Result<Entry, AppError> {
        self.journal().get(entry_id)?.ok_or_else(|| {
            AppError::new(
                ErrorCode::InvalidInput,
                format!("no journal entry {entry_id}"),
            )
        })
    }

    pub(super) fn history_item(&self, e: Entry, all: &[Entry]) -> HistoryItem {
        let after = super::undo::Afterwards::of(&e.id, all);
        let paid = e.metadata.dintero_transaction_id.is_some();
        HistoryItem {
            approved_by: e.metadata.approved_by.clone(),
            dintero_transaction_id: e.metadata.dintero_transaction_id.clone(),
            parent_id: e.parent_id.clone().or_else(|| e.metadata.undoes.clone()),
            balance_after: e.balance_after,
            pending: e.state.is_open(),
            id: e.id,
            created_at: e.created_at,
            kind: e.kind,
            card: e.card,
            amount: e.amount,
            state: e.state,
            reason: e.reason,
            clerk: e.clerk,
            can_undo: super::undo::undo_kind(e.kind, e.state, after).is_some(),
            can_return: super::undo::can_return(e.kind, e.state, paid, after),
            transaction_id: e.server_transaction_id,
            attempts: e.attempts,
        }
    }

    /// The History screen: entries made since `since` (default: local midnight), and
    /// every entry from before that still waits to sync or needs attention. Entries
    /// needing attention come first, then the newest.
    pub fn history(&self, since: Option<DateTime<Utc>>) -> Result<Vec<HistoryItem>, AppError> {
        let since = since.unwrap_or_else(|| {
            let today = self.clock.now().with_timezone(&chrono::Local).date_naive();
            today
                .and_hms_opt(0, 0, 0)
                .and_then(|d| d.and_local_timezone(chrono::Local).earliest())
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_else(|| self.clock.now() - chrono::Duration::hours(24))
        });
        let mut entries = self.journal().list(Some(since), None)?;
        for e in self.journal().open_entries()? {
            if e.created_at < since {
                entries.push(e);
            }
        }
        entries.sort_by(|a, b| {
            let attention = |e: &Entry| e.state != EntryState::NeedsAttention;
            attention(a).cmp(&attention(b)).then(b.seq.cmp(&a.seq))
        });
        // What settles or undoes an entry comes after it: read from the oldest one shown,
        // not the whole journal (History opens many times a day on a years-old journal).
        let oldest = entries.iter().map(|e| e.created_at).min();
        let all = match oldest {
            Some(t) => self.journal().list(Some(t), None)?,
            None => Vec::new(),
        };
        Ok(entries
            .into_iter()
            .map(|e| self.history_item(e, &all))
            .collect())
    }

    /// One History entry, by id (a scanned receipt opens it).
    pub fn history_entry(&self, entry_id: &str) -> Result<HistoryItem, AppError> {
        let e = self.entry(entry_id)?;
        let all = self.journal().list(Some(e.created_at), None)?;
        Ok(self.history_item(e, &all))
    }

    /// A manager settles an entry that needs attention: it is recorded as not applied,
    /// with who decided and why, and the card's later entries may sync again.
    pub fn resolve(
        &self,
        entry_id: &str,
        approval: &crate::approval::Approval,
        note: &str,
    ) -> Result<Entry, AppError> {
        let manager = approval.check(crate::approval::ManagerAction::Resolve)?;
        if note.trim().is_empty() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "resolving needs a note: what happened instead",
            ));
        }
        self.journal()
            .resolve_attention(
                entry_id,
                &format!("{note} (by {manager})"),
                self.clock.now(),
            )
            .map_err(|e| match e {
                giftpos_journal::JournalError::WrongState(_) => AppError::new(
                    ErrorCode::InvalidInput,
                    format!("entry {entry_id} does not need attention"),
                ),
                other => other.into(),
            })?;
        self.engine.wake();
        self.entry(entry_id)
    }

    /// An entry's receipt as an 80 mm PDF.
    pub fn receipt_pdf(&self, entry_id: &str) -> Result<Vec<u8>, AppError> {
        Ok(giftpos_print::render_receipt(&self.receipt(entry_id)?))
    }

    /// A day's Z-report as an A4 PDF, each sale's payment checked at Dintero, with
    /// the number of entries it covers.
    pub async fn day_report_pdf(
        &self,
        date: chrono::NaiveDate,
    ) -> Result<(Vec<u8>, usize), AppError> {
        let mut report = self.day_report(date)?;
        self.check_report_payments(&mut report).await;
        let pdf = giftpos_print::render_day_report(&report);
        Ok((pdf, report.entries.len()))
    }

    /// A day's payments, one CSV line each, with what Dintero holds of each.
    pub async fn payments_csv(&self, date: chrono::NaiveDate) -> Result<String, AppError> {
        let mut report = self.day_report(date)?;
        self.check_report_payments(&mut report).await;
        Ok(giftpos_print::payments_csv(&report))
    }

    /// A day's tenders (cash, card terminal, Dintero, overrides) as CSV.
    pub fn tenders_csv(&self, date: chrono::NaiveDate) -> Result<String, AppError> {
        Ok(giftpos_print::tenders_csv(&self.day_report(date)?))
    }

    /// A journal entry's receipt.
    pub fn receipt(&self, entry_id: &str) -> Result<giftpos_print::Receipt, AppError> {
        let e = self.entry(entry_id)?;
        Ok(giftpos_print::Receipt {
            store: self.cfg.store_name.clone(),
            terminal_id: e.terminal_id.clone(),
            clerk: e.clerk.clone(),
            time: e.created_at.with_timezone(&chrono::Local).fixed_offset(),
            kind: e.kind,
            card: e.card.clone(),
            amount: e.amount,
            balance_after: e.balance_after,
            transaction_id: e.server_transaction_id.clone(),
            dintero_transaction_id: e.metadata.dintero_transaction_id.clone(),
            payment_override: payment_override(&e),
            tender: e
                .metadata
                .tender
                .clone()
                .map(|t| (t, e.metadata.tender_reference.clone())),
            // A purchase the card paid nothing of (the payer took it out) is a plain
            // payment.
            split: e
                .gift_card_part
                .filter(|part| part.minor() > 0)
                .map(|part| giftpos_print::Split {
                    gift_card: part,
                    rest: e
                        .amount
                        .checked_sub(part)
                        .unwrap_or(Money::zero(e.amount.currency())),
                    rest_paid_with: e.paid_with.clone(),
                }),
            entry_id: e.id.clone(),
            confirmed: e.state == EntryState::Confirmed,
            training: self.is_training(),
            locale: self.cfg.locale,
        })
    }

    /// Reads what each sale's payment in the report holds at Dintero (best effort: a
    /// payment that cannot be read is left out), so the report can flag a payment whose
    /// cards exceed it.
    async fn check_report_payments(&self, report: &mut giftpos_print::DayReport) {
        for (id, _) in giftpos_print::payments(&report.entries) {
            match self.client.payment(&id).await {
                Ok(tx) => report
                    .payment_holds
                    .push((id, crate::payments::usable(&tx))),
                Err(e) => tracing::info!("payment {id} not read for the report: {e}"),
            }
        }
    }

    /// The end-of-day (Z) report of one day in the terminal's local time zone (the
    /// machine's, which a till keeps set to its store's).
    pub fn day_report(
        &self,
        date: chrono::NaiveDate,
    ) -> Result<giftpos_print::DayReport, AppError> {
        // A day is never longer than 26 hours anywhere: read from two days before.
        let since = date
            .pred_opt()
            .and_then(|d| d.pred_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc());
        let local = |t: DateTime<Utc>| t.with_timezone(&chrono::Local).fixed_offset();
        let entries = self
            .journal()
            .list(since, None)?
            .into_iter()
            .filter(|e| local(e.created_at).date_naive() == date)
            .map(|e| giftpos_print::ReportEntry {
                time: local(e.created_at),
                kind: e.kind,
                card: e.card.clone(),
                amount: e.amount,
                state: e.state.as_str().to_string(),
                approved_by: e.metadata.approved_by.clone(),
                reason: e.reason.clone(),
                payment: e.metadata.dintero_transaction_id.clone(),
                payment_override: payment_override(&e),
                tender: tender_of(&e),
                clerk: e.clerk.clone(),
                gift_card_part: e.gift_card_part,
                entry_id: e.id,
            })
            .collect();
        Ok(giftpos_print::DayReport {
            store: self.cfg.store_name.clone(),
            terminal_id: self.cfg.terminal_id.clone(),
            date,
            entries,
            training: self.is_training(),
            locale: self.cfg.locale,
            payment_holds: Vec::new(),
            journal_head: self.anchor_head("z_report")?,
        })
    }

    /// Sends the journal's head to journald now (why: `start`, `z_report`, `entries`)
    /// and returns it as written (`seq:hash`).
    pub(crate) fn anchor_head(&self, why: &str) -> Result<Option<String>, AppError> {
        let Some((seq, hash)) = self.journal().head_anchor()? else {
            return Ok(None);
        };
        crate::anchor::emit(
            self.journal().path(),
            &self.cfg.terminal_id,
            seq,
            &hash,
            why,
        );
        Ok(Some(giftpos_journal::Anchor::text(seq, &hash)))
    }

    /// Saves an entry's receipt under the receipts folder and, when a printer is
    /// configured, prints it. A printer error is reported, never fatal: the receipt stays
    /// saved and can be printed again.
    pub fn print_receipt(&self, entry_id: &str) -> Result<Printed, AppError> {
        let pdf = giftpos_print::render_receipt(&self.receipt(entry_id)?);
        let dir = &self.cfg.receipts_dir;
        giftpos_journal::durable::create_dir_all(dir, 0o700).map_err(|e| {
            AppError::new(
                ErrorCode::Internal,
                format!("cannot create {}: {e}", dir.display()),
            )
        })?;
        let path = dir.join(format!("receipt-{entry_id}.pdf"));
        // Saved means saved: on the disk, under its name, before the clerk is told.
        giftpos_journal::durable::replace(&path, &pdf, 0o600).map_err(|e| {
            AppError::new(
                ErrorCode::Internal,
                format!("cannot save {}: {e}", path.display()),
            )
        })?;
        let (job, error) = match (&self.cfg.thermal, &self.cfg.printer) {
            // A thermal printer: the same receipt in ESC/POS; the PDF stays saved for a
            // reprint when the printer is out of paper or unreachable.
            (Some(th), _) => {
                let sent = giftpos_print::receipt_escpos(&self.receipt(entry_id)?, th.paper)
                    .and_then(|bytes| {
                        giftpos_print::send_escpos(&bytes, &th.target, Duration::from_secs(3))
                    });
                match sent {
                    Ok(()) => (Some(th.target.to_string()), None),
                    Err(e) => {
                        tracing::warn!("receipt not printed: {e}");
                        (None, Some(e.to_string()))
                    }
                }
            }
            (None, Some(p)) => match giftpos_print::print(&path, Some(p)) {
                Ok(job) => (Some(job), None),
                Err(e) => {
                    tracing::warn!("receipt not printed: {e}");
                    (None, Some(e.to_string()))
                }
            },
            (None, None) => (None, None),
        };
        Ok(Printed {
            saved_to: path.display().to_string(),
            print_job: job,
            printer_error: error,
        })
    }
}

/// Who let a sale through unverified, and why (local metadata).
/// How a sale or top-up was paid, for the Z-report: a manager's override, a tender of
/// the till's, or Dintero (a reference, or our own Checkout session); `none` for a
/// top-up recorded before top-ups needed a payment.
fn tender_of(e: &Entry) -> Option<String> {
    if !matches!(e.kind, OperationKind::Activate | OperationKind::TopUp) {
        return None;
    }
    Some(if e.metadata.override_by.is_some() {
        "override".into()
    } else if let Some(t) = &e.metadata.tender {
        t.clone()
    } else if e.metadata.dintero_transaction_id.is_some() || e.parent_id.is_some() {
        "dintero".into()
    } else {
        "none".into()
    })
}

fn payment_override(e: &Entry) -> Option<(String, String)> {
    Some((
        e.metadata.override_by.clone()?,
        e.metadata.override_reason.clone().unwrap_or_default(),
    ))
}

const CSV_HEADER: &str = "seq,id,created_at,terminal_id,kind,card,card_id,amount_minor,currency,clerk,state,reason,ref_id,server_transaction_id,dintero_transaction_id,parent_id\n";

/// One CSV row for accounting: no token, no PIN.
fn csv_row(e: &Entry) -> String {
    let field = giftpos_print::csv_field;
    let cols = [
        e.seq.to_string(),
        e.id.clone(),
        e.created_at.to_rfc3339(),
        e.terminal_id.clone(),
        e.kind.as_str().to_string(),
        e.card.clone(),
        e.card_id.clone().unwrap_or_default(),
        e.amount.minor().to_string(),
        e.amount.currency().code().to_string(),
        e.clerk.clone().unwrap_or_default(),
        e.state.as_str().to_string(),
        e.reason.clone().unwrap_or_default(),
        e.ref_id.clone().unwrap_or_default(),
        e.server_transaction_id.clone().unwrap_or_default(),
        e.metadata
            .dintero_transaction_id
            .clone()
            .unwrap_or_default(),
        e.parent_id.clone().unwrap_or_default(),
    ];
    let row: Vec<String> = cols.iter().map(|c| field(c)).collect();
    format!("{}\n", row.join(","))
}
