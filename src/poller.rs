//! The poller: one cycle polls the changed tasks (one call when nothing changed), re-reads the
//! tasks whose checklist time alone may change (and all open ones on the reconcile cycle),
//! evaluates and plans every one of them (`crate::plan`), then applies the plans (ready first,
//! then oldest, at most `[effects] max_posts_per_cycle` comments; nothing in dry-run): a checklist comment only when it differs from the
//! bot's last one read back from the task, one stale nudge per stretch, the ready column/tag,
//! and the lifecycle after ready (`crate::lifecycle`: the granted comment, the expiry
//! reminder, the removal comment), with `data.yaml` re-read when it changes. A task that
//! cannot be read (an answer over the size cap, an object of the wrong shape) is set aside
//! with a logged reason and a `blocked` status entry while the others go on.
//! The loop around it stops cleanly on SIGTERM or Ctrl-C between two tasks.

pub use crate::clock::Clock;
use crate::conduit::{Client, ConduitError, UnreadableTask};
use crate::data_yaml::DataYamlWatch;
use crate::evidence::{EvidenceSource, Gathered};
use crate::ids::TaskId;
use crate::lifecycle::DataYaml;
use crate::plan::{self, Mark, Plan};
use crate::policy::{self, Checklist, Verdict, Who};
use crate::report;
use crate::rules::Rules;
use crate::store::{Batch, KeyRecord, LifecycleRow, PollEntry, Store, StoreError, TaskRow};
use crate::timeline::Moment;
use crate::wire::{Task, Transaction};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn, Instrument};

/// The most tasks handed to the pipeline at once (and prefetched together) after the poll.
const BATCH: usize = 100;
/// How many batches the reader reads at once (timelines and prefetch), so that the slots
/// are not left idle while one batch's prefetch, or the poll's next page, waits on a round
/// trip.
const READ_AHEAD: usize = 2;
/// A task handed to the pipeline with its timeline as read for its batch
/// ([`Poller::read_batch`]), or why that read failed.
type Handed = (Task, Result<Vec<Transaction>, ConduitError>);
/// The most settled tasks written to the store in one transaction.
const WRITE_BATCH: usize = 500;
/// Failed cycles in a row from which each failure is logged at ERROR (an outage, not a blip).
pub const CYCLE_ERROR_AFTER: u32 = 3;
/// Meta key of the poll cursor: the `modifiedStart` of the next poll (epoch seconds). An older
/// database holds the newest dateModified seen there, which is a safe start too.
const CURSOR: &str = "cursor";
/// The grid of the reconcile's moments: requests due in the same step are read together.
const RECONCILE_STEP_SECONDS: i64 = 300;
/// How far the server's clock (the `Date` of the poll's first answer) must be past a second
/// before the cursor closes it: its `Date` is stamped after the query ran, and a write that
/// read the clock in that second may commit a moment later, so one second more than "past".
pub const CLOSE_AFTER_SECONDS: i64 = 2;
/// Meta key of the last cycle that re-read a request for the reconcile (kept for operators;
/// each request's own schedule is its `evaluated_at`, see [`reconcile_due_now`]).
const RECONCILED: &str = "reconciled_at";
/// Meta key of the end of the last successful cycle (epoch seconds): `status` shows the data
/// as of then.
pub const LAST_SUCCESS: &str = "last_success_at";
/// Meta key of the tasks set aside as unreadable ([`UnreadableEntry`] by task id).
const UNREADABLE: &str = "unreadable";

/// A task set aside because it cannot be read: why, since when, and whether the notice that
/// its earlier READY no longer holds still has to be posted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct UnreadableEntry {
    reason: String,
    since: i64,
    #[serde(default)]
    notice_pending: bool,
}

/// Poller options.
#[derive(Debug, Clone)]
pub struct PollerOptions {
    /// Perform no write on Phabricator.
    pub dry_run: bool,
    /// Conduit requests in flight at once (the client enforces it:
    /// [`crate::conduit::ClientOptions::max_in_flight`]); twice as many tasks are worked on.
    pub concurrency: usize,
    /// The clock.
    pub clock: Clock,
}

/// What one effect did (for logs, `--dry-run` and the demo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// The task.
    pub task: TaskId,
    /// `checklist`, `nudge`, `ready-column`, `ready-tag`, `unready-tag`,
    /// `unreadable-notice` (a notice posted in a later cycle than its task was set aside), and
    /// the lifecycle's `granted`, `reminder`, `expired`, `removal`.
    pub kind: &'static str,
    /// The text that would be posted, in full, in dry-run; the first line of the text posted
    /// otherwise (the whole text is on the task: a cold sync of thousands of tasks would
    /// otherwise hold every comment it posted until the cycle ends); the column or tag PHID
    /// for the ready marks.
    pub text: String,
    /// The verdict at the time.
    pub verdict: Verdict,
}

/// A summary of one cycle.
#[derive(Debug, Clone, Default)]
pub struct CycleReport {
    /// Tasks the poll returned as changed.
    pub changed: usize,
    /// Tasks re-read because time or reconcile made them due.
    pub due: usize,
    /// Tasks evaluated.
    pub evaluated: usize,
    /// Effects performed (or, in dry-run, that would have been).
    pub effects: Vec<Effect>,
    /// Tasks that failed this cycle (retried next cycle).
    pub failed: Vec<(TaskId, String)>,
    /// Tasks set aside this cycle because they cannot be read, with the reason (read again
    /// when they change).
    pub unreadable: Vec<(TaskId, String)>,
    /// Tasks whose comments wait for a later cycle (`[effects] max_posts_per_cycle`).
    pub waiting: usize,
}

/// What the poll found.
struct Polled {
    /// Changed tasks handed to the pipeline.
    changed: usize,
    /// Tasks due a re-read handed to it after them.
    due: usize,
    /// Where the next poll starts (its `modifiedStart`, the cursor): the newest `dateModified`
    /// seen, or the second after it once the server's clock has passed it ([`next_start`]).
    newest: i64,
    /// Whether this cycle re-reads a request for the reconcile.
    reconcile_due: bool,
    /// Tasks the poll set aside as unreadable.
    unreadable: Vec<(TaskId, String)>,
}

/// What became of one task in a cycle.
enum Outcome {
    /// Not started: the poller is stopping.
    Skipped,
    /// It cannot be read as it is (over the size cap, wrong shape): set aside, recorded.
    Unreadable { id: TaskId, reason: String },
    /// It could not be read (or its key not recorded): retried next cycle.
    Failed {
        id: TaskId,
        date_modified: i64,
        error: String,
    },
    /// Evaluated and planned; applied once every task of the cycle is planned.
    Planned(Box<Planned>),
}

/// A planned task: its plan, its stored row as it was (kept when its comments wait for a
/// later cycle), and what its evaluation saw of the cycle's keys.
struct Planned {
    plan: Plan,
    stored: Option<TaskRow>,
    date_modified: i64,
    check: Option<ReuseCheck>,
    /// Its comments wait for a later cycle: more than `max_posts_per_cycle` plans that post
    /// come before it; only what its row needs is kept of its plan.
    waits: bool,
}

/// The plans of a cycle. Of the plans that post, at most `max_posts_per_cycle` (each posts at
/// least one comment) can be applied this cycle: only those, the first in apply order, are
/// held whole; the others are cut down as they come, so a cold sync of thousands holds a few
/// plans, not every checklist.
struct Plans {
    all: BTreeMap<u64, Planned>,
    /// The apply order keys of the plans that post and are held whole.
    posting: std::collections::BTreeSet<(bool, DateTime<Utc>, u64)>,
    cap: usize,
}

impl Plans {
    fn new(cap: usize) -> Plans {
        Plans {
            all: BTreeMap::new(),
            posting: Default::default(),
            cap,
        }
    }

    /// Ready first, then the oldest.
    fn key(p: &Plan) -> (bool, DateTime<Utc>, u64) {
        (p.verdict != Verdict::Ready, p.age_key(), p.task.get())
    }

