//! Printed card batches for head office: cards made through Dintero's batch endpoint in
//! chunks, and for each chunk its CSV rows (for the card manufacturer) and a PDF of
//! print-ready sheets, written as it arrives so memory stays flat however large the
//! batch. Tokens and PINs exist only in these files: created 0600, never overwritten,
//! never journaled or logged.

use std::io::Write;
use std::path::{Path, PathBuf};

use giftpos_core::TokenFormat;
use giftpos_dintero::wire::{BatchCard, BatchOptions as WireOptions, BatchRequest, FormatOption};
use giftpos_print::PrintedCard;
use serde::Serialize;

use crate::error::{AppError, ErrorCode};
use crate::terminal::Terminal;

/// What to make.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    pub count: usize,
    pub token_format: TokenFormat,
    pub pin_format: TokenFormat,
    /// Card ids are `{id_prefix}-{n:06}`.
    pub id_prefix: String,
    /// Cards per API call and per sheets file.
    pub chunk: usize,
}

impl BatchOptions {
    /// From what head office typed: formats as `digits:N`, `alnum:N` or `dincard`
    /// (optionally `PREFIX+…`); without a prefix, card ids start `batch-` and the time.
    pub fn from_input(
        count: usize,
        token_format: &str,
        pin_format: &str,
        id_prefix: Option<String>,
    ) -> Result<BatchOptions, AppError> {
        Ok(BatchOptions {
            count,
            token_format: parse_format(token_format.trim())?,
            pin_format: parse_format(pin_format.trim())?,
            id_prefix: id_prefix
                .unwrap_or_else(|| format!("batch-{}", chrono::Utc::now().format("%Y%m%d%H%M%S"))),
            chunk: 500,
        })
    }
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct BatchSummary {
    pub training: bool,
    pub cards: usize,
    pub csv: String,
    pub sheets: Vec<String>,
}

/// Parses a format: `digits:N`, `alnum:N`, `dincard` (Dintero's `DINCARD:` + UUID), each
/// optionally after `PREFIX+` (e.g. `GC+digits:12`).
pub fn parse_format(spec: &str) -> Result<TokenFormat, AppError> {
    let bad = || {
        AppError::new(
            ErrorCode::InvalidInput,
            format!("format '{spec}': expected digits:N, alnum:N or dincard, optionally PREFIX+…"),
        )
    };
    if spec == "dincard" {
        return Ok(TokenFormat::dincard_uuid());
    }
    let (prefix, rest) = spec.rsplit_once('+').unwrap_or(("", spec));
    let (kind, n) = rest.split_once(':').ok_or_else(bad)?;
    let length: usize = n.parse().map_err(|_| bad())?;
    if length == 0 || length > 64 {
        return Err(bad());
    }
    Ok(TokenFormat {
        prefix: prefix.to_string(),
        length,
        numbers: true,
        characters: match kind {
            "digits" => false,
            "alnum" => true,
            _ => return Err(bad()),
        },
        symbols: false,
        barcode: false,
    })
}

/// Creates `path` for writing, owner-only, refusing to overwrite.
fn create_private(path: &Path) -> Result<std::fs::File, AppError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::AlreadyExists {
            "exists already and is never overwritten".to_string()
        } else {
            e.to_string()
        };
        AppError::new(
            ErrorCode::InvalidInput,
            format!("{}: {why}", path.display()),
        )
    })
}

fn io(path: &Path, e: std::io::Error) -> AppError {
    AppError::new(ErrorCode::Internal, format!("{}: {e}", path.display()))
}

impl Terminal {
    /// Makes a batch of printed cards (inactive, no balance) and writes `cards.csv` and
    /// `sheets-NNNN.pdf` into `out`.
    pub async fn create_card_batch(
        &self,
        o: &BatchOptions,
        out: &Path,
    ) -> Result<BatchSummary, AppError> {
        if o.count == 0 || o.count > 1_000_000 {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "--count must be 1 to 1,000,000",
            ));
        }
        std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
        let csv_path = out.join("cards.csv");
        let mut csv = std::io::BufWriter::new(create_private(&csv_path)?);
        writeln!(csv, "card_id,token,pin").map_err(|e| io(&csv_path, e))?;
        let chunk = o.chunk.clamp(1, 1000);
        let mut sheets: Vec<PathBuf> = Vec::new();
        let mut made = 0;
        while made < o.count {
            let n = chunk.min(o.count - made);
            let req = BatchRequest {
                cards: (made..made + n)
                    .map(|i| BatchCard {
                        card_id: format!("{}-{:06}", o.id_prefix, i + 1),
                        card_type: "gift_card".into(),
                    })
                    .collect(),
                options: WireOptions {
                    pin: Some(FormatOption {
                        format: o.pin_format.clone(),
                    }),
                    card_token: Some(FormatOption {
                        format: o.token_format.clone(),
                    }),
                },
            };
            let answer = self.client().create_batch(&req).await?;
            let cards: Vec<PrintedCard> = answer
                .cards
                .into_iter()
                .map(|c| {
                    let token = c.card_token.and_then(|t| t.token).map(|t| t.value);
                    let pin = c.pin.and_then(|p| p.pin).map(|p| p.value);
                    match (token, pin) {
                        (Some(token), Some(pin)) => Ok(PrintedCard {
                            card_id: c.card_id,
                            token,
                            pin,
                        }),
                        _ => Err(AppError::new(
                            ErrorCode::Rejected,
                            format!("Dintero did not show card {}'s token and PIN", c.card_id),
                        )),
                    }
                })
                .collect::<Result<_, _>>()?;
            for c in &cards {
                writeln!(csv, "{},{},{}", c.card_id, c.token, c.pin)
                    .map_err(|e| io(&csv_path, e))?;
            }
            let path = out.join(format!("sheets-{:04}.pdf", sheets.len() + 1));
            let pdf = giftpos_print::render_card_sheets(
                &cards,
                &format!("giftpos cards {}", o.id_prefix),
            );
            let mut f = create_private(&path)?;
            f.write_all(&pdf)
                .and_then(|_| f.sync_all())
                .map_err(|e| io(&path, e))?;
            sheets.push(path);
            made += n;
        }
        csv.flush().map_err(|e| io(&csv_path, e))?;
        tracing::info!(cards = made, files = sheets.len() + 1, "card batch written");
        Ok(BatchSummary {
            training: self.is_training(),
            cards: made,
            csv: csv_path.display().to_string(),
            sheets: sheets.iter().map(|p| p.display().to_string()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        let f = parse_format("digits:16").unwrap();
        assert_eq!((f.prefix.as_str(), f.length, f.characters), ("", 16, false));
        let f = parse_format("GC+alnum:10").unwrap();
        assert_eq!(
            (f.prefix.as_str(), f.length, f.characters),
            ("GC", 10, true)
        );
        assert_eq!(
            parse_format("dincard").unwrap(),
            TokenFormat::dincard_uuid()
        );
        for bad in [
            "",
            "digits",
            "digits:0",
            "digits:x",
            "emoji:4",
            "digits:999",
        ] {
            assert!(parse_format(bad).is_err(), "{bad}");
        }
    }
}
