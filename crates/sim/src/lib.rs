//! The Conduit simulator (design §8): a real HTTP server that answers the Conduit methods
//! the bot uses in the recorded wire format, serves task pages with channel markers, and
//! holds state, from a scenario file, on a virtual clock, with optional latency and seeded
//! faults.
//!
//! Routes: `POST /api/<method>` (Conduit), `GET /T<id>` (task page) and
//! `GET /transactions/showolder/<PHID>/?after=N` (its "Show Older Changes" parts, see
//! [`page`]), and the control endpoints `GET /_sim/stats`, `POST /_sim/stats/reset`,
//! `GET|POST /_sim/clock`, `GET /_sim/comments?task=N`, `POST /_sim/faults`. Statistics count
//! every Conduit call under its method name, every task page under `task.page` and every
//! older part under `task.page.older`; all are in `total`. Control endpoints are neither
//! counted nor delayed nor faulted; pages are delayed by the latency but never faulted.
//! Every answer's `Date` header is the virtual clock (the bot closes its poll cursor by it).
//!
//! Behaviour worth knowing when writing scenarios and tests:
//! - PHIDs are derived from names ([`state::user_phid`], [`state::project_phid`],
//!   [`state::task_phid`], [`state::column_phid`], [`state::document_phid`],
//!   [`state::paste_phid`]); transaction and comment PHIDs from the task, event and edit
//!   numbers. Transaction ids are global and are handed out when the clock reaches an event,
//!   so ids grow with time even when the bot posts in between.
//! - Scenario extensions (optional): `[[projects]] columns = ["Ready for SRE"]` gives the
//!   project a workboard (`Backlog` plus these columns; only projects with columns appear in
//!   the `columns` attachment), `[[pastes]] title`, and paste edits: `[[pastes.events]]`
//!   with `at`, `content` and optionally `author` (default: the paste's author), after which
//!   `paste.search` answers the new text with `dateModified` = the edit and
//!   `transaction.search` on the paste lists the edit (type `null`, as Phorge does).
//!   `edit_comment = N` and `remove_comment = N` count the task's scenario comments (not the
//!   bot's) from 1.
//! - Web sessions (extensions): `[[users]] session = "…"` is a `phsid` cookie value that
//!   authenticates that user on task pages (not allowed on bot accounts: Phorge bots cannot
//!   hold web sessions); `[site] public = false` makes the site answer like a default Phorge
//!   install: anonymous visitors get HTTP 200 with the login page, an unknown session a 302
//!   to `?cleared=1`. By default the site is public and every visitor sees the pages.
//! - Pages show the newest 100 events and hide those before the viewer's own last comment,
//!   behind "Show Older Changes", as Phorge does ([`page`]).
//! - Faults: `5xx` answers before doing anything; `timeout` and `malformed` do the call and
//!   then hang ([`faults::HANG_SECS`]) or truncate the answer, so a client sees a failure for
//!   an edit that did happen; `slow` adds [`faults::SLOW_MS`]. [`SimHandle::mangle_task`]
//!   makes `maniphest.search` serve one task in a shape no client can read.
//! - Answers put their keys in Phorge's order ([`api::wire_text`]): a result item's `id`
//!   comes before its fields, as a client reading the head of an answer cut short expects.
//! - Deliberate limits: `maniphest.edit` does not create tasks; `transaction.search` needs
//!   `objectIdentifier` (on a paste it lists who created and changed the text, and when);
//!   search constraints and
//!   attachments the simulator does not implement are refused as invalid keys rather than
//!   ignored.

pub mod api;
pub mod faults;
pub mod page;
pub mod scenario;
pub mod state;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::FaultSpec;
pub use scenario::{generate, Scenario};
pub use state::PostedComment;

use faults::{Fault, Faults};
use state::World;

/// Everything that can go wrong starting or feeding the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The scenario is malformed or inconsistent.
    #[error("bad scenario: {0}")]
    Scenario(String),
    /// The `--faults` specification is malformed.
    #[error("bad fault specification: {0}")]
    Faults(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// How to run the simulator.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Overrides the scenario's `now`.
    pub now: Option<DateTime<Utc>>,
    /// Added to every Conduit call and task page.
    pub latency_ms: u64,
    /// Fault shares.
    pub faults: FaultSpec,
    /// Seed of the fault generator.
    pub seed: u64,
}

/// Call counts: per method (task pages as `task.page`, their "Show Older Changes" parts as
/// `task.page.older`), and their total.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Calls per method.
    pub calls: BTreeMap<String, u64>,
    /// All calls.
    pub total: u64,
    /// The most calls that were being answered at once (for tests through [`SimHandle::stats`];
    /// not part of the `/_sim/stats` answer, whose shape the design fixes).
    #[serde(skip)]
    pub peak_in_flight: u64,
}

struct Shared {
    world: Mutex<World>,
    stats: Mutex<Stats>,
    faults: Mutex<Faults>,
    latency_ms: AtomicU64,
    in_flight: AtomicU64,
}

