//! Reading tasks whatever one of them holds: pages of `maniphest.search` decoded task by task,
//! so that one task the client cannot read (an answer over the size cap, an object of the
//! wrong shape) is named and set aside while every other task is read.
//!
//! An answer over the cap is not lost: its head (the first bytes, read up to the cap) holds
//! the tasks before the one the cap cut through, whole, and that one's id (Phorge writes a
//! result item's `id` before its fields). The tasks before are decoded from the head, the cut
//! one is read alone; only when the head names no task is the page asked for again one task
//! at a time.

use super::client::{raw_result, result_of, shape_error, Answer, PAGE_LIMIT};
use super::token::Token;
use super::{Client, ConduitError};
use crate::ids::Phid;
use crate::wire::{Cursor, Task};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, VecDeque};
use std::ops::Range;

/// A task that could not be read, and why (never any of its text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableTask {
    /// Its id, when the answer shows it (a malformed object may hide even that).
    pub id: Option<u64>,
    /// Why, fit for a log line and the status view.
    pub reason: String,
}

/// One page of tasks, read task by task.
#[derive(Debug, Clone, Default)]
pub struct TasksPage {
    /// The tasks read.
    pub tasks: Vec<Task>,
    /// The tasks on the page that cannot be read.
    pub unreadable: Vec<UnreadableTask>,
    /// Where the next page starts (`None`: this was the last). After an answer over the size
    /// cap, the page ends at the task the cap cut through and the next one starts after it.
    pub after: Option<String>,
    /// The server's time when it answered (its `Date` header, epoch seconds), if it said.
    pub server_time: Option<i64>,
}

/// Tasks read by id.
#[derive(Debug, Clone, Default)]
pub struct TasksRead {
    /// The tasks read (tasks the bot may not see are missing).
    pub tasks: Vec<Task>,
    /// The tasks that cannot be read.
    pub unreadable: Vec<UnreadableTask>,
}

/// What the head of a `*.search` answer cut by the size cap holds: the byte ranges of the
/// result items it holds whole, and the id of the item the cut went through, if its id was
/// read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Head {
    pub complete: Vec<Range<usize>>,
    pub cut: Option<u64>,
}

