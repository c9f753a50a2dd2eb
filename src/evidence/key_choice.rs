//! Key choice: which SSH key of a task counts (the description, a paste, a comment), since
//! when it is there (approvals older than it are stale), and whether it may be trusted (a paste
//! written by someone else, a key used elsewhere).

use super::*;

impl KeyDates {
    /// The dates of a key in a paste that was referenced at `self`: the key appeared when
    /// both the reference and the paste's text were there, so a paste created or changed
    /// later dates it (and makes older approvals stale). `changed`: the paste's last change.
    pub(super) fn with_paste(self, changed: Option<Moment>) -> KeyDates {
        let Some(p) = changed else {
            return self;
        };
        KeyDates {
            first_seen: self.first_seen.max(p),
            changed: Some(self.changed.map_or(p, |c| c.max(p))),
        }
    }
}

/// A key read from a paste: the key text (a private key redacted), whether it counts, when the
/// paste last changed, and the paste's text as written.
pub(super) struct PasteKey {
    pub(super) text: Option<String>,
    pub(super) trust: Trust,
    pub(super) changed: Option<Moment>,
    pub(super) raw: Option<String>,
}

/// When a request's key appeared (design §10, provenance by time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDates {
    /// When this key first appeared on the task: the first description version that held it,
    /// the comment with it, the paste's last change (whichever is later for a paste). Key reuse
    /// is decided by it: the earlier appearance wins, whatever the tasks' creation dates.
    pub first_seen: Moment,
    /// When the current key came, for the approvals: the description edit that set it, the
    /// comment with it, the paste's last change. `None`: unchanged since the first
    /// description.
    pub changed: Option<Moment>,
}

/// A key candidate in a comment.
pub(super) enum CommentKey {
    Text(String),
    Paste(u64),
}

/// Where a task's facts came from ([`Sources`]): the description's last version, the tag
/// transaction, where the key judged was written, and the comments whose key was not taken.
pub(super) fn key_sources(
    timeline: &Timeline,
    txs: &[Transaction],
    key: &KeyFacts,
    dates: &KeyDates,
    subject: &Username,
    comments: &[CommentFact],
) -> Sources {
    let version = |anchor: Option<u64>| {
        anchor
            .and_then(|a| timeline.descriptions.iter().find(|v| v.anchor == a))
            .map(|v| Evidence::Transaction {
                xact: v.xact.clone(),
                anchor: v.anchor,
            })
            .unwrap_or(Evidence::Task)
    };
    let description = Some(version(timeline.descriptions.last().map(|v| v.anchor)));
    let tag = match (&timeline.tag_xact, timeline.tagged_at) {
        (Some(x), _) => txs
            .iter()
            .find(|t| &t.phid == x)
            .map(|t| Evidence::Transaction {
                xact: t.phid.clone(),
                anchor: t.id,
            }),
        (None, Some(_)) => Some(Evidence::Task),
        (None, None) => None,
    };
    let (key_at, taken) = match &key.source {
        KeySource::Description => (vec![version(dates.first_seen.xact)], None),
        KeySource::Comment { xact, anchor } => {
            let mut v = vec![Evidence::Transaction {
                xact: xact.clone(),
                anchor: *anchor,
            }];
            let said = comments.iter().find(|c| &c.xact == xact);
            if let Some(CommentKey::Paste(id)) = said.and_then(|c| key_in_comment(&c.text)) {
                v.push(Evidence::Paste { id });
            }
            (v, Some(xact.clone()))
        }
        KeySource::Paste { id } => (
            vec![version(dates.first_seen.xact), Evidence::Paste { id: *id }],
            None,
        ),
        KeySource::Pointer => (vec![version(dates.first_seen.xact)], None),
        KeySource::None => (Vec::new(), None),
    };
    let keys_not_taken = comments
        .iter()
        .filter(|c| !c.removed && Some(&c.xact) != taken.as_ref())
        .filter(|c| key_in_comment(&c.text).is_some())
        .map(|c| {
            let why = if &c.author != subject {
                format!(
                    "a key posted by @{}, not by @{subject}, whom the request is for, never counts",
                    c.author
                )
            } else if c.channel == Channel::Email {
                "a key that came by email is not taken: it must be posted on the web".to_string()
            } else {
                format!("an older key of @{subject}: the newest key posted on the web counts")
            };
            (c.xact.clone(), why)
        })
        .collect();
    Sources {
        description,
        tag,
        key: key_at,
        keys_not_taken,
        edited_from_yes: Vec::new(),
    }
}

