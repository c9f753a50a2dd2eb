//! Parsing an access request from a task's title and description (pure, no I/O), and the
//! key and paste finder for comments and pastes ([`scan`]).
//!
//! Untrusted input: any size and encoding must neither panic nor hang the parser. Every step
//! is linear in the input: the text is normalised and split into lines once by the one
//! remarkup reader ([`crate::remarkup`]), labels are looked up in a table built once per label
//! set ([`Parser`]), a key's base64 is read at most `MAX_KEY_BASE64` bytes far, and
//! duplicates are found with sets.
//!
//! Fields come only from the author's own text (paragraphs, lists, tables, headers, notes).
//! Quoted lines (`> …`) never give a field or a key: a key the requester quotes from someone
//! else is not theirs. Code blocks and literals only hold keys. A private key is found
//! anywhere — in quotes, code, literals, or as an unarmoured body — and none of its material
//! reaches a field or a message.

use crate::ids::{ShellUser, Username};
use crate::keys::{self, KeyReport};
use crate::remarkup;
use crate::rules::{FormRules, Labels};
use chrono::NaiveDate;
use regex::Regex;
use serde::Serialize;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::rc::Rc;
use std::sync::OnceLock;

/// Where the request's SSH key is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KeyRef {
    /// Key text found in the description (already unwrapped: one line).
    Inline {
        /// The key text, e.g. `ssh-ed25519 AAAA… comment`. When a private key was posted this
        /// is [`REDACTED_PRIVATE_KEY`], never the key itself.
        text: String,
    },
    /// A paste `P123` the poller must read with `paste.search`.
    Paste {
        /// Paste id.
        id: u64,
    },
    /// A pointer to a wiki user page or a Gerrit change: to be verified by clinic duty.
    Pointer {
        /// The URL or reference as written.
        target: String,
    },
}

/// What [`KeyRef::Inline`] holds when a private key was posted: no material, but
/// [`keys::judge`] and [`keys::is_private_key`] recognise it as a private key.
pub const REDACTED_PRIVATE_KEY: &str =
    "-----BEGIN PRIVATE KEY----- (redacted by accessbot: a private key was posted)";

/// One problem with a request, fit to post, with the byte range of the description it refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The field concerned (`shell_user`, `ssh_key`, `groups`, …) or `request`.
    pub field: String,
    /// What is wrong, in words fit to post (never quoting key material).
    pub message: String,
    /// Byte range in the description (`0..0` when it concerns the title or the whole request).
    #[serde(skip)]
    pub span: Range<usize>,
}

/// A parsed request. Absent fields are `None`; the problems say why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Request {
    /// Full name.
    pub full_name: Option<String>,
    /// Wikitech username.
    pub wikitech_user: Option<String>,
    /// Shell username.
    pub shell_user: Option<ShellUser>,
    /// Email address.
    pub email: Option<String>,
    /// Requested groups, lowercase, in the order written, without duplicates.
    pub groups: Vec<String>,
    /// Reason for access.
    pub reason: Option<String>,
    /// The named manager or sponsor.
    pub manager: Option<Username>,
    /// Expiry date for time-limited users.
    pub expiry_date: Option<NaiveDate>,
    /// Expiry contact.
    pub expiry_contact: Option<Username>,
    /// Where the key is.
    pub key: Option<KeyRef>,
    /// The Phabricator account the request is for, when a `Phabricator username` field names
    /// it (design §10: the subject, who may differ from the task's author).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phabricator_user: Option<Username>,
    /// A group privilege change as written (design §11): present when the description has an
    /// existing-group or requested-change field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<PrivilegeChange>,
}

impl Request {
    /// Whether a group privilege change is described: the description has a requested-change
    /// field that holds the change (not a placeholder such as "TBD").
    pub fn change_described(&self) -> bool {
        self.change.as_ref().is_some_and(|c| c.change.is_some())
    }
}

/// A group privilege change as written (design §11): which group, what should change, and
/// what happens if it is rejected. Every value is the requester's text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PrivilegeChange {
    /// The existing groups named (lowercase, in the order written, once each): one is expected.
    pub groups: Vec<String>,
    /// The change requested, code blocks included (`None`: not given, or a placeholder such as
    /// "TBD").
    pub change: Option<String>,
    /// The impact if the change is rejected (`None`: not given).
    pub impact: Option<String>,
}

/// The parser's answer: the request and its problems.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// The request.
    pub request: Request,
    /// Problems found.
    pub problems: Vec<Problem>,
}

/// The longest base64 text read for one key (a public key, certificates included, is far shorter).
pub(crate) const MAX_KEY_BASE64: usize = 16 * 1024;

/// How far into a line a label may end (its colon).
const MAX_LABEL_BYTES: usize = 120;

/// The request fields, in the order of `rules/phrases.toml` `[labels]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    FullName,
    WikitechUser,
    ShellUser,
    Email,
    SshKey,
    Groups,
    Reason,
    Manager,
    ExpiryDate,
    ExpiryContact,
    PhabricatorUser,
    ExistingGroup,
    RequestedChange,
    Impact,
}

impl Field {
    fn from_name(name: &str) -> Option<Field> {
        Some(match name {
            "full_name" => Field::FullName,
            "wikitech_user" => Field::WikitechUser,
            "shell_user" => Field::ShellUser,
            "email" => Field::Email,
            "ssh_key" => Field::SshKey,
            "groups" => Field::Groups,
            "reason" => Field::Reason,
            "manager" => Field::Manager,
            "expiry_date" => Field::ExpiryDate,
            "expiry_contact" => Field::ExpiryContact,
            "phabricator_user" => Field::PhabricatorUser,
            "existing_group" => Field::ExistingGroup,
            "requested_change" => Field::RequestedChange,
            "impact" => Field::Impact,
            _ => return None,
        })
    }
}

/// A request parser for one set of labels; build it once and reuse it.
#[derive(Debug, Clone)]
pub struct Parser {
    /// Normalised label ([`normalize_label`]) → field.
    labels: HashMap<String, Field>,
    /// The longest normalised label, in bytes: a longer candidate is no label.
    longest: usize,
    /// `[form]` of phrases.toml: titles that name groups and user, pointers instead of a key.
    form: FormRules,
}

/// Parses a request from the task title and description.
///
/// A thin wrapper over [`Parser::parse`] that reuses the parser built for the same labels.
pub fn parse(title: &str, description: &str, labels: &Labels) -> Parsed {
    thread_local! {
        static CACHE: RefCell<Option<(Labels, Rc<Parser>)>> = const { RefCell::new(None) };
    }
    let parser = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        match &*c {
            Some((l, p)) if same_labels(l, labels) => Rc::clone(p),
            _ => {
                let p = Rc::new(Parser::new(labels));
                *c = Some((labels.clone(), Rc::clone(&p)));
                p
            }
        }
    });
    parser.parse(title, description)
}

fn same_labels(a: &Labels, b: &Labels) -> bool {
    a.form.same(&b.form)
        && a.fields()
            .iter()
            .zip(b.fields().iter())
            .all(|((_, x), (_, y))| x == y)
}

/// The design §7 `request` object: `parse --json` prints it with `"problems"` added, `check
/// --json` nests it. `key` is the judged key (`null` when absent, unreadable or private),
/// `source` where it came from (`description`, `comment`, `paste`), `sudo` whether any
/// requested group grants sudo (the parser does not know the groups; the caller does).
pub fn to_json(
    parsed: &Parsed,
    key: Option<&KeyReport>,
    source: Option<&str>,
    sudo: bool,
) -> Value {
    let r = &parsed.request;
    let key = match key {
        Some(k) if !k.private_key && k.fingerprint.is_some() => json!({
            "algorithm": k.algorithm,
            "bits": k.bits,
            "fingerprint": k.fingerprint,
            "source": source,
        }),
        _ => Value::Null,
    };
    json!({
        "full_name": r.full_name,
        "wikitech_user": r.wikitech_user,
        "shell_user": r.shell_user.as_ref().map(|s| s.as_str()),
        "email": r.email,
        "groups": r.groups,
        "sudo": sudo,
        "key": key,
        "expiry_date": r.expiry_date.map(|d| d.format("%Y-%m-%d").to_string()),
        "expiry_contact": r.expiry_contact.as_ref().map(|u| u.as_str()),
    })
}

