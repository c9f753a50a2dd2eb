//! `Client`: typed Conduit calls over HTTP, exactly as the recordings of a real Phorge show.
//!
//! Transport: `POST {base}/api/<method>`, form body `params=<json>&output=json&__conduit__=1`,
//! the token inside the JSON as `"__conduit__":{"token":"…"}` (a separate `api.token` field is
//! ignored by the server when `params` is present). Every answer is HTTP 200 with
//! `{result, error_code, error_info}`; a non-null `error_code` is a failure.
//!
//! Reads are retried on transient failures (network, timeout, HTTP 5xx/429, malformed answer)
//! with exponential backoff and full jitter. `maniphest.edit` is never retried: a retry after a
//! lost answer could post a second comment, so the caller re-reads the timeline instead.

use super::error::ConduitError;
use super::page::{
    read_older_part, read_task_page, Marker, NotAPage, OlderLink, PageKind, PageTimeline, TaskPage,
};
use super::token::{redact, Token};
use crate::ids::{Phid, TaskId};
use crate::wire::{
    Document, EditResult, Paste, PhidInfo, Project, ProjectColumn, SearchPage, Signature, Task,
    Transaction, User, WhoAmI,
};
use futures::{Stream, TryStreamExt};
use rand::Rng;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The call-count key of task page fetches (`GET /T123`).
pub const TASK_PAGE: &str = "task-page";

/// The call-count key of "Show Older Changes" fetches (the rest of a task page's timeline).
pub const TASK_PAGE_OLDER: &str = "task-page.older";

pub use crate::wire::MAX_OLDER_PAGES;

/// At most this many ids or PHIDs go into one constraint list (API reference §10).
const CHUNK: usize = 100;

/// Answers larger than this are refused (a misconfigured URL serving a download, say, or a
/// task of absurd size); [`Client::set_max_body_bytes`] changes it.
pub const MAX_BODY_BYTES: usize = 32 << 20;

/// The most objects one page of a `*.search` asks for (the Conduit maximum).
pub(super) const PAGE_LIMIT: u64 = 100;

/// How the client talks to the server.
#[derive(Clone)]
pub struct ClientOptions {
    /// Timeout of one HTTP request, from sending to the end of the answer.
    pub timeout: Duration,
    /// How many times a read is tried again after a transient failure.
    pub retries: u32,
    /// The first backoff ceiling; it doubles with each retry.
    pub backoff_base: Duration,
    /// The largest backoff ceiling.
    pub backoff_max: Duration,
    /// The Phorge web session cookie (`phsid` value, or `phsid=…`) sent with task page
    /// fetches; `None` fetches them anonymously. It is a secret: `Debug` hides it.
    pub session_cookie: Option<String>,
    /// The most HTTP requests in flight at once (`[timing] concurrency`); 0 for no limit. A
    /// request waits for a slot before it is sent and frees it when its answer is read (not
    /// while backing off before a retry).
    pub max_in_flight: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            retries: 4,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(5),
            session_cookie: None,
            max_in_flight: 8,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field(
                "session_cookie",
                &self.session_cookie.as_ref().map(|_| "***"),
            )
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

/// A Conduit client. Cheap to clone (shared state behind an `Arc`) and usable from many tasks
/// at once.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// The base URL without a trailing `/`.
    base: String,
    /// The base URL without any user or password, for error texts.
    shown_base: String,
    token: Token,
    opts: ClientOptions,
    cookie: Option<reqwest::header::HeaderValue>,
    calls: Mutex<BTreeMap<String, u64>>,
    /// Attempts per (method, outcome): `ok` or [`ConduitError::kind`].
    outcomes: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Request slots (`max_in_flight`), when limited.
    slots: Option<tokio::sync::Semaphore>,
    /// Answers larger than this many bytes are not read whole.
    max_body: AtomicUsize,
}

/// An answer body read up to the size cap.
pub(super) enum Answer {
    /// The whole answer.
    Whole(Vec<u8>),
    /// The first [`Client::max_body_bytes`] bytes of a larger answer.
    Head(Vec<u8>),
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .field("token", &self.inner.token)
            .field("opts", &self.inner.opts)
            .finish()
    }
}

/// An HTTP answer: a 2xx body, or a 3xx and where it points.
/// What an HTTP request brought: an answer, or where a 3xx answer points.
enum Fetched {
    /// The answer and the server's time when it was sent (its `Date`, epoch seconds).
    Answer(Answer, Option<i64>),
    Redirect {
        status: u16,
        location: String,
    },
}

/// A web page answer: the page, or Phorge clearing an expired or invalid session cookie.
enum PageAnswer {
    Body(String),
    Cleared,
}

/// Whether a redirect is Phorge clearing an invalid session: `…?cleared=1`.
fn is_cleared_session(location: &str) -> bool {
    location
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|p| p == "cleared=1"))
}

/// Whether a failed attempt may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Reads: repeat transient failures up to `retries` times.
    Transient,
    /// Writes: one attempt only.
    Never,
}

