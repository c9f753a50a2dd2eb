//! Throughput of the request parser and the key check on the request corpus
//! (`cargo bench --bench parse`).

use accessbot::keys;
use accessbot::request::{KeyRef, Parser};
use accessbot::rules::Rules;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::Path;

fn corpus() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/requests");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            let (head, body) = text.split_once("\n---\n")?;
            Some((
                head.trim_start_matches("Title: ").to_string(),
                body.to_string(),
            ))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rules = Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).expect("rules");
    let parser = Parser::new(&rules.labels);
    let corpus = corpus();
    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Elements(corpus.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            for (title, body) in &corpus {
                black_box(parser.parse(title, body));
            }
        })
    });
    group.bench_function("parse+judge", |b| {
        b.iter(|| {
            for (title, body) in &corpus {
                let parsed = parser.parse(title, body);
                if let Some(KeyRef::Inline { text }) = &parsed.request.key {
                    black_box(keys::judge(text, &rules.keys));
                }
                black_box(parsed);
            }
        })
    });
    group.bench_function("parse via cached wrapper", |b| {
        b.iter(|| {
            for (title, body) in &corpus {
                black_box(accessbot::request::parse(title, body, &rules.labels));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
