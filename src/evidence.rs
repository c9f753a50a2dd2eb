//! Evidence gathering: turns one task's Conduit data into the engine's [`Facts`] — users,
//! staff/NDA memberships, L3 signatures, pastes, comment channels from the task page, key
//! reuse — with caches, so that an unchanged world costs no calls.
//!
//! This is the only I/O in front of the pure policy engine. Whatever cannot be read is
//! recorded as unknown (and so fails closed in the engine), never guessed.

use crate::conduit::types::{Task, Transaction, User};
use crate::conduit::{channels_from_task_page, Channel, Client, ConduitError};
use crate::ids::{Fingerprint, Phid, ShellUser, TaskId, Username};
use crate::keys::{self, KeyIndex, KeyOwner};
use crate::policy::{
    self, CommentFact, Facts, KeyFacts, KeyReuse, KeySource, SudoFacts, Trust, L3,
};
use crate::request::{self, KeyRef, Parser};
use crate::rules::{ChannelSource, L3Source, Rules};
use crate::store::{Store, TaskRow};
use crate::timeline::{DescriptionChanges, Person, Timeline, TimelineComment};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Identities resolved once at start-up.
#[derive(Debug, Clone)]
pub struct Context {
    /// The watched project.
    pub project: Phid,
    /// The bot's own PHID.
    pub bot_phid: Phid,
    /// The bot's own username.
    pub bot_user: Username,
    /// How L3 signatures can be read.
    pub l3: L3Access,
    /// Ready-column PHID, if configured.
    pub ready_column: Option<Phid>,
    /// Ready-tag project PHID, if configured.
    pub ready_tag: Option<Phid>,
}

/// Whether the bot can read L3 signatures from Legalpad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L3Access {
    /// The document, and whether the bot can see other people's signatures.
    Legalpad {
        /// The document PHID.
        document: Phid,
        /// The bot sees signatures other than its own (it can edit the document).
        visible: bool,
    },
    /// Legalpad is not usable; the reason is fit to post.
    Unavailable(String),
    /// Legalpad is not among the configured sources.
    NotConfigured,
}

impl Context {
    /// Resolves the project, the bot and L3 access (a few calls, once per start).
    pub async fn resolve(client: &Client, rules: &Rules) -> anyhow::Result<Context> {
        let me = client.whoami().await?;
        let project = client.project_by_name(&rules.phabricator.project).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "the project {:?} ([phabricator] project in policy.toml) does not exist or is not visible to the bot",
                rules.phabricator.project
            )
        })?;
        let ready_column = (!rules.phabricator.ready_column.is_empty())
            .then(|| Phid(rules.phabricator.ready_column.clone()));
        let ready_tag = if rules.phabricator.ready_tag.is_empty() {
            None
        } else {
            Some(
                client
                    .project_by_name(&rules.phabricator.ready_tag)
                    .await?
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "the ready tag project {:?} does not exist",
                            rules.phabricator.ready_tag
                        )
                    })?
                    .phid,
            )
        };
        let l3 = if rules.l3.sources.contains(&L3Source::Legalpad) {
            l3_access(client, rules, &me.phid).await
        } else {
            L3Access::NotConfigured
        };
        match &l3 {
            L3Access::Legalpad { visible: false, .. } => tracing::error!(
                document = %rules.l3.document,
                "THE BOT CANNOT SEE {} SIGNATURES: add it to the document's edit policy. Until then every L3 check is pending.",
                rules.l3.document
            ),
            L3Access::Unavailable(why) => {
                tracing::error!(document = %rules.l3.document, "L3 signatures cannot be read: {why}")
            }
            _ => {}
        }
        Ok(Context {
            project: project.phid,
            bot_phid: me.phid,
            bot_user: Username::new(&me.user_name),
            l3,
            ready_column,
            ready_tag,
        })
    }
}

