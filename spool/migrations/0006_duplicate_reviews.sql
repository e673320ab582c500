-- Page-counter evidence and the mail room's duplicate reviews (issue 21).
--
-- jobs.evidence is the last attempt's page-counter evidence (job.Evidence as JSON, '' when its
-- printer has no counter): which printer, the counter before and after.
ALTER TABLE jobs ADD COLUMN evidence TEXT NOT NULL DEFAULT '';

-- One review per possible-duplicate job: the uncertain attempt (printer, evidence, when) and
-- the operator's decision. A later uncertain attempt replaces the evidence and reopens it.
CREATE TABLE duplicate_reviews (
    job_id     INTEGER PRIMARY KEY,
    printer    TEXT    NOT NULL DEFAULT '',
    evidence   TEXT    NOT NULL DEFAULT '',
    message    TEXT    NOT NULL DEFAULT '',
    flagged    INTEGER NOT NULL,
    decision   TEXT    NOT NULL DEFAULT '',
    decided_by TEXT    NOT NULL DEFAULT '',
    decided    INTEGER NOT NULL DEFAULT 0,
    note       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX duplicate_reviews_undecided ON duplicate_reviews (decision, job_id);
