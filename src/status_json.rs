//! `status --json`'s writer: the stored reports pretty-printed straight from their text, with
//! the fields the view adds, without parsing each one into a `serde_json::Value` (issue 16
//! item 5: 10,000 reports are ~38 MB of output).
//!
//! The output is byte for byte what pretty-printing [`crate::report::status_json`] gives. A
//! report the bot stored is the compact text of a `Value` (keys sorted, serde_json's escapes,
//! integers), and for such a text re-indenting its bytes is exactly what parsing and
//! pretty-printing it would write. `Item` re-indents only a text in that form: a JSON object
//! whose every object has its keys strictly increasing without escapes, whose strings use
//! serde_json's own escapes, whose numbers are integers of at most 18 digits, with no
//! whitespace. Anything else (a float, a duplicated key, an escaped `/`, broken JSON, an old
//! or hand-edited report) is printed by the `Value` path itself, [`crate::report::status_item`].

use crate::view::TaskRow;
use chrono::{DateTime, Utc};
use std::io::Write;

/// Objects and arrays nested deeper than this are left to the `Value` path (serde_json's
/// parser refuses 128 levels; the checklists nest 3).
const MAX_DEPTH: usize = 64;

/// The `status --json` document, written to `out` one item at a time: `[`, the items, `]` and
/// a newline, as `serde_json::to_string_pretty` of the array plus a newline.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    items: usize,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Starts the document.
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"[")?;
        Ok(Writer {
            out,
            items: 0,
            buf: Vec::with_capacity(1 << 16),
        })
    }

    /// Writes the object of one row: `report_json` is its stored report, `evaluated_at` its
    /// evaluation time (both read apart from the row, see `Store::status_reports`).
    pub fn item(
        &mut self,
        row: &TaskRow,
        evaluated_at: Option<i64>,
        report_json: &str,
        now: DateTime<Utc>,
        link_base: Option<&str>,
    ) -> std::io::Result<()> {
        self.buf.clear();
        self.buf
            .extend_from_slice(if self.items == 0 { b"\n  " } else { b",\n  " });
        let start = self.buf.len();
        let added = crate::report::status_item(row, evaluated_at, "{}", now, link_base);
        if merge(report_json.as_bytes(), &added, &mut self.buf).is_none() {
            self.buf.truncate(start);
            let value = crate::report::status_item(row, evaluated_at, report_json, now, link_base);
            let text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
            // Raw newlines in pretty JSON are only its layout (strings escape theirs): one
            // level deeper, as an element of the array.
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    self.buf.extend_from_slice(b"\n  ");
                }
                self.buf.extend_from_slice(line.as_bytes());
            }
        }
        self.items += 1;
        self.out.write_all(&self.buf)
    }

    /// Ends the document and hands back the writer (not flushed).
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out
            .write_all(if self.items == 0 { b"]\n" } else { b"\n]\n" })?;
        Ok(self.out)
    }
}

