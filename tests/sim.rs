//! The Conduit simulator over real HTTP, called with plain reqwest: answer shapes against the
//! recordings of a real Phorge server, the recorded errors, paging, both request encodings,
//! Legalpad visibility, stateful edits, the task page, the clock, stats and faults.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use accessbot::sim::{self, FaultSpec, Scenario, SimHandle, SimOptions};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

const DEMO_TOKEN: &str = "api-simdemoaccessbot000000000000";
const PLAIN_TOKEN: &str = "api-simplainaccessbot00000000000";
const REFUSED_TOKEN: &str = "api-simrefusedaccessbot000000000";
const BKELLER_TOKEN: &str = "api-simrefusedbkeller00000000000";

fn scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(format!("{name}.toml"));
    Scenario::from_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("RFC 3339 time")
}

async fn start(s: Scenario, opts: SimOptions) -> SimHandle {
    sim::start(s, opts, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator starts")
}

fn recorded_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conduit/recorded")
}

fn recorded(prefix: &str) -> Value {
    let dir = recorded_dir();
    let file = std::fs::read_dir(&dir)
        .expect("read recordings")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".json"))
        })
        .unwrap_or_else(|| panic!("no recording {prefix}"));
    serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("json")
}

/// Mode A: `params=<json>` with the token inside `__conduit__`.
async fn call(h: &SimHandle, method: &str, params: Value, token: &str) -> Value {
    let mut params = params;
    params["__conduit__"] = json!({ "token": token });
    let body = reqwest::Client::new()
        .post(format!("{}/api/{method}", h.url()))
        .form(&[
            ("params", params.to_string()),
            ("output", "json".into()),
            ("__conduit__", "1".into()),
        ])
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

/// Mode C: flat PHP-style fields with `api.token`.
async fn call_form(h: &SimHandle, method: &str, fields: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .post(format!("{}/api/{method}", h.url()))
        .form(fields)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

fn result(v: &Value) -> &Value {
    assert_eq!(v["error_code"], Value::Null, "unexpected error: {v}");
    &v["result"]
}

/// Keys whose maps are keyed by data (PHIDs, names), not by field names.
const DATA_KEYED: &[&str] = &["boards", "slugMap", "fromColumnPHIDs", "<lookup>"];

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// Differences between the shape of `sim` and that of the recording `rec` (same keys,
/// recursively, and same JSON types; null matches anything, empty lists match any list).
fn shape_diff(rec: &Value, sim: &Value, path: &str, out: &mut Vec<String>) {
    match (rec, sim) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(r), Value::Object(s)) => {
            let key = path.rsplit('.').next().unwrap_or("");
            if DATA_KEYED.contains(&key) {
                // Compare with the recorded entry of the same key, else with the first one.
                for (k, v) in s {
                    if let Some(model) = r.get(k).or_else(|| r.values().next()) {
                        shape_diff(model, v, &format!("{path}[{k}]"), out);
                    }
                }
                return;
            }
            let rk: BTreeSet<_> = r.keys().collect();
            let sk: BTreeSet<_> = s.keys().collect();
            if rk != sk {
                out.push(format!(
                    "{path}: keys {rk:?} (recorded) vs {sk:?} (simulator)"
                ));
            }
            for k in rk.intersection(&sk) {
                shape_diff(&r[*k], &s[*k], &format!("{path}.{k}"), out);
            }
        }
        (Value::Array(r), Value::Array(s)) => {
            for (i, item) in s.iter().enumerate() {
                // Match elements by `type` where elements carry one (transactions).
                let model = match item.get("type") {
                    Some(t) => r.iter().find(|x| x.get("type") == Some(t)),
                    None => r.first(),
                };
                if let Some(model) = model {
                    shape_diff(model, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        (r, s) if kind(r) != kind(s) => out.push(format!(
            "{path}: {} (recorded) vs {} (simulator)",
            kind(r),
            kind(s)
        )),
        _ => {}
    }
}

fn assert_same_shape(rec_file: &str, sim: &Value) {
    let rec = &recorded(rec_file)["response"];
    let mut out = Vec::new();
    let method = recorded(rec_file)["method"].clone();
    let path = if method == "phid.lookup" || method == "conduit.query" {
        "<lookup>"
    } else {
        "$"
    };
    if path == "<lookup>" {
        shape_diff(&rec["result"], &sim["result"], path, &mut out);
        assert_eq!(rec["error_code"], sim["error_code"]);
    } else {
        shape_diff(rec, sim, path, &mut out);
    }
    assert!(
        out.is_empty(),
        "{rec_file}: shape differs:\n{}",
        out.join("\n")
    );
    assert_ne!(sim["result"], Value::Null, "{rec_file}: no result: {sim}");
}

#[tokio::test]
async fn answers_have_the_recorded_shapes() {
    let h = start(scenario("demo"), SimOptions::default()).await;
    h.set_now(at("2026-11-20T00:00:00Z"));
    let t = DEMO_TOKEN;
    let cases: Vec<(&str, Value)> = vec![
        ("01-", call(&h, "conduit.ping", json!({}), t).await),
        ("02-", call(&h, "user.whoami", json!({}), t).await),
        ("65-conduit.query.", call(&h, "conduit.query", json!({}), t).await),
        (
            "20-",
            call(&h, "project.search", json!({"constraints": {"name": "SRE-Access-Requests"}}), t).await,
        ),
        (
            "21-",
            call_form(
                &h,
                "project.search",
                &[
                    ("api.token", t),
                    ("constraints[slugs][0]", "sre-access-requests"),
                    ("attachments[members]", "1"),
                ],
            )
            .await,
        ),
        (
            "23-",
            call(
                &h,
                "maniphest.search",
                json!({"constraints": {"projects": ["SRE-Access-Requests"], "modifiedStart": 1700000000},
                       "attachments": {"projects": true, "subscribers": true, "columns": true},
                       "order": "updated"}),
                t,
            )
            .await,
        ),
        ("25-", call(&h, "maniphest.search", json!({"limit": 1}), t).await),
        ("26-", call(&h, "maniphest.search", json!({"limit": 1, "after": "103"}), t).await),
        ("30-", call(&h, "transaction.search", json!({"objectIdentifier": "T101"}), t).await),
        ("30-", call(&h, "transaction.search", json!({"objectIdentifier": "T102"}), t).await),
        ("31-", call(&h, "transaction.search", json!({"objectIdentifier": "T101", "limit": 3}), t).await),
        ("42-", call(&h, "transaction.search", json!({"objectIdentifier": "P12"}), t).await),
        (
            "36-",
            call(&h, "paste.search", json!({"constraints": {"ids": [12]}, "attachments": {"content": true}}), t).await,
        ),
        (
            "37-",
            call(&h, "user.search", json!({"constraints": {"usernames": ["jdoe", "mboss", "accessbot"]}}), t).await,
        ),
        (
            "39-",
            call(&h, "phid.lookup", json!({"names": ["T101", "P12", "@mboss", "#sre-access-requests"]}), t).await,
        ),
        ("76-", call(&h, "phid.lookup", json!({"names": ["L3"]}), t).await),
        (
            "70-",
            call(&h, "legalpad.document.search", json!({"attachments": {"body": true, "signatures": true}}), t).await,
        ),
        ("71-", call(&h, "legalpad.signature.search", json!({}), t).await),
        (
            "22-",
            call(
                &h,
                "project.column.search",
                json!({"constraints": {"projects": [sim::state::project_phid("SRE-Access-Requests")]}}),
                t,
            )
            .await,
        ),
        (
            "09-",
            call(
                &h,
                "maniphest.edit",
                json!({"objectIdentifier": "T101", "transactions": [{"type": "comment", "value": "checklist"}]}),
                t,
            )
            .await,
        ),
    ];
    for (file, answer) in &cases {
        assert_same_shape(file, answer);
    }
    let cols = call(
        &h,
        "project.column.search",
        json!({"constraints": {"projects": ["SRE-Access-Requests"]}}),
        t,
    )
    .await;
    let names: Vec<(&str, bool)> = result(&cols)["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| {
            (
                c["fields"]["name"].as_str().unwrap_or(""),
                c["fields"]["isDefaultColumn"] == true,
            )
        })
        .collect();
    assert_eq!(names, [("Ready for SRE", false), ("Backlog", true)]);
    // The recorded column move and its transaction.
    let cols = call(
        &h,
        "maniphest.search",
        json!({"constraints": {"ids": [101]}, "attachments": {"columns": true}}),
        t,
    )
    .await;
    let board = &result(&cols)["data"][0]["attachments"]["columns"]["boards"];
    let (_, b) = board
        .as_object()
        .expect("boards")
        .iter()
        .next()
        .expect("one board");
    assert_eq!(b["columns"][0]["name"], "Backlog");
    let ready = sim::state::column_phid("SRE-Access-Requests", "Ready for SRE");
    let moved = call(
        &h,
        "maniphest.edit",
        json!({"objectIdentifier": "T101", "transactions": [{"type": "column", "value": [ready]}]}),
        t,
    )
    .await;
    assert_same_shape("11-", &moved);
    let xs = call(
        &h,
        "transaction.search",
        json!({"objectIdentifier": "T101", "limit": 1}),
        t,
    )
    .await;
    assert_eq!(result(&xs)["data"][0]["type"], "core:columns");
    assert_same_shape("30-", &xs);
    h.shutdown().await;
}

#[tokio::test]
async fn errors_match_the_recordings() {
    let h = start(scenario("demo"), SimOptions::default()).await;
    h.set_now(at("2026-11-14T00:00:00Z"));
    let t = DEMO_TOKEN;
    let client = reqwest::Client::new();
    let same = |file: &str, got: &Value| {
        let rec = &recorded(file)["response"];
        assert_eq!(got, rec, "{file}");
    };
    // Raw form bodies exactly as recorded (with the recorded token placeholder replaced).
    for file in ["50-", "51-", "52-", "53-", "62-", "64-"] {
        let rec = recorded(file);
        let method = rec["method"].as_str().expect("method");
        let raw = rec["http_request"]["raw_body"]
            .as_str()
            .expect("raw")
            .replace("api-XXXXXXXX", t);
        let got: Value = client
            .post(format!("{}/api/{method}", h.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(raw)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        same(file, &got);
    }
    // Recorded params sent in the params encoding.
    for file in ["54-", "56-", "57-", "58-", "59-", "61-", "63-"] {
        let rec = recorded(file);
        let method = rec["method"].as_str().expect("method");
        let mut params = rec["params"].clone();
        if file == "59-" {
            params["objectIdentifier"] = json!("T101");
        }
        let got = call(&h, method, params, t).await;
        same(file, &got);
    }
    // A JSON body is refused.
    let got: Value = client
        .post(format!("{}/api/user.whoami", h.url()))
        .header("content-type", "application/json")
        .body(json!({"__conduit__": {"token": t}}).to_string())
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    same("68-", &got);
    // An empty comment succeeds with no transactions; an unknown project matches nothing.
    let empty = call(
        &h,
        "maniphest.edit",
        json!({"objectIdentifier": "T101", "transactions": [{"type": "comment", "value": ""}]}),
        t,
    )
    .await;
    assert_eq!(result(&empty)["transactions"], json!([]));
    assert_eq!(result(&empty)["object"]["id"], 101);
    let none = call(
        &h,
        "maniphest.search",
        json!({"constraints": {"projects": ["No-Such-Project"]}}),
        t,
    )
    .await;
    same("55-", &none);
    // An unknown argument is a call-level error naming it.
    let extra = call(&h, "user.whoami", json!({"bogus": 1}), t).await;
    assert_eq!(extra["error_code"], "ERR-CONDUIT-CALL");
    assert!(extra["error_info"]
        .as_str()
        .expect("info")
        .contains("'bogus'"));
    h.shutdown().await;
}

#[tokio::test]
async fn pages_through_more_than_a_hundred_tasks() {
    let s = sim::generate(250, 7);
    let token = s.users[0].token.clone().expect("bot token");
    let h = start(s, SimOptions::default()).await;
    for order in [Value::Null, json!("updated"), json!("oldest")] {
        let mut seen = Vec::new();
        let mut after = Value::Null;
        let mut pages = 0;
        loop {
            let mut params = json!({"constraints": {"projects": ["SRE-Access-Requests"]}, "limit": 100, "after": after});
            if !order.is_null() {
                params["order"] = order.clone();
            }
            let v = call(&h, "maniphest.search", params, &token).await;
            let r = result(&v);
            pages += 1;
            for t in r["data"].as_array().expect("data") {
                seen.push(t["id"].as_u64().expect("id"));
            }
            after = r["cursor"]["after"].clone();
            if after.is_null() {
                break;
            }
            assert!(after.is_string(), "cursor.after is a string");
        }
        assert_eq!(pages, 3, "order {order}");
        let unique: BTreeSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), 250, "order {order}: every task exactly once");
        assert_eq!(seen.len(), 250);
    }
    let too_big = call(&h, "maniphest.search", json!({"limit": 101}), &token).await;
    assert_eq!(too_big["error_code"], "ERR-INVALID-PAGE-SIZE");
    h.shutdown().await;
}

#[tokio::test]
async fn both_encodings_give_the_same_answer() {
    let h = start(scenario("demo"), SimOptions::default()).await;
    h.set_now(at("2026-11-14T00:00:00Z"));
    let a = call(
        &h,
        "maniphest.search",
        json!({"constraints": {"ids": [101, 103], "modifiedStart": 1000},
               "attachments": {"projects": true}, "limit": 1}),
        DEMO_TOKEN,
    )
    .await;
    let c = call_form(
        &h,
        "maniphest.search",
        &[
            ("api.token", DEMO_TOKEN),
            ("constraints[ids][0]", "101"),
            ("constraints[ids][1]", "103"),
            ("constraints[modifiedStart]", "1000"),
            ("attachments[projects]", "1"),
            ("limit", "1"),
        ],
    )
    .await;
    assert_eq!(a, c);
    assert_eq!(result(&a)["data"][0]["id"], 103);
    assert_eq!(result(&a)["cursor"]["after"], "103");
    let edit = call_form(
        &h,
        "maniphest.edit",
        &[
            ("api.token", DEMO_TOKEN),
            ("objectIdentifier", "T103"),
            ("transactions[0][type]", "comment"),
            ("transactions[0][value]", "form-encoded comment"),
        ],
    )
    .await;
    assert_eq!(
        result(&edit)["transactions"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(h.comments(103)[0].text, "form-encoded comment");
    h.shutdown().await;
}

#[tokio::test]
async fn legalpad_signatures_follow_the_visibility_rule() {
    let h = start(scenario("refused"), SimOptions::default()).await;
    let signers = |v: &Value| -> BTreeSet<String> {
        result(v)["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|s| s["fields"]["signerName"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let as_bot = call(&h, "legalpad.signature.search", json!({}), REFUSED_TOKEN).await;
    assert_eq!(signers(&as_bot).len(), 4, "an editor sees every signature");
    let as_signer = call(&h, "legalpad.signature.search", json!({}), BKELLER_TOKEN).await;
    assert_eq!(
        signers(&as_signer),
        BTreeSet::from(["Bea Keller".to_string()])
    );
    let leaky = sim::state::user_phid("leaky");
    let hidden = call(
        &h,
        "legalpad.signature.search",
        json!({"constraints": {"signerPHIDs": [leaky]}}),
        BKELLER_TOKEN,
    )
    .await;
    assert_eq!(
        result(&hidden)["data"],
        json!([]),
        "silently missing, no error"
    );
    let doc = call(
        &h,
        "legalpad.document.search",
        json!({"constraints": {"ids": [3]}, "attachments": {"signatures": true}}),
        BKELLER_TOKEN,
    )
    .await;
    let sigs = &result(&doc)["data"][0]["attachments"]["signatures"]["signatures"];
    assert_eq!(sigs.as_array().map(Vec::len), Some(1));
    assert_eq!(result(&doc)["data"][0]["fields"]["versions"], "1");
    // The signer filter of document.search works in the database: no visibility rule.
    let by_signer = call(
        &h,
        "legalpad.document.search",
        json!({"constraints": {"signerPHIDs": [leaky]}}),
        BKELLER_TOKEN,
    )
    .await;
    assert_eq!(result(&by_signer)["data"].as_array().map(Vec::len), Some(1));
    let fgarcia = sim::state::user_phid("fgarcia");
    let unsigned = call(
        &h,
        "legalpad.signature.search",
        json!({"constraints": {"signerPHIDs": [fgarcia]}}),
        REFUSED_TOKEN,
    )
    .await;
    assert_eq!(result(&unsigned)["data"], json!([]));
    h.shutdown().await;
}

#[tokio::test]
async fn edits_change_what_later_reads_return() {
    let h = start(scenario("demo"), SimOptions::default()).await;
    h.set_now(at("2026-11-14T12:00:00Z"));
    let t = DEMO_TOKEN;
    let before = call(
        &h,
        "maniphest.search",
        json!({"constraints": {"ids": [101]}}),
        t,
    )
    .await;
    let modified0 = result(&before)["data"][0]["fields"]["dateModified"]
        .as_i64()
        .expect("int");
    let staff = sim::state::project_phid("WMF-Staff");
    let edit = call(
        &h,
        "maniphest.edit",
        json!({"objectIdentifier": "T101", "transactions": [
            {"type": "comment", "value": "== accessbot checklist ==\n[x] ok"},
            {"type": "projects.add", "value": [staff.clone()]},
            {"type": "projects.add", "value": ["SRE-Access-Requests"]},
        ]}),
        t,
    )
    .await;
    // subscribers (the bot was not subscribed), comment, projects; the no-op tag is dropped.
    let phids: Vec<String> = result(&edit)["transactions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|x| x["phid"].as_str().expect("phid").to_string())
        .collect();
    assert_eq!(phids.len(), 3);
    let now = at("2026-11-14T12:00:00Z").timestamp();
    let after = call(
        &h,
        "maniphest.search",
        json!({"constraints": {"ids": [101]}, "attachments": {"projects": true, "subscribers": true}}),
        t,
    )
    .await;
    let task = &result(&after)["data"][0];
    assert!(modified0 < now);
    assert_eq!(task["fields"]["dateModified"], now);
    assert!(task["attachments"]["projects"]["projectPHIDs"]
        .as_array()
        .expect("list")
        .contains(&json!(staff)));
    assert_eq!(
        task["attachments"]["subscribers"]["viewerIsSubscribed"],
        true
    );
    let xs = call(
        &h,
        "transaction.search",
        json!({"objectIdentifier": "T101", "limit": 3}),
        t,
    )
    .await;
    let data = result(&xs)["data"].as_array().expect("data");
    let types: Vec<&str> = data
        .iter()
        .map(|x| x["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(types, ["projects", "comment", "subscribers"]);
    assert_eq!(
        data[1]["comments"][0]["content"]["raw"],
        "== accessbot checklist ==\n[x] ok"
    );
    assert_eq!(data[1]["phid"], json!(phids[1]));
    assert_eq!(data[0]["groupID"], data[2]["groupID"]);
    let posted = h.comments(101);
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].author, "accessbot");
    assert_eq!(posted[0].phid, phids[1]);
    // The control endpoint says the same.
    let over_http: Value = reqwest::get(format!("{}/_sim/comments?task=101", h.url()))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(over_http[0]["text"], "== accessbot checklist ==\n[x] ok");
    assert_eq!(over_http[0]["phid"], json!(phids[1]));
    // The new comment shows on the task page as Via Conduit.
    let page = reqwest::get(format!("{}/T101", h.url()))
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    let marker = format!(
        "{{&quot;tip&quot;:&quot;Via Conduit&quot;}},[],{{&quot;phid&quot;:&quot;{}&quot;,&quot;anchor&quot;:&quot;{}&quot;}}",
        phids[1], data[1]["id"]
    );
    assert!(page.contains(&marker), "marker {marker} missing");
    // Bad edits change nothing.
    let bad = call(
        &h,
        "maniphest.edit",
        json!({"objectIdentifier": "T101", "transactions": [{"type": "status", "value": "nonsense"}]}),
        t,
    )
    .await;
    assert_eq!(bad["error_code"], "ERR-CONDUIT-CORE");
    assert_eq!(h.comments(101).len(), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn comment_edits_do_not_bump_the_task() {
    let h = start(scenario("plain"), SimOptions::default()).await;
    let t = PLAIN_TOKEN;
    h.set_now(at("2026-11-03T12:00:00Z"));
    let modified = |v: &Value| result(v)["data"][0]["fields"]["dateModified"].clone();
    let early = call(
        &h,
        "maniphest.search",
        json!({"constraints": {"ids": [201]}}),
        t,
    )
    .await;
    h.set_now(at("2026-11-03T17:00:00Z"));
    let later = call(
        &h,
        "maniphest.search",
        json!({"constraints": {"ids": [201]}}),
        t,
    )
    .await;
    assert_eq!(
        modified(&early),
        modified(&later),
        "the edit at 16:00 is invisible to a poll"
    );
    let mboss = sim::state::user_phid("mboss");
    let xs = call(
        &h,
        "transaction.search",
        json!({"objectIdentifier": "T201", "constraints": {"authorPHIDs": [mboss]}}),
        t,
    )
    .await;
    let comment = result(&xs)["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|x| x["type"] == "comment")
        .expect("the manager's comment")
        .clone();
    assert_eq!(
        comment["dateModified"],
        at("2026-11-03T16:00:00Z").timestamp()
    );
    assert_eq!(
        comment["dateCreated"],
        at("2026-11-02T10:30:00Z").timestamp()
    );
    assert_eq!(comment["comments"][0]["version"], 2);
    assert_eq!(comment["comments"][1]["content"]["raw"], "Approved.");
    // The tag transaction carries the tag time; the description edit carries both texts.
    let all = call(
        &h,
        "transaction.search",
        json!({"objectIdentifier": "T201"}),
        t,
    )
    .await;
    let data = result(&all)["data"].as_array().expect("data").clone();
    let tag = data.iter().find(|x| x["type"] == "projects").expect("tag");
    assert_eq!(tag["dateCreated"], at("2026-11-03T08:30:00Z").timestamp());
    assert_eq!(tag["fields"]["operations"][0]["operation"], "add");
    let desc: Vec<&Value> = data.iter().filter(|x| x["type"] == "description").collect();
    assert_eq!(desc.len(), 2);
    assert!(desc[0]["fields"]["old"]
        .as_str()
        .expect("old")
        .contains("analytics-users"));
    // The unrelated project's task is not in the request project.
    let reqs = call(
        &h,
        "maniphest.search",
        json!({"constraints": {"projects": ["sre-access-requests"]}}),
        t,
    )
    .await;
    let ids: Vec<&Value> = result(&reqs)["data"]
        .as_array()
        .expect("d")
        .iter()
        .map(|x| &x["id"])
        .collect();
    assert_eq!(ids, [&json!(201)]);
    h.shutdown().await;
}

#[tokio::test]
async fn removed_comments_are_empty_and_flagged() {
    let h = start(scenario("refused"), SimOptions::default()).await;
    let xs = call(
        &h,
        "transaction.search",
        json!({"objectIdentifier": "T403"}),
        REFUSED_TOKEN,
    )
    .await;
    let removed: Vec<&Value> = result(&xs)["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|x| x["comments"][0]["removed"] == true)
        .collect();
    assert_eq!(removed.len(), 1);
    let versions = removed[0]["comments"].as_array().expect("versions");
    assert_eq!(versions.len(), 2);
    assert!(versions.iter().all(|v| v["content"]["raw"] == ""));
    h.shutdown().await;
}

#[tokio::test]
async fn the_task_page_carries_channel_markers() {
    let h = start(scenario("demo"), SimOptions::default()).await;
    h.set_now(at("2026-11-13T12:00:00Z"));
    let xs = call(
        &h,
        "transaction.search",
        json!({"objectIdentifier": "T103"}),
        DEMO_TOKEN,
    )
    .await;
    let data = result(&xs)["data"].as_array().expect("data").clone();
    let page = reqwest::get(format!("{}/T103", h.url()))
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    let email_comment = data
        .iter()
        .find(|x| {
            x["type"] == "comment"
                && x["comments"][0]["content"]["raw"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("Approved, Bea"))
        })
        .expect("the email approval");
    let web_comment = data
        .iter()
        .find(|x| {
            x["type"] == "comment" && x["authorPHID"] == json!(sim::state::user_phid("sre-kim"))
        })
        .expect("the web comment");
    let marker = |x: &Value, tip: &str| {
        format!(
            "{{&quot;tip&quot;:&quot;{tip}&quot;}},[],{{&quot;phid&quot;:&quot;{}&quot;,&quot;anchor&quot;:&quot;{}&quot;}}",
            x["phid"].as_str().expect("phid"),
            x["id"]
        )
    };
    assert!(page.contains(&marker(email_comment, "Via Email")));
    assert!(page.contains(&marker(web_comment, "Via Web")));
    for x in &data {
        assert!(
            page.contains(x["phid"].as_str().expect("phid")),
            "every transaction is on the page"
        );
    }
    // The recorded page uses the same marker syntax.
    let recorded_page =
        std::fs::read_to_string(recorded_dir().join("task-page-T1.html")).expect("page");
    assert!(recorded_page.contains("{&quot;tip&quot;:&quot;Via Email&quot;},[],{&quot;phid&quot;:&quot;PHID-XACT-TASK-gtmiudkg4rkbkgx&quot;,&quot;anchor&quot;:&quot;15&quot;}"));
    for missing in ["T999", "T0", "nonsense"] {
        let r = reqwest::get(format!("{}/{missing}", h.url()))
            .await
            .expect("get");
        assert_eq!(r.status(), 404, "{missing}");
    }
    h.shutdown().await;
}

#[tokio::test]
async fn the_clock_hides_the_future() {
    let h = start(scenario("demo"), SimOptions::default()).await;
    let t = DEMO_TOKEN;
    let ids = |v: &Value| -> Vec<u64> {
        result(v)["data"]
            .as_array()
            .expect("d")
            .iter()
            .filter_map(|x| x["id"].as_u64())
            .collect()
    };
    let q = json!({"constraints": {"projects": ["SRE-Access-Requests"]}});
    assert_eq!(
        ids(&call(&h, "maniphest.search", q.clone(), t).await),
        Vec::<u64>::new()
    );
    let missing = call(
        &h,
        "transaction.search",
        json!({"objectIdentifier": "T101"}),
        t,
    )
    .await;
    assert_eq!(missing["error_code"], "ERR-INVALID-OBJECT-PHID");
    let r: Value = reqwest::Client::new()
        .post(format!("{}/_sim/clock", h.url()))
        .body(r#"{"now": "2026-11-12T12:00:00Z"}"#)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(r["now"], "2026-11-12T12:00:00+00:00");
    assert_eq!(h.now(), at("2026-11-12T12:00:00Z"));
    assert_eq!(
        ids(&call(&h, "maniphest.search", q.clone(), t).await),
        vec![105, 102, 101]
    );
    let xs = call(
        &h,
        "transaction.search",
        json!({"objectIdentifier": "T101"}),
        t,
    )
    .await;
    let comments = result(&xs)["data"]
        .as_array()
        .expect("d")
        .iter()
        .filter(|x| x["type"] == "comment")
        .count();
    assert_eq!(
        comments, 1,
        "the lead's approval of 2026-11-13 is still in the future"
    );
    let paste = call(&h, "paste.search", json!({"constraints": {"ids": [12]}}), t).await;
    assert_eq!(result(&paste)["data"].as_array().map(Vec::len), Some(1));
    let bad = reqwest::Client::new()
        .post(format!("{}/_sim/clock", h.url()))
        .body(r#"{"now": "tomorrow"}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), 400);
    // --now overrides the scenario's clock.
    let late = start(
        scenario("demo"),
        SimOptions {
            now: Some(at("2026-11-20T00:00:00Z")),
            ..SimOptions::default()
        },
    )
    .await;
    assert_eq!(
        ids(&call(&late, "maniphest.search", q, t).await),
        vec![105, 104, 103, 102, 101]
    );
    late.shutdown().await;
    h.shutdown().await;
}

#[tokio::test]
async fn stats_count_calls_and_pages() {
    let h = start(scenario("demo"), SimOptions::default()).await;
    call(&h, "conduit.ping", json!({}), DEMO_TOKEN).await;
    call(&h, "user.whoami", json!({}), DEMO_TOKEN).await;
    call(
        &h,
        "user.whoami",
        json!({}),
        "api-wrongwrongwrongwrongwrong0000",
    )
    .await;
    let _ = reqwest::get(format!("{}/T101", h.url()))
        .await
        .expect("get");
    let s: Value = reqwest::get(format!("{}/_sim/stats", h.url()))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        s,
        json!({"calls": {"conduit.ping": 1, "user.whoami": 2, "task.page": 1}, "total": 4})
    );
    assert_eq!(h.stats().total, 4);
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/stats/reset", h.url()))
        .send()
        .await
        .expect("post");
    assert!(r.status().is_success());
    assert_eq!(h.stats().total, 0);
    h.shutdown().await;
}

async fn fault_pattern(seed: u64, spec: &str) -> Vec<u16> {
    let h = start(
        scenario("demo"),
        SimOptions {
            faults: FaultSpec::parse(spec).expect("spec"),
            seed,
            ..SimOptions::default()
        },
    )
    .await;
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for _ in 0..30 {
        let r = client
            .post(format!("{}/api/conduit.ping", h.url()))
            .form(&[("api.token", DEMO_TOKEN)])
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        let body = r.text().await.expect("body");
        let parses = serde_json::from_str::<Value>(&body).is_ok();
        out.push(if status == 200 && !parses {
            999
        } else {
            status
        });
    }
    h.shutdown().await;
    out
}

#[tokio::test]
async fn faults_are_deterministic_by_seed() {
    let spec = "5xx=0.3,malformed=0.3";
    let a = fault_pattern(42, spec).await;
    assert_eq!(a, fault_pattern(42, spec).await);
    assert_ne!(a, fault_pattern(43, spec).await);
    assert!(
        a.contains(&500) && a.contains(&999) && a.contains(&200),
        "{a:?}"
    );
    // Faults can be switched off at run time; control endpoints are never faulted.
    let h = start(
        scenario("demo"),
        SimOptions {
            faults: FaultSpec::parse("5xx=1").expect("spec"),
            seed: 1,
            ..SimOptions::default()
        },
    )
    .await;
    let client = reqwest::Client::new();
    let ping = || {
        client
            .post(format!("{}/api/conduit.ping", h.url()))
            .form(&[("api.token", DEMO_TOKEN)])
            .send()
    };
    assert_eq!(ping().await.expect("send").status(), 500);
    let stats = client
        .get(format!("{}/_sim/stats", h.url()))
        .send()
        .await
        .expect("send");
    assert_eq!(stats.status(), 200);
    let off = client
        .post(format!("{}/_sim/faults", h.url()))
        .body(r#"{"spec": ""}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(off.status(), 200);
    assert_eq!(ping().await.expect("send").status(), 200);
    let bad = client
        .post(format!("{}/_sim/faults", h.url()))
        .body(r#"{"spec": "explode=1"}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 400);
    h.shutdown().await;
}

#[tokio::test]
async fn a_paste_edit_changes_its_text_date_and_transactions() {
    let text = r#"
now = "2026-11-02T09:00:00Z"
[[users]]
username = "accessbot"
bot = true
token = "api-simpasteaccessbot00000000000"
[[users]]
username = "jdoe"
[[users]]
username = "mboss"
[[pastes]]
id = 12
author = "jdoe"
at = "2026-11-02T09:05:00Z"
content = "first"
[[pastes.events]]
at = "2026-11-03T10:00:00Z"
content = "second"
[[pastes.events]]
at = "2026-11-04T10:00:00Z"
author = "mboss"
content = "third"
"#;
    let h = start(
        Scenario::from_toml(text).expect("scenario"),
        SimOptions::default(),
    )
    .await;
    let t = "api-simpasteaccessbot00000000000";
    async fn read(h: &SimHandle, t: &str) -> (Value, Value) {
        let p = call(
            h,
            "paste.search",
            json!({"constraints": {"ids": [12]}, "attachments": {"content": true}}),
            t,
        )
        .await;
        let x = call(
            h,
            "transaction.search",
            json!({"objectIdentifier": "P12"}),
            t,
        )
        .await;
        (result(&p)["data"].clone(), x)
    }
    // Before the paste exists: no paste, and its transactions are refused like a missing object.
    let (pastes, x) = read(&h, t).await;
    assert_eq!(pastes.as_array().map(Vec::len), Some(0));
    assert_eq!(x["error_code"], "ERR-INVALID-OBJECT-PHID");
    h.set_now(at("2026-11-03T09:00:00Z"));
    let (p, x) = read(&h, t).await;
    let x = result(&x)["data"].clone();
    assert_eq!(p[0]["attachments"]["content"]["content"], "first");
    assert_eq!(
        p[0]["fields"]["dateModified"],
        p[0]["fields"]["dateCreated"]
    );
    let types: Vec<&Value> = x
        .as_array()
        .expect("xacts")
        .iter()
        .map(|x| &x["type"])
        .collect();
    assert_eq!(types, [&Value::Null, &json!("create")], "newest first: {x}");
    h.set_now(at("2026-11-05T09:00:00Z"));
    let (p, x) = read(&h, t).await;
    let x = result(&x)["data"].clone();
    assert_eq!(p[0]["attachments"]["content"]["content"], "third");
    assert_eq!(
        p[0]["fields"]["dateModified"],
        at("2026-11-04T10:00:00Z").timestamp()
    );
    assert_eq!(
        p[0]["fields"]["authorPHID"],
        sim::state::user_phid("jdoe"),
        "the author stays the creator"
    );
    let xs = x.as_array().expect("xacts");
    assert_eq!(xs.len(), 4);
    assert_eq!(xs[0]["authorPHID"], sim::state::user_phid("mboss"));
    assert_eq!(xs[0]["dateCreated"], at("2026-11-04T10:00:00Z").timestamp());
    assert_eq!(xs[1]["authorPHID"], sim::state::user_phid("jdoe"));
    let ids: Vec<i64> = xs.iter().filter_map(|x| x["id"].as_i64()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "ids grow with time: {ids:?}"
    );
    // Paging and the author constraint work as on a task.
    let page = call(
        &h,
        "transaction.search",
        json!({"objectIdentifier": "P12", "limit": 1, "constraints": {"authorPHIDs": [sim::state::user_phid("mboss")]}}),
        t,
    )
    .await;
    assert_eq!(result(&page)["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(result(&page)["cursor"]["after"], Value::Null);
    // An edit out of order is refused with its place.
    let bad = text.replace("2026-11-04T10:00:00Z", "2026-11-03T09:00:00Z");
    let e = Scenario::from_toml(&bad).expect_err("edit before the previous one");
    assert!(
        e.to_string().contains("line 19: pastes[0] (P12) events[1]"),
        "{e}"
    );
}

#[test]
fn bad_scenarios_are_explained() {
    let e = Scenario::from_toml(
        "now = \"2026-11-02T09:00:00Z\"\n\n[[users]]\nusername = \"a\"\nrealname = \"x\"\n",
    )
    .expect_err("unknown field");
    let msg = e.to_string();
    assert!(msg.contains("line 5") && msg.contains("realname"), "{msg}");
    let e = Scenario::from_toml("now = \"yesterday\"\n").expect_err("bad time");
    assert!(e.to_string().contains("line 1"), "{e}");
    let e = Scenario::from_toml(
        "now = \"2026-11-02T09:00:00Z\"\n[[tasks]]\nid = 1\nauthor = \"ghost\"\nat = \"2026-11-02T09:00:00Z\"\ntitle = \"t\"\n",
    )
    .expect_err("unknown user");
    assert!(
        e.to_string()
            .contains("line 2: tasks[0] (T1): unknown user \"ghost\""),
        "{e}"
    );
    let two_kinds = r#"
now = "2026-11-02T09:00:00Z"
[[users]]
username = "a"
[[tasks]]
id = 1
author = "a"
at = "2026-11-02T09:00:00Z"
title = "t"
[[tasks.events]]
at = "2026-11-02T10:00:00Z"
author = "a"
comment = "x"
status = "resolved"
"#;
    let e = Scenario::from_toml(two_kinds).expect_err("two kinds");
    assert!(
        e.to_string()
            .contains("line 10: tasks[0] (T1) events[0]: needs exactly one"),
        "{e}"
    );
    let e = Scenario::from_toml(&two_kinds.replace("status = \"resolved\"", "edit_comment = 2"))
        .expect_err("no such comment");
    assert!(e.to_string().contains("no comment 2"), "{e}");
    let missing = Scenario::from_file(Path::new("/nonexistent/scenario.toml")).expect_err("io");
    assert!(missing.to_string().contains("/nonexistent/scenario.toml"));
}

#[test]
fn bundled_scenarios_and_generated_ones_are_valid() {
    for name in ["demo", "plain", "sudo", "refused", "pages"] {
        scenario(name);
    }
    let big = sim::generate(2000, 3);
    big.validate().expect("valid");
    assert_eq!(big.tasks.len(), 2000);
    assert_eq!(sim::generate(50, 9), sim::generate(50, 9));
    let text = toml::to_string(&sim::generate(20, 1)).expect("serialise");
    assert_eq!(
        Scenario::from_toml(&text).expect("round trip"),
        sim::generate(20, 1)
    );
}

#[tokio::test]
async fn a_hung_call_still_takes_effect() {
    let h = start(
        scenario("demo"),
        SimOptions {
            now: Some(at("2026-11-14T00:00:00Z")),
            faults: FaultSpec::parse("timeout=1").expect("spec"),
            ..SimOptions::default()
        },
    )
    .await;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .expect("client");
    let params = json!({"__conduit__": {"token": DEMO_TOKEN}, "objectIdentifier": "T102",
                        "transactions": [{"type": "comment", "value": "posted, then the answer hung"}]});
    let r = client
        .post(format!("{}/api/maniphest.edit", h.url()))
        .form(&[("params", params.to_string())])
        .send()
        .await;
    assert!(r.expect_err("the answer never comes in time").is_timeout());
    assert_eq!(
        h.comments(102).len(),
        1,
        "the edit happened before the hang"
    );
    h.set_faults(FaultSpec::default());
    let v = call(
        &h,
        "transaction.search",
        json!({"objectIdentifier": "T102", "limit": 1}),
        DEMO_TOKEN,
    )
    .await;
    assert_eq!(
        result(&v)["data"][0]["comments"][0]["content"]["raw"],
        "posted, then the answer hung"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn transaction_ids_grow_with_time_across_bot_edits() {
    let h = start(scenario("demo"), SimOptions::default()).await;
    h.set_now(at("2026-11-12T12:00:00Z"));
    let edit = call(
        &h,
        "maniphest.edit",
        json!({"objectIdentifier": "T101", "transactions": [{"type": "comment", "value": "first checklist"}]}),
        DEMO_TOKEN,
    )
    .await;
    result(&edit);
    h.set_now(at("2026-11-14T00:00:00Z"));
    let xs = call(
        &h,
        "transaction.search",
        json!({"objectIdentifier": "T101"}),
        DEMO_TOKEN,
    )
    .await;
    let data = result(&xs)["data"].as_array().expect("data").clone();
    // Newest first by id, and ids ordered like times: the lead's approval of 11-13, made
    // visible after the bot's comment of 11-12, still has the larger id.
    let pairs: Vec<(u64, i64)> = data
        .iter()
        .map(|x| {
            (
                x["id"].as_u64().expect("id"),
                x["dateCreated"].as_i64().expect("time"),
            )
        })
        .collect();
    assert!(
        pairs
            .windows(2)
            .all(|w| w[0].0 > w[1].0 && w[0].1 >= w[1].1),
        "{pairs:?}"
    );
    assert_eq!(
        data[0]["comments"][0]["content"]["raw"],
        "+1 from Data Engineering, approved for analytics-privatedata-users."
    );
    h.shutdown().await;
}

#[tokio::test]
async fn answers_deserialize_into_the_shared_wire_types() {
    use accessbot::wire::{
        Document, EditResult, Envelope, Paste, PhidInfo, Project, SearchPage, Signature, Task,
        Transaction, User, WhoAmI,
    };
    use serde::de::DeserializeOwned;
    use std::collections::BTreeMap;
    fn parse<T: DeserializeOwned>(what: &str, v: Value) -> T {
        let env: Envelope<T> =
            serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{what}: {e}\n{v}"));
        env.result
            .unwrap_or_else(|| panic!("{what}: no result: {v}"))
    }
    let h = start(scenario("demo"), SimOptions::default()).await;
    h.set_now(at("2026-11-20T00:00:00Z"));
    let t = DEMO_TOKEN;
    let tasks: SearchPage<Task> = parse(
        "maniphest.search",
        call(
            &h,
            "maniphest.search",
            json!({"attachments": {"projects": true, "columns": true, "subscribers": true}}),
            t,
        )
        .await,
    );
    assert_eq!(tasks.data.len(), 5);
    assert!(tasks.data.iter().all(|t| t.attachments.columns.is_some()));
    let xs: SearchPage<Transaction> = parse(
        "transaction.search",
        call(
            &h,
            "transaction.search",
            json!({"objectIdentifier": "T103"}),
            t,
        )
        .await,
    );
    assert!(xs
        .data
        .iter()
        .any(|x| x.kind.as_deref() == Some("description")));
    let _: WhoAmI = parse("user.whoami", call(&h, "user.whoami", json!({}), t).await);
    let users: SearchPage<User> = parse("user.search", call(&h, "user.search", json!({}), t).await);
    assert!(users
        .data
        .iter()
        .any(|u| u.fields.roles.contains(&"disabled".to_string())));
    let _: SearchPage<Project> = parse(
        "project.search",
        call(
            &h,
            "project.search",
            json!({"attachments": {"members": true}}),
            t,
        )
        .await,
    );
    let pastes: SearchPage<Paste> = parse(
        "paste.search",
        call(
            &h,
            "paste.search",
            json!({"attachments": {"content": true}}),
            t,
        )
        .await,
    );
    assert!(pastes.data[0].attachments.content.is_some());
    let _: SearchPage<Signature> = parse(
        "legalpad.signature.search",
        call(&h, "legalpad.signature.search", json!({}), t).await,
    );
    let _: SearchPage<Document> = parse(
        "legalpad.document.search",
        call(
            &h,
            "legalpad.document.search",
            json!({"attachments": {"signatures": true}}),
            t,
        )
        .await,
    );
    let handles: BTreeMap<String, PhidInfo> = parse(
        "phid.lookup",
        call(
            &h,
            "phid.lookup",
            json!({"names": ["T101", "L3", "@jdoe", "#sre-access-requests", "P12"]}),
            t,
        )
        .await,
    );
    assert_eq!(handles.len(), 5);
    let edit: EditResult = parse(
        "maniphest.edit",
        call(
            &h,
            "maniphest.edit",
            json!({"objectIdentifier": "T101", "transactions": [{"type": "status", "value": "resolved"}]}),
            t,
        )
        .await,
    );
    assert_eq!(edit.transactions.len(), 1);
    h.shutdown().await;
}

// ---- task pages as Phorge serves them ---------------------------------------------------------

const PAGES_TOKEN: &str = "api-simpagesaccessbot00000000000";
const READER: &str = "phsid=phsid-pages-accessbot-web";
const CLINIC: &str = "phsid=phsid-pages-clinicduty";

/// The pages scenario with `n` Conduit comments by sre-kim after T401's approvals.
fn pages_scenario(n: usize) -> Scenario {
    let mut sc = scenario("pages");
    let t = sc.tasks.iter_mut().find(|t| t.id == 401).expect("T401");
    let start = at("2026-11-02T12:00:00Z");
    for i in 0..n {
        let mut e = sim::scenario::ScenarioEvent::comment(
            start + chrono::Duration::minutes(i as i64),
            "sre-kim",
            format!("status note {i}"),
        );
        e.via = Some(sim::scenario::Via::Conduit);
        t.events.push(e);
    }
    sc
}

/// `GET url` with an optional cookie, redirects not followed: (status, location, body).
async fn get_page(url: &str, cookie: Option<&str>) -> (u16, Option<String>, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut req = client.get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let r = req.send().await.expect("get");
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().expect("ascii").to_string());
    (status, location, r.text().await.expect("body"))
}

/// A task's transactions (all pages), oldest first.
async fn xacts(h: &SimHandle, task: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let mut params = json!({"objectIdentifier": task});
        if !after.is_null() {
            params["after"] = after.clone();
        }
        let page = call(h, "transaction.search", params, PAGES_TOKEN).await;
        out.extend(
            result(&page)["data"]
                .as_array()
                .expect("data")
                .iter()
                .cloned(),
        );
        after = result(&page)["cursor"]["after"].clone();
        if after.is_null() {
            break;
        }
    }
    out.sort_by_key(|x| x["id"].as_u64());
    out
}

/// The PHIDs of a task's transactions, oldest first.
async fn xact_phids(h: &SimHandle, task: &str) -> Vec<String> {
    xacts(h, task)
        .await
        .iter()
        .map(|x| x["phid"].as_str().expect("phid").to_string())
        .collect()
}

fn task_part(html: &str) -> accessbot::conduit::PagePart {
    match accessbot::conduit::read_task_page(html) {
        accessbot::conduit::PageKind::Task(p) => p,
        other => panic!("not a task page: {other:?}\n{html}"),
    }
}

#[tokio::test]
async fn a_private_site_needs_a_session_for_its_pages() {
    use accessbot::conduit::{read_task_page, PageKind};
    let h = start(scenario("pages"), SimOptions::default()).await;
    let url = format!("{}/T401", h.url());
    // Anonymous: HTTP 200 with the login page, as recorded from a non-public install.
    let (status, _, body) = get_page(&url, None).await;
    assert_eq!(status, 200);
    assert_eq!(read_task_page(&body), PageKind::LoginRequired);
    let recorded_login =
        std::fs::read_to_string(recorded_dir().join("task-page-anonymous-login-required.html"))
            .expect("recorded login page");
    for shared in [
        "<title>Authentication Failure</title>",
        "<h1 class=\"phui-info-view-head\">Authentication Failure</h1>",
    ] {
        assert!(
            body.contains(shared) && recorded_login.contains(shared),
            "{shared}"
        );
    }
    // An unknown or expired session: 302 to ?cleared=1.
    let (status, location, _) = get_page(&url, Some("phsid=expired")).await;
    assert_eq!(
        (status, location.as_deref()),
        (302, Some("/T401?cleared=1"))
    );
    // A known session: the page.
    let (status, _, body) = get_page(&url, Some(READER)).await;
    assert_eq!(status, 200);
    assert_eq!(
        task_part(&body).markers.len(),
        xact_phids(&h, "T401").await.len()
    );
    // "Show Older Changes" answers the same way.
    let older = format!(
        "{}/transactions/showolder/{}/?after=3&__ajax__=true",
        h.url(),
        sim::state::task_phid(401)
    );
    assert_eq!(
        read_task_page(&get_page(&older, None).await.2),
        PageKind::LoginRequired
    );
    assert_eq!(get_page(&older, Some("phsid=expired")).await.0, 302);
    // A public site (the default) serves anyone; a bad session is no session there.
    let mut public = scenario("pages");
    public.site.public = true;
    let p = start(public, SimOptions::default()).await;
    for cookie in [None, Some("phsid=expired")] {
        let (status, _, body) = get_page(&format!("{}/T401", p.url()), cookie).await;
        assert_eq!(status, 200);
        task_part(&body);
    }
    h.shutdown().await;
    p.shutdown().await;
}

#[tokio::test]
async fn a_long_timeline_shows_the_newest_100_and_the_rest_behind_show_older_changes() {
    use accessbot::conduit::read_older_part;
    let h = start(pages_scenario(105), SimOptions::default()).await;
    let all = xact_phids(&h, "T401").await;
    assert!(all.len() > 110, "{}", all.len());
    h.reset_stats();
    let (_, _, body) = get_page(&format!("{}/T401", h.url()), Some(READER)).await;
    let first = task_part(&body);
    assert_eq!(first.markers.len(), 100);
    let newest: Vec<String> = all[all.len() - 100..].to_vec();
    let shown: Vec<String> = first.markers.iter().map(|m| m.phid.to_string()).collect();
    assert_eq!(shown, newest);
    assert!(body.contains("There are a very large number of changes, so older changes are hidden."));
    let link = first.older.expect("a show-older link");
    assert_eq!(link.object, sim::state::task_phid(401));
    assert_eq!(link.after, first.markers[0].anchor.expect("anchor"));
    // The link's answer, with __ajax__, is the recorded AJAX shape: the rest of the timeline.
    let (status, _, ajax) = get_page(
        &format!("{}{}&__ajax__=true", h.url(), link.path),
        Some(READER),
    )
    .await;
    assert_eq!(status, 200);
    let recorded = std::fs::read_to_string(recorded_dir().join("task-page-T12-showolder-ajax.txt"))
        .expect("recorded answer");
    for text in [&ajax, &recorded] {
        let v: Value =
            serde_json::from_str(text.strip_prefix("for (;;);").expect("prefix")).expect("json");
        assert_eq!(v["error"], Value::Null);
        assert!(v["payload"]["timeline"].is_string() && v["javelin_metadata"].is_array());
    }
    let older = read_older_part(&ajax).expect("an older part");
    assert_eq!(older.older, None, "nothing older left");
    let rest: Vec<String> = older.markers.iter().map(|m| m.phid.to_string()).collect();
    assert_eq!(rest, all[..all.len() - 100].to_vec());
    // The web events (the approvals among them) are only there.
    assert!(first
        .markers
        .iter()
        .all(|m| m.channel == accessbot::conduit::Channel::Conduit));
    assert!(older
        .markers
        .iter()
        .any(|m| m.channel == accessbot::conduit::Channel::Web));
    let s = h.stats();
    assert_eq!(s.calls.get("task.page"), Some(&1));
    assert_eq!(s.calls.get("task.page.older"), Some(&1));
    assert_eq!(s.total, 2);

    // 250 more: the older part itself ends with the next link, which moves back in time.
    let h = start(pages_scenario(355), SimOptions::default()).await;
    let all = xact_phids(&h, "T401").await;
    let (_, _, body) = get_page(&format!("{}/T401", h.url()), Some(READER)).await;
    let mut link = task_part(&body).older;
    let mut seen = 100;
    let mut parts = 0;
    while let Some(l) = link {
        let (_, _, ajax) = get_page(
            &format!("{}{}&__ajax__=true", h.url(), l.path),
            Some(READER),
        )
        .await;
        let part = read_older_part(&ajax).expect("older part");
        assert!(part.markers.len() <= 100);
        assert!(part
            .markers
            .iter()
            .all(|m| m.anchor.expect("anchor") < l.after));
        if let Some(next) = &part.older {
            assert!(next.after < l.after);
        }
        seen += part.markers.len();
        parts += 1;
        link = part.older;
    }
    assert_eq!(seen, all.len());
    assert_eq!(parts, all.len().div_ceil(100) - 1);
    h.shutdown().await;
}

#[tokio::test]
async fn the_viewers_last_comment_hides_what_came_before() {
    let h = start(scenario("pages"), SimOptions::default()).await;
    let all = xact_phids(&h, "T402").await;
    let clinicduty = json!(sim::state::user_phid("clinicduty"));
    let mine = xacts(&h, "T402")
        .await
        .iter()
        .position(|x| x["type"] == "comment" && x["authorPHID"] == clinicduty)
        .expect("clinicduty's comment");
    let url = format!("{}/T402", h.url());
    // clinicduty commented, and two events follow: the page starts at that comment.
    let (_, _, body) = get_page(&url, Some(CLINIC)).await;
    let part = task_part(&body);
    assert!(body.contains("Changes from before your most recent comment are hidden."));
    let shown: Vec<String> = part.markers.iter().map(|m| m.phid.to_string()).collect();
    assert_eq!(shown, all[mine..].to_vec());
    let link = part.older.expect("a show-older link");
    assert_eq!(link.after, part.markers[0].anchor.expect("anchor"));
    let (_, _, ajax) = get_page(
        &format!("{}{}&__ajax__=true", h.url(), link.path),
        Some(CLINIC),
    )
    .await;
    let older = accessbot::conduit::read_older_part(&ajax).expect("older part");
    let rest: Vec<String> = older.markers.iter().map(|m| m.phid.to_string()).collect();
    assert_eq!(rest, all[..mine].to_vec());
    // Someone who never commented sees everything.
    let (_, _, body) = get_page(&url, Some(READER)).await;
    let part = task_part(&body);
    assert_eq!(part.markers.len(), all.len());
    assert_eq!(part.older, None);
    // With only one event after the viewer's comment, nothing is hidden.
    h.set_now(at("2026-11-03T10:30:00Z"));
    let all = xact_phids(&h, "T402").await;
    let (_, _, body) = get_page(&url, Some(CLINIC)).await;
    let part = task_part(&body);
    assert_eq!(part.markers.len(), all.len());
    assert_eq!(part.older, None);
    h.shutdown().await;
}

#[test]
fn sessions_are_for_ordinary_accounts_only() {
    let base = "now = \"2026-11-02T09:00:00Z\"\n";
    let e = Scenario::from_toml(&format!(
        "{base}[[users]]\nusername = \"bot\"\nbot = true\nsession = \"s1\"\n"
    ))
    .expect_err("a bot with a session");
    assert!(
        e.to_string()
            .contains("bot accounts cannot hold web sessions"),
        "{e}"
    );
    let e = Scenario::from_toml(&format!(
        "{base}[[users]]\nusername = \"a\"\nsession = \"s1\"\n[[users]]\nusername = \"b\"\nsession = \"s1\"\n"
    ))
    .expect_err("a shared session");
    assert!(e.to_string().contains("duplicate"), "{e}");
    let e = Scenario::from_toml(&format!(
        "{base}[[users]]\nusername = \"a\"\nsession = \"a;b\"\n"
    ))
    .expect_err("not a cookie value");
    assert!(e.to_string().contains("malformed"), "{e}");
    let e = Scenario::from_toml(&format!("{base}[site]\npublik = false\n")).expect_err("typo");
    assert!(e.to_string().contains("publik"), "{e}");
    let ok = Scenario::from_toml(&format!("{base}[site]\npublic = false\n")).expect("valid");
    assert!(!ok.site.public);
    assert!(Scenario::from_toml(base).expect("valid").site.public);
}
