//! Throughput of the request parser and the key check on the request corpus, and of the
//! parser, the comment key finder and the statement reader on hostile inputs of 1 MB and
//! 10 MB (a line of key-like pairs, 100,000 group names, one long comment): the time per
//! byte must stay flat (`cargo bench --bench parse`).

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

/// A line of `bytes` bytes of "ssh-ed25519 <data> comment" pairs.
fn key_pairs(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 200);
    let mut i = 0u64;
    while s.len() < bytes {
        s.push_str(&format!(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEpe3mt0Hp2QAUHJ4ts58wNxBqU1wF{i:010} k{i}@x "
        ));
        i += 1;
    }
    s
}

fn large(c: &mut Criterion) {
    let rules = Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).expect("rules");
    let parser = Parser::new(&rules.labels);
    let mut group = c.benchmark_group("large");
    group.sample_size(10);
    for mb in [1usize, 10] {
        let bytes = mb << 20;
        let line = key_pairs(bytes);
        let description = format!("Full name: A B\nSSH public key: {line}\n");
        group.throughput(Throughput::Bytes(description.len() as u64));
        group.bench_function(format!("parse a line of key pairs, {mb} MB"), |b| {
            b.iter(|| black_box(parser.parse("", &description)))
        });
        group.bench_function(format!("scan a comment of key pairs, {mb} MB"), |b| {
            b.iter(|| black_box(accessbot::request::scan(&line)))
        });
        let comment = "Approved, but not for deployment? ".repeat(bytes / 34);
        group.throughput(Throughput::Bytes(comment.len() as u64));
        group.bench_function(format!("read a comment, {mb} MB"), |b| {
            b.iter(|| black_box(accessbot::statement::read(&comment, &rules)))
        });
    }
    for n in [10_000usize, 100_000] {
        let names: Vec<String> = (0..n).map(|i| format!("group-{i}")).collect();
        let description = format!("Requested group membership: {}\n", names.join(", "));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("parse {n} group names"), |b| {
            b.iter(|| black_box(parser.parse("", &description)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, large);
criterion_main!(benches);
