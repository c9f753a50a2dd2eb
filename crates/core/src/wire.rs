//! Conduit wire types: the result shapes of the methods accessbot calls, exactly as a real
//! Phorge server sends them (see `tests/fixtures/conduit/recorded/`). Unknown fields are ignored;
//! fields that real servers send as `null` or as strings are tolerated. Also [`Channel`], how a
//! transaction reached the server (read from the task page by `crate::conduit`). Nothing here
//! speaks HTTP: the readers (`timeline`, `approvals`) take these types, never the client.

use crate::ids::Phid;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// The most "Show Older Changes" answers read for one task page by default (100 events each):
/// a bound against a broken or hostile server; `[evidence] max_older_pages` sets it.
pub const MAX_OLDER_PAGES: u32 = 50;

/// The envelope of every Conduit answer (always HTTP 200).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The result, `null` on errors.
    pub result: Option<T>,
    /// `null`, or an error code such as `ERR-INVALID-AUTH`.
    pub error_code: Option<String>,
    /// The error text. It may quote the token: never log it unredacted.
    pub error_info: Option<String>,
}

/// The paging cursor of `*.search` results. `after` is a string object id or null.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cursor {
    /// Page size.
    #[serde(default, deserialize_with = "int_or_string_opt")]
    pub limit: Option<u64>,
    /// Where the next page starts; `None` on the last page.
    #[serde(default, deserialize_with = "string_or_int_opt")]
    pub after: Option<String>,
    /// Where the previous page ends.
    #[serde(default, deserialize_with = "string_or_int_opt")]
    pub before: Option<String>,
}

/// One page of a `*.search` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchPage<T> {
    /// The objects on this page.
    pub data: Vec<T>,
    /// The cursor to the next page.
    #[serde(default)]
    pub cursor: Cursor,
}

/// A `{raw: "..."}` text value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RawText {
    /// The remarkup source.
    #[serde(default)]
    pub raw: String,
}

/// A `{value, name}` status.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TaskStatus {
    /// e.g. `open`, `resolved`, `declined`, `invalid`.
    pub value: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// `maniphest.search` result item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    /// Numeric id (`T<id>`).
    pub id: u64,
    /// Task PHID.
    pub phid: Phid,
    /// Fields.
    pub fields: TaskFields,
    /// Attachments that were asked for.
    #[serde(default)]
    pub attachments: TaskAttachments,
}

/// Fields of a task.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFields {
    /// Title.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: RawText,
    /// Author.
    #[serde(rename = "authorPHID")]
    pub author_phid: Phid,
    /// Owner.
    #[serde(rename = "ownerPHID", default)]
    pub owner_phid: Option<Phid>,
    /// Status.
    pub status: TaskStatus,
    /// Creation time (epoch seconds).
    #[serde(deserialize_with = "int_or_string")]
    pub date_created: i64,
    /// Last modification (epoch seconds). Comment edits do not change it.
    #[serde(deserialize_with = "int_or_string")]
    pub date_modified: i64,
    /// Close time, if closed.
    #[serde(default, deserialize_with = "int_or_string_opt_i64")]
    pub date_closed: Option<i64>,
}

/// Task attachments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskAttachments {
    /// `projects` attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projects: Option<ProjectsAttachment>,
    /// `columns` attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<ColumnsAttachment>,
}

/// `{projectPHIDs: [...]}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProjectsAttachment {
    /// Tags of the task.
    #[serde(rename = "projectPHIDs", default)]
    pub project_phids: Vec<Phid>,
}

/// `{boards: {PROJ: {columns: [...]}}}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ColumnsAttachment {
    /// Columns per board.
    #[serde(default, deserialize_with = "map_or_empty_list")]
    pub boards: BTreeMap<String, BoardColumns>,
}

/// Columns of one board.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BoardColumns {
    /// The task's columns on this board.
    #[serde(default)]
    pub columns: Vec<Column>,
}

/// A workboard column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Column {
    /// Column id.
    pub id: u64,
    /// Column PHID.
    pub phid: Phid,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// `transaction.search` result item.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// Transaction id (the anchor on the task page).
    pub id: u64,
    /// Transaction PHID.
    pub phid: Phid,
    /// `comment`, `description`, `projects`, `core:columns`, `status`, … or null.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Who made it.
    #[serde(rename = "authorPHID")]
    pub author_phid: Phid,
    /// The object it belongs to.
    #[serde(rename = "objectPHID")]
    pub object_phid: Phid,
    /// When (epoch seconds).
    #[serde(deserialize_with = "int_or_string")]
    pub date_created: i64,
    /// Later than `date_created` when a comment was edited.
    #[serde(deserialize_with = "int_or_string")]
    pub date_modified: i64,
    /// Transactions of one edit share it.
    #[serde(rename = "groupID", default)]
    pub group_id: Option<String>,
    /// Every version of the comment, newest first.
    #[serde(default)]
    pub comments: Vec<Comment>,
    /// Type-specific fields (`{old,new}`, `{operations:[...]}`), `{}` or `[]` otherwise.
    #[serde(default)]
    pub fields: serde_json::Value,
}

