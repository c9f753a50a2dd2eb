//! Reading what people wrote, fail closed (design §9): one reader for every statement the bot
//! relies on — an approval (and its withdrawal), an NDA confirmation, an L3 verification, an
//! SRE meeting decision, an executive sign-off, a research confirmation. Pure, linear.
//!
//! A comment is read for each [`Statement`] into one of four [`Reading`]s:
//!
//! - `Yes`: some sentence in the author's own words *is* the statement — a clean form of
//!   `rules/phrases.toml` (`[forms]` for approvals, the `[phrases]` patterns for the others)
//!   at the start of a clause, with nothing in the sentence that negates, asks, conditions,
//!   postpones, hedges, limits or delegates it, no look-alike or invisible characters in it —
//!   and nothing else in the comment that casts doubt on it (a question, a condition, a
//!   withdrawal in quoted text, a group named outside the approval's scope …). Approvals carry
//!   their [`Scope`].
//! - `No`: a withdrawal, read widely: a withdrawal cue (`[phrases] withdraw`) anywhere in the
//!   author's own words, their inline code and double-quoted spans included, a struck-through
//!   statement, a sentence that is only a negation ("Not.", "Nope."), and for confirmations a
//!   negated statement ("No NDA on file yet"). A withdrawal wins over a `Yes` in the same
//!   comment.
//! - `Unclear`: the comment speaks of the statement in the author's own words but not plainly
//!   (why is fit to post). Never silently ignored.
//! - `None`: nothing of the kind in the author's own words.
//!
//! What is the author's own words is decided by [`crate::remarkup`]: quotes (any depth), code,
//! literals, inline code and double-quoted spans never make a `Yes`. Before reading, text is
//! normalised, folded to lower case, look-alike letters of other scripts are folded to Latin
//! (and the sentence is then marked as written with look-alikes), emphasis markup is removed
//! (`**not** approved` is a negation) and URLs are set aside.

use crate::remarkup::{self, Inline, Kind};
use regex::{Regex, RegexSet};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use unicode_normalization::UnicodeNormalization;

/// The phrases of `rules/phrases.toml`: the statement patterns of `[phrases]` (regexes,
/// compiled case-insensitively) and how comments are read ([`ReadingRules`]). See
/// `crate::statement` and rules/README.md, "How comments are read".
#[derive(Debug, Clone)]
pub struct Phrases {
    /// Approval talk ("approv…", "+1", "LGTM", 👍 …): a sentence that matches speaks of an
    /// approval; it is a `yes` only when it is one of `[forms] approve`.
    pub approve: Regex,
    /// Withdrawal cues ("not approved", "revoke", "on hold", "scratch my +1" …).
    pub withdraw: Regex,
    /// "L3 verified" by a verifier.
    pub l3_verified: Regex,
    /// NDA confirmed by a legal user.
    pub nda_confirmed: Regex,
    /// SRE meeting approved the sudo request.
    pub sre_approved: Regex,
    /// SRE meeting declined the sudo request.
    pub sre_declined: Regex,
    /// An executive's sign-off (read, not yet checked: issue 19 adds the check).
    pub executive_signoff: Regex,
    /// A research collaboration confirmed (read, not yet checked: issue 19 adds the check).
    pub research_confirmed: Regex,
    /// The reading rules: forms, vocabularies, cue lists.
    pub reading: ReadingRules,
}

/// `[vocabulary]`: what makes a sentence speak of a confirmation (so that a doubtful one is
/// `unclear`, never silently nothing).
#[derive(Debug, Clone)]
pub struct Vocabulary {
    /// L3 talk.
    pub l3_verified: Regex,
    /// NDA talk.
    pub nda_confirmed: Regex,
    /// SRE meeting approval talk.
    pub sre_approved: Regex,
    /// SRE meeting decline talk.
    pub sre_declined: Regex,
    /// Executive sign-off talk.
    pub executive_signoff: Regex,
    /// Research confirmation talk.
    pub research_confirmed: Regex,
}

/// How comments are read: `[forms]`, `[vocabulary]`, `[negated]`, `[examples]` and
/// `[reading]` of phrases.toml (each defaulting to the bundled file's when absent).
#[derive(Debug, Clone)]
pub struct ReadingRules {
    /// `[forms] approve`: the clean approval forms ("approved", "i approve", "+1", "lgtm" …).
    pub approve_forms: WordSet,
    /// `[vocabulary]`.
    pub vocabulary: Vocabulary,
    /// `[negated]`: patterns that deny a statement outright ("no NDA on file").
    pub negated: HashMap<Statement, Regex>,
    /// `[examples]`: the form of each statement the bot always understands (used in messages,
    /// checked to read as `yes` when the rules load).
    pub examples: BTreeMap<Statement, String>,
    /// Negation words ("not", "never", contractions; any word ending in n't is one too).
    pub negations: WordSet,
    /// Words that make a sentence a question when it starts with them ("is", "can", "why" …).
    pub questions: WordSet,
    /// Conditions ("if", "once", "unless", "pending", "as soon as" …).
    pub conditions: WordSet,
    /// Conditions that put a withdrawal off to later ("if", "when", "once" …): a withdrawal
    /// under one of them is unclear, not yet a withdrawal ("revoke it when she leaves").
    pub deferrals: WordSet,
    /// Later times ("after", "before", "tomorrow", "later" …): doubtful in the statement's sentence.
    pub timing: WordSet,
    /// Future and intent ("will", "going to", "plan to" …).
    pub future: WordSet,
    /// Hedges ("probably", "maybe", "i think" …).
    pub hedges: WordSet,
    /// Modal verbs ("can", "should", "might" …): doubtful in the statement's sentence.
    pub modals: WordSet,
    /// Speaking for someone else ("on behalf of", "per my manager" …).
    pub delegation: WordSet,
    /// Limits ("only", "except", "but", "however" …).
    pub limits: WordSet,
    /// Words that may come before a form in its clause ("ok", "yes", "thanks", "hi" …).
    pub lead_ins: WordSet,
    /// Labels that may stand before a colon and an approval ("manager approval: approved",
    /// "status: approved").
    pub labels: WordSet,
    /// What may follow "approved for" and still mean the whole request ("me", "this request" …).
    pub generic_scopes: WordSet,
    /// Phrases after a form that add nothing ("from my side", "by me", "here", "again" …).
    pub generic: WordSet,
    /// What may follow "approved as" and names no particular role ("approver" …).
    pub roles: WordSet,
    /// The manager's or sponsor's role after "approved as" or in a label ("manager",
    /// "sponsor" …): such an approval counts only for the manager check ([`Capacity`]).
    pub manager_roles: WordSet,
    /// A project lead's role ("project lead", "group owner" …): counts only for lead checks.
    pub lead_roles: WordSet,
    /// What a possessive before it names the owner of, in an approval ("jsmith's request",
    /// "Jane's manager"): the approval is that person's ([`Scope::Person`]).
    pub possessions: WordSet,
    /// Possessives that name nobody in particular ("the user's request", "my team's access").
    pub not_owners: WordSet,
    /// Objections and calls to wait that name no statement ("Wait.", "I have concerns.",
    /// "She left the team."): anywhere in the author's words, not negated, they make every
    /// statement of the comment doubtful, so a later one cancels the author's earlier `yes`.
    pub objections: WordSet,
    /// Courtesy that may stand beside a form ("thanks", 👍, "no objections" …).
    pub courtesy: WordSet,
    /// Idioms in which a negation or a condition does not qualify anything ("no problem",
    /// "let me know if" …).
    pub benign: WordSet,
    /// Words that, with only negations, make a sentence a bare negation ("really", "yet" …).
    pub fillers: WordSet,
    /// Words that name the request or part of it (a negation next to one is doubtful).
    pub subjects: WordSet,
    /// Words that, right after an approval, qualify it ("to", "with", "until" …).
    pub modifiers: WordSet,
    /// Days, months and other times (never a team in "from …").
    pub time_words: WordSet,
    /// Targets of the misspelling check ("approved", "approve", "approval", "lgtm").
    pub misspelling_targets: Vec<String>,
    /// Real words close to a target that are no misspelling ("improved", "approx" …).
    pub not_misspellings: WordSet,
    /// Which cue lists each word may start a phrase of (built from the lists above).
    pub cue_index: CueIndex,
    /// Every pattern of the reading in one set, so that one pass over a sentence tells which
    /// can match: the vocabulary of each statement (at its `Statement` index), then
    /// `withdraw`, then the `[negated]` patterns of each statement (see
    /// `crate::statement`).
    pub prefilter: RegexSet,
}

/// The statements a comment is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Statement {
    /// An approval by a manager, sponsor or project lead (`[phrases] approve`, `[forms] approve`).
    Approve,
    /// "L3 verified" by a verifier.
    L3Verified,
    /// "NDA on file" by a legal user.
    NdaConfirmed,
    /// "SRE meeting: approved" by an SRE decider.
    SreApproved,
    /// "SRE meeting: declined" by an SRE decider.
    SreDeclined,
    /// An executive's sign-off (volunteers, design §11).
    ExecutiveSignoff,
    /// A research collaboration confirmed (private data for non-staff, design §11).
    ResearchConfirmed,
}

impl Statement {
    /// Every statement, in a fixed order.
    pub const ALL: [Statement; 7] = [
        Statement::Approve,
        Statement::L3Verified,
        Statement::NdaConfirmed,
        Statement::SreApproved,
        Statement::SreDeclined,
        Statement::ExecutiveSignoff,
        Statement::ResearchConfirmed,
    ];

    /// The key of the statement in `rules/phrases.toml`.
    pub fn key(self) -> &'static str {
        match self {
            Statement::Approve => "approve",
            Statement::L3Verified => "l3_verified",
            Statement::NdaConfirmed => "nda_confirmed",
            Statement::SreApproved => "sre_approved",
            Statement::SreDeclined => "sre_declined",
            Statement::ExecutiveSignoff => "executive_signoff",
            Statement::ResearchConfirmed => "research_confirmed",
        }
    }

    /// The statement in words, for messages: "an approval", "an NDA confirmation" …
    pub fn describe(self) -> &'static str {
        match self {
            Statement::Approve => "an approval",
            Statement::L3Verified => "an L3 verification",
            Statement::NdaConfirmed => "an NDA confirmation",
            Statement::SreApproved => "an SRE meeting approval",
            Statement::SreDeclined => "an SRE meeting decline",
            Statement::ExecutiveSignoff => "an executive sign-off",
            Statement::ResearchConfirmed => "a research confirmation",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a statement is limited to: the groups of an approval, or the person a confirmation
/// names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// No group or person named: the whole request (every group the person may approve).
    All,
    /// Only these groups (lowercase names from `groups.toml`).
    Groups(BTreeSet<String>),
    /// A confirmation that names whom it is about ("NDA on file for Bea", "L3 verified for
    /// @bea"), or an approval that names whose access it approves ("I approve @bea's
    /// access"): the words naming them, as written (folded to lower case). It counts only
    /// when they name the request's subject, which the caller knows and the reader does not.
    Person(String),
}

impl Scope {
    /// Whether the approval counts for `group`.
    pub fn covers(&self, group: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Groups(g) => g.contains(&group.to_lowercase()),
            Scope::Person(_) => false,
        }
    }

    /// Whether the approval counts for every one of `groups`.
    pub(crate) fn covers_all(&self, groups: &[String]) -> bool {
        groups.iter().all(|g| self.covers(g))
    }

    /// The groups, comma separated, or the person named ("" for all).
    pub fn names(&self) -> String {
        match self {
            Scope::All => String::new(),
            Scope::Groups(g) => g.iter().cloned().collect::<Vec<_>>().join(", "),
            Scope::Person(p) => p.clone(),
        }
    }
}

/// The role an approval says it is given in: "approved as manager" counts for the manager
/// check only, "approved as project lead" for the lead checks only (`[reading]
/// manager_roles`, `lead_roles`); an approval that names no role, a generic one ("as
/// approver") or both is `Any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Capacity {
    /// Whatever role its author holds.
    #[default]
    Any,
    /// The manager's or sponsor's.
    Manager,
    /// A project lead's.
    Lead,
}

