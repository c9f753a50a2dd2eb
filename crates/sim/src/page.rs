//! The task web pages, served the way Phorge serves them (design §8, §12; the second visit in
//! `conduit/RECORDINGS.md`):
//!
//! - `GET /T<id>`: the newest [`PAGE_SIZE`] timeline events; for every event, the channel
//!   tooltip next to the transaction PHID and anchor in the Javelin metadata, HTML-escaped
//!   exactly as in `recorded/task-page-T1.html`. Older events are behind a "Show Older Changes"
//!   link (`/transactions/showolder/<task PHID>/?after=<id>&quoteTargetID=UQ0_1&quoteRef=T<id>`).
//! - The viewer rule: the events before the viewer's own last comment are hidden behind the
//!   same link when at least two events follow that comment (Phorge examines the event groups
//!   newest first, skipping the newest two and the oldest two); the viewer is whoever the
//!   `phsid` session cookie authenticates as. Each transaction is one event here.
//! - `GET /transactions/showolder/<PHID>/?after=N`: the answer of that link, in the recorded
//!   AJAX shape (`for (;;);{"error":null,"payload":{"timeline":"<html>"},
//!   "javelin_metadata":[…],…}`): the newest [`PAGE_SIZE`] events older than `after`, with no
//!   viewer hiding, and the next link when more remain.
//! - A site that is not public (`[site] public = false`) answers an anonymous visitor with
//!   HTTP 200 and the login page of `recorded/task-page-anonymous-login-required.html`, and an
//!   unknown or expired session with a 302 to the same address plus `?cleared=1`.

use serde_json::Value;

use super::state::{Task, World, Xact, XactKind};

/// Events on one page or one older part, as Phorge's pager.
pub const PAGE_SIZE: usize = 100;

/// Escapes text for HTML content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            c => out.push(c),
        }
    }
    out
}

/// Who asks for a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visitor {
    /// No session cookie.
    Anonymous,
    /// A session of this user (index).
    User(usize),
    /// A session cookie the site does not know (expired, invalid, a disabled account's).
    BadSession,
}

/// How the simulator answers a page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAnswer {
    /// HTTP 200, HTML.
    Html(String),
    /// HTTP 200, a Javelin AJAX answer (`for (;;);{…}`).
    Ajax(String),
    /// HTTP 302 to this address.
    Redirect(String),
    /// HTTP 404.
    NotFound,
}

/// The visitor a `Cookie` header makes: its `phsid` session, if any.
pub fn visitor(world: &World, cookie_header: Option<&str>) -> Visitor {
    let session = cookie_header.and_then(|h| {
        h.split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == "phsid")
            .map(|(_, v)| v.trim())
    });
    match session {
        None | Some("") => Visitor::Anonymous,
        Some(s) => world
            .user_by_session(s)
            .map_or(Visitor::BadSession, Visitor::User),
    }
}

/// Whether the visitor may see pages; if not, what the site answers instead (Phorge's login
/// page, or the redirect that clears a bad session). `uri` is the path and query asked for.
fn gate(world: &World, who: Visitor, uri: &str) -> Result<Option<usize>, PageAnswer> {
    match who {
        Visitor::User(u) => Ok(Some(u)),
        // A public site serves anyone; a bad session is simply no session there.
        _ if world.public => Ok(None),
        Visitor::Anonymous => Err(PageAnswer::Html(login_page())),
        Visitor::BadSession => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            Err(PageAnswer::Redirect(format!("{uri}{sep}cleared=1")))
        }
    }
}

/// `GET /T<id>` as of the world's clock.
pub fn task_page(world: &World, id: u64, who: Visitor) -> PageAnswer {
    let viewer = match gate(world, who, &format!("/T{id}")) {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let now = world.now_epoch();
    let (Some(view), Some(task)) = (world.view_at(id, now), world.tasks.get(&id)) else {
        return PageAnswer::NotFound;
    };
    let visible: Vec<&Xact> = task.xacts.iter().filter(|x| x.at <= now).collect();
    let page = &visible[visible.len().saturating_sub(PAGE_SIZE)..];
    // The viewer rule: the newest of the viewer's comments among the events that are neither
    // the newest two nor the oldest two.
    let viewer_phid = viewer.map(|u| world.users[u].phid.as_str());
    let show_from = viewer_phid.and_then(|me| {
        let n = page.len();
        (2..n.saturating_sub(2))
            .rev()
            .find(|&i| matches!(page[i].kind, XactKind::Comment) && page[i].author == me)
    });
    let (shown, older) = match show_from {
        Some(i) => (
            &page[i..],
            Some((
                page[i].id,
                "Changes from before your most recent comment are hidden.",
            )),
        ),
        None if visible.len() > page.len() => (
            page,
            Some((
                page[0].id,
                "There are a very large number of changes, so older changes are hidden.",
            )),
        ),
        None => (page, None),
    };
    let (events, meta) = render_events(world, shown, now);
    let block = older
        .map(|(after, help)| show_older_block(task, after, help))
        .unwrap_or_default();
    let init = format!("{{\"block\":0,\"data\":[{}]}}", meta.join(","));
    PageAnswer::Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"UTF-8\" />\
         <title>\u{2693} T{id} {title}</title></head><body>\
         <div class=\"phui-timeline-view\" id=\"UQ0_2\">\n{block}{events}</div>\
         <data data-javelin-init-kind=\"merge\" data-javelin-init-data=\"{init}\"></data>\
         </body></html>\n",
        title = escape_html(&view.title),
        init = escape_html(&init),
    ))
}

