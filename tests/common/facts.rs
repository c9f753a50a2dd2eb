//! The facts of one complete, approved, non-sudo request by a staff member: the base that the
//! table tests of the policy engine (`tests/policy.rs`) and of the plan (`tests/plan.rs`) edit.

use super::at;
use accessbot::ids::{Fingerprint, Phid, TaskId, Username};
use accessbot::keys::KeyReport;
use accessbot::policy::{
    Channel, CommentFact, Facts, KeyFacts, KeySource, Subject, SubjectBasis, SudoFacts, Trust, L3,
};
use accessbot::request::{KeyRef, Parsed, Request};

/// A comment on the task by `author` at `when`, through the web.
pub fn comment(anchor: u64, author: &str, when: &str, text: &str) -> CommentFact {
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

/// A complete, approved, non-sudo request by a staff member (T101, @jdoe), tagged on
/// 2026-11-02, approved by @mboss on 2026-11-03.
pub fn ready() -> Facts {
    let request = Request {
        full_name: Some("Jane Doe".into()),
        wikitech_user: Some("Jane Doe".into()),
        shell_user: Some("jdoe".parse().expect("shell user")),
        email: Some("jdoe@example.org".into()),
        groups: vec!["analytics-privatedata-users".into()],
        reason: Some("analysis".into()),
        manager: Some(Username::new("@mboss")),
        expiry_date: None,
        expiry_contact: None,
        key: Some(KeyRef::Inline {
            text: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA jdoe@laptop".into(),
        }),
        phabricator_user: None,
        change: None,
    };
    Facts {
        task: TaskId::new(101),
        open: true,
        tagged: true,
        title: "Requesting access to analytics-privatedata-users for jdoe".into(),
        author: Username::new("jdoe"),
        author_phid: Phid::from("PHID-USER-jdoe"),
        subject: Subject::Known {
            username: Username::new("jdoe"),
            phid: Phid::from("PHID-USER-jdoe"),
            basis: SubjectBasis::Author,
        },
        bot_user: Username::new("accessbot"),
        description: String::new(),
        parsed: Parsed {
            request,
            problems: vec![],
        },
        key: KeyFacts {
            source: KeySource::Description,
            report: Some(KeyReport {
                ok: true,
                algorithm: Some("ssh-ed25519".into()),
                bits: Some(256),
                fingerprint: Some(Fingerprint::from("SHA256:abcdefgh")),
                problems: vec![],
                private_key: false,
            }),
            trust: Trust::Trusted,
            reuse: vec![],
        },
        existing_user: false,
        shell_user_taken: false,
        comments: vec![
            comment(11, "mboss", "2026-11-03T10:00:00Z", "Approved."),
            comment(12, "aotto", "2026-11-03T11:00:00Z", "+1 from the data side"),
        ],
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
        expiry_contact_staff: None,
        manager_staff: Some(true),
        l3: L3::Signed {
            at: at("2026-11-01T09:00:00Z"),
        },
        sudo: SudoFacts::default(),
        sources: Default::default(),
    }
}
