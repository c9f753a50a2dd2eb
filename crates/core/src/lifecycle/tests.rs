//! Unit tests of the lifecycle's pure decisions: removal titles, the granted decision, the
//! expiry plan around the reminder and expiry days (in the configured zone), which expiry
//! applies, what `expiring` lists, and the safety of what the comments quote.

use super::*;
use crate::ids::Phid;
use crate::policy::{removal_check, RequestSummary, Status, Verdict, Who};
use crate::removal::removal;
use crate::timeline::StatusChange;
use std::path::Path;
use std::sync::Arc;

fn rules() -> &'static Rules {
    Rules::for_tests()
}

/// The bundled rules with another time zone.
fn rules_in(tz: &str) -> Rules {
    let dir = Path::new("<bundled>");
    Rules::from_texts(
        dir,
        (
            &dir.join("policy.toml"),
            &crate::rules::BUNDLED_POLICY
                .replace("timezone = \"UTC\"", &format!("timezone = \"{tz}\"")),
        ),
        (&dir.join("groups.toml"), crate::rules::BUNDLED_GROUPS),
        (&dir.join("phrases.toml"), crate::rules::BUNDLED_PHRASES),
    )
    .unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn removal_of(title: &str, description: &str) -> Option<Removal> {
    let parsed = crate::request::parse(title, description, &rules().labels);
    removal(title, &parsed, rules())
}

fn target(user: &str, groups: &[&str]) -> Option<Removal> {
    Some(Removal::Target {
        user: user.parse().unwrap(),
        groups: strings(groups),
    })
}

#[test]
fn removal_titles_name_the_user_and_groups() {
    for (title, want) in [
        ("Remove access for jdoe", target("jdoe", &[])),
        ("Remove production access of @jdoe", target("jdoe", &[])),
        (
            "Revoke shell access for jdoe from analytics-users and deployment",
            target("jdoe", &["analytics-users", "deployment"]),
        ),
        (
            "Remove jdoe from analytics-users, Deployment",
            target("jdoe", &["analytics-users", "deployment"]),
        ),
        ("Please remove jdoe's shell access", target("jdoe", &[])),
        ("Offboard jdoe", target("jdoe", &[])),
        ("Offboarding: jdoe", target("jdoe", &[])),
        ("Disable the shell account of jdoe", target("jdoe", &[])),
        ("Access removal for jdoe.", target("jdoe", &[])),
        ("Requesting access to analytics-users for jdoe", None),
        ("Access to the stat hosts for jdoe", None),
    ] {
        assert_eq!(removal_of(title, ""), want, "{title}");
    }
}

#[test]
fn a_removal_in_doubt_is_never_a_guess() {
    let doubt = |title: &str, description: &str| match removal_of(title, description) {
        Some(Removal::Doubt(d)) => d.join("; "),
        other => panic!("{title}: {other:?}"),
    };
    // Not a shell username (never lowercased into one).
    assert!(doubt("Remove access for JDoe", "").contains("JDoe"));
    // Nobody named.
    assert!(doubt("Remove access for the two interns", "").contains("names the user"));
    // Two users: the title and the field disagree.
    let d = doubt("Remove access for jdoe", "Shell username: asmith\n");
    assert!(d.contains("jdoe") && d.contains("asmith"), "{d}");
    // Two group lists.
    let d = doubt(
        "Remove jdoe from analytics-users",
        "Requested group membership: deployment\n",
    );
    assert!(d.contains("deployment"), "{d}");
    // One task, two shell users in the description.
    let d = doubt(
        "Offboarding",
        "Shell username: jdoe\nShell username: asmith\n",
    );
    assert!(d.contains("one user"), "{d}");
    // The field alone is enough when the title names nobody; agreeing ones are fine.
    assert_eq!(
        removal_of("Offboarding", "Shell username: jdoe\n"),
        target("jdoe", &[])
    );
    assert_eq!(
        removal_of(
            "Remove jdoe from analytics-users",
            "Shell username: jdoe\nGroups: analytics-users\n"
        ),
        target("jdoe", &["analytics-users"])
    );
    let check = removal_check(&removal_of("Remove access for JDoe", "").unwrap());
    assert_eq!(
        (check.status, check.who),
        (Status::Fail, Some(Who::Requester))
    );
    let check = removal_check(&target("jdoe", &[]).unwrap());
    assert_eq!(
        (check.status, check.who),
        (Status::Pending, Some(Who::ClinicDuty))
    );
}

fn checklist(kind: RequestKind, verdict: Verdict) -> Checklist {
    Checklist {
        task: TaskId::new(7),
        verdict,
        until: None,
        request: RequestSummary {
            kind,
            full_name: Some("Jane Doe".into()),
            wikitech_user: None,
            shell_user: Some("jdoe".into()),
            email: Some("jdoe@example.org".into()),
            groups: strings(&["ops", "wmf"]),
            sudo: false,
            key: None,
            expiry_date: Some(day("2027-06-30")),
            expiry_contact: Some("mboss".into()),
            author: "jdoe".into(),
            subject: Some("jdoe".into()),
            review: None,
            change: None,
            impact: None,
        },
        checks: Vec::new(),
        sudo_meeting: None,
        sudo_ready_at: None,
    }
}

fn comment(text: &str, t: &str) -> TimelineComment {
    TimelineComment {
        xact: Phid::from(format!("PHID-XACT-TASK-{t}")),
        anchor: 1,
        author: Phid::from("PHID-USER-bot"),
        at: at(t),
        text: text.into(),
        edited: false,
        removed: false,
    }
}

fn resolved(t: &str) -> StatusChange {
    StatusChange {
        xact: Phid::from("PHID-XACT-TASK-s"),
        at: at(t),
        author: Phid::from("PHID-USER-duty"),
        new: "resolved".into(),
    }
}

const DATA: &str = "groups:\n  ops:\n    members: [jdoe]\n  absent:\n    members: []\nusers:\n  jdoe:\n    ensure: present\n    realname: Jane Doe\n    email: jdoe@wikimedia.org\n    expiry_date: '2027-09-30'\n";

fn known(text: &str) -> DataYaml {
    DataYaml::Known(Arc::new(
        crate::grant::AdminData::parse(text.into()).unwrap(),
    ))
}

#[test]
fn granted_is_decided_from_data_yaml_the_resolution_or_what_was_said_before() {
    let now = at("2026-11-10T12:00:00Z");
    let list = checklist(RequestKind::User, Verdict::Ready);
    let empty = Timeline::default();
    let data = known(DATA);
    let facts = |c, status: &'static str, tl, dy| GrantFacts {
        checklist: c,
        status,
        open: !crate::rules::default_closed_statuses()
            .iter()
            .any(|s| s == status),
        tracked: true,
        timeline: tl,
        stored_verdict: None,
        stored_granted: None,
        data_yaml: dy,
        now,
    };
    // (a) every requested shell group has the user (`wmf` is no shell group of data.yaml).
    assert_eq!(
        granted(&facts(&list, "open", &empty, &data)),
        Some(GrantedBy::DataYaml(now))
    );
    assert_eq!(
        granted(&facts(&list, "resolved", &empty, &data)),
        Some(GrantedBy::DataYaml(now))
    );
    // Not a member, absent, declined, untagged, unknown or no data.yaml: not granted.
    let other = known(&DATA.replace("members: [jdoe]", "members: []"));
    let absent = known(&DATA.replace("ensure: present", "ensure: absent"));
    let unknown = DataYaml::Unknown("no such file".into());
    // The shell name held by someone else (neither realname nor email is the request's).
    let someone = known(&DATA.replace("realname: Jane Doe", "realname: John Doe"));
    let nobody = known(&DATA.replace(
        "    realname: Jane Doe\n    email: jdoe@wikimedia.org\n",
        "",
    ));
    assert!(matches!(nobody, DataYaml::Known(ref d) if d.holder("jdoe").realname.is_none()));
    for (status, dy) in [
        ("open", &other),
        ("open", &absent),
        ("open", &someone),
        ("open", &nobody),
        ("declined", &data),
        ("open", &unknown),
        ("open", &DataYaml::NotConfigured),
    ] {
        assert_eq!(
            granted(&facts(&list, status, &empty, dy)),
            None,
            "{status} {dy:?}"
        );
    }
    assert_eq!(
        granted(&GrantFacts {
            tracked: false,
            ..facts(&list, "open", &empty, &data)
        }),
        None
    );
    // A removal task never is.
    let removal = checklist(RequestKind::Removal, Verdict::Blocked);
    assert_eq!(granted(&facts(&removal, "open", &empty, &data)), None);

    // (b) resolved after the bot's READY checklist, not after a later BLOCKED one, not when
    // READY came only after the resolution.
    let ready = comment("**accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**", "2026-11-05T10:00:00Z");
    let blocked = comment(
        "**accessbot checklist** for this access request: **BLOCKED: waiting for manager.**",
        "2026-11-06T10:00:00Z",
    );
    let closed = checklist(RequestKind::User, Verdict::Closed);
    let none = DataYaml::NotConfigured;
    let tl = |comments: Vec<TimelineComment>, when: &str| Timeline {
        bot_comments: comments,
        status_changes: vec![resolved(when)],
        ..Timeline::default()
    };
    let t = tl(vec![ready.clone()], "2026-11-07T09:00:00Z");
    assert_eq!(
        granted(&facts(&closed, "resolved", &t, &none)),
        Some(GrantedBy::Resolved(at("2026-11-07T09:00:00Z")))
    );
    let t = tl(vec![ready.clone(), blocked], "2026-11-07T09:00:00Z");
    assert_eq!(granted(&facts(&closed, "resolved", &t, &none)), None);
    let t = tl(vec![ready.clone()], "2026-11-04T09:00:00Z");
    assert_eq!(granted(&facts(&closed, "resolved", &t, &none)), None);
    let t = tl(vec![ready], "2026-11-07T09:00:00Z");
    assert_eq!(granted(&facts(&closed, "invalid", &t, &none)), None);
    // The store's verdict before the resolution counts as well.
    let t = tl(vec![], "2026-11-07T09:00:00Z");
    assert_eq!(
        granted(&GrantFacts {
            stored_verdict: Some(Verdict::Ready),
            ..facts(&closed, "resolved", &t, &none)
        }),
        Some(GrantedBy::Resolved(at("2026-11-07T09:00:00Z")))
    );

    // Granted stays granted: the store, or the bot's own comment (a lost database); a
    // requester's look-alike comment is no bot comment.
    let stored = GrantedBy::DataYaml(at("2026-11-01T00:00:00Z"));
    assert_eq!(
        granted(&GrantFacts {
            stored_granted: Some(stored),
            ..facts(&list, "open", &empty, &none)
        }),
        Some(stored)
    );
    let said = comment("**accessbot granted**: …", "2026-11-08T09:00:00Z");
    let t = Timeline {
        bot_comments: vec![said.clone()],
        ..Timeline::default()
    };
    assert_eq!(
        granted(&facts(&list, "open", &t, &none)),
        Some(GrantedBy::Comment(at("2026-11-08T09:00:00Z")))
    );
    let forged = Timeline {
        comments: vec![said],
        ..Timeline::default()
    };
    assert_eq!(granted(&facts(&list, "open", &forged, &none)), None);
}

