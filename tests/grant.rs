//! Round-trip tests of the `data.yaml` grant and revocation patches on realistic fixtures, the
//! key line written exactly as given, and `grant-patch` (with `--revoke`) through the real
//! binary against the simulator.

mod common;

use accessbot::grant::{
    ldap_lines, patch, revoke_patch, revoke_snippet, scalar, snippet, GrantError, RevokePatch,
};
use accessbot::ids::Username;
use accessbot::request::Request;
use chrono::NaiveDate;
use serde_norway::Value;

const DATA: &str = include_str!("fixtures/grant/data.yaml");
const SORTED: &str = include_str!("fixtures/grant/sorted-users.yaml");
const LISTS: &str = include_str!("fixtures/grant/lists.yaml");
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP93h0D4jdzxAq64Ha7iicBExKRXHEtvKHQA9LjguEP4 jdoe@laptop";
const LABEL: &str = "modules/admin/data/data.yaml";

fn request(user: &str, groups: &[&str]) -> Request {
    Request {
        full_name: Some("Jane Doe".into()),
        wikitech_user: Some("Jane Doe".into()),
        shell_user: Some(user.parse().expect("valid shell user")),
        email: Some(format!("{user}@example.org")),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        reason: Some("analysis".into()),
        ..Request::default()
    }
}

fn parsed(text: &str) -> Value {
    serde_norway::from_str(text).expect("the patched file parses")
}

/// The members of a group, aliases flattened.
fn members(tree: &Value, group: &str) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Sequence(s) => s.iter().for_each(|x| walk(x, out)),
            Value::String(s) => out.push(s.clone()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&tree["groups"][group]["members"], &mut out);
    out
}

/// The lines a diff adds and removes, without the headers.
fn changes(diff: &str) -> (Vec<&str>, Vec<&str>) {
    let body = diff
        .lines()
        .filter(|l| !l.starts_with("+++") && !l.starts_with("---"));
    let (mut plus, mut minus) = (Vec::new(), Vec::new());
    for l in body {
        if let Some(x) = l.strip_prefix('+') {
            plus.push(x);
        } else if let Some(x) = l.strip_prefix('-') {
            minus.push(x);
        }
    }
    (plus, minus)
}

fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?}"))
}

#[test]
fn new_user_is_appended_to_unsorted_users_and_inserted_in_sorted_block_list() {
    let p = patch(
        &request("jdoe", &["analytics-privatedata-users"]),
        KEY,
        DATA,
        LABEL,
    )
    .unwrap();
    assert!(p.new_user);
    assert_eq!(p.groups, ["analytics-privatedata-users"]);
    assert!(p.also_affected.is_empty());
    let tree = parsed(&p.text);
    let u = &tree["users"]["jdoe"];
    assert_eq!(u["ensure"].as_str(), Some("present"));
    assert_eq!(u["gid"].as_u64(), Some(500));
    assert_eq!(u["name"].as_str(), Some("jdoe"));
    assert_eq!(u["realname"].as_str(), Some("Jane Doe"));
    assert_eq!(u["email"].as_str(), Some("jdoe@example.org"));
    assert_eq!(u["ssh_keys"][0].as_str(), Some(KEY));
    assert!(u.get("uid").is_none(), "the uid is left to the operator");
    assert!(u.get("expiry_date").is_none());
    assert!(p.text.contains("    # uid: FILL IN"));
    assert_eq!(
        members(&tree, "analytics-privatedata-users"),
        ["aaron", "bkowalski", "ivanova", "jdoe", "nwu", "rbianchi"]
    );
    // Only additions: every old line survives, in order.
    let (_, minus) = changes(&p.diff);
    assert!(minus.is_empty(), "{}", p.diff);
    // The entry goes at the end of `users:`, before the blank line and `ldap_only_users:`.
    let tail = p.text.split("\n  hmoved:").nth(1).unwrap();
    assert!(tail.contains("\n  jdoe:\n    ensure: present\n"), "{tail}");
    assert!(tail.find("  jdoe:").unwrap() < tail.find("\n\nldap_only_users:").unwrap());
    // The new entry mirrors the file's block ssh_keys style (dash 2 deeper than the fields).
    assert!(p.text.contains(&format!("    ssh_keys:\n      - {KEY}\n")));
    insta::assert_snapshot!("new_user_block_list", p.diff);
}

#[test]
fn sorted_flow_list_gets_the_user_in_order() {
    let p = patch(&request("jdoe", &["restricted"]), KEY, DATA, LABEL).unwrap();
    assert_eq!(
        line_with(&p.text, "bkowalski, cjones"),
        "    members: [bkowalski, cjones, ivanova, jdoe, tmoreau]"
    );
    let (plus, minus) = changes(&p.diff);
    assert_eq!(
        minus,
        ["    members: [bkowalski, cjones, ivanova, tmoreau]"]
    );
    assert!(plus.contains(&"    members: [bkowalski, cjones, ivanova, jdoe, tmoreau]"));
}

#[test]
fn unsorted_flow_list_is_appended_in_its_own_spacing() {
    let p = patch(&request("jdoe", &["analytics-users"]), KEY, DATA, LABEL).unwrap();
    assert_eq!(
        line_with(&p.text, "[nwu,"),
        "    members: [nwu,ekaur,aaron,jdoe]"
    );
}

#[test]
fn empty_flow_list_gets_its_first_member() {
    let p = patch(
        &request("jdoe", &["statistics-privatedata-users"]),
        KEY,
        DATA,
        LABEL,
    )
    .unwrap();
    let tree = parsed(&p.text);
    assert_eq!(members(&tree, "statistics-privatedata-users"), ["jdoe"]);
    let section = p
        .text
        .split("statistics-privatedata-users:")
        .nth(1)
        .unwrap();
    assert!(section.contains("    members: [jdoe]\n"), "{section}");
}

