//! The application API in process against the sandbox over loopback HTTP — one test
//! binary, a module per area: sync under faults and readings, TLS and keep-warm, the
//! metrics with promtool, the journal at scale, Dintero's contract both ways.

use giftpos_testkit as common;

mod contract;
mod metrics;
mod scale;
mod sync;
mod till;
mod tls;
