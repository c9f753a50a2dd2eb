//! The public key line exactly as the requester wrote it (pure, no I/O).
//!
//! The request parser and the key judge read a key through its tokens and drop the markup
//! around them (quotes, `*`, backticks, table pipes), which also strips those characters from
//! the key's comment. [`exact_key_line`] finds the judged key again in the raw text it came
//! from (the description's remarkup, the comment, the paste) and returns `type base64 comment`
//! with the comment as written there: any character, inner spacing and tabs included. Only
//! markup that visibly wraps the whole key (`` `…` ``, `**…**`, a table cell) is left out,
//! and a second key on the same line is never part of the comment. The key itself is proven
//! to be the judged one: the returned line has the judged key's fingerprint.

use crate::keys;

/// Remarkup and quoting characters that may wrap a key on a text line.
const MARKUP: &[char] = &['`', '*', '"', '\'', '|'];

/// The public key line of `judged` (the key text that was judged: `type base64 [comment]`,
/// possibly normalised) as it is written in `source`, or `None` when `source` does not hold
/// that key outside a quote.
pub fn exact_key_line(source: &str, judged: &str) -> Option<String> {
    let want = keys::fingerprint(judged)?;
    let lines = split_lines(source);
    for (li, line) in lines.iter().enumerate() {
        if is_quote(line) {
            continue;
        }
        for (at, tok) in tokens(line) {
            let core = tok.trim_matches(MARKUP);
            if !keys::looks_like_key_type(core) {
                continue;
            }
            let opener = &tok[..tok.len() - tok.trim_start_matches(MARKUP).len()];
            let Some((blob, end_line, end)) = blob_after(&lines, li, at + tok.len()) else {
                continue;
            };
            let mut comment = clean(&lines[end_line][end..], lines[end_line], opener);
            // A wrapped key's comment may stand alone on the line after its data (the parser
            // reads it there); it is taken only when it is the judged comment, word for word.
            if comment.is_empty() && end_line > li {
                let judged_words = comment_words(judged);
                if let Some(next) = lines.get(end_line + 1).filter(|l| !is_quote(l)) {
                    let candidate = clean(next, next, "");
                    if !judged_words.is_empty() && words(&candidate) == judged_words {
                        comment = candidate;
                    }
                }
            }
            let mut out = format!("{core} {blob}");
            if !comment.is_empty() {
                out.push(' ');
                out.push_str(&comment);
            }
            if keys::fingerprint(&out).as_ref() == Some(&want) {
                return Some(out);
            }
        }
    }
    None
}

/// The lines of a text without their line breaks (`\n` or `\r\n`).
fn split_lines(text: &str) -> Vec<&str> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

/// Whether a line is part of a remarkup quote (`> …`), where a key does not count.
fn is_quote(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// The whitespace-separated tokens of a line with their byte offsets.
fn tokens(line: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let rest = &line[pos..];
        let start = pos + (rest.len() - rest.trim_start().len());
        let tail = &line[start..];
        let len = tail.find(char::is_whitespace).unwrap_or(tail.len());
        pos = start + len;
        (len > 0).then(|| (start, &line[start..start + len]))
    })
}

/// Reads the base64 data after byte `from` of line `li`, across lines when the key is wrapped,
/// up to the end of a whole key blob. Returns the data, and the line and byte offset just
/// after it.
fn blob_after(lines: &[&str], li: usize, from: usize) -> Option<(String, usize, usize)> {
    let mut blob = String::new();
    for (l, line) in lines.iter().enumerate().skip(li) {
        if l > li && is_quote(line) {
            return None;
        }
        let start = if l == li { from.min(line.len()) } else { 0 };
        for (at, tok) in tokens(&line[start..]) {
            let lead = tok.len() - tok.trim_start_matches(MARKUP).len();
            let core = tok.trim_matches(MARKUP);
            if !keys::is_base64_token(core) || blob.len() > crate::request::MAX_KEY_BASE64 {
                return None;
            }
            blob.push_str(core);
            if keys::is_complete_blob(&blob) {
                return Some((blob, l, start + at + lead + core.len()));
            }
        }
    }
    None
}

/// The comment written after a key on `line`: trimmed, without the markup that wrapped the key
/// (`opener` before its type, closed after its comment), a table cell's closing pipe, or a
/// second key.
fn clean(rest: &str, line: &str, opener: &str) -> String {
    let mut c = rest.trim();
    if line.trim_start().starts_with('|') {
        if let Some(x) = c.strip_suffix('|') {
            c = x.trim_end();
        }
    }
    let closing: String = opener.chars().rev().collect();
    if !closing.is_empty() {
        if let Some(x) = c.strip_suffix(closing.as_str()) {
            c = x.trim_end();
        }
    }
    if let Some((at, _)) =
        tokens(c).find(|(_, t)| keys::looks_like_key_type(t.trim_matches(MARKUP)))
    {
        c = c[..at].trim_end();
    }
    c.to_string()
}

