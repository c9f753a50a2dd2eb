//! The comments the bot posted on a task, as exact texts for inline `insta` snapshots.
//!
//! A scenario test asserts the whole text of every comment the bot posts
//! (`insta::assert_snapshot!(w.posted(201)[0], @"...")`), so that a changed word, a lost line
//! or a line that should not be there fails a test, not only a missing `BLOCKED`.

use super::World;
use accessbot::sim::SimHandle;

/// What stands for the simulator's address in a normalised text.
pub const PHAB_URL: &str = "[phab-url]";
/// What stands for the test's temporary directory in a normalised text.
pub const TEMP_DIR: &str = "[temp-dir]";
/// What stands for the minute a checklist was evaluated by a bot on the real clock
/// ([`real_clock`]).
pub const REAL_NOW: &str = "[real-now]";
/// What shows the zero-width space (U+200B) that defuses a requester's word
/// (`report::inert`).
pub const ZWSP: &str = "[zwsp]";

impl World {
    /// The texts posted on task `task` (through `maniphest.edit`; in the scenario tests only
    /// the bot posts), oldest first, normalised for a snapshot.
    ///
    /// Only what differs from one run to the next is replaced, nothing the bot decides (no
    /// comment of today's scenarios holds either, but a link or a path in a future text
    /// must not make its snapshot depend on the run):
    /// - the simulator's base URL (`http://127.0.0.1:<port>`, the port is chosen by the
    ///   system at each start) becomes [`PHAB_URL`], wherever a link to a task or a paste
    ///   is built from the configured Phabricator URL;
    /// - the path of the test's temporary directory (a random name under the system's temp
    ///   directory) becomes [`TEMP_DIR`], wherever a text names a file of the test (its
    ///   database, a data.yaml copy).
    ///
    /// One character is shown, not normalised: the zero-width space `report::inert` puts into
    /// a requester's `@name` or `T123` becomes [`ZWSP`], so that a reviewer sees in the
    /// snapshot where a word was defused (and so that no invisible character sits in a test's
    /// source). The text holds no `[zwsp]` of its own in these scenarios.
    ///
    /// Everything else (dates, which come from the scenario and the test's clock, names,
    /// order, blank lines) is kept byte for byte.
    pub fn posted(&self, task: u64) -> Vec<String> {
        self.comments(task)
            .into_iter()
            .map(|text| self.normalise(&text))
            .collect()
    }

    /// One posted text (e.g. picked out of [`Self::comments`] by its header), normalised as
    /// in [`Self::posted`].
    pub fn normalise(&self, text: &str) -> String {
        normalise(text, &self.sim.url(), self.dir.path())
    }
}

/// `text` with the simulator's URL and the temporary directory replaced and the zero-width
/// space shown (see [`World::posted`]).
pub fn normalise(text: &str, sim_url: &str, temp: &std::path::Path) -> String {
    let mut out = text.replace(sim_url.trim_end_matches('/'), PHAB_URL);
    if let Some(dir) = temp.to_str().filter(|d| !d.is_empty()) {
        out = out.replace(dir, TEMP_DIR);
    }
    out.replace('\u{200B}', ZWSP)
}

impl World {
    /// Every text posted on task `task`, normalised as in [`World::posted`], in one string: each
    /// one under a `--- comment N by USER at TIME ---` line (N from 1), for one snapshot of a
    /// task's whole conversation with the bot.
    pub fn thread(&self, task: u64) -> String {
        thread(&self.sim, task, self.dir.path())
    }
}

/// [`World::thread`] for a test that holds a simulator without a [`World`] (the real binary
/// against a simulator started on a chosen port, a bench of its own): `temp` is the test's
/// temporary directory (the one the bot's database is in).
pub fn thread(sim: &SimHandle, task: u64, temp: &std::path::Path) -> String {
    let url = sim.url();
    sim.comments(task)
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "--- comment {} by {} at {} ---\n{}\n",
                i + 1,
                c.author,
                c.at,
                normalise(&c.text, &url, temp)
            )
        })
        .collect()
}

/// `text` (a normalised thread or comment) with the minute of every checklist's last line
/// (`//Evaluated 2026-12-07 15:40 UTC. …//`) replaced by [`REAL_NOW`]. Only for a test whose
/// bot runs on the real clock (`run` without `--now`, as a service under systemd runs): that
/// minute is the minute the test ran. Nothing else is replaced: the dates the checks state
/// come from the scenario (a waiting period that ended in the scenario's past has ended on
/// the real clock too), and the time of each comment is the simulator's clock.
pub fn real_clock(text: &str) -> String {
    static EVALUATED: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    EVALUATED
        .get_or_init(|| {
            regex::Regex::new(r"(?m)^//Evaluated \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\.")
                .expect("the footer's pattern")
        })
        .replace_all(text, format!("//Evaluated {REAL_NOW} UTC."))
        .into_owned()
}