#[test]
fn long_multiline_flow_list_wraps_at_its_continuation_indent() {
    let p = patch(&request("jdoe", &["analytics-admins"]), KEY, DATA, LABEL).unwrap();
    let section: Vec<&str> = p
        .text
        .split("  analytics-admins:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take(6)
        .collect();
    assert_eq!(section[2], "    members: [anovak, dbauer, hsato,");
    assert_eq!(
        section[3],
        "              jdoe, lchen, nwu, okafor, pdiaz, rbianchi, sgupta, tmoreau, wlee,"
    );
    assert_eq!(section[4], "              xzhou]");
    assert!(section.iter().all(|l| l.chars().count() <= 100));
    insta::assert_snapshot!("wrapped_flow_list", p.diff);

    // At the end of the list: appended after the last member.
    let p = patch(&request("zed", &["analytics-admins"]), KEY, DATA, LABEL).unwrap();
    assert!(p.text.contains("              xzhou, zed]\n"));
}

#[test]
fn flow_list_with_aliases_and_closing_bracket_on_its_own_line() {
    let p = patch(&request("jdoe", &["deployment"]), KEY, DATA, LABEL).unwrap();
    assert!(p
        .text
        .contains("              hsato, ivanova, jdoe, jwhite, mtanaka, nwu, okafor, pdiaz,\n"));
    let p = patch(&request("zz", &["deployment"]), KEY, DATA, LABEL).unwrap();
    assert!(p
        .text
        .contains("              rbianchi, sgupta, tmoreau, zz\n    ]\n"));
    let tree = parsed(&p.text);
    assert!(members(&tree, "deployment").contains(&"kolsen".to_string()));
}

#[test]
fn anchored_lists_report_the_groups_that_alias_them() {
    let p = patch(&request("jdoe", &["ops"]), KEY, DATA, LABEL).unwrap();
    assert_eq!(
        line_with(&p.text, "&ops_members"),
        "    members: &ops_members [kolsen, pmarsh, anovak,"
    );
    assert!(p
        .text
        .contains("              sreyes, lchen, dbauer, jdoe]\n"));
    assert_eq!(p.also_affected, ["deployment"]);
    assert!(p.notes.iter().any(|n| n.contains("deployment")));
    let tree = parsed(&p.text);
    assert!(members(&tree, "deployment").contains(&"jdoe".to_string()));

    let p = patch(&request("jdoe", &["release-engineering"]), KEY, DATA, LABEL).unwrap();
    assert_eq!(p.also_affected, ["gerrit-root", "deployment"]);
}

#[test]
fn unsorted_block_list_is_appended_after_its_last_item() {
    let p = patch(&request("jdoe", &["deploy-service"]), KEY, DATA, LABEL).unwrap();
    assert!(p
        .text
        .contains("      - fmuller  # T1234\n      - jdoe\n    privileges:\n"));
}

#[test]
fn a_user_known_to_ldap_only_gets_a_note() {
    let p = patch(&request("apalmer", &["restricted"]), KEY, DATA, LABEL).unwrap();
    assert!(p.new_user);
    assert!(
        p.notes.iter().any(|n| n.contains("ldap_only_users")),
        "{:?}",
        p.notes
    );
    let p = patch(&request("jdoe", &["restricted"]), KEY, DATA, LABEL).unwrap();
    assert!(!p.notes.iter().any(|n| n.contains("ldap_only_users")));
}

#[test]
fn group_names_resolve_case_insensitively_once() {
    let p = patch(
        &request("jdoe", &["Restricted", "restricted"]),
        KEY,
        DATA,
        LABEL,
    )
    .unwrap();
    assert_eq!(p.groups, ["restricted"]);
    assert_eq!(
        members(&parsed(&p.text), "restricted")
            .iter()
            .filter(|m| *m == "jdoe")
            .count(),
        1
    );
}

#[test]
fn several_groups_at_once() {
    let req = request("jdoe", &["analytics-users", "restricted", "deploy-service"]);
    let p = patch(&req, KEY, DATA, LABEL).unwrap();
    assert_eq!(
        p.groups,
        ["analytics-users", "restricted", "deploy-service"]
    );
    let tree = parsed(&p.text);
    for g in &p.groups {
        assert!(members(&tree, g).contains(&"jdoe".to_string()), "{g}");
    }
}

#[test]
fn existing_user_only_gains_groups_and_keeps_their_keys() {
    let before = parsed(DATA);
    let p = patch(&request("nwu", &["restricted"]), KEY, DATA, LABEL).unwrap();
    assert!(!p.new_user);
    let after = parsed(&p.text);
    assert_eq!(after["users"]["nwu"], before["users"]["nwu"]);
    assert_eq!(
        members(&after, "restricted"),
        ["bkowalski", "cjones", "ivanova", "nwu", "tmoreau"]
    );
    let (plus, minus) = changes(&p.diff);
    assert_eq!((plus.len(), minus.len()), (1, 1), "{}", p.diff);
    assert!(!p.text.contains("jdoe@laptop"));
    assert!(
        p.notes.iter().any(|n| n.contains("not among them")),
        "{:?}",
        p.notes
    );

    // With the key they already have, no warning about it.
    let own =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIkf+exgFI1L1KCe4txckzG0EQupOsVK/BTaO90ZYUd0 nwu@stat";
    let p = patch(&request("nwu", &["restricted"]), own, DATA, LABEL).unwrap();
    assert!(!p.notes.iter().any(|n| n.contains("not among them")));
}

#[test]
fn sorted_users_get_the_new_entry_in_alphabetical_place() {
    let p = patch(
        &request("jdoe", &["analytics-users", "restricted"]),
        KEY,
        SORTED,
        LABEL,
    )
    .unwrap();
    let jdoe = p.text.find("\n  jdoe:\n").unwrap();
    let comment = p.text.find("  # Nan moved teams").unwrap();
    assert!(p.text.find("\n  aaron:\n").unwrap() < jdoe && jdoe < comment);
    // The file's own ssh_keys style: the dash at the fields' indent.
    assert!(p.text.contains(&format!("    ssh_keys:\n    - {KEY}\n")));
    // The compact block list (dash at the key's indent) is kept sorted.
    assert!(p
        .text
        .contains("    members:\n    - aaron\n    - jdoe\n    - nwu\n"));
    assert!(p.text.contains("    members: [aaron, jdoe]\n"));
    parsed(&p.text);
    insta::assert_snapshot!("sorted_users", p.diff);

    let p = patch(&request("zz", &["restricted"]), KEY, SORTED, LABEL).unwrap();
    assert!(p.text.ends_with("    email: wlee@example.org\n  zz:\n    ensure: present\n    gid: 500\n    name: zz\n    realname: Jane Doe\n    ssh_keys:\n    - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP93h0D4jdzxAq64Ha7iicBExKRXHEtvKHQA9LjguEP4 jdoe@laptop\n    # uid: FILL IN the next free uid (accessbot leaves it to you)\n    email: zz@example.org\n"), "{}", p.text);
}

#[test]
fn time_limited_users_get_expiry_fields() {
    let mut req = request("jdoe", &["analytics-users"]);
    req.expiry_date = NaiveDate::from_ymd_opt(2027, 6, 30);
    req.expiry_contact = Some(Username::new("@ivanova"));
    let p = patch(&req, KEY, DATA, LABEL).unwrap();
    let tree = parsed(&p.text);
    assert_eq!(
        tree["users"]["jdoe"]["expiry_date"].as_str(),
        Some("2027-06-30")
    );
    assert_eq!(
        tree["users"]["jdoe"]["expiry_contact"].as_str(),
        Some("ivanova")
    );
    assert!(p
        .text
        .contains("    expiry_date: 2027-06-30\n    expiry_contact: ivanova\n"));

    req.expiry_contact = None;
    assert_eq!(
        patch(&req, KEY, DATA, LABEL).unwrap_err(),
        GrantError::ExpiryIncomplete("expiry date")
    );
}

#[test]
fn nasty_real_names_and_usernames_round_trip() {
    for name in [
        "O'Brien: \"Bob\" #1",
        "Zoë Ünïcödé-Łukasz 李小龙",
        "yes",
        "- [x] @admin {F1}",
        "Jane\u{202E}eoD",
        "back\\slash",
        "null",
        "#hash",
        "a: b",
    ] {
        let mut req = request("jdoe", &["restricted"]);
        req.full_name = Some(name.into());
        let p = patch(&req, KEY, DATA, LABEL).unwrap_or_else(|e| panic!("{name:?}: {e}"));
        let tree = parsed(&p.text);
        assert_eq!(
            tree["users"]["jdoe"]["realname"].as_str(),
            Some(name),
            "{name:?}"
        );
        let s = snippet(&req, KEY).unwrap();
        assert_eq!(parsed(&s)["users"]["jdoe"]["realname"].as_str(), Some(name));
    }
    // An invisible direction override is written escaped, so the diff shows it.
    let mut req = request("jdoe", &["restricted"]);
    req.full_name = Some("Jane\u{202E}eoD".into());
    let p = patch(&req, KEY, DATA, LABEL).unwrap();
    assert!(
        p.diff.contains("realname: \"Jane\\u202EeoD\""),
        "{}",
        p.diff
    );

    // Usernames YAML 1.1 reads as booleans or null are quoted, as keys and as members.
    for user in ["no", "null", "on", "y"] {
        let p = patch(
            &request(user, &["restricted", "deploy-service"]),
            KEY,
            DATA,
            LABEL,
        )
        .unwrap_or_else(|e| panic!("{user}: {e}"));
        let tree = parsed(&p.text);
        assert_eq!(tree["users"][user]["name"].as_str(), Some(user));
        assert!(members(&tree, "restricted").contains(&user.to_string()));
        assert!(members(&tree, "deploy-service").contains(&user.to_string()));
        assert!(p.text.contains(&format!("\n  '{user}':\n")), "{user}");
    }
}

#[test]
fn key_comments_with_yaml_syntax_round_trip() {
    for comment in ["jdoe: laptop #2", "'quoted'", "[x], {y}", "jdoe@laptop ünï"] {
        let key = format!("{} {comment}", &KEY[..KEY.rfind(' ').unwrap()]);
        let p = patch(&request("jdoe", &["restricted"]), &key, DATA, LABEL).unwrap();
        let tree = parsed(&p.text);
        assert_eq!(
            tree["users"]["jdoe"]["ssh_keys"][0].as_str(),
            Some(key.as_str())
        );
    }
}

#[test]
fn line_breaks_in_names_are_refused() {
    let mut req = request("jdoe", &["restricted"]);
    req.full_name = Some("Jane\nssh_keys: [evil]".into());
    assert!(matches!(
        patch(&req, KEY, DATA, LABEL),
        Err(GrantError::BadValue {
            field: "real name",
            ..
        })
    ));
    let mut req = request("jdoe", &["restricted"]);
    req.email = Some("jdoe@example.org\n    uid: 0".into());
    assert!(matches!(
        patch(&req, KEY, DATA, LABEL),
        Err(GrantError::BadValue { field: "email", .. })
    ));
}

#[test]
fn crlf_files_keep_their_line_endings() {
    let crlf = DATA.replace('\n', "\r\n");
    let p = patch(
        &request("jdoe", &["restricted", "deploy-service"]),
        KEY,
        &crlf,
        LABEL,
    )
    .unwrap();
    assert!(
        !p.text.replace("\r\n", "").contains('\n'),
        "a bare LF was written"
    );
    let tree = parsed(&p.text);
    assert_eq!(tree["users"]["jdoe"]["ssh_keys"][0].as_str(), Some(KEY));
}

#[test]
fn a_file_without_final_newline_is_handled() {
    let text = SORTED.trim_end();
    let p = patch(&request("zz", &["restricted"]), KEY, text, LABEL).unwrap();
    assert!(p.text.contains("    email: wlee@example.org\n  zz:\n"));
    parsed(&p.text);
}

#[test]
fn refusals_say_why() {
    let err = |req: Request, key: &str, data: &str| patch(&req, key, data, LABEL).unwrap_err();
    assert_eq!(
        err(request("nwu", &["analytics-users"]), KEY, DATA),
        GrantError::AlreadyMember {
            user: "nwu".into(),
            group: "analytics-users".into()
        }
    );
    // A member through an alias (`*ops_members` in deployment) is a member too.
    assert_eq!(
        err(request("kolsen", &["deployment"]), KEY, DATA).to_string(),
        "kolsen is already a member of deployment"
    );
    assert_eq!(
        err(request("jdoe", &["no-such-group"]), KEY, DATA),
        GrantError::UnknownGroup("no-such-group".into())
    );
    assert_eq!(err(request("jdoe", &[]), KEY, DATA), GrantError::NoGroups);
    let mut req = request("jdoe", &["restricted"]);
    req.shell_user = None;
    assert_eq!(err(req, KEY, DATA), GrantError::Missing("shell username"));
    let mut req = request("jdoe", &["restricted"]);
    req.full_name = None;
    assert_eq!(err(req, KEY, DATA), GrantError::Missing("full name"));
    assert_eq!(
        err(request("oldtimer", &["restricted"]), KEY, DATA).to_string(),
        "oldtimer is in data.yaml with ensure: absent; re-enabling an account is a manual change"
    );
    let pmarsh_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDhylkfP3gHCziiybFdHJzf1w1YaF2EYW9hYmkPOC7p1 other@host";
    assert_eq!(
        err(request("jdoe", &["restricted"]), pmarsh_key, DATA),
        GrantError::KeyInUse("pmarsh".into())
    );
    assert!(matches!(
        err(request("jdoe", &["gerrit-root"]), KEY, DATA),
        GrantError::Layout { place, .. } if place == "groups.gerrit-root.members"
    ));
    for bad_key in [
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "ssh-ed25519",
        "ssh-ed25519 AAAA\nssh-rsa AAAA",
        "ssh-dss AAAAB3NzaC1kc3M= x",
        "hello world",
    ] {
        assert!(
            matches!(
                err(request("jdoe", &["restricted"]), bad_key, DATA),
                GrantError::BadValue {
                    field: "ssh key",
                    ..
                }
            ),
            "{bad_key:?}"
        );
    }
    assert_eq!(
        err(request("jdoe", &["restricted"]), "  ", DATA),
        GrantError::Missing("ssh key")
    );
    assert_eq!(
        err(request("jdoe", &["restricted"]), KEY, "groups: {}\n"),
        GrantError::MissingSection("users")
    );
    let broken = DATA.replace("    gid: 706\n", "    gid: 706\n   bad: [\n");
    let e = err(request("jdoe", &["restricted"]), KEY, &broken);
    let GrantError::Unparseable {
        line: Some(line), ..
    } = &e
    else {
        panic!("{e:?}");
    };
    let bad_line = broken.lines().position(|l| l == "   bad: [").unwrap() + 1;
    assert!(
        (bad_line..=bad_line + 2).contains(line),
        "{e} (bad line {bad_line})"
    );
    assert!(e
        .to_string()
        .starts_with(&format!("data.yaml cannot be parsed (line {line})")));
}

#[test]
fn snippet_is_valid_yaml_with_the_entry_and_groups() {
    let mut req = request("jdoe", &["analytics-privatedata-users", "restricted"]);
    req.expiry_date = NaiveDate::from_ymd_opt(2027, 6, 30);
    req.expiry_contact = Some(Username::new("mboss"));
    let s = snippet(&req, KEY).unwrap();
    let tree = parsed(&s);
    assert_eq!(tree["users"]["jdoe"]["ssh_keys"][0].as_str(), Some(KEY));
    assert_eq!(members(&tree, "restricted"), ["jdoe"]);
    insta::assert_snapshot!("snippet", s);
    assert_eq!(
        snippet(&request("jdoe", &[]), KEY).unwrap_err(),
        GrantError::NoGroups
    );
}

#[test]
fn every_group_of_the_fixture_can_gain_a_new_user() {
    let tree = parsed(DATA);
    let names: Vec<String> = tree["groups"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 13);
    for g in &names {
        match patch(&request("jdoe", &[g.as_str()]), KEY, DATA, LABEL) {
            Ok(p) => {
                assert!(
                    members(&parsed(&p.text), g).contains(&"jdoe".to_string()),
                    "{g}"
                );
                assert_eq!(p.groups, std::slice::from_ref(g));
            }
            Err(GrantError::Layout { .. }) if g == "gerrit-root" => {}
            Err(e) => panic!("{g}: {e}"),
        }
    }
    // All of them at once.
    let all: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|g| *g != "gerrit-root")
        .collect();
    let p = patch(&request("jdoe", &all), KEY, DATA, LABEL).unwrap();
    let after = parsed(&p.text);
    for g in &all {
        assert!(members(&after, g).contains(&"jdoe".to_string()), "{g}");
    }
}

