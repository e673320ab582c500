-- Page-counter evidence and the mail room's duplicate reviews (issue 21; the SQLite driver's
-- spool/migrations/0006_duplicate_reviews.sql in this database's types).
--
-- jobs.evidence is the last attempt's page-counter evidence (job.Evidence as JSON, '' when its
-- printer has no counter). Adding a column with a constant default is a catalogue change in
-- PostgreSQL 11+, and an older gateway's SELECTs name their columns, so it keeps working.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS evidence TEXT NOT NULL DEFAULT '';

-- One review per possible-duplicate job: the uncertain attempt (printer, evidence, when) and
-- the operator's decision. A later uncertain attempt replaces the evidence and reopens it.
CREATE TABLE IF NOT EXISTS duplicate_reviews (
    job_id     BIGINT  PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    printer    TEXT    NOT NULL DEFAULT '',
    evidence   TEXT    NOT NULL DEFAULT '',
    message    TEXT    NOT NULL DEFAULT '',
    flagged    BIGINT  NOT NULL,
    decision   TEXT    NOT NULL DEFAULT '',
    decided_by TEXT    NOT NULL DEFAULT '',
    decided    BIGINT  NOT NULL DEFAULT 0,
    note       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS duplicate_reviews_undecided ON duplicate_reviews (decision, job_id);
