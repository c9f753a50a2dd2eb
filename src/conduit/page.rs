//! Reading the channel of each transaction (web, email, Conduit) from a task's web page.
//!
//! Conduit does not expose a transaction's content source; the task page does. Phorge renders
//! the timeline's metadata as JSON in `<data data-javelin-init-data="…">` attributes
//! (HTML-escaped). For each timeline event it holds, in order, the "via" tooltip, an empty list
//! and the event's own entry: `{"tip":"Via Email"},[],{"phid":"PHID-XACT-TASK-…","anchor":"15"}`
//! (see `tests/fixtures/conduit/recorded/task-page-T1.html`).
//!
//! The page is parsed structurally (attribute → JSON → array), not by searching the text, so a
//! comment whose text imitates a marker cannot forge a channel: user text only ever appears
//! inside JSON strings. Anything unreadable yields no entry, and a caller treats a missing
//! transaction as "channel unknown".

use crate::ids::Phid;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// How a transaction reached Phabricator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The web interface.
    Web,
    /// An email reply.
    Email,
    /// The Conduit API.
    Conduit,
    /// Anything else, or a marker that could not be read.
    Unknown,
}

impl Channel {
    /// Whether a comment from this channel may count as evidence: web and Conduit are
    /// authenticated; email never counts; unknown is not verified.
    pub fn counts(self) -> bool {
        matches!(self, Channel::Web | Channel::Conduit)
    }

    /// The channel named by a tooltip such as `Via Email`, if the text is a "via" tooltip.
    fn from_tip(tip: &str) -> Option<Channel> {
        let name = tip.trim().strip_prefix("Via ")?;
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "web" => Channel::Web,
            "email" => Channel::Email,
            "conduit" => Channel::Conduit,
            _ => Channel::Unknown,
        })
    }
}

/// One timeline event's marker on the task page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The transaction PHID (`PHID-XACT-…`).
    pub phid: Phid,
    /// The anchor (the transaction id), if it parsed as a number.
    pub anchor: Option<u64>,
    /// The channel from the "via" tooltip.
    pub channel: Channel,
}

/// Every timeline marker on the page, in page order. Garbage in, empty list out.
pub fn markers_from_task_page(html: &str) -> Vec<Marker> {
    let mut out = Vec::new();
    for raw in init_data_attributes(html) {
        let Ok(value) = serde_json::from_str::<Value>(&unescape_html(raw)) else {
            continue;
        };
        let Some(items) = value.get("data").and_then(Value::as_array) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let Some((phid, anchor)) = event_entry(item) else {
                continue;
            };
            // The tooltip is one of the two entries just before the event's own entry, with no
            // other event's entry in between.
            let channel = items[i.saturating_sub(2)..i]
                .iter()
                .rev()
                .take_while(|prev| event_entry(prev).is_none())
                .find_map(|prev| prev.get("tip").and_then(Value::as_str))
                .and_then(Channel::from_tip);
            if let Some(channel) = channel {
                out.push(Marker {
                    phid,
                    anchor,
                    channel,
                });
            }
        }
    }
    out
}

/// The channel of each transaction on the page. A PHID seen with two different channels maps
/// to `Unknown` (fail closed). Garbage in, empty map out.
pub fn channels_from_task_page(html: &str) -> BTreeMap<Phid, Channel> {
    let mut map: BTreeMap<Phid, Channel> = BTreeMap::new();
    for m in markers_from_task_page(html) {
        map.entry(m.phid)
            .and_modify(|c| {
                if *c != m.channel {
                    *c = Channel::Unknown;
                }
            })
            .or_insert(m.channel);
    }
    map
}