/// The problems' messages, as `parse --json` prints them under `"problems"`.
pub fn problem_messages(parsed: &Parsed) -> Vec<String> {
    parsed.problems.iter().map(|p| p.message.clone()).collect()
}

/// How a line of the description is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Ordinary text: labels, values, prose.
    Text,
    /// A quoted line (`> …`): never read.
    Quote,
    /// Inside a code block: read only for keys.
    Code,
    /// A code fence or `lang=` line: nothing to read.
    Fence,
    /// Part of a posted private key: never read, never quoted.
    Secret,
}

#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    /// The line without its line ending (and, for a one-line code block, without the fences).
    text: &'a str,
    /// Byte offset of `text` in the description.
    start: usize,
    kind: Kind,
}

/// Splits a (normalised) text into lines classified for the parser by the remarkup reader:
/// the author's own text (paragraphs, lists, tables, headers, notes), code (code blocks and
/// literals: keys only), fence lines and quotes.
fn classify(text: &str) -> Vec<Line<'_>> {
    remarkup::lines(text)
        .into_iter()
        .map(|l| Line {
            text: l.text,
            start: l.start,
            kind: match l.kind {
                remarkup::Kind::Code | remarkup::Kind::Literal => Kind::Code,
                remarkup::Kind::Fence => Kind::Fence,
                remarkup::Kind::Quote { .. } => Kind::Quote,
                _ => Kind::Text,
            },
        })
        .collect()
}

/// Header lines inside PEM and PuTTY private key files.
const SECRET_HEADERS: &[&str] = &[
    "Proc-Type:",
    "DEK-Info:",
    "Encryption:",
    "Comment:",
    "Public-Lines:",
    "Private-Lines:",
    "Private-MAC:",
    "Key-Derivation:",
    "Argon2-Memory:",
    "Argon2-Passes:",
    "Argon2-Parallelism:",
    "Argon2-Salt:",
];

/// Marks the lines of every posted private key (anywhere: text, code, quotes) as
/// [`Kind::Secret`], so that none of its material reaches a field or a message. Returns the
/// span of the first one.
///
/// A block starts at a line holding a private-key marker and runs over base64 lines, blank
/// lines and key-file headers, up to its `END … PRIVATE KEY` or `Private-MAC:` line.
fn mark_secrets(lines: &mut [Line<'_>]) -> Option<Range<usize>> {
    let mut first = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.kind == Kind::Secret || !keys::is_private_key(line.text) {
            i += 1;
            continue;
        }
        first.get_or_insert(line.start..line.start + line.text.len());
        lines[i].kind = Kind::Secret;
        let mut j = i + 1;
        while j < lines.len() {
            // A key quoted in a reply runs on over quoted lines.
            let t = lines[j].text.trim().trim_start_matches(['>', ' ', '\t']);
            let is_end =
                (t.contains("END") && t.contains("PRIVATE KEY")) || t.starts_with("Private-MAC:");
            let inside = t.is_empty()
                || is_end
                || SECRET_HEADERS.iter().any(|h| t.starts_with(h))
                || t.split_whitespace().all(keys::is_base64_token);
            if !inside {
                break;
            }
            if lines[j].kind != Kind::Fence {
                lines[j].kind = Kind::Secret;
            }
            j += 1;
            if is_end {
                break;
            }
        }
        i = j;
    }
    first
}

/// Normalises a label for lookup: lowercase, parenthesised words dropped, punctuation and
/// markup as spaces, a leading "your" dropped.
fn normalize_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    let mut space = true;
    for c in s.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            c if c.is_ascii_alphanumeric() => {
                out.push(c.to_ascii_lowercase());
                space = false;
            }
            c if c.is_alphanumeric() => {
                out.extend(c.to_lowercase());
                space = false;
            }
            _ => {
                if !space {
                    out.push(' ');
                    space = true;
                }
            }
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    if out.starts_with("your ") {
        out.drain(..5);
    }
    out
}

/// [`normalize_label`] of an ASCII label (at most [`MAX_LABEL_BYTES`] long), written into
/// `buf` without allocating; `None` as soon as it is sure to be longer than `longest`.
fn normalize_ascii_label<'b>(
    s: &[u8],
    longest: usize,
    buf: &'b mut [u8; MAX_LABEL_BYTES],
) -> Option<&'b str> {
    // What may still be dropped at the end: a trailing space and a leading "your ".
    let limit = longest + " ".len() + "your ".len();
    let mut len = 0;
    let mut depth = 0usize;
    let mut space = true;
    for &b in s {
        let out = match b {
            b'(' | b'[' => {
                depth += 1;
                continue;
            }
            b')' | b']' => {
                depth = depth.saturating_sub(1);
                continue;
            }
            _ if depth > 0 => continue,
            b if b.is_ascii_alphanumeric() => {
                space = false;
                b.to_ascii_lowercase()
            }
            _ if space => continue,
            _ => {
                space = true;
                b' '
            }
        };
        if len == limit {
            return None;
        }
        // Never more bytes out than in: `len < s.len() <= MAX_LABEL_BYTES`.
        *buf.get_mut(len)? = out;
        len += 1;
    }
    let out = std::str::from_utf8(&buf[..len]).ok()?;
    let out = out.strip_suffix(' ').unwrap_or(out);
    Some(out.strip_prefix("your ").unwrap_or(out))
}

/// Strips a list marker (`- `, `* `, `+ `, `# `, `1. `, `1) `, `• `) from the start of a line.
fn strip_list_marker(s: &str) -> &str {
    let t = s.trim_start();
    for m in ["- ", "* ", "+ ", "# ", "• ", "-\t", "*\t"] {
        if let Some(r) = t.strip_prefix(m) {
            return r.trim_start();
        }
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        let r = &t[digits..];
        if let Some(r) = r.strip_prefix(". ").or_else(|| r.strip_prefix(") ")) {
            return r.trim_start();
        }
    }
    t
}

/// Byte offset of `inner` (a subslice) in `outer`.
fn offset_in(outer: &str, inner: &str) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

/// Removes markup around a single value: emphasis, monospace, quotes.
fn clean_value(s: &str) -> &str {
    let mut t = s.trim();
    loop {
        let len = t.len();
        for m in ["**", "__", "`", "##", "\"", "'", "//"] {
            if let Some(inner) = t.strip_prefix(m).and_then(|r| r.strip_suffix(m)) {
                t = inner.trim();
            }
        }
        for m in ["**", "__"] {
            while let Some(r) = t.strip_prefix(m) {
                t = r;
            }
            while let Some(r) = t.strip_suffix(m) {
                t = r;
            }
        }
        t = t.trim();
        if t.len() == len {
            return t;
        }
    }
}

/// Drops parenthesised asides: "@mboss (my manager)" → "@mboss". Text without parentheses
/// (most values) is returned as it is.
fn drop_parens(s: &str) -> Cow<'_, str> {
    if !s.contains(['(', ')']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// Shortens requester text for a message (the report escapes it before posting).
///
/// Never quotes what may be key material: with `redact`, or for a value holding a long
/// base64-like word, it names the value without showing it.
fn shown(s: &str, redact: bool) -> String {
    let secret_like = s.split_whitespace().any(|w| {
        w.len() >= 16
            && keys::is_base64_token(w)
            && w.bytes().any(|b| b.is_ascii_digit())
            && w.bytes().any(|b| b.is_ascii_alphabetic())
    });
    if redact || secret_like {
        return "a value (not shown: it may hold key material)".into();
    }
    // A double quote inside the value would close the quoted span early, and what follows
    // it would read as the bot's own words where messages are shown without the requester's
    // (`policy` drops quoted spans): it is shown as an apostrophe.
    let mut t: String = s
        .chars()
        .take(40)
        .map(|c| if c == '"' { '\'' } else { c })
        .collect();
    if t.len() < s.len() {
        t.push('…');
    }
    format!("\"{t}\"")
}

/// Values "not applicable" that mean the field was left empty on purpose, in any case.
fn is_none_value(s: &str) -> bool {
    let value = drop_parens(s);
    let t = value.trim().trim_end_matches('.');
    // Compared without building a lowercase copy: apart from the dash the words are ASCII,
    // and the only non-ASCII character whose lowercase is ASCII is the Kelvin sign (`k`,
    // in none of them).
    t == "—"
        || [
            "",
            "-",
            "n/a",
            "na",
            "none",
            "not applicable",
            "no",
            "never",
            "permanent",
            "tbd",
        ]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
}

/// A required field left as the form's placeholder or a filler ("TBD", "N/A", "-", "?",
/// "<your name>", "[reason]"): the field is missing, said as such, never taken as its value.
fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    let bracketed = |open: char, close: char| {
        t.len() > 2 && t.starts_with(open) && t.ends_with(close) && !t[1..].contains(open)
    };
    let u = t.trim_end_matches('.');
    u.is_empty()
        || t.chars()
            .all(|c| matches!(c, '.' | '…' | '?' | '-' | '—' | '_' | '*' | 'x' | 'X'))
        || bracketed('<', '>')
        || bracketed('[', ']')
        || [
            "n/a",
            "na",
            "none",
            "tbd",
            "tba",
            "todo",
            "to do",
            "unknown",
            "same as above",
            "see above",
        ]
        .iter()
        .any(|w| u.eq_ignore_ascii_case(w))
}

