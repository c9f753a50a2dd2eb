//! The commands that need no server: `rules check`, `parse` and `key` (a file or standard
//! input, read with a size cap and refused when binary).

use super::*;

pub(super) async fn cmd_rules_check(
    cli: &Cli,
    dir: Option<&Path>,
    live: bool,
) -> anyhow::Result<u8> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cli.rules.clone());
    let rules = crate::rules::Rules::load(&dir)?;
    println!(
        "{}: ok ({} groups, {} with sudo)",
        dir.display(),
        rules.groups.len(),
        rules.groups.values().filter(|g| g.sudo).count()
    );
    // A service's configuration is checked with its rules (the unit runs this before start).
    if let Some(url) = &cli.phab_url {
        refuse_example_url(url)?;
    }
    if !live {
        return Ok(0);
    }
    let client = client(cli)?;
    let missing = crate::rules_live::check(&client, &rules).await?;
    if missing.is_empty() {
        println!(
            "{}: every configured name exists on {}",
            dir.display(),
            client.base_url()
        );
        return Ok(0);
    }
    for m in &missing {
        eprintln!("{m}");
    }
    anyhow::bail!(
        "{} configured name(s) do not exist on {}",
        missing.len(),
        client.base_url()
    )
}

/// Reads `parse`'s or `key`'s input: at most [`MAX_INPUT_BYTES`], and text (no NUL byte, and
/// no more than a small share of invalid UTF-8, which is replaced).
fn read_input(file: Option<&Path>) -> anyhow::Result<String> {
    use std::io::Read;
    let name = match file {
        None => "standard input".to_string(),
        Some(p) if p == Path::new("-") => "standard input".to_string(),
        Some(p) => p.display().to_string(),
    };
    let reader: Box<dyn Read> = match file {
        Some(p) if p != Path::new("-") => Box::new(
            std::fs::File::open(p).map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?,
        ),
        _ => Box::new(std::io::stdin()),
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        anyhow::bail!(
            "{name} is larger than {} MiB: not a request description or a key",
            MAX_INPUT_BYTES >> 20
        );
    }
    text_of(&bytes).ok_or_else(|| anyhow::anyhow!("{name} is binary, not text; refusing it"))
}

/// The text of untrusted input: `None` for binary (a NUL byte, or more than 1 in 20 bytes
/// outside valid UTF-8); a few invalid bytes are replaced.
pub(super) fn text_of(bytes: &[u8]) -> Option<String> {
    if bytes.contains(&0) {
        return None;
    }
    let text = String::from_utf8_lossy(bytes);
    let replaced = text
        .chars()
        .filter(|c| *c == char::REPLACEMENT_CHARACTER)
        .count();
    let original = bytes
        .windows(3)
        .filter(|w| *w == "\u{FFFD}".as_bytes())
        .count();
    if (replaced - original.min(replaced)) * 20 > bytes.len().max(1) {
        return None;
    }
    Some(text.into_owned())
}

pub(super) fn cmd_parse(cli: &Cli, file: Option<&Path>, json: bool) -> anyhow::Result<u8> {
    let rules = offline_rules(cli)?;
    let text = read_input(file)?;
    let parsed = crate::request::parse("", &text, &rules.labels);
    let key = match &parsed.request.key {
        Some(crate::request::KeyRef::Inline { text }) => {
            Some(crate::keys::judge(text, &rules.keys))
        }
        _ => None,
    };
    let source = parsed.request.key.as_ref().map(|k| match k {
        crate::request::KeyRef::Inline { .. } => "description",
        crate::request::KeyRef::Paste { .. } => "paste",
        crate::request::KeyRef::Pointer { .. } => "pointer",
    });
    let sudo = parsed
        .request
        .groups
        .iter()
        .any(|g| rules.group(g).is_some_and(|g| g.sudo));
    let mut value = crate::request::to_json(&parsed, key.as_ref(), source, sudo);
    let mut problems = crate::request::problem_messages(&parsed);
    // The key's verdict: its problems are the request's (a DSA key is not a complete request).
    if let Some(k) = &key {
        for p in &k.problems {
            if !problems.contains(p) {
                problems.push(p.clone());
            }
        }
        if let Some(o) = value.get_mut("key").and_then(|k| k.as_object_mut()) {
            o.insert("ok".into(), k.ok.into());
        }
    }
    // Offline, a key in a paste cannot be read: say where it is, and that it is unchecked.
    if let Some(crate::request::KeyRef::Paste { id }) = &parsed.request.key {
        problems.push(format!("the key is in paste P{id} (not read offline)"));
        if let Some(o) = value.as_object_mut() {
            o.insert(
                "key".into(),
                serde_json::json!({"source": "paste", "paste": format!("P{id}")}),
            );
        }
    }
    let complete = problems.is_empty();
    if let Some(o) = value.as_object_mut() {
        o.insert("problems".into(), serde_json::json!(problems));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let mut table = crate::table::PlainTable::new();
        for (k, v) in value.as_object().into_iter().flatten() {
            if k == "problems" {
                continue;
            }
            let shown = match v {
                serde_json::Value::Object(key) if k == "key" => key_summary(key),
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                serde_json::Value::Array(a) if a.iter().all(|x| x.is_string()) => a
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            table.add_row(vec![k.clone(), shown]);
        }
        for p in &problems {
            table.add_row(vec!["problem".to_string(), p.clone()]);
        }
        print!("{}", table.render());
    }
    Ok(if complete { 0 } else { 3 })
}

/// `parse`'s key object on one line.
fn key_summary(key: &serde_json::Map<String, serde_json::Value>) -> String {
    let text = |name: &str| key.get(name).and_then(|v| v.as_str()).unwrap_or("?");
    if let Some(paste) = key.get("paste").and_then(|p| p.as_str()) {
        return format!("in paste {paste} (not read offline)");
    }
    format!(
        "{} {} bits {} (from the {}): {}",
        text("algorithm"),
        key.get("bits").and_then(|b| b.as_u64()).unwrap_or(0),
        text("fingerprint"),
        text("source"),
        if key.get("ok").and_then(|o| o.as_bool()) == Some(true) {
            "acceptable"
        } else {
            "refused"
        }
    )
}

pub(super) fn cmd_key(cli: &Cli, file: Option<&Path>, json: bool) -> anyhow::Result<u8> {
    let rules = offline_rules(cli)?;
    let text = read_input(file)?;
    if text.trim().is_empty() {
        anyhow::bail!("no key given (pass a file, or - and the key on standard input)");
    }
    let report = crate::keys::judge(&text, &rules.keys);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.ok {
        println!(
            "acceptable: {} {} bits {}",
            report.algorithm.as_deref().unwrap_or("?"),
            report
                .bits
                .map(|b| b.to_string())
                .unwrap_or_else(|| "?".into()),
            report
                .fingerprint
                .as_ref()
                .map(|f| f.as_str())
                .unwrap_or("")
        );
    } else {
        println!("refused:");
        for p in &report.problems {
            println!("  - {p}");
        }
    }
    Ok(if report.ok { 0 } else { 2 })
}
