-- Key reuse is decided by when a key first appeared on each request (design §10), no longer by
-- the task's creation, and filed under the request's subject (the person it is for), no longer
-- its author. `first_xact` is the task transaction id of that first appearance, which orders
-- sightings of the same second (NULL: none on the task, e.g. a paste's change, so a tie with
-- it counts as earlier). `dated` is 1 for sightings recorded this way; 0 marks the older ones,
-- dated by their task's creation (never later than the key's true first appearance, so they
-- can only make another request's key look reused, never fresh): the next time their task is
-- read, its sighting is replaced outright.
ALTER TABLE keys_seen ADD COLUMN first_xact INTEGER;
ALTER TABLE keys_seen ADD COLUMN dated INTEGER NOT NULL DEFAULT 0;