/// The stored report with the fields of `added` (the view's fields of the row, as
/// `status_item` makes them over an empty report) merged in key order, pretty-printed at the
/// depth of an array element; `None` when the report is not in the re-indentable form. The
/// view's fields replace the report's, except `verdict`, which the report keeps.
fn merge(report: &[u8], added: &serde_json::Value, out: &mut Vec<u8>) -> Option<()> {
    let added = added.as_object()?;
    // Pretty-printing adds about half again (indentation, line breaks, spaces).
    out.reserve(report.len() + report.len() / 2 + 1024);
    let mut added_texts = Vec::with_capacity(added.len());
    for (k, v) in added {
        added_texts.push((k.as_str(), serde_json::to_string(v).ok()?));
    }
    let mut added = added_texts.into_iter().peekable();
    let mut p = Pretty { s: report, i: 0 };
    p.eat(b'{')?;
    out.push(b'{');
    let mut first = true;
    if p.peek()? == b'}' {
        p.i += 1;
    } else {
        let mut prev: Option<&[u8]> = None;
        loop {
            let key = p.key(prev)?;
            prev = Some(key);
            p.eat(b':')?;
            while let Some((k, v)) = added.next_if(|(k, _)| k.as_bytes() < key) {
                entry(out, k.as_bytes(), &mut first);
                Pretty {
                    s: v.as_bytes(),
                    i: 0,
                }
                .value(out, 2, 0)?;
            }
            match added.next_if(|(k, _)| k.as_bytes() == key) {
                Some(("verdict", _)) => {
                    entry(out, key, &mut first);
                    p.value(out, 2, 0)?;
                }
                Some((k, v)) => {
                    let mark = out.len();
                    p.value(out, 2, 0)?;
                    out.truncate(mark);
                    entry(out, k.as_bytes(), &mut first);
                    Pretty {
                        s: v.as_bytes(),
                        i: 0,
                    }
                    .value(out, 2, 0)?;
                }
                None => {
                    entry(out, key, &mut first);
                    p.value(out, 2, 0)?;
                }
            }
            match p.next()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
    }
    for (k, v) in added {
        entry(out, k.as_bytes(), &mut first);
        Pretty {
            s: v.as_bytes(),
            i: 0,
        }
        .value(out, 2, 0)?;
    }
    if p.i != report.len() {
        return None;
    }
    if !first {
        out.push(b'\n');
        indent(out, 1);
    }
    out.push(b'}');
    Some(())
}

/// Starts an entry of the item's object: `"key": ` on its own line.
fn entry(out: &mut Vec<u8>, key: &[u8], first: &mut bool) {
    out.extend_from_slice(if *first { b"\n" } else { b",\n" });
    indent(out, 2);
    out.push(b'"');
    out.extend_from_slice(key);
    out.extend_from_slice(b"\": ");
    *first = false;
}

fn indent(out: &mut Vec<u8>, depth: usize) {
    const SPACES: &[u8] = &[b' '; 2 * (MAX_DEPTH + 4)];
    match SPACES.get(..2 * depth) {
        Some(spaces) => out.extend_from_slice(spaces),
        None => out.resize(out.len() + 2 * depth, b' '),
    }
}

/// A compact JSON text being re-indented.
struct Pretty<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Pretty<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    /// One value at `depth` (the indentation of its own line), written pretty.
    fn value(&mut self, out: &mut Vec<u8>, depth: usize, nesting: usize) -> Option<()> {
        if nesting > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => {
                self.i += 1;
                out.push(b'{');
                if self.peek()? == b'}' {
                    self.i += 1;
                    out.push(b'}');
                    return Some(());
                }
                let mut prev: Option<&[u8]> = None;
                loop {
                    out.push(b'\n');
                    indent(out, depth + 1);
                    let key = self.key(prev)?;
                    prev = Some(key);
                    self.eat(b':')?;
                    out.push(b'"');
                    out.extend_from_slice(key);
                    out.extend_from_slice(b"\": ");
                    self.value(out, depth + 1, nesting + 1)?;
                    match self.next()? {
                        b',' => out.push(b','),
                        b'}' => break,
                        _ => return None,
                    }
                }
                out.push(b'\n');
                indent(out, depth);
                out.push(b'}');
            }
            b'[' => {
                self.i += 1;
                out.push(b'[');
                if self.peek()? == b']' {
                    self.i += 1;
                    out.push(b']');
                    return Some(());
                }
                loop {
                    out.push(b'\n');
                    indent(out, depth + 1);
                    self.value(out, depth + 1, nesting + 1)?;
                    match self.next()? {
                        b',' => out.push(b','),
                        b']' => break,
                        _ => return None,
                    }
                }
                out.push(b'\n');
                indent(out, depth);
                out.push(b']');
            }
            b'"' => {
                let (s, _) = self.string()?;
                out.push(b'"');
                out.extend_from_slice(s);
                out.push(b'"');
            }
            b't' => self.literal(out, b"true")?,
            b'f' => self.literal(out, b"false")?,
            b'n' => self.literal(out, b"null")?,
            _ => self.integer(out)?,
        }
        Some(())
    }

    fn literal(&mut self, out: &mut Vec<u8>, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.s.get(self.i..end)? == word).then_some(())?;
        self.i = end;
        out.extend_from_slice(word);
        Some(())
    }

    /// An integer as serde_json prints it back: no leading zero, not `-0`, at most 18 digits
    /// (so it fits `i64`/`u64` and is not read as a float); no fraction or exponent.
    fn integer(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let start = self.i;
        let negative = self.peek()? == b'-';
        if negative {
            self.i += 1;
        }
        let digits = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let n = &self.s[digits..self.i];
        if n.is_empty() || n.len() > 18 || (n[0] == b'0' && (n.len() > 1 || negative)) {
            return None;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        out.extend_from_slice(&self.s[start..self.i]);
        Some(())
    }

    /// The raw text of a string (between its quotes), if its escapes are the ones serde_json
    /// writes for the characters they stand for; and whether it holds an escape.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Plain bytes are copied as they are: a table says which byte ends the run (a
            // quote, a backslash, or a raw control character, which is not valid JSON).
            self.i += plain_run(&self.s[self.i..]);
            match self.next()? {
                b'"' => return Some((&self.s[start..self.i - 1], escaped)),
                b'\\' => escaped = true,
                _ => return None,
            }
            match self.next()? {
                b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                b'u' => {
                    let hex = self.s.get(self.i..self.i + 4)?;
                    self.i += 4;
                    let lower = |b: u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
                    // serde_json writes `\u00XX` (lower-case hex) for a control
                    // character without a short escape, and no other `\u`.
                    if hex[..2] != *b"00" || !hex[2..].iter().all(|&b| lower(b)) {
                        return None;
                    }
                    let c = u8::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()?;
                    if c >= 0x20 || matches!(c, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                        return None;
                    }
                }
                _ => return None,
            }
        }
    }

    /// An object key: a string without escapes (so its bytes order as the parsed key does),
    /// after `prev`.
    fn key(&mut self, prev: Option<&[u8]>) -> Option<&'a [u8]> {
        let (key, escaped) = self.string()?;
        if escaped || prev.is_some_and(|p| key <= p) {
            return None;
        }
        Some(key)
    }
}

