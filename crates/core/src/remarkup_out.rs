//! Writing text that may hold requester words into what the bot posts or prints, inert:
//! [`inert`] for remarkup (checklist comments; [`inert_except`] keeps the bot's own values and
//! references in a message copyable and live), [`markdown_cell`] and `wikitext_cell` for the
//! agenda exports, [`plain`] for terminal views. (Reading remarkup is `crate::remarkup`'s job.)
//!
//! [`inert`] follows Phorge's own rules (`PhabricatorObjectRemarkupRule` and its subclasses,
//! the `Phutil*RemarkupRule` inline rules and the block rules of `PhabricatorMarkupEngine`):
//! every construct that links, mentions, embeds or formats is broken at a point its pattern
//! needs, with a zero-width space (U+200B) where that suffices and a look-alike character
//! where no invisible break can defeat the pattern (`#` of a hashtag, backticks). The table
//! of rules it is tested against is `tests/remarkup_rules.rs`.
//!
//! Word boundaries: Phorge's object rules use PHP's `/u`, under which PCRE's `\b` and `\w` are
//! Unicode-aware, while its other rules (mentions, links, markup) work on bytes with ASCII
//! `\w`. An inserted U+200B is a non-word character under both, so it never hides a
//! boundary, but it can create one. So every decision here is taken on ASCII word
//! boundaries, which are a superset of the Unicode ones for the ASCII prefixes involved
//! ("éT1" is broken although only ASCII `\b` would link it), and the breaks are made in an
//! order in which no break makes a new live word: hashtags and mentions first, then
//! repository callsigns (`rXYZ`), then monograms (`T1`, `R2`), then the hexadecimal words a
//! commit reference could be made of.

use std::sync::OnceLock;

use regex::Regex;

/// Zero-width space: breaks mentions, embeds and links without changing what a reader sees.
pub const ZWSP: char = '\u{200B}';
/// Shown for `#`: no invisible break stops `#name` from naming a project (a project's name
/// may itself begin with an invisible character), a full-width number sign does.
pub const HASH: char = '\u{FF03}';
/// Shown for a backtick: two backticks on a line are monospace whatever stands between them.
pub const BACKTICK: char = '\u{02CB}';
/// Longest text of one message, in bytes, before it is cut with `…`.
pub const MAX_MESSAGE: usize = 400;
/// Words of only hexadecimal digits this long or longer can be commit references
/// (`PhabricatorRepository::MINIMUM_UNQUALIFIED_HASH`); they are cut into groups of
/// [`HEX_GROUP`].
const MIN_HASH: usize = 7;
const HEX_GROUP: usize = 4;

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Makes text inert in remarkup: one line, no `@mention`, `{F1}` embed, `T1`/`P1`/`rXYZ`/commit
/// object link, `#project` link, URL, `[[link]]`, `((short link))`, `{icon}`-style rule, emoji,
/// markup (bold, italics, underline, strikethrough, highlight, monospace, literals) nor any
/// block (header, list, checkbox, quote, table, note, code, rule) even at the start of a line,
/// and no bidi control. A reader sees the same words; `#` and backticks are shown as look-alikes
/// ([`HASH`], [`BACKTICK`]). At most [`MAX_MESSAGE`] bytes of the input are kept.
pub fn inert(text: &str) -> String {
    let line = one_line(text);
    let marked = break_markup(&line);
    let callsigns = break_at_word_starts(&marked, |c, next| c == 'r' && next.is_ascii_uppercase());
    let monograms = break_at_word_starts(&callsigns, |c, next| {
        c.is_ascii_uppercase() && next.is_ascii_digit()
    });
    let hashes = break_hex_words(&monograms);
    if starts_a_block(&hashes) {
        let mut out = String::with_capacity(hashes.len() + ZWSP.len_utf8());
        out.push(ZWSP);
        out.push_str(&hashes);
        out
    } else {
        hashes
    }
}

