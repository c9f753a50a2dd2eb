//! Fuzz target: the request parser, the key check, the comment key finder and the statement
//! reader must neither panic nor hang on any input (arbitrary bytes, read lossily as UTF-8,
//! split into a title and a description).
#![no_main]

use accessbot::keys;
use accessbot::request::{self, KeyRef};
use accessbot::rules::{KeyRules, Rules};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        Rules::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../rules")))
            .expect("bundled rules")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (title, description) = text.split_once('\n').unwrap_or(("", &text));
    let rules = rules();
    let parsed = request::parse(title, description, &rules.labels);
    for p in &parsed.problems {
        assert!(description.get(p.span.clone()).is_some(), "span outside the description");
    }
    if let Some(KeyRef::Inline { text }) = &parsed.request.key {
        let _ = keys::judge(text, &rules.keys);
    }
    let _ = keys::judge(description, &KeyRules::default());
    let _ = keys::is_private_key(description);
    // The same text as a comment: the key finder and the statement reader.
    let _ = request::scan(description);
    let _ = accessbot::statement::read(description, rules);
});