/// The length of the plain run at the start of `s` (up to the first [`STOP`] byte): eight bytes
/// at a time while none of them stops it, then byte by byte.
fn plain_run(s: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Non-zero when some byte of `w` is below `n` (n <= 0x80): the borrow of a byte below `n`
    // sets its high bit where the byte's own was clear.
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w & HIGH;
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        if below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
            | below(w, 0x20)
            != 0
        {
            break;
        }
        i += 8;
    }
    while i < s.len() && !STOP[usize::from(s[i])] {
        i += 1;
    }
    i
}

/// The bytes that end a plain run inside a string: `"`, `\\` and the control characters.
const STOP: [bool; 256] = {
    let mut stop = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        stop[b] = true;
        b += 1;
    }
    stop[b'"' as usize] = true;
    stop[b'\\' as usize] = true;
    stop
};

#[cfg(test)]
mod tests {
    use super::*;

    /// What `status --json` printed before: the rows' reports parsed into `Value`s and the
    /// array pretty-printed.
    fn previous(rows: &[TaskRow], now: DateTime<Utc>, base: Option<&str>) -> String {
        let v = crate::report::status_json(rows, now, base);
        format!("{}\n", serde_json::to_string_pretty(&v).unwrap())
    }

    fn written(rows: &[TaskRow], now: DateTime<Utc>, base: Option<&str>) -> String {
        let mut w = Writer::new(Vec::new()).unwrap();
        for r in rows {
            w.item(
                r,
                r.evaluated_at.map(|t| t.timestamp()),
                &r.report_json,
                now,
                base,
            )
            .unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    fn row(id: u64, report: &str) -> TaskRow {
        TaskRow {
            id: crate::ids::TaskId::new(id),
            verdict: crate::policy::Verdict::Blocked,
            who: vec![crate::policy::Who::Requester, crate::policy::Who::Manager],
            tagged_at: DateTime::from_timestamp(1_700_000_000, 0),
            created_at: DateTime::from_timestamp(1_690_000_000, 0).unwrap(),
            evaluated_at: (id % 2 == 0)
                .then(|| DateTime::from_timestamp(1_700_100_000, 0).unwrap()),
            report_json: report.into(),
            ..TaskRow::default()
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_701_000_000, 0).unwrap()
    }

    #[test]
    fn reports_of_every_form_print_as_the_value_path_prints_them() {
        let stored = serde_json::json!({
            "checks": [{"id": "l3", "status": "pass", "detail": "quote \" slash / tab \t nul \u{0} é ✓", "n": []}],
            "verdict": "ready", "who": [], "summary": {}, "big": 123456789012345678i64, "neg": -5
        })
        .to_string();
        let reports = [
            stored.as_str(),
            "{}",
            "",
            "not json",
            "[1,2]",
            "null",
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":1.5}"#,
            r#"{"a":1e3}"#,
            r#"{"a":-0}"#,
            r#"{"a":01}"#,
            r#"{"a":12345678901234567890}"#,
            r#"{"a":"\/"}"#,
            r#"{"a":"\u00e9"}"#,
            r#"{"a":"\u000A"}"#,
            r#"{"a":"\u001F"}"#,
            r#"{"a":"\u001f"}"#,
            r#"{"a\u0062":1}"#,
            r#"{"a": 1}"#,
            r#"{"a":1} "#,
            r#"{"a":1}x"#,
            r#"{"a":[1,]}"#,
            r#"{"a":tru}"#,
            r#"{"task":"T9","url":"x","verdict":"granted","zz":true}"#,
            r#"{"age_days":"old","waiting_for":null}"#,
            r#"{"a":{"c":1,"b":2}}"#,
        ];
        let rows: Vec<TaskRow> = reports
            .iter()
            .enumerate()
            .map(|(i, r)| row(i as u64 + 1, r))
            .collect();
        for base in [None, Some("https://phabricator.example.org")] {
            assert_eq!(written(&rows, now(), base), previous(&rows, now(), base));
            for r in &rows {
                let one = std::slice::from_ref(r);
                assert_eq!(
                    written(one, now(), base),
                    previous(one, now(), base),
                    "{}",
                    r.report_json
                );
            }
        }
        assert_eq!(written(&[], now(), None), previous(&[], now(), None));
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        let one = [row(1, &deep)];
        assert_eq!(written(&one, now(), None), previous(&one, now(), None));
    }

    /// The word-at-a-time scan stops exactly where the byte-by-byte one does: a stop byte (or
    /// none) at every place of a run of every length, among ASCII and UTF-8 bytes.
    #[test]
    fn a_plain_run_ends_where_the_first_stop_byte_is() {
        let naive = |s: &[u8]| {
            s.iter()
                .position(|&b| STOP[usize::from(b)])
                .unwrap_or(s.len())
        };
        let fillers: [&[u8]; 3] = [b"a", "é".as_bytes(), b"\x7f"];
        let stops = [b'"', b'\\', 0x00, 0x1f, b'\n'];
        for filler in fillers {
            for len in 0..40 {
                let base: Vec<u8> = filler.iter().copied().cycle().take(len).collect();
                assert_eq!(plain_run(&base), len);
                for at in 0..len {
                    for stop in stops {
                        let mut s = base.clone();
                        s[at] = stop;
                        assert_eq!(plain_run(&s), naive(&s), "{s:?}");
                        assert_eq!(plain_run(&s), at, "{s:?}");
                    }
                }
            }
        }
        // Bytes just above the control range and around the stops never stop a run.
        let near: Vec<u8> = (0x20u8..=0xff)
            .filter(|b| !matches!(b, b'"' | b'\\'))
            .collect();
        assert_eq!(plain_run(&near), near.len());
    }

    #[test]
    fn a_report_the_bot_stores_is_re_indented_not_reparsed() {
        let stored =
            serde_json::json!({"checks": [{"id": "l3", "status": "pass"}], "verdict": "ready"})
                .to_string();
        let added = crate::report::status_item(&row(1, ""), None, "{}", now(), None);
        assert!(merge(stored.as_bytes(), &added, &mut Vec::new()).is_some());
        assert!(merge(br#"{"b":1,"a":2}"#, &added, &mut Vec::new()).is_none());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn json() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<u64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                "\\PC*|[\u{0}-\u{1f}\"\\\\/a-z]*".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(4, 32, 6, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..6)
                        .prop_map(serde_json::Value::from),
                    proptest::collection::vec(
                        ("[a-z_]{0,8}|\\PC{0,3}|verdict|task|url", inner),
                        0..6
                    )
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn any_stored_value_prints_as_the_value_path_prints_it(v in json(), pretty in any::<bool>()) {
                let text = if pretty {
                    serde_json::to_string_pretty(&v).unwrap()
                } else {
                    v.to_string()
                };
                let rows = [row(1, &text), row(2, "{}")];
                prop_assert_eq!(written(&rows, now(), Some("https://p.example")), previous(&rows, now(), Some("https://p.example")));
            }
        }
    }
}