/// The fixture with `len` bytes at `at` (moved to character boundaries) replaced by `insert`.
fn damaged(at: usize, len: usize, insert: &str) -> String {
    let mut start = at;
    while !DATA.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + len).min(DATA.len());
    while !DATA.is_char_boundary(end) {
        end += 1;
    }
    format!("{}{insert}{}", &DATA[..start], &DATA[end..])
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// A damaged file never makes the editor panic, and whatever it accepts verifies.
    #[test]
    fn damaged_files_never_panic(
        at in 0usize..DATA.len(),
        len in 0usize..30,
        insert in "[ -~\n\té\u{202e}]{0,10}",
        group in proptest::sample::select(vec![
            "restricted", "deployment", "analytics-privatedata-users", "deploy-service",
            "analytics-admins", "ops", "analytics-users",
        ]),
    ) {
        let damaged = damaged(at, len, &insert);
        if let Ok(p) = patch(&request("jdoe", &[group]), KEY, &damaged, LABEL) {
            let tree = parsed(&p.text);
            proptest::prop_assert!(members(&tree, group).contains(&"jdoe".to_string()));
        }
    }
}

/// Runs the editor over a real `data.yaml` (not shipped): every group, a new and an existing user.
/// `ACCESSBOT_DATA_YAML=/path/to/data.yaml cargo test --test grant -- --ignored`
#[test]
#[ignore = "needs ACCESSBOT_DATA_YAML pointing to a real data.yaml"]
fn a_real_data_yaml() {
    let path = std::env::var("ACCESSBOT_DATA_YAML").expect("ACCESSBOT_DATA_YAML is set");
    let data = std::fs::read_to_string(path).expect("readable data.yaml");
    let tree = parsed(&data);
    let groups: Vec<String> = tree["groups"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    let existing = tree["users"]
        .as_mapping()
        .unwrap()
        .iter()
        .find(|(_, v)| v["ensure"].as_str() == Some("present"))
        .and_then(|(k, _)| k.as_str())
        .unwrap()
        .to_string();
    let (mut ok, mut refused) = (0, Vec::new());
    for g in &groups {
        for user in ["zz-accessbot-test", existing.as_str()] {
            match patch(&request(user, &[g.as_str()]), KEY, &data, LABEL) {
                Ok(p) => {
                    assert!(members(&parsed(&p.text), g).contains(&user.to_string()));
                    let (_, minus) = changes(&p.diff);
                    assert!(minus.len() <= 1, "{g}: {}", p.diff);
                    ok += 1;
                }
                Err(e @ (GrantError::Layout { .. } | GrantError::AlreadyMember { .. })) => {
                    refused.push(format!("{g} ({user}): {e}"))
                }
                Err(e) => panic!("{g} ({user}): {e}"),
            }
        }
    }
    println!("{ok} patches verified; refused:\n{}", refused.join("\n"));
    assert!(ok > groups.len());

    // Revocations: every present user in a group loses all their groups, then only the first.
    let (mut ok, mut refused) = (0, Vec::new());
    for (name, entry) in tree["users"].as_mapping().unwrap() {
        let user = name.as_str().unwrap();
        if entry["ensure"].as_str() != Some("present") {
            continue;
        }
        let theirs: Vec<&str> = groups
            .iter()
            .map(String::as_str)
            .filter(|g| *g != "absent" && members(&tree, g).iter().any(|m| m == user))
            .collect();
        if theirs.is_empty() {
            continue;
        }
        for asked in [&theirs[..], &theirs[..1]] {
            match revoke_patch(&request(user, asked), &data, LABEL) {
                Ok(p) => {
                    let after = parsed(&p.text);
                    for g in asked {
                        assert!(!members(&after, g).iter().any(|m| m == user), "{user} {g}");
                    }
                    // Absent exactly when nothing else is left.
                    let left: Vec<&str> = groups
                        .iter()
                        .map(String::as_str)
                        .filter(|g| *g != "absent" && members(&after, g).iter().any(|m| m == user))
                        .collect();
                    assert_eq!(p.absent, left.is_empty(), "{user} {asked:?}");
                    assert_eq!(p.remaining, left, "{user} {asked:?}");
                    assert_eq!(
                        after["users"][user]["ensure"].as_str(),
                        Some(if p.absent { "absent" } else { "present" })
                    );
                    ok += 1;
                }
                Err(e @ (GrantError::Layout { .. } | GrantError::StillMember { .. })) => {
                    refused.push(format!("{user} {asked:?}: {e}"))
                }
                Err(e) => panic!("{user} {asked:?}: {e}"),
            }
        }
    }
    println!(
        "{ok} revocations verified; refused:\n{}",
        refused.join("\n")
    );
    assert!(ok > 0);
}

// ---------------------------------------------------------------------------------------------
// The key line exactly as given.

/// Comments that YAML, remarkup or a shell would read as syntax: each must reach data.yaml
/// unchanged.
const AWKWARD_COMMENTS: &[&str] = &[
    "jdoe's laptop",
    "'single'",
    "\"double\" quotes",
    "*starred*",
    "a & b",
    "!important",
    "100% mine",
    "@laptop",
    "#1 key",
    "work: laptop",
    "- leading dash",
    "Zoë's Ünïcödé 李小龙",
    "back\\slash \\n",
    "tab\there",
    "two  spaces",
    "[x], {y}",
    "trailing:",
    "ends with '",
];

fn key_with(comment: &str) -> String {
    format!("{} {comment}", &KEY[..KEY.rfind(' ').unwrap()])
}

#[test]
fn awkward_key_comments_reach_the_snippet_and_the_patch_exactly() {
    for comment in AWKWARD_COMMENTS {
        let key = key_with(comment);
        let req = request("jdoe", &["restricted"]);
        let s = snippet(&req, &key).unwrap_or_else(|e| panic!("{comment:?}: {e}"));
        assert_eq!(
            parsed(&s)["users"]["jdoe"]["ssh_keys"][0].as_str(),
            Some(key.as_str()),
            "snippet, {comment:?}:\n{s}"
        );
        let p = patch(&req, &key, DATA, LABEL).unwrap_or_else(|e| panic!("{comment:?}: {e}"));
        assert_eq!(
            parsed(&p.text)["users"]["jdoe"]["ssh_keys"][0].as_str(),
            Some(key.as_str()),
            "patch, {comment:?}:\n{}",
            p.diff
        );
        // The line the diff adds is the key as one YAML scalar, in the file's list style.
        let (plus, _) = changes(&p.diff);
        let want = format!("      - {}", scalar(&key));
        assert!(plus.contains(&want.as_str()), "{comment:?}:\n{}", p.diff);
    }
    // A line break or another control character never goes into an authorized_keys line.
    for bad in ["a\nssh-rsa AAAA", "a\rb", "bell\u{7}", "nul\u{0}"] {
        assert!(
            matches!(
                patch(
                    &request("jdoe", &["restricted"]),
                    &key_with(bad),
                    DATA,
                    LABEL
                ),
                Err(GrantError::BadValue {
                    field: "ssh key",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn the_key_line_is_found_again_in_the_text_the_requester_wrote() {
    use accessbot::grant::exact_key_line;
    for comment in AWKWARD_COMMENTS {
        let key = key_with(comment);
        // The parser's reading drops quotes and stars around words and collapses spaces.
        let judged: Vec<&str> = key
            .split_whitespace()
            .map(|w| w.trim_matches(|c| matches!(c, '\'' | '"' | '*' | '`')))
            .filter(|w| !w.is_empty())
            .collect();
        let judged = judged.join(" ");
        for source in [
            format!("**SSH public key**: {key}\n**Reason for access**: x"),
            format!("```lang=text\n{key}\n```"),
            format!("Here is my key: `{key}`"),
        ] {
            assert_eq!(
                exact_key_line(&source, &judged).as_deref(),
                Some(key.as_str()),
                "{source:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Revocation.

fn revoked(user: &str, groups: &[&str], data: &str) -> RevokePatch {
    revoke_patch(&request(user, groups), data, LABEL)
        .unwrap_or_else(|e| panic!("{user} {groups:?}: {e}"))
}

/// The parsed file with the user's entry and memberships taken out, to compare what else
/// changed.
fn without_user(text: &str, user: &str) -> Value {
    let mut tree = parsed(text);
    tree["users"].as_mapping_mut().unwrap().remove(user);
    let names: Vec<String> = tree["groups"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    for g in names {
        let mut m: Vec<Value> = members(&tree, &g)
            .into_iter()
            .filter(|m| m != user)
            .map(Value::String)
            .collect();
        m.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        if let Some(g) = tree["groups"][g.as_str()].as_mapping_mut() {
            g.insert("members".into(), Value::Sequence(m));
        }
    }
    tree
}

#[test]
fn revoking_the_only_groups_makes_the_account_absent_without_keys() {
    let before = parsed(DATA);
    let p = revoked(
        "bkowalski",
        &["restricted", "analytics-privatedata-users"],
        DATA,
    );
    assert!(p.absent);
    assert_eq!(p.groups, ["restricted", "analytics-privatedata-users"]);
    assert!(p.remaining.is_empty() && p.also_affected.is_empty());
    let after = parsed(&p.text);
    let u = &after["users"]["bkowalski"];
    assert_eq!(u["ensure"].as_str(), Some("absent"));
    assert_eq!(u["ssh_keys"].as_sequence().map(Vec::len), Some(0));
    // Every other field stays: uid, names, email, expiry.
    for field in [
        "uid",
        "gid",
        "name",
        "realname",
        "email",
        "expiry_date",
        "expiry_contact",
    ] {
        assert_eq!(u[field], before["users"]["bkowalski"][field], "{field}");
    }
    assert!(!members(&after, "restricted").contains(&"bkowalski".to_string()));
    assert!(!members(&after, "analytics-privatedata-users").contains(&"bkowalski".to_string()));
    // The admin module's meta group of former users, which removes the account everywhere.
    assert!(members(&after, "absent").contains(&"bkowalski".to_string()));
    assert_eq!(
        without_user(&p.text, "bkowalski"),
        without_user(DATA, "bkowalski")
    );
    assert!(
        p.notes.iter().any(|n| n.contains("ensure: absent")),
        "{:?}",
        p.notes
    );
    insta::assert_snapshot!("revoke_absent", p.diff);
}

#[test]
fn revoking_one_group_of_several_removes_only_that_membership() {
    let p = revoked("nwu", &["analytics-users"], DATA);
    assert!(!p.absent);
    assert_eq!(
        p.remaining,
        [
            "deployment",
            "analytics-privatedata-users",
            "analytics-admins"
        ]
    );
    let (plus, minus) = changes(&p.diff);
    assert_eq!(minus, ["    members: [nwu,ekaur,aaron]"]);
    assert_eq!(plus, ["    members: [ekaur,aaron]"]);
    assert_eq!(
        parsed(&p.text)["users"]["nwu"],
        parsed(DATA)["users"]["nwu"]
    );
    assert!(p.notes.iter().any(|n| n.contains("keeps")), "{:?}", p.notes);

    // A block list: the item's line goes, the comment among the items stays.
    let p = revoked("nwu", &["analytics-privatedata-users"], DATA);
    let (plus, minus) = changes(&p.diff);
    assert_eq!((plus.len(), minus), (0, vec!["      - nwu"]));
    assert!(p
        .text
        .contains("      - ivanova\n      # - zeta (left in T2000)\n      - rbianchi\n"));

    // A long flow list wrapped over lines, the user in the middle of the first line.
    let p = revoked("nwu", &["analytics-admins"], DATA);
    assert!(p.text.contains(
        "    members: [anovak, dbauer, hsato, lchen, okafor, pdiaz, rbianchi, sgupta, tmoreau, wlee,\n              xzhou]\n"
    ));
}

#[test]
fn revoking_from_lists_in_every_style() {
    let styles = [
        "only-flow",
        "only-block",
        "wrapped",
        "wrapped-end",
        "wrapped-start",
        "quoted",
        "block-middle",
    ];
    let expected = [
        "  only-flow:\n    gid: 801\n    members: []\n",
        "  only-block:\n    gid: 802\n    members: []\n  wrapped:\n",
        "    members: [aaa, bbb, ccc,\n              ddd]\n",
        "  wrapped-end:\n    gid: 804\n    members: [aaa, bbb]\n",
        "  wrapped-start:\n    gid: 805\n    members: [aaa, bbb]\n",
        "    members: [\"aaa\"]\n",
        "    members:\n    - aaa\n    # - yyy (left in T200)\n    - bbb\n",
    ];
    // One style at a time: zed keeps the other groups, the account and its keys.
    for (g, want) in styles.iter().zip(expected) {
        let p = revoked("zed", &[g], LISTS);
        assert!(!p.absent, "{g}");
        assert!(p.text.contains(want), "{want:?} in:\n{}", p.text);
        let (_, minus) = changes(&p.diff);
        assert!(
            minus
                .iter()
                .all(|l| !l.contains("ssh") && !l.contains("ensure")),
            "{g}"
        );
        assert_eq!(
            without_user(&p.text, "zed"),
            without_user(LISTS, "zed"),
            "{g}"
        );
    }
    // All at once.
    let p = revoked("zed", &styles, LISTS);
    assert_eq!(p.remaining, ["commented"]);
    for want in expected {
        assert!(p.text.contains(want), "{want:?} in:\n{}", p.text);
    }
    // A comment between the user and the member before: removed by hand, never guessed.
    let e = revoke_patch(&request("zed", &["commented"]), LISTS, LABEL).unwrap_err();
    assert!(
        matches!(&e, GrantError::Layout { place, .. } if place == "groups.commented.members"),
        "{e}"
    );

    // Without that group, every list empties of zed and the account goes: a multi-line flow
    // list of keys becomes `[]`, `ensure` keeps its comment, zed joins `absent`.
    let lists = LISTS.replace("[aaa,  # aaa stays until T300\n              zed]", "[aaa]");
    let p = revoked("zed", &styles, &lists);
    assert!(p.absent);
    for want in [
        "    members: [gone, zed]\n",
        "    ensure: absent  # since 2020\n",
        "    ssh_keys: []\n    uid: 4002\n",
    ] {
        assert!(p.text.contains(want), "{want:?} in:\n{}", p.text);
    }
    assert_eq!(without_user(&p.text, "zed"), without_user(&lists, "zed"));
    assert_eq!(
        parsed(&p.text)["users"]["zed"]["expiry_contact"].as_str(),
        Some("aaa")
    );
}

#[test]
fn revoking_in_a_compact_sorted_file_without_an_absent_group() {
    let p = revoked("nwu", &["analytics-users"], SORTED);
    assert!(p.absent);
    assert!(p
        .text
        .contains("    members:\n    - aaron\n  restricted:\n"));
    assert!(p.text.contains("  nwu:\n    ensure: absent\n    gid: 500\n    name: nwu\n    realname: Nan Wu\n    ssh_keys: []\n    uid: 3194\n"));
    // No `absent` meta group in this file: the user is simply in no group.
    assert!(parsed(&p.text)["groups"].get("absent").is_none());

    let p = revoked("aaron", &["restricted"], SORTED);
    assert!(!p.absent);
    assert!(p.text.contains("    members: []\n"));
    assert_eq!(p.remaining, ["analytics-users"]);
}

#[test]
fn revoking_through_anchors_and_aliases() {
    // kolsen is in ops, whose list deployment includes: leaving ops leaves deployment too.
    let p = revoked("kolsen", &["ops"], DATA);
    assert!(p.absent);
    assert_eq!(p.also_affected, ["deployment"]);
    assert!(p.notes.iter().any(|n| n.contains("also leaves deployment")));
    assert!(p
        .text
        .contains("    members: &ops_members [pmarsh, anovak,\n"));
    assert!(p.text.contains("    ssh_keys: []\n    uid: 2075\n"));
    // A membership through an alias of a list that is not revoked is refused, saying where.
    let e = revoke_patch(&request("kolsen", &["deployment"]), DATA, LABEL).unwrap_err();
    assert_eq!(
        e.to_string(),
        "kolsen stays a member of deployment through *ops_members (the list of ops), *releng_members (the list of release-engineering): revoke that group too, or edit data.yaml by hand"
    );
    // Both: the alias is revoked where its list is defined.
    let p = revoked("pmarsh", &["deployment", "ops"], DATA);
    assert_eq!(p.groups, ["deployment", "ops"]);
    assert!(p.absent);
    assert!(p.also_affected.is_empty());
    let after = parsed(&p.text);
    assert!(!members(&after, "deployment").contains(&"pmarsh".to_string()));
    assert_eq!(
        without_user(&p.text, "pmarsh"),
        without_user(DATA, "pmarsh")
    );
}

#[test]
fn revocation_refusals_and_partial_revocations_say_why() {
    let err = |user: &str, groups: &[&str]| {
        revoke_patch(&request(user, groups), DATA, LABEL)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("jdoe", &["restricted"]),
        "jdoe is not under `users:` in data.yaml, so there is no shell access to revoke"
    );
    assert!(err("apalmer", &["restricted"]).contains("they are in ldap_only_users"));
    assert_eq!(
        err("nwu", &["restricted", "no-such-group"]),
        "nothing to revoke for nwu: not a member of restricted; not in data.yaml: \"no-such-group\""
    );
    assert_eq!(
        err("oldtimer", &["restricted"]),
        "nothing to revoke for oldtimer: not a member of restricted; the account is already ensure: absent"
    );
    assert_eq!(
        revoke_patch(&request("nwu", &[]), DATA, LABEL).unwrap_err(),
        GrantError::NoGroups
    );
    let mut req = request("nwu", &["restricted"]);
    req.shell_user = None;
    assert_eq!(
        revoke_patch(&req, DATA, LABEL).unwrap_err(),
        GrantError::Missing("shell username")
    );

    // Revoke what is there, and say what was not.
    let p = revoked(
        "nwu",
        &["restricted", "Analytics-Users", "no-such-group"],
        DATA,
    );
    assert_eq!(p.groups, ["analytics-users"]);
    assert_eq!(p.not_member, ["restricted"]);
    assert_eq!(p.unknown_groups, ["no-such-group"]);
    for want in [
        "nwu is not a member of restricted: nothing to remove there",
        "group \"no-such-group\" is not in data.yaml: nothing to remove there",
    ] {
        assert!(p.notes.iter().any(|n| n == want), "{want}: {:?}", p.notes);
    }
}

#[test]
fn revocation_keeps_crlf_and_a_missing_final_newline() {
    let crlf = DATA.replace('\n', "\r\n");
    let p = revoked(
        "bkowalski",
        &["restricted", "analytics-privatedata-users"],
        &crlf,
    );
    assert!(p.absent);
    assert!(
        !p.text.replace("\r\n", "").contains('\n'),
        "a bare LF was written"
    );
    assert_eq!(
        without_user(&p.text, "bkowalski"),
        without_user(DATA, "bkowalski")
    );
    // The last line of the file is a list item that goes.
    let text = "users:\n  wlee:\n    ensure: present\n    ssh_keys:\n    - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIkf+exgFI1L1KCe4txckzG0EQupOsVK/BTaO90ZYUd0 w@x\n    uid: 3200\ngroups:\n  g:\n    members:\n    - aaa\n    - wlee";
    let p = revoked("wlee", &["g"], text);
    assert!(p.absent);
    assert_eq!(
        p.text,
        "users:\n  wlee:\n    ensure: absent\n    ssh_keys: []\n    uid: 3200\ngroups:\n  g:\n    members:\n    - aaa"
    );
}

#[test]
fn the_revocation_snippet_names_the_groups_and_the_absent_entry() {
    let s = revoke_snippet(&request(
        "jdoe",
        &["analytics-privatedata-users", "restricted"],
    ))
    .unwrap();
    let tree = parsed(&s);
    assert_eq!(tree["users"]["jdoe"]["ensure"].as_str(), Some("absent"));
    assert_eq!(
        tree["users"]["jdoe"]["ssh_keys"]
            .as_sequence()
            .map(Vec::len),
        Some(0)
    );
    assert!(s.contains("#   - analytics-privatedata-users\n#   - restricted\n"));
    insta::assert_snapshot!("revoke_snippet", s);
    assert_eq!(
        revoke_snippet(&request("jdoe", &[])).unwrap_err(),
        GrantError::NoGroups
    );
    // A username YAML would read as a boolean is quoted, in the comments too.
    let s = revoke_snippet(&request("no", &["restricted"])).unwrap();
    assert_eq!(parsed(&s)["users"]["no"]["ensure"].as_str(), Some("absent"));
}

#[test]
fn a_grant_and_its_revocation_leave_every_group_as_it_was() {
    let tree = parsed(DATA);
    let names: Vec<String> = tree["groups"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .filter(|g| g != "gerrit-root" && g != "absent")
        .collect();
    for g in &names {
        let granted = patch(&request("jdoe", &[g.as_str()]), KEY, DATA, LABEL).unwrap();
        let p = revoked("jdoe", &[g.as_str()], &granted.text);
        assert!(p.absent, "{g}");
        let after = parsed(&p.text);
        assert_eq!(
            without_user(&p.text, "jdoe"),
            without_user(DATA, "jdoe"),
            "{g}"
        );
        assert_eq!(
            members(&after, "absent").last().map(String::as_str),
            Some("jdoe")
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// A damaged file never makes the revocation panic, and whatever it accepts verifies.
    #[test]
    fn damaged_files_never_panic_the_revocation(
        at in 0usize..DATA.len(),
        len in 0usize..30,
        insert in "[ -~\n\té\u{202e}]{0,10}",
        case in proptest::sample::select(vec![
            ("nwu", "analytics-users"), ("nwu", "analytics-privatedata-users"),
            ("bkowalski", "restricted"), ("kolsen", "ops"), ("rbianchi", "deployment"),
            ("aaron", "analytics-admins"),
        ]),
    ) {
        let damaged = damaged(at, len, &insert);
        let (user, group) = case;
        if let Ok(p) = revoke_patch(&request(user, &[group]), &damaged, LABEL) {
            let tree = parsed(&p.text);
            proptest::prop_assert!(!members(&tree, group).contains(&user.to_string()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Through the real binary against the simulator.

/// The key lines of tests/scenarios/grant.toml, as their requesters wrote them: T401's on the
/// description's label line, T402's in backticks in the requester's comment, T403's in a paste.
const T401_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM/02V1IG9X4JzDcrvOgJmtNvIw/ryad5qnOlqKR8Q5L Chi's \"work\" *laptop*: #2 ü";
const T402_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIWN4DKI81xoo8I/HkPxYpyO+jL4fvz/nAVdyEnN/Z8k dlee@'home' & *lab*\tbox";
const T403_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINEN2ruc6UoRN0bNaCR0ZomZLnI2cAQE3TNMPF0DgUGR \"Eun\" Park's #key: *yubi*";

#[tokio::test]
async fn grant_patch_and_its_revocation_through_the_binary() {
    use common::{root, World};
    let w = World::start("grant.toml", "2026-11-06T09:00:00Z").await;
    let data = root().join("tests/fixtures/grant/data.yaml");
    let data = data.to_str().unwrap();

    // Ready: each key line goes into the patch exactly as its requester wrote it.
    let now = "2026-11-06T09:00:00Z";
    let mut diffs = Vec::new();
    for (task, key) in [("T401", T401_KEY), ("T402", T402_KEY), ("T403", T403_KEY)] {
        let (code, out, err) = w
            .run_cli(now, &["grant-patch", task, "--data-yaml", data])
            .await;
        assert_eq!(code, 0, "{task}: {err}");
        assert!(
            out.contains(&format!("\n+      - {}\n", scalar(key))),
            "{task}: {out}"
        );
        diffs.push(out);
    }
    // The grant as clinic duty applies it: the library's patch for the same request, which is
    // also exactly what the binary printed.
    let mut req = request("cnguyen", &["analytics-privatedata-users"]);
    req.full_name = Some("Chi Nguyen".into());
    let granted = patch(&req, T401_KEY, DATA, "data.yaml").unwrap();
    assert_eq!(diffs[0], granted.diff);
    let granted_path = w.dir.path().join("data.yaml");
    std::fs::write(&granted_path, &granted.text).unwrap();
    let granted_path = granted_path.to_str().unwrap();

    // Granted and closed as resolved: no grant patch any more, but the revocation.
    let later = "2026-11-12T09:00:00Z";
    w.set_now(later);
    let (code, out, err) = w
        .run_cli(later, &["grant-patch", "T401", "--data-yaml", granted_path])
        .await;
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("T401 is not ready to grant (verdict: closed)"),
        "{err}"
    );

    let (code, out, err) = w
        .run_cli(
            later,
            &[
                "grant-patch",
                "T401",
                "--revoke",
                "--data-yaml",
                granted_path,
            ],
        )
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: cnguyen is in no other group: the account becomes ensure: absent"),
        "{err}"
    );
    let expected = revoke_patch(&req, &granted.text, "data.yaml").unwrap();
    assert_eq!(out, expected.diff);
    assert!(expected.absent);
    assert_eq!(
        without_user(&expected.text, "cnguyen"),
        without_user(DATA, "cnguyen")
    );
    insta::assert_snapshot!("revoke_t401_binary", out);

    // Without a data.yaml: the form applied by hand.
    let (code, out, err) = w.run_cli(later, &["grant-patch", "T401", "--revoke"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, revoke_snippet(&req).unwrap());

    // A request whose user is in doubt, and a task that is no request: refused, exit 1.
    for (task, want) in [
        (
            "T404",
            "error: T404: no revocation is offered while the request's user is in doubt: one task is for one user",
        ),
        (
            "T405",
            "error: T405 is not an access request: there is no access to revoke",
        ),
    ] {
        let (code, out, err) = w
            .run_cli(later, &["grant-patch", task, "--revoke", "--data-yaml", granted_path])
            .await;
        assert_eq!(code, 1, "{task}");
        assert!(out.is_empty(), "{task}: {out}");
        assert!(err.contains(want), "{task}: {err}");
    }

    // T402's user is not in that data.yaml: a specific refusal, exit 1, nothing on stdout.
    let (code, out, err) = w
        .run_cli(
            later,
            &[
                "grant-patch",
                "T402",
                "--revoke",
                "--data-yaml",
                granted_path,
            ],
        )
        .await;
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains(
            "error: dlee is not under `users:` in data.yaml, so there is no shell access to revoke"
        ),
        "{err}"
    );
}

#[test]
fn ldap_only_groups_get_an_ldap_only_users_entry_when_new_and_a_modify_ldap_group_line() {
    let groups = vec!["nda".to_string(), "wmf".to_string()];
    // New to data.yaml: the entry (it parses as YAML), then one line per group.
    let out = ldap_lines(&request("jdoe", &["nda", "wmf"]), &groups, Some(DATA)).unwrap();
    let yaml: String = out
        .lines()
        .filter(|l| !l.starts_with("modify-"))
        .collect::<Vec<_>>()
        .join("\n");
    let tree: Value = serde_norway::from_str(&yaml).expect("the entry parses");
    let entry = &tree["ldap_only_users"]["jdoe"];
    assert_eq!(entry["ensure"].as_str(), Some("present"), "{out}");
    assert_eq!(entry["realname"].as_str(), Some("Jane Doe"));
    assert_eq!(entry["email"].as_str(), Some("jdoe@example.org"));
    assert!(entry.get("ssh_keys").is_none(), "{out}");
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("modify-")).collect();
    assert_eq!(
        lines,
        [
            "modify-ldap-group --addmembers=jdoe nda",
            "modify-ldap-group --addmembers=jdoe wmf"
        ]
    );
    // Already an LDAP-only user (apalmer) or a shell user (kolsen): no entry, the lines only.
    for known in ["apalmer", "kolsen"] {
        let out = ldap_lines(&request(known, &["nda"]), &groups[..1], Some(DATA)).unwrap();
        assert!(!out.contains("ldap_only_users:"), "{out}");
        assert!(out.contains(&format!("modify-ldap-group --addmembers={known} nda")));
    }
    // Without data.yaml the entry comes with its condition.
    let out = ldap_lines(&request("jdoe", &["nda"]), &groups[..1], None).unwrap();
    assert!(out.contains("only when jdoe is not in data.yaml"), "{out}");
    // No shell username: no uid is guessed.
    let mut r = request("jdoe", &["nda"]);
    r.shell_user = None;
    assert!(matches!(
        ldap_lines(&r, &groups[..1], Some(DATA)),
        Err(GrantError::Missing(_))
    ));
}
