//! The Conduit API of the simulator: request decoding (the `params=` JSON encoding and the
//! flat PHP-style form encoding), authentication, and one function per method answering in
//! the wire format of the recordings in `tests/fixtures/conduit/recorded/`.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::scenario::STATUSES;
use super::state::{hash32, EditOp, TaskView, World, XactKind};

/// A Conduit error: `error_code` and `error_info`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConduitError {
    /// `error_code`.
    pub code: String,
    /// `error_info`.
    pub info: String,
}

fn err(code: &str, info: impl Into<String>) -> ConduitError {
    ConduitError {
        code: code.to_string(),
        info: info.into(),
    }
}

fn core(info: impl Into<String>) -> ConduitError {
    err("ERR-CONDUIT-CORE", info)
}

/// The Conduit envelope for a result or an error.
pub fn envelope(r: &Result<Value, ConduitError>) -> Value {
    match r {
        Ok(v) => json!({"result": v, "error_code": null, "error_info": null}),
        Err(e) => json!({"result": null, "error_code": e.code, "error_info": e.info}),
    }
}

/// Keys Phorge writes first, in this order: `result` before `error_code` in the envelope,
/// `data` before `cursor` in a search result, `id`, `type`, `phid`, `fields` first in a
/// result item (see the recordings). Other keys follow in alphabetical order.
const WIRE_ORDER: &[&str] = &[
    "result",
    "error_code",
    "error_info",
    "data",
    "maps",
    "query",
    "cursor",
    "id",
    "type",
    "phid",
    "fields",
    "attachments",
];

/// The JSON text of an answer with its keys in Phorge's order (`WIRE_ORDER`): a client that
/// reads the head of an answer cut short finds a result item's id before its fields, as it
/// would from a real server.
pub fn wire_text(v: &Value) -> String {
    let mut out = String::new();
    write_wire(&mut out, v);
    out
}

fn write_wire(out: &mut String, v: &Value) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let first = WIRE_ORDER
                .iter()
                .filter_map(|k| m.get_key_value(*k))
                .chain(m.iter().filter(|(k, _)| !WIRE_ORDER.contains(&k.as_str())));
            for (i, (k, x)) in first.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_wire(out, x);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_wire(out, x);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A decoded call: its arguments and the token it carried.
#[derive(Debug, Clone)]
pub struct Call {
    /// Arguments, without metadata.
    pub params: Map<String, Value>,
    /// The API token, if any was sent where the encoding expects it.
    pub token: Option<String>,
}

/// The methods the simulator answers, with the arguments each declares.
const METHODS: &[(&str, &[&str])] = &[
    ("conduit.ping", &[]),
    ("conduit.query", &[]),
    ("user.whoami", &[]),
    ("user.search", SEARCH_ARGS),
    ("project.search", SEARCH_ARGS),
    ("project.column.search", SEARCH_ARGS),
    ("maniphest.search", SEARCH_ARGS),
    ("paste.search", SEARCH_ARGS),
    ("legalpad.document.search", SEARCH_ARGS),
    ("legalpad.signature.search", SEARCH_ARGS),
    (
        "transaction.search",
        &[
            "objectIdentifier",
            "objectType",
            "constraints",
            "before",
            "after",
            "limit",
        ],
    ),
    ("phid.lookup", &["names"]),
    ("phid.query", &["phids"]),
    ("maniphest.edit", &["objectIdentifier", "transactions"]),
];

const SEARCH_ARGS: &[&str] = &[
    "queryKey",
    "constraints",
    "attachments",
    "order",
    "before",
    "after",
    "limit",
];

/// Whether the simulator knows `method`.
pub fn known_method(method: &str) -> bool {
    METHODS.iter().any(|(m, _)| *m == method)
}

fn is_metadata(key: &str) -> bool {
    key.starts_with("api.") || matches!(key, "output" | "__conduit__" | "access_token" | "scope")
}

/// Decodes the body of `POST /api/<method>` the way Phorge does: a JSON content type is
/// refused; a `params` field is JSON holding the token under `__conduit__`; otherwise the
/// form fields are PHP-style nested arguments with the token in `api.token`.
pub fn decode(method: &str, content_type: Option<&str>, body: &[u8]) -> Result<Call, ConduitError> {
    if content_type.is_some_and(|c| {
        c.trim()
            .to_ascii_lowercase()
            .starts_with("application/json")
    }) {
        return Err(core(
            "Use form-encoded data to submit parameters to Conduit endpoints. Sending a \
             JSON-encoded body and setting 'Content-Type': 'application/json' is not currently \
             supported.",
        ));
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        core(format!(
            "Invalid parameter information was passed to method '{method}'."
        ))
    })?;
    if let Some((_, raw)) = fields.iter().find(|(k, _)| k == "params") {
        let bad = || {
            core(format!(
                "Invalid parameter information was passed to method '{method}'."
            ))
        };
        let mut params = match serde_json::from_str::<Value>(raw).map_err(|_| bad())? {
            Value::Object(m) => m,
            Value::Array(a) if a.is_empty() => Map::new(),
            _ => return Err(bad()),
        };
        let token = params
            .remove("__conduit__")
            .and_then(|c| c.get("token").and_then(Value::as_str).map(String::from));
        return Ok(Call { params, token });
    }
    let mut token = None;
    let mut root = Value::Object(Map::new());
    for (key, value) in fields {
        if key == "api.token" {
            token = Some(value);
            continue;
        }
        if is_metadata(&key) {
            continue;
        }
        insert_php(&mut root, &key, value);
    }
    let params = match normalize_lists(root) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    Ok(Call { params, token })
}

/// How deep PHP-style form keys may nest.
const MAX_NESTING: usize = 64;

/// Inserts `a[b][0]=v` into a tree of objects.
fn insert_php(root: &mut Value, key: &str, value: String) {
    let (head, rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    let mut path = vec![head.to_string()];
    let mut rest = rest;
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(end) = stripped.find(']') else { break };
        path.push(stripped[..end].to_string());
        rest = &stripped[end + 1..];
    }
    if path.len() > MAX_NESTING {
        return; // PHP drops such fields too (max_input_nesting_level).
    }
    let mut cur = root;
    let last = path.len() - 1;
    for (i, mut part) in path.into_iter().enumerate() {
        let Value::Object(map) = cur else { return };
        if part.is_empty() {
            part = map.len().to_string();
        }
        if i == last {
            map.insert(part, Value::String(value));
            return;
        }
        let entry = map.entry(part).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        cur = entry;
    }
}

/// Objects keyed `0..n` become lists, as PHP arrays do in JSON.
fn normalize_lists(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let n = map.len();
            let is_list = n > 0 && (0..n).all(|i| map.contains_key(&i.to_string()));
            if is_list {
                let mut map = map;
                Value::Array(
                    (0..n)
                        .map(|i| normalize_lists(map.remove(&i.to_string()).unwrap_or(Value::Null)))
                        .collect(),
                )
            } else {
                Value::Object(
                    map.into_iter()
                        .map(|(k, v)| (k, normalize_lists(v)))
                        .collect(),
                )
            }
        }
        other => other,
    }
}

/// Who is calling, and where the simulator is served (for `uri` fields).
pub struct Ctx {
    /// The authenticated user's index.
    pub viewer: usize,
    /// `http://host:port`.
    pub base: String,
}

/// Checks the token: the user it authenticates as, or the recorded error.
pub fn authenticate(world: &World, token: Option<&str>) -> Result<usize, ConduitError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(err("ERR-INVALID-SESSION", "Session key is not present."));
    };
    match world.user_by_token(token) {
        Some(u) if world.users[u].disabled => {
            Err(err("ERR-INVALID-AUTH", "User account is disabled."))
        }
        Some(u) => Ok(u),
        None if token.chars().count() != 32 => Err(err(
            "ERR-INVALID-AUTH",
            format!(
                "API token \"{token}\" has the wrong length. API tokens should be 32 \
                 characters long."
            ),
        )),
        None => Err(err(
            "ERR-INVALID-AUTH",
            format!("API token \"{token}\" is not valid."),
        )),
    }
}