/// Finds the L3 document and whether its signatures are visible: the bot sees someone else's
/// signature only when it can edit the document (an empty list proves nothing).
async fn l3_access(client: &Client, rules: &Rules, bot: &Phid) -> L3Access {
    let mono = rules.l3.document.clone();
    let docs = match client.documents(&[mono.as_str()]).await {
        Ok(d) => d,
        Err(e) => return L3Access::Unavailable(format!("legalpad.document.search failed: {e}")),
    };
    let Some(doc) = docs.into_iter().next() else {
        return L3Access::Unavailable(format!("the Legalpad document {mono} was not found"));
    };
    let visible = doc
        .attachments
        .get("signatures")
        .and_then(|s| s.get("signatures"))
        .and_then(|s| s.as_array())
        .is_some_and(|sigs| {
            sigs.iter().any(|s| {
                s.get("signerPHID")
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| p != bot.as_str())
            })
        });
    L3Access::Legalpad {
        document: doc.phid,
        visible,
    }
}

#[derive(Debug, Clone)]
struct Cached<T> {
    value: T,
    at: Instant,
}

#[derive(Debug, Clone)]
struct UserInfo {
    username: Username,
    bot: bool,
    disabled: bool,
}

#[derive(Debug, Default)]
struct Caches {
    users: HashMap<Phid, UserInfo>,
    by_name: HashMap<String, Option<Phid>>,
    staff: Option<Cached<Arc<HashSet<Phid>>>>,
    nda: Option<Cached<Arc<HashSet<Phid>>>>,
    project_phids: HashMap<String, Option<Phid>>,
    l3_signed: HashMap<Phid, DateTime<Utc>>,
    l3_unsigned: HashMap<Phid, Instant>,
    channels: HashMap<Phid, Channel>,
    pastes: HashMap<u64, Cached<Option<(Phid, String)>>>,
}

/// Gathers facts with caches shared across tasks and cycles.
pub struct EvidenceSource {
    client: Client,
    rules: Arc<Rules>,
    keys: Arc<KeyIndex>,
    parser: Parser,
    ctx: Context,
    signers: Option<HashSet<String>>,
    ttl: Duration,
    caches: Mutex<Caches>,
    /// Held while the staff/NDA memberships are refreshed, so that tasks gathered at once
    /// wait for one refresh instead of each making the same calls.
    members_refresh: tokio::sync::Mutex<()>,
}

/// A task's facts plus what the poller needs beside them.
#[derive(Debug)]
pub struct Gathered {
    /// The engine's input.
    pub facts: Facts,
    /// The timeline.
    pub timeline: Timeline,
    /// The key fingerprint, when the key parsed.
    pub fingerprint: Option<Fingerprint>,
    /// When the current key first appeared on the task.
    pub key_since: DateTime<Utc>,
    /// The acceptable public key line (for the grant patch); `None` unless the key passed.
    pub key_line: Option<String>,
}

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The key found for a request: its facts, since when it is on the task, its fingerprint
/// and, when acceptable, its public key line.
type FoundKey = (KeyFacts, DateTime<Utc>, Option<Fingerprint>, Option<String>);

/// A key candidate in a comment.
enum CommentKey {
    Text(String),
    Paste(u64),
}

