//! Key policy against real `ssh-keygen` output: fingerprints and sizes equal `ssh-keygen -lf`,
//! every private key form is recognised and never echoed, refusals are precise, and the key
//! index reads the `data.yaml` and known-keys fixtures.

use accessbot::ids::{Fingerprint, ShellUser};
use accessbot::keys::{self, KeyIndex, KeyOwner, PRIVATE_KEY_MESSAGE};
use accessbot::rules::{KeyRules, Rules};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn fingerprints_and_bits_equal_ssh_keygen() {
    let mut checked = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "fp") {
            continue;
        }
        let fp_line = std::fs::read_to_string(&path).unwrap();
        // "256 SHA256:… comment (ED25519)"
        let mut parts = fp_line.split_whitespace();
        let bits: u32 = parts.next().unwrap().parse().unwrap();
        let fp = parts.next().unwrap();
        let pubkey = std::fs::read_to_string(path.with_extension("pub")).unwrap();
        // Judge with every algorithm allowed so that each key is fully read.
        let rules = KeyRules {
            allowed: vec![
                "ssh-ed25519".into(),
                "ssh-rsa".into(),
                "ecdsa-sha2-nistp256".into(),
                "ecdsa-sha2-nistp384".into(),
                "ecdsa-sha2-nistp521".into(),
            ],
            min_rsa_bits: 1024,
            ..KeyRules::default()
        };
        let r = keys::judge(&pubkey, &rules);
        assert_eq!(
            r.fingerprint.as_ref().map(|f| f.as_str()),
            Some(fp),
            "{path:?}"
        );
        assert_eq!(r.bits, Some(bits), "{path:?}");
        assert_eq!(keys::fingerprint(&pubkey), Some(Fingerprint::from(fp)));
        checked += 1;
    }
    assert_eq!(checked, 8);
}

#[test]
fn policy_refusals_name_the_reason() {
    let rules = KeyRules::default();
    let ok = keys::judge(&read("ed25519.pub"), &rules);
    assert!(ok.ok && ok.problems.is_empty(), "{ok:?}");
    assert_eq!(ok.algorithm.as_deref(), Some("ssh-ed25519"));
    assert!(keys::judge(&read("rsa4096.pub"), &rules).ok);

    let r = keys::judge(&read("rsa2048.pub"), &rules);
    assert!(!r.ok);
    assert_eq!(
        r.problems,
        ["the RSA key has 2048 bits; at least 4096 are required (or use `ssh-keygen -t ed25519`)"]
    );
    assert!(keys::judge(&read("rsa3072.pub"), &rules).problems[0].contains("3072 bits"));

    let dsa = KeyRules {
        allowed: vec!["ssh-dss".into(), "ssh-ed25519".into()],
        ..KeyRules::default()
    };
    let r = keys::judge(&read("dsa.pub"), &dsa);
    assert!(!r.ok, "DSA is refused even when listed");
    assert!(r.problems[0].starts_with("DSA (ssh-dss) keys are refused"));
    assert_eq!(r.bits, Some(1024));

    let r = keys::judge(&read("ecdsa256.pub"), &rules);
    assert!(!r.ok);
    assert_eq!(
        r.problems,
        ["ecdsa-sha2-nistp256 keys are not accepted (allowed: `ssh-ed25519`, `ssh-rsa`): generate an ed25519 key (`ssh-keygen -t ed25519`)"]
    );
    let ecdsa_ok = KeyRules {
        allowed: vec!["ecdsa-sha2-nistp256".into()],
        ..KeyRules::default()
    };
    assert!(keys::judge(&read("ecdsa256.pub"), &ecdsa_ok).ok);

    let r = keys::judge(&read("ed25519-cert.pub"), &rules);
    assert!(!r.ok);
    assert!(
        r.problems[0].starts_with("a certificate was posted"),
        "{r:?}"
    );
}