/// Runs one call: argument check, authentication, the method.
pub fn dispatch(
    world: &mut World,
    method: &str,
    call: Call,
    base: &str,
) -> Result<Value, ConduitError> {
    let Some((_, declared)) = METHODS.iter().find(|(m, _)| *m == method) else {
        return Err(err(
            "ERR-CONDUIT-CALL",
            format!("Conduit API method \"{method}\" does not exist."),
        ));
    };
    let unknown: Vec<&str> = call
        .params
        .keys()
        .map(String::as_str)
        .filter(|k| !declared.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(err(
            "ERR-CONDUIT-CALL",
            format!(
                "API Method \"{method}\" does not define these parameters: '{}'.",
                unknown.join("', '")
            ),
        ));
    }
    if method == "conduit.ping" && call.token.is_none() {
        return Ok(json!("accessbot-sim"));
    }
    let viewer = authenticate(world, call.token.as_deref())?;
    world.materialize();
    let ctx = Ctx {
        viewer,
        base: base.to_string(),
    };
    let p = &call.params;
    match method {
        "conduit.ping" => Ok(json!("accessbot-sim")),
        "conduit.query" => Ok(conduit_query()),
        "user.whoami" => Ok(whoami(world, &ctx)),
        "user.search" => user_search(world, p),
        "project.search" => project_search(world, p),
        "project.column.search" => column_search(world, p),
        "maniphest.search" => maniphest_search(world, &ctx, p),
        "paste.search" => paste_search(world, &ctx, p),
        "legalpad.document.search" => document_search(world, &ctx, p),
        "legalpad.signature.search" => signature_search(world, &ctx, p),
        "transaction.search" => transaction_search(world, p),
        "phid.lookup" => phid_lookup(world, &ctx, p),
        "phid.query" => phid_query(world, &ctx, p),
        "maniphest.edit" => maniphest_edit(world, &ctx, p),
        _ => Err(err(
            "ERR-CONDUIT-CALL",
            format!("Conduit API method \"{method}\" does not exist."),
        )),
    }
}

/// `conduit.query`: the methods this server answers, with their declared parameters.
fn conduit_query() -> Value {
    let kind = |param: &str| match param {
        "queryKey" | "before" | "after" | "objectType" => "optional string",
        "constraints" => "optional map<string, wild>",
        "attachments" => "optional map<string, bool>",
        "order" => "optional order",
        "limit" => "optional int (default = 100)",
        "objectIdentifier" => "optional id|phid|string",
        "names" => "required list<string>",
        "phids" => "required list<phid>",
        "transactions" => "list<map<string, wild>>",
        _ => "wild",
    };
    let mut out = Map::new();
    for (method, params) in METHODS {
        let params: Map<String, Value> = params
            .iter()
            .map(|p| (p.to_string(), json!(kind(p))))
            .collect();
        out.insert(
            method.to_string(),
            json!({
                "description": format!("{method} (answered by the accessbot simulator)."),
                "params": php_map(params),
                "return": if *method == "conduit.ping" { "string" } else { "map<string, wild>" },
            }),
        );
    }
    Value::Object(out)
}

// ---- loose typing (the form encoding sends strings) ----

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn read_err(key: &str, what: &str) -> ConduitError {
    core(format!(
        "Error while reading \"{key}\": Expected {what}, got something else."
    ))
}

fn int_arg(key: &str, v: &Value) -> Result<i64, ConduitError> {
    as_int(v).ok_or_else(|| read_err(key, "integer"))
}

fn list_of<'a>(key: &str, v: &'a Value) -> Result<&'a Vec<Value>, ConduitError> {
    v.as_array().ok_or_else(|| read_err(key, "a list"))
}

fn int_list(key: &str, v: &Value) -> Result<Vec<i64>, ConduitError> {
    list_of(key, v)?
        .iter()
        .map(|x| as_int(x).ok_or_else(|| read_err(key, "a list of integers")))
        .collect()
}

fn str_list(key: &str, v: &Value) -> Result<Vec<String>, ConduitError> {
    list_of(key, v)?
        .iter()
        .map(|x| match x {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(read_err(key, "a list of strings")),
        })
        .collect()
}

fn object_arg(key: &str, v: Option<&Value>) -> Result<Map<String, Value>, ConduitError> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::Array(a)) if a.is_empty() => Ok(Map::new()),
        Some(_) => Err(read_err(key, "a map")),
    }
}

// ---- the common shape of *.search ----

struct Search {
    constraints: Map<String, Value>,
    attachments: HashSet<String>,
    order: Value,
    after: Option<u64>,
    before: Option<u64>,
    limit: usize,
    query_key: Value,
}

/// A row of a search answer that is not a task: its id and where it is in the world (a
/// project and a column, or a document and a signer).
type Row = (u64, usize, usize);

impl Search {
    /// One page of the results with these ids, in the order asked for (by id: newest first,
    /// or `oldest`), with its `after`/`before` cursors.
    fn page_by_id(&self, mut ids: Vec<u64>) -> (Vec<u64>, Option<String>, Option<String>) {
        if self.order.as_str() == Some("oldest") {
            ids.sort_unstable();
        } else {
            ids.sort_unstable_by(|a, b| b.cmp(a));
        }
        page(&ids, self.after, self.before, self.limit)
    }

    /// One page of rows (see [`Self::page_by_id`]).
    fn page_rows<'r>(&self, rows: &'r [Row]) -> (Vec<&'r Row>, Option<String>, Option<String>) {
        let (ids, next, prev) = self.page_by_id(rows.iter().map(|r| r.0).collect());
        let page = ids
            .iter()
            .filter_map(|id| rows.iter().find(|r| r.0 == *id))
            .collect();
        (page, next, prev)
    }

    /// A constraint that is a list of strings (PHIDs, names, statuses), when given.
    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, ConduitError> {
        self.constraints
            .get(key)
            .map(|v| str_list(key, v))
            .transpose()
    }

    /// A constraint that is a list of integers (`ids`), when given.
    fn ints(&self, key: &str) -> Result<Option<Vec<i64>>, ConduitError> {
        self.constraints
            .get(key)
            .map(|v| int_list(key, v))
            .transpose()
    }

    /// A constraint that is one integer (an epoch of a window), when given.
    fn int(&self, key: &str) -> Result<Option<i64>, ConduitError> {
        self.constraints
            .get(key)
            .map(|v| int_arg(key, v))
            .transpose()
    }
}

fn cursor_id(noun: &str, v: Option<&Value>) -> Result<Option<u64>, ConduitError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(x) => as_int(x)
            .filter(|n| *n >= 0)
            .map(|n| Some(n as u64))
            .ok_or_else(|| core(format!("{noun} IDs must be integer numbers."))),
    }
}