    fn insert(&mut self, p: Planned) {
        self.remove(p.plan.task.get());
        if p.plan.comments() > 0 {
            self.posting.insert(Self::key(&p.plan));
        }
        self.all.insert(p.plan.task.get(), p);
        while self.posting.len() > self.cap {
            let Some(last) = self.posting.pop_last() else {
                break;
            };
            if let Some(p) = self.all.get_mut(&last.2) {
                p.waits = true;
                let plan = &mut p.plan;
                plan.comment = None;
                plan.nudge = None;
                plan.posts = Vec::new();
                plan.marks = Vec::new();
                plan.audit = None;
                plan.lifecycle = None;
                plan.row.report_json = String::new();
            }
        }
    }

    fn remove(&mut self, id: u64) {
        if let Some(p) = self.all.remove(&id) {
            self.posting.remove(&Self::key(&p.plan));
        }
    }
}

impl Outcome {
    /// A task that could not be gathered (logged here); it is retried next cycle.
    fn failed(id: TaskId, date_modified: i64, error: String) -> Outcome {
        warn!(task = %id, phase = "gather", error = %error, "cannot read the task; retrying next cycle");
        Outcome::Failed {
            id,
            date_modified,
            error,
        }
    }
}

/// What a settled task's evaluation saw of the keys recorded in the cycle (fingerprint and
/// subject as numbered by the [`KeyLedger`]: a cold sync of thousands keeps one of these per
/// task until the cycle ends).
struct ReuseCheck {
    task: u64,
    fingerprint: u32,
    subject: u32,
    /// When the key first appeared on the task.
    since: Moment,
    /// The ledger's sequence number when its key's other uses were looked up.
    seen: u64,
}

/// The keys recorded in one cycle, in order.
#[derive(Default)]
struct KeyLedger {
    /// How many were recorded.
    seq: u64,
    /// Fingerprints and subjects ([`crate::policy::Subject::reuse_key`]), numbered.
    fingerprints: HashMap<String, u32>,
    subjects: HashMap<String, u32>,
    /// By fingerprint number: (subject number, first appearance, sequence number, task).
    uses: Vec<Vec<(u32, Moment, u64, u64)>>,
}

impl KeyLedger {
    fn number(map: &mut HashMap<String, u32>, key: &str) -> u32 {
        if let Some(n) = map.get(key) {
            return *n;
        }
        let n = map.len() as u32;
        map.insert(key.to_string(), n);
        n
    }

    /// `subject` is the subject's [`crate::policy::Subject::reuse_key`].
    fn record(&mut self, fp: &crate::ids::Fingerprint, subject: &str, since: Moment, task: u64) {
        self.seq += 1;
        let f = Self::number(&mut self.fingerprints, fp.as_str()) as usize;
        let r = Self::number(&mut self.subjects, &subject.to_lowercase());
        if self.uses.len() <= f {
            self.uses.resize_with(f + 1, Vec::new);
        }
        self.uses[f].push((r, since, self.seq, task));
    }

