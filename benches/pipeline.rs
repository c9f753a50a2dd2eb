//! Criterion benchmarks of the pure pipeline (issue 8): parse a request description, judge
//! its key, evaluate the policy and render the checklist comment, over the request corpus
//! under `tests/fixtures/requests/` with realistic facts (built like `tests/policy.rs` does:
//! a staff requester, two approval comments, a signed L3). The target is at least 50,000
//! parse + evaluate per second on one core; `BENCHMARKS.md` records the figures.
//!
//! `cargo bench --bench pipeline`

use accessbot::ids::{Phid, TaskId, Username};
use accessbot::keys::{self, KeyReport};
use accessbot::policy::{
    evaluate, Channel, CommentFact, Facts, KeyFacts, KeySource, Subject, SubjectBasis, SudoFacts,
    Trust, L3,
};
use accessbot::report;
use accessbot::request::{KeyRef, Parsed, Parser};
use accessbot::rules::Rules;
use chrono::{DateTime, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// The corpus: (title, description) of every fixture.
fn corpus() -> Vec<(String, String)> {
    let dir = root().join("tests/fixtures/requests");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("the request corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            let (head, body) = text.split_once("\n---\n")?;
            Some((
                head.strip_prefix("Title: ").unwrap_or(head).to_string(),
                body.to_string(),
            ))
        })
        .collect()
}

fn comment(anchor: u64, author: &str, when: &str, text: &str) -> CommentFact {
    CommentFact {
        xact: Phid::from(format!("PHID-XACT-TASK-c{anchor}")),
        anchor,
        author: Username::new(author),
        author_is_bot: false,
        author_disabled: false,
        author_is_staff: true,
        at: at(when),
        text: text.to_string(),
        channel: Channel::Web,
        removed: false,
    }
}

/// The two approval comments of a request: timeline facts, gathered before any parse (and
/// built once here: parsing their fixture dates is no part of parse + evaluate).
fn comments(parsed: &Parsed) -> Vec<CommentFact> {
    let manager = parsed
        .request
        .manager
        .clone()
        .unwrap_or_else(|| Username::new("mboss"));
    vec![
        comment(11, manager.as_str(), "2026-11-03T10:00:00Z", "Approved."),
        comment(12, "aotto", "2026-11-03T11:00:00Z", "+1 from the data side"),
    ]
}

/// The facts of a request around its parse and key report, as the evidence glue fills them.
fn facts(title: &str, description: &str, parsed: Parsed, report: Option<KeyReport>) -> Facts {
    let comments = comments(&parsed);
    facts_with(title, description, parsed, report, comments)
}

fn facts_with(
    title: &str,
    description: &str,
    parsed: Parsed,
    report: Option<KeyReport>,
    comments: Vec<CommentFact>,
) -> Facts {
    let requester = parsed
        .request
        .shell_user
        .as_ref()
        .map(|s| Username::new(s.as_str()))
        .unwrap_or_else(|| Username::new("jdoe"));
    Facts {
        task: TaskId::new(101),
        open: true,
        tagged: true,
        title: title.to_string(),
        author_phid: Phid::from(format!("PHID-USER-{requester}")),
        subject: Subject::Known {
            username: requester.clone(),
            phid: Phid::from(format!("PHID-USER-{requester}")),
            basis: SubjectBasis::Author,
        },
        author: requester,
        bot_user: Username::new("accessbot"),
        description: description.to_string(),
        key: KeyFacts {
            source: if report.is_some() {
                KeySource::Description
            } else {
                KeySource::None
            },
            report,
            trust: Trust::Trusted,
            reuse: vec![],
        },
        parsed,
        existing_user: false,
        shell_user_taken: false,
        comments,
        key_changed_at: None,
        groups_changed_at: None,
        change_changed_at: None,
        expiry_extended_at: None,
        user_changed_at: None,
        described_at: None,
        tagged_at: Some(at("2026-11-02T09:00:00Z")),
        subject_staff: true,
        subject_nda: false,
        subject_research: false,
        eligibility: Default::default(),
        expiry_contact_staff: Some(true),
        manager_staff: Some(true),
        l3: L3::Signed {
            at: at("2026-11-01T09:00:00Z"),
        },
        sudo: SudoFacts::default(),
        sources: Default::default(),
    }
}

fn judged(parsed: &Parsed, rules: &Rules) -> Option<KeyReport> {
    match &parsed.request.key {
        Some(KeyRef::Inline { text }) => Some(keys::judge(text, &rules.keys)),
        _ => None,
    }
}

fn pipeline(c: &mut Criterion) {
    let rules = Rules::load(&root().join("rules")).expect("bundled rules");
    let parser = Parser::new(&rules.labels);
    let corpus = corpus();
    let now = at("2026-11-10T12:00:00Z");
    let n = corpus.len() as u64;
    // Key reports are judged once here for the parse + evaluate figure (key checks have
    // their own): a key is judged when it changes, not on every evaluation.
    let reports: Vec<Option<KeyReport>> = corpus
        .iter()
        .map(|(t, d)| judged(&parser.parse(t, d), &rules))
        .collect();
    let all_facts: Vec<Facts> = corpus
        .iter()
        .zip(&reports)
        .map(|((t, d), r)| facts(t, d, parser.parse(t, d), r.clone()))
        .collect();
    let checklists: Vec<_> = all_facts.iter().map(|f| evaluate(f, &rules, now)).collect();
    let timelines: Vec<Vec<CommentFact>> = all_facts.iter().map(|f| f.comments.clone()).collect();

    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(n));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for (t, d) in &corpus {
                black_box(parser.parse(black_box(t), black_box(d)));
            }
        })
    });
    g.bench_function("key_judge", |b| {
        b.iter(|| {
            for (t, d) in &corpus {
                if let Some(KeyRef::Inline { text }) = &parser.parse(t, d).request.key {
                    black_box(keys::judge(black_box(text), &rules.keys));
                }
            }
        })
    });
    g.bench_function("evaluate", |b| {
        b.iter(|| {
            for f in &all_facts {
                black_box(evaluate(black_box(f), &rules, now));
            }
        })
    });
    g.bench_function("render_comment", |b| {
        b.iter(|| {
            for cl in &checklists {
                black_box(report::comment(black_box(cl), rules.timing.timezone, now));
            }
        })
    });
    g.bench_function("parse_evaluate", |b| {
        b.iter(|| {
            for (((t, d), r), c) in corpus.iter().zip(&reports).zip(&timelines) {
                let parsed = parser.parse(black_box(t), black_box(d));
                let f = facts_with(t, d, parsed, r.clone(), c.clone());
                black_box(evaluate(&f, &rules, now));
            }
        })
    });
    g.bench_function("parse_judge_evaluate_render", |b| {
        b.iter(|| {
            for ((t, d), c) in corpus.iter().zip(&timelines) {
                let parsed = parser.parse(black_box(t), black_box(d));
                let r = judged(&parsed, &rules);
                let f = facts_with(t, d, parsed, r, c.clone());
                let cl = evaluate(&f, &rules, now);
                black_box(report::comment(&cl, rules.timing.timezone, now));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