#[test]
fn the_expiry_plan_around_the_reminder_and_expiry_days() {
    let r = rules();
    let e = Expiry {
        date: day("2027-06-30"),
        contact: Some("mboss".into()),
    };
    let remind = at("2027-06-16T00:00:00Z");
    let expire = at("2027-06-30T00:00:00Z");
    let plan = |now: &str, reminded, noted, still| {
        let p = expiry_plan(Some(&e), at(now), r, reminded, noted, still);
        (p.step, p.wake_at)
    };
    use Step::*;
    let y = Still::Yes;
    assert_eq!(
        plan("2027-06-15T23:59:59Z", false, false, y),
        (Nothing, Some(remind))
    );
    assert_eq!(
        plan("2027-06-16T00:00:00Z", false, false, y),
        (Remind, Some(expire))
    );
    assert_eq!(
        plan("2027-06-29T23:00:00Z", false, false, y),
        (Remind, Some(expire))
    );
    assert_eq!(
        plan("2027-06-20T00:00:00Z", true, false, y),
        (Nothing, Some(expire))
    );
    // A clock turned back after the reminder: nothing until the expiry.
    assert_eq!(
        plan("2027-01-01T00:00:00Z", true, false, y),
        (Nothing, Some(expire))
    );
    // From the expiry day on: no reminder any more, the note once, if still in place.
    assert_eq!(
        plan("2027-06-30T00:00:00Z", false, false, y),
        (NoteExpired { verified: true }, None)
    );
    assert_eq!(
        plan("2027-07-30T00:00:00Z", true, false, Still::Unverifiable),
        (NoteExpired { verified: false }, None)
    );
    assert_eq!(plan("2027-07-30T00:00:00Z", true, true, y), (Nothing, None));
    assert_eq!(
        plan("2027-07-30T00:00:00Z", true, false, Still::No),
        (Nothing, None)
    );
    assert_eq!(
        plan("2027-07-30T00:00:00Z", true, false, Still::Unknown),
        (Nothing, Some(at("2027-07-30T01:00:00Z")))
    );
    assert_eq!(
        expiry_plan(None, at("2027-07-30T00:00:00Z"), r, false, false, y),
        Plan {
            step: Nothing,
            wake_at: None
        }
    );
    // Days are the configured zone's: in Berlin (summer time) they start two hours earlier.
    let berlin = rules_in("Europe/Berlin");
    let p = expiry_plan(
        Some(&e),
        at("2027-06-15T22:30:00Z"),
        &berlin,
        false,
        false,
        y,
    );
    assert_eq!(
        (p.step, p.wake_at),
        (Remind, Some(at("2027-06-29T22:00:00Z")))
    );
    assert_eq!(reminder_at(e.date, &berlin), at("2027-06-15T22:00:00Z"));
}