impl Capacity {
    /// The role named by two parts of one approval ("as manager", "as lead"): both named is
    /// every role, as is none.
    fn with(named: Option<Capacity>, more: Capacity) -> Option<Capacity> {
        match named {
            None => Some(more),
            Some(c) if c == more => Some(c),
            Some(_) => Some(Capacity::Any),
        }
    }

    /// Whether an approval given in this role counts for `role`.
    pub fn serves(self, role: Capacity) -> bool {
        self == Capacity::Any || role == Capacity::Any || self == role
    }

    /// The role in words.
    pub fn describe(self) -> &'static str {
        match self {
            Capacity::Any => "any role",
            Capacity::Manager => "manager or sponsor",
            Capacity::Lead => "project lead",
        }
    }
}

/// What a comment says about one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// It says it, plainly (for approvals: for `scope`, in `capacity`).
    Yes {
        /// The groups an approval is limited to ([`Scope::All`] for the other statements).
        scope: Scope,
        /// The role an approval says it is given in ([`Capacity::Any`] for the others).
        capacity: Capacity,
    },
    /// It withdraws or denies it.
    No,
    /// It speaks of it in the author's own words, but not plainly. `why` is fit to post.
    Unclear {
        /// Why, e.g. "it asks a question".
        why: String,
    },
    /// It does not speak of it.
    None,
}

impl Reading {
    fn unclear(why: impl Into<String>) -> Reading {
        Reading::Unclear { why: why.into() }
    }
}

/// Where a comment's words about a statement stand apart from its author's plain words
/// ([`Reader::set_aside`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetAside {
    /// Struck through (`~~Approved.~~`): read as taking it back.
    Struck,
    /// In a quote, code or literal block, inline code or a double-quoted span: not counted.
    Quoted,
}

/// A comment read for every [`Statement`], and the objection it raises, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readings([Reading; 7], Option<String>);

impl Readings {
    /// Nothing said (a removed comment).
    pub fn none() -> Readings {
        Readings(std::array::from_fn(|_| Reading::None), None)
    }

    /// The reading for one statement.
    pub fn get(&self, s: Statement) -> &Reading {
        &self.0[s.index()]
    }

    /// Whether the comment says anything about any statement.
    pub fn any(&self) -> bool {
        self.0.iter().any(|r| *r != Reading::None)
    }

    /// Why the comment casts doubt on what its author said before, when it raises an
    /// objection or asks to wait without naming a statement ("Wait.", "I have concerns.",
    /// `[reading] objections`): fit to post. A `yes` of the same comment is already
    /// `unclear` for it; an earlier `yes` of its author is cancelled by it
    /// ([`crate::approvals`]).
    pub fn objection(&self) -> Option<&str> {
        self.1.as_deref()
    }
}

/// FNV-1a: a fast hash for the reader's word look-ups. The maps hold only words from the
/// rules; looking attacker-chosen words up in them costs at most the (short) bucket of an
/// entry, so a cryptographic hash buys nothing here.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// A set of word sequences (`"as soon as"`, `"on behalf of"`), matched against the reader's
/// tokens: lower case, words split at spaces and punctuation as the reader splits them.
#[derive(Debug, Clone, Default)]
pub struct WordSet {
    /// First word → the sequences starting with it, longest first.
    by_first: FastMap<String, Vec<Vec<String>>>,
}

impl WordSet {
    /// Builds a set from phrases; each phrase is tokenised like comment text. Phrases that
    /// hold no word are skipped (the rules loader refuses them).
    pub fn new<S: AsRef<str>>(phrases: &[S]) -> WordSet {
        let mut by_first: FastMap<String, Vec<Vec<String>>> = FastMap::default();
        for p in phrases {
            let words = phrase_words(p.as_ref());
            if let Some(first) = words.first() {
                by_first.entry(first.clone()).or_default().push(words);
            }
        }
        for v in by_first.values_mut() {
            v.sort_by_key(|w| std::cmp::Reverse(w.len()));
            v.dedup();
        }
        WordSet { by_first }
    }

    /// Whether the set holds this single word.
    pub(crate) fn contains_word(&self, w: &str) -> bool {
        self.by_first
            .get(w)
            .is_some_and(|v| v.iter().any(|s| s.len() == 1))
    }

    /// The length (in tokens) of the longest sequence of the set starting at token `i`.
    fn match_at(&self, toks: &[Tok], i: usize) -> Option<usize> {
        let first = toks.get(i)?;
        if !first.is_wordlike() {
            return None;
        }
        let cands = self.by_first.get(first.text.as_str())?;
        cands.iter().find_map(|seq| {
            let ok = seq.iter().enumerate().all(|(k, w)| {
                toks.get(i + k)
                    .is_some_and(|t| t.is_wordlike() && t.text == *w)
            });
            ok.then_some(seq.len())
        })
    }
}

/// For each word, which cue lists have a phrase starting with it: one look-up per token
/// tells which lists to try.
#[derive(Debug, Clone, Default)]
pub struct CueIndex(FastMap<String, u16>);

/// Bits of [`CueIndex`], one per cue list.
const NEG: u16 = 1;
const COND: u16 = 1 << 1;
const TIMING: u16 = 1 << 2;
const FUTURE: u16 = 1 << 3;
const HEDGE: u16 = 1 << 4;
const MODAL: u16 = 1 << 5;
const DELEG: u16 = 1 << 6;
const LIMIT: u16 = 1 << 7;
const SUBJECT: u16 = 1 << 8;
const FILLER: u16 = 1 << 9;
const DEFER: u16 = 1 << 10;

impl CueIndex {
    /// The index of the cue lists of a set of reading rules.
    pub fn new(r: &ReadingRules) -> CueIndex {
        let mut map: FastMap<String, u16> = FastMap::default();
        for (set, bit) in [
            (&r.negations, NEG),
            (&r.conditions, COND),
            (&r.timing, TIMING),
            (&r.future, FUTURE),
            (&r.hedges, HEDGE),
            (&r.modals, MODAL),
            (&r.delegation, DELEG),
            (&r.limits, LIMIT),
            (&r.subjects, SUBJECT),
            (&r.fillers, FILLER),
            (&r.deferrals, DEFER),
        ] {
            for w in set.by_first.keys() {
                *map.entry(w.clone()).or_default() |= bit;
            }
        }
        CueIndex(map)
    }

    fn bits(&self, w: &str) -> u16 {
        self.0.get(w).copied().unwrap_or(0)
    }
}

/// The words of a phrase as the reader tokenises them.
pub(crate) fn phrase_words(phrase: &str) -> Vec<String> {
    let folded = fold_plain(phrase);
    tokenize(&folded, &[])
        .into_iter()
        .filter(Tok::is_wordlike)
        .map(|t| t.text)
        .collect()
}

/// Placeholder for an inline code or double-quoted span in the prose.
const HIDDEN: char = '\u{E000}';
/// Placeholder for struck-through text.
const STRUCK: char = '\u{E001}';
/// Placeholder for a URL.
const URL: char = '\u{E002}';

/// A comment's text as the reader sees it.
#[derive(Debug, Default)]
struct Text {
    /// The author's own prose, folded; paragraphs separated by a blank line.
    prose: String,
    /// Positions in `prose` of look-alike or invisible characters.
    altered: Vec<usize>,
    /// Positions in `prose` of the [`HIDDEN`] placeholders, in order (index into `inline`).
    hidden_at: Vec<usize>,
    /// The sentences of `prose`.
    sentences: Vec<Range<usize>>,
    /// The contents of inline code and double-quoted spans, folded.
    inline: Vec<String>,
    /// The contents of struck-through spans, folded.
    struck: Vec<String>,
    /// Quote, code and literal blocks, folded (quotes of the bot's own checklist left out).
    other: Vec<String>,
    /// Table rows, folded.
    table: Vec<String>,
    /// The comment holds a bidi control.
    bidi: bool,
}

/// A text folded for matching names in it: normalised (see [`remarkup::normalize`]), lower
/// case, and every word made of look-alike letters of other scripts folded into its Latin
/// look-alike ("dеploy-service" with a Cyrillic е reads "deploy-service"). Markup stays.
pub(crate) fn fold(text: &str) -> String {
    let n = remarkup::normalize(text);
    let mut out = String::with_capacity(n.text().len());
    out.extend(n.text().chars().flat_map(char::to_lowercase));
    fold_words(&mut out, 0, &mut Vec::new(), None);
    out
}

/// Lower-cases and folds a plain text (no markup handling).
fn fold_plain(s: &str) -> String {
    let n = remarkup::normalize(s);
    let mut out = String::with_capacity(n.text().len());
    let mut alt = Vec::new();
    push_folded(n.text(), &[], 0, &mut out, &mut alt, None);
    out
}

/// Appends `seg` (a piece of normalised text starting at offset `base` of it) lower-cased,
/// emphasis markup and URLs removed, look-alike letters folded word by word; marks in
/// `altered` the output positions that came from `altered_in` (offsets of the normalised
/// text) or from a folded word.
fn push_folded(
    seg: &str,
    altered_in: &[usize],
    base: usize,
    out: &mut String,
    altered: &mut Vec<usize>,
    ctx: Option<&FoldCtx<'_>>,
) {
    let start_len = out.len();
    let mut next_alt = altered_in.partition_point(|&a| a < base);
    let b = seg.as_bytes();
    let mut i = 0;
    while i < seg.len() {
        while next_alt < altered_in.len() && altered_in[next_alt] <= base + i {
            altered.push(out.len());
            next_alt += 1;
        }
        let rest = &seg[i..];
        let c = rest.chars().next().unwrap_or(' ');
        // Emphasis: **, __, //, !!, ~~ (struck spans are cut out before), ##.
        if i + 1 < b.len()
            && b[i] == b[i + 1]
            && matches!(b[i], b'*' | b'_' | b'/' | b'!' | b'~' | b'#')
        {
            i += 2;
            continue;
        }
        // URLs are nobody's words.
        let at_word_start = i == 0
            || !seg[..i]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
        if at_word_start
            && (starts_with_ci(rest, "http://")
                || starts_with_ci(rest, "https://")
                || starts_with_ci(rest, "www."))
        {
            let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push(' ');
            out.push(URL);
            out.push(' ');
            i += len;
            continue;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
        i += c.len_utf8();
    }
    fold_words(out, start_len, altered, ctx);
}

fn starts_with_ci(s: &str, p: &str) -> bool {
    s.len() >= p.len() && s.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
}

/// What word folding may check a folded word against: approval talk (an accented or
/// digit-for-letter spelling of it is marked as altered) and negations (a digit-for-letter
/// spelling of one is folded).
pub(crate) struct FoldCtx<'a> {
    talk: &'a Regex,
    negations: &'a WordSet,
}

fn is_mark(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
    )
}

/// A digit read as the letter it looks like ("appr0ved", "n0t"), for `one` = 'l' or 'i'.
fn leet(word: &str, one: char) -> String {
    word.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => one,
            '3' => 'e',
            '4' => 'a',
            '5' => 's',
            '7' => 't',
            c => c,
        })
        .collect()
}