fn search_args(
    p: &Map<String, Value>,
    noun: &str,
    constraints: &[&str],
    attachments: &[&str],
) -> Result<Search, ConduitError> {
    let c = object_arg("constraints", p.get("constraints"))?;
    if c.keys().any(|k| !constraints.contains(&k.as_str())) {
        return Err(err(
            "ERR-INVALID-CONSTRAINT",
            "Parameter \"constraints\" includes an invalid key.",
        ));
    }
    let a = object_arg("attachments", p.get("attachments"))?;
    if a.keys().any(|k| !attachments.contains(&k.as_str())) {
        return Err(err(
            "ERR-INVALID-ATTACHMENT",
            "Parameter \"attachments\" includes an invalid key.",
        ));
    }
    let wanted = a
        .iter()
        .filter(|(_, v)| as_bool(v).unwrap_or(true))
        .map(|(k, _)| k.clone())
        .collect();
    let limit = match p.get("limit") {
        None | Some(Value::Null) => 100,
        Some(v) => int_arg("limit", v)?,
    };
    if limit > 100 {
        return Err(err(
            "ERR-INVALID-PAGE-SIZE",
            format!(
                "Maximum page size for Conduit API method calls is 100, but this call \
                 specified {limit}."
            ),
        ));
    }
    let query_key = match p.get("queryKey") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(k)) if matches!(k.as_str(), "all" | "open") => json!(k),
        Some(other) => {
            return Err(err(
                "ERR-BAD-QUERYKEY",
                format!("Unknown or invalid query key \"{}\".", plain(other)),
            ))
        }
    };
    Ok(Search {
        constraints: c,
        attachments: wanted,
        order: p.get("order").cloned().unwrap_or(Value::Null),
        after: cursor_id(noun, p.get("after"))?,
        before: cursor_id(noun, p.get("before"))?,
        limit: limit.max(1) as usize,
        query_key,
    })
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One page of an ordered id list: the ids, and the `after`/`before` cursors.
fn page(
    ordered: &[u64],
    after: Option<u64>,
    before: Option<u64>,
    limit: usize,
) -> (Vec<u64>, Option<String>, Option<String>) {
    let position = |id: u64| ordered.iter().position(|x| *x == id);
    let (start, end) = if let Some(a) = after {
        let start = position(a).map(|i| i + 1).unwrap_or_else(|| {
            // The cursor object left the result: continue by id in list order.
            let descending = ordered.windows(2).all(|w| w[0] >= w[1]);
            ordered
                .iter()
                .position(|x| if descending { *x < a } else { *x > a })
                .unwrap_or(ordered.len())
        });
        (start, (start + limit).min(ordered.len()))
    } else if let Some(b) = before {
        let end = position(b).unwrap_or(0);
        (end.saturating_sub(limit), end)
    } else {
        (0, limit.min(ordered.len()))
    };
    let ids = ordered[start..end].to_vec();
    let next = (end < ordered.len())
        .then(|| ids.last().map(u64::to_string))
        .flatten();
    let prev = (start > 0)
        .then(|| ids.first().map(u64::to_string))
        .flatten();
    (ids, next, prev)
}

fn search_result(
    data: Vec<Value>,
    maps: Value,
    s: &Search,
    next: Option<String>,
    prev: Option<String>,
) -> Value {
    json!({
        "data": data,
        "maps": maps,
        "query": {"queryKey": s.query_key},
        "cursor": {"limit": s.limit, "after": next, "before": prev, "order": s.order},
    })
}

// ---- users ----

fn roles(world: &World, u: usize, whoami: bool) -> Vec<&'static str> {
    let user = &world.users[u];
    let mut r = Vec::new();
    if user.disabled {
        r.push("disabled");
    }
    if user.bot {
        r.push(if whoami { "agent" } else { "bot" });
    }
    r.extend(["verified", "approved", "activated"]);
    r
}

fn whoami(world: &World, ctx: &Ctx) -> Value {
    let u = &world.users[ctx.viewer];
    json!({
        "phid": u.phid,
        "userName": u.username,
        "realName": u.real_name,
        "image": format!("{}/res/phabricator/profile.png", ctx.base),
        "uri": format!("{}/p/{}/", ctx.base, u.username),
        "roles": roles(world, ctx.viewer, true),
        "primaryEmail": format!("{}@example.org", u.username),
    })
}

fn user_search(world: &World, p: &Map<String, Value>) -> Result<Value, ConduitError> {
    let s = search_args(
        p,
        "User",
        &[
            "ids",
            "phids",
            "usernames",
            "nameLike",
            "isBot",
            "isDisabled",
        ],
        &[],
    )?;
    let mut set: Option<BTreeSet<usize>> = None;
    let mut narrow = |found: BTreeSet<usize>| {
        set = Some(match set.take() {
            None => found,
            Some(prev) => prev.intersection(&found).copied().collect(),
        })
    };
    for (k, v) in &s.constraints {
        match k.as_str() {
            "ids" => narrow(
                int_list(k, v)?
                    .into_iter()
                    .filter(|id| *id >= 1 && (*id as usize) <= world.users.len())
                    .map(|id| id as usize - 1)
                    .collect(),
            ),
            "phids" => narrow(
                str_list(k, v)?
                    .iter()
                    .filter_map(|x| world.user_by_phid(x))
                    .collect(),
            ),
            "usernames" => narrow(
                str_list(k, v)?
                    .iter()
                    .filter_map(|x| world.user_index(x))
                    .collect(),
            ),
            "nameLike" => {
                let needle = plain(v).to_lowercase();
                narrow(
                    (0..world.users.len())
                        .filter(|&i| {
                            world.users[i].username.to_lowercase().contains(&needle)
                                || world.users[i].real_name.to_lowercase().contains(&needle)
                        })
                        .collect(),
                )
            }
            "isBot" | "isDisabled" => {
                let want = as_bool(v).ok_or_else(|| read_err(k, "boolean"))?;
                narrow(
                    (0..world.users.len())
                        .filter(|&i| {
                            let u = &world.users[i];
                            (if k == "isBot" { u.bot } else { u.disabled }) == want
                        })
                        .collect(),
                )
            }
            _ => {}
        }
    }
    let found = set.unwrap_or_else(|| (0..world.users.len()).collect());
    let ids: Vec<u64> = found.iter().map(|i| world.users[*i].id).collect();
    let (ids, next, prev) = s.page_by_id(ids);
    let data = ids
        .iter()
        .map(|id| {
            let i = *id as usize - 1;
            let u = &world.users[i];
            json!({
                "id": u.id, "type": "USER", "phid": u.phid,
                "fields": {
                    "username": u.username, "realName": u.real_name,
                    "roles": roles(world, i, false),
                    "dateCreated": world.epoch0, "dateModified": world.epoch0,
                    "policy": {"view": "public", "edit": if u.bot { "admin" } else { "no-one" }},
                },
                "attachments": {},
            })
        })
        .collect();
    Ok(search_result(data, json!({}), &s, next, prev))
}

// ---- projects ----

