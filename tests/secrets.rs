//! Secrets: with `RUST_LOG=trace` over full runs of the binary (including server errors,
//! malformed answers and a wrong token) the Conduit token appears in no output and not in the
//! database file; a token file readable by others is warned about; a private key posted on a
//! task never shows in logs, the database, the bot's comments or `check` output.

mod common;

use accessbot::sim::{self, FaultSpec, Scenario, SimOptions};
use common::{Bin, World};
use std::path::Path;

/// A line of the private key's base64 body: key material that must never be repeated.
fn private_key() -> (String, Vec<String>) {
    let text = std::fs::read_to_string(
        common::root().join("tests/fixtures/keys/ed25519_openssh_private.key"),
    )
    .unwrap();
    let material: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .map(str::to_string)
        .collect();
    assert!(!material.is_empty());
    (text, material)
}

/// Generated requests; T100 pastes a private key as its key, T101's requester posts one.
fn scenario() -> Scenario {
    let (key, _) = private_key();
    let mut sc = sim::generate(6, 21);
    let d = &mut sc.tasks[0].description;
    let start = d.find("```").unwrap();
    let end = d[start + 3..].find("```").unwrap() + start + 6;
    d.replace_range(start..end, &format!("```\n{key}```"));
    let author = sc.tasks[1].author.clone();
    let at = sc.tasks[1].at + chrono::Duration::minutes(3);
    sc.tasks[1].events.insert(
        0,
        sim::scenario::ScenarioEvent::comment(at, &author, format!("oops, here is my key:\n{key}")),
    );
    sc
}

/// `RUST_LOG` for the most verbose logs of the bot and of every dependency that sees a request
/// or an answer (a bare `trace` applies to accessbot only; dependencies are named).
const TRACE_EVERYTHING: &str = "trace,sqlx=trace,sqlx_core=trace,hyper=trace,hyper_util=trace,\
reqwest=trace,h2=trace,rustls=trace,tower=trace,axum=trace,tokio=trace,runtime=trace,mio=trace,\
want=trace,serde_json=trace";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary against the world with every log at trace.
async fn run(bin: Bin) -> Out {
    let (code, stdout, stderr) = bin.env("RUST_LOG", TRACE_EVERYTHING).output().await;
    assert!(!stderr.contains("panicked"), "{stderr}");
    Out {
        code,
        stdout,
        stderr,
    }
}

