//! The request corpus: realistic ticket descriptions under `tests/fixtures/requests/`, each
//! parsed (and its key judged) and compared with a reviewed snapshot; plus property tests
//! that the parser never panics and finishes on large inputs.

use accessbot::keys::{self, KeyReport};
use accessbot::request::{self, KeyRef, Parsed};
use accessbot::rules::Rules;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")))
            .expect("bundled rules")
    })
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fixture is `Title: …`, a `---` line, then the description.
fn split_fixture(text: &str) -> (&str, &str) {
    let (head, body) = text.split_once("\n---\n").expect("fixture has a --- line");
    (head.strip_prefix("Title: ").expect("Title: line"), body)
}

fn judged(parsed: &Parsed, rules: &Rules) -> Option<KeyReport> {
    match &parsed.request.key {
        Some(KeyRef::Inline { text }) => Some(keys::judge(text, &rules.keys)),
        _ => None,
    }
}

fn view(description: &str, parsed: &Parsed, report: Option<&KeyReport>) -> Value {
    let problems: Vec<Value> = parsed
        .problems
        .iter()
        .map(|p| {
            let spanned = if p.field == "ssh_key" {
                String::new()
            } else {
                description.get(p.span.clone()).unwrap_or("<bad span>").to_string()
            };
            json!({"field": p.field, "message": p.message, "span": [p.span.start, p.span.end], "at": spanned})
        })
        .collect();
    json!({
        "request": parsed.request,
        "problems": problems,
        "key_report": report,
    })
}

#[test]
fn corpus_matches_snapshots() {
    let rules = rules();
    let dir = fixtures().join("requests");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "the corpus has {} requests", names.len());
    for path in names {
        let text = std::fs::read_to_string(&path).expect("fixture");
        let (title, description) = split_fixture(&text);
        let parsed = request::parse(title, description, &rules.labels);
        let report = judged(&parsed, rules);
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_string();
        for p in &parsed.problems {
            assert!(
                description.get(p.span.clone()).is_some(),
                "{name}: bad span {:?}",
                p.span
            );
        }
        insta::with_settings!({snapshot_path => "snapshots/requests", prepend_module_to_snapshot => false}, {
            insta::assert_json_snapshot!(name, view(description, &parsed, report.as_ref()));
        });
    }
}

/// No part of a posted private key reaches the parse result, the key report or the JSON.
#[test]
fn private_keys_leave_no_material() {
    let rules = rules();
    for name in [
        "19-private-key-openssh",
        "20-private-key-pem",
        "37-putty-private",
        "47-private-key-in-other-fields",
        "48-private-key-in-quote",
        "49-unarmoured-pem-in-name",
        "50-openssh-body-in-code",
    ] {
        let text =
            std::fs::read_to_string(fixtures().join(format!("requests/{name}.txt"))).unwrap();
        let (title, description) = split_fixture(&text);
        let parsed = request::parse(title, description, &rules.labels);
        let report = judged(&parsed, rules).expect("inline key");
        assert!(report.private_key, "{name}");
        assert_eq!(report.problems, vec![keys::PRIVATE_KEY_MESSAGE]);
        let all = format!(
            "{} {} {:?}",
            view(description, &parsed, Some(&report)),
            request::to_json(&parsed, Some(&report), Some("description"), false),
            parsed
        );
        // Every word of key material (a line of it, quoted or behind a label), in pieces, in
        // any case.
        let all = all.to_lowercase();
        let material = description.split_whitespace().filter(|w| {
            w.len() >= 40
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        });
        let mut checked = 0;
        for line in material {
            for chunk in [&line[..16], &line[16..32]] {
                let chunk = chunk.to_lowercase();
                assert!(!all.contains(&chunk), "{name}: material leaked: {chunk}");
            }
            checked += 1;
        }
        assert!(checked >= 2, "{name}: only {checked} key lines checked");
    }
}

