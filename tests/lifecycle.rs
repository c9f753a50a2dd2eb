//! The life of access after "ready" (design §11), through the real binary against the
//! simulator with its clock moved: a request granted when data.yaml (re-read between cycles)
//! shows it, or when its task is resolved after it was ready (and not when it is resolved
//! without ever being ready); the expiry reminder across the reminder day and the "expired"
//! note across the expiry day, each exactly once through restarts, a killed bot, a lost
//! database and clock jumps; removal tasks and their data.yaml change, checked by re-parsing;
//! `expiring`, `status --all`, `check`, the agenda and the metrics' counts; and the texts of
//! every new comment as snapshots.

mod common;

use accessbot::grant::{self, AdminData};
use accessbot::ids::{TaskId, Username};
use accessbot::lifecycle::{EXPIRED_HEADER, GRANTED_HEADER, REMINDER_HEADER, REMOVAL_HEADER};
use accessbot::policy::Verdict;
use accessbot::request::Request;
use accessbot::store::Store;
use common::{root, World};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// ipark's key line, as T501 has it.
const IPARK_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIANkqWhW9jMkdBu9UDmRX/rv9TjPpps795fCjlyub+r9 ipark@laptop";

/// The lifecycle scenario, with a copy of the data.yaml fixture configured as `[keys]
/// data_yaml` (or none).
struct Life {
    w: World,
    rules: tempfile::TempDir,
}

impl Life {
    async fn start(now: &str) -> Life {
        Self::start_with(now, true).await
    }

    async fn start_with(now: &str, data_yaml: bool) -> Life {
        let w = World::start("lifecycle.toml", now).await;
        let data = w.dir.path().join("data.yaml");
        std::fs::copy(root().join("tests/fixtures/grant/data.yaml"), &data).unwrap();
        let rules = common::rules_dir(|p| {
            if data_yaml {
                p.replace(
                    "data_yaml = \"\"",
                    &format!("data_yaml = {:?}", data.display().to_string()),
                )
            } else {
                p
            }
        });
        Life { w, rules }
    }

    fn data(&self) -> PathBuf {
        self.w.dir.path().join("data.yaml")
    }

    fn data_text(&self) -> String {
        std::fs::read_to_string(self.data()).unwrap()
    }

    /// Both clocks at `now`, then `accessbot run --once` as of then.
    async fn run(&self, now: &str) {
        self.w.set_now(now);
        let (code, _, err) = self.cli(now, &["run", "--once"]).await;
        assert_eq!(code, 0, "run --once at {now}: {err}");
    }

    async fn cli(&self, now: &str, args: &[&str]) -> (i32, String, String) {
        self.w.run_cli_rules(self.rules.path(), now, args).await
    }

    /// The bot's comments on a task that start with `header`.
    fn posted(&self, task: u64, header: &str) -> Vec<String> {
        self.w
            .comments(task)
            .into_iter()
            .filter(|c| c.starts_with(header))
            .collect()
    }

    async fn verdict(&self, task: u64) -> Verdict {
        let store = Store::open_read_only(&self.w.db()).await.unwrap();
        let v = store
            .task(TaskId::new(task))
            .await
            .unwrap()
            .unwrap()
            .verdict;
        store.close().await;
        v
    }

    /// The database is lost (with its WAL files, if any were left).
    fn lose_db(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.w.db().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
        assert!(!self.w.db().exists());
    }

    /// Clinic duty applies the grant of T501: ipark joins analytics-privatedata-users.
    fn grant_ipark(&self) {
        let req = Request {
            full_name: Some("In Park".into()),
            shell_user: Some("ipark".parse().unwrap()),
            email: Some("ipark@example.org".into()),
            groups: vec!["analytics-privatedata-users".into()],
            expiry_date: chrono::NaiveDate::from_ymd_opt(2027, 1, 15),
            expiry_contact: Some(Username::new("mboss")),
            ..Request::default()
        };
        let p = grant::patch(&req, IPARK_KEY, &self.data_text(), "data.yaml").unwrap();
        // As `git pull` brings it: a new file in the old one's place.
        let next = self.w.dir.path().join("data.yaml.new");
        std::fs::write(&next, p.text).unwrap();
        std::fs::rename(&next, self.data()).unwrap();
    }

