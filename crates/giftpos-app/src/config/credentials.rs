//! Which Dintero the terminal talks to: no credentials anywhere is training mode; all of
//! them (API base, account, client id, a secret from the environment or a 0600 file) is
//! live; anything between is an error naming what is missing. A separate Checkout client
//! is both-or-neither, and live only.

use giftpos_core::Secret;
use giftpos_dintero::wire::AccountId;

use super::check::{check_api_base, read_secret_file};
use super::keys::{Layers, Val};
use super::{CheckoutClient, ConfigError, Mode, Source, invalid};

pub(super) fn resolve(l: &Layers) -> Result<(Mode, Option<CheckoutClient>), ConfigError> {
    let api_base_v = l.str("dintero.api_base");
    let account_id_v = l.str("dintero.account_id");
    let client_id_v = l.str("dintero.client_id");
    let client_secret_v = l.str("dintero.client_secret").map(|v| Val {
        v: Secret::new(v.v),
        src: v.src,
    });
    let client_secret_file_v = l.path("dintero.client_secret_file");
    let secret_given = client_secret_v.is_some() || client_secret_file_v.is_some();
    let any =
        api_base_v.is_some() || account_id_v.is_some() || client_id_v.is_some() || secret_given;
    let mode = if !any {
        Mode::Training
    } else {
        let mut missing = Vec::new();
        if api_base_v.is_none() {
            missing.push("api_base (GIFTPOS_API_BASE)");
        }
        if account_id_v.is_none() {
            missing.push("account_id (GIFTPOS_ACCOUNT_ID)");
        }
        if client_id_v.is_none() {
            missing.push("client_id (GIFTPOS_CLIENT_ID)");
        }
        if !secret_given {
            missing.push("client secret (GIFTPOS_CLIENT_SECRET or client_secret_file)");
        }
        if !missing.is_empty() {
            return Err(ConfigError::IncompleteCredentials {
                missing: missing.join(", "),
            });
        }
        let base = api_base_v.unwrap_or_else(|| unreachable!());
        let api_base =
            check_api_base(&base.v).map_err(|e| invalid(&base.src, "dintero.api_base", e))?;
        let aid = account_id_v.unwrap_or_else(|| unreachable!());
        let account_id = AccountId::parse(aid.v.trim())
            .map_err(|e| invalid(&aid.src, "dintero.account_id", e))?;
        let cid = client_id_v.unwrap_or_else(|| unreachable!());
        if cid.v.trim().is_empty() {
            return Err(invalid(
                &cid.src,
                "dintero.client_id",
                "a non-empty client id",
            ));
        }
        let (client_secret, secret_source) = match (client_secret_v, client_secret_file_v) {
            (Some(s), _) => (s.v, s.src),
            (None, Some(f)) => (read_secret_file(&f.v)?, Source::File(f.v)),
            (None, None) => unreachable!(),
        };
        Mode::Live {
            api_base,
            account_id,
            client_id: cid.v.trim().to_string(),
            client_secret,
            secret_source,
        }
    };
    let checkout_client = match (
        l.str("dintero.checkout_client_id"),
        l.str("dintero.checkout_client_secret").map(|v| Val {
            v: Secret::new(v.v),
            src: v.src,
        }),
        l.path("dintero.checkout_client_secret_file"),
    ) {
        (None, None, None) => None,
        (Some(id), secret, file) if secret.is_some() || file.is_some() => {
            if matches!(mode, Mode::Training) {
                return Err(invalid(
                    &id.src,
                    "dintero.checkout_client_id",
                    "no separate Checkout client in training mode (set the main credentials too)",
                ));
            }
            if id.v.trim().is_empty() {
                return Err(invalid(
                    &id.src,
                    "dintero.checkout_client_id",
                    "a non-empty client id",
                ));
            }
            let (client_secret, secret_source) = match (secret, file) {
                (Some(s), _) => (s.v, s.src),
                (None, Some(f)) => (read_secret_file(&f.v)?, Source::File(f.v)),
                (None, None) => unreachable!(),
            };
            Some(CheckoutClient {
                client_id: id.v.trim().to_string(),
                client_secret,
                secret_source,
            })
        }
        (id, secret, file) => {
            let src = id
                .map(|v| v.src)
                .or(secret.map(|v| v.src))
                .or(file.map(|v| v.src))
                .unwrap_or(Source::Default);
            return Err(invalid(
                &src,
                "dintero.checkout_client_id",
                "both checkout_client_id and its secret (GIFTPOS_CHECKOUT_CLIENT_SECRET or checkout_client_secret_file), or neither",
            ));
        }
    };
    Ok((mode, checkout_client))
}
