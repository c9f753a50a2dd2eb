//! Reading a task's web page: the channel of each transaction (web, email, Conduit), the
//! "Show Older Changes" link that leads to the rest of the timeline, and pages that are not
//! task pages at all (a login page).
//!
//! Conduit does not expose a transaction's content source; the task page does. Phorge renders
//! the timeline's metadata as JSON in `<data data-javelin-init-data="…">` attributes
//! (HTML-escaped). For each timeline event it holds, in order, the "via" tooltip, an empty list
//! and the event's own entry: `{"tip":"Via Email"},[],{"phid":"PHID-XACT-TASK-…","anchor":"15"}`
//! (see `tests/fixtures/conduit/recorded/task-page-T1.html`).
//!
//! A page is never assumed whole: Phorge renders only the newest 100 events, and hides the
//! events before the viewer's own last comment, behind a "Show Older Changes" link
//! (`/transactions/showolder/<task PHID>/?after=N…`). Its answer, fetched with
//! `&__ajax__=true`, is `for (;;);{"error":null,"payload":{"timeline":"<html>"},
//! "javelin_metadata":[…]}`: the older events' markers are in `javelin_metadata`, in the same
//! order as on the page, and the timeline HTML may end with the next link
//! (`task-page-T12-showolder-ajax.txt`). [`read_task_page`] and [`read_older_part`] read one
//! part each; the client follows the links ([`crate::conduit::Client::task_timeline`]).
//!
//! A non-public install answers an anonymous visitor with HTTP 200 and its login page
//! (`task-page-anonymous-login-required.html`); that is recognised as [`NotAPage::LoginPage`],
//! never read as "a page with no markers".
//!
//! The page is parsed structurally (attribute → JSON → array; a link by its Javelin sigil), not
//! by searching the text, so a comment whose text imitates a marker or a link cannot forge a
//! channel: user text only ever appears inside JSON strings and escaped HTML. Anything
//! unreadable yields no entry, and a caller treats a missing transaction as "channel unknown".

use crate::ids::Phid;
pub use crate::wire::Channel;
use serde_json::Value;
use std::collections::BTreeMap;

/// The channel named by a tooltip such as `Via Email`, if the text is a "via" tooltip.
fn channel_from_tip(tip: &str) -> Option<Channel> {
    let name = tip.trim().strip_prefix("Via ")?;
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "web" => Channel::Web,
        "email" => Channel::Email,
        "conduit" => Channel::Conduit,
        _ => Channel::Unknown,
    })
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

/// What the first page fetched for a task turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageKind {
    /// A task page: its markers and its "Show Older Changes" link.
    Task(PagePart),
    /// Phorge's login page ("Login", or "Authentication Failure" when no login provider is
    /// enabled): the viewer is not logged in and the install, or the task, is not public.
    LoginRequired,
    /// A page without a task timeline (an access-denied dialog, a wrong URL, a proxy page).
    Unrecognised,
}

/// One part of a task's timeline: the first page, or one answer of "Show Older Changes".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PagePart {
    /// The markers of this part, in page order.
    pub markers: Vec<Marker>,
    /// The link to the events older than this part, if Phorge offers one.
    pub older: Option<OlderLink>,
}

/// A "Show Older Changes" link: `/transactions/showolder/<PHID>/?after=N&quoteTargetID=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OlderLink {
    /// The PHID the link is for (the task's, on a genuine page).
    pub object: String,
    /// The `after` parameter: the older part holds the events with smaller ids.
    pub after: u64,
    /// The link as a root-relative path and query, unescaped.
    pub path: String,
}

/// Why a task page could not be read as one (HTTP 200 or a redirect, not an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotAPage {
    /// HTTP 200 with Phorge's login page.
    LoginPage,
    /// HTTP 302 to `?cleared=1`: Phorge cleared an expired or invalid session cookie.
    SessionCleared,
    /// HTTP 200 with a page that has no task timeline.
    Unrecognised,
}

/// What reading a task's whole timeline from its pages gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskPage {
    /// The task page and the older parts that were followed.
    Timeline(PageTimeline),
    /// The server did not answer with a task page.
    NotAPage(NotAPage),
}

/// The markers of a task's timeline, gathered over the page and its older parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageTimeline {
    /// Every marker read, newest part first.
    pub markers: Vec<Marker>,
    /// How many "Show Older Changes" answers were read.
    pub older_parts: u32,
    /// Why the reading stopped while older events remained (they stay "channel unknown").
    pub incomplete: Option<String>,
}

