//! Parsing an access request from a task's title and description (pure, no I/O).
//!
//! Untrusted input: any size and encoding must neither panic nor hang the parser.

use crate::ids::{ShellUser, Username};
use crate::rules::Labels;
use chrono::NaiveDate;
use serde::Serialize;
use std::ops::Range;

/// Where the request's SSH key is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KeyRef {
    /// Key text found in the description (already unwrapped: one line).
    Inline {
        /// The key text, e.g. `ssh-ed25519 AAAA… comment`; may be a private key block.
        text: String,
    },
    /// A paste `P123` the poller must read with `paste.search`.
    Paste {
        /// Paste id.
        id: u64,
    },
    /// A pointer to a wiki user page or a Gerrit change: to be verified by clinic duty.
    Pointer {
        /// The URL or reference as written.
        target: String,
    },
}

/// One problem with a request, fit to post, with the byte range of the description it refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The field concerned (`shell_user`, `ssh_key`, `groups`, …) or `request`.
    pub field: String,
    /// What is wrong, in words fit to post (never quoting key material).
    pub message: String,
    /// Byte range in the description.
    #[serde(skip)]
    pub span: Range<usize>,
}

/// A parsed request. Absent fields are `None`; the problems say why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Request {
    /// Full name.
    pub full_name: Option<String>,
    /// Wikitech username.
    pub wikitech_user: Option<String>,
    /// Shell username.
    pub shell_user: Option<ShellUser>,
    /// Email address.
    pub email: Option<String>,
    /// Requested groups, lowercase, in the order written, without duplicates.
    pub groups: Vec<String>,
    /// Reason for access.
    pub reason: Option<String>,
    /// The named manager or sponsor.
    pub manager: Option<Username>,
    /// Expiry date for time-limited users.
    pub expiry_date: Option<NaiveDate>,
    /// Expiry contact.
    pub expiry_contact: Option<Username>,
    /// Where the key is.
    pub key: Option<KeyRef>,
}

/// The parser's answer: the request and its problems.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// The request.
    pub request: Request,
    /// Problems found.
    pub problems: Vec<Problem>,
}

/// Parses a request from the task title and description.
///
/// PLACEHOLDER until the parser branch lands: finds nothing.
pub fn parse(_title: &str, _description: &str, _labels: &Labels) -> Parsed {
    Parsed::default()
}