/// Folds, in `out[from..]`, each word written with look-alikes into its Latin spelling:
/// letters of another script that look like Latin letters (Cyrillic "а" in "аpproved", UTS
/// #39 skeleton) and accents or overlays on Latin letters ("ńot") always; digits that stand
/// for letters ("n0t", "appr0ved") when that makes a negation or approval talk. A word with
/// look-alikes of other scripts, and approval talk written with accents or digits, is marked
/// as altered. Words whose letters do not all fold (a Cyrillic or accented word) stay as they
/// are, accents stripped only where that leaves plain Latin letters.
fn fold_words(out: &mut String, from: usize, altered: &mut Vec<usize>, ctx: Option<&FoldCtx<'_>>) {
    let rest = &out[from..];
    if rest.is_ascii() && (ctx.is_none() || !rest.bytes().any(|b| b.is_ascii_digit())) {
        return;
    }
    let tail = out[from..].to_string();
    out.truncate(from);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String, altered: &mut Vec<usize>| {
        let has_digit = word.bytes().any(|b| b.is_ascii_digit());
        let has_letter = word.chars().any(char::is_alphabetic);
        if word.is_ascii() {
            let candidate = match ctx {
                Some(ctx) if has_digit && has_letter => ['l', 'i']
                    .into_iter()
                    .map(|one| leet(word, one))
                    .find(|c| ctx.talk.is_match(c) || ctx.negations.contains_word(c)),
                _ => None,
            };
            match candidate {
                Some(c) => {
                    altered.push(out.len());
                    out.push_str(&c);
                }
                None => out.push_str(word),
            }
            word.clear();
            return;
        }
        let mut folded = String::with_capacity(word.len());
        let mut lookalike = false;
        let mut accents = false;
        let mut ok = true;
        for c in word.chars() {
            if c.is_ascii() {
                folded.push(c);
                continue;
            }
            if is_mark(c) {
                accents = true;
                continue;
            }
            let proto: String = unicode_security::skeleton(c.encode_utf8(&mut [0; 4]))
                .filter(|p| !is_mark(*p))
                .collect::<String>()
                .to_lowercase();
            if proto.is_empty() || !proto.bytes().all(|b| b.is_ascii_lowercase()) {
                ok = false;
                break;
            }
            // An accented Latin letter decomposes to its ASCII base; anything else that
            // folds to Latin is a look-alike of another script.
            let base = c.to_string().nfd().next().unwrap_or(c);
            if base.is_ascii() {
                accents = true;
            } else {
                lookalike = true;
            }
            folded.push_str(&proto);
        }
        if ok && folded.is_empty() {
            ok = false;
        }
        if ok {
            let talky = ctx.is_some_and(|x| x.talk.is_match(&folded));
            if lookalike || (accents && talky) {
                altered.push(out.len());
            }
            out.push_str(&folded);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in tail.chars() {
        if c.is_alphanumeric() || (is_mark(c) && !word.is_empty()) {
            word.push(c);
        } else {
            flush(&mut word, out, altered);
            out.push(c);
        }
    }
    flush(&mut word, out, altered);
}

/// Splits a comment into the author's own prose and the rest.
fn analyse(text: &str, ctx: &FoldCtx<'_>) -> Text {
    let n = remarkup::normalize(text);
    let alt = n.altered();
    let mut t = Text {
        bidi: n.had_bidi(),
        ..Text::default()
    };
    let mut last_block: Option<usize> = None;
    let mut hash_open = false;
    let mut quote: Option<(usize, String)> = None;
    let flush_quote = |quote: &mut Option<(usize, String)>, other: &mut Vec<String>| {
        if let Some((_, q)) = quote.take() {
            // A quote of the bot's own checklist is the bot's words, not a withdrawal.
            if !q.contains("accessbot checklist") {
                other.push(q);
            }
        }
    };
    for line in remarkup::lines(n.text()) {
        if let Kind::Quote { .. } = line.kind {
            if quote.as_ref().is_some_and(|(b, _)| *b != line.block) {
                flush_quote(&mut quote, &mut t.other);
            }
            let q = quote.get_or_insert_with(|| (line.block, String::new()));
            let mut scratch = Vec::new();
            push_folded(line.text, &[], 0, &mut q.1, &mut scratch, Some(ctx));
            q.1.push('\n');
            continue;
        }
        flush_quote(&mut quote, &mut t.other);
        match line.kind {
            Kind::Code | Kind::Literal | Kind::Fence => {
                let mut s = String::new();
                push_folded(line.text, &[], 0, &mut s, &mut Vec::new(), Some(ctx));
                t.other.push(s);
            }
            Kind::Table => {
                let mut s = String::new();
                push_folded(line.text, &[], 0, &mut s, &mut Vec::new(), Some(ctx));
                t.table.push(s);
            }
            Kind::Rule => last_block = None,
            _ => {
                if line.text.trim().is_empty() {
                    last_block = None;
                    continue;
                }
                if last_block == Some(line.block) {
                    t.prose.push('\n');
                } else {
                    t.prose.push_str("\n\n");
                    hash_open = false;
                    last_block = Some(line.block);
                }
                let spans = remarkup::inline_spans(line.text, &mut hash_open);
                let mut pos = 0;
                for (r, kind) in spans {
                    let seg = &line.text[pos..r.start];
                    push_folded(
                        seg,
                        alt,
                        line.start + pos,
                        &mut t.prose,
                        &mut t.altered,
                        Some(ctx),
                    );
                    let content = remarkup::span_content(line.text, r.clone(), kind);
                    let mut folded = String::new();
                    push_folded(content, &[], 0, &mut folded, &mut Vec::new(), Some(ctx));
                    t.prose.push(' ');
                    match kind {
                        Inline::Code | Inline::Quoted => {
                            t.hidden_at.push(t.prose.len());
                            t.prose.push(HIDDEN);
                            t.inline.push(folded);
                        }
                        Inline::Struck => {
                            t.prose.push(STRUCK);
                            t.struck.push(folded);
                        }
                    }
                    t.prose.push(' ');
                    pos = r.end;
                }
                let seg = &line.text[pos..];
                push_folded(
                    seg,
                    alt,
                    line.start + pos,
                    &mut t.prose,
                    &mut t.altered,
                    Some(ctx),
                );
            }
        }
    }
    flush_quote(&mut quote, &mut t.other);
    t.altered.sort_unstable();
    t.sentences = sentences(&t.prose);
    t
}

fn is_terminator(c: char) -> bool {
    matches!(
        c,
        '.' | '!' | '?' | ';' | '\u{3002}' | '\u{061F}' | '\u{203D}' | '\u{FF61}'
    )
}

/// Splits prose into sentences at `.`, `!`, `?`, `;` (a `.` only before a space or the end,
/// so "v1.2" and "wiki.admins" stay whole) and at paragraph breaks.
fn sentences(prose: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let push = |r: Range<usize>, out: &mut Vec<Range<usize>>| {
        let s = &prose[r.clone()];
        let lead = s.len() - s.trim_start().len();
        let trail = s.len() - s.trim_end().len();
        if lead < s.len() {
            out.push(r.start + lead..r.end - trail);
        }
    };
    let mut it = prose.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c == '\n' && it.peek().is_some_and(|&(_, d)| d == '\n') {
            push(start..i, &mut out);
            start = i + 1;
            continue;
        }
        if !is_terminator(c) {
            continue;
        }
        // A wink (";)", ";-)") is a face, not the end of a sentence: it stays with its words.
        if c == ';' {
            let rest: Vec<(usize, char)> = prose[i..].char_indices().take(4).collect();
            if emoticon(&rest).is_some() {
                continue;
            }
        }
        let ends = c != '.'
            || it
                .peek()
                .is_none_or(|&(_, d)| !d.is_alphanumeric() && d != '_');
        if !ends {
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = it.peek() {
            if is_terminator(d) {
                end = j + d.len_utf8();
                it.next();
            } else {
                break;
            }
        }
        push(start..end, &mut out);
        start = end;
    }
    push(start..prose.len(), &mut out);
    out
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokKind {
    /// A word (letters, digits, inner `-_.'@`), a mention, `+1`, `-1`.
    Word,
    /// An emoji or other symbol (one character).
    Symbol,
    /// A clause separator: `, : ( ) [ ] / & + |`, a free-standing dash, a line break.
    Sep,
    /// An inline code or double-quoted span (index into the comment's inline texts).
    Hidden(usize),
    /// Struck-through text.
    Struck,
    /// A URL.
    Url,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    kind: TokKind,
    text: String,
    /// Byte range in the sentence.
    span: Range<usize>,
}

impl Tok {
    fn is_wordlike(&self) -> bool {
        matches!(self.kind, TokKind::Word | TokKind::Symbol)
    }
    fn is_word(&self, w: &str) -> bool {
        self.kind == TokKind::Word && self.text == w
    }
}

/// Splits a folded sentence into tokens; `hidden_at` gives the index of each [`HIDDEN`]
/// placeholder (positions relative to the sentence).
fn tokenize(s: &str, hidden_at: &[(usize, usize)]) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::new();
    let mut next_hidden = 0;
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let mut k = 0;
    while k < chars.len() {
        let (i, c) = chars[k];
        let prev = k.checked_sub(1).and_then(at);
        // +1 / -1 as words (not "+10", "1+1", "x-1"); ":+1:" is an emoji code.
        if matches!(c, '+' | '-')
            && at(k + 1) == Some('1')
            && !at(k + 2).is_some_and(|d| d.is_alphanumeric() || d == '_')
            && !prev.is_some_and(|p| p.is_alphanumeric() || matches!(p, '+' | '-' | '_'))
        {
            let end = chars.get(k + 2).map_or(s.len(), |&(j, _)| j);
            let emoji = c == '+' && prev == Some(':') && at(k + 2) == Some(':');
            let (kind, text) = if emoji {
                (TokKind::Symbol, ":+1:".to_string())
            } else {
                (TokKind::Word, format!("{c}1"))
            };
            if emoji {
                if let Some(last) = out.last() {
                    if last.kind == TokKind::Sep && last.text == ":" {
                        out.pop();
                    }
                }
                k += 3;
                let end = chars.get(k).map_or(s.len(), |&(j, _)| j);
                out.push(Tok {
                    kind,
                    text,
                    span: i.saturating_sub(1)..end,
                });
                continue;
            }
            out.push(Tok {
                kind,
                text,
                span: i..end,
            });
            k += 2;
            continue;
        }
        if c.is_alphanumeric() || (c == '@' && at(k + 1).is_some_and(char::is_alphanumeric)) {
            let start = i;
            let mut j = k + 1;
            while j < chars.len() {
                let d = chars[j].1;
                if d.is_alphanumeric() {
                    j += 1;
                } else if matches!(d, '-' | '_' | '.' | '\'' | '@' | '/')
                    && at(j + 1).is_some_and(char::is_alphanumeric)
                {
                    j += 2;
                } else {
                    break;
                }
            }
            let end = chars.get(j).map_or(s.len(), |&(x, _)| x);
            out.push(Tok {
                kind: TokKind::Word,
                text: s[start..end].to_string(),
                span: start..end,
            });
            k = j;
            continue;
        }
        // An ASCII emoticon (":-(", ";)", ":P") is one symbol, as an emoji is: it changes the
        // tone of what it stands beside unless it is courtesy (":)").
        if let Some((face, len)) = emoticon(&chars[k..]) {
            let end = chars.get(k + len).map_or(s.len(), |&(j, _)| j);
            out.push(Tok {
                kind: TokKind::Symbol,
                text: face,
                span: i..end,
            });
            k += len;
            continue;
        }
        let end = i + c.len_utf8();
        let tok = |kind| Tok {
            kind,
            text: c.to_string(),
            span: i..end,
        };
        match c {
            HIDDEN => {
                while hidden_at.get(next_hidden).is_some_and(|(p, _)| *p < i) {
                    next_hidden += 1;
                }
                let idx = match hidden_at.get(next_hidden) {
                    Some((p, n)) if *p == i => *n,
                    _ => usize::MAX,
                };
                out.push(tok(TokKind::Hidden(idx)));
            }
            STRUCK => out.push(tok(TokKind::Struck)),
            URL => out.push(tok(TokKind::Url)),
            ',' | ':' | '(' | ')' | '[' | ']' | '/' | '&' | '+' | '|' | '\n' | '=' | '<' | '>' => {
                out.push(tok(TokKind::Sep))
            }
            '-' => {
                let spaced = prev.is_none_or(char::is_whitespace)
                    && at(k + 1).is_none_or(char::is_whitespace);
                if spaced {
                    out.push(tok(TokKind::Sep));
                }
            }
            _ => {
                use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
                if c.general_category() == GeneralCategory::OtherSymbol {
                    out.push(tok(TokKind::Symbol));
                }
            }
        }
        k += 1;
    }
    out
}

/// Whether a token is a task's name: `T` and a number (`T12345`; folded, so `t12345`).
fn is_task_ref(tok: &Tok) -> bool {
    tok.kind == TokKind::Word
        && tok.text.strip_prefix('t').is_some_and(|n| {
            !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())
        })
}

/// Whether `text` opens a single-quoted span: a `'` after the start, a space or punctuation,
/// right before a letter or digit ("'approved'"), as an apostrophe inside a word never is.
fn opens_single_quote(text: &str) -> bool {
    let mut prev: Option<char> = None;
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\''
            && !prev.is_some_and(char::is_alphanumeric)
            && it.peek().is_some_and(|n| n.is_alphanumeric())
        {
            return true;
        }
        prev = Some(c);
    }
    false
}