fn project_search(world: &World, p: &Map<String, Value>) -> Result<Value, ConduitError> {
    let s = search_args(
        p,
        "Project",
        &["ids", "phids", "name", "slugs", "members"],
        &["members"],
    )?;
    let mut slug_map = Map::new();
    let mut keep: Vec<usize> = (0..world.projects.len()).collect();
    for (k, v) in &s.constraints {
        match k.as_str() {
            "ids" => {
                let ids = int_list(k, v)?;
                keep.retain(|&i| ids.contains(&(world.projects[i].id as i64)));
            }
            "phids" => {
                let phids = str_list(k, v)?;
                keep.retain(|&i| phids.contains(&world.projects[i].phid));
            }
            "name" => {
                let needle = plain(v).to_lowercase();
                keep.retain(|&i| world.projects[i].name.to_lowercase().contains(&needle));
            }
            "slugs" => {
                let slugs = str_list(k, v)?;
                let mut found = HashSet::new();
                for slug in slugs {
                    let key = slug.trim_start_matches('#').to_lowercase();
                    if let Some(i) = world.projects.iter().position(|pr| pr.slug == key) {
                        found.insert(i);
                        slug_map.insert(
                            slug.clone(),
                            json!({"slug": key, "projectPHID": world.projects[i].phid}),
                        );
                    }
                }
                keep.retain(|i| found.contains(i));
            }
            "members" => {
                let users: Vec<usize> = str_list(k, v)?
                    .iter()
                    .filter_map(|x| world.user_by_phid(x).or_else(|| world.user_index(x)))
                    .collect();
                keep.retain(|&i| users.iter().all(|u| world.projects[i].members.contains(u)));
            }
            _ => {}
        }
    }
    let ids: Vec<u64> = keep.iter().map(|i| world.projects[*i].id).collect();
    let (ids, next, prev) = s.page_by_id(ids);
    let data = ids
        .iter()
        .map(|id| {
            let pr = &world.projects[*id as usize - 1];
            let mut attachments = Map::new();
            if s.attachments.contains("members") {
                let members: Vec<Value> = pr
                    .members
                    .iter()
                    .map(|u| json!({"phid": world.users[*u].phid}))
                    .collect();
                attachments.insert("members".into(), json!({ "members": members }));
            }
            json!({
                "id": pr.id, "type": "PROJ", "phid": pr.phid,
                "fields": {
                    "name": pr.name, "slug": pr.slug, "subtype": "default",
                    "milestone": null, "depth": 0, "parent": null,
                    "icon": {"key": "project", "name": "Project", "icon": "fa-briefcase"},
                    "color": {"key": "blue", "name": "Blue"},
                    "status": "active", "spacePHID": null,
                    "dateCreated": world.epoch0, "dateModified": world.epoch0,
                    "policy": {"view": "public", "edit": "users", "join": "users"},
                    "description": "",
                },
                "attachments": attachments,
            })
        })
        .collect();
    Ok(search_result(
        data,
        json!({ "slugMap": slug_map }),
        &s,
        next,
        prev,
    ))
}

/// `project.column.search`: the columns of projects with a workboard.
fn column_search(world: &World, p: &Map<String, Value>) -> Result<Value, ConduitError> {
    let s = search_args(p, "Column", &["ids", "phids", "projects"], &[])?;
    let ids_f = s.ints("ids")?;
    let phids = s.strings("phids")?;
    let projects: Option<Vec<usize>> = s
        .strings("projects")?
        .map(|l| l.iter().filter_map(|x| world.project_index(x)).collect());
    let mut rows = Vec::new();
    for (pi, pr) in world.projects.iter().enumerate() {
        if pr.columns.len() < 2 || projects.as_ref().is_some_and(|l| !l.contains(&pi)) {
            continue;
        }
        for (seq, col) in pr.columns.iter().enumerate() {
            if ids_f
                .as_ref()
                .is_some_and(|l| !l.contains(&(col.id as i64)))
                || phids.as_ref().is_some_and(|l| !l.contains(&col.phid))
            {
                continue;
            }
            rows.push((col.id, pi, seq));
        }
    }
    let (rows, next, prev) = s.page_rows(&rows);
    let data = rows
        .into_iter()
        .map(|(_, pi, seq)| {
            let pr = &world.projects[*pi];
            let col = &pr.columns[*seq];
            json!({
                "id": col.id, "type": "PCOL", "phid": col.phid,
                "fields": {
                    "name": col.name, "proxyPHID": null,
                    "project": {"id": pr.id, "phid": pr.phid, "name": pr.name},
                    "isHidden": false, "isDefaultColumn": *seq == 0, "sequence": seq,
                    "dateCreated": world.epoch0, "dateModified": world.epoch0,
                    "policy": {"view": "users", "edit": "users"},
                },
                "attachments": {},
            })
        })
        .collect();
    Ok(search_result(data, json!({}), &s, next, prev))
}

// ---- tasks ----

fn status_json(key: &str) -> Value {
    let name = STATUSES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, n, _)| *n)
        .unwrap_or(key);
    json!({"value": key, "name": name, "color": null})
}

fn status_matches(status: &str, wanted: &[String]) -> bool {
    let closed = STATUSES.iter().any(|(k, _, c)| *k == status && *c);
    wanted.iter().any(|w| match w.as_str() {
        "open()" => !closed,
        "closed()" => closed,
        other => other == status,
    })
}

fn maniphest_search(
    world: &World,
    ctx: &Ctx,
    p: &Map<String, Value>,
) -> Result<Value, ConduitError> {
    let s = search_args(
        p,
        "Task",
        &[
            "ids",
            "phids",
            "projects",
            "statuses",
            "authorPHIDs",
            "subscribers",
            "createdStart",
            "createdEnd",
            "modifiedStart",
            "modifiedEnd",
        ],
        &["projects", "subscribers", "columns"],
    )?;
    let now = world.now_epoch();
    let ids_filter = s.ints("ids")?;
    let phids = s.strings("phids")?;
    let projects: Option<Vec<Option<String>>> = s.strings("projects")?.map(|names| {
        names
            .iter()
            .map(|n| {
                world
                    .project_index(n)
                    .map(|i| world.projects[i].phid.clone())
            })
            .collect()
    });
    let statuses = s.strings("statuses")?;
    let authors: Option<Vec<String>> = s.strings("authorPHIDs")?.map(|l| resolve_users(world, &l));
    let subscribers: Option<Vec<String>> =
        s.strings("subscribers")?.map(|l| resolve_users(world, &l));
    let (cs, ce, ms, me) = (
        s.int("createdStart")?,
        s.int("createdEnd")?,
        s.int("modifiedStart")?,
        s.int("modifiedEnd")?,
    );
    // Candidate ids: from `ids`/`phids` when given (index lookups), else every task.
    let candidates: Vec<u64> = match (&ids_filter, &phids) {
        (Some(ids), _) => ids.iter().filter(|i| **i > 0).map(|i| *i as u64).collect(),
        (None, Some(ph)) => ph.iter().filter_map(|x| world.task_by_phid(x)).collect(),
        (None, None) => world.tasks.keys().copied().collect(),
    };
    let only_open = s.query_key.as_str() == Some("open");
    let mut rows: Vec<(u64, Arc<TaskView>)> = Vec::new();
    let mut seen = HashSet::new();
    for id in candidates {
        if !seen.insert(id) {
            continue;
        }
        let Some(view) = world.view_at(id, now) else {
            continue;
        };
        let task = &world.tasks[&id];
        if let Some(ph) = &phids {
            if !ph.contains(&task.phid) {
                continue;
            }
        }
        if let Some(ps) = &projects {
            if !ps
                .iter()
                .all(|p| p.as_ref().is_some_and(|p| view.projects.contains(p)))
            {
                continue;
            }
        }
        if let Some(st) = &statuses {
            if !status_matches(&view.status, st) {
                continue;
            }
        }
        if only_open && !status_matches(&view.status, &["open()".to_string()]) {
            continue;
        }
        if let Some(a) = &authors {
            if !a.contains(&world.users[task.author].phid) {
                continue;
            }
        }
        if let Some(subs) = &subscribers {
            if !subs.iter().any(|x| view.subscribers.contains(x)) {
                continue;
            }
        }
        if cs.is_some_and(|t| task.at < t)
            || ce.is_some_and(|t| task.at > t)
            || ms.is_some_and(|t| view.date_modified < t)
            || me.is_some_and(|t| view.date_modified > t)
        {
            continue;
        }
        rows.push((id, view));
    }
    let order = match &s.order {
        Value::Null => "priority".to_string(),
        Value::String(o) => o.clone(),
        other => {
            return Err(core(format!(
                "The simulator supports only builtin orders, not {other}."
            )))
        }
    };
    match order.as_str() {
        "priority" | "newest" => rows.sort_by_key(|r| Reverse(r.0)),
        "oldest" => rows.sort_by_key(|r| r.0),
        "updated" => rows.sort_by_key(|r| Reverse((r.1.date_modified, r.0))),
        "outdated" => rows.sort_by_key(|r| (r.1.date_modified, r.0)),
        "title" => rows.sort_by(|a, b| (&a.1.title, a.0).cmp(&(&b.1.title, b.0))),
        other => {
            return Err(core(format!(
                "Order \"{other}\" is not a valid order for this query."
            )))
        }
    }
    let ordered: Vec<u64> = rows.iter().map(|r| r.0).collect();
    let (page_ids, next, prev) = page(&ordered, s.after, s.before, s.limit);
    let views: HashMap<u64, &Arc<TaskView>> = rows.iter().map(|(id, v)| (*id, v)).collect();
    let data = page_ids
        .iter()
        .filter_map(|id| Some(task_json(world, ctx, &s, *id, views.get(id)?)))
        .collect();
    Ok(search_result(data, json!({}), &s, next, prev))
}