impl Client {
    /// A client for the Phorge at `base_url` (e.g. `https://phabricator.example.org`).
    pub fn new(base_url: &str, token: Token, opts: ClientOptions) -> Result<Client, ConduitError> {
        let config = |detail: String| ConduitError::Config { detail };
        let trimmed = base_url.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(trimmed)
            .map_err(|e| config(format!("the Phabricator URL {trimmed:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(config(format!(
                "the Phabricator URL {trimmed:?} must be http:// or https:// with a host"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(config(format!(
                "the Phabricator URL {trimmed:?} must not have a query or fragment"
            )));
        }
        let cookie = match opts.session_cookie.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => {
                let full = if c.contains('=') {
                    c.to_string()
                } else {
                    format!("phsid={c}")
                };
                let mut v = reqwest::header::HeaderValue::from_str(&full).map_err(|_| {
                    config("the session cookie holds characters not allowed in a header".into())
                })?;
                v.set_sensitive(true);
                Some(v)
            }
        };
        let http = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("accessbot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| config(format!("cannot build the HTTP client: {e}")))?;
        let slots =
            (opts.max_in_flight > 0).then(|| tokio::sync::Semaphore::new(opts.max_in_flight));
        Ok(Client {
            inner: Arc::new(Inner {
                slots,
                http,
                base: trimmed.to_string(),
                shown_base: shown_base(&url),
                token,
                opts,
                cookie,
                calls: Mutex::new(BTreeMap::new()),
                outcomes: Mutex::new(BTreeMap::new()),
                max_body: AtomicUsize::new(MAX_BODY_BYTES),
            }),
        })
    }

    /// The size cap of one answer, in bytes ([`MAX_BODY_BYTES`] unless set).
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body.load(Ordering::Relaxed)
    }

    /// Sets the size cap of one answer (at least 1 KiB). An answer over it is not read
    /// further: a typed call fails with [`ConduitError::TooLarge`], and the task readers
    /// ([`Client::read_tasks_page`], [`Client::read_tasks`]) read what its head holds.
    pub fn set_max_body_bytes(&self, bytes: usize) {
        self.inner
            .max_body
            .store(bytes.max(1024), Ordering::Relaxed);
    }

    /// The API token, to redact error texts.
    pub(super) fn token(&self) -> &Token {
        &self.inner.token
    }

    /// The base URL (no trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The web address of a task (`{base}/T123`), for links in texts.
    pub fn task_url(&self, task: TaskId) -> String {
        format!("{}/{task}", self.inner.base)
    }

    /// How many HTTP requests were made per Conduit method (every attempt counts; task page
    /// fetches count under [`TASK_PAGE`]).
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.lock_calls().clone()
    }

    /// How many requests hold a slot now (of `max_in_flight`; 0 when unlimited): what a
    /// benchmark samples to see where the slots stand idle.
    pub fn in_flight(&self) -> usize {
        self.inner
            .slots
            .as_ref()
            .map_or(0, |s| self.inner.opts.max_in_flight - s.available_permits())
    }

    /// The total number of HTTP requests made.
    pub fn total_calls(&self) -> u64 {
        self.lock_calls().values().sum()
    }

    /// How many attempts per method ended how (`ok`, or [`ConduitError::kind`]): what
    /// `accessbot_conduit_calls_total{method,outcome}` reports.
    pub fn call_outcomes(&self) -> BTreeMap<(String, &'static str), u64> {
        self.inner
            .outcomes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn count_outcome(&self, key: &str, outcome: &'static str) {
        *self
            .inner
            .outcomes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((key.to_string(), outcome))
            .or_insert(0) += 1;
    }

    fn lock_calls(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        // A panic elsewhere while holding the lock leaves a usable map: counts are plain data.
        self.inner
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn count(&self, key: &str) {
        *self.lock_calls().entry(key.to_string()).or_insert(0) += 1;
    }

    // ---- generic calls -------------------------------------------------------------------

    /// Calls a read method and decodes its `result` as `T`; transient failures are retried.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, ConduitError> {
        self.conduit(method, params, Retry::Transient).await
    }

    /// Calls a method exactly once (for writes): no automatic retry.
    pub async fn call_once<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, ConduitError> {
        self.conduit(method, params, Retry::Never).await
    }

    /// One page of a `*.search` method: `params` with `after` set (or removed).
    pub async fn search_page<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        after: Option<&str>,
    ) -> Result<SearchPage<T>, ConduitError> {
        let mut map = params_object(method, params)?;
        match after {
            Some(a) => map.insert("after".into(), Value::String(a.to_string())),
            None => map.remove("after"),
        };
        self.call(method, Value::Object(map)).await
    }

