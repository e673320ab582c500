-- Indexes for the dashboard, /metrics and the API's job lists, so that their answers do not
-- grow with the spool's history (100,000 jobs and more; see docs/BENCHMARKS.md, issue 7).

-- Queue depth (Store.Tallies) reads only unfinished jobs. Partial and covering: the history
-- is neither scanned nor read. The WHERE clause must stay word for word the one in Tallies,
-- or SQLite will not use these.
CREATE INDEX jobs_unfinished_by_virtual ON jobs (virtual_printer, state, lane, pages)
    WHERE state NOT IN ('completed', 'canceled', 'aborted');
CREATE INDEX jobs_unfinished_by_printer ON jobs (printer, state, lane, pages)
    WHERE state NOT IN ('completed', 'canceled', 'aborted');

-- "Possible duplicates only" finds the few flagged jobs without walking the whole table.
CREATE INDEX jobs_possible_duplicate ON jobs (id) WHERE possible_duplicate = 1;

-- The owner filter, newest first (the rowid follows the owner in the index). An owner never
-- changes, so this costs nothing on state changes.
CREATE INDEX jobs_by_owner ON jobs (owner);
