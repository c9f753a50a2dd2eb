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

pub mod bot;
pub mod cli;
pub mod conduit;
pub mod config;
pub mod data_yaml;
pub mod demo;
pub mod evidence;
pub mod logging;
pub mod plan;
pub mod poller;
pub mod rules_live;
pub mod service;
pub mod status_json;
pub mod store;

/// The pure core, its own crate (`crates/core`: no tokio, reqwest or sqlx); its modules are
/// re-exported here so that the service reaches them as `crate::policy` and tests as
/// `accessbot::policy`.
pub use accessbot_core::{
    approvals, calendar, clock, grant, ids, keys, lifecycle, policy, remarkup, remarkup_out,
    removal, report, request, rules, secret, statement, table, timeline, view, wire,
};

/// The Conduit simulator, its own crate (`crates/sim`, imports nothing of the bot); re-exported
/// so that the demo, the `sim` command, tests and benches reach it as `accessbot::sim`.
pub use accessbot_sim as sim;
