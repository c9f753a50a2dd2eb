-- The approvals present on each stored report (the ids of its passing approval checks, as a
-- JSON array in report order): the SRE meeting agenda lists them without reading the reports.
-- `Store::put_task` keeps the column up to date with the same expression (`APPROVALS_OF_REPORT`
-- in src/store.rs; a unit test checks that both texts agree).
ALTER TABLE reports ADD COLUMN approvals TEXT NOT NULL DEFAULT '[]';

UPDATE reports SET approvals = CASE WHEN json_valid(report_json) THEN COALESCE((
    SELECT json_group_array(c.id) FROM (
        SELECT report_json ->> (e.fullkey || '.id') AS id, report_json ->> (e.fullkey || '.status') AS status
        FROM json_each(report_json, '$.checks') e) c
    WHERE c.status = 'pass' AND (c.id GLOB '*approval' OR c.id GLOB 'lead-approval:*')), '[]') ELSE '[]' END;