/// An ASCII emoticon at the start of `rest`: eyes (`:` `;` `=`), an optional nose (`-` `'`),
/// a mouth, then the end, a space or punctuation. Gives the face without its nose (`:(`) and
/// how many characters it spans. "groups:(a, b)" is no emoticon (a letter follows the mouth).
fn emoticon(rest: &[(usize, char)]) -> Option<(String, usize)> {
    let at = |k: usize| rest.get(k).map(|&(_, c)| c);
    let eyes = at(0).filter(|c| matches!(c, ':' | ';' | '='))?;
    let mut k = 1;
    if matches!(at(k), Some('-' | '\'')) {
        k += 1;
    }
    let mouth = at(k).filter(|c| {
        matches!(
            c,
            '(' | ')'
                | '['
                | ']'
                | '/'
                | '\\'
                | '|'
                | 'D'
                | 'P'
                | 'p'
                | 'O'
                | 'o'
                | 'S'
                | 's'
                | '*'
                | '@'
                | '$'
                | 'X'
                | 'x'
        )
    })?;
    if !at(k + 1).is_none_or(|c| c.is_whitespace() || matches!(c, '.' | ',' | '!' | '?' | ';')) {
        return None;
    }
    Some((format!("{eyes}{mouth}"), k + 1))
}

/// Cues found in one sentence (outside the whitelisted form and scope tokens).
#[derive(Debug, Default, Clone)]
struct Cues {
    /// A question mark, or a sentence that starts like a question ("is", "can", "why" …).
    question: bool,
    negation: bool,
    condition: bool,
    timing: bool,
    future: bool,
    hedge: bool,
    modal: bool,
    delegation: bool,
    limit: bool,
    /// Every word is a negation or a filler, and one is a negation: "Not.", "Nope", "Not yet".
    bare_negation: bool,
    /// Names the request or part of it: "it", "this", "access", "sudo", a group …
    subject: bool,
}

/// One sentence, tokenised.
struct Sentence<'t> {
    text: &'t str,
    toks: Vec<Tok>,
    /// Tokens inside benign idioms ("no problem", "let me know if").
    benign: Vec<bool>,
    /// Tokens inside courtesy phrases ("thanks", 👍, "no objections").
    courtesy: Vec<bool>,
    altered: bool,
    /// Indices of tokens that name a known group, with the group.
    groups: Vec<(usize, String)>,
    /// The clause (between separators) of each token.
    clause: Vec<usize>,
    /// Per clause: it promises, hedges or (the last clause of a question) asks.
    clause_doubt: Vec<bool>,
    /// Where the withdrawal cues of `[phrases] withdraw` are (token ranges).
    withdrawals: Vec<Range<usize>>,
    /// Which patterns of the prefilter ([`ReadingRules::prefilter`]) can match.
    may: regex::SetMatches,
}

/// Why a comment of only negations is doubtful.
const BARE: &str = "it is only a negation, and does not say of what";

/// Index of `withdraw` in the prefilter.
const PRE_WITHDRAW: usize = 7;
/// Index of the first `[negated]` pattern in the prefilter.
const PRE_NEGATED: usize = 8;

/// A clean form found in a sentence.
#[derive(Debug, Clone)]
struct Hit {
    /// The tokens of the form and its scope and courtesy words.
    covered: Range<usize>,
    /// The groups it names (approvals).
    groups: BTreeSet<String>,
    /// The person it is about, when it names one (confirmations: "… for Bea").
    named: Option<String>,
    /// Why it is not clean after all (a scope that names nothing known, "by someone else" …).
    err: Option<&'static str>,
    /// The role it says it is given in ("as manager", "Lead approval:"), if it names one.
    capacity: Option<Capacity>,
}

/// How one sentence reads for one statement.
#[derive(Debug, Clone)]
enum Verdict {
    /// Clean: the groups it is limited to, the person it names, the role it names.
    Clean(Option<BTreeSet<String>>, Option<String>, Option<Capacity>),
    Doubt(String),
    Withdrawal,
    /// Only negations ("Not.", "Nope", "Not yet"): a withdrawal of what the comment speaks of.
    BareNegation,
    UnclearWithdrawal(&'static str),
    /// Only a thumbs-up or a courtesy phrase speaks of it.
    Weak,
    Other,
}

/// Marks the tokens covered by the phrases of `set`, matched left to right without overlap.
fn mask(set: &WordSet, toks: &[Tok]) -> Vec<bool> {
    let mut m = vec![false; toks.len()];
    let mut i = 0;
    while i < toks.len() {
        match set.match_at(toks, i) {
            Some(n) => {
                m[i..i + n].iter_mut().for_each(|b| *b = true);
                i += n;
            }
            None => i += 1,
        }
    }
    m
}

/// The tokens a byte range of the sentence overlaps, for ranges given in increasing order
/// (`from` carries the search position from one call to the next).
fn overlapping(toks: &[Tok], r: Range<usize>, from: &mut usize) -> Range<usize> {
    while *from < toks.len() && toks[*from].span.end <= r.start {
        *from += 1;
    }
    let mut end = *from;
    while end < toks.len() && toks[end].span.start < r.end {
        end += 1;
    }
    *from..end
}

/// What a reader reads with: the compiled phrases, and the names of the known groups (an
/// approval's scope may name one). The whole rule set is one (`crate::rules::Rules`).
pub trait Lexicon {
    /// The compiled phrases of phrases.toml.
    fn phrases(&self) -> &Phrases;
    /// Whether `name` (lowercase) is a known group.
    fn is_group(&self, name: &str) -> bool;
}

/// The reader, for one set of rules.
pub struct Reader<'r> {
    phrases: &'r Phrases,
    lexicon: &'r dyn Lexicon,
    /// Units of work done so far (bytes and tokens visited): tests check it grows linearly.
    work: std::cell::Cell<u64>,
}

/// Reads one comment for every statement (see the module doc).
pub fn read(text: &str, lexicon: &dyn Lexicon) -> Readings {
    Reader::new(lexicon).read(text)
}

impl<'r> Reader<'r> {
    /// A reader for these rules.
    pub fn new(lexicon: &'r dyn Lexicon) -> Reader<'r> {
        Reader {
            phrases: lexicon.phrases(),
            lexicon,
            work: std::cell::Cell::new(0),
        }
    }

    /// The units of work (bytes, tokens and phrase look-ups visited) of every read so far.
    pub fn work(&self) -> u64 {
        self.work.get()
    }

    fn tick(&self, n: usize) {
        self.work.set(self.work.get().saturating_add(n as u64));
    }

    fn vocabulary(&self, s: Statement) -> &Regex {
        let p = &self.phrases;
        let v = &p.reading.vocabulary;
        match s {
            Statement::Approve => &p.approve,
            Statement::L3Verified => &v.l3_verified,
            Statement::NdaConfirmed => &v.nda_confirmed,
            Statement::SreApproved => &v.sre_approved,
            Statement::SreDeclined => &v.sre_declined,
            Statement::ExecutiveSignoff => &v.executive_signoff,
            Statement::ResearchConfirmed => &v.research_confirmed,
        }
    }

    fn phrase(&self, s: Statement) -> &Regex {
        let p = &self.phrases;
        match s {
            Statement::Approve => &p.approve,
            Statement::L3Verified => &p.l3_verified,
            Statement::NdaConfirmed => &p.nda_confirmed,
            Statement::SreApproved => &p.sre_approved,
            Statement::SreDeclined => &p.sre_declined,
            Statement::ExecutiveSignoff => &p.executive_signoff,
            Statement::ResearchConfirmed => &p.research_confirmed,
        }
    }

    /// Patterns that deny this statement outright ("No NDA on file"), if configured.
    fn negated(&self, s: Statement) -> Option<&Regex> {
        self.phrases.reading.negated.get(&s)
    }

    /// Reads one comment for every statement.
    pub fn read(&self, text: &str) -> Readings {
        self.tick(text.len());
        let ctx = FoldCtx {
            talk: &self.phrases.approve,
            negations: &self.phrases.reading.negations,
        };
        let t = analyse(text, &ctx);
        self.tick(
            t.prose.len()
                + t.other
                    .iter()
                    .chain(&t.table)
                    .map(String::len)
                    .sum::<usize>(),
        );
        let sentences: Vec<Sentence<'_>> = t
            .sentences
            .iter()
            .map(|r| self.sentence(&t, r.clone()))
            .collect();
        let cues: Vec<Cues> = sentences.iter().map(|s| self.cues(s, None)).collect();
        let mut readings: [Reading; 7] =
            std::array::from_fn(|k| self.read_for(Statement::ALL[k], &t, &sentences, &cues));
        // A bare negation ("No.", "Not yet.") is about the statements the comment speaks of;
        // when it speaks of none, it is doubtful for every one (it may answer any of them).
        let is_bare = |r: &Reading| matches!(r, Reading::Unclear { why } if why == BARE);
        let speaks = readings.iter().any(|r| *r != Reading::None && !is_bare(r));
        if speaks {
            for r in readings.iter_mut().filter(|r| is_bare(r)) {
                *r = Reading::None;
            }
        }
        // "Wait.", "I have concerns.", "She left the team.": an objection or a call to wait
        // that names no statement casts doubt on a `yes` in the same comment, and on its
        // author's earlier `yes` (kept beside the readings for `approvals::role`).
        let objection = self.objection(&sentences).map(|cue| {
            format!(
                "it raises an objection or asks to wait (\"{}\") without saying what becomes of it",
                crate::remarkup_out::inert(&cue)
            )
        });
        // "- [x] Approved\n- [ ] Sudo": an unticked box in the same comment leaves something
        // out, and the bot cannot tell what.
        let unticked = sentences.iter().any(|s| unticked_box(s.text)).then(|| {
            "an unticked checkbox in the same comment may leave part of it out".to_string()
        });
        if let Some(why) = objection.as_ref().or(unticked.as_ref()) {
            for r in readings
                .iter_mut()
                .filter(|r| matches!(r, Reading::Yes { .. }))
            {
                *r = Reading::unclear(why.clone());
            }
        }
        // "Approved T12346", "Approved (see T12345)", "Approved. This is for T12346.": an
        // approval whose author names a task may be about that task, not the one it is on.
        if let Some(t) = sentences
            .iter()
            .flat_map(|s| s.toks.iter())
            .find(|x| is_task_ref(x))
        {
            let approve = &mut readings[Statement::Approve.index()];
            if matches!(approve, Reading::Yes { .. }) {
                *approve = Reading::unclear(format!(
                    "it names a task ({}): which request it approves is for clinic duty to tell",
                    crate::remarkup_out::inert(&t.text.to_uppercase())
                ));
            }
        }
        // A signature ("-- mboss") is how mail passed on ends: whose words are these?
        if readings.iter().any(|r| matches!(r, Reading::Yes { .. })) {
            let talk = |x: &str| {
                Statement::ALL
                    .iter()
                    .any(|s| self.vocabulary(*s).is_match(x))
            };
            if let Some(sig) = signature(text, &talk) {
                let why = format!(
                    "it ends with a signature (\"{}\"), as mail passed on does; written in one's own words it needs none",
                    crate::remarkup_out::inert(sig)
                );
                for r in readings
                    .iter_mut()
                    .filter(|r| matches!(r, Reading::Yes { .. }))
                {
                    *r = Reading::unclear(why.clone());
                }
            }
        }
        Readings(readings, objection)
    }

    /// The first objection in the author's words (`[reading] objections`) that no negation
    /// right before it turns around ("not blocking", "don't worry") and no benign idiom holds
    /// ("no concerns", "sorry for the wait").
    fn objection(&self, sentences: &[Sentence<'_>]) -> Option<String> {
        let rd = &self.phrases.reading;
        for s in sentences {
            let toks = &s.toks;
            for i in 0..toks.len() {
                if s.benign[i] {
                    continue;
                }
                let Some(n) = rd.objections.match_at(toks, i) else {
                    continue;
                };
                let negated = i > 0 && {
                    let before = &toks[i - 1];
                    before.kind == TokKind::Word
                        && (rd.negations.contains_word(&before.text)
                            || before.text.ends_with("n't")
                            || before.text == "without")
                };
                if !negated {
                    return Some(s.text[toks[i].span.start..toks[i + n - 1].span.end].to_string());
                }
            }
        }
        None
    }

    /// Where a comment speaks of `st` outside its author's plain words, which never make a
    /// `Yes` (so a message can say why the comment did not count): struck through, or in a
    /// quote, code or literal block, inline code or a double-quoted span. Struck text wins
    /// (it reads as a withdrawal). `None` when neither holds any of the statement's words.
    /// Reads the comment again: call it only for the few comments a message names.
    pub fn set_aside(&self, text: &str, st: Statement) -> Option<SetAside> {
        let ctx = FoldCtx {
            talk: &self.phrases.approve,
            negations: &self.phrases.reading.negations,
        };
        let t = analyse(text, &ctx);
        let vocab = self.vocabulary(st);
        if t.struck.iter().any(|x| vocab.is_match(x)) {
            Some(SetAside::Struck)
        } else if t.other.iter().chain(&t.inline).any(|x| vocab.is_match(x)) {
            Some(SetAside::Quoted)
        } else {
            None
        }
    }

    fn sentence<'t>(&self, t: &'t Text, r: Range<usize>) -> Sentence<'t> {
        let text = &t.prose[r.clone()];
        let first = t.hidden_at.partition_point(|&p| p < r.start);
        let hidden: Vec<(usize, usize)> = t.hidden_at[first..]
            .iter()
            .take_while(|&&p| p < r.end)
            .enumerate()
            .map(|(k, &p)| (p - r.start, first + k))
            .collect();
        let toks = tokenize(text, &hidden);
        self.tick(text.len() + toks.len());
        let a = t.altered.partition_point(|&p| p < r.start);
        let altered = t.altered.get(a).is_some_and(|&p| p < r.end);
        let rd = &self.phrases.reading;
        let benign = mask(&rd.benign, &toks);
        let courtesy = mask(&rd.courtesy, &toks);
        let groups = toks
            .iter()
            .enumerate()
            .filter_map(|(k, tok)| self.group_of(tok, t).map(|g| (k, g)))
            .collect();
        // Clauses, and whether each promises, hedges or asks.
        let question_mark = text.contains(['?', '\u{061F}', '\u{00BF}', '\u{203D}']);
        let mut clause = Vec::with_capacity(toks.len());
        let mut clause_doubt = vec![false];
        let mut first_of_clause = true;
        for (k, tok) in toks.iter().enumerate() {
            if tok.kind == TokKind::Sep {
                clause_doubt.push(false);
                first_of_clause = true;
            }
            clause.push(clause_doubt.len() - 1);
            if !tok.is_wordlike() || benign[k] {
                continue;
            }
            let bits = rd.cue_index.bits(&tok.text);
            let doubt = tok.text.ends_with("'ll")
                || (bits & FUTURE != 0 && rd.future.match_at(&toks, k).is_some())
                || (bits & HEDGE != 0 && rd.hedges.match_at(&toks, k).is_some())
                || (bits & DEFER != 0 && rd.deferrals.match_at(&toks, k).is_some())
                || (first_of_clause && question_mark && rd.questions.match_at(&toks, k).is_some());
            first_of_clause = false;
            if doubt {
                if let Some(d) = clause_doubt.last_mut() {
                    *d = true;
                }
            }
        }
        if question_mark {
            if let Some(d) = clause_doubt.last_mut() {
                *d = true;
            }
        }
        let may = rd.prefilter.matches(text);
        let mut withdrawals = Vec::new();
        if may.matched(PRE_WITHDRAW) {
            let mut from = 0;
            for m in self.phrases.withdraw.find_iter(text) {
                withdrawals.push(overlapping(&toks, m.range(), &mut from));
            }
        }
        self.tick(withdrawals.len());
        Sentence {
            text,
            toks,
            benign,
            courtesy,
            altered,
            groups,
            clause,
            clause_doubt,
            withdrawals,
            may,
        }
    }