/// A call being answered: counted in `in_flight` until dropped.
struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Locks a mutex, recovering the data if a previous holder panicked.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Counts a call; it is in flight until the returned guard is dropped.
    fn count(&self, key: &str) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        let mut s = lock(&self.stats);
        *s.calls.entry(key.to_string()).or_insert(0) += 1;
        s.total += 1;
        s.peak_in_flight = s.peak_in_flight.max(now);
        InFlight(self)
    }

    async fn delay(&self) {
        let ms = self.latency_ms.load(Ordering::Relaxed);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
}

/// A running simulator.
pub struct SimHandle {
    /// The bound address.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// `http://ADDR`, the base URL for the Conduit client and task pages.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Call counts so far.
    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Forgets the call counts.
    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = Stats::default();
    }

    /// The virtual clock.
    pub fn now(&self) -> DateTime<Utc> {
        lock(&self.shared.world).now
    }

    /// Moves the virtual clock (events up to it become visible).
    pub fn set_now(&self, now: DateTime<Utc>) {
        lock(&self.shared.world).set_now(now);
    }

    /// The comments posted through `maniphest.edit` on task `task`, oldest first.
    pub fn comments(&self, task: u64) -> Vec<PostedComment> {
        lock(&self.shared.world).posted(task)
    }

    /// From now on `maniphest.search` serves task `id` in a shape no client can read (a
    /// `status` that is a number): a malformed object beside well-formed ones.
    pub fn mangle_task(&self, id: u64) {
        lock(&self.shared.world).mangled.insert(id);
    }

    /// Serves task `id` in its normal shape again (see [`Self::mangle_task`]).
    pub fn unmangle_task(&self, id: u64) {
        lock(&self.shared.world).mangled.remove(&id);
    }

    /// Disables the account `username` (or enables it again), as an administrator would;
    /// false when there is no such account.
    pub fn set_disabled(&self, username: &str, disabled: bool) -> bool {
        let mut w = lock(&self.shared.world);
        match w.user_index(username) {
            Some(i) => {
                w.users[i].disabled = disabled;
                true
            }
            None => false,
        }
    }

    /// Changes the fault shares (the seeded sequence continues).
    pub fn set_faults(&self, spec: FaultSpec) {
        lock(&self.shared.faults).spec = spec;
    }

    /// Stops serving; in-flight calls get a short grace period, then are dropped.
    pub async fn shutdown(mut self) {
        self.stop_now().await;
    }

    async fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts the simulator on `listen` (`127.0.0.1:0` picks a free port).
pub async fn start(
    scenario: Scenario,
    opts: SimOptions,
    listen: SocketAddr,
) -> Result<SimHandle, SimError> {
    scenario.validate()?;
    let now = opts.now.unwrap_or(scenario.now);
    let shared = Arc::new(Shared {
        world: Mutex::new(World::new(&scenario, now)),
        stats: Mutex::new(Stats::default()),
        faults: Mutex::new(Faults::new(opts.faults, opts.seed)),
        latency_ms: AtomicU64::new(opts.latency_ms),
        in_flight: AtomicU64::new(0),
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind {
        addr: listen,
        source,
    })?;
    let app = Router::new()
        .route("/api/{method}", post(conduit))
        .route("/_sim/stats", get(stats))
        .route("/_sim/stats/reset", post(reset_stats))
        .route("/_sim/clock", get(get_clock).post(set_clock))
        .route("/_sim/comments", get(comments))
        .route("/_sim/faults", post(set_faults))
        .route("/{page}", get(task_page))
        .route("/transactions/showolder/{object}/", get(older_page))
        .layer(axum::middleware::map_response_with_state(
            shared.clone(),
            server_date,
        ))
        .with_state(shared.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::warn!(error = %e, "simulator stopped with an error");
        }
    });
    Ok(SimHandle {
        addr,
        shared,
        stop: Some(stop),
        task: Some(task),
    })
}

/// `accessbot sim`: loads the scenario, serves it, prints `listening on http://ADDR` as the
/// first line of stdout, and runs until Ctrl-C or SIGTERM.
pub async fn run(scenario_path: &Path, listen: SocketAddr, opts: SimOptions) -> anyhow::Result<()> {
    let scenario = Scenario::from_file(scenario_path)?;
    let handle = start(scenario, opts, listen).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", handle.url())?;
        out.flush()?;
    }
    wait_for_signal().await;
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Every answer's `Date` is the virtual clock, as a Phorge's is its own clock: the bot closes
/// its poll cursor's second by it.
async fn server_date(State(shared): State<Arc<Shared>>, mut resp: Response) -> Response {
    let now = lock(&shared.world).now;
    if let Ok(v) = header::HeaderValue::from_str(&http_date(now)) {
        resp.headers_mut().insert(header::DATE, v);
    }
    resp
}