/// Scans the head of an answer `{"result": {"data": [item, …], …}, …}` for its result items
/// (objects in `result.data`) and their `id`s, whatever order the keys come in. Linear; never
/// fails (a head that is no such answer holds no item).
pub(super) fn scan_head(head: &[u8]) -> Head {
    #[derive(PartialEq)]
    enum Frame {
        Object { key: Vec<u8>, want_key: bool },
        Array,
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut out = Head::default();
    // The start of the item being read, and its id once seen.
    let mut item: Option<(usize, Option<u64>)> = None;
    let mut i = 0;
    let key_is = |f: &Frame, k: &[u8]| matches!(f, Frame::Object { key, .. } if key == k);
    while i < head.len() {
        let b = head[i];
        match b {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < head.len() && head[j] != b'"' {
                    j += if head[j] == b'\\' { 2 } else { 1 };
                }
                if j >= head.len() {
                    break;
                }
                if let Some(Frame::Object { key, want_key }) = stack.last_mut() {
                    if *want_key {
                        *key = head[start..j].to_vec();
                    }
                }
                i = j + 1;
                continue;
            }
            b'{' => {
                let is_item = stack.len() == 3
                    && key_is(&stack[0], b"result")
                    && key_is(&stack[1], b"data")
                    && stack[2] == Frame::Array;
                if is_item {
                    item = Some((i, None));
                }
                stack.push(Frame::Object {
                    key: Vec::new(),
                    want_key: true,
                });
            }
            b'[' => stack.push(Frame::Array),
            b'}' | b']' => {
                stack.pop();
                if b == b'}' && stack.len() == 3 {
                    if let Some((start, _)) = item.take() {
                        out.complete.push(start..i + 1);
                    }
                }
            }
            b':' => {
                if let Some(Frame::Object { want_key, .. }) = stack.last_mut() {
                    *want_key = false;
                }
            }
            b',' => {
                if let Some(Frame::Object { want_key, .. }) = stack.last_mut() {
                    *want_key = true;
                }
            }
            b'0'..=b'9' if stack.len() == 4 && key_is(&stack[3], b"id") => {
                let mut j = i;
                let mut n: u64 = 0;
                while j < head.len() && head[j].is_ascii_digit() {
                    n = n
                        .saturating_mul(10)
                        .saturating_add(u64::from(head[j] - b'0'));
                    j += 1;
                }
                // A number cut by the end of the head is not the id.
                if j < head.len() {
                    if let Some((_, id)) = item.as_mut() {
                        id.get_or_insert(n);
                    }
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.cut = item.and_then(|(_, id)| id);
    out
}

/// Why a task's object is set aside.
fn malformed_reason() -> String {
    "Conduit returns the task in a shape accessbot cannot read (a value of the wrong type or a missing field)".into()
}

fn too_large_reason(limit: usize) -> String {
    format!(
        "the task is larger than the {} accessbot reads in one answer",
        human_bytes(limit)
    )
}

/// `32 MiB`, `64 KiB`, `1000 bytes`.
pub(crate) fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// Decodes one result item: a task, or why it is not one.
fn task_of(item: Value) -> Result<Task, UnreadableTask> {
    let id = item.get("id").and_then(Value::as_u64);
    serde_json::from_value::<Task>(item).map_err(|_| UnreadableTask {
        id,
        reason: malformed_reason(),
    })
}

/// Sorts decoded items into `tasks` and `unreadable`.
fn sort_items(items: Vec<Value>, tasks: &mut Vec<Task>, unreadable: &mut Vec<UnreadableTask>) {
    for item in items {
        match task_of(item) {
            Ok(t) => tasks.push(t),
            Err(u) => unreadable.push(u),
        }
    }
}

/// A whole `maniphest.search` answer read into `tasks` and `unreadable`, task by task; its
/// cursor. Each task is decoded from its own text, without a tree of the whole answer first
/// (the answers the bot reads most); an answer that is not the usual envelope and page is read
/// the slow way ([`whole_page`]), which says what is wrong with it.
fn read_whole(
    method: &str,
    body: &[u8],
    token: &Token,
    tasks: &mut Vec<Task>,
    unreadable: &mut Vec<UnreadableTask>,
) -> Result<Cursor, ConduitError> {
    #[derive(serde::Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        data: Vec<&'a RawValue>,
        // `null` is kept as text (an `Option` would read it as absent): a null cursor is a
        // shape error here as in the tree reading.
        #[serde(borrow, default, deserialize_with = "present")]
        cursor: Option<&'a RawValue>,
    }
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
        serde::Deserialize::deserialize(d).map(Some)
    }
    let page = raw_result(body)
        .flatten()
        .and_then(|r| serde_json::from_str::<Page>(r.get()).ok());
    let Some(page) = page else {
        let (items, cursor) = whole_page(method, body, token)?;
        sort_items(items, tasks, unreadable);
        return Ok(cursor);
    };
    let cursor = match page.cursor {
        Some(c) => serde_json::from_str(c.get()).map_err(|e| shape_error(method, &e))?,
        None => Cursor::default(),
    };
    for item in page.data {
        match serde_json::from_str::<Task>(item.get()) {
            Ok(t) => tasks.push(t),
            Err(_) => unreadable.push(UnreadableTask {
                id: serde_json::from_str::<Value>(item.get())
                    .ok()
                    .and_then(|v| v.get("id").and_then(Value::as_u64)),
                reason: malformed_reason(),
            }),
        }
    }
    Ok(cursor)
}

/// A whole `maniphest.search` answer, task by task: its items and its cursor.
fn whole_page(
    method: &str,
    body: &[u8],
    token: &Token,
) -> Result<(Vec<Value>, Cursor), ConduitError> {
    let mut result = match result_of(method, body, token)? {
        Value::Object(m) => m,
        _ => {
            return Err(ConduitError::Shape {
                method: method.to_string(),
                detail: "the result is not an object".into(),
            })
        }
    };
    let items = match result.remove("data") {
        Some(Value::Array(items)) => items,
        _ => {
            return Err(ConduitError::Shape {
                method: method.to_string(),
                detail: "the result has no list of data".into(),
            })
        }
    };
    let cursor: Cursor = match result.remove("cursor") {
        Some(c) => serde_json::from_value(c).map_err(|e| shape_error(method, &e))?,
        None => Cursor::default(),
    };
    Ok((items, cursor))
}

/// The items the head of an answer holds whole (an item that does not parse from its slice
/// is not one: the scan was fooled, and it is left out).
fn head_page(head: &[u8], scan: &Head) -> Vec<Value> {
    scan.complete
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&head[r.clone()]).ok())
        .collect()
}

