//! The Conduit client: the only code that speaks HTTP to Phabricator / Phorge.
//!
//! - [`Client`]: typed Conduit calls (`POST /api/<method>`, `params` JSON with the token inside
//!   `__conduit__`), paging, retries with backoff and jitter for reads, call counting, and the
//!   task web page;
//! - [`Token`]: the API token as a secret, and [`redact`];
//! - [`ConduitError`]: one line per failure, never holding the token;
//! - [`Client::task_timeline`] and the page readers ([`read_task_page`],
//!   [`read_older_part`]): the web/email/Conduit channel of each transaction, read from the
//!   task page and its "Show Older Changes" parts; login pages and cleared sessions;
//! - the wire types, as recorded from a real server, live in [`crate::wire`], which speaks no
//!   HTTP, so that the readers of the timeline never import the client;
//! - `read`: tasks read one by one out of their pages ([`Client::read_tasks_page`],
//!   [`Client::read_tasks`]), so that one unreadable task never hides the others.

mod client;
mod error;
mod page;
mod read;
mod token;

pub use client::{
    decode_answer, Client, ClientOptions, MAX_BODY_BYTES, MAX_OLDER_PAGES, TASK_PAGE,
    TASK_PAGE_OLDER,
};
pub use error::ConduitError;
pub use page::{
    channel_map, channels_from_task_page, markers_from_task_page, read_older_part, read_task_page,
    Channel, Marker, NotAPage, OlderLink, PageKind, PagePart, PageTimeline, TaskPage,
};
pub use read::{TasksPage, TasksRead, UnreadableTask};
pub use token::{
    permission_warning, redact, session_cookie_from_file, Token, TokenError, REDACTED, TOKEN_ENV,
};
