//! End-to-end tests of the bot: the real client and poller against the simulator over real
//! HTTP, a real SQLite file per test, and the real binary for the command line.

mod common;

use common::{at, run_bin, World};

const REQUESTS_PLAIN: [u64; 1] = [201];

#[tokio::test]
async fn first_poll_posts_one_checklist_per_request_and_an_idle_poll_costs_one_call() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let bot = w.bot().await;
    let r = bot.cycle().await.unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    for t in REQUESTS_PLAIN {
        assert_eq!(w.comments(t).len(), 1, "one checklist on T{t}");
    }
    assert!(
        w.comments(202).is_empty(),
        "a task outside the project is never touched"
    );
    // The next cycle sees the bot's own comment (dateModified moved), reads it back, posts nothing.
    bot.cycle().await.unwrap();
    assert_eq!(w.comments(201).len(), 1);
    // From then on, an idle poll is exactly one Conduit call.
    w.sim.reset_stats();
    let r = bot.cycle().await.unwrap();
    assert_eq!(r.effects.len(), 0);
    let stats = w.sim.stats();
    assert_eq!(stats.total, 1, "idle poll calls: {:?}", stats.calls);
    assert_eq!(stats.calls.get("maniphest.search"), Some(&1));
}

#[tokio::test]
async fn a_request_moves_from_blocked_to_waiting_to_ready_as_time_passes() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let bot = w.bot().await;
    bot.cycle().await.unwrap();
    let first = w.comments(201);
    assert!(first[0].contains("BLOCKED"), "{}", first[0]);
    assert!(
        first[0].contains("`lead-approval:analytics-privatedata-users`"),
        "{}",
        first[0]
    );

    // The project lead approves (a quoted "Approved." plus their own +1) on 11-04.
    w.set_now("2026-11-04T12:00:00Z");
    bot.cycle().await.unwrap();
    let texts = w.comments(201);
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(texts[1].contains("WAITING"), "{}", texts[1]);

    // Nothing changes on the task; time alone ends the waiting period (tagged 11-03 08:30).
    w.set_now("2026-11-06T09:00:00Z");
    bot.cycle().await.unwrap();
    let texts = w.comments(201);
    assert_eq!(texts.len(), 3, "{texts:#?}");
    assert!(texts[2].contains("READY"), "{}", texts[2]);
    let row = w
        .store()
        .await
        .task(accessbot::ids::TaskId(201))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.verdict, "ready");
    let audit = w
        .store()
        .await
        .audit_log(accessbot::ids::TaskId(201))
        .await
        .unwrap();
    let verdicts: Vec<&str> = audit.iter().map(|a| a.new_verdict.as_str()).collect();
    assert_eq!(verdicts, ["blocked", "waiting", "ready"]);

    // Still ready later: nothing more is posted.
    w.set_now("2026-11-06T12:00:00Z");
    bot.cycle().await.unwrap();
    bot.cycle().await.unwrap();
    assert_eq!(w.comments(201).len(), 3);
}

#[tokio::test]
async fn a_restart_with_lost_state_posts_no_duplicate() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    w.bot().await.cycle().await.unwrap();
    assert_eq!(w.comments(201).len(), 1);
    // A crash between posting and recording is the same as losing the database: the bot must
    // read its own comment back from the task before posting.
    std::fs::remove_file(w.db()).unwrap();
    let _ = std::fs::remove_file(w.db().with_extension("db-wal"));
    let _ = std::fs::remove_file(w.db().with_extension("db-shm"));
    let bot = w.bot().await;
    bot.cycle().await.unwrap();
    bot.cycle().await.unwrap();
    assert_eq!(w.comments(201).len(), 1, "no duplicate after a restart");
}

#[tokio::test]
async fn dry_run_writes_nothing_on_phabricator() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let r = w.bot_with(true).await.cycle().await.unwrap();
    assert_eq!(r.effects.len(), 1);
    assert!(w.comments(201).is_empty());
    assert_eq!(w.sim.stats().calls.get("maniphest.edit"), None);
}

