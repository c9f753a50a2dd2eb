//! Conduit call counts of the bot (issue 8), pinned against the simulator: counts are
//! deterministic where timings are not, so only counts are asserted here. Timings live in
//! `examples/sync-bench.rs` and `BENCHMARKS.md`.

mod common;

use accessbot::conduit::{Client, ClientOptions, Token};
use accessbot::evidence::{Context, EvidenceSource};
use accessbot::keys::KeyIndex;
use accessbot::poller::{Clock, Poller, PollerOptions};
use accessbot::sim::{self, Scenario, SimHandle, SimOptions, Stats};
use accessbot::store::Store;
use chrono::{DateTime, Duration, Utc};

/// A simulator on `sc` at `now` and a fresh bot (concurrency 8) with a settable clock.
struct Bench {
    sim: SimHandle,
    clock: Clock,
    bot: Poller,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn start(sc: Scenario, now: DateTime<Utc>) -> Bench {
        let token = sc
            .users
            .iter()
            .find(|u| u.username == "accessbot")
            .and_then(|u| u.token.clone())
            .expect("generated scenarios have a bot token");
        let opts = SimOptions {
            now: Some(now),
            ..SimOptions::default()
        };
        let sim = sim::start(sc, opts, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let rules = common::rules();
        let client = Client::new(
            &sim.url(),
            Token::new(token),
            ClientOptions {
                retries: 0,
                ..ClientOptions::default()
            },
        )
        .unwrap();
        let store = Store::open(&dir.path().join("accessbot.db")).await.unwrap();
        let keys = std::sync::Arc::new(KeyIndex::load(&rules).unwrap());
        let ctx = Context::resolve(&client, &rules).await.unwrap();
        let src = EvidenceSource::new(client, rules.clone(), keys, ctx).unwrap();
        let clock = Clock::fixed(now);
        let bot = Poller::new(
            src,
            store,
            rules,
            PollerOptions {
                dry_run: false,
                concurrency: 8,
                clock: clock.clone(),
            },
        );
        sim.reset_stats();
        Bench {
            sim,
            clock,
            bot,
            _dir: dir,
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
    // Accounts: the requesters in one batch; only commenters seen first cost a call each.
    assert!(
        count(&sync, "user.search") < (n as u64) / 2,
        "{:?}",
        sync.calls
    );
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