    /// `expiring --json` as of `now`.
    async fn expiring(&self, now: &str, extra: &[&str]) -> Vec<serde_json::Value> {
        let mut args = vec!["expiring", "--json"];
        args.extend_from_slice(extra);
        let (code, out, err) = self.cli(now, &args).await;
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

/// Brings T501 to ready and then granted (data.yaml shows it) as of 2026-11-05 12:00.
async fn granted_t501(l: &Life) {
    l.run("2026-11-02T12:00:00Z").await;
    l.run("2026-11-05T10:00:00Z").await;
    assert_eq!(l.verdict(501).await, Verdict::Ready);
    l.grant_ipark();
    l.run("2026-11-05T12:00:00Z").await;
    assert_eq!(l.verdict(501).await, Verdict::Granted);
    assert_eq!(l.posted(501, GRANTED_HEADER).len(), 1);
}

#[tokio::test]
async fn granted_by_data_yaml_then_reminded_once_and_noted_once_after_expiry() {
    let l = Life::start("2026-11-02T12:00:00Z").await;
    l.run("2026-11-02T12:00:00Z").await;
    l.run("2026-11-05T10:00:00Z").await;
    assert_eq!(l.verdict(501).await, Verdict::Ready);
    let checklists = l.posted(501, accessbot::report::CHECKLIST_HEADER);
    assert!(
        checklists.last().unwrap().contains("READY"),
        "{checklists:#?}"
    );
    // data.yaml does not show it yet: still ready, nothing more said.
    l.run("2026-11-05T11:00:00Z").await;
    assert_eq!(l.verdict(501).await, Verdict::Ready);
    assert!(l.posted(501, GRANTED_HEADER).is_empty());

    // Clinic duty applies the grant; the next cycle reads data.yaml again and sees it.
    l.grant_ipark();
    l.run("2026-11-05T12:00:00Z").await;
    assert_eq!(l.verdict(501).await, Verdict::Granted);
    let granted = l.posted(501, GRANTED_HEADER);
    assert_eq!(granted.len(), 1, "{granted:#?}");
    insta::assert_snapshot!(l.w.normalise(&granted[0]), @"**accessbot granted**: @ipark is in analytics-privatedata-users in data.yaml (shell user `ipark`), so this request is granted. accessbot no longer checks it. The access expires on 2027-01-15: on 2027-01-01 accessbot reminds the expiry contact, mboss, here, and if the access is still in data.yaml once it has expired, it says so here.");
    let before = l.w.comments(501).len();
    let texts = l.w.posted(501);
    l.run("2026-11-05T13:00:00Z").await;
    l.run("2026-11-20T13:00:00Z").await;
    assert_eq!(l.w.comments(501).len(), before, "nothing more is posted");
    assert_eq!(l.w.posted(501), texts, "nor changed");
    assert_eq!(l.verdict(501).await, Verdict::Granted);

    // What expires: nothing within the default 14 days; within 90 days, T501.
    assert!(l.expiring("2026-11-20T13:00:00Z", &[]).await.is_empty());
    let items = l
        .expiring("2026-11-20T13:00:00Z", &["--within", "90"])
        .await;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(
        items[0],
        serde_json::json!({
            "task": "T501",
            "shell_user": "ipark",
            "groups": ["analytics-privatedata-users"],
            "expiry_date": "2027-01-15",
            "expiry_contact": "mboss",
            "days_left": 56,
            "reminded_at": null,
            "state": "expiring",
        })
    );

    // The day before the reminder day: nothing.
    l.run("2026-12-31T23:00:00Z").await;
    assert!(l.posted(501, REMINDER_HEADER).is_empty());
    // The reminder day (14 days before 2027-01-15): one reminder, pinging the expiry contact.
    l.run("2027-01-01T00:30:00Z").await;
    let reminders = l.posted(501, REMINDER_HEADER);
    assert_eq!(reminders.len(), 1, "{reminders:#?}");
    insta::assert_snapshot!(l.w.normalise(&reminders[0]), @"**accessbot expiry reminder** for 2027-01-15: @mboss, the access of `ipark` (analytics-privatedata-users) granted on this task expires on 2027-01-15 (in 14 days). Remove it then, or extend it. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.");
    l.run("2027-01-01T06:00:00Z").await;
    l.run("2027-01-14T23:00:00Z").await;
    assert_eq!(l.posted(501, REMINDER_HEADER).len(), 1, "once");
    let items = l.expiring("2027-01-02T09:00:00Z", &[]).await;
    assert_eq!(items[0]["days_left"], 13);
    assert_eq!(items[0]["reminded_at"], "2027-01-01T00:30:00+00:00");
    let (code, table, err) = l.cli("2027-01-02T09:00:00Z", &["expiring"]).await;
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("expiring_table", table);
    // The agenda of the next meeting (2027-01-11) lists what expires before the one after it.
    let (code, agenda, err) = l
        .cli("2027-01-02T09:00:00Z", &["agenda", "--format", "markdown"])
        .await;
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(
        "agenda_expiring_markdown",
        agenda.replace(&l.w.sim.url(), "https://phabricator.example.org")
    );
    let (_, agenda, _) = l
        .cli("2027-01-02T09:00:00Z", &["agenda", "--format", "json"])
        .await;
    let v: serde_json::Value = serde_json::from_str(&agenda).unwrap();
    assert_eq!(v["meeting"], "2027-01-11");
    assert_eq!(v["expiring"][0]["task"], "T501");
    assert_eq!(v["expiring"][0]["state"], "expiring");
    assert_eq!(v["expiring"][0]["url"], format!("{}/T501", l.w.sim.url()));
    let (_, agenda, _) = l
        .cli(
            "2027-01-02T09:00:00Z",
            &["agenda", "--meeting", "2027-01-25", "--format", "wikitext"],
        )
        .await;
    let section = agenda.split("=== Expiring ===").nth(1).unwrap_or_default();
    assert!(
        section.contains("T501") && section.contains("|| expiring"),
        "{agenda}"
    );
    // `agenda` and `expiring` read no comment and do not compile the reading phrases: with an
    // approval pattern that does not compile (which `run` refuses), they print the same.
    let broken = tempfile::tempdir().unwrap();
    for f in ["policy.toml", "groups.toml"] {
        std::fs::copy(l.rules.path().join(f), broken.path().join(f)).unwrap();
    }
    let phrases = std::fs::read_to_string(l.rules.path().join("phrases.toml")).unwrap();
    let bad = phrases.replacen("'approv', ", "'(approv', ", 1);
    assert_ne!(bad, phrases);
    std::fs::write(broken.path().join("phrases.toml"), bad).unwrap();
    for args in [
        &["agenda", "--format", "markdown"][..],
        &["agenda", "--format", "json"],
        &["expiring"],
        &["expiring", "--json"],
    ] {
        let now = "2027-01-02T09:00:00Z";
        let (code, out, err) = l.cli(now, args).await;
        assert_eq!(code, 0, "{args:?}: {err}");
        let (code2, out2, err2) = l.w.run_cli_rules(broken.path(), now, args).await;
        assert_eq!((code2, out2), (code, out), "{args:?}");
        // The phrases were never compiled (a later compile would log the error).
        assert!(!err2.contains("ERROR"), "{args:?}: {err2}");
    }
    let (code, _, err) =
        l.w.run_cli_rules(broken.path(), "2027-01-02T09:00:00Z", &["run", "--once"])
            .await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("key `phrases.approve`: invalid regex"),
        "{err}"
    );

    // The expiry day passes and ipark is still in data.yaml: one note, to the contact and
    // clinic duty.
    l.run("2027-01-15T08:00:00Z").await;
    let notes = l.posted(501, EXPIRED_HEADER);
    assert_eq!(notes.len(), 1, "{notes:#?}");
    insta::assert_snapshot!(l.w.normalise(&notes[0]), @"**accessbot expired** on 2027-01-15: @mboss @clinicduty, the access of `ipark` (analytics-privatedata-users) granted on this task expired on 2027-01-15 and is still in data.yaml. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.");
    l.run("2027-01-16T08:00:00Z").await;
    assert_eq!(l.posted(501, EXPIRED_HEADER).len(), 1, "once");
    let items = l.expiring("2027-01-16T08:00:00Z", &[]).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["state"], "expired");
    assert_eq!(items[0]["days_left"], -1);