/// The key a comment gives, read by the one reader ([`request::scan`]): a private key
/// anywhere (its material never leaves here), public keys in the author's own text or code
/// (never in quotes; several are all passed on, and the key check refuses them), or a paste
/// reference in a comment that speaks of a key.
fn key_in_comment(text: &str) -> Option<CommentKey> {
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
fn key_in_paste(content: String) -> String {
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
    /// A source for the bot's rules on this client: loads the known-keys index and resolves
    /// the context (the bot's account, the project, the Legalpad document) from Phabricator.
    pub async fn connect(client: Client, rules: Arc<Rules>) -> anyhow::Result<EvidenceSource> {
        let keys = Arc::new(KeyIndex::load(&rules)?);
        let ctx = Context::resolve(&client, &rules).await?;
        EvidenceSource::new(client, rules, keys, ctx)
    }

    /// A new source for this context.
    pub fn new(
        client: Client,
        rules: Arc<Rules>,
        keys: Arc<KeyIndex>,
        ctx: Context,
    ) -> anyhow::Result<EvidenceSource> {
        let signers = if rules.l3.sources.contains(&L3Source::SignersFile) {
            let path = rules
                .path(&rules.l3.signers_file)
                .ok_or_else(|| anyhow::anyhow!("[l3] signers_file is empty"))?;
            let text = std::fs::read_to_string(&path).map_err(|e| {
                anyhow::anyhow!("cannot read the L3 signers file {}: {e}", path.display())
            })?;
            Some(
                text.lines()
                    .map(|l| l.trim().trim_start_matches('@').to_lowercase())
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .collect(),
            )
        } else {
            None
        };
        let ttl = Duration::from_secs(u64::from(rules.timing.cache_ttl_minutes) * 60);
        let parser = Parser::new(&rules.labels);
        Ok(EvidenceSource {
            client,
            rules,
            keys,
            parser,
            ctx,
            signers,
            ttl,
            caches: Mutex::new(Caches::default()),
            members_refresh: tokio::sync::Mutex::new(()),
        })
    }

    /// The resolved context.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Caches> {
        self.caches.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn users(&self, phids: &[Phid]) -> Result<HashMap<Phid, UserInfo>, ConduitError> {
        let missing: Vec<Phid> = {
            let c = self.lock();
            let mut m: Vec<Phid> = phids
                .iter()
                .filter(|p| !c.users.contains_key(*p))
                .cloned()
                .collect();
            m.sort();
            m.dedup();
            m
        };
        if !missing.is_empty() {
            let found = self.client.users_by_phids(&missing).await?;
            let mut c = self.lock();
            for u in found {
                c.by_name
                    .insert(u.fields.username.to_lowercase(), Some(u.phid.clone()));
                c.users.insert(u.phid.clone(), info(&u));
            }
        }
        let c = self.lock();
        Ok(phids
            .iter()
            .filter_map(|p| c.users.get(p).map(|u| (p.clone(), u.clone())))
            .collect())
    }

    async fn phid_of(&self, username: &Username) -> Result<Option<Phid>, ConduitError> {
        if let Some(p) = self.lock().by_name.get(&username.key()) {
            return Ok(p.clone());
        }
        let found = self
            .client
            .users_by_usernames(&[username.as_str().to_string()])
            .await?;
        let mut c = self.lock();
        let hit = found
            .iter()
            .find(|u| Username::new(&u.fields.username) == *username);
        if let Some(u) = hit {
            c.users.insert(u.phid.clone(), info(u));
        }
        let p = hit.map(|u| u.phid.clone());
        c.by_name.insert(username.key(), p.clone());
        Ok(p)
    }

    fn cached_members(&self, staff: bool) -> Option<Arc<HashSet<Phid>>> {
        let c = self.lock();
        let slot = if staff { &c.staff } else { &c.nda };
        slot.as_ref()
            .filter(|s| s.at.elapsed() < self.ttl)
            .map(|s| s.value.clone())
    }

    /// The members of the staff (or NDA) projects, shared: a task reads them, never copies.
    async fn members(&self, staff: bool) -> Result<Arc<HashSet<Phid>>, ConduitError> {
        if let Some(s) = self.cached_members(staff) {
            return Ok(s);
        }
        // One refresh at a time; whoever waited finds the fresh value.
        let _refreshing = self.members_refresh.lock().await;
        if let Some(s) = self.cached_members(staff) {
            return Ok(s);
        }
        let names = if staff {
            &self.rules.people.staff_projects
        } else {
            &self.rules.people.nda_projects
        };
        let mut phids = Vec::new();
        for name in names {
            let cached = self.lock().project_phids.get(name).cloned();
            let phid = match cached {
                Some(p) => p,
                None => {
                    let p = self.client.project_by_name(name).await?.map(|p| p.phid);
                    if p.is_none() {
                        tracing::warn!(project = %name, "a configured staff/NDA project does not exist: nobody counts as its member");
                    }
                    self.lock().project_phids.insert(name.clone(), p.clone());
                    p
                }
            };
            phids.extend(phid);
        }
        let mut set = HashSet::new();
        if !phids.is_empty() {
            for p in self.client.projects_with_members(&phids).await? {
                if let Some(m) = p.attachments.members {
                    set.extend(m.members.into_iter().map(|m| m.phid));
                }
            }
        }
        let set = Arc::new(set);
        let mut c = self.lock();
        let slot = if staff { &mut c.staff } else { &mut c.nda };
        *slot = Some(Cached {
            value: set.clone(),
            at: Instant::now(),
        });
        Ok(set)
    }

    async fn paste(&self, id: u64) -> Result<Option<(Phid, String)>, ConduitError> {
        if let Some(p) = self
            .lock()
            .pastes
            .get(&id)
            .filter(|p| p.at.elapsed() < self.ttl)
        {
            return Ok(p.value.clone());
        }
        let got = self
            .client
            .pastes(&[id])
            .await?
            .into_iter()
            .find(|p| p.id == id);
        let value = got.map(|p| {
            (
                p.fields.author_phid,
                p.attachments.content.map(|c| c.content).unwrap_or_default(),
            )
        });
        self.lock().pastes.insert(
            id,
            Cached {
                value: value.clone(),
                at: Instant::now(),
            },
        );
        Ok(value)
    }

    async fn l3(&self, requester: &Phid, username: &Username) -> Result<L3, ConduitError> {
        if let Some(signers) = &self.signers {
            if signers.contains(&username.key()) {
                return Ok(L3::Signed {
                    at: DateTime::<Utc>::UNIX_EPOCH,
                });
            }
        }
        let (document, visible) = match &self.ctx.l3 {
            L3Access::Legalpad { document, visible } => (document, *visible),
            L3Access::Unavailable(why) => {
                return Ok(L3::Unknown {
                    reason: why.clone(),
                })
            }
            L3Access::NotConfigured => {
                return Ok(if self.signers.is_some() {
                    L3::NotSigned
                } else {
                    L3::Unknown {
                        reason: "no L3 source can show a signature".into(),
                    }
                })
            }
        };
        if let Some(at) = self.lock().l3_signed.get(requester) {
            return Ok(L3::Signed { at: *at });
        }
        if let Some(t) = self.lock().l3_unsigned.get(requester) {
            if t.elapsed() < self.ttl {
                return Ok(if visible {
                    L3::NotSigned
                } else {
                    L3::NotVisible
                });
            }
        }
        let sigs = self
            .client
            .signatures(document, std::slice::from_ref(requester))
            .await?;
        let mine: Vec<_> = sigs
            .iter()
            .filter(|s| s.fields.signer_phid.as_ref() == Some(requester))
            .collect();
        if let Some(s) = mine.iter().find(|s| !s.fields.is_exemption) {
            let at = ts(s.fields.date_created);
            self.lock().l3_signed.insert(requester.clone(), at);
            return Ok(L3::Signed { at });
        }
        if !mine.is_empty() {
            return Ok(L3::Unknown {
                reason: "L3 shows an exemption, not a signature: clinic duty must verify".into(),
            });
        }
        self.lock()
            .l3_unsigned
            .insert(requester.clone(), Instant::now());
        Ok(if visible {
            L3::NotSigned
        } else {
            L3::NotVisible
        })
    }

    /// Warms the caches for a batch of tasks about to be gathered: their requesters'
    /// accounts and L3 signatures in one call per 100 requesters, instead of one call per
    /// task. What fails here is simply read again, task by task, by [`Self::gather`].
    pub async fn prefetch(&self, tasks: &[Task]) {
        let mut requesters: Vec<Phid> =
            tasks.iter().map(|t| t.fields.author_phid.clone()).collect();
        requesters.sort();
        requesters.dedup();
        if let Err(e) = self.users(&requesters).await {
            tracing::warn!(error = %e, "cannot prefetch the requesters' accounts");
        }
        let L3Access::Legalpad { document, .. } = &self.ctx.l3 else {
            return;
        };
        let unknown: Vec<Phid> = {
            let c = self.lock();
            let signers = self.signers.as_ref();
            requesters
                .into_iter()
                .filter(|p| !c.l3_signed.contains_key(p))
                .filter(|p| c.l3_unsigned.get(p).is_none_or(|t| t.elapsed() >= self.ttl))
                .filter(|p| {
                    // Requesters the signers file already vouches for need no call.
                    !c.users
                        .get(p)
                        .zip(signers)
                        .is_some_and(|(u, s)| s.contains(&u.username.key()))
                })
                .collect()
        };
        if unknown.is_empty() {
            return;
        }
        let sigs = match self.client.signatures(document, &unknown).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot prefetch L3 signatures");
                return;
            }
        };
        let mut c = self.lock();
        let now = Instant::now();
        for p in unknown {
            let mine: Vec<_> = sigs
                .iter()
                .filter(|s| s.fields.signer_phid.as_ref() == Some(&p))
                .collect();
            if let Some(s) = mine.iter().find(|s| !s.fields.is_exemption) {
                c.l3_signed.insert(p, ts(s.fields.date_created));
            } else if mine.is_empty() {
                c.l3_unsigned.insert(p, now);
            }
            // Only exemptions: left to `l3`, which reports them.
        }
    }

    /// Channels of these comment transactions: from the cache, else from the task page. Of
    /// the page's markers, only those of the task's comments (`comments`) are kept.
    async fn channels(
        &self,
        task: TaskId,
        xacts: &[Phid],
        comments: &HashSet<&Phid>,
    ) -> HashMap<Phid, Channel> {
        if self.rules.evidence.channel == ChannelSource::NoInboundMail {
            return xacts.iter().map(|x| (x.clone(), Channel::Web)).collect();
        }
        let missing = {
            let c = self.lock();
            xacts.iter().any(|x| !c.channels.contains_key(x))
        };
        if missing {
            match self.client.task_page(task).await {
                Ok(html) => {
                    let found = channels_from_task_page(&html);
                    let mut c = self.lock();
                    for (phid, ch) in found {
                        if ch != Channel::Unknown && comments.contains(&phid) {
                            c.channels.insert(phid, ch);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(task = %task, error = %e, "cannot read the task page: comment channels unknown")
                }
            }
        }
        let c = self.lock();
        xacts
            .iter()
            .map(|x| {
                (
                    x.clone(),
                    c.channels.get(x).copied().unwrap_or(Channel::Unknown),
                )
            })
            .collect()
    }

    /// Whether a comment could count as evidence (worth learning its channel): it says
    /// something about a statement (read by the one reader), or it is the requester's and
    /// gives a key.
    fn may_count(&self, c: &TimelineComment, requester: &Phid) -> bool {
        if c.removed {
            return false;
        }
        crate::statement::read(&c.text, &self.rules).any()
            || (&c.author == requester && key_in_comment(&c.text).is_some())
    }

    /// Gathers the facts of one task from its search result and its transactions.
    pub async fn gather(
        &self,
        task: &Task,
        txs: &[Transaction],
        row: Option<&TaskRow>,
    ) -> Result<Gathered, ConduitError> {
        let id = TaskId(task.id);
        let timeline = Timeline::build(txs, &self.ctx.project, &self.ctx.bot_phid);
        let requester_phid = task.fields.author_phid.clone();
        let mut parsed = self
            .parser
            .parse(&task.fields.name, &task.fields.description.raw);
        for g in policy::hidden_sudo_groups(
            &task.fields.name,
            &task.fields.description.raw,
            &parsed.request.groups,
            &self.rules,
        ) {
            parsed.problems.push(crate::request::Problem {
                field: policy::HIDDEN_GROUPS_FIELD.into(),
                message: format!(
                    "the title or description names the sudo group {g} outside the requested groups: list every group you need under the groups field (or remove the mention)"
                ),
                span: 0..0,
            });
        }

        let mut phids: Vec<Phid> = timeline.comments.iter().map(|c| c.author.clone()).collect();
        phids.push(requester_phid.clone());
        let users = self.users(&phids).await?;
        let requester = users
            .get(&requester_phid)
            .map(|u| u.username.clone())
            .unwrap_or_else(|| Username::new(requester_phid.as_str()));
        let staff = self.members(true).await?;
        let nda = if self.rules.people.nda_projects.is_empty() {
            Arc::default()
        } else {
            self.members(false).await?
        };

        let counting: Vec<Phid> = timeline
            .comments
            .iter()
            .filter(|c| self.may_count(c, &requester_phid))
            .map(|c| c.xact.clone())
            .collect();
        let channels = if counting.is_empty() {
            HashMap::new()
        } else {
            let comments: HashSet<&Phid> = timeline.comments.iter().map(|c| &c.xact).collect();
            self.channels(id, &counting, &comments).await
        };

        // Authors that are not users (Herald, applications) are left out: they never count.
        let comments: Vec<CommentFact> = timeline.comment_facts(
            |phid| {
                users.get(phid).map(|u| Person {
                    username: u.username.clone(),
                    is_bot: u.bot || *phid == self.ctx.bot_phid,
                    disabled: u.disabled,
                    staff: staff.contains(phid),
                })
            },
            |xact| channels.get(xact).copied().unwrap_or(Channel::Unknown),
        );

        let changes =
            timeline.description_changes(|text| self.parser.parse(&task.fields.name, text));
        let (key, key_since, fingerprint, key_line) = self
            .key_facts(
                id,
                &parsed.request.key,
                &timeline,
                &comments,
                &requester_phid,
                &requester,
                &changes,
                task,
            )
            .await?;
        // A key from a comment changed when that comment was written; a key from the
        // description when an edit last changed it.
        let key_changed_at = match key.source {
            KeySource::Comment { .. } => Some(key_since),
            _ => changes.key_changed_at,
        };
        let groups_changed_at = changes.groups_changed_at;

        let expiry_contact_staff = match &parsed.request.expiry_contact {
            Some(u) => match self.phid_of(u).await? {
                Some(p) => Some(staff.contains(&p)),
                None => Some(false),
            },
            None => None,
        };
        let l3 = self.l3(&requester_phid, &requester).await?;
        let existing_user = parsed
            .request
            .shell_user
            .as_ref()
            .is_some_and(|s: &ShellUser| self.keys.has_shell_user(s));
        let sudo = SudoFacts {
            // The first meeting it was scheduled for: the engine counts rollovers from it.
            scheduled_for: row
                .and_then(|r| r.first_meeting.as_deref().or(r.meeting.as_deref()))
                .and_then(|m| m.parse().ok()),
            first_ready_at: row.and_then(|r| r.first_ready_at).map(ts),
        };
        let facts = Facts {
            task: id,
            open: is_open(&task.fields.status.value),
            title: task.fields.name.clone(),
            requester,
            requester_phid: requester_phid.clone(),
            bot_user: self.ctx.bot_user.clone(),
            parsed,
            key,
            existing_user,
            comments,
            key_changed_at,
            groups_changed_at,
            tagged_at: timeline.tagged_at,
            requester_staff: staff.contains(&requester_phid),
            requester_nda: nda.contains(&requester_phid),
            expiry_contact_staff,
            l3,
            sudo,
        };
        Ok(Gathered {
            facts,
            timeline,
            fingerprint,
            key_since,
            key_line,
        })
    }

    /// Adds key reuse found in the store and in data.yaml / known keys.
    pub async fn add_reuse(
        &self,
        g: &mut Gathered,
        store: &Store,
    ) -> Result<(), crate::store::StoreError> {
        let Some(fp) = &g.fingerprint else {
            return Ok(());
        };
        let mut reuse = Vec::new();
        for s in store
            .key_sightings(fp, &g.facts.requester, g.key_since.timestamp())
            .await?
        {
            if s.task_id as u64 != g.facts.task.0 {
                reuse.push(KeyReuse::EarlierRequest {
                    task: TaskId(s.task_id as u64),
                });
            }
        }
        let own = g
            .facts
            .parsed
            .request
            .shell_user
            .as_ref()
            .map(|s| s.as_str().to_string());
        for owner in self.keys.owners(fp) {
            match owner {
                KeyOwner::Admin(user) if Some(&user) != own.as_ref() => {
                    reuse.push(KeyReuse::DataYaml { user })
                }
                KeyOwner::Admin(_) => {}
                KeyOwner::KnownKeys => reuse.push(KeyReuse::KnownKeys),
            }
        }
        g.facts.key.reuse = reuse;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn key_facts(
        &self,
        id: TaskId,
        described: &Option<KeyRef>,
        timeline: &Timeline,
        comments: &[CommentFact],
        requester: &Phid,
        requester_name: &Username,
        changes: &DescriptionChanges,
        task: &Task,
    ) -> Result<FoundKey, ConduitError> {
        let created = timeline
            .created_at
            .unwrap_or_else(|| ts(task.fields.date_created));
        // The newest key the requester posted in a comment overrides the description's; keys
        // posted by anyone else never count, and are reported only when there is no other key.
        let mut own: Option<(&CommentFact, CommentKey)> = None;
        let mut other: Option<&CommentFact> = None;
        for c in comments.iter().rev() {
            if c.removed {
                continue;
            }
            if let Some(k) = key_in_comment(&c.text) {
                if &c.author == requester_name {
                    own = Some((c, k));
                    break;
                } else if other.is_none() {
                    other = Some(c);
                }
            }
        }
        let (source, text, trust, since) = if let Some((c, k)) = own {
            let source = KeySource::Comment {
                xact: c.xact.clone(),
                anchor: c.anchor,
            };
            let trust = policy::comment_key_trust(c, requester_name);
            match k {
                CommentKey::Text(t) => (source, Some(t), trust, c.at),
                CommentKey::Paste(pid) => {
                    let (text, ptrust) = self.paste_key(pid, requester).await?;
                    let trust = if trust == Trust::Trusted {
                        ptrust
                    } else {
                        trust
                    };
                    (source, text, trust, c.at)
                }
            }
        } else {
            match described {
                Some(KeyRef::Inline { text }) => {
                    let by_requester = changes.key_written_by.as_ref() == Some(requester);
                    let trust = policy::authored_key_trust(&KeySource::Description, by_requester);
                    (KeySource::Description, Some(text.clone()), trust, created)
                }
                Some(KeyRef::Paste { id: pid }) => {
                    let (text, trust) = self.paste_key(*pid, requester).await?;
                    // The reference itself must come from the requester too.
                    let trust = if changes.key_written_by.as_ref() == Some(requester) {
                        trust
                    } else {
                        policy::authored_key_trust(&KeySource::Description, false)
                    };
                    (KeySource::Paste { id: *pid }, text, trust, created)
                }
                Some(KeyRef::Pointer { .. }) => (
                    KeySource::Pointer,
                    None,
                    Trust::Unverified {
                        reason: "the key is referenced by a link: clinic duty must verify it"
                            .into(),
                    },
                    created,
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
                                "the key was posted by @{}, not by the requester",
                                c.author
                            ),
                        },
                        c.at,
                    ),
                    None => (
                        KeySource::None,
                        None,
                        Trust::Unverified {
                            reason: "no key was found".into(),
                        },
                        created,
                    ),
                },
            }
        };
        // A private key posted by anyone, anywhere on the task, since the current key
        // appeared compromises it (a later new key is not touched).
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
                Some(t.split_whitespace().collect::<Vec<_>>().join(" "))
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
            since,
            fingerprint,
            key_line,
        ))
    }

    async fn paste_key(
        &self,
        pid: u64,
        requester: &Phid,
    ) -> Result<(Option<String>, Trust), ConduitError> {
        Ok(match self.paste(pid).await? {
            None => (
                None,
                Trust::Unverified {
                    reason: format!("paste P{pid} cannot be read by the bot"),
                },
            ),
            Some((author, content)) if &author == requester => {
                (Some(key_in_paste(content)), Trust::Trusted)
            }
            Some((_, content)) => (
                Some(key_in_paste(content)),
                Trust::NotTrusted {
                    reason: format!("paste P{pid} was written by someone else, not the requester"),
                },
            ),
        })
    }
}

fn info(u: &User) -> UserInfo {
    UserInfo {
        username: Username::new(&u.fields.username),
        bot: u.is_bot(),
        disabled: u.is_disabled(),
    }
}

/// Whether a Maniphest status value is open: everything but the closed statuses, so that an
/// unknown custom status keeps the task tracked.
pub fn is_open(status: &str) -> bool {
    !matches!(
        status,
        "resolved" | "declined" | "invalid" | "duplicate" | "wontfix" | "spite"
    )
}