/// `GET /transactions/showolder/<PHID>/?after=N`: the events older than `after`.
pub fn older_page(world: &World, object: &str, after: u64, who: Visitor) -> PageAnswer {
    if let Err(answer) = gate(
        world,
        who,
        &format!("/transactions/showolder/{object}/?after={after}"),
    ) {
        return answer;
    }
    let now = world.now_epoch();
    let Some(task) = world
        .task_by_phid(object)
        .and_then(|id| world.visible_task(id))
    else {
        return PageAnswer::NotFound;
    };
    let older: Vec<&Xact> = task
        .xacts
        .iter()
        .filter(|x| x.at <= now && x.id < after)
        .collect();
    let part = &older[older.len().saturating_sub(PAGE_SIZE)..];
    let (events, meta) = render_events(world, part, now);
    let block = if older.len() > part.len() {
        show_older_block(
            task,
            part[0].id,
            "There are a very large number of changes, so older changes are hidden.",
        )
    } else {
        String::new()
    };
    let timeline = format!("{block}{events}");
    PageAnswer::Ajax(format!(
        "for (;;);{{\"error\":null,\"payload\":{{\"timeline\":{}}},\"javelin_metadata\":[{}],\
         \"javelin_behaviors\":{{\"phui-hovercards\":[],\"phabricator-tooltips\":[]}},\
         \"javelin_resources\":[]}}",
        Value::from(timeline),
        meta.join(",")
    ))
}

/// The HTML of `events` and their Javelin metadata entries (tooltip, spacer, event).
fn render_events(world: &World, events: &[&Xact], now: i64) -> (String, Vec<String>) {
    let mut html = String::new();
    let mut meta = Vec::with_capacity(events.len());
    for x in events {
        let author = world
            .user_by_phid(&x.author)
            .map(|u| world.users[u].username.clone())
            .unwrap_or_default();
        let text = match &x.kind {
            XactKind::Comment => {
                let newest = x.versions.iter().rev().find(|v| v.at <= now);
                match newest {
                    Some(v) if v.removed => "This comment was removed.".to_string(),
                    Some(v) => v.text.clone(),
                    None => String::new(),
                }
            }
            other => format!("{} changed {}.", author, other.type_name()),
        };
        html.push_str(&format!(
            "<div class=\"phui-timeline-shell\" id=\"{anchor}\"><a name=\"{anchor}\"></a>\
             <span class=\"phui-timeline-title\"><a href=\"/p/{user}/\">{user}</a></span>\
             <div class=\"phabricator-remarkup\">{text}</div></div>\n",
            anchor = x.id,
            user = escape_html(&author),
            text = escape_html(&text),
        ));
        // Written by hand: the key order (tip; phid before anchor) is what clients match.
        meta.push(format!(
            "{{\"tip\":{}}},[],{{\"phid\":{},\"anchor\":\"{}\"}}",
            Value::from(x.via.tip()),
            Value::from(x.phid.as_str()),
            x.id
        ));
    }
    (html, meta)
}

/// Phorge's "Show Older Changes" block.
fn show_older_block(task: &Task, after: u64, help: &str) -> String {
    format!(
        "<div class=\"phui-timeline-older-transactions-are-hidden\" data-sigil=\"show-older-block\">\
         {help} <a href=\"/transactions/showolder/{phid}/?after={after}&amp;quoteTargetID=UQ0_1&amp;quoteRef=T{id}\" \
         data-mustcapture=\"1\" data-sigil=\"show-older-link\">Show Older Changes</a></div>\n",
        phid = task.phid,
        id = task.id,
    )
}

/// The login page a non-public Phorge shows an anonymous visitor (HTTP 200), in the shape of
/// `recorded/task-page-anonymous-login-required.html`.
fn login_page() -> String {
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"UTF-8\" />\
     <title>Authentication Failure</title></head><body class=\"device-desktop\">\
     <div class=\"main-page-frame\" id=\"main-page-frame\"><div id=\"phabricator-standard-page\" \
     class=\"phabricator-standard-page\"><div id=\"phabricator-standard-page-body\" \
     class=\"phabricator-standard-page-body\"><div class=\"phui-info-view phui-info-severity-error\">\
     <h1 class=\"phui-info-view-head\">Authentication Failure</h1><div class=\"phui-info-view-body\">\
     This server is not configured with any enabled authentication providers which can be used \
     to log in.</div></div></div></div></div>\
     <data data-javelin-init-kind=\"merge\" data-javelin-init-data=\"{&quot;block&quot;:0,&quot;data&quot;:[[]]}\"></data>\
     </body></html>\n"
        .to_string()
}
