//! The clinic-duty views of the database: `status`, `log`, `agenda` and `expiring`.

use super::*;

/// The base URL for links in the views, when one is configured.
fn link_base(cli: &Cli) -> Option<String> {
    cli.phab_url
        .as_deref()
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty())
}

pub(super) async fn cmd_status(cli: &Cli, json: bool, all: bool) -> anyhow::Result<u8> {
    let store = crate::store::Store::open_read_only(&cli.db).await?;
    let now = clock(cli).now();
    // The rows as the table reads them; `--json` then streams the stored reports.
    let rows = store.view_rows(!all).await?;
    let as_of = store
        .meta(crate::poller::LAST_SUCCESS)
        .await?
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| DateTime::from_timestamp(t, 0));
    let mut rows: Vec<_> = rows
        .into_iter()
        .filter(|r| all || r.verdict != crate::policy::Verdict::Closed)
        .collect();
    crate::report::sort_for_status(&mut rows);
    let base = link_base(cli);
    if json {
        let out = print_status_json(&store, &rows, now, base.as_deref()).await;
        store.close().await;
        out?;
    } else {
        store.close().await;
        match as_of {
            Some(t) => println!("Data as of {} (the last successful cycle).", t.to_rfc3339()),
            None => println!("Data as of: no successful cycle recorded yet."),
        }
        print!(
            "{}",
            crate::report::status_table(&rows, now, base.as_deref())
        );
    }
    Ok(0)
}

/// `status --json`, streamed: the same text as pretty-printing
/// [`crate::report::status_json`] over rows read whole, but the reports are read a slice of
/// rows at a time ([`crate::store::Store::status_reports`]) and each is re-indented from its
/// stored text as it comes ([`crate::status_json::Writer`]), so neither every report nor the
/// whole document is held at once, and no report is parsed into a `Value`. SQLite reads the
/// next slice on its own thread while this one is written, so at most two slices are held.
async fn print_status_json(
    store: &crate::store::Store,
    rows: &[crate::store::TaskRow],
    now: DateTime<Utc>,
    base: Option<&str>,
) -> anyhow::Result<()> {
    use std::io::Write;
    const SLICE: usize = 500;
    let read = |slice: &[crate::store::TaskRow]| {
        let store = store.clone();
        let ids: Vec<i64> = slice.iter().map(|r| r.id.get() as i64).collect();
        tokio::spawn(async move { store.status_reports(&ids).await })
    };
    let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut doc = crate::status_json::Writer::new(out)?;
    let mut slices = rows.chunks(SLICE).peekable();
    let mut next = slices.peek().map(|s| read(s));
    while let (Some(slice), Some(reading)) = (slices.next(), next.take()) {
        let reports = reading.await??;
        next = slices.peek().map(|s| read(s));
        for r in slice {
            let (at, report) = reports.get(r.id.get() as i64).unwrap_or((None, ""));
            doc.item(r, at, report, now, base)?;
        }
    }
    doc.finish()?.flush()?;
    Ok(())
}

pub(super) async fn cmd_log(cli: &Cli, task: TaskId, json: bool) -> anyhow::Result<u8> {
    let store = crate::store::Store::open_read_only(&cli.db).await?;
    let entries = store.audit_log(task).await?;
    let known = store.task_brief(task).await?.is_some();
    store.close().await;
    if entries.is_empty() && !known {
        anyhow::bail!("{task} is not in the database {}", cli.db.display());
    }
    let checks_of = |evidence: &str| -> serde_json::Value {
        serde_json::from_str(evidence).unwrap_or(serde_json::Value::Null)
    };
    if json {
        let items: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "task": task.to_string(),
                    "at": DateTime::from_timestamp(e.at, 0).map(|t| t.to_rfc3339()),
                    "old_verdict": e.old_verdict,
                    "new_verdict": e.new_verdict,
                    "checks": checks_of(&e.evidence),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(0);
    }
    if entries.is_empty() {
        println!("{task}: no verdict recorded yet.");
        return Ok(0);
    }
    let mut table = crate::table::PlainTable::new();
    table.set_header(["WHEN", "FROM", "TO", "OPEN CHECKS"]);
    for e in &entries {
        let open: Vec<String> = checks_of(&e.evidence)
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c.get("status").and_then(|s| s.as_str()) != Some("pass"))
            .filter_map(|c| {
                let id = c.get("id")?.as_str()?;
                Some(match c.get("who").and_then(|w| w.as_str()) {
                    Some(who) => format!("{id} ({who})"),
                    None => id.to_string(),
                })
            })
            .collect();
        table.add_row(vec![
            DateTime::from_timestamp(e.at, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
            e.old_verdict.clone().unwrap_or_else(|| "-".into()),
            e.new_verdict.clone(),
            if open.is_empty() {
                "-".into()
            } else {
                open.join(", ")
            },
        ]);
    }
    println!("{task}: {} verdict change(s)", entries.len());
    print!("{}", table.render());
    Ok(0)
}

