//! Evidence gathering: turns one task's Conduit data into the engine's [`Facts`] — users,
//! staff/NDA memberships, L3 signatures, pastes, comment channels from the task page, key
//! reuse — with caches, so that an unchanged world costs no calls.
//!
//! This is the only I/O in front of the pure policy engine. Whatever cannot be read is
//! recorded as unknown (and so fails closed in the engine), never guessed.
//!
//! Here: [`EvidenceSource`] (gathering one task, the batch prefetch, comment channels from task
//! pages). Beside it: `context` (identities resolved once at start-up), `directory` (the cached
//! reads of people, memberships, signatures and pastes) and `key_choice` (which key counts,
//! since when, and whether it may be trusted).

use crate::conduit::{channel_map, Channel, Client, ConduitError, NotAPage, TaskPage};
use crate::ids::{Fingerprint, Phid, ShellUser, TaskId, Username};
use crate::keys::{self, KeyIndex, KeyOwner};
use crate::policy::{
    self, CommentFact, Eligibility, Evidence, Facts, KeyFacts, KeyReuse, KeySource, Sources,
    Subject, SubjectBasis, SudoFacts, Trust, L3,
};
use crate::request::{self, KeyRef, Parser, Request};
use crate::rules::{ChannelSource, L3Source, Rules};
use crate::store::{Store, TaskRow};
use crate::timeline::{DescriptionChanges, Moment, Person, Timeline, TimelineComment};
use crate::wire::{Task, Transaction, User};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod context;
mod directory;
mod key_choice;

pub use crate::ids::same_name;
pub use context::{Context, L3Access};
use directory::{directory_name, info, Cached, Caches, UserInfo};
pub use key_choice::KeyDates;
use key_choice::{key_in_comment, key_sources};

/// How long a paste read for a batch stands for a read of it while gathering: a batch is
/// gathered within seconds of its prefetch; an older read is not used.
const PASTE_FRESH: Duration = Duration::from_secs(30);

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
    /// What the last task page fetched was: said once, loudly, when it changes.
    pages: Mutex<PageHealth>,
    /// The instant of a what-if (`--now`): tasks are read as they were then
    /// ([`Self::rewind`]), pastes changed later are unverified, later L3 signatures unsigned.
    as_of: Option<DateTime<Utc>>,
    /// Where the comment channels learnt from task pages and the paste histories read are
    /// kept across restarts, if set ([`Self::remember_in`]).
    store: std::sync::OnceLock<Store>,
}

/// Whether task pages can be read, as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageHealth {
    /// No page fetched yet.
    Unknown,
    /// The last page was a task page.
    Readable,
    /// The last page was not a task page.
    Broken(NotAPage),
}

/// Why task pages cannot be read, with the fix, for the log and `check`/`explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageProblem {
    /// What the server answered instead of a task page.
    pub kind: NotAPage,
    /// One paragraph for an operator: what happened, what it means, how to fix it.
    pub message: String,
}

impl std::fmt::Display for PageProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The fix when task pages need a session (the README says how to get the cookie).
const COOKIE_FIX: &str = "set `session_cookie_file` in policy.toml ([evidence]) to a file holding the `phsid` cookie of an ordinary read-only account (bot accounts cannot hold web sessions; see the README, \"Pointing it at a real Phabricator\"), or, if the install accepts no email replies, set `channel = \"no-inbound-mail\"`";

