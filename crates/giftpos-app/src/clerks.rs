//! Clerks and managers who sign in at the till. A PIN is kept only as an argon2id hash
//! (salted, PHC string); after [`MAX_FAILURES`] wrong PINs in a row a clerk is locked
//! for [`LOCKOUT`]. Unknown clerk numbers and wrong PINs get the same answer, and both
//! cost one hash, so the sign-in screen does not reveal which clerk numbers exist.
//!
//! The list lives in `clerks.db` beside the journal; IT manages it with
//! `giftpos clerk add|list|remove|set-pin`. A training terminal starts with two demo
//! clerks (see the README).

use std::path::Path;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use giftpos_core::Pin;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::error::{AppError, ErrorCode};

/// Wrong PINs in a row before a clerk is locked.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked clerk waits.
pub const LOCKOUT: chrono::Duration = chrono::Duration::minutes(5);

/// What a signed-in person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Clerk,
    Manager,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Manager => "manager",
        }
    }

    pub fn parse(s: &str) -> Result<Role, AppError> {
        match s {
            "clerk" => Ok(Role::Clerk),
            "manager" => Ok(Role::Manager),
            other => Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("role {other:?}: expected clerk or manager"),
            )),
        }
    }
}

/// A clerk as the UI and the journal see them (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clerk {
    pub number: String,
    pub name: String,
    pub role: Role,
}

/// The clerk list of one terminal.
#[derive(Debug)]
pub struct Clerks {
    db: Mutex<Connection>,
    /// Verified against when the clerk number is unknown, so that costs one hash too.
    decoy: std::sync::OnceLock<String>,
}

fn db_err(e: rusqlite::Error) -> AppError {
    AppError::new(
        ErrorCode::Internal,
        format!("the clerk list cannot be read: {e}"),
    )
}

/// A clerk number: 1–8 digits (what a till's keypad types).
fn check_number(number: &str) -> Result<(), AppError> {
    if (1..=8).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::InvalidInput,
            "a clerk number is 1 to 8 digits",
        ))
    }
}

/// A clerk PIN: 4–8 digits.
fn check_pin(pin: &Pin) -> Result<(), AppError> {
    let p = pin.expose();
    if (4..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::InvalidInput,
            "a clerk PIN is 4 to 8 digits",
        ))
    }
}

fn hash(pin: &Pin) -> Result<String, AppError> {
    let mut bytes = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut bytes);
    let salt = SaltString::encode_b64(&bytes)
        .map_err(|e| AppError::internal(format!("cannot make a salt: {e}")))?;
    Argon2::default()
        .hash_password(pin.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("cannot hash the PIN: {e}")))
}

fn verify(pin: &Pin, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(pin.expose().as_bytes(), &h)
            .is_ok()
    })
}

/// Forward-only migrations of `clerks.db`, applied in order; `PRAGMA user_version`
/// records the last. Never edited once landed. (A database made before versioning has
/// version 0 and the same table: the first migration is written to accept it.)
const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS clerks (
        number       TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        role         TEXT NOT NULL CHECK (role IN ('clerk', 'manager')),
        pin_hash     TEXT NOT NULL,
        failures     INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT
     );"];