#[tokio::test]
async fn the_binary_runs_once_checks_and_shows_status() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let dir = w.dir.path();
    let db = w.db();
    let rules = common::root().join("rules");
    let url = w.sim.url();
    let base = [
        "--phab-url",
        url.as_str(),
        "--rules",
        rules.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--now",
        "2026-11-03T09:30:00Z",
    ];
    let env = [("ACCESSBOT_TOKEN", w.token.as_str())];
    let handle = tokio::task::spawn_blocking({
        let base: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        let dir = dir.to_path_buf();
        let token = w.token.clone();
        move || {
            let mut args: Vec<&str> = base.iter().map(String::as_str).collect();
            args.extend(["run", "--once"]);
            let run = run_bin(&args, &[("ACCESSBOT_TOKEN", token.as_str())], &dir);
            let mut args: Vec<&str> = base.iter().map(String::as_str).collect();
            args.extend(["check", "T201", "--json"]);
            let check = run_bin(&args, &[("ACCESSBOT_TOKEN", token.as_str())], &dir);
            let mut args: Vec<&str> = base.iter().map(String::as_str).collect();
            args.extend(["status"]);
            let status = run_bin(&args, &[], &dir);
            (run, check, status)
        }
    });
    let (run, check, status) = handle.await.unwrap();
    assert_eq!(run.0, 0, "run failed: {}", run.2);
    assert!(!run.2.contains(&w.token), "the token must never be printed");
    assert_eq!(w.comments(201).len(), 1);
    assert_eq!(check.0, 0, "check failed: {}", check.2);
    let v: serde_json::Value = serde_json::from_str(&check.1).unwrap();
    assert_eq!(v["task"], "T201");
    assert_eq!(v["verdict"], "blocked");
    assert_eq!(v["request"]["shell_user"], "cnguyen");
    let ids: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[..3], ["request-complete", "one-user", "known-groups"]);
    assert!(ids.contains(&"waiting-period"));
    assert_eq!(status.0, 0, "status failed: {}", status.2);
    assert!(
        status.1.contains("T201") && status.1.contains("blocked"),
        "{}",
        status.1
    );
    let _ = env;
}

#[tokio::test]
async fn a_wrong_token_says_so_in_one_line_without_the_token() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let dir = w.dir.path().to_path_buf();
    let url = w.sim.url();
    let rules = common::root().join("rules");
    let bad = "api-thisisnotavalidtoken00000000";
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        run_bin(
            &[
                "--phab-url",
                &url,
                "--rules",
                rules.to_str().unwrap(),
                "run",
                "--once",
            ],
            &[("ACCESSBOT_TOKEN", bad)],
            &dir,
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 1);
    assert!(
        !err.contains(bad) && !out.contains(bad),
        "token leaked: {err}"
    );
    assert!(
        err.contains("ERR-INVALID-AUTH") || err.to_lowercase().contains("token"),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_url_and_a_second_writer_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let rules = common::root().join("rules");
    let db = d.join("a.db");
    let lock = accessbot::store::WriterLock::acquire(&db).unwrap();
    let (code, _, err) = tokio::task::spawn_blocking({
        let (d, rules, db) = (d.clone(), rules.clone(), db.clone());
        move || {
            run_bin(
                &[
                    "--phab-url",
                    "http://127.0.0.1:9",
                    "--rules",
                    rules.to_str().unwrap(),
                    "--db",
                    db.to_str().unwrap(),
                    "run",
                    "--once",
                ],
                &[("ACCESSBOT_TOKEN", "api-aaaaaaaaaaaaaaaaaaaaaaaaaaaa")],
                &d,
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 1);
    assert!(err.contains("already running"), "{err}");
    drop(lock);
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        run_bin(
            &[
                "--phab-url",
                "http://127.0.0.1:9",
                "--rules",
                rules.to_str().unwrap(),
                "--db",
                db.to_str().unwrap(),
                "run",
                "--once",
            ],
            &[("ACCESSBOT_TOKEN", "api-aaaaaaaaaaaaaaaaaaaaaaaaaaaa")],
            &d,
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 1);
    assert!(err.contains("127.0.0.1:9"), "names the address: {err}");
    assert!(!err.contains("api-aaaa"), "{err}");
    let _ = at("2026-11-03T09:30:00Z");
}

#[tokio::test]
async fn an_unknown_project_is_a_clear_error() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let dir = tempfile::tempdir().unwrap();
    for f in ["groups.toml", "phrases.toml"] {
        std::fs::copy(common::root().join("rules").join(f), dir.path().join(f)).unwrap();
    }
    let policy = std::fs::read_to_string(common::root().join("rules/policy.toml")).unwrap();
    std::fs::write(
        dir.path().join("policy.toml"),
        policy.replace(
            "project = \"SRE-Access-Requests\"",
            "project = \"SRE-Acess-Requests\"",
        ),
    )
    .unwrap();
    let (url, token, cwd) = (w.sim.url(), w.token.clone(), w.dir.path().to_path_buf());
    let rules = dir.path().to_path_buf();
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        run_bin(
            &[
                "--phab-url",
                &url,
                "--rules",
                rules.to_str().unwrap(),
                "run",
                "--once",
            ],
            &[("ACCESSBOT_TOKEN", token.as_str())],
            &cwd,
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 1);
    assert!(
        err.contains("\"SRE-Acess-Requests\"") && err.contains("does not exist"),
        "{err}"
    );
    assert!(w.comments(201).is_empty());
}