#[test]
fn to_json_has_the_design_fields() {
    let rules = rules();
    let text = std::fs::read_to_string(fixtures().join("requests/01-standard-form.txt")).unwrap();
    let (title, description) = split_fixture(&text);
    let parsed = request::parse(title, description, &rules.labels);
    let report = judged(&parsed, rules).unwrap();
    let v = request::to_json(&parsed, Some(&report), Some("description"), false);
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "email",
            "expiry_contact",
            "expiry_date",
            "full_name",
            "groups",
            "key",
            "shell_user",
            "sudo",
            "wikitech_user"
        ]
    );
    assert_eq!(v["key"]["algorithm"], "ssh-ed25519");
    assert_eq!(v["key"]["bits"], 256);
    assert_eq!(v["key"]["source"], "description");
    assert_eq!(v["expiry_date"], "2027-06-30");
    assert_eq!(v["expiry_contact"], "mboss");
    assert_eq!(v["shell_user"], "jdoe");
    let none = request::to_json(&Parsed::default(), None, None, true);
    assert_eq!(none["key"], Value::Null);
    assert_eq!(none["sudo"], true);
}

#[test]
fn parser_reused_across_label_sets() {
    let rules = rules();
    let mut labels = rules.labels.clone();
    labels.shell_user = vec!["Login".into()];
    let a = request::parse("", "Login: jdoe\n", &labels);
    let b = request::parse("", "Login: jdoe\n", &rules.labels);
    assert_eq!(
        a.request.shell_user.map(|u| u.to_string()).as_deref(),
        Some("jdoe")
    );
    assert_eq!(b.request.shell_user, None);
}

#[test]
fn a_megabyte_of_hostile_input_finishes() {
    let rules = rules();
    let parser = request::Parser::new(&rules.labels);
    let key_line = "ssh-ed25519 AAAA".to_string() + &"A".repeat(200) + "\n";
    for piece in [
        "ssh-ed25519 ".to_string(),
        key_line,
        "AAAAC3NzaC1lZDI1NTE5".repeat(3) + "\n",
        "Full name: ".to_string(),
        "((((((((:".to_string(),
        "```\n".to_string(),
        "> ssh-rsa AAAA\n".to_string(),
        "Requested group membership: a, b and c\n- x\n".to_string(),
        "\u{1F600}é\r\n".to_string(),
    ] {
        let big = piece.repeat((1 << 20) / piece.len() + 1);
        let parsed = parser.parse(&big, &big);
        assert!(parsed
            .problems
            .iter()
            .all(|p| big.get(p.span.clone()).is_some()));
        let _ = keys::judge(&big, &rules.keys);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics(title in ".{0,80}", description in "(?s).{0,2000}") {
        let rules = rules();
        let parsed = request::parse(&title, &description, &rules.labels);
        for p in &parsed.problems {
            prop_assert!(description.get(p.span.clone()).is_some());
        }
        if let Some(KeyRef::Inline { text }) = &parsed.request.key {
            let _ = keys::judge(text, &rules.keys);
        }
    }

    #[test]
    fn form_like_input_never_panics(lines in prop::collection::vec(
        prop_oneof![
            Just("Full name: Jane".to_string()),
            Just("**Ssh public key**:".to_string()),
            Just("ssh-ed25519".to_string()),
            Just("AAAAC3NzaC1lZDI1NTE5AAAAIM/02V1IG9X4JzDcrvOgJmtNvIw/ryad5qnOlqKR8Q5L".to_string()),
            Just("```".to_string()),
            Just("lang=text".to_string()),
            Just("> quoted".to_string()),
            Just("| Groups | a, b |".to_string()),
            Just("- analytics-users".to_string()),
            Just("Expiry date: 2027-13-40".to_string()),
            Just(String::new()),
            "[ -~]{0,40}",
        ], 0..40)) {
        let rules = rules();
        let description = lines.join("\n");
        let parsed = request::parse("Requesting access to x for y", &description, &rules.labels);
        for p in &parsed.problems {
            prop_assert!(description.get(p.span.clone()).is_some());
        }
    }
}