    /// The other tasks of the cycle on which someone else used this key earlier (the same
    /// test as [`Store::key_sightings`]): what a dry run, which records no key in the store,
    /// knows of the cycle's keys.
    fn earlier(
        &self,
        fp: &crate::ids::Fingerprint,
        subject: &str,
        since: Moment,
        task: u64,
    ) -> Vec<u64> {
        let (Some(f), subject) = (
            self.fingerprints.get(fp.as_str()),
            self.subjects.get(&subject.to_lowercase()),
        ) else {
            return Vec::new();
        };
        let mut ids: Vec<u64> = self
            .uses
            .get(*f as usize)
            .into_iter()
            .flatten()
            .filter(|(user, first_seen, _, t)| {
                Some(user) != subject && *t != task && first_seen.maybe_before(&since)
            })
            .map(|u| u.3)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// What an evaluation made now sees of the cycle's keys.
    fn check(
        &mut self,
        task: u64,
        fp: &crate::ids::Fingerprint,
        subject: &str,
        since: Moment,
        seen: u64,
    ) -> ReuseCheck {
        ReuseCheck {
            task,
            fingerprint: Self::number(&mut self.fingerprints, fp.as_str()),
            subject: Self::number(&mut self.subjects, &subject.to_lowercase()),
            since,
            seen,
        }
    }

    /// The tasks whose evaluation missed an earlier use of their key by someone else that was
    /// recorded only after it (the same test as [`Store::key_sightings`]).
    fn missed(&self, checks: &[ReuseCheck]) -> Vec<u64> {
        let mut ids: Vec<u64> = checks
            .iter()
            .filter(|c| {
                self.uses.get(c.fingerprint as usize).is_some_and(|uses| {
                    uses.iter().any(|(user, first_seen, seq, _)| {
                        *user != c.subject && first_seen.maybe_before(&c.since) && *seq > c.seen
                    })
                })
            })
            .map(|c| c.task)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// What a real run would have done in a dry-run cycle: comments by kind, marks, and how many
/// requests would wait for a later cycle.
pub fn dry_run_summary(r: &CycleReport, rules: &Rules) -> String {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &r.effects {
        *kinds.entry(e.kind).or_default() += 1;
    }
    let n = |k: &str| kinds.get(k).copied().unwrap_or(0);
    let comments = ["granted", "reminder", "expired", "removal"]
        .iter()
        .map(|k| n(k))
        .sum::<usize>();
    let marks = ["ready-column", "column", "ready-tag", "unready-tag"]
        .iter()
        .map(|k| n(k))
        .sum::<usize>();
    format!(
        "dry run: a real run would post {} checklist(s), {} stale nudge(s) and {} lifecycle comment(s), and set {} mark(s); {} request(s) would wait for later cycles ([effects] max_posts_per_cycle = {}). Nothing was written.",
        n("checklist"),
        n("nudge"),
        comments,
        marks,
        r.waiting,
        rules.effects.max_posts_per_cycle
    )
}

/// Locks a mutex, recovering the data if a previous holder panicked (plain data here).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Adds a failed task to the report; the cursor stays at or before its `dateModified`.
fn fail(
    report: &mut CycleReport,
    oldest_failed: &mut Option<i64>,
    id: TaskId,
    date_modified: i64,
    error: String,
) {
    *oldest_failed = Some(oldest_failed.map_or(date_modified, |o| o.min(date_modified)));
    report.failed.push((id, error));
}

/// The bot: evidence source, store, rules, options.
pub struct Poller {
    src: EvidenceSource,
    store: Store,
    rules: Arc<Rules>,
    opts: PollerOptions,
    stop: Arc<watch::Sender<bool>>,
    shutdown: watch::Receiver<bool>,
    /// Metrics, health, systemd notifications and progress lines.
    monitor: Arc<crate::service::Monitor>,
    /// The tasks set aside as unreadable, as stored under [`UNREADABLE`] (read at the start of
    /// each cycle, written through).
    unreadable: tokio::sync::Mutex<BTreeMap<u64, UnreadableEntry>>,
    /// The configured `data.yaml`, re-read when it changes.
    data_yaml: DataYamlWatch,
    /// The stored rows of the tasks handed over in this cycle, read for each batch in one
    /// query ([`Self::load_stored`]) and each taken once, by [`Self::stored_row`] and
    /// [`Self::stored_life`]; a task not in it (the batch's read failed) is read on its own.
    stored: Mutex<StoredOf>,
    /// The key sightings of the tasks gathered, kept until [`Self::apply_all`] writes them
    /// in the transaction of its first settled rows (one statement, not one per task): no
    /// settled row is stored without the sightings of its cycle. Within the cycle the
    /// [`KeyLedger`] is what finds a key shared between tasks.
    keys: Mutex<Vec<KeyRecord>>,
}

/// What [`Poller::load_stored`] read of a batch: by task id, its row without the report and
/// its lifecycle row (`None`: none stored).
#[derive(Default)]
struct StoredOf {
    rows: HashMap<u64, Option<TaskRow>>,
    lives: HashMap<u64, Option<LifecycleRow>>,
}

impl Poller {
    /// A poller.
    pub fn new(
        src: EvidenceSource,
        store: Store,
        rules: Arc<Rules>,
        opts: PollerOptions,
    ) -> Poller {
        let (stop, shutdown) = watch::channel(false);
        let monitor = Arc::new(crate::service::Monitor::new(opts.clock.clone()));
        monitor.watch_client(src.client());
        if !opts.dry_run {
            src.remember_in(store.clone());
        }
        let data_yaml = DataYamlWatch::from_rules(&rules);
        Poller {
            src,
            store,
            rules,
            opts,
            stop: Arc::new(stop),
            shutdown,
            monitor,
            unreadable: tokio::sync::Mutex::new(BTreeMap::new()),
            data_yaml,
            stored: Mutex::new(StoredOf::default()),
            keys: Mutex::new(Vec::new()),
        }
    }

    /// Reports to this monitor (the one `run --listen` serves) instead of its own.
    pub fn with_monitor(mut self, monitor: Arc<crate::service::Monitor>) -> Poller {
        monitor.watch_client(self.src.client());
        self.monitor = monitor;
        self
    }

    /// The monitor the poller reports to.
    pub fn monitor(&self) -> &Arc<crate::service::Monitor> {
        &self.monitor
    }

    /// Sending `true` on this stops the poller between two tasks.
    pub fn stop_handle(&self) -> Arc<watch::Sender<bool>> {
        self.stop.clone()
    }

    fn client(&self) -> &Client {
        self.src.client()
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Runs cycles until shutdown; `once` runs one. A failed cycle is logged at WARN and
    /// tried again after the interval; from the [`CYCLE_ERROR_AFTER`]th failure in a row on,
    /// at ERROR. The cycle line's `calls` counts this cycle's HTTP requests.
    pub async fn run(&self, interval: std::time::Duration, once: bool) -> anyhow::Result<()> {
        self.monitor.set_interval(interval);
        let mut failures = 0u32;
        loop {
            let started = std::time::Instant::now();
            let calls_before = self.client().total_calls();
            let result = self.cycle().await;
            self.monitor
                .cycle_finished(result.is_ok(), started.elapsed(), &self.store)
                .await;
            match result {
                Ok(r) => {
                    if self.opts.dry_run {
                        println!("{}", dry_run_summary(&r, &self.rules));
                    }
                    if failures >= CYCLE_ERROR_AFTER {
                        info!(
                            phase = "cycle",
                            failed_cycles = failures,
                            "cycles succeed again"
                        );
                    }
                    failures = 0;
                    info!(
                        phase = "cycle",
                        changed = r.changed,
                        due = r.due,
                        evaluated = r.evaluated,
                        effects = r.effects.len(),
                        failed = r.failed.len(),
                        unreadable = r.unreadable.len(),
                        calls = self.client().total_calls().saturating_sub(calls_before),
                        ms = started.elapsed().as_millis() as u64,
                        "cycle done"
                    )
                }
                Err(e)
                    if e.downcast_ref::<ConduitError>()
                        .is_some_and(|c| c.is_auth()) =>
                {
                    return Err(e)
                }
                Err(e) if once => return Err(e),
                Err(e) => {
                    failures += 1;
                    let error = format!("{e:#}");
                    if failures >= CYCLE_ERROR_AFTER {
                        error!(phase = "cycle", failed_cycles = failures, error = %error, "cycles keep failing; retrying next cycle")
                    } else {
                        warn!(phase = "cycle", error = %error, "cycle failed; retrying next cycle")
                    }
                }
            }
            if once || self.stopping() {
                return Ok(());
            }
            // Until the next cycle; the systemd watchdog is fed meanwhile.
            let mut rx = self.shutdown.clone();
            let next = tokio::time::Instant::now() + interval;
            loop {
                let wake = match self.monitor.watchdog_every() {
                    Some(every) => next.min(tokio::time::Instant::now() + every),
                    None => next,
                };
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => {}
                    _ = rx.changed() => {}
                }
                if self.stopping() {
                    return Ok(());
                }
                if tokio::time::Instant::now() >= next {
                    break;
                }
                self.monitor.alive();
            }
        }
    }

    /// One cycle: the poll (and then the due tasks) streams tasks page by page into a
    /// pipeline that gathers, evaluates and plans up to twice `concurrency` tasks at once
    /// (the client holds the Conduit requests in flight to `concurrency`), so the next page is
    /// read and the next requesters prefetched while earlier tasks are still being planned.
    /// Nothing is posted while the cycle reads: every key of the cycle is known before any
    /// task of it is settled. A task planned before a key that concerns it was recorded (two
    /// requests of one cycle sharing a key) is read and planned again; then the plans are
    /// applied (`Self::apply_all`): ready requests first, then the oldest, at most
    /// `[effects] max_posts_per_cycle` comments, the rest waiting for the next cycle.
    ///
    /// In dry-run nothing is written: no post, no cursor, no row, no key, no audit entry.
    pub async fn cycle(&self) -> anyhow::Result<CycleReport> {
        let now = self.opts.clock.now();
        self.monitor.cycle_started();
        // Rows read for an earlier cycle are not used (sightings not yet written are kept).
        *lock(&self.stored) = StoredOf::default();
        let mut report = CycleReport::default();
        let rows: HashMap<i64, PollEntry> = self
            .store
            .poll_index()
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let cursor: Option<i64> = self.store.meta(CURSOR).await?.and_then(|c| c.parse().ok());
        *self.unreadable.lock().await = match self.store.meta(UNREADABLE).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => BTreeMap::new(),
        };
        self.post_pending_notices(&mut report).await?;
        let concerned = self.data_yaml_concerns().await?;
        let lanes = self.lanes();
        let ledger = Mutex::new(KeyLedger::default());
        let mut oldest_failed: Option<i64> = None;
        let mut planned = Plans::new(self.rules.effects.max_posts_per_cycle as usize);
        let mut checks: Vec<ReuseCheck> = Vec::new();

        // The poll feeds batches (a page of changed tasks, then the due ones) to the reader,
        // which reads up to [`READ_AHEAD`] batches' timelines and prefetches at once, so that
        // one batch's prefetch and last timelines overlap the next one's and the poll's next
        // page, and hands each to the pipeline as it is read. A batch is read only once the
        // pipeline has room for it (its place in the channel is reserved first): a read that
        // waited for room would hold request slots that the pipeline's own reads need.
        let (raw_tx, raw_rx) = mpsc::channel::<Vec<Task>>(1);
        let (tx, rx) = mpsc::channel::<Vec<Handed>>(READ_AHEAD + 1);
        let producer = self.poll(&rows, cursor, now, &concerned, raw_tx);
        let reader = async move {
            let batches = futures::stream::unfold(raw_rx, |mut rx| async move {
                rx.recv().await.map(|batch| (batch, rx))
            });
            batches
                .map(|batch| {
                    let tx = tx.clone();
                    async move {
                        if let Ok(room) = tx.reserve().await {
                            room.send(self.read_batch(batch).await);
                        }
                    }
                })
                .buffer_unordered(READ_AHEAD)
                .collect::<()>()
                .await;
        };
        let consumer = async {
            let tasks = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|batch| (futures::stream::iter(batch), rx))
            })
            .flatten();
            let outcomes = tasks
                .map(|(t, txs)| self.process(t, txs, now, &ledger))
                .buffer_unordered(lanes);
            let mut outcomes = std::pin::pin!(outcomes);
            while let Some(o) = outcomes.next().await {
                self.monitor.task_done();
                self.tally(
                    o,
                    &mut report,
                    &mut oldest_failed,
                    &mut planned,
                    &mut checks,
                );
            }
        };
        let (polled, (), ()) = tokio::join!(producer, reader, consumer);
        let polled = polled?;
        report.changed = polled.changed;
        report.due = polled.due;
        report.unreadable.extend(polled.unreadable);

        // Tasks planned before a key of the cycle that concerns them was recorded: again.
        let again = lock(&ledger).missed(&checks);
        drop(checks);
        if !again.is_empty() && !self.stopping() {
            info!(
                phase = "reuse",
                tasks = again.len(),
                "re-evaluating requests that share a key recorded later in the cycle"
            );
            for id in &again {
                planned.remove(*id);
            }
            let mut unchecked = Vec::new();
            for o in self.reread(again, now, &ledger).await? {
                self.tally(
                    o,
                    &mut report,
                    &mut oldest_failed,
                    &mut planned,
                    &mut unchecked,
                );
            }
        }