    // Removed (the revocation applied): no longer listed.
    let req = Request {
        shell_user: Some("ipark".parse().unwrap()),
        groups: vec!["analytics-privatedata-users".into()],
        ..Request::default()
    };
    let revoked = grant::revoke_patch(&req, &l.data_text(), "data.yaml").unwrap();
    std::fs::write(l.data(), revoked.text).unwrap();
    assert!(l.expiring("2027-01-16T09:00:00Z", &[]).await.is_empty());
    assert_eq!(l.posted(501, REMINDER_HEADER).len(), 1);
    assert_eq!(l.posted(501, GRANTED_HEADER).len(), 1);
    insta::assert_snapshot!(l.w.thread(501), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **WAITING: nothing to do but wait until 2026-11-05 09:00 UTC.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]ipark
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:NQkDazUrtJWm6pAfy/yfMsMGrlj+M1EFlMdidPaBAOA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]ipark in the task description
    - [x] `l3`: @[zwsp]ipark signed `L3`
    - [x] `nda`: @[zwsp]ipark is a member of an NDA project
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC
    - [x] `expiry`: expires on 2027-01-15; expiry contact @[zwsp]mboss

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-05T10:00:00+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**
    //Since the last checklist//: now passing: waiting-period

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]ipark
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:NQkDazUrtJWm6pAfy/yfMsMGrlj+M1EFlMdidPaBAOA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]ipark in the task description
    - [x] `l3`: @[zwsp]ipark signed `L3`
    - [x] `nda`: @[zwsp]ipark is a member of an NDA project
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC
    - [x] `expiry`: expires on 2027-01-15; expiry contact @[zwsp]mboss

    //Evaluated 2026-11-05 10:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-05T12:00:00+00:00 ---
    **accessbot granted**: @ipark is in analytics-privatedata-users in data.yaml (shell user `ipark`), so this request is granted. accessbot no longer checks it. The access expires on 2027-01-15: on 2027-01-01 accessbot reminds the expiry contact, mboss, here, and if the access is still in data.yaml once it has expired, it says so here.
    --- comment 4 by accessbot at 2027-01-01T00:30:00+00:00 ---
    **accessbot expiry reminder** for 2027-01-15: @mboss, the access of `ipark` (analytics-privatedata-users) granted on this task expires on 2027-01-15 (in 14 days). Remove it then, or extend it. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.
    --- comment 5 by accessbot at 2027-01-15T08:00:00+00:00 ---
    **accessbot expired** on 2027-01-15: @mboss @clinicduty, the access of `ipark` (analytics-privatedata-users) granted on this task expired on 2027-01-15 and is still in data.yaml. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.
    ");
}

#[tokio::test]
async fn resolved_after_ready_is_granted_and_resolved_while_blocked_is_closed() {
    let l = Life::start("2026-11-02T12:00:00Z").await;
    l.run("2026-11-02T12:00:00Z").await;
    l.run("2026-11-05T10:00:00Z").await;
    assert_eq!(l.verdict(502).await, Verdict::Ready);
    assert_eq!(
        l.verdict(503).await,
        Verdict::Closed,
        "resolved on 11-04 while blocked"
    );
    // Clinic duty resolves T502 on 11-06 10:00, after the bot found it ready.
    l.run("2026-11-06T12:00:00Z").await;
    assert_eq!(l.verdict(502).await, Verdict::Granted);
    let granted = l.posted(502, GRANTED_HEADER);
    assert_eq!(granted.len(), 1, "{granted:#?}");
    insta::assert_snapshot!(l.w.normalise(&granted[0]), @"**accessbot granted**: this request was ready to grant and the task was resolved on 2026-11-06 10:00 UTC, so accessbot takes it as granted: @cnguyen, shell user `cnguyen` (analytics-users). accessbot no longer checks this request.");
    // The control: never ready, so never granted.
    assert!(l.posted(503, GRANTED_HEADER).is_empty());
    assert_eq!(l.verdict(503).await, Verdict::Closed);

    // status --all shows the granted request; plain status only the open ones.
    let (code, out, err) = l
        .cli("2026-11-06T12:00:00Z", &["status", "--all", "--json"])
        .await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let of = |t: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["task"] == t)
            .map(|r| r["verdict"].as_str().unwrap().to_string())
    };
    assert_eq!(of("T502").as_deref(), Some("granted"));
    assert_eq!(of("T503").as_deref(), Some("closed"));
    let (_, table, _) = l.cli("2026-11-06T12:00:00Z", &["status", "--all"]).await;
    assert!(
        table
            .lines()
            .any(|r| r.contains("/T502 ") && r.contains("granted")),
        "{table}"
    );
    let (_, table, _) = l.cli("2026-11-06T12:00:00Z", &["status"]).await;
    assert!(
        !table.contains("T502"),
        "closed and granted: --all only\n{table}"
    );
    // The metrics count granted requests, open or closed.
    let store = Store::open_read_only(&l.w.db()).await.unwrap();
    let counts = store.open_verdict_counts().await.unwrap();
    assert_eq!(counts.get("granted"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("closed"), None, "{counts:?}");
    store.close().await;
    // `check` says so too.
    let (code, out, _) = l.cli("2026-11-06T12:00:00Z", &["check", "T502"]).await;
    assert_eq!(code, 3, "granted is not ready");
    assert!(out.starts_with("T502: GRANTED"), "{out}");

    // A lost database: the bot reads its own granted comment back; nothing is posted twice.
    l.lose_db();
    let before: Vec<usize> = [501, 502, 503].map(|t| l.w.comments(t).len()).to_vec();
    l.run("2026-11-06T13:00:00Z").await;
    assert_eq!(l.verdict(502).await, Verdict::Granted);
    assert_eq!(l.verdict(503).await, Verdict::Closed);
    assert_eq!(l.posted(502, GRANTED_HEADER).len(), 1);
    let after: Vec<usize> = [501, 502, 503].map(|t| l.w.comments(t).len()).to_vec();
    assert_eq!(before, after);
    insta::assert_snapshot!(l.w.thread(502), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **WAITING: nothing to do but wait until 2026-11-05 09:30 UTC.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:1y9rxMBk6UVGa36WWYIj/Kq7c4bT+D7r2pWIBNmlSN0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-users`: approved by @[zwsp]aotto
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:30 UTC

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-05T10:00:00+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**
    //Since the last checklist//: now passing: waiting-period

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:1y9rxMBk6UVGa36WWYIj/Kq7c4bT+D7r2pWIBNmlSN0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:30 UTC

    //Evaluated 2026-11-05 10:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-06T12:00:00+00:00 ---
    **accessbot granted**: this request was ready to grant and the task was resolved on 2026-11-06 10:00 UTC, so accessbot takes it as granted: @cnguyen, shell user `cnguyen` (analytics-users). accessbot no longer checks this request.
    ");
    insta::assert_snapshot!(l.w.thread(503), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]rtemp
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:pn6MUELG+B3pZsIJz1ZXTXA+TOE+M5+Y/sOLniBqAaw`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]rtemp in the task description
    - [x] `l3`: @[zwsp]rtemp signed `L3`
    - [x] `nda`: @[zwsp]rtemp is a member of an NDA project
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet; to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:45 UTC
    - [x] `expiry`: expires on 2027-02-01; expiry contact @[zwsp]mboss

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

#[tokio::test]
async fn a_killed_bot_a_lost_database_and_restarts_never_send_a_reminder_twice() {
    let l = Life::start("2026-11-02T12:00:00Z").await;
    granted_t501(&l).await;
    // The bot runs as a service on the reminder day; it is killed once the reminder is out.
    let now = "2027-01-01T01:00:00Z";
    l.w.set_now(now);
    let mut child =
        l.w.bin(&["run", "--interval", "1"])
            .rules(l.rules.path())
            .command()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while l.posted(501, REMINDER_HEADER).is_empty() {
        assert!(Instant::now() < deadline, "no reminder within a minute");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Restarted, again and again, on the same day and later ones.
    for now in [
        "2027-01-01T01:00:00Z",
        "2027-01-01T02:00:00Z",
        "2027-01-10T02:00:00Z",
    ] {
        l.run(now).await;
    }
    assert_eq!(l.posted(501, REMINDER_HEADER).len(), 1);
    // The database is lost: the bot reads its reminder back from the task.
    l.lose_db();
    l.run("2027-01-10T03:00:00Z").await;
    assert_eq!(l.verdict(501).await, Verdict::Granted);
    assert_eq!(l.posted(501, REMINDER_HEADER).len(), 1);
    assert_eq!(l.posted(501, GRANTED_HEADER).len(), 1);
    let store = Store::open_read_only(&l.w.db()).await.unwrap();
    let life = store.lifecycle(TaskId::new(501)).await.unwrap().unwrap();
    assert_eq!(
        life.reminded_for.map(|d| d.to_string()).as_deref(),
        Some("2027-01-15")
    );
    assert_eq!(life.granted.map(|g| g.as_str()), Some("comment"));
    store.close().await;
    // Lost again after the expiry day: one note, and no late reminder.
    l.lose_db();
    l.run("2027-01-20T09:00:00Z").await;
    l.lose_db();
    l.run("2027-01-21T09:00:00Z").await;
    assert_eq!(l.posted(501, EXPIRED_HEADER).len(), 1);
    assert_eq!(l.posted(501, REMINDER_HEADER).len(), 1);
    // The whole thread after the kill, the restarts and two lost databases: each comment
    // once, in order, the reminder from the killed service (its --now, the reminder day).
    insta::assert_snapshot!(l.w.thread(501), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **WAITING: nothing to do but wait until 2026-11-05 09:00 UTC.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]ipark
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:NQkDazUrtJWm6pAfy/yfMsMGrlj+M1EFlMdidPaBAOA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]ipark in the task description
    - [x] `l3`: @[zwsp]ipark signed `L3`
    - [x] `nda`: @[zwsp]ipark is a member of an NDA project
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC
    - [x] `expiry`: expires on 2027-01-15; expiry contact @[zwsp]mboss

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-05T10:00:00+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**
    //Since the last checklist//: now passing: waiting-period

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]ipark
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:NQkDazUrtJWm6pAfy/yfMsMGrlj+M1EFlMdidPaBAOA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]ipark in the task description
    - [x] `l3`: @[zwsp]ipark signed `L3`
    - [x] `nda`: @[zwsp]ipark is a member of an NDA project
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC
    - [x] `expiry`: expires on 2027-01-15; expiry contact @[zwsp]mboss

    //Evaluated 2026-11-05 10:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-05T12:00:00+00:00 ---
    **accessbot granted**: @ipark is in analytics-privatedata-users in data.yaml (shell user `ipark`), so this request is granted. accessbot no longer checks it. The access expires on 2027-01-15: on 2027-01-01 accessbot reminds the expiry contact, mboss, here, and if the access is still in data.yaml once it has expired, it says so here.
    --- comment 4 by accessbot at 2027-01-01T01:00:00+00:00 ---
    **accessbot expiry reminder** for 2027-01-15: @mboss, the access of `ipark` (analytics-privatedata-users) granted on this task expires on 2027-01-15 (in 14 days). Remove it then, or extend it. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.
    --- comment 5 by accessbot at 2027-01-20T09:00:00+00:00 ---
    **accessbot expired** on 2027-01-15: @mboss @clinicduty, the access of `ipark` (analytics-privatedata-users) granted on this task expired on 2027-01-15 and is still in data.yaml. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.
    ");
}