    /// The known group a token names, if any: a word, or an inline code or quoted span.
    fn group_of(&self, tok: &Tok, t: &Text) -> Option<String> {
        let name = match tok.kind {
            TokKind::Word => tok.text.as_str(),
            TokKind::Hidden(i) => t.inline.get(i)?.trim(),
            _ => return None,
        };
        self.lexicon.is_group(name).then(|| name.to_string())
    }

    /// The cues of a sentence, outside the tokens marked in `exempt` (form and scope tokens).
    fn cues(&self, s: &Sentence<'_>, exempt: Option<&[bool]>) -> Cues {
        let rd = &self.phrases.reading;
        let mut c = Cues {
            question: s.text.contains(['?', '\u{061F}', '\u{00BF}', '\u{203D}']),
            ..Cues::default()
        };
        // Only benign idioms and the "only" of a scope ("for analytics-users only") are exempt:
        // a cue inside a form's scope or team name still counts.
        let free = |i: usize| {
            !(s.benign[i] || (exempt.is_some_and(|e| e[i]) && s.toks[i].is_word("only")))
        };
        if let Some(f) = s.toks.iter().position(Tok::is_wordlike) {
            if free(f) && rd.questions.match_at(&s.toks, f).is_some() {
                c.question = true;
            }
        }
        let mut words = 0;
        let mut fillers = 0;
        self.tick(s.toks.len());
        for i in 0..s.toks.len() {
            let t = &s.toks[i];
            if !t.is_wordlike() || !free(i) {
                continue;
            }
            words += 1;
            let bits = rd.cue_index.bits(&t.text);
            let word = t.kind == TokKind::Word;
            let nt = word && t.text.ends_with("n't");
            let ll = word && t.text.ends_with("'ll");
            if bits == 0 && !nt && !ll {
                continue;
            }
            let hit =
                |bit: u16, set: &WordSet| bits & bit != 0 && set.match_at(&s.toks, i).is_some();
            let neg = hit(NEG, &rd.negations) || nt;
            c.negation |= neg;
            if neg || (bits & FILLER != 0 && rd.fillers.contains_word(&t.text)) {
                fillers += 1;
            }
            c.condition |= hit(COND, &rd.conditions);
            c.timing |= hit(TIMING, &rd.timing);
            c.future |= hit(FUTURE, &rd.future) || ll;
            c.hedge |= hit(HEDGE, &rd.hedges);
            c.modal |= hit(MODAL, &rd.modals);
            c.delegation |= hit(DELEG, &rd.delegation);
            c.limit |= hit(LIMIT, &rd.limits);
            c.subject |= hit(SUBJECT, &rd.subjects);
        }
        c.subject |= s.groups.iter().any(|(k, _)| free(*k));
        c.bare_negation = c.negation && words > 0 && fillers == words;
        c
    }

    /// Marks, from token `from` on, the tokens a clause may start at: `from` itself and every
    /// token reached over lead-in words ("ok", "yes", "thanks", "hi"), up to a separator.
    fn reach_from(&self, toks: &[Tok], from: usize, reach: &mut [bool]) {
        let rd = &self.phrases.reading;
        let mut k = from;
        while k < toks.len() {
            if reach[k] {
                return;
            }
            reach[k] = true;
            match rd.lead_ins.match_at(toks, k) {
                Some(n) => k += n,
                None => return,
            }
        }
    }

    /// The clause starts of a sentence: after each separator and the sentence start.
    fn clause_starts(&self, toks: &[Tok]) -> Vec<bool> {
        let mut reach = vec![false; toks.len() + 1];
        self.reach_from(toks, 0, &mut reach);
        for k in 0..toks.len() {
            if toks[k].kind == TokKind::Sep {
                self.reach_from(toks, k + 1, &mut reach);
            }
        }
        reach
    }

    /// The clean forms of a statement in a sentence.
    fn hits(&self, st: Statement, s: &Sentence<'_>, t: &Text) -> Vec<Hit> {
        let rd = &self.phrases.reading;
        self.tick(s.toks.len());
        let mut reach = self.clause_starts(&s.toks);
        let mut out: Vec<Hit> = Vec::new();
        if st == Statement::Approve {
            let mut i = 0;
            while i < s.toks.len() {
                let Some(n) = rd.approve_forms.match_at(&s.toks, i) else {
                    i += 1;
                    continue;
                };
                if !reach[i] {
                    i += n;
                    continue;
                }
                let mut hit = self.suffix(s, t, i + n);
                hit.covered.start = i;
                // "For Bob: approved.": a leading scope must be groups (read by
                // `leading_scope`) or the whole request, like one after the form.
                if i >= 2
                    && s.toks[0].is_word("for")
                    && s.toks[i - 1].kind == TokKind::Sep
                    && hit.err.is_none()
                {
                    let lead = &s.toks[1..i - 1];
                    let generic = rd.generic_scopes.match_at(&s.toks, 1) == Some(lead.len());
                    if !generic && !only_groups(s, 1..i - 1) {
                        hit.err = Some(
                            "it names a scope that is neither a requested group nor the whole request",
                        );
                    }
                }
                // "Manager approval: approved", "Status: approved": a label before the colon.
                if i >= 2 && s.toks[i - 1].kind == TokKind::Sep && s.toks[i - 1].text == ":" {
                    let label = rd.labels.match_at(&s.toks, 0);
                    let before = &s.toks[..i - 1];
                    // Groups before the colon are a leading scope ("analytics-users:
                    // approved"), read like "For analytics-users: approved".
                    let groups_only = only_groups(s, 0..i - 1);
                    // "+1: approved": an approval form before it.
                    let after_form = out.last().is_some_and(|h| h.covered.end + 1 >= i);
                    // "As lead: approved."
                    let as_role = s.toks[0].is_word("as")
                        && self
                            .role_at(&s.toks, 1)
                            .is_some_and(|(n, _)| n + 1 == i - 1);
                    if label == Some(i - 1) || as_role {
                        hit.covered.start = 0;
                        if let Some(c) = self.role_in(before) {
                            hit.capacity = Capacity::with(hit.capacity, c);
                        }
                    } else if hit.err.is_none()
                        && !self.names_nobody_before(&s.toks, i - 1)
                        && !s.toks[0].is_word("for")
                        && !groups_only
                        && !after_form
                    {
                        // "@mboss: approved", "mboss: approved", "Manager (mboss):
                        // approved": a person, a role with more, or any other words before
                        // the colon read like a report of someone's approval, not the
                        // writer's own ("@mboss, approved." and "Hi @mboss: approved."
                        // address them, and "Manager: approved." labels it).
                        hit.err = Some(
                            "it names someone before the colon, as a report of their approval would, so it may not be the writer's own",
                        );
                    }
                }
                // A form may follow a form: "+1, approved", "LGTM +1".
                self.reach_from(&s.toks, hit.covered.end, &mut reach);
                i = hit.covered.end.max(i + 1);
                out.push(hit);
            }
            return out;
        }
        let mut from = 0;
        for m in self.phrase(st).find_iter(s.text) {
            let r = overlapping(&s.toks, m.range(), &mut from);
            if r.is_empty() || !reach[r.start] {
                continue;
            }
            let mut end = r.end;
            while let Some(n) = rd.courtesy.match_at(&s.toks, end) {
                end += n;
            }
            let (end, after) = self.named_after(s, end);
            let before = if r.start > 0 {
                self.named_before(s, r.start)
            } else {
                None
            };
            // "SRE meeting: approved with changes", "NDA confirmed via email", "Executive
            // sign-off: given by the CTO": what follows right after it qualifies it, or says
            // who did it ("for" names whom it is about, read above, as does "signed by";
            // "as discussed" and "by me" add nothing).
            let qualified = after.is_none()
                && s.toks.get(end).is_some_and(|x| {
                    x.kind == TokKind::Word
                        && rd.modifiers.contains_word(&x.text)
                        && !x.is_word("for")
                })
                && rd.generic.match_at(&s.toks, end).is_none();
            self.reach_from(&s.toks, end, &mut reach);
            out.push(Hit {
                covered: r.start..end,
                groups: BTreeSet::new(),
                named: after.or(before),
                err: qualified.then_some(
                    "it says more than the statement itself (what follows qualifies it)",
                ),
                capacity: None,
            });
        }
        out
    }

