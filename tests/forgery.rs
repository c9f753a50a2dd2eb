//! The forgery corpus (issue 7, item 1): every scenario in `tests/scenarios/forgery/` is one way
//! a request could wrongly look ready, next to a genuine control task that differs only in the
//! forged detail. The real bot (client, poller, SQLite store) runs against the simulator at the
//! file's `now` and at each later instant named in its header; the verdicts and failing checks
//! are read back from the store, and every comment the bot posted on every task of the file is
//! an exact snapshot (`tests/snapshots/forgery__<file stem>.snap`, see
//! [`no_forgery_is_ever_ready_and_every_control_is`]).
//!
//! Header lines the test reads (in the scenario's leading comment):
//! - `# expect T501 blocked manager-approval`: at the last instant T501 is `blocked`, and the
//!   checks that do not pass are exactly the ones named (so the forgery, and nothing else,
//!   is what keeps it from being ready). Any task expected not ready must not be `ready` at
//!   any instant, nor may any checklist the bot posted on it say READY.
//! - `# expect T502 ready`: at the last instant T502 is ready (every check passes).
//! - `# at 2026-11-05T12:00:00Z`: a later instant to run a cycle at, in order.
//! - `# no-ready-control: why`: the file has no task that can become ready (the forged detail
//!   is a property of the whole world, e.g. the bot cannot see L3 signatures).
//! - `# check T1011 manager-approval pending clinic-duty could not read @mboss's comment`: at
//!   the last instant, the real binary's `check T1011 --json` shows that check with that
//!   status and who, its message containing the rest of the line.

mod common;

use accessbot::ids::TaskId;
use accessbot::policy::Verdict;
use accessbot::report;
use common::World;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// One expectation of a scenario header.
#[derive(Debug, Clone)]
struct Expect {
    task: u64,
    verdict: Verdict,
    failing: BTreeSet<String>,
}

/// One `# check` line: what `check --json` must show for one check of one task.
#[derive(Debug, Clone)]
struct CheckExpect {
    task: u64,
    id: String,
    status: String,
    who: String,
    says: String,
}

/// One corpus file as its header describes it.
#[derive(Debug, Clone)]
struct Case {
    file: String,
    now: String,
    instants: Vec<String>,
    expects: Vec<Expect>,
    checks: Vec<CheckExpect>,
    ready_control_waived: bool,
}