/// [`inert`], except the pieces of `text` that equal one of `own`, the bot's own values and
/// references, which are posted as they are so that they can be copied or followed: a value
/// in monospace (`` `SHA256:…` ``, `` `ssh-keygen -t ed25519` ``; Phorge's monospace rule runs
/// before every rule that links, mentions or formats and stores its text, so nothing inside
/// it is live and no break is needed) or a reference to a task or a comment (`T952`,
/// `T631#12`). A piece of any other shape ([`is_own_piece`]) is defused like
/// the rest, and so is one that follows a word character (neither monospace nor a reference
/// would start there). The text around the pieces is [`inert`], one stretch at a time; with
/// no piece the result is exactly [`inert`]`(text)`.
pub fn inert_except(text: &str, own: &[String]) -> String {
    let own: Vec<&str> = own
        .iter()
        .map(String::as_str)
        .filter(|p| is_own_piece(p))
        .collect();
    if own.is_empty() {
        return inert(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    loop {
        // The first piece in what is left; of two at the same place, the longer.
        let next = own
            .iter()
            .filter_map(|p| rest.find(p).map(|at| (at, *p)))
            .min_by_key(|(at, p)| (*at, std::cmp::Reverse(p.len())));
        let Some((at, piece)) = next else {
            push_inert_stretch(&mut out, rest);
            return out;
        };
        push_inert_stretch(&mut out, &rest[..at]);
        if out.chars().next_back().is_some_and(is_word) {
            out.push_str(&inert(piece));
        } else {
            out.push_str(piece);
        }
        rest = &rest[at + piece.len()..];
    }
}

/// Whether `piece` has a shape [`inert_except`] posts as it is: a backtick-quoted value of
/// ASCII letters, digits, spaces and `+/=:._-[]` (and `…`), or a task monogram `T<n>` or
/// `T<n>#<n>`.
pub fn is_own_piece(piece: &str) -> bool {
    if let Some(inner) = piece.strip_prefix('`').and_then(|p| p.strip_suffix('`')) {
        return !inner.trim().is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " +/=:._-[]…".contains(c));
    }
    let number =
        |s: &str| !s.is_empty() && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit());
    let Some(rest) = piece.strip_prefix('T') else {
        return false;
    };
    match rest.split_once('#') {
        Some((task, anchor)) => number(task) && number(anchor),
        None => number(rest),
    }
}

/// `stretch` through [`inert`], keeping one space where it began or ended with white space
/// (it sits between the bot's own pieces).
fn push_inert_stretch(out: &mut String, stretch: &str) {
    if stretch.is_empty() {
        return;
    }
    let safe = inert(stretch);
    if stretch.starts_with(char::is_whitespace) && !out.ends_with(' ') {
        out.push(' ');
    }
    out.push_str(&safe);
    if !safe.is_empty() && stretch.ends_with(char::is_whitespace) {
        out.push(' ');
    }
}

/// The text on one line, trimmed, whitespace and controls as single spaces, without bidi
/// controls (they would let requester text reorder what a reader sees around it) and without
/// the zero-width spaces it may already hold (only [`inert`] places them); cut after
/// [`MAX_MESSAGE`] bytes.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_MESSAGE * 2));
    let mut last_space = true;
    for c in text.chars() {
        if is_bidi_control(c) {
            continue;
        }
        if c.is_whitespace() || c.is_control() || c == ZWSP {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
        if out.len() > MAX_MESSAGE {
            out.push('…');
            break;
        }
    }
    let kept = out.trim_end().len();
    out.truncate(kept);
    out
}

/// Breaks the character-level constructs: after `@`, `{`, `[`, `]`, `<`, `>`, `|` and `\`
/// (mentions, embeds and `{rules}`, links, tables), between two of `*/_~!%=$^()` (bold,
/// italics and `://`, underline, strikethrough, highlight, `%%%` literals, `((short links))`),
/// after a `:` that could open an emoji (`:name:` after a non-word character), and replaces
/// `#` and backticks by look-alikes.
fn break_markup(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut prev: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => out.push(HASH),
            '`' => out.push(BACKTICK),
            '@' | '{' | '[' | ']' | '<' | '>' | '|' | '\\' => {
                out.push(c);
                out.push(ZWSP);
            }
            '*' | '/' | '_' | '~' | '!' | '%' | '=' | '$' | '^' | '(' | ')' if prev == Some(c) => {
                out.push(ZWSP);
                out.push(c);
            }
            ':' if !prev.is_some_and(is_word)
                && chars.peek().is_some_and(|n| !n.is_whitespace()) =>
            {
                out.push(c);
                out.push(ZWSP);
            }
            _ => out.push(c),
        }
        prev = Some(c);
    }
    out
}

/// Inserts [`ZWSP`] between the first two characters of every ASCII word for which `hit`
/// holds (an ASCII word starts after a character that is not `[A-Za-z0-9_]`).
fn break_at_word_starts(text: &str, hit: impl Fn(char, char) -> bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        let at_start = !prev.is_some_and(is_word);
        if at_start && chars.peek().is_some_and(|n| hit(c, *n)) {
            out.push(ZWSP);
        }
        prev = Some(c);
    }
    out
}