fn resolve_users(world: &World, list: &[String]) -> Vec<String> {
    list.iter()
        .map(|x| match world.user_index(x) {
            Some(u) if !x.starts_with("PHID-") => world.users[u].phid.clone(),
            _ => x.clone(),
        })
        .collect()
}

fn task_json(world: &World, ctx: &Ctx, s: &Search, id: u64, view: &TaskView) -> Value {
    let task = &world.tasks[&id];
    let mut attachments = Map::new();
    if s.attachments.contains("projects") {
        attachments.insert(
            "projects".into(),
            json!({"projectPHIDs": view.projects.iter().collect::<Vec<_>>()}),
        );
    }
    if s.attachments.contains("subscribers") {
        let viewer = &world.users[ctx.viewer].phid;
        attachments.insert(
            "subscribers".into(),
            json!({
                "subscriberPHIDs": view.subscribers.iter().take(10).collect::<Vec<_>>(),
                "subscriberCount": view.subscribers.len(),
                "viewerIsSubscribed": view.subscribers.contains(viewer),
            }),
        );
    }
    if s.attachments.contains("columns") {
        let mut boards = Map::new();
        for p in &view.projects {
            let Some(pi) = world.project_index(p) else {
                continue;
            };
            if world.projects[pi].columns.len() < 2 {
                continue; // no workboard
            }
            let col = world.column_on_board(view, pi);
            boards.insert(
                p.clone(),
                json!({"columns": [{"id": col.id, "phid": col.phid, "name": col.name}]}),
            );
        }
        let boards = if boards.is_empty() {
            json!([])
        } else {
            Value::Object(boards)
        };
        attachments.insert("columns".into(), json!({ "boards": boards }));
    }
    let (closer, closed_at) = match &view.closed {
        Some((at, who)) => (json!(who), json!(at)),
        None => (Value::Null, Value::Null),
    };
    if world.mangled.contains(&id) {
        // A status that is no {value, name} object: no client can read this task.
        return json!({
            "id": id, "type": "TASK", "phid": task.phid,
            "fields": {"name": view.title, "status": 7, "dateModified": "soon"},
            "attachments": attachments,
        });
    }
    json!({
        "id": id, "type": "TASK", "phid": task.phid,
        "fields": {
            "name": view.title,
            "description": {"raw": view.description},
            "authorPHID": world.users[task.author].phid,
            "ownerPHID": null,
            "status": status_json(&view.status),
            "priority": {"value": 90, "name": "Needs Triage", "color": "violet"},
            "points": null, "subtype": "default",
            "closerPHID": closer, "dateClosed": closed_at,
            "groupByProjectPHID": null, "spacePHID": null,
            "dateCreated": task.at, "dateModified": view.date_modified,
            "policy": {"view": "users", "interact": "users", "edit": "users"},
        },
        "attachments": attachments,
    })
}

// ---- transactions ----

fn transaction_search(world: &World, p: &Map<String, Value>) -> Result<Value, ConduitError> {
    if p.get("objectType").is_some_and(|v| !v.is_null()) {
        return Err(core(
            "The simulator answers transaction.search only with \"objectIdentifier\".",
        ));
    }
    let ident = p
        .get("objectIdentifier")
        .map(plain)
        .ok_or_else(|| core("When calling \"transaction.search\", you must provide an object to retrieve transactions for."))?;
    let c = object_arg("constraints", p.get("constraints"))?;
    if c.keys().any(|k| k != "phids" && k != "authorPHIDs") {
        return Err(err(
            "ERR-INVALID-CONSTRAINT",
            "Parameter \"constraints\" includes an invalid key.",
        ));
    }
    let mut filters = Vec::new();
    for key in ["phids", "authorPHIDs"] {
        if let Some(v) = c.get(key) {
            let l = str_list(key, v)?;
            if l.is_empty() {
                return Err(core(format!(
                    "Constraint \"{key}\" to \"transaction.search\" requires nonempty list, \
                     empty list provided."
                )));
            }
            filters.push((key, l));
        }
    }
    let limit = match p.get("limit") {
        None | Some(Value::Null) => 100,
        Some(v) => int_arg("limit", v)?.clamp(1, 1000),
    } as usize;
    let after = cursor_id("Transaction", p.get("after"))?;
    let before = cursor_id("Transaction", p.get("before"))?;
    let now = world.now_epoch();
    let missing = || {
        err(
            "ERR-INVALID-OBJECT-PHID",
            "Specified \"objectIdentifier\" does not exist.",
        )
    };
    let is_paste = ident.starts_with("PHID-PSTE-")
        || (ident.starts_with('P') && ident[1..].parse::<u64>().is_ok());
    if is_paste {
        let id = if ident.starts_with("PHID-") {
            world.paste_by_phid(&ident)
        } else {
            ident[1..].parse().ok()
        };
        let paste = id
            .and_then(|i| world.pastes.get(&i))
            .filter(|p| p.at <= now)
            .ok_or_else(missing)?;
        return Ok(paste_xacts(
            world,
            paste,
            now,
            &filters,
            (after, before, limit),
        ));
    }
    let task_id = world.resolve_task(&ident).ok_or_else(missing)?;
    let task = world.visible_task(task_id).ok_or_else(missing)?;
    let visible: Vec<&super::state::Xact> = task
        .xacts
        .iter()
        .filter(|x| x.at <= now)
        .filter(|x| {
            filters.iter().all(|(k, l)| match *k {
                "phids" => l.contains(&x.phid),
                _ => l.contains(&x.author),
            })
        })
        .collect();
    let mut ordered: Vec<u64> = visible.iter().map(|x| x.id).collect();
    ordered.sort_unstable_by(|a, b| b.cmp(a));
    let (ids, next, prev) = page(&ordered, after, before, limit);
    let data: Vec<Value> = ids
        .iter()
        .filter_map(|id| visible.iter().find(|x| x.id == *id))
        .map(|x| xact_json(task, x, now))
        .collect();
    Ok(json!({"data": data, "cursor": {"limit": limit, "after": next, "before": prev}}))
}