    /// The person an approval names in its words besides a scope: a mention that does not
    /// just address someone ("I approve @jsmith's access", "Approved @jsmith", "access for
    /// @jsmith"; not "@jdoe, approved", "Approved, @jdoe", "cc @sre"), or a name whose
    /// request or access it is ("Approved jsmith's request"), or whose manager approves ("As
    /// Jane's manager, I approve"; `[reading] possessions`, `not_owners`). Whether that is the
    /// request's subject is for the caller ([`Scope::Person`]): an approval of someone else's
    /// access must not count for this one. `Err` when it names two.
    fn person_approved(&self, s: &Sentence<'_>) -> Result<Option<String>, &'static str> {
        let rd = &self.phrases.reading;
        let toks = &s.toks;
        let mut named: Option<String> = None;
        for (k, t) in toks.iter().enumerate() {
            if t.kind != TokKind::Word {
                continue;
            }
            let bare = t.text.strip_suffix("'s");
            let name = if t.text.len() > 1 && t.text.starts_with('@') {
                let before = toks[..k].iter().rev().find(|x| x.kind != TokKind::Sep);
                let addressed = bare.is_none()
                    && (toks[..k]
                        .iter()
                        .enumerate()
                        .all(|(j, x)| !x.is_wordlike() || rd.lead_ins.match_at(toks, j).is_some())
                        || k.checked_sub(1)
                            .is_some_and(|j| toks[j].kind == TokKind::Sep && toks[j].text == ",")
                        || before.is_some_and(|x| x.is_word("cc")));
                if addressed {
                    continue;
                }
                bare.unwrap_or(&t.text).trim_start_matches('@')
            } else {
                match bare {
                    Some(w)
                        if !rd.not_owners.contains_word(w)
                            && toks.get(k + 1).is_some_and(|n| {
                                n.kind == TokKind::Word && rd.possessions.contains_word(&n.text)
                            }) =>
                    {
                        w
                    }
                    _ => continue,
                }
            };
            match &named {
                Some(m) if m != name => return Err("it names more than one person"),
                _ => named = Some(name.to_string()),
            }
        }
        Ok(named)
    }

    /// The person a confirmation names after its form, over separators: "NDA on file for
    /// Bea", "…, for @bea", "… (@bea)", and for a form that ends in "signed", who signed
    /// ("L3 signed by bea"): the words up to the next separator, unless they are a generic
    /// scope ("for her", "for this user", "by me"). Returns where the form's tokens end (moved
    /// only past a name) and the name.
    fn named_after(&self, s: &Sentence<'_>, end: usize) -> (usize, Option<String>) {
        let toks = &s.toks;
        let mut k = end;
        while toks.get(k).is_some_and(|x| {
            x.kind == TokKind::Sep && matches!(x.text.as_str(), "," | "(" | ":" | "-")
        }) {
            k += 1;
        }
        let Some(tok) = toks.get(k) else {
            return (end, None);
        };
        let signed = end > 0 && toks[end - 1].is_word("signed");
        let dashed = toks[end..k].iter().any(|x| x.text == "-");
        let alone = k > 0 && Self::parenthesized(toks, k - 1).is_some();
        let from = if tok.is_word("for") || (signed && tok.is_word("by")) {
            k + 1
        } else if tok.kind == TokKind::Word
            && (tok.text.starts_with('@')
                || (dashed && toks.get(k + 1).is_none_or(|x| x.kind == TokKind::Sep))
                || (alone && self.names_someone(tok)))
        {
            // "… (@bea)", "NDA on file (bea)", "NDA on file - Bea" (one word after a dash:
            // "- see notes" names nobody)
            k
        } else {
            return (end, None);
        };
        let stops = |k: usize| toks.get(k).is_none_or(|x| x.kind == TokKind::Sep);
        let generic = &self.phrases.reading;
        for set in [&generic.generic_scopes, &generic.generic, &generic.courtesy] {
            if let Some(n) = set.match_at(toks, from) {
                if stops(from + n) {
                    return (end, None);
                }
            }
        }
        let mut to = from;
        while toks.get(to).is_some_and(|x| x.kind != TokKind::Sep) {
            to += 1;
        }
        if to == from {
            return (end, None);
        }
        let name = s.text[toks[from].span.start..toks[to - 1].span.end].to_string();
        (to, Some(name))
    }

    /// The person named before a confirmation form that starts a later clause: "For Bea: NDA
    /// on file." (`for`, then words up to a separator at the sentence start), unless generic;
    /// "@bea: NDA on file.", "Bea: NDA on file." (the words before a colon at the sentence
    /// start, unless a `[reading] labels` entry, a lead-in or generic).
    fn named_before(&self, s: &Sentence<'_>, start: usize) -> Option<String> {
        let toks = &s.toks;
        let rd = &self.phrases.reading;
        // "@bea: NDA on file.", "Bea: NDA on file.", "Jane Doe: NDA on file.": the words
        // before a colon at the sentence start, unless they label it ("Update:", "Legal:"),
        // lead in ("Thanks:") or name nobody ("From my side:").
        if !toks.first().is_some_and(|x| x.is_word("for")) {
            let colon = toks[..start]
                .iter()
                .position(|x| x.kind == TokKind::Sep && x.text == ":")?;
            if colon == 0 || toks[..colon].iter().any(|x| x.text == "\n") {
                return None;
            }
            if rd.labels.match_at(toks, 0) == Some(colon) || self.names_nobody_before(toks, colon) {
                return None;
            }
            return Some(s.text[toks[0].span.start..toks[colon - 1].span.end].to_string());
        }
        let sep = toks[..start].iter().position(|x| x.kind == TokKind::Sep)?;
        if sep < 2 {
            return None;
        }
        if self.phrases.reading.generic_scopes.match_at(toks, 1) == Some(sep - 1) {
            return None;
        }
        Some(s.text[toks[1].span.start..toks[sep - 1].span.end].to_string())
    }

    /// Whether the words before the colon at token `colon` (the sentence's start) name
    /// nobody: a lead-in starts them ("Hi Bob:", "Thanks:") or they are a generic phrase
    /// ("From my side:"). Labels are each caller's own matter.
    fn names_nobody_before(&self, toks: &[Tok], colon: usize) -> bool {
        let rd = &self.phrases.reading;
        rd.lead_ins.match_at(toks, 0).is_some()
            || [&rd.generic, &rd.generic_scopes]
                .iter()
                .any(|set| set.match_at(toks, 0) == Some(colon))
    }

    /// Whether a word alone in parentheses after a statement ("Approved (mboss)", "NDA on
    /// file (bob)") names someone: a mention, or a word of none of the reading's lists, no
    /// group, no number ("(again)", "(thanks)", "(2026)" name nobody).
    fn names_someone(&self, w: &Tok) -> bool {
        let rd = &self.phrases.reading;
        if w.kind != TokKind::Word {
            return false;
        }
        if w.text.starts_with('@') {
            return true;
        }
        let known = [
            &rd.generic,
            &rd.generic_scopes,
            &rd.courtesy,
            &rd.lead_ins,
            &rd.fillers,
            &rd.time_words,
            &rd.limits,
            &rd.hedges,
            &rd.modifiers,
            &rd.subjects,
            &rd.benign,
            &rd.negations,
            &rd.roles,
            &rd.manager_roles,
            &rd.lead_roles,
        ]
        .iter()
        .any(|set| set.contains_word(&w.text));
        !known
            && !self.lexicon.is_group(&w.text)
            && !w.text.chars().any(|c| c.is_ascii_digit())
            && !rd.approve_forms.contains_word(&w.text)
    }

    /// "(word)" at token `k`: the word, when it is alone in the parentheses.
    fn parenthesized(toks: &[Tok], k: usize) -> Option<&Tok> {
        let open = toks.get(k)?;
        let close = toks.get(k + 2)?;
        (open.kind == TokKind::Sep && open.text == "(" && close.text == ")").then(|| &toks[k + 1])
    }

    /// A role at token `k` ("manager", "the project lead", "approver"): its length in tokens
    /// and the role it names (`None`: no particular one). The longest of the lists wins.
    fn role_at(&self, toks: &[Tok], k: usize) -> Option<(usize, Option<Capacity>)> {
        let rd = &self.phrases.reading;
        [
            (rd.manager_roles.match_at(toks, k), Some(Capacity::Manager)),
            (rd.lead_roles.match_at(toks, k), Some(Capacity::Lead)),
            (rd.roles.match_at(toks, k), None),
        ]
        .into_iter()
        .filter_map(|(n, c)| n.map(|n| (n, c)))
        .max_by_key(|(n, _)| *n)
    }

    /// The role named anywhere in `toks` (a label: "Manager approval", "Lead approval").
    fn role_in(&self, toks: &[Tok]) -> Option<Capacity> {
        let mut named = None;
        let mut k = 0;
        while k < toks.len() {
            match self.role_at(toks, k) {
                Some((n, c)) => {
                    if let Some(c) = c {
                        named = Capacity::with(named, c);
                    }
                    k += n;
                }
                None => k += 1,
            }
        }
        named
    }

    /// Parses what follows an approval form: scope ("for analytics-users only"), generic
    /// phrases ("from my side", "as manager", "by me"), courtesy ("thanks", 👍).
    fn suffix(&self, s: &Sentence<'_>, t: &Text, from: usize) -> Hit {
        let rd = &self.phrases.reading;
        let toks = &s.toks;
        let mut hit = Hit {
            covered: from..from,
            groups: BTreeSet::new(),
            named: None,
            err: None,
            capacity: None,
        };
        let group_at =
            |k: usize| -> Option<String> { toks.get(k).and_then(|tok| self.group_of(tok, t)) };
        let joins = |x: &Tok| {
            (x.kind == TokKind::Sep && matches!(x.text.as_str(), "," | "&" | "+" | "/"))
                || x.is_word("and")
        };
        // A list of groups: [both] g ((, | and | & | + | /) g)* [only]
        let group_list = |mut k: usize, groups: &mut BTreeSet<String>| -> usize {
            let start = k;
            if toks.get(k).is_some_and(|x| x.is_word("both")) {
                k += 1;
            }
            let Some(g) = group_at(k) else { return start };
            groups.insert(g);
            k += 1;
            loop {
                let mut j = k;
                while toks.get(j).is_some_and(joins) {
                    j += 1;
                }
                match group_at(j) {
                    Some(g) if j > k => {
                        groups.insert(g);
                        k = j + 1;
                    }
                    _ => break,
                }
            }
            if toks.get(k).is_some_and(|x| x.is_word("only")) {
                k += 1;
            }
            k
        };
        let mut i = from;
        while let Some(tok) = toks.get(i) {
            self.tick(1);
            // "Approved (mboss)": a signature, or a report of their approval.
            if Self::parenthesized(toks, i).is_some_and(|w| self.names_someone(w)) {
                hit.err = Some(
                    "a word in parentheses beside it may name someone, as a signature or a report of their approval would, so it may not be the writer's own",
                );
                break;
            }
            if tok.kind == TokKind::Sep && matches!(tok.text.as_str(), "(" | ")" | ":" | "," | "\n")
            {
                i += 1;
                continue;
            }
            if let Some(n) = rd.courtesy.match_at(toks, i) {
                i += n;
                continue;
            }
            if let Some(n) = rd.generic.match_at(toks, i) {
                i += n;
                continue;
            }
            if tok.is_word("only") && toks.get(i + 1).is_some_and(|x| x.is_word("for")) {
                i += 1;
                continue;
            }
            if tok.is_word("for") {
                let after = group_list(i + 1, &mut hit.groups);
                if after > i + 1 {
                    i = after;
                    continue;
                }
                if let Some(n) = rd.generic_scopes.match_at(toks, i + 1) {
                    i += 1 + n;
                    continue;
                }
                hit.err = Some(
                    "it names a scope that is neither a requested group nor the whole request",
                );
                break;
            }
            if tok.is_word("as") {
                // "as manager", "as manager and (as) project lead"
                let mut k = i + 1;
                let mut known = false;
                while let Some((n, capacity)) = self.role_at(toks, k) {
                    known = true;
                    if let Some(c) = capacity {
                        hit.capacity = Capacity::with(hit.capacity, c);
                    }
                    k += n;
                    let mut j = k;
                    if !toks.get(j).is_some_and(|x| x.is_word("and")) {
                        break;
                    }
                    j += 1;
                    if toks.get(j).is_some_and(|x| x.is_word("as")) {
                        j += 1;
                    }
                    // "as manager and friend": a role the bot does not know beside it.
                    known = self.role_at(toks, j).is_some();
                    if !known {
                        break;
                    }
                    k = j;
                }
                // "as the manager of her manager", "as lead of another team": whose?
                if toks.get(k).is_some_and(|x| x.is_word("of")) {
                    known = false;
                }
                if known {
                    i = k;
                    continue;
                }
                hit.err = Some("it approves \"as\" something the bot does not know");
                break;
            }
            if tok.is_word("by") {
                hit.err = Some("it says who approved instead of approving");
                break;
            }
            if tok.is_word("from") {
                // "from <team> [side]": up to four words, none a time, a number or a cue.
                let mut k = i + 1;
                while k < i + 5
                    && toks.get(k).is_some_and(|x| {
                        x.kind == TokKind::Word
                            && !rd.time_words.contains_word(&x.text)
                            && !x.text.chars().any(|c| c.is_ascii_digit())
                            && !rd.modifiers.contains_word(&x.text)
                            && !rd.negations.contains_word(&x.text)
                    })
                {
                    k += 1;
                }
                let stops = toks
                    .get(k)
                    .is_none_or(|x| matches!(x.kind, TokKind::Sep | TokKind::Symbol));
                if k > i + 1 && stops {
                    i = k;
                    continue;
                }
                hit.err = Some("it says \"from\" something the bot does not read as a team");
                break;
            }
            let after = group_list(i, &mut hit.groups);
            if after > i {
                i = after;
                continue;
            }
            break;
        }
        hit.covered.end = i;
        // What follows must not qualify the approval ("… to the above", "… with conditions").
        if hit.err.is_none() {
            if let Some(next) = toks[i..].iter().find(|x| x.kind != TokKind::Sep) {
                if next.kind == TokKind::Word && rd.modifiers.contains_word(&next.text) {
                    hit.err = Some("it says more than an approval (what follows qualifies it)");
                }
            }
        }
        hit
    }

    /// Misspelt approval words ("aproved", "approvd"): tokens close to a target word.
    fn misspelt(&self, s: &Sentence<'_>) -> Vec<usize> {
        let rd = &self.phrases.reading;
        s.toks
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                let n = t.text.chars().count();
                t.kind == TokKind::Word
                    && (4..=14).contains(&n)
                    && t.text.chars().all(char::is_alphabetic)
                    && !rd.not_misspellings.contains_word(&t.text)
                    && rd.misspelling_targets.iter().any(|target| {
                        let m = target.chars().count();
                        let limit = match n.min(m) {
                            0..=3 => 0,
                            4 => usize::from(n == 4 && m == 4),
                            5..=6 => 1,
                            _ => 2,
                        };
                        let mut a = t.text.chars();
                        let mut b = target.chars();
                        let near = (a.next() == b.next()) | (a.next() == b.next());
                        limit > 0
                            && near
                            && t.text != *target
                            && n.abs_diff(m) <= limit
                            && distance(&t.text, target) <= limit
                    })
                    // A real approval word ("approved" is one edit from "approve") is talk,
                    // not a misspelling.
                    && !rd.misspelling_targets.contains(&t.text)
                    && !rd.approve_forms.contains_word(&t.text)
            })
            .map(|(k, _)| k)
            .collect()
    }

    /// How one sentence reads for one statement.
    fn judge(&self, st: Statement, s: &Sentence<'_>, cues: &Cues, t: &Text) -> Verdict {
        // Where the sentence speaks of the statement: each match of its vocabulary, and for
        // approvals each misspelt approval word.
        let mut talk_at: Vec<(Range<usize>, bool)> = Vec::new();
        if s.may.matched(st.index()) {
            let mut from = 0;
            for m in self.vocabulary(st).find_iter(s.text) {
                talk_at.push((overlapping(&s.toks, m.range(), &mut from), false));
            }
        }
        if st == Statement::Approve {
            talk_at.extend(self.misspelt(s).into_iter().map(|k| (k..k + 1, true)));
        }
        self.tick(talk_at.len());
        let hits = if talk_at.is_empty() {
            Vec::new()
        } else {
            self.hits(st, s, t)
        };
        // Which tokens a form covers; nothing to mark (and no allocation) when the sentence
        // does not speak of the statement, as most sentences for most statements do not.
        let mut covered = if talk_at.is_empty() {
            Vec::new()
        } else {
            vec![false; s.toks.len()]
        };
        for h in &hits {
            covered[h.covered.clone()]
                .iter_mut()
                .for_each(|b| *b = true);
        }
        // Withdrawal cues, except where the statement itself says them ("SRE meeting:
        // declined"). A question, a promise or a hedge in the clause of a denial makes it
        // doubtful ("Should I withdraw?", "I'll revoke it if …"); one elsewhere in the sentence
        // does not ("Can't approve yet: who is this?").
        let mut denial: Option<bool> = None; // Some(doubtful)
        let mut judge_denial = |r: &Range<usize>| {
            if !r.is_empty() && r.clone().all(|k| covered.get(k).copied().unwrap_or(false)) {
                return;
            }
            let doubtful = s.clause.get(r.start).is_some_and(|&c| s.clause_doubt[c]);
            let d = denial.get_or_insert(doubtful);
            *d = *d && doubtful;
        };
        for r in &s.withdrawals {
            judge_denial(r);
        }
        if let Some(re) = s
            .may
            .matched(PRE_NEGATED + st.index())
            .then(|| self.negated(st))
            .flatten()
        {
            let mut from = 0;
            for m in re.find_iter(s.text) {
                judge_denial(&overlapping(&s.toks, m.range(), &mut from));
            }
        }
        match denial {
            Some(true) => {
                return Verdict::UnclearWithdrawal("it asks about, promises or hedges a withdrawal")
            }
            Some(false) => return Verdict::Withdrawal,
            None => {}
        }
        if cues.bare_negation {
            return Verdict::BareNegation;
        }
        struct Talk {
            covered: bool,
            weak: bool,
            misspelt: bool,
        }
        let talk: Vec<Talk> = talk_at
            .iter()
            .map(|(r, misspelt)| Talk {
                covered: r.clone().any(|k| covered[k]),
                weak: !misspelt && !r.is_empty() && r.clone().all(|k| s.courtesy[k]),
                misspelt: *misspelt,
            })
            .collect();
        if talk.is_empty() {
            return Verdict::Other;
        }
        let c = self.cues(s, Some(&covered));
        let is_covered = |k: usize| covered.get(k).copied().unwrap_or(false);
        let uncovered: Vec<&Talk> = talk.iter().filter(|x| !x.covered).collect();
        let strong_uncovered = uncovered.iter().any(|x| !x.weak);
        let why: Option<String> = if c.question {
            Some("it asks a question".into())
        } else if c.negation {
            Some("it is negated without clearly withdrawing".into())
        } else if c.condition {
            Some("it is conditional (if, once, unless, pending …)".into())
        } else if c.future || c.timing {
            Some("it speaks of the future or of a later time".into())
        } else if c.hedge || c.modal {
            Some("it is hedged (maybe, I think, should, can …)".into())
        } else if c.delegation {
            Some("it speaks for someone else".into())
        } else if c.limit {
            Some("it limits itself (only, except, but …)".into())
        } else if s.altered {
            Some("it is written with look-alike or invisible characters".into())
        } else if let Some(err) = hits.iter().find_map(|h| h.err) {
            Some(err.into())
        } else if uncovered.iter().any(|x| x.misspelt) {
            Some("a word in it looks like a misspelt \"approved\"".into())
        } else if strong_uncovered {
            Some(format!("it is not written as a plain {}", plain_name(st)))
        } else {
            None
        };
        if let Some(why) = why {
            return Verdict::Doubt(why);
        }
        if hits.is_empty() {
            return Verdict::Weak;
        }
        // Part of the sentence in inline code or quotes that is not a group of its scope
        // ("Approved `for deployment`"), or an unticked checkbox ("- [ ] Approved").
        if s.toks
            .iter()
            .enumerate()
            .any(|(k, x)| matches!(x.kind, TokKind::Hidden(_) | TokKind::Struck) && !covered[k])
        {
            return Verdict::Doubt("part of it is in code, quotes or struck through".into());
        }
        // Part of it in single quotes ("'Approved'", "the 'approved' label"): someone's words
        // repeated, or a word held at arm's length; an apostrophe inside a word is not one.
        if opens_single_quote(s.text) {
            return Verdict::Doubt("part of it is in single quotes".into());
        }
        if unticked_box(s.text) {
            return Verdict::Doubt("it is an unticked checkbox".into());
        }
        // An emoji that is not courtesy changes the tone ("Approved 🙃", "Approved 🤔").
        let rd = &self.phrases.reading;
        if s.toks.iter().enumerate().any(|(k, x)| {
            x.kind == TokKind::Symbol
                && !covered[k]
                && !s.courtesy[k]
                && !rd.lead_ins.contains_word(&x.text)
        }) {
            return Verdict::Doubt("an emoji beside it changes its tone".into());
        }
        let mut groups: BTreeSet<String> = BTreeSet::new();
        for h in &hits {
            groups.extend(h.groups.iter().cloned());
        }
        if st == Statement::Approve {
            // Groups named outside the approval's scope.
            let stray: Vec<&(usize, String)> =
                s.groups.iter().filter(|(k, _)| !is_covered(*k)).collect();
            if !stray.is_empty() {
                match leading_scope(s, &stray) {
                    Some(g) => groups.extend(g),
                    None => {
                        return Verdict::Doubt("it names a group outside what it approves".into())
                    }
                }
            }
        }
        // The person it names: one, or doubt (two forms naming different people). An approval
        // names someone in its words around the form ("I approve @jsmith's access").
        let mut named: Option<String> = None;
        let approved = if st == Statement::Approve {
            match self.person_approved(s) {
                Ok(p) => p,
                Err(why) => return Verdict::Doubt(why.into()),
            }
        } else {
            None
        };
        for n in hits
            .iter()
            .filter_map(|h| h.named.as_ref())
            .chain(approved.as_ref())
        {
            match &named {
                Some(m) if m != n => {
                    return Verdict::Doubt("it names more than one person".into());
                }
                _ => named = Some(n.clone()),
            }
        }
        let mut capacity = None;
        for c in hits.iter().filter_map(|h| h.capacity) {
            capacity = Capacity::with(capacity, c);
        }
        Verdict::Clean((!groups.is_empty()).then_some(groups), named, capacity)
    }

    fn read_for(
        &self,
        st: Statement,
        t: &Text,
        sentences: &[Sentence<'_>],
        cues: &[Cues],
    ) -> Reading {
        let p = &self.phrases;
        let rd = &p.reading;
        let mut clean: Vec<Option<BTreeSet<String>>> = Vec::new();
        let mut named: Vec<String> = Vec::new();
        let mut capacity: Option<Capacity> = None;
        let mut doubt: Option<String> = None;
        let mut weak = false;
        let mut taint: Option<&'static str> = None;
        let mut unclear_withdrawal: Option<&'static str> = None;
        let mut bare = false;
        for (s, c) in sentences.iter().zip(cues) {
            // SRE meeting decisions are decisions, not role approvals.
            if st == Statement::Approve
                && (s.may.matched(Statement::SreApproved.index())
                    || s.may.matched(Statement::SreDeclined.index()))
            {
                continue;
            }
            match self.judge(st, s, c, t) {
                Verdict::Withdrawal => return Reading::No,
                Verdict::BareNegation => bare = true,
                Verdict::UnclearWithdrawal(w) => {
                    unclear_withdrawal.get_or_insert(w);
                }
                Verdict::Clean(scope, person, role) => {
                    clean.push(scope);
                    if let Some(p) = person {
                        named.push(p);
                    }
                    if let Some(c) = role {
                        capacity = Capacity::with(capacity, c);
                    }
                }
                Verdict::Doubt(why) => {
                    doubt.get_or_insert(why);
                }
                Verdict::Weak => weak = true,
                Verdict::Other => {
                    let why = if c.question {
                        Some("a question in the same comment makes it doubtful")
                    } else if c.condition {
                        Some("a condition in the same comment makes it doubtful")
                    } else if c.hedge {
                        Some("a hedge in the same comment makes it doubtful")
                    } else if c.delegation {
                        Some("the same comment speaks for someone else")
                    } else if c.limit {
                        Some("the same comment limits it (only, except, but …)")
                    } else if c.negation && c.subject {
                        Some("a negation in the same comment makes it doubtful")
                    } else if st == Statement::Approve && !s.groups.is_empty() {
                        Some("the same comment names a group outside what it approves")
                    } else {
                        None
                    };
                    if let Some(w) = why {
                        taint.get_or_insert(w);
                    }
                }
            }
        }
        // Struck-through statements are withdrawn; denials in inline code or quotes count.
        let vocab = self.vocabulary(st);
        let denies =
            |x: &str| p.withdraw.is_match(x) || self.negated(st).is_some_and(|r| r.is_match(x));
        if t.struck.iter().any(|x| vocab.is_match(x) || denies(x)) {
            return Reading::No;
        }
        if t.inline.iter().any(|x| denies(x)) || t.table.iter().any(|x| denies(x)) {
            return Reading::No;
        }
        if let Some(w) = unclear_withdrawal {
            return Reading::unclear(w);
        }
        let table_talk = t.table.iter().any(|x| vocab.is_match(x));
        // "Approved. Not." takes it back. A negation in a comment that does not speak of this
        // statement is about something else (the caller decides what a lone "No." is).
        if bare {
            return if !clean.is_empty() || doubt.is_some() || weak || table_talk {
                Reading::No
            } else {
                Reading::unclear(BARE)
            };
        }
        if !clean.is_empty() {
            if let Some(why) = doubt {
                return Reading::Unclear { why };
            }
            if let Some(w) = taint {
                return Reading::unclear(w);
            }
            if !t.struck.is_empty() {
                return Reading::unclear("it has struck-through text beside it");
            }
            let negated_talk = |x: &str| {
                let toks = tokenize(x, &[]);
                vocab.is_match(x)
                    && (0..toks.len()).any(|i| {
                        rd.negations.match_at(&toks, i).is_some()
                            || (toks[i].kind == TokKind::Word && toks[i].text.ends_with("n't"))
                    })
            };
            if t.other.iter().any(|x| denies(x) || negated_talk(x)) {
                return Reading::unclear("a withdrawal appears in quoted or code text next to it");
            }
            if table_talk {
                return Reading::unclear("it also speaks of it in a table");
            }
            if t.bidi {
                return Reading::unclear(
                    "it holds bidi controls, which can reorder what a reader sees",
                );
            }
            let mut groups: BTreeSet<String> = BTreeSet::new();
            for g in clean.into_iter().flatten() {
                groups.extend(g);
            }
            named.sort();
            named.dedup();
            let scope = match named.as_slice() {
                [] if groups.is_empty() => Scope::All,
                [] => Scope::Groups(groups),
                [person] if groups.is_empty() => Scope::Person(person.clone()),
                _ => {
                    return Reading::unclear(
                        "it names more than one person, or groups and a person",
                    )
                }
            };
            return Reading::Yes {
                scope,
                capacity: capacity.unwrap_or_default(),
            };
        }
        if let Some(why) = doubt {
            return Reading::Unclear { why };
        }
        if table_talk {
            return Reading::unclear("it speaks of it only in a table");
        }
        if weak {
            return Reading::unclear("a thumbs-up or a courtesy phrase is not a written statement");
        }
        Reading::None
    }
}