pub(super) async fn cmd_agenda(
    cli: &Cli,
    meeting: Option<NaiveDate>,
    format: AgendaFormat,
) -> anyhow::Result<u8> {
    let rules = views_rules(cli)?;
    let store = crate::store::Store::open_read_only(&cli.db).await?;
    let now = clock(cli).now();
    if let Some(day) = meeting {
        warn_if_no_meeting(day, &rules);
    }
    let meeting = meeting.unwrap_or_else(|| {
        crate::calendar::meeting_on_or_after(
            crate::calendar::local_date(now, &rules.timing),
            &rules.meeting,
            &rules.timing,
        )
    });
    // No report is read: SQLite picks the approvals out of the scheduled requests' reports.
    let rows = store.view_rows(true).await?;
    let approvals = store
        .agenda_approvals(&meeting.format("%Y-%m-%d").to_string())
        .await?;
    let changes = store
        .agenda_changes(&meeting.format("%Y-%m-%d").to_string())
        .await?;
    let url = cli
        .phab_url
        .clone()
        .unwrap_or_else(|| "https://phabricator.example.org".into());
    let followed = store.granted_lifecycles().await?;
    store.close().await;
    let mut agenda = crate::report::agenda(&rows, &approvals, meeting, &rules, &url, now);
    crate::report::file_privilege_changes(&mut agenda, &changes);
    // Expiring before the meeting after this one, and expired access still in place.
    let next = crate::calendar::meeting_after(meeting, &rules.meeting, &rules.timing);
    let until = next.pred_opt().unwrap_or(next);
    agenda.expiring =
        crate::report::agenda_expiring(expiring_items(&rules, &followed, now, until), &url);
    print!("{}", crate::report::render_agenda(&agenda, format));
    Ok(0)
}

/// The rules for `agenda` and `expiring`, which read no comment: policy.toml and groups.toml
/// validated in full, phrases.toml parsed, but its reading phrases not compiled (most of what a
/// load costs; [`crate::rules::Rules::load_for_views`]). `run` and `rules check` still refuse
/// phrases that do not compile.
fn views_rules(cli: &Cli) -> anyhow::Result<crate::rules::Rules> {
    Ok(crate::rules::Rules::load_for_views(&cli.rules)?)
}

/// What `expiring` and the agenda list: the granted requests of the store expiring on or
/// before `until`, and expired ones still in place, with the rules' data.yaml read now.
fn expiring_items(
    rules: &crate::rules::Rules,
    followed: &[crate::store::LifecycleRow],
    now: DateTime<Utc>,
    until: NaiveDate,
) -> Vec<crate::report::ExpiringItem> {
    use crate::lifecycle::{DataYaml, Followed};
    let data_yaml = crate::data_yaml::read(rules.path(&rules.keys.data_yaml).as_deref());
    if let DataYaml::Unknown(why) = &data_yaml {
        eprintln!("warning: data.yaml cannot be read ({why}): expired access is listed as expired-unverified");
    }
    let followed: Vec<Followed> = followed.iter().map(Followed::from_row).collect();
    crate::lifecycle::expiring(&followed, &data_yaml, now, until, rules)
}

pub(super) async fn cmd_expiring(cli: &Cli, within: Option<u32>, json: bool) -> anyhow::Result<u8> {
    let rules = views_rules(cli)?;
    let store = crate::store::Store::open_read_only(&cli.db).await?;
    let followed = store.granted_lifecycles().await?;
    store.close().await;
    let now = clock(cli).now();
    let days = within.unwrap_or(rules.lifecycle.expiry_reminder_days);
    let today = crate::calendar::local_date(now, &rules.timing);
    let until = today
        .checked_add_days(chrono::Days::new(u64::from(days)))
        .unwrap_or(today);
    let items = expiring_items(&rules, &followed, now, until);
    if json {
        println!("{}", serde_json::to_string_pretty(&items)?);
    } else {
        print!("{}", crate::lifecycle::expiring_table(&items));
    }
    Ok(0)
}

/// `agenda --meeting DAY` on a day without a meeting still works (the agenda as of that day),
/// but says so on stderr and names the nearest meetings before and after it.
fn warn_if_no_meeting(day: NaiveDate, rules: &crate::rules::Rules) {
    use crate::calendar::{is_meeting_day, meeting_after, meeting_before};
    let (m, t) = (&rules.meeting, &rules.timing);
    if is_meeting_day(day, m, t) {
        return;
    }
    let why = if t.holidays.contains(&day) {
        " (a holiday)"
    } else {
        ""
    };
    eprintln!(
        "warning: {day} is not an SRE meeting day{why}; the nearest meetings are {} (before) and {} (after)",
        meeting_before(day, m, t),
        meeting_after(day, m, t)
    );
}