fn paste_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:^|[^\w/])P([1-9][0-9]{0,9})\b|/P([1-9][0-9]{0,9})\b").expect("static regex")
    })
}

/// Whether `text` may hold a paste reference: some `P` and a digit 1–9 at the start or after
/// a byte that is not an ASCII letter, digit or `_` (the paste regex wants it at the start,
/// after a non-word character or after `/`). Key data rarely passes, so the regex, which
/// alone decides, is run on few lines.
fn may_name_paste(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'P'
            && matches!(w[1], b'1'..=b'9')
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
    })
}

fn email_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$").expect("static regex")
    })
}

/// One labelled field as written: the label line's value and the lines that follow it.
#[derive(Debug)]
struct Occurrence {
    field: Field,
    /// Span of the label line.
    line_span: Range<usize>,
    /// Where its [`Part`]s are in the list of all of them (one list per parse, in text order,
    /// rather than one allocation per label).
    parts: Range<usize>,
}

/// The value on a label line, or a text line up to the next label, with its offset.
type Part<'a> = (&'a str, usize);

/// A key found in the text.
#[derive(Debug)]
struct KeyFound {
    text: String,
    base64: String,
    span: Range<usize>,
}

impl Parser {
    /// Builds a parser for the label aliases of `rules/phrases.toml`.
    pub fn new(labels: &Labels) -> Parser {
        let mut map = HashMap::new();
        for (name, aliases) in labels.fields() {
            let Some(field) = Field::from_name(name) else {
                continue;
            };
            for alias in aliases {
                let label = normalize_label(alias);
                // "Shell user name" is written as often as "Shell username".
                if label.contains("username") {
                    map.entry(label.replace("username", "user name"))
                        .or_insert(field);
                }
                map.entry(label).or_insert(field);
            }
        }
        let longest = map.keys().map(String::len).max().unwrap_or(0);
        Parser {
            labels: map,
            longest,
            form: labels.form.clone(),
        }
    }