/// One version of a comment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// Comment id.
    pub id: u64,
    /// Comment PHID (`PHID-XCMT-…`).
    pub phid: Phid,
    /// Version, 1 for the original.
    #[serde(deserialize_with = "int_or_string")]
    pub version: i64,
    /// Who wrote this version.
    #[serde(rename = "authorPHID")]
    pub author_phid: Phid,
    /// When this version was written.
    #[serde(deserialize_with = "int_or_string")]
    pub date_created: i64,
    /// Modification time.
    #[serde(deserialize_with = "int_or_string")]
    pub date_modified: i64,
    /// Whether the comment was removed.
    #[serde(default)]
    pub removed: bool,
    /// The text.
    #[serde(default)]
    pub content: RawText,
}

/// One `{operation, phid}` of a `projects` or `subscribers` transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EdgeOperation {
    /// `add` or `remove`.
    pub operation: String,
    /// The project or user.
    pub phid: Phid,
}

impl Transaction {
    /// The newest version of the comment, if this is a comment.
    pub fn newest_comment(&self) -> Option<&Comment> {
        self.comments.first()
    }

    /// The edge operations of a `projects` / `subscribers` transaction.
    pub fn operations(&self) -> Vec<EdgeOperation> {
        self.fields
            .get("operations")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }
}

/// `user.search` result item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub id: u64,
    /// User PHID.
    pub phid: Phid,
    /// Fields.
    pub fields: UserFields,
}

/// Fields of a user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserFields {
    /// Username.
    pub username: String,
    /// Real name.
    #[serde(default)]
    pub real_name: String,
    /// Roles: `agent` (bot), `disabled`, `verified`, `approved`, `activated`, `admin`, …
    #[serde(default)]
    pub roles: Vec<String>,
}

impl User {
    /// A bot account (`agent` role) or mailing list.
    pub fn is_bot(&self) -> bool {
        self.fields
            .roles
            .iter()
            .any(|r| r == "agent" || r == "bot" || r == "list")
    }
    /// A disabled account.
    pub fn is_disabled(&self) -> bool {
        self.fields.roles.iter().any(|r| r == "disabled")
    }
}

/// `user.whoami` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    /// The bot's PHID.
    pub phid: Phid,
    /// The bot's username.
    pub user_name: String,
    /// Real name.
    #[serde(default)]
    pub real_name: String,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `project.search` result item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    /// Project id.
    pub id: u64,
    /// Project PHID.
    pub phid: Phid,
    /// Fields.
    pub fields: ProjectFields,
    /// Attachments (`members`).
    #[serde(default)]
    pub attachments: ProjectAttachments,
}

/// Fields of a project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectFields {
    /// Name.
    pub name: String,
    /// Slug.
    #[serde(default)]
    pub slug: Option<String>,
}

/// Project attachments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProjectAttachments {
    /// `members` attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<MembersAttachment>,
}

/// `{members: [{phid}]}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MembersAttachment {
    /// Members.
    #[serde(default)]
    pub members: Vec<PhidRef>,
}

/// `{phid: "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhidRef {
    /// The PHID.
    pub phid: Phid,
}

/// `paste.search` result item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Paste {
    /// Paste id (`P<id>`).
    pub id: u64,
    /// Paste PHID.
    pub phid: Phid,
    /// Fields.
    pub fields: PasteFields,
    /// Attachments (`content`).
    #[serde(default)]
    pub attachments: PasteAttachments,
}

/// Fields of a paste.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasteFields {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Author.
    #[serde(rename = "authorPHID")]
    pub author_phid: Phid,
    /// Creation time.
    #[serde(deserialize_with = "int_or_string")]
    pub date_created: i64,
    /// Modification time.
    #[serde(deserialize_with = "int_or_string")]
    pub date_modified: i64,
}

/// Paste attachments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PasteAttachments {
    /// `{content: "..."}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<PasteContent>,
}

/// The raw paste text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PasteContent {
    /// Text.
    #[serde(default)]
    pub content: String,
}

/// `legalpad.signature.search` result item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Signature {
    /// Signature id.
    pub id: u64,
    /// Signature PHID.
    pub phid: Phid,
    /// Fields.
    pub fields: SignatureFields,
}