#[tokio::test]
async fn clock_jumps_neither_skip_nor_repeat_the_reminder() {
    let l = Life::start("2026-11-02T12:00:00Z").await;
    granted_t501(&l).await;
    // Straight from November past the reminder day, but before expiry: the reminder goes out.
    l.run("2027-01-10T12:00:00Z").await;
    let reminders = l.posted(501, REMINDER_HEADER);
    assert_eq!(reminders.len(), 1);
    assert!(reminders[0].contains("(in 5 days)"), "{}", reminders[0]);
    insta::assert_snapshot!(l.w.posted(501).last().unwrap(), @"**accessbot expiry reminder** for 2027-01-15: @mboss, the access of `ipark` (analytics-privatedata-users) granted on this task expires on 2027-01-15 (in 5 days). Remove it then, or extend it. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.");
    // Back to December, then past the expiry: no second reminder, one note.
    l.run("2026-12-01T12:00:00Z").await;
    l.run("2027-02-01T12:00:00Z").await;
    l.run("2027-01-05T12:00:00Z").await;
    l.run("2027-02-02T12:00:00Z").await;
    assert_eq!(l.posted(501, REMINDER_HEADER).len(), 1);
    assert_eq!(l.posted(501, EXPIRED_HEADER).len(), 1);
    // The whole thread: the reminder of the jump to 2027-01-10 and the note of the first run
    // past the expiry (2027-02-01), each once, nothing from the runs back in time.
    insta::assert_snapshot!(l.w.thread(501), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **WAITING: nothing to do but wait until 2026-11-05 09:00 UTC.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]ipark
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:NQkDazUrtJWm6pAfy/yfMsMGrlj+M1EFlMdidPaBAOA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]ipark in the task description
    - [x] `l3`: @[zwsp]ipark signed `L3`
    - [x] `nda`: @[zwsp]ipark is a member of an NDA project
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC
    - [x] `expiry`: expires on 2027-01-15; expiry contact @[zwsp]mboss

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-05T10:00:00+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**
    //Since the last checklist//: now passing: waiting-period

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]ipark
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:NQkDazUrtJWm6pAfy/yfMsMGrlj+M1EFlMdidPaBAOA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]ipark in the task description
    - [x] `l3`: @[zwsp]ipark signed `L3`
    - [x] `nda`: @[zwsp]ipark is a member of an NDA project
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC
    - [x] `expiry`: expires on 2027-01-15; expiry contact @[zwsp]mboss

    //Evaluated 2026-11-05 10:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-05T12:00:00+00:00 ---
    **accessbot granted**: @ipark is in analytics-privatedata-users in data.yaml (shell user `ipark`), so this request is granted. accessbot no longer checks it. The access expires on 2027-01-15: on 2027-01-01 accessbot reminds the expiry contact, mboss, here, and if the access is still in data.yaml once it has expired, it says so here.
    --- comment 4 by accessbot at 2027-01-10T12:00:00+00:00 ---
    **accessbot expiry reminder** for 2027-01-15: @mboss, the access of `ipark` (analytics-privatedata-users) granted on this task expires on 2027-01-15 (in 5 days). Remove it then, or extend it. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.
    --- comment 5 by accessbot at 2027-02-01T12:00:00+00:00 ---
    **accessbot expired** on 2027-01-15: @mboss @clinicduty, the access of `ipark` (analytics-privatedata-users) granted on this task expired on 2027-01-15 and is still in data.yaml. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.
    ");

    // Another world: straight from granted past the expiry day. A reminder to act before a
    // day that has passed is not sent; the note is.
    let l = Life::start("2026-11-02T12:00:00Z").await;
    granted_t501(&l).await;
    l.run("2027-03-01T12:00:00Z").await;
    assert!(l.posted(501, REMINDER_HEADER).is_empty());
    assert_eq!(l.posted(501, EXPIRED_HEADER).len(), 1);
    // The comments after the granted one: the note alone, no reminder.
    let posted = l.w.posted(501);
    let granted = posted
        .iter()
        .position(|c| c.starts_with(GRANTED_HEADER))
        .expect("the granted comment");
    insta::assert_snapshot!(posted[granted + 1..].join("\n---\n"), @"**accessbot expired** on 2027-01-15: @mboss @clinicduty, the access of `ipark` (analytics-privatedata-users) granted on this task expired on 2027-01-15 and is still in data.yaml. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.");
}

