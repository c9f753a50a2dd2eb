//! The poller: one cycle polls the changed tasks (one call when nothing changed), re-reads the
//! tasks whose checklist time alone may change (and all open ones on the reconcile cycle),
//! evaluates them, and performs the effects: a checklist comment only when it differs from the
//! bot's last one read back from the task, one stale nudge per stretch, the ready column/tag.
//! The loop around it stops cleanly on SIGTERM or Ctrl-C between two tasks.

use crate::conduit::types::{Task, Transaction};
use crate::conduit::{Client, ConduitError};
use crate::evidence::{is_open, EvidenceSource, Gathered};
use crate::ids::{Phid, TaskId};
use crate::policy::{self, Checklist, Status, Verdict};
use crate::report;
use crate::rules::Rules;
use crate::store::{Store, TaskRow};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tracing::{info, warn, Instrument};

/// How many tasks are gathered before their keys are recorded and they are evaluated.
const CHUNK: usize = 256;
/// A task's timeline and the facts gathered from it.
type Read = (Vec<Transaction>, Gathered);
/// Meta key of the poll cursor (the newest dateModified seen).
const CURSOR: &str = "cursor";
/// Meta key of the last reconcile time.
const RECONCILED: &str = "reconciled_at";

/// The bot's clock: the system clock, or a settable instant (tests, what-if, the demo).
#[derive(Debug, Clone)]
pub enum Clock {
    /// `Utc::now()`.
    System,
    /// A fixed instant that can be moved.
    Fixed(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// A fixed clock at `t`.
    pub fn fixed(t: DateTime<Utc>) -> Clock {
        Clock::Fixed(Arc::new(Mutex::new(t)))
    }
    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => *t.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }
    /// Moves a fixed clock (no effect on the system clock).
    pub fn set(&self, t: DateTime<Utc>) {
        if let Clock::Fixed(c) = self {
            *c.lock().unwrap_or_else(|p| p.into_inner()) = t;
        }
    }
}

/// Poller options.
#[derive(Debug, Clone)]
pub struct PollerOptions {
    /// Perform no write on Phabricator.
    pub dry_run: bool,
    /// Tasks read at once.
    pub concurrency: usize,
    /// The clock.
    pub clock: Clock,
}

/// What one effect did (for logs, `--dry-run` and the demo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// The task.
    pub task: TaskId,
    /// `checklist`, `nudge`, `ready-column`, `ready-tag`, `unready-tag`.
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
}

/// The bot: evidence source, store, rules, options.
pub struct Poller {
    src: EvidenceSource,
    store: Store,
    rules: Arc<Rules>,
    opts: PollerOptions,
    stop: Arc<watch::Sender<bool>>,
    shutdown: watch::Receiver<bool>,
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
        Poller {
            src,
            store,
            rules,
            opts,
            stop: Arc::new(stop),
            shutdown,
        }
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