        // Every task of the cycle is planned: apply.
        if !self.stopping() {
            self.apply_all(planned, now, &mut report, &mut oldest_failed)
                .await?;
        }
        self.src.keep_learnt().await;
        report.effects.sort_by_key(|e| e.task);
        report.failed.sort_by_key(|(id, _)| *id);
        report.unreadable.sort_by_key(|(id, _)| *id);

        // Advance the cursor only past what was settled; failed tasks come back (tasks whose
        // comments wait are due by their row).
        if !self.stopping() && !self.opts.dry_run {
            let next = match oldest_failed {
                Some(f) => f.min(polled.newest),
                None => polled.newest,
            };
            let mut meta = Vec::new();
            if cursor != Some(next) && (next > 0) {
                meta.push((CURSOR.to_string(), next.to_string()));
            }
            if polled.reconcile_due || cursor.is_none() {
                meta.push((RECONCILED.to_string(), now.timestamp().to_string()));
            }
            meta.push((LAST_SUCCESS.to_string(), now.timestamp().to_string()));
            self.store
                .write_batch(&Batch {
                    meta,
                    ..Batch::default()
                })
                .await?;
        }
        Ok(report)
    }

    /// Applies the plans of a cycle: ready requests first, then the oldest (by tag time); the
    /// comments count against `[effects] max_posts_per_cycle`, and once a plan's comments do
    /// not fit, no later plan posts: those tasks wait for the next cycle, their rows not
    /// advanced (only due again now), so nothing is lost. Plans without comments (marks, or
    /// nothing to do) are applied always. Applied plans are stored in batches of
    /// [`WRITE_BATCH`], one transaction each. In dry-run: printed, counted, nothing written.
    async fn apply_all(
        &self,
        planned: Plans,
        now: DateTime<Utc>,
        report: &mut CycleReport,
        oldest_failed: &mut Option<i64>,
    ) -> anyhow::Result<()> {
        let mut order: Vec<Planned> = planned.all.into_values().collect();
        order.sort_by_key(|p| Plans::key(&p.plan));
        let mut budget = self.rules.effects.max_posts_per_cycle as usize;
        let mut go = Vec::new();
        let mut waiting = Vec::new();
        let mut full = false;
        for p in order {
            let n = p.plan.comments();
            if p.waits {
                waiting.push(p);
            } else if n == 0 {
                go.push(p);
            } else if !full && n <= budget {
                budget -= n;
                go.push(p);
            } else {
                full = true;
                waiting.push(p);
            }
        }
        report.waiting = waiting.len();
        if !waiting.is_empty() {
            info!(
                phase = "post",
                waiting = waiting.len(),
                max_posts_per_cycle = self.rules.effects.max_posts_per_cycle,
                "post limit of the cycle reached: the other requests are posted in later cycles"
            );
        }
        // Each settled plan's row is stored while the other plans are still being applied: the
        // writer takes what has settled since its last write (up to [`WRITE_BATCH`] rows, one
        // transaction), so SQLite works on its own thread while requests are in flight.
        let (settle_tx, mut settle_rx) = mpsc::unbounded_channel::<Plan>();
        let writer = async {
            // The cycle's key sightings go with the first settled rows, in their transaction.
            let mut keys = std::mem::take(&mut *lock(&self.keys));
            let mut written: anyhow::Result<()> = Ok(());
            while let Some(first) = settle_rx.recv().await {
                if written.is_err() {
                    continue;
                }
                let mut batch = Batch {
                    keys: std::mem::take(&mut keys),
                    ..Batch::default()
                };
                let mut next = Some(first);
                while let Some(plan) = next {
                    if let Some(a) = plan.audit {
                        batch.audit.push(a);
                    }
                    batch.tasks.push(plan.row);
                    batch.lifecycle.extend(plan.lifecycle);
                    next = if batch.tasks.len() < WRITE_BATCH {
                        settle_rx.try_recv().ok()
                    } else {
                        None
                    };
                }
                written = self.store.write_batch(&batch).await.map_err(Into::into);
            }
            written.map(|()| keys)
        };
        let applier = async move {
            let mut settled = Vec::new();
            let applied = futures::stream::iter(go)
                .map(|mut p| async move {
                    let span = tracing::info_span!("task", task = %p.plan.task, phase = "settle");
                    let (effects, result) = self.apply(&mut p.plan).instrument(span).await;
                    (p, effects, result)
                })
                .buffer_unordered(self.lanes());
            let mut applied = std::pin::pin!(applied);
            while let Some((p, effects, result)) = applied.next().await {
                report.effects.extend(effects);
                let id = p.plan.task;
                match result {
                    Ok(()) => {
                        if let Some(a) = &p.plan.audit {
                            info!(task = %id, phase = "verdict", old = a.old.as_deref().unwrap_or("-"), new = a.new.as_str(), "verdict changed");
                        }
                        if !self.opts.dry_run {
                            // The writer lives as long as this sender: it cannot be gone.
                            let _ = settle_tx.send(p.plan);
                        }
                        settled.push(id);
                    }
                    Err(e) => {
                        warn!(task = %id, phase = "settle", error = %format!("{e:#}"), "cannot settle the task; retrying next cycle");
                        fail(report, oldest_failed, id, p.date_modified, format!("{e:#}"));
                    }
                }
            }
            (settled, report)
        };
        let ((settled, report), keys) = tokio::join!(applier, writer);
        let keys = keys?;
        report.evaluated += settled.len();
        if self.opts.dry_run {
            return Ok(());
        }
        let mut batch = Batch {
            keys,
            ..Batch::default()
        };
        // Waiting: due again next cycle, their rows as they were.
        for p in waiting {
            let mut row = p.stored.unwrap_or_else(|| TaskRow {
                id: p.plan.row.id,
                phid: p.plan.row.phid.clone(),
                title: p.plan.row.title.clone(),
                requester: p.plan.row.requester.clone(),
                created_at: p.plan.row.created_at,
                tagged_at: p.plan.row.tagged_at,
                open: true,
                ..TaskRow::default()
            });
            row.wake_at = Some(now);
            row.report_json = String::new();
            batch.tasks.push(row);
            if batch.tasks.len() >= WRITE_BATCH {
                self.store.write_batch(&std::mem::take(&mut batch)).await?;
            }
        }
        self.store.write_batch(&batch).await?;
        for id in settled {
            self.clear_unreadable(id).await?;
        }
        Ok(())
    }

    /// Reads the tasks `ids` again and processes them, every key of the cycle being recorded
    /// by then (none is deferred); nothing when stopping.
    async fn reread(
        &self,
        mut ids: Vec<u64>,
        now: DateTime<Utc>,
        ledger: &Mutex<KeyLedger>,
    ) -> anyhow::Result<Vec<Outcome>> {
        if ids.is_empty() || self.stopping() {
            return Ok(Vec::new());
        }
        ids.sort_unstable();
        let read = self.client().read_tasks(&ids).await?;
        let mut out = Vec::new();
        for u in read.unreadable {
            if let Some(id) = u.id {
                self.set_aside(TaskId::new(id), None, &u.reason, now)
                    .await?;
                out.push(Outcome::Unreadable {
                    id: TaskId::new(id),
                    reason: u.reason,
                });
            }
        }
        let handed = self.read_batch(read.tasks).await;
        out.extend(
            futures::stream::iter(handed)
                .map(|(t, txs)| self.process(t, txs, now, ledger))
                .buffer_unordered(self.lanes())
                .collect::<Vec<_>>()
                .await,
        );
        Ok(out)
    }

    /// Tasks worked on at once: twice the requests in flight, so that one task's local work
    /// never leaves a request slot idle.
    fn lanes(&self) -> usize {
        2 * self.opts.concurrency.max(1)
    }

    /// The poll: pages of changed tasks (one call when nothing changed), then the tasks due a
    /// re-read (time, nudge, reconcile, and `concerned`: those a new `data.yaml` concerns);
    /// each batch's requesters are prefetched before it is handed to the pipeline. Granted
    /// requests are read again only when they change or their expiry is due (`wake_at`, also
    /// once their task is closed), never on the reconcile cycle.
    async fn poll(
        &self,
        rows: &HashMap<i64, PollEntry>,
        cursor: Option<i64>,
        now: DateTime<Utc>,
        concerned: &HashSet<u64>,
        tx: mpsc::Sender<Vec<Task>>,
    ) -> anyhow::Result<Polled> {
        let project = self.src.context().project.clone();
        let mut seen: HashSet<u64> = HashSet::new();
        let mut newest: Option<i64> = None;
        let mut server_time: Option<i64> = None;
        let mut after: Option<String> = None;
        let mut unreadable = Vec::new();
        loop {
            let page = self
                .client()
                .read_tasks_page(&project, cursor, after.as_deref())
                .await?;
            // The first page's answer bounds what later modifications can be dated.
            if after.is_none() {
                server_time = page.server_time;
            }
            // A task that cannot be read is set aside; it does not hold the cursor back (its
            // modification time is unknown), and is met again only when it changes, or while
            // it is the most recently modified request (each poll then reads one answer up to
            // the size cap, no more).
            for u in page.unreadable {
                if let Some((id, reason)) = self.note_unreadable(u, now).await? {
                    seen.insert(id.get());
                    unreadable.push((id, reason));
                }
            }
            let mut batch = Vec::new();
            for mut t in page.tasks {
                newest = newest.max(Some(t.fields.date_modified));
                let known = rows.get(&(t.id as i64));
                if known.is_none_or(|r| r.date_modified != t.fields.date_modified)
                    && seen.insert(t.id)
                {
                    // Nothing below reads the workboard columns; do not hold them.
                    t.attachments.columns = None;
                    batch.push(t);
                }
            }
            if !self.hand_over(batch, &tx).await {
                break;
            }
            match page.after {
                Some(a) if Some(&a) != after.as_ref() => after = Some(a),
                _ => break,
            }
        }
        let changed = seen.len();
        let newest = next_start(cursor, newest, server_time);
        let set_aside = self.unreadable.lock().await.clone();

        // Tasks set aside as unreadable are read again when they change (the poll), not on
        // the reconcile: their timeline did not get readable by a comment edit.
        let periods = self.reconcile_periods();
        let mut reconcile_due = false;
        let mut due: Vec<u64> = rows
            .values()
            .filter(|r| !seen.contains(&(r.id as u64)))
            .filter(|r| !set_aside.contains_key(&(r.id as u64)))
            .filter(|r| {
                // Only granted requests keep a wake time once closed (their expiry).
                let reconcile = r.open && !r.granted && reconcile_due_now(r, now, periods);
                reconcile_due |= reconcile;
                r.wake_at.is_some_and(|w| w <= now.timestamp())
                    || reconcile
                    || (r.open && !r.granted && self.nudge_due(r, now))
                    || (r.open && concerned.contains(&(r.id as u64)))
            })
            .map(|r| r.id as u64)
            .collect();
        due.sort_unstable();
        let mut polled = Polled {
            changed,
            due: due.len(),
            newest,
            reconcile_due,
            unreadable: Vec::new(),
        };
        if due.is_empty() || tx.is_closed() || self.stopping() {
            polled.unreadable = unreadable;
            return Ok(polled);
        }
        let read = self.client().read_tasks(&due).await?;
        for u in read.unreadable {
            if let Some(id) = self.note_unreadable(u, now).await? {
                unreadable.push(id);
            }
        }
        polled.unreadable = unreadable;
        let mut fetched = read.tasks;
        let found: HashSet<u64> = fetched
            .iter()
            .map(|t| t.id)
            .chain(polled.unreadable.iter().map(|(id, _)| id.get()))
            .collect();
        for id in due
            .iter()
            .filter(|id| !found.contains(id) && !self.opts.dry_run)
        {
            // Gone from view (deleted, made private): stop tracking, keep the history.
            if let Some(mut r) = self.store.task(TaskId::new(*id)).await? {
                r.open = false;
                r.wake_at = None;
                self.store.put_task(&r).await?;
            }
        }
        fetched.sort_by_key(|t| t.id);
        while !fetched.is_empty() {
            let batch: Vec<Task> = fetched.drain(..fetched.len().min(BATCH)).collect();
            if !self.hand_over(batch, &tx).await {
                break;
            }
        }
        Ok(polled)
    }

    /// The reconcile's two periods in seconds: of the ready requests resting on comments
    /// (`reconcile_minutes`), and of the others (`reconcile_all_hours`, never shorter).
    fn reconcile_periods(&self) -> (i64, i64) {
        let t = &self.rules.timing;
        let comments = i64::from(t.reconcile_minutes.max(1)) * 60;
        (
            comments,
            (i64::from(t.reconcile_all_hours) * 3600).max(comments),
        )
    }

    /// Hands a batch to the reader (which reads its timelines and prefetches what its tasks
    /// need before the pipeline takes it); false when the pipeline stopped taking tasks.
    async fn hand_over(&self, batch: Vec<Task>, tx: &mpsc::Sender<Vec<Task>>) -> bool {
        if self.stopping() || tx.is_closed() {
            return false;
        }
        if batch.is_empty() {
            return true;
        }
        self.monitor.tasks_handed(batch.len());
        tx.send(batch).await.is_ok()
    }

    /// Reads the timelines of a batch (as many at once as the pipeline has lanes; the client
    /// holds the requests in flight to `concurrency`), then warms the evidence caches for the
    /// whole batch at once ([`EvidenceSource::prefetch`]): the accounts of its requesters
    /// and of everyone who commented on it in one `user.search` per 100, instead of one for
    /// each task that has a first-seen commenter.
    async fn read_batch(&self, batch: Vec<Task>) -> Vec<Handed> {
        let handed: Vec<Handed> = futures::stream::iter(batch)
            .map(|t| async move {
                let txs = self.client().transactions(TaskId::new(t.id)).await;
                (t, txs)
            })
            .buffered(self.lanes())
            .collect()
            .await;
        let tasks: Vec<&Task> = handed.iter().map(|(t, _)| t).collect();
        let timelines: Vec<&[Transaction]> = handed
            .iter()
            .filter_map(|(_, txs)| txs.as_deref().ok())
            .collect();
        let ids: Vec<u64> = tasks.iter().map(|t| t.id).collect();
        tokio::join!(
            self.src.prefetch(&tasks, &timelines),
            self.load_stored(&ids)
        );
        handed
    }

    /// Reads the stored rows and lifecycle rows of a batch's tasks, one query each, for
    /// [`Self::stored_row`] and [`Self::stored_life`]; if that fails, each task reads its own.
    async fn load_stored(&self, ids: &[u64]) {
        if ids.is_empty() {
            return;
        }
        let (rows, lives) = tokio::join!(
            self.store.task_briefs_of(ids),
            self.store.lifecycles_of(ids)
        );
        match (rows, lives) {
            (Ok(rows), Ok(lives)) => {
                let mut s = lock(&self.stored);
                for id in ids {
                    s.rows.insert(*id, None);
                    s.lives.insert(*id, None);
                }
                for r in rows {
                    s.rows.insert(r.id.get(), Some(r));
                }
                for l in lives {
                    s.lives.insert(l.task_id.get(), Some(l));
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                warn!(error = %e, "cannot read the batch's stored rows: reading them task by task")
            }
        }
    }

    /// A task's stored row without its report: as read for its batch, else on its own.
    async fn stored_row(&self, id: TaskId) -> Result<Option<TaskRow>, StoreError> {
        let read = lock(&self.stored).rows.remove(&id.get());
        match read {
            Some(row) => Ok(row),
            None => self.store.task_brief(id).await,
        }
    }

    /// A task's stored lifecycle row: as read for its batch, else on its own.
    async fn stored_life(&self, id: TaskId) -> Result<Option<LifecycleRow>, StoreError> {
        let read = lock(&self.stored).lives.remove(&id.get());
        match read {
            Some(life) => Ok(life),
            None => self.store.lifecycle(id).await,
        }
    }

    /// Gathers one task from its timeline (`txs`, read for its batch), records its key (in
    /// the cycle's ledger, and in the store unless dry-run), then plans it.
    async fn process(
        &self,
        t: Task,
        txs: Result<Vec<Transaction>, ConduitError>,
        now: DateTime<Utc>,
        ledger: &Mutex<KeyLedger>,
    ) -> Outcome {
        if self.stopping() {
            return Outcome::Skipped;
        }
        let id = TaskId::new(t.id);
        let date_modified = t.fields.date_modified;
        let row = match self.stored_row(id).await {
            Ok(r) => r,
            Err(e) => {
                return Outcome::failed(
                    id,
                    date_modified,
                    format!("cannot read the stored row: {e}"),
                )
            }
        };
        let span = tracing::info_span!("task", task = %id, phase = "gather");
        let mut t = t;
        let gathered = self
            .gather(&mut t, txs, row.as_ref())
            .instrument(span)
            .await;
        let (last_xact, g) = match gathered {
            Ok(r) => r,
            Err(e) if e.is_unreadable() => {
                let reason = format!("it cannot be read whole: {e}");
                return match self.set_aside(id, Some(&t), &reason, now).await {
                    Ok(()) => Outcome::Unreadable { id, reason },
                    Err(e) => Outcome::failed(id, date_modified, format!("{e:#}")),
                };
            }
            Err(e) => return Outcome::failed(id, date_modified, e.to_string()),
        };
        if let Some(fp) = &g.fingerprint {
            let shell = g
                .facts
                .parsed
                .request
                .shell_user
                .as_ref()
                .map(|s| s.as_str());
            let since = g.key_since;
            let reuse_key = g.facts.subject.reuse_key(g.facts.task);
            if !self.opts.dry_run {
                lock(&self.keys).push(KeyRecord {
                    fingerprint: fp.clone(),
                    task: g.facts.task,
                    user: reuse_key.clone(),
                    shell_user: shell.map(str::to_string),
                    first: since,
                });
            }
            lock(ledger).record(fp, &reuse_key, since, t.id);
        }
        self.plan_task(t, row, last_xact, g, now, ledger).await
    }

    /// Looks up the other uses of a gathered task's key (the store's and the cycle's),
    /// evaluates it and plans it; notes which of the cycle's keys its evaluation saw.
    async fn plan_task(
        &self,
        t: Task,
        row: Option<TaskRow>,
        last_xact: Option<i64>,
        mut g: Gathered,
        now: DateTime<Utc>,
        ledger: &Mutex<KeyLedger>,
    ) -> Outcome {
        let id = TaskId::new(t.id);
        let date_modified = t.fields.date_modified;
        let seen = lock(ledger).seq;
        if let Err(e) = self.src.add_reuse(&mut g, &self.store).await {
            let error = format!("cannot look up the key's other uses: {e}");
            return Outcome::failed(id, date_modified, error);
        }
        let check = g.fingerprint.as_ref().map(|fp| {
            let who = g.facts.subject.reuse_key(g.facts.task);
            let mut ledger = lock(ledger);
            for task in ledger.earlier(fp, &who, g.key_since, t.id) {
                let reuse = policy::KeyReuse::EarlierRequest {
                    task: TaskId::new(task),
                };
                if !g.facts.key.reuse.contains(&reuse) {
                    g.facts.key.reuse.push(reuse);
                }
            }
            ledger.check(t.id, fp, &who, g.key_since, seen)
        });
        let life = match self.stored_life(id).await {
            Ok(l) => l,
            Err(e) => {
                let error = format!("cannot read the stored lifecycle: {e}");
                return Outcome::failed(id, date_modified, error);
            }
        };
        let (checklist, tracked) = self.evaluate(&g, now);
        let data_yaml = self.data_yaml.current();
        let ctx = self.src.context();
        let stored = row.clone();
        let plan = plan::plan(plan::Input {
            task: &t,
            last_xact,
            g: &g,
            checklist,
            tracked,
            row,
            life,
            data_yaml: &data_yaml,
            ready_column: ctx.ready_column.as_ref(),
            ready_tag: ctx.ready_tag.as_ref(),
            rules: &self.rules,
            now,
        });
        Outcome::Planned(Box::new(Planned {
            plan,
            stored,
            date_modified,
            check,
            waits: false,
        }))
    }

    /// The checklist of a gathered task; false with it when the task is no longer tagged
    /// (then its verdict is `untagged`, or `closed` when it is closed too).
    fn evaluate(&self, g: &Gathered, now: DateTime<Utc>) -> (Checklist, bool) {
        (policy::evaluate(&g.facts, &self.rules, now), g.facts.tagged)
    }

    /// Adds one task's outcome to the cycle: a plan is kept until every task is planned.
    fn tally(
        &self,
        o: Outcome,
        report: &mut CycleReport,
        oldest_failed: &mut Option<i64>,
        planned: &mut Plans,
        checks: &mut Vec<ReuseCheck>,
    ) {
        match o {
            Outcome::Skipped => {}
            Outcome::Unreadable { id, reason } => report.unreadable.push((id, reason)),
            Outcome::Failed {
                id,
                date_modified,
                error,
            } => fail(report, oldest_failed, id, date_modified, error),
            Outcome::Planned(mut p) => {
                checks.extend(p.check.take());
                planned.insert(*p);
            }
        }
    }

    /// Sets aside a task a page named as unreadable; one that shows no id can only be
    /// logged. Returns the task and the reason.
    async fn note_unreadable(
        &self,
        u: UnreadableTask,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<(TaskId, String)>> {
        let Some(id) = u.id else {
            warn!(phase = "read", reason = %u.reason, "a task of the page cannot be read and shows no id: skipped");
            return Ok(None);
        };
        let id = TaskId::new(id);
        self.set_aside(id, None, &u.reason, now).await?;
        Ok(Some((id, u.reason)))
    }

    /// Records a task that cannot be read: a WARN line (id and reason, never its text), a
    /// `blocked` row for clinic duty (`status --json` shows `"unreadable": reason`), an audit
    /// entry, and the entry that keeps it off the reconcile re-reads. A task that was ready
    /// (or marked ready) gets one comment saying its checklist no longer holds, and loses the
    /// ready tag. In dry-run, only the line.
    async fn set_aside(
        &self,
        id: TaskId,
        task: Option<&Task>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        warn!(task = %id, phase = "read", reason, "cannot read the task: set aside until it changes; clinic duty must look at it");
        if self.opts.dry_run {
            return Ok(());
        }
        let mut set = self.unreadable.lock().await;
        let old = self.store.task(id).await?;
        let mut row = old.clone().unwrap_or_else(|| TaskRow {
            id,
            ..TaskRow::default()
        });
        let was_ready = row.verdict == Verdict::Ready || row.ready_marked;
        let old_verdict = old
            .as_ref()
            .filter(|r| r.evaluated_at.is_some())
            .map(|r| r.verdict);
        if old_verdict != Some(Verdict::Blocked) {
            let evidence = serde_json::json!({ "unreadable": reason }).to_string();
            self.store
                .audit(
                    id,
                    now.timestamp(),
                    old_verdict.map(Verdict::as_str),
                    Verdict::Blocked.as_str(),
                    &evidence,
                )
                .await?;
        }
        if let Some(t) = task {
            row.phid = t.phid.clone();
            row.title = t.fields.name.clone();
            row.date_modified = plan::epoch(t.fields.date_modified);
            row.created_at = plan::epoch(t.fields.date_created);
            row.open = self.rules.phabricator.is_open(&t.fields.status.value);
        } else {
            row.open = true;
        }
        row.verdict = Verdict::Blocked;
        row.who = vec![Who::ClinicDuty];
        row.until_at = None;
        row.wake_at = None;
        // Not stale-nudged, not on the agenda as a review: nothing of it can be read.
        row.last_activity = None;
        row.meeting = None;
        row.evaluated_at = Some(now);
        row.report_json = serde_json::json!({
            "task": id,
            "verdict": "blocked",
            "until": null,
            "request": null,
            "checks": [],
            "unreadable": reason,
        })
        .to_string();
        self.store.put_task(&row).await?;
        set.insert(
            id.get(),
            UnreadableEntry {
                reason: reason.to_string(),
                since: now.timestamp(),
                notice_pending: was_ready,
            },
        );
        if was_ready {
            self.post_notice(id, &mut set).await?;
        }
        self.store
            .set_meta(UNREADABLE, &serde_json::to_string(&*set)?)
            .await?;
        Ok(())
    }

    /// Posts the notice of a set-aside task that its last checklist no longer holds (and
    /// takes the ready tag off when it was marked): one edit, not retried. On failure the
    /// notice stays pending for the next cycle ([`Self::post_pending_notices`]). Returns
    /// whether it was posted.
    async fn post_notice(
        &self,
        id: TaskId,
        set: &mut BTreeMap<u64, UnreadableEntry>,
    ) -> anyhow::Result<bool> {
        let Some(mut row) = self.store.task_brief(id).await? else {
            return Ok(false);
        };
        let mut txs =
            vec![serde_json::json!({"type": "comment", "value": report::unreadable_notice()})];
        if let (true, Some(tag)) = (row.ready_marked, self.src.context().ready_tag.clone()) {
            txs.push(serde_json::json!({"type": "projects.remove", "value": [tag.as_str()]}));
        }
        if let Err(e) = self.client().edit(id, serde_json::Value::Array(txs)).await {
            warn!(task = %id, phase = "post", error = %e, "cannot post that the task can no longer be read; trying again next cycle");
            return Ok(false);
        }
        info!(task = %id, phase = "post", kind = "unreadable-notice", "posted");
        row.ready_marked = false;
        self.store.put_task(&row).await?;
        if let Some(e) = set.get_mut(&id.get()) {
            e.notice_pending = false;
        }
        Ok(true)
    }

    /// Posts the notices that could not be posted when their task was set aside.
    async fn post_pending_notices(&self, report: &mut CycleReport) -> anyhow::Result<()> {
        if self.opts.dry_run {
            return Ok(());
        }
        let mut set = self.unreadable.lock().await;
        let pending: Vec<u64> = set
            .iter()
            .filter(|(_, e)| e.notice_pending)
            .map(|(id, _)| *id)
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        for id in pending {
            if self.post_notice(TaskId::new(id), &mut set).await? {
                report.effects.push(Effect {
                    task: TaskId::new(id),
                    kind: "unreadable-notice",
                    text: report::UNREADABLE_NOTICE.to_string(),
                    verdict: Verdict::Blocked,
                });
            }
        }
        self.store
            .set_meta(UNREADABLE, &serde_json::to_string(&*set)?)
            .await?;
        Ok(())
    }

    /// Forgets that a task was set aside, now that it was read and settled.
    async fn clear_unreadable(&self, id: TaskId) -> anyhow::Result<()> {
        if self.opts.dry_run {
            return Ok(());
        }
        let mut set = self.unreadable.lock().await;
        if set.remove(&id.get()).is_some() {
            info!(task = %id, phase = "read", "the task can be read again");
            self.store
                .set_meta(UNREADABLE, &serde_json::to_string(&*set)?)
                .await?;
        }
        Ok(())
    }

    fn nudge_due(&self, r: &PollEntry, now: DateTime<Utc>) -> bool {
        r.blocked
            && r.last_activity.is_some_and(|la| {
                r.nudged_for != Some(la)
                    && DateTime::from_timestamp(la, 0)
                        .is_some_and(|t| policy::is_stale(t, now, &self.rules.timing))
            })
    }

    /// Gathers a task's facts from its timeline as read (`txs`); the newest transaction id
    /// read comes along (the timeline itself is not kept).
    async fn gather(
        &self,
        t: &mut Task,
        txs: Result<Vec<Transaction>, ConduitError>,
        row: Option<&TaskRow>,
    ) -> Result<(Option<i64>, Gathered), ConduitError> {
        let mut txs = txs?;
        // A what-if (`--now`) reads the task as it was then.
        self.src.rewind(t, &mut txs);
        let g = self.src.gather(t, &txs, row).await?;
        Ok((txs.iter().map(|x| x.id as i64).max(), g))
    }

    /// Reads `data.yaml` again when it changed; then the open requests it concerns are due a
    /// re-read this cycle (a change of `data.yaml` touches no task): the removal tasks (their
    /// data.yaml change) and the user requests whose access it now shows.
    async fn data_yaml_concerns(&self) -> anyhow::Result<HashSet<u64>> {
        if !self.data_yaml.refresh() {
            return Ok(HashSet::new());
        }
        let DataYaml::Known(d) = self.data_yaml.current() else {
            return Ok(HashSet::new());
        };
        let (removals, requests) = self.store.data_yaml_candidates().await?;
        let mut due: HashSet<u64> = removals.into_iter().map(|id| id as u64).collect();
        for (id, user, groups) in requests {
            let groups = crate::view::group_list(&groups);
            if d.access(&user, &groups).complete() {
                due.insert(id as u64);
            }
        }
        if !due.is_empty() {
            info!(
                phase = "data-yaml",
                tasks = due.len(),
                "data.yaml changed: reading the requests it concerns again"
            );
        }
        Ok(due)
    }

    /// Applies one plan: the checklist, the stale nudge and the marks in one
    /// `maniphest.edit` (applied together or not at all), then each lifecycle comment in its
    /// own; in dry-run, prints what it would do. Fills in the checklist's transaction when the
    /// edit held nothing else (Phorge may reorder a combined edit's transactions; the next
    /// read-back records it then). Returns the effects, and whether all of it was done.
    async fn apply(&self, plan: &mut Plan) -> (Vec<Effect>, anyhow::Result<()>) {
        let mut effects = Vec::new();
        let result = self.apply_inner(plan, &mut effects).await;
        (effects, result)
    }

    async fn apply_inner(&self, plan: &mut Plan, effects: &mut Vec<Effect>) -> anyhow::Result<()> {
        let id = plan.task;
        let verdict = plan.verdict;
        let effect = |kind: &'static str, text: &str| Effect {
            task: id,
            kind,
            text: self.effect_text(text),
            verdict,
        };
        if plan.comment.is_some() || plan.nudge.is_some() || !plan.marks.is_empty() {
            if self.opts.dry_run {
                if let Some(text) = &plan.comment {
                    println!("--- {id}: would post a checklist ---\n{text}\n");
                }
                if let Some(text) = &plan.nudge {
                    println!("--- {id}: would post a nudge ---\n{text}\n");
                }
                for m in &plan.marks {
                    println!("--- {id}: would apply {} {} ---\n", m.kind(), m.target());
                }
            } else {
                let mut txs: Vec<serde_json::Value> = Vec::new();
                for text in plan.comment.iter().chain(plan.nudge.iter()) {
                    txs.push(serde_json::json!({"type": "comment", "value": text}));
                }
                txs.extend(plan.marks.iter().map(Mark::transaction));
                let res = self
                    .client()
                    .edit(id, serde_json::Value::Array(txs))
                    .await?;
                if plan.comment.is_some() {
                    self.monitor.posted("checklist");
                    if plan.nudge.is_none() && plan.marks.is_empty() {
                        plan.row.posted_xact = res.transactions.first().map(|x| x.phid.to_string());
                    }
                }
                if plan.nudge.is_some() {
                    self.monitor.posted("nudge");
                }
                for m in &plan.marks {
                    self.monitor.posted(m.kind());
                }
                info!(task = %id, phase = "post", checklist = plan.comment.is_some(), nudge = plan.nudge.is_some(), marks = plan.marks.len(), xact = plan.row.posted_xact.as_deref().unwrap_or("-"), "posted");
            }
            if let Some(text) = &plan.comment {
                effects.push(effect("checklist", text));
            }
            if let Some(text) = &plan.nudge {
                effects.push(effect("nudge", text));
            }
            for m in &plan.marks {
                effects.push(Effect {
                    task: id,
                    kind: m.kind(),
                    text: m.target().to_string(),
                    verdict,
                });
            }
        }
        for (kind, text) in &plan.posts {
            let kind = kind.as_str();
            if self.opts.dry_run {
                println!("--- {id}: would post a {kind} ---\n{text}\n");
            } else {
                let res = self.client().comment(id, text).await?;
                self.monitor.posted(kind);
                let xact = res.transactions.first().map(|x| x.phid.to_string());
                info!(task = %id, phase = "post", kind, xact = xact.as_deref().unwrap_or("-"), "posted");
            }
            effects.push(effect(kind, text));
        }
        Ok(())
    }

    /// What an effect keeps of a comment: all of it in dry-run, its first line otherwise
    /// (see [`Effect::text`]).
    fn effect_text(&self, text: &str) -> String {
        if self.opts.dry_run {
            text.to_string()
        } else {
            text.lines().next().unwrap_or_default().to_string()
        }
    }
}