impl Client {
    /// One page of the tasks tagged `project` (most recently modified first, with the
    /// `projects` and `columns` attachments; `modified_start`, epoch seconds, limits it to
    /// tasks modified since then), read task by task: a task that is not readable is named in
    /// [`TasksPage::unreadable`] and the others are read. An answer over the size cap yields the
    /// tasks its head holds and the one the cap cut through, read alone (over the cap alone,
    /// it is unreadable); a head that names no task is asked for again a task at a time.
    pub async fn read_tasks_page(
        &self,
        project: &Phid,
        modified_start: Option<i64>,
        after: Option<&str>,
    ) -> Result<TasksPage, ConduitError> {
        const METHOD: &str = "maniphest.search";
        let mut constraints = Map::new();
        constraints.insert("projects".into(), json!([project]));
        if let Some(ms) = modified_start.filter(|ms| *ms > 0) {
            constraints.insert("modifiedStart".into(), json!(ms));
        }
        let mut limit = PAGE_LIMIT;
        loop {
            let mut params = json!({
                "constraints": constraints,
                "attachments": {"projects": true, "columns": true},
                "order": "updated",
                "limit": limit,
            });
            if let (Some(a), Some(o)) = (after, params.as_object_mut()) {
                o.insert("after".into(), json!(a));
            }
            let (answer, server_time) = self.conduit_answer(METHOD, params).await?;
            let mut page = TasksPage {
                server_time,
                ..TasksPage::default()
            };
            match answer {
                Answer::Whole(body) => {
                    let cursor = read_whole(
                        METHOD,
                        &body,
                        self.token(),
                        &mut page.tasks,
                        &mut page.unreadable,
                    )?;
                    page.after = cursor.after;
                    return Ok(page);
                }
                Answer::Head(head) => {
                    let scan = scan_head(&head);
                    let items = head_page(&head, &scan);
                    let last = items
                        .last()
                        .and_then(|i| i.get("id"))
                        .and_then(Value::as_u64);
                    sort_items(items, &mut page.tasks, &mut page.unreadable);
                    match (scan.cut, last) {
                        (Some(cut), _) => {
                            if scan.complete.is_empty() {
                                // The first item alone filled the head: alone, it is over the cap.
                                page.unreadable.push(UnreadableTask {
                                    id: Some(cut),
                                    reason: too_large_reason(self.max_body_bytes()),
                                });
                            } else {
                                let alone = self.read_tasks(&[cut]).await?;
                                page.tasks.extend(alone.tasks);
                                page.unreadable.extend(alone.unreadable);
                            }
                            page.after = Some(cut.to_string());
                            return Ok(page);
                        }
                        // The cap fell between two items: go on after the last one read.
                        (None, Some(last)) => {
                            page.after = Some(last.to_string());
                            return Ok(page);
                        }
                        (None, None) if limit > 1 => limit = 1,
                        (None, None) => {
                            return Err(ConduitError::TooLarge {
                                method: METHOD.into(),
                                limit: self.max_body_bytes(),
                            })
                        }
                    }
                }
            }
        }
    }

