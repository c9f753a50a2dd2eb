-- The reconcile's tiers and the comment channels the bot has learnt (issue 16 item 2).
--
-- `reconcile_tiers`: whether a request's last checklist rests on what can change without the
-- task's dateModified moving: a passing check with evidence (evidence is always a comment: an
-- approval, a confirmation, a decision, a key posted in a comment) or a key in a paste. Those
-- requests, when ready, are re-read every `reconcile_minutes`, the others every
-- `reconcile_all_hours` (see `reconcile_due_now` in src/poller.rs).
-- Kept by triggers on `reports`, so it follows every stored checklist however it is written;
-- a report that is not valid JSON counts as resting on comments (the frequent tier).
CREATE TABLE reconcile_tiers (
    task_id           INTEGER PRIMARY KEY NOT NULL,
    rests_on_comments INTEGER NOT NULL
);

-- (A trigger's INSERT OR REPLACE takes the outer statement's conflict policy: delete, insert.)
CREATE TRIGGER reports_tier_insert AFTER INSERT ON reports BEGIN
    DELETE FROM reconcile_tiers WHERE task_id = NEW.task_id;
    INSERT INTO reconcile_tiers (task_id, rests_on_comments) VALUES (
        NEW.task_id,
        CASE WHEN json_valid(NEW.report_json) THEN
            EXISTS (SELECT 1 FROM json_each(NEW.report_json, '$.checks') c
                    WHERE json_extract(NEW.report_json, c.fullkey || '.status') IS 'pass'
                      AND json_array_length(NEW.report_json, c.fullkey || '.evidence') > 0)
            OR json_extract(NEW.report_json, '$.request.key.source') IS 'paste'
        ELSE 1 END);
END;

CREATE TRIGGER reports_tier_update AFTER UPDATE OF report_json ON reports BEGIN
    DELETE FROM reconcile_tiers WHERE task_id = NEW.task_id;
    INSERT INTO reconcile_tiers (task_id, rests_on_comments) VALUES (
        NEW.task_id,
        CASE WHEN json_valid(NEW.report_json) THEN
            EXISTS (SELECT 1 FROM json_each(NEW.report_json, '$.checks') c
                    WHERE json_extract(NEW.report_json, c.fullkey || '.status') IS 'pass'
                      AND json_array_length(NEW.report_json, c.fullkey || '.evidence') > 0)
            OR json_extract(NEW.report_json, '$.request.key.source') IS 'paste'
        ELSE 1 END);
END;

INSERT INTO reconcile_tiers (task_id, rests_on_comments)
SELECT task_id,
       CASE WHEN json_valid(report_json) THEN
            EXISTS (SELECT 1 FROM json_each(report_json, '$.checks') c
                    WHERE json_extract(report_json, c.fullkey || '.status') IS 'pass'
                      AND json_array_length(report_json, c.fullkey || '.evidence') > 0)
            OR json_extract(report_json, '$.request.key.source') IS 'paste'
        ELSE 1 END
FROM reports;

-- `comment_channels`: how a comment was posted (web, email, ...), read from the task page
-- once. A comment's channel never changes, so a restart does not fetch every page again.
CREATE TABLE comment_channels (
    xact_phid TEXT PRIMARY KEY NOT NULL,
    channel   TEXT NOT NULL
) WITHOUT ROWID;