/// Whether the reconcile re-reads the open request `r` now: once per period of its tier
/// (`periods`: ready and resting on comments or a paste, the others; see
/// [`Poller::reconcile_periods`]),
/// at its own moment in the period, so that the re-reads are spread over the period instead of
/// made in one burst. The period is cut into slots at `offset(id) + k × period` (offsets on a
/// grid of [`RECONCILE_STEP_SECONDS`]); the request
/// is due once a slot boundary passed since it was last read (never read: due). So it is read
/// at most once per period by the reconcile, and never more than a period (and a poll) after
/// its last read.
fn reconcile_due_now(r: &PollEntry, now: DateTime<Utc>, periods: (i64, i64)) -> bool {
    // Safety needs the frequent tier only where a READY stands on a comment (or a paste) that
    // can be edited without the task's dateModified moving. Any other request becomes ready
    // only through a full read of its timeline (a change, a wake-up, a nudge, this reconcile),
    // which sees every edit; for it the reconcile is liveness.
    let period = if r.ready && r.rests_on_comments {
        periods.0
    } else {
        periods.1
    }
    .max(1);
    let Some(read) = r.evaluated_at else {
        return true;
    };
    // A fixed, well-mixed offset per task (Fibonacci hashing), on a grid of
    // [`RECONCILE_STEP_SECONDS`]: the re-reads of one step share their batch's calls (the
    // read by ids, the pastes, the prefetch) instead of each poll paying them.
    let step = RECONCILE_STEP_SECONDS.min(period);
    let hash = ((r.id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as i64;
    let offset = hash % (period / step) * step;
    let slot = |t: i64| (t - offset).div_euclid(period);
    slot(now.timestamp()) > slot(read)
}

/// The next poll's `modifiedStart` after a poll from `cursor` that saw tasks modified up to
/// `newest`, the server answering at `server_time`: `newest` itself while later modifications
/// may still be dated in that second (the next poll reads that second's tasks again, a page of
/// 100 at a time), the second after it once the server's clock is [`CLOSE_AFTER_SECONDS`] past
/// it, so that a burst of hundreds of tasks in one second is never paged through again and an
/// idle poll stays one call. Never before `cursor`; without a `Date` the second stays open.
fn next_start(cursor: Option<i64>, newest: Option<i64>, server_time: Option<i64>) -> i64 {
    let start = cursor.unwrap_or(0);
    let Some(newest) = newest else {
        return start;
    };
    let closed = server_time.is_some_and(|t| t >= newest + CLOSE_AFTER_SECONDS);
    start.max(if closed { newest + 1 } else { newest })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Fingerprint;

    #[test]
    fn each_request_is_reconciled_once_per_period_of_its_tier_at_its_own_moment() {
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let periods = (1800, 6 * 3600);
        let entry = |id: i64, rests: bool, read: Option<i64>| PollEntry {
            id,
            date_modified: 0,
            open: true,
            wake_at: None,
            blocked: false,
            last_activity: None,
            nudged_for: None,
            granted: false,
            evaluated_at: read,
            rests_on_comments: rests,
            ready: true,
        };
        // Never read: due.
        assert!(reconcile_due_now(&entry(1, false, None), at(10), periods));
        // 1,000 requests all read at one instant, then polled every minute for two periods:
        // each is read exactly once per period of its tier, and the reads are spread.
        let t0 = 1_800_000_000;
        for (rests, period) in [(true, periods.0), (false, periods.1)] {
            let mut rows: Vec<PollEntry> =
                (1..=1000).map(|id| entry(id, rests, Some(t0))).collect();
            let mut reads = vec![0u32; rows.len()];
            let mut busiest = 0;
            let mut t = t0;
            while t < t0 + 2 * period {
                t += 60;
                let mut now_due = 0;
                for (i, r) in rows.iter_mut().enumerate() {
                    if reconcile_due_now(r, at(t), periods) {
                        reads[i] += 1;
                        now_due += 1;
                        r.evaluated_at = Some(t);
                    }
                }
                busiest = busiest.max(now_due);
            }
            assert!(reads.iter().all(|n| *n == 2), "{rests}: {reads:?}");
            // Spread: about 1,000 / (period / step) in the poll after each step, never a
            // burst of all.
            let even = 1000 * RECONCILE_STEP_SECONDS / period;
            assert!(busiest <= 3 * even + 3, "{rests}: {busiest} in one poll");
        }
        // Granted or closed requests are left to the caller; a read just now is never due.
        assert!(!reconcile_due_now(
            &entry(7, true, Some(t0)),
            at(t0),
            periods
        ));
        // Not ready: the slow tier, even resting on comments.
        let blocked = PollEntry {
            ready: false,
            ..entry(7, true, Some(t0))
        };
        assert!(!reconcile_due_now(&blocked, at(t0 + 3600), periods));
        assert!(reconcile_due_now(&blocked, at(t0 + 6 * 3600), periods));
    }

    #[test]
    fn the_cursor_closes_a_second_only_once_the_server_clock_is_past_it() {
        // Nothing new: the cursor stays.
        assert_eq!(next_start(Some(100), None, Some(500)), 100);
        assert_eq!(next_start(None, None, Some(500)), 0);
        // The server's clock is still in (or just after) the newest second: read it again.
        assert_eq!(next_start(Some(100), Some(200), Some(200)), 200);
        assert_eq!(next_start(Some(100), Some(200), Some(201)), 200);
        // Far enough past it: no later modification can be dated in it.
        assert_eq!(next_start(Some(100), Some(200), Some(202)), 201);
        // No `Date`: never closed.
        assert_eq!(next_start(Some(100), Some(200), None), 200);
        // Never behind the cursor (an old database's cursor is the newest second seen).
        assert_eq!(next_start(Some(300), Some(200), Some(900)), 300);
    }

    #[test]
    fn the_ledger_finds_an_earlier_use_recorded_late_by_time_then_transaction() {
        let at = |s: i64, x: u64| Moment::of(DateTime::from_timestamp(s, 0).unwrap(), x);
        let fp = Fingerprint::from("SHA256:k");
        let mut l = KeyLedger::default();
        // Both evaluated before either key was recorded (seen = 0), then both recorded.
        let copier = l.check(2, &fp, "copier", at(100, 11), 0);
        let owner = l.check(1, &fp, "owner", at(100, 10), 0);
        let third = l.check(
            3,
            &fp,
            "third",
            Moment::untracked(DateTime::from_timestamp(100, 0).unwrap()),
            0,
        );
        l.record(&fp, "copier", at(100, 11), 2);
        l.record(&fp, "owner", at(100, 10), 1);
        l.record(
            &fp,
            "third",
            Moment::untracked(DateTime::from_timestamp(100, 0).unwrap()),
            3,
        );
        // The copier (later id in the same second) and the undatable third are re-read; the
        // owner only because the third's tie cannot be settled (fail closed).
        assert_eq!(l.missed(&[copier, owner, third]), [1, 2, 3]);
        let mut l = KeyLedger::default();
        let copier = l.check(2, &fp, "copier", at(100, 11), 0);
        let owner = l.check(1, &fp, "owner", at(100, 10), 0);
        l.record(&fp, "owner", at(100, 10), 1);
        l.record(&fp, "copier", at(100, 11), 2);
        assert_eq!(l.missed(&[copier, owner]), [2]);
        // What a dry run (no key in the store) sees: the owner's earlier use, not its own.
        assert_eq!(l.earlier(&fp, "copier", at(100, 11), 2), [1]);
        assert_eq!(l.earlier(&fp, "Owner", at(100, 10), 1), Vec::<u64>::new());
        // The owner's own use on another task of theirs is no reuse.
        let again = l.check(4, &fp, "owner", at(100, 10), 0);
        assert_eq!(l.missed(&[again]), Vec::<u64>::new());
    }
}