    /// Finds a label at the start of a text line: the field and where its value starts.
    fn label_of<'a>(&self, text: &'a str) -> Option<(Field, &'a str)> {
        let s = strip_list_marker(text);
        if let Some(row) = s.strip_prefix('|') {
            let (label, rest) = row.split_once('|')?;
            let field = self.lookup(label)?;
            let value = rest.split('|').next().unwrap_or("");
            return Some((field, value));
        }
        let head = &s.as_bytes()[..s.len().min(MAX_LABEL_BYTES)];
        let mut depth = 0usize;
        for (i, b) in head.iter().enumerate() {
            match b {
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                b':' if depth == 0 => {
                    let field = self.lookup(&s[..i])?;
                    let value = s[i + 1..].trim_start_matches(['*', '_']);
                    return Some((field, value));
                }
                _ => {}
            }
        }
        // A label alone on its line: "**SSH key**", "== Groups ==".
        if s.len() <= 60 {
            let field = self.lookup(s.trim_end_matches(':'))?;
            return Some((field, &s[s.len()..]));
        }
        None
    }

    /// The field a candidate label names. Called for nearly every text line, so an ASCII
    /// candidate (nearly all are) is normalised on the stack and given up as soon as it is
    /// longer than any label.
    fn lookup(&self, label: &str) -> Option<Field> {
        if label.len() > MAX_LABEL_BYTES {
            return None;
        }
        if !label.is_ascii() {
            return self.labels.get(&normalize_label(label)).copied();
        }
        let mut buf = [0u8; MAX_LABEL_BYTES];
        let norm = normalize_ascii_label(label.as_bytes(), self.longest, &mut buf)?;
        self.labels.get(norm).copied()
    }

    /// Parses a request from the task title and description.
    pub fn parse(&self, title: &str, description: &str) -> Parsed {
        self.parse_counting(title, description).0
    }

    /// [`Self::parse`], with the units of work it did (lines, tokens and bytes visited or
    /// copied): tests check that it grows linearly with the input.
    pub fn parse_counting(&self, title: &str, description: &str) -> (Parsed, u64) {
        let normalized = remarkup::normalize(description);
        let mut work = Work::default();
        let mut out = self.parse_normalized(title, normalized.text(), &mut work);
        for p in &mut out.problems {
            if p.span != (0..0) {
                p.span = normalized.original_range(p.span.clone());
            }
        }
        (out, work.0)
    }

    fn parse_normalized(&self, title: &str, description: &str, work: &mut Work) -> Parsed {
        let mut lines = classify(description);
        work.add(description.len() + lines.len());
        // One search of the whole text; lines are searched only when it found something.
        let private_span = if keys::is_private_key(description) {
            mark_secrets(&mut lines)
        } else {
            None
        };
        let mut out = Parsed::default();
        let mut occurrences: Vec<Occurrence> = Vec::new();
        let mut parts: Vec<Part<'_>> = Vec::with_capacity(lines.len());
        let mut subject: Option<&str> = None;
        let mut quoted_key = false;
        // Fields whose label stands only inside code or a quote, where no field is read: a
        // missing field's problem says so ("the whole form pasted in a code block").
        let mut unread: Vec<(Field, Unread)> = Vec::new();
        let mut note_unread = |parser: &Self, text: &str, place: Unread| {
            if let Some((field, _)) = parser.label_of(text) {
                if !unread.iter().any(|(f, _)| *f == field) {
                    unread.push((field, place));
                }
            }
        };

        for line in &lines {
            match line.kind {
                Kind::Text => {
                    if let Some((field, value)) = self.label_of(line.text) {
                        parts.push((value, line.start + offset_in(line.text, value)));
                        occurrences.push(Occurrence {
                            field,
                            line_span: line.start..line.start + line.text.len(),
                            parts: parts.len() - 1..parts.len(),
                        });
                    } else if let Some(cur) = occurrences.last_mut() {
                        parts.push((line.text, line.start));
                        cur.parts.end = parts.len();
                    } else if subject.is_none() {
                        let t = strip_list_marker(line.text);
                        if let Some(rest) = t.strip_prefix("Subject:") {
                            subject = Some(rest);
                        }
                    }
                }
                // A requested change is often a sudo rule in a code block: it is part of
                // the change's text (never of any other field).
                Kind::Code => {
                    if let Some(cur) = occurrences
                        .last_mut()
                        .filter(|o| o.field == Field::RequestedChange)
                    {
                        parts.push((line.text, line.start));
                        cur.parts.end = parts.len();
                    } else {
                        note_unread(self, line.text, Unread::Code);
                    }
                }
                Kind::Secret => {}
                Kind::Quote => {
                    if line.text.split_whitespace().any(keys::looks_like_key_type) {
                        quoted_key = true;
                    }
                    note_unread(self, line.text, Unread::Quote);
                }
                Kind::Fence => {
                    // A fence ends the running field: what follows the block is not its value.
                    if let Some(cur) = occurrences.last_mut() {
                        parts.push(("", line.start));
                        cur.parts.end = parts.len();
                    }
                }
            }
        }

        let found = find_keys(&lines, work);
        self.fill_fields(&occurrences, &parts, private_span.is_some(), &mut out, work);
        self.fill_key(
            &occurrences,
            &parts,
            found,
            private_span,
            quoted_key,
            &mut out,
        );
        fill_from_title(&self.form, title, subject, &mut out);
        require_fields(&mut out, &unread);
        out
    }

    /// Reads the labelled fields. With `redact` (a private key was posted) no message quotes
    /// anything the requester wrote.
    fn fill_fields(
        &self,
        occurrences: &[Occurrence],
        all_parts: &[Part<'_>],
        redact: bool,
        out: &mut Parsed,
        work: &mut Work,
    ) {
        let shown = |s: &str| shown(s, redact);
        let mut shells: Vec<(String, Range<usize>)> = Vec::new();
        let mut shell_names: HashSet<String> = HashSet::new();
        let mut group_names: HashSet<String> = out.request.groups.iter().cloned().collect();
        // The impact belongs to a privilege change, which only its own fields start.
        let mut impact: Option<String> = None;
        for occ in occurrences {
            let parts = &all_parts[occ.parts.clone()];
            let span = occ.line_span.clone();
            let problem = |message: String| Problem {
                field: field_name(occ.field).into(),
                message,
                span: span.clone(),
            };
            match occ.field {
                Field::Groups => {
                    let like = "requested groups are written like analytics-privatedata-users";
                    let read = field_groups(parts, like, &shown, &problem, &mut out.problems, work);
                    for g in read {
                        if group_names.insert(g.clone()) {
                            out.request.groups.push(g);
                        }
                    }
                }
                Field::Reason => {
                    let text = joined_lines(parts);
                    if !is_placeholder(&text) && out.request.reason.is_none() {
                        out.request.reason = Some(text);
                    }
                }
                Field::ExistingGroup => {
                    let like = "an existing group is written like analytics-admins";
                    let read = field_groups(parts, like, &shown, &problem, &mut out.problems, work);
                    let change = out.request.change.get_or_insert_with(Default::default);
                    for g in read {
                        if !change.groups.contains(&g) {
                            change.groups.push(g);
                        }
                    }
                }
                Field::RequestedChange | Field::Impact => {
                    let text = joined_lines(parts);
                    work.add(text.len());
                    let value = (!is_none_value(&text)).then_some(text);
                    if occ.field == Field::RequestedChange {
                        let change = out.request.change.get_or_insert_with(Default::default);
                        if change.change.is_none() {
                            change.change = value;
                        }
                    } else if value.is_some() && impact.is_none() {
                        impact = value;
                    }
                }
                Field::SshKey => {}
                _ => {
                    let Some(raw) = single_value(parts) else {
                        continue;
                    };
                    let value = clean_value(raw);
                    match occ.field {
                        Field::FullName => {
                            // "@jdoe", "jdoe@example.org": a username or an address, which
                            // would become data.yaml's realname.
                            if drop_parens(value).contains('@') {
                                out.problems.push(problem(format!(
                                    "{} is not a full name: write your first and last name",
                                    shown(value)
                                )));
                            } else if out.request.full_name.is_none() && !is_placeholder(value) {
                                out.request.full_name = Some(value.to_string());
                            }
                        }
                        Field::WikitechUser => {
                            let v = wiki_user(value);
                            if out.request.wikitech_user.is_none() && !is_placeholder(v) {
                                out.request.wikitech_user = Some(v.to_string());
                            }
                        }
                        Field::ShellUser => {
                            let v = drop_parens(value);
                            let v = clean_value(v.trim().trim_start_matches('@'));
                            match v.parse::<ShellUser>() {
                                Ok(u) => {
                                    if shell_names.insert(u.as_str().to_string()) {
                                        shells.push((u.as_str().to_string(), span.clone()));
                                    }
                                    if out.request.shell_user.is_none() {
                                        out.request.shell_user = Some(u);
                                    }
                                }
                                Err(_) => out.problems.push(problem(format!(
                                    "the shell username {} is not valid: it must match {} (a lowercase letter or '_', then lowercase letters, digits, '-' or '_'; at most 32 characters)",
                                    shown(v),
                                    ShellUser::PATTERN
                                ))),
                            }
                        }
                        Field::Email => match email_of(value) {
                            // "jdoe@example.org, jane@gmail.com": which one is meant is not
                            // for the bot to pick (one in parentheses is a note).
                            Some(_) if emails_in(&drop_parens(value)) > 1 => {
                                out.problems.push(problem(format!(
                                    "{} names more than one email address: give one",
                                    shown(value)
                                )))
                            }
                            Some(e) => {
                                if out.request.email.is_none() {
                                    out.request.email = Some(e);
                                }
                            }
                            None => out
                                .problems
                                .push(problem(format!("{} is not an email address", shown(value)))),
                        },
                        Field::Manager | Field::ExpiryContact | Field::PhabricatorUser => {
                            if is_none_value(value) {
                                continue;
                            }
                            let Some(u) = username_of(value) else {
                                out.problems.push(problem(format!(
                                    "{} is not a Phabricator username: write it as @username",
                                    shown(value)
                                )));
                                continue;
                            };
                            let slot = match occ.field {
                                Field::Manager => &mut out.request.manager,
                                Field::ExpiryContact => &mut out.request.expiry_contact,
                                // The subject's account: a second, different one makes it
                                // ambiguous (reported; the subject is then not taken from the
                                // field).
                                _ => match &out.request.phabricator_user {
                                    Some(first) if *first != u => {
                                        out.problems.push(problem(format!(
                                            "two Phabricator accounts are named (@{first} and @{u}): one task is for one user"
                                        )));
                                        continue;
                                    }
                                    _ => &mut out.request.phabricator_user,
                                },
                            };
                            if slot.is_none() {
                                *slot = Some(u);
                            }
                        }
                        Field::ExpiryDate => {
                            if is_none_value(value) {
                                continue;
                            }
                            match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                                Ok(d) if value.len() == 10 => {
                                    if out.request.expiry_date.is_none() {
                                        out.request.expiry_date = Some(d);
                                    }
                                }
                                _ => out.problems.push(problem(format!(
                                    "the expiry date {} is not a date written YYYY-MM-DD",
                                    shown(value)
                                ))),
                            }
                        }
                        Field::Groups
                        | Field::Reason
                        | Field::SshKey
                        | Field::ExistingGroup
                        | Field::RequestedChange
                        | Field::Impact => {}
                    }
                }
            }
        }
        if let Some(change) = &mut out.request.change {
            change.impact = impact;
        }
        if shells.len() > 1 {
            let names: Vec<&str> = shells.iter().map(|(s, _)| s.as_str()).collect();
            out.problems.push(Problem {
                field: "request".into(),
                message: format!(
                    "one task is for one user, but this one names {} shell usernames ({}): file one task per user",
                    shells.len(),
                    names.join(", ")
                ),
                span: shells[1].1.clone(),
            });
        }
    }

    fn fill_key(
        &self,
        occurrences: &[Occurrence],
        all_parts: &[Part<'_>],
        found: Vec<KeyFound>,
        private_span: Option<Range<usize>>,
        quoted_key: bool,
        out: &mut Parsed,
    ) {
        if let Some(span) = private_span {
            out.request.key = Some(KeyRef::Inline {
                text: REDACTED_PRIVATE_KEY.into(),
            });
            out.problems.push(Problem {
                field: "ssh_key".into(),
                message: keys::PRIVATE_KEY_MESSAGE.into(),
                span,
            });
            return;
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let distinct: Vec<&KeyFound> = found
            .iter()
            .filter(|k| seen.insert(k.base64.as_str()))
            .collect();
        // Pastes and pointers are read only where the key was asked for.
        let mut paste = None;
        let mut pointer = None;
        for occ in occurrences.iter().filter(|o| o.field == Field::SshKey) {
            for (text, off) in &all_parts[occ.parts.clone()] {
                if paste.is_none() && may_name_paste(text) {
                    if let Some(c) = paste_regex().captures(text) {
                        let m = c.get(1).or_else(|| c.get(2));
                        if let Some(id) = m.and_then(|m| m.as_str().parse::<u64>().ok()) {
                            paste = Some((id, off + m.map_or(0, |m| m.start())));
                        }
                    }
                }
                if pointer.is_none() {
                    if let Some(m) = self.form.pointer.find(text) {
                        pointer = Some(m.as_str().to_string());
                    }
                }
            }
        }
        if distinct.len() > 1 {
            out.problems.push(Problem {
                field: "ssh_key".into(),
                message: format!(
                    "{} different SSH keys were posted: one task is for one user and one key; post exactly one public key",
                    distinct.len()
                ),
                span: distinct[1].span.clone(),
            });
        }
        if let Some(first) = distinct.first() {
            if let Some((id, at)) = paste {
                out.problems.push(Problem {
                    field: "ssh_key".into(),
                    message: format!(
                        "both a key and a paste (P{id}) were given as the key: post exactly one public key"
                    ),
                    span: at..at,
                });
            }
            out.request.key = Some(KeyRef::Inline {
                text: first.text.clone(),
            });
        } else if let Some((id, _)) = paste {
            out.request.key = Some(KeyRef::Paste { id });
        } else if let Some(target) = pointer {
            out.request.key = Some(KeyRef::Pointer { target });
        } else if let Some(text) = typeless_key(occurrences, all_parts) {
            // Key data without its type: the key check says precisely what is missing.
            out.request.key = Some(KeyRef::Inline { text });
        } else {
            let message = if quoted_key {
                "the only SSH key is inside a quote (> …), which does not count: post the public key itself"
            } else {
                "no SSH public key was found (needed unless the shell user already exists)"
            };
            out.problems.push(Problem {
                field: "ssh_key".into(),
                message: message.into(),
                span: 0..0,
            });
        }
    }
}

/// Key data posted without its type (`AAAA…` under the key label), with the rest of its line.
fn typeless_key(occurrences: &[Occurrence], all_parts: &[Part<'_>]) -> Option<String> {
    occurrences
        .iter()
        .filter(|o| o.field == Field::SshKey)
        .flat_map(|o| all_parts[o.parts.clone()].iter())
        .find_map(|(text, _)| {
            let tokens = key_tokens(text);
            let at = tokens
                .iter()
                .position(|t| t.starts_with("AAAA") && t.len() >= 40 && keys::is_base64_token(t))?;
            Some(tokens[at..].join(" "))
        })
}

fn field_name(f: Field) -> &'static str {
    match f {
        Field::FullName => "full_name",
        Field::WikitechUser => "wikitech_user",
        Field::ShellUser => "shell_user",
        Field::Email => "email",
        Field::SshKey => "ssh_key",
        Field::Groups => "groups",
        Field::Reason => "reason",
        Field::Manager => "manager",
        Field::ExpiryDate => "expiry_date",
        Field::ExpiryContact => "expiry_contact",
        Field::PhabricatorUser => "phabricator_user",
        Field::ExistingGroup => "existing_group",
        Field::RequestedChange => "requested_change",
        Field::Impact => "impact",
    }
}

/// A multi-line field's text (a reason, a requested change): its lines trimmed, joined with
/// line breaks, without blank lines at either end.
fn joined_lines(parts: &[Part<'_>]) -> String {
    let mut text = String::new();
    for (i, (t, _)) in parts.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(t.trim());
    }
    text.trim().to_string()
}

/// The value of a one-value field: on the label line, or else on the next non-empty line
/// directly after it (one blank line allowed).
fn single_value<'a>(parts: &[Part<'a>]) -> Option<&'a str> {
    let first = parts.first()?.0.trim();
    if !first.is_empty() {
        return Some(first);
    }
    parts
        .iter()
        .skip(1)
        .take(2)
        .map(|(t, _)| strip_list_marker(t).trim())
        .find(|t| !t.is_empty())
}