impl Case {
    /// The case's `# expect` lines in one line (`T511 blocked (manager-approval); T512
    /// ready`), the description of its snapshot.
    fn summary(&self) -> String {
        self.expects
            .iter()
            .map(|e| {
                let failing: Vec<&str> = e.failing.iter().map(String::as_str).collect();
                if failing.is_empty() {
                    format!("T{} {}", e.task, e.verdict)
                } else {
                    format!("T{} {} ({})", e.task, e.verdict, failing.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn corpus_dir() -> PathBuf {
    common::root().join("tests/scenarios/forgery")
}

fn parse_case(file: &str, text: &str) -> Result<Case, String> {
    let table: toml::Table = text.parse().map_err(|e| format!("{file}: {e}"))?;
    let now = table
        .get("now")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("{file}: no `now`"))?
        .to_string();
    let mut case = Case {
        file: file.to_string(),
        now,
        instants: Vec::new(),
        expects: Vec::new(),
        checks: Vec::new(),
        ready_control_waived: false,
    };
    for line in text
        .lines()
        .take_while(|l| l.starts_with('#') || l.is_empty())
    {
        if let Some(rest) = line.strip_prefix("# expect ") {
            let mut words = rest.split_whitespace();
            let task = words
                .next()
                .and_then(|t| t.strip_prefix('T'))
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("{file}: bad expect line {line:?}"))?;
            let verdict = words
                .next()
                .ok_or_else(|| format!("{file}: no verdict in {line:?}"))?
                .parse::<Verdict>()
                .map_err(|e| format!("{file}: {line:?}: {e}"))?;
            let failing: BTreeSet<String> = words.map(String::from).collect();
            if verdict != Verdict::Ready && failing.is_empty() {
                return Err(format!("{file}: {line:?} names no failing check"));
            }
            case.expects.push(Expect {
                task,
                verdict,
                failing,
            });
        } else if let Some(rest) = line.strip_prefix("# check ") {
            let mut words = rest.splitn(5, ' ');
            let bad = || format!("{file}: bad check line {line:?}");
            let task = words
                .next()
                .and_then(|t| t.strip_prefix('T'))
                .and_then(|n| n.parse().ok())
                .ok_or_else(bad)?;
            let mut next = || words.next().map(str::to_string).ok_or_else(bad);
            case.checks.push(CheckExpect {
                task,
                id: next()?,
                status: next()?,
                who: next()?,
                says: next()?,
            });
        } else if let Some(rest) = line.strip_prefix("# at ") {
            case.instants.push(rest.trim().to_string());
        } else if line.starts_with("# no-ready-control:") {
            case.ready_control_waived = true;
        }
    }
    Ok(case)
}

fn load_corpus() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the forgery corpus exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(p).expect("readable scenario");
            parse_case(&name, &text).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// The ids of the checks of a stored `check --json` object that do not pass.
fn not_passing(report_json: &str) -> Result<BTreeSet<String>, String> {
    let v: serde_json::Value =
        serde_json::from_str(report_json).map_err(|e| format!("report_json: {e}"))?;
    let checks = v["checks"]
        .as_array()
        .ok_or_else(|| format!("report_json has no checks: {report_json}"))?;
    Ok(checks
        .iter()
        .filter(|c| c["status"] != "pass")
        .filter_map(|c| c["id"].as_str().map(String::from))
        .collect())
}

/// What one corpus file's run left: every failed expectation (empty: all held) and every text
/// the bot posted on each of its tasks ([`posted_on_every_task`]).
struct Outcome {
    errors: Vec<String>,
    posted: String,
}

/// Every comment the bot posted on each task of the case's scenario, in one text: each task
/// (in the order of its number) under a `== T501 ==` heading, then its whole thread as
/// [`World::thread`] shows it (`--- comment N by USER at TIME ---` and the normalised text),
/// or `(no comment)`.
fn posted_on_every_task(w: &World, tasks: &[u64]) -> String {
    tasks
        .iter()
        .map(|&t| {
            let thread = w.thread(t);
            let thread = if thread.is_empty() {
                "(no comment)\n".to_string()
            } else {
                thread
            };
            format!("== T{t} ==\n{thread}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a checklist breaks of the bot's own values and references (issue: "copyable values"):
/// a U+200B inside a fingerprint, a key type or a command (copied, they would not match
/// `ssh-keygen -lf` or run), a look-alike `#` in a reference to a comment of a task (dead
/// text where a link helps), a broken reference to another request that uses the same key,
/// look-alike backticks around the bot's own words, an `L3` broken after "signed". Each is
/// named with what it matched.
fn uncopyable(text: &str) -> Vec<String> {
    let (zw, hash, tick) = ('\u{200B}', '\u{FF03}', '\u{02CB}');
    let patterns = [
        ("fingerprint", format!(r"SHA256:[A-Za-z0-9+/={zw}]*{zw}")),
        (
            "key type or command",
            format!(r"ed25{zw}519|ssh-keygen[^)]*{zw}"),
        ),
        (
            "comment reference",
            format!(r"\(T{zw}?[0-9]+{hash}[0-9]+\)"),
        ),
        (
            "monospace",
            format!("{tick}(?:subject|Phabricator username:){tick}"),
        ),
        ("document name", format!("signed L{zw}3")),
        (
            "reference to another request",
            format!(r"\(T{zw}[0-9]+[,)]"),
        ),
    ];
    let mut found = Vec::new();
    for (what, pattern) in patterns {
        let re = fancy_regex::Regex::new(&pattern).expect("pattern");
        for m in re.find_iter(text) {
            let m = m.expect("no backtrack limit");
            found.push(format!("{what}: {:?}", m.as_str()));
        }
    }
    found
}

/// Runs one corpus file; returns every failed expectation and the texts posted.
async fn run_case(case: Case) -> Outcome {
    let mut errors = Vec::new();
    let file = &case.file;
    let scenario = format!("forgery/{file}");
    let mut tasks: Vec<u64> = common::load_scenario(&scenario)
        .tasks
        .iter()
        .map(|t| t.id)
        .collect();
    tasks.sort_unstable();
    let w = World::start(&scenario, &case.now).await;
    let bot = w.bot().await;
    let forged: Vec<u64> = case
        .expects
        .iter()
        .filter(|e| e.verdict != Verdict::Ready)
        .map(|e| e.task)
        .collect();
    let instants: Vec<&String> = std::iter::once(&case.now)
        .chain(case.instants.iter())
        .collect();
    for instant in &instants {
        w.set_now(instant);
        match bot.cycle().await {
            Ok(r) if !r.failed.is_empty() => {
                errors.push(format!("{file} at {instant}: failed tasks {:?}", r.failed))
            }
            Ok(_) => {}
            Err(e) => errors.push(format!("{file} at {instant}: cycle failed: {e:#}")),
        }
        let store = w.store().await;
        for &t in &forged {
            match store.task(TaskId::new(t)).await {
                Ok(Some(row)) if row.verdict == Verdict::Ready => {
                    errors.push(format!("{file}: forged T{t} is READY at {instant}"))
                }
                Ok(Some(_)) => {}
                Ok(None) => errors.push(format!("{file}: T{t} not in the store at {instant}")),
                Err(e) => errors.push(format!("{file}: store: {e}")),
            }
            if w.comments(t).iter().any(|c| c.contains(": **READY")) {
                errors.push(format!(
                    "{file}: the bot posted READY on forged T{t} by {instant}"
                ));
            }
        }
        store.close().await;
    }
    let last = instants.last().map(|s| s.as_str()).unwrap_or_default();
    let store = w.store().await;
    for e in &case.expects {
        let t = e.task;
        let row = match store.task(TaskId::new(t)).await {
            Ok(Some(row)) => row,
            other => {
                errors.push(format!("{file}: T{t} not stored: {other:?}"));
                continue;
            }
        };
        if row.verdict != e.verdict {
            errors.push(format!(
                "{file}: T{t} at {last} is {} (expected {}); report: {}",
                row.verdict, e.verdict, row.report_json
            ));
            continue;
        }
        match not_passing(&row.report_json) {
            Ok(found) if found != e.failing => errors.push(format!(
                "{file}: T{t} checks not passing {found:?}, expected exactly {:?}; report: {}",
                e.failing, row.report_json
            )),
            Ok(_) => {}
            Err(err) => errors.push(format!("{file}: T{t}: {err}")),
        }
        // The checklist on the task says the same as the store.
        let word = format!(": **{}", e.verdict.as_str().to_uppercase());
        let posted = w.comments(t);
        match posted.iter().rev().find(|c| report::is_checklist(c)) {
            Some(c) if c.contains(&word) => {}
            Some(c) => errors.push(format!(
                "{file}: T{t}'s last checklist does not say {word:?}:\n{c}"
            )),
            None => errors.push(format!("{file}: no checklist posted on T{t}")),
        }
    }
    store.close().await;
    for &t in &tasks {
        for c in w.comments(t).iter().filter(|c| report::is_checklist(c)) {
            errors.extend(
                uncopyable(c)
                    .into_iter()
                    .map(|bad| format!("{file}: T{t}'s checklist breaks the bot's own {bad}")),
            );
        }
    }
    Outcome {
        errors,
        posted: posted_on_every_task(&w, &tasks),
    }
}

#[test]
fn the_corpus_is_complete_and_every_file_has_a_forgery_and_a_control() {
    let corpus = load_corpus();
    assert!(
        corpus.len() >= 30,
        "at least 30 forgery scenarios, found {}",
        corpus.len()
    );
    for case in &corpus {
        assert!(
            case.expects.iter().any(|e| e.verdict != Verdict::Ready),
            "{}: no forged task",
            case.file
        );
        assert!(
            case.ready_control_waived || case.expects.iter().any(|e| e.verdict == Verdict::Ready),
            "{}: no control task that becomes ready",
            case.file
        );
        for i in &case.instants {
            assert!(
                chrono::DateTime::parse_from_rfc3339(i).is_ok(),
                "{}: bad instant {i}",
                case.file
            );
        }
    }
}

/// Every `forgery__*.snap` file is the snapshot of a file of the corpus: a case renamed or
/// removed leaves no snapshot behind that a reviewer could take for a case still tested.
#[test]
fn every_forgery_snapshot_belongs_to_a_case() {
    let cases: BTreeSet<String> = load_corpus()
        .iter()
        .map(|c| c.file.trim_end_matches(".toml").to_string())
        .collect();
    let dir = common::root().join("tests/snapshots");
    let mut snapshots = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("tests/snapshots exists") {
        let name = entry.expect("a directory entry").file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name
            .strip_prefix("forgery__")
            .and_then(|n| n.strip_suffix(".snap"))
        {
            snapshots.insert(stem.to_string());
        }
    }
    let orphans: Vec<&String> = snapshots.difference(&cases).collect();
    assert!(orphans.is_empty(), "snapshots of no case: {orphans:?}");
}

#[test]
fn header_lines_are_read_strictly() {
    let ok = "# expect T1 blocked manager-approval l3\n# expect T2 ready\n# at 2026-11-05T12:00:00Z\n\nnow = \"2026-11-02T12:00:00Z\"\n";
    let c = parse_case("x.toml", ok).unwrap();
    assert_eq!(c.expects.len(), 2);
    assert_eq!(
        c.expects[0].failing,
        BTreeSet::from(["manager-approval".to_string(), "l3".to_string()])
    );
    assert_eq!(c.instants, ["2026-11-05T12:00:00Z"]);
    let with_check = "# check T1 manager-approval pending clinic-duty could not read @m's comment\nnow = \"x\"\n";
    let c = parse_case("x.toml", with_check).unwrap();
    assert_eq!(c.checks.len(), 1);
    assert_eq!(c.checks[0].id, "manager-approval");
    assert_eq!(c.checks[0].who, "clinic-duty");
    assert_eq!(c.checks[0].says, "could not read @m's comment");
    assert!(parse_case(
        "x.toml",
        "# check T1 manager-approval pending\nnow = \"x\"\n"
    )
    .is_err());
    // A forged task must name what blocks it.
    assert!(parse_case("x.toml", "# expect T1 blocked\nnow = \"x\"\n").is_err());
    assert!(parse_case("x.toml", "# expect 1 ready\nnow = \"x\"\n").is_err());
}

/// Runs every case of the corpus (concurrently) and holds what each showed: no forged task is
/// ever READY, each task ends with the verdict and exactly the failing checks of its header, and
/// every comment the bot posted on every task of the case is an exact snapshot.
///
/// The snapshots are named file snapshots (`tests/snapshots/forgery__<file stem>.snap`), one per
/// case, holding each task's thread under a `== T501 ==` heading: a case is one forgery next to
/// its control, which differ only in the forged detail, so in review the two checklists are
/// read side by side in one file (the forged check failing or pending with its reason, the
/// control's READY), and a changed text shows as one diff per case, named after its file. The
/// snapshot's description is the case's `# expect` lines. The cases run concurrently, so their
/// texts are collected and asserted here, on the test's thread, one case after the other; a
/// case whose text changed is named, and every such case is listed, not only the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_forgery_is_ever_ready_and_every_control_is() {
    let corpus = load_corpus();
    let mut set = tokio::task::JoinSet::new();
    for case in corpus {
        set.spawn(async move {
            let (file, summary) = (case.file.clone(), case.summary());
            (file, summary, run_case(case).await)
        });
    }
    let mut errors = Vec::new();
    let mut posted = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok((file, summary, outcome)) => {
                errors.extend(outcome.errors);
                posted.push((file, summary, outcome.posted));
            }
            Err(e) => errors.push(format!("a case panicked: {e}")),
        }
    }
    errors.sort();
    assert!(
        errors.is_empty(),
        "{} problem(s):\n{}",
        errors.len(),
        errors.join("\n\n")
    );
    posted.sort();
    let mut changed = Vec::new();
    for (file, summary, text) in posted {
        let name = file.trim_end_matches(".toml").to_string();
        let mut settings = insta::Settings::clone_current();
        settings.set_description(summary);
        let held = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(name.as_str(), text))
        }));
        if held.is_err() {
            changed.push(file);
        }
    }
    assert!(
        changed.is_empty(),
        "the texts posted in {} case(s) differ from their snapshots: {}",
        changed.len(),
        changed.join(", ")
    );
}

/// Runs the real binary's `check --json` for every `# check` line of a case at its last
/// instant; returns every failed expectation.
async fn run_checks(case: Case) -> Vec<String> {
    let mut errors = Vec::new();
    if case.checks.is_empty() {
        return errors;
    }
    let file = &case.file;
    let last = case.instants.last().unwrap_or(&case.now).clone();
    let w = World::start(&format!("forgery/{file}"), &last).await;
    for c in &case.checks {
        let task = format!("T{}", c.task);
        let (_, out, err) = w.cli(&["check", &task, "--json"]).await;
        let v: serde_json::Value = match serde_json::from_str(&out) {
            Ok(v) => v,
            Err(e) => {
                errors.push(format!(
                    "{file}: {task}: check --json printed no JSON ({e}): {err}"
                ));
                continue;
            }
        };
        if v["verdict"] == "ready" {
            errors.push(format!("{file}: {task} is ready in check --json"));
        }
        let found = v["checks"]
            .as_array()
            .and_then(|cs| cs.iter().find(|x| x["id"] == c.id.as_str()));
        let Some(found) = found else {
            errors.push(format!("{file}: {task} has no check {}: {v}", c.id));
            continue;
        };
        let message = found["message"].as_str().unwrap_or("");
        if found["status"] != c.status.as_str()
            || found["who"] != c.who.as_str()
            || !message.contains(&c.says)
        {
            errors.push(format!(
                "{file}: {task} {} is {} who {} ({message:?}), expected {} who {} containing {:?}",
                c.id, found["status"], found["who"], c.status, c.who, c.says
            ));
        }
    }
    errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_json_of_the_real_binary_shows_doubt_as_pending_for_clinic_duty() {
    let corpus: Vec<Case> = load_corpus()
        .into_iter()
        .filter(|c| !c.checks.is_empty())
        .collect();
    assert!(
        corpus
            .iter()
            .flat_map(|c| &c.checks)
            .filter(|c| c.status == "pending" && c.who == "clinic-duty")
            .count()
            >= 5,
        "at least five doubtful comments are checked through the binary"
    );
    let mut errors = Vec::new();
    for case in corpus {
        errors.extend(run_checks(case).await);
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
