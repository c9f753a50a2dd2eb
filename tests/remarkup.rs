//! Remarkup safety (issue 7, item 2): adversarial values in every requester-controlled field
//! go through the real posting path (simulator + poller + store); the comments the bot posted
//! are read back from the simulator and must carry nothing live — no mention, embed, object
//! link, URL, doubled markup, header, checkbox or bidi control from the input, and nothing
//! that fakes a checklist line or a verdict. A pasted private key's material appears in no
//! posted comment, no stored `report_json` and no `check --json` output.

mod common;

use accessbot::ids::TaskId;
use accessbot::report;
use common::World;
use regex::Regex;

/// Everything remarkup could make live, in one value (with a newline in the middle).
const PAYLOAD: &str = "@admin {F1} {P1} T1 P1 https://evil.example/x **bold** //it// [[link]] [x](http://x) = H = #project - [x] ready %%%lit%%% `code` !!hi!! ~~del~~ __u__\n- [x] `manager-approval`: approved by @mboss\n= READY = \u{200B}@\u{200B}admin \u{200D}\u{2060}\u{FEFF} \u{202E}evil\u{202C} \u{2066}iso\u{2069} <b>x</b> \\@admin";

/// A private key (the same test key as `tests/scenarios/refused.toml`).
const PRIVATE_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDpnIHU6cOZb9S7SAw60T9xZ8NztbVtfVNtJKwEzwj1DwAAAJArARxBKwEc
QQAAAAtzc2gtZWQyNTUxOQAAACDpnIHU6cOZb9S7SAw60T9xZ8NztbVtfVNtJKwEzwj1Dw
AAAECwT6ShNJowKAV3ziUVFT3VPLKFXUCZCY+kWI8yE/LPs+mcgdTpw5lv1LtIDDrRP3Fn
w3O1tW19U20krATPCPUPAAAADGxlYWt5QGxhcHRvcAE=
-----END OPENSSH PRIVATE KEY-----";

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEpe3mt0Hp2QAUHJ4ts58wNxBqU1wFCifms6x4Hgs+v9";

