//! Config errors: every malformed rules directory under `tests/fixtures/bad-rules/<case>/`
//! is refused with one error naming the file, the line and the key, both by the loader and by
//! the binary (`rules check DIR` and `run`, which must refuse to start); a load for the views
//! (`agenda`, `expiring`) refuses each alike, but for the reading phrases it does not compile.
//!
//! Each case directory holds the rules files (a missing `phrases.toml` means the bundled
//! phrases) and `expect`: `FILE KEY [TEXT]` (the file the error must name, the dotted key, no
//! key for a missing file, and optionally words the message must hold).

mod common;

use accessbot::rules::Rules;
use common::run_bin;
use std::path::{Path, PathBuf};

/// One corpus case: its directory, the file the error must name, the key (if any).
struct Case {
    name: String,
    dir: PathBuf,
    file: String,
    key: Option<String>,
    /// Words the message must hold, when `expect` gives them.
    says: Option<String>,
}

fn corpus() -> Vec<Case> {
    let root = common::root().join("tests/fixtures/bad-rules");
    let mut cases: Vec<Case> = std::fs::read_dir(&root)
        .expect("the bad-rules corpus exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_dir())
        .map(|dir| {
            let expect = std::fs::read_to_string(dir.join("expect")).expect("each case has expect");
            let mut words = expect.split_whitespace();
            let file = words.next().expect("expect names a file").to_string();
            let key = words.next().map(str::to_string);
            let says = words.collect::<Vec<_>>().join(" ");
            Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                dir,
                file,
                key,
                says: (!says.is_empty()).then_some(says),
            }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// The expected first line of the message for a case: `FILE:LINE: key `KEY`: ` (no line or
/// key for a file that cannot be read).
fn check_error_line(case: &Case, line: &str) -> Result<(), String> {
    let path = case.dir.join(&case.file);
    let prefix = format!("{}:", path.display());
    let rest = line
        .strip_prefix(&prefix)
        .ok_or_else(|| format!("does not start with {prefix}: {line}"))?;
    let Some(key) = &case.key else {
        return if rest.contains("cannot read") {
            Ok(())
        } else {
            Err(format!(
                "a missing file should say it cannot be read: {line}"
            ))
        };
    };
    let (n, rest) = rest
        .split_once(':')
        .ok_or_else(|| format!("no line number: {line}"))?;
    let n: usize = n.parse().map_err(|_| format!("no line number: {line}"))?;
    let want = format!(" key `{key}`: ");
    if !rest.starts_with(&want) {
        return Err(format!("expected{want}after the line: {line}"));
    }
    let message = &rest[want.len()..];
    if message.trim().is_empty() {
        return Err(format!("no message: {line}"));
    }
    if let Some(says) = case.says.as_deref().filter(|s| !message.contains(s)) {
        return Err(format!("the message does not say {says:?}: {line}"));
    }
    // The line must be where the key (or its table) is written.
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text
        .lines()
        .nth(n - 1)
        .ok_or_else(|| format!("line {n} is past the end of the file: {line}"))?;
    // A missing key is located at its table's header.
    let last = key.rsplit('.').next().unwrap_or(key);
    let table = key.rsplit_once('.').map_or(key.as_str(), |(t, _)| t);
    let header = format!("[{table}]");
    if !at.contains(last) && !at.contains(key.as_str()) && at.trim() != header {
        return Err(format!(
            "line {n} ({at:?}) does not show the key {key}: {line}"
        ));
    }
    Ok(())
}

#[test]
fn the_corpus_is_big_enough_and_the_bundled_rules_load() {
    assert!(corpus().len() >= 20, "{} cases", corpus().len());
    Rules::load(&common::root().join("rules")).expect("the bundled rules are valid");
}

#[test]
fn every_malformed_rules_directory_names_file_line_and_key() {
    let mut failures = Vec::new();
    for case in corpus() {
        match Rules::load(&case.dir) {
            Ok(_) => failures.push(format!("{}: accepted", case.name)),
            Err(e) => {
                if let Err(why) = check_error_line(&case, &e.to_string()) {
                    failures.push(format!("{}: {why}", case.name));
                }
                if case.key.is_some() && (e.line.is_none() || e.key.is_empty()) {
                    failures.push(format!("{}: no line or key in {e:?}", case.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The tables of phrases.toml a views load (`agenda`, `expiring`) leaves uncompiled.
const READING_TABLES: [&str; 6] = [
    "phrases",
    "forms",
    "vocabulary",
    "negated",
    "examples",
    "reading",
];

#[test]
fn a_views_load_refuses_every_case_alike_but_the_reading_phrases() {
    use accessbot::statement::{Reader, Reading, Statement};
    let (mut refused, mut taken) = (0, 0);
    let mut failures = Vec::new();
    for case in corpus() {
        let strict = Rules::load(&case.dir).expect_err("the corpus is refused");
        let in_reading = strict.file.ends_with("phrases.toml")
            && READING_TABLES.contains(&strict.key.split('.').next().unwrap_or(""));
        match (Rules::load_for_views(&case.dir), in_reading) {
            (Err(e), false) if e == strict => refused += 1,
            (Ok(r), true) => {
                taken += 1;
                // Read anyway: no comment counts, not even the bundled examples.
                let reader = Reader::new(&r);
                for text in r.phrases().reading.examples.values() {
                    let readings = reader.read(text);
                    if Statement::ALL
                        .iter()
                        .any(|s| matches!(readings.get(*s), Reading::Yes { .. }))
                    {
                        failures.push(format!("{}: {text:?} counts", case.name));
                    }
                }
            }
            (got, _) => failures.push(format!(
                "{}: strict load: {strict}; views load: {:?}",
                case.name,
                got.map(|_| "accepted")
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        refused >= 20 && taken >= 5,
        "{refused} refused, {taken} taken"
    );
}

fn bin(args: &[&str], dir: &Path) -> (i32, String, String) {
    run_bin(args, &[], dir)
}

#[test]
fn rules_check_and_run_refuse_every_case_with_one_error_line() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in corpus() {
        let dir = case.dir.to_str().unwrap();
        let (code, out, err) = bin(&["rules", "check", dir], tmp.path());
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
        if code != 1 || errors.len() != 1 || err.contains("panicked") {
            failures.push(format!(
                "{}: rules check exit {code}, stdout {out:?}, stderr {err:?}",
                case.name
            ));
            continue;
        }
        let line = errors[0].trim_start_matches("error: ");
        if let Err(why) = check_error_line(&case, line) {
            failures.push(format!("{}: rules check: {why}", case.name));
        }
        // `run` refuses to start with the same message, before touching the database or
        // the network.
        let db = tmp.path().join(format!("{}.db", case.name));
        let (code, _, err2) = run_bin(
            &[
                "--phab-url",
                "http://127.0.0.1:9",
                "--rules",
                dir,
                "--db",
                db.to_str().unwrap(),
                "run",
                "--once",
            ],
            &[("ACCESSBOT_TOKEN", "api-aaaaaaaaaaaaaaaaaaaaaaaaaaaa")],
            tmp.path(),
        );
        let run_errors: Vec<&str> = err2.lines().filter(|l| l.starts_with("error: ")).collect();
        if code != 1 || run_errors != errors {
            failures.push(format!(
                "{}: run exit {code}, stderr {err2:?} (rules check said {:?})",
                case.name, errors[0]
            ));
        }
        if db.exists() {
            failures.push(format!("{}: run created the database", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