#[test]
fn which_expiry_applies() {
    let request = Some(Expiry {
        date: day("2027-06-30"),
        contact: Some("mboss".into()),
    });
    let stored = Some(Expiry {
        date: day("2027-05-31"),
        contact: Some("aotto".into()),
    });
    let data = known(DATA);
    // data.yaml's date (where an extension is made) wins; its missing contact is filled in.
    assert_eq!(
        expiry_of(Some("jdoe"), &data, stored.clone(), request.clone()),
        Some(Expiry {
            date: day("2027-09-30"),
            contact: Some("aotto".into())
        })
    );
    // Then the one recorded when granted; then the request's.
    let none = DataYaml::NotConfigured;
    assert_eq!(
        expiry_of(Some("jdoe"), &none, stored.clone(), request.clone()),
        stored
    );
    assert_eq!(
        expiry_of(Some("other"), &data, None, request.clone()),
        request
    );
    assert_eq!(expiry_of(None, &data, None, None), None);
}

#[test]
fn expiring_lists_what_expires_soon_and_what_expired_in_place() {
    let r = rules();
    let f = |task: u64, user: &str, date: &str| Followed {
        task: TaskId::new(task),
        shell_user: Some(user.into()),
        groups: strings(&["ops"]),
        expiry: Some(Expiry {
            date: day(date),
            contact: None,
        }),
        reminded_at: None,
    };
    let data = known(
        "groups:\n  ops:\n    members: [a, b]\nusers:\n  a:\n    ensure: present\n  b:\n    ensure: present\n  c:\n    ensure: present\n",
    );
    let followed = vec![
        f(1, "a", "2027-01-20"), // expiring
        f(2, "b", "2027-01-01"), // expired, still in ops
        f(3, "c", "2027-01-01"), // expired, removed
        f(4, "a", "2027-03-01"), // later than `until`
        Followed {
            expiry: None,
            ..f(5, "a", "2027-01-01")
        },
    ];
    let now = at("2027-01-10T12:00:00Z");
    let items = expiring(&followed, &data, now, day("2027-01-24"), r);
    let got: Vec<(&str, &str, i64)> = items
        .iter()
        .map(|i| (i.task.as_str(), i.state, i.days_left))
        .collect();
    assert_eq!(got, [("T2", "expired", -9), ("T1", "expiring", 10)]);
    let items = expiring(
        &followed,
        &DataYaml::NotConfigured,
        now,
        day("2027-01-24"),
        r,
    );
    let got: Vec<(&str, &str)> = items.iter().map(|i| (i.task.as_str(), i.state)).collect();
    assert_eq!(
        got,
        [
            ("T2", "expired-unverified"),
            ("T3", "expired-unverified"),
            ("T1", "expiring")
        ]
    );
}

