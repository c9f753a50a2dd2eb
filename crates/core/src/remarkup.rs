//! The one remarkup reader: everything that looks at what people wrote — the request parser,
//! the key and paste finders, the statement reader, the hidden-sudo-group check — reads
//! through it, and nothing else decides what is quoted, code or the author's own words.
//!
//! - `normalize`: NFKC, invisible and bidi controls removed (general category `Cf` and the
//!   other default-ignorable characters), dash and quote look-alikes folded to ASCII, with a
//!   map back to the original byte offsets (for problems that point into a description) and
//!   the places where a look-alike or an invisible character was folded or removed inside a
//!   word.
//! - [`lines`]: splits a text into lines, each with the kind of the block it belongs to,
//!   following Phorge's own block rules (`PhutilRemarkup*BlockRule`): quotes at any depth
//!   (`>`, `>>`, `>>!` reply headers), fenced, `lang=` and indented code, `%%%` literals,
//!   `{{{ }}}` interpreter blocks, tables (`|…|` and `<table>`), NOTE/WARNING/IMPORTANT
//!   blocks, lists, headers and paragraphs.
//! - `inline_spans`: inline code (`` `…` `` and `##…##`), double-quoted and struck-through
//!   (`~~…~~`) spans of a line.
//!
//! As in Phorge, a line indented by two or more spaces or tabs starts a code block wherever it
//! is (also right after a paragraph line), unless it continues a list item; a code fence ends
//! at any line ending in ```` ``` ````. Where Phorge and a reader could see different things,
//! the reader takes the reading that does *not* make something the author's own words: a line
//! whose first non-blank character is `>` is a quote even when indented or in a list item, a
//! bare `lang=` line starts a code block, an unclosed backtick or double quote hides the rest
//! of its line, an unclosed `##` the rest of its paragraph.
//!
//! One pass over the input, linear time, no recursion: a quote nested 10,000 deep is one
//! line with a depth.

use std::ops::Range;
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// A normalised text with a map back to the original.
#[derive(Debug, Clone)]
pub(crate) struct Normalized {
    text: String,
    segments: Vec<Segment>,
    original_len: usize,
    altered: Vec<usize>,
    bidi: bool,
}

/// A stretch of the normalised text: from `norm` on, it is either the original from `orig` on
/// byte for byte (`identity`), or the replacement of one character cluster starting at `orig`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    norm: usize,
    orig: usize,
    identity: bool,
}

impl Normalized {
    /// The normalised text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Offsets in [`Self::text`] where a look-alike character was folded into ASCII (fullwidth,
    /// mathematical or other compatibility letters) or an invisible character was removed
    /// inside a word, in increasing order.
    pub(crate) fn altered(&self) -> &[usize] {
        &self.altered
    }

    /// Whether the original held a bidi control (which can reorder what a reader sees).
    pub(crate) fn had_bidi(&self) -> bool {
        self.bidi
    }

    /// The byte range of the original text that a range of the normalised text came from
    /// (always on character boundaries of the original).
    pub(crate) fn original_range(&self, r: Range<usize>) -> Range<usize> {
        let start = self.to_original(r.start, false);
        let end = self.to_original(r.end, true).max(start);
        start..end
    }

    fn to_original(&self, n: usize, round_up: bool) -> usize {
        let k = self.segments.partition_point(|s| s.norm <= n);
        let Some(seg) = k.checked_sub(1).map(|k| self.segments[k]) else {
            return 0;
        };
        let next_orig = self.segments.get(k).map_or(self.original_len, |s| s.orig);
        if seg.identity {
            (seg.orig + (n - seg.norm)).min(next_orig)
        } else if n == seg.norm || !round_up {
            seg.orig
        } else {
            next_orig
        }
    }
}