#[test]
fn broken_keys_are_refused_precisely() {
    let rules = KeyRules::default();
    let ed = read("ed25519.pub");
    let rsa = read("rsa4096.pub");

    // Two keys in one field.
    let r = keys::judge(&format!("{ed}\n{rsa}"), &rules);
    assert!(!r.ok);
    assert_eq!(
        r.problems[0],
        "2 keys were posted in one field: post exactly one public key"
    );

    // A corrupted character in the middle of RSA data (still valid base64).
    let mut bad = rsa.clone().into_bytes();
    let at = rsa.find(' ').unwrap() + 20;
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    let r = keys::judge(std::str::from_utf8(&bad).unwrap(), &rules);
    assert!(!r.ok);
    assert!(
        r.problems[0].contains("truncated or corrupted")
            || r.problems[0].contains("does not match"),
        "{r:?}"
    );

    // Truncated data, not valid base64 any more.
    let data = ed.split_whitespace().nth(1).unwrap();
    let r = keys::judge(&format!("ssh-ed25519 {}", &data[..data.len() - 3]), &rules);
    assert!(!r.ok && r.fingerprint.is_none(), "{r:?}");

    // No type, no key, type without data.
    let r = keys::judge(data, &rules);
    assert!(r.problems[0].starts_with("the key type (e.g. `ssh-ed25519`) is missing"));
    let r = keys::judge("my key is on my laptop", &rules);
    assert!(r.problems[0].starts_with("no SSH public key was found"));
    let r = keys::judge("ssh-ed25519", &rules);
    assert!(r.problems[0].contains("no key data"), "{r:?}");

    // Wrapped over lines and indented: still the same key.
    let wrapped: String = data
        .as_bytes()
        .chunks(20)
        .map(|c| format!("  {}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let r = keys::judge(&format!("ssh-ed25519\n{wrapped} me@host"), &rules);
    assert!(r.ok, "{r:?}");
    assert_eq!(r.fingerprint, keys::judge(&ed, &rules).fingerprint);
}

#[test]
fn private_keys_are_recognised_and_never_echoed() {
    let files = [
        "ed25519_openssh_private.key",
        "ed25519_encrypted_private.key",
        "rsa2048_openssh_private.key",
        "rsa_pem_private.key",
        "rsa_pkcs8_private.key",
        "rsa_pkcs8_encrypted_private.key",
        "ecdsa_pem_private.key",
        "dsa_pem_private.key",
        "putty_private.ppk",
    ];
    for name in files {
        let text = read(name);
        assert!(keys::is_private_key(&text), "{name}");
        let r = keys::judge(&text, &KeyRules::default());
        assert!(r.private_key && !r.ok, "{name}");
        assert_eq!(r.problems, [PRIVATE_KEY_MESSAGE]);
        assert_eq!(
            (r.algorithm.clone(), r.bits, r.fingerprint.clone()),
            (None, None, None)
        );
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"private_key\":true"));
        for line in text
            .lines()
            .filter(|l| l.len() > 16 && !l.contains(':') && !l.contains("-----"))
        {
            assert!(!json.contains(line), "{name} leaked");
        }
        // The body alone, without its armour, is still recognised for OpenSSH keys.
        if name.contains("openssh") {
            let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
            assert!(keys::is_private_key(&body), "{name} body");
        }
    }
    for name in [
        "ed25519.pub",
        "rsa4096.pub",
        "dsa.pub",
        "ecdsa521.pub",
        "ed25519-cert.pub",
    ] {
        assert!(!keys::is_private_key(&read(name)), "{name}");
    }
    let ok = keys::judge(&read("ed25519.pub"), &KeyRules::default());
    assert!(!serde_json::to_string(&ok).unwrap().contains("private_key"));
}

