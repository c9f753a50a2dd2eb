//! The command line as a user meets it: the real binary's offline commands (`parse`, `key`,
//! also without a rules directory, `rules check`, `completions`, `manpage`), `explain` and
//! `grant-patch` against the simulator, JSON outputs ending with a newline, the agenda of a
//! day without a meeting, JSON logs, and restarts of the bot at every phase of a request's
//! life.

mod common;

use common::{root, run_bin, World};

fn bin(args: &[&str]) -> (i32, String, String) {
    run_bin(args, &[], &root())
}

#[test]
fn key_judges_offline_with_the_documented_exit_codes() {
    let keys = root().join("tests/fixtures/keys");
    let (code, out, _) = bin(&["key", keys.join("ed25519.pub").to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["algorithm"], "ssh-ed25519");
    let expected_fp = std::fs::read_to_string(keys.join("ed25519.fp")).unwrap();
    assert!(
        expected_fp.contains(v["fingerprint"].as_str().unwrap()),
        "{expected_fp} vs {v}"
    );

    let (code, out, _) = bin(&["key", keys.join("rsa2048.pub").to_str().unwrap()]);
    assert_eq!(code, 2, "a refused key exits 2");
    assert!(out.contains("2048"), "{out}");
    let (code, out, _) = bin(&["key", keys.join("dsa.pub").to_str().unwrap(), "--json"]);
    assert_eq!(code, 2);
    assert!(out.contains("\"ok\": false"), "{out}");

    let private = keys.join("ed25519_openssh_private.key");
    let material = std::fs::read_to_string(&private).unwrap();
    let (code, out, err) = bin(&["key", private.to_str().unwrap(), "--json"]);
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["private_key"], true);
    let body = material.lines().nth(1).unwrap();
    assert!(
        !out.contains(body) && !err.contains(body),
        "private key material echoed"
    );

    // Degenerate keys (crafted: no generator makes them) are refused as such.
    for (name, says) in [
        ("ed25519-identity.pub", "small-order point"),
        ("rsa4096-e3.pub", "public exponent is 3"),
    ] {
        let (code, out, _) = bin(&["key", keys.join(name).to_str().unwrap(), "--json"]);
        assert_eq!(code, 2, "{name}: {out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["ok"], false, "{name}");
        assert!(
            v["problems"][0].as_str().unwrap().contains(says),
            "{name}: {out}"
        );
    }

    let (code, _, err) = bin(&["key", "/nonexistent/key.pub"]);
    assert_eq!(
        code, 1,
        "an unreadable file is an error (1), not a refusal (2)"
    );
    assert!(
        err.starts_with("error: cannot read /nonexistent/key.pub"),
        "{err}"
    );
}

#[test]
fn parse_prints_the_request_object_and_problems() {
    let f = root().join("tests/fixtures/requests/01-standard-form.txt");
    let (code, out, err) = bin(&["parse", f.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for field in [
        "full_name",
        "wikitech_user",
        "shell_user",
        "email",
        "groups",
        "sudo",
        "key",
        "expiry_date",
        "expiry_contact",
        "problems",
    ] {
        assert!(v.get(field).is_some(), "missing {field} in {v}");
    }
    // Bad input of any encoding: a clear answer, never a crash. Binary input is refused (exit
    // 1); text with a stray invalid byte is read, and its problems exit 3.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, [0xff, 0xfe, 0x00, b'F', b'u', b'l', b'l', 0xc3]).unwrap();
    let (code, out, err) = bin(&["parse", junk.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("is binary, not text; refusing it"), "{err}");
    let stray = dir.path().join("stray.txt");
    let mut text = b"Full name: Jane Doe\nPreferred shell username: jdoe\n".to_vec();
    text.push(0xc3);
    std::fs::write(&stray, text).unwrap();
    let (code, out, err) = bin(&["parse", stray.to_str().unwrap(), "--json"]);
    assert_eq!(code, 3, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["shell_user"], "jdoe");
    assert!(!v["problems"].as_array().unwrap().is_empty());
}

#[test]
fn key_and_parse_work_without_a_rules_directory() {
    // From a directory with no rules/: the bundled rules apply.
    let elsewhere = tempfile::tempdir().unwrap();
    let keys = root().join("tests/fixtures/keys");
    let key = |name: &str| {
        run_bin(
            &["key", keys.join(name).to_str().unwrap(), "--json"],
            &[],
            elsewhere.path(),
        )
    };
    let (code, out, err) = key("ed25519.pub");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"ok\": true"), "{out}");
    let (code, out, _) = key("rsa2048.pub");
    assert_eq!(code, 2, "the bundled policy wants 4096 bits: {out}");
    let form = root().join("tests/fixtures/requests/01-standard-form.txt");
    let (code, out, err) = run_bin(
        &["parse", form.to_str().unwrap(), "--json"],
        &[],
        elsewhere.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"shell_user\""), "{out}");
    // A --rules directory that is not there is still an error, not a silent fallback.
    let (code, _, err) = run_bin(
        &[
            "--rules",
            "/nonexistent/rules",
            "key",
            keys.join("ed25519.pub").to_str().unwrap(),
        ],
        &[],
        elsewhere.path(),
    );
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/rules"), "{err}");
}

/// JSON on stdout: one document, ending with exactly one newline.
fn assert_json_line(what: &str, out: &str) {
    assert!(
        out.ends_with('\n') && !out.ends_with("\n\n"),
        "{what} does not end with one newline: {out:?}"
    );
    serde_json::from_str::<serde_json::Value>(out)
        .unwrap_or_else(|e| panic!("{what} is not one JSON document ({e}): {out}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_output_ends_with_a_newline() {
    let keys = root().join("tests/fixtures/keys");
    let (_, out, _) = bin(&["key", keys.join("ed25519.pub").to_str().unwrap(), "--json"]);
    assert_json_line("key --json", &out);
    let form = root().join("tests/fixtures/requests/01-standard-form.txt");
    let (_, out, _) = bin(&["parse", form.to_str().unwrap(), "--json"]);
    assert_json_line("parse --json", &out);

    let w = World::start("plain.toml", "2026-11-04T12:00:00Z").await;
    // The rules found from the working directory (`rules/`), as an operator runs it.
    let online = |args: &[&str]| w.bin(args).without("--rules").cwd(&root()).output();
    let (code, _, err) = online(&["run", "--once"]).await;
    assert_eq!(code, 0, "{err}");
    for args in [
        &["check", "T201", "--json"][..],
        &["status", "--json"],
        &["status", "--json", "--all"],
        &["agenda", "--format", "json"],
    ] {
        let (_, out, err) = online(args).await;
        assert!(!out.is_empty(), "{args:?}: {err}");
        assert_json_line(&args.join(" "), &out);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agenda_on_a_day_without_a_meeting_names_the_nearest_meetings() {
    let w = World::start("plain.toml", "2026-11-04T12:00:00Z").await;
    // The rules found from the working directory, the system clock.
    let with = |extra: &[&str]| {
        w.bin(extra)
            .without("--rules")
            .without("--now")
            .cwd(&root())
            .output()
    };
    assert_eq!(with(&["run", "--once"]).await.0, 0);
    // Meetings: Mondays every two weeks from 2026-11-02 (bundled policy).
    let (code, out, err) = with(&["agenda", "--meeting", "2026-11-17"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: 2026-11-17 is not an SRE meeting day")
            && err.contains("2026-11-16 (before) and 2026-11-30 (after)"),
        "{err}"
    );
    assert!(
        out.starts_with("# SRE meeting 2026-11-17: access requests\n"),
        "{out}"
    );
    // A meeting day: no warning.
    let (code, out, err) =
        with(&["agenda", "--meeting", "2026-11-16", "--format", "wikitext"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    // The title one level above the sections.
    assert!(
        out.starts_with("== SRE meeting 2026-11-16: access requests ==\n"),
        "{out}"
    );
    assert!(
        out.contains("\n=== Sudo requests for review ===\n"),
        "{out}"
    );
}

#[test]
fn rules_check_completions_and_manpage() {
    let (code, out, _) = bin(&["rules", "check", root().join("rules").to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("ok"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("rules/groups.toml"),
        dir.path().join("groups.toml"),
    )
    .unwrap();
    let policy = std::fs::read_to_string(root().join("rules/policy.toml")).unwrap();
    std::fs::write(
        dir.path().join("policy.toml"),
        policy.replace("timezone = \"UTC\"", "timezone = \"Mars/Olympus\""),
    )
    .unwrap();
    let (code, _, err) = bin(&["rules", "check", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("policy.toml:")
            && err.contains("timing.timezone")
            && err.contains("Mars/Olympus"),
        "{err}"
    );
    let (code, out, _) = bin(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(out.contains("grant-patch"));
    let (code, out, _) = bin(&["manpage"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(".TH accessbot"),
        "{}",
        &out[..out.len().min(200)]
    );
}

#[tokio::test]
async fn explain_links_evidence_and_grant_patch_refuses_until_ready() {
    let w = World::start("plain.toml", "2026-11-06T09:00:00Z").await;
    let data_yaml = root().join("tests/fixtures/grant/data.yaml");
    let w = &w;
    let run = |now: &'static str, cmd: Vec<String>| {
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        w.bin(&cmd).now(now).output()
    };
    let (code, out, err) = run(
        "2026-11-06T09:00:00Z",
        vec!["explain".into(), "T201".into()],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("manager-approval — ok"), "{out}");
    assert!(
        out.contains(&format!("{}/T201#", w.sim.url())),
        "evidence links: {out}"
    );

    // Before the project lead approved (2026-11-04 11:00) the request is not ready: refused.
    w.set_now("2026-11-03T12:00:00Z");
    let (code, out, err) = run(
        "2026-11-03T12:00:00Z",
        vec!["grant-patch".into(), "T201".into()],
    )
    .await;
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("T201 is not ready to grant (verdict: blocked)")
            && err.contains("lead-approval"),
        "{err}"
    );

    w.set_now("2026-11-06T09:00:00Z");
    let (code, out, err) = run(
        "2026-11-06T09:00:00Z",
        vec![
            "grant-patch".into(),
            "T201".into(),
            "--data-yaml".into(),
            data_yaml.display().to_string(),
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("--- a/data.yaml\n+++ b/data.yaml\n"),
        "{out}"
    );
    assert!(
        out.contains("+  cnguyen:") && out.contains("+      - ssh-ed25519 AAAA"),
        "{out}"
    );
    let (code, out, _) = run(
        "2026-11-06T09:00:00Z",
        vec!["grant-patch".into(), "T201".into()],
    )
    .await;
    assert_eq!(code, 0);
    assert!(
        out.contains("cnguyen:") && out.contains("analytics-privatedata-users"),
        "{out}"
    );
}

#[tokio::test]
async fn json_logs_carry_task_and_phase_fields() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let (code, _, err) = w
        .bin(&["run", "--once"])
        .flags(&["--log-format", "json"])
        .output()
        .await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let posted = lines
        .iter()
        .find(|l| l["message"] == "posted")
        .expect("a 'posted' event");
    assert_eq!(posted["task"], "T201");
    assert_eq!(posted["phase"], "post");
    assert!(lines
        .iter()
        .any(|l| l["message"] == "cycle done" && l["phase"] == "cycle"));
    // One flat set of fields: no span lists, each field once, a timestamp and a level.
    for l in &lines {
        assert!(l.get("span").is_none() && l.get("spans").is_none(), "{l}");
        assert!(l["timestamp"].is_string() && l["level"].is_string(), "{l}");
    }
    for line in err.lines() {
        assert!(line.matches("\"phase\"").count() <= 1, "{line}");
    }
    // The start line says what runs against what.
    let start = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.ends_with("starting"))
        })
        .expect("a start line");
    assert_eq!(start["url"], w.sim.url());
    assert_eq!(start["db"], w.db().display().to_string());
    assert!(start["version"].is_string() && start["interval_seconds"].is_number());
}

/// Restarting the bot (a new process: new caches, same database) at any moment of a request's
/// life must neither repeat nor lose an effect.
#[tokio::test]
async fn restarts_at_every_phase_neither_repeat_nor_lose_effects() {
    for (scenario, instants) in [
        (
            "plain.toml",
            &[
                "2026-11-03T09:30:00Z",
                "2026-11-04T12:00:00Z",
                "2026-11-06T09:00:00Z",
                "2026-11-13T09:00:00Z",
            ][..],
        ),
        (
            "sudo.toml",
            &[
                "2026-11-03T14:00:00Z",
                "2026-11-04T12:00:00Z",
                "2026-11-16T17:00:00Z",
                "2026-11-18T09:00:00Z",
            ][..],
        ),
    ] {
        let steady = World::start(scenario, instants[0]).await;
        let restarted = World::start(scenario, instants[0]).await;
        let bot = steady.bot().await;
        for now in instants {
            steady.set_now(now);
            restarted.set_now(now);
            bot.cycle().await.unwrap();
            bot.cycle().await.unwrap();
            // A fresh process at each phase, twice (a crash right after starting).
            restarted.bot().await.cycle().await.unwrap();
            restarted.bot().await.cycle().await.unwrap();
        }
        for task in [201u64, 301, 302] {
            assert_eq!(
                restarted.comments(task),
                steady
                    .comments(task)
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>(),
                "{scenario} T{task}: a restarted bot posts exactly what a steady one does"
            );
        }
    }
}

#[test]
fn sim_prints_its_address_first_and_serves_conduit() {
    use std::io::{BufRead, BufReader};
    let scenario = root().join("tests/scenarios/plain.toml");
    let mut child = std::process::Command::new(common::bin())
        .args([
            "sim",
            "--scenario",
            scenario.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // A plain HTTP/1.0 request to the control endpoint.
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    conn.write_all(b"GET /_sim/stats HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    assert!(answer.contains("\"total\":0"), "{answer}");
    let _ = child.kill();
    let _ = child.wait();
}