/// Cuts every ASCII word made only of `[0-9a-f]` and at least [`MIN_HASH`] long (which
/// Diffusion would link as a commit) into groups of [`HEX_GROUP`].
fn break_hex_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while !rest.is_empty() {
        let word_len = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
        if word_len == 0 {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let (word, tail) = rest.split_at(word_len);
        let hex = word
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hex && word.len() >= MIN_HASH {
            for (i, group) in word.as_bytes().chunks(HEX_GROUP).enumerate() {
                if i > 0 {
                    out.push(ZWSP);
                }
                out.push_str(std::str::from_utf8(group).expect("ASCII"));
            }
        } else {
            out.push_str(word);
        }
        rest = tail;
    }
    out
}

/// Whether a line beginning with `text` would be a remarkup block other than a paragraph:
/// quote, `%%%` literal, header, horizontal rule, list or checkbox, code, note, table.
fn starts_a_block(text: &str) -> bool {
    static BLOCK: OnceLock<Regex> = OnceLock::new();
    let re = BLOCK.get_or_init(|| {
        Regex::new(concat!(
            r"^(?:>",
            r"|\s*%%%",
            r"|={1,5}|#{2,5}|# ",
            r"|\s*(?:_{3,}|\*\s?\*\s?\*(?:\s|\*)*|-\s?-\s?-(?:\s|-)*)$",
            r"|\s*(?:[-*#]+|[0-9]+[.)]|\[[^0-9]?\])\s",
            r"|\s*```|\s{2,}\S",
            r"|\((?:NOTE|IMPORTANT|WARNING)\)|(?:NOTE|IMPORTANT|WARNING):",
            r"|(?i:\s*<table>)|\s*\|",
            r")",
        ))
        .expect("static regex")
    });
    re.is_match(text)
}

/// A value for a cell of the Markdown agenda: [`inert`] (the agenda may be pasted into a
/// Phorge wiki), then every character that starts inline Markdown escaped with a backslash,
/// and `www.` broken (GitHub-flavoured Markdown links it bare). `|` is left to the table
/// writer, which escapes it.
pub fn markdown_cell(text: &str) -> String {
    let safe = inert(text);
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '~' | '!' | '&' | '(' | ')'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    break_www(&out)
}

/// A value for a cell of the wikitext agenda: [`inert`], then the characters MediaWiki gives a
/// meaning inside a line (links, templates, bold and italics, tags and entities, signatures,
/// `__MAGIC__` words) written as character references. `|` is left to the table writer.
pub(crate) fn wikitext_cell(text: &str) -> String {
    let safe = inert(text);
    let mut out = String::with_capacity(safe.len() + 16);
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            '\'' => out.push_str("&#39;"),
            '~' => out.push_str("&#126;"),
            '_' => out.push_str("&#95;"),
            _ => out.push(c),
        }
    }
    break_www(&out)
}