#[test]
fn key_index_reads_data_yaml_and_known_keys() {
    let data = std::fs::read_to_string(dir().join("../data.yaml")).unwrap();
    let known = read("known_keys.txt");
    let index = KeyIndex::from_texts(Some(&data), Some(&known)).expect("fixtures load");

    let fp = |name: &str| keys::fingerprint(&read(name)).unwrap();
    assert_eq!(
        index.owners(&fp("ed25519.pub")),
        [KeyOwner::Admin("oldkey".into())]
    );
    assert_eq!(index.owners(&fp("rsa4096.pub")), [KeyOwner::KnownKeys]);
    assert!(index.owners(&fp("ecdsa256.pub")).is_empty());
    // A key listed both in data.yaml and among the known keys.
    let sven = data
        .lines()
        .find(|l| l.contains("sven@services"))
        .unwrap()
        .trim()
        .trim_start_matches("- ");
    assert_eq!(
        index.owners(&keys::fingerprint(sven).unwrap()),
        [KeyOwner::Admin("svc-lead".into()), KeyOwner::KnownKeys]
    );
    // Keys of removed users still count as taken.
    let fiona = data
        .lines()
        .find(|l| l.contains("fiona@old"))
        .unwrap()
        .trim()
        .trim_start_matches("- ");
    assert_eq!(
        index.owners(&keys::fingerprint(fiona).unwrap()),
        [KeyOwner::Admin("formeruser".into())]
    );

    let user = |s: &str| s.parse::<ShellUser>().unwrap();
    assert!(index.has_shell_user(&user("aotto")));
    assert!(index.has_shell_user(&user("nokeys")));
    assert!(!index.has_shell_user(&user("formeruser")), "ensure: absent");
    assert!(!index.has_shell_user(&user("jdoe")));

    // Whose account a shell user is: the entry's email or realname must be the request's.
    let anna = index
        .shell_user(&user("aotto"))
        .expect("aotto is in data.yaml");
    assert!(anna.is(Some("Anna Otto"), None));
    assert!(anna.is(Some("  anna   OTTO "), Some("other@example.org")));
    assert!(anna.is(Some("Someone Else"), Some("AOtto@Wikimedia.org")));
    assert!(!anna.is(Some("Andrew Otto"), Some("aotto@example.org")));
    assert!(!anna.is(None, None));
    assert!(index.shell_user(&user("formeruser")).is_none());
    // An entry without realname and email is nobody's, as far as the bot can tell.
    let bare = keys::ShellHolder::default();
    assert!(!bare.is(Some("Anna Otto"), Some("aotto@wikimedia.org")));
    assert!(!keys::ShellHolder {
        realname: Some(" ".into()),
        email: None
    }
    .is(Some(" "), None));
}

#[test]
fn key_index_errors_name_file_and_line() {
    let e = KeyIndex::from_texts(Some("users:\n  a:\n    ssh_keys: [\n"), None).unwrap_err();
    assert!(e.to_string().starts_with("<data.yaml>:"), "{e}");
    assert!(e.line.is_some(), "{e}");

    let e = KeyIndex::from_texts(None, Some("# cloud keys\n\nnot a key\n")).unwrap_err();
    assert_eq!(e.line, Some(3));
    assert_eq!(
        e.to_string(),
        "<known keys>:3: not an SSH public key (expected `type base64 [comment]`)"
    );

    // Through the rules: paths resolve against the rules directory, errors name the file.
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for f in ["groups.toml", "phrases.toml"] {
        std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
    }
    let policy = std::fs::read_to_string(src.join("policy.toml"))
        .unwrap()
        .replace("data_yaml = \"\"", "data_yaml = \"data.yaml\"")
        .replace(
            "known_keys_file = \"\"",
            "known_keys_file = \"missing.txt\"",
        );
    std::fs::write(tmp.path().join("policy.toml"), policy).unwrap();
    std::fs::copy(dir().join("../data.yaml"), tmp.path().join("data.yaml")).unwrap();
    let rules = Rules::load(tmp.path()).unwrap();
    let e = KeyIndex::load(&rules).unwrap_err();
    assert_eq!(e.file, tmp.path().join("missing.txt"));
    assert!(e.to_string().contains("cannot read"), "{e}");

    std::fs::copy(dir().join("known_keys.txt"), tmp.path().join("missing.txt")).unwrap();
    let index = KeyIndex::load(&rules).unwrap();
    assert!(index.has_shell_user(&"pnair".parse().unwrap()));
}