    /// Runs cycles until shutdown; `once` runs one.
    pub async fn run(&self, interval: std::time::Duration, once: bool) -> anyhow::Result<()> {
        loop {
            let started = std::time::Instant::now();
            match self.cycle().await {
                Ok(r) => info!(
                    phase = "cycle",
                    changed = r.changed,
                    due = r.due,
                    evaluated = r.evaluated,
                    effects = r.effects.len(),
                    failed = r.failed.len(),
                    calls = self.client().total_calls(),
                    ms = started.elapsed().as_millis() as u64,
                    "cycle done"
                ),
                Err(e)
                    if e.downcast_ref::<ConduitError>()
                        .is_some_and(|c| c.is_auth()) =>
                {
                    return Err(e)
                }
                Err(e) if once => return Err(e),
                Err(e) => {
                    warn!(phase = "cycle", error = %format!("{e:#}"), "cycle failed; retrying next cycle")
                }
            }
            if once || self.stopping() {
                return Ok(());
            }
            let mut rx = self.shutdown.clone();
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = rx.changed() => {}
            }
            if self.stopping() {
                return Ok(());
            }
        }
    }

    /// One cycle.
    pub async fn cycle(&self) -> anyhow::Result<CycleReport> {
        let now = self.opts.clock.now();
        let mut report = CycleReport::default();
        let rows: HashMap<i64, TaskRow> = self
            .store
            .task_briefs(false)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();

        // 1. Poll: one call (a page) when nothing changed.
        let cursor: Option<i64> = self.store.meta(CURSOR).await?.and_then(|c| c.parse().ok());
        let project = self.src.context().project.clone();
        let mut changed: BTreeMap<u64, Task> = BTreeMap::new();
        let mut newest = cursor.unwrap_or(0);
        let mut after: Option<String> = None;
        loop {
            let page = self
                .client()
                .tasks_page(&project, cursor, after.as_deref())
                .await?;
            for mut t in page.data {
                newest = newest.max(t.fields.date_modified);
                let known = rows.get(&(t.id as i64));
                if known.is_none_or(|r| r.date_modified != t.fields.date_modified) {
                    // Nothing below reads the workboard columns; do not hold them all cycle.
                    t.attachments.columns = None;
                    changed.insert(t.id, t);
                }
            }
            match page.cursor.after {
                Some(a) if Some(&a) != after.as_ref() => after = Some(a),
                _ => break,
            }
        }
        report.changed = changed.len();

        // 2. Due: time may have changed the checklist, a nudge may be due, or reconcile.
        let reconcile_due = match self
            .store
            .meta(RECONCILED)
            .await?
            .and_then(|c| c.parse::<i64>().ok())
        {
            Some(t) => now.timestamp() - t >= i64::from(self.rules.timing.reconcile_minutes) * 60,
            None => cursor.is_some(),
        };
        let due: Vec<u64> = rows
            .values()
            .filter(|r| r.open && !changed.contains_key(&(r.id as u64)))
            .filter(|r| {
                reconcile_due
                    || r.wake_at.is_some_and(|w| w <= now.timestamp())
                    || self.nudge_due(r, now)
            })
            .map(|r| r.id as u64)
            .collect();
        report.due = due.len();
        let mut tasks: Vec<Task> = changed.into_values().collect();
        if !due.is_empty() {
            let fetched = self.client().tasks_by_ids(&due).await?;
            for id in &due {
                if !fetched.iter().any(|t| t.id == *id) {
                    // Gone from view (deleted, made private): stop tracking, keep the history.
                    if let Some(mut r) = self.store.task(TaskId(*id)).await? {
                        r.open = false;
                        r.wake_at = None;
                        self.store.put_task(&r).await?;
                    }
                }
            }
            tasks.extend(fetched);
        }
        tasks.sort_by_key(|t| t.id);

        // 3. Evaluate in chunks: gather all, record their keys, then settle each.
        let mut oldest_failed: Option<i64> = None;
        // Chunks are drained so that a task's data is freed once it is settled.
        while !tasks.is_empty() {
            let chunk: Vec<Task> = tasks.drain(..tasks.len().min(CHUNK)).collect();
            if self.stopping() {
                break;
            }
            self.src.prefetch(&chunk).await;
            let gathered: Vec<(Task, Result<Read, String>)> = futures::stream::iter(chunk)
                .map(|t| {
                    let row = rows.get(&(t.id as i64));
                    async move {
                        let span =
                            tracing::info_span!("task", task = %TaskId(t.id), phase = "gather");
                        let r = self.gather(&t, row).instrument(span).await;
                        (t, r)
                    }
                })
                .buffer_unordered(self.opts.concurrency.max(1))
                .collect()
                .await;
            let mut ok = Vec::new();
            for (t, r) in gathered {
                match r {
                    Ok((txs, g)) => {
                        if let Some(fp) = &g.fingerprint {
                            let shell = g
                                .facts
                                .parsed
                                .request
                                .shell_user
                                .as_ref()
                                .map(|s| s.as_str());
                            self.store
                                .record_key(
                                    fp,
                                    g.facts.task,
                                    &g.facts.requester,
                                    shell,
                                    g.key_since.timestamp(),
                                )
                                .await?;
                        }
                        ok.push((t, txs, g));
                    }
                    Err(e) => {
                        warn!(task = %TaskId(t.id), phase = "gather", error = %e, "cannot read the task; retrying next cycle");
                        oldest_failed = Some(
                            oldest_failed
                                .map_or(t.fields.date_modified, |o| o.min(t.fields.date_modified)),
                        );
                        report.failed.push((TaskId(t.id), e));
                    }
                }
            }
            ok.sort_by_key(|(t, _, _)| t.id);
            // Settle the chunk with the same bounded concurrency: each task's effects are
            // independent of the others' (their keys were all recorded above), and the
            // results are merged back in task order.
            let settled: Vec<_> = futures::stream::iter(ok)
                .map(|(t, txs, mut g)| {
                    let row = rows.get(&(t.id as i64)).cloned();
                    async move {
                        if self.stopping() {
                            return None;
                        }
                        let id = TaskId(t.id);
                        let span = tracing::info_span!("task", task = %id, phase = "settle");
                        let mut local = CycleReport::default();
                        let r = self
                            .settle(&t, &txs, &mut g, row, now, &mut local)
                            .instrument(span)
                            .await;
                        Some((id, t.fields.date_modified, local, r))
                    }
                })
                .buffered(self.opts.concurrency.max(1))
                .collect()
                .await;
            for (id, date_modified, local, r) in settled.into_iter().flatten() {
                report.effects.extend(local.effects);
                match r {
                    Ok(()) => report.evaluated += 1,
                    Err(e) => {
                        warn!(task = %id, phase = "settle", error = %format!("{e:#}"), "cannot settle the task; retrying next cycle");
                        oldest_failed =
                            Some(oldest_failed.map_or(date_modified, |o| o.min(date_modified)));
                        report.failed.push((id, format!("{e:#}")));
                    }
                }
            }
        }

        // 4. Advance the cursor only past what was settled; failed tasks come back.
        let stopped_early = self.stopping();
        if !stopped_early {
            let next = match oldest_failed {
                Some(f) => f.min(newest),
                None => newest,
            };
            if cursor != Some(next) && (next > 0) {
                self.store.set_meta(CURSOR, &next.to_string()).await?;
            }
            if reconcile_due || cursor.is_none() {
                self.store
                    .set_meta(RECONCILED, &now.timestamp().to_string())
                    .await?;
            }
        }
        Ok(report)
    }

    fn nudge_due(&self, r: &TaskRow, now: DateTime<Utc>) -> bool {
        r.verdict == "blocked"
            && r.last_activity.is_some_and(|la| {
                r.nudged_for != Some(la)
                    && DateTime::from_timestamp(la, 0)
                        .is_some_and(|t| policy::is_stale(t, now, &self.rules.timing))
            })
    }

    async fn gather(
        &self,
        t: &Task,
        row: Option<&TaskRow>,
    ) -> Result<(Vec<Transaction>, Gathered), String> {
        let txs = self
            .client()
            .transactions(TaskId(t.id))
            .await
            .map_err(|e| e.to_string())?;
        let g = self
            .src
            .gather(t, &txs, row)
            .await
            .map_err(|e| e.to_string())?;
        Ok((txs, g))
    }

    /// Evaluates one gathered task and performs its effects, then stores the outcome.
    async fn settle(
        &self,
        t: &Task,
        txs: &[Transaction],
        g: &mut Gathered,
        row: Option<TaskRow>,
        now: DateTime<Utc>,
        report: &mut CycleReport,
    ) -> anyhow::Result<()> {
        let id = TaskId(t.id);
        self.src.add_reuse(g, &self.store).await?;
        let tracked = t
            .attachments
            .projects
            .as_ref()
            .is_none_or(|p| p.project_phids.contains(&self.src.context().project));
        if !tracked {
            g.facts.open = false;
        }
        let checklist = policy::evaluate(&g.facts, &self.rules, now);
        let mut row = row.unwrap_or_else(|| TaskRow {
            id: t.id as i64,
            ..TaskRow::default()
        });
        let old_verdict =
            (!row.verdict.is_empty() && row.evaluated_at.is_some()).then(|| row.verdict.clone());
        let tz = self.rules.timing.timezone;

        // Sudo bookkeeping: the meeting, who decided.
        match checklist.sudo_meeting {
            Some(m) => {
                let m = m.format("%Y-%m-%d").to_string();
                if row.first_meeting.is_none() {
                    row.first_meeting = Some(m.clone());
                }
                row.first_ready_at.get_or_insert(now.timestamp());
                row.meeting = Some(m);
            }
            None if checklist.verdict != Verdict::Declined => {
                row.meeting = None;
                row.first_meeting = None;
                row.first_ready_at = None;
            }
            None => {}
        }
        let review = checklist
            .checks
            .iter()
            .find(|c| c.id == policy::CheckId::SudoReview);
        match review {
            Some(c) if checklist.verdict == Verdict::Declined || c.status == Status::Pass => {
                row.decision = Some(
                    if checklist.verdict == Verdict::Declined {
                        "declined"
                    } else {
                        "approved"
                    }
                    .into(),
                );
                if let Some(e) = c.evidence.last() {
                    if let Some(cf) = g.facts.comments.iter().find(|cf| cf.xact == e.xact) {
                        row.decided_by = Some(cf.author.to_string());
                        row.decided_at = Some(cf.at.timestamp());
                    }
                }
            }
            _ => {
                row.decision = None;
                row.decided_by = None;
                row.decided_at = None;
            }
        }

        // The checklist comment: only when it differs from the bot's last one on the task.
        let active = matches!(
            checklist.verdict,
            Verdict::Ready | Verdict::Waiting | Verdict::Blocked | Verdict::Declined
        );
        let mut text = report::comment(&checklist, tz, now);
        if row.ready_marked && checklist.verdict != Verdict::Ready && active {
            text = text.replacen(
                "\n\n//Evaluated",
                "\n\nNote: this request was marked ready to grant earlier and no longer is; do not grant it until this checklist says READY again.\n\n//Evaluated",
                1,
            );
        }
        let hash = report::comment_hash(&text);
        let last_posted = g
            .timeline
            .bot_comments
            .iter()
            .rev()
            .find(|c| !c.removed && report::is_checklist(&c.text));
        let last_hash = last_posted.map(|c| report::comment_hash(&c.text));
        if active && last_hash.as_deref() != Some(hash.as_str()) {
            let xact = self
                .post(id, "checklist", &text, checklist.verdict, report)
                .await?;
            if !self.opts.dry_run {
                row.posted_hash = Some(hash.clone());
                row.posted_xact = xact;
                row.posted_at = Some(now.timestamp());
            }
        } else if let Some(c) = last_posted {
            row.posted_hash = last_hash;
            row.posted_xact = Some(c.xact.to_string());
        }

        // Ready to grant: the column / tag, once.
        if checklist.verdict == Verdict::Ready && !row.ready_marked {
            let mut marked = false;
            if let Some(col) = self.src.context().ready_column.clone() {
                self.effect_edit(id, "ready-column", &col, checklist.verdict, report)
                    .await?;
                marked = true;
            }
            if let Some(tag) = self.src.context().ready_tag.clone() {
                self.effect_edit(id, "ready-tag", &tag, checklist.verdict, report)
                    .await?;
                marked = true;
            }
            row.ready_marked = marked && !self.opts.dry_run;
        } else if checklist.verdict != Verdict::Ready && row.ready_marked {
            if let Some(tag) = self.src.context().ready_tag.clone() {
                let has_tag = t
                    .attachments
                    .projects
                    .as_ref()
                    .is_some_and(|p| p.project_phids.contains(&tag));
                if has_tag {
                    self.effect_edit(id, "unready-tag", &tag, checklist.verdict, report)
                        .await?;
                }
            }
        }

        // Stale nudge: once per stretch without progress; read back from the timeline too.
        let last_activity = g.timeline.last_activity;
        if let Some(la) = last_activity {
            let stretch_nudged = row.nudged_for == Some(la.timestamp())
                || g.timeline
                    .bot_comments
                    .iter()
                    .any(|c| c.at >= la && !report::is_checklist(&c.text));
            // Only when someone must act: a request waiting for time alone is not stale.
            if checklist.verdict == Verdict::Blocked
                && policy::is_stale(la, now, &self.rules.timing)
                && !stretch_nudged
            {
                let text = report::stale_nudge(
                    &self.rules.phabricator.clinic_duty,
                    la,
                    self.rules.timing.stale_after_business_days,
                    tz,
                );
                self.post(id, "nudge", &text, checklist.verdict, report)
                    .await?;
                if !self.opts.dry_run {
                    row.nudged_for = Some(la.timestamp());
                }
            } else if stretch_nudged {
                row.nudged_for = Some(la.timestamp());
            }
        }

        // Store the outcome (and the audit entry when the verdict changed).
        if old_verdict.as_deref() != Some(checklist.verdict.as_str()) {
            let evidence = serde_json::to_string(&checklist.checks)?;
            self.store
                .audit(
                    id,
                    now.timestamp(),
                    old_verdict.as_deref(),
                    checklist.verdict.as_str(),
                    &evidence,
                )
                .await?;
            info!(task = %id, phase = "verdict", old = old_verdict.as_deref().unwrap_or("-"), new = checklist.verdict.as_str(), "verdict changed");
        }
        fill_row(&mut row, t, txs, g, &checklist, now, tracked);
        self.store.put_task(&row).await?;
        Ok(())
    }

    /// Posts a comment (or prints it in dry-run); returns its transaction PHID.
    async fn post(
        &self,
        id: TaskId,
        kind: &'static str,
        text: &str,
        verdict: Verdict,
        report: &mut CycleReport,
    ) -> anyhow::Result<Option<String>> {
        let mut posted = None;
        if self.opts.dry_run {
            println!("--- {id}: would post a {kind} ---\n{text}\n");
        } else {
            let res = self.client().comment(id, text).await?;
            let xact = res.transactions.first().map(|x| x.phid.to_string());
            info!(task = %id, phase = "post", kind, xact = xact.as_deref().unwrap_or("-"), "posted");
            if kind == "checklist" {
                self.store
                    .record_posted(
                        id,
                        &report::comment_hash(text),
                        xact.as_deref(),
                        Utc::now().timestamp(),
                    )
                    .await?;
            }
            posted = xact;
        }
        report.effects.push(Effect {
            task: id,
            kind,
            text: if self.opts.dry_run {
                text.to_string()
            } else {
                text.lines().next().unwrap_or_default().to_string()
            },
            verdict,
        });
        Ok(posted)
    }

    async fn effect_edit(
        &self,
        id: TaskId,
        kind: &'static str,
        target: &Phid,
        verdict: Verdict,
        report: &mut CycleReport,
    ) -> anyhow::Result<()> {
        if self.opts.dry_run {
            println!("--- {id}: would apply {kind} {target} ---\n");
        } else {
            let tx = match kind {
                "ready-column" => {
                    serde_json::json!([{"type": "column", "value": [target.as_str()]}])
                }
                "ready-tag" => {
                    serde_json::json!([{"type": "projects.add", "value": [target.as_str()]}])
                }
                _ => serde_json::json!([{"type": "projects.remove", "value": [target.as_str()]}]),
            };
            self.client().edit(id, tx).await?;
        }
        report.effects.push(Effect {
            task: id,
            kind,
            text: target.to_string(),
            verdict,
        });
        Ok(())
    }
}

