//! accessbot: checks production access requests on Phabricator and says what is missing.
//!
//! The pipeline is the layout: `conduit` (the only HTTP) → `timeline` (transactions into
//! facts) → `request` + `keys` + `approvals` → `policy` with `calendar` (pure) → `report`
//! (texts) → `poller` (the loop and its effects) → `store` (SQLite). `sim` is the Conduit
//! simulator; `cli` wires the commands.

pub mod approvals;
pub mod calendar;
pub mod cli;
pub mod conduit;
pub mod demo;
pub mod evidence;
pub mod grant;
pub mod ids;
pub mod keys;
pub mod logging;
pub mod policy;
pub mod poller;
pub mod remarkup_out;
pub mod report;
pub mod request;
pub mod rules;
pub mod sim;
pub mod store;
pub mod timeline;
