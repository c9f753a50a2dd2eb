-- The life of access after "ready" (design §11): one row per request that is granted or asks
-- for a removal. Kept apart from `tasks` (whose rows the views read in bulk): the expiry of a
-- granted request is followed even after its task is closed.
CREATE TABLE lifecycle (
    task_id          INTEGER PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL DEFAULT 'user',   -- user | removal
    shell_user       TEXT,
    groups           TEXT NOT NULL DEFAULT '',       -- comma separated
    granted_at       INTEGER,                        -- epoch seconds
    granted_by       TEXT,                           -- data-yaml | resolved | comment
    expiry_date      TEXT,                           -- YYYY-MM-DD, as followed
    expiry_contact   TEXT,
    reminded_at      INTEGER,                        -- when the expiry reminder was posted
    reminded_for     TEXT,                           -- the expiry date it was for
    expired_noted_at INTEGER,                        -- when the "expired" note was posted
    expired_for      TEXT                            -- the expiry date it was for
);
CREATE INDEX lifecycle_kind ON lifecycle (kind);
