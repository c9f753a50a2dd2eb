//! Identities resolved once at start-up: the bot's own account, the watched project, the staff
//! and NDA projects, Legalpad L3 and how far the bot may read its signatures.

use super::*;

/// Identities resolved once at start-up.
#[derive(Debug, Clone)]
pub struct Context {
    /// The watched project.
    pub project: Phid,
    /// The bot's own PHID.
    pub bot_phid: Phid,
    /// The bot's own username.
    pub bot_user: Username,
    /// How L3 signatures can be read.
    pub l3: L3Access,
    /// Ready-column PHID, if configured.
    pub ready_column: Option<Phid>,
    /// Ready-tag project PHID, if configured.
    pub ready_tag: Option<Phid>,
}

/// Whether the bot can read L3 signatures from Legalpad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L3Access {
    /// The document, and whether the bot can see other people's signatures.
    Legalpad {
        /// The document PHID.
        document: Phid,
        /// The bot sees signatures other than its own (it can edit the document).
        visible: bool,
    },
    /// Legalpad is not usable; the reason is fit to post.
    Unavailable(String),
    /// Legalpad is not among the configured sources.
    NotConfigured,
}

impl Context {
    /// Resolves the project, the bot and L3 access (a few calls, once per start).
    pub async fn resolve(client: &Client, rules: &Rules) -> anyhow::Result<Context> {
        let me = client.whoami().await?;
        let project = client.project_by_name(&rules.phabricator.project).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "the project {:?} ([phabricator] project in policy.toml) does not exist or is not visible to the bot",
                rules.phabricator.project
            )
        })?;
        let ready_column = (!rules.phabricator.ready_column.is_empty())
            .then(|| Phid::from(rules.phabricator.ready_column.clone()));
        let ready_tag = if rules.phabricator.ready_tag.is_empty() {
            None
        } else {
            Some(
                client
                    .project_by_name(&rules.phabricator.ready_tag)
                    .await?
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "the ready tag project {:?} does not exist",
                            rules.phabricator.ready_tag
                        )
                    })?
                    .phid,
            )
        };
        let l3 = if rules.l3.sources.contains(&L3Source::Legalpad) {
            l3_access(client, rules, &me.phid).await?
        } else {
            L3Access::NotConfigured
        };
        match &l3 {
            L3Access::Legalpad { visible: false, .. } => tracing::error!(
                document = %rules.l3.document,
                "THE BOT CANNOT SEE {} SIGNATURES: add it to the document's edit policy. Until then every L3 check is pending.",
                rules.l3.document
            ),
            L3Access::Unavailable(why) => {
                tracing::error!(document = %rules.l3.document, "L3 signatures cannot be read: {why}")
            }
            _ => {}
        }
        Ok(Context {
            project: project.phid,
            bot_phid: me.phid,
            bot_user: Username::new(&me.user_name),
            l3,
            ready_column,
            ready_tag,
        })
    }
}

/// Finds the L3 document and whether its signatures are visible: the bot sees someone else's
/// signature only when it can edit the document (an empty list proves nothing). A transient
/// failure (the server is down) is an error, so that start-up tries again rather than running
/// without L3 until the next restart.
pub(super) async fn l3_access(
    client: &Client,
    rules: &Rules,
    bot: &Phid,
) -> Result<L3Access, ConduitError> {
    let mono = rules.l3.document.clone();
    let docs = match client.documents(&[mono.as_str()]).await {
        Ok(d) => d,
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => {
            return Ok(L3Access::Unavailable(format!(
                "legalpad.document.search failed: {e}"
            )))
        }
    };
    let Some(doc) = docs.into_iter().next() else {
        return Ok(L3Access::Unavailable(format!(
            "the Legalpad document {mono} was not found"
        )));
    };
    let visible = doc
        .attachments
        .get("signatures")
        .and_then(|s| s.get("signatures"))
        .and_then(|s| s.as_array())
        .is_some_and(|sigs| {
            sigs.iter().any(|s| {
                s.get("signerPHID")
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| p != bot.as_str())
            })
        });
    Ok(L3Access::Legalpad {
        document: doc.phid,
        visible,
    })
}