#[tokio::test]
async fn without_data_yaml_a_resolved_request_is_followed_and_its_expiry_unverified() {
    let l = Life::start_with("2026-11-02T12:00:00Z", false).await;
    l.run("2026-11-02T12:00:00Z").await;
    l.run("2026-11-05T10:00:00Z").await;
    assert_eq!(l.verdict(501).await, Verdict::Ready);
    // No data.yaml to show it: granted only once clinic duty resolves the task.
    l.w.sim.set_now(common::at("2026-11-05T12:00:00Z"));
    resolve(&l.w, 501).await;
    l.run("2026-11-05T12:30:00Z").await;
    assert_eq!(l.verdict(501).await, Verdict::Granted);
    l.run("2027-01-01T09:00:00Z").await;
    assert_eq!(l.posted(501, REMINDER_HEADER).len(), 1);
    l.run("2027-01-15T09:00:00Z").await;
    let notes = l.posted(501, EXPIRED_HEADER);
    assert_eq!(notes.len(), 1);
    insta::assert_snapshot!(l.w.normalise(&notes[0]), @"**accessbot expired** on 2027-01-15: @mboss @clinicduty, the access of `ipark` (analytics-privatedata-users) granted on this task expired on 2027-01-15. accessbot has no data.yaml ([keys] data_yaml) to see whether it was removed: please check. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.");
    let items = l.expiring("2027-01-16T09:00:00Z", &[]).await;
    assert_eq!(items[0]["state"], "expired-unverified", "{items:#?}");
    // The whole thread: without data.yaml the granted comment comes from the resolution, and
    // the note says the removal cannot be verified. (The granted comment's last sentence
    // promises to say "if the access is still in data.yaml once it has expired", which a bot
    // without data.yaml cannot do: locked as it is and reported, not changed here.)
    insta::assert_snapshot!(l.w.thread(501), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **WAITING: nothing to do but wait until 2026-11-05 09:00 UTC.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]ipark
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:NQkDazUrtJWm6pAfy/yfMsMGrlj+M1EFlMdidPaBAOA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]ipark in the task description
    - [x] `l3`: @[zwsp]ipark signed `L3`
    - [x] `nda`: @[zwsp]ipark is a member of an NDA project
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC
    - [x] `expiry`: expires on 2027-01-15; expiry contact @[zwsp]mboss

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-05T10:00:00+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**
    //Since the last checklist//: now passing: waiting-period

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]ipark
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:NQkDazUrtJWm6pAfy/yfMsMGrlj+M1EFlMdidPaBAOA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]ipark in the task description
    - [x] `l3`: @[zwsp]ipark signed `L3`
    - [x] `nda`: @[zwsp]ipark is a member of an NDA project
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC
    - [x] `expiry`: expires on 2027-01-15; expiry contact @[zwsp]mboss

    //Evaluated 2026-11-05 10:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-05T12:30:00+00:00 ---
    **accessbot granted**: this request was ready to grant and the task was resolved on 2026-11-05 12:00 UTC, so accessbot takes it as granted: @ipark, shell user `ipark` (analytics-privatedata-users). accessbot no longer checks this request. The access expires on 2027-01-15: on 2027-01-01 accessbot reminds the expiry contact, mboss, here, and once it has expired it asks here that its removal be checked (accessbot reads no data.yaml).
    --- comment 4 by accessbot at 2027-01-01T09:00:00+00:00 ---
    **accessbot expiry reminder** for 2027-01-15: @mboss, the access of `ipark` (analytics-privatedata-users) granted on this task expires on 2027-01-15 (in 14 days). Remove it then, or extend it. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.
    --- comment 5 by accessbot at 2027-01-15T09:00:00+00:00 ---
    **accessbot expired** on 2027-01-15: @mboss @clinicduty, the access of `ipark` (analytics-privatedata-users) granted on this task expired on 2027-01-15. accessbot has no data.yaml ([keys] data_yaml) to see whether it was removed: please check. To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch T501 --revoke` prints; to extend it, change `expiry_date` of ipark in data.yaml.
    ");
}

/// Resolves a task as clinic duty would (a status edit through Conduit, by another account:
/// the simulator's edit records it as the token's user).
async fn resolve(w: &World, task: u64) {
    let token = "api-simlifecycleclinicduty000000";
    let c = w
        .builder()
        .token(accessbot::conduit::Token::new(token.into()))
        .client()
        .unwrap();
    c.edit(
        TaskId::new(task),
        serde_json::json!([{"type": "status", "value": "resolved"}]),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn removal_tasks_get_the_revocation_in_their_checklists_place() {
    let l = Life::start("2026-11-03T12:00:00Z").await;
    l.run("2026-11-03T12:00:00Z").await;
    let data = l.data_text();

    // "Remove nwu from analytics-users": the patch, as `revoke_patch` makes it.
    let t504 = l.posted(504, REMOVAL_HEADER);
    assert_eq!(t504.len(), 1, "{:#?}", l.w.comments(504));
    assert!(
        l.posted(504, accessbot::report::CHECKLIST_HEADER)
            .is_empty(),
        "no checklist on a removal task"
    );
    insta::assert_snapshot!(l.w.normalise(&t504[0]), @"
    **accessbot removal**: this task asks to remove the access of `nwu` (analytics-users). Make sure the removal is wanted (who asks for it, and for whom) before applying it.

    The data.yaml change, checked by re-parsing (`accessbot grant-patch T504 --revoke` prints it too):
    - nwu keeps deployment, analytics-privatedata-users, analytics-admins: the account and its ssh keys stay

    ```lang=diff
    --- a/data.yaml
    +++ b/data.yaml
    @@ -87,7 +87,7 @@
       analytics-users:
         gid: 732
         description: Access to the stat hosts without private data
    -    members: [nwu,ekaur,aaron]
    +    members: [ekaur,aaron]
       statistics-privatedata-users:
         gid: 733
         description: Private data on the stat hosts
    ```

    //accessbot posts a new comment here when this one changes (not for unrelated data.yaml edits).//
    ");
    let nwu = Request {
        shell_user: Some("nwu".parse().unwrap()),
        groups: vec!["analytics-users".into()],
        ..Request::default()
    };
    let p = grant::revoke_patch(&nwu, &data, "data.yaml").unwrap();
    assert!(t504[0].contains(&p.diff), "the comment holds the patch");
    // Re-parsed: nwu left analytics-users and kept the rest.
    let after = AdminData::parse(p.text.clone()).unwrap();
    assert!(!after.access("nwu", &["analytics-users".into()]).any());
    assert!(after
        .access("nwu", &["deployment".into(), "analytics-admins".into()])
        .complete());

    // "Offboard aaron": every group of aaron, and the account goes.
    let t505 = l.posted(505, REMOVAL_HEADER);
    assert_eq!(t505.len(), 1);
    let before = AdminData::parse(data.clone()).unwrap();
    let aaron = Request {
        shell_user: Some("aaron".parse().unwrap()),
        groups: before.groups_of("aaron"),
        ..Request::default()
    };
    assert_eq!(
        aaron.groups,
        [
            "deployment",
            "analytics-privatedata-users",
            "analytics-users"
        ]
    );
    let p5 = grant::revoke_patch(&aaron, &data, "data.yaml").unwrap();
    assert!(p5.absent);
    assert!(t505[0].contains(&p5.diff), "{}", t505[0]);
    let gone = AdminData::parse(p5.text.clone()).unwrap();
    assert!(gone.groups_of("aaron").is_empty());
    assert!(!gone.access("aaron", &aaron.groups).present);
    // The binary prints the same change for the removal task.
    let (code, out, err) = l
        .cli(
            "2026-11-03T12:00:00Z",
            &[
                "grant-patch",
                "T505",
                "--revoke",
                "--data-yaml",
                l.data().to_str().unwrap(),
            ],
        )
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, p5.diff);

    // "Remove access for the two interns": whose cannot be told, so no change is offered.
    let t506 = l.posted(506, REMOVAL_HEADER);
    assert_eq!(t506.len(), 1);
    assert!(!t506[0].contains("```"), "{}", t506[0]);
    insta::assert_snapshot!(l.w.normalise(&t506[0]), @r#"
    **accessbot removal**: this task asks to remove access, but accessbot could not tell whose:
    - neither the title nor a shell username field names the user

    Name the shell user in the title ("Remove access for <shell user>", optionally "… from <groups>") or in a shell username field. accessbot offers no data.yaml change for a user it would have to guess.

    //accessbot posts a new comment here when this one changes (not for unrelated data.yaml edits).//
    "#);
    let (code, _, err) = l
        .cli("2026-11-03T12:00:00Z", &["grant-patch", "T506", "--revoke"])
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("in doubt"), "{err}");

    // `check --json`: the kind, and one `removal` check for clinic duty.
    let (_, out, _) = l
        .cli("2026-11-03T12:00:00Z", &["check", "T504", "--json"])
        .await;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["request"]["kind"], "removal");
    assert_eq!(v["verdict"], "blocked");
    assert_eq!(v["checks"][0]["id"], "removal");
    assert_eq!(v["checks"][0]["who"], "clinic-duty");

    // Idempotent: nothing new; an unrelated data.yaml edit (other line numbers) is no change.
    l.run("2026-11-03T13:00:00Z").await;
    std::fs::write(l.data(), format!("# Reviewed by SRE.\n# Twice.\n{data}")).unwrap();
    l.run("2026-11-03T14:00:00Z").await;
    for t in [504, 505, 506] {
        assert_eq!(l.posted(t, REMOVAL_HEADER).len(), 1, "T{t}");
    }
    // And each is the comment above (T505's: its thread below), unchanged.
    for (t, first) in [(504, &t504), (505, &t505), (506, &t506)] {
        assert_eq!(&l.posted(t, REMOVAL_HEADER), first, "T{t}");
    }
    // The removal applied: T504's comment says there is nothing left to remove.
    let p = grant::revoke_patch(&nwu, &l.data_text(), "data.yaml").unwrap();
    std::fs::write(l.data(), p.text).unwrap();
    l.run("2026-11-03T15:00:00Z").await;
    let t504 = l.posted(504, REMOVAL_HEADER);
    assert_eq!(t504.len(), 2);
    assert!(
        t504[1].contains("Nothing to remove in data.yaml"),
        "{}",
        t504[1]
    );
    insta::assert_snapshot!(l.w.posted(504).last().unwrap(), @"
    **accessbot removal**: this task asks to remove the access of `nwu` (analytics-users). Make sure the removal is wanted (who asks for it, and for whom) before applying it.

    Nothing to remove in data.yaml: nothing to revoke for nwu: not a member of analytics-users.

    //accessbot posts a new comment here when this one changes (not for unrelated data.yaml edits).//
    ");
    insta::assert_snapshot!(l.w.thread(505), @"
    --- comment 1 by accessbot at 2026-11-03T12:00:00+00:00 ---
    **accessbot removal**: this task asks to remove the access of `aaron` (deployment, analytics-privatedata-users, analytics-users). Make sure the removal is wanted (who asks for it, and for whom) before applying it.

    The data.yaml change, checked by re-parsing (`accessbot grant-patch T505 --revoke` prints it too):
    - aaron is in no other group: the account becomes ensure: absent and its ssh keys are removed; aaron joins the `absent` group, which removes the account from every host

    ```lang=diff
    --- a/data.yaml
    +++ b/data.yaml
    @@ -8,7 +8,7 @@
       absent:
         description: meta group for absented users with previous cluster shell access, it removes the account from /etc/passwd on all production hosts running puppet
         members: [oldtimer, gleft, rquit, hmoved, avanished, tgone, bexited,
    -              cformer, dretired]
    +              cformer, dretired, aaron]
       wikidev:
         gid: 500
         description: container group for primary user groups.
    @@ -45,7 +45,7 @@
         gid: 705
         description: software deployers, with access to deployment hosts
         members: &deployment_members [*ops_members, *releng_members,
    -              aaron, bfrost, cjones, ekaur, fmuller,
    +              bfrost, cjones, ekaur, fmuller,
                   hsato, ivanova, jwhite, mtanaka, nwu, okafor, pdiaz,
                   rbianchi, sgupta, tmoreau
         ]
    @@ -76,7 +76,6 @@
         gid: 731
         description: Access to the analytics cluster and to private data on the stat hosts
         members:
    -      - aaron
           - bkowalski
           - ivanova
           - nwu
    @@ -87,7 +86,7 @@
       analytics-users:
         gid: 732
         description: Access to the stat hosts without private data
    -    members: [nwu,ekaur,aaron]
    +    members: [nwu,ekaur]
       statistics-privatedata-users:
         gid: 733
         description: Private data on the stat hosts
    @@ -179,12 +178,11 @@
         gid: 500
         ssh_keys: []  # Added with no SSH access, for membership in analytics-privatedata-users.
       aaron:
    -    ensure: present
    +    ensure: absent
         gid: 500
         name: aaron
         realname: Aaron Quinn
    -    ssh_keys:
    -      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII+JQ7+VbeWVZlw4//8jgn4XwQzcHCegKMqubJgQYmGY aquinn@encrypted-usb
    +    ssh_keys: []
         uid: 544
         krb: present
         email: aquinn@example.org
    ```

    //accessbot posts a new comment here when this one changes (not for unrelated data.yaml edits).//
    ");
    assert_eq!(l.posted(505, REMOVAL_HEADER).len(), 1);
}

#[tokio::test]
async fn without_data_yaml_a_removal_task_gets_the_change_to_make_by_hand() {
    let l = Life::start_with("2026-11-03T12:00:00Z", false).await;
    l.run("2026-11-03T12:00:00Z").await;
    let t504 = l.posted(504, REMOVAL_HEADER);
    assert_eq!(t504.len(), 1);
    insta::assert_snapshot!(l.w.normalise(&t504[0]), @"
    **accessbot removal**: this task asks to remove the access of `nwu` (analytics-users). Make sure the removal is wanted (who asks for it, and for whom) before applying it.

    accessbot has no data.yaml ([keys] data_yaml) to make the change in. The change to make by hand:

    ```lang=yaml
    # Remove nwu from the `members:` of each of these groups (or from the list a group
    # includes through an alias, when that is where the membership is):
    #   - analytics-users
    # If these were all of nwu's groups, the account goes too: set these two fields of
    # its entry (keep the others), and add nwu to the members of the `absent` meta
    # group when data.yaml has one.
    users:
      nwu:
        ensure: absent
        ssh_keys: []
    ```

    //accessbot posts a new comment here when this one changes (not for unrelated data.yaml edits).//
    ");
    let nwu = Request {
        shell_user: Some("nwu".parse().unwrap()),
        groups: vec!["analytics-users".into()],
        ..Request::default()
    };
    assert!(t504[0].contains(&grant::revoke_snippet(&nwu).unwrap()));
    let t505 = l.posted(505, REMOVAL_HEADER);
    assert!(t505[0].contains("names no groups"), "{}", t505[0]);
    insta::assert_snapshot!(l.w.thread(505), @"
    --- comment 1 by accessbot at 2026-11-03T12:00:00+00:00 ---
    **accessbot removal**: this task asks to remove the access of `aaron` (every group). Make sure the removal is wanted (who asks for it, and for whom) before applying it.

    The task names no groups and accessbot has no data.yaml to look them up: remove aaron from each of its groups in data.yaml, set `ensure: absent` and `ssh_keys: []` in its entry, and add aaron to the `absent` group.

    //accessbot posts a new comment here when this one changes (not for unrelated data.yaml edits).//
    ");
}

#[tokio::test]
async fn granted_requests_are_not_read_again_until_their_expiry_is_due() {
    let mut w = World::start("lifecycle.toml", "2026-11-02T12:00:00Z").await;
    let data = w.dir.path().join("data.yaml");
    std::fs::copy(root().join("tests/fixtures/grant/data.yaml"), &data).unwrap();
    let rules = common::rules_dir(|p| {
        p.replace(
            "data_yaml = \"\"",
            &format!("data_yaml = {:?}", data.display().to_string()),
        )
    });
    w.rules = std::sync::Arc::new(accessbot::rules::Rules::load(rules.path()).unwrap());
    let bot = w.bot().await;
    bot.cycle().await.unwrap();
    w.set_now("2026-11-05T10:00:00Z");
    bot.cycle().await.unwrap();
    // The bot reads its own comments of that cycle back.
    bot.cycle().await.unwrap();
    let store = w.store().await;
    assert_eq!(
        store.task(TaskId::new(501)).await.unwrap().unwrap().verdict,
        Verdict::Ready
    );

    // A new data.yaml that shows T501's access: that request (and the removal tasks, whose
    // change it concerns) are read again at once; nothing else is.
    let req = Request {
        full_name: Some("In Park".into()),
        shell_user: Some("ipark".parse().unwrap()),
        email: Some("ipark@example.org".into()),
        groups: vec!["analytics-privatedata-users".into()],
        expiry_date: chrono::NaiveDate::from_ymd_opt(2027, 1, 15),
        expiry_contact: Some(Username::new("mboss")),
        ..Request::default()
    };
    let text = std::fs::read_to_string(&data).unwrap();
    std::fs::write(
        &data,
        grant::patch(&req, IPARK_KEY, &text, "data.yaml")
            .unwrap()
            .text,
    )
    .unwrap();
    w.set_now("2026-11-05T10:01:00Z");
    let r = bot.cycle().await.unwrap();
    assert_eq!(
        (r.changed, r.due),
        (0, 4),
        "T501 and the removal tasks T504-T506"
    );
    let row = store.task(TaskId::new(501)).await.unwrap().unwrap();
    assert_eq!((row.verdict, row.open), (Verdict::Granted, true));
    // It reads its own comment back once.
    bot.cycle().await.unwrap();

    // The reconcile re-reads every open request but the granted one: past `reconcile_all_hours`
    // (6), the requests whose checklist rests on no comment are due too.
    let open = store.tasks(true).await.unwrap();
    let ungranted = open
        .iter()
        .filter(|r| r.verdict != Verdict::Granted)
        .count();
    assert_eq!(open.len(), ungranted + 1, "{open:?}");
    w.set_now("2026-11-05T16:40:00Z");
    w.sim.reset_stats();
    let r = bot.cycle().await.unwrap();
    assert_eq!(r.due, ungranted);
    assert_eq!(
        w.sim.stats().calls.get("transaction.search").copied(),
        Some(ungranted as u64),
        "{:?}",
        w.sim.stats()
    );

    // Not read for its expiry until the reminder day (the start of 2027-01-01, UTC).
    let row = store.task(TaskId::new(501)).await.unwrap().unwrap();
    assert_eq!(row.wake_at, Some(common::at("2027-01-01T00:00:00Z")));
    w.set_now("2026-12-31T23:59:00Z");
    let r = bot.cycle().await.unwrap();
    assert!(
        !r.effects.iter().any(|e| e.task == TaskId::new(501)),
        "{:?}",
        r.effects
    );
    w.set_now("2027-01-01T00:00:00Z");
    let r = bot.cycle().await.unwrap();
    let kinds: Vec<_> = r
        .effects
        .iter()
        .filter(|e| e.task == TaskId::new(501))
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["reminder"]);
}

/// A preferred shell username that data.yaml already holds for someone else is not the
/// requester's existing account (which would need no key, and whose groups the grant would
/// extend): `request-complete` fails and the request is never ready. The same name asked for
/// by its holder (realname and email as data.yaml has them) is the existing account: ready
/// without a new key.
#[tokio::test]
async fn a_shell_name_data_yaml_holds_for_someone_else_is_not_the_requesters_account() {
    let w = World::from_scenario(SHELL_NAME_TAKEN).await;
    let data = w.dir.path().join("data.yaml");
    std::fs::copy(root().join("tests/fixtures/grant/data.yaml"), &data).unwrap();
    let rules = common::rules_dir(|p| {
        p.replace(
            "data_yaml = \"\"",
            &format!("data_yaml = {:?}", data.display().to_string()),
        )
    });
    for now in ["2026-11-02T12:00:00Z", "2026-11-06T12:00:00Z"] {
        w.set_now(now);
        let (code, _, err) = w.run_cli_rules(rules.path(), now, &["run", "--once"]).await;
        assert_eq!(code, 0, "{err}");
    }
    let store = Store::open_read_only(&w.db()).await.unwrap();
    // T803 asks for a name already in every requested group: not "granted" either.
    for (task, want) in [
        (801, Verdict::Blocked),
        (802, Verdict::Ready),
        (803, Verdict::Blocked),
    ] {
        let row = store.task(TaskId::new(task)).await.unwrap().unwrap();
        assert_eq!(
            row.verdict,
            want,
            "T{task}: {}",
            w.comments(task).join("\n")
        );
    }
    store.close().await;
    let last = w.comments(801).pop().unwrap();
    assert!(
        last.contains("the shell username kolsen is already in data.yaml for someone else"),
        "{last}"
    );
    assert!(
        !last.contains("Karin"),
        "data.yaml's realname is not echoed: {last}"
    );
    assert!(
        !w.comments(803)
            .iter()
            .any(|c| c.starts_with(accessbot::lifecycle::GRANTED_HEADER)),
        "{:?}",
        w.comments(803)
    );
}

const SHELL_NAME_TAKEN: &str = r#"now = "2026-11-02T12:00:00Z"

[[users]]
username = "accessbot"
real_name = "Access Bot"
bot = true
token = "api-forgeryaccessbot000000000000"

[[users]]
username = "jdoe"
real_name = "Jane Doe"

[[users]]
username = "asmith"
real_name = "Alex Smith"

[[users]]
username = "mboss"
real_name = "Morgan Boss"

[[users]]
username = "aotto"
real_name = "Andrew Otto"

[[users]]
username = "svc-lead"
real_name = "Sam Service"

[[users]]
username = "sre-kim"
real_name = "Kim SRE"

[[users]]
username = "legalteam"
real_name = "Legal Team"

[[users]]
username = "clinicduty"
real_name = "Clinic Duty"

[[users]]
username = "kolsen"
real_name = "Karin Olsen"

[[users]]
username = "bkeller"
real_name = "Bea Keller"

[[projects]]
name = "SRE-Access-Requests"
members = ["sre-kim", "clinicduty"]

[[projects]]
name = "WMF-Staff"
members = ["jdoe", "asmith", "kolsen", "bkeller", "mboss", "aotto", "svc-lead", "sre-kim", "clinicduty"]

[[projects]]
name = "WMF-NDA"
members = []

[[legalpad]]
monogram = "L3"
title = "Acknowledgement of Wikimedia Server Access Responsibilities"
signers = ["asmith", "jdoe", "kolsen"]
editors = ["accessbot"]

[[tasks]]
id = 801
author = "jdoe"
at = "2026-11-02T09:00:00Z"
title = "Requesting access to analytics-users"
projects = ["SRE-Access-Requests"]
description = """
**Full name**: Jane Doe
**Wikitech username**: Jane Doe
**Preferred shell username**: kolsen
**Email address**: jdoe@example.org
**Requested group membership**: analytics-users
**Reason for access**: Dashboards of editor retention.
**Manager / sponsor**: @mboss
"""

[[tasks.events]]
at = "2026-11-02T10:00:00Z"
author = "mboss"
comment = "Approved."

[[tasks.events]]
at = "2026-11-02T10:30:00Z"
author = "aotto"
comment = "Approved."

[[tasks]]
id = 802
author = "kolsen"
at = "2026-11-02T09:00:00Z"
title = "Requesting access to analytics-users"
projects = ["SRE-Access-Requests"]
description = """
**Full name**: Karin Olsen
**Wikitech username**: Karin Olsen
**Preferred shell username**: kolsen
**Email address**: kolsen@example.org
**Requested group membership**: analytics-users
**Reason for access**: Dashboards of editor retention.
**Manager / sponsor**: @mboss
"""

[[tasks.events]]
at = "2026-11-02T10:00:00Z"
author = "mboss"
comment = "Approved."

[[tasks.events]]
at = "2026-11-02T10:30:00Z"
author = "aotto"
comment = "Approved."

[[tasks]]
id = 803
author = "asmith"
at = "2026-11-02T09:00:00Z"
title = "Requesting access to analytics-users"
projects = ["SRE-Access-Requests"]
description = """
**Full name**: Alex Smith
**Wikitech username**: Alex Smith
**Preferred shell username**: nwu
**Email address**: asmith@example.org
**Requested group membership**: analytics-users
**Reason for access**: Dashboards of editor retention.
**Manager / sponsor**: @mboss
"""

[[tasks.events]]
at = "2026-11-02T10:00:00Z"
author = "mboss"
comment = "Approved."
"#;