/// A paste's transactions as Phorge lists them (file 42): the creation's `create`, then one
/// transaction per text change, each with its author and time; every type but `create` is
/// `null` and `fields` is empty, so only who and when can be read.
fn paste_xacts(
    world: &World,
    paste: &super::state::Paste,
    now: i64,
    filters: &[(&str, Vec<String>)],
    (after, before, limit): (Option<u64>, Option<u64>, usize),
) -> Value {
    let mut visible: Vec<Value> = Vec::new();
    let mut ordered: Vec<u64> = Vec::new();
    for (j, v) in paste
        .versions
        .iter()
        .enumerate()
        .filter(|(_, v)| v.at <= now)
    {
        let author = &world.users[v.author].phid;
        let group = hash32(&format!("group/P{}/v{j}", paste.id), 32);
        for (k, (id, phid)) in v.xacts.iter().enumerate() {
            let kept = filters.iter().all(|(k, l)| match *k {
                "phids" => l.contains(phid),
                _ => l.contains(author),
            });
            if !kept {
                continue;
            }
            let kind = if j == 0 && k == 0 {
                json!("create")
            } else {
                Value::Null
            };
            ordered.push(*id);
            visible.push(json!({
                "id": id, "phid": phid, "type": kind,
                "authorPHID": author, "objectPHID": paste.phid,
                "dateCreated": v.at, "dateModified": v.at,
                "groupID": group, "comments": [], "fields": {},
            }));
        }
    }
    ordered.sort_unstable_by(|a, b| b.cmp(a));
    let (ids, next, prev) = page(&ordered, after, before, limit);
    let data: Vec<Value> = ids
        .iter()
        .filter_map(|id| visible.iter().find(|x| x["id"] == *id).cloned())
        .collect();
    json!({"data": data, "cursor": {"limit": limit, "after": next, "before": prev}})
}

fn ops_json(ops: &[(bool, String)]) -> Value {
    let ops: Vec<Value> = ops
        .iter()
        .map(|(add, phid)| json!({"operation": if *add { "add" } else { "remove" }, "phid": phid}))
        .collect();
    json!({ "operations": ops })
}

fn xact_json(task: &super::state::Task, x: &super::state::Xact, now: i64) -> Value {
    let versions: Vec<&super::state::Version> =
        x.versions.iter().filter(|v| v.at <= now).rev().collect();
    let removed = versions.first().is_some_and(|v| v.removed);
    let comments: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({
                "id": v.id, "phid": v.phid, "version": v.version,
                "authorPHID": v.author, "dateCreated": v.at, "dateModified": v.at,
                "removed": v.removed,
                "content": {"raw": if removed { "" } else { v.text.as_str() }},
            })
        })
        .collect();
    let modified = versions.first().map(|v| v.at.max(x.at)).unwrap_or(x.at);
    let fields = match &x.kind {
        XactKind::Create | XactKind::Comment => json!({}),
        XactKind::Title { old, new } | XactKind::Description { old, new } => {
            json!({"old": old, "new": new})
        }
        XactKind::Status { old, new } => json!({"old": old, "new": new}),
        XactKind::Projects(ops) | XactKind::Subscribers(ops) => ops_json(ops),
        XactKind::Columns {
            column,
            board,
            from,
        } => {
            let from = match from {
                Some(f) => json!({ f.clone(): f }),
                None => json!([]),
            };
            json!({"old": null, "new": [{
                "columnPHID": column, "beforePHIDs": [], "afterPHIDs": [],
                "boardPHID": board, "fromColumnPHIDs": from,
            }]})
        }
    };
    json!({
        "id": x.id, "phid": x.phid, "type": x.kind.type_name(),
        "authorPHID": x.author, "objectPHID": task.phid,
        "dateCreated": x.at, "dateModified": modified,
        "groupID": x.group_id,
        "comments": comments,
        "fields": fields,
    })
}

// ---- pastes ----

fn paste_search(world: &World, ctx: &Ctx, p: &Map<String, Value>) -> Result<Value, ConduitError> {
    let s = search_args(p, "Paste", &["ids", "phids", "authorPHIDs"], &["content"])?;
    let now = world.now_epoch();
    let ids_f = s.ints("ids")?;
    let phids = s.strings("phids")?;
    let authors = s.strings("authorPHIDs")?.map(|l| resolve_users(world, &l));
    let ids: Vec<u64> = world
        .pastes
        .values()
        .filter(|x| x.at <= now)
        .filter(|x| ids_f.as_ref().is_none_or(|l| l.contains(&(x.id as i64))))
        .filter(|x| phids.as_ref().is_none_or(|l| l.contains(&x.phid)))
        .filter(|x| {
            authors
                .as_ref()
                .is_none_or(|l| l.contains(&world.users[x.author].phid))
        })
        .map(|x| x.id)
        .collect();
    let (ids, next, prev) = s.page_by_id(ids);
    let data = ids
        .iter()
        .filter_map(|id| world.pastes.get(id))
        .filter_map(|x| Some((x, x.version_at(now)?)))
        .map(|(x, v)| {
            let mut attachments = Map::new();
            if s.attachments.contains("content") {
                attachments.insert("content".into(), json!({"content": v.content}));
            }
            json!({
                "id": x.id, "type": "PSTE", "phid": x.phid,
                "fields": {
                    "title": x.title, "uri": format!("{}/P{}", ctx.base, x.id),
                    "authorPHID": world.users[x.author].phid,
                    "language": "text", "status": "active", "spacePHID": null,
                    "dateCreated": x.at, "dateModified": v.at,
                    "policy": {"view": "users", "edit": "users"},
                },
                "attachments": attachments,
            })
        })
        .collect();
    Ok(search_result(data, json!({}), &s, next, prev))
}

// ---- Legalpad ----

/// Whether `viewer` may see signature rows of document `d` signed by `signer`.
fn can_see_signature(world: &World, d: usize, signer: usize, viewer: usize) -> bool {
    signer == viewer || world.documents[d].editors.contains(&viewer)
}

fn signature_entry(world: &World, d: usize, sig: u64, signer: usize) -> Value {
    let doc = &world.documents[d];
    let u = &world.users[signer];
    json!({
        "phid": super::state::signature_phid(doc.id, &u.username),
        "signerPHID": u.phid, "exemptionPHID": null, "isExemption": false,
        "signerName": u.real_name, "signerEmail": format!("{}@example.org", u.username),
        "documentVersion": 1, "dateCreated": world.epoch0 + sig as i64,
    })
}

fn document_search(
    world: &World,
    ctx: &Ctx,
    p: &Map<String, Value>,
) -> Result<Value, ConduitError> {
    let s = search_args(
        p,
        "Document",
        &["ids", "phids", "signerPHIDs"],
        &["body", "signatures"],
    )?;
    let ids_f = s.ints("ids")?;
    let phids = s.strings("phids")?;
    let signers: Option<Vec<usize>> = s.strings("signerPHIDs")?.map(|l| {
        l.iter()
            .filter_map(|x| world.user_by_phid(x).or_else(|| world.user_index(x)))
            .collect()
    });
    let keep: Vec<usize> = (0..world.documents.len())
        .filter(|&d| {
            let doc = &world.documents[d];
            ids_f.as_ref().is_none_or(|l| l.contains(&(doc.id as i64)))
                && phids.as_ref().is_none_or(|l| l.contains(&doc.phid))
                // The signer filter works in the database: no visibility rule.
                && signers.as_ref().is_none_or(|l| {
                    doc.signatures.iter().any(|(_, u)| l.contains(u))
                })
        })
        .collect();
    let ids: Vec<u64> = keep.iter().map(|d| world.documents[*d].id).collect();
    let (ids, next, prev) = s.page_by_id(ids);
    let creator = world
        .users
        .iter()
        .find(|u| !u.bot)
        .map(|u| u.phid.clone())
        .unwrap_or_else(|| super::state::user_phid("admin"));
    let data = ids
        .iter()
        .filter_map(|id| world.documents.iter().position(|d| d.id == *id))
        .map(|d| {
            let doc = &world.documents[d];
            let mut attachments = Map::new();
            if s.attachments.contains("body") {
                attachments.insert(
                    "body".into(),
                    json!({"body": format!("{}.", doc.title), "preamble": ""}),
                );
            }
            if s.attachments.contains("signatures") {
                let sigs: Vec<Value> = doc
                    .signatures
                    .iter()
                    .rev()
                    .filter(|(_, u)| can_see_signature(world, d, *u, ctx.viewer))
                    .map(|(sig, u)| signature_entry(world, d, *sig, *u))
                    .collect();
                attachments.insert("signatures".into(), json!({ "signatures": sigs }));
            }
            json!({
                "id": doc.id, "type": "LEGD", "phid": doc.phid,
                "fields": {
                    "title": doc.title, "creatorPHID": creator, "versions": "1",
                    "requireSignature": false,
                    "dateCreated": world.epoch0, "dateModified": world.epoch0,
                    "policy": {"view": "users", "edit": "admin"},
                },
                "attachments": attachments,
            })
        })
        .collect();
    Ok(search_result(data, json!({}), &s, next, prev))
}