/// Whether a character is a bidi control (it can reorder what a reader sees around it).
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether a character is invisible: a format control (general category `Cf`: zero-width
/// spaces and joiners, soft hyphen, word joiner, BOM, tags, bidi controls …) or another
/// default-ignorable character (variation selectors, combining grapheme joiner, Hangul fillers).
pub(crate) fn is_invisible(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
        || matches!(
            c,
            '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FFA0}'
                | '\u{E0100}'..='\u{E01EF}'
        )
}

fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Quote and apostrophe look-alikes, folded before NFKC (which would split some of them).
fn fold_quote(c: char) -> Option<char> {
    Some(match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2035}'
        | '\u{02BC}' | '\u{02B9}' | '\u{02BB}' | '\u{02BD}' | '\u{00B4}' | '\u{FF07}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{2036}'
        | '\u{00AB}' | '\u{00BB}' | '\u{2039}' | '\u{203A}' | '\u{301D}' | '\u{301E}'
        | '\u{301F}' | '\u{FF02}' | '\u{300C}' | '\u{300D}' | '\u{300E}' | '\u{300F}' => '"',
        '\u{2212}' | '\u{2796}' | '\u{FE63}' | '\u{FF0D}' => '-',
        _ => return None,
    })
}

/// What one normalised character becomes after NFKC: dashes to `-`, line and paragraph
/// separators to a newline, other whitespace to a space, other controls dropped.
fn post_nfkc(c: char, out: &mut String) {
    if let Some(q) = fold_quote(c) {
        out.push(q);
    } else if matches!(c, '\n' | '\r' | '\t') {
        out.push(c);
    } else if matches!(c, '\u{2028}' | '\u{2029}' | '\u{0085}') {
        out.push('\n');
    } else if c.is_whitespace() || c == '\u{2800}' {
        out.push(' ');
    } else if c.is_control() {
        // dropped
    } else if c.general_category() == GeneralCategory::DashPunctuation {
        out.push('-');
    } else {
        out.push(c);
    }
}

struct Builder {
    out: String,
    segments: Vec<Segment>,
    altered: Vec<usize>,
    bidi: bool,
}

impl Builder {
    fn identity(&mut self, orig: usize, s: &str) {
        let norm = self.out.len();
        let continues = self
            .segments
            .last()
            .is_some_and(|l| l.identity && l.orig + (norm - l.norm) == orig);
        if !continues {
            self.segments.push(Segment {
                norm,
                orig,
                identity: true,
            });
        }
        self.out.push_str(s);
    }

    fn replaced(&mut self, orig: usize, s: &str) {
        self.segments.push(Segment {
            norm: self.out.len(),
            orig,
            identity: false,
        });
        self.out.push_str(s);
    }

    fn prev_is_alphanumeric(&self) -> bool {
        self.out
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
    }
}

/// Normalises a text for reading: NFKC, invisible characters and bidi controls removed, dash
/// and quote look-alikes folded to ASCII, exotic whitespace to a space. Letters stay letters
/// (a Cyrillic name stays Cyrillic: folding look-alike *letters* is the statement reader's
/// business, see `statement`). Linear in the input.
pub(crate) fn normalize(input: &str) -> Normalized {
    let plain = input
        .bytes()
        .all(|b| matches!(b, b' '..=b'~' | b'\n' | b'\r' | b'\t'));
    if plain {
        return Normalized {
            text: input.to_string(),
            segments: vec![Segment {
                norm: 0,
                orig: 0,
                identity: true,
            }],
            original_len: input.len(),
            altered: Vec::new(),
            bidi: false,
        };
    }
    let mut b = Builder {
        out: String::with_capacity(input.len()),
        segments: Vec::new(),
        altered: Vec::new(),
        bidi: false,
    };
    let mut pre = String::new();
    let mut post = String::new();
    let mut it = input.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c.is_ascii() && !c.is_ascii_control() || matches!(c, '\n' | '\r' | '\t') {
            // A plain ASCII character is its own cluster unless a combining mark follows.
            let mark_follows = it
                .peek()
                .is_some_and(|&(_, d)| !d.is_ascii() && canonical_combining_class(d) != 0);
            if !mark_follows {
                b.identity(i, &input[i..i + 1]);
                continue;
            }
        }
        if is_bidi_control(c) {
            b.bidi = true;
            b.altered.push(b.out.len());
            b.replaced(i, "");
            continue;
        }
        if is_invisible(c) {
            // Inside a word it hides something; after an emoji it is part of the emoji.
            let inside_word = b.prev_is_alphanumeric()
                && it
                    .peek()
                    .is_some_and(|&(_, d)| d.is_alphanumeric() || is_invisible(d));
            if inside_word || (!is_variation_selector(c) && b.prev_is_alphanumeric()) {
                b.altered.push(b.out.len());
            }
            b.replaced(i, "");
            continue;
        }
        // The cluster: this character and the combining marks that follow it.
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = it.peek() {
            if d.is_ascii() || canonical_combining_class(d) == 0 {
                break;
            }
            end = j + d.len_utf8();
            it.next();
        }
        let cluster = &input[i..end];
        pre.clear();
        for d in cluster.chars() {
            match fold_quote(d) {
                Some(q) => pre.push(q),
                None => pre.push(d),
            }
        }
        post.clear();
        for d in pre.nfkc() {
            post_nfkc(d, &mut post);
        }
        if post == cluster {
            b.identity(i, cluster);
        } else {
            let looks_ascii = !cluster.is_ascii()
                && post.bytes().any(|x| x.is_ascii_alphanumeric())
                && cluster
                    .chars()
                    .any(|d| !d.is_ascii() && d.is_alphanumeric());
            if looks_ascii {
                b.altered.push(b.out.len());
            }
            let text = std::mem::take(&mut post);
            b.replaced(i, &text);
            post = text;
        }
    }
    if b.segments.is_empty() {
        b.segments.push(Segment {
            norm: 0,
            orig: 0,
            identity: true,
        });
    }
    Normalized {
        text: b.out,
        segments: b.segments,
        original_len: input.len(),
        altered: b.altered,
        bidi: b.bidi,
    }
}