/// Reads the first page of a task: a task page with its markers and older link, a login page,
/// or something else. Garbage in, `Unrecognised` out.
pub fn read_task_page(html: &str) -> PageKind {
    // The timeline container is markup Phorge writes; comment text is escaped, so it cannot
    // contain the quoted attribute.
    let has_timeline = [
        "class=\"phui-timeline-view\"",
        "class=\"phui-timeline-view ",
    ]
    .iter()
    .any(|c| html.contains(c));
    if !has_timeline {
        return if looks_like_login(html) {
            PageKind::LoginRequired
        } else {
            PageKind::Unrecognised
        };
    }
    PageKind::Task(PagePart {
        markers: markers_from_task_page(html),
        older: older_link(html),
    })
}

/// Reads one "Show Older Changes" answer (`for (;;);{…}`): the older events' markers from its
/// Javelin metadata, and the next link from its timeline HTML. An answer that is not that
/// shape is an error (the caller stops following: what is missing stays unknown).
pub fn read_older_part(body: &str) -> Result<PagePart, String> {
    let json = body
        .trim_start()
        .strip_prefix("for (;;);")
        .ok_or("the \"Show Older Changes\" answer is not a Javelin AJAX answer")?;
    let value: Value = serde_json::from_str(json)
        .map_err(|e| format!("the \"Show Older Changes\" answer is not JSON ({e})"))?;
    if !value.get("error").is_none_or(Value::is_null) {
        return Err("the \"Show Older Changes\" answer is an error".into());
    }
    let timeline = value
        .pointer("/payload/timeline")
        .and_then(Value::as_str)
        .ok_or("the \"Show Older Changes\" answer has no timeline")?;
    let mut markers = Vec::new();
    if let Some(items) = value.get("javelin_metadata").and_then(Value::as_array) {
        markers_in(items, &mut markers);
    }
    // Metadata may also come inline with the timeline.
    markers.extend(markers_from_task_page(timeline));
    Ok(PagePart {
        markers,
        older: older_link(timeline),
    })
}

/// Every timeline marker on the page, in page order. Garbage in, empty list out.
pub fn markers_from_task_page(html: &str) -> Vec<Marker> {
    let mut out = Vec::new();
    for raw in init_data_attributes(html) {
        let Ok(value) = serde_json::from_str::<Value>(&unescape_html(raw)) else {
            continue;
        };
        if let Some(items) = value.get("data").and_then(Value::as_array) {
            markers_in(items, &mut out);
        }
    }
    out
}

/// The markers in one Javelin metadata list.
fn markers_in(items: &[Value], out: &mut Vec<Marker>) {
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
            .and_then(channel_from_tip);
        if let Some(channel) = channel {
            out.push(Marker {
                phid,
                anchor,
                channel,
            });
        }
    }
}

/// The channel of each transaction on the page. A PHID seen with two different channels maps
/// to `Unknown` (fail closed). Garbage in, empty map out.
pub fn channels_from_task_page(html: &str) -> BTreeMap<Phid, Channel> {
    channel_map(&markers_from_task_page(html))
}

/// The channel of each marked transaction. A PHID seen with two different channels maps to
/// `Unknown` (fail closed).
pub fn channel_map(markers: &[Marker]) -> BTreeMap<Phid, Channel> {
    let mut map: BTreeMap<Phid, Channel> = BTreeMap::new();
    for m in markers {
        map.entry(m.phid.clone())
            .and_modify(|c| {
                if *c != m.channel {
                    *c = Channel::Unknown;
                }
            })
            .or_insert(m.channel);
    }
    map
}

/// The "Show Older Changes" link: the `<a>` whose Javelin sigil is `show-older-link` (markup
/// only Phorge writes; remarkup links carry no sigil), if its target is a show-older path.
fn older_link(html: &str) -> Option<OlderLink> {
    let mut rest = html;
    while let Some(start) = rest.find("<a ") {
        let tag_and_more = &rest[start + 3..];
        // Attribute values are escaped: the first `>` ends the tag.
        let end = tag_and_more.find('>')?;
        let tag = &tag_and_more[..end];
        rest = &tag_and_more[end..];
        let is_older = attribute(tag, "data-sigil")
            .is_some_and(|s| s.split_whitespace().any(|w| w == "show-older-link"));
        if is_older {
            return attribute(tag, "href").and_then(|h| parse_older_href(&unescape_html(h)));
        }
    }
    None
}

/// The raw value of `name="…"` in the inside of a tag.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = tag;
    loop {
        let at = rest.find(name)?;
        let before_ok = at == 0 || rest.as_bytes()[at - 1].is_ascii_whitespace();
        let after = &rest[at + name.len()..];
        if before_ok {
            if let Some(v) = after.strip_prefix("=\"") {
                return v.find('"').map(|end| &v[..end]);
            }
        }
        rest = after;
    }
}