/// The key a comment gives, read by the one reader ([`request::scan`]): a private key
/// anywhere (its material never leaves here), public keys in the author's own text or code
/// (never in quotes; several are all passed on, and the key check refuses them), or a paste
/// reference in a comment that speaks of a key.
pub(super) fn key_in_comment(text: &str) -> Option<CommentKey> {
    let found = request::scan(text);
    if found.private {
        return Some(CommentKey::Text(request::REDACTED_PRIVATE_KEY.into()));
    }
    if !found.keys.is_empty() {
        return Some(CommentKey::Text(found.keys.join("\n")));
    }
    let speaks_of_a_key = text.to_lowercase().contains("key");
    match found.pastes.first() {
        Some(&id) if speaks_of_a_key => Some(CommentKey::Paste(id)),
        _ => None,
    }
}

/// The key text of a paste, read like a comment: a private key anywhere is redacted, public
/// keys outside quotes are passed on, a key that is only quoted is no key.
pub(super) fn key_in_paste(content: String) -> String {
    let found = request::scan(&content);
    if found.private {
        request::REDACTED_PRIVATE_KEY.into()
    } else if !found.keys.is_empty() {
        found.keys.join("\n")
    } else if found.quoted {
        String::new()
    } else {
        content
    }
}

impl EvidenceSource {
    /// The request's key, where it came from, whether that source is trusted, and when it
    /// appeared ([`KeyDates`]). `subject` / `subject_name`: whose key counts.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn key_facts(
        &self,
        id: TaskId,
        described: &Option<KeyRef>,
        timeline: &Timeline,
        comments: &[CommentFact],
        subject: &Phid,
        subject_name: &Username,
        changes: &DescriptionChanges,
        task: &Task,
    ) -> Result<FoundKey, ConduitError> {
        let created = Moment::untracked(
            timeline
                .created_at
                .unwrap_or_else(|| ts(task.fields.date_created)),
        );
        // A comment is dated by its transaction; an edited one by its newest version, which has
        // no transaction of its own.
        let moment_of = |c: &CommentFact| {
            timeline
                .comment_moment(&c.xact)
                .unwrap_or(Moment::untracked(c.at))
        };
        // The description's key is dated by the version that introduced it. When the text the
        // bot parsed is not the newest version's (the task changed between the two reads), the
        // key cannot be dated nor its writer known: dated now-ish and unverified, read again
        // next cycle.
        let described_dates = |k: &KeyRef| {
            changes.key_dates(k).map(|(first_seen, changed)| KeyDates {
                first_seen,
                changed,
            })
        };
        let unsettled = || {
            let newest = timeline
                .descriptions
                .last()
                .map(|v| v.at)
                .unwrap_or(created.at)
                .max(ts(task.fields.date_modified));
            let m = Moment::untracked(newest);
            KeyDates {
                first_seen: m,
                changed: Some(m),
            }
        };
        let unsettled_trust = || Trust::Unverified {
            reason: if timeline.descriptions.is_empty() {
                "the task's history shows no description version, so who wrote the key cannot be told".into()
            } else {
                "the description changed while the bot read it: it is read again next cycle".into()
            },
        };
        // The newest key the subject posted in a comment overrides the description's; keys
        // posted by anyone else never count, and are reported only when there is no other key.
        // A key the subject sent by email never replaces the one that counts: it is judged
        // only when there is no other key, and otherwise named on the `key-channel` line.
        let mut own: Option<(&CommentFact, CommentKey)> = None;
        let mut other: Option<&CommentFact> = None;
        let mut emailed: Option<(&CommentFact, CommentKey)> = None;
        for c in comments.iter().rev() {
            if c.removed {
                continue;
            }
            if let Some(k) = key_in_comment(&c.text) {
                if &c.author == subject_name && c.channel == Channel::Email {
                    if emailed.is_none() {
                        emailed = Some((c, k));
                    }
                } else if &c.author == subject_name {
                    own = Some((c, k));
                    break;
                } else if other.is_none() {
                    other = Some(c);
                }
            }
        }
        let newer_by_email = emailed.as_ref().map(|(c, _)| *c);
        if own.is_none() && described.is_none() {
            own = emailed;
        }
        // A paste's text as its author wrote it (the key line of a grant is found again in it).
        let mut paste_raw: Option<String> = None;
        let (source, text, trust, dates) = if let Some((c, k)) = own {
            let source = KeySource::Comment {
                xact: c.xact.clone(),
                anchor: c.anchor,
            };
            let trust = policy::comment_key_trust(c, subject_name);
            let at = moment_of(c);
            let dates = KeyDates {
                first_seen: at,
                changed: Some(at),
            };
            match k {
                CommentKey::Text(t) => (source, Some(t), trust, dates),
                CommentKey::Paste(pid) => {
                    let PasteKey {
                        text,
                        trust: ptrust,
                        changed,
                        raw,
                    } = self.paste_key(pid, subject).await?;
                    paste_raw = raw;
                    let trust = if trust == Trust::Trusted {
                        ptrust
                    } else {
                        trust
                    };
                    (source, text, trust, dates.with_paste(changed))
                }
            }
        } else {
            match described {
                Some(k @ KeyRef::Inline { text }) => {
                    let by_subject = changes.key_written_by.as_ref() == Some(subject);
                    let trust = policy::authored_key_trust(&KeySource::Description, by_subject);
                    match described_dates(k) {
                        Some(d) => (KeySource::Description, Some(text.clone()), trust, d),
                        None => (
                            KeySource::Description,
                            Some(text.clone()),
                            unsettled_trust(),
                            unsettled(),
                        ),
                    }
                }
                Some(k @ KeyRef::Paste { id: pid }) => {
                    let PasteKey {
                        text,
                        trust,
                        changed,
                        raw,
                    } = self.paste_key(*pid, subject).await?;
                    paste_raw = raw;
                    // The reference itself must come from the subject too.
                    let trust = if changes.key_written_by.as_ref() == Some(subject) {
                        trust
                    } else {
                        policy::authored_key_trust(&KeySource::Description, false)
                    };
                    match described_dates(k) {
                        Some(d) => (KeySource::Paste { id: *pid }, text, trust, d.with_paste(changed)),
                        None => (
                            KeySource::Paste { id: *pid },
                            text,
                            unsettled_trust(),
                            unsettled().with_paste(changed),
                        ),
                    }
                }
                Some(KeyRef::Pointer { .. }) => (
                    KeySource::Pointer,
                    None,
                    Trust::Unverified {
                        reason: "the key is referenced by a link: clinic duty must verify it"
                            .into(),
                    },
                    KeyDates {
                        first_seen: changes.key_first_seen.unwrap_or(created),
                        changed: changes.key_changed_at,
                    },
                ),
                None => match other {
                    Some(c) => (
                        KeySource::Comment {
                            xact: c.xact.clone(),
                            anchor: c.anchor,
                        },
                        match key_in_comment(&c.text) {
                            Some(CommentKey::Text(t)) => Some(t),
                            _ => None,
                        },
                        Trust::NotTrusted {
                            reason: format!(
                                "the key was posted by @{}, not by @{subject_name}, whom the request is for",
                                c.author
                            ),
                        },
                        KeyDates {
                            first_seen: moment_of(c),
                            changed: Some(moment_of(c)),
                        },
                    ),
                    None => (
                        KeySource::None,
                        None,
                        Trust::Unverified {
                            reason: "no key was found".into(),
                        },
                        KeyDates {
                            first_seen: created,
                            changed: changes.key_changed_at,
                        },
                    ),
                },
            }
        };
        // The subject's newest key came by email, after the key judged: their intent is a new
        // key, so the request is not ready, and the line says which key is judged.
        let trust = match newer_by_email {
            Some(e)
                if moment_of(e) > dates.first_seen
                    && !matches!(&source, KeySource::Comment { xact, .. } if *xact == e.xact) =>
            {
                let same = match (key_in_comment(&e.text), &text) {
                    (Some(CommentKey::Text(k)), Some(t)) => {
                        let fp = |k: &str| keys::judge(k, &self.rules.keys).fingerprint;
                        fp(&k).is_some() && fp(&k) == fp(t)
                    }
                    _ => false,
                };
                match trust {
                    Trust::Trusted if !same => Trust::NotTrusted {
                        reason: format!(
                            "@{subject_name} sent another key by email on {} ({id}#{}), which was not taken (the key judged is the one {})",
                            crate::calendar::local_date(e.at, &self.rules.timing),
                            e.anchor,
                            match &source {
                                KeySource::Description => "in the task description".to_string(),
                                KeySource::Comment { anchor, .. } => format!("in the comment {id}#{anchor}"),
                                KeySource::Paste { id } => format!("in paste P{id}"),
                                KeySource::Pointer | KeySource::None => "above".to_string(),
                            }
                        ),
                    },
                    t => t,
                }
            }
            _ => trust,
        };
        // A private key posted by anyone, anywhere on the task, since the current key
        // appeared compromises it (a later new key is not touched).
        let since = dates.first_seen.at;
        let compromised = comments
            .iter()
            .any(|c| !c.removed && c.at >= since && request::has_private_key(&c.text));
        let text = if compromised {
            Some(request::REDACTED_PRIVATE_KEY.to_string())
        } else {
            text
        };
        let report = text.as_deref().map(|t| keys::judge(t, &self.rules.keys));
        let fingerprint = report.as_ref().and_then(|r| {
            if r.private_key {
                None
            } else {
                r.fingerprint.clone()
            }
        });
        tracing::debug!(task = %id, source = source.as_str(), "key found");
        let key_line = match (&report, &text) {
            (Some(r), Some(t)) if r.ok && !r.private_key => {
                // The line as the requester wrote it, comment included, found again in the
                // raw text it came from (the parsed text has lost markup-like characters).
                let raw = match &source {
                    KeySource::Description => Some(task.fields.description.raw.as_str()),
                    KeySource::Comment { xact, .. } => comments
                        .iter()
                        .find(|c| &c.xact == xact)
                        .map(|c| c.text.as_str()),
                    KeySource::Paste { .. } => paste_raw.as_deref(),
                    _ => None,
                };
                raw.and_then(|raw| crate::grant::exact_key_line(raw, t))
                    .or_else(|| crate::grant::exact_key_line(t, t))
                    .or_else(|| Some(t.split_whitespace().collect::<Vec<_>>().join(" ")))
            }
            _ => None,
        };
        Ok((
            KeyFacts {
                source,
                report,
                trust,
                reuse: Vec::new(),
            },
            dates,
            fingerprint,
            key_line,
        ))
    }

    /// The key text of paste `pid`, whether it counts as the subject's, and when its text last
    /// changed (`None`: unreadable). It counts only when the subject wrote it and nobody else
    /// changed it since.
    pub(super) async fn paste_key(
        &self,
        pid: u64,
        subject: &Phid,
    ) -> Result<PasteKey, ConduitError> {
        let Some(p) = self.paste(pid, subject).await? else {
            return Ok(PasteKey {
                text: None,
                trust: Trust::Unverified {
                    reason: format!("paste P{pid} cannot be read by the bot"),
                },
                changed: None,
                raw: None,
            });
        };
        let changed = Some(Moment::untracked(p.changed));
        if let Some(at) = self.as_of.filter(|at| p.changed > *at) {
            // What it said then is not kept: unverified (fail closed).
            return Ok(PasteKey {
                text: None,
                trust: Trust::Unverified {
                    reason: format!(
                        "paste P{pid} was written or changed after {}, so what it said then is unknown",
                        at.to_rfc3339()
                    ),
                },
                changed,
                raw: None,
            });
        }
        let key = |trust: Trust, content: String| PasteKey {
            text: Some(key_in_paste(content.clone())),
            trust,
            changed,
            raw: Some(content),
        };
        if &p.author != subject {
            let trust = Trust::NotTrusted {
                reason: format!(
                    "paste P{pid} was written by someone other than the person the request is for"
                ),
            };
            return Ok(key(trust, p.content));
        }
        let others: Vec<Phid> = p.editors.into_iter().filter(|e| e != subject).collect();
        if others.is_empty() {
            return Ok(key(Trust::Trusted, p.content));
        }
        let names = self.users(&others).await?;
        let mut who: Vec<String> = others
            .iter()
            .map(|e| {
                names.get(e).map_or_else(
                    || "another account".to_string(),
                    |u| format!("@{}", u.username),
                )
            })
            .collect();
        who.dedup();
        let trust = Trust::NotTrusted {
            reason: format!(
                "paste P{pid} was also changed by {}, not only by the person the request is for",
                who.join(", ")
            ),
        };
        Ok(key(trust, p.content))
    }
}