/// The kind of block a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A paragraph line (or a blank line).
    Prose,
    /// A list item or its continuation.
    ListItem,
    /// A header (`= x =`, `## x`, `# x`).
    Header,
    /// A NOTE / WARNING / IMPORTANT block.
    Note,
    /// A table row (`| a | b |`) or a line of a `<table>` block.
    Table,
    /// A horizontal rule.
    Rule,
    /// A quoted line (`>`, `>>`, `>>! In T1, @x wrote:`), at `depth` levels.
    Quote {
        /// How many `>` start the line.
        depth: u32,
    },
    /// Code: inside a fenced, `lang=`, indented or `{{{ }}}` block (or the content on a fence line).
    Code,
    /// Inside a `%%%` literal block.
    Literal,
    /// A code fence or option line (```` ``` ````, ```` ```lang=text ````, a bare `lang=text`)
    /// with nothing else on it.
    Fence,
}

/// One line of a text with the kind of its block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The line without its line ending; for a fence line with content (```` ```ssh-ed25519
    /// AAAA…``` ````), only the content.
    pub text: &'a str,
    /// Byte offset of `text` in the input.
    pub start: usize,
    /// The kind of its block.
    pub kind: Kind,
    /// The block's number: consecutive lines of one paragraph, list item, quote or code
    /// block share it; a blank line ends a paragraph.
    pub block: usize,
}

/// Multi-line block states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    None,
    Fence,
    Indented,
    LangBlock,
    Literal,
    List,
    Note,
    HtmlTable,
    Interpreter,
    Quote,
    Paragraph,
}

/// Leading spaces and tabs: (count, bytes).
fn leading_ws(s: &str) -> usize {
    s.bytes().take_while(|b| matches!(b, b' ' | b'\t')).count()
}

/// `^\s*(?:[-*#]+|[0-9]+[.)]|\[\D?\])\s+` (Phorge's list item pattern; `first` requires the
/// number of an ordered item to start with 1-9).
fn is_list_item(s: &str, first: bool) -> bool {
    let t = &s.as_bytes()[leading_ws(s)..];
    let marker = match t.first() {
        Some(b'-' | b'*' | b'#') => t
            .iter()
            .take_while(|b| matches!(b, b'-' | b'*' | b'#'))
            .count(),
        Some(b'0'..=b'9') => {
            if first && t[0] == b'0' {
                return false;
            }
            let d = t.iter().take_while(|b| b.is_ascii_digit()).count();
            match t.get(d) {
                Some(b'.' | b')') => d + 1,
                _ => return false,
            }
        }
        Some(b'[') => {
            // `[]`, `[ ]`, `[x]`: a checkbox; one non-digit character at most inside.
            let rest = &s[leading_ws(s) + 1..];
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(']'), _) => 2,
                (Some(c), Some(']')) if !c.is_ascii_digit() => 2 + c.len_utf8(),
                _ => return false,
            }
        }
        _ => return false,
    };
    let after = &s[leading_ws(s) + marker..];
    after.starts_with([' ', '\t'])
}

