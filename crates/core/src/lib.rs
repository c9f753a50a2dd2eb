//! accessbot's pure core: what a request says and what the policy decides of it, as data in
//! and data out. No network, no database, no clock of its own (time is passed in; `clock` is the
//! injected clock the service hands around): this crate depends on neither tokio, reqwest nor
//! sqlx, so the compiler keeps it pure. The service (the `accessbot` crate) reads Conduit and
//! SQLite and calls in here.
//!
//! The pipeline, in the order a task flows through it: `wire` (the shapes of Conduit's answers,
//! as recorded, and `Channel`) → `timeline` (transactions into facts) → `remarkup` (the one
//! reader of what people wrote) → `request` + `keys` (+ `secret`) + `statement` (what each
//! comment says: yes, no, unclear, none) + `approvals` (per person, per role) → `policy` with
//! `calendar` (the checklist; `removal` reads what a removal task asks) → `report` (the texts,
//! with `remarkup_out`); `lifecycle` and
//! `grant` follow a request after it is ready; `view` is a stored task as plain data; `rules` is
//! the policy as data; `ids` the typed identifiers.

pub mod approvals;
pub mod calendar;
pub mod clock;
pub mod grant;
pub mod ids;
pub mod keys;
pub mod lifecycle;
pub mod policy;
pub mod remarkup;
pub mod remarkup_out;
pub mod removal;
pub mod report;
pub mod request;
pub mod rules;
pub mod secret;
pub mod statement;
pub mod table;
pub mod timeline;
pub mod view;
pub mod wire;