/// The signature of a comment, if it has one: two dashes or a long dash before one to four
/// words ending a line ("-- mboss", "Approved. — Morgan Boss"; not "-- thanks"), a lone "--"
/// mail signature delimiter followed by more lines (the first of them), or a last line of one
/// dash and one or two words after other lines ("Approved.\n- Morgan"; a first line
/// "- Approved" is a list item, and so is one after "- …" or "Groups:").
///
/// A signature is name-like: one word, a mention, or words that each start with a capital
/// ("Morgan Boss"); never words of a statement (`talk`: "LGTM -- approved") or thanks, and
/// lower-case words are a clause ("Approved -- looks good").
fn signature<'t>(text: &'t str, talk: &dyn Fn(&str) -> bool) -> Option<&'t str> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let last = lines.iter().rposition(|l| !l.is_empty())?;
    let words = |rest: &str, most: usize| {
        let n = rest.split_whitespace().count();
        let lower = rest.to_lowercase();
        let name_like = n == 1
            || rest.trim_start().starts_with('@')
            || rest
                .split_whitespace()
                .all(|w| w.chars().next().is_some_and(char::is_uppercase));
        (1..=most).contains(&n)
            && name_like
            && !talk(rest)
            && !lower.starts_with("thank")
            && !lower.starts_with("thx")
            && rest.split_whitespace().all(|w| {
                w.chars()
                    .all(|c| c.is_alphanumeric() || "@._-'".contains(c))
            })
    };
    for (k, line) in lines.iter().enumerate() {
        if *line == "--" && k < last {
            return lines[k + 1..].iter().find(|l| !l.is_empty()).copied();
        }
        for dash in ["--", "\u{2014}", "\u{2013}"] {
            let Some(p) = line.rfind(dash) else { continue };
            let (before, rest) = (&line[..p], &line[p + dash.len()..]);
            // At the start of a line ("--mboss"), or set apart ("Approved. -- mboss"), not
            // an option in a command ("run it with --force").
            let apart = before.trim_end_matches('-').is_empty()
                || (before.ends_with(' ') && rest.starts_with(' '));
            if apart && words(rest, 4) {
                return Some(line[p..].trim());
            }
        }
    }
    // A last "- Name" after a line that is no list item and opens none ("Groups:").
    let rest = lines[last].strip_prefix("- ")?;
    let before = lines[..last].iter().rev().find(|l| !l.is_empty())?;
    let listed = before.starts_with(['-', '*']) || before.ends_with(':');
    (!listed && words(rest, 2)).then_some(lines[last])
}

