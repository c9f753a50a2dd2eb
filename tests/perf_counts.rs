//! Conduit call counts of the bot (issue 8), pinned against the simulator: counts are
//! deterministic where timings are not, so only counts are asserted here. Timings live in
//! `examples/sync-bench.rs` and `BENCHMARKS.md`.

mod common;

use accessbot::bot::Bot;
use accessbot::conduit::{ClientOptions, Token};
use accessbot::policy::Verdict;
use accessbot::poller::Clock;
use accessbot::rules::Rules;
use accessbot::sim::{self, Scenario, SimHandle, SimOptions, Stats};
use accessbot::store::Store;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// A simulator on `sc` at `now` and a fresh bot (concurrency 8) with a settable clock.
struct Bench {
    sim: SimHandle,
    clock: Clock,
    bot: Bot,
    token: String,
    concurrency: usize,
    rules: Arc<Rules>,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn start(sc: Scenario, now: DateTime<Utc>) -> Bench {
        Bench::start_with(sc, now, 0, 8).await
    }

    /// With `latency_ms` on every simulated call and `concurrency` requests in flight at most.
    async fn start_with(
        sc: Scenario,
        now: DateTime<Utc>,
        latency_ms: u64,
        concurrency: usize,
    ) -> Bench {
        let token =
            accessbot::bot::scenario_token(&sc).expect("generated scenarios have a bot token");
        let opts = SimOptions {
            now: Some(now),
            latency_ms,
            ..SimOptions::default()
        };
        let sim = sim::start(sc, opts, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::fixed(now);
        let rules = common::rules_uncapped();
        let bot = new_bot(&sim, &token, concurrency, &clock, dir.path(), &rules).await;
        sim.reset_stats();
        Bench {
            sim,
            clock,
            bot,
            token,
            concurrency,
            rules,
            _dir: dir,
        }
    }

    /// The same bench with a bot on `rules` instead (before anything ran: the database is
    /// still empty).
    async fn with_rules(mut self, rules: Rules) -> Bench {
        self.rules = Arc::new(rules);
        self.restart().await;
        self.sim.reset_stats();
        self
    }

    /// A restart: a new bot (client, caches, store connection) on the same database.
    async fn restart(&mut self) {
        self.bot = new_bot(
            &self.sim,
            &self.token,
            self.concurrency,
            &self.clock,
            self._dir.path(),
            &self.rules,
        )
        .await;
    }

    /// Runs a cycle in which nothing changed: its poll is one call. The reconcile is spread
    /// over its period, so the cycle may also re-read a few requests due now: those cost one
    /// `maniphest.search` by id and their own reads, counted apart.
    async fn idle_poll_is_one_call(&self, label: i32) {
        self.sim.reset_stats();
        let r = self.bot.cycle().await.expect("cycle");
        let s = self.sim.stats();
        assert_eq!(r.changed, 0, "{label}: {r:?}");
        let polls = count(&s, "maniphest.search") - u64::from(r.due > 0);
        assert_eq!(polls, 1, "idle poll {label}: {:?}", s.calls);
        if r.due == 0 {
            assert_eq!(s.total, 1, "idle poll {label}: {:?}", s.calls);
        }
    }

    fn set_now(&self, t: DateTime<Utc>) {
        self.sim.set_now(t);
        self.clock.set(t);
    }

    /// Runs `cycles` cycles (none may fail) and returns the calls they made.
    async fn cycles(&self, cycles: usize) -> Stats {
        self.sim.reset_stats();
        for _ in 0..cycles {
            let r = self.bot.cycle().await.expect("cycle");
            assert!(r.failed.is_empty(), "failed tasks: {:?}", r.failed);
        }
        self.sim.stats()
    }
}

/// A bot as a process starts: its client, evidence source and store on `dir`'s database.
async fn new_bot(
    sim: &SimHandle,
    token: &str,
    concurrency: usize,
    clock: &Clock,
    dir: &std::path::Path,
    rules: &Arc<Rules>,
) -> Bot {
    Bot::builder()
        .url(sim.url())
        .token(Token::new(token.to_string()))
        .client_options(ClientOptions {
            retries: 0,
            max_in_flight: concurrency,
            ..ClientOptions::default()
        })
        .rules(rules.clone())
        .db(dir.join("accessbot.db"))
        .clock(clock.clone())
        .concurrency(concurrency)
        .build()
        .await
        .unwrap()
}

fn count(s: &Stats, method: &str) -> u64 {
    s.calls.get(method).copied().unwrap_or(0)
}

#[tokio::test]
async fn a_cold_sync_batches_accounts_memberships_and_signatures_then_idles_at_one_call() {
    let n = 40;
    let sc = sim::generate(n, 8);
    let now = sc.now;
    let b = Bench::start(sc, now).await;

    let sync = b.cycles(2).await;
    // Memberships: each project looked up and read once, not once per task gathered at once.
    assert_eq!(count(&sync, "project.search"), 4, "{:?}", sync.calls);
    // Signatures: the requesters of a batch in one call, not one per task.
    assert_eq!(
        count(&sync, "legalpad.signature.search"),
        1,
        "{:?}",
        sync.calls
    );
    // Accounts: the batch's requesters and commenters in one call (the accounts its requests
    // name are among them here); none task by task, none when the bot's comments are read
    // back.
    assert_eq!(count(&sync, "user.search"), 1, "{:?}", sync.calls);
    // Every request gets its checklist, in one edit each.
    let posted = count(&sync, "maniphest.edit");
    assert!(posted > 0 && posted <= n as u64, "{:?}", sync.calls);

    let idle = b.cycles(1).await;
    assert_eq!(idle.total, 1, "idle poll: {:?}", idle.calls);
    assert_eq!(count(&idle, "maniphest.search"), 1);
}

#[tokio::test]
async fn a_new_task_by_known_users_costs_two_timeline_reads_a_page_and_one_edit() {
    // One request, synced; then a second one by the same requester, manager and lead.
    let mut sc = sim::generate(1, 8);
    let now = sc.now;
    let mut second = sc.tasks[0].clone();
    second.id += 1;
    second.at = now + Duration::minutes(5);
    for (i, e) in second.events.iter_mut().enumerate() {
        e.at = second.at + Duration::minutes(1 + i as i64);
    }
    let comments = second.events.iter().filter(|e| e.comment.is_some()).count();
    sc.tasks.push(second);
    let b = Bench::start(sc, now).await;
    b.cycles(2).await;
    assert_eq!(b.cycles(1).await.total, 1, "idle before the new task");

    b.set_now(now + Duration::minutes(20));
    let s = b.cycles(2).await;
    let polls = 2; // one maniphest.search page per cycle, paid by an idle poll too
    assert_eq!(count(&s, "maniphest.search"), polls, "{:?}", s.calls);
    assert_eq!(
        count(&s, "maniphest.edit"),
        1,
        "one checklist: {:?}",
        s.calls
    );
    assert_eq!(
        count(&s, "transaction.search"),
        2,
        "the timeline when it changed and when the bot's comment landed: {:?}",
        s.calls
    );
    let page = if comments > 0 { 1 } else { 0 };
    assert_eq!(count(&s, "task.page"), page, "{:?}", s.calls);
    // Known users: caches answer for accounts, memberships, signatures and pastes.
    for cached in [
        "user.search",
        "project.search",
        "legalpad.signature.search",
        "paste.search",
    ] {
        assert_eq!(count(&s, cached), 0, "{cached}: {:?}", s.calls);
    }
    let reads = s.total - count(&s, "maniphest.edit") - polls;
    assert!(reads <= 4, "reads beyond the polls: {:?}", s.calls);

    // And then idle again.
    assert_eq!(b.cycles(1).await.total, 1);
}

#[tokio::test]
async fn after_a_burst_of_hundreds_in_one_second_every_idle_poll_is_one_call() {
    // 150 checklists posted at one instant: more tasks modified in one second than a page
    // holds. Then, on the same tasks, 120 requester comments landing in one second.
    let n = 150;
    let mut sc = sim::generate(n, 8);
    let t0 = sc.now;
    let minute = Duration::seconds(60);
    let burst = t0 + minute * 3 + Duration::seconds(20);
    for t in sc.tasks.iter_mut().take(120) {
        let author = t.author.clone();
        t.events
            .push(accessbot::sim::scenario::ScenarioEvent::comment(
                burst,
                &author,
                "Any update on this request?",
            ));
    }
    let b = Bench::start(sc, t0).await;
    let sync = b.cycles(1).await;
    assert!(count(&sync, "maniphest.edit") > 100, "{:?}", sync.calls);
    // The poll that reads the burst back closes its second: the server's clock is past it.
    b.set_now(t0 + minute);
    b.cycles(1).await;
    for i in 2..=3 {
        b.set_now(t0 + minute * i);
        b.idle_poll_is_one_call(i).await;
    }
    // The requesters' burst: read once (two pages, the timelines and pastes), then idle.
    b.set_now(t0 + minute * 4);
    let changed = b.cycles(1).await;
    assert_eq!(
        count(&changed, "maniphest.search"),
        2,
        "{:?}",
        changed.calls
    );
    assert!(
        count(&changed, "transaction.search") >= 120,
        "{:?}",
        changed.calls
    );
    for i in 5..=7 {
        b.set_now(t0 + minute * i);
        b.idle_poll_is_one_call(i).await;
    }
}

/// The open, ungranted requests by reconcile tier: (ready and resting on comments, others).
async fn tiers(b: &Bench) -> (usize, usize) {
    let store = Store::open_read_only(&b._dir.path().join("accessbot.db"))
        .await
        .unwrap();
    let index = store.poll_index().await.unwrap();
    let open = index.iter().filter(|r| r.open && !r.granted);
    let comments = open
        .clone()
        .filter(|r| r.ready && r.rests_on_comments)
        .count();
    (comments, open.count() - comments)
}

#[tokio::test]
async fn the_reconcile_reads_ready_requests_on_comments_every_period_the_rest_every_six_hours() {
    // A month on: no waiting period, nothing that time alone settles.
    let base = sim::generate(40, 8);
    let t0 = base.now + Duration::days(30);
    let b = Bench::start(base, t0).await;
    let minute = Duration::seconds(60);
    for i in 0..3 {
        b.set_now(t0 + minute * i);
        b.cycles(1).await;
    }
    let (comments, others) = tiers(&b).await;
    assert!(comments > 0 && others > 0, "{comments} {others}");

    // Six hours of polls a minute apart (reconcile_minutes = 30, reconcile_all_hours = 6):
    // each ready request on comments is read 12 times, every other one once, spread.
    let mut due = 0;
    let mut busiest = 0;
    let mut timelines = 0;
    for i in 3..3 + 360 {
        b.set_now(t0 + minute * i);
        b.sim.reset_stats();
        let r = b.bot.cycle().await.expect("cycle");
        assert!(r.failed.is_empty() && r.effects.is_empty(), "{r:?}");
        assert_eq!(r.changed, 0);
        let s = b.sim.stats();
        assert_eq!(count(&s, "maniphest.search"), 1 + u64::from(r.due > 0));
        due += r.due;
        busiest = busiest.max(r.due);
        timelines += count(&s, "transaction.search");
    }
    assert_eq!(due, 12 * comments + others);
    // Pastes are read with their task (their transactions too): only the task's timeline is
    // counted here, one per re-read.
    let paste_timelines = timelines - due as u64;
    assert!(paste_timelines <= due as u64, "{timelines} {due}");
    // Spread: never more than a few at once (in one burst it would be all of them).
    assert!(busiest <= 4, "{busiest} re-read in one cycle");
}

#[tokio::test]
async fn a_ready_request_whose_approvals_are_edited_away_is_caught_within_reconcile_minutes() {
    // Which requests are ready a month on.
    let base = sim::generate(40, 8);
    let t0 = base.now + Duration::days(30);
    let plain = Bench::start(base.clone(), t0).await;
    let first = plain.bot.cycle().await.expect("cycle");
    let ready = first
        .effects
        .iter()
        .find(|e| e.kind == "checklist" && e.verdict == Verdict::Ready)
        .map(|e| e.task.get())
        .expect("a ready request");

    // The same world, in which every comment on it is edited into "Not approved." ten minutes
    // after the sync: no edit moves the task's dateModified, so no poll sees it.
    let edited_at = t0 + Duration::minutes(10);
    let mut sc = base;
    let task = sc.tasks.iter_mut().find(|t| t.id == ready).unwrap();
    let authors: Vec<String> = task
        .events
        .iter()
        .filter(|e| e.comment.is_some() && e.edit_comment.is_none())
        .map(|e| e.author.clone())
        .collect();
    for (n, author) in authors.into_iter().enumerate() {
        let mut edit =
            accessbot::sim::scenario::ScenarioEvent::comment(edited_at, &author, "Not approved.");
        edit.edit_comment = Some(n + 1);
        task.events.push(edit);
    }
    let b = Bench::start(sc, t0).await;
    let minute = Duration::seconds(60);
    let mut caught = None;
    for i in 0..=45 {
        b.set_now(t0 + minute * i);
        let r = b.bot.cycle().await.expect("cycle");
        let verdict = r
            .effects
            .iter()
            .find(|e| e.task.get() == ready && e.kind == "checklist")
            .map(|e| e.verdict);
        if i >= 10 && verdict.is_some_and(|v| v != Verdict::Ready) {
            caught = Some(i);
            break;
        }
    }
    let caught = caught.expect("the edited approvals were never seen");
    // Within reconcile_minutes (30) of the edit, a poll more at most.
    assert!(
        caught <= 10 + 30,
        "seen {} minutes after the edit",
        caught - 10
    );
    // What clinic duty reads: the READY checklist of the sync, then, when the reconcile read
    // the edited comments, one that is not READY and says which approvals were withdrawn, with
    // links to the comments. The minute it is caught is fixed: each task's reconcile moment is
    // a hash of its id.
    insta::assert_snapshot!(common::snap::thread(&b.sim, ready, b._dir.path()), @"
    --- comment 1 by accessbot at 2026-11-27T08:22:20+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user23
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:ecSo+WNcJO5MBugonrxaqzMoEJNcSv6q119CMTyU15c`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]user23 in the task description
    - [x] `l3`: @[zwsp]user23 signed `L3`
    - [x] `nda`: @[zwsp]user23 is staff
    - [x] `manager-approval`: approved by @[zwsp]mgr1
    - [x] `lead-approval:analytics-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-10-29 10:14 UTC

    //Evaluated 2026-11-27 08:22 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-27T09:00:20+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Since the last checklist//: no longer passing: manager-approval, lead-approval:analytics-users
    //Needed now//: @aotto (lead-approval:analytics-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user23
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:ecSo+WNcJO5MBugonrxaqzMoEJNcSv6q119CMTyU15c`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]user23 in the task description
    - [x] `l3`: @[zwsp]user23 signed `L3`
    - [x] `nda`: @[zwsp]user23 is staff
    - [ ] `manager-approval` (//manager//): approval withdrawn by @[zwsp]mgr1 on 2026-11-27 (T123#226); to approve again, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): approval withdrawn by @[zwsp]aotto on 2026-11-27 (T123#286); to approve again, comment `Approved.` or `Approved for analytics-users.`
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-10-29 10:14 UTC

    //Evaluated 2026-11-27 09:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

#[tokio::test]
async fn a_requester_disabled_after_a_ready_checklist_is_seen_once_the_account_cache_expires() {
    // Accounts are cached for `cache_ttl_minutes`; at 0 every read of a task reads them again.
    let base = sim::generate(40, 8);
    let t0 = base.now + Duration::days(30);
    let mut rules = (*common::rules_uncapped()).clone();
    rules.timing.cache_ttl_minutes = 0;
    let b = Bench::start(base.clone(), t0).await.with_rules(rules).await;
    let first = b.bot.cycle().await.expect("cycle");
    let ready = first
        .effects
        .iter()
        .find(|e| e.kind == "checklist" && e.verdict == Verdict::Ready)
        .map(|e| e.task.get())
        .expect("a ready request");
    let author = &base.tasks.iter().find(|t| t.id == ready).unwrap().author;

    // The requester's account is disabled ten minutes on: no task changes, so only the
    // reconcile reads the request again, and its account must then be read afresh.
    let minute = Duration::seconds(60);
    let mut caught = None;
    for i in 1..=45 {
        if i == 10 {
            assert!(b.sim.set_disabled(author, true), "no account {author}");
        }
        b.set_now(t0 + minute * i);
        let r = b.bot.cycle().await.expect("cycle");
        let verdict = r
            .effects
            .iter()
            .find(|e| e.task.get() == ready && e.kind == "checklist")
            .map(|e| e.verdict);
        assert!(
            i >= 10 || verdict.is_none_or(|v| v == Verdict::Ready),
            "{i}: {verdict:?}"
        );
        if i >= 10 && verdict.is_some_and(|v| v != Verdict::Ready) {
            caught = Some(i);
            break;
        }
    }
    let caught = caught.expect("the disabled account was never seen");
    assert!(caught <= 10 + 30, "seen {} minutes later", caught - 10);
    // What clinic duty reads: the READY checklist of the sync, then, once the account was
    // read again, one that is not READY: `subject` fails and the checks of the person wait for
    // it. (Its reason says no account matches the request, not that the author's account,
    // which the first checklist named, is now disabled: locked as it is and reported, not
    // changed here.)
    insta::assert_snapshot!(common::snap::thread(&b.sim, ready, b._dir.path()), @"
    --- comment 1 by accessbot at 2026-11-27T08:22:20+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user23
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:ecSo+WNcJO5MBugonrxaqzMoEJNcSv6q119CMTyU15c`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]user23 in the task description
    - [x] `l3`: @[zwsp]user23 signed `L3`
    - [x] `nda`: @[zwsp]user23 is staff
    - [x] `manager-approval`: approved by @[zwsp]mgr1
    - [x] `lead-approval:analytics-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-10-29 10:14 UTC

    //Evaluated 2026-11-27 08:22 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-27T09:00:20+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for clinic-duty.**
    //Since the last checklist//: no longer passing: subject, key-channel, l3, nda · still needed: expiry
    //Needed now//: @clinicduty (subject, key-channel, l3, nda, expiry)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [ ] `subject` (//clinic-duty//): could not tell which Phabricator account this request is for (the request describes its author, but @[zwsp]user23's account is disabled); the request can name it in a `Phabricator username:` line
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:ecSo+WNcJO5MBugonrxaqzMoEJNcSv6q119CMTyU15c`
    - [x] `key-fresh`: the key is not used by anyone else
    - [ ] `key-channel` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `l3` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `nda` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [x] `manager-approval`: approved by @[zwsp]mgr1
    - [x] `lead-approval:analytics-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-10-29 10:14 UTC
    - [ ] `expiry` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)

    //Evaluated 2026-11-27 09:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

#[tokio::test]
async fn after_a_restart_the_reconcile_reads_no_task_page_again() {
    let base = sim::generate(40, 8);
    let t0 = base.now + Duration::days(30);
    let mut b = Bench::start(base, t0).await;
    let minute = Duration::seconds(60);
    let mut pages = 0;
    for i in 0..3 {
        b.set_now(t0 + minute * i);
        pages += count(&b.cycles(1).await, "task.page");
    }
    assert!(
        pages > 0,
        "the sync reads the comment channels from task pages"
    );
    let (comments, _) = tiers(&b).await;

    // A restart: every cache in memory is gone, the database stays.
    b.restart().await;
    let mut due = 0;
    let mut reads = 0;
    b.sim.reset_stats();
    for i in 3..3 + 30 {
        b.set_now(t0 + minute * i);
        let r = b.bot.cycle().await.expect("cycle");
        assert!(r.failed.is_empty() && r.effects.is_empty(), "{r:?}");
        due += r.due;
        reads += u64::from(r.due > 0);
    }
    let s = b.sim.stats();
    // One reconcile period: every ready request on comments read once (and the others whose
    // moment falls in it), each comment's channel known from before the restart.
    assert!(due >= comments, "{due} {comments}");
    assert_eq!(count(&s, "task.page"), 0, "{:?}", s.calls);
    // Each task's timeline (paste histories are kept across the restart: see
    // `after_a_restart_no_unchanged_paste_history_is_read_again_an_edited_one_is`).
    assert!(
        count(&s, "transaction.search") as usize >= due,
        "{:?}",
        s.calls
    );
    // Pastes: one `paste.search` per batch, not one per paste.
    assert!(count(&s, "paste.search") <= reads, "{:?}", s.calls);
}

#[tokio::test]
async fn after_a_restart_no_unchanged_paste_history_is_read_again_an_edited_one_is() {
    // A request ready a month on whose key is in its requester's paste (such requests are
    // re-read every reconcile period; seed 6 has three).
    let base = sim::generate(40, 6);
    let t0 = base.now + Duration::days(30);
    let plain = Bench::start(base.clone(), t0).await;
    let first = plain.bot.cycle().await.expect("cycle");
    let ready: Vec<u64> = first
        .effects
        .iter()
        .filter(|e| e.kind == "checklist" && e.verdict == Verdict::Ready)
        .map(|e| e.task.get())
        .collect();
    let (task, paste) = base
        .tasks
        .iter()
        .filter(|t| ready.contains(&t.id))
        .find_map(|t| {
            base.pastes
                .iter()
                .find(|p| p.author == t.author && t.description.contains(&format!("P{}", p.id)))
                .map(|p| (t.id, p.id))
        })
        .expect("a ready request whose key is in its requester's paste");

    // The same world, in which another account replaces the key in that paste with its own
    // 40 minutes after the sync (its task does not change).
    let edited_at = t0 + Duration::minutes(40);
    let mut sc = base.clone();
    let theirs = {
        let mine = sc.pastes.iter().find(|p| p.id == paste).unwrap();
        sc.pastes
            .iter()
            .find(|p| p.author != mine.author && p.content.contains("ssh-"))
            .expect("another account's key paste")
            .clone()
    };
    let p = sc.pastes.iter_mut().find(|p| p.id == paste).unwrap();
    p.events.push(accessbot::sim::scenario::ScenarioPasteEdit {
        at: edited_at,
        author: Some(theirs.author.clone()),
        content: theirs.content.clone(),
    });
    let mut b = Bench::start(sc, t0).await;
    let minute = Duration::seconds(60);
    for i in 0..3 {
        b.set_now(t0 + minute * i);
        b.cycles(1).await;
    }

    // A restart, then one reconcile period: every paste-keyed ready request is read again,
    // its paste too, but no paste's history: none moved its dateModified.
    b.restart().await;
    b.sim.reset_stats();
    let mut due = 0;
    for i in 3..3 + 30 {
        b.set_now(t0 + minute * i);
        let r = b.bot.cycle().await.expect("cycle");
        assert!(r.failed.is_empty() && r.effects.is_empty(), "{r:?}");
        assert_eq!(r.changed, 0);
        due += r.due;
    }
    let s = b.sim.stats();
    assert!(count(&s, "paste.search") > 0, "{:?}", s.calls);
    // Only the tasks' own timelines: 0 paste histories.
    assert_eq!(count(&s, "transaction.search"), due as u64, "{:?}", s.calls);

    // After the edit: the next read of the task reads the paste's history again (its
    // dateModified moved) and the replaced key is not trusted.
    b.sim.reset_stats();
    let mut due = 0;
    let mut verdict = None;
    for i in 40..=40 + 31 {
        b.set_now(t0 + minute * i);
        let r = b.bot.cycle().await.expect("cycle");
        assert!(r.failed.is_empty(), "{r:?}");
        assert_eq!(r.changed, 0);
        due += r.due;
        verdict = r
            .effects
            .iter()
            .find(|e| e.task.get() == task && e.kind == "checklist")
            .map(|e| e.verdict);
        if verdict.is_some() {
            break;
        }
    }
    let s = b.sim.stats();
    assert!(
        verdict.is_some_and(|v| v != Verdict::Ready),
        "the replaced key was never seen: {verdict:?}"
    );
    // The tasks' timelines and the one history of the edited paste.
    assert_eq!(
        count(&s, "transaction.search"),
        due as u64 + 1,
        "{:?}",
        s.calls
    );
    let posted = b.sim.comments(task);
    assert!(
        posted
            .last()
            .is_some_and(|c| c.text.contains("was also changed by")),
        "{posted:?}"
    );
    // The whole thread: READY while the key was the requester's own paste, then, after the
    // other account's edit, BLOCKED with key-channel naming who else changed the paste (and
    // key-fresh the request that key belongs to), the approvals given before the key change
    // no longer counted. (The "still needed" part of the changes line repeats the four checks
    // that are "no longer passing": it lists every check not passing now; reported, not
    // changed here.)
    insta::assert_snapshot!(common::snap::thread(&b.sim, task, b._dir.path()), @"
    --- comment 1 by accessbot at 2026-11-27T08:05:20+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user15
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:fXxcA4NOAUM6f01O2BvXo4laMOmVMi5TOFSdpFBrBWk`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: in paste P[zwsp]1, written by @[zwsp]user15
    - [x] `l3`: @[zwsp]user15 signed `L3`
    - [x] `nda`: @[zwsp]user15 is staff
    - [x] `manager-approval`: approved by @[zwsp]mgr0
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-10-29 09:20 UTC

    //Evaluated 2026-11-27 08:05 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-27T08:45:20+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, manager, project-lead.**
    //Since the last checklist//: no longer passing: key-fresh, key-channel, manager-approval, lead-approval:analytics-privatedata-users
    //Needed now//: @user15 (key-fresh, key-channel), @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user15
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:d2n74Y/bCuGCAtWXj46DTHq5zdUVK8KZkkyjojZU+to`
    - [ ] `key-fresh` (//requester//): the key is already used elsewhere (another user's request (T121)[zwsp]): production needs a dedicated new key
    - [ ] `key-channel` (//requester//): paste P[zwsp]1 was also changed by @[zwsp]user21, not only by the person the request is for: the key must come from @[zwsp]user15 in the task description, a web comment or their own paste
    - [x] `l3`: @[zwsp]user15 signed `L3`
    - [x] `nda`: @[zwsp]user15 is staff
    - [ ] `manager-approval` (//manager//): no approval from the manager or sponsor yet (approval by @[zwsp]mgr0 predates the key change on 2026-11-27; approval by @[zwsp]aotto predates the key change on 2026-11-27); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto) (approval by @[zwsp]aotto predates the key change on 2026-11-27); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-10-29 09:20 UTC

    //Evaluated 2026-11-27 08:45 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

#[tokio::test]
async fn a_key_paste_written_by_someone_else_is_refused_without_reading_its_history() {
    // The same world twice, but in the second one paste of a request was written by another
    // account than its requester.
    let base = sim::generate(40, 8);
    let now = base.now;
    let (task, paste) = base
        .tasks
        .iter()
        .find_map(|t| {
            base.pastes
                .iter()
                .find(|p| p.author == t.author && t.description.contains(&format!("P{}", p.id)))
                .map(|p| (t.id, p.id))
        })
        .expect("a request whose key is in its requester's paste");
    let mut sc = base.clone();
    let other = sc
        .users
        .iter()
        .find(|u| {
            !u.bot
                && u.username != "accessbot"
                && u.username != sc.pastes.iter().find(|p| p.id == paste).unwrap().author
        })
        .map(|u| u.username.clone())
        .unwrap();
    sc.pastes.iter_mut().find(|p| p.id == paste).unwrap().author = other;
    let own = Bench::start(base, now).await.cycles(1).await;
    let b = Bench::start(sc, now).await;
    let theirs = b.cycles(1).await;
    // One history fewer: whoever changed it since, such a paste is not trusted.
    assert_eq!(
        count(&theirs, "transaction.search") + 1,
        count(&own, "transaction.search"),
        "{:?} {:?}",
        own.calls,
        theirs.calls
    );
    let posted = b.sim.comments(task);
    assert!(
        posted.iter().any(|c| c
            .text
            .contains("written by someone other than the person the request is for")),
        "{posted:?}"
    );
    // The one checklist: key-channel fails, saying the paste is someone else's and where the
    // key must come from instead.
    insta::assert_snapshot!(common::snap::thread(&b.sim, task, b._dir.path()), @"
    --- comment 1 by accessbot at 2026-10-28T08:22:20+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, legal, project-lead.**
    //Needed now//: @user2 (key-channel), @legalteam (nda), @rel-lead (lead-approval:deployment)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user2
    - [x] `known-groups`: groups: deployment
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:17nyu12zLo2hCPzV1rs81WrIqUI7OfUMidPGK1WvWaY`
    - [x] `key-fresh`: the key is not used by anyone else
    - [ ] `key-channel` (//requester//): paste P[zwsp]1 was written by someone other than the person the request is for: the key must come from @[zwsp]user2 in the task description, a web comment or their own paste
    - [x] `l3`: @[zwsp]user2 signed `L3`
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]user2 is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [x] `manager-approval`: approved by @[zwsp]mgr1
    - [ ] `lead-approval:deployment` (//project-lead//): no approval from a project lead of deployment yet (approvers: @[zwsp]rel-lead); to approve, comment `Approved.` or `Approved for deployment.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-10-29 07:47 UTC
    - [x] `expiry`: expires on 2027-03-15; expiry contact @[zwsp]mgr1

    //Evaluated 2026-10-28 08:22 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

#[tokio::test]
async fn the_sync_keeps_within_its_concurrency() {
    let sc = sim::generate(60, 8);
    let now = sc.now;
    let b = Bench::start_with(sc, now, 3, 3).await;
    let sync = b.cycles(2).await;
    // Tasks are worked on two per request slot, but requests in flight never exceed them.
    assert!(sync.peak_in_flight <= 3, "{sync:?}");
    assert!(
        sync.peak_in_flight >= 2,
        "the sync ran sequentially: {sync:?}"
    );
}

/// The checklists posted on `task`.
fn checklists(b: &Bench, task: u64) -> Vec<String> {
    b.sim
        .comments(task)
        .into_iter()
        .map(|c| c.text)
        .filter(|t| accessbot::report::is_checklist(t))
        .collect()
}

#[tokio::test]
async fn a_key_shared_within_one_cycle_is_caught_whatever_the_order() {
    key_shared_within_one_cycle(false).await;
}

#[tokio::test]
async fn a_key_shared_within_one_cycle_is_caught_with_a_lost_database() {
    // The bot's comments are on the server, its database is gone: the first cycle of a new
    // database posts no checklist at all on the requests sharing a key (their last checklist
    // already says so), not a "fresh" one first.
    key_shared_within_one_cycle(true).await;
}

async fn key_shared_within_one_cycle(lose_database: bool) {
    // Tasks are polled newest first and settled as their reads complete, so a request that
    // reuses an older request's key is often evaluated before that key is recorded.
    let base = sim::generate(40, 8);
    // A month on, every request's waiting period is over.
    let now = base.now + Duration::days(30);
    let plain = Bench::start(base.clone(), now).await;
    let first = plain.bot.cycle().await.expect("cycle");
    let verdict = |task: u64| {
        first
            .effects
            .iter()
            .rev()
            .find(|e| e.task.get() == task && e.kind == "checklist")
            .map(|e| e.verdict)
    };
    let with = |v: Verdict| -> Vec<u64> {
        base.tasks
            .iter()
            .map(|t| t.id)
            .filter(|id| verdict(*id) == Some(v))
            .collect()
    };
    let (ready, blocked) = (with(Verdict::Ready), with(Verdict::Blocked));
    // The newest of each (polled first), each taking the key of one of the two oldest
    // requests (polled last).
    let (reuser_ready, reuser_blocked) = (
        *ready.last().expect("a ready request"),
        *blocked.last().expect("a blocked request"),
    );
    let sources = [(reuser_ready, 0), (reuser_blocked, 1)];
    assert!(base.tasks[1].id < reuser_ready.min(reuser_blocked));
    let key_of = |desc: &str| {
        desc.lines()
            .find(|l| l.starts_with("ssh-ed25519 "))
            .map(str::to_string)
    };
    let mut sc = base.clone();
    for (reuser, source) in sources {
        let key = key_of(&sc.tasks[source].description).expect("an inline key");
        let t = sc
            .tasks
            .iter_mut()
            .find(|t| t.id == reuser)
            .expect("the reuser");
        let own = key_of(&t.description).expect("an inline key");
        t.description = t.description.replace(&own, &key);
    }

    // Right after the cycle that found them (not only once the bot's own comments are read
    // back), and still after that.
    let mut b = Bench::start(sc.clone(), now).await;
    for _ in 0..2 {
        b.cycles(1).await;
        check_reuse(&b, &base, &sources);
        // Never a wrong checklist first: the first checklist is the only one.
        for (reuser, _) in sources {
            assert_eq!(checklists(&b, reuser).len(), 1, "T{reuser}");
        }
    }
    // What the two reusers read, of the 40 tasks: the point of the test is that their one
    // checklist says which key (its fingerprint) is used by which other request, and that the
    // one that would have been ready is not. The older requests' checklists are compared with
    // the plain world's below, not snapshotted (they are ordinary checklists, the same as
    // without the reuse). Nothing is normalised beyond `common::snap`'s URL and temp dir: the
    // generated world (users, keys, task ids, dates) is a function of the seed.
    let threads = sources.map(|(task, _)| common::snap::thread(&b.sim, task, b._dir.path()));
    // (Both tests run this function, in one process, and see the same two threads here: insta
    // allows the one inline snapshot to be asserted twice only when told.)
    insta::allow_duplicates! {
        insta::assert_snapshot!(threads[0], @"
        --- comment 1 by accessbot at 2026-11-27T08:22:20+00:00 ---
        **accessbot checklist** for this access request: **BLOCKED: waiting for requester.**
        //Needed now//: @user37 (key-fresh)

        - [x] `request-complete`: all fields are present
        - [x] `one-user`: one user per task
        - [x] `subject`: filed by the subject @[zwsp]user37
        - [x] `known-groups`: groups: deployment
        - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:QyVaYGDqtuJDr33v348LRIZqjVAcakbLS1tgWbxGuoE`
        - [ ] `key-fresh` (//requester//): the key is already used elsewhere (another user's request (T100)[zwsp]): production needs a dedicated new key
        - [x] `key-channel`: posted by @[zwsp]user37 in the task description
        - [x] `l3`: @[zwsp]user37 signed `L3`
        - [x] `nda`: @[zwsp]user37 is a member of an NDA project
        - [x] `manager-approval`: approved by @[zwsp]mgr0
        - [x] `lead-approval:deployment`: approved by @[zwsp]rel-lead
        - [x] `waiting-period`: the waiting period of 3 days ended on 2026-10-29 11:56 UTC
        - [x] `expiry`: expires on 2027-02-15; expiry contact @[zwsp]mgr0

        //Evaluated 2026-11-27 08:22 UTC. accessbot posts a new checklist whenever this one changes.//
        ");
        insta::assert_snapshot!(threads[1], @"
        --- comment 1 by accessbot at 2026-11-27T08:22:20+00:00 ---
        **accessbot checklist** for this access request: **BLOCKED: waiting for requester, manager.**
        //Needed now//: @user39 (key-fresh)

        - [x] `request-complete`: all fields are present
        - [x] `one-user`: one user per task
        - [x] `subject`: filed by the subject @[zwsp]user39
        - [x] `known-groups`: groups: deployment
        - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:3qcPN3i2zW5PK4TylMAWfkB2SsZUX6vLlqKSF3CawGI`
        - [ ] `key-fresh` (//requester//): the key is already used elsewhere (another user's request (T101)[zwsp]): production needs a dedicated new key
        - [x] `key-channel`: posted by @[zwsp]user39 in the task description
        - [x] `l3`: @[zwsp]user39 signed `L3`
        - [x] `nda`: @[zwsp]user39 is a member of an NDA project
        - [ ] `manager-approval` (//manager//): approval withdrawn by @[zwsp]mgr1 on 2026-10-27 (T139#259) (@[zwsp]rel-lead approved as the project lead of deployment: with no manager named, the manager's or sponsor's approval must come from someone else (or the request names @[zwsp]rel-lead as manager)[zwsp]); to approve again, comment `Approved.` or `Approved for deployment.`
        - [x] `lead-approval:deployment`: approved by @[zwsp]rel-lead
        - [x] `waiting-period`: the waiting period of 3 days ended on 2026-10-29 12:07 UTC
        - [x] `expiry`: expires on 2027-04-15; expiry contact @[zwsp]mgr1

        //Evaluated 2026-11-27 08:22 UTC. accessbot posts a new checklist whenever this one changes.//
        ");
    }
    if lose_database {
        let before: Vec<usize> = sources
            .iter()
            .map(|(task, _)| checklists(&b, *task).len())
            .collect();
        let token = accessbot::bot::scenario_token(&sc).unwrap();
        let dir = tempfile::tempdir().unwrap();
        b.bot = new_bot(&b.sim, &token, 8, &b.clock, dir.path(), &b.rules).await;
        b._dir = dir;
        b.cycles(1).await;
        let after: Vec<usize> = sources
            .iter()
            .map(|(task, _)| checklists(&b, *task).len())
            .collect();
        assert_eq!(after, before, "no checklist posted again");
        let after = sources.map(|(task, _)| common::snap::thread(&b.sim, task, b._dir.path()));
        assert_eq!(after, threads, "the checklists above, unchanged");
        check_reuse(&b, &base, &sources);
    }
    // The one that would have been ready never showed a ready checklist, not even briefly
    // (it waited for every key of the cycle, or was found not ready and was corrected).
    for c in checklists(&b, reuser_ready) {
        assert!(!c.contains("READY"), "{c}");
    }
    // The older requests are unaffected.
    for (_, source) in sources {
        let source = base.tasks[source].id;
        assert_eq!(checklists(&b, source), checklists(&plain, source));
    }
}

/// Each (reuser, index of the source task) shows the reuse in its last checklist.
fn check_reuse(b: &Bench, base: &Scenario, sources: &[(u64, usize)]) {
    for &(task, source) in sources {
        let source = base.tasks[source].id;
        let posted = checklists(b, task);
        let last = posted.last().expect("a checklist");
        // The bot's own reference to the other request links (it is no requester text).
        assert!(
            last.contains("- [ ] `key-fresh`")
                && last.contains(&format!("another user's request (T{source})")),
            "T{task}: {last}"
        );
        assert!(!last.contains("READY"), "T{task}: {last}");
    }
}