/// `/transactions/showolder/<PHID>/?after=N…` into its parts; anything else is no link.
fn parse_older_href(href: &str) -> Option<OlderLink> {
    let tail = href.strip_prefix("/transactions/showolder/")?;
    let (object, query) = tail.split_once("/?")?;
    let object_ok = object.starts_with("PHID-")
        && object.len() <= 64
        && object
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !object_ok || query.contains('#') {
        return None;
    }
    let mut after = None;
    for pair in query.split('&') {
        if let Some(v) = pair.strip_prefix("after=") {
            after = v.parse::<u64>().ok().filter(|n| *n > 0);
        }
    }
    Some(OlderLink {
        object: object.to_string(),
        after: after?,
        path: href.to_string(),
    })
}

/// Whether a page without a timeline is Phorge's login page: its title, or a login form.
fn looks_like_login(html: &str) -> bool {
    let title = html
        .find("<title>")
        .map(|s| &html[s + "<title>".len()..])
        .and_then(|t| t.find("</title>").map(|e| &t[..e]))
        .unwrap_or("");
    // Titles may start with an application glyph.
    let title = title.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    matches!(
        title.trim(),
        "Login" | "Log In" | "Login Required" | "Authentication Failure"
    ) || html.contains("action=\"/auth/login/")
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
    Some((Phid::from(phid.to_string()), anchor))
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
        Phid::from(x["phid"].as_str().unwrap().to_string())
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

    fn anchors(markers: &[Marker]) -> Vec<u64> {
        markers.iter().filter_map(|m| m.anchor).collect()
    }

    fn task_part(html: &str) -> PagePart {
        match read_task_page(html) {
            PageKind::Task(p) => p,
            other => panic!("not a task page: {other:?}"),
        }
    }

    #[test]
    fn recorded_t12_page_shows_the_newest_100_and_links_to_the_older_ones() {
        let part = task_part(&recorded("task-page-T12-long-timeline.html"));
        assert_eq!(part.markers.len(), 100);
        assert_eq!(anchors(&part.markers), (157..=256).collect::<Vec<_>>());
        // Only Conduit comments on the first page: the web approvals are older.
        assert!(part.markers.iter().all(|m| m.channel == Channel::Conduit));
        let link = part.older.expect("a show-older link");
        assert_eq!(link.object, "PHID-TASK-sjxzkruhaubsjjze4hms");
        assert_eq!(link.after, 157);
        assert_eq!(
            link.path,
            "/transactions/showolder/PHID-TASK-sjxzkruhaubsjjze4hms/?after=157&quoteTargetID=UQ0_1&quoteRef=T12"
        );
    }

    #[test]
    fn recorded_t12_older_part_holds_the_web_approvals_and_ends_the_timeline() {
        let part = read_older_part(&recorded("task-page-T12-showolder-ajax.txt")).unwrap();
        assert_eq!(
            anchors(&part.markers),
            vec![141, 148, 150, 152, 153, 154, 155, 156]
        );
        let web: Vec<u64> = part
            .markers
            .iter()
            .filter(|m| m.channel == Channel::Web)
            .filter_map(|m| m.anchor)
            .collect();
        assert_eq!(web, vec![141, 148, 150]);
        assert_eq!(part.older, None, "nothing older than the creation");
        // With the first page: every event once, older ones all before the page's.
        let first = task_part(&recorded("task-page-T12-long-timeline.html"));
        let mut all = anchors(&part.markers);
        all.extend(anchors(&first.markers));
        assert_eq!(all.len(), 108);
        assert!(all.iter().take(8).all(|a| *a < 157));
    }

    #[test]
    fn recorded_t7_viewer_page_is_the_full_page_after_the_viewers_last_comment() {
        let full = task_part(&recorded("task-page-T7-full.html"));
        let viewer = task_part(&recorded("task-page-T7-viewer-commented.html"));
        assert_eq!(full.older, None, "the full page hides nothing");
        let link = viewer
            .older
            .expect("the viewer's page links to what it hides");
        assert_eq!(link.object, "PHID-TASK-s7s5ymy2pw25ewr3lf2x");
        assert_eq!(link.after, 258);
        // The viewer's page is exactly the full page from the viewer's comment on; the rest
        // is behind the link (ids below `after`).
        let (older, newer): (Vec<Marker>, Vec<Marker>) = full
            .markers
            .iter()
            .cloned()
            .partition(|m| m.anchor.is_some_and(|a| a < link.after));
        assert_eq!(viewer.markers, newer);
        assert_eq!(anchors(&newer), vec![258, 259, 261]);
        assert_eq!(older.len(), 9);
    }

    #[test]
    fn recorded_login_page_is_recognised_as_such() {
        let html = recorded("task-page-anonymous-login-required.html");
        assert_eq!(read_task_page(&html), PageKind::LoginRequired);
        // A login page with providers: titled "Login", a form to /auth/login/.
        let with_form = "<html><head><title>\u{1f511} Login</title></head><body><form method=\"POST\" action=\"/auth/login/password:self/\"></form></body></html>";
        assert_eq!(read_task_page(with_form), PageKind::LoginRequired);
        let form_only = "<html><head><title>Phorge</title></head><body><form action=\"/auth/login/password:self/\"></form></body></html>";
        assert_eq!(read_task_page(form_only), PageKind::LoginRequired);
        // Anything else without a timeline is not a task page, never "a page with no markers".
        for other in [
            "",
            "<html><title>Access Denied: T12</title></html>",
            "502 Bad Gateway",
        ] {
            assert_eq!(read_task_page(other), PageKind::Unrecognised, "{other}");
        }
        // The timeline container may carry more classes; a look-alike class is no timeline.
        assert!(matches!(
            read_task_page("<div class=\"phui-timeline-view extra\"></div>"),
            PageKind::Task(_)
        ));
        assert_eq!(
            read_task_page("<div class=\"phui-timeline-view-css\"></div>"),
            PageKind::Unrecognised
        );
        // A task page whose comment talks about logging in is still a task page.
        let t1 = recorded("task-page-T1.html");
        assert!(matches!(read_task_page(&t1), PageKind::Task(_)));
    }

    #[test]
    fn only_phorges_own_link_leads_to_older_changes() {
        let page = |body: &str| format!("<div class=\"phui-timeline-view\">{body}</div>");
        // A remarkup link in a comment has no Javelin sigil; escaped text is no tag at all.
        let forged = page(
            "<a href=\"/transactions/showolder/PHID-TASK-x/?after=5\" class=\"remarkup-link\">x</a>\
             &lt;a href=&quot;/transactions/showolder/PHID-TASK-x/?after=5&quot; data-sigil=&quot;show-older-link&quot;&gt;",
        );
        assert_eq!(task_part(&forged).older, None);
        let genuine = |href: &str| {
            task_part(&page(&format!(
                "<a href=\"{href}\" data-mustcapture=\"1\" data-sigil=\"show-older-link\">Show Older Changes</a>"
            )))
            .older
        };
        assert_eq!(
            genuine("/transactions/showolder/PHID-TASK-x/?after=5&amp;quoteRef=T1"),
            Some(OlderLink {
                object: "PHID-TASK-x".into(),
                after: 5,
                path: "/transactions/showolder/PHID-TASK-x/?after=5&quoteRef=T1".into(),
            })
        );
        for bad in [
            "https://evil.example/transactions/showolder/PHID-TASK-x/?after=5",
            "//evil.example/transactions/showolder/PHID-TASK-x/?after=5",
            "/transactions/showolder/PHID-TASK-x/?after=0",
            "/transactions/showolder/PHID-TASK-x/?after=-3",
            "/transactions/showolder/PHID-TASK-x/",
            "/transactions/showolder/../../T1/?after=5",
            "/auth/logout/?after=5",
        ] {
            assert_eq!(genuine(bad), None, "{bad}");
        }
    }

    #[test]
    fn older_answers_that_are_not_the_recorded_shape_are_errors() {
        for bad in [
            "",
            "{\"error\":null,\"payload\":{\"timeline\":\"\"}}",
            "for (;;);{\"error\":\"denied\",\"payload\":{\"timeline\":\"\"}}",
            "for (;;);{\"error\":null,\"payload\":null}",
            "for (;;);{\"error\":null,",
            "<html>login</html>",
        ] {
            assert!(read_older_part(bad).is_err(), "{bad}");
        }
        let empty =
            read_older_part("for (;;);{\"error\":null,\"payload\":{\"timeline\":\"\"}}").unwrap();
        assert_eq!(empty, PagePart::default());
        // Every cut of the recorded answer: an error or a prefix of its markers, no panic.
        let text = recorded("task-page-T12-showolder-ajax.txt");
        for n in (0..text.len()).step_by(211) {
            if text.is_char_boundary(n) {
                let _ = read_older_part(&text[..n]);
            }
        }
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
