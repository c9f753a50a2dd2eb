//! The task web page (`GET /T<id>`): a small HTML page whose timeline metadata carries, for
//! every visible transaction, the channel tooltip next to the transaction PHID and anchor,
//! HTML-escaped exactly as in `recorded/task-page-T1.html`.

use serde_json::Value;

use super::state::{World, XactKind};

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

/// The page of task `id` as of the world's clock, or `None` when it does not exist (yet).
pub fn task_page(world: &World, id: u64) -> Option<String> {
    let now = world.now_epoch();
    let view = world.view_at(id, now)?;
    let task = world.tasks.get(&id)?;
    let mut timeline = String::new();
    let mut meta: Vec<String> = Vec::new();
    for x in task.xacts.iter().filter(|x| x.at <= now) {
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
        timeline.push_str(&format!(
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
    let init = format!("{{\"block\":0,\"data\":[{}]}}", meta.join(","));
    Some(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"UTF-8\" />\
         <title>\u{2693} T{id} {title}</title></head><body>\
         <div class=\"phui-timeline-view\">\n{timeline}</div>\
         <data data-javelin-init-kind=\"merge\" data-javelin-init-data=\"{init}\"></data>\
         </body></html>\n",
        title = escape_html(&view.title),
        init = escape_html(&init),
    ))
}
