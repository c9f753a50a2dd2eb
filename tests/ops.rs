//! The bot as an SRE operates it, through the real binary: `run --listen` serving metrics and
//! health (and turning unhealthy when cycles fail), systemd notifications, a start that fails
//! leaving nothing behind, read-only views without write access, the configuration file,
//! `rules check --live`, `log`, and the command-line conventions (help, exit codes, man pages,
//! input limits, task URLs, colour, the status view).

mod common;

use common::{root, run_bin, run_bin_async, World};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A running `accessbot` whose stderr lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(mut command: Command) -> Running {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The first JSON log line with this field, within a minute.
    fn field(&self, name: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            let v: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
            if let Some(f) = v.get(name) {
                return f.clone();
            }
        }
        panic!("no log line with {name:?}");
    }

    /// SIGTERM, then the exit code.
    fn stop(mut self) -> i32 {
        // SAFETY: signalling a child process this test started.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let status = self.child.wait().unwrap();
        status.code().unwrap_or(-1)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET url` → (status, body).
async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.expect("the endpoint answers");
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Prometheus text: every sample line as (series, value); comment lines must be HELP/TYPE.
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            if l.starts_with('#') {
                assert!(
                    l.starts_with("# HELP ") || l.starts_with("# TYPE "),
                    "bad comment {l:?}"
                );
                return None;
            }
            let (series, value) = l.rsplit_once(' ').expect("series and value");
            let v = value
                .parse::<f64>()
                .unwrap_or_else(|e| panic!("{l:?}: {e}"));
            Some((series.to_string(), v))
        })
        .collect()
}

fn sample(all: &[(String, f64)], series: &str) -> Option<f64> {
    all.iter().find(|(s, _)| s == series).map(|(_, v)| *v)
}

/// Polls `check` (up to a minute) until it holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_reports_metrics_health_and_systemd_state() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let notify_path = w.dir.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let bot = Running::start(
        w.bin(&["run", "--listen", "127.0.0.1:0", "--interval", "1"])
            .without("--now")
            .flags(&["--log-format", "json"])
            .env("NOTIFY_SOCKET", notify_path.to_str().unwrap())
            .env("WATCHDOG_USEC", "2000000")
            .command(),
    );
    let addr = bot.field("listen");
    let base = format!("http://{}", addr.as_str().unwrap());

    // systemd: READY=1 once started, then WATCHDOG=1 as cycles end.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !(seen.iter().any(|m: &String| m.contains("READY=1"))
        && seen.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 2)
    {
        let n = notify.recv(&mut buf).expect("a notification");
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let first_ready = seen.iter().position(|m| m.contains("READY=1")).unwrap();
    assert!(
        seen[first_ready..].iter().any(|m| m.contains("WATCHDOG=1")),
        "{seen:?}"
    );

    // A successful cycle: the metrics parse and hold what the design lists.
    eventually("a successful cycle", || async {
        let (_, text) = get(&format!("{base}/metrics")).await;
        sample(&samples(&text), "accessbot_cycles_total{outcome=\"ok\"}").unwrap_or(0.0) >= 1.0
    })
    .await;
    let (code, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(code, 200);
    let all = samples(&text);
    for series in [
        "accessbot_requests{verdict=\"blocked\"}",
        "accessbot_requests{verdict=\"ready\"}",
        "accessbot_cycle_duration_seconds_count",
        "accessbot_conduit_calls_total{method=\"maniphest.search\",outcome=\"ok\"}",
        "accessbot_posts_total{kind=\"checklist\"}",
        "accessbot_last_success_timestamp_seconds",
        "accessbot_oldest_ready_age_seconds",
    ] {
        assert!(sample(&all, series).is_some(), "{series} missing:\n{text}");
    }
    assert_eq!(
        sample(&all, "accessbot_requests{verdict=\"blocked\"}"),
        Some(1.0),
        "T201 is blocked: {text}"
    );
    assert!(sample(&all, "accessbot_posts_total{kind=\"checklist\"}").unwrap() >= 1.0);
    let posts: f64 = all
        .iter()
        .filter(|(s, _)| s.starts_with("accessbot_posts_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(
        posts,
        w.comments(201).len() as f64,
        "every post counted once"
    );
    // The post the metrics count: T201's one checklist, BLOCKED (as the metrics say). The
    // service runs on the real clock (no `--now`), so the minute it was evaluated is
    // normalised (`common::snap::real_clock`); the waiting period (tagged on 2026-11-03 in
    // the scenario) has ended on any real clock since 2026-11-06.
    insta::assert_snapshot!(common::snap::real_clock(&w.thread(201)), @"
    --- comment 1 by accessbot at 2026-11-03T09:30:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:6FjKTNT72v4qslxjQ/ZYWtmb4GhEO1qBpKuF1qrWUv0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet (approval by @[zwsp]mboss predates the group change on 2026-11-03); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-06 08:30 UTC

    //Evaluated [real-now] UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    assert!(sample(&all, "accessbot_last_success_timestamp_seconds").unwrap() > 1.7e9);
    // Health is "ok" while the last success is under three intervals old; on a loaded machine a
    // one-second cycle can take longer than that, so wait for a fresh success rather than
    // asserting on the first answer.
    eventually("health ok", || async {
        get(&format!("{base}/healthz")).await.0 == 200
    })
    .await;
    let (code, body) = get(&format!("{base}/healthz")).await;
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["consecutive_failures"], 0);
    assert!(v["last_success_at"].is_string() && v["last_cycle_at"].is_string());

    // Every Conduit call fails: after three intervals without a successful cycle, 503.
    w.sim.set_faults(accessbot::sim::FaultSpec {
        server_error: 1.0,
        ..Default::default()
    });
    // (On a loaded machine the 503 can come from a slow cycle before the first failed one
    // ends: wait for both.)
    eventually("health turns 503 after a failed cycle", || async {
        let (code, body) = get(&format!("{base}/healthz")).await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        code == 503 && v["consecutive_failures"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    let (_, body) = get(&format!("{base}/healthz")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "failing", "{v}");
    let (_, text) = get(&format!("{base}/metrics")).await;
    let all = samples(&text);
    assert!(
        sample(
            &all,
            "accessbot_conduit_calls_total{method=\"maniphest.search\",outcome=\"http-error\"}"
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{text}"
    );
    assert!(sample(&all, "accessbot_consecutive_failed_cycles").unwrap() >= 1.0);

    // The server is back: healthy again.
    w.sim.set_faults(accessbot::sim::FaultSpec::default());
    eventually("health turns 200 again", || async {
        get(&format!("{base}/healthz")).await.0 == 200
    })
    .await;

    // SIGTERM: STOPPING=1 and a clean exit.
    assert_eq!(bot.stop(), 0);
    let mut stopping = false;
    while let Ok(n) = notify.recv(&mut buf) {
        if String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1") {
            stopping = true;
            break;
        }
    }
    assert!(stopping, "no STOPPING=1");
}

/// The files a command left in a directory.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_start_that_fails_creates_no_database() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rules = root().join("rules").display().to_string();
    let db = d.join("accessbot.db").display().to_string();
    // The bot in `d`, with its database there, on the system clock.
    let in_d = |cmd: &[&str]| w.bin(cmd).db(Path::new(&db)).cwd(d).without("--now");
    let once = ["run", "--once"];
    let cases = vec![
        (
            in_d(&once).rules(Path::new("/nonexistent")),
            "/nonexistent/policy.toml",
        ),
        (in_d(&once).token(None), "ACCESSBOT_TOKEN"),
        (
            in_d(&once).token(Some("api-thisisnotavalidtoken00000000")),
            "refused the API token",
        ),
        (
            in_d(&once).url("https://phabricator.example.org"),
            "is the documentation's example",
        ),
    ];
    for (bin, says) in cases {
        let args = bin.args();
        let (code, _, err) = bin.output().await;
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(files_in(d), Vec::<String>::new(), "{args:?} left files");
    }
    // check without a database evaluates in memory: it writes nothing either.
    let (code, out, err) = in_d(&["check", "T201"]).output().await;
    assert_eq!(code, 3, "{err}");
    assert!(out.starts_with("T201: BLOCKED"), "{out}");
    assert_eq!(files_in(d), Vec::<String>::new(), "check left files");
    // A read-only view of a database that does not exist says so and creates nothing.
    for view in [vec!["status"], vec!["log", "T1"], vec!["agenda"]] {
        let mut args = vec!["--rules", rules.as_str(), "--db", db.as_str()];
        args.extend(view.iter().copied());
        let (code, _, err) = run_bin_async(&args, &[], d).await;
        assert_eq!(code, 1, "{view:?}: {err}");
        assert!(err.contains("no database at"), "{view:?}: {err}");
        assert_eq!(files_in(d), Vec::<String>::new(), "{view:?} left files");
    }
}

/// Copies a file or directory tree.
fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// The database files beside `db` (`-wal`, `-shm`), each copied into `dir`.
fn copy_database(db: &Path, dir: &Path) {
    let name = db.file_name().unwrap().to_string_lossy().into_owned();
    for suffix in ["", "-wal", "-shm"] {
        let from = db.with_file_name(format!("{name}{suffix}"));
        if from.exists() {
            std::fs::copy(&from, dir.join(format!("accessbot.db{suffix}"))).unwrap();
        }
    }
}

#[tokio::test]
async fn read_only_views_work_without_write_access() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let (code, _, err) = w.cli(&["run", "--once"]).await;
    assert_eq!(code, 0, "{err}");

    // Two layouts: the files as the bot left them (a -wal file may remain), and the database
    // alone, checkpointed (what a stopped bot leaves after a clean close).
    let checkpointed = tempfile::tempdir().unwrap();
    copy_database(&w.db(), checkpointed.path());
    {
        use sqlx::{ConnectOptions, Connection};
        let path = checkpointed.path().join("accessbot.db");
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .connect()
            .await
            .unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(checkpointed.path().join(format!("accessbot.db{suffix}")));
        }
    }
    for (layout, db) in [
        ("as left", w.db()),
        ("checkpointed", checkpointed.path().join("accessbot.db")),
    ] {
        // A directory the views may read and not write: the database, the rules, the binary.
        let ro = tempfile::tempdir().unwrap();
        let d = ro.path();
        copy_database(&db, d);
        copy_tree(&root().join("rules"), &d.join("rules"));
        copy_tree(common::bin(), &d.join("accessbot"));
        let db_files: Vec<String> = files_in(d)
            .into_iter()
            .filter(|f| f.starts_with("accessbot.db"))
            .collect();
        for f in &db_files {
            std::fs::set_permissions(d.join(f), std::fs::Permissions::from_mode(0o444)).unwrap();
        }
        for (path, mode) in [(d.join("accessbot"), 0o555), (d.to_path_buf(), 0o555)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let before: Vec<Vec<u8>> = db_files
            .iter()
            .map(|f| std::fs::read(d.join(f)).unwrap())
            .collect();
        let listing = files_in(d);
        // As root, modes do not stop writes: the views then run as nobody.
        // SAFETY: geteuid has no preconditions.
        let root_user = unsafe { libc::geteuid() } == 0;
        for view in [
            vec!["status"],
            vec!["status", "--json"],
            vec!["log", "T201"],
            vec!["agenda"],
        ] {
            let mut cmd = Command::new(d.join("accessbot"));
            cmd.args(["--db", "accessbot.db", "--rules", "rules", "--now"])
                .arg("2026-11-03T10:00:00Z")
                .args(&view)
                .env_clear()
                .env("NO_COLOR", "1")
                .current_dir(d);
            if root_user {
                cmd.uid(65534).gid(65534);
            }
            let out = output_of_copied_binary(&mut cmd);
            let (stdout, stderr) = (
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            assert!(out.status.success(), "{layout} {view:?}: {stderr}");
            assert!(
                stdout.contains("T201") || view[0] == "agenda",
                "{layout} {view:?}: {stdout}"
            );
        }
        let after: Vec<Vec<u8>> = db_files
            .iter()
            .map(|f| std::fs::read(d.join(f)).unwrap())
            .collect();
        assert!(
            before == after,
            "{layout}: a view changed the database files"
        );
        assert_eq!(files_in(d), listing, "{layout}: a view created a file");
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[tokio::test]
async fn the_configuration_file_holds_the_flags() {
    let w = World::start("plain.toml", "2026-11-06T09:00:00Z").await;
    let d = w.dir.path();
    std::fs::write(d.join("token"), format!("{}\n", w.token)).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join("token"), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    copy_tree(&root().join("rules"), &d.join("rules"));
    let config = d.join("accessbot.toml");
    std::fs::write(
        &config,
        format!(
            "phab_url = \"{}\"\ntoken_file = \"token\"\ndb = \"state.db\"\nrules = \"rules\"\nlog_format = \"json\"\n",
            w.sim.url()
        ),
    )
    .unwrap();
    let cfg = config.display().to_string();
    let other = tempfile::tempdir().unwrap();
    let now = ["--now", "2026-11-06T09:00:00Z"];

    // Everything from the file (run from another directory: paths resolve beside the file).
    let mut args = vec!["--config", cfg.as_str()];
    args.extend(now);
    args.extend(["run", "--once"]);
    let (code, _, err) = run_bin_async(&args, &[], other.path()).await;
    assert_eq!(code, 0, "{err}");
    assert!(d.join("state.db").exists());
    assert!(
        err.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "log_format from the file: {err}"
    );
    // ACCESSBOT_CONFIG names it too; a ready request: check exits 0.
    let mut args = now.to_vec();
    args.extend(["check", "T201"]);
    let (code, out, err) = run_bin_async(&args, &[("ACCESSBOT_CONFIG", &cfg)], other.path()).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("T201: READY"), "{out}");
    // A flag overrides the file.
    let (code, _, err) = run_bin_async(
        &["--config", &cfg, "--db", "elsewhere.db", "status"],
        &[],
        other.path(),
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("no database at elsewhere.db"), "{err}");

    // Unknown keys and a token are refused with the file, the line and the key.
    std::fs::write(&config, "db = \"state.db\"\nphab_ur = \"https://x\"\n").unwrap();
    let (code, _, err) = run_bin_async(&["--config", &cfg, "status"], &[], d).await;
    assert_eq!(code, 1);
    assert!(err.contains(&format!("{cfg}:2: key `phab_ur`")), "{err}");
    std::fs::write(&config, "token = \"api-abcdefabcdefabcdefabcdefabcd\"\n").unwrap();
    let (code, _, err) = run_bin_async(&["--config", &cfg, "status"], &[], d).await;
    assert_eq!(code, 1);
    assert!(
        err.contains(":1: key `token`") && !err.contains("api-abcdef"),
        "{err}"
    );

    // The example URL is refused, by `rules check` (the unit runs it before starting) too.
    std::fs::write(
        &config,
        "phab_url = \"https://phabricator.example.org\"\nrules = \"rules\"\n",
    )
    .unwrap();
    let (code, out, err) = run_bin_async(&["--config", &cfg, "rules", "check"], &[], d).await;
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("is the documentation's example"), "{err}");
}

#[tokio::test]
async fn rules_check_live_names_every_missing_name() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let project = w
        .client()
        .project_by_name("SRE-Access-Requests")
        .await
        .unwrap()
        .unwrap();
    let column = w.client().project_columns(&project.phid).await.unwrap()[0]
        .phid
        .to_string();
    // Rules whose every name exists in the plain scenario.
    let good = common::rules_dir(|p| {
        p.replace(
            "legal_users = [\"legalteam\"]",
            "legal_users = [\"sre-kim\"]",
        )
        .replace("nda_projects = [\"WMF-NDA\"]", "nda_projects = []")
        .replace(
            "ready_column = \"\"",
            &format!("ready_column = \"{column}\""),
        )
        .replace(
            "# blocked = \"PHID-PCOL-…\"",
            &format!("blocked = \"{column}\""),
        )
    });
    std::fs::write(
        good.path().join("groups.toml"),
        "[groups.analytics-privatedata-users]\napprovers = [\"aotto\"]\n\n[groups.analytics-users]\napprovers = [\"aotto\"]\n",
    )
    .unwrap();
    let check = |dir: PathBuf| {
        let dir = dir.display().to_string();
        w.bin(&["rules", "check", &dir, "--live"])
            .cwd(&root())
            .output()
    };
    let (code, out, err) = check(good.path().to_path_buf()).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("every configured name exists"), "{out}");

    // Typos everywhere.
    let bad = common::rules_dir(|p| {
        p.replace(
            "clinic_duty = \"clinicduty\"",
            "clinic_duty = \"clinicdutty\"",
        )
        .replace(
            "staff_projects = [\"WMF-Staff\"]",
            "staff_projects = [\"WMF-Staf\"]",
        )
        .replace(
            "ready_column = \"\"",
            "ready_column = \"PHID-PCOL-nosuchcolumn00000000\"",
        )
        .replace(
            "# granted = \"PHID-PCOL-…\"",
            "granted = \"PHID-PCOL-nosuchgrantedcolumn0\"",
        )
        .replace("document = \"L3\"", "document = \"L33\"")
        .replace(
            "sre_deciders = [\"sre-kim\"]",
            "sre_deciders = [\"sre-kim\", \"sre-kym\"]",
        )
    });
    std::fs::write(
        bad.path().join("groups.toml"),
        "[groups.analytics-privatedata-users]\napprovers = [\"aottto\"]\n",
    )
    .unwrap();
    let (code, _, err) = check(bad.path().to_path_buf()).await;
    assert_eq!(code, 1, "{err}");
    let policy = bad.path().join("policy.toml").display().to_string();
    let groups = bad.path().join("groups.toml").display().to_string();
    for (file, key, says) in [
        (
            &groups,
            "groups.analytics-privatedata-users.approvers",
            "@aottto",
        ),
        (&policy, "phabricator.clinic_duty", "@clinicdutty"),
        (&policy, "people.sre_deciders", "@sre-kym"),
        (&policy, "people.legal_users", "@legalteam"),
        (&policy, "people.staff_projects", "\"WMF-Staf\""),
        (&policy, "people.nda_projects", "\"WMF-NDA\""),
        (
            &policy,
            "phabricator.ready_column",
            "PHID-PCOL-nosuchcolumn",
        ),
        (
            &policy,
            "phabricator.columns.granted",
            "PHID-PCOL-nosuchgrantedcolumn0",
        ),
        (&policy, "l3.document", "L33"),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(&format!("key `{key}`")) && l.contains(says))
            .unwrap_or_else(|| panic!("{key} {says} not reported:\n{err}"));
        assert!(line.starts_with(&format!("{file}:")), "{line}");
        let n: usize = line[file.len() + 1..]
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("no line number: {line}"));
        assert!(n > 0);
    }
    assert!(
        err.lines()
            .last()
            .unwrap()
            .contains("9 configured name(s) do not exist"),
        "{err}"
    );
    // Offline (no --live) the same rules are valid.
    let dir = bad.path().display().to_string();
    let (code, _, err) = run_bin(&["rules", "check", &dir], &[], &root());
    assert_eq!(code, 0, "{err}");
}

#[tokio::test]
async fn log_and_status_show_what_clinic_duty_needs() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    for now in ["2026-11-03T09:30:00Z", "2026-11-06T09:00:00Z"] {
        w.set_now(now);
        let (code, _, err) = w.cli(&["run", "--once"]).await;
        assert_eq!(code, 0, "{err}");
    }
    let url = w.sim.url();
    let db = w.db().display().to_string();

    let (code, out, err) = run_bin(&["--db", &db, "log", "T201"], &[], w.dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("T201: 2 verdict change(s)\n"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].starts_with("WHEN") && lines[1].contains("OPEN CHECKS"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("2026-11-03 09:30 UTC")
            && lines[2].contains("blocked")
            && lines[2].contains("lead-approval"),
        "{out}"
    );
    assert!(
        lines[3].contains("blocked") && lines[3].contains("ready"),
        "{out}"
    );
    // JSON, and the task given by its address.
    let (code, out, _) = run_bin(
        &["--db", &db, "log", &format!("{url}/T201"), "--json"],
        &[],
        w.dir.path(),
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let verdicts: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["new_verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["blocked", "ready"]);
    assert!(v[1]["checks"].is_array() && v[1]["at"].is_string());
    let (code, _, err) = run_bin(&["--db", &db, "log", "T999"], &[], w.dir.path());
    assert_eq!(code, 1);
    assert!(err.contains("T999 is not in the database"), "{err}");

    // status: links, groups, and when the data was last refreshed.
    let (code, out, err) = run_bin(
        &[
            "--db",
            &db,
            "--phab-url",
            &url,
            "--now",
            "2026-11-06T10:00:00Z",
            "status",
        ],
        &[],
        w.dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Data as of 2026-11-06T09:00:00+00:00 (the last successful cycle).\n"),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.starts_with(&format!("{url}/T201")))
        .unwrap_or_else(|| panic!("no linked T201 row:\n{out}"));
    assert!(
        row.contains("analytics-privatedata-users") && row.contains("ready"),
        "{row}"
    );
    let (_, out, _) = run_bin(&["--db", &db, "status"], &[], w.dir.path());
    assert!(
        out.lines().any(|l| l.starts_with("T201  ")),
        "no link without a URL: {out}"
    );
    let (_, out, _) = run_bin(
        &["--db", &db, "--phab-url", &url, "status", "--json"],
        &[],
        w.dir.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["url"], format!("{url}/T201"));
    assert!(v[0]["waiting_for"].is_array(), "{v}");
    assert!(v[0]["evaluated_at"].is_string(), "{v}");
}

#[test]
fn help_shows_each_commands_own_flags_examples_and_exit_codes() {
    let help = |args: &[&str]| {
        let (code, out, err) = run_bin(args, &[], &root());
        assert_eq!(code, 0, "{err}");
        out
    };
    let parse = help(&["parse", "--help"]);
    let (own, global) = parse.split_once("Global options:").expect("two headings");
    assert!(own.contains("--json"), "{parse}");
    assert!(
        global.contains("--rules") && global.contains("--config"),
        "{parse}"
    );
    for not_here in ["--db", "--phab-url", "--token-file", "--now"] {
        assert!(
            !parse.contains(not_here),
            "parse --help shows {not_here}:\n{parse}"
        );
    }
    assert!(parse.contains("Examples:") && parse.contains("Exit status:"));
    assert!(parse.contains("3  it has problems"), "{parse}");
    let run = help(&["run", "--help"]);
    for flag in [
        "--listen",
        "--interval",
        "--once",
        "--db",
        "--phab-url",
        "--token-file",
    ] {
        assert!(run.contains(flag), "run --help lacks {flag}");
    }
    assert!(run.contains("[env: ACCESSBOT_TOKEN]"), "{run}");
    assert!(run.contains("[env: ACCESSBOT_PHAB_URL"), "{run}");
    assert!(run.contains("[env: ACCESSBOT_CONFIG"), "{run}");
    let check = help(&["help", "check"]);
    assert!(check.contains("3  it is not"), "{check}");
    let rules = help(&["rules", "check", "--help"]);
    assert!(
        rules.contains("--live") && rules.contains("Examples:"),
        "{rules}"
    );
    // Hidden global flags are still accepted where they do not apply.
    let (code, _, err) = run_bin(
        &[
            "parse",
            "--db",
            "x.db",
            root()
                .join("tests/fixtures/requests/01-standard-form.txt")
                .to_str()
                .unwrap(),
        ],
        &[],
        &root(),
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_man_page_per_command_with_exit_status_environment_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run_bin(
        &["manpage", "--dir", dir.path().to_str().unwrap()],
        &[],
        &root(),
    );
    assert_eq!(code, 0, "{err}");
    let pages = files_in(dir.path());
    for name in [
        "accessbot.1",
        "accessbot-run.1",
        "accessbot-check.1",
        "accessbot-parse.1",
        "accessbot-key.1",
        "accessbot-status.1",
        "accessbot-log.1",
        "accessbot-expiring.1",
        "accessbot-rules.1",
    ] {
        assert!(
            pages.contains(&name.to_string()),
            "{name} missing: {pages:?}"
        );
        assert!(out.contains(name), "{out}");
    }
    for p in &pages {
        let text = std::fs::read_to_string(dir.path().join(p)).unwrap();
        for section in [
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH OPTIONS",
        ] {
            assert!(text.contains(section), "{p} lacks {section}");
        }
        assert!(text.contains("ACCESSBOT_TOKEN"), "{p}");
    }
    let (code, run, _) = run_bin(&["manpage", "run"], &[], &root());
    assert_eq!(code, 0);
    assert!(run.contains(".TH accessbot-run"), "{run}");
    assert!(run.contains("\\-\\-listen"), "{run}");
    assert!(run.contains("stopped cleanly"), "{run}");
    let (code, _, err) = run_bin(&["manpage", "nosuch"], &[], &root());
    assert_eq!(code, 1);
    assert!(err.contains("no command \"nosuch\""), "{err}");
}

#[test]
fn parse_and_key_exit_codes_caps_and_offline_limits() {
    let fixture = |n: &str| root().join("tests/fixtures/requests").join(n);
    // A DSA key: the key's verdict is among the problems.
    let (code, out, _) = run_bin(
        &[
            "parse",
            fixture("27-dsa-key.txt").to_str().unwrap(),
            "--json",
        ],
        &[],
        &root(),
    );
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["key"]["ok"], false, "{v}");
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("DSA")),
        "{v}"
    );
    // A key in a paste: where it is, and that it was not read.
    let (code, out, _) = run_bin(
        &["parse", fixture("12-paste.txt").to_str().unwrap()],
        &[],
        &root(),
    );
    assert_eq!(code, 3);
    assert!(
        out.contains("the key is in paste P12345 (not read offline)"),
        "{out}"
    );
    let (_, out, _) = run_bin(
        &["parse", fixture("12-paste.txt").to_str().unwrap(), "--json"],
        &[],
        &root(),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["key"]["paste"], "P12345");
    // A complete request: 0, its table aligned.
    let (code, out, _) = run_bin(
        &["parse", fixture("01-standard-form.txt").to_str().unwrap()],
        &[],
        &root(),
    );
    assert_eq!(code, 0, "{out}");
    let value_columns: Vec<usize> = out
        .lines()
        .map(|l| {
            l.find("  ")
                .map(|i| i + l[i..].len() - l[i..].trim_start().len())
                .unwrap()
        })
        .collect();
    assert!(value_columns.windows(2).all(|w| w[0] == w[1]), "{out}");

    // Endless or binary input ends at once with a clear message.
    for cmd in ["key", "parse"] {
        let (code, out, err) = run_bin(&[cmd, "/dev/zero"], &[], &root());
        assert_eq!(code, 1, "{cmd}");
        assert!(out.is_empty());
        assert!(
            err.contains("/dev/zero is larger than 1 MiB"),
            "{cmd}: {err}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let elf = dir.path().join("a.out");
    std::fs::write(&elf, b"\x7fELF\x02\x01\x01\x00\x00\x00").unwrap();
    let (code, _, err) = run_bin(&["key", elf.to_str().unwrap()], &[], &root());
    assert_eq!(code, 1);
    assert!(err.contains("is binary, not text"), "{err}");
}

#[tokio::test]
async fn text_logs_have_colour_only_when_asked_and_dependencies_at_warn() {
    // (JSON lines: tests/cli.rs, json_logs_carry_task_and_phase_fields.)
    // No colour off a terminal (NO_COLOR unset), colour when asked; dependencies stay at warn
    // under RUST_LOG=debug.
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let mut command = w.bin(&["run", "--once"]).env("RUST_LOG", "debug").command();
    // Not through Bin::output, which sets NO_COLOR; off the runtime the simulator runs on.
    command.env_remove("NO_COLOR");
    let plain = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&plain.stderr);
    assert!(plain.status.success(), "{text}");
    assert!(!text.contains('\u{1b}'), "colour off a terminal: {text}");
    assert!(text.contains("DEBUG"), "the bot at debug: {text}");
    assert!(
        !text.contains("sqlx") && !text.contains("hyper"),
        "dependencies stay at warn: {text}"
    );
    let (_, _, err) = w
        .bin(&["run", "--once"])
        .flags(&["--color", "always"])
        .output()
        .await;
    assert!(err.contains('\u{1b}'), "--color always: {err}");
}

/// The install recipe's command lines in a text: within `scope` (from the first line
/// containing `from` to the next line equal to `to`), the lines that are commands once
/// `indent` is taken off (lines equal to `to` right after `from` are skipped).
fn recipe(text: &str, from: &str, to: &str, indent: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.contains(from))
        .skip(1)
        .skip_while(|l| *l == to)
        .take_while(|l| *l != to)
        .filter_map(|l| l.strip_prefix(indent))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with(' '))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_install_recipe_agrees_everywhere_and_works_on_a_new_host() {
    let read = |p: &str| std::fs::read_to_string(root().join(p)).unwrap();
    let unit = read("contrib/accessbot.service");
    let in_unit = recipe(&unit, "Install", "#", "#   ");
    let in_contrib = recipe(&read("contrib/README.md"), "```sh", "```", "");
    let in_readme = recipe(
        &read("README.md"),
        "## Running it as a service",
        "### Metrics and health",
        "    ",
    );
    assert!(in_unit.len() >= 10, "{in_unit:#?}");
    assert_eq!(in_unit, in_contrib, "the unit and contrib/README differ");
    assert_eq!(in_readme, in_contrib, "README and contrib/README differ");
    assert!(
        in_contrib[..3]
            .iter()
            .all(|l| !l.contains("/etc/accessbot/"))
            && in_contrib[3].starts_with("install -d -m 0755 /etc/accessbot"),
        "/etc/accessbot is created before anything goes into it: {in_contrib:#?}"
    );

    // The recipe on a "new host": every absolute path moved under a temporary root, the
    // build replaced by the binary under test, systemd's part done by hand.
    let w = World::start("demo.toml", "2026-11-12T12:00:00Z").await;
    let host = tempfile::tempdir().unwrap();
    let r = host.path().display().to_string();
    let moved = |l: &str| {
        l.replace("/usr/local/", &format!("{r}/usr/local/"))
            .replace("/etc/", &format!("{r}/etc/"))
            .replace("/var/lib/", &format!("{r}/var/lib/"))
    };
    let mut script = vec![
        "set -e".to_string(),
        format!("export PATH={r}/usr/local/bin:$PATH"),
        format!("mkdir -p {r}/usr/local/bin {r}/etc/systemd/system"),
    ];
    for line in &in_contrib {
        if line.starts_with("cargo build") || line.starts_with("systemctl ") {
            continue;
        }
        let line = moved(line)
            .replace(
                "target/release/accessbot",
                &common::bin().display().to_string(),
            )
            .replace("https://phabricator.your.org", &w.sim.url());
        script.push(line);
        if line_is_config_install(&script) {
            // What the administrator's StateDirectory and paths are on this "host".
            script.push(format!(
                "sed -i 's|/var/lib/|{r}/var/lib/|; s|\"/etc/|\"{r}/etc/|' {r}/etc/accessbot/accessbot.toml"
            ));
        }
    }
    let script = script.join("\n");
    let token = w.token.clone();
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(root())
            .env_remove("ACCESSBOT_TOKEN")
            .env_remove("ACCESSBOT_CONFIG")
            .env_remove("ACCESSBOT_PHAB_URL")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("every configured name exists"),
        "rules check --live: {stdout}"
    );
    assert!(Path::new(&format!("{r}/usr/local/share/man/man1/accessbot-run.1")).exists());
    let token_mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(format!("{r}/etc/accessbot/token"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(token_mode, 0o600);

    // What systemd runs, from the installed unit: the check before start, then the bot.
    let installed =
        std::fs::read_to_string(format!("{r}/etc/systemd/system/accessbot.service")).unwrap();
    assert_eq!(installed, unit);
    let exec = |key: &str| -> Vec<String> {
        let line = unit
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}"));
        moved(line)
            .replace(
                "${CREDENTIALS_DIRECTORY}/accessbot-token",
                &format!("{r}/etc/accessbot/token"),
            )
            .split_whitespace()
            .skip(1)
            .map(String::from)
            .collect()
    };
    assert!(unit.contains("\nType=notify\n") && unit.contains("\nNotifyAccess=main\n"));
    assert!(unit.contains("\nWatchdogSec="));
    std::fs::create_dir_all(format!("{r}/var/lib/accessbot")).unwrap();
    let pre = exec("ExecStartPre");
    let (code, _, err) = run_bin_async(&strs(&pre), &[], host.path()).await;
    assert_eq!(code, 0, "ExecStartPre: {err}");
    let mut start = exec("ExecStart");
    start.push("--once".into());
    let (code, _, err) = run_bin_async(&strs(&start), &[], host.path()).await;
    assert_eq!(code, 0, "ExecStart: {err}");
    assert!(Path::new(&format!("{r}/var/lib/accessbot/accessbot.db")).exists());
    assert!(!w.comments(101).is_empty(), "the bot posted");
    // What the installed service posted: T101's checklist, BLOCKED on the project lead. As
    // a service it runs on the real clock: the minute it was evaluated is normalised
    // (`common::snap::real_clock`), and the waiting period (ending 2026-11-15 in the
    // scenario) has ended on any real clock since.
    insta::assert_snapshot!(common::snap::real_clock(&w.thread(101)), @"
    --- comment 1 by accessbot at 2026-11-12T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for project-lead.**
    //Needed now//: @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]jdoe
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:EXH1lf9QErDh/sRbFszUR/4vRBf7ZWvOsrZ5ItGZE+Y`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]jdoe in the task description
    - [x] `l3`: @[zwsp]jdoe signed `L3`
    - [x] `nda`: @[zwsp]jdoe is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-15 09:00 UTC

    //Evaluated [real-now] UTC. accessbot posts a new checklist whenever this one changes.//
    ");

    // With the template's example URL, the check before start refuses.
    let config = format!("{r}/etc/accessbot/accessbot.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(&w.sim.url(), "https://phabricator.example.org"),
    )
    .unwrap();
    let (code, _, err) = run_bin_async(&strs(&pre), &[], host.path()).await;
    assert_eq!(code, 1);
    assert!(err.contains("is the documentation's example"), "{err}");
}

/// Whether the script's last line installed the configuration template.
fn line_is_config_install(script: &[String]) -> bool {
    script
        .last()
        .is_some_and(|l| l.contains("contrib/accessbot.toml") && l.starts_with("install "))
}

/// Runs a command whose program this test just copied: while another test thread forks, the
/// copy's write descriptor may still be open in the child for a moment and exec answers
/// ETXTBSY ("text file busy"); that passes, so try again.
fn output_of_copied_binary(cmd: &mut Command) -> std::process::Output {
    for _ in 0..100 {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            r => return r.expect("the copied binary runs"),
        }
    }
    panic!("the copied binary stayed busy (ETXTBSY)")
}