/// The text of a groups field: the label line's value, then list items below it (or the
/// next line when the label line is empty).
/// The group names of a groups field, in the order written, the field and each name counted
/// as work; a text that is not a group name becomes a problem that says how one is written
/// (`like`).
fn field_groups(
    parts: &[Part<'_>],
    like: &str,
    shown: &dyn Fn(&str) -> String,
    problem: &dyn Fn(String) -> Problem,
    problems: &mut Vec<Problem>,
    work: &mut Work,
) -> Vec<String> {
    let text = group_parts(parts);
    work.add(text.len());
    // "Requested groups: TBD", "none", "-": no group named (a missing field), not a group
    // called "tbd".
    if is_placeholder(&text) {
        return Vec::new();
    }
    let mut names = Vec::new();
    for (g, bad) in groups_of(&text) {
        work.add(1);
        if bad {
            problems.push(problem(format!(
                "{} is not a group name ({like})",
                shown(&g)
            )));
        } else {
            names.push(g);
        }
    }
    names
}

fn group_parts(parts: &[Part<'_>]) -> String {
    let mut text = String::new();
    let first = parts.first().map_or("", |p| p.0);
    text.push_str(first);
    let mut took_line = !first.trim().is_empty();
    for (t, _) in parts.iter().skip(1) {
        let trimmed = t.trim_start();
        let is_item = ["- ", "* ", "+ ", "# ", "• "]
            .iter()
            .any(|m| trimmed.starts_with(m));
        if is_item || (!took_line && !trimmed.is_empty()) {
            // One line per item: a note after a dash ends only its own line's groups.
            text.push('\n');
            text.push_str(strip_list_marker(t));
            took_line = true;
        } else if !trimmed.is_empty() || took_line {
            break;
        }
    }
    text
}

/// Splits group text into lowercase names; `true` marks a token that is no group name.
///
/// On each line, what follows a group and a spaced dash or a colon is a note about it, not
/// more groups ("analytics-privatedata-users - access to private data", "deployment: for
/// scap"), as what stands in parentheses is. A sudo group named in such a note is still
/// caught, as anywhere in the description (`known-groups`).
fn groups_of(text: &str) -> Vec<(String, bool)> {
    let text = drop_parens(text);
    let mut out = Vec::new();
    for line in text.lines() {
        let mut on_line = 0usize;
        for raw in
            line.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '|' | '&' | '+'))
        {
            if on_line > 0 && matches!(raw, "-" | "--" | "\u{2013}" | "\u{2014}") {
                break;
            }
            let t = raw
                .trim_matches(|c: char| {
                    matches!(c, '`' | '*' | '"' | '\'' | '.' | ':' | '#' | '[' | ']')
                })
                .to_lowercase();
            if t.is_empty() || t == "and" || t == "or" || t == "-" {
                continue;
            }
            let ok = t.len() <= 64
                && t.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
                });
            let note_follows = ok && raw.trim_end_matches(['`', '*', '"', '\'']).ends_with(':');
            out.push((t, !ok));
            on_line += 1;
            if note_follows {
                break;
            }
        }
    }
    out
}

/// A wiki username from a value: `Name`, `User:Name`, a wikitech user page URL or a remarkup
/// link to one (`[[https://wikitech…/wiki/User:Name|Name]]`).
fn wiki_user(value: &str) -> &str {
    let mut v = value.trim();
    if let Some(inner) = v.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
        v = match inner.split_once('|') {
            Some((_, text)) => text.trim(),
            None => inner.trim(),
        };
    }
    if let Some(i) = v.find("/wiki/") {
        v = &v[i + "/wiki/".len()..];
    }
    v.strip_prefix("User:").unwrap_or(v).trim()
}

/// The email address in a value (`jdoe@example.org`, `<jdoe@…>`, `mailto:…`, remarkup links).
fn email_of(value: &str) -> Option<String> {
    address_words(value)
        .next()
        .filter(|t| email_regex().is_match(t))
        .map(str::to_string)
}

/// How many different email addresses a value holds (in any case).
fn emails_in(value: &str) -> usize {
    address_words(value)
        .filter(|t| email_regex().is_match(t))
        .map(str::to_lowercase)
        .collect::<HashSet<String>>()
        .len()
}

/// The words of a value that hold an `@`, without the markup around an address (`<…>`,
/// `mailto:`, remarkup links, a list's commas or semicolons, a sentence's full stop).
fn address_words(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| {
            c.is_whitespace() || matches!(c, '<' | '>' | '[' | ']' | '|' | '(' | ')' | ',' | ';')
        })
        .map(|t| t.trim_start_matches("mailto:").trim_end_matches('.'))
        .filter(|t| t.contains('@'))
}

/// A username from `@user`, `user` or a value holding exactly one `@mention`.
fn username_of(value: &str) -> Option<Username> {
    let ok = |u: &str| {
        !u.is_empty()
            && u.len() <= 64
            && u.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let v = drop_parens(value);
    let v = clean_value(&v);
    let mut words = v.split_whitespace();
    if let (Some(word), None) = (words.next(), words.next()) {
        let u = word.trim_start_matches('@').trim_end_matches(['.', ',']);
        return ok(u).then(|| Username::new(u));
    }
    let mut mentions = value
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('@').or_else(|| w.strip_prefix("(@")))
        .map(|w| w.trim_end_matches([')', '.', ',']));
    match (mentions.next(), mentions.next()) {
        (Some(one), None) if ok(one) => Some(Username::new(one)),
        _ => None,
    }
}

