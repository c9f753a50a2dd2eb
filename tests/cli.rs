//! The command line as a user meets it: the real binary's offline commands (`parse`, `key`,
//! `rules check`, `completions`, `manpage`), `explain` and `grant-patch` against the simulator,
//! JSON logs, and restarts of the bot at every phase of a request's life.

mod common;

use common::{root, run_bin, run_bin_async, World};

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
    // Bad input of any encoding: a clear answer, never a crash.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, [0xff, 0xfe, 0x00, b'F', b'u', b'l', b'l', 0xc3]).unwrap();
    let (code, out, _) = bin(&["parse", junk.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(!v["problems"].as_array().unwrap().is_empty());
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
    let url = w.sim.url();
    let rules = root().join("rules");
    let db = w.db();
    let data_yaml = root().join("tests/fixtures/grant/data.yaml");
    let (url, rules, db) = (
        url.as_str(),
        rules.display().to_string(),
        db.display().to_string(),
    );
    let w = &w;
    let run = |now: &'static str, cmd: Vec<String>| {
        let mut args: Vec<String> = [
            "--phab-url",
            url,
            "--rules",
            &rules,
            "--db",
            &db,
            "--now",
            now,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(cmd);
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_bin_async(
                &args,
                &[("ACCESSBOT_TOKEN", w.token.as_str())],
                w.dir.path(),
            )
            .await
        }
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
    let (url, db, rules) = (w.sim.url(), w.db(), root().join("rules"));
    let args = [
        "--phab-url",
        url.as_str(),
        "--rules",
        rules.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--now",
        "2026-11-03T09:30:00Z",
        "--log-format",
        "json",
        "run",
        "--once",
    ];
    let (code, _, err) = run_bin_async(
        &args,
        &[("ACCESSBOT_TOKEN", w.token.as_str())],
        w.dir.path(),
    )
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