/// A TOML basic string (JSON string escapes are valid TOML escapes).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A description in the form's shape with the given field values.
fn description(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(label, value)| format!("**{label}**: {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The scenario: tasks that put the payload in each requester-controlled field, plus pasted
/// private keys (description, paste, comment).
fn scenario() -> String {
    let one_line = PAYLOAD.replace('\n', " ");
    let mut tasks: Vec<(u64, String, String, Vec<String>)> = Vec::new();
    // T901: the payload in every free-text field at once.
    tasks.push((
        901,
        format!("Requesting access for {one_line}"),
        description(&[
            ("Full name", PAYLOAD),
            ("Wikitech username", &one_line),
            ("Preferred shell username", &one_line),
            ("Email address", &one_line),
            (
                "SSH public key",
                &format!("{KEY} {}", one_line.replace(' ', "")),
            ),
            ("Requested group membership", PAYLOAD),
            ("Reason for access", PAYLOAD),
            ("Manager / sponsor", &one_line),
            ("Expiry date", &one_line),
            ("Expiry contact", &one_line),
        ]),
        vec![],
    ));
    // T902: values that parse (usernames, group-like words) but are still hostile.
    tasks.push((
        902,
        "T1 {F1} @admin https://evil.example/x".into(),
        description(&[
            ("Full name", "Mallory"),
            ("Wikitech username", "Mallory"),
            ("Preferred shell username", "mallory"),
            ("Email address", "mallory@example.org"),
            ("SSH public key", "P77"),
            (
                "Requested group membership",
                "analytics-users, t1, p1, f1, admin, everyone, root.all, h1",
            ),
            ("Reason for access", "see T1 and P1 and {F1}"),
            ("Manager / sponsor", "@admin"),
            ("Expiry date", "2020-01-01"),
            ("Expiry contact", "@everyone"),
        ]),
        vec![
            // A comment by the requester that imitates the bot and pings people.
            format!("{}\n\n{PAYLOAD}", report::CHECKLIST_HEADER),
        ],
    ));
    // T903: a private key in the description.
    tasks.push((
        903,
        "Requesting access to analytics-users for mallory2".into(),
        description(&[
            ("Full name", "Mallory Two"),
            ("Wikitech username", "Mallory Two"),
            ("Preferred shell username", "mallory2"),
            ("Email address", "mallory2@example.org"),
            ("SSH public key", &format!("\n```\n{PRIVATE_KEY}\n```\n")),
            ("Requested group membership", "analytics-users"),
            ("Reason for access", "dashboards"),
            ("Manager / sponsor", "@mboss"),
        ]),
        vec![],
    ));
    // T904: a private key in a paste by the requester, and again in a comment.
    tasks.push((
        904,
        "Requesting access to analytics-users for mallory3".into(),
        description(&[
            ("Full name", "Mallory Three"),
            ("Wikitech username", "Mallory Three"),
            ("Preferred shell username", "mallory3"),
            ("Email address", "mallory3@example.org"),
            ("SSH public key", "P78"),
            ("Requested group membership", "analytics-users"),
            ("Reason for access", "dashboards"),
            ("Manager / sponsor", "@mboss"),
        ]),
        vec![format!("Oops, here is my key again:\n{PRIVATE_KEY}")],
    ));

    // T905: values that close the parser's quotes early to speak as the bot, Unicode letters
    // glued to monograms (ASCII word boundaries link "éT1"), a group that reads as a commit
    // hash, a shell username reserved for a system account (T906).
    tasks.push((
        905,
        "Requesting access for mallory".into(),
        description(&[
            ("Full name", "Mallory Five"),
            ("Wikitech username", "Mallory Five"),
            (
                "Preferred shell username",
                "x\" READY: every check passes; clinic duty may grant \"y",
            ),
            ("Email address", "mallory5@example.org"),
            ("SSH public key", KEY),
            ("Requested group membership", "analytics-users, deadbeef1"),
            ("Reason for access", "dashboards"),
            ("Manager / sponsor", "@éT1"),
            ("Expiry date", "2027-01-01\" READY \"x"),
        ]),
        vec![],
    ));
    tasks.push((
        906,
        "Requesting access to analytics-users for root".into(),
        description(&[
            ("Full name", "Mallory Six"),
            ("Wikitech username", "Mallory Six"),
            ("Preferred shell username", "root"),
            ("Email address", "mallory6@example.org"),
            ("SSH public key", KEY),
            ("Requested group membership", "analytics-users"),
            ("Reason for access", "dashboards"),
            ("Manager / sponsor", "@mboss"),
        ]),
        vec![],
    ));

    let mut s = String::from("now = \"2026-11-02T12:00:00Z\"\n");
    for (user, token) in [
        ("accessbot", Some("api-remarkupaccessbot00000000000")),
        ("mallory", None),
        ("mallory2", None),
        ("mallory3", None),
        ("mallory4", None),
        ("mallory5", None),
        ("mallory6", None),
        ("mboss", None),
        ("aotto", None),
        ("admin", None),
        ("everyone", None),
        ("clinicduty", None),
    ] {
        s.push_str(&format!("\n[[users]]\nusername = {}\n", q(user)));
        if let Some(t) = token {
            s.push_str(&format!("bot = true\ntoken = {}\n", q(t)));
        }
    }
    s.push_str(
        "\n[[projects]]\nname = \"SRE-Access-Requests\"\nmembers = []\n\
         \n[[projects]]\nname = \"WMF-Staff\"\nmembers = [\"mboss\", \"aotto\", \"clinicduty\"]\n\
         \n[[legalpad]]\nmonogram = \"L3\"\ntitle = \"L3\"\nsigners = []\neditors = [\"accessbot\"]\n",
    );
    for (id, author, content) in [
        (77, "mallory", PAYLOAD.to_string()),
        (78, "mallory3", PRIVATE_KEY.to_string()),
    ] {
        s.push_str(&format!(
            "\n[[pastes]]\nid = {id}\nauthor = {}\nat = \"2026-11-02T08:00:00Z\"\ncontent = {}\n",
            q(author),
            q(&content)
        ));
    }
    let authors = [
        "mallory4", "mallory", "mallory2", "mallory3", "mallory5", "mallory6",
    ];
    for (i, (id, title, desc, comments)) in tasks.iter().enumerate() {
        s.push_str(&format!(
            "\n[[tasks]]\nid = {id}\nauthor = {}\nat = \"2026-11-02T09:00:00Z\"\ntitle = {}\nprojects = [\"SRE-Access-Requests\"]\ndescription = {}\n",
            q(authors[i]),
            q(title),
            q(desc)
        ));
        for c in comments {
            s.push_str(&format!(
                "\n[[tasks.events]]\nat = \"2026-11-02T10:00:00Z\"\nauthor = {}\ncomment = {}\n",
                q(authors[i]),
                q(c)
            ));
        }
    }
    s
}

/// A live mention on the mentions line: `@` and a Phorge username (letters, digits, `.`, `_`,
/// `-`, not ending with a period).
const MENTIONED: &str = r"@[a-zA-Z0-9._-]*[a-zA-Z0-9_-]";

/// Where the mentions line is (line 2 or 3 of a checklist), when it has exactly its shape.
fn mentions_span(text: &str, shape: &Regex) -> Option<std::ops::Range<usize>> {
    let mut start = 0;
    for (i, line) in text.split('\n').enumerate() {
        if (i == 1 || i == 2) && shape.is_match(line) {
            return Some(start..start + line.len());
        }
        start += line.len() + 1;
    }
    None
}

/// The usernames mentioned on a checklist's mentions line.
fn mentioned(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("//Needed now//: "))
        .flat_map(|l| {
            Regex::new(MENTIONED)
                .unwrap()
                .find_iter(l)
                .map(|m| m.as_str()[1..].to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Why a comment the bot posted is unsafe; empty when it is safe.
fn unsafe_parts(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mention = Regex::new(r"@\w").unwrap();
    // Phorge's rules without UCP see ASCII word boundaries: "éT1" is a monogram there.
    let monogram = Regex::new(r"(?:^|[^A-Za-z0-9_])([A-Z][0-9]|r[A-Z])").unwrap();
    let hex_word = Regex::new(r"(?:^|[^A-Za-z0-9_])([0-9a-f]{7,})(?:$|[^A-Za-z0-9_])").unwrap();
    let check_line =
        Regex::new(r"^- \[( |x)\] `[a-z0-9:._-]+`( \(//[a-z-]+//\))?: [^\n]*$").unwrap();
    // What changed since the last checklist: check ids only, under the header.
    let ids = r"[a-z0-9:._-]+(, [a-z0-9:._-]+)*";
    let changes_line = Regex::new(&format!(
        r"^//Since the last checklist//: (now passing|no longer passing|still needed): {ids}( · (no longer passing|still needed): {ids})*$"
    ))
    .unwrap();
    // The people who must act now, mentioned live (issue 17): only on this line, under the
    // header (or under what changed), only `@username` of Phabricator's username shape, each
    // followed by the check ids that wait for them.
    let mentions_line = Regex::new(&format!(
        r"^//Needed now//: {MENTIONED}( \({ids}\))?(, {MENTIONED}( \({ids}\))?)*$"
    ))
    .unwrap();
    let allowed = mentions_span(text, &mentions_line);
    let nudge = text.starts_with("**accessbot**: @clinicduty ");
    for m in mention.find_iter(text) {
        let on_line = allowed.as_ref().is_some_and(|r| r.contains(&m.start()));
        if !(on_line || nudge && m.start() == "**accessbot**: ".len()) {
            out.push(format!("live mention at {}", m.start()));
        }
    }
    // The bot's own values and references, posted as they are (`Check::own`): its fixed
    // monospace words, key types, fingerprints and document, a reference to a comment after
    // its date, to a request that reuses the key. They are set aside
    // before the rest is checked, each in exactly the bot's wording.
    let own = Regex::new(concat!(
        r"`(subject|Phabricator username:|Requested change:|Reason:|Impact if rejected:|Existing group:",
        r"|ssh-keygen -t ed25519|ssh-ed25519 AAAA… comment|type base64 \[comment\]|ssh-ed25519|ssh-rsa|L3",
        r"|SHA256:[A-Za-z0-9+/]{43})`",
        r"|[0-9]{4}-[0-9]{2}-[0-9]{2} \(T[0-9]+#[0-9]+\)",
        r"|another user's request \(T[0-9]+\)|other users' requests \(T[0-9]+(?:, T[0-9]+)*\)",
    ))
    .unwrap();
    let text = &text
        .lines()
        .map(|l| match l.split_once(": ") {
            // A check line's id stays: only its message holds the bot's own pieces.
            Some((head, message)) => format!("{head}: {}", own.replace_all(message, "·")),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    for bad in [
        "{F", "{P", "{T", "://", "[[", "](", "%%%", "``", "!!", "~~", "__", "<b>",
    ] {
        if text.contains(bad) {
            out.push(format!("contains {bad:?}"));
        }
    }
    if let Some(m) = monogram.captures(text) {
        out.push(format!("object link {:?}", &m[1]));
    }
    if let Some(m) = hex_word.captures(text) {
        out.push(format!("commit link {:?}", &m[1]));
    }
    // The one place a checklist line may hold monospace besides its check id: the forms the
    // bot tells a person to comment, at the end of the line, from the bundled rules only.
    let forms = Regex::new(
        r" comments? `(Approved\.|Approved for [a-z0-9-]+\.|NDA on file\.|L3 verified\.|SRE meeting: approved\.|SRE meeting: declined\.)`( or `(Approved for [a-z0-9-]+\.|SRE meeting: declined\.)`)?$",
    )
    .unwrap();
    let without_forms: Vec<String> = text
        .lines()
        .map(|l| forms.replace(l, "").into_owned())
        .collect();
    for c in ['#', '`'] {
        if text.contains(c)
            && !(c == '`' && without_forms.iter().all(|l| l.matches('`').count() <= 2))
        {
            out.push(format!("contains {c:?}"));
        }
    }
    for c in text.chars() {
        if matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
        {
            out.push(format!("bidi control U+{:04X}", c as u32));
        }
    }
    if nudge {
        if text.lines().count() != 1 {
            out.push("the nudge spans several lines".into());
        }
        return out;
    }
    let lines: Vec<&str> = text.lines().collect();
    if !lines
        .first()
        .is_some_and(|l| l.starts_with(report::CHECKLIST_HEADER))
    {
        out.push("does not start with the checklist header".into());
    }
    for (i, line) in lines.iter().enumerate().skip(1) {
        let ok = line.is_empty()
            || (i == lines.len() - 1 && line.starts_with("//Evaluated ") && line.ends_with("//"))
            || (i == 1 && changes_line.is_match(line))
            || ((i == 1 || i == 2) && mentions_line.is_match(line))
            || check_line.is_match(line);
        if !ok {
            out.push(format!("line {} is no checklist line: {line:?}", i + 1));
            continue;
        }
        if let Some((_, message)) = line.split_once("`: ") {
            for bad in ["**", "//", "==", "[x]", "[ ]", "READY", "= H ="] {
                if message.contains(bad) {
                    out.push(format!("message on line {} contains {bad:?}", i + 1));
                }
            }
        }
    }
    // The header's verdict is the bot's own: exactly one bold verdict.
    if text.matches("**").count() != 4 {
        out.push("bold markup beyond the header".into());
    }
    out
}

/// 20-character windows of the private key's body lines.
fn secret_windows() -> Vec<String> {
    let mut out = Vec::new();
    for line in PRIVATE_KEY.lines().filter(|l| !l.starts_with("-----")) {
        let chars: Vec<char> = line.chars().collect();
        for w in chars.windows(20).step_by(5) {
            out.push(w.iter().collect());
        }
    }
    out
}

fn leaks(text: &str, windows: &[String]) -> Option<String> {
    windows.iter().find(|w| text.contains(w.as_str())).cloned()
}

#[test]
fn the_checks_of_this_test_catch_live_markup() {
    // The detector itself must fail on raw input, or the end-to-end test proves nothing.
    let raw = format!("{} for this access request: **BLOCKED**\n\n- [ ] `nda` (//legal//): {PAYLOAD}\n\n//Evaluated now//", report::CHECKLIST_HEADER);
    let found = unsafe_parts(&raw);
    for what in [
        "live mention",
        "\"{F\"",
        "\"://\"",
        "object link",
        "bidi",
        "no checklist line",
        "\"[[\"",
    ] {
        assert!(
            found.iter().any(|f| f.contains(what)),
            "{what} not caught: {found:#?}"
        );
    }
    // The mentions line is allowed its exact shape only: anything more on it is caught.
    for line in [
        "//Needed now//: @mboss (manager-approval) @admin",
        "//Needed now//: @mboss (manager-approval), see {F1}",
        "//Needed now//: @mboss. (manager-approval)",
        "note //Needed now//: @mboss",
    ] {
        let text = format!(
            "{} for this access request: **BLOCKED**\n{line}\n\n//Evaluated now//",
            report::CHECKLIST_HEADER
        );
        assert!(!unsafe_parts(&text).is_empty(), "{line:?} not caught");
    }
    let good = format!("{} for this access request: **BLOCKED**\n//Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-users, l3)\n\n//Evaluated now//", report::CHECKLIST_HEADER);
    assert_eq!(unsafe_parts(&good), Vec::<String>::new(), "{good}");
    assert_eq!(mentioned(&good), ["mboss", "aotto"]);
    let inert = format!("{} for this access request: **BLOCKED**\n\n- [ ] `nda` (//legal//): {}\n\n//Evaluated now//", report::CHECKLIST_HEADER, report::inert(PAYLOAD));
    assert_eq!(unsafe_parts(&inert), Vec::<String>::new(), "{inert}");
    assert!(leaks(&format!("x{PRIVATE_KEY}x"), &secret_windows()).is_some());
}

#[tokio::test]
async fn requester_text_never_reaches_a_comment_live_and_private_keys_never_leak() {
    let w = World::from_scenario(&scenario()).await;
    let bot = w.bot().await;
    for now in ["2026-11-02T12:00:00Z", "2026-11-20T12:00:00Z"] {
        w.set_now(now);
        let r = bot.cycle().await.unwrap();
        assert!(r.failed.is_empty(), "{:?}", r.failed);
    }
    let windows = secret_windows();
    let store = w.store().await;
    let mut problems = Vec::new();
    for t in [901u64, 902, 903, 904, 905, 906] {
        let posted = w.comments(t);
        if !posted.iter().any(|c| report::is_checklist(c)) {
            problems.push(format!("T{t}: no checklist posted"));
        }
        for c in &posted {
            for p in unsafe_parts(c) {
                problems.push(format!("T{t}: {p}\n{c}"));
            }
            if let Some(l) = leaks(c, &windows) {
                problems.push(format!("T{t}: private key material {l:?} in a comment"));
            }
        }
        let row = store.task(TaskId::new(t)).await.unwrap().expect("stored");
        assert_ne!(
            row.verdict,
            accessbot::policy::Verdict::Ready,
            "T{t} must not be ready"
        );
        if let Some(l) = leaks(&row.report_json, &windows) {
            problems.push(format!("T{t}: private key material {l:?} in report_json"));
        }
    }
    store.close().await;
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));

    // Whoever is mentioned live is an account the bot resolved: a task's author (the requester),
    // a named manager that is a staff account, or someone configured in the rules; never any
    // other name the requester wrote (T902 names the existing non-staff @admin as manager).
    let r = &w.rules;
    let mut known: Vec<String> = [
        "mallory4", "mallory", "mallory2", "mallory3", "mallory5", "mallory6",
    ]
    .map(String::from)
    .to_vec();
    // The named manager, a staff account in the scenario (T903..T906 name it as manager).
    known.push("mboss".into());
    known.push(r.phabricator.clinic_duty.clone());
    for u in r.groups.values().flat_map(|g| g.approvers.iter()).chain(
        r.people
            .legal_users
            .iter()
            .chain(&r.people.sre_deciders)
            .chain(&r.people.executives),
    ) {
        known.push(u.as_str().to_string());
    }
    let mut named = Vec::new();
    for t in [901u64, 902, 903, 904, 905, 906] {
        for c in w.comments(t) {
            named.extend(mentioned(&c));
        }
    }
    assert!(
        !named.is_empty(),
        "the first checklists mention who must act"
    );
    for n in &named {
        assert!(known.contains(n), "@{n} mentioned live: {named:?}");
    }

    // The requester's words did reach the comments (so the checks above saw them), inert.
    let t902 = w.comments(902).join("\n");
    for echoed in [
        "@\u{200B}admin",
        "@\u{200B}everyone",
        "t1, p1, f1",
        "P\u{200B}77",
    ] {
        assert!(t902.contains(echoed), "{echoed:?} not in {t902}");
    }

    // Words after a quote inside a value never read as the bot's; Unicode letters glued to a
    // monogram and hexadecimal group names are broken where Phorge would link them.
    let t905 = w.comments(905).join("\n");
    for leaked in ["every check passes", "clinic duty may grant", "READY"] {
        assert!(!t905.contains(leaked), "{leaked:?} leaked into {t905}");
    }
    // The manager "@éT1" names no account (not ASCII): its é is shown as `?` and named, and
    // the monogram after it is still broken (éT1 glued is `inert`'s unit test).
    for echoed in [
        "@\u{200B}?T\u{200B}1 (the name holds a character outside ASCII: U+00E9)",
        "dead\u{200B}beef\u{200B}1",
    ] {
        assert!(t905.contains(echoed), "{echoed:?} not in {t905}");
    }
    // A reserved shell username fails request-complete, named.
    let t906 = w.comments(906).join("\n");
    assert!(
        t906.contains("the shell username root is reserved for a system account"),
        "{t906}"
    );

    // The private keys are reported as such.
    for t in [903u64, 904] {
        let last = w
            .comments(t)
            .into_iter()
            .rev()
            .find(|c| report::is_checklist(c))
            .unwrap();
        assert!(last.contains("private key"), "T{t}: {last}");
    }
    insta::assert_snapshot!(w.thread(901), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty.**
    //Needed now//: @mallory4 (request-complete, known-groups, ssh-key, manager-approval), @clinicduty (subject, key-channel, l3, nda, expiry)

    - [ ] `request-complete` (//requester//): … is not a full name: write your first and last name; the shell username … is not valid: it must match ^[[zwsp]a-z_][zwsp][[zwsp]a-z0-9_-][zwsp]{[zwsp]0,31}$ (a lowercase letter or '_', then lowercase letters, digits, '-' or '_'; at most 32 characters); … is not an email address; … is not a group name (requested groups are written like analytics-privatedata-users); … is not a group name (requested groups are written l…
    - [x] `one-user`: one user per task
    - [ ] `subject` (//clinic-duty//): could not tell which Phabricator account this request is for (the author does not match the request, and it gives no full name to look the account up by); the request can name it in a `Phabricator username:` line
    - [ ] `known-groups` (//requester//): unknown groups: t1, p1, bold, link, x, h, project, manager-approval (known groups are listed in rules/groups.toml)
    - [ ] `ssh-key` (//requester//): both a key and a paste (P[zwsp]1) were given as the key: post exactly one public key
    - [x] `key-fresh`: the key is not used by anyone else
    - [ ] `key-channel` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `l3` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `nda` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `manager-approval` (//requester//): the manager or sponsor could not be read: … is not a Phabricator username: write it as @[zwsp]username
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC
    - [ ] `expiry` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty.**
    //Since the last checklist//: now passing: waiting-period · still needed: request-complete, subject, known-groups, ssh-key, key-channel, l3, nda, manager-approval, expiry

    - [ ] `request-complete` (//requester//): … is not a full name: write your first and last name; the shell username … is not valid: it must match ^[[zwsp]a-z_][zwsp][[zwsp]a-z0-9_-][zwsp]{[zwsp]0,31}$ (a lowercase letter or '_', then lowercase letters, digits, '-' or '_'; at most 32 characters); … is not an email address; … is not a group name (requested groups are written like analytics-privatedata-users); … is not a group name (requested groups are written l…
    - [x] `one-user`: one user per task
    - [ ] `subject` (//clinic-duty//): could not tell which Phabricator account this request is for (the author does not match the request, and it gives no full name to look the account up by); the request can name it in a `Phabricator username:` line
    - [ ] `known-groups` (//requester//): unknown groups: t1, p1, bold, link, x, h, project, manager-approval (known groups are listed in rules/groups.toml)
    - [ ] `ssh-key` (//requester//): both a key and a paste (P[zwsp]1) were given as the key: post exactly one public key
    - [x] `key-fresh`: the key is not used by anyone else
    - [ ] `key-channel` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `l3` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `nda` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `manager-approval` (//requester//): the manager or sponsor could not be read: … is not a Phabricator username: write it as @[zwsp]username
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC
    - [ ] `expiry` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)

    //Evaluated 2026-11-20 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot**: @clinicduty this request has shown no progress since 2026-11-02 09:00 UTC (14 business days ago). Could clinic duty take a look?
    ");
    insta::assert_snapshot!(w.thread(902), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty, legal, project-lead.**
    //Needed now//: @mallory (known-groups, ssh-key, manager-approval, expiry), @clinicduty (l3), @legalteam (nda), @aotto (lead-approval:analytics-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]mallory
    - [ ] `known-groups` (//requester//): unknown groups: t1, p1, f1, admin, everyone, root.all, h1 (known groups are listed in rules/groups.toml)
    - [ ] `ssh-key` (//requester//): no SSH public key was found: post the whole line of your .pub file (`ssh-ed25519 AAAA… comment`)
    - [x] `key-channel`: in paste P[zwsp]77, written by @[zwsp]mallory
    - [ ] `l3` (//clinic-duty//): cannot see `L3` signatures: clinic duty must verify the signature
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]mallory is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [ ] `manager-approval` (//requester//): the request names @[zwsp]admin as manager or sponsor, who is not a staff member with an enabled account: only a staff member's approval counts, so name a manager or sponsor on staff
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC
    - [ ] `expiry` (//requester//): a requester who is not staff needs an expiry date in the future and a staff expiry contact: the expiry date 2020-01-01 is not in the future; the expiry contact @[zwsp]everyone is not a staff member

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty, legal, project-lead.**
    //Since the last checklist//: now passing: waiting-period · still needed: known-groups, ssh-key, l3, nda, manager-approval, lead-approval:analytics-users, expiry

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]mallory
    - [ ] `known-groups` (//requester//): unknown groups: t1, p1, f1, admin, everyone, root.all, h1 (known groups are listed in rules/groups.toml)
    - [ ] `ssh-key` (//requester//): no SSH public key was found: post the whole line of your .pub file (`ssh-ed25519 AAAA… comment`)
    - [x] `key-channel`: in paste P[zwsp]77, written by @[zwsp]mallory
    - [ ] `l3` (//clinic-duty//): cannot see `L3` signatures: clinic duty must verify the signature
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]mallory is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [ ] `manager-approval` (//requester//): the request names @[zwsp]admin as manager or sponsor, who is not a staff member with an enabled account: only a staff member's approval counts, so name a manager or sponsor on staff
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC
    - [ ] `expiry` (//requester//): a requester who is not staff needs an expiry date in the future and a staff expiry contact: the expiry date 2020-01-01 is not in the future; the expiry contact @[zwsp]everyone is not a staff member

    //Evaluated 2026-11-20 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot**: @clinicduty this request has shown no progress since 2026-11-02 10:00 UTC (14 business days ago). Could clinic duty take a look?
    ");
    insta::assert_snapshot!(w.thread(903), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty, legal, manager, project-lead.**
    //Needed now//: @mallory2 (ssh-key, expiry), @clinicduty (l3), @legalteam (nda), @mboss (manager-approval), @aotto (lead-approval:analytics-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]mallory2
    - [x] `known-groups`: groups: analytics-users
    - [ ] `ssh-key` (//requester//): a private key was posted: it must be considered compromised; generate a new key pair and post only the public key
    - [ ] `l3` (//clinic-duty//): cannot see `L3` signatures: clinic duty must verify the signature
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]mallory2 is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet; to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC
    - [ ] `expiry` (//requester//): a requester who is not staff needs an expiry date in the future and a staff expiry contact: no valid expiry date (YYYY-MM-DD); no expiry contact

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty, legal, manager, project-lead.**
    //Since the last checklist//: now passing: waiting-period · still needed: ssh-key, l3, nda, manager-approval, lead-approval:analytics-users, expiry

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]mallory2
    - [x] `known-groups`: groups: analytics-users
    - [ ] `ssh-key` (//requester//): a private key was posted: it must be considered compromised; generate a new key pair and post only the public key
    - [ ] `l3` (//clinic-duty//): cannot see `L3` signatures: clinic duty must verify the signature
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]mallory2 is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet; to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC
    - [ ] `expiry` (//requester//): a requester who is not staff needs an expiry date in the future and a staff expiry contact: no valid expiry date (YYYY-MM-DD); no expiry contact

    //Evaluated 2026-11-20 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot**: @clinicduty this request has shown no progress since 2026-11-02 09:00 UTC (14 business days ago). Could clinic duty take a look?
    ");
    insta::assert_snapshot!(w.thread(904), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty, legal, manager, project-lead.**
    //Needed now//: @mallory3 (ssh-key, expiry), @clinicduty (l3), @legalteam (nda), @mboss (manager-approval), @aotto (lead-approval:analytics-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]mallory3
    - [x] `known-groups`: groups: analytics-users
    - [ ] `ssh-key` (//requester//): a private key was posted: it must be considered compromised; generate a new key pair and post only the public key
    - [ ] `l3` (//clinic-duty//): cannot see `L3` signatures: clinic duty must verify the signature
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]mallory3 is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet; to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC
    - [ ] `expiry` (//requester//): a requester who is not staff needs an expiry date in the future and a staff expiry contact: no valid expiry date (YYYY-MM-DD); no expiry contact

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty, legal, manager, project-lead.**
    //Since the last checklist//: now passing: waiting-period · still needed: ssh-key, l3, nda, manager-approval, lead-approval:analytics-users, expiry

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]mallory3
    - [x] `known-groups`: groups: analytics-users
    - [ ] `ssh-key` (//requester//): a private key was posted: it must be considered compromised; generate a new key pair and post only the public key
    - [ ] `l3` (//clinic-duty//): cannot see `L3` signatures: clinic duty must verify the signature
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]mallory3 is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet; to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC
    - [ ] `expiry` (//requester//): a requester who is not staff needs an expiry date in the future and a staff expiry contact: no valid expiry date (YYYY-MM-DD); no expiry contact

    //Evaluated 2026-11-20 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot**: @clinicduty this request has shown no progress since 2026-11-02 10:00 UTC (14 business days ago). Could clinic duty take a look?
    ");
    insta::assert_snapshot!(w.thread(905), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty, project-lead.**
    //Needed now//: @mallory5 (request-complete, known-groups, key-fresh, manager-approval), @clinicduty (subject, key-channel, l3, nda, expiry), @aotto (lead-approval:analytics-users)

    - [ ] `request-complete` (//requester//): the shell username … is not valid: it must match ^[[zwsp]a-z_][zwsp][[zwsp]a-z0-9_-][zwsp]{[zwsp]0,31}$ (a lowercase letter or '_', then lowercase letters, digits, '-' or '_'; at most 32 characters)
    - [x] `one-user`: one user per task
    - [ ] `subject` (//clinic-duty//): could not tell which Phabricator account this request is for (neither the author nor any account matches the request's usernames and full name); the request can name it in a `Phabricator username:` line
    - [ ] `known-groups` (//requester//): unknown group: dead[zwsp]beef[zwsp]1 (known groups are listed in rules/groups.toml)
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:0vOvYbtelfdOc+Up0pUKiInINYDeGN8TayrSr6esL1o`
    - [ ] `key-fresh` (//requester//): the key is already used elsewhere (another user's request (T901)[zwsp]): production needs a dedicated new key
    - [ ] `key-channel` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `l3` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `nda` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `manager-approval` (//requester//): the request names @[zwsp]?T[zwsp]1 (the name holds a character outside ASCII: U+00E9) as manager or sponsor, who is not a staff member with an enabled account: only a staff member's approval counts, so name a manager or sponsor on staff
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC
    - [ ] `expiry` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty, project-lead.**
    //Since the last checklist//: now passing: waiting-period · still needed: request-complete, subject, known-groups, key-fresh, key-channel, l3, nda, manager-approval, lead-approval:analytics-users, expiry

    - [ ] `request-complete` (//requester//): the shell username … is not valid: it must match ^[[zwsp]a-z_][zwsp][[zwsp]a-z0-9_-][zwsp]{[zwsp]0,31}$ (a lowercase letter or '_', then lowercase letters, digits, '-' or '_'; at most 32 characters)
    - [x] `one-user`: one user per task
    - [ ] `subject` (//clinic-duty//): could not tell which Phabricator account this request is for (neither the author nor any account matches the request's usernames and full name); the request can name it in a `Phabricator username:` line
    - [ ] `known-groups` (//requester//): unknown group: dead[zwsp]beef[zwsp]1 (known groups are listed in rules/groups.toml)
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:0vOvYbtelfdOc+Up0pUKiInINYDeGN8TayrSr6esL1o`
    - [ ] `key-fresh` (//requester//): the key is already used elsewhere (another user's request (T901)[zwsp]): production needs a dedicated new key
    - [ ] `key-channel` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `l3` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `nda` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `manager-approval` (//requester//): the request names @[zwsp]?T[zwsp]1 (the name holds a character outside ASCII: U+00E9) as manager or sponsor, who is not a staff member with an enabled account: only a staff member's approval counts, so name a manager or sponsor on staff
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC
    - [ ] `expiry` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)

    //Evaluated 2026-11-20 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot**: @clinicduty this request has shown no progress since 2026-11-02 09:00 UTC (14 business days ago). Could clinic duty take a look?
    ");
    insta::assert_snapshot!(w.thread(906), @"
    --- comment 1 by accessbot at 2026-11-02T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty, manager, project-lead.**
    //Needed now//: @mallory6 (request-complete, key-fresh), @clinicduty (subject, key-channel, l3, nda, expiry), @mboss (manager-approval), @aotto (lead-approval:analytics-users)

    - [ ] `request-complete` (//requester//): the shell username root is reserved for a system account: choose another name
    - [x] `one-user`: one user per task
    - [ ] `subject` (//clinic-duty//): could not tell which Phabricator account this request is for (neither the author nor any account matches the request's usernames and full name); the request can name it in a `Phabricator username:` line
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:0vOvYbtelfdOc+Up0pUKiInINYDeGN8TayrSr6esL1o`
    - [ ] `key-fresh` (//requester//): the key is already used elsewhere (other users' requests (T901, T905)[zwsp]): production needs a dedicated new key
    - [ ] `key-channel` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `l3` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `nda` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet; to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC
    - [ ] `expiry` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, clinic-duty, manager, project-lead.**
    //Since the last checklist//: now passing: waiting-period · still needed: request-complete, subject, key-fresh, key-channel, l3, nda, manager-approval, lead-approval:analytics-users, expiry

    - [ ] `request-complete` (//requester//): the shell username root is reserved for a system account: choose another name
    - [x] `one-user`: one user per task
    - [ ] `subject` (//clinic-duty//): could not tell which Phabricator account this request is for (neither the author nor any account matches the request's usernames and full name); the request can name it in a `Phabricator username:` line
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:0vOvYbtelfdOc+Up0pUKiInINYDeGN8TayrSr6esL1o`
    - [ ] `key-fresh` (//requester//): the key is already used elsewhere (other users' requests (T901, T905)[zwsp]): production needs a dedicated new key
    - [ ] `key-channel` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `l3` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `nda` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet; to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC
    - [ ] `expiry` (//clinic-duty//): cannot be checked until it is known whom this request is for (see `subject`)

    //Evaluated 2026-11-20 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-20T12:00:00+00:00 ---
    **accessbot**: @clinicduty this request has shown no progress since 2026-11-02 09:00 UTC (14 business days ago). Could clinic duty take a look?
    ");

    // `check --json` through the real binary prints no key material either.
    let mut outputs = Vec::new();
    for t in [903u64, 904] {
        outputs.push(w.cli(&["check", &format!("T{t}"), "--json"]).await);
    }
    for (code, out, err) in outputs {
        assert_eq!(code, 3, "check of a blocked request exits 3: {err}");
        let v: serde_json::Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("check --json printed no JSON ({e}): {out:?} {err:?}"));
        assert_eq!(v["verdict"], "blocked", "{out}");
        assert!(
            leaks(&out, &windows).is_none(),
            "key material in check --json: {out}"
        );
        assert!(
            leaks(&err, &windows).is_none(),
            "key material on stderr: {err}"
        );
    }
}
