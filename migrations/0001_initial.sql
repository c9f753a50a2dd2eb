-- accessbot state: what the bot must remember between runs and cannot re-read cheaply.

-- Small key/value settings: the poll cursor, resolved PHIDs, the last reconcile time.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- One row per tracked task: the last evaluation, the last posted checklist, bookkeeping.
CREATE TABLE tasks (
    id              INTEGER PRIMARY KEY NOT NULL,   -- T<id>
    phid            TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    requester       TEXT NOT NULL DEFAULT '',       -- author username
    shell_user      TEXT,
    groups          TEXT NOT NULL DEFAULT '',       -- comma separated, lowercase
    sudo            INTEGER NOT NULL DEFAULT 0,
    open            INTEGER NOT NULL DEFAULT 1,
    verdict         TEXT NOT NULL DEFAULT 'blocked',
    until_at        INTEGER,                        -- epoch seconds
    who             TEXT NOT NULL DEFAULT '',       -- who must act, comma separated
    tagged_at       INTEGER,
    created_at      INTEGER NOT NULL DEFAULT 0,
    date_modified   INTEGER NOT NULL DEFAULT 0,     -- the task's dateModified when last read
    last_activity   INTEGER,                        -- last transaction by anyone but the bot
    checklist_hash  TEXT,                           -- hash of the last evaluated checklist text
    posted_hash     TEXT,                           -- hash of the last checklist comment posted
    posted_xact     TEXT,                           -- its transaction PHID
    posted_at       INTEGER,
    evaluated_at    INTEGER,
    first_ready_at  INTEGER,                        -- sudo: when all else first passed
    meeting         TEXT,                           -- sudo: YYYY-MM-DD of the scheduled meeting
    decision        TEXT,                           -- sudo: approved | declined
    decided_by      TEXT,
    decided_at      INTEGER,
    nudged_for      INTEGER,                        -- last_activity value a stale nudge was posted for
    ready_marked    INTEGER NOT NULL DEFAULT 0,     -- moved to the ready column / tagged
    last_xact_id    INTEGER NOT NULL DEFAULT 0,     -- newest transaction id read
    wake_at         INTEGER,                        -- re-read when time alone may change the checklist
    first_meeting   TEXT                            -- sudo: the meeting it was first scheduled for
);
CREATE INDEX tasks_open_verdict ON tasks (open, verdict);

-- The last `check --json` object per task, apart from `tasks` so that the clinic-duty views
-- scan a narrow table.
CREATE TABLE reports (
    task_id     INTEGER PRIMARY KEY NOT NULL,
    report_json TEXT NOT NULL
);

-- Every key fingerprint seen on a request, by task and user: reuse detection.
CREATE TABLE keys_seen (
    fingerprint TEXT NOT NULL,
    task_id     INTEGER NOT NULL,
    username    TEXT NOT NULL,                      -- the requester's Phabricator username
    shell_user  TEXT,
    first_seen  INTEGER NOT NULL,                   -- when the key first appeared on that task
    PRIMARY KEY (fingerprint, task_id)
);
CREATE INDEX keys_seen_fp ON keys_seen (fingerprint);

-- Append-only audit log of verdict changes with their evidence.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    old_verdict TEXT,
    new_verdict TEXT NOT NULL,
    evidence    TEXT NOT NULL                       -- JSON: the checks at the time
);
CREATE INDEX audit_task ON audit (task_id, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