/// The text of a list item after its marker.
fn list_content(line: &str) -> &str {
    let t = line.trim_start();
    let marker = t.find(|c: char| c.is_whitespace()).unwrap_or(t.len());
    t[marker..].trim_start()
}

fn is_horizontal_rule(trimmed: &str) -> bool {
    let t = trimmed.trim_end();
    let Some(first) = t.chars().next() else {
        return false;
    };
    match first {
        '_' => t.len() >= 3 && t.bytes().all(|b| b == b'_'),
        '*' | '-' => {
            t.bytes().filter(|&b| b == first as u8).count() >= 3
                && t.bytes().all(|b| b == first as u8 || b == b' ')
        }
        _ => false,
    }
}

fn is_note(line: &str) -> bool {
    ["NOTE", "IMPORTANT", "WARNING"].iter().any(|w| {
        line.strip_prefix(w).is_some_and(|r| r.starts_with(':'))
            || line
                .strip_prefix('(')
                .and_then(|r| r.strip_prefix(w))
                .is_some_and(|r| r.starts_with(')'))
    })
}

fn is_header(line: &str) -> bool {
    let eq = line.bytes().take_while(|&b| b == b'=').count();
    let hash = line.bytes().take_while(|&b| b == b'#').count();
    (1..=5).contains(&eq) || (2..=5).contains(&hash) || line.starts_with("# ")
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// A bare code option line (`lang=text`, `name=x.txt`, `counterexample`), which the bot
/// reads as the start of a code block.
fn is_option_line(trimmed: &str) -> bool {
    starts_with_ignore_case(trimmed, "lang=")
        || starts_with_ignore_case(trimmed, "name=")
        || starts_with_ignore_case(trimmed, "lines=")
        || starts_with_ignore_case(trimmed, "counterexample")
}

/// `^[a-z]+\s*(\(…\))?\s*\{\{\{`: an interpreter block (`cowsay{{{`, `figlet(font=x){{{`).
fn is_interpreter_start(line: &str) -> bool {
    let name = line.bytes().take_while(u8::is_ascii_alphabetic).count();
    if name == 0 {
        return false;
    }
    let mut rest = line[name..].trim_start();
    if let Some(r) = rest.strip_prefix('(') {
        match r.find(')') {
            Some(p) => rest = r[p + 1..].trim_start(),
            None => return false,
        }
    }
    rest.starts_with("{{{")
}

/// How many `>` start a (trimmed) quoted line, spaces between them allowed.
pub(crate) fn quote_depth(trimmed: &str) -> u32 {
    let mut depth = 0u32;
    for b in trimmed.bytes() {
        match b {
            b'>' => depth = depth.saturating_add(1),
            b' ' | b'\t' => {}
            _ => break,
        }
    }
    depth
}

/// The content of a fence opening line after its backticks, when it holds text rather than
/// options (```` ```lang=text ````, ```` ```php ````).
fn fence_content(rest: &str) -> Option<&str> {
    let body = rest.trim();
    if body.is_empty() || is_option_line(body) || !body.contains(char::is_whitespace) {
        None
    } else {
        Some(body)
    }
}

fn push<'a>(out: &mut Vec<Line<'a>>, text: &'a str, start: usize, kind: Kind, block: usize) {
    out.push(Line {
        text,
        start,
        kind,
        block,
    });
}