fn signature_search(
    world: &World,
    ctx: &Ctx,
    p: &Map<String, Value>,
) -> Result<Value, ConduitError> {
    let s = search_args(
        p,
        "Signature",
        &[
            "signerPHIDs",
            "documentPHIDs",
            "nameContains",
            "emailContains",
        ],
        &[],
    )?;
    let c = &s.constraints;
    let signers: Option<Vec<usize>> = s.strings("signerPHIDs")?.map(|l| {
        l.iter()
            .filter_map(|x| world.user_by_phid(x).or_else(|| world.user_index(x)))
            .collect()
    });
    let docs = s.strings("documentPHIDs")?;
    let name = c.get("nameContains").map(|v| plain(v).to_lowercase());
    let email = c.get("emailContains").map(|v| plain(v).to_lowercase());
    let mut rows: Vec<Row> = Vec::new();
    for (d, doc) in world.documents.iter().enumerate() {
        if docs.as_ref().is_some_and(|l| !l.contains(&doc.phid)) {
            continue;
        }
        for (sig, u) in &doc.signatures {
            let user = &world.users[*u];
            if signers.as_ref().is_some_and(|l| !l.contains(u))
                || name
                    .as_ref()
                    .is_some_and(|n| !user.real_name.to_lowercase().contains(n))
                || email.as_ref().is_some_and(|e| {
                    !format!("{}@example.org", user.username)
                        .to_lowercase()
                        .contains(e)
                })
                || !can_see_signature(world, d, *u, ctx.viewer)
            {
                continue;
            }
            rows.push((*sig, d, *u));
        }
    }
    let (rows, next, prev) = s.page_rows(&rows);
    let data = rows
        .into_iter()
        .map(|(sig, d, u)| {
            let doc = &world.documents[*d];
            let user = &world.users[*u];
            json!({
                "id": sig, "type": "LEGS",
                "phid": super::state::signature_phid(doc.id, &user.username),
                "fields": {
                    "documentPHID": doc.phid, "signerPHID": user.phid, "exemptionPHID": null,
                    "signerName": user.real_name,
                    "signerEmail": format!("{}@example.org", user.username),
                    "isExemption": false,
                    "dateCreated": world.epoch0 + *sig as i64,
                    "dateModified": world.epoch0 + *sig as i64,
                    "policy": {"view": "admin"},
                },
                "attachments": {},
            })
        })
        .collect();
    Ok(search_result(data, json!({}), &s, next, prev))
}

// ---- handles ----

fn handle(world: &World, ctx: &Ctx, name: &str) -> Option<Value> {
    let now = world.now_epoch();
    let h =
        |phid: &str, uri: String, type_name: &str, ty: &str, n: String, full: String, st: &str| {
            json!({"phid": phid, "uri": uri, "typeName": type_name, "type": ty,
               "name": n, "fullName": full, "status": st})
        };
    if let Some(u) = name.strip_prefix('@') {
        let i = world.user_index(u)?;
        let user = &world.users[i];
        return Some(h(
            &user.phid,
            format!("{}/p/{}/", ctx.base, user.username),
            "User",
            "USER",
            user.username.clone(),
            format!("{} ({})", user.username, user.real_name),
            if user.disabled { "closed" } else { "open" },
        ));
    }
    if let Some(slug) = name.strip_prefix('#') {
        let i = world.project_index(slug)?;
        let pr = &world.projects[i];
        return Some(h(
            &pr.phid,
            format!("{}/tag/{}/", ctx.base, pr.slug),
            "Project",
            "PROJ",
            pr.name.clone(),
            pr.name.clone(),
            "open",
        ));
    }
    let number = |c: char| super::scenario::monogram_number(name, c);
    if let Some(id) = number('T') {
        let view = world.view_at(id, now)?;
        let task = &world.tasks[&id];
        return Some(h(
            &task.phid,
            format!("{}/T{id}", ctx.base),
            "Maniphest Task",
            "TASK",
            format!("T{id}"),
            format!("T{id}: {}", view.title),
            if view.closed.is_some() {
                "closed"
            } else {
                "open"
            },
        ));
    }
    if let Some(id) = number('P') {
        let paste = world.pastes.get(&id).filter(|p| p.at <= now)?;
        return Some(h(
            &paste.phid,
            format!("{}/P{id}", ctx.base),
            "Paste",
            "PSTE",
            format!("P{id}"),
            format!("P{id} {}", paste.title),
            "open",
        ));
    }
    if let Some(id) = number('L') {
        let doc = world.documents.iter().find(|d| d.id == id)?;
        let full = format!("L{id} {}", doc.title);
        return Some(h(
            &doc.phid,
            format!("{}/L{id}", ctx.base),
            "Legalpad Document",
            "LEGD",
            full.clone(),
            full,
            "open",
        ));
    }
    None
}

/// A map result; PHP encodes an empty one as `[]`.
fn php_map(m: Map<String, Value>) -> Value {
    if m.is_empty() {
        json!([])
    } else {
        Value::Object(m)
    }
}

fn phid_lookup(world: &World, ctx: &Ctx, p: &Map<String, Value>) -> Result<Value, ConduitError> {
    let names = match p.get("names") {
        Some(v) => str_list("names", v)?,
        None => Vec::new(),
    };
    let mut out = Map::new();
    for n in names {
        if let Some(h) = handle(world, ctx, &n) {
            out.insert(n, h);
        }
    }
    Ok(php_map(out))
}

fn phid_query(world: &World, ctx: &Ctx, p: &Map<String, Value>) -> Result<Value, ConduitError> {
    let phids = match p.get("phids") {
        Some(v) => str_list("phids", v)?,
        None => Vec::new(),
    };
    let mut out = Map::new();
    for phid in phids {
        let name = if let Some(u) = world.user_by_phid(&phid) {
            format!("@{}", world.users[u].username)
        } else if let Some(pi) = world
            .project_index(&phid)
            .filter(|_| phid.starts_with("PHID-PROJ-"))
        {
            format!("#{}", world.projects[pi].slug)
        } else if let Some(t) = world.task_by_phid(&phid) {
            format!("T{t}")
        } else if let Some(pa) = world.paste_by_phid(&phid) {
            format!("P{pa}")
        } else if let Some(d) = world.documents.iter().find(|d| d.phid == phid) {
            format!("L{}", d.id)
        } else {
            continue;
        };
        if let Some(h) = handle(world, ctx, &name) {
            out.insert(phid, h);
        }
    }
    Ok(php_map(out))
}

// ---- maniphest.edit ----

const EDIT_TYPES: &str = "parent, column, space, title, owner, status, priority, description, \
parents.add, parents.remove, parents.set, subtasks.add, subtasks.remove, subtasks.set, \
commits.add, commits.remove, commits.set, view, edit, projects.add, projects.remove, \
projects.set, subscribers.add, subscribers.remove, subscribers.set, subtype, comment, mfa";