/// An HTTP date (RFC 9110's `Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn conduit(
    State(shared): State<Arc<Shared>>,
    UrlPath(method): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = shared.count(&method);
    shared.delay().await;
    let fault = lock(&shared.faults).draw();
    match fault {
        Fault::ServerError => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<h1>500 Internal Server Error</h1>\n",
            )
                .into_response()
        }
        Fault::Slow => tokio::time::sleep(Duration::from_millis(faults::SLOW_MS)).await,
        Fault::None | Fault::Timeout | Fault::Malformed => {}
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}");
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok());
    let result = if api::known_method(&method) {
        api::decode(&method, content_type, &body).and_then(|call| {
            let mut world = lock(&shared.world);
            api::dispatch(&mut world, &method, call, &base)
        })
    } else {
        let world = &mut lock(&shared.world);
        api::dispatch(
            world,
            &method,
            api::Call {
                params: Default::default(),
                token: None,
            },
            &base,
        )
    };
    let text = api::wire_text(&api::envelope(&result));
    match fault {
        Fault::Timeout => {
            tokio::time::sleep(Duration::from_secs(faults::HANG_SECS)).await;
            json_response(StatusCode::OK, text)
        }
        Fault::Malformed => {
            let mut cut = text.len() / 2;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            json_response(StatusCode::OK, text[..cut].to_string())
        }
        _ => json_response(StatusCode::OK, text),
    }
}

async fn task_page(
    State(shared): State<Arc<Shared>>,
    UrlPath(page): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = scenario::monogram_number(&page, 'T') else {
        return (StatusCode::NOT_FOUND, "Not found\n").into_response();
    };
    let _in_flight = shared.count("task.page");
    shared.delay().await;
    let answer = {
        let mut world = lock(&shared.world);
        world.materialize();
        let who = page::visitor(&world, cookie(&headers));
        page::task_page(&world, id, who)
    };
    page_response(answer)
}

#[derive(Deserialize)]
struct OlderQuery {
    after: u64,
}

async fn older_page(
    State(shared): State<Arc<Shared>>,
    UrlPath(object): UrlPath<String>,
    Query(q): Query<OlderQuery>,
    headers: HeaderMap,
) -> Response {
    let _in_flight = shared.count("task.page.older");
    shared.delay().await;
    let answer = {
        let mut world = lock(&shared.world);
        world.materialize();
        let who = page::visitor(&world, cookie(&headers));
        page::older_page(&world, &object, q.after, who)
    };
    page_response(answer)
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::COOKIE).and_then(|c| c.to_str().ok())
}

fn page_response(answer: page::PageAnswer) -> Response {
    match answer {
        page::PageAnswer::Html(html) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            html,
        )
            .into_response(),
        page::PageAnswer::Ajax(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        page::PageAnswer::Redirect(to) => {
            (StatusCode::FOUND, [(header::LOCATION, to)], String::new()).into_response()
        }
        page::PageAnswer::NotFound => (StatusCode::NOT_FOUND, "Not found\n").into_response(),
    }
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let s = lock(&shared.stats).clone();
    json_response(StatusCode::OK, json!(s).to_string())
}

async fn reset_stats(State(shared): State<Arc<Shared>>) -> Response {
    *lock(&shared.stats) = Stats::default();
    json_response(StatusCode::OK, json!({"ok": true}).to_string())
}

fn bad_request(msg: String) -> Response {
    json_response(StatusCode::BAD_REQUEST, json!({ "error": msg }).to_string())
}

async fn get_clock(State(shared): State<Arc<Shared>>) -> Response {
    let now = lock(&shared.world).now;
    json_response(StatusCode::OK, json!({"now": now.to_rfc3339()}).to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    now: DateTime<Utc>,
}

async fn set_clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<ClockBody>(&body) {
        Ok(b) => {
            lock(&shared.world).set_now(b.now);
            json_response(
                StatusCode::OK,
                json!({"now": b.now.to_rfc3339()}).to_string(),
            )
        }
        Err(e) => bad_request(format!("expected {{\"now\": \"RFC3339\"}}: {e}")),
    }
}

#[derive(Deserialize)]
struct CommentsQuery {
    task: String,
}

async fn comments(State(shared): State<Arc<Shared>>, Query(q): Query<CommentsQuery>) -> Response {
    let id = q.task.trim_start_matches('T').parse::<u64>();
    match id {
        Ok(id) => {
            let list = lock(&shared.world).posted(id);
            json_response(StatusCode::OK, json!(list).to_string())
        }
        Err(_) => bad_request(format!("task {:?} is not a task id", q.task)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsBody {
    spec: String,
    #[serde(default)]
    latency_ms: Option<u64>,
}

async fn set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<FaultsBody>(&body)
        .map_err(|e| format!("expected {{\"spec\": \"5xx=0.1,...\"}}: {e}"))
        .and_then(|b| {
            FaultSpec::parse(&b.spec)
                .map(|s| (s, b.latency_ms))
                .map_err(|e| e.to_string())
        });
    match parsed {
        Ok((spec, latency)) => {
            lock(&shared.faults).spec = spec;
            if let Some(ms) = latency {
                shared.latency_ms.store(ms, Ordering::Relaxed);
            }
            json_response(StatusCode::OK, json!({"ok": true}).to_string())
        }
        Err(e) => bad_request(e),
    }
}
