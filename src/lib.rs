//! accessbot: checks production access requests on Phabricator and says what is missing.
//!
//! The pipeline is the layout (see ARCHITECTURE.md): `conduit` (the only HTTP) → `wire` (the
//! answers' shapes and `Channel`, no HTTP) → `timeline` (transactions into facts) → `remarkup` (the
//! one reader of what people wrote) → `request` + `keys` + `statement` (what each comment says:
//! yes, no, unclear, none) + `approvals` (per person, per role) → `policy` with `calendar` (pure) →
//! `report` (texts) → `poller` (the loop and its effects) → `store` (SQLite); `lifecycle` follows a
//! request after it is ready (granted, expiry reminders, removal tasks). `sim` is the Conduit
//! simulator (the crate `accessbot-sim` in `crates/sim`); `cli` wires the commands (with `config`,
//! the configuration file, and `rules_live`, the rules' names looked up on the server); `service`
//! is what an operator sees of a running bot: metrics, health, systemd notifications. `view` is the
//! stored task as plain data (what the report reads); `clock` is the injected clock.

pub mod approvals;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod conduit;
pub mod config;
pub mod demo;
pub mod evidence;
pub mod grant;
pub mod ids;
pub mod keys;
pub mod lifecycle;
pub mod logging;
pub mod plan;
pub mod policy;
pub mod poller;
pub mod remarkup;
pub mod remarkup_out;
pub mod report;
pub mod request;
pub mod rules;
pub mod rules_live;
pub mod secret;
pub mod service;
pub mod statement;
pub mod status_json;
pub mod store;
pub mod timeline;
pub mod view;
pub mod wire;

/// The Conduit simulator, its own crate (`crates/sim`, imports nothing of the bot); re-exported
/// so that the demo, the `sim` command, tests and benches reach it as `accessbot::sim`.
pub use accessbot_sim as sim;
