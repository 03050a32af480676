//! The Wallets API's endpoints (cards, batches, transactions, capture, void), each one
//! call through the shared request path in `mod.rs`. Checkout's are in `checkout.rs`.

use giftpos_core::{CardToken, Pin};
use reqwest::Method;

use super::{DinteroClient, segment};
use crate::error::{Call, DinteroError};
use crate::wire::{
    ActivateRequest, BatchRequest, BatchResponse, CaptureRequest, Card, CardList,
    CreateCardRequest, InfoRequest, Transaction, TransactionList, TransactionRequest, VoidRequest,
};

impl DinteroClient {
    /// `POST /cards/batch`: printed stock, inactive, tokens and PINs shown once.
    pub async fn create_batch(&self, req: &BatchRequest) -> Result<BatchResponse, DinteroError> {
        self.post("cards.batch", Call::Admin, "/cards/batch", req)
            .await
    }

    /// `POST /cards`: one card, active with an amount.
    pub async fn create_card(&self, req: &CreateCardRequest) -> Result<Card, DinteroError> {
        self.post("cards.create", Call::Admin, "/cards", req).await
    }

    /// `POST /cards/{card_id}/activate`.
    pub async fn activate(
        &self,
        card_id: &str,
        req: &ActivateRequest,
    ) -> Result<Card, DinteroError> {
        let path = format!("/cards/{}/activate", segment(card_id));
        self.post("cards.activate", Call::Activate, &path, req)
            .await
    }

    /// `POST /info`: a card by its printed token, with amounts when the PIN is given.
    pub async fn info(&self, token: &CardToken, pin: Option<&Pin>) -> Result<Card, DinteroError> {
        let req = InfoRequest {
            token: token.expose().to_string(),
            pin: pin.map(|p| p.expose().to_string()),
        };
        let ctx = Call::Lookup {
            by_token: true,
            pin: req.pin.is_some(),
        };
        self.post("info", ctx, "/info", &req).await
    }

    /// `GET /cards/{card_id}`.
    pub async fn card(&self, card_id: &str) -> Result<Card, DinteroError> {
        let path = format!("/cards/{}", segment(card_id));
        self.call("cards.get", Call::BY_ID, Method::GET, &path, None)
            .await
    }

    /// `GET /cards?limit=&starting_after=`.
    pub async fn list_cards(
        &self,
        limit: u32,
        starting_after: Option<&str>,
    ) -> Result<CardList, DinteroError> {
        let mut path = format!("/cards?limit={limit}");
        if let Some(s) = starting_after {
            path.push_str("&starting_after=");
            path.push_str(&segment(s));
        }
        self.call("cards.list", Call::Admin, Method::GET, &path, None)
            .await
    }

    /// `POST /transactions`: a drawdown (optionally pending) or a fund.
    pub async fn transaction(&self, req: &TransactionRequest) -> Result<Transaction, DinteroError> {
        let ctx = Call::Transaction {
            pin: req.pin.is_some(),
        };
        self.post("transactions.create", ctx, "/transactions", req)
            .await
    }

    /// `POST /transactions/{id}/capture`.
    pub async fn capture(
        &self,
        transaction_id: &str,
        req: &CaptureRequest,
    ) -> Result<Transaction, DinteroError> {
        let path = format!("/transactions/{}/capture", segment(transaction_id));
        self.post("transactions.capture", Call::Settle, &path, req)
            .await
    }

    /// `POST /transactions/{id}/void`.
    pub async fn void(
        &self,
        transaction_id: &str,
        req: &VoidRequest,
    ) -> Result<Transaction, DinteroError> {
        let path = format!("/transactions/{}/void", segment(transaction_id));
        self.post("transactions.void", Call::Settle, &path, req)
            .await
    }

    /// `GET /cards/{card_id}/transactions`, every page (`starting_after`, as the card
    /// list pages), in either envelope (see [`TransactionList`]).
    pub async fn card_transactions(&self, card_id: &str) -> Result<Vec<Transaction>, DinteroError> {
        /// A card with more pages than this is read no further (and said so).
        const MAX_PAGES: usize = 200;
        let base = format!("/cards/{}/transactions", segment(card_id));
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let path = match &after {
                None => base.clone(),
                Some(a) => format!("{base}?starting_after={}", segment(a)),
            };
            let list: TransactionList = self
                .call("cards.transactions", Call::BY_ID, Method::GET, &path, None)
                .await?;
            let empty = list.transactions.is_empty();
            all.extend(list.transactions);
            match list.starting_after {
                Some(next) if !empty && after.as_deref() != Some(next.as_str()) => {
                    after = Some(next)
                }
                _ => return Ok(all),
            }
        }
        tracing::warn!(
            card_id,
            "card transactions: read {MAX_PAGES} pages, stopped"
        );
        Ok(all)
    }
}