    /// The tasks with these ids (`maniphest.search` by `ids`, with the `projects` and
    /// `columns` attachments), read task by task like [`Client::read_tasks_page`]: a task over
    /// the size cap or of the wrong shape is named in [`TasksRead::unreadable`]; tasks the bot
    /// may not see are missing.
    pub async fn read_tasks(&self, ids: &[u64]) -> Result<TasksRead, ConduitError> {
        const METHOD: &str = "maniphest.search";
        let mut out = TasksRead::default();
        let mut todo: VecDeque<Vec<u64>> = ids
            .chunks(PAGE_LIMIT as usize)
            .map(<[u64]>::to_vec)
            .collect();
        while let Some(chunk) = todo.pop_front() {
            let params = json!({
                "constraints": {"ids": chunk},
                "attachments": {"projects": true, "columns": true},
                "limit": PAGE_LIMIT,
            });
            match self.conduit_answer(METHOD, params).await?.0 {
                Answer::Whole(body) => {
                    read_whole(
                        METHOD,
                        &body,
                        self.token(),
                        &mut out.tasks,
                        &mut out.unreadable,
                    )?;
                }
                Answer::Head(head) => {
                    let scan = scan_head(&head);
                    let items = head_page(&head, &scan);
                    let mut done: BTreeSet<u64> = items
                        .iter()
                        .filter_map(|i| i.get("id").and_then(Value::as_u64))
                        .collect();
                    sort_items(items, &mut out.tasks, &mut out.unreadable);
                    match scan.cut {
                        Some(cut) if scan.complete.is_empty() || chunk.len() == 1 => {
                            out.unreadable.push(UnreadableTask {
                                id: Some(cut),
                                reason: too_large_reason(self.max_body_bytes()),
                            });
                            done.insert(cut);
                        }
                        Some(cut) => {
                            todo.push_front(vec![cut]);
                            done.insert(cut);
                        }
                        None if chunk.len() == 1 => {
                            out.unreadable.push(UnreadableTask {
                                id: Some(chunk[0]),
                                reason: too_large_reason(self.max_body_bytes()),
                            });
                            continue;
                        }
                        None => {}
                    }
                    let rest: Vec<u64> = chunk
                        .iter()
                        .copied()
                        .filter(|i| !done.contains(i))
                        .collect();
                    if rest.len() == chunk.len() {
                        // Nothing was learnt from the head: halve the chunk.
                        let (a, b) = rest.split_at(rest.len() / 2);
                        todo.push_back(a.to_vec());
                        todo.push_back(b.to_vec());
                    } else if !rest.is_empty() {
                        todo.push_back(rest);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"{"result":{"data":[{"id":12,"type":"TASK","phid":"PHID-TASK-a","fields":{"name":"a \"}]{[\" b","id":99},"attachments":{}},{"id":7,"type":"TASK","phid":"PHID-TASK-b","fields":{"name":"x"}}],"cursor":{"after":null}},"error_code":null,"error_info":null}"#;

    #[test]
    fn the_head_scan_finds_whole_items_and_the_cut_one() {
        let whole = scan_head(PAGE.as_bytes());
        assert_eq!(whole.complete.len(), 2);
        assert_eq!(whole.cut, None);
        let first: Value =
            serde_json::from_slice(&PAGE.as_bytes()[whole.complete[0].clone()]).unwrap();
        assert_eq!(first["id"], 12);
        // Cut inside the second item's fields: the first is whole, the second named.
        let cut_at = PAGE.find("\"x\"").unwrap();
        let head = scan_head(&PAGE.as_bytes()[..cut_at]);
        assert_eq!(head.complete.len(), 1);
        assert_eq!(head.cut, Some(7));
        // Cut inside the first item, after its id: nothing whole, the first named. An `id`
        // inside the fields is not the item's.
        let cut_at = PAGE.find("\"id\":99").unwrap();
        let head = scan_head(&PAGE.as_bytes()[..cut_at]);
        assert_eq!(
            head,
            Head {
                complete: vec![],
                cut: Some(12)
            }
        );
        // Cut in the middle of the id itself: not named.
        let cut_at = PAGE.find("12").unwrap() + 1;
        assert_eq!(scan_head(&PAGE.as_bytes()[..cut_at]).cut, None);
        // Keys in another order: the id after the fields is found when the head reaches it.
        let reordered =
            r#"{"error_code":null,"result":{"cursor":{},"data":[{"fields":{"id":3},"id":5}"#;
        assert_eq!(scan_head(reordered.as_bytes()).complete.len(), 1);
        assert_eq!(scan_head(&reordered.as_bytes()[..40]).cut, None);
        // Not an answer: nothing.
        assert_eq!(scan_head(b"<html>{\"id\":3}</html>"), Head::default());
        assert_eq!(scan_head(b""), Head::default());
    }

