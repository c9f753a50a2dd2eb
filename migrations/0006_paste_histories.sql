-- Paste histories the bot has read (issue 16): who created and changed a key paste (the
-- authors of its transactions, a JSON array of user PHIDs) and when its newest transaction
-- was, as of the paste's `dateModified` then. Phorge moves a paste's `dateModified` on every
-- save, so while `paste.search` answers the same `dateModified` the history has not changed
-- and a restarted bot does not read it again; when it answers another one (any edit), the
-- row is not used and the history is read again (see `paste` in src/evidence/directory.rs).
CREATE TABLE paste_histories (
    paste_id      INTEGER PRIMARY KEY NOT NULL,
    date_modified INTEGER NOT NULL,
    editors       TEXT NOT NULL,
    newest        INTEGER
);