/// The words of a text without the markup around them, as the parser reads a comment.
fn words(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .map(|w| w.trim_matches(MARKUP))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The words of the judged key text's comment (after its type and whole blob).
fn comment_words(judged: &str) -> Vec<&str> {
    let all = words(judged);
    let Some(start) = all.iter().position(|t| keys::looks_like_key_type(t)) else {
        return Vec::new();
    };
    let mut blob = String::new();
    for (i, t) in all.iter().enumerate().skip(start + 1) {
        if !keys::is_base64_token(t) {
            return Vec::new();
        }
        blob.push_str(t);
        if keys::is_complete_blob(&blob) {
            return all[i + 1..].to_vec();
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE: &str = "ssh-ed25519";
    const BLOB: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIP93h0D4jdzxAq64Ha7iicBExKRXHEtvKHQA9LjguEP4";
    const OTHER: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIKMcBr1GPjkjvBqtveSLFpdsCAcXNzuBmgaPMrems4tr";

    fn key(comment: &str) -> String {
        if comment.is_empty() {
            format!("{TYPE} {BLOB}")
        } else {
            format!("{TYPE} {BLOB} {comment}")
        }
    }

    /// What the parser hands on: the words without markup, single-spaced.
    fn normalised(text: &str) -> String {
        words(text).join(" ")
    }

    #[test]
    fn the_comment_is_kept_as_written() {
        for comment in [
            "jdoe@laptop",
            "Jane's \"work\" *key*",
            "*star*",
            "tab\there  two  spaces",
            "#1: ünïcödé 李",
            "-lead & !bang %pct @at back\\slash",
            "'",
            "",
        ] {
            let line = key(comment);
            for source in [
                format!("**SSH public key**: {line}\n**Reason**: x"),
                format!("```\n{line}\n```"),
                format!("SSH key:\r\n{line}\r\nthanks"),
                format!("  - {line}"),
            ] {
                assert_eq!(
                    exact_key_line(&source, &normalised(&line)).as_deref(),
                    Some(line.as_str()),
                    "{source:?}"
                );
            }
        }
    }

    #[test]
    fn markup_around_the_whole_key_is_not_part_of_the_comment() {
        let cases = [
            (format!("`{}`", key("jdoe's laptop")), key("jdoe's laptop")),
            (format!("**{}**", key("a*b")), key("a*b")),
            (format!("\"{}\"", key("x")), key("x")),
            (format!("`{TYPE} {BLOB}`"), key("")),
            (format!("| key | {} |", key("a | b")), key("a | b")),
            (format!("| key | `{}` |", key("c")), key("c")),
            // A quote that only closes is the comment's own.
            (key("it's \"mine\""), key("it's \"mine\"")),
        ];
        for (source, want) in cases {
            assert_eq!(
                exact_key_line(&source, &normalised(&source)).as_deref(),
                Some(want.as_str()),
                "{source:?}"
            );
        }
    }

    #[test]
    fn the_judged_key_is_found_and_no_other() {
        let other = format!("{TYPE} {OTHER} other@host");
        let source = format!(
            "> {}\n{other}\nmine: {} me@laptop 'x' {other}",
            key("quoted"),
            key("")
        );
        assert_eq!(
            exact_key_line(&source, &key("me@laptop")).as_deref(),
            Some(key("me@laptop 'x'").as_str())
        );
        // Only in a quote, or not at all: no line.
        assert_eq!(exact_key_line(&format!("> {}", key("q")), &key("q")), None);
        assert_eq!(exact_key_line(&other, &key("")), None);
        // A judged text that is not a readable key gives nothing.
        assert_eq!(exact_key_line(&key("x"), "ssh-ed25519 AAAA x"), None);
    }

    #[test]
    fn wrapped_keys_are_unwrapped_and_keep_their_comment() {
        let (a, b) = BLOB.split_at(30);
        let source = format!("{TYPE} {a}\n{b} Jane's *key*\n");
        assert_eq!(
            exact_key_line(&source, &normalised(&source)).as_deref(),
            Some(key("Jane's *key*").as_str())
        );
        // The comment alone on the line after the data, as the parser reads it.
        let source = format!("{TYPE}\n{a}\n{b}\n'jdoe'@laptop\n");
        assert_eq!(
            exact_key_line(&source, &key("jdoe'@laptop")).as_deref(),
            Some(key("'jdoe'@laptop").as_str())
        );
        // A next line that is not the judged comment stays out.
        assert_eq!(
            exact_key_line(&source, &key("")).as_deref(),
            Some(key("").as_str())
        );
    }
}