/// Copies the evaluation into the stored row.
fn fill_row(
    row: &mut TaskRow,
    t: &Task,
    txs: &[Transaction],
    g: &Gathered,
    checklist: &Checklist,
    now: DateTime<Utc>,
    tracked: bool,
) {
    row.phid = t.phid.to_string();
    row.title = t.fields.name.clone();
    row.requester = g.facts.requester.to_string();
    row.shell_user = checklist.request.shell_user.clone();
    row.groups = checklist.request.groups.join(",");
    row.sudo = checklist.request.sudo;
    row.open = tracked && is_open(&t.fields.status.value);
    row.verdict = checklist.verdict.as_str().to_string();
    row.until_at = checklist.until.map(|u| u.timestamp());
    row.who = report::who_must_act(checklist).join(",");
    row.tagged_at = g.timeline.tagged_at.map(|t| t.timestamp());
    row.created_at = g
        .timeline
        .created_at
        .map(|t| t.timestamp())
        .unwrap_or(t.fields.date_created);
    row.date_modified = t.fields.date_modified;
    row.last_activity = g.timeline.last_activity.map(|t| t.timestamp());
    let mut json = serde_json::to_value(checklist).unwrap_or_default();
    if let Some(o) = json.as_object_mut() {
        o.insert("first_meeting".into(), row.first_meeting.clone().into());
    }
    row.report_json = json.to_string();
    row.evaluated_at = Some(now.timestamp());
    row.last_xact_id = txs
        .iter()
        .map(|x| x.id as i64)
        .max()
        .unwrap_or(row.last_xact_id);
    // Re-read when the earliest time-bound item settles.
    row.wake_at = checklist
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .filter_map(|c| c.until)
        .filter(|u| *u > now)
        .min()
        .map(|u| u.timestamp());
    row.checklist_hash = Some(report::comment_hash(&report::comment(
        checklist,
        chrono_tz::UTC,
        now,
    )));
}
