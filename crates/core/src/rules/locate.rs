//! Where a rules error is: reading a rules file, parsing it with errors that name the file, the
//! line and the dotted key, and finding the line of a key in a text that parsed.

use super::*;

pub(super) fn read(path: &Path) -> Result<String, RulesError> {
    std::fs::read_to_string(path).map_err(|e| RulesError {
        file: path.to_path_buf(),
        line: None,
        key: String::new(),
        message: format!("cannot read: {e}"),
    })
}

/// Parses a TOML text; an error names the file, the line and the key.
pub fn de<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, RulesError> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let line = e.span().map(|s| line_of(text, s.start));
        let msg = e.message().trim().to_string();
        let named = if msg.contains("field") {
            key_from_message(&msg)
        } else {
            None
        };
        let key = match line {
            Some(l) => key_at(text, l, named.as_deref()),
            None => named.unwrap_or_default(),
        };
        RulesError {
            file: path.to_path_buf(),
            line,
            key,
            message: msg,
        }
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The dotted key an error on 1-based `line` is about: the table the line is in, then the
/// key `named` by the message (unknown or missing field) or else the last key assigned at or
/// above the line in that table (a multi-line array's elements belong to its key).
fn key_at(text: &str, line: usize, named: Option<&str>) -> String {
    let mut table = String::new();
    let mut last_key: Option<String> = None;
    for raw in text.lines().take(line) {
        let l = raw.trim();
        if let Some(h) = l.strip_prefix('[') {
            let h = h.trim_start_matches('[');
            table = h.split(']').next().unwrap_or(h).trim().to_string();
            last_key = None;
            continue;
        }
        if let Some((k, _)) = l.split_once('=') {
            let k = k.trim().trim_matches('"').trim_matches('\'');
            let plain = !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if plain && !l.starts_with('#') {
                last_key = Some(k.to_string());
            }
        }
    }
    // An unknown table is named by the message and sits on its own header line.
    if named.is_some_and(|n| table == n || table.ends_with(&format!(".{n}"))) {
        return table;
    }
    let leaf = named.map(str::to_string).or(last_key);
    match (table.is_empty(), leaf) {
        (true, Some(k)) => k,
        (false, Some(k)) => format!("{table}.{k}"),
        (_, None) => table,
    }
}

/// Pulls a key name out of serde's "unknown field `x`" / "missing field `x`" messages.
fn key_from_message(msg: &str) -> Option<String> {
    let start = msg.find('`')?;
    let rest = &msg[start + 1..];
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}

/// The 1-based line of `dotted` (`timing.reconcile_minutes`, `groups.deployment`) in a TOML
/// text that parsed, where the TOML parser saw its key (`toml_edit`, the parser behind
/// `toml::Spanned`: quoted, dotted and inline keys are found like any other; `toml::Spanned`
/// itself cannot be used, as an implicit table such as `groups` in `[groups.deployment]` has no
/// span); when the key itself is absent, the line of the nearest table above it that is there
/// (a missing key is reported at its table). `None` when the text does not parse or nothing of
/// the path is there.
pub fn locate(text: &str, dotted: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut item = doc.as_item();
    let mut rest = dotted;
    let mut found: Option<usize> = None;
    while !rest.is_empty() {
        let Some(table) = item.as_table_like() else {
            break;
        };
        // The longest key that names the start of the path (a group name may hold a dot).
        let next = table
            .iter()
            .map(|(k, _)| k)
            .filter(|k| rest == *k || rest.strip_prefix(k).is_some_and(|r| r.starts_with('.')))
            .max_by_key(|k| k.len());
        let Some((key, value)) = next.and_then(|k| table.get_key_value(k)) else {
            break;
        };
        if let Some(span) = key.span().or_else(|| value.span()) {
            found = Some(line_of(text, span.start));
        }
        item = value;
        rest = rest[key.get().len()..].trim_start_matches('.');
    }
    found
}