/// `www.` (any case) with a [`ZWSP`] before its dot.
fn break_www(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('.') {
        let (head, tail) = rest.split_at(i);
        out.push_str(head);
        if head.len() >= 3 && head.as_bytes()[head.len() - 3..].eq_ignore_ascii_case(b"www") {
            out.push(ZWSP);
        }
        out.push('.');
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// Text for a terminal: no control character (escape sequences could rewrite the screen)
/// other than a newline, and no bidi control; tabs become spaces.
pub fn plain(text: &str) -> String {
    text.chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| match c {
            '\n' => '\n',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The visible text: without [`ZWSP`], look-alikes back to what they stand for.
    fn visible(s: &str) -> String {
        s.chars()
            .filter(|c| *c != ZWSP)
            .map(|c| match c {
                HASH => '#',
                BACKTICK => '`',
                c => c,
            })
            .collect()
    }

    #[test]
    fn inert_text_cannot_ping_embed_link_or_format() {
        let hostile = "@admin {F1} {P12} T123 P1 see https://evil.example/x **bold** //it// [[link]] `x` %%%lit%%% = H\n- [x] ready #sre <b> |a|";
        let s = inert(hostile);
        for bad in [
            "@admin", "{F1}", "{P12}", "T123", "P1 ", "https://", "**", "//", "[[", "`x`", "%%%",
            "[x]", "#sre", "<b>", "|a|", "\n",
        ] {
            assert!(!s.contains(bad), "{bad:?} survived in {s:?}");
        }
        // The words are still there for a human reader.
        assert_eq!(visible(&s), hostile.replace('\n', " "));
    }

    #[test]
    fn breaks_go_where_the_patterns_need_them() {
        for (input, want) in [
            ("T1", "T\u{200B}1"),
            ("éT1", "éT\u{200B}1"),
            ("xT1", "xT1"),
            ("_T1", "_T1"),
            ("-T1", "-T\u{200B}1"),
            ("rMW", "r\u{200B}MW"),
            ("rMWa1b2c3", "r\u{200B}MWa1b2c3"),
            ("rX1", "r\u{200B}X\u{200B}1"),
            ("R12:abcdef0", "R\u{200B}12:abcd\u{200B}ef0"),
            ("T1234567", "T\u{200B}1234\u{200B}567"),
            ("deadbeef", "dead\u{200B}beef"),
            ("deadbee", "dead\u{200B}bee"),
            ("deadbe", "deadbe"),
            ("Deadbeef", "Deadbeef"),
            ("2026-11-05 10:00", "2026-11-05 10:00"),
            ("(:smile:)", "(:\u{200B}smile:)"),
            ("a:b", "a:b"),
            ("((x))", "(\u{200B}(x)\u{200B})"),
            ("#sre", "\u{FF03}sre"),
            ("`x`", "\u{02CB}x\u{02CB}"),
            ("- x", "\u{200B}- x"),
            ("1. x", "\u{200B}1. x"),
            ("NOTE: x", "\u{200B}NOTE: x"),
            ("> x", "\u{200B}>\u{200B} x"),
            ("= H =", "\u{200B}= H ="),
            ("2 keys", "2 keys"),
            ("  x ", "x"),
        ] {
            assert_eq!(inert(input), want, "{input:?}");
        }
    }

    #[test]
    fn the_bots_own_pieces_stay_copyable_and_live_while_the_rest_is_inert() {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let text = "@x signed `L3`; `ssh-ed25519`, `SHA256:+aFwrA0D/x=` (see `subject`) on 2026-11-03 (T631#12), T952 and P51; T1 ed25519 rA0D";
        let pieces = own(&[
            "`L3`",
            "`ssh-ed25519`",
            "`SHA256:+aFwrA0D/x=`",
            "`subject`",
            "T631#12",
            "T952",
        ]);
        assert_eq!(
            inert_except(text, &pieces),
            "@\u{200B}x signed `L3`; `ssh-ed25519`, `SHA256:+aFwrA0D/x=` (see `subject`) on 2026-11-03 (T631#12), T952 and P\u{200B}51; T\u{200B}1 ed25\u{200B}519 r\u{200B}A\u{200B}0D"
        );
        // Without pieces, or with pieces of no allowed shape, it is `inert` exactly.
        assert_eq!(inert_except(text, &[]), inert(text));
        let refused = own(&[
            "@x", "`a`b`", "`a b@c`", "`**x**`", "T01", "T1#", "P", "``", "rA0D",
        ]);
        for p in &refused {
            assert!(!is_own_piece(p), "{p:?}");
        }
        assert_eq!(inert_except(text, &refused), inert(text));
        // Right after a word character neither monospace nor a link would start: defused.
        let after_word = inert_except("xT5#3 y`L3`", &own(&["T5#3", "`L3`"]));
        assert_eq!(visible(&after_word), "xT5#3 y`L3`");
        assert!(
            !after_word.contains("T5#3") && !after_word.contains('`'),
            "{after_word:?}"
        );
    }

    #[test]
    fn inert_is_bounded_and_one_line() {
        let long = "a\u{202E}b\n".repeat(1_000);
        let s = inert(&long);
        assert!(s.len() <= MAX_MESSAGE + 8, "{}", s.len());
        assert!(s.ends_with('…'));
        assert!(!s.contains('\n') && !s.contains('\u{202E}'));
        assert_eq!(inert(""), "");
        // Zero-width spaces in the input are the requester's, not breaks: they become spaces.
        assert_eq!(inert("T\u{200B}1"), "T 1");
    }

    #[test]
    fn agenda_cells_and_terminal_text() {
        assert_eq!(markdown_cell("a_b*c"), "a\\_b\\*c");
        assert_eq!(
            markdown_cell("www.evil.example"),
            "www\u{200B}.evil.example"
        );
        assert_eq!(markdown_cell("[x](y)"), "\\[\u{200B}x\\]\u{200B}\\(y\\)");
        assert_eq!(
            wikitext_cell("__NOTOC__"),
            "&#95;\u{200B}&#95;NOTOC&#95;\u{200B}&#95;"
        );
        assert_eq!(wikitext_cell("'''b''' [[x]] {{t}} <s>"), "&#39;&#39;&#39;b&#39;&#39;&#39; &#91;\u{200B}&#91;\u{200B}x&#93;\u{200B}&#93;\u{200B} &#123;\u{200B}&#123;\u{200B}t&#125;&#125; &lt;\u{200B}s&gt;\u{200B}");
        assert_eq!(plain("a\u{1b}[2Jb\tc\u{202E}d\ne"), "a [2Jb cd\ne");
    }
}
