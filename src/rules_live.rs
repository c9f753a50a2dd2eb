//! `rules check --live`: every name the rules use, looked up on the server, so that a typo
//! in a username, a project, a column or the L3 document is found before it silently makes
//! a check fail (or never pass) on every request.
//!
//! Looked up: the users (each group's approvers, `[phabricator] clinic_duty`, `[people]
//! legal_users`, `sre_deciders`, `executives` and `research_users`, `[l3] verifiers`), the
//! projects (`[phabricator] project` and `ready_tag`, `[people] staff_projects`,
//! `nda_projects` and `research_projects`, each group's `eligible_projects`), `[phabricator]
//! ready_column` and `[phabricator.columns]` (columns of the watched project's board) and,
//! with the `legalpad` source, `[l3] document`. A disabled account counts as missing: its
//! word can never count.

use crate::conduit::Client;
use crate::rules::{L3Source, Rules, RulesError};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One name the rules use, with where it is configured.
#[derive(Debug, Clone)]
struct Name {
    file: PathBuf,
    key: String,
    value: String,
}

/// Looks every configured name up; returns one error per name that does not exist (or is
/// disabled), naming the file, the line and the key. Conduit failures are errors.
pub async fn check(client: &Client, rules: &Rules) -> anyhow::Result<Vec<RulesError>> {
    let policy_file = rules.dir.join("policy.toml");
    let groups_file = rules.dir.join("groups.toml");
    let texts: BTreeMap<PathBuf, String> = [&policy_file, &groups_file]
        .into_iter()
        .map(|p| (p.clone(), std::fs::read_to_string(p).unwrap_or_default()))
        .collect();
    let at = |file: &Path, key: &str, value: &str| Name {
        file: file.to_path_buf(),
        key: key.to_string(),
        value: value.to_string(),
    };

    let mut users = Vec::new();
    for (name, g) in &rules.groups {
        let key = format!("groups.{name}.approvers");
        users.extend(
            g.approvers
                .iter()
                .map(|u| at(&groups_file, &key, u.as_str())),
        );
    }
    users.push(at(
        &policy_file,
        "phabricator.clinic_duty",
        &rules.phabricator.clinic_duty,
    ));
    for (key, list) in [
        ("people.legal_users", &rules.people.legal_users),
        ("people.sre_deciders", &rules.people.sre_deciders),
        ("people.executives", &rules.people.executives),
        ("people.research_users", &rules.people.research_users),
        ("l3.verifiers", &rules.l3.verifiers),
    ] {
        users.extend(list.iter().map(|u| at(&policy_file, key, u.as_str())));
    }

    let mut projects = vec![at(
        &policy_file,
        "phabricator.project",
        &rules.phabricator.project,
    )];
    if !rules.phabricator.ready_tag.is_empty() {
        projects.push(at(
            &policy_file,
            "phabricator.ready_tag",
            &rules.phabricator.ready_tag,
        ));
    }
    for (key, list) in [
        ("people.staff_projects", &rules.people.staff_projects),
        ("people.nda_projects", &rules.people.nda_projects),
        ("people.research_projects", &rules.people.research_projects),
    ] {
        projects.extend(list.iter().map(|p| at(&policy_file, key, p)));
    }
    for (name, g) in &rules.groups {
        let key = format!("groups.{name}.eligible_projects");
        projects.extend(
            g.eligible_projects
                .iter()
                .map(|p| at(&groups_file, &key, p)),
        );
    }

    let mut missing: Vec<(Name, String)> = Vec::new();

    // Users, in one search.
    let wanted: BTreeSet<String> = users
        .iter()
        .map(|u| u.value.trim().trim_start_matches('@').to_lowercase())
        .collect();
    let found = client
        .users_by_usernames(&wanted.iter().cloned().collect::<Vec<_>>())
        .await?;
    let by_name: BTreeMap<String, bool> = found
        .iter()
        .map(|u| (u.fields.username.to_lowercase(), u.is_disabled()))
        .collect();
    for u in users {
        let key = u.value.trim().trim_start_matches('@').to_lowercase();
        match by_name.get(&key) {
            None => {
                let why = format!("no user @{} on the server", u.value);
                missing.push((u, why));
            }
            Some(true) => {
                let why = format!("the account @{} is disabled", u.value);
                missing.push((u, why));
            }
            Some(false) => {}
        }
    }

    // Projects, by name or slug.
    let mut watched = None;
    for p in projects {
        match client.project_by_name(&p.value).await? {
            Some(found) => {
                if p.key == "phabricator.project" {
                    watched = Some(found.phid);
                }
            }
            None => {
                let why = format!("no project {:?} on the server (by name or slug)", p.value);
                missing.push((p, why));
            }
        }
    }

    // The columns (`ready_column` and `[phabricator.columns]`): columns of the watched
    // project's board, read once.
    let mut columns: Vec<Name> = Vec::new();
    if !rules.phabricator.ready_column.is_empty() {
        columns.push(at(
            &policy_file,
            "phabricator.ready_column",
            &rules.phabricator.ready_column,
        ));
    }
    for (verdict, column) in &rules.phabricator.columns {
        let key = format!("phabricator.columns.{verdict}");
        columns.push(at(&policy_file, &key, column));
    }
    if !columns.is_empty() {
        let on_board: BTreeSet<String> = match &watched {
            Some(project) => client
                .project_columns(project)
                .await?
                .into_iter()
                .map(|c| c.phid.as_str().to_string())
                .collect(),
            None => BTreeSet::new(),
        };
        for c in columns {
            if !on_board.contains(&c.value) {
                let why = format!(
                    "no column {} on the workboard of {:?}",
                    c.value, rules.phabricator.project
                );
                missing.push((c, why));
            }
        }
    }

    // The L3 document.
    if rules.l3.sources.contains(&L3Source::Legalpad) {
        let doc = &rules.l3.document;
        let exists = match client.documents(&[doc.as_str()]).await {
            Ok(docs) => !docs.is_empty(),
            Err(crate::conduit::ConduitError::Config { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        if !exists {
            let why = format!("no Legalpad document {doc} visible to the bot");
            missing.push((at(&policy_file, "l3.document", doc), why));
        }
    }

    Ok(missing
        .into_iter()
        .map(|(n, message)| RulesError {
            line: texts
                .get(&n.file)
                .and_then(|t| crate::rules::locate(t, &n.key)),
            file: n.file,
            key: n.key,
            message,
        })
        .collect())
}