fn maniphest_edit(
    world: &mut World,
    ctx: &Ctx,
    p: &Map<String, Value>,
) -> Result<Value, ConduitError> {
    let ident = p
        .get("objectIdentifier")
        .filter(|v| !v.is_null())
        .map(plain)
        .ok_or_else(|| core("The simulator does not create tasks: pass \"objectIdentifier\"."))?;
    let id = world
        .resolve_task(&ident)
        .filter(|id| world.visible_task(*id).is_some())
        .ok_or_else(|| core(format!("No object exists with ID \"{ident}\".")))?;
    let list: Vec<Value> = match p.get("transactions") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Object(m)) => m.values().cloned().collect(),
        _ => {
            return Err(core(
                "Parameter \"transactions\" must be a list of transactions.",
            ))
        }
    };
    let valid: Vec<&str> = EDIT_TYPES.split(", ").collect();
    let view = world
        .view_at(id, world.now_epoch())
        .ok_or_else(|| core(format!("No object exists with ID \"{ident}\".")))?;
    let mut ops = Vec::new();
    for (k, x) in list.iter().enumerate() {
        let ty = x.get("type").map(plain).unwrap_or_default();
        let Some(value) = x.get("value") else {
            return Err(core(format!(
                "Transaction with key \"{k}\" has no \"value\" key. Transactions must have a \
                 value."
            )));
        };
        if !valid.contains(&ty.as_str()) {
            return Err(core(format!(
                "Transaction with key \"{k}\" has invalid type \"{ty}\". This type is not \
                 recognized. Valid types are: {EDIT_TYPES}."
            )));
        }
        let projects = |v: &Value| -> Result<Vec<String>, ConduitError> {
            str_list("value", v)?
                .iter()
                .map(|n| {
                    world
                        .project_index(n)
                        .map(|i| world.projects[i].phid.clone())
                        .ok_or_else(|| {
                            core(format!(
                                "Transaction with key \"{k}\": no project \"{n}\" exists."
                            ))
                        })
                })
                .collect()
        };
        let users = |v: &Value| -> Result<Vec<String>, ConduitError> {
            str_list("value", v)?
                .iter()
                .map(|n| {
                    world
                        .user_by_phid(n)
                        .or_else(|| world.user_index(n))
                        .map(|i| world.users[i].phid.clone())
                        .ok_or_else(|| {
                            core(format!(
                                "Transaction with key \"{k}\": no user \"{n}\" exists."
                            ))
                        })
                })
                .collect()
        };
        ops.push(match ty.as_str() {
            "comment" => EditOp::Comment(plain(value)),
            "projects.add" => EditOp::Projects {
                add: projects(value)?,
                remove: vec![],
            },
            "projects.remove" => EditOp::Projects {
                add: vec![],
                remove: projects(value)?,
            },
            "projects.set" => {
                let new = projects(value)?;
                let remove = view
                    .projects
                    .iter()
                    .filter(|p| !new.contains(p))
                    .cloned()
                    .collect();
                EditOp::Projects { add: new, remove }
            }
            "subscribers.add" => EditOp::Subscribers {
                add: users(value)?,
                remove: vec![],
            },
            "subscribers.remove" => EditOp::Subscribers {
                add: vec![],
                remove: users(value)?,
            },
            "column" => {
                let first = match value {
                    Value::String(s) => Some(s.clone()),
                    Value::Array(a) => a.first().map(|c| match c {
                        Value::Object(o) => o.get("columnPHID").map(plain).unwrap_or_default(),
                        other => plain(other),
                    }),
                    _ => None,
                }
                .unwrap_or_default();
                if world.column(&first).is_none() {
                    return Err(core(format!(
                        "Transaction with key \"{k}\": column \"{first}\" does not exist."
                    )));
                }
                EditOp::Column(first)
            }
            "status" => {
                let st = plain(value);
                if !super::scenario::known_status(&st) {
                    return Err(core(format!(
                        "Transaction with key \"{k}\": status \"{st}\" is not a valid status."
                    )));
                }
                EditOp::Status(st)
            }
            "title" => EditOp::Title(plain(value)),
            "description" => EditOp::Description(plain(value)),
            other => {
                return Err(core(format!(
                    "Transaction with key \"{k}\" has type \"{other}\", which the simulator \
                     does not implement."
                )))
            }
        });
    }
    let phids = world.edit(id, ctx.viewer, ops);
    let task = &world.tasks[&id];
    let xacts: Vec<Value> = phids.iter().map(|p| json!({ "phid": p })).collect();
    Ok(json!({"object": {"id": id, "phid": task.phid}, "transactions": xacts}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_form_fields_nest_into_lists_and_maps() {
        let body = b"api.token=api-x&constraints[ids][0]=12&constraints[ids][1]=13&attachments[projects]=1&transactions[0][type]=comment&transactions[0][value]=hi";
        let call = decode("maniphest.search", None, body).expect("decodes");
        assert_eq!(call.token.as_deref(), Some("api-x"));
        assert_eq!(
            Value::Object(call.params),
            json!({"constraints": {"ids": ["12", "13"]}, "attachments": {"projects": "1"},
                   "transactions": [{"type": "comment", "value": "hi"}]})
        );
    }

    #[test]
    fn params_json_takes_the_token_only_from_conduit_metadata() {
        let body = b"api.token=api-x&params=%7B%7D&output=json";
        let call = decode("user.whoami", None, body).expect("decodes");
        assert_eq!(call.token, None);
        let bad = decode("user.whoami", None, b"params=%7Bnot+json").unwrap_err();
        assert_eq!(bad.code, "ERR-CONDUIT-CORE");
        assert!(bad.info.contains("'user.whoami'"));
    }

    #[test]
    fn absurdly_nested_form_keys_are_dropped() {
        let key = format!("a{}", "[b]".repeat(100_000));
        let body = serde_urlencoded::to_string([(key.as_str(), "1"), ("c", "2")]).expect("enc");
        let call = decode("user.search", None, body.as_bytes()).expect("decodes");
        assert_eq!(Value::Object(call.params), json!({"c": "2"}));
    }

    #[test]
    fn answers_put_keys_in_phorges_order() {
        let v = json!({"error_code": null, "error_info": null, "result": {
            "cursor": {"after": null, "limit": 1},
            "data": [{"attachments": {}, "fields": {"name": "a \"b\"", "description": {"raw": "x"}}, "id": 3, "phid": "PHID-TASK-x", "type": "TASK"}],
            "maps": {}, "query": {"queryKey": null}}});
        let text = wire_text(&v);
        assert!(
            text.starts_with(r#"{"result":{"data":[{"id":3,"type":"TASK","phid":"PHID-TASK-x","fields":{"description":{"raw":"x"},"name":"a \"b\""},"attachments":{}}],"maps":{},"query":{"queryKey":null},"cursor":{"after":null,"limit":1}},"error_code":null,"error_info":null}"#),
            "{text}"
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
        // The order of a real answer (recording 25): the envelope's and an item's first keys.
        let recorded = include_str!(
            "../../../tests/fixtures/conduit/recorded/25-maniphest.search-paging-limit1-page1.json"
        );
        let rec: Value = serde_json::from_str(recorded).unwrap();
        let raw = rec["response_raw_text"].as_str().unwrap();
        assert!(
            raw.starts_with(r#"{"result":{"data":[{"id":3,"type":"TASK","phid":"#),
            "{raw}"
        );
    }

    #[test]
    fn paging_cursors_follow_the_recorded_shape() {
        let ids = [3, 2, 1];
        assert_eq!(page(&ids, None, None, 1), (vec![3], Some("3".into()), None));
        assert_eq!(
            page(&ids, Some(3), None, 1),
            (vec![2], Some("2".into()), Some("2".into()))
        );
        assert_eq!(
            page(&ids, Some(2), None, 1),
            (vec![1], None, Some("1".into()))
        );
        assert_eq!(page(&ids, Some(1), None, 1), (vec![], None, None));
    }
}
