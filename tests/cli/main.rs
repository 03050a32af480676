//! The real `giftpos` binary as clerks, managers and IT run it — one test binary, a
//! module per area (the sandbox as a process or in the test, real ptys, CUPS, journald,
//! a second local user, an update server on loopback).

use giftpos_testkit as common;

mod batch;
mod binary;
mod checkout;
mod journald;
mod payments;
mod receipts;
mod scanner;
mod security;
mod thermal;
mod update;
