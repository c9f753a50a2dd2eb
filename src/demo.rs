//! `accessbot demo`: the simulator and the bot end to end on the bundled scenarios. Five
//! requests (a plain one, a sudo one, one with a refused key, a group privilege change and an
//! LDAP-only one) live through a week while the demo moves the clock; it prints what happened
//! on each ticket, what the bot posted and why, the clinic-duty status, the SRE meeting agenda
//! and the grant patches. Then the life of access
//! after ready (`tests/scenarios/lifecycle.toml`): an intern's request granted once the demo,
//! as clinic duty, merges its grant into data.yaml, another granted by its resolution, removal
//! tasks, and, two months later, the expiry reminder.

use crate::bot::Bot;
use crate::clock::Clock;
use crate::conduit::{Client, ClientOptions, Token};
use crate::evidence::Gathered;
use crate::ids::TaskId;
use crate::policy::Checklist;
use crate::poller::Poller;
use crate::rules::Rules;
use crate::sim::{self, Scenario, SimOptions};
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::sync::Arc;

const SCENARIO: &str = include_str!("../tests/scenarios/demo.toml");
const LIFECYCLE: &str = include_str!("../tests/scenarios/lifecycle.toml");
const DATA_YAML: &str = include_str!("../tests/fixtures/grant/data.yaml");

/// The stops of the second part, with what to look for.
const LIFE_STEPS: &[(&str, &str)] = &[
    (
        "2026-11-05T10:00:00Z",
        "Thursday: T501 (an intern's request, until 2027-01-15) and T502 are ready; three tasks ask to remove access.",
    ),
    (
        "2026-11-05T12:00:00Z",
        "Clinic duty grants T501: its data.yaml change is merged, and the bot reads data.yaml again.",
    ),
    (
        "2026-11-06T12:00:00Z",
        "Friday: clinic duty granted T502 by hand and resolved the task.",
    ),
    (
        "2027-01-01T09:00:00Z",
        "Two months later, 14 days before the intern's access expires.",
    ),
];

/// The instants the demo stops at, with what to look for.
const STEPS: &[(&str, &str)] = &[
    (
        "2026-11-12T12:00:00Z",
        "Thursday noon: three requests were filed this morning.",
    ),
    (
        "2026-11-12T20:00:00Z",
        "Thursday evening: more comments arrived.",
    ),
    (
        "2026-11-13T16:00:00Z",
        "Friday afternoon: the project leads have had their say.",
    ),
    (
        "2026-11-15T10:00:00Z",
        "Sunday: nobody did anything, but time passed.",
    ),
    ("2026-11-16T17:00:00Z", "Monday after the SRE meeting."),
];

fn at(s: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc))
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    │ {l}\n")).collect()
}