#[test]
fn what_the_comments_quote_stays_inert() {
    assert_eq!(mention("mboss"), "@mboss");
    assert_eq!(mention("@m.boss-2"), "@m.boss-2");
    for hostile in ["m boss", "evil{F1}", "jürgen", "x\n- [x] ready", ""] {
        assert!(!mention(hostile).starts_with('@'), "{hostile}");
    }
    // A fence inside a code block cannot close it.
    let block = code_block("diff", "+ a\n```\n@all T1\n");
    assert_eq!(block.matches("```").count(), 2, "{block}");
    assert!(block.starts_with("```lang=diff\n") && block.ends_with("\n```"));
    // Removal comments compare by their words outside code blocks.
    let a = "**accessbot removal**: x\n\n```lang=diff\n@@ -1 +1 @@\n```\n\nfooter";
    let b = "**accessbot removal**: x\n\n```lang=diff\n@@ -9 +9 @@\n```\n\nfooter";
    let c = "**accessbot removal**: y\n\n```lang=diff\n@@ -1 +1 @@\n```\n\nfooter";
    assert_eq!(removal_hash(a), removal_hash(b));
    assert_ne!(removal_hash(a), removal_hash(c));
    // The texts quote the request only inertly.
    let e = Expiry {
        date: day("2027-06-30"),
        contact: Some("m{F1}boss".into()),
    };
    let groups = strings(&["ops @all T123"]);
    let g = Granted {
        task: TaskId::new(7),
        person: "jdoe",
        shell_user: Some("jdoe`@x"),
        groups: &groups,
        expiry: Some(&e),
        clinic_duty: "clinicduty",
        sees_data_yaml: true,
    };
    let when = at("2026-11-01T00:00:00Z");
    for text in [
        granted_text(&g, GrantedBy::DataYaml(when), rules()),
        granted_text(&g, GrantedBy::Resolved(when), rules()),
        granted_text(&g, GrantedBy::Comment(when), rules()),
        reminder_text(&g, at("2027-06-20T00:00:00Z"), rules()),
        expired_text(&g, true),
    ] {
        for live in ["@all", "T123", "{F1}", "@x"] {
            assert!(!text.contains(live), "{live} in {text}");
        }
    }
}

#[test]
fn removal_texts_wait_for_an_unreadable_data_yaml_and_never_guess() {
    let t = target("jdoe", &["ops"]).unwrap();
    let unknown = DataYaml::Unknown("busy".into());
    assert_eq!(
        removal_text(TaskId::new(1), &t, &unknown, "data.yaml", true),
        None
    );
    let first = removal_text(TaskId::new(1), &t, &unknown, "data.yaml", false).unwrap();
    assert!(first.contains("cannot be read right now"), "{first}");
    let doubt = Removal::Doubt(vec!["the title names @all T1".into()]);
    let text = removal_text(TaskId::new(1), &doubt, &known(DATA), "data.yaml", false).unwrap();
    assert!(
        !text.contains("```") && !text.contains("@all") && !text.contains("T1 "),
        "{text}"
    );
    // Every group of the user when the task names none; the account goes with the last one.
    let all = target("jdoe", &[]).unwrap();
    let text = removal_text(TaskId::new(1), &all, &known(DATA), "data.yaml", false).unwrap();
    assert!(
        text.contains("`jdoe` (ops)") && text.contains("ensure: absent"),
        "{text}"
    );
}
