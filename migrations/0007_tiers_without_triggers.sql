-- The reconcile tier of each request (`reconcile_tiers`, migration 0005) is written by the bot
-- with each stored report, in the same transaction (`rests_on_comments` in
-- src/store/mod.rs, which decides as the triggers did), instead of by triggers that had
-- SQLite parse every report's JSON three times over (issue 16 item 4: that was much of the
-- bot's SQLite time in a cold sync). The rows already there are the triggers' and stay.
DROP TRIGGER reports_tier_insert;
DROP TRIGGER reports_tier_update;