fn migrate(db: &Connection, path: &Path) -> Result<(), AppError> {
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db_err)?;
    if version > MIGRATIONS.len() as i64 {
        return Err(AppError::new(
            ErrorCode::Internal,
            format!(
                "{} is from a newer giftpos (schema {version}, this one knows {}): update giftpos; the file is left as it is",
                path.display(),
                MIGRATIONS.len()
            ),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = db.unchecked_transaction().map_err(db_err)?;
        tx.execute_batch(sql).map_err(db_err)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok(())
}

impl Clerks {
    /// Opens (creating) the clerk list at `path`.
    pub fn open(path: &Path) -> Result<Clerks, AppError> {
        if let Some(dir) = path.parent() {
            giftpos_journal::durable::create_dir_all(dir, 0o700).map_err(|e| {
                AppError::new(
                    ErrorCode::Internal,
                    format!("cannot create {}: {e}", dir.display()),
                )
            })?;
        }
        let db = Connection::open(path).map_err(db_err)?;
        db.execute_batch("PRAGMA journal_mode=WAL;")
            .map_err(db_err)?;
        migrate(&db, path)?;
        Ok(Clerks {
            db: Mutex::new(db),
            decoy: std::sync::OnceLock::new(),
        })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a clerk, or replaces the name, role and PIN of an existing one.
    pub fn upsert(
        &self,
        number: &str,
        name: &str,
        role: Role,
        pin: &Pin,
    ) -> Result<Clerk, AppError> {
        check_number(number)?;
        check_pin(pin)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "a clerk's name is 1 to 60 printable characters",
            ));
        }
        let h = hash(pin)?;
        self.db()
            .execute(
                "INSERT INTO clerks (number, name, role, pin_hash) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(number) DO UPDATE SET name = ?2, role = ?3, pin_hash = ?4,
                   failures = 0, locked_until = NULL",
                params![number, name, role.as_str(), h],
            )
            .map_err(db_err)?;
        Ok(Clerk {
            number: number.into(),
            name: name.into(),
            role,
        })
    }

    /// Removes a clerk. Refuses an unknown number.
    pub fn remove(&self, number: &str) -> Result<(), AppError> {
        let n = self
            .db()
            .execute("DELETE FROM clerks WHERE number = ?1", [number])
            .map_err(db_err)?;
        if n == 0 {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("no clerk number {number}"),
            ));
        }
        Ok(())
    }

    pub fn list(&self) -> Result<Vec<Clerk>, AppError> {
        let db = self.db();
        let mut st = db
            .prepare("SELECT number, name, role FROM clerks ORDER BY CAST(number AS INTEGER)")
            .map_err(db_err)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(db_err)?;
        rows.map(|r| {
            let (number, name, role) = r.map_err(db_err)?;
            Ok(Clerk {
                number,
                name,
                role: Role::parse(&role)?,
            })
        })
        .collect()
    }

    /// Checks a clerk number and PIN. A wrong PIN counts towards the lockout; a right one
    /// resets it. A locked clerk is refused without checking the PIN.
    pub fn sign_in(&self, number: &str, pin: &Pin, now: DateTime<Utc>) -> Result<Clerk, AppError> {
        let refused = || {
            AppError::new(
                ErrorCode::SignInFailed,
                "the clerk number or the PIN is wrong",
            )
        };
        let row = self
            .db()
            .query_row(
                "SELECT name, role, pin_hash, failures, locked_until FROM clerks WHERE number = ?1",
                [number],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(db_err)?;
        let Some((name, role, phc, failures, locked_until)) = row else {
            let decoy = self.decoy.get_or_init(|| {
                Pin::parse("00000000")
                    .ok()
                    .and_then(|p| hash(&p).ok())
                    .unwrap_or_default()
            });
            let _ = verify(pin, decoy);
            return Err(refused());
        };
        let until = locked_until
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc));
        if let Some(until) = until
            && until > now
        {
            let mut e = AppError::new(
                ErrorCode::ClerkLocked,
                format!("clerk {number} is locked after {MAX_FAILURES} wrong PINs"),
            );
            e.retry_after_secs = Some((until - now).num_seconds().max(1) as u64);
            return Err(e);
        }
        if verify(pin, &phc) {
            self.db()
                .execute(
                    "UPDATE clerks SET failures = 0, locked_until = NULL WHERE number = ?1",
                    [number],
                )
                .map_err(db_err)?;
            return Ok(Clerk {
                number: number.into(),
                name,
                role: Role::parse(&role)?,
            });
        }
        // A lock that ran out starts a fresh count.
        let failures = if until.is_some() { 1 } else { failures + 1 };
        let lock = (failures >= MAX_FAILURES).then(|| (now + LOCKOUT).to_rfc3339());
        self.db()
            .execute(
                "UPDATE clerks SET failures = ?2, locked_until = ?3 WHERE number = ?1",
                params![number, failures, lock],
            )
            .map_err(db_err)?;
        tracing::warn!(clerk = number, failures, "clerk sign-in refused");
        if lock.is_some() {
            let mut e = AppError::new(
                ErrorCode::ClerkLocked,
                format!("clerk {number} is locked after {MAX_FAILURES} wrong PINs"),
            );
            e.retry_after_secs = Some(LOCKOUT.num_seconds() as u64);
            return Err(e);
        }
        Err(refused())
    }

    /// Adds the training terminal's demo clerks when the list is empty.
    pub fn seed_training(&self) -> Result<(), AppError> {
        if !self.list()?.is_empty() {
            return Ok(());
        }
        let pin = |p: &str| Pin::parse(p).map_err(|e| AppError::internal(e.to_string()));
        self.upsert("1", "Demo clerk", Role::Clerk, &pin("1111")?)?;
        self.upsert("9", "Demo manager", Role::Manager, &pin("9999")?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clerk_list_is_versioned_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clerks.db");
        drop(Clerks::open(&path).unwrap());
        let db = Connection::open(&path).unwrap();
        let v: i64 = db
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        db.pragma_update(None, "user_version", 99).unwrap();
        drop(db);
        let e = Clerks::open(&path).unwrap_err();
        assert!(e.message.contains("newer giftpos"), "{e}");
    }

    fn pin(s: &str) -> Pin {
        Pin::parse(s).unwrap()
    }

    #[test]
    fn a_pin_is_stored_only_as_an_argon2_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clerks.db");
        let c = Clerks::open(&path).unwrap();
        c.upsert("7", "Kari", Role::Clerk, &pin("482913")).unwrap();
        drop(c);
        let db = Connection::open(&path).unwrap();
        let h: String = db
            .query_row("SELECT pin_hash FROM clerks", [], |r| r.get(0))
            .unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("482913"));
        let raw = std::fs::read(&path).unwrap();
        assert!(!raw.windows(6).any(|w| w == b"482913"));
    }

    #[test]
    fn the_right_pin_signs_in_and_a_wrong_or_unknown_one_gets_the_same_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let c = Clerks::open(&dir.path().join("clerks.db")).unwrap();
        c.upsert("7", "Kari", Role::Manager, &pin("4829")).unwrap();
        let now = Utc::now();
        let k = c.sign_in("7", &pin("4829"), now).unwrap();
        assert_eq!((k.name.as_str(), k.role), ("Kari", Role::Manager));
        let wrong = c.sign_in("7", &pin("0000"), now).unwrap_err();
        let unknown = c.sign_in("8", &pin("4829"), now).unwrap_err();
        assert_eq!(wrong, unknown);
        assert_eq!(wrong.code, ErrorCode::SignInFailed);
    }

    #[test]
    fn five_wrong_pins_lock_the_clerk_for_five_minutes_even_for_the_right_pin() {
        let dir = tempfile::tempdir().unwrap();
        let c = Clerks::open(&dir.path().join("clerks.db")).unwrap();
        c.upsert("7", "Kari", Role::Clerk, &pin("4829")).unwrap();
        let t0 = Utc::now();
        for i in 1..MAX_FAILURES {
            let e = c.sign_in("7", &pin("1111"), t0).unwrap_err();
            assert_eq!(e.code, ErrorCode::SignInFailed, "attempt {i}");
        }
        let e = c.sign_in("7", &pin("1111"), t0).unwrap_err();
        assert_eq!(e.code, ErrorCode::ClerkLocked);
        assert_eq!(e.retry_after_secs, Some(300));
        let e = c
            .sign_in("7", &pin("4829"), t0 + chrono::Duration::minutes(4))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ClerkLocked);
        assert_eq!(e.retry_after_secs, Some(60));
        // After the lock, the right PIN works and the count starts afresh.
        c.sign_in("7", &pin("4829"), t0 + chrono::Duration::minutes(6))
            .unwrap();
        let e = c
            .sign_in("7", &pin("1111"), t0 + chrono::Duration::minutes(6))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::SignInFailed);
    }

    #[test]
    fn bad_numbers_pins_and_names_are_refused_before_anything_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let c = Clerks::open(&dir.path().join("clerks.db")).unwrap();
        assert!(c.upsert("7a", "Kari", Role::Clerk, &pin("4829")).is_err());
        assert!(c.upsert("7", "Kari", Role::Clerk, &pin("12")).is_err());
        assert!(c.upsert("7", "Kari", Role::Clerk, &pin("12ab")).is_err());
        assert!(c.upsert("7", " ", Role::Clerk, &pin("4829")).is_err());
        assert!(c.list().unwrap().is_empty());
        assert!(c.remove("7").is_err());
        assert!(Role::parse("owner").is_err());
    }
}