/// Fills groups and the shell user from "Requesting access to GROUPS for USER" (the title,
/// or a `Subject:` line) when the description lacks them.
fn fill_from_title(form: &FormRules, title: &str, subject: Option<&str>, out: &mut Parsed) {
    if !out.request.groups.is_empty() && out.request.shell_user.is_some() {
        return;
    }
    fn read<'t>(form: &FormRules, text: &'t str) -> Option<regex::Captures<'t>> {
        form.title.iter().find_map(|re| re.captures(text.trim()))
    }
    let caps = read(form, title).or_else(|| subject.and_then(|s| read(form, s)));
    let Some(caps) = caps else { return };
    if out.request.groups.is_empty() {
        if let Some(g) = caps.name("groups") {
            let mut seen = HashSet::new();
            out.request.groups = groups_of(g.as_str())
                .into_iter()
                .filter(|(g, bad)| !bad && seen.insert(g.clone()))
                .map(|(g, _)| g)
                .collect();
        }
    }
    if out.request.shell_user.is_none() && !out.problems.iter().any(|p| p.field == "shell_user") {
        if let Some(u) = caps
            .name("user")
            .and_then(|u| u.as_str().parse::<ShellUser>().ok())
        {
            out.request.shell_user = Some(u);
        }
    }
}

/// The problem of a request that gives no shell username (an LDAP-only request needs none).
pub(crate) const MISSING_SHELL_USER: &str =
    "no shell username was given (Preferred shell username: …)";

/// Where a label stood that the parser does not read fields from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unread {
    /// A code block, an indented block or a `%%%` literal.
    Code,
    /// A quote (`> …`).
    Quote,
}

/// Adds a problem for each required field that is missing and has no problem yet; when the
/// field's label stood only inside code or a quote (`unread`), the problem says so.
fn require_fields(out: &mut Parsed, unread: &[(Field, Unread)]) {
    let r = &out.request;
    let missing: Vec<(Field, &str)> = [
        (
            r.full_name.is_none(),
            Field::FullName,
            "no full name was given (Full name: …)",
        ),
        (
            r.wikitech_user.is_none(),
            Field::WikitechUser,
            "no Wikitech username was given (Wikitech username: …)",
        ),
        (r.shell_user.is_none(), Field::ShellUser, MISSING_SHELL_USER),
        (
            r.email.is_none(),
            Field::Email,
            "no email address was given (Email address: …)",
        ),
        (
            r.groups.is_empty(),
            Field::Groups,
            "no group was requested (Requested group membership: …)",
        ),
        (
            r.reason.is_none(),
            Field::Reason,
            "no reason for access was given (Reason for access: …)",
        ),
    ]
    .into_iter()
    .filter(|(m, f, _)| *m && !out.problems.iter().any(|p| p.field == field_name(*f)))
    .map(|(_, f, msg)| (f, msg))
    .collect();
    for (field, message) in missing {
        let message = match unread.iter().find(|(f, _)| *f == field) {
            Some((_, Unread::Code)) => format!(
                "{message}: its label is inside a code block, where fields are not read; \
                 write the form's fields as plain text"
            ),
            Some((_, Unread::Quote)) => format!(
                "{message}: its label is inside a quote (> …), which does not count; \
                 write the form's fields as plain text"
            ),
            None => message.to_string(),
        };
        out.problems.push(Problem {
            field: field_name(field).into(),
            message,
            span: 0..0,
        });
    }
}

/// The whitespace-separated tokens of a line, without markup around them (`` ` ``, `*`, quotes,
/// table pipes).
fn key_tokens(text: &str) -> Vec<&str> {
    key_token_iter(text).collect()
}

/// The tokens of [`key_tokens`], one by one (for a look at the first without collecting).
fn key_token_iter(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace()
        .map(|t| t.trim_matches(|c: char| matches!(c, '`' | '*' | '"' | '\'' | '|')))
        .filter(|t| !t.is_empty())
}

/// Whether a line contains `ssh-`, `ecdsa-` or `sk-`, with which every key type starts
/// (certificates and security keys included): one pass over the line.
fn may_hold_key_type(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'-' && {
            let head = &b[..i];
            head.ends_with(b"ssh") || head.ends_with(b"ecdsa") || head.ends_with(b"sk")
        }
    })
}

/// Units of work of a parse (lines, tokens and bytes visited or copied).
#[derive(Debug, Default, Clone, Copy)]
struct Work(u64);

impl Work {
    fn add(&mut self, n: usize) {
        self.0 = self.0.saturating_add(n as u64);
    }
}

/// Where the words after a key's data are: on the key's own line (from a token index), or
/// copied from the line a wrapped key ended on.
enum Tail<'t> {
    None,
    Same(usize),
    Other(Vec<&'t str>),
}

/// Finds the public keys written in text lines and code blocks (never in quotes), each
/// unwrapped to one line even when wrapped over several.
fn find_keys(lines: &[Line<'_>], work: &mut Work) -> Vec<KeyFound> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        work.add(1);
        if !matches!(line.kind, Kind::Text | Kind::Code) {
            i += 1;
            continue;
        }
        work.add(line.text.len());
        if !may_hold_key_type(line.text) {
            i += 1;
            continue;
        }
        let tokens = key_tokens(line.text);
        work.add(tokens.len());
        let mut next_line = i + 1;
        let mut t = 0;
        while t < tokens.len() {
            work.add(1);
            if !keys::looks_like_key_type(tokens[t]) {
                t += 1;
                continue;
            }
            // The data follows on the same line, or starts the next line.
            let data_here = tokens.get(t + 1).is_some_and(|d| d.starts_with("AAAA"));
            let data_next = t + 1 == tokens.len()
                && lines.get(i + 1).is_some_and(|l| {
                    key_token_iter(l.text)
                        .next()
                        .is_some_and(|d| d.starts_with("AAAA"))
                });
            if !data_here && !data_next {
                t += 1;
                continue;
            }
            // authorized_keys options right before the type stay with the key, so that the
            // key check refuses them (they would be granted with it).
            let from = if t > 0 && keys::is_key_options(tokens[t - 1]) {
                t - 1
            } else {
                t
            };
            let start = line.start + offset_in(line.text, tokens[from]);
            let mut base64 = String::with_capacity(tokens.get(t + 1).map_or(0, |d| d.len()));
            let mut next_tokens: Vec<&str>;
            let mut rest: &[&str] = &tokens[t + 1..];
            let mut rest_at = t + 1;
            let mut end_line = i;
            let mut complete = false;
            let mut tail = Tail::None;
            let mut end = line.start + line.text.len();
            'gather: loop {
                for (k, tok) in rest.iter().enumerate() {
                    work.add(1);
                    if complete || !keys::is_base64_token(tok) || base64.len() > MAX_KEY_BASE64 {
                        tail = if end_line == i {
                            Tail::Same(rest_at + k)
                        } else {
                            Tail::Other(rest[k..].to_vec())
                        };
                        break 'gather;
                    }
                    work.add(tok.len());
                    base64.push_str(tok);
                    if keys::is_complete_blob(&base64) {
                        complete = true;
                    }
                }
                if complete {
                    break;
                }
                // Wrapped: continue on the next line if it is more base64.
                let Some(next) = lines.get(end_line + 1) else {
                    break;
                };
                let first = key_token_iter(next.text).next().unwrap_or("");
                if !matches!(next.kind, Kind::Text | Kind::Code)
                    || !keys::is_base64_token(first)
                    || keys::looks_like_key_type(first)
                {
                    break;
                }
                end_line += 1;
                end = next.start + next.text.len();
                next_tokens = key_tokens(next.text);
                work.add(next.text.len());
                rest = &next_tokens;
                rest_at = 0;
            }
            // A wrapped key's comment may stand alone on the line after its data.
            if complete && matches!(tail, Tail::None) && end_line > i {
                if let Some(next) = lines.get(end_line + 1) {
                    let words = key_tokens(next.text);
                    if matches!(next.kind, Kind::Text | Kind::Code)
                        && words.len() == 1
                        && words[0].contains('@')
                        && !words[0].starts_with('@')
                        && !words[0].contains(':')
                    {
                        tail = Tail::Other(words);
                        end_line += 1;
                        end = next.start + next.text.len();
                    }
                }
            }
            let comment: &[&str] = match &tail {
                Tail::None => &[],
                Tail::Same(p) => &tokens[*p..],
                Tail::Other(v) => v,
            };
            let mut text = if from < t {
                format!("{} {} {}", tokens[from], tokens[t], base64)
            } else {
                format!("{} {}", tokens[t], base64)
            };
            let own = comment
                .iter()
                .position(|c| keys::looks_like_key_type(c))
                .unwrap_or(comment.len());
            for c in &comment[..own] {
                work.add(c.len());
                text.push(' ');
                text.push_str(c);
            }
            found.push(KeyFound {
                text,
                base64,
                span: start..end,
            });
            if end_line > i {
                next_line = end_line + 1;
                break;
            }
            // Further keys on the same line come after this one's data (always past `t`).
            t = match tail {
                Tail::Same(p) => p,
                _ => tokens.len(),
            };
        }
        i = next_line;
    }
    found
}