/// A task's facts plus what the poller needs beside them.
#[derive(Debug)]
pub struct Gathered {
    /// The engine's input.
    pub facts: Facts,
    /// The timeline.
    pub timeline: Timeline,
    /// The key fingerprint, when the key parsed.
    pub fingerprint: Option<Fingerprint>,
    /// When the current key first appeared on the task (key reuse is decided by it).
    pub key_since: Moment,
    /// The acceptable public key line (for the grant patch); `None` unless the key passed.
    pub key_line: Option<String>,
    /// The named manager's account as the server spells it, only when the bot found an
    /// existing, enabled, non-bot account by that name that is a member of a staff project
    /// (only a staff member's approval counts as the manager's): a live mention goes only to
    /// it, so a requester cannot have the bot ping an arbitrary account.
    pub manager_account: Option<Username>,
}

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The key found for a request: its facts, its dates, its fingerprint and, when acceptable,
/// its public key line.
type FoundKey = (KeyFacts, KeyDates, Option<Fingerprint>, Option<String>);

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
                    .map(|l| l.trim().trim_start_matches('@').to_ascii_lowercase())
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
            pages: Mutex::new(PageHealth::Unknown),
            as_of: None,
            store: std::sync::OnceLock::new(),
        })
    }

    /// Keeps the comment channels read from task pages and the paste histories read in
    /// `store`, and looks there before reading: a comment's channel never changes, so a
    /// restarted bot reads a task's page again only for comments it has not seen; a paste's
    /// history is read again only when its `dateModified` moved. Set once; later calls are
    /// ignored.
    pub fn remember_in(&self, store: Store) {
        let _ = self.store.set(store);
    }

    /// Reads every task as it was at `at` (`--now`): see [`Self::rewind`]. `None`: as it is.
    pub fn with_as_of(mut self, at: Option<DateTime<Utc>>) -> EvidenceSource {
        self.as_of = at;
        self
    }

    /// The instant tasks are read as of, if it is a what-if.
    pub fn as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of
    }

    /// A task and its transactions as they were at the what-if instant
    /// ([`crate::timeline::rewind`]); unchanged without one. False when the task did not
    /// exist yet then.
    pub fn rewind(&self, task: &mut Task, txs: &mut Vec<Transaction>) -> bool {
        match self.as_of {
            Some(at) => {
                crate::timeline::rewind(task, txs, at, &self.ctx.bot_phid, &self.rules.phabricator)
            }
            None => true,
        }
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

    /// Warms the caches for a batch of tasks about to be gathered, given the timelines read
    /// for them (`timelines`, any order, may be fewer than the tasks): the accounts of their
    /// requesters and of everyone who commented on them (the first-seen commenters too) in
    /// one `user.search` per 100, their requesters' L3 signatures in one call per 100, the
    /// pastes they name; instead of calls task by task. What fails here is simply read
    /// again, task by task, by [`Self::gather`].
    pub async fn prefetch(&self, tasks: &[&Task], timelines: &[&[Transaction]]) {
        let requests: Vec<Request> = tasks
            .iter()
            .map(|t| {
                self.parser
                    .parse(&t.fields.name, &t.fields.description.raw)
                    .request
            })
            .collect();
        self.prefetch_pastes(&requests).await;
        self.prefetch_channels(timelines).await;
        let mut requesters: Vec<Phid> =
            tasks.iter().map(|t| t.fields.author_phid.clone()).collect();
        requesters.sort();
        requesters.dedup();
        // Everyone [`Self::gather`] looks up: the requesters and the comments' authors (the
        // bot's own comments aside, as the timeline sets them aside).
        let mut people = requesters.clone();
        people.extend(
            timelines
                .iter()
                .flat_map(|txs| txs.iter())
                .filter(|x| x.newest_comment().is_some() && x.author_phid != self.ctx.bot_phid)
                .map(|x| x.author_phid.clone()),
        );
        if let Err(e) = self.users(&people).await {
            tracing::warn!(error = %e, "cannot prefetch the accounts of the batch's requesters and commenters");
        }
        // Those accounts are known by name now: the names looked up are the others.
        self.prefetch_names(&requests).await;
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
                        .is_some_and(|(u, s)| s.contains(&u.value.username.key()))
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

    /// The channels the store keeps of the batch's comments (the bot's own aside), in one
    /// query instead of one per task; those it does not have are marked so that
    /// [`Self::channels`] reads their page without asking again. Also writes the channels
    /// learnt since the last batch ([`Self::keep_learnt`]).
    async fn prefetch_channels(&self, timelines: &[&[Transaction]]) {
        let Some(store) = self.store.get() else {
            return;
        };
        self.keep_learnt().await;
        if self.rules.evidence.channel == ChannelSource::NoInboundMail {
            return;
        }
        let wanted: Vec<Phid> = {
            let c = self.lock();
            timelines
                .iter()
                .flat_map(|txs| txs.iter())
                .filter(|x| x.newest_comment().is_some() && x.author_phid != self.ctx.bot_phid)
                .map(|x| x.phid.clone())
                .filter(|x| !c.channels.contains_key(x))
                .collect()
        };
        if wanted.is_empty() {
            return;
        }
        match store.channels(&wanted).await {
            Ok(known) => {
                let mut c = self.lock();
                c.unstored
                    .extend(wanted.into_iter().filter(|x| !known.contains_key(x)));
                c.channels.extend(known);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the known comment channels of the batch: asking task by task")
            }
        }
    }

    /// Writes the channels learnt from task pages since the last call to the store, in one
    /// statement (see [`Self::remember_in`]); a failure is logged: a restart then reads those
    /// pages again.
    pub async fn keep_learnt(&self) {
        let Some(store) = self.store.get() else {
            return;
        };
        let found = std::mem::take(&mut self.lock().to_keep);
        if found.is_empty() {
            return;
        }
        if let Err(e) = store.put_channels(&found).await {
            tracing::warn!(error = %e, channels = found.len(), "cannot keep the comment channels read: a restart reads their pages again");
        }
    }

    /// The pastes the batch's descriptions name as the key, in one `paste.search` per 100
    /// instead of one each; each is used by the next read of it within [`PASTE_FRESH`].
    async fn prefetch_pastes(&self, requests: &[Request]) {
        let mut ids: Vec<u64> = requests
            .iter()
            .filter_map(|r| match r.key {
                Some(KeyRef::Paste { id }) => Some(id),
                _ => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return;
        }
        match self.client.pastes(&ids).await {
            Ok(found) => {
                let at = Instant::now();
                let mut by_id: HashMap<u64, crate::wire::Paste> =
                    found.into_iter().map(|p| (p.id, p)).collect();
                let unknown: Vec<u64> = {
                    let c = self.lock();
                    by_id
                        .values()
                        .filter(|p| {
                            c.paste_history
                                .get(&p.id)
                                .is_none_or(|h| h.date_modified != p.fields.date_modified)
                        })
                        .map(|p| p.id)
                        .collect()
                };
                self.load_paste_histories(&unknown).await;
                let mut c = self.lock();
                c.pastes.retain(|_, (t, _)| t.elapsed() < PASTE_FRESH);
                for id in ids {
                    c.pastes.insert(id, (at, by_id.remove(&id)));
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot prefetch the batch's pastes"),
        }
    }

    /// The accounts the batch's requests name (the Phabricator username, the manager, the
    /// expiry contact, and the shell and wikitech users that [`Self::subject`] may look up
    /// in the directory), in one `user.search` by usernames per 100 instead of one each;
    /// a name with no account is remembered as such, as [`Self::phid_of`] does.
    async fn prefetch_names(&self, requests: &[Request]) {
        let mut names: Vec<Username> = Vec::new();
        for r in requests {
            names.extend(r.phabricator_user.iter().cloned());
            names.extend(r.manager.iter().cloned());
            names.extend(r.expiry_contact.iter().cloned());
            if r.full_name.is_some() {
                let shell = r.shell_user.as_ref().map(|s| s.as_str());
                for name in [shell, r.wikitech_user.as_deref()].into_iter().flatten() {
                    if directory_name(name) {
                        names.push(Username::new(name));
                    }
                }
            }
        }
        let mut wanted: Vec<String> = {
            let c = self.lock();
            names
                .iter()
                .filter(|n| !c.by_name.contains_key(&n.key()))
                .map(|n| n.as_str().to_string())
                .collect()
        };
        wanted.sort_unstable_by_key(|n| n.to_ascii_lowercase());
        wanted.dedup_by_key(|n| n.to_ascii_lowercase());
        if wanted.is_empty() {
            return;
        }
        let found = match self.client.users_by_usernames(&wanted).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "cannot prefetch the accounts the batch's requests name");
                return;
            }
        };
        let mut c = self.lock();
        let at = Instant::now();
        for name in wanted {
            let name = Username::new(&name);
            let hit = found
                .iter()
                .find(|u| Username::new(&u.fields.username) == name);
            if let Some(u) = hit {
                c.users
                    .insert(u.phid.clone(), Cached { value: info(u), at });
            }
            c.by_name.insert(name.key(), hit.map(|u| u.phid.clone()));
        }
    }

    /// Channels of these comment transactions: from the cache, else from the task page and as
    /// many of its "Show Older Changes" parts as it takes to find them. Of the markers, only
    /// those of the task's comments (`comments`) are kept. A page that is not a task page
    /// leaves every channel unknown and is reported ([`Self::page_problem`]).
    async fn channels(
        &self,
        task: &Task,
        xacts: &[Phid],
        comments: &HashSet<&Phid>,
    ) -> HashMap<Phid, Channel> {
        if self.rules.evidence.channel == ChannelSource::NoInboundMail {
            return xacts.iter().map(|x| (x.clone(), Channel::Web)).collect();
        }
        let mut missing: Vec<Phid> = {
            let c = self.lock();
            xacts
                .iter()
                .filter(|x| !c.channels.contains_key(*x))
                .cloned()
                .collect()
        };
        let store = self.store.get();
        let ask: Vec<Phid> = {
            let c = self.lock();
            missing
                .iter()
                .filter(|x| !c.unstored.contains(*x))
                .cloned()
                .collect()
        };
        if let (Some(store), false) = (store, ask.is_empty()) {
            match store.channels(&ask).await {
                Ok(known) if !known.is_empty() => {
                    missing.retain(|x| !known.contains_key(x));
                    self.lock().channels.extend(known);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the known comment channels: reading the task page")
                }
            }
        }
        if !missing.is_empty() {
            let id = TaskId::new(task.id);
            let read = self
                .client
                .task_timeline(
                    id,
                    &task.phid,
                    &missing,
                    self.rules.evidence.max_older_pages,
                )
                .await;
            match read {
                Ok(TaskPage::Timeline(t)) => {
                    self.saw_page(id, None);
                    if let Some(why) = &t.incomplete {
                        tracing::warn!(task = %id, older_parts = t.older_parts, reason = %why, "the task page was not read to its oldest event: the channels of older comments stay unknown");
                    }
                    let found: Vec<(Phid, Channel)> = channel_map(&t.markers)
                        .into_iter()
                        .filter(|(phid, ch)| *ch != Channel::Unknown && comments.contains(phid))
                        .collect();
                    let mut c = self.lock();
                    c.channels.extend(found.iter().cloned());
                    if store.is_some() {
                        c.to_keep.extend(found);
                    }
                }
                Ok(TaskPage::NotAPage(kind)) => self.saw_page(id, Some(kind)),
                Err(e) => {
                    tracing::warn!(task = %id, error = %e, "cannot read the task page: comment channels unknown")
                }
            }
        }
        let mut c = self.lock();
        for x in &missing {
            c.unstored.remove(x);
        }
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

    /// Whose request this is (design §10): the account named in the `Phabricator username`
    /// field; else the author, when their username or real name is the request's shell user,
    /// wikitech user or full name ([`same_name`]); else the one account whose username is the
    /// shell or wikitech user and whose real name is the full name. Anything else — no match,
    /// several, a bot, a disabled account — is not guessed: unknown, or refused when the
    /// request itself names an account that cannot be its subject. The author is not taken
    /// either when another account matches the request that way too (two people could be
    /// meant).
    async fn subject(
        &self,
        request: &Request,
        field_unreadable: bool,
        author_phid: &Phid,
        author: Option<&UserInfo>,
    ) -> Result<Subject, ConduitError> {
        if field_unreadable {
            return Ok(Subject::Refused {
                reason: "the Phabricator username field could not be read".into(),
            });
        }
        let usable = |who: &Username, u: &UserInfo| -> Result<(), String> {
            if u.bot {
                Err(format!("@{who} is a bot account"))
            } else if u.disabled {
                Err(format!("@{who}'s account is disabled"))
            } else {
                Ok(())
            }
        };
        if let Some(named) = &request.phabricator_user {
            return Ok(match self.account(named).await? {
                None => Subject::Refused {
                    reason: format!(
                        "the request names {} as its Phabricator account, but there is no such account",
                        named.shown()
                    ),
                },
                Some((phid, u)) => match usable(&u.username, &u) {
                    Err(why) => Subject::Refused {
                        reason: format!(
                            "the request names @{} as its Phabricator account, but {why}",
                            u.username
                        ),
                    },
                    Ok(()) => Subject::Known {
                        username: u.username,
                        phid,
                        basis: SubjectBasis::Named,
                    },
                },
            });
        }
        let shell = request.shell_user.as_ref().map(|s| s.as_str());
        let wikitech = request.wikitech_user.as_deref();
        let full = request.full_name.as_deref();
        let names: Vec<&str> = [shell, wikitech, full].into_iter().flatten().collect();
        let matches_names = |a: &UserInfo| {
            names
                .iter()
                .any(|n| same_name(a.username.as_str(), n) || same_name(&a.real_name, n))
        };
        // The author the request describes, but whose account cannot be anyone's subject (a
        // bot, disabled): said as such when no other account matches either.
        let unusable_author = author
            .filter(|a| matches_names(a))
            .and_then(|a| usable(&a.username, a).err());
        let author = author.filter(|a| usable(&a.username, a).is_ok());
        let author_matches = author.is_some_and(matches_names);
        // The directory: accounts whose username is the shell or wikitech user and whose real
        // name is the full name. A name that is the author's own username is the author, known
        // already.
        let mut found: Vec<(Phid, UserInfo)> = Vec::new();
        for name in [shell, wikitech].into_iter().flatten() {
            let well_formed = directory_name(name);
            let authors = author.is_some_and(|a| same_name(a.username.as_str(), name));
            let Some(full) = full.filter(|_| well_formed && !authors) else {
                continue;
            };
            if let Some((phid, u)) = self.account(&Username::new(name)).await? {
                if same_name(u.username.as_str(), name)
                    && same_name(&u.real_name, full)
                    && &phid != author_phid
                    && !found.iter().any(|(p, _)| *p == phid)
                {
                    found.push((phid, u));
                }
            }
        }
        if let (true, Some(a)) = (author_matches, author) {
            // The author matches, but so does someone else's account: not a guess.
            if let Some((_, other)) = found.first() {
                return Ok(Subject::Unknown {
                    reason: format!(
                        "both the author @{} and the account @{} match the request",
                        a.username, other.username
                    ),
                });
            }
            return Ok(Subject::Known {
                username: a.username.clone(),
                phid: author_phid.clone(),
                basis: SubjectBasis::Author,
            });
        }
        // Not for the requester to fix (a disabled account reads nothing): for clinic duty.
        if let (true, Some(why)) = (found.is_empty(), unusable_author) {
            return Ok(Subject::Unknown {
                reason: format!("the request describes its author, but {why}"),
            });
        }
        if full.is_none() {
            return Ok(Subject::Unknown {
                reason: "the author does not match the request, and it gives no full name to look the account up by".into(),
            });
        }
        Ok(match found.len() {
            0 => Subject::Unknown {
                reason: "neither the author nor any account matches the request's usernames and full name".into(),
            },
            1 => {
                let (phid, u) = found.remove(0);
                match usable(&u.username, &u) {
                    Err(why) => Subject::Unknown {
                        reason: format!("the only matching account is unusable: {why}"),
                    },
                    Ok(()) => Subject::Known {
                        username: u.username,
                        phid,
                        basis: SubjectBasis::Directory,
                    },
                }
            }
            n => Subject::Unknown {
                reason: format!("{n} accounts match the request's usernames and full name"),
            },
        })
    }

    /// Records what a task page turned out to be; says so when that changes: at ERROR, with
    /// the fix, when pages cannot be read (once, not for every task), at INFO when they can
    /// (again).
    fn saw_page(&self, task: TaskId, problem: Option<NotAPage>) {
        let now = match problem {
            Some(kind) => PageHealth::Broken(kind),
            None => PageHealth::Readable,
        };
        let before = {
            let mut h = self.pages.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *h, now)
        };
        if before == now {
            return;
        }
        match (problem, before) {
            (Some(kind), _) => {
                tracing::error!(task = %task, page = ?kind, "{}", self.problem_text(kind))
            }
            (None, PageHealth::Broken(_)) => {
                tracing::info!(task = %task, "task pages can be read again")
            }
            (None, _) => tracing::info!(task = %task, "task pages can be read"),
        }
    }

    /// Why task pages cannot be read, if the last page fetched said so.
    pub fn page_problem(&self) -> Option<PageProblem> {
        match *self.pages.lock().unwrap_or_else(|p| p.into_inner()) {
            PageHealth::Broken(kind) => Some(PageProblem {
                kind,
                message: self.problem_text(kind),
            }),
            _ => None,
        }
    }

    /// Whether a task page was fetched (and so [`Self::page_problem`] knows).
    pub fn page_seen(&self) -> bool {
        *self.pages.lock().unwrap_or_else(|p| p.into_inner()) != PageHealth::Unknown
    }

    /// Fetches the first page of `task` to learn whether task pages can be read at all, and
    /// says so ([`Self::page_problem`]). Nothing to do when channels do not come from pages.
    pub async fn probe_pages(&self, task: TaskId, phid: &Phid) {
        if self.rules.evidence.channel != ChannelSource::TaskPage {
            return;
        }
        match self.client.task_timeline(task, phid, &[], 0).await {
            Ok(TaskPage::Timeline(_)) => self.saw_page(task, None),
            Ok(TaskPage::NotAPage(kind)) => self.saw_page(task, Some(kind)),
            Err(e) => {
                tracing::warn!(task = %task, error = %e, "cannot read the task page to check that pages can be read")
            }
        }
    }

    /// At start-up: probes the page of the newest request, so that a login page or an expired
    /// session is said at once rather than when the first comment needs its channel.
    pub async fn probe_pages_at_start(&self) {
        if self.rules.evidence.channel != ChannelSource::TaskPage {
            return;
        }
        match self.client.newest_task(&self.ctx.project).await {
            Ok(Some(t)) => self.probe_pages(TaskId::new(t.id), &t.phid).await,
            Ok(None) => tracing::info!(
                "no request to read a task page from yet: pages are checked on the first one"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot find a request to check that task pages can be read")
            }
        }
    }

    /// The operator's text for a page that is not a task page.
    fn problem_text(&self, kind: NotAPage) -> String {
        let base = self.client.base_url();
        let cookie = self.rules.path(&self.rules.evidence.session_cookie_file);
        let unknown = "so no comment's channel (web or email) can be verified and every approval stays pending";
        match (kind, cookie) {
            (NotAPage::LoginPage, None) => format!(
                "TASK PAGES CANNOT BE READ: {base} answers with its login page (the install, or these tasks, are not public), {unknown}. Fix: {COOKIE_FIX}."
            ),
            (NotAPage::LoginPage, Some(file)) => format!(
                "TASK PAGES CANNOT BE READ: {base} answers with its login page although the session cookie from {} was sent (it is not a valid `phsid` session cookie, or that account cannot see the task), {unknown}. Fix: put the current `phsid` cookie of an ordinary read-only account that can see the requests in that file.",
                file.display()
            ),
            (NotAPage::SessionCleared, Some(file)) => format!(
                "TASK PAGES CANNOT BE READ: the session cookie in {} has expired or is invalid ({base} answered with a redirect to ?cleared=1), {unknown}. Fix: log in to {base} again as the read-only account and put its new `phsid` cookie in that file, then restart the bot.",
                file.display()
            ),
            (NotAPage::SessionCleared, None) => format!(
                "TASK PAGES CANNOT BE READ: {base} cleared a session cookie the bot did not send (a proxy in between?), {unknown}. Fix: {COOKIE_FIX}."
            ),
            (NotAPage::Unrecognised, _) => format!(
                "TASK PAGES CANNOT BE READ: {base} answers task addresses with a page that has no task timeline (an access-denied page, or --phab-url is not the Phorge web address), {unknown}. Fix: check --phab-url, and that the account of `session_cookie_file` can see the requests."
            ),
        }
    }

    /// Whether a comment could count as evidence (worth learning its channel): it says
    /// something about a statement (read by the one reader), or it gives a key and is by
    /// `poster`, whose key comments count (the subject, or the author while the subject is
    /// unknown).
    fn may_count(&self, c: &TimelineComment, poster: &Phid) -> bool {
        if c.removed {
            return false;
        }
        crate::statement::read(&c.text, &*self.rules).any()
            || (&c.author == poster && key_in_comment(&c.text).is_some())
    }

    /// Gathers the facts of one task from its search result and its transactions.
    pub async fn gather(
        &self,
        task: &Task,
        txs: &[Transaction],
        row: Option<&TaskRow>,
    ) -> Result<Gathered, ConduitError> {
        let id = TaskId::new(task.id);
        let timeline = Timeline::build(txs, &self.ctx.project, &self.ctx.bot_phid);
        let author_phid = task.fields.author_phid.clone();
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
        phids.push(author_phid.clone());
        let users = self.users(&phids).await?;
        let author = users
            .get(&author_phid)
            .map(|u| u.username.clone())
            .unwrap_or_else(|| Username::new(author_phid.as_str()));
        let field_unreadable = parsed
            .problems
            .iter()
            .any(|p| p.field == "phabricator_user");
        let subject = self
            .subject(
                &parsed.request,
                field_unreadable,
                &author_phid,
                users.get(&author_phid),
            )
            .await?;
        // Whose keys are looked for: the subject's; while the subject is unknown the author's,
        // whose trust the engine then leaves pending.
        let (poster_phid, poster) = match &subject {
            Subject::Known { username, phid, .. } => (phid.clone(), username.clone()),
            _ => (author_phid.clone(), author.clone()),
        };
        let staff = self.members(true).await?;
        let nda = if self.rules.people.nda_projects.is_empty() {
            Arc::default()
        } else {
            self.members(false).await?
        };

        let counting: Vec<Phid> = timeline
            .comments
            .iter()
            .filter(|c| self.may_count(c, &poster_phid))
            .map(|c| c.xact.clone())
            .collect();
        let channels = if counting.is_empty() {
            HashMap::new()
        } else {
            let comments: HashSet<&Phid> = timeline.comments.iter().map(|c| &c.xact).collect();
            self.channels(task, &counting, &comments).await
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
        let (key, dates, fingerprint, key_line) = self
            .key_facts(
                id,
                &parsed.request.key,
                &timeline,
                &comments,
                &poster_phid,
                &poster,
                &changes,
                task,
            )
            .await?;
        let (key_since, key_changed_at) = (dates.first_seen, dates.changed);
        let groups_changed_at = changes.groups_changed_at;

        // The named manager's account, when it is one whose approval can count (staff,
        // enabled, not a bot): the only account a manager mention may ping.
        let manager_account = match parsed.request.manager.clone() {
            Some(m) => self
                .account(&m)
                .await?
                .filter(|(p, u)| !u.bot && !u.disabled && staff.contains(p))
                .map(|(_, u)| u.username),
            None => None,
        };
        let manager_staff = parsed
            .request
            .manager
            .as_ref()
            .map(|_| manager_account.is_some());
        let expiry_contact_staff = match &parsed.request.expiry_contact {
            Some(u) => match self.phid_of(u).await? {
                Some(p) => Some(staff.contains(&p)),
                None => Some(false),
            },
            None => None,
        };
        let l3 = match &subject {
            Subject::Known { username, phid, .. } => self.l3(phid, username).await?,
            _ => L3::Unknown {
                reason: "it is not known whom the request is for".into(),
            },
        };
        // A what-if before the signature: not signed then.
        let l3 = match (l3, self.as_of) {
            (L3::Signed { at }, Some(t)) if at > t => L3::NotSigned,
            (l3, _) => l3,
        };
        let subject_phid = subject.phid().cloned();
        // The shell user in data.yaml is the requester's own account only when its entry has
        // the request's full name or email; otherwise the name is taken by someone else.
        let holder = parsed
            .request
            .shell_user
            .as_ref()
            .and_then(|s: &ShellUser| self.keys.shell_user(s));
        let existing_user = holder.is_some_and(|h| {
            h.is(
                parsed.request.full_name.as_deref(),
                parsed.request.email.as_deref(),
            )
        });
        let shell_user_taken = holder.is_some() && !existing_user;
        let sudo = SudoFacts {
            // The first meeting it was scheduled for: the engine counts rollovers from it.
            scheduled_for: row.and_then(|r| r.first_meeting.or(r.meeting)),
            first_ready_at: row.and_then(|r| r.first_ready_at),
            // The stored evaluation before this one, when it had not scheduled a review: the
            // rest of the checklist was not complete then, as far as the bot could see.
            incomplete_at: row
                .filter(|r| r.first_meeting.is_none() && r.meeting.is_none())
                .and_then(|r| r.evaluated_at),
        };
        let subject_staff = subject_phid.as_ref().is_some_and(|p| staff.contains(p));
        let subject_research = match &subject_phid {
            Some(p) if !subject_staff && self.wants_research(&parsed.request.groups) => self
                .roster(&self.rules.people.research_projects)
                .await?
                .contains(p),
            _ => false,
        };
        let eligibility = match &subject {
            Subject::Known { username, phid, .. } => {
                self.eligibility(&parsed.request.groups, username, phid)
                    .await?
            }
            _ => Default::default(),
        };
        let mut sources = key_sources(&timeline, txs, &key, &dates, &poster, &comments);
        // An edited comment's first version, read for what it said then.
        for x in txs.iter().filter(|x| x.comments.len() > 1) {
            let Some(first) = x.comments.iter().min_by_key(|c| c.version) else {
                continue;
            };
            let said = crate::statement::read(&first.content.raw, &*self.rules);
            for st in crate::statement::Statement::ALL {
                if matches!(said.get(st), crate::statement::Reading::Yes { .. }) {
                    sources.edited_from_yes.push((x.phid.clone(), st));
                }
            }
        }
        let facts = Facts {
            task: id,
            open: self.rules.phabricator.is_open(&task.fields.status.value),
            tagged: task
                .attachments
                .projects
                .as_ref()
                .is_none_or(|p| p.project_phids.contains(&self.ctx.project)),
            title: task.fields.name.clone(),
            author,
            author_phid,
            subject,
            bot_user: self.ctx.bot_user.clone(),
            description: task.fields.description.raw.clone(),
            parsed,
            key,
            existing_user,
            shell_user_taken,
            comments,
            key_changed_at,
            groups_changed_at,
            change_changed_at: changes.change_changed_at,
            expiry_extended_at: changes.expiry_extended_at,
            user_changed_at: changes.user_changed_at,
            described_at: changes.edited_at,
            tagged_at: timeline.tagged_at,
            subject_staff,
            subject_nda: subject_phid.as_ref().is_some_and(|p| nda.contains(p)),
            subject_research,
            eligibility,
            expiry_contact_staff,
            manager_staff,
            l3,
            sudo,
            sources,
        };
        Ok(Gathered {
            facts,
            timeline,
            fingerprint,
            key_since,
            key_line,
            manager_account,
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
            .key_sightings(fp, &g.facts.subject.reuse_key(g.facts.task), g.key_since)
            .await?
        {
            if s.task_id as u64 != g.facts.task.get() {
                reuse.push(KeyReuse::EarlierRequest {
                    task: TaskId::new(s.task_id as u64),
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
}