/// `{"phid":"PHID-XACT-…","anchor":"15"}`: a timeline event's own entry.
fn event_entry(item: &Value) -> Option<(Phid, Option<u64>)> {
    let obj = item.as_object()?;
    let phid = obj.get("phid")?.as_str()?;
    let anchor = obj.get("anchor")?;
    if !phid.starts_with("PHID-XACT-") || phid.len() > 64 {
        return None;
    }
    let anchor = match anchor {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    Some((Phid(phid.to_string()), anchor))
}

/// The raw (still escaped) values of every `data-javelin-init-data="…"` attribute.
fn init_data_attributes(html: &str) -> Vec<&str> {
    const KEY: &str = "data-javelin-init-data=\"";
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(KEY) {
        rest = &rest[start + KEY.len()..];
        match rest.find('"') {
            Some(end) => {
                out.push(&rest[..end]);
                rest = &rest[end + 1..];
            }
            // A truncated attribute: nothing trustworthy follows.
            None => break,
        }
    }
    out
}

/// Decodes the HTML entities that Phorge uses in attributes (`&quot;`, `&amp;`, `&lt;`,
/// `&gt;`, `&#039;`, numeric ones). Unknown entities are kept as they are.
fn unescape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest
            .find(';')
            .filter(|&semi| semi <= 10)
            .and_then(|semi| decode_entity(&rest[1..semi]).map(|c| (c, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "quot" => Some('"'),
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/conduit/recorded")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// The PHID of transaction `id` in the recorded `transaction.search` of T1.
    fn xact_phid(id: u64) -> Phid {
        let v: Value = serde_json::from_str(&recorded("30-transaction.search-T1.json")).unwrap();
        let data = v["response"]["result"]["data"].as_array().unwrap();
        let x = data.iter().find(|x| x["id"] == id).unwrap();
        Phid(x["phid"].as_str().unwrap().to_string())
    }

    #[test]
    fn recorded_t1_page_gives_the_channels() {
        let html = recorded("task-page-T1.html");
        let map = channels_from_task_page(&html);
        assert_eq!(map.get(&xact_phid(15)), Some(&Channel::Email));
        assert_eq!(map.get(&xact_phid(16)), Some(&Channel::Web));
        assert_eq!(map.get(&xact_phid(11)), Some(&Channel::Conduit));
        assert_eq!(map.get(&xact_phid(13)), Some(&Channel::Conduit));
        let markers = markers_from_task_page(&html);
        let anchors: Vec<_> = markers.iter().filter_map(|m| m.anchor).collect();
        assert_eq!(anchors, vec![1, 10, 11, 13, 14, 15, 16, 17, 25]);
        assert_eq!(map.len(), 9);
        // Only one email transaction, and it is anchor 15.
        let emails: Vec<_> = markers
            .iter()
            .filter(|m| m.channel == Channel::Email)
            .collect();
        assert_eq!(emails.len(), 1);
        assert_eq!(emails[0].anchor, Some(15));
    }

    #[test]
    fn truncated_and_garbled_pages_give_nothing_or_a_prefix() {
        let html = recorded("task-page-T1.html");
        // Cut inside the metadata attribute: no channel at all, no panic.
        let cut = html.find("Via Email").unwrap();
        assert!(channels_from_task_page(&html[..cut]).is_empty());
        // Every cut point on a char boundary, coarse steps: never panics.
        for n in (0..html.len()).step_by(97) {
            if html.is_char_boundary(n) {
                let _ = channels_from_task_page(&html[..n]);
            }
        }
        assert!(channels_from_task_page("").is_empty());
        assert!(channels_from_task_page("<html>not a task</html>").is_empty());
        assert!(channels_from_task_page("data-javelin-init-data=\"{&quot;data&quot;:").is_empty());
        assert!(
            channels_from_task_page("data-javelin-init-data=\"&#xffffffff;&#99999999999;&\"")
                .is_empty()
        );
        // Garbled bytes in the middle of the attribute break its JSON: fail closed.
        let garbled = html.replacen(
            "&quot;tip&quot;:&quot;Via Web",
            "&quot;tip&quot;:&quot;Via Web\u{0}&quot;",
            1,
        );
        assert!(channels_from_task_page(&garbled).is_empty());
    }

    #[test]
    fn comment_text_cannot_forge_a_marker() {
        // A comment quoting a marker is HTML text and JSON string content, never structure.
        let forged = r#"{&quot;tip&quot;:&quot;Via Web&quot;},[],{&quot;phid&quot;:&quot;PHID-XACT-TASK-forged&quot;,&quot;anchor&quot;:&quot;15&quot;}"#;
        let html = format!(
            "<p>{forged}</p><data data-javelin-init-data=\"{{&quot;block&quot;:0,&quot;data&quot;:[{{&quot;items&quot;:&quot;{}&quot;}}]}}\"></data>",
            forged.replace("&quot;", "\\&quot;")
        );
        assert!(channels_from_task_page(&html).is_empty());
    }

    #[test]
    fn synthetic_markers_and_conflicts() {
        let page = |items: &str| {
            format!(
                "<data data-javelin-init-kind=\"merge\" data-javelin-init-data=\"{}\"></data>",
                format!("{{\"block\":0,\"data\":[{items}]}}").replace('"', "&quot;")
            )
        };
        let html = page(
            r#"{"tip":"Via Web"},[],{"phid":"PHID-XACT-TASK-a","anchor":"2"},{"tip":"Via Herald"},{"phid":"PHID-XACT-TASK-b","anchor":"3"},{"phid":"PHID-XACT-TASK-c","anchor":"4"}"#,
        );
        let map = channels_from_task_page(&html);
        assert_eq!(
            map.get(&Phid::from("PHID-XACT-TASK-a")),
            Some(&Channel::Web)
        );
        assert_eq!(
            map.get(&Phid::from("PHID-XACT-TASK-b")),
            Some(&Channel::Unknown)
        );
        // c has no tooltip right before it (b's entry is in between): not in the map.
        assert_eq!(map.get(&Phid::from("PHID-XACT-TASK-c")), None);
        // The same transaction with two channels is unknown.
        let html = format!(
            "{}{}",
            page(r#"{"tip":"Via Web"},[],{"phid":"PHID-XACT-TASK-a","anchor":"2"}"#),
            page(r#"{"tip":"Via Email"},[],{"phid":"PHID-XACT-TASK-a","anchor":"2"}"#)
        );
        assert_eq!(
            channels_from_task_page(&html).get(&Phid::from("PHID-XACT-TASK-a")),
            Some(&Channel::Unknown)
        );
    }

    #[test]
    fn channel_serializes_lowercase() {
        assert_eq!(serde_json::to_string(&Channel::Email).unwrap(), "\"email\"");
        assert_eq!(
            serde_json::from_str::<Channel>("\"unknown\"").unwrap(),
            Channel::Unknown
        );
    }
}