/// A block that opens on a line on its own (literal `%%%`, indented code, a `lang=` options
/// line, an interpreter `name{{{`, a note, an HTML `<table>`): the state after the line (none
/// when the block closes on it) and the line's kind. The other openers are read in [`lines`].
fn opener(line: &str, trimmed: &str, lead: usize) -> Option<(State, Kind)> {
    let t = trimmed.trim_end();
    let (open, closed, kind) = if trimmed.starts_with("%%%") {
        let one_line = t.len() > 3 && t[3..].ends_with("%%%") && t != "%%%";
        (State::Literal, one_line, Kind::Literal)
    } else if lead >= 2 {
        (State::Indented, false, Kind::Code)
    } else if is_option_line(trimmed) {
        (State::LangBlock, false, Kind::Fence)
    } else if is_interpreter_start(trimmed) {
        (State::Interpreter, t.ends_with("}}}"), Kind::Code)
    } else if is_note(line) {
        (State::Note, false, Kind::Note)
    } else if starts_with_ignore_case(trimmed, "<table>") {
        (
            State::HtmlTable,
            ends_with_ignore_case(t, "</table>"),
            Kind::Table,
        )
    } else {
        return None;
    };
    Some((if closed { State::None } else { open }, kind))
}

/// Splits a text into lines with the kinds of their blocks (see the module doc). Lines are
/// split at `\n`; a trailing `\r` is not part of a line.
pub fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out: Vec<Line<'_>> =
        Vec::with_capacity(text.bytes().filter(|&b| b == b'\n').count() + 1);
    let raw: Vec<(usize, &str)> = {
        let mut v = Vec::with_capacity(out.capacity());
        let mut start = 0;
        for l in text.split('\n') {
            v.push((start, l.strip_suffix('\r').unwrap_or(l)));
            start += l.len() + 1;
        }
        v
    };
    let mut state = State::None;
    let mut block = 0usize;
    let mut i = 0;
    while i < raw.len() {
        let (start, line) = raw[i];
        let trimmed = line.trim_start();
        let lead = line.len() - trimmed.len();
        let blank = trimmed.is_empty();
        // Continue a multi-line block.
        match state {
            State::Fence => {
                let t = line.trim_end();
                if let Some(before) = t.strip_suffix("```") {
                    state = State::None;
                    if before.trim().is_empty() {
                        push(&mut out, line, start, Kind::Fence, block);
                    } else {
                        push(&mut out, before, start, Kind::Code, block);
                    }
                } else {
                    push(&mut out, line, start, Kind::Code, block);
                }
                i += 1;
                continue;
            }
            State::Indented => {
                if blank || leading_ws(line) >= 2 {
                    let kind = if blank { Kind::Prose } else { Kind::Code };
                    push(&mut out, line, start, kind, block);
                    i += 1;
                    continue;
                }
                state = State::None;
            }
            State::LangBlock => {
                if !blank {
                    push(&mut out, line, start, Kind::Code, block);
                    i += 1;
                    continue;
                }
                state = State::None;
            }
            State::Literal => {
                if line.trim_end().ends_with("%%%") {
                    state = State::None;
                }
                push(&mut out, line, start, Kind::Literal, block);
                i += 1;
                continue;
            }
            State::HtmlTable => {
                let t = line.trim_end();
                if ends_with_ignore_case(t, "</table>") {
                    state = State::None;
                }
                push(&mut out, line, start, Kind::Table, block);
                i += 1;
                continue;
            }
            State::Interpreter => {
                if line.trim_end().ends_with("}}}") {
                    state = State::None;
                }
                push(&mut out, line, start, Kind::Code, block);
                i += 1;
                continue;
            }
            State::Note => {
                if !blank && !trimmed.starts_with('>') && !trimmed.starts_with("```") {
                    push(&mut out, line, start, Kind::Note, block);
                    i += 1;
                    continue;
                }
                state = State::None;
            }
            State::List => {
                let indented = line.starts_with(' ') && !blank;
                let next_indented = raw
                    .get(i + 1)
                    .is_some_and(|(_, n)| n.starts_with(' ') && !n.trim().is_empty());
                let quote_item = is_list_item(line, false) && list_content(line).starts_with('>');
                if trimmed.starts_with('>') || trimmed.starts_with("```") || quote_item {
                    state = State::None;
                } else if is_list_item(line, false) {
                    block += 1;
                    push(&mut out, line, start, Kind::ListItem, block);
                    i += 1;
                    continue;
                } else if indented || (blank && next_indented) {
                    push(&mut out, line, start, Kind::ListItem, block);
                    i += 1;
                    continue;
                } else {
                    state = State::None;
                }
            }
            State::Quote => {
                if !trimmed.starts_with('>') {
                    state = State::None;
                }
            }
            State::Paragraph | State::None => {}
        }

        // A block (or paragraph line) starts here.
        if blank {
            block += 1;
            state = State::None;
            push(&mut out, line, start, Kind::Prose, block);
            i += 1;
            continue;
        }
        if trimmed.starts_with('>') {
            if state != State::Quote {
                block += 1;
            }
            state = State::Quote;
            let depth = quote_depth(trimmed).max(1);
            push(&mut out, line, start, Kind::Quote { depth }, block);
            i += 1;
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("```") {
            block += 1;
            let rest_trimmed = rest.trim_end();
            if rest_trimmed.len() >= 3 && rest_trimmed.ends_with("```") {
                // One line: ```text```
                let inner = &rest_trimmed[..rest_trimmed.len() - 3];
                state = State::None;
                if inner.trim().is_empty() {
                    push(&mut out, line, start, Kind::Fence, block);
                } else {
                    let body = inner.trim_start();
                    let off = start + lead + 3 + (inner.len() - body.len());
                    push(&mut out, body, off, Kind::Code, block);
                }
            } else {
                state = State::Fence;
                match fence_content(rest) {
                    Some(body) => {
                        let off = start + lead + 3 + (rest.len() - rest.trim_start().len());
                        push(&mut out, body, off, Kind::Code, block);
                    }
                    None => push(&mut out, line, start, Kind::Fence, block),
                }
            }
            i += 1;
            continue;
        }
        if is_horizontal_rule(trimmed) {
            block += 1;
            state = State::None;
            push(&mut out, line, start, Kind::Rule, block);
            block += 1;
            i += 1;
            continue;
        }
        if is_list_item(line, true) {
            block += 1;
            if list_content(line).starts_with('>') {
                // "- > Approved.": a list item that shows a quote is a quote.
                state = State::Quote;
                let depth = quote_depth(list_content(line)).max(1);
                push(&mut out, line, start, Kind::Quote { depth }, block);
                i += 1;
                continue;
            }
            state = State::List;
            let kind = if line.starts_with('#') {
                Kind::Header
            } else {
                Kind::ListItem
            };
            push(&mut out, line, start, kind, block);
            i += 1;
            continue;
        }
        if let Some((next, kind)) = opener(line, trimmed, lead) {
            block += 1;
            state = next;
            push(&mut out, line, start, kind, block);
            i += 1;
            continue;
        }
        if trimmed.starts_with('|') {
            if !matches!(out.last(), Some(l) if l.kind == Kind::Table) {
                block += 1;
            }
            state = State::None;
            push(&mut out, line, start, Kind::Table, block);
            i += 1;
            continue;
        }
        if is_header(line) {
            block += 1;
            state = State::None;
            push(&mut out, line, start, Kind::Header, block);
            block += 1;
            i += 1;
            continue;
        }
        if state != State::Paragraph {
            block += 1;
        }
        state = State::Paragraph;
        push(&mut out, line, start, Kind::Prose, block);
        i += 1;
    }
    out
}