/// What [`scan`] finds in a comment or a paste.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyScan {
    /// A private key appears anywhere (quotes, code, literals, unarmoured bodies included).
    pub private: bool,
    /// The distinct public keys in the author's own text and code (never in quotes), each
    /// unwrapped to one line, in order.
    pub keys: Vec<String>,
    /// A public key appears only inside a quote.
    pub quoted: bool,
    /// Paste ids (`P123`) named in the author's own text.
    pub pastes: Vec<u64>,
}

/// Whether a text holds a private key anywhere (quotes, code, unarmoured bodies included),
/// after normalisation (a zero-width space inside the armour hides nothing).
pub fn has_private_key(text: &str) -> bool {
    keys::is_private_key(remarkup::normalize(text).text())
}

/// Finds keys and paste references in a comment or a paste with the same reader as the
/// description parser: public keys only in the author's own text and code, never in quotes;
/// private keys anywhere.
pub fn scan(text: &str) -> KeyScan {
    let normalized = remarkup::normalize(text);
    let text = normalized.text();
    let lines = classify(text);
    let mut work = Work::default();
    let mut out = KeyScan {
        private: keys::is_private_key(text),
        ..KeyScan::default()
    };
    if out.private {
        return out;
    }
    let mut seen = HashSet::new();
    for k in find_keys(&lines, &mut work) {
        if seen.insert(k.base64.clone()) {
            out.keys.push(k.text);
        }
    }
    out.quoted = out.keys.is_empty()
        && lines.iter().any(|l| {
            l.kind == Kind::Quote && l.text.split_whitespace().any(keys::looks_like_key_type)
        });
    for l in lines.iter().filter(|l| l.kind == Kind::Text) {
        if may_name_paste(l.text) {
            for c in paste_regex().captures_iter(l.text) {
                if let Some(id) = c
                    .get(1)
                    .or_else(|| c.get(2))
                    .and_then(|m| m.as_str().parse::<u64>().ok())
                {
                    if !out.pastes.contains(&id) && out.pastes.len() < 16 {
                        out.pastes.push(id);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        #[derive(serde::Deserialize)]
        struct P {
            labels: Labels,
        }
        toml::from_str::<P>(crate::rules::BUNDLED_PHRASES)
            .expect("bundled phrases")
            .labels
    }

    #[test]
    fn labels_match_in_every_dress() {
        let p = Parser::new(&labels());
        for line in [
            "Preferred shell username: jdoe",
            "**Preferred shell username**: jdoe",
            "**Preferred shell username:** jdoe",
            "- Preferred Shell Username: jdoe",
            "1. preferred shell username (lowercase please): jdoe",
            "| Shell username | jdoe |",
            "  * //Shell user//: jdoe",
            "Your shell username: jdoe",
        ] {
            let (field, value) = p.label_of(line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(field, Field::ShellUser, "{line}");
            assert_eq!(clean_value(value), "jdoe", "{line}");
        }
        for line in ["Shell username is jdoe", "Hello: there", "Project name: x"] {
            assert!(p.label_of(line).is_none(), "{line}");
        }
        assert_eq!(
            p.label_of("== SSH public key ==").map(|l| l.0),
            Some(Field::SshKey)
        );
    }

    #[test]
    fn groups_are_split_and_normalised() {
        let g: Vec<_> = groups_of("Analytics-Users, deployment and `restricted`; ops (sudo)")
            .into_iter()
            .collect();
        assert_eq!(
            g,
            [
                ("analytics-users".to_string(), false),
                ("deployment".to_string(), false),
                ("restricted".to_string(), false),
                ("ops".to_string(), false)
            ]
        );
        assert_eq!(
            groups_of("wiki@admins"),
            [("wiki@admins".to_string(), true)]
        );
        // A note after a spaced dash or a colon is no group, on its own line only.
        let names = |t: &str| -> Vec<String> { groups_of(t).into_iter().map(|g| g.0).collect() };
        assert_eq!(
            names("analytics-privatedata-users - access to private data"),
            ["analytics-privatedata-users"]
        );
        assert_eq!(
            names("deployment: for scap\nanalytics-users \u{2014} dashboards"),
            ["deployment", "analytics-users"]
        );
        assert_eq!(names("**deployment**: for scap"), ["deployment"]);
        // A dash or a word that is no group before any group is not a note's start.
        assert_eq!(
            names("- deployment, analytics-users"),
            ["deployment", "analytics-users"]
        );
    }

    #[test]
    fn usernames_and_emails() {
        assert_eq!(username_of("@mboss"), Some(Username::new("mboss")));
        assert_eq!(
            username_of("mboss (my manager)"),
            Some(Username::new("mboss"))
        );
        assert_eq!(
            username_of("Mary Boss (@mboss)"),
            Some(Username::new("mboss"))
        );
        assert_eq!(username_of("Mary Boss"), None);
        assert_eq!(username_of("@a or @b"), None);
        assert_eq!(
            email_of("<jdoe@example.org>").as_deref(),
            Some("jdoe@example.org")
        );
        assert_eq!(email_of("jdoe at example dot org"), None);
        assert_eq!(emails_in("[[mailto:jdoe@example.org|JDoe@example.org]]"), 1);
        assert_eq!(emails_in("jdoe@example.org, jane@gmail.com"), 2);
        assert_eq!(
            emails_in(&drop_parens("jdoe@example.org (personal: j@gmail.com)")),
            1
        );
        let p = Parser::new(&labels());
        let r = p.parse("", "Email address: jdoe@example.org; jane@gmail.com\n");
        assert_eq!(r.request.email, None);
        assert!(
            r.problems.iter().any(|p| p.field == "email"
                && p.message
                    .ends_with("names more than one email address: give one")),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn authorized_keys_options_before_a_key_stay_with_it_for_the_key_check() {
        let p = Parser::new(&labels());
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDlox4BxGXvzsD6dsTssIvvxnpYV6GUdVsYWfyxvU5M4 me@x";
        for (field, kept) in [
            (format!("command=\"/bin/sh\",no-pty {key}"), true),
            (format!("restrict {key}"), true),
            (format!("here it is: {key}"), false),
        ] {
            let r = p.parse("", &format!("Full name: A B\nSSH public key: {field}\n"));
            let Some(KeyRef::Inline { text }) = &r.request.key else {
                panic!("{field}: {:?}", r.request.key)
            };
            assert_eq!(text.starts_with("ssh-ed25519"), !kept, "{field}: {text}");
        }
    }

    #[test]
    fn the_phabricator_account_field_names_the_subject_once() {
        let p = Parser::new(&labels());
        let r = p.parse(
            "",
            "Full name: Chris Wong\n**Phabricator username**: @cwong\nPhabricator account: CWong\n",
        );
        assert_eq!(r.request.phabricator_user, Some(Username::new("cwong")));
        assert!(r.problems.iter().all(|p| p.field != "phabricator_user"));
        let r = p.parse(
            "",
            "Phabricator user: @cwong\nPhabricator username: @mboss\n",
        );
        assert_eq!(r.request.phabricator_user, Some(Username::new("cwong")));
        assert!(
            r.problems
                .iter()
                .any(|p| p.field == "phabricator_user" && p.message.contains("two")),
            "{:?}",
            r.problems
        );
        let r = p.parse("", "Phabricator username: Chris Wong\n");
        assert_eq!(r.request.phabricator_user, None);
        assert!(r.problems.iter().any(|p| p.field == "phabricator_user"));
        let r = p.parse("", "Phabricator username: n/a\n");
        assert_eq!(r.request.phabricator_user, None);
        assert!(r.problems.iter().all(|p| p.field != "phabricator_user"));
    }

    /// A username or an address is no full name.
    #[test]
    fn a_username_or_an_address_is_no_full_name() {
        let p = Parser::new(&labels());
        for value in ["@jdoe", "jdoe@example.org", "**@jdoe**"] {
            let r = p.parse("", &format!("Full name: {value}\n"));
            assert_eq!(r.request.full_name, None, "{value}");
            assert!(
                r.problems
                    .iter()
                    .any(|p| p.field == "full_name" && p.message.contains("is not a full name")),
                "{value}: {:?}",
                r.problems
            );
        }
        for name in ["Jane O'Doe-Smith", "Jane Doe (@jdoe)"] {
            let r = p.parse("", &format!("Full name: {name}\n"));
            assert_eq!(r.request.full_name.as_deref(), Some(name));
        }
    }

    /// A groups field left as a placeholder names no group: the field is missing.
    #[test]
    fn a_placeholder_groups_field_requests_no_group() {
        let p = Parser::new(&labels());
        for value in ["TBD", "none", "N/A", "-", "?", "<group>"] {
            let r = p.parse("", &format!("Requested group membership: {value}\n"));
            assert_eq!(r.request.groups, Vec::<String>::new(), "{value}");
            let groups: Vec<&str> = r
                .problems
                .iter()
                .filter(|p| p.field == "groups")
                .map(|p| p.message.as_str())
                .collect();
            assert_eq!(
                groups,
                ["no group was requested (Requested group membership: …)"],
                "{value}"
            );
        }
    }

    /// The label variants requesters write: other words for a field, "user name" for
    /// "username", punctuation between words.
    #[test]
    fn common_label_variants_are_read() {
        let p = Parser::new(&labels());
        let r = p.parse(
            "",
            "Legal name: Pat Kim\nWikitech/LDAP username: Pat Kim\nShell user name: pkim\n\
             Work email: pkim@example.org\nGroups requested: analytics-users\n\
             Business justification: dashboards\nLine manager: @mboss\nAccess end date: 2027-01-31\n",
        );
        let fields: Vec<&str> = r.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["ssh_key"], "{r:?}");
        assert_eq!(r.request.full_name.as_deref(), Some("Pat Kim"));
        assert_eq!(r.request.wikitech_user.as_deref(), Some("Pat Kim"));
        assert_eq!(
            r.request.shell_user.as_ref().map(|u| u.as_str()),
            Some("pkim")
        );
        assert_eq!(r.request.email.as_deref(), Some("pkim@example.org"));
        assert_eq!(r.request.groups, vec!["analytics-users".to_string()]);
        assert_eq!(r.request.reason.as_deref(), Some("dashboards"));
        assert_eq!(
            r.request.manager.as_ref().map(|u| u.as_str()),
            Some("mboss")
        );
        assert!(r.request.expiry_date.is_some());
        for label in [
            "Preferred shell user name",
            "UNIX shell username",
            "SSH username",
        ] {
            let r = p.parse("", &format!("{label}: pkim\n"));
            assert_eq!(
                r.request.shell_user.as_ref().map(|u| u.as_str()),
                Some("pkim"),
                "{label}"
            );
        }
        // A word that names no field stays prose.
        let r = p.parse("", "Username: pkim\n");
        assert_eq!(r.request.shell_user, None);
    }

    /// A form pasted inside a code block or a quote is not read, and the missing fields'
    /// problems say where their labels are; a field given in plain text too gets no such
    /// word, nor does a label in code when the field is given.
    #[test]
    fn a_label_only_in_code_or_a_quote_is_named_in_the_missing_fields_problem() {
        let p = Parser::new(&labels());
        let r = p.parse(
            "",
            "```\nFull name: Pat Kim\nEmail address: pkim@example.org\n```\n\n    Reason for access: x\n\n> Wikitech username: Pat Kim\n\nEmail address: pkim@example.org\n",
        );
        let message = |field: &str| {
            r.problems
                .iter()
                .find(|p| p.field == field)
                .map(|p| p.message.clone())
                .unwrap_or_default()
        };
        assert!(message("full_name").starts_with("no full name was given"));
        assert!(
            message("full_name").contains("inside a code block"),
            "{:?}",
            r.problems
        );
        assert!(
            message("reason").contains("inside a code block"),
            "{:?}",
            r.problems
        );
        assert!(
            message("wikitech_user").contains("inside a quote"),
            "{:?}",
            r.problems
        );
        assert_eq!(r.request.email.as_deref(), Some("pkim@example.org"));
        assert_eq!(message("email"), "");
        assert!(!message("groups").contains("inside"), "{:?}", r.problems);
    }

    #[test]
    fn placeholders_in_required_fields_are_missing_values() {
        let p = Parser::new(&labels());
        for (name, wikitech, reason) in [
            ("TBD", "N/A", "."),
            ("<your full name>", "[wikitech user]", "TODO"),
            ("...", "?", "-"),
            ("xxx", "unknown", "same as above"),
        ] {
            let r = p.parse(
                "",
                &format!(
                    "Full name: {name}\nWikitech username: {wikitech}\nReason for access: {reason}\n"
                ),
            );
            assert_eq!(r.request.full_name, None, "{name:?}");
            assert_eq!(r.request.wikitech_user, None, "{wikitech:?}");
            assert_eq!(r.request.reason, None, "{reason:?}");
            for field in ["full_name", "wikitech_user", "reason"] {
                assert!(
                    r.problems
                        .iter()
                        .any(|p| p.field == field && p.message.starts_with("no ")),
                    "{field}: {:?}",
                    r.problems
                );
            }
        }
        // Real values stay: short names, a reason that starts like a filler.
        let r = p.parse(
            "",
            "Full name: Xi Li\nWikitech username: X-ray\nReason for access: TBD in the doc: on-call\n",
        );
        assert_eq!(r.request.full_name.as_deref(), Some("Xi Li"));
        assert_eq!(r.request.wikitech_user.as_deref(), Some("X-ray"));
        assert_eq!(r.request.reason.as_deref(), Some("TBD in the doc: on-call"));
    }

    #[test]
    fn title_form_fills_missing_fields() {
        let p = Parser::new(&labels());
        let r = p.parse(
            "Requesting access to Analytics-Users and deployment for jdoe (Jane Doe)",
            "",
        );
        assert_eq!(r.request.groups, ["analytics-users", "deployment"]);
        assert_eq!(
            r.request.shell_user.map(String::from).as_deref(),
            Some("jdoe")
        );
        let r = p.parse("Requesting access to deployment for Jane Doe", "");
        assert_eq!(r.request.shell_user, None);
    }

    #[test]
    fn code_blocks_hold_only_keys_and_quotes_nothing() {
        let p = Parser::new(&labels());
        let r = p.parse(
            "",
            "```\nFull name: In Code\n```\n> Email address: quoted@example.org\nlang=text\nShell username: incode\n\nFull name: Real\n",
        );
        assert_eq!(r.request.full_name.as_deref(), Some("Real"));
        assert_eq!(r.request.email, None);
        assert_eq!(r.request.shell_user, None);
    }

    /// The stack normalisation of [`Parser::lookup`] gives what the table was built with.
    fn ascii_normalisation_agrees(label: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let want = normalize_label(label);
        for longest in [0, 4, 12, 30, MAX_LABEL_BYTES] {
            let mut buf = [0u8; MAX_LABEL_BYTES];
            match normalize_ascii_label(label.as_bytes(), longest, &mut buf) {
                Some(got) => proptest::prop_assert_eq!(got, want.as_str()),
                None => proptest::prop_assert!(want.len() > longest, "{label:?} → {want:?}"),
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn ascii_labels_normalise_as_the_table(label in "[ -~]{0,120}") {
            ascii_normalisation_agrees(&label)?;
        }

        #[test]
        fn label_like_text_normalises_as_the_table(
            label in "([Yy][Oo][Uu][Rr][ *_:-]{1,3})?[a-zA-Z0-9 ()\\[\\]*_/:.|-]{0,110}",
        ) {
            ascii_normalisation_agrees(&label)?;
        }
    }

    #[test]
    fn spans_point_at_the_problem() {
        let p = Parser::new(&labels());
        let d = "Full name: A\r\nExpiry date: someday\r\n";
        let r = p.parse("", d);
        let prob = r
            .problems
            .iter()
            .find(|p| p.field == "expiry_date")
            .expect("problem");
        assert_eq!(&d[prob.span.clone()], "Expiry date: someday");
    }
}