    /// The pages of a `*.search` method as a stream, following `cursor.after` until it is
    /// null. A cursor that comes back a second time ends the stream with a `Malformed` error
    /// instead of looping forever.
    pub fn search_pages<'a, T: DeserializeOwned + 'a>(
        &'a self,
        method: &'a str,
        params: Value,
    ) -> impl Stream<Item = Result<SearchPage<T>, ConduitError>> + 'a {
        struct Paging {
            after: Option<String>,
            seen: HashSet<String>,
            done: bool,
        }
        let start = Paging {
            after: None,
            seen: HashSet::new(),
            done: false,
        };
        futures::stream::try_unfold(start, move |mut st| {
            let params = params.clone();
            async move {
                if st.done {
                    return Ok(None);
                }
                let page: SearchPage<T> = self
                    .search_page(method, params, st.after.as_deref())
                    .await?;
                match &page.cursor.after {
                    None => st.done = true,
                    Some(next) => {
                        if !st.seen.insert(next.clone()) {
                            return Err(ConduitError::Malformed {
                                method: method.to_string(),
                                detail: format!(
                                    "the paging cursor did not move (after = {:?})",
                                    redact(next, &self.inner.token)
                                ),
                            });
                        }
                        st.after = Some(next.clone());
                    }
                }
                Ok(Some((page, st)))
            }
        })
    }

    /// Every result of a `*.search` method: all of [`Client::search_pages`].
    pub async fn search_all<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<Vec<T>, ConduitError> {
        let pages: Vec<SearchPage<T>> = self.search_pages(method, params).try_collect().await?;
        Ok(pages.into_iter().flat_map(|p| p.data).collect())
    }

    /// `search_all` over `values` in chunks of 100, with `constraints.<key>` set to each chunk.
    async fn search_chunked<T: DeserializeOwned, V: serde::Serialize>(
        &self,
        method: &str,
        key: &str,
        values: &[V],
        mut params: Map<String, Value>,
    ) -> Result<Vec<T>, ConduitError> {
        let mut out = Vec::new();
        for chunk in values.chunks(CHUNK) {
            let mut constraints = match params.remove("constraints") {
                Some(Value::Object(c)) => c,
                _ => Map::new(),
            };
            constraints.insert(key.to_string(), json!(chunk));
            params.insert("constraints".into(), Value::Object(constraints));
            out.extend(
                self.search_all::<T>(method, Value::Object(params.clone()))
                    .await?,
            );
        }
        Ok(out)
    }

    // ---- typed methods -------------------------------------------------------------------

    /// `conduit.ping`: the server answers and Conduit works.
    pub async fn ping(&self) -> Result<(), ConduitError> {
        self.call::<Value>("conduit.ping", json!({}))
            .await
            .map(|_| ())
    }

    /// `conduit.query`: the names of the methods the server offers.
    pub async fn methods(&self) -> Result<BTreeSet<String>, ConduitError> {
        let map: BTreeMap<String, Value> = self
            .call::<PhpMap<Value>>("conduit.query", json!({}))
            .await?
            .0;
        Ok(map.into_keys().collect())
    }

    /// `user.whoami`: the bot's own account.
    pub async fn whoami(&self) -> Result<WhoAmI, ConduitError> {
        self.call("user.whoami", json!({})).await
    }

    /// `user.search` by usernames (a leading `@` is dropped), all pages.
    pub async fn users_by_usernames(&self, names: &[String]) -> Result<Vec<User>, ConduitError> {
        let names: Vec<&str> = names
            .iter()
            .map(|n| n.trim().trim_start_matches('@'))
            .filter(|n| !n.is_empty())
            .collect();
        self.search_chunked("user.search", "usernames", &names, Map::new())
            .await
    }

    /// `user.search` by PHIDs, all pages.
    pub async fn users_by_phids(&self, phids: &[Phid]) -> Result<Vec<User>, ConduitError> {
        self.search_chunked("user.search", "phids", phids, Map::new())
            .await
    }

    /// The project whose name or slug is `name` (case-insensitive, a leading `#` is dropped):
    /// `project.search` by name, then by slug if the name did not match exactly.
    pub async fn project_by_name(&self, name: &str) -> Result<Option<Project>, ConduitError> {
        let wanted = name.trim().trim_start_matches('#').trim();
        if wanted.is_empty() {
            return Ok(None);
        }
        let slug = slug_of(wanted);
        let matches = |p: &Project| {
            p.fields.name.trim().eq_ignore_ascii_case(wanted)
                || p.fields
                    .slug
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(wanted) || s == slug)
        };
        let by_name: Vec<Project> = self
            .search_all("project.search", json!({"constraints": {"name": wanted}}))
            .await?;
        if let Some(p) = by_name.into_iter().find(matches) {
            return Ok(Some(p));
        }
        let by_slug: Vec<Project> = self
            .search_all("project.search", json!({"constraints": {"slugs": [slug]}}))
            .await?;
        Ok(by_slug.into_iter().find(matches))
    }

    /// `project.search` by PHIDs with the `members` attachment, all pages.
    pub async fn projects_with_members(
        &self,
        phids: &[Phid],
    ) -> Result<Vec<Project>, ConduitError> {
        let mut params = Map::new();
        params.insert("attachments".into(), json!({"members": true}));
        self.search_chunked("project.search", "phids", phids, params)
            .await
    }

    /// `project.column.search`: the workboard columns of a project, all pages.
    pub async fn project_columns(
        &self,
        project: &Phid,
    ) -> Result<Vec<ProjectColumn>, ConduitError> {
        self.search_all(
            "project.column.search",
            json!({"constraints": {"projects": [project]}}),
        )
        .await
    }

    /// One page of the tasks tagged `project`, most recently modified first, with the
    /// `projects` and `columns` attachments; `modified_start` (epoch seconds, ignored unless
    /// positive) limits it to tasks modified since then.
    pub async fn tasks_page(
        &self,
        project: &Phid,
        modified_start: Option<i64>,
        after: Option<&str>,
    ) -> Result<SearchPage<Task>, ConduitError> {
        let mut constraints = Map::new();
        constraints.insert("projects".into(), json!([project]));
        if let Some(ms) = modified_start.filter(|ms| *ms > 0) {
            constraints.insert("modifiedStart".into(), json!(ms));
        }
        let params = json!({
            "constraints": constraints,
            "attachments": {"projects": true, "columns": true},
            "order": "updated",
            "limit": 100,
        });
        self.search_page("maniphest.search", params, after).await
    }

    /// The most recently created task tagged `project`, if any (one small call).
    pub async fn newest_task(&self, project: &Phid) -> Result<Option<Task>, ConduitError> {
        let params = json!({"constraints": {"projects": [project]}, "limit": 1});
        let page: SearchPage<Task> = self.search_page("maniphest.search", params, None).await?;
        Ok(page.data.into_iter().next())
    }

    /// `maniphest.search` by task ids with the `projects` and `columns` attachments, all
    /// pages. Tasks the bot may not see are missing.
    pub async fn tasks_by_ids(&self, ids: &[u64]) -> Result<Vec<Task>, ConduitError> {
        let mut params = Map::new();
        params.insert(
            "attachments".into(),
            json!({"projects": true, "columns": true}),
        );
        self.search_chunked("maniphest.search", "ids", ids, params)
            .await
    }

    /// One page of a task's timeline (`transaction.search`), newest transaction first.
    pub async fn transactions_page(
        &self,
        task: TaskId,
        after: Option<&str>,
    ) -> Result<SearchPage<Transaction>, ConduitError> {
        self.search_page(
            "transaction.search",
            json!({"objectIdentifier": task.to_string()}),
            after,
        )
        .await
    }

    /// A task's whole timeline, newest transaction first. A page over the size cap is read
    /// again in pages of 10, then of 1; a single transaction over the cap fails the read with
    /// [`ConduitError::TooLarge`] (the timeline cannot be read whole, so it is not read).
    pub async fn transactions(&self, task: TaskId) -> Result<Vec<Transaction>, ConduitError> {
        const METHOD: &str = "transaction.search";
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        let mut seen = HashSet::new();
        let mut limit = PAGE_LIMIT;
        loop {
            let mut params = json!({"objectIdentifier": task.to_string()});
            if limit != PAGE_LIMIT {
                params["limit"] = json!(limit);
            }
            let page: SearchPage<Transaction> =
                match self.search_page(METHOD, params, after.as_deref()).await {
                    Ok(page) => page,
                    Err(ConduitError::TooLarge { .. }) if limit > 1 => {
                        limit = if limit > 10 { 10 } else { 1 };
                        continue;
                    }
                    Err(e) => return Err(e),
                };
            out.extend(page.data);
            match page.cursor.after {
                None => return Ok(out),
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(ConduitError::Malformed {
                            method: METHOD.to_string(),
                            detail: format!(
                                "the paging cursor did not move (after = {:?})",
                                redact(&next, &self.inner.token)
                            ),
                        });
                    }
                    after = Some(next);
                    limit = PAGE_LIMIT;
                }
            }
        }
    }

    /// The transactions of paste `P<id>`, newest first: who created and changed it, and when
    /// (Phorge gives their types as `null`, recording 42).
    pub async fn paste_transactions(&self, id: u64) -> Result<Vec<Transaction>, ConduitError> {
        self.search_all(
            "transaction.search",
            json!({"objectIdentifier": format!("P{id}")}),
        )
        .await
    }

    /// `paste.search` by paste ids with the `content` attachment. Pastes the bot may not see
    /// are missing.
    pub async fn pastes(&self, ids: &[u64]) -> Result<Vec<Paste>, ConduitError> {
        let mut params = Map::new();
        params.insert("attachments".into(), json!({"content": true}));
        self.search_chunked("paste.search", "ids", ids, params)
            .await
    }

    /// `phid.lookup`: names such as `T1`, `P1`, `L3`, `@jdoe`, `#project` to their handles.
    /// Names the server cannot resolve are missing from the map.
    pub async fn phid_lookup(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, PhidInfo>, ConduitError> {
        let mut out = BTreeMap::new();
        for chunk in names.chunks(CHUNK) {
            let map: PhpMap<PhidInfo> = self.call("phid.lookup", json!({"names": chunk})).await?;
            out.extend(map.0);
        }
        Ok(out)
    }

    /// `legalpad.document.search` with the `signatures` attachment, for documents given as
    /// monograms (`L3`), ids (`3`) or PHIDs (`PHID-LEGD-…`).
    pub async fn documents<S: AsRef<str>>(
        &self,
        refs: &[S],
    ) -> Result<Vec<Document>, ConduitError> {
        const METHOD: &str = "legalpad.document.search";
        let mut ids = Vec::new();
        let mut phids = Vec::new();
        for r in refs {
            let r = r.as_ref().trim();
            if r.starts_with("PHID-") {
                phids.push(r.to_string());
                continue;
            }
            let digits = r.strip_prefix(['L', 'l']).unwrap_or(r);
            match digits.parse::<u64>() {
                Ok(id) if id > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => ids.push(id),
                _ => {
                    return Err(ConduitError::Config {
                        detail: format!(
                            "{r:?} is not a Legalpad document (expected L3, 3 or a PHID)"
                        ),
                    })
                }
            }
        }
        let mut params = Map::new();
        params.insert("attachments".into(), json!({"signatures": true}));
        let mut out: Vec<Document> = self
            .search_chunked(METHOD, "ids", &ids, params.clone())
            .await?;
        out.extend(
            self.search_chunked::<Document, _>(METHOD, "phids", &phids, params)
                .await?,
        );
        Ok(out)
    }

    /// `legalpad.signature.search` for one document, limited to `signers` unless it is
    /// empty. Signatures the bot may not see are missing (see the API reference §8).
    pub async fn signatures(
        &self,
        document: &Phid,
        signers: &[Phid],
    ) -> Result<Vec<Signature>, ConduitError> {
        const METHOD: &str = "legalpad.signature.search";
        let mut params = Map::new();
        params.insert("constraints".into(), json!({"documentPHIDs": [document]}));
        if signers.is_empty() {
            return self.search_all(METHOD, Value::Object(params)).await;
        }
        self.search_chunked(METHOD, "signerPHIDs", signers, params)
            .await
    }

    /// `maniphest.edit` with the given transactions (a JSON list of `{type, value}`), applied
    /// as one edit. Never retried: on a transient error the caller re-reads the timeline to
    /// learn whether the edit happened.
    pub async fn edit(
        &self,
        task: TaskId,
        transactions: Value,
    ) -> Result<EditResult, ConduitError> {
        if !transactions.is_array() {
            return Err(ConduitError::Config {
                detail: "maniphest.edit: transactions must be a JSON list".into(),
            });
        }
        self.call_once(
            "maniphest.edit",
            json!({"objectIdentifier": task.to_string(), "transactions": transactions}),
        )
        .await
    }

    /// Posts a comment on a task (not retried).
    pub async fn comment(&self, task: TaskId, text: &str) -> Result<EditResult, ConduitError> {
        self.edit(task, json!([{"type": "comment", "value": text}]))
            .await
    }

    /// Moves a task to a workboard column (not retried).
    pub async fn move_to_column(
        &self,
        task: TaskId,
        column: &Phid,
    ) -> Result<EditResult, ConduitError> {
        self.edit(task, json!([{"type": "column", "value": [column]}]))
            .await
    }

    /// Tags a task with a project (not retried).
    pub async fn add_project(
        &self,
        task: TaskId,
        project: &Phid,
    ) -> Result<EditResult, ConduitError> {
        self.edit(task, json!([{"type": "projects.add", "value": [project]}]))
            .await
    }

    /// The channel markers of a task's whole timeline, read from its web pages: the task page
    /// (`GET {base}/T123`, counted under [`TASK_PAGE`]) and then each "Show Older Changes"
    /// answer (`GET {link}&__ajax__=true`, counted under [`TASK_PAGE_OLDER`]) until no link
    /// is left, anonymously or with the session cookie; each fetch is retried like a read.
    ///
    /// Following stops early once every transaction in `wanted` has a marker (an empty
    /// `wanted` follows every link), and stops for good, with the reason in
    /// [`PageTimeline::incomplete`], after `max_older` answers, at a link that does not move
    /// back in time or that names another object, or at an older part that cannot be read:
    /// the events not reached stay "channel unknown". A login page or a cleared session is
    /// [`TaskPage::NotAPage`], not an error.
    pub async fn task_timeline(
        &self,
        task: TaskId,
        task_phid: &Phid,
        wanted: &[Phid],
        max_older: u32,
    ) -> Result<TaskPage, ConduitError> {
        let html = match self.get_page(TASK_PAGE, &self.task_url(task)).await? {
            PageAnswer::Body(html) => html,
            PageAnswer::Cleared => return Ok(TaskPage::NotAPage(NotAPage::SessionCleared)),
        };
        let first = match read_task_page(&html) {
            PageKind::Task(part) => part,
            PageKind::LoginRequired => return Ok(TaskPage::NotAPage(NotAPage::LoginPage)),
            PageKind::Unrecognised => return Ok(TaskPage::NotAPage(NotAPage::Unrecognised)),
        };
        drop(html);
        let mut timeline = PageTimeline {
            markers: first.markers,
            older_parts: 0,
            incomplete: None,
        };
        let found = |markers: &[Marker]| {
            let seen: HashSet<&Phid> = markers.iter().map(|m| &m.phid).collect();
            wanted.iter().all(|w| seen.contains(w))
        };
        let mut link = first.older;
        let mut last_after: Option<u64> = None;
        while let Some(l) = link.take() {
            if !wanted.is_empty() && found(&timeline.markers) {
                break;
            }
            let stop = if l.object != task_phid.as_str() {
                Some(format!(
                    "its \"Show Older Changes\" link names another object ({})",
                    l.object
                ))
            } else if last_after.is_some_and(|a| l.after >= a) {
                Some(format!(
                    "its \"Show Older Changes\" link did not move back in time (after={})",
                    l.after
                ))
            } else if timeline.older_parts >= max_older {
                Some(format!(
                    "more than {max_older} \"Show Older Changes\" parts (the limit)"
                ))
            } else {
                None
            };
            if stop.is_some() {
                timeline.incomplete = stop;
                break;
            }
            last_after = Some(l.after);
            timeline.older_parts += 1;
            let url = self.older_url(&l)?;
            let part = match self.get_page(TASK_PAGE_OLDER, &url).await {
                Ok(PageAnswer::Body(body)) => read_older_part(&body),
                Ok(PageAnswer::Cleared) => {
                    Err("the session was cleared while reading older changes".into())
                }
                Err(e) => Err(e.to_string()),
            };
            match part {
                Ok(p) => {
                    timeline.markers.extend(p.markers);
                    link = p.older;
                }
                Err(why) => {
                    timeline.incomplete = Some(why);
                    break;
                }
            }
        }
        Ok(TaskPage::Timeline(timeline))
    }

    /// The absolute AJAX address of a "Show Older Changes" link: the link is root-relative
    /// (Phorge is served from the root of its host), and never leaves the server's origin.
    fn older_url(&self, link: &OlderLink) -> Result<String, ConduitError> {
        let bad = |detail: String| ConduitError::Malformed {
            method: TASK_PAGE_OLDER.to_string(),
            detail,
        };
        let base = reqwest::Url::parse(&self.inner.base)
            .map_err(|e| bad(format!("the base URL does not parse: {e}")))?;
        let mut url = base.join(&link.path).map_err(|e| {
            bad(format!(
                "the \"Show Older Changes\" link does not parse: {e}"
            ))
        })?;
        if url.origin() != base.origin() || !url.path().starts_with("/transactions/showolder/") {
            return Err(bad(
                "the \"Show Older Changes\" link leads elsewhere".to_string()
            ));
        }
        url.query_pairs_mut().append_pair("__ajax__", "true");
        Ok(url.into())
    }

    /// `GET url` with the session cookie, retried like a read: the body, or the redirect of a
    /// cleared session.
    async fn get_page(&self, key: &str, url: &str) -> Result<PageAnswer, ConduitError> {
        self.with_retries(key, Retry::Transient, || {
            let mut req = self.inner.http.get(url);
            if let Some(c) = &self.inner.cookie {
                req = req.header(reqwest::header::COOKIE, c.clone());
            }
            async move {
                match self.fetch_answer(key, req).await? {
                    Fetched::Answer(Answer::Whole(body), _) => Ok(PageAnswer::Body(
                        String::from_utf8_lossy(&body).into_owned(),
                    )),
                    Fetched::Answer(Answer::Head(_), _) => Err(ConduitError::TooLarge {
                        method: key.to_string(),
                        limit: self.max_body_bytes(),
                    }),
                    Fetched::Redirect { location, .. } if is_cleared_session(&location) => {
                        Ok(PageAnswer::Cleared)
                    }
                    Fetched::Redirect { status, .. } => Err(ConduitError::Http {
                        method: key.to_string(),
                        status,
                    }),
                }
            }
        })
        .await
    }

    // ---- transport -----------------------------------------------------------------------

    async fn conduit<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        retry: Retry,
    ) -> Result<T, ConduitError> {
        let (url, body) = self.request(method, params)?;
        self.with_retries(method, retry, || {
            let req = self.post(&url, &body);
            async move {
                let bytes = self.fetch(method, req).await?;
                decode_answer(method, &bytes, &self.inner.token)
            }
        })
        .await
    }

    /// Calls a read method and returns its answer body, or the head of it when it is over the
    /// size cap, with the server's time when it answered (its `Date` header, epoch seconds;
    /// `None` when missing or unreadable); transient failures are retried.
    pub(super) async fn conduit_answer(
        &self,
        method: &str,
        params: Value,
    ) -> Result<(Answer, Option<i64>), ConduitError> {
        let (url, body) = self.request(method, params)?;
        self.with_retries(method, Retry::Transient, || {
            let req = self.post(&url, &body);
            async move {
                match self.fetch_answer(method, req).await? {
                    Fetched::Answer(a, date) => Ok((a, date)),
                    Fetched::Redirect { status, .. } => Err(ConduitError::Http {
                        method: method.to_string(),
                        status,
                    }),
                }
            }
        })
        .await
    }

    fn post(&self, url: &str, body: &str) -> reqwest::RequestBuilder {
        self.inner
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.to_string())
    }

    /// The URL and form body of a call (the body holds the token: it is never logged).
    fn request(&self, method: &str, params: Value) -> Result<(String, String), ConduitError> {
        if method.is_empty()
            || !method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        {
            return Err(ConduitError::Config {
                detail: format!("{method:?} is not a Conduit method name"),
            });
        }
        let mut map = params_object(method, params)?;
        map.insert(
            "__conduit__".into(),
            json!({"token": self.inner.token.expose()}),
        );
        let params_json = Value::Object(map).to_string();
        // The body holds the token: it is never logged.
        let body = serde_urlencoded::to_string([
            ("params", params_json.as_str()),
            ("output", "json"),
            ("__conduit__", "1"),
        ])
        .map_err(|e| ConduitError::Config {
            detail: format!("{method}: cannot encode the request: {e}"),
        })?;
        let url = format!("{}/api/{method}", self.inner.base);
        Ok((url, body))
    }

    /// Runs `attempt` once, and again after transient failures while `retry` allows, with
    /// full-jitter exponential backoff. Every attempt is counted under `key`.
    async fn with_retries<T, F, Fut>(
        &self,
        key: &str,
        retry: Retry,
        mut attempt: F,
    ) -> Result<T, ConduitError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ConduitError>>,
    {
        let max_attempts = match retry {
            Retry::Transient => self.inner.opts.retries.saturating_add(1),
            Retry::Never => 1,
        };
        let mut n = 0u32;
        loop {
            n += 1;
            self.count(key);
            let started = Instant::now();
            let result = attempt().await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            self.count_outcome(key, result.as_ref().map_or_else(|e| e.kind(), |_| "ok"));
            match result {
                Ok(v) => {
                    tracing::debug!(method = key, attempt = n, elapsed_ms, "conduit call ok");
                    return Ok(v);
                }
                Err(e) if e.is_transient() && n < max_attempts => {
                    let wait = self.backoff(n - 1);
                    tracing::warn!(
                        method = key,
                        attempt = n,
                        elapsed_ms,
                        retry_in_ms = wait.as_millis() as u64,
                        error = %e,
                        "conduit call failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    tracing::debug!(
                        method = key,
                        attempt = n,
                        elapsed_ms,
                        code = e.code().unwrap_or(""),
                        transient = e.is_transient(),
                        "conduit call failed"
                    );
                    return Err(e);
                }
            }
        }
    }

    /// A random wait in `[0, min(backoff_max, backoff_base * 2^retry)]` (full jitter).
    fn backoff(&self, retry: u32) -> Duration {
        let base = self.inner.opts.backoff_base.as_nanos();
        let max = self.inner.opts.backoff_max.as_nanos();
        let ceiling = base.saturating_mul(1u128 << retry.min(64)).min(max);
        let ceiling = u64::try_from(ceiling).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::thread_rng().gen_range(0..=ceiling))
    }

    /// Sends a request and returns the body of a 2xx answer; an answer over the size cap is
    /// [`ConduitError::TooLarge`], a redirect an HTTP error.
    async fn fetch(
        &self,
        key: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, ConduitError> {
        match self.fetch_answer(key, req).await? {
            Fetched::Answer(Answer::Whole(body), _) => Ok(body),
            Fetched::Answer(Answer::Head(_), _) => Err(ConduitError::TooLarge {
                method: key.to_string(),
                limit: self.max_body_bytes(),
            }),
            Fetched::Redirect { status, .. } => Err(ConduitError::Http {
                method: key.to_string(),
                status,
            }),
        }
    }

    /// Sends a request and returns the body of a 2xx answer (or its first
    /// [`Client::max_body_bytes`] bytes when it is larger: the rest is not read), or where a
    /// 3xx answer points.
    async fn fetch_answer(
        &self,
        key: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<Fetched, ConduitError> {
        let cap = self.max_body_bytes();
        // Held until the whole answer is read. The semaphore is never closed, so acquiring
        // cannot fail; if it somehow did, the request goes out without a slot.
        let _slot = match &self.inner.slots {
            Some(s) => s.acquire().await.ok(),
            None => None,
        };
        let mut resp = req.send().await.map_err(|e| self.transport_error(key, e))?;
        let status = resp.status();
        if status.is_redirection() {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_string();
            return Ok(Fetched::Redirect {
                status: status.as_u16(),
                location,
            });
        }
        if !status.is_success() {
            return Err(ConduitError::Http {
                method: key.to_string(),
                status: status.as_u16(),
            });
        }
        let date = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(http_date);
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.transport_error(key, e))?
        {
            if body.len() + chunk.len() > cap {
                body.extend_from_slice(&chunk[..cap - body.len()]);
                return Ok(Fetched::Answer(Answer::Head(body), date));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Answer(Answer::Whole(body), date))
    }

    fn transport_error(&self, key: &str, e: reqwest::Error) -> ConduitError {
        if e.is_timeout() {
            return ConduitError::Timeout {
                method: key.to_string(),
            };
        }
        // The root cause says what happened ("Connection refused", "failed to lookup
        // address", a TLS complaint); the layers above it only say where in reqwest it failed.
        let mut root: &dyn std::error::Error = &e;
        while let Some(s) = root.source() {
            root = s;
        }
        let detail = format!("{}: {root}", self.inner.shown_base);
        ConduitError::Network {
            method: key.to_string(),
            detail: redact(&detail, &self.inner.token),
        }
    }
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110's preferred form) as epoch
/// seconds; `None` when it is not one.
pub fn http_date(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .map(|d| d.timestamp())
}

/// Decodes a Conduit answer body: the envelope, its `error_code`, then `result` as `T`. Errors
/// never hold the token (`error_info` is redacted) nor the body.
pub fn decode_answer<T: DeserializeOwned>(
    method: &str,
    body: &[u8],
    token: &Token,
) -> Result<T, ConduitError> {
    match raw_result(body) {
        Some(result) => serde_json::from_str(result.map_or("null", RawValue::get)),
        None => serde_json::from_value(result_of(method, body, token)?),
    }
    .map_err(|e| shape_error(method, &e))
}

/// The shape error of a result that does not decode, naming where without what (the values
/// may be anyone's text: a task's description, a comment).
pub(super) fn shape_error(method: &str, e: &serde_json::Error) -> ConduitError {
    let what = match e.classify() {
        serde_json::error::Category::Data => "a value of the wrong type or a missing field",
        _ => "not the JSON it should be",
    };
    ConduitError::Shape {
        method: method.to_string(),
        detail: what.to_string(),
    }
}

/// The `result` of a Conduit answer body as its JSON text, not yet decoded (`Some(None)`:
/// absent), when the body is a Conduit envelope without an error: the fast path of
/// [`result_of`], which reads the result without building a tree of it only to convert it (the
/// answers the bot reads most are large). `None` for anything else (not JSON, not an envelope,
/// an error): [`result_of`] then says what, in its words.
pub(super) fn raw_result(body: &[u8]) -> Option<Option<&RawValue>> {
    let mut envelope = serde_json::from_slice::<HashMap<String, &RawValue>>(body).ok()?;
    if !envelope.contains_key("result") && !envelope.contains_key("error_code") {
        return None;
    }
    if envelope
        .get("error_code")
        .is_some_and(|c| c.get() != "null")
    {
        return None;
    }
    Some(envelope.remove("result"))
}

/// The `result` of a Conduit answer body: the envelope read and its `error_code` checked.
/// Errors never hold the token (`error_info` is redacted) nor the body.
pub(super) fn result_of(method: &str, body: &[u8], token: &Token) -> Result<Value, ConduitError> {
    let malformed = |detail: String| ConduitError::Malformed {
        method: method.to_string(),
        detail: redact(&detail, token),
    };
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("the answer is not JSON ({e})")))?;
    let Value::Object(mut envelope) = value else {
        return Err(malformed("the answer is not a Conduit envelope".into()));
    };
    if !envelope.contains_key("result") && !envelope.contains_key("error_code") {
        return Err(malformed("the answer is not a Conduit envelope".into()));
    }
    match envelope.get("error_code") {
        None | Some(Value::Null) => {}
        Some(code) => {
            let code = match code {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let info = match envelope.get("error_info") {
                Some(Value::String(s)) => s.clone(),
                None | Some(Value::Null) => String::new(),
                Some(other) => other.to_string(),
            };
            return Err(ConduitError::Conduit {
                method: method.to_string(),
                code: redact(&code, token),
                info: redact(&info, token),
            });
        }
    }
    Ok(envelope.remove("result").unwrap_or(Value::Null))
}

/// `params` as a JSON object (`null` is an empty one).
fn params_object(method: &str, params: Value) -> Result<Map<String, Value>, ConduitError> {
    match params {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(ConduitError::Config {
            detail: format!("{method}: params must be a JSON object"),
        }),
    }
}

/// `url` without user, password or trailing `/`.
fn shown_base(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    // Both only fail for URLs that cannot have credentials, which then have none to hide.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.as_str().trim_end_matches('/').to_string()
}

/// A Phorge project slug: lowercase, whitespace as `_`.
fn slug_of(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
        .to_lowercase()
}

/// A map that PHP sends as `[]` when it is empty.
struct PhpMap<V>(BTreeMap<String, V>);

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for PhpMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum M<V> {
            Map(BTreeMap<String, V>),
            Empty([(); 0]),
        }
        match M::deserialize(d)? {
            M::Map(m) => Ok(PhpMap(m)),
            M::Empty(_) => Ok(PhpMap(BTreeMap::new())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Token {
        Token::new("api-abcdefghijklmnopqrstuvwxyz12".into())
    }

    #[test]
    fn http_dates_read_as_epoch_seconds_and_the_simulator_writes_them() {
        // RFC 9110's own example.
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            http_date(" Sun, 06 Nov 1994 08:49:37 GMT "),
            Some(784_111_777)
        );
        assert_eq!(http_date("yesterday"), None);
        assert_eq!(http_date(""), None);
        let t = chrono::DateTime::from_timestamp(1_796_000_001, 0).unwrap();
        assert_eq!(http_date(&crate::sim::http_date(t)), Some(t.timestamp()));
    }

    #[test]
    fn decode_checks_error_code_and_redacts() {
        let body = br#"{"result":null,"error_code":"ERR-INVALID-AUTH","error_info":"API token \"api-abcdefghijklmnopqrstuvwxyz12\" is not valid."}"#;
        let e = decode_answer::<Value>("user.whoami", body, &token()).unwrap_err();
        assert_eq!(e.code(), Some("ERR-INVALID-AUTH"));
        assert!(!e.to_string().contains("abcdefgh"), "{e}");
        assert!(e.to_string().contains("api-***"), "{e}");
        let e = decode_answer::<Value>("m", b"<html>502</html>", &token()).unwrap_err();
        assert!(matches!(e, ConduitError::Malformed { .. }), "{e}");
        let e = decode_answer::<Value>("m", b"[1,2]", &token()).unwrap_err();
        assert!(matches!(e, ConduitError::Malformed { .. }), "{e}");
        let e = decode_answer::<WhoAmI>("m", br#"{"result":{"x":1},"error_code":null}"#, &token())
            .unwrap_err();
        assert!(matches!(e, ConduitError::Shape { .. }), "{e}");
        // A wrong shape is named without the values (they may be anyone's text).
        let e = decode_answer::<WhoAmI>(
            "m",
            br#"{"result":{"phid":7,"userName":"secret words"},"error_code":null}"#,
            &token(),
        )
        .unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        let ok: String = decode_answer(
            "conduit.ping",
            br#"{"result":"vm","error_code":null,"error_info":null}"#,
            &token(),
        )
        .unwrap();
        assert_eq!(ok, "vm");
    }

    #[test]
    fn php_empty_list_is_an_empty_map() {
        let m: PhpMap<PhidInfo> = serde_json::from_str("[]").unwrap();
        assert!(m.0.is_empty());
        assert!(serde_json::from_str::<PhpMap<PhidInfo>>("[1]").is_err());
    }

    #[test]
    fn options_and_client_debug_hide_secrets() {
        let opts = ClientOptions {
            session_cookie: Some("secretcookie".into()),
            ..ClientOptions::default()
        };
        assert!(!format!("{opts:?}").contains("secretcookie"));
        let c = Client::new("https://phab.example.org/", token(), opts).unwrap();
        let d = format!("{c:?}");
        assert!(
            !d.contains("secretcookie") && !d.contains("abcdefgh"),
            "{d}"
        );
        assert_eq!(c.base_url(), "https://phab.example.org");
        assert_eq!(c.task_url(TaskId::new(7)), "https://phab.example.org/T7");
    }

    #[test]
    fn bad_urls_and_cookies_are_config_errors() {
        for url in [
            "",
            "phab.example.org",
            "ftp://x",
            "https://x/?a=b",
            "http://",
        ] {
            let e = Client::new(url, token(), ClientOptions::default()).unwrap_err();
            assert!(matches!(e, ConduitError::Config { .. }), "{url}: {e}");
        }
        let opts = ClientOptions {
            session_cookie: Some("bad\ncookie".into()),
            ..ClientOptions::default()
        };
        assert!(Client::new("https://x", token(), opts).is_err());
    }

    #[test]
    fn backoff_stays_within_the_ceiling() {
        let opts = ClientOptions {
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_millis(25),
            ..ClientOptions::default()
        };
        let c = Client::new("http://127.0.0.1:1", token(), opts).unwrap();
        for retry in 0..80 {
            let w = c.backoff(retry);
            let ceiling =
                Duration::from_millis(10 * (1u64 << retry.min(20))).min(Duration::from_millis(25));
            assert!(w <= ceiling, "{retry}: {w:?} > {ceiling:?}");
        }
    }

    #[test]
    fn shown_base_hides_credentials() {
        let u = reqwest::Url::parse("https://bot:hunter2@phab.example.org/").unwrap();
        assert_eq!(shown_base(&u), "https://phab.example.org");
        let u = reqwest::Url::parse("http://127.0.0.1:8080/phab").unwrap();
        assert_eq!(shown_base(&u), "http://127.0.0.1:8080/phab");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug_of("SRE Access  Requests"), "sre_access_requests");
        assert_eq!(slug_of("SRE-Access-Requests"), "sre-access-requests");
    }
}