/// An inline span of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inline {
    /// Inline code: `` `…` `` or `##…##`.
    Code,
    /// A double-quoted span: `"…"` (quote look-alikes are folded by `normalize`).
    Quoted,
    /// Struck-through text: `~~…~~`.
    Struck,
}

/// The inline spans of one line, in order, each with its delimiters. An unclosed backtick,
/// double quote or `~~` runs to the end of the line; an unclosed `##` runs on into the next
/// lines of the same block (`hash_open` carries that state from line to line: start each
/// block with `false`).
pub(crate) fn inline_spans(line: &str, hash_open: &mut bool) -> Vec<(Range<usize>, Inline)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    if *hash_open {
        match find(b, 0, b"##") {
            Some(p) => {
                out.push((0..p + 2, Inline::Code));
                i = p + 2;
                *hash_open = false;
            }
            None => {
                out.push((0..b.len(), Inline::Code));
                return out;
            }
        }
    }
    while i < b.len() {
        let (close, kind): (&[u8], Inline) = match b[i] {
            b'`' => {
                if b[i..].starts_with(b"```") {
                    (b"```", Inline::Code)
                } else if b.get(i + 1) == Some(&b'`') {
                    // An empty span (``) is no code.
                    i += 2;
                    continue;
                } else {
                    (b"`", Inline::Code)
                }
            }
            b'#' if b.get(i + 1) == Some(&b'#') => (b"##", Inline::Code),
            b'"' => (b"\"", Inline::Quoted),
            b'~' if b.get(i + 1) == Some(&b'~') => (b"~~", Inline::Struck),
            _ => {
                i += 1;
                continue;
            }
        };
        let from = i + close.len();
        match find(b, from, close) {
            Some(p) => {
                out.push((i..p + close.len(), kind));
                i = p + close.len();
            }
            None => {
                if close == b"##" {
                    *hash_open = true;
                }
                out.push((i..b.len(), kind));
                return out;
            }
        }
    }
    out
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The inside of an inline span (without its delimiters).
pub(crate) fn span_content(line: &str, span: Range<usize>, kind: Inline) -> &str {
    let s = &line[span];
    let d = match kind {
        Inline::Code if s.starts_with("```") => 3,
        Inline::Code if s.starts_with("##") => 2,
        Inline::Code | Inline::Quoted => 1,
        Inline::Struck => 2,
    };
    let inner = s.get(d.min(s.len())..).unwrap_or("");
    let closing = match kind {
        Inline::Code if s.starts_with("```") => "```",
        Inline::Code if s.starts_with("##") => "##",
        Inline::Code => "`",
        Inline::Quoted => "\"",
        Inline::Struck => "~~",
    };
    if inner.len() >= closing.len() && inner.ends_with(closing) {
        &inner[..inner.len() - closing.len()]
    } else {
        inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(String, Kind)> {
        lines(text)
            .into_iter()
            .map(|l| (l.text.to_string(), l.kind))
            .collect()
    }

    #[test]
    fn normalisation_folds_look_alikes_and_maps_back() {
        let s = "n\u{200B}ot \u{201C}approved\u{201D} \u{2014} don\u{2019}t ＡＢ";
        let n = normalize(s);
        assert_eq!(n.text(), "not \"approved\" - don't AB");
        assert_eq!(
            n.altered().len(),
            3,
            "zero-width inside a word, two fullwidth letters"
        );
        let at = n.text().find("AB").unwrap();
        let r = n.original_range(at..at + 2);
        assert_eq!(&s[r], "ＡＢ");
        let r = n.original_range(0..3);
        assert_eq!(&s[r], "n\u{200B}ot");
        assert!(!n.had_bidi());
        assert!(normalize("a\u{202E}b").had_bidi());
        assert_eq!(normalize("caf\u{0065}\u{0301}").text(), "café");
        assert_eq!(normalize("x\u{00A0}y\u{2028}z").text(), "x y\nz");
        assert_eq!(normalize("1\u{2033}").text(), "1\"");
        assert_eq!(normalize("👍\u{FE0F}").altered(), &[] as &[usize]);
    }

    #[test]
    fn plain_ascii_is_kept_as_it_is() {
        let n = normalize("Full name: Jane\r\n");
        assert_eq!(n.text(), "Full name: Jane\r\n");
        assert_eq!(n.original_range(11..15), 11..15);
    }

    #[test]
    fn blocks_follow_phorge_rules() {
        let k = kinds("Hello\n> quoted\n>> deeper\n>>! In T1, @x wrote:\nplain\n  indented\n\n```\ncode\n```\n%%%lit\nstill%%%\n| a | b |\nNOTE: note\n\n- item\n  more\n= H =\nlang=text\nx\n\nend");
        let want = [
            ("Hello", Kind::Prose),
            ("> quoted", Kind::Quote { depth: 1 }),
            (">> deeper", Kind::Quote { depth: 2 }),
            (">>! In T1, @x wrote:", Kind::Quote { depth: 2 }),
            ("plain", Kind::Prose),
            ("  indented", Kind::Code),
            ("", Kind::Prose),
            ("```", Kind::Fence),
            ("code", Kind::Code),
            ("```", Kind::Fence),
            ("%%%lit", Kind::Literal),
            ("still%%%", Kind::Literal),
            ("| a | b |", Kind::Table),
            ("NOTE: note", Kind::Note),
            ("", Kind::Prose),
            ("- item", Kind::ListItem),
            ("  more", Kind::ListItem),
            ("= H =", Kind::Header),
            ("lang=text", Kind::Fence),
            ("x", Kind::Code),
            ("", Kind::Prose),
            ("end", Kind::Prose),
        ];
        let got: Vec<(&str, Kind)> = k.iter().map(|(t, k)| (t.as_str(), *k)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn fail_closed_overrides() {
        // A '>' line in a list or indented is a quote; an unterminated fence runs to the end.
        assert_eq!(kinds("- a\n  > Approved.")[1].1, Kind::Quote { depth: 1 });
        assert_eq!(kinds("   > Approved.")[0].1, Kind::Quote { depth: 1 });
        let k = kinds("```\nApproved.\n\nstill code");
        assert!(k[1..]
            .iter()
            .all(|(_, k)| *k == Kind::Code || *k == Kind::Fence));
        // Phorge closes a fence at any line ending in ```.
        let k = kinds("```\nkey```\nafter");
        assert_eq!(k[1], ("key".into(), Kind::Code));
        assert_eq!(k[2].1, Kind::Prose);
        // One-line blocks and content on the fence line.
        assert_eq!(
            kinds("```ssh-ed25519 AAAA x```")[0],
            ("ssh-ed25519 AAAA x".into(), Kind::Code)
        );
        assert_eq!(
            kinds("```ssh-ed25519 AAAA x\n```")[0],
            ("ssh-ed25519 AAAA x".into(), Kind::Code)
        );
        assert_eq!(kinds("cowsay{{{\nApproved\n}}}")[1].1, Kind::Code);
    }

    #[test]
    fn paragraphs_and_items_are_blocks() {
        let l = lines("a\nb\n\nc\n- d\n- e");
        let blocks: Vec<usize> = l.iter().map(|l| l.block).collect();
        assert_eq!(blocks[0], blocks[1]);
        assert_ne!(blocks[1], blocks[3]);
        assert_ne!(blocks[4], blocks[5]);
    }

    #[test]
    fn inline_spans_are_found() {
        let mut open = false;
        let line = "a `code` \"q\" ~~s~~ ##h## `open";
        let spans = inline_spans(line, &mut open);
        let got: Vec<(&str, Inline)> = spans
            .iter()
            .map(|(r, k)| (span_content(line, r.clone(), *k), *k))
            .collect();
        assert_eq!(
            got,
            [
                ("code", Inline::Code),
                ("q", Inline::Quoted),
                ("s", Inline::Struck),
                ("h", Inline::Code),
                ("open", Inline::Code)
            ]
        );
        let mut open = false;
        let _ = inline_spans("x ##start", &mut open);
        assert!(open);
        let spans = inline_spans("inside## out", &mut open);
        assert_eq!(spans[0].0, 0..8);
        assert!(!open);
    }

    #[test]
    fn deep_quotes_are_one_line_each() {
        let text = format!("{} x\n", ">".repeat(10_000));
        let l = lines(&text);
        assert_eq!(l[0].kind, Kind::Quote { depth: 10_000 });
    }

    proptest::proptest! {
        #[test]
        fn remarkup_heavy_text_never_panics(
            text in "(```|%%%|</table>|<table>|>>!|>|##|`|\"|~~|\u{e9}|\u{fc}|\u{200b}|\u{202e}|\n|  | |\t|- |\\[ \\] |NOTE: |lang=text|cowsay\\{\\{\\{|\\}\\}\\}|\\| |= |x|\u{ff21})*",
        ) {
            let n = normalize(&text);
            for l in lines(n.text()) {
                let r = n.original_range(l.start..l.start + l.text.len());
                proptest::prop_assert!(text.get(r).is_some());
                let mut open = false;
                for (span, kind) in inline_spans(l.text, &mut open) {
                    let _ = span_content(l.text, span, kind);
                }
            }
        }

        #[test]
        fn never_panics_and_maps_inside(text in "(?s).{0,300}") {
            let n = normalize(&text);
            for l in lines(n.text()) {
                let r = n.original_range(l.start..l.start + l.text.len());
                proptest::prop_assert!(text.get(r).is_some());
                let mut open = false;
                for (span, kind) in inline_spans(l.text, &mut open) {
                    let _ = span_content(l.text, span, kind);
                }
            }
        }
    }
}