/// Fields of a signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureFields {
    /// The document.
    #[serde(rename = "documentPHID")]
    pub document_phid: Phid,
    /// The signer.
    #[serde(rename = "signerPHID", default)]
    pub signer_phid: Option<Phid>,
    /// An exemption rather than a signature.
    #[serde(default)]
    pub is_exemption: bool,
    /// When signed.
    #[serde(deserialize_with = "int_or_string")]
    pub date_created: i64,
}

/// `legalpad.document.search` result item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    /// Document id (`L<id>`).
    pub id: u64,
    /// Document PHID.
    pub phid: Phid,
    /// Fields (title, …).
    pub fields: serde_json::Value,
    /// Attachments (`signatures`).
    #[serde(default)]
    pub attachments: serde_json::Value,
}

impl Document {
    /// The document title (`fields.title`), empty when absent.
    pub fn title(&self) -> &str {
        self.fields
            .get("title")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
    }

    /// The current version (`fields.versions`, which the server sends as a string).
    pub fn current_version(&self) -> Option<i64> {
        match self.fields.get("versions")? {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The `signatures` attachment, when it was asked for and is readable. Entries that do not
    /// have the recorded shape are skipped.
    pub fn signatures(&self) -> Option<Vec<DocumentSignature>> {
        let list = self
            .attachments
            .get("signatures")?
            .get("signatures")?
            .as_array()?;
        Some(
            list.iter()
                .filter_map(|v| serde_json::from_value(v.clone()).ok())
                .collect(),
        )
    }
}

/// One entry of a document's `signatures` attachment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DocumentSignature {
    /// Signature PHID (`PHID-LEGS-…`).
    pub phid: Phid,
    /// The signer, if a user signed.
    #[serde(rename = "signerPHID", default)]
    pub signer_phid: Option<Phid>,
    /// An exemption rather than a signature.
    #[serde(default)]
    pub is_exemption: bool,
    /// The document version that was signed.
    #[serde(default, deserialize_with = "int_or_string_opt_i64")]
    pub document_version: Option<i64>,
    /// When signed.
    #[serde(default, deserialize_with = "int_or_string_opt_i64")]
    pub date_created: Option<i64>,
}

/// `project.column.search` result item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectColumn {
    /// Column id.
    pub id: u64,
    /// Column PHID (`PHID-PCOL-…`).
    pub phid: Phid,
    /// Fields.
    pub fields: ProjectColumnFields,
}

/// Fields of a workboard column.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectColumnFields {
    /// Display name (`""` can stand for the default "Backlog" column).
    #[serde(default)]
    pub name: String,
    /// Whether the column is hidden.
    #[serde(default)]
    pub is_hidden: bool,
    /// Whether this is the board's default column.
    #[serde(default)]
    pub is_default_column: bool,
}

/// `phid.lookup` value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhidInfo {
    /// PHID.
    pub phid: Phid,
    /// URI.
    #[serde(default)]
    pub uri: String,
    /// Type name (`Task`, `User`, …).
    #[serde(default)]
    pub type_name: String,
    /// Short name (`T1`).
    #[serde(default)]
    pub name: String,
    /// Full name.
    #[serde(default)]
    pub full_name: String,
}

/// `maniphest.edit` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EditResult {
    /// The edited object.
    pub object: EditObject,
    /// The transactions made (`[]` for an empty comment).
    #[serde(default)]
    pub transactions: Vec<PhidRef>,
}

/// `{id, phid}` of an edited object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EditObject {
    /// Id.
    pub id: u64,
    /// PHID.
    pub phid: Phid,
}

fn int_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        I(i64),
        S(String),
    }
    match V::deserialize(d)? {
        V::I(i) => Ok(i),
        V::S(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

fn int_or_string_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        I(i64),
        S(String),
    }
    match Option::<V>::deserialize(d)? {
        None => Ok(None),
        Some(V::I(i)) => Ok(Some(i)),
        Some(V::S(s)) => s.trim().parse().map(Some).map_err(serde::de::Error::custom),
    }
}

fn int_or_string_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(int_or_string_opt_i64(d)?.map(|v| v.max(0) as u64))
}

fn string_or_int_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        I(i64),
        S(String),
    }
    Ok(match Option::<V>::deserialize(d)? {
        None => None,
        Some(V::I(i)) => Some(i.to_string()),
        Some(V::S(s)) => Some(s),
    })
}

/// PHP encodes an empty map as `[]`.
fn map_or_empty_list<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<String, V>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum M<V> {
        Map(BTreeMap<String, V>),
        List(serde::de::IgnoredAny),
    }
    match M::deserialize(d)? {
        M::Map(m) => Ok(m),
        M::List(_) => Ok(BTreeMap::new()),
    }
}

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
}