    /// The fast reading of a whole answer (each task from its own text) gives what the tree
    /// reading gives, for good, malformed and nameless items, and errors alike for answers that
    /// are not the usual page.
    #[test]
    fn a_whole_answer_reads_the_same_fast_as_through_a_tree() {
        let token = Token::new("api-abcdefghijklmnopqrstuvwxyz12".into());
        let good = r#"{"id": 1, "phid": "PHID-TASK-a", "fields": {"name": "t \u00e9\"x", "authorPHID": "PHID-USER-a", "status": {"value": "open", "name": "Open"}, "dateCreated": "1", "dateModified": 2}}"#;
        let bad =
            r#"{"id": 2, "phid": "PHID-TASK-b", "fields": {"name": "secret words", "status": 7}}"#;
        let bodies = [
            format!(r#"{{"result":{{"data":[{good},{bad},{{"phid":"c"}},5],"cursor":{{"after":"7"}}}},"error_code":null}}"#),
            format!(r#"{{"result":{{"data":[{good}]}},"error_code":null,"error_info":null}}"#),
            format!(r#"{{"result":{{"data":[{good}],"cursor":null}},"error_code":null}}"#),
            r#"{"result":{"data":[],"cursor":{"after":5}},"error_code":null}"#.to_string(),
            r#"{"result":{"data":{},"cursor":{}},"error_code":null}"#.to_string(),
            r#"{"result":null,"error_code":null}"#.to_string(),
            r#"{"result":[],"error_code":"ERR-CONDUIT-CORE","error_info":"api-abcdefghijklmnopqrstuvwxyz12"}"#.to_string(),
            r#"{"data":[]}"#.to_string(),
            "[1]".to_string(),
            "{".to_string(),
        ];
        for body in bodies {
            let (mut tasks, mut unreadable) = (Vec::new(), Vec::new());
            let fast = read_whole("m", body.as_bytes(), &token, &mut tasks, &mut unreadable)
                .map(|c| c.after)
                .map_err(|e| e.to_string());
            let slow = whole_page("m", body.as_bytes(), &token)
                .map(|(items, c)| {
                    let (mut t, mut u) = (Vec::new(), Vec::new());
                    sort_items(items, &mut t, &mut u);
                    (t, u, c.after)
                })
                .map_err(|e| e.to_string());
            match slow {
                Ok((t, u, after)) => {
                    assert_eq!(fast, Ok(after), "{body}");
                    assert_eq!(format!("{tasks:?}"), format!("{t:?}"), "{body}");
                    assert_eq!(unreadable, u, "{body}");
                }
                Err(e) => assert_eq!(fast, Err(e), "{body}"),
            }
        }
    }

    #[test]
    fn a_malformed_item_is_named_and_the_others_read() {
        let good = json!({"id": 1, "phid": "PHID-TASK-a", "fields": {
            "name": "t", "authorPHID": "PHID-USER-a", "status": {"value": "open", "name": "Open"},
            "dateCreated": 1, "dateModified": 2}});
        let bad = json!({"id": 2, "phid": "PHID-TASK-b", "fields": {"name": "secret words", "status": 7}});
        let nameless = json!({"phid": "PHID-TASK-c"});
        let (mut tasks, mut unreadable) = (Vec::new(), Vec::new());
        sort_items(vec![good, bad, nameless], &mut tasks, &mut unreadable);
        assert_eq!(tasks.iter().map(|t| t.id).collect::<Vec<_>>(), [1]);
        assert_eq!(
            unreadable.iter().map(|u| u.id).collect::<Vec<_>>(),
            [Some(2), None]
        );
        assert!(!unreadable[0].reason.contains("secret"), "{unreadable:?}");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(32 << 20), "32 MiB");
        assert_eq!(human_bytes(64 << 10), "64 KiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }
}