/// Runs the demo, printing to stdout.
pub async fn run() -> anyhow::Result<()> {
    let rules = Arc::new(Rules::bundled()?);
    let dir = std::env::temp_dir().join(format!("accessbot-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = async {
        let (scenario, token, events) = load(SCENARIO)?;
        let handle = start_sim(scenario, STEPS[0].0).await?;
        let first = drive(&handle, &rules, &token, &dir, &events).await;
        handle.shutdown().await;
        first?;

        // Part two: a data.yaml the bot reads (the demo merges grants into it).
        let data_yaml = dir.join("data.yaml");
        std::fs::write(&data_yaml, DATA_YAML)?;
        let mut life_rules = (*rules).clone();
        life_rules.keys.data_yaml = data_yaml.display().to_string();
        let (scenario, token, events) = load(LIFECYCLE)?;
        let handle = start_sim(scenario, LIFE_STEPS[0].0).await?;
        let second = drive_lifecycle(&handle, &Arc::new(life_rules), &token, &dir, &events).await;
        handle.shutdown().await;
        second
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// What happens on a scenario's tickets, in time order: (when, task, what).
type Events = Vec<(DateTime<Utc>, u64, String)>;

/// A scenario, the bot's token in it and its events.
fn load(text: &str) -> anyhow::Result<(Scenario, String, Events)> {
    let scenario = Scenario::from_toml(text)?;
    let token = crate::bot::scenario_token(&scenario)?;
    let mut events: Events = scenario
        .tasks
        .iter()
        .flat_map(|t| {
            let filed = std::iter::once((
                t.at,
                t.id,
                format!("@{} filed T{}: {}", t.author, t.id, t.title),
            ));
            let evs = t.events.iter().map(move |e| (e.at, t.id, describe(e)));
            filed.chain(evs)
        })
        .collect();
    events.sort_by_key(|(t, id, _)| (*t, *id));
    Ok((scenario, token, events))
}

async fn start_sim(scenario: Scenario, start: &str) -> anyhow::Result<sim::SimHandle> {
    sim::start(
        scenario,
        SimOptions {
            now: Some(at(start)?),
            ..SimOptions::default()
        },
        "127.0.0.1:0".parse()?,
    )
    .await
    .map_err(Into::into)
}

/// The events between two stops, then one cycle and what the bot posted, as Phabricator has
/// it.
async fn stop_at(
    handle: &sim::SimHandle,
    poller: &Poller,
    client: &Client,
    events: &[(DateTime<Utc>, u64, String)],
    prev: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for (t, task, e) in events
        .iter()
        .filter(|(t, _, _)| prev.is_none_or(|p| *t > p) && *t <= now)
    {
        println!("  {} T{task}: {e}", t.format("%a %H:%M"));
    }
    let before = client.total_calls();
    let report = poller.cycle().await?;
    if report.effects.is_empty() {
        println!("  accessbot: nothing changed, so nothing was posted.");
    }
    for e in &report.effects {
        let first = e.text.lines().next();
        let posted = handle
            .comments(e.task.get())
            .into_iter()
            .rev()
            .find(|c| c.text.lines().next() == first)
            .map(|c| c.text)
            .unwrap_or_default();
        // A posted comment: what the bot did, then the comment, indented.
        let did = match e.kind {
            "checklist" => format!(
                "posted a new checklist on {} (verdict {})",
                e.task, e.verdict
            ),
            "granted" => format!("says {} is granted", e.task),
            "reminder" => format!("reminds the expiry contact on {}", e.task),
            "expired" => format!("notes that the access of {} expired", e.task),
            "removal" => format!("posted the removal on {}", e.task),
            "nudge" => {
                println!("  accessbot pinged clinic duty on {}: {posted}", e.task);
                continue;
            }
            other => {
                println!("  accessbot {other} on {}", e.task);
                continue;
            }
        };
        println!("  accessbot {did}:");
        print!("{}", indent(&posted));
    }
    println!(
        "  ({} Conduit calls this cycle)\n",
        client.total_calls() - before
    );
    Ok(())
}

/// A bot on the simulator with its own database `db`, and its clock, set to the story's first
/// step (`start`) and moved by [`step`].
async fn bot(
    handle: &sim::SimHandle,
    rules: &Arc<Rules>,
    token: &str,
    db: &std::path::Path,
    start: &str,
) -> anyhow::Result<(Bot, Clock)> {
    let clock = Clock::fixed(at(start)?);
    let bot = Bot::builder()
        .url(handle.url())
        .token(Token::new(token.to_string()))
        .client_options(ClientOptions::default())
        .rules(rules.clone())
        .db(db)
        .clock(clock.clone())
        .concurrency(4)
        .build()
        .await?;
    Ok((bot, clock))
}

/// Moves the story to a step: the simulator and the bot's clock to its instant, and its
/// heading printed. Returns the instant.
fn step(
    handle: &sim::SimHandle,
    clock: &Clock,
    (when, what): (&str, &str),
    rules: &Rules,
) -> anyhow::Result<DateTime<Utc>> {
    let now = at(when)?;
    handle.set_now(now);
    clock.set(now);
    println!(
        "━━━ {} ━━━ {what}",
        crate::report::when(now, rules.timing.timezone)
    );
    Ok(now)
}

/// Part two: the life of access after ready.
async fn drive_lifecycle(
    handle: &sim::SimHandle,
    rules: &Arc<Rules>,
    token: &str,
    dir: &std::path::Path,
    events: &[(DateTime<Utc>, u64, String)],
) -> anyhow::Result<()> {
    let (bot, clock) = bot(handle, rules, token, &dir.join("life.db"), LIFE_STEPS[0].0).await?;
    let (client, store, poller) = (bot.client(), bot.store(), bot.poller());
    println!("━━━━━━━━━━ The life of access after ready ━━━━━━━━━━\n");
    println!("Six more tasks, and a data.yaml the bot reads: T501 (intern ipark, until 2027-01-15), T502 (cnguyen), T503 (closed before it was ready), and three removal tasks: T504 (nwu from analytics-users), T505 (offboard aaron), T506 (whose access is not said).\n");
    let mut prev: Option<DateTime<Utc>> = None;
    for &(when, what) in LIFE_STEPS {
        let now = step(handle, &clock, (when, what), rules)?;
        if when == LIFE_STEPS[1].0 {
            merge_grant(client, rules, store, now).await?;
            println!(
                "  clinic duty merged the data.yaml change of T501 (accessbot grant-patch T501)."
            );
        }
        stop_at(handle, poller, client, events, prev, now).await?;
        prev = Some(now);
    }
    let now = clock.now();
    println!("━━━ What expires (accessbot expiring) ━━━");
    let followed: Vec<crate::lifecycle::Followed> = store
        .granted_lifecycles()
        .await?
        .iter()
        .map(crate::lifecycle::Followed::from_row)
        .collect();
    let data_yaml = crate::data_yaml::read(rules.path(&rules.keys.data_yaml).as_deref());
    let today = crate::calendar::local_date(now, &rules.timing);
    let until = today
        .checked_add_days(chrono::Days::new(u64::from(
            rules.lifecycle.expiry_reminder_days,
        )))
        .unwrap_or(today);
    let items = crate::lifecycle::expiring(&followed, &data_yaml, now, until, rules);
    println!("{}", crate::lifecycle::expiring_table(&items));
    store.close().await;
    println!("That is the whole loop: poll, check, say what is missing, hand clinic duty a patch when ready, and follow the access until it expires.");
    Ok(())
}

/// A task of the demo read and checked as `accessbot check` would: what was gathered for it
/// and its checklist.
async fn checked(
    client: &Client,
    rules: &Arc<Rules>,
    store: &Store,
    id: TaskId,
    now: DateTime<Utc>,
) -> anyhow::Result<(Gathered, Checklist)> {
    let task = client
        .tasks_by_ids(&[id.get()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("{id} is gone"))?;
    let txs = client.transactions(id).await?;
    let src = Bot::builder()
        .with_client(client.clone())
        .rules(rules.clone())
        .connect()
        .await?;
    let row = store.task(id).await?;
    let mut g = src.gather(&task, &txs, row.as_ref()).await?;
    src.add_reuse(&mut g, store).await?;
    let checklist = crate::policy::evaluate(&g.facts, rules, now);
    Ok((g, checklist))
}

/// Clinic duty merges T501's grant into the demo's data.yaml (as `git pull` brings it).
async fn merge_grant(
    client: &Client,
    rules: &Arc<Rules>,
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let (g, checklist) = checked(client, rules, store, TaskId::new(501), now).await?;
    if checklist.verdict != crate::policy::Verdict::Ready {
        anyhow::bail!("T501 is {}, not ready", checklist.verdict);
    }
    let path = rules
        .path(&rules.keys.data_yaml)
        .ok_or_else(|| anyhow::anyhow!("no data.yaml"))?;
    let text = std::fs::read_to_string(&path)?;
    let key = g.key_line.clone().unwrap_or_default();
    let patch = crate::grant::patch(&g.facts.parsed.request, &key, &text, "data.yaml")?;
    let next = path.with_extension("yaml.new");
    std::fs::write(&next, patch.text)?;
    std::fs::rename(&next, &path)?;
    Ok(())
}

fn describe(e: &crate::sim::scenario::ScenarioEvent) -> String {
    let via = match e.via {
        Some(v) => format!(
            " (via {})",
            v.tip().trim_start_matches("Via ").to_lowercase()
        ),
        None => String::new(),
    };
    if let Some(c) = &e.comment {
        let first = c.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let verb = if e.edit_comment.is_some() {
            "edited a comment"
        } else {
            "commented"
        };
        format!(
            "@{} {verb}{via}: \"{}\"",
            e.author,
            first.chars().take(70).collect::<String>()
        )
    } else if e.description.is_some() {
        format!("@{} edited the description", e.author)
    } else if let Some(p) = &e.add_projects {
        format!("@{} tagged the task {}", e.author, p.join(", "))
    } else if let Some(s) = &e.status {
        format!("@{} set the status to {s}", e.author)
    } else {
        format!("@{} changed the task", e.author)
    }
}

async fn drive(
    handle: &sim::SimHandle,
    rules: &Arc<Rules>,
    token: &str,
    dir: &std::path::Path,
    events: &[(DateTime<Utc>, u64, String)],
) -> anyhow::Result<()> {
    let (bot, clock) = bot(handle, rules, token, &dir.join("accessbot.db"), STEPS[0].0).await?;
    let (client, store, poller) = (bot.client(), bot.store(), bot.poller());

    println!(
        "accessbot demo: a Conduit simulator at {} and the bot against it.",
        handle.url()
    );
    println!("Three requests: T101 (analytics, plain), T102 (deploy-service, sudo), T103 (restricted, RSA 2048 key);");
    println!("a group privilege change, T104 (a NOPASSWD rule for deployment), and T105 (klaxon-users, LDAP-only, for a steward).\n");
    let mut prev: Option<DateTime<Utc>> = None;
    let mut agenda_text = String::new();
    for &(when, what) in STEPS {
        let now = step(handle, &clock, (when, what), rules)?;
        stop_at(handle, poller, client, events, prev, now).await?;
        if when == STEPS[2].0 {
            // The agenda as it goes out before the meeting (shown at the end).
            let rows = store.tasks(true).await?;
            let meeting = crate::calendar::meeting_on_or_after(
                crate::calendar::local_date(now, &rules.timing),
                &rules.meeting,
                &rules.timing,
            );
            let approvals = crate::report::approvals_by_task(&rows, meeting);
            let mut agenda =
                crate::report::agenda(&rows, &approvals, meeting, rules, &handle.url(), now);
            let changes = crate::report::changes_by_task(&rows, meeting);
            crate::report::file_privilege_changes(&mut agenda, &changes);
            agenda_text =
                crate::report::render_agenda(&agenda, crate::report::AgendaFormat::Markdown);
            println!("  (the SRE meeting agenda for {meeting} now lists T102 and, among the group privilege changes, T104: see the end)\n");
        }
        prev = Some(now);
    }

    let now = clock.now();
    // The bot reads its own last comments back once; after that, an idle cycle is one call.
    poller.cycle().await?;
    let before = client.total_calls();
    poller.cycle().await?;
    println!(
        "When nothing changes, a poll costs {} Conduit call.\n",
        client.total_calls() - before
    );

    println!("━━━ Clinic duty's view (accessbot status) ━━━");
    let mut rows = store.tasks(true).await?;
    crate::report::sort_for_status(&mut rows);
    println!("{}", crate::report::status_table(&rows, now, None));

    println!(
        "━━━ The SRE meeting agenda sent out on Friday (accessbot agenda --format markdown) ━━━"
    );
    println!("{agenda_text}");

    println!(
        "━━━ The data.yaml change for T101 (accessbot grant-patch T101 --data-yaml data.yaml) ━━━"
    );
    let (g, checklist) = checked(client, rules, store, TaskId::new(101), now).await?;
    if checklist.verdict == crate::policy::Verdict::Ready {
        let key = g.key_line.clone().unwrap_or_default();
        match crate::grant::patch(
            &g.facts.parsed.request,
            &key,
            DATA_YAML,
            "modules/admin/data/data.yaml",
        ) {
            Ok(p) => print!("{}", p.diff),
            Err(e) => println!("(no patch: {e})"),
        }
    } else {
        println!("T101 is {}, not ready: no patch.", checklist.verdict);
    }
    println!(
        "\n━━━ What grants T105, LDAP-only (accessbot grant-patch T105 --data-yaml data.yaml) ━━━"
    );
    let (g, checklist) = checked(client, rules, store, TaskId::new(105), now).await?;
    if checklist.verdict == crate::policy::Verdict::Ready {
        match crate::grant::ldap_lines(
            &g.facts.parsed.request,
            &g.facts.parsed.request.groups,
            Some(DATA_YAML),
        ) {
            Ok(text) => print!("{text}"),
            Err(e) => println!("(nothing to print: {e})"),
        }
    } else {
        println!(
            "T105 is {}, not ready: nothing to grant.",
            checklist.verdict
        );
    }
    store.close().await;
    println!("\nThat is the loop up to ready: poll, check, say what is missing, and hand clinic duty a patch.\n");
    Ok(())
}