fn plain_name(st: Statement) -> &'static str {
    match st {
        Statement::Approve => "approval",
        Statement::L3Verified => "L3 verification",
        Statement::NdaConfirmed => "NDA confirmation",
        Statement::SreApproved => "SRE meeting approval",
        Statement::SreDeclined => "SRE meeting decline",
        Statement::ExecutiveSignoff => "executive sign-off",
        Statement::ResearchConfirmed => "research confirmation",
    }
}

/// Whether a text holds an unticked checkbox ("[ ]", "[]").
fn unticked_box(text: &str) -> bool {
    text.contains("[ ]") || text.contains("[]")
}

/// Whether the tokens in `range` of a sentence are only groups and the words joining them
/// ("analytics-users and deployment", "both a, b only").
fn only_groups(s: &Sentence<'_>, range: Range<usize>) -> bool {
    range.into_iter().all(|k| {
        let x = &s.toks[k];
        s.groups.iter().any(|(g, _)| *g == k)
            || (x.kind == TokKind::Sep && matches!(x.text.as_str(), "," | "&" | "+" | "/"))
            || x.is_word("and")
            || x.is_word("only")
            || x.is_word("both")
    })
}

/// "For analytics-users (and deployment)[ only]:" (or the groups alone before a colon) at the
/// start of a sentence, before its approval: the groups, when every stray group is in that
/// clause.
fn leading_scope(s: &Sentence<'_>, stray: &[&(usize, String)]) -> Option<BTreeSet<String>> {
    let toks = &s.toks;
    let mut k = 0;
    if toks.first().is_some_and(|t| t.is_word("only")) {
        k += 1;
    }
    // "For analytics-users: approved", or the groups alone before a colon.
    let bare = !toks.get(k).is_some_and(|t| t.is_word("for"));
    if !bare {
        k += 1;
    }
    let mut groups = BTreeSet::new();
    while let Some(t) = toks.get(k) {
        if let Some((_, g)) = s.groups.iter().find(|(i, _)| *i == k) {
            groups.insert(g.clone());
        } else if !(t.is_word("and")
            || t.is_word("only")
            || t.is_word("both")
            || (t.kind == TokKind::Sep && matches!(t.text.as_str(), "," | "&" | "+" | "/")))
        {
            break;
        }
        k += 1;
    }
    let ends_clause = toks.get(k).is_some_and(|t| {
        t.kind == TokKind::Sep
            && (t.text == ":" || (!bare && matches!(t.text.as_str(), "," | "\n" | ")")))
    });
    let all_in = stray.iter().all(|(i, _)| *i < k);
    (ends_clause && all_in && !groups.is_empty()).then_some(groups)
}

/// Optimal string alignment distance (Levenshtein with adjacent transpositions), on chars,
/// for words of at most 16 characters (longer ones are `usize::MAX`).
fn distance(a: &str, b: &str) -> usize {
    const N: usize = 17;
    let mut av = ['\0'; N];
    let mut bv = ['\0'; N];
    let (mut n, mut m) = (0, 0);
    for c in a.chars() {
        if n + 1 >= N {
            return usize::MAX;
        }
        n += 1;
        av[n] = c;
    }
    for c in b.chars() {
        if m + 1 >= N {
            return usize::MAX;
        }
        m += 1;
        bv[m] = c;
    }
    let mut d = [[0usize; N]; N];
    for (i, row) in d.iter_mut().enumerate().take(n + 1) {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate().take(m + 1) {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(av[i] != bv[j]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && av[i] == bv[j - 1] && av[i - 1] == bv[j] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_at_terminators_but_not_inside_names() {
        let p = "approved. thanks!\n\nwiki.admins v1.2 ok? yes; no";
        let got: Vec<&str> = sentences(p).into_iter().map(|r| p[r].trim()).collect();
        assert_eq!(
            got,
            ["approved.", "thanks!", "wiki.admins v1.2 ok?", "yes;", "no"]
        );
    }

    #[test]
    fn tokens_know_plus_one_and_emoji_codes() {
        let words: Vec<String> = tokenize("+1 +10 1+1 x-1 -1 :+1: don't analytics-users", &[])
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(
            words,
            [
                "+1",
                "+",
                "10",
                "1",
                "+",
                "1",
                "x-1",
                "-1",
                ":+1:",
                "don't",
                "analytics-users"
            ]
        );
    }

    #[test]
    fn ascii_emoticons_are_symbols_and_colons_stay_separators() {
        let toks = tokenize(
            "ok :-( fine ;) yes :P groups:(a, b) at 10:00 note: done :)",
            &[],
        );
        let symbols: Vec<&str> = toks
            .iter()
            .filter(|t| t.kind == TokKind::Symbol)
            .map(|t| t.text.as_str())
            .collect();
        assert_eq!(symbols, [":(", ";)", ":P", ":)"]);
    }

    #[test]
    fn look_alike_words_fold_and_foreign_words_stay() {
        let mut out = String::new();
        let mut alt = Vec::new();
        push_folded("Аpproved одобрено café", &[], 0, &mut out, &mut alt, None);
        assert_eq!(out, "approved одобрено cafe");
        assert_eq!(alt, [0]);
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("aproved", "approved"), 1);
        assert_eq!(distance("apporved", "approved"), 1);
        assert_eq!(distance("improved", "approved"), 2);
    }
}