/// Every byte of the database files, lossily as text.
fn db_bytes(dir: &Path) -> String {
    let mut all = Vec::new();
    for name in ["accessbot.db", "accessbot.db-wal", "accessbot.db-shm"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            all.extend(b);
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

/// Full runs of the binary under faults, trace logs, `check`, `explain`, a wrong token: the
/// token and the private key's material appear in no output, not in the database and not in
/// any comment; every comment posted on the six generated tasks is an exact snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_and_private_keys_appear_nowhere() {
    let sc = scenario();
    let ids: Vec<u64> = sc.tasks.iter().map(|t| t.id).collect();
    assert_eq!(
        ids,
        [100, 101, 102, 103, 104, 105],
        "each is snapshotted below"
    );
    let now = sc.now.to_rfc3339();
    let faults = FaultSpec::parse("5xx=0.15,malformed=0.15").unwrap();
    let w = World::start_scenario(
        sc,
        &now,
        SimOptions {
            faults,
            seed: 4,
            ..SimOptions::default()
        },
    )
    .await;
    let (sim, token) = (&w.sim, w.token.clone());
    let (_, material) = private_key();

    let mut outs = Vec::new();
    // Runs under faults (they may fail: the run retries and reports, never leaks).
    for _ in 0..3 {
        outs.push(run(w.bin(&["run", "--once"])).await);
    }
    assert!(
        outs.iter().any(|o| o.stderr.contains("retrying")
            || o.stderr.contains("500")
            || o.stderr.contains("malformed")),
        "the faults were felt"
    );
    // Faults off: a full clean run, then `check` on the two tasks with private keys.
    sim.set_faults(FaultSpec::default());
    let clean = run(w.bin(&["run", "--once"])).await;
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    outs.push(clean);
    // The JSON log format carries span fields too: same rule.
    let json = run(w.bin(&["run", "--once"]).flags(&["--log-format", "json"])).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert!(json.stderr.starts_with('{'), "{}", json.stderr);
    outs.push(json);
    for t in ["T100", "T101"] {
        // Not ready (a private key was posted): `check` exits 3.
        let o = run(w.bin(&["check", t])).await;
        assert_eq!(o.code, 3, "{}", o.stderr);
        outs.push(o);
        let o = run(w.bin(&["check", t, "--json"])).await;
        assert_eq!(o.code, 3, "{}", o.stderr);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_ne!(v["verdict"], "ready", "{t}");
        outs.push(o);
        let o = run(w.bin(&["explain", t])).await;
        outs.push(o);
    }
    // A wrong token: refused, and neither token is printed.
    let bad = "api-wrongwrongwrongwrongwrong1234";
    let o = run(w.bin(&["run", "--once"]).token(Some(bad))).await;
    assert_eq!(o.code, 1);
    assert!(
        !o.stderr.contains(bad) && !o.stdout.contains(bad),
        "{}",
        o.stderr
    );
    outs.push(o);
    outs.push(run(w.bin(&["status", "--all"]).token(None)).await);

    // Trace logging really was on (otherwise this proves little).
    assert!(
        outs.iter()
            .any(|o| o.stderr.contains("TRACE") || o.stderr.contains("DEBUG")),
        "no trace output"
    );
    for (i, o) in outs.iter().enumerate() {
        for (name, text) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
            assert!(!text.contains(&token), "output {i} {name} holds the token");
            for m in &material {
                assert!(
                    !text.contains(m.as_str()),
                    "output {i} {name} holds private key material"
                );
            }
        }
    }
    let db = db_bytes(w.dir.path());
    assert!(db.len() > 1000, "the database was written");
    assert!(!db.contains(&token), "the database holds the token");
    for m in &material {
        assert!(
            !db.contains(m.as_str()),
            "the database holds private key material"
        );
    }
    let mut checklists = 0;
    for id in ids {
        for c in sim.comments(id) {
            checklists += 1;
            assert!(!c.text.contains(&token), "T{id}: a comment holds the token");
            for m in &material {
                assert!(
                    !c.text.contains(m.as_str()),
                    "T{id}: a comment holds private key material"
                );
            }
        }
    }
    assert!(checklists >= 6);
    // The tasks with a private key say so in their checklist.
    for id in [100, 101] {
        let last = sim.comments(id).last().unwrap().text.clone();
        assert!(last.contains("private key"), "T{id}:\n{last}");
    }
    // Every comment posted on each generated task, exactly: the whole thread, so that a second
    // checklist, or one line more, fails here, and a reader sees that the two checklists that
    // name a private key hold none of it. Only the simulator's URL and the temporary directory
    // are normalised (`World::thread`, as in every scenario test); nothing else in these texts
    // varies from one run to the next: the tasks, their public keys (and so the fingerprints
    // shown) and their times come from `sim::generate`'s fixed seed, the private key is the
    // fixture file, the bot's token is the generated scenario's constant, and the faults of the
    // first runs must not change what is posted (a checklist is posted once, when it changes: a
    // copy posted twice after a fault is a bug, and fails here). The absence asserts above stay:
    // they hold on the raw texts.
    insta::assert_snapshot!(w.thread(100), @"
    --- comment 1 by accessbot at 2026-10-27T19:38:20+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, legal.**
    //Needed now//: @user0 (ssh-key, l3), @legalteam (nda)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user0
    - [x] `known-groups`: groups: deployment
    - [ ] `ssh-key` (//requester//): a private key was posted: it must be considered compromised; generate a new key pair and post only the public key
    - [ ] `l3` (//requester//): @[zwsp]user0 has not signed `L3` (Acknowledgement of Wikimedia Server Access Responsibilities) yet
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]user0 is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [x] `manager-approval`: approved by @[zwsp]mgr0
    - [x] `lead-approval:deployment`: approved by @[zwsp]rel-lead
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-10-29 07:34 UTC
    - [x] `expiry`: expires on 2027-01-15; expiry contact @[zwsp]mgr0

    //Evaluated 2026-10-27 19:38 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    insta::assert_snapshot!(w.thread(101), @"
    --- comment 1 by accessbot at 2026-10-27T19:38:20+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, manager.**
    //Needed now//: @user1 (ssh-key)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user1
    - [x] `known-groups`: groups: analytics-users
    - [ ] `ssh-key` (//requester//): a private key was posted: it must be considered compromised; generate a new key pair and post only the public key
    - [x] `l3`: @[zwsp]user1 signed `L3`
    - [x] `nda`: @[zwsp]user1 is staff
    - [ ] `manager-approval` (//manager//): no approval from the manager or sponsor yet (@[zwsp]aotto approved as the project lead of analytics-users: with no manager named, the manager's or sponsor's approval must come from someone else (or the request names @[zwsp]aotto as manager)[zwsp]); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [x] `lead-approval:analytics-users`: approved by @[zwsp]aotto
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-10-29 07:40 UTC

    //Evaluated 2026-10-27 19:38 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    insta::assert_snapshot!(w.thread(102), @"
    --- comment 1 by accessbot at 2026-10-27T19:38:20+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester.**
    //Needed now//: @user2 (l3)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user2
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:PlRKppJDotABAXdrfOmP4+kVU0TSuyyZ7w6AxW1BePE`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]user2 in the task description
    - [ ] `l3` (//requester//): @[zwsp]user2 has not signed `L3` (Acknowledgement of Wikimedia Server Access Responsibilities) yet
    - [x] `nda`: @[zwsp]user2 is a member of an NDA project
    - [x] `manager-approval`: approved by @[zwsp]mgr0
    - [x] `lead-approval:analytics-users`: approved by @[zwsp]aotto
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-10-29 07:50 UTC
    - [x] `expiry`: expires on 2027-03-15; expiry contact @[zwsp]mgr0

    //Evaluated 2026-10-27 19:38 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    insta::assert_snapshot!(w.thread(103), @"
    --- comment 1 by accessbot at 2026-10-27T19:38:20+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for project-lead.**
    //Needed now//: @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user3
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:wYjet+A3jHfuyyR5cHC9S/wsFFAuhslqmB8WOIxIhcY`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]user3 in the task description
    - [x] `l3`: @[zwsp]user3 signed `L3`
    - [x] `nda`: @[zwsp]user3 is staff
    - [x] `manager-approval`: approved by @[zwsp]mgr0
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-10-29 07:57 UTC

    //Evaluated 2026-10-27 19:38 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    insta::assert_snapshot!(w.thread(104), @"
    --- comment 1 by accessbot at 2026-10-27T19:38:20+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for project-lead.**
    //Needed now//: @svc-lead (lead-approval:deploy-service)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user4
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:LIz1rOm0Kz4ZcPcQCK9QcFetBuMwd4vdSly3OQCs5Kg`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]user4 in the task description
    - [x] `l3`: @[zwsp]user4 signed `L3`
    - [x] `nda`: @[zwsp]user4 is staff
    - [x] `manager-approval`: approved by @[zwsp]mgr0
    - [ ] `lead-approval:deploy-service` (//project-lead//): no approval from a project lead of deploy-service yet (approvers: @[zwsp]svc-lead); to approve, comment `Approved.` or `Approved for deploy-service.`
    - [ ] `sudo-review`: sudo access needs a security review at the SRE meeting: to be scheduled once everything else passes

    //Evaluated 2026-10-27 19:38 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    insta::assert_snapshot!(w.thread(105), @"
    --- comment 1 by accessbot at 2026-10-27T19:38:20+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for legal.**
    //Needed now//: @legalteam (nda)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user5
    - [x] `known-groups`: groups: restricted
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:GN7+26dQiT0qyBhv6HGwONiQQLvPaZYbFkRdYkONfso`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]user5 in the task description
    - [x] `l3`: @[zwsp]user5 signed `L3`
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]user5 is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [x] `manager-approval`: approved by @[zwsp]mgr0
    - [x] `lead-approval:restricted`: approved by @[zwsp]sre-kim
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-10-29 08:12 UTC
    - [x] `expiry`: expires on 2027-06-15; expiry contact @[zwsp]mgr0

    //Evaluated 2026-10-27 19:38 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_file_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let sc = scenario();
    let now = sc.now.to_rfc3339();
    let w = World::start_scenario(sc, &now, SimOptions::default()).await;
    let token = w.token.clone();
    let d = w.dir.path();
    let file = d.join("token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let path = file.to_str().unwrap();
    for (mode, warns) in [(0o644, true), (0o640, true), (0o600, false)] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let o = run(w.bin(&["--token-file", path, "check", "T102"]).token(None)).await;
        assert_eq!(o.code, 3, "{mode:o}: T102 is not ready: {}", o.stderr);
        assert_eq!(
            o.stderr.contains("readable by group or others"),
            warns,
            "mode {mode:o}: {}",
            o.stderr
        );
        assert!(!o.stderr.contains(&token) && !o.stdout.contains(&token));
    }
}

/// `parse --json` of descriptions holding a private key in a quote, in a code block without
/// its armour, or as the unarmoured PEM body written as the full name: the key is reported,
/// and no field, problem or key text carries any of its material (issue 14, item 6).
#[test]
fn parse_json_never_echoes_a_private_key_from_quotes_code_or_fields() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "48-private-key-in-quote",
        "49-unarmoured-pem-in-name",
        "50-openssh-body-in-code",
    ] {
        let path = common::root().join(format!("tests/fixtures/requests/{name}.txt"));
        let text = std::fs::read_to_string(&path).unwrap();
        let description = text.split_once("\n---\n").unwrap().1;
        let file = dir.path().join(format!("{name}.txt"));
        std::fs::write(&file, description).unwrap();
        let rules = common::root().join("rules");
        let (_, stdout, stderr) = common::run_bin(
            &[
                "--rules",
                rules.to_str().unwrap(),
                "parse",
                file.to_str().unwrap(),
                "--json",
            ],
            &[],
            dir.path(),
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!("{name}: no JSON ({e}): {stdout} {stderr}");
        });
        assert_eq!(v["key"], serde_json::Value::Null, "{name}: {v}");
        assert!(
            v["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p.as_str().unwrap_or("").contains("private key was posted")),
            "{name}: {v}"
        );
        let out = format!("{stdout}{stderr}").to_lowercase();
        for word in description.split_whitespace().filter(|w| w.len() >= 40) {
            for chunk in [&word[..16], &word[16..32]] {
                assert!(
                    !out.contains(&chunk.to_lowercase()),
                    "{name}: material leaked: {chunk}"
                );
            }
        }
    }
}
